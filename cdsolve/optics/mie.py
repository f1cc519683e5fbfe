"""Mie coefficients and efficiencies of a homogeneous sphere (Bohren & Huffman convention, ``exp(-i omega t)``).

For a sphere of relative refractive index ``m = n_particle / n_medium`` (passive: ``Im m >= 0``) and
size parameter ``x = k a`` (``k`` the wavenumber in the host, ``a`` the radius)
(C. F. Bohren, D. R. Huffman, *Absorption and Scattering of Light by Small Particles*, Wiley 1983,
eqs. 4.53, 4.56, 4.61, 4.62 and section 4.8)::

    a_n = [(D_n(mx)/m + n/x) psi_n(x) - psi_{n-1}(x)] / [(D_n(mx)/m + n/x) xi_n(x) - xi_{n-1}(x)]
    b_n = [(m D_n(mx) + n/x) psi_n(x) - psi_{n-1}(x)] / [(m D_n(mx) + n/x) xi_n(x) - xi_{n-1}(x)]

with the Riccati-Bessel functions ``psi_n(x) = x j_n(x)``, ``xi_n(x) = x h_n^(1)(x) = x (j_n + i y_n)``
(``scipy.special.spherical_jn / spherical_yn``; ``x`` is real) and the logarithmic derivative
``D_n(z) = psi_n'(z)/psi_n(z)`` of the complex argument ``z = m x``, obtained by the downward
recurrence ``D_{n-1} = n/z - 1/(D_n + n/z)`` started at ``n = max(n_max, |z|) + 16`` with ``D = 0``
(stable for absorbing, high-index and purely imaginary ``m``; Bohren & Huffman appendix A).
These are the coefficients of miepython (the test oracle, ``tests/test_mie.py``). Unlike
miepython, which treats ``Re m <= 0`` as a perfect conductor, metals and lossless plasmonic spheres
(``m = 4j``, gold ``0.2 + 3.3j``) get their true coefficients: the formulas above are analytic in
``m`` and need no special case. Gain (``Im m < 0``) is evaluated as written (the callers decide
whether they accept it).

Sizes the series cannot (or need not) evaluate are refused before anything is allocated:
``x > MAX_SIZE_PARAMETER`` (1e3, ~160 wavelengths in radius: ~1000 multipoles, where a dipole model
keeping ``n = 1`` is meaningless) or ``|m| x > MAX_INNER_SIZE_PARAMETER`` (1e4: the ``D_n`` recurrence
needs ``|m x|`` steps per sphere).
"""

from __future__ import annotations

import numpy as np
from scipy.special import spherical_jn, spherical_yn

__all__ = [
    "MAX_SIZE_PARAMETER",
    "MAX_INNER_SIZE_PARAMETER",
    "check_mie_size",
    "n_terms",
    "mie_coefficients",
    "mie_efficiencies",
]

#: largest size parameter ``x = k a`` evaluated (~1000 multipoles; the dipole model is meaningless there)
MAX_SIZE_PARAMETER = 1.0e3
#: largest ``|m| x`` evaluated (the logarithmic-derivative recurrence takes ``|m x| + 16`` steps)
MAX_INNER_SIZE_PARAMETER = 1.0e4


def check_mie_size(m, x) -> None:
    """Refuse size parameters beyond the stated limits (ValueError naming the value, the limit and why).

    Parameters
    ----------
    m : complex or array_like of complex, any shape
        Relative refractive index [-].
    x : float or array_like of float, broadcastable with ``m``
        Size parameter ``k a`` [-].
    """
    m = np.asarray(m, dtype=complex)
    x = np.asarray(x, dtype=float)
    xm = float(np.max(x)) if x.size else 0.0
    if xm > MAX_SIZE_PARAMETER:
        raise ValueError(
            f"size parameter x = k a = {xm:.6g} exceeds the limit {MAX_SIZE_PARAMETER:g}: a sphere this large "
            f"needs ~{xm:.3g} multipoles and the dipole model (n = 1 only) is meaningless there "
            "(check the radius and wavelength units)")
    inner = float(np.max(np.abs(m) * x)) if m.size and x.size else 0.0
    if inner > MAX_INNER_SIZE_PARAMETER:
        raise ValueError(
            f"|m| x = {inner:.6g} (relative index |m| = {float(np.max(np.abs(m))):.6g} times size parameter) exceeds "
            f"the limit {MAX_INNER_SIZE_PARAMETER:g}: the Mie series would need ~{inner:.3g} internal orders and "
            "a dipole model of such a sphere is meaningless (check the refractive index)")


