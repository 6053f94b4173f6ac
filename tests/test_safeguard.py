"""Spec-style tests of rosp.safeguard (article 27.4 as amended by avenant 6)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rosp.catalogue.parameters import load_parameters
from rosp.safeguard import (
    SafeguardInputError,
    apply_safeguard,
    round_exact,
    run_safeguard,
)

CENT = Decimal("0.01")
D = Decimal

# The arithmetic tests below use payments files that cover the whole (one-programme)
# perimeter; the perimeter rules themselves are tested in the "perimeter" section.
ONE_PROGRAMME = {"safeguard.perimeter": "mt-enfant", "safeguard.new_programmes": "include"}


def sg(pay, year, previous, baseline, params=None, **kw):
    params = (params or load_parameters()).with_overrides(ONE_PROGRAMME)
    return apply_safeguard(pay, year, previous, baseline, params, **kw)


def payments(*euros: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doctor_id": [f"M{i:03d}" for i in range(len(euros))],
            "programme": ["mt-enfant"] * len(euros),
            "patientele": [600] * len(euros),
            "points": [100] * len(euros),
            "euros": list(euros),
        }
    )


def split(total: str, n: int = 4) -> pd.DataFrame:
    """`total` euros split into n unequal cent amounts summing exactly to it."""
    cents = int(D(total) * 100)
    weights = list(range(1, n + 1))
    parts = [cents * w // sum(weights) for w in weights]
    parts[-1] += cents - sum(parts)
    return payments(*[str(D(p) / 100) for p in parts])


def round_half_up(x: Fraction) -> Decimal:
    """Reference half-up rounding to the cent, on integers, independent of the implementation."""
    num, den = (x * 100).numerator, (x * 100).denominator
    q = (2 * abs(num) + den) // (2 * den)
    return (D(q if num >= 0 else -q) / 100).quantize(CENT)


# ---------------------------------------------------------------- trigger

TRIGGER_CASES = [
    # (total N, previous total, triggered, reason)
    ("90010.00", "100000.00", False, "−9.99 %: below the 10 % threshold"),
    ("89990.00", "100000.00", True, "−10.01 %: more than 10 % lower"),
    ("90000.00", "100000.00", False, "exactly −10 %: « de plus de 10 % » is strict"),
    ("89999.99", "100000.00", True, "one cent past −10 %"),
    ("120000.00", "100000.00", False, "an increase never triggers"),
]


@pytest.mark.parametrize(("total", "previous", "triggered", "reason"), TRIGGER_CASES)
def test_trigger_threshold(total, previous, triggered, reason):
    result = sg(split(total), 2018, D(previous), D("150000.00"))
    s = result.summary
    assert s["applies"] is True, reason
    assert s["triggered"] is triggered, reason
    assert s["comparison"] == "previous_year"
    assert s["threshold"] == "0.10"
    if not triggered:
        assert s["coefficient"] == "1", reason
        assert s["complement_total"] == "0.00", reason
        assert (
            result.payments["euros_after_safeguard"].tolist() == result.payments["euros"].tolist()
        )


@pytest.mark.parametrize(
    ("total", "previous", "drop", "reason"),
    [
        ("90010.00", "100000.00", "0.0999", "drop reported as a fraction"),
        ("90000.00", "100000.00", "0.1", "exact −10 %"),
    ],
)
def test_drop_is_reported(total, previous, drop, reason):
    s = sg(split(total), 2017, D(previous), D(previous)).summary
    assert D(s["drop"]) == D(drop), reason
    assert isinstance(s["drop"], str)


# ---------------------------------------------------------------- restore_to

RESTORE_CASES = [
    # (restore_to, expected target, reason)
    ("baseline_2016", "200000.00", "letter of the text: the differential with 2016"),
    ("previous_year", "100000.00", "alternative reading: restore N−1"),
]


@pytest.mark.parametrize(("restore_to", "target", "reason"), RESTORE_CASES)
def test_restore_to_readings(restore_to, target, reason):
    params = load_parameters(overrides={"safeguard.restore_to": restore_to})
    result = sg(split("80000.00"), 2018, D("100000.00"), D("200000.00"), params, allow_large_coefficient=True)
    s = result.summary
    assert s["triggered"] and s["restore_to"] == restore_to, reason
    assert s["target_total"] == target, reason
    assert D(s["coefficient"]) == D(target) / D("80000.00"), reason


def test_restore_to_readings_give_different_coefficients():
    ks = set()
    for restore_to, _, _ in RESTORE_CASES:
        params = load_parameters(overrides={"safeguard.restore_to": restore_to})
        s = sg(split("80000.00"), 2018, D("100000.00"), D("200000.00"), params, allow_large_coefficient=True).summary
        ks.add(s["coefficient"])
    assert ks == {"2.5", "1.25"}


def test_default_restore_is_the_2016_baseline():
    s = sg(split("50000.00"), 2017, D("100000.00"), D("100000.00")).summary
    assert s["restore_to"] == "baseline_2016"
    assert s["coefficient"] == "2"
    assert s["target_total"] == "100000.00"


def test_target_not_above_total_gives_no_negative_complement():
    # 2018 dropped > 10 % from 2017, but 2016 was even lower: no negative majoration,
    # and the outcome does not say "déclenchée" when nothing is due (review L-06, sgC).
    s = sg(split("80000.00"), 2018, D("100000.00"), D("70000.00")).summary
    assert s["condition_met"] is True
    assert s["triggered"] is False
    assert s["outcome"] == "condition_remplie_sans_complement"
    assert s["coefficient"] == "1"
    assert s["complement_total"] == "0.00"
    assert s["note"]


def test_zero_total_cannot_be_majorated():
    s = sg(payments("0.00", "0.00"), 2017, D("100.00"), D("100.00")).summary
    assert s["condition_met"] is True and s["triggered"] is False
    assert s["outcome"] == "majoration_impossible"
    assert s["coefficient"] == "undefined"
    assert s["complement_total"] == "0.00"
    assert s["note"]


# ---------------------------------------------------------------- years

YEAR_CASES = [
    (2016, False, "2016 is paid under the 2011 rules (annexe 16); no clause parameters"),
    (2017, True, "first year of the clause"),
    (2018, True, "second year (extended by avenant 6)"),
    (2019, False, "the clause covers only 2017 and 2018"),
    (2022, False, "well after"),
]


@pytest.mark.parametrize(("year", "applies", "reason"), YEAR_CASES)
def test_covered_years(year, applies, reason):
    result = sg(split("50000.00"), year, D("100000.00"), D("100000.00"))
    s = result.summary
    assert s["applies"] is applies, reason
    assert s["triggered"] is applies, reason  # a 50 % drop triggers whenever it applies
    if not applies:
        assert s["coefficient"] == "1"
        assert D(s["complement_total"]) == 0  # 2016 has no rounding rule: plain text
        assert "2017, 2018" in s["note"] or s["note"].endswith(
            "(aucune) ; pas de majoration pour 2016."
        )
        assert result.payments["complement"].tolist() == [D(0)] * 4


# ---------------------------------------------------------------- distribution


def test_proportional_majoration_preserves_each_share():
    pay = payments("1000.00", "3000.00", "6000.00")
    result = sg(pay, 2017, D("15000.00"), D("15000.00"))
    out = result.payments
    assert result.summary["coefficient"] == "1.5"
    assert [str(x) for x in out.euros_after_safeguard] == ["1500.00", "4500.00", "9000.00"]
    assert [str(x) for x in out.complement] == ["500.00", "1500.00", "3000.00"]
    total = sum(out.euros_after_safeguard)
    for before, after in zip(out.euros, out.euros_after_safeguard, strict=True):
        assert after / total == before / D("10000.00")
    assert set(out.safeguard_coefficient) == {"1.5"}


def test_total_reconciles_to_the_cent_with_residual():
    # k = 10000 / 3 / 3333.33... : three equal thirds, each rounded up half-up.
    pay = payments("1000.00", "1000.00", "1000.00")
    result = sg(pay, 2017, D("10000.00"), D("10000.00"), allow_large_coefficient=True)
    s = result.summary
    assert s["target_total"] == "10000.00"
    assert s["coefficient"].startswith("3.333333333")
    assert [str(x) for x in result.payments.euros_after_safeguard] == ["3333.33"] * 3
    assert s["rounding_residual"] == "-0.01"
    assert s["total_after"] == "9999.99"
    assert s["complement_total"] == "6999.99"
    assert D(s["total_before"]) + D(s["complement_total"]) - D(s["rounding_residual"]) == D(
        s["target_total"]
    )


def test_exact_half_cent_is_rounded_up():
    # k = 7001/6 ; 0.03 × k = 35.005 exactly: a truncated decimal k would give 35.00.
    pay = payments("0.03", "0.03")
    result = sg(pay, 2017, D("70.01"), D("70.01"), allow_large_coefficient=True)
    s, out = result.summary, result.payments
    assert [str(x) for x in out.euros_after_safeguard] == ["35.01", "35.01"]
    assert s["rounding_residual"] == "0.01"


def test_sources_are_legal_strings():
    s = sg(split("50000.00"), 2017, D("100000.00"), D("100000.00")).summary
    for name in (
        "safeguard.years",
        "safeguard.drop_threshold",
        "safeguard.comparison",
        "safeguard.restore_to",
        "safeguard.distribution",
        "rounding.euros",
    ):
        assert s["sources"][name], name
    assert "seed 004" in s["sources"]["safeguard.drop_threshold"]


@settings(max_examples=200, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=0, max_value=2_000_000), min_size=1, max_size=40),
    target_cents=st.integers(min_value=1, max_value=10**9),
)
def test_property_sum_within_half_cent_per_doctor(cents, target_cents):
    euros = [D(c) / 100 for c in cents]
    total = sum(euros, D(0))
    target = D(target_cents) / 100
    result = sg(payments(*map(str, euros)), 2017, target, target, allow_large_coefficient=True)
    s = result.summary
    after = list(result.payments.euros_after_safeguard)
    if s["coefficient"] in ("1", "undefined"):
        assert after == [e.quantize(CENT) for e in euros]
        return
    k = Fraction(target) / Fraction(total)
    for e, a in zip(euros, after, strict=True):
        assert a == round_half_up(Fraction(e) * k)
        assert a == round_exact(Fraction(e) * k, CENT, ROUND_HALF_UP)
    assert abs(sum(after, D(0)) - target) <= D("0.005") * len(euros)
    assert D(s["rounding_residual"]) == sum(after, D(0)) - target


# ---------------------------------------------------------------- files


def test_run_safeguard_writes_files(tmp_path):
    src = tmp_path / "in.csv"
    payments("1000.00", "3000.5", "6000").to_csv(src, index=False)
    params = load_parameters().with_overrides(ONE_PROGRAMME)
    result = run_safeguard(2017, src, "15000", "15000.00", tmp_path / "out", params)
    written = pd.read_csv(tmp_path / "out" / "payments.csv", dtype=str)
    assert written.euros.tolist() == ["1000.00", "3000.50", "6000.00"]
    assert written.euros_after_safeguard.tolist() == ["1499.93", "4500.52", "8999.55"]
    assert set(written.safeguard_coefficient) == {result.summary["coefficient"]}
    text = (tmp_path / "out" / "safeguard.json").read_text()
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["target_total"] == "15000.00"
    assert data["total_after"] == "15000.00"
    assert data["rounding_residual"] == "0.00"
    assert data["previous_total"] == "15000.00"
    assert isinstance(data["total_before"], str)


@pytest.mark.parametrize(
    ("content", "fragment", "reason"),
    [
        (
            "doctor_id,programme,patientele,points\nA,mt-enfant,1,1\n",
            "missing column(s) euros",
            "no euros column",
        ),
        (
            "doctor_id,programme,patientele,points,euros\nA,mt-enfant,1,1,10.00\nB,mt-enfant,1,1,douze\n",
            "row 2, column euros",
            "non-numeric amount",
        ),
    ],
)
def test_run_safeguard_bad_payments(tmp_path, content, fragment, reason):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    with pytest.raises(SafeguardInputError) as info:
        run_safeguard(2017, src, "1", "1", tmp_path / "out")
    assert str(src) in str(info.value), reason
    assert fragment in str(info.value), reason


def test_negative_reference_is_refused():
    with pytest.raises(SafeguardInputError, match="previous_total"):
        sg(split("100.00"), 2017, D("-1"), D("1"))


# ---------------------------------------------------------------- perimeter and readings (review L-05, L-06)

ONE_GP = pd.DataFrame(
    {"doctor_id": ["M1"], "programme": ["cardiologie"], "patientele": [800], "points": [100], "euros": ["289.06"]}
)


def test_sgE_national_totals_against_a_partial_file_are_refused():
    """sgE: one GP's file against national totals multiplied its ROSP by 24 844 (L-05)."""
    with pytest.raises(SafeguardInputError, match="give current_total, the global amount of 2018"):
        apply_safeguard(ONE_GP, 2018, D("243500000"), D("240000000"))


