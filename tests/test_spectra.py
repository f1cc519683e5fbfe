"""Spectra of the linear Langevin model (cdsolve.dynamics.spectra).

Oracles: the closed-form susceptibility ``(K - w^2 M - i w M Gamma)^-1``; the Lyapunov steady state of
``LangevinModel.steady_state`` (scipy solve_continuous_lyapunov, independent of the spectra) against
the frequency integral of the PSD (scipy quad_vec); the fluctuation-dissipation theorem; the sum over
aliased images for the PSD of sampled data.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad_vec

import cdsolve as cd
from cdsolve.dynamics.spectra import displacement_psd, susceptibility
from cdsolve.optics.conventions import KB

M = 1e-17  # kg
W0 = 2 * np.pi * 1e5  # rad/s


def _model(nonreciprocal=True, damping=2 * np.pi * 8e3):
    K = M * W0**2 * np.array([[1.0, 0.10, 0.02], [0.03 if nonreciprocal else 0.10, 1.3, -0.05],
                              [0.02, -0.05, 0.7]])
    return cd.LinearModel(stiffness=K, masses=np.full(3, M), dofs=np.array([0, 1, 2]), labels=["x_0", "y_0", "z_0"],
                          damping=damping)


def _recoil():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    return 1e-34 * X @ X.conj().T  # Hermitian PSD [N^2 s], comparable to the thermal m gamma k_B T ~ 2e-33


def test_susceptibility_is_the_closed_form():
    lin = _model()
    w = np.linspace(0, 3 * W0, 7)
    chi = susceptibility(lin, w)
    ref = np.stack([np.linalg.inv(lin.stiffness - x**2 * M * np.eye(3) - 1j * x * M * lin.damping * np.eye(3)) for x in w])
    assert_allclose(chi, ref, rtol=1e-10, atol=0)  # round-off of two 3x3 inversions


@pytest.mark.parametrize("bath", ["classical", "lindblad"])
def test_psd_integral_equals_lyapunov_covariance(bath):
    lin = _model()
    lan = cd.LangevinModel.from_linear_model(lin, _recoil(), temperature=300.0, bath=bath)
    Sigma = lan.steady_state().covariance[:3, :3]  # oracle: Lyapunov equation of the (x, p) model

    def S(w):
        return displacement_psd(lan, w, one_sided=False).matrix

    # the peaks are narrow (Q ~ 12): integrate piecewise over [0, 3 W0] and the tail
    parts = [quad_vec(lambda w: np.real(S(np.array([w]))[0]), a, b, epsrel=1e-11, epsabs=0, limit=4000)[0]
             for a, b in [(0, 0.7 * W0), (0.7 * W0, 1.5 * W0), (1.5 * W0, 4 * W0), (4 * W0, np.inf)]]
    integral = sum(parts) / np.pi
    assert_allclose(integral, Sigma, rtol=1e-6, atol=1e-6 * np.abs(Sigma).max())  # acceptance: 1e-6


def test_psd_of_linear_model_with_temperature_and_recoil_matches_langevin_model():
    # the same noise two ways: LinearModel + temperature + diffusion vs LangevinModel (classical bath)
    lin = _model()
    D = _recoil()
    lan = cd.LangevinModel.from_linear_model(lin, D, temperature=300.0)
    w = np.linspace(0, 3 * W0, 11)
    a = displacement_psd(lin, w, temperature=300.0, diffusion=D).matrix
    b = displacement_psd(lan, w).matrix
    assert_allclose(a, b, rtol=1e-9, atol=1e-9 * np.abs(b).max())  # different unit scalings, round-off only


def test_fluctuation_dissipation_reciprocal_thermal():
    lin = _model(nonreciprocal=False)
    T = 300.0
    w = np.linspace(0.01 * W0, 3 * W0, 301)
    S = displacement_psd(lin, w, temperature=T, one_sided=False).matrix
    chi = susceptibility(lin, w)
    fdt = 2 * KB * T / w[:, None, None] * (chi - np.conj(np.swapaxes(chi, 1, 2))) / 2j  # FDT, classical limit
    assert_allclose(S, fdt, rtol=1e-6, atol=1e-6 * np.abs(S).max())  # acceptance: 1e-6
    # and it fails for the non-reciprocal model (the test can fail)
    lin2 = _model(nonreciprocal=True)
    S2 = displacement_psd(lin2, w, temperature=T, one_sided=False).matrix
    chi2 = susceptibility(lin2, w)
    fdt2 = 2 * KB * T / w[:, None, None] * (chi2 - np.conj(np.swapaxes(chi2, 1, 2))) / 2j
    assert np.abs(S2 - fdt2).max() > 1e-3 * np.abs(S2).max()


def test_one_sided_is_twice_two_sided_and_coherence_bounded():
    lin = _model()
    w = np.array([0.0, 0.5 * W0, W0, 2 * W0])
    one = displacement_psd(lin, w, temperature=300.0)
    two = displacement_psd(lin, w, temperature=300.0, one_sided=False)
    assert_allclose(one.matrix[1:], 2 * two.matrix[1:], rtol=1e-14)  # definition
    assert_allclose(one.matrix[0], two.matrix[0], rtol=1e-14)  # f = 0 is not doubled
    coh = one.coherence
    assert np.all((coh >= 0) & (coh <= 1 + 1e-12))  # Cauchy-Schwarz
    assert_allclose(np.einsum("kaa->ka", coh), 1.0, rtol=1e-12)
    assert_allclose(one.psd, np.real(np.einsum("kaa->ka", one.matrix)))
    assert_allclose(one.csd(0, 1), np.conj(one.csd(1, 0)))  # Hermitian
    assert_allclose(one.frequency, w / (2 * np.pi))


def test_sampled_psd_is_the_sum_over_aliased_images():
    lin = _model()
    dt = 1 / (6 * W0 / (2 * np.pi))  # 6 samples per period: strong aliasing
    w = np.linspace(-np.pi / dt, np.pi / dt, 41)
    Sd = displacement_psd(lin, w, temperature=300.0, one_sided=False, dt=dt).matrix
    ws = 2 * np.pi / dt
    m = np.arange(-400, 401)
    images = displacement_psd(lin, (w[:, None] + m[None, :] * ws).ravel(), temperature=300.0, one_sided=False).matrix
    ref = images.reshape(len(w), len(m), 3, 3).sum(axis=1)
    # truncation: the tail beyond |m| = 400 is ~ S(400 ws) * 400 / 3 ~ 1e-12 of the total
    assert_allclose(Sd, ref, rtol=1e-7, atol=1e-8 * np.abs(ref).max())


def test_bad_inputs_are_named():
    lin = _model()
    with pytest.raises(ValueError, match="no noise"):
        displacement_psd(lin, [1.0])
    lan = cd.LangevinModel.from_linear_model(lin, _recoil(), temperature=300.0)
    with pytest.raises(ValueError, match="carries its own noise"):
        displacement_psd(lan, [1.0], temperature=300.0)
    with pytest.raises(ValueError, match="omega >= 0"):
        displacement_psd(lin, [-1.0], temperature=300.0)
    with pytest.raises(ValueError, match="temperature"):
        displacement_psd(lin, [1.0], temperature=-1.0)
    with pytest.raises(ValueError, match="diffusion"):
        displacement_psd(lin, [1.0], diffusion=np.eye(2))
    with pytest.raises(ValueError, match="Nyquist"):
        displacement_psd(lin, [10.0], temperature=300.0, dt=1.0)
    with pytest.raises(TypeError, match="stiffness"):
        susceptibility(object(), [1.0])
