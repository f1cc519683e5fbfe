r"""Quantum Langevin model of the linearized motion: drift, diffusion, Lyapunov steady states, exports.

State vector ``y = (x_1, ..., x_n, p_1, ..., p_n)`` of the chosen dofs (the order of
``LinearModel.dofs``; ``x`` [m], ``p`` [kg m/s]); ``[y_a, y_b] = i hbar J_ab`` with
``J = [[0, 1], [-1, 0]]``. The equations of motion (PRA 110, 063507, eq. 80 generalized) are

    dy/dt = A y + noise,      d S/dt = A S + S A^T + B,

for the symmetrized covariance ``S = <{dy, dy^T}>/2``. ``A`` is the drift matrix
(:func:`cdsolve.dynamics.modes.drift_matrix`, the same as ``LinearModel.drift_matrix``) and ``B`` the
phase-space diffusion matrix, real symmetric:

* recoil: momentum block ``2 Re D`` with ``D`` the recoil diffusion matrix of :mod:`cdsolve.dynamics.recoil_noise`
  (noise convention ``<xi_b(t') xi_a(t)> = 2 D_ab delta(t - t')``): scattered photons and, for absorbing
  particles, absorbed photons (:func:`langevin_model` includes both by default, ``absorption=False``
  for the scattered ones alone). ``Im D`` is not noise: it is the
  non-reciprocal part of the force, already in ``A`` through the stiffness
  (``C - C^T = 4 Im D / hbar``, see :func:`cdsolve.dynamics.recoil_noise.nonreciprocity_mismatch`);
* gas damping ``gamma`` at temperature ``T``, three documented choices (``bath``):

  ``"classical"``  ``p' = ... - gamma p + xi``, ``<xi xi> = 2 m gamma k_B T delta`` (equipartition);
  ``"quantum"``    same drift, ``<xi xi>_sym = 2 m gamma (hbar omega / 2) coth(hbar omega / (2 k_B T))``
                   with ``omega`` the dof's trap frequency (quantum Brownian motion at weak damping:
                   an uncoupled dof thermalizes to ``n = n_th``; not of Lindblad form for gamma > 0);
  ``"lindblad"``   jump operators ``sqrt(gamma (n_th + 1)) a``, ``sqrt(gamma n_th) a^+`` per dof
                   (``a`` at the trap frequency): ``x`` and ``p`` both damped at ``gamma/2``,
                   ``B_xx = gamma hbar (2 n_th + 1) / (2 m omega)``, ``B_pp = gamma hbar m omega (2 n_th + 1) / 2``.
                   Exactly a Lindblad master equation (needed for QuTiP / jump-operator exports).

Master-equation form. ``d rho/dt = -(i/hbar) [H, rho] + sum_k (L_k rho L_k^+ - {L_k^+ L_k, rho}/2)``
with ``H = y^T H_q y / 2`` and linear ``L_k = c_k . y`` gives ``A = J (H_q - hbar Im Gamma)`` and
``B = hbar^2 J Re(Gamma) J^T`` for ``Gamma = sum_k c_k c_k^H`` (derived by taking expectation values of
``y`` and ``y y^T``). Hence

    H_q = sym(-J A),   Gamma = J^T B J / hbar^2 + i antisym(J A) / hbar,

and the linear model is a valid quantum Markov model iff ``Gamma`` is positive semidefinite.
The jump operators are ``c_k = sqrt(lambda_k) u_k`` from ``Gamma = sum lambda_k u_k u_k^H``. For
the recoil part alone ``Gamma_xx = 2 D / hbar^2`` (the Lindblad matrix of PRA eq. 74).

Phonon occupations: ``n = (<x^2>/x_zpf^2 + <p^2>/p_zpf^2)/4 - 1/2`` with ``x_zpf = sqrt(hbar/(2 m omega))``,
``p_zpf = sqrt(hbar m omega / 2)`` at the dof's trap frequency ``omega = sqrt(K_aa / m_a)``. Normal modes
are those of the (undamped) mass-weighted dynamical matrix ``M^-1/2 K M^-1/2`` (real eigenvalues only),
with canonically normalized mode coordinates.

Covariances and Lyapunov solves are done in the dimensionless quadratures ``x/x_zpf``, ``p/p_zpf``
(SI blocks differ by ~40 orders of magnitude).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..optics._checks import optional_module
import scipy.linalg as sla

from ..optics.conventions import HBAR, KB
from .modes import drift_matrix

__all__ = ["LangevinModel", "SteadyState", "langevin_model", "phonon_occupations", "qutip_operators", "BATHS",
           "read_export"]

#: thermal-bath models of :class:`LangevinModel` (see module docstring)
BATHS = ("classical", "quantum", "lindblad")
_FORMAT = "cdsolve-langevin-model/1"
_PSD_RTOL = 1e-12


def _symplectic(n: int) -> np.ndarray:
    return np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])


def _sym(M):
    return 0.5 * (M + M.T)


def _antisym(M):
    return 0.5 * (M - M.T)


# --------------------------------------------------------------------------- occupations
def phonon_occupations(covariance, masses, frequencies, vectors=None) -> np.ndarray:
    """Phonon occupations of dofs or of (normal-mode) combinations from a symmetrized covariance.

    Parameters
    ----------
    covariance : (2n, 2n) float [SI]
        ``<{dy, dy^T}>/2`` for ``y = (x, p)``.
    masses : (n,) float [kg]
    frequencies : (k,) float [rad/s]
        Oscillator frequency of each dof (``vectors=None``) or of each combination.
    vectors : None or (k, n) float
        Rows ``u``: mode coordinates ``Q = u . M^1/2 x``, ``P = u . M^-1/2 p`` (each row is normalized so
        that ``[Q, P] = i hbar``). None: the dofs themselves.

    Returns
    -------
    (k,) float [-]
        ``n = (omega <Q^2>/hbar + <P^2>/(hbar omega))/2 - 1/2``; for a dof
        ``(<x^2>/x_zpf^2 + <p^2>/p_zpf^2)/4 - 1/2``.
    """
    S = np.asarray(covariance, float)
    m = np.asarray(masses, float)
    n = len(m)
    if S.shape != (2 * n, 2 * n):
        raise ValueError(f"covariance must have shape (2n, 2n) = ({2 * n}, {2 * n}), got {S.shape}")
    U = np.eye(n) if vectors is None else np.atleast_2d(np.asarray(vectors, float))
    if U.shape[1] != n:
        raise ValueError(f"vectors must have shape (k, {n}), got {U.shape}")
    w = np.asarray(frequencies, float).ravel()
    if w.shape != (len(U),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"frequencies must be {len(U)} finite values > 0 [rad/s], got {frequencies!r}")
    norms = np.linalg.norm(U, axis=1)
    if np.any(norms == 0):
        raise ValueError("vectors contains a zero row")
    U = U / norms[:, None]
    Ux, Up = U * np.sqrt(m)[None, :], U / np.sqrt(m)[None, :]
    qq = np.einsum("ka,ab,kb->k", Ux, S[:n, :n], Ux)
    pp = np.einsum("ka,ab,kb->k", Up, S[n:, n:], Up)
    return 0.5 * (w * qq / HBAR + pp / (HBAR * w)) - 0.5


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class SteadyState:
    """Stationary Gaussian state of a :class:`LangevinModel`.

    Attributes
    ----------
    covariance : (2n, 2n) float [SI]       symmetrized covariance of ``(x, p)`` (exactly symmetric)
    occupations : (n,) float [-]           phonon number of each dof at its trap frequency
    labels : tuple of str                  dof names
    mode_frequencies : (n,) complex [rad/s]  ``sqrt`` of the eigenvalues of ``M^-1/2 K M^-1/2``
    mode_vectors : (n, n) float or None    rows ``u_k``: ``Q_k = u_k . M^1/2 x`` (see :func:`phonon_occupations`)
    mode_occupations : (n,) float or None  phonon numbers of the normal modes
    note : str                             why the mode quantities are None, if they are
    """

    covariance: np.ndarray
    occupations: np.ndarray
    labels: tuple
    mode_frequencies: np.ndarray
    mode_vectors: Any = None
    mode_occupations: Any = None
    note: str = ""


# --------------------------------------------------------------------------- model
@dataclass(frozen=True, eq=False)
class LangevinModel:
    """Linearized quantum Langevin model of ``n`` mechanical dofs (see module docstring).

    Parameters
    ----------
    stiffness : (n, n) float [N/m]
        ``K = -dF/dx`` (non-symmetric for non-reciprocal binding).
    masses : (n,) float [kg]
        Mass of the particle owning each dof.
    recoil : (n, n) complex [N^2 s]
        Recoil diffusion matrix ``D`` (Hermitian, PSD), :func:`cdsolve.dynamics.recoil_noise.recoil_diffusion`.
    damping : float [1/s]
        Gas damping rate ``gamma``.
    temperature : float [K]
        Gas temperature.
    bath : {"classical", "quantum", "lindblad"}
        Thermal-noise model (module docstring).
    frequencies : None or (n,) float [rad/s]
        Reference frequency of each dof (zero-point scales, quantum bath); default ``sqrt(K_aa/m_a)``.
    labels : sequence of n str
    dofs : None or (n,) int
        Indices into the particle-major 3N coordinates (``LinearModel.dofs``).
    provenance : dict
        JSON-serialisable description of where the numbers come from.
    """

    stiffness: Any
    masses: Any
    recoil: Any
    damping: float = 0.0
    temperature: float = 0.0
    bath: str = "classical"
    frequencies: Any = None
    labels: Any = None
    dofs: Any = None
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        s = lambda name, v: object.__setattr__(self, name, v)  # noqa: E731 (frozen dataclass)
        K = np.array(self.stiffness, dtype=float)
        if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0:
            raise ValueError(f"stiffness must be a square (n, n) array [N/m], got shape {K.shape}")
        n = K.shape[0]
        if not np.all(np.isfinite(K)):
            raise ValueError("stiffness contains NaN or inf")
        m = np.array(np.broadcast_to(np.asarray(self.masses, float), (n,)) if np.ndim(self.masses) == 0
                     else np.asarray(self.masses, float))
        if m.shape != (n,) or not np.all(np.isfinite(m)) or np.any(m <= 0):
            raise ValueError(f"masses must be {n} finite values > 0 [kg], got {self.masses!r}")
        D = np.array(self.recoil, dtype=complex)
        if D.shape != (n, n) or not np.all(np.isfinite(D)):
            raise ValueError(f"recoil must be a finite (n, n) = ({n}, {n}) complex array [N^2 s], got shape {D.shape}")
        scale = np.abs(D).max()
        if scale > 0:
            if np.abs(D - D.conj().T).max() > 1e-10 * scale:
                raise ValueError(f"recoil must be Hermitian; max |D - D^H| = {np.abs(D - D.conj().T).max():.3e} "
                                 f"(max |D| = {scale:.3e})")
            lo = np.linalg.eigvalsh(0.5 * (D + D.conj().T)).min()
            if lo < -1e-10 * scale:
                raise ValueError(f"recoil must be positive semidefinite; smallest eigenvalue {lo:.3e} N^2 s")
        for name in ("damping", "temperature"):
            v = getattr(self, name)
            if isinstance(v, (bool, complex)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite real number >= 0, got {v!r}")
            s(name, float(v))
        if self.bath not in BATHS:
            raise ValueError(f"bath must be one of {BATHS}, got {self.bath!r}")
        labels = tuple(f"q_{i}" for i in range(n)) if self.labels is None else tuple(str(x) for x in self.labels)
        if len(labels) != n:
            raise ValueError(f"labels must have {n} entries, got {len(labels)}")
        if self.frequencies is None:
            d = np.diag(K) / m
            bad = np.flatnonzero(~(d > 0))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"dof {labels[i]} is not trapped (K_aa/m_a = {d[i]:.4g} 1/s^2 <= 0): give "
                                 f"frequencies= explicitly")
            w = np.sqrt(d)
        else:
            w = np.array(self.frequencies, dtype=float).ravel()
            if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise ValueError(f"frequencies must be {n} finite values > 0 [rad/s], got {self.frequencies!r}")
        dofs = None if self.dofs is None else np.array(self.dofs, dtype=int).ravel()
        if dofs is not None and dofs.shape != (n,):
            raise ValueError(f"dofs must have {n} entries, got {dofs.shape}")
        for name, arr in (("stiffness", K), ("masses", m), ("recoil", D), ("frequencies", w)):
            arr.setflags(write=False)
            s(name, arr)
        s("labels", labels)
        s("dofs", dofs)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_linear_model(cls, lin, recoil, *, temperature: float = 0.0, bath: str = "classical",
                          damping: float | None = None, frequencies=None) -> "LangevinModel":
        """Build from a :class:`cdsolve.dynamics.linear_model.LinearModel` and the recoil ``D`` of the same dofs.

        ``damping`` defaults to ``lin.damping``. The dof order is ``lin.dofs`` (pass
        ``recoil_diffusion(sol, dofs=lin.dofs)``).
        """
        D = np.asarray(recoil)
        if D.shape != (lin.n, lin.n):
            raise ValueError(f"recoil must have shape ({lin.n}, {lin.n}) for the model's dofs {list(lin.labels)}, "
                             f"got {D.shape}")
        return cls(stiffness=lin.stiffness, masses=lin.masses, recoil=D,
                   damping=lin.damping if damping is None else damping, temperature=temperature, bath=bath,
                   frequencies=frequencies, labels=lin.labels, dofs=lin.dofs, provenance=dict(lin.provenance))

    # ------------------------------------------------------------------ scales
    @property
    def n(self) -> int:
        return len(self.masses)

    @property
    def x_zpf(self) -> np.ndarray:
        """Zero-point position spread ``sqrt(hbar / (2 m omega))`` (n,) [m]."""
        return np.sqrt(HBAR / (2 * self.masses * self.frequencies))

    @property
    def p_zpf(self) -> np.ndarray:
        """Zero-point momentum spread ``sqrt(hbar m omega / 2)`` (n,) [kg m/s]."""
        return np.sqrt(HBAR * self.masses * self.frequencies / 2)

    @property
    def _scale(self) -> np.ndarray:
        """``T`` (2n,): dimensionless quadratures ``y' = T y``."""
        return np.concatenate([1 / self.x_zpf, 1 / self.p_zpf])

    @property
    def thermal_occupation(self) -> np.ndarray:
        """Bose occupation ``1/(exp(hbar omega / k_B T) - 1)`` of each dof at its frequency (n,) [-]."""
        if self.temperature == 0:
            return np.zeros(self.n)
        return 1.0 / np.expm1(HBAR * self.frequencies / (KB * self.temperature))

    # ------------------------------------------------------------------ matrices
    @property
    def drift(self) -> np.ndarray:
        """Drift matrix ``A`` (2n, 2n) [1/s, 1/kg; N/m, 1/s]: ``dy/dt = A y``."""
        if self.bath == "lindblad":
            return drift_matrix(self.stiffness, self.masses) - 0.5 * self.damping * np.eye(2 * self.n)
        return drift_matrix(self.stiffness, self.masses, self.damping if self.damping else None)

    @property
    def thermal_diffusion(self) -> tuple[np.ndarray, np.ndarray]:
        """``(B_xx, B_pp)`` diagonals (n,) of the thermal part of ``B`` [m^2/s], [kg^2 m^2/s^3]."""
        g, m, w = self.damping, self.masses, self.frequencies
        if self.bath == "classical":
            return np.zeros(self.n), 2 * m * g * KB * self.temperature * np.ones(self.n)
        two_n1 = 2 * self.thermal_occupation + 1  # = coth(hbar w / 2 k_B T)
        if self.bath == "quantum":
            return np.zeros(self.n), m * g * HBAR * w * two_n1
        return g * HBAR * two_n1 / (2 * m * w), g * HBAR * m * w * two_n1 / 2

    @property
    def diffusion(self) -> np.ndarray:
        """Phase-space diffusion ``B`` (2n, 2n) float: ``dS/dt = A S + S A^T + B``."""
        n = self.n
        bxx, bpp = self.thermal_diffusion
        B = np.zeros((2 * n, 2 * n))
        B[:n, :n] = np.diag(bxx)
        B[n:, n:] = 2 * self.recoil.real + np.diag(bpp)
        return _sym(B)

    @property
    def hamiltonian(self) -> np.ndarray:
        """``H_q`` (2n, 2n) float, symmetric: ``H = y^T H_q y / 2`` [J/m^2, ...] (``sym(-J A)``)."""
        return _sym(-_symplectic(self.n) @ self.drift)

    @property
    def lindblad_matrix(self) -> np.ndarray:
        """``Gamma`` (2n, 2n) complex Hermitian: ``J^T B J / hbar^2 + i antisym(J A) / hbar``."""
        J = _symplectic(self.n)
        return J.T @ self.diffusion @ J / HBAR**2 + 1j * _antisym(J @ self.drift) / HBAR

    def jump_operators(self) -> np.ndarray:
        """Coefficients ``c`` (r, 2n) complex of linear jump operators ``L_k = c_k . y`` with ``sum c c^H = Gamma``.

        Raises
        ------
        ValueError
            If ``Gamma`` is not positive semidefinite: the drift + diffusion is then not a quantum Markov
            model (e.g. ``bath="classical"/"quantum"`` with damping, or an antisymmetric stiffness too
            large for the recoil noise: non-reciprocal coupling needs the correlated noise ``Re D``
            that comes with it, ``|K_a|`` compatible with ``Gamma_xx = 2 Re D/hbar^2 - i K_a/hbar >= 0``;
            see :func:`cdsolve.dynamics.recoil_noise.nonreciprocity_mismatch`). ``Im D`` itself does not enter: it is the
            antisymmetric part of the force, i.e. already in ``A``.
        """
        T = self._scale
        Gs = self.lindblad_matrix / T[:, None] / T[None, :]  # dimensionless quadratures
        Gs = 0.5 * (Gs + Gs.conj().T)
        lam, U = np.linalg.eigh(Gs)
        top = max(lam.max(), 0.0)
        if lam.min() < -_PSD_RTOL * top:
            raise ValueError(
                f"the model is not of Lindblad form: the Lindblad matrix has eigenvalue {lam.min():.3e} < 0 "
                f"(largest {top:.3e}, in x_zpf/p_zpf units); bath={self.bath!r}, damping={self.damping!r} "
                "(use bath='lindblad' for damping), or the antisymmetric stiffness exceeds what the recoil "
                "noise Re(D) allows (Gamma_xx = 2 Re D/hbar^2 - i K_a/hbar must be >= 0); "
                "save(..., jumps=False) exports without jump operators")
        keep = lam > _PSD_RTOL * top
        c = (np.sqrt(lam[keep])[None, :] * U[:, keep]).T  # rows c'_k for y' = T y
        return c * T[None, :]

    def covariance_rate(self, covariance) -> np.ndarray:
        """``dS/dt = A S + S A^T + B`` (2n, 2n) for a covariance ``S`` [SI]."""
        S = np.asarray(covariance, float)
        if S.shape != (2 * self.n, 2 * self.n):
            raise ValueError(f"covariance must have shape ({2 * self.n}, {2 * self.n}), got {S.shape}")
        A = self.drift
        return A @ S + S @ A.T + self.diffusion

    def ground_state_covariance(self) -> np.ndarray:
        """Covariance of the uncoupled oscillators' ground states, ``diag(x_zpf^2, p_zpf^2)`` (2n, 2n)."""
        return np.diag(np.concatenate([self.x_zpf**2, self.p_zpf**2]))

    # ------------------------------------------------------------------ steady state
    def _check_stable(self, A_scaled: np.ndarray) -> None:
        lam, vec = np.linalg.eig(A_scaled)
        tol = 1e-12 * np.abs(lam).max()
        grow = np.flatnonzero(lam.real >= -tol)
        if grow.size == 0:
            return
        n = self.n
        lines = []
        for i in grow:
            v = vec[:, i]
            wdof = np.sqrt(np.abs(v[:n]) ** 2 + np.abs(v[n:]) ** 2)
            wdof /= np.linalg.norm(wdof)
            top = np.argsort(wdof)[::-1][:3]
            parts = ", ".join(f"{self.labels[t]} ({wdof[t]:.2f})" for t in top)
            omega = 1j * lam[i]
            lines.append(f"omega = {omega.real:.6g} {omega.imag:+.3g}i rad/s (growth rate {lam[i].real:.3g} 1/s) on {parts}")
        raise ValueError(
            f"no steady state: the drift has {grow.size} non-decaying mode(s) (Re eigenvalue >= 0; time-reversal "
            "broken phase, or no damping): " + "; ".join(lines))

    def steady_state(self) -> SteadyState:
        """Solve ``A S + S A^T + B = 0`` (scipy ``solve_continuous_lyapunov``) for the stationary covariance.

        Raises
        ------
        ValueError
            When the drift has modes with ``Re eigenvalue >= 0`` (names their complex frequencies
            ``omega = i lambda`` and the dofs they live on).
        """
        T = self._scale
        As = self.drift * T[:, None] / T[None, :]
        self._check_stable(As)
        Bs = self.diffusion * T[:, None] * T[None, :]
        Ss = sla.solve_continuous_lyapunov(As, -Bs)
        Ss = _sym(Ss)
        S = _sym(Ss / T[:, None] / T[None, :])
        occ = 0.25 * (np.diag(Ss)[: self.n] + np.diag(Ss)[self.n:]) - 0.5
        mode_w, vecs, mode_occ, note = self._normal_modes(S)
        return SteadyState(S, occ, self.labels, mode_w, vecs, mode_occ, note)

    def _normal_modes(self, S):
        sm = np.sqrt(self.masses)
        Dm = self.stiffness / sm[:, None] / sm[None, :]
        lam, R = np.linalg.eig(Dm)
        w = np.sqrt(lam.astype(complex))
        scale = np.abs(lam).max()
        if np.any(np.abs(lam.imag) > 1e-10 * scale) or np.any(lam.real <= 0):
            return w, None, None, ("normal modes not real: the undamped dynamical matrix has complex or "
                                   "non-positive eigenvalues " + np.array2string(lam, precision=4))
        order = np.argsort(lam.real)
        lam, R = lam.real[order], np.real_if_close(R[:, order], tol=1e6).real
        vecs = np.linalg.inv(R)  # rows: Q_k = vecs_k . M^1/2 x
        occ = phonon_occupations(S, self.masses, np.sqrt(lam), vecs)
        vecs = vecs / np.linalg.norm(vecs, axis=1)[:, None]
        return np.sqrt(lam).astype(complex), vecs, occ, ""

    # ------------------------------------------------------------------ export
    _UNITS = {
        "stiffness": "N/m", "masses": "kg", "recoil": "N^2 s (<xi_b(t') xi_a(t)> = 2 D_ab delta)",
        "frequencies": "rad/s", "dofs": "index into (x_1, y_1, z_1, x_2, ...)",
        "drift": "SI; y = (x [m], p [kg m/s]); dy/dt = A y", "diffusion": "SI; dS/dt = A S + S A^T + B",
        "hamiltonian": "SI; H = y^T H_q y / 2 [J]", "lindblad_matrix": "SI; Gamma = sum_k c_k c_k^H",
        "jump_operators": "SI; L_k = c_k . y [sqrt(1/s)]", "x_zpf": "m", "p_zpf": "kg m/s",
        "damping": "1/s", "temperature": "K",
    }
    _PRIMARY = ("stiffness", "masses", "recoil", "frequencies")
    _DERIVED = ("drift", "diffusion", "hamiltonian", "lindblad_matrix", "x_zpf", "p_zpf")

    def _export_arrays(self, jumps: bool) -> dict:
        arrays = {k: np.asarray(getattr(self, k)) for k in self._PRIMARY + self._DERIVED}
        if self.dofs is not None:
            arrays["dofs"] = self.dofs
        if jumps:
            arrays["jump_operators"] = self.jump_operators()
        return arrays

    def _meta(self) -> dict:
        from .._version import __version__

        return {"format": _FORMAT, "labels": list(self.labels), "damping": self.damping,
                "temperature": self.temperature, "bath": self.bath, "units": self._UNITS,
                "state_order": "y = (x_1..x_n, p_1..p_n)", "hbar": HBAR, "k_B": KB,
                "conventions": "SI, exp(-i omega t); master equation d rho/dt = -(i/hbar)[H, rho] + "
                               "sum_k (L_k rho L_k^+ - {L_k^+ L_k, rho}/2)",
                "provenance": self.provenance, "cdsolve_version": __version__}

    def save(self, path, *, jumps: bool = True) -> Path:
        """Write drift, diffusion, Hamiltonian, Lindblad matrix, jump operators and inputs with units.

        Parameters
        ----------
        path : str or Path
            ``.npz``, ``.json`` or ``.h5``/``.hdf5`` (needs h5py). Round trip is bit-exact.
        jumps : bool
            Include ``jump_operators`` (raises ValueError when the model is not of Lindblad form,
            see :meth:`jump_operators`; pass False to export without them).
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".json", ".h5", ".hdf5"):
            raise ValueError(f"unknown export format {path.suffix!r} for path {str(path)!r} (use .npz, .json, .h5)")
        arrays = self._export_arrays(jumps)
        meta = self._meta()
        if suffix == ".npz":
            np.savez(path, **arrays, meta=json.dumps(meta))
        elif suffix == ".json":
            doc = dict(meta)
            doc["arrays"] = {k: _json_array(v) for k, v in arrays.items()}
            path.write_text(json.dumps(doc, indent=1))
        else:
            h5py = optional_module("h5py", "hdf5", "HDF5 export (or use .npz / .json)")
            with h5py.File(path, "w") as fh:
                for k, v in arrays.items():
                    fh[k] = v
                    fh[k].attrs["unit"] = self._UNITS.get(k, "")
                fh.attrs["meta"] = json.dumps(meta)
        return path

    @classmethod
    def load(cls, path) -> "LangevinModel":
        """Read a file written by :meth:`save` (inputs bit-exact; derived matrices recomputed identically)."""
        arrays, meta = read_export(path)
        return cls(stiffness=arrays["stiffness"], masses=arrays["masses"], recoil=arrays["recoil"],
                   damping=meta["damping"], temperature=meta["temperature"], bath=meta["bath"],
                   frequencies=arrays["frequencies"], labels=meta["labels"], dofs=arrays.get("dofs"),
                   provenance=meta["provenance"])


def _json_array(a: np.ndarray):
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return {"dtype": "complex", "real": a.real.tolist(), "imag": a.imag.tolist()}
    return {"dtype": str(a.dtype), "data": a.tolist()}


def _from_json(d) -> np.ndarray:
    if d["dtype"] == "complex":
        return np.asarray(d["real"], float) + 1j * np.asarray(d["imag"], float)
    return np.asarray(d["data"], dtype=d["dtype"])


def read_export(path) -> tuple[dict, dict]:
    """All arrays and the metadata of a file written by :meth:`LangevinModel.save`.

    Returns
    -------
    arrays : dict of name -> ndarray (``drift``, ``diffusion``, ``hamiltonian``, ``jump_operators``, ...)
    meta : dict (units, labels, damping, temperature, bath, provenance, ...)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
    elif suffix == ".json":
        doc = json.loads(path.read_text())
        arrays = {k: _from_json(v) for k, v in doc.pop("arrays").items()}
        meta = doc
    elif suffix in (".h5", ".hdf5"):
        h5py = optional_module("h5py", "hdf5", "reading HDF5")
        with h5py.File(path, "r") as fh:
            meta = json.loads(fh.attrs["meta"])
            arrays = {k: fh[k][()] for k in fh.keys()}
    else:
        raise ValueError(f"unknown export format {path.suffix!r} for path {str(path)!r}")
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path}: not a cdsolve Langevin model (format {meta.get('format')!r})")
    return arrays, meta


