"""Observables of a solved scene: forces, torques, cross sections, fields.

Pure functions of a :class:`~cdsolve.scattering.solver.Solution` (or of a :class:`~cdsolve.scattering.scene.Scene`
for the isolated-particle forces). Formulas (SI, ``exp(-i omega t)``, ``eps = eps0 eps_m``,
``c_m = c/n_m``):

Force (Chen et al., Nieto-Vesperinas et al. 2010; Jazayeri et al. eq. 3)
    ``F_a = 1/2 Re[p_i^* d_a E_i] + mu0/2 Re[m_i^* d_a H_i] - k^4/(12 pi eps c_m) Re[p x m^*]_a``
Torque about the particle centre (extinction minus the recoil of the dipole's own radiation)
    ``T = 1/2 Re[p x E^*] - k^3/(12 pi eps) Im[p^* x p] + mu0/2 Re[m x H^*] - mu0 k^3/(12 pi) Im[m^* x m]``
Powers
    extinction ``P_ext = omega/2 sum Im[E_inc^*.p + mu0 H_inc^*.m]``;
    absorption ``P_abs = omega/2 sum (Im[E^*.p] - k^3/(6 pi eps)|p|^2 + mu0 Im[H^*.m] - mu0 k^3/(6 pi)|m|^2)``;
    scattering, the radiated power of all dipoles together,
    ``P_sca = omega k^2/2 sum_ij [ p_i^* Im G_ij p_j/eps + mu0 m_i^* Im G_ij m_j - 2 mu0 c_m Im(p_i^* Re Gx_ij m_j) ]``
    with ``Im G(0) = k/(6 pi) 1`` and ``Re Gx(0) = 0``. Energy conservation ``P_ext = P_sca + P_abs`` is
    not built in: it holds only for a correct solve with passive, radiatively consistent polarizabilities
    (tested to 1e-10).
"""

from __future__ import annotations

import numpy as np

from ..optics.conventions import C0, EPS0, MU0, Z0
from ..optics.dipole_fields import dipole_fields
from ..optics.green import _evaluate, _radial_coefficients, pair_geometry
from .scene import Scene

__all__ = [
    "optical_forces",
    "isolated_forces",
    "interaction_forces",
    "optical_torques",
    "cross_sections",
    "absorbed_powers",
    "fields_at",
    "local_field_gradients",
    "dipole_force",
    "far_field_amplitude",
]


def dipole_force(p, m, dE, dH, k: float, n_medium: float, split: bool = False):
    """Time-averaged force on electric + magnetic dipoles in given local-field gradients.

    Parameters
    ----------
    p : (N, 3) complex [C m]
    m : (N, 3) complex [A m^2]
    dE : (N, 3, 3) complex [V/m^2], ``dE[n, a, i] = d E_i / d r_a`` of the local field
    dH : (N, 3, 3) complex [A/m^2]
    k : float [1/m]
    n_medium : float

    Returns
    -------
    (N, 3) float [N], or a dict of the electric, magnetic and interference parts when ``split``.
    """
    eps = EPS0 * n_medium**2
    c_m = C0 / n_medium
    fe = 0.5 * np.einsum("ni,nai->na", p.conj(), dE).real
    fm = 0.5 * MU0 * np.einsum("ni,nai->na", m.conj(), dH).real
    fx = -(k**4) / (12 * np.pi * eps * c_m) * np.cross(p, m.conj()).real
    if split:
        return {"electric": fe, "magnetic": fm, "interference": fx, "total": fe + fm + fx}
    return fe + fm + fx


def local_field_gradients(sol):
    """Gradients of the local fields at each particle: ``dE, dH`` (N, 3, 3) complex.

    ``dE[n, a, i] = d E_i / d r_a`` at particle n: incident gradient + gradient of the field
    scattered by every other dipole. When the solution carries an operator (any backend of
    :mod:`cdsolve.scattering.operators`), the scattered part is its ``scattered_field_gradients`` of the
    normalized source dipoles (FFT backend: O(N log N)); otherwise the pairwise sum of
    :func:`cdsolve.optics.dipole_fields.dipole_fields`.
    """
    scene = sol.scene
    dEi, dHi = scene.illumination.gradients(scene.positions, scene.n_medium)
    ps, ms = sol.source_dipoles
    op = getattr(sol, "_operator", None)
    if op is not None and hasattr(op, "scattered_field_gradients"):
        k, n = scene.k, scene.n_medium
        eps = EPS0 * n**2
        Z = Z0 / n
        dEs, dZHs = op.scattered_field_gradients(ps * (k**3 / eps), ms * (k**3 * Z))
        return dEi + dEs, dHi + dZHs / Z
    dEs, dHs = dipole_fields(
        scene.positions, scene.positions, ps, ms, scene.k, scene.n_medium, gradient=True, fields=False
    )
    return dEi + dEs, dHi + dHs


