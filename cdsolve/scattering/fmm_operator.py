"""Fast-multipole coupling operator for arbitrary particle positions (Flatiron FMM3D, ``fmm3dpy``).

Same interface and normalization as the dense :class:`cdsolve.scattering.solver.CouplingOperator`:
the field-major vector ``u = (E_1..E_N, ZH_1..ZH_N)``, dimensionless propagators ``g = G/k`` and
``gx = Gx/k``, and

    E_scat  = g (chi_e E) - gx (chi_m ZH),     ZH_scat = gx (chi_e E) + g (chi_m ZH).

How the propagators become scalar Helmholtz potentials
------------------------------------------------------
With ``phi(r) = exp(ikr)/(4 pi r)`` (the FMM3D Helmholtz kernel) and a vector density ``q_j`` at the
particles, ``G q = (1 + grad div / k^2)(phi * q) = curl curl (phi * q) / k^2`` away from the sources
(``-lap = k^2`` there) and ``Gx q = curl(phi * q) / (ik)`` (because ``C(r) r = grad phi / (ik)``).
The components ``B_i = curl(phi * q)_i = sum_j grad phi . (q_j x e_i)`` are *dipole* potentials, which
FMM3D evaluates with their gradients (its dipole convention is ``u = -v . grad phi``, so the dipole
vectors are ``e_i x q_j``). One FMM call with three dipole densities per source vector gives

    gx q = B / (i k^2)   (the potentials),       g q = curl B / k^3   (from the gradients).

Field gradients (forces)
------------------------
``d_a (gx q)_i = d_a B_i / (i k^2)`` is exact from the same gradients. ``d_a (g q)_i =
[d_a(phi q_i) + d_a d_i U / k^2] / k`` with ``U = div(phi * q) = q . grad phi``: the first term is the
gradient of three charge potentials (exact), the second a Hessian of the dipole potential ``U``, i.e.
*third* derivatives of ``phi``, which FMM3D's Helmholtz code does not return (its Python interface stops
at gradients). The Hessian is split:

* near sources (within ``R_n = NEAR_FACTOR * s_n`` of particle n, ``s_n = min(nearest-neighbour
  distance, 1/k)``) exactly, from the closed-form third derivatives of ``phi``;
* the rest by a sixth-order central difference of FMM gradients of ``U`` at 12 displaced targets
  ``x_n +- m h_n e_a`` (``a = x, y``, ``m = 1, 2, 3``, ``h_n = STEP_FACTOR * s_n``), from which the exact
  near contributions (self term included) are subtracted first. The z row follows from the symmetry of the
  Hessian and its trace, ``lap U_far = -k^2 U_far`` (no far source at ``x_n``; ``U_far`` = FMM potential at
  ``x_n`` minus the near terms), so 12 targets per particle instead of 18.

Calls. The gradient stage makes two FMM3D calls: one at the particles only (3R charges ``q_i``, R dipoles
``q`` for ``U``, and 3R dipoles ``e_i x q`` for ``d_a B_i`` unless cached), one at the displaced targets
only (R dipoles). FMM3D's cost grows with the number of points (sources + targets: 13N here), and at the
targets it also grows with ``nd``: N = 2000, 12N targets, eps 1e-10: nd = 1 took 4.6 s, nd = 7 (everything
in one call) 13.7 s, the particle-only call with nd = 3 0.6 s; so two calls beat one. The operator keeps
its last product (densities, ``B``, ``curl B``, ``grad B``): GMRES ends with a true residual on the
solution, the solver's ``apply_gx`` and final residual of that solution then cost no FMM call, and the
gradients take ``d_a B_i`` from it (densities equal to 8 ulp: the observables pass ``p eps/k^3 * k^3/eps``).
A solve + forces costs GMRES products + 2 FMM3D calls (was products + 2 + 3 before this cache).

Accuracy of the far Hessian. The error is the difference formula's, not the FMM's: the far part of ``U``
oscillates on the scale ``1/k`` and ``h <= 0.1/k``, so the truncation error is ~ ``(k h)^6 / 140``; fourth
order (8 targets) was measured 1e-6 relative in the gradients (300 random points, 4 um cube), i.e. not
enough, and a larger near zone does not help it. A smaller step does not help either: FMM3D rescales
coordinates to its tree, so the huge self term at a target ``h`` away from its own source carries a
round-off ~1e-16 (L/h) of itself (measured: 1e-10 of the gradient scale at h = 0.04/k, 1.5e-4 at
h = 1e-3/k). The FMM tolerance of the gradient calls is ``precision`` itself: with it at 1e-2, 1e-1 and 1 x
``precision`` the errors were identical to all printed digits (300 points, 4 um; 2000 points, 9 um;
precision 1e-9 and 1e-10), e.g. 2000 points: field gradients 2.9e-9, forces 3.1e-9 relative
(largest per particle 4.6e-8) with the x, y + trace scheme, 2.6e-9 / 2.8e-9 with all three axes; 300
e+m silicon spheres: 2.2e-9 (dE), 3.5e-10 (dZH), forces 2.3e-9. Solve + forces, 2000 silica spheres
(9 um cube, benchmarks/bench_fmm.py) against the dense backend: dipoles 1e-16, forces 1.9e-9.

Precision
---------
``precision`` is the FMM3D tolerance ``eps`` (relative, in the 2-norm over all particles). Measured
against the dense operator (tests/test_fmm_backend.py, 300-2000 random positions, electric-only and
e+m silicon spheres) the products agree to about ``precision`` (below 1e-8 relative at the default
1e-9) and the field gradients and forces to ~3e-9 (the difference formula above).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

from .operators import OperatorBase

__all__ = ["FMMOperator", "fmm_available"]

#: near-field radius for the exact part of the field Hessians, in units of s_n = min(d_nn, 1/k)
NEAR_FACTOR = 4.0
#: finite-difference step for the far part, in units of s_n
STEP_FACTOR = 0.1
# sixth-order central difference f'(0) ~ sum_m c_m (f(m h) - f(-m h)) / h
_FD_STEPS = np.array([1.0, 2.0, 3.0])
#: axes of the displaced targets (x, y: the z row of the Hessian follows from symmetry and the trace)
_FD_AXES = (0, 1)
#: FMM3D tolerance of the gradient call relative to ``precision``
GRAD_EPS_FACTOR = 1.0
_FD_WEIGHTS = np.array([45.0, -9.0, 1.0]) / 60.0
_Q4 = 1.0 / (4.0 * np.pi)


def _phi_radial_derivatives(k: float, r: np.ndarray):
    """``D phi, D^2 phi, D^3 phi`` with ``phi = e^{ikr}/(4 pi r)`` and ``D = (1/r) d/dr``, each (P,) complex.

    Then ``d_i phi = x_i D phi`` and ``d_a d_i phi = delta_ai D phi + x_a x_i D^2 phi`` (and so on): the closed
    forms of the near-field terms that the FMM does not return.
    """
    ir = 1.0 / r
    ph = np.exp(1j * k * r) * _Q4
    ik = 1j * k
    d1 = ph * (ik * ir**2 - ir**3)
    d2 = ph * (-(k**2) * ir**3 - 3 * ik * ir**4 + 3 * ir**5)
    d3 = ph * (-1j * k**3 * ir**4 + 6 * k**2 * ir**5 + 15 * ik * ir**6 - 15 * ir**7)
    return d1, d2, d3


#: oldest fmm3dpy whose Helmholtz FMM this module is tested with (1.0.0 gives wrong products here; 2.1 needs
#: numpy >= 1.26.4, so the ``fmm`` extra raises cdsolve's numpy floor)
MIN_FMM3DPY = (2, 1)


def _fmm3dpy_version() -> tuple[int, ...] | None:
    import importlib.metadata

    try:
        text = importlib.metadata.version("fmm3dpy")
    except importlib.metadata.PackageNotFoundError:
        return None
    return tuple(int(x) for x in text.split(".")[:2] if x.isdigit())


def fmm_available() -> bool:
    """True when ``fmm3dpy`` (the ``fmm`` extra) at least :data:`MIN_FMM3DPY` can be imported."""
    version = _fmm3dpy_version()
    if version is None or version < MIN_FMM3DPY:
        return False
    try:
        import fmm3dpy  # noqa: F401
    except ImportError:
        return False
    return True


def _hfmm():
    version = _fmm3dpy_version()
    if version is not None and version < MIN_FMM3DPY:
        raise ImportError(f"the FMM backend needs fmm3dpy >= {'.'.join(map(str, MIN_FMM3DPY))} (found "
                          f"{'.'.join(map(str, version))}, whose results are wrong here): pip install 'cdsolve[fmm]'")
    try:
        import fmm3dpy
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("the FMM backend needs fmm3dpy: pip install 'cdsolve[fmm]' (or pip install fmm3dpy)") from exc
    return fmm3dpy.hfmm3d


def _check_chi(name: str, chi, N: int) -> np.ndarray:
    chi = np.asarray(chi)
    if chi.shape != (N, 3, 3):
        raise ValueError(f"{name} must have shape (N, 3, 3) = ({N}, 3, 3), got {chi.shape}")
    if not np.all(np.isfinite(chi)):
        raise ValueError(f"{name} contains NaN or inf")
    return chi.astype(complex, copy=False)


class FMMOperator(OperatorBase):
    """Coupling operator ``W chi`` evaluated with the Helmholtz FMM (memory and time ~ N, not N^2).

    Parameters
    ----------
    positions : (N, 3) float [m]
        Particle centres, pairwise distinct.
    k : float [1/m]
        Host wavenumber, finite and > 0.
    chi_e, chi_m : (N, 3, 3) complex
        Dimensionless polarizabilities ``k^3 alpha_e/(eps0 eps_m)`` and ``k^3 alpha_m``.
    precision : float
        FMM3D tolerance ``eps``, in [1e-14, 1e-2] (default 1e-9).

    Methods mirror :class:`cdsolve.scattering.solver.CouplingOperator`: ``polarize``, ``scatter``,
    ``matvec``, ``apply_g``, ``apply_gx``, plus :meth:`scattered_field_gradients`.
    """

    def __init__(self, positions, k: float, chi_e, chi_m, precision: float = 1e-9):
        pos = np.asarray(positions, dtype=float)
        if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) == 0:
            raise ValueError(f"positions must have shape (N, 3) with N >= 1, got {pos.shape}")
        if not np.all(np.isfinite(pos)):
            raise ValueError("positions contain NaN or inf")
        k = float(k)
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"k must be finite and > 0, got {k!r}")
        precision = float(precision)
        if not (1e-14 <= precision <= 1e-2):
            raise ValueError(f"precision must be in [1e-14, 1e-2], got {precision!r}")
        N = len(pos)
        self.N = N
        self.k = k
        self.positions = pos
        self.precision = precision
        self.chi_e = _check_chi("chi_e", chi_e, N)
        self.chi_m = _check_chi("chi_m", chi_m, N)
        self.has_magnetic = bool(np.any(self.chi_m))
        self._tree = cKDTree(pos)
        if N > 1:
            dist, _ = self._tree.query(pos, k=2)
            nn = dist[:, 1]
            if np.any(nn == 0):
                raise ValueError("positions contain coincident particles (zero separation)")
        else:
            nn = np.full(1, np.inf)
        self._nn = nn
        self._src = np.ascontiguousarray(pos.T)
        self._hfmm = _hfmm()
        self._near = None  # lazily built near-field pair lists (gradients only)
        self._last = None  # (densities, B, curl B, grad B) of the last product
        #: number of FMM3D calls made and seconds spent per stage (product_fmm, gradient_fmm, near_pairs,
        #: gradient_rest), accumulated over the operator's life (benchmarks read them)
        self.fmm_calls = 0
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ products
    def polarize(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(chi_e E, chi_m ZH)`` as two (N, 3) complex arrays from a field-major vector ``u`` (6N,)."""
        N = self.N
        u = np.asarray(u)
        if u.shape != (6 * N,):
            raise ValueError(f"u must have shape (6N,) = ({6 * N},), got {u.shape}")
        e = u[: 3 * N].reshape(N, 3)
        h = u[3 * N :].reshape(N, 3)
        return np.einsum("nij,nj->ni", self.chi_e, e), np.einsum("nij,nj->ni", self.chi_m, h)

    @staticmethod
    def _cross_dipoles(Q: np.ndarray) -> np.ndarray:
        """FMM3D dipole vectors ``e_i x q`` of the three components ``B_i`` of ``curl(phi * q)``: (R, 3, 3, N)."""
        R, N = Q.shape[:2]
        dip = np.empty((R, 3, 3, N), complex)
        for i in range(3):
            e = np.zeros(3)
            e[i] = 1.0
            dip[:, i] = np.cross(e, Q).transpose(0, 2, 1)
        return dip

    def _cached(self, Q: np.ndarray):
        """``d_a B_i`` (R, N, 3, 3) of the last product if its densities equal ``Q`` (R, N, 3), else None.

        Equal means within 8 ulp in the max norm (the solution's dipoles come back to the observables as
        ``p eps/k^3 * k^3/eps``, a rounding round trip); the products differ then by ~1e-15 relative, far
        below the FMM precision.
        """
        c = self._last
        if c is None or c[0].shape != Q.shape:
            return None
        scale = float(np.abs(c[0]).max())
        if float(np.abs(Q - c[0]).max()) > 8 * np.finfo(float).eps * scale:
            return None
        return c[3]

    def _curl_potentials(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``B = curl(phi * q)`` and ``curl B`` at the particles for R vector densities ``Q`` (R, N, 3).

        Returns ``B`` and ``curl B``, each (R, N, 3) complex (self terms excluded). The last call's densities
        and results are kept: a repeated product (GMRES's last true residual, then the solver's
        ``apply_gx`` and residual of the same solution, then the gradients) costs no FMM call.
        """
        R, N = Q.shape[:2]
        c = self._last
        if c is not None and c[0].shape == Q.shape and np.array_equal(c[0], Q):
            return c[1], c[2]
        nd = 3 * R
        t0 = time.perf_counter()
        out = self._hfmm(eps=self.precision, zk=self.k, sources=self._src,
                         dipvec=self._cross_dipoles(Q).reshape(nd, 3, N), pg=2, nd=nd)
        self.timings["product_fmm"] = self.timings.get("product_fmm", 0.0) + time.perf_counter() - t0
        self.fmm_calls += 1
        pot = np.asarray(out.pot).reshape(R, 3, N)
        grad = np.asarray(out.grad).reshape(R, 3, 3, N)  # (r, i, a, n) = d_a B_i
        B = pot.transpose(0, 2, 1)
        curl = np.empty((R, N, 3), complex)
        curl[:, :, 0] = grad[:, 2, 1] - grad[:, 1, 2]
        curl[:, :, 1] = grad[:, 0, 2] - grad[:, 2, 0]
        curl[:, :, 2] = grad[:, 1, 0] - grad[:, 0, 1]
        self._last = (Q.copy(), B, curl, grad.transpose(0, 3, 2, 1).copy())  # dB (r, n, a, i)
        return B, curl

    def _apply_both(self, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        V = np.asarray(V)
        if V.ndim != 3 or V.shape[:2] != (self.N, 3):
            raise ValueError(f"V must have shape (N, 3, R) = ({self.N}, 3, R), got {V.shape}")
        k = self.k
        B, curl = self._curl_potentials(np.ascontiguousarray(V.transpose(2, 0, 1)).astype(complex))
        g = (curl / k**3).transpose(1, 2, 0)
        gx = (B / (1j * k**2)).transpose(1, 2, 0)
        return g, gx

    def apply_g(self, V: np.ndarray) -> np.ndarray:
        """``g`` applied to stacked fields ``V`` (N, 3, R) complex -> (N, 3, R) (R right-hand sides)."""
        return self._apply_both(V)[0]

    def apply_gx(self, V: np.ndarray) -> np.ndarray:
        """``gx`` (``v -> C x cross v``) applied to ``V`` (N, 3, R) complex -> (N, 3, R)."""
        return self._apply_both(V)[1]

    def scatter(self, u: np.ndarray) -> np.ndarray:
        """``W chi u``: fields at every particle scattered by all the others, (6N,) complex."""
        ve, vh = self.polarize(u)
        k = self.k
        if not self.has_magnetic:
            B, curl = self._curl_potentials(ve[None])
            e, h = curl[0] / k**3, B[0] / (1j * k**2)
        else:
            B, curl = self._curl_potentials(np.stack([ve, vh]))
            g, gx = curl / k**3, B / (1j * k**2)
            e = g[0] - gx[1]
            h = gx[0] + g[1]
        return np.concatenate([e.ravel(), h.ravel()])

    def matvec(self, u: np.ndarray) -> np.ndarray:
        """``(1 - W chi) u``, (6N,) complex."""
        return np.asarray(u) - self.scatter(u)

    # ------------------------------------------------------------------ gradients
    def _near_pairs(self):
        """Near pairs and their sum matrices (built once per geometry).

        Returns ``(t, j, h, M, tt, jj, Mt)``: directed pairs (target t, source j != t) with
        ``|x_t - x_j| < R_t`` (P,) int each; the steps ``h`` (N,) [m]; ``M`` the (N, P) sparse 0/1 matrix
        summing a pair quantity onto its target; ``tt, jj`` the same pairs plus the self pairs (n, n) and
        ``Mt`` their (N, P + N) sum matrix.
        """
        if self._near is None:
            import scipy.sparse as sp

            s = np.minimum(self._nn, 1.0 / self.k)
            radius = NEAR_FACTOR * s
            if self.N > 1:
                pairs = self._tree.query_pairs(float(radius.max()), output_type="ndarray")
            else:
                pairs = np.zeros((0, 2), int)
            t = np.concatenate([pairs[:, 0], pairs[:, 1]])
            j = np.concatenate([pairs[:, 1], pairs[:, 0]])
            d = np.linalg.norm(self.positions[t] - self.positions[j], axis=1)
            keep = d < radius[t]
            t, j = t[keep], j[keep]
            N = self.N
            tt = np.concatenate([t, np.arange(N)])
            jj = np.concatenate([j, np.arange(N)])
            M = sp.csr_matrix((np.ones(len(t)), (t, np.arange(len(t)))), shape=(N, len(t)))
            Mt = sp.csr_matrix((np.ones(len(tt)), (tt, np.arange(len(tt)))), shape=(N, len(tt)))
            self._near = (t, j, STEP_FACTOR * s, M, tt, jj, Mt)
        return self._near

    def _u_near(self, Q):
        """Exact near parts at the particles: ``U`` (R, N) and ``d_a d_i U`` (R, N, 3, 3) of densities Q (R, N, 3)."""
        t, j, _, M, _, _, _ = self._near_pairs()
        R, N = Q.shape[:2]
        X = self.positions[t] - self.positions[j]  # (P, 3)
        d1, d2, d3 = _phi_radial_derivatives(self.k, np.sqrt(np.einsum("pa,pa->p", X, X)))
        q = Q[:, j]  # (R, P, 3)
        xq = np.einsum("pa,rpa->rp", X, q)
        U = xq * d1  # q . grad phi
        H = (d2 * xq)[:, :, None, None] * np.eye(3)
        H = H + d2[None, :, None, None] * (X[None, :, :, None] * q[:, :, None, :] + q[:, :, :, None] * X[None, :, None, :])
        H = H + (d3[None] * xq)[:, :, None, None] * (X[:, :, None] * X[:, None, :])[None]
        P = len(t)
        Usum = (M @ U.T).T  # (R, N)
        Hsum = (M @ H.transpose(1, 0, 2, 3).reshape(P, -1)).reshape(N, R, 3, 3).transpose(1, 0, 2, 3)
        return Usum, Hsum

    def _near_grad_at(self, Y, Q):
        """``d_i U`` of the near sources (self included) at displaced targets ``Y[o, n]`` (O, N, 3) -> (R, O, N, 3).

        Vectorized over pairs and offsets; offsets are taken in chunks of about 4e6 pair terms (memory).
        """
        _, _, _, _, tt, jj, Mt = self._near_pairs()
        R, N = Q.shape[:2]
        O = Y.shape[0]
        P = len(tt)
        q = Q[:, jj]  # (R, P, 3)
        xj = self.positions[jj]
        out = np.empty((R, O, N, 3), complex)
        step = max(1, int(4e6 // max(P, 1)))
        for o0 in range(0, O, step):
            o1 = min(O, o0 + step)
            X = Y[o0:o1, tt] - xj[None]  # (o, P, 3)
            d1, d2, _ = _phi_radial_derivatives(self.k, np.sqrt(np.einsum("opa,opa->op", X, X)))
            xq = np.einsum("opa,rpa->rop", X, q)
            g = d1[None, :, :, None] * q[:, None] + (d2[None] * xq)[..., None] * X[None]  # (R, o, P, 3)
            s = Mt @ g.transpose(2, 0, 1, 3).reshape(P, -1)  # (N, R*o*3)
            out[:, o0:o1] = s.reshape(N, R, o1 - o0, 3).transpose(1, 2, 0, 3)
        return out

    def _fd_offsets(self):
        """Displaced-target offsets in units of h: (axis, step, sign) -> (A, M, 2, 3) for the FD axes."""
        offs = np.zeros((len(_FD_AXES), len(_FD_STEPS), 2, 3))
        for ia, a in enumerate(_FD_AXES):
            offs[ia, :, 0, a] = _FD_STEPS
            offs[ia, :, 1, a] = -_FD_STEPS
        return offs

    def scattered_field_gradients(self, ve: np.ndarray, vh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradients at each particle of the field scattered by all the other particles (two FMM3D calls).

        Parameters
        ----------
        ve, vh : (N, 3) complex [V/m]
            Normalized dipoles ``chi_e E`` and ``chi_m ZH`` (as from :meth:`polarize`).

        Returns
        -------
        dE, dZH : (N, 3, 3) complex [V/m^2]
            ``dE[n, a, i] = d_a E_i`` at particle n (self term excluded), in the normalization of
            :meth:`scatter` (``E_scat = g ve - gx vh``, ``ZH_scat = gx ve + g vh``).
        """
        N, k = self.N, self.k
        ve = np.asarray(ve, dtype=complex)
        vh = np.asarray(vh, dtype=complex)
        for name, v in (("ve", ve), ("vh", vh)):
            if v.shape != (N, 3):
                raise ValueError(f"{name} must have shape (N, 3) = ({N}, 3), got {v.shape}")
        magnetic = bool(np.any(vh))
        Q = np.stack([ve, vh]) if magnetic else ve[None]
        R = len(Q)
        t0 = time.perf_counter()
        _, _, h, _, _, _, _ = self._near_pairs()
        self.timings["near_pairs"] = self.timings.get("near_pairs", 0.0) + time.perf_counter() - t0
        cached = self._cached(Q)  # d_a B_i of the last product when it had these densities (the solution)
        # call 1, at the particles only: 3R charges q_i (-> d_a(phi q_i)), R dipoles q (-> U) and, unless cached,
        # 3R dipoles e_i x q (-> d_a B_i), stacked with nd (zero charges / zero dipoles where unused)
        nB = 0 if cached is not None else 3 * R
        nd = 4 * R + nB
        charges = np.zeros((nd, N), complex)
        dipvec = np.zeros((nd, 3, N), complex)
        charges[: 3 * R] = Q.transpose(0, 2, 1).reshape(3 * R, N)
        dipvec[3 * R : 4 * R] = Q.transpose(0, 2, 1)
        if nB:
            dipvec[4 * R :] = self._cross_dipoles(Q).reshape(3 * R, 3, N)
        eps = max(self.precision * GRAD_EPS_FACTOR, 1e-14)
        t0 = time.perf_counter()
        out = self._hfmm(eps=eps, zk=k, sources=self._src, charges=charges, dipvec=dipvec, pg=2, nd=nd)
        self.timings["gradient_fmm_sources"] = self.timings.get("gradient_fmm_sources", 0.0) + time.perf_counter() - t0
        # call 2, at the displaced targets only: the R dipole densities q (-> d_i U). Kept apart from call 1
        # because FMM3D's cost at targets grows with nd (N = 2000, 12N targets: nd = 7 took 2.6x nd = 1)
        offs = self._fd_offsets()  # (A, M, 2, 3)
        Y = self.positions[None] + offs.reshape(-1, 3)[:, None, :] * h[None, :, None]  # (O, N, 3)
        O = len(Y)
        t0 = time.perf_counter()
        dq = np.ascontiguousarray(Q.transpose(0, 2, 1))
        outt = self._hfmm(eps=eps, zk=k, sources=self._src, dipvec=dq[0] if R == 1 else dq,
                          targets=np.ascontiguousarray(Y.reshape(-1, 3).T), pgt=2, nd=R)
        self.timings["gradient_fmm_targets"] = self.timings.get("gradient_fmm_targets", 0.0) + time.perf_counter() - t0
        self.fmm_calls += 2
        t0 = time.perf_counter()
        pot = np.asarray(out.pot).reshape(nd, N)
        grad = np.asarray(out.grad).reshape(nd, 3, N)
        dphi = grad[: 3 * R].reshape(R, 3, 3, N).transpose(0, 3, 2, 1)  # (r, n, a, i) = d_a (phi q_i)
        if cached is not None:
            dB = cached
        else:
            dB = grad[4 * R :].reshape(R, 3, 3, N).transpose(0, 3, 2, 1)  # (r, n, a, i) = d_a B_i
        # far part of the Hessian of U = q . grad phi = -u_fmm: FMM gradients at the displaced targets minus
        # the near sources (self included), sixth-order central differences along the FD axes
        gU = -np.asarray(outt.gradtarg).reshape(R, 3, O, N).transpose(0, 2, 3, 1)  # (R, O, N, 3)
        gU = gU - self._near_grad_at(Y, Q)
        gU = gU.reshape(R, len(_FD_AXES), len(_FD_STEPS), 2, N, 3)
        diff = gU[:, :, :, 0] - gU[:, :, :, 1]  # (r, axis, m, n, i)
        rows = np.einsum("m,ramni->rnai", _FD_WEIGHTS, diff) / h[None, :, None, None]  # d_axis d_i U_far
        U_near, H_near = self._u_near(Q)
        HU = H_near.copy()
        if len(_FD_AXES) == 3:
            HU += rows
        else:  # axes x, y; the z row from symmetry and the trace (lap U_far = -k^2 U_far: no far source at x_n)
            U_far = -pot[3 * R : 4 * R] - U_near  # (R, N)
            HU[:, :, :2] += rows
            HU[:, :, 2, 0] += rows[:, :, 0, 2]
            HU[:, :, 2, 1] += rows[:, :, 1, 2]
            HU[:, :, 2, 2] += -(k**2) * U_far - rows[:, :, 0, 0] - rows[:, :, 1, 1]
        dg = (dphi + HU / k**2) / k  # d_a (g q)_i
        dgx = dB / (1j * k**2)  # d_a (gx q)_i
        self.timings["gradient_rest"] = self.timings.get("gradient_rest", 0.0) + time.perf_counter() - t0
        if not magnetic:
            return dg[0], dgx[0]
        return dg[0] - dgx[1], dgx[0] + dg[1]
