"""Command line: ``cdsolve run [CONFIG] -o OUTDIR``, ``cdsolve sweep CONFIG --vary ...``, ``cdsolve validate``,
``cdsolve simulate CONFIG -o OUTDIR``, ``cdsolve identify DATA --masses M -o OUTDIR``, ``cdsolve compare TABLE
--config CONFIG -o OUTDIR``.

``cdsolve run`` is :func:`cdsolve.workflow.main_job.run` (the files it writes are listed there); the
output directory appears whole or not at all (:mod:`cdsolve.workflow.output_dir`), and a non-empty one
is replaced only with ``--overwrite``. Config keys: ``docs/config.md``.

``cdsolve sweep CONFIG --vary phase=0:2pi:64 [--vary distance=1um:3um:32] -o sweep.nc`` evaluates the
grid (:mod:`cdsolve.workflow.sweep`) with a progress bar on local processes (or ``--dask tcp://host:8786`` /
``--dask local``) and writes the labelled arrays (NetCDF or NPZ) and a plot next to them, each file
atomically (temporary name, ``os.replace``).
``cdsolve validate`` runs ``validation/*.py`` and writes ``validation/output/validation_report.md``.
``simulate`` (:mod:`cdsolve.workflow.simulate_job`: nonlinear dynamics with the full forces by default,
``--linear`` for the linear model), ``identify`` (:mod:`cdsolve.workflow.identify_job`) and ``compare``
(:mod:`cdsolve.workflow.reference_tables`) write whole output directories like ``run``.

Error contract (every subcommand): a failure prints exactly one line on stderr,
``cdsolve: error: <file>: <key>: <what>`` (or ``cdsolve: error: <what>`` when no file or key applies), and
exits with

====  =====================================================================================================
2     bad input: config (``ConfigError``, unreadable / binary / missing file, values rejected by the
      model such as a material outside its wavelength range), arguments, output location (``OutputError``)
1     runtime failure (numerical failure, out of memory, anything else)
130   interrupted by SIGINT (Ctrl-C); 143: terminated by SIGTERM. A partial output is removed, a previous
      output is left as it was.
====  =====================================================================================================

No traceback is printed unless ``--debug`` is given (before or after the subcommand): it re-raises.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import warnings
from pathlib import Path

__all__ = ["MAX_SWEEP_POINTS", "Terminated", "UsageError", "main"]

#: largest grid ``cdsolve sweep`` accepts (every scene is built in memory before the solves start; at the
#: ~300 configurations/s of a two-particle pair on one core this is about an hour)
MAX_SWEEP_POINTS = 1_000_000

_CONFIG_DOC = "docs/config.md"


def __getattr__(name: str):
    if name == "run":  # cdsolve.workflow.cli.run is main_job.run (imported on use: --help stays fast)
        from .main_job import run

        return run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


class Terminated(BaseException):
    """Raised in the main process by the SIGTERM handler of :func:`main` (exit status 143).

    A ``BaseException`` like ``KeyboardInterrupt``: ``except Exception`` blocks do not swallow it, and
    :func:`cdsolve.workflow.output_dir.staged_directory` removes its partial output on it.
    """


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised as :class:`UsageError`, printed by :func:`main`)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _number(kind, test, allowed: str):
    """An argparse ``type`` reading ``kind`` (int or float) and refusing values that fail ``test``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        if not (test(value) and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")
_positive_float = _number(float, lambda v: v > 0, "a finite number > 0")
_nonnegative_float = _number(float, lambda v: v >= 0, "a finite number >= 0")


def _parser() -> _Parser:
    from .._version import __version__

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: "--debug" after the subcommand sets it, its absence there does not reset the global one
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on failure, show the Python traceback instead of the one-line error")
    parser = _Parser(prog="cdsolve", description="Coupled-dipole optical binding solver",
                     epilog=f"Config file keys, units and defaults: {_CONFIG_DOC}. Exit status: 0 ok, 2 bad input "
                            "(config, arguments, output location), 1 runtime failure, 130 SIGINT, 143 SIGTERM.")
    parser.add_argument("--version", action="version", version=f"cdsolve {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="on failure, show the Python traceback instead of the one-line error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_run = sub.add_parser(
        "run", parents=[common], help="solve a scene from a TOML config (default: bundled example)",
        description="Solve the scene of a TOML config and write its result files (summary.json, results.npz/"
                    ".mat/.h5, linear_model.npz/.json, plots, report.md) to OUTDIR. The directory appears whole "
                    "or not at all: the files are written to a hidden sibling that is renamed into place at the "
                    "end; an interrupted or failed run leaves no partial output and a previous OUTDIR untouched.",
        epilog=f"Config file keys, units and defaults: {_CONFIG_DOC} (the bundled example: "
               "cdsolve/data/example_pair.toml).")
    p_run.add_argument("config", nargs="?", default=None,
                       help=f"TOML config file (omit for the bundled example; keys: {_CONFIG_DOC})")
    p_run.add_argument("-o", "--outdir", default="cdsolve-out",
                       help="output directory (default: cdsolve-out); must be new or empty unless --overwrite")
    p_run.add_argument("--force", action="store_true",
                       help="solve even when the estimated memory exceeds what this machine has")
    p_run.add_argument("--overwrite", action="store_true",
                       help="replace a non-empty output directory whole (its old files are removed, never "
                            "mixed with the new ones; the swap happens only after the new results are complete)")
    p_run.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p_sw = sub.add_parser("sweep", parents=[common], help="evaluate a config on a parameter grid (xarray/NetCDF/NPZ)",
                          epilog=f"Config file keys: {_CONFIG_DOC}. At most {MAX_SWEEP_POINTS:,} grid points.")
    p_sw.add_argument("config", help="TOML config file")
    p_sw.add_argument("--vary", action="append", required=True, metavar="NAME=SPEC",
                      help="parameter and values, e.g. phase=0:2pi:64, distance=1um:3um:21, power=0.1,0.2 "
                           "(repeat for a grid)")
    p_sw.add_argument("-o", "--output", default="sweep.nc",
                      help="output file, .nc or .npz (default: sweep.nc); replaced atomically")
    p_sw.add_argument("--dofs", default=None, help="stiffness dofs, e.g. 'z' or 'xy' (default: all)")
    p_sw.add_argument("--dask", default=None, metavar="ADDRESS",
                      help="run on a Dask scheduler (tcp://host:8786) or 'local' (a local Dask cluster)")
    p_sw.add_argument("--serial", action="store_true", help="run in this process (no worker processes)")
    p_sw.add_argument("--workers", type=_positive_int, default=None,
                      help="worker processes, >= 1 (default: all cores)")
    p_sw.add_argument("--chunk-size", type=_positive_int, default=None, help="configurations per task, >= 1")
    p_sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_sw.add_argument("--no-plots", action="store_true", help="skip the PNG plot")
    p_sim = sub.add_parser(
        "simulate", parents=[common], help="trajectories of a config's particles (nonlinear or --linear) and PSDs",
        description="Simulate the particles of a TOML config from their equilibrium: by default the nonlinear "
                    "Langevin dynamics with the full coupled-dipole forces at every step (BAOAB, gas bath); with "
                    "--linear the exact discretization of the linear model at the equilibrium. Writes "
                    "trajectory.npz (time, positions, velocities, units), equilibrium.npz, linear_model.npz, "
                    "psd.png and summary.json to OUTDIR (cdsolve.workflow.simulate_job).",
        epilog=f"Config file keys: {_CONFIG_DOC} ([linearize] dofs and damping are used).")
    p_sim.add_argument("config", help="TOML config file")
    p_sim.add_argument("-o", "--outdir", required=True, help="output directory (new or empty unless --overwrite)")
    p_sim.add_argument("--steps", type=_positive_int, default=1000, help="time steps, >= 1 (default 1000)")
    p_sim.add_argument("--dt", type=_positive_float, default=None,
                       help="time step [s] (default: 1/40 of the shortest trap period)")
    p_sim.add_argument("--temperature", type=_nonnegative_float, default=300.0, help="gas temperature [K] (default 300)")
    p_sim.add_argument("--damping", type=_nonnegative_float, default=None,
                       help="gas damping rate [1/s] (default: [linearize] damping of the config)")
    p_sim.add_argument("--linear", action="store_true", help="linear model at the equilibrium (exact, fast)")
    p_sim.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p_sim.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory whole")
    p_sim.add_argument("--no-plots", action="store_true", help="skip the PSD plot")
    p_id = sub.add_parser(
        "identify", parents=[common], help="identify a linear model (K, g_r, g_a, modes) from position traces",
        description="Identify the stiffness matrix, pair rates and mode frequencies (with sigma) from position "
                    "traces (NPZ, or CSV with units in the header) and, with --compare, set them beside the "
                    "prediction of a config with pulls. Writes report.md, report.json and psd.png to OUTDIR "
                    "(cdsolve.workflow.identify_job).")
    p_id.add_argument("data", help="traces: .npz (positions (T, n) [m], time) or .csv ('time [s], z_0 [nm], ...')")
    p_id.add_argument("--dt", type=_positive_float, default=None, help="time step [s] (default: from the time stamps)")
    p_id.add_argument("--masses", required=True, help="one mass or one per dof, e.g. '8.7e-18' or '8.7 fg, 9 fg'")
    p_id.add_argument("--compare", default=None, metavar="CONFIG", help="TOML config whose prediction to compare with")
    p_id.add_argument("--method", choices=("time", "frequency"), default="time", help="identification method")
    p_id.add_argument("--temperature", type=_nonnegative_float, default=None,
                      help="gas temperature [K] of the predicted PSD (default 300)")
    p_id.add_argument("-o", "--outdir", required=True, help="output directory (new or empty unless --overwrite)")
    p_id.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory whole")
    p_id.add_argument("--no-plots", action="store_true", help="skip the PSD plot")
    p_cmp = sub.add_parser(
        "compare", parents=[common], help="compare a reference force table (CSV/JSON) with cdsolve",
        description="Recompute every row of a reference force table (schema: cdsolve.workflow.reference_tables) "
                    "with the scene of CONFIG and write comparison.md, comparison.json and comparison.png (per-row "
                    "errors beside the dipole-validity estimate) to OUTDIR.")
    p_cmp.add_argument("table", help="reference table (.csv or .json; columns 'x0 [nm]', ..., 'Fx0 [N]', ...)")
    p_cmp.add_argument("--config", required=True, help="TOML config with the particles, beams and medium")
    p_cmp.add_argument("-o", "--outdir", required=True, help="output directory (new or empty unless --overwrite)")
    p_cmp.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory whole")
    p_cmp.add_argument("--no-plots", action="store_true", help="skip the plot")
    p_val = sub.add_parser("validate", parents=[common],
                           help="run the validation scripts and write a PASS/FAIL report")
    p_val.add_argument("--dir", default="validation", help="validation directory (default: ./validation)")
    p_val.add_argument("--only", action="append", default=None, metavar="SCRIPT", help="run only this script")
    p_val.add_argument("--timeout", type=_positive_float, default=900.0, help="per-script timeout [s], > 0")
    p_val.add_argument("--all", action="store_true", help="also the slow reference cross-checks")
    return parser


# ----------------------------------------------------------------------------- errors and signals
def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _input_error(e: BaseException) -> bool:
    """True for errors of the user's input (exit 2), False for runtime failures (exit 1)."""
    import numpy as np

    from .config import ConfigError
    from .output_dir import OutputError

    if isinstance(e, (ConfigError, UsageError, OutputError, FileNotFoundError, IsADirectoryError,
                      NotADirectoryError, PermissionError, UnicodeDecodeError)):
        return True
    if isinstance(e, np.linalg.LinAlgError):  # a ValueError subclass, but a numerical failure
        return False
    return isinstance(e, (ValueError, TypeError))


def _message(e: BaseException, config) -> str:
    """The text after ``cdsolve: error:`` (one line; prefixed with the config file when it concerns it)."""
    from .config import ConfigError
    from .output_dir import OutputError

    if isinstance(e, (ConfigError, OutputError, UsageError)):
        return _one_line(e) or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None:  # reading the config (or another named file)
        what = {IsADirectoryError: "is a directory, not a config file"}.get(type(e), e.strerror or str(e))
        return f"{e.filename}: {what}"
    if isinstance(e, UnicodeDecodeError):
        where = f"{config}: " if config else ""
        return (f"{where}not a text (UTF-8) TOML file: cannot decode byte 0x{e.object[e.start]:02x} "
                f"at position {e.start}")
    if isinstance(e, MemoryError):
        return "out of memory" + (f": {_one_line(e)}" if str(e) else "") + " (run with --debug for the traceback)"
    text = _one_line(e)
    if _input_error(e):  # a ValueError/TypeError from checking the input
        where = f"{config}: " if config and not text.startswith(str(config)) else ""
        return f"{where}{text or type(e).__name__}"
    return f"{type(e).__name__}: {text} (run with --debug for the traceback)" if text else \
        f"{type(e).__name__} (run with --debug for the traceback)"


def _install_signal_handlers():
    """SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt`` in this process; a worker process
    forked from it (``cdsolve sweep``) dies quietly instead of printing a traceback. Returns the old handlers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    owner = os.getpid()

    def on_signal(signum, frame):
        if os.getpid() != owner:  # a forked worker: the parent reports the interruption
            os._exit(128 + signum)
        if signum == signal.SIGTERM:
            raise Terminated()
        raise KeyboardInterrupt()

    return {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}


def _restore(old) -> None:
    if old:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def _fail(text: str) -> None:
    print(f"cdsolve: error: {text}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status (see module doc)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except UsageError as e:
        _fail(_one_line(e))
        return 2
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    debug = bool(getattr(args, "debug", False))
    config = getattr(args, "config", None)
    old = _install_signal_handlers()
    try:
        if args.command == "run":
            from .output_dir import check_output_directory

            check_output_directory(args.outdir, overwrite=args.overwrite)  # before the solve, not after it
            from .main_job import run

            run(args.config, args.outdir, plots=not args.no_plots, overwrite=args.overwrite, force=args.force)
            return 0
        if args.command == "sweep":
            return _sweep(args)
        if args.command in ("simulate", "identify", "compare"):
            return _data_command(args)
        return _validate(args)
    except KeyboardInterrupt:
        if debug:
            raise
        _fail("interrupted (SIGINT); no partial output was kept")
        return 130
    except Terminated:
        if debug:
            raise
        _fail("terminated (SIGTERM); no partial output was kept")
        return 143
    except Exception as e:
        if debug:
            raise
        _fail(_message(e, config))
        return 2 if _input_error(e) else 1
    finally:
        _restore(old)


# ----------------------------------------------------------------------------- sweep
def _count_points(spec: str) -> tuple[str, int] | None:
    """(name, number of values) of a ``--vary NAME=SPEC`` without building the values; None if unparsable
    (then :func:`cdsolve.workflow.sweep.parse_axis` reports the problem)."""
    if "=" not in spec:
        return None
    name, rhs = (s.strip() for s in spec.split("=", 1))
    if rhs.count(":") == 2:
        try:
            return name, int(rhs.rsplit(":", 1)[1])
        except ValueError:
            return None
    if ":" in rhs:
        return None
    return name, rhs.count(",") + 1


def _check_grid_size(args) -> None:
    """Refuse a grid above :data:`MAX_SWEEP_POINTS` (or above this machine's memory) with an estimate,
    before any value array is allocated."""
    from .config import ConfigError

    counts = [c for c in (_count_points(s) for s in args.vary) if c is not None]
    n = math.prod(max(k, 0) for _, k in counts) if counts else 0
    if n <= MAX_SWEEP_POINTS:
        return
    # per point: the Scene built in memory before the solves (measured on the config) and the result arrays
    per_point = 4096.0
    try:
        import pickle

        from .config import scene_from_config

        scene, _ = scene_from_config(args.config)
        N = scene.n_particles
        per_point = 2.0 * len(pickle.dumps(scene)) + 8.0 * (3 * 3 * N + (3 * N) ** 2 + 2 * 3 * N)
    except (ValueError, TypeError, OSError):  # the estimate is only for the message, not for the refusal
        pass
    need = n * per_point
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        have_text = f"; this machine has {_bytes(have)}"
    except (ValueError, OSError, AttributeError):
        have_text = ""
    axes = " x ".join(f"{name} {k:,}" for name, k in counts)
    raise ConfigError(f"--vary: the grid has {n:.3g} points ({axes}), about {_bytes(need)} of memory at "
                      f"~{_bytes(per_point)} per point{have_text}; at most {MAX_SWEEP_POINTS:,} points per sweep "
                      "(split the grid into several sweeps)")


def _bytes(b: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if b < 1000 or unit == "PB":
            return f"{b:.3g} {unit}"
        b /= 1000
    return f"{b:.3g} PB"  # pragma: no cover


def _sweep(args) -> int:
    from ..scattering.validity import DipoleValidityWarning
    from .config import ConfigError
    from .output_dir import check_output_file, staged_file

    out = Path(args.output) if args.output else None
    if out is None or out.suffix not in (".nc", ".npz"):
        raise ConfigError(f"--output: expected a .nc or .npz file name, got {args.output!r}")
    check_output_file(out)  # a bad location fails now, not after the sweep
    plot = out.with_suffix(".png")
    if not args.no_plots:
        check_output_file(plot)
    from .sweep import parse_axis, save_sweep, sweep  # names the extra itself when xarray/tqdm are missing

    _check_grid_size(args)
    axes = [parse_axis(s) for s in args.vary]
    for ax in axes:
        if ax.name == "distance" and not (ax.values > 0).all():
            bad = float(ax.values[~(ax.values > 0)][0])
            raise ConfigError(f"--vary distance: the nearest-neighbour distance must be > 0 m, got {bad:g} m "
                              "(0 collapses the geometry, < 0 would mirror it)")
    executor = "serial" if args.serial else None
    if args.dask:
        executor = "dask-local" if args.dask == "local" else args.dask
    with warnings.catch_warnings(record=True) as caught:  # the sweep's one validity summary: a note line
        warnings.simplefilter("always", DipoleValidityWarning)
        ds = sweep(args.config, axes, dofs=args.dofs, executor=executor, workers=args.workers,
                   chunk_size=args.chunk_size, progress=not args.no_progress)
    for w in caught:
        if issubclass(w.category, DipoleValidityWarning):
            print(f"note: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with staged_file(out) as tmp:
        save_sweep(ds, tmp)
    written = [out.name]
    if not args.no_plots:
        from .plotting import plot_sweep

        with staged_file(plot) as tmp:
            plot_sweep(ds, tmp)
        written.append(plot.name)
    prov = json.loads(ds.attrs["provenance"])
    print(f"{prov['configurations']} configurations in {prov['timings_s']['total']:.2f} s "
          f"({prov['executor']}); wrote {', '.join(written)} to {out.parent}/")
    return 0


def _data_command(args) -> int:
    """``cdsolve simulate`` / ``identify`` / ``compare``: dipole-validity warnings become one note line each."""
    from ..scattering.validity import DipoleValidityWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.simplefilter("always", DipoleValidityWarning)
        status = _run_data_command(args)
    seen = set()
    for w in caught:  # one line each, no Python warning format (file, line, source) on a command line
        line = f"{'note' if issubclass(w.category, DipoleValidityWarning) else 'warning'}: {w.message}"
        if line not in seen:
            seen.add(line)
            print(line, file=sys.stdout if line.startswith("note") else sys.stderr)
    return status


def _run_data_command(args) -> int:
    """The work of :func:`_data_command` (their modules write the output directories)."""
    from .output_dir import check_output_directory

    check_output_directory(args.outdir, overwrite=args.overwrite)  # before the work, not after it
    if args.command == "simulate":
        from .simulate_job import simulate

        simulate(args.config, args.outdir, steps=args.steps, dt=args.dt, temperature=args.temperature,
                 damping=args.damping, linear=args.linear, seed=args.seed, overwrite=args.overwrite,
                 plots=not args.no_plots)
        return 0
    if args.command == "identify":
        from .identify_job import identify_report

        identify_report(args.data, args.outdir, masses=args.masses, dt=args.dt, compare=args.compare,
                        method=args.method, temperature=args.temperature, overwrite=args.overwrite,
                        plots=not args.no_plots)
        return 0
    import json as _json

    from .output_dir import staged_directory
    from .reference_tables import compare_table, read_table

    table = read_table(args.table)
    result = compare_table(table, args.config)
    with staged_directory(args.outdir, overwrite=args.overwrite) as tmp:
        (tmp / "comparison.md").write_text(result.markdown())
        (tmp / "comparison.json").write_text(_json.dumps(result.summary(), indent=1))
        if not args.no_plots:
            result.plot(tmp / "comparison.png")
    s = result.summary()
    print(f"{s['rows']} rows: largest total-force error {s['max_total_err']:.3e} (row {s['worst_row']}), "
          f"largest dipole-validity estimate {s['max_validity_estimate']:.3e}; wrote comparison.md, comparison.json"
          f"{'' if args.no_plots else ', comparison.png'} to {args.outdir}/")
    return 0


def _validate(args) -> int:
    from .validation_runner import run_validation, write_report

    results = run_validation(args.dir, only=args.only, timeout=args.timeout, include_slow=args.all)
    # a partial run (--only) must not overwrite the full report
    md, _ = write_report(results, Path(args.dir) / "output", "validation_report_partial" if args.only else "validation_report")
    bad = [r.script for r in results if r.status in ("failed", "error", "timeout")]
    print(f"report: {md}; " + (f"problems in {', '.join(bad)}" if bad else "all checks passed"))
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
