"""Quantum Langevin model, Lyapunov steady states, exports and the QuTiP builder (cdsolve.dynamics.langevin).

Oracles (named per test): PRA eq. (90) recoil rates gamma_rec +- g with TwoTweezerModel; closed-form
steady states of a damped oscillator; an Euler-Maruyama simulation of the classical Langevin equations;
the master-equation algebra A = J (H_q - hbar Im Gamma), B = hbar^2 J Re Gamma J^T; qutip.steadystate.
"""

import numpy as np
import pytest
import scipy.linalg as sla
from numpy.testing import assert_allclose
from scipy import constants as sc

import cdsolve as cd
from cdsolve.dynamics.langevin import LangevinModel, langevin_model, phonon_occupations, qutip_operators, read_export
from cdsolve.theory.two_tweezer import TwoTweezerModel
from cdsolve.dynamics.recoil_noise import recoil_diffusion

LAM = 1550e-9
W0 = 1e-6
K = 2 * np.pi / LAM
RADIUS = 104e-9
MASS = 4 / 3 * np.pi * RADIUS**3 * 2200.0
ALPHA = 4 * np.pi * sc.epsilon_0 * RADIUS**3 * (1.45**2 - 1) / (1.45**2 + 2)
HBAR = sc.hbar


def paper_model(kd, phi, powers=(0.1, 0.1)):
    return TwoTweezerModel(LAM, ALPHA, distance=kd / K, waist=W0, powers=powers, phases=(phi, 0.0),
                           masses=(MASS, MASS))


# --------------------------------------------------------------------------- acceptance 1b: eq. (90)
def test_common_and_differential_recoil_rates_eq90():
    """Oracle: PRA eq. (90): at phi = 0, kd = 2 pi n + pi/2 the couplings vanish and z_+- = (z_2 +- z_1)/sqrt 2
    heat at gamma_rec +- g (gamma_rec = D_11/(hbar m omega), g = C/(2 m omega), TwoTweezerModel). Measured
    from the covariance dynamics dS/dt = A S + S A^T + B of a LangevinModel whose recoil is the *general*
    closed form of cdsolve.dynamics.recoil_noise (solve(orders=0) of two Gaussian tweezers) and whose stiffness is the
    model's. gamma_rec to 1e-12; g to 0.15/kd (the O(1/kd) of D_12, measured 3.4e-4 relative)."""
    kd = 2 * np.pi * 40 + np.pi / 2
    m = paper_model(kd, 0.0)
    assert np.abs(m.couplings).max() < 1e-12 * m.coupling_constant
    d = kd / K
    beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=0.1),
             cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=0.1)]
    scene = cd.Scene(positions=[[0, 0, 0], [0, d, 0]], particles=cd.DipoleParticle(alpha_e=ALPHA, mass=MASS),
                     illumination=beams)
    D = recoil_diffusion(cd.solve(scene, orders=0), dofs="z", absorption=False)  # paper: real alpha, scattered photons
    model = LangevinModel(m.stiffness_matrix * MASS, [MASS, MASS], D, labels=["z_0", "z_1"])
    omega = m.trap_frequencies[0]
    S0 = model.ground_state_covariance()
    rate = model.covariance_rate(S0)
    modes = np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2)  # z_+, z_-
    # n is affine in S: dn/dt = n(dS/dt) + 1/2
    r_plus, r_minus = phonon_occupations(rate, [MASS, MASS], [omega, omega], modes) + 0.5
    gamma_rec = m.diffusion[0, 0].real / (HBAR * MASS * omega)
    g = m.rate_constant
    assert_allclose(0.5 * (r_plus + r_minus), gamma_rec, rtol=1e-12)
    assert_allclose(0.5 * (r_plus - r_minus), g, rtol=0.15 / kd)
    # the ground state itself does not move without noise: the same rates from B alone
    assert_allclose(phonon_occupations(model.diffusion, [MASS, MASS], [omega, omega], modes) + 0.5,
                    [r_plus, r_minus], rtol=1e-9)


