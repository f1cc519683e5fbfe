"""FFT backend: the coupled-dipole operator of particles on a regular grid as zero-padded convolutions.

For particles on the nodes of a rectangular grid (:func:`cdsolve.scattering.operators.detect_grid`:
square, rectangular, triangular, honeycomb lattices, chains, 3-D lattices; vacancies and empty nodes get
zero polarizability), the propagators depend only on the node offset, so ``g``, ``gx`` and their first
derivatives are (block) Toeplitz on the grid. Each is applied as a circular convolution on a grid padded
to at least ``2 n - 1`` nodes per axis (``scipy.fft.next_fast_len``), which equals the linear convolution
on the occupied part: cost O(M log M) for M padded nodes instead of O(N^2), memory O(M).

Kernels (scalar fields on the padded grid, value 0 at the zero offset: the self term is excluded), with
``x = r_target - r_source`` and the radial functions of :mod:`cdsolve.optics.green` (divided by k):

* ``g_ab = A delta_ab + B x_a x_b`` (6 symmetric components),
* ``gx``: ``(gx v)_i = C (x cross v)_i``, i.e. ``gx_ij = -C x_m`` for cyclic ``(i, j, m)`` (3),
* ``d_a g_ic = DA x_a delta_ic + DB x_a x_i x_c + B (delta_ai x_c + delta_ac x_i)`` (18),
* ``d_a gx_ij = -(DC x_a x_m + C delta_am)`` for cyclic ``(i, j, m)`` (6 symmetric in ``a, m``).

Kernels that vanish identically on the grid (e.g. every odd power of ``x_z`` for a planar lattice) are
skipped. Their FFTs are computed once per (padded grid shape, steps, k) and cached (the last
``CACHE_SIZE`` geometries) for all right-hand sides, GMRES iterations and force evaluations; the
derivative kernels only when gradients are first asked for. FFTs use ``scipy.fft`` with ``workers=2``.
Electric-only scenes skip the magnetic source channels.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import scipy.fft as sfft

from ..optics.green import _D, _evaluate, _radial_coefficients
from .operators import GridEmbedding, OperatorBase, detect_grid

__all__ = ["FFTOperator", "CACHE_SIZE", "clear_kernel_cache", "padded_shape"]

#: geometries whose kernel FFTs are kept
CACHE_SIZE = 2
#: FFT threads
WORKERS = 2
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
_PAIR_ID = {p: n for n, p in enumerate(_PAIRS)} | {p[::-1]: n for n, p in enumerate(_PAIRS)}
_CYCLIC = ((1, 2, 0), (2, 0, 1), (0, 1, 2))  # (i, j, m): gx_ij = -C x_m, gx_ji = +C x_m
_CACHE: OrderedDict = OrderedDict()


def clear_kernel_cache() -> None:
    """Drop every cached kernel FFT."""
    _CACHE.clear()


def padded_shape(shape) -> tuple:
    """FFT grid (active axes only: those with more than one node) for a grid of ``shape`` nodes."""
    return tuple(sfft.next_fast_len(2 * int(n) - 1) for n in shape if int(n) > 1)


def _gx_terms():
    """``(i, j, sign, m)``: ``gx_ij = sign * (-C x_m)`` style index list over all non-zero (i, j)."""
    out = []
    for i, j, m in _CYCLIC:
        out.append((i, j, 1.0, m))
        out.append((j, i, -1.0, m))
    return out


class FFTOperator(OperatorBase):
    """Coupled-dipole operator of particles on a regular grid (see the module docstring).

    Parameters
    ----------
    positions : (N, 3) float [m]
    k : float [1/m]
    chi_e, chi_m : (N, 3, 3) complex
        Dimensionless polarizabilities ``k^3 alpha_e/(eps0 eps_m)`` and ``k^3 alpha_m``.
    grid : GridEmbedding, optional
        From :func:`cdsolve.scattering.operators.detect_grid` (detected when omitted; raises
        :class:`cdsolve.scattering.operators.LatticeMismatchError` when the positions are not on a grid).
    """

    def __init__(self, positions: np.ndarray, k: float, chi_e: np.ndarray, chi_m: np.ndarray,
                 grid: GridEmbedding | None = None):
        self.positions = np.asarray(positions, float)
        self.N = len(self.positions)
        self.k = float(k)
        self.chi_e = chi_e
        self.chi_m = chi_m
        self.has_magnetic = bool(np.any(chi_m))
        self.grid = detect_grid(self.positions) if grid is None else grid
        active = [c for c in range(3) if self.grid.shape[c] > 1]
        self._active = active
        self._pshape = padded_shape(self.grid.shape)
        self._axes = tuple(range(1, len(active) + 1))
        self._gather = tuple(self.grid.index[:, c] for c in active)
        steps = tuple(float(self.grid.step[c]) for c in active)
        self._key = (self._pshape, tuple(active), steps, self.k)
        self._field = self._kernels("field")
        self._grad = None

    # ------------------------------------------------------------------ kernels
    def _coordinates(self):
        """Separation components ``x_c`` on the padded grid (0.0 on inactive axes), ``inv_r``, ``phase``."""
        P = self._pshape
        X = [0.0, 0.0, 0.0]
        for ax, c in enumerate(self._active):
            L = P[ax]
            j = np.arange(L)
            d = np.where(j < L - j, j, j - L).astype(float) * self.grid.step[c]
            shape = [1] * len(P)
            shape[ax] = L
            X[c] = np.broadcast_to(d.reshape(shape), P)
        r2 = sum(np.asarray(x) ** 2 for x in X) + np.zeros(P)
        zero = r2 == 0
        r2[zero] = 1.0
        r = np.sqrt(r2)
        inv_r = 1.0 / r
        phase = np.exp(1j * self.k * r)
        phase[zero] = 0.0  # every radial function vanishes at the origin: no self term
        return X, inv_r, phase

    def _kernels(self, which: str) -> dict:
        key = self._key + (which,)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        k = self.k
        X, inv_r, phase = self._coordinates()
        co = _radial_coefficients(k)
        raw = {}
        B = _evaluate(co["B"], phase, inv_r) / k
        C = _evaluate(co["C"], phase, inv_r) / k
        if which == "field":
            A = _evaluate(co["A"], phase, inv_r) / k
            for n, (a, b) in enumerate(_PAIRS):
                raw[("g", n)] = B * (X[a] * X[b]) + (A if a == b else 0.0)
            for m in range(3):
                raw[("cx", m)] = C * X[m]
        else:
            DA = _evaluate(_D(co["A"], k), phase, inv_r) / k
            DB = _evaluate(_D(co["B"], k), phase, inv_r) / k
            DC = _evaluate(_D(co["C"], k), phase, inv_r) / k
            for a in range(3):
                for n, (i, c) in enumerate(_PAIRS):
                    t = DB * (X[a] * X[i] * X[c])
                    if i == c:
                        t = t + DA * X[a]
                    if a == i:
                        t = t + B * X[c]
                    if a == c:
                        t = t + B * X[i]
                    raw[("dg", a, n)] = t
            for n, (a, m) in enumerate(_PAIRS):
                raw[("dgx", n)] = -(DC * (X[a] * X[m]) + (C if a == m else 0.0))
        hats = {}
        for name, arr in raw.items():
            arr = np.broadcast_to(arr, self._pshape)
            if not np.any(arr):
                continue  # vanishes on this grid (e.g. odd in x_z for a planar lattice)
            hats[name] = sfft.fftn(np.array(arr, complex), axes=tuple(range(len(self._pshape))), workers=WORKERS)
        _CACHE[key] = hats
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return hats

    @property
    def nbytes(self) -> int:
        """Bytes held by the kernel FFTs of this geometry."""
        total = sum(a.nbytes for a in self._field.values())
        return total + (sum(a.nbytes for a in self._grad.values()) if self._grad is not None else 0)

    # ------------------------------------------------------------------ convolution engine
    def _forward(self, S: np.ndarray) -> np.ndarray:
        """Sources (ns, N) at the particles -> FFT of their zero-padded grid images (ns, *P)."""
        G = np.zeros((S.shape[0],) + self._pshape, complex)
        G[(slice(None),) + self._gather] = S
        return sfft.fftn(G, axes=self._axes, workers=WORKERS, overwrite_x=True)

    def _convolve(self, Shat: np.ndarray, rows: list) -> np.ndarray:
        """``rows[o] = [(sign, kernel_hat, source_index), ...]`` -> outputs (len(rows), N) at the particles."""
        out = np.zeros((len(rows),) + self._pshape, complex)
        tmp = np.empty(self._pshape, complex)
        for o, terms in enumerate(rows):
            acc = out[o]
            for sign, K, s in terms:
                np.multiply(K, Shat[s], out=tmp)
                if sign > 0:
                    acc += tmp
                else:
                    acc -= tmp
        out = sfft.ifftn(out, axes=self._axes, workers=WORKERS, overwrite_x=True)
        return out[(slice(None),) + self._gather]

    def _g_terms(self, i: int, base: int, sign: float = 1.0) -> list:
        """Terms of ``(g s)_i`` with the source components at ``base + c``."""
        f = self._field
        return [(sign, f[("g", _PAIR_ID[(i, c)])], base + c) for c in range(3) if ("g", _PAIR_ID[(i, c)]) in f]

    def _gx_terms(self, i: int, base: int, sign: float = 1.0) -> list:
        """Terms of ``(gx s)_i``: ``gx_ij = -C x_m`` for cyclic (i, j, m), ``+C x_m`` reversed."""
        f = self._field
        out = []
        for a, b, s_, m in _gx_terms():
            if a == i and ("cx", m) in f:
                out.append((-s_ * sign, f[("cx", m)], base + b))
        return out

    # ------------------------------------------------------------------ interface
    def apply_g(self, V: np.ndarray) -> np.ndarray:
        """``g`` applied to ``V`` (N, 3, R) -> (N, 3, R)."""
        N, _, R = V.shape
        Shat = self._forward(V.transpose(1, 2, 0).reshape(3 * R, N))  # source index c * R + r
        rows = [[(s, K, c * R + r) for s, K, c in self._g_terms(i, 0)] for i in range(3) for r in range(R)]
        return self._convolve(Shat, rows).reshape(3, R, N).transpose(2, 0, 1)

    def apply_gx(self, V: np.ndarray) -> np.ndarray:
        """``gx`` (``v -> C x cross v``) applied to ``V`` (N, 3, R) -> (N, 3, R)."""
        N, _, R = V.shape
        Shat = self._forward(V.transpose(1, 2, 0).reshape(3 * R, N))
        rows = [[(s, K, c * R + r) for s, K, c in self._gx_terms(i, 0)] for i in range(3) for r in range(R)]
        return self._convolve(Shat, rows).reshape(3, R, N).transpose(2, 0, 1)

    def scatter(self, u: np.ndarray) -> np.ndarray:
        """``W chi u`` (6N,) with one forward FFT per source component and one inverse per output."""
        ve, vh = self.polarize(u)
        if self.has_magnetic:
            Shat = self._forward(np.concatenate([ve.T, vh.T]))  # sources 0-2 electric, 3-5 magnetic
            rows = ([self._g_terms(i, 0) + self._gx_terms(i, 3, -1.0) for i in range(3)]
                    + [self._gx_terms(i, 0) + self._g_terms(i, 3) for i in range(3)])
        else:
            Shat = self._forward(ve.T)
            rows = [self._g_terms(i, 0) for i in range(3)] + [self._gx_terms(i, 0) for i in range(3)]
        out = self._convolve(Shat, rows)  # (6, N)
        return np.concatenate([out[:3].T.ravel(), out[3:].T.ravel()])

    def scattered_field_gradients(self, ve: np.ndarray, vh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(dE, dZH)`` (N, 3, 3), ``[n, a, i] = d_a`` of the field scattered at particle n by the others'
        normalized dipoles ``ve, vh`` (N, 3) complex (see :mod:`cdsolve.scattering.operators`)."""
        if self._grad is None:
            self._grad = self._kernels("grad")
        gk = self._grad
        magnetic = bool(np.any(vh))
        Shat = self._forward(np.concatenate([ve.T, vh.T]) if magnetic else ve.T)

        def dg(a, i, base, sign=1.0):
            return [(sign, gk[("dg", a, _PAIR_ID[(i, c)])], base + c) for c in range(3)
                    if ("dg", a, _PAIR_ID[(i, c)]) in gk]

        def dgx(a, i, base, sign=1.0):
            out = []
            for p, q, s_, m in _gx_terms():  # d_a gx_pq = s_ * T[a, m], T = -(DC x_a x_m + C delta_am)
                key = ("dgx", _PAIR_ID[(a, m)])
                if p == i and key in gk:
                    out.append((s_ * sign, gk[key], base + q))
            return out

        N = self.N
        dE = np.empty((N, 3, 3), complex)
        dZH = np.empty((N, 3, 3), complex)
        for a in range(3):  # one direction at a time bounds the work arrays to 6 padded grids
            rows = ([dg(a, i, 0) + (dgx(a, i, 3, -1.0) if magnetic else []) for i in range(3)]
                    + [dgx(a, i, 0) + (dg(a, i, 3) if magnetic else []) for i in range(3)])
            out = self._convolve(Shat, rows)
            dE[:, a, :] = out[:3].T
            dZH[:, a, :] = out[3:].T
        return dE, dZH
