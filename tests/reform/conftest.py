"""A small completed run (synthetic claims -> rosp run), shared by the reform tests."""

import pytest


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    from rosp.engine.run import run
    from rosp.synth import generate

    root = tmp_path_factory.mktemp("reform_run")
    generate(20_000, 7, 2018, root / "data")
    run(root / "data", 2018, root / "run")
    return root / "run"