def optical_forces(sol, split: bool = False):
    """Time-averaged optical force on every particle of a solution, (N, 3) float [N]."""
    dE, dH = local_field_gradients(sol)
    return dipole_force(sol.p, sol.m, dE, dH, sol.scene.k, sol.scene.n_medium, split=split)


def isolated_forces(scene: Scene) -> np.ndarray:
    """Force on each particle alone (same particle, same beams, no other particles), (N, 3) [N]."""
    ae, am = scene.polarizabilities()
    (E, dE), (H, dH) = scene.illumination.field_jets(scene.positions, scene.n_medium, 1)
    p = np.einsum("nij,nj->ni", ae, E)
    m = np.einsum("nij,nj->ni", am, H)
    return dipole_force(p, m, dE, dH, scene.k, scene.n_medium)


def interaction_forces(sol) -> np.ndarray:
    """Interaction (optical-binding) force ``F - F_iso`` (N, 3) [N]."""
    return sol.forces() - isolated_forces(sol.scene)  # incl. Casimir-Polder forces if the scene has them


def optical_torques(sol) -> np.ndarray:
    """Time-averaged torque on each particle about its centre, (N, 3) float [N m].

    Includes the spin torque of absorbed angular momentum and, for anisotropic particles, the
    alignment torque; the recoil of each dipole's own radiation is subtracted so a lossless
    isotropic sphere feels no torque.
    """
    k = sol.scene.k
    eps = EPS0 * sol.scene.n_medium**2
    p, m, E, H = sol.p, sol.m, sol.E_local, sol.H_local
    te = 0.5 * np.cross(p, E.conj()).real - k**3 / (12 * np.pi * eps) * np.cross(p.conj(), p).imag
    tm = 0.5 * MU0 * np.cross(m, H.conj()).real - MU0 * k**3 / (12 * np.pi) * np.cross(m.conj(), m).imag
    return te + tm


def _radiated_power(positions, p, m, k, n_medium) -> float:
    """Total power [W] radiated by the dipoles (interference included), closed form over pairs."""
    eps = EPS0 * n_medium**2
    c_m = C0 / n_medium
    omega = k * c_m
    X, inv_r, phase = pair_geometry(positions, positions, k)  # self pairs: phase 0 -> radial functions 0
    x = np.moveaxis(X, 0, -1)  # (N, N, 3)
    co = _radial_coefficients(k)
    A = _evaluate(co["A"], phase, inv_r)
    B = _evaluate(co["B"], phase, inv_r)
    C = _evaluate(co["C"], phase, inv_r)
    ImA = A.imag + np.eye(len(positions)) * k / (6 * np.pi)  # Im G(0) = k/(6 pi) 1; Re Gx(0) = 0
    ImB, ReC = B.imag, C.real

    def quad_G(a, b):  # sum_ij a_i^* Im G_ij b_j
        t1 = np.einsum("ij,ik,jk->", ImA, a.conj(), b)
        xa = np.einsum("ijk,ik->ij", x, a.conj())
        xb = np.einsum("ijk,jk->ij", x, b)
        return t1 + np.einsum("ij,ij,ij->", ImB, xa, xb)

    cross = np.einsum("ij,ik,ijk->", ReC, p.conj(), np.cross(x, m[None, :, :]))
    total = quad_G(p, p) / eps + MU0 * quad_G(m, m) - 2 * MU0 * c_m * np.imag(cross)
    return float(0.5 * omega * k**2 * np.real(total))


