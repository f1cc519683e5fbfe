"""Closed-form two-tweezer optical-binding model (cdsolve.theory.two_tweezer).

Oracles (named per test): numpy eigen-decompositions; the algebraic definition of an
exceptional point (defective matrix, square-root splitting); the special settings of
PRL Fig. 3; a point-dipole far-field derivation written independently in this file
(own tweezer field, own Green tensor, own force, finite differences); the full
cdsolve coupled-dipole solver; single-particle photon-recoil heating; the PRL constant (A7);
the PRA commutator identity C_12 - C_21 = 4 Im D_12 / hbar; the tweezer field of cdsolve.optics.beams.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import constants as sc
from scipy.optimize import brentq

import cdsolve as cd
from cdsolve.theory.two_tweezer import (
    REGIMES,
    TwoTweezerModel,
    classify_regime,
    coupling_settings,
    exceptional_points,
    nonhermitian_eigenfrequencies,
    nonhermitian_matrix,
    unidirectional_settings,
)

LAM = 1550e-9
W0 = 1e-6
RADIUS = 104e-9
RHO = 2200.0
K = 2 * np.pi / LAM
ALPHA = 4 * np.pi * sc.epsilon_0 * RADIUS**3 * (1.45**2 - 1) / (1.45**2 + 2)  # real Clausius-Mossotti [F m^2]
MASS = 4 / 3 * np.pi * RADIUS**3 * RHO


def model(kd=2 * np.pi * 10 + 0.3, phi=0.7, powers=(0.1, 0.1), alpha=ALPHA, masses=(MASS, MASS), **kw):
    return TwoTweezerModel(LAM, alpha, distance=kd / K, waist=W0, powers=powers, phases=(phi, 0.0), masses=masses, **kw)


def _mismatch(a, b):
    """Largest distance between two pairs of eigenvalues under the better of the two pairings."""
    a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
    return min(np.max(np.abs(a - b)), np.max(np.abs(a - b[::-1])))


# --------------------------------------------------------------------------- eigenfrequencies
def test_eigenfrequencies_equal_numpy_eigenvalues(rng):
    """PRL eq. (12) vs numpy eigenvalues of PRL eq. (11) (oracle: numpy.linalg.eigvals), 1e-12."""
    for _ in range(200):
        dw, g_r, g_a = rng.normal(size=3) * rng.choice([1e-3, 1.0, 1e3])
        w = nonhermitian_eigenfrequencies(dw, g_r, g_a)
        ev = np.linalg.eigvals(nonhermitian_matrix(dw, g_r, g_a))
        scale = abs(dw) + abs(g_r) + abs(g_a)
        assert _mismatch(w, ev) < 1e-12 * scale
    # the model's own matrix: equal masses (PRL form) and unequal masses/polarizabilities
    for m in (model(), model(masses=(MASS, 1.7 * MASS), alpha=(ALPHA, 1.3 * ALPHA), powers=(0.1, 0.13))):
        ev = np.linalg.eigvals(m.dynamical_matrix)
        assert _mismatch(m.eigenfrequencies, ev) < 1e-12 * m.rate_constant


def test_prl_matrix_layout():
    """Equal masses: the model's matrix is PRL eq. (11) entry by entry (oracle: the printed matrix)."""
    m = model(powers=(0.1, 0.12))
    g_r, g_a = m.rates
    dw = m.detuning
    expect = np.array([[-dw / 2 + g_a, -g_r - g_a], [-g_r + g_a, dw / 2 - g_a]])
    assert_allclose(m.dynamical_matrix, expect, rtol=1e-12, atol=1e-12 * m.rate_constant)
    assert_allclose(m.frequency_shifts, [g_r + g_a, g_r - g_a], rtol=1e-12)  # PRL eq. (9)


def test_mode_frequencies_squared_equal_stiffness_eigenvalues():
    """PRA eq. (86) (and its unequal-mass generalization) vs numpy eigenvalues of K (exact, no RWA)."""
    for m in (model(powers=(0.1, 0.12)),
              model(phi=1.2, kd=2 * np.pi * 6 + 1.3, masses=(MASS, 0.6 * MASS), alpha=(ALPHA, 0.8 * ALPHA))):
        ev = np.linalg.eigvals(m.stiffness_matrix)
        assert _mismatch(m.mode_frequencies_squared, ev) < 1e-12 * m.mean_frequency**2


