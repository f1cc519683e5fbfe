"""Particles and their dipole polarizabilities (3x3 tensors, SI).

Every particle type answers ``particle.polarizabilities(wavelength, n_medium)`` with
``(alpha_e, alpha_m)``: two (3, 3) complex arrays, ``alpha_e`` [F m^2] and ``alpha_m`` [m^3]
(see :mod:`cdsolve.optics.conventions`: ``p = alpha_e E``, ``m = alpha_m H``).

Models
------
``Sphere(model="mie")``
    Mie dipole: ``alpha_e = 6 pi i eps0 eps_m a1 / k^3``, ``alpha_m = 6 pi i b1 / k^3`` with the
    Mie coefficients ``a1, b1`` of :mod:`cdsolve.optics.mie` (Bohren & Huffman convention,
    ``exp(-i omega t)``; checked in ``tests/test_mie.py`` against miepython, mpmath and the Rayleigh
    limit ``-2i x^3/3 (m^2-1)/(m^2+2)``). Metals (``Re n <= 0 < Im n``) are evaluated as such.
``Sphere(model="rayleigh")`` and ``Ellipsoid``
    Clausius-Mossotti / depolarization-factor static polarizability with the radiative-reaction
    correction ``alpha = (alpha0^-1 - i k^3/(6 pi eps0 eps_m))^-1``; no magnetic dipole.
``KerkerParticle``
    Ideal Kerker dipoles: ``alpha_m = +alpha_e/(eps0 eps_m)`` (first condition, no backscattering)
    or ``-alpha_e/(eps0 eps_m)`` (second condition, no forward scattering). The second condition
    with a passive ``alpha_e`` makes ``alpha_m`` active (``Im alpha_m < 0``); it is only accepted with
    ``allow_gain=True`` (an idealization, not a passive particle).
``DipoleParticle``
    User-supplied ``alpha_e``/``alpha_m`` (scalars or 3x3 tensors).

Passivity: a polarizability tensor is passive when its anti-Hermitian part
``(alpha - alpha^H)/(2i)`` is positive semidefinite. Non-passive particles (gain) are rejected
unless ``allow_gain=True``.

Input checks (at construction, naming the argument and the rule): a refractive index must be a finite
number with ``Re n >= 0``, ``Im n >= 0`` and ``n != 0`` (``Im n < 0``, gain, only with
``allow_gain=True``, which must be a real ``bool``); ``material`` is a
:class:`cdsolve.optics.materials.Material` object (``index`` and ``permittivity`` methods), not a
name: ``material="silicon"`` is refused naming ``materials.silicon()`` and ``materials.fused_silica()``.
``density`` [kg/m^3] needs a particle with a size (``radius`` or semi-axes) to give a mass.
Sphere sizes beyond the limits of :func:`cdsolve.optics.mie.check_mie_size` are refused at evaluation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import elliprd

from ._checks import real_number
from .conventions import EPS0, wavenumber
from .mie import check_mie_size, mie_coefficients

__all__ = [
    "Particle",
    "Sphere",
    "Ellipsoid",
    "KerkerParticle",
    "DipoleParticle",
    "radiative_correction",
    "mie_dipole_polarizabilities",
    "depolarization_factors",
    "is_passive",
]

SphereModel = Literal["mie", "rayleigh"]


def _real(name: str, value: Any, **rule) -> float:
    """``real_number`` that also refuses strings and None (TypeError): ``radius="5e-8"`` is a mistake."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    return real_number(name, value, **rule)


def _positive(name: str, value: Any) -> float:
    return _real(name, value, positive=True)


def radiative_correction(alpha0: np.ndarray, k: float, n_medium: float) -> np.ndarray:
    """Radiative-reaction corrected polarizability ``(alpha0^-1 - i k^3/(6 pi eps0 eps_m) I)^-1``.

    Parameters
    ----------
    alpha0 : (3, 3) complex [F m^2]
        Static (quasi-static) polarizability tensor (may be singular, e.g. zero for an index-matched
        particle: evaluated as ``(I - i k^3/(6 pi eps0 eps_m) alpha0)^-1 alpha0``).
    k : float [1/m]
        Wavenumber in the host.
    n_medium : float
        Host index.

    Returns
    -------
    (3, 3) complex [F m^2]

    Examples
    --------
    >>> import numpy as np
    >>> a = radiative_correction(np.eye(3) * 1e-33, 6e6, 1.0)
    >>> bool(np.all(np.diag(a).imag > 0))
    True
    """
    alpha0 = np.asarray(alpha0, dtype=complex)
    eps = EPS0 * n_medium**2
    lhs = np.eye(3) - 1j * k**3 / (6 * np.pi * eps) * alpha0
    try:
        return np.linalg.solve(lhs, alpha0)
    except np.linalg.LinAlgError:
        raise ValueError(
            "radiative correction is singular: alpha0 has the eigenvalue -6 pi i eps0 eps_m / k^3 "
            "(an active particle exactly at its lasing threshold)") from None


