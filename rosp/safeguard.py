"""Safeguard clause of article 27.4 of the 2016 convention, as amended by avenant 6.

« Une clause de sauvegarde est mise en œuvre les deux premières années de la
convention : au vu des bilans … versée au titre de 2017 et de 2018 …, si le montant
global de la rémunération versée au titre des indicateurs de la qualité de la pratique
médicale est inférieur de plus de 10 % au montant versé respectivement au titre de
l'année 2016 et de l'année 2017, le différentiel entre le montant global de 2016 et
celui de 2017 et 2018 donne lieu à un versement complémentaire aux médecins sous forme
de majoration de la rémunération … de 2017 et 2018. » (seed 004; method.md §4)

Parameters: ``safeguard.years``, ``safeguard.drop_threshold``, ``safeguard.comparison``,
``safeguard.restore_to``, ``safeguard.distribution``, ``safeguard.perimeter``,
``safeguard.year_basis``, ``safeguard.previous_total_basis``,
``safeguard.programme_first_year``, ``safeguard.new_programmes``,
``safeguard.max_coefficient``, ``rounding.euros``.

Perimeter (docs/method.md §7): the totals are global amounts over the compared
programmes (perimeter minus those with no N−1 amount). ``current_total`` is the
amount of N before majoration; it defaults to the payments' sum only when the file
covers every compared programme, otherwise it is required. Refused with the reason:
a programme outside the perimeter, a current total below (or, for a complete file,
different from) the file's sum, a 2017 previous total different from the 2016
baseline, a coefficient above ``safeguard.max_coefficient`` without the explicit
override. ``previous_total`` is the amount *paid* for N−1 including its majoration.
The outcome (``summary["outcome"]``) is ``declenchee`` — and ``triggered`` true —
only when a complement is due.

Rules (the [INF] ones are reconstructions, no source states them in these words):

* The clause applies only to the years of ``safeguard.years``; otherwise nothing
  changes and the summary says ``applies: false``.
* Reference for the trigger (``safeguard.comparison``): ``previous_year`` (N−1 total,
  « respectivement ») or ``baseline_2016``. ``drop = (reference − total_N) / reference``;
  the clause is triggered when ``drop > drop_threshold`` strictly (« de plus de 10 % »):
  exactly −10 % does not trigger. The comparison is exact (no rounding of the drop).
* Target (``safeguard.restore_to``): ``baseline_2016`` (the letter: « le différentiel
  entre le montant global de 2016 et celui de 2017 et 2018 ») or ``previous_year``.
* [INF] The complement is never negative: if the target is not above current_total, k = 1
  (method.md §4: k = max(1, Ref / Raw_N)). If current_total is zero, no proportional
  majoration is possible: k is undefined, nothing is paid and the summary says so.
* Distribution (``safeguard.distribution`` = ``proportional``): every compared doctor's
  ROSP is multiplied by ``k = target / current_total``. k is kept as an exact ratio of the two
  Decimal totals (no truncation); each amount is ``round(euros × k)`` at the
  quantum and mode of ``rounding.euros`` (0.01, half-up), computed exactly. The
  reported coefficient is that ratio written with 28 significant digits.
* Reconciliation (file covering the compared perimeter; otherwise against the file's
  exact share k × Σ compared + Σ not compared): ``rounding_residual = Σ euros_after_safeguard − target_total``,
  ``complement_total = Σ complement = Σ euros_after_safeguard − total_before``, so
  ``target_total = total_before + complement_total − rounding_residual`` to the cent.
  |rounding_residual| ≤ n × quantum / 2 for n payment rows.
"""

from __future__ import annotations

import decimal
import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from rosp.catalogue.parameters import ParameterError, Parameters, load_parameters
from rosp.errors import RospError
from rosp.scoring.rounding import MODES as _MODES
from rosp.scoring.rounding import round_exact
from rosp.textcsv import read_text_csv

PAYMENT_COLUMNS = ("doctor_id", "programme", "patientele", "points", "euros")
ADDED_COLUMNS = ("safeguard_coefficient", "complement", "euros_after_safeguard")
COEFFICIENT_DIGITS = 28
RESTORE_CHOICES = ("baseline_2016", "previous_year")


class SafeguardInputError(RospError):
    """Bad payments file or reference totals."""


@dataclass
class SafeguardResult:
    payments: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- rounding


def parse_rounding(value: str) -> tuple[Decimal, str]:
    """'programme_total:0.01:ROUND_HALF_UP' -> (Decimal('0.01'), 'ROUND_HALF_UP')."""
    parts = value.split(":")
    if len(parts) != 3:
        raise ParameterError(f"rounding.euros: expected scope:quantum:MODE, got {value!r}")
    _, quantum, mode = parts
    if mode not in _MODES:
        raise ParameterError(f"rounding.euros: unsupported rounding mode {mode!r}")
    return Decimal(quantum), mode


