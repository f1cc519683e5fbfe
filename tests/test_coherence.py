"""Incoherent beam groups (cdsolve.scattering.coherence).

Main oracle: light of two mutually incoherent beams is, for every time-averaged quadratic observable,
the average over their relative phase of the coherent result (a beat note averages the cross term
away). Coherent observables are first harmonics in the relative phase phi (fields are linear in
exp(i phi), observables quadratic), so the average over three equally spaced phases is exact.
"""

import numpy as np
import pytest

import cdsolve as cd
from cdsolve.scattering.coherence import IncoherentBeams, IncoherentSolution, group_scenes, solve_incoherent
from cdsolve.dynamics.jacobian import force_jacobian

LAM = 1064e-9
D = 0.9e-6  # tweezer spacing [m]
PHASES = 2 * np.pi * np.arange(3) / 3


def tweezers(phi=0.0):
    a = cd.GaussianTweezer(LAM, focus=(-D / 2, 0, 0), waist=0.9e-6, power=0.05, polarization=(0, 1, 0))
    b = cd.GaussianTweezer(LAM, focus=(D / 2, 0, 0), waist=0.9e-6, power=0.05, polarization=(0, 1, 0), phase=phi)
    return a, b


def scene(illumination):
    # slightly off the foci so that every force component is non-zero; e+m dipoles (Si, x ~ 0.6)
    pos = [[-D / 2 + 20e-9, 10e-9, 30e-9], [D / 2 - 15e-9, -5e-9, -40e-9]]
    return cd.Scene(positions=pos, particles=cd.Sphere(radius=100e-9, index=3.5 + 0.01j), illumination=illumination)


def incoherent(phi=0.0):
    return solve_incoherent(scene(IncoherentBeams(groups=tweezers(phi))))


def coherent(phi=0.0):
    return cd.solve(scene(list(tweezers(phi))))


def observables(res):
    cs = res.cross_sections()
    return {"forces": res.forces(), "interaction": res.interaction_forces(), "torques": res.torques(),
            "powers": np.array([cs["P_ext"], cs["P_sca"], cs["P_abs"]])}


def test_incoherent_observables_do_not_depend_on_relative_phase():
    # oracle: symmetry -- a phase on a whole group is a global phase of that group's solution
    ref = observables(incoherent(0.0))
    for phi in (0.7, 2.0, 4.1):
        got = observables(incoherent(phi))
        for key in ref:
            # tolerance: round-off of the solve relative to the observable's scale
            np.testing.assert_allclose(got[key], ref[key], rtol=0, atol=1e-12 * np.abs(ref[key]).max(), err_msg=key)


def test_coherent_binding_oscillates_with_relative_phase():
    # oracle: first-harmonic structure f(phi) = a + b cos(phi) + c sin(phi) (fields linear in exp(i phi))
    f = np.array([coherent(p).interaction_forces() for p in PHASES])
    A = np.stack([np.ones(3), np.cos(PHASES), np.sin(PHASES)], axis=1)
    coef = np.linalg.solve(A, f.reshape(3, -1))
    phi = 1.0
    predicted = (np.array([1.0, np.cos(phi), np.sin(phi)]) @ coef).reshape(2, 3)
    got = coherent(phi).interaction_forces()
    scale = np.abs(f).max()
    np.testing.assert_allclose(got, predicted, rtol=0, atol=1e-10 * scale)  # tolerance: round-off
    # the oscillation is substantial: harmonic amplitude of the binding along x vs its mean
    amp_x = np.hypot(coef[1], coef[2]).reshape(2, 3)[:, 0]
    assert np.all(amp_x > 0.5 * np.abs(coef[0].reshape(2, 3)[:, 0])), (amp_x, coef[0])


def test_incoherent_equals_phase_average_of_coherent():
    # oracle: incoherence = average over the relative phase (exact for first harmonics with 3 phases)
    inc = observables(incoherent(0.3))
    avg = {k: np.mean([observables(coherent(p))[k] for p in PHASES], axis=0) for k in inc}
    for key in inc:
        # tolerance: round-off in solves and the phase average, relative to the observable's scale
        np.testing.assert_allclose(inc[key], avg[key], rtol=0, atol=1e-10 * np.abs(avg[key]).max(), err_msg=key)


def test_incoherent_binding_is_sum_of_single_tweezer_bindings():
    # definition made explicit: for each tweezer alone (both particles present, the other beam off),
    # binding = F - F_iso with F_iso the particle alone in that tweezer; the incoherent binding is their sum
    a, b = tweezers()
    res = solve_incoherent(scene(IncoherentBeams(groups=(a, b))))
    expect = cd.solve(scene(a)).interaction_forces() + cd.solve(scene(b)).interaction_forces()
    np.testing.assert_allclose(res.interaction_forces(), expect, rtol=0, atol=1e-13 * np.abs(expect).max())
    # and the binding is not the binding of the coherent pair (interference matters there)
    coh = coherent().interaction_forces()
    assert np.abs(coh - expect).max() > 0.1 * np.abs(expect).max()