def is_passive(alpha: np.ndarray, rtol: float = 1e-12) -> bool:
    """True when the anti-Hermitian part of ``alpha`` (3, 3) is positive semidefinite.

    The tolerance is relative to the largest eigenvalue magnitude of ``alpha``
    (round-off of lossless, radiatively corrected tensors).
    """
    alpha = np.asarray(alpha, dtype=complex)
    anti = (alpha - alpha.conj().T) / 2j
    lam = np.linalg.eigvalsh(anti)
    scale = max(np.max(np.abs(np.linalg.eigvals(alpha))), 1e-300)
    return bool(lam.min() >= -rtol * scale)


def mie_dipole_polarizabilities(
    radius: float, index: complex, wavelength: float, n_medium: float
) -> tuple[complex, complex]:
    """Scalar Mie dipole polarizabilities ``(alpha_e [F m^2], alpha_m [m^3])`` of a sphere.

    Uses ``a1, b1`` of :func:`cdsolve.optics.mie.mie_coefficients` for the relative index
    ``m = index / n_medium`` and size parameter ``x = k a`` (metals and gain evaluated as written;
    sizes beyond :func:`cdsolve.optics.mie.check_mie_size` refused).

    Parameters
    ----------
    radius : float [m]
    index : complex  particle refractive index [-]
    wavelength : float [m]  vacuum wavelength
    n_medium : float  host index [-]

    Examples
    --------
    >>> ae, am = mie_dipole_polarizabilities(50e-9, 1.45, 1064e-9, 1.0)
    >>> round(ae.real / (4 * np.pi * EPS0 * (50e-9) ** 3), 3)  # ~ (m^2-1)/(m^2+2) = 0.2687
    0.269
    """
    k = wavenumber(wavelength, n_medium)
    x = k * radius
    m = complex(index) / n_medium
    a, b = mie_coefficients(m, x, n_max=1)
    a1, b1 = complex(a[0]), complex(b[0])
    eps = EPS0 * n_medium**2
    return 6j * np.pi * eps * a1 / k**3, 6j * np.pi * b1 / k**3


def depolarization_factors(semi_axes) -> np.ndarray:
    """Depolarization factors ``L_i`` of an ellipsoid with semi-axes ``(a, b, c)`` [m].

    ``L_x = (abc/3) R_D(b^2, c^2, a^2)`` (Carlson's symmetric integral), cyclically;
    ``sum L_i = 1`` (Rudolph et al. 2024, eq. 24-25, in elliptic-integral form).

    Examples
    --------
    >>> depolarization_factors((1.0, 1.0, 1.0)).round(6).tolist()
    [0.333333, 0.333333, 0.333333]
    """
    a, b, c = (float(s) for s in semi_axes)
    s2 = np.array([a * a, b * b, c * c])
    L = np.array([a * b * c / 3.0 * elliprd(s2[(i + 1) % 3], s2[(i + 2) % 3], s2[i]) for i in range(3)])
    return L


def _relative_permittivity(obj, wavelength, n_medium) -> complex:
    return (_particle_index(obj, wavelength) / n_medium) ** 2


