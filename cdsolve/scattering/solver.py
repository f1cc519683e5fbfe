"""Self-consistent electric + magnetic coupled-dipole solve.

Unknowns are the local fields at the particles in the normalized form ``u = (E, Z H)``
(both in V/m). With the dimensionless polarizabilities ``chi_e = k^3 alpha_e/(eps0 eps_m)``,
``chi_m = k^3 alpha_m`` and the dimensionless propagators ``g = G/k``, ``gx = Gx/k``,
the coupled-dipole equations read

    E_i  = E_inc,i  + sum_{j != i} [ g_ij chi_e,j E_j  - gx_ij chi_m,j ZH_j ]
    ZH_i = ZH_inc,i + sum_{j != i} [ gx_ij chi_e,j E_j + g_ij  chi_m,j ZH_j ]

i.e. ``(1 - W chi) u = u_inc``. Internally the vector is field-major,
``u = (E_1..E_N, ZH_1..ZH_N)`` (two blocks of 3N); :func:`interaction_matrix` exports the
particle-major 6N x 6N matrix of :mod:`cdsolve.optics.conventions`.

Methods
-------
``"direct"``   dense LU (scipy), condition number estimated from the factorization (LAPACK gecon).
``"iterative"`` restarted GMRES(60) on the matrix-free product with the dense propagator blocks; it stops
               when the *true* residual ``||u_inc - A u|| <= rtol ||u_inc||`` (checked after every
               restart cycle), after ``maxiter`` matrix-vector products (a hard cap, every product counted,
               the residual checks included), or when a whole cycle no longer reduces the true residual.
               If it did not converge, it falls back to the direct solve (when that fits in memory) and
               records why.
``"fft"``      the same GMRES (restart 30) on the FFT operator of :mod:`cdsolve.scattering.fft_operator`
               (particles on a regular grid); electric-only scenes iterate on the 3N electric system.
``"fmm"``      the same on ``cdsolve.scattering.fmm_operator.FMMOperator`` (fast multipoles, any positions).
``"auto"``     direct for 6N <= 1800; above, fft when the positions lie on a grid and N >= 300, else
               iterative (:func:`choose_backend`; ``info["backend"]`` records the choice and why).
``orders=n``   instead of solving: the local fields contain n scattering events
               (Neumann series ``u_n = u_inc + W chi u_(n-1)``). Everything derived is consistent to
               that order: the dipoles are ``alpha u_n`` and the scattered field (and its gradient, used
               for forces) seen by a particle is radiated by the order-(n-1) dipoles of the others.
               ``orders=0`` ignores all coupling (forces = isolated forces); ``orders=1`` is the
               single-scattering picture of the literature (first order in the coupling). The series
               converges only when the spectral radius of ``W chi`` is < 1; for ``n >= 2`` growing terms
               raise :class:`SeriesDivergenceWarning`.

Numerical honesty
-----------------
After every self-consistent solve the true relative residual ``||u_inc - (1 - W chi) u|| / ||u_inc||`` is
computed (``info["residual"]``). Both methods have the same documented tolerance, ``rtol``: a residual
above it raises :class:`SolveAccuracyWarning` with the residual, ``rtol`` and a condition estimate (the
LU estimate of the direct path; for the iterative path a lower bound from the Arnoldi Hessenberg matrices,
``info["condition_kind"]`` says which). Near a collective resonance a residual near
``eps * condition`` (eps = 2.2e-16) is the floor of any double-precision solve, and the relative error of
the fields can be as large as ``condition * residual`` (``info["error_bound"]``); a condition above 1e13
also raises :class:`IllConditionedWarning`.

Resources
---------
Before anything is allocated, :func:`estimate_resources` predicts the peak memory (and a rough time) of
the chosen method from N; when it exceeds the memory available (``/proc/meminfo`` MemAvailable, capped by
a cgroup limit) the solve raises :class:`ResourceError` unless ``force=True``.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.linalg as sla

from .._version import __version__
from ..optics.beams import IncoherentBeams
from ..optics.conventions import EPS0, Z0
from ..optics.dipole_fields import dipole_fields
from ..optics.green import _evaluate, _radial_coefficients, pair_geometry
from .observables import (
    cross_sections,
    fields_at,
    isolated_forces,
    local_field_gradients,
    optical_forces,
    optical_torques,
)
from .fft_operator import FFTOperator, padded_shape
from .multi_rhs import gmres_columns, single_threaded_blas
from .operators import BackendUnavailableError, GridEmbedding, LatticeMismatchError, OperatorBase, detect_grid
from .scene import Scene

__all__ = ["Solution", "CouplingOperator", "interaction_matrix", "SolveMethod", "SolveAccuracyWarning",
           "IllConditionedWarning", "SeriesDivergenceWarning", "ResourceError", "estimate_resources",
           "available_memory", "choose_backend", "make_operator", "LatticeMismatchError",
           "BackendUnavailableError"]

SolveMethod = Literal["auto", "direct", "iterative", "fft", "fmm"]
_METHODS = ("auto", "direct", "iterative", "fft", "fmm")
_AUTO_DIRECT_MAX = 1800
#: particles from which ``method="auto"`` uses the FFT backend for a scene on a grid: the whole range above
#: the dense LU's (benchmarks/bench_scaling.py: FFT solve + forces beat the dense ones at every N measured,
#: 0.025 s vs 0.5 s at N = 100, 0.24 s vs 2.1 s at N = 1024)
_AUTO_FFT_MIN = 300
_GMRES_RESTART = 60
#: restart length of GMRES on the fast (FFT, FMM) operators: their Krylov basis is the largest array
_GMRES_RESTART_FAST = 30
_EPS = float(np.finfo(float).eps)
#: condition number above which IllConditionedWarning is raised whatever the residual
_ILL_CONDITIONED = 1e13


class SolveAccuracyWarning(UserWarning):
    """The solve did not reach its tolerance (the message gives residual, tolerance and a condition estimate)."""


class IllConditionedWarning(SolveAccuracyWarning):
    """The coupled-dipole system is close to singular (near a collective resonance or overlap)."""


class SeriesDivergenceWarning(SolveAccuracyWarning):
    """A truncated scattering-order (Neumann) series whose terms grow: it diverges; solve self-consistently."""


class ResourceError(MemoryError):
    """A solve would need more memory than is available (raised before anything large is allocated).

    Attributes ``required`` and ``available`` [bytes] and ``estimate`` (the :func:`estimate_resources` dict).
    """

    def __init__(self, message: str, required: int = 0, available: int | None = None, estimate: dict | None = None):
        super().__init__(message)
        self.required = required
        self.available = available
        self.estimate = estimate or {}


class CouplingOperator(OperatorBase):
    """Dimensionless propagators between all particle pairs, stored as Cartesian blocks (the dense backend).

    Implements the operator interface of :mod:`cdsolve.scattering.operators`.

    ``g = G/k`` is symmetric in its Cartesian indices, so only the six blocks ``g[a, b]`` (a <= b),
    each (N, N) over particle pairs, are kept; the cross propagator ``gx v = C x cross v`` needs only
    the three blocks ``K[c] = C x_c / k``. A product with the whole 6N x 6N operator then reads
    9 N^2 complex numbers (memory traffic is what limits it), and several right-hand sides are
    handled in one pass.

    Parameters
    ----------
    positions : (N, 3) float [m]
    k : float [1/m]
    chi_e, chi_m : (N, 3, 3) complex
        Dimensionless polarizabilities ``k^3 alpha_e/(eps0 eps_m)`` and ``k^3 alpha_m``.
    """

    _PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))

    def __init__(self, positions: np.ndarray, k: float, chi_e: np.ndarray, chi_m: np.ndarray):
        N = len(positions)
        self.N = N
        self.k = float(k)
        self.positions = np.asarray(positions, float)
        self.chi_e = chi_e
        self.chi_m = chi_m
        self.has_magnetic = bool(np.any(chi_m))
        X, inv_r, phase = pair_geometry(positions, positions, k)  # phase = 0 on the diagonal: no self term
        co = _radial_coefficients(k)
        A = _evaluate(co["A"], phase, inv_r)
        A *= 1.0 / k
        B = _evaluate(co["B"], phase, inv_r)
        B *= 1.0 / k
        # g[a, b] = A delta_ab + B x_a x_b, the six blocks stacked in one contiguous (6, N, N) array
        self.g = np.empty((6, N, N), complex)
        for i, (a, b) in enumerate(self._PAIRS):
            np.multiply(B, X[a] * X[b], out=self.g[i])
            if a == b:
                self.g[i] += A
        del A, B
        # cross blocks: needed for the magnetic field at the particles even without magnetic dipoles
        C = _evaluate(co["C"], phase, inv_r)
        C *= 1.0 / k
        self.K = np.empty((3, N, N), complex)
        for c in range(3):
            np.multiply(C, X[c], out=self.K[c])

    def _products(self, blocks: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Every block times every component of ``V`` in one BLAS call: (nb, N, 3, R)."""
        nb, N, _ = blocks.shape
        R = V.shape[2]
        return (blocks.reshape(nb * N, N) @ V.reshape(N, 3 * R)).reshape(nb, N, 3, R)

    def apply_g(self, V: np.ndarray) -> np.ndarray:
        """``g`` applied to stacked fields ``V`` (N, 3, R) -> (N, 3, R) (R right-hand sides)."""
        P = self._products(self.g, V)
        out = np.zeros_like(V)
        for i, (a, b) in enumerate(self._PAIRS):
            out[:, a] += P[i, :, b]
            if a != b:
                out[:, b] += P[i, :, a]
        return out

    def apply_gx(self, V: np.ndarray) -> np.ndarray:
        """``gx`` (``v -> C x cross v``) applied to ``V`` (N, 3, R) -> (N, 3, R)."""
        P = self._products(self.K, V)
        out = np.zeros_like(V)
        # (x cross v)_a = eps_abc x_b v_c: K_c enters (gx v)_a with +v_b and (gx v)_b with -v_a
        for c, (a, b) in enumerate(((2, 1), (0, 2), (1, 0))):
            out[:, a] += P[c, :, b]
            out[:, b] -= P[c, :, a]
        return out

    def scattered_field_gradients(self, ve: np.ndarray, vh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(dE, dZH)`` (N, 3, 3) complex, ``[n, a, i] = d_a`` of the field scattered at particle n by the
        other particles' normalized dipoles ``ve, vh`` (N, 3) (:mod:`cdsolve.scattering.operators`).

        Pairwise (O(N^2) work, O(N) memory: chunked) through :func:`cdsolve.optics.dipole_fields.dipole_fields`
        with the normalized dipoles written as vacuum dipoles ``p = eps0 ve/k^3``, ``m = vh/(Z0 k^3)``.
        """
        k = self.k
        dE, dH = dipole_fields(self.positions, self.positions, ve * (EPS0 / k**3), vh / (Z0 * k**3), k, 1.0,
                               gradient=True, fields=False)
        dH *= Z0
        return dE, dH

    def _dense_blocks(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Particle-major 3N x 3N matrices of ``g`` and ``gx``."""
        N = self.N
        g = np.empty((N, 3, N, 3), complex)
        for i, (a, b) in enumerate(self._PAIRS):
            g[:, a, :, b] = self.g[i]
            g[:, b, :, a] = self.g[i]
        gx = np.zeros((N, 3, N, 3), complex)
        for c, (a, b) in enumerate(((2, 1), (0, 2), (1, 0))):
            gx[:, a, :, b] = self.K[c]
            gx[:, b, :, a] = -self.K[c]
        return g.reshape(3 * N, 3 * N), gx.reshape(3 * N, 3 * N)

    def dense_electric(self) -> np.ndarray:
        """``1 - g chi_e`` (3N x 3N): the whole system when no particle has a magnetic dipole.

        Then the E equations close on themselves and ``Z H = Z H_inc + gx chi_e E`` follows
        explicitly, so a factorization of this matrix (8x cheaper than the 6N one) is the full solve.
        """
        N = self.N
        g, _ = self._dense_blocks()
        diag = np.einsum("jaa->ja", self.chi_e)
        if np.array_equal(self.chi_e, diag[:, :, None] * np.eye(3)):
            A = g * -diag.reshape(1, 3 * N)
        else:
            A = -np.einsum("rja,jab->rjb", g.reshape(3 * N, N, 3), self.chi_e).reshape(3 * N, 3 * N)
        A[np.diag_indices(3 * N)] += 1.0
        return A

    def dense(self) -> np.ndarray:
        """The field-major 6N x 6N matrix ``1 - W chi``."""
        N = self.N
        n3 = 3 * N
        g, gx = self._dense_blocks()
        W = np.zeros((6 * N, 6 * N), complex)
        W[:n3, :n3] = g
        W[n3:, n3:] = g
        W[:n3, n3:] = -gx
        W[n3:, :n3] = gx
        del g, gx
        # right-multiply by block-diagonal chi: column block (j) times chi_j
        chi = np.concatenate([self.chi_e, self.chi_m])  # (2N, 3, 3), field-major blocks
        diag = np.einsum("jaa->ja", chi)
        if np.array_equal(chi, diag[:, :, None] * np.eye(3)):  # diagonal tensors: scale the columns
            W *= -diag.reshape(1, 6 * N)
        else:
            W = -np.einsum("rja,jab->rjb", W.reshape(6 * N, 2 * N, 3), chi).reshape(6 * N, 6 * N)
        W[np.diag_indices(6 * N)] += 1.0
        return W


@dataclass(frozen=True, eq=False)
class Solution:
    """Result of :func:`solve`: induced dipoles and local fields, with provenance.

    Attributes
    ----------
    scene : Scene
    E_local : (N, 3) complex [V/m]   local electric field (incident + scattered by others)
    H_local : (N, 3) complex [A/m]   local magnetic field
    p : (N, 3) complex [C m]         electric dipoles
    m : (N, 3) complex [A m^2]       magnetic dipoles
    alpha_e : (N, 3, 3) complex [F m^2]
    alpha_m : (N, 3, 3) complex [m^3]
    method : str                     "direct", "iterative", "orders=n"
    info : dict                      residual, iterations, condition estimate, timings [s], version
    """

    scene: Scene
    E_local: np.ndarray
    H_local: np.ndarray
    p: np.ndarray
    m: np.ndarray
    alpha_e: np.ndarray
    alpha_m: np.ndarray
    method: str
    info: dict = field(default_factory=dict)
    _operator: Any = field(default=None, repr=False)
    _lu: Any = field(default=None, repr=False)
    #: dipoles (p, m) that radiate the scattered part of the local fields; None = (p, m) (self-consistent)
    _sources: Any = field(default=None, repr=False)

    @property
    def coherent_parts(self) -> tuple["Solution", ...]:
        """The coherent solutions whose time-averaged observables add up to this one's: ``(self,)``.

        :class:`cdsolve.scattering.coherence.IncoherentSolution` has the same property (one solution
        per coherent group), so code above this layer (Jacobians, noise) treats both alike.
        """
        return (self,)

    @property
    def source_dipoles(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p, m)`` (N, 3) that radiate the scattered part of the local fields.

        Equal to ``(p, m)`` for a self-consistent solve; the order-(n-1) dipoles for ``orders=n``.
        """
        return (self.p, self.m) if self._sources is None else self._sources

    # observables live in cdsolve.scattering.observables; thin delegating methods keep the stable surface
    def forces(self) -> np.ndarray:
        """Time-averaged optical force on each particle, (N, 3) float [N].

        Plus the Casimir-Polder force when the scene asks for it (``Scene.casimir``).
        """
        F = optical_forces(self)
        return F if self.scene.casimir is None else F + self.scene.casimir.forces(self.scene)

    def isolated_forces(self) -> np.ndarray:
        """Force each particle would feel alone in the same beams, (N, 3) float [N]."""
        return isolated_forces(self.scene)

    def interaction_forces(self) -> np.ndarray:
        """Interaction (optical-binding) force ``F - F_iso``, (N, 3) float [N]."""
        return self.forces() - self.isolated_forces()

    def force_components(self) -> dict:
        """Electric, magnetic and e-m interference parts of :meth:`forces` (each (N, 3) [N]).

        With ``Scene.casimir`` also ``"casimir"`` (included in ``"total"``).
        """
        parts = optical_forces(self, split=True)
        if self.scene.casimir is not None:
            parts["casimir"] = self.scene.casimir.forces(self.scene)
            parts["total"] = parts["total"] + parts["casimir"]
        return parts

    def torques(self) -> np.ndarray:
        """Time-averaged torque about each particle centre, (N, 3) float [N m]."""
        return optical_torques(self)

    def cross_sections(self) -> dict:
        """Extinction, scattering and absorption of the whole cluster (see :func:`cdsolve.scattering.observables.cross_sections`)."""
        return cross_sections(self)

    def fields(self, points, *, scattered_only: bool = False):
        """Total (or scattered) ``E (M,3) [V/m], H (M,3) [A/m]`` at arbitrary ``points`` (M, 3) [m]."""
        return fields_at(self, points, scattered_only=scattered_only)

    def local_field_gradients(self):
        """``dE, dH`` (N, 3, 3) at the particles: ``dE[n, a, i] = d E_i / d r_a`` of the local field."""
        return local_field_gradients(self)


def interaction_matrix(scene: Scene) -> np.ndarray:
    """Particle-major 6N x 6N coupled-dipole matrix ``1 - W chi`` for ``u = (E_1, Z H_1, E_2, ...)``.

    This is the Green-tensor coupling of the whole array in dimensionless form (see module docs).
    """
    op = _operator(scene)
    A = op.dense()
    N = scene.n_particles
    perm = np.arange(6 * N).reshape(2, N, 3).transpose(1, 0, 2).ravel()  # particle-major -> field-major index
    return A[np.ix_(perm, perm)]


def _operator(scene: Scene, polarizabilities=None) -> CouplingOperator:
    """The dense operator of ``scene`` (the reference backend)."""
    k = scene.k
    eps = EPS0 * scene.n_medium**2
    ae, am = scene.polarizabilities() if polarizabilities is None else polarizabilities
    return CouplingOperator(scene.positions, k, k**3 * ae / eps, k**3 * am)


def choose_backend(scene: Scene, method: str = "auto", orders: int | None = None) -> dict:
    """The operator backend of a solve: ``{"name", "why", "grid"}`` (``grid``: a GridEmbedding or None).

    Rule of ``method="auto"``: dense LU for ``6N <= 1800``; above, the FFT backend when the positions lie on
    a regular grid (:func:`cdsolve.scattering.operators.detect_grid`) and ``N >= 300`` (the FFT backend
    beat the dense one at every N measured on this 2-core machine, benchmarks/bench_scaling.py); otherwise the dense
    blocks with GMRES. A scattering-order series (``orders``) uses the dense blocks unless ``"fft"``/``"fmm"``
    is asked for. ``method="fft"`` on positions off a grid raises :class:`LatticeMismatchError`.
    """
    N = scene.n_particles
    if method == "fft":
        grid = detect_grid(scene.positions)  # LatticeMismatchError names why it does not fit
        return {"name": "fft", "why": f"forced (method='fft'); grid {'x'.join(map(str, grid.shape))}", "grid": grid}
    if method == "fmm":
        return {"name": "fmm", "why": "forced (method='fmm')", "grid": None}
    if method in ("direct", "iterative"):
        return {"name": method, "why": f"forced (method={method!r})", "grid": None}
    if orders is not None:
        return {"name": "iterative", "why": "scattering-order series on the dense blocks", "grid": None}
    if 6 * N <= _AUTO_DIRECT_MAX:
        return {"name": "direct", "why": f"auto: 6N = {6 * N} <= {_AUTO_DIRECT_MAX} unknowns, dense LU is fastest",
                "grid": None}
    if N >= _AUTO_FFT_MIN:
        try:
            grid = detect_grid(scene.positions)
        except LatticeMismatchError as exc:
            why = f"auto: N = {N} off a regular grid ({str(exc).split(':')[0]}), dense blocks + GMRES"
            return {"name": "iterative", "why": why, "grid": None}
        return {"name": "fft", "why": f"auto: N = {N} >= {_AUTO_FFT_MIN} on a {'x'.join(map(str, grid.shape))} "
                                      "grid, FFT convolution beats the dense blocks", "grid": grid}
    return {"name": "iterative", "why": f"auto: 6N = {6 * N} > {_AUTO_DIRECT_MAX} and N < {_AUTO_FFT_MIN} (or off "
                                        "a grid), dense blocks + GMRES", "grid": None}


def make_operator(scene: Scene, backend: str, *, grid: GridEmbedding | None = None, precision: float = 1e-10):
    """Operator of ``scene`` for ``backend`` ("direct"/"iterative": dense, "fft", "fmm").

    ``"fmm"`` imports ``cdsolve.scattering.fmm_operator.FMMOperator`` here (``precision``: its requested
    relative accuracy) and raises :class:`BackendUnavailableError` when that module or ``fmm3dpy`` is missing.
    """
    if backend in ("direct", "iterative"):
        return _operator(scene)
    k = scene.k
    eps = EPS0 * scene.n_medium**2
    ae, am = scene.polarizabilities()
    chi_e, chi_m = k**3 * ae / eps, k**3 * am
    if backend == "fft":
        return FFTOperator(scene.positions, k, chi_e, chi_m, grid=grid)
    if backend == "fmm":
        try:
            from .fmm_operator import FMMOperator

            return FMMOperator(scene.positions, k, chi_e, chi_m, precision=precision)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"method='fmm' needs cdsolve.scattering.fmm_operator and the fmm3dpy package (pip install fmm3dpy): "
                f"{exc}") from exc
    raise ValueError(f"backend must be 'direct', 'iterative', 'fft' or 'fmm', got {backend!r}")


def _incident_vector(scene: Scene) -> np.ndarray:
    E, H = scene.incident_fields()
    Z = Z0 / scene.n_medium
    return np.concatenate([np.asarray(E, complex).ravel(), (Z * np.asarray(H, complex)).ravel()])


# ---------------------------------------------------------------------------------------------- resources
#: peak memory per N^2 [bytes] of each stage (complex128 = 16 bytes), counted from the code and checked
#: with tracemalloc (tests/test_solver_numerics.py): operator: 9 stored (N, N) complex blocks (144) plus
#: construction temporaries (separations, 1/r, phase, radial factors); direct: operator (144) + the field-major
#: 6N x 6N matrix (576) + the Fortran-ordered copy scipy's LU makes of it (576); electric-only direct:
#: operator (144) + particle-major g and gx (288) + the 3N x 3N matrix (144). Plus 5 % for the rest.
_BYTES_OPERATOR_PEAK = 250
_BYTES_OPERATOR = 144
_BYTES_DIRECT_PEAK = {True: 144 + 288 + 144, False: 144 + 576 + 576}  # key: electric_only
_MARGIN = 1.05
_BYTES_LU = {True: 144, False: 576}
#: rough speeds for the time estimate (measured on one core of a 2020s x86 machine; order of magnitude only)
_FLOPS_LU = 1e10            # LAPACK zgetrf [real flop/s]
_SECONDS_ASSEMBLE = 1e-6    # operator assembly [s per N^2]
_SECONDS_MATVEC = 3e-8      # one product with W chi [s per N^2]


def available_memory() -> int | None:
    """Memory this process can still allocate [bytes]: ``MemAvailable`` of ``/proc/meminfo`` (or
    ``os.sysconf`` available pages), capped by a cgroup memory limit; None when it cannot be read."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            avail = None
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                raw = f.read().strip()
            if raw == "max":
                continue
            with open(usage_file) as f:
                used = int(f.read().strip())
            room = max(int(raw) - used, 0)
            if room < 2**60:  # cgroup v1 reports "no limit" as a huge number
                avail = room if avail is None else min(avail, room)
        except (OSError, ValueError):
            continue
    return avail


def _resolve_method(method: str, n_particles: int, orders: int | None) -> str:
    if orders is not None and method not in ("fft", "fmm"):
        return f"orders={int(orders)}"
    if method == "auto":
        return "direct" if 6 * n_particles <= _AUTO_DIRECT_MAX else "iterative"
    return method


#: FFT backend, per padded grid node: at most 33 cached kernel FFTs (9 field + 24 gradient, complex)
_FFT_KERNELS = 33
#: FFT backend, per padded grid node: construction temporaries and convolution work arrays (complex grids)
_FFT_WORK = 14
#: FMM backend: rough bytes per particle of the library's tree and expansions (order of magnitude only)
_BYTES_FMM_PER_PARTICLE = 8192
_FLOPS_FFT = 2e9            # complex FFT throughput [flop/s], 5 M log2 M flops per transform (rough)


def estimate_resources(n_particles: int, method: str = "auto", *, orders: int | None = None,
                       electric_only: bool = False, maxiter: int = 500, n_solves: int = 1,
                       grid_shape: tuple | None = None) -> dict:
    """Peak memory [bytes] and a rough wall time [s] of a coupled-dipole solve, from the particle count.

    Parameters
    ----------
    n_particles : int
        N.
    method : {"auto", "direct", "iterative", "fft", "fmm"}
        ``"auto"`` resolves to the dense backends here (the FFT choice needs the geometry:
        :func:`check_resources`).
    orders : int, optional
        Scattering-order series instead of a solve (needs only the operator).
    electric_only : bool
        No particle has a magnetic dipole: the direct solve factors the 3N x 3N electric system.
    maxiter : int
        Product cap of the iterative solver (its time estimate is the worst case).
    n_solves : int
        Coherent solves kept in one result (incoherent beam groups): all but the last are held in memory.
    grid_shape : tuple of 3 int, optional
        Grid nodes per axis (:class:`cdsolve.scattering.operators.GridEmbedding`); needed for ``"fft"``,
        whose memory is ~ ``(33 + 14) x 16 B`` per node of the zero-padded grid (O(N), not O(N^2)).

    Returns
    -------
    dict with ``method`` (resolved), ``bytes`` (peak), ``bytes_kept`` (held by each returned Solution),
    ``seconds`` (rough; from fixed nominal speeds, not measured here).

    Examples
    --------
    >>> est = estimate_resources(200_000, "iterative")
    >>> est["bytes"] > 5e12  # the 9 stored N x N complex propagator blocks alone are 5.8 TB
    True
    >>> estimate_resources(100_000, "fft", grid_shape=(317, 317, 1))["bytes"] < 2**30  # 640 x 640 padded grid
    True
    """
    N = int(n_particles)
    used = _resolve_method(method, N, orders)
    n2 = float(N) ** 2
    assemble = _SECONDS_ASSEMBLE * n2
    products = int(orders) if orders is not None else int(maxiter)
    if used == "fft":
        if grid_shape is None:
            raise ValueError("estimate_resources(method='fft') needs grid_shape, the grid nodes per axis")
        M = float(np.prod(padded_shape(grid_shape))) if any(int(n) > 1 for n in grid_shape) else 1.0
        krylov = (_GMRES_RESTART_FAST + 2) * 6 * N * 16.0
        kept = _FFT_KERNELS * 16.0 * M
        peak = (_FFT_KERNELS + _FFT_WORK) * 16.0 * M + krylov
        seconds = (products + 2) * 12 * 5 * M * max(math.log2(M), 1.0) / _FLOPS_FFT
    elif used == "fmm":
        kept = _BYTES_FMM_PER_PARTICLE * float(N)
        peak = kept + (_GMRES_RESTART_FAST + 2) * 6 * N * 16.0
        seconds = products * 1e-5 * N  # rough: ~10 us per particle and product
    elif used == "direct":
        peak = _BYTES_DIRECT_PEAK[electric_only] * n2
        kept = (_BYTES_OPERATOR + _BYTES_LU[electric_only]) * n2
        n = (3 if electric_only else 6) * N
        seconds = assemble + (8.0 / 3.0) * n**3 / _FLOPS_LU
    else:
        krylov = (_GMRES_RESTART + 2) * 6 * N * 16.0  # GMRES basis vectors
        peak = _BYTES_OPERATOR_PEAK * n2 + (krylov if used == "iterative" else 0.0)
        kept = _BYTES_OPERATOR * n2
        seconds = assemble + products * _SECONDS_MATVEC * n2
    peak = _MARGIN * (peak + 64 * 6 * N)  # + O(N) arrays: polarizabilities, fields, dipoles
    total = peak + (max(int(n_solves), 1) - 1) * kept
    return {"method": used, "bytes": int(total), "bytes_kept": int(kept),
            "seconds": float(seconds * max(int(n_solves), 1))}


def _electric_only(scene: Scene) -> bool:
    """No particle of ``scene`` has a magnetic polarizability (each distinct particle evaluated once)."""
    unique = {id(q): q for q in scene.particles}
    return not any(np.any(q.polarizabilities(scene.wavelength, scene.n_medium)[1]) for q in unique.values())


def _gib(b: float) -> str:
    return f"{b / 2**30:.3g} GiB"


def check_resources(scene: Scene, *, method: str = "auto", orders: int | None = None, maxiter: int = 500,
                    n_solves: int = 1, force: bool = False) -> dict:
    """Estimate the resources of solving ``scene`` and raise :class:`ResourceError` if they do not fit.

    The backend is :func:`choose_backend`'s (lattice detection included). Nothing of size N^2 is allocated. ``force=True`` skips the refusal (the estimate is still returned).
    Returns the :func:`estimate_resources` dict plus ``available`` [bytes] (None when unknown).
    """
    N = scene.n_particles
    backend = choose_backend(scene, method, orders)
    chosen = backend["name"] if (method != "auto" or orders is None) else method
    used = _resolve_method(chosen, N, orders)
    eo = _electric_only(scene) if used == "direct" else False
    grid = backend["grid"]
    est = estimate_resources(N, chosen, orders=orders, electric_only=eo, maxiter=maxiter, n_solves=n_solves,
                             grid_shape=None if grid is None else grid.shape)
    est["backend"] = {"name": backend["name"], "why": backend["why"]}
    avail = available_memory()
    est["available"] = avail
    if not force and avail is not None and est["bytes"] > avail:
        ways = ["fewer particles"]
        if used == "direct":
            ways.append('method="iterative" (needs ~' + _gib(estimate_resources(N, "iterative", maxiter=maxiter,
                                                                                 n_solves=n_solves)["bytes"]) + ")")
        ways.append("force=True (cdsolve run --force) to try anyway")
        raise ResourceError(
            f"solving {N} particles with method {used!r}{f' ({n_solves} incoherent groups)' if n_solves > 1 else ''} "
            f"needs about {_gib(est['bytes'])} of memory (~{est['seconds']:.2g} s), but only {_gib(avail)} is "
            f"available; use " + ", or ".join(ways),
            required=est["bytes"], available=avail, estimate=est)
    return est


# ---------------------------------------------------------------------------------------------- validation
def check_solve_options(method, orders, rtol, maxiter, force) -> None:
    """Validate the options of :func:`solve_coherent` (TypeError/ValueError naming the argument)."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    if orders is not None and (isinstance(orders, bool) or not isinstance(orders, (int, np.integer)) or orders < 0):
        raise ValueError(f"orders must be None or a non-negative integer, got {orders!r}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating, np.integer)):
        raise TypeError(f"rtol must be a real number in [{_EPS:.3g}, 1), got {type(rtol).__name__} {rtol!r}")
    if not (np.isfinite(rtol) and _EPS <= rtol < 1):
        raise ValueError(f"rtol must be a relative residual in [{_EPS:.3g}, 1) (machine epsilon to 1), got {rtol!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)):
        raise TypeError(f"maxiter must be an integer number of matrix-vector products >= 1, "
                        f"got {type(maxiter).__name__} {maxiter!r}")
    if maxiter < 1:
        raise ValueError(f"maxiter must be >= 1 (the cap on matrix-vector products of the iterative solver), "
                         f"got {maxiter!r}")
    if not isinstance(force, (bool, np.bool_)):
        raise TypeError(f"force must be True or False, got {force!r}")


def solve_coherent(
    scene: Scene,
    *,
    method: SolveMethod = "auto",
    orders: int | None = None,
    rtol: float = 1e-10,
    maxiter: int = 500,
    force: bool = False,
    x0=None,
) -> Solution:
    """Solve the coupled electric + magnetic dipole equations of ``scene`` with coherent illumination.

    The public entry point is :func:`cdsolve.solve` (:mod:`cdsolve.scattering.dispatch`): it checks
    the dipole model's validity and sends incoherent illumination to
    :func:`cdsolve.scattering.coherence.solve_incoherent`, which calls this function once per group.

    Parameters
    ----------
    scene : Scene
    method : {"auto", "direct", "iterative"}
        See the module docstring.
    orders : int, optional
        Number of scattering events instead of the self-consistent solution (0 = no coupling,
        1 = single scattering). Growing terms (``orders >= 2``) raise :class:`SeriesDivergenceWarning`.
    rtol : float
        Tolerance on the true relative residual ``||u_inc - A u|| / ||u_inc||`` of both methods, in
        [2.2e-16, 1). Above it: :class:`SolveAccuracyWarning` (see the module docstring).
    maxiter : int
        Cap on the matrix-vector products of the iterative solver (>= 1; residual checks included;
        one product costs ~9 N^2 complex multiply-adds). Not reaching ``rtol`` within it: fallback to
        the direct solve when that fits in memory, else :class:`SolveAccuracyWarning`.
    force : bool
        Solve even when :func:`estimate_resources` exceeds the available memory (otherwise
        :class:`ResourceError` before anything is allocated).

    Returns
    -------
    Solution
        ``info`` holds ``residual``, ``rtol``, ``condition_estimate`` (None when not estimated) with
        ``condition_kind``, ``error_bound`` (condition x residual), ``matvecs``/``iterations``
        (iterative), ``estimate`` (resources), ``timings`` [s], ``version``.

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0], [0, 0, 600e-9]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> sol = solve_coherent(scene)
    >>> sol.p.shape, sol.info["residual"] < 1e-12
    ((2, 3), True)
    """
    check_solve_options(method, orders, rtol, maxiter, force)
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    if isinstance(scene.illumination, IncoherentBeams):  # no coherent field to solve with
        raise ValueError("solve_coherent needs coherent illumination; incoherent beam groups are solved by "
                         "cdsolve.solve (one coherent solve per group)")

    N = scene.n_particles
    estimate = check_resources(scene, method=method, orders=orders, maxiter=maxiter, force=force)
    backend = choose_backend(scene, method, orders)
    t = {}
    t0 = time.perf_counter()
    op = make_operator(scene, backend["name"], grid=backend["grid"], precision=min(max(float(rtol), 1e-13), 1e-6))
    b = _incident_vector(scene)
    t["assemble"] = time.perf_counter() - t0
    info: dict = {"version": __version__, "n_unknowns": 6 * N, "rtol": float(rtol), "estimate": estimate,
                  "condition_estimate": None, "condition_kind": "not estimated",
                  "backend": {"name": backend["name"], "why": backend["why"]}}
    lu = None
    t0 = time.perf_counter()
    sources = None
    gmres_residual = None  # true relative residual of the full 6N system computed by GMRES itself
    if orders is not None:
        u, sources = _neumann_series(op, b, int(orders), info)
        used = f"orders={int(orders)}"
    else:
        method = backend["name"]
        used = method
        if method in ("iterative", "fft", "fmm"):
            u0 = _initial_guess(x0, scene)
            if u0 is not None:
                info["warm_start"] = True
            if method == "iterative":
                u, it_info = _gmres(op, b, float(rtol), int(maxiter), x0=u0)
            else:
                u, it_info = _gmres_fast(op, b, float(rtol), int(maxiter), x0=u0)
            info.update(it_info)
            if "system" not in it_info:  # GMRES ran on the full 6N system: its last residual is b - A u
                gmres_residual = it_info["residual"]
            if not it_info["converged"]:
                direct = estimate_resources(N, "direct", electric_only=not op.has_magnetic)
                avail = available_memory()
                fits = force or avail is None or direct["bytes"] <= avail
                if fits:
                    warnings.warn(
                        f"GMRES ({method}) stopped ({it_info['stop']}) after {it_info['matvecs']} matrix-vector "
                        f"products at relative residual {it_info['residual']:.2e} > rtol={rtol:.2e}; falling back "
                        "to a direct solve",
                        RuntimeWarning,
                        stacklevel=3,
                    )
                    info["fallback"] = f"direct (GMRES {it_info['stop']})"
                    info["backend"] = {"name": "direct", "why": f"fallback: GMRES on the {method} operator "
                                                                f"{it_info['stop']}"}
                    if not isinstance(op, CouplingOperator):
                        op = _operator(scene)
                    method = used = "direct"
                    gmres_residual = None
                else:
                    info["fallback"] = (f"none: the direct solve would need {_gib(direct['bytes'])}, "
                                        f"available {_gib(avail)}")
                    info["condition_estimate"] = it_info["condition_lower_bound"]
                    info["condition_kind"] = "lower bound (singular values of the Arnoldi Hessenberg matrices)"
        if method == "direct":
            lu = factorize(op)
            u = lu_apply(op, lu, b)
            rcond = lu.rcond
            info["condition_estimate"] = 1.0 / rcond if rcond > 0 else np.inf
            info["condition_kind"] = "1-norm estimate from the LU factors (LAPACK gecon)"
    t["solve"] = time.perf_counter() - t0
    if orders is None:
        if gmres_residual is not None:  # GMRES computed ||b - A u|| / ||b|| of this very u as it stopped
            r = float(gmres_residual)
        else:  # one more product: the true residual (direct, and GMRES on the reduced 3N system)
            b_norm = float(np.linalg.norm(b))
            r_norm = float(np.linalg.norm(b - op.matvec(u)))
            r = r_norm / b_norm if b_norm > 0 else (0.0 if r_norm == 0 else np.inf)
        info["residual"] = r
        cond = info["condition_estimate"]
        # relative error of u <= condition x residual: a bound only with an estimate (not a lower bound) of it
        info["error_bound"] = float(cond * r) if cond is not None and info["condition_kind"].startswith("1-norm") else None
        _report_accuracy(info, float(rtol), stacklevel=4)  # the caller of cdsolve.solve
    else:
        info["residual"] = None
    info["timings"] = t
    ve, vh = op.polarize(u)
    Z = Z0 / scene.n_medium
    k = scene.k
    eps = EPS0 * scene.n_medium**2
    E = u[: 3 * N].reshape(N, 3)
    H = u[3 * N :].reshape(N, 3) / Z
    p = ve * eps / k**3
    m = vh / (Z * k**3)
    ae, am = op.chi_e * eps / k**3, op.chi_m / k**3
    if sources is not None:
        se, sh = op.polarize(sources)
        sources = (se * eps / k**3, sh / (Z * k**3))
    return Solution(scene, E, H, p, m, ae, am, used, info, _operator=op, _lu=lu, _sources=sources)


def _initial_guess(x0, scene: Scene):
    """Field-major ``u = (E, Z H)`` (6N,) from a previous :class:`Solution` of an N-particle scene, or None.

    Used by the iterative backends only (a direct solve needs no guess); the guess changes the number of
    GMRES products, not the answer (the stopping rule is on the true residual).
    """
    if x0 is None:
        return None
    if not isinstance(x0, Solution):
        raise TypeError(f"x0 must be a previous cdsolve Solution (warm start), got {type(x0).__name__}")
    N = scene.n_particles
    if x0.E_local.shape != (N, 3):
        raise ValueError(f"x0: a solution of {x0.E_local.shape[0]} particles cannot start a solve of {N}")
    Z = Z0 / scene.n_medium
    return np.concatenate([x0.E_local.ravel(), (Z * x0.H_local).ravel()]).astype(complex)


def _report_accuracy(info: dict, rtol: float, stacklevel: int) -> None:
    """The warnings of the module docstring's "Numerical honesty" section, from a filled ``info``."""
    r, cond = info["residual"], info["condition_estimate"]
    if cond is None:
        cond_text = "condition not estimated (GMRES converged)"
    elif "lower bound" in info["condition_kind"]:
        cond_text = f"condition >= {cond:.2e} (Arnoldi lower bound; no LU was formed)"
    else:
        cond_text = f"condition ~ {cond:.2e}"
    if not r <= rtol:  # also catches NaN
        floor = (f"; a residual up to eps*condition = {_EPS * cond:.1e} is expected in double precision"
                 if cond else "")
        warnings.warn(
            f"coupled-dipole solve ({info.get('fallback') or 'no fallback'}) reached relative residual {r:.2e}, "
            f"above the tolerance rtol={rtol:.2e}; {cond_text}{floor}. The fields may be wrong by up to "
            f"condition x residual; near a collective resonance move off it, add loss, or accept a larger rtol",
            SolveAccuracyWarning,
            stacklevel=stacklevel,
        )
    if cond is not None and "lower bound" not in info["condition_kind"] and not cond < _ILL_CONDITIONED:
        warnings.warn(
            f"coupled-dipole matrix is ill-conditioned ({cond_text}, relative residual {r:.2e}); "
            "results may be inaccurate (collective resonance or near-overlap)",
            IllConditionedWarning,
            stacklevel=stacklevel,
        )


