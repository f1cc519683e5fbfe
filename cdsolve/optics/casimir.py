"""Casimir-Polder (fluctuation-induced) free energy, forces and stiffness of N polarizable spheres.

Physics
-------
On the imaginary frequency axis ``omega = i xi`` the host wavenumber becomes ``k = i kappa`` with
``kappa = n_m xi / c``. Substituting ``k -> i kappa`` into the Green tensor of :mod:`cdsolve.optics.green`
(``G = A I + B r r^T``, ``A, B`` as coefficient lists times ``exp(ikr)``) gives the real
*imaginary-frequency dipole coupling* (field at ``r`` of a dipole ``p`` at the origin,
``E = T p``)::

    T(r, i xi) = k^2/(eps0 eps_m) G(r; k = i kappa)
               = exp(-kappa r) / (4 pi eps0 eps_m r^3)
                 [ (3 + 3 kappa r + kappa^2 r^2) r^ r^ - (1 + kappa r + kappa^2 r^2) I ],

real and symmetric; ``kappa = 0`` is the static dipole field ``(3 r^ r^ - I)/(4 pi eps0 eps_m r^3)``.
The code does not restate this formula: it evaluates the coefficient lists of
:mod:`cdsolve.optics.green` at complex ``k = i kappa`` (the static term keeps the one surviving power of
each list, see :func:`_unit_coefficients`); ``tests/test_casimir.py`` checks it against the
closed form above.

Free energy of N dipoles (scattering / TGTG formula in the dipole limit)::

    F = k_B T sum'_{n>=0} log det(1 - A(i xi_n) T(i xi_n)),   xi_n = 2 pi n k_B T / hbar,

the prime halving the ``n = 0`` term; ``A = diag(alpha_1 .. alpha_N)`` (isotropic, ``alpha`` in
F m^2) and ``T`` the 3N x 3N coupling without self terms. At ``T = 0`` the sum becomes
``(hbar / 2 pi) int_0^inf d xi``. The pairwise (second-order) limit is
``F_2 = -k_B T sum'_n sum_{i<j} alpha_i alpha_j tr(T_ij^2)``.

Polarizabilities on the imaginary axis (:class:`FluctuatingSphere`): the static Clausius-Mossotti
dipole ``alpha(i xi) = 4 pi eps0 eps_m R^3 (eps(i xi) - eps_m)/(eps(i xi) + 2 eps_m)``: the
quasi-static sphere, exact for ``R << c/xi`` and ``R << r``; no radiative correction (on the
imaginary axis the correction is ``O((kappa R)^3)`` and real, and the free-space self energy is
distance independent). The host is taken non-dispersive (``eps_m`` constant at all ``xi``).

Frequency rule (:func:`frequency_rule`) -- every energy, force and stiffness is one weighted sum
``sum_k w_k f(xi_k)`` over nodes ``xi_k`` with weights ``w_k`` [J]:

* ``T > 0``: Matsubara terms are summed directly while the a-priori envelope
  ``e(xi) = max_i (alpha_i(i xi)/alpha_i(0))^2 * tr T(r_min, i xi)^2 / tr T(r_min, 0)^2`` (which
  bounds every pair's term relative to its ``n = 0`` term: both factors are monotone in ``xi``)
  says the rest is below ``rtol`` of the envelope sum so far. If that needs more than
  ``n_direct`` (default 200) terms, the remainder from ``n = N = n_direct`` on is the
  Euler-Maclaurin tail ``sum_{n>=N} f_n = (1/Delta) int_{xi_N}^inf f + f_N/2 - Delta f'(xi_N)/12``
  (``f'`` by a central difference of Matsubara terms; dropped term ``~ Delta^3 f'''/720``, relative
  error ``~ (Delta/xi_N)^4 < 1e-9`` for the power-law material tails that make this branch
  necessary; geometric ``exp(-2 kappa r)`` tails that vary faster than ``Delta`` are then
  ``< exp(-40)`` of the total).
* ``T = 0``: ``(hbar/2pi) int_0^inf f d xi`` with a node at ``xi = 0`` of weight ``xi_lo`` (covers
  ``[0, xi_lo]``, ``xi_lo = rtol * knee``) and Gauss-Legendre panels (16 nodes per decade) in
  ``log xi`` up to where the envelope times ``xi`` drops below ``1e-3 rtol`` of its maximum.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import scipy.linalg as sla

from ._checks import real_number
from .conventions import C0, EPS0, HBAR, KB
from .green import _D, _radial_coefficients

__all__ = [
    "CasimirPolder",
    "FluctuatingSphere",
    "FluctuatingDipole",
    "FrequencyRule",
    "frequency_rule",
    "matsubara_frequencies",
    "coupling_tensor",
    "casimir_energy",
    "casimir_pair_energy",
    "casimir_forces",
    "casimir_energy_and_forces",
    "casimir_stiffness",
    "as_fluctuating_particles",
]

#: Matsubara terms summed directly before the Euler-Maclaurin tail takes over
N_DIRECT = 200
#: pairwise sums skip frequencies with kappa r beyond this (term < 1e-12 of the pair's static term)
_KAPPA_R_MAX = 20.0
#: Gauss-Legendre nodes per decade of xi for the frequency integrals
_GL_PER_DECADE = 16


# --------------------------------------------------------------------------- particles
def _check_eps(eps, xi, what: str) -> np.ndarray:
    eps = np.asarray(eps)
    if np.iscomplexobj(eps):
        if np.any(eps.imag != 0):
            raise ValueError(f"{what}: eps(i xi) must be real on the imaginary axis, got {eps!r}")
        eps = eps.real
    eps = eps.astype(float)
    bad = np.isnan(eps) | (eps < 1.0 - 1e-12) | (eps == -np.inf)
    if np.any(bad):
        i = np.flatnonzero(np.ravel(bad))[0]
        raise ValueError(f"{what}: eps(i xi) must be >= 1 on the imaginary axis (passive, causal), got "
                         f"eps = {np.ravel(eps)[i]!r} at xi = {np.ravel(np.broadcast_to(xi, eps.shape))[i]!r} rad/s")
    return eps


@dataclass(frozen=True)
class FluctuatingSphere:
    """Isotropic sphere for fluctuation forces: static Clausius-Mossotti dipole on the imaginary axis.

    Parameters
    ----------
    radius : float [m]
        Sphere radius (> 0); also used for overlap checks.
    material : DrudeLorentz, float or callable
        Anything with ``permittivity_imaginary_frequency(xi)`` (e.g.
        :class:`cdsolve.optics.materials.DrudeLorentz`), a real constant permittivity ``>= 1``, or a
        callable ``eps(xi)`` taking ``xi`` (K,) float [rad/s] and returning (K,) real ``>= 1``.

    Examples
    --------
    >>> s = FluctuatingSphere(100e-9, 3.0)
    >>> round(float(s.polarizability(0.0)[0] / (4 * 3.141592653589793 * 8.8541878128e-12 * 1e-21)), 6)
    0.4
    """

    radius: float
    material: Any

    def __post_init__(self):
        object.__setattr__(self, "radius", real_number("FluctuatingSphere.radius", self.radius, positive=True))
        m = self.material
        if isinstance(m, (bool, complex)) or (not callable(m) and not hasattr(m, "permittivity_imaginary_frequency")
                                              and not isinstance(m, (int, float, np.floating, np.integer))):
            raise ValueError("FluctuatingSphere.material must have permittivity_imaginary_frequency(xi), be a real "
                             f"constant permittivity or a callable eps(xi); got {m!r}")
        if isinstance(m, (int, float, np.floating, np.integer)):
            _check_eps(float(m), 0.0, "FluctuatingSphere.material")

    @property
    def exclusion_radius(self) -> float:
        return self.radius

    def permittivity(self, xi) -> np.ndarray:
        """``eps(i xi)`` [-], (K,) float for ``xi`` (K,) float [rad/s] (may be ``inf`` at 0 for Drude)."""
        xi = np.atleast_1d(np.asarray(xi, dtype=float))
        m = self.material
        if hasattr(m, "permittivity_imaginary_frequency"):
            eps = m.permittivity_imaginary_frequency(xi)
        elif callable(m):
            eps = m(xi)
        else:
            eps = np.full(xi.shape, float(m))
        eps = np.broadcast_to(np.asarray(eps), xi.shape)
        return _check_eps(eps, xi, "FluctuatingSphere.material")

    def polarizability(self, xi, n_medium: float = 1.0) -> np.ndarray:
        """``alpha(i xi) = 4 pi eps0 eps_m R^3 (eps - eps_m)/(eps + 2 eps_m)``, (K,) float [F m^2]."""
        eps = self.permittivity(xi)
        em = n_medium**2
        with np.errstate(invalid="ignore", divide="ignore"):
            cm = 1.0 - 3.0 * em / (eps + 2.0 * em)  # = (eps - em)/(eps + 2 em), finite for eps = inf
        return 4.0 * np.pi * EPS0 * em * self.radius**3 * cm


@dataclass(frozen=True)
class FluctuatingDipole:
    """Point dipole with a user polarizability ``alpha(xi)`` on the imaginary axis.

    Parameters
    ----------
    alpha : callable
        ``alpha(xi)``: (K,) float [rad/s] -> (K,) real [F m^2], finite and >= 0.
    radius : float [m]
        Exclusion radius for overlap checks (default 0: point dipole).
    """

    alpha: Callable
    radius: float = 0.0

    def __post_init__(self):
        if not callable(self.alpha):
            raise ValueError(f"FluctuatingDipole.alpha must be a callable alpha(xi), got {self.alpha!r}")
        object.__setattr__(self, "radius", real_number("FluctuatingDipole.radius", self.radius, nonnegative=True))

    @property
    def exclusion_radius(self) -> float:
        return self.radius

    def polarizability(self, xi, n_medium: float = 1.0) -> np.ndarray:
        xi = np.atleast_1d(np.asarray(xi, dtype=float))
        a = np.broadcast_to(np.asarray(self.alpha(xi)), xi.shape)
        if np.iscomplexobj(a) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"FluctuatingDipole.alpha(xi) must be real, finite and >= 0 [F m^2], got {a!r}")
        return a.astype(float)


def as_fluctuating_particles(particles, n: int) -> tuple:
    """Normalize ``particles`` to a tuple of ``n`` fluctuating particles.

    Accepts one :class:`FluctuatingSphere`/:class:`FluctuatingDipole` (shared), a sequence of them, or
    :class:`cdsolve.Sphere` objects whose ``material`` has ``permittivity_imaginary_frequency`` or whose
    constant ``index`` is real (a constant complex index has no imaginary-frequency continuation).
    """
    from .polarizability import Sphere

    def convert(q, i):
        if isinstance(q, (FluctuatingSphere, FluctuatingDipole)):
            return q
        if isinstance(q, Sphere):
            if q.material is not None:
                if not hasattr(q.material, "permittivity_imaginary_frequency"):
                    raise ValueError(f"particles[{i}]: material {q.material!r} has no permittivity_imaginary_frequency; "
                                     "use a Drude-Lorentz model or a FluctuatingSphere with eps(xi)")
                return FluctuatingSphere(q.radius, q.material)
            n_idx = complex(q.index)
            if n_idx.imag != 0:
                raise ValueError(f"particles[{i}]: constant complex index {q.index!r} has no imaginary-frequency "
                                 "continuation; give a real index or a dispersive material")
            return FluctuatingSphere(q.radius, n_idx.real**2)
        raise ValueError(f"particles[{i}] must be a FluctuatingSphere, FluctuatingDipole or cdsolve.Sphere, got {q!r}")

    if isinstance(particles, (FluctuatingSphere, FluctuatingDipole)) or not isinstance(particles, Sequence):
        return tuple(convert(particles, 0) for _ in range(n))
    parts = tuple(particles)
    if len(parts) != n:
        raise ValueError(f"particles has {len(parts)} entries but positions has {n}")
    return tuple(convert(q, i) for i, q in enumerate(parts))


# --------------------------------------------------------------------------- coupling tensor
def _lists_at(k: complex, order: int) -> dict[str, dict[int, complex]]:
    """Coefficient lists of ``k^2 A``, ``k^2 B`` (and ``D``, ``D^2`` of them) from :mod:`cdsolve.optics.green` at ``k``."""
    co = _radial_coefficients(k)
    lists = {"A": co["A"], "B": co["B"]}
    if order >= 1:
        lists["DA"], lists["DB"] = _D(co["A"], k), _D(co["B"], k)
    if order >= 2:
        lists["D2A"], lists["D2B"] = _D(lists["DA"], k), _D(lists["DB"], k)
    return {name: {n: k * k * v for n, v in c.items()} for name, c in lists.items()}


@functools.lru_cache(maxsize=None)
def _unit_coefficients(order: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each list as ``(powers n, values u_n, exponents p_n)`` with ``k^2 c_n(i kappa) = u_n kappa^p_n``.

    Every coefficient of :mod:`cdsolve.optics.green` is a monomial in ``k`` (``G(r; k) = k g(kr)``), so the lists
    at ``k = i`` and ``k = 2i`` fix ``u_n`` (real) and ``p_n >= 0``. At ``kappa = 0`` only the ``p_n = 0``
    entries (the highest inverse power of each list) survive: the static dipole field.
    """
    one, two = _lists_at(1j, order), _lists_at(2j, order)
    out = {}
    for name, c in one.items():
        n = np.array(sorted(c))
        u = np.array([c[m] for m in n])
        p = np.rint(np.log2(np.abs(np.array([two[name][m] for m in n]) / np.abs(u)))).astype(int)
        if np.any(np.abs(u.imag) > 1e-12 * np.abs(u)) or np.any(p < 0):
            raise AssertionError("imaginary-axis coefficients must be real monomials in kappa")  # pragma: no cover
        out[name] = (n, u.real, p)
    return out


