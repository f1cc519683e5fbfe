"""Equilibrium search (damped Newton with the analytic Jacobian) and per-particle absorbed power.

Oracles: an independent root finder (scipy.optimize.root, hybrid Powell, finite-difference Jacobian
of the forces) must find the same zero; different, poor starting points must converge to the same
point; a plane wave has no trap (the search must say so, not crash); absorbed powers against the
dipole-order Mie absorption cross section (miepython a1, b1) and the energy balance of the cluster.
"""

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.dynamics.equilibrium import equilibrium
from cdsolve.scattering.observables import absorbed_powers

LAM = 1064e-9


def pair_scene(offsets=((0, 0, 0), (0, 0, 0))):
    foci = np.array([[-0.6e-6, 0, 0], [0.6e-6, 0, 0]])
    tw = [cd.GaussianTweezer(LAM, focus=f, na=0.75, power=0.4, polarization=(0, 1, 0)) for f in foci]
    return cd.Scene(positions=foci + np.asarray(offsets, float), particles=cd.Sphere(radius=104e-9, index=1.45, density=1850),
                    illumination=tw)


def test_equilibrium_is_a_zero_of_the_forces_and_agrees_with_scipy_root():
    scene = pair_scene()
    F0 = np.abs(cd.solve(scene, check_validity=False).forces()).max()
    eq = equilibrium(scene)
    assert eq.converged and eq.untrapped == ()
    # residual below 1e-6 of the forces at the foci (issue 14 acceptance); Newton reaches round-off
    assert eq.residual_force < 1e-6 * F0
    assert np.abs(eq.displacements[:, 2]).max() > 10e-9  # radiation pressure moves the particles downstream

    def forces(x):
        return cd.solve(scene.with_positions(x.reshape(2, 3)), check_validity=False).forces().ravel() / F0

    ref = scipy.optimize.root(forces, scene.positions.ravel(), method="hybr", options={"xtol": 1e-13})
    assert ref.success
    # tolerance: both zeros of the same smooth field; hybr's xtol 1e-13 relative of ~1e-6 m positions
    assert_allclose(eq.scene.positions.ravel(), ref.x, rtol=0, atol=1e-13)


@pytest.mark.parametrize("offsets", [((150e-9, -100e-9, 200e-9), (-200e-9, 120e-9, -150e-9)),
                                     ((250e-9, 0, 0), (0, 0, 250e-9))])
def test_poor_starting_points_reach_the_same_equilibrium(offsets):
    ref = equilibrium(pair_scene())
    eq = equilibrium(pair_scene(offsets))
    assert eq.converged
    # tolerance: the zero is unique in the trap basin; Newton converges to round-off (~1e-15 m)
    assert_allclose(eq.scene.positions, ref.scene.positions, rtol=0, atol=1e-12)


def test_plane_wave_has_no_trap_and_the_search_says_so():
    scene = cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    eq = equilibrium(scene, maxiter=5)
    assert not eq.converged
    assert set(eq.untrapped) == {"x_0", "y_0", "z_0"}
    assert "no restoring stiffness along x_0, y_0, z_0" in eq.message()
    with pytest.raises(RuntimeError, match="no equilibrium found"):
        cd.linearize(scene, at="equilibrium")


def test_linearize_at_equilibrium_reuses_the_search():
    # oracle: linearizing at the returned positions gives the same stiffness (the search's last Jacobian)
    scene = pair_scene()
    lin = cd.linearize(scene, at="equilibrium")
    again = cd.linearize(scene.with_positions(lin.positions), at="positions")
    assert_allclose(lin.stiffness, again.stiffness, rtol=0, atol=1e-12 * np.abs(lin.stiffness).max())
    # one eigen-decomposition serves frequencies and stability
    assert lin.mechanical_modes is lin.mechanical_modes
    assert lin.is_stable() == bool(np.all(np.abs(lin.mode_frequencies().imag) <= 1e-9 * np.abs(lin.mode_frequencies()).max()))


def test_bad_arguments_are_named():
    scene = pair_scene()
    with pytest.raises(ValueError, match="maxiter"):
        equilibrium(scene, maxiter=0)
    with pytest.raises(ValueError, match="max_step"):
        equilibrium(scene, max_step=-1.0)
    with pytest.raises(TypeError, match="scene"):
        equilibrium("scene")


def test_absorbed_power_of_one_sphere_equals_mie_dipole_absorption():
    miepython = pytest.importorskip("miepython")
    m, a, n_med = 3.6 + 0.3j, 60e-9, 1.0
    k = 2 * np.pi * n_med / LAM
    I0 = 1e9
    sol = cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=a, index=m),
                            illumination=cd.PlaneWave(wavelength=LAM, intensity=I0)), check_validity=False)
    a_n, b_n = miepython.coefficients(m / n_med, k * a, n_pole=1)
    a1, b1 = complex(np.atleast_1d(a_n)[0]), complex(np.atleast_1d(b_n)[0])
    # dipole-order absorption (Bohren & Huffman 4.61-4.62 with n = 1 only)
    C_abs = 2 * np.pi / k**2 * 3 * (a1.real + b1.real - abs(a1) ** 2 - abs(b1) ** 2)
    # tolerance: the same a1, b1 (our Mie vs miepython agree to ~1e-12) through two different formulas
    assert_allclose(absorbed_powers(sol), [I0 * C_abs], rtol=1e-9)


def test_absorbed_powers_close_the_energy_balance_of_a_cluster():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-1e-6, 1e-6, (5, 3))
    parts = [cd.Sphere(radius=50e-9, index=1.45), cd.Sphere(radius=40e-9, index=3.5 + 0.2j)] * 2 + [
        cd.Sphere(radius=45e-9, index=2.0 + 0.05j)]
    sol = cd.solve(cd.Scene(positions=pos, particles=parts,
                            illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9)), check_validity=False)
    P = absorbed_powers(sol)
    cs = sol.cross_sections()
    assert abs(P[0]) < 1e-12 * P[1] and abs(P[2]) < 1e-12 * P[1]  # lossless silica absorbs nothing
    # oracle: extinction minus the independently computed radiated power (energy conservation)
    assert_allclose(P.sum(), cs["P_ext"] - cs["P_sca"], rtol=1e-9)


def test_shallow_low_na_trap_far_downstream_is_reached():
    # a 0.3-NA focused trap in water holds the sphere ~5.3 um downstream of the focus: the step cap
    # (a tenth of a wavelength at first) must grow, or the search runs out of steps (oracle: zero force there)
    from cdsolve.optics.focusing import FocusedBeam

    beam = FocusedBeam(1064e-9, na=0.30, power=0.1, filling_factor=1.0)
    scene = cd.Scene(positions=[beam.focus], particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=beam, medium=cd.Medium(index=1.33))
    eq = equilibrium(scene)
    assert eq.converged and eq.iterations < 20, eq.message()
    assert 4e-6 < eq.displacements[0, 2] < 7e-6
    F0 = np.abs(cd.solve(scene, check_validity=False).forces()).max()
    assert eq.residual_force < 1e-9 * F0
