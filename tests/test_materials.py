"""Tests of cdsolve.optics.materials. Every test names its oracle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import integrate

from cdsolve.optics.conventions import C0, wavenumber
from cdsolve.optics.materials import (
    SILICA_DRUDE_LORENTZ,
    ConstantIndex,
    ConstantPermittivity,
    DrudeLorentz,
    Medium,
    Oscillator,
    Tabulated,
    fused_silica,
    silica_drude_lorentz,
    silicon,
)

NM = 1e-9
UM = 1e-6


# ----------------------------------------------------------------------------- Medium
def test_medium_permittivity_and_wavenumber():
    """Oracle: definitions eps_m = n_m**2 and k = 2 pi n_m / wavelength (cdsolve.optics.conventions)."""
    m = Medium(1.33)
    assert m.permittivity == pytest.approx(1.33**2, rel=1e-15)
    wl = np.array([[500.0, 1064.0], [1550.0, 2000.0]]) * NM
    k = m.wavenumber(wl)
    assert k.shape == wl.shape
    np.testing.assert_allclose(k, 2 * np.pi * 1.33 / wl, rtol=1e-15)  # same formula: round-off only
    assert m.wavenumber(1064 * NM) == pytest.approx(wavenumber(1064 * NM, 1.33), rel=1e-15)
    assert Medium(1.5 + 0j).index == 1.5  # complex with zero imaginary part is accepted
    assert Medium().index == 1.0  # vacuum by default


def test_medium_is_frozen():
    """Oracle: Medium is a frozen dataclass (immutable)."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Medium(1.0).index = 2.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (-1.0, r"Medium\.index must be a finite real number > 0, got -1\.0"),
        (0.0, r"Medium\.index must be a finite real number > 0, got 0\.0"),
        (float("nan"), r"Medium\.index must be a finite real number > 0, got nan"),
        (float("inf"), r"Medium\.index must be a finite real number > 0, got inf"),
        ("1.33", r"Medium\.index must be a finite real number > 0, got '1\.33'"),
        (1.33 + 0.01j, r"host medium must be lossless"),
    ],
)
def test_medium_rejects_bad_index(bad, message):
    """Oracle: the validation contract (finite real > 0, lossless host)."""
    with pytest.raises(ValueError, match=message):
        Medium(bad)


# ----------------------------------------------------------------------------- wavelengths
@pytest.mark.parametrize(
    "bad, message",
    [
        (-1064e-9, r"wavelength must be finite and > 0 \[m\], got -1\.064e-06"),
        (0.0, r"wavelength must be finite and > 0 \[m\], got 0\.0"),
        (float("nan"), r"wavelength must be finite and > 0 \[m\], got nan"),
        ([1e-6, float("inf")], r"wavelength must be finite and > 0 \[m\], got inf"),
        (1e-6 + 1e-9j, r"wavelength must be a non-empty real array"),
    ],
)
def test_bad_wavelength_rejected(bad, message):
    """Oracle: the validation contract (vacuum wavelength finite and > 0, offending value named)."""
    for material in (ConstantIndex(1.5), SILICA_DRUDE_LORENTZ, fused_silica(), silicon()):
        with pytest.raises(ValueError, match=message):
            material.index(bad)
        with pytest.raises(ValueError, match=message):
            material.permittivity(bad)
    with pytest.raises(ValueError, match=message):
        Medium(1.0).wavenumber(bad)


# ----------------------------------------------------------------------------- generic identities
ALL_MATERIALS = [
    ConstantIndex(1.45 + 0.01j),
    ConstantPermittivity(2.1 + 0.3j),
    ConstantPermittivity(-4.0 + 0j),
    SILICA_DRUDE_LORENTZ,
    fused_silica(),
    fused_silica(tabulated=True),
    silicon(),
]


@pytest.mark.parametrize("material", ALL_MATERIALS, ids=lambda m: m.name)
def test_index_squared_is_permittivity_and_passive(material):
    """Oracle: identity n**2 == eps; passivity Im n >= 0 and Im eps >= 0 (exp(-i omega t))."""
    wl = np.linspace(300 * NM, 1400 * NM, 37).reshape(37, 1) * np.ones((1, 2))
    n, eps = material.index(wl), material.permittivity(wl)
    assert n.shape == eps.shape == wl.shape and n.dtype == eps.dtype == np.complex128
    np.testing.assert_allclose(n**2, eps, rtol=1e-13)  # round-off of sqrt / square only
    assert np.all(n.imag >= 0) and np.all(eps.imag >= 0)
    assert isinstance(material.name, str) and material.name
    assert isinstance(material.reference, str) and material.reference


