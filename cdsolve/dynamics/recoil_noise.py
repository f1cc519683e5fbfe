r"""Photon-recoil diffusion matrix of an optically bound array (any geometry, any illumination).

The scattered photons that couple the particles also kick them, with noise correlated between
particles. This module computes the recoil diffusion matrix ``D`` (3N x 3N, or any dof selection,
complex Hermitian, positive semidefinite) of the linearized optical-binding master equation,
generalizing Rudolph et al., PRA 110, 063507 (2024), eqs. (65), (68), (73), (74), (79) from the
far-field two-tweezer limit to self-consistent electric + magnetic dipoles in arbitrary beams, and
adds the recoil of the photons that absorbing particles (silicon, metals) absorb (section
*Absorbed photons*; :func:`recoil_diffusion` includes it by default).

Derivation
----------
*Lindblad operators* [PRA (65), (68)]. A photon scattered into direction ``n`` (unit vector) with
polarization ``t_s`` (``s = 1, 2``, transverse to ``n``) is emitted at the rate
``int d^2n sum_s <L_ns^dagger L_ns>`` with the coherent sum of the particles' far-field amplitudes

    L_ns = sqrt(k^3 / (32 pi^2 hbar eps)) t_s^* . F(n),
    F(n) = sum_j exp(-i k n . r_j) P(n) v_j,     P(n) v = (1 - n n) v_e - n x v_h,

where ``v_j = (p_j, m_j / c_m)`` [C m] (electric dipole and magnetic dipole over the host speed of
light), ``eps = eps0 n_m^2``, ``k`` the host wavenumber. Indeed the far field of the dipoles is
``E = k^2 exp(ikr) / (4 pi eps r) F(n)`` (``E = k^2/eps G p - Z k^2 Gx m`` of :mod:`cdsolve.optics.green`
at ``r -> infinity``), whose photon flux ``(c_m eps |E|^2 / 2) r^2 / (hbar omega)`` is
``k^3 |F|^2 / (32 pi^2 hbar eps)`` per solid angle; for ``m = 0`` and ``eps = eps0`` this is PRA (68)
with ``p_j = eps0 V_j chi_j E_L(r_j)``. Here the dipoles are the *self-consistent* ones of
:func:`cdsolve.solve` (or its finite-order variants): ``v_j`` depends on all positions.

*First order in the displacements* [PRA (73)]. With ``r_j -> r_j + x_j`` (operators) every dipole
changes (through the gradient of the incident field at its own position *and* through the field
scattered by the displaced others) and so does the emission phase ``exp(-i k n . r_j)``:

    L_ns = L_ns^(0) + sum_a lambda_a(n, s) x_a,
    lambda_a = sqrt(k^3/(32 pi^2 hbar eps)) t_s^* . f_a(n),
    f_a(n) = d/dx_a F(n) = sum_j exp(-i k n . r_j) P(n) [dv_j/dx_a - i k n_alpha delta_{j l} v_j],

for the dof ``a = (l, alpha)`` (particle ``l``, axis ``alpha``). Inserting into the dissipator
``L rho L^+ - {L^+ L, rho}/2`` the part bilinear in ``x`` is
``sum_ab (2 D_ab / hbar^2) (x_a rho x_b - {x_b x_a, rho}/2)``, PRA (74), with

    D_ab = (hbar^2/2) int d^2n sum_s lambda_a lambda_b^*
         = hbar k^3 / (64 pi^2 eps) int d^2n f_a(n) . f_b(n)^*

(``sum_s t_s t_s^+ = 1 - n n`` and ``f`` is transverse). ``D`` is Hermitian and positive
semidefinite by construction (a Gram matrix). The cross terms ``L^(0) lambda^*`` only add forces
(radiation pressure and its gradient), not noise. Noise convention as in
:mod:`cdsolve.theory.two_tweezer`: ``<xi_b(t') xi_a(t)> = 2 D_ab delta(t - t')``, ``d<p_a^2>/dt = 2 D_aa``.

*Closed form of the angular integral*. ``int d^2n f_a . f_b^*`` is a sum over particle pairs of
``int d^2n exp(i k n . R) v'^H K(n) v`` with ``R = r_j' - r_j`` and the 6x6 kernel
``K(n) = P(n)^H P(n) = [[1 - nn, -[n x]], [[n x], 1 - nn]]``. The plane-wave (Weyl-type) identities

    int d^2n (1 - n n) exp(i k n . R) = (16 pi^2 / k) Im G(R),
    int d^2n [n x]     exp(i k n . R) = -i (16 pi^2 / k) Re Gx(R)

(the second from the first by ``curl G = i k Gx``), give
``int K(n) exp(ikn.R) d^2n = (16 pi^2 / k) W(R)`` with

    W(R) = [[Im G(R), i Re Gx(R)], [-i Re Gx(R), Im G(R)]]

(``G``, ``Gx`` of :mod:`cdsolve.optics.green`). Factors ``n_alpha`` become derivatives ``-i/k d/dR``,
so that with ``a = (l, alpha)``, ``b = (l', beta)``, ``dv_{j,a} = dv_j/dx_a``:

    D_ab = (hbar k^2 / (4 eps)) [ sum_{j' j} dv_{j',b}^H W(r_j' - r_j) dv_{j,a}
                                  - sum_{j'} dv_{j',b}^H (d_alpha W)(r_j' - r_l) v_l
                                  + sum_{j}  v_l'^H (d_beta W)(r_l' - r_j) dv_{j,a}
                                  - v_l'^H (d_alpha d_beta W)(r_l' - r_l) v_l ].

Coincident points (``j = j'``) use the limits from the moments of the sphere
(``int n_a n_b = 4 pi/3 delta_ab``, ``int n_a n_b n_c n_d = 4 pi/15 (delta delta + 2 perms)``):
``W(0) = k/(6 pi) 1``; ``d_beta W(0)`` has only the e-h blocks ``-+ i k^2/(12 pi) eps_{i beta j}``;
``d_alpha d_beta W(0)`` has only the e-e and h-h blocks
``-k^3/(60 pi) (4 delta_ab delta_ij - delta_ai delta_bj - delta_aj delta_bi)``.

*Independent check* (:func:`recoil_diffusion_quadrature`): ``f_a(n)`` evaluated on a
Gauss-Legendre (in ``cos theta``) x trapezoid (in ``phi``) grid and ``int f_a . f_b^*`` summed.

*Far-field tweezer limit*. For dipoles proportional to their own tweezer's field near the focus,
``p_j = alpha_j E_j exp(i phi_j) exp(i kappa z_j) e_x`` with ``kappa = k - 1/zR`` (Gouy), ``dv/dz_j =
i kappa v_j`` and the closed form gives ``D_jj = hbar |alpha_j|^2 k^3 E_j^2 (5 kappa^2 + 2 k^2) / (120 pi eps)``
exactly (PRA 79a) and ``D_12 = (hbar/2) C sin(kd) e^{i phi} (1 + O(1/kd))`` (PRA 79b / PRL 8; the
``O(1/kd)`` are the near-field parts of ``Im G`` and the ``n_z`` factors that the stationary-phase
evaluation drops). ``solve(scene, orders=0)`` with two well separated Gaussian tweezers is this limit.

*Consistency with forces* (PRA after (81)). The dissipator's ``Im D`` part is a force
``(2/hbar) Im D x``: antisymmetric, and in the paper's model the only antisymmetric (non-reciprocal)
part of the force gradient, hence ``C_ab - C_ba = 4 Im D_ab / hbar`` with ``C = dF/dx = -K``. It holds
in the far-field two-tweezer limit and, observed to round-off (tests), for self-consistent
radiatively consistent dipoles in any geometry, absorbing ones included once ``D`` contains the
absorbed photons; :func:`nonreciprocity_mismatch` reports how far a stiffness deviates from it.

Absorbed photons
----------------
*Model.* An absorbing particle takes photons out of its local field (incident + scattered by the
others) and turns them into heat; each absorption is a quantum jump of the centre of mass. The
particle's internal (phonon) bath is broadband and does not record where the photon came from, so
with the laser field in a coherent state the jump operators of particle ``i`` are its local field at
the (operator) positions, weighted by its absorption matrix:

    L_{i,s} = sqrt(sigma_s / (2 hbar)) u_s^H E_i(r_1, ..., r_N)   (+ magnetic analogue),
    B_e,i = (alpha_e - alpha_e^H)/(2i) - k^3/(6 pi eps) alpha_e^H alpha_e = sum_s sigma_s u_s u_s^H,
    B_m,i = (alpha_m - alpha_m^H)/(2i) - k^3/(6 pi) alpha_m^H alpha_m       (magnetic, weight mu0),

``E_i`` the local field that polarizes particle ``i`` (``p_i = alpha_e,i E_i``). The absorption rate
is ``sum_s <L^+ L> = P_abs,i / (hbar omega)`` with exactly the absorbed power of
:func:`cdsolve.scattering.observables.cross_sections`,
``P_abs,i = (omega/2) [Im(E^*.p) - k^3/(6 pi eps)|p|^2 + mu0 Im(H^*.m) - mu0 k^3/(6 pi)|m|^2]
= (omega/2) (E^H B_e E + mu0 H^H B_m H)``. ``B`` is the loss of the dressed polarizability beyond
radiation damping: zero for a lossless, radiatively consistent particle (Mie ``Re a1 = |a1|^2``),
positive semidefinite for a passive one.

*Diffusion.* Expanding ``L`` to first order in the displacements exactly as for the scattered photons
(``lambda_a = d L / d x_a``, ``D_ab = (hbar^2/2) sum lambda_a lambda_b^*``) gives

    D^abs_ab = (hbar/4) sum_i [ dE_{i,b}^H B_e,i dE_{i,a} + mu0 dH_{i,b}^H B_m,i dH_{i,a} ],

``dE_{i,a} = d E_i / d x_a`` the derivative of the self-consistent local field (own position: the
field gradient; others: the change of their scattered field). Hermitian, positive semidefinite for
passive particles. The momentum per absorbed photon is not put in by hand: it is the phase gradient
of the local field. For a plane wave ``E ~ exp(i k z)``, ``dE/dz = i k E`` and
``D^abs_zz = hbar k^2 P_abs / (2 omega) = (hbar k / 2) F_abs`` with ``F_abs = P_abs / c_m`` the
absorption part of the radiation pressure: Poisson kicks of ``hbar k`` at the rate
``Gamma = P_abs/(hbar omega)`` give ``d<p_z^2>/dt = Gamma (hbar k)^2 = 2 D_zz`` (this module's
convention), and no transverse diffusion. In a general field ``sum_a |d_a E|^2 = k^2 |E|^2 +
nabla^2 |E|^2 / 2`` (Helmholtz), so the trace is ``hbar^2 k^2 Gamma / 2`` plus an intensity-curvature
term: at an antinode of a standing wave the absorbed photons come coherently from both directions
and do not heat the axial motion (Gordon & Ashkin, PRA 21, 1606 (1980): induced diffusion
``~ |grad E|^2``). Several particles are correlated through ``dE_{i,a}`` with ``a`` on another
particle (a photon scattered by ``l`` and absorbed by ``i`` kicks both).

*Forces.* The same jump operators exert ``F_a = (1/2) Im(E^H B_e d_a E) + ...``, the absorption part of
the radiation pressure, whose antisymmetric gradient is ``4 Im D^abs / hbar``; with both parts the
identity ``C - C^T = 4 Im D / hbar`` holds for absorbing self-consistent dipoles too (tested).

*Assumptions.* Dipole particles; the absorbed energy becomes heat (no re-emission, no thermal
emission; the internal temperature does not enter); coherent-state laser light; ``B`` must be
positive semidefinite: a polarizability without radiative correction (real ``alpha``, the papers'
far-field model) or with gain would "absorb" negative power, and :func:`absorption_diffusion`
raises (use ``absorption=False``).

Not included: thermal emission, and the (second-order) change of ``L^(0)`` that only renormalizes
forces.

Incoherent illumination (:class:`cdsolve.scattering.coherence.IncoherentSolution`): the diffusion is
the sum over the coherent parts (cross terms between mutually incoherent groups average out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optics.conventions import C0, EPS0, HBAR, MU0, Z0
from ..optics.green import LEVI_CIVITA, green_tensors, pair_geometry, propagator_gradient_applied, radial_functions
from ..scattering.multi_rhs import apply_w_chi
from .jacobian import displacement_rhs, scattering_sources, select_dofs
from ..scattering.solver import factorize, lu_apply

__all__ = [
    "recoil_diffusion",
    "absorption_diffusion",
    "absorption_diffusion_from_fields",
    "absorption_matrices",
    "recoil_diffusion_from_dipoles",
    "recoil_diffusion_quadrature",
    "dipole_derivatives",
    "recoil_kernel",
    "nonreciprocity_mismatch",
    "NonreciprocityMismatch",
]

_EYE3 = np.eye(3)


# --------------------------------------------------------------------------- inputs
def _as_array(name: str, value, shape_tail: tuple, dtype=complex) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array with shape (..., {shape_tail}), got {value!r}") from None
    if arr.shape[arr.ndim - len(shape_tail):] != shape_tail:
        raise ValueError(f"{name} must have trailing shape {shape_tail}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_inputs(positions, k, n_medium, p, m, dp, dm, dofs):
    pos = _as_array("positions", positions, (3,), float)
    if pos.ndim != 2:
        raise ValueError(f"positions must have shape (N, 3), got {pos.shape}")
    N = len(pos)
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"k must be a finite wavenumber > 0 [1/m], got {k!r}")
    if not (np.isfinite(n_medium) and n_medium > 0):
        raise ValueError(f"n_medium must be a finite real index > 0, got {n_medium!r}")
    p = _as_array("p", p, (3,))
    m = _as_array("m", np.zeros_like(p) if m is None else m, (3,))
    if p.shape != (N, 3) or m.shape != (N, 3):
        raise ValueError(f"p and m must have shape (N, 3) = ({N}, 3), got {p.shape} and {m.shape}")
    sel = select_dofs(N, dofs)
    n = len(sel)
    dp = _as_array("dp", dp, (3,))
    dm = _as_array("dm", np.zeros_like(dp) if dm is None else dm, (3,))
    if dp.shape != (N, n, 3) or dm.shape != (N, n, 3):
        raise ValueError(f"dp and dm must have shape (N, n_dofs, 3) = ({N}, {n}, 3), got {dp.shape} and {dm.shape}")
    c_m = C0 / n_medium
    v = np.concatenate([p, m / c_m], axis=1)  # (N, 6) [C m]
    dv = np.concatenate([dp, dm / c_m], axis=2)  # (N, n, 6) [C]
    return pos, sel, v, dv


# --------------------------------------------------------------------------- kernel W(R)
def _self_limits(k: float):
    """``W(0)``, ``dW(0)`` (3, 6, 6) and ``ddW(0)`` (3, 3, 6, 6) from the moments of the unit sphere."""
    W0 = k / (6 * np.pi) * np.eye(6, dtype=complex)
    dW0 = np.zeros((3, 6, 6), complex)
    eps_ibj = np.transpose(LEVI_CIVITA, (1, 0, 2))  # [beta, i, j] = eps_{i beta j}
    dW0[:, :3, 3:] = -1j * k**2 / (12 * np.pi) * eps_ibj
    dW0[:, 3:, :3] = 1j * k**2 / (12 * np.pi) * eps_ibj
    quad = (4 * np.einsum("ab,ij->abij", _EYE3, _EYE3) - np.einsum("ai,bj->abij", _EYE3, _EYE3)
            - np.einsum("aj,bi->abij", _EYE3, _EYE3))
    ddW0 = np.zeros((3, 3, 6, 6), complex)
    ddW0[:, :, :3, :3] = -(k**3) / (60 * np.pi) * quad
    ddW0[:, :, 3:, 3:] = ddW0[:, :, :3, :3]
    return W0, dW0, ddW0


def recoil_kernel(positions: np.ndarray, k: float, order: int = 2) -> tuple[np.ndarray, ...]:
    """Angular-integral kernel ``W(r_j' - r_j)`` and its derivatives for all particle pairs.

    ``int d^2n exp(i k n.R) K(n) = (16 pi^2/k) W(R)`` with ``K(n)`` the 6x6 far-field kernel of
    ``v = (p, m/c_m)`` (module docstring); ``W = [[Im G, i Re Gx], [-i Re Gx, Im G]]``.

    Parameters
    ----------
    positions : (N, 3) float [m]
    k : float [1/m]
        Host wavenumber.
    order : {0, 1, 2}
        Highest derivative order.

    Returns
    -------
    W : (N, N, 6, 6) complex [1/m]          ``W[j', j] = W(r_j' - r_j)`` (coincident: the limit)
    dW : (N, N, 3, 6, 6) complex [1/m^2]    ``d/dR_beta`` (if order >= 1)
    ddW : (N, N, 3, 3, 6, 6) complex [1/m^3] (if order >= 2)
    """
    pos = np.asarray(positions, float)
    N = len(pos)
    R = pos[:, None, :] - pos[None, :, :]
    same = np.eye(N, dtype=bool)
    R[same] = (1.0, 0.0, 0.0)  # dummy, replaced by the limits
    t = green_tensors(R, k, order=order, cross=True)
    W0, dW0, ddW0 = _self_limits(k)

    def assemble(G, Gx, lead):
        out = np.empty(G.shape[: 2 + lead] + (6, 6), complex)
        imG, reGx = G.imag, Gx.real
        out[..., :3, :3] = imG
        out[..., 3:, 3:] = imG
        out[..., :3, 3:] = 1j * reGx
        out[..., 3:, :3] = -1j * reGx
        return out

    W = assemble(t["G"], t["Gx"], 0)
    W[same] = W0
    res = [W]
    if order >= 1:
        dW = assemble(t["dG"], t["dGx"], 1)
        dW[same] = dW0
        res.append(dW)
    if order >= 2:
        ddW = assemble(t["d2G"], t["d2Gx"], 2)
        ddW[same] = ddW0
        res.append(ddW)
    return tuple(res)


# --------------------------------------------------------------------------- diffusion from dipoles
def recoil_diffusion_from_dipoles(positions, k: float, n_medium: float, p, m, dp, dm, dofs=None) -> np.ndarray:
    """Recoil diffusion matrix from given dipoles and their position derivatives (closed form).

    Parameters
    ----------
    positions : (N, 3) float [m]
    k : float [1/m]
        Host wavenumber ``2 pi n_m / wavelength``.
    n_medium : float [-]
        Host refractive index.
    p : (N, 3) complex [C m]
        Electric dipoles.
    m : (N, 3) complex [A m^2] or None
        Magnetic dipoles (None: zero).
    dp : (N, n, 3) complex [C]
        ``dp[j, a] = d p_j / d x_a`` for the ``n`` selected dofs.
    dm : (N, n, 3) complex [A m] or None
        ``d m_j / d x_a``.
    dofs : None, str or (n,) int
        Dof selection (:func:`cdsolve.dynamics.jacobian.select_dofs`); order of rows/columns.

    Returns
    -------
    D : (n, n) complex [N^2 s]
        Hermitian, positive semidefinite; ``<xi_b(t') xi_a(t)> = 2 D_ab delta(t - t')``.
    """
    pos, sel, v, dv = _check_inputs(positions, k, n_medium, p, m, dp, dm, dofs)
    N, n = len(pos), len(sel)
    l_idx, ax = sel // 3, sel % 3
    W, dW, ddW = recoil_kernel(pos, k, order=2)
    dV = dv.transpose(0, 2, 1).reshape(6 * N, n)  # rows (j, s)
    Wbig = W.transpose(0, 2, 1, 3).reshape(6 * N, 6 * N)
    T1 = (dV.conj().T @ Wbig @ dV).T
    Y = np.einsum("jast,at->jsa", dW[:, l_idx, ax], v[l_idx]).reshape(6 * N, n)
    T2 = -(dV.conj().T @ Y).T
    X = np.einsum("bs,bjst->bjt", v[l_idx].conj(), dW[l_idx, :, ax]).reshape(n, 6 * N)
    T3 = (X @ dV).T
    dd = ddW[l_idx[:, None], l_idx[None, :], ax[None, :], ax[:, None]]  # [b, a, s, t] = d_alpha_a d_beta_b W(r_lb - r_la)
    T4 = -np.einsum("bs,bast,at->ab", v[l_idx].conj(), dd, v[l_idx])
    eps = EPS0 * n_medium**2
    return HBAR * k**2 / (4 * eps) * (T1 + T2 + T3 + T4)  # Hermitian to round-off (tested, not imposed)


def _sphere_grid(n_theta: int, n_phi: int):
    """Directions (Q, 3) and weights (Q,) of Gauss-Legendre(cos theta) x trapezoid(phi); weights sum to 4 pi."""
    u, wu = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    s = np.sqrt(1 - u**2)
    n = np.stack([s[:, None] * np.cos(phi)[None, :], s[:, None] * np.sin(phi)[None, :],
                  np.broadcast_to(u[:, None], (n_theta, n_phi))], axis=-1).reshape(-1, 3)
    w = np.repeat(wu * 2 * np.pi / n_phi, n_phi)
    return n, w


def _far_field_projection(n: np.ndarray, w6: np.ndarray) -> np.ndarray:
    """``P(n) v = (1 - n n) v_e - n x v_h`` for directions (Q, 3) and 6-vectors (Q, ..., 6) -> (Q, ..., 3)."""
    nn = n.reshape(n.shape[:1] + (1,) * (w6.ndim - 2) + (3,))
    ve, vh = w6[..., :3], w6[..., 3:]
    return ve - nn * np.sum(nn * ve, axis=-1, keepdims=True) - np.cross(nn, vh)


def recoil_diffusion_quadrature(positions, k: float, n_medium: float, p, m, dp, dm, dofs=None, *,
                                n_theta: int | None = None, n_phi: int | None = None) -> np.ndarray:
    """Same matrix as :func:`recoil_diffusion_from_dipoles` by direct quadrature over scattering directions.

    Gauss-Legendre in ``cos theta`` (``n_theta`` nodes) times the trapezoid rule in ``phi`` (``n_phi``);
    the default ``n_theta = k * extent + 40`` (``extent`` = largest particle separation), ``n_phi = 2 n_theta``
    resolves the band limit of ``exp(i k n . R)`` to round-off. Arguments as there.

    Returns
    -------
    D : (n, n) complex [N^2 s]
    """
    pos, sel, v, dv = _check_inputs(positions, k, n_medium, p, m, dp, dm, dofs)
    extent = float(np.max(np.linalg.norm(pos[:, None] - pos[None], axis=-1))) if len(pos) > 1 else 0.0
    if n_theta is None:
        n_theta = int(np.ceil(k * extent)) + 40
    if n_phi is None:
        n_phi = 2 * n_theta
    if n_theta < 2 or n_phi < 3:
        raise ValueError(f"n_theta >= 2 and n_phi >= 3 required, got n_theta={n_theta}, n_phi={n_phi}")
    dirs, wts = _sphere_grid(n_theta, n_phi)
    l_idx, ax = sel // 3, sel % 3
    S = np.zeros((len(sel), len(sel)), complex)
    for q0 in range(0, len(dirs), 4096):
        nq, wq = dirs[q0:q0 + 4096], wts[q0:q0 + 4096]
        phase = np.exp(-1j * k * nq @ pos.T)  # (Q, N)
        amp = np.einsum("qj,jat->qat", phase, dv)  # sum_j e^{-ikn.r_j} dv_{j,a}
        amp -= 1j * k * nq[:, ax][:, :, None] * phase[:, l_idx][:, :, None] * v[l_idx][None]
        f = _far_field_projection(nq, amp)  # (Q, n, 3)
        S += np.einsum("q,qai,qbi->ab", wq, f, f.conj())
    eps = EPS0 * n_medium**2
    return HBAR * k**3 / (64 * np.pi**2 * eps) * S


# --------------------------------------------------------------------------- dipole derivatives
def _field_derivatives(sol, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``du/dx_a`` of the normalized local fields ``u = (E, Z H)``: (N, 3, n) e and h blocks [V/m^2], and ``Z``.

    The h block is meaningful only when the scene has magnetic dipoles (``op.has_magnetic``); it is
    zero otherwise (nothing uses it then: ``alpha_m = 0``).
    """
    scene = sol.scene
    N = scene.n_particles
    n = len(sel)
    k, n_m = scene.k, scene.n_medium
    Z = Z0 / n_m
    op = sol._operator
    orders = sol.info.get("orders")
    pos = scene.positions
    (_, dEi), (_, dHi) = scene.illumination.field_jets(pos, n_m, 1)
    du_inc = np.concatenate([dEi, Z * dHi], axis=2)  # (N, 3b, 6)

    src = scattering_sources(sol)  # dipoles radiating the scattered local fields, order by order
    gammas = []
    if src and N > 1:  # d_b W(r_i - r_j) v_j for every source order, W = [[G, -Gx], [Gx, G]] / k
        X, inv_r, phase = pair_geometry(pos, pos, k)  # phase 0 on self pairs: those terms vanish
        cross = op.has_magnetic
        R = radial_functions(k, phase, inv_r, ("B", "DA", "DB") + (("C", "DC") if cross else ()))
        for vs in src:
            w_h = vs[:, 3:].T[:, None, :] if cross else None
            blk = propagator_gradient_applied(X, R, vs[:, :3].T[:, None, :], w_h)  # (3b, 6, N, N)
            gammas.append(blk.transpose(2, 3, 0, 1) / k)  # (N, N, 3b, 6)

    def explicit_rhs(gam):
        return displacement_rhs(du_inc, gam, sel)

    if orders is None:
        fac = sol._lu if sol._lu is not None else factorize(op)
        du = lu_apply(op, fac, explicit_rhs(gammas[0] if gammas else None), need_h=op.has_magnetic)
    else:
        du = explicit_rhs(None)
        for o in range(orders):
            du = explicit_rhs(gammas[o] if gammas else None) + apply_w_chi(op, du, need_h=False)
    duh = du[3 * N:].reshape(N, 3, n) if op.has_magnetic else np.zeros((N, 3, n), complex)
    return du[: 3 * N].reshape(N, 3, n), duh, Z


def _local_field_derivatives(sol, sel) -> tuple[np.ndarray, np.ndarray]:
    """``dE[j, a] = d E_j / d x_a`` (N, n, 3) [V/m^2] of the local field polarizing particle ``j`` and
    ``dH`` (N, n, 3) [A/m^2] (zero without magnetic dipoles, see :func:`_field_derivatives`)."""
    due, duh, Z = _field_derivatives(sol, sel)
    return due.transpose(0, 2, 1), duh.transpose(0, 2, 1) / Z


def dipole_derivatives(sol, dofs=None) -> tuple[np.ndarray, np.ndarray]:
    """Position derivatives of all induced dipoles of a solution, ``dp_j/dx_a`` and ``dm_j/dx_a``.

    Self-consistent solutions: ``du = (1 - W chi)^-1 RHS`` with the right-hand sides of
    :mod:`cdsolve.dynamics.jacobian` (own-field gradient for the moved particle, ``-dW v`` for the others),
    one LU for all dofs. Finite-order solutions (``orders=n``): the derivative of the same truncated
    scattering series (``orders=0``: ``alpha grad E_inc`` of the moved particle only).

    Parameters
    ----------
    sol : Solution
    dofs : None, str or (n,) int
        Dofs ``x_a`` (see :func:`cdsolve.dynamics.jacobian.select_dofs`).

    Returns
    -------
    dp : (N, n, 3) complex [C]       ``dp[j, a] = d p_j / d x_a``
    dm : (N, n, 3) complex [A m]     ``dm[j, a] = d m_j / d x_a``
    """
    sel = select_dofs(sol.scene.n_particles, dofs)
    due, duh, _ = _field_derivatives(sol, sel)
    return _dipoles_from_fields(sol, due, duh)


def _dipoles_from_fields(sol, due, duh):
    scene = sol.scene
    k, n_m = scene.k, scene.n_medium
    op = sol._operator
    eps, Z = EPS0 * n_m**2, Z0 / n_m
    dve = np.einsum("jst,jta->jas", op.chi_e, due)
    dvh = np.einsum("jst,jta->jas", op.chi_m, duh) if op.has_magnetic else np.zeros_like(dve)
    return dve * eps / k**3, dvh / (Z * k**3)


# --------------------------------------------------------------------------- absorbed photons
#: relative tolerance of the passivity check of the absorption matrices (round-off of lossless Mie spheres ~1e-13)
_ABS_RTOL = 1e-9


def absorption_matrices(alpha_e, alpha_m, k: float, n_medium: float) -> tuple[np.ndarray, np.ndarray]:
    """Absorption matrices ``B_e``, ``B_m`` of dressed polarizabilities (module docstring, *Absorbed photons*).

    ``P_abs = (omega/2) (E^H B_e E + mu0 H^H B_m H)`` for a particle in the local fields ``E``, ``H``.

    Parameters
    ----------
    alpha_e : (N, 3, 3) complex [F m^2]
    alpha_m : (N, 3, 3) complex [m^3]
    k : float [1/m]
        Host wavenumber.
    n_medium : float [-]

    Returns
    -------
    B_e : (N, 3, 3) complex [F m^2]     ``(alpha_e - alpha_e^H)/(2i) - k^3/(6 pi eps) alpha_e^H alpha_e`` (Hermitian)
    B_m : (N, 3, 3) complex [m^3]       ``(alpha_m - alpha_m^H)/(2i) - k^3/(6 pi) alpha_m^H alpha_m``
    """
    ae = _as_array("alpha_e", alpha_e, (3, 3))
    am = _as_array("alpha_m", alpha_m, (3, 3))
    if ae.ndim != 3 or am.shape != ae.shape:
        raise ValueError(f"alpha_e and alpha_m must both have shape (N, 3, 3), got {ae.shape} and {am.shape}")
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"k must be a finite wavenumber > 0 [1/m], got {k!r}")
    if not (np.isfinite(n_medium) and n_medium > 0):
        raise ValueError(f"n_medium must be a finite real index > 0, got {n_medium!r}")
    eps = EPS0 * n_medium**2

    def loss(a, rad):
        aH = np.conj(np.swapaxes(a, 1, 2))
        return (a - aH) / 2j - rad * aH @ a

    return loss(ae, k**3 / (6 * np.pi * eps)), loss(am, k**3 / (6 * np.pi))


