"""Command line: ``cdsolve run [CONFIG] -o OUTDIR``, ``cdsolve sweep CONFIG --vary ...``, ``cdsolve validate``.

``cdsolve run`` is :func:`cdsolve.workflow.main_job.run` (the files it writes are listed there).
Errors in the config are one line naming file and key, and nothing is written.

``cdsolve sweep CONFIG --vary phase=0:2pi:64 [--vary distance=1um:3um:32] -o sweep.nc`` evaluates the
grid (:mod:`cdsolve.workflow.sweep`) with a progress bar on local processes (or ``--dask tcp://host:8786`` /
``--dask local``) and writes the labelled arrays (NetCDF or NPZ) and a plot next to them.
``cdsolve validate`` runs ``validation/*.py`` and writes ``validation/output/validation_report.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from .main_job import run

__all__ = ["main", "run"]


def main(argv=None) -> int:
    from .config import ConfigError

    parser = argparse.ArgumentParser(prog="cdsolve", description="Coupled-dipole optical binding solver")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="solve a scene from a TOML config (default: bundled example)")
    p_run.add_argument("config", nargs="?", default=None, help="TOML config file (omit for the bundled example)")
    p_run.add_argument("-o", "--outdir", default="cdsolve-out", help="output directory (default: cdsolve-out)")
    p_run.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p_sw = sub.add_parser("sweep", help="evaluate a config on a parameter grid (xarray/NetCDF/NPZ)")
    p_sw.add_argument("config", help="TOML config file")
    p_sw.add_argument("--vary", action="append", required=True, metavar="NAME=SPEC",
                      help="parameter and values, e.g. phase=0:2pi:64, distance=1um:3um:21, power=0.1,0.2 "
                           "(repeat for a grid)")
    p_sw.add_argument("-o", "--output", default="sweep.nc", help="output file, .nc or .npz (default: sweep.nc)")
    p_sw.add_argument("--dofs", default=None, help="stiffness dofs, e.g. 'z' or 'xy' (default: all)")
    p_sw.add_argument("--dask", default=None, metavar="ADDRESS",
                      help="run on a Dask scheduler (tcp://host:8786) or 'local' (a local Dask cluster)")
    p_sw.add_argument("--serial", action="store_true", help="run in this process (no worker processes)")
    p_sw.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p_sw.add_argument("--chunk-size", type=int, default=None, help="configurations per task")
    p_sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_sw.add_argument("--no-plots", action="store_true", help="skip the PNG plot")
    p_val = sub.add_parser("validate", help="run the validation scripts and write a PASS/FAIL report")
    p_val.add_argument("--dir", default="validation", help="validation directory (default: ./validation)")
    p_val.add_argument("--only", action="append", default=None, metavar="SCRIPT", help="run only this script")
    p_val.add_argument("--timeout", type=float, default=900.0, help="per-script timeout [s]")
    p_val.add_argument("--all", action="store_true", help="also the slow reference cross-checks")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run(args.config, args.outdir, plots=not args.no_plots)
        elif args.command == "sweep":
            return _sweep(args)
        elif args.command == "validate":
            return _validate(args)
    except (ConfigError, ImportError, FileNotFoundError) as e:
        print(f"cdsolve: error: {e}", file=sys.stderr)
        return 2
    return 0


def _sweep(args) -> int:
    try:
        import tqdm  # noqa: F401
        import xarray  # noqa: F401
    except ImportError:
        raise ImportError("cdsolve sweep needs xarray and tqdm: pip install 'cdsolve[sweep]'") from None
    from .sweep import save_sweep, sweep

    out = Path(args.output)
    if out.suffix not in (".nc", ".npz"):
        from .config import ConfigError

        raise ConfigError(f"--output: expected a .nc or .npz file name, got {args.output!r}")
    executor = "serial" if args.serial else None
    if args.dask:
        executor = "dask-local" if args.dask == "local" else args.dask
    try:
        ds = sweep(args.config, args.vary, dofs=args.dofs, executor=executor, workers=args.workers,
                   chunk_size=args.chunk_size, progress=not args.no_progress)
    except ValueError as e:  # bad --dofs / --chunk-size / --workers: one line, nothing written
        from .config import ConfigError

        raise ConfigError(str(e)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    save_sweep(ds, out)
    written = [out.name]
    if not args.no_plots:
        from .plotting import plot_sweep

        plot_sweep(ds, out.with_suffix(".png"))
        written.append(out.with_suffix(".png").name)
    prov = json.loads(ds.attrs["provenance"])
    print(f"{prov['configurations']} configurations in {prov['timings_s']['total']:.2f} s "
          f"({prov['executor']}); wrote {', '.join(written)} to {out.parent}/")
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
