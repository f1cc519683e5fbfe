"""``cdsolve simulate``, ``cdsolve identify`` and ``cdsolve compare`` through the command line (cli.main).

Oracles: the files' own contents against independent computations -- the simulated (linear, exact
discretization) trajectory's variance against the Lyapunov covariance of the linear model written next to it;
the compare report's numbers against cdsolve.workflow.gmmt_reference (the GMMT validation); the error
contract of cli.main (one line ``cdsolve: error: ...``, exit 2 for bad input).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.workflow.cli import main
from cdsolve.workflow.config import example_config

ROOT = Path(__file__).parent.parent / "validation" / "reference_tables"


def test_simulate_linear_writes_trajectory_and_psd(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", str(example_config()), "-o", str(out), "--linear", "--steps", "20000",
                 "--damping", "2e5", "--temperature", "300", "--seed", "3"]) == 0
    from cdsolve.dynamics.linear_model import LinearModel
    from cdsolve.dynamics.spectra import stationary_covariance
    from cdsolve.dynamics.trajectories import Trajectory

    tr = Trajectory.load(out / "trajectory.npz")
    lin = LinearModel.load(out / "linear_model.npz")
    assert tr.positions.shape == (20001, 6) and tr.units["positions"] == "m"
    assert_allclose(np.diff(tr.time), tr.dt, rtol=1e-9)
    # oracle: Lyapunov covariance of the damped linear model at 300 K (fluctuation-dissipation); 20000 samples
    # with a correlation time of ~1/gamma = 130 steps: ~150 independent samples -> ~12 % per dof; 35 % bound
    var = np.diag(stationary_covariance(lin, temperature=300.0))[:6]
    assert_allclose(tr.positions.var(axis=0), var, rtol=0.35)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"].startswith("linear") and summary["steps_per_second"] > 0
    assert (out / "psd.png").stat().st_size > 10_000
    assert "wrote trajectory.npz" in capsys.readouterr().out


def test_simulate_nonlinear_short(tmp_path):
    out = tmp_path / "nl"
    assert main(["simulate", str(example_config()), "-o", str(out), "--steps", "40", "--damping", "2e5",
                 "--no-plots"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["mode"].startswith("nonlinear") and s["steps_per_second"] > 0 and "BAOAB" in s["integrator"]
    with np.load(out / "trajectory.npz") as d:
        assert d["positions"].shape == (41, 6) and np.all(np.isfinite(d["positions"]))


def test_compare_reproduces_gmmt_numbers(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(ROOT / "gmmt_silica_pair.csv"), "--config", str(ROOT / "gmmt_silica_pair.toml"),
                 "-o", str(out), "--no-plots"]) == 0
    s = json.loads((out / "comparison.json").read_text())
    # validation/output/pairs_vs_gmmt.json: silica x-polarized total 0.707 %, along the axis 0.185 %
    assert_allclose(s["max_total_err"], 0.0070698513501673095, rtol=1e-6)
    assert_allclose(s["max_interaction_axis_err"][0], 0.0018524323210116636, rtol=1e-6)
    assert "validity estimate" in (out / "comparison.md").read_text()


@pytest.mark.parametrize("argv, match", [
    (["compare", "missing.csv", "--config", "x.toml", "-o", "OUT"], "missing.csv"),
    (["simulate", "cfg.toml", "-o", "OUT", "--steps", "0"], "--steps"),
    (["simulate", "cfg.toml", "-o", "OUT", "--temperature", "-1"], "--temperature"),
    (["identify", "data.csv", "-o", "OUT"], "--masses"),
])
def test_bad_arguments_one_line_exit_2(tmp_path, capsys, argv, match):
    argv = [a.replace("OUT", str(tmp_path / "o")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cdsolve: error:") and match in err[0]


def test_compare_bad_table_is_input_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("x0 [nm],y0 [nm],z0 [s],Fx0 [N],Fy0 [N],Fz0 [N]\n1,2,3,4,5,6\n")
    assert main(["compare", str(bad), "--config", str(ROOT / "gmmt_silica_pair.toml"), "-o",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cdsolve: error:") and "expected a length" in err and "\n" not in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_identify_reads_traces_and_checks_them(tmp_path, capsys):
    from cdsolve.workflow.identify_job import parse_masses, read_traces

    p = tmp_path / "tr.csv"
    p.write_text("# a comment\ntime [us], z_0 [nm], z_1 [nm]\n0, 1, 2\n1, 3, 4\n2, 5, 6\n")
    X, t, labels = read_traces(p)
    assert_allclose(X, [[1e-9, 2e-9], [3e-9, 4e-9], [5e-9, 6e-9]], rtol=1e-15)
    assert_allclose(t, [0, 1e-6, 2e-6], rtol=1e-15) and labels == ["z_0", "z_1"]
    assert_allclose(parse_masses("8.7 fg, 9e-18"), [8.7e-18, 9e-18], rtol=1e-15)
    p.write_text("time [us], z_0 [mW]\n0, 1\n1, 3\n")
    assert main(["identify", str(p), "--masses", "1e-18", "-o", str(tmp_path / "o")]) == 2
    assert "expected a length" in capsys.readouterr().err
    p.write_text("time [us], z_0 [nm]\n0, 1\n1, 3\n3, 4\n")
    from cdsolve.workflow.identify_job import _time_step

    with pytest.raises(ValueError, match="not uniform"):
        _time_step(read_traces(p)[1], None, p)


@pytest.mark.slow
def test_identify_end_to_end_against_prediction(tmp_path):
    """simulate --linear -> identify --compare: the identified stiffness agrees with the config's prediction
    (oracle: the linear model the data were simulated from) within 4 sigma for every entry (36 entries: a
    4-sigma excursion has probability ~2e-3 in all) and the report holds every pull."""
    sim = tmp_path / "sim"
    assert main(["simulate", str(example_config()), "-o", str(sim), "--linear", "--steps", "60000",
                 "--damping", "2e5", "--seed", "5", "--no-plots"]) == 0
    with np.load(sim / "equilibrium.npz") as d:
        m = float(d["masses"][0])
    out = tmp_path / "id"
    assert main(["identify", str(sim / "trajectory.npz"), "--masses", repr(m), "--compare", str(example_config()),
                 "-o", str(out), "--no-plots"]) == 0
    r = json.loads((out / "report.json").read_text())
    pulls = np.array([e["pull"] for e in r["stiffness"]])
    assert len(pulls) == 36 and np.all(np.abs(pulls) < 4), pulls
    assert "| K[z_0,z_1] |" in (out / "report.md").read_text()
