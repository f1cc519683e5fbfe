"""Nonlinear Langevin dynamics with the full coupled-dipole forces (a fresh solve at every step).

:func:`simulate_nonlinear` moves the chosen degrees of freedom of a scene under the exact
time-averaged optical forces of :func:`cdsolve.solve` (the scene is moved with
``scene.with_positions`` and solved again at every step: large amplitudes, anharmonic traps,
position-dependent couplings), plus a thermal bath. The dofs that are not chosen stay where they are.

Equations of motion (per moving dof ``i``; ``m_i`` the mass of its particle, ``gamma_i`` the damping
rate [1/s], ``T`` the bath temperature, ``xi`` unit white noise)

* ``regime="underdamped"`` (gas): ``m x'' = F(x) - m gamma x' + sqrt(2 m gamma k_B T) xi(t)``;
* ``regime="overdamped"`` (liquid): ``zeta x' = F(x) + sqrt(2 zeta k_B T) xi(t)`` with the friction
  coefficient ``zeta = m gamma`` [kg/s] (Stokes: ``gamma = 6 pi eta a / m``).

Noise model: the thermal bath of the damping (fluctuation-dissipation at ``T``), independent for
every dof, Gaussian, white. Recoil heating of the scattered photons is *not* included (its
diffusion is :func:`cdsolve.dynamics.recoil_noise.recoil_diffusion`, small next to a gas bath above
~1e-6 mbar).

Integrators (one force evaluation, i.e. one solve, per step):

* underdamped: **BAOAB** Langevin splitting (Leimkuhler & Matthews, Appl. Math. Res. Express 2013,
  34): half kick ``v += dt F/(2m)``, half drift ``x += dt v/2``, exact Ornstein-Uhlenbeck step
  ``v <- c v + sqrt((1 - c^2) k_B T/m) xi`` with ``c = exp(-gamma dt)``, half drift, new force, half
  kick. Without damping and noise it is velocity Verlet (second order, symplectic); the phase error
  of a harmonic mode of frequency omega is ``(omega dt)^2/24`` per radian.
* overdamped: **Euler-Maruyama** ``x <- x + dt F/zeta + sqrt(2 k_B T dt/zeta) xi`` (first order;
  stable for ``dt < 2 zeta / K``, where ``K`` is the largest trap stiffness).

Warm starts: each iterative solve starts from the previous step's solution (``cd.solve(..., x0=previous)``;
the answer is the same, the stopping rule is on the true residual; ``info["warm_start"]``). The
default ``method="auto"`` here picks the iterative solve (GMRES, a few matrix-vector products for
trapped arrays) from 16 particles up and the direct solve below (which needs no start).

Throughput (steps per second of wall time, solves included) is in ``info["steps_per_second"]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..optics.conventions import KB
from ..scattering.dispatch import solve
from ..scattering.scene import Scene
from ..scattering.validity import check_dipole_validity
from .equilibrium import dof_labels
from .jacobian import select_dofs

__all__ = ["NonlinearTrajectory", "simulate_nonlinear"]

#: particle count from which ``method="auto"`` uses the iterative solve
_ITERATIVE_FROM = 16


@dataclass(frozen=True, eq=False)
class NonlinearTrajectory:
    """Recorded samples of :func:`simulate_nonlinear`: labelled arrays (time, dof) with units.

    Attributes
    ----------
    time : (T,) float [s]              sample times (``t = 0`` is the start)
    positions : (T, n) float [m]       absolute coordinates of the moving dofs
    velocities : (T, n) float [m/s]    velocities (underdamped; ``None`` overdamped)
    labels : list of str               dof names, e.g. ``"z_1"`` (particle numbering from 0)
    dofs : (n,) int                    indices into the particle-major 3N coordinates
    masses : (n,) float [kg]           mass of the particle owning each dof
    units : dict                       unit of every array
    info : dict                        integrator, noise model, dt, steps, solves, timings, throughput
    """

    time: np.ndarray
    positions: np.ndarray
    velocities: Any
    labels: list
    dofs: np.ndarray
    masses: np.ndarray
    units: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def displacements(self) -> np.ndarray:
        """``positions - positions[0]`` (T, n) [m]."""
        return self.positions - self.positions[0]

    def to_xarray(self):
        """An ``xarray.Dataset`` with dims ``(time, dof)`` (needs the optional package xarray)."""
        try:
            import xarray as xr
        except ImportError:
            raise ModuleNotFoundError("NonlinearTrajectory.to_xarray needs the optional package xarray: "
                                      "pip install 'cdsolve[sweep]'", name="xarray") from None
        data = {"positions": (("time", "dof"), self.positions, {"units": "m"})}
        if self.velocities is not None:
            data["velocities"] = (("time", "dof"), self.velocities, {"units": "m/s"})
        coords = {"time": ("time", self.time, {"units": "s"}), "dof": list(self.labels),
                  "mass": ("dof", self.masses, {"units": "kg"})}
        return xr.Dataset(data, coords=coords, attrs={k: str(v) for k, v in self.info.items()})

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` with ``time``, ``positions``, (``velocities``), ``labels``, ``dofs``, ``masses``,
        ``units`` and ``info`` (JSON strings)."""
        import json

        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise ValueError(f"NonlinearTrajectory.save writes .npz files, got {str(path)!r}")
        arrays = {"time": self.time, "positions": self.positions, "dofs": self.dofs, "masses": self.masses,
                  "labels": np.array(self.labels)}
        if self.velocities is not None:
            arrays["velocities"] = self.velocities
        np.savez(path, **arrays, units=json.dumps(self.units), info=json.dumps(self.info, default=str))
        return path


