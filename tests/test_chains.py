"""Non-Hermitian chains, lattice sums and skin-effect diagnostics (cdsolve.theory.chains).

Each test names its oracle: textbook Hatano-Nelson closed forms (open spectrum, localization length),
the argument principle as a zero count of a Laurent polynomial (np.roots), mpmath polylogarithms,
brute-force partial sums with their predicted convergence rates, Euler's constant, the DFT
diagonalization of circulant matrices, cofactors of tridiagonal matrices, the far-field coupling
formula of Rudolph et al. PRA 110, 063507 (2024) Sec. IV.B.5 and the two-tweezer model of cdsolve.theory.two_tweezer.
"""

import contextlib
import ctypes
import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
import scipy
from numpy.testing import assert_allclose

from cdsolve.theory import chains as ch
from cdsolve.theory.two_tweezer import TwoTweezerModel, unidirectional_settings

KD = 2 * np.pi * 3 + np.pi / 4  # PRA Sec. IV.B.5: spacing (2 pi n + pi/4)/k, phase gradient pi/4
PHI = np.pi / 4


def injected_hn(n, tl, tr):
    """Nearest-neighbour couplings injected as a plain matrix (no cdsolve.theory.chains constructor)."""
    return np.diag(np.full(n - 1, tr), -1) + np.diag(np.full(n - 1, tl), 1)


# ----------------------------------------------------------------------------- Hatano-Nelson
@pytest.mark.parametrize("n, tl, tr", [(10, 1.0, 1.5), (25, 0.4, 1.1), (30, 1.5, 1.0), (40, 1.0, 1.3)])
def test_open_spectrum_textbook(n, tl, tr):
    """Oracle: 2 sqrt(tL tR) cos(m pi/(N+1)), m = 1..N (real for tL tR > 0)."""
    H = injected_hn(n, tl, tr)
    assert_allclose(H, ch.hatano_nelson(n, tl, tr))
    exact = np.sort(ch.hatano_nelson_open_spectrum(n, tl, tr).real)
    sa = ch.skin_analysis(H)
    assert_allclose(sa.eigenvalues.real, exact, atol=1e-10)
    assert np.max(np.abs(sa.eigenvalues.imag)) < 1e-10
    assert np.max(sa.error_bound) < 1e-9  # the computed spectrum is trustworthy (not pseudospectral)


def test_localization_length_fit_and_size_dependence():
    """Oracle: |psi_j| ~ (tR/tL)^(j/2) |sin(...)|, xi = 1/ln sqrt(tR/tL) independent of N (~1 % required).

    Measured: fitted 1/xi of every right/left eigenvector within ~1e-9 relative (mirror-symmetric node
    and round-off masks make the unweighted fit exact) for N = 20, 40, 81 (N + 1 = 82: exact nodes at m = 41).
    """
    tl, tr = 1.0, 1.5
    xi = ch.hatano_nelson_localization_length(tl, tr)
    assert_allclose(xi, 1 / np.log(np.sqrt(tr / tl)), rtol=1e-14)
    res = ch.localization_scaling(lambda n: injected_hn(n, tl, tr), [20, 40, 81])
    for sa in res:
        assert_allclose(sa.right.inverse_length * xi, 1.0, rtol=1e-2, atol=0)
        assert_allclose(sa.left.inverse_length * xi, -1.0, rtol=1e-2, atol=0)
        assert np.max(np.abs(sa.right.inverse_length * xi - 1)) < 1e-6  # measured ~1e-9
        assert np.all(sa.right.edge_last > sa.right.edge_first)  # skin at the last sites
        assert np.all(sa.left.edge_first > sa.left.edge_last)  # left vectors at the opposite edge
    assert ch.hatano_nelson_localization_length(tr, tl) == pytest.approx(-xi)
    assert ch.hatano_nelson_localization_length(1.0, 1.0) == np.inf
    # reciprocal chain: no localization (slope 0 by the mirror symmetry), IPR ~ 1.5/N
    rec = ch.skin_analysis(injected_hn(40, 1.0, 1.0))
    assert np.max(np.abs(rec.right.inverse_length)) < 1e-8
    assert_allclose(rec.right.ipr, 1.5 / 41, rtol=0.05)


