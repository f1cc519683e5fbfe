"""Reference force tables (cdsolve.workflow.reference_tables): schema, errors, and the shipped MiePy example.

Oracle for the example: cdsolve.workflow.gmmt_reference.compare_with_reference on the original MiePy (GMMT)
JSON (the numbers of the validation report, validation/pairs_vs_gmmt.py); the table is a conversion of that
JSON by validation/generate_gmmt_table.py, so the per-row errors must be the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.workflow.gmmt_reference import compare_with_reference, load_reference
from cdsolve.workflow.reference_tables import TableError, compare_table, read_table, write_table

ROOT = Path(__file__).parent.parent / "validation"
TABLE = ROOT / "reference_tables" / "gmmt_silica_pair.csv"
CONFIG = ROOT / "reference_tables" / "gmmt_silica_pair.toml"


@pytest.fixture(scope="module")
def example():
    return compare_table(read_table(TABLE), CONFIG)


def test_example_reproduces_gmmt_validation_numbers(example):
    gmmt = compare_with_reference(load_reference(ROOT / "reference_data" / "silica_pair_perpendicular.json"))
    ref = next(r for r in gmmt if r["name"] == "x_polarized_parallel_to_axis")
    # same definitions, same scenes: equal to round-off (positions pass through nm in the CSV)
    assert_allclose(example.total_err, ref["total_err"], rtol=1e-9)
    assert_allclose(example.interaction_err, ref["interaction_err"], rtol=1e-9)
    assert_allclose(example.interaction_axis_err[:, ref["axis"]], ref["axis_err"], rtol=1e-9)
    assert_allclose(example.table.parameters["separation"], ref["parameter"], rtol=1e-12)
    # and the numbers of the validation report (validation/output/pairs_vs_gmmt.json): 0.71 % and 0.19 %
    assert_allclose(example.total_err.max(), 0.0070698513501673095, rtol=1e-6)
    assert_allclose(example.interaction_axis_err[:, 0].max(), 0.0018524323210116636, rtol=1e-6)
    # the dipole-validity estimate sits beside every row and bounds the measured error (calibrated factor ~2)
    assert example.validity.shape == (41,) and np.all(example.validity > 0.5 * example.total_err)


def test_report_and_plot(example, tmp_path):
    md = example.markdown()
    assert "validity estimate" in md and md.count("\n| ") >= 41 + 1  # header + one line per row
    assert "sha256" in md  # the table's provenance comments are carried into the report
    s = example.summary()
    json.dumps(s)  # strict JSON
    assert s["rows"] == 41 and len(s["per_row"]["validity_estimate"]) == 41
    example.plot(tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 10_000


def test_json_table_and_round_trip(tmp_path, rng):
    pos = rng.normal(size=(3, 2, 3)) * 1e-6
    F = rng.normal(size=(3, 2, 3)) * 1e-15
    p = write_table(tmp_path / "t.csv", pos, F, length_unit="um", force_unit="fN", labels=["a", "b", "c"],
                    comments=["made by a test"])
    t = read_table(p)
    assert_allclose(t.positions, pos, rtol=1e-15)  # repr in um then x 1e-6: round-off only
    assert_allclose(t.forces, F, rtol=1e-15)
    assert t.labels == ["a", "b", "c"] and "made by a test" in t.comments
    doc = {"schema": "cdsolve-reference-table/1", "comments": ["json"],
           "columns": ["x0 [nm]", "y0 [nm]", "z0 [nm]", "Fx0 [pN]", "Fy0 [pN]", "Fz0 [pN]", "set:wavelength [nm]"],
           "rows": [[1, 2, 3, 4, 5, 6, 1064]]}
    (tmp_path / "t.json").write_text(json.dumps(doc))
    t = read_table(tmp_path / "t.json")
    assert_allclose(t.positions[0, 0], [1e-9, 2e-9, 3e-9], rtol=1e-15)
    assert_allclose(t.forces[0, 0], [4e-12, 5e-12, 6e-12], rtol=1e-15)
    assert_allclose(t.settings["wavelength"], [1.064e-6], rtol=1e-15)


def test_set_columns_rebuild_the_scene(tmp_path):
    """A ``set:`` column changes the config per row: the amplitude squared scales every force (oracle:
    forces are quadratic in the field), so a table made at 1 V/m compared at 2 V/m is off by a factor 4."""
    lines = TABLE.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if not line.startswith("#"))
    (tmp_path / "one.csv").write_text("\n".join(lines[: i + 4]) + "\n")  # the first 3 rows
    lines[i] = "set:plane_waves.0.amplitude [V/m]," + lines[i]
    for k in range(i + 1, i + 4):
        lines[k] = "2," + lines[k]
    (tmp_path / "amp.csv").write_text("\n".join(lines[: i + 4]) + "\n")
    c = compare_table(read_table(tmp_path / "amp.csv"), CONFIG)
    assert_allclose(c.forces, 4 * compare_table(read_table(tmp_path / "one.csv"), CONFIG).forces, rtol=1e-12)


def _csv(tmp_path, header, row, name="bad.csv"):
    p = tmp_path / name
    p.write_text(header + "\n" + row + "\n")
    return p


@pytest.mark.parametrize("header, row, match", [
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N]", "1,2,3,4,5", r"missing column 'Fz0"),
    ("x0 [nm],y0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,4,5,6", r"missing column 'z0"),
    ("x0 [nm],y0 [nm],z0 [N],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,5,6", r"column 'z0 \[N\]'.*expected a length"),
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [nm],Fy0 [N],Fz0 [N]", "1,2,3,4,5,6", r"Fx0 \[nm\].*expected a force"),
    ("x0,y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,5,6", r"column 'x0'.*needs a unit"),
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N],Fq0 [N]", "1,2,3,4,5,6,7", r"unknown column 'Fq0"),
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,nan,6", r"row 1, column 'Fy0 \[N\]'"),
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,5", r"row 1: expected 6 values"),
    ("x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N],Fx0_iso [N]", "1,2,3,4,5,6,7", r"missing column 'Fy0_iso"),
    ("x0 [parsec],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,5,6", r"x0 \[parsec\]"),
])
def test_bad_tables_are_named(tmp_path, header, row, match):
    with pytest.raises(TableError, match=match):
        read_table(_csv(tmp_path, header, row))


def test_table_config_mismatch(tmp_path):
    p = _csv(tmp_path, "x0 [nm],y0 [nm],z0 [nm],Fx0 [N],Fy0 [N],Fz0 [N]", "1,2,3,4,5,6")
    with pytest.raises(TableError, match="1 particles but config .* has 2"):
        compare_table(read_table(p), CONFIG)
    with pytest.raises(TableError, match="expected a .csv or .json"):
        read_table(tmp_path / "table.txt")
