"""Casimir-Polder free energy, forces and stiffness (cdsolve.optics.casimir).

Oracles: the closed-form imaginary-frequency dipole coupling; the textbook London,
Casimir-Polder and classical (n = 0 Matsubara) limits of a single-oscillator material; a brute-force
Matsubara sum of 2e6 terms; the Axilrod-Teller three-body energy; central finite differences of
the analytic forces and stiffness; Newton's third law.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.optics.casimir import (FluctuatingDipole, FluctuatingSphere, casimir_energy, casimir_energy_and_forces,
                             casimir_forces, casimir_pair_energy, casimir_stiffness, coupling_tensor,
                             frequency_rule)
from cdsolve.optics.conventions import C0, EPS0, HBAR, KB
from cdsolve.optics.materials import SILICA_DRUDE_LORENTZ, DrudeLorentz

W0 = 1e16  # single-oscillator resonance [rad/s]
EPS_S = 3.0
OSC = DrudeLorentz(1.0, [(np.sqrt(EPS_S - 1) * W0, W0, 0.0)], "single oscillator", "test")
A0 = (EPS_S - 1) / (EPS_S + 2)  # alpha~(0)
OMEGA = W0 * np.sqrt((EPS_S + 2) / 3)  # alpha~(i xi) = A0 / (1 + xi^2/OMEGA^2)


def _tr_T2(r, xi):
    """Independent closed form of tr T(r, i xi)^2 (eigenvalues 2+2x and -(1+x+x^2) (twice), x = xi r/c)."""
    x = xi * r / C0
    return np.exp(-2 * x) * ((2 + 2 * x) ** 2 + 2 * (1 + x + x * x) ** 2) / (4 * np.pi * EPS0 * r**3) ** 2


def test_coupling_tensor_closed_form(rng):
    """T(r, i xi) from green.py's coefficient lists at k = i kappa equals the closed form of the module
    docstring (derived by hand), including the static xi = 0 limit and a host index; round-off level."""
    r = rng.normal(size=(20, 3)) * 1e-7
    d = np.linalg.norm(r, axis=1)
    rh = r / d[:, None]
    for xi, n_m in [(0.0, 1.0), (3e14, 1.0), (5e15, 1.0), (2e15, 1.33)]:
        x = n_m * xi * d / C0
        ref = np.exp(-x)[:, None, None] / (4 * np.pi * EPS0 * n_m**2 * d**3)[:, None, None] * (
            (3 + 3 * x + x * x)[:, None, None] * rh[:, :, None] * rh[:, None, :]
            - (1 + x + x * x)[:, None, None] * np.eye(3))
        T = coupling_tensor(r, xi, n_m)
        assert_allclose(T, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())  # tolerance: round-off


@pytest.mark.parametrize("regime", ["london", "casimir-polder", "classical"])
def test_textbook_limits(regime):
    """Pair free energy of a single-oscillator material deep inside each regime (1 % demanded).

    London (T = 0, r = 1e-3 c/w0): -(3 hbar/pi)(R/r)^6 int alpha~^2 d xi = -(3/4) hbar OMEGA A0^2 (R/r)^6;
    Casimir-Polder (T = 0, r = 1e3 c/w0): -(23/4pi) hbar c R^6 A0^2 / r^7;
    classical (T = 300 K, r = 1 mm >> hbar c/k_B T = 7.6 um): n = 0 term only, halved:
    -(k_B T/2) A0^2 R^6 tr T(0)^2 (4 pi eps0)^2 = -3 k_B T A0^2 R^6/r^6.
    Measured deviations: 6e-7, 3e-6, 1e-15.
    """
    R = 1e-12
    s = FluctuatingSphere(R, OSC)
    if regime == "london":
        T, r = 0.0, 1e-3 * C0 / W0
        ref = -0.75 * HBAR * OMEGA * A0**2 * (R / r) ** 6
    elif regime == "casimir-polder":
        T, r = 0.0, 1e3 * C0 / W0
        ref = -23 / (4 * np.pi) * HBAR * C0 * R**6 * A0**2 / r**7
    else:
        T, r = 300.0, 1e-3
        ref = -3 * KB * T * A0**2 * (R / r) ** 6
    e = casimir_pair_energy([r], s, temperature=T)[0]
    assert_allclose(e, ref, rtol=1e-2)  # acceptance: 1 % (measured 6e-7 / 3e-6 / 1e-15)
    assert_allclose(e, ref, rtol=1e-5)  # and in fact far better: the regimes are deep


@pytest.mark.parametrize("r", [1e-9, 1e-8, 1e-7, 1e-6, 1e-5])
def test_matsubara_rule_vs_brute_force(r):
    """The frequency rule (direct terms + Euler-Maclaurin tail) equals a brute-force sum of 2e6 Matsubara
    terms of the closed-form integrand for silica at 300 K (truncation rtol 1e-6; measured <= 9e-7)."""
    s = FluctuatingSphere(0.2e-9, SILICA_DRUDE_LORENTZ)
    xi = 2 * np.pi * KB * 300.0 / HBAR * np.arange(2_000_000)
    f = -s.polarizability(xi) ** 2 * _tr_T2(r, xi)
    f[0] *= 0.5
    brute = KB * 300.0 * f.sum()
    assert_allclose(casimir_pair_energy([r], s, temperature=300.0)[0], brute, rtol=2e-6)  # rule's rtol 1e-6
    rule = frequency_rule(300.0, [s], r)
    assert rule.tail == (r <= 1e-8)  # the short distances need the tail; the long ones stop early


def test_zero_temperature_is_limit_of_matsubara_sum():
    """At r = 2 nm the thermal correction at T = 1 K is ~(k_B T r/hbar c)^... negligible, so the Matsubara
    rule (200 direct terms + Euler-Maclaurin tail over ~3e4 spacings) must reproduce the independent
    T = 0 log-Gauss-Legendre integral (measured 1e-9)."""
    s = FluctuatingSphere(0.5e-9, SILICA_DRUDE_LORENTZ)
    e0 = casimir_pair_energy([2e-9], s, temperature=0.0)[0]
    e1 = casimir_pair_energy([2e-9], s, temperature=1.0)[0]
    assert_allclose(e1, e0, rtol=1e-6)


def test_axilrod_teller_three_body():
    """Many-body minus pairwise energy of an equilateral triangle (T = 0, non-retarded) equals the
    Axilrod-Teller energy C9 (1 + 3 cos^3 60deg)/r^9, C9 = (3 hbar/pi) R^9 int alpha~^3 = (9/16) hbar OMEGA A0^3 R^9,
    up to O(alpha^4): relative residual ~ (R/r)^3 (measured 2.0e-2 at R/r = 0.2, 2.5e-3 at 0.1)."""
    r = 1e-10
    res = []
    for q in (0.2, 0.1):
        s = FluctuatingSphere(q * r, OSC)
        pos = np.array([[0, 0, 0], [r, 0, 0], [r / 2, r * np.sqrt(3) / 2, 0]])
        diff = (casimir_energy(pos, s, temperature=0.0) - casimir_energy(pos, s, temperature=0.0, method="pairwise"))
        at = 9 / 16 * HBAR * OMEGA * A0**3 * (q * r) ** 9 * (1 + 3 / 8) / r**9
        res.append(diff / at - 1)
    assert abs(res[1]) < 5e-3  # O((R/r)^3) residual: 2.5e-3 measured
    assert_allclose(res[0] / res[1], 8.0, rtol=0.1)  # scaling (0.2/0.1)^3 = 8 (measured 7.96)


def test_many_body_tends_to_pairwise_and_differs_for_dense_clusters(rng):
    """log det energy / pairwise sum -> 1 like (R/r)^3 (O(alpha^3) difference); dense silica clusters at
    300 K (R = 100 nm, nearest gaps 10 nm) differ measurably (3 spheres: -0.84 %, 10 spheres: -0.4 %)."""
    devs = []
    base = np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0.2]]) * 1e-6
    for R in (100e-9, 50e-9, 25e-9):
        s = FluctuatingSphere(R, SILICA_DRUDE_LORENTZ)
        devs.append(casimir_energy(base, s, temperature=300.0) / casimir_energy(base, s, temperature=300.0,
                                                                                 method="pairwise") - 1)
    devs = np.abs(devs)
    assert devs[0] < 1e-3
    assert_allclose(devs[:-1] / devs[1:], 8.0, rtol=0.1)  # (R/r)^3 scaling
    s = FluctuatingSphere(100e-9, SILICA_DRUDE_LORENTZ)
    tri = np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0]]) * 210e-9
    d3 = casimir_energy(tri, s, temperature=300.0) / casimir_energy(tri, s, temperature=300.0, method="pairwise") - 1
    pts = [np.zeros(3)]
    while len(pts) < 10:  # random touching cluster, gaps >= 10 nm
        v = rng.normal(size=3)
        c = pts[rng.integers(len(pts))] + v / np.linalg.norm(v) * 210e-9
        if min(np.linalg.norm(c - p) for p in pts) >= 209.9e-9:
            pts.append(c)
    pos = np.array(pts)
    d10 = casimir_energy(pos, s, temperature=300.0) / casimir_energy(pos, s, temperature=300.0, method="pairwise") - 1
    print(f"dense clusters at 300 K: many-body/pairwise - 1 = {d3:.4e} (3 spheres), {d10:.4e} (10 spheres)")
    assert abs(d3) > 1e-3 and abs(d10) > 1e-3  # measurable (measured -8.4e-3 and -4.3e-3)


def test_two_dipole_log_det_matches_eigen_closed_form():
    """Two dipoles: the N-body Cholesky log det equals the eigen-decomposition sum
    log(1 - a^2 lambda_L^2) + 2 log(1 - a^2 lambda_T^2) of casimir_pair_energy (round-off level)."""
    s = FluctuatingSphere(20e-9, SILICA_DRUDE_LORENTZ)
    for r in (45e-9, 300e-9):
        for T in (0.0, 300.0):
            pos = np.array([[0, 0, 0], [0.3 * r, 0.4 * r, np.sqrt(0.75) * r]])
            e_nb = casimir_energy(pos, s, temperature=T)
            e_2 = casimir_pair_energy([np.linalg.norm(pos[1])], s, temperature=T, method="many-body")[0]
            assert_allclose(e_nb, e_2, rtol=1e-12)  # same nodes, independent algebra: round-off


@pytest.mark.parametrize("method", ["pairwise", "many-body"])
@pytest.mark.parametrize("T", [0.0, 300.0])
def test_forces_are_minus_gradient(rng, method, T):
    """Analytic forces vs central differences of the energy (h = 1e-13 m on a ~100 nm cluster: truncation
    ~1e-12, round-off ~1e-16 |E| / h; measured <= 6e-8 of max|F|), and Newton's third law (sum F = 0)."""
    s = FluctuatingSphere(20e-9, SILICA_DRUDE_LORENTZ)
    pos = rng.uniform(0, 300e-9, (4, 3))
    pos[1] = pos[0] + [60e-9, 0, 0]  # a close pair: strong many-body coupling
    e, F = casimir_energy_and_forces(pos, s, temperature=T, method=method)
    assert_allclose(F, casimir_forces(pos, s, temperature=T, method=method), rtol=1e-14)
    h = 1e-13
    fd = np.zeros_like(F)
    for i in range(len(pos)):
        for c in range(3):
            p = pos.copy()
            p[i, c] += h
            ep = casimir_energy(p, s, temperature=T, method=method)
            p[i, c] -= 2 * h
            fd[i, c] = -(ep - casimir_energy(p, s, temperature=T, method=method)) / (2 * h)
    assert_allclose(F, fd, rtol=0, atol=3e-7 * np.abs(F).max())
    assert_allclose(F.sum(axis=0), 0.0, atol=1e-13 * np.abs(F).max())  # exact translation invariance


