"""Many right-hand sides on one coupled-dipole operator (any backend): ``W chi U`` and lockstep GMRES.

The response of the dipoles to many small perturbations (one per displaced degree of freedom in
:func:`cdsolve.dynamics.jacobian.force_jacobian`) solves ``(1 - W chi) X = B`` for a block of columns.
With a fast operator (FFT, FMM) the matrix is never formed: every Krylov step applies the operator to all
still-active columns at once (one batched product: the FFT backend transforms all of them together, the
FMM backend passes them as densities of one call), while each column keeps its own Arnoldi basis,
Givens rotations and stopping rule (those of :func:`cdsolve.scattering.solver._gmres`: the *true*
relative residual of every column decides, a cycle that does not reduce it by 0.1 % stops the column).

Normalization as in :mod:`cdsolve.scattering.operators`: field-major columns ``u = (E_1..E_N, ZH_1..ZH_N)``.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.linalg as sla

__all__ = ["apply_w_chi", "solve_many", "gmres_columns", "single_threaded_blas"]

#: bytes allowed for the Krylov basis of one block of columns
KRYLOV_BYTES = 1 << 28


_BLAS_CONTROLLER: list = []  # one threadpoolctl controller, made on first use (finding the libraries costs ~ms)


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS limited to one thread inside the block (restored after it).

    Krylov steps on a fast operator are matrix-vector products on vectors of length 6N: on this 2-core machine
    OpenBLAS's two threads make them 2-10x slower than one (measured 8.0 ms vs 0.82 ms for an (11, 6e4)
    complex product), and its spinning workers slow the FFTs that follow.
    """
    if not _BLAS_CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER.append(ThreadpoolController())
    with _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


def apply_w_chi(op, U: np.ndarray, need_h: bool = True) -> np.ndarray:
    """``W chi`` applied to field-major columns ``U`` (6N, R) complex -> (6N, R) (self terms excluded): the
    operator's ``scatter_many`` (see :class:`cdsolve.scattering.operators.OperatorBase`; the FFT backend fuses
    it)."""
    return op.scatter_many(U, need_h=need_h)