def _coefficient_matrix(kappas: np.ndarray, order: int) -> tuple[dict[str, np.ndarray], int]:
    """``{name: C}`` with ``C[k, n]`` the coefficient of ``r^-n`` at ``kappa_k``; and the highest power."""
    unit = _unit_coefficients(order)
    n_max = max(int(v[0].max()) for v in unit.values())
    out = {}
    for name, (n, u, p) in unit.items():
        C = np.zeros((len(kappas), n_max + 1))
        C[:, n] = u * np.power.outer(kappas, p)  # 0**0 = 1: the static term
        out[name] = C
    return out, n_max


def _radial(kappa: float, r: np.ndarray, inv_r: np.ndarray, order: int, eps: float) -> dict[str, np.ndarray]:
    """Real radial functions ``a = k^2 A/eps``, ``b = k^2 B/eps`` (and ``D``-derivatives) at ``k = i kappa``.

    Any array shape of ``r`` (with ``inv_r = 1/r``).
    """
    C, n_max = _coefficient_matrix(np.array([kappa]), order)
    phase = np.exp(-kappa * r) / eps
    out = {}
    for name, c in C.items():
        nz = np.flatnonzero(c[0])
        total = np.full(inv_r.shape, c[0, nz[-1]])
        for n in range(nz[-1] - 1, nz[0] - 1, -1):  # Horner in 1/r
            total = total * inv_r + c[0, n]
        out[name] = total * inv_r ** nz[0] * phase
    return out


