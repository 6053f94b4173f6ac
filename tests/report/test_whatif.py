"""« Ce qu'il faudrait »: adding the stated number of patients reaches the objective, one fewer does not.

The check uses `rosp.scoring.rules.score_indicator` directly (the exact scorer),
not the module under test.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from rosp.catalogue import load_catalogue
from rosp.report.whatif import IndicatorInputs, patients_needed, what_it_would_take
from rosp.scoring.rules import RuleParams, score_indicator

RULES = RuleParams.from_parameters(load_catalogue(2018).params, 2018)
REACHED = {"intermediate": {"above_intermediate", "target_reached"}, "target": {"target_reached"}}


def branch(x: IndicatorInputs, numerator: int) -> str:
    return score_indicator(
        numerator=numerator, denominator=x.denominator, start_rate=x.start_rate, declared_rate=None,
        intermediate=x.intermediate, target=x.target, direction=x.direction, threshold=x.threshold,
        points_max=x.points_max, patientele=x.patientele, reference_patientele=x.reference_patientele,
        rules=RULES,
    ).branch


def inputs(n, d, i, t, direction="higher", start=None, threshold=5):
    return IndicatorInputs(n, d, start, F(i), F(t), direction, threshold, 30, 700, 600)


# (case, inputs, objective, expected k) — each case carries its reason.
CASES = [
    ("exactly on the objective needs nobody: 13/30 = 43 % reaches I = 43 %",
     inputs(13, 30, "0.43", "0.70"), "intermediate", 0),
    ("one short of I: 12/30 = 40 % < 43 %, 13/30 reaches it",
     inputs(12, 30, "0.43", "0.70"), "intermediate", 1),
    ("ceil, not round: 7 × 0.43 = 3.01 needs 4 patients, from 1 that is 3 more",
     inputs(1, 7, "0.43", "0.70"), "intermediate", 3),
    ("target: 21/30 = 70 % reaches T = 70 %, from 12 that is 9",
     inputs(12, 30, "0.43", "0.70"), "target", 9),
    ("progression from D does not count as reaching I",
     inputs(10, 30, "0.43", "0.70", start=F(1, 10)), "intermediate", 3),
    ("lower is better: 10/40 = 25 % above I = 11 %; floor(0.11 × 40) = 4, so 6 fewer",
     inputs(10, 40, "0.11", "0.07", direction="lower"), "intermediate", 6),
    ("lower is better, target 7 % of 40 = 2.8: at most 2 patients, so 8 fewer",
     inputs(10, 40, "0.11", "0.07", direction="lower"), "target", 8),
    ("target 100 % of 9 needs all nine: 9 − 4 = 5", inputs(4, 9, "0.50", "1"), "target", 5),
]


@pytest.mark.parametrize("reason,x,objective,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_patients_needed_spec(reason, x, objective, expected):
    k = patients_needed(x, RULES, objective)
    assert k == expected, reason
    sign = 1 if x.direction == "higher" else -1
    assert branch(x, x.numerator + sign * k) in REACHED[objective], reason
    if k > 0:
        assert branch(x, x.numerator + sign * (k - 1)) not in REACHED[objective], reason


def test_neutralised_has_no_steps():
    assert what_it_would_take(inputs(1, 3, "0.43", "0.70"), RULES) == []


def test_euros_added_match_the_scorer():
    x = inputs(12, 30, "0.43", "0.70", start=F(1, 5))
    now = score_indicator(numerator=12, denominator=30, start_rate=x.start_rate, declared_rate=None,
                          intermediate=x.intermediate, target=x.target, direction="higher", threshold=5,
                          points_max=30, patientele=700, reference_patientele=600, rules=RULES).euros
    steps = what_it_would_take(x, RULES)
    for s in steps:
        after = score_indicator(numerator=s.numerator, denominator=30, start_rate=x.start_rate,
                                declared_rate=None, intermediate=x.intermediate, target=x.target,
                                direction="higher", threshold=5, points_max=30, patientele=700,
                                reference_patientele=600, rules=RULES).euros
        assert s.euros == after - now
    assert [s.patients for s in steps] == [1, 9]
    assert steps[1].euros == F(30 * 7 * 700, 600) - now  # the target pays every point


def test_every_statement_step_checks_against_the_scorer(demo_run):
    """On the synthetic run: for every doctor and every stated step, k reaches, k − 1 does not."""
    from rosp.report.model import RunData

    run_data = RunData(demo_run, charts=False)
    import pandas as pd

    ind = pd.read_csv(demo_run / "indicators.csv", dtype=str, keep_default_na=False)
    pay = pd.read_csv(demo_run / "payments.csv", dtype=str, keep_default_na=False)
    cat = load_catalogue(2018)
    checked = 0
    for doctor in run_data.doctor_ids:
        st = run_data.statement(doctor)
        for p in st.programmes:
            prog = cat.programme(p.slug)
            patientele = int(pay[(pay.doctor_id == doctor) & (pay.programme == p.slug)].iloc[0]["patientele"])
            for ln in p.lines:
                row = ind[(ind.doctor_id == doctor) & (ind.indicator_id == ln.id)].iloc[0]
                spec = prog.indicator(ln.id)
                x = IndicatorInputs(int(row.numerator), int(row.denominator), ln.start_rate,
                                    F(spec.intermediate), F(spec.target), spec.direction, spec.threshold,
                                    spec.points, patientele, prog.reference_patientele)
                sign = 1 if spec.direction == "higher" else -1
                for s in ln.steps:
                    if not s["reachable"]:
                        continue
                    objective = "intermediate" if s["objective"] == "objectif intermédiaire" else "target"
                    k = s["patients"]
                    assert branch(x, x.numerator + sign * k) in REACHED[objective], (doctor, ln.id, s)
                    if k:
                        assert branch(x, x.numerator + sign * (k - 1)) not in REACHED[objective], (doctor, ln.id, s)
                    checked += 1
    assert checked > 20