class Particle(ABC):
    """A particle the coupled-dipole solver can carry: something with dipole polarizabilities."""

    #: optional mass [kg] (or use ``density``)
    mass: float | None
    density: float | None
    allow_gain: bool

    @abstractmethod
    def polarizabilities(self, wavelength: float, n_medium: float) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha_e (3,3) [F m^2], alpha_m (3,3) [m^3])`` at vacuum ``wavelength`` [m]."""

    @property
    def exclusion_radius(self) -> float:
        """Radius [m] of a sphere enclosing the particle (0 for point dipoles); used for overlap checks."""
        return 0.0

    @property
    def volume(self) -> float | None:
        """Volume [m^3] if the particle has one."""
        return None

    def particle_mass(self) -> float | None:
        """Mass [kg] from ``mass`` or ``density * volume``; None when neither is given.

        Raises ValueError when ``density`` is given but the particle has no size (no volume).
        """
        if self.mass is not None:
            return self.mass
        if self.density is not None:
            if self.volume is None:
                raise ValueError(
                    f"{type(self).__name__} has density={self.density!r} kg/m^3 but no size, so no mass: "
                    "give radius= (its volume) or mass= [kg]")
            return self.density * self.volume
        return None

    def _checked(self, ae: np.ndarray, am: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.allow_gain:
            for name, a in (("alpha_e", ae), ("alpha_m", am)):
                if np.any(a != 0) and not is_passive(a):
                    raise ValueError(
                        f"{type(self).__name__}: {name} is not passive (gain); "
                        f"pass allow_gain=True to use an active particle"
                    )
        return ae, am


def _check_mass(obj) -> None:
    name = type(obj).__name__
    if obj.mass is not None:
        object.__setattr__(obj, "mass", _positive(f"{name}.mass [kg]", obj.mass))
    if obj.density is not None:
        object.__setattr__(obj, "density", _positive(f"{name}.density [kg/m^3]", obj.density))
    if obj.mass is not None and obj.density is not None:
        raise ValueError(f"{name}: give either mass or density, not both (got mass={obj.mass!r}, "
                         f"density={obj.density!r})")


def _check_gain_flag(obj) -> None:
    if not isinstance(obj.allow_gain, (bool, np.bool_)):
        raise TypeError(f"{type(obj).__name__}.allow_gain must be True or False (a bool), "
                        f"got {obj.allow_gain!r} of type {type(obj.allow_gain).__name__}")
    object.__setattr__(obj, "allow_gain", bool(obj.allow_gain))


def _check_index(owner: str, value, allow_gain: bool) -> complex:
    """A refractive index: finite number, ``n != 0``, ``Re n >= 0``, ``Im n >= 0`` unless ``allow_gain``."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (int, float, complex, np.number)):
        if not (isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iufc"):
            raise TypeError(f"{owner}.index must be a real or complex number (refractive index n + i k), "
                            f"got {value!r} of type {type(value).__name__}")
    n = complex(value)
    if not (np.isfinite(n.real) and np.isfinite(n.imag)):
        raise ValueError(f"{owner}.index must be finite, got {value!r}")
    if n == 0 or n.real < 0:
        raise ValueError(f"{owner}.index={value!r} is not a physical refractive index: need n != 0 and Re n >= 0 "
                         "(a passive medium has Re n >= 0 and Im n >= 0; Re n < 0 with Im n > 0 is gain in disguise)")
    if n.imag < 0 and not allow_gain:
        raise ValueError(
            f"{owner}.index={value!r} has Im n < 0 (gain under exp(-i omega t)); a passive medium needs "
            "Re n >= 0 and Im n >= 0; pass allow_gain=True to use an active medium"
        )
    return n


def _check_material(obj) -> None:
    name = type(obj).__name__
    _check_gain_flag(obj)
    if (obj.index is None) == (obj.material is None):
        raise ValueError(f"{name}: give exactly one of index or material (got index={obj.index!r}, "
                         f"material={obj.material!r})")
    if obj.index is not None:
        _check_index(name, obj.index, obj.allow_gain)
    elif isinstance(obj.material, (str, bytes)):
        raise TypeError(
            f"{name}.material must be a Material object, got the name {obj.material!r}; use e.g. "
            "cdsolve.optics.materials.fused_silica() or cdsolve.optics.materials.silicon() "
            "(or index=<complex> for a constant index)")
    elif not (callable(getattr(obj.material, "index", None)) and callable(getattr(obj.material, "permittivity", None))):
        raise TypeError(
            f"{name}.material must be a cdsolve.optics.materials.Material (with index(wavelength) and "
            "permittivity(wavelength) methods), "
            f"got {obj.material!r} of type {type(obj.material).__name__}")


def _particle_index(obj, wavelength) -> complex:
    """Refractive index of ``obj`` at ``wavelength`` (material values checked like a given index)."""
    if obj.material is None:
        return complex(obj.index)
    return _check_index(f"{type(obj).__name__}.material ({obj.material!r}) at {wavelength!r} m",
                        complex(obj.material.index(wavelength)), obj.allow_gain)


@dataclass(frozen=True)
class Sphere(Particle):
    """Homogeneous sphere.

    Parameters
    ----------
    radius : float [m]
    index : complex, optional
        Constant refractive index (Im n >= 0 is lossy). Give this or ``material``.
    material : cdsolve.optics.materials.Material, optional
        Dispersive material (``material.index(wavelength)``).
    model : {"mie", "rayleigh"}
        ``"mie"``: electric and magnetic dipole from ``a1, b1``; ``"rayleigh"``: Clausius-Mossotti
        with radiative correction, electric only.
    density : float [kg/m^3], optional
    mass : float [kg], optional
    allow_gain : bool
        Accept Im n < 0 (active media).

    Examples
    --------
    >>> s = Sphere(radius=50e-9, index=1.45)
    >>> ae, am = s.polarizabilities(1064e-9, 1.0)
    >>> ae.shape, bool(ae[0, 0].imag > 0)
    ((3, 3), True)
    """

    radius: float
    index: complex | None = None
    material: Any = None
    model: SphereModel = "mie"
    density: float | None = None
    mass: float | None = None
    allow_gain: bool = False

    def __post_init__(self):
        object.__setattr__(self, "radius", _positive("Sphere.radius [m]", self.radius))
        if not isinstance(self.model, str) or self.model not in ("mie", "rayleigh"):
            raise ValueError(f"Sphere.model must be 'mie' or 'rayleigh', got {self.model!r}")
        _check_material(self)
        _check_mass(self)

    @property
    def exclusion_radius(self) -> float:
        return float(self.radius)

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * np.pi * self.radius**3

    def polarizabilities(self, wavelength, n_medium):
        n = _particle_index(self, wavelength)
        k = wavenumber(wavelength, n_medium)
        check_mie_size(n / n_medium, k * self.radius)  # both models: refuse sizes where a dipole is meaningless
        if self.model == "mie":
            ae, am = mie_dipole_polarizabilities(self.radius, n, wavelength, n_medium)
            return self._checked(ae * np.eye(3), am * np.eye(3))
        eps_r = (n / n_medium) ** 2
        eps = EPS0 * n_medium**2
        a0 = 4 * np.pi * eps * self.radius**3 * (eps_r - 1) / (eps_r + 2)
        return self._checked(radiative_correction(a0 * np.eye(3), k, n_medium), np.zeros((3, 3), complex))


@dataclass(frozen=True)
class Ellipsoid(Particle):
    """Homogeneous ellipsoid in the quasi-static (depolarization-factor) model, with radiative correction.

    Parameters
    ----------
    semi_axes : (3,) float [m]
        Semi-axes ``(a, b, c)`` along the body axes.
    orientation : (3, 3) float
        Rotation matrix whose columns are the body axes in the lab frame (default identity).
    index, material, density, mass, allow_gain : as for :class:`Sphere`.
    """

    semi_axes: tuple
    index: complex | None = None
    material: Any = None
    orientation: Any = None
    density: float | None = None
    mass: float | None = None
    allow_gain: bool = False

    def __post_init__(self):
        ax = np.asarray(self.semi_axes, dtype=object)
        if ax.shape != (3,):
            raise ValueError(f"Ellipsoid.semi_axes must have 3 entries [m], got {self.semi_axes!r}")
        ax = [_positive(f"Ellipsoid.semi_axes[{i}] [m]", s) for i, s in enumerate(ax)]
        object.__setattr__(self, "semi_axes", tuple(ax))
        R = np.eye(3) if self.orientation is None else _real_array("Ellipsoid.orientation", self.orientation)
        if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-10) or np.linalg.det(R) < 0:
            raise ValueError("Ellipsoid.orientation must be a proper rotation matrix (3x3, R R^T = 1, det = +1), "
                             f"got {self.orientation!r}")
        object.__setattr__(self, "orientation", R)
        _check_material(self)
        _check_mass(self)

    @property
    def exclusion_radius(self) -> float:
        return float(max(self.semi_axes))

    @property
    def volume(self) -> float:
        a, b, c = self.semi_axes
        return 4.0 / 3.0 * np.pi * a * b * c

    def polarizabilities(self, wavelength, n_medium):
        eps_r = _relative_permittivity(self, wavelength, n_medium)
        eps = EPS0 * n_medium**2
        L = depolarization_factors(self.semi_axes)
        body = eps * self.volume * (eps_r - 1) / (1 + L * (eps_r - 1))
        R = self.orientation
        a0 = R @ np.diag(body) @ R.T
        k = wavenumber(wavelength, n_medium)
        return self._checked(radiative_correction(a0, k, n_medium), np.zeros((3, 3), complex))


