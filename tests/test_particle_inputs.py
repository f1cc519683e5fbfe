"""Particle constructors refuse bad input at the boundary with errors naming the argument.

Oracle: the documented rules (cdsolve.optics.polarizability): index finite, n != 0, Re n >= 0, Im n >= 0
unless allow_gain (a real bool); sizes finite and > 0; density/mass finite and > 0; material a Material.
Hypothesis drives the constructors with invalid values (derandomized, so the run is reproducible).
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cdsolve as cd
from cdsolve.optics.materials import fused_silica

SETTINGS = settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

not_finite = st.sampled_from([math.nan, math.inf, -math.inf])
not_number = st.one_of(st.text(max_size=5), st.none(), st.lists(st.floats(), max_size=2), st.just(True),
                       st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
negative = st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)
complex_value = st.complex_numbers(allow_nan=False, allow_infinity=False, min_magnitude=1e-3, max_magnitude=1e3).filter(
    lambda z: z.imag != 0)


def raises_named(make, name):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert name in str(info.value), str(info.value)


@SETTINGS
@given(bad=st.one_of(not_finite, not_number, negative, complex_value))
def test_sphere_radius(bad):
    raises_named(lambda: cd.Sphere(radius=bad, index=1.45), "radius")


@SETTINGS
@given(bad=st.one_of(not_finite, not_number.filter(lambda v: v is not None), negative, complex_value))
def test_sphere_density_and_mass(bad):
    raises_named(lambda: cd.Sphere(radius=50e-9, index=1.45, density=bad), "density")
    raises_named(lambda: cd.Sphere(radius=50e-9, index=1.45, mass=bad), "mass")


@SETTINGS
@given(bad=st.one_of(
    not_finite, st.text(max_size=5), st.lists(st.floats(), max_size=2), st.just(True),
    st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e3).filter(lambda z: z.real < 0),
    st.just(0.0), st.just(0j),
    st.complex_numbers(allow_nan=True, allow_infinity=True).filter(lambda z: not np.isfinite(z)),
))
def test_sphere_and_ellipsoid_index(bad):
    raises_named(lambda: cd.Sphere(radius=50e-9, index=bad), "index")
    raises_named(lambda: cd.Ellipsoid(semi_axes=(50e-9, 40e-9, 30e-9), index=bad), "index")


@SETTINGS
@given(im=st.floats(min_value=-10, max_value=-1e-9), re=st.floats(min_value=0.1, max_value=5))
def test_gain_index_needs_allow_gain(re, im):
    raises_named(lambda: cd.Sphere(radius=50e-9, index=complex(re, im)), "allow_gain")
    cd.Sphere(radius=50e-9, index=complex(re, im), allow_gain=True)  # accepted on request


@SETTINGS
@given(bad=st.one_of(st.text(max_size=5), st.none(), st.integers(), st.floats(allow_nan=False)))
def test_allow_gain_must_be_a_bool(bad):
    raises_named(lambda: cd.Sphere(radius=50e-9, index=1.45, allow_gain=bad), "allow_gain")
    raises_named(lambda: cd.DipoleParticle(alpha_e=1e-33 + 1e-36j, allow_gain=bad), "allow_gain")
    raises_named(lambda: cd.KerkerParticle(alpha_e=1e-33 + 1e-36j, allow_gain=bad), "allow_gain")


def test_allow_gain_string_false_is_a_type_error():
    with pytest.raises(TypeError, match="allow_gain"):
        cd.Sphere(radius=50e-9, index=1.45 - 0.01j, allow_gain="false")


@SETTINGS
@given(bad=st.one_of(not_finite, not_number, st.floats(max_value=-1e-300, allow_infinity=False), complex_value))
def test_dipole_and_kerker_radius(bad):  # radius = 0 is a point dipole: allowed
    raises_named(lambda: cd.DipoleParticle(alpha_e=1e-33 + 1e-36j, radius=bad), "radius")
    raises_named(lambda: cd.KerkerParticle(alpha_e=1e-33 + 1e-36j, radius=bad), "radius")


@SETTINGS
@given(bad=st.one_of(st.text(min_size=1, max_size=5), st.just(np.full((2, 2), 1e-33)), st.just(np.nan),
                     st.just(np.inf), st.just([1e-33, "a"])))
def test_dipole_polarizabilities(bad):
    raises_named(lambda: cd.DipoleParticle(alpha_e=bad), "alpha_e")
    raises_named(lambda: cd.DipoleParticle(alpha_e=1e-33 + 1e-36j, alpha_m=bad), "alpha_m")


@SETTINGS
@given(bad=st.one_of(st.lists(st.floats(min_value=1e-9, max_value=1e-7), max_size=5).filter(lambda v: len(v) != 3),
                     st.tuples(st.floats(max_value=0.0, allow_nan=False), st.just(1e-8), st.just(1e-8)),
                     st.tuples(not_finite, st.just(1e-8), st.just(1e-8)),
                     st.tuples(st.text(max_size=3), st.just(1e-8), st.just(1e-8)),
                     st.tuples(complex_value, st.just(1e-8), st.just(1e-8))))
def test_ellipsoid_semi_axes(bad):
    raises_named(lambda: cd.Ellipsoid(semi_axes=bad, index=1.45), "semi_axes")


@SETTINGS
@given(bad=st.one_of(st.text(max_size=4), st.just(np.eye(2)), st.just(np.full((3, 3), np.nan)),
                     st.just(2 * np.eye(3)), st.just(np.diag([1.0, 1.0, -1.0]))))
def test_ellipsoid_orientation(bad):
    raises_named(lambda: cd.Ellipsoid(semi_axes=(3e-8, 2e-8, 1e-8), index=1.45, orientation=bad), "orientation")


@pytest.mark.parametrize("bad", [0, 3, "third", None, [1], 1.5, True])
def test_kerker_condition(bad):
    raises_named(lambda: cd.KerkerParticle(alpha_e=1e-33 + 1e-36j, condition=bad), "condition")


@pytest.mark.parametrize("name", ["fused_silica", "silicon", "gold"])
def test_material_names_are_refused_naming_the_shipped_materials(name):
    with pytest.raises(TypeError, match=r"material.*fused_silica\(\).*silicon\(\)"):
        cd.Sphere(radius=50e-9, material=name)


@pytest.mark.parametrize("bad", [1.45, object(), [1.45]])
def test_material_must_be_a_material(bad):
    raises_named(lambda: cd.Sphere(radius=50e-9, material=bad), "material")


def test_sphere_with_a_shipped_material_object_solves():
    s = cd.Sphere(radius=50e-9, material=fused_silica())
    ae, _ = s.polarizabilities(1064e-9, 1.0)
    assert ae[0, 0].imag > 0


# ---------------------------------------------------------------- masses of every particle kind
@pytest.mark.parametrize("make,volume", [
    (lambda: cd.Sphere(radius=50e-9, index=1.45, density=2200), 4 / 3 * np.pi * (50e-9) ** 3),
    (lambda: cd.Ellipsoid(semi_axes=(50e-9, 40e-9, 30e-9), index=1.45, density=2200), 4 / 3 * np.pi * 50e-9 * 40e-9 * 30e-9),
    (lambda: cd.DipoleParticle(alpha_e=1e-33 + 1e-36j, radius=50e-9, density=2200), 4 / 3 * np.pi * (50e-9) ** 3),
    (lambda: cd.KerkerParticle(alpha_e=1e-33 + 1e-36j, radius=50e-9, density=2200), 4 / 3 * np.pi * (50e-9) ** 3),
    (lambda: cd.KerkerParticle(alpha_e=cd.Sphere(radius=60e-9, index=1.45), density=2200), 4 / 3 * np.pi * (60e-9) ** 3),
], ids=["sphere", "ellipsoid", "dipole", "kerker", "kerker-of-sphere"])
def test_density_gives_the_mass_of_every_particle_kind(make, volume):
    # oracle: mass = density x volume of the stated size
    p = make()
    scene = cd.Scene(positions=[[0, 0, 0], [0, 0, 1e-6]], particles=p,
                     illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    np.testing.assert_allclose(scene.masses(), 2200 * volume, rtol=1e-14)


@pytest.mark.parametrize("make", [lambda: cd.DipoleParticle(alpha_e=1e-33 + 1e-36j, density=2200),
                                  lambda: cd.KerkerParticle(alpha_e=1e-33 + 1e-36j, density=2200)],
                         ids=["dipole", "kerker"])
def test_density_without_a_size_says_so(make):
    scene = cd.Scene(positions=[[0, 0, 0]], particles=make(), illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    with pytest.raises(ValueError, match="no size"):
        scene.masses()