def _radial_batch(kappas: np.ndarray, r: np.ndarray, order: int, eps: float) -> dict[str, np.ndarray]:
    """:func:`_radial` for many ``kappa`` (K,) at once: each function as (K, P) for ``r`` (P,).

    The coefficients of all frequencies form a (K, n) matrix applied to the powers ``r^-n``
    (one matrix product per function), times ``exp(-kappa r)``.
    """
    C, n_max = _coefficient_matrix(np.asarray(kappas, float), order)
    inv_r = 1.0 / r
    powers = np.empty((n_max + 1, len(r)))
    powers[0] = 1.0
    for n in range(1, n_max + 1):
        powers[n] = powers[n - 1] * inv_r
    phase = np.exp(-np.outer(kappas, r)) / eps
    return {name: (c @ powers) * phase for name, c in C.items()}


def coupling_tensor(r, xi: float, n_medium: float = 1.0) -> np.ndarray:
    """Imaginary-frequency dipole coupling ``T(r, i xi)`` with ``E = T p`` (see module docstring).

    Parameters
    ----------
    r : (..., 3) float [m]
        Separations ``r_observer - r_source`` (non-zero).
    xi : float [rad/s]
        Imaginary angular frequency, >= 0.
    n_medium : float
        Real, non-dispersive host index.

    Returns
    -------
    (..., 3, 3) float [1/(F m)] (i.e. V/m per C m), real symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> T = coupling_tensor(np.array([0.0, 0.0, 1e-6]), 0.0)
    >>> round(float(T[2, 2] * 4 * np.pi * 8.8541878128e-12 * 1e-18), 6)   # static: 2/(4 pi eps0 r^3)
    2.0
    """
    xi = real_number("xi", xi, nonnegative=True)
    n_medium = real_number("n_medium", n_medium, positive=True)
    r = np.asarray(r, dtype=float)
    if r.shape[-1:] != (3,):
        raise ValueError(f"r must have shape (..., 3), got {r.shape}")
    d = np.linalg.norm(r, axis=-1)
    if np.any(d == 0) or not np.all(np.isfinite(d)):
        raise ValueError("r must be finite and non-zero (no self term)")
    f = _radial(n_medium * xi / C0, d, 1.0 / d, 0, EPS0 * n_medium**2)
    return f["A"][..., None, None] * np.eye(3) + f["B"][..., None, None] * r[..., :, None] * r[..., None, :]


