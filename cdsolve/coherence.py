"""Mutually incoherent groups of beams: solve each group, add the time-averaged observables.

Tweezer arrays made with acousto-optic deflectors (AODs) use tones that differ by MHz; light from
different lasers is not phase locked at all. Averaged over the mechanical time scales (kHz) the
cross terms between such beams vanish, so every time-averaged *quadratic* observable -- forces,
torques, absorbed/scattered/extinguished powers, the force Jacobian -- is the sum of the values for
each coherent group alone. Within a group everything interferes exactly as in :func:`cdsolve.solve`.

Frequencies: all groups share one vacuum wavelength (relative spread <= ``WAVELENGTH_RTOL``). MHz
offsets change the optical frequency by ~1e-8 relative, which changes polarizabilities and
propagation phases negligibly; give the common wavelength. Each group is solved at its own
(nearly equal) wavelength. Lasers of genuinely different colour are refused (polarizabilities and
propagators differ; solve those scenes separately and add the forces yourself).

Usage::

    illum = IncoherentBeams(groups=(tweezer_a, tweezer_b))   # a and b do not interfere
    scene = cd.Scene(positions=..., particles=..., illumination=illum)
    res = solve_incoherent(scene)
    res.forces(), res.interaction_forces(), res.force_jacobian()

``IncoherentBeams`` is a :class:`~cdsolve.beams.Beam` subclass only so that :class:`~cdsolve.scene.Scene`
accepts it unchanged; it has no coherent field, and asking for one (e.g. ``cd.solve(scene)`` on such a
scene) raises a ValueError that points here, never a silently coherent answer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .beams import Beam, BeamSum, as_illumination
from .observables import isolated_forces
from .scene import Scene

__all__ = [
    "IncoherentBeams",
    "IncoherentSolution",
    "solve_incoherent",
    "coherent_groups",
    "group_scenes",
    "WAVELENGTH_RTOL",
]

#: largest relative wavelength spread accepted between incoherent groups (~ 300 GHz at 1064 nm)
WAVELENGTH_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class IncoherentBeams(Beam):
    """Illumination made of mutually incoherent groups of beams.

    Parameters
    ----------
    groups : sequence of (Beam or sequence of Beam)
        At least one group. Each group is one coherent illumination (a Beam, a :class:`BeamSum`
        or a list of beams, which is summed coherently). Different groups do not interfere.
        Nested ``IncoherentBeams`` are flattened into their groups.

    Attributes
    ----------
    groups : tuple of Beam
        One coherent Beam per group.
    wavelength : float [m]
        Common vacuum wavelength (of the first group).

    Examples
    --------
    >>> from cdsolve.beams import GaussianTweezer
    >>> a = GaussianTweezer(1064e-9, focus=(-1e-6, 0, 0), waist=1e-6, power=0.1)
    >>> b = GaussianTweezer(1064e-9, focus=(1e-6, 0, 0), waist=1e-6, power=0.1)
    >>> ill = IncoherentBeams(groups=(a, b))
    >>> len(ill.groups), round(ill.wavelength * 1e9)
    (2, 1064)
    """

    groups: Any

    def __post_init__(self):
        raw = self.groups
        if isinstance(raw, (Beam, str, bytes)) or not hasattr(raw, "__iter__"):
            raise ValueError(f"IncoherentBeams.groups must be a sequence of groups (Beams or lists of Beams), got {raw!r}")
        flat = []
        for idx, g in enumerate(tuple(raw)):
            if isinstance(g, IncoherentBeams):
                flat.extend(g.groups)
                continue
            try:
                beam = as_illumination(g)
            except ValueError as exc:
                raise ValueError(f"IncoherentBeams.groups[{idx}]: {exc}") from None
            if isinstance(beam, BeamSum) and any(isinstance(b, IncoherentBeams) for b in beam.beams):
                raise ValueError(f"IncoherentBeams.groups[{idx}] contains an IncoherentBeams inside a coherent sum")
            flat.append(beam)
        if not flat:
            raise ValueError("IncoherentBeams.groups is empty: give at least one group")
        lam0 = flat[0].wavelength
        for idx, g in enumerate(flat[1:], start=1):
            if abs(g.wavelength - lam0) > WAVELENGTH_RTOL * lam0:
                raise ValueError(
                    f"IncoherentBeams.groups[{idx}].wavelength={g.wavelength!r} m differs from "
                    f"groups[0].wavelength={lam0!r} m by more than {WAVELENGTH_RTOL:g} (relative); "
                    "incoherent groups must share one wavelength (solve different colours separately)"
                )
        object.__setattr__(self, "groups", tuple(flat))

    @property
    def wavelength(self) -> float:
        """Common vacuum wavelength [m] (that of the first group)."""
        return self.groups[0].wavelength

    def _e_jets(self, points, n_medium, order):
        raise ValueError(
            "IncoherentBeams has no single coherent field: its groups do not interfere. Use "
            "cdsolve.coherence.solve_incoherent(scene) (time-averaged observables summed over groups), "
            "or evaluate each group (IncoherentBeams.groups[i]) separately"
        )

    def __add__(self, other):
        raise ValueError(
            "cannot add beams coherently to an IncoherentBeams; put them into one of its groups "
            "(IncoherentBeams(groups=(...)))"
        )

    def __radd__(self, other):
        return self.__add__(other)


def coherent_groups(illumination) -> tuple[Beam, ...]:
    """The coherent groups of an illumination: its groups for ``IncoherentBeams``, else ``(beam,)``."""
    if isinstance(illumination, IncoherentBeams):
        return illumination.groups
    return (as_illumination(illumination),)


def group_scenes(scene: Scene) -> tuple[Scene, ...]:
    """One scene per coherent group (same particles, positions and medium)."""
    if not isinstance(scene, Scene):
        raise ValueError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    groups = coherent_groups(scene.illumination)
    if len(groups) == 1 and groups[0] is scene.illumination:
        return (scene,)
    # Casimir-Polder forces (scene.casimir) do not depend on the light: added once, not per group
    return tuple(dataclasses.replace(scene, illumination=g, casimir=None) for g in groups)


@dataclasses.dataclass(frozen=True, eq=False)
class IncoherentSolution:
    """Per-group solutions of a scene with incoherent illumination; observables summed over groups.

    Attributes
    ----------
    scene : Scene
        The scene as given (illumination may be an :class:`IncoherentBeams`).
    solutions : tuple of Solution
        One self-consistent (or ``orders=n``) solution per coherent group, in group order.
    """

    scene: Scene
    solutions: tuple

    @property
    def n_groups(self) -> int:
        return len(self.solutions)

    @property
    def method(self) -> str:
        """Solve method of each group, e.g. ``"incoherent[direct, direct]"``."""
        return f"incoherent[{', '.join(s.method for s in self.solutions)}]"

    @property
    def info(self) -> dict:
        """Diagnostics: the largest relative residual of the groups and each group's own ``info``."""
        res = [s.info.get("residual") for s in self.solutions]
        return {"residual": None if any(r is None for r in res) else max(res), "groups": [s.info for s in self.solutions]}

    def stacked(self, name: str) -> np.ndarray:
        """A per-group array attribute (``"p"``, ``"m"``, ``"E_local"``, ``"H_local"``) as (G, N, 3) complex."""
        return np.stack([getattr(s, name) for s in self.solutions])

    def _sum(self, fn):
        out = fn(self.solutions[0])
        for s in self.solutions[1:]:
            out = out + fn(s)
        return out

    def _casimir(self):
        c = self.scene.casimir
        return None if c is None or self.n_groups == 1 else c

    def forces(self) -> np.ndarray:
        """Time-averaged optical force, summed over groups, (N, 3) float [N] (+ Casimir-Polder, once)."""
        F = self._sum(lambda s: s.forces())
        return F if self._casimir() is None else F + self._casimir().forces(self.scene)

    def isolated_forces(self) -> np.ndarray:
        """Force on each particle alone in the same (incoherent) beams, (N, 3) float [N].

        The sum over groups of each particle's isolated force in that group's beams.
        """
        return self._sum(lambda s: isolated_forces(s.scene))

    def interaction_forces(self) -> np.ndarray:
        """Optical-binding force ``F - F_iso`` (N, 3) float [N]: the sum of each group's binding force."""
        return self.forces() - self.isolated_forces()

    def force_components(self) -> dict:
        """Electric, magnetic, e-m interference parts and total, each summed over groups, (N, 3) [N]."""
        parts = [s.force_components() for s in self.solutions]
        out = {key: sum(p[key] for p in parts) for key in parts[0]}
        if self._casimir() is not None:
            out["casimir"] = self._casimir().forces(self.scene)
            out["total"] = out["total"] + out["casimir"]
        return out

    def torques(self) -> np.ndarray:
        """Time-averaged torque about each particle centre, summed over groups, (N, 3) float [N m]."""
        return self._sum(lambda s: s.torques())

    def force_jacobian(self, dofs=None) -> np.ndarray:
        """``dF/dr`` of the summed forces (sum of each group's analytic Jacobian), (n, n) float [N/m].

        ``dofs`` as in :func:`cdsolve.jacobian.select_dofs`; the stiffness is ``K = -J``.
        """
        from .jacobian import force_jacobian

        J = self._sum(lambda s: force_jacobian(s, dofs))
        if self._casimir() is None:
            return J
        from .jacobian import select_dofs

        sel = select_dofs(self.scene.n_particles, dofs)
        return J - self._casimir().stiffness(self.scene)[np.ix_(sel, sel)]

    def cross_sections(self) -> dict:
        """Powers removed from / scattered out of / absorbed from all groups together.

        Returns
        -------
        dict with
        ``P_ext, P_sca, P_abs`` [W]
            Sums over groups (each group's power balance is independent; powers add for
            incoherent light).
        ``energy_balance``
            ``(P_ext - P_sca - P_abs) / P_ext`` of the sums.
        ``groups``
            List of each group's own :func:`cdsolve.observables.cross_sections` dict.
        ``C_ext, C_sca, C_abs`` [m^2], ``intensity`` [W/m^2]
            Only when *every* group is a single plane wave: total power divided by the total
            incident intensity ``sum_g I_g`` (the intensity-weighted mean cross section). With one
            group this is the ordinary cross section.
        """
        per = [s.cross_sections() for s in self.solutions]
        out = {key: float(sum(p[key] for p in per)) for key in ("P_ext", "P_sca", "P_abs")}
        out["energy_balance"] = (
            (out["P_ext"] - out["P_sca"] - out["P_abs"]) / out["P_ext"] if out["P_ext"] != 0 else 0.0
        )
        out["groups"] = per
        if all("intensity" in p for p in per):
            I_tot = float(sum(p["intensity"] for p in per))
            out.update(C_ext=out["P_ext"] / I_tot, C_sca=out["P_sca"] / I_tot, C_abs=out["P_abs"] / I_tot,
                       intensity=I_tot)
        return out


