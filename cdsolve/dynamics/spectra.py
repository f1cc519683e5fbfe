r"""Spectra of the linearized Langevin dynamics: susceptibility, displacement PSD matrix, coherence.

Model. ``M x'' = -K x - M Gamma x' + F(t) + xi(t)`` for ``n`` dofs (``K = -dF/dx`` [N/m], masses ``M``
[kg], damping ``Gamma`` [1/s]), force noise ``<xi_a(t) xi_b(t')> = 2 D_ab delta(t - t')`` with ``D``
[N^2 s] the force diffusion matrix (the convention of :mod:`cdsolve.dynamics.recoil_noise`):

* gas damping at temperature ``T`` contributes ``D_aa = m_a gamma_a k_B T`` (force noise
  ``2 m gamma k_B T`` per dof, equipartition);
* recoil diffusion adds ``Re D_recoil`` (``Im D`` is a force, already in ``K``).

A :class:`cdsolve.dynamics.langevin.LangevinModel` is used as it stands (its drift ``A`` and
phase-space diffusion ``B``, any bath): the formulas below are evaluated on the state-space form
``dz/dt = A z + eta``, ``<eta eta^T> = B delta`` with ``z = (x, v)``.

Fourier convention ``exp(-i omega t)`` (:mod:`cdsolve.optics.conventions`):
``x(t) = int x(omega) exp(-i omega t) d omega / 2 pi``.

* Susceptibility ``chi(omega) = (K - omega^2 M - i omega M Gamma)^-1`` [m/N]: the response
  ``x = chi F`` to a force ``F exp(-i omega t)``; ``Im chi > 0`` (absorption) at ``omega > 0``.
* Two-sided displacement PSD matrix ``S(omega) = chi(omega) 2D chi(omega)^dagger`` [m^2/Hz],
  ``S(omega) = int <x(t + tau) x(t)^T> exp(i omega tau) d tau``, Hermitian,
  ``S(-omega) = conj S(omega)``; normalised so that ``<x x^T> = int S d omega / 2 pi`` over all
  ``omega``, i.e. ``int S df`` over ``f in (-inf, inf)`` with ``f = omega / 2 pi`` [Hz].
* One-sided (``one_sided=True``, the default, what ``scipy.signal.welch``/``csd`` return):
  ``G(f) = 2 S(2 pi f)`` for ``f > 0`` and ``S(0)`` at ``f = 0``; ``<x x^T> = int_0^inf Re G df``.
* Coherence ``|S_ab|^2 / (S_aa S_bb)`` (the same in both conventions; ``scipy.signal.coherence``).
* Sampled data (``dt`` given): the PSD of the sequence ``x(k dt)`` (aliased,
  ``S_dt(omega) = sum_m S(omega + 2 pi m / dt)`` for ``|f| <= 1/(2 dt)``), exactly, from the exact
  discretization: ``S_dt = dt [M + M^H - Sigma]_xx`` with ``M = (1 - Phi exp(i omega dt))^-1 Sigma``,
  ``Phi = exp(A dt)``, ``Sigma`` the stationary covariance. This is what a Welch estimate of
  sampled data converges to.

Everything is vectorized over ``omega``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from ..optics.conventions import KB

__all__ = ["susceptibility", "displacement_psd", "stationary_covariance", "Spectrum", "StateSpace", "state_space"]


# --------------------------------------------------------------------------- state-space form
@dataclass(frozen=True, eq=False)
class StateSpace:
    """Linear SDE ``dz/dt = A z + eta`` in balanced units, ``z' = z / scale`` with ``z = (x [m], v [m/s])``.

    Attributes
    ----------
    A : (2n, 2n) float [1/s]        drift of the scaled state ``z' = (x, v / omega_ref)``
    B : (2n, 2n) float              noise covariance rate of ``z'`` (``<eta' eta'^T> = B delta``) [m^2/s]
    masses : (n,) float [kg]
    omega_ref : float [rad/s]       velocity scale (``sqrt`` of the largest ``|K/m|`` entry)
    labels : tuple of str
    """

    A: np.ndarray
    B: np.ndarray
    masses: np.ndarray
    omega_ref: float
    labels: tuple

    @property
    def n(self) -> int:
        return len(self.masses)

    @property
    def scale(self) -> np.ndarray:
        """(2n,) ``z = scale * z'``: ones for positions, ``omega_ref`` for velocities."""
        return np.concatenate([np.ones(self.n), np.full(self.n, self.omega_ref)])

    def resolvent(self, omega) -> np.ndarray:
        """``(-i omega - A)^-1`` (n_omega, 2n, 2n) complex in scaled units."""
        w = np.asarray(omega, float).ravel()
        eye = np.eye(2 * self.n)
        return np.linalg.inv(-1j * w[:, None, None] * eye - self.A[None])

    def covariance(self) -> np.ndarray:
        """Stationary covariance of the scaled state (2n, 2n): ``A S + S A^T + B = 0``."""
        lam = np.linalg.eigvals(self.A)
        if np.any(lam.real >= -1e-12 * max(np.abs(lam).max(), 1e-300)):
            w = 1j * lam[lam.real >= -1e-12 * np.abs(lam).max()]
            raise ValueError("no stationary state: the drift has non-decaying modes with omega = "
                             + ", ".join(f"{x.real:.6g}{x.imag:+.3g}i rad/s" for x in w)
                             + " (undamped or unstable; add damping or choose a stable model)")
        S = sla.solve_continuous_lyapunov(self.A, -self.B)
        return 0.5 * (S + S.T)


