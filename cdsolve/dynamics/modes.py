"""Eigenmodes of non-Hermitian dynamical matrices: biorthogonal modes, phases, exceptional points.

Generic linear algebra, independent of the rest of :mod:`cdsolve`, for the linearized motion
``x'' = -D x - Gamma x'`` of trapped particles with a non-symmetric dynamical matrix
``D = M^-1 K`` [1/s^2] (non-reciprocal optical binding makes ``K`` non-symmetric).

Conventions
    * Time dependence ``exp(-i omega t)`` (:mod:`cdsolve.optics.conventions`): a mode of complex
      frequency ``omega`` grows if ``Im omega > 0`` and decays if ``Im omega < 0``.
    * Eigenvalues are sorted by real part, then imaginary part. Real parts closer than
      ``SORT_RTOL * s`` (``s`` = spectral radius, 1 if the spectrum is 0) count as equal, so a
      conjugate pair is always ordered ``Im < 0`` first, independent of rounding.
    * Right eigenvectors have unit 2-norm; left eigenvectors are scaled so that
      ``left^H right = I`` (biorthonormal). ``l^H D = lambda l^H`` for a left column ``l``.
    * Petermann factor ``K_i = |l_i|^2 |r_i|^2 / |l_i^H r_i|^2 >= 1``: 1 for normal matrices,
      diverging as ``1/|p - p_EP|`` on approach of a second-order exceptional point (EP).
    * Phase labels read ``D`` as the ``omega^2`` matrix (tolerances ``rtol * s``):
      ``"stable-unbroken"`` all eigenvalues real > 0 (oscillatory, PT-unbroken); ``"broken"``
      conjugate pairs (one mode grows, its partner decays: PT / time reversal broken);
      ``"unstable"`` a real eigenvalue < 0 (static instability); ``"marginal"`` a zero one
      (free mode). Precedence: unstable > broken > marginal > stable-unbroken.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import numpy as np
import scipy.linalg
from scipy.optimize import brentq
from scipy.sparse.csgraph import connected_components

__all__ = [
    "PHASES", "Modes", "MechanicalModes", "Phase", "Scan", "ExceptionalPoint", "PhaseDiagram",
    "eigenmodes", "drift_matrix", "mechanical_frequencies", "is_stable", "classify", "scan",
    "find_exceptional_points", "phase_diagram",
]  # fmt: skip

#: phase labels; ``PhaseDiagram.codes`` index into this tuple
PHASES = ("stable-unbroken", "broken", "unstable", "marginal")
#: real parts within ``SORT_RTOL * s`` are sorted by imaginary part
SORT_RTOL = 1e-10
#: eigenvalues within ``DEGENERACY_RTOL * s`` are treated as one degenerate eigenvalue
DEGENERACY_RTOL = 1e-12
#: a degenerate cluster whose right vectors have a larger condition number is defective
_DEFECTIVE_COND = 1e8
_EPS = np.finfo(float).eps

MatrixFn = Callable[..., np.ndarray]


class _Record:
    """Base of the frozen result records: array fields are made read-only."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v.setflags(write=False)


@dataclasses.dataclass(frozen=True)
class Modes(_Record):
    """Biorthonormal eigen-decomposition ``D right = right diag(eigenvalues)`` (n x n ``D``).

    Attributes
    ----------
    eigenvalues : ndarray, shape (n,), complex [unit of D]
        Sorted by real part, then imaginary part (module docstring).
    right, left : ndarray, shape (n, n), complex
        Right (unit 2-norm) and left eigenvectors as columns, ``left^H right = I``. At an
        exactly defective eigenvalue no dual exists: those left columns stay unit-normalized.
    petermann : ndarray, shape (n,), float
        ``K_i >= 1`` (clipped at 1 against rounding), ``inf`` if exactly defective. For a
        degenerate semisimple eigenvalue ``||P||_2^2`` of its spectral projector ``P = R L^H``
        (basis independent; the formula of the module docstring for a simple one).
    condition : float
        2-norm condition number of ``right`` (1 for normal matrices).
    """

    eigenvalues: np.ndarray
    right: np.ndarray
    left: np.ndarray
    petermann: np.ndarray
    condition: float


