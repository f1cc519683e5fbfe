"""Analytic Jacobian of the optical forces with respect to all particle positions.

Notation (see :mod:`cdsolve.solver`): normalized local fields ``u_i = (E_i, Z H_i)`` (6-vectors),
normalized dipoles ``v_i = chi_i u_i`` and the pair propagator ``W_il`` with
``u_i = u_inc(r_i) + sum_{l != i} W(r_i - r_l) v_l``. The force on particle i is

    F_i,a = c0 Re[v_i^H d_a u_i] - kappa' Re[v_e,i x v_h,i^*]_a,   c0 = eps/(2 k^3),

(electric, magnetic and e-m interference terms of :mod:`cdsolve.observables`). Moving particle j
along b changes

* the local fields through the self-consistent system ``(1 - W chi) du = RHS_jb`` with
  ``RHS_jb,i = delta_ij d_b u_i - (1 - delta_ij) d_b W(r_i - r_j) v_j`` (one LU, all 3N right-hand sides);
* the field gradients explicitly: the incident Hessian and the second derivatives of ``W``.

Hence, with ``dv = chi du``,

    dF_i,a/dr_j,b = Re[ (rho' chi du)_(ia),(jb) ] + c0 Re[ delta_ij v_i^H (d_a d_b u_inc,i + sum_l d_a d_b W_il v_l)
                                                     - (1 - delta_ij) v_i^H d_a d_b W_ij v_j ]

where the row ``rho'_(ia),l = c0 v_i^H d_a W_il`` (l != i) and, on its own block, ``c0 conj(d_a u_i)`` plus the
linearized interference term. ``K = -dF/dr``. Verified against central differences of
:meth:`~cdsolve.solver.Solution.forces` in ``tests/test_jacobian.py``.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla

from .conventions import C0, EPS0, Z0
from .green import LEVI_CIVITA, green_tensors

__all__ = ["force_jacobian", "select_dofs"]

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


def _pair_tensors(positions: np.ndarray, rows: slice, k: float) -> dict:
    """Normalized (divided by k) G, Gx derivatives for targets ``rows`` and all sources; zero on self pairs."""
    t_idx = np.arange(rows.start, rows.stop)
    x = positions[t_idx, None, :] - positions[None, :, :]
    self_pair = t_idx[:, None] == np.arange(len(positions))[None, :]
    x[self_pair] = (1.0, 0.0, 0.0)  # dummy, zeroed below
    o = green_tensors(x, k, order=2)
    out = {}
    for key in ("dG", "d2G", "dGx", "d2Gx"):
        arr = o[key] / k
        arr[self_pair] = 0.0
        out[key] = arr
    return out


def force_jacobian(sol, dofs=None, *, chunk_pairs: int = 1 << 13) -> np.ndarray:
    """Analytic ``dF/dr`` (the negative stiffness) of a self-consistent solution.

    Parameters
    ----------
    sol : Solution
        From :func:`cdsolve.solve` without ``orders`` (the Jacobian of a truncated series is not
        the derivative of the physical force).
    dofs : None, str or array-like of int
        Degrees of freedom (see :func:`select_dofs`); the Jacobian is restricted to them
        (rows and columns).
    chunk_pairs : int
        Pairs per chunk for the second-derivative tensors (memory bound).

    Returns
    -------
    J : (n, n) float [N/m]
        ``J[p, q] = d F_{dof p} / d r_{dof q}``; the stiffness is ``K = -J``.
    """
    if sol.info.get("orders") is not None:
        raise NotImplementedError("force_jacobian needs a self-consistent solution (solve without orders=)")
    t_start = time.perf_counter()
    scene = sol.scene
    N = scene.n_particles
    sel = select_dofs(N, dofs)
    n_sel = len(sel)
    k, n_m = scene.k, scene.n_medium
    eps = EPS0 * n_m**2
    Z = Z0 / n_m
    c_m = C0 / n_m
    c0 = eps / (2 * k**3)
    kappa = k**4 / (12 * np.pi * eps * c_m) * eps / (k**6 * Z)  # -kappa Re[v_e x v_h^*] is the e-m term
    op = sol._operator
    pos = scene.positions

    u = np.concatenate([sol.E_local, Z * sol.H_local], axis=1)  # (N, 6)
    ve = np.einsum("nij,nj->ni", op.chi_e, u[:, :3])
    vh = np.einsum("nij,nj->ni", op.chi_m, u[:, 3:])
    v = np.concatenate([ve, vh], axis=1)  # (N, 6)

    # incident gradients and Hessians, normalized
    dEi, dHi = scene.illumination.gradients(pos, n_m)
    d2Ei, d2Hi = scene.illumination.hessians(pos, n_m)
    du_inc = np.concatenate([dEi, Z * dHi], axis=2)  # (N, 3b, 6)
    d2u_inc = np.concatenate([d2Ei, Z * d2Hi], axis=3)  # (N, 3a, 3b, 6)

    # pair sums: local gradients (N, 3, 6), Hessian-of-scattered contracted with v_i^H (N, 3, 3),
    # per-pair terms for the selected dofs: Gamma (N_i, N_j, 3b, 6), vLv (N_i, N_j, 3a, 3b), rho (N_i, 3a, N_l, 6)
    grad_u = du_inc.copy()
    hess_sum = np.zeros((N, 3, 3), complex)
    Gamma = np.zeros((N, N, 3, 6), complex)
    vLv = np.zeros((N, N, 3, 3), complex)
    rho = np.zeros((N, 3, N, 6), complex)
    rows_per = max(1, chunk_pairs // max(N, 1))
    for r0 in range(0, N, rows_per):
        rows = slice(r0, min(N, r0 + rows_per))
        T = _pair_tensors(pos, rows, k)
        dg, dgx, d2g, d2gx = T["dG"], T["dGx"], T["d2G"], T["d2Gx"]
        # d_b W v_l  -> (t, N, b, 6)
        g_e = np.einsum("tnbij,nj->tnbi", dg, ve) - np.einsum("tnbij,nj->tnbi", dgx, vh)
        g_h = np.einsum("tnbij,nj->tnbi", dgx, ve) + np.einsum("tnbij,nj->tnbi", dg, vh)
        Gam = np.concatenate([g_e, g_h], axis=3)
        Gamma[rows] = Gam
        grad_u[rows] += Gam.sum(axis=1)
        # v_i^H d_a d_b W_il v_l -> (t, N, a, b)
        vi_e, vi_h = ve[rows].conj(), vh[rows].conj()
        L_e = np.einsum("ti,tnabij,nj->tnab", vi_e, d2g, ve) - np.einsum("ti,tnabij,nj->tnab", vi_e, d2gx, vh)
        L_h = np.einsum("ti,tnabij,nj->tnab", vi_h, d2gx, ve) + np.einsum("ti,tnabij,nj->tnab", vi_h, d2g, vh)
        vL = L_e + L_h
        vLv[rows] = vL
        hess_sum[rows] = vL.sum(axis=1)
        # rho_{ia,l} = v_i^H d_a W_il  (row acting on dv_l = (dv_e, dv_h))
        r_e = np.einsum("ti,tnaij->tanj", vi_e, dg) + np.einsum("ti,tnaij->tanj", vi_h, dgx)
        r_h = -np.einsum("ti,tnaij->tanj", vi_e, dgx) + np.einsum("ti,tnaij->tanj", vi_h, dg)
        rho[rows] = np.concatenate([r_e, r_h], axis=3)
    t_pairs = time.perf_counter() - t_start

    # own-block part of rho': conj(d_a u_i) (term from dv_i) and the interference term
    own = grad_u.conj()  # (N, a, 6)
    eps_tensor = LEVI_CIVITA
    # -kappa Re[dv_e x v_h^* + v_e^* x dv_h]_a : rows on dv_e,b: eps_abc v_h,c^* ; on dv_h,c: eps_abc v_e,b^*
    own_int_e = np.einsum("abc,nc->nab", eps_tensor, vh.conj())
    own_int_h = np.einsum("abc,nb->nac", eps_tensor, ve.conj())
    own = own - (kappa / c0) * np.concatenate([own_int_e, own_int_h], axis=2)
    rho[np.arange(N), :, np.arange(N), :] += own

    # rows of rho' chi (selected dofs), in the field-major layout of the solver
    rho_sel = rho.reshape(3 * N, N, 6)[sel]  # (n_sel, N, 6)
    rc_e = np.einsum("snj,nji->sni", rho_sel[:, :, :3], op.chi_e)
    rc_h = np.einsum("snj,nji->sni", rho_sel[:, :, 3:], op.chi_m)
    rho_chi = np.concatenate([rc_e.reshape(n_sel, 3 * N), rc_h.reshape(n_sel, 3 * N)], axis=1)  # (n_sel, 6N)

    # right-hand sides for the selected dofs (columns), field-major rows
    j_idx, b_idx = sel // 3, sel % 3
    RHS = -Gamma[:, j_idx, b_idx, :]  # (N_i, n_sel, 6)
    RHS[j_idx, np.arange(n_sel), :] = grad_u[j_idx, b_idx, :]
    RHS = np.concatenate([RHS[:, :, :3].transpose(0, 2, 1).reshape(3 * N, n_sel),
                          RHS[:, :, 3:].transpose(0, 2, 1).reshape(3 * N, n_sel)], axis=0)

    t0 = time.perf_counter()
    lu = sol._lu
    if lu is None:
        lu = sla.lu_factor(op.dense(), check_finite=False)
    du = sla.lu_solve(lu, RHS, check_finite=False)
    t_solve = time.perf_counter() - t0

    J = c0 * np.real(rho_chi @ du)
    # explicit second-derivative terms
    i_idx, a_idx = sel // 3, sel % 3
    direct = -c0 * np.real(vLv[i_idx[:, None], j_idx[None, :], a_idx[:, None], b_idx[None, :]])
    same = i_idx[:, None] == j_idx[None, :]
    diag_term = c0 * np.real(np.einsum("ni,nabi->nab", v.conj(), d2u_inc) + hess_sum)
    direct = np.where(same, diag_term[i_idx[:, None], a_idx[:, None], b_idx[None, :]], direct)
    J += direct
    return J