def test_sgE_coefficient_above_the_bound_is_refused_without_override():
    with pytest.raises(SafeguardInputError, match="above the bound 2"):
        apply_safeguard(ONE_GP, 2018, D("243500000"), D("240000000"), current_total=D("289.06"))
    s = apply_safeguard(
        ONE_GP, 2018, D("243500000"), D("240000000"), current_total=D("289.06"), allow_large_coefficient=True
    ).summary
    assert s["coefficient_override"] is True and s["outcome"] == "declenchee"


def test_programme_outside_the_perimeter_is_refused():
    pay = ONE_GP.assign(programme="dermatologie")
    with pytest.raises(SafeguardInputError, match="outside the safeguard perimeter"):
        apply_safeguard(pay, 2018, D("100"), D("100"), current_total=D("100"))


def test_current_total_below_the_file_is_refused():
    with pytest.raises(SafeguardInputError, match="below the payments' sum"):
        apply_safeguard(ONE_GP, 2018, D("1000"), D("1000"), current_total=D("100"))


def test_2017_previous_must_equal_baseline():
    """For 2017 the year before is 2016 itself (L-06)."""
    with pytest.raises(SafeguardInputError, match="must be equal for 2017"):
        apply_safeguard(ONE_GP, 2017, D("12000"), D("9000"), current_total=D("9000"))