@dataclasses.dataclass(frozen=True)
class MechanicalModes(_Record):
    """Eigenfrequencies of ``x'' = -D x - Gamma x'`` (see :func:`mechanical_frequencies`).

    Attributes
    ----------
    frequencies : ndarray, shape (n,) undamped or (2n,) damped, complex [rad/s]
        ``omega`` for ``exp(-i omega t)``; ``Im omega > 0`` grows.
    modes : Modes
        Undamped: modes of ``D`` (``eigenvalues == frequencies**2``, vectors in x-space).
        Damped: modes of ``1j * drift_matrix(D, None, damping)`` (``eigenvalues ==
        frequencies``, 2n-vectors in ``(x, v)``).
    damped : bool
    """

    frequencies: np.ndarray
    modes: Modes
    damped: bool


@dataclasses.dataclass(frozen=True)
class Phase(_Record):
    """Phase of a dynamical matrix (see :func:`classify`).

    Attributes
    ----------
    label : str
        One of :data:`PHASES`.
    eigenvalues : ndarray, shape (n,), complex [unit of D]
        Sorted eigenvalues ``mu`` of ``D``.
    complex_pairs : tuple of (int, int)
        Conjugate pairs ``(i, j)``: ``Im mu_i < 0`` (decaying ``omega = sqrt(mu)``) and
        ``Im mu_j > 0`` (growing).
    negative : tuple of int
        Indices of real negative eigenvalues; ``tolerance`` (float) is ``rtol * s`` used.
    """

    label: str
    eigenvalues: np.ndarray
    complex_pairs: tuple
    negative: tuple
    tolerance: float


@dataclasses.dataclass(frozen=True)
class Scan(_Record):
    """Spectrum along a path of P parameters (see :func:`scan`).

    Attributes
    ----------
    params : ndarray, shape (P,), float
    eigenvalues : ndarray, shape (P, n), complex
        Sorted per point; ``phases`` (P,) str are labels from :data:`PHASES`.
    n_complex : ndarray, shape (P,), int
        Number of eigenvalues with ``Im > rtol s`` (= conjugate pairs for real D).
    min_splitting : ndarray, shape (P,), float
        ``min_{i<j} |lambda_i - lambda_j| / s`` (``inf`` for n = 1); -> 0 at an EP.
    max_overlap : ndarray, shape (P,), float
        ``max_{i<j} |r_i^H r_j| / (|r_i| |r_j|)`` (0 for n = 1); -> 1 at an EP.
    """

    params: np.ndarray
    eigenvalues: np.ndarray
    phases: np.ndarray
    n_complex: np.ndarray
    min_splitting: np.ndarray
    max_overlap: np.ndarray


@dataclasses.dataclass(frozen=True)
class ExceptionalPoint:
    """A located exceptional point (see :func:`find_exceptional_points`).

    Attributes
    ----------
    parameter : float
        Path parameter of the EP.
    eigenvalue : complex [unit of D]
        Mean of the coalescing pair at ``parameter``.
    overlap, petermann : float
        There: ``|r_i^H r_j|`` of the pair's unit right vectors (-> 1) and the pair's larger
        Petermann factor (huge, ``inf`` if exactly defective). ``order`` = 2 (coalescing pair).
    """

    parameter: float
    eigenvalue: complex
    overlap: float
    petermann: float
    order: int = 2


