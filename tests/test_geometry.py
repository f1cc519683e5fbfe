"""Tweezer-array builders (cdsolve.workflow.geometry) and their config counterparts.

Each test names its oracle: lattice geometry (nearest-neighbour distance = pitch, bulk
coordination 4/6/3), circle geometry (radius, chord 2 R sin(pi/n)), the defining formulas of the
1D builders, the min-distance rule and seeding of the random array, exact CSV round trips, the
Scene/GaussianTweezer constructors, and the Python builders for the config builders.
"""

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial import cKDTree

import cdsolve as cd
from cdsolve.workflow import geometry as geo
from cdsolve.workflow.config import _ALLOWED, _GEOMETRY_BUILDERS, ConfigError, scene_from_config

UM = 1e-6
PARTICLE = cd.Sphere(radius=50e-9, index=1.45)


def _neighbour_counts(pos, d, rtol=1e-9):
    """Number of other sites within d (1 + rtol) of each site."""
    tree = cKDTree(pos)
    return np.array([len(tree.query_ball_point(p, d * (1 + rtol))) - 1 for p in pos])


# --------------------------------------------------------------------------- lattices
@pytest.mark.parametrize("build,z,per_cell", [(geo.square_lattice, 4, 1), (geo.triangular_lattice, 6, 1),
                                              (geo.honeycomb_lattice, 3, 2)],
                         ids=["square", "triangular", "honeycomb"])
def test_lattice_pitch_is_nearest_neighbour_distance_and_bulk_coordination(build, z, per_cell):
    """Oracle: lattice geometry. Every site's nearest neighbour is exactly ``pitch`` away; sites
    at least one pitch from the edges of the patch have z = 4 / 6 / 3 neighbours; none has more."""
    pitch = 1.7 * UM
    s = build(7, 6, pitch)
    assert s.n_sites == 7 * 6 * per_cell
    assert_allclose(s.nearest_neighbour_distances(), pitch, rtol=1e-12)
    counts = _neighbour_counts(s.positions, pitch)
    lo, hi = s.positions[:, :2].min(axis=0), s.positions[:, :2].max(axis=0)
    edge = np.minimum(s.positions[:, :2] - lo, hi - s.positions[:, :2]).min(axis=1)
    bulk = edge > 0.99 * pitch
    assert bulk.sum() >= 8
    assert np.all(counts[bulk] == z) and counts.max() == z
    assert np.all(s.positions[:, 2] == 0)
    assert_allclose(0.5 * (s.positions.max(axis=0) + s.positions.min(axis=0)), 0, atol=1e-20)  # centred


def test_lattice_index_order_and_origin():
    """Oracle: documented formulas (site j nx + i at (i, j) pitch; honeycomb B = A + (0, pitch))."""
    s = geo.square_lattice(3, 2, 1 * UM, center=False, origin=(0, 0, 2 * UM))
    assert_allclose(s.positions[4], [1 * UM, 1 * UM, 2 * UM])
    h = geo.honeycomb_lattice(2, 2, 1 * UM, center=False)
    assert_allclose(h.positions[1::2] - h.positions[0::2], [[0, 1 * UM, 0]] * 4, atol=1e-21)
    t = geo.triangular_lattice(2, 2, 1 * UM, center=False)
    assert_allclose(t.positions[2], [0.5 * UM, np.sqrt(3) / 2 * UM, 0])


# --------------------------------------------------------------------------- 1D builders
def test_ring_sites_on_circle_with_equal_chords_and_radial_polarization():
    """Oracle: circle geometry: |r - c| = R and neighbouring chords 2 R sin(pi/n); radial
    polarization parallel, azimuthal perpendicular to r - c (both in the plane, transverse to z)."""
    n, R, c = 7, 2.5 * UM, np.array([1 * UM, -2 * UM, 0.5 * UM])
    s = geo.ring(n, R, origin=c, polarization="radial")
    d = s.positions - c
    assert_allclose(np.linalg.norm(d, axis=1), R, rtol=1e-14)
    chords = np.linalg.norm(np.roll(s.positions, -1, axis=0) - s.positions, axis=1)
    assert_allclose(chords, 2 * R * np.sin(np.pi / n), rtol=1e-12)
    assert_allclose(np.cross(s.polarizations.real, d)[:, 2], 0, atol=1e-20)
    a = geo.ring(n, R, origin=c, polarization="azimuthal")
    assert_allclose(np.einsum("ij,ij->i", a.polarizations.real, d), 0, atol=1e-20)
    assert np.all(s.polarizations[:, 2] == 0)
    assert len(s.tweezers(1064e-9, waist=0.8 * UM)) == n  # transverse to z: accepted


