"""How far can the dipole model be trusted? An error estimate calibrated on exact multi-sphere Mie theory.

The coupled-dipole model keeps only the ``n = 1`` Mie terms of each particle. Two things break it:

1. **Size** (one particle): the neglected multipoles. Reported per particle as
   ``multipole_ratio = (|a2| + |b2|) / (|a1| + |b1|)`` (Mie coefficients of :mod:`cdsolve.optics.mie`; the
   relative size of the neglected scattered-field amplitude, i.e. the error of fields and dipole moments;
   0 for an index-matched sphere, which does not scatter) and as ``single_error``: the *exact* relative
   error of the dipole model's radiation-pressure force on that particle alone in a plane wave
   (cdsolve's own isolated force vs the full Mie series, ``Q_pr`` of :func:`cdsolve.optics.mie.mie_efficiencies`;
   0 when both vanish).
2. **Neighbours** (pairs): the neighbour's neglected multipoles radiate into the particle, and the
   particle's own quadrupole responds to the neighbour's non-uniform near field. Estimated per pair as

       pair_ij = C * rho_ij**gamma * s_j * h(k d_ij),   h(q) = 1/q + 1/q^2 + 1/q^3,

   with ``rho_ij = (rho_i + rho_j)/2`` (multipole ratios), ``s_j = 3/2 (|a1_j| + |b1_j|)`` the dipole
   scattering strength of j (from its polarizabilities: ``|a1| = k^3 |alpha_e| / (6 pi eps)``,
   ``|b1| = k^3 |alpha_m| / (6 pi)``), and ``h`` the magnitude of the dimensionless propagator
   ``|k G|`` (far-field 1/q, near-field 1/q^3). The centre distance ``d`` (not the gap) enters, so the
   estimate stays finite at contact, as the exact data do (silicon r = 90 nm pair at a 10 nm gap: 10 %).

The estimated relative error of the force on particle i (relative to the force scale of the
configuration) is ``force_error_i = single_error_i + sum_j pair_ij``. The sum runs over the neighbours
whose pair term can exceed ``PAIR_NEGLIGIBLE`` (1e-5, or ``tolerance/100`` if smaller): they are found
with a k-d tree (:class:`scipy.spatial.cKDTree`) within the distance where the largest possible pair
term ``C rho_max^gamma s_max h(k d)`` falls to that level, in chunks, so memory is O(N) and 200,000
spheres on a lattice take about a second. Each omitted pair is below that level (up to round-off, the
result of the former all-pairs sum minus terms < 1e-5 each). A scene with a non-spherical particle has
no pair estimate (NaN for every particle).

Calibration (``validation/validity_calibration.py``, which refits and writes
``validation/output/validity_calibration.json``): ``C`` and ``gamma`` minimize the largest
``|log(estimate / measured)|`` over all 103 configurations of the three GMMT *pair* datasets
(silica r = 50 nm at 1064 nm, both polarizations; silicon r = 45 nm and r = 90 nm at 420 nm, axial),
the measured error being ``reference.compare_with_reference``'s ``total_err`` (largest force-component
error over the configuration's force scale). Result: every pair configuration within a factor 1.83 of
the measured error (worst: silicon r = 90 nm at L = 400 nm, where the measured error dips to 3.2 %
between 8.7 % and 6.1 % at its neighbours). Out of sample, the silicon trimer (r = 60 nm, 500 nm)
is only within a factor ~4.8: the estimate is too high by up to 4.6x at gaps of 100-300 nm and too low by
4.8x at the 25 nm gap. Non-spherical particles get no estimate (NaN; no warning).

:func:`check_dipole_validity` emits one :class:`DipoleValidityWarning` when any particle's
``force_error`` or ``multipole_ratio`` exceeds ``tolerance`` (default 1 %). The warning is attributed to
the first stack frame outside the cdsolve package (the user's line) and registered there, so Python's
default filter shows it once per message and user line, however many internal solves a public call
(``cd.linearize``, ``cd.nonreciprocity_factors``, ...) makes.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..optics.conventions import C0, EPS0, intensity_from_amplitude, wavenumber
from ..optics.mie import mie_coefficients, mie_efficiencies
from ..optics.polarizability import Sphere
from .scene import Scene

__all__ = [
    "DipoleValidityWarning",
    "ValidityReport",
    "dipole_validity",
    "check_dipole_validity",
    "single_sphere_validity",
    "PAIR_CALIBRATION",
    "PAIR_NEGLIGIBLE",
    "DEFAULT_TOLERANCE",
]

#: constants of the pair term, fitted by validation/validity_calibration.py (minimax in log space over the
#: 103 GMMT pair configurations; worst factor 1.83)
PAIR_CALIBRATION = {"C": 0.669, "gamma": 0.759}
#: default tolerance on the estimated relative error
DEFAULT_TOLERANCE = 1e-2
#: pair terms below this level (or below tolerance/100 if smaller) are left out of the neighbour sum
PAIR_NEGLIGIBLE = 1e-5


class DipoleValidityWarning(UserWarning):
    """The dipole model is used outside the range where it is accurate (estimated error in the message)."""


@functools.lru_cache(maxsize=256)
def _single_sphere(radius: float, index: complex, model: str, allow_gain: bool, wavelength: float, n_medium: float):
    from ..optics.beams import PlaneWave
    from ..optics.materials import Medium
    from .observables import isolated_forces

    k = wavenumber(wavelength, n_medium)
    x = k * radius
    m_rel = complex(index) / n_medium
    a, b = mie_coefficients(m_rel, x, n_max=2)
    a, b = np.abs(a), np.abs(b)
    dip = a[0] + b[0]
    rho = float((a[1] + b[1]) / dip) if dip > 0 else 0.0  # index-matched: no scattering, nothing neglected
    qpr = float(mie_efficiencies(m_rel, x)["qpr"])
    I0 = intensity_from_amplitude(1.0, n_medium)
    F_exact = n_medium * I0 * qpr * np.pi * radius**2 / C0
    sphere = Sphere(radius=radius, index=index, model=model, allow_gain=allow_gain)
    alone = Scene(positions=[[0.0, 0.0, 0.0]], particles=sphere,
                  illumination=PlaneWave(wavelength, amplitude=1.0), medium=Medium(index=n_medium))
    F_dip = float(isolated_forces(alone)[0, 2])
    if F_exact == 0.0:
        err = 0.0 if F_dip == 0.0 else float("inf")
    else:
        err = abs(F_dip - F_exact) / abs(F_exact)
    return float(x), rho, err


def single_sphere_validity(sphere: Sphere, wavelength: float, n_medium: float) -> dict:
    """Size part of the estimate for one sphere.

    Parameters
    ----------
    sphere : Sphere
    wavelength : float [m]  vacuum wavelength
    n_medium : float        host index

    Returns
    -------
    dict with ``size_parameter`` (k a), ``multipole_ratio`` ((|a2|+|b2|)/(|a1|+|b1|)) and ``single_error``
    (relative error of the dipole model's plane-wave radiation pressure vs the full Mie series).

    Examples
    --------
    >>> from cdsolve.optics.polarizability import Sphere
    >>> v = single_sphere_validity(Sphere(radius=50e-9, index=1.45), 1064e-9, 1.0)
    >>> round(v["size_parameter"], 4), v["multipole_ratio"] < 0.01
    (0.2953, True)
    """
    if not isinstance(sphere, Sphere):
        raise ValueError(f"sphere must be a cdsolve Sphere, got {type(sphere).__name__}")
    n = complex(sphere.index) if sphere.material is None else complex(sphere.material.index(wavelength))
    x, rho, err = _single_sphere(float(sphere.radius), n, sphere.model, bool(sphere.allow_gain), float(wavelength),
                                 float(n_medium))
    return {"size_parameter": x, "multipole_ratio": rho, "single_error": err}


@dataclass(frozen=True, eq=False)
class ValidityReport:
    """Dipole-model error estimate of a scene (see the module docstring for every definition).

    Attributes
    ----------
    size_parameter : (N,) float         ``k R`` with R the particle's enclosing radius
    multipole_ratio : (N,) float        ``(|a2|+|b2|)/(|a1|+|b1|)``; NaN for non-spheres
    single_error : (N,) float           exact plane-wave radiation-pressure error of the dipole model; NaN for non-spheres
    pair_error : (N,) float             ``sum_j pair_ij``
    force_error : (N,) float            ``single_error + pair_error`` (relative to the force scale)
    pairs : (P, 2) int                  close pairs ``i < j`` whose pair term ``max(pair_ij, pair_ji)`` exceeds ``tolerance/10``
    pair_distance, pair_gap : (P,) float [m]
    pair_estimate : (P,) float          ``max(pair_ij, pair_ji)``
    tolerance : float
    """

    size_parameter: np.ndarray
    multipole_ratio: np.ndarray
    single_error: np.ndarray
    pair_error: np.ndarray
    force_error: np.ndarray
    pairs: np.ndarray
    pair_distance: np.ndarray
    pair_gap: np.ndarray
    pair_estimate: np.ndarray
    tolerance: float

    @property
    def flagged(self) -> np.ndarray:
        """(N,) bool: estimated force error or multipole ratio above the tolerance (NaN never flags)."""
        with np.errstate(invalid="ignore"):
            return (self.force_error > self.tolerance) | (self.multipole_ratio > self.tolerance)

    @property
    def max_error(self) -> float:
        """Largest estimated error (force error or multipole ratio) over the particles; NaN if none estimated."""
        both = np.concatenate([self.force_error, self.multipole_ratio])
        return float(np.nanmax(both)) if np.any(np.isfinite(both)) else float("nan")

    def message(self) -> str:
        """Human-readable summary of the flagged particles (empty when none)."""
        bad = np.flatnonzero(self.flagged)
        if bad.size == 0:
            return ""
        score = np.fmax(self.force_error, self.multipole_ratio)
        i = int(bad[np.nanargmax(score[bad])])
        msg = (
            f"dipole model outside its accurate range for {bad.size} particle(s); worst is particle {i}: "
            f"estimated force error {self.force_error[i]:.2g} (single-particle {self.single_error[i]:.2g} + "
            f"neighbours {self.pair_error[i]:.2g}), neglected multipole ratio (|a2|+|b2|)/(|a1|+|b1|) = "
            f"{self.multipole_ratio[i]:.2g} at size parameter {self.size_parameter[i]:.3g}; tolerance {self.tolerance:g}"
        )
        if len(self.pairs):
            c = int(np.argmax(self.pair_estimate))
            msg += (f"; closest-coupled pair {tuple(int(v) for v in self.pairs[c])} at gap {self.pair_gap[c]:.3g} m "
                    f"(pair term {self.pair_estimate[c]:.2g})")
        return msg + " (calibrated on GMMT pairs, factor ~2; see cdsolve.scattering.validity)"


def _h(q):
    """Dimensionless propagator magnitude ``h(q) = 1/q + 1/q^2 + 1/q^3`` (q > 0; inf at q = 0)."""
    u = 1.0 / q
    return u * (1.0 + u * (1.0 + u))


def _cutoff_distance(amplitude: float, k: float, level: float) -> float:
    """Distance [m] beyond which ``amplitude * h(k d) < level`` (0 if the amplitude is 0).

    ``h(q) = t`` with ``t = level/amplitude`` is the single positive root of ``t q^3 - q^2 - q - 1``.
    """
    if not amplitude > 0:
        return 0.0
    t = level / amplitude
    roots = np.roots([t, -1.0, -1.0, -1.0])
    q = float(np.max(roots[np.abs(roots.imag) < 1e-9 * np.abs(roots)].real))
    return q / k * (1.0 + 1e-9)  # slack: pairs at the boundary are included


def _pair_terms(positions, rho, strength, k, level, max_pairs=1 << 22):
    """Neighbour sums ``sum_j pair_ij`` (N,) and the unordered pairs ``(i < j, d)`` within the cutoff distance.

    Only pairs whose largest possible term ``C rho_max^gamma s_max h(k d)`` reaches ``level`` are visited
    (k-d tree). Up to ``max_pairs`` (estimated from a sample of targets) all pairs are found at once;
    beyond, targets are processed in slabs along x with about ``max_pairs`` entries each: O(N) memory.
    Requires finite ``rho``.

    Parameters
    ----------
    positions : (N, 3) float [m]
    rho : (N,) float          multipole ratios (finite)
    strength : (N,) float     dipole scattering strengths ``s_j``
    k : float [1/m]
    level : float             negligible pair-term level
    max_pairs : int           pair entries held at a time

    Returns
    -------
    total : (N,) float
    i, j : (P,) int, d : (P,) float [m]   unordered pairs (i < j) within the cutoff distance
    """
    N = len(positions)
    C, gamma = PAIR_CALIBRATION["C"], PAIR_CALIBRATION["gamma"]
    total = np.zeros(N)
    amp = C * float(np.max(rho)) ** gamma * float(np.max(strength)) if N > 1 else 0.0
    R = _cutoff_distance(amp, k, level)
    e = np.empty(0, np.intp)
    if R == 0.0:
        return total, e, e, np.empty(0)
    tree = cKDTree(positions)
    sample = np.unique(np.linspace(0, N - 1, min(N, 2048)).astype(np.intp))
    mean_neighbours = float(np.mean(tree.query_ball_point(positions[sample], R, return_length=True))) - 1.0
    if 0.5 * N * mean_neighbours <= max_pairs:
        ij = tree.query_pairs(R, output_type="ndarray")
        i, j = ij[:, 0].astype(np.intp), ij[:, 1].astype(np.intp)
        d = np.linalg.norm(positions[i] - positions[j], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = C * (0.5 * (rho[i] + rho[j])) ** gamma * _h(k * d)
        total += np.bincount(i, weights=w * strength[j], minlength=N)
        total += np.bincount(j, weights=w * strength[i], minlength=N)
        return total, i, j, d
    order = np.argsort(positions[:, 0], kind="stable")
    per_chunk = max(1, int(max_pairs / max(mean_neighbours, 1.0)))
    keep_i, keep_j, keep_d = [], [], []
    for c0 in range(0, N, per_chunk):
        rows = order[c0:c0 + per_chunk]
        sdm = cKDTree(positions[rows]).sparse_distance_matrix(tree, R, output_type="ndarray")
        i, j, d = rows[sdm["i"]], sdm["j"].astype(np.intp), sdm["v"]
        other = i != j  # no self term
        i, j, d = i[other], j[other], d[other]
        with np.errstate(divide="ignore", invalid="ignore"):
            pair = C * (0.5 * (rho[i] + rho[j])) ** gamma * strength[j] * _h(k * d)
        total += np.bincount(i, weights=pair, minlength=N)
        up = i < j
        keep_i.append(i[up])
        keep_j.append(j[up])
        keep_d.append(d[up])
    return total, np.concatenate(keep_i), np.concatenate(keep_j), np.concatenate(keep_d)


def dipole_validity(scene: Scene, tolerance: float = DEFAULT_TOLERANCE) -> ValidityReport:
    """Estimated dipole-model errors of every particle and close pair of ``scene``.

    Parameters
    ----------
    scene : Scene
        Any illumination (only the wavelength, medium, particles and positions are used).
    tolerance : float
        Relative error above which a particle is flagged (and pairs above ``tolerance/10`` listed).

    Returns
    -------
    ValidityReport

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> rep = dipole_validity(scene)
    >>> bool(rep.flagged[0]), round(float(rep.force_error[0]), 4)
    (False, 0.005)
    """
    if not isinstance(scene, Scene):
        raise ValueError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    N = scene.n_particles
    k, n_m, lam = scene.k, scene.n_medium, scene.wavelength
    eps = EPS0 * n_m**2
    # one evaluation per distinct particle object: (radius, multipole ratio, single error, strength)
    props: dict[int, int] = {}
    table = []
    kind = np.empty(N, np.intp)
    for i, q in enumerate(scene.particles):
        key = props.get(id(q))
        if key is None:
            rho_q = single_q = np.nan
            if isinstance(q, Sphere):
                v = single_sphere_validity(q, lam, n_m)
                rho_q, single_q = v["multipole_ratio"], v["single_error"]
            ae, am = q.polarizabilities(lam, n_m)
            a1 = k**3 * np.linalg.norm(ae, ord=2) / (6 * np.pi * eps)
            b1 = k**3 * np.linalg.norm(am, ord=2) / (6 * np.pi)
            key = props[id(q)] = len(table)
            table.append((q.exclusion_radius, rho_q, single_q, 1.5 * (a1 + b1)))
        kind[i] = key
    radii, rho, single, strength = (np.array(col, dtype=float)[kind] for col in zip(*table))
    x = k * radii
    pos = scene.positions
    known = np.isfinite(rho)
    level = min(PAIR_NEGLIGIBLE, tolerance / 100.0)
    if N > 1 and np.all(known):
        pair_sum, pi, pj, pd = _pair_terms(pos, rho, strength, k, level)
    else:  # a non-sphere (no multipole ratio) leaves every particle's pair term unknown
        pair_sum = np.full(N, np.nan) if N > 1 else np.zeros(N)
        pi = pj = np.empty(0, int)
        pd = np.empty(0)
    # close pairs (i < j) with max(pair_ij, pair_ji) above tolerance/10
    C, gamma = PAIR_CALIBRATION["C"], PAIR_CALIBRATION["gamma"]
    with np.errstate(divide="ignore"):
        est = C * (0.5 * (rho[pi] + rho[pj])) ** gamma * np.maximum(strength[pi], strength[pj]) * _h(k * pd)
    sel = est > 0.1 * tolerance
    order = np.lexsort((pj[sel], pi[sel]))
    pr = np.stack([pi[sel][order], pj[sel][order]], axis=1).astype(int) if sel.any() else np.empty((0, 2), int)
    est = est[sel][order]
    d = np.linalg.norm(pos[pr[:, 0]] - pos[pr[:, 1]], axis=1) if len(pr) else np.empty(0)
    gap = d - radii[pr[:, 0]] - radii[pr[:, 1]] if len(pr) else np.empty(0)
    if not len(pr):
        est = np.empty(0)
    return ValidityReport(
        size_parameter=x, multipole_ratio=rho, single_error=single, pair_error=pair_sum,
        force_error=single + pair_sum, pairs=pr, pair_distance=d, pair_gap=gap, pair_estimate=est,
        tolerance=float(tolerance),
    )


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=4096)
def _inside_package(filename: str) -> bool:
    """True when ``filename`` is a source file of the cdsolve package."""
    if filename.startswith("<"):
        return False
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _warn_at_user_line(message: str, category: type[Warning], skip: int) -> None:
    """Warn at the first frame outside cdsolve, starting ``skip`` frames above the caller of this function.

    The warning is registered in that frame's module ``__warningregistry__``, so the "default" filter
    shows it once per (message, user line).
    """
    frame = sys._getframe(1)
    for _ in range(skip):
        if frame.f_back is None:
            break
        frame = frame.f_back
    while frame is not None and _inside_package(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:  # called from inside cdsolve only (no user frame): plain warning
        warnings.warn(message, category, stacklevel=2)
        return
    glob = frame.f_globals
    registry = glob.setdefault("__warningregistry__", {})
    # no module_globals: the source line is read from the file when shown (a loader lookup here fails for
    # code run from stdin)
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno,
                           module=glob.get("__name__", "<unknown>"), registry=registry)


def check_dipole_validity(scene: Scene, tolerance: float = DEFAULT_TOLERANCE, *, stacklevel: int = 1) -> ValidityReport:
    """:func:`dipole_validity` plus one :class:`DipoleValidityWarning` if any particle is flagged.

    The warning points at the user's line: the first stack frame outside the cdsolve package, searched
    from ``stacklevel`` frames up (1: the caller of this function; a user's own wrapper can pass 2 to
    point at its caller). It is registered there, so under Python's default filter each message is
    shown once per user line, however many internal solves one public call makes. Returns the report.
    """
    if isinstance(stacklevel, (bool, np.bool_)) or not isinstance(stacklevel, (int, np.integer)) or stacklevel < 1:
        raise ValueError(f"stacklevel must be an integer >= 1, got {stacklevel!r}")
    report = dipole_validity(scene, tolerance)
    if np.any(report.flagged):
        _warn_at_user_line(report.message(), DipoleValidityWarning, skip=int(stacklevel))
    return report
