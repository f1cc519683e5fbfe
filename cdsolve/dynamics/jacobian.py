"""Analytic Jacobian of the optical forces with respect to all particle positions.

Notation (see :mod:`cdsolve.scattering.solver`): normalized local fields ``u_i = (E_i, Z H_i)`` (6-vectors),
normalized dipoles ``v_i = chi_i u_i`` and the pair propagator ``W_il`` with
``u_i = u_inc(r_i) + sum_{l != i} W(r_i - r_l) v_l``. The force on particle i is

    F_i,a = c0 Re[v_i^H d_a u_i] - kappa' Re[v_e,i x v_h,i^*]_a,   c0 = eps/(2 k^3),

(electric, magnetic and e-m interference terms of :mod:`cdsolve.scattering.observables`). Moving particle j
along b changes

* the local fields through the self-consistent system ``(1 - W chi) du = RHS_jb`` with
  ``RHS_jb,i = delta_ij d_b u_i - (1 - delta_ij) d_b W(r_i - r_j) v_j`` (one LU, all 3N right-hand sides);
* the field gradients explicitly: the incident Hessian and the second derivatives of ``W``.

Hence, with ``dv = chi du``,

    dF_i,a/dr_j,b = Re[ (rho' chi du)_(ia),(jb) ] + c0 Re[ delta_ij v_i^H (d_a d_b u_inc,i + sum_l d_a d_b W_il v_l)
                                                     - (1 - delta_ij) v_i^H d_a d_b W_ij v_j ]

where the row ``rho'_(ia),l = c0 v_i^H d_a W_il`` (l != i) and, on its own block, ``c0 conj(d_a u_i)`` plus the
linearized interference term. ``K = -dF/dr``. Verified against central differences of
:meth:`~cdsolve.scattering.solver.Solution.forces` in ``tests/test_jacobian.py``.
"""

from __future__ import annotations

import numpy as np

from ..optics.conventions import C0, EPS0, Z0
from ..optics.green import (LEVI_CIVITA, pair_geometry, propagator_gradient_applied, propagator_gradient_rows,
                    propagator_hessian_form, radial_functions)
from ..scattering.multi_rhs import apply_w_chi, solve_many
from ..scattering.solver import CouplingOperator, factorize, lu_apply

__all__ = ["force_jacobian", "select_dofs", "force_coefficients", "own_response_rows"]

_AXES = {"x": 0, "y": 1, "z": 2}


def select_dofs(n_particles: int, dofs=None) -> np.ndarray:
    """Indices into the particle-major 3N coordinate vector ``(x_1, y_1, z_1, x_2, ...)``.

    Parameters
    ----------
    n_particles : int
    dofs : None, str, or array-like of int
        None: all 3N coordinates; a string of axes such as ``"z"`` or ``"xy"``: those axes of every
        particle; or explicit indices into the 3N vector.

    Examples
    --------
    >>> select_dofs(2, "z").tolist()
    [2, 5]
    >>> select_dofs(2, "xy").tolist()
    [0, 1, 3, 4]
    """
    if dofs is None:
        return np.arange(3 * n_particles)
    if isinstance(dofs, str):
        if not dofs or any(c not in _AXES for c in dofs) or len(set(dofs)) != len(dofs):
            raise ValueError(f"dofs must be a combination of 'x', 'y', 'z' (e.g. 'z' or 'xy'), got {dofs!r}")
        axes = sorted(_AXES[c] for c in dofs)
        return np.array([3 * i + a for i in range(n_particles) for a in axes])
    idx = np.asarray(dofs, dtype=int).ravel()
    if idx.size == 0 or idx.min() < 0 or idx.max() >= 3 * n_particles or len(set(idx.tolist())) != idx.size:
        raise ValueError(f"dofs must be distinct indices in [0, {3 * n_particles}), got {dofs!r}")
    return idx


def force_coefficients(k: float, n_medium: float) -> tuple[float, float]:
    """``(c0, kappa)`` of the force in normalized variables (module docstring).

    With ``u = (E, Z H)`` and ``v = (k^3 p / eps, k^3 Z m)``:
    ``F = c0 Re[v^H d u] - kappa Re[v_e x v_h^*]``, i.e. the electric + magnetic terms and the e-m
    interference term ``-k^4/(12 pi eps c_m) Re[p x m^*]`` of :func:`cdsolve.scattering.observables.dipole_force`.
    """
    eps = EPS0 * n_medium**2
    Z = Z0 / n_medium
    c_m = C0 / n_medium
    return eps / (2 * k**3), k**4 / (12 * np.pi * eps * c_m) * eps / (k**6 * Z)


