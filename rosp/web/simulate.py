"""One doctor's simulation with the exact scalar scorer (`rosp.scoring.rules`).

The output uses the columns and formats of `rosp score` (indicators.csv and
payments.csv), plus the branch label and « ce qu'il faudrait »: the numerator
(or declared rate) that would reach the intermediate objective and the target.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rosp.catalogue import Catalogue, Programme
from rosp.report.statement import fr_euros, fr_number
from rosp.scoring.rules import BRANCHES, CENT, RuleParams, round_euros, score_indicator, to_fraction


@dataclass(frozen=True)
class Entry:
    indicator_id: str
    numerator: int
    denominator: int
    start_rate: float | str | None = None
    declared_rate: float | str | None = None


def _decimal_text(x: Fraction) -> str:
    """A parameter (a decimal in the parameters file) as decimal text: 3/10 -> '0.3' (was '3/10')."""
    return str(Decimal(x.numerator) / Decimal(x.denominator))


def _f6(x: Fraction | None) -> str:
    return "" if x is None else f"{float(x):.6f}"


_RULES: dict[tuple[int, int], tuple[object, RuleParams]] = {}
_OBJECTIVES: dict[tuple[str, str, str], tuple[Fraction, Fraction]] = {}


def rules_for(catalogue: Catalogue, year: int) -> RuleParams:
    """The rules in force, computed once per catalogue object and year (the request path)."""
    key = (id(catalogue.params), year)
    hit = _RULES.get(key)
    if hit is None or hit[0] is not catalogue.params:
        hit = (catalogue.params, RuleParams.from_parameters(catalogue.params, year))
        _RULES[key] = hit
        if len(_RULES) > 64:
            _RULES.pop(next(iter(_RULES)))
    return hit[1]


def _objectives(ind) -> tuple[Fraction, Fraction]:
    key = (ind.id, str(ind.intermediate), str(ind.target))
    hit = _OBJECTIVES.get(key)
    if hit is None:
        hit = _OBJECTIVES[key] = (Fraction(ind.intermediate), Fraction(ind.target))
    return hit


def _score(ind, prog: Programme, e: Entry, patientele: int, rules: RuleParams, numerator=None, declared=None):
    intermediate, target = _objectives(ind)
    return score_indicator(
        numerator=e.numerator if numerator is None else numerator,
        denominator=e.denominator,
        start_rate=to_fraction(e.start_rate),
        declared_rate=to_fraction(e.declared_rate) if declared is None else declared,
        intermediate=intermediate,
        target=target,
        direction=ind.direction,
        threshold=ind.threshold,
        points_max=ind.points,
        patientele=patientele,
        reference_patientele=prog.reference_patientele,
        rules=rules,
        payable=rules.payable(ind.id),
    )


def _needed(ind, prog, e: Entry, patientele: int, rules: RuleParams, sc) -> dict[str, Any]:
    """« Ce qu'il faudrait » for the intermediate objective and the target."""
    unit = "boîtes" if ind.threshold_unit == "boites" else "patients"
    if sc.branch == "not_payable":
        return {"text": "Indicateur provisoire, non rémunéré : aucun point ne peut être acquis.", "steps": []}
    if sc.neutralised and e.denominator < ind.threshold:
        return {"text": f"Il faudrait au moins {ind.threshold} {unit} au dénominateur "
                        f"(actuellement {e.denominator}) pour que l'indicateur compte.", "steps": []}
    if sc.branch == "target_reached":
        return {"text": "Objectif cible atteint : tous les points de l'indicateur sont acquis.", "steps": []}
    steps = []
    declared = to_fraction(e.declared_rate)
    fi, ft = _objectives(ind)
    for name, label, obj in (("intermediate", "l'objectif intermédiaire", fi),
                             ("target", "l'objectif cible", ft)):
        reached = sc.rate is not None and (sc.rate >= obj if ind.direction == "higher" else sc.rate <= obj)
        if reached:
            continue
        if declared is not None:
            new = _score(ind, prog, e, patientele, rules, declared=obj)
            steps.append({"objective": name, "declared_rate": _f6(obj), "numerator": None, "change": None,
                          "euros": _f6(new.euros)})
            continue
        d = e.denominator
        n = math.ceil(obj * d) if ind.direction == "higher" else math.floor(obj * d)
        new = _score(ind, prog, e, patientele, rules, numerator=n)
        steps.append({"objective": name, "declared_rate": None, "numerator": n, "change": n - e.numerator,
                      "euros": _f6(new.euros)})
        del label
    parts = []
    for s in steps:
        what = "l'objectif intermédiaire" if s["objective"] == "intermediate" else "l'objectif cible"
        if s["numerator"] is None:
            parts.append(f"un taux déclaré de {fr_number(Decimal(s['declared_rate']) * 100, 1)} % pour {what} "
                         f"({fr_euros(Decimal(s['euros']).quantize(CENT))})")
        elif s["change"] >= 0:
            parts.append(f"{s['change']} {unit} de plus au numérateur ({s['numerator']}/{e.denominator}) "
                         f"pour {what} ({fr_euros(Decimal(s['euros']).quantize(CENT))})")
        else:
            parts.append(f"{-s['change']} {unit} de moins au numérateur ({s['numerator']}/{e.denominator}) "
                         f"pour {what} ({fr_euros(Decimal(s['euros']).quantize(CENT))})")
    return {"text": ("Il faudrait " + " ; ".join(parts) + ".") if parts else "", "steps": steps}


def simulate(catalogue: Catalogue, slug: str, year: int, patientele: int, entries: list[Entry],
             doctor_id: str = "simulation") -> dict[str, Any]:
    """Score one doctor × programme exactly; rows and totals as `rosp score` writes them."""
    prog = catalogue.programme(slug)
    rules = rules_for(catalogue, year)
    given = {e.indicator_id: e for e in entries}
    rows = []
    total = Fraction(0)
    points = Fraction(0)
    for ind in prog.indicators:
        e = given.get(ind.id, Entry(ind.id, 0, 0))
        sc = _score(ind, prog, e, patientele, rules)
        if ind.id not in given and ind.measurement == "declaration" and sc.branch != "not_payable":
            # same rule as the batch scorer: a declaration-measured indicator with no row was not declared
            sc = dataclasses.replace(sc, branch="not_declared")
        total += sc.euros
        points += sc.points
        rows.append({
            "doctor_id": doctor_id,
            "programme": slug,
            "indicator_id": ind.id,
            "label": ind.label,
            "numerator": e.numerator,
            "denominator": e.denominator,
            "rate": _f6(sc.rate),
            "start_rate": _f6(to_fraction(e.start_rate)),
            "neutralised": "true" if sc.neutralised else "false",
            "realisation": _f6(sc.realisation),
            "branch": sc.branch,
            "branch_label": BRANCHES[sc.branch],
            "points_max": ind.points,
            "points": _f6(sc.points),
            "euros": _f6(sc.euros),
            "ce_qu_il_faudrait": _needed(ind, prog, e, patientele, rules, sc),
        })
    return {
        "programme": slug,
        "year": year,
        "indicators": rows,
        "payment": {
            "doctor_id": doctor_id,
            "programme": slug,
            "patientele": patientele,
            "points": _f6(points),
            "euros": str(round_euros(total)),
        },
        "point_value": _decimal_text(rules.point_value),
        "intermediate_share": _decimal_text(rules.intermediate_share),
    }
