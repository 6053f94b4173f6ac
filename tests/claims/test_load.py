"""Loading a valid extract: clean views, SNDS data rules, report and manifest inputs."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest

from rosp.claims import VIEWS, age_in_months, age_in_years, load_claims, period_bounds
from rosp.claims.schema import TABLES

from .builders import ClaimsBuilder, minimal_dataset


def rows(claims, view, **where):
    """The rows of ``view`` as dicts, sorted, optionally filtered on equal columns."""
    t = claims.view(view)
    for col, value in where.items():
        t = t.filter(t[col] == value)
    return t.to_pyarrow().to_pylist()


def load(builder: ClaimsBuilder, tmp_path, fmt="parquet", **kw):
    return load_claims(
        builder.write(tmp_path / "data", fmt=fmt), 2019, rejects_dir=tmp_path / "rejects", **kw
    )


def test_period_bounds_cover_history_and_flow_lag():
    assert period_bounds(2019) == (date(2016, 1, 1), date(2020, 6, 30))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_valid_dataset_builds_every_view(dataset, tmp_path, fmt):
    b, h = dataset
    claims = load(b, tmp_path, fmt=fmt)
    expected = {
        "patients": 2,
        "mt_declarations": 1,
        "ald": 1,
        "services": 5,
        "drug_deliveries": 1,
        "bio_acts": 1,
        "ccam_acts": 1,
        "hospital_stays": 1,
        "hospital_diagnoses": 2,
        "hospital_acts": 1,
        "doctors": 2,
        "declarations": 1,
    }
    assert set(expected) == set(VIEWS)
    assert {v: claims.view(v).count().execute() for v in VIEWS} == expected
    assert {v: s["rows"] for v, s in claims.report.views.items()} == expected
    for t in claims.report.tables.values():
        assert t.rows_read == t.rows_kept + t.rows_rejected == len(b.rows[t.table])
        assert t.rows_rejected == 0
    assert not (tmp_path / "rejects").exists()
    assert len(claims.input_files) == len(TABLES)
    assert all(len(digest) == 64 for digest in claims.input_files.values())


def test_view_contents(dataset, tmp_path):
    b, h = dataset
    claims = load(b, tmp_path)
    alice = h["alice"].idt
    [drug] = rows(claims, "drug_deliveries")
    assert drug == {
        "patient_id": alice,
        "date": date(2019, 2, 3),
        "cip13": h["metformin"],
        "atc": "A10BA02",
        "generic_group": 57,
        "large_pack": True,
        "boxes": 1,
        "prescriber_id": h["gp"],
        "prescriber_specialty": 1,
        "claim_ref": drug["claim_ref"],
    }
    assert drug["claim_ref"].startswith("ER_PHA_F:") and alice not in drug["claim_ref"]
    [pat] = rows(claims, "patients", patient_id=alice)
    assert (pat["birth_date"], pat["sex"], pat["death_date"]) == (date(1955, 3, 15), 2, None)
    [stay] = rows(claims, "hospital_stays")
    assert (stay["patient_id"], stay["entry_date"], stay["dp"]) == (alice, date(2018, 5, 2), "I214")
    assert {(d["icd10"], d["kind"]) for d in rows(claims, "hospital_diagnoses")} == {
        ("I214", "DP"),
        ("E119", "DAS"),
    }
    assert rows(claims, "hospital_acts")[0]["act_date"] == date(2018, 5, 3)
    [ccam] = rows(claims, "ccam_acts")
    assert (ccam["ccam"], ccam["executant_id"]) == ("DEQP003", h["cardio"])
    assert rows(claims, "mt_declarations")[0]["doctor_id"] == h["gp"]
    assert rows(claims, "declarations")[0]["declared_rate"] == pytest.approx(0.8)


def test_secondary_cabinet_maps_to_statistical_number(tmp_path):
    b, h = minimal_dataset()
    b.ccam(h["alice"], date(2019, 5, 1), "DEQP003", executant="031000009")  # secondary cabinet
    claims = load(b, tmp_path)
    assert {r["executant_id"] for r in rows(claims, "ccam_acts")} == {h["cardio"]}
    [doc] = rows(claims, "doctors", doctor_id=h["cardio"])
    assert doc["specialty"] == 3


def test_unknown_liberal_number_keeps_row_with_null_doctor(tmp_path):
    b, h = minimal_dataset()
    hospital_prescriber = "999999999"  # not in DA_PRA_R
    b.delivery(h["bob"], date(2019, 7, 1), h["metformin"], prescriber=hospital_prescriber)
    claims = load(b, tmp_path)
    [drug] = rows(claims, "drug_deliveries", patient_id=h["bob"].idt)
    assert drug["prescriber_id"] is None


def test_one_person_with_two_nirs_is_one_patient(tmp_path):
    b, h = minimal_dataset()
    other = b.patient(birth=(1955, 3), sex=2, idt=h["alice"].idt)  # second (NIR, rang) of alice
    b.delivery(other, date(2019, 8, 1), h["metformin"])
    b.stay(other, date(2019, 9, 1))
    claims = load(b, tmp_path)
    assert claims.view("patients").count().execute() == 2
    assert {r["patient_id"] for r in rows(claims, "drug_deliveries")} == {h["alice"].idt}
    assert {r["patient_id"] for r in rows(claims, "hospital_stays")} == {h["alice"].idt}


def test_deceased_patient_is_kept_with_death_date(tmp_path):
    b, _ = minimal_dataset()
    dead = b.patient(death=date(2019, 4, 2))
    claims = load(b, tmp_path)
    assert rows(claims, "patients", patient_id=dead.idt)[0]["death_date"] == date(2019, 4, 2)


# Régularisations [V] indicators.md §a.4: identical lines, negative quantity, summed;
# the group is kept when the sum is > 0.
CORRECTION_CASES = [
    # (quantities of identical lines, expected net quantity or None if gone, why)
    ([2, -2], None, "correction cancels the delivery"),
    ([3, -1], 2, "partial correction keeps the net"),
    ([1, 1], 2, "two identical deliveries add up"),
    ([-1], None, "orphan correction alone is dropped"),
    ([1, -1, 1], 1, "cancel and re-deliver"),
]


@pytest.mark.parametrize("kind", ["drug_deliveries", "bio_acts", "ccam_acts", "services"])
@pytest.mark.parametrize(
    ("quantities", "net", "why"), CORRECTION_CASES, ids=[c[2] for c in CORRECTION_CASES]
)
def test_corrections_are_summed_over_identical_lines(tmp_path, kind, quantities, net, why):
    b = ClaimsBuilder()
    p = b.patient()
    gp = b.doctor("011000001")
    cip = b.drug(3400930000001)
    on = date(2019, 3, 1)
    for qty in quantities:
        {
            "drug_deliveries": lambda q: b.delivery(p, on, cip, boxes=q, prescriber=gp),
            "bio_acts": lambda q: b.bio(p, on, 1577, quantity=q, prescriber=gp),
            "ccam_acts": lambda q: b.ccam(p, on, "DEQP003", executant=gp, quantity=q),
            "services": lambda q: b.service(p, on, quantity=q, executant=gp),
        }[kind](qty)
    claims = load(b, tmp_path)
    qty_col = {"drug_deliveries": "boxes"}.get(kind, "quantity")
    got = [r[qty_col] for r in rows(claims, kind)]
    assert got == ([] if net is None else [net]), why
    assert claims.report.views[kind]["correction_lines"] == sum(q < 0 for q in quantities)
    assert claims.report.tables["ER_PRS_F"].rows_rejected == 0


def test_lines_differing_in_prescriber_are_not_merged(tmp_path):
    b = ClaimsBuilder()
    p = b.patient()
    cip = b.drug(3400930000001)
    b.delivery(p, date(2019, 3, 1), cip, boxes=2, prescriber=b.doctor("011000001"))
    b.delivery(p, date(2019, 3, 1), cip, boxes=-2, prescriber=b.doctor("011000002"))
    claims = load(b, tmp_path)
    # the +2 group is kept, the -2 group (another prescriber) dropped
    assert claims.view("drug_deliveries").count().execute() == 1


def test_information_lines_are_excluded_and_counted(tmp_path):
    b, h = minimal_dataset()
    b.service(h["bob"], date(2019, 3, 1), executant=h["gp"], DPN_QLF=71)
    b.delivery(h["bob"], date(2019, 3, 2), h["metformin"], DPN_QLF=71)
    claims = load(b, tmp_path)
    prs, pha = claims.report.tables["ER_PRS_F"], claims.report.tables["ER_PHA_F"]
    assert (prs.information_lines, pha.information_lines) == (2, 1)
    assert (prs.rows_rejected, pha.rows_rejected) == (0, 0)
    assert prs.rows_read == prs.rows_kept == len(b.rows["ER_PRS_F"])
    assert rows(claims, "drug_deliveries", patient_id=h["bob"].idt) == []
    [consultation] = rows(claims, "services", patient_id=h["bob"].idt)
    assert consultation["date"] == date(2019, 6, 1)
    assert claims.report.views["services"]["lines"] == prs.rows_kept - prs.information_lines


def test_optional_tables_may_be_absent(tmp_path):
    b, _ = minimal_dataset()
    data = b.write(
        tmp_path / "data",
        omit=("IR_IMB_R", "ROSP_DECL", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD", "T_MCOaaA"),
    )
    claims = load_claims(data, 2019)
    assert claims.view("ald").count().execute() == 0
    assert claims.view("hospital_stays").count().execute() == 0
    assert claims.report.tables["IR_IMB_R"].files == []


def test_year_suffixed_pmsi_files_are_stacked(tmp_path):
    b, h = minimal_dataset()
    data = b.write(tmp_path / "data")
    for part in "BCDA":
        (data / f"T_MCOaa{part}.parquet").rename(data / f"T_MCO18{part}.parquet")
    b2 = ClaimsBuilder(_ids=b._ids)
    b2.stay(h["alice"], date(2019, 10, 1), dp="I500")
    for part in "BCDA":
        pq.write_table(b2.arrow(f"T_MCOaa{part}"), data / f"T_MCO19{part}.parquet")
    claims = load_claims(data, 2019)
    assert sorted(r["dp"] for r in rows(claims, "hospital_stays")) == ["I214", "I500"]
    assert claims.report.tables["T_MCOaaB"].files == ["T_MCO18B.parquet", "T_MCO19B.parquet"]


def test_age_helpers_use_the_15th_of_the_birth_month(dataset, tmp_path):
    b, h = dataset
    claims = load(b, tmp_path)
    t = claims.view("patients")
    t = t.filter(t.patient_id == h["alice"].idt)  # born March 1955 -> 15/03/1955

    def age(on):
        return t.select(y=age_in_years(t, on), m=age_in_months(t, on)).to_pyarrow().to_pylist()[0]

    assert age(date(2019, 3, 14)) == {"y": 63, "m": 767}
    assert age(date(2019, 3, 15)) == {"y": 64, "m": 768}
    assert age(date(2019, 12, 31)) == {"y": 64, "m": 777}


def test_existing_duckdb_connection_is_used(dataset, tmp_path):
    import duckdb

    b, _ = dataset
    con = duckdb.connect()
    claims = load_claims(b.write(tmp_path / "data"), 2019, con=con)
    assert claims.duckdb is con
    assert con.execute("SELECT count(*) FROM patients").fetchall() == [(2,)]


def test_invalid_birth_month_is_a_counted_reject(tmp_path):
    # issue 8: a birth month 0 or 13 cannot be true; the row is rejected with its reason
    # (it used to stay with a NULL birth date, then the command refused the whole run)
    b, _ = minimal_dataset()
    p = b.patient(birth=(1970, 0))
    claims = load(b, tmp_path)
    assert rows(claims, "patients", patient_id=p.idt) == []
    assert claims.report.tables["IR_BEN_R"].rejected == {"implausible_birth_month": 1}


def test_unknown_view_name_is_a_key_error(dataset, tmp_path):
    b, _ = dataset
    claims = load(b, tmp_path)
    with pytest.raises(KeyError, match="available"):
        claims.view("prescriptions")
