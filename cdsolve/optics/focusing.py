"""Tightly focused vector beams: the Richards-Wolf focal field of an aplanatic lens.

Physics (Richards & Wolf, Proc. R. Soc. A 253, 358 (1959); Novotny & Hecht, *Principles of
Nano-Optics*, sec. 3.6). In the beam frame (``z'`` along the propagation direction, origin at the
focus; :func:`cdsolve.optics.beams.beam_frame`) the focal field is a superposition of plane waves,

    E(r) = int_{theta <= theta_max} dOmega  A(theta, phi) exp(i k s.r),
    s = (sin theta cos phi, sin theta sin phi, cos theta),  k = 2 pi n_m / wavelength,

over the cone ``sin theta_max = NA / n_m`` (the Debye approximation, exact Maxwell field in the
host). The lens maps the input polarization ``e_in`` at pupil radius ``rho = f sin theta``
(sine condition) onto ``e_out = (e_in.e_phi) e_phi + (e_in.e_rho) e_theta`` (``e_rho, e_phi`` the
cylindrical, ``e_theta`` the spherical unit vectors), and conserves energy ray by ray (Fresnel
losses neglected; a scalar ``transmission`` is allowed). Since a plane-wave superposition
carries the power ``P = (2 pi^2 n_m c eps0 / k^2) int dOmega |A|^2`` through every plane
``z' = const`` (Parseval), equating it with the power ``T I_in(rho) rho drho dphi`` entering the
aperture gives

    |A(theta)| = sqrt( T P k^2 cos(theta) g(u) / (4 pi^3 n_m c eps0 u_max^2 G) ),   u = sin(theta)/u_max,

with ``u_max = NA / n_m``, ``g(u)`` the input intensity profile in units of the aperture radius
(Gaussian ``exp(-2 u^2 / f0^2)`` with filling factor ``f0 = w_in / R``, or uniform ``g = 1``) and
``G = int_0^1 g(u) u du``. ``sqrt(cos theta)`` is the aplanatic apodization. ``P`` is the power
*entering the aperture* (for a Gaussian input of power ``P_in``, ``P = P_in (1 - exp(-2/f0^2))``,
see :attr:`FocusedBeam.aperture_fraction`).

Phase convention: ``A`` is real and positive up to ``e_out`` and ``exp(i phase)``, so a linearly
polarized focus has ``E(focus) = |E| e exp(i phase)`` like :class:`~cdsolve.optics.beams.GaussianTweezer`
(the textbook prefactor ``-i k f exp(-i k f) / 2 pi`` is a constant phase and is dropped). At low NA
the field tends to the paraxial ``GaussianTweezer`` of waist ``w0 = wavelength / (pi f0 NA)``
(:meth:`FocusedBeam.paraxial_equivalent`).

Numerics. The azimuthal integral is evaluated *exactly*: every jet integrand
``(i k s)^n A(theta, phi)`` is a trigonometric polynomial in ``phi`` of degree ``<= 2 + n`` (the
polarization mapping contributes degree <= 2, every derivative one more), so its Fourier
coefficients ``c_m(theta)`` come exactly from 16 equispaced samples (an FFT, i.e. the trapezoid
rule, exact for this band limit), and the Jacobi-Anger identity
``int_0^2pi e^{i m phi} e^{i x cos(phi - varphi)} dphi = 2 pi i^m J_m(x) e^{i m varphi}`` does the
rest. (A trapezoid rule on ``exp(i k s.r)`` itself would need more than ``k rho sin theta_max``
nodes, which is prohibitive for the cross-talk between tweezers tens of wavelengths apart.)
The polar integral uses Gauss-Legendre in ``theta`` on ``[0, theta_edge]`` with a node count from
:func:`theta_nodes` (documented convergence rule in the phase span
``k theta_edge (rho + |z| sin theta_edge)`` of each evaluation point, the aperture's
distance from the ``sqrt(cos theta)`` branch point at ``theta = pi/2`` and the filling factor);
points are binned by their node count so that points near the focus stay cheap. Derivatives are
analytic under the integral (factors ``i k s_a``).

Examples
--------
>>> import numpy as np
>>> from cdsolve.optics.focusing import FocusedBeam
>>> beam = FocusedBeam(1064e-9, na=0.9, power=0.1, filling_factor=1.0)
>>> E, H = beam.fields(np.zeros((1, 3)), 1.33)
>>> E.shape, bool(abs(E[0, 0]) > 1e3 * abs(E[0, 1]))  # x-polarized at the focus
((1, 3), True)
>>> dE, dH = beam.gradients([0.0, 0.0, 0.0], 1.33)
>>> bool(abs(np.trace(dE)) < 1e-12 * abs(E[0, 0]) / 1064e-9)   # div E = 0
True
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Sequence

import numpy as np
from scipy import special

from .beams import (
    Beam,
    GaussianTweezer,
    _as_points,
    check_field_strength,
    _check_n_medium,
    _finite_float,
    _positive_float,
    _unit_direction,
    _unit_polarization,
    _vector,
    beam_frame,
)
from .conventions import C0, EPS0, wavenumber

__all__ = ["FocusedBeam", "focused_beam_jets", "theta_nodes", "pupil_amplitude", "MAX_ORDER"]

#: highest derivative order of E provided (H needs one more than the force Hessians)
MAX_ORDER = 3
#: azimuthal samples for the exact Fourier coefficients (band limit 2 + MAX_ORDER = 5 < 16/2)
_N_PHI = 16
#: Gaussian pupil cut: the field amplitudes exp(-u^2/f0^2) and (u/f0) exp(-u^2/f0^2) are below 1e-15 beyond u = 6.3 f0
_GAUSS_CUT = 6.3
#: target relative accuracy of the theta quadrature (see :func:`theta_nodes`)
QUADRATURE_TOL = 1e-11
#: points per evaluation block (bounds the (points x nodes) work arrays to a few tens of MB)
_BLOCK_ENTRIES = 400_000
_POLARIZATION_MODES = ("radial", "azimuthal")


# --------------------------------------------------------------------------- pure kernels
def pupil_amplitude(theta, na: float, n_medium: float, filling_factor: float | None,
                    profile: str = "gaussian") -> np.ndarray:
    """Field amplitude per solid angle ``|A(theta)|`` [V/m/sr] of a unit-power (1 W) focus.

    ``|A|^2 = k^2 cos(theta) g(u) / (4 pi^3 n_m c eps0 u_max^2 G)`` with ``u = sin(theta)/u_max``,
    ``u_max = NA/n_m`` (module docstring); multiply by ``sqrt(P T)`` for power ``P`` and transmission ``T``.
    The wavelength enters through ``k`` only as the overall factor ``k`` and is taken as
    ``k = 1/m`` here: the caller multiplies by ``k`` [1/m].

    Parameters
    ----------
    theta : array_like, shape (Q,), float [rad]
        Polar angles of the plane-wave directions, ``0 <= theta <= theta_max``.
    na : float [-]
    n_medium : float [-]
    filling_factor : float or None
        ``w_in / R`` of a Gaussian input; None for uniform illumination.
    profile : {"gaussian", "doughnut"}
        Input intensity ``g(u) = exp(-2 u^2/f0^2)`` or the LG01 doughnut ``(u/f0)^2 exp(-2 u^2/f0^2)``
        (``G = int_0^1 g u du`` in closed form for both).

    Returns
    -------
    ndarray, shape (Q,), float: ``|A| / k`` [V/sr] for ``P T = 1 W``.
    """
    theta = np.asarray(theta, float)
    umax = na / n_medium
    u = np.sin(theta) / umax
    if filling_factor is None:
        g, G = np.ones_like(u), 0.5
    elif profile == "gaussian":
        f2 = filling_factor**2
        g = np.exp(-2.0 * u * u / f2)
        G = -0.25 * f2 * np.expm1(-2.0 / f2)
    else:
        f2 = filling_factor**2
        v = 2.0 / f2
        g = u * u / f2 * np.exp(-2.0 * u * u / f2)
        G = -f2 / 8.0 * (np.expm1(-v) + v * np.exp(-v))
    return np.sqrt(np.cos(theta) * g / (4.0 * np.pi**3 * n_medium * C0 * EPS0 * umax**2 * G))


def theta_edge(na: float, n_medium: float, filling_factor: float | None) -> float:
    """Upper limit [rad] of the polar integral: the aperture, or where a Gaussian pupil field drops below 1e-16."""
    umax = na / n_medium
    ue = 1.0 if filling_factor is None else min(1.0, _GAUSS_CUT * filling_factor)
    return float(np.arcsin(ue * umax))


def theta_nodes(phase_span, edge: float, filling_factor: float | None, tol: float = QUADRATURE_TOL) -> np.ndarray:
    """Gauss-Legendre node count in ``theta`` that integrates the focal field to ``tol`` (convergence rule).

    ``N = N_osc + N_shape`` where

    * ``N_osc = ceil(0.5 Phi/2 + 1.5 (Phi/2)^(1/3))`` resolves the oscillation of
      ``exp(i k z cos theta) J_m(k rho sin theta)``, whose local angular frequency in ``theta`` is at most
      ``k (rho + |z| sin theta_edge)``, so ``Phi = k theta_edge (rho + |z| sin theta_edge)`` bounds the phase
      advance across the interval (Gauss-Legendre integrates ``exp(i w t)`` on ``[-1, 1]`` once
      ``2N > w + O(w^(1/3))``, ``w = Phi/2``);
    * ``N_shape`` is the count for the smooth amplitude alone: ``ln(1/tol) / (2 ln r_B)`` for the
      ``sqrt(cos theta)`` apodization, whose branch point ``theta = pi/2`` lies on the Bernstein
      ellipse of parameter ``r_B`` (``t = 1 + 2 (pi/2 - theta_edge)/theta_edge``, ``r_B = t + sqrt(t^2 - 1)``),
      plus 12 nodes for a Gaussian pupil (``exp(-37 t^2)`` on ``[0, 1]`` to 1e-12) and 4 of margin.

    The rule is verified in ``tests/test_focusing.py`` against 4x finer quadratures for NA/n_m up to 0.95 and
    ``Phi`` up to 1000 (measured worst relative error well below ``tol * 100``).

    Parameters
    ----------
    phase_span : array_like, shape (M,), float [rad]
        ``Phi`` of each evaluation point.
    edge : float [rad]
        Upper limit of the ``theta`` integral (:func:`theta_edge`).
    filling_factor : float or None
    tol : float

    Returns
    -------
    ndarray, shape (M,), int
    """
    w = 0.5 * np.asarray(phase_span, float)
    n_osc = np.ceil(0.5 * w + 1.5 * np.cbrt(w))
    t = 1.0 + 2.0 * (0.5 * np.pi - edge) / edge
    r_b = t + np.sqrt(t * t - 1.0)
    n_shape = np.ceil(np.log(1.0 / tol) / (2.0 * np.log(r_b))) + (12 if filling_factor is not None else 0) + 4
    return (n_osc + n_shape).astype(int)


def _bessel_table(x: np.ndarray, mmax: int) -> np.ndarray:
    """``J_m(x)`` for ``m = 0..mmax`` (``x >= 0``), shape ``(mmax + 1,) + x.shape``, to about 1e-15 absolute.

    ``J_0, J_1`` from scipy; upward recurrence where it is stable (``x > mmax``); below, the power series
    ``sum_j (-1)^j (x/2)^(2j+m) / (j! (j+m)!)`` (20 terms, ``x/2 <= 2.5``) for ``J_mmax`` and ``J_(mmax-1)``
    followed by the (there stable) downward recurrence.
    """
    out = np.empty((mmax + 1,) + x.shape)
    out[0] = special.j0(x)
    if mmax >= 1:
        out[1] = special.j1(x)
    if mmax < 2:
        return out
    small = x <= mmax
    inv = 1.0 / np.where(small, 1.0, x)
    for m in range(1, mmax):
        out[m + 1] = 2.0 * m * inv * out[m] - out[m - 1]
    if np.any(small):
        xs = x[small]
        h = 0.5 * xs
        q = -h * h
        top = []
        for m in (mmax - 1, mmax):
            term = h**m / float(np.prod(np.arange(1, m + 1)))
            total = term.copy()
            for j in range(1, 21):
                term = term * q / (j * (j + m))
                total += term
            top.append(total)
        lo, hi = top
        if mmax - 1 >= 2:
            out[mmax - 1][small] = lo
        out[mmax][small] = hi
        safe = np.where(xs == 0.0, 1.0, xs)
        for m in range(mmax - 1, 2, -1):  # J_(m-1) = (2m/x) J_m - J_(m+1)
            lo, hi = np.where(xs == 0.0, 0.0, 2.0 * m / safe * lo - hi), lo
            out[m - 1][small] = lo
    return out


# --------------------------------------------------------------------------- the beam
@dataclasses.dataclass(frozen=True)
class FocusedBeam(Beam):
    """Richards-Wolf focus of an aplanatic lens (vector Debye integral), usable wherever a ``GaussianTweezer`` is.

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength, > 0.
    na : float [-]
        Numerical aperture ``n_m sin(theta_max)``, > 0; must be below the host index ``n_medium``
        given at evaluation (ValueError otherwise).
    power : float [W]
        Power entering the aperture, > 0. The power through any plane ``z' = const`` is ``transmission * power``.
    filling_factor : float or None [-]
        ``w_in / R``: 1/e^2 intensity radius of the Gaussian input beam over the aperture radius
        (default 1.0). None means uniform illumination (flat top, hard edge).
    profile : {"gaussian", "doughnut"}
        Input intensity profile for a finite filling factor: Gaussian ``exp(-2 rho^2/w_in^2)`` or the LG01
        doughnut ``(rho/w_in)^2 exp(-2 rho^2/w_in^2)`` (the natural input of radial/azimuthal beams; a
        Gaussian input with radial polarization has a polarization singularity on the axis, whose focal
        field decays slowly away from the focus).
    polarization : array_like, shape (3,), complex, or {"radial", "azimuthal"}
        Input polarization. A vector (lab frame, normalized internally, transverse to ``direction``)
        gives a uniformly polarized pupil: linear along any transverse direction, circular
        ``(x' + i y')/sqrt(2)`` (positive helicity along ``direction`` with ``exp(-i omega t)``) or
        elliptical. ``"radial"``/``"azimuthal"`` give cylindrical vector beams (pupil polarization
        ``e_rho`` / ``e_phi``); the input intensity profile is the same ``g(u)``.
    focus : array_like, shape (3,), float [m]
        Geometrical focus.
    direction : array_like, shape (3,), float
        Propagation direction (normalized internally); the pupil frame is
        :func:`cdsolve.optics.beams.beam_frame` of it.
    phase : float [rad]
        Added phase.
    transmission : float [-]
        Lens power transmission, ``0 < T <= 1`` (angle-independent; Fresnel losses neglected).

    Notes
    -----
    The field is an exact solution of the source-free Maxwell equations in the host
    (``div E = 0``, ``(nabla^2 + k^2) E = 0``); ``H = curl E / (i omega mu0)`` (base class).

    Examples
    --------
    >>> b = FocusedBeam(1064e-9, na=0.3, power=0.05, filling_factor=0.5)
    >>> round(b.aperture_fraction, 6)            # of a Gaussian input beam, 1 - exp(-2/f0^2)
    0.999665
    >>> round(b.paraxial_equivalent().w0 * 1e6, 4)   # low-NA limit: waist wavelength/(pi f0 NA) [um]
    2.2579
    >>> FocusedBeam(1064e-9, na=1.2, power=0.1).fields([0.0, 0.0, 0.0], 1.0)
    Traceback (most recent call last):
    ...
    ValueError: na=1.2 must be smaller than the host index n_medium=1.0 (sin theta_max = na / n_medium < 1)
    """

    wavelength: float
    na: float
    power: float
    filling_factor: float | None = 1.0
    profile: str = "gaussian"
    polarization: Sequence[complex] | str = (1.0, 0.0, 0.0)
    focus: Sequence[float] = (0.0, 0.0, 0.0)
    direction: Sequence[float] = (0.0, 0.0, 1.0)
    phase: float = 0.0
    transmission: float = 1.0

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        s("wavelength", _positive_float("wavelength", self.wavelength))
        s("na", _positive_float("na", self.na))
        s("power", _positive_float("power", self.power))
        # the focal intensity is at most ~ P (pi NA / wavelength)^2 (diffraction-limited spot)
        check_field_strength("power", self.power, self.power * (np.pi * self.na / self.wavelength) ** 2)
        if self.filling_factor is not None:
            s("filling_factor", _positive_float("filling_factor", self.filling_factor))
        if self.profile not in ("gaussian", "doughnut"):
            raise ValueError(f"profile must be 'gaussian' or 'doughnut', got {self.profile!r}")
        if self.profile == "doughnut" and self.filling_factor is None:
            raise ValueError("profile='doughnut' needs a finite filling_factor, got filling_factor=None")
        t = _positive_float("transmission", self.transmission)
        if t > 1.0:
            raise ValueError(f"transmission must be in (0, 1], got {self.transmission!r}")
        s("transmission", t)
        s("focus", tuple(float(x) for x in _vector("focus", self.focus, float)))
        d = _unit_direction(self.direction)
        s("direction", tuple(float(x) for x in d))
        if isinstance(self.polarization, str):
            if self.polarization not in _POLARIZATION_MODES:
                raise ValueError(
                    f"polarization must be a transverse 3-vector or one of {_POLARIZATION_MODES}, "
                    f"got {self.polarization!r}"
                )
        else:
            s("polarization", tuple(complex(x) for x in _unit_polarization(self.polarization, d)))
        s("phase", _finite_float("phase", self.phase))

    # ------------------------------------------------------------------ derived quantities
    @property
    def aperture_fraction(self) -> float:
        """Fraction of a Gaussian input beam's power that enters the aperture, ``1 - exp(-2/f0^2)`` (1 if uniform)."""
        if self.filling_factor is None:
            return 1.0
        return float(-np.expm1(-2.0 / self.filling_factor**2))

    def paraxial_equivalent(self) -> GaussianTweezer:
        """The paraxial Gaussian tweezer this focus tends to at low NA (Gaussian filling only).

        A Gaussian pupil field ``exp(-u^2/f0^2)`` is the angular spectrum ``exp(-k^2 w0^2 sin^2(theta)/4)``
        of a waist ``w0 = 2 n_m / (k f0 NA) = wavelength / (pi f0 NA)``, i.e. ``GaussianTweezer(na=f0 NA)``,
        with power ``T P``, same focus, direction, polarization and phase.
        """
        if self.filling_factor is None or self.profile != "gaussian":
            raise ValueError(f"paraxial_equivalent needs a Gaussian pupil, got filling_factor={self.filling_factor!r}, "
                             f"profile={self.profile!r}")
        if isinstance(self.polarization, str):
            raise ValueError(f"paraxial_equivalent needs a uniform polarization, got {self.polarization!r}")
        return GaussianTweezer(
            self.wavelength, focus=self.focus, na=self.filling_factor * self.na, power=self.transmission * self.power,
            polarization=self.polarization, phase=self.phase, direction=self.direction,
        )

    @property
    def shape_key(self) -> tuple:
        """Beams with equal keys differ only by focus, power, transmission and phase (they share one quadrature)."""
        return (self.wavelength, self.na, self.filling_factor, self.profile, self.polarization, self.direction)

    @functools.cached_property
    def _frame(self) -> np.ndarray:
        return beam_frame(self.direction)

    def _check_na(self, n_medium: float) -> None:
        if not self.na < n_medium:
            raise ValueError(
                f"na={self.na!r} must be smaller than the host index n_medium={n_medium!r} "
                f"(sin theta_max = na / n_medium < 1)"
            )

    # ------------------------------------------------------------------ evaluation
    def _e_jets(self, points, n_medium, order):
        return [j[0] for j in focused_beam_jets([self], (points - np.asarray(self.focus))[None], n_medium, order)]

    def jets(self, points, n_medium: float, order: int = 1) -> list[np.ndarray]:
        """Electric field and its analytic derivatives ``[E, dE, ..., d^order E]`` (``order <= 3``).

        Parameters
        ----------
        points : array_like, shape (M, 3), float [m]
        n_medium : float [-]
        order : int

        Returns
        -------
        list of ndarray, entry ``j`` of shape ``(M,) + (3,)*(j+1)``, complex [V/m^(j+1)]
        (derivative indices first: ``d2E[m, a, b, i] = d^2 E_i / dr_a dr_b``).
        """
        if order not in range(MAX_ORDER + 1):
            raise ValueError(f"order must be an integer in 0..{MAX_ORDER}, got {order!r}")
        pts, lead = _as_points(points)
        jets = self._e_jets(pts, _check_n_medium(n_medium), order)
        return [j.reshape(lead + j.shape[1:]) for j in jets]

    @classmethod
    def group_jets(cls, beams, rel_points: np.ndarray, n_medium: float, order: int) -> list[np.ndarray]:
        """:func:`focused_beam_jets` summed over the beams, (M, ...) (hook for :class:`cdsolve.optics.beams.BeamSum`)."""
        return [j.sum(axis=0) for j in focused_beam_jets(beams, rel_points, n_medium, order)]


