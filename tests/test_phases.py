"""Phases and exceptional points of the full solver along parameter paths (cdsolve.dynamics.parameter_paths).

Oracles: the closed-form far-field two-tweezer model (cdsolve.theory.two_tweezer.TwoTweezerModel, Rudolph et al.
PRA 2024 / PRL): EP detunings ``delta_omega = 2 a_s +- 2 sqrt(g_a^2 - g_r^2)``, couplings
``C_12 = C cos(kd - phi)``, ``C_21 = C cos(kd + phi)``; symmetry (reciprocal setting: ``K = K^T``, so
no EP can exist); the generic EP machinery of cdsolve.dynamics.modes applied to the model's own matrix.

Geometry throughout: 1550 nm, waist 1 um, 0.1 W tweezers, 104 nm silica (real Clausius-Mossotti alpha,
2200 kg/m^3), polarization perpendicular to the separation (``phases.two_tweezer_scene``).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

from cdsolve.dynamics.linear_model import linearize
from cdsolve.theory.two_tweezer import TwoTweezerModel, coupling_settings, exceptional_points
from cdsolve.dynamics.modes import find_exceptional_points
from cdsolve.dynamics.parameter_paths import (
    SILICA_104NM,
    dynamical_matrix_fn,
    dynamical_matrix_path,
    exceptional_points_along,
    linear_models_along,
    phase_diagram_over,
    phases_along,
    two_tweezer_scene,
)

LAM, W0, P1 = 1550e-9, 1e-6, 0.1
K = 2 * np.pi / LAM
ALPHA = float(np.real(np.asarray(SILICA_104NM.alpha_e)).ravel()[0])
MASS = 4 / 3 * np.pi * SILICA_104NM.radius**3 * SILICA_104NM.density
GRID = np.linspace(0.095, 0.125, 7)  # P_2 [W]: one EP per interval at n = 8 (EPs at ~0.1001, ~0.1085)


def model(kd, phi, p2=P1):
    return TwoTweezerModel(LAM, ALPHA, distance=kd / K, waist=W0, powers=(P1, p2), phases=(phi, 0.0),
                           masses=(MASS, MASS))


def _model_ep_powers(kd, phi, gouy_amplitude=False):
    """P_2 where the model's detuning equals its EP detunings (each depends on P_2: self-consistent roots).

    ``gouy_amplitude=True`` multiplies the shift asymmetry a_s by ``1 + 1/(kappa zR)^2`` (see the test)."""
    def mismatch(p2, i):
        m = model(kd, phi, p2)
        g_r, g_a = m.rates
        s1, s2 = m.frequency_shifts
        a_s = 0.5 * (s1 - s2) * (1 + (1 / (m.kappa * m.rayleigh_range) ** 2 if gouy_amplitude else 0.0))
        return m.detuning - exceptional_points(g_r, g_a, shift_asymmetry=a_s)[i]

    return [brentq(mismatch, 0.095, 0.1045, args=(0,), xtol=1e-16), brentq(mismatch, 0.1045, 0.125, args=(1,), xtol=1e-16)]


def test_antireciprocal_two_exceptional_points_match_closed_form():
    """phi = pi/2, kd = 2 pi 8 + pi/2 (g_r = 0): the full solver's real 2x2 D = M^-1 K has exactly two EPs
    along P_2 (complex omega^2 between them), at the closed-form detunings delta_omega = 2 g_a +- 2 |g_a|,
    i.e. 0 and 4 g_a.

    Conventions: the model's EP formula is written in the rotating frame (RWA), but for the real 2x2 matrix
    the discriminant (D_11 - D_22)^2 + 4 D_12 D_21 = 4 omega_m^2 [(delta_omega - 2 a_s)^2 + 4 (g_r^2 - g_a^2)]
    holds exactly (omega_1^2 - omega_2^2 = -2 omega_m delta_omega): the RWA does not move the EPs (checked
    below on the model's own stiffness matrix to 1e-12). Detunings are the model's bare ones,
    omega_2(P_2) - omega_1.

    Measured (n = 8, kd = 51.8): solver minus closed form = +0.0384 g_a (lower EP), +0.0424 g_a (upper);
    in P_2: +7.8e-4, +8.2e-4 relative. The 0.0384 does not fall with kd (same at n = 4 and 16): it is
    2/(kappa zR)^2 = 2 x 0.0192. The model's binding stiffening of the own trap, K_j = C_jj' (PRA eq. 76),
    keeps only the Gouy *phase* of the tweezer (kappa = k - 1/zR); its Gouy *amplitude* curvature
    (d^2/dz^2 [e^{ikz}/(1 + iz/zR)] = -(kappa^2 + 1/zR^2) at the focus) multiplies it by 1 + 1/(kappa zR)^2.
    With that factor on a_s the residuals are -1.4e-5 g_a and 2.5e-3 g_a (measured 5e-5, 9.6e-3 at n = 4;
    3.7e-6, 6.2e-4 at n = 16: O(1/kd^2) near-field terms). Tolerances: 0.05 g_a plain, 1e-4 / 5e-3 g_a
    with the Gouy-amplitude factor.
    """
    phi, kd = coupling_settings("antireciprocal", 8)
    path = lambda p2: two_tweezer_scene(kd, phi, powers=(P1, p2))  # noqa: E731
    eps = exceptional_points_along(path, GRID)
    assert len(eps) == 2
    for e in eps:
        assert e.overlap > 1 - 1e-6 and e.petermann > 1e6  # eigenvector collapse of the solver's D
    g_r, g_a = model(kd, phi).rates
    assert abs(g_r) < 1e-12 * g_a
    # the model's exact (no RWA) stiffness matrix has its EPs exactly at the closed-form detunings
    p_cf = _model_ep_powers(kd, phi)
    p_k = [e.parameter for e in find_exceptional_points(lambda p2: model(kd, phi, p2).stiffness_matrix, GRID)]
    assert_allclose(p_k, p_cf, rtol=1e-12)
    assert_allclose(p_cf[0], P1, rtol=1e-12)  # delta_omega = 0 for g_r = 0
    # full solver vs closed form, as detunings in units of g_a
    dw_solver = np.array([model(kd, phi, e.parameter).detuning for e in eps])
    dw_cf = np.array([model(kd, phi, p).exceptional_point_detunings[i] for i, p in enumerate(p_cf)])
    assert_allclose(dw_cf[1], 4 * model(kd, phi, p_cf[1]).rates[1], rtol=1e-12)
    assert np.all(np.abs(dw_solver - dw_cf) < 0.05 * g_a)
    assert_allclose([e.parameter for e in eps], p_cf, rtol=1.5e-3)
    # the residual is the Gouy amplitude curvature of the binding stiffening
    p_corr = _model_ep_powers(kd, phi, gouy_amplitude=True)
    resid = np.array([model(kd, phi, e.parameter).detuning - model(kd, phi, p).detuning for e, p in zip(eps, p_corr)])
    assert abs(resid[0]) < 1e-4 * g_a and abs(resid[1]) < 5e-3 * g_a
    # broken (complex omega^2) exactly between the EPs
    s = phases_along(path, [0.097, 0.5 * (eps[0].parameter + eps[1].parameter), 0.12])
    assert s.phases.tolist() == ["stable-unbroken", "broken", "stable-unbroken"]


def test_reciprocal_setting_has_no_exceptional_point():
    """phi = 0, kd = 2 pi 8: C_12 = C_21 (closed form; the solver to 1e-7), so D = K/m is (nearly) symmetric with
    D_12 D_21 > 0 and real eigenvalues; along the same P_2 path the modes only avoid crossing, with minimal
    splitting ~2 |D_12| (level repulsion)."""
    phi, kd = coupling_settings("reciprocal", 8)
    path = lambda p2: two_tweezer_scene(kd, phi, powers=(P1, p2))  # noqa: E731
    D = dynamical_matrix_fn(path)
    assert find_exceptional_points(D, GRID) == []
    s = phases_along(path, GRID)
    assert set(s.phases.tolist()) == {"stable-unbroken"} and not s.n_complex.any()
    Dp = dynamical_matrix_path(path, GRID)
    # D_12 D_21 > 0 makes the discriminant (D_11 - D_22)^2 + 4 D_12 D_21 positive: no EP possible. D_12 = D_21
    # exactly only at P_2 = P_1 (mirror symmetry); for P_2 != P_1 multiple scattering leaves a relative
    # asymmetry of 3.9e-8 (P_2 = 0.11 W; 3.1e-7, 4.9e-9 at n = 4, 16: ~1/kd^3)
    assert np.all(Dp[:, 0, 1] * Dp[:, 1, 0] > 0)
    assert_allclose(Dp[:, 0, 1], Dp[:, 1, 0], rtol=1e-6)
    assert s.min_splitting.min() > 0.9 * 2 * np.abs(Dp[:, 0, 1]).min() / np.abs(s.eigenvalues).max()


def _coupling_errors(setting, ns):
    kds, errs = [], []
    for n in ns:
        phi, kd = coupling_settings(setting, n)
        C = -linearize(two_tweezer_scene(kd, phi), dofs="z").stiffness
        m = model(kd, phi)
        kds.append(kd)
        errs.append(np.abs([C[0, 1], C[1, 0]] - m.couplings) / m.coupling_constant)
    return np.array(kds), np.array(errs)


def test_couplings_converge_to_closed_form():
    """|C_jj'(solver) - C_jj'(closed form)| / C over kd = 12.6 ... 202 (n = 2, 4, 8, 16, 32).

    The missing near-field terms shift the interference phase by O(1/kd). Unidirectional setting (phi = pi/4):
    C_21 sits at a zero of cos(kd + phi), first-order sensitive: |dC_21|/C = 0.021, 0.011, 5.8e-3, 2.9e-3,
    1.5e-3, fitted slope -0.98 (C_21/C ~ 0.29/kd). Reciprocal (phi = 0): C_12 = C_21 at an extremum of the
    cosine, second-order sensitive: 1.0e-2 ... 3.9e-5 (~1.6/kd^2), slope -2.01. Slopes asserted with +-0.25 margins.
    """
    ns = [2, 4, 8, 16, 32]
    kd, e = _coupling_errors("unidirectional", ns)
    slope = np.polyfit(np.log(kd), np.log(e.max(axis=1)), 1)[0]
    assert -1.25 < slope < -0.75
    assert np.all(e.max(axis=1) < 0.5 / kd)
    kd, e = _coupling_errors("reciprocal", ns)
    assert_allclose(e[:, 0], e[:, 1], rtol=1e-9)
    slope = np.polyfit(np.log(kd), np.log(e[:, 0]), 1)[0]
    assert -2.25 < slope < -1.75
    assert np.all(e[:, 0] < 2.0 / kd**2)


def test_helpers_shapes_cache_and_diagram():
    scene_fn = lambda p2: two_tweezer_scene(2 * np.pi * 8 + np.pi / 2, np.pi / 2, powers=(P1, p2))  # noqa: E731
    lins = linear_models_along(scene_fn, [0.1, 0.11])
    Dp = dynamical_matrix_path(scene_fn, [0.1, 0.11])
    assert Dp.shape == (2, 2, 2)
    assert_allclose(Dp, [m.dynamical_matrix for m in lins], rtol=0, atol=0)
    D = dynamical_matrix_fn(scene_fn)
    D(0.1), D(0.1)
    assert D.cache_info() == {"hits": 1, "misses": 1}
    pd = phase_diagram_over(lambda p2, phi: two_tweezer_scene(2 * np.pi * 8 + np.pi / 2, phi, powers=(P1, p2)),
                            [0.097, 0.105], [0.0, np.pi / 2])
    assert pd.labels.tolist() == [["stable-unbroken", "stable-unbroken"], ["stable-unbroken", "broken"]]
    with pytest.raises(ValueError):
        dynamical_matrix_path(scene_fn, [[0.1, 0.2]])
