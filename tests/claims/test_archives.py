"""Archives overlapping their current table are read once (issue 12 §2, "Archives").

Rule (parameter ``claims.archive_overlap`` = current_wins, rosp/claims/load.py): a
beneficiary of the current IR_BEN_R is read from it alone; an archived DCIR line
identical to a current one is kept once; each dropped row is the named filter
``archive_duplicate``. Before, the overlap was read twice: beneficiaries and prestation
lines as ``duplicate_key`` rejects (which count toward the reject-share stop), and the
detail lines, which have no key, as a second delivery.
"""

from __future__ import annotations

from datetime import date

from rosp.claims import load_claims

from .builders import minimal_dataset
from .test_real_shape import _accounted, _rows


def _archive(b, table: str, archive: str, index: int, **changes) -> None:
    b.rows.setdefault(archive, []).append({**b.rows[table][index], **changes})


def test_beneficiary_in_both_current_and_archive_is_read_from_the_current_table(tmp_path):
    b, h = minimal_dataset()
    alice = h["alice"]
    i = next(k for k, r in enumerate(b.rows["IR_BEN_R"]) if r["BEN_NIR_PSA"] == alice.nir)
    _archive(b, "IR_BEN_R", "IR_BEN_R_ARC", i, BEN_RES_DPT="099", BEN_DCD_DTE=date(2010, 1, 1))
    claims = load_claims(b.write(tmp_path / "data"), 2019)
    t = claims.report.tables["IR_BEN_R"]
    assert t.rejected == {}
    assert t.filtered == {"archive_duplicate": 1}
    assert t.rows_read == len(b.rows["IR_BEN_R"]) + 1 and t.rows_used == len(b.rows["IR_BEN_R"])
    patients = _rows(claims, "patients", "patient_id", "death_date")
    assert (alice.idt, None) in patients and len(patients) == 2  # alive, as the current table says
    _accounted(claims)


def test_dcir_lines_in_both_an_archive_and_the_current_table_are_counted_once(tmp_path):
    clean_b, h = minimal_dataset()
    clean = load_claims(clean_b.write(tmp_path / "clean"), 2019)
    b, h = minimal_dataset()
    pharmacy = next(k for k, r in enumerate(b.rows["ER_PRS_F"]) if r["PFS_EXE_NUM"] == "012000001")
    _archive(b, "ER_PRS_F", "ER_PRS_F_2019", pharmacy)
    _archive(b, "ER_PHA_F", "ER_PHA_F_2019", 0)
    claims = load_claims(b.write(tmp_path / "data"), 2019)
    for table in ("ER_PRS_F", "ER_PHA_F"):
        t = claims.report.tables[table]
        assert t.rejected == {}, table
        assert t.filtered.get("archive_duplicate") == 1, table
    for view in ("drug_deliveries", "services"):
        cols = [c for c in clean.view(view).columns if c != "claim_ref"]
        assert _rows(claims, view, *cols) == _rows(clean, view, *cols), view
    _accounted(claims)


def test_an_archived_line_that_differs_from_the_current_one_is_not_dropped(tmp_path):
    """Same 9-column key, other content: a real conflict, still a counted duplicate_key reject."""
    b, h = minimal_dataset()
    _archive(b, "ER_PRS_F", "ER_PRS_F_2019", 0, BSE_REM_MNT=99.0)
    claims = load_claims(b.write(tmp_path / "data"), 2019)
    t = claims.report.tables["ER_PRS_F"]
    assert t.rejected == {"duplicate_key": 1} and "archive_duplicate" not in t.filtered
    _accounted(claims)


def test_archive_lines_not_in_the_current_table_are_all_kept(tmp_path):
    b, h = minimal_dataset()
    old = b.patient(birth=(1940, 1))
    b.rows["IR_BEN_R_ARC"] = [b.rows["IR_BEN_R"].pop()]
    b.service(old, date(2017, 3, 1), executant=h["gp"])
    b.rows["ER_PRS_F_2017"] = [b.rows["ER_PRS_F"].pop()]
    claims = load_claims(b.write(tmp_path / "data", fmt="csv-sas"), 2019)
    assert claims.report.tables["IR_BEN_R"].filtered == {}
    assert "archive_duplicate" not in claims.report.tables["ER_PRS_F"].filtered
    assert (old.idt, date(2017, 3, 1)) in _rows(claims, "services", "patient_id", "date")
