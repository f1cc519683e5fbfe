"""Where the optical forces vanish: pseudo-transient continuation with the analytic Jacobian.

Radiation pressure pushes trapped particles downstream of their foci and the interaction forces
push them sideways, so the linearization point of a tweezer array is not the set of foci. This
module finds the nearby *stable* zero of the forces on the chosen degrees of freedom (the others stay
fixed). Plain Newton (``K s = F`` with ``K = -dF/dr``) converges to whichever zero is nearest, saddle
points of the optical potential included: from a start 200 nm off a focus it can land upstream of the
trap. Pseudo-transient continuation (Kelley & Keyes, SIAM J. Numer. Anal. 35, 508 (1998)) follows the
overdamped motion ``dr/dt = F`` instead, whose attractors are the stable equilibria, and turns into
Newton as the force vanishes:

    (K + sigma I) s = F,   r <- r + s,   sigma_(k+1) = sigma_k |F_(k+1)| / |F_k|   ("SER" rule),

starting from ``sigma_0 = 0`` (Newton) when every dof starts inside a trap (all ``K_ii > 0``) and from
``sigma_0 = max |K_ii|`` (about half the overdamped relaxation) otherwise; a Newton step (``sigma = 0``)
that lands where some ``K_ii <= 0`` (out of a trap, towards a saddle) is refused, with every
coordinate's step capped (at first) at ``max_step`` (default a tenth of the wavelength in the medium: the trap
basin is about a quarter wavelength deep along the axis), doubled after every accepted capped step (a
low-NA trap can sit microns downstream of its focus); a step that increases ``|F|`` is retried with
``sigma`` four times larger. Converged when the largest force on the moving dofs is below ``ftol`` times
the force scale ``max|K| x 1 nm`` (relative to the trap forces), or the step is below ``xtol``. A dof
without a trap (no restoring stiffness, e.g. along a plane wave) makes the search end with
``converged=False`` and ``untrapped`` naming the dofs whose own stiffness ``K_ii`` is not positive: a
clear note for the caller, never an exception from the search itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scattering.dispatch import solve
from ..scattering.scene import Scene
from .jacobian import force_jacobian, select_dofs
from .modes import is_stable, mechanical_frequencies

__all__ = ["EquilibriumResult", "equilibrium", "dof_labels"]

_AXIS_NAMES = "xyz"


def dof_labels(dofs) -> list[str]:
    """``["x_0", "z_3", ...]`` for particle-major dof indices (particle numbering from 0)."""
    return [f"{_AXIS_NAMES[q % 3]}_{q // 3}" for q in np.asarray(dofs, int)]


@dataclass(frozen=True, eq=False)
class EquilibriumResult:
    """Outcome of :func:`equilibrium`.

    Attributes
    ----------
    scene : Scene                       the scene with the particles at the last iterate
    displacements : (N, 3) float [m]    last iterate minus starting positions
    forces : (N, 3) float [N]           forces at the last iterate (fixed dofs keep theirs)
    iterations : int                    steps taken
    converged : bool
    stable : bool                       no growing mode of the undamped dynamical matrix (modes.is_stable)
    jacobian : (n, n) float [N/m]       ``dF/dr`` on the chosen dofs at the last iterate
    dofs : (n,) int                     the dofs that moved
    residual_force : float [N]          largest force on the moving dofs at the last iterate
    untrapped : tuple of str            dofs with ``K_ii <= 0`` (beyond round-off) at the last iterate: no trap
    solution : Solution                 the solve at the last iterate (reused by callers)
    """

    scene: Scene
    displacements: np.ndarray
    forces: np.ndarray
    iterations: int
    converged: bool
    stable: bool
    jacobian: np.ndarray
    dofs: Any = None
    residual_force: float = float("nan")
    untrapped: tuple = ()
    solution: Any = None

    def message(self) -> str:
        """One line saying where the search ended and, if it failed, why."""
        if self.converged:
            return (f"equilibrium found in {self.iterations} steps (largest displacement "
                    f"{np.abs(self.displacements).max() * 1e9:.3g} nm, residual force {self.residual_force:.3g} N)")
        why = (f"no restoring stiffness along {', '.join(self.untrapped)}" if self.untrapped
               else "the search did not converge")
        return (f"no equilibrium found near the given positions after {self.iterations} steps: {why} "
                f"(largest residual force {self.residual_force:.3g} N)")


def _masses_or_ones(scene: Scene, sel: np.ndarray) -> np.ndarray:
    try:
        return scene.masses()[sel // 3]
    except ValueError:  # particles without a density: stability of K alone
        return np.ones(len(sel))


def equilibrium(scene: Scene, dofs=None, *, ftol: float = 1e-10, xtol: float = 1e-15, maxiter: int = 50,
                max_step: float | None = None, method: str = "auto") -> EquilibriumResult:
    """Pseudo-transient continuation to the stable zero of the forces on the chosen dofs (module docstring).

    Parameters
    ----------
    scene : Scene
        Starting positions (typically the tweezer foci).
    dofs : None, str or indices
        Coordinates that move (see :func:`cdsolve.dynamics.jacobian.select_dofs`); the others stay fixed.
    ftol : float
        Stop when the largest force on the moving dofs is below ``ftol`` times ``max|J| x 1 nm``.
    xtol : float [m]
        Or when the accepted step is shorter than this.
    maxiter : int
        Steps (each: one solve and one Jacobian, plus one solve per rejected trial).
    max_step : float [m], optional
        Longest step of any coordinate (default: wavelength in the medium / 10).
    method : str
        Solve method (:func:`cdsolve.solve`).

    Returns
    -------
    EquilibriumResult
        ``converged=False`` with the last iterate when there is no equilibrium nearby (see ``untrapped``).

    Examples
    --------
    >>> import cdsolve as cd
    >>> tw = [cd.GaussianTweezer(1064e-9, focus=(x, 0, 0), waist=0.8e-6, power=0.1) for x in (-1e-6, 1e-6)]
    >>> scene = cd.Scene(positions=[[-1e-6, 0, 0], [1e-6, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=tw)
    >>> eq = equilibrium(scene)
    >>> eq.converged, bool(eq.displacements[:, 2].min() > 0)   # pushed downstream by radiation pressure
    (True, True)
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    for name, value in (("ftol", ftol), ("xtol", xtol)):
        if isinstance(value, bool) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    if max_step is None:
        max_step = 0.1 * scene.wavelength / scene.n_medium
    elif isinstance(max_step, bool) or not np.isfinite(max_step) or max_step <= 0:
        raise ValueError(f"max_step must be a length > 0 [m], got {max_step!r}")
    sel = select_dofs(scene.n_particles, dofs)
    start = scene.positions.copy()

    def evaluate(sc):
        s = solve(sc, method=method, check_validity=False)
        return s, s.forces().ravel()[sel]

    current = scene
    sol, F = evaluate(current)
    J = force_jacobian(sol, dofs=sel)
    n = len(sel)
    # inside every trap (all K_ii > 0) try Newton first; otherwise start as overdamped motion
    sigma = 0.0 if np.all(-np.diag(J) > 0) else float(np.abs(np.diag(J)).max())
    converged = False
    it = 0
    cap = max_step  # grows (x2) after each accepted capped step: low-NA traps sit microns downstream
    while it < maxiter:
        scale = np.abs(J).max() * 1e-9
        if np.abs(F).max() <= ftol * scale:
            converged = True
            break
        it += 1
        accepted = tiny = False
        for _ in range(30):
            try:
                step = np.linalg.solve(-J + sigma * np.eye(n), F)
            except np.linalg.LinAlgError:
                sigma = 4.0 * sigma if sigma > 0 else float(np.abs(J).max())
                if not sigma > 0:  # J = 0: no restoring force anywhere near
                    break
                continue
            longest = np.abs(step).max()
            capped = longest > cap
            if capped:
                step *= cap / longest
            pos = current.positions.ravel().copy()
            pos[sel] += step
            if np.abs(step).max() < xtol:  # at round-off (Newton regime) or stuck (sigma grew without end)
                tiny = True
                break
            try:
                trial = current.with_positions(pos.reshape(-1, 3))
            except ValueError:  # the step would make particles overlap: shorter step
                sigma = 4.0 * sigma if sigma > 0 else float(np.abs(np.diag(J)).max() or np.abs(J).max())
                continue
            t_sol, t_F = evaluate(trial)
            if np.linalg.norm(t_F) < np.linalg.norm(F):
                t_J = force_jacobian(t_sol, dofs=sel)
                # a step that leaves a trap (some K_ii <= 0) heads for a saddle of the potential: refuse it
                if sigma > 0 or np.all(-np.diag(t_J) > 0) or not np.all(-np.diag(J) > 0):
                    accepted = True
                    break
            sigma = 4.0 * sigma if sigma > 0 else float(np.abs(np.diag(J)).max() or np.abs(J).max())
        if tiny and sigma <= 1e-3 * np.abs(np.diag(J)).max():
            converged = True  # the Newton step is below xtol: the zero is found to round-off
            break
        if not accepted:
            break
        sigma *= np.linalg.norm(t_F) / np.linalg.norm(F)  # SER: towards Newton as the force vanishes
        if capped:  # a capped step that reduced the force: the basin is longer than the cap (shallow traps)
            cap *= 2.0
        current, sol, F, J = trial, t_sol, t_F, t_J
        if np.abs(step).max() < xtol:
            converged = True
            break
    # "no trap": K_ii not positive beyond round-off, relative to the stiffness and force scales (a force
    # that would change by less than 1e-6 of itself over a wavelength is not restoring)
    k_floor = 1e-6 * max(np.abs(J).max(), np.abs(F).max() * scene.n_medium / scene.wavelength)
    untrapped = [lab for lab, kii in zip(dof_labels(sel), -np.diag(J)) if not kii > k_floor]
    N = scene.n_particles
    for a, axis in enumerate(_AXIS_NAMES):  # the array as a whole: mean stiffness of a rigid translation
        rows = np.flatnonzero(sel % 3 == a)
        if N > 1 and len(rows) == N and not -J[np.ix_(rows, rows)].sum() / N > k_floor:
            untrapped.append(f"{axis} (rigid translation of the whole array)")
    untrapped = tuple(untrapped)
    stable = is_stable(mechanical_frequencies(-J / _masses_or_ones(current, sel)[:, None]))
    return EquilibriumResult(current, current.positions - start, sol.forces(), it, converged, stable, J,
                             dofs=sel, residual_force=float(np.abs(F).max()), untrapped=untrapped, solution=sol)