def _ratio_to_decimal(value: Fraction, digits: int = COEFFICIENT_DIGITS) -> Decimal:
    with decimal.localcontext() as ctx:
        ctx.prec = digits
        ctx.rounding = decimal.ROUND_HALF_EVEN
        return Decimal(value.numerator) / Decimal(value.denominator)


def _money(value: Decimal, quantum: Decimal | None) -> str:
    """Fixed-point string at `quantum` (exact text when no rounding rule applies)."""
    return str(value.quantize(quantum) if quantum is not None else value)


# --------------------------------------------------------------------------- inputs


def _to_decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        try:
            result = Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise SafeguardInputError(f"{what}: invalid amount {value!r}") from None
    if not result.is_finite():
        raise SafeguardInputError(f"{what}: invalid amount {value!r}")
    return result


def _euros_column(payments: pd.DataFrame, source: str) -> list[Decimal]:
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise SafeguardInputError(f"{source}: missing column(s) {', '.join(missing)}")
    return [
        _to_decimal(v, f"{source}: row {i}, column euros")
        for i, v in enumerate(payments["euros"].tolist(), start=1)
    ]


# --------------------------------------------------------------------------- clause


OUTCOMES_FR: dict[str, str] = {
    "non_applicable": "clause non applicable à cette année",
    "non_declenchee": "clause non déclenchée (baisse de 10 % au plus)",
    "condition_remplie_sans_complement": (
        "baisse de plus de 10 %, mais aucun complément n'est dû (le montant cible ne dépasse pas le montant de l'année)"
    ),
    "majoration_impossible": "baisse de plus de 10 %, mais aucune ROSP versée : majoration proportionnelle impossible",
    "declenchee": "clause déclenchée : majoration versée",
}


def _mapping_years(text: str) -> dict[str, int]:
    return {k.strip(): int(v) for k, v in (item.split(":", 1) for item in text.split(",") if item.strip())}


def compared_programmes(params: Parameters, year: int) -> list[str]:
    """The programmes the clause compares for `year`: the perimeter (``safeguard.perimeter``)
    less those with no amount for N−1 when ``safeguard.new_programmes`` = exclude."""
    perimeter = params.get("safeguard.perimeter", year).as_list()
    first_year = _mapping_years(params.get("safeguard.programme_first_year", year).text)
    include = params.get("safeguard.new_programmes", year).text == "include"
    return [p for p in perimeter if include or first_year.get(p, year) <= year - 1]


