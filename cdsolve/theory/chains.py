r"""Non-Hermitian chains: Hatano-Nelson, long-range couplings, lattice sums, skin effect.

Pure functions on injected matrices: the full solver's ``cd.linearize(scene, dofs="z").dynamical_matrix``
[1/s^2], couplings ``C_jj' = dF_j/dz_j'`` [N/m] (``D = w0^2 + (diag(sum_j' C_jj') - C)/m``, PRA eq. 80b)
or a first-order (rotating-wave) matrix [rad/s].

Conventions
    * Sites ``j = 0 ... n-1``; couplings ``H[j, j+m] = c_fwd(m)``, ``H[j+m, j] = c_bwd(m)``, ``m >= 1``
      (for ``C``: force on ``j`` from the displacement of ``j + m``). Bloch function (``psi_j = e^{iqj}``,
      ``q`` [rad/site]): ``D(q) = onsite + sum_{m>=1} [c_fwd(m) e^{iqm} + c_bwd(m) e^{-iqm}]``.
    * Winding ``W(E) = (1/2 pi) oint d arg(D(q) - E)``, ``q: 0 -> 2 pi``. Hatano-Nelson (``H[j+1, j] = t_R``,
      ``H[j, j+1] = t_L``, ``D(q) = t_L e^{iq} + t_R e^{-iq}``): ``W(0) = -1`` for ``t_R > t_L`` (right
      eigenvectors at the last sites), ``+1`` for ``t_L > t_R`` (first sites), 0 off the reciprocal
      chain's segment. ``W != 0`` at the open-chain eigenvalues signals the skin effect (finite range; the
      infinite-range far-field loop below is degenerate, ``W = 0``: see ``validation/skin_effect.py``).

Far-field chain model (:func:`far_field_kernels`): particles at ``x_j = j d`` in parallel tweezers
with optical phases ``phi_j = phi_0 - j phi`` (phase gradient ``phi`` per site), ``kd >> 1``, real
polarizability. The two-tweezer couplings of Rudolph et al., PRA 110, 063507 (2024), eq. (83)
(``C_12 = C cos(kd - phi)``, ``C_21 = C cos(kd + phi)``, ``C ~ 1/d``) applied to every pair, multiple
scattering neglected: ``c_fwd(m) = S cos(m (kd - phi))/(m kd)``, ``c_bwd(m) = S cos(m (kd + phi))/(m kd)``
with ``S = C(d) k d`` [N/m] (``d``-independent by PRA eq. 84). For ``phi = pi/4``, ``kd = 2 pi n + pi/4``
(PRA Sec. IV.B.5): ``c_fwd(m) = S/(m kd) > 0`` for all ``m``, ``c_bwd(m) = S cos(m pi/2)/(m kd)``
= 0, -, 0, +, ... alternates in sign: no chain is unidirectional.

Lattice sums ``sum_{m>=1} e^{i theta m}/m^s = Li_s(e^{i theta})`` (s = 1, 2, 3): :func:`polylog_unit`.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Mapping

import numpy as np
import scipy.linalg
from scipy.special import zeta

from ..optics._checks import real_number

__all__ = [
    "PowerKernel", "Spectra", "Localization", "SkinAnalysis", "Amplification", "hatano_nelson",
    "hatano_nelson_open_spectrum", "hatano_nelson_localization_length", "far_field_kernels", "chain_couplings",
    "truncate", "bulk_couplings", "polylog_unit", "lattice_sum", "partial_lattice_sum", "bloch_function",
    "winding_number", "open_vs_periodic_spectra", "localization", "skin_analysis", "localization_scaling",
    "greens_function", "amplification",
]  # fmt: skip

_EPS, _2PI, _ZETA3 = np.finfo(float).eps, 2.0 * np.pi, float(zeta(3))
# Clausen series, |u| <= pi: a_k = |B_2k|/(2k (2k+1)!) = 2 zeta(2k)/((2 pi)^2k 2k (2k+1)); terms < 4^-k
_KS, _CHUNK = np.arange(1, 31), 1 << 20  # series terms; complex entries per block of the brute-force sums
_CL_A = 2.0 * zeta(2 * _KS) / (_2PI ** (2 * _KS) * 2 * _KS * (2 * _KS + 1))
_CL_B = _CL_A / (2 * _KS + 2)


# ----------------------------------------------------------------------------- checks
def _int(name: str, value, minimum: int, maximum: float = np.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")
    return int(value)


def _complex(name: str, value) -> complex:
    try:
        v = complex(value)
    except (TypeError, ValueError):
        v = complex("nan")
    if isinstance(value, (bool, np.bool_)) or not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _matrix(name: str, value) -> np.ndarray:
    try:
        a = np.asarray(value)
        ok = a.ndim == 2 and a.shape[0] == a.shape[1] and a.size > 0 and np.issubdtype(a.dtype, np.number)
    except (TypeError, ValueError):
        ok = False
    if not ok or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite, non-empty square (n, n) array, got shape {np.shape(value)}")
    return a.astype(complex if np.iscomplexobj(a) else float)


def _angles(name: str, value) -> np.ndarray:
    a = np.asarray(value)
    if np.iscomplexobj(a) or not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite real angles [rad], got {value!r}")
    return a.astype(float)


class _Record:  # frozen result records: array fields are made read-only
    def __post_init__(self):
        for f in dataclasses.fields(self):
            if isinstance(getattr(self, f.name), np.ndarray):
                getattr(self, f.name).setflags(write=False)


# ----------------------------------------------------------------------------- kernels
@dataclasses.dataclass(frozen=True)
class PowerKernel:
    """Coupling function ``c(m) = sum_t a_t exp(i beta_t m) / m**s_t`` of the site separation ``m >= 1``.

    ``kernel(m)``: ``c(m)``, complex, shape of ``m``; ``kernel.lattice(q)``: closed form
    ``sum_{m>=1} c(m) e^{iqm} = sum_t a_t Li_{s_t}(e^{i(beta_t + q)})``.

    Parameters
    ----------
    amplitudes : sequence of complex, shape (T,) [unit of the matrix]
    phases : sequence of float, shape (T,) [rad/site]   ``beta_t``, e.g. ``kd -+ phi``
    powers : sequence of int, shape (T,)                1 (far field ``1/(kd m)``), 2, 3 (near field)

    Examples
    --------
    >>> c = PowerKernel.cosine(2.0, np.pi)          # 2 cos(pi m)/m = 2 (-1)^m / m
    >>> np.round(c([1, 2, 4]).real, 12).tolist(), float(np.round(c.lattice(0.0).real / np.log(2), 12))
    ([-2.0, 1.0, 0.5], -2.0)
    """
    amplitudes: tuple
    phases: tuple
    powers: tuple

    def __post_init__(self):
        a, b, s = (np.atleast_1d(np.asarray(x)) for x in (self.amplitudes, self.phases, self.powers))
        if not (a.ndim == b.ndim == s.ndim == 1 and a.size == b.size == s.size > 0):
            raise ValueError(f"amplitudes, phases, powers must be 1D, one length >= 1, got {a.shape, b.shape, s.shape}")
        if not all(isinstance(v, numbers.Integral) and v in (1, 2, 3) for v in s.tolist()):
            raise ValueError(f"powers must be integers in {{1, 2, 3}}, got {s.tolist()!r}")
        object.__setattr__(self, "amplitudes", tuple(_complex(f"amplitudes[{i}]", v) for i, v in enumerate(a)))
        object.__setattr__(self, "phases", tuple(real_number(f"phases[{i}]", v) for i, v in enumerate(b)))
        object.__setattr__(self, "powers", tuple(int(v) for v in s))

    @classmethod
    def cosine(cls, amplitude, phase, power: int = 1) -> "PowerKernel":
        """``amplitude cos(phase m) / m**power`` (two exponential terms)."""
        return cls((amplitude / 2, amplitude / 2), (phase, -phase), (power, power))

    def __call__(self, m) -> np.ndarray:
        m = np.asarray(m, dtype=float)
        if not np.all(np.isfinite(m) & (m >= 1)):
            raise ValueError("site separations m must be finite and >= 1")
        return sum(a * np.exp(1j * b * m) / m**s for a, b, s in zip(self.amplitudes, self.phases, self.powers))

    def lattice(self, q) -> np.ndarray:
        """``sum_{m>=1} c(m) e^{iqm}`` in closed form, shape of ``q`` [rad/site] (see :func:`polylog_unit`)."""
        q = _angles("q", q)
        return sum(_times(a, polylog_unit(s, b + q)) for a, b, s in zip(self.amplitudes, self.phases, self.powers))


def far_field_kernels(strength, kd, phase_gradient) -> tuple[PowerKernel, PowerKernel]:
    """``(c_fwd, c_bwd) = (S cos(m (kd - phi))/(m kd), S cos(m (kd + phi))/(m kd))``: far-field chain.

    ``strength`` ``S = C(d) k d`` [N/m or matrix unit] (PRA eq. 84 pair constant times ``kd``); ``kd > 0``
    wavenumber times spacing; ``phase_gradient`` ``phi = phi_j - phi_{j+1}`` [rad] (module docstring).

    Examples
    --------
    >>> f, b = far_field_kernels(2.25 * np.pi, 2.25 * np.pi, np.pi / 4)   # S = kd, kd = 2 pi + pi/4
    >>> np.round(f([1, 2, 3, 4]).real, 9).tolist(), np.round(b([1, 2, 3, 4]).real, 9).tolist()
    ([1.0, 0.5, 0.333333333, 0.25], [0.0, -0.5, -0.0, 0.25])
    """
    s, kd = real_number("strength", strength), real_number("kd", kd, positive=True)
    phi = real_number("phase_gradient", phase_gradient)
    return PowerKernel.cosine(s / kd, kd - phi), PowerKernel.cosine(s / kd, kd + phi)


def _kernel_values(kernel, m_max: int, name: str) -> np.ndarray:
    """``c(1 ... m_max)`` (complex) of a PowerKernel / callable ``c(m)`` / array ``c[m-1]`` (zero-padded)."""
    try:
        if callable(kernel):
            v = np.asarray(kernel(np.arange(1, m_max + 1)) if m_max else [], dtype=complex)
        else:
            a = np.asarray(kernel, dtype=complex)
            v = np.concatenate([a[:m_max], np.zeros(max(0, m_max - a.size))]) if a.ndim == 1 else a
    except (TypeError, ValueError):
        v = None
    if v is None or v.shape != (m_max,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a PowerKernel, a callable c(m) or a 1D array (c(1), c(2), ...) giving "
                         f"{m_max} finite couplings, got {'an invalid kernel' if v is None else f'shape {v.shape}'}")
    return v


# ----------------------------------------------------------------------------- matrices
def chain_couplings(forward, n, backward=None, onsite=0.0, periodic: bool = False) -> np.ndarray:
    """Translation-invariant chain ``H[j, j+m] = forward(m)``, ``H[j+m, j] = backward(m)``, shape (n, n).

    Parameters
    ----------
    forward, backward : PowerKernel, callable ``c(m)`` or array_like ``(c(1), c(2), ...)``
        ``backward=None``: equal to ``forward`` (reciprocal). Arrays are zero beyond their length.
    n : int >= 1;  onsite : complex (diagonal)
    periodic : bool   ring ``H[j, (j+m) % n] = forward(m) + backward(n - m)`` (each pair coupled along
        both arcs); its eigenvalues are the range-``(n-1)`` :func:`bloch_function` at ``q = 2 pi k/n``

    Returns
    -------
    ndarray, shape (n, n)   Toeplitz for the open chain; real if the couplings are (to 1e-13 relative)

    Examples
    --------
    >>> chain_couplings([1.0, 0.5], 3, backward=[2.0], onsite=3.0).tolist()
    [[3.0, 1.0, 0.5], [2.0, 3.0, 1.0], [0.0, 2.0, 3.0]]
    """
    n = _int("n", n, 1)
    f, diag = _kernel_values(forward, n - 1, "forward"), _complex("onsite", onsite)
    b = f if backward is None else _kernel_values(backward, n - 1, "backward")
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]  # k - j
    if periodic:
        h = np.concatenate([[diag], f + b[::-1]])[offset % n]  # row[m] = f(m) + b(n - m)
    else:
        h = np.concatenate([b[::-1], [diag], f])[offset + n - 1]
    return h.real.copy() if np.all(np.abs(h.imag) <= 1e-13 * np.abs(h).max(initial=1e-300)) else h


def hatano_nelson(n, t_left, t_right, onsite=0.0, periodic: bool = False) -> np.ndarray:
    """Hatano-Nelson chain ``H[j+1, j] = t_right``, ``H[j, j+1] = t_left``, shape (n, n).

    ``periodic`` adds ``H[0, n-1] = t_right``, ``H[n-1, 0] = t_left`` (:func:`chain_couplings`).

    Examples
    --------
    >>> hatano_nelson(3, 1.0, 2.0).tolist()
    [[0.0, 1.0, 0.0], [2.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    """
    return chain_couplings([_complex("t_left", t_left)], n, [_complex("t_right", t_right)], onsite, periodic)


def hatano_nelson_open_spectrum(n, t_left, t_right, onsite=0.0) -> np.ndarray:
    """Textbook open spectrum ``onsite + 2 sqrt(t_L t_R) cos(m pi/(n+1))``, ``m = 1 ... n``: shape (n,), complex.

    Examples
    --------
    >>> np.round(hatano_nelson_open_spectrum(3, 1.0, 4.0).real, 12).tolist()
    [2.828427124746, 0.0, -2.828427124746]
    """
    n = _int("n", n, 1)
    tl, tr, e0 = (_complex(k, v) for k, v in (("t_left", t_left), ("t_right", t_right), ("onsite", onsite)))
    return e0 + 2.0 * np.sqrt(complex(tl * tr)) * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))


def hatano_nelson_localization_length(t_left, t_right) -> float:
    """Signed ``xi = 1/ln sqrt(t_R/t_L)`` [sites] of the open Hatano-Nelson chain (``t_R/t_L > 0``).

    Right eigenvectors ``psi_j = (t_R/t_L)^(j/2) sin(m pi (j+1)/(n+1))``, ``|psi_j| ~ e^{j/xi}``:
    ``xi > 0`` last sites, ``< 0`` first sites, ``inf`` reciprocal; left eigenvectors ``~ e^{-j/xi}``.

    Examples
    --------
    >>> round(hatano_nelson_localization_length(1.0, np.e ** 2), 12)
    1.0
    """
    tl, tr = real_number("t_left", t_left), real_number("t_right", t_right)
    if tl == 0 or tr / tl <= 0:
        raise ValueError(f"t_right / t_left must be > 0, got t_left={t_left!r}, t_right={t_right!r}")
    return float(np.inf) if tr == tl else float(2.0 / np.log(tr / tl))


def truncate(matrix, k_neighbours, periodic: bool = False) -> np.ndarray:
    """Zero all couplings more than ``k_neighbours`` (int >= 0) sites apart (ring distance if ``periodic``)."""
    a, k = _matrix("matrix", matrix), _int("k_neighbours", k_neighbours, 0)
    d = np.abs(np.arange(len(a))[None, :] - np.arange(len(a))[:, None])
    return np.where((np.minimum(d, len(a) - d) if periodic else d) <= k, a, 0.0)


def bulk_couplings(matrix, site=None) -> tuple[complex, np.ndarray, np.ndarray]:
    """``(onsite, forward, backward)`` seen from one bulk site (default ``n // 2``) of an injected chain.

    ``forward[m-1] = H[site, site+m]``, ``backward[m-1] = H[site, site-m]`` (``= c_bwd(m)`` if
    translation invariant), shapes (M,), ``M = min(site, n-1-site)``: inputs of :func:`bloch_function`.
    """
    a = _matrix("matrix", matrix)
    n, j = a.shape[0], a.shape[0] // 2 if site is None else _int("site", site, 0, a.shape[0] - 1)
    m = np.arange(1, min(j, n - 1 - j) + 1)
    return complex(a[j, j]), a[j, j + m], a[j, j - m]


# ----------------------------------------------------------------------------- lattice sums
def polylog_unit(s, theta) -> np.ndarray:
    """``Li_s(e^{i theta}) = sum_{m>=1} e^{i theta m}/m^s``, ``s`` in {1, 2, 3}, ``theta`` [rad]: closed form.

    With ``t = theta mod 2 pi`` in ``[0, 2 pi)`` and ``u`` = ``t`` wrapped to ``(-pi, pi]``:
    ``Li_1 = -ln|2 sin(u/2)| + i (pi - t)/2``, ``Li_2 = pi^2/6 - pi t/2 + t^2/4 + i Cl_2(u)``,
    ``Li_3 = Cl_3(u) + i (pi^2 t/6 - pi t^2/4 + t^3/12)``; Clausen functions from their Bernoulli series
    in ``u`` (30 terms, < 1e-16). Complex, shape of ``theta``. ``Li_1`` diverges like ``-ln|theta|`` at
    ``theta = 0 mod 2 pi`` (partial sums like ``ln M``), ``Im Li_1`` jumps between ``+-pi/2``: ``inf + 0j``
    if ``theta mod 2 pi == 0`` exactly, large finite (~ 33) for a floating-point multiple of ``2 pi``.

    Examples
    --------
    >>> complex(np.round(polylog_unit(1, np.pi), 12)), complex(np.round(polylog_unit(2, 0.0) * 6 / np.pi**2, 12))
    ((-0.69314718056+0j), (1+0j))
    """
    if isinstance(s, (bool, np.bool_)) or s not in (1, 2, 3):
        raise ValueError(f"s must be 1, 2 or 3, got {s!r}")
    u = _angles("theta", theta) - _2PI * np.round(np.asarray(theta, dtype=float) / _2PI)  # exact for |theta| < pi
    t = np.where(u < 0, u + _2PI, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        if s == 1:
            return -np.log(2.0 * np.abs(np.sin(0.5 * u))) + 1j * np.where(t == 0, 0.0, 0.5 * (np.pi - t))
        ulog = np.where(u == 0, 0.0, u * np.log(np.abs(u)))
    if s == 2:  # Cl_2(u) = sum sin(m u)/m^2 = u - u ln|u| + sum_k a_k u^(2k+1)
        cl2 = u - ulog + u**3 * np.polynomial.polynomial.polyval(u * u, _CL_A)
        return np.pi**2 / 6 - 0.5 * np.pi * t + 0.25 * t * t + 1j * cl2
    # Cl_3(u) = sum cos(m u)/m^3 = zeta(3) - int_0^u Cl_2
    cl3 = _ZETA3 - 0.75 * u * u + 0.5 * u * ulog - u**4 * np.polynomial.polynomial.polyval(u * u, _CL_B)
    return cl3 + 1j * (np.pi**2 * t / 6 - 0.25 * np.pi * t * t + t**3 / 12)


def _times(a: complex, li: np.ndarray) -> np.ndarray:
    """``a Li`` with ``a (inf + 0j)`` = infinity in the direction of ``a`` (not ``inf + nan j``)."""
    inf = complex(a.real and np.copysign(np.inf, a.real), a.imag and np.copysign(np.inf, a.imag))
    return np.where(np.isfinite(li), a * np.where(np.isfinite(li), li, 0), inf)


def _coeffs(coeffs_by_power) -> dict:
    try:
        items = dict(coeffs_by_power) if isinstance(coeffs_by_power, Mapping) else \
            {i + 1: c for i, c in enumerate(np.atleast_1d(np.asarray(coeffs_by_power)).tolist())}
    except (TypeError, ValueError):
        items = {}
    if not items or any(k not in (1, 2, 3) for k in items):
        raise ValueError(f"coeffs_by_power must map powers s in {{1, 2, 3}} to coefficients, got {coeffs_by_power!r}")
    return {k: _complex(f"coeffs_by_power[{k}]", v) for k, v in items.items() if v != 0}


def lattice_sum(coeffs_by_power, theta) -> np.ndarray:
    """``sum_{m>=1} e^{i theta m} sum_s a_s/m^s = sum_s a_s Li_s(e^{i theta})``: closed form, shape of ``theta``.

    ``coeffs_by_power``: mapping ``{s: a_s}`` or sequence ``(a_1, a_2, a_3)``, complex, ``s`` in {1, 2, 3};
    ``theta`` [rad]: phase per site (e.g. ``kd -+ phi + q``), singular points as in :func:`polylog_unit`.

    Examples
    --------
    >>> complex(np.round(lattice_sum({1: 1.0, 2: 1.0}, np.pi), 12))   # -ln 2 - pi^2/12
    (-1.515614213984+0j)
    """
    c, th = _coeffs(coeffs_by_power), _angles("theta", theta)
    return sum((_times(a, polylog_unit(s, th)) for s, a in c.items()), np.zeros(th.shape, complex))


def partial_lattice_sum(coeffs_by_power, theta, M, tail_order: int = 0) -> np.ndarray:
    """Brute-force ``sum_{m=1}^{M} e^{i theta m} f(m)``, ``f = sum_s a_s/m^s``, plus a tail estimate.

    Independent check of :func:`lattice_sum` (same arguments; integers ``M >= 1``, ``tail_order >= 0``;
    complex, shape of ``theta``). Raw remainder ``~ |f(M)|/|1 - e^{i theta}|`` (``1/M`` for ``s = 1``);
    ``tail_order = P`` adds ``P`` steps of summation by parts (Abel/Euler: averaging over the oscillation),
    ``z = e^{i theta}``, forward differences ``Delta``: ``sum_{m>M} z^m f(m) = z^(M+1)/(1-z) sum_{p<P}
    (z/(1-z))^p Delta^p f(M+1) + O(M^-(s+P) |1-z|^-(P+1))``. At ``|1-z| < 1e-12`` (``theta = 0 mod 2 pi``)
    the Euler-Maclaurin tail ``M^(1-s)/(s-1) - M^-s/2 + s M^-(s+1)/12`` is used (``inf`` for ``s = 1``, whose
    raw sum grows like ``ln M + gamma``). Round-off ``~ eps |theta| M`` from the phases ``theta m``.

    Examples
    --------
    >>> exact = lattice_sum({1: 1.0}, 2.0)
    >>> [f"{abs(partial_lattice_sum({1: 1.0}, 2.0, 1000, p) - exact):.0e}" for p in (0, 1, 2)]
    ['6e-04', '4e-07', '4e-10']
    """
    c, th, M, P = _coeffs(coeffs_by_power), _angles("theta", theta), _int("M", M, 1), _int("tail_order", tail_order, 0)
    flat = th.reshape(-1)
    f = lambda m: sum(a / np.asarray(m, float) ** s for s, a in c.items()) + 0j  # noqa: E731
    out = np.zeros(flat.size, complex)
    step = max(1, _CHUNK // max(flat.size, 1))
    for start in range(1, M + 1, step):
        m = np.arange(start, min(start + step, M + 1), dtype=float)
        out += np.exp(1j * np.outer(flat, m)) @ f(m)
    if P:
        z = np.exp(1j * flat)
        at_one = np.abs(1.0 - z) < 1e-12
        one_z = np.where(at_one, 1.0, 1.0 - z)
        diffs = [np.diff(f(np.arange(M + 1, M + P + 1)), n=p)[0] for p in range(P)]
        tail = np.exp(1j * flat * (M + 1)) / one_z * sum(d * (z / one_z) ** p for p, d in enumerate(diffs))
        em = sum(_times(a, np.inf if s == 1 else M ** (1.0 - s) / (s - 1) - 0.5 * M**-s + s * M ** (-s - 1.0) / 12)
                 for s, a in c.items())
        out += np.where(at_one, em, tail)
    return out.reshape(th.shape)


def bloch_function(forward, q, backward=None, onsite=0.0, m_max=None) -> np.ndarray:
    """``D(q) = onsite + sum_{m>=1} [c_fwd(m) e^{iqm} + c_bwd(m) e^{-iqm}]``, complex, shape of ``q``.

    ``forward``, ``backward`` as in :func:`chain_couplings`: a PowerKernel is summed to infinity in
    closed form (:func:`lattice_sum`), an array over its length; ``m_max`` (int, required for a
    callable) truncates all sums at ``m <= m_max``. ``q`` [rad/site]; ``onsite`` complex.

    Examples
    --------
    >>> np.round(bloch_function([1.0], [0.0, np.pi / 2], backward=[2.0]), 12).tolist()   # e^{iq} + 2 e^{-iq}
    [(3+0j), -1j]
    """
    q, mm = _angles("q", q), None if m_max is None else _int("m_max", m_max, 0)
    out = np.full(q.shape, _complex("onsite", onsite), complex)
    for kernel, sign, name in ((forward, 1, "forward"), (forward if backward is None else backward, -1, "backward")):
        if isinstance(kernel, PowerKernel) and mm is None:
            out = out + kernel.lattice(sign * q)
            continue
        if mm is None and callable(kernel):
            raise ValueError(f"m_max is required to sum the callable {name}(m)")
        vals = _kernel_values(kernel, mm if mm is not None else np.asarray(kernel).size, name)
        flat, m, step = sign * q.reshape(-1), np.arange(1, vals.size + 1), max(1, _CHUNK // max(vals.size, 1))
        part = [np.exp(1j * np.outer(flat[i : i + step], m)) @ vals for i in range(0, flat.size, step)]
        out = out + (np.concatenate(part) if part else np.zeros(0)).reshape(q.shape)
    return out


# ----------------------------------------------------------------------------- winding, spectra
def _winding(values: np.ndarray, refs: np.ndarray):
    """Winding numbers and largest argument step of a closed sampled loop around each reference."""
    v = values[np.isfinite(values)]
    w, step = np.zeros(refs.size, int), np.full(refs.size, np.inf)
    for i in range(0, refs.size if v.size >= 3 else 0, 256):
        d = v[None, :] - refs[i : i + 256, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            dphi = np.angle(np.roll(d, -1, axis=1) / d)
        w[i : i + 256] = np.rint(dphi.sum(axis=1) / _2PI).astype(int)
        step[i : i + 256] = np.where(np.any(d == 0, axis=1), np.inf, np.abs(dphi).max(axis=1))
    return w, step


def winding_number(curve, reference=0.0, *, n_q: int = 4096, max_step: float = np.pi / 3,
                   max_points: int = 1 << 16, undefined=None):
    """Spectral winding number ``W(E) = (1/2 pi) oint d arg(D(q) - E)``, ``q: 0 -> 2 pi``: int(s).

    Argument principle: the wrapped increments ``arg((D_{k+1} - E)/(D_k - E))`` around the closed loop
    sum to an exact multiple of ``2 pi``, accepted only if all are below ``max_step`` [rad] (no ambiguous
    wrap). A callable is sampled at ``q_k = 2 pi (k + 1/2)/n_q``, doubling ``n_q`` for failing references
    up to ``max_points``. Non-finite samples are dropped (at a log singularity of a lattice sum
    ``D -> infinity`` in a fixed direction: the argument stays continuous).

    Parameters
    ----------
    curve : callable ``D(q)`` (vectorized) or array_like (n_q,), complex   one closed loop in ``q`` order
    reference : complex or array_like [unit of D]   the result has its shape
    undefined : int, optional   result for references on (or too close to) the curve; None: ValueError

    Examples
    --------
    >>> hn = lambda tl, tr: (lambda q: tl * np.exp(1j * q) + tr * np.exp(-1j * q))
    >>> winding_number(hn(1.0, 2.0)), winding_number(hn(2.0, 1.0)), winding_number(hn(2.0, 1.0), 5.0)
    (-1, 1, 0)
    """
    ref, n = np.asarray(reference, dtype=complex), _int("n_q", n_q, 3)
    flat = ref.reshape(-1)
    if callable(curve):
        w, step, todo = np.zeros(flat.size, int), np.full(flat.size, np.inf), np.arange(flat.size)
        while todo.size and n <= max(max_points, n_q):
            vals = np.asarray(curve(_2PI * (np.arange(n) + 0.5) / n), dtype=complex).reshape(-1)
            w[todo], step[todo] = _winding(vals, flat[todo])
            todo, n = todo[step[todo] > max_step], 2 * n
    else:
        vals = np.asarray(curve, dtype=complex)
        if vals.ndim != 1 or vals.size < 3:
            raise ValueError(f"curve must be a callable or a 1D array of >= 3 samples, got shape {vals.shape}")
        w, step = _winding(vals, flat)
    if np.any(bad := step > max_step) and undefined is None:
        raise ValueError(f"reference {flat[bad][0]!r} lies on or too close to the curve (argument step "
                         f"{step[bad][0]:.3g} rad > max_step): winding number undefined")
    w = np.where(bad, 0 if undefined is None else int(undefined), w)
    return int(w[0]) if ref.ndim == 0 else w.reshape(ref.shape)


@dataclasses.dataclass(frozen=True)
class Spectra(_Record):
    """Open vs periodic spectra (:func:`open_vs_periodic_spectra`).

    Attributes
    ----------
    open : ndarray, shape (n,), complex        open-chain eigenvalues, sorted by (real, imag)
    periodic : ndarray, shape (n_p,), complex  eigenvalues of ``periodic_matrix``, else ``D(2 pi k/n)``
    q, bloch : ndarray, shape (n_q,)           ``q = 2 pi (k + 1/2)/n_q`` [rad/site] and ``D(q)``
    winding : ndarray, shape (n,), int         ``W`` of the Bloch loop around each open eigenvalue
    on_curve : ndarray, shape (n,), bool       eigenvalue on the loop: ``W`` undefined, set to 0
    """
    open: np.ndarray
    periodic: np.ndarray
    q: np.ndarray
    bloch: np.ndarray
    winding: np.ndarray
    on_curve: np.ndarray


def open_vs_periodic_spectra(open_matrix, bloch=None, periodic_matrix=None, *, n_q: int = 2048) -> Spectra:
    """Open-chain spectrum, periodic spectrum and the spectral winding around the open eigenvalues: Spectra.

    ``open_matrix`` (n, n): any (injected) open chain. ``bloch``: callable ``D(q)``, default the truncated
    sum over the :func:`bulk_couplings` of ``open_matrix`` (pass e.g. ``lambda q: bloch_function(f, q, b)``
    for closed-form infinite lattice sums). ``periodic_matrix`` (n_p, n_p), optional. ``n_q``: grid size.

    Examples
    --------
    >>> sp = open_vs_periodic_spectra(hatano_nelson(20, 1.0, 2.0))
    >>> sorted(set(sp.winding.tolist())), bool(np.allclose(sp.open.imag, 0, atol=1e-9))
    ([-1], True)
    """
    a = _matrix("open_matrix", open_matrix)
    if bloch is None:
        e0, f, b = bulk_couplings(a)
        bloch = lambda q: bloch_function(f, q, b, e0)  # noqa: E731
    elif not callable(bloch):
        raise ValueError(f"bloch must be a callable D(q) or None, got {type(bloch).__name__}")
    srt = lambda x: np.sort_complex(scipy.linalg.eigvals(x).astype(complex))  # noqa: E731
    lam, q, flag = srt(a), _2PI * (np.arange(_int("n_q", n_q, 3)) + 0.5) / n_q, np.iinfo(int).min
    per = srt(_matrix("periodic_matrix", periodic_matrix)) if periodic_matrix is not None else \
        np.asarray(bloch(_2PI * np.arange(len(a)) / len(a)), dtype=complex)
    w = winding_number(bloch, lam, n_q=n_q, undefined=flag)
    return Spectra(lam, per, q, np.asarray(bloch(q), dtype=complex), np.where(w == flag, 0, w), w == flag)


# ----------------------------------------------------------------------------- localization
@dataclasses.dataclass(frozen=True)
class Localization(_Record):
    """Localization of k vectors on n sites (:func:`localization`); arrays shape (k,).

    Attributes
    ----------
    edge_first, edge_last : float    fraction of ``|psi|^2`` on the first / last ``ceil(f n)`` sites
    ipr : float                      ``sum |psi|^4/(sum |psi|^2)^2``: ``~1/n`` extended, 1 on one site
    inverse_length : float [1/site]  slope ``kappa`` of ``ln|psi_j| ~ a + kappa j``; > 0: last sites
    length : float [sites]           ``1/|kappa|``;  fit_rms : float [nepers] rms fit residual
    edge_fraction : float            ``f``
    """
    edge_first: np.ndarray
    edge_last: np.ndarray
    ipr: np.ndarray
    inverse_length: np.ndarray
    length: np.ndarray
    fit_rms: np.ndarray
    edge_fraction: float


def localization(vectors, edge_fraction: float = 0.1, floor: float = 1e-10, dip: float = 1e-3) -> Localization:
    """Edge weights, inverse participation ratio and fitted localization length of chain vectors.

    Parameters
    ----------
    vectors : array_like, shape (n,) or (n, k), complex   columns on the sites (any norm), n >= 2
    edge_fraction : float in (0, 0.5]
    floor, dip : float in [0, 1)   the unweighted least-squares fit of ``ln|psi_j|`` vs ``j`` skips sites
        below ``floor max|psi|`` (eigensolver round-off) and nodes ``|psi_j| < dip sqrt(|psi_{j-1}| |psi_{j+1}|)``;
        both rules are mirror symmetric for Hatano-Nelson modes (``ln|sin(m pi (j+1)/(n+1))|`` is
        symmetric), whose fitted slope is then exactly ``1/xi``

    Examples
    --------
    >>> loc = localization(np.exp(0.5 * np.arange(20)))
    >>> round(float(loc.inverse_length[0]), 12), round(float(loc.edge_last[0]), 3)
    (0.5, 0.865)
    """
    v = np.asarray(vectors)
    v = v[:, None] if v.ndim == 1 else v
    if v.ndim != 2 or v.shape[0] < 2 or v.shape[1] == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"vectors must be a finite (n,) or (n, k) array with n >= 2, got shape {np.shape(vectors)}")
    frac = real_number("edge_fraction", edge_fraction)
    if not 0 < frac <= 0.5:
        raise ValueError(f"edge_fraction must be in (0, 0.5], got {edge_fraction!r}")
    for name, val in (("floor", floor), ("dip", dip)):
        if not 0 <= real_number(name, val) < 1:
            raise ValueError(f"{name} must be in [0, 1), got {val!r}")
    n, p = v.shape[0], np.abs(v) ** 2
    if np.any(p.sum(axis=0) == 0):
        raise ValueError("vectors must not contain zero columns")
    p = p / p.sum(axis=0)
    ne, amp = max(1, int(np.ceil(frac * n - 1e-9))), np.sqrt(p)
    keep = amp > floor * amp.max(axis=0)
    keep[1:-1] &= amp[1:-1] >= dip * np.sqrt(amp[:-2] * amp[2:])
    w, y, x = keep.astype(float), np.log(np.where(keep, amp, 1.0)), np.arange(n, dtype=float)[:, None]
    sw, sx, sy, sxx, sxy = w.sum(0), (w * x).sum(0), (w * y).sum(0), (w * x * x).sum(0), (w * x * y).sum(0)
    den = sw * sxx - sx**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(den > 0, (sw * sxy - sx * sy) / den, np.nan)
        rms = np.sqrt((w * (y - (sy - kappa * sx) / sw - kappa * x) ** 2).sum(0) / sw)
        length = np.where(kappa == 0, np.inf, 1.0 / np.abs(kappa))
    return Localization(p[:ne].sum(0), p[-ne:].sum(0), (p**2).sum(0), kappa, length, rms, float(frac))


@dataclasses.dataclass(frozen=True)
class SkinAnalysis(_Record):
    """Eigen-decomposition and localization of a chain matrix (:func:`skin_analysis`).

    Attributes
    ----------
    eigenvalues : ndarray, shape (n,), complex   sorted by (real, imag)
    right, left : Localization                   of ``H r = lam r`` and ``l^H H = lam l^H`` vectors
    petermann : ndarray, shape (n,)              ``|l|^2 |r|^2/|l^H r|^2 >= 1``
    error_bound : ndarray, shape (n,)            ``eps ||H||_F sqrt(petermann)``: first-order eigenvalue
        error; if large the computed spectrum is pseudospectral (Hatano-Nelson: ``(t_R/t_L)^(n/2) >~ 1/eps``)
    """
    eigenvalues: np.ndarray
    right: Localization
    left: Localization
    petermann: np.ndarray
    error_bound: np.ndarray


def skin_analysis(matrix, edge_fraction: float = 0.1, floor: float = 1e-10) -> SkinAnalysis:
    """Spectrum, right/left eigenvector localization and conditioning of an open chain, shape (n, n).

    One ``scipy.linalg.eig(left=True, right=True)`` (LAPACK geev, balanced), ``O(n^3)``: ~3 s for n = 1000
    on one core; ``edge_fraction``, ``floor`` as in :func:`localization`. N dependence: :func:`localization_scaling`.

    Examples
    --------
    >>> sa = skin_analysis(hatano_nelson(30, 1.0, 1.5))
    >>> sa.right.inverse_length.min() > 0.2027 and bool(np.all(sa.left.edge_first > sa.left.edge_last))
    True
    """
    a = _matrix("matrix", matrix)
    lam, vl, vr = scipy.linalg.eig(a, left=True, right=True)
    order = np.lexsort((lam.imag, lam.real))
    lam, vl, vr = lam[order].astype(complex), vl[:, order], vr[:, order]
    overlap = np.abs(np.sum(vl.conj() * vr, axis=0)) ** 2
    with np.errstate(divide="ignore"):
        pet = np.maximum(np.sum(np.abs(vl) ** 2, 0) * np.sum(np.abs(vr) ** 2, 0) / overlap, 1.0)
    bound = _EPS * np.linalg.norm(a) * np.sqrt(pet)
    return SkinAnalysis(lam, localization(vr, edge_fraction, floor), localization(vl, edge_fraction, floor), pet, bound)


def _chains(matrix, sizes):
    """Yield ``(n, H_n)``: ``matrix(n)`` of a callable, or the leading ``n x n`` block of an array."""
    s = np.atleast_1d(np.asarray(sizes))
    if s.ndim != 1 or s.size == 0 or not np.issubdtype(s.dtype, np.integer) or np.any(s < 1):
        raise ValueError(f"sizes must be a non-empty 1D sequence of integers >= 1, got {sizes!r}")
    big = None if callable(matrix) else _matrix("matrix", matrix)
    if big is not None and s.max() > big.shape[0]:
        raise ValueError(f"sizes must not exceed the matrix size {big.shape[0]}, got {s.max()}")
    for n in s.tolist():
        a = big[:n, :n] if big is not None else _matrix(f"matrix({n})", matrix(n))
        if a.shape != (n, n):
            raise ValueError(f"matrix({n}) must return an ({n}, {n}) array, got {a.shape}")
        yield n, a


def localization_scaling(matrix, sizes, edge_fraction: float = 0.1, floor: float = 1e-10) -> tuple:
    """:func:`skin_analysis` of chains of several lengths: tuple of SkinAnalysis, one per ``sizes`` entry.

    ``matrix``: callable ``n -> (n, n)`` or array (N, N) standing for its leading ``n x n`` blocks
    (exact for translation-invariant open chains); ``sizes``: sequence of int.
    """
    return tuple(skin_analysis(a, edge_fraction, floor) for _, a in _chains(matrix, sizes))


# ----------------------------------------------------------------------------- amplification
def _shifted(a: np.ndarray, omega, damping, form: str) -> np.ndarray:
    w, g = real_number("omega", omega), real_number("damping", damping)
    if form == "second-order":
        return a - (w**2 + 1j * g * w) * np.eye(a.shape[0])
    if form == "first-order":
        return (w + 0.5j * g) * np.eye(a.shape[0]) - a
    raise ValueError(f"form must be 'second-order' or 'first-order', got {form!r}")


def greens_function(matrix, omega, damping=0.0, form: str = "second-order") -> np.ndarray:
    """Response ``chi(omega)``, shape (n, n), complex: ``chi[i, j]`` at site ``i`` to a drive at site ``j``.

    ``"second-order"``: ``x'' = -D x - gamma x' + F`` (``exp(-i omega t)``) gives
    ``chi = (D - omega^2 - i gamma omega)^-1`` (``D`` [1/s^2]; ``omega``, ``gamma`` [rad/s]).
    ``"first-order"`` (RWA, ``H ~ w0 + (D - w0^2)/(2 w0)`` [rad/s]): ``a' = -i H a - (gamma/2) a + f``
    gives ``a = i chi f``, ``chi = (omega + i gamma/2 - H)^-1``.
    """
    return np.linalg.inv(_shifted(_matrix("matrix", matrix), omega, damping, form))


@dataclasses.dataclass(frozen=True)
class Amplification(_Record):
    """End-to-end gains versus chain length (:func:`amplification`); arrays shape (S,).

    Attributes
    ----------
    sizes : int
    chi_n1, chi_1n : float   ``|chi[N-1, 0]|`` (last site, driven at the first) and ``|chi[0, N-1]|``
    rate_n1, rate_1n : float [nepers/site]   slopes of ``ln|chi|`` vs ``N`` (nan for one size)
    """
    sizes: np.ndarray
    chi_n1: np.ndarray
    chi_1n: np.ndarray
    rate_n1: float
    rate_1n: float


def amplification(matrix, sizes, omega, damping=0.0, form: str = "second-order") -> Amplification:
    """Directional end-to-end gains ``|chi_N1|`` vs ``|chi_1N|`` of open chains of several lengths.

    ``matrix``, ``sizes`` as in :func:`localization_scaling`; ``omega``, ``damping``, ``form`` as in
    :func:`greens_function` (two LU solves per size; gains below ``~eps cond max|chi|`` are round-off).
    Nearest-neighbour chains: ``chi_N1/chi_1N = prod_j H[j+1, j]/H[j, j+1]`` exactly (tridiagonal
    cofactors), Hatano-Nelson ``(t_R/t_L)^(N-1)``.

    Examples
    --------
    >>> amp = amplification(lambda n: hatano_nelson(n, 0.5, 1.0), [2, 4, 8], 0.0, 1.0, "first-order")
    >>> np.round(amp.chi_n1 / amp.chi_1n, 9).tolist(), round(amp.rate_n1 - amp.rate_1n, 9)
    ([2.0, 8.0, 128.0], 0.693147181)
    """
    sizes_, n1, one_n = [], [], []
    for n, a in _chains(matrix, sizes):
        x = scipy.linalg.solve(_shifted(a, omega, damping, form), np.eye(n)[:, [0, n - 1]])
        sizes_.append(n), n1.append(abs(x[-1, 0])), one_n.append(abs(x[0, 1]))
    s = np.array(sizes_)
    with np.errstate(divide="ignore"):
        rates = [float(np.polyfit(s, np.log(v), 1)[0]) if np.ptp(s) > 0 else float("nan") for v in (n1, one_n)]
    return Amplification(s, np.array(n1), np.array(one_n), *rates)
