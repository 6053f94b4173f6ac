from __future__ import annotations

import pytest

from .builders import minimal_dataset


@pytest.fixture
def dataset():
    """A fresh minimal valid dataset (builder, handles) for study year 2019."""
    return minimal_dataset()
