"""Spec tables for the scoring rule. Each case: inputs, expected result, and why.

PROVISIONAL: the rule reconstructs Annexe 15 / Annexe 4 of avenant 6, whose texts were
not available (method.md §1.2-1.3). Only the 50 % (2017) and 30 %/70 % (2018) anchors are
sourced; these cases pin the reconstruction so any change to it is deliberate.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction as F

import pytest

from rosp.catalogue import load_parameters
from rosp.scoring.rules import RuleParams, realisation, round_euros, score_indicator, to_fraction

S18, S17 = F(3, 10), F(1, 2)

# (name, C, D, I, T, direction, s, expected, reason)
REALISATION = [
    ("at_target", "0.80", None, "0.40", "0.80", "higher", S18, F(1), "C ≥ T earns every point"),
    ("above_target", "0.95", None, "0.40", "0.80", "higher", S18, F(1), "no bonus above the target"),
    ("at_intermediate", "0.40", None, "0.40", "0.80", "higher", S18, F(3, 10), "s at I exactly"),
    ("between_objectives", "0.60", None, "0.40", "0.80", "higher", S18, F(65, 100), "s + (1−s)·½"),
    ("between_2017_rule", "0.60", None, "0.40", "0.80", "higher", S17, F(3, 4), "Annexe 15: s = 50 %"),
    ("progression_below_I", "0.30", "0.20", "0.40", "0.80", "higher", S18, F(15, 100), "s·(C−D)/(I−D)"),
    ("regression_below_I", "0.20", "0.30", "0.40", "0.80", "higher", S18, F(0), "fell since the start"),
    ("stagnation_below_I", "0.30", "0.30", "0.40", "0.80", "higher", S18, F(0), "C = D: no progression"),
    ("no_start_below_I", "0.30", None, "0.40", "0.80", "higher", S18, F(0), "no D: nothing below I"),
    ("start_above_I_falls_below", "0.35", "0.50", "0.40", "0.80", "higher", S18, F(0), "D ≥ I, C < I: D > C"),
    ("start_above_I_stays_above", "0.45", "0.50", "0.40", "0.80", "higher", S18, F(3875, 10000), "D ignored above I"),
    ("zero_rate", "0", "0", "0.40", "0.80", "higher", S18, F(0), "nothing done"),
    ("lower_at_target", "0.11", None, "0.52", "0.11", "lower", S18, F(1), "C ≤ T earns every point"),
    ("lower_below_target", "0.05", None, "0.52", "0.11", "lower", S18, F(1), "better than target"),
    ("lower_at_intermediate", "0.52", None, "0.52", "0.11", "lower", S18, F(3, 10), "s at I"),
    ("lower_between", "0.30", None, "0.52", "0.11", "lower", S18, F(3, 10) + F(7, 10) * F(22, 41), "mirror"),
    ("lower_progression", "0.60", "0.70", "0.52", "0.11", "lower", S18, F(3, 10) * F(10, 18), "s·(D−C)/(D−I)"),
    ("lower_regression", "0.70", "0.60", "0.52", "0.11", "lower", S18, F(0), "rose since the start"),
    ("lower_no_start", "0.60", None, "0.52", "0.11", "lower", S18, F(0), "no D: nothing above I"),
    ("lower_start_better_than_I_worsens", "0.60", "0.40", "0.52", "0.11", "lower", S18, F(0), "D ≤ I, C > I"),
]


@pytest.mark.parametrize("name,c,d,i,t,direction,s,expected,reason", REALISATION, ids=[r[0] for r in REALISATION])
def test_realisation(name, c, d, i, t, direction, s, expected, reason):
    got = realisation(F(c), to_fraction(d), F(i), F(t), s, direction)
    assert got == expected, reason


def test_progression_normalised_by_target_is_a_parameter():
    # Parameter scoring.progression_normalisation = "target": s·(C−D)/(T−D).
    got = realisation(F("0.30"), F("0.20"), F("0.40"), F("0.80"), S18, "higher", "target")
    assert got == F(3, 10) * F(1, 6)


RULES18 = RuleParams.from_parameters(load_parameters(), 2018)
RULES17 = RuleParams.from_parameters(load_parameters(), 2017)

# (name, kwargs, expected (neutralised, realisation, points, euros), reason)
BASE = dict(start_rate=None, declared_rate=None, intermediate=F("0.71"), target=F("0.89"),
            direction="higher", threshold=5, points_max=30, patientele=800, reference_patientele=800)
INDICATOR = [
    ("E1_between", dict(numerator=80, denominator=100, start_rate=F("0.60")), (False, F(65, 100), F("19.5"), F("136.5")),
     "method.md E1: 0.30 + 0.70 × 9/18"),
    ("E2_progression_weighted", dict(numerator=60, denominator=100, start_rate=F("0.50"), patientele=1000),
     (False, F(3, 10) * F(10, 21), F(3, 10) * F(10, 21) * 30 * F(1000, 800), F(3, 10) * F(10, 21) * 30 * F(1000, 800) * 7),
     "method.md E2: 0.30 × 10/21, weighted 1000/800"),
    ("E5_regressed", dict(numerator=55, denominator=100, start_rate=F("0.60")), (False, F(0), F(0), F(0)),
     "method.md E5: regressed below I"),
    ("E6_below_threshold", dict(numerator=4, denominator=4), (True, F(0), F(0), F(0)),
     "method.md E6: 4 patients < seuil of 5: neutralised even at 100 %"),
    ("at_threshold_counts", dict(numerator=5, denominator=5), (False, F(1), F(30), F(210)),
     "5 patients meets a seuil of 5"),
    ("boxes_threshold", dict(numerator=9, denominator=9, threshold=10, points_max=60), (True, F(0), F(0), F(0)),
     "9 boîtes < 10 boîtes"),
    ("declared_rate_wins", dict(numerator=0, denominator=12, declared_rate=F("0.95")), (False, F(1), F(30), F(210)),
     "declarative: the declared rate is C"),
    ("declared_without_rate", dict(numerator=9, denominator=10, declared_rate=None), (False, F(1), F(30), F(210)),
     "declarative with no declared rate: n ÷ d"),
    ("weighting_no_cap", dict(numerator=9, denominator=10, patientele=2400), (False, F(1), F(90), F(630)),
     "3 × reference patientèle: 3 × the points, no cap"),
    ("empty_patientele", dict(numerator=9, denominator=10, patientele=0), (False, F(1), F(0), F(0)),
     "no patientèle, no points"),
    ("zero_denominator", dict(numerator=0, denominator=0, threshold=0), (True, F(0), F(0), F(0)),
     "no rate can be computed: neutralised"),
]


@pytest.mark.parametrize("name,kw,expected,reason", INDICATOR, ids=[r[0] for r in INDICATOR])
def test_score_indicator(name, kw, expected, reason):
    sc = score_indicator(**{**BASE, **kw}, rules=RULES18)
    assert (sc.neutralised, sc.realisation, sc.points, sc.euros) == expected, reason


def test_E3_lower_is_better_child_c3g():
    """method.md E3: ENF-06, D 40 %, C 30 %, I 52 %, T ≤ 11 %, 35 points, 600/600 → 165.52 €."""
    sc = score_indicator(**{**BASE, "numerator": 30, "denominator": 100, "start_rate": F("0.40"),
                            "intermediate": F("0.52"), "target": F("0.11"), "direction": "lower",
                            "points_max": 35, "patientele": 600, "reference_patientele": 600}, rules=RULES18)
    assert round_euros(sc.euros) == Decimal("165.52")


def test_E4_same_rate_pays_more_under_annexe_15():
    sc = score_indicator(**{**BASE, "numerator": 80, "denominator": 100, "start_rate": F("0.60")}, rules=RULES17)
    assert sc.realisation == F(3, 4) and sc.euros == F("157.5")


ROUNDING = [
    ("half_cent_up", F(1038625, 1000), "1038.63", "half-up at exactly half a cent"),
    ("just_below_half", F(1038624999, 1000000), "1038.62", "below half a cent rounds down"),
    ("float_trap", F("2.675"), "2.68", "2.675 is below 2.675 in binary floats; exact rounding gives 2.68"),
    ("tiny", F(1, 300), "0.00", "a third of a cent"),
    ("thirds", F(1, 3) * 7, "2.33", "7/3 €"),
]


@pytest.mark.parametrize("name,amount,expected,reason", ROUNDING, ids=[r[0] for r in ROUNDING])
def test_round_euros(name, amount, expected, reason):
    assert str(round_euros(amount)) == expected, reason


# The branch of the rule that decided each realisation (printed on the statement).
BRANCH_CASES = [
    # (name, C, D, direction, expected branch) with I = 0.40, T = 0.60
    ("at_target_pays_full", F(6, 10), None, "higher", "target_reached"),
    ("between_objectives", F(1, 2), None, "higher", "above_intermediate"),
    ("below_I_with_lower_D_progresses", F(3, 10), F(2, 10), "higher", "progression"),
    ("below_I_equal_to_D_is_no_progress", F(3, 10), F(3, 10), "higher", "regression"),
    ("below_I_without_D", F(3, 10), None, "higher", "no_start_rate"),
    ("lower_is_better_below_T_reached", F(3, 10), None, "lower", "target_reached"),
]


@pytest.mark.parametrize(("name", "c", "d", "direction", "expected"), BRANCH_CASES, ids=[b[0] for b in BRANCH_CASES])
def test_branch_of_the_rule(name, c, d, direction, expected):
    from rosp.scoring.rules import BRANCHES, realisation_branch

    i, t = (F(4, 10), F(6, 10)) if direction == "higher" else (F(6, 10), F(4, 10))
    _, branch = realisation_branch(c, d, i, t, F(3, 10), direction)
    assert branch == expected and branch in BRANCHES


# (name, C, D, direction, missing rule, lower rule, expected realisation, expected branch, reason)
# with I = 0.40, T = 0.80 (higher) or I = 0.52, T = 0.11 (lower) and s = 30 %.
MISSING_START = [
    ("no_D_no_progression", "0.30", None, "higher", "no_progression", "mirror", F(0), "no_start_rate",
     "today's reading: no D, nothing below I"),
    ("no_D_read_as_zero", "0.30", None, "higher", "zero", "mirror", F(3, 10) * F(30, 40), "progression",
     "D = 0 % for ≥: s·C/I"),
    ("no_D_zero_and_nothing_done", "0", None, "higher", "zero", "mirror", F(0), "regression",
     "D = 0 % and C = 0: no progression"),
    ("no_D_read_as_first_level", "0.30", None, "higher", "first_measured_level", "mirror", F(0), "no_start_rate",
     "D = C in the year it is first measured: no progression"),
    ("lower_no_D_read_as_hundred", "0.60", None, "lower", "zero", "mirror", F(3, 10) * F(40, 48), "progression",
     "D = 100 % for ≤: s·(1−C)/(1−I)"),
    ("lower_no_D_no_progression", "0.60", None, "lower", "no_progression", "mirror", F(0), "no_start_rate",
     "no D for ≤"),
    ("known_D_ignores_missing_rule", "0.30", "0.20", "higher", "zero", "mirror", F(15, 100), "progression",
     "the rule applies only where D is absent"),
    ("lower_progression_without_credit", "0.60", "0.70", "lower", "no_progression", "mirror_no_progression", F(0),
     "regression", "alternative ≤ reading: no progression credit"),
    ("lower_between_unchanged_without_credit", "0.30", None, "lower", "no_progression", "mirror_no_progression",
     F(3, 10) + F(7, 10) * F(22, 41), "above_intermediate", "the ≤ alternative only changes the part below I"),
    ("higher_keeps_credit_under_lower_rule", "0.30", "0.20", "higher", "no_progression", "mirror_no_progression",
     F(15, 100), "progression", "≥ indicators are unaffected by the ≤ rule"),
]


@pytest.mark.parametrize(("name", "c", "d", "direction", "missing", "lower_rule", "expected", "branch", "reason"),
                         MISSING_START, ids=[m[0] for m in MISSING_START])
def test_missing_start_rate_readings(name, c, d, direction, missing, lower_rule, expected, branch, reason):
    from rosp.scoring.rules import realisation_branch

    i, t = (F("0.40"), F("0.80")) if direction == "higher" else (F("0.52"), F("0.11"))
    got, got_branch = realisation_branch(F(c), to_fraction(d), i, t, S18, direction, "intermediate", missing, lower_rule)
    assert (got, got_branch) == (expected, branch), reason


def test_missing_start_rate_is_a_dated_parameter():
    params = load_parameters()
    p = params.get("scoring.missing_start_rate", 2018)
    assert p.value == "no_progression" and p.confidence == "inferred" and p.source
    assert params.alternatives("scoring.missing_start_rate") == ["no_progression", "zero", "first_measured_level"]
    assert RuleParams.from_parameters(params, 2018).missing_start == "no_progression"
    zero = RuleParams.from_parameters(params.with_overrides({"scoring.missing_start_rate": "zero"}), 2018)
    assert zero.missing_start == "zero"
