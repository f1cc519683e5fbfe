"""The main job: ``cdsolve run CONFIG -o OUTDIR`` solves a config's scene and writes its result files.

Writes ``summary.json`` (forces, interaction forces, stiffness, modes, non-reciprocity factors,
solve diagnostics, provenance), ``results.npz``/``.mat``/``.h5`` (the same arrays in SI with their units
and provenance; HDF5 when h5py is installed), ``linear_model.npz``/``.json``, ``forces.png``,
``coupling_and_spectrum.png`` and ``report.md``. Without CONFIG the bundled example (two silica
spheres in two tweezers, like the 2022 optical-binding experiments) is run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .config import example_config

__all__ = ["run"]


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
