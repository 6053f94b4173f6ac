"""The vectorised batch scorer must agree with the exact scalar reference to the cent."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rosp.catalogue import load_catalogue
from rosp.scoring.batch import score_batch, score_batch_reference

CAT = load_catalogue(2018)
IDS = {p.slug: [i.id for i in p.indicators] for p in CAT.programmes}
# Rates that sit exactly on objectives, where float comparisons are fragile.
ON_OBJECTIVES = sorted({str(v) for i in CAT.indicators.values() for v in (i.intermediate, i.target)})


@st.composite
def populations(draw):
    n_doctors = draw(st.integers(1, 6))
    counts, pats = [], []
    for k in range(n_doctors):
        doctor = f"D{k:03d}"
        prog = draw(st.sampled_from(sorted(IDS)))
        pats.append({"doctor_id": doctor, "programme": prog, "patientele": draw(st.integers(0, 3000))})
        for iid in IDS[prog]:
            if draw(st.booleans()):
                continue  # missing row: neutralised
            den = draw(st.integers(0, 400))
            if draw(st.booleans()) and den:
                # numerator chosen so n/d hits an objective exactly when possible
                target = Decimal(draw(st.sampled_from(ON_OBJECTIVES)))
                num = int((target * den).to_integral_value()) if (target * den) % 1 == 0 else draw(st.integers(0, den))
            else:
                num = draw(st.integers(0, den))
            start = draw(st.one_of(st.just(""), st.sampled_from(ON_OBJECTIVES),
                                   st.decimals(0, 1, places=3).map(str)))
            declared = draw(st.one_of(st.just(""), st.decimals(0, 1, places=2).map(str)))
            counts.append({"doctor_id": doctor, "indicator_id": iid, "numerator": num, "denominator": den,
                           "start_rate": start, "declared_rate": declared})
    cols = ["doctor_id", "indicator_id", "numerator", "denominator", "start_rate", "declared_rate"]
    return pd.DataFrame(counts, columns=cols), pd.DataFrame(pats)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_vectorised_equals_reference_to_the_cent(pop):
    counts, pats = pop
    fast = score_batch(counts, pats, 2018, CAT)
    ref = score_batch_reference(counts, pats, 2018, CAT)
    assert fast.payments["euros"].tolist() == ref.payments["euros"].tolist()
    assert fast.payments["doctor_id"].tolist() == ref.payments["doctor_id"].tolist()
    np.testing.assert_allclose(fast.indicators["realisation"].astype(float),
                               ref.indicators["realisation"].astype(float), atol=1e-9)
    np.testing.assert_allclose(fast.indicators["euros"].astype(float),
                               ref.indicators["euros"].astype(float), atol=1e-6)
    assert fast.indicators["neutralised"].tolist() == ref.indicators["neutralised"].tolist()
    assert fast.indicators["branch"].tolist() == ref.indicators["branch"].tolist()


#: Every listed reading of the scoring parameters, one at a time (`alternatives` in parameters.toml).
READINGS = [
    (name, alt)
    for name in ("scoring.missing_start_rate", "scoring.progression_normalisation",
                 "scoring.lower_is_better_rule", "scoring.intermediate_share", "scoring.patientele_cap")
    for alt in CAT.params.alternatives(name)
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations(), st.sampled_from(READINGS))
def test_every_listed_reading_agrees_to_the_cent(pop, reading):
    counts, pats = pop
    cat = dataclasses.replace(CAT, params=CAT.params.with_overrides({reading[0]: reading[1]}))
    fast = score_batch(counts, pats, 2018, cat)
    ref = score_batch_reference(counts, pats, 2018, cat)
    assert fast.payments["euros"].tolist() == ref.payments["euros"].tolist(), reading
    assert fast.indicators["branch"].tolist() == ref.indicators["branch"].tolist(), reading
    np.testing.assert_allclose(fast.indicators["realisation"].astype(float),
                               ref.indicators["realisation"].astype(float), atol=1e-9)


def test_half_cent_total_is_recomputed_exactly():
    """1038.625 € exactly: float noise must not round it down."""
    counts = pd.DataFrame([
        {"doctor_id": "D1", "indicator_id": "CAR-01", "numerator": 8, "denominator": 20, "start_rate": "0.3"},
        {"doctor_id": "D1", "indicator_id": "CAR-08", "numerator": 95, "denominator": 100, "start_rate": ""},
        {"doctor_id": "D1", "indicator_id": "CAR-06", "numerator": 3, "denominator": 10, "start_rate": ""},
    ])
    pats = pd.DataFrame([{"doctor_id": "D1", "programme": "cardiologie", "patientele": 1000}])
    res = score_batch(counts, pats, 2018, CAT)
    assert res.payments["euros"].tolist() == ["1038.63"]
    assert res.exact_recomputed_groups == 1


def test_total_is_rounded_once_not_per_indicator():
    """Three indicators at 1/3 of a point-euro each: 3 × 0.00 ≠ round(sum)."""
    ref = score_batch_reference(
        pd.DataFrame([{"doctor_id": "D", "indicator_id": i, "numerator": 10, "denominator": 10, "start_rate": ""}
                      for i in ("CAR-01", "CAR-03", "CAR-04")]),
        pd.DataFrame([{"doctor_id": "D", "programme": "cardiologie", "patientele": 1}]), 2018, CAT)
    # 90 points × 1/800 × 7 € = 0.7875 € → 0.79 €
    assert ref.payments["euros"].tolist() == ["0.79"]


def test_every_indicator_is_reported_even_without_counts():
    res = score_batch(pd.DataFrame(columns=["doctor_id", "indicator_id", "numerator", "denominator", "start_rate"]),
                      pd.DataFrame([{"doctor_id": "D", "programme": "gastro-enterologie", "patientele": 1100}]),
                      2018, CAT)
    assert len(res.indicators) == 8 and res.indicators["neutralised"].all()
    assert res.payments["euros"].tolist() == ["0.00"]