def test_localization_simple_vectors():
    """Oracle: exact exponential and single-site vectors."""
    loc = ch.localization(np.column_stack([np.exp(-0.3 * np.arange(50)), np.eye(50)[:, 2] + 1e-300]))
    assert_allclose(loc.inverse_length[0], -0.3, rtol=1e-12)
    assert loc.length[0] == pytest.approx(1 / 0.3)
    assert loc.ipr[1] == pytest.approx(1.0) and loc.edge_first[1] == pytest.approx(1.0)
    assert loc.fit_rms[0] < 1e-12


# ----------------------------------------------------------------------------- winding
def hn_bloch(tl, tr):
    return lambda q: tl * np.exp(1j * q) + tr * np.exp(-1j * q)


def test_winding_hatano_nelson():
    """Oracle: D(q) = tL e^{iq} + tR e^{-iq} is an ellipse traversed clockwise for tR > tL."""
    assert ch.winding_number(hn_bloch(1.0, 2.0), 0.0) == -1
    assert ch.winding_number(hn_bloch(2.0, 1.0), 0.0) == 1  # sign flips with tL <-> tR
    assert ch.winding_number(hn_bloch(1.0, 1.0), 0.3j) == 0  # reciprocal: a segment, nothing enclosed
    assert ch.winding_number(hn_bloch(2.0, 1.0), 3.5) == 0  # outside the ellipse (semi-axis 3)
    with pytest.raises(ValueError, match="reference"):
        ch.winding_number(hn_bloch(1.0, 1.0), 0.5)  # on the reciprocal segment: undefined
    # array form (closed loop samples) and vectorized references
    q = 2 * np.pi * np.arange(64) / 64
    assert ch.winding_number(hn_bloch(0.5, 1.5)(q), [0, 0.5j, 5]).tolist() == [-1, -1, 0]
    # every open-chain eigenvalue lies inside the periodic loop: skin effect
    for tl, tr, w in ((1.0, 2.0, -1), (2.0, 1.0, 1)):
        sp = ch.open_vs_periodic_spectra(injected_hn(30, tl, tr))
        assert set(sp.winding.tolist()) == {w} and not sp.on_curve.any()
    sp = ch.open_vs_periodic_spectra(injected_hn(30, 1.0, 1.0))
    assert sp.on_curve.all() and set(sp.winding.tolist()) == {0}  # reciprocal: open spectrum on the segment


def test_winding_equals_zero_count(rng):
    """Oracle: argument principle. For D(z) = sum_{|m|<=R} c_m z^m, W(E) = #zeros of z^R (D - E) in |z| < 1 - R."""
    R = 3
    for _ in range(6):
        f, b = rng.normal(size=R) + 0.3j * rng.normal(size=R), rng.normal(size=R)
        onsite = rng.normal()
        refs = rng.normal(size=8) + 1j * rng.normal(size=8)
        w = ch.winding_number(lambda q: ch.bloch_function(f, q, b, onsite), refs)
        for E, wk in zip(refs, w):
            poly = np.concatenate([f[::-1], [onsite - E], b])  # coefficients of z^(2R) ... z^0
            assert wk == np.sum(np.abs(np.roots(poly)) < 1) - R


