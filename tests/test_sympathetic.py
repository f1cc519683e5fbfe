"""Tests of cdsolve.theory.sympathetic_cooling (Li, Zhang, Yin: sympathetic cooling through non-reciprocal coupling).

Oracles, one per test (stated in each): independent numerical methods (ODE integration of the rate
equations, qutip master-equation steady states, the Lyapunov solution), the paper's printed formulas
typed in independently, symmetries (gauge b -> -b, A <-> B role swap), and the closed-form two-tweezer
model of Rudolph et al. (cdsolve.theory.two_tweezer.TwoTweezerModel) for the coupling map.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from cdsolve.dynamics.linear_model import LinearModel
from cdsolve.theory.two_tweezer import TwoTweezerModel
from cdsolve.theory.sympathetic_cooling import (
    SympatheticCoolingParams,
    analytic_steady_state,
    drift_and_diffusion,
    effective_cavity_bath,
    gaussian_steady_state,
    master_equation_steady_state,
    paper_couplings_from_linear_model,
    rate_equations,
    target_quadratic,
)

FIG2A = dict(cavity_coupling=0.05, cavity_decay=1.0, kappa_a=1e-4, kappa_b=1e-4, nbar_a=20.0, nbar_b=20.0)
WEAK = dict(cavity_coupling=0.02, cavity_decay=1.0, kappa_a=0.005, kappa_b=0.005, nbar_a=1.0, nbar_b=1.0)


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "field, value, match",
    [
        pytest.param("cavity_decay", -1.0, "cavity_decay", id="negative-gamma"),
        pytest.param("kappa_b", 0.0, "kappa_b", id="zero-kappa_b"),
        pytest.param("nbar_a", -0.5, "nbar_a", id="negative-nbar"),
        pytest.param("omega_a", float("nan"), "omega_a", id="nan-omega"),
        pytest.param("g2", 0.1j, "g2", id="complex-g2"),
    ],
)
def test_params_reject_bad_fields_by_name(field, value, match):
    """Oracle: the boundary rule -- a ValueError naming the field."""
    with pytest.raises(ValueError, match=match):
        SympatheticCoolingParams(**{field: value})


def test_from_nonreciprocity_round_trip():
    """Oracle: identity K_g -> g1 = g2 (K_g+1)/(K_g-1) -> (g1+g2)/(g1-g2) = K_g ([LZY] Fig. 2 caption)."""
    ks = np.array([1.05, 1.4, 3.0, 21.0])
    back = [SympatheticCoolingParams.from_nonreciprocity(k, g2=0.1).nonreciprocity for k in ks]
    assert_allclose(back, ks, rtol=1e-13)  # round-off only
    with pytest.raises(ValueError, match="nonreciprocity"):
        SympatheticCoolingParams.from_nonreciprocity(1.0, g2=0.1)


def test_bad_options_are_named():
    """Oracle: the boundary rule for convention, dynamics and cutoffs."""
    p = SympatheticCoolingParams()
    with pytest.raises(ValueError, match="convention"):
        rate_equations(p, convention="papers")
    with pytest.raises(ValueError, match="dynamics"):
        drift_and_diffusion(p, dynamics="lindblad")
    with pytest.raises(ValueError, match="rwa=False"):
        drift_and_diffusion(p, dynamics="normalized", rwa=False)
    pytest.importorskip("qutip")
    with pytest.raises(ValueError, match="cutoffs"):
        master_equation_steady_state(p, (1, 4, 4))


# --------------------------------------------------------------------------- effective cavity bath (eq. 5-10)
def test_effective_bath_matches_exact_gaussian_cavity_cooling():
    """Oracle: exact Lyapunov steady state of cavity + particle A alone (g1 = g2 = 0), position coupling
    (counter-rotating terms kept, so Stokes heating exists). In the weak-coupling limit g << gamma this
    must equal eq. 10 in the convention consistent with the master equation (gamma D[c]: linewidth 2 gamma).
    """
    p = SympatheticCoolingParams(g1=0.0, g2=0.0, cavity_coupling=0.01, cavity_decay=0.5, kappa_a=1e-4,
                                 nbar_a=20.0, nbar_b=20.0)
    bath = effective_cavity_bath(p, "master_equation", stokes=True)
    exact = gaussian_steady_state(p, "langevin", rwa=False).occupations[0]
    # corrections O(g^2/gamma^2) = 4e-4 plus non-RWA mechanical terms O(Gamma/omega); measured 4.0e-4
    assert_allclose(exact, bath.occupation, rtol=2e-3)
    # and the printed eq. 5-10 are the same formulas with gamma -> 2 gamma, kappa_a -> 2 kappa_a (convention map)
    printed = effective_cavity_bath(p.replace(cavity_decay=2 * p.cavity_decay, kappa_a=2 * p.kappa_a), "paper")
    assert_allclose(printed.occupation, bath.occupation, rtol=1e-13)  # same arithmetic, round-off only
    assert_allclose(printed.damping, bath.damping, rtol=1e-13)


def test_effective_bath_printed_numbers_fig2():
    """Oracle: eq. 5-8 evaluated by hand for Fig. 2(a): g = 0.05, gamma = 1, Delta = w = 1:
    A_- = 0.0025/0.25 = 0.01, A_+ = 0.0025/4.25, n_opt = A_+/(A_- - A_+) = 1/16."""
    bath = effective_cavity_bath(SympatheticCoolingParams(**FIG2A), "paper")
    assert_allclose(bath.cooling_rate, 0.01, rtol=1e-14)
    assert_allclose(bath.heating_rate, 0.0025 / 4.25, rtol=1e-14)
    assert_allclose(bath.optical_occupation, 1.0 / 16.0, rtol=1e-13)
    with pytest.raises(ValueError, match="detuning"):
        effective_cavity_bath(SympatheticCoolingParams(detuning=-1.0, **FIG2A), "paper")


# --------------------------------------------------------------------------- analytic steady state (eq. 13-15, C1-C2)
def test_quadratic_coefficients_equal_printed_eq15_and_C2():
    """Oracle: eq. 15 and eq. C2 typed in from the paper's text, with kappa_a' from eq. 9."""
    p = SympatheticCoolingParams.from_nonreciprocity(2.5, g2=0.1, **FIG2A)
    r = rate_equations(p, "paper")
    ka, kb, na, nb, g1, g2 = r.damping_a, p.kappa_b, r.bath_a, p.nbar_b, p.g1, p.g2
    s = ka + kb
    eq15 = (8 * g1 * g2 * kb / (ka * s),
            -8 * g1 * g2 / s * (na + kb / ka * nb) - 2 * (g1 + g2) ** 2 / s - 2 * (g1 - g2) ** 2 / s * kb / ka - kb,
            2 * (g1 - g2) ** 2 / s * (na + kb / ka * nb) + kb * nb)
    c2 = (-8 * g1 * g2 * ka / (kb * s),
          8 * g1 * g2 / s * (ka / kb * na + nb) - 2 * (g1 + g2) ** 2 / s * ka / kb - 2 * (g1 - g2) ** 2 / s - ka,
          2 * (g1 + g2) ** 2 / s * (ka / kb * na + nb) + ka * na)
    assert_allclose(target_quadratic(r), eq15, rtol=1e-12)  # same algebra, round-off only
    assert_allclose(target_quadratic(r.swapped()), c2, rtol=1e-12)


@pytest.mark.parametrize("k_g", [1.05, 2.0, 10.0])
@pytest.mark.parametrize("g", [0.05, 0.01])
def test_analytic_root_is_the_attractor_of_eq13(k_g, g):
    """Oracle: direct time integration of the rate equations (13) from the thermal state (n_a, n_b) = (20, 20)
    (a second method for the root selection "excluding nonphysical solutions"), plus the C1-C2 root."""
    p = SympatheticCoolingParams.from_nonreciprocity(k_g, g2=0.1, **{**FIG2A, "cavity_coupling": g})
    sol = analytic_steady_state(p, "paper")
    rhs = lambda t, y: np.array(sol.rates.rhs(y[0], y[1]))  # noqa: E731
    run = solve_ivp(rhs, (0, 2e5), [20.0, 20.0], method="LSODA", rtol=1e-10, atol=1e-12)
    assert run.success
    assert_allclose(run.y[:, -1], [sol.n_a, sol.n_b], rtol=1e-6)  # ODE tolerance 1e-10, slowest rate ~1e-4
    assert_allclose(sol.n_a_quadratic, sol.n_a, rtol=1e-9)  # C1-C2 root = sum rule of eq. 13
    scale = sol.rates.hop_ba * (1 + sol.n_a) * sol.n_b  # size of the terms that cancel
    assert_allclose(sol.rates.rhs(sol.n_a, sol.n_b), [0.0, 0.0], atol=1e-12 * scale)  # round-off


def test_fig2_reciprocal_limit_and_trend():
    """Oracle: [LZY] Fig. 2 text -- n_A and n_B approach each other as K_g -> 1+, and n_B decreases with K_g."""
    ks = [1.0001, 1.5, 3.0, 10.0]
    sols = [analytic_steady_state(SympatheticCoolingParams.from_nonreciprocity(k, g2=0.1, **FIG2A)) for k in ks]
    assert_allclose(sols[0].n_b, sols[0].n_a, rtol=1e-3)  # measured 3e-4 (g1 = 2000 here)
    assert np.all(np.diff([s.n_b for s in sols]) < 0)


def test_gauge_sign_of_couplings_is_irrelevant():
    """Oracle: symmetry b -> -b maps (g1, g2) -> (-g1, -g2); occupations must not change (all three models)."""
    p = SympatheticCoolingParams(g1=0.3, g2=0.1, **{**FIG2A, "nbar_a": 1.0, "nbar_b": 1.0})
    q = p.replace(g1=-p.g1, g2=-p.g2)
    assert_allclose(analytic_steady_state(q).n_b, analytic_steady_state(p).n_b, rtol=1e-12)
    for dyn in ("langevin", "normalized"):
        assert_allclose(gaussian_steady_state(q, dyn).occupations, gaussian_steady_state(p, dyn).occupations,
                        rtol=1e-9)  # Lyapunov/Schur round-off


# --------------------------------------------------------------------------- Gaussian steady states
def test_analytic_agrees_with_gaussian_for_weak_nonreciprocity():
    """Oracle: exact Lyapunov (Langevin) steady state. Weak coupling g1 = 1e-3 << kappa_a' + kappa_b ~ 0.011,
    g << gamma, K_g = 1.0001: the cooling below the bath, nbar - n, must agree with the rate equations
    (convention consistent with the master equation, no Stokes term in the RWA model).
    Measured: 0.5 % (A) and 0.3 % (B). The same comparison at K_g = 1.01 must disagree by > 10 %
    (measured 27 % for B): the hopping picture of eq. 13 is not the non-Hermitian linear dynamics."""
    for k_g, close in ((1.0001, True), (1.01, False)):
        p = SympatheticCoolingParams(g1=1e-3, g2=1e-3 * (k_g - 1) / (k_g + 1), **WEAK)
        an = analytic_steady_state(p, "master_equation", stokes=False)
        ex = gaussian_steady_state(p, "langevin").occupations[:2]
        cool_an = np.array([p.nbar_a - an.n_a, p.nbar_b - an.n_b])
        cool_ex = np.array([p.nbar_a, p.nbar_b]) - ex
        if close:
            assert_allclose(cool_an, cool_ex, rtol=1e-2)  # elimination errors O(g1/(kappa sum))^2 ~ 1e-2
        else:
            assert abs(cool_an[1] / cool_ex[1] - 1) > 0.1


def test_unstable_drift_raises():
    """Oracle: PT-broken coupling g1 < g2 gives drift eigenvalues -kappa +- sqrt(g2^2 - g1^2) > 0 here."""
    p = SympatheticCoolingParams(g1=0.0, g2=0.1, cavity_coupling=0.0, kappa_a=0.01, kappa_b=0.01)
    with pytest.raises(ValueError, match="unstable"):
        gaussian_steady_state(p, "langevin")


def test_reciprocal_models_coincide_with_qutip_lindblad():
    """Oracle: qutip steady state of the Lindblad equation (g2 = 0: eq. 3 is an ordinary Lindblad equation,
    the trace correction vanishes) in a Fock basis (6, 6, 3), low occupations (nbar = 0.1). Measured
    truncation error vs Lyapunov: 8.7e-5 (5,5,3), 9.1e-6 (6,6,3), 3.0e-6 (7,7,3), 3.9e-8 (8,8,4). Langevin Lyapunov, normalized Riccati and qutip must agree."""
    qt = pytest.importorskip("qutip")
    p = SympatheticCoolingParams(g1=0.05, g2=0.0, cavity_coupling=0.1, cavity_decay=1.0, kappa_a=0.01,
                                 kappa_b=0.01, nbar_a=0.1, nbar_b=0.1)
    from cdsolve.theory.sympathetic_cooling import master_equation_operators

    h, c_ops, ops = master_equation_operators(p, (6, 6, 3))
    rho = qt.steadystate(h, c_ops)
    n_qutip = np.array([qt.expect(o.dag() * o, rho) for o in ops])
    lyap = gaussian_steady_state(p, "langevin").occupations
    ricc = gaussian_steady_state(p, "normalized").occupations
    assert_allclose(lyap, n_qutip, rtol=3e-5)  # truncation, measured 9.1e-6
    assert_allclose(ricc, lyap, rtol=1e-10)  # identical equations for g2 = 0
    eig = master_equation_steady_state(p, (6, 6, 3))
    assert_allclose(eig.occupations, n_qutip, rtol=1e-7, atol=1e-10)  # two qutip-based routes
    assert abs(eig.eigenvalue) < 1e-9  # trace-preserving: dominant eigenvalue 0


def test_normalized_riccati_equals_truncated_nonhermitian_master_equation():
    """Oracle: dominant eigenvector of the paper's non-Hermitian Liouvillian (eq. 3, trace correction =
    normalization) in Fock bases (5,5,3) and (7,7,3), low occupation (nbar = 0.05, g1 = 0.3, g2 = 0.1).
    The exact Gaussian (Riccati) solution must match the truncated one to the truncation error, which
    is bounded by the change between the two cutoffs. Also the dominant eigenvalue = -2 <Gamma> = -Tr(G V).
    """
    pytest.importorskip("qutip")
    p = SympatheticCoolingParams(g1=0.3, g2=0.1, cavity_coupling=0.1, cavity_decay=1.0, kappa_a=0.01,
                                 kappa_b=0.01, nbar_a=0.05, nbar_b=0.05)
    gauss = gaussian_steady_state(p, "normalized")
    small = master_equation_steady_state(p, (5, 5, 3))
    big = master_equation_steady_state(p, (7, 7, 3))
    change = np.abs(big.occupations - small.occupations).max()
    assert change < 1e-3
    assert_allclose(big.occupations, gauss.occupations, atol=2 * change + 1e-6)  # truncation error
    _, _, g = drift_and_diffusion(p, "normalized")
    assert_allclose(big.eigenvalue, -np.trace(g @ gauss.covariance), rtol=1e-3, atol=1e-6)
    # and the paper's non-Hermitian model differs from the Langevin one (not just round-off): the latter,
    # a non-reciprocal drift with only the local bath noises, is not even a quantum state here (n_b < 0)
    lang = gaussian_steady_state(p, "langevin")
    assert np.abs(lang.occupations - gauss.occupations).max() > 10 * change
    assert gauss.min_uncertainty_eigenvalue > -1e-12  # V + i Omega/2 >= 0 (round-off)
    assert lang.min_uncertainty_eigenvalue < -1e-3


def test_normalized_dynamics_relaxes_to_dominant_eigenvector():
    """Oracle: two routes to the steady state of eq. (3) in the same small basis (3, 3, 2): qutip mesolve of
    e^{Lt} rho0 / Tr(...) from |0>|2>|0> ([LZY] Fig. 3 initial state) at long times vs the dominant eigenvector."""
    pytest.importorskip("qutip")
    from cdsolve.theory.sympathetic_cooling import master_equation_dynamics

    p = SympatheticCoolingParams(g1=0.4, g2=0.1, cavity_coupling=0.1, cavity_decay=1.0, kappa_a=0.05,
                                 kappa_b=0.05, nbar_a=1.0, nbar_b=1.0)
    n = master_equation_dynamics(p, (3, 3, 2), np.linspace(0.0, 300.0, 7))
    assert_allclose(n[0], [0.0, 2.0, 0.0], atol=1e-12)  # initial Fock state
    eig = master_equation_steady_state(p, (3, 3, 2))
    assert_allclose(n[-1], eig.occupations, atol=1e-6)  # slowest rate ~0.1: e^{-30}; ODE tolerance 1e-8


# --------------------------------------------------------------------------- mapping from cdsolve linear models
def test_coupling_map_on_two_tweezer_model():
    """Oracle: TwoTweezerModel closed forms (PRA eq. 83, 87): K_g = C_12/C_21 = cos(psi - phi)/cos(psi + phi)
    and (g1, g2) = -(g_r, g_a) = -g (cos psi cos phi, sin psi sin phi) up to the binding shift of the trap
    frequency that LinearModel.pair_rates uses (relative C/(m w^2), printed below as the tolerance)."""
    lam, w0, rad, rho = 1550e-9, 1e-6, 104e-9, 2200.0
    eps0 = 8.8541878128e-12
    alpha = 4 * np.pi * eps0 * rad**3 * (1.45**2 - 1) / (1.45**2 + 2)
    mass = 4 / 3 * np.pi * rad**3 * rho
    kd = 2 * np.pi * 20 + 0.3
    model = TwoTweezerModel(lam, alpha, distance=kd * lam / (2 * np.pi), waist=w0, powers=(0.1, 0.1),
                            phases=(0.7, 0.0), masses=(mass, mass))
    masses = np.array(model.masses)
    lin = LinearModel(stiffness=model.stiffness_matrix * masses[:, None], masses=masses, dofs=np.array([2, 5]),
                      labels=["z_0", "z_1"])
    out = paper_couplings_from_linear_model(lin, auxiliary=0, target=1)
    psi, phi = model.interference_phase, model.relative_phase
    assert_allclose(out["nonreciprocity"], np.cos(psi - phi) / np.cos(psi + phi), rtol=1e-10)  # exact ratio
    shift = model.coupling_constant / (mass * model.mean_frequency**2)
    g_r, g_a = model.rates
    assert_allclose([out["g1"], out["g2"]], [-g_r, -g_a], rtol=2 * shift)
    assert_allclose([out["omega_a"], out["omega_b"]], np.abs(model.renormalized_trap_frequencies), rtol=1e-12)
    # swapping the roles inverts K_g (A <-> B symmetry)
    swapped = paper_couplings_from_linear_model(lin, auxiliary=1, target=0)
    assert_allclose(swapped["nonreciprocity"], 1.0 / out["nonreciprocity"], rtol=1e-12)
    with pytest.raises(ValueError, match="auxiliary"):
        paper_couplings_from_linear_model(lin, 0, 0)


def test_coupling_map_sign_reproduces_linear_dynamics():
    """Oracle: the eigenfrequencies of the RWA mode matrix built from the mapped (g1, g2) equal those of the
    full (non-RWA) LinearModel drift matrix near +omega, to O(g^2/omega) (second-order RWA error)."""
    from cdsolve.theory.sympathetic_cooling import mode_matrix

    w0, c12, c21 = 1.0, 0.02, 0.005
    k = np.array([[w0**2 + c12, -c12], [-c21, w0**2 + c21]])
    lin = LinearModel(stiffness=k, masses=np.ones(2), dofs=np.array([2, 5]), labels=["z_0", "z_1"])
    out = paper_couplings_from_linear_model(lin, 0, 1)
    p = SympatheticCoolingParams(omega_a=out["omega_a"], omega_b=out["omega_b"], g1=out["g1"], g2=out["g2"],
                                 cavity_coupling=0.0)
    rwa = np.sort(np.linalg.eigvals(mode_matrix(p)[:2, :2]).real)
    exact = np.sort(np.linalg.eigvals(lin.drift_matrix).imag)
    exact = exact[exact > 0]
    assert_allclose(rwa, exact, atol=5 * (c12 / 2) ** 2)  # RWA error ~ g^2/omega, g ~ 1e-2
