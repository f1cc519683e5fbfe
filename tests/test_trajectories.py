"""Exact linear Langevin trajectories (cdsolve.dynamics.trajectories).

Oracles: scipy ``expm`` and direct quadrature of ``int exp(As) B exp(A^T s) ds`` (Van Loan), the
stationary identity ``Sigma = Phi Sigma Phi^T + Q``, a plain step-by-step loop for the blocked
recursion, and the analytic covariance / PSD (cdsolve.dynamics.spectra, Lyapunov) for the statistics.
Test statistic for the random output: batch means -- the trajectory is cut into B = 40 batches much
longer than the damping time, each batch gives an estimate, and the standard error of their mean is
their standard deviation / sqrt(B); every entry must be within 4 standard errors (seeded).
"""

import numpy as np
import pytest
import scipy.linalg as sla
from numpy.testing import assert_allclose
from scipy.integrate import quad_vec
from scipy.signal import csd

import cdsolve as cd
from cdsolve.dynamics.spectra import displacement_psd, state_space, stationary_covariance
from cdsolve.dynamics.trajectories import Trajectory, _propagate, discretize, simulate_linear

M = 1e-17
W0 = 2 * np.pi * 1e5


def _model():
    K = M * W0**2 * np.array([[1.0, 0.10, 0.0], [0.03, 1.3, -0.05], [0.0, -0.05, 0.7]])
    return cd.LinearModel(stiffness=K, masses=np.full(3, M), dofs=np.array([0, 1, 2]), labels=["x_0", "y_0", "z_0"],
                          damping=2 * np.pi * 10e3)


def test_van_loan_discretization_against_quadrature():
    ss = state_space(_model(), temperature=300.0)
    dt = 0.3 / W0 * 7  # a large step: exactness does not depend on dt
    Phi, Q = discretize(ss.A, ss.B, dt)
    assert_allclose(Phi, sla.expm(ss.A * dt), rtol=1e-12, atol=1e-13)  # scipy expm
    ref = quad_vec(lambda s: sla.expm(ss.A * s) @ ss.B @ sla.expm(ss.A.T * s), 0, dt, epsrel=1e-12)[0]
    assert_allclose(Q, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())  # quadrature tolerance
    S = ss.covariance()
    assert_allclose(Phi @ S @ Phi.T + Q, S, rtol=1e-9, atol=1e-10 * np.abs(S).max())  # stationarity


def test_blocked_recursion_equals_step_by_step_loop():
    rng = np.random.default_rng(1)
    Phi = rng.standard_normal((4, 4)) * 0.3
    W = rng.standard_normal((1003, 4))
    z0 = rng.standard_normal(4)
    Lb, nb = 31, 33
    Wp = np.concatenate([W, np.zeros((Lb * nb - 1003, 4))]).reshape(nb, Lb, 4).transpose(1, 0, 2).copy()
    Z = _propagate(Phi, z0, Wp)[:1003]
    ref, s = [], z0
    for w in W:
        s = Phi @ s + w
        ref.append(s)
    assert_allclose(Z, np.array(ref), rtol=1e-12, atol=1e-12)  # round-off of a different summation order


def _batches(x, B):
    n = len(x) // B
    return x[: n * B].reshape(B, n, *x.shape[1:])


def test_sample_covariance_matches_lyapunov():
    lin = _model()
    dt = 2 * np.pi / W0 / 10
    tr = simulate_linear(lin, dt, 200_000, temperature=300.0, seed=11)
    z = np.hstack([tr.positions, tr.velocities])
    Sigma = stationary_covariance(lin, temperature=300.0)
    b = _batches(z, 40)  # each batch: 5000 steps = 500 periods = 30 damping times
    covs = np.einsum("bki,bkj->bij", b, b) / b.shape[1]
    mean, err = covs.mean(0), covs.std(0, ddof=1) / np.sqrt(len(covs))
    assert np.all(np.abs(mean - Sigma) < 4 * err + 1e-12 * np.abs(Sigma).max()), (mean - Sigma) / err
    # velocities are consistent with positions (v is the state, not a difference quotient): equipartition-ish check
    assert_allclose(np.diag(mean)[3:], np.diag(Sigma)[3:], rtol=0.05)  # 4 sigma ~ 3 % here


