"""Self-consistent electric + magnetic coupled-dipole solve.

Unknowns are the local fields at the particles in the normalized form ``u = (E, Z H)``
(both in V/m). With the dimensionless polarizabilities ``chi_e = k^3 alpha_e/(eps0 eps_m)``,
``chi_m = k^3 alpha_m`` and the dimensionless propagators ``g = G/k``, ``gx = Gx/k``,
the coupled-dipole equations read

    E_i  = E_inc,i  + sum_{j != i} [ g_ij chi_e,j E_j  - gx_ij chi_m,j ZH_j ]
    ZH_i = ZH_inc,i + sum_{j != i} [ gx_ij chi_e,j E_j + g_ij  chi_m,j ZH_j ]

i.e. ``(1 - W chi) u = u_inc``. Internally the vector is field-major,
``u = (E_1..E_N, ZH_1..ZH_N)`` (two blocks of 3N); :func:`interaction_matrix` exports the
particle-major 6N x 6N matrix of :mod:`cdsolve.optics.conventions`.

Methods
-------
``"direct"``   dense LU (scipy), condition number estimated from the factorization.
``"iterative"`` GMRES on the matrix-free product with the two dense 3N x 3N propagator
               blocks; stops when ``||u_inc - A u|| <= rtol ||u_inc||``; if it stalls, falls back
               to the direct solve and records why.
``"auto"``     direct for 6N <= 1800, iterative above.
``orders=n``   instead of solving: the local fields contain n scattering events
               (Neumann series ``u_n = u_inc + W chi u_(n-1)``). Everything derived is consistent to
               that order: the dipoles are ``alpha u_n`` and the scattered field (and its gradient, used
               for forces) seen by a particle is radiated by the order-(n-1) dipoles of the others.
               ``orders=0`` ignores all coupling (forces = isolated forces); ``orders=1`` is the
               single-scattering picture of the literature (first order in the coupling).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla
from scipy.sparse.linalg import LinearOperator, gmres

from ..optics.conventions import EPS0, Z0
from ..optics.green import _evaluate, _radial_coefficients, pair_geometry
from .._version import __version__
from ..optics.beams import IncoherentBeams
from .observables import cross_sections, fields_at, isolated_forces, local_field_gradients, optical_forces, optical_torques
from .scene import Scene

__all__ = ["solve", "Solution", "CouplingOperator", "interaction_matrix", "SolveMethod"]

SolveMethod = Literal["auto", "direct", "iterative"]
_AUTO_DIRECT_MAX = 1800


class IllConditionedWarning(UserWarning):
    """The coupled-dipole system is close to singular (near a collective resonance or overlap)."""


class CouplingOperator:
    """Dimensionless propagators between all particle pairs, stored as Cartesian blocks.

    ``g = G/k`` is symmetric in its Cartesian indices, so only the six blocks ``g[a, b]`` (a <= b),
    each (N, N) over particle pairs, are kept; the cross propagator ``gx v = C x cross v`` needs only
    the three blocks ``K[c] = C x_c / k``. A product with the whole 6N x 6N operator then reads
    9 N^2 complex numbers (memory traffic is what limits it), and several right-hand sides are
    handled in one pass.

    Parameters
    ----------
    positions : (N, 3) float [m]
    k : float [1/m]
    chi_e, chi_m : (N, 3, 3) complex
        Dimensionless polarizabilities ``k^3 alpha_e/(eps0 eps_m)`` and ``k^3 alpha_m``.
    """

    _PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))

    def __init__(self, positions: np.ndarray, k: float, chi_e: np.ndarray, chi_m: np.ndarray):
        N = len(positions)
        self.N = N
        self.chi_e = chi_e
        self.chi_m = chi_m
        self.has_magnetic = bool(np.any(chi_m))
        X, inv_r, phase = pair_geometry(positions, positions, k)  # phase = 0 on the diagonal: no self term
        co = _radial_coefficients(k)
        A = _evaluate(co["A"], phase, inv_r)
        A *= 1.0 / k
        B = _evaluate(co["B"], phase, inv_r)
        B *= 1.0 / k
        # g[a, b] = A delta_ab + B x_a x_b, the six blocks stacked in one contiguous (6, N, N) array
        self.g = np.empty((6, N, N), complex)
        for i, (a, b) in enumerate(self._PAIRS):
            np.multiply(B, X[a] * X[b], out=self.g[i])
            if a == b:
                self.g[i] += A
        del A, B
        # cross blocks: needed for the magnetic field at the particles even without magnetic dipoles
        C = _evaluate(co["C"], phase, inv_r)
        C *= 1.0 / k
        self.K = np.empty((3, N, N), complex)
        for c in range(3):
            np.multiply(C, X[c], out=self.K[c])

    def polarize(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(chi_e E, chi_m ZH)`` as two (N, 3) arrays from a field-major vector ``u`` (6N,)."""
        N = self.N
        e = u[: 3 * N].reshape(N, 3)
        h = u[3 * N :].reshape(N, 3)
        return np.einsum("nij,nj->ni", self.chi_e, e), np.einsum("nij,nj->ni", self.chi_m, h)

    def _products(self, blocks: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Every block times every component of ``V`` in one BLAS call: (nb, N, 3, R)."""
        nb, N, _ = blocks.shape
        R = V.shape[2]
        return (blocks.reshape(nb * N, N) @ V.reshape(N, 3 * R)).reshape(nb, N, 3, R)

    def apply_g(self, V: np.ndarray) -> np.ndarray:
        """``g`` applied to stacked fields ``V`` (N, 3, R) -> (N, 3, R) (R right-hand sides)."""
        P = self._products(self.g, V)
        out = np.zeros_like(V)
        for i, (a, b) in enumerate(self._PAIRS):
            out[:, a] += P[i, :, b]
            if a != b:
                out[:, b] += P[i, :, a]
        return out

    def apply_gx(self, V: np.ndarray) -> np.ndarray:
        """``gx`` (``v -> C x cross v``) applied to ``V`` (N, 3, R) -> (N, 3, R)."""
        P = self._products(self.K, V)
        out = np.zeros_like(V)
        # (x cross v)_a = eps_abc x_b v_c: K_c enters (gx v)_a with +v_b and (gx v)_b with -v_a
        for c, (a, b) in enumerate(((2, 1), (0, 2), (1, 0))):
            out[:, a] += P[c, :, b]
            out[:, b] -= P[c, :, a]
        return out

    def scatter(self, u: np.ndarray) -> np.ndarray:
        """``W chi u``: fields at every particle scattered by all the others (6N,)."""
        N = self.N
        ve, vh = self.polarize(u)
        if not self.has_magnetic:  # E from electric dipoles only; H = gx chi_e E
            e = self.apply_g(ve[:, :, None])[:, :, 0]
            h = self.apply_gx(ve[:, :, None])[:, :, 0]
            return np.concatenate([e.ravel(), h.ravel()])
        both = np.stack([ve, vh], axis=2)  # (N, 3, 2)
        G = self.apply_g(both)
        Xv = self.apply_gx(both)
        e = G[:, :, 0] - Xv[:, :, 1]
        h = Xv[:, :, 0] + G[:, :, 1]
        return np.concatenate([e.ravel(), h.ravel()])

    def matvec(self, u: np.ndarray) -> np.ndarray:
        """``(1 - W chi) u``."""
        return u - self.scatter(u)

    def _dense_blocks(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Particle-major 3N x 3N matrices of ``g`` and ``gx``."""
        N = self.N
        g = np.empty((N, 3, N, 3), complex)
        for i, (a, b) in enumerate(self._PAIRS):
            g[:, a, :, b] = self.g[i]
            g[:, b, :, a] = self.g[i]
        gx = np.zeros((N, 3, N, 3), complex)
        for c, (a, b) in enumerate(((2, 1), (0, 2), (1, 0))):
            gx[:, a, :, b] = self.K[c]
            gx[:, b, :, a] = -self.K[c]
        return g.reshape(3 * N, 3 * N), gx.reshape(3 * N, 3 * N)

    def dense_electric(self) -> np.ndarray:
        """``1 - g chi_e`` (3N x 3N): the whole system when no particle has a magnetic dipole.

        Then the E equations close on themselves and ``Z H = Z H_inc + gx chi_e E`` follows
        explicitly, so a factorization of this matrix (8x cheaper than the 6N one) is the full solve.
        """
        N = self.N
        g, _ = self._dense_blocks()
        diag = np.einsum("jaa->ja", self.chi_e)
        if np.array_equal(self.chi_e, diag[:, :, None] * np.eye(3)):
            A = g * -diag.reshape(1, 3 * N)
        else:
            A = -np.einsum("rja,jab->rjb", g.reshape(3 * N, N, 3), self.chi_e).reshape(3 * N, 3 * N)
        A[np.diag_indices(3 * N)] += 1.0
        return A

    def dense(self) -> np.ndarray:
        """The field-major 6N x 6N matrix ``1 - W chi``."""
        N = self.N
        n3 = 3 * N
        g, gx = self._dense_blocks()
        W = np.zeros((6 * N, 6 * N), complex)
        W[:n3, :n3] = g
        W[n3:, n3:] = g
        W[:n3, n3:] = -gx
        W[n3:, :n3] = gx
        del g, gx
        # right-multiply by block-diagonal chi: column block (j) times chi_j
        chi = np.concatenate([self.chi_e, self.chi_m])  # (2N, 3, 3), field-major blocks
        diag = np.einsum("jaa->ja", chi)
        if np.array_equal(chi, diag[:, :, None] * np.eye(3)):  # diagonal tensors: scale the columns
            W *= -diag.reshape(1, 6 * N)
        else:
            W = -np.einsum("rja,jab->rjb", W.reshape(6 * N, 2 * N, 3), chi).reshape(6 * N, 6 * N)
        W[np.diag_indices(6 * N)] += 1.0
        return W


@dataclass(frozen=True, eq=False)
class Solution:
    """Result of :func:`solve`: induced dipoles and local fields, with provenance.

    Attributes
    ----------
    scene : Scene
    E_local : (N, 3) complex [V/m]   local electric field (incident + scattered by others)
    H_local : (N, 3) complex [A/m]   local magnetic field
    p : (N, 3) complex [C m]         electric dipoles
    m : (N, 3) complex [A m^2]       magnetic dipoles
    alpha_e : (N, 3, 3) complex [F m^2]
    alpha_m : (N, 3, 3) complex [m^3]
    method : str                     "direct", "iterative", "orders=n"
    info : dict                      residual, iterations, condition estimate, timings [s], version
    """

    scene: Scene
    E_local: np.ndarray
    H_local: np.ndarray
    p: np.ndarray
    m: np.ndarray
    alpha_e: np.ndarray
    alpha_m: np.ndarray
    method: str
    info: dict = field(default_factory=dict)
    _operator: Any = field(default=None, repr=False)
    _lu: Any = field(default=None, repr=False)
    #: dipoles (p, m) that radiate the scattered part of the local fields; None = (p, m) (self-consistent)
    _sources: Any = field(default=None, repr=False)

    @property
    def coherent_parts(self) -> tuple["Solution", ...]:
        """The coherent solutions whose time-averaged observables add up to this one's: ``(self,)``.

        :class:`cdsolve.scattering.coherence.IncoherentSolution` has the same property (one solution
        per coherent group), so code above this layer (Jacobians, noise) treats both alike.
        """
        return (self,)

    @property
    def source_dipoles(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p, m)`` (N, 3) that radiate the scattered part of the local fields.

        Equal to ``(p, m)`` for a self-consistent solve; the order-(n-1) dipoles for ``orders=n``.
        """
        return (self.p, self.m) if self._sources is None else self._sources

    # observables live in cdsolve.scattering.observables; thin delegating methods keep the stable surface
    def forces(self) -> np.ndarray:
        """Time-averaged optical force on each particle, (N, 3) float [N].

        Plus the Casimir-Polder force when the scene asks for it (``Scene.casimir``).
        """
        F = optical_forces(self)
        return F if self.scene.casimir is None else F + self.scene.casimir.forces(self.scene)

    def isolated_forces(self) -> np.ndarray:
        """Force each particle would feel alone in the same beams, (N, 3) float [N]."""
        return isolated_forces(self.scene)

    def interaction_forces(self) -> np.ndarray:
        """Interaction (optical-binding) force ``F - F_iso``, (N, 3) float [N]."""
        return self.forces() - self.isolated_forces()

    def force_components(self) -> dict:
        """Electric, magnetic and e-m interference parts of :meth:`forces` (each (N, 3) [N]).

        With ``Scene.casimir`` also ``"casimir"`` (included in ``"total"``).
        """
        parts = optical_forces(self, split=True)
        if self.scene.casimir is not None:
            parts["casimir"] = self.scene.casimir.forces(self.scene)
            parts["total"] = parts["total"] + parts["casimir"]
        return parts

    def torques(self) -> np.ndarray:
        """Time-averaged torque about each particle centre, (N, 3) float [N m]."""
        return optical_torques(self)

    def cross_sections(self) -> dict:
        """Extinction, scattering and absorption of the whole cluster (see :func:`cdsolve.scattering.observables.cross_sections`)."""
        return cross_sections(self)

    def fields(self, points, *, scattered_only: bool = False):
        """Total (or scattered) ``E (M,3) [V/m], H (M,3) [A/m]`` at arbitrary ``points`` (M, 3) [m]."""
        return fields_at(self, points, scattered_only=scattered_only)

    def local_field_gradients(self):
        """``dE, dH`` (N, 3, 3) at the particles: ``dE[n, a, i] = d E_i / d r_a`` of the local field."""
        return local_field_gradients(self)


def interaction_matrix(scene: Scene) -> np.ndarray:
    """Particle-major 6N x 6N coupled-dipole matrix ``1 - W chi`` for ``u = (E_1, Z H_1, E_2, ...)``.

    This is the Green-tensor coupling of the whole array in dimensionless form (see module docs).
    """
    op = _operator(scene)
    A = op.dense()
    N = scene.n_particles
    perm = np.arange(6 * N).reshape(2, N, 3).transpose(1, 0, 2).ravel()  # particle-major -> field-major index
    return A[np.ix_(perm, perm)]


def _operator(scene: Scene) -> CouplingOperator:
    k = scene.k
    eps = EPS0 * scene.n_medium**2
    ae, am = scene.polarizabilities()
    return CouplingOperator(scene.positions, k, k**3 * ae / eps, k**3 * am)


def _incident_vector(scene: Scene) -> np.ndarray:
    E, H = scene.incident_fields()
    Z = Z0 / scene.n_medium
    return np.concatenate([np.asarray(E, complex).ravel(), (Z * np.asarray(H, complex)).ravel()])


def solve_coherent(
    scene: Scene,
    *,
    method: SolveMethod = "auto",
    orders: int | None = None,
    rtol: float = 1e-10,
    maxiter: int = 500,
) -> Solution:
    """Solve the coupled electric + magnetic dipole equations of ``scene`` with coherent illumination.

    The public entry point is :func:`cdsolve.solve` (:mod:`cdsolve.scattering.dispatch`): it checks
    the dipole model's validity and sends incoherent illumination to
    :func:`cdsolve.scattering.coherence.solve_incoherent`, which calls this function once per group.

    Parameters
    ----------
    scene : Scene
    method : {"auto", "direct", "iterative"}
        See the module docstring.
    orders : int, optional
        Number of scattering events instead of the self-consistent solution (0 = no coupling,
        1 = single scattering).
    rtol : float
        Relative residual target of the iterative solver.
    maxiter : int
        GMRES iteration cap (restart 60) before falling back to the direct solve.

    Returns
    -------
    Solution

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0], [0, 0, 600e-9]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> sol = solve_coherent(scene)
    >>> sol.p.shape, sol.info["residual"] < 1e-12
    ((2, 3), True)
    """
    if method not in ("auto", "direct", "iterative"):
        raise ValueError(f"method must be 'auto', 'direct' or 'iterative', got {method!r}")
    if orders is not None and (not isinstance(orders, (int, np.integer)) or orders < 0):
        raise ValueError(f"orders must be a non-negative integer, got {orders!r}")
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    if isinstance(scene.illumination, IncoherentBeams):  # no coherent field to solve with
        raise ValueError("solve_coherent needs coherent illumination; incoherent beam groups are solved by "
                         "cdsolve.solve (one coherent solve per group)")

    t = {}
    t0 = time.perf_counter()
    op = _operator(scene)
    b = _incident_vector(scene)
    t["assemble"] = time.perf_counter() - t0
    N = scene.n_particles
    info: dict = {"version": __version__, "n_unknowns": 6 * N}
    lu = None
    t0 = time.perf_counter()
    sources = None
    if orders is not None:
        u = b.copy()
        u_prev = np.zeros_like(b)
        for _ in range(int(orders)):
            u_prev, u = u, b + op.scatter(u)
        sources = u_prev
        used = f"orders={int(orders)}"
        info["orders"] = int(orders)
    else:
        if method == "auto":
            method = "direct" if 6 * N <= _AUTO_DIRECT_MAX else "iterative"
        used = method
        if method == "iterative":
            u, it_info = _gmres(op, b, rtol, maxiter)
            info.update(it_info)
            if not it_info["converged"]:
                warnings.warn(
                    f"GMRES did not reach rtol={rtol} in {it_info['iterations']} iterations "
                    f"(residual {it_info['gmres_residual']:.2e}); falling back to a direct solve",
                    RuntimeWarning,
                    stacklevel=2,
                )
                info["fallback"] = "direct (GMRES stalled)"
                method = used = "direct"
        if method == "direct":
            lu = factorize(op)
            u = lu_apply(op, lu, b)
            rcond = lu.rcond
            info["condition_estimate"] = 1.0 / rcond if rcond > 0 else np.inf
            if not rcond > 1e-13:
                warnings.warn(
                    f"coupled-dipole matrix is ill-conditioned (condition ~ {info['condition_estimate']:.2e}); "
                    "results may be inaccurate (collective resonance or near-overlap)",
                    IllConditionedWarning,
                    stacklevel=2,
                )
    t["solve"] = time.perf_counter() - t0
    info["residual"] = float(np.linalg.norm(b - op.matvec(u)) / np.linalg.norm(b)) if orders is None else None
    info["timings"] = t
    ve, vh = op.polarize(u)
    Z = Z0 / scene.n_medium
    k = scene.k
    eps = EPS0 * scene.n_medium**2
    E = u[: 3 * N].reshape(N, 3)
    H = u[3 * N :].reshape(N, 3) / Z
    p = ve * eps / k**3
    m = vh / (Z * k**3)
    ae, am = op.chi_e * eps / k**3, op.chi_m / k**3
    if sources is not None:
        se, sh = op.polarize(sources)
        sources = (se * eps / k**3, sh / (Z * k**3))
    return Solution(scene, E, H, p, m, ae, am, used, info, _operator=op, _lu=lu, _sources=sources)


@dataclass(frozen=True, eq=False)
class Factorization:
    """LU factors of the coupled-dipole matrix, reusable for any number of right-hand sides.

    ``electric_only``: the factors are of ``1 - g chi_e`` (3N) and the magnetic-field rows follow
    explicitly (no particle has a magnetic dipole); otherwise of the full 6N matrix.
    """

    lu: Any
    electric_only: bool
    rcond: float


def factorize(op: CouplingOperator) -> Factorization:
    """Dense LU of the (reduced when possible) system with a LAPACK condition estimate."""
    A = op.dense() if op.has_magnetic else op.dense_electric()
    anorm = np.linalg.norm(A, 1)
    lu = sla.lu_factor(A, overwrite_a=True, check_finite=False)  # A is ours: factor in place
    return Factorization(lu, not op.has_magnetic, _rcond(lu, anorm))


def lu_apply(op: CouplingOperator, fac: Factorization, rhs: np.ndarray, need_h: bool = True,
             overwrite_rhs: bool = False) -> np.ndarray:
    """Solve ``(1 - W chi) x = rhs`` for field-major ``rhs`` (6N,) or (6N, ncol) with the factors.

    With ``need_h=False`` the magnetic rows of an electric-only solution are left as given in ``rhs``
    (callers that only use ``chi x`` do not need them: ``chi_m = 0``). ``overwrite_rhs``: the caller
    does not need ``rhs`` afterwards (saves a copy of many right-hand sides).
    """
    if not fac.electric_only:
        return sla.lu_solve(fac.lu, rhs, check_finite=False, overwrite_b=overwrite_rhs)
    n3 = 3 * op.N
    x = np.array(rhs, dtype=complex, copy=True)
    x[:n3] = sla.lu_solve(fac.lu, rhs[:n3], check_finite=False)
    if need_h:
        if x.ndim == 1:
            x[n3:] = rhs[n3:] + op.scatter(np.concatenate([x[:n3], np.zeros(n3, complex)]))[n3:]
        else:
            e = np.einsum("nij,njr->nir", op.chi_e, x[:n3].reshape(op.N, 3, -1))
            x[n3:] = rhs[n3:] + op.apply_gx(e).reshape(n3, -1)
    return x


def _rcond(lu, anorm: float) -> float:
    """Reciprocal 1-norm condition estimate from an LU factorization (LAPACK gecon)."""
    gecon = sla.get_lapack_funcs("gecon", (lu[0],))
    rcond, _ = gecon(lu[0], anorm, norm="1")
    return float(rcond)


def _gmres(op: CouplingOperator, b: np.ndarray, rtol: float, maxiter: int):
    n = b.size
    A = LinearOperator((n, n), matvec=op.matvec, dtype=complex)
    count = [0]

    def cb(_):
        count[0] += 1

    u, flag = gmres(A, b, rtol=rtol, atol=0.0, restart=60, maxiter=maxiter, callback=cb, callback_type="pr_norm")
    res = float(np.linalg.norm(b - op.matvec(u)) / np.linalg.norm(b))
    return u, {
        "iterations": count[0],
        "converged": bool(flag == 0 and res <= 10 * rtol),
        "gmres_residual": res,
    }