def test_scalar_input_gives_scalar():
    """Oracle: API contract, scalar in -> 0-d NumPy scalar out."""
    n = fused_silica().index(1064 * NM)
    assert np.ndim(n) == 0 and isinstance(n, np.complex128)


def test_constant_materials():
    """Oracle: definitions; lossless negative eps gives purely imaginary n (principal branch, Im n >= 0)."""
    assert complex(ConstantIndex(2 + 0.5j).permittivity(1 * UM)) == pytest.approx((2 + 0.5j) ** 2)
    assert complex(ConstantPermittivity(-4.0).index(1 * UM)) == pytest.approx(2j)
    with pytest.raises(ValueError, match=r"ConstantIndex\.index .* Im >= 0 \(passive\), got \(1\.5-0\.1j\)"):
        ConstantIndex(1.5 - 0.1j)
    with pytest.raises(ValueError, match=r"ConstantPermittivity\.eps .* got nan"):
        ConstantPermittivity(float("nan"))


# ----------------------------------------------------------------------------- Drude-Lorentz
def test_silica_dl_parameters_are_those_of_eq35():
    """Oracle: Jakubec et al., PRA 109, 052807 (2024), eq. (35) parameters (rad/s)."""
    m = silica_drude_lorentz()
    assert m is SILICA_DRUDE_LORENTZ
    assert m.eps_inf == 1.0
    assert m.oscillators == (Oscillator(1.75e14, 1.32e14, 4.28e13), Oscillator(2.96e16, 2.72e16, 8.09e15))
    assert "052807" in m.reference and "(35)" in m.reference


def test_silica_dl_at_1064nm_vs_measured_silica():
    """Oracle: measured fused-silica index n(1064 nm) = 1.4496 (Malitson 1965).

    The eq. (35) model is a Casimir-Polder (imaginary-frequency) fit, not an
    optical one: it gives n = 1.4762 + 0.0079i, i.e. +1.8 % in Re n and a
    spurious absorption tail (real silica has k ~ 1e-9). Tolerance 2.5 %.
    """
    n = complex(SILICA_DRUDE_LORENTZ.index(1064 * NM))
    np.testing.assert_allclose(n.real, 1.4496, rtol=0.025)  # model error ~1.8 %, see docstring
    assert 0 < n.imag < 0.01  # lossy tail of the broad UV oscillator, documented


def test_drude_lorentz_passive_on_real_axis():
    """Oracle: passivity, Im eps(omega) >= 0 for omega > 0 when all gamma_j >= 0 (exp(-i omega t))."""
    omega = np.logspace(10, 19, 2001)
    eps = SILICA_DRUDE_LORENTZ.permittivity_angular_frequency(omega)
    assert np.all(eps.imag > 0)
    drude_metal = DrudeLorentz(1.0, [(1.37e16, 0.0, 1e14)], "Drude", "none")
    assert np.all(drude_metal.permittivity_angular_frequency(omega).imag > 0)
    # same values through the wavelength interface, omega = 2 pi c / wavelength
    wl = np.array([200.0, 1064.0, 10_000.0]) * NM
    omega_wl = 2 * np.pi * C0 / wl
    np.testing.assert_allclose(SILICA_DRUDE_LORENTZ.permittivity(wl),
                               SILICA_DRUDE_LORENTZ.permittivity_angular_frequency(omega_wl), rtol=1e-15)


def test_drude_lorentz_imaginary_axis():
    """Oracle: eps(i xi) real, > 1, strictly decreasing; eps(0) = 1 + sum (omega_p/omega_t)**2; -> eps_inf."""
    m = SILICA_DRUDE_LORENTZ
    xi = np.concatenate([[0.0], np.logspace(10, 22, 400)])
    eps = m.permittivity_imaginary_frequency(xi)
    assert eps.dtype == np.float64 and eps.shape == xi.shape
    assert np.all(eps > 1.0) and np.all(np.diff(eps) < 0)
    static = 1 + (1.75e14 / 1.32e14) ** 2 + (2.96e16 / 2.72e16) ** 2  # = 3.9419
    np.testing.assert_allclose(eps[0], static, rtol=1e-15)  # closed form, round-off only
    np.testing.assert_allclose(eps[-1], 1.0, atol=1e-11)  # (omega_p2/xi)**2 ~ 1e-11 at xi = 1e22
    with pytest.raises(ValueError, match=r"xi must be finite, real and >= 0"):
        m.permittivity_imaginary_frequency(-1.0)