def test_two_modes_thermalize_to_different_temperatures():
    """Oracle: closed form for a Brownian-damped oscillator, <p^2> = D_tot/gamma, <x^2> = <p^2>/(m omega)^2,
    so n_+- = (D_+- + m gamma k_B T)/(gamma hbar m omega) - 1/2 with D_+- = D_11 +- Re D_12 (PRA text after
    eq. 91). Uses the model's D (eq. 79) at phi = 0, kd = 2 pi n + pi/2; tolerance 1e-9."""
    kd = 2 * np.pi * 3 + np.pi / 2
    m = paper_model(kd, 0.0)
    omega = m.trap_frequencies[0]
    gamma = 2 * np.pi * 100.0
    T = 1e-3
    model = LangevinModel(m.stiffness_matrix * MASS, [MASS, MASS], m.diffusion, damping=gamma, temperature=T)
    ss = model.steady_state()
    modes = np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2)
    n_pm = phonon_occupations(ss.covariance, [MASS, MASS], [omega, omega], modes)
    D = m.diffusion
    expect = [(D[0, 0].real + s * D[0, 1].real + MASS * gamma * sc.k * T) / (gamma * HBAR * MASS * omega) - 0.5
              for s in (1, -1)]
    assert_allclose(n_pm, expect, rtol=1e-9)
    assert abs(n_pm[0] - n_pm[1]) > 1e-3 * n_pm[0]  # the effect is there


@pytest.mark.parametrize("bath", ["classical", "quantum", "lindblad"])
def test_single_dof_steady_state_closed_forms(bath):
    """Oracle: exact stationary occupations of one damped, recoil-heated oscillator (gamma_rec = D/(hbar m w)):
    classical n = gamma_rec/gamma + k_B T/(hbar w) - 1/2; quantum and lindblad n = gamma_rec/gamma + n_th.
    Tolerance 1e-10."""
    w, mass, gamma, T = 2 * np.pi * 50e3, 1e-18, 2 * np.pi * 10.0, 1e-4
    Dr = 3.0 * HBAR * mass * w * gamma  # gamma_rec = 3 gamma
    model = LangevinModel([[mass * w**2]], [mass], [[Dr]], damping=gamma, temperature=T, bath=bath)
    n = model.steady_state().occupations[0]
    n_th = 1 / np.expm1(HBAR * w / (sc.k * T))
    expect = {"classical": 3.0 + sc.k * T / (HBAR * w) - 0.5, "quantum": 3.0 + n_th, "lindblad": 3.0 + n_th}[bath]
    assert_allclose(n, expect, rtol=1e-10)


# --------------------------------------------------------------------------- acceptance 3: Euler-Maruyama
def chain_model():
    """3-particle chain, non-reciprocal nearest-neighbour coupling, correlated complex recoil, gas damping."""
    rng = np.random.default_rng(7)
    K = np.array([[1.0, -0.30, 0.0], [-0.10, 1.4, -0.25], [0.0, -0.05, 0.9]])  # N/m
    masses = np.array([1.0, 1.3, 0.8])  # kg
    X = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    D = 0.01 * X @ X.conj().T  # Hermitian PSD [N^2 s]
    return LangevinModel(K, masses, D, damping=0.5, temperature=1e20, bath="classical",
                         labels=["z_0", "z_1", "z_2"])


def euler_maruyama_covariance(model, n_traj, t_burn, t_run, dt, seed):
    """Explicit Euler-Maruyama y <- y + A y dt + sqrt(dt) L xi (B = L L^T), many trajectories at once.

    Returns the estimate of <y y^T> (time average after burn-in, averaged over trajectories) and its
    standard error from the spread of the per-trajectory time averages (independent trajectories)."""
    rng = np.random.default_rng(seed)
    A, B = model.drift, model.diffusion
    n2 = len(A)
    lam, U = np.linalg.eigh(B)
    L = U * np.sqrt(np.clip(lam, 0, None))  # B = L L^T (B is PSD; singular x-block)
    F = (np.eye(n2) + A * dt).T
    Ls = (np.sqrt(dt) * L).T
    y = np.zeros((n_traj, n2))
    for _ in range(int(t_burn / dt)):
        y = y @ F + rng.standard_normal((n_traj, n2)) @ Ls
    acc = np.zeros((n_traj, n2, n2))
    steps = int(t_run / dt)
    for _ in range(steps):
        y = y @ F + rng.standard_normal((n_traj, n2)) @ Ls
        acc += y[:, :, None] * y[:, None, :]
    per_traj = acc / steps
    return per_traj.mean(axis=0), per_traj.std(axis=0, ddof=1) / np.sqrt(n_traj), F.T


