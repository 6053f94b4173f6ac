"""Pytest fixtures shared by every test module."""

import pytest
from helpers import run_cli


@pytest.fixture
def cli():
    return run_cli
