"""The config schema (cdsolve.workflow.config.SCHEMA): one definition for the parser and docs/config.md.

Oracles: the committed docs/config.md (must equal the generated text), the Python signatures of the
geometry builders, closed-form particle masses (density * 4/3 pi r^3), the scene built from the same
file (for parsed_config), and tables of bad configs that must each fail with a one-line ConfigError
naming the file and the key.
"""

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.workflow import geometry as geo
from conftest import config_with
from cdsolve.workflow.config import (
    DEFAULTS,
    SCHEMA,
    ConfigError,
    config_reference_markdown,
    example_config,
    key_dimension,
    linearize_options,
    load_config,
    parsed_config,
    scene_from_config,
)

ROOT = Path(__file__).resolve().parents[1]
GEOMETRIES = sorted((ROOT / "geometries").glob("*.toml")) + [example_config()]
SECTIONS = {s.name: s for s in SCHEMA}
REGENERATE = ("python -c \"from cdsolve.workflow.config import config_reference_markdown as g; "
              "open('docs/config.md', 'w').write(g())\"")

BASE = {
    "_source": "run.toml",
    "wavelength": "1064 nm",
    "particle": {"radius": "50 nm", "index": 1.45, "density": "2200 kg/m^3"},
    "geometry": {"positions": [["-1 um", 0, 0], ["1 um", 0, 0]]},
    "tweezers": {"power": "100 mW", "waist": "0.8 um"},
}


def _cfg(**sections) -> dict:
    return config_with(BASE, **sections)


def _error(cfg) -> str:
    with pytest.raises(ConfigError) as info:
        scene_from_config(cfg)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1, msg
    assert msg.startswith("run.toml: "), msg
    return msg


# ----------------------------------------------------------------------------- docs
def test_committed_docs_equal_the_generated_reference():
    """Oracle: the committed file; it must not drift from the schema."""
    committed = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == config_reference_markdown(), f"docs/config.md is stale; regenerate it with: {REGENERATE}"


def test_reference_documents_every_key_and_default():
    text = config_reference_markdown()
    for sec in SCHEMA:
        for key in sec.keys:
            if key.type not in ("table", "tables"):
                assert f"| `{key.name}` |" in text, (sec.name, key.name)
    assert DEFAULTS["tweezers.coherent"] is True and "| `coherent` | boolean | `true` |" in text


# ----------------------------------------------------------------------------- schema vs code
@pytest.mark.parametrize("builder,function", [
    ("chain", geo.chain), ("ring", geo.ring), ("zigzag", geo.zigzag), ("dimerized", geo.dimerized_chain),
    ("square", geo.square_lattice), ("triangular", geo.triangular_lattice), ("honeycomb", geo.honeycomb_lattice),
    ("random", geo.random_array)])
def test_geometry_keys_are_the_builder_arguments(builder, function):
    """Oracle: the Python builder's signature: every schema key is an argument, every argument without
    a default is required in the schema, and schema defaults equal the builder's defaults."""
    params = inspect.signature(function).parameters
    keys = [k for k in SECTIONS["geometry"].keys if builder in k.only]
    for k in keys:
        assert k.name in params, (builder, k.name)
        if k.default is not None:
            assert params[k.name].default == k.default, (builder, k.name)
    required = {k.name for k in keys if k.required}
    no_default = {n for n, p in params.items() if p.default is inspect.Parameter.empty and p.kind != p.VAR_KEYWORD}
    assert no_default <= required


def test_every_section_refuses_unknown_keys():
    for sec in SCHEMA:
        if sec.name in ("", "plane_waves"):
            continue
        cfg = _cfg()
        cfg.setdefault(sec.name, {})
        if sec.name == "casimir":
            cfg["casimir"]["temperature"] = "300 K"
        cfg[sec.name]["colour"] = "red"
        msg = _error(cfg)
        assert f"unknown key '{sec.name}.colour'" in msg
    assert "unknown key 'colour'" in _error({**_cfg(), "colour": 1})
    assert "unknown key 'plane_waves[0].colour'" in _error(_cfg(plane_waves=[{"intensity": 1.0, "colour": 1}]))
    assert "did you mean 'radius'" in _error(_cfg(particle={**BASE["particle"], "radus": "1 nm"}))


#: a valid value of every key in a conflict group (given together, they must conflict)
SAMPLE = {"power": "1 mW", "powers": ["1 mW", "2 mW"], "phase": 0.1, "phases": [0, 1], "phase_gradient": 0.2,
          "waist": "1 um", "na": 0.5, "index": 1.45, "material": "fused_silica", "density": "2 g/cm^3",
          "mass": "1 fg", "intensity": "1 mW/um^2", "amplitude": 1.0}


