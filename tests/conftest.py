"""Pytest fixtures shared by every test module."""

import pytest
from helpers import run_cli


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def demo_like_run(tmp_path_factory):
    """A small completed run (20 000 synthetic patients, seed 7, 2018 -> rosp run), built once
    per session and shared by the reform and web tests (read-only: copy it before changing it)."""
    from rosp.engine.run import run
    from rosp.synth import generate

    root = tmp_path_factory.mktemp("demo_like_run")
    generate(20_000, 7, 2018, root / "data")
    run(root / "data", 2018, root / "run")
    return root / "run"