@dataclasses.dataclass(frozen=True)
class PhaseDiagram(_Record):
    """Phase labels on an (Ny, Nx) grid (see :func:`phase_diagram`): rows y, columns x.

    Attributes
    ----------
    params_x, params_y : ndarray, shapes (Nx,) and (Ny,), float
    labels, codes, n_complex : ndarray, shape (Ny, Nx), str / int / int
        As in :class:`Scan`; ``codes`` index :data:`PHASES`, for ``pcolormesh(x, y, codes)``.
    eigenvalues : ndarray, shape (Ny, Nx, n), complex
        Sorted per point.
    """

    params_x: np.ndarray
    params_y: np.ndarray
    labels: np.ndarray
    codes: np.ndarray
    n_complex: np.ndarray
    eigenvalues: np.ndarray


def _square(D, name: str = "D") -> np.ndarray:
    """Validate a finite, non-empty square matrix; return it as float or complex array."""
    a = np.asarray(D)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite, non-empty square (n, n) array, got shape {a.shape}")
    return a.astype(complex if np.iscomplexobj(a) else float)


def _scale(lam: np.ndarray) -> np.ndarray:
    """Spectral scale ``s = max |lambda|`` over the last axis (1 where the spectrum is 0)."""
    return np.where(np.any(lam != 0, axis=-1), np.max(np.abs(lam), axis=-1), 1.0)


def _sort_order(lam: np.ndarray, rtol: float = SORT_RTOL) -> np.ndarray:
    """Permutation sorting a 1D spectrum by real part (ties within ``rtol s``), then imaginary."""
    order = np.argsort(lam.real, kind="stable")
    group = np.concatenate([[0], np.cumsum(np.diff(lam.real[order]) > rtol * _scale(lam))])
    return order[np.lexsort((lam.imag[order], group))]


def _sorted_stack(lam: np.ndarray, vecs: np.ndarray | None = None):
    """Sort a stack of spectra ``(..., n)`` (and matching column vectors ``(..., n, n)``)."""
    flat = lam.reshape(-1, lam.shape[-1])
    order = np.array([_sort_order(row) for row in flat]).reshape(lam.shape)
    lam = np.take_along_axis(lam, order, axis=-1)
    return lam if vecs is None else (lam, np.take_along_axis(vecs, order[..., None, :], axis=-1))


def _labels(lam: np.ndarray, rtol: float):
    """Vectorized phase labels, codes, complex-pair counts, complex and negative-real masks of
    spectra ``(..., n)`` at the tolerance ``rtol s``."""
    tol = (rtol * _scale(lam))[..., None]
    cplx = np.abs(lam.imag) > tol
    neg, zero = ~cplx & (lam.real < -tol), ~cplx & (np.abs(lam.real) <= tol)
    codes = np.select([neg.any(-1), cplx.any(-1), zero.any(-1)], [2, 1, 3], 0)
    return np.asarray(PHASES)[codes], codes, np.sum(cplx & (lam.imag > 0), axis=-1), cplx, neg


def _closest_pair(lam: np.ndarray) -> tuple[int, int]:
    """Indices ``i < j`` of the two closest eigenvalues of a 1D spectrum (n >= 2)."""
    d = np.abs(lam[:, None] - lam[None, :]) + np.diag(np.full(lam.size, np.inf))
    return tuple(sorted(int(i) for i in np.unravel_index(np.argmin(d), d.shape)))


def _signed_splitting(D: np.ndarray) -> float:
    """``Re (lambda_i - lambda_j)^2 / s^2`` of the closest pair: > 0 for a real pair, < 0 for a
    conjugate pair; analytic in D near a second-order EP (a discriminant), zero at the EP."""
    lam = scipy.linalg.eigvals(D)
    i, j = _closest_pair(lam)
    return float(((lam[i] - lam[j]) ** 2).real / _scale(lam) ** 2)


