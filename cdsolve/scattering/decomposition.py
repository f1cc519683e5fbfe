"""Force decomposition: own tweezer, rest of the array, and who-pushes-whom at single scattering.

Definitions (per particle i; all forces time-averaged, summed over incoherent groups, see
:mod:`cdsolve.scattering.coherence`):

``own tweezer``
    The beam whose focus is nearest to the particle (beams without a ``focus`` attribute, e.g. plane
    waves, never qualify), or an explicit mapping ``own[i] = beam index``. Beam indices run over
    :func:`flat_beams` (the members of every coherent group, group after group). Nearest-focus
    assignment is *ambiguous* -- and raises -- when the second-nearest focus is within
    ``ambiguity * wavelength`` of the nearest.
``own_tweezer`` force
    Force on the particle isolated (no other particles) in its own tweezer alone (no other beams).
``array`` (the *array force*)
    ``total - own_tweezer``: everything the rest of the array adds to the own-tweezer force. It splits into ``other_beams = isolated - own_tweezer``
    (light of the other beams at the particle, including its interference with the own tweezer
    inside a coherent group) and ``interaction = total - isolated`` (light scattered by the other
    particles: optical binding proper; the *interaction force*, :meth:`cdsolve.Solution.interaction_forces`).

Pairwise contributions at single-scattering order (``orders=1`` of :func:`cdsolve.solve`). There
the local field of i is ``u_i = u_inc,i + sum_j s_ij`` with ``s_ij`` the field of j's *incident-order*
dipole ``v0_j`` at i, the dipole of i is ``v0_i + sum_j dv_ij`` (``dv_ij = alpha_i s_ij``) and the
field gradient is ``d u_inc,i + sum_j d s_ij``. The force is a real quadratic form ``q`` of the state
``x = (p, m, dE, dH)``, so with ``x0_i`` the isolated state and ``y_ij = (dp_ij, dm_ij, dEs_ij, dHs_ij)``

    F_i - F_iso,i = sum_j B(x0_i, y_ij) + q(Y_i),   Y_i = sum_j y_ij,

where ``B(a, b) = q(a + b) - q(a) - q(b)`` is the symmetric bilinear form (evaluated term by term,
not by differences). ``bilinear[i, j] = B(x0_i, y_ij)`` is *first order* in the coupling: the
incident dipole of i in the gradient scattered by j, the dipole j induces in i in the incident
gradient, and the e-m interference term between the two -- it depends on the pair (i, j) only.
``q(Y_i)`` is *second order* (products of two scattered fields); it is attributed symmetrically,
``quadratic[i, j] = B(y_ij, Y_i)/2``: the j-j terms go to j and each three-body j-l cross term is
split half/half between j and l. Then ``sum_j (bilinear + quadratic)[i, j]`` is exactly the
``orders=1`` interaction force (tested to 1e-12). Use ``bilinear`` alone for a strictly pairwise,
first-order picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optics.beams import BeamSum
from .coherence import coherent_groups, group_scenes, solve_incoherent
from ..optics.conventions import EPS0, Z0
from ..optics.green import green_tensors
from .observables import dipole_force, isolated_forces
from .scene import Scene

__all__ = [
    "own_tweezer_forces",
    "flat_beams",
    "own_tweezers",
    "ForceDecomposition",
    "decompose_forces",
    "PairwiseForces",
    "pairwise_forces",
]


def flat_beams(illumination) -> tuple[tuple, np.ndarray]:
    """All individual beams of an illumination and the coherent group of each.

    Returns
    -------
    beams : tuple of Beam
        Members of every coherent group (a :class:`~cdsolve.optics.beams.BeamSum` contributes its members).
    group : (T,) int
        Index of the coherent group of each beam.
    """
    beams, group = [], []
    for g, beam in enumerate(coherent_groups(illumination)):
        members = beam.beams if isinstance(beam, BeamSum) else (beam,)
        beams.extend(members)
        group.extend([g] * len(members))
    return tuple(beams), np.array(group, dtype=int)


def own_tweezers(scene: Scene, own=None, *, ambiguity: float = 1e-3) -> np.ndarray:
    """Index (into :func:`flat_beams`) of each particle's own tweezer, (N,) int.

    Parameters
    ----------
    scene : Scene
    own : None or (N,) int
        Explicit mapping; None: the beam with the nearest ``focus``.
    ambiguity : float
        Nearest-focus assignment raises when the two nearest foci are closer in distance than
        ``ambiguity * wavelength``.
    """
    beams, _ = flat_beams(scene.illumination)
    N, T = scene.n_particles, len(beams)
    if own is not None:
        idx = np.asarray(own)
        if idx.shape != (N,) or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"own must be {N} integer beam indices (one per particle), got {own!r}")
        if idx.min() < 0 or idx.max() >= T:
            raise ValueError(f"own must index the {T} beams of the illumination (0..{T - 1}), got {own!r}")
        return idx.astype(int)
    if not (np.isfinite(ambiguity) and ambiguity >= 0):
        raise ValueError(f"ambiguity must be a finite number >= 0, got {ambiguity!r}")
    has_focus = np.array([getattr(b, "focus", None) is not None for b in beams])
    if not has_focus.any():
        raise ValueError("no beam of the illumination has a focus; give own= (one beam index per particle)")
    foci = np.array([b.focus if f else (np.nan,) * 3 for b, f in zip(beams, has_focus)], dtype=float)
    dist = np.linalg.norm(scene.positions[:, None, :] - foci[None, :, :], axis=2)
    dist[:, ~has_focus] = np.inf
    order = np.argsort(dist, axis=1)
    nearest = order[:, 0]
    if has_focus.sum() > 1:
        rows = np.arange(N)
        d1, d2 = dist[rows, order[:, 0]], dist[rows, order[:, 1]]
        amb = d2 - d1 <= ambiguity * scene.wavelength
        if np.any(amb):
            i = int(np.flatnonzero(amb)[0])
            raise ValueError(
                f"own tweezer of particle {i} is ambiguous: beams {int(order[i, 0])} and {int(order[i, 1])} "
                f"have foci at {d1[i]:.4g} m and {d2[i]:.4g} m; give own= explicitly"
            )
    return nearest


@dataclass(frozen=True, eq=False)
class ForceDecomposition:
    """Force on each particle split into parts (module docstring), each (N, 3) float [N].

    Attributes
    ----------
    total, isolated, interaction, own_tweezer, array, other_beams : (N, 3) float [N]
        ``interaction = total - isolated`` (the interaction force),
        ``array = total - own_tweezer = other_beams + interaction`` (the array force).
    own_beam : (N,) int
        Index of each particle's own tweezer in ``beams``.
    beams : tuple of Beam
        :func:`flat_beams` of the scene's illumination.
    """

    total: np.ndarray
    isolated: np.ndarray
    interaction: np.ndarray
    own_tweezer: np.ndarray
    own_beam: np.ndarray
    beams: tuple

    @property
    def array(self) -> np.ndarray:
        """Array force ``total - own_tweezer`` (N, 3) [N]: other beams + interaction."""
        return self.total - self.own_tweezer

    @property
    def other_beams(self) -> np.ndarray:
        return self.isolated - self.own_tweezer


def decompose_forces(scene: Scene, own=None, *, ambiguity: float = 1e-3, **solve_options) -> ForceDecomposition:
    """Total, own-tweezer, array (other beams + interaction) forces of every particle.

    Parameters
    ----------
    scene : Scene
        Coherent or :class:`~cdsolve.scattering.coherence.IncoherentBeams` illumination.
    own, ambiguity
        See :func:`own_tweezers`.
    **solve_options
        Passed to :func:`cdsolve.solve` (e.g. ``orders=1``).

    Returns
    -------
    ForceDecomposition
    """
    own_idx, own_f = own_tweezer_forces(scene, own, ambiguity=ambiguity)
    beams, _ = flat_beams(scene.illumination)
    res = solve_incoherent(scene, **solve_options)
    total = res.forces()
    iso = res.isolated_forces()
    return ForceDecomposition(total=total, isolated=iso, interaction=total - iso, own_tweezer=own_f,
                              own_beam=own_idx, beams=beams)


def own_tweezer_forces(scene: Scene, own=None, *, ambiguity: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Each particle's own tweezer (:func:`own_tweezers`) and the force it alone exerts on the particle alone.

    Returns ``(own_beam (N,) int, forces (N, 3) float [N])``; no coupled solve is needed.
    """
    own_idx = own_tweezers(scene, own, ambiguity=ambiguity)
    beams, _ = flat_beams(scene.illumination)
    own_f = np.empty((scene.n_particles, 3))
    for t in np.unique(own_idx):  # one isolated-force evaluation per tweezer (not per pair)
        idx = np.flatnonzero(own_idx == t)
        alone = Scene(positions=scene.positions[idx], particles=[scene.particles[i] for i in idx],
                      illumination=beams[t], medium=scene.medium)
        own_f[idx] = isolated_forces(alone)
    return own_idx, own_f


