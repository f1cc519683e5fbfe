"""Mie coefficients and efficiencies of cdsolve.optics.mie.

Oracles: miepython (independent implementation, dielectric / absorbing / high-index spheres; note it
takes Re m <= 0 as a perfect conductor, so it is not used there); an mpmath evaluation of the
Riccati-Bessel formulas (Bohren & Huffman eq. 4.53, 30 digits, no logarithmic-derivative recurrence)
for metals, lossless plasmonic spheres and gain; the Rayleigh limit ``a1 -> -2i x^3/3 (m^2-1)/(m^2+2)``;
energy conservation ``Q_ext = Q_sca`` for lossless spheres; the optical theorem ``Re a_n = |a_n|^2``.
"""

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.optics.mie import (MAX_INNER_SIZE_PARAMETER, MAX_SIZE_PARAMETER, check_mie_size, mie_coefficients,
                                mie_efficiencies, n_terms)

miepython = pytest.importorskip("miepython")

CASES = [(1.45, 0.3), (1.5, 1.0), (1.5 + 0.1j, 0.5), (3.9 + 0.016j, 1.2), (1.33, 30.0), (10 + 5j, 3.0),
         (4.0 + 0.01j, 8.0), (1.2 + 2.0j, 2.0)]
IDS = ["silica", "bh-1.5", "absorbing", "silicon", "large-water", "high-index-lossy", "high-index", "strongly-absorbing"]


def miepython_ab(m, x):
    """miepython's a_n, b_n as 1-D arrays (n_pole=0: all orders; works with miepython 3.0 and later)."""
    a, b = miepython.coefficients(m, x, n_pole=0)
    return np.atleast_1d(np.asarray(a)).ravel(), np.atleast_1d(np.asarray(b)).ravel()


@pytest.mark.parametrize("m,x", CASES, ids=IDS)
def test_coefficients_match_miepython(m, x):
    a, b = mie_coefficients(m, x)
    am, bm = miepython_ab(m, x)
    n = min(len(a), len(am))
    scale = np.abs(a[0]) + np.abs(b[0])
    # tolerance: both codes use D_n recurrences in double precision; measured <= 1.3e-10 relative (large x)
    assert_allclose(a[:n], am[:n], rtol=1e-9, atol=1e-13 * scale)
    assert_allclose(b[:n], bm[:n], rtol=1e-9, atol=1e-13 * scale)


@pytest.mark.parametrize("m,x", CASES, ids=IDS)
def test_efficiencies_match_miepython(m, x):
    q = mie_efficiencies(m, x)
    qext, qsca, _, g = miepython.efficiencies_mx(m, x)
    # tolerance: measured <= 2.3e-11 relative (series truncation and round-off of the two codes)
    assert_allclose(q["qext"], qext, rtol=1e-9)
    assert_allclose(q["qsca"], qsca, rtol=1e-9)
    assert_allclose(q["g"], g, rtol=1e-9, atol=1e-12)
    assert_allclose(q["qpr"], qext - g * qsca, rtol=1e-9)


def mp_ab(m, x, n_max, dps=30):
    """Oracle: Bohren & Huffman eq. 4.53 with mpmath Bessel functions of complex argument."""
    with mpmath.workdps(dps):
        m, x = mpmath.mpc(m), mpmath.mpf(x)
        z = m * x

        def psi(n, t):
            return mpmath.sqrt(mpmath.pi * t / 2) * mpmath.besselj(n + 0.5, t)

        def xi(n, t):
            return mpmath.sqrt(mpmath.pi * t / 2) * mpmath.hankel1(n + 0.5, t)

        a, b = [], []
        for n in range(1, n_max + 1):
            pz, px, xx = psi(n, z), psi(n, x), xi(n, x)
            dpz = psi(n - 1, z) - n / z * pz
            dpx = psi(n - 1, x) - n / x * px
            dxx = xi(n - 1, x) - n / x * xx
            a.append(complex((m * pz * dpx - px * dpz) / (m * pz * dxx - xx * dpz)))
            b.append(complex((pz * dpx - m * px * dpz) / (pz * dxx - m * xx * dpz)))
        return np.array(a), np.array(b)


@pytest.mark.parametrize("m,x", [(4j, 0.3), (0.2 + 3.3j, 0.8), (0.05 + 2.0j, 1.5), (-0.0 + 1.3j, 0.5),
                                 (1.45 - 0.02j, 0.7), (3.5 - 0.1j, 1.1)],
                         ids=["lossless-metal", "gold", "silver-like", "plasmon-resonant", "gain", "high-index-gain"])