# --------------------------------------------------------------------------- frequency rule
def matsubara_frequencies(temperature: float, n: int) -> np.ndarray:
    """First ``n`` Matsubara frequencies ``xi_j = 2 pi j k_B T / hbar``, (n,) float [rad/s].

    >>> round(float(matsubara_frequencies(300.0, 2)[1]) * 1e-14, 4)
    2.4678
    """
    temperature = real_number("temperature", temperature, positive=True)
    return 2.0 * np.pi * KB * temperature / HBAR * np.arange(int(n))


@dataclass(frozen=True)
class FrequencyRule:
    """Nodes and weights with ``F = sum_k weights[k] * f(xi[k])`` for a dimensionless ``f(xi)``.

    Attributes
    ----------
    xi : (K,) float [rad/s]
    weights : (K,) float [J]
    temperature : float [K]
    n_matsubara : int            Matsubara terms summed directly (0 at T = 0)
    tail : bool                  Euler-Maclaurin tail used (T > 0) / integral (T = 0)
    """

    xi: np.ndarray
    weights: np.ndarray
    temperature: float
    n_matsubara: int
    tail: bool
    info: dict = field(default_factory=dict)


def _log_gauss_legendre(a: float, b: float, per_decade: int = _GL_PER_DECADE):
    """Nodes/weights of ``int_a^b f(xi) d xi`` by Gauss-Legendre panels of one decade in ``log xi``."""
    n_dec = max(1, int(math.ceil(math.log10(b / a) - 1e-12)))
    edges = np.log(a) + np.linspace(0.0, np.log(b / a), n_dec + 1)
    x, w = np.polynomial.legendre.leggauss(per_decade)
    lo, hi = edges[:-1, None], edges[1:, None]
    u = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    wu = 0.5 * (hi - lo) * w
    xi = np.exp(u).ravel()
    return xi, (wu * np.exp(u)).ravel()


def _envelope(particles, n_medium: float, r_min: float):
    """Envelope ``e(xi)`` (see module docstring) as a function of an array of xi."""
    eps = EPS0 * n_medium**2
    particles = list({id(q): q for q in particles}.values())  # distinct particles only
    a0 = np.array([q.polarizability(np.zeros(1), n_medium)[0] for q in particles])
    ref = a0 > 0

    def trace_ratio(xi):
        f = _radial_batch(n_medium * np.atleast_1d(xi) / C0, np.array([r_min]), 0, eps)
        return _pair_radial_series(f, np.array([r_min]), 0)[0][:, 0]

    s0 = trace_ratio(np.zeros(1))[0]

    def env(xi):
        xi = np.atleast_1d(np.asarray(xi, float))
        if np.any(ref):
            rho = np.max([q.polarizability(xi, n_medium) / a for q, a in zip(particles, a0) if a > 0], axis=0)
        else:
            rho = np.ones_like(xi)
        return rho**2 * trace_ratio(xi) / s0

    return env


def frequency_rule(temperature: float, particles, r_min: float, *, n_medium: float = 1.0, rtol: float = 1e-6,
                   n_direct: int = N_DIRECT) -> FrequencyRule:
    """Nodes and weights of the Matsubara sum (``T > 0``) or frequency integral (``T = 0``).

    Parameters
    ----------
    temperature : float [K]
        >= 0.
    particles : sequence of FluctuatingSphere / FluctuatingDipole
    r_min : float [m]
        Smallest separation that will be evaluated (sets the envelope).
    n_medium : float
    rtol : float
        Relative accuracy target of the truncation (see module docstring).
    n_direct : int
        Largest number of directly summed Matsubara terms before the Euler-Maclaurin tail.

    Returns
    -------
    FrequencyRule
    """
    temperature = real_number("temperature", temperature, nonnegative=True)
    r_min = real_number("r_min", r_min, positive=True)
    rtol = real_number("rtol", rtol, positive=True)
    if not isinstance(n_direct, (int, np.integer)) or n_direct < 4:
        raise ValueError(f"n_direct must be an integer >= 4, got {n_direct!r}")
    env = _envelope(particles, n_medium, r_min)
    # global scan of the envelope: knee (e < 1/2) and upper cut-off
    grid = np.logspace(3, 23, 201)
    eg = env(grid)
    if not np.all(np.isfinite(eg)):
        raise ValueError("polarizability envelope is not finite on the imaginary axis")
    big = eg * grid
    keep = np.flatnonzero(big > 1e-3 * rtol * big.max())
    xi_hi = grid[min(keep[-1] + 1, len(grid) - 1)]
    knee = grid[np.argmax(eg < 0.5)] if np.any(eg < 0.5) else grid[-1]
    if temperature == 0.0:
        xi_lo = rtol * knee
        xq, wq = _log_gauss_legendre(xi_lo, max(xi_hi, 10 * xi_lo))
        xi = np.concatenate([[0.0], xq])
        w = HBAR / (2 * np.pi) * np.concatenate([[xi_lo], wq])
        return FrequencyRule(xi, w, 0.0, 0, True, {"xi_lo": xi_lo, "xi_hi": xi_hi, "r_min": r_min})
    kT = KB * temperature
    delta = 2.0 * np.pi * kT / HBAR
    n_scan = n_direct + 2
    xs = delta * np.arange(n_scan)
    e = env(xs)
    e[0] *= 0.5
    partial = np.cumsum(e)
    # tail bound beyond the scanned terms: (1/Delta) int_{xi_scan}^inf e
    if xi_hi > xs[-1]:
        xq, wq = _log_gauss_legendre(xs[-1], xi_hi)
        beyond = float(np.sum(wq * env(xq))) / delta
    else:
        beyond = 0.0
    tail = partial[-1] - partial + beyond  # tail[N] = sum_{n>N} e_n + beyond
    ok = np.flatnonzero(tail[: n_direct] <= rtol * partial[: n_direct])
    if len(ok):
        n_stop = int(ok[0]) + 1  # terms n = 0 .. n_stop-1
        w = np.full(n_stop, kT)
        w[0] *= 0.5
        return FrequencyRule(xs[:n_stop], w, temperature, n_stop, False, {"delta": delta, "r_min": r_min})
    # Euler-Maclaurin tail from N = n_direct
    N = n_direct
    w = np.full(N + 2, kT)
    w[0] *= 0.5
    w[N - 1] += kT / 24.0
    w[N] = 0.5 * kT
    w[N + 1] = -kT / 24.0
    xq, wq = _log_gauss_legendre(N * delta, max(xi_hi, 10 * N * delta))
    xi = np.concatenate([xs[: N + 2], xq])
    weights = np.concatenate([w, HBAR / (2 * np.pi) * wq])
    return FrequencyRule(xi, weights, temperature, N, True, {"delta": delta, "xi_hi": xi_hi, "r_min": r_min})