@dataclass(frozen=True, eq=False)
class PairwiseForces:
    """Who pushes whom at single-scattering order (module docstring).

    Attributes
    ----------
    bilinear : (N, N, 3) float [N]
        ``[i, j]``: first-order force on i from the field scattered by j (incl. its interference with
        the incident field); zero on the diagonal.
    quadratic : (N, N, 3) float [N]
        Second-order (scattered x scattered) force on i attributed to j (symmetric split).
    interaction : (N, 3) float [N]
        Interaction force at ``orders=1`` (``F - F_iso``) from the solver, summed over groups.
    """

    bilinear: np.ndarray
    quadratic: np.ndarray
    interaction: np.ndarray

    @property
    def pairwise(self) -> np.ndarray:
        """``bilinear + quadratic`` (N, N, 3) [N]; sums over j to :attr:`interaction`."""
        return self.bilinear + self.quadratic


def _cross_force(a, b, k: float, n_medium: float) -> np.ndarray:
    """Symmetric bilinear form ``q(a + b) - q(a) - q(b)`` of the dipole force, term by term.

    ``a``, ``b`` are states ``(p, m, dE, dH)`` with shapes (M, 3), (M, 3), (M, 3, 3), (M, 3, 3).
    Uses :func:`cdsolve.scattering.observables.dipole_force` for every term: the electric and magnetic terms
    pair a's dipoles with b's gradients and vice versa, the interference term a's p with b's m and
    vice versa.
    """
    pa, ma, dEa, dHa = a
    pb, mb, dEb, dHb = b
    s1 = dipole_force(pa, ma, dEb, dHb, k, n_medium, split=True)
    s2 = dipole_force(pb, mb, dEa, dHa, k, n_medium, split=True)
    zero = np.zeros_like(dEa)
    x1 = dipole_force(pa, mb, zero, zero, k, n_medium, split=True)["interference"]
    x2 = dipole_force(pb, ma, zero, zero, k, n_medium, split=True)["interference"]
    return s1["electric"] + s1["magnetic"] + s2["electric"] + s2["magnetic"] + x1 + x2