def apply_safeguard(
    payments: pd.DataFrame,
    year: int,
    previous_total: Decimal,
    baseline_total: Decimal,
    params: Parameters | None = None,
    *,
    current_total: Decimal | None = None,
    allow_large_coefficient: bool = False,
    source: str = "<payments>",
) -> SafeguardResult:
    """Apply the article 27.4 safeguard clause to the ROSP payments of `year`.

    All three totals are global amounts « au titre des indicateurs de la qualité de la
    pratique médicale » over the compared programmes (``safeguard.perimeter`` minus the
    programmes with no amount for N−1, ``safeguard.new_programmes``):
    `current_total` for N before any majoration (defaults to the payments' sum only when
    the file covers every compared programme), `previous_total` = the amount *paid* for
    N−1 including its own majoration (``safeguard.previous_total_basis``), `baseline_total`
    for 2016. Inconsistent totals are refused (SafeguardInputError) with the reason.
    """
    params = params or load_parameters()
    previous_total = _to_decimal(previous_total, "previous_total")
    baseline_total = _to_decimal(baseline_total, "baseline_total")
    if current_total is not None:
        current_total = _to_decimal(current_total, "current_total")
    for name, amount in (
        ("previous_total", previous_total),
        ("baseline_total", baseline_total),
        ("current_total", current_total),
    ):
        if amount is not None and amount < 0:
            raise SafeguardInputError(f"{name}: must not be negative (got {amount})")
    euros = _euros_column(payments, source)
    programmes = [str(p) for p in payments["programme"].tolist()]

    sources: dict[str, str] = {}
    total_before = sum(euros, Decimal(0))

    def get(name: str):
        p = params.get(name, year)
        sources[name] = p.source
        return p

    try:
        years = [int(y) for y in get("safeguard.years").as_list()]
    except ParameterError:
        years = []
    applies = year in years
    quantum: Decimal | None = None  # display quantum (None: no rounding rule for the year)
    mode = decimal.ROUND_HALF_UP
    try:
        quantum, mode = parse_rounding(get("rounding.euros").text)
    except ParameterError:
        if applies:
            raise

    summary: dict[str, Any] = {
        "year": year,
        "applies": applies,
        "triggered": False,
        "condition_met": False,
        "outcome": "non_applicable",
        "outcome_label": OUTCOMES_FR["non_applicable"],
        "total_before": _money(total_before, quantum),
        "current_total": None,
        "previous_total": _money(previous_total, quantum),
        "baseline_total": _money(baseline_total, quantum),
        "perimeter": None,
        "compared_programmes": None,
        "not_compared_programmes": None,
        "comparison": None,
        "drop": None,
        "threshold": None,
        "restore_to": None,
        "target_total": None,
        "coefficient": "1",
        "coefficient_bound": None,
        "coefficient_override": allow_large_coefficient,
        "complement_total": _money(Decimal(0), quantum),
        "rounding_residual": None,
        "note": None,
        "sources": sources,
    }

    ratio: Fraction | None = Fraction(1)
    compared_rows = [True] * len(euros)
    target_share = Fraction(total_before)
    if not applies:
        summary["note"] = (
            f"La clause de sauvegarde ne s'applique qu'aux années "
            f"{', '.join(map(str, years)) or '(aucune)'} ; pas de majoration pour {year}."
        )
    else:
        comparison = get("safeguard.comparison").text
        restore_to = get("safeguard.restore_to").text
        threshold = get("safeguard.drop_threshold").decimal
        distribution = get("safeguard.distribution").text
        if distribution != "proportional":
            raise ParameterError(f"safeguard.distribution {distribution!r} is not supported")
        for name, choice in (
            ("safeguard.comparison", comparison),
            ("safeguard.restore_to", restore_to),
        ):
            if choice not in RESTORE_CHOICES:
                raise ParameterError(f"{name}: expected one of {RESTORE_CHOICES}, got {choice!r}")
        perimeter = get("safeguard.perimeter").as_list()
        get("safeguard.programme_first_year")  # its source goes into the summary
        new_programmes = get("safeguard.new_programmes").text
        if new_programmes not in ("exclude", "include"):
            raise ParameterError(f"safeguard.new_programmes: expected 'exclude' or 'include', got {new_programmes!r}")
        bound = get("safeguard.max_coefficient").decimal
        get("safeguard.previous_total_basis")
        get("safeguard.year_basis")
        compared = compared_programmes(params, year)
        outside = sorted(set(programmes) - set(perimeter))
        if outside:
            raise SafeguardInputError(
                f"{source}: programme(s) {', '.join(outside)} outside the safeguard perimeter "
                f"({', '.join(perimeter)}; parameter safeguard.perimeter)"
            )
        if year == min(years) and previous_total != baseline_total:
            raise SafeguardInputError(
                f"previous_total ({previous_total}) and baseline_total ({baseline_total}) must be equal for "
                f"{year}: the year before is 2016, the baseline itself"
            )
        compared_rows = [p in compared for p in programmes]
        file_sum = sum((e for e, c in zip(euros, compared_rows, strict=True) if c), Decimal(0))
        covered = set(compared) <= set(programmes)
        if current_total is None:
            if not covered:
                missing = sorted(set(compared) - set(programmes))
                raise SafeguardInputError(
                    f"{source}: the payments cover {', '.join(sorted(set(programmes) & set(compared))) or 'no compared programme'}, "
                    f"but the clause compares the global amount of {', '.join(compared)} "
                    f"(missing: {', '.join(missing)}); give current_total, the global amount of {year} on that perimeter"
                )
            current_total = file_sum
        elif covered and current_total != file_sum:
            raise SafeguardInputError(
                f"current_total ({current_total}) differs from the payments' sum on the compared programmes ({file_sum}), "
                "which the file covers entirely"
            )
        elif current_total < file_sum:
            raise SafeguardInputError(
                f"current_total ({current_total}) is below the payments' sum on the compared programmes ({file_sum}): "
                "the file must be part of the global amount"
            )
        not_compared = sorted({p for p, c in zip(programmes, compared_rows, strict=True) if not c})
        summary.update(
            comparison=comparison,
            restore_to=restore_to,
            threshold=str(threshold),
            perimeter=",".join(perimeter),
            compared_programmes=",".join(compared),
            not_compared_programmes=",".join(not_compared),
            current_total=_money(current_total, quantum),
            coefficient_bound=str(bound),
        )
        totals = {"baseline_2016": baseline_total, "previous_year": previous_total}
        reference = totals[comparison]
        outcome = "non_declenchee"
        if reference > 0:
            drop = (Fraction(reference) - Fraction(current_total)) / Fraction(reference)
            summary["drop"] = str(_ratio_to_decimal(drop))
            # « inférieur de plus de 10 % » : strictly more, compared exactly.
            condition = drop > Fraction(threshold)
        else:
            condition = False
            summary["note"] = "Montant de référence nul : la baisse n'est pas définie."
        summary["condition_met"] = condition
        target = current_total
        if condition:
            target = totals[restore_to]
            if current_total == 0:
                ratio = None
                target = current_total
                outcome = "majoration_impossible"
                summary["note"] = (
                    "Aucune ROSP versée pour l'année : la majoration proportionnelle "
                    "est impossible, aucun complément n'est versé."
                )
            elif target <= current_total:
                outcome = "condition_remplie_sans_complement"
                summary["note"] = (
                    "Le montant cible ne dépasse pas le montant de l'année : pas de complément (k = 1)."
                )
                target = current_total
            else:
                ratio = Fraction(target) / Fraction(current_total)
                outcome = "declenchee"
                if ratio > Fraction(bound) and not allow_large_coefficient:
                    raise SafeguardInputError(
                        f"coefficient {_ratio_to_decimal(ratio)} above the bound {bound} "
                        f"(parameter safeguard.max_coefficient): check that the totals are global amounts "
                        f"on the same perimeter as current_total, or allow it explicitly "
                        f"(--allow-large-coefficient)"
                    )
        summary.update(outcome=outcome, outcome_label=OUTCOMES_FR[outcome], triggered=outcome == "declenchee")
        summary["target_total"] = _money(target, quantum)
        target_share = Fraction(file_sum) * (ratio if ratio is not None else 1) + Fraction(total_before - file_sum)

    if not applies or quantum is None:  # the clause does not apply: payments untouched
        after = list(euros)
        coefficient = "1"
    elif ratio is None or ratio == 1:
        after = [round_exact(Fraction(e), quantum, mode) for e in euros]
        coefficient = "1" if ratio is not None else "undefined"
    else:
        after = [
            round_exact(Fraction(e) * ratio, quantum, mode) if c else round_exact(Fraction(e), quantum, mode)
            for e, c in zip(euros, compared_rows, strict=True)
        ]
        coefficient = str(_ratio_to_decimal(ratio))
    complements = [a - e for a, e in zip(after, euros, strict=True)]
    total_after = sum(after, Decimal(0))
    expected_after = _ratio_to_decimal(target_share) if applies else total_before
    summary.update(
        coefficient=coefficient,
        complement_total=_money(sum(complements, Decimal(0)), quantum),
        rounding_residual=_money(total_after - expected_after, quantum),
        total_after=_money(total_after, quantum),
    )
    if not applies:
        summary["target_total"] = _money(total_before, quantum)
    if ratio is not None and ratio != 1:
        summary["coefficient_ratio"] = f"{summary['target_total']} / {summary['current_total']}"

    out = payments.copy()
    out["euros"] = euros
    out["safeguard_coefficient"] = [coefficient if c else "1" for c in compared_rows]
    out["complement"] = complements
    out["euros_after_safeguard"] = after
    return SafeguardResult(payments=out, summary=summary)