# --------------------------------------------------------------------------- kernels
def _prepare(positions, particles, temperature, n_medium, rtol):
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) < 1:
        raise ValueError(f"positions must have shape (N, 3), got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite")
    parts = as_fluctuating_particles(particles, len(pos))
    temperature = real_number("temperature", temperature, nonnegative=True)
    n_medium = real_number("n_medium", n_medium, positive=True)
    iu, ju = np.triu_indices(len(pos), 1)
    sep = pos[iu] - pos[ju]
    d = np.linalg.norm(sep, axis=1)
    if len(d):
        radii = np.array([q.exclusion_radius for q in parts])
        clash = d <= radii[iu] + radii[ju]
        if np.any(clash | (d == 0)):
            c = int(np.flatnonzero(clash | (d == 0))[0])
            raise ValueError(f"positions {iu[c]} and {ju[c]} overlap or coincide: r = {d[c]!r} m "
                             f"(sum of radii {radii[iu[c]] + radii[ju[c]]!r} m)")
    return pos, parts, temperature, n_medium


def _alphas(parts, xi, n_medium):
    cache = {}
    out = np.empty((len(xi), len(parts)))
    for i, q in enumerate(parts):
        if id(q) not in cache:
            cache[id(q)] = q.polarizability(xi, n_medium)
        out[:, i] = cache[id(q)]
    return out


def _pair_radial_series(f: dict, d: np.ndarray, order: int) -> list[np.ndarray]:
    """Pairwise trace ``s = tr T^2`` and its first ``order`` radial derivatives from radial functions ``f``."""
    a, b = f["A"], f["B"]
    L = a + b * d**2  # longitudinal eigenvalue; transverse eigenvalue is a (twice)
    out = [L * L + 2 * a * a]
    if order >= 1:
        a1 = d * f["DA"]
        L1 = a1 + d**3 * f["DB"] + 2 * d * b
        out.append(2 * L * L1 + 4 * a * a1)
    if order >= 2:
        a2 = f["DA"] + d**2 * f["D2A"]
        L2 = a2 + 5 * d**2 * f["DB"] + d**4 * f["D2B"] + 2 * b
        out.append(2 * L1 * L1 + 2 * L * L2 + 4 * a1 * a1 + 4 * a * a2)
    return out


def _pairwise(pos, parts, rule, n_medium, order, chunk: int = 1 << 15):
    """Pairwise free energy [J], forces (N,3) [N] and Hessian (3N,3N) [N/m] (up to ``order``).

    All frequencies are evaluated together for chunks of ``chunk`` pairs.
    """
    N = len(pos)
    eps = EPS0 * n_medium**2
    iu, ju = np.triu_indices(N, 1)
    sep = pos[iu] - pos[ju]
    d = np.linalg.norm(sep, axis=1)
    srt = np.argsort(d)  # near pairs first: far chunks need only the lowest frequencies
    iu, ju, sep, d = iu[srt], ju[srt], sep[srt], d[srt]
    inv_d = 1.0 / d
    alpha = _alphas(parts, rule.xi, n_medium)  # (K, N)
    kappas = n_medium * rule.xi / C0
    energy = 0.0
    du = np.zeros(len(d))  # d U / d r per pair
    d2u = np.zeros(len(d))
    for lo in range(0, len(d), chunk):
        sl = slice(lo, lo + chunk)
        # frequencies with kappa r > _KAPPA_R_MAX for every pair of the chunk carry < 1e-12 of each
        # pair's static term (exp(-2 kappa r) decay of tr T^2): skipped
        use = np.flatnonzero(kappas * d[lo] <= _KAPPA_R_MAX)
        f = _radial_batch(kappas[use], d[sl], order, eps)
        s = _pair_radial_series(f, d[sl], order)
        c = -rule.weights[use, None] * alpha[use][:, iu[sl]] * alpha[use][:, ju[sl]]  # (K', P)
        energy += float(np.sum(c * s[0]))
        if order >= 1:
            du[sl] = np.sum(c * s[1], axis=0)
        if order >= 2:
            d2u[sl] = np.sum(c * s[2], axis=0)
    out = {"energy": energy}
    if order >= 1:
        rhat = sep * inv_d[:, None]
        fpair = -du[:, None] * rhat  # force on i from pair (i, j); j gets the opposite
        F = np.zeros((N, 3))
        for c in range(3):
            F[:, c] = np.bincount(iu, fpair[:, c], N) - np.bincount(ju, fpair[:, c], N)
        out["forces"] = F
    if order >= 2:
        # Hessian of u(|r_i - r_j|): H = u'' r^r^ + (u'/r)(I - r^r^) on block (i,i),(j,j); minus on (i,j),(j,i)
        rr = rhat[:, :, None] * rhat[:, None, :]
        Hp = d2u[:, None, None] * rr + (du * inv_d)[:, None, None] * (np.eye(3) - rr)
        H = np.zeros((N, 3, N, 3))
        np.add.at(H, (iu, slice(None), iu), Hp)
        np.add.at(H, (ju, slice(None), ju), Hp)
        np.add.at(H, (iu, slice(None), ju), -Hp)
        np.add.at(H, (ju, slice(None), iu), -Hp)
        out["hessian"] = H.reshape(3 * N, 3 * N)
    return out