@pytest.mark.parametrize("method", ["pairwise", "many-body"])
def test_stiffness_is_minus_force_jacobian(rng, method):
    """Stiffness K = -dF/dr: pairwise analytic Hessian and many-body FD stiffness vs central differences
    of the analytic forces (h = 1e-13 m; measured 1e-10 / 5e-10 of max|K|); K symmetric, rows sum to 0."""
    s = FluctuatingSphere(20e-9, SILICA_DRUDE_LORENTZ)
    pos = rng.uniform(0, 300e-9, (3, 3))
    K = casimir_stiffness(pos, s, temperature=300.0, method=method)
    fd = np.zeros_like(K)
    h = 1e-13
    for q in range(9):
        dp = np.zeros(9)
        dp[q] = h
        fp = casimir_forces(pos + dp.reshape(3, 3), s, temperature=300.0, method=method)
        fm = casimir_forces(pos - dp.reshape(3, 3), s, temperature=300.0, method=method)
        fd[:, q] = -(fp - fm).ravel() / (2 * h)
    assert_allclose(K, fd, rtol=0, atol=1e-7 * np.abs(K).max())
    assert_allclose(K, K.T, rtol=0, atol=1e-12 * np.abs(K).max())
    assert_allclose(K.reshape(3, 3, 3, 3).sum(axis=2), 0.0, atol=1e-9 * np.abs(K).max())  # translation