@pytest.mark.parametrize("section,group", [(s.name, g) for s in SCHEMA for g in s.conflicts if s.name])
def test_conflicting_keys_are_named_errors(section, group):
    """Oracle: the schema's conflict groups; e.g. 'phase' beside 'phases' was silently ignored."""
    a, b = group
    cfg = _cfg()
    if section == "plane_waves":
        cfg["plane_waves"] = [{a: SAMPLE[a], b: SAMPLE[b]}]
    else:
        table = {k: v for k, v in cfg[section].items() if k not in (a, b) + group}
        if section == "particle":
            table.pop("density", None)
        cfg[section] = {**table, a: SAMPLE[a], b: SAMPLE[b]}
    msg = _error(cfg)
    assert "conflicts with" in msg and a in msg and b in msg


def test_particle_and_particles_conflict():
    assert "particles: conflicts with 'particle'" in _error({**_cfg(), "particles": [BASE["particle"]] * 2})


# ----------------------------------------------------------------------------- findings of issue 15
@pytest.mark.parametrize("section,key,value,fragment", [
    ("tweezers", "na", "0.5 um", "tweezers.na: expected a plain number"),
    ("particle", "allow_gain", "false", "particle.allow_gain: expected true or false"),
    ("particle", "allow_gain", 0, "particle.allow_gain: expected true or false"),
    ("tweezers", "coherent", "true", "tweezers.coherent: expected true or false"),
    ("tweezers", "power", "3 nm", 'tweezers.power: expected a power (e.g. "300 mW"), got "3 nm"'),
    ("tweezers", "phase", "1 nm", "tweezers.phase: expected an angle"),
    ("tweezers", "phase_gradient", "2", None),  # a plain number is an angle in rad: accepted
    ("tweezers", "direction", [0, 0, "1 m"], "tweezers.direction[2]: expected a plain number"),
    ("tweezers", "polarization", "radial", "only for model = \"focused\""),
    ("particle", "index", "1.45 nm", "particle.index: cannot parse complex number"),
    ("particle", "radius", "50 kg", "particle.radius: expected a length"),
    ("particle", "density", "2 g", "particle.density: expected a density"),
    ("particle", "condition", 2, "particle.condition: not a key of kind = \"sphere\""),
    ("particle", "kind", "cube", "particle.kind: expected one of"),
    ("geometry", "origin", ["1 um", 0, "1 rad"], "geometry.origin[2]: expected a length"),
    ("solve", "orders", 2.0, "solve.orders: expected an integer"),
    ("solve", "orders", True, "solve.orders: expected an integer"),
    ("solve", "orders", -2, "solve.orders: must be >= -1"),
    ("solve", "method", "magic", "solve.method: expected one of"),
    ("casimir", "temperature", "300 W", "casimir.temperature: expected a temperature"),
    ("casimir", "temperature", "-1 K", "casimir.temperature: must be >= 0"),
    ("casimir", "rtol", "1 um", "casimir.rtol: expected a plain number"),
])
def test_bad_values_are_named_errors(section, key, value, fragment):
    cfg = _cfg()
    cfg[section] = {**cfg.get(section, {}), key: value}
    if key == "na":
        cfg[section].pop("waist")
    if section == "casimir":
        cfg[section].setdefault("temperature", "300 K")
    if fragment is None:
        scene_from_config(cfg)
        return
    assert fragment in _error(cfg)


def test_medium_index_refuses_units():
    assert "medium.index: expected a plain number" in _error(_cfg(medium={"index": "1.33 nm"}))
    assert "medium.index: expected a plain number" in _error(_cfg(medium={"index": "1 rad"}))
    scene, _ = scene_from_config(_cfg(medium={"index": "1.33"}))  # a string holding a plain number is fine
    assert scene.n_medium == 1.33


def test_integer_keys_refuse_floats():
    assert "geometry.n: expected an integer" in _error(_cfg(geometry={"builder": "chain", "n": 2.0, "spacing": 1e-6}))
    assert "geometry.seed: expected an integer" in _error(_cfg(geometry={
        "builder": "random", "n": 2, "box": ["5 um", "5 um", 0], "min_distance": "1 um", "seed": 1.5}))


