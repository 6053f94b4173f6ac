"""One small synthetic run shared by the report tests (session-scoped: built once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

#: System tools the statements need; a missing one fails the test with what to install.
SYSTEM_TOOLS = {"pdftotext": "poppler-utils", "pdftoppm": "poppler-utils"}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"`{tool}` not found: install it with `apt-get install -y {SYSTEM_TOOLS[tool]}` (or `make system-deps`)"
        )
    return path


@pytest.fixture(scope="session")
def need():
    """need(tool) -> path of a system tool, or a failure saying which apt package to install."""
    return _need


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    from rosp.engine.run import run
    from rosp.synth import generate

    base = tmp_path_factory.mktemp("report_run")
    generate(4000, 7, 2018, base / "data")
    run(base / "data", 2018, base / "run")
    return base / "run"


@pytest.fixture(scope="session")
def run_data(demo_run):
    from rosp.report.model import RunData

    return RunData(demo_run)


@pytest.fixture(scope="session")
def busiest_doctor(demo_run) -> str:
    """The doctor with the most scored indicators (ties: smallest id)."""
    ind = pd.read_csv(demo_run / "indicators.csv", dtype=str, keep_default_na=False)
    counts = ind.groupby("doctor_id").size().reset_index(name="n").sort_values(["n", "doctor_id"], ascending=[False, True])
    return str(counts.iloc[0]["doctor_id"])