def test_chain_phase_gradient_and_spacing():
    """Oracle: definition: site i at i spacing along the axis (centred), phase i * phase_gradient."""
    s = geo.chain(5, 2 * UM, axis="y", phase_gradient=np.pi / 4)
    assert_allclose(s.phases, np.pi / 4 * np.arange(5))
    assert_allclose(np.diff(np.angle(np.exp(1j * s.phases))), np.pi / 4)
    assert_allclose(s.positions[:, 1], (np.arange(5) - 2) * 2 * UM)
    assert np.all(s.positions[:, [0, 2]] == 0)
    t = geo.chain(3, 1 * UM, axis=(1, 1, 0), center=False, phases=[0, 1, 2])
    assert_allclose(t.positions[2], [np.sqrt(2) * UM, np.sqrt(2) * UM, 0])
    assert_array_equal(t.phases, [0, 1, 2])


def test_zigzag_and_dimerized_distances():
    """Oracle: definitions: zigzag neighbours sqrt(spacing^2 + offset^2) apart, next-nearest 2 spacing;
    dimerized chain alternates intra, inter."""
    z = geo.zigzag(6, 1 * UM, 0.75 * UM)
    steps = np.linalg.norm(np.diff(z.positions, axis=0), axis=1)
    assert_allclose(steps, 1.25 * UM, rtol=1e-12)
    assert_allclose(np.linalg.norm(z.positions[2:] - z.positions[:-2], axis=1), 2 * UM, rtol=1e-12)
    d = geo.dimerized_chain(4, 1 * UM, 3 * UM)
    assert d.n_sites == 8
    assert_allclose(np.diff(d.positions[:, 0]), [1 * UM, 3 * UM] * 3 + [1 * UM], rtol=1e-12)


# --------------------------------------------------------------------------- random
def test_random_array_min_distance_box_and_seed():
    """Oracle: the construction rule (all pairs >= min_distance, inside the box) and seeding
    (same seed -> identical array, another seed -> another array)."""
    box = np.array([8, 6, 0.0]) * UM
    a = geo.random_array(25, box, 1 * UM, seed=7)
    assert a.n_sites == 25 and a.nearest_neighbour_distances().min() >= 1 * UM
    assert np.all(np.abs(a.positions) <= box / 2)
    assert_array_equal(a.positions, geo.random_array(25, box, 1 * UM, seed=7).positions)
    assert not np.array_equal(a.positions, geo.random_array(25, box, 1 * UM, seed=8).positions)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert_array_equal(geo.random_array(4, box, 1 * UM, seed=g1).positions,
                       geo.random_array(4, box, 1 * UM, seed=g2).positions)


def test_random_array_that_cannot_fit_raises():
    """Oracle: packing bound: 10 sites 1 um apart cannot fit on a 1 um segment."""
    with pytest.raises(ValueError, match=r"placed only \d+ of n=10.*min_distance"):
        geo.random_array(10, (1 * UM, 0, 0), 1 * UM, seed=0, max_attempts=2000)


# --------------------------------------------------------------------------- CSV
def test_csv_round_trip_is_exact(tmp_path):
    """Oracle: the array itself: to_csv then from_csv returns identical positions, phases, powers,
    complex polarizations."""
    s = geo.honeycomb_lattice(2, 2, 1.1 * UM, phases=np.linspace(0, 1, 8) / 3, powers=np.linspace(0.1, 0.3, 8),
                              polarization=(1, 0.5j - 1 / 3, 0))
    f = s.to_csv(tmp_path / "honey.csv")
    assert f.read_text().splitlines()[0] == "x_m,y_m,z_m,phase_rad,power_W,pol_x,pol_y,pol_z"
    r = geo.from_csv(f)
    assert r.name == "honey"
    for key in ("positions", "phases", "powers", "polarizations"):
        assert_array_equal(getattr(r, key), getattr(s, key))