def own_response_rows(grad_u: np.ndarray, v: np.ndarray, k: float, n_medium: float) -> np.ndarray:
    """Rows acting on a particle's own ``dv`` in ``dF/c0``: ``conj(grad u)`` plus the linearized e-m term.

    Parameters
    ----------
    grad_u : (..., 3a, 6) complex   ``d_a u`` of the local field at the particle
    v : (..., 6) complex            normalized dipoles of the particle

    Returns
    -------
    (..., 3a, 6) complex: ``-kappa Re[dv_e x v_h^* + v_e^* x dv_h]_a / c0`` added to ``Re[conj(d_a u) . dv]``.
    """
    c0, kappa = force_coefficients(k, n_medium)
    own = grad_u.conj().copy()
    own[..., :3] -= (kappa / c0) * np.einsum("abc,...c->...ab", LEVI_CIVITA, v[..., 3:].conj())
    own[..., 3:] -= (kappa / c0) * np.einsum("abc,...b->...ac", LEVI_CIVITA, v[..., :3].conj())
    return own


_RADIAL = ("B", "C", "DA", "DB", "DC", "D2A", "D2B", "D2C")


def _pair_terms(positions, rows: slice, k: float, vc, src_orders, v_src, cross: bool):
    """Pair contractions for targets ``rows`` (all sources; zero on self pairs), normalized by 1/k.

    Returns ``Gamma`` (n_src, t, N, 3b, 6) = d_b W_tn v^(o)_n, ``vLv`` (t, N, 3a, 3b) =
    conj(v_t)^T d_a d_b W_tn v_src_n and ``rho`` (t, 3a, N, 6) = conj(v_t)^T d_a W_tn, with
    ``W = [[G, -Gx], [Gx, G]]``; ``cross=False`` (electric only) skips every Gx and magnetic term.
    """
    X, inv_r, phase = pair_geometry(positions[rows], positions, k)  # phase 0 on self pairs: all terms 0
    R = radial_functions(k, phase, inv_r, _RADIAL if cross else _RADIAL[:1] + _RADIAL[2:4] + _RADIAL[5:7])
    inv_k = 1.0 / k

    def col(a):  # (n, 3) -> (3, 1, n)
        return a.T[:, None, :]

    gammas = [propagator_gradient_applied(X, R, col(vs[:, :3]), col(vs[:, 3:]) if cross else None)
              .transpose(2, 3, 0, 1) * inv_k for vs in src_orders]
    u_e, s_e = vc[rows, :3].T[:, :, None], col(v_src[:, :3])
    u_h, s_h = (vc[rows, 3:].T[:, :, None], col(v_src[:, 3:])) if cross else (None, None)
    # electric only: v_h = 0 and rows acting on dv_h are multiplied by chi_m = 0
    vLv = propagator_hessian_form(X, R, u_e, s_e, u_h, s_h)
    rho = propagator_gradient_rows(X, R, u_e, u_h)  # (3a, 6, t, n)
    return gammas, vLv.transpose(2, 3, 0, 1) * inv_k, rho.transpose(2, 0, 3, 1) * inv_k


def _field_major(blocks: np.ndarray) -> np.ndarray:
    """(N, ncol, 6) per-particle 6-vectors -> (6N, ncol) in the solver's field-major layout."""
    N, ncol, _ = blocks.shape
    return np.concatenate([blocks[:, :, :3].transpose(0, 2, 1).reshape(3 * N, ncol),
                           blocks[:, :, 3:].transpose(0, 2, 1).reshape(3 * N, ncol)], axis=0)


def scattering_sources(sol) -> list[np.ndarray]:
    """Normalized dipoles ``chi u`` (N, 6) that radiate the scattered part of the local fields, per order.

    Self-consistent solution: one entry, the solution's own dipoles. ``orders=n``: the dipoles
    ``v^(0) .. v^(n-1)`` of the truncated scattering series (empty for ``orders=0``).
    """
    scene, op = sol.scene, sol._operator
    k, Z = scene.k, Z0 / scene.n_medium
    eps = EPS0 * scene.n_medium**2
    orders = sol.info.get("orders")
    if orders is None:
        return [np.concatenate([sol.p * k**3 / eps, sol.m * k**3 * Z], axis=1)]
    u_inc = np.concatenate(scene.incident_fields(), axis=1) * np.r_[np.ones(3), Z * np.ones(3)]
    u_fm = np.concatenate([u_inc[:, :3].ravel(), u_inc[:, 3:].ravel()])
    b = u_fm.copy()
    out = []
    for _ in range(orders):
        e, h = op.polarize(u_fm)
        out.append(np.concatenate([e, h], axis=1))
        u_fm = b + op.scatter(u_fm)
    return out