# --------------------------------------------------------------------------- files


def read_payments_csv(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    frame = read_text_csv(path, SafeguardInputError)
    _euros_column(frame, str(path))
    return frame


def write_payments_csv(payments: pd.DataFrame, path: Path | str, quantum: Decimal | None) -> None:
    frame = payments.copy()
    for column in ("euros", "complement", "euros_after_safeguard"):
        frame[column] = [_money(Decimal(v), quantum) for v in frame[column]]
    frame.to_csv(path, index=False)


def run_safeguard(
    year: int,
    payments_csv: Path,
    previous_total: str,
    baseline_total: str,
    out_dir: Path,
    params: Parameters | None = None,
    *,
    current_total: str | None = None,
    allow_large_coefficient: bool = False,
) -> SafeguardResult:
    """Read payments, apply the clause, write out_dir/payments.csv and out_dir/safeguard.json."""
    params = params or load_parameters()
    payments = read_payments_csv(payments_csv)
    result = apply_safeguard(
        payments,
        year,
        _to_decimal(previous_total, "previous_total"),
        _to_decimal(baseline_total, "baseline_total"),
        params,
        current_total=_to_decimal(current_total, "current_total") if current_total is not None else None,
        allow_large_coefficient=allow_large_coefficient,
        source=str(payments_csv),
    )
    try:
        quantum: Decimal | None = parse_rounding(params.get("rounding.euros", year).text)[0]
    except ParameterError:
        quantum = None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_payments_csv(result.payments, out_dir / "payments.csv", quantum)
    with open(out_dir / "safeguard.json", "w", encoding="utf-8") as fh:
        json.dump(result.summary, fh, sort_keys=True, indent=2, ensure_ascii=False)
        fh.write("\n")
    return result
