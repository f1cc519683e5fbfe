"""Force decomposition and pairwise contributions (cdsolve.scattering.decomposition)."""

import numpy as np
import pytest

import cdsolve as cd
from cdsolve.scattering.coherence import IncoherentBeams
from cdsolve.scattering.decomposition import decompose_forces, flat_beams, own_tweezers, pairwise_forces

LAM = 1064e-9


def random_scene(rng, particle, n=4):
    """n particles in a ~1 um cluster, oblique plane wave (all force components non-zero)."""
    while True:
        pos = rng.uniform(-0.6e-6, 0.6e-6, size=(n, 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(n)
        if d.min() > 0.3e-6:
            break
    direction = np.array([0.3, -0.2, 1.0]) / np.linalg.norm([0.3, -0.2, 1.0])
    pol = np.cross(direction, [0.0, 1.0, 0.0]) + 0.4j * np.cross(direction, [1.0, 0.0, 0.0])
    beam = cd.PlaneWave(LAM, intensity=1e9, direction=direction, polarization=pol)
    return cd.Scene(positions=pos, particles=particle, illumination=beam)


EM_SPHERE = cd.Sphere(radius=90e-9, index=3.5 + 0.02j)  # x = 0.53: strong electric and magnetic dipoles


def test_pairwise_sums_to_single_scattering_interaction(rng):
    # oracle: the solver's own orders=1 interaction force F - F_iso (independent code path)
    scene = random_scene(rng, EM_SPHERE)
    pw = pairwise_forces(scene)
    sol = cd.solve(scene, orders=1)
    f1 = sol.forces() - sol.isolated_forces()
    # tolerance 1e-12 of the largest component (acceptance criterion); measured ~5e-14
    np.testing.assert_allclose(pw.pairwise.sum(axis=1), f1, rtol=0, atol=1e-12 * np.abs(f1).max())
    np.testing.assert_array_equal(pw.interaction, f1)
    assert np.all(pw.bilinear[np.arange(4), np.arange(4)] == 0)
    # the magnetic and e-m interference parts matter here (else the test would not exercise them)
    comps = sol.force_components()
    assert np.abs(comps["magnetic"]).max() > 0.05 * np.abs(comps["total"]).max()


def test_bilinear_part_is_strictly_pairwise(rng):
    # oracle: first-order terms of pair (i, j) cannot depend on a third particle -- compare with the
    # two-particle scene {i, j} alone
    scene = random_scene(rng, EM_SPHERE)
    bil = pairwise_forces(scene).bilinear
    for i, j in ((0, 1), (2, 3), (3, 1)):
        sub = pairwise_forces(scene.subset([i, j])).bilinear
        np.testing.assert_allclose(bil[i, j], sub[0, 1], rtol=0, atol=1e-13 * np.abs(bil).max())  # round-off
        np.testing.assert_allclose(bil[j, i], sub[1, 0], rtol=0, atol=1e-13 * np.abs(bil).max())


def test_bilinear_and_quadratic_orders_from_polarizability_scaling(rng):
    # oracle: electric-only dipoles with alpha -> s alpha: the orders=1 interaction force is
    # s^2 B + s^3 Q exactly (first order in the coupling ~ alpha^2, second ~ alpha^3); two solves give B, Q
    alpha = cd.Sphere(radius=90e-9, index=2.0 + 0.05j, model="rayleigh").polarizabilities(LAM, 1.0)[0]
    base = random_scene(rng, cd.DipoleParticle(alpha_e=alpha))

    def f_int(s):
        scaled = cd.Scene(positions=base.positions, particles=cd.DipoleParticle(alpha_e=s * alpha),
                          illumination=base.illumination)
        sol = cd.solve(scaled, orders=1)
        return sol.forces() - sol.isolated_forces()

    f1, f2 = f_int(1.0), f_int(2.0)
    B = (8 * f1 - f2) / 4
    Q = (f2 - 4 * f1) / 4
    pw = pairwise_forces(base)
    # tolerance: cancellation in the two-solve extraction, ~1e-13 of |F_iso| / |f|
    np.testing.assert_allclose(pw.bilinear.sum(axis=1), B, rtol=0, atol=1e-9 * np.abs(B).max())
    np.testing.assert_allclose(pw.quadratic.sum(axis=1), Q, rtol=0, atol=1e-9 * np.abs(B).max())


def test_pairwise_sums_per_group_for_incoherent_light(rng):
    # oracle: sum of the solver's orders=1 interaction forces of each coherent group
    scene = random_scene(rng, EM_SPHERE, n=3)
    other = cd.PlaneWave(LAM, intensity=2e9, direction=(1, 0, 0), polarization=(0, 0, 1))
    inc = scene.with_illumination(IncoherentBeams(groups=(scene.illumination, other)))
    pw = pairwise_forces(inc)
    expect = 0
    for beam in (scene.illumination, other):
        sol = cd.solve(scene.with_illumination(beam), orders=1)
        expect = expect + sol.forces() - sol.isolated_forces()
    np.testing.assert_allclose(pw.pairwise.sum(axis=1), expect, rtol=0, atol=1e-12 * np.abs(expect).max())


# --------------------------------------------------------------------------- own tweezer decomposition
def tweezer_row(n=3, spacing=1.2e-6, phases=None, incoherent=False):
    tws = [cd.GaussianTweezer(LAM, focus=(i * spacing, 0, 0), waist=0.8e-6, power=0.05,
                              phase=0.0 if phases is None else phases[i]) for i in range(n)]
    illum = IncoherentBeams(groups=tws) if incoherent else tws
    pos = np.array([[i * spacing + 30e-9 * (i - 1), 20e-9, -40e-9 * i] for i in range(n)])
    return cd.Scene(positions=pos, particles=cd.Sphere(radius=80e-9, index=1.45), illumination=illum), tws


@pytest.mark.parametrize("incoherent", [False, True], ids=["coherent", "incoherent"])
def test_decomposition_parts(incoherent):
    scene, tws = tweezer_row(phases=[0.0, 1.0, 2.5], incoherent=incoherent)
    dec = decompose_forces(scene)
    np.testing.assert_array_equal(dec.own_beam, [0, 1, 2])  # nearest focus
    for i in range(3):
        # oracle: the particle alone in its own tweezer alone, through the ordinary solver
        alone = cd.Scene(positions=scene.positions[i], particles=scene.particles[i], illumination=tws[i])
        np.testing.assert_allclose(dec.own_tweezer[i], cd.solve(alone).forces()[0], rtol=0,
                                   atol=1e-14 * np.abs(dec.own_tweezer).max())  # round-off
    # oracle: the isolated part (all beams, particle alone) through single-particle solves
    from cdsolve.scattering.coherence import solve_incoherent

    for i in range(3):
        alone = cd.Scene(positions=scene.positions[i], particles=scene.particles[i], illumination=scene.illumination)
        np.testing.assert_allclose(dec.isolated[i], solve_incoherent(alone).forces()[0], rtol=0,
                                   atol=1e-14 * np.abs(dec.total).max())  # round-off
    if incoherent:
        # oracle: no interference between groups -> other beams act as the sum of each beam alone
        for i in range(3):
            expect = sum(cd.solve(cd.Scene(positions=scene.positions[i], particles=scene.particles[i],
                                           illumination=tws[t])).forces()[0] for t in range(3) if t != i)
            np.testing.assert_allclose(dec.other_beams[i], expect, rtol=0, atol=1e-12 * np.abs(dec.total).max())
    assert np.abs(dec.array).max() > 1e-3 * np.abs(dec.own_tweezer).max()  # the split is not trivial


def test_own_tweezer_assignment_errors():
    scene, tws = tweezer_row(n=2)
    mid = cd.Scene(positions=[[0.6e-6, 0, 0]], particles=cd.Sphere(radius=80e-9, index=1.45), illumination=tws)
    with pytest.raises(ValueError, match="ambiguous"):
        own_tweezers(mid)
    assert own_tweezers(mid, own=[1]).tolist() == [1]
    with pytest.raises(ValueError, match="own must index"):
        own_tweezers(scene, own=[0, 2])
    with pytest.raises(ValueError, match="one per particle"):
        own_tweezers(scene, own=[0])
    pw = cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=80e-9, index=1.45),
                  illumination=cd.PlaneWave(LAM, intensity=1e9))
    with pytest.raises(ValueError, match="no beam of the illumination has a focus"):
        own_tweezers(pw)
    beams, group = flat_beams(IncoherentBeams(groups=(tws[0], tws)))
    assert len(beams) == 3 and group.tolist() == [0, 1, 1]
