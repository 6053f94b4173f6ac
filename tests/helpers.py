"""Shared test helpers (importable as `helpers`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

#: A small `rosp score` input (two doctors, two programmes) used by the CLI and bad-input tests.
COUNTS = """doctor_id,indicator_id,numerator,denominator,start_rate,declared_rate
D1,CAR-01,8,20,0.3,
D1,CAR-08,95,100,,
D1,CAR-06,3,10,,
D2,ENF-06,3,10,0.4,
D2,ENF-03,0,12,,0.9
"""
PATIENTELE = """doctor_id,programme,patientele
D1,cardiologie,1000
D2,mt-enfant,600
"""


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