def displacement_rhs(du_inc: np.ndarray, gamma, sel: np.ndarray) -> np.ndarray:
    """``d/dr_jb`` of the local fields ``u_inc + W v`` at fixed dipoles ``v``: field-major (6N, n).

    ``du_inc`` (N, 3b, 6) incident-field gradients (E, Z H); ``gamma`` (N, N, 3b, 6) ``d_b W_ij v_j``
    (None: no scattered part); ``sel`` the dofs. Moving particle j changes its own local field by
    its gradient and every other particle's by ``-d_b W_ij v_j``.
    """
    N, n = du_inc.shape[0], len(sel)
    j_idx, b_idx = sel // 3, sel % 3
    if gamma is None:
        blk = np.zeros((N, n, 6), complex)
        local = du_inc[j_idx, b_idx, :]
    else:
        full = n == 3 * N and np.array_equal(sel, np.arange(3 * N))  # all dofs: a reshape, no gather
        blk = np.negative(gamma.reshape(N, 3 * N, 6)) if full else -gamma[:, j_idx, b_idx, :]
        local = du_inc[j_idx, b_idx, :] + gamma.sum(axis=1).reshape(3 * N, 6)[sel]
    blk[j_idx, np.arange(n), :] = local
    return _field_major(blk)


#: methods of :func:`force_jacobian`
JACOBIAN_METHODS = ("auto", "dense", "operator")


