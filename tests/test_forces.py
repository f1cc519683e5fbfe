"""Optical forces, torques and cross sections of solved scenes.

Oracles:
* miepython's exact single-sphere Mie radiation pressure (independent code);
* the dipole-truncated Mie closed form ``C_pr = 6 pi/k^2 Re(a1+b1) - 6 pi/k^2 Re(a1 b1*)``;
* conservation laws: energy (P_ext = P_sca + P_abs; far-field quadrature of the scattered power)
  and momentum (total force = momentum removed from the beam, far-field quadrature);
* symmetries: rotation covariance, mirror symmetry, translation invariance for plane waves;
* two methods: direct vs iterative solve, Neumann series (``orders``) vs the self-consistent solve.
"""

import miepython
import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.optics.conventions import C0, EPS0, Z0
from cdsolve.scattering.observables import far_field_amplitude

SI_INDEX, SI_LAM = 5.1 + 0.2j, 420e-9


def _single(radius, index=SI_INDEX, lam=SI_LAM):
    beam = cd.PlaneWave(wavelength=lam, amplitude=1.0)
    return cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=radius, index=index), illumination=beam))


def _mie_pressure_force(radius, index=SI_INDEX, lam=SI_LAM):
    """Exact Mie force [N] on a sphere in a 1 V/m plane wave in vacuum: (I/c) C_pr, C_pr = C_ext - g C_sca."""
    qext, qsca, _, g = miepython.efficiencies(index, 2 * radius, lam, n_env=1.0)
    return 0.5 * EPS0 * (qext - g * qsca) * np.pi * radius**2


def test_single_sphere_radiation_pressure_vs_exact_mie():
    """90 nm diameter silicon-like sphere (5.1+0.2i, 420 nm): dipole force within 1e-3 of exact Mie
    (measured -4.2e-4: the dipole model's own error, the a2/b2 terms)."""
    F = _single(45e-9).forces()
    assert_allclose(F[0, :2], 0.0, atol=1e-40)
    assert abs(F[0, 2] / _mie_pressure_force(45e-9) - 1) < 1e-3


@pytest.mark.parametrize("radius", [5e-9, 45e-9, 80e-9])
def test_force_equals_dipole_truncated_mie(radius):
    """With only a1, b1 the Mie radiation pressure is closed form; the solver's force (electric +
    magnetic + interference term) must equal it to round-off (1e-12)."""
    k = 2 * np.pi / SI_LAM
    a, b = miepython.coefficients(SI_INDEX, k * radius, n_pole=1)
    a1, b1 = a[0], b[0]
    c_pr = 6 * np.pi / k**2 * (np.real(a1 + b1) - np.real(a1 * np.conj(b1)))
    assert_allclose(_single(radius).forces()[0, 2], 0.5 * EPS0 * c_pr, rtol=1e-12)


def test_dipole_error_shrinks_like_size_squared():
    """Error vs exact Mie ~ x^2 for small spheres (quadrupole a2 ~ x^5 vs a1 ~ x^3):
    measured 4.0e-6, 1.6e-5, 6.4e-5 at radius 0.5, 1, 2 nm."""
    errs = [abs(_single(a).forces()[0, 2] / _mie_pressure_force(a) - 1) for a in (0.5e-9, 1e-9, 2e-9)]
    assert_allclose(np.diff(np.log2(errs)), [2.0, 2.0], atol=0.05)
    assert errs[-1] < 1e-4


def _quadrature_far_field(sol, n_theta=64, n_phi=128):
    """Scattered power and momentum flux by Gauss-Legendre x trapezoid quadrature over directions."""
    u, w = np.polynomial.legendre.leggauss(n_theta)
    phi = np.arange(n_phi) * 2 * np.pi / n_phi
    ct, ph = np.meshgrid(u, phi, indexing="ij")
    st = np.sqrt(1 - ct**2)
    dirs = np.stack([st * np.cos(ph), st * np.sin(ph), ct], axis=-1).reshape(-1, 3)
    weights = (w[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]).ravel()
    Z = Z0 / sol.scene.n_medium
    dP = np.sum(np.abs(far_field_amplitude(sol, dirs)) ** 2, axis=1) / (2 * Z)  # dP/dOmega
    return np.sum(weights * dP), np.sum((weights * dP)[:, None] * dirs, axis=0)