# --------------------------------------------------------------------------- evaluation kernels
@functools.lru_cache(maxsize=None)
def _monomials(order: int) -> tuple:
    """Sorted derivative multi-indices per order and the maps that expand them to full tensors.

    Returns ``(combos, expand)``: ``combos[n]`` lists the sorted n-tuples ``a_1 <= ... <= a_n``;
    ``expand[n]`` (3^n,) int gives, for every full multi-index (row-major), its position in ``combos[n]``.
    """
    combos, expand = [], []
    for n in range(order + 1):
        c = list(itertools.combinations_with_replacement(range(3), n))
        pos = {t: i for i, t in enumerate(c)}
        full = [pos[tuple(sorted(t))] for t in itertools.product(range(3), repeat=n)]
        combos.append(c)
        expand.append(np.array(full, dtype=int))
    return combos, expand


@functools.lru_cache(maxsize=64)
def _pupil_template(shape_key: tuple, n_medium: float, n_theta: int, order: int):
    """Harmonic coefficients of the jet integrands on ``n_theta`` Gauss-Legendre nodes (unit power, zero phase).

    Pure function of its (hashable) arguments, memoized: beams of one shape share it.

    Returns
    -------
    cos_t, sin_t : (Q,) float
        ``cos theta``, ``sin theta`` at the nodes.
    coeff : list of B + 1 arrays
        ``coeff[|m|]`` (Q, 2, ncomp_m) complex: harmonics ``+m`` and ``-m`` (``J_-m = (-1)^m J_m`` folded in)
        of the unique jet components whose band limit ``2 + n >= |m|``, already multiplied by the quadrature
        weight, ``sin theta``, ``|A|`` and ``2 pi i^m``. Components are ordered by derivative order ``n``, then
        sorted multi-index (:func:`_monomials`), then field component ``i``; ``coeff[m]`` holds the trailing
        ``ncomp_m`` of them (orders ``n >= |m| - 2``).
    """
    wavelength, na, filling_factor, profile, polarization, direction = shape_key
    k = wavenumber(wavelength, n_medium)
    edge = theta_edge(na, n_medium, filling_factor)
    t, w = np.polynomial.legendre.leggauss(n_theta)
    theta = 0.5 * edge * (t + 1.0)
    weight = 0.5 * edge * w * np.sin(theta) * k * pupil_amplitude(theta, na, n_medium, filling_factor, profile)
    phi = 2.0 * np.pi * np.arange(_N_PHI) / _N_PHI
    ct, st = np.cos(theta)[:, None], np.sin(theta)[:, None]
    cp, sp = np.cos(phi)[None, :], np.sin(phi)[None, :]
    one = np.ones_like(ct * cp)
    rot = beam_frame(direction)
    s_lab = np.stack([st * cp, st * sp, ct * one], axis=-1) @ rot  # (Q, P, 3); v_lab = R^T v_beam
    e_theta = np.stack([ct * cp, ct * sp, -st * one], axis=-1)
    e_phi = np.stack([-sp * one, cp * one, 0.0 * one], axis=-1)
    if polarization == "radial":
        a_rho, a_phi = one, 0.0 * one
    elif polarization == "azimuthal":
        a_rho, a_phi = 0.0 * one, one
    else:
        jx, jy, _ = rot @ np.asarray(polarization)  # Jones vector in the pupil frame
        a_rho, a_phi = jx * cp + jy * sp, -jx * sp + jy * cp
    amp = (a_rho[..., None] * e_theta + a_phi[..., None] * e_phi) @ rot  # (Q, P, 3) lab frame
    combos, _ = _monomials(order)
    comps, orders = [], []
    for n in range(order + 1):
        for c in combos[n]:
            mono = (1j * k) ** n * np.prod([s_lab[..., a] for a in c], axis=0) if c else one
            comps.append(mono[..., None] * amp)
            orders += [n] * 3
    f = np.concatenate(comps, axis=-1)  # (Q, P, ncomp)
    c = np.fft.fft(f, axis=1) / _N_PHI
    orders = np.array(orders)
    coeff = []
    for m in range(2 + order + 1):
        keep = orders >= m - 2
        pair = np.stack([c[:, m % _N_PHI, keep], (-1) ** m * c[:, -m % _N_PHI, keep]], axis=1)
        pair[:, 0] *= 2.0 * np.pi * 1j**m
        pair[:, 1] *= 2.0 * np.pi * (1j) ** (-m)
        pair *= weight[:, None, None]
        pair.setflags(write=False)
        coeff.append(pair)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    cos_t.setflags(write=False)
    sin_t.setflags(write=False)
    return cos_t, sin_t, coeff


