"""``cdsolve validate``: run the validation scripts and collect their PASS/FAIL lines into a report.

Every script in the repository's ``validation/`` directory regenerates one comparison (against a
reference solver's stored data, a published closed form, or a second method), writes its plot and
JSON to ``validation/output/`` and prints one line per check::

    PASS <check>: <measured error> (tolerance ...)
    FAIL <check>: ...

This runner discovers the scripts (``generate_*.py`` produce reference data and are not run; a
script that imports ``miepy`` or ``treams`` needs the ``validation`` extra and is skipped, with a
note, when that solver is missing; a script with the line ``# cdsolve-validate: slow`` runs only with
``--all`` or ``--only``), runs each in a fresh interpreter with a timeout, and writes
``validation/output/validation_report.md`` and ``.json``: one row per check with its line, plus
the script's status (``ok``, ``failed``, ``error`` when it crashed or printed no PASS/FAIL line,
``skipped``, ``timeout``). The exit status is 1 if anything failed or errored.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["ScriptResult", "discover", "run_validation", "write_report"]

_LINE = re.compile(r"^\s*(PASS|FAIL)\b[:\s]*(.*)$")
_NEEDS = re.compile(r"^\s*(?:import|from)\s+(miepy|treams)\b", re.M)
_SLOW = "cdsolve-validate: slow"  # marker line in a script: run only with include_slow (--all)


@dataclass
class ScriptResult:
    """Outcome of one validation script."""

    script: str
    status: str  # ok | failed | error | skipped | timeout
    checks: list = field(default_factory=list)  # [(PASS|FAIL, text)]
    seconds: float = 0.0
    note: str = ""


def discover(directory: str | Path) -> list[Path]:
    """Validation scripts in ``directory`` (sorted; ``generate_*`` and ``_*`` excluded)."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"validation directory not found: {d} (run from the repository root or give --dir)")
    return sorted(p for p in d.glob("*.py") if not p.name.startswith(("generate_", "_")))


def _missing_solver(path: Path) -> str | None:
    for name in sorted(set(_NEEDS.findall(path.read_text()))):
        if importlib.util.find_spec(name) is None:
            return name
    return None


def run_script(path: Path, timeout: float, include_slow: bool = False) -> ScriptResult:
    """Run one script in a fresh interpreter (cwd: the repository root) and parse its PASS/FAIL lines."""
    if not include_slow and _SLOW in path.read_text():
        return ScriptResult(path.name, "skipped", note="slow reference cross-check (cdsolve validate --all)")
    missing = _missing_solver(path)
    if missing:
        return ScriptResult(path.name, "skipped", note=f"needs {missing} (pip install 'cdsolve[validation]')")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(path)], cwd=path.parent.parent, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return ScriptResult(path.name, "timeout", seconds=time.perf_counter() - t0, note=f"> {timeout:g} s")
    dt = time.perf_counter() - t0
    checks = [(m.group(1), m.group(2).strip()) for m in map(_LINE.match, proc.stdout.splitlines()) if m]
    if proc.returncode != 0 and not any(s == "FAIL" for s, _ in checks):
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return ScriptResult(path.name, "error", checks, dt, f"exit {proc.returncode}: {tail}")
    if not checks:
        return ScriptResult(path.name, "error", checks, dt, "printed no PASS/FAIL line")
    status = "failed" if any(s == "FAIL" for s, _ in checks) else "ok"
    return ScriptResult(path.name, status, checks, dt)


def run_validation(directory: str | Path = "validation", only=None, timeout: float = 900.0, verbose: bool = True,
                   include_slow: bool = False):
    """Run the (selected) validation scripts; returns the list of :class:`ScriptResult`."""
    scripts = discover(directory)
    if only:
        names = {o if o.endswith(".py") else o + ".py" for o in only}
        unknown = names - {p.name for p in scripts}
        if unknown:
            raise ValueError(f"--only: unknown script(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(p.stem for p in scripts)})")
        scripts = [p for p in scripts if p.name in names]
    results = []
    for i, path in enumerate(scripts, 1):
        if verbose:
            print(f"[{i}/{len(scripts)}] {path.name} ...", end="", flush=True)
        r = run_script(path, timeout, include_slow or bool(only))
        results.append(r)
        if verbose:
            print(f" {r.status} ({r.seconds:.1f} s){' - ' + r.note if r.note else ''}")
            for s, text in r.checks:
                print(f"    {s} {text}", flush=True)
    return results


def write_report(results, outdir: str | Path, stem: str = "validation_report") -> tuple[Path, Path]:
    """``<stem>.md`` (table) and ``<stem>.json`` in ``outdir``."""
    from .._version import __version__

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n_pass = sum(s == "PASS" for r in results for s, _ in r.checks)
    n_fail = sum(s == "FAIL" for r in results for s, _ in r.checks)
    lines = [f"# cdsolve {__version__} validation report", "",
             f"{n_pass} checks passed, {n_fail} failed; "
             f"{sum(r.status in ('error', 'timeout') for r in results)} script(s) errored, "
             f"{sum(r.status == 'skipped' for r in results)} skipped.", "",
             "| script | status | time [s] | check |", "|---|---|---|---|"]
    for r in results:
        if not r.checks:
            lines.append(f"| {r.script} | {r.status} | {r.seconds:.1f} | {r.note} |")
        for s, text in r.checks:
            lines.append(f"| {r.script} | {s} | {r.seconds:.1f} | {text.replace('|', '/')} |")
    md = out / f"{stem}.md"
    md.write_text("\n".join(lines) + "\n")
    js = out / f"{stem}.json"
    js.write_text(json.dumps({"cdsolve_version": __version__, "passed": n_pass, "failed": n_fail,
                              "scripts": [asdict(r) for r in results]}, indent=2))
    return md, js
