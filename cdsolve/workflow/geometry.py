"""Tweezer arrays: trap sites with per-site beam parameters, and builders for common layouts.

A :class:`SiteArray` holds tweezer foci ``positions (N, 3) [m]`` and per-site ``phases (N,) [rad]``,
``powers (N,) [W]``, ``polarizations (N, 3) complex``; :meth:`SiteArray.tweezers` makes one Gaussian
tweezer per site, :meth:`SiteArray.scene` a Scene with one particle at each focus.

Builders (SI units): :func:`chain`, :func:`ring` (x-y plane), :func:`zigzag`, :func:`dimerized_chain`,
:func:`square_lattice`, :func:`triangular_lattice`, :func:`honeycomb_lattice` (lattices in the x-y
plane; ``pitch`` is always the **nearest-neighbour distance**, the honeycomb lattice constant is
``sqrt(3) pitch``), :func:`random_array` and :func:`from_csv`. Keywords shared by all (``**kw``):

- ``phases`` : float or (N,) float [rad], default 0 (1D builders and :func:`ring` also take
  ``phase_gradient`` [rad]: site ``i`` gets ``i * phase_gradient``);
- ``power`` : float [W], or ``powers`` : float or (N,) float [W]; default :data:`DEFAULT_POWER`;
- ``polarization`` : (3,) or (N, 3) complex, default ``(0, 1, 0)``;
- ``center`` : bool, default True: the bounding-box centre of the sites goes to ``origin`` (False:
  the pattern's site 0 goes there; ``ring`` and ``random_array`` are always centred on ``origin``);
- ``origin`` : (3,) float [m], default 0; ``name`` : str.

Per-site values broadcast only from a scalar (or one 3-vector); a list of the wrong length is an error.

Examples
--------
>>> import cdsolve as cd
>>> sites = square_lattice(3, 2, pitch=2e-6)
>>> sites.n_sites, sites.positions.shape, round(float(sites.nearest_neighbour_distances().max()) * 1e6, 9)
(6, (6, 3), 2.0)
>>> scene = sites.scene(cd.Sphere(radius=50e-9, index=1.45), wavelength=1064e-9, waist=0.8e-6)
>>> scene.n_particles, len(scene.illumination.beams)
(6, 6)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..optics._checks import real_number
from ..optics.beams import GaussianTweezer
from ..optics.materials import Medium
from ..scattering.scene import Scene

__all__ = ["SiteArray", "DEFAULT_POWER", "chain", "ring", "zigzag", "dimerized_chain", "square_lattice",
           "triangular_lattice", "honeycomb_lattice", "random_array", "from_csv"]

#: tweezer power [W] of every site when neither ``power`` nor ``powers`` is given
DEFAULT_POWER = 0.1

_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}
#: CSV columns: canonical name -> accepted header spellings (all SI; suffix names the unit)
CSV_COLUMNS = {"x": ("x", "x_m"), "y": ("y", "y_m"), "z": ("z", "z_m"), "phase": ("phase", "phase_rad"),
               "power": ("power", "power_w"), "pol_x": ("pol_x",), "pol_y": ("pol_y",), "pol_z": ("pol_z",)}


# --------------------------------------------------------------------------- input checks
def _short(value) -> str:
    s = repr(value)
    return s if len(s) <= 80 else s[:77] + "..."


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _numbers(name: str, value, dtype) -> np.ndarray:
    try:
        raw = np.asarray(value)
    except ValueError:  # ragged nested lists
        raw = np.asarray(None)
    if raw.dtype.kind not in ("iufc" if dtype is complex else "iuf"):
        raise ValueError(f"{name} must be {'numbers' if dtype is complex else 'real numbers'}, got {_short(value)}")
    return raw.astype(dtype)


def _vector(name: str, value) -> np.ndarray:
    v = _numbers(name, value, float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite 3-vector, got {_short(value)}")
    return v


def _axis(name: str, value) -> np.ndarray:
    v = np.array(_AXES.get(value, (0.0, 0.0, 0.0))) if isinstance(value, str) else _vector(name, value)
    if not np.any(v):
        raise ValueError(f"{name} must be 'x', 'y', 'z' or a non-zero 3-vector, got {_short(value)}")
    return v / np.linalg.norm(v)


def _per_site(name: str, value, n: int, tail: tuple, dtype) -> np.ndarray:
    """``value`` as an ``(n,) + tail`` array; broadcast only from exactly ``tail`` (a scalar or one vector)."""
    arr = _numbers(name, value, dtype)
    if arr.shape == tail:
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {_short(value)}")
        return np.broadcast_to(arr, (n,) + tail).copy()
    if arr.shape != (n,) + tail:
        single = "a scalar" if not tail else f"one {tail[0]}-vector"
        raise ValueError(f"{name} must be {single} or have shape {(n,) + tail} (one per site), "
                         f"got shape {arr.shape}: {_short(value)}")
    bad = ~np.isfinite(arr.reshape(n, -1)).all(axis=1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] is not finite: {arr[i].tolist()!r}")
    return arr


# --------------------------------------------------------------------------- the site array
@dataclass(frozen=True, eq=False, repr=False)
class SiteArray:
    """Tweezer sites: foci plus per-site phase, power and polarization (frozen, validated once).

    Parameters
    ----------
    positions : (N, 3) float [m]
        Tweezer foci (N >= 1, finite, no two coincident).
    phases : float or (N,) float [rad]
    powers : float or (N,) float [W], > 0
    polarizations : (3,) or (N, 3) complex
        Non-zero, any length (each tweezer normalizes its own).
    name : str

    Examples
    --------
    >>> s = SiteArray([[0, 0, 0], [1e-6, 0, 0]], phases=[0, 0.5], powers=0.2)
    >>> s.n_sites, s.powers.tolist(), s.polarizations[1].tolist()
    (2, [0.2, 0.2], [0j, (1+0j), 0j])
    >>> SiteArray([[0, 0, 0], [1e-6, 0, 0]], phases=[0, 1, 2])
    Traceback (most recent call last):
    ...
    ValueError: phases must be a scalar or have shape (2,) (one per site), got shape (3,): [0, 1, 2]
    """

    positions: np.ndarray
    phases: np.ndarray = 0.0
    powers: np.ndarray = DEFAULT_POWER
    polarizations: np.ndarray = (0.0, 1.0, 0.0)
    name: str = "sites"

    def __post_init__(self):
        pos = _numbers("positions", self.positions, float)
        if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) == 0:
            raise ValueError(f"positions must have shape (N, 3) with N >= 1 [m], got shape {pos.shape}")
        n = len(pos)
        pos = _per_site("positions", pos, n, (3,), float)
        same = cKDTree(pos).query_pairs(r=0.0, output_type="ndarray")
        if len(same):
            i, j = sorted(same.tolist())[0]
            raise ValueError(f"positions[{i}] and positions[{j}] coincide: {pos[i].tolist()}")
        phases = _per_site("phases", self.phases, n, (), float)
        powers = _per_site("powers", self.powers, n, (), float)
        if np.any(powers <= 0):
            raise ValueError(f"powers[{int(np.argmin(powers))}] must be > 0 [W], got {float(powers.min())!r}")
        pols = _per_site("polarizations", self.polarizations, n, (3,), complex)
        if not np.all(nonzero := np.any(pols, axis=1)):
            raise ValueError(f"polarizations[{int(np.argmin(nonzero))}] is the zero vector")
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}")
        for key, arr in (("positions", pos), ("phases", phases), ("powers", powers), ("polarizations", pols)):
            arr.setflags(write=False)
            object.__setattr__(self, key, arr)

    def __repr__(self) -> str:
        return f"SiteArray(name={self.name!r}, n_sites={self.n_sites})"

    @property
    def n_sites(self) -> int:
        """Number of sites N."""
        return len(self.positions)

    def nearest_neighbour_distances(self) -> np.ndarray:
        """Distance from each site to its nearest other site, ``(N,) [m]`` (``inf`` if N = 1)."""
        return cKDTree(self.positions).query(self.positions, k=2)[0][:, 1]

    def translated(self, offset) -> "SiteArray":
        """The same array shifted by ``offset (3,) [m]``."""
        return replace(self, positions=self.positions + _vector("offset", offset))

    def tweezers(self, wavelength, waist=None, na=None, direction=(0.0, 0.0, 1.0)) -> list[GaussianTweezer]:
        """N Gaussian tweezers in site order, focused at the sites, with their phases, powers, polarizations.

        ``wavelength`` [m] (vacuum), exactly one of ``waist`` [m] / ``na`` [-] and the common propagation
        ``direction`` (3,) are passed to :class:`~cdsolve.optics.beams.GaussianTweezer`.
        """
        wavelength = real_number("wavelength", wavelength, positive=True)
        if (waist is None) == (na is None):
            raise ValueError(f"give exactly one of waist and na, got waist={waist!r}, na={na!r}")
        out = []
        for i in range(self.n_sites):
            try:
                out.append(GaussianTweezer(wavelength=wavelength, focus=tuple(self.positions[i].tolist()), waist=waist,
                                           na=na, power=float(self.powers[i]),
                                           polarization=tuple(self.polarizations[i].tolist()),
                                           phase=float(self.phases[i]), direction=tuple(direction)))
            except ValueError as e:
                raise ValueError(f"site {i} of {self.name!r}: {e}") from None
        return out

    def scene(self, particle, wavelength, waist=None, na=None, medium=None, direction=(0.0, 0.0, 1.0)):
        """A :class:`~cdsolve.scattering.scene.Scene` with one particle at each focus, lit by :meth:`tweezers`.

        ``particle`` is one Particle (at every site) or a sequence of N; ``medium`` defaults to vacuum.
        """
        beams = self.tweezers(wavelength, waist=waist, na=na, direction=direction)
        return Scene(self.positions, particle, beams, Medium(index=1.0) if medium is None else medium)

    def to_csv(self, path) -> Path:
        """Write ``x_m,y_m,z_m,phase_rad,power_W,pol_x,pol_y,pol_z`` (exact round trip via :func:`from_csv`)."""
        num = lambda v: repr(float(v.real)) if v.imag == 0 else repr(complex(v)).strip("()")  # noqa: E731
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["x_m", "y_m", "z_m", "phase_rad", "power_W", "pol_x", "pol_y", "pol_z"])
            for r, ph, pw, e in zip(self.positions, self.phases, self.powers, self.polarizations):
                w.writerow([repr(float(x)) for x in (*r, ph, pw)] + [num(c) for c in e])
        return Path(path)


def _finish(pos, kw: dict, default_name: str, phase_gradient=0.0, centerable=True) -> SiteArray:
    """Centre and shift ``pos (N, 3) [m]`` and attach the shared keywords ``kw`` (see module docstring)."""
    known = {"phases", "power", "powers", "polarization", "origin", "name"} | ({"center"} if centerable else set())
    unknown = sorted(set(kw) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (allowed: {', '.join(sorted(known))})")
    pos = np.asarray(pos, float)
    if kw.get("center", True) and centerable:
        pos = pos - 0.5 * (pos.max(axis=0) + pos.min(axis=0))
    pos = pos + _vector("origin", kw.get("origin", (0.0, 0.0, 0.0)))
    grad = real_number("phase_gradient", phase_gradient)
    phases, power, powers = kw.get("phases"), kw.get("power"), kw.get("powers")
    if phases is None:
        phases = grad * np.arange(len(pos))
    elif grad != 0.0:
        raise ValueError(f"give phases or phase_gradient, not both (phases={_short(phases)}, "
                         f"phase_gradient={phase_gradient!r})")
    if power is not None and powers is not None:
        raise ValueError(f"give power or powers, not both (power={power!r}, powers={_short(powers)})")
    if powers is None:
        powers = DEFAULT_POWER if power is None else real_number("power", power, positive=True)
    return SiteArray(pos, phases=phases, powers=powers, polarizations=kw.get("polarization", (0.0, 1.0, 0.0)),
                     name=kw.get("name", default_name))


# --------------------------------------------------------------------------- 1D builders
def chain(n, spacing, axis="x", phase_gradient=0.0, **kw) -> SiteArray:
    """``n`` sites on a line: site ``i`` at ``i * spacing`` along ``axis`` (then centred and shifted).

    Parameters
    ----------
    n : int >= 1
    spacing : float [m], > 0
    axis : {"x", "y", "z"} or (3,) float
    phase_gradient : float [rad]
        Site ``i`` gets phase ``i * phase_gradient`` (unless ``phases`` is given).
    **kw : ``phases, power, powers, polarization, center, origin, name`` (module docstring)

    Examples
    --------
    >>> s = chain(3, 1e-6, phase_gradient=0.25)
    >>> s.positions[:, 0].tolist(), s.phases.tolist()
    ([-1e-06, 0.0, 1e-06], [0.0, 0.25, 0.5])
    """
    n = _count("n", n)
    spacing = real_number("spacing", spacing, positive=True)
    t = np.arange(n) - (n - 1) / 2 if kw.get("center", True) else np.arange(n, dtype=float)
    return _finish((t * spacing)[:, None] * _axis("axis", axis), kw, "chain", phase_gradient)


def ring(n, radius, start_angle=0.0, phase_gradient=0.0, polarization=(0.0, 1.0, 0.0), **kw) -> SiteArray:
    """``n`` sites on a circle of ``radius`` [m] in the x-y plane, centre ``origin``, counter-clockwise from +z.

    Site ``i`` is at angle ``phi_i = start_angle + 2 pi i / n`` [rad]; neighbours are a chord
    ``2 radius sin(pi / n)`` apart. ``polarization`` is one 3-vector, ``(N, 3)``, ``"radial"``
    (``(cos phi_i, sin phi_i, 0)``) or ``"azimuthal"`` (``(-sin phi_i, cos phi_i, 0)``), both
    transverse to tweezers along z. ``phase_gradient = 2 pi l / n`` makes a phase vortex of charge ``l``.
    ``**kw``: ``phases, power, powers, origin, name``.

    Examples
    --------
    >>> s = ring(4, 1e-6, polarization="azimuthal")
    >>> np.round(s.positions[1] * 1e6, 12).tolist(), np.round(s.polarizations[1].real, 12).tolist()
    ([0.0, 1.0, 0.0], [-1.0, 0.0, 0.0])
    """
    n = _count("n", n)
    radius = real_number("radius", radius, positive=True)
    phi = real_number("start_angle", start_angle) + 2 * np.pi * np.arange(n) / n
    c, s, z = np.cos(phi), np.sin(phi), np.zeros(n)
    if isinstance(polarization, str):
        table = {"radial": (c, s, z), "azimuthal": (-s, c, z)}
        if polarization not in table:
            raise ValueError(f"polarization must be a vector, 'radial' or 'azimuthal', got {polarization!r}")
        polarization = np.stack(table[polarization], axis=1)
    kw = {**kw, "polarization": polarization}
    return _finish(radius * np.stack([c, s, z], axis=1), kw, "ring", phase_gradient, centerable=False)


def zigzag(n, spacing, offset, axis="x", offset_axis="y", phase_gradient=0.0, **kw) -> SiteArray:
    """``n`` sites stepping ``spacing`` [m] along ``axis`` and alternating between two rows ``offset`` [m] apart.

    Site ``i`` is at ``i * spacing`` along ``axis`` plus ``(i % 2) * offset`` along ``offset_axis``
    (perpendicular to ``axis``). Neighbours are ``sqrt(spacing^2 + offset^2)`` apart, next-nearest
    ``2 spacing``. ``phase_gradient`` and ``**kw`` as in :func:`chain`.

    Examples
    --------
    >>> np.round(zigzag(4, 1e-6, 0.5e-6).positions[:, :2] * 1e6, 12).tolist()
    [[-1.5, -0.25], [-0.5, 0.25], [0.5, -0.25], [1.5, 0.25]]
    """
    n = _count("n", n)
    spacing = real_number("spacing", spacing, positive=True)
    offset = real_number("offset", offset, positive=True)
    a, b = _axis("axis", axis), _axis("offset_axis", offset_axis)
    if abs(a @ b) > 1e-12:
        raise ValueError(f"offset_axis={offset_axis!r} must be perpendicular to axis={axis!r}")
    i = np.arange(n)
    return _finish((i * spacing)[:, None] * a + ((i % 2) * offset)[:, None] * b, kw, "zigzag", phase_gradient)


def dimerized_chain(n_cells, intra, inter, axis="x", phase_gradient=0.0, **kw) -> SiteArray:
    """SSH-type chain of ``2 n_cells`` sites: pairs ``intra`` [m] apart, ``inter`` [m] between pairs.

    Site ``2c`` is at ``c (intra + inter)``, site ``2c + 1`` at ``c (intra + inter) + intra`` along
    ``axis``. ``phase_gradient`` and ``**kw`` as in :func:`chain`.

    Examples
    --------
    >>> np.round(dimerized_chain(2, 1e-6, 2e-6, center=False).positions[:, 0] * 1e6, 12).tolist()
    [0.0, 1.0, 3.0, 4.0]
    """
    n_cells = _count("n_cells", n_cells)
    intra = real_number("intra", intra, positive=True)
    inter = real_number("inter", inter, positive=True)
    t = np.repeat(np.arange(n_cells), 2) * (intra + inter) + np.tile([0.0, intra], n_cells)
    return _finish(t[:, None] * _axis("axis", axis), kw, "dimerized_chain", phase_gradient)


# --------------------------------------------------------------------------- 2D lattices (x-y plane)
def _lattice(cells, basis, nx, ny, pitch, kw, name) -> SiteArray:
    """Cell origins ``cells(i, j) (M, 2)`` plus ``basis (B, 2)``, in units of ``pitch``; index ``B (j nx + i) + b``."""
    nx, ny, pitch = _count("nx", nx), _count("ny", ny), real_number("pitch", pitch, positive=True)
    i, j = np.meshgrid(np.arange(nx), np.arange(ny))  # x fastest
    xy = (cells(i.ravel(), j.ravel())[:, None, :] + np.asarray(basis, float)[None]).reshape(-1, 2) * pitch
    return _finish(np.column_stack([xy, np.zeros(len(xy))]), kw, name)


def square_lattice(nx, ny, pitch, **kw) -> SiteArray:
    """``nx * ny`` sites, site ``j nx + i`` at ``(i, j) pitch``: nearest-neighbour distance ``pitch`` [m].

    Bulk sites have 4 neighbours. ``**kw``: ``phases, power, powers, polarization, center, origin, name``.

    Examples
    --------
    >>> square_lattice(2, 2, 1e-6).positions[:, :2].tolist()
    [[-5e-07, -5e-07], [5e-07, -5e-07], [-5e-07, 5e-07], [5e-07, 5e-07]]
    """
    return _lattice(lambda i, j: np.column_stack([i, j]).astype(float), [[0.0, 0.0]], nx, ny, pitch, kw,
                    "square_lattice")


def triangular_lattice(nx, ny, pitch, **kw) -> SiteArray:
    """``nx * ny`` sites of a triangular lattice (rectangular patch), nearest-neighbour distance ``pitch`` [m].

    Site ``j nx + i`` is at ``((i + (j % 2) / 2) pitch, j sqrt(3) pitch / 2)`` (odd rows shifted by
    half a pitch); bulk sites have 6 neighbours. ``**kw`` as in :func:`square_lattice`.

    Examples
    --------
    >>> s = triangular_lattice(3, 3, 1e-6)
    >>> round(float(s.nearest_neighbour_distances().min()) * 1e6, 12)
    1.0
    """
    return _lattice(lambda i, j: np.column_stack([i + 0.5 * (j % 2), 0.5 * np.sqrt(3) * j]), [[0.0, 0.0]],
                    nx, ny, pitch, kw, "triangular_lattice")


def honeycomb_lattice(nx, ny, pitch, **kw) -> SiteArray:
    """``2 nx ny`` sites of a honeycomb lattice (rectangular patch), nearest-neighbour distance ``pitch`` [m].

    Lattice constant ``sqrt(3) pitch``. Cell ``(i, j)`` starts at ``((i + (j % 2) / 2) sqrt(3), 3 j / 2) pitch``
    and holds sublattice A there (site ``2 (j nx + i)``) and B at ``+ (0, pitch)`` (site ``2 (j nx + i) + 1``);
    bulk sites have 3 neighbours. ``**kw`` as in :func:`square_lattice`.

    Examples
    --------
    >>> s = honeycomb_lattice(2, 2, 1e-6)
    >>> s.n_sites, round(float(s.nearest_neighbour_distances().max()) * 1e6, 12)
    (8, 1.0)
    """
    return _lattice(lambda i, j: np.column_stack([(i + 0.5 * (j % 2)) * np.sqrt(3), 1.5 * j]),
                    [[0.0, 0.0], [0.0, 1.0]], nx, ny, pitch, kw, "honeycomb_lattice")


# --------------------------------------------------------------------------- random and from file
def random_array(n, box, min_distance, seed=None, max_attempts=None, **kw) -> SiteArray:
    """``n`` sites uniform in a box centred on ``origin``, pairwise at least ``min_distance`` apart.

    Random sequential addition: a candidate drawn uniformly in the box is kept if it is at least
    ``min_distance`` from every kept site.

    Parameters
    ----------
    n : int >= 1
    box : (3,) float [m]
        Side lengths, >= 0 (a zero side gives a planar or linear array).
    min_distance : float [m], > 0
    seed : int, numpy.random.Generator or None
        Same int -> same array; ``None`` draws fresh entropy (not reproducible).
    max_attempts : int, optional
        Bound on the candidates drawn (default ``1000 n``); ValueError if fewer than ``n`` fit.
    **kw : ``phases, power, powers, polarization, origin, name`` (module docstring)

    Examples
    --------
    >>> a = random_array(5, (5e-6, 5e-6, 0), 1e-6, seed=1)
    >>> bool(a.nearest_neighbour_distances().min() >= 1e-6), bool(np.all(a.positions[:, 2] == 0))
    (True, True)
    >>> np.array_equal(a.positions, random_array(5, (5e-6, 5e-6, 0), 1e-6, seed=1).positions)
    True
    """
    n = _count("n", n)
    box_v = _vector("box", box)
    if np.any(box_v < 0):
        raise ValueError(f"box side lengths must be >= 0 [m], got {_short(box)}")
    dmin = real_number("min_distance", min_distance, positive=True)
    limit = 1000 * n if max_attempts is None else _count("max_attempts", max_attempts)
    if seed is not None and not isinstance(seed, np.random.Generator):
        seed = _count("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    kept = np.empty((0, 3))
    for _ in range(limit):
        p = (rng.random(3) - 0.5) * box_v
        if len(kept) == 0 or np.min(np.sum((kept - p) ** 2, axis=1)) >= dmin**2:
            kept = np.vstack([kept, p])
        if len(kept) == n:
            break
    if len(kept) < n:
        raise ValueError(f"random_array: placed only {len(kept)} of n={n} sites with min_distance={min_distance!r} in "
                         f"box={_short(box)} after max_attempts={limit} draws (use a larger box or fewer sites)")
    return _finish(kept, kw, "random_array", centerable=False)


def _read_csv(path) -> dict:
    """Columns of a site CSV (format: :func:`from_csv`) as canonical name -> (N,) array."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ValueError(f"path: cannot read {str(path)!r}: {e.strerror}") from None
    rows = [(no, r) for no, r in enumerate(csv.reader(text.splitlines()), start=1)
            if any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    spelling = {alias: key for key, aliases in CSV_COLUMNS.items() for alias in aliases}
    names = [spelling.get(h.strip().lower(), h.strip()) for h in (rows[0][1] if rows else [])]
    for h in names:
        if h not in CSV_COLUMNS or names.count(h) > 1:
            raise ValueError(f"{path}: column {h!r} is unknown or repeated (known: x_m, y_m, z_m, phase_rad, "
                             f"power_W, pol_x, pol_y, pol_z; SI units, the suffixes are optional)")
    n_pol = sum(c in names for c in ("pol_x", "pol_y", "pol_z"))
    if any(c not in names for c in "xyz") or n_pol not in (0, 3) or len(rows) < 2:
        raise ValueError(f"{path}: need a header with x, y, z (and all or none of pol_x, pol_y, pol_z) and at "
                         f"least one data row, got columns {names}")
    data = {c: [] for c in names}
    for no, r in rows[1:]:
        if len(r) != len(names):
            raise ValueError(f"{path}, line {no}: {len(r)} fields, expected {len(names)}")
        for c, v in zip(names, r):
            try:
                data[c].append(complex(v.strip().replace("i", "j")) if c.startswith("pol") else float(v))
            except ValueError:
                raise ValueError(f"{path}, line {no}, column {c!r}: cannot parse {v.strip()!r}") from None
    return {c: np.array(v) for c, v in data.items()}


def from_csv(path, name=None, power=None, polarization=(0.0, 1.0, 0.0)) -> SiteArray:
    """Sites from a CSV file with a header row; all values SI.

    Columns (any order; names case-insensitive; the unit suffix is optional but must be this one):
    ``x_m, y_m, z_m`` (required) [m], ``phase_rad`` [rad], ``power_W`` [W], ``pol_x, pol_y, pol_z``
    (all three or none; complex as ``1+0.5j`` or ``1+0.5i``). Missing columns take the default
    phase 0, ``power`` (default :data:`DEFAULT_POWER`) and ``polarization``. Lines starting with
    ``#`` are comments; unknown columns are errors. :meth:`SiteArray.to_csv` writes this format.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "sites.csv")
    >>> _ = open(f, "w").write("# two traps\\nx_m,y_m,z_m,phase_rad\\n-5e-7,0,0,0\\n5e-7,0,0,3.14\\n")
    >>> s = from_csv(f)
    >>> s.name, s.positions[:, 0].tolist(), s.phases.tolist(), s.powers.tolist()
    ('sites', [-5e-07, 5e-07], [0.0, 3.14], [0.1, 0.1])
    """
    cols = _read_csv(path)
    pos = np.column_stack([cols["x"], cols["y"], cols["z"]])
    pols = np.column_stack([cols["pol_x"], cols["pol_y"], cols["pol_z"]]) if "pol_x" in cols else polarization
    powers = cols.get("power", DEFAULT_POWER if power is None else real_number("power", power, positive=True))
    return SiteArray(pos, phases=cols.get("phase", 0.0), powers=powers, polarizations=pols,
                     name=Path(path).stem if name is None else name)