# --------------------------------------------------------------------------- builders
def langevin_model(scene, dofs=None, *, at: str = "positions", damping: float = 0.0, temperature: float = 0.0,
                   bath: str = "classical", masses=None, method: str = "auto",
                   absorption: bool = True) -> LangevinModel:
    """Linearize a scene and attach its recoil diffusion (one self-consistent solve for both).

    Parameters
    ----------
    scene : Scene
    dofs : None, str or (n,) int
        As in :func:`cdsolve.dynamics.linear_model`.
    at : {"positions", "foci", "equilibrium"}
    damping : float [1/s]
    temperature : float [K]
    bath : {"classical", "quantum", "lindblad"}
    masses : None, float or (N,) float [kg]
    method : str
        Solver method.
    absorption : bool
        Include the recoil of absorbed photons in ``recoil`` (default True; see
        :func:`cdsolve.dynamics.recoil_noise.recoil_diffusion`, which raises for particles without a
        consistent absorbed power, e.g. a real ``alpha``). Recorded in ``provenance["recoil"]``.

    Returns
    -------
    LangevinModel
    """
    from .linear_model import linearize
    from .recoil_noise import recoil_diffusion
    from ..scattering.dispatch import solve

    lin = linearize(scene, dofs, at=at, damping=damping, masses=masses, method=method)
    sol = solve(scene.with_positions(lin.positions), method=method)
    D = recoil_diffusion(sol, dofs=lin.dofs, absorption=absorption)
    model = LangevinModel.from_linear_model(lin, D, temperature=temperature, bath=bath)
    model.provenance["recoil"] = "scattered + absorbed photons" if absorption else "scattered photons"  # own copy
    return model


