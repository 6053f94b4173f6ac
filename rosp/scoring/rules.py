"""Scalar reference implementation of the ROSP scoring rules, in exact arithmetic.

Notation (see docs/method.md): C observed rate, D starting rate (may be absent),
I intermediate objective, T target, s share of points earned at I.

The rule is the reconstruction of Annexe 15 (2017, s = 0.50) and Annexe 4 of
avenant 6 (2018+, s = 0.30); every uncertain element is a parameter of
`rosp/catalogue/parameters.toml`, read into `RuleParams`.

Lower-is-better indicators are scored by the mirror image: negating C, D, I and
T turns them into a higher-is-better indicator, so both directions share one
code path (parameter `scoring.lower_is_better_rule` = "mirror"; the alternative
"mirror_no_progression" gives lower-is-better indicators no progression credit).

A missing starting rate follows `scoring.missing_start_rate` (`MISSING_START_RULES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from rosp.catalogue.parameters import Parameters
from rosp.scoring.rounding import round_exact

CENT = Decimal("0.01")

#: The branch of the rule that decided an indicator's realisation, with the
#: French wording the statements print. `not_declared` is a declarative
#: indicator whose declaration is missing.
BRANCHES: dict[str, str] = {
    "target_reached": "objectif cible atteint ou dépassé",
    "above_intermediate": "entre l'objectif intermédiaire et l'objectif cible",
    "progression": "progression depuis le taux de départ",
    "regression": "sous l'objectif intermédiaire, sans progression depuis le taux de départ",
    "no_start_rate": "sous l'objectif intermédiaire, sans taux de départ",
    "neutralised": "neutralisé (dénominateur sous le seuil minimal)",
    "not_declared": "non déclaré",
    "not_payable": "indicateur provisoire, non rémunéré (définition non calculable dans le SNDS)",
}


#: Readings of `scoring.missing_start_rate` that the scorer implements (both paths).
#: "first_measured_level" scores like "no_progression" in the year of measurement
#: (D = C: no progression); the run then stores C as D for the following years.
MISSING_START_RULES = ("no_progression", "zero", "first_measured_level")
LOWER_RULES = ("mirror", "mirror_no_progression")
#: Readings of `scoring.provisional_definitions`.
PROVISIONAL_RULES = ("not_paid", "paid")


def provisional_indicators() -> frozenset[str]:
    """Ids of the indicators whose definition is provisional (`payable = false` in
    rosp/indicators/definitions/*.toml, with its source): the one place the flag lives."""
    from rosp.indicators.definitions import load_programmes

    return frozenset(i.id for p in load_programmes().values() for i in p.indicators if not i.payable)


@dataclass(frozen=True)
class RuleParams:
    """The scoring parameters in force for one ROSP year."""

    year: int
    intermediate_share: Fraction
    normalisation: str  # "intermediate": ÷ (I − D); "target": ÷ (T − D)
    lower_rule: str  # "mirror"
    patientele_cap: Fraction | None
    point_value: Fraction
    rule_version: str
    missing_start: str = "no_progression"
    #: indicators paid 0 points, branch "not_payable" (`scoring.provisional_definitions`)
    non_payable: frozenset[str] = frozenset()

    def payable(self, indicator_id: str) -> bool:
        return indicator_id not in self.non_payable

    @classmethod
    def from_parameters(cls, params: Parameters, year: int) -> RuleParams:
        norm = params.get("scoring.progression_normalisation", year).text
        if norm not in ("intermediate", "target"):
            raise ValueError(f"scoring.progression_normalisation: unknown value {norm!r}")
        lower = params.get("scoring.lower_is_better_rule", year).text
        if lower not in LOWER_RULES:
            raise ValueError(f"scoring.lower_is_better_rule: unknown value {lower!r}")
        missing = params.get("scoring.missing_start_rate", year).text
        if missing not in MISSING_START_RULES:
            raise ValueError(f"scoring.missing_start_rate: unknown value {missing!r}")
        cap = params.get("scoring.patientele_cap", year).text
        provisional = params.get("scoring.provisional_definitions", year).text
        if provisional not in PROVISIONAL_RULES:
            raise ValueError(f"scoring.provisional_definitions: unknown value {provisional!r}")
        return cls(
            year=year,
            intermediate_share=Fraction(params.get("scoring.intermediate_share", year).decimal),
            normalisation=norm,
            lower_rule=lower,
            patientele_cap=None if cap == "none" else Fraction(Decimal(cap)),
            point_value=Fraction(params.get("point_value", year).decimal),
            rule_version=params.get("scoring.rule_version", year).text,
            missing_start=missing,
            non_payable=provisional_indicators() if provisional == "not_paid" else frozenset(),
        )


def realisation_branch(
    c: Fraction,
    d: Fraction | None,
    i: Fraction,
    t: Fraction,
    s: Fraction,
    direction: str = "higher",
    normalisation: str = "intermediate",
    missing: str = "no_progression",
    lower_rule: str = "mirror",
) -> tuple[Fraction, str]:
    """Taux de réalisation in [0, 1] for an observed rate `c`, and the branch (`BRANCHES`).

    - C at or beyond T: 1.
    - Between I and T: s + (1 − s)(C − I)/(T − I).
    - Short of I: s × (C − D)/(I − D) if D is known and C improved on D, else 0
      (this covers regression and a starting level above I then falling below).
    - D absent (`missing`): "no_progression" and "first_measured_level" pay no
      progression; "zero" takes D = 0 (≥) or D = 1, i.e. 100 % (≤).
    - `lower_rule` "mirror_no_progression": no progression credit for ≤ indicators.
    """
    if missing not in MISSING_START_RULES:
        raise ValueError(f"unknown missing start rule {missing!r}")
    if d is None and missing == "zero":
        d = Fraction(1) if direction == "lower" else Fraction(0)
    if direction == "lower":
        c, i, t = -c, -i, -t
        d = None if d is None else -d
    elif direction != "higher":
        raise ValueError(f"unknown direction {direction!r}")
    if c >= t:
        return Fraction(1), "target_reached"
    if c >= i:
        return s + (1 - s) * (c - i) / (t - i), "above_intermediate"
    if d is None:
        return Fraction(0), "no_start_rate"
    if direction == "lower" and lower_rule == "mirror_no_progression":
        return Fraction(0), "regression"
    if d < c:
        span = (i - d) if normalisation == "intermediate" else (t - d)
        return s * (c - d) / span, "progression"
    return Fraction(0), "regression"


def realisation(
    c: Fraction,
    d: Fraction | None,
    i: Fraction,
    t: Fraction,
    s: Fraction,
    direction: str = "higher",
    normalisation: str = "intermediate",
    missing: str = "no_progression",
    lower_rule: str = "mirror",
) -> Fraction:
    """Taux de réalisation only (see `realisation_branch`)."""
    return realisation_branch(c, d, i, t, s, direction, normalisation, missing, lower_rule)[0]


@dataclass(frozen=True)
class IndicatorScore:
    """The exact score of one indicator for one doctor."""

    rate: Fraction | None
    neutralised: bool
    realisation: Fraction
    points: Fraction
    euros: Fraction
    branch: str = "neutralised"


def observed_rate(
    numerator: int, denominator: int, declared_rate: Fraction | None = None
) -> Fraction | None:
    """C: the declared rate when one is given (declarative indicators), else n ÷ d."""
    if declared_rate is not None:
        return declared_rate
    if denominator == 0:
        return None
    return Fraction(numerator, denominator)


def weighting(patientele: int, reference: int, cap: Fraction | None = None) -> Fraction:
    """Patientèle weighting coefficient: patientèle ÷ reference patientèle (no cap by default)."""
    w = Fraction(patientele, reference)
    return min(w, cap) if cap is not None else w


def score_indicator(
    *,
    numerator: int,
    denominator: int,
    start_rate: Fraction | None,
    declared_rate: Fraction | None,
    intermediate: Fraction,
    target: Fraction,
    direction: str,
    threshold: int,
    points_max: int,
    patientele: int,
    reference_patientele: int,
    rules: RuleParams,
    payable: bool = True,
) -> IndicatorScore:
    """Score one indicator: neutralisation, realisation, weighted points, euros (exact).

    A non-payable indicator (`payable` False: a provisional definition, see
    `RuleParams.non_payable`) keeps its rate and neutralisation but earns 0 points,
    branch "not_payable"."""
    rate = observed_rate(numerator, denominator, declared_rate)
    neutral = denominator < threshold or rate is None
    if not payable:
        return IndicatorScore(rate, neutral, Fraction(0), Fraction(0), Fraction(0), "not_payable")
    if neutral:
        return IndicatorScore(rate, True, Fraction(0), Fraction(0), Fraction(0), "neutralised")
    r, branch = realisation_branch(
        rate,
        start_rate,
        intermediate,
        target,
        rules.intermediate_share,
        direction,
        rules.normalisation,
        rules.missing_start,
        rules.lower_rule,
    )
    pts = r * points_max * weighting(patientele, reference_patientele, rules.patientele_cap)
    return IndicatorScore(rate, False, r, pts, pts * rules.point_value, branch)


def round_euros(amount: Fraction) -> Decimal:
    """Round an exact amount to the cent, half-up (parameter `rounding.euros`)."""
    return round_exact(amount, CENT, ROUND_HALF_UP)


def to_fraction(value: str | Decimal | float | None) -> Fraction | None:
    """Exact conversion of a rate read from a file (via its decimal text)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        return Fraction(Decimal(repr(value)))
    text = str(value).strip()
    if text == "" or text.lower() == "nan":
        return None
    return Fraction(Decimal(text))