def test_incoherent_jacobian_matches_finite_differences():
    # oracle: central differences of the summed forces
    sc = scene(IncoherentBeams(groups=tweezers()))
    J = force_jacobian(solve_incoherent(sc))
    h = 0.2e-9
    fd = np.empty_like(J)
    for c in range(6):
        dp = np.zeros(6)
        dp[c] = h
        Fp = solve_incoherent(sc.with_positions(sc.positions + dp.reshape(2, 3))).forces().ravel()
        Fm = solve_incoherent(sc.with_positions(sc.positions - dp.reshape(2, 3))).forces().ravel()
        fd[:, c] = (Fp - Fm) / (2 * h)
    # tolerance: O(h^2) truncation of the central difference with h = 0.2 nm (~1e-7 of the scale)
    np.testing.assert_allclose(J, fd, rtol=0, atol=1e-6 * np.abs(J).max())


def test_incoherent_jacobian_equals_group_sum():
    # oracle: linearity of the time average -- the summed Jacobian of each group's own solution
    sc = scene(IncoherentBeams(groups=tweezers()))
    J = force_jacobian(solve_incoherent(sc), "x")
    expect = sum(force_jacobian(cd.solve(s), "x") for s in group_scenes(sc))
    np.testing.assert_allclose(J, expect, rtol=0, atol=1e-14 * np.abs(expect).max())


def test_cross_sections_with_plane_wave_groups():
    # two counter-propagating plane waves: coherent -> standing wave; incoherent -> powers add
    p1 = cd.PlaneWave(LAM, intensity=1e9, direction=(0, 0, 1))
    p2 = cd.PlaneWave(LAM, intensity=3e9, direction=(0, 0, -1))
    pos = [[0, 0, 0], [0.4e-6, 0, 0.1e-6]]
    sph = cd.Sphere(radius=80e-9, index=1.45 + 0.01j)
    res = solve_incoherent(cd.Scene(positions=pos, particles=sph, illumination=IncoherentBeams(groups=(p1, p2))))
    cs = res.cross_sections()
    # oracle: energy conservation of each group's solution, hence of the sums (1e-10 as for one group)
    assert abs(cs["energy_balance"]) < 1e-10
    # oracle: each group alone (an ordinary solve)
    one = cd.solve(cd.Scene(positions=pos, particles=sph, illumination=p1)).cross_sections()
    two = cd.solve(cd.Scene(positions=pos, particles=sph, illumination=p2)).cross_sections()
    np.testing.assert_allclose(cs["P_ext"], one["P_ext"] + two["P_ext"], rtol=1e-13)  # tolerance: round-off
    # definition: intensity-weighted mean cross section sum P / sum I
    expect = (one["C_ext"] * one["intensity"] + two["C_ext"] * two["intensity"]) / (one["intensity"] + two["intensity"])
    np.testing.assert_allclose(cs["C_ext"], expect, rtol=1e-13)


def test_single_group_matches_solve():
    # oracle: one coherent group is the ordinary solve
    a, _ = tweezers()
    sc = scene(a)
    np.testing.assert_allclose(solve_incoherent(sc).forces(), cd.solve(sc).forces(), rtol=0, atol=0)


def test_bad_input_is_refused():
    a, b = tweezers()
    with pytest.raises(ValueError, match="wavelength"):
        IncoherentBeams(groups=(a, cd.GaussianTweezer(1550e-9, waist=1e-6, power=0.1)))
    with pytest.raises(ValueError, match="empty"):
        IncoherentBeams(groups=())
    with pytest.raises(ValueError, match="groups must be a sequence"):
        IncoherentBeams(groups=a)
    with pytest.raises(ValueError, match=r"groups\[1\]"):
        IncoherentBeams(groups=(a, "laser"))
    ill = IncoherentBeams(groups=(a, b))
    # cd.solve dispatches: never a silently coherent answer (identity with solve_incoherent)
    res = cd.solve(scene(ill))
    assert isinstance(res, IncoherentSolution)
    np.testing.assert_array_equal(res.forces(), solve_incoherent(scene(ill)).forces())
    assert res.coherent_parts == res.solutions  # the interface cd.force_jacobian sums over
    with pytest.raises(ValueError, match="no single coherent field"):
        ill.fields(np.zeros(3), 1.0)  # an incoherent sum has no coherent field
    with pytest.raises(ValueError, match="cannot add"):
        ill + a  # noqa: B018
    # nested groups flatten; a list inside a group is one coherent group
    nested = IncoherentBeams(groups=(ill, [a, b]))
    assert len(nested.groups) == 3
