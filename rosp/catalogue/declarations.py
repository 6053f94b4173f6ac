"""Declarations (ROSP_DECL, `declared_rate`): which are accepted, and what they supply.

Pure rules, no file I/O. The catalogue says how each indicator is measured
(`Indicator.measurement`: the seed's « Déclaratif » flag, or the dated parameter
``measurement.<ID>``). A declaration is accepted only for an indicator measured
from declarations; anywhere else it is a rejected row with its reason.

For an accepted declaration, the denominator is the population that claims can
compute (parameter ``declaration.population.<ID>``) where one exists; the
declaration supplies the numerator (or, failing that, the rate). A declared
denominator or numerator larger than that population is rejected. Where no
population is computable (``none``), the declared denominator is used.

What the doctor declares for END-05 is the parameter ``declaration.quantity.END-05``;
`declaration_instruction` gives the French sentence a statement prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import pandas as pd

from rosp.catalogue.model import Catalogue
from rosp.catalogue.parameters import ParameterError

REJECT_COLUMNS = ["file", "row", "column", "reason", "doctor_id", "key"]
ACCEPTED_COLUMNS = ["doctor_id", "indicator_id", "numerator", "denominator", "declared_rate"]

#: French sentences telling the doctor which quantity to declare (by parameter value).
QUANTITY_SENTENCES: dict[str, dict[str, str]] = {
    "END-05": {
        "with_scintigraphy": (
            "END-05 : le médecin déclare la part de ses patients diagnostiqués pour une maladie "
            "de Basedow AVEC recours à la scintigraphie thyroïdienne (plus la part est basse, "
            "mieux c'est : objectif intermédiaire 20 %, objectif cible ≤ 5 %)."
        ),
        "without_scintigraphy": (
            "END-05 : le médecin déclare la part de ses patients diagnostiqués pour une maladie "
            "de Basedow SANS recourir à la scintigraphie thyroïdienne (lettre du libellé)."
        ),
    }
}


@dataclass(frozen=True)
class Population:
    """How the denominator of a declaration-measured indicator is computed from claims."""

    kind: str  # "none", "patientele", "claims_denominator", "mt_age_months"
    min_months: int | None = None
    max_months: int | None = None

    @classmethod
    def parse(cls, text: str) -> Population:
        text = text.strip()
        if text in ("none", "patientele", "claims_denominator"):
            return cls(text)
        parts = text.split(":")
        if len(parts) == 3 and parts[0] == "mt_age_months":
            return cls("mt_age_months", int(parts[1]), int(parts[2]))
        raise ParameterError(f"declaration.population: unknown population {text!r}")


def declaration_ids(catalogue: Catalogue) -> set[str]:
    """Ids of the indicators measured from declarations for the catalogue's year."""
    return {i.id for i in catalogue.indicators.values() if i.measurement == "declaration"}


def population_of(catalogue: Catalogue, indicator_id: str) -> Population:
    """The population rule of a declaration-measured indicator ('none' when not set)."""
    name = f"declaration.population.{indicator_id}"
    if name not in catalogue.params.names:
        return Population("none")
    try:
        return Population.parse(catalogue.params.get(name, catalogue.year).text)
    except ParameterError as exc:
        if "no value in force" in str(exc):
            return Population("none")
        raise


def declaration_instruction(catalogue: Catalogue, indicator_id: str) -> str | None:
    """French sentence saying which quantity the doctor declares, when a parameter decides it."""
    name = f"declaration.quantity.{indicator_id}"
    if name not in catalogue.params.names:
        return None
    value = catalogue.params.get(name, catalogue.year).text
    try:
        return QUANTITY_SENTENCES[indicator_id][value]
    except KeyError:
        raise ParameterError(f"{name}: no sentence for value {value!r}") from None


def rate_source(catalogue: Catalogue) -> dict[str, str]:
    """indicator id -> 'declaration' or 'claims' (the `rate_source` of scored indicators)."""
    return {i.id: i.measurement for i in catalogue.indicators.values()}