def test_scene_input_equals_explicit_particles():
    """A cdsolve.Scene with Sphere(material=silica Drude-Lorentz) gives the same forces as the explicit
    FluctuatingSphere (same model), and a constant real index equals eps = n^2 (exact)."""
    pos = [[0, 0, 0], [400e-9, 0, 0]]
    sc = cd.Scene(positions=pos, particles=cd.Sphere(radius=100e-9, material=SILICA_DRUDE_LORENTZ, model="rayleigh"),
                  illumination=cd.PlaneWave(1064e-9, intensity=1e9))
    f1 = casimir_forces(sc, temperature=300.0)
    f2 = casimir_forces(pos, FluctuatingSphere(100e-9, SILICA_DRUDE_LORENTZ), temperature=300.0)
    assert_allclose(f1, f2, rtol=1e-14)
    sc2 = sc.subset([0, 1]).__class__(positions=pos, particles=cd.Sphere(radius=100e-9, index=1.45),
                                      illumination=sc.illumination)
    assert_allclose(casimir_energy(sc2, temperature=0.0),
                    casimir_energy(pos, FluctuatingSphere(100e-9, 1.45**2), temperature=0.0), rtol=1e-14)


def test_user_polarizability_function_equals_sphere():
    """FluctuatingDipole with alpha(xi) = 4 pi eps0 R^3 (eps-1)/(eps+2) reproduces the sphere (exact)."""
    R = 30e-9
    sph = FluctuatingSphere(R, SILICA_DRUDE_LORENTZ)
    dip = FluctuatingDipole(lambda xi: sph.polarizability(xi), radius=R)
    pos = [[0, 0, 0], [100e-9, 20e-9, 0], [0, 150e-9, 30e-9]]
    assert_allclose(casimir_energy(pos, dip, temperature=300.0), casimir_energy(pos, sph, temperature=300.0),
                    rtol=1e-14)