def _logdet_and_response(T: np.ndarray, al: np.ndarray, xi: float, need_inverse: bool):
    """``log det(1 - A T)`` and ``Y = A (1 - A T)^-T`` (so ``d log det = -sum(Y * dT)``).

    For ``A >= 0`` the symmetric form ``S = 1 - A^1/2 T A^1/2`` (same determinant) is factorized by
    Cholesky, which also proves positive definiteness; ``Y = A^1/2 S^-1 A^1/2``. Otherwise one LU.
    """
    n = len(al)
    if np.all(al >= 0):
        sq = np.sqrt(al)
        S = np.eye(n) - sq[:, None] * T * sq[None, :]
        c, info = sla.lapack.dpotrf(S, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise ValueError(f"1 - alpha T is not positive definite at xi = {xi:.4g} rad/s: the dipoles are too "
                             "close (polarization catastrophe); the dipole free energy is undefined")
        # diag(S) = 1 exactly (no self term), so c_ii^2 = 1 - sum_{k<i} c_ik^2: summing log1p of the small
        # off-diagonal row sums keeps full relative precision of log det for weakly coupled dipoles
        low = np.tril(c, -1)
        logdet = float(np.sum(np.log1p(-np.einsum("ik,ik->i", low, low))))
        if not need_inverse:
            return logdet, None
        inv, info = sla.lapack.dpotri(c, lower=1)
        inv = np.tril(inv) + np.tril(inv, -1).T
        return logdet, sq[:, None] * inv * sq[None, :]
    M = np.eye(n) - al[:, None] * T
    lu, piv = sla.lu_factor(M, check_finite=False)
    low = np.tril(lu, -1)
    delta = np.einsum("ik,ki->i", low, np.triu(lu))  # u_ii = 1 - sum_{k<i} l_ik u_ki (M_ii = 1)
    if np.any(delta >= 1):
        raise ValueError(f"1 - alpha T has a non-positive determinant at xi = {xi:.4g} rad/s: the dipoles are "
                         "too close (polarization catastrophe); the dipole free energy is undefined")
    logdet = float(np.sum(np.log1p(-delta)))
    if not need_inverse:
        return logdet, None
    Minv = sla.lu_solve((lu, piv), np.eye(n), check_finite=False)
    return logdet, al[:, None] * Minv.T


def _many_body(pos, parts, rule, n_medium, order):
    """Exact dipole free energy ``sum_k w_k log det(1 - A T)`` [J] and forces (N, 3) [N]."""
    N = len(pos)
    eps = EPS0 * n_medium**2
    X = pos[:, None, :] - pos[None, :, :]  # (N, N, 3), r_i - r_j
    d = np.linalg.norm(X, axis=-1)
    off = ~np.eye(N, dtype=bool)
    d_safe = np.where(off, d, 1.0)
    inv_d = np.where(off, 1.0 / d_safe, 0.0)
    alpha = _alphas(parts, rule.xi, n_medium)
    xx = X[:, :, :, None] * X[:, :, None, :]
    energy = 0.0
    F = np.zeros((N, 3))
    for k, (x, w) in enumerate(zip(rule.xi, rule.weights)):
        kappa = n_medium * x / C0
        f = _radial(kappa, d_safe, inv_d, order, eps)
        a = np.where(off, f["A"], 0.0)
        b = np.where(off, f["B"], 0.0)
        T = a[:, :, None, None] * np.eye(3) + b[:, :, None, None] * xx  # (N, N, 3, 3)
        T = T.transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
        al = np.repeat(alpha[k], 3)
        logdet, Y = _logdet_and_response(T, al, x, need_inverse=order >= 1)
        energy += w * logdet
        if order >= 1:
            Z = (Y + Y.T).reshape(N, 3, N, 3).transpose(0, 2, 1, 3)  # (N, N, 3, 3)
            Z = np.where(off[:, :, None, None], Z, 0.0)
            da = np.where(off, f["DA"], 0.0)
            db = np.where(off, f["DB"], 0.0)
            trZ = np.einsum("ijcc->ij", Z)
            Zx = np.einsum("ijcd,ijd->ijc", Z, X)
            xZx = np.einsum("ijc,ijc->ij", X, Zx)
            Zx += np.einsum("ijdc,ijd->ijc", Z, X)
            # sum_j Z_pj : d_e T(r_pj), d_e T_cd = x_e DA d_cd + x_e x_c x_d DB + B (d_ec x_d + d_ed x_c)
            g = X * (da * trZ + db * xZx)[:, :, None] + b[:, :, None] * Zx
            F += w * g.sum(axis=1)
    return {"energy": energy, "forces": F} if order >= 1 else {"energy": energy}


def _run(positions, particles, temperature, n_medium, rtol, method, order, n_direct=N_DIRECT):
    pos, parts, temperature, n_medium = _prepare(positions, particles, temperature, n_medium, rtol)
    if method not in ("many-body", "pairwise"):
        raise ValueError(f"method must be 'many-body' or 'pairwise', got {method!r}")
    N = len(pos)
    if N < 2:
        out = {"energy": 0.0, "forces": np.zeros((N, 3)), "hessian": np.zeros((3 * N, 3 * N))}
        return out, None
    iu, ju = np.triu_indices(N, 1)
    r_min = float(np.min(np.linalg.norm(pos[iu] - pos[ju], axis=1)))
    rule = frequency_rule(temperature, parts, r_min, n_medium=n_medium, rtol=rtol, n_direct=n_direct)
    if method == "pairwise":
        return _pairwise(pos, parts, rule, n_medium, order), rule
    return _many_body(pos, parts, rule, n_medium, order), rule


def _unpack(scene_or_positions, particles, n_medium):
    # A cdsolve.Scene (layer above: not imported here) is recognized by what it carries.
    if all(hasattr(scene_or_positions, a) for a in ("positions", "particles", "n_medium")):
        sc = scene_or_positions
        return sc.positions, (sc.particles if particles is None else particles), \
            (sc.n_medium if n_medium is None else n_medium)
    if particles is None:
        raise ValueError("particles is required when positions (not a Scene) are given")
    return scene_or_positions, particles, 1.0 if n_medium is None else n_medium


# --------------------------------------------------------------------------- public API
def casimir_energy(scene_or_positions, particles=None, *, temperature: float, method: str = "many-body",
                   n_medium: float | None = None, rtol: float = 1e-6, n_direct: int = N_DIRECT) -> float:
    """Casimir-Polder free energy of N isotropic dipoles [J] (relative to infinite separation).

    Parameters
    ----------
    scene_or_positions : Scene or (N, 3) float [m]
        A :class:`cdsolve.Scene` (positions, particles and host index are taken from it) or positions.
    particles : FluctuatingSphere, FluctuatingDipole, cdsolve.Sphere or sequence of N of them
        Required with positions; overrides the scene's particles if given.
    temperature : float [K]
        >= 0 (0: frequency integral).
    method : {"many-body", "pairwise"}
        Exact dipole ``log det`` or its second-order (pairwise-additive) limit.
    n_medium : float, optional
        Non-dispersive host index (default: the scene's, else 1).
    rtol : float
        Truncation target of the frequency rule.
    n_direct : int
        Direct Matsubara terms before the Euler-Maclaurin tail.

    Returns
    -------
    float [J]

    Examples
    --------
    >>> s = FluctuatingSphere(10e-9, 3.0)
    >>> e = casimir_energy([[0, 0, 0], [0, 0, 1e-6]], s, temperature=300.0, method="pairwise")
    >>> e < 0
    True
    """
    pos, parts, n_m = _unpack(scene_or_positions, particles, n_medium)
    return _run(pos, parts, temperature, n_m, rtol, method, 0, n_direct)[0]["energy"]


def casimir_forces(scene_or_positions, particles=None, *, temperature: float, method: str = "many-body",
                   n_medium: float | None = None, rtol: float = 1e-6, n_direct: int = N_DIRECT) -> np.ndarray:
    """Casimir-Polder forces ``F_i = -dF/dr_i``, (N, 3) float [N] (analytic gradients).

    Many-body: ``-d/dr log det(1 - A T) = tr((1 - A T)^-1 A dT)`` per frequency; pairwise: radial
    derivative of ``tr T_ij^2``. Parameters as :func:`casimir_energy`.
    """
    pos, parts, n_m = _unpack(scene_or_positions, particles, n_medium)
    return _run(pos, parts, temperature, n_m, rtol, method, 1, n_direct)[0]["forces"]


def casimir_energy_and_forces(scene_or_positions, particles=None, *, temperature: float, method: str = "many-body",
                              n_medium: float | None = None, rtol: float = 1e-6,
                              n_direct: int = N_DIRECT) -> tuple[float, np.ndarray]:
    """Free energy [J] and forces (N, 3) [N] in one pass (parameters as :func:`casimir_energy`)."""
    pos, parts, n_m = _unpack(scene_or_positions, particles, n_medium)
    out = _run(pos, parts, temperature, n_m, rtol, method, 1, n_direct)[0]
    return out["energy"], out["forces"]


def casimir_stiffness(scene_or_positions, particles=None, *, temperature: float, method: str = "pairwise",
                      n_medium: float | None = None, rtol: float = 1e-6, n_direct: int = N_DIRECT,
                      step: float | None = None) -> np.ndarray:
    """Casimir-Polder stiffness ``K_{ia,jb} = -dF_{ia}/dr_{jb} = d^2 F / dr_ia dr_jb``, (3N, 3N) [N/m].

    Particle-major ordering (``x_1, y_1, z_1, x_2, ...``) as :func:`cdsolve.force_jacobian`
    (whose ``K = -J``). Pairwise: analytic Hessian. Many-body: central differences of the analytic
    many-body forces with step ``step`` (default ``1e-5 r_min``; truncation error ``~ (step/r_min)^2``),
    symmetrized (the exact Hessian of an energy is symmetric).
    """
    pos, parts, n_m = _unpack(scene_or_positions, particles, n_medium)
    if method == "pairwise":
        return _run(pos, parts, temperature, n_m, rtol, method, 2, n_direct)[0]["hessian"]
    out, rule = _run(pos, parts, temperature, n_m, rtol, method, 0, n_direct)
    pos = np.asarray(pos, float)
    N = len(pos)
    if rule is None:
        return np.zeros((3 * N, 3 * N))
    parts = as_fluctuating_particles(parts, N)
    iu, ju = np.triu_indices(N, 1)
    r_min = float(np.min(np.linalg.norm(pos[iu] - pos[ju], axis=1)))
    h = 1e-5 * r_min if step is None else real_number("step", step, positive=True)
    K = np.zeros((3 * N, 3 * N))
    for q in range(3 * N):
        dp = np.zeros(3 * N)
        dp[q] = h
        fp = _many_body(pos + dp.reshape(N, 3), parts, rule, n_m, 1)["forces"]
        fm = _many_body(pos - dp.reshape(N, 3), parts, rule, n_m, 1)["forces"]
        K[:, q] = -(fp - fm).ravel() / (2 * h)
    return 0.5 * (K + K.T)


def casimir_pair_energy(r, particle_a, particle_b=None, *, temperature: float, n_medium: float = 1.0,
                        rtol: float = 1e-6, method: str = "pairwise", n_direct: int = N_DIRECT,
                        derivatives: int = 0, rule: FrequencyRule | None = None) -> np.ndarray:
    """Two-sphere Casimir-Polder free energy vs separation, (M,) float [J].

    Parameters
    ----------
    r : (M,) float [m]
        Centre distances (> sum of radii).
    particle_a, particle_b : FluctuatingSphere or FluctuatingDipole
        ``particle_b`` defaults to ``particle_a``.
    temperature : float [K]
    method : {"pairwise", "many-body"}
        ``"many-body"`` is the exact two-dipole ``log det`` (all orders in alpha).
    derivatives : {0, 1, 2}
        With ``derivatives > 0`` (pairwise only) return ``(d+1, M)``: ``U, dU/dr [N], d2U/dr2 [N/m]``.
    rule : FrequencyRule, optional
        Reuse a rule from :func:`frequency_rule` (same particles, temperature and host; built for an
        ``r_min`` <= every ``r``, which is checked via ``rule.info["r_min"]``) instead of building one.

    Notes
    -----
    One frequency rule (built for the smallest ``r``) serves all distances.

    Examples
    --------
    >>> s = FluctuatingSphere(100e-9, 3.0)
    >>> U = casimir_pair_energy([1e-6, 2e-6], s, temperature=300.0)
    >>> bool(U[0] < U[1] < 0)
    True
    """
    r = np.atleast_1d(np.asarray(r, dtype=float))
    if r.ndim != 1 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError(f"r must be a 1-D array of finite separations > 0 [m], got {r!r}")
    if derivatives not in (0, 1, 2) or (derivatives and method != "pairwise"):
        raise ValueError(f"derivatives must be 0, 1 or 2 (1, 2 only for method='pairwise'), got {derivatives!r}")
    if method not in ("pairwise", "many-body"):
        raise ValueError(f"method must be 'pairwise' or 'many-body', got {method!r}")
    pb = particle_a if particle_b is None else particle_b
    parts = as_fluctuating_particles([particle_a, pb], 2)
    if np.any(r <= parts[0].exclusion_radius + parts[1].exclusion_radius):
        raise ValueError(f"r must exceed the sum of radii, got min r = {r.min()!r} m")
    temperature = real_number("temperature", temperature, nonnegative=True)
    if rule is None:
        rule = frequency_rule(temperature, parts, float(r.min()), n_medium=n_medium, rtol=rtol, n_direct=n_direct)
    elif rule.temperature != temperature or rule.info.get("r_min", np.inf) > r.min():
        raise ValueError(f"rule was built for T = {rule.temperature} K, r_min = {rule.info.get('r_min')!r} m; "
                         f"needed T = {temperature} K, r_min <= {r.min()!r} m")
    eps = EPS0 * n_medium**2
    alpha = _alphas(parts, rule.xi, n_medium)
    g = rule.weights[:, None] * (alpha[:, 0] * alpha[:, 1])[:, None]  # (K, 1)
    f = _radial_batch(n_medium * rule.xi / C0, r, derivatives, eps)
    if method == "pairwise":
        series = _pair_radial_series(f, r, derivatives)
        out = np.array([-np.sum(g * s_, axis=0) for s_ in series])
        return out[0] if derivatives == 0 else out
    # det(1 - A T) for two dipoles: per eigen-direction 1 - a_1 a_2 lambda^2
    lam_l, lam_t = f["A"] + f["B"] * r**2, f["A"]
    a12 = (alpha[:, 0] * alpha[:, 1])[:, None]
    x_l, x_t = a12 * lam_l**2, a12 * lam_t**2
    if np.any(x_l >= 1) or np.any(x_t >= 1):
        raise ValueError("two-dipole log det undefined: polarization catastrophe (dipoles too close)")
    return np.sum(rule.weights[:, None] * (np.log1p(-x_l) + 2 * np.log1p(-x_t)), axis=0)


# --------------------------------------------------------------------------- scene setting
@dataclass(frozen=True)
class CasimirPolder:
    """Include Casimir-Polder forces with the optical ones: ``Scene(..., casimir=CasimirPolder(300.0))``.

    Then :meth:`cdsolve.Solution.forces` (and the interaction forces ``F - F_iso``: an isolated particle
    feels none), :func:`cdsolve.force_jacobian`, :func:`cdsolve.dynamics.linear_model`, :func:`cdsolve.equilibrium`
    and :mod:`cdsolve.dynamics.batch_scenes` sweeps include them. The particles' ``material`` must continue to imaginary
    frequencies (Drude-Lorentz, or a real constant index).

    Parameters
    ----------
    temperature : float [K]   >= 0 (0: the frequency integral)
    method : "pairwise" (second order in alpha, analytic Hessian) or "many-body" (log-det at every
        frequency; stiffness by central differences of the analytic forces)
    rtol : float              relative accuracy target of the frequency sum (see :func:`frequency_rule`)
    """

    temperature: float
    method: str = "pairwise"
    rtol: float = 1e-6

    def __post_init__(self):
        object.__setattr__(self, "temperature", real_number("CasimirPolder.temperature", self.temperature,
                                                            nonnegative=True))
        if self.method not in ("pairwise", "many-body"):
            raise ValueError(f"CasimirPolder.method must be 'pairwise' or 'many-body', got {self.method!r}")
        rtol = real_number("CasimirPolder.rtol", self.rtol, positive=True)
        if not rtol < 1:
            raise ValueError(f"CasimirPolder.rtol must be in (0, 1), got {self.rtol!r}")

    def forces(self, scene) -> np.ndarray:
        """Casimir-Polder force on each particle of ``scene``, (N, 3) float [N]."""
        if scene.n_particles < 2:
            return np.zeros((scene.n_particles, 3))
        return casimir_forces(scene, temperature=self.temperature, method=self.method, rtol=self.rtol)

    def stiffness(self, scene) -> np.ndarray:
        """``-dF_CP/dr`` (3N, 3N) float [N/m], particle-major."""
        if scene.n_particles < 2:
            return np.zeros((3 * scene.n_particles,) * 2)
        return casimir_stiffness(scene, temperature=self.temperature, method=self.method, rtol=self.rtol)