def test_programmes_without_a_base_are_neither_compared_nor_majorated():
    """Endocrinology (first paid 2018) has no 2017 amount: excluded in 2018 (safeguard.new_programmes)."""
    pay = pd.concat([ONE_GP, ONE_GP.assign(doctor_id="E1", programme="endocrinologie", euros="100.00")])
    r = apply_safeguard(pay, 2018, D("10000"), D("10000"), current_total=D("8000"))
    s = r.summary
    assert s["not_compared_programmes"] == "endocrinologie"
    assert "endocrinologie" not in s["compared_programmes"].split(",")
    after = dict(zip(r.payments["doctor_id"], r.payments["euros_after_safeguard"], strict=True))
    assert after["E1"] == D("100.00") and after["M1"] == D("361.33")  # 289.06 × 10000/8000
    # 2017: only the programmes paid in 2016 are compared, mt-enfant (created 2017) is not
    s17 = apply_safeguard(ONE_GP, 2017, D("10000"), D("10000"), current_total=D("9500")).summary
    assert s17["compared_programmes"] == "mt-adulte,cardiologie,gastro-enterologie"


# The four readings of the sentence (docs/method.md §safeguard) on the review's scenarios,
# amounts of 2018 (2016, raw 2017, paid 2017 including its majoration, 2018):
SCENARIOS = {
    "sgA": ("10000", "10900", "10900", "8775"),
    "sgB": ("10000", "6670", "10000", "6440"),
    "sgC": ("9000", "12000", "12000", "9660"),
}
READINGS = {
    "R1_letter_raw_previous": ("previous_year", "baseline_2016", "raw"),
    "R2_previous_year_both": ("previous_year", "previous_year", "paid"),
    "R3_paid_previous_restore_2016": ("previous_year", "baseline_2016", "paid"),
    "R4_2016_both": ("baseline_2016", "baseline_2016", "paid"),
}
READING_CASES = [
    ("R1_letter_raw_previous", "sgA", "declenchee", "1.1396", "−19.5 % vs 2017, restored to 2016 only"),
    ("R1_letter_raw_previous", "sgB", "non_declenchee", "1", "−3.4 % vs raw 2017 although −35.6 % vs 2016"),
    ("R1_letter_raw_previous", "sgC", "condition_remplie_sans_complement", "1", "2016 below 2018: nothing due"),
    ("R2_previous_year_both", "sgA", "declenchee", "1.2421", "restored to 2017"),
    ("R2_previous_year_both", "sgB", "declenchee", "1.5527", "restored to paid 2017"),
    ("R2_previous_year_both", "sgC", "declenchee", "1.2422", "restored to a 2017 above 2016"),
    ("R3_paid_previous_restore_2016", "sgA", "declenchee", "1.1396", "project default"),
    ("R3_paid_previous_restore_2016", "sgB", "declenchee", "1.5527", "paid 2017 includes its majoration"),
    ("R3_paid_previous_restore_2016", "sgC", "condition_remplie_sans_complement", "1", "not 'déclenchée'"),
    ("R4_2016_both", "sgA", "declenchee", "1.1396", "−12.25 % vs 2016"),
    ("R4_2016_both", "sgB", "declenchee", "1.5527", "−35.6 % vs 2016"),
    ("R4_2016_both", "sgC", "non_declenchee", "1", "2018 above 2016"),
]


@pytest.mark.parametrize("reading,scenario,outcome,k,why", READING_CASES, ids=[f"{c[0]}-{c[1]}" for c in READING_CASES])
def test_readings_on_worked_scenarios(reading, scenario, outcome, k, why):
    comparison, restore_to, basis = READINGS[reading]
    base, raw17, paid17, current = SCENARIOS[scenario]
    params = load_parameters(overrides={"safeguard.comparison": comparison, "safeguard.restore_to": restore_to})
    previous = raw17 if basis == "raw" else paid17
    s = apply_safeguard(ONE_GP, 2018, D(previous), D(base), params, current_total=D(current)).summary
    assert s["outcome"] == outcome, why
    assert s["triggered"] is (outcome == "declenchee"), why
    assert s["coefficient"][: len(k)] == k, why


def test_default_reading_is_R3():
    p = load_parameters()
    assert p.get("safeguard.previous_total_basis", 2018).text == "paid_including_majoration"
    assert (p.get("safeguard.comparison", 2018).text, p.get("safeguard.restore_to", 2018).text) == (
        "previous_year", "baseline_2016",
    )