@pytest.mark.parametrize("xi", [1e13, 1e14, 2.5e16, 1e17])
def test_drude_lorentz_kramers_kronig(xi):
    """Oracle: Kramers-Kronig relation on the imaginary axis,

    eps(i xi) - eps_inf = (2/pi) int_0^inf omega Im eps(omega) / (omega**2 + xi**2) d omega.
    """
    m = SILICA_DRUDE_LORENTZ

    def integrand(u):  # substitution omega = exp(u), d omega = omega du
        w = np.exp(u)
        return w * w * m.permittivity_angular_frequency(w).imag / (w * w + xi * xi)

    lo, hi = np.log(1e8), np.log(1e22)
    pts = [np.log(1.32e14), np.log(2.72e16), np.log(xi)]
    value, _ = integrate.quad(integrand, lo, hi, points=pts, limit=400, epsabs=0, epsrel=1e-10)
    np.testing.assert_allclose(2 / np.pi * value, m.permittivity_imaginary_frequency(xi) - 1.0,
                               rtol=1e-8)  # quadrature + truncated tails; measured agreement ~1e-14


def test_drude_lorentz_rejects_bad_parameters():
    """Oracle: validation contract (finite, non-negative parameters; gamma >= 0 for passivity)."""
    msg = r"DrudeLorentz oscillator 0 gamma must be a finite real number >= 0, got -1"
    with pytest.raises(ValueError, match=msg):
        DrudeLorentz(1.0, [(1e16, 1e16, -1.0)], "x", "y")
    with pytest.raises(ValueError, match=r"DrudeLorentz\.eps_inf must be a finite real number > 0, got nan"):
        DrudeLorentz(float("nan"), [], "x", "y")


# ----------------------------------------------------------------------------- fused silica (Malitson)
@pytest.mark.parametrize(
    "wavelength, n_published, atol",
    [
        (1.0642 * UM, 1.44963, 1e-5),  # Malitson's published value at 1.0642 um; fit residual ~1e-5
        (1064 * NM, 1.4496, 1e-4),  # the usual 4-digit value at 1064 nm
        (589.3 * NM, 1.4584, 1e-4),  # sodium D line n_D (formula: 1.45840; often quoted as 1.4585)
        (587.56 * NM, 1.4585, 1e-4),  # helium d line n_d = 1.4585 of fused-silica glass catalogues
    ],
)
def test_fused_silica_malitson_published_values(wavelength, n_published, atol):
    """Oracle: published refractive indices of fused silica at 20 C."""
    n = complex(fused_silica().index(wavelength))
    np.testing.assert_allclose(n.real, n_published, atol=atol)
    assert n.imag == 0.0  # Sellmeier model is lossless


def test_fused_silica_range_and_table():
    """Oracle: Malitson's validity range 0.21-3.71 um (no extrapolation); shipped table == formula."""
    fs, tab = fused_silica(), fused_silica(tabulated=True)
    assert tab.wavelength_range == pytest.approx((0.21 * UM, 3.71 * UM), rel=1e-15)
    np.testing.assert_allclose(tab.n, fs.index(tab.wavelengths).real, atol=5e-10)  # 9 decimals written
    mid = tab.wavelengths[:-1] + 5 * NM
    np.testing.assert_allclose(tab.index(mid).real, fs.index(mid).real, atol=3e-5)  # PCHIP, 10 nm step
    for material in (fs, tab):
        with pytest.raises(ValueError, match=r"wavelength 4e-06 m outside the range"):
            material.index(4 * UM)
        with pytest.raises(ValueError, match=r"wavelength 2e-07 m outside the range"):
            material.permittivity([1e-6, 200e-9])
    assert "Malitson" in tab.reference and "GENERATED" in tab.metadata["source"]


# ----------------------------------------------------------------------------- silicon (Green 2008)
@pytest.mark.parametrize(
    "wavelength_um, n, k",
    [(0.25, 1.665, 3.665), (0.63, 3.879, 1.6444e-2), (1.06, 3.553, 9.3631e-5), (1.45, 3.485, 1.3846e-13)],
)
def test_silicon_green_table_values(wavelength_um, n, k):
    """Oracle: M. A. Green, Sol. Energ. Mater. Sol. Cells 92, 1305 (2008), tabulated n, k.

    Values as published in the refractiveindex.info copy (main/Si/nk/Green-2008.yml).
    """
    nk = complex(silicon().index(wavelength_um * UM))
    np.testing.assert_allclose([nk.real, nk.imag], [n, k], rtol=1e-14)  # table node: exact up to round-off


