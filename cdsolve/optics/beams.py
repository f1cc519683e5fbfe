"""Incident illumination: plane waves, paraxial Gaussian tweezers and coherent sums.

Conventions follow :mod:`cdsolve.optics.conventions`: SI units, ``exp(-i omega t)``,
host wavenumber ``k = 2 pi n_m / wavelength`` (``wavelength`` is the *vacuum*
wavelength), ``omega = 2 pi c / wavelength``, gradients
``dF[..., a, i] = dF_i / dr_a`` and Hessians ``d2F[..., a, b, i]``.

Every beam exposes the same interface (see :class:`Beam`)::

    E, H = beam.fields(points, n_medium)        # (..., 3) complex [V/m], [A/m]
    dE, dH = beam.gradients(points, n_medium)   # (..., 3, 3) complex [V/m^2], [A/m^2]
    d2E, d2H = beam.hessians(points, n_medium)  # (..., 3, 3, 3) complex [V/m^3], [A/m^3]

All derivatives are analytic. The magnetic field is *defined* by Faraday's law,
``H = curl E / (i omega mu0)``, applied to the (analytic) derivatives of ``E``;
``dH`` and ``d2H`` use the second and third derivatives of ``E``. Hence
``H`` is exactly consistent with ``E`` even for the paraxial tweezer (whose
``E`` is not exactly divergence-free).

Examples
--------
>>> import numpy as np
>>> pw = PlaneWave(1064e-9, intensity=1e9)
>>> E, H = pw.fields(np.zeros((2, 3)), 1.0)
>>> E.shape, H.shape, E.dtype
((2, 3), (2, 3), dtype('complex128'))
>>> tw = GaussianTweezer(1064e-9, waist=1e-6, power=0.1)
>>> beam = tw + pw                      # coherent sum -> BeamSum
>>> type(beam).__name__, len(beam.beams)
('BeamSum', 2)
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import numbers
from typing import Any
from typing import Sequence

import numpy as np

from .conventions import C0, MU0, amplitude_from_intensity, wavenumber
from .green import LEVI_CIVITA
from ._checks import real_number

__all__ = ["Beam", "PlaneWave", "GaussianTweezer", "BeamSum", "IncoherentBeams", "as_illumination", "beam_frame",
           "coherent_groups"]

#: Schwinger limit of quantum electrodynamics: field [V/m] and intensity [W/m^2] (m_e^2 c^3 / (e hbar) and
#: c eps0 E^2 / 2). Beams beyond it are outside classical electrodynamics -- and their forces would overflow.
SCHWINGER_FIELD = 1.3e18
SCHWINGER_INTENSITY = 2.3e33


def check_field_strength(name: str, value, intensity: float) -> None:
    """Refuse a beam whose peak intensity [W/m^2] exceeds the Schwinger limit, naming the argument ``name``."""
    if not intensity <= SCHWINGER_INTENSITY:
        raise ValueError(f"{name}={value!r} gives a peak intensity of {intensity:.3g} W/m^2, beyond the Schwinger "
                         f"limit {SCHWINGER_INTENSITY:.1e} W/m^2 (outside classical electrodynamics)")


#: tolerance of the transversality check ``|k^ . e^| <= TRANSVERSE_TOL``
TRANSVERSE_TOL = 1e-10

# Levi-Civita symbol eps[i, j, k]


# --------------------------------------------------------------------------- validation helpers
def _positive_float(name: str, value) -> float:
    """Return ``value`` as a finite float > 0 or raise ValueError naming ``name``."""
    return real_number(name, value, positive=True)


def _finite_float(name: str, value) -> float:
    return real_number(name, value)


def _vector(name: str, value, dtype) -> np.ndarray:
    """Return ``value`` as a finite 3-vector of ``dtype`` or raise ValueError naming ``name``."""
    try:
        v = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 3-vector of {np.dtype(dtype).name}, got {value!r}") from None
    if v.shape != (3,):
        raise ValueError(f"{name} must have shape (3,), got shape {v.shape} ({value!r})")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _unit_direction(value) -> np.ndarray:
    d = _vector("direction", value, float)
    norm = np.linalg.norm(d)
    if norm == 0.0:
        raise ValueError(f"direction must be a non-zero vector, got {value!r}")
    return d / norm


def _unit_polarization(value, direction: np.ndarray) -> np.ndarray:
    e = _vector("polarization", value, complex)
    norm = np.linalg.norm(e)
    if norm == 0.0:
        raise ValueError(f"polarization must be a non-zero vector, got {value!r}")
    e = e / norm
    overlap = abs(np.dot(direction, e))
    if overlap > TRANSVERSE_TOL:
        raise ValueError(
            f"polarization {value!r} is not transverse to direction {tuple(direction.tolist())!r} "
            f"(|k^.e^| = {overlap:.3g} > {TRANSVERSE_TOL:g})"
        )
    return e


def _check_n_medium(n_medium) -> float:
    if isinstance(n_medium, complex) or np.iscomplexobj(n_medium):
        raise ValueError(f"n_medium must be real (lossless host), got {n_medium!r}")
    return _positive_float("n_medium", n_medium)


def _as_points(points) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flatten ``points`` of shape ``(..., 3)`` [m] to ``(M, 3)`` float; return it and the leading shape."""
    p = np.asarray(points)
    if np.iscomplexobj(p):
        raise ValueError("points must be real coordinates [m], got a complex array")
    p = p.astype(float, copy=False)
    if p.ndim == 0 or p.shape[-1] != 3:
        raise ValueError(f"points must have shape (M, 3) or (3,), got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("points must be finite (found NaN or inf)")
    return p.reshape(-1, 3), p.shape[:-1]


def beam_frame(direction) -> np.ndarray:
    """Right-handed orthonormal beam frame for a propagation direction.

    Rule: ``e_z' = d^``; ``e_x' = normalize(y^ x d^)`` if ``|y^ x d^| >= 0.5``, otherwise
    (``d^`` within 30 degrees of ``+-y^``) ``e_x' = normalize(x^ - (x^.d^) d^)``;
    ``e_y' = e_z' x e_x'``. For ``d^ = z^`` this is the identity. Beam-frame
    coordinates of a lab vector ``v`` are ``R @ v``.

    Parameters
    ----------
    direction : array_like, shape (3,), float
        Propagation direction (any non-zero length).

    Returns
    -------
    R : ndarray, shape (3, 3), float
        Rows are ``e_x', e_y', e_z'`` in lab coordinates (``R @ R.T = 1``, ``det R = +1``).

    Examples
    --------
    >>> import numpy as np
    >>> np.allclose(beam_frame((0, 0, 1)), np.eye(3))
    True
    >>> R = beam_frame((1, 1, 0))
    >>> np.allclose(R @ R.T, np.eye(3)), round(float(np.linalg.det(R)), 12)
    (True, 1.0)
    """
    d = _unit_direction(direction)
    dx, dy, dz = (float(c) for c in d)
    ex = (dz, 0.0, -dx)  # y^ x d^ (plain arithmetic: this runs once per beam, keep it cheap)
    if dz * dz + dx * dx < 0.25:
        ex = (1.0 - dx * dx, -dx * dy, -dx * dz)
    nx = (ex[0] ** 2 + ex[1] ** 2 + ex[2] ** 2) ** 0.5
    ex = (ex[0] / nx, ex[1] / nx, ex[2] / nx)
    ey = (dy * ex[2] - dz * ex[1], dz * ex[0] - dx * ex[2], dx * ex[1] - dy * ex[0])
    return np.array([ex, ey, (dx, dy, dz)])


# --------------------------------------------------------------------------- base class
class Beam(abc.ABC):
    """Abstract monochromatic illumination in a lossless host of real index ``n_medium``.

    Subclasses provide ``wavelength`` (vacuum wavelength [m], float > 0) and
    implement :meth:`_e_jets`; the public methods derive ``H`` from ``E`` by
    Faraday's law ``H = curl E / (i omega mu0)`` with ``omega = 2 pi c / wavelength``.

    Point arrays may have any leading shape ``(..., 3)`` (typically ``(M, 3)``;
    a single point ``(3,)`` gives outputs without the ``M`` axis). Beams can be
    added coherently with ``+`` (returns a :class:`BeamSum`).
    """

    wavelength: float

    @abc.abstractmethod
    def _e_jets(self, points: np.ndarray, n_medium: float, order: int) -> list[np.ndarray]:
        """Electric field and its derivatives ``[E, dE, ..., d^order E]``.

        ``points`` is ``(M, 3)`` float [m]; entry ``j`` has shape ``(M,) + (3,)*(j+1)``,
        complex, with the derivative indices first (``d2E[m, a, b, i]``).
        """

    def _jets(self, points, n_medium, orders) -> tuple[list, list]:
        """E and H jets for the derivative ``orders`` requested (one evaluation of the E jets)."""
        pts, lead = _as_points(points)
        n = _check_n_medium(n_medium)
        jets = self._e_jets(pts, n, max(orders) + 1)
        e_out = [jets[o].reshape(lead + jets[o].shape[1:]) for o in orders]
        h_out = []
        for o in orders:
            h = magnetic_from_electric(jets[o + 1], self.wavelength)
            h_out.append(h.reshape(lead + h.shape[1:]))
        return e_out, h_out

    def field_jets(self, points, n_medium: float, order: int = 2) -> tuple[list, list]:
        """Fields and all their derivatives up to ``order`` in one evaluation.

        Returns ``([E, dE, d2E, ...], [H, dH, d2H, ...])`` with the shapes of :meth:`fields`,
        :meth:`gradients` and :meth:`hessians` (one pass instead of three).
        """
        if order not in (0, 1, 2):
            raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
        return self._jets(points, n_medium, list(range(order + 1)))

    def fields(self, points, n_medium: float) -> tuple[np.ndarray, np.ndarray]:
        """Electric and magnetic fields.

        Parameters
        ----------
        points : array_like, shape (M, 3) or (3,), float [m]
            Evaluation points (any leading shape ``(..., 3)`` is accepted).
        n_medium : float [-]
            Real refractive index of the host.

        Returns
        -------
        E : ndarray, shape (M, 3), complex [V/m]
            (shape ``points.shape[:-1] + (3,)``, so ``(3,)`` for a single point;
            likewise for the gradients/Hessians below)
        H : ndarray, shape (M, 3), complex [A/m]
            ``H = curl E / (i omega mu0)`` exactly.
        """
        E, H = self._jets(points, n_medium, [0])
        return E[0], H[0]

    def gradients(self, points, n_medium: float) -> tuple[np.ndarray, np.ndarray]:
        """Analytic gradients ``dE[m, a, i] = dE_i/dr_a`` and ``dH[m, a, i] = dH_i/dr_a``.

        Parameters
        ----------
        points : array_like, shape (M, 3) or (3,), float [m]
        n_medium : float [-]

        Returns
        -------
        dE : ndarray, shape (M, 3, 3), complex [V/m^2]
        dH : ndarray, shape (M, 3, 3), complex [A/m^2]
        """
        E, H = self._jets(points, n_medium, [1])
        return E[0], H[0]

    def hessians(self, points, n_medium: float) -> tuple[np.ndarray, np.ndarray]:
        """Analytic Hessians ``d2E[m, a, b, i] = d^2 E_i / dr_a dr_b`` (same for ``H``).

        Parameters
        ----------
        points : array_like, shape (M, 3) or (3,), float [m]
        n_medium : float [-]

        Returns
        -------
        d2E : ndarray, shape (M, 3, 3, 3), complex [V/m^3], symmetric in ``a, b``
        d2H : ndarray, shape (M, 3, 3, 3), complex [A/m^3], symmetric in ``a, b``
        """
        E, H = self._jets(points, n_medium, [2])
        return E[0], H[0]

    def __add__(self, other):
        if not isinstance(other, Beam):
            return NotImplemented
        return BeamSum((self, other))

    def __radd__(self, other):
        # allows the builtin sum(beams), which starts from the integer 0
        if isinstance(other, numbers.Number) and other == 0:
            return self
        return NotImplemented


class _ScalarEnvelopeBeam(Beam):
    """Beam of the form ``E(r) = E0 e^ psi(r)`` with a constant polarization ``e^``.

    Subclasses implement :meth:`_amplitude` (complex ``E0`` [V/m]) and
    :meth:`_psi_jets` (scalar ``psi`` and its lab-frame derivatives).
    """

    @abc.abstractmethod
    def _amplitude(self, n_medium: float) -> complex:
        """Complex field amplitude ``E0`` [V/m] in a host of index ``n_medium``."""

    @abc.abstractmethod
    def _psi_jets(self, points: np.ndarray, n_medium: float, order: int) -> list[np.ndarray]:
        """``[psi, dpsi, ..., d^order psi]``, entry ``j`` of shape ``(M,) + (3,)*j``, complex."""

    def _e_jets(self, points, n_medium, order):
        e0 = self._amplitude(n_medium) * np.asarray(self.polarization, dtype=complex)
        return [psi[..., None] * e0 for psi in self._psi_jets(points, n_medium, order)]


def magnetic_from_electric(d_e: np.ndarray, wavelength: float) -> np.ndarray:
    """Faraday's law ``H = curl E / (i omega mu0)`` applied to a derivative jet of E.

    Parameters
    ----------
    d_e : (..., 3, 3) complex
        Jet of E one order higher than wanted; the last two indices are ``(j, k)`` = ``d_j E_k``
        (derivative indices before them are carried along).
    wavelength : float [m]
        Vacuum wavelength (sets omega).

    Returns
    -------
    (..., 3) complex: the matching jet of H.
    """
    omega = 2.0 * np.pi * C0 / wavelength
    return np.einsum("ijk,...jk->...i", LEVI_CIVITA, d_e) / (1j * omega * MU0)


def _jets_from_log(psi: np.ndarray, g: list[np.ndarray], order: int) -> list[np.ndarray]:
    """Derivatives of ``psi = exp(G)`` from those of ``G`` (Faa di Bruno, up to third order).

    ``psi`` is ``(M,)``; ``g[j-1]`` is the ``j``-th derivative of ``G``, shape ``(M,) + (3,)*j``.
    """
    out = [psi]
    if order >= 1:
        g1 = g[0]
        out.append(psi[:, None] * g1)
    if order >= 2:
        g2 = g[1]
        g1g1 = g1[:, :, None] * g1[:, None, :]
        out.append(psi[:, None, None] * (g2 + g1g1))
    if order >= 3:
        g3 = g[2]
        t = g3 + g1g1[:, :, :, None] * g1[:, None, None, :]
        t = t + g2[:, :, :, None] * g1[:, None, None, :]  # g_ab g_c
        t = t + g2[:, :, None, :] * g1[:, None, :, None]  # g_ac g_b
        t = t + g2[:, None, :, :] * g1[:, :, None, None]  # g_bc g_a
        out.append(psi[:, None, None, None] * t)
    if order > 3:
        raise NotImplementedError("derivatives beyond third order are not implemented")
    return out


# --------------------------------------------------------------------------- plane wave
@dataclasses.dataclass(frozen=True)
class PlaneWave(_ScalarEnvelopeBeam):
    """Homogeneous plane wave ``E = E0 e^ exp(i (k k^.r + phase))``.

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength, > 0.
    direction : array_like, shape (3,), float
        Propagation direction ``k^`` (normalized internally; stored as a unit tuple).
    polarization : array_like, shape (3,), complex
        Polarization ``e^`` (normalized internally, ``|e^| = 1``); must be transverse,
        ``|k^.e^| <= 1e-10``. Circular: ``(1, 1j, 0)/sqrt(2)``.
    intensity : float [W/m^2], optional
        Time-averaged intensity in the host; ``|E0| = sqrt(2 I / (n_m c eps0))``
        (converted at evaluation time, since it needs ``n_medium``).
    amplitude : complex [V/m], optional
        Complex amplitude ``E0``. Give exactly one of ``intensity`` / ``amplitude``.
    phase : float [rad]
        Added phase.

    Notes
    -----
    ``H = k^ x E / Z`` with ``Z = Z0 / n_m``; ``div E = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from cdsolve.optics.conventions import intensity_from_amplitude
    >>> pw = PlaneWave(1064e-9, direction=(1, 0, 0), polarization=(0, 1, 1j), intensity=2e9)
    >>> E, H = pw.fields([0.0, 0.0, 0.0], 1.33)
    >>> E.shape, round(float(intensity_from_amplitude(np.linalg.norm(E), 1.33)) / 2e9, 12)
    ((3,), 1.0)
    >>> bool(abs(np.dot(E, E)) < 1e-6 * np.vdot(E, E).real)   # circular polarization
    True
    """

    wavelength: float
    direction: Sequence[float] = (0.0, 0.0, 1.0)
    polarization: Sequence[complex] = (1.0, 0.0, 0.0)
    intensity: float | None = None
    amplitude: complex | None = None
    phase: float = 0.0

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        s("wavelength", _positive_float("wavelength", self.wavelength))
        d = _unit_direction(self.direction)
        s("direction", tuple(float(x) for x in d))
        s("polarization", tuple(complex(x) for x in _unit_polarization(self.polarization, d)))
        if (self.intensity is None) == (self.amplitude is None):
            raise ValueError(
                f"give exactly one of intensity and amplitude, got intensity={self.intensity!r}, "
                f"amplitude={self.amplitude!r}"
            )
        if self.intensity is not None:
            i = _finite_float("intensity", self.intensity)
            if i == 0.0:
                raise ValueError(f"intensity={self.intensity!r}: zero beam power")
            if i < 0.0:
                raise ValueError(f"intensity must be > 0, got {self.intensity!r}")
            check_field_strength("intensity", self.intensity, i)
            s("intensity", i)
        else:
            try:
                a = complex(self.amplitude)
            except (TypeError, ValueError):
                raise ValueError(f"amplitude must be a complex number, got {self.amplitude!r}") from None
            if not np.isfinite(a):
                raise ValueError(f"amplitude must be finite, got {self.amplitude!r}")
            if a == 0:
                raise ValueError(f"amplitude={self.amplitude!r}: zero beam power")
            if not abs(a) <= SCHWINGER_FIELD:
                raise ValueError(f"amplitude={self.amplitude!r} V/m is beyond the Schwinger field {SCHWINGER_FIELD:.1e} "
                                 "V/m (outside classical electrodynamics)")
            s("amplitude", a)
        s("phase", _finite_float("phase", self.phase))

    def _amplitude(self, n_medium):
        if self.amplitude is not None:
            return self.amplitude
        return amplitude_from_intensity(self.intensity, n_medium) + 0j

    def _psi_jets(self, points, n_medium, order):
        k = wavenumber(self.wavelength, n_medium)
        kvec = k * np.asarray(self.direction)
        psi = np.exp(1j * (points @ kvec + self.phase))
        ik = 1j * kvec
        m = len(psi)
        g = [np.broadcast_to(ik, (m, 3)), np.zeros((m, 3, 3), complex)]
        g.append(np.zeros((m, 3, 3, 3), complex) if order >= 3 else None)
        return _jets_from_log(psi, g, order)


# --------------------------------------------------------------------------- Gaussian tweezer
@dataclasses.dataclass(frozen=True)
class GaussianTweezer(_ScalarEnvelopeBeam):
    """Paraxial Gaussian focus (Rudolph et al., PRA 110, 063507 (2024), eqs. (69)-(70)).

    In beam-frame coordinates ``r' = R (r - focus)`` (``R = beam_frame(direction)``,
    ``z'`` along the propagation direction)::

        E = E0 e^ exp(i phase) exp(i k z') f_tw(r'),
        f_tw = 1/(1 + i z'/zR) exp(-(x'^2 + y'^2) / (w0^2 (1 + i z'/zR))),
        zR = k w0^2 / 2,  k = 2 pi n_m / wavelength.

    With ``exp(-i omega t)`` the wave travels along ``+direction`` (phase ``+k z'``);
    the Gouy factor ``1/(1 + i z'/zR)`` contributes the phase ``-arctan(z'/zR)``,
    so on axis ``arg E = k z' - arctan(z'/zR) + phase`` (``E0 > 0`` real).
    The field is purely transverse (no longitudinal component), hence
    ``div E = O(1/(k w0))``; ``H = curl E/(i omega mu0)`` is exact for this ``E``.
    Since ``f_tw`` is axially symmetric, the field does not depend on the choice
    of the transverse axes of the beam frame (see :func:`beam_frame`).

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength, > 0.
    focus : array_like, shape (3,), float [m]
        Focal point.
    waist : float [m], optional
        ``1/e^2`` intensity radius ``w0`` at the focus.
    na : float [-], optional
        Numerical aperture ``NA = n_m sin(theta)``; paraxial relation
        ``w0 = wavelength / (pi NA)`` with the *vacuum* wavelength (the far-field
        half-angle in the medium is ``theta = lambda/(n_m pi w0)``, so ``n_m`` cancels).
        Give exactly one of ``waist`` / ``na``.
    power : float [W]
        Beam power, > 0; peak intensity ``I0 = 2 P / (pi w0^2) = n_m c eps0 |E0|^2 / 2``.
        The flux of ``Re(E x H*)/2`` of this paraxial model through any plane
        ``z' = const`` is ``P (1 - 1/(k w0)^2)`` (conserved along ``z'``; the
        deficit comes from the Gouy/curvature part of ``d psi/dz'`` entering ``H``).
    polarization : array_like, shape (3,), complex
        Lab-frame polarization, normalized internally, must be transverse to ``direction``.
    phase : float [rad]
        Added phase.
    direction : array_like, shape (3,), float
        Propagation direction (normalized internally).

    Examples
    --------
    >>> import numpy as np
    >>> tw = GaussianTweezer(1064e-9, na=0.2, power=0.05)
    >>> round(tw.w0 * 1e6, 6)
    1.693409
    >>> zr, k = tw.rayleigh_range(1.0), 2 * np.pi / 1064e-9
    >>> E, H = tw.fields([[0.0, 0.0, 0.0], [0.0, 0.0, zr]], 1.0)
    >>> round(float(np.angle(E[1, 0] / E[0, 0] * np.exp(-1j * k * zr)) / np.pi), 12)  # Gouy: -pi/4
    -0.25
    """

    wavelength: float
    focus: Sequence[float] = (0.0, 0.0, 0.0)
    waist: float | None = None
    na: float | None = None
    power: float | None = None
    polarization: Sequence[complex] = (1.0, 0.0, 0.0)
    phase: float = 0.0
    direction: Sequence[float] = (0.0, 0.0, 1.0)

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        s("wavelength", _positive_float("wavelength", self.wavelength))
        s("focus", tuple(float(x) for x in _vector("focus", self.focus, float)))
        if (self.waist is None) == (self.na is None):
            raise ValueError(f"give exactly one of waist and na, got waist={self.waist!r}, na={self.na!r}")
        if self.waist is not None:
            s("waist", _positive_float("waist", self.waist))
        else:
            s("na", _positive_float("na", self.na))
        if self.power is None:
            raise ValueError("power [W] is required, got power=None")
        p = _finite_float("power", self.power)
        if p == 0.0:
            raise ValueError(f"power={self.power!r}: zero beam power")
        if p < 0.0:
            raise ValueError(f"power must be > 0, got {self.power!r}")
        s("power", p)
        if not self.w0 <= 1e6 * self.wavelength:
            raise ValueError(f"waist={self.w0!r} m is more than 1e6 wavelengths: use a PlaneWave (the Gaussian's "
                             "Rayleigh range would overflow)")
        check_field_strength("power", self.power, self.peak_intensity())
        d = _unit_direction(self.direction)
        s("direction", tuple(float(x) for x in d))
        s("polarization", tuple(complex(x) for x in _unit_polarization(self.polarization, d)))
        s("phase", _finite_float("phase", self.phase))

    @property
    def w0(self) -> float:
        """Waist radius ``w0`` [m] (``waist``, or ``wavelength / (pi na)``)."""
        return self.waist if self.waist is not None else self.wavelength / (np.pi * self.na)

    def rayleigh_range(self, n_medium: float) -> float:
        """Rayleigh range ``zR = k w0^2 / 2`` [m] in a host of index ``n_medium``."""
        return 0.5 * wavenumber(self.wavelength, _check_n_medium(n_medium)) * self.w0**2

    def peak_intensity(self) -> float:
        """Peak intensity ``I0 = 2 P / (pi w0^2)`` [W/m^2] (inf where it overflows double precision)."""
        with np.errstate(over="ignore", divide="ignore"):
            return float(2.0 * self.power / (np.pi * np.float64(self.w0) ** 2))

    def _amplitude(self, n_medium):
        return amplitude_from_intensity(self.peak_intensity(), n_medium) * np.exp(1j * self.phase)

    def _psi_jets(self, points, n_medium, order):
        # psi = exp(G), G = i k z - ln q - rho^2 u / w^2, q = 1 + i z/zR, u = 1/q,
        # du/dz = -s u^2 with s = i/zR.
        k = wavenumber(self.wavelength, n_medium)
        w2 = self.w0**2
        zr = 0.5 * k * w2
        rot = self._frame
        identity = self._frame_is_identity
        xp = points - np.asarray(self.focus)
        if not identity:
            xp = xp @ rot.T  # beam-frame coordinates (M, 3)
        x, y, z = xp[:, 0], xp[:, 1], xp[:, 2]
        s = 1j / zr
        u = 1.0 / (1.0 + s * z)
        rho2 = (x * x + y * y) / w2
        psi = u * np.exp(1j * k * z - rho2 * u)
        m = len(z)
        g1 = np.empty((m, 3), complex)
        g1[:, 0] = -2.0 * x * u / w2
        g1[:, 1] = -2.0 * y * u / w2
        g1[:, 2] = 1j * k - s * u + rho2 * s * u**2
        g2 = np.zeros((m, 3, 3), complex)
        g2[:, 0, 0] = g2[:, 1, 1] = -2.0 * u / w2
        g2[:, 0, 2] = g2[:, 2, 0] = 2.0 * x * s * u**2 / w2
        g2[:, 1, 2] = g2[:, 2, 1] = 2.0 * y * s * u**2 / w2
        g2[:, 2, 2] = s**2 * u**2 - 2.0 * rho2 * s**2 * u**3
        g3 = None
        if order >= 3:
            g3 = np.zeros((m, 3, 3, 3), complex)
            gxxz = 2.0 * s * u**2 / w2
            for a, b, c in ((0, 0, 2), (0, 2, 0), (2, 0, 0)):
                g3[:, a, b, c] = gxxz
                g3[:, a + (a == 0), b + (b == 0), c + (c == 0)] = gxxz  # yyz permutations
            gxzz = -4.0 * x * s**2 * u**3 / w2
            gyzz = -4.0 * y * s**2 * u**3 / w2
            for a, b, c in ((0, 2, 2), (2, 0, 2), (2, 2, 0)):
                g3[:, a, b, c] = gxzz
                g3[:, a + (a == 0), b + (b == 0), c + (c == 0)] = gyzz
            g3[:, 2, 2, 2] = -2.0 * s**3 * u**3 + 6.0 * rho2 * s**3 * u**4
        jets = _jets_from_log(psi, [g1, g2, g3], order)
        if identity:
            return jets
        # back to lab frame: d/dr_a = R[p, a] d/dr'_p on every derivative index
        out = [jets[0]]
        if order >= 1:
            out.append(jets[1] @ rot)
        if order >= 2:
            out.append(rot.T @ jets[2] @ rot)
        if order >= 3:
            t = np.einsum("mpqr,pa->maqr", jets[3], rot)
            t = np.einsum("maqr,qb->mabr", t, rot)
            out.append(np.einsum("mabr,rc->mabc", t, rot))
        return out

    @classmethod
    def group_jets(cls, tweezers, rel_points, n_medium, order):
        """Summed E jets (M, ...) of same-shape tweezers at focus-relative points (T, M, 3) (see :func:`tweezer_jets`)."""
        return tweezer_jets(tweezers, rel_points, n_medium, order, summed=True)

    def _log_envelope(self, points, n_medium: float) -> np.ndarray:
        """``ln |psi|`` at ``points`` (M, 3) [m] (the Gaussian envelope of :meth:`_psi_jets`), (M,) float."""
        k = wavenumber(self.wavelength, n_medium)
        w2 = self.w0**2
        xp = points - np.asarray(self.focus)
        if not self._frame_is_identity:
            xp = xp @ self._frame.T
        zeta = xp[:, 2] / (0.5 * k * w2)
        re_u = 1.0 / (1.0 + zeta * zeta)  # Re(1/q), |u|^2 = Re(u)
        return 0.5 * np.log(re_u) - (xp[:, 0] ** 2 + xp[:, 1] ** 2) / w2 * re_u

    @property
    def shape_key(self) -> tuple:
        """Tweezers with equal keys differ only by focus, power and phase (one template serves them all)."""
        return (self.wavelength, self.w0, tuple(self.direction), tuple(self.polarization))

    @functools.cached_property
    def _frame(self) -> np.ndarray:
        return beam_frame(self.direction)

    @functools.cached_property
    def _frame_is_identity(self) -> bool:
        return bool(np.array_equal(self._frame, np.eye(3)))


# --------------------------------------------------------------------------- coherent sum
@dataclasses.dataclass(frozen=True)
class BeamSum(Beam):
    """Coherent sum of beams of one common wavelength.

    Parameters
    ----------
    beams : sequence of Beam
        At least one beam; nested :class:`BeamSum` members are flattened.
        All wavelengths must agree (relative tolerance 1e-12).

    Attributes
    ----------
    beams : tuple of Beam
        Flattened members.
    wavelength : float [m]
        Common vacuum wavelength.

    Examples
    --------
    >>> import numpy as np
    >>> a = PlaneWave(1e-6, amplitude=1.0)
    >>> b = PlaneWave(1e-6, direction=(0, 0, -1), amplitude=1.0)
    >>> standing = a + b
    >>> E, _ = standing.fields([0.0, 0.0, 0.25e-6], 1.0)   # node at lambda/4
    >>> bool(abs(E[0]) < 1e-12)
    True
    """

    beams: tuple

    def __post_init__(self):
        if isinstance(self.beams, Beam):
            raise ValueError("beams must be a sequence of Beam objects, got a single Beam")
        flat = []
        for idx, b in enumerate(tuple(self.beams)):
            if not isinstance(b, Beam):
                raise ValueError(f"beams[{idx}] is not a Beam, got {type(b).__name__}: {b!r}")
            flat.extend(b.beams if isinstance(b, BeamSum) else (b,))
        if not flat:
            raise ValueError("beams must contain at least one Beam, got an empty sequence")
        lam0 = flat[0].wavelength
        for idx, b in enumerate(flat[1:], start=1):
            if not np.isclose(b.wavelength, lam0, rtol=1e-12, atol=0.0):
                raise ValueError(
                    f"wavelength mismatch in BeamSum: beams[0].wavelength={lam0!r} m, "
                    f"beams[{idx}].wavelength={b.wavelength!r} m"
                )
        object.__setattr__(self, "beams", tuple(flat))

    @property
    def wavelength(self) -> float:
        """Common vacuum wavelength [m]."""
        return self.beams[0].wavelength

    def _e_jets(self, points, n_medium, order):
        total = None
        # tweezers that differ only in focus, power and phase are evaluated together
        groups: dict = {}
        singles = []
        for b in self.beams:
            if hasattr(type(b), "group_jets"):  # GaussianTweezer, focusing.FocusedBeam
                groups.setdefault((type(b), b.shape_key), []).append(b)
            else:
                singles.append(b)
        for members in groups.values():
            if len(members) == 1:
                singles.append(members[0])
                continue
            if type(members[0]) is GaussianTweezer:  # O(T + M) neighbour search instead of all T x M pairs
                jets = tweezer_array_jets(members, points, n_medium, order)
            else:
                focus = np.array([b.focus for b in members])  # (T, 3)
                rel = points[None, :, :] - focus[:, None, :]  # (T, M, 3)
                jets = type(members[0]).group_jets(members, rel, n_medium, order)  # summed over the members
            total = jets if total is None else [t + j for t, j in zip(total, jets)]
        for b in singles:
            jets = b._e_jets(points, n_medium, order)
            total = jets if total is None else [t + j for t, j in zip(total, jets)]
        return total


#: tweezer_jets skips a tweezer at a point where its envelope is below exp(-ENVELOPE_CUTOFF) (~2e-22) of the
#: strongest tweezer there (polynomial prefactors of the derivatives stay far below the margin)
ENVELOPE_CUTOFF = 50.0


def tweezer_jets(tweezers, rel_points: np.ndarray, n_medium: float, order: int,
                 summed: bool = False) -> list[np.ndarray]:
    """Electric-field jets of same-shape tweezers, each at its own focus-relative points, in one evaluation.

    Parameters
    ----------
    tweezers : sequence of T GaussianTweezer
        All with the same :attr:`GaussianTweezer.shape_key` (wavelength, waist, direction, polarization).
    rel_points : (T, M, 3) float [m]
        Evaluation points of tweezer t, relative to its focus.
    n_medium : float
    order : int
        Highest derivative order.
    summed : bool
        Return the sum over the tweezers, (M, 3, ..., 3), instead of each tweezer's jets.

    Returns
    -------
    list of (T, M, 3, ..., 3) complex: ``[E, dE, ...]`` of each tweezer, i.e. a unit-power, zero-phase
    template at the relative points times ``sqrt(P_t) exp(i phase_t)`` (exactly zero where a tweezer
    is skipped, see :data:`ENVELOPE_CUTOFF`); with ``summed`` their sum over tweezers.
    """
    t0 = tweezers[0]
    if any(t.shape_key != t0.shape_key for t in tweezers):
        raise ValueError("tweezer_jets needs tweezers that differ only in focus, power and phase")
    T, M = rel_points.shape[:2]
    unit = dataclasses.replace(t0, focus=(0.0, 0.0, 0.0), power=1.0, phase=0.0, waist=t0.w0, na=None)
    scale = np.array([np.sqrt(t.power) * np.exp(1j * t.phase) for t in tweezers])
    flat = rel_points.reshape(T * M, 3)
    # Skip tweezer-point pairs whose Gaussian envelope is below exp(-ENVELOPE_CUTOFF) of the strongest
    # tweezer at that point: their share of the field and its derivatives is under double round-off.
    log_amp = unit._log_envelope(flat, n_medium).reshape(T, M) + np.log(np.abs(scale))[:, None]
    keep = np.flatnonzero((log_amp >= log_amp.max(axis=0) - ENVELOPE_CUTOFF).ravel())
    part = unit._e_jets(flat[keep], n_medium, order)
    t_idx, m_idx = np.divmod(keep, M)
    out = []
    for j in part:
        j *= scale[t_idx].reshape((-1,) + (1,) * (j.ndim - 1))
        if summed:
            acc = np.zeros((M,) + j.shape[1:], complex)
            np.add.at(acc, m_idx, j)
        else:
            acc = np.zeros((T * M,) + j.shape[1:], complex)
            acc[keep] = j
            acc = acc.reshape((T, M) + j.shape[1:])
        out.append(acc)
    return out


def _kept_pairs(tweezers, points: np.ndarray, n_medium: float):
    """The (tweezer, point) pairs :func:`tweezer_jets` keeps, found without visiting all T x M pairs.

    Same rule (envelope at least ``exp(-ENVELOPE_CUTOFF)`` of the strongest tweezer at the point), same
    set: for each point, the tweezer with the nearest focus in the beam's transverse plane gives a lower
    bound ``L`` of the strongest log-amplitude there; a tweezer at transverse distance ``rho`` has
    log-amplitude at most ``ln s_max - rho^2 / (w0^2 (1 + Z^2/zR^2))`` (``Z`` the largest axial distance
    of that point to any focus), so only tweezers within ``rho^2 <= w0^2 (1 + Z^2/zR^2)(ln s_max - L +
    cutoff)`` can be kept; a k-d tree returns them, their exact log-amplitudes decide. Returns
    ``(t_idx, m_idx, log_amp)`` sorted t-major (the order of the all-pairs evaluation, so sums agree
    bit for bit) and the unit template.
    """
    from scipy.spatial import cKDTree

    t0 = tweezers[0]
    unit = dataclasses.replace(t0, focus=(0.0, 0.0, 0.0), power=1.0, phase=0.0, waist=t0.w0, na=None)
    scale = np.array([np.sqrt(t.power) * np.exp(1j * t.phase) for t in tweezers])
    ln_s = np.log(np.abs(scale))
    R = unit._frame  # rows: beam-frame axes; x' = R x
    foci = np.array([t.focus for t in tweezers]) @ R.T  # (T, 3) beam frame
    pts = points @ R.T  # (M, 3)
    w2 = unit.w0**2
    zr = 0.5 * wavenumber(unit.wavelength, n_medium) * w2
    tree = cKDTree(foci[:, :2])
    _, nearest = tree.query(pts[:, :2])
    lower = unit._log_envelope(points - np.array([tweezers[i].focus for i in nearest]), n_medium) + ln_s[nearest]
    z_far = np.maximum(np.abs(pts[:, 2] - foci[:, 2].min()), np.abs(pts[:, 2] - foci[:, 2].max()))
    radius2 = w2 * (1.0 + (z_far / zr) ** 2) * (ln_s.max() - lower + ENVELOPE_CUTOFF)
    cand = tree.query_ball_point(pts[:, :2], np.sqrt(np.maximum(radius2, 0.0)) * (1 + 1e-12) + 1e-300)
    counts = np.fromiter((len(c) for c in cand), int, len(cand))
    m_idx = np.repeat(np.arange(len(pts)), counts)
    t_idx = np.fromiter((i for c in cand for i in c), int, counts.sum())
    rel = points[m_idx] - np.array([t.focus for t in tweezers])[t_idx]
    log_amp = unit._log_envelope(rel, n_medium) + ln_s[t_idx]
    best = np.full(len(pts), -np.inf)
    np.maximum.at(best, m_idx, log_amp)
    keep = log_amp >= best[m_idx] - ENVELOPE_CUTOFF
    t_idx, m_idx, rel = t_idx[keep], m_idx[keep], rel[keep]
    order = np.lexsort((m_idx, t_idx))  # t-major, then point: the all-pairs order
    return t_idx[order], m_idx[order], rel[order], scale, unit


def tweezer_array_jets(tweezers, points: np.ndarray, n_medium: float, order: int) -> list[np.ndarray]:
    """Summed E jets (M, 3, ..., 3) of an array of same-shape Gaussian tweezers at ``points`` (M, 3) [m].

    Equal (bit for bit, tested) to ``tweezer_jets(tweezers, points - foci, ..., summed=True)`` but in
    O(T + M) time and memory for arrays whose tweezers are far apart compared to their waist: only the
    pairs of :func:`_kept_pairs` are evaluated.
    """
    if any(t.shape_key != tweezers[0].shape_key for t in tweezers):
        raise ValueError("tweezer_array_jets needs tweezers that differ only in focus, power and phase")
    M = len(points)
    t_idx, m_idx, rel, scale, unit = _kept_pairs(tweezers, np.asarray(points, float), n_medium)
    part = unit._e_jets(rel, n_medium, order)
    out = []
    for j in part:
        j *= scale[t_idx].reshape((-1,) + (1,) * (j.ndim - 1))
        acc = np.zeros((M,) + j.shape[1:], complex)
        np.add.at(acc, m_idx, j)
        out.append(acc)
    return out


def as_illumination(x) -> Beam:
    """Normalize an illumination specification to a single :class:`Beam`.

    Parameters
    ----------
    x : Beam or non-empty list/tuple of Beam
        A list of one beam returns that beam; longer lists return a :class:`BeamSum`.

    Returns
    -------
    Beam

    Raises
    ------
    ValueError
        Empty list/tuple, or ``x`` (or ``x[i]``, named by its index) is not a Beam
        (ValueError like all validation errors of cdsolve).

    Examples
    --------
    >>> pw = PlaneWave(1e-6, amplitude=1.0)
    >>> as_illumination(pw) is pw, as_illumination([pw]) is pw
    (True, True)
    >>> type(as_illumination((pw, pw))).__name__
    'BeamSum'
    """
    if isinstance(x, Beam):
        return x
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise ValueError("illumination list is empty: give at least one Beam")
        for idx, b in enumerate(x):
            if not isinstance(b, Beam):
                raise ValueError(f"illumination[{idx}] is not a Beam, got {type(b).__name__}: {b!r}")
        return x[0] if len(x) == 1 else BeamSum(tuple(x))
    raise ValueError(f"illumination must be a Beam or a list/tuple of Beams, got {type(x).__name__}: {x!r}")


# --------------------------------------------------------------------------- incoherent groups
#: largest relative wavelength spread accepted between incoherent groups (~ 300 GHz at 1064 nm)
WAVELENGTH_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class IncoherentBeams(Beam):
    """Illumination made of mutually incoherent groups of beams.

    Parameters
    ----------
    groups : sequence of (Beam or sequence of Beam)
        At least one group. Each group is one coherent illumination (a Beam, a :class:`BeamSum`
        or a list of beams, which is summed coherently). Different groups do not interfere.
        Nested ``IncoherentBeams`` are flattened into their groups.

    Attributes
    ----------
    groups : tuple of Beam
        One coherent Beam per group.
    wavelength : float [m]
        Common vacuum wavelength (of the first group).

    Examples
    --------
    >>> a = GaussianTweezer(1064e-9, focus=(-1e-6, 0, 0), waist=1e-6, power=0.1)
    >>> b = GaussianTweezer(1064e-9, focus=(1e-6, 0, 0), waist=1e-6, power=0.1)
    >>> ill = IncoherentBeams(groups=(a, b))
    >>> len(ill.groups), round(ill.wavelength * 1e9)
    (2, 1064)
    """

    groups: Any

    def __post_init__(self):
        raw = self.groups
        if isinstance(raw, (Beam, str, bytes)) or not hasattr(raw, "__iter__"):
            raise ValueError(f"IncoherentBeams.groups must be a sequence of groups (Beams or lists of Beams), got {raw!r}")
        flat = []
        for idx, g in enumerate(tuple(raw)):
            if isinstance(g, IncoherentBeams):
                flat.extend(g.groups)
                continue
            try:
                beam = as_illumination(g)
            except ValueError as exc:
                raise ValueError(f"IncoherentBeams.groups[{idx}]: {exc}") from None
            if isinstance(beam, BeamSum) and any(isinstance(b, IncoherentBeams) for b in beam.beams):
                raise ValueError(f"IncoherentBeams.groups[{idx}] contains an IncoherentBeams inside a coherent sum")
            flat.append(beam)
        if not flat:
            raise ValueError("IncoherentBeams.groups is empty: give at least one group")
        lam0 = flat[0].wavelength
        for idx, g in enumerate(flat[1:], start=1):
            if abs(g.wavelength - lam0) > WAVELENGTH_RTOL * lam0:
                raise ValueError(
                    f"IncoherentBeams.groups[{idx}].wavelength={g.wavelength!r} m differs from "
                    f"groups[0].wavelength={lam0!r} m by more than {WAVELENGTH_RTOL:g} (relative); "
                    "incoherent groups must share one wavelength (solve different colours separately)"
                )
        object.__setattr__(self, "groups", tuple(flat))

    @property
    def wavelength(self) -> float:
        """Common vacuum wavelength [m] (that of the first group)."""
        return self.groups[0].wavelength

    def _e_jets(self, points, n_medium, order):
        raise ValueError(
            "IncoherentBeams has no single coherent field: its groups do not interfere. Use "
            "cdsolve.solve(scene) (time-averaged observables summed over groups), "
            "or evaluate each group (IncoherentBeams.groups[i]) separately"
        )

    def __add__(self, other):
        raise ValueError(
            "cannot add beams coherently to an IncoherentBeams; put them into one of its groups "
            "(IncoherentBeams(groups=(...)))"
        )

    def __radd__(self, other):
        return self.__add__(other)


def coherent_groups(illumination) -> tuple[Beam, ...]:
    """The coherent groups of an illumination: its groups for ``IncoherentBeams``, else ``(beam,)``."""
    if isinstance(illumination, IncoherentBeams):
        return illumination.groups
    return (as_illumination(illumination),)
