"""Optical-binding potentials, drive states, flat-tweezer illumination, landscapes and bound states.

Source: Jakubec, Solano, Delic, Sinha, PRA 109, 052807 (2024) ("fluctuation and optical binding
potentials of two nanospheres"), eqs. (28)-(34), (39)-(40) and Sec. IV.

Optical-binding potential of sphere ``i`` (eq. 29 without the divergent self term), with the
order-0 dipoles ``p_j = alpha_j E_inc(r_j)`` and the field they scatter to ``r_i``::

    U_i = -1/2 Re[ p_i^* . E_sca,i ],   E_sca,i = sum_{j != i} k^2/(eps0 eps_m) G(r_i - r_j) p_j,

which for real ``alpha`` is eq. (29) ``-1/2 mu0 omega^2 alpha^2 Re[E_i^* G E_j]`` and, for the free
Green tensor, the closed form (30). With complex ``alpha`` this definition (``alpha_i^* alpha_j``) is the
one whose ``-grad_i`` is the single-scattering force of flat tweezers exactly; the paper's literal
``alpha^2`` differs by ``O(Im alpha / Re alpha)``. Trap potential (eq. 28): ``-1/4 Re[E_i^* . p_i]``.

Drive states (single mode, eqs. 22, 24, 31-34): the normal-ordered potentials depend on the state only
through ``<a^dag a>``, so every state acts as a coherent drive with ``|beta|^2 -> <a^dag a>``:
coherent ``|beta|^2``; squeezed vacuum ``sinh^2 r``; cat ``N(|beta> + e^{i theta}|-beta>)``:
``|beta|^2 (1 - e^{-2|beta|^2} cos theta)/(1 + e^{-2|beta|^2} cos theta)``; a mixture of coherent states
``sum_m p_m |beta_m|^2``. (The paper's eqs. 33-34 drop the overlap ``<beta|-beta> = e^{-2|beta|^2}`` and
give ``2 N^2 |beta|^2 (1 - cos theta)``: exact only for ``theta = pi/2`` or ``beta -> 0``; it predicts no
potential for every even cat and a doubled one for large odd cats, where the exact factors are
``|beta|^2 tanh|beta|^2`` and ``|beta|^2 coth|beta|^2 -> |beta|^2``; see :func:`cat_photon_number_paper`.)

Flat tweezers (:class:`FlatTweezers`): the paper's idealization "each sphere sees only its own
tweezer, a uniform field". It is a :class:`cdsolve.optics.beams.Beam` whose field at a point is the uniform
field of the *nearest* focus (zero gradient, ``H = curl E/(i omega mu0) = 0``): a Voronoi patchwork, not
a Maxwell field, but exactly the paper's input to eqs. (29)-(30), and it runs through the ordinary
solver (``cd.solve(scene, orders=1)``) since the solver only samples the incident field at particles.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..optics._checks import real_number
from ..optics.beams import Beam
from ..optics.casimir import FluctuatingSphere, casimir_pair_energy, frequency_rule
from ..optics.conventions import C0, EPS0, HBAR, amplitude_from_intensity, wavenumber
from ..optics.green import green_tensors

__all__ = [
    "FlatTweezers",
    "optical_potentials",
    "flat_tweezer_fields",
    "binding_potentials_flat",
    "near_field_binding",
    "far_field_binding",
    "CoherentState",
    "SqueezedVacuum",
    "CatState",
    "CoherentMixture",
    "cat_photon_number_paper",
    "squeezing_for_photon_number",
    "squeezing_db",
    "paper_squeezing_for_intensity",
    "TweezerPair",
    "line_landscape",
    "plane_landscape",
    "bound_states",
]


# --------------------------------------------------------------------------- flat tweezers
@dataclasses.dataclass(frozen=True)
class FlatTweezers(Beam):
    """Uniform tweezer fields, each seen only near its own focus (paper's flat-tweezer idealization).

    ``E(r) = E_t`` for the focus ``t`` nearest to ``r`` (ties: lowest index), with
    ``E_t = sqrt(2 I_t / (n_m c eps0)) exp(i phase_t) e_t``; all derivatives vanish, hence ``H = 0``.

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength.
    foci : (T, 3) float [m]
        Tweezer positions (distinct).
    intensities : (T,) float [W/m^2] or float
        Intensity of each tweezer in the host (> 0).
    phases : (T,) float [rad] or float
        Optical phase of each tweezer.
    polarizations : (T, 3) complex or (3,) complex
        Polarization of each tweezer (normalized internally).

    Examples
    --------
    >>> import numpy as np
    >>> tw = FlatTweezers(1064e-9, [[0, 0, 0], [1e-6, 0, 0]], 1e10, [0.0, np.pi], (0, 1, 0))
    >>> E, H = tw.fields([[0.1e-6, 0, 0], [0.9e-6, 0, 0]], 1.0)
    >>> bool(np.allclose(E[0], -E[1])), bool(np.all(H == 0))
    (True, True)
    """

    wavelength: float
    foci: Sequence
    intensities: Sequence | float
    phases: Sequence | float = 0.0
    polarizations: Sequence = (0.0, 1.0, 0.0)

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        s("wavelength", real_number("wavelength", self.wavelength, positive=True))
        foci = np.array(self.foci, dtype=float)
        if foci.ndim != 2 or foci.shape[1] != 3 or len(foci) == 0 or not np.all(np.isfinite(foci)):
            raise ValueError(f"foci must be a finite (T, 3) array [m], got {self.foci!r}")
        T = len(foci)
        inten = np.broadcast_to(np.asarray(self.intensities, dtype=float), (T,)).copy()
        if not np.all(np.isfinite(inten)) or np.any(inten <= 0):
            raise ValueError(f"intensities must be finite and > 0 [W/m^2], got {self.intensities!r}")
        ph = np.broadcast_to(np.asarray(self.phases, dtype=float), (T,)).copy()
        if not np.all(np.isfinite(ph)):
            raise ValueError(f"phases must be finite [rad], got {self.phases!r}")
        pol = np.broadcast_to(np.asarray(self.polarizations, dtype=complex), (T, 3)).copy()
        norm = np.linalg.norm(pol, axis=1)
        if not np.all(np.isfinite(norm)) or np.any(norm == 0):
            raise ValueError(f"polarizations must be finite non-zero 3-vectors, got {self.polarizations!r}")
        for name, arr in (("foci", foci), ("intensities", inten), ("phases", ph), ("polarizations", pol / norm[:, None])):
            arr.setflags(write=False)
            s(name, arr)

    def amplitudes(self, n_medium: float) -> np.ndarray:
        """Complex field vectors ``E_t`` of the tweezers, (T, 3) complex [V/m]."""
        amp = np.array([amplitude_from_intensity(i, n_medium) for i in self.intensities])
        return (amp * np.exp(1j * self.phases))[:, None] * self.polarizations

    def _e_jets(self, points, n_medium, order):
        d2 = ((points[:, None, :] - self.foci[None, :, :]) ** 2).sum(axis=-1)
        E = self.amplitudes(n_medium)[np.argmin(d2, axis=1)]
        M = len(points)
        return [E] + [np.zeros((M,) + (3,) * (j + 1), complex) for j in range(1, order + 1)]


# --------------------------------------------------------------------------- potentials from the solver
def optical_potentials(scene) -> dict:
    """Trap and optical-binding potential seen by each sphere, from the solver's single-scattering fields.

    Solves ``cd.solve(scene, orders=1)``: its source dipoles are ``p_i = alpha_i E_inc(r_i)`` and
    ``E_local - E_inc`` is the field they scatter, so ``U_bind,i = -1/2 Re[p_i^* . (E_local,i - E_inc,i)]``
    (eq. 29 without self term) and ``U_trap,i = -1/4 Re[E_inc,i^* . p_i]`` (eq. 28).

    Parameters
    ----------
    scene : cdsolve.Scene
        Electric-dipole particles only (``alpha_m = 0``, e.g. ``Sphere(model="rayleigh")`` or
        :class:`cdsolve.DipoleParticle`); any illumination (:class:`FlatTweezers`, Gaussian tweezers).

    Returns
    -------
    dict with ``"trap"`` (N,) float [J], ``"binding"`` (N,) float [J], ``"total"`` (N,) float [J].
    """
    from ..scattering.dispatch import solve

    sol = solve(scene, orders=1)
    if np.any(sol.alpha_m != 0):
        raise ValueError("optical_potentials needs electric-dipole particles (alpha_m = 0); got a magnetic "
                         "polarizability (use Sphere(model='rayleigh') or DipoleParticle)")
    E_inc, _ = scene.incident_fields()
    p0, _ = sol.source_dipoles
    binding = -0.5 * np.real(np.sum(p0.conj() * (sol.E_local - E_inc), axis=1))
    trap = -0.25 * np.real(np.sum(E_inc.conj() * p0, axis=1))
    return {"trap": trap, "binding": binding, "total": trap + binding}


# --------------------------------------------------------------------------- vectorized flat-tweezer pair
def flat_tweezer_fields(intensities, phases, polarizations, n_medium: float = 1.0) -> np.ndarray:
    """Uniform tweezer fields ``E_t`` (T, 3) complex [V/m] (same rule as :class:`FlatTweezers`)."""
    return FlatTweezers(1.0, np.arange(len(np.atleast_1d(intensities)))[:, None] * np.eye(1, 3),
                        intensities, phases, polarizations).amplitudes(n_medium)


def binding_potentials_flat(separations, E_a, E_b, alpha_a: complex, alpha_b: complex, k: float,
                            n_medium: float = 1.0, order: int = 0) -> dict:
    """Optical-binding potentials of a flat-tweezer pair for many separations ``r = r_B - r_A``.

    ``U_A = -1/2 Re[conj(alpha_A E_A) . k^2/(eps0 eps_m) G(r) alpha_B E_B]`` and ``A <-> B`` (``G(-r) = G(r)``).

    Parameters
    ----------
    separations : (M, 3) float [m]
        ``r_B - r_A`` (non-zero).
    E_a, E_b : (3,) complex [V/m]
        Uniform tweezer fields at A and B.
    alpha_a, alpha_b : complex [F m^2]
        Scalar polarizabilities at the drive frequency.
    k : float [1/m]
        Host wavenumber.
    order : {0, 1, 2}
        Also return gradients ``"dU_A"`` (M, 3) = ``dU_A/dr`` [N] and Hessians ``"d2U_A"`` (M, 3, 3) [N/m]
        (same for B) with respect to ``r`` (``d/dr_B = -d/dr_A``).

    Returns
    -------
    dict with ``"U_A"``, ``"U_B"`` (M,) float [J] (and derivatives).
    """
    r = np.asarray(separations, dtype=float).reshape(-1, 3)
    eps = EPS0 * n_medium**2
    pa = alpha_a * np.asarray(E_a, complex)
    pb = alpha_b * np.asarray(E_b, complex)
    g = green_tensors(r, k, order, cross=False)
    pref = -0.5 * k**2 / eps
    keys = [("G", "U"), ("dG", "dU"), ("d2G", "d2U")][: order + 1]
    out = {}
    for gk, uk in keys:
        out[uk + "_A"] = pref * np.real(np.einsum("i,...ij,j->...", pa.conj(), g[gk], pb))
        out[uk + "_B"] = pref * np.real(np.einsum("i,...ij,j->...", pb.conj(), g[gk], pa))
    return out


def near_field_binding(r, intensity_a, intensity_b, delta_phi, radius, alpha_tilde):
    """Paper eq. (39), ``r << lambda``: ``4 pi sqrt(I_A I_B)/c R^3 (R/r)^3 alpha~^2 cos(delta_phi)`` [J].

    Parameters: ``r`` (M,) float [m]; intensities [W/m^2]; ``delta_phi`` [rad]; ``radius`` [m];
    ``alpha_tilde`` (real) ``(eps-1)/(eps+2)`` at the drive. Valid for polarizations perpendicular to ``r``.
    """
    r = np.asarray(r, dtype=float)
    return 4 * np.pi * np.sqrt(intensity_a * intensity_b) / C0 * radius**3 * (radius / r) ** 3 \
        * alpha_tilde**2 * np.cos(delta_phi)


def far_field_binding(r, intensity_a, intensity_b, delta_phi, radius, alpha_tilde, k):
    """Paper eq. (40), ``r >> lambda``: ``-4 pi sqrt(I_A I_B)/c R^3 (kR)^2 (R/r) alpha~^2 cos(k r + delta_phi)`` [J].

    ``delta_phi = phi_B - phi_A`` gives sphere A's potential (``-delta_phi``: sphere B's).
    """
    r = np.asarray(r, dtype=float)
    return -4 * np.pi * np.sqrt(intensity_a * intensity_b) / C0 * radius**3 * (k * radius) ** 2 * (radius / r) \
        * alpha_tilde**2 * np.cos(k * r + delta_phi)


# --------------------------------------------------------------------------- drive states
@dataclass(frozen=True)
class CoherentState:
    """Single-mode coherent state ``|beta>``; ``photon_number = |beta|^2``."""

    beta: complex

    def __post_init__(self):
        if not np.isfinite(complex(self.beta)):
            raise ValueError(f"CoherentState.beta must be finite, got {self.beta!r}")

    @property
    def photon_number(self) -> float:
        return abs(complex(self.beta)) ** 2


@dataclass(frozen=True)
class SqueezedVacuum:
    """Single-mode squeezed vacuum ``S(xi)|0>``, ``xi = r e^{i phase}``; ``<a^dag a> = sinh^2 r``."""

    r: float
    phase: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "r", real_number("SqueezedVacuum.r", self.r, nonnegative=True))
        object.__setattr__(self, "phase", real_number("SqueezedVacuum.phase", self.phase))

    @property
    def photon_number(self) -> float:
        return float(np.sinh(self.r) ** 2)


@dataclass(frozen=True)
class CatState:
    """Cat state ``N (|beta> + e^{i theta} |-beta>)``, ``N = [2 + 2 e^{-2|beta|^2} cos theta]^(-1/2)``.

    ``<a^dag a> = |beta|^2 (1 - e^{-2|beta|^2} cos theta) / (1 + e^{-2|beta|^2} cos theta)``
    (``a|C> = N beta (|beta> - e^{i theta}|-beta>)``, ``<beta|-beta> = e^{-2|beta|^2}``).
    """

    beta: complex
    theta: float

    def __post_init__(self):
        b = complex(self.beta)
        if not np.isfinite(b):
            raise ValueError(f"CatState.beta must be finite, got {self.beta!r}")
        real_number("CatState.theta", self.theta)
        if 1 + np.exp(-2 * abs(b) ** 2) * np.cos(self.theta) <= 1e-300:
            raise ValueError(f"CatState(beta={self.beta!r}, theta={self.theta!r}) is the zero vector "
                             "(beta = 0 with theta = pi): not normalizable")

    @property
    def photon_number(self) -> float:
        b2 = abs(complex(self.beta)) ** 2
        o = np.exp(-2 * b2) * np.cos(self.theta)
        return float(b2 * (1 - o) / (1 + o))


@dataclass(frozen=True)
class CoherentMixture:
    """Statistical mixture ``sum_m p_m |beta_m><beta_m|``; ``<a^dag a> = sum_m p_m |beta_m|^2``."""

    betas: Sequence
    probabilities: Sequence

    def __post_init__(self):
        b = np.atleast_1d(np.asarray(self.betas, dtype=complex))
        p = np.atleast_1d(np.asarray(self.probabilities, dtype=float))
        if b.shape != p.shape or b.ndim != 1 or not np.all(np.isfinite(b)):
            raise ValueError(f"CoherentMixture.betas and probabilities must be finite 1-D arrays of equal length, "
                             f"got {self.betas!r}, {self.probabilities!r}")
        if np.any(p < 0) or not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-12):
            raise ValueError(f"CoherentMixture.probabilities must be >= 0 and sum to 1, got {self.probabilities!r}")

    @property
    def photon_number(self) -> float:
        return float(np.sum(np.asarray(self.probabilities) * np.abs(np.asarray(self.betas, complex)) ** 2))


def cat_photon_number_paper(beta: complex, theta: float) -> float:
    """The paper's cat-state factor (eqs. 33-34): ``2 N^2 |beta|^2 (1 - cos theta)``, ``N^2 = 1/(2 + 2 e^{-2|beta|^2} cos theta)``.

    It omits the overlap ``<beta|-beta>`` in ``<a^dag a>``; it equals :attr:`CatState.photon_number` only at
    ``theta = pi/2`` and for ``beta -> 0`` (comparison in ``tests/test_potentials.py``). Kept to reproduce the paper.
    """
    b2 = abs(complex(beta)) ** 2
    n2 = 1.0 / (2 + 2 * np.exp(-2 * b2) * np.cos(theta))
    return float(2 * n2 * b2 * (1 - np.cos(theta)))


def squeezing_for_photon_number(photon_number: float) -> float:
    """Squeezing parameter ``r = asinh(sqrt(n))`` whose squeezed vacuum has ``<a^dag a> = n``.

    >>> round(squeezing_for_photon_number(1.0), 6)
    0.881374
    """
    n = real_number("photon_number", photon_number, nonnegative=True)
    return float(np.arcsinh(np.sqrt(n)))


def squeezing_db(r: float) -> float:
    """Squeezing in decibels, ``10 log10(e^{2r}) = 20 r / ln 10`` [dB]."""
    return float(20 * real_number("r", r, nonnegative=True) / np.log(10))


def paper_squeezing_for_intensity(intensity: float, wavelength: float) -> float:
    """Squeezing ``r`` of the paper's Sec. III D: ``sinh^2 r = (2 pi)^4 I / (hbar omega0 c)``.

    The paper's ratio ``U_sq/U_OB = sinh^2 r hbar omega0 c / ((2 pi)^4 I)`` is not dimensionless (it has the
    units m^3 of the continuum mode normalization): SI numbers are used as if the quantization volume
    were 1 m^3. Reproduces its ``r ~ 27`` (~240 dB) at 1e-2 W/um^2, 1064 nm.
    """
    I = real_number("intensity", intensity, positive=True)
    lam = real_number("wavelength", wavelength, positive=True)
    omega = 2 * np.pi * C0 / lam
    return squeezing_for_photon_number((2 * np.pi) ** 4 * I / (HBAR * omega * C0))


# --------------------------------------------------------------------------- landscapes
@dataclass(frozen=True)
class TweezerPair:
    """Two silica-like spheres in flat tweezers (paper Sec. IV), with optional harmonic traps.

    Parameters
    ----------
    radius : float [m]
    material : DrudeLorentz-like
        Needs ``permittivity(wavelength)`` (optics) and ``permittivity_imaginary_frequency`` (Casimir-Polder).
    wavelength : float [m]
    intensity : float or (2,) float [W/m^2]
    delta_phi : float [rad]
        Relative phase ``phi_B - phi_A``.
    polarizations : (2, 3) complex
        Polarization of tweezer A and B (e.g. ``"yy"``: both along y).
    temperature : float [K]
    real_alpha : bool
        Use ``Re alpha`` (the paper's lossless assumption; default) or the complex CM ``alpha``.
    trap_stiffness : float [N/m]
        Harmonic restoring force of each tweezer along every axis (0: the paper's flat tweezers).
    n_medium : float
    """

    radius: float
    material: object
    wavelength: float = 1064e-9
    intensity: float | Sequence = 1e10
    delta_phi: float = 0.0
    polarizations: Sequence = ((0, 1, 0), (0, 1, 0))
    temperature: float = 300.0
    real_alpha: bool = True
    trap_stiffness: float = 0.0
    n_medium: float = 1.0

    def __post_init__(self):
        real_number("TweezerPair.radius", self.radius, positive=True)
        real_number("TweezerPair.delta_phi", self.delta_phi)
        real_number("TweezerPair.trap_stiffness", self.trap_stiffness, nonnegative=True)
        real_number("TweezerPair.temperature", self.temperature, nonnegative=True)
        I = np.broadcast_to(np.asarray(self.intensity, float), (2,))
        if not np.all(np.isfinite(I)) or np.any(I <= 0):
            raise ValueError(f"TweezerPair.intensity must be finite and > 0 [W/m^2], got {self.intensity!r}")

    @property
    def k(self) -> float:
        return wavenumber(self.wavelength, self.n_medium)

    @property
    def alpha_tilde(self) -> complex:
        """``(eps - eps_m)/(eps + 2 eps_m)`` at the drive wavelength (real part if ``real_alpha``)."""
        eps = complex(self.material.permittivity(self.wavelength))
        em = self.n_medium**2
        a = (eps - em) / (eps + 2 * em)
        return a.real if self.real_alpha else a

    @property
    def alpha(self) -> complex:
        """Clausius-Mossotti polarizability ``4 pi eps0 eps_m R^3 alpha~`` [F m^2] at the drive."""
        return 4 * np.pi * EPS0 * self.n_medium**2 * self.radius**3 * self.alpha_tilde

    def fields(self) -> np.ndarray:
        """Tweezer fields at A and B, (2, 3) complex [V/m]; phase 0 at A, ``delta_phi`` at B."""
        return flat_tweezer_fields(np.broadcast_to(np.asarray(self.intensity, float), (2,)),
                                   [0.0, self.delta_phi], self.polarizations, self.n_medium)

    def sphere(self) -> FluctuatingSphere:
        return FluctuatingSphere(self.radius, self.material)

    @functools.cached_property
    def casimir_rule(self):
        """Casimir-Polder frequency rule valid for every separation > 2R (built once per pair)."""
        s = self.sphere()
        return frequency_rule(self.temperature, [s, s], 2 * self.radius * (1 + 1e-9), n_medium=self.n_medium)


def _cp_radial(pair: TweezerPair, r: np.ndarray, derivatives: int) -> np.ndarray:
    return casimir_pair_energy(r, pair.sphere(), temperature=pair.temperature, n_medium=pair.n_medium,
                               derivatives=derivatives, rule=pair.casimir_rule)


def plane_landscape(pair: TweezerPair, separations, include_casimir: bool = True) -> dict:
    """Potential seen by each sphere for separations ``r = r_B - r_A`` (any set of points).

    Returns dict of (M,) float [J]: ``"trap_A"``, ``"trap_B"`` (flat-tweezer plateau ``-1/4 Re(alpha)|E|^2``,
    constant), ``"binding_A"``, ``"binding_B"``, ``"casimir"`` (pairwise Casimir-Polder, joint) and
    ``"total_A"``, ``"total_B"`` (sum of the three).
    """
    r = np.asarray(separations, dtype=float).reshape(-1, 3)
    d = np.linalg.norm(r, axis=1)
    E = pair.fields()
    b = binding_potentials_flat(r, E[0], E[1], pair.alpha, pair.alpha, pair.k, pair.n_medium)
    trap = -0.25 * np.real(pair.alpha) * np.sum(np.abs(E) ** 2, axis=1)
    cp = _cp_radial(pair, d, 0) if include_casimir else np.zeros(len(d))
    out = {"trap_A": np.full(len(d), trap[0]), "trap_B": np.full(len(d), trap[1]),
           "binding_A": b["U_A"], "binding_B": b["U_B"], "casimir": cp}
    out["total_A"] = out["trap_A"] + out["binding_A"] + cp
    out["total_B"] = out["trap_B"] + out["binding_B"] + cp
    return out


def line_landscape(pair: TweezerPair, distances, direction=(1.0, 0.0, 0.0), include_casimir: bool = True) -> dict:
    """:func:`plane_landscape` along a line ``r = distance * direction`` (``distances`` (M,) [m] > 0)."""
    d = np.asarray(distances, dtype=float)
    u = np.asarray(direction, float)
    u = u / np.linalg.norm(u)
    return plane_landscape(pair, d[:, None] * u, include_casimir)


def _pair_forces_1d(pair: TweezerPair, x: np.ndarray, focus_sep: float, include_casimir: bool):
    """Forces on A and B along the axis and their Jacobian for positions ``x = (x_A, x_B)`` (2,)."""
    r = x[1] - x[0]
    E = pair.fields()
    b = binding_potentials_flat(np.array([[abs(r), 0, 0]]) * np.sign(r), E[0], E[1], pair.alpha, pair.alpha,
                                pair.k, pair.n_medium, order=2)
    gA, gB = b["dU_A"][0, 0], b["dU_B"][0, 0]  # dU/dr along x
    hA, hB = b["d2U_A"][0, 0, 0], b["d2U_B"][0, 0, 0]
    if include_casimir:
        cp = _cp_radial(pair, np.array([abs(r)]), 2)[:, 0]
        gA, gB = gA + np.sign(r) * cp[1], gB + np.sign(r) * cp[1]
        hA, hB = hA + cp[2], hB + cp[2]
    kt = pair.trap_stiffness
    # U_A(r), r = x_B - x_A:  F_A = -dU_A/dx_A = +U_A'(r);  F_B = -dU_B/dx_B = -U_B'(r)
    F = np.array([gA - kt * x[0], -gB - kt * (x[1] - focus_sep)])
    J = np.array([[-hA - kt, hA], [hB, -hB - kt]])  # dF_i/dx_j
    return F, J


def bound_states(pair: TweezerPair, r_guesses, focus_separation: float | None = None, *,
                 include_casimir: bool = True, tol: float = 1e-13, maxiter: int = 60) -> list[dict]:
    """Equilibria of the two-body dynamics along the separation axis and their linear stability.

    Dynamics ``m x''_A = F_A``, ``m x''_B = F_B`` with ``F_A = -dU_A/dx_A``, ``F_B = -dU_B/dx_B``
    (optical binding + Casimir-Polder) plus the trap force ``-k_t (x - focus)``. Flat tweezers
    (``trap_stiffness = 0``): a static equilibrium needs ``F_A = F_B = 0``; the Jacobian has the
    centre-of-mass eigenvalue 0 and the relative one ``-(U_A'' + U_B'')``. With traps the foci sit at
    ``0`` and ``focus_separation``.

    Parameters
    ----------
    pair : TweezerPair
    r_guesses : (G,) float [m]
        Starting separations for Newton's method (one equilibrium per converged guess, duplicates merged).
    focus_separation : float [m], optional
        Distance of the tweezer foci (traps only; default: each guess, i.e. traps centred on it).

    Returns
    -------
    list of dict: ``x`` (2,) [m], ``r`` [m], ``forces`` (2,) [N] (residual), ``jacobian`` (2, 2) [N/m],
    ``eigenvalues`` (2,) complex [N/m] of the Jacobian, ``stable`` (all eigenvalues real and < 0, apart from
    the neutral centre-of-mass mode of flat tweezers), ``static`` (``|F| <= tol`` scale), ``potential_A``,
    ``potential_B`` [J] at the equilibrium.
    """
    out = []
    for r0 in np.atleast_1d(np.asarray(r_guesses, float)):
        D = r0 if focus_separation is None else float(focus_separation)
        x = np.array([0.0, r0])
        scale = None
        ok = False
        for _ in range(maxiter):
            F, J = _pair_forces_1d(pair, x, D, include_casimir)
            if pair.trap_stiffness == 0:
                # flat tweezers: only the separation moves; solve F_B - F_A = 0 for r (COM is neutral)
                g = F[1] - F[0]
                dg = J[1, 1] - J[0, 1]  # d(F_B - F_A)/dx_B at fixed x_A
                step = np.array([0.0, -g / dg])
            else:
                step = -np.linalg.solve(J, F)
            lim = 0.05 * pair.wavelength
            step = np.clip(step, -lim, lim)
            x = x + step
            scale = np.abs(J).max() * pair.wavelength
            if np.abs(step).max() < tol * pair.wavelength:
                ok = True
                break
        if not ok or x[1] - x[0] <= 2 * pair.radius:
            continue
        F, J = _pair_forces_1d(pair, x, D, include_casimir)
        ev = np.linalg.eigvals(J)
        if pair.trap_stiffness == 0:
            # eigenvalues 0 (centre of mass) and trace(J) = -(U_A'' + U_B'') (relative motion)
            stable = bool(J[0, 0] + J[1, 1] < 0)
            static = bool(np.abs(F).max() <= 1e-9 * scale)
        else:
            stable = bool(np.all(np.abs(ev.imag) <= 1e-12 * np.abs(ev).max()) and np.all(ev.real < 0))
            static = True
        r = x[1] - x[0]
        if any(abs(r - e["r"]) < 1e-6 * pair.wavelength for e in out):
            continue
        land = line_landscape(pair, [r], include_casimir=include_casimir)
        out.append({"x": x, "r": r, "forces": F, "jacobian": J, "eigenvalues": ev, "stable": stable,
                    "static": static, "potential_A": float(land["total_A"][0]),
                    "potential_B": float(land["total_B"][0])})
    return sorted(out, key=lambda e: e["r"])