def _neumann_series(op: CouplingOperator, b: np.ndarray, orders: int, info: dict):
    """Partial sums ``u_n = sum_(j<=n) (W chi)^j b`` (= ``b + W chi u_(n-1)``) and ``u_(n-1)``.

    Records the relative term norms ``||(W chi)^j b|| / ||b||`` (``info["series_terms"]``) and, for
    ``orders >= 2``, their growth per order over the last (up to) five orders (``info["series_growth_rate"]``,
    a power-iteration estimate of the spectral radius of ``W chi``); warns (:class:`SeriesDivergenceWarning`)
    when the last term or that rate is not below 1. Divergence that the computed terms do not show yet
    (a mode with spectral radius > 1 that ``b`` barely excites) is not detected.
    """
    term = b.copy()  # (W chi)^j b
    u = b.copy()
    u_prev = np.zeros_like(b)
    b_norm = float(np.linalg.norm(b))
    terms = [1.0]  # ||(W chi)^j b|| / ||b||, j = 0..orders (each term computed on its own: no cancellation)
    for _ in range(orders):
        term = op.scatter(term)
        u_prev, u = u, u + term
        terms.append(float(np.linalg.norm(term)) / b_norm if b_norm > 0 else 0.0)
    info["orders"] = orders
    info["series_terms"] = terms
    rate = None
    if orders >= 2 and terms[-2] > 0:
        j0 = max(1, orders - 5)  # growth per order over the last (up to) five orders: ~ spectral radius
        rate = (terms[-1] / terms[j0]) ** (1.0 / (orders - j0)) if terms[j0] > 0 else None
        info["series_growth_rate"] = rate
        last = terms[-1] / terms[-2]
        if not (last < 1.0 and (rate is None or rate < 1.0)):
            warnings.warn(
                f"the scattering-order series diverges: with orders={orders} its last term is {terms[-1]:.3g} "
                f"x |u_inc| and successive terms grow by ~{rate if rate is not None else last:.3g} per order "
                "(an estimate of the spectral radius of W chi, which must be < 1 for the series to converge); "
                "use the self-consistent solve (orders=None)",
                SeriesDivergenceWarning,
                stacklevel=4,
            )
    return u, u_prev


