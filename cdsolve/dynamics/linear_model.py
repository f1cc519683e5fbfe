"""Linearized (non-Hermitian) dynamics of an optically bound array.

``linearize(scene, dofs=..., at=...)`` returns a :class:`LinearModel`: the stiffness
``K = -dF/dr`` (analytic, :mod:`cdsolve.dynamics.jacobian`), masses, the dynamical matrix ``D = M^-1 K``
for ``x'' = -D x - gamma x'``, the drift matrix of ``(x, p)``, the reciprocal/antireciprocal split
``(K +- K^T)/2``, complex eigenfrequencies with left/right eigenvectors, trap frequencies and the
pair coupling rates of Rudolph et al. (PRL eq. 6, 11): with ``C_ij = dF_i/dr_j = -K_ij`` along the
chosen axis and the rotating-wave rate ``C/(2 m omega)``,
``g_r + g_a = C_ij/(2 m omega)``, ``g_r - g_a = C_ji/(2 m omega)``.

``linearize(..., at="equilibrium")`` first moves the chosen dofs to where the forces vanish
(:func:`cdsolve.dynamics.equilibrium.equilibrium`: radiation pressure and the interaction forces push
the particles off the foci).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..optics._checks import optional_module
from .equilibrium import EquilibriumResult, dof_labels, equilibrium
from .jacobian import force_jacobian, select_dofs
from .modes import drift_matrix, eigenmodes, is_stable, mechanical_frequencies
from ..scattering.scene import Scene
from ..scattering.validity import check_dipole_validity
from ..scattering.dispatch import solve

__all__ = ["LinearModel", "linearize", "equilibrium", "EquilibriumResult"]



def _dof_masses(scene: Scene, sel: np.ndarray, required: bool = True):
    try:
        m = scene.masses()
    except ValueError:
        if required:
            raise
        return None
    return m[sel // 3]


class StiffnessViews:
    """Derived views of a stiffness ``K = -dF/dx`` [N/m] (attribute ``stiffness``, (n, n)) with ``masses`` [kg].

    Shared by :class:`LinearModel` (predicted) and :class:`cdsolve.experiment.identification.IdentifiedModel`
    (measured), so both split and scale K the same way.
    """

    @property
    def dynamical_matrix(self) -> np.ndarray:
        """``D = M^-1 K`` [1/s^2] for ``x'' = -D x``."""
        return self.stiffness / self.masses[:, None]

    @property
    def reciprocal(self) -> np.ndarray:
        """Reciprocal (symmetric) part ``(K + K^T)/2`` [N/m]."""
        return 0.5 * (self.stiffness + self.stiffness.T)

    @property
    def antireciprocal(self) -> np.ndarray:
        """Antireciprocal (antisymmetric) part ``(K - K^T)/2`` [N/m]; zero for conservative forces."""
        return 0.5 * (self.stiffness - self.stiffness.T)


@dataclass(frozen=True, eq=False)
class LinearModel(StiffnessViews):
    """Linearized dynamics ``m x'' = -K x - m gamma x'`` of the chosen degrees of freedom.

    Attributes
    ----------
    stiffness : (n, n) float [N/m]     ``K = -dF/dr`` (non-symmetric in general)
    masses : (n,) float [kg]           mass of the particle owning each dof
    dofs : (n,) int                    indices into the particle-major 3N coordinates
    labels : list of str               e.g. ``"z_1"`` (particle numbering from 0)
    damping : float [1/s]              gas damping rate gamma (0 if none)
    forces : (n,) float [N]            forces on the dofs at the linearization point
    positions : (N, 3) float [m]       linearization point
    provenance : dict                  scene description, how the point was chosen, versions
    """

    stiffness: np.ndarray
    masses: np.ndarray
    dofs: np.ndarray
    labels: list
    damping: float = 0.0
    forces: Any = None
    positions: Any = None
    provenance: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ derived matrices
    @property
    def n(self) -> int:
        return len(self.dofs)

    @property
    def drift_matrix(self) -> np.ndarray:
        """``A`` (2n, 2n) with ``d/dt (x, p) = A (x, p)``: ``x' = p/m``, ``p' = -K x - gamma p``."""
        return drift_matrix(self.stiffness, self.masses, self.damping if self.damping else None)

    @property
    def trap_frequencies(self) -> np.ndarray:
        """``sqrt(K_ii/m_i)`` [rad/s] (nan where K_ii <= 0: no trap along that dof)."""
        d = np.diag(self.stiffness) / self.masses
        return np.sqrt(np.where(d > 0, d, np.nan))

    def eigenmodes(self):
        """Eigen-analysis of the drift matrix (:func:`cdsolve.dynamics.modes.eigenmodes`).

        Returns ``(omega, right, left)``: ``omega`` (2n,) complex [rad/s] with drift eigenvalues
        ``-i omega`` (exp(-i omega t): ``Im omega > 0`` grows); ``right``/``left`` (2n, 2n) columns,
        biorthonormal (``left^H right = 1``).
        """
        m = eigenmodes(self.drift_matrix)
        return 1j * np.asarray(m.eigenvalues), np.asarray(m.right), np.asarray(m.left)

    @functools.cached_property
    def mechanical_modes(self):
        """:func:`cdsolve.dynamics.modes.mechanical_frequencies` of ``D`` (with damping): computed once per model.

        ``.frequencies`` as :meth:`mode_frequencies`; ``.modes.right`` the mode shapes (columns; x-space
        n-vectors undamped, ``(x, v)`` 2n-vectors damped), ``.modes.left`` the biorthogonal partners.
        """
        damping = self.damping * np.eye(self.n) if self.damping else None
        return mechanical_frequencies(self.dynamical_matrix, damping=damping)

    def mode_frequencies(self) -> np.ndarray:
        """Normal-mode eigenfrequencies (:func:`cdsolve.dynamics.modes.mechanical_frequencies` of ``D`` with damping).

        Undamped: n values ``omega = sqrt(eig D)`` with ``Re omega >= 0``; damped: the 2n roots of the
        damped system. [rad/s], complex, ``Im omega > 0`` grows.
        """
        return np.asarray(self.mechanical_modes.frequencies)

    def is_stable(self) -> bool:
        """True when no mode grows (:func:`cdsolve.dynamics.modes.is_stable`), from the same eigen-decomposition
        as :meth:`mode_frequencies`."""
        return is_stable(self.mechanical_modes)

    def pair_rates(self, i: int, j: int, axis: str = "z") -> tuple[float, float]:
        """Reciprocal and antireciprocal coupling rates ``(g_r, g_a)`` [rad/s] of particles i, j along ``axis``.

        ``g_r = (C_ij + C_ji)/(4 m omega)``, ``g_a = (C_ij - C_ji)/(4 m omega)`` with ``C_ij = -K_ij``,
        ``m`` the mean mass and ``omega`` the mean trap frequency of the two dofs (PRL eq. 6, 11).
        """
        a = {"x": 0, "y": 1, "z": 2}[axis]
        try:
            p = int(np.flatnonzero(self.dofs == 3 * i + a)[0])
            q = int(np.flatnonzero(self.dofs == 3 * j + a)[0])
        except IndexError:
            raise ValueError(f"dofs {axis}_{i} and {axis}_{j} are not both in this model") from None
        Cij, Cji = -self.stiffness[p, q], -self.stiffness[q, p]
        m = 0.5 * (self.masses[p] + self.masses[q])
        w = 0.5 * (self.trap_frequencies[p] + self.trap_frequencies[q])
        return (Cij + Cji) / (4 * m * w), (Cij - Cji) / (4 * m * w)

    # ------------------------------------------------------------------ export
    _ARRAYS = ("stiffness", "masses", "dofs", "forces", "positions")
    _UNITS = {"stiffness": "N/m", "masses": "kg", "dofs": "index into (x_1, y_1, z_1, x_2, ...)", "forces": "N",
              "positions": "m", "damping": "1/s", "dynamical_matrix": "1/s^2", "drift_matrix": "SI (x in m, p in kg m/s)"}

    def save(self, path: str | Path, *, derived: bool = True) -> Path:
        """Write to ``.npz``, ``.json`` or ``.h5``/``.hdf5`` (needs h5py) with units and provenance.

        ``derived=False`` leaves out the dynamical and drift matrices (they follow from the stiffness and
        masses: :meth:`load` and these properties rebuild them), which keeps large models small.
        """
        path = Path(path)
        meta = {"labels": list(self.labels), "damping": float(self.damping), "units": self._UNITS,
                "provenance": self.provenance, "format": "cdsolve-linear-model/1"}
        arrays = {k: np.asarray(getattr(self, k)) for k in self._ARRAYS if getattr(self, k) is not None}
        suffix = path.suffix.lower()
        extra = {"dynamical_matrix": self.dynamical_matrix, "drift_matrix": self.drift_matrix} if derived else {}
        if suffix == ".npz":
            np.savez(path, **arrays, **extra, meta=json.dumps(meta))
        elif suffix == ".json":
            doc = dict(meta)
            doc.update({k: v.tolist() for k, v in arrays.items()})
            doc.update({k: v.tolist() for k, v in extra.items()})
            path.write_text(json.dumps(doc, indent=1))
        elif suffix in (".h5", ".hdf5"):
            h5py = optional_module("h5py", "hdf5", "LinearModel .h5 files")

            with h5py.File(path, "w") as fh:
                for k, v in arrays.items():
                    fh[k] = v
                    fh[k].attrs["unit"] = self._UNITS.get(k, "")
                for k, v in extra.items():
                    fh[k] = v
                fh.attrs["meta"] = json.dumps(meta)
        else:
            raise ValueError(f"unknown export format {path.suffix!r} (use .npz, .json, .h5)")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LinearModel":
        """Read a file written by :meth:`save` (round trip is exact for .npz/.h5, repr-exact for .json)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".npz":
            with np.load(path) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: data[k] for k in cls._ARRAYS if k in data.files}
        elif suffix == ".json":
            doc = json.loads(path.read_text())
            meta = doc
            arrays = {k: np.asarray(doc[k]) for k in cls._ARRAYS if k in doc}
        elif suffix in (".h5", ".hdf5"):
            h5py = optional_module("h5py", "hdf5", "LinearModel .h5 files")

            with h5py.File(path, "r") as fh:
                meta = json.loads(fh.attrs["meta"])
                arrays = {k: fh[k][()] for k in cls._ARRAYS if k in fh}
        else:
            raise ValueError(f"unknown model format {path.suffix!r}")
        if meta.get("format") != "cdsolve-linear-model/1":
            raise ValueError(f"{path}: not a cdsolve linear model (format {meta.get('format')!r})")
        return cls(stiffness=arrays["stiffness"], masses=arrays["masses"], dofs=arrays["dofs"].astype(int),
                   labels=list(meta["labels"]), damping=meta["damping"], forces=arrays.get("forces"),
                   positions=arrays.get("positions"), provenance=meta["provenance"])


