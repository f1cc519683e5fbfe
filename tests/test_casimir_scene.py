"""Casimir-Polder forces included through ``Scene(casimir=CasimirPolder(...))``.

Oracles: the standalone functions of :mod:`cdsolve.optics.casimir` (identity: the scene's forces are the
optical ones plus ``casimir_forces``), central finite differences of the total forces for the total
Jacobian, the per-scene path for the batched path, and "counted once" for incoherent beam groups.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.dynamics.batch_scenes import batch_forces_and_jacobian
from cdsolve.optics.casimir import CasimirPolder, casimir_forces, casimir_stiffness
from cdsolve.optics.materials import SILICA_DRUDE_LORENTZ

LAM = 1064e-9
SPHERE = cd.Sphere(radius=100e-9, material=SILICA_DRUDE_LORENTZ)
POS = np.array([[0.0, 0.0, 0.0], [260e-9, 30e-9, -20e-9]])  # 60 nm gap: CP comparable to weak binding


def _scene(casimir, positions=POS, phase=0.0):
    tw = [cd.GaussianTweezer(wavelength=LAM, focus=tuple(p), waist=1e-6, power=1e-4, phase=ph, polarization=(0, 1, 0))
          for p, ph in zip(POS, (0.0, phase))]
    return cd.Scene(positions=positions, particles=SPHERE, illumination=tw, casimir=casimir)


@pytest.mark.parametrize("method", ["pairwise", "many-body"])
def test_scene_forces_are_optical_plus_casimir(method):
    cp = CasimirPolder(temperature=300.0, method=method)
    with_cp, without = cd.solve(_scene(cp)), cd.solve(_scene(None))
    F_cp = casimir_forces(_scene(None), temperature=300.0, method=method)
    assert_allclose(with_cp.forces(), without.forces() + F_cp, rtol=0, atol=1e-15 * np.abs(F_cp).max())  # identity
    assert np.abs(F_cp).max() > 0.1 * np.abs(without.interaction_forces()).max()  # the test has teeth
    # an isolated particle feels no Casimir-Polder force: all of it is binding
    assert_allclose(with_cp.interaction_forces() - without.interaction_forces(), F_cp, atol=1e-15 * np.abs(F_cp).max())
    parts = with_cp.force_components()
    assert_allclose(parts["total"], with_cp.forces(), rtol=1e-14, atol=0)


def test_total_jacobian_with_casimir_matches_finite_differences(fd_jacobian):
    """Oracle: central differences (h = 0.05 nm) of the total forces; tolerance 1e-5 of the largest entry
    (the FD truncation error ~ (h / 60 nm)^2 ~ 1e-6)."""
    scene = _scene(CasimirPolder(temperature=300.0))
    J = cd.force_jacobian(cd.solve(scene))
    fd = fd_jacobian(scene, h=0.05e-9)
    assert_allclose(J, fd, rtol=0, atol=1e-5 * np.abs(J).max())
    K_cp = casimir_stiffness(scene, temperature=300.0)
    assert np.abs(K_cp).max() > 0.1 * np.abs(J).max()  # CP stiffness is a sizeable part


def test_batch_path_includes_casimir():
    """Oracle: the per-scene path (solve + force_jacobian) on the same scenes; round-off tolerance."""
    scenes = [_scene(CasimirPolder(temperature=300.0), phase=ph) for ph in (0.0, 1.0)]
    F, J = batch_forces_and_jacobian(scenes)
    for b, sc in enumerate(scenes):
        sol = cd.solve(sc)
        assert_allclose(F[b], sol.forces(), rtol=1e-9, atol=1e-9 * np.abs(F[b]).max())
        assert_allclose(J[b], cd.force_jacobian(sol), rtol=1e-8, atol=1e-9 * np.abs(J[b]).max())


def test_incoherent_groups_count_casimir_once():
    tw = [cd.GaussianTweezer(wavelength=LAM, focus=tuple(p), waist=1e-6, power=1e-4) for p in POS]
    cp = CasimirPolder(temperature=300.0)
    inc = cd.Scene(positions=POS, particles=SPHERE, illumination=cd.IncoherentBeams(groups=tuple(tw)), casimir=cp)
    plain = cd.Scene(positions=POS, particles=SPHERE, illumination=cd.IncoherentBeams(groups=tuple(tw)))
    F_cp = casimir_forces(plain, temperature=300.0, method="pairwise")
    assert_allclose(cd.solve(inc).forces(), cd.solve(plain).forces() + F_cp, rtol=0, atol=1e-15 * np.abs(F_cp).max())
    K_cp = casimir_stiffness(plain, temperature=300.0, method="pairwise")
    assert_allclose(cd.force_jacobian(cd.solve(inc)), cd.force_jacobian(cd.solve(plain)) - K_cp,
                    rtol=0, atol=1e-12 * np.abs(K_cp).max())


def test_bad_casimir_settings_name_the_field():
    with pytest.raises(ValueError, match="CasimirPolder.temperature"):
        CasimirPolder(temperature=-1.0)
    with pytest.raises(ValueError, match="CasimirPolder.method"):
        CasimirPolder(temperature=300.0, method="exact")
    with pytest.raises(ValueError, match="Scene.casimir"):
        _scene(300.0)
    with pytest.raises(ValueError, match="imaginary"):  # a complex constant index has no continuation
        cd.solve(cd.Scene(positions=POS, particles=cd.Sphere(radius=100e-9, index=1.45 + 0.01j),
                          illumination=cd.PlaneWave(wavelength=LAM, intensity=1e6),
                          casimir=CasimirPolder(temperature=300.0))).forces()