def test_welch_psd_matches_sampled_analytic_psd():
    lin = _model()
    dt = 2 * np.pi / W0 / 8
    tr = simulate_linear(lin, dt, 2**18, temperature=300.0, seed=5)
    x = tr.positions
    nperseg = 1024  # resolution 1.2 kHz vs linewidth 10 kHz
    # estimate and its error from 16 independent chunks (scipy.signal.csd per chunk)
    chunks = _batches(x, 16)
    est = []
    for c in chunks:
        f, S01 = csd(c[:, 0], c[:, 1], fs=1 / dt, nperseg=nperseg)
        _, S11 = csd(c[:, 1], c[:, 1], fs=1 / dt, nperseg=nperseg)
        est.append([S01, S11])
    est = np.array(est)
    mean, err = est.mean(0), est.std(0, ddof=1) / np.sqrt(len(est))
    model = displacement_psd(lin, 2 * np.pi * f, temperature=300.0, dt=dt).matrix
    band = (f > 0.3 * W0 / (2 * np.pi)) & (f < 2 * W0 / (2 * np.pi))
    for k, ref in enumerate([model[:, 0, 1], model[:, 1, 1]]):
        for part in (np.real, np.imag) if k == 0 else (np.real,):
            zscore = (part(mean[k]) - part(ref)) / np.abs(err[k])
            # test statistic: z-scores of the bins in the band; window leakage would show as a bias
            assert np.abs(np.mean(zscore[band])) < 0.5, np.mean(zscore[band])
            assert 0.6 < np.sqrt(np.mean(zscore[band] ** 2)) < 1.6
    # the non-reciprocal coupling makes Im S_01 non-zero: the sign convention is that of scipy.signal.csd
    peak = np.argmax(np.abs(model[:, 0, 1].imag) * band)
    assert np.sign(mean[0][peak].imag) == np.sign(model[peak, 0, 1].imag)


def test_seed_reproducible_and_x0():
    lin = _model()
    a = simulate_linear(lin, 1e-6, 500, temperature=300.0, seed=3)
    b = simulate_linear(lin, 1e-6, 500, temperature=300.0, seed=3)
    assert_allclose(a.positions, b.positions, rtol=0, atol=0)
    c = simulate_linear(lin, 1e-6, 50, temperature=0.0, seed=3, x0=[1e-9, 0, 0])
    # no noise: deterministic ring-down exp(A t) z0 (oracle: scipy expm)
    ss = state_space(lin, temperature=0.0)
    z = sla.expm(ss.A * 49e-6) @ np.array([1e-9, 0, 0, 0, 0, 0])
    assert_allclose(c.positions[-1], z[:3], rtol=1e-10, atol=1e-22)
    assert a.positions.shape == (500, 3) and a.time[1] == 1e-6 and a.labels == ("x_0", "y_0", "z_0")


def test_save_load_roundtrip(tmp_path):
    tr = simulate_linear(_model(), 1e-6, 100, temperature=300.0, seed=1)
    back = Trajectory.load(tr.save(tmp_path / "t.npz"))
    assert_allclose(back.positions, tr.positions, rtol=0, atol=0)
    assert back.labels == tr.labels and back.dt == tr.dt
    p = tr.save(tmp_path / "t.csv")
    assert p.read_text().splitlines()[0].startswith("time [s],x_0 [m]")
    data = np.loadtxt(p, delimiter=",", skiprows=1)
    assert_allclose(data[:, 1:4], tr.positions, rtol=1e-15)


def test_bad_inputs():
    lin = _model()
    with pytest.raises(ValueError, match="dt"):
        simulate_linear(lin, 0.0, 10, temperature=300.0, seed=1)
    with pytest.raises(ValueError, match="n_steps"):
        simulate_linear(lin, 1e-6, 0, temperature=300.0, seed=1)
    with pytest.raises(TypeError, match="seed"):
        simulate_linear(lin, 1e-6, 10, temperature=300.0, seed=None)
    with pytest.raises(ValueError, match="x0"):
        simulate_linear(lin, 1e-6, 10, temperature=300.0, seed=1, x0=[1, 2])
    K = np.array([[1.0, 5.0], [-5.0, 1.0]]) * M * W0**2  # unstable (non-reciprocal, little damping)
    bad = cd.LinearModel(stiffness=K, masses=np.full(2, M), dofs=np.array([0, 1]), labels=["a", "b"], damping=1.0)
    with pytest.raises(ValueError, match="no stationary state"):
        simulate_linear(bad, 1e-6, 10, temperature=300.0, seed=1)
