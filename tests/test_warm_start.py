"""Warm starts of the iterative solve (issue 16 item 2).

Oracles: the cold solve of the same scene (the answer must not depend on the starting point: both stop
on the true residual) and the product counter in ``info["matvecs"]``.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd


def lattice(phase_step, pitch=600e-9):
    n = 12
    g = (np.arange(n) - (n - 1) / 2) * pitch
    pos = np.stack(np.meshgrid(g, g, [0.0], indexing="ij"), -1).reshape(-1, 3)
    beams = [cd.PlaneWave(wavelength=1064e-9, intensity=1e9),
             cd.PlaneWave(wavelength=1064e-9, intensity=3e8, direction=(1, 0, 0), polarization=(0, 0, 1),
                          phase=phase_step)]
    return cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45), illumination=beams)


@pytest.mark.parametrize("method", ["iterative", "fft"])
def test_warm_start_gives_the_cold_answer_from_a_better_start(method):
    # a lattice near its collective resonance (pitch ~ wavelength): GMRES needs more products there
    prev = cd.solve(lattice(0.300, 1040e-9), method=method, check_validity=False)
    cold = cd.solve(lattice(0.301, 1040e-9), method=method, check_validity=False)
    warm = cd.solve(lattice(0.301, 1040e-9), method=method, check_validity=False, x0=prev)
    assert warm.info.get("warm_start") is True
    assert warm.info["initial_residual"] < 1e-2 < cold.info["initial_residual"]  # the guess is 100x closer
    # tolerance: both stop at a true relative residual <= 1e-10 of the same well-conditioned system
    assert_allclose(warm.p, cold.p, rtol=0, atol=1e-8 * np.abs(cold.p).max())
    assert_allclose(warm.forces(), cold.forces(), rtol=0, atol=1e-8 * np.abs(cold.forces()).max())
    # measured 7 vs 8 products: GMRES gains ~100x per product here, so a 100x better start saves about one
    assert warm.info["matvecs"] <= cold.info["matvecs"]


def test_warm_start_from_the_same_scene_costs_one_product():
    sc = lattice(0.2)
    first = cd.solve(sc, method="iterative", check_validity=False)
    again = cd.solve(sc, method="iterative", check_validity=False, x0=first)
    assert again.info["matvecs"] == 1 and again.info["converged"]
    assert_allclose(again.p, first.p, rtol=0, atol=0)


def test_bad_warm_start_is_named():
    sc = lattice(0.2)
    with pytest.raises(TypeError, match="x0"):
        cd.solve(sc, method="iterative", check_validity=False, x0=np.zeros(3))
    small = cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    with pytest.raises(ValueError, match="x0"):
        cd.solve(sc, method="iterative", check_validity=False, x0=cd.solve(small, check_validity=False))
