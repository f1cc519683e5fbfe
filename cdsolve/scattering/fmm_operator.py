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
[d_a(phi q_i) + d_a d_i U / k^2] / k`` with ``U = div(phi * q)``: the first term is the gradient of
three charge potentials (exact, one FMM call), the second a Hessian of the dipole potential ``U``,
i.e. *third* derivatives of ``phi``, which FMM3D's Helmholtz code does not return (its Python
interface stops at gradients). The Hessian is split:

* near sources (within ``R_n = NEAR_FACTOR * s_n`` of particle n, ``s_n = min(nearest-neighbour
  distance, 1/k)``) exactly, from the closed-form third derivatives of ``phi``;
* the rest, which is smooth on the scale ``R_n``, by a sixth-order central difference of FMM gradients
  of ``U`` at 18 displaced targets ``x_n +- m h_n e_a`` (``m = 1, 2, 3``, ``h_n = STEP_FACTOR * s_n``),
  from which the exact near contributions (self term included) are subtracted first.

Why not a smaller step: FMM3D rescales coordinates to its tree, so the huge self term at a target
``h`` away from its own source carries a round-off ~1e-16 (L/h) of itself (measured: 1e-10 of the
gradient scale at h = 0.04/k, 1.5e-4 at h = 1e-3/k); the step therefore stays at 0.1 s_n and the
exact near zone (4 s_n) keeps the sixth-order truncation error small. Measured error of the Hessian
of U against the closed form summed over all pairs: 6e-10 (300 random points, 3 um cube), 9e-10
(2000 points, 6 um), 2.5e-9 (2000 points, 20 um), 4.6e-9 (2000 points in a 30 um slab).

Precision
---------
``precision`` is the FMM3D tolerance ``eps`` (relative, in the 2-norm over all particles). Measured
against the dense operator (tests/test_fmm_backend.py, 300-2000 random positions, electric-only and
e+m silicon spheres) the products agree to about ``precision`` (below 1e-8 relative at the default
1e-9) and the field gradients to about 1e-8 or better.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["FMMOperator", "fmm_available"]

#: near-field radius for the exact part of the field Hessians, in units of s_n = min(d_nn, 1/k)
NEAR_FACTOR = 4.0
#: finite-difference step for the far part, in units of s_n
STEP_FACTOR = 0.1
# sixth-order central difference f'(0) ~ sum_m c_m (f(m h) - f(-m h)) / h
_FD_STEPS = np.array([1.0, 2.0, 3.0])
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


def _scatter_add(idx: np.ndarray, vals: np.ndarray, n: int) -> np.ndarray:
    """``out[m] = sum of vals[p] over idx[p] == m`` for complex vals (P, ...) -> (n, ...) (bincount, fast)."""
    flat = vals.reshape(len(idx), -1)
    out = np.empty((n, flat.shape[1]), complex)
    for c in range(flat.shape[1]):
        out[:, c] = np.bincount(idx, flat[:, c].real, n) + 1j * np.bincount(idx, flat[:, c].imag, n)
    return out.reshape((n,) + vals.shape[1:])


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