def gmres_columns(matmat, B: np.ndarray, rtol: float, maxiter: int, restart: int, X0: np.ndarray | None = None):
    """Restarted GMRES for every column of ``B`` (n, R), the products applied to all active columns at once.

    The one GMRES of the package (``cdsolve.scattering.solver`` runs it with one column). Each column has its
    own Arnoldi basis (classical Gram-Schmidt with one reorthogonalization), Givens rotations and residual
    estimate. A cycle ends for a column when its estimate reaches ``rtol ||b||``, after ``restart`` steps or
    when the product budget is spent; the *true* residual ``||b - A x||`` is then computed (one counted
    product) and decides convergence. A column stops when converged, when ``maxiter`` products are used, or
    when a cycle does not reduce its true residual by at least 0.1 % (stagnation). A warm start ``X0`` costs
    one counted product for its residual; columns already below ``rtol ||b||`` end there.

    Parameters
    ----------
    matmat : callable
        ``(n, r) complex -> (n, r) complex``, the matrix applied to r columns.
    B : (n, R) complex
    rtol : float
    maxiter : int
        Cap on the (batched) products, true-residual products included.
    restart : int
    X0 : (n, R) complex, optional

    Returns
    -------
    X : (n, R) complex
    info : dict
        ``residual`` (R,) true relative residuals, ``stop`` (R,) reasons ("converged", "stagnated",
        "product cap (maxiter)", "zero right-hand side"), ``condition_lower_bound`` (R,) (largest
        ``sigma_max / sigma_min`` of a column's Hessenberg matrices: since ``A V_j = V_(j+1) H_j`` with
        orthonormal ``V``, their singular values lie inside those of ``A``, so this never exceeds the 2-norm
        condition), ``initial_residual`` (R,), ``products``, ``cycles``.
    """
    n, R = B.shape
    b_norm = np.linalg.norm(B, axis=0)
    zero = b_norm == 0
    target = rtol * b_norm
    products = cycles = 0
    X = np.zeros((n, R), complex)
    if X0 is not None and not zero.all():
        X = np.array(X0, dtype=complex).reshape(n, R)
        X[:, zero] = 0.0
        Res = B - matmat(X)
        products += 1
    else:
        Res = B.astype(complex, copy=True)
    beta = np.linalg.norm(Res, axis=0)
    initial = np.divide(beta, b_norm, out=np.zeros(R), where=~zero)
    cond = np.ones(R)
    active = beta > target  # zero columns (beta = target = 0) are solved by X = 0
    stop = np.where(active, "product cap (maxiter)", "converged").astype(object)
    stop[zero] = "zero right-hand side"
    while active.any():
        budget = maxiter - products - 1  # keep one product for the true residual
        if budget < 1:
            break
        m = min(restart, budget)
        idx = np.flatnonzero(active)
        Ra = len(idx)
        V = np.empty((Ra, m + 1, n), complex)  # one contiguous Krylov basis per column
        H = np.zeros((m + 1, m, Ra), complex)  # unrotated Hessenberg matrices (condition bound)
        Rt = np.zeros((m, m, Ra), complex)
        cs = np.zeros((m, Ra), complex)
        sn = np.zeros((m, Ra), complex)
        g = np.zeros((m + 1, Ra), complex)
        g[0] = beta[idx]
        V[:, 0] = (Res[:, idx] / beta[idx]).T
        k_used = np.zeros(Ra, int)
        live = np.ones(Ra, bool)
        tgt = target[idx]
        for j in range(m):
            w = np.ascontiguousarray(matmat(np.ascontiguousarray(V[:, j].T)).T)  # (Ra, n)
            products += 1
            hsum = np.empty((Ra, j + 1), complex)
            for r in range(Ra):  # Gram-Schmidt, two passes, BLAS matrix-vector products (no copy of the basis)
                Vr, wr = V[r, : j + 1], w[r]
                h = (Vr @ wr.conj()).conj()
                wr -= h @ Vr
                h2 = (Vr @ wr.conj()).conj()
                wr -= h2 @ Vr
                hsum[r] = h + h2
            col = np.empty((j + 2, Ra), complex)
            col[: j + 1] = hsum.T
            hn = np.linalg.norm(w, axis=1)
            col[j + 1] = hn
            H[: j + 2, j] = col
            for i in range(j):  # previous rotations, vectorized over the columns
                a, c = col[i].copy(), col[i + 1].copy()
                col[i] = np.conj(cs[i]) * a + np.conj(sn[i]) * c
                col[i + 1] = -sn[i] * a + cs[i] * c
            den = np.hypot(np.abs(col[j]), np.abs(col[j + 1]))
            safe = np.where(den > 0, den, 1.0)
            cs[j] = np.where(den > 0, col[j] / safe, 1.0)
            sn[j] = np.where(den > 0, col[j + 1] / safe, 0.0)
            col[j], col[j + 1] = den, 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = np.conj(cs[j]) * g[j]
            Rt[: j + 1, j] = col[: j + 1]
            k_used[live] = j + 1
            live &= ~((hn == 0) | (np.abs(g[j + 1]) <= tgt))  # happy breakdown or estimated convergence
            if not live.any():
                break
            V[:, j + 1] = w / np.where(hn > 0, hn, 1.0)[:, None]
        for r in range(Ra):  # each column's own least-squares solution and condition bound
            k = k_used[r]
            y = sla.solve_triangular(Rt[:k, :k, r], g[:k, r])
            X[:, idx[r]] += y @ V[r, :k]
            sv = np.linalg.svd(H[: k + 1, :k, r], compute_uv=False)
            cond[idx[r]] = max(cond[idx[r]], float(sv[0] / sv[-1])) if sv[-1] > 0 else np.inf
        cycles += 1
        Res[:, idx] = B[:, idx] - matmat(X[:, idx])
        products += 1
        new_beta = np.linalg.norm(Res[:, idx], axis=0)
        conv = new_beta <= tgt
        stag = ~conv & (new_beta > 0.999 * beta[idx])
        beta[idx] = new_beta
        stop[idx[conv]] = "converged"
        stop[idx[stag]] = "stagnated"
        active[idx[conv | stag]] = False
    residual = np.divide(beta, b_norm, out=np.zeros(R), where=~zero)
    return X, {"residual": residual, "stop": stop, "condition_lower_bound": cond, "initial_residual": initial,
               "products": products, "cycles": cycles}


