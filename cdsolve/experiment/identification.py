r"""System identification: stiffness, damping and force diffusion from position time traces.

Model (the same as :mod:`cdsolve.dynamics.spectra`): ``M x'' = -K x - M Gamma x' + xi``,
``<xi_a(t) xi_b(t')> = 2 D_ab delta(t - t')``, ``K = -dF/dx`` [N/m] (``LinearModel.stiffness``
convention, non-symmetric when the coupling is non-reciprocal), ``Gamma`` [1/s], ``D`` [N^2 s].
Data: positions only (``N`` samples, uniform step ``dt``), masses known. The mean is removed
(detector offsets); every dof is scaled to unit variance internally.

Time domain (``method="time"``)
    Sampled exactly, ``(x, v)`` is a VAR(1) process ``z_{k+1} = exp(A dt) z_k + w_k``; eliminating the
    unobserved velocity gives, exactly, ``x_{k+1} = A_1 x_k + A_2 x_{k-1} + e_{k+1}`` whose error is a
    moving average of order 1 (it contains ``w_k`` *and* ``w_{k-1}``). Ordinary least squares on
    this AR(2) form is therefore biased (by ~``gamma dt / 3`` in ``A_2``, i.e. a third of the damping).
    We write it as ``x_{k+1} - 2 x_k + x_{k-1} = a x_k + b (x_k - x_{k-1}) + e`` and estimate ``(a, b)``
    by two-stage least squares with the lagged regressors ``(x_{k-1}, x_{k-1} - x_{k-2})`` as
    instruments (uncorrelated with ``e``): stage 1 the projection on the instruments, stage 2
    ``sklearn.linear_model.RidgeCV`` with ``TimeSeriesSplit`` cross-validation (4 folds, training
    windows up to 2e5 rows) of the ridge strength (standardized columns; the chosen ``alpha`` is in
    ``diagnostics``; with long series it is negligible). Back to continuous
    time: the companion matrix ``C = [[A_1, A_2], [1, 0]]`` is similar to ``exp(A dt)``, so
    ``L = logm(C) / dt`` is similar to ``A = [[0, 1], [-M^-1 K, -Gamma]]``; with the blocks of ``L``
    and ``L^2`` (first block row), ``Gamma = -(L^2)_12 L_12^-1`` and ``M^-1 K = -(L^2)_11 - Gamma L_11``
    (needs every mode below the Nyquist frequency). The diffusion follows by least squares from the
    autocovariances at lags 0, 1, 2, which are linear in ``D`` for given ``K, Gamma`` (Lyapunov).
    Uncertainties: non-overlapping block bootstrap (blocks >= 10 damping times, at least 20 blocks)
    of the whole procedure, evaluated on per-block sufficient statistics with the same ridge strength.

Frequency domain (``method="frequency"``)
    Welch estimate of the cross-spectral-density matrix (Hann window, 50 % overlap, the
    ``scipy.signal.csd`` convention), fitted with ``scipy.optimize.least_squares`` by the *exact* PSD of
    the sampled process (:func:`cdsolve.dynamics.spectra.displacement_psd` with ``dt``: aliasing
    included), residuals weighted by the Welch standard deviation of the starting model (fixed weights).
    Parameters: ``M^-1 K`` (n^2), diagonal ``Gamma`` (n), symmetric ``D`` (n(n+1)/2). It starts from the
    time-domain estimate (the optimum does not depend on the start). Uncertainties: the sandwich
    covariance of the fit with the scatter between groups of consecutive Welch segments (the
    linearized block bootstrap over segments, analytically); ``draws`` are samples of that Gaussian.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.linalg as sla

from ..dynamics.linear_model import StiffnessViews
from ..dynamics.modes import mechanical_frequencies
from ..optics.conventions import KB

__all__ = ["IdentifiedModel", "identify", "welch_csd"]

_FORMAT = "cdsolve-identified-model/1"
_MIN_SAMPLES = 1000


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class IdentifiedModel(StiffnessViews):
    """Linear model identified from data, with standard errors.

    Attributes
    ----------
    stiffness : (n, n) float [N/m]          ``K = -dF/dx``
    stiffness_stderr : (n, n) float [N/m]
    damping_matrix : (n, n) float [1/s]     ``Gamma`` (diagonal for ``method="frequency"``)
    damping_matrix_stderr : (n, n) float [1/s]
    diffusion : (n, n) float [N^2 s]        force diffusion ``D`` (``<xi_a xi_b> = 2 D_ab delta``)
    diffusion_stderr : (n, n) float [N^2 s]
    masses : (n,) float [kg]
    labels : tuple of str
    dt : float [s]
    method : str                            "time" or "frequency"
    n_samples : int
    temperature : float or None [K]         gas temperature if given (for :attr:`effective_temperature`)
    draws : dict                            ``"stiffness"`` (B, n, n), ``"damping_matrix"``, ``"diffusion"``:
                                            bootstrap replicates (time) or Gaussian samples of the fit (frequency)
    diagnostics : dict                      ridge alpha, block length, number of blocks, fit cost, ...
    """

    stiffness: np.ndarray
    stiffness_stderr: np.ndarray
    damping_matrix: np.ndarray
    damping_matrix_stderr: np.ndarray
    diffusion: np.ndarray
    diffusion_stderr: np.ndarray
    masses: np.ndarray
    labels: tuple
    dt: float
    method: str
    n_samples: int
    temperature: float | None = None
    draws: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.masses)

    @property
    def damping(self) -> np.ndarray:
        """Damping rate of each dof, the diagonal of ``Gamma`` (n,) [1/s]."""
        return np.diag(self.damping_matrix).copy()

    @property
    def damping_stderr(self) -> np.ndarray:
        return np.diag(self.damping_matrix_stderr).copy()

    @property
    def trap_frequencies(self) -> np.ndarray:
        """``sqrt(K_aa / m_a)`` (n,) [rad/s] (nan where ``K_aa <= 0``)."""
        d = np.diag(self.stiffness) / self.masses
        return np.sqrt(np.where(d > 0, d, np.nan))

    @property
    def effective_temperature(self) -> np.ndarray:
        """``D_aa / (m_a gamma_a k_B)`` (n,) [K]: the bath temperature the noise of each dof corresponds to."""
        return np.diag(self.diffusion) / (self.masses * self.damping * KB)

    def _index(self, i):
        if isinstance(i, str):
            if i not in self.labels:
                raise ValueError(f"unknown dof label {i!r}; labels are {list(self.labels)}")
            return self.labels.index(i)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -self.n <= i < self.n:
            raise ValueError(f"dof index must be an int in [0, {self.n}) or a label, got {i!r}")
        return int(i) % self.n

    @staticmethod
    def _rates(K, m, p, q):
        Cij, Cji = -K[..., p, q], -K[..., q, p]
        mm = 0.5 * (m[p] + m[q])
        w = 0.5 * (np.sqrt(K[..., p, p] / m[p]) + np.sqrt(K[..., q, q] / m[q]))
        return (Cij + Cji) / (4 * mm * w), (Cij - Cji) / (4 * mm * w)

    def pair_rates(self, i, j, *, stderr: bool = False):
        """Reciprocal and antireciprocal coupling rates ``(g_r, g_a)`` [rad/s] of dofs ``i``, ``j``.

        The definition of :meth:`cdsolve.dynamics.linear_model.LinearModel.pair_rates`
        (``g_r = (C_ij + C_ji)/(4 m omega)``, ``g_a = (C_ij - C_ji)/(4 m omega)``, ``C = -K``, mean mass
        and mean trap frequency), but ``i``, ``j`` are dof indices (or labels) of this model.
        ``stderr=True`` returns ``((g_r, sigma_r), (g_a, sigma_a))`` (spread of :attr:`draws`).
        """
        p, q = self._index(i), self._index(j)
        gr, ga = self._rates(self.stiffness, self.masses, p, q)
        if not stderr:
            return float(gr), float(ga)
        with np.errstate(invalid="ignore"):
            dr, da = self._rates(self.draws["stiffness"], self.masses, p, q)
        return (float(gr), float(np.nanstd(dr, ddof=1))), (float(ga), float(np.nanstd(da, ddof=1)))

    def mode_frequencies(self) -> np.ndarray:
        """The 2n complex roots of the damped model [rad/s] (:func:`cdsolve.dynamics.modes.mechanical_frequencies`)."""
        return np.asarray(mechanical_frequencies(self.dynamical_matrix, damping=self.damping_matrix).frequencies)

    # ------------------------------------------------------------------ files
    _ARRAYS = ("stiffness", "stiffness_stderr", "damping_matrix", "damping_matrix_stderr", "diffusion",
               "diffusion_stderr", "masses")
    _UNITS = {"stiffness": "N/m", "stiffness_stderr": "N/m", "damping_matrix": "1/s", "damping_matrix_stderr": "1/s",
              "diffusion": "N^2 s (<xi_a(t) xi_b(t')> = 2 D_ab delta)", "diffusion_stderr": "N^2 s", "masses": "kg",
              "dt": "s", "temperature": "K"}

    def save(self, path) -> Path:
        """Write an ``.npz`` (arrays, bootstrap draws and JSON metadata with units); :meth:`load` reads it back."""
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise ValueError(f"IdentifiedModel.save writes .npz, got {str(path)!r}")
        meta = {"format": _FORMAT, "labels": list(self.labels), "dt": self.dt, "method": self.method,
                "n_samples": self.n_samples, "temperature": self.temperature, "units": self._UNITS,
                "diagnostics": self.diagnostics}
        arrays = {k: getattr(self, k) for k in self._ARRAYS}
        arrays.update({f"draws_{k}": v for k, v in self.draws.items()})
        np.savez(path, **arrays, meta=json.dumps(meta, default=float))
        return path

    @classmethod
    def load(cls, path) -> "IdentifiedModel":
        path = Path(path)
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: not a cdsolve identified model (format {meta.get('format')!r})")
            arrays = {k: data[k] for k in cls._ARRAYS}
            draws = {k[6:]: data[k] for k in data.files if k.startswith("draws_")}
        return cls(**arrays, labels=tuple(meta["labels"]), dt=float(meta["dt"]), method=meta["method"],
                   n_samples=int(meta["n_samples"]), temperature=meta["temperature"], draws=draws,
                   diagnostics=meta["diagnostics"])


# --------------------------------------------------------------------------- input checks
def _check(positions, dt, masses, labels, times, temperature):
    x = np.asarray(positions)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"positions must be a real (n_samples, n_dofs) array [m], got shape {np.shape(positions)}")
    x = x.astype(float)
    N, n = x.shape
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        raise ValueError(f"positions contain {len(bad)} NaN/inf values (first at sample {bad[0][0]}, dof {bad[0][1]}); "
                         "remove or interpolate them before identification")
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) or not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a finite time step > 0 [s], got {dt!r}")
    dt = float(dt)
    if times is not None:
        t = np.asarray(times, float).ravel()
        if t.shape != (N,):
            raise ValueError(f"times must have one entry per sample ({N}), got shape {np.shape(times)}")
        d = np.diff(t)
        dev = np.abs(d - dt).max() if d.size else 0.0
        if not np.all(np.isfinite(t)) or dev > 1e-6 * dt:
            k = int(np.argmax(np.abs(d - dt))) if d.size else 0
            raise ValueError(f"times are not uniform with step dt = {dt:.6g} s: step {k} is {d[k]:.6g} s "
                             f"(max deviation {dev:.3g} s > 1e-6 dt); resample onto a uniform grid first")
    if N < max(_MIN_SAMPLES, 100 * n):
        raise ValueError(f"positions too short: {N} samples for {n} dofs (need at least {max(_MIN_SAMPLES, 100 * n)}; "
                         "the uncertainties need many damping times)")
    m = np.asarray(masses, float)
    m = np.full(n, float(m)) if m.ndim == 0 else m.ravel()
    if m.shape != (n,) or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"masses must be one positive mass or one per dof ({n}) [kg], got {masses!r} "
                         f"(shape {np.shape(masses)})")
    labs = tuple(f"q_{i}" for i in range(n)) if labels is None else tuple(str(s) for s in labels)
    if len(labs) != n:
        raise ValueError(f"labels must have {n} entries (one per dof), got {len(labs)}")
    x = x - x.mean(axis=0)
    s = x.std(axis=0)
    still = np.flatnonzero(s <= 1e-12 * max(s.max(), 1e-300))
    if still.size:
        raise ValueError(f"dof(s) {[labs[i] for i in still]} do not move (standard deviation {s[still[0]]:.3g} m): "
                         "the model is rank deficient; drop them")
    u = x / s
    ev = np.linalg.eigvalsh(u.T @ u / N)
    if ev.min() < 1e-10:
        raise ValueError(f"the dofs are linearly dependent (smallest eigenvalue {ev.min():.3g} of the correlation "
                         "matrix): the data are rank deficient; drop the redundant dof(s)")
    if temperature is not None and (isinstance(temperature, bool) or not np.isfinite(temperature) or temperature <= 0):
        raise ValueError(f"temperature must be a finite temperature > 0 [K] or None, got {temperature!r}")
    return u, s, dt, m, labs


# --------------------------------------------------------------------------- shared maps
def _continuous_from_ar2(a, b, dt):
    """``(M^-1 K, Gamma)`` (scaled units) from ``y = a x_k + b (x_k - x_{k-1})`` (module docstring)."""
    n = a.shape[0]
    eye = np.eye(n)
    C = np.block([[2 * eye + a + b, -(eye + b)], [eye, np.zeros((n, n))]])
    lam = np.linalg.eigvals(C)
    if np.any(np.abs(lam.imag) < 1e-12) and np.any(lam.real[np.abs(lam.imag) < 1e-12] <= 0):
        raise ValueError("the identified discrete dynamics has a real negative eigenvalue: a mode at or above the "
                         "Nyquist frequency pi/dt (sample faster) or an overdamped/unstable fit")
    L = sla.logm(C)
    if np.iscomplexobj(L):
        if np.abs(L.imag).max() > 1e-8 * np.abs(L).max():
            raise ValueError("matrix logarithm of the discrete dynamics is not real: a mode is at or above the "
                             "Nyquist frequency pi/dt (sample faster)")
        L = L.real
    L = L / dt
    L2 = L @ L
    G = -L2[:n, n:] @ np.linalg.inv(L[:n, n:])
    D = -L2[:n, :n] - G @ L[:n, :n]
    return D, G


def _sym_basis(n):
    iu = np.triu_indices(n)
    E = np.zeros((len(iu[0]), n, n))
    E[np.arange(len(iu[0])), iu[0], iu[1]] = 1
    E[np.arange(len(iu[0])), iu[1], iu[0]] = 1
    return iu, E


def _autocov_design(D, G, dt, lags):
    """Linear map from the symmetric acceleration-noise matrix to the autocovariances ``R(h)`` (scaled units)."""
    n = D.shape[0]
    w = float(np.sqrt(max(np.abs(D).max(), 1e-300)))
    A = np.block([[np.zeros((n, n)), w * np.eye(n)], [-D / w, -G]])  # state (x, v / w)
    lam = np.linalg.eigvals(A)
    if np.any(lam.real >= 0):
        raise ValueError("the identified model is not stable (a drift eigenvalue has Re >= 0): no stationary "
                         "state to fit the diffusion to")
    iu, E = _sym_basis(n)
    m2 = 2 * n
    Kron = np.kron(np.eye(m2), A) + np.kron(A, np.eye(m2))
    Bs = np.zeros((len(E), m2, m2))
    Bs[:, n:, n:] = E / w**2
    vecS = np.linalg.solve(Kron, -Bs.reshape(len(E), -1).T)  # column-major vec is fine: symmetric B, S
    S = vecS.T.reshape(len(E), m2, m2)
    S = 0.5 * (S + np.swapaxes(S, 1, 2))
    Phi = sla.expm(A * dt)
    cols = []
    P = np.eye(m2)
    for h in range(max(lags) + 1):
        if h in lags:
            cols.append((P @ S)[:, :n, :n].reshape(len(E), -1))
        P = Phi @ P
    return np.concatenate(cols, axis=1).T  # (len(lags) n^2, n(n+1)/2)


def _noise_from_cov(Rs, D, G, dt, lags):
    X = _autocov_design(D, G, dt, lags)
    q, *_ = np.linalg.lstsq(X, np.concatenate([R.ravel() for R in Rs]), rcond=None)
    n = D.shape[0]
    iu, E = _sym_basis(n)
    return np.tensordot(q, E, axes=1)


def _to_physical(Du, Gu, Qu, s, m):
    """Scaled ``(M^-1 K, Gamma, acceleration noise)`` -> ``(K [N/m], Gamma [1/s], D [N^2 s])`` (last axes)."""
    K = m[:, None] * (s[:, None] * Du / s[None, :])
    Gm = s[:, None] * Gu / s[None, :]
    Df = 0.5 * (m * s)[:, None] * Qu * (m * s)[None, :]
    return K, Gm, Df


# --------------------------------------------------------------------------- time domain
_LAGS = (0, 1, 2)


def _design(u):
    y = u[3:] - 2 * u[2:-1] + u[1:-2]
    X = np.hstack([u[2:-1], u[2:-1] - u[1:-2]])
    Z = np.hstack([u[1:-2], u[1:-2] - u[:-3]])
    return y, X, Z


def _solve_moments(ZZ, ZX, Zy, c, alpha):
    W = np.linalg.solve(ZZ, np.hstack([ZX, Zy]))
    p = ZX.shape[1]
    XhXh = ZX.T @ W[:, :p] / np.outer(c, c)
    Xhy = ZX.T @ W[:, p:] / c[:, None]
    beta = np.linalg.solve(XhXh + alpha * np.eye(p), Xhy) / c[:, None]
    n = Zy.shape[1]
    return beta[:n].T, beta[n:].T


def _identify_time(u, s, dt, m, *, n_boot, seed, block_length, alphas):
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import TimeSeriesSplit

    N, n = u.shape
    y, X, Z = _design(u)
    ZZ_all = Z.T @ Z
    Xh = Z @ np.linalg.solve(ZZ_all, Z.T @ X)  # stage 1: projection of the regressors on the instruments
    c = Xh.std(axis=0)
    alphas = np.asarray(alphas if alphas is not None else len(y) * np.array([1e-10, 1e-7, 1e-4]), float)
    cv = TimeSeriesSplit(n_splits=4, max_train_size=200_000, test_size=min(len(y) // 5, 50_000))
    ridge = RidgeCV(alphas=alphas, fit_intercept=False, cv=cv).fit(Xh / c, y)
    beta = ridge.coef_.T / c[:, None]  # (2n, n)
    a, b = beta[:n].T, beta[n:].T
    Du, Gu = _continuous_from_ar2(a, b, dt)
    R = [u[h:].T @ u[:N - h] / (N - h) for h in _LAGS]
    Qu = _noise_from_cov(R, Du, Gu, dt, _LAGS)
    K, Gm, Df = _to_physical(Du, Gu, Qu, s, m)
    # ---- block bootstrap on per-block sufficient statistics
    gmin = np.min(np.diag(Gm))
    tau = 1.0 / gmin if gmin > 0 else np.inf
    Lb = int(block_length) if block_length is not None else int(np.ceil(10 * tau / dt)) if np.isfinite(tau) else len(y)
    nb = len(y) // max(Lb, 1)
    diag = {"ridge_alpha": float(ridge.alpha_), "ridge_alphas": alphas.tolist(), "bootstrap_replicates": int(n_boot)}
    if nb < 20:
        nb = 20
        warnings.warn(f"the series holds fewer than 20 blocks of 10 damping times (1/gamma = {tau:.3g} s); the "
                      "bootstrap uses 20 shorter blocks and may underestimate the errors", stacklevel=3)
    Lb = len(y) // nb
    diag.update(block_length=int(Lb), n_blocks=int(nb))
    draws = {"stiffness": [], "damping_matrix": [], "diffusion": []}
    if n_boot:
        r = slice(0, nb * Lb)
        Zb, Xb, yb = (v[r].reshape(nb, Lb, -1) for v in (Z, X, y))
        ZbT = np.swapaxes(Zb, 1, 2)
        ZZ, ZX, Zy = ZbT @ Zb, ZbT @ Xb, ZbT @ yb
        Rb = [np.swapaxes(u[h:h + nb * Lb].reshape(nb, Lb, n), 1, 2) @ u[: nb * Lb].reshape(nb, Lb, n) for h in _LAGS]
        rng = np.random.default_rng(seed)
        fails = 0
        for _ in range(int(n_boot)):
            idx = rng.integers(0, nb, nb)
            try:
                ab = _solve_moments(ZZ[idx].sum(0), ZX[idx].sum(0), Zy[idx].sum(0), c, ridge.alpha_ / len(y) * nb * Lb)
                Db, Gb = _continuous_from_ar2(*ab, dt)
                Qb = _noise_from_cov([R_[idx].sum(0) / (nb * Lb) for R_ in Rb], Db, Gb, dt, _LAGS)
            except (ValueError, np.linalg.LinAlgError):
                fails += 1
                continue
            for k, v in zip(draws, _to_physical(Db, Gb, Qb, s, m)):
                draws[k].append(v)
        diag["bootstrap_failures"] = fails
        if fails > 0.1 * n_boot:
            warnings.warn(f"{fails} of {n_boot} bootstrap replicates failed (unstable or aliased fits): the data "
                          "are too short or too noisy for reliable error bars", stacklevel=3)
    draws = {k: np.asarray(v) if v else np.full((0, n, n), np.nan) for k, v in draws.items()}
    return K, Gm, Df, draws, diag


# --------------------------------------------------------------------------- frequency domain
def welch_csd(positions, dt, nperseg, *, groups: int = 1):
    """Welch cross-spectral-density matrix (Hann, 50 % overlap), ``scipy.signal.csd`` convention.

    Parameters
    ----------
    positions : (N, n) float [m]
    dt : float [s]
    nperseg : int
    groups : int
        Also return the average over each of ``groups`` runs of consecutive segments.

    Returns
    -------
    f : (k,) float [Hz]
    C : (k, n, n) complex [m^2/Hz]  one-sided, ``C_ab = <conj(X_a) X_b>`` (``scipy.signal.csd(x_a, x_b)``)
    Cg : (groups, k, n, n) complex  per-group averages
    n_seg : int
    """
    from scipy.signal import get_window

    x = np.asarray(positions, float)
    N, n = x.shape
    step = nperseg // 2
    n_seg = (N - nperseg) // step + 1
    win = get_window("hann", nperseg)
    idx = np.arange(nperseg)[None, :] + step * np.arange(n_seg)[:, None]
    seg = x[idx]  # (n_seg, nperseg, n)
    seg = seg - seg.mean(axis=1, keepdims=True)
    F = np.fft.rfft(seg * win[None, :, None], axis=1)
    scale = 2.0 * dt / (win**2).sum()
    f = np.fft.rfftfreq(nperseg, dt)
    g = max(1, min(int(groups), n_seg))
    edges = np.linspace(0, n_seg, g + 1).astype(int)
    Cg = np.stack([np.einsum("kfa,kfb->fab", np.conj(F[a:b]), F[a:b]) / (b - a) for a, b in zip(edges[:-1], edges[1:])])
    w = np.diff(edges) / n_seg
    C = np.tensordot(w, Cg, axes=1)
    fac = np.full(len(f), scale)
    fac[0] /= 2
    if nperseg % 2 == 0:
        fac[-1] /= 2
    return f, C * fac[:, None, None], Cg * fac[None, :, None, None], n_seg


def _model_psd(Du, g, Qu, dt, omega):
    """One-sided exact PSD of the sampled scaled process (k, n, n) for ``M^-1 K = Du``, ``Gamma = diag(g)``."""
    n = Du.shape[0]
    w = float(np.sqrt(max(np.abs(Du).max(), 1e-300)))
    A = np.block([[np.zeros((n, n)), w * np.eye(n)], [-Du / w, -np.diag(g)]])
    B = np.zeros((2 * n, 2 * n))
    B[n:, n:] = Qu / w**2
    Sig = sla.solve_continuous_lyapunov(A, -B)
    Sig = 0.5 * (Sig + Sig.T)
    Phi = sla.expm(A * dt)
    z = np.exp(1j * omega * dt)
    M = np.linalg.solve(np.eye(2 * n)[None] - z[:, None, None] * Phi[None], np.broadcast_to(Sig[:, :n], (len(z), 2 * n, n)))[:, :n]
    S = dt * (M + np.conj(np.swapaxes(M, 1, 2)) - Sig[None, :n, :n])
    return 2 * S


def _identify_frequency(u, s, dt, m, start, *, nperseg, groups, n_draws, seed):
    from scipy.optimize import least_squares

    N, n = u.shape
    Du0, g0, Qu0 = start
    if nperseg is None:
        gmin = max(np.min(g0), 1e-12 / dt)
        nperseg = int(2 ** np.ceil(np.log2(8 * 2 * np.pi / (gmin * dt))))
        nperseg = int(min(nperseg, 2 ** int(np.log2(N // 16))))
    f, C, Cg, n_seg = welch_csd(u, dt, nperseg, groups=groups)
    sel = slice(1, len(f) - 1)
    om = 2 * np.pi * f[sel]
    C, Cg = C[sel], Cg[:, sel]
    iu = np.triu_indices(n)
    off = iu[0] != iu[1]
    iu_off = (iu[0][off], iu[1][off])
    w_ref = float(np.sqrt(np.abs(Du0).max()))

    def unpack(th):
        Du = th[: n * n].reshape(n, n) * w_ref**2
        g = th[n * n:n * n + n] * w_ref
        q = th[n * n + n:]
        Qu = np.zeros((n, n))
        Qu[iu] = q
        Qu = (Qu + Qu.T - np.diag(np.diag(Qu))) * w_ref**3
        return Du, g, Qu

    def flat(Cm, sig_d, sig_o):
        d = np.real(np.einsum("kaa->ka", Cm)) / sig_d
        o = Cm[:, iu_off[0], iu_off[1]] / sig_o
        return np.concatenate([d.ravel(), o.real.ravel(), o.imag.ravel()], axis=-1) if Cm.ndim == 3 else None

    def weights(S):
        d = np.real(np.einsum("kaa->ka", S))
        nu = max(n_seg, 1)
        return d / np.sqrt(nu), np.sqrt(d[:, iu_off[0]] * d[:, iu_off[1]] / (2 * nu))

    q0 = Qu0[iu] / w_ref**3
    th = np.concatenate([(Du0 / w_ref**2).ravel(), g0 / w_ref, q0])
    for _ in range(1):  # weights from the start (the time-domain estimate): fixed, not fitted
        sd, so = weights(_model_psd(*unpack(th), dt, om))
        data = flat(C, sd, so)

        def resid(t):
            try:
                return flat(_model_psd(*unpack(t), dt, om), sd, so) - data
            except (ValueError, np.linalg.LinAlgError):
                return np.full(data.shape, 1e6)

        fit = least_squares(resid, th, x_scale="jac", method="trf")
        th = fit.x
    J = fit.jac
    # sandwich: scatter of the per-group residual gradients (linearized block bootstrap over segments)
    G = len(Cg)
    d = np.stack([J.T @ flat(Cg[k], sd, so) for k in range(G)])
    meat = np.cov(d.T, ddof=1) / G
    bread = np.linalg.pinv(J.T @ J)
    cov = bread @ meat @ bread
    Du, g, Qu = unpack(th)
    rng = np.random.default_rng(seed)
    samples = rng.multivariate_normal(th, 0.5 * (cov + cov.T), size=int(n_draws), method="eigh")
    draws = {"stiffness": [], "damping_matrix": [], "diffusion": []}
    for t in samples:
        Db, gb, Qb = unpack(t)
        for k, v in zip(draws, _to_physical(Db, np.diag(gb), Qb, s, m)):
            draws[k].append(v)
    draws = {k: np.asarray(v) for k, v in draws.items()}
    K, Gm, Df = _to_physical(Du, np.diag(g), Qu, s, m)
    diag = {"nperseg": int(nperseg), "n_segments": int(n_seg), "groups": int(G), "fit_cost": float(fit.cost),
            "n_residuals": int(fit.fun.size), "fit_status": int(fit.status)}
    return K, Gm, Df, draws, diag


# --------------------------------------------------------------------------- entry point
def identify(positions, dt, *, masses, method: str = "time", temperature=None, labels=None, bootstrap: int = 200,
             times=None, seed: int = 0, block_length=None, ridge_alphas=None, nperseg=None,
             groups: int = 32) -> IdentifiedModel:
    """Identify ``K``, ``Gamma`` and ``D`` of ``M x'' = -K x - M Gamma x' + xi`` from positions (module docstring).

    Parameters
    ----------
    positions : (N, n) float [m]
        Position samples of ``n`` dofs at uniform step ``dt`` (a 1-d array is one dof). Offsets are removed.
    dt : float [s]
        Sampling step.
    masses : float or (n,) float [kg]
        Mass of each dof.
    method : {"time", "frequency"}
        Time-domain regression (scikit-learn) or Welch-PSD fit (scipy); see the module docstring.
    temperature : None or float [K]
        Gas temperature, recorded (``effective_temperature`` compares the noise with it).
    labels : None or sequence of n str
    bootstrap : int
        Bootstrap replicates (time domain) or Gaussian draws of the fit (frequency domain) for the
        standard errors (>= 20; 0 only with ``method="time"``: no error bars, stderr NaN).
    times : None or (N,) float [s]
        Time stamps, checked to be uniform with step ``dt`` (relative tolerance 1e-6).
    seed : int
        Seed of the bootstrap.
    block_length : None or int
        Bootstrap block length in samples (default: 10 damping times, at least 20 blocks).
    ridge_alphas : None or sequence of float
        Ridge strengths tried by the cross-validation (standardized regressors; default ``N * 1e-10 .. 1e-4``).
    nperseg : None or int
        Welch segment length (default: resolution ~ linewidth / 8, at least 16 segments).
    groups : int
        Groups of consecutive Welch segments for the frequency-domain error bars.

    Returns
    -------
    IdentifiedModel
    """
    if method not in ("time", "frequency"):
        raise ValueError(f"method must be 'time' or 'frequency', got {method!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0 or 0 < bootstrap < 20:
        raise ValueError(f"bootstrap must be 0 or an integer >= 20, got {bootstrap!r}")
    if method == "frequency" and bootstrap == 0:
        raise ValueError("method='frequency' needs bootstrap >= 20 draws for its error bars")
    u, s, dt, m, labs = _check(positions, dt, masses, labels, times, temperature)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    # small matrices (2n x 2n) in loops: BLAS threads only add synchronization (10x slower on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        return _identify(u, s, dt, m, labs, method, temperature, bootstrap, seed, block_length, ridge_alphas,
                         nperseg, groups)


def _identify(u, s, dt, m, labs, method, temperature, bootstrap, seed, block_length, ridge_alphas, nperseg, groups):
    K, Gm, Df, draws, diag = _identify_time(u, s, dt, m, n_boot=bootstrap if method == "time" else 0, seed=seed,
                                            block_length=block_length, alphas=ridge_alphas)
    if method == "frequency":
        start = (s[None, :] * (K / m[:, None]) / s[:, None], np.diag(Gm).copy(), 2 * Df / np.outer(m * s, m * s))
        K, Gm, Df, draws, diag = _identify_frequency(u, s, dt, m, start, nperseg=nperseg, groups=groups,
                                                     n_draws=bootstrap, seed=seed)

    def sd(k):
        v = draws[k]
        return np.std(v, axis=0, ddof=1) if len(v) > 1 else np.full_like(K, np.nan)

    return IdentifiedModel(stiffness=K, stiffness_stderr=sd("stiffness"), damping_matrix=Gm,
                           damping_matrix_stderr=sd("damping_matrix"), diffusion=Df, diffusion_stderr=sd("diffusion"),
                           masses=m, labels=labs, dt=dt, method=method, n_samples=int(len(u)),
                           temperature=None if temperature is None else float(temperature), draws=draws,
                           diagnostics=diag)