@dataclass(frozen=True, eq=False)
class Factorization:
    """LU factors of the coupled-dipole matrix, reusable for any number of right-hand sides.

    ``electric_only``: the factors are of ``1 - g chi_e`` (3N) and the magnetic-field rows follow
    explicitly (no particle has a magnetic dipole); otherwise of the full 6N matrix.
    """

    lu: Any
    electric_only: bool
    rcond: float


def factorize(op) -> Factorization:
    """Dense LU of the (reduced when possible) system with a LAPACK condition estimate.

    ``op`` of any backend: a fast (FFT, FMM) operator is rebuilt densely from its positions and
    polarizabilities first (the factors then belong to the same system).
    """
    if not isinstance(op, CouplingOperator):
        op = CouplingOperator(op.positions, op.k, op.chi_e, op.chi_m)
    A = op.dense() if op.has_magnetic else op.dense_electric()
    anorm = np.linalg.norm(A, 1)
    lu = sla.lu_factor(A, overwrite_a=True, check_finite=False)  # A is ours: factor in place
    return Factorization(lu, not op.has_magnetic, _rcond(lu, anorm))


def lu_apply(op: CouplingOperator, fac: Factorization, rhs: np.ndarray, need_h: bool = True,
             overwrite_rhs: bool = False) -> np.ndarray:
    """Solve ``(1 - W chi) x = rhs`` for field-major ``rhs`` (6N,) or (6N, ncol) with the factors.

    With ``need_h=False`` the magnetic rows of an electric-only solution are left as given in ``rhs``
    (callers that only use ``chi x`` do not need them: ``chi_m = 0``). ``overwrite_rhs``: the caller
    does not need ``rhs`` afterwards (saves a copy of many right-hand sides).
    """
    if not fac.electric_only:
        return sla.lu_solve(fac.lu, rhs, check_finite=False, overwrite_b=overwrite_rhs)
    n3 = 3 * op.N
    x = np.array(rhs, dtype=complex, copy=True)
    x[:n3] = sla.lu_solve(fac.lu, rhs[:n3], check_finite=False)
    if need_h:
        if x.ndim == 1:
            x[n3:] = rhs[n3:] + op.scatter(np.concatenate([x[:n3], np.zeros(n3, complex)]))[n3:]
        else:
            e = np.einsum("nij,njr->nir", op.chi_e, x[:n3].reshape(op.N, 3, -1))
            x[n3:] = rhs[n3:] + op.apply_gx(e).reshape(n3, -1)
    return x