def test_rotating_wave_consistency():
    """sqrt(eig K) = omega_m + (s_1+s_2)/2 + eig H_NH up to O(g^2/omega_m, delta_omega^2/omega_m).

    Oracle: numpy eigenvalues of the full (non-RWA) stiffness matrix K of the equations of motion;
    this fixes the sign conventions of H_NH (PRL eq. 11) relative to C_12 = dF_1z/dz_2.
    """
    for m in (model(powers=(0.1, 0.105)), model(masses=(MASS, 1.1 * MASS), alpha=(ALPHA, 1.05 * ALPHA))):
        full = np.sqrt(np.linalg.eigvals(m.stiffness_matrix).astype(complex))
        rwa = m.mean_frequency + m.frequency_shifts.mean() + m.eigenfrequencies
        bound = (m.rate_constant**2 + m.detuning**2) / m.mean_frequency  # measured mismatch: 0.13 and 0.25 of it
        assert _mismatch(full, rwa) < bound
        # the sign convention of the detuning matters (the radicand has the cross term -4 g_a delta_omega)
        g_r, g_a = m.rates
        s1, s2 = m.frequency_shifts
        flipped = nonhermitian_eigenfrequencies(-m.detuning, g_r, g_a, shift_asymmetry=(s1 - s2) / 2)
        assert _mismatch(full, m.mean_frequency + m.frequency_shifts.mean() + flipped) > 4 * bound


# --------------------------------------------------------------------------- exceptional points
def _overlap(h):
    _, v = np.linalg.eig(h)
    v = v / np.linalg.norm(v, axis=0)
    return abs(np.vdot(v[:, 0], v[:, 1]))


def test_exceptional_points_are_defective():
    """Oracle: definition of an EP. At delta_omega = 2 g_a +- 2 sqrt(g_a^2 - g_r^2) the eigenvalues
    coincide, the eigenvectors become parallel (overlap -> 1) and the splitting grows like
    sqrt(distance to the EP)."""
    g_r, g_a = 0.3, 1.0
    eps_list = np.array([1e-2, 1e-4, 1e-6])
    eps_grid = np.logspace(-8, -2, 7)
    for dw_ep in exceptional_points(g_r, g_a):
        h = nonhermitian_matrix(dw_ep, g_r, g_a)
        ev = np.linalg.eigvals(h)
        assert abs(ev[0] - ev[1]) < 1e-6  # defective: numerical splitting ~ sqrt(machine eps)
        assert _overlap(h) > 1 - 1e-6
        assert _overlap(nonhermitian_matrix(dw_ep + 0.5, g_r, g_a)) < 0.99
        for sign in (+1, -1):
            split = np.array([abs(np.diff(np.linalg.eigvals(nonhermitian_matrix(dw_ep + sign * e, g_r, g_a)))[0])
                              for e in eps_grid])
            slope = np.polyfit(np.log(eps_grid), np.log(split), 1)[0]
            assert abs(slope - 0.5) < 0.01
            # and its prefactor: splitting^2 = |d radicand / d delta_omega| eps = 2 |delta_omega_EP - 2 g_a| eps
            pref = np.sqrt(2 * abs(dw_ep - 2 * g_a))
            assert_allclose(split, pref * np.sqrt(eps_grid), rtol=5e-3)
        ov = np.array([_overlap(nonhermitian_matrix(dw_ep + e, g_r, g_a)) for e in eps_list])
        assert np.all(np.diff(ov) > 0) and ov[-1] > 1 - 1e-2
    assert exceptional_points(1.0, 0.5) == ()


def test_model_tuned_to_exceptional_point_by_power_ratio():
    """End to end: choose P_2 so that the model's detuning equals its EP detuning (root finding);
    there the model's own H_NH is defective and the PT-broken flag flips across it."""
    kw = dict(phi=1.2, kd=2 * np.pi * 6 + 1.3)
    g_r, g_a = model(**kw).rates
    assert abs(g_a) > abs(g_r)

    def mismatch(p2):
        m = model(powers=(0.1, p2), **kw)
        return m.detuning - m.exceptional_point_detunings[1]

    p2 = brentq(mismatch, 0.1, 0.2, xtol=1e-16, rtol=1e-15)
    m = model(powers=(0.1, p2), **kw)
    assert _overlap(m.dynamical_matrix) > 1 - 1e-5
    assert abs(m.eigenfrequencies[0]) < 1e-4 * m.rate_constant
    inside, outside = model(powers=(0.1, p2 * 0.999), **kw), model(powers=(0.1, p2 * 1.001), **kw)
    assert inside.pt_broken and not outside.pt_broken


