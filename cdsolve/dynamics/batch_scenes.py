"""Forces and stiffness of many small scenes at once (vectorized over configurations).

Parameter sweeps of pairs or small clusters (distance, tweezer phase, power) spend most of their
time in Python overhead when each configuration is solved on its own. Here every step carries a
leading batch axis: the coupled-dipole systems are assembled as one ``(B, 6N, 6N)`` array and solved
together, and the force Jacobian uses the same formulas as :mod:`cdsolve.dynamics.jacobian` (see there for
the derivation) in particle-major layout. ``tests/test_batch.py`` checks parity with the
per-scene path (:func:`cdsolve.solve`, :func:`cdsolve.dynamics.jacobian.force_jacobian`).

All scenes of a batch must share the particles, the medium and the wavelength; positions and
illumination may differ.
"""

from __future__ import annotations

import numpy as np

from ..optics.beams import BeamSum, GaussianTweezer, magnetic_from_electric, tweezer_jets
from ..optics.conventions import EPS0, Z0
from ..optics.green import green_tensors
from .jacobian import force_coefficients, own_response_rows, select_dofs
from ..scattering.observables import dipole_force

__all__ = ["batch_forces_and_jacobian"]


def _blocks(d: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """6x6 propagator blocks [[d, -dx], [dx, d]] from (..., 3, 3) electric and cross parts."""
    top = np.concatenate([d, -dx], axis=-1)
    bot = np.concatenate([dx, d], axis=-1)
    return np.concatenate([top, bot], axis=-2)


def _slots(scene):
    beams = scene.illumination
    return tuple(beams.beams) if isinstance(beams, BeamSum) else (beams,)


def _incident_jets(scenes, P, n_m):
    """Incident E, H and derivatives up to second order at every particle of every scene: lists of
    (B, N, 3), (B, N, 3, 3), (B, N, 3, 3, 3) arrays.

    Fast path: when every scene's illumination is the same sequence of Gaussian tweezers that differ
    only in focus, power and phase (the usual sweep), each tweezer slot is evaluated once for all
    scenes from a unit-power, zero-phase template at the focus-relative points (the field is
    ``sqrt(P) exp(i phase)`` times the template's). Anything else is evaluated scene by scene.
    """
    B, N = P.shape[:2]
    slots = [_slots(sc) for sc in scenes]
    fast = len({len(s) for s in slots}) == 1 and all(
        isinstance(b, GaussianTweezer) for s in slots for b in s)
    fast = fast and all(s[i].shape_key == slots[0][i].shape_key for s in slots for i in range(len(s)))
    if not fast:
        E_j = [np.empty((B, N) + (3,) * (o + 1), complex) for o in range(3)]
        H_j = [np.empty_like(a) for a in E_j]
        for b, sc in enumerate(scenes):
            Es, Hs = sc.illumination.field_jets(sc.positions, n_m, 2)
            for o in range(3):
                E_j[o][b], H_j[o][b] = Es[o], Hs[o]
        return E_j, H_j
    E_j = [np.zeros((B, N) + (3,) * (o + 1), complex) for o in range(3)]
    H_j = [np.zeros_like(a) for a in E_j]
    for s in range(len(slots[0])):
        members = [sl[s] for sl in slots]
        focus = np.array([t.focus for t in members])  # (B, 3)
        jets = tweezer_jets(members, P - focus[:, None, :], n_m, 3)  # E jets to third order
        for o in range(3):
            E_j[o] += jets[o]
            H_j[o] += magnetic_from_electric(jets[o + 1], scenes[0].wavelength)
    return E_j, H_j


def batch_forces_and_jacobian(scenes, dofs=None):
    """Optical forces and their analytic Jacobian for a batch of small scenes.

    Parameters
    ----------
    scenes : sequence of B Scene
        Same particles (objects or equal), medium and wavelength; N particles each.
    dofs : None, str or indices
        Degrees of freedom of the Jacobian (see :func:`cdsolve.dynamics.jacobian.select_dofs`).

    Returns
    -------
    forces : (B, N, 3) float [N]
    jacobian : (B, n, n) float [N/m]   ``dF/dr`` on the chosen dofs (stiffness ``K = -jacobian``)

    Examples
    --------
    >>> import cdsolve as cd
    >>> sph = cd.Sphere(radius=50e-9, index=1.45)
    >>> scenes = [cd.Scene(positions=[[0, 0, 0], [d, 0, 0]], particles=sph,
    ...                    illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9)) for d in (1e-6, 2e-6)]
    >>> F, J = batch_forces_and_jacobian(scenes, dofs="x")
    >>> F.shape, J.shape
    ((2, 2, 3), (2, 2, 2))
    """
    scenes = list(scenes)
    if not scenes:
        raise ValueError("scenes must be a non-empty sequence of Scene")
    s0 = scenes[0]
    N = s0.n_particles
    for b, sc in enumerate(scenes):
        if sc.n_particles != N or sc.n_medium != s0.n_medium or sc.wavelength != s0.wavelength:
            raise ValueError(f"scenes[{b}] differs from scenes[0] in particle count, medium or wavelength")
        if sc.particles != s0.particles:
            raise ValueError(f"scenes[{b}] has different particles than scenes[0]")
    B = len(scenes)
    sel = select_dofs(N, dofs)
    k, n_m = s0.k, s0.n_medium
    eps = EPS0 * n_m**2
    Z = Z0 / n_m
    c0, _ = force_coefficients(k, n_m)
    ae, am = s0.polarizabilities()
    chi = np.zeros((N, 6, 6), complex)
    chi[:, :3, :3] = k**3 * ae / eps
    chi[:, 3:, 3:] = k**3 * am

    P = np.stack([sc.positions for sc in scenes])  # (B, N, 3)
    E_j, H_j = _incident_jets(scenes, P, n_m)
    u_inc = np.concatenate([E_j[0], Z * H_j[0]], axis=-1)  # (B, N, 6)
    du_inc = np.concatenate([E_j[1], Z * H_j[1]], axis=-1)  # (B, N, 3, 6)
    d2u_inc = np.concatenate([E_j[2], Z * H_j[2]], axis=-1)  # (B, N, 3, 3, 6)

    x = P[:, :, None, :] - P[:, None, :, :]  # (B, N, N, 3)
    diag = np.eye(N, dtype=bool)
    x[:, diag] = (1.0, 0.0, 0.0)  # dummy separations on the self pairs, zeroed below
    o = green_tensors(x, k, order=2)
    W = _blocks(o["G"], o["Gx"]) / k  # (B, N, N, 6, 6)
    dW = _blocks(o["dG"], o["dGx"]) / k  # (B, N, N, 3a, 6, 6)
    d2W = _blocks(o["d2G"], o["d2Gx"]) / k  # (B, N, N, 3a, 3b, 6, 6)
    for arr in (W, dW, d2W):
        arr[:, diag] = 0.0

    # (1 - W chi) u = u_inc, particle-major (B, 6N, 6N)
    Wc = np.einsum("Zilpq,lqr->Zilpr", W, chi)
    A = np.eye(6 * N) - Wc.transpose(0, 1, 3, 2, 4).reshape(B, 6 * N, 6 * N)
    u = np.linalg.solve(A, u_inc.reshape(B, 6 * N, 1))[..., 0].reshape(B, N, 6)
    v = np.einsum("npq,Znq->Znp", chi, u)

    Gamma = np.einsum("Zilapq,Zlq->Zilap", dW, v)  # d_a W_il v_l
    grad_u = du_inc + Gamma.sum(axis=2)  # (B, N, 3, 6)
    vc = v.conj()
    F = dipole_force((v[..., :3] * eps / k**3).reshape(-1, 3), (v[..., 3:] / (k**3 * Z)).reshape(-1, 3),
                     grad_u[..., :3].reshape(-1, 3, 3), (grad_u[..., 3:] / Z).reshape(-1, 3, 3), k, n_m).reshape(B, N, 3)

    # Jacobian (same terms as cdsolve.dynamics.jacobian, batched)
    vLv = np.einsum("Zip,Zijabpq,Zjq->Zijab", vc, d2W, v)
    rho = np.einsum("Zip,Zilapq->Ziaql", vc, dW).transpose(0, 1, 2, 4, 3)  # (B, i, a, l, 6)
    own = own_response_rows(grad_u, v, k, n_m)  # (B, N, a, 6)
    idx = np.arange(N)
    rho[:, idx, :, idx, :] += own.transpose(1, 0, 2, 3)
    rows = np.einsum("Zialp,lpq->Zialq", rho, chi).reshape(B, 3 * N, 6 * N)[:, sel]  # acts on du

    j_idx, b_idx = sel // 3, sel % 3
    n_sel = len(sel)
    RHS = -Gamma[:, :, j_idx, b_idx, :]  # (B, N_i, n_sel, 6)
    RHS[:, j_idx, np.arange(n_sel), :] = grad_u[:, j_idx, b_idx, :]
    RHS = RHS.transpose(0, 1, 3, 2).reshape(B, 6 * N, n_sel)
    du = np.linalg.solve(A, RHS)
    J = c0 * np.einsum("Zsq,Zqc->Zsc", rows, du).real
    i_idx, a_idx = sel // 3, sel % 3
    direct = -c0 * vLv[:, i_idx[:, None], j_idx[None, :], a_idx[:, None], b_idx[None, :]].real
    diag_term = c0 * (np.einsum("Znp,Znabp->Znab", vc, d2u_inc) + vLv.sum(axis=2)).real
    same = i_idx[:, None] == j_idx[None, :]
    direct = np.where(same, diag_term[:, i_idx[:, None], a_idx[:, None], b_idx[None, :]], direct)
    for b, sc in enumerate(scenes):  # Casimir-Polder forces (Scene.casimir), scene by scene
        if sc.casimir is not None:
            F[b] += sc.casimir.forces(sc)
            direct[b] -= sc.casimir.stiffness(sc)[np.ix_(sel, sel)]
    return F, J + direct
