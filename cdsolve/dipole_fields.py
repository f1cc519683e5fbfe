"""Fields (and field gradients) radiated by sets of electric and magnetic point dipoles.

These kernels contract the Green tensors of :mod:`cdsolve.green` with the dipoles on the fly,
so a pair costs a few scalar operations instead of a 27-element tensor: with
``x = r_obs - r_src``, ``G p = A p + B x (x.p)`` and ``Gx m = C x x m``, and the gradients

* ``d_a (G p)_i = x_a DA p_i + x_a x_i (x.p) DB + B (delta_ai (x.p) + x_i p_a)``
* ``d_a (Gx m)_i = x_a DC (x x m)_i + C (e_a x m)_i``.

A source coinciding with a target is skipped when ``exclude_self=True`` (the self-field is the
radiative correction already inside the polarizability). Work is chunked over targets so memory
stays bounded (about ``chunk_pairs`` pairs at a time).
"""

from __future__ import annotations

import numpy as np

from .conventions import C0, EPS0, Z0
from .green import LEVI_CIVITA, _D, _evaluate, _radial_coefficients

__all__ = ["dipole_fields"]


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
    chunk_pairs: int = 1 << 18,
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

    Returns
    -------
    E : (M, 3) complex [V/m]
    H : (M, 3) complex [A/m]
    dE, dH : (M, 3, 3) complex [V/m^2], [A/m^2]  (only with ``gradient=True``)
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

    E = np.zeros((M, 3), complex)
    H = np.zeros((M, 3), complex)
    if gradient:
        dE = np.zeros((M, 3, 3), complex)
        dH = np.zeros((M, 3, 3), complex)
    rows = max(1, chunk_pairs // max(N, 1))
    for t0 in range(0, M, rows):
        sl = slice(t0, min(M, t0 + rows))
        x = targets[sl, None, :] - sources[None, :, :]  # (t, N, 3)
        dist = np.sqrt(np.einsum("tni,tni->tn", x, x))
        zero = dist == 0
        if np.any(zero) and not exclude_self:
            raise ValueError("a target coincides with a source dipole")
        dist = np.where(zero, 1.0, dist)
        inv_r = 1.0 / dist
        phase = np.where(zero, 0.0, np.exp(1j * k * dist))  # zero phase kills the self pair
        A = _evaluate(co["A"], phase, inv_r)
        B = _evaluate(co["B"], phase, inv_r)
        C = _evaluate(co["C"], phase, inv_r)
        # electric-type sources s_e drive G, cross sources drive Gx:
        # E = (k^2/eps) G p - Z k^2 Gx m ;  H = k^2 G m + c_m k^2 Gx p
        for src_G, src_X, pref_G, pref_X, out, dout in (
            (p, m, k2 / eps, -Z * k2, E, dE if gradient else None),
            (m, p, k2, c_m * k2, H, dH if gradient else None),
        ):
            xs = np.einsum("tni,ni->tn", x, src_G)  # x . s
            Gs = A[..., None] * src_G[None] + (B * xs)[..., None] * x
            xX = np.cross(x, src_X[None, :, :])  # x cross s
            Xs = C[..., None] * xX
            out[sl] += pref_G * Gs.sum(axis=1) + pref_X * Xs.sum(axis=1)
            if gradient:
                DA = _evaluate(DA_c, phase, inv_r)
                DB = _evaluate(DB_c, phase, inv_r)
                DC = _evaluate(DC_c, phase, inv_r)
                # d_a (G s)_i
                dGs = np.einsum("tna,tni->tai", x, DA[..., None] * src_G[None] + (DB * xs)[..., None] * x)
                Bxs = (B * xs).sum(axis=1)  # delta_ai (x.s) B
                dGs += Bxs[:, None, None] * np.eye(3)
                dGs += np.einsum("tn,tni,na->tai", B, x, src_G)
                # d_a (Gx s)_i = x_a DC (x x s)_i + C eps_iaj s_j
                dXs = np.einsum("tna,tni->tai", x, DC[..., None] * xX)
                Cs = np.einsum("tn,nj->tj", C, src_X)
                dXs += np.einsum("iaj,tj->tai", LEVI_CIVITA, Cs)
                dout[sl] += pref_G * dGs + pref_X * dXs
    if gradient:
        return E, H, dE, dH
    return E, H
