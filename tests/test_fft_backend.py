"""FFT backend (cdsolve.scattering.fft_operator) against the dense backend, and the backend choice.

Oracle of every comparison: the dense backend, an independent implementation of the same equations
(all N^2 propagator blocks assembled pair by pair, LU solve, and the local-field gradients summed pair by
pair by cdsolve.optics.dipole_fields). The FFT backend shares only the radial-function coefficients of
cdsolve.optics.green with it. Both solves run to rtol = 1e-14 so that what is compared is the operator,
not the GMRES stopping point (the forces of a lossless lattice cancel strongly: a 1e-12 residual moves
them by ~1e-10 of their largest value).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.optics import materials
from cdsolve.scattering.operators import BackendUnavailableError, LatticeMismatchError, detect_grid
from cdsolve.scattering.solver import choose_backend, estimate_resources

LAM = 1064e-9
A = 600e-9
TOL = 1e-10  # the acceptance tolerance for FFT vs dense (relative to the largest entry)
SILICA = cd.Sphere(radius=50e-9, index=1.45)


def _square(n, a=A):
    x = (np.arange(n) - (n - 1) / 2) * a
    X, Y = np.meshgrid(x, x, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1)


def _triangular(n, a=A):
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.stack([a * (i + 0.5 * (j % 2)).ravel(), (a * np.sqrt(3) / 2 * j).ravel(), np.zeros(n * n)], axis=1)


def _honeycomb(n, a=A / np.sqrt(3)):
    """Honeycomb of bond length a (n x n cells of two sites): x steps a/2, y steps sqrt(3) a/2."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    cell = np.stack([1.5 * a * (i + j), np.sqrt(3) / 2 * a * (i - j)], -1).reshape(-1, 2)
    sites = np.concatenate([cell, cell + [a, 0.0]])
    return np.c_[sites, np.zeros(len(sites))]


def _cubic(n, a=A):
    x = np.arange(n) * a
    return np.stack(np.meshgrid(x, x, x, indexing="ij"), -1).reshape(-1, 3)


def _chain(n, a=A):
    return np.c_[np.zeros(n), np.zeros(n), np.arange(n) * a]


def _plane_wave():
    return cd.PlaneWave(wavelength=LAM, direction=(0.3, 0.0, 1.0), polarization=(1.0, 0.4j, -0.3), amplitude=1.0)


def _compare(scene):
    """Solve with both backends; dipoles, local fields and forces agree to TOL of their largest entry."""
    dense = cd.solve(scene, method="direct", rtol=1e-14, check_validity=False)
    fft = cd.solve(scene, method="fft", rtol=1e-14, check_validity=False)
    assert fft.info["backend"]["name"] == "fft" and fft.info["residual"] < 1e-13
    for name in ("p", "m", "E_local", "H_local"):
        ref = getattr(dense, name)
        scale = np.abs(ref).max()
        if scale == 0:
            assert np.abs(getattr(fft, name)).max() == 0
            continue
        assert_allclose(getattr(fft, name), ref, rtol=0, atol=TOL * scale, err_msg=name)
    F = dense.forces()
    assert_allclose(fft.forces(), F, rtol=0, atol=TOL * np.abs(F).max())
    # the interaction part alone (F - F_iso), where the FFT-computed gradients matter most
    f_int = F - dense.isolated_forces()
    assert_allclose(fft.forces() - dense.isolated_forces(), f_int, rtol=0, atol=TOL * np.abs(F).max())
    return dense, fft


def test_square_lattice_16x16():
    _compare(cd.Scene(positions=_square(16), particles=SILICA, illumination=_plane_wave()))


def test_triangular_lattice_with_vacancies():
    pos = _triangular(15)
    keep = np.random.default_rng(16).random(len(pos)) >= 0.10  # seeded 10 % vacancies
    grid = detect_grid(pos[keep])
    assert grid.shape == (30, 15, 1)  # x step a/2, y step sqrt(3) a/2: two nodes per full-lattice site
    _compare(cd.Scene(positions=pos[keep], particles=SILICA, illumination=_plane_wave()))


def test_honeycomb_lattice():
    pos = _honeycomb(8)
    assert_allclose(np.sort(detect_grid(pos).step[:2]), np.sort([A / np.sqrt(3) / 2, A / 2]), rtol=1e-12)
    _compare(cd.Scene(positions=pos, particles=SILICA, illumination=_plane_wave()))


def _mixed_cubic(n):
    pos = _cubic(n)
    si = materials.silicon()
    small, big = cd.Sphere(radius=60e-9, material=si), cd.Sphere(radius=90e-9, material=si)
    parts = [big if q else small for q in np.random.default_rng(3).random(len(pos)) < 0.5]
    return cd.Scene(positions=pos, particles=parts, illumination=_plane_wave())


