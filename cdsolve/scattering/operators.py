"""The operator interface shared by every coupled-dipole backend, and lattice (grid) detection.

Operator interface
------------------
Every backend (dense :class:`cdsolve.scattering.solver.CouplingOperator`,
:class:`cdsolve.scattering.fft_operator.FFTOperator`, ``cdsolve.scattering.fmm_operator.FMMOperator``)
offers, in the dimensionless normalization of :mod:`cdsolve.scattering.solver` (fields ``u = (E, Z H)``
in V/m, ``chi_e = k^3 alpha_e/(eps0 eps_m)``, ``chi_m = k^3 alpha_m``, propagators ``g = G/k``,
``gx = Gx/k``, normalized dipoles ``ve = chi_e E``, ``vh = chi_m Z H``):

``N``, ``k`` [1/m], ``positions`` (N, 3) float [m], ``chi_e``, ``chi_m`` (N, 3, 3) complex, ``has_magnetic``
    the data (``has_magnetic`` False when every ``chi_m`` is zero).
``polarize(u)``
    ``(chi_e E, chi_m ZH)``, two (N, 3) complex arrays, from a field-major vector ``u`` (6N,)
    ``= (E_1..E_N, ZH_1..ZH_N)``.
``apply_g(V)``, ``apply_gx(V)``
    ``g`` resp. ``gx`` (``v -> C x cross v``) applied to R stacked source vectors ``V`` (N, 3, R) complex:
    ``out_n = sum_{m != n} g(r_n - r_m) V_m`` (N, 3, R); the self term is excluded.
``scatter(u)``, ``scatter_many(U, need_h=True)``
    ``W chi u`` (6N,): ``E = g ve - gx vh``, ``ZH = gx ve + g vh`` at every particle from all the others;
    ``scatter_many`` for field-major columns ``U`` (6N, R).
``matvec(u)``
    ``(1 - W chi) u`` (6N,).
``scattered_field_gradients(ve, vh)``
    ``(dE, dZH)``, each (N, 3, 3) complex [V/m^2], ``dE[n, a, i] = d_a E_i`` at particle n of the field
    ``g ve - gx vh`` scattered by all the other particles' normalized dipoles ``ve, vh`` (N, 3) (and
    ``dZH`` of ``gx ve + g vh``): with the incident gradients this is everything the forces need.

:class:`OperatorBase` implements ``polarize``, ``scatter``, ``scatter_many`` and ``matvec`` from
``apply_g``/``apply_gx``;
a backend may override them with something faster.

Grid detection
--------------
:func:`detect_grid` embeds particle positions in a regular rectangular grid (origin + integer multiples
of one step per axis, to ``1e-9`` of the step): square, rectangular, triangular and honeycomb lattices,
chains and 3-D lattices, with vacancies. It raises :class:`LatticeMismatchError` (a ``ValueError``) when
the positions are not on such a grid or the grid would be mostly empty. The last ``GRID_CACHE_SIZE``
answers are kept (a solve asks for the grid up to three times: resource check, backend choice, operator):
a lookup compares the whole positions array with a private copy, so an array changed in place, or a new
array with other values, is never served a stale grid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["OperatorBase", "GridEmbedding", "detect_grid", "LatticeMismatchError", "BackendUnavailableError",
           "GRID_TOLERANCE", "MAX_EMPTY_RATIO", "GRID_CACHE_SIZE", "clear_grid_cache"]

#: positions must lie on the grid to this fraction of the grid step
GRID_TOLERANCE = 1e-9
#: grid nodes per particle above which a grid is refused (an FFT over a mostly empty grid does not pay)
MAX_EMPTY_RATIO = 16.0
#: divisors of the smallest coordinate gap tried as the grid step (1/2 for triangular, honeycomb lattices)
_STEP_DIVISORS = (1, 2, 3, 4, 6)
#: detect_grid answers kept (each holds a copy of its positions, (N, 3) float, and the (N, 3) node indices)
GRID_CACHE_SIZE = 2
#: most recent first: (positions copy, max_empty_ratio, GridEmbedding or the LatticeMismatchError message)
_GRID_CACHE: list = []
_GRID_LOCK = threading.Lock()


def clear_grid_cache() -> None:
    """Forget every remembered :func:`detect_grid` answer."""
    with _GRID_LOCK:
        _GRID_CACHE.clear()


class LatticeMismatchError(ValueError):
    """The particle positions do not fit a regular grid (the FFT backend needs one)."""


class BackendUnavailableError(ImportError):
    """A requested operator backend cannot be used here (its module or library is not installed)."""


class OperatorBase:
    """``polarize``, ``scatter`` and ``matvec`` of the interface from ``apply_g``/``apply_gx``.

    Subclasses set ``N``, ``k``, ``positions``, ``chi_e``, ``chi_m``, ``has_magnetic`` and implement
    ``apply_g``, ``apply_gx`` and ``scattered_field_gradients`` (see the module docstring).
    """

    N: int
    k: float
    positions: np.ndarray
    chi_e: np.ndarray
    chi_m: np.ndarray
    has_magnetic: bool

    def polarize(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(chi_e E, chi_m ZH)`` as two (N, 3) arrays from a field-major vector ``u`` (6N,)."""
        N = self.N
        e = u[: 3 * N].reshape(N, 3)
        h = u[3 * N :].reshape(N, 3)
        return np.einsum("nij,nj->ni", self.chi_e, e), np.einsum("nij,nj->ni", self.chi_m, h)

    def scatter(self, u: np.ndarray) -> np.ndarray:
        """``W chi u``: fields at every particle scattered by all the others (6N,)."""
        return self.scatter_many(np.asarray(u)[:, None])[:, 0]

    def scatter_many(self, U: np.ndarray, need_h: bool = True) -> np.ndarray:
        """``W chi U`` for field-major columns ``U`` (6N, R) complex -> (6N, R), one batched ``apply_g`` and
        ``apply_gx`` for all columns and both source kinds. ``need_h=False``: when no particle is magnetic the
        ZH rows are returned as zeros (callers that only use ``chi U`` never read them: ``chi_m = 0``)."""
        N = self.N
        ncol = U.shape[1]
        e = U[: 3 * N].reshape(N, 3, ncol)
        ve = np.einsum("nij,njr->nir", self.chi_e, e)
        if not self.has_magnetic:  # E from electric dipoles only; ZH = gx ve
            h_rows = self.apply_gx(ve).reshape(3 * N, ncol) if need_h else np.zeros((3 * N, ncol), complex)
            return np.concatenate([self.apply_g(ve).reshape(3 * N, ncol), h_rows], axis=0)
        vh = np.einsum("nij,njr->nir", self.chi_m, U[3 * N :].reshape(N, 3, ncol))
        both = np.concatenate([ve, vh], axis=2)
        G, X = self.apply_g(both), self.apply_gx(both)
        out_e = G[:, :, :ncol] - X[:, :, ncol:]
        out_h = X[:, :, :ncol] + G[:, :, ncol:]
        return np.concatenate([out_e.reshape(3 * N, ncol), out_h.reshape(3 * N, ncol)], axis=0)

    def matvec(self, u: np.ndarray) -> np.ndarray:
        """``(1 - W chi) u``."""
        return u - self.scatter(u)

    def apply_g(self, V: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def apply_gx(self, V: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class GridEmbedding:
    """Particles on the nodes of a regular rectangular grid.

    Attributes
    ----------
    origin : (3,) float [m]      position of grid node (0, 0, 0)
    step : (3,) float [m]        grid spacing per axis (1.0 on axes with a single node; unused there)
    shape : (3,) int             nodes per axis
    index : (N, 3) int           grid node of each particle
    """

    origin: np.ndarray
    step: np.ndarray
    shape: tuple
    index: np.ndarray

    @property
    def nodes(self) -> int:
        """Number of grid nodes (occupied or not)."""
        return int(np.prod(self.shape))


def _axis_step(v: np.ndarray, scale: float, extent: float) -> tuple[float, int, np.ndarray] | None:
    """Grid step, node count and node indices of one coordinate axis, or None when it does not fit.

    ``scale``: largest coordinate magnitude; ``extent``: largest span over the three axes (an axis whose
    span is within ``GRID_TOLERANCE`` of it is flat: one node).
    """
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo
    slack = 8 * np.finfo(float).eps * scale  # absolute round-off of the coordinates
    if span <= max(slack, GRID_TOLERANCE * extent):
        return 1.0, 1, np.zeros(len(v), int)
    gaps = np.diff(np.sort(v))  # repeated coordinates give gaps of 0, dropped below
    gaps = gaps[gaps > max(GRID_TOLERANCE * span, slack)]  # coordinates closer than that are the same node
    h0 = float(gaps.min())
    for q in _STEP_DIVISORS:
        h = h0 / q
        n = (v - lo) / h
        idx = np.rint(n)
        if np.all(np.abs(n - idx) <= GRID_TOLERANCE + slack / h):
            return h, int(idx.max()) + 1, idx.astype(int)
    return None


def detect_grid(positions: np.ndarray, *, max_empty_ratio: float = MAX_EMPTY_RATIO) -> GridEmbedding:
    """Embed ``positions`` (N, 3) [m] in a regular rectangular grid (see the module docstring).

    The step along each axis is the smallest gap between distinct coordinates (or that gap divided by
    2, 3, 4 or 6, e.g. for triangular and honeycomb lattices), and every coordinate must be an integer
    multiple of it from the smallest one to ``GRID_TOLERANCE`` of the step. Answers (and refusals) for
    the last ``GRID_CACHE_SIZE`` position arrays are remembered; a lookup costs one O(N) comparison with
    a copy of the positions. The returned embedding's arrays are read-only (it may be shared).

    Raises
    ------
    LatticeMismatchError
        Positions off any such grid, two particles on one node, or more than ``max_empty_ratio`` grid
        nodes per particle.
    """
    pos = np.asarray(positions, float)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) == 0:
        raise ValueError(f"positions must have shape (N, 3) with N >= 1, got {pos.shape}")
    ratio = float(max_empty_ratio)
    answer = None
    with _GRID_LOCK:
        for n, (kept, kept_ratio, known) in enumerate(_GRID_CACHE):
            if kept_ratio == ratio and kept.shape == pos.shape and np.array_equal(kept, pos):
                _GRID_CACHE.insert(0, _GRID_CACHE.pop(n))
                answer = known
                break
    if answer is None:
        try:
            answer = _detect_grid(pos, ratio)
        except LatticeMismatchError as exc:
            answer = str(exc)
        with _GRID_LOCK:
            _GRID_CACHE.insert(0, (pos.copy(), ratio, answer))
            del _GRID_CACHE[GRID_CACHE_SIZE:]
    if isinstance(answer, str):
        raise LatticeMismatchError(answer)
    return answer


def _detect_grid(pos: np.ndarray, max_empty_ratio: float) -> GridEmbedding:
    """:func:`detect_grid` without the memory: ``pos`` (N, 3) float [m], validated."""
    scale = float(np.abs(pos).max()) or 1.0
    extent = float(np.ptp(pos, axis=0).max())
    steps, shape, idx = [], [], []
    for c in range(3):
        fit = _axis_step(pos[:, c], scale, extent)
        if fit is None:
            raise LatticeMismatchError(
                f"positions are not on a regular grid: the {'xyz'[c]} coordinates are not integer multiples of "
                f"one step (tried the smallest gap divided by {_STEP_DIVISORS}) to {GRID_TOLERANCE:g} of the step; "
                "the fft backend needs a lattice (use method='auto', 'iterative' or 'fmm')")
        steps.append(fit[0])
        shape.append(fit[1])
        idx.append(fit[2])
    index = np.stack(idx, axis=1)
    nodes = int(np.prod(shape))
    if nodes > max_empty_ratio * len(pos):
        raise LatticeMismatchError(
            f"positions embed in a {shape[0]} x {shape[1]} x {shape[2]} grid of {nodes} nodes for {len(pos)} "
            f"particles, more than max_empty_ratio={max_empty_ratio:g} nodes per particle: the fft backend "
            "would mostly transform empty nodes (use method='auto', 'iterative' or 'fmm')")
    flat = np.ravel_multi_index(index.T, shape)
    if np.bincount(flat, minlength=nodes).max() > 1:
        raise LatticeMismatchError("two particles fall on the same grid node (positions closer than "
                                   f"{GRID_TOLERANCE:g} of the grid step)")
    origin = np.array([pos[:, c].min() for c in range(3)])
    step = np.array(steps)
    for a in (origin, step, index):
        a.flags.writeable = False
    return GridEmbedding(origin, step, tuple(shape), index)
