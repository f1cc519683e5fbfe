r"""Trajectories of the linear Langevin dynamics by exact discretization.

The state ``z = (x, v)`` of ``n`` dofs obeys ``dz/dt = A z + eta`` with ``<eta eta^T> = B delta``
(:func:`cdsolve.dynamics.spectra.state_space`: stiffness, masses, damping; thermal force noise
``2 m gamma k_B T`` per dof from the gas at ``temperature`` plus any recoil ``diffusion``). Over a step
``dt`` the exact solution is the Gaussian update

    z_{k+1} = Phi z_k + w_k,   Phi = exp(A dt),   <w_k w_k^T> = Q = int_0^dt exp(A s) B exp(A^T s) ds,

with ``Q`` from Van Loan's block exponential (C. F. Van Loan, IEEE TAC 23, 395 (1978)):
``exp([[-A, B], [0, A^T]] dt) = [[., F12], [0, F22]]``, ``Phi = F22^T``, ``Q = Phi F12``. No time-step
error at any ``dt`` (the only approximation is floating point); ``w_k = Q^1/2 N(0, 1)`` from the
eigen-decomposition of ``Q`` (positive semidefinite).

Throughput: the recursion is evaluated in blocks of ``L`` steps at once (the zero-start response of
all blocks advances together, the block starts follow from ``Phi^L``, and ``Phi^i`` times the block
start is added in one batched product), so the Python loop runs ``~2 sqrt(n_steps)`` times and the
work is BLAS matrix products (10^6 steps of 20 dofs in about a second).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.linalg as sla

from .spectra import state_space

__all__ = ["Trajectory", "simulate_linear", "discretize"]

_FORMAT = "cdsolve-trajectory/1"


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Labelled time series of ``n`` dofs.

    Attributes
    ----------
    time : (n_steps,) float [s]           ``k dt``
    positions : (n_steps, n) float [m]    displacements from the linearization point
    velocities : (n_steps, n) float [m/s] or None
    labels : tuple of str                 dof names (columns)
    dt : float [s]
    units : dict                          unit of every array
    provenance : dict                     how it was made (model, seed, temperature, method)
    """

    time: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None
    labels: tuple
    dt: float
    units: dict = field(default_factory=lambda: {"time": "s", "positions": "m", "velocities": "m/s", "dt": "s"})
    provenance: dict = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return len(self.time)

    def save(self, path) -> Path:
        """Write ``.npz`` (arrays + JSON metadata) or ``.csv`` (header ``time [s], <label> [m], ...``)."""
        path = Path(path)
        suffix = path.suffix.lower()
        meta = {"format": _FORMAT, "labels": list(self.labels), "dt": self.dt, "units": self.units,
                "provenance": self.provenance}
        if suffix == ".npz":
            arrays = {"time": self.time, "positions": self.positions}
            if self.velocities is not None:
                arrays["velocities"] = self.velocities
            np.savez(path, **arrays, meta=json.dumps(meta))
        elif suffix == ".csv":
            cols = [self.time[:, None], self.positions]
            head = ["time [s]"] + [f"{lab} [m]" for lab in self.labels]
            if self.velocities is not None:
                cols.append(self.velocities)
                head += [f"v_{lab} [m/s]" for lab in self.labels]
            np.savetxt(path, np.hstack(cols), delimiter=",", header=",".join(head), comments="", fmt="%.17g")
        else:
            raise ValueError(f"unknown trajectory format {path.suffix!r} for path {str(path)!r} (use .npz or .csv)")
        return path

    @classmethod
    def load(cls, path) -> "Trajectory":
        """Read an ``.npz`` written by :meth:`save`."""
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise ValueError(f"Trajectory.load reads .npz files written by Trajectory.save, got {str(path)!r}")
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: not a cdsolve trajectory (format {meta.get('format')!r})")
            vel = data["velocities"] if "velocities" in data.files else None
            return cls(time=data["time"], positions=data["positions"], velocities=vel, labels=tuple(meta["labels"]),
                       dt=float(meta["dt"]), units=meta["units"], provenance=meta["provenance"])


