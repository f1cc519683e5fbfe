"""Parameter sweeps (cdsolve.workflow.sweep, ``cdsolve sweep``) and the validation runner (``cdsolve validate``).

Oracles: the per-scene Python API (``cd.solve`` + ``force_jacobian`` on a scene built by hand) for
the numbers of every grid point; two spellings of the same parameter (``phase`` vs
``tweezers.phases[1]``) must agree bit-for-bit; the three executors (serial, local processes, a
local Dask cluster) must give bit-identical arrays; files must round-trip exactly.
"""

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

xr = pytest.importorskip("xarray")
pytest.importorskip("tqdm")

import cdsolve as cd  # noqa: E402
from cdsolve.workflow import sweep as sw  # noqa: E402
from cdsolve.workflow.config import ConfigError, load_config, scene_from_config  # noqa: E402

ROOT = Path(__file__).parent.parent
PAIR = ROOT / "geometries" / "science2022_pair.toml"


def _identical(a, b):
    # identity of the same scenes computed in other processes: equal to round-off. Not bit-for-bit:
    # BLAS may split sums differently per process (measured 1.3e-14 relative with numpy 1.24 / OpenBLAS)
    assert set(a.data_vars) == set(b.data_vars)
    for v in a.data_vars:
        x, y = np.asarray(a[v].values), np.asarray(b[v].values)
        if np.issubdtype(x.dtype, np.number):
            scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 0.0
            assert_allclose(x, y, rtol=1e-13, atol=1e-13 * scale, equal_nan=True, err_msg=v)
        else:
            assert_array_equal(x, y, err_msg=v)


# ----------------------------------------------------------------------------- axes
def test_parse_axis_units_and_ranges():
    a = sw.parse_axis("phase=0:2pi:5")
    assert a.unit == "rad"
    assert_allclose(a.values, np.linspace(0, 2 * np.pi, 5), rtol=0, atol=0)  # exact: same linspace
    assert_array_equal(sw.parse_axis("distance=1um,1.5 um,2e-6").values, [1e-6, 1.5e-6, 2e-6])
    assert_array_equal(sw.parse_axis("power=100mW:300mW:3").values, np.linspace(0.1, 0.3, 3))
    assert sw.parse_axis("tweezers.phases[1]=0,pi").unit == "rad"
    assert sw.parse_axis("tweezers.phases[1]=0,pi").dim == "tweezers.phases_1"


@pytest.mark.parametrize("spec, match", [
    ("phse=0:1:3", "--vary phse: unknown parameter"),
    ("phase", "expected NAME=SPEC"),
    ("phase=0:1:x", "--vary phase: number of points must be an integer"),
    ("phase=0:1:0", "--vary phase: number of points must be >= 1"),
    ("phase=0:1", "--vary phase: expected start:stop:num"),
    ("distance=1 kg:2 kg:3", "distance"),
    ("phase=abc", "--vary phase"),
])
def test_parse_axis_errors_name_the_parameter(spec, match):
    with pytest.raises(ConfigError, match=match):
        sw.parse_axis(spec)


# ----------------------------------------------------------------------------- numbers
def test_phase_sweep_equals_per_scene_api():
    ds = sw.sweep(PAIR, {"phase": "0:pi:3"}, executor="serial", progress=False)
    cfg = load_config(PAIR)
    for i, phi in enumerate(np.linspace(0, np.pi, 3)):
        cfg["tweezers"]["phases"] = [0.0, float(phi)]
        scene, _ = scene_from_config(cfg)
        sol = cd.solve(scene)
        # batched vs per-scene solve: different LAPACK calls, same equations -> round-off (1e-9 rel.)
        assert_allclose(ds.forces.values[i], sol.forces(), rtol=1e-9, atol=1e-9 * np.abs(sol.forces()).max())
        K = -cd.force_jacobian(sol)
        assert_allclose(ds.stiffness.values[i], K, rtol=1e-8, atol=1e-9 * np.abs(K).max())
        assert_allclose(ds.interaction_forces.values[i], sol.interaction_forces(),
                        atol=1e-9 * np.abs(sol.forces()).max())
        w = cd.LinearModel(stiffness=K, masses=scene.masses().repeat(3), dofs=np.arange(6),
                           labels=list(ds.row.values)).mode_frequencies()
        assert_allclose(ds.mode_frequency_re.values[i] + 1j * ds.mode_frequency_im.values[i], w, rtol=1e-7)