def _as_matrix(v, n, name):
    a = np.asarray(v, float)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.ndim == 1:
        if a.shape != (n,):
            raise ValueError(f"{name} must be a scalar, ({n},) or ({n}, {n}), got shape {a.shape}")
        a = np.diag(a)
    if a.shape != (n, n) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite scalar, ({n},) or ({n}, {n}) array, got shape {a.shape}")
    return a


def state_space(model, *, diffusion=None, temperature=None) -> StateSpace:
    """State-space form of a model (see module docstring for the noise).

    Parameters
    ----------
    model : LinearModel, LangevinModel or any object with ``stiffness`` (n, n) [N/m], ``masses`` (n,) [kg]
        and ``damping`` (scalar, (n,) or (n, n) [1/s]; a ``damping_matrix`` attribute takes precedence); an optional (n, n) ``diffusion`` attribute
        [N^2 s] (e.g. an identified model) is its own force noise. A ``LangevinModel`` (drift and
        phase-space diffusion, attributes ``drift``/``diffusion`` of shape (2n, 2n)) carries its noise too.
    diffusion : None or (n, n) float/complex [N^2 s]
        Extra force diffusion ``D`` (``<xi_a xi_b> = 2 D_ab delta``), e.g. recoil; its real part is used.
    temperature : None or float [K]
        Gas temperature: adds ``m_a gamma_a k_B T`` to ``D_aa``.
    """
    K = np.asarray(getattr(model, "stiffness", None), float)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0 or not np.all(np.isfinite(K)):
        raise TypeError(f"model must have a finite square stiffness (n, n) [N/m], got {type(model).__name__}")
    n = K.shape[0]
    m = np.asarray(model.masses, float)
    m = np.full(n, float(m)) if m.ndim == 0 else m
    if m.shape != (n,) or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"model.masses must be {n} finite values > 0 [kg], got {model.masses!r}")
    labels = tuple(getattr(model, "labels", None) or (f"q_{i}" for i in range(n)))
    own_B = getattr(model, "drift", None) is not None and np.shape(getattr(model, "diffusion", None)) == (2 * n, 2 * n)
    own_D = np.shape(getattr(model, "diffusion", None)) == (n, n) and not callable(model.diffusion)
    if (own_B or own_D) and (diffusion is not None or temperature is not None):
        raise ValueError(f"{type(model).__name__} carries its own noise: pass neither diffusion= nor temperature= "
                         f"(got diffusion={'given' if diffusion is not None else None}, temperature={temperature!r})")
    if own_B:
        # y = (x, p) -> z = (x, v): z = P y with P = diag(1, 1/m)
        p = np.concatenate([np.ones(n), 1 / m])
        A = np.asarray(model.drift, float) * p[:, None] / p[None, :]
        B = np.asarray(model.diffusion, float) * p[:, None] * p[None, :]
    else:
        damp = getattr(model, "damping_matrix", None)  # an identified model's full Gamma
        damp = getattr(model, "damping", None) if damp is None else damp
        G = _as_matrix(0.0 if damp is None else damp, n, "model.damping")
        if own_D:
            Df = np.real(np.asarray(model.diffusion))
        else:
            Df = np.zeros((n, n))
            if diffusion is not None:
                d = np.asarray(diffusion)
                if d.shape != (n, n) or not np.all(np.isfinite(d)):
                    raise ValueError(f"diffusion must be a finite ({n}, {n}) matrix [N^2 s], got shape {d.shape}")
                Df = Df + np.real(d)
            if temperature is not None:
                if isinstance(temperature, bool) or not np.isfinite(temperature) or temperature < 0:
                    raise ValueError(f"temperature must be a finite number >= 0 [K], got {temperature!r}")
                Df = Df + 0.5 * (m[:, None] * G + (m[:, None] * G).T) * KB * temperature
        A = np.block([[np.zeros((n, n)), np.eye(n)], [-K / m[:, None], -G]])
        B = np.zeros((2 * n, 2 * n))
        B[n:, n:] = 2 * Df / m[:, None] / m[None, :]
    w2 = np.abs(A[n:, :n]).max()
    omega_ref = float(np.sqrt(w2)) if w2 > 0 else 1.0
    s = np.concatenate([np.ones(n), np.full(n, omega_ref)])
    A = A * s[None, :] / s[:, None]
    B = 0.5 * (B + B.T) / s[:, None] / s[None, :]
    return StateSpace(A=A, B=B, masses=m, omega_ref=omega_ref, labels=labels)