def _check_em(model, n_traj, t_burn, t_run, dt, seed, n_se):
    S = model.steady_state().covariance
    est, se, F = euler_maruyama_covariance(model, n_traj, t_burn, t_run, dt, seed)
    # deterministic O(dt) bias of the scheme: its exact stationary covariance (discrete Lyapunov equation)
    S_dt = sla.solve_discrete_lyapunov(F, model.diffusion * dt)
    bias = np.abs(S_dt - S)
    scale = np.sqrt(np.outer(np.diag(S), np.diag(S)))  # compare entries on the scale of their variances
    assert np.all(bias <= 0.015 * scale)  # the scheme's deterministic bias is small (O(dt), ~1 % at dt = 2.5 ms)
    z = (np.abs(est - S) - bias) / se  # deviation beyond the known bias, in standard errors
    assert np.all(z < n_se), f"max deviation {z.max():.2f} standard errors"
    print(f"EM vs Lyapunov: max {z.max():.2f} SE beyond bias; max bias/SE {np.max(bias / se):.2f}; "
          f"max SE/scale {np.max(se / scale):.3g}")
    return float(z.max()), float((se / scale).max())


def test_lyapunov_equals_euler_maruyama_chain():
    """Oracle: explicit Euler-Maruyama of dx = p/m dt, dp = (-K x - gamma p) dt + dW (<dW dW^T> = B_pp dt),
    400 trajectories x 50 s after 30 s burn-in, dt = 2.5 ms. Every entry of <y y^T> within 4.5 standard
    errors plus the scheme's known O(dt) bias (exact stationary covariance of the discrete scheme from the
    discrete Lyapunov equation: 0.93 % of sqrt(S_aa S_bb), asserted < 1.5 %). SE from the spread of the 400
    independent per-trajectory time averages. Measured: max deviation 2.57 SE raw, 1.39 SE beyond the bias."""
    _check_em(chain_model(), n_traj=400, t_burn=30.0, t_run=50.0, dt=2.5e-3, seed=11, n_se=4.5)


@pytest.mark.slow
def test_lyapunov_equals_euler_maruyama_chain_long():
    """Same oracle with 1600 trajectories x 60 s (SE about half of the fast test's), dt = 1.25 ms, 4.5 SE."""
    _check_em(chain_model(), n_traj=1600, t_burn=30.0, t_run=60.0, dt=1.25e-3, seed=12, n_se=4.5)


# --------------------------------------------------------------------------- unstable drift
def test_unstable_drift_is_refused_naming_the_modes():
    """Oracle: eigenvalues of an antireciprocal pair K = m w^2 [[1, c], [-c, 1]] are w^2 (1 +- i c): one mode
    grows at Im sqrt(1 + 0.2 i) - gamma/2 = 0.0995 - 0.025 = 0.0745 1/s; steady_state must refuse and name it."""
    w, mass, c = 1.0, 1.0, 0.2
    model = LangevinModel([[1.0, c], [-c, 1.0]], [mass, mass], np.zeros((2, 2)), damping=0.05, labels=["z_A", "z_B"])
    with pytest.raises(ValueError, match=r"growth rate 0\.07") as exc:
        model.steady_state()
    assert "z_A" in str(exc.value) and "omega = " in str(exc.value)
    stable = LangevinModel([[1.0, c], [-c, 1.0]], [mass, mass], np.zeros((2, 2)), damping=0.3)
    assert stable.steady_state().mode_occupations is None  # complex normal modes: not defined, and said so
    assert "not real" in stable.steady_state().note


