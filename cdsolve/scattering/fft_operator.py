"""FFT backend: the coupled-dipole operator of particles on a regular grid as zero-padded convolutions.

For particles on the nodes of a rectangular grid (:func:`cdsolve.scattering.operators.detect_grid`:
square, rectangular, triangular, honeycomb lattices, chains, 3-D lattices; vacancies and empty nodes get
zero polarizability), the propagators depend only on the node offset, so ``g``, ``gx`` and their first
derivatives are (block) Toeplitz on the grid. Each is applied as a circular convolution on a grid padded
to an even number ``L >= 2 n - 1`` of nodes per axis (a fast FFT length), which equals the linear
convolution on the occupied part: cost O(M log M) for M padded nodes instead of O(N^2), memory O(M).

Kernels (scalar fields on the padded grid, value 0 at the zero offset: the self term is excluded), with
``x = r_target - r_source`` and the radial functions of :mod:`cdsolve.optics.green` (divided by k):

* ``g_ab = A delta_ab + B x_a x_b`` (6 symmetric components),
* ``gx``: ``(gx v)_i = C (x cross v)_i``, i.e. ``gx_ij = -C x_m`` for cyclic ``(i, j, m)`` (3),
* ``d_a g_ic = DA x_a delta_ic + DB x_a x_i x_c + B (delta_ai x_c + delta_ac x_i)`` (18),
* ``d_a gx_ij = -(DC x_a x_m + C delta_am)`` for cyclic ``(i, j, m)`` (6 symmetric in ``a, m``).

Kernels that vanish identically on the grid (an odd power of a coordinate that is zero, e.g. ``x_z`` for a
planar lattice) are skipped. Every kernel is even or odd in each coordinate (the parity of its monomial),
so its FFT follows from one quadrant/octant: a DCT-I (even) or DST-I (odd) per axis of the ``L/2 + 1``
non-negative offsets, then mirrored (that is why ``L`` is even; the offset ``L/2`` never occurs between
two occupied nodes, since ``L/2 >= n``); the radial functions are evaluated on that quadrant only. The
kernel FFTs are computed once per (padded grid shape, steps, k) and cached (the last ``CACHE_SIZE``
geometries) for all right-hand sides, GMRES iterations and force evaluations; the derivative kernels
only when gradients are first asked for.

Products: the source FFTs are pruned (the zero padding is transformed axis by axis, only over the rows
that hold sources) and so are the inverse FFTs (only the rows that hold particles are kept); the kernel
products of all outputs are fused per block of ``BLOCK`` grid nodes (cache-resident work arrays, one
pass over the kernels and sources, no full-size temporaries; a second thread did not help: the products
are memory-bound on this 2-core machine). FFTs use ``scipy.fft`` with ``workers=WORKERS``. Electric-only
scenes skip the magnetic source channels.
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
#: grid nodes per block of the fused kernel products (two complex work arrays of 256 KiB, cache-resident)
BLOCK = 16384
_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
_PAIR_ID = {p: n for n, p in enumerate(_PAIRS)} | {p[::-1]: n for n, p in enumerate(_PAIRS)}
_CYCLIC = ((1, 2, 0), (2, 0, 1), (0, 1, 2))  # (i, j, m): gx_ij = -C x_m, gx_ji = +C x_m
_CACHE: OrderedDict = OrderedDict()


def clear_kernel_cache() -> None:
    """Drop every cached kernel FFT."""
    _CACHE.clear()


def _even_fast_len(m: int) -> int:
    """Smallest even ``scipy.fft`` fast length >= ``m``."""
    L = sfft.next_fast_len(m)
    while L % 2:
        L = sfft.next_fast_len(L + 1)
    return L


def padded_shape(shape) -> tuple:
    """FFT grid (active axes only: those with more than one node) for a grid of ``shape`` nodes: per axis
    the smallest even fast length ``>= 2 n - 1`` (even: the kernels' mirror symmetry is about ``L/2``)."""
    return tuple(_even_fast_len(2 * int(n) - 1) for n in shape if int(n) > 1)


def _parity(indices, active) -> tuple | None:
    """Parity (0 even, 1 odd) per active axis of a kernel with monomial ``prod x_c for c in indices``, or
    None when the kernel vanishes on the grid (odd in a coordinate that is zero: an inactive axis)."""
    odd = [indices.count(c) % 2 for c in range(3)]
    if any(odd[c] for c in range(3) if c not in active):
        return None
    return tuple(odd[c] for c in active)


def _hat_from_quadrant(Q: np.ndarray, parity: tuple) -> np.ndarray:
    """FFT over the full padded grid of a kernel that is even/odd (``parity``) about 0 and ``L/2`` on each
    axis, from its values ``Q`` at the offsets ``0..L/2`` (shape ``L/2 + 1`` per axis): a DCT-I (even) or
    DST-I (odd, the values at 0 and ``L/2`` are then taken as 0) per axis, mirrored to ``L`` nodes."""
    for ax, odd in enumerate(parity):
        H = Q.shape[ax] - 1
        if not odd:
            Q = sfft.dct(Q, type=1, axis=ax, workers=WORKERS)
        else:
            inner = [slice(None)] * Q.ndim
            inner[ax] = slice(1, H)
            T = sfft.dst(Q[tuple(inner)], type=1, axis=ax, workers=WORKERS)
            Q = np.zeros(Q.shape, complex)
            Q[tuple(inner)] = T
            Q *= -1j
    H = [h - 1 for h in Q.shape]
    full = np.empty(tuple(2 * h for h in H), complex)
    full[tuple(slice(0, h + 1) for h in H)] = Q
    for ax in reversed(range(len(H))):  # mirror the part filled so far: offsets L - q for q = H-1 .. 1
        odd = parity[ax]  # (last axis first: the reversed strided copy on a quadrant, whole rows after)
        done = [slice(0, h + 1) for h in H[:ax]] + [slice(None)] * (len(H) - ax)
        dst, src = list(done), list(done)
        dst[ax], src[ax] = slice(H[ax] + 1, None), slice(H[ax] - 1, 0, -1)
        if odd:
            np.negative(full[tuple(src)], out=full[tuple(dst)])
        else:
            full[tuple(dst)] = full[tuple(src)]
    return full


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
        self._diag_e = self._diagonal(chi_e)
        self._diag_m = self._diagonal(chi_m)
        self.grid = detect_grid(self.positions) if grid is None else grid
        active = [c for c in range(3) if self.grid.shape[c] > 1]
        self._active = active
        self._pshape = padded_shape(self.grid.shape)
        self._nshape = tuple(int(self.grid.shape[c]) for c in active)
        self._axes = tuple(range(1, len(active) + 1))
        self._gather = tuple(self.grid.index[:, c] for c in active)
        steps = tuple(float(self.grid.step[c]) for c in active)
        self._key = (self._pshape, tuple(active), steps, self.k)
        self._field = self._kernels("field")
        self._grad = None

    # ------------------------------------------------------------------ kernels
    def _quadrant(self):
        """Separations ``x_c`` at the non-negative offsets ``0..L/2`` of each active axis (0.0 on inactive
        axes; broadcastable arrays), ``inv_r`` and ``phase`` on that quadrant (phase 0 at the origin)."""
        H = [L // 2 for L in self._pshape]
        nd = len(H)
        X = [0.0, 0.0, 0.0]
        r2 = np.zeros([h + 1 for h in H])
        for ax, c in enumerate(self._active):
            shape = [1] * nd
            shape[ax] = H[ax] + 1
            X[c] = (np.arange(H[ax] + 1) * float(self.grid.step[c])).reshape(shape)
            r2 = r2 + X[c] ** 2
        origin = (0,) * nd
        r2[origin] = 1.0
        inv_r = 1.0 / np.sqrt(r2)
        phase = np.exp(1j * self.k * np.sqrt(r2))
        phase[origin] = 0.0  # every radial function vanishes at the origin: no self term
        return X, inv_r, phase

    def _kernels(self, which: str) -> dict:
        key = self._key + (which,)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        k = self.k
        X, inv_r, phase = self._quadrant()
        co = _radial_coefficients(k)
        act = self._active
        radial = {}

        def rad(name):  # radial function on the quadrant, / k (computed once per build)
            if name not in radial:
                c = co[name] if len(name) == 1 else _D(co[name[1]], k)
                radial[name] = _evaluate(c, phase, inv_r) / k
            return radial[name]

        specs = {}  # name -> (parity, builder)
        if which == "field":
            for n, (a, b) in enumerate(_PAIRS):
                specs[("g", n)] = (_parity((a, b), act),
                                   lambda a=a, b=b: rad("B") * (X[a] * X[b]) + (rad("A") if a == b else 0.0))
            for m in range(3):
                specs[("cx", m)] = (_parity((m,), act), lambda m=m: rad("C") * X[m])
        else:
            for a in range(3):
                for n, (i, c) in enumerate(_PAIRS):
                    def dg(a=a, i=i, c=c):
                        t = rad("DB") * (X[a] * X[i] * X[c])
                        if i == c:
                            t = t + rad("DA") * X[a]
                        if a == i:
                            t = t + rad("B") * X[c]
                        if a == c:
                            t = t + rad("B") * X[i]
                        return t
                    specs[("dg", a, n)] = (_parity((a, i, c), act), dg)
            for n, (a, m) in enumerate(_PAIRS):
                specs[("dgx", n)] = (_parity((a, m), act),
                                     lambda a=a, m=m: -(rad("DC") * (X[a] * X[m]) + (rad("C") if a == m else 0.0)))
        hats = {}
        qshape = inv_r.shape
        for name, (parity, build) in specs.items():
            if parity is None:
                continue  # odd in a coordinate that is zero on this grid: vanishes
            Q = np.broadcast_to(build(), qshape)
            if not np.any(Q):
                continue
            hats[name] = _hat_from_quadrant(np.array(Q, complex), parity)
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
    @staticmethod
    def _diagonal(chi: np.ndarray) -> np.ndarray | None:
        """``chi`` (N, 3, 3) -> its diagonal (N, 3) when every off-diagonal entry is zero, else None."""
        chi = np.asarray(chi)
        d = np.einsum("nii->ni", chi)
        off = chi.copy()
        off[:, (0, 1, 2), (0, 1, 2)] = 0
        return None if np.any(off) else np.ascontiguousarray(d)

    def polarize(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(chi_e E, chi_m ZH)`` as two (N, 3) arrays from a field-major vector ``u`` (6N,) (diagonal
        polarizabilities as an elementwise product, the same numbers as the general tensor product)."""
        if self._diag_e is None or self._diag_m is None:
            return super().polarize(u)
        N = self.N
        return u[: 3 * N].reshape(N, 3) * self._diag_e, u[3 * N :].reshape(N, 3) * self._diag_m

    def _forward(self, S: np.ndarray) -> np.ndarray:
        """Sources (ns, N) at the particles -> FFT of their zero-padded grid images (ns, *P).

        Pruned: the occupied box is transformed along the last axis first (padded to its length), and each
        further axis only over the rows already padded, so the all-zero rows are never transformed twice.
        """
        nd = len(self._pshape)
        shape = (S.shape[0],) + self._nshape[:-1] + self._pshape[-1:]
        G = np.zeros(shape, complex)  # occupied box, last axis already padded
        G[(slice(None),) + self._gather] = S
        G = sfft.fft(G, axis=nd, workers=WORKERS, overwrite_x=True)
        for ax in reversed(range(nd - 1)):
            shape = shape[: ax + 1] + (self._pshape[ax],) + shape[ax + 2 :]
            P = np.zeros(shape, complex)
            box = [slice(None)] * (nd + 1)
            box[ax + 1] = slice(0, self._nshape[ax])
            P[tuple(box)] = G
            G = sfft.fft(P, axis=ax + 1, workers=WORKERS, overwrite_x=True)
        return G

    def _inverse(self, out: np.ndarray) -> np.ndarray:
        """Inverse FFT of (no, *P) -> values at the particles (no, N): pruned, each axis transformed only over
        the rows that hold particles (the last axis first, then the box of occupied nodes is kept)."""
        nd = len(self._pshape)
        for ax in reversed(range(nd)):
            out = sfft.ifft(out, axis=ax + 1, workers=WORKERS, overwrite_x=True)
            keep = [slice(None)] * (nd + 1)
            keep[ax + 1] = slice(0, self._nshape[ax])
            out = out[tuple(keep)]
        return out[(slice(None),) + self._gather]

    def _convolve(self, Shat: np.ndarray, rows: list, R: int = 1) -> np.ndarray:
        """``rows[o] = [(sign, kernel_hat, s), ...]`` -> outputs (len(rows) * R, N) at the particles.

        ``Shat`` (ns * R, *P): source ``s`` of column r at ``s * R + r``; output o of column r at ``o * R + r``.
        Each output ``sum sign * kernel_hat * Shat[s]`` is accumulated per block of nodes in a cache-resident
        work array (one read of every kernel and source, one write of the output); every term is one product
        over all R columns, so the Python work does not grow with R.
        """
        M = int(np.prod(self._pshape))
        Sf = Shat.reshape(-1, R, M)
        plan = [sorted([(sign, K.reshape(M), src) for sign, K, src in terms], key=lambda t: -t[0]) for terms in rows]
        out = np.empty((len(rows), R, M), complex)
        step = max(1, BLOCK // R)
        tmp = np.empty((R, min(step, M)), complex)
        for b0 in range(0, M, step):
            b1 = min(M, b0 + step)
            t = tmp[:, : b1 - b0]
            for o, terms in enumerate(plan):
                acc = out[o, :, b0:b1]
                if not terms:
                    acc[...] = 0.0
                    continue
                sign, K, src = terms[0]
                np.multiply(K[b0:b1], Sf[src, :, b0:b1], out=acc)
                if sign < 0:
                    np.negative(acc, out=acc)
                for sign, K, src in terms[1:]:
                    np.multiply(K[b0:b1], Sf[src, :, b0:b1], out=t)
                    (np.add if sign > 0 else np.subtract)(acc, t, out=acc)
        return self._inverse(out.reshape((len(rows) * R,) + self._pshape))

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
        rows = [self._g_terms(i, 0) for i in range(3)]
        return self._convolve(Shat, rows, R).reshape(3, R, N).transpose(2, 0, 1)

    def apply_gx(self, V: np.ndarray) -> np.ndarray:
        """``gx`` (``v -> C x cross v``) applied to ``V`` (N, 3, R) -> (N, 3, R)."""
        N, _, R = V.shape
        Shat = self._forward(V.transpose(1, 2, 0).reshape(3 * R, N))
        rows = [self._gx_terms(i, 0) for i in range(3)]
        return self._convolve(Shat, rows, R).reshape(3, R, N).transpose(2, 0, 1)

    def scatter_many(self, U: np.ndarray, need_h: bool = True) -> np.ndarray:
        """``W chi U`` for field-major columns ``U`` (6N, R) -> (6N, R): one forward FFT per source component
        and column, one inverse per output (``E = g ve - gx vh``, ``ZH = gx ve + g vh``). ``need_h=False``
        with no magnetic particle: the ZH rows are returned as zeros (see
        :func:`cdsolve.scattering.multi_rhs.apply_w_chi`)."""
        N, R = self.N, U.shape[1]
        e = U[: 3 * N].reshape(N, 3, R)
        ve = e * self._diag_e[:, :, None] if self._diag_e is not None else np.einsum("nij,njr->nir", self.chi_e, e)
        if self.has_magnetic:
            h = U[3 * N :].reshape(N, 3, R)
            vh = h * self._diag_m[:, :, None] if self._diag_m is not None else np.einsum("nij,njr->nir", self.chi_m, h)
            Shat = self._forward(np.concatenate([ve, vh], axis=1).transpose(1, 2, 0).reshape(6 * R, N))
            rows = ([self._g_terms(i, 0) + self._gx_terms(i, 3, -1.0) for i in range(3)]
                    + [self._gx_terms(i, 0) + self._g_terms(i, 3) for i in range(3)])
        else:
            Shat = self._forward(ve.transpose(1, 2, 0).reshape(3 * R, N))
            rows = [self._g_terms(i, 0) for i in range(3)] + ([self._gx_terms(i, 0) for i in range(3)] if need_h else [])
        out = self._convolve(Shat, rows, R).reshape(len(rows), R, N)
        res = np.zeros((2, N, 3, R), complex)
        res[0] = out[:3].transpose(2, 0, 1)
        if len(rows) == 6:
            res[1] = out[3:].transpose(2, 0, 1)
        return res.reshape(6 * N, R)

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
