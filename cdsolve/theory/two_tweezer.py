r"""Closed-form far-field model of (quantum, non-Hermitian) optical binding in two tweezers.

Two point-dipole particles sit near the foci of two parallel paraxial Gaussian tweezers
(propagation ``+z``, common waist ``w0``, foci a distance ``d`` apart in the focal plane,
``k d >> 1``, ``d >> w0``) and move only along the tweezer axes (``z_1``, ``z_2``). The
light scattered by each particle interferes with the other particle's tweezer; linearized
in ``z_1, z_2`` this gives non-reciprocal couplings, constant forces and correlated photon
recoil noise. Sources:

* [PRA] H. Rudolph, U. Delic, K. Hornberger, B. A. Stickler, *Quantum theory of
  non-Hermitian optical binding between nanoparticles*, Phys. Rev. A 110, 063507 (2024),
  eqs. (57), (67)-(70), (77)-(87);
* [PRL] the companion letter *Quantum optical binding of nanoscale particles*
  (same authors), eqs. (1), (6), (8), (9), (11), (12), (A3), (A7) and Fig. 3.

Conventions are those of :mod:`cdsolve.optics.conventions` (SI, ``exp(-i omega t)``,
``p = alpha_e E``, ``I = n c eps0 |E|^2/2``) and :class:`cdsolve.optics.beams.GaussianTweezer`.

Notation
--------
``k = 2 pi n_m / wavelength``, ``eps = eps0 n_m^2``, ``zR = k w0^2 / 2``,
``E_j = sqrt(2 I_j / (n_m c eps0))`` with ``I_j = 2 P_j / (pi w0^2)`` (real amplitude of
tweezer ``j``; its optical phase ``phi_j`` is kept separately), ``phi = phi_1 - phi_2``,
``alpha_j = |alpha_j| exp(i theta_j)``, ``Theta_j`` = angle between the (linear) polarization
of tweezer ``j`` and the focal-plane direction perpendicular to the separation
(``Theta_j = 0``: polarization perpendicular to the separation, maximal coupling),
``hbar`` the reduced Planck constant.

Formulas implemented (the PRA writes ``eps0 chi^2 V_j V_j'``; with ``alpha_j = eps0 chi V_j``
this is ``alpha_j alpha_j' / eps0``)

(M1) Gouy-corrected local wave number [PRA text after (71); PRL before (A4)]: near its focus
     tweezer ``j`` is ``E_j exp(i phi_j) exp(i kappa z)`` with ``kappa = k - 1/zR``
     (on axis ``arg E = k z - arctan(z/zR)``, cf. :class:`~cdsolve.optics.beams.GaussianTweezer`).

(M2) Axial trap frequencies [PRA (71), PRL (A3)]:
     ``m_j omega_j^2 = Re(alpha_j) |E_j|^2 / (2 zR^2)``;
     ``omega_m = (omega_1 + omega_2)/2``, detuning ``delta_omega = omega_2 - omega_1``.

(M3) Coupling constant [PRA (84)]:
     ``C = |alpha_1 alpha_2| k^2 kappa^2 E_1 E_2 cos(Theta_1) cos(Theta_2) / (8 pi eps d)``.

(M4) Couplings [PRA (83a,b), (77)]: ``C_12 = C cos(psi - phi)``, ``C_21 = C cos(psi + phi)``,
     with the interference phase ``psi = k d + theta_1 + theta_2`` (``= k d`` for real alpha,
     which is the paper's case).

(M5) Linearized equations of motion [PRA (80b), (76)]:
     ``m_j z_j'' = -m_j omega_j^2 z_j + F_j + C_jj' (z_j' - z_j) + xi_j``, i.e.
     ``C_jj' = dF_jz/dz_j'`` and the binding also stiffens trap ``j`` by ``K_j = C_jj'``.
     :attr:`TwoTweezerModel.stiffness_matrix` is ``K`` in ``z'' = -K z + (F + xi)/m``.

(M6) Constant forces at the foci [PRA (85)]:
     ``F_j = kappa |E_j|^2 Im_ext(alpha_j) / 2 + (C/kappa) sin(psi -+ phi)``
     (upper sign ``j = 1``); the first term is the local radiation pressure, which the PRA writes
     as ``eps0 chi^2 V^2 k^3 kappa E_j^2 / (12 pi) = kappa |E_j|^2 (k^3 |alpha|^2/(6 pi eps0))/2``;
     we use ``Im_ext(alpha) = max(Im alpha, k^3 |alpha|^2 / (6 pi eps))`` (equal to ``Im alpha``
     for a passive radiatively-corrected alpha, including absorption; equal to the PRA's
     scattering-only value for a bare real alpha).

(M7) Rates [PRA (87), PRL (6), (9)]: ``g_jj' = C_jj' / (2 omega_m sqrt(m_j m_j'))``,
     ``g = C / (2 omega_m sqrt(m_1 m_2))``,
     ``g_r = (g_12 + g_21)/2 = g cos(psi) cos(phi)``, ``g_a = (g_12 - g_21)/2 = g sin(psi) sin(phi)``;
     frequency shifts ``s_j = C_jj' / (2 m_j omega_m)`` (PRL (9): ``s_1 = g_r + g_a``,
     ``s_2 = g_r - g_a`` for equal masses). The PRL constant (A7) is
     ``G = k d g (k/kappa)^2 = |alpha_1 alpha_2| k^5 E_1 E_2 cos(Theta_1) cos(Theta_2) / (16 pi sqrt(m_1 m_2) eps omega_m)``
     (the PRL drops ``1/zR``; :attr:`TwoTweezerModel.rate_constant_G` keeps ``kappa``, i.e.
     ``G = k d g``).

(M8) Non-Hermitian dynamical matrix [PRL (10)-(11)]: with
     ``a_j = sqrt(m_j omega_m / (2 hbar)) (z_j + i p_j / (m_j omega_m)) exp(i (omega_m + sbar) t)``,
     ``sbar = (s_1 + s_2)/2`` (``= g_r`` for equal masses), rotating-wave approximation:
     ``da/dt = -i H_NH a + xi`` with ::

         H_NH = [[-delta_omega/2 + a_s,  -g_12               ],
                 [-g_21,                   delta_omega/2 - a_s]],   a_s = (s_1 - s_2)/2,

     and ``g_12 = g_r + g_a``, ``g_21 = g_r - g_a``; for equal masses ``a_s = g_a`` and this is
     PRL (11) verbatim. Eigenfrequencies [PRL (12)]:
     ``omega_+- = +- (1/2) sqrt((delta_omega - 2 a_s)^2 + 4 g_r^2 - 4 g_a^2)``
     (``= +- (1/2) sqrt(delta_omega^2 + 4 g_r^2 - 4 g_a delta_omega)`` for equal masses).
     Exceptional points [PRL after (12), PRA after (87)]:
     ``delta_omega = 2 a_s +- 2 sqrt(g_a^2 - g_r^2)`` (real only for ``|g_a| >= |g_r|``);
     (generalized PT / time-reversal) symmetry is broken for
     ``|delta_omega - 2 a_s| < 2 sqrt(g_a^2 - g_r^2)``.
     Without the rotating-wave approximation the squared mode frequencies are the eigenvalues
     of ``K`` [PRA (86), generalized to unequal masses]:
     ``omega_+-^2 = omega_m^2 + delta_omega^2/4 + omega_m (s_1 + s_2)
     +- omega_m sqrt((delta_omega - 2 a_s)^2 + 4 g_r^2 - 4 g_a^2)``.

(M9) Recoil diffusion [PRA (79a), (79b) and text after (84); PRL (8)]:
     ``D_jj = hbar |alpha_j|^2 k^3 |E_j|^2 [5 kappa^2 + 2 k^2] / (120 pi eps)``,
     ``D_12 = D_21^* = (hbar/2) C sin(k d) exp(i (phi + theta_1 - theta_2))``
     (``= hbar C sin(kd) e^{i phi} / 2`` for identical particles).
     Noise convention [PRA (74), (81)]: ``<xi_j'(t') xi_j(t)> = 2 D_jj' delta(t - t')`` for the
     noise forces in (M5), i.e. the master-equation dissipator is
     ``sum_jj' (2 D_jj'/hbar^2) (z_j rho z_j' - {z_j' z_j, rho}/2)`` and
     ``d<p_j^2>/dt = 2 D_jj`` (recoil heating). In the PRL's dimensionless quadratures
     ``z_j -> sqrt(m_j omega_m / hbar) z_j`` the rates are
     ``Dt_jj' = D_jj' / (hbar omega_m sqrt(m_j m_j'))`` [1/s] (PRL (7), (8):
     ``Dt_12 = g sin(kd) cos(phi) + i g_a`` for identical particles).

(M10) Regime map [PRL Fig. 3(a)], with ``R = Re(Dt_12)`` and ratio ``r = 2``:
     noise-dominated ``|R| > r max(|g_12|, |g_21|)``; unidirectional ``|g_12| > r |g_21|`` or
     ``|g_21| > r |g_12|``; reciprocal ``|g_r| > |g_a|`` and ``|g_r| > |R|``; antireciprocal
     ``|g_a| > |g_r|`` and ``|g_a| > |R|``; otherwise generic (the white region). The PRL does not
     say how overlaps are coloured; we test in the order listed (the order of the PRA Fig. 3
     caption). Unidirectional must precede (anti)reciprocal, otherwise the green region would
     shrink to the line ``|g_a| = |g_r|``. Special points (:func:`coupling_settings`):
     (I) reciprocal ``phi = 0, kd = 2 pi n``; (II) unidirectional ``phi = pi/4, kd = 2 pi n + pi/4``;
     (III) antireciprocal ``phi = pi/2, kd = 2 pi n + pi/2``; (IV) noise ``phi = 0, kd = 2 pi n + pi/2``.

Own derivation and corrections to the extracted text
----------------------------------------------------
Text-extracted equations are garbled; every formula above was rederived:

* Force, (M3)-(M6): particle 2 has ``p_2 = alpha_2 E_2 e^{i phi_2} e^{i kappa z_2} e2``; its far field at
  particle 1 (polarization perpendicular to the separation) is
  ``E_s = k^2 e^{i k d} p_2 / (4 pi eps d)`` (corrections ``O(1/(kd))``). The force on 1 is
  ``F_1z = (1/2) Re[p_1^* d_z E_loc]``; to ``O(1/d)`` only ``(1/2) Re[alpha_1^* E_s^* d_z E_inc,1]``
  survives (``d_z E_s`` is ``O(1/d^2)``), giving
  ``F_1z = (C/kappa) sin(psi - phi - kappa (z_1 - z_2))``. Hence ``C_12 = dF_1z/dz_2 = C cos(psi - phi)``,
  ``dF_1z/dz_1 = -C_12`` and ``F_1 = (C/kappa) sin(psi - phi)``: this confirms PRA (83a), (85) (upper
  sign) and the issue's convention, and fixes the prefactor of (84) as ``alpha^2/eps0`` (the
  extraction's ``eps0 chi^2 V^2``). For complex alpha the same derivation gives the extra phase
  ``theta_1 + theta_2`` in ``psi`` (the paper keeps ``chi`` real to its ``O(chi^2)`` accuracy; the
  correction is ``O(chi^3)`` for a lossless sphere).
* The Gouy correction reduces the wave number: ``kappa = k - 1/zR`` (not ``k + 1/zR``), from the on-axis
  phase ``k z - arctan(z/zR)``.
* (M9) from the Lindblad operators PRA (73): ``D_jj`` needs
  ``int d^2n (kappa - k n_z)^2 (1 - n_x^2) = (8 pi/15)(5 kappa^2 + 2 k^2)``, reproducing (79a); ``D_12``
  by stationary phase at ``n = +-(separation direction)`` gives ``(hbar/2) C sin(kd) e^{i phi}``
  (the PRA's sentence after (84)); the phase of ``D_12`` follows ``E_2^* . E_1`` (79b).
  Consistency: ``C_12 - C_21 = 4 Im(D_12)/hbar`` (PRA after (81)) holds exactly for real alpha.
* PRA (86) is confirmed with ``+- omega_m sqrt(...)`` (no 1/2; the 1/2 appears in the
  rotating-wave form PRL (12)). PRL (6b)'s extracted ``y_a`` is ``g_a``; PRL (1)'s Green tensor
  contains the ``k^2`` that :mod:`cdsolve.optics.conventions` puts in front of ``G``.
* PRA eq. (77) is printed with ``Re[e^{ikd} E_j^* . (1 - n n) E_j']``: evaluated with PRA (82)
  (``E_j = E_j e^{i phi_j} (...)``) this is ``cos(kd - phi)`` for ``C_12`` as in (83a).
* Regime map: the PRA's Fig. 3 caption requires ``|C_12 + C_21| > 2 |Re(2 D_12/hbar)|`` (i.e.
  ``|g_r| > |Re Dt_12|``) for the antireciprocal region too; we follow the PRL caption
  (``|g_a| > |Re Dt_12|``), which is the one consistent with point (III) (``g_r = 0``).
* The trap frequency (M2) uses ``Re(alpha)``; the paper's ``chi`` includes the radiation
  correction, so pass a radiatively corrected alpha to reproduce it exactly (the difference
  is ``O(chi^2)`` relative).

Cross-checks (``tests/test_models.py``): a point-dipole derivation written independently in the
test (own tweezer field, full Green tensor, finite differences) and the full cdsolve
coupled-dipole solver both reproduce ``C_12, C_21`` and the interaction forces to ``O(1/(kd))``
(0.1 % at ``kd = 252``), also for a complex alpha (where ignoring ``arg alpha`` would be off by
16 %); the Gouy factor ``(kappa/k)^2 = 0.77`` at ``w0 = 1 um``, 1550 nm is thereby confirmed.

Validity: far field ``k d >> 1`` (errors ``O(1/(kd))``; ``kd >= 2 pi`` is enforced, which also
guarantees ``D_11 D_22 >= |D_12|^2``), tweezers well separated (``d >> w0``; tweezer ``j'`` at
particle ``j`` is neglected), single scattering (first order in the coupling), particles deep in
the traps (``|z_j| << zR``), only axial motion. The rotating-wave quantities (M8) further need
``|delta_omega|, |g| << omega_m``.

Examples
--------
>>> import numpy as np
>>> from cdsolve.optics.conventions import EPS0
>>> a, rho = 104e-9, 2200.0
>>> alpha = 4 * np.pi * EPS0 * a**3 * (1.45**2 - 1) / (1.45**2 + 2)
>>> mass = 4 / 3 * np.pi * a**3 * rho
>>> phi, kd = unidirectional_settings(4)
>>> k = 2 * np.pi / 1550e-9
>>> model = TwoTweezerModel(1550e-9, alpha, distance=kd / k, waist=1e-6, powers=(0.1, 0.1),
...                         phases=(phi, 0.0), masses=(mass, mass))
>>> c12, c21 = model.couplings
>>> bool(abs(c21) < 1e-12 * abs(c12))
True
>>> model.regime()
'unidirectional'
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Sequence

import numpy as np

from ..optics.conventions import EPS0, HBAR, amplitude_from_intensity, wavenumber
from ..optics._checks import real_number

__all__ = [
    "TwoTweezerModel",
    "nonhermitian_matrix",
    "nonhermitian_eigenfrequencies",
    "exceptional_points",
    "classify_regime",
    "coupling_settings",
    "unidirectional_settings",
    "REGIMES",
]

#: possible return values of :func:`classify_regime`, in the order they are tested
REGIMES = ("noise-dominated", "unidirectional", "reciprocal", "antireciprocal", "generic")


# --------------------------------------------------------------------------- validation helpers
def _real(name: str, value, *, positive: bool = False) -> float:
    return real_number(name, value, positive=positive)


def _pair(name: str, value, *, positive: bool = False) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a pair (value_1, value_2), got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must have exactly 2 entries, got {len(value)}: {value!r}")
    return tuple(_real(f"{name}[{i}]", v, positive=positive) for i, v in enumerate(value))


def _alpha(name: str, value) -> complex:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Number, np.number)):
        raise ValueError(f"{name} must be a complex number [F m^2], got {value!r}")
    a = complex(value)
    if not (np.isfinite(a.real) and np.isfinite(a.imag)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if a.real <= 0.0:
        raise ValueError(f"{name} must have Re(alpha) > 0 (a particle trapped at the intensity maximum), got {value!r}")
    if a.imag < 0.0:
        raise ValueError(f"{name} must be passive, Im(alpha) >= 0, got {value!r}")
    return a


# --------------------------------------------------------------------------- 2x2 non-Hermitian algebra
def nonhermitian_matrix(delta_omega, g_r, g_a, *, shift_asymmetry=None) -> np.ndarray:
    """Dynamical matrix ``H_NH`` of PRL eq. (11) (rotating frame, RWA): ``da/dt = -i H_NH a + xi``.

    Parameters
    ----------
    delta_omega : float [rad/s]
        Mechanical detuning ``omega_2 - omega_1``.
    g_r, g_a : float [rad/s]
        Reciprocal and antireciprocal coupling rates (PRL eq. 6).
    shift_asymmetry : float [rad/s], optional
        ``a_s = (s_1 - s_2)/2``, half the difference of the binding-induced frequency shifts
        (defaults to ``g_a``, the equal-mass value of the PRL).

    Returns
    -------
    H : ndarray, shape (2, 2), complex [rad/s]
        ``[[-delta_omega/2 + a_s, -(g_r + g_a)], [-(g_r - g_a), delta_omega/2 - a_s]]``.

    Examples
    --------
    >>> nonhermitian_matrix(2.0, 1.0, 0.5).real.tolist()
    [[-0.5, -1.5], [-0.5, 0.5]]
    """
    a_s = g_a if shift_asymmetry is None else shift_asymmetry
    h = -0.5 * delta_omega + a_s
    return np.array([[h, -(g_r + g_a)], [-(g_r - g_a), -h]], dtype=complex)


def nonhermitian_eigenfrequencies(delta_omega, g_r, g_a, *, shift_asymmetry=None) -> np.ndarray:
    """Eigenfrequencies ``omega_+- = +-(1/2) sqrt(delta_omega^2 + 4 g_r^2 - 4 g_a delta_omega)`` (PRL eq. 12).

    With ``shift_asymmetry = a_s`` the radicand is ``(delta_omega - 2 a_s)^2 + 4 (g_r^2 - g_a^2)``
    (identical for ``a_s = g_a``).

    Parameters
    ----------
    delta_omega, g_r, g_a : float [rad/s]
    shift_asymmetry : float [rad/s], optional
        See :func:`nonhermitian_matrix`.

    Returns
    -------
    omega : ndarray, shape (2,), complex [rad/s]
        ``(omega_+, omega_-)``, ``omega_+`` the principal square root (``omega_- = -omega_+``);
        a complex pair means broken (generalized PT) symmetry.

    Examples
    --------
    >>> bool(np.allclose(nonhermitian_eigenfrequencies(0.0, 0.0, 1.0), 0))   # g_r = 0, delta_omega = 0: an EP
    True
    >>> bool(np.allclose(nonhermitian_eigenfrequencies(2.0, 0.0, 1.0), [1j, -1j]))   # delta_omega = 2 g_a
    True
    >>> nonhermitian_eigenfrequencies(0.0, 1.0, 0.0).real.tolist()   # reciprocal: split by 2 g_r
    [1.0, -1.0]
    """
    a_s = g_a if shift_asymmetry is None else shift_asymmetry
    radicand = (delta_omega - 2.0 * a_s) ** 2 + 4.0 * (g_r**2 - g_a**2)
    w = 0.5 * np.sqrt(complex(radicand))
    return np.array([w, -w])


def exceptional_points(g_r, g_a, *, shift_asymmetry=None) -> tuple[float, ...]:
    """Detunings of the exceptional points, ``delta_omega = 2 g_a +- 2 sqrt(g_a^2 - g_r^2)`` (PRL after eq. 12).

    Parameters
    ----------
    g_r, g_a : float [rad/s]
    shift_asymmetry : float [rad/s], optional
        ``a_s`` of :func:`nonhermitian_matrix`; replaces ``g_a`` in ``2 g_a +- ...`` (default ``g_a``).

    Returns
    -------
    tuple of float [rad/s]
        ``(delta_omega_-, delta_omega_+)`` in increasing order when ``|g_a| >= |g_r|``
        (one repeated value if ``|g_a| = |g_r|``); an empty tuple when ``|g_a| < |g_r|``
        (no exceptional point at real detuning).

    Examples
    --------
    >>> exceptional_points(3.0, 5.0)
    (2.0, 18.0)
    >>> exceptional_points(1.0, 0.5)
    ()
    """
    a_s = g_a if shift_asymmetry is None else shift_asymmetry
    disc = g_a**2 - g_r**2
    if disc < 0:
        return ()
    root = 2.0 * np.sqrt(disc)
    return (float(2.0 * a_s - root), float(2.0 * a_s + root))


def classify_regime(g_r, g_a, re_d12, ratio: float = 2.0) -> str:
    """Coupling regime of PRL Fig. 3(a).

    Tested in this order (first match wins), with ``g_12 = g_r + g_a``, ``g_21 = g_r - g_a``:

    1. ``"noise-dominated"``: ``|re_d12| > ratio * max(|g_12|, |g_21|)``;
    2. ``"unidirectional"``: ``|g_12| > ratio |g_21|`` or ``|g_21| > ratio |g_12|``;
    3. ``"reciprocal"``: ``|g_r| > |g_a|`` and ``|g_r| > |re_d12|``;
    4. ``"antireciprocal"``: ``|g_a| > |g_r|`` and ``|g_a| > |re_d12|``;
    5. ``"generic"`` otherwise (the PRL's white region).

    Parameters
    ----------
    g_r, g_a : float [rad/s]
        Reciprocal/antireciprocal rates (PRL eq. 6).
    re_d12 : float [1/s]
        ``Re(Dt_12)``, the noise correlation in the PRL's dimensionless units (PRL eq. 8).
    ratio : float
        Dominance factor (2 in the PRL).

    Returns
    -------
    str
        One of :data:`REGIMES`.

    Examples
    --------
    >>> classify_regime(1.0, 0.0, 0.0), classify_regime(0.5, 0.5, 0.5), classify_regime(0.0, 1.0, 0.0)
    ('reciprocal', 'unidirectional', 'antireciprocal')
    >>> classify_regime(0.0, 0.0, 1.0), classify_regime(1.0, 0.9, 1.5)
    ('noise-dominated', 'unidirectional')
    """
    ratio = _real("ratio", ratio, positive=True)
    g12, g21, r = abs(g_r + g_a), abs(g_r - g_a), abs(re_d12)
    gr, ga = abs(g_r), abs(g_a)
    if r > ratio * max(g12, g21):
        return "noise-dominated"
    if g12 > ratio * g21 or g21 > ratio * g12:
        return "unidirectional"
    if gr > ga and gr > r:
        return "reciprocal"
    if ga > gr and ga > r:
        return "antireciprocal"
    return "generic"


_SETTINGS = {
    "reciprocal": (0.0, 0.0),  # (I): g_a = D_12 = 0
    "unidirectional": (0.25 * np.pi, 0.25 * np.pi),  # (II): g_a = g_r, C_21 = 0
    "antireciprocal": (0.5 * np.pi, 0.5 * np.pi),  # (III): g_r = Re D_12 = 0
    "noise-dominated": (0.0, 0.5 * np.pi),  # (IV): g_r = g_a = 0, Re D_12 maximal
}


def coupling_settings(regime: str, n: int) -> tuple[float, float]:
    """Relative phase and ``k d`` of the special points (I)-(IV) of PRL Fig. 3(a).

    Parameters
    ----------
    regime : {"reciprocal", "unidirectional", "antireciprocal", "noise-dominated"}
    n : int >= 1
        Interference order: ``kd = 2 pi n + kd_0`` (``n >= 1`` keeps ``d`` in the far field).

    Returns
    -------
    phi : float [rad]
        ``phi_1 - phi_2``: 0, pi/4, pi/2, 0 respectively.
    kd : float [-]
        ``2 pi n`` + (0, pi/4, pi/2, pi/2) respectively. With a complex polarizability the
        interference phase is ``kd + arg(alpha_1 alpha_2)``: subtract that from ``kd``.

    Examples
    --------
    >>> phi, kd = coupling_settings("antireciprocal", 3)
    >>> round(phi / np.pi, 12), round(kd / np.pi, 12)
    (0.5, 6.5)
    """
    if regime not in _SETTINGS:
        raise ValueError(f"regime must be one of {sorted(_SETTINGS)}, got {regime!r}")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (numbers.Integral, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    phi, kd0 = _SETTINGS[regime]
    return float(phi), float(2.0 * np.pi * n + kd0)


def unidirectional_settings(n: int) -> tuple[float, float]:
    """``(phi, kd) = (pi/4, 2 pi n + pi/4)``: maximally unidirectional coupling (``C_21 = 0``), point (II).

    Examples
    --------
    >>> [round(x / np.pi, 12) for x in unidirectional_settings(1)]
    [0.25, 2.25]
    """
    return coupling_settings("unidirectional", n)


# --------------------------------------------------------------------------- the model
@dataclasses.dataclass(frozen=True)
class TwoTweezerModel:
    """Two dipolar particles in two parallel tweezers: far-field closed forms of PRA/PRL (module docstring).

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength, > 0.
    polarizability : complex or pair of complex [F m^2]
        ``alpha_e`` (``p = alpha_e E``) of both particles or ``(alpha_1, alpha_2)``;
        ``Re > 0`` (trapped at the focus), ``Im >= 0`` (passive).
    distance : float [m]
        Distance ``d`` between the foci (in the focal plane); ``k d >= 2 pi`` required
        (far field). Accuracy is ``O(1/(kd))``; the tweezers must not overlap (``d >> waist``).
    waist : float [m]
        Common ``1/e^2`` intensity waist ``w0`` > 0 (Rayleigh range ``zR = k w0^2 / 2``).
    powers : pair of float [W]
        Tweezer powers ``(P_1, P_2)`` > 0; peak intensities ``2 P_j / (pi w0^2)``.
    phases : pair of float [rad]
        Optical phases ``(phi_1, phi_2)`` of the tweezers at their foci; ``phi = phi_1 - phi_2``.
    masses : pair of float [kg]
        Particle masses ``(m_1, m_2)`` > 0.
    n_medium : float [-]
        Real index of the host (default 1.0).
    polarization_angles : pair of float [rad]
        ``(Theta_1, Theta_2)``: angle of each tweezer's linear polarization from the focal-plane
        direction perpendicular to the separation (PRA eq. 82); default ``(0, 0)``.

    Notes
    -----
    Properties return SI values; rates are angular frequencies [rad/s]. Index ``j = 1, 2`` maps
    to array index ``0, 1``.

    Examples
    --------
    >>> from cdsolve.optics.conventions import EPS0
    >>> alpha = 4 * np.pi * EPS0 * (104e-9) ** 3 * (1.45**2 - 1) / (1.45**2 + 2)
    >>> m = 4 / 3 * np.pi * (104e-9) ** 3 * 2200.0
    >>> model = TwoTweezerModel(1550e-9, alpha, distance=10e-6, waist=1e-6, powers=(0.1, 0.1),
    ...                         phases=(0.0, 0.0), masses=(m, m))
    >>> f"{model.coupling_constant:.3e}"
    '5.079e-09'
    >>> [f"{w / (2 * np.pi * 1e3):.1f}" for w in model.trap_frequencies]   # kHz
    ['21.9', '21.9']
    >>> D = model.diffusion
    >>> bool(np.allclose(D, D.conj().T)), bool(np.all(np.linalg.eigvalsh(D) >= 0))
    (True, True)
    """

    wavelength: float
    polarizability: complex | Sequence[complex]
    distance: float
    waist: float
    powers: Sequence[float]
    phases: Sequence[float]
    masses: Sequence[float]
    n_medium: float = 1.0
    polarization_angles: Sequence[float] = (0.0, 0.0)

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        s("wavelength", _real("wavelength", self.wavelength, positive=True))
        s("n_medium", _real("n_medium", self.n_medium, positive=True))
        a = self.polarizability
        if isinstance(a, np.ndarray) and a.ndim == 0:
            a = a[()]
        if isinstance(a, (Sequence, np.ndarray)) and not isinstance(a, (str, bytes)):
            if len(a) != 2:
                raise ValueError(f"polarizability must be one complex number or a pair, got {len(a)} entries: {a!r}")
            s("polarizability", tuple(_alpha(f"polarizability[{i}]", v) for i, v in enumerate(a)))
        else:
            v = _alpha("polarizability", a)
            s("polarizability", (v, v))
        s("waist", _real("waist", self.waist, positive=True))
        s("distance", _real("distance", self.distance, positive=True))
        kd = self.k * self.distance
        if kd < 2.0 * np.pi:
            raise ValueError(
                f"distance={self.distance!r} m is not in the far field: k d = {kd:.3g} < 2 pi "
                f"(need distance >= wavelength / n_medium = {self.wavelength / self.n_medium:.4g} m)"
            )
        s("powers", _pair("powers", self.powers, positive=True))
        s("phases", _pair("phases", self.phases))
        s("masses", _pair("masses", self.masses, positive=True))
        s("polarization_angles", _pair("polarization_angles", self.polarization_angles))

    # ----------------------------------------------------------------- geometry and fields
    @property
    def k(self) -> float:
        """Wavenumber in the host ``k = 2 pi n_m / wavelength`` [1/m]."""
        return wavenumber(self.wavelength, self.n_medium)

    @property
    def rayleigh_range(self) -> float:
        """Rayleigh range ``zR = k w0^2 / 2`` [m]."""
        return 0.5 * self.k * self.waist**2

    @property
    def kappa(self) -> float:
        """Gouy-corrected local wave number ``kappa = k - 1/zR`` [1/m] (M1)."""
        return self.k - 1.0 / self.rayleigh_range

    @property
    def kd(self) -> float:
        """Dimensionless distance ``k d`` [-]."""
        return self.k * self.distance

    @property
    def relative_phase(self) -> float:
        """``phi = phi_1 - phi_2`` [rad]."""
        return self.phases[0] - self.phases[1]

    @property
    def interference_phase(self) -> float:
        """``psi = k d + arg(alpha_1) + arg(alpha_2)`` [rad] (M4); ``k d`` for real alpha."""
        a1, a2 = self.polarizability
        return self.kd + float(np.angle(a1) + np.angle(a2))

    @property
    def field_amplitudes(self) -> np.ndarray:
        """Real focal amplitudes ``(E_1, E_2)`` [V/m], ``n_m c eps0 E_j^2 / 2 = 2 P_j / (pi w0^2)``."""
        i0 = 2.0 * np.asarray(self.powers) / (np.pi * self.waist**2)
        return np.array([amplitude_from_intensity(i, self.n_medium) for i in i0])

    @property
    def _eps(self) -> float:
        return EPS0 * self.n_medium**2

    # ----------------------------------------------------------------- classical mechanics
    @property
    def trap_frequencies(self) -> np.ndarray:
        """Bare axial trap frequencies ``(omega_1, omega_2)`` [rad/s] (M2, PRA eq. 71).

        ``m_j omega_j^2 = Re(alpha_j) E_j^2 / (2 zR^2)``: curvature of the on-axis intensity
        ``E_j^2 / (1 + z^2/zR^2)`` of the tweezer's own field (the Gouy phase does not change
        ``|E|^2``, and the local radiation pressure ``kappa(z) |E(z)|^2 Im(alpha)/2`` has no
        gradient at the focus). Pass a radiatively corrected alpha to include the paper's
        radiation correction of ``chi``. The binding stiffening ``K_j = C_jj'`` is not included
        (see :attr:`renormalized_trap_frequencies`).
        """
        e = self.field_amplitudes
        re_a = np.array([a.real for a in self.polarizability])
        return np.sqrt(re_a * e**2 / (2.0 * self.rayleigh_range**2 * np.asarray(self.masses)))

    @property
    def mean_frequency(self) -> float:
        """``omega_m = (omega_1 + omega_2) / 2`` [rad/s]."""
        return float(np.mean(self.trap_frequencies))

    @property
    def detuning(self) -> float:
        """Mechanical detuning ``delta_omega = omega_2 - omega_1`` [rad/s] (set by the power ratio)."""
        w = self.trap_frequencies
        return float(w[1] - w[0])

    @property
    def coupling_constant(self) -> float:
        """``C = |alpha_1 alpha_2| k^2 kappa^2 E_1 E_2 cos(Theta_1) cos(Theta_2) / (8 pi eps0 n_m^2 d)`` [N/m] (M3, PRA eq. 84)."""
        a1, a2 = self.polarizability
        e1, e2 = self.field_amplitudes
        t1, t2 = self.polarization_angles
        k, kap = self.k, self.kappa
        return float(abs(a1 * a2) * k**2 * kap**2 * e1 * e2 * np.cos(t1) * np.cos(t2) / (8.0 * np.pi * self._eps * self.distance))

    @property
    def couplings(self) -> np.ndarray:
        """``(C_12, C_21) = C (cos(psi - phi), cos(psi + phi))`` [N/m] (M4, PRA eq. 83); ``C_jj' = dF_jz/dz_j'``."""
        c, psi, phi = self.coupling_constant, self.interference_phase, self.relative_phase
        return np.array([c * np.cos(psi - phi), c * np.cos(psi + phi)])

    @property
    def constant_forces(self) -> np.ndarray:
        """Axial forces ``(F_1, F_2)`` [N] on the particles at the foci (M6, PRA eq. 85).

        Local radiation pressure ``kappa E_j^2 Im_ext(alpha_j) / 2`` plus the interaction force
        ``(C/kappa) sin(psi -+ phi)`` (upper sign for particle 1).
        """
        e = self.field_amplitudes
        k, kap, eps = self.k, self.kappa, self._eps
        im_ext = np.array([max(a.imag, k**3 * abs(a) ** 2 / (6.0 * np.pi * eps)) for a in self.polarizability])
        return 0.5 * kap * e**2 * im_ext + self.interaction_forces

    @property
    def interaction_forces(self) -> np.ndarray:
        """Interaction part ``(C/kappa) (sin(psi - phi), sin(psi + phi))`` [N] of :attr:`constant_forces`.

        The far-field limit of :meth:`cdsolve.Solution.interaction_forces` (``F - F_iso``) along ``z``.
        """
        psi, phi = self.interference_phase, self.relative_phase
        return self.coupling_constant / self.kappa * np.array([np.sin(psi - phi), np.sin(psi + phi)])

    @property
    def stiffness_matrix(self) -> np.ndarray:
        """``K`` [rad^2/s^2] of the linearized motion ``z'' = -K z + (F + xi)/m`` (M5, PRA eq. 80b).

        ``K = [[omega_1^2 + C_12/m_1, -C_12/m_1], [-C_21/m_2, omega_2^2 + C_21/m_2]]`` (no RWA).
        """
        w1, w2 = self.trap_frequencies
        c12, c21 = self.couplings
        m1, m2 = self.masses
        return np.array([[w1**2 + c12 / m1, -c12 / m1], [-c21 / m2, w2**2 + c21 / m2]])

    @property
    def renormalized_trap_frequencies(self) -> np.ndarray:
        """``sqrt(omega_j^2 + C_jj'/m_j)`` [rad/s], complex: trap frequencies with the binding stiffening (PRA eqs. 75-76).

        Imaginary only if the binding anti-stiffening exceeds the trap (not in the far-field regime).
        """
        k = self.stiffness_matrix
        return np.sqrt(np.diag(k).astype(complex))

    @property
    def mode_frequencies_squared(self) -> np.ndarray:
        """Squared normal-mode frequencies ``(omega_+^2, omega_-^2)`` [rad^2/s^2] (M8, PRA eq. 86), complex.

        Eigenvalues of :attr:`stiffness_matrix` (exact, no RWA); a complex pair signals
        broken time-reversal symmetry (one growing, one decaying mode).
        """
        wm, dw = self.mean_frequency, self.detuning
        s1, s2 = self.frequency_shifts
        g_r, g_a = self.rates
        a_s = 0.5 * (s1 - s2)
        root = np.sqrt(complex((dw - 2 * a_s) ** 2 + 4 * (g_r**2 - g_a**2)))
        base = wm**2 + dw**2 / 4 + wm * (s1 + s2)
        return np.array([base + wm * root, base - wm * root])

    # ----------------------------------------------------------------- rates (PRL form)
    @property
    def rate_constant(self) -> float:
        """``g = C / (2 omega_m sqrt(m_1 m_2))`` [rad/s] (M7, PRA eq. 87; ``= G/(kd)`` of the PRL)."""
        return self.coupling_constant / (2.0 * self.mean_frequency * np.sqrt(np.prod(self.masses)))

    @property
    def rate_constant_G(self) -> float:
        """PRL constant ``G = k d g`` [rad/s] (PRL eqs. 6, A7; Gouy-corrected: (A7) times ``(kappa/k)^2``)."""
        return self.kd * self.rate_constant

    @property
    def coupling_rates(self) -> np.ndarray:
        """``(g_12, g_21) = (C_12, C_21) / (2 omega_m sqrt(m_1 m_2))`` [rad/s] (``g_r +- g_a``)."""
        return self.couplings / (2.0 * self.mean_frequency * np.sqrt(np.prod(self.masses)))

    @property
    def rates(self) -> tuple[float, float]:
        """``(g_r, g_a) = (g cos(psi) cos(phi), g sin(psi) sin(phi))`` [rad/s] (M7, PRL eq. 6, PRA eq. 87)."""
        g12, g21 = self.coupling_rates
        return float(0.5 * (g12 + g21)), float(0.5 * (g12 - g21))

    @property
    def frequency_shifts(self) -> np.ndarray:
        """``(s_1, s_2) = (C_12/m_1, C_21/m_2) / (2 omega_m)`` [rad/s]: binding shifts of the trap frequencies (PRL eq. 9)."""
        return self.couplings / (2.0 * self.mean_frequency * np.asarray(self.masses))

    @property
    def _shift_asymmetry(self) -> float:
        s1, s2 = self.frequency_shifts
        return float(0.5 * (s1 - s2))

    @property
    def dynamical_matrix(self) -> np.ndarray:
        """Non-Hermitian dynamical matrix ``H_NH`` (2, 2) complex [rad/s] (M8, PRL eq. 11).

        Definition: ``da/dt = -i H_NH a + xi`` for the mode amplitudes
        ``a_j = sqrt(m_j omega_m/(2 hbar)) (z_j + i p_j/(m_j omega_m))`` in the frame rotating at
        ``omega_m + (s_1 + s_2)/2`` (``= omega_m + g_r`` for equal masses), rotating-wave
        approximation; ``H_NH = [[-delta_omega/2 + a_s, -(g_r + g_a)], [-(g_r - g_a), delta_omega/2 - a_s]]``,
        ``a_s = (s_1 - s_2)/2 = g_a`` for equal masses. A classical amplitude ``a ~ exp(-i w t)``
        solves it for each eigenvalue ``w`` (:attr:`eigenfrequencies`).
        """
        g_r, g_a = self.rates
        return nonhermitian_matrix(self.detuning, g_r, g_a, shift_asymmetry=self._shift_asymmetry)

    @property
    def eigenfrequencies(self) -> np.ndarray:
        """``(omega_+, omega_-)`` complex [rad/s], eigenvalues of :attr:`dynamical_matrix` (M8, PRL eq. 12)."""
        g_r, g_a = self.rates
        return nonhermitian_eigenfrequencies(self.detuning, g_r, g_a, shift_asymmetry=self._shift_asymmetry)

    @property
    def exceptional_point_detunings(self) -> tuple[float, ...]:
        """Detunings ``delta_omega = 2 g_a +- 2 sqrt(g_a^2 - g_r^2)`` [rad/s] of the EPs (PRL after eq. 12).

        Evaluated with this model's ``g_r, g_a`` (which depend on the powers only through
        ``sqrt(P_1 P_2)`` and ``omega_m``); empty tuple when ``|g_a| < |g_r|``. Compare with
        :attr:`detuning`.
        """
        g_r, g_a = self.rates
        return exceptional_points(g_r, g_a, shift_asymmetry=self._shift_asymmetry)

    @property
    def pt_broken(self) -> bool:
        """True in the (generalized PT / time-reversal) broken phase: ``omega_+-`` complex."""
        return bool(abs(self.eigenfrequencies[0].imag) > 0.0)

    # ----------------------------------------------------------------- noise
    @property
    def diffusion(self) -> np.ndarray:
        """Recoil diffusion matrix ``D`` (2, 2) complex Hermitian [N^2 s] (M9, PRA eqs. 79, PRL eq. 8).

        ``D_jj = hbar |alpha_j|^2 k^3 E_j^2 (5 kappa^2 + 2 k^2) / (120 pi eps0 n_m^2)``,
        ``D_12 = D_21^* = (hbar/2) C sin(k d) exp(i (phi + theta_1 - theta_2))``, ``kappa = k - 1/zR``.
        Noise convention: ``<xi_j'(t') xi_j(t)> = 2 D_jj' delta(t - t')`` (PRA eq. 81), so
        ``d<p_j^2>/dt = 2 D_jj``.
        """
        a1, a2 = self.polarizability
        e1, e2 = self.field_amplitudes
        k, kap = self.k, self.kappa
        diag = HBAR * np.array([abs(a1) ** 2 * e1**2, abs(a2) ** 2 * e2**2]) * k**3 * (5 * kap**2 + 2 * k**2) / (120.0 * np.pi * self._eps)
        phase = self.relative_phase + float(np.angle(a1) - np.angle(a2))
        d12 = 0.5 * HBAR * self.coupling_constant * np.sin(self.kd) * np.exp(1j * phase)
        return np.array([[diag[0], d12], [np.conj(d12), diag[1]]], dtype=complex)

    @property
    def diffusion_rates(self) -> np.ndarray:
        """``Dt_jj' = D_jj' / (hbar omega_m sqrt(m_j m_j'))`` (2, 2) complex [1/s]: PRL eqs. (7)-(8) units."""
        m = np.asarray(self.masses)
        return self.diffusion / (HBAR * self.mean_frequency * np.sqrt(np.outer(m, m)))

    def regime(self, ratio: float = 2.0) -> str:
        """Coupling regime of PRL Fig. 3(a) for this model (see :func:`classify_regime`).

        Parameters
        ----------
        ratio : float
            Dominance factor (PRL: 2).

        Returns
        -------
        str
            ``"noise-dominated"``, ``"unidirectional"``, ``"reciprocal"``, ``"antireciprocal"``
            or ``"generic"``.
        """
        g_r, g_a = self.rates
        return classify_regime(g_r, g_a, float(self.diffusion_rates[0, 1].real), ratio)