def _check_passive(B: np.ndarray, alpha: np.ndarray, name: str) -> None:
    """Raise when an absorption matrix has a negative eigenvalue beyond round-off (gain / no radiative correction)."""
    lam = np.linalg.eigvalsh(0.5 * (B + np.conj(np.swapaxes(B, 1, 2))))[:, 0]  # (N,) smallest
    anti = np.abs((alpha - np.conj(np.swapaxes(alpha, 1, 2))) / 2j).max(axis=(1, 2))
    rad = np.abs(B - (alpha - np.conj(np.swapaxes(alpha, 1, 2))) / 2j).max(axis=(1, 2))  # |radiation-damping term|
    bad = np.flatnonzero(lam < -_ABS_RTOL * np.maximum(anti, rad))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"absorption: particle {i} would absorb negative power ({name} absorption matrix has eigenvalue "
            f"{lam[i]:.3e}, i.e. Im alpha < k^3 |alpha|^2 / (6 pi eps)): its polarizability is not radiatively "
            f"consistent (a real alpha without radiative correction, or gain); the absorbed-photon recoil is "
            f"undefined. Use optics.polarizability.radiative_correction, or absorption=False for the "
            f"scattered-photon recoil alone ({bad.size} particle(s) affected)")


def absorption_diffusion_from_fields(alpha_e, alpha_m, k: float, n_medium: float, dE, dH) -> np.ndarray:
    """Absorbed-photon diffusion matrix from the polarizabilities and the local-field derivatives.

    ``D^abs_ab = (hbar/4) sum_i [dE_{i,b}^H B_e,i dE_{i,a} + mu0 dH_{i,b}^H B_m,i dH_{i,a}]``
    (module docstring, *Absorbed photons*).

    Parameters
    ----------
    alpha_e : (N, 3, 3) complex [F m^2]
        Dressed electric polarizabilities (``p_i = alpha_e,i E_i``).
    alpha_m : (N, 3, 3) complex [m^3]
    k : float [1/m]
    n_medium : float [-]
    dE : (N, n, 3) complex [V/m^2]
        ``dE[i, a] = d E_i / d x_a`` of the local field that polarizes particle ``i``.
    dH : (N, n, 3) complex [A/m^2]

    Returns
    -------
    D : (n, n) complex [N^2 s]
        Hermitian, positive semidefinite; same noise convention as :func:`recoil_diffusion_from_dipoles`.

    Raises
    ------
    ValueError
        When a particle's absorption matrix is not positive semidefinite (negative absorbed power).
    """
    Be, Bm = absorption_matrices(alpha_e, alpha_m, k, n_medium)
    ae, am = np.asarray(alpha_e, complex), np.asarray(alpha_m, complex)
    N = len(Be)
    dE = _as_array("dE", dE, (3,))
    dH = _as_array("dH", dH, (3,))
    if dE.ndim != 3 or dE.shape[0] != N or dH.shape != dE.shape:
        raise ValueError(f"dE and dH must have shape (N, n_dofs, 3) with N = {N}, got {dE.shape} and {dH.shape}")
    _check_passive(Be, ae, "electric")
    _check_passive(Bm, am, "magnetic")
    n = dE.shape[1]
    flat_e = dE.transpose(0, 2, 1).reshape(3 * N, n)  # rows (i, s)
    flat_h = dH.transpose(0, 2, 1).reshape(3 * N, n)
    M = flat_e.conj().T @ np.einsum("ist,iat->isa", Be, dE).reshape(3 * N, n)  # M[b, a] = dE_b^H B dE_a
    M += MU0 * (flat_h.conj().T @ np.einsum("ist,iat->isa", Bm, dH).reshape(3 * N, n))
    return HBAR / 4 * M.T


