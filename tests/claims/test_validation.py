"""Validation: fatal structural errors and row-level rejects (spec tables of cases)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rosp.claims import (
    ClaimsError,
    ColumnTypeError,
    MissingColumnError,
    MissingTableError,
    load_claims,
)
from rosp.claims.windows import load_periods

from .builders import ClaimsBuilder, minimal_dataset, write_table

PATIENT_STRINGS = ("NIR0", "IDT0")


def assert_no_patient_id(text: str) -> None:
    for s in PATIENT_STRINGS:
        assert s not in text, f"patient identifier leaked: {text!r}"


def relaxed(table: pa.Table) -> pa.Table:
    """Same table with every field nullable (to write deliberately bad files)."""
    return table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))


def replace_column(
    b: ClaimsBuilder, table: str, column: str, values: list, type_: pa.DataType
) -> pa.Table:
    t = relaxed(b.arrow(table))
    i = t.schema.get_field_index(column)
    return t.set_column(i, pa.field(column, type_), pa.array(values, type_))


# ------------------------------------------------------------------ fatal errors

# (id, how to break the written data dir, error class, substrings the message must contain)
FATAL_CASES = [
    (
        "missing required table",
        lambda b, d: (d / "ER_PRS_F.parquet").unlink(),
        MissingTableError,
        ["ER_PRS_F.parquet", "required table"],
    ),
    (
        "missing required referential",
        lambda b, d: (d / "IR_BEN_R.parquet").unlink(),
        MissingTableError,
        ["IR_BEN_R.parquet"],
    ),
    (
        "missing column",
        lambda b, d: write_table(d, "ER_PHA_F", b.arrow("ER_PHA_F").drop_columns(["PHA_ACT_QSN"])),
        MissingColumnError,
        ["ER_PHA_F.parquet", "column PHA_ACT_QSN", "missing"],
    ),
    (
        "text in an integer column",
        lambda b, d: write_table(
            d, "ER_PHA_F", replace_column(b, "ER_PHA_F", "PHA_ACT_QSN", ["1", "abc"], pa.string())
        ),
        ColumnTypeError,
        ["ER_PHA_F.parquet, row 2 ", "column PHA_ACT_QSN", "'abc'", "int32"],
    ),
    (
        "fraction in an integer column",
        lambda b, d: write_table(
            d, "ER_PHA_F", replace_column(b, "ER_PHA_F", "PHA_ACT_QSN", [1.5, 1.0], pa.float64())
        ),
        ColumnTypeError,
        ["ER_PHA_F.parquet, row 1 ", "column PHA_ACT_QSN"],
    ),
    (
        "integer out of range",
        lambda b, d: write_table(
            d, "IR_BEN_R", replace_column(b, "IR_BEN_R", "BEN_RNG_GEM", [1, 1, 70000], pa.int64())
        ),
        ColumnTypeError,
        ["IR_BEN_R.parquet, row 3 ", "column BEN_RNG_GEM", "int16"],
    ),
    (
        "bad date in a CSV file",
        lambda b, d: _bad_csv_date(b, d),
        ColumnTypeError,
        ["ER_PRS_F.csv, row 3 ", "column EXE_SOI_DTD", "'2019-02-30'", "date32"],
    ),
    (
        "number where a code string is declared",
        lambda b, d: write_table(
            d,
            "DA_PRA_R",
            replace_column(
                b, "DA_PRA_R", "PFS_PFS_NUM", [11000001, 31000002, 31000009], pa.int64()
            ),
        ),
        ColumnTypeError,
        ["DA_PRA_R.parquet, row 1 ", "column PFS_PFS_NUM"],
    ),
    (
        "patient id of the wrong type: value not echoed",
        lambda b, d: write_table(
            d, "IR_BEN_R", replace_column(b, "IR_BEN_R", "BEN_NIR_PSA", [1, 2, 3], pa.int64())
        ),
        ColumnTypeError,
        ["IR_BEN_R.parquet, row 1 ", "column BEN_NIR_PSA"],
    ),
]


def _bad_csv_date(b: ClaimsBuilder, d):
    t = b.arrow("ER_PRS_F")
    dates = [v.isoformat() for v in t.column("EXE_SOI_DTD").to_pylist()]
    dates[2] = "2019-02-30"
    t = relaxed(t).set_column(
        t.schema.get_field_index("EXE_SOI_DTD"), "EXE_SOI_DTD", pa.array(dates)
    )
    write_table(d, "ER_PRS_F", t, fmt="csv")


@pytest.mark.parametrize(
    ("case", "breaker", "error", "expected"), FATAL_CASES, ids=[c[0] for c in FATAL_CASES]
)
def test_structural_problems_are_fatal(tmp_path, case, breaker, error, expected):
    b, h = minimal_dataset()
    b.patient()  # a third beneficiary, so IR_BEN_R has 3 rows
    b.delivery(h["bob"], date(2019, 5, 1), h["metformin"])  # and ER_PHA_F 2 rows
    data = b.write(tmp_path / "data")
    breaker(b, data)
    with pytest.raises(error) as exc:
        load_claims(data, 2019, rejects_dir=tmp_path / "rejects")
    assert isinstance(exc.value, ClaimsError) and isinstance(exc.value, ValueError)
    message = str(exc.value)
    for part in expected:
        assert part in message, (case, message)
    assert_no_patient_id(message)


# ------------------------------------------------------------------ row-level rejects


def _broken_key(b, h):
    key = b.delivery(h["bob"], date(2019, 3, 1), h["metformin"])
    b.rows["ER_PHA_F"][-1]["DCT_ORD_NUM"] = key["DCT_ORD_NUM"] + 1000  # detail without parent
    return "ER_PHA_F", "missing_parent:ER_PRS_F"


def _broken_key_other_column(b, h):
    b.delivery(h["bob"], date(2019, 3, 1), h["metformin"])
    b.rows["ER_PHA_F"][-1]["REM_TYP_AFF"] = 9  # 9th key column only
    return "ER_PHA_F", "missing_parent:ER_PRS_F"


# The load starts at the earliest window of the definitions (issue 7 §2), no longer at a
# fixed 1 Jan N-3: DCIR from 1 Jan 2014 and PMSI from 1 Jan 2009 for 2019 (END-03).
DCIR_START, PMSI_START = (load_periods(2019)[f][0] for f in ("DCIR", "PMSI"))


def _too_old(b, h):
    b.service(h["bob"], DCIR_START - timedelta(days=1))
    return "ER_PRS_F", "date_out_of_period:EXE_SOI_DTD"


def _too_late(b, h):
    b.service(h["bob"], date(2020, 7, 1))
    return "ER_PRS_F", "date_out_of_period:EXE_SOI_DTD"


def _detail_of_rejected_parent(b, h):
    b.delivery(h["bob"], DCIR_START - timedelta(days=10), h["metformin"])
    return "ER_PHA_F", "parent_rejected:ER_PRS_F"


def _unknown_beneficiary_claim(b, h):
    b.service(h["bob"], date(2019, 3, 1), BEN_RNG_GEM=2)
    return "ER_PRS_F", "unknown_beneficiary"


def _unknown_beneficiary_mt(b, h):
    b.mt(h["bob"], h["gp"], date(2018, 1, 1), BEN_NIR_PSA="NIR999999")
    return "IR_MTT_R", "unknown_beneficiary"


def _unknown_beneficiary_ald(b, h):
    b.ald(h["bob"], 8, "E119", date(2018, 1, 1), BEN_RNG_GEM=3)
    return "IR_IMB_R", "unknown_beneficiary"


def _unknown_cip13(b, h):
    b.delivery(h["bob"], date(2019, 3, 1), 3400939999999)
    return "ER_PHA_F", "unknown_cip13"


def _null_quantity(b, h):
    b.delivery(h["bob"], date(2019, 3, 1), h["metformin"], detail={"PHA_ACT_QSN": None})
    return "ER_PHA_F", "null:PHA_ACT_QSN"


def _null_date(b, h):
    b.service(h["bob"], date(2019, 3, 1), EXE_SOI_DTD=None)
    return "ER_PRS_F", "null:EXE_SOI_DTD"


def _duplicate_drug(b, h):
    b.drug(h["metformin"], atc="C10AA01")
    return "IR_PHA_R", "duplicate_key"


def _duplicate_claim(b, h):
    b.rows["ER_PRS_F"].append(dict(b.rows["ER_PRS_F"][0]))
    return "ER_PRS_F", "duplicate_key"


def _duplicate_beneficiary(b, h):
    b.patient(nir=h["bob"].nir, idt="IDT777777")
    return "IR_BEN_R", "duplicate_key"


def _stay_link_without_summary(b, h):
    b.stay(h["bob"], date(2019, 5, 1))
    b.rows["T_MCOaaC"][-1]["RSA_NUM"] = "XXXX"
    return "T_MCOaaC", "missing_parent:T_MCOaaB"


def _das_without_stay(b, h):
    b.rows["T_MCOaaD"].append({"ETA_NUM": "750000001", "RSA_NUM": "NOPE", "ASS_DGN": "E119"})
    return "T_MCOaaD", "missing_parent:T_MCOaaB"


def _act_without_patient_link(b, h):
    b.stay(h["bob"], date(2019, 5, 1), acts=(("DDAF001", 0),))
    b.rows["T_MCOaaC"][-1]["NIR_ANO_17"] = "NIR999999"
    return "T_MCOaaA", "parent_rejected:T_MCOaaC"


def _pmsi_unknown_patient(b, h):
    b.stay(h["bob"], date(2019, 5, 1))
    b.rows["T_MCOaaC"][-1]["NIR_ANO_17"] = "NIR999999"
    return "T_MCOaaC", "unknown_beneficiary"


def _stay_out_of_period(b, h):
    b.stay(h["bob"], PMSI_START - timedelta(days=1))
    return "T_MCOaaC", "date_out_of_period:EXE_SOI_DTD"


# (id, add one bad row, -> (table, reason))
REJECT_CASES = [
    ("broken 9-column key", _broken_key),
    ("broken key on REM_TYP_AFF only", _broken_key_other_column),
    ("care date before the earliest DCIR window", _too_old),
    ("care date after 30 Jun N+1", _too_late),
    ("detail line of a rejected parent", _detail_of_rejected_parent),
    ("claim of an unknown beneficiary", _unknown_beneficiary_claim),
    ("MT declaration of an unknown beneficiary", _unknown_beneficiary_mt),
    ("ALD of an unknown beneficiary", _unknown_beneficiary_ald),
    ("unknown CIP13", _unknown_cip13),
    ("null quantity", _null_quantity),
    ("null care date", _null_date),
    ("duplicate drug referential key", _duplicate_drug),
    ("duplicate DCIR key", _duplicate_claim),
    ("duplicate beneficiary key", _duplicate_beneficiary),
    ("PMSI C without B", _stay_link_without_summary),
    ("PMSI D without B", _das_without_stay),
    ("PMSI A whose C was rejected", _act_without_patient_link),
    ("PMSI stay of an unknown patient", _pmsi_unknown_patient),
    ("PMSI stay out of period", _stay_out_of_period),
]


@pytest.mark.parametrize(("case", "add_bad_row"), REJECT_CASES, ids=[c[0] for c in REJECT_CASES])
def test_bad_rows_go_to_rejects(tmp_path, caplog, case, add_bad_row):
    b, h = minimal_dataset()
    table, reason = add_bad_row(b, h)
    data = (
        b.write(tmp_path / "data", fmt="parquet")
        if not _has_nulls(b)
        else _write_relaxed(b, tmp_path / "data")
    )
    with caplog.at_level(logging.DEBUG, logger="rosp"):
        claims = load_claims(data, 2019, rejects_dir=tmp_path / "rejects")
    report = claims.report.tables[table]
    assert report.rejected == {reason: 1}, case
    for t in claims.report.tables.values():  # nothing silently dropped
        assert t.rows_read == t.rows_kept + t.rows_rejected == len(b.rows[t.table])
    rejects = pq.read_table(tmp_path / "rejects" / f"{table}.parquet").to_pylist()
    bad_row = len(b.rows[table])  # the bad row was appended last
    assert [(r["_row"], r["_reason"]) for r in rejects if r["_reason"] == reason] == [
        (bad_row, reason)
    ]
    assert set(b.rows[table][0]) <= set(rejects[0])  # original columns kept
    assert_no_patient_id(caplog.text)


def _has_nulls(b: ClaimsBuilder) -> bool:
    from rosp.claims.schema import TABLES

    return any(
        row.get(c.name) is None
        for name, s in TABLES.items()
        for row in b.rows[name]
        for c in s.columns
        if not c.nullable
    )


def _write_relaxed(b: ClaimsBuilder, directory):
    directory.mkdir(parents=True)
    from rosp.claims.schema import TABLES

    for name, s in TABLES.items():
        write_table(
            directory,
            name,
            pa.Table.from_pylist(
                b.rows[name], schema=relaxed(s.arrow_schema().empty_table()).schema
            ),
        )
    return directory


def test_first_valid_occurrence_of_a_duplicate_is_kept(tmp_path):
    b, h = minimal_dataset()
    b.drug(h["metformin"], atc="C10AA01")  # later duplicate
    claims = load_claims(b.write(tmp_path / "data"), 2019)
    assert claims.view("drug_deliveries").to_pyarrow().column("atc").to_pylist() == ["A10BA02"]


def test_period_is_a_parameter(tmp_path):
    b, h = minimal_dataset()
    # no definition to serve (programmes={}): any period may be loaded
    claims = load_claims(
        b.write(tmp_path / "data"), 2019, period=(date(2019, 1, 1), date(2019, 12, 31)),
        programmes={},
    )
    # the 2018 stay is now out of period; its B row stays (no date), D and A follow C
    assert claims.report.tables["T_MCOaaC"].rejected == {"date_out_of_period:EXE_SOI_DTD": 1}
    assert claims.report.tables["T_MCOaaD"].rejected == {"parent_rejected:T_MCOaaC": 1}
    assert claims.view("hospital_stays").count().execute() == 0


def test_rejects_without_directory_are_still_counted(tmp_path):
    b, h = minimal_dataset()
    _too_old(b, h)
    claims = load_claims(b.write(tmp_path / "data"), 2019)
    assert claims.report.tables["ER_PRS_F"].rows_rejected == 1
    assert claims.report.to_dict()["tables"]["ER_PRS_F"]["rejected_by_reason"] == {
        "date_out_of_period:EXE_SOI_DTD": 1
    }