def _omega(omega, name="omega"):
    w = np.asarray(omega, float)
    if w.ndim > 1 or not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be a finite scalar or 1-d array [rad/s], got shape {w.shape}")
    return np.atleast_1d(w)


def susceptibility(model, omega) -> np.ndarray:
    """Mechanical susceptibility ``chi(omega)`` [m/N]: ``x = chi F`` for a force ``F exp(-i omega t)``.

    Parameters
    ----------
    model : LinearModel, LangevinModel, identified model (see :func:`state_space`)
    omega : float or (k,) float [rad/s]

    Returns
    -------
    (k, n, n) complex [m/N]   ``(K - omega^2 M - i omega M Gamma)^-1`` (for a LangevinModel from its drift)
    """
    w = _omega(omega)
    ss = state_space(model)
    n = ss.n
    R = ss.resolvent(w)
    # force F enters dv/dt as F/m; v' = v / omega_ref
    return R[:, :n, n:] / ss.omega_ref / ss.masses[None, None, :]


def _has_noise(model):
    n = np.shape(getattr(model, "stiffness", np.zeros((0, 0))))[0]
    return np.shape(getattr(model, "diffusion", None)) in ((n, n), (2 * n, 2 * n))


def stationary_covariance(model, *, diffusion=None, temperature=None) -> np.ndarray:
    """Stationary covariance ``<z z^T>`` (2n, 2n) of ``z = (x [m], v [m/s])`` from the Lyapunov equation."""
    ss = state_space(model, diffusion=diffusion, temperature=temperature)
    s = ss.scale
    return ss.covariance() * s[:, None] * s[None, :]


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Displacement power/cross spectral densities of ``n`` dofs at ``k`` frequencies.

    Attributes
    ----------
    omega : (k,) float [rad/s]
    matrix : (k, n, n) complex [m^2/Hz]   ``S_ab``: PSDs on the diagonal (real), CSDs off it (Hermitian)
    one_sided : bool                     convention (module docstring)
    labels : tuple of str
    dt : None or float [s]               sampling step when the PSD is that of sampled data (aliased)
    """

    omega: np.ndarray
    matrix: np.ndarray
    one_sided: bool
    labels: tuple
    dt: float | None = None

    @property
    def frequency(self) -> np.ndarray:
        """``f = omega / 2 pi`` (k,) [Hz]."""
        return self.omega / (2 * np.pi)

    @property
    def psd(self) -> np.ndarray:
        """Per-dof PSDs (k, n) float [m^2/Hz] (the real diagonal)."""
        return np.real(np.einsum("kaa->ka", self.matrix))

    def csd(self, a: int, b: int) -> np.ndarray:
        """Cross spectral density ``S_ab`` (k,) complex [m^2/Hz] (``scipy.signal.csd(x_a, x_b)`` convention)."""
        return self.matrix[:, a, b]

    @property
    def coherence(self) -> np.ndarray:
        """Magnitude-squared coherence ``|S_ab|^2 / (S_aa S_bb)`` (k, n, n) float in [0, 1]."""
        d = self.psd
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.abs(self.matrix) ** 2 / (d[:, :, None] * d[:, None, :])


def displacement_psd(model, omega, *, diffusion=None, temperature=None, one_sided: bool = True,
                     dt: float | None = None) -> Spectrum:
    """Displacement PSD matrix ``S = chi 2D chi^dagger`` (module docstring for conventions).

    Parameters
    ----------
    model : LinearModel, LangevinModel or identified model (see :func:`state_space`)
    omega : float or (k,) float [rad/s]
        ``>= 0`` when ``one_sided``; ``|omega| <= pi / dt`` when ``dt`` is given.
    diffusion : None or (n, n) [N^2 s]
        Extra force diffusion (recoil) for a model without its own noise.
    temperature : None or float [K]
        Gas temperature (force noise ``2 m gamma k_B T`` per dof) for a model without its own noise.
    one_sided : bool
        One-sided ``G(f) = 2 S`` for ``f > 0`` (default) or two-sided ``S``.
    dt : None or float [s]
        Return the PSD of the sequence sampled every ``dt`` (aliased, exact) instead of the continuous one.

    Returns
    -------
    Spectrum
    """
    w = _omega(omega)
    if one_sided and np.any(w < 0):
        raise ValueError(f"one-sided spectra need omega >= 0, got min(omega) = {w.min():.6g} rad/s")
    if not _has_noise(model) and diffusion is None and temperature is None:
        raise ValueError("no noise: give temperature= [K] (gas damping) and/or diffusion= [N^2 s] (recoil), "
                         "or a model that carries its own noise (LangevinModel)")
    ss = state_space(model, diffusion=diffusion, temperature=temperature)
    n = ss.n
    if dt is None:
        R = ss.resolvent(w)[:, :n, :]
        S = R @ ss.B[None] @ np.conj(np.swapaxes(R, 1, 2))
    else:
        if isinstance(dt, bool) or not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a finite time step > 0 [s], got {dt!r}")
        if np.any(np.abs(w) > np.pi / dt * (1 + 1e-12)):
            raise ValueError(f"omega must lie within the Nyquist band |omega| <= pi/dt = {np.pi / dt:.6g} rad/s")
        Sig = ss.covariance()
        Phi = sla.expm(ss.A * dt)
        z = np.exp(1j * w * dt)
        Mx = np.linalg.solve(np.eye(2 * n)[None] - z[:, None, None] * Phi[None], np.broadcast_to(Sig[:, :n], (len(w), 2 * n, n)))
        Mx = Mx[:, :n, :]
        S = dt * (Mx + np.conj(np.swapaxes(Mx, 1, 2)) - Sig[None, :n, :n])
    S = 0.5 * (S + np.conj(np.swapaxes(S, 1, 2)))
    if one_sided:
        S = np.where((w > 0)[:, None, None], 2 * S, S)
    return Spectrum(omega=w, matrix=S, one_sided=bool(one_sided), labels=ss.labels, dt=dt)