def _real_array(name: str, value) -> np.ndarray:
    try:
        a = np.asarray(value)
    except Exception:
        raise TypeError(f"{name} must be a real array, got {value!r}") from None
    if a.dtype.kind not in "iuf" and not (a.dtype.kind == "O" and a.size and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            for v in a.ravel())):
        raise TypeError(f"{name} must be a real array, got {value!r}")
    a = a.astype(float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf: {value!r}")
    return a


def _as_tensor(name: str, value) -> np.ndarray:
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise TypeError(f"{name} must be a number or a 3x3 array of numbers, got {value!r}")
    try:
        a = np.asarray(value, dtype=complex)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a 3x3 array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf: {value!r}")
    if a.ndim == 0:
        a = a * np.eye(3)
    if a.shape != (3, 3):
        raise ValueError(f"{name} must be a scalar or a 3x3 tensor, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf: {value!r}")
    return a


@dataclass(frozen=True)
class DipoleParticle(Particle):
    """Point particle with user-supplied ``alpha_e`` [F m^2] and ``alpha_m`` [m^3] (scalars or 3x3).

    The values are used as given at every wavelength (include the radiative correction yourself).

    Examples
    --------
    >>> complex(DipoleParticle(alpha_e=1e-33 + 1e-36j).polarizabilities(1e-6, 1.0)[0][0, 0])
    (1e-33+1e-36j)
    """

    alpha_e: Any = 0.0
    alpha_m: Any = 0.0
    radius: float = 0.0
    density: float | None = None
    mass: float | None = None
    allow_gain: bool = False

    def __post_init__(self):
        ae, am = _as_tensor("DipoleParticle.alpha_e", self.alpha_e), _as_tensor("DipoleParticle.alpha_m", self.alpha_m)
        if not np.any(ae) and not np.any(am):
            raise ValueError("DipoleParticle needs a non-zero alpha_e or alpha_m")
        object.__setattr__(self, "radius", _real("DipoleParticle.radius [m]", self.radius, nonnegative=True))
        _check_gain_flag(self)
        _check_mass(self)
        self._checked(ae, am)

    @property
    def exclusion_radius(self) -> float:
        return float(self.radius)

    @property
    def volume(self):
        return 4.0 / 3.0 * np.pi * self.radius**3 if self.radius > 0 else None

    def polarizabilities(self, wavelength, n_medium):
        return self._checked(_as_tensor("alpha_e", self.alpha_e), _as_tensor("alpha_m", self.alpha_m))


@dataclass(frozen=True)
class KerkerParticle(Particle):
    """Ideal Kerker dipole: ``alpha_m = s alpha_e / (eps0 eps_m)``, ``s = +1`` (first) or ``-1`` (second).

    Parameters
    ----------
    alpha_e : complex or (3, 3) [F m^2], or a :class:`Particle`
        Electric polarizability; if a particle (e.g. a Mie sphere) is given, its ``alpha_e`` at the
        evaluation wavelength is used.
    condition : {1, 2, "first", "second"}
        First Kerker condition: no backscattering; second: no forward scattering.
    """

    alpha_e: Any
    condition: Any = 1
    radius: float = 0.0
    density: float | None = None
    mass: float | None = None
    allow_gain: bool = False

    def __post_init__(self):
        cond = None
        if isinstance(self.condition, (int, np.integer, str)) and not isinstance(self.condition, (bool, np.bool_)):
            cond = {1: 1, 2: 2, "first": 1, "second": 2}.get(self.condition if isinstance(self.condition, str)
                                                             else int(self.condition))
        if cond is None:
            raise ValueError(f"KerkerParticle.condition must be 1, 2, 'first' or 'second', got {self.condition!r}")
        object.__setattr__(self, "condition", cond)
        if not isinstance(self.alpha_e, Particle):
            _as_tensor("KerkerParticle.alpha_e", self.alpha_e)
        object.__setattr__(self, "radius", _real("KerkerParticle.radius [m]", self.radius, nonnegative=True))
        _check_gain_flag(self)
        _check_mass(self)

    @property
    def exclusion_radius(self) -> float:
        base = self.alpha_e.exclusion_radius if isinstance(self.alpha_e, Particle) else 0.0
        return float(max(self.radius, base))

    @property
    def volume(self):
        if isinstance(self.alpha_e, Particle):
            return self.alpha_e.volume
        return 4.0 / 3.0 * np.pi * self.radius**3 if self.radius > 0 else None

    def polarizabilities(self, wavelength, n_medium):
        if isinstance(self.alpha_e, Particle):
            ae = self.alpha_e.polarizabilities(wavelength, n_medium)[0]
        else:
            ae = _as_tensor("alpha_e", self.alpha_e)
        sign = 1.0 if self.condition == 1 else -1.0
        return self._checked(ae, sign * ae / (EPS0 * n_medium**2))
