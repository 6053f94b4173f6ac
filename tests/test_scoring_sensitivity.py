"""`rosp sensitivity`: a run re-scored under each listed reading of the inferred parameters."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction as F

import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.scoring.batch import score_batch
from rosp.scoring.rules import round_euros
from rosp.scoring.start_rates import START_RATE_COLUMNS
from rosp.sensitivity import sensitivity_table

CAT = load_catalogue(2018)
CAR01 = CAT.indicators["CAR-01"]
CAR02 = CAT.indicators["CAR-02"]


def _c(doctor, iid, n, d, start=""):
    return {"doctor_id": doctor, "indicator_id": iid, "numerator": n, "denominator": d,
            "start_rate": start, "declared_rate": ""}


@pytest.fixture
def run_dir(tmp_path):
    """Two cardiologists with a patientèle of exactly the reference (weight 1):
    NOD has CAR-01 below I and no starting rate; LOW has CAR-02 below I and a starting
    rate measured below the seuil (so, by default, none)."""
    i1, i2 = CAR01.intermediate, CAR02.intermediate
    n1 = int(i1 * 20) - 2  # below I on 20 patients
    n2 = int(i2 * 20) - 2
    counts = pd.DataFrame([_c("NOD", "CAR-01", n1, 20), _c("LOW", "CAR-02", n2, 20)])
    pat = pd.DataFrame({"doctor_id": ["NOD", "LOW"], "programme": ["cardiologie"] * 2, "patientele": [800, 800]})
    store = pd.DataFrame([{"doctor_id": "LOW", "indicator_id": "CAR-02", "rate": "0.000000", "numerator": 0,
                           "denominator": 3, "reference_period": "2017", "flag": "below_threshold"}],
                         columns=START_RATE_COLUMNS)
    res = score_batch(counts, pat, 2018, CAT)
    counts.to_csv(tmp_path / "counts.csv", index=False)
    pat.to_csv(tmp_path / "patientele.csv", index=False)
    res.payments.to_csv(tmp_path / "payments.csv", index=False)
    store.to_csv(tmp_path / "start_rates.csv", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"year": 2018}))
    return tmp_path, F(n1, 20), F(n2, 20)


def _row(table, name, alt):
    r = table[(table["paramètre"] == name) & (table["alternative"] == alt)]
    assert len(r) == 1, (name, alt)
    return r.iloc[0]


def test_retained_readings_reproduce_the_run(run_dir):
    table, summary = sensitivity_table(run_dir[0])
    assert summary["base_total"] == summary["run_total"] == Decimal("0.00"), "both doctors below I, no D"
    retained = table[table["alternative"] == table["valeur retenue"]]
    assert set(retained["paramètre"]) >= {"scoring.missing_start_rate", "scoring.progression_normalisation",
                                          "start_rates.below_threshold"}
    assert (retained["écart (€)"] == "0.00").all()
    assert "scoring.rule_version" not in set(table["paramètre"]), "verified parameters are not varied"


def test_missing_start_rate_read_as_zero_pays_progression_from_zero(run_dir):
    path, c1, c2 = run_dir
    table, _ = sensitivity_table(path)
    r = _row(table, "scoring.missing_start_rate", "zero")
    # D = 0: s·C/I × points × 7 € for each doctor (weight 1)
    s = F(3, 10)
    expected = round_euros(s * c1 / F(CAR01.intermediate) * CAR01.points * 7) + round_euros(
        s * c2 / F(CAR02.intermediate) * CAR02.points * 7)
    assert Decimal(r["écart (€)"]) == expected and r["médecins dont le paiement varie de plus de 1 %"] == 2


def test_keeping_a_start_rate_measured_below_the_seuil_moves_only_that_doctor(run_dir):
    path, _, c2 = run_dir
    table, _ = sensitivity_table(path)
    r = _row(table, "start_rates.below_threshold", "keep")
    expected = round_euros(F(3, 10) * c2 / F(CAR02.intermediate) * CAR02.points * 7)
    assert Decimal(r["écart (€)"]) == expected and r["médecins dont le paiement varie de plus de 1 %"] == 1


def test_command_prints_the_table_and_writes_the_csv(run_dir, cli):
    path = run_dir[0]
    r = cli("sensitivity", "--run", str(path), "--out", str(path / "s.csv"))
    assert r.returncode == 0, r.stderr
    assert "scoring.missing_start_rate" in r.stdout and "Sensibilité" in r.stdout
    assert list(pd.read_csv(path / "s.csv").columns)[0] == "paramètre"


def test_command_on_a_directory_without_a_run_is_a_clean_error(tmp_path, cli):
    r = cli("sensitivity", "--run", str(tmp_path))
    assert r.returncode == 2 and "manifest.json" in r.stderr and "Traceback" not in r.stderr
