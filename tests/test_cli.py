"""The CLI contract, exercised as a subprocess (as other tools would call it)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import COUNTS, PATIENTELE

FIXTURES = Path(__file__).parent / "fixtures"



def write(tmp: Path, counts: str = COUNTS, patientele: str = PATIENTELE) -> tuple[Path, Path]:
    c, p = tmp / "counts.csv", tmp / "patientele.csv"
    c.write_text(counts, encoding="utf-8")
    p.write_text(patientele, encoding="utf-8")
    return c, p


def test_catalogue_list_json(cli):
    r = cli("catalogue", "list", "--year", "2018", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["slug"] for d in data] == ["cardiologie", "endocrinologie", "gastro-enterologie", "mt-enfant"]
    for d in data:
        assert {"slug", "name", "reference_patientele", "total_points", "point_value"} <= set(d)
    assert {d["slug"]: d["total_points"] for d in data}["mt-enfant"] == 305


def test_catalogue_show_json(cli):
    r = cli("catalogue", "show", "gastro-enterologie", "--year", "2018", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    keys = {"id", "programme", "theme", "sub_theme", "label", "intermediate", "target", "direction",
            "threshold", "threshold_unit", "points", "declarative", "category", "source"}
    assert all(set(row) == keys for row in rows)
    gas5 = next(row for row in rows if row["id"] == "GAS-05")
    assert (gas5["intermediate"], gas5["target"], gas5["direction"], gas5["points"]) == (0.03, 0.012, "lower", 80)


def test_catalogue_show_unknown_programme(cli):
    r = cli("catalogue", "show", "dermatologie", "--year", "2018", "--format", "json")
    assert r.returncode != 0 and "dermatologie" in r.stderr


def test_score_writes_the_contract_files(cli, tmp_path):
    c, p = write(tmp_path)
    out = tmp_path / "out"
    r = cli("score", "--year", "2018", "--counts", str(c), "--patientele", str(p), "--out", str(out))
    assert r.returncode == 0, r.stderr
    ind = pd.read_csv(out / "indicators.csv", dtype=str, keep_default_na=False)
    assert list(ind.columns) == ["doctor_id", "programme", "indicator_id", "numerator", "denominator", "rate",
                                 "start_rate", "neutralised", "realisation", "branch", "points_max", "points", "euros",
                                 "rate_source"]
    assert len(ind) == 9 + 10
    pay = pd.read_csv(out / "payments.csv", dtype=str)
    assert list(pay.columns) == ["doctor_id", "programme", "patientele", "points", "euros"]
    assert dict(zip(pay["doctor_id"], pay["euros"], strict=True)) == {"D1": "1038.63", "D2": "272.86"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["catalogue"]["version"] and len(manifest["inputs"]) == 2
    assert manifest["parameters"]["point_value"]["value"] == "7"
    assert (out / "rejected.csv").read_text().startswith("file,row,column,reason")


def test_score_is_byte_identical_across_runs(cli, tmp_path):
    c, p = write(tmp_path)
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        assert cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(out)).returncode == 0
        outs.append(out)
    for name in ("indicators.csv", "payments.csv", "rejected.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


BAD_INPUTS = [
    ("unknown_indicator", "D1,CAR-99,1,2,,", "ligne 6", "indicator_id", "unknown indicator"),
    ("negative_count", "D1,CAR-02,-1,5,,", "ligne 6", "numerator", "negative count"),
    ("numerator_above_denominator", "D1,CAR-02,6,5,,", "ligne 6", "numerator", "numerator above denominator"),
    ("start_rate_outside", "D1,CAR-02,1,5,1.2,", "ligne 6", "start_rate", "rate outside [0, 1]"),
    ("declared_rate_outside", "D1,CAR-02,1,5,,-0.1", "ligne 6", "declared_rate", "rate outside [0, 1]"),
    ("duplicate_row", "D1,CAR-01,8,20,0.3,", "ligne 6", "indicator_id", "duplicate row"),
    ("not_an_integer", "D1,CAR-02,1.5,5,,", "ligne 6", "numerator", "not an integer"),
    ("no_patientele", "D9,CAR-02,1,5,,", "ligne 6", "doctor_id", "no patientèle row"),
]


@pytest.mark.parametrize("name,line,row,column,reason", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_score_rejects_bad_rows_naming_file_row_column(cli, tmp_path, name, line, row, column, reason):
    c, p = write(tmp_path, COUNTS + line + "\n")
    out = tmp_path / "out"
    r = cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(out))
    assert r.returncode != 0
    msg = " ".join(r.stderr.split())
    assert "counts.csv" in msg and row in msg and f"colonne {column}" in msg and reason in msg
    rejected = pd.read_csv(out / "rejected.csv", dtype=str)
    assert len(rejected) == 1 and reason in rejected["reason"].iloc[0]
    # lenient mode scores the valid rows and lists the bad one
    assert (out / "INCOMPLETE").exists() and not (out / "payments.csv").exists()
    r2 = cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(out), "--lenient")
    assert r2.returncode == 0, r2.stderr
    assert len(pd.read_csv(out / "rejected.csv")) == 1
    assert len(pd.read_csv(out / "payments.csv")) == 2


def test_score_missing_column(cli, tmp_path):
    c, p = write(tmp_path, COUNTS.replace(",start_rate", ",start"))
    r = cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "counts.csv" in r.stderr and "colonne start_rate" in r.stderr
    assert "missing column" in r.stderr


def test_score_bad_patientele(cli, tmp_path):
    c, p = write(tmp_path, patientele=PATIENTELE + "D3,dermatologie,100\n")
    r = cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "patientele.csv" in r.stderr and "unknown programme" in r.stderr


def test_explain_prints_a_french_statement(cli, tmp_path):
    c, p = write(tmp_path)
    out = tmp_path / "out"
    cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(out))
    r = cli("explain", "--run", str(out), "--doctor", "D1")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    for expected in ("Relevé individuel ROSP", "CAR-01", "Taux constaté 40,0 %", "taux de départ 30,0 %",
                     "Neutralisé", "1 038,63 €", "art. 27.2.4", "Prescription", "Total ROSP 2018"):
        assert expected in text, expected
    r = cli("explain", "--run", str(out), "--doctor", "NOPE")
    assert r.returncode != 0 and "NOPE" in r.stderr


def test_eligibility_cli(cli, tmp_path):
    out = tmp_path / "elig.csv"
    r = cli("eligibility", "--doctors", str(FIXTURES / "doctors_example.csv"), "--year", "2018", "--out", str(out))
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["doctor_id", "programme", "eligible", "reason"]
    assert "eligible_opt_out_invalid_early" in set(df["reason"]) and "opted_out" in set(df["reason"])


def test_safeguard_cli(cli, tmp_path):
    c, p = write(tmp_path)
    out = tmp_path / "out"
    cli("score", "--counts", str(c), "--patientele", str(p), "--out", str(out))
    r = cli("safeguard", "--year", "2018", "--payments", str(out / "payments.csv"),
            "--previous-total", "2000", "--baseline-total", "2622.98", "--current-total", "1311.49",
            "--out", str(tmp_path / "sg"))
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "sg" / "safeguard.json").read_text())
    assert summary["triggered"] is True
    adjusted = pd.read_csv(tmp_path / "sg" / "payments.csv", dtype=str)
    assert sorted(adjusted["euros_after_safeguard"]) == ["2077.26", "545.72"]