def discretize(A: np.ndarray, B: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact discretization ``(Phi, Q)`` of ``dz/dt = A z + eta``, ``<eta eta^T> = B delta`` over ``dt``.

    Parameters
    ----------
    A, B : (m, m) float    drift [1/s] and noise rate (symmetric PSD) in any consistent units
    dt : float [s]

    Returns
    -------
    Phi : (m, m) float     ``exp(A dt)``
    Q : (m, m) float       ``int_0^dt exp(A s) B exp(A^T s) ds`` (symmetric)
    """
    m = A.shape[0]
    beta = np.abs(B).max()
    beta = beta if beta > 0 else 1.0
    C = np.zeros((2 * m, 2 * m))
    C[:m, :m] = -A
    C[:m, m:] = B / beta
    C[m:, m:] = A.T
    E = sla.expm(C * dt)
    Phi = E[m:, m:].T
    Q = Phi @ E[:m, m:] * beta
    return Phi, 0.5 * (Q + Q.T)


def _psd_sqrt(Q: np.ndarray) -> np.ndarray:
    lam, U = np.linalg.eigh(0.5 * (Q + Q.T))
    return U * np.sqrt(np.clip(lam, 0, None))[None, :]


def _propagate(Phi: np.ndarray, z0: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Blocked recursion (module docstring) for ``W`` (Lb, nb, m): block ``b`` holds steps ``b Lb + i``.

    Returns ``Z`` (nb * Lb, m) with ``Z[k] = Phi Z[k-1] + W_k``, ``Z[-1] = z0``; ``W`` is overwritten.
    """
    Lb, nb, m = W.shape
    R = W  # step i of every block is one contiguous (nb, m) slab
    PhiT = np.ascontiguousarray(Phi.T)
    for i in range(1, Lb):
        R[i] += R[i - 1] @ PhiT
    P = np.empty((Lb, m, m))
    P[0] = Phi
    for i in range(1, Lb):
        P[i] = Phi @ P[i - 1]
    starts = np.empty((nb, m))
    s = z0
    PL = P[-1]
    last = R[-1]
    for b in range(nb):
        starts[b] = s
        s = PL @ s + last[b]
    R += starts[None] @ np.swapaxes(P, 1, 2)
    return R.transpose(1, 0, 2).reshape(nb * Lb, m)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def simulate_linear(model, dt: float, n_steps: int, *, temperature, diffusion=None, seed, x0=None,
                    chunk: int = 1 << 16) -> Trajectory:
    """Simulate the linear Langevin dynamics exactly (module docstring) and return a :class:`Trajectory`.

    Parameters
    ----------
    model : LinearModel, LangevinModel or identified model
        See :func:`cdsolve.dynamics.spectra.state_space` (a ``LangevinModel`` carries its own noise:
        pass ``temperature=None``).
    dt : float [s]
        Sampling step (> 0); exact at any value.
    n_steps : int
        Number of samples returned (``time = k dt``, ``k = 0 .. n_steps - 1``), >= 1.
    temperature : None or float [K]
        Gas temperature of the damping's thermal force noise (``2 m gamma k_B T`` per dof).
    diffusion : None or (n, n) [N^2 s]
        Extra force diffusion (recoil, ``<xi_a xi_b> = 2 D_ab delta``; real part used).
    seed : int or numpy.random.Generator
        Random stream (required: every trajectory is reproducible).
    x0 : None, (n,) float [m] or (2n,) float [m, m/s]
        Initial positions (velocities zero) or positions and velocities. None: a draw from the
        stationary distribution (the model must then be stable).
    chunk : int
        Steps generated per block of random numbers (memory ~ ``chunk * 2n * 24`` bytes).

    Returns
    -------
    Trajectory
    """
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)) or not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a finite time step > 0 [s], got {dt!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed must be an int or a numpy.random.Generator, got {seed!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    ss = state_space(model, diffusion=diffusion, temperature=temperature)
    n = ss.n
    scale = ss.scale
    if x0 is None:
        z = _psd_sqrt(ss.covariance()) @ rng.standard_normal(2 * n)
    else:
        x = np.asarray(x0, float).ravel()
        if x.shape not in ((n,), (2 * n,)) or not np.all(np.isfinite(x)):
            raise ValueError(f"x0 must be {n} finite positions [m] or {2 * n} positions and velocities, got {x0!r}")
        z = (np.concatenate([x, np.zeros(n)]) if x.shape == (n,) else x) / scale
    Phi, Q = discretize(ss.A, ss.B, float(dt))
    L = _psd_sqrt(Q)
    Z = np.empty((int(n_steps), 2 * n))
    Z[0] = z
    k = 1
    LT = np.ascontiguousarray(L.T)
    with _one_blas_thread():  # (nb, 2n) x (2n, 2n) products: threads cost more than they give
        while k < n_steps:
            S = min(int(chunk), int(n_steps) - k)
            Lb = max(1, int(np.sqrt(S)))
            nb = -(-S // Lb)
            W = (rng.standard_normal((Lb * nb, 2 * n)) @ LT).reshape(Lb, nb, 2 * n)
            Z[k:k + S] = _propagate(Phi, Z[k - 1], W)[:S]
            k += S
    pos = np.ascontiguousarray(Z[:, :n])
    vel = Z[:, n:] * ss.omega_ref
    prov = {"method": "exact discretization (Van Loan)", "temperature_K": temperature,
            "diffusion": None if diffusion is None else "given", "seed": seed if not isinstance(seed, np.random.Generator) else "Generator",
            "model": type(model).__name__}
    return Trajectory(time=np.arange(int(n_steps)) * float(dt), positions=pos, velocities=vel, labels=ss.labels,
                      dt=float(dt), provenance=prov)
