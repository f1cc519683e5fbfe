"""Shared fixtures for the cdsolve test-suite (one place, not copied per file)."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """Seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261123)