def linearize(scene: Scene, dofs=None, *, at: str = "positions", damping: float = 0.0, masses=None,
              method: str = "auto") -> LinearModel:
    """Linear model of the chosen dofs about the given positions or the nearby equilibrium.

    Parameters
    ----------
    scene : Scene
    dofs : None, str or indices
        e.g. ``"z"`` for motion along the tweezer axes, ``"xy"`` in-plane (see ``select_dofs``).
    at : {"positions", "foci", "equilibrium"}
        ``"positions"``/``"foci"``: linearize at the scene's positions as given (the tweezer foci when the
        particles were placed there; the forces there are reported); ``"equilibrium"``: first move the
        chosen dofs to where the forces vanish (:func:`equilibrium`).
    damping : float [1/s]
        Gas damping rate gamma (same for all dofs).
    masses : None, float or (N,) float [kg]
        Override the particles' own masses (density x volume or mass).
    """
    if at not in ("positions", "foci", "equilibrium"):
        raise ValueError(f"at must be 'positions', 'foci' or 'equilibrium', got {at!r}")
    if not np.isfinite(damping) or damping < 0:
        raise ValueError(f"damping must be a finite rate >= 0 [1/s], got {damping!r}")
    from .._version import __version__

    sel = select_dofs(scene.n_particles, dofs)
    provenance = {"cdsolve_version": __version__, "at": at, "scene": scene.describe()}
    check_dipole_validity(scene)  # once, at the caller's line (the searches below solve silently)
    if at == "equilibrium":
        eq = equilibrium(scene, dofs=sel, method=method)
        if not eq.converged:
            raise RuntimeError(eq.message() + "; is every chosen dof trapped?")
        scene, sol, J = eq.scene, eq.solution, eq.jacobian
        provenance["equilibrium_displacements_m"] = eq.displacements.tolist()
        provenance["scene"] = scene.describe()
    else:
        sol = solve(scene, method=method, check_validity=False)
        J = force_jacobian(sol, dofs=sel)
    if masses is None:
        m = _dof_masses(scene, sel)
    else:
        mm = np.broadcast_to(np.asarray(masses, float), (scene.n_particles,)) if np.ndim(masses) == 0 else np.asarray(masses, float)
        if mm.shape != (scene.n_particles,) or np.any(~np.isfinite(mm)) or np.any(mm <= 0):
            raise ValueError(f"masses must be one positive mass or one per particle ({scene.n_particles}), got {masses!r}")
        m = mm[sel // 3]
    labels = dof_labels(sel)
    return LinearModel(stiffness=-J, masses=np.asarray(m, float), dofs=sel, labels=labels, damping=float(damping),
                       forces=sol.forces().ravel()[sel], positions=scene.positions.copy(), provenance=provenance)
