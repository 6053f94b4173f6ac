"""How the loader reads and aggregates (issue 11 §2): each file read once, keys checked by a
hash aggregate on the stored table, claim references by a hash aggregate; and the tools that
prove a performance change leaves the outputs unchanged (``benchmarks/compare_runs.py``).

These are plan and result tests, not timings (performance is measured in ``benchmarks/``).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import pytest

from rosp.claims import load_claims
from rosp.claims.sqlprofile import ENV

from .builders import minimal_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from compare_runs import differences  # noqa: E402


def _profiled_load(b, tmp_path, monkeypatch):
    log = tmp_path / "profile.jsonl"
    monkeypatch.setenv(ENV, str(log))
    claims = load_claims(b.write(tmp_path / "data"), 2019, rejects_dir=tmp_path / "rejects")
    return claims, [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]


def test_profile_log_times_every_statement_without_data(tmp_path, monkeypatch):
    b, h = minimal_dataset()
    claims, entries = _profiled_load(b, tmp_path, monkeypatch)
    assert len(entries) > 50
    assert all(set(e) == {"seconds", "rows", "sql"} and e["seconds"] >= 0 for e in entries)
    created = {e["sql"].split('"')[1]: e["rows"] for e in entries if e["sql"].startswith('CREATE OR REPLACE TABLE "')}
    # rows written, from DuckDB's CREATE TABLE AS count
    assert created["services"] == claims.report.views["services"]["rows"] > 0
    # the SQL text names tables and columns, never a patient
    assert not any(h["alice"].nir in e["sql"] or h["alice"].idt in e["sql"] for e in entries)


@pytest.mark.parametrize("duplicate", [False, True], ids=["unique keys", "a duplicated claim line"])
def test_each_input_file_is_read_once_even_with_duplicate_keys(tmp_path, monkeypatch, duplicate):
    # The typed rows of a table come from one statement reading the files; the duplicate-key
    # check reads the stored table (the old loader grouped the file source a second time).
    b, _ = minimal_dataset()
    if duplicate:
        b.rows["ER_PRS_F"].append(dict(b.rows["ER_PRS_F"][0]))
    claims, entries = _profiled_load(b, tmp_path, monkeypatch)
    reads = [e for e in entries if '"_rosp_src_ER_PRS_F"' in e["sql"] and not e["sql"].startswith("CREATE OR REPLACE TEMP VIEW")
             and not e["sql"].startswith("DROP")]
    assert len(reads) == 1 and reads[0]["sql"].startswith('CREATE OR REPLACE TABLE "ER_PRS_F"')
    report = claims.report.tables["ER_PRS_F"]
    assert report.rejected == ({"duplicate_key": 1} if duplicate else {})


def test_no_ordered_aggregate_in_the_clean_views(tmp_path, monkeypatch):
    # Ibis compiles argmin to DuckDB's FIRST(x ORDER BY k), which buffers and sorts every
    # group: the claim references are a min of a struct instead (docs/scaling.md, profile).
    b, _ = minimal_dataset()
    _, entries = _profiled_load(b, tmp_path, monkeypatch)
    ordered = re.compile(r"\b(FIRST|LAST|ARG_MIN|ARG_MAX|LIST)\([^()]*ORDER BY", re.IGNORECASE)
    assert not [e["sql"][:80] for e in entries if ordered.search(e["sql"])]


def test_claim_ref_is_the_smallest_positive_line_of_the_group(tmp_path):
    # One consultation of alice given as three lines of one claim group: two positive lines
    # (7, 3) and (7, 2), a correction (1, 0) with a negative quantity. The netted service
    # refers to the smallest (DCT_ORD_NUM, PRS_ORD_NUM) among the positive lines: 7-2.
    b, h = minimal_dataset()
    first = next(r for r in b.rows["ER_PRS_F"] if r["BEN_NIR_PSA"] == h["alice"].nir)
    first.update(DCT_ORD_NUM=7, PRS_ORD_NUM=3)
    b.rows["ER_PRS_F"].append({**first, "DCT_ORD_NUM": 7, "PRS_ORD_NUM": 2})
    b.rows["ER_PRS_F"].append({**first, "DCT_ORD_NUM": 1, "PRS_ORD_NUM": 0, "PRS_ACT_QTE": -1})
    claims = load_claims(b.write(tmp_path / "data"), 2019, rejects_dir=tmp_path / "rejects")
    s = claims.view("services")
    mine = s.filter(s.date == date(2019, 2, 1)).to_pyarrow().to_pylist()
    assert [(r["quantity"], r["claim_ref"]) for r in mine] == [(1, "ER_PRS_F:7-2")]


def test_compare_runs_ignores_timings_and_code_only(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, commit, secs in ((a, "abc", 1.0), (b, "def", 2.0)):
        (d / "evidence").mkdir(parents=True)
        (d / "counts.csv").write_text("doctor_id,n\n1,2\n")
        (d / "evidence" / "p.parquet").write_bytes(b"PAR1")
        (d / "timings.json").write_text(json.dumps({"load": secs}))
        (d / "manifest.json").write_text(json.dumps({"code": {"git_commit": commit}, "year": 2018}))
    assert differences(a, b) == []
    (b / "counts.csv").write_text("doctor_id,n\n1,3\n")
    (b / "manifest.json").write_text(json.dumps({"code": {}, "year": 2019}))
    (b / "extra.csv").write_text("")
    assert differences(a, b) == [f"only in {b}: extra.csv", "counts.csv: bytes differ", "manifest.json: key 'year' differs"]
