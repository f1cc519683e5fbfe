"""Recoil diffusion matrix (cdsolve.dynamics.recoil_noise).

Oracles (named per test): PRA eq. (79a)/(79b) and PRL eq. (8) through ``models.TwoTweezerModel.diffusion``;
direct quadrature over scattering directions (Gauss-Legendre x trapezoid); closed-form angular integrals
for ideal Kerker dipoles (written out in the test); central finite differences of ``solve(...).p``;
the force Jacobian of ``cdsolve.dynamics.jacobian`` (independent code) through C - C^T = 4 Im D / hbar.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import constants as sc

import cdsolve as cd
from cdsolve.dynamics.jacobian import select_dofs
from cdsolve.theory.two_tweezer import TwoTweezerModel
from cdsolve.dynamics.recoil_noise import (
    dipole_derivatives,
    nonreciprocity_mismatch,
    recoil_diffusion,
    recoil_diffusion_from_dipoles,
    recoil_diffusion_quadrature,
)
from cdsolve.optics.polarizability import radiative_correction

LAM = 1550e-9
W0 = 1e-6
K = 2 * np.pi / LAM
RADIUS = 104e-9
MASS = 4 / 3 * np.pi * RADIUS**3 * 2200.0
ALPHA = 4 * np.pi * sc.epsilon_0 * RADIUS**3 * (1.45**2 - 1) / (1.45**2 + 2)  # real Clausius-Mossotti


def two_tweezer_scene(kd, phi, alpha, powers=(0.1, 0.13), particle=None):
    d = kd / K
    beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=powers[0], phase=phi),
             cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=powers[1], phase=0.0)]
    part = particle if particle is not None else cd.DipoleParticle(alpha_e=alpha, mass=MASS)
    return cd.Scene(positions=[[0, 0, 0], [0, d, 0]], particles=part, illumination=beams)


def random_scene(rng, n=4, absorbing=False):
    """Random positions, mixed electric + magnetic particles, a plane wave plus a tweezer."""
    lam = 1064e-9
    parts = [cd.Sphere(radius=90e-9, index=3.5),  # strong magnetic dipole (Mie b1)
             cd.Sphere(radius=60e-9, index=1.45),
             cd.KerkerParticle(alpha_e=cd.Sphere(radius=60e-9, index=3.5), condition=1),
             cd.Sphere(radius=70e-9, index=2.0 + (0.1j if absorbing else 0.0))]
    direction = np.array([0.3, -0.2, 1.0]) / np.linalg.norm([0.3, -0.2, 1.0])
    pol = np.array([1, 0.2j, -0.3])
    pol = pol - direction * (direction @ pol)  # elliptical, transverse
    ill = [cd.PlaneWave(lam, intensity=1e9, direction=direction, polarization=pol),
           cd.GaussianTweezer(lam, focus=(0.1e-6, 0, 0), waist=1e-6, power=0.1, phase=0.4)]
    while True:
        pos = rng.uniform(-0.8e-6, 0.8e-6, (n, 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(n)
        if d.min() > 0.25e-6:
            return cd.Scene(positions=pos, particles=parts[:n], illumination=ill)


# --------------------------------------------------------------------------- acceptance 1: far-field limit
@pytest.mark.parametrize("alpha", [ALPHA, complex(radiative_correction(np.eye(3) * ALPHA, K, 1.0)[0, 0])],
                         ids=["real-alpha", "radiative-alpha"])
def test_far_field_two_tweezer_limit_reproduces_pra_79(alpha):
    """Oracle: TwoTweezerModel.diffusion (PRA 79a exact; 79b / PRL 8: D_12 = hbar C sin(kd) e^{i phi}/2).

    The general closed form with dipoles proportional to their own tweezer's field (solve(orders=0),
    Gouy-corrected local wave number) must give D_jj exactly (tol 1e-12) and D_12 up to the O(1/kd)
    near-field terms the stationary-phase evaluation drops: measured |dD_12| / (hbar C / 2) = 0.064/kd,
    0.082/kd, 0.086/kd at kd ~ 2 pi (10, 40, 160); tolerance 0.15/kd, and the error must fall as 1/kd
    (ratio between kd ~ 2 pi 40 and 2 pi 160 equal to the kd ratio within 20 %).
    """
    errs = {}
    for n in (40, 160):
        kd = 2 * np.pi * n + np.pi / 2 - 0.3
        for phi in (0.0, 0.7, -1.9):
            scene = two_tweezer_scene(kd, phi, alpha)
            D = recoil_diffusion(cd.solve(scene, orders=0), dofs="z")
            m = TwoTweezerModel(LAM, alpha, distance=kd / K, waist=W0, powers=(0.1, 0.13), phases=(phi, 0.0),
                                masses=(MASS, MASS))
            ref = m.diffusion
            assert_allclose(np.diag(D).real, np.diag(ref).real, rtol=1e-12)  # eq. 79a, exact
            assert_allclose(np.diag(D).imag, 0.0, atol=1e-14 * abs(ref[0, 0]))
            scale = sc.hbar * m.coupling_constant / 2
            err = abs(D[0, 1] - ref[0, 1]) / scale
            assert err < 0.15 / kd
            assert_allclose(D[1, 0], np.conj(D[0, 1]), rtol=1e-12)
            errs[(n, phi)] = err * kd
    for phi in (0.0, 0.7, -1.9):
        assert_allclose(errs[(160, phi)], errs[(40, phi)], rtol=0.2)  # error * kd constant: O(1/kd)


# --------------------------------------------------------------------------- acceptance 2: random scenes
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_scenes_hermitian_psd_and_equal_to_quadrature(seed):
    """Oracles: Hermiticity and positivity (D is a Gram matrix of scattering amplitudes; the closed form is
    not manifestly one), and direct quadrature over directions. Mixed e+m particles (high-index Mie sphere,
    Kerker particle), random positions, plane wave + tweezer, all 3N dofs. Tolerances: Hermitian 1e-12,
    eigenvalues >= -1e-12 max|D|, closed vs quadrature 1e-8 of max|D| (measured ~3e-15)."""
    rng = np.random.default_rng(seed)
    sol = cd.solve(random_scene(rng))
    D = recoil_diffusion(sol)
    scale = np.abs(D).max()
    assert_allclose(D, D.conj().T, rtol=0, atol=1e-12 * scale)
    assert np.linalg.eigvalsh(0.5 * (D + D.conj().T)).min() >= -1e-12 * scale
    Dq = recoil_diffusion(sol, method="quadrature")
    assert_allclose(D, Dq, rtol=0, atol=1e-8 * scale)
    # a dof subset is the corresponding sub-block (ordering of select_dofs / LinearModel.dofs)
    sel = select_dofs(sol.scene.n_particles, "xz")
    assert_allclose(recoil_diffusion(sol, dofs="xz"), D[np.ix_(sel, sel)], rtol=0, atol=1e-13 * scale)


def test_quadrature_is_not_trivially_equal():
    """Oracle: an under-resolved quadrature must disagree (the check can fail), a resolved one agree (1e-8)."""
    sol = cd.solve(random_scene(np.random.default_rng(5)))
    D = recoil_diffusion(sol, dofs="z")
    coarse = recoil_diffusion(sol, dofs="z", method="quadrature", n_theta=4, n_phi=6)
    assert np.abs(coarse - D).max() > 1e-3 * np.abs(D).max()


# --------------------------------------------------------------------------- magnetic part: Kerker dipoles
@pytest.mark.parametrize("condition,zz,xx", [(1, 1 / 30, 1 / 40), (2, 1 / 5, 1 / 40)])
def test_kerker_dipole_in_plane_wave(condition, zz, xx):
    """Oracle: angular integrals done by hand for one ideal Kerker dipole in a plane wave along z.

    First Kerker (no backscattering): |P(n) v|^2 = |p|^2 (1 + n_z)^2; second: |p|^2 (1 - n_z)^2. With
    f_z = i k (1 - n_z) P v and f_x = -i k n_x P v, D = hbar k^3/(64 pi^2 eps) int |f|^2 gives
    D_zz = hbar k^5 |p|^2 / (30 pi eps) [first], / (5 pi eps) [second] (int (1-u)^2(1+-u)^2 = 16/15, 32/5 x 2pi)
    and D_xx = D_yy = hbar k^5 |p|^2 / (40 pi eps) (both). The sign of the magnetic far field decides
    between the two: swapping it swaps the zz values. Tolerance 1e-10 (measured 1.6e-12: H of the plane wave
    comes from Faraday's law, so |m|/c_m equals |p| only to round-off). The second condition is not passive
    (allow_gain): irrelevant for the angular integrals.
    """
    part = cd.KerkerParticle(alpha_e=cd.Sphere(radius=60e-9, index=3.5), condition=condition, allow_gain=True)
    scene = cd.Scene(positions=[[0, 0, 0]], particles=part, illumination=cd.PlaneWave(1064e-9, intensity=1e9))
    sol = cd.solve(scene)
    D = recoil_diffusion(sol)
    k = scene.k
    unit = sc.hbar * k**5 * np.linalg.norm(sol.p[0]) ** 2 / (np.pi * sc.epsilon_0)
    assert_allclose(np.diag(D).real, [xx * unit, xx * unit, zz * unit], rtol=1e-10)
    off = D - np.diag(np.diag(D))
    assert np.abs(off).max() < 1e-10 * unit


def test_electric_dipole_plane_wave_recoil_heating():
    """Oracle: PRA (79a) with kappa = k (plane wave): D_zz = 7 hbar k^5 |p|^2 / (120 pi eps), and the
    photon-recoil law d<p_z^2>/dt = 2 D_zz = hbar^2 k^2 (1 + 2/5) Gamma_sc with the scattering rate
    Gamma_sc = P_sc / (hbar omega), P_sc = c k^4 |p|^2 / (12 pi eps0). Tolerance 1e-12."""
    part = cd.Sphere(radius=50e-9, index=1.45, model="rayleigh")
    scene = cd.Scene(positions=[[0, 0, 0]], particles=part, illumination=cd.PlaneWave(1064e-9, intensity=1e9))
    sol = cd.solve(scene)
    D = recoil_diffusion(sol, dofs="z")[0, 0]
    k = scene.k
    p2 = np.linalg.norm(sol.p[0]) ** 2
    gamma_sc = sc.c * k**4 * p2 / (12 * np.pi * sc.epsilon_0) / (sc.hbar * sc.c * k)
    assert_allclose(D.real, 7 * sc.hbar * k**5 * p2 / (120 * np.pi * sc.epsilon_0), rtol=1e-12)
    assert_allclose(2 * D.real, sc.hbar**2 * k**2 * 1.4 * gamma_sc, rtol=1e-12)


# --------------------------------------------------------------------------- dipole derivatives
@pytest.mark.parametrize("orders", [None, 0, 1, 3])
def test_dipole_derivatives_match_finite_differences(orders, rng):
    """Oracle: central differences of solve(...).p and .m (h = 0.1 nm, error O(h^2) ~ 1e-7 relative);
    tolerance 1e-6 of the largest derivative (measured 5.6e-8)."""
    scene = random_scene(rng, n=3)
    sol = cd.solve(scene, orders=orders)
    dofs = select_dofs(3, "xz")
    dp, dm = dipole_derivatives(sol, dofs)
    h = 1e-10
    for c, q in enumerate(dofs):
        step = np.zeros(9)
        step[q] = h
        sp = cd.solve(scene.with_positions(scene.positions + step.reshape(3, 3)), orders=orders)
        sm = cd.solve(scene.with_positions(scene.positions - step.reshape(3, 3)), orders=orders)
        assert_allclose(dp[:, c], (sp.p - sm.p) / (2 * h), rtol=0, atol=1e-6 * np.abs(dp).max())
        assert_allclose(dm[:, c], (sp.m - sm.m) / (2 * h), rtol=0, atol=1e-6 * np.abs(dm).max())


# --------------------------------------------------------------------------- acceptance: C - C^T = 4 Im D / hbar
def test_commutator_identity_far_field_regime():
    """Oracle: PRA (after eq. 81) C_12 - C_21 = 4 Im D_12 / hbar, C = dF/dz = -K from cdsolve.dynamics.jacobian
    (independent code). Regime of the paper: two Gaussian tweezers, large kd, z motion, first order in the
    coupling (force Jacobian of solve(orders=1), D from solve(orders=0)), real alpha. Deviation relative to
    the coupling scale: measured 5e-10 at kd = 2 pi 40 + 1.27; tolerance 1/(kd)^2 (the deviation falls as
    1/(kd)^2: 1.7e-5, 3.1e-8, 5.1e-10 at n = 1, 10, 40)."""
    for n in (10, 40):
        kd = 2 * np.pi * n + np.pi / 2 - 0.3
        scene = two_tweezer_scene(kd, 0.7, ALPHA)
        Kst = -cd.force_jacobian(cd.solve(scene, orders=1), dofs="z")
        D = recoil_diffusion(cd.solve(scene, orders=0), dofs="z")
        mm = nonreciprocity_mismatch(Kst, D)
        assert mm.relative < 1 / kd**2
        assert abs(mm.antisymmetric[0, 1]) > 0.5 * np.abs(Kst[0, 1])  # the identity is tested where C - C^T != 0


@pytest.mark.parametrize("seed", [0, 1])
def test_commutator_identity_exact_for_lossless_self_consistent_dipoles(seed):
    """Oracle: cdsolve.dynamics.jacobian.force_jacobian (independent code). Observed property, stated as a test: for
    lossless (radiatively corrected) electric + magnetic dipoles the self-consistent stiffness satisfies
    C - C^T = 4 Im D / hbar in *every* geometry (near field, multiple scattering, all 3N dofs), measured
    to 1e-13 of the coupling scale; tolerance 1e-10. With absorption it fails (absorbed photons kick the
    particles too, D does not contain them): measured 0.14-0.38, asserted > 1e-3 (the check can fail)."""
    rng = np.random.default_rng(seed)
    sol = cd.solve(random_scene(rng))
    mm = nonreciprocity_mismatch(-cd.force_jacobian(sol), recoil_diffusion(sol))
    assert mm.relative < 1e-10
    assert np.abs(mm.antisymmetric).max() > 0.1 * np.abs(mm.antisymmetric + mm.antisymmetric.T).max() / 2
    rng = np.random.default_rng(seed)
    sol_abs = cd.solve(random_scene(rng, absorbing=True))
    assert nonreciprocity_mismatch(-cd.force_jacobian(sol_abs), recoil_diffusion(sol_abs)).relative > 1e-3


def test_commutator_identity_two_tweezers_self_consistent_lossless():
    """Same oracle, the paper's geometry with a lossless Mie sphere and the full self-consistent solve, at
    kd from ~2 pi to ~2 pi 40 (measured <= 2e-15; tolerance 1e-10)."""
    for n in (1, 10, 40):
        kd = 2 * np.pi * n + np.pi / 2 - 0.3
        scene = two_tweezer_scene(kd, 0.7, None, particle=cd.Sphere(radius=RADIUS, index=1.45, density=2200.0))
        sol = cd.solve(scene)
        mm = nonreciprocity_mismatch(-cd.force_jacobian(sol, dofs="z"), recoil_diffusion(sol, dofs="z"))
        assert mm.relative < 1e-10


# --------------------------------------------------------------------------- input checks
def test_bad_input_raises_value_error():
    """Oracle: the documented ValueErrors name the argument."""
    sol = cd.solve(random_scene(np.random.default_rng(0), n=2))
    with pytest.raises(ValueError, match="method"):
        recoil_diffusion(sol, method="lebedev")
    with pytest.raises(ValueError, match="dofs"):
        recoil_diffusion(sol, dofs="w")
    with pytest.raises(ValueError, match="quadrature options"):
        recoil_diffusion(sol, n_theta=10)
    pos = sol.scene.positions
    dp, dm = dipole_derivatives(sol, "z")
    with pytest.raises(ValueError, match="dp and dm"):
        recoil_diffusion_from_dipoles(pos, sol.scene.k, 1.0, sol.p, sol.m, dp, dm, dofs=None)
    with pytest.raises(ValueError, match="k must be"):
        recoil_diffusion_from_dipoles(pos, -1.0, 1.0, sol.p, sol.m, dp, dm, dofs="z")
    with pytest.raises(ValueError, match="n_theta"):
        recoil_diffusion_quadrature(pos, sol.scene.k, 1.0, sol.p, sol.m, dp, dm, dofs="z", n_theta=1)
    with pytest.raises(ValueError, match="p contains NaN"):
        recoil_diffusion_from_dipoles(pos, sol.scene.k, 1.0, sol.p * np.nan, sol.m, dp, dm, dofs="z")
    with pytest.raises(ValueError, match="stiffness"):
        nonreciprocity_mismatch(np.ones(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match="no off-diagonal"):
        nonreciprocity_mismatch(np.eye(2), np.eye(2))
