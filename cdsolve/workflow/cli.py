"""Command line: ``cdsolve run [CONFIG] -o OUTDIR``, ``cdsolve sweep CONFIG --vary ...``, ``cdsolve validate``.

Writes ``summary.json`` (forces, interaction forces, stiffness, modes, non-reciprocity factors,
solve diagnostics, provenance), ``results.npz``/``.mat``/``.h5`` (the same arrays in SI with their units
and provenance; HDF5 when h5py is installed), ``linear_model.npz``/``.json``, ``forces.png``,
``coupling_and_spectrum.png`` and ``report.md``. Without CONFIG the bundled example (two silica
spheres in two tweezers, like the 2022 optical-binding experiments) is run.
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
import time
from pathlib import Path

import numpy as np

from .config import example_config

__all__ = ["main", "run"]


def run(config: str | Path | None, outdir: str | Path, *, plots: bool = True, echo=print) -> dict:
    """Solve the scene of ``config`` and write the result files to ``outdir``; returns the summary dict."""
    from .._version import __version__
    from .config import load_config, scene_from_config
    from .io import write_results
    from ..scattering.dispatch import solve

    cfg_path = Path(config) if config is not None else example_config()
    cfg = load_config(cfg_path)
    scene, opts = scene_from_config(cfg)  # raises ConfigError before anything is written
    t0 = time.perf_counter()
    echo(f"cdsolve {__version__}: {scene.n_particles} particles, wavelength {scene.wavelength * 1e9:.1f} nm "
         f"({cfg_path.name})")
    import warnings

    from ..scattering.validity import DipoleValidityWarning

    with warnings.catch_warnings(record=True) as caught:  # shown once, as a note, and kept in the outputs
        warnings.simplefilter("always", DipoleValidityWarning)
        sol = solve(scene, **opts)
    validity = [str(w.message) for w in caught if issubclass(w.category, DipoleValidityWarning)]
    for w in caught:
        if not issubclass(w.category, DipoleValidityWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for msg in validity:
        echo(f"note: {msg}")
    F = sol.forces()
    F_iso = sol.isolated_forces()
    f_int = F - F_iso
    elapsed = time.perf_counter() - t0
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "cdsolve_version": __version__,
        "config": str(cfg_path),
        "method": sol.method,
        "solve_info": {k: v for k, v in sol.info.items()},
        "elapsed_s": elapsed,
        "units": {"positions": "m", "forces": "N", "wavelength": "m"},
        "scene": scene.describe(),
        "forces_N": F.tolist(),
        "isolated_forces_N": F_iso.tolist(),
        "interaction_forces_N": f_int.tolist(),
        "dipole_validity": validity[0] if validity else "within the dipole model's 1 % range",
    }
    try:  # each particle's own tweezer alone vs everything else (cdsolve.scattering.decomposition)
        from ..scattering.decomposition import own_tweezer_forces

        own_beam, F_own = own_tweezer_forces(scene)
        summary["own_tweezer_forces_N"] = F_own.tolist()
        summary["array_forces_N"] = (F - F_own).tolist()
        summary["units"]["array_forces_N"] = "N: array force = total - own tweezer alone (other beams + interaction)"
    except ValueError as e:
        summary["force_decomposition"] = f"skipped: {e}"
    arrays = {"positions": scene.positions, "forces": F, "isolated_forces": F_iso, "interaction_forces": f_int}
    # dipoles and local fields; with incoherent beam groups one (N, 3) array per group: (G, N, 3)
    for name in ("p", "m", "E_local", "H_local"):
        arrays[name] = sol.stacked(name) if hasattr(sol, "stacked") else getattr(sol, name)
    units = {"positions": "m", "forces": "N", "isolated_forces": "N", "interaction_forces": "N", "p": "C m",
             "m": "A m^2", "E_local": "V/m", "H_local": "A/m", "stiffness": "N/m"}
    provenance = {"cdsolve_version": __version__, "config": str(cfg_path), "method": sol.method,
                  "scene": scene.describe()}
    files = ["summary.json"]
    lin = _linear_part(scene, sol, summary, out, files, echo)
    if "stiffness_N_per_m" in summary:
        arrays["stiffness"] = np.array(summary["stiffness_N_per_m"])
    formats = ["npz", "mat"]
    try:
        import h5py  # noqa: F401

        formats.append("h5")
    except ImportError:
        summary["hdf5"] = "not written: h5py is not installed (pip install 'cdsolve[hdf5]')"
    files += [p.name for p in write_results(out / "results", arrays, units, provenance, formats)]
    with open(out / "summary.json", "w") as fh:
        json.dump(summary, fh, indent=2, default=float)
    if plots:
        from .plotting import plot_forces, plot_linear_model

        plot_forces(scene, F, f_int, out / "forces.png")
        files.append("forces.png")
        if lin is not None:
            plot_linear_model(lin, out / "coupling_and_spectrum.png")
            files.append("coupling_and_spectrum.png")
    _report(out, cfg_path, scene, sol, F, f_int, files, summary)
    echo(f"wrote {', '.join(files + ['report.md'])} to {out}/ in {elapsed:.2f} s")
    return summary


#: largest scene for which ``run`` linearizes all 3N coordinates and computes every pair's NRFs
MAX_LINEARIZE = 200
MAX_NRF_PAIRS = 66


def _linear_part(scene, sol, summary: dict, out: Path, files: list, echo):
    """Stiffness, modes and non-reciprocity factors of the scene (when small enough), into summary/files."""
    from ..dynamics.jacobian import force_jacobian
    from ..dynamics.linear_model import LinearModel
    from ..dynamics.nonreciprocity import all_pair_nonreciprocity_factors

    N = scene.n_particles
    if N > MAX_LINEARIZE:
        summary["linearization"] = f"skipped: {N} particles > {MAX_LINEARIZE} (use cdsolve.dynamics.linear_model with chosen dofs)"
        return None
    J = force_jacobian(sol)
    summary["stiffness_N_per_m"] = (-J).tolist()
    summary["units"]["stiffness_N_per_m"] = "N/m, rows/cols (x_0, y_0, z_0, x_1, ...)"
    lin = None
    try:
        masses = scene.masses()
    except ValueError as e:
        summary["linearization"] = f"stiffness only (no modes): {e}"
    else:
        from .._version import __version__

        sel = np.arange(3 * N)
        lin = LinearModel(stiffness=-J, masses=masses[sel // 3], dofs=sel,
                          labels=[f"{'xyz'[q % 3]}_{q // 3}" for q in sel], forces=sol.forces().ravel(),
                          positions=scene.positions.copy(),
                          provenance={"cdsolve_version": __version__, "at": "positions", "scene": scene.describe()})
        lin.save(out / "linear_model.npz")
        lin.save(out / "linear_model.json")
        files += ["linear_model.npz", "linear_model.json"]
        w = lin.mode_frequencies()
        summary["trap_frequencies_rad_per_s"] = lin.trap_frequencies.tolist()
        summary["mode_frequencies_rad_per_s"] = {"real": w.real.tolist(), "imag": w.imag.tolist()}
        summary["stable"] = lin.is_stable()
        summary["units"]["mode_frequencies_rad_per_s"] = "rad/s, exp(-i omega t): Im > 0 grows"
    n_pairs = N * (N - 1) // 2
    if n_pairs <= MAX_NRF_PAIRS:
        summary["nonreciprocity_factors"] = {
            f"{i}-{j}": {"zeroth_xyz": r.zeroth.tolist(), "first_P_v_w": r.first.tolist()}
            for (i, j), r in all_pair_nonreciprocity_factors(sol, jacobian=J).items()}
        summary["units"]["nonreciprocity_factors"] = ("dimensionless; zeroth[axis]; first[P in (i, j)][force axis v]"
                                                      "[coordinate w] (Jazayeri et al. eq. 1-2)")
    else:
        summary["nonreciprocity_factors"] = f"skipped: {n_pairs} pairs > {MAX_NRF_PAIRS}"
    return lin


def _report(out: Path, cfg_path: Path, scene, sol, F, f_int, files, summary) -> None:
    lines = [
        f"# cdsolve result for `{cfg_path.name}`",
        "",
        f"{scene.n_particles} particles, vacuum wavelength {scene.wavelength * 1e9:.2f} nm, host index "
        f"{scene.n_medium:g}; solve method `{sol.method}`, relative residual {sol.info.get('residual')}.",
        "",
        "| particle | x [um] | y [um] | z [um] | F_x [fN] | F_y [fN] | F_z [fN] | f_int,x [fN] | f_int,y [fN] | f_int,z [fN] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (r, f, g) in enumerate(zip(scene.positions, F, f_int)):
        lines.append(f"| {i} | " + " | ".join(f"{v * 1e6:.4g}" for v in r) + " | "
                     + " | ".join(f"{v * 1e15:.4g}" for v in f) + " | " + " | ".join(f"{v * 1e15:.4g}" for v in g) + " |")
    if "mode_frequencies_rad_per_s" in summary:
        w = np.array(summary["mode_frequencies_rad_per_s"]["real"]) + 1j * np.array(
            summary["mode_frequencies_rad_per_s"]["imag"])
        lines += ["", f"Linearized about these positions: {'stable' if summary['stable'] else 'UNSTABLE (a mode grows)'}; "
                  f"mode frequencies / 2 pi [kHz]: " + ", ".join(f"{z.real / 2e3 / np.pi:.3f}{z.imag / 2e3 / np.pi:+.3g}i"
                                                             for z in w) + "."]
    if isinstance(summary.get("nonreciprocity_factors"), dict):
        lines += ["", "| pair | NRF0 x | NRF0 y | NRF0 z |", "|---|---|---|---|"]
        for key, v in summary["nonreciprocity_factors"].items():
            lines.append(f"| {key} | " + " | ".join(f"{q:.3f}" for q in v["zeroth_xyz"]) + " |")
    lines += ["", f"Dipole-model validity (cdsolve.scattering.validity): {summary['dipole_validity']}."]
    lines += ["", "Files: " + ", ".join(f"`{f}`" for f in files), ""]
    if "forces.png" in files:
        lines += ["![forces](forces.png)", ""]
    if "coupling_and_spectrum.png" in files:
        lines += ["![coupling matrix and spectrum](coupling_and_spectrum.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


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