def _stack(matrix_fn: MatrixFn, args: tuple, shape: tuple, vectorized: bool) -> np.ndarray:
    """Evaluate ``matrix_fn`` on grids ``args`` (all of ``shape``) into ``shape + (n, n)``."""
    if vectorized:
        mats = np.asarray(matrix_fn(*args))
    else:
        flat = [a.ravel() for a in args]
        mats = np.stack([np.asarray(matrix_fn(*p)) for p in zip(*flat)])
        mats = mats.reshape(shape + mats.shape[1:])
    if mats.ndim != len(shape) + 2 or mats.shape[:-2] != shape or mats.shape[-1] != mats.shape[-2]:
        raise ValueError(f"matrix_fn must give square matrices stacked as {shape} + (n, n), got {mats.shape}")
    if not np.all(np.isfinite(mats)):
        raise ValueError("matrix_fn returned non-finite entries")
    return mats


def eigenmodes(D) -> Modes:
    """Biorthonormal right/left eigenvectors, Petermann factors and conditioning of ``D``.

    Parameters
    ----------
    D : array_like, shape (n, n), float or complex
        Any square matrix (any unit; the eigenvalues carry it).

    Returns
    -------
    Modes
        From ``scipy.linalg.eig(D, left=True, right=True)``, sorted and normalized as in the
        module docstring. Eigenvalues within ``DEGENERACY_RTOL * s`` form one degenerate
        eigenvalue: its right vectors are orthonormalized (normal matrices give Petermann 1),
        unless numerically dependent (condition > 1e8: defective, an exact EP, ``K = inf``).

    Examples
    --------
    >>> m = eigenmodes([[2.0, 1.0], [0.0, 1.0]])
    >>> m.eigenvalues.real.tolist(), np.round(m.petermann, 12).tolist()
    ([1.0, 2.0], [2.0, 2.0])
    >>> bool(np.allclose(m.left.conj().T @ m.right, np.eye(2)))
    True
    """
    lam, vl, vr = scipy.linalg.eig(_square(D), left=True, right=True)
    order = _sort_order(lam)
    lam, vl, vr = lam[order].astype(complex), vl[:, order], vr[:, order]
    right = (vr / np.linalg.norm(vr, axis=0)).astype(complex)
    vl = (vl / np.linalg.norm(vl, axis=0)).astype(complex)
    left, petermann = vl.copy(), np.full(lam.size, np.inf)
    _, comp = connected_components(np.abs(lam[:, None] - lam) <= DEGENERACY_RTOL * _scale(lam), directed=False)
    for c in np.unique(comp):
        idx = np.flatnonzero(comp == c)
        R, L = right[:, idx], vl[:, idx]
        if idx.size == 1:
            s = np.vdot(L[:, 0], R[:, 0])
            if abs(s) > _EPS:
                left[:, idx], petermann[idx] = L / np.conj(s), 1.0 / abs(s) ** 2
            continue
        if np.linalg.cond(R) >= _DEFECTIVE_COND:
            continue  # defective (exact EP): no biorthonormal dual, K = inf
        R = np.linalg.qr(R)[0]  # orthonormal basis of the semisimple eigenspace
        S = L.conj().T @ R
        if np.linalg.cond(S) * _EPS < 1.0:
            right[:, idx], left[:, idx] = R, L @ np.linalg.inv(S).conj().T
            petermann[idx] = np.linalg.norm(R @ left[:, idx].conj().T, 2) ** 2
    return Modes(lam, right, left, np.maximum(petermann, 1.0), float(np.linalg.cond(right)))


def _matrix_arg(value, n: int, name: str, default: float) -> np.ndarray:
    """Scalar -> ``value I``; (n,) -> diagonal; (n, n) as is; None -> ``default I``."""
    v = np.asarray(default if value is None else value)
    v = v * np.eye(n) if v.ndim == 0 else np.diag(v) if v.shape == (n,) else v
    if v.shape != (n, n) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite scalar, (n,) or (n, n) array with n = {n}, got {v.shape}")
    return v


