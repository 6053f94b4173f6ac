"""« Ce qu'il faudrait » : how many patients it takes to reach each objective.

For a computed indicator (rate = numerator ÷ denominator) the denominator is the
doctor's patients concerned; moving k of them into the numerator (out of it, for
lower-is-better indicators) changes only the numerator. The smallest such k that
makes the exact scorer (`rosp.scoring.rules.score_indicator`) report the
intermediate objective reached (branch `above_intermediate` or `target_reached`),
then the target reached (`target_reached`), is what the statement prints, with the
euros each step adds. A closed form gives the candidate; the scorer decides, so
adding k patients reaches the objective and k − 1 do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from rosp.scoring.rules import IndicatorScore, RuleParams, score_indicator

REACHED = {
    "intermediate": ("above_intermediate", "target_reached"),
    "target": ("target_reached",),
}


@dataclass(frozen=True)
class Step:
    """Reaching one objective: `patients` more (or fewer) in the numerator, `euros` added (exact)."""

    objective: str  # "intermediate" | "target"
    patients: int  # 0: already reached
    euros: Fraction  # euros added to the indicator's current amount
    numerator: int  # the numerator after the step
    reachable: bool = True  # False: no numerator within [0, denominator] reaches it


@dataclass(frozen=True)
class IndicatorInputs:
    """What the exact scorer needs for one indicator of one doctor."""

    numerator: int
    denominator: int
    start_rate: Fraction | None
    intermediate: Fraction
    target: Fraction
    direction: str
    threshold: int
    points_max: int
    patientele: int
    reference_patientele: int

    def score(self, rules: RuleParams, numerator: int | None = None) -> IndicatorScore:
        return score_indicator(
            numerator=self.numerator if numerator is None else numerator,
            denominator=self.denominator,
            start_rate=self.start_rate,
            declared_rate=None,
            intermediate=self.intermediate,
            target=self.target,
            direction=self.direction,
            threshold=self.threshold,
            points_max=self.points_max,
            patientele=self.patientele,
            reference_patientele=self.reference_patientele,
            rules=rules,
        )


def _reached(x: IndicatorInputs, rules: RuleParams, numerator: int, objective: str) -> bool:
    return x.score(rules, numerator).branch in REACHED[objective]


def patients_needed(x: IndicatorInputs, rules: RuleParams, objective: str) -> int | None:
    """Smallest k ≥ 0 such that the numerator moved by k (up for higher-, down for lower-is-better)
    reaches `objective` according to the exact scorer; None if out of reach or neutralised."""
    if x.denominator < x.threshold or x.denominator == 0:
        return None
    sign = 1 if x.direction == "higher" else -1
    limit = x.denominator - x.numerator if sign > 0 else x.numerator
    goal = x.intermediate if objective == "intermediate" else x.target
    # Closed form: n' / d >= goal (higher) or n' / d <= goal (lower).
    if sign > 0:
        k = math.ceil(goal * x.denominator) - x.numerator
    else:
        k = x.numerator - math.floor(goal * x.denominator)
    k = min(max(k, 0), limit)
    # The scorer decides: walk to the exact frontier.
    while k <= limit and not _reached(x, rules, x.numerator + sign * k, objective):
        k += 1
    if k > limit:
        return None
    while k > 0 and _reached(x, rules, x.numerator + sign * (k - 1), objective):
        k -= 1
    return k


def what_it_would_take(x: IndicatorInputs, rules: RuleParams) -> list[Step]:
    """The steps to the intermediate objective and to the target (empty when neutralised)."""
    if x.denominator < x.threshold or x.denominator == 0:
        return []
    sign = 1 if x.direction == "higher" else -1
    now = x.score(rules).euros
    steps = []
    for objective in ("intermediate", "target"):
        k = patients_needed(x, rules, objective)
        if k is None:
            steps.append(Step(objective, 0, Fraction(0), x.numerator, reachable=False))
            continue
        n2 = x.numerator + sign * k
        steps.append(Step(objective, k, x.score(rules, n2).euros - now, n2))
    return steps
