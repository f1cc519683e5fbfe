"""Dyadic Green tensors of a homogeneous, lossless host and their analytic derivatives.

Conventions (see :mod:`cdsolve.optics.conventions`): a dipole at the origin radiates

* ``E = k^2/(eps0 eps_m) G(r) p`` and ``H = k^2 G(r) m``,
* ``H = c_m k^2 Gx(r) p`` and ``E = -Z k^2 Gx(r) m``,

with ``G(r) = A(r) I + B(r) r r^T`` and ``Gx(r)_ij = C(r) eps_ilj r_l``, where
(``g = exp(ikr)/(4 pi)``, ``r = |r|``)

* ``A = g (1/r + i/(k r^2) - 1/(k^2 r^3))``
* ``B = g (-1/r^3 - 3i/(k r^4) + 3/(k^2 r^5))``
* ``C = g (1/r^2 + i/(k r^3))``.

Each radial function is ``exp(ikr) * sum_n c_n r^-n``; radial derivatives are taken
exactly on these coefficient lists with the operator ``D = (1/r) d/dr``, so that
``d_a f(r) = x_a Df`` and ``d_a d_b f = delta_ab Df + x_a x_b D^2 f``.

All functions are vectorized: separations ``r`` of shape ``(..., 3)`` [m] in, tensors
out with the derivative indices first (``dG[..., a, i, j] = d G_ij / d r_a``).
The separation is ``r = r_observer - r_source``; ``r = 0`` raises (the self term is
not a propagator: it is the radiative correction inside the polarizability).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "green_tensor",
    "green_tensor_gradient",
    "green_tensor_hessian",
    "cross_propagator",
    "cross_propagator_gradient",
    "cross_propagator_hessian",
    "green_tensors",
    "radial_functions",
    "propagator_gradient_applied",
    "propagator_gradient_rows",
    "propagator_hessian_form",
]

# Levi-Civita symbol eps[i, l, j]
LEVI_CIVITA = np.zeros((3, 3, 3))
LEVI_CIVITA[0, 1, 2] = LEVI_CIVITA[1, 2, 0] = LEVI_CIVITA[2, 0, 1] = 1.0
LEVI_CIVITA[0, 2, 1] = LEVI_CIVITA[2, 1, 0] = LEVI_CIVITA[1, 0, 2] = -1.0

_EYE = np.eye(3)


def _radial_coefficients(k: float) -> dict[str, dict[int, complex]]:
    """Coefficients ``{power n: c_n}`` of ``A, B, C`` as ``exp(ikr) sum c_n r^-n`` (incl. 1/4pi)."""
    q = 1.0 / (4.0 * np.pi)
    return {
        "A": {1: q, 2: 1j * q / k, 3: -q / k**2},
        "B": {3: -q, 4: -3j * q / k, 5: 3 * q / k**2},
        "C": {2: q, 3: 1j * q / k},
    }


def _D(coeffs: dict[int, complex], k: float) -> dict[int, complex]:
    """Apply ``D = (1/r) d/dr`` to ``exp(ikr) sum c_n r^-n``."""
    out: dict[int, complex] = {}
    for n, c in coeffs.items():
        out[n + 1] = out.get(n + 1, 0.0) + 1j * k * c
        out[n + 2] = out.get(n + 2, 0.0) - n * c
    return out


def _evaluate(coeffs: dict[int, complex], phase: np.ndarray, inv_r: np.ndarray) -> np.ndarray:
    """Evaluate ``exp(ikr) sum c_n r^-n`` with ``phase = exp(ikr)``, ``inv_r = 1/r`` (Horner in 1/r)."""
    lo, hi = min(coeffs), max(coeffs)
    total = np.full(inv_r.shape, coeffs[hi], dtype=complex)
    for n in range(hi - 1, lo - 1, -1):
        total *= inv_r
        if n in coeffs:
            total += coeffs[n]
    total *= inv_r**lo if lo > 1 else inv_r
    total *= phase
    return total


def pair_geometry(targets: np.ndarray, sources: np.ndarray, k: float, exclude_self: bool = True):
    """Separation components and radial factors for all target-source pairs.

    Returns ``X`` (3, M, N) float [m] with ``X[c] = targets[:, c, None] - sources[None, :, c]``,
    ``inv_r`` (M, N) and ``phase = exp(ikr)`` (M, N), with ``phase = 0`` on coincident pairs
    (so every radial function vanishes there: the self term is excluded).
    """
    X = targets.T[:, :, None] - sources.T[:, None, :]
    r2 = X[0] * X[0] + X[1] * X[1] + X[2] * X[2]
    zero = r2 == 0
    if np.any(zero):
        if not exclude_self:
            raise ValueError("a target coincides with a source dipole")
        r2[zero] = 1.0
    r = np.sqrt(r2)
    inv_r = 1.0 / r
    phase = np.exp(1j * k * r)
    if np.any(zero):
        phase[zero] = 0.0
    return X, inv_r, phase


def _prepare(r: np.ndarray, k: float):
    r = np.asarray(r, dtype=float)
    if r.shape[-1:] != (3,):
        raise ValueError(f"separations must have shape (..., 3), got {r.shape}")
    if not np.isfinite(k) or k <= 0:
        raise ValueError(f"wavenumber k must be finite and > 0, got {k}")
    dist = np.linalg.norm(r, axis=-1)
    if np.any(dist == 0):
        raise ValueError("Green tensor evaluated at zero separation (coincident points)")
    if not np.all(np.isfinite(dist)):
        raise ValueError("separations contain NaN or inf")
    inv_r = 1.0 / dist
    phase = np.exp(1j * k * dist)
    return r, inv_r, phase


def green_tensors(r: np.ndarray, k: float, order: int = 0, cross: bool = True) -> dict[str, np.ndarray]:
    """Electric Green tensor and cross propagator with derivatives up to ``order`` in one pass.

    Parameters
    ----------
    r : (..., 3) float [m]
        Separations ``r_observer - r_source`` (non-zero).
    k : float [1/m]
        Wavenumber in the host medium.
    order : {0, 1, 2}
        Highest derivative order returned.
    cross : bool
        Also return the cross propagator ``Gx`` (and its derivatives).

    Returns
    -------
    dict with keys ``"G"`` (..., 3, 3) [1/m], ``"dG"`` (..., 3, 3, 3) [1/m^2],
    ``"d2G"`` (..., 3, 3, 3, 3) [1/m^3] and the same with ``"Gx"`` (complex).

    Examples
    --------
    >>> import numpy as np
    >>> out = green_tensors(np.array([0.0, 0.0, 1e-6]), k=2 * np.pi / 1e-6, order=1)
    >>> np.allclose(out["G"], out["G"].T)
    True
    """
    if order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order}")
    r, inv_r, phase = _prepare(r, k)
    co = _radial_coefficients(k)
    x = r
    out: dict[str, np.ndarray] = {}

    A = _evaluate(co["A"], phase, inv_r)
    B = _evaluate(co["B"], phase, inv_r)
    xx = x[..., :, None] * x[..., None, :]
    out["G"] = A[..., None, None] * _EYE + B[..., None, None] * xx
    if cross:
        C = _evaluate(co["C"], phase, inv_r)
        xeps = np.einsum("...l,ilj->...ij", x, LEVI_CIVITA)  # eps_ilj x_l
        out["Gx"] = C[..., None, None] * xeps
    if order == 0:
        return out

    DA_c, DB_c = _D(co["A"], k), _D(co["B"], k)
    DA = _evaluate(DA_c, phase, inv_r)
    DB = _evaluate(DB_c, phase, inv_r)
    # dG_aij = x_a DA d_ij + x_a x_i x_j DB + B (d_ai x_j + d_aj x_i)
    d_ai_xj = _EYE[:, :, None] * x[..., None, None, :]
    d_aj_xi = _EYE[:, None, :] * x[..., None, :, None]
    out["dG"] = (
        (x[..., :, None, None] * DA[..., None, None, None]) * _EYE
        + x[..., :, None, None] * xx[..., None, :, :] * DB[..., None, None, None]
        + B[..., None, None, None] * (d_ai_xj + d_aj_xi)
    )
    if cross:
        DC_c = _D(co["C"], k)
        DC = _evaluate(DC_c, phase, inv_r)
        # dGx_aij = x_a DC eps_ilj x_l + C eps_iaj
        out["dGx"] = (
            x[..., :, None, None] * (DC[..., None, None] * xeps)[..., None, :, :]
            + C[..., None, None, None] * np.transpose(LEVI_CIVITA, (1, 0, 2))
        )
    if order == 1:
        return out

    D2A = _evaluate(_D(DA_c, k), phase, inv_r)
    D2B = _evaluate(_D(DB_c, k), phase, inv_r)
    # d_a d_b G_ij = D2B x_a x_b x_i x_j + D2A x_a x_b d_ij + DA d_ab d_ij + B (d_ai d_bj + d_aj d_bi)
    #              + DB (d_ab x_i x_j + d_bi x_a x_j + d_bj x_a x_i + d_ai x_b x_j + d_aj x_b x_i)
    # built as one rank-4 product plus in-place additions on the Kronecker-delta slices
    d2G = (D2B[..., None, None] * xx)[..., :, :, None, None] * xx[..., None, None, :, :]
    DBxx = DB[..., None, None] * xx
    D2Axx = D2A[..., None, None] * xx
    for a in range(3):
        d2G[..., a, a, :, :] += DBxx  # d_ab x_i x_j
        d2G[..., :, a, a, :] += DBxx  # d_bi x_a x_j
        d2G[..., :, a, :, a] += DBxx  # d_bj x_a x_i
        d2G[..., a, :, a, :] += DBxx  # d_ai x_b x_j
        d2G[..., a, :, :, a] += DBxx  # d_aj x_b x_i
        d2G[..., :, :, a, a] += D2Axx  # x_a x_b d_ij
        for b in range(3):
            d2G[..., a, a, b, b] += DA  # d_ab d_ij
            d2G[..., a, b, a, b] += B  # d_ai d_bj
            d2G[..., a, b, b, a] += B  # d_aj d_bi
    out["d2G"] = d2G
    if cross:
        D2C = _evaluate(_D(DC_c, k), phase, inv_r)
        # d_a d_b Gx_ij = (d_ab DC + x_a x_b D2C) eps_ilj x_l + x_a DC eps_ibj + x_b DC eps_iaj
        d2Gx = (D2C[..., None, None] * xx)[..., :, :, None, None] * xeps[..., None, None, :, :]
        DCxeps = DC[..., None, None] * xeps
        DCx = DC[..., None] * x
        for a in range(3):
            d2Gx[..., a, a, :, :] += DCxeps
        for i in range(3):
            for b in range(3):
                for j in range(3):
                    eps = LEVI_CIVITA[i, b, j]
                    if eps:
                        d2Gx[..., :, b, i, j] += eps * DCx  # x_a DC eps_ibj
                        d2Gx[..., b, :, i, j] += eps * DCx  # x_b DC eps_iaj (a <-> b)
        out["d2Gx"] = d2Gx
    return out


def green_tensor(r: np.ndarray, k: float) -> np.ndarray:
    """Electric dyadic Green tensor ``G(r)``, shape (..., 3, 3) complex [1/m].

    Examples
    --------
    >>> import numpy as np
    >>> k = 2 * np.pi / 1e-6
    >>> G = green_tensor(np.array([1e-6, 0.0, 0.0]), k)
    >>> bool(np.allclose(G, green_tensor(np.array([-1e-6, 0.0, 0.0]), k)))
    True
    """
    return green_tensors(r, k, 0, cross=False)["G"]


def green_tensor_gradient(r: np.ndarray, k: float) -> np.ndarray:
    """``dG[..., a, i, j] = d G_ij / d r_a``, shape (..., 3, 3, 3) complex [1/m^2]."""
    return green_tensors(r, k, 1, cross=False)["dG"]


def green_tensor_hessian(r: np.ndarray, k: float) -> np.ndarray:
    """``d2G[..., a, b, i, j] = d^2 G_ij / d r_a d r_b``, shape (..., 3, 3, 3, 3) complex [1/m^3]."""
    return green_tensors(r, k, 2, cross=False)["d2G"]


def cross_propagator(r: np.ndarray, k: float) -> np.ndarray:
    """Electric-magnetic cross propagator ``Gx(r)`` (``Gx v = C(r) r x v``), (..., 3, 3) [1/m]."""
    return green_tensors(r, k, 0)["Gx"]


def cross_propagator_gradient(r: np.ndarray, k: float) -> np.ndarray:
    """``dGx[..., a, i, j] = d Gx_ij / d r_a``, shape (..., 3, 3, 3) complex [1/m^2]."""
    return green_tensors(r, k, 1)["dGx"]


def cross_propagator_hessian(r: np.ndarray, k: float) -> np.ndarray:
    """``d2Gx[..., a, b, i, j]``, shape (..., 3, 3, 3, 3) complex [1/m^3]."""
    return green_tensors(r, k, 2)["d2Gx"]


# --------------------------------------------------------------------------- contracted derivatives
# The force Jacobian needs the derivative tensors only contracted with dipole vectors:
#   d_b (G w)_i,  (u G)_j derivatives  u_i d_a G_ij,  and  u_i d_a d_b G_ij w_j
# (and the same for Gx). With G = A I + B x x^T and Gx_ij = C eps_ilj x_l these contractions are
# short sums of outer products of 3-vectors (derived from the tensor formulas of green_tensors,
# which ``tests/test_green.py`` checks them against), so the rank-3/rank-4 tensors are never formed.
# Layout: component-first arrays; X (3, t, n) separations, u (3, t, 1) row vectors, w (3, 1, n)
# column vectors, radial functions (t, n). Outputs are component-first too, e.g. (3a, 3b, t, n).

def radial_functions(k: float, phase: np.ndarray, inv_r: np.ndarray, names) -> dict[str, np.ndarray]:
    """Radial functions of :func:`green_tensors` by name: ``A B C DA DB DC D2A D2B D2C`` (``D = (1/r) d/dr``)."""
    co = _radial_coefficients(k)
    out = {}
    for name in names:
        if name not in ("A", "B", "C", "DA", "DB", "DC", "D2A", "D2B", "D2C"):
            raise ValueError(f"unknown radial function {name!r}")
        c = co[name[-1]]
        for _ in range(0 if len(name) == 1 else 1 if len(name) == 2 else 2):
            c = _D(c, k)
        out[name] = _evaluate(c, phase, inv_r)
    return out


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component-first cross product of (3, ...) arrays."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def propagator_gradient_applied(X, R, w_e, w_h=None):
    """``d_b (W w)`` for the 6-vector propagator ``W = [[G, -Gx], [Gx, G]]``: (3b, 6, t, n) complex.

    ``w_e``, ``w_h`` (3, 1, n): electric and magnetic parts of the source vectors (``w_h=None``:
    electric only, no Gx needed). Uses ``d_b (G w)_i = x_b (DA w_i + DB (x.w) x_i) + B (x_i w_b +
    delta_bi x.w)`` and ``d_b (Gx w)_i = DC x_b (x cross w)_i + C (e_b cross w)_i``.
    """
    shape = np.broadcast_shapes(X.shape[1:], w_e.shape[1:])
    out = np.zeros((3, 6) + shape, complex)

    def add_g(w, o, sign=1.0):  # out[:, o:o+3] += sign * d_b (G w)_i
        xw = _dot(X, w)
        s = R["DA"] * w + (R["DB"] * xw) * X  # (3i, ...)
        Bxw = R["B"] * xw
        for b in range(3):
            for i in range(3):
                v = X[b] * s[i] + R["B"] * (X[i] * w[b])
                if b == i:
                    v = v + Bxw
                out[b, o + i] += v if sign > 0 else -v

    def add_gx(w, o, sign):  # out[:, o:o+3] += sign * d_b (Gx w)_i
        t = R["DC"] * _cross(X, w)
        Cw = R["C"] * w
        ecw = ((None, -Cw[2], Cw[1]), (Cw[2], None, -Cw[0]), (-Cw[1], Cw[0], None))  # (e_b x w)_i
        for b in range(3):
            for i in range(3):
                v = X[b] * t[i]
                if ecw[b][i] is not None:
                    v = v + ecw[b][i]
                out[b, o + i] += v if sign > 0 else -v

    add_g(w_e, 0)
    if w_h is not None:
        add_gx(w_h, 0, -1.0)
        add_gx(w_e, 3, 1.0)
        add_g(w_h, 3)
    return out


def propagator_gradient_rows(X, R, u_e, u_h=None):
    """``u^T d_a W`` (row vectors) for ``W = [[G, -Gx], [Gx, G]]``: (3a, 6, t, n) complex.

    ``u_e``, ``u_h`` (3, t, 1): electric and magnetic parts of the row vectors (``u_h=None``:
    electric only). ``u_i d_a G_ij = x_a (DA u_j + DB (u.x) x_j) + B (u_a x_j + delta_aj u.x)``,
    ``u_i d_a Gx_ij = DC x_a (u cross x)_j + C (u cross e_a)_j``.
    """
    shape = np.broadcast_shapes(X.shape[1:], u_e.shape[1:])
    out = np.zeros((3, 6) + shape, complex)

    def add_g(u, o):
        ux = _dot(u, X)
        s = R["DA"] * u + (R["DB"] * ux) * X
        Bux = R["B"] * ux
        for a in range(3):
            for j in range(3):
                v = X[a] * s[j] + R["B"] * (u[a] * X[j])
                if a == j:
                    v = v + Bux
                out[a, o + j] += v

    def add_gx(u, o, sign):
        t = R["DC"] * _cross(u, X)
        Cu = R["C"] * u
        uce = ((None, Cu[2], -Cu[1]), (-Cu[2], None, Cu[0]), (Cu[1], -Cu[0], None))  # (u x e_a)_j
        for a in range(3):
            for j in range(3):
                v = X[a] * t[j]
                if uce[a][j] is not None:
                    v = v + uce[a][j]
                out[a, o + j] += v if sign > 0 else -v

    add_g(u_e, 0)
    if u_h is not None:
        add_gx(u_h, 0, 1.0)  # r_e = u_e dG + u_h dGx
        add_gx(u_e, 3, -1.0)  # r_h = -u_e dGx + u_h dG
        add_g(u_h, 3)
    return out


def propagator_hessian_form(X, R, u_e, w_e, u_h=None, w_h=None):
    """``u^T d_a d_b W w`` for ``W = [[G, -Gx], [Gx, G]]``: (3a, 3b, t, n) complex, symmetric in (a, b).

    ``u`` (3, t, 1) rows, ``w`` (3, 1, n) columns; ``u_h = w_h = None``: electric only. Every term
    has the form ``x_a x_b s + x_a V_b + V_a x_b + M_ab + delta_ab d``: from
    ``u d_a d_b G w = D2B x_a x_b (u.x)(x.w) + D2A x_a x_b u.w + DA delta_ab u.w + B (u_a w_b + u_b w_a)
    + DB [delta_ab (u.x)(x.w) + x_a (u_b x.w + w_b u.x) + (u_a x.w + w_a u.x) x_b]`` and
    ``u d_a d_b Gx w = (delta_ab DC + x_a x_b D2C) u.(x cross w) + DC (x_a (w cross u)_b + x_b (w cross u)_a)``.
    """
    g_pairs = [(u_e, w_e)] + ([(u_h, w_h)] if u_h is not None else [])
    gx_pairs = [(-1.0, u_e, w_h), (1.0, u_h, w_e)] if u_h is not None else []
    s = 0.0
    V = 0.0
    d = 0.0
    for u, w in g_pairs:
        ux, xw, uw = _dot(u, X), _dot(X, w), _dot(u, w)
        uxxw = ux * xw
        s = s + R["D2B"] * uxxw + R["D2A"] * uw
        V = V + R["DB"] * (xw * u + ux * w)
        d = d + R["DA"] * uw + R["DB"] * uxxw
    for sign, u, w in gx_pairs:
        t = sign * _dot(u, _cross(X, w))
        s = s + R["D2C"] * t
        V = V + (sign * R["DC"]) * _cross(w, u)
        d = d + R["DC"] * t
    shape = np.broadcast_shapes(X.shape[1:], u_e.shape[1:], w_e.shape[1:])
    out = np.empty((3, 3) + shape, complex)
    for a in range(3):
        for b in range(a, 3):
            v = X[a] * (X[b] * s + V[b]) + V[a] * X[b]
            m = sum(u[a] * w[b] + u[b] * w[a] for u, w in g_pairs)
            v = v + R["B"] * m
            if a == b:
                v = v + d
            out[a, b] = v
            if a != b:
                out[b, a] = v
    return out
