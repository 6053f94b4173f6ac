"""Shared test helpers (importable as `helpers`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `rosp` as a subprocess (the contract other tools rely on)."""
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "rosp.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
    )