def _evaluate_block(template, k: float, rho, varphi, z) -> np.ndarray:
    """Template summed over nodes and harmonics at beam-frame cylindrical points ``(rho, varphi, z)`` (M,) -> (M, ncomp)."""
    cos_t, sin_t, coeff = template
    B = len(coeff) - 1
    ncomp = coeff[0].shape[2]
    P = np.exp(1j * k * z[:, None] * cos_t[None, :])  # (M, Q)
    J = _bessel_table(k * rho[:, None] * sin_t[None, :], B)  # (B+1, M, Q)
    out = (P * J[0]) @ coeff[0][:, 0, :]
    e1 = np.exp(1j * varphi)[:, None]
    em = np.ones_like(e1)
    for m in range(1, B + 1):
        cm = coeff[m]
        nm = cm.shape[2]
        both = (P * J[m]) @ cm.reshape(cm.shape[0], 2 * nm)
        em = em * e1
        out[:, ncomp - nm :] += em * both[:, :nm] + em.conj() * both[:, nm:]
    return out


def focused_beam_jets(beams, rel_points: np.ndarray, n_medium: float, order: int) -> list[np.ndarray]:
    """Electric-field jets of same-shape focused beams, each at its own focus-relative points, in one evaluation.

    Parameters
    ----------
    beams : sequence of T FocusedBeam
        All with the same :attr:`FocusedBeam.shape_key` (they share one pupil quadrature per node count).
    rel_points : (T, M, 3) float [m]
        Evaluation points of beam t, relative to its focus (lab frame).
    n_medium : float [-]
        Host index, must exceed ``na``.
    order : int
        Highest derivative order (0..3).

    Returns
    -------
    list of (T, M, 3, ..., 3) complex: ``[E, dE, ...]`` of each beam [V/m^(j+1)], i.e. a unit-power, zero-phase
    template at the relative points times ``sqrt(P_t T_t) exp(i phase_t)``.
    """
    b0 = beams[0]
    if any(b.shape_key != b0.shape_key for b in beams):
        raise ValueError("focused_beam_jets needs beams that differ only in focus, power, transmission and phase")
    if order not in range(MAX_ORDER + 1):
        raise ValueError(f"order must be an integer in 0..{MAX_ORDER}, got {order!r}")
    b0._check_na(n_medium)
    rel = np.asarray(rel_points, float)
    T, M = rel.shape[:2]
    k = wavenumber(b0.wavelength, n_medium)
    bp = rel.reshape(T * M, 3) @ b0._frame.T  # beam-frame coordinates
    rho = np.hypot(bp[:, 0], bp[:, 1])
    varphi = np.arctan2(bp[:, 1], bp[:, 0])
    z = bp[:, 2]
    edge = theta_edge(b0.na, n_medium, b0.filling_factor)
    span = k * edge * (rho + np.abs(z) * np.sin(edge))
    need = theta_nodes(span, edge, b0.filling_factor)
    # bin the node counts on a geometric ladder (ratio ~1.25) so that few templates serve all points
    ladder = np.ceil(8.0 * 1.25 ** np.ceil(np.log(np.maximum(need, 8) / 8.0) / np.log(1.25) - 1e-9)).astype(int)
    combos, expand = _monomials(order)
    ncomp = 3 * sum(len(c) for c in combos)
    flat = np.empty((T * M, ncomp), complex)
    for nq in np.unique(ladder):
        idx = np.flatnonzero(ladder == nq)
        template = _pupil_template(b0.shape_key, float(n_medium), int(nq), order)
        block = max(64, _BLOCK_ENTRIES // int(nq))
        for s in range(0, len(idx), block):
            sel = idx[s : s + block]
            flat[sel] = _evaluate_block(template, k, rho[sel], varphi[sel], z[sel])
    scale = np.array([np.sqrt(b.power * b.transmission) * np.exp(1j * b.phase) for b in beams])
    out, start = [], 0
    for n in range(order + 1):
        u = flat[:, start : start + 3 * len(combos[n])].reshape(T * M, len(combos[n]), 3)
        start += 3 * len(combos[n])
        full = u[:, expand[n], :].reshape((T, M) + (3,) * (n + 1))
        out.append(full * scale.reshape((T,) + (1,) * (n + 2)))
    return out