def drift_matrix(K, masses=None, damping=None) -> np.ndarray:
    """First-order drift matrix ``A`` with ``d/dt (x, p) = A (x, p)``, ``p = M x'``.

    For ``M x'' = -K x - M Gamma x'`` (i.e. ``x'' = -M^-1 K x - Gamma x'``)
    ``A = [[0, M^-1], [-K, -M Gamma M^-1]]``. With ``masses=None`` (``M = I``) the state
    is ``(x, v)`` and ``K`` is the dynamical matrix ``D``. Eigenvalues ``s`` of ``A`` give
    ``omega = i s`` (``exp(-i omega t)``).

    Parameters
    ----------
    K : array_like, shape (n, n), float or complex
        Stiffness [N/m] (``D`` [1/s^2] when ``masses`` is None); need not be symmetric.
    masses, damping : None, float, array_like (n,) or (n, n)
        Mass matrix ``M`` [kg], positive (definite); damping rates ``Gamma`` [1/s].
        Scalar: multiple of ``I``; (n,): diagonal; None: ``I`` resp. 0.

    Returns
    -------
    ndarray, shape (2n, 2n), float or complex
        Blocks in [1/s, 1/kg; N/m, 1/s] (all [1/s] when ``masses`` is None).

    Examples
    --------
    >>> drift_matrix([[4.0]], masses=2.0, damping=0.1).tolist()
    [[0.0, 0.5], [-4.0, -0.1]]
    """
    k = _square(K, "K")
    m = _matrix_arg(masses, k.shape[0], "masses", 1.0)
    try:
        np.linalg.cholesky((m + m.conj().T) / 2)
    except np.linalg.LinAlgError:
        raise ValueError("masses must be positive (definite)") from None
    g, minv = _matrix_arg(damping, k.shape[0], "damping", 0.0), np.linalg.inv(m)
    return np.block([[np.zeros_like(k), minv], [-k, -(m @ g @ minv)]])


def mechanical_frequencies(D, damping=None) -> MechanicalModes:
    """Complex eigenfrequencies of ``x'' = -D x - Gamma x'`` for ``exp(-i omega t)``.

    Parameters
    ----------
    D : array_like, shape (n, n), float or complex
        Dynamical matrix ``M^-1 K`` [1/s^2].
    damping : None, float, array_like (n,) or (n, n)
        ``Gamma`` [1/s] (as in :func:`drift_matrix`); None: undamped.

    Returns
    -------
    MechanicalModes
        Undamped: n frequencies ``omega_i = sqrt(mu_i)`` for the sorted eigenvalues ``mu_i``
        of ``D``, principal root (``Re omega >= 0``); the first-order spectrum is
        ``{omega_i, -omega_i}``. A real ``mu < 0`` (static instability) gives the purely
        imaginary ``+i sqrt|mu|`` (growing; ``-omega`` is its decaying partner); a pair
        ``mu, mu*`` gives ``omega, omega*`` (one growing, one decaying mode).
        Damped: 2n frequencies, the eigenvalues of ``1j * A`` (``A`` the ``(x, v)``
        :func:`drift_matrix`) sorted by real then imaginary part; for one oscillator
        ``omega = -i gamma/2 +- sqrt(w^2 - gamma^2/4)``.

    Examples
    --------
    >>> f = mechanical_frequencies([[4.0]], damping=2.0)  # w = 2, gamma = 2
    >>> [complex(round(z.real, 9), round(z.imag, 9)) for z in f.frequencies]
    [(-1.732050808-1j), (1.732050808-1j)]
    >>> complex(mechanical_frequencies([[-4.0]]).frequencies[0])
    2j
    """
    if damping is None:
        modes = eigenmodes(D)
        mu = modes.eigenvalues
        mu = np.where(mu.imag == 0, mu.real + 0j, mu)  # drop -0.0: sqrt(-a + 0j) = +i sqrt(a)
        return MechanicalModes(np.sqrt(mu), modes, False)
    modes = eigenmodes(1j * drift_matrix(D, None, damping))
    return MechanicalModes(modes.eigenvalues.copy(), modes, True)


