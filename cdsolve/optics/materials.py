"""Optical materials: lossless host :class:`Medium` and dispersive particle :class:`Material` s.

Wavelengths are *vacuum* wavelengths [m], angular frequencies [rad/s]. With the
``exp(-i omega t)`` convention (:mod:`cdsolve.optics.conventions`) passive media have
``Im eps >= 0`` and complex index ``n + i k`` with ``k >= 0``. Shipped data
(``cdsolve/data``, loaded lazily): :func:`silicon`, :func:`fused_silica`.
"""

from __future__ import annotations

import abc
import functools
import io
import math
import numbers
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

from .conventions import C0, wavenumber as _wavenumber

#: lazy handle on the shipped tables (``cdsolve/data``); files are read only when a loader is called
_DATA = resources.files("cdsolve").joinpath("data")

__all__ = ["Medium", "Material", "ConstantIndex", "ConstantPermittivity", "Oscillator", "DrudeLorentz",
           "Sellmeier", "Tabulated", "SILICA_DRUDE_LORENTZ", "silica_drude_lorentz",
           "silicon", "fused_silica"]


def _real_scalar(value, what: str, *, positive: bool = True) -> float:
    """``value`` as finite real float (> 0, or >= 0 if not ``positive``); else ValueError naming ``what``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0) or (not positive and value < 0):
        raise ValueError(f"{what} must be a finite real number {'>' if positive else '>='} 0, got {value!r}")
    return float(value)


def _passive_complex(value, what: str) -> complex:
    """Return a finite, non-zero complex number with ``Im >= 0``, else ValueError naming ``what``."""
    ok = isinstance(value, numbers.Number) and not isinstance(value, bool) and np.isfinite(complex(value))
    if not ok or complex(value) == 0 or complex(value).imag < 0:
        raise ValueError(f"{what} must be a finite, non-zero complex number with Im >= 0 (passive), "
                         f"got {value!r}")
    return complex(value)


def _wavelengths(wavelength) -> np.ndarray:
    """Validate vacuum wavelengths [m] (real, finite, > 0); return float64 array of the same shape."""
    arr = np.asarray(wavelength)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise ValueError(f"wavelength must be a non-empty real array [m], got {wavelength!r}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"wavelength must be finite and > 0 [m], got {float(arr[bad].flat[0])!r}")
    return arr


def _check_range(wavelength: np.ndarray, wl_range: tuple[float, float], name: str) -> None:
    """Raise ValueError if a wavelength lies outside ``wl_range`` [m] (relative slack 1e-9 for round-off)."""
    lo, hi = wl_range
    bad = (wavelength < lo * (1 - 1e-9)) | (wavelength > hi * (1 + 1e-9))
    if bad.any():
        raise ValueError(f"wavelength {float(wavelength[bad].flat[0])!r} m outside the range "
                         f"[{lo!r}, {hi!r}] m of material {name!r} (no extrapolation)")


@dataclass(frozen=True)
class Medium:
    """Lossless, non-magnetic host medium with real refractive index ``index`` [-] (finite, > 0).

    Examples
    --------
    >>> water = Medium(1.33)
    >>> round(water.permittivity, 4)
    1.7689
    >>> round(float(water.wavenumber(1064e-9)) * 1e-6, 6)  # [1/um]
    7.853982
    """

    index: float = 1.0

    def __post_init__(self) -> None:
        value = self.index
        if isinstance(value, (complex, np.complexfloating)):
            if value.imag != 0:
                raise ValueError(f"host medium must be lossless: Medium.index must be real, got {value!r}")
            value = value.real
        object.__setattr__(self, "index", _real_scalar(value, "Medium.index"))

    @property
    def permittivity(self) -> float:
        """Real relative permittivity ``eps_m = index**2`` [-]."""
        return self.index**2

    def wavenumber(self, wavelength):
        """Wavenumber ``k = 2 pi n_m / wavelength`` [1/m] in the medium.

        Parameters
        ----------
        wavelength : float or array_like of float, any shape, [m]
            Vacuum wavelength(s), finite and > 0.

        Returns
        -------
        float64 scalar or ndarray of float64, same shape as ``wavelength``, [1/m]
        """
        return np.asarray(_wavenumber(_wavelengths(wavelength), self.index))[()]  # [()]: 0-d -> scalar


class Material(abc.ABC):
    """Abstract isotropic, non-magnetic particle material.

    Subclasses implement :meth:`_permittivity` and may override :meth:`_index`
    when n, k are the primary data; both get validated float64 arrays [m].
    Attributes: ``name`` (short label, str), ``reference`` (citation, str).
    """

    def __init__(self, name: str, reference: str) -> None:
        self.name = str(name)
        self.reference = str(reference)

    @abc.abstractmethod
    def _permittivity(self, wavelength: np.ndarray) -> np.ndarray:
        """Relative permittivity (complex128, same shape) at validated wavelengths [m]."""

    def _index(self, wavelength: np.ndarray) -> np.ndarray:
        """Square root of the permittivity on the branch ``Im n >= 0``."""
        n = np.sqrt(np.asarray(self._permittivity(wavelength), dtype=np.complex128))
        return np.where(n.imag < 0, -n, n)

    def permittivity(self, wavelength):
        """Complex relative permittivity ``eps' + i eps''`` [-], ``Im >= 0`` for passive media.

        Parameters
        ----------
        wavelength : float or array_like of float, any shape, [m]
            Vacuum wavelength(s). ValueError if not finite and > 0, or outside
            the validity range of the material.

        Returns
        -------
        complex128 scalar or ndarray of complex128, same shape as ``wavelength``, [-]
        """
        return np.asarray(self._permittivity(_wavelengths(wavelength)), dtype=np.complex128)[()]

    def index(self, wavelength):
        """Complex refractive index ``n + i k``, ``sqrt(permittivity)`` on the branch ``Im >= 0`` [-].

        Parameters
        ----------
        wavelength : float or array_like of float, any shape, [m]
            Vacuum wavelength(s), as for :meth:`permittivity`.

        Returns
        -------
        complex128 scalar or ndarray of complex128, same shape as ``wavelength``, [-]
        """
        return np.asarray(self._index(_wavelengths(wavelength)), dtype=np.complex128)[()]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class ConstantIndex(Material):
    """Non-dispersive material with complex refractive index ``index`` [-] (``Re > 0``, ``Im >= 0``).

    Examples
    --------
    >>> m = ConstantIndex(1.45 + 0.01j)
    >>> m.permittivity([1e-6, 2e-6]).round(4)
    array([2.1024+0.029j, 2.1024+0.029j])
    """

    def __init__(self, index: complex, name: str = "constant index", reference: str = "user-defined"):
        super().__init__(name, reference)
        self.n = _passive_complex(index, "ConstantIndex.index")
        if self.n.real <= 0:
            raise ValueError(f"ConstantIndex.index must have Re > 0, got {index!r}")

    def _index(self, wavelength):
        return np.full(wavelength.shape, self.n, dtype=np.complex128)

    def _permittivity(self, wavelength):
        return self._index(wavelength) ** 2


class ConstantPermittivity(Material):
    """Non-dispersive material with complex relative permittivity ``eps`` [-] (``Im >= 0``).

    Examples
    --------
    >>> complex(ConstantPermittivity(-4 + 0j).index(500e-9))  # lossless metal: purely imaginary n
    2j
    """

    def __init__(self, eps: complex, name: str = "constant permittivity", reference: str = "user-defined"):
        super().__init__(name, reference)
        self.eps = _passive_complex(eps, "ConstantPermittivity.eps")

    def _permittivity(self, wavelength):
        return np.full(wavelength.shape, self.eps, dtype=np.complex128)


class Oscillator(NamedTuple):
    """Term ``omega_p**2 / (omega_t**2 - omega**2 - i gamma omega)``, all in rad/s (Drude if ``omega_t = 0``).

    The oscillator-strength form ``f omega_t**2 / (...)`` has ``omega_p = sqrt(f) * omega_t``.
    """

    omega_p: float
    omega_t: float
    gamma: float


class DrudeLorentz(Material):
    """Drude-Lorentz permittivity (``exp(-i omega t)`` convention).

    ``eps(omega) = eps_inf + sum_j omega_p,j**2 / (omega_t,j**2 - omega**2 - i gamma_j omega)``,
    so that ``Im eps(omega) >= 0`` for ``omega > 0`` when all ``gamma_j >= 0``.

    Parameters
    ----------
    eps_inf : float
        High-frequency permittivity [-], finite and > 0.
    oscillators : sequence of Oscillator or (omega_p, omega_t, gamma), length m
        Plasma, transition and damping angular frequencies [rad/s], each
        finite and >= 0 (else ValueError); ``gamma >= 0`` ensures passivity.
    name, reference : str
    """

    def __init__(self, eps_inf: float, oscillators: Sequence, name: str, reference: str) -> None:
        super().__init__(name, reference)
        self.eps_inf = _real_scalar(eps_inf, "DrudeLorentz.eps_inf")
        oscs = []
        for j, osc in enumerate(oscillators):
            if len(osc) != 3:
                raise ValueError(f"DrudeLorentz oscillator {j} must be (omega_p, omega_t, gamma): {osc!r}")
            oscs.append(Oscillator(*(_real_scalar(v, f"DrudeLorentz oscillator {j} {f}", positive=False)
                                     for v, f in zip(osc, Oscillator._fields))))
        self.oscillators: tuple[Oscillator, ...] = tuple(oscs)

    def permittivity_angular_frequency(self, omega):
        """Permittivity ``eps(omega)`` [-] at real angular frequency.

        Parameters
        ----------
        omega : float or array_like of float, any shape, [rad/s]
            Real angular frequency (> 0 for physical fields).

        Returns
        -------
        ndarray of complex128, same shape as ``omega``, [-]
        """
        w = np.asarray(omega, dtype=np.float64)
        eps = np.full(w.shape, self.eps_inf, dtype=np.complex128)
        with np.errstate(divide="ignore", invalid="ignore"):
            for wp, wt, g in self.oscillators:
                eps += wp**2 / (wt**2 - w**2 - 1j * g * w)
        return eps

    def _permittivity(self, wavelength):
        return self.permittivity_angular_frequency(2.0 * np.pi * C0 / wavelength)

    def permittivity_imaginary_frequency(self, xi):
        """Permittivity on the imaginary frequency axis, ``eps(i xi)`` [-].

        ``eps(i xi) = eps_inf + sum_j omega_p,j**2 / (omega_t,j**2 + xi**2 + gamma_j xi)``
        is real, >= ``eps_inf`` and decreasing in ``xi`` (as needed for the
        Matsubara sums of Casimir-Polder potentials); a Drude term
        (``omega_t = 0``) makes it diverge (``inf``) at ``xi = 0``.

        Parameters
        ----------
        xi : float or array_like of float, any shape, [rad/s]
            Imaginary angular frequency, finite, real and >= 0 (else ValueError).

        Returns
        -------
        float64 scalar or ndarray of float64, same shape as ``xi``, [-]
        """
        x = np.asarray(xi)
        if x.dtype.kind not in "iuf" or not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"xi must be finite, real and >= 0 [rad/s], got {xi!r}")
        x = x.astype(np.float64)
        eps = np.full(x.shape, self.eps_inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for wp, wt, g in self.oscillators:
                eps += wp**2 / (wt**2 + x**2 + g * x)
        return eps[()]


#: Two-oscillator silica model of Jakubec et al., eq. (35); see :func:`silica_drude_lorentz`.
SILICA_DRUDE_LORENTZ = DrudeLorentz(
    1.0, [Oscillator(1.75e14, 1.32e14, 4.28e13), Oscillator(2.96e16, 2.72e16, 8.09e15)],
    name="SiO2 (Drude-Lorentz, Casimir-Polder model)",
    reference=("C. Jakubec, P. Solano, U. Delic, K. Sinha, 'Fluctuation-induced forces on nanospheres in "
               "external fields', Phys. Rev. A 109, 052807 (2024), arXiv:2311.10496, eq. (35); parameters "
               "from ref. [41] of that paper"))


def silica_drude_lorentz() -> DrudeLorentz:
    """Silica Drude-Lorentz model used for thermal Casimir-Polder potentials.

    ``eps(omega) = 1 + sum_{j=1,2} omega_pj**2 / (omega_tj**2 - omega**2 - i gamma_j omega)`` with
    ``omega_p1 = 1.75e14``, ``omega_t1 = 1.32e14``, ``gamma_1 = 4.28e13``,
    ``omega_p2 = 2.96e16``, ``omega_t2 = 2.72e16``, ``gamma_2 = 8.09e15`` (all
    rad/s), exactly as eq. (35) of Jakubec et al., PRA 109, 052807 (2024), who
    take them from their ref. [41]. The paper labels them "Hz", but they are
    angular frequencies: the paper forms ``hbar omega_t2`` as an energy and
    compares it with Matsubara frequencies ``2 pi j k_B T / hbar``;
    ``omega_t1`` then lies in the infrared phonon band of silica (14 um); and
    the optical index is 1.48 (it would be 1.31 for cyclic frequencies).

    This is a fluctuation-force model: its static value ``eps(0) = 3.94`` and
    ``eps(i xi)`` are what matter for Casimir-Polder sums. At optical
    frequencies it is inaccurate: n(1064 nm) = 1.476 + 0.0079i, i.e. Re n is
    1.8 % above measured fused silica (1.4496, :func:`fused_silica`) and the
    tail of the broad UV oscillator adds spurious absorption (real silica:
    k ~ 1e-9). Do not use it for optical forces or heating.

    Examples
    --------
    >>> m = silica_drude_lorentz()
    >>> round(complex(m.index(1064e-9)).real, 3)
    1.476
    >>> round(float(m.permittivity_imaginary_frequency(0.0)), 3)
    3.942
    """
    return SILICA_DRUDE_LORENTZ


class Sellmeier(Material):
    """Lossless Sellmeier dispersion, ``n**2 = 1 + sum_i B_i wl**2 / (wl**2 - wl_i**2)``.

    Parameters
    ----------
    strengths : array_like of float, shape (m,), [-]
        Dimensionless coefficients ``B_i``.
    resonances : array_like of float, shape (m,), [m]
        Resonance wavelengths ``wl_i`` (``C_i = wl_i**2`` [m^2]).
    wavelength_range : (float, float), [m]
        Validity range of the formula; evaluation outside raises ValueError.
    name, reference : str
    """

    def __init__(self, strengths, resonances, wavelength_range, name: str, reference: str) -> None:
        super().__init__(name, reference)
        self.strengths = np.array(strengths, dtype=np.float64)
        self.resonances = np.array(resonances, dtype=np.float64)
        if self.strengths.shape != self.resonances.shape or self.strengths.ndim != 1:
            raise ValueError("Sellmeier strengths and resonances must be 1-D arrays of equal length")
        lo, hi = (float(v) for v in _wavelengths(wavelength_range))
        if not lo < hi:
            raise ValueError(f"Sellmeier.wavelength_range must be increasing, got {wavelength_range!r}")
        self.wavelength_range = (lo, hi)

    def _index(self, wavelength):
        _check_range(wavelength, self.wavelength_range, self.name)
        wl2 = wavelength[..., None] ** 2
        n2 = 1.0 + np.sum(self.strengths * wl2 / (wl2 - self.resonances**2), axis=-1)
        return np.sqrt(n2 + 0j)  # complex sqrt: Im n >= 0 even if n2 < 0 near a resonance

    def _permittivity(self, wavelength):
        return self._index(wavelength) ** 2


class Tabulated(Material):
    """Material given by tabulated ``n`` and ``k`` versus vacuum wavelength.

    ``n`` and ``k`` are interpolated separately as functions of wavelength,
    with piecewise-cubic Hermite interpolation (:class:`scipy.interpolate.PchipInterpolator`):
    it passes through the nodes, is C1 and never overshoots (on each interval it
    stays between the two node values), so ``k >= 0`` is preserved. Wavelengths
    outside the table raise ValueError: no extrapolation (a relative slack of
    1e-9 at the ends absorbs round-off).

    Parameters
    ----------
    wavelengths : array_like of float, shape (m,), [m]
        Strictly increasing vacuum wavelengths, m >= 2.
    n : array_like of float, shape (m,), [-]
        Real part of the refractive index, > 0.
    k : array_like of float, shape (m,), [-]
        Extinction coefficient, >= 0.
    name, reference : str

    Examples
    --------
    >>> Tabulated([1e-6, 2e-6], [1.5, 1.6], [0.0, 0.1], "toy", "none").index([1e-6, 2e-6])
    array([1.5+0.j , 1.6+0.1j])
    """

    def __init__(self, wavelengths, n, k, name: str, reference: str) -> None:
        super().__init__(name, reference)
        wl, n, k = _wavelengths(wavelengths), np.array(n, dtype=np.float64), np.array(k, dtype=np.float64)
        if wl.ndim != 1 or wl.size < 2 or n.shape != wl.shape or k.shape != wl.shape:
            raise ValueError(f"Tabulated needs 1-D wavelengths, n, k of equal length >= 2, "
                             f"got shapes {wl.shape}, {n.shape}, {k.shape}")
        if np.any(np.diff(wl) <= 0):
            raise ValueError("Tabulated.wavelengths must be strictly increasing")
        if not (np.all(np.isfinite(n) & (n > 0)) and np.all(np.isfinite(k) & (k >= 0))):
            raise ValueError("Tabulated needs finite n > 0 and finite k >= 0 (passive)")
        for arr in (wl, n, k):
            arr.setflags(write=False)
        self.wavelengths, self.n, self.k = wl, n, k
        self.wavelength_range = (float(wl[0]), float(wl[-1]))
        self.metadata: dict[str, str] = {}
        self._n_interp = PchipInterpolator(wl, n, extrapolate=False)
        self._k_interp = PchipInterpolator(wl, k, extrapolate=False)

    def _index(self, wavelength):
        _check_range(wavelength, self.wavelength_range, self.name)
        wl = np.clip(wavelength, *self.wavelength_range)
        return self._n_interp(wl) + 1j * np.maximum(self._k_interp(wl), 0.0)

    def _permittivity(self, wavelength):
        return self._index(wavelength) ** 2

    @classmethod
    def from_csv(cls, path) -> "Tabulated":
        """Read a cdsolve material table.

        Format: comment lines ``# key: value`` (``name`` and ``reference`` are
        required, repeated keys are joined, all kept in ``metadata``), then the
        column line ``wavelength_m,n,k``, then comma-separated rows of vacuum
        wavelength [m], n [-], k [-].

        Parameters
        ----------
        path : str, os.PathLike or importlib.resources.abc.Traversable
        """
        text = (path if hasattr(path, "read_text") else Path(path)).read_text(encoding="utf-8")
        meta: dict[str, str] = {}
        lines = text.splitlines() + [""]
        body = 0
        while lines[body].startswith("#"):
            key, sep, value = lines[body][1:].partition(":")
            if sep:
                meta[key.strip()] = (meta.get(key.strip(), "") + " " + value.strip()).strip()
            body += 1
        if lines[body].replace(" ", "") != "wavelength_m,n,k":
            raise ValueError(f"{path}: expected column line 'wavelength_m,n,k', got {lines[body]!r}")
        for key in ("name", "reference"):
            if not meta.get(key):
                raise ValueError(f"{path}: missing '# {key}: ...' header line")
        data = np.loadtxt(io.StringIO("\n".join(lines[body + 1:])), delimiter=",", ndmin=2)
        obj = cls(data[:, 0], data[:, 1], data[:, 2], meta["name"], meta["reference"])
        obj.metadata = meta
        return obj


@functools.lru_cache(maxsize=None)
def silicon() -> Tabulated:
    """Crystalline intrinsic silicon at 300 K, 250-1450 nm, 10 nm step (M. A. Green 2008).

    Loaded once from ``cdsolve/data/silicon_green2008.csv``, a digit-for-digit
    copy of the refractiveindex.info file ``main/Si/nk/Green-2008.yml``.

    Examples
    --------
    >>> n = complex(silicon().index(630e-9))  # a table node
    >>> n.real, n.imag
    (3.879, 0.016444)
    """
    return Tabulated.from_csv(_DATA.joinpath("silicon_green2008.csv"))


@functools.lru_cache(maxsize=None)
def fused_silica(tabulated: bool = False) -> Material:
    """Fused silica (SiO2 glass, 20 C), I. H. Malitson, J. Opt. Soc. Am. 55, 1205 (1965), 0.21-3.71 um.

    ``n**2 - 1 = 0.6961663 wl**2/(wl**2 - 0.0684043**2) + 0.4079426 wl**2/(wl**2 - 0.1162414**2)
    + 0.8974794 wl**2/(wl**2 - 9.896161**2)`` with ``wl`` in um; lossless (k = 0).

    Parameters
    ----------
    tabulated : bool
        False (default): the exact :class:`Sellmeier` formula. True: the
        shipped table ``cdsolve/data/fused_silica_malitson1965.csv`` generated
        from it (10 nm step) as a :class:`Tabulated`; its interpolation error
        is < 2e-5 in n (largest near 0.21 um), < 1e-9 above 0.5 um.

    Examples
    --------
    >>> round(complex(fused_silica().index(1064e-9)).real, 5)
    1.44963
    """
    if tabulated:
        return Tabulated.from_csv(_DATA.joinpath("fused_silica_malitson1965.csv"))
    return Sellmeier(strengths=[0.6961663, 0.4079426, 0.8974794],
                     resonances=[0.0684043e-6, 0.1162414e-6, 9.896161e-6],
                     wavelength_range=(0.21e-6, 3.71e-6), name="SiO2 (fused silica, Malitson 1965)",
                     reference="I. H. Malitson, 'Interspecimen comparison of the refractive index of fused "
                               "silica', J. Opt. Soc. Am. 55, 1205-1208 (1965), doi:10.1364/JOSA.55.001205")
