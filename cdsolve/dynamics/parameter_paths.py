"""Phases and exceptional points of the full solver's linearized dynamics along parameter paths.

Connects :func:`cdsolve.dynamics.linear_model.linearize` (the dynamical matrix ``D = M^-1 K`` [1/s^2] of the
self-consistent coupled-dipole solver, ``K = -dF/dr`` analytic) to the generic eigen-machinery of
:mod:`cdsolve.dynamics.modes` (:func:`~cdsolve.dynamics.modes.scan`, :func:`~cdsolve.dynamics.modes.find_exceptional_points`,
:func:`~cdsolve.dynamics.modes.phase_diagram`). A path is a callable ``scene_fn(p) -> Scene`` of any scalar
knob the caller interprets (a tweezer phase, the power of one tweezer, i.e. the mechanical detuning,
a distance, ...); exceptional-point refinement calls it, and hence the solver, at new parameters.

Phase labels are those of :func:`cdsolve.dynamics.modes.classify` on the real ``D`` (read as the ``omega^2``
matrix): ``"broken"`` (a complex-conjugate pair of ``omega^2``: one mode grows, its partner decays;
PT / time-reversal broken) versus ``"stable-unbroken"``. For two particles along ``z`` this is the
exact (no rotating-wave approximation) counterpart of the phases of
:class:`cdsolve.theory.two_tweezer.TwoTweezerModel`.

:func:`two_tweezer_scene` builds the standard geometry of Rudolph et al. (PRA 110, 063507 (2024);
PRL Fig. 3): two parallel Gaussian tweezers along ``+z`` with foci a distance ``d = kd/k`` apart
along ``x``, polarization ``y`` (perpendicular to the separation), tweezer phases ``(phi, 0)``.

Examples
--------
>>> import numpy as np
>>> path = lambda p2: two_tweezer_scene(2 * np.pi * 8 + np.pi / 2, np.pi / 2, powers=(0.1, p2))
>>> s = phases_along(path, [0.09, 0.105, 0.13])  # antireciprocal: broken near equal powers
>>> s.phases.tolist()
['stable-unbroken', 'broken', 'stable-unbroken']
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..optics.beams import GaussianTweezer
from ..optics.conventions import EPS0
from .linear_model import LinearModel, linearize
from ..optics.materials import Medium
from .modes import ExceptionalPoint, PhaseDiagram, Scan, find_exceptional_points, phase_diagram, scan
from ..optics.polarizability import DipoleParticle
from ..scattering.scene import Scene

__all__ = [
    "two_tweezer_scene", "linear_models_along", "dynamical_matrix_fn", "dynamical_matrix_path",
    "exceptional_points_along", "phases_along", "phase_diagram_over", "SILICA_104NM",
]  # fmt: skip

#: 104 nm radius silica sphere (n = 1.45, 2200 kg/m^3) with the real Clausius-Mossotti ``alpha_e``
#: (no radiative correction), the particle of the closed-form model's tests
SILICA_104NM = DipoleParticle(alpha_e=4 * np.pi * EPS0 * (104e-9) ** 3 * (1.45**2 - 1) / (1.45**2 + 2),
                              radius=104e-9, density=2200.0)


#: the two-tweezer setting of Rudolph et al. (PRA 2024 Sec. IV / PRL Fig. 3) used by :func:`two_tweezer_scene`
WAVELENGTH, WAIST, POWER = 1550e-9, 1e-6, 0.1  # [m], [m], [W] per tweezer


def two_tweezer_scene(kd: float, phi: float = 0.0, *, powers=(POWER, POWER), wavelength: float = WAVELENGTH,
                      waist: float = WAIST, particle=None, n_medium: float = 1.0) -> Scene:
    """Two particles at the foci of two parallel ``+z`` Gaussian tweezers (PRA eq. 82 geometry).

    Parameters
    ----------
    kd : float [-]
        ``k d`` with ``k = 2 pi n_medium / wavelength``; foci at ``(0, 0, 0)`` and ``(d, 0, 0)``.
    phi : float [rad]
        Optical phase of tweezer 1 (tweezer 2 has phase 0), i.e. ``phi = phi_1 - phi_2``.
    powers : pair of float [W]
        ``(P_1, P_2)``; the ratio sets the mechanical detuning ``omega_2 - omega_1``.
    wavelength, waist : float [m]
        Vacuum wavelength and ``1/e^2`` waist ``w0`` of both tweezers.
    particle : Particle, optional
        Both particles; default :data:`SILICA_104NM` (needs a mass for :func:`linearize`).
    n_medium : float
        Host index.

    Returns
    -------
    Scene
        Polarization ``y`` (perpendicular to the separation: maximal coupling).

    Examples
    --------
    >>> sc = two_tweezer_scene(2 * np.pi * 8, powers=(0.1, 0.12))
    >>> round(float(sc.positions[1, 0]) * 1e6, 6), sc.n_particles
    (12.4, 2)
    """
    d = kd * wavelength / (2 * np.pi * n_medium)
    pos = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0]])
    tw = [GaussianTweezer(wavelength=wavelength, focus=p, waist=waist, power=float(pw), polarization=(0, 1, 0),
                          phase=float(ph)) for p, ph, pw in zip(pos, (phi, 0.0), powers)]
    return Scene(positions=pos, particles=SILICA_104NM if particle is None else particle, illumination=tw,
                 medium=Medium(index=n_medium))


def linear_models_along(scene_fn: Callable[..., Scene], params, dofs="z", at: str = "positions",
                        **linearize_kw) -> list[LinearModel]:
    """``[linearize(scene_fn(p), dofs, at=at, **linearize_kw) for p in params]``.

    Parameters
    ----------
    scene_fn : callable
        ``scene_fn(p) -> Scene`` for a scalar ``p``.
    params : array_like, shape (P,), float
    dofs, at, **linearize_kw
        Passed to :func:`cdsolve.dynamics.linear_model.linearize` (e.g. ``masses=``, ``method=``).

    Returns
    -------
    list of LinearModel
        Use e.g. ``pair_rates(0, 1, "z")`` for ``(g_r, g_a)`` along the path.

    Examples
    --------
    >>> lins = linear_models_along(lambda kd: two_tweezer_scene(kd), [2 * np.pi * 8])
    >>> lins[0].labels
    ['z_0', 'z_1']
    """
    p = np.asarray(params, dtype=float)
    if p.ndim != 1 or p.size == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"params must be a non-empty 1D array of finite scalars, got shape {p.shape}")
    return [linearize(scene_fn(float(x)), dofs, at=at, **linearize_kw) for x in p]


def dynamical_matrix_fn(scene_fn: Callable[..., Scene], dofs="z", at: str = "positions",
                        **linearize_kw) -> Callable[..., np.ndarray]:
    """Memoized ``D(*p) = linearize(scene_fn(*p), dofs, at=at).dynamical_matrix`` [1/s^2].

    Repeated parameters (grid ends revisited by EP refinement) cost no second solve.

    Parameters
    ----------
    scene_fn : callable
        ``scene_fn(*p) -> Scene`` of one or several scalars (:func:`phase_diagram_over` uses two).
    dofs, at, **linearize_kw
        As in :func:`cdsolve.dynamics.linear_model.linearize` (``at="equilibrium"`` re-finds the equilibrium
        at every parameter).

    Returns
    -------
    callable
        ``D(*p) -> (n, n)`` float [1/s^2] (a copy of the cached matrix), usable as ``matrix_fn`` of
        :mod:`cdsolve.dynamics.modes`; ``D.cache_info()`` gives ``{"hits": .., "misses": ..}`` (misses = solves).

    Examples
    --------
    >>> D = dynamical_matrix_fn(lambda kd: two_tweezer_scene(kd))
    >>> D(2 * np.pi * 8).shape, D.cache_info()["misses"]
    ((2, 2), 1)
    >>> _ = D(2 * np.pi * 8); D.cache_info()["hits"]
    1
    """
    cache: dict = {}
    info = {"hits": 0, "misses": 0}

    def D(*p) -> np.ndarray:
        key = tuple(float(x) for x in p)
        if key in cache:
            info["hits"] += 1
        else:
            info["misses"] += 1
            cache[key] = linearize(scene_fn(*key), dofs, at=at, **linearize_kw).dynamical_matrix
        return cache[key].copy()

    D.cache_info = lambda: dict(info)  # type: ignore[attr-defined]
    return D


def dynamical_matrix_path(scene_fn: Callable[..., Scene], params, dofs="z", at: str = "positions",
                          **linearize_kw) -> np.ndarray:
    """Dynamical matrices ``D(p) = M^-1 K`` of the full solver along a path.

    Parameters
    ----------
    scene_fn : callable
        ``scene_fn(p) -> Scene``.
    params : array_like, shape (P,), float
    dofs, at, **linearize_kw
        As in :func:`cdsolve.dynamics.linear_model.linearize`.

    Returns
    -------
    ndarray, shape (P, n, n), float [1/s^2]

    Examples
    --------
    >>> D = dynamical_matrix_path(lambda p2: two_tweezer_scene(52.0, powers=(0.1, p2)), [0.1, 0.2])
    >>> D.shape, bool(D[1, 1, 1] > D[0, 1, 1])   # stiffer second trap at higher power
    ((2, 2, 2), True)
    """
    return np.stack([m.dynamical_matrix for m in linear_models_along(scene_fn, params, dofs, at, **linearize_kw)])


def phases_along(scene_fn: Callable[..., Scene], params, dofs="z", at: str = "positions", *, rtol: float = 1e-9,
                 **linearize_kw) -> Scan:
    """:func:`cdsolve.dynamics.modes.scan` of the full solver's ``D(p)``: spectra, phase labels, EP indicators.

    Parameters
    ----------
    scene_fn, params, dofs, at, **linearize_kw
        As in :func:`dynamical_matrix_path`.
    rtol : float
        Phase tolerance of :func:`cdsolve.dynamics.modes.classify`.

    Returns
    -------
    Scan
        ``eigenvalues`` are ``omega^2`` [1/s^2]; ``phases`` from :data:`cdsolve.dynamics.modes.PHASES`.

    Examples
    --------
    >>> s = phases_along(lambda kd: two_tweezer_scene(kd), [2 * np.pi * 8, 2 * np.pi * 16])
    >>> s.phases.tolist(), s.n_complex.tolist()   # reciprocal: never broken
    (['stable-unbroken', 'stable-unbroken'], [0, 0])
    """
    return scan(dynamical_matrix_fn(scene_fn, dofs, at, **linearize_kw), params, rtol=rtol)


def exceptional_points_along(scene_fn: Callable[..., Scene], params, dofs="z", at: str = "positions", *,
                             rtol: float = 1e-9, overlap_tol: float = 1e-6,
                             **linearize_kw) -> list[ExceptionalPoint]:
    """Exceptional points of the full solver's ``D(p)`` (:func:`cdsolve.dynamics.modes.find_exceptional_points`).

    The grid is scanned, every interval where the number of complex pairs changes is refined by
    bisection and ``brentq`` on the eigenvalue discriminant, calling ``scene_fn`` and the solver at
    the new parameters (measured 10-50 extra solves per EP), and eigenvector collapse is confirmed.

    Parameters
    ----------
    scene_fn : callable
        ``scene_fn(p) -> Scene``.
    params : array_like, shape (P,), float, monotonic
        Grid with at most one EP per interval.
    dofs, at, **linearize_kw
        As in :func:`cdsolve.dynamics.linear_model.linearize`.
    rtol, overlap_tol : float
        As in :func:`cdsolve.dynamics.modes.find_exceptional_points`.

    Returns
    -------
    list of ExceptionalPoint
        ``parameter`` in the units of ``p``; ``eigenvalue`` is ``omega_EP^2`` [1/s^2].

    Examples
    --------
    >>> path = lambda p2: two_tweezer_scene(2 * np.pi * 8 + np.pi / 2, np.pi / 2, powers=(0.1, p2))
    >>> eps = exceptional_points_along(path, [0.095, 0.105, 0.125])
    >>> [round(e.parameter, 3) for e in eps]   # antireciprocal: EPs near P_2 = P_1 and above
    [0.1, 0.109]
    """
    return find_exceptional_points(dynamical_matrix_fn(scene_fn, dofs, at, **linearize_kw), params, rtol=rtol,
                                   overlap_tol=overlap_tol)


def phase_diagram_over(scene_fn: Callable[..., Scene], params_x, params_y, dofs="z", at: str = "positions", *,
                       rtol: float = 1e-9, **linearize_kw) -> PhaseDiagram:
    """:func:`cdsolve.dynamics.modes.phase_diagram` of the full solver's ``D(x, y)`` on a grid.

    Parameters
    ----------
    scene_fn : callable
        ``scene_fn(x, y) -> Scene``.
    params_x, params_y : array_like, shapes (Nx,), (Ny,), float
    dofs, at, rtol, **linearize_kw
        As in :func:`phases_along`.

    Returns
    -------
    PhaseDiagram
        Arrays (Ny, Nx): rows follow ``params_y``.

    Examples
    --------
    >>> pd = phase_diagram_over(lambda p2, phi: two_tweezer_scene(2 * np.pi * 8 + np.pi / 2, phi, powers=(0.1, p2)),
    ...                         [0.105], [0.0, np.pi / 2])
    >>> pd.labels.ravel().tolist()
    ['stable-unbroken', 'broken']
    """
    return phase_diagram(dynamical_matrix_fn(scene_fn, dofs, at, **linearize_kw), params_x, params_y, rtol=rtol)