def _per_dof(value, name: str, n: int, *, positive: bool) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of {n} numbers, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be one value or one per moving dof ({n}), got shape {arr.shape}")
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}")
    return arr


def _particle_masses(scene: Scene, masses) -> np.ndarray:
    N = scene.n_particles
    if masses is None:
        try:
            return scene.masses()
        except ValueError as e:
            raise ValueError(f"masses: {e} (or pass masses=)") from None
    mm = np.asarray(masses, float)
    mm = np.full(N, float(mm)) if mm.ndim == 0 else mm
    if mm.shape != (N,) or np.any(~np.isfinite(mm)) or np.any(mm <= 0):
        raise ValueError(f"masses must be one positive mass [kg] or one per particle ({N}), got {masses!r}")
    return mm


def _velocities(value, n: int) -> np.ndarray:
    try:
        v = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"velocities must be an array of {n} numbers [m/s], got {value!r}") from None
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise ValueError(f"velocities must be {n} finite numbers [m/s] (one per moving dof), got {value!r}")
    return v


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def simulate_nonlinear(
    scene: Scene,
    dt: float,
    n_steps: int,
    *,
    damping,
    temperature: float,
    seed,
    masses=None,
    regime: str = "underdamped",
    dofs=None,
    velocities=None,
    record_every: int = 1,
    method: str = "auto",
    rtol: float = 1e-10,
    progress: Callable[[int, int], None] | None = None,
) -> NonlinearTrajectory:
    """Integrate the Langevin dynamics of ``scene`` with the full solver's forces (module docstring).

    Parameters
    ----------
    scene : Scene
        Starting positions (for example ``cd.linearize(scene, at="equilibrium").positions`` plus a kick).
    dt : float [s]
        Time step (> 0). Underdamped: resolve the fastest trap period (``omega dt <~ 0.1``);
        overdamped: ``dt < 2 zeta / K_max``.
    n_steps : int
        Number of steps (>= 1); ``n_steps + 1`` states counting the start.
    damping : float or (n,) float [1/s]
        Damping rate gamma of every moving dof (>= 0 underdamped, > 0 overdamped).
    temperature : float [K]
        Bath temperature (>= 0; 0 = deterministic).
    seed : int or numpy.random.Generator
        Seed of the noise (required: every trajectory is reproducible).
    masses : None, float or (N,) float [kg]
        Particle masses (default: the particles' own, from density or mass).
    regime : {"underdamped", "overdamped"}
    dofs : None, str or indices
        Moving coordinates (:func:`cdsolve.dynamics.jacobian.select_dofs`: ``"z"``, ``"xy"``, indices into
        the particle-major 3N vector); the others stay fixed. Default: all 3N.
    velocities : None or (n,) float [m/s]
        Initial velocities of the moving dofs (underdamped; default 0).
    record_every : int
        Keep every ``record_every``-th state (>= 1).
    method : {"auto", "direct", "iterative"}
        Solve method; ``"auto"`` = iterative from 16 particles up, direct below (module docstring).
    rtol : float
        Solver tolerance (:func:`cdsolve.solve`).
    progress : callable, optional
        Called as ``progress(steps_done, n_steps)`` after every recorded sample.

    Returns
    -------
    NonlinearTrajectory
        ``positions`` (T, n) [m], ``velocities`` (T, n) [m/s] (underdamped), ``time`` (T,) [s], ``info``
        with ``steps_per_second``.

    Raises
    ------
    RuntimeError
        When a force becomes non-finite or two particles collide (the step is named).

    Examples
    --------
    >>> import cdsolve as cd
    >>> tw = cd.GaussianTweezer(1064e-9, focus=(0, 0, 0), waist=0.8e-6, power=0.1)
    >>> scene = cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45, density=2200),
    ...                  illumination=tw)
    >>> tr = simulate_nonlinear(scene, 1e-7, 20, damping=1e3, temperature=300.0, seed=1, dofs="z")
    >>> tr.positions.shape, tr.labels
    ((21, 1), ['z_0'])
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    if regime not in ("underdamped", "overdamped"):
        raise ValueError(f"regime must be 'underdamped' or 'overdamped', got {regime!r}")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)) or not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite time step > 0 [s], got {dt!r}")
    dt = float(dt)
    n_steps = _check_int(n_steps, "n_steps", 1)
    record_every = _check_int(record_every, "record_every", 1)
    if isinstance(temperature, bool) or not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 [K], got {temperature!r}")
    if method not in ("auto", "direct", "iterative"):
        raise ValueError(f"method must be 'auto', 'direct' or 'iterative', got {method!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or a callable progress(done, total), got {progress!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    sel = select_dofs(scene.n_particles, dofs)
    n = len(sel)
    m = _particle_masses(scene, masses)[sel // 3]
    gamma = _per_dof(damping, "damping", n, positive=(regime == "overdamped"))
    if method == "auto":
        method = "iterative" if scene.n_particles >= _ITERATIVE_FROM else "direct"
    kT = KB * float(temperature)

    check_dipole_validity(scene)  # once, at the start (the steps solve silently)
    full = scene.positions.ravel().copy()
    n_solves = 0
    t_solve = 0.0
    previous = [None]  # the last iterative solution: the warm start of the next solve

    def force(x: np.ndarray, step: int) -> np.ndarray:
        nonlocal n_solves, t_solve
        full[sel] = x
        t0 = time.perf_counter()
        try:
            moved = scene.with_positions(full.reshape(-1, 3))
        except ValueError as e:
            raise RuntimeError(f"step {step} (t = {step * dt:.6g} s): {e}") from None
        sol = solve(moved, method=method, rtol=rtol, check_validity=False, x0=previous[0])
        if sol.method != "direct":
            previous[0] = sol
        F = sol.forces().ravel()[sel]
        t_solve += time.perf_counter() - t0
        n_solves += 1
        if not np.all(np.isfinite(F)):
            raise RuntimeError(f"step {step} (t = {step * dt:.6g} s): non-finite force on the moving dofs")
        return F

    x = full[sel].copy()
    n_rec = n_steps // record_every + 1
    X = np.empty((n_rec, n))
    X[0] = x
    underdamped = regime == "underdamped"
    if underdamped:
        v = np.zeros(n) if velocities is None else _velocities(velocities, n)
        V = np.empty((n_rec, n))
        V[0] = v
        c1 = np.exp(-gamma * dt)
        c2 = np.sqrt((1.0 - c1**2) * kT / m)
    else:
        if velocities is not None:
            raise ValueError("velocities are not a state of the overdamped regime; give velocities=None")
        V = None
        zeta = m * gamma
        sigma = np.sqrt(2.0 * kT * dt / zeta)

    t_start = time.perf_counter()
    F = force(x, 0)
    r = 1
    for step in range(1, n_steps + 1):
        if underdamped:  # BAOAB
            v += 0.5 * dt * F / m
            x += 0.5 * dt * v
            v = c1 * v + c2 * rng.standard_normal(n)
            x += 0.5 * dt * v
            F = force(x, step)
            v += 0.5 * dt * F / m
        else:  # Euler-Maruyama
            x = x + dt * F / zeta + sigma * rng.standard_normal(n)
            F = force(x, step)
        if step % record_every == 0:
            X[r] = x
            if underdamped:
                V[r] = v
            r += 1
            if progress is not None:
                progress(step, n_steps)
    wall = time.perf_counter() - t_start
    info = {
        "regime": regime,
        "integrator": "BAOAB Langevin splitting (Leimkuhler-Matthews 2013)" if underdamped
        else "Euler-Maruyama",
        "noise": "thermal bath of the damping (fluctuation-dissipation at the temperature), white, independent "
                 "per dof; no recoil heating",
        "dt_s": dt, "n_steps": n_steps, "record_every": record_every, "temperature_K": float(temperature),
        "damping_per_s": gamma.tolist(), "solve_method": method, "n_solves": n_solves,
        "n_particles": scene.n_particles,
        "warm_start": "each iterative solve starts from the previous step's solution (x0)",
        "wall_time_s": wall, "solve_time_s": t_solve,
        "steps_per_second": n_steps / wall if wall > 0 else float("inf"),
    }
    units = {"time": "s", "positions": "m", "velocities": "m/s", "masses": "kg", "dofs": "index into (x_0, y_0, z_0, x_1, ...)"}
    return NonlinearTrajectory(time=dt * record_every * np.arange(n_rec), positions=X, velocities=V,
                               labels=dof_labels(sel), dofs=sel, masses=m, units=units, info=info)
