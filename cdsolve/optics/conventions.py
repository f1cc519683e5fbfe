"""Physical conventions of cdsolve: the single source of truth.

Every statement below is enforced by a test in ``tests/test_conventions.py``
(or the test named next to it).

Units
    SI everywhere, internally and in every file written. Lengths in metres,
    wavelengths are *vacuum* wavelengths ``wavelength`` [m], forces in newtons.

Time dependence
    ``exp(-i omega t)``; the physical field is ``Re[E exp(-i omega t)]``.
    Time averages carry the factor 1/2, e.g. intensity ``I = n_m c eps0 |E|^2 / 2``.
    Passive (lossy) media have ``Im n >= 0`` and passive particles ``Im alpha > 0``
    (more precisely: the anti-Hermitian part of alpha is positive semidefinite).

Host medium
    Lossless, non-magnetic, real relative permittivity ``eps_m = n_m**2``.
    Wavenumber ``k = 2 pi n_m / wavelength``, speed of light ``c_m = c / n_m``,
    impedance ``Z = Z0 / n_m``.

Dipoles
    ``p = alpha_e E_loc`` [C m], ``alpha_e`` in [F m^2];
    ``m = alpha_m H_loc`` [A m^2], ``alpha_m`` in [m^3].
    ``E_loc, H_loc`` = incident field + field scattered by all *other* dipoles.

Green tensors (``cdsolve.optics.green``)
    ``G(r) = exp(ikr)/(4 pi r) [(1 + i/kr - 1/(kr)^2) I + (-1 - 3i/kr + 3/(kr)^2) r^ r^]``
    so that a dipole at the origin radiates
    ``E = k^2/(eps0 eps_m) G p``, ``H = k^2 G m``,
    ``H = c_m k^2 Gx p`` and ``E = -Z k^2 Gx m`` with the cross propagator
    ``Gx(r) v = exp(ikr)/(4 pi r) (1 + i/kr) r^ x v``.
    ``G(r) = G(r)^T = G(-r)``; ``Gx(r)^T = -Gx(r) = Gx(-r)``.

Index ordering
    Per-particle 3-vectors are stacked particle-major: the 3N vector is
    ``(x_1, y_1, z_1, x_2, ...)``; the 6N coupled-dipole vector is
    ``(E_1, Z H_1, E_2, Z H_2, ...)`` (each a 3-vector).

Derivatives
    Gradient arrays ``dF[..., a, i] = d F_i / d r_a`` (derivative index first);
    Hessians ``d2F[..., a, b, i] = d^2 F_i / d r_a d r_b``.

Time-averaged force on a particle (electric + magnetic + e-m interference)
    ``F_a = 1/2 Re[p_i^* d_a E_i] + mu0/2 Re[m_i^* d_a H_i]
    - k^4/(12 pi eps0 eps_m c_m) Re[p x m^*]_a``,
    derivatives acting on the local field only.

Names of force quantities (one meaning per name, in the API, ``summary.json``, result files and plots)
    *isolated force* ``F_iso``: the force on the same particle, in the same beams, with no other
    particle present (``Solution.isolated_forces``, ``isolated_forces_N``).
    *interaction force* ``F - F_iso``: what the light scattered by the other particles adds -- optical
    binding proper (``Solution.interaction_forces``, ``interaction_forces_N``, plots "interaction force").
    *own-tweezer force* ``F_own``: the particle alone in its own tweezer alone (``own_tweezer_forces_N``).
    *array force* ``F - F_own``: what the rest of the array adds -- the other tweezers' light plus the
    interaction force (``ForceDecomposition.array``, ``array_forces_N``).
    "Optical binding" names the phenomenon; no quantity is called "binding force".
"""

from __future__ import annotations

import numpy as np
from scipy import constants as _sc

#: speed of light in vacuum [m/s]
C0: float = _sc.c
#: vacuum permittivity [F/m]
EPS0: float = _sc.epsilon_0
#: vacuum permeability [H/m]
MU0: float = _sc.mu_0
#: vacuum impedance [ohm]
Z0: float = float(np.sqrt(MU0 / EPS0))
#: reduced Planck constant [J s]
HBAR: float = _sc.hbar
#: Boltzmann constant [J/K]
KB: float = _sc.k


def wavenumber(wavelength: float, n_medium: float) -> float:
    """Wavenumber in the host medium, ``k = 2 pi n_m / wavelength`` [1/m].

    Parameters
    ----------
    wavelength : float [m]
        Vacuum wavelength.
    n_medium : float [-]
        Real refractive index of the host.

    Examples
    --------
    >>> round(wavenumber(1064e-9, 1.0) * 1e-6, 6)
    5.905249
    """
    return 2.0 * np.pi * n_medium / wavelength


def intensity_from_amplitude(amplitude: float, n_medium: float) -> float:
    """Time-averaged intensity ``I = n_m c eps0 |E|^2 / 2`` [W/m^2] of a plane wave of amplitude [V/m].

    >>> round(intensity_from_amplitude(1.0, 1.0), 6)
    0.001327
    """
    return 0.5 * n_medium * C0 * EPS0 * abs(amplitude) ** 2


def amplitude_from_intensity(intensity: float, n_medium: float) -> float:
    """Inverse of :func:`intensity_from_amplitude`: ``|E| = sqrt(2 I / (n_m c eps0))`` [V/m]."""
    return float(np.sqrt(2.0 * intensity / (n_medium * C0 * EPS0)))