def absorbed_powers(sol) -> np.ndarray:
    """Time-averaged power absorbed by each particle, (N,) float [W] (the heating of each particle).

    Work done by the local field on the dipole minus the power the dipole radiates:
    ``P_abs,i = omega/2 [Im(E_i^* . p_i) - k^3 |p_i|^2 / (6 pi eps)] + omega mu0/2 [Im(H_i^* . m_i) - k^3 |m_i|^2 / (6 pi)]``
    (zero for lossless particles, whose polarizabilities satisfy the optical theorem; tested with the
    energy balance ``P_ext = P_sca + P_abs`` and against the Mie absorption cross section).
    """
    scene = sol.scene
    k, n = scene.k, scene.n_medium
    eps = EPS0 * n**2
    omega = k * C0 / n
    p, m, E, H = sol.p, sol.m, sol.E_local, sol.H_local
    return 0.5 * omega * (
        np.sum(np.imag(E.conj() * p), axis=1) - k**3 / (6 * np.pi * eps) * np.sum(np.abs(p) ** 2, axis=1)
        + MU0 * np.sum(np.imag(H.conj() * m), axis=1) - MU0 * k**3 / (6 * np.pi) * np.sum(np.abs(m) ** 2, axis=1)
    )


def cross_sections(sol) -> dict:
    """Extinction, scattering and absorption of the whole cluster.

    Returns a dict with powers ``P_ext, P_sca, P_abs`` [W] and, when the illumination is a single
    plane wave, cross sections ``C_ext, C_sca, C_abs`` [m^2] (power / incident intensity).
    ``P_abs`` is computed from the local fields particle by particle and ``P_sca`` from the
    radiated power of all dipoles, independently, so ``P_ext - P_sca - P_abs`` measures the
    energy balance of the solution (reported as ``energy_balance``, relative to ``P_ext``).
    """
    from ..optics.beams import PlaneWave

    scene = sol.scene
    k, n = scene.k, scene.n_medium
    omega = k * C0 / n
    Ei, Hi = scene.incident_fields()
    p, m = sol.p, sol.m
    P_ext = 0.5 * omega * (np.sum(np.imag(Ei.conj() * p)) + MU0 * np.sum(np.imag(Hi.conj() * m)))
    P_abs = np.sum(absorbed_powers(sol))
    P_sca = _radiated_power(scene.positions, p, m, k, n)
    out = {
        "P_ext": float(P_ext),
        "P_sca": float(P_sca),
        "P_abs": float(P_abs),
        "energy_balance": float((P_ext - P_sca - P_abs) / P_ext) if P_ext != 0 else 0.0,
    }
    beam = scene.illumination
    if isinstance(beam, PlaneWave):
        E0 = beam.fields(np.zeros((1, 3)), n)[0][0]
        I0 = 0.5 * n * C0 * EPS0 * float(np.vdot(E0, E0).real)
        out.update(C_ext=out["P_ext"] / I0, C_sca=out["P_sca"] / I0, C_abs=out["P_abs"] / I0, intensity=I0)
    return out


def fields_at(sol, points, *, scattered_only: bool = False):
    """Total (incident + scattered) or scattered fields at ``points`` (M, 3) [m].

    Points closer than numerical zero to a dipole raise; inside a particle the dipole field is
    not the physical field.
    """
    scene = sol.scene
    pts = np.asarray(points, float).reshape(-1, 3)
    E, H = dipole_fields(pts, scene.positions, sol.p, sol.m, scene.k, scene.n_medium, exclude_self=False)
    if not scattered_only:
        Ei, Hi = scene.illumination.fields(pts, scene.n_medium)
        E, H = E + Ei, H + Hi
    return E, H



def far_field_amplitude(sol, directions) -> np.ndarray:
    """Scattered far-field amplitude ``F(n)`` with ``E_sca ~ F(n) exp(ikR)/R`` as ``R -> inf``.

    Parameters
    ----------
    sol : Solution
    directions : (M, 3) float
        Observation directions (normalized internally).

    Returns
    -------
    (M, 3) complex [V]: ``F = k^2/(4 pi eps) sum_j exp(-ik n.r_j) [(n x p_j) x n - n x m_j / c_m]``.
    The radiated intensity is ``|F|^2 / (2 Z R^2)``.
    """
    scene = sol.scene
    k, n_m = scene.k, scene.n_medium
    eps = EPS0 * n_m**2
    c_m = C0 / n_m
    nv = np.asarray(directions, float).reshape(-1, 3)
    nv = nv / np.linalg.norm(nv, axis=1, keepdims=True)
    phase = np.exp(-1j * k * nv @ scene.positions.T)  # (M, N)
    P = phase @ sol.p  # (M, 3) sum_j phase p_j
    Mm = phase @ sol.m
    transverse = P - nv * np.einsum("mi,mi->m", nv, P)[:, None]
    return k**2 / (4 * np.pi * eps) * (transverse - np.cross(nv, Mm) / c_m)
