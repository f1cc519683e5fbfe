"""``Scene``: frozen, validated-once description of particles, illumination and host medium.

A scene never solves anything; :func:`cdsolve.solve` turns it into a :class:`~cdsolve.scattering.solver.Solution`.
Changing a scene means making a new one (``scene.with_positions(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
from scipy.spatial import cKDTree

from ..optics.beams import as_illumination
from ..optics.casimir import CasimirPolder
from ..optics.conventions import wavenumber
from ..optics.focusing import FocusedBeam
from ..optics.materials import Medium
from ..optics.polarizability import Particle

__all__ = ["Scene"]


def _as_positions(positions) -> np.ndarray:
    try:
        pos = np.array(positions, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("Scene.positions must be a real (N, 3) array [m]") from None
    if pos.ndim == 1 and pos.shape == (3,):
        pos = pos[None, :]
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
        raise ValueError(f"Scene.positions must have shape (N, 3) with N >= 1, got {pos.shape}")
    bad = ~np.isfinite(pos).all(axis=1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"Scene.positions[{i}] is not finite: {pos[i].tolist()}")
    pos.setflags(write=False)
    return pos


@dataclass(frozen=True, eq=False)
class Scene:
    """Particles at positions, illuminated by coherent beams, in a homogeneous lossless host.

    Parameters
    ----------
    positions : (N, 3) float [m]
        Particle centres.
    particles : Particle or sequence of N Particles
        One particle (shared by all positions) or exactly one per position.
    illumination : Beam or non-empty sequence of Beams
        Coherent illumination (a list is summed coherently; all at one wavelength).
    medium : Medium
        Host medium (default vacuum, index 1).
    casimir : None or cdsolve.optics.casimir.CasimirPolder
        Also include Casimir-Polder forces (at its temperature) in forces, Jacobians and sweeps.

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0], [1e-6, 0, 0]],
    ...                  particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> scene.n_particles, round(scene.wavelength * 1e9)
    (2, 1064)
    """

    positions: Any
    particles: Any
    illumination: Any
    medium: Medium = field(default_factory=lambda: Medium(index=1.0))
    casimir: Any = None
    #: polarizabilities at the scene's wavelength, evaluated (and checked) once, at construction
    _alphas: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        pos = _as_positions(self.positions)
        object.__setattr__(self, "positions", pos)
        n = len(pos)
        parts = self.particles
        if isinstance(parts, Particle):
            parts = (parts,) * n
        elif isinstance(parts, Sequence) and not isinstance(parts, (str, bytes)):
            parts = tuple(parts)
            if len(parts) != n:
                raise ValueError(
                    f"Scene.particles has {len(parts)} entries but positions has {n}; give one particle or one per position"
                )
            for i, q in enumerate(parts):
                if not isinstance(q, Particle):
                    raise ValueError(f"Scene.particles[{i}] is not a Particle: {q!r}")
        else:
            raise ValueError(f"Scene.particles must be a Particle or a sequence of them, got {type(parts).__name__}")
        object.__setattr__(self, "particles", parts)
        if not isinstance(self.medium, Medium):
            raise ValueError(f"Scene.medium must be a cdsolve.Medium, got {self.medium!r}")
        object.__setattr__(self, "illumination", as_illumination(self.illumination))
        k = self.k  # k^4 enters the forces: keep every power of k a finite, non-zero double
        if not 1e-60 <= k <= 1e60:
            raise ValueError(f"Scene: wavelength {self.wavelength!r} m in a host of index {self.n_medium!r} gives "
                             f"k = {k:.3g} 1/m, outside what double precision can evaluate (1e-60 to 1e60 1/m)")
        if self.casimir is not None and not isinstance(self.casimir, CasimirPolder):
            raise ValueError(f"Scene.casimir must be None or a cdsolve.optics.casimir.CasimirPolder, got {self.casimir!r}")
        self._check_beams_fit_medium()
        self._check_overlaps()
        object.__setattr__(self, "_alphas", self._evaluate_polarizabilities())

    def _check_beams_fit_medium(self) -> None:
        """Focused beams need ``na < n_medium`` (sin theta_max < 1): checked here, at the boundary."""
        stack, n = [self.illumination], self.medium.index
        while stack:
            b = stack.pop()
            stack.extend(getattr(b, "beams", ()) or ())
            stack.extend(getattr(b, "groups", ()) or ())
            if isinstance(b, FocusedBeam) and not b.na < n:
                raise ValueError(f"Scene.illumination: focused beam na={b.na} must be smaller than the medium index "
                                 f"{n} (sin theta_max = na / n_medium < 1)")

    def _check_overlaps(self) -> None:
        radii = np.array([q.exclusion_radius for q in self.particles])
        pos = self.positions
        if len(pos) < 2:
            return
        tree = cKDTree(pos)
        reach = 2.0 * radii.max()
        pairs = tree.query_pairs(r=reach, output_type="ndarray") if reach > 0 else np.empty((0, 2), int)
        if reach == 0:  # point dipoles: only coincident points are an error
            pairs = tree.query_pairs(r=0.0, output_type="ndarray")
        if len(pairs):
            i, j = pairs[:, 0], pairs[:, 1]
            d = np.linalg.norm(pos[i] - pos[j], axis=1)
            clash = (d < radii[i] + radii[j]) | (d == 0)
            if np.any(clash):
                c = int(np.flatnonzero(clash)[0])
                a, b = int(i[c]), int(j[c])
                raise ValueError(
                    f"particles {a} and {b} overlap: centre distance {d[c]:.4g} m < "
                    f"sum of radii {radii[a] + radii[b]:.4g} m"
                )

    # ------------------------------------------------------------------ derived data
    @property
    def n_particles(self) -> int:
        return len(self.positions)

    @property
    def wavelength(self) -> float:
        """Vacuum wavelength of the illumination [m]."""
        return float(self.illumination.wavelength)

    @property
    def n_medium(self) -> float:
        return float(self.medium.index)

    @property
    def k(self) -> float:
        """Host wavenumber [1/m]."""
        return wavenumber(self.wavelength, self.n_medium)

    def polarizabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """``alpha_e (N, 3, 3) [F m^2]``, ``alpha_m (N, 3, 3) [m^3]`` at the scene wavelength (copies of the
        values evaluated once when the scene was made)."""
        ae, am = self._alphas
        return ae.copy(), am.copy()

    def _evaluate_polarizabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """Each distinct particle object evaluated once; a particle the models cannot evaluate at this
        wavelength (material out of its tabulated range, sizes beyond the Mie limits) is an error naming it."""
        cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        ae = np.empty((self.n_particles, 3, 3), complex)
        am = np.empty((self.n_particles, 3, 3), complex)
        for i, q in enumerate(self.particles):
            key = id(q)
            if key not in cache:
                try:
                    cache[key] = q.polarizabilities(self.wavelength, self.n_medium)
                except ValueError as e:
                    raise ValueError(f"Scene.particles[{i}]: at wavelength = {self.wavelength!r} m: {e}") from None
            ae[i], am[i] = cache[key]
        return ae, am

    def masses(self) -> np.ndarray:
        """Particle masses (N,) [kg]; raises if a particle has neither mass nor density."""
        out = []
        for i, q in enumerate(self.particles):
            mval = q.particle_mass()
            if mval is None:
                raise ValueError(f"particle {i} has no mass: give mass= or density= to the particle")
            out.append(mval)
        return np.array(out)

    def incident_fields(self, points=None):
        """Incident ``E (M,3) [V/m], H (M,3) [A/m]`` at ``points`` (default: the particle positions)."""
        pts = self.positions if points is None else np.asarray(points, float).reshape(-1, 3)
        return self.illumination.fields(pts, self.n_medium)

    # ------------------------------------------------------------------ new scenes
    def with_positions(self, positions) -> "Scene":
        """A new scene with the particles moved to ``positions`` (N, 3) [m]."""
        return replace(self, positions=positions)

    def with_illumination(self, illumination) -> "Scene":
        return replace(self, illumination=illumination)

    def subset(self, indices) -> "Scene":
        """A new scene with only the particles ``indices`` (same beams and medium)."""
        idx = np.atleast_1d(np.asarray(indices, int))
        return Scene(
            positions=self.positions[idx],
            particles=[self.particles[i] for i in idx],
            illumination=self.illumination,
            medium=self.medium,
            casimir=self.casimir,
        )

    def describe(self) -> dict:
        """JSON-serialisable summary (provenance for results and exports)."""
        return {
            "n_particles": self.n_particles,
            "positions_m": self.positions.tolist(),
            "particles": [repr(q) for q in self.particles],
            "illumination": repr(self.illumination),
            "medium_index": self.n_medium,
            "wavelength_m": self.wavelength,
            "casimir": repr(self.casimir) if self.casimir is not None else None,
        }