def test_metals_and_gain_match_mpmath(m, x):
    a, b = mie_coefficients(m, x, n_max=4)
    am, bm = mp_ab(m, x, 4)
    scale = np.abs(a[0]) + np.abs(b[0])
    # tolerance: double precision vs 30 digits; the recurrence loses a few digits near plasmon resonances
    assert_allclose(a, am, rtol=1e-10, atol=1e-14 * scale)
    assert_allclose(b, bm, rtol=1e-10, atol=1e-14 * scale)


@pytest.mark.parametrize("m", [4j, 0.2 + 3.3j, 1.45, 3.5 + 0.1j, 1.45 - 0.01j], ids=["4j", "gold", "silica", "si", "gain"])
def test_rayleigh_limit(m):
    # oracle: a1 = -2i x^3/3 (m^2-1)/(m^2+2) (1 + O(x^2)) for any m, metals and gain included
    errs = []
    for x in (1e-3, 2e-3):
        a, _ = mie_coefficients(m, x, n_max=1)
        errs.append(abs(a[0] / (-2j * x**3 / 3 * (m**2 - 1) / (m**2 + 2)) - 1))
    assert errs[0] < 10 * abs(m) ** 2 * 1e-6
    assert_allclose(errs[1] / errs[0], 4.0, rtol=0.02)  # O(x^2): doubling x quadruples the deviation


def test_lossless_spheres_conserve_energy_and_obey_the_optical_theorem():
    for m, x in [(4j, 0.5), (1.5, 3.0), (3.5, 1.1)]:
        q = mie_efficiencies(m, x)
        assert_allclose(q["qext"], q["qsca"], rtol=1e-12)  # no absorption
        a, b = mie_coefficients(m, x)
        assert_allclose(a.real, np.abs(a) ** 2, rtol=1e-9, atol=1e-15)  # unitarity of each order
        assert_allclose(b.real, np.abs(b) ** 2, rtol=1e-9, atol=1e-15)


def test_miepython_would_treat_metals_as_perfect_conductors_but_we_do_not():
    # documents why miepython is not the oracle at Re m <= 0: a lossless plasmonic sphere differs from a PEC
    a, _ = mie_coefficients(4j, 0.3, n_max=1)
    am, _ = mp_ab(4j, 0.3, 1)
    assert_allclose(a, am, rtol=1e-10)
    pec = -2j * 0.3**3 / 3  # PEC limit (m -> infinity) of a1
    assert abs(a[0] / pec - 1) > 0.1


def test_vectorized_over_spheres_and_orders():
    m = np.array([1.45, 3.5 + 0.01j, 4j])
    x = np.array([[0.3], [1.2]])
    a, b = mie_coefficients(m, x, n_max=3)
    assert a.shape == b.shape == (2, 3, 3)
    for r in range(2):
        for c in range(3):
            ar, br = mie_coefficients(m[c], float(x[r, 0]), n_max=3)
            assert_allclose(a[r, c], ar, rtol=1e-14)  # oracle: one sphere at a time
            assert_allclose(b[r, c], br, rtol=1e-14)
    q = mie_efficiencies(m, x)
    assert q["qpr"].shape == (2, 3)


def test_index_matched_sphere_does_not_scatter():
    a, b = mie_coefficients(1.0, 0.7, n_max=5)
    assert np.all(a == 0) and np.all(b == 0)  # exact: the formulas would leave round-off
    q = mie_efficiencies(1.0, 0.7)
    assert q["qext"] == q["qsca"] == q["qpr"] == 0.0


def test_n_terms_and_size_limits():
    assert n_terms(0.3) == 5 and n_terms(10.0) == 20  # Wiscombe: int(x + 4.05 x^(1/3) + 2) = int(5.01), int(20.7)
    check_mie_size(1.45, MAX_SIZE_PARAMETER)  # at the limit: accepted
    with pytest.raises(ValueError, match="size parameter x = k a = .* exceeds the limit"):
        mie_coefficients(1.45, 1.01 * MAX_SIZE_PARAMETER)
    with pytest.raises(ValueError, match=r"\|m\| x = .* exceeds"):
        mie_coefficients(1e7, 0.3)
    with pytest.raises(ValueError, match=r"\|m\| x"):
        check_mie_size(2 * MAX_INNER_SIZE_PARAMETER, 1.0)


@pytest.mark.parametrize("m,x,n_max,exc,match", [
    (0.0, 1.0, None, ValueError, "m "), (np.nan, 1.0, None, ValueError, "m "), (1.5, -1.0, None, ValueError, "x "),
    (1.5, np.inf, None, ValueError, "x "), (1.5, 1j, None, TypeError, "x "), ("abc", 1.0, None, TypeError, "m "),
    (1.5, 1.0, 0, ValueError, "n_max"), (1.5, 1.0, 2.5, ValueError, "n_max"),
])
def test_bad_input_is_named(m, x, n_max, exc, match):
    with pytest.raises(exc, match=match):
        mie_coefficients(m, x, n_max=n_max)
