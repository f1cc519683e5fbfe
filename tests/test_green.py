"""Green tensors: symmetries, Maxwell identities and analytic derivatives.

Oracles: identities of the free-space dyadic Green tensor (reciprocity, transversality,
Helmholtz equation, curl relation to the cross propagator, far-field limit) and central
finite differences of the analytic derivatives.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.optics.dipole_fields import dipole_fields
from cdsolve.optics.conventions import C0, EPS0, Z0
from cdsolve.optics.green import LEVI_CIVITA, green_tensors

K = 2 * np.pi * 1.33 / 1064e-9  # water host at 1064 nm


@pytest.fixture
def seps(rng):
    # separations from 0.05 to ~2 wavelengths, random directions
    d = rng.normal(size=(40, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return d * rng.uniform(0.05, 2.0, size=(40, 1)) * 2 * np.pi / K


def test_reciprocity_symmetries(seps):
    """G(r) = G(r)^T = G(-r); Gx(r)^T = -Gx(r) = Gx(-r) (identities, exact up to round-off)."""
    o, om = green_tensors(seps, K), green_tensors(-seps, K)
    assert_allclose(o["G"], np.swapaxes(o["G"], -1, -2), rtol=0, atol=1e-14 * np.abs(o["G"]).max())
    assert_allclose(o["G"], om["G"], rtol=1e-14)
    assert_allclose(o["Gx"], -np.swapaxes(o["Gx"], -1, -2), rtol=1e-14)
    assert_allclose(o["Gx"], -om["Gx"], rtol=1e-14)


@pytest.mark.parametrize("key,dkey", [("G", "dG"), ("Gx", "dGx"), ("dG", "d2G"), ("dGx", "d2Gx")])
def test_derivatives_match_central_differences(seps, key, dkey):
    """Analytic derivatives vs central differences with h = 1e-6 |r|.

    Truncation error ~ (h/r)^2 ~ 1e-12 and round-off ~ 1e-16/(h/r) ~ 1e-10, so agreement to
    2e-8 of each tensor's scale is demanded (measured: ~4e-9 worst case).
    """
    o = green_tensors(seps, K, order=2)
    h = 1e-6 * np.linalg.norm(seps, axis=1)[:, None]
    fd = np.zeros_like(o[dkey])
    for a in range(3):
        dr = np.zeros_like(seps)
        dr[:, a] = h[:, 0]
        diff = green_tensors(seps + dr, K, 2)[key] - green_tensors(seps - dr, K, 2)[key]
        fd[:, a] = diff / (2 * h.reshape((-1,) + (1,) * (diff.ndim - 1)))
    scale = np.abs(o[dkey]).reshape(len(seps), -1).max(axis=1)
    err = np.abs(fd - o[dkey]).reshape(len(seps), -1).max(axis=1) / scale
    assert err.max() < 2e-8


def test_maxwell_identities(seps):
    """Off the source: div G = 0, (laplacian + k^2) G = 0, and curl G = i k Gx (Faraday's law
    linking E = k^2/eps G p to H = c_m k^2 Gx p). Exact identities: round-off level."""
    o = green_tensors(seps, K, order=2)
    scale = np.abs(o["dG"]).max(axis=(1, 2, 3))[:, None, None]
    div = np.einsum("naaj->nj", o["dG"])
    assert np.all(np.abs(div) / scale[:, :, 0] < 1e-12)
    helm = np.einsum("naaij->nij", o["d2G"]) + K**2 * o["G"]
    assert np.all(np.abs(helm) / (K**2 * np.abs(o["G"]).max(axis=(1, 2)))[:, None, None] < 1e-10)
    curl = np.einsum("iab,nabj->nij", LEVI_CIVITA, o["dG"])
    assert_allclose(curl, 1j * K * o["Gx"], rtol=0, atol=1e-12 * np.abs(curl).max())


def test_far_field_limit():
    """kr >> 1: G -> exp(ikr)/(4 pi r) (1 - r^ r^), Gx -> exp(ikr)/(4 pi r) [r^ x] (closed form, error ~ 1/kr)."""
    n = np.array([0.3, -0.4, np.sqrt(1 - 0.25)])
    r = 1e6 / K
    o = green_tensors(n * r, K)
    ref = np.exp(1j * K * r) / (4 * np.pi * r) * (np.eye(3) - np.outer(n, n))
    assert_allclose(o["G"], ref, atol=3 / (K * r) * np.abs(ref).max())
    refx = np.exp(1j * K * r) / (4 * np.pi * r) * np.einsum("ilj,l->ij", LEVI_CIVITA, n)
    assert_allclose(o["Gx"], refx, atol=3 / (K * r) * np.abs(refx).max())


def test_zero_separation_raises():
    with pytest.raises(ValueError, match="zero separation"):
        green_tensors(np.zeros(3), K)


def test_dipole_field_kernel_matches_tensor_contraction(rng):
    """Two implementations: the fused pair kernel vs explicit tensors E = k^2/eps G p - Z k^2 Gx m, etc."""
    n_m = 1.33
    eps, Z, c_m = EPS0 * n_m**2, Z0 / n_m, C0 / n_m
    src = rng.normal(size=(5, 3)) * 1e-6
    tgt = rng.normal(size=(4, 3)) * 1e-6
    p = rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))
    m = (rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))) / Z
    E, H, dE, dH = dipole_fields(tgt, src, p * 1e-30, m * 1e-30 , K, n_m, gradient=True)
    o = green_tensors(tgt[:, None] - src[None], K, order=1)
    k2 = K**2
    E_ref = np.einsum("tnij,nj->ti", k2 / eps * o["G"], p * 1e-30) - Z * k2 * np.einsum("tnij,nj->ti", o["Gx"], m * 1e-30)
    H_ref = c_m * k2 * np.einsum("tnij,nj->ti", o["Gx"], p * 1e-30) + k2 * np.einsum("tnij,nj->ti", o["G"], m * 1e-30)
    dE_ref = np.einsum("tnaij,nj->tai", k2 / eps * o["dG"], p * 1e-30) - Z * k2 * np.einsum("tnaij,nj->tai", o["dGx"], m * 1e-30)
    dH_ref = c_m * k2 * np.einsum("tnaij,nj->tai", o["dGx"], p * 1e-30) + k2 * np.einsum("tnaij,nj->tai", o["dG"], m * 1e-30)
    for got, ref in ((E, E_ref), (H, H_ref), (dE, dE_ref), (dH, dH_ref)):
        assert_allclose(got, ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())


def test_contracted_propagator_derivatives_equal_full_tensor_contractions(rng):
    """Oracle: the full derivative tensors of green_tensors (themselves checked against finite
    differences above) contracted with random dipole vectors; identity up to round-off (1e-13)."""
    from cdsolve.optics.green import (pair_geometry, propagator_gradient_applied, propagator_gradient_rows,
                               propagator_hessian_form, radial_functions)

    k = 2 * np.pi / 1e-6
    tgt, src = rng.normal(size=(4, 3)) * 1e-6, rng.normal(size=(5, 3)) * 1e-6
    v_t = rng.normal(size=(4, 6)) + 1j * rng.normal(size=(4, 6))
    v_s = rng.normal(size=(5, 6)) + 1j * rng.normal(size=(5, 6))
    o = green_tensors(tgt[:, None] - src[None], k, order=2)
    W1 = np.block([[o["dG"], -o["dGx"]], [o["dGx"], o["dG"]]])  # (t, n, 3, 6, 6)
    W2 = np.block([[o["d2G"], -o["d2Gx"]], [o["d2Gx"], o["d2G"]]])
    X, inv_r, phase = pair_geometry(tgt, src, k)
    R = radial_functions(k, phase, inv_r, ("B", "C", "DA", "DB", "DC", "D2A", "D2B", "D2C"))
    u_e, u_h = v_t[:, :3].T[:, :, None], v_t[:, 3:].T[:, :, None]
    w_e, w_h = v_s[:, :3].T[:, None, :], v_s[:, 3:].T[:, None, :]

    def check(got, ref):
        assert_allclose(got, ref, rtol=0, atol=1e-13 * np.abs(ref).max())

    check(propagator_gradient_applied(X, R, w_e, w_h), np.einsum("tnbij,nj->bitn", W1, v_s))
    check(propagator_gradient_rows(X, R, u_e, u_h), np.einsum("ti,tnaij->ajtn", v_t, W1))
    check(propagator_hessian_form(X, R, u_e, w_e, u_h, w_h), np.einsum("ti,tnabij,nj->abtn", v_t, W2, v_s))
    # electric only: the G blocks alone
    check(propagator_gradient_applied(X, R, w_e)[:, :3], np.einsum("tnbij,nj->bitn", o["dG"], v_s[:, :3]))
    check(propagator_hessian_form(X, R, u_e, w_e),
          np.einsum("ti,tnabij,nj->abtn", v_t[:, :3], o["d2G"], v_s[:, :3]))
