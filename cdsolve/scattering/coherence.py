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
    res.forces(), res.interaction_forces(), cd.force_jacobian(res)

``IncoherentBeams`` (defined with the other beams in :mod:`cdsolve.optics.beams`) is a
:class:`~cdsolve.optics.beams.Beam` subclass only so that :class:`~cdsolve.scattering.scene.Scene`
accepts it unchanged; it has no coherent field, and asking for one raises a ValueError, never a
silently coherent answer. :class:`IncoherentSolution` has the interface of a coherent
:class:`~cdsolve.scattering.solver.Solution` (forces, torques, cross sections, ``coherent_parts``), so
the Jacobian and noise code above this layer handle both without knowing which they got.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..optics.beams import WAVELENGTH_RTOL, IncoherentBeams, coherent_groups
from .observables import isolated_forces
from .scene import Scene
from .solver import solve_coherent
from .validity import check_dipole_validity

__all__ = [
    "IncoherentBeams",
    "IncoherentSolution",
    "solve_incoherent",
    "coherent_groups",
    "group_scenes",
    "WAVELENGTH_RTOL",
]

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
    def coherent_parts(self) -> tuple:
        """The per-group coherent solutions (same property as ``Solution.coherent_parts``)."""
        return self.solutions

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
        """Interaction (optical-binding) force ``F - F_iso`` (N, 3) float [N]: the sum of each group's interaction force."""
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
            List of each group's own :func:`cdsolve.scattering.observables.cross_sections` dict.
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


def solve_incoherent(scene: Scene, *, check_validity: bool = True, x0=None, **solve_options) -> IncoherentSolution:
    """Solve every coherent group of ``scene`` separately.

    Parameters
    ----------
    scene : Scene
        Illumination an :class:`IncoherentBeams` (or any Beam: then one group, identical to
        :func:`cdsolve.solve`).
    check_validity : bool
        Warn once (:class:`cdsolve.scattering.validity.DipoleValidityWarning`) when the dipole model
        is outside its accurate range (see :func:`cdsolve.solve`).
    **solve_options
        Passed to :func:`cdsolve.scattering.solver.solve_coherent` for every group (``method``,
        ``orders``, ``rtol``, ``maxiter``).

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
    if check_validity:
        check_dipole_validity(scene, stacklevel=2)
    scenes = group_scenes(scene)
    if x0 is None:
        starts = (None,) * len(scenes)
    else:  # warm start: the previous solution's group solutions, group by group
        starts = getattr(x0, "coherent_parts", None)
        if starts is None or len(starts) != len(scenes):
            raise ValueError(f"x0: expected a previous solution with {len(scenes)} coherent group(s), got {x0!r:.80}")
    sols = tuple(solve_coherent(s, x0=s0, **solve_options) for s, s0 in zip(scenes, starts))
    return IncoherentSolution(scene=scene, solutions=sols)
