"""Batched small-scene path: parity with the per-scene solver and Jacobian.

Oracle: agreement of two implementations of the same formulas (``cdsolve.dynamics.batch_scenes`` vectorized over
configurations vs ``cdsolve.solve`` + ``force_jacobian``), to round-off (measured ~1e-13 relative).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.dynamics.batch_scenes import batch_forces_and_jacobian
from cdsolve.dynamics.jacobian import force_jacobian


@pytest.mark.parametrize("particle", [cd.Sphere(radius=80e-9, index=3.5),
                                      cd.Sphere(radius=60e-9, index=1.45, model="rayleigh")], ids=["mie", "rayleigh"])
def test_batch_matches_per_scene_path(particle, rng):
    """Tweezers differing in focus, power and phase: the vectorized-tweezer fast path."""
    scenes = []
    for _ in range(6):
        n = 3
        pos = rng.uniform(-1e-6, 1e-6, size=(n, 3)) + np.arange(n)[:, None] * np.array([1.2e-6, 0, 0])
        tw = [cd.GaussianTweezer(wavelength=1064e-9, focus=p + rng.uniform(-50e-9, 50e-9, 3), na=0.37,
                                 power=rng.uniform(0.05, 0.2), phase=rng.uniform(0, 6)) for p in pos]
        scenes.append(cd.Scene(positions=pos, particles=particle, illumination=tw))
    F, J = batch_forces_and_jacobian(scenes)
    for b, sc in enumerate(scenes):
        sol = cd.solve(sc)
        assert_allclose(F[b], sol.forces(), rtol=0, atol=1e-11 * np.abs(sol.forces()).max())
        Jr = force_jacobian(sol)
        assert_allclose(J[b], Jr, rtol=0, atol=1e-11 * np.abs(Jr).max())


def test_batch_dofs_and_errors():
    sph = cd.Sphere(radius=50e-9, index=1.45)
    pw = cd.PlaneWave(wavelength=1064e-9, intensity=1e9)
    scenes = [cd.Scene(positions=[[0, 0, 0], [d, 0, 0]], particles=sph, illumination=pw) for d in (0.8e-6, 1.7e-6)]
    F, J = batch_forces_and_jacobian(scenes)
    _, Jz = batch_forces_and_jacobian(scenes, dofs="z")
    assert_allclose(Jz, J[:, [2, 5]][:, :, [2, 5]], rtol=1e-13, atol=1e-13 * np.abs(J).max())
    other = cd.Scene(positions=[[0, 0, 0], [1e-6, 0, 0]], particles=cd.Sphere(radius=60e-9, index=1.45),
                     illumination=pw)
    with pytest.raises(ValueError, match="different particles"):
        batch_forces_and_jacobian(scenes + [other])
    with pytest.raises(ValueError, match="non-empty"):
        batch_forces_and_jacobian([])