class FMMOperator:
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

    def _curl_potentials(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``B = curl(phi * q)`` and ``curl B`` at the particles for R vector densities ``Q`` (R, N, 3).

        Returns ``B`` and ``curl B``, each (R, N, 3) complex (self terms excluded).
        """
        R, N = Q.shape[:2]
        # dipole vectors e_i x q for the three components i of B: (R, 3, 3, N) = (r, i, xyz, n)
        dip = np.empty((R, 3, 3, N), complex)
        for i in range(3):
            e = np.zeros(3)
            e[i] = 1.0
            dip[:, i] = np.cross(e, Q).transpose(0, 2, 1)
        nd = 3 * R
        out = self._hfmm(eps=self.precision, zk=self.k, sources=self._src, dipvec=dip.reshape(nd, 3, N), pg=2, nd=nd)
        pot = np.asarray(out.pot).reshape(R, 3, N)
        grad = np.asarray(out.grad).reshape(R, 3, 3, N)  # (r, i, a, n) = d_a B_i
        B = pot.transpose(0, 2, 1)
        curl = np.empty((R, N, 3), complex)
        curl[:, :, 0] = grad[:, 2, 1] - grad[:, 1, 2]
        curl[:, :, 1] = grad[:, 0, 2] - grad[:, 2, 0]
        curl[:, :, 2] = grad[:, 1, 0] - grad[:, 0, 1]
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
        """Directed near pairs (target n, source j != n) with |x_n - x_j| < R_n, and the steps h_n."""
        if self._near is None:
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
            self._near = (t[keep], j[keep], STEP_FACTOR * s)
        return self._near

    def _u_hessian_near(self, t, j, X, Q):
        """Exact ``d_a d_i U`` of dipole densities Q (R, N, 3) from pairs (t <- j), separations X (P, 3)."""
        _, d2, d3 = _phi_radial_derivatives(self.k, np.sqrt(np.einsum("pa,pa->p", X, X)))
        q = Q[:, j]  # (R, P, 3)
        xq = np.einsum("pa,rpa->rp", X, q)
        H = (d2 * xq)[:, :, None, None] * np.eye(3)
        H = H + d2[None, :, None, None] * (X[None, :, :, None] * q[:, :, None, :] + q[:, :, :, None] * X[None, :, None, :])
        H = H + (d3[None] * xq)[:, :, None, None] * (X[:, :, None] * X[:, None, :])[None]
        return np.stack([_scatter_add(t, H[rr], self.N) for rr in range(Q.shape[0])])

    def _u_grad_direct(self, Y, src_idx, Q):
        """``d_i U`` at points Y (P, 3) from single sources src_idx (P,) with densities Q (R, N, 3): (R, P, 3)."""
        X = Y - self.positions[src_idx]
        d1, d2, _ = _phi_radial_derivatives(self.k, np.sqrt(np.einsum("pa,pa->p", X, X)))
        q = Q[:, src_idx]
        xq = np.einsum("pa,rpa->rp", X, q)
        return d1[None, :, None] * q + (d2[None] * xq)[:, :, None] * X[None]

    def _u_hessians(self, Q: np.ndarray) -> np.ndarray:
        """``d_a d_i U`` (R, N, 3, 3) of the dipole potentials ``U = div(phi * q)`` of densities Q (R, N, 3)."""
        R, N = Q.shape[:2]
        t, j, h = self._near_pairs()
        exact = self._u_hessian_near(t, j, self.positions[t] - self.positions[j], Q)
        # displaced targets: (axis a, step m, sign) for every particle
        offs = []
        for a in range(3):
            for m in _FD_STEPS:
                for sgn in (1.0, -1.0):
                    e = np.zeros(3)
                    e[a] = sgn * m
                    offs.append(e)
        offs = np.array(offs)  # (S, 3) in units of h, S = 6 * len(_FD_STEPS)
        S = len(offs)
        Y = self.positions[None, :, :] + offs[:, None, :] * h[None, :, None]  # (S, N, 3)
        dipvec = np.ascontiguousarray(Q.transpose(0, 2, 1))
        out = self._hfmm(eps=max(self.precision * 1e-2, 1e-14), zk=self.k, sources=self._src,
                         dipvec=dipvec[0] if R == 1 else dipvec, targets=np.ascontiguousarray(Y.reshape(-1, 3).T),
                         pgt=2, nd=R)
        gU = -np.asarray(out.gradtarg).reshape(R, 3, S, N).transpose(0, 2, 3, 1)  # (R, S, N, 3); U = -u_fmm
        # subtract the near sources (self included) exactly at the displaced targets
        tt = np.concatenate([t, np.arange(N)])
        jj = np.concatenate([j, np.arange(N)])
        for o in range(S):
            g = self._u_grad_direct(Y[o, tt], jj, Q)  # (R, P, 3)
            for rr in range(R):
                gU[rr, o] -= _scatter_add(tt, g[rr], N)
        gU = gU.reshape(R, 3, len(_FD_STEPS), 2, N, 3)  # (r, a, m, sign, n, i)
        diff = gU[:, :, :, 0] - gU[:, :, :, 1]  # (r, a, m, n, i)
        far = np.einsum("m,ramni->rnai", _FD_WEIGHTS, diff) / h[None, :, None, None]
        return exact + far

    def scattered_field_gradients(self, ve: np.ndarray, vh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gradients at each particle of the field scattered by all the other particles.

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
        # exact parts: gradients of the charge potentials phi*q_i and of B = curl(phi*q)
        charges = np.ascontiguousarray(Q.transpose(0, 2, 1)).reshape(3 * R, N)
        oc = self._hfmm(eps=self.precision, zk=k, sources=self._src, charges=charges, pg=2, nd=3 * R)
        dphi = np.asarray(oc.grad).reshape(R, 3, 3, N).transpose(0, 3, 2, 1)  # (r, n, a, i) = d_a (phi q_i)
        dip = np.empty((R, 3, 3, N), complex)
        for i in range(3):
            e = np.zeros(3)
            e[i] = 1.0
            dip[:, i] = np.cross(e, Q).transpose(0, 2, 1)
        od = self._hfmm(eps=self.precision, zk=k, sources=self._src, dipvec=dip.reshape(3 * R, 3, N), pg=2, nd=3 * R)
        dB = np.asarray(od.grad).reshape(R, 3, 3, N).transpose(0, 3, 2, 1)  # (r, n, a, i) = d_a B_i
        HU = self._u_hessians(Q)  # (r, n, a, i)
        dg = (dphi + HU / k**2) / k  # d_a (g q)_i
        dgx = dB / (1j * k**2)  # d_a (gx q)_i
        if not magnetic:
            return dg[0], dgx[0]
        return dg[0] - dgx[1], dgx[0] + dg[1]