# --------------------------------------------------------------------------- master-equation algebra, exports
def lindblad_model():
    """Two dofs with unidirectional coupling (C_21 = 0) and the recoil noise the commutator identity requires:
    Im D_12 = hbar (C_12 - C_21)/4 (PRA after eq. 81), Re D_12 = 0.3 D_11; weak Lindblad damping
    (gamma = 0.04 omega) so that occupations are ~0.06 and a small Fock basis is converged."""
    w, mass = 1e5, 1e-18
    c12 = 2 * mass * w * 0.003 * w  # g_12 = C_12 / (2 m w) = 0.003 w
    K = mass * w**2 * np.eye(2) - np.array([[0.0, c12], [0.0, 0.0]])
    d11 = HBAR * mass * w * 0.002 * w  # gamma_rec = 0.002 w
    D = np.array([[d11, 0.3 * d11 + 1j * HBAR * c12 / 4], [0.3 * d11 - 1j * HBAR * c12 / 4, 1.1 * d11]])
    n_th = 0.01
    T = HBAR * w / (sc.k * np.log(1 + 1 / n_th))
    return LangevinModel(K, [mass, mass], D, damping=0.04 * w, temperature=T, bath="lindblad",
                         labels=["z_0", "z_1"], dofs=[2, 5], provenance={"source": "test_langevin.lindblad_model"})


def test_jump_operators_reproduce_drift_and_diffusion():
    """Oracle: Lindblad algebra (derived from d<y>/dt and d<y y^T>/dt of the master equation):
    A = J (H_q - hbar Im Gamma), B = hbar^2 J Re(Gamma) J^T with Gamma = sum_k c_k c_k^H; and for the recoil
    alone Gamma_xx = 2 D / hbar^2 (PRA eq. 74). Tolerances 1e-10 of the largest entry."""
    model = lindblad_model()
    c = model.jump_operators()
    Gam = c.T @ c.conj()
    n = model.n
    J = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    A = J @ (model.hamiltonian - HBAR * Gam.imag)
    B = HBAR**2 * J @ Gam.real @ J.T
    T = model._scale  # compare in x_zpf, p_zpf units (the SI blocks differ by ~1e40)
    for got, want in ((A * T[:, None] / T[None, :], model.drift * T[:, None] / T[None, :]),
                      (B * T[:, None] * T[None, :], model.diffusion * T[:, None] * T[None, :])):
        assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())
    recoil_only = LangevinModel(model.stiffness, model.masses, model.recoil)
    c = recoil_only.jump_operators()
    G = c.T @ c.conj()
    assert_allclose(G[:n, :n], 2 * model.recoil / HBAR**2, rtol=0, atol=1e-10 * np.abs(G[:n, :n]).max())
    assert np.abs(G[n:, :]).max() == 0.0 and np.abs(G[:, n:]).max() == 0.0


def test_non_lindblad_models_refuse_jump_operators():
    """Oracle: Brownian damping only on p is not of Lindblad form (Gamma has a zero diagonal entry with a
    non-zero off-diagonal), and a non-reciprocal stiffness with too little recoil noise is not either
    (Heisenberg: Gamma_xx = 2 Re D/hbar^2 - i K_a/hbar >= 0 fails when D is scaled down 100x)."""
    model = lindblad_model()
    brown = LangevinModel(model.stiffness, model.masses, model.recoil, damping=model.damping, bath="classical")
    with pytest.raises(ValueError, match="not of Lindblad form"):
        brown.jump_operators()
    # Im D does not enter Gamma (it is part of the force, i.e. of A): conj(D) gives the same Gamma
    assert_allclose(LangevinModel(model.stiffness, model.masses, model.recoil.real).lindblad_matrix,
                    LangevinModel(model.stiffness, model.masses, model.recoil).lindblad_matrix, rtol=0, atol=0)
    quiet = LangevinModel(model.stiffness, model.masses, 0.01 * model.recoil)
    with pytest.raises(ValueError, match="not of Lindblad form"):
        quiet.jump_operators()