def test_csv_bare_header_defaults_and_errors(tmp_path):
    """Oracle: the documented format: x, y, z required, SI, comments skipped, defaults filled,
    unknown columns and ragged rows rejected with file/line/column named."""
    f = tmp_path / "s.csv"
    f.write_text("# traps\n X , y_m, Z,power\n0,0,0,0.2\n\n1e-6,0,0,0.3\n")
    s = geo.from_csv(f, polarization=(1, 0, 0))
    assert_array_equal(s.powers, [0.2, 0.3]) and assert_array_equal(s.phases, [0, 0])
    assert_array_equal(s.polarizations, [[1, 0, 0]] * 2)
    f.write_text("x_um,y,z\n0,0,0\n")
    with pytest.raises(ValueError, match="x_um"):
        geo.from_csv(f)
    f.write_text("x,y,z\n0,0,0\n1,0\n")
    with pytest.raises(ValueError, match="line 3"):
        geo.from_csv(f)
    f.write_text("x,y,z,pol_x\n0,0,0,1\n")
    with pytest.raises(ValueError, match="pol_x, pol_y, pol_z"):
        geo.from_csv(f)
    with pytest.raises(ValueError, match="path"):
        geo.from_csv(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- scene / tweezers
def test_scene_has_one_tweezer_per_site_focused_there():
    """Oracle: the Scene and GaussianTweezer constructors: N particles at the sites, N tweezers whose
    foci, phases, powers and polarizations are the site values."""
    s = geo.triangular_lattice(3, 2, 2 * UM, phases=np.arange(6) * 0.1, powers=np.linspace(0.1, 0.2, 6))
    scene = s.scene(PARTICLE, 1064e-9, na=0.7, medium=cd.Medium(index=1.33))
    beams = scene.illumination.beams
    assert scene.n_particles == len(beams) == 6 and scene.n_medium == 1.33
    assert_array_equal(scene.positions, s.positions)
    assert_array_equal([b.focus for b in beams], s.positions)
    assert_array_equal([b.phase for b in beams], s.phases)
    assert_array_equal([b.power for b in beams], s.powers)
    assert all(b.na == 0.7 and b.polarization == (0j, 1 + 0j, 0j) for b in beams)


# --------------------------------------------------------------------------- bad input
BAD = [
    ("n-zero", lambda: geo.chain(0, UM), "n must be an integer >= 1, got 0"),
    ("n-bool", lambda: geo.ring(True, UM), "n must be an integer"),
    ("spacing-negative", lambda: geo.chain(3, -UM), "spacing"),
    ("pitch-nan", lambda: geo.square_lattice(2, 2, float("nan")), "pitch"),
    ("nx-float", lambda: geo.honeycomb_lattice(2.5, 2, UM), "nx"),
    ("phases-wrong-length", lambda: geo.chain(3, UM, phases=[0, 1]), r"phases must be a scalar or have shape \(3,\)"),
    ("powers-wrong-length", lambda: geo.square_lattice(2, 2, UM, powers=[0.1] * 3), "powers"),
    ("power-negative", lambda: geo.chain(2, UM, power=-0.1), "power"),
    ("power-and-powers", lambda: geo.chain(2, UM, power=0.1, powers=0.2), "power or powers"),
    ("phases-and-gradient", lambda: geo.chain(2, UM, phases=0.0, phase_gradient=1.0), "phase_gradient"),
    ("polarization-wrong-shape", lambda: geo.chain(3, UM, polarization=[[1, 0, 0]] * 2), "polarizations"),
    ("polarization-zero", lambda: geo.chain(2, UM, polarization=(0, 0, 0)), "polarizations"),
    ("ring-polarization-name", lambda: geo.ring(4, UM, polarization="spiral"), "'spiral'"),
    ("axis-name", lambda: geo.chain(2, UM, axis="w"), "axis"),
    ("zigzag-parallel", lambda: geo.zigzag(4, UM, UM, axis="x", offset_axis="x"), "offset_axis"),
    ("origin-short", lambda: geo.chain(2, UM, origin=(0, 0)), "origin"),
    ("box-negative", lambda: geo.random_array(3, (-UM, UM, 0), UM, seed=0), "box"),
    ("min-distance-zero", lambda: geo.random_array(3, (UM, UM, 0), 0, seed=0), "min_distance"),
    ("seed-negative", lambda: geo.random_array(3, (UM, UM, 0), UM, seed=-1), "seed"),
    ("coincident", lambda: geo.SiteArray([[0, 0, 0], [0, 0, 0]]), "coincide"),
    ("positions-nan", lambda: geo.SiteArray([[0, 0, 0], [np.nan, 0, 0]]), r"positions\[1\]"),
    ("waist-and-na", lambda: geo.chain(2, UM).tweezers(1064e-9, waist=UM, na=0.5), "waist"),
    ("wavelength", lambda: geo.chain(2, UM).tweezers(-1.0, waist=UM), "wavelength"),
    ("not-transverse", lambda: geo.chain(2, UM, polarization=(1, 0, 0)).tweezers(1e-6, waist=UM, direction=(1, 0, 0)),
     "site 0 .*polarization"),
]


@pytest.mark.parametrize("call,match", [(c, m) for _, c, m in BAD], ids=[b[0] for b in BAD])
def test_bad_input_raises_naming_the_argument(call, match):
    """Oracle: the error contract: ValueError whose message names the argument."""
    with pytest.raises(ValueError, match=match):
        call()


def test_unknown_keyword_is_a_type_error():
    """Oracle: Python's keyword contract (a typo is never silently ignored)."""
    with pytest.raises(TypeError, match="powr"):
        geo.square_lattice(2, 2, UM, powr=0.1)
    with pytest.raises(TypeError, match="center"):
        geo.ring(4, UM, center=False)


# --------------------------------------------------------------------------- config builders
def _cfg(geometry: dict) -> dict:
    return {"wavelength": "1064 nm", "particle": {"radius": "50 nm", "index": 1.45}, "geometry": geometry,
            "tweezers": {"power": "100 mW", "waist": "0.8 um"}}


CONFIG_CASES = [
    ({"builder": "chain", "n": 5, "spacing": "2 um", "axis": "z"}, lambda: geo.chain(5, 2 * UM, axis="z")),
    ({"builder": "ring", "n": 6, "radius": "3 um", "start_angle": "30 deg", "origin": ["1 um", 0, 0]},
     lambda: geo.ring(6, 3 * UM, start_angle=np.pi / 6, origin=(1 * UM, 0, 0))),
    ({"builder": "zigzag", "n": 5, "spacing": "1.5 um", "offset": "800 nm", "offset_axis": "z"},
     lambda: geo.zigzag(5, 1.5 * UM, 0.8 * UM, offset_axis="z")),
    ({"builder": "dimerized", "n_cells": 3, "intra": "1.2 um", "inter": "2 um", "axis": [0, 1, 0]},
     lambda: geo.dimerized_chain(3, 1.2 * UM, 2 * UM, axis="y")),
    ({"builder": "square", "nx": 3, "ny": 2, "pitch": "2 um"}, lambda: geo.square_lattice(3, 2, 2 * UM)),
    ({"builder": "triangular", "nx": 3, "ny": 3, "pitch": "2 um"}, lambda: geo.triangular_lattice(3, 3, 2 * UM)),
    ({"builder": "honeycomb", "nx": 2, "ny": 2, "pitch": "1.5 um"}, lambda: geo.honeycomb_lattice(2, 2, 1.5 * UM)),
    ({"builder": "random", "n": 6, "box": ["10 um", "10 um", 0], "min_distance": "1.5 um", "seed": 4},
     lambda: geo.random_array(6, (10 * UM, 10 * UM, 0), 1.5 * UM, seed=4)),
]


@pytest.mark.parametrize("geometry,python", CONFIG_CASES, ids=[c[0]["builder"] for c in CONFIG_CASES])
def test_config_builder_matches_python_builder(geometry, python):
    """Oracle: the Python builder with the same arguments in SI (unit strings converted)."""
    scene, _ = scene_from_config(_cfg(geometry))
    assert_allclose(scene.positions, python().positions, rtol=1e-14, atol=1e-21)


def test_config_chain_keeps_previous_positions():
    """Oracle: the formula of the original config chain builder, (i - (n - 1)/2) spacing."""
    scene, _ = scene_from_config(_cfg({"builder": "chain", "n": 4, "spacing": "1 um"}))
    assert_array_equal(scene.positions[:, 0], (np.arange(4) - 1.5) * 1e-6)


def test_config_scene_equals_python_scene():
    """Oracle: SiteArray.scene on the same sites and tweezer settings: identical incident fields."""
    scene, _ = scene_from_config(_cfg({"builder": "square", "nx": 2, "ny": 2, "pitch": "2 um"}))
    py = geo.square_lattice(2, 2, 2 * UM, power=0.1, polarization=(1, 0, 0)).scene(PARTICLE, 1064e-9, waist=0.8 * UM)
    assert_array_equal(scene.incident_fields()[0], py.incident_fields()[0])


def test_config_csv_path_is_relative_to_the_config_file(tmp_path):
    """Oracle: from_csv on the same file; a CSV with tweezer columns is refused, not half-read."""
    geo.chain(3, 2 * UM).to_csv(tmp_path / "full.csv")
    (tmp_path / "xyz.csv").write_text("x_m,y_m,z_m\n0,0,0\n2e-6,0,0\n0,2e-6,0\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('wavelength = "1064 nm"\n[particle]\nradius = "50 nm"\nindex = 1.45\n'
                   '[geometry]\nbuilder = "csv"\npath = "xyz.csv"\n[tweezers]\npower = "0.1 W"\nwaist = "0.8 um"\n')
    scene, _ = scene_from_config(cfg)
    assert_array_equal(scene.positions, geo.from_csv(tmp_path / "xyz.csv").positions)
    cfg.write_text(cfg.read_text().replace("xyz.csv", "full.csv"))
    with pytest.raises(ConfigError, match="geometry.path.*phase, pol_x"):
        scene_from_config(cfg)


@pytest.mark.parametrize("geometry,key", [
    ({"builder": "ring", "n": 4, "radius": "1 um", "spacing": "1 um"}, "geometry.spacing"),
    ({"builder": "square", "nx": 2, "pitch": "1 um"}, "geometry.ny"),
    ({"builder": "random", "n": 3, "box": ["5 um", "5 um", 0], "min_distance": "1 um"}, "geometry.seed"),
    ({"builder": "honeycomb", "nx": 2, "ny": 2, "pitch": "-1 um"}, "geometry.pitch"),
    ({"builder": "triangular", "nx": 2, "ny": 2, "pitch": "1 mW"}, "geometry.pitch"),
    ({"builder": "zigzag", "n": 0, "spacing": "1 um", "offset": "1 um"}, "geometry.n"),
    ({"builder": "chain", "n": 2, "spacing": "1 um", "axis": "q"}, "geometry.axis"),
    ({"builder": "random", "n": 9, "box": ["1 um", 0, 0], "min_distance": "1 um", "seed": 1}, "builder = 'random'"),
    ({"builder": "spiral"}, "builder"),
    ({"positions": [[0, 0, 0]], "n": 3}, "geometry.n"),
    ({"builder": "chain", "n": 2, "spacing": "1 um", "colour": 1}, "geometry.colour"),
])
def test_config_geometry_errors_name_the_key(geometry, key):
    """Oracle: the config error contract: ConfigError naming the key."""
    with pytest.raises(ConfigError, match=key):
        scene_from_config(_cfg(geometry))


def test_config_geometry_keys_are_the_builder_keys():
    """Oracle: the builder table: the allowed [geometry] keys are exactly the builders' keys."""
    keys = {k for req, opt in _GEOMETRY_BUILDERS.values() for k in req + opt}
    assert _ALLOWED["geometry"] == keys | {"positions", "builder", "origin"}


@pytest.mark.parametrize("name,n", [("ring", 8), ("square_lattice", 16), ("dimerized_chain", 12)])
def test_example_geometries_build(name, n):
    """Oracle: the comments of the example files (particle counts; all < 40)."""
    scene, _ = scene_from_config(Path(__file__).parent.parent / "geometries" / f"{name}.toml")
    assert scene.n_particles == n < 40