def is_stable(modes: MechanicalModes, rtol: float = 1e-9) -> bool:
    """True when no mode of :func:`mechanical_frequencies` grows (within ``rtol`` of the largest ``|omega|``).

    Undamped, each ``omega`` stands for the pair ``+-omega``: stable iff every ``omega`` is real (a negative
    or complex eigenvalue of ``D`` gives a growing partner). Damped: stable iff every ``Im omega <= 0``.

    >>> is_stable(mechanical_frequencies([[4.0]])), is_stable(mechanical_frequencies([[-4.0]]))
    (True, False)
    """
    w = np.asarray(modes.frequencies)
    tol = rtol * (np.abs(w).max() if w.size else 0.0)
    growth = w.imag if modes.damped else np.abs(w.imag)
    return bool(np.all(growth <= tol))


def classify(D, rtol: float = 1e-9) -> Phase:
    """Phase of a real dynamical matrix ``D`` read as the ``omega^2`` matrix.

    Parameters
    ----------
    D : array_like, shape (n, n), float [1/s^2]
        Complex ``D`` is accepted if its spectrum is closed under conjugation (PT-symmetric).
    rtol : float
        With ``s = max_i |mu_i|`` (spectral radius): ``mu`` is complex if ``|Im mu| > rtol s``,
        else negative if ``Re mu < -rtol s``, zero if ``|mu| <= rtol s``. Near an EP
        ``|Im mu| ~ sqrt|p - p_EP|``, so labels are exact to ``~(rtol s)^2 / |dDisc/dp|``.

    Returns
    -------
    Phase
        ``label`` (precedence in the module docstring), conjugate ``complex_pairs`` ``(i, j)``
        with ``Im mu_i < 0 < Im mu_j``, ``negative`` indices, absolute ``tolerance``.
        ValueError if the complex eigenvalues do not pair into conjugates.

    Examples
    --------
    >>> ph = classify([[1.0, 0.5], [-0.5, 1.0]])  # mu = 1 +- 0.5i
    >>> ph.label, ph.complex_pairs
    ('broken', ((0, 1),))
    >>> classify([[2.0, 1.0], [1.0, 2.0]]).label, classify([[1.0, 2.0], [2.0, 1.0]]).label
    ('stable-unbroken', 'unstable')
    """
    lam = scipy.linalg.eigvals(_square(D))
    lam = lam[_sort_order(lam)].astype(complex)
    label, _, _, cplx, neg = _labels(lam, rtol)
    down = [i for i in np.flatnonzero(cplx) if lam[i].imag < 0]
    up = [j for j in np.flatnonzero(cplx) if lam[j].imag > 0]
    if len(up) != len(down):
        raise ValueError("complex eigenvalues do not come in conjugate pairs; D is not real/PT-symmetric")
    pairs = []
    for i in down:  # greedy conjugate matching (exact conjugates for a real D)
        pairs.append((int(i), int(up.pop(int(np.argmin([abs(lam[j] - np.conj(lam[i])) for j in up]))))))
    return Phase(str(label), lam, tuple(pairs), tuple(int(i) for i in np.flatnonzero(neg)), float(rtol * _scale(lam)))