def _rcond(lu, anorm: float) -> float:
    """Reciprocal 1-norm condition estimate from an LU factorization (LAPACK gecon)."""
    gecon = sla.get_lapack_funcs("gecon", (lu[0],))
    rcond, _ = gecon(lu[0], anorm, norm="1")
    return float(rcond)


def _gmres(op: CouplingOperator, b: np.ndarray, rtol: float, maxiter: int, restart: int = _GMRES_RESTART,
           x0: np.ndarray | None = None):
    """Restarted GMRES on ``(1 - W chi) u = b`` from ``u = x0`` (default 0; own implementation: works with every SciPy).

    One column of :func:`cdsolve.scattering.multi_rhs.gmres_columns` (its docstring has the stopping rule: the
    true residual decides, stagnation below 0.1 % per cycle stops, ``maxiter`` caps the products). A warm start
    ``x0`` (e.g. the solution of a nearby configuration) costs one counted product for its residual and ends
    at once when that residual is already below ``rtol ||b||``.

    Returns ``u`` (6N,) complex and a dict: ``converged``, ``residual`` (true, relative), ``matvecs`` (=
    ``iterations``), ``cycles``, ``stop`` (reason), ``condition_lower_bound`` (a lower bound of the 2-norm
    condition from the Arnoldi Hessenberg matrices), ``initial_residual``.
    """
    n = b.size
    X, it = gmres_columns(lambda U: op.matvec(U[:, 0])[:, None], b.reshape(n, 1), rtol, maxiter, restart,
                          None if x0 is None else np.asarray(x0).reshape(n, 1))
    res = float(it["residual"][0])
    return X[:, 0], {
        "converged": bool(res <= rtol),
        "residual": res,
        "matvecs": it["products"],
        "iterations": it["products"],
        "cycles": it["cycles"],
        "stop": str(it["stop"][0]),
        "condition_lower_bound": float(it["condition_lower_bound"][0]),
        "initial_residual": float(it["initial_residual"][0]),
    }