def test_geometry_needs_positions_or_a_builder():
    assert "geometry: give 'positions' or builder" in _error(_cfg(geometry={"origin": [0, 0, 0]}))
    assert "geometry.builder: conflicts with 'positions'" in _error(_cfg(geometry={
        "positions": [[0, 0, 0]], "builder": "chain"}))
    assert "geometry: missing section [geometry]" in _error(_cfg(geometry=None))
    assert 'wavelength: missing (e.g. "1064 nm")' in _error(_cfg(wavelength=None))


# ----------------------------------------------------------------------------- density for every kind
@pytest.mark.parametrize("particle", [
    {"kind": "sphere", "radius": "60 nm", "index": 1.45, "density": "2.2 g/cm^3"},
    {"kind": "kerker", "radius": "60 nm", "index": 3.5, "allow_gain": True, "condition": 2,
     "density": "2200 kg m^-3"},
    {"kind": "dipole", "alpha_e": "1e-33+1e-36i", "radius": "60 nm", "density": "2200 kg/m^3"},
], ids=["sphere", "kerker", "dipole"])
def test_density_gives_the_mass_for_every_kind(particle):
    """Oracle: m = density * 4/3 pi r^3 (r = 60 nm, density 2200 kg/m^3)."""
    scene, _ = scene_from_config(_cfg(particle=particle))
    # rtol 1e-12: exact inputs, a handful of floating-point roundings in the volume
    assert_allclose(scene.masses(), 2200.0 * 4 / 3 * math.pi * (60e-9) ** 3 * np.ones(2), rtol=1e-12, atol=0)


def test_dipole_density_needs_a_radius_and_kind_keys_are_checked():
    msg = _error(_cfg(particle={"kind": "dipole", "alpha_e": 1e-33, "density": "2200 kg/m^3"}))
    assert "particle.density: kind = 'dipole' needs a radius" in msg
    msg = _error(_cfg(particle={"kind": "dipole", "alpha_e": 1e-33, "index": 1.5}))
    assert 'particle.index: not a key of kind = "dipole"' in msg
    assert "particle.radius: missing" in _error(_cfg(particle={"kind": "kerker", "index": 3.5}))