def scan(matrix_fn: MatrixFn, params, *, rtol: float = 1e-9, vectorized: bool = False) -> Scan:
    """Spectrum, phase and EP indicators of ``D(p)`` along a 1D parameter path.

    Parameters
    ----------
    matrix_fn : callable
        ``matrix_fn(p) -> (n, n)``; with ``vectorized=True`` it is called once on the (P,)
        array and returns the stack ``(P, n, n)``.
    params : array_like, shape (P,), float
    rtol : float
        Phase tolerance, as in :func:`classify`.
    vectorized : bool

    Returns
    -------
    Scan
        From one batched ``numpy.linalg.eig`` over the ``(P, n, n)`` stack.

    Examples
    --------
    >>> s = scan(lambda p: [[2.0, 1.0], [p, 1.0]], [-1.0, 0.0, 3.0])  # EP at p = -1/4
    >>> s.phases.tolist(), np.round(s.min_splitting, 6).tolist()
    (['broken', 'stable-unbroken', 'unstable'], [1.0, 0.5, 1.091673])
    """
    p = np.array(params, dtype=float)  # a copy: records are made read-only
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"params must be a non-empty 1D array, got shape {p.shape}")
    lam, vr = np.linalg.eig(_stack(matrix_fn, (p,), p.shape, vectorized))
    lam, vr = _sorted_stack(lam.astype(complex), vr.astype(complex))
    labels, _, n_complex, _, _ = _labels(lam, rtol)
    off = ~np.eye(lam.shape[-1], dtype=bool)
    if lam.shape[-1] == 1:
        return Scan(p, lam, labels, n_complex, np.full(p.size, np.inf), np.zeros(p.size))
    split = np.min(np.abs(lam[:, :, None] - lam[:, None, :])[:, off], axis=-1) / _scale(lam)
    vr = vr / np.linalg.norm(vr, axis=-2, keepdims=True)
    overlap = np.max(np.abs(np.conj(np.swapaxes(vr, -1, -2)) @ vr)[:, off], axis=-1)
    return Scan(p, lam, labels, n_complex, split, np.minimum(overlap, 1.0))


def _collapse(D: np.ndarray):
    """(mean eigenvalue, right-vector overlap, max Petermann) of the closest eigenvalue pair."""
    m = eigenmodes(D)
    i, j = _closest_pair(m.eigenvalues)
    overlap = float(min(abs(np.vdot(m.right[:, i], m.right[:, j])), 1.0))
    return complex(m.eigenvalues[[i, j]].mean()), overlap, float(max(m.petermann[i], m.petermann[j]))


def _locate(D_of: Callable[[float], np.ndarray], a: float, b: float, rtol: float, use_brentq: bool) -> float:
    """Parameter in ``[a, b]`` where the complex-pair count changes: bisection on the count
    until the signed splitting changes sign, then ``brentq`` on it (or bisection to the end)."""
    count = lambda x: int(_labels(scipy.linalg.eigvals(D_of(x)), rtol)[2])  # noqa: E731
    ind = (lambda x: _signed_splitting(D_of(x))) if use_brentq else (lambda x: 0.0)  # noqa: E731
    na, fa, fb = count(a), ind(a), ind(b)
    xtol = max(2 * _EPS * max(abs(a), abs(b)), 1e-300)
    while abs(b - a) > xtol:
        if fa * fb < 0:
            return float(brentq(ind, a, b, xtol=xtol, rtol=4 * _EPS, maxiter=200))
        m = 0.5 * (a + b)
        if m in (a, b):
            break
        if count(m) == na:
            a, fa = m, ind(m)
        else:
            b, fb = m, ind(m)
    return 0.5 * (a + b)