class _ElectricSystem:
    """``(1 - g chi_e) e`` on the 3N electric unknowns: the whole system when no particle is magnetic."""

    def __init__(self, op):
        self.op = op

    def matvec(self, e: np.ndarray) -> np.ndarray:
        N = self.op.N
        ve = np.einsum("nij,nj->ni", self.op.chi_e, e.reshape(N, 3))
        return e - self.op.apply_g(ve[:, :, None])[:, :, 0].ravel()


def _gmres_fast(op, b: np.ndarray, rtol: float, maxiter: int, x0: np.ndarray | None = None):
    """GMRES(30) on a fast (FFT, FMM) operator; on the 3N electric system when no particle is magnetic.

    Electric only, ``E`` solves ``(1 - g chi_e) E = E_inc`` (residual and stopping rule as :func:`_gmres`, on
    that system) and ``Z H = Z H_inc + gx chi_e E`` follows explicitly: half the unknowns, half the FFTs per
    product. The caller computes the true residual of the full 6N system afterwards.
    """
    with single_threaded_blas():
        if op.has_magnetic:
            return _gmres(op, b, rtol, maxiter, restart=_GMRES_RESTART_FAST, x0=x0)
        N = op.N
        n3 = 3 * N
        e, it = _gmres(_ElectricSystem(op), b[:n3], rtol, maxiter, restart=_GMRES_RESTART_FAST,
                       x0=None if x0 is None else x0[:n3])
    ve = np.einsum("nij,nj->ni", op.chi_e, e.reshape(N, 3))
    h = b[n3:] + op.apply_gx(ve[:, :, None])[:, :, 0].ravel()
    it["system"] = "electric (3N); Z H explicit"
    return np.concatenate([e, h]), it