@pytest.mark.parametrize("suffix", [".npz", ".json", ".h5"])
def test_export_round_trip_bit_for_bit(suffix, tmp_path):
    """Oracle: the in-memory model. Every stored array equals the model's bit for bit (np.array_equal), the
    loaded model recomputes identical derived matrices, units and provenance survive."""
    if suffix == ".h5":
        pytest.importorskip("h5py")
    model = lindblad_model()
    path = model.save(tmp_path / f"model{suffix}")
    arrays, meta = read_export(path)
    for name in ("stiffness", "masses", "recoil", "frequencies", "drift", "diffusion", "hamiltonian",
                 "lindblad_matrix", "x_zpf", "p_zpf"):
        assert np.array_equal(arrays[name], np.asarray(getattr(model, name))), name
    assert np.array_equal(arrays["jump_operators"], model.jump_operators())
    assert np.array_equal(arrays["dofs"], model.dofs)
    assert meta["units"]["recoil"].startswith("N^2 s") and meta["bath"] == "lindblad"
    assert meta["provenance"] == model.provenance
    back = LangevinModel.load(path)
    for name in ("stiffness", "masses", "recoil", "frequencies", "drift", "diffusion"):
        assert np.array_equal(getattr(back, name), getattr(model, name)), name
    assert back.labels == model.labels and back.temperature == model.temperature
    assert np.array_equal(back.steady_state().covariance, model.steady_state().covariance)
    brown = LangevinModel(model.stiffness, model.masses, model.recoil, damping=model.damping)
    with pytest.raises(ValueError, match="Lindblad"):
        brown.save(tmp_path / f"b{suffix}")
    brown.save(tmp_path / f"b{suffix}", jumps=False)
    assert "jump_operators" not in read_export(tmp_path / f"b{suffix}")[0]


def test_export_bad_path_and_bad_inputs(tmp_path):
    """Oracle: documented ValueErrors naming the argument."""
    model = lindblad_model()
    with pytest.raises(ValueError, match="unknown export format"):
        model.save(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="masses"):
        LangevinModel(model.stiffness, [1.0, -1.0], model.recoil)
    with pytest.raises(ValueError, match="Hermitian"):
        LangevinModel(model.stiffness, model.masses, model.recoil + np.array([[0, 1e-30], [0, 0]]))
    with pytest.raises(ValueError, match="positive semidefinite"):
        LangevinModel(model.stiffness, model.masses, -np.abs(model.recoil.real) * np.eye(2))
    with pytest.raises(ValueError, match="bath"):
        LangevinModel(model.stiffness, model.masses, model.recoil, bath="ohmic")
    with pytest.raises(ValueError, match="not trapped"):
        LangevinModel([[-1.0]], [1.0], [[0.0]])
    with pytest.raises(ValueError, match="temperature"):
        LangevinModel(model.stiffness, model.masses, model.recoil, temperature=-1.0)


# --------------------------------------------------------------------------- full solver -> Langevin model
def test_langevin_model_from_scene_is_quantum_consistent():
    """Oracle: the lossless self-consistent identity C - C^T = 4 Im D / hbar makes the Lindblad matrix of the
    full-solver model positive semidefinite (jump operators exist) and the steady state exists with gas
    damping; recoil heating per dof equals 2 D_aa/(4 p_zpf^2) (definition of n). Lossless Mie spheres in two
    Gaussian tweezers, z motion."""
    kd = 2 * np.pi * 5 + 0.8
    d = kd / K
    beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=0.1, phase=0.6),
             cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=0.1, phase=0.0)]
    scene = cd.Scene(positions=[[0, 0, 0], [0, d, 0]], particles=cd.Sphere(radius=80e-9, index=1.45, density=2200.0),
                     illumination=beams)
    model = langevin_model(scene, "z", damping=2 * np.pi * 1e3, temperature=300.0, bath="lindblad")
    assert model.labels == ("z_0", "z_1") and list(model.dofs) == [2, 5]
    c = model.jump_operators()
    assert c.shape[1] == 4
    ss = model.steady_state()
    assert np.all(ss.occupations > 0)
    rates = phonon_occupations(2 * np.diag(np.r_[0, 0, model.recoil.real.diagonal()]), model.masses,
                               model.frequencies) + 0.5
    assert_allclose(rates, model.recoil.real.diagonal() / (HBAR * model.masses * model.frequencies), rtol=1e-12)


