"""``cdsolve simulate CONFIG -o OUTDIR``: trajectories of a config's particles, and their spectra.

Steps: the scene of CONFIG (``docs/config.md``) is linearized at its **equilibrium** (``[linearize]`` dofs
and damping of the config; ``--damping`` overrides the damping); then

* default (**nonlinear**): :func:`cdsolve.dynamics.nonlinear.simulate_nonlinear` with the full solver's
  forces at every step (BAOAB, gas bath at ``--temperature``), started from a draw of the linear model's
  stationary distribution (at rest at the equilibrium when there is no noise);
* ``--linear``: :func:`cdsolve.dynamics.trajectories.simulate_linear`, the exact discretization of the
  linear model (fast; small amplitudes only).

The default time step is 1/40 of the shortest trap period of the linear model. Files written (the directory
appears whole or not at all, :func:`cdsolve.workflow.output_dir.staged_directory`):

``trajectory.npz``  ``time`` (T,) [s], ``positions`` (T, n) [m] displacements from the equilibrium,
                    ``velocities`` (T, n) [m/s], ``meta`` (JSON: labels, dt, units, provenance) -- the format
                    of :class:`cdsolve.dynamics.trajectories.Trajectory` (``Trajectory.load``), which
                    ``cdsolve identify`` reads; ``equilibrium.npz``: ``positions`` (N, 3) [m], ``masses`` [kg]
``linear_model.npz`` the linear model at the equilibrium (:meth:`LinearModel.save`)
``psd.png``         one-sided Welch PSD of every dof [m^2/Hz] with the linear model's analytic PSD
``summary.json``    settings, timings and throughput (steps per second)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..dynamics.linear_model import linearize
from ..dynamics.nonlinear import simulate_nonlinear
from ..scattering.validity import DipoleValidityWarning
from .config import linearize_options, load_config, scene_from_config
from .output_dir import staged_directory

__all__ = ["simulate", "plot_psd"]


def _welch(positions: np.ndarray, dt: float):
    from scipy.signal import welch

    nper = int(min(len(positions), max(16, 2 ** int(np.log2(max(len(positions) // 8, 16))))))
    f, P = welch(positions, fs=1.0 / dt, nperseg=nper, axis=0)  # one-sided [m^2/Hz]
    return f, P


def plot_psd(path, time_step: float, positions: np.ndarray, labels, curves=()) -> None:
    """Welch PSD of every dof (one-sided, m^2/Hz) with analytic curves ``[(label, f (k,) [Hz], S (k, n))]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f, P = _welch(positions, time_step)
    n = positions.shape[1]
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for i in range(n):
        ax = axes[i // cols, i % cols]
        if np.any(P[1:, i] > 0):
            ax.loglog(f[1:], np.where(P[1:, i] > 0, P[1:, i], np.nan), color="0.6", lw=1, label="data (Welch)")
        else:  # no fluctuations (no noise and at rest): nothing to put on a log scale
            ax.text(0.5, 0.5, "no fluctuations", transform=ax.transAxes, ha="center")
        for k, (name, fc, S) in enumerate(curves):
            ax.loglog(fc, S[:, i], color=f"C{k}", lw=1.2, ls="-" if k == 0 else "--", label=name)
        ax.set_title(str(labels[i]), fontsize=9)
        ax.set_xlabel("frequency [Hz]")
        ax.set_ylabel("PSD [m$^2$/Hz]")
        ax.legend(fontsize=7)
    for j in range(n, rows * cols):
        axes[j // cols, j % cols].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def simulate(config, outdir, *, steps: int = 1000, dt: float | None = None, temperature: float = 300.0,
             damping: float | None = None, linear: bool = False, seed: int = 0, overwrite: bool = False,
             plots: bool = True, echo=print) -> Path:
    """Run ``cdsolve simulate`` (module docstring); returns the output directory."""
    import warnings

    cfg = load_config(config)
    scene, opts = scene_from_config(cfg)
    lin_opts = linearize_options(cfg)
    gamma = lin_opts["damping"] if damping is None else float(damping)
    if not (np.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"--damping must be a finite rate >= 0 [1/s], got {damping!r}")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"--temperature must be a finite number >= 0 [K], got {temperature!r}")
    with warnings.catch_warnings(record=True) as caught:  # the validity warnings become note lines
        warnings.simplefilter("always", DipoleValidityWarning)
        out = _simulate(cfg, scene, opts, lin_opts, config, outdir, steps, dt, temperature, gamma, linear, seed,
                        overwrite, plots, echo)
    seen = set()
    for w in caught:
        if issubclass(w.category, DipoleValidityWarning):
            if str(w.message) not in seen:  # linearize and the simulation check the same scene
                seen.add(str(w.message))
                echo(f"note: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _simulate(cfg, scene, opts, lin_opts, config, outdir, steps, dt, temperature, gamma, linear, seed, overwrite,
              plots, echo) -> Path:
    from ..dynamics.spectra import displacement_psd, stationary_covariance
    from ..dynamics.trajectories import Trajectory, simulate_linear

    notes = []
    t0 = time.perf_counter()
    lin = linearize(scene, dofs=lin_opts["dofs"], at="equilibrium", damping=gamma, method=opts["method"])
    t_lin = time.perf_counter() - t0
    if not lin.is_stable():
        raise RuntimeError("the linear model at the equilibrium is unstable (a mode grows): no stationary "
                           "trajectory to simulate; see `cdsolve run` for the modes")
    w_max = float(np.nanmax(lin.trap_frequencies))
    if dt is None:
        dt = 2 * np.pi / w_max / 40
    noisy = temperature > 0 and gamma > 0
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if linear:
        traj = simulate_linear(lin, dt, steps + 1, temperature=temperature if noisy else None, seed=rng,
                               x0=None if noisy else np.zeros(lin.n))
        mode = "linear (exact discretization of the linear model at the equilibrium)"
        extra = {}
    else:
        x0 = np.zeros(2 * lin.n)
        if noisy:
            cov = stationary_covariance(lin, temperature=temperature)
            x0 = rng.multivariate_normal(np.zeros(2 * lin.n), 0.5 * (cov + cov.T), method="eigh")
        start = lin.positions.ravel().copy()
        start[lin.dofs] += x0[: lin.n]
        nl = simulate_nonlinear(scene.with_positions(start.reshape(-1, 3)), dt, steps, damping=gamma,
                                temperature=temperature, seed=rng, dofs=lin.dofs, velocities=x0[lin.n:],
                                method="auto" if opts["method"] == "auto" else opts["method"])
        traj = Trajectory(time=nl.time, positions=nl.positions - lin.positions.ravel()[lin.dofs],
                          velocities=nl.velocities, labels=tuple(nl.labels), dt=float(dt),
                          provenance={"model": "nonlinear", **{k: v for k, v in nl.info.items()}})
        mode = "nonlinear (full coupled-dipole forces at every step)"
        extra = {"steps_per_second": nl.info["steps_per_second"], "integrator": nl.info["integrator"],
                 "noise": nl.info["noise"], "warm_start": nl.info["warm_start"]}
    t_sim = time.perf_counter() - t0
    out = Path(outdir)
    with staged_directory(out, overwrite=overwrite) as tmp:
        traj.save(tmp / "trajectory.npz")
        np.savez(tmp / "equilibrium.npz", positions=lin.positions, masses=lin.masses, dofs=lin.dofs,
                 units=json.dumps({"positions": "m", "masses": "kg"}))
        lin.save(tmp / "linear_model.npz")
        files = ["trajectory.npz", "equilibrium.npz", "linear_model.npz"]
        if plots:
            curves = []
            if noisy:
                f = np.linspace(0, 0.5 / dt, 2000)[1:]
                S = displacement_psd(lin, 2 * np.pi * f, temperature=temperature, dt=dt).psd
                curves.append(("linear model (analytic)", f, S))
            plot_psd(tmp / "psd.png", dt, traj.positions, traj.labels, curves)
            files.append("psd.png")
        summary = {
            "config": str(cfg.get("_source", config)), "mode": mode, "dt_s": float(dt), "steps": int(steps),
            "temperature_K": float(temperature), "damping_per_s": float(gamma), "seed": int(seed),
            "dofs": list(lin.labels), "trap_frequencies_Hz": (lin.trap_frequencies / (2 * np.pi)).tolist(),
            "timings_s": {"linearize": t_lin, "simulate": t_sim},
            "steps_per_second": extra.get("steps_per_second", steps / t_sim if t_sim > 0 else None),
            "start": "stationary draw of the linear model" if noisy else "at rest at the equilibrium",
            "notes": notes + ([] if noisy else ["no noise: temperature or damping is 0 (fluctuation-dissipation)"]),
            "files": files + ["summary.json"], **{k: v for k, v in extra.items() if k != "steps_per_second"},
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    if not noisy:
        echo("note: no noise (temperature or damping is 0): the particles stay at rest at the equilibrium; "
             "give --damping and --temperature for a thermal trajectory")
    echo(f"{mode}: {steps} steps of {dt:.3g} s in {t_sim:.2f} s ({summary['steps_per_second']:.3g} steps/s); "
         f"wrote {', '.join(summary['files'])} to {out}/")
    return out