def n_terms(x: float) -> int:
    """Number of Mie orders for converged efficiencies: ``x + 4.05 x^(1/3) + 2`` (Wiscombe 1980), at least 2.

    Examples
    --------
    >>> n_terms(0.3), n_terms(10.0)
    (5, 20)
    """
    x = float(x)
    return max(2, int(x + 4.05 * x ** (1.0 / 3.0) + 2.0))


def _validated(m, x):
    """Broadcast ``m`` (complex, non-zero, finite) and ``x`` (real, finite, > 0); ValueError naming them."""
    try:
        m = np.asarray(m, dtype=complex)
    except (TypeError, ValueError):
        raise TypeError(f"m (relative refractive index) must be a complex number or array, got {m!r}") from None
    xa = np.asarray(x)
    if xa.dtype.kind not in "iuf":
        raise TypeError(f"x (size parameter) must be real, got {x!r}")
    xa = xa.astype(float)
    if not np.all(np.isfinite(m)) or np.any(m == 0):
        raise ValueError(f"m (relative refractive index) must be finite and non-zero, got {m!r}")
    if not np.all(np.isfinite(xa)) or np.any(xa <= 0):
        raise ValueError(f"x (size parameter) must be finite and > 0, got {x!r}")
    m, xa = np.broadcast_arrays(m, xa)
    check_mie_size(m, xa)
    return m, xa


def _lentz_log_derivative(z: np.ndarray, n: int, max_iter: int = 10_000) -> np.ndarray:
    """``D_n(z)`` (array over z) from its continued fraction, evaluated by Lentz's method.

    ``D_n(z) = -n/z + 1/((2n+1)/z - 1/((2n+3)/z - ...))`` (W. J. Lentz, Appl. Opt. 15, 668 (1976);
    the form used by miepython); iterated until every ratio is within 1e-14 of 1.
    """
    zinv = 2.0 / z
    alpha = (n + 0.5) * zinv
    aj = -(n + 1.5) * zinv
    a1 = aj + 1.0 / alpha
    a2 = aj.copy()
    ratio = a1 / a2
    run = alpha * ratio
    active = np.abs(np.abs(ratio) - 1.0) > 1e-14
    sign = 1.0
    for _ in range(max_iter):
        if not active.any():
            break
        sign = -sign
        aj = sign * zinv - aj  # a_j = (-1)^(j+1) (n + j - 1/2) 2/z
        a1 = np.where(active, 1.0 / a1 + aj, a1)
        a2 = np.where(active, 1.0 / a2 + aj, a2)
        ratio = np.where(active, a1 / a2, 1.0)
        run = run * ratio
        active &= np.abs(np.abs(ratio) - 1.0) > 1e-14
    return -n / z + run


