"""Nonlinear Langevin dynamics with the full solver's forces (cdsolve.dynamics.nonlinear).

Oracles: the linear model of the same scene (``cd.linearize(at="equilibrium")``, analytic Jacobian)
propagated (a) by the same discrete scheme applied to ``x'' = -D x`` (velocity Verlet / explicit Euler:
the difference is then the nonlinearity alone, which must scale like the amplitude) and (b) exactly by the
matrix exponential of the drift matrix (the difference is then bounded by the scheme's known error); and,
with noise (slow), the Lyapunov steady-state covariance of the damped linear model (fluctuation-dissipation).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import expm, solve_continuous_lyapunov

import cdsolve as cd
from cdsolve.dynamics.nonlinear import simulate_nonlinear
from cdsolve.optics.conventions import KB
from cdsolve.workflow.config import example_config


@pytest.fixture(scope="module")
def pair():
    """The bundled two-tweezer silica pair and its linear model at the equilibrium (all 6 dofs)."""
    scene = cd.load_scene(example_config())
    lin = cd.linearize(scene, at="equilibrium")
    return scene.with_positions(lin.positions), lin


def _kick(scale=1.0):
    d = np.zeros(6)
    d[[0, 2, 5]] = [0.2e-9, 0.3e-9, -0.1e-9]  # [m], far below the ~100 nm scale of the trap's anharmonicity
    return scale * d


def test_underdamped_small_amplitude_is_the_linear_model(pair):
    scene_eq, lin = pair
    w_max, w_min = np.nanmax(lin.trap_frequencies), np.nanmin(lin.trap_frequencies)
    dt = 2 * np.pi / w_max / 80
    n_steps = int(1.5 * 2 * np.pi / w_min / dt)  # 1.5 periods of the slowest mode
    every = 5
    x_eq = scene_eq.positions.ravel()
    D = lin.dynamical_matrix
    errs = {}
    for scale in (1.0, 0.5):
        d = _kick(scale)
        tr = simulate_nonlinear(scene_eq.with_positions((x_eq + d).reshape(2, 3)), dt, n_steps, damping=0.0,
                                temperature=0.0, seed=0, record_every=every)
        # oracle (a): velocity Verlet on the linear model, the same discrete map as BAOAB at gamma = T = 0
        x, v, ref = d.copy(), np.zeros(6), [d.copy()]
        for i in range(1, n_steps + 1):
            v = v - 0.5 * dt * D @ x
            x = x + dt * v
            v = v - 0.5 * dt * D @ x
            if i % every == 0:
                ref.append(x.copy())
        errs[scale] = np.abs(tr.positions - x_eq - np.array(ref)).max() / np.abs(d).max()
        if scale == 1.0:
            # oracle (b): exact linear solution exp(A t); Verlet's phase error (w dt)^2/24 per radian of the
            # fastest mode bounds the difference (plus the nonlinearity measured by (a))
            Phi = expm(lin.drift_matrix * dt * every)
            s, exact = np.concatenate([d, np.zeros(6)]), []
            for _ in tr.time:
                exact.append(s[:6])
                s = Phi @ s
            bound = (w_max * dt) ** 2 / 24 * w_max * tr.time[-1] + errs[1.0]
            err_exact = np.abs(tr.positions - x_eq - np.array(exact)).max() / np.abs(d).max()
            assert err_exact < bound, (err_exact, bound)
            assert tr.info["steps_per_second"] > 0 and tr.info["n_solves"] == n_steps + 1
    # measured 3.6e-4 of the kick at 0.3 nm: the nonlinearity of the optical trap, not the integrator
    assert errs[1.0] < 1e-3
    # and it is the nonlinearity: the relative deviation halves with the amplitude (quadratic force terms)
    assert_allclose(errs[1.0] / errs[0.5], 2.0, rtol=0.15)  # tolerance: cubic terms and round-off


def test_overdamped_small_amplitude_is_the_linear_model(pair):
    scene_eq, lin = pair
    K = lin.stiffness
    m = lin.masses
    gamma = 20 * np.nanmax(lin.trap_frequencies)  # liquid-like friction [1/s]
    zeta = m * gamma
    dt = 0.05 * zeta[0] / np.abs(np.linalg.eigvals(K)).max()
    n_steps = 120
    d = _kick()
    x_eq = scene_eq.positions.ravel()
    tr = simulate_nonlinear(scene_eq.with_positions((x_eq + d).reshape(2, 3)), dt, n_steps, damping=gamma,
                            temperature=0.0, seed=0, regime="overdamped")
    assert tr.velocities is None
    # oracle (a): explicit Euler on zeta x' = -K x, the same discrete map
    M = np.eye(6) - dt * K / zeta[:, None]
    ref = [d]
    for _ in range(n_steps):
        ref.append(M @ ref[-1])
    err = np.abs(tr.positions - x_eq - np.array(ref)).max() / np.abs(d).max()
    assert err < 1e-3  # the nonlinearity at a 0.3 nm kick (as in the underdamped test)
    # oracle (b): exact relaxation exp(-K t / zeta); Euler's global error is <= t_end * dt * |K/zeta|^2 / 2 |d|
    exact = np.array([expm(-K / zeta[:, None] * t) @ d for t in tr.time])
    rate = np.abs(np.linalg.eigvals(K / zeta[:, None])).max()
    err_exact = np.abs(tr.positions - x_eq - exact).max() / np.abs(d).max()
    assert err_exact < 0.5 * dt * rate**2 * tr.time[-1] + err


def test_reproducible_and_recorded(pair):
    scene_eq, lin = pair
    kw = dict(damping=1e5, temperature=300.0, seed=7, dofs="z", record_every=2)
    a = simulate_nonlinear(scene_eq, 1e-8, 6, **kw)
    b = simulate_nonlinear(scene_eq, 1e-8, 6, **kw)
    assert_allclose(a.positions, b.positions, rtol=0, atol=0)  # same seed, same trajectory (exact)
    assert a.positions.shape == (4, 2) and a.labels == ["z_0", "z_1"]
    assert_allclose(a.time, [0, 2e-8, 4e-8, 6e-8], rtol=1e-12)  # record_every=2 of dt=10 ns
    assert a.units["positions"] == "m" and a.units["time"] == "s"
    # only the chosen dofs move: x and y of both particles are not even recorded, z moves under noise
    assert np.all(a.positions[1:] != a.positions[0])


@pytest.mark.parametrize("kw, match", [
    (dict(dt=0.0), "dt must be"),
    (dict(dt=float("nan")), "dt must be"),
    (dict(n_steps=0), "n_steps must be"),
    (dict(damping=-1.0), "damping must be"),
    (dict(damping=[1.0, 2.0]), "one per moving dof"),
    (dict(temperature=-3.0), "temperature must be"),
    (dict(regime="viscous"), "regime must be"),
    (dict(regime="overdamped", damping=0.0), "damping must be finite and > 0"),
    (dict(masses=-1.0), "masses must be"),
    (dict(record_every=0), "record_every must be"),
    (dict(dofs="w"), "dofs must be"),
    (dict(velocities=[1.0]), "velocities must be"),
    (dict(method="fmm"), "method must be"),
])
def test_bad_input_is_named(pair, kw, match):
    scene_eq, _ = pair
    args = dict(dt=1e-8, n_steps=2, damping=1.0, temperature=0.0, seed=0)
    args.update(kw)
    dt, n_steps = args.pop("dt"), args.pop("n_steps")
    with pytest.raises(ValueError, match=match):
        simulate_nonlinear(scene_eq, dt, n_steps, **args)


@pytest.mark.slow
def test_equipartition_with_noise(pair):
    """Thermal bath at 30 K: the sampled position covariance matches the Lyapunov covariance of the damped
    linear model (fluctuation-dissipation), the kinetic temperature matches T.

    Test statistic: per dof, (sample variance - Lyapunov variance) / standard error of the mean of 20 batch
    variances; all |z| < 4 and the mean over dofs of the relative error within 3 % (BAOAB samples positions
    of a harmonic system exactly; its velocity variance is biased by O((w dt)^2) = 0.6 % here)."""
    scene_eq, lin = pair
    T = 30.0  # x_rms ~ 3 nm: the linear regime (the nonlinearity is 1e-3 at 0.3 nm, ~1 % at 3 nm)
    w_max, w_min = np.nanmax(lin.trap_frequencies), np.nanmin(lin.trap_frequencies)
    gamma = 0.5 * w_min
    dt = 2 * np.pi / w_max / 40
    n_steps = 16000
    tr = simulate_nonlinear(scene_eq, dt, n_steps, damping=gamma, temperature=T, seed=20261202)
    x = (tr.positions - scene_eq.positions.ravel())[400:]  # drop the first ~2 damping times
    v = tr.velocities[400:]
    # Lyapunov equation A S + S A^T + Q = 0 of (x, v) in nm and us (SI would span 1e-17..1e17: ill-scaled)
    D, g_us = lin.dynamical_matrix * 1e-12, gamma * 1e-6  # [1/us^2], [1/us]
    A = np.block([[np.zeros((6, 6)), np.eye(6)], [-D, -g_us * np.eye(6)]])
    Q = np.zeros((12, 12))
    Q[6:, 6:] = np.diag(2 * g_us * KB * T / lin.masses) * 1e18 * 1e-12  # velocity diffusion [nm^2/us^3]
    S = solve_continuous_lyapunov(A, -Q)
    var_x, var_v = np.diag(S)[:6] * 1e-18, np.diag(S)[6:] * 1e-6  # [m^2], [m^2/s^2]
    assert_allclose(var_x, KB * T / np.diag(lin.stiffness), rtol=0.01)  # near-equipartition: K is ~symmetric
    batches = np.array_split(np.arange(len(x)), 20)
    bx = np.array([np.mean(x[b] ** 2, axis=0) for b in batches])
    bv = np.array([np.mean(v[b] ** 2, axis=0) for b in batches])
    for b, ref, tol_bias in ((bx, var_x, 0.0), (bv, var_v, 0.01)):
        mean, sem = b.mean(axis=0), b.std(axis=0, ddof=1) / np.sqrt(len(b))
        z = (mean - ref) / np.hypot(sem, tol_bias * ref)
        assert np.all(np.abs(z) < 4), z
        assert abs(np.mean(mean / ref) - 1) < 0.03, mean / ref
