"""Shared fixtures for the cdsolve test-suite (one place, not copied per file)."""

import numpy as np
import pytest


#: a small valid config (two silica spheres in two tweezers): the base that CLI and output tests mutate
PAIR_CONFIG = """
wavelength = "1064 nm"
[particle]
radius = "50 nm"
index = 1.45
[geometry]
positions = [["-0.5 um", 0, 0], ["0.5 um", 0, 0]]
[tweezers]
power = "100 mW"
waist = "0.8 um"
"""


@pytest.fixture
def rng():
    """Seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261123)


def central_difference_jacobian(scene, h, cols=None, richardson=False):
    """``dF/dr`` of ``cd.solve(scene).forces()`` by central differences (the oracle for analytic Jacobians).

    ``h`` [m] step; ``cols`` indices into the particle-major 3N coordinates (default all);
    ``richardson``: combine steps h and h/2 (error O(h^4) instead of O(h^2)). Returns (3N, len(cols)).
    """
    import cdsolve as cd

    N = scene.n_particles
    cols = range(3 * N) if cols is None else cols

    def deriv(step):
        out = np.zeros((3 * N, len(cols)))
        for c, q in enumerate(cols):
            d = np.zeros(3 * N)
            d[q] = step
            Fp = cd.solve(scene.with_positions(scene.positions + d.reshape(N, 3))).forces().ravel()
            Fm = cd.solve(scene.with_positions(scene.positions - d.reshape(N, 3))).forces().ravel()
            out[:, c] = (Fp - Fm) / (2 * step)
        return out

    return (4 * deriv(h / 2) - deriv(h)) / 3 if richardson else deriv(h)


@pytest.fixture
def fd_jacobian():
    """The :func:`central_difference_jacobian` helper (shared by the Jacobian tests)."""
    return central_difference_jacobian


def config_with(base: dict, **sections) -> dict:
    """A deep copy of the config dict ``base`` with whole sections replaced (``None`` removes a section)."""
    import copy

    cfg = copy.deepcopy(base)
    for name, value in sections.items():
        if value is None:
            cfg.pop(name, None)
        else:
            cfg[name] = value
    return cfg