def _random_cluster(rng, n, index, radius=60e-9, lam=633e-9, spread=1.2e-6, beam=None):
    pos = rng.uniform(-spread, spread, size=(n, 3))
    while True:  # resample until non-overlapping with a margin
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(n) * 1e9
        if d.min() > 3 * radius:
            break
        pos = rng.uniform(-spread, spread, size=(n, 3))
    beam = beam or cd.PlaneWave(wavelength=lam, direction=(0.2, 0.1, 1.0),
                                polarization=_fix_polarization((0.2, 0.1, 1.0), (1, 0.3j, -0.2)), intensity=1e9)
    return cd.Scene(positions=pos, particles=cd.Sphere(radius=radius, index=index), illumination=beam,
                    medium=cd.Medium(index=1.33))


def _fix_polarization(direction, pol):
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    pol = np.asarray(pol, complex)
    return pol - d * (d @ pol)


@pytest.fixture
def lossless_cluster(rng):
    beam = cd.PlaneWave(wavelength=633e-9, direction=(0.2, 0.1, 1.0),
                        polarization=_fix_polarization((0.2, 0.1, 1.0), (1, 0.3j, -0.2)), intensity=1e9)
    return _random_cluster(rng, 7, 2.5, beam=beam)


def test_optical_theorem_lossless_cluster(lossless_cluster):
    """Lossless particles: extinction = scattering to 1e-10 (energy conservation of a correct solve),
    absorption = 0 to 1e-10 of the extinction."""
    cs = cd.solve(lossless_cluster, method="direct").cross_sections()
    assert abs(cs["C_ext"] - cs["C_sca"]) / cs["C_ext"] < 1e-10
    assert abs(cs["C_abs"]) / cs["C_ext"] < 1e-10


def test_scattered_power_closed_form_vs_quadrature(rng, lossless_cluster):
    """P_sca from the pair sums of Im G equals the far-field quadrature (independent method) to 1e-9."""
    sol = cd.solve(_random_cluster(rng, 5, 1.8 + 0.4j, beam=lossless_cluster.illumination))
    P_quad, _ = _quadrature_far_field(sol)
    cs = sol.cross_sections()
    assert_allclose(cs["P_sca"], P_quad, rtol=1e-9)
    assert abs(cs["energy_balance"]) < 1e-10  # lossy: P_ext = P_sca + P_abs


