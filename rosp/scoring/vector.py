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
) -> np.ndarray:
    """Taux de réalisation for arrays of rates; `d` is NaN when unknown."""
    sign = np.where(lower, -1.0, 1.0)
    c2, d2, i2, t2 = c * sign, d * sign, i * sign, t * sign
    with np.errstate(divide="ignore", invalid="ignore"):
        between = s + (1.0 - s) * (c2 - i2) / (t2 - i2)
        span = (i2 - d2) if normalisation == "intermediate" else (t2 - d2)
        progressed = ~np.isnan(d2) & (d2 < c2)
        below = np.where(progressed, s * (c2 - d2) / span, 0.0)
    return np.where(c2 >= t2, 1.0, np.where(c2 >= i2, between, below))


BRANCH_CODES = np.array(
    ["target_reached", "above_intermediate", "progression", "regression", "no_start_rate", "neutralised"],
    dtype=object,
)


def branch_vec(
    c: np.ndarray, d: np.ndarray, i: np.ndarray, t: np.ndarray, lower: np.ndarray, neutralised: np.ndarray
) -> np.ndarray:
    """The branch of the rule for each row (same decisions as `rules.realisation_branch`)."""
    sign = np.where(lower, -1.0, 1.0)
    c2, d2, i2, t2 = c * sign, d * sign, i * sign, t * sign
    with np.errstate(invalid="ignore"):
        code = np.select(
            [neutralised, c2 >= t2, c2 >= i2, np.isnan(d2), d2 < c2],
            [5, 0, 1, 4, 2],
            default=3,
        )
    return BRANCH_CODES[code]


def near(a: np.ndarray, b: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """Where float comparison against an objective could flip (NaN-safe)."""
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) < eps