def qutip_operators(model: LangevinModel, n_fock) -> dict:
    """Hamiltonian and collapse operators of the linearized master equation for QuTiP.

    Each dof ``a`` gets a truncated Fock space of its oscillator at ``model.frequencies[a]``:
    ``x = x_zpf (b + b^+)``, ``p = i p_zpf (b^+ - b)``. ``H = y^T H_q y / 2`` and ``L_k = c_k . y``
    (:meth:`LangevinModel.jump_operators`).

    Parameters
    ----------
    model : LangevinModel
        Must be of Lindblad form (e.g. ``bath="lindblad"`` when damped).
    n_fock : int or sequence of int
        Fock-space dimension per dof (>= 2).

    Returns
    -------
    dict with ``"H"`` (Qobj, ``H / hbar`` in rad/s, as ``qutip.mesolve`` expects), ``"c_ops"`` (list of
    Qobj [sqrt(1/s)]), ``"a"`` (annihilation operators), ``"x"``, ``"p"`` (position [m], momentum [kg m/s]).
    """
    qutip = optional_module("qutip", "quantum", "qutip_operators")
    n = model.n
    dims = [int(n_fock)] * n if np.ndim(n_fock) == 0 else [int(d) for d in n_fock]
    if len(dims) != n or min(dims) < 2:
        raise ValueError(f"n_fock must be an int >= 2 or {n} of them, got {n_fock!r}")
    ident = [qutip.qeye(d) for d in dims]

    def embed(op, i):
        ops = list(ident)
        ops[i] = op
        return qutip.tensor(ops)

    a = [embed(qutip.destroy(d), i) for i, d in enumerate(dims)]
    x = [model.x_zpf[i] * (a[i] + a[i].dag()) for i in range(n)]
    p = [1j * model.p_zpf[i] * (a[i].dag() - a[i]) for i in range(n)]
    # dimensionless quadratures y' = (b + b^+, i (b^+ - b)) keep every coefficient O(1)
    T = model._scale
    yq = [(a[i] + a[i].dag()) for i in range(n)] + [1j * (a[i].dag() - a[i]) for i in range(n)]
    Hs = model.hamiltonian / T[:, None] / T[None, :] / HBAR  # rad/s per quadrature pair
    H = 0
    for r in range(2 * n):
        for c in range(2 * n):
            if Hs[r, c] != 0:
                H = H + 0.5 * Hs[r, c] * yq[r] * yq[c]
    c_ops = []
    for ck in model.jump_operators():
        cs = ck / T
        L = 0
        for r in range(2 * n):
            if cs[r] != 0:
                L = L + cs[r] * yq[r]
        c_ops.append(L)
    return {"H": H, "c_ops": c_ops, "a": a, "x": x, "p": p}