@pytest.mark.parametrize("wavelength_um, n, k", [(0.6199, 3.906, 0.022), (0.6525, 3.847, 0.016)])
def test_silicon_vs_aspnes_studna(wavelength_um, n, k):
    """Oracle: independent data, Aspnes & Studna, PRB 27, 985 (1983), crystalline Si (ellipsometry).

    Green and Aspnes agree in n to 0.2 %; k differs by 10-25 % (different
    samples and techniques; Aspnes' k has 2-3 digits, Green's is band-to-band).
    """
    nk = complex(silicon().index(wavelength_um * UM))
    np.testing.assert_allclose(nk.real, n, rtol=5e-3)  # independent measurements, ~0.2 % apart
    np.testing.assert_allclose(nk.imag, k, rtol=0.3)  # k discrepancy between data sets, see docstring


def test_silicon_metadata_and_range():
    """Oracle: the shipped table covers 250-1450 nm (Green 2008) and cites its source; no extrapolation."""
    si = silicon()
    assert si is silicon()  # loaded once, cached
    assert si.wavelength_range == pytest.approx((250 * NM, 1450 * NM), rel=1e-15)
    assert si.wavelengths.size == 121
    assert "Green" in si.reference and "1305" in si.reference
    assert "refractiveindex.info" in si.metadata["source"]
    msg = r"wavelength 1\.55\d*e-06 m outside the range \[2\.5e-07, 1\.45e-06\] m .* \(no extrapolation\)"
    with pytest.raises(ValueError, match=msg):
        si.index(1550 * NM)


# ----------------------------------------------------------------------------- Tabulated
def test_tabulated_reproduces_nodes_and_does_not_overshoot():
    """Oracle: interpolation identity at the nodes; PCHIP stays within node values on each interval."""
    si = silicon()
    nk = si.index(si.wavelengths)
    np.testing.assert_allclose(nk.real, si.n, rtol=1e-15)  # nodes reproduced (round-off only)
    np.testing.assert_allclose(nk.imag, si.k, rtol=1e-15)
    fine = np.linspace(*si.wavelength_range, 5001)
    k = si.index(fine).imag
    idx = np.clip(np.searchsorted(si.wavelengths, fine, side="right") - 1, 0, si.wavelengths.size - 2)
    lo = np.minimum(si.k[idx], si.k[idx + 1])
    hi = np.maximum(si.k[idx], si.k[idx + 1])
    assert np.all(k >= lo * (1 - 1e-12)) and np.all(k <= hi * (1 + 1e-12))


def test_tabulated_csv_roundtrip_and_errors(tmp_path):
    """Oracle: CSV format contract (header keys name, reference; columns wavelength_m,n,k)."""
    good = tmp_path / "toy.csv"
    good.write_text("# name: toy\n# reference: made up\n# reference: second line\nwavelength_m,n,k\n"
                    "1e-6,1.5,0\n2e-6,1.4,0.1\n3e-6,1.3,0.2\n")
    t = Tabulated.from_csv(good)
    assert t.name == "toy" and t.reference == "made up second line"
    np.testing.assert_allclose(t.index([1e-6, 3e-6]), [1.5, 1.3 + 0.2j], rtol=1e-15)
    bad = tmp_path / "bad.csv"
    bad.write_text("# name: toy\nwavelength_m,n,k\n1e-6,1.5,0\n2e-6,1.4,0.1\n")
    with pytest.raises(ValueError, match=r"missing '# reference: \.\.\.' header line"):
        Tabulated.from_csv(bad)
    bad.write_text("# name: toy\n# reference: x\nlambda,n,k\n1e-6,1.5,0\n")
    with pytest.raises(ValueError, match=r"expected column line 'wavelength_m,n,k'"):
        Tabulated.from_csv(bad)
    with pytest.raises(ValueError, match=r"strictly increasing"):
        Tabulated([2e-6, 1e-6], [1.5, 1.5], [0, 0], "x", "y")
    with pytest.raises(ValueError, match=r"Tabulated needs finite n > 0 and finite k >= 0 \(passive\)"):
        Tabulated([1e-6, 2e-6], [1.5, 1.5], [0, -1e-3], "x", "y")
