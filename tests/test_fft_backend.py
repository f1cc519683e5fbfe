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
from cdsolve.scattering import fft_operator, operators
from cdsolve.scattering.operators import BackendUnavailableError, LatticeMismatchError, OperatorBase, detect_grid
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


def test_blocked_kernel_products(monkeypatch):
    """The fused kernel products block by block (BLOCK shrunk so that an 18 x 18 padded grid has 9 blocks,
    the last one ragged) give the dense answer (oracle: the dense backend, to TOL)."""
    monkeypatch.setattr(fft_operator, "BLOCK", 37)
    _compare(cd.Scene(positions=_square(9), particles=SILICA, illumination=_plane_wave()))


@pytest.mark.parametrize("shape, parity", [((6,), (0,)), ((8,), (1,)), ((4, 6), (0, 1)), ((6, 4), (1, 1)),
                                           ((4, 4, 6), (1, 0, 1))])
def test_kernel_fft_from_one_quadrant(shape, parity):
    """DCT-I/DST-I of the quadrant, mirrored = the FFT of the whole even/odd kernel (oracle: numpy.fft.fftn of
    the kernel mirrored by hand; tolerance: round-off of a length-<=8 transform)."""
    rng = np.random.default_rng(21)
    H = [L // 2 for L in shape]
    Q = rng.standard_normal([h + 1 for h in H]) + 1j * rng.standard_normal([h + 1 for h in H])
    full = Q.copy()
    for ax, (L, h, odd) in enumerate(zip(shape, H, parity)):
        if odd:  # an odd kernel vanishes at offsets 0 and L/2
            edge = [slice(None)] * len(shape)
            for e in (0, h):
                edge[ax] = e
                full[tuple(edge)] = 0.0
        j = np.arange(L)
        src = np.where(j <= h, j, L - j)
        sign = np.where((j > h) & bool(odd), -1.0, 1.0).reshape([-1 if a == ax else 1 for a in range(len(shape))])
        full = np.take(full, src, axis=ax) * sign
    ref = np.fft.fftn(full)
    assert_allclose(fft_operator._hat_from_quadrant(Q.copy(), parity), ref, rtol=0, atol=1e-13 * np.abs(ref).max())


def test_padded_lengths_are_even_fast_and_long_enough():
    """Oracle: the definition (even, >= 2n - 1 so that the circular convolution is the linear one, a length
    scipy.fft calls fast)."""
    import scipy.fft as sfft
    for n in range(2, 700):
        (L,) = fft_operator.padded_shape((n, 1, 1))
        assert L % 2 == 0 and L >= 2 * n - 1 and sfft.next_fast_len(L) == L
        assert L < 2.5 * n  # no needless padding


def test_diagonal_polarize_equals_the_tensor_product():
    """The elementwise fast path of FFTOperator.polarize (diagonal chi) against OperatorBase.polarize (einsum
    over the full tensors; oracle), and full tensors fall back to it. Same numbers to round-off."""
    rng = np.random.default_rng(8)
    pos, N = _square(4), 16
    diag = np.zeros((N, 3, 3), complex)
    diag[:, (0, 1, 2), (0, 1, 2)] = rng.standard_normal((N, 3)) + 1j * rng.standard_normal((N, 3))
    full = rng.standard_normal((N, 3, 3)) + 1j * rng.standard_normal((N, 3, 3))
    u = rng.standard_normal(6 * N) + 1j * rng.standard_normal(6 * N)
    for chi_e, chi_m, fast in ((diag, 0.1 * diag, True), (full, diag, False), (diag, np.zeros_like(diag), True)):
        op = fft_operator.FFTOperator(pos, 2 * np.pi / LAM, chi_e, chi_m)
        assert (op._diag_e is not None and op._diag_m is not None) == fast
        for got, ref in zip(op.polarize(u), OperatorBase.polarize(op, u)):
            assert_allclose(got, ref, rtol=1e-15, atol=0)


def test_grid_memory_never_serves_stale_grids(monkeypatch):
    """detect_grid remembers its answers: equal positions get the same embedding, an array changed in place
    or another max_empty_ratio is detected again (oracle: a fresh detection, operators._detect_grid)."""
    operators.clear_grid_cache()
    pos = _square(7)
    g1 = detect_grid(pos)
    assert detect_grid(pos.copy()) is g1  # equal values, another array: remembered
    fresh = operators._detect_grid(pos, operators.MAX_EMPTY_RATIO)
    assert g1.shape == fresh.shape and np.array_equal(g1.index, fresh.index)
    assert_allclose(g1.step, fresh.step, rtol=0, atol=0) and assert_allclose(g1.origin, fresh.origin, rtol=0, atol=0)
    with pytest.raises(ValueError):
        g1.index[0, 0] = 3  # shared: read-only
    pos *= 2.0  # the same array changed in place
    g2 = detect_grid(pos)
    assert g2 is not g1 and g2.shape == (7, 7, 1)
    assert_allclose(g2.step[:2], [2 * A, 2 * A], rtol=1e-12)
    pos[3, 0] += 0.3137 * A  # off the grid, in place
    for _ in range(2):  # detected, then the remembered refusal
        with pytest.raises(LatticeMismatchError, match="not on a regular grid"):
            detect_grid(pos)
    sparse = _square(7)[::3]  # 17 of 49 nodes
    assert detect_grid(sparse).nodes == 49
    with pytest.raises(LatticeMismatchError, match="max_empty_ratio=2"):
        detect_grid(sparse, max_empty_ratio=2.0)
    # one detection per solve (resource check, backend choice and operator share it)
    operators.clear_grid_cache()
    calls = []
    real = operators._detect_grid
    monkeypatch.setattr(operators, "_detect_grid", lambda *a: calls.append(1) or real(*a))
    sol = cd.solve(cd.Scene(positions=_square(18), particles=SILICA, illumination=_plane_wave()), method="fft",
                   check_validity=False)
    assert sol.info["backend"]["name"] == "fft" and len(calls) == 1


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


def test_focused_tweezer_array_illumination():
    """Richards-Wolf focused tweezers (NA 0.6, Gaussian pupil filling) on a 6 x 6 lattice, particles 150 nm off
    their foci (the incident gradients then matter for the forces): oracle the dense backend, as above."""
    pos = _square(6, 1.5e-6)
    rng = np.random.default_rng(9)
    foci = pos + rng.uniform(-150e-9, 150e-9, pos.shape)
    beams = [cd.FocusedBeam(LAM, na=0.6, power=0.01, filling_factor=1.0, focus=f, phase=float(ph),
                            polarization=(1, 0, 0)) for f, ph in zip(foci, rng.uniform(0, 2 * np.pi, len(pos)))]
    _compare(cd.Scene(positions=pos, particles=SILICA, illumination=cd.BeamSum(beams)))