def test_langevin_model_with_absorbing_particle_is_one_set_of_jump_operators():
    """Oracle: cdsolve.dynamics.jacobian's stiffness (independent code) and the master-equation algebra: when the
    force's non-reciprocity and the noise come from the same jump operators, the x-x block of the Lindblad
    matrix Gamma = J^T B J/hbar^2 + i antisym(J A)/hbar is exactly the recoil part 2 D/hbar^2 (PRA eq. 74).
    An absorbing (Im n = 0.3) and a lossless sphere in two tweezers: with the absorbed photons in D it holds
    to round-off (measured 2e-17, tolerance 1e-10); without them the antisymmetric stiffness is not
    accounted for (measured 3.2e-4, asserted > 1e-5: the check can fail). The absorbed photons also heat:
    recoil diagonal larger with them, and the difference is cdsolve.dynamics.recoil_noise.absorption_diffusion
    of the same solve (tolerance 1e-12)."""
    from cdsolve.dynamics.recoil_noise import absorption_diffusion

    kd = 2 * np.pi * 2 + 0.8
    d = kd / K
    beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=0.1, phase=0.6),
             cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=0.1, phase=0.0)]
    parts = [cd.Sphere(radius=80e-9, index=3.5 + 0.3j, density=2200.0), cd.Sphere(radius=80e-9, index=1.45, density=2200.0)]
    scene = cd.Scene(positions=[[0, 0, 0], [0, d, 0]], particles=parts, illumination=beams)
    with_abs = langevin_model(scene, "z")
    without = langevin_model(scene, "z", absorption=False)
    assert with_abs.provenance["recoil"] == "scattered + absorbed photons"
    assert without.provenance["recoil"] == "scattered photons"

    def mismatch(model):
        ref = 2 * model.recoil / HBAR**2
        return np.abs(model.lindblad_matrix[:2, :2] - ref).max() / np.abs(ref).max()

    assert mismatch(with_abs) < 1e-10
    assert mismatch(without) > 1e-5
    D_abs = absorption_diffusion(cd.solve(scene), dofs="z")
    assert D_abs[0, 0].real > 1e-3 * with_abs.recoil[0, 0].real
    assert_allclose(with_abs.recoil, without.recoil + D_abs, rtol=0, atol=1e-12 * np.abs(with_abs.recoil).max())
    with_abs.jump_operators()  # exists (raises otherwise)


# --------------------------------------------------------------------------- QuTiP
def test_qutip_steady_state_equals_lyapunov():
    """Oracle: qutip.steadystate of the linearized master equation (H, c_ops from qutip_operators) in a
    truncated Fock basis (dense direct solve; 6 x 6 states, a 1296 x 1296 Liouvillian). Occupations <b^+ b>
    equal the Lyapunov ones. Truncation: the error falls ~10x per Fock level (relative 6.8e-3, 6.9e-4, 6.5e-5 at
    N_fock = 4, 5, 6); N_fock = 5 vs 6 differ by 4.2e-5 (asserted < 1e-4); tolerance 2e-4 relative at
    N_fock = 6 (measured 6.5e-5). Unidirectional coupling with correlated complex recoil; the coupling changes
    the occupations by ~10 % (asserted > 1 %), so the comparison is not blind to it."""
    qutip = pytest.importorskip("qutip")
    model = lindblad_model()
    lyap = model.steady_state().occupations
    occ = {}
    for nf in (5, 6):
        ops = qutip_operators(model, nf)
        rho = qutip.steadystate(ops["H"], ops["c_ops"], method="direct", solver="solve")
        occ[nf] = np.array([qutip.expect(a.dag() * a, rho) for a in ops["a"]])
    assert np.abs(occ[5] - occ[6]).max() < 1e-4
    assert_allclose(occ[6], lyap, rtol=2e-4)
    assert np.all(lyap > 0.05)  # not the trivial vacuum
    # the coupling matters at this tolerance: the uncoupled model gives different occupations
    free = LangevinModel(np.diag(np.diag(model.stiffness)), model.masses, np.diag(np.diag(model.recoil)),
                         damping=model.damping, temperature=model.temperature, bath="lindblad")
    assert np.abs(free.steady_state().occupations / lyap - 1).max() > 1e-2
