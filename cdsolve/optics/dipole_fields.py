"""Fields (and field gradients) radiated by sets of electric and magnetic point dipoles.

With ``x = r_obs - r_src`` and the radial functions of :mod:`cdsolve.optics.green`,

* ``(G s)_i = A s_i + B x_i (x.s)``,  ``(Gx q)_i = C (x cross q)_i``,
* ``d_a (G s)_i = x_a DA s_i + x_a x_i (x.s) DB + B (delta_ai (x.s) + x_i s_a)``,
* ``d_a (Gx q)_i = x_a DC (x cross q)_i + C eps_iaj q_j``.

Every term is a geometric "moment" (a radial function times a monomial in the components of x,
one (targets x sources) array each) contracted with one Cartesian component of a source. All
moments are stacked and contracted with the electric and magnetic dipoles in a single BLAS
product, so the pair work is shared between the E and H channels and between p and m.

A source coinciding with a target is skipped when ``exclude_self=True`` (the self-field is the
radiative correction already inside the polarizability). Work is chunked over targets so memory
stays bounded (about ``chunk_pairs`` pairs at a time).
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np

from .conventions import C0, EPS0, Z0
from .green import LEVI_CIVITA, _D, _evaluate, _radial_coefficients, pair_geometry

__all__ = ["dipole_fields"]

_PAIRS = list(combinations_with_replacement(range(3), 2))  # 6 symmetric index pairs
_TRIPLES = list(combinations_with_replacement(range(3), 3))  # 10 symmetric triples
_PAIR_ID = {}
for _n, _p in enumerate(_PAIRS):
    _PAIR_ID[_p] = _PAIR_ID[_p[::-1]] = _n
_TRIPLE_ID = {}
for _n, _t in enumerate(_TRIPLES):
    for _perm in {(_t[0], _t[1], _t[2]), (_t[0], _t[2], _t[1]), (_t[1], _t[0], _t[2]),
                  (_t[1], _t[2], _t[0]), (_t[2], _t[0], _t[1]), (_t[2], _t[1], _t[0])}:
        _TRIPLE_ID[_perm] = _n


def dipole_fields(
    targets: np.ndarray,
    sources: np.ndarray,
    p: np.ndarray,
    m: np.ndarray,
    k: float,
    n_medium: float,
    *,
    gradient: bool = False,
    exclude_self: bool = True,
    fields: bool = True,
    chunk_pairs: int = 1 << 16,
):
    """Total field radiated by point dipoles at ``targets``.

    Parameters
    ----------
    targets : (M, 3) float [m]
        Observation points.
    sources : (N, 3) float [m]
        Dipole positions.
    p : (N, 3) complex [C m]
        Electric dipoles.
    m : (N, 3) complex [A m^2]
        Magnetic dipoles.
    k : float [1/m]
        Host wavenumber.
    n_medium : float
        Host index.
    gradient : bool
        Also return the gradients ``dE[t, a, i] = d E_i / d r_a`` at the targets.
    exclude_self : bool
        Skip source-target pairs at zero distance (otherwise they raise).
    fields : bool
        Return the fields (set False to get only the gradients).

    Returns
    -------
    E : (M, 3) complex [V/m]
    H : (M, 3) complex [A/m]
    dE, dH : (M, 3, 3) complex [V/m^2], [A/m^2]  (only with ``gradient=True``)

    Only the requested parts are returned, in the order ``E, H, dE, dH``.
    """
    targets = np.asarray(targets, dtype=float).reshape(-1, 3)
    sources = np.asarray(sources, dtype=float).reshape(-1, 3)
    p = np.asarray(p, dtype=complex).reshape(-1, 3)
    m = np.asarray(m, dtype=complex).reshape(-1, 3)
    M, N = len(targets), len(sources)
    eps = EPS0 * n_medium**2
    Z = Z0 / n_medium
    c_m = C0 / n_medium
    k2 = k * k
    co = _radial_coefficients(k)
    DA_c, DB_c, DC_c = _D(co["A"], k), _D(co["B"], k), _D(co["C"], k)
    S = np.concatenate([p, m], axis=1)  # (N, 6): columns 0-2 electric, 3-5 magnetic
    # channel -> (G source columns, Gx source columns, G prefactor, Gx prefactor):
    # E = (k^2/eps) G p - Z k^2 Gx m ;  H = k^2 G m + c_m k^2 Gx p
    channels = ((0, 3, k2 / eps, -Z * k2), (3, 0, k2, c_m * k2))

    E = np.zeros((M, 3), complex)
    H = np.zeros((M, 3), complex)
    dE = np.zeros((M, 3, 3), complex)
    dH = np.zeros((M, 3, 3), complex)
    rows = max(1, chunk_pairs // max(N, 1))
    for t0 in range(0, M, rows):
        sl = slice(t0, min(M, t0 + rows))
        X, inv_r, phase = pair_geometry(targets[sl], sources, k, exclude_self)
        t = sl.stop - sl.start
        XX = [X[a] * X[b] for a, b in _PAIRS]
        B = _evaluate(co["B"], phase, inv_r)
        C = _evaluate(co["C"], phase, inv_r)
        # moments are written straight into one buffer (no stacking copy): (n_moments, t, N)
        buf = np.empty(((10 if fields else 0) + (23 if gradient else 0), t, N), complex)
        slot = iter(range(len(buf)))
        if fields:
            i_A = next(slot)
            buf[i_A] = _evaluate(co["A"], phase, inv_r)
            i_BXX = i_A + 1
            for xx in XX:
                np.multiply(B, xx, out=buf[next(slot)])
            i_CX = i_BXX + 6
            for c in range(3):
                np.multiply(C, X[c], out=buf[next(slot)])
        if gradient:
            DA = _evaluate(DA_c, phase, inv_r)
            DB = _evaluate(DB_c, phase, inv_r)
            DC = _evaluate(DC_c, phase, inv_r)
            i_DAX = next(slot)
            np.multiply(DA, X[0], out=buf[i_DAX])
            for a in (1, 2):
                np.multiply(DA, X[a], out=buf[next(slot)])
            i_DBXXX = i_DAX + 3
            for a, b, c in _TRIPLES:
                np.multiply(DB, XX[_PAIR_ID[(a, b)]] * X[c], out=buf[next(slot)])
            i_BX = i_DBXXX + 10
            for c in range(3):
                np.multiply(B, X[c], out=buf[next(slot)])
            i_DCXX = i_BX + 3
            for xx in XX:
                np.multiply(DC, xx, out=buf[next(slot)])
            i_C = i_DCXX + 6
            buf[next(slot)] = C
        nm = len(buf)
        R = (buf.reshape(nm * t, N) @ S).reshape(nm, t, 6)
        del buf
        for f, (g0, x0, pref_G, pref_X) in enumerate(channels):
            if fields:
                out = E if f == 0 else H
                G = R[i_A, :, g0 : g0 + 3].copy()  # A s_i
                Xq = np.zeros((t, 3), complex)
                for i in range(3):
                    for c in range(3):
                        G[:, i] += R[i_BXX + _PAIR_ID[(i, c)], :, g0 + c]  # B x_i x_c s_c
                        for b in range(3):
                            if LEVI_CIVITA[i, b, c]:
                                Xq[:, i] += LEVI_CIVITA[i, b, c] * R[i_CX + b, :, x0 + c]
                out[sl] += pref_G * G + pref_X * Xq
            if gradient:
                dout = dE if f == 0 else dH
                grad = np.zeros((t, 3, 3), complex)
                trace = sum(R[i_BX + c, :, g0 + c] for c in range(3))  # B (x.s)
                for a in range(3):
                    for i in range(3):
                        g = R[i_DAX + a, :, g0 + i] + R[i_BX + i, :, g0 + a]  # x_a DA s_i + B x_i s_a
                        g = g + sum(R[i_DBXXX + _TRIPLE_ID[(a, i, c)], :, g0 + c] for c in range(3))
                        if a == i:
                            g = g + trace
                        xq = 0.0
                        for b in range(3):
                            for c in range(3):
                                e = LEVI_CIVITA[i, b, c]
                                if e:
                                    xq = xq + e * R[i_DCXX + _PAIR_ID[(a, b)], :, x0 + c]
                        for j in range(3):
                            e = LEVI_CIVITA[i, a, j]
                            if e:
                                xq = xq + e * R[i_C, :, x0 + j]
                        grad[:, a, i] = pref_G * g + pref_X * xq
                dout[sl] += grad
    res = (E, H) if fields else ()
    return res + (dE, dH) if gradient else res