# --------------------------------------------------------------------------- special settings (PRL Fig. 3)
@pytest.mark.parametrize("n", [1, 5])
def test_reciprocal_setting(n):
    """Oracle: PRL point (I), phi = 0, kd = 2 pi n: C_12 = C_21, g_a = 0, D_12 = 0."""
    phi, kd = coupling_settings("reciprocal", n)
    m = model(kd=kd, phi=phi)
    c12, c21 = m.couplings
    assert_allclose(c12, c21, rtol=1e-12)
    assert_allclose(c12, m.coupling_constant, rtol=1e-12)
    assert abs(m.rates[1]) < 1e-12 * m.rate_constant
    assert abs(m.diffusion[0, 1]) < 1e-12 * abs(m.diffusion[0, 0])
    assert m.regime() == "reciprocal"


@pytest.mark.parametrize("n", [1, 5])
def test_antireciprocal_setting(n):
    """Oracle: PRL point (III), phi = pi/2, kd = 2 pi n + pi/2: C_12 = -C_21, g_r = 0, Re D_12 = 0."""
    phi, kd = coupling_settings("antireciprocal", n)
    m = model(kd=kd, phi=phi)
    c12, c21 = m.couplings
    assert_allclose(c12, -c21, rtol=1e-12)
    assert_allclose(abs(c12), m.coupling_constant, rtol=1e-12)
    assert abs(m.rates[0]) < 1e-12 * m.rate_constant
    assert abs(m.diffusion_rates[0, 1].real) < 1e-12 * m.rate_constant
    assert m.regime() == "antireciprocal"


@pytest.mark.parametrize("n", [1, 5])
def test_unidirectional_setting(n):
    """Oracle: PRL point (II), phi = pi/4, kd = 2 pi n + pi/4: C_21 = 0, C_12 = C, g_r = g_a."""
    phi, kd = unidirectional_settings(n)
    assert (phi, kd) == coupling_settings("unidirectional", n)
    assert_allclose([phi, kd], [np.pi / 4, 2 * np.pi * n + np.pi / 4], rtol=1e-15)
    m = model(kd=kd, phi=phi)
    c12, c21 = m.couplings
    assert abs(c21) < 1e-12 * m.coupling_constant
    assert_allclose(c12, m.coupling_constant, rtol=1e-12)
    g_r, g_a = m.rates
    assert_allclose(g_r, g_a, rtol=1e-12)
    assert m.regime() == "unidirectional"


def test_noise_dominated_setting():
    """Oracle: PRL point (IV), phi = 0, kd = 2 pi n + pi/2: g_r = g_a = 0 and Re D_12 maximal."""
    phi, kd = coupling_settings("noise-dominated", 2)
    m = model(kd=kd, phi=phi)
    g_r, g_a = m.rates
    assert abs(g_r) < 1e-12 * m.rate_constant and abs(g_a) < 1e-12 * m.rate_constant
    assert_allclose(m.diffusion_rates[0, 1].real, m.rate_constant, rtol=1e-12)
    assert m.regime() == "noise-dominated"


def test_regime_map_rules():
    """classify_regime implements the PRL Fig. 3 inequalities (oracle: the caption), order documented."""
    assert classify_regime(1.0, 0.2, 0.1) == "reciprocal"
    assert classify_regime(0.2, 1.0, 0.1) == "antireciprocal"
    assert classify_regime(1.0, 0.6, 0.0) == "unidirectional"  # g_12 = 1.6 > 2 * 0.4
    assert classify_regime(1.0, -0.6, 0.0) == "unidirectional"  # g_21 dominates
    assert classify_regime(0.1, 0.1, 0.5) == "noise-dominated"  # 0.5 > 2 * 0.2
    assert classify_regime(1.0, 0.2, 1.5) == "generic"  # noise beats g_r but not 2 max
    assert classify_regime(1.0, 0.2, 1.5, ratio=1.2) == "noise-dominated"
    # a sweep visits every regime and returns nothing else
    seen = {model(kd=2 * np.pi * 3 + x, phi=p).regime() for x in np.linspace(0, np.pi, 13) for p in np.linspace(0, np.pi / 2, 13)}
    assert seen == set(REGIMES)