def test_alias_and_config_key_agree_and_distance_scales_geometry():
    a = sw.sweep(PAIR, {"phase": [0.3, 1.1]}, executor="serial", progress=False)
    b = sw.sweep(PAIR, {"tweezers.phases[1]": [0.3, 1.1]}, executor="serial", progress=False)
    _identical(a.drop_vars("phase"), b.drop_vars("tweezers.phases_1"))  # identity: same scenes
    d = sw.sweep(PAIR, {"distance": "2um"}, dofs="z", executor="serial", progress=False)
    cfg = load_config(PAIR)
    cfg["geometry"]["positions"] = [[-1e-6, 0, 0], [1e-6, 0, 0]]  # centroid 0, so symmetric about it
    scene, _ = scene_from_config(cfg)
    sol = cd.solve(scene)
    assert_allclose(d.forces.values[0], sol.forces(), rtol=1e-9, atol=1e-9 * np.abs(sol.forces()).max())
    assert list(d.row.values) == ["z_0", "z_1"]


def test_per_scene_path_when_orders_are_set():
    cfg = load_config(PAIR)
    cfg["solve"] = {"orders": 1}
    ds = sw.sweep(cfg, {"power": "0.2,0.3"}, executor="serial", progress=False)
    assert json.loads(ds.attrs["provenance"])["batched_configurations"] == 0
    cfg2 = load_config(PAIR)
    cfg2["tweezers"]["power"] = 0.3
    scene, _ = scene_from_config(cfg2)
    assert_allclose(ds.forces.values[1], cd.solve(scene, orders=1).forces(), rtol=0, atol=0)  # same call


def test_sweep_reports_dipole_validity_per_point_and_one_summary_warning():
    """Oracle: the per-scene API cd.dipole_validity(scene).max_error at every grid point (exact: same
    function); the summary counts the points above the 1 % tolerance and names the worst; exactly one
    DipoleValidityWarning per sweep, also on the per-scene path (solve.orders set), where cd.solve would
    otherwise warn at every point."""
    import warnings

    radii = [30e-9, 50e-9, 104e-9, 200e-9]
    cfg = load_config(PAIR)
    for orders in (None, 1):
        if orders is not None:
            cfg["solve"] = {"orders": orders}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = sw.sweep(cfg, {"radius": radii}, executor="serial", progress=False)
        ref = []
        for r in radii:
            c = load_config(PAIR)
            c["particle"]["radius"] = r
            ref.append(cd.dipole_validity(scene_from_config(c)[0]).max_error)
        err = ds.max_estimated_error
        assert err.dims == ("radius",) and err.attrs["units"] == "1" and err.attrs["tolerance"] == 0.01
        assert_array_equal(err.values, ref)
        n_bad = int(np.sum(np.array(ref) > 0.01))
        assert 0 < n_bad < len(radii)  # the grid crosses the tolerance
        ours = [w for w in caught if issubclass(w.category, cd.DipoleValidityWarning)]
        assert len(ours) == 1, [str(w.message) for w in ours]
        msg = str(ours[0].message)
        assert "\n" not in msg and f"at {n_bad} of {len(radii)} sweep points" in msg
        assert f"radius={radii[int(np.argmax(ref))]:.4g} m" in msg
        assert ds.attrs["dipole_validity"] == msg


