"""The reform tests use the session's shared small run (tests/conftest.py: demo_like_run)."""

import pytest


@pytest.fixture(scope="session")
def small_run(demo_like_run):
    return demo_like_run