# --------------------------------------------------------------------------- diffusion
def test_diffusion_hermitian_positive_semidefinite():
    """D = D^dagger, eigenvalues >= 0 (oracle: numpy eigvalsh) over phase/distance/power/particle sweeps."""
    for kd in np.linspace(2 * np.pi, 6 * np.pi, 17):
        for phi in np.linspace(-np.pi, np.pi, 9):
            for m in (model(kd=kd, phi=phi),
                      model(kd=kd, phi=phi, powers=(0.05, 0.3), alpha=(ALPHA, 2 * ALPHA * (1 + 0.01j)))):
                D = m.diffusion
                assert_allclose(D, D.conj().T, rtol=0, atol=1e-15 * abs(D[0, 0]))
                assert np.linalg.eigvalsh(D).min() >= 0
                assert np.all(np.isfinite(D))


def test_diffusion_diagonal_equals_photon_recoil_heating():
    """Oracle: single-particle recoil heating d<p_z^2>/dt = hbar^2 (kappa^2 + 2 k^2/5) Gamma_sc,
    Gamma_sc = sigma_sc I / (hbar omega), sigma_sc = k^4 alpha^2 / (6 pi eps0^2) (x-polarized dipole:
    <n_z^2> = 2/5 over its emission pattern); the model's convention is d<p^2>/dt = 2 D_11."""
    m = model(powers=(0.1, 0.3))
    zr = K * W0**2 / 2
    kap = K - 1 / zr
    sigma = K**4 * ALPHA**2 / (6 * np.pi * sc.epsilon_0**2)
    omega = 2 * np.pi * sc.c / LAM
    for j, p in enumerate((0.1, 0.3)):
        gamma = sigma * (2 * p / (np.pi * W0**2)) / (sc.hbar * omega)
        assert_allclose(2 * m.diffusion[j, j].real, sc.hbar**2 * (kap**2 + 0.4 * K**2) * gamma, rtol=1e-12)


def test_diffusion_offdiagonal_prl_form_and_commutator_identity():
    """Oracles: PRL eq. (8) Dt_12 = g sin(kd) cos(phi) + i g_a, and PRA (after eq. 81)
    C_12 - C_21 = 4 Im(D_12)/hbar (noise correlations preserve [z, p] = i hbar)."""
    for kd in np.linspace(2 * np.pi, 4 * np.pi, 9):
        for phi in np.linspace(-1.5, 1.5, 7):
            m = model(kd=kd, phi=phi, powers=(0.1, 0.2))
            g = m.rate_constant
            g_r, g_a = m.rates
            d12 = m.diffusion_rates[0, 1]
            assert_allclose(d12.real, g * np.sin(kd) * np.cos(phi), rtol=0, atol=1e-12 * g)
            assert_allclose(d12.imag, g_a, rtol=0, atol=1e-12 * g)
            c12, c21 = m.couplings
            assert_allclose(c12 - c21, 4 * m.diffusion[0, 1].imag / sc.hbar, rtol=0, atol=1e-12 * m.coupling_constant)
            assert_allclose(g_r, g * np.cos(kd) * np.cos(phi), rtol=0, atol=1e-12 * g)


# --------------------------------------------------------------------------- independent derivation
def _tweezer(r, focus, e0, phase):
    """Paraxial Gaussian (PRA eqs. 69-70), x-polarized, written here independently [V/m]."""
    zr = K * W0**2 / 2
    x, y, z = np.asarray(r, float) - np.asarray(focus, float)
    q = 1 + 1j * z / zr
    return e0 * np.exp(1j * phase) * np.exp(1j * K * z) / q * np.exp(-(x * x + y * y) / (W0**2 * q)) * np.array([1, 0, 0])


def _green(r):
    """Free-space dyadic Green tensor (E = k^2/eps0 G p), near + intermediate + far field."""
    d = np.linalg.norm(r)
    n = r / d
    kr = K * d
    a = 1 + 1j / kr - 1 / kr**2
    b = -1 - 3j / kr + 3 / kr**2
    return np.exp(1j * kr) / (4 * np.pi * d) * (a * np.eye(3) + b * np.outer(n, n))