def test_bad_input_raises():
    s = FluctuatingSphere(10e-9, SILICA_DRUDE_LORENTZ)
    pos = [[0, 0, 0], [1e-6, 0, 0]]
    with pytest.raises(ValueError, match="temperature"):
        casimir_energy(pos, s, temperature=-1.0)
    with pytest.raises(ValueError, match="overlap or coincide"):
        casimir_energy([[0, 0, 0], [0, 0, 0]], s, temperature=300.0)
    with pytest.raises(ValueError, match="overlap"):
        casimir_forces([[0, 0, 0], [15e-9, 0, 0]], s, temperature=300.0)
    with pytest.raises(ValueError, match="r must"):
        casimir_pair_energy([0.0], s, temperature=300.0)
    with pytest.raises(ValueError, match=r"eps\(i xi\) must be >= 1"):
        casimir_energy(pos, FluctuatingSphere(10e-9, lambda xi: 0.5 + 0 * xi), temperature=300.0)
    with pytest.raises(ValueError, match=r"eps\(i xi\) must be >= 1"):
        FluctuatingSphere(10e-9, 0.9)
    with pytest.raises(ValueError, match="complex index"):
        casimir_energy(pos, cd.Sphere(radius=10e-9, index=1.45 + 0.1j), temperature=300.0)
    with pytest.raises(ValueError, match="method"):
        casimir_energy(pos, s, temperature=300.0, method="three-body")
    with pytest.raises(ValueError, match="FluctuatingSphere.radius"):
        FluctuatingSphere(-1e-9, 2.0)
    with pytest.raises(ValueError, match="polarization catastrophe"):
        # point dipoles with a huge polarizability, closer than the catastrophe distance (4 pi eps0 r^3 < 2 alpha)
        big = FluctuatingDipole(lambda xi: 4 * np.pi * EPS0 * 1e-21 + 0 * xi)
        casimir_energy([[0, 0, 0], [1e-7, 0, 0]], big, temperature=0.0)
