"""Writing run outputs: CSV files with fixed formatting, and the run manifest.

Outputs are byte-identical for identical inputs: rows are sorted, numbers are
formatted with a fixed number of decimals, and the manifest holds no clock time.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import rosp
from rosp.catalogue import Catalogue

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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> dict[str, Any]:
    """Package version and, when run from a git checkout, the commit and dirty flag."""
    here = Path(__file__).resolve().parent
    info: dict[str, Any] = {"package": rosp.__version__}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        info["git_commit"] = commit
        info["git_dirty"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = "unknown"
    return info


def build_manifest(
    *,
    command: str,
    year: int,
    catalogue: Catalogue,
    inputs: dict[str, str],
    outputs: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run manifest: inputs (sha256), catalogue and code versions, parameters, counts."""
    return {
        "command": command,
        "year": year,
        "inputs": dict(sorted(inputs.items())),
        "catalogue": {
            "version": catalogue.version,
            "content_sha256": catalogue.content_sha256,
            "programmes": {p.slug: p.path for p in catalogue.programmes},
        },
        "code": code_version(),
        "parameters": catalogue.params.snapshot(year),
        "outputs": outputs,
        **(extra or {}),
    }


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