def absorption_diffusion(sol, dofs=None) -> np.ndarray:
    """Diffusion matrix of the recoil of *absorbed* photons for a solved scene (module docstring).

    Parameters
    ----------
    sol : Solution or IncoherentSolution
        Summed over ``sol.coherent_parts``.
    dofs : None, str or (n,) int
        Order of :func:`cdsolve.dynamics.jacobian.select_dofs` (``LinearModel.dofs``).

    Returns
    -------
    D : (n, n) complex [N^2 s]
        Zero for lossless particles; for one particle in a plane wave along ``z``
        ``D_zz = hbar k^2 P_abs / (2 omega)``, ``D_xx = D_yy = 0``.
    """
    sel = select_dofs(sol.scene.n_particles, dofs)
    D = np.zeros((len(sel), len(sel)), complex)
    for part in sol.coherent_parts:
        dE, dH = _local_field_derivatives(part, sel)
        D += absorption_diffusion_from_fields(part.alpha_e, part.alpha_m, part.scene.k, part.scene.n_medium, dE, dH)
    return D


def recoil_diffusion(sol, dofs=None, *, method: str = "closed", absorption: bool = True, **quadrature) -> np.ndarray:
    """Recoil diffusion matrix ``D`` of the chosen dofs for a solved scene: scattered + absorbed photons.

    Uses the solution's dipoles and their position derivatives (:func:`dipole_derivatives`); the dof
    order is that of :func:`cdsolve.dynamics.jacobian.select_dofs`, i.e. of ``LinearModel.dofs``.

    Parameters
    ----------
    sol : Solution or IncoherentSolution
        From :func:`cdsolve.solve` (self-consistent, or ``orders=n``; ``orders=0`` is the
        far-field tweezer limit of the papers when the tweezers are well separated). Incoherent
        illumination: the sum over ``sol.coherent_parts``.
    dofs : None, str or (n,) int
    method : {"closed", "quadrature"}
        Scattered photons: closed form in ``Im G``, ``Re Gx`` (default) or direct angular quadrature.
    absorption : bool
        Add the recoil of absorbed photons (:func:`absorption_diffusion`; default True). Raises
        ValueError for particles that would absorb negative power (real ``alpha`` without radiative
        correction, gain): pass False for the scattered photons alone (the papers' model).
    **quadrature
        ``n_theta``, ``n_phi`` for ``method="quadrature"``.

    Returns
    -------
    D : (n, n) complex [N^2 s]
        ``<xi_b(t') xi_a(t)> = 2 D_ab delta(t - t')``; ``d<p_a^2>/dt = 2 D_aa`` (recoil heating).

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0], [0, 2e-6, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> D = recoil_diffusion(cd.solve(scene), dofs="z")
    >>> bool(np.allclose(D, D.conj().T)), bool(np.linalg.eigvalsh(D).min() > 0)
    (True, True)
    """
    if method not in ("closed", "quadrature"):
        raise ValueError(f"method must be 'closed' or 'quadrature', got {method!r}")
    if quadrature and method != "quadrature":
        raise ValueError(f"quadrature options {sorted(quadrature)} need method='quadrature'")
    if not isinstance(absorption, (bool, np.bool_)):
        raise TypeError(f"absorption must be True or False, got {absorption!r}")
    sel = select_dofs(sol.scene.n_particles, dofs)
    D = np.zeros((len(sel), len(sel)), complex)
    for part in sol.coherent_parts:
        scene = part.scene
        due, duh, Z = _field_derivatives(part, sel)  # one LU solve for both parts
        dp, dm = _dipoles_from_fields(part, due, duh)
        args = (scene.positions, scene.k, scene.n_medium, part.p, part.m, dp, dm, sel)
        D += recoil_diffusion_from_dipoles(*args) if method == "closed" else recoil_diffusion_quadrature(*args, **quadrature)
        if absorption:
            D += absorption_diffusion_from_fields(part.alpha_e, part.alpha_m, scene.k, scene.n_medium,
                                                  due.transpose(0, 2, 1), duh.transpose(0, 2, 1) / Z)
    return D