def force_jacobian(sol, dofs=None, *, chunk_pairs: int = 1 << 13, method: str = "auto",
                   rtol: float = 1e-10) -> np.ndarray:
    """Analytic ``dF/dr`` (the negative stiffness) of a solution.

    Parameters
    ----------
    sol : Solution
        From :func:`cdsolve.solve`. For a self-consistent solution the dipole response is
        ``(1 - W chi)^-1``; for a finite-order solution (``orders=n``) it is the derivative of the same
        truncated series, so the result is the exact Jacobian of the order-n forces (e.g. single
        scattering).
    dofs : None, str or array-like of int
        Degrees of freedom (see :func:`select_dofs`); the Jacobian is restricted to them
        (rows and columns).
    chunk_pairs : int
        Pairs per chunk for the second-derivative tensors of the dense method (memory bound).
    method : {"auto", "dense", "operator"}
        ``"dense"``: one LU of the dense system for all 3N right-hand sides (reused from a direct solve)
        and every pair tensor stored, O(N^2) memory. ``"operator"``: matrix-free, on the solution's own
        operator (FFT, FMM or dense): the dipole response of the n chosen dofs by lockstep GMRES
        (:func:`cdsolve.scattering.multi_rhs.solve_many`, relative residual ``rtol`` per column), the force
        rows by the operator's field gradients, and only the pair terms that involve a chosen particle
        (O(N n) work and memory for n chosen dofs: e.g. the z-motion of a long chain). ``"auto"``:
        ``"operator"`` when the solution came from a fast backend (FFT, FMM), else ``"dense"``.
        Finite-order solutions (``orders=n``) use the dense method.
    rtol : float
        Relative residual of the response solves of the operator method.

    Returns
    -------
    J : (n, n) float [N/m]
        ``J[p, q] = d F_{dof p} / d r_{dof q}``; the stiffness is ``K = -J``.
    """
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"method must be one of {JACOBIAN_METHODS}, got {method!r}")
    parts = sol.coherent_parts
    if parts != (sol,):  # incoherent beam groups: the sum of each coherent group's Jacobian
        J = sum(force_jacobian(part, dofs, chunk_pairs=chunk_pairs, method=method, rtol=rtol) for part in parts)
        casimir = sol.scene.casimir
        if casimir is not None and all(part.scene.casimir is None for part in parts):  # light-independent: once
            sel = select_dofs(sol.scene.n_particles, dofs)
            J = J - casimir.stiffness(sol.scene)[np.ix_(sel, sel)]
        return J
    orders = sol.info.get("orders")
    if method == "auto":
        method = "dense" if isinstance(sol._operator, CouplingOperator) or orders is not None else "operator"
    if method == "operator":
        if orders is not None:
            raise ValueError(f"method='operator' needs a self-consistent solution, got one of orders={orders} "
                             "(use method='dense')")
        return _operator_jacobian(sol, select_dofs(sol.scene.n_particles, dofs), rtol)
    scene = sol.scene
    N = scene.n_particles
    sel = select_dofs(N, dofs)
    n_sel = len(sel)
    k, n_m = scene.k, scene.n_medium
    eps = EPS0 * n_m**2
    Z = Z0 / n_m
    c0, _ = force_coefficients(k, n_m)
    op = sol._operator
    pos = scene.positions
    electric_only = not op.has_magnetic

    v = np.concatenate([sol.p * k**3 / eps, sol.m * k**3 * Z], axis=1)  # (N, 6) = chi u; its conjugate enters F
    src_orders = scattering_sources(sol)
    v_src = src_orders[-1] if src_orders else np.zeros_like(v)

    (_, dEi, d2Ei), (_, dHi, d2Hi) = scene.illumination.field_jets(pos, n_m, 2)
    du_inc = np.concatenate([dEi, Z * dHi], axis=2)  # (N, 3b, 6)
    d2u_inc = np.concatenate([d2Ei, Z * d2Hi], axis=3)  # (N, 3a, 3b, 6)

    n_src = len(src_orders)
    Gamma = np.zeros((n_src, N, N, 3, 6), complex)  # d_b W_ij v^(m)_j
    vLv = np.zeros((N, N, 3, 3), complex)  # v_i^H d_a d_b W_ij v_src_j
    rho = np.zeros((N, 3, N, 6), complex)  # v_i^H d_a W_il
    rows_per = max(1, chunk_pairs // max(N, 1))
    if orders != 0:
        for r0 in range(0, N, rows_per):
            rows = slice(r0, min(N, r0 + rows_per))
            gammas, vLv[rows], rho[rows] = _pair_terms(pos, rows, k, v.conj(), src_orders, v_src,
                                                       cross=not electric_only)
            for o, g in enumerate(gammas):
                Gamma[o, rows] = g
    # gradient of the local field entering the force (sources v_src)
    grad_u = du_inc + Gamma[-1].sum(axis=1) if n_src else du_inc.copy()
    hess_sum = vLv.sum(axis=1)

    # own-block row of rho' (acts on dv_i): conj(grad u_i) and the linearized e-m interference term
    own = own_response_rows(grad_u, v, k, n_m)  # (N, a, 6)

    chi_diag = np.einsum("nii->ni", op.chi_e), np.einsum("nii->ni", op.chi_m)
    diagonal = all(np.array_equal(c, d[:, :, None] * np.eye(3)) for c, d in zip((op.chi_e, op.chi_m), chi_diag))

    def rows_times_chi(R):  # (n_sel, N, 6) row vectors acting on dv -> acting on du (6N field-major)
        if diagonal:  # diagonal polarizability tensors (spheres): scale the columns
            out = R * np.concatenate(chi_diag, axis=1)[None]
            return np.concatenate([out[:, :, :3].reshape(n_sel, 3 * N), out[:, :, 3:].reshape(n_sel, 3 * N)], axis=1)
        re = np.einsum("snj,nji->sni", R[:, :, :3], op.chi_e).reshape(n_sel, 3 * N)
        rh = np.einsum("snj,nji->sni", R[:, :, 3:], op.chi_m).reshape(n_sel, 3 * N)
        return np.concatenate([re, rh], axis=1)

    i_idx, a_idx = sel // 3, sel % 3
    j_idx, b_idx = sel // 3, sel % 3
    cols = np.arange(n_sel)
    rho_sel = rho.reshape(3 * N, N, 6)[sel]  # acts on du of the source dipoles

    def explicit_rhs(o):
        return displacement_rhs(du_inc, Gamma[o] if n_src else None, sel)

    if orders is None:
        fac = sol._lu if sol._lu is not None else factorize(op)
        du = lu_apply(op, fac, explicit_rhs(0), need_h=False, overwrite_rhs=True)
        rho_sel[np.arange(n_sel), i_idx] += own[i_idx, a_idx]  # own and source dipoles coincide here
        rows = rows_times_chi(rho_sel)
        n_act = 3 * N if electric_only else 6 * N  # electric-only: rows on dv_h vanish (chi_m = 0)
        R, D = rows[:, :n_act], du[:n_act]
        J = c0 * (R.real @ D.real - R.imag @ D.imag)  # Re(R D) with two real products: half the flops
    else:
        # du^(0) = d u_inc ; du^(m) = d u_inc + Exp(v^(m-1)) + W chi du^(m-1)
        blk = np.zeros((N, n_sel, 6), complex)
        blk[j_idx, cols, :] = du_inc[j_idx, b_idx, :]
        du = _field_major(blk)
        du_src = du  # derivative of the order-(n-1) local field (sources of the force's gradient)
        for m in range(1, orders + 1):
            du_src = du
            du = explicit_rhs(m - 1) + apply_w_chi(op, du, need_h=False)
        own_rows = np.zeros((n_sel, N, 6), complex)
        own_rows[np.arange(n_sel), i_idx] = own[i_idx, a_idx]
        J = c0 * np.real(rows_times_chi(own_rows) @ du + (rows_times_chi(rho_sel) @ du_src if orders >= 1 else 0.0))
    own_hess = np.einsum("ni,nabi->nab", v.conj(), d2u_inc) + hess_sum
    return J + _explicit_terms(scene, sel, c0, i_idx, vLv, own_hess)


def _explicit_terms(scene, sel: np.ndarray, c0: float, pidx: np.ndarray, pair_hess: np.ndarray,
                    own_hess: np.ndarray) -> np.ndarray:
    """The explicit second-derivative part of ``dF/dr`` on the dofs ``sel`` (both Jacobian methods).

    ``pidx`` (n,) int: each dof's particle as an index into the first axes of ``pair_hess`` (P, P, 3a, 3b)
    ``= conj(v_i)^T d_a d_b W_ij v_j`` and ``own_hess`` (P, 3a, 3b) ``= conj(v_i)^T (d_a d_b u_inc,i +
    sum_l d_a d_b W_il v_l)``: ``-c0 Re pair_hess`` between different particles, ``c0 Re own_hess`` on a
    particle's own block, minus the Casimir-Polder stiffness when the scene has it (``K_CP = -dF_CP/dr``).
    """
    ax = sel % 3
    direct = -c0 * np.real(pair_hess[pidx[:, None], pidx[None, :], ax[:, None], ax[None, :]])
    own = c0 * np.real(own_hess)
    direct = np.where(pidx[:, None] == pidx[None, :], own[pidx[:, None], ax[:, None], ax[None, :]], direct)
    if scene.casimir is not None:
        direct = direct - scene.casimir.stiffness(scene)[np.ix_(sel, sel)]
    return direct


#: complex numbers per chunk of pair tensors in the operator method (its temporaries are ~30x: ~100 MB)
_PAIR_CHUNK = 1 << 22


def _columns(a: np.ndarray) -> np.ndarray:
    """(n, 3) -> (3, 1, n): source vectors of the pair functions of :mod:`cdsolve.optics.green`."""
    return a.T[:, None, :]


def _operator_jacobian(sol, sel: np.ndarray, rtol: float) -> np.ndarray:
    """``dF/dr`` restricted to the dofs ``sel`` from the solution's operator (see :func:`force_jacobian`).

    Column q = (particle j, axis b): moving j changes the local fields by the right-hand side of
    :func:`displacement_rhs` (j's own local-field gradient, and ``-d_b W_ij v_j`` at every other particle,
    evaluated pairwise from j: O(N) per column), the dipoles respond by ``dv = chi (1 - W chi)^-1 RHS``
    (lockstep GMRES on the operator) and the force rows are ``c0 Re[conj(v_i) . d_a (W dv)_i]`` (the
    operator's scattered-field gradients of ``dv``) plus the own-dipole rows of :func:`own_response_rows`.
    The explicit second-derivative terms need only the pairs that touch a chosen particle.
    """
    scene = sol.scene
    op = sol._operator
    N = scene.n_particles
    k, n_m = scene.k, scene.n_medium
    eps = EPS0 * n_m**2
    Z = Z0 / n_m
    c0, _ = force_coefficients(k, n_m)
    pos = scene.positions
    cross = bool(op.has_magnetic)
    v = np.concatenate([sol.p * k**3 / eps, sol.m * k**3 * Z], axis=1)  # (N, 6) normalized dipoles
    ve, vh = v[:, :3], v[:, 3:]
    parts, loc = np.unique(sel // 3, return_inverse=True)  # chosen particles; loc: dof -> index in parts
    ax = sel % 3
    n_sel, n_p = len(sel), len(parts)

    # local-field gradients and incident Hessians at the chosen particles
    (_, dEi, d2Ei), (_, dHi, d2Hi) = scene.illumination.field_jets(pos[parts], n_m, 2)
    dEs, dZHs = op.scattered_field_gradients(ve, vh)
    grad_u = np.concatenate([dEi + dEs[parts], Z * dHi + dZHs[parts]], axis=2)  # (n_p, 3b, 6)
    d2u_inc = np.concatenate([d2Ei, Z * d2Hi], axis=3)  # (n_p, 3a, 3b, 6)
    own = own_response_rows(grad_u, v[parts], k, n_m)  # (n_p, 3a, 6) acting on the particle's own dv

    grad_names = ("B", "C", "DA", "DB", "DC") if cross else ("B", "DA", "DB")
    hess_names = _RADIAL if cross else ("B", "DA", "DB", "D2A", "D2B")

    # explicit terms: conj(v_i)^T d_a d_b W_il v_l for the chosen particles i and every source l
    hess_sum = np.empty((n_p, 3, 3), complex)
    hess_pp = np.empty((n_p, n_p, 3, 3), complex)  # [i, j, a, b] between chosen particles
    rows_per = max(1, _PAIR_CHUNK // (16 * N))
    for r0 in range(0, n_p, rows_per):
        t = parts[r0 : r0 + rows_per]
        X, inv_r, phase = pair_geometry(pos[t], pos, k)  # self pairs: phase 0, every term 0
        Rf = radial_functions(k, phase, inv_r, hess_names)
        u_e = v[t, :3].conj().T[:, :, None]
        u_h = v[t, 3:].conj().T[:, :, None] if cross else None
        H = propagator_hessian_form(X, Rf, u_e, _columns(ve), u_h, _columns(vh) if cross else None) / k
        hess_sum[r0 : r0 + len(t)] = H.sum(axis=3).transpose(2, 0, 1)
        hess_pp[r0 : r0 + len(t)] = H[:, :, :, parts].transpose(2, 3, 0, 1)
    own_hess = np.einsum("ni,nabi->nab", v[parts].conj(), d2u_inc) + hess_sum
    direct = _explicit_terms(scene, sel, c0, loc, hess_pp, own_hess)

    # response: columns in blocks (pair tensors of one block: 18 N complex per source particle)
    J = np.empty((n_sel, n_sel))
    cols_per = max(1, _PAIR_CHUNK // (18 * N))
    v_rows = v[parts].conj()  # (n_p, 6)
    for q0 in range(0, n_sel, cols_per):
        q = np.arange(q0, min(n_sel, q0 + cols_per))
        src, src_loc = np.unique(parts[loc[q]], return_inverse=True)
        X, inv_r, phase = pair_geometry(pos, pos[src], k)
        Rf = radial_functions(k, phase, inv_r, grad_names)
        gam = propagator_gradient_applied(X, Rf, _columns(ve[src]), _columns(vh[src]) if cross else None) / k
        blk = -gam[ax[q], :, :, src_loc].transpose(2, 0, 1)  # (N, c, 6): -d_b W_ij v_j at every particle i
        blk[parts[loc[q]], np.arange(len(q)), :] = grad_u[loc[q], ax[q], :]  # j's own local-field gradient
        du, info = solve_many(op, _field_major(blk), rtol=rtol)
        if not info["converged"]:
            raise RuntimeError(f"force_jacobian(method='operator'): the response solves reached a relative "
                               f"residual {info['residual']:.2e} > rtol={rtol:g} ({info['stops']}) after "
                               f"{info['products']} products; use method='dense' or a larger rtol")
        dve = np.einsum("nij,njr->nir", op.chi_e, du[: 3 * N].reshape(N, 3, -1))
        dvh = np.einsum("nij,njr->nir", op.chi_m, du[3 * N :].reshape(N, 3, -1)) if cross else np.zeros_like(dve)
        for c in range(len(q)):
            gE, gH = op.scattered_field_gradients(dve[:, :, c], dvh[:, :, c])
            grad = np.concatenate([gE[parts], gH[parts]], axis=2)  # (n_p, 3a, 6) = d_a (W dv)_i
            dv_p = np.concatenate([dve[parts, :, c], dvh[parts, :, c]], axis=1)  # (n_p, 6)
            val = np.einsum("ni,nai->na", v_rows, grad) + np.einsum("nai,ni->na", own, dv_p)
            J[:, q[c]] = c0 * val[loc, ax].real
    return J + direct