def test_total_force_equals_momentum_removed_from_beam(rng, lossless_cluster):
    """Momentum conservation: sum_j F_j = (P_ext k^ - integral of dP_sca/dOmega n dOmega)/c_m
    (plane wave, far-field quadrature). Checks every force term, including all interaction forces."""
    scene = _random_cluster(rng, 5, 1.8 + 0.4j, beam=lossless_cluster.illumination)
    sol = cd.solve(scene)
    _, momentum_flux = _quadrature_far_field(sol)
    kdir = np.array(scene.illumination.direction)
    c_m = C0 / scene.n_medium
    expected = (sol.cross_sections()["P_ext"] * kdir - momentum_flux) / c_m
    F = sol.forces()
    assert_allclose(F.sum(axis=0), expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    # and interaction forces are not small here: they carry >1 % of the total
    assert np.abs(sol.interaction_forces()).max() > 1e-2 * np.abs(F).max()


def _rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def test_rotating_the_scene_rotates_the_forces(rng):
    """Rotation covariance: rotating positions, beam directions and polarizations rotates every force (1e-10)."""
    R = _rotation(rng)
    pos = np.array([[0, 0, 0], [700e-9, 100e-9, 0], [-200e-9, 600e-9, 300e-9]])
    part = cd.Sphere(radius=70e-9, index=2.0 + 0.1j)
    tw = [cd.GaussianTweezer(wavelength=800e-9, focus=f, waist=900e-9, power=0.1, phase=ph)
          for f, ph in zip(pos + 50e-9, (0.0, 1.0, 2.0))]
    tw_r = [cd.GaussianTweezer(wavelength=800e-9, focus=R @ t.focus, waist=900e-9, power=0.1, phase=t.phase,
                               direction=R @ np.array(t.direction), polarization=R @ np.array(t.polarization))
            for t in tw]
    F = cd.solve(cd.Scene(positions=pos, particles=part, illumination=tw)).forces()
    Fr = cd.solve(cd.Scene(positions=pos @ R.T, particles=part, illumination=tw_r)).forces()
    assert_allclose(Fr, F @ R.T, rtol=0, atol=1e-10 * np.abs(F).max())


@pytest.mark.parametrize("pol", [(1, 0, 0), (0, 1, 0)], ids=["pol-along-axis", "pol-perpendicular"])
def test_mirror_symmetric_pair_has_reciprocal_binding(pol):
    """Two identical spheres on the x axis, plane wave along z: mirror x -> -x maps A onto B, so
    f_A,x = -f_B,x and the z forces are equal (1e-12)."""
    beam = cd.PlaneWave(wavelength=1064e-9, polarization=pol, intensity=1e9)
    sc = cd.Scene(positions=[[-400e-9, 0, 0], [400e-9, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
                  illumination=beam)
    f = cd.solve(sc).interaction_forces()
    scale = np.abs(f).max()
    assert scale > 0
    assert_allclose(f[0, 0], -f[1, 0], rtol=1e-12)
    assert_allclose(f[0, 2], f[1, 2], rtol=1e-12)
    assert_allclose(f[:, 1], 0.0, atol=1e-12 * scale)


def test_plane_wave_translation_invariance(rng):
    """Translating a plane-wave-lit cluster changes only the phase of the fields: forces unchanged (1e-11)."""
    sc = _random_cluster(rng, 4, 2.0 + 0.05j)
    F = cd.solve(sc).forces()
    F2 = cd.solve(sc.with_positions(sc.positions + np.array([3e-7, -1e-6, 2.2e-6]))).forces()
    assert_allclose(F2, F, rtol=0, atol=1e-11 * np.abs(F).max())


def test_direct_and_iterative_solves_agree(rng):
    """Two solvers, one answer: GMRES (rtol 1e-12) vs LU, forces to 1e-9 (measured ~1e-12)."""
    sc = _random_cluster(rng, 12, 2.5 + 0.02j)
    d = cd.solve(sc, method="direct")
    it = cd.solve(sc, method="iterative", rtol=1e-12)
    assert it.info["iterations"] > 0
    assert it.info["residual"] < 1e-11
    assert_allclose(it.p, d.p, rtol=0, atol=1e-10 * np.abs(d.p).max())
    assert_allclose(it.forces(), d.forces(), rtol=0, atol=1e-9 * np.abs(d.forces()).max())


def test_scattering_orders_converge_to_self_consistent_solution(rng):
    """Neumann series: orders=0 ignores coupling (forces = isolated), orders=n -> full solve geometrically."""
    sc = _random_cluster(rng, 4, 1.45, radius=50e-9)
    full = cd.solve(sc)
    zero = cd.solve(sc, orders=0)
    assert_allclose(zero.forces(), full.isolated_forces(), rtol=1e-12)
    errs = [np.abs(cd.solve(sc, orders=n).p - full.p).max() for n in (1, 2, 3, 4)]
    assert all(b < 0.2 * a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-6 * np.abs(full.p).max()


def test_spin_torque_equals_absorbed_angular_momentum():
    """Circularly polarized plane wave on an absorbing sphere: T_z = sigma P_abs / omega
    (angular momentum conservation); a lossless sphere feels no torque."""
    beam = cd.PlaneWave(wavelength=633e-9, polarization=np.array([1, 1j, 0]) / np.sqrt(2), intensity=1e9)
    for index, lossy in ((2.0 + 0.3j, True), (2.0, False)):
        sol = cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=80e-9, index=index), illumination=beam))
        T = sol.torques()[0]
        omega = 2 * np.pi * C0 / 633e-9
        P_abs = sol.cross_sections()["P_abs"]
        if lossy:
            assert_allclose(T, [0, 0, P_abs / omega], rtol=1e-10, atol=1e-12 * abs(P_abs / omega))
        else:
            assert_allclose(T, 0.0, atol=1e-12 * np.abs(sol.p).max() * 1e3)


def test_tweezer_traps_a_sphere():
    """A sphere slightly off the focus of a tweezer is pulled back laterally (gradient force)."""
    tw = cd.GaussianTweezer(wavelength=1064e-9, waist=800e-9, power=0.1)
    F = cd.solve(cd.Scene(positions=[[100e-9, -80e-9, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
                          illumination=tw)).forces()[0]
    assert F[0] < 0 < F[1]
    assert F[2] > 0  # radiation pressure at the focus


def test_alignment_torque_on_ellipsoid():
    """A lossless prolate ellipsoid in a linearly polarized wave: no torque when its long axis lies
    along the polarization (symmetry), a restoring torque when rotated by +-theta (equal and opposite:
    mirror symmetry); the radiation-recoil correction is a small (k^3 alpha ~ 1e-5) part of it."""
    beam = cd.PlaneWave(wavelength=1064e-9, polarization=(1, 0, 0), intensity=1e9)

    def torque(theta):
        R = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
        part = cd.Ellipsoid(semi_axes=(80e-9, 30e-9, 30e-9), index=1.45, orientation=R)
        sol = cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=part, illumination=beam))
        E = sol.E_local[0]
        expected = 0.5 * np.cross(sol.alpha_e[0] @ E, E.conj()).real  # single particle: p = alpha E_inc
        return sol.torques()[0], expected

    T0, _ = torque(0.0)
    Tp, ep = torque(0.3)
    Tm, _ = torque(-0.3)
    scale = np.abs(Tp).max()
    assert_allclose(T0, 0.0, atol=1e-12 * scale)
    assert Tp[2] < 0 < Tm[2]  # rotated counter-clockwise -> pushed back clockwise
    assert_allclose(Tp, -Tm * np.array([1, 1, 1]), rtol=1e-12, atol=1e-12 * scale)
    # the alignment torque is the bare 1/2 Re[p x E*] up to the recoil of the dipole's own radiation
    assert_allclose(Tp, ep, rtol=1e-4, atol=1e-12 * scale)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_local_magnetic_field_of_electric_only_particles(method):
    """Without magnetic dipoles the solve reduces to the 3N electric system; the local H must still be
    the incident field plus the magnetic field radiated by the other electric dipoles (closed form)."""
    from cdsolve.optics.dipole_fields import dipole_fields

    part = cd.Sphere(radius=60e-9, index=2.0, model="rayleigh")
    pos = np.array([[0, 0, 0], [500e-9, 200e-9, 100e-9], [-300e-9, 400e-9, 0]])
    sc = cd.Scene(positions=pos, particles=part, illumination=cd.PlaneWave(wavelength=800e-9, intensity=1e9))
    sol = cd.solve(sc, method=method, rtol=1e-13)
    Ei, Hi = sc.incident_fields()
    E_s, H_s = dipole_fields(pos, pos, sol.p, sol.m, sc.k, 1.0)
    assert_allclose(sol.H_local, Hi + H_s, rtol=0, atol=1e-10 * np.abs(sol.H_local).max())
    assert_allclose(sol.E_local, Ei + E_s, rtol=0, atol=1e-10 * np.abs(sol.E_local).max())
    assert sol.info["residual"] < 1e-12