def mie_coefficients(m, x, n_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """External Mie coefficients ``a_n, b_n`` for ``n = 1..n_max``, vectorized over orders and spheres.

    Parameters
    ----------
    m : complex or array_like of complex, any shape S1
        Relative refractive index ``n_particle / n_medium`` [-], finite and non-zero
        (``Im m >= 0`` passive; ``Re m <= 0`` allowed: metals).
    x : float or array_like of float, shape S2 broadcastable with S1
        Size parameter ``k a`` [-], finite and > 0.
    n_max : int, optional
        Highest order (default :func:`n_terms` of the largest ``x``).

    Returns
    -------
    a, b : ndarray of complex128, shape ``broadcast(S1, S2) + (n_max,)``
        ``a[..., n-1] = a_n`` (electric), ``b[..., n-1] = b_n`` (magnetic).

    Examples
    --------
    >>> a, b = mie_coefficients(1.5, 0.1, n_max=2)
    >>> a.shape, bool(abs(a[0] / (-2j / 3 * 0.1**3 * (1.5**2 - 1) / (1.5**2 + 2)) - 1) < 1e-2)
    ((2,), True)
    """
    m, x = _validated(m, x)
    shape = m.shape
    m, x = m.ravel(), x.ravel()
    if n_max is None:
        n_max = n_terms(float(np.max(x)) if x.size else 1.0)
    if isinstance(n_max, (bool, np.bool_)) or not isinstance(n_max, (int, np.integer)) or n_max < 1:
        raise ValueError(f"n_max must be an integer >= 1, got {n_max!r}")
    n_max = int(n_max)
    if x.size == 0:
        return np.empty(shape + (n_max,), complex), np.empty(shape + (n_max,), complex)
    z = m * x
    # logarithmic derivative D_n(z), n = 0..n_max, by downward recurrence (vectorized over spheres)
    # from D_{n_start} given by its continued fraction (Lentz)
    n_start = int(max(n_max, np.max(np.abs(z)))) + 16
    D = np.zeros((z.size, n_max + 1), complex)
    d = _lentz_log_derivative(z, n_start)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(n_start, 0, -1):
            if k <= n_max:
                D[:, k] = d
            kz = k / z
            d = kz - 1.0 / (d + kz)
    D[:, 0] = d
    orders = np.arange(n_max + 1)
    xc = x[:, None]
    psi = xc * spherical_jn(orders, xc)  # (S, n_max+1): psi_0..psi_nmax
    xi = psi + 1j * xc * spherical_yn(orders, xc)
    n = orders[1:]
    Dn = D[:, 1:]
    mc = m[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ta = Dn / mc + n / xc
        tb = mc * Dn + n / xc
        a = (ta * psi[:, 1:] - psi[:, :-1]) / (ta * xi[:, 1:] - xi[:, :-1])
        b = (tb * psi[:, 1:] - psi[:, :-1]) / (tb * xi[:, 1:] - xi[:, :-1])
    same = m == 1  # index-matched: a_n = b_n = 0 exactly (the formulas give round-off)
    a[same] = 0.0
    b[same] = 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        bad = int(np.flatnonzero(~(np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)))[0])
        raise ValueError(
            f"Mie coefficients are not finite for m = {complex(m[bad])!r}, x = {float(x[bad])!r} (n_max = {n_max}): "
            "the size parameter is too small for this many orders, or a gain sphere sits on a lasing pole")
    return a.reshape(shape + (n_max,)), b.reshape(shape + (n_max,))


def mie_efficiencies(m, x, n_max: int | None = None) -> dict:
    """Extinction, scattering and radiation-pressure efficiencies of the full Mie series.

    ``Q_ext = 2/x^2 sum (2n+1) Re(a_n + b_n)``, ``Q_sca = 2/x^2 sum (2n+1)(|a_n|^2 + |b_n|^2)``,
    ``g Q_sca = 4/x^2 [sum n(n+2)/(n+1) Re(a_n a_{n+1}^* + b_n b_{n+1}^*) + sum (2n+1)/(n(n+1)) Re(a_n b_n^*)]``
    and ``Q_pr = Q_ext - g Q_sca`` (Bohren & Huffman eqs. 4.61, 4.62; section 4.8). The plane-wave
    force along the propagation is ``F = n_medium I Q_pr pi a^2 / c``.

    Parameters
    ----------
    m, x : as for :func:`mie_coefficients` (broadcast shape S)
    n_max : int, optional
        Highest order (default :func:`n_terms` of the largest ``x``, plus one for the ``g`` sum).

    Returns
    -------
    dict of ndarray of float64, shape S (0-d arrays for scalar input):
        ``"qext"``, ``"qsca"``, ``"qpr"``, ``"g"`` (asymmetry parameter ``<cos theta>``).

    Examples
    --------
    >>> q = mie_efficiencies(1.5, 1.0)
    >>> round(float(q["qext"]), 4)  # Bohren & Huffman / miepython value
    0.2151
    """
    m_arr, x_arr = _validated(m, x)
    if n_max is None:
        n_max = n_terms(float(np.max(x_arr)) if x_arr.size else 1.0) + 1
    a, b = mie_coefficients(m_arr, x_arr, n_max=n_max)
    n = np.arange(1, a.shape[-1] + 1, dtype=float)
    x2 = x_arr**2
    qext = 2.0 / x2 * np.sum((2 * n + 1) * (a + b).real, axis=-1)
    qsca = 2.0 / x2 * np.sum((2 * n + 1) * (np.abs(a) ** 2 + np.abs(b) ** 2), axis=-1)
    n1 = n[:-1]
    gq = 4.0 / x2 * (
        np.sum(n1 * (n1 + 2) / (n1 + 1) * (a[..., :-1] * a[..., 1:].conj() + b[..., :-1] * b[..., 1:].conj()).real,
               axis=-1)
        + np.sum((2 * n + 1) / (n * (n + 1)) * (a * b.conj()).real, axis=-1)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(qsca > 0, gq / np.where(qsca > 0, qsca, 1.0), 0.0)
    return {"qext": qext, "qsca": qsca, "qpr": qext - gq, "g": g}