def _apply_w(g, gx, ve, vh):
    """Pair-resolved ``W v`` with ``W = [[g, -gx], [gx, g]]`` (the solver's normalized propagator).

    ``g``, ``gx`` (t, N, ..., 3, 3) (optionally with derivative indices), ``ve``, ``vh`` (N, 3);
    returns (t, N, ..., 6) = ``(e, Z h)`` of each source at each target.
    """
    def mul(t, v):
        return np.einsum("tn...ij,nj->tn...i", t, v)

    return np.concatenate([mul(g, ve) - mul(gx, vh), mul(gx, ve) + mul(g, vh)], axis=-1)


def _pair_fields(positions, p, m, k, n_medium, chunk_pairs):
    """Field and gradient of each source j at each target i separately: (N, N, 3) and (N, N, 3, 3)."""
    N = len(positions)
    eps = EPS0 * n_medium**2
    Z = Z0 / n_medium
    ve, vh = p * k**3 / eps, m * k**3 * Z  # normalized dipoles of cdsolve.scattering.solver
    E = np.zeros((N, N, 3), complex)
    H = np.zeros((N, N, 3), complex)
    dE = np.zeros((N, N, 3, 3), complex)
    dH = np.zeros((N, N, 3, 3), complex)
    rows_per = max(1, chunk_pairs // max(N, 1))
    for r0 in range(0, N, rows_per):
        rows = np.arange(r0, min(N, r0 + rows_per))
        x = positions[rows, None, :] - positions[None, :, :]
        self_pair = rows[:, None] == np.arange(N)[None, :]
        x[self_pair] = (1.0, 0.0, 0.0)  # dummy separation, zeroed below
        o = green_tensors(x, k, order=1, cross=True)
        for key in o:
            o[key] = o[key] / k
            o[key][self_pair] = 0.0
        u = _apply_w(o["G"], o["Gx"], ve, vh)  # W v for every pair separately
        du = _apply_w(o["dG"], o["dGx"], ve, vh)
        E[rows], H[rows] = u[..., :3], u[..., 3:] / Z
        dE[rows], dH[rows] = du[..., :3], du[..., 3:] / Z
    return E, H, dE, dH


def _pairwise_group(scene: Scene, chunk_pairs: int):
    from .dispatch import solve

    sol = solve(scene, orders=1)
    N, k, n = scene.n_particles, scene.k, scene.n_medium
    pos = scene.positions
    p0, m0 = sol.source_dipoles  # incident-order dipoles alpha u_inc
    dEi, dHi = scene.illumination.gradients(pos, n)
    Es, Hs, dEs, dHs = _pair_fields(pos, p0, m0, k, n, chunk_pairs)
    dp = np.einsum("iab,ijb->ija", sol.alpha_e, Es)
    dm = np.einsum("iab,ijb->ija", sol.alpha_m, Hs)

    def flat(*arrs):
        return tuple(a.reshape((N * N,) + a.shape[2:]) for a in arrs)

    def per_pair(*arrs):  # (N, ...) per target -> repeated over sources, flattened
        return tuple(np.broadcast_to(a[:, None], (N, N) + a.shape[1:]).reshape((N * N,) + a.shape[1:]) for a in arrs)

    y = flat(dp, dm, dEs, dHs)
    bil = _cross_force(per_pair(p0, m0, dEi, dHi), y, k, n).reshape(N, N, 3)
    Y = tuple(arr.sum(axis=1) for arr in (dp, dm, dEs, dHs))
    quad = 0.5 * _cross_force(y, per_pair(*Y), k, n).reshape(N, N, 3)
    return bil, quad, sol.forces() - isolated_forces(scene)


def pairwise_forces(scene: Scene, *, chunk_pairs: int = 1 << 14) -> PairwiseForces:
    """Pair-resolved interaction forces at single-scattering order, summed over incoherent groups.

    Parameters
    ----------
    scene : Scene
        Coherent or incoherent illumination (each group contributes its own pairwise forces).
    chunk_pairs : int
        Pairs per chunk of Green-tensor evaluation (memory bound).

    Returns
    -------
    PairwiseForces
    """
    parts = [_pairwise_group(s, chunk_pairs) for s in group_scenes(scene)]
    bil, quad, inter = (sum(p[i] for p in parts) for i in range(3))
    return PairwiseForces(bilinear=bil, quadratic=quad, interaction=inter)
