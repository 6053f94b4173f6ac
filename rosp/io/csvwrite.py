"""Writing output CSVs with fixed formatting (byte-identical for identical inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DECIMALS = 6  # display precision of rates, realisations, points and indicator euros


def _fmt(values: pd.Series, decimals: int = DECIMALS) -> pd.Series:
    arr = values.to_numpy(dtype=float)
    out = np.char.mod(f"%.{decimals}f", np.nan_to_num(arr))
    return pd.Series(np.where(np.isnan(arr), "", out), index=values.index)


def format_indicators(df: pd.DataFrame) -> pd.DataFrame:
    """indicators.csv layout (rates as fractions, 6 decimals; booleans as true/false)."""
    out = df.copy()
    for c in ("rate", "start_rate", "realisation", "points", "euros"):
        out[c] = _fmt(out[c].astype(float))
    out["neutralised"] = np.where(out["neutralised"].astype(bool), "true", "false")
    return out


def format_payments(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["points"] = _fmt(out["points"].astype(float))
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")
