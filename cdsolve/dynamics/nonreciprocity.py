"""Zeroth- and first-order non-reciprocity factors of a particle pair (Jazayeri et al., eq. 1-2).

For particles A, B with interaction forces ``f = F - F_iso`` and a direction ``alpha``:

    NRF0_alpha = |alpha.(f_A + f_B)| / (|alpha.(f_A - f_B)| + |alpha.(f_A + f_B)|)

and for each particle P in {A, B}, direction v and coordinate w_P = w.r_P,

    NRF1_{v, w_P} = |v.d(f_A + f_B)/dw_P| / (|v.d(f_A - f_B)/dw_P| + |v.d(f_A + f_B)/dw_P|).

0 means reciprocal, 1/2 one-way, 1 fully non-reciprocal. Where numerator and denominator both
vanish (both interaction forces, or both derivatives, are zero along that direction) the pair is
reciprocal by the paper's own definition (``alpha.(f_A + f_B) = 0``), so the factor is defined as 0;
"vanish" means below ``atol`` (default 0: exact zeros only, e.g. by symmetry).
The derivatives are analytic (:func:`cdsolve.dynamics.jacobian.force_jacobian`), at full self-consistency or
at the scattering order of the solution (``orders=1`` reproduces the single-scattering picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jacobian import force_jacobian
from ..scattering.dispatch import solve

__all__ = ["nonreciprocity_factors", "all_pair_nonreciprocity_factors", "NonreciprocityFactors", "nrf_ratio"]


def nrf_ratio(plus: np.ndarray, minus: np.ndarray, atol: float = 0.0) -> np.ndarray:
    """``|plus| / (|minus| + |plus|)`` elementwise, 0 where both are <= atol.

    >>> nrf_ratio(np.array([1.0, 0.0, 2.0]), np.array([1.0, 0.0, 0.0])).tolist()
    [0.5, 0.0, 1.0]
    """
    num = np.abs(plus)
    den = np.abs(minus) + num
    both_zero = (np.abs(plus) <= atol) & (np.abs(minus) <= atol)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(both_zero | (den == 0), 0.0, num / np.where(den == 0, 1.0, den))
    return out


@dataclass(frozen=True, eq=False)
class NonreciprocityFactors:
    """Non-reciprocity factors of the pair (A, B).

    Attributes
    ----------
    zeroth : (3,) float             NRF0 along x, y, z
    first : (2, 3, 3) float         NRF1[P, v, w] for P = A (0), B (1), force direction v, coordinate w
    f : (2, 3) float [N]            interaction forces of A and B
    df : (2, 3, 2, 3) float [N/m]   df[Q, v, P, w] = d f_Q,v / d w_P
    pair : (int, int)
    """

    zeroth: np.ndarray
    first: np.ndarray
    f: np.ndarray
    df: np.ndarray
    pair: tuple


def nonreciprocity_factors(scene_or_solution, pair=(0, 1), *, orders: int | None = None,
                           atol: float = 0.0) -> NonreciprocityFactors:
    """NRF0 (3) and NRF1 (2 x 3 x 3) of particles ``pair`` in a scene of any size.

    Parameters
    ----------
    scene_or_solution : Scene or Solution
    pair : (int, int)
        Indices of particles A and B.
    orders : int, optional
        Scattering order (when a Scene is given); None = self-consistent.
    atol : float
        Threshold below which numerator and denominator count as zero (units of the quantity).

    Examples
    --------
    >>> import cdsolve as cd
    >>> sc = cd.Scene(positions=[[-0.5e-6, 0, 0], [0.5e-6, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...               illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> nrf = nonreciprocity_factors(sc)
    >>> float(nrf.zeroth[0])  # mirror-symmetric pair: reciprocal along the pair axis
    0.0
    """
    from ..scattering.solver import Solution

    if isinstance(scene_or_solution, Solution):
        sol = scene_or_solution
    else:
        sol = solve(scene_or_solution, orders=orders, method="direct")
    scene = sol.scene
    A, B = (int(pair[0]), int(pair[1]))
    N = scene.n_particles
    if A == B or not (0 <= A < N and 0 <= B < N):
        raise ValueError(f"pair must be two different particle indices in [0, {N}), got {pair!r}")
    dofs = [3 * A, 3 * A + 1, 3 * A + 2, 3 * B, 3 * B + 1, 3 * B + 2]
    F_int = sol.forces() - sol.isolated_forces()
    J = force_jacobian(sol, dofs=dofs).reshape(2, 3, 2, 3)  # [Q, v, P, w]
    return _factors(F_int, J, (A, B), [_isolated_jacobian(scene, i) for i in (A, B)], atol)


def all_pair_nonreciprocity_factors(sol, *, jacobian=None, atol: float = 0.0) -> dict:
    """NRFs of every pair of a solved scene, ``{(i, j): NonreciprocityFactors}`` for i < j.

    One full Jacobian (``jacobian``: the (3N, 3N) ``dF/dr`` of ``sol`` if already computed) and one
    single-particle Jacobian per particle serve all N(N-1)/2 pairs.
    """
    scene = sol.scene
    N = scene.n_particles
    F_int = sol.forces() - sol.isolated_forces()
    J = (force_jacobian(sol) if jacobian is None else np.asarray(jacobian)).reshape(N, 3, N, 3)
    J_iso = [_isolated_jacobian(scene, i) for i in range(N)]
    out = {}
    for A in range(N):
        for B in range(A + 1, N):
            idx = [A, B]
            block = J[np.ix_(idx, range(3), idx, range(3))]
            out[(A, B)] = _factors(F_int, block, (A, B), [J_iso[A], J_iso[B]], atol)
    return out


def _isolated_jacobian(scene, idx: int) -> np.ndarray:
    """dF_iso/dr of particle ``idx`` alone in the same beams (3, 3) [N/m]."""
    return force_jacobian(solve(scene.subset([idx]), method="direct", check_validity=False))  # checked with the scene


def _factors(F_int, J, pair, J_iso, atol) -> NonreciprocityFactors:
    """Factors from interaction forces (N, 3), the pair's force Jacobian (2, 3, 2, 3) [Q, v, P, w] and the
    two isolated Jacobians (isolated forces depend only on the particle's own position)."""
    A, B = pair
    f = np.stack([F_int[A], F_int[B]])
    J = np.array(J, dtype=float)
    for q in range(2):
        J[q, :, q, :] -= J_iso[q]
    zeroth = nrf_ratio(f[0] + f[1], f[0] - f[1], atol)
    first = nrf_ratio(J[0] + J[1], J[0] - J[1], atol).transpose(1, 0, 2)  # [P, v, w]
    return NonreciprocityFactors(zeroth=zeroth, first=first, f=f, df=J, pair=(A, B))
