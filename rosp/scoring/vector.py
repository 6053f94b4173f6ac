"""Vectorised (numpy) scoring rules for the national run.

Same rule as `rosp.scoring.rules.realisation`, in float64 over arrays. The
batch layer (`rosp.scoring.batch`) guarantees agreement with the exact scalar
reference to the cent: any doctor whose total lies within float noise of a
half-cent, or whose rate sits on an objective, is recomputed exactly.
"""

from __future__ import annotations

import numpy as np


def realisation_vec(
    c: np.ndarray,
    d: np.ndarray,
    i: np.ndarray,
    t: np.ndarray,
    s: float,
    lower: np.ndarray,
    normalisation: str = "intermediate",
    missing: str = "no_progression",
    lower_rule: str = "mirror",
) -> np.ndarray:
    """Taux de réalisation for arrays of rates; `d` is NaN when unknown."""
    d = fill_missing_start(d, lower, missing)
    sign = np.where(lower, -1.0, 1.0)
    c2, d2, i2, t2 = c * sign, d * sign, i * sign, t * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        between = s + (1.0 - s) * (c2 - i2) / (t2 - i2)
        span = (i2 - d2) if normalisation == "intermediate" else (t2 - d2)
        progressed = ~np.isnan(d2) & (d2 < c2)
        if lower_rule == "mirror_no_progression":
            progressed &= ~lower
        below = np.where(progressed, s * (c2 - d2) / span, 0.0)
    return np.where(c2 >= t2, 1.0, np.where(c2 >= i2, between, below))


def fill_missing_start(d: np.ndarray, lower: np.ndarray, missing: str) -> np.ndarray:
    """Starting rates after `scoring.missing_start_rate`: "zero" puts D = 0 (≥) or 1 (≤)
    where D is unknown; the other readings leave it unknown (no progression)."""
    if missing == "zero":
        return np.where(np.isnan(d), np.where(lower, 1.0, 0.0), d)
    if missing not in ("no_progression", "first_measured_level"):
        raise ValueError(f"unknown missing start rule {missing!r}")
    return d


BRANCH_CODES = np.array(
    ["target_reached", "above_intermediate", "progression", "regression", "no_start_rate", "neutralised"],
    dtype=object,
)


def branch_vec(
    c: np.ndarray,
    d: np.ndarray,
    i: np.ndarray,
    t: np.ndarray,
    lower: np.ndarray,
    neutralised: np.ndarray,
    missing: str = "no_progression",
    lower_rule: str = "mirror",
) -> np.ndarray:
    """The branch of the rule for each row (same decisions as `rules.realisation_branch`)."""
    d = fill_missing_start(d, lower, missing)
    sign = np.where(lower, -1.0, 1.0)
    c2, d2, i2, t2 = c * sign, d * sign, i * sign, t * sign
    no_credit = lower if lower_rule == "mirror_no_progression" else np.zeros_like(lower, dtype=bool)
    with np.errstate(invalid="ignore"):
        code = np.select(
            [neutralised, c2 >= t2, c2 >= i2, np.isnan(d2), no_credit, d2 < c2],
            [5, 0, 1, 4, 3, 2],
            default=3,
        )
    return BRANCH_CODES[code]


def near(a: np.ndarray, b: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Where float comparison against an objective could flip (NaN-safe)."""
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) < eps


def cents_and_risky(
    tot_euros: np.ndarray,
    rate: np.ndarray,
    intermediate: np.ndarray,
    neutralised: np.ndarray,
    boundaries: np.ndarray,
    normalisation: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Float group totals rounded half up to cents, and the groups to recompute exactly.

    A group is risky where float noise could change a cent (a total within 1e-6 of a
    half cent) or a branch. Rates and objectives are correctly rounded doubles of exact
    decimals, so an exact tie stays a tie; with the (I − D) normalisation the rule is
    continuous, so a near-tie cannot move a cent. Only the (T − D) option has a jump at I:
    groups with a row there are recomputed exactly.
    """
    frac = tot_euros * 100 - np.floor(tot_euros * 100)
    risky_total = np.abs(frac - 0.5) < 1e-6
    if normalisation == "target" and len(rate):
        row_risk = near(rate, intermediate, 1e-9) & ~neutralised
        risky_rows = np.add.reduceat(row_risk.astype(np.int64), boundaries) > 0
    else:
        risky_rows = np.zeros(len(boundaries), dtype=bool)
    return np.floor(tot_euros * 100 + 0.5), np.flatnonzero(risky_total | risky_rows)
