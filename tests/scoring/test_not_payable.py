"""A provisional definition (`payable = false`, END-07) is not paid, in every scorer.

Spec table: each case names the expected branch and euros, with its reason. These
cases fail on the code before issue 7's END-07 fix (END-07 was paid like any
other indicator).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.indicators.definitions import load_programmes
from rosp.scoring.batch import score_batch, score_batch_reference
from rosp.scoring.rules import BRANCHES, RuleParams, provisional_indicators

CAT = load_catalogue(2018)
ENDO = CAT.programme("endocrinologie")
END07 = ENDO.indicator("END-07")


def _one(numerator: int, denominator: int, start: str = "", cat=CAT):
    counts = pd.DataFrame([{"doctor_id": "END1", "indicator_id": "END-07", "numerator": numerator,
                            "denominator": denominator, "start_rate": start, "declared_rate": ""}])
    pats = pd.DataFrame([{"doctor_id": "END1", "programme": "endocrinologie", "patientele": ENDO.reference_patientele}])
    fast = score_batch(counts, pats, 2018, cat)
    ref = score_batch_reference(counts, pats, 2018, cat)
    return fast, ref


# (case, numerator, denominator, start_rate, branch, reason)
CASES = [
    ("end07_at_target_not_paid", 9, 10, "", "not_payable",
     "END-07 at 90 % would reach its target, yet its definition is provisional (L-13)"),
    ("end07_progression_not_paid", 1, 10, "0", "not_payable",
     "a progression from D = 0 would pay 30 % × progression; provisional: nothing"),
    ("end07_below_threshold_still_not_payable", 1, 1, "", "not_payable",
     "the not-payable branch is reported even under the seuil (neutralised flag kept)"),
]


@pytest.mark.parametrize(("name", "num", "den", "start", "branch", "reason"), CASES, ids=[c[0] for c in CASES])
def test_end07_is_not_paid(name, num, den, start, branch, reason):
    fast, ref = _one(num, den, start)
    for res in (fast, ref):
        row = res.indicators.set_index("indicator_id").loc["END-07"]
        assert row["branch"] == branch, reason
        assert float(row["points"]) == 0.0 and float(row["euros"]) == 0.0, reason
    assert fast.payments["euros"].tolist() == ref.payments["euros"].tolist() == ["0.00"], reason


def test_neutralised_flag_survives_on_a_non_payable_row():
    fast, ref = _one(1, 1)
    for res in (fast, ref):
        assert bool(res.indicators.set_index("indicator_id").loc["END-07", "neutralised"]) is True


def test_the_flag_comes_from_the_definitions_only():
    defs = {i.id for p in load_programmes().values() for i in p.indicators if not i.payable}
    assert provisional_indicators() == defs == {"END-07"}
    assert RuleParams.from_parameters(CAT.params, 2018).non_payable == defs
    assert "not_payable" in BRANCHES


def test_paying_provisional_definitions_is_the_listed_alternative():
    p = CAT.params.get("scoring.provisional_definitions", 2018)
    assert p.text == "not_paid" and p.source and p.confidence != "verified"
    assert CAT.params.alternatives("scoring.provisional_definitions") == ["not_paid", "paid"]
    paid = dataclasses.replace(CAT, params=CAT.params.with_overrides({"scoring.provisional_definitions": "paid"}))
    fast, ref = _one(9, 10, cat=paid)
    assert fast.payments["euros"].tolist() == ref.payments["euros"].tolist()
    assert Decimal(fast.payments["euros"].iat[0]) == END07.points * CAT.params.get("point_value", 2018).decimal
    assert fast.indicators.set_index("indicator_id").loc["END-07", "branch"] == "target_reached"


def test_web_simulator_does_not_pay_end07():
    from rosp.web.simulate import Entry, simulate

    out = simulate(CAT, "endocrinologie", 2018, ENDO.reference_patientele, [Entry("END-07", 9, 10)])
    row = next(r for r in out["indicators"] if r["indicator_id"] == "END-07")
    assert row["branch"] == "not_payable" and float(row["euros"]) == 0.0
    assert out["payment"]["euros"] == "0.00"