# --------------------------------------------------------------------------- consistency with forces
@dataclass(frozen=True)
class NonreciprocityMismatch:
    """Deviation from ``C_ab - C_ba = 4 Im D_ab / hbar`` (PRA after eq. 81), ``C = dF/dx = -K``.

    Attributes
    ----------
    antisymmetric : (n, n) float [N/m]     ``C - C^T`` from the stiffness
    from_diffusion : (n, n) float [N/m]    ``4 Im D / hbar``
    deviation : (n, n) float [N/m]         difference of the two
    relative : float [-]                   ``max|deviation| / max|C_ab|`` over off-diagonal ``a != b``
    """

    antisymmetric: np.ndarray
    from_diffusion: np.ndarray
    deviation: np.ndarray
    relative: float


def nonreciprocity_mismatch(stiffness, diffusion) -> NonreciprocityMismatch:
    """Compare the antisymmetric stiffness with ``4 Im D / hbar``.

    Parameters
    ----------
    stiffness : (n, n) float [N/m]
        ``K = -dF/dx`` (e.g. ``LinearModel.stiffness``).
    diffusion : (n, n) complex [N^2 s]
        Recoil diffusion matrix for the same dofs in the same order.

    Returns
    -------
    NonreciprocityMismatch
        ``relative`` is normalized by the largest off-diagonal coupling ``|C_ab|`` (the coupling
        scale; the antisymmetric part itself may vanish, e.g. at ``phi = 0``).
    """
    K = np.asarray(stiffness, float)
    D = np.asarray(diffusion, complex)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"stiffness must be a square (n, n) array, got shape {K.shape}")
    if D.shape != K.shape:
        raise ValueError(f"diffusion must have the stiffness' shape {K.shape}, got {D.shape}")
    C = -K
    anti = C - C.T
    from_d = 4 * D.imag / HBAR
    dev = anti - from_d
    off = ~np.eye(len(K), dtype=bool)
    scale = np.abs(C[off]).max() if off.any() else 0.0
    if not scale > 0:
        raise ValueError("stiffness has no off-diagonal coupling: the relative mismatch is undefined")
    return NonreciprocityMismatch(anti, from_d, dev, float(np.abs(dev).max() / scale))