def test_cubic_lattice_mixed_silicon_particles():
    """Two radii of silicon: electric and magnetic Mie dipoles (the e+m channels of the FFT operator)."""
    sc = _mixed_cubic(4)
    dense, _ = _compare(sc)
    assert np.abs(dense.m).max() > 0.1 * np.abs(dense.p).max() * cd.conventions.C0  # magnetic dipoles matter


def test_chain_100():
    _compare(cd.Scene(positions=_chain(100), particles=SILICA, illumination=_plane_wave()))


def test_gaussian_tweezer_array_illumination():
    """Per-site tweezers with their own phases (the incident field is not a plane wave) on a 10 x 10 lattice."""
    pos = _square(10, 1.2e-6)
    rng = np.random.default_rng(5)
    beams = [cd.GaussianTweezer(LAM, focus=r, na=0.4, power=0.01, phase=float(ph), polarization=(1, 0, 0))
             for r, ph in zip(pos, rng.uniform(0, 2 * np.pi, len(pos)))]
    _compare(cd.Scene(positions=pos, particles=SILICA, illumination=cd.BeamSum(beams)))  # particles at the foci


def test_electric_only_scene_iterates_on_the_electric_system():
    """Rayleigh particles have no magnetic dipole: GMRES runs on the 3N electric system, H follows."""
    part = cd.Sphere(radius=50e-9, index=1.45, model="rayleigh")
    _, fft = _compare(cd.Scene(positions=_square(12), particles=part, illumination=_plane_wave()))
    assert fft.info["system"].startswith("electric")


def test_auto_rule_and_named_errors(monkeypatch):
    """Large lattice -> fft; random positions -> dense; forced fft off a grid and a missing fmm are named."""
    big = cd.Scene(positions=_square(40), particles=SILICA, illumination=_plane_wave())
    assert choose_backend(big)["name"] == "fft"
    rng = np.random.default_rng(11)
    rand_pos = rng.uniform(0, 30e-6, (500, 3))
    rand = cd.Scene(positions=rand_pos, particles=SILICA, illumination=_plane_wave())
    assert choose_backend(rand)["name"] == "iterative"
    small = cd.Scene(positions=_square(5), particles=SILICA, illumination=_plane_wave())
    assert choose_backend(small)["name"] == "direct"
    with pytest.raises(LatticeMismatchError, match="not on a regular grid"):
        cd.solve(rand, method="fft", check_validity=False)
    assert issubclass(LatticeMismatchError, ValueError)
    monkeypatch.setitem(sys.modules, "cdsolve.scattering.fmm_operator", None)  # import fails as if absent
    with pytest.raises(BackendUnavailableError, match="fmm3dpy"):
        cd.solve(small, method="fmm", check_validity=False)


def test_auto_solution_records_the_fft_backend():
    sc = cd.Scene(positions=_square(21), particles=SILICA, illumination=_plane_wave())  # N = 441 >= 300
    sol = cd.solve(sc, check_validity=False)
    assert sol.method == "fft" and sol.info["backend"]["name"] == "fft"
    assert "grid" in sol.info["backend"]["why"]


def test_fft_memory_estimate_grows_like_the_grid():
    """Memory ~ padded grid nodes: 100x more particles -> ~100x the bytes (not 10^4x as for the dense blocks)."""
    e1 = estimate_resources(10_000, "fft", grid_shape=(100, 100, 1))["bytes"]
    e2 = estimate_resources(1_000_000, "fft", grid_shape=(1000, 1000, 1))["bytes"]
    assert 80 < e2 / e1 < 130
    assert e2 < 12 * 2**30
    with pytest.raises(ValueError, match="grid_shape"):
        estimate_resources(100, "fft")


def test_grid_detection_tolerance():
    """Positions within 1e-9 of the step fit; 1e-6 off does not."""
    pos = _square(6)
    jitter = np.random.default_rng(2).uniform(-1, 1, pos.shape) * A
    assert detect_grid(pos + 1e-11 * jitter).shape == (6, 6, 1)
    with pytest.raises(LatticeMismatchError):
        detect_grid(pos + 1e-6 * jitter)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["square32", "cubic8", "chain300"])
def test_larger_lattices(case):
    if case == "square32":
        sc = cd.Scene(positions=_square(32), particles=SILICA, illumination=_plane_wave())
    elif case == "cubic8":
        sc = _mixed_cubic(8)
    else:
        sc = cd.Scene(positions=_chain(300), particles=SILICA, illumination=_plane_wave())
    _compare(sc)