def test_kerker_chain_file_has_masses():
    """The example geometry carries a density, so cdsolve run can write its linear model."""
    scene, _ = scene_from_config(ROOT / "geometries" / "kerker_chain.toml")
    assert_allclose(scene.masses(), 2330.0 * 4 / 3 * math.pi * (60e-9) ** 3, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- [linearize]
def test_linearize_defaults_and_values():
    assert linearize_options(_cfg()) == {"at": "equilibrium", "dofs": "xyz", "damping": 0.0}
    cases = [({"at": "positions", "dofs": "z", "damping": "2 kHz"}, {"at": "positions", "dofs": "z", "damping": 2e3}),
             ({"dofs": "xy", "damping": "100 1/s"}, {"at": "equilibrium", "dofs": "xy", "damping": 100.0}),
             ({"dofs": [0, 5, 2], "damping": 3}, {"at": "equilibrium", "dofs": [0, 5, 2], "damping": 3.0}),
             ({"damping": "1 /ms"}, {"at": "equilibrium", "dofs": "xyz", "damping": 1e3})]
    for table, expected in cases:
        assert linearize_options(_cfg(linearize=table)) == expected
        scene_from_config(_cfg(linearize=table))  # the same section is accepted by the scene parser


@pytest.mark.parametrize("table,fragment", [
    ({"dofs": [0.5]}, "linearize.dofs[0]: expected an integer"),
    ({"dofs": [-1]}, "linearize.dofs[0]: must be >= 0"),
    ({"dofs": [1, 1]}, "linearize.dofs: indices must be distinct"),
    ({"dofs": [6]}, "linearize.dofs: indices must be < 3 N = 6"),
    ({"dofs": []}, "linearize.dofs: expected a non-empty list"),
    ({"dofs": "xx"}, "linearize.dofs: expected distinct axes"),
    ({"dofs": "w"}, "linearize.dofs: expected distinct axes"),
    ({"damping": "1 nm"}, "linearize.damping: expected a rate"),
    ({"damping": "1 rad/s"}, "linearize.damping: expected a rate"),
    ({"damping": -1.0}, "linearize.damping: must be >= 0"),
    ({"at": "here"}, "linearize.at: expected one of"),
    ({"at": "positions", "colour": 1}, "unknown key 'linearize.colour'"),
])
def test_linearize_errors_name_the_key(table, fragment):
    with pytest.raises(ConfigError) as info:
        linearize_options(_cfg(linearize=table))
    assert str(info.value).startswith("run.toml: ") and fragment in str(info.value)
    assert fragment in _error(_cfg(linearize=table))  # cdsolve run fails before solving


def test_linearize_options_reads_a_file(tmp_path):
    path = tmp_path / "l.toml"
    path.write_text('wavelength = 1e-6\n[geometry]\npositions = [[0, 0, 0]]\n[linearize]\ndofs = [0, 2]\n')
    assert linearize_options(path) == {"at": "equilibrium", "dofs": [0, 2], "damping": 0.0}


# ----------------------------------------------------------------------------- parsed_config
@pytest.mark.parametrize("path", GEOMETRIES, ids=[p.stem for p in GEOMETRIES])
def test_parsed_config_is_json_and_agrees_with_the_scene(path):
    """Oracle: the scene built from the same file (wavelength, host index, sites, particle radius)."""
    parsed = json.loads(json.dumps(parsed_config(path)))  # JSON-serializable, unchanged by a round trip
    scene, opts = scene_from_config(path)
    assert parsed["wavelength"] == {"value": scene.wavelength, "unit": "m"}
    assert parsed["medium"]["index"]["value"] == scene.n_medium
    assert parsed["solve"]["orders"]["value"] == (-1 if opts["orders"] is None else opts["orders"])
    geom = parsed["geometry"]
    if "positions" in geom:
        assert geom["positions"]["unit"] == "m"
        assert_allclose(np.array(geom["positions"]["value"]) + geom["origin"]["value"], scene.positions,
                        rtol=0, atol=0)
    radius = parsed["particle"]["radius"]
    assert radius["unit"] == "m"
    p0 = scene.particles[0]
    assert radius["value"] == getattr(p0, "alpha_e", p0).radius
    for sec in parsed.values():  # sections are dicts (arrays of tables: lists of them) of annotated values
        for table in (sec if isinstance(sec, list) else [sec] if "value" not in sec else [{"top": sec}]):
            for entry in table.values():
                assert set(entry) <= {"value", "unit", "default"} and "unit" in entry


def test_parsed_config_units_defaults_and_complex():
    parsed = parsed_config(_cfg(particle={"radius": "50 nm", "index": "1.45+0.01i", "mass": "1 fg"},
                                tweezers={"power": "100 mW", "waist": "0.8 um", "phase_gradient": "0.25 pi"},
                                linearize={"damping": "1 kHz"}))
    assert parsed["particle"]["index"] == {"value": {"re": 1.45, "im": 0.01}, "unit": "1"}
    assert parsed["particle"]["mass"] == {"value": 1e-18, "unit": "kg"}
    assert parsed["particle"]["kind"] == {"value": "sphere", "unit": None, "default": True}
    assert parsed["tweezers"]["phase_gradient"] == {"value": math.pi / 4, "unit": "rad"}
    assert parsed["tweezers"]["phase"] == {"value": 0.0, "unit": "rad", "default": True}
    assert parsed["linearize"]["damping"] == {"value": 1e3, "unit": "1/s"}
    with pytest.raises(ConfigError, match="run.toml: tweezers.power: expected a power"):
        parsed_config(_cfg(tweezers={"power": "1 nm", "waist": "1 um"}))


def test_every_geometry_file_still_builds_and_keeps_its_values():
    """Oracle: the numbers written in the files, read by hand (these files are the CLI examples)."""
    for path in GEOMETRIES:
        cfg = load_config(path)
        scene, _ = scene_from_config(cfg)
        assert scene.wavelength == 1064e-9
        assert np.all(scene.masses() > 0)  # every example, kerker_chain included, has a density


def test_key_dimension_for_sweep_axes():
    """Oracle: the physical meaning of each key, written by hand."""
    assert key_dimension("wavelength") == ("length", "m")
    assert key_dimension("tweezers.phases[1]") == ("angle", "rad")
    assert key_dimension("tweezers.powers[0]") == ("power", "W")
    assert key_dimension("medium.index") == ("dimensionless", "1")
    assert key_dimension("particle.density") == ("density", "kg/m^3")
    assert key_dimension("plane_waves.intensity") == ("intensity", "W/m^2")
    assert key_dimension("linearize.damping") == ("rate", "1/s")
    assert key_dimension("geometry.start_angle") == ("angle", "rad")
    assert key_dimension("solve.orders") is None and key_dimension("particle.index") is None
    assert key_dimension("nothing.here") is None