def _binding_force_z(target, z1, z2, d, e0, phases, alpha):
    """Single-scattering axial force on particle `target` (0 or 1), F = Re[p^* . d_z E_loc]/2 with
    p = alpha E_loc, E_loc = own incident field + field of the other dipole; d_z by central differences."""
    foci = [np.zeros(3), np.array([0.0, d, 0.0])]
    pos = [foci[0] + [0, 0, z1], foci[1] + [0, 0, z2]]
    src = 1 - target

    def e_inc(r):
        return sum(_tweezer(r, f, e0[j], phases[j]) for j, f in enumerate(foci))

    p_src = alpha * e_inc(pos[src])

    def e_loc(r):
        return e_inc(r) + K**2 / sc.epsilon_0 * _green(r - pos[src]) @ p_src

    h = 2e-9
    r0 = pos[target]
    de = (e_loc(r0 + [0, 0, h]) - e_loc(r0 - [0, 0, h])) / (2 * h)
    return 0.5 * np.real(np.vdot(alpha * e_loc(r0), de))


def _direct_couplings(kd, phi, powers=(0.1, 0.1), alpha=ALPHA):
    d = kd / K
    e0 = [np.sqrt(2 * (2 * p / (np.pi * W0**2)) / (sc.c * sc.epsilon_0)) for p in powers]
    ph = (phi, 0.0)
    h = 5e-9
    c12 = (_binding_force_z(0, 0, h, d, e0, ph, alpha) - _binding_force_z(0, 0, -h, d, e0, ph, alpha)) / (2 * h)
    c21 = (_binding_force_z(1, h, 0, d, e0, ph, alpha) - _binding_force_z(1, -h, 0, d, e0, ph, alpha)) / (2 * h)
    return c12, c21


def test_coupling_matches_direct_point_dipole_derivation():
    """Oracle: 1550 nm, w0 = 1 um, 104 nm silica (real Clausius-Mossotti alpha, n = 1.45), coupling
    C_jj' = dF_jz/dz_j' obtained here from the point-dipole fields directly (own tweezer field with
    Gouy phase, full Green tensor, finite differences). Agreement is O(1/kd) and improves with kd.

    Measured (direct / model): kd = 10*2pi + 0.3: C_12 0.9984, C_21 1.0076; kd = 40*2pi + 0.3: 0.9995, 1.0018;
    at the coupling maximum kd = 40*2pi + 0.7 (phi = 0.7): C_12 / C = 0.99996.
    """
    errs = []
    for n in (10, 40):
        kd = 2 * np.pi * n + 0.3
        m = model(kd=kd, phi=0.7)
        c12, c21 = _direct_couplings(kd, 0.7)
        rel = np.array([c12 / m.couplings[0], c21 / m.couplings[1]]) - 1
        assert np.all(np.abs(rel) < 1 / kd)
        errs.append(np.max(np.abs(rel)))
    assert errs[1] < errs[0] / 3
    # magnitude: at a coupling maximum (kd - phi = 2 pi n) C_12 is C itself
    kd = 2 * np.pi * 40 + 0.7
    m = model(kd=kd, phi=0.7)
    c12, _ = _direct_couplings(kd, 0.7)
    assert_allclose(c12, m.coupling_constant, rtol=1 / kd)


def test_coupling_constant_hand_formula():
    """Oracle: C = alpha^2 k^2 (k - 1/zR)^2 E_1 E_2 / (8 pi eps0 d) evaluated by hand (PRA eq. 84 with
    eps0 chi^2 V^2 = alpha^2/eps0), and its value for the reference particle at d = 10 um, 2 x 100 mW."""
    d = 10e-6
    m = TwoTweezerModel(LAM, ALPHA, distance=d, waist=W0, powers=(0.1, 0.1), phases=(0, 0), masses=(MASS, MASS))
    e2 = 2 * (2 * 0.1 / (np.pi * W0**2)) / (sc.c * sc.epsilon_0)
    kap = K - 2 / (K * W0**2)
    c_hand = ALPHA**2 * K**2 * kap**2 * e2 / (8 * np.pi * sc.epsilon_0 * d)
    assert_allclose(m.coupling_constant, c_hand, rtol=1e-12)
    assert_allclose(m.coupling_constant, 5.079e-9, rtol=1e-3)
    assert_allclose(kap / K, 0.8783, rtol=1e-4)  # the Gouy correction lowers C by (kappa/k)^2 = 0.77