# ----------------------------------------------------------------------------- lattice sums
def test_polylog_closed_forms_vs_mpmath():
    """Oracle: mpmath.polylog at 30 digits (Clausen series and Li_1 within 2e-14)."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    theta = np.concatenate([np.linspace(-7.0, 7.0, 96), [1e-3, -1e-3, 2 * np.pi - 1e-3, np.pi]])
    for s in (1, 2, 3):
        ref = np.array([complex(mp.polylog(s, mp.exp(1j * mp.mpf(float(t))))) for t in theta])
        assert_allclose(ch.polylog_unit(s, theta), ref, rtol=1e-13, atol=5e-14)
    assert ch.polylog_unit(1, 0.0) == np.inf and ch.polylog_unit(1, 4 * np.pi) == np.inf
    assert_allclose(ch.polylog_unit(2, 0.0), np.pi**2 / 6, rtol=1e-15)
    assert_allclose(ch.polylog_unit(3, 2 * np.pi).real, 1.2020569031595942, rtol=1e-15)


@pytest.mark.parametrize("theta", [2.0, 0.5, -2.5])
def test_lattice_sum_vs_brute_force_rates(theta):
    """Oracle: brute-force partial sums; error ~ M^-(s+P) (P = tail_order), measured slopes.

    Measured at theta = 2 (M = 1e2..1e4): s = 1 raw -0.999, P = 1 -1.996, P = 2 -2.991;
    s = 2 raw -1.998; s = 3 raw -2.997.
    """
    Ms = np.array([100, 1000, 10000])
    for s, P, slope in ((1, 0, -1), (1, 1, -2), (1, 2, -3), (2, 0, -2), (3, 0, -3)):
        exact = ch.lattice_sum({s: 1.0}, theta)
        err = [abs(ch.partial_lattice_sum({s: 1.0}, theta, M, P) - exact) for M in Ms]
        assert np.polyfit(np.log(Ms), np.log(err), 1)[0] == pytest.approx(slope, abs=0.06)
        # predicted size of the remainder: (s)_P / (M^(s+P) |1 - z|^(P+1)) (Pochhammer symbol)
        assert err[-1] < 2 * np.prod(np.arange(s, s + P)) / (Ms[-1] ** (s + P) * abs(2 * np.sin(theta / 2)) ** (P + 1))
    # mixed near + far field coefficients: best estimate agrees to 1e-12
    c = {1: 0.7 - 0.2j, 2: 0.3j, 3: -0.5}
    assert abs(ch.partial_lattice_sum(c, theta, 4000, 3) - ch.lattice_sum(c, theta)) < 1e-12


def test_lattice_sum_singular_point():
    """Oracle: at theta = 0, sum_{m<=M} 1/m = ln M + gamma + 1/(2M) + ... (Li_1 diverges); zeta(2), zeta(3)."""
    for M in (100, 1000, 10000):
        excess = ch.partial_lattice_sum({1: 1.0}, 0.0, M).real - np.log(M) - np.euler_gamma
        assert excess * M == pytest.approx(0.5, abs=1e-3)
    assert ch.partial_lattice_sum({1: 1.0}, 0.0, 10, tail_order=1) == np.inf
    assert abs(ch.partial_lattice_sum({2: 1.0}, 0.0, 1000, 1) - np.pi**2 / 6) < 1e-12  # Euler-Maclaurin tail
    assert abs(ch.partial_lattice_sum({3: 1.0}, 0.0, 1000, 1) - ch.lattice_sum({3: 1.0}, 0.0)) < 1e-14
    assert ch.lattice_sum({1: -2.0, 2: 1j}, 0.0) == complex(-np.inf, np.pi**2 / 6)  # no nan from inf * 0


def test_bloch_far_field_lattice_sum_and_ring():
    """Oracles: truncated Bloch sums converge to the closed form like 1/M (measured slope -1.0); the ring
    (circulant) spectrum equals the range-(n-1) Bloch sum at q = 2 pi k/n (DFT diagonalization)."""
    f, b = ch.far_field_kernels(1.3, 2 * np.pi * 2 + 0.9, 0.4)  # generic: no coupling singular at these q
    q = np.array([0.3, 1.1, 2.5, 4.0, 5.6])
    exact = ch.bloch_function(f, q, b, onsite=0.2)
    Ms = np.array([200, 2000, 20000])
    err = [np.max(np.abs(ch.bloch_function(f, q, b, 0.2, m_max=M) - exact)) for M in Ms]
    assert np.polyfit(np.log(Ms), np.log(err), 1)[0] == pytest.approx(-1.0, abs=0.1)
    n = 12
    ring = ch.chain_couplings(f, n, b, onsite=0.2, periodic=True)
    lam = np.linalg.eigvals(ring)
    trunc = ch.bloch_function(f, 2 * np.pi * np.arange(n) / n, b, 0.2, m_max=n - 1)
    dist = np.abs(lam[:, None] - trunc[None, :])
    assert np.max(dist.min(axis=0)) < 1e-12 and np.max(dist.min(axis=1)) < 1e-12  # same multiset (no repeats)


def test_unidirectional_far_field_chain_has_zero_winding():
    """Oracle: elementary logs. At phi = pi/4, kd = 2 pi n + pi/4 the Bloch function of -C is
    (S/kd) [ln(1 - e^{iq}) + ln(1 + e^{-2iq})/2]: Im D is piecewise constant (0, +-pi/2) S/kd, the loop
    encloses no area (W = 0) although the nearest-neighbour truncation winds once (W = +1)."""
    S = KD
    f, b = ch.far_field_kernels(S, KD, PHI)
    q = np.array([0.2, 1.0, 2.0, 3.0, 4.4, 5.0, 6.0])
    D = -ch.bloch_function(f, q, b)
    assert_allclose(D, (S / KD) * (np.log(1 - np.exp(1j * q)) + 0.5 * np.log(1 + np.exp(-2j * q))), atol=1e-12)
    assert_allclose(D.imag, (S / KD) * np.pi / 2 * np.array([-1, -1, 0, 0, 0, 1, 1]), atol=1e-12)
    refs = np.array([0.5 + 0.7j, -1 - 0.3j, 2.0 + 0j, -0.2 + 1.2j])
    assert ch.winding_number(lambda x: -ch.bloch_function(f, x, b), refs).tolist() == [0, 0, 0, 0]
    assert ch.winding_number(lambda x: -ch.bloch_function(f, x, b, m_max=1), 0.0) == 1


# ----------------------------------------------------------------------------- far-field chain
def test_far_field_chain_signs_pra_sec_ivb5():
    """Oracle: PRA Sec. IV.B.5 item 1 from the formula: couplings positive in one direction
    (S/(m kd)), alternating in sign in the other (S cos(m pi/2)/(m kd): 0, -, 0, +, ...)."""
    n, S = 24, 2.0
    f, b = ch.far_field_kernels(S, KD, PHI)
    C = ch.chain_couplings(f, n, b)
    assert C.dtype == float and np.all(np.diag(C) == 0)
    m = np.arange(1, n)
    fwd = np.array([C[0, k] for k in m])
    bwd = np.array([C[k, 0] for k in m])
    assert np.all(fwd > 0)
    assert_allclose(fwd, S / (m * KD), rtol=1e-12)
    assert np.max(np.abs(bwd[m % 2 == 1])) < 1e-13 * S
    even = m[m % 2 == 0]
    assert np.array_equal(np.sign(bwd[m % 2 == 0]), (-1.0) ** (even // 2))
    assert_allclose(bwd[m % 2 == 0], S * (-1.0) ** (even // 2) / (even * KD), rtol=1e-12)
    for k in range(1, 5):
        assert np.ptp(np.diag(C, k)) < 1e-15 and np.ptp(np.diag(C, -k)) < 1e-15


def test_forward_convention_matches_two_tweezer_model():
    """Oracle: cdsolve.theory.two_tweezer.TwoTweezerModel (PRA eq. 83): C_12 = dF_1/dz_2 is the forward coupling."""
    phi, kd = unidirectional_settings(3)
    model = TwoTweezerModel(1550e-9, 1e-32, distance=kd * 1550e-9 / (2 * np.pi), waist=1e-6, powers=(0.1, 0.1),
                            phases=(phi, 0.0), masses=(1e-18, 1e-18))
    c = model.coupling_constant
    f, b = ch.far_field_kernels(c * model.kd, model.kd, model.relative_phase)
    assert_allclose(model.couplings, [f(1).real, b(1).real], atol=1e-12 * c)
    assert_allclose(ch.chain_couplings(f, 2, b)[[0, 1], [1, 0]], model.couplings, atol=1e-12 * c)


def test_truncate_bulk_couplings_injected():
    """Oracle: definitions (band limit; reading the translation-invariant couplings back)."""
    f, b = ch.far_field_kernels(1.0, 20.0, 0.3)
    C = ch.chain_couplings(f, 15, b, onsite=0.5)
    assert_allclose(ch.truncate(C, 1), ch.chain_couplings([f(1)], 15, [b(1)], onsite=0.5), atol=1e-15)
    assert_allclose(ch.truncate(C, 14), C)
    e0, fwd, bwd = ch.bulk_couplings(C)
    assert e0 == 0.5 and fwd.shape == bwd.shape == (7,)
    assert_allclose(fwd, f(np.arange(1, 8)).real, atol=1e-15)
    assert_allclose(bwd, b(np.arange(1, 8)).real, atol=1e-15)
    ring = ch.hatano_nelson(6, 1.0, 2.0, periodic=True)
    assert ring[0, 5] == 2.0 and ring[5, 0] == 1.0
    assert_allclose(ch.truncate(ring, 1, periodic=True), ring)
    # callable and array kernels agree with the PowerKernel
    assert_allclose(ch.chain_couplings(lambda mm: f(mm), 9, f(np.arange(1, 30)), 0.0), ch.chain_couplings(f, 9, f))


# ----------------------------------------------------------------------------- amplification
@pytest.mark.parametrize("form", ["first-order", "second-order"])
def test_amplification_hatano_nelson_cofactor(form):
    """Oracle: cofactors of a tridiagonal matrix, chi_N1/chi_1N = (tR/tL)^(N-1) for any omega, damping."""
    tl, tr = 0.4, 1.0
    amp = ch.amplification(lambda n: injected_hn(n, tl, tr) + 2.0 * np.eye(n), [2, 5, 10, 20], 1.3, 0.7, form)
    assert_allclose(amp.chi_n1 / amp.chi_1n, (tr / tl) ** (amp.sizes - 1), rtol=1e-9)
    assert amp.rate_n1 - amp.rate_1n == pytest.approx(np.log(tr / tl), rel=1e-9)
    chi = ch.greens_function(injected_hn(10, tl, tr) + 2.0 * np.eye(10), 1.3, 0.7, form)
    assert abs(chi[-1, 0]) == pytest.approx(amp.chi_n1[2], rel=1e-12)


def test_amplification_grows_exponentially_in_one_direction():
    """Oracle: transfer matrix. For (omega + i gamma/2 - H) with H Hatano-Nelson, det_N = (x+^(N+1) - x-^(N+1))/(x+ - x-),
    x+- the roots of x^2 - (omega + i gamma/2) x + tL tR, and chi_N1 = tR^(N-1)/det_N, chi_1N = tL^(N-1)/det_N:
    gain per site tR/|x+| > 1 (amplification) one way, tL/|x+| < 1 the other. The array form (leading blocks)
    equals the callable form."""
    tl, tr, gamma, w = 0.3, 1.0, 1.0, 0.2
    sizes = np.array([5, 10, 15, 20])
    amp = ch.amplification(injected_hn(20, tl, tr), sizes, w, gamma, "first-order")
    xp, xm = np.roots([1.0, -(w + 0.5j * gamma), tl * tr])
    det = (xp ** (sizes + 1) - xm ** (sizes + 1)) / (xp - xm)
    assert_allclose(amp.chi_n1, tr ** (sizes - 1) / np.abs(det), rtol=1e-10)
    assert_allclose(amp.chi_1n, tl ** (sizes - 1) / np.abs(det), rtol=1e-8)
    big = max(abs(xp), abs(xm))
    assert amp.rate_n1 == pytest.approx(np.log(tr / big), abs=0.01) and amp.rate_n1 > 0.1
    assert amp.rate_1n == pytest.approx(np.log(tl / big), abs=0.01) and amp.rate_1n < -1.0
    amp2 = ch.amplification(lambda n: injected_hn(n, tl, tr), sizes, w, gamma, "first-order")
    assert_allclose(amp.chi_n1, amp2.chi_n1, rtol=1e-12)
    assert_allclose(ch.greens_function([[4.0]], 1.0, 1.0), [[1 / (3 - 1j)]])


# ----------------------------------------------------------------------------- API hygiene
def test_errors_name_the_argument():
    """Oracle: the argument contract (ValueError naming the bad argument)."""
    cases = [
        (lambda: ch.chain_couplings([1.0], 0), "n"),
        (lambda: ch.chain_couplings([[1.0]], 3), "forward"),
        (lambda: ch.chain_couplings([1.0], 3, backward="x"), "backward"),
        (lambda: ch.hatano_nelson_localization_length(1.0, -1.0), "t_right"),
        (lambda: ch.polylog_unit(4, 0.1), "s"),
        (lambda: ch.polylog_unit(1, 0.1 + 1j), "theta"),
        (lambda: ch.lattice_sum({5: 1.0}, 0.1), "coeffs_by_power"),
        (lambda: ch.partial_lattice_sum({1: 1.0}, 0.1, 0), "M"),
        (lambda: ch.PowerKernel((1.0,), (0.1,), (4,)), "powers"),
        (lambda: ch.far_field_kernels(1.0, -2.0, 0.1), "kd"),
        (lambda: ch.bloch_function(lambda m: 1 / m, 0.3), "m_max"),
        (lambda: ch.truncate(np.ones((2, 3)), 1), "matrix"),
        (lambda: ch.truncate(np.ones((3, 3)), -1), "k_neighbours"),
        (lambda: ch.bulk_couplings(np.ones((3, 3)), site=3), "site"),
        (lambda: ch.localization(np.ones(5), edge_fraction=0.7), "edge_fraction"),
        (lambda: ch.localization(np.ones(1)), "vectors"),
        (lambda: ch.amplification(np.eye(4), [2, 8], 0.0), "sizes"),
        (lambda: ch.amplification(np.eye(4), [2], 0.0, form="third"), "form"),
        (lambda: ch.greens_function(np.eye(2), 1j), "omega"),
        (lambda: ch.winding_number([1, 2], 0.0), "curve"),
        (lambda: ch.open_vs_periodic_spectra(np.eye(3), bloch=3), "bloch"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=name):
            call()


def test_records_are_frozen():
    """Oracle: frozen dataclasses with read-only arrays."""
    sa = ch.skin_analysis(ch.hatano_nelson(6, 1.0, 1.2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        sa.eigenvalues = None
    with pytest.raises(ValueError):
        sa.right.ipr[0] = 1.0
    sp = ch.open_vs_periodic_spectra(ch.hatano_nelson(6, 1.0, 1.2))
    with pytest.raises(ValueError):
        sp.winding[0] = 3


@contextlib.contextmanager
def one_blas_thread():
    """Best effort: run scipy's bundled OpenBLAS with one thread (threadpoolctl if installed, else ctypes).

    On this 2-core machine two OpenBLAS threads contending with any other busy process slow
    ``scipy.linalg.eig`` of a 1000 x 1000 matrix from ~2 s to 15-22 s (measured)."""
    try:
        import threadpoolctl

        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            yield
        return
    except ImportError:
        pass
    libs = sorted(Path(scipy.__file__).parent.parent.glob("scipy.libs/libscipy_openblas*.so*"))
    lib = ctypes.CDLL(str(libs[0])) if libs else None
    get, put = (getattr(lib, f"scipy_openblas_{k}_num_threads", None) for k in ("get", "set")) if lib else (None, None)
    old = get() if get else None
    if put:
        put(1)
    try:
        yield
    finally:
        if put and old:
            put(old)


@pytest.mark.slow
def test_thousand_site_chain_timing():
    """Oracle: wall clock. A 1000-site long-range far-field chain: couplings + spectrum + right/left
    localization < 10 s. Measured 1.8-1.9 s with one BLAS thread (scipy.linalg.eig with both eigenvector sets)."""
    with one_blas_thread():
        t0 = time.perf_counter()
        f, b = ch.far_field_kernels(KD, KD, PHI)
        sa = ch.skin_analysis(-ch.chain_couplings(f, 1000, b))
        elapsed = time.perf_counter() - t0
    assert sa.eigenvalues.shape == (1000,) and np.all(np.isfinite(sa.right.inverse_length))
    assert np.max(sa.error_bound) < 1e-9
    assert elapsed < 10.0, f"1000-site chain took {elapsed:.1f} s"
