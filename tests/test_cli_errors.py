"""The command line's error contract (cdsolve.workflow.cli.main).

Every failure is exactly one stderr line ``cdsolve: error: ...`` with no traceback; exit status 2 for bad
input (config, arguments, output location), 1 for runtime failures, 130 for SIGINT, 143 for SIGTERM;
``--debug`` re-raises. Oracle: the exit status and stderr of a real ``python -m cdsolve`` process, and the
file system (nothing written, a previous output byte for byte unchanged).
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PAIR_CONFIG

from cdsolve._version import __version__

GOOD = PAIR_CONFIG

# 200 particles in a plane wave: several seconds of solving and linearizing after the first output line
SLOW = """
wavelength = "1064 nm"
[particle]
radius = "50 nm"
index = 1.45
[geometry]
builder = "chain"
n = 200
spacing = "800 nm"
axis = "x"
[[plane_waves]]
intensity = "1 mW/um^2"
"""


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cdsolve", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


def _one_error_line(proc, status: int, *needles: str) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cdsolve: error: "), proc.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.fixture
def work(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "binary.toml").write_bytes(b"\x00\xff\xfe\x80 not text")
    (tmp_path / "adir").mkdir()
    (tmp_path / "si5um.toml").write_text(GOOD.replace("index = 1.45", 'material = "silicon"')
                                         .replace("1064 nm", "5 um"))
    (tmp_path / "material_list.toml").write_text(GOOD.replace("index = 1.45", 'material = ["silicon"]'))
    (tmp_path / "particles_ints.toml").write_text(
        GOOD.replace('[particle]\nradius = "50 nm"\nindex = 1.45\n', "particles = [1, 2]\n"))
    kerker = (Path(__file__).parent.parent / "geometries" / "kerker_chain.toml").read_text()
    assert "allow_gain = true" in kerker
    (tmp_path / "kerker_gain.toml").write_text(kerker.replace("allow_gain = true", "allow_gain = false"))
    return tmp_path


# (case id, argv, exit status, substrings of the error line); every case must write nothing
CASES = [
    ("config-is-directory", ["run", "adir", "-o", "o"], 2, ["adir", "directory"]),
    ("config-missing", ["run", "nope.toml", "-o", "o"], 2, ["nope.toml"]),
    ("config-binary", ["run", "binary.toml", "-o", "o"], 2, ["binary.toml", "UTF-8"]),
    ("material-out-of-range", ["run", "si5um.toml", "-o", "o"], 2, ["si5um.toml", "wavelength", "range"]),
    ("kerker-gain", ["run", "kerker_gain.toml", "-o", "o"], 2, ["kerker_gain.toml", "gain"]),
    ("material-list", ["run", "material_list.toml", "-o", "o"], 2, ["material_list.toml"]),
    ("particles-ints", ["run", "particles_ints.toml", "-o", "o"], 2, ["particles_ints.toml"]),
    ("output-is-file", ["run", "good.toml", "-o", "good.toml"], 2, ["'good.toml'", "not a directory"]),
    ("output-under-file", ["run", "good.toml", "-o", "good.toml/x"], 2, ["good.toml/x", "is a file"]),
    ("output-empty", ["run", "good.toml", "-o", ""], 2, ["empty path"]),
    ("output-non-empty", ["run", "good.toml", "-o", "adir/.."], 2, ["not empty", "--overwrite"]),
    ("unknown-flag", ["run", "good.toml", "--frobnicate"], 2, ["--frobnicate"]),
    ("unknown-command", ["frobnicate"], 2, ["frobnicate"]),
    ("sweep-10^11-points", ["sweep", "good.toml", "--vary", "phase=0:1:100000000000", "-o", "s.npz", "--serial"],
     2, ["1e+11 points", "TB of memory", "at most 1,000,000"]),
    ("sweep-10^11-points-2d", ["sweep", "good.toml", "--vary", "phase=0:1:1000000", "--vary",
                               "power=1mW:2mW:100000", "-o", "s.npz"], 2, ["1e+11 points", "phase 1,000,000 x"]),
    ("sweep-output-under-file", ["sweep", "good.toml", "--vary", "phase=0:1:3", "-o", "good.toml/x.npz",
                                 "--serial", "--no-progress"], 2, ["good.toml/x.npz", "is a file"]),
    ("sweep-output-empty", ["sweep", "good.toml", "--vary", "phase=0:1:3", "-o", ""], 2, ["--output"]),
    ("sweep-workers-negative", ["sweep", "good.toml", "--vary", "phase=0:1:3", "--workers", "-1"], 2,
     ["--workers", "-1", ">= 1"]),
    ("sweep-workers-zero", ["sweep", "good.toml", "--vary", "phase=0:1:3", "--workers", "0"], 2, ["--workers"]),
    ("sweep-chunk-size", ["sweep", "good.toml", "--vary", "phase=0:1:3", "--chunk-size", "x"], 2, ["--chunk-size"]),
    ("sweep-distance-negative", ["sweep", "good.toml", "--vary", "distance=-1um", "-o", "s.npz", "--serial",
                                 "--no-progress"], 2, ["distance", "> 0", "-1e-06"]),
    ("sweep-distance-zero", ["sweep", "good.toml", "--vary", "distance=0um,1um", "-o", "s.npz", "--serial",
                             "--no-progress"], 2, ["distance", "> 0"]),
    ("validate-timeout", ["validate", "--timeout", "-3"], 2, ["--timeout"]),
]


@pytest.mark.parametrize("argv,status,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_is_one_line_with_exit_status_and_writes_nothing(work, argv, status, needles):
    before = _listing(work)
    t0 = time.perf_counter()
    proc = _cli(*argv, cwd=work)
    elapsed = time.perf_counter() - t0
    _one_error_line(proc, status, *needles)
    assert _listing(work) == before
    assert elapsed < 60  # the 10^11-point sweeps are refused from the spec, not after allocating


def test_refusal_happens_before_the_solve_and_keeps_the_old_output(work):
    """A non-empty output directory is refused at once (not after minutes of solving) and not touched."""
    (work / "old").mkdir()
    (work / "old" / "summary.json").write_text("previous")
    proc = _cli("run", "good.toml", "-o", "old", cwd=work)
    _one_error_line(proc, 2, "'old'", "not empty", "--overwrite")
    assert proc.stdout == ""  # nothing was solved
    assert _listing(work / "old") == ["summary.json"] and (work / "old" / "summary.json").read_text() == "previous"


def test_debug_before_or_after_the_subcommand_shows_the_traceback(work):
    for argv in (["--debug", "run", "adir", "-o", "o"], ["run", "adir", "-o", "o", "--debug"]):
        proc = _cli(*argv, cwd=work)
        assert proc.returncode == 1 and "Traceback" in proc.stderr and "IsADirectoryError" in proc.stderr


def test_runtime_failure_is_exit_1_and_input_error_exit_2(monkeypatch, capsys, tmp_path):
    """In-process: a numerical failure (LinAlgError, a ValueError subclass) and MemoryError are runtime
    failures (1); a ValueError from checking the input is 2."""
    import numpy as np

    import cdsolve.workflow.main_job as mj
    from cdsolve.workflow.cli import main

    cfg = tmp_path / "good.toml"
    cfg.write_text(GOOD)
    for exc, status, needle in [(np.linalg.LinAlgError("Singular matrix"), 1, "LinAlgError: Singular matrix"),
                                (MemoryError(), 1, "out of memory"),
                                (ValueError("radius: must be > 0"), 2, "good.toml: radius: must be > 0"),
                                (RuntimeError("line one\nline two"), 1, "RuntimeError: line one line two")]:
        def boom(*a, exc=exc, **k):
            raise exc

        monkeypatch.setattr(mj, "run", boom)
        assert main(["run", str(cfg), "-o", str(tmp_path / "o")]) == status
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("cdsolve: error: ") and needle in err, err
    assert not (tmp_path / "o").exists()


def test_version_and_help(work):
    proc = _cli("--version", cwd=work)
    assert proc.returncode == 0 and proc.stdout.strip() == f"cdsolve {__version__}"
    proc = _cli("run", "--help", cwd=work)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    for needle in ("docs/config.md", "--overwrite", "replace a non-empty output directory whole", "--debug"):
        assert needle in text, needle


@pytest.mark.parametrize("sig,status,word", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_signal_mid_run_is_one_line_and_keeps_the_previous_output(work, sig, status, word):
    (work / "slow.toml").write_text(SLOW)
    (work / "out").mkdir()
    (work / "out" / "summary.json").write_text("previous run")
    before = _listing(work)
    proc = subprocess.Popen([sys.executable, "-m", "cdsolve", "run", "slow.toml", "-o", "out", "--overwrite",
                             "--no-plots"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # printed after the scene is built, before seconds of solving
    assert first.startswith("cdsolve "), (first, proc.stderr.read() if proc.poll() is not None else "")
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, (proc.returncode, err)
    # progress notes of the run may precede it on stderr; the failure itself is one line, the last
    lines = err.strip().splitlines()
    assert "Traceback" not in err and [ln for ln in lines if ln.startswith("cdsolve: error:")] == lines[-1:], err
    assert lines[-1] == (f"cdsolve: error: {'terminated' if status == 143 else 'interrupted'} ({word}); "
                         "no partial output was kept")
    assert _listing(work) == before  # no staging directory, no lock file, old output untouched
    assert (work / "out" / "summary.json").read_text() == "previous run"
