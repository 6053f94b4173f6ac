"""The claims pipeline through the CLI: synth -> run -> explain, and bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from helpers import run_cli

    root = tmp_path_factory.mktemp("pipeline")
    r = run_cli("synth", "--patients", "4000", "--seed", "5", "--year", "2018", "--out", str(root / "data"))
    assert r.returncode == 0, r.stderr
    r = run_cli("run", "--year", "2018", "--data", str(root / "data"), "--out", str(root / "run"))
    assert r.returncode == 0, r.stderr
    return root


def test_run_writes_the_contract(pipeline):
    run = pipeline / "run"
    ind = pd.read_csv(run / "indicators.csv", dtype=str)
    assert list(ind.columns)[:3] == ["doctor_id", "programme", "indicator_id"]
    pay = pd.read_csv(run / "payments.csv", dtype=str)
    assert list(pay.columns) == ["doctor_id", "programme", "patientele", "points", "euros"]
    assert set(pay["programme"]) >= {"mt-enfant", "cardiologie"}
    assert any((run / "evidence").glob("*.parquet"))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["year"] == 2018 and manifest["inputs"]


def test_explain_indicator_lists_patients(pipeline, cli):
    run = pipeline / "run"
    ind = pd.read_csv(run / "indicators.csv", dtype=str)
    row = ind[(ind["indicator_id"] == "CAR-05") & (ind["denominator"].astype(int) > 0)].iloc[0]
    r = cli("explain", "--run", str(run), "--doctor", row["doctor_id"], "--indicator", "CAR-05")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert f"= {row['numerator']} / {row['denominator']}" in text
    assert f"{row['denominator']} au dénominateur, {row['numerator']} au numérateur" in text


def test_baseline_run_supplies_start_rates(pipeline, cli):
    r = cli("run", "--data", str(pipeline / "data"), "--out", str(pipeline / "run2"), "--baseline", str(pipeline / "run"))
    assert r.returncode == 0, r.stderr
    a = pd.read_csv(pipeline / "run" / "indicators.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(pipeline / "run2" / "indicators.csv", dtype=str, keep_default_na=False)
    assert (b["start_rate"] == a["rate"]).all(), "starting rates are the baseline run's rates"


def test_missing_table_is_a_clear_error(pipeline, cli, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(pipeline / "data", bad)
    (bad / "ER_PHA_F.parquet").unlink()
    r = cli("run", "--data", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "ER_PHA_F" in r.stderr and "Traceback" not in r.stderr


def test_statement_of_an_unpaid_doctor_explains_why(pipeline, cli):
    el = pd.read_csv(pipeline / "run" / "eligibility.csv", dtype=str, keep_default_na=False)
    unpaid = el[el["eligible"] == "false"]
    assert not unpaid.empty
    r = cli("explain", "--run", str(pipeline / "run"), "--doctor", unpaid["doctor_id"].iloc[0])
    assert r.returncode == 0, r.stderr
    assert "aucune rémunération" in r.stdout and "Éligibilité" in r.stdout
