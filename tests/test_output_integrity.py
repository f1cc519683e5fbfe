"""Atomic, locked outputs (cdsolve.workflow.output_dir) and the run's behaviour when killed.

Oracles: the file system itself (listings and bytes before and after), a second process holding the
lock, and for the fault tests the invariant "a target directory is absent, the previous output byte for
byte, or a complete new output whose summary.json and results.npz agree".
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import PAIR_CONFIG

from cdsolve.workflow import output_dir as od
from cdsolve.workflow.output_dir import (
    OutputError,
    atomic_write_file,
    staged_directory,
    staged_file,
)


def _tree(root: Path) -> dict:
    """{relative path: bytes} of every file under root (the oracle for 'left exactly as it was')."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _old_output(d: Path) -> dict:
    d.mkdir()
    (d / "summary.json").write_text('{"old": true}')
    (d / "sub").mkdir()
    (d / "sub" / "a.txt").write_text("old a")
    return _tree(d)


# ----------------------------------------------------------------------------- staged_directory
def test_success_puts_the_directory_in_place_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out"
    with staged_directory(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.staging-") and list(tmp.iterdir()) == []
        assert not target.exists()  # nothing visible while writing
        (tmp / "summary.json").write_text("{}")
        (tmp / "lock-visible").write_text(str((tmp_path / ".out.lock").exists()))
    assert _tree(target) == {"summary.json": b"{}", "lock-visible": b"True"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging dir, no lock file left


def test_missing_parents_are_created_and_removed_again_on_failure(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError):
        with staged_directory(target) as tmp:
            (tmp / "x").write_text("x")
            raise RuntimeError("solver failed")
    assert list(tmp_path.iterdir()) == []
    with staged_directory(target) as tmp:
        (tmp / "x").write_text("x")
    assert _tree(tmp_path) == {"a/b/out/x": b"x"}


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(143), MemoryError()])
@pytest.mark.parametrize("overwrite", [False, True])
def test_exception_mid_way_leaves_the_old_target_exactly_as_it_was(tmp_path, exc, overwrite):
    target = tmp_path / "out"
    if overwrite:
        before = _old_output(target)
    with pytest.raises(type(exc)):
        with staged_directory(target, overwrite=overwrite) as tmp:
            (tmp / "summary.json").write_text('{"new": true}')
            raise exc
    if overwrite:
        assert _tree(target) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    else:
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_overwrite_replaces_whole_never_merges(tmp_path, monkeypatch, exchange):
    if not exchange:  # the fallback used where the kernel has no RENAME_EXCHANGE
        monkeypatch.setattr(od, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    _old_output(target)
    with staged_directory(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert _tree(target) == {"new.txt": b"new"}  # old summary.json and sub/ are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_existing_empty_directory_is_used_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    with staged_directory(tmp_path / "out") as tmp:
        (tmp / "f").write_text("1")
    assert _tree(tmp_path / "out") == {"f": b"1"}


def test_symlink_target_writes_where_the_link_points(tmp_path):
    real = tmp_path / "real"
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    real.mkdir()
    with staged_directory(tmp_path / "link") as tmp:
        (tmp / "f").write_text("1")
    assert (tmp_path / "link").is_symlink() and _tree(real) == {"f": b"1"}


def _refusal(target, match, overwrite=False):
    with pytest.raises(OutputError, match=match):
        with staged_directory(target, overwrite=overwrite):
            pytest.fail("must refuse before yielding")  # pragma: no cover


def test_refusals_write_nothing(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("data")
    nonempty = tmp_path / "full"
    before_full = _old_output(nonempty)
    before = _tree(tmp_path)
    _refusal("", "empty path")
    _refusal(tmp_path / "file", "'.*file': exists and is not a directory")
    _refusal(tmp_path / "file" / "x" / "y", r"file' is a file, not a directory")
    _refusal(nonempty, r"full': exists and is not empty \(.*summary.json.*\).*--overwrite")
    _refusal("/", "file system root")
    monkeypatch.chdir(nonempty)
    _refusal(nonempty, "current directory", overwrite=True)
    _refusal(tmp_path, "current directory", overwrite=True)
    with pytest.raises(OutputError, match="expected a path"):
        with staged_directory(3):
            pass  # pragma: no cover
    assert _tree(tmp_path) == before and _tree(nonempty) == before_full
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs procfs (a file system nobody can write)")
def test_refuses_a_location_even_root_cannot_write():
    """As root, permission bits do not stop anyone: procfs refuses new entries for every user."""
    _refusal("/proc/cdsolve-test-output", "cannot create the lock file '/proc/.cdsolve-test-output.lock'"
              if os.geteuid() == 0 else "directory '/proc' is not writable")
    assert not Path("/proc/.cdsolve-test-output.lock").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits (the procfs test covers root)")
def test_refuses_an_unwritable_parent(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _refusal(ro / "out", "is not writable")
    finally:
        ro.chmod(0o755)


_HOLDER = textwrap.dedent("""
    import sys, time
    from cdsolve.workflow.output_dir import staged_directory
    with staged_directory(sys.argv[1]) as tmp:
        (tmp / "partial.txt").write_text("half")
        print("holding", flush=True)
        time.sleep(60)
""")


def test_a_lock_held_by_a_live_process_refuses_and_dies_with_it(tmp_path):
    target = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(OutputError) as info:
            with staged_directory(target):
                pass  # pragma: no cover
        msg = str(info.value)
        assert f"pid {holder.pid}" in msg and str(tmp_path / ".out.lock") in msg
        # the same with overwrite: the lock is checked before anything else is touched
        with pytest.raises(OutputError, match=f"pid {holder.pid}"):
            with staged_directory(target, overwrite=True):
                pass  # pragma: no cover
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert not target.exists() and any(n.startswith(".out.staging-") for n in leftovers)
    # the kernel released the flock with the process: the next run goes ahead and removes the leftovers
    with staged_directory(target) as tmp:
        (tmp / "f").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and _tree(target) == {"f": b"1"}


# ----------------------------------------------------------------------------- single files
def test_atomic_write_file_replaces_and_refuses(tmp_path):
    p = tmp_path / "d" / "s.npz"
    atomic_write_file(p, b"one")
    atomic_write_file(p, b"two")
    assert p.read_bytes() == b"two" and sorted(x.name for x in p.parent.iterdir()) == ["s.npz"]
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write_file(tmp_path / "d", b"x")
    with pytest.raises(OutputError, match="is a file, not a directory"):
        atomic_write_file(p / "x.npz", b"x")
    with pytest.raises(OutputError, match="empty path"):
        atomic_write_file("", b"x")
    with pytest.raises(TypeError, match="data: expected bytes"):
        atomic_write_file(p, "text")
    assert p.read_bytes() == b"two"


def test_staged_file_keeps_the_suffix_and_the_old_file_on_failure(tmp_path):
    p = tmp_path / "s.nc"
    p.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with staged_file(p) as tmp:
            assert tmp.suffix == ".nc" and tmp.parent == tmp_path
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert p.read_bytes() == b"old" and sorted(x.name for x in tmp_path.iterdir()) == ["s.nc"]
    with pytest.raises(OutputError, match="did not create"):
        with staged_file(p):
            pass
    assert p.read_bytes() == b"old"


# ----------------------------------------------------------------------------- the run, killed
SMALL = PAIR_CONFIG.replace('radius = "50 nm"', 'radius = "{radius} nm"')

# always written by `cdsolve run` (main_job docstring); the full set for SMALL is that of an uninterrupted run
ALWAYS = {"summary.json", "results.npz", "results.mat", "report.md", "forces.png"}


def _assert_complete(d: Path, promised: set, radius_nm=None) -> None:
    """The invariant: exactly the files of an uninterrupted run, all from one run (summary == npz)."""
    names = {p.name for p in d.iterdir()}
    assert names == promised, f"{d} holds {sorted(names)}, an uninterrupted run writes {sorted(promised)}"
    summary = json.loads((d / "summary.json").read_text())
    with np.load(d / "results.npz") as z:
        # same run: summary.json and results.npz hold the same forces (json round trip: 17 digits, exact)
        np.testing.assert_array_equal(np.array(summary["forces_N"]), z["forces"])
    if radius_nm is not None:
        assert f"radius_{radius_nm}.toml" in summary["config"]


def _cfg(tmp_path: Path, radius: int) -> Path:
    p = tmp_path / f"radius_{radius}.toml"
    p.write_text(SMALL.format(radius=radius))
    return p


def _run(cfg, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "cdsolve", "run", str(cfg), "-o", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_killed_runs_never_leave_a_partial_or_mixed_directory(tmp_path):
    """20 seeded trials: a run with --overwrite over a complete previous output is sent SIGTERM or SIGKILL at a
    random time between its first output line (config read, handlers installed) and ~1.2x its usual end;
    afterwards the target is the previous output byte for byte or a complete new one, never a mix."""
    rng = np.random.default_rng(20240615)
    out = tmp_path / "out"
    first = _run(_cfg(tmp_path, 50), out)
    assert first.wait(timeout=120) == 0, first.stderr.read()
    promised = {p.name for p in out.iterdir()}
    assert ALWAYS <= promised, promised
    timing = _run(_cfg(tmp_path, 60), tmp_path / "timing")
    timing.stdout.readline()
    t0 = time.perf_counter()
    assert timing.wait(timeout=120) == 0
    duration = time.perf_counter() - t0  # solve + write, after the first line
    outcomes = []
    for trial in range(20):
        before = _tree(out)
        radius = 61 + trial
        proc = _run(_cfg(tmp_path, radius), out, "--overwrite")
        sig = signal.SIGTERM if rng.random() < 0.5 else signal.SIGKILL
        assert proc.stdout.readline().startswith("cdsolve ")
        time.sleep(rng.uniform(0.0, 1.2 * duration))
        proc.send_signal(sig)
        rc = proc.wait(timeout=120)
        err = proc.stderr.read()
        assert "Traceback" not in err, err
        after = _tree(out)
        if rc == 0:  # finished before the signal
            _assert_complete(out, promised, radius)
            outcomes.append("finished")
        elif after == before:
            _assert_complete(out, promised)
            outcomes.append(f"old kept ({sig.name}, rc {rc})")
        else:  # killed after the swap (signals are deferred during it): complete new output
            _assert_complete(out, promised, radius)
            outcomes.append(f"new complete ({sig.name}, rc {rc})")
        if rc == -signal.SIGTERM:  # default action: only after main() returned and restored the handlers
            assert outcomes[-1] == f"new complete (SIGTERM, rc {rc})", outcomes
        elif sig == signal.SIGTERM and rc != 0:  # our handler ran: one line, and it removed its staging directory
            assert rc == 143, (rc, err)
            lines = err.strip().splitlines()  # progress notes of the run may precede the one error line
            assert [ln for ln in lines if ln.startswith("cdsolve: error:")] == lines[-1:], err
            assert lines[-1] == "cdsolve: error: terminated (SIGTERM); no partial output was kept", err
            assert not [p.name for p in tmp_path.iterdir() if ".staging-" in p.name]
        for d in [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]:
            if (d / "summary.json").exists():
                _assert_complete(d, promised)
    # interrupted runs happened with both signals (else the test would not test anything)
    assert {o.split(" (")[1].split(",")[0] for o in outcomes if o.startswith("old kept")} == {"SIGTERM", "SIGKILL"}, \
        outcomes


@pytest.mark.slow
@pytest.mark.parametrize("overwrite", [False, True])
def test_concurrent_runs_on_one_directory_never_mix_files(tmp_path, overwrite):
    out = tmp_path / "out"
    extra = ("--overwrite",) if overwrite else ()
    ref = _run(_cfg(tmp_path, 40), tmp_path / "reference")
    assert ref.wait(timeout=120) == 0
    promised = {p.name for p in (tmp_path / "reference").iterdir()}
    assert ALWAYS <= promised, promised
    for round_ in range(3):
        procs = [_run(_cfg(tmp_path, r), out, *extra) for r in (50 + 10 * round_, 55 + 10 * round_)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        for rc, err in results:
            assert rc in (0, 2) and "Traceback" not in err, err
            if rc == 2:  # refused: the other run holds the lock, or (without --overwrite) it already finished
                assert [ln for ln in err.strip().splitlines() if ln.startswith("cdsolve: error:")] == \
                    err.strip().splitlines()[-1:], err
                assert ("is writing it" in err and ".out.lock" in err) or "not empty" in err, err
        assert any(rc == 0 for rc, _ in results) or round_ > 0, results
        _assert_complete(out, promised)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