def solve_many(op, B: np.ndarray, *, rtol: float = 1e-10, maxiter: int = 500, restart: int = 30):
    """Solve ``(1 - W chi) X = B`` for many right-hand sides with any operator backend.

    Parameters
    ----------
    op : operator
        Any backend of :mod:`cdsolve.scattering.operators` (dense, FFT, FMM).
    B : (6N, R) complex
        Field-major right-hand sides.
    rtol : float
        Relative residual ``||B_r - A X_r|| / ||B_r||`` every column must reach.
    maxiter : int
        Cap on the batched operator products (each applies the operator to every active column).
    restart : int
        GMRES restart length (the Krylov basis of a block is ``(restart + 1) n R`` complex numbers: blocks of
        columns are solved one after the other so that it stays under ``KRYLOV_BYTES``).

    Returns
    -------
    X : (6N, R) complex
    info : dict
        ``converged`` (all columns), ``residual`` (largest true relative residual), ``products`` (batched
        products summed over blocks), ``cycles``, ``blocks``, ``system`` ("electric (3N)" when no particle is
        magnetic: then ``(1 - g chi_e) E = B_E`` is solved and ``ZH = B_H + gx chi_e E`` follows), ``stops``
        (count of each stop reason).

    Examples
    --------
    >>> import numpy as np
    >>> from cdsolve.scattering.solver import CouplingOperator
    >>> pos = np.array([[0.0, 0, 0], [600e-9, 0, 0]]); k = 2 * np.pi / 1064e-9
    >>> chi = np.broadcast_to(0.05j * np.eye(3), (2, 3, 3)).copy()
    >>> op = CouplingOperator(pos, k, chi, chi)
    >>> B = np.random.default_rng(0).standard_normal((12, 3)) + 0j
    >>> X, info = solve_many(op, B)
    >>> bool(np.allclose(np.linalg.solve(op.dense(), B), X, rtol=0, atol=1e-9)), info["converged"]
    (True, True)
    """
    B = np.asarray(B)
    N = op.N
    if B.ndim != 2 or B.shape[0] != 6 * N:
        raise ValueError(f"B must have shape (6N, R) = ({6 * N}, R), got {B.shape}")
    if not (np.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if int(maxiter) != maxiter or maxiter < 2:
        raise ValueError(f"maxiter must be an integer >= 2, got {maxiter!r}")
    n3 = 3 * N
    electric = not op.has_magnetic
    n = n3 if electric else 6 * N

    if electric:
        def matmat(E):
            ve = np.einsum("nij,njr->nir", op.chi_e, E.reshape(N, 3, -1))
            return E - op.apply_g(ve).reshape(n3, -1)
    else:
        def matmat(U):
            return U - apply_w_chi(op, U)

    R = B.shape[1]
    X = np.zeros((6 * N, R), complex)
    block = max(1, min(R, KRYLOV_BYTES // ((restart + 1) * n * 16)))
    worst, products, cycles, blocks = 0.0, 0, 0, 0
    stops: dict = {}
    for c0 in range(0, R, block):
        cols = slice(c0, min(R, c0 + block))
        with single_threaded_blas():
            Xb, it = gmres_columns(matmat, np.ascontiguousarray(B[:n, cols], dtype=complex), rtol, int(maxiter),
                                   restart)
        X[:n, cols] = Xb
        worst = max(worst, float(it["residual"].max(initial=0.0)))
        products += it["products"]
        cycles += it["cycles"]
        blocks += 1
        for s in it["stop"]:
            stops[s] = stops.get(s, 0) + 1
    if electric:
        ve = np.einsum("nij,njr->nir", op.chi_e, X[:n3].reshape(N, 3, R))
        X[n3:] = B[n3:] + op.apply_gx(ve).reshape(n3, R)
    info = {"converged": bool(worst <= rtol), "residual": worst, "products": products, "cycles": cycles,
            "blocks": blocks, "system": "electric (3N)" if electric else "full (6N)", "stops": stops}
    return X, info