def _int(value: object) -> int | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() in ("", "nan", "<NA>"):
        return None
    try:
        f = Fraction(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an integer: {value!r}") from None
    if f.denominator != 1:
        raise ValueError(f"not an integer: {value!r}")
    return int(f)


def _rate(value: object) -> Fraction | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() in ("", "nan", "<NA>"):
        return None
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        return Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {value!r}") from None


def rate_consistent(rate: Fraction, numerator: int, denominator: int) -> bool:
    """A declared rate agrees with n ÷ d when it is within half a patient of it."""
    return abs(rate * denominator - numerator) <= Fraction(1, 2)


def screen_declarations(
    decl: pd.DataFrame,
    catalogue: Catalogue,
    populations: pd.DataFrame | None = None,
    *,
    file: str = "ROSP_DECL",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted declarations (ACCEPTED_COLUMNS) and rejected rows (REJECT_COLUMNS).

    `decl` has doctor_id, indicator_id, numerator, denominator, declared_rate (any may
    be empty). `populations` has doctor_id, indicator_id, population for the indicators
    whose population is computable; a doctor absent from it has a population of 0.
    An accepted row's `declared_rate` is "" when the numerator is known (the rate is
    then numerator ÷ denominator, exact), else the declared rate as decimal text.
    """
    measured = declaration_ids(catalogue)
    known = set(catalogue.indicators)
    rules = {i: population_of(catalogue, i) for i in measured}
    precedence = _precedence(catalogue)
    pop: dict[tuple[str, str], int] = {}
    if populations is not None and len(populations):
        for d, i, p in populations[["doctor_id", "indicator_id", "population"]].itertuples(index=False):
            pop[(str(d), str(i))] = int(p)
    accepted, rejects = [], []
    seen: dict[tuple[str, str], int] = {}
    cols = {c: (decl[c].tolist() if c in decl.columns else [None] * len(decl)) for c in ACCEPTED_COLUMNS}
    for k in range(len(decl)):
        row = k + 1
        doctor, ind = str(cols["doctor_id"][k]).strip(), str(cols["indicator_id"][k]).strip()

        def reject(column: str, reason: str, doctor=doctor, ind=ind, row=row) -> None:
            rejects.append(
                {"file": file, "row": row, "column": column, "reason": reason,
                 "doctor_id": doctor, "key": f"{doctor}|{ind}"}
            )

        if ind not in known:
            reject("indicator_id", f"unknown indicator for year {catalogue.year}")
            continue
        if ind not in measured:
            reject(
                "indicator_id",
                f"{ind} is computed from claims, not declarative: a declaration is not accepted",
            )
            continue
        if (doctor, ind) in seen:
            reject("indicator_id", f"duplicate declaration (same doctor_id and indicator_id as row {seen[(doctor, ind)]})")
            continue
        seen[(doctor, ind)] = row
        try:
            num = _int(cols["numerator"][k])
        except ValueError as exc:
            reject("numerator", str(exc))
            continue
        try:
            den = _int(cols["denominator"][k])
        except ValueError as exc:
            reject("denominator", str(exc))
            continue
        try:
            rate = _rate(cols["declared_rate"][k])
        except ValueError as exc:
            reject("declared_rate", str(exc))
            continue
        if rate is not None and not (0 <= rate <= 1):
            reject("declared_rate", "rate outside [0, 1]")
            continue
        if (num is not None and num < 0) or (den is not None and den < 0):
            reject("numerator" if num is not None and num < 0 else "denominator", "negative count")
            continue
        if num is not None and den is not None and num > den:
            reject("numerator", "numerator above denominator")
            continue
        if rate is not None and num is not None and den and not rate_consistent(rate, num, den):
            reject("declared_rate", f"declared rate {cols['declared_rate'][k]} inconsistent with {num}/{den}")
            continue
        rule = rules[ind]
        if rule.kind == "none":
            if den is None:
                reject("denominator", "missing denominator (no population computable from claims for this indicator)")
                continue
            population = den
        else:
            population = pop.get((doctor, ind), 0)
            if den is not None and den > population:
                reject(
                    "denominator",
                    f"declared denominator {den} above the population computed from claims ({population})",
                )
                continue
            if num is not None and num > population:
                reject("numerator", f"declared numerator {num} above the population computed from claims ({population})")
                continue
        if num is None and rate is None:
            reject("declared_rate", "neither a numerator nor a rate is declared")
            continue
        if precedence == "rate" and rate is not None:
            num = None
        accepted.append(
            {
                "doctor_id": doctor,
                "indicator_id": ind,
                "numerator": num if num is not None else 0,
                "denominator": population,
                "declared_rate": "" if num is not None else _rate_text(rate),
            }
        )
    acc = pd.DataFrame(accepted, columns=ACCEPTED_COLUMNS)
    acc["numerator"] = acc["numerator"].astype("int64")
    acc["denominator"] = acc["denominator"].astype("int64")
    return acc, pd.DataFrame(rejects, columns=REJECT_COLUMNS)


def _precedence(catalogue: Catalogue) -> str:
    try:
        value = catalogue.params.get("declaration.precedence", catalogue.year).text
    except ParameterError:
        return "numerator"
    if value not in ("numerator", "rate"):
        raise ParameterError(f"declaration.precedence: expected 'numerator' or 'rate', got {value!r}")
    return value


def _rate_text(rate: Fraction | None) -> str:
    if rate is None:
        return ""
    d = Decimal(rate.numerator) / Decimal(rate.denominator)
    return format(d.normalize(), "f") if d != 0 else "0"