def find_exceptional_points(
    matrix_fn: MatrixFn, params, *, rtol: float = 1e-9, overlap_tol: float = 1e-6, vectorized: bool = False
) -> list[ExceptionalPoint]:
    """Locate second-order EPs of ``D(p)`` along a path (real or PT-symmetric ``D``).

    1. :func:`scan` the grid; bracket every neighbour interval where the number of complex
       pairs changes (a real pair turns into a conjugate pair). Static instabilities (a real
       eigenvalue crossing 0) change the label but not the count: they are not EPs.
    2. Bisect the bracket on the count until the signed squared splitting
       ``Re (lambda_i - lambda_j)^2`` of the closest pair (> 0 for a real pair,
       ``-4 (Im lambda)^2 < 0`` for a conjugate pair; a discriminant, analytic through the EP)
       has opposite signs at the ends, then refine it with ``scipy.optimize.brentq``.
    3. Confirm eigenvector collapse of the pair, ``|r_i^H r_j| > 1 - overlap_tol`` and Petermann
       factor ``> 1/overlap_tol``; else bisect on the count alone; else skip the bracket with a
       ``RuntimeWarning``.

    Parameters
    ----------
    matrix_fn, vectorized
        As in :func:`scan`.
    params : array_like, shape (P,), float, monotonic
        Grid fine enough to put at most one EP in each interval.
    rtol, overlap_tol : float
        Phase tolerance as in :func:`classify`; required eigenvector collapse.

    Returns
    -------
    list of ExceptionalPoint
        In grid order; parameters accurate to a few ``eps`` relative (the indicator comes
        from backward-stable eigenvalues: error ``~eps s^2``).

    Examples
    --------
    >>> eps = find_exceptional_points(lambda p: [[2.0, 1.0], [p, 1.0]], np.linspace(-1, 1, 21))
    >>> [round(e.parameter, 12) for e in eps], [round(e.eigenvalue.real, 9) for e in eps]
    ([-0.25], [1.5])
    >>> bool(eps[0].overlap > 1 - 1e-6 and eps[0].petermann > 1e10)
    True
    """
    s = scan(matrix_fn, params, rtol=rtol, vectorized=vectorized)
    if s.eigenvalues.shape[1] < 2:
        return []
    D_of = lambda x: _square(np.asarray(matrix_fn(np.array([x])))[0] if vectorized else matrix_fn(x))  # noqa: E731
    out = []
    for k in np.flatnonzero(np.diff(s.n_complex) != 0):
        a, b = float(s.params[k]), float(s.params[k + 1])
        for use_brentq in (True, False):
            x = _locate(D_of, a, b, rtol, use_brentq)
            mean, overlap, petermann = _collapse(D_of(x))
            if overlap > 1 - overlap_tol and petermann > 1 / overlap_tol:
                out.append(ExceptionalPoint(float(x), mean, overlap, petermann))
                break
        else:
            msg = f"phase change between p = {a!r} and {b!r} shows no eigenvector collapse (overlap {overlap:.6g})"
            warnings.warn(msg + "; not reported as an exceptional point", RuntimeWarning, stacklevel=2)
    return out


def phase_diagram(
    matrix_fn: MatrixFn, params_x, params_y, *, rtol: float = 1e-9, vectorized: bool = False
) -> PhaseDiagram:
    """Phase labels of ``D(x, y)`` on a grid, from one batched eigenvalue call.

    Parameters
    ----------
    matrix_fn : callable
        ``matrix_fn(x, y) -> (n, n)``; with ``vectorized=True`` it is called once with the
        ``(Ny, Nx)`` meshgrid arrays ``X, Y`` and returns ``(Ny, Nx, n, n)``.
    params_x, params_y : array_like, shapes (Nx,) and (Ny,), float
    rtol : float
        Phase tolerance, as in :func:`classify`.
    vectorized : bool

    Returns
    -------
    PhaseDiagram
        Arrays of shape (Ny, Nx): rows follow ``params_y``, columns ``params_x``.

    Examples
    --------
    >>> pd = phase_diagram(lambda x, y: [[2.0, x], [y, 1.0]], [-1.0, 3.0], [-1.0, 0.0, 1.0])
    >>> pd.labels.tolist()
    [['stable-unbroken', 'broken'], ['stable-unbroken', 'stable-unbroken'], ['broken', 'unstable']]
    """
    x, y = np.array(params_x, dtype=float), np.array(params_y, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.size == 0 or y.size == 0:
        raise ValueError("params_x and params_y must be non-empty 1D arrays")
    X, Y = np.meshgrid(x, y)
    lam = _sorted_stack(np.linalg.eigvals(_stack(matrix_fn, (X, Y), X.shape, vectorized)).astype(complex))
    labels, codes, n_complex, _, _ = _labels(lam, rtol)
    return PhaseDiagram(x, y, labels, codes, n_complex, lam)