def test_constant_binding_force_matches_direct_derivation():
    """Oracle: the same direct point-dipole force at the foci, F_j - F_j(isolated) = (C/kappa) sin(kd -+ phi)."""
    kd, phi = 2 * np.pi * 40 + 0.3, 0.7
    m = model(kd=kd, phi=phi)
    d = kd / K
    e0 = [np.sqrt(2 * (2 * 0.1 / (np.pi * W0**2)) / (sc.c * sc.epsilon_0))] * 2
    f = [_binding_force_z(j, 0, 0, d, e0, (phi, 0.0), ALPHA) for j in (0, 1)]
    # the direct force of a real alpha has no radiation pressure: it is the interaction force only
    assert_allclose(f, m.interaction_forces, rtol=3 / kd)
    rad = m.constant_forces - m.interaction_forces
    zr = K * W0**2 / 2
    expect = (K - 1 / zr) * K**3 * ALPHA**2 * e0[0] ** 2 / (12 * np.pi * sc.epsilon_0)  # PRA eq. (85), first term
    assert_allclose(rad, [expect, expect], rtol=1e-12)


def test_coupling_matches_cdsolve_solver():
    """Oracle: the full cdsolve coupled-dipole solver (two GaussianTweezers, DipoleParticle, self-consistent),
    numerical dF_1z/dz_2 and dF_2z/dz_1, including a complex (radiatively corrected) polarizability,
    which adds arg(alpha_1 alpha_2) to the interference phase.

    Measured (kd = 40*2pi + 0.3, phi = 0.7): real alpha 0.9986, 1.0009; complex alpha (300 nm, n = 2,
    arg alpha = 0.54) 0.993, 0.997 (0.84, -0.90 if the phase of alpha were ignored).
    """
    from cdsolve.optics.polarizability import radiative_correction

    a0 = 4 * np.pi * sc.epsilon_0 * (300e-9) ** 3 * 3 / 6
    alpha_c = complex(radiative_correction(np.eye(3) * a0, K, 1.0)[0, 0])
    kd, phi = 2 * np.pi * 40 + 0.3, 0.7
    for alpha, tol in ((ALPHA, 3 / kd), (alpha_c, 3 / kd)):
        m = model(kd=kd, phi=phi, alpha=alpha)
        d = kd / K
        beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=0.1, phase=phi),
                 cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=0.1, phase=0.0)]
        part = cd.DipoleParticle(alpha_e=alpha)

        def fz(z1, z2):
            sc_ = cd.Scene(positions=[[0, 0, z1], [0, d, z2]], particles=part, illumination=beams)
            return cd.solve(sc_).interaction_forces()[:, 2]

        h = 20e-9
        c12 = (fz(0, h)[0] - fz(0, -h)[0]) / (2 * h)
        c21 = (fz(h, 0)[1] - fz(-h, 0)[1]) / (2 * h)
        assert_allclose([c12, c21], m.couplings, rtol=tol)
        assert_allclose(fz(0, 0), m.interaction_forces, rtol=tol)


# --------------------------------------------------------------------------- scalings and constants
def test_scalings():
    """Oracle: the functional form of PRA eq. (84): C ~ sqrt(P_1 P_2), alpha^2, 1/d (exact), and D_jj ~ P_j alpha_j^2."""
    base = model()
    c0 = base.coupling_constant
    assert_allclose(model(powers=(0.1, 0.4)).coupling_constant, 2 * c0, rtol=1e-12)
    assert_allclose(model(powers=(0.4, 0.1)).coupling_constant, 2 * c0, rtol=1e-12)
    assert_allclose(model(alpha=2 * ALPHA).coupling_constant, 4 * c0, rtol=1e-12)
    assert_allclose(model(alpha=(ALPHA, 3 * ALPHA)).coupling_constant, 3 * c0, rtol=1e-12)
    kd = 2 * np.pi * 10 + 0.3
    assert_allclose(model(kd=2 * kd).coupling_constant, c0 / 2, rtol=1e-12)
    assert_allclose(model(kd=5 * kd).coupling_constant, c0 / 5, rtol=1e-12)
    d = model(powers=(0.1, 0.4), alpha=(ALPHA, 2 * ALPHA)).diffusion
    assert_allclose(d[1, 1] / d[0, 0], 4 * 4, rtol=1e-12)
    # the polarization angles enter as cos(Theta_1) cos(Theta_2)
    assert_allclose(model(polarization_angles=(np.pi / 3, 0.0)).coupling_constant, c0 / 2, rtol=1e-12)