def solve_incoherent(scene: Scene, **solve_options) -> IncoherentSolution:
    """Solve every coherent group of ``scene`` separately.

    Parameters
    ----------
    scene : Scene
        Illumination an :class:`IncoherentBeams` (or any Beam: then one group, identical to
        :func:`cdsolve.solve`).
    **solve_options
        Passed to :func:`cdsolve.solve` for every group (``method``, ``orders``, ``rtol``, ``maxiter``).

    Returns
    -------
    IncoherentSolution

    Examples
    --------
    >>> import cdsolve as cd
    >>> a = cd.GaussianTweezer(1064e-9, focus=(-0.5e-6, 0, 0), waist=1e-6, power=0.05)
    >>> b = cd.GaussianTweezer(1064e-9, focus=(0.5e-6, 0, 0), waist=1e-6, power=0.05)
    >>> scene = cd.Scene(positions=[[-0.5e-6, 0, 0], [0.5e-6, 0, 0]],
    ...                  particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=IncoherentBeams(groups=(a, b)))
    >>> res = solve_incoherent(scene)
    >>> res.n_groups, res.forces().shape
    (2, (2, 3))
    """
    from .solver import solve

    sols = tuple(solve(s, **solve_options) for s in group_scenes(scene))
    return IncoherentSolution(scene=scene, solutions=sols)