def test_sweep_within_the_dipole_range_does_not_warn(tmp_path):
    """Oracle: cd.dipole_validity of the same scenes stays below 1 %; no warning; the variable survives
    the NetCDF/NPZ round trip."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", cd.DipoleValidityWarning)
        ds = sw.sweep(PAIR, {"radius": "30nm,50nm", "phase": "0,1"}, executor="serial", progress=False)
    assert ds.max_estimated_error.dims == ("radius", "phase")
    assert np.all(ds.max_estimated_error.values < 0.01)
    assert ds.attrs["dipole_validity"] == "within the dipole model's 1 % range"
    xr.testing.assert_identical(sw.load_sweep(sw.save_sweep(ds, tmp_path / "v.npz")), ds)


def test_bad_grid_point_names_the_point_and_runs_nothing():
    with pytest.raises(ConfigError, match=r"sweep point \(distance=1e-07 m\).*overlap"):
        sw.sweep(PAIR, {"distance": "0.1um,1um"}, executor="serial", progress=False)


# ----------------------------------------------------------------------------- executors, speed, files
def test_thousand_configurations_under_30s_on_processes_with_progress(capfd):
    t0 = time.perf_counter()
    ds = sw.sweep(PAIR, ["phase=0:2pi:40", "distance=1um:3um:25"], executor="processes", progress=True)
    elapsed = time.perf_counter() - t0
    assert ds.forces.shape == (40, 25, 2, 3)
    assert elapsed < 30.0, elapsed  # issue #5 acceptance (measured ~2.5 s on 2 cores)
    assert "1000/1000" in capfd.readouterr().err  # the tqdm bar reached the end
    ref = sw.sweep(PAIR, ["phase=0:2pi:40", "distance=1um:3um:25"], executor="serial", progress=False,
                   chunk_size=json.loads(ds.attrs["provenance"])["chunk_size"])
    _identical(ds, ref)


def test_local_dask_cluster_gives_identical_numbers():
    pytest.importorskip("dask.distributed")
    spec = {"phase": "0:2pi:12", "distance": "1um:2um:5"}
    a = sw.sweep(PAIR, spec, executor="serial", progress=False, chunk_size=20)
    b = sw.sweep(PAIR, spec, executor="dask-local", workers=2, progress=False, chunk_size=20)
    _identical(a, b)


@pytest.mark.parametrize("suffix", [".nc", ".npz"])
def test_sweep_files_round_trip_exactly(tmp_path, suffix):
    ds = sw.sweep(PAIR, {"phase": "0:pi:4", "power": "0.1,0.2"}, executor="serial", progress=False)
    back = sw.load_sweep(sw.save_sweep(ds, tmp_path / f"s{suffix}"))
    xr.testing.assert_identical(back, ds)


def test_cli_sweep_writes_dataset_and_plot(tmp_path):
    out = tmp_path / "res" / "s.npz"
    r = subprocess.run([sys.executable, "-m", "cdsolve", "sweep", str(PAIR), "--vary", "phase=0:2pi:6",
                        "-o", str(out), "--serial", "--no-progress", "--dofs", "z"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ds = sw.load_sweep(out)
    api = sw.sweep(PAIR, {"phase": "0:2pi:6"}, dofs="z", executor="serial", progress=False)
    _identical(ds, api)
    assert (tmp_path / "res" / "s.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, key", [
    (["--vary", "phse=0:1:2"], "--vary phse"),
    (["--vary", "distance=0.1um:1um:2"], "sweep point"),
    (["--vary", "phase=0:1:2", "-o", "x.csv"], "--output"),
    (["--vary", "phase=0:1:2", "--dofs", "w"], "dofs"),
])
def test_cli_sweep_errors_are_one_line_and_write_nothing(tmp_path, args, key):
    r = subprocess.run([sys.executable, "-m", "cdsolve", "sweep", str(PAIR), "--no-progress", "--serial"] + args,
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- validate
def _script(d: Path, name: str, body: str):
    (d / name).write_text(body)


def test_validation_runner_reports_pass_fail_error_and_skip(tmp_path, monkeypatch):
    from cdsolve.workflow.validation_runner import run_validation, write_report

    d = tmp_path / "validation"
    d.mkdir()
    _script(d, "a_pass.py", "print('PASS a: error 1e-9 (tol 1e-6)')\n")
    _script(d, "b_fail.py", "print('PASS b1: ok')\nprint('FAIL b2: error 0.3 (tol 0.1)')\nraise SystemExit(1)\n")
    _script(d, "c_crash.py", "raise RuntimeError('boom')\n")
    _script(d, "d_silent.py", "x = 1\n")
    _script(d, "generate_ref.py", "raise SystemExit('must not run')\n")
    _script(d, "e_needs.py", "import miepy\nprint('PASS e')\n")
    _script(d, "f_slow.py", "# cdsolve-validate: slow\nprint('PASS f')\n")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "miepy" else real_find_spec(n, *a))
    res = {r.script: r for r in run_validation(d, verbose=False, timeout=60)}
    assert res["e_needs.py"].status == "skipped" and "cdsolve[validation]" in res["e_needs.py"].note
    assert res["f_slow.py"].status == "skipped" and "--all" in res["f_slow.py"].note
    assert run_validation(d, only=["f_slow"], verbose=False)[0].status == "ok"  # named scripts always run
    assert "generate_ref.py" not in res
    assert res["a_pass.py"].status == "ok" and res["a_pass.py"].checks == [("PASS", "a: error 1e-9 (tol 1e-6)")]
    assert res["b_fail.py"].status == "failed" and len(res["b_fail.py"].checks) == 2
    assert res["c_crash.py"].status == "error" and "boom" in res["c_crash.py"].note
    assert res["d_silent.py"].status == "error" and "no PASS/FAIL" in res["d_silent.py"].note
    md, js = write_report(list(res.values()), d / "output")
    report = json.loads(js.read_text())
    assert (report["passed"], report["failed"]) == (2, 1)
    rows = [r for r in md.read_text().splitlines() if r.startswith("| b_fail.py | FAIL")]
    assert len(rows) == 1 and "b2: error 0.3 (tol 0.1)" in rows[0]


def test_cli_validate_exit_status(tmp_path):
    d = tmp_path / "validation"
    d.mkdir()
    _script(d, "ok.py", "print('PASS ok: 0 (tol 1)')\n")
    r = subprocess.run([sys.executable, "-m", "cdsolve", "validate", "--dir", str(d)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0 and "all checks passed" in r.stdout
    _script(d, "bad.py", "print('FAIL bad: 2 (tol 1)')\n")
    r = subprocess.run([sys.executable, "-m", "cdsolve", "validate", "--dir", str(d)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 1 and "bad.py" in r.stdout
    assert (d / "output" / "validation_report.md").exists()
