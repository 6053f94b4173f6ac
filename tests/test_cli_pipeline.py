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


@pytest.fixture(scope="module")
def with_history(pipeline):
    """The year before as its own extract (same seed, same doctors): 2017 counts-only, then
    2018 reusing its rates as starting rates."""
    from helpers import run_cli

    r = run_cli("synth", "--patients", "4000", "--seed", "5", "--year", "2017", "--out", str(pipeline / "data17"))
    assert r.returncode == 0, r.stderr
    r = run_cli("run", "--year", "2017", "--data", str(pipeline / "data17"), "--out", str(pipeline / "run17"))
    assert r.returncode == 0, r.stderr
    r = run_cli("run", "--year", "2018", "--data", str(pipeline / "data"), "--out", str(pipeline / "run18d"),
                "--start-rates", str(pipeline / "run17" / "rates.csv"))
    assert r.returncode == 0, r.stderr
    return pipeline


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


def test_reset_year_measures_start_rates_on_the_year_before(pipeline):
    sr = pd.read_csv(pipeline / "run" / "start_rates.csv", dtype=str, keep_default_na=False)
    assert set(sr["reference_period"]) == {"2017"} and (sr["flag"] == "").any()
    manifest = json.loads((pipeline / "run" / "manifest.json").read_text())
    assert manifest["start_rates"]["source"] == "measured"


def test_start_rates_of_the_year_before_pay_progression(with_history):
    ind = pd.read_csv(with_history / "run18d" / "indicators.csv", dtype=str, keep_default_na=False)
    scored = ind[ind["neutralised"].str.lower() == "false"]
    assert (scored["start_rate"] != "").mean() > 0.5, "most scored rows have a starting rate"
    prog = ind[ind["branch"] == "progression"]
    assert not prog.empty and (prog["euros"].astype(float) > 0).all(), "the 30 % × progression branch pays"


def test_later_year_reuses_the_stored_start_rates(pipeline, cli, tmp_path):
    """A stored start_rates.csv is used as it is (D fixed for the convention), not re-measured."""
    stored = pd.read_csv(pipeline / "run" / "start_rates.csv", dtype=str, keep_default_na=False)
    row = stored.index[(stored["rate"] != "") & (stored["flag"] == "")][0]
    stored.loc[row, "rate"] = "0.123456"
    stored.to_csv(tmp_path / "start_rates.csv", index=False)
    r = cli("run", "--year", "2018", "--data", str(pipeline / "data"), "--out", str(tmp_path / "run2"),
            "--start-rates", str(tmp_path / "start_rates.csv"))
    assert r.returncode == 0, r.stderr
    b = pd.read_csv(tmp_path / "run2" / "counts.csv", dtype=str, keep_default_na=False)
    key = (b["doctor_id"] == stored.loc[row, "doctor_id"]) & (b["indicator_id"] == stored.loc[row, "indicator_id"])
    assert b.loc[key, "start_rate"].tolist() == ["0.123456"], "the stored D is used, not the year before's rate"


def test_baseline_option_is_retired_with_a_clear_message(pipeline, cli, tmp_path):
    r = cli("run", "--data", str(pipeline / "data"), "--out", str(tmp_path / "o"), "--baseline", str(pipeline / "run"))
    assert r.returncode == 2 and "--start-rates" in r.stderr and "Traceback" not in r.stderr


def test_year_without_a_table_runs_counts_only(pipeline, cli, tmp_path):
    # the 2018 extract's care of 2018 is out of the 2017 period: announced rejects, accepted here
    r = cli("run", "--year", "2017", "--data", str(pipeline / "data"), "--out", str(tmp_path / "o17"),
            "--accept-rejects")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "aucun tableau" in " ".join(r.stderr.split())
    assert (tmp_path / "o17" / "rates.csv").exists() and not (tmp_path / "o17" / "payments.csv").exists()


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


def test_demo_for_a_year_without_a_table_stops_cleanly(cli, tmp_path):
    r = cli("demo", "--year", "2017", "--patients", "100", "--out", str(tmp_path / "d"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "2017" in r.stderr
    assert not (tmp_path / "d").exists(), "stops before generating anything"


def test_demo_run_is_the_run_of_rosp_run(cli, tmp_path):
    """`rosp demo` writes the run `rosp run` writes on its extract: same files, same
    manifest (inputs relative to the data, files not read, warnings), atomically."""
    from rosp.io.rundiff import differences

    r = cli("demo", "--patients", "300", "--seed", "3", "--out", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    r = cli("run", "--data", str(tmp_path / "d" / "data"), "--out", str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr
    assert differences(tmp_path / "d" / "run", tmp_path / "again") == []
    manifest = json.loads((tmp_path / "d" / "run" / "manifest.json").read_text())
    assert "ground_truth.csv" in manifest["ignored_files"] and "ER_PRS_F.parquet" in manifest["inputs"]
