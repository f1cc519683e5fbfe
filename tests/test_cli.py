"""Config files and the command line.

Oracles: the Python API on the same scene (the CLI must agree bit-for-bit), and a table of bad
configs that must each give a one-line error naming the key, with no output directory written.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import cdsolve as cd
from conftest import PAIR_CONFIG
from cdsolve.workflow.config import ConfigError, parse_quantity, scene_from_config

GEOMETRIES = sorted((Path(__file__).parent.parent / "geometries").glob("*.toml"))

GOOD = PAIR_CONFIG


def test_geometries_exist():
    assert len(GEOMETRIES) >= 3


@pytest.mark.parametrize("path", GEOMETRIES, ids=[p.stem for p in GEOMETRIES])
def test_cli_on_every_geometry_agrees_with_api(path, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "cdsolve", "run", str(path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("summary.json", "results.npz", "results.mat", "forces.png", "report.md"):
        assert (out / name).is_file()
    scene, opts = scene_from_config(path)
    sol = cd.solve(scene, **opts)
    with np.load(out / "results.npz") as data:
        assert_array_equal(data["forces"], sol.forces())  # same code path: identical numbers
        assert_array_equal(data["interaction_forces"], sol.forces() - sol.isolated_forces())
    from cdsolve.workflow.io import read_results

    for ext in ("npz", "mat") + (("h5",) if (out / "results.h5").exists() else ()):
        arrays, units, _ = read_results(out / f"results.{ext}")
        assert_array_equal(arrays["forces"].reshape(-1, 3), sol.forces())
        assert units["forces"] == "N"
    summary = json.loads((out / "summary.json").read_text())
    assert np.allclose(summary["forces_N"], sol.forces(), rtol=1e-15, atol=0)
    if "own_tweezer_forces_N" in summary:  # oracle: cdsolve.decompose_forces on the same scene
        dec = cd.decompose_forces(scene, **opts)
        assert_array_equal(summary["own_tweezer_forces_N"], dec.own_tweezer)
        assert np.allclose(summary["array_forces_N"], dec.array, rtol=1e-12, atol=1e-12 * np.abs(dec.total).max())


def test_cli_without_config_runs_bundled_example(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cdsolve", "run", "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "summary.json").is_file()


def _with(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


BAD = [
    ("missing-wavelength", GOOD.replace('wavelength = "1064 nm"', ""), "wavelength"),
    ("zero-wavelength", _with(GOOD, '"1064 nm"', "0"), "wavelength"),
    ("wavelength-wrong-unit", _with(GOOD, '"1064 nm"', '"1064 mW"'), "wavelength"),
    ("unknown-top-key", "colour = 'red'\n" + GOOD, "colour"),
    ("unknown-tweezer-key", GOOD + "\ncolour = 'red'\n", "tweezers.colour"),
    ("unknown-particle-key", _with(GOOD, "index = 1.45", "index = 1.45\nradus = 3"), "particle.radus"),
    ("negative-radius", _with(GOOD, '"50 nm"', '"-50 nm"'), "radius"),
    ("missing-radius", _with(GOOD, 'radius = "50 nm"\n', ""), "particle.radius"),
    ("gain-index", _with(GOOD, "index = 1.45", 'index = "1.45-0.1i"'), "gain"),
    ("bad-complex", _with(GOOD, "index = 1.45", 'index = "glass"'), "particle.index"),
    ("unknown-material", _with(GOOD, "index = 1.45", 'material = "unobtainium"'), "particle.material"),
    ("overlap", _with(GOOD, '["-0.5 um", 0, 0], ["0.5 um", 0, 0]', '[0, 0, 0], ["60 nm", 0, 0]'), "overlap"),
    ("nan-position", _with(GOOD, '["0.5 um", 0, 0]', '[nan, 0, 0]'), "positions"),
    ("short-position", _with(GOOD, '["0.5 um", 0, 0]', '["0.5 um", 0]'), "geometry.positions[1]"),
    ("bad-unit", _with(GOOD, '"0.5 um"', '"0.5 parsec"'), "geometry.positions[1][0]"),
    ("zero-power", _with(GOOD, '"100 mW"', '"0 mW"'), "power"),
    ("power-as-length", _with(GOOD, '"100 mW"', '"100 nm"'), "tweezers.power"),
    ("phases-length", _with(GOOD, 'waist = "0.8 um"', 'waist = "0.8 um"\nphases = [0]'), "tweezers.phases"),
    ("longitudinal-polarization", _with(GOOD, 'waist = "0.8 um"', 'waist = "0.8 um"\npolarization = [0, 0, 1]'),
     "transverse"),
    ("no-illumination", GOOD.split("[tweezers]")[0], "illumination"),
    ("unknown-builder", _with(GOOD, 'positions = [["-0.5 um", 0, 0], ["0.5 um", 0, 0]]', 'builder = "spiral"'),
     "builder"),
    ("bad-solve-method", GOOD + '\n[solve]\nmethod = "magic"\n', "solve.method"),
    ("negative-medium-index", GOOD + "\n[medium]\nindex = -1\n", "medium.index"),
    ("toml-syntax", GOOD + "\n[broken\n", "invalid TOML"),
    ("particle-kind", _with(GOOD, "index = 1.45", 'index = 1.45\nkind = "cube"'), "particle.kind"),
    ("tweezer-model", GOOD + 'model = "bessel"\n', "tweezers.model"),
    ("filling-factor-gaussian", GOOD + "filling_factor = 1.0\n", "tweezers.filling_factor"),
    ("focused-with-waist", GOOD + 'model = "focused"\n', "tweezers"),
    ("focused-na-above-index", _with(GOOD, 'waist = "0.8 um"', 'na = 1.2\nmodel = "focused"'), "na"),
    ("coherent-not-bool", GOOD + 'coherent = "no"\n', "tweezers.coherent"),
    ("casimir-negative-temperature", GOOD.replace("[tweezers]", '[casimir]\ntemperature = "-3 K"\n[tweezers]'),
     "casimir.temperature"),
    ("casimir-unknown-key", GOOD.replace("[tweezers]", '[casimir]\ntemperature = "300 K"\nt = 1\n[tweezers]'),
     "casimir.t"),
    ("incoherent-with-plane-wave", GOOD + 'coherent = false\n[[plane_waves]]\nintensity = "1 mW/um^2"\n',
     "tweezers.coherent"),
]


def test_casimir_section_builds_the_scene_setting(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(GOOD.replace("[tweezers]", '[casimir]\ntemperature = "300 K"\nmethod = "many-body"\n[tweezers]'))
    scene, _ = scene_from_config(cfg)
    from cdsolve.optics.casimir import CasimirPolder

    assert scene.casimir == CasimirPolder(temperature=300.0, method="many-body")


def test_focused_incoherent_tweezers_from_config_equal_the_api(tmp_path):
    """Oracle: the same scene built in Python (FocusedBeam per site, IncoherentBeams of them)."""
    cfg = tmp_path / "f.toml"
    cfg.write_text(_with(GOOD, 'waist = "0.8 um"', 'na = 0.9\nmodel = "focused"\ncoherent = false'))
    scene, opts = scene_from_config(cfg)
    beams = tuple(cd.FocusedBeam(wavelength=1064e-9, na=0.9, power=0.1, focus=(x, 0, 0)) for x in (-0.5e-6, 0.5e-6))
    ref = cd.Scene(positions=[[-0.5e-6, 0, 0], [0.5e-6, 0, 0]], particles=cd.Sphere(radius=50e-9, index=1.45),
                   illumination=cd.IncoherentBeams(groups=beams))
    F, F_ref = cd.solve(scene, **opts).forces(), cd.solve(ref).forces()
    # complex (config) vs real (API) polarization tuples: same numbers up to round-off
    np.testing.assert_allclose(F, F_ref, rtol=1e-13, atol=1e-13 * np.abs(F_ref).max())



@pytest.mark.parametrize("text,key", [(t, k) for _, t, k in BAD], ids=[n for n, _, _ in BAD])
def test_bad_config_gives_one_line_error_naming_the_key(text, key, tmp_path, capsys):
    """In-process through ``main`` (the same entry point as the console script; a subprocess per case
    would only add interpreter start-up time)."""
    from cdsolve.workflow.cli import main

    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert key in err, err
    assert "bad.toml" in err
    assert not out.exists()


def test_api_errors_are_config_errors(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(_with(GOOD, '"50 nm"', '"-1 nm"'))
    with pytest.raises(ConfigError, match="radius"):
        scene_from_config(cfg)


@pytest.mark.parametrize("text,kind,value", [
    ("1064 nm", "length", 1064e-9), ("1.064 um", "length", 1.064e-6), ("300 mW", "power", 0.3),
    ("1.3 mW/um^2", "intensity", 1.3e9), ("2200 kg/m^3", "density", 2200.0), ("0.25 pi", "angle", np.pi / 4),
    ("90 deg", "angle", np.pi / 2), ("pi", "angle", np.pi), (5, None, 5.0),
])
def test_parse_quantity(text, kind, value):
    assert np.isclose(parse_quantity(text, kind), value, rtol=1e-14)


def test_validity_warning_becomes_a_note_and_is_kept_in_the_outputs(tmp_path):
    """104 nm silica at 1064 nm is outside the 1 % range (estimated 2.2 %): one clean note line, no Python
    warning text, and the same message in summary.json and report.md (oracle: cd.dipole_validity)."""
    path = Path(__file__).parent.parent / "geometries" / "science2022_pair.toml"
    out = tmp_path / "o"
    proc = subprocess.run([sys.executable, "-m", "cdsolve", "run", str(path), "-o", str(out), "--no-plots"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "DipoleValidityWarning" not in proc.stderr
    notes = [ln for ln in proc.stdout.splitlines() if ln.startswith("note: ")]
    scene, _ = scene_from_config(path)
    assert notes == ["note: " + cd.dipole_validity(scene).message()]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dipole_validity"] == cd.dipole_validity(scene).message()
    assert summary["dipole_validity"] in (out / "report.md").read_text()