def test_prl_constant_G():
    """Oracle: PRL eq. (A7) G = alpha^2 k^5 E_1 E_2 / (16 pi m eps0 omega) (no Gouy term); the model's
    Gouy-corrected G differs by (kappa/k)^2 and g = G/(kd)."""
    m = model(powers=(0.1, 0.2))
    e1, e2 = [np.sqrt(4 * p / (np.pi * W0**2 * sc.c * sc.epsilon_0)) for p in (0.1, 0.2)]
    g_a7 = ALPHA**2 * K**5 * e1 * e2 / (16 * np.pi * MASS * sc.epsilon_0 * m.mean_frequency)
    assert_allclose(m.rate_constant_G * (m.k / m.kappa) ** 2, g_a7, rtol=1e-12)
    assert_allclose(m.rate_constant, m.rate_constant_G / m.kd, rtol=1e-12)


def test_trap_frequency_and_field_against_beams_module():
    """Oracle: cdsolve.optics.beams.GaussianTweezer: |E| at the focus equals field_amplitudes, and
    m omega^2 = -d^2 V/dz^2 with V = -Re(alpha) |E(z)|^2 / 4 along the axis (finite differences)."""
    m = model(powers=(0.1, 0.25))
    for j, p in enumerate((0.1, 0.25)):
        tw = cd.GaussianTweezer(LAM, waist=W0, power=p)
        h = 20e-9
        e, _ = tw.fields([[0, 0, -h], [0, 0, 0], [0, 0, h]], 1.0)
        i2 = np.sum(np.abs(e) ** 2, axis=1)
        assert_allclose(np.sqrt(i2[1]), m.field_amplitudes[j], rtol=1e-12)
        stiffness = ALPHA / 4 * -(i2[0] - 2 * i2[1] + i2[2]) / h**2
        assert_allclose(MASS * m.trap_frequencies[j] ** 2, stiffness, rtol=1e-3)


def test_medium_index_scaling():
    """Oracle: in a host of index n at fixed k (wavelength scaled by n), E^2 ~ 1/n and 1/eps ~ 1/n^2:
    C ~ n^-3 relative to vacuum at the same k d."""
    kd = 2 * np.pi * 10 + 0.3
    m1 = TwoTweezerModel(LAM, ALPHA, distance=kd / K, waist=W0, powers=(0.1, 0.1), phases=(0, 0), masses=(MASS, MASS))
    m2 = TwoTweezerModel(1.33 * LAM, ALPHA, distance=kd / K, waist=W0, powers=(0.1, 0.1), phases=(0, 0),
                         masses=(MASS, MASS), n_medium=1.33)
    assert_allclose(m2.k, m1.k, rtol=1e-14)
    assert_allclose(m2.coupling_constant, m1.coupling_constant / 1.33**3, rtol=1e-12)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(wavelength=-1.0), "wavelength"),
        (dict(wavelength=float("nan")), "wavelength"),
        (dict(polarizability=-1e-32), "polarizability"),
        (dict(polarizability=1e-32 - 1e-34j), "polarizability"),
        (dict(polarizability=(1e-32, 1e-32, 1e-32)), "polarizability"),
        (dict(polarizability=(1e-32, "x")), r"polarizability\[1\]"),
        (dict(distance=0.0), "distance"),
        (dict(distance=1e-7), "far field"),
        (dict(waist=0.0), "waist"),
        (dict(powers=(0.1,)), "powers"),
        (dict(powers=(0.1, -0.1)), r"powers\[1\]"),
        (dict(powers=0.1), "powers"),
        (dict(phases=(0.0, float("inf"))), r"phases\[1\]"),
        (dict(masses=(1e-17, 0.0)), r"masses\[1\]"),
        (dict(n_medium=1 + 0.1j), "n_medium"),
        (dict(n_medium=0.0), "n_medium"),
        (dict(polarization_angles=(0.0,)), "polarization_angles"),
    ],
)
def test_bad_inputs_raise_naming_the_field(kw, match):
    """Oracle: the error message names the offending field."""
    args = dict(wavelength=LAM, polarizability=ALPHA, distance=10e-6, waist=W0, powers=(0.1, 0.1),
                phases=(0.0, 0.0), masses=(MASS, MASS))
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        TwoTweezerModel(**args)


def test_settings_bad_inputs():
    with pytest.raises(ValueError, match="regime"):
        coupling_settings("sideways", 1)
    with pytest.raises(ValueError, match="n must"):
        coupling_settings("reciprocal", 0)
    with pytest.raises(ValueError, match="ratio"):
        classify_regime(1.0, 0.0, 0.0, ratio=-1)
