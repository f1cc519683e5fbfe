"""The main job: ``cdsolve run CONFIG -o OUTDIR`` solves a config's scene and writes its result files.

Stages (each timed; a stage that runs longer than a second says so on stderr while it runs):

1. ``load``: the config (:func:`cdsolve.workflow.config.scene_from_config`, its ``[linearize]`` section);
2. ``solve`` + ``observables`` at the configured positions: forces, isolated / interaction / own-tweezer
   / array forces (names in :mod:`cdsolve.optics.conventions`), torques, absorbed power per particle;
3. ``equilibrium`` (default, ``[linearize] at = "equilibrium"``): the chosen dofs move to where the forces
   vanish (:func:`cdsolve.dynamics.equilibrium.equilibrium`); a dof without a trap is a note and the
   model is linearized at the configured positions instead, said so in every output;
4. ``jacobian``, ``modes`` (one eigen-decomposition), ``nonreciprocity`` (every pair, at the
   linearization point) -- for at most ``MAX_LINEARIZE`` particles;
5. ``write``: everything into a staged directory that replaces ``OUTDIR`` only when complete
   (:func:`cdsolve.workflow.output_dir.staged_directory`).

Files: ``summary.json`` (strict JSON: scalars, per-particle vectors, the parsed config with units,
timings; ``null`` with a note where a value does not exist), ``results.npz`` (and ``.mat``/``.h5`` on
request: per-particle arrays in SI with units and provenance), ``linear_model.npz`` (stiffness, masses,
dofs, linearization point; :meth:`cdsolve.LinearModel.load` reads it), ``modes.npz`` (mode frequencies
and mode shapes), ``forces.png``, ``coupling_and_spectrum.png``, ``report.md``. Dense matrices are only
in the binary files.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._version import __version__
from ..dynamics.equilibrium import dof_labels, equilibrium
from ..dynamics.jacobian import force_jacobian, select_dofs
from ..dynamics.linear_model import LinearModel
from ..dynamics.nonreciprocity import all_pair_nonreciprocity_factors
from ..scattering.decomposition import own_tweezer_forces
from ..scattering.dispatch import solve
from ..scattering.observables import absorbed_powers
from ..scattering.validity import DipoleValidityWarning
from .config import example_config, linearize_options, load_config, parsed_config, scene_from_config
from .io import write_results
from .output_dir import staged_directory

__all__ = ["run", "MAX_LINEARIZE", "MAX_NRF_PAIRS"]

#: largest scene for which ``run`` linearizes (equilibrium, 3N x 3N stiffness, modes)
MAX_LINEARIZE = 200
#: most pairs for which ``run`` computes non-reciprocity factors
MAX_NRF_PAIRS = 66
#: a stage running longer than this [s] announces itself on stderr
PROGRESS_AFTER = 1.0


class _Stages:
    """Timings of named stages; progress lines on ``stream`` for stages that run longer than a second."""

    def __init__(self, stream=None):
        self.timings: dict[str, float] = {}
        self.stream = sys.stderr if stream is None else stream

    @contextmanager
    def __call__(self, name: str, what: str):
        shown = []
        t0 = time.perf_counter()

        def announce():
            shown.append(True)
            print(f"cdsolve: {what} ...", file=self.stream, flush=True)

        timer = threading.Timer(PROGRESS_AFTER, announce)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            dt = time.perf_counter() - t0
            self.timings[name] = self.timings.get(name, 0.0) + dt
            if shown:
                print(f"cdsolve: {what}: done in {dt:.2f} s", file=self.stream, flush=True)


def process_wall_time() -> float | None:
    """Seconds since this process started (Linux ``/proc``), or None where that is not available."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _strict_json(obj, path="", notes=None):
    """``obj`` with every non-finite float replaced by None (strict JSON); ``notes[path]`` says where."""
    if isinstance(obj, dict):
        return {k: _strict_json(v, f"{path}.{k}" if path else str(k), notes) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict_json(v, f"{path}[{i}]", notes) for i, v in enumerate(obj)]
    if isinstance(obj, (np.generic,)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        if notes is not None:
            notes.setdefault(path.split("[")[0], "null where the value does not exist (non-finite)")
        return None
    return obj


def _complex_json(z) -> dict:
    z = np.asarray(z)
    return {"real": z.real.tolist(), "imag": z.imag.tolist()}


def _polarizabilities(scene) -> list[dict]:
    """One entry per distinct particle object: the particle indices and its alpha_e [F m^2], alpha_m [m^3]."""
    groups: dict[int, list[int]] = {}
    for i, q in enumerate(scene.particles):
        groups.setdefault(id(q), []).append(i)
    ae, am = scene.polarizabilities()
    return [{"particles": idx, "particle": repr(scene.particles[idx[0]]),
             "alpha_e_F_m2": _complex_json(ae[idx[0]]), "alpha_m_m3": _complex_json(am[idx[0]])}
            for idx in groups.values()]


def _sum_parts(sol, fn):
    """Sum of ``fn(part)`` over the coherent parts of a (coherent or incoherent) solution."""
    parts = sol.coherent_parts
    out = fn(parts[0])
    for part in parts[1:]:
        out = out + fn(part)
    return out


def run(config: str | Path | None, outdir: str | Path, *, plots: bool = True, overwrite: bool = False,
        force: bool = False, formats=None, echo=print) -> dict:
    """Solve the scene of ``config`` and write the result files to ``outdir``; returns the summary dict.

    Parameters
    ----------
    config : str, os.PathLike or None
        TOML config (``docs/config.md``); None runs the bundled example.
    outdir : str or os.PathLike
        Output directory: created whole when the run succeeds; a non-empty one is refused unless
        ``overwrite`` (then replaced whole, never merged).
    plots : bool
        Write the PNG plots.
    force : bool
        Solve even when the memory estimate exceeds the available memory (:func:`cdsolve.solve`).
    formats : None or sequence of {"npz", "mat", "h5"}
        Formats of the per-particle results file (``results.<ext>``); default npz and mat, and h5 when
        h5py is installed (the summary says when it is not).
    echo : callable
        Where the console lines go (``print`` for the CLI).
    """
    t_start = time.perf_counter()
    stages = _Stages()
    if formats is None:
        formats = ("npz", "mat", "h5") if importlib.util.find_spec("h5py") is not None else ("npz", "mat")
    formats = tuple(formats)
    bad = [f for f in formats if f not in ("npz", "mat", "h5")]
    if bad or not formats:
        raise ValueError(f"formats: expected some of 'npz', 'mat', 'h5', got {list(formats)!r}")
    with stages("load", "reading the config"):
        cfg_path = Path(config) if config is not None else example_config()
        cfg = load_config(cfg_path)
        scene, opts = scene_from_config(cfg)  # raises ConfigError before anything is written
        lin_opts = linearize_options(cfg)
        parsed = parsed_config(cfg)
    N = scene.n_particles
    echo(f"cdsolve {__version__}: {N} particles, wavelength {scene.wavelength * 1e9:.1f} nm ({cfg_path.name})")
    with stages("solve", f"solving {6 * N} coupled-dipole unknowns"):
        with warnings.catch_warnings(record=True) as caught:  # shown once, as a note, and kept in the outputs
            warnings.simplefilter("always", DipoleValidityWarning)
            sol = solve(scene, **opts, force=force)
        validity = [str(w.message) for w in caught if issubclass(w.category, DipoleValidityWarning)]
        for w in caught:
            if not issubclass(w.category, DipoleValidityWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for msg in validity:
        echo(f"note: {msg}")
    with stages("observables", "forces, torques and absorbed powers"):
        F = sol.forces()
        F_iso = sol.isolated_forces()
        f_int = F - F_iso
        torques = sol.torques()
        P_abs = _sum_parts(sol, absorbed_powers)
    summary: dict = {
        "cdsolve_version": __version__,
        "results_formats": list(formats) if "h5" in formats else
        list(formats) + ["(h5 not written: h5py is not installed; pip install 'cdsolve[hdf5]')"],
        "config": str(cfg_path),
        "config_parsed": parsed,
        "n_particles": N,
        "wavelength_m": scene.wavelength,
        "medium_index": scene.n_medium,
        "solve": {"method": sol.method, **{k: v for k, v in sol.info.items() if k not in ("timings", "groups")}},
        "positions_m": scene.positions.tolist(),
        "forces_N": F.tolist(),
        "isolated_forces_N": F_iso.tolist(),
        "interaction_forces_N": f_int.tolist(),
        "torques_N_m": torques.tolist(),
        "absorbed_power_W": P_abs.tolist(),
        "polarizabilities": _polarizabilities(scene),
        "dipole_validity": validity[0] if validity else "within the dipole model's 1 % range",
        "units": {"positions_m": "m", "forces_N": "N", "isolated_forces_N": "N: the particle alone in the same beams",
                  "interaction_forces_N": "N: interaction force = total - isolated",
                  "torques_N_m": "N m, about each particle centre", "absorbed_power_W": "W per particle (heating)",
                  "polarizabilities": "alpha_e [F m^2] (p = alpha_e E), alpha_m [m^3] (m = alpha_m H), 3x3"},
    }
    arrays = {"positions": scene.positions, "forces": F, "isolated_forces": F_iso, "interaction_forces": f_int,
              "torques": torques, "absorbed_power": P_abs}
    ae, am = scene.polarizabilities()
    arrays.update(alpha_e=ae, alpha_m=am)
    # dipoles and local fields; with incoherent beam groups one (N, 3) array per group: (G, N, 3)
    for name in ("p", "m", "E_local", "H_local"):
        arrays[name] = sol.stacked(name) if hasattr(sol, "stacked") else getattr(sol, name)
    units = {"positions": "m", "forces": "N", "isolated_forces": "N", "interaction_forces": "N", "torques": "N m",
             "absorbed_power": "W", "alpha_e": "F m^2", "alpha_m": "m^3", "p": "C m", "m": "A m^2",
             "E_local": "V/m", "H_local": "A/m"}
    try:  # each particle's own tweezer alone vs everything else (cdsolve.scattering.decomposition)
        with stages("decomposition", "own-tweezer forces"):
            _, F_own = own_tweezer_forces(scene)
        summary["own_tweezer_forces_N"] = F_own.tolist()
        summary["array_forces_N"] = (F - F_own).tolist()
        summary["units"]["own_tweezer_forces_N"] = "N: the particle alone in its own tweezer alone"
        summary["units"]["array_forces_N"] = "N: array force = total - own tweezer (other beams + interaction)"
        arrays.update(own_tweezer_forces=F_own, array_forces=F - F_own)
        units.update(own_tweezer_forces="N", array_forces="N")
    except ValueError as e:
        summary["force_decomposition"] = f"skipped: {e}"
    lin, modes = _linear_part(scene, sol, opts, lin_opts, summary, arrays, units, stages, echo)

    files = ["summary.json"]
    provenance = {"cdsolve_version": __version__, "config": str(cfg_path), "method": sol.method,
                  "config_parsed": parsed}
    with stages("write", "writing the result files"), staged_directory(outdir, overwrite=overwrite) as out:
        files += [p.name for p in write_results(out / "results", arrays, units, provenance, formats)]
        if lin is not None:
            lin.save(out / "linear_model.npz", derived=False)
            files.append("linear_model.npz")
        if modes is not None:
            np.savez(out / "modes.npz", **modes, meta=json.dumps({
                "units": {"frequencies": "rad/s (exp(-i omega t): Im > 0 grows)", "frequencies_Hz": "Hz",
                          "shapes": "columns: right eigenvectors of D = M^-1 K over the dofs (damped: (x, v))"},
                "dofs": summary["linearization"]["dofs"], "provenance": provenance}))
            files.append("modes.npz")
        if plots:
            with stages("plots", "plotting"):
                from .plotting import plot_forces, plot_linear_model

                plot_forces(scene, F, f_int, out / "forces.png")
                files.append("forces.png")
                if lin is not None:
                    plot_linear_model(lin, out / "coupling_and_spectrum.png")
                    files.append("coupling_and_spectrum.png")
        files.append("report.md")
        summary["files"] = files
        total = time.perf_counter() - t_start
        summary["timings_s"] = {**{k: round(v, 6) for k, v in stages.timings.items()}, "total_run": round(total, 6)}
        _report(out, cfg_path, scene, sol, F, f_int, files, summary)
        notes: dict = {}
        clean = _strict_json(summary, notes=notes)
        if notes:
            clean["null_values"] = notes
        (out / "summary.json").write_text(json.dumps(clean, indent=1, allow_nan=False))
    total = time.perf_counter() - t_start
    process = process_wall_time()
    echo(f"wrote {', '.join(files)} to {Path(outdir)}/")
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in stages.timings.items() if v >= 0.005)
    echo(f"total wall time {process if process is not None else total:.2f} s"
         + (f" (run {total:.2f} s, start-up and imports {process - total:.2f} s)" if process is not None else "")
         + f"; stages: {parts}")
    return summary


def _linear_part(scene, sol, opts, lin_opts, summary: dict, arrays: dict, units: dict, stages, echo):
    """Equilibrium, stiffness, modes and non-reciprocity factors (when small enough) into summary/arrays."""
    N = scene.n_particles
    at = lin_opts["at"]
    sel = select_dofs(N, lin_opts["dofs"])
    labels = dof_labels(sel)
    info = {"at": at, "dofs": labels, "positions_m": None, "displacements_m": None, "residual_force_N": None,
            "converged": None, "iterations": 0}
    summary["linearization"] = info
    if N > MAX_LINEARIZE:
        info["note"] = (f"skipped: {N} particles > {MAX_LINEARIZE} (use cdsolve.linearize(scene, dofs=...) "
                        "with chosen dofs)")
        echo(f"note: linearization {info['note']}")
        return None, None
    lin_scene, lin_sol, J = scene, sol, None
    if at == "equilibrium" and opts.get("orders") is not None:
        info["at"] = "positions"
        info["note"] = ("the equilibrium search uses the self-consistent solve; with solve.orders set the model "
                        "is linearized at the configured positions")
        echo(f"note: {info['note']}")
    elif at == "equilibrium":
        with stages("equilibrium", f"searching the equilibrium of {len(sel)} dofs"):
            eq = equilibrium(scene, dofs=sel, method=opts.get("method", "auto"))
        info.update(iterations=eq.iterations, converged=eq.converged)
        if eq.converged:
            lin_scene, lin_sol, J = eq.scene, eq.solution, eq.jacobian
            echo(f"linearized at the equilibrium: {eq.message()}")
        else:
            info["at"] = "positions"
            info["note"] = eq.message() + "; linearized at the configured positions instead"
            echo(f"note: {info['note']}")
    if J is None:
        with stages("jacobian", f"stiffness matrix ({len(sel)} dofs)"):
            J = force_jacobian(lin_sol, dofs=sel)
    F_lin = lin_sol.forces()
    info.update(positions_m=lin_scene.positions.tolist(),
                displacements_m=(lin_scene.positions - scene.positions).tolist(),
                residual_force_N=float(np.abs(F_lin.ravel()[sel]).max()))
    arrays.update(linearization_positions=lin_scene.positions, displacements=lin_scene.positions - scene.positions)
    units.update(linearization_positions="m", displacements="m")
    try:
        masses = lin_scene.masses()[sel // 3]
    except ValueError as e:
        info["note"] = (info.get("note", "") + "; " if info.get("note") else "") + f"stiffness only (no modes): {e}"
        echo(f"note: {e}: no masses, so no linear model or modes (give density= to the particles)")
        masses = None
    lin = modes = None
    if masses is not None:
        lin = LinearModel(stiffness=-J, masses=masses, dofs=sel, labels=labels, damping=lin_opts["damping"],
                          forces=F_lin.ravel()[sel], positions=lin_scene.positions.copy(),
                          provenance={"cdsolve_version": __version__, "at": info["at"],
                                      "scene": lin_scene.describe()})
        with stages("modes", f"eigenmodes of the {len(sel)} x {len(sel)} dynamical matrix"):
            mech = lin.mechanical_modes  # the one eigen-decomposition; frequencies and stability come from it
            w = lin.mode_frequencies()
            stable = lin.is_stable()
        trap = lin.trap_frequencies
        summary["trap_frequencies_Hz"] = (trap / (2 * np.pi)).tolist()
        summary["trap_frequencies_rad_per_s"] = trap.tolist()
        summary["mode_frequencies_rad_per_s"] = _complex_json(w)
        summary["mode_frequencies_Hz"] = _complex_json(w / (2 * np.pi))
        summary["stable"] = stable
        summary["units"].update(
            trap_frequencies_Hz="Hz, sqrt(K_ii/m_i)/(2 pi) per dof (null: no trap, K_ii <= 0)",
            mode_frequencies_rad_per_s="rad/s, exp(-i omega t): Im > 0 grows",
            mode_frequencies_Hz="Hz (the same frequencies / 2 pi)")
        modes = {"frequencies": w, "frequencies_Hz": w / (2 * np.pi), "shapes": np.asarray(mech.modes.right),
                 "dofs": sel}
        arrays.update(mode_frequencies=w, trap_frequencies_Hz=trap / (2 * np.pi))
        units.update(mode_frequencies="rad/s", trap_frequencies_Hz="Hz")
        kHz = ", ".join(f"{z.real / 2e3 / np.pi:.1f}" for z in w[:12]) + (", ..." if len(w) > 12 else "")
        echo(f"modes [kHz]: {kHz}; {'stable' if stable else 'UNSTABLE (a mode grows)'}")
    n_pairs = N * (N - 1) // 2
    if n_pairs <= MAX_NRF_PAIRS and len(sel) == 3 * N:
        with stages("nonreciprocity", f"non-reciprocity factors of {n_pairs} pairs"):
            nrf = all_pair_nonreciprocity_factors(lin_sol, jacobian=J)
        summary["nonreciprocity_factors"] = {
            f"{i}-{j}": {"zeroth_xyz": r.zeroth.tolist(), "first_P_v_w": r.first.tolist()} for (i, j), r in nrf.items()}
        summary["units"]["nonreciprocity_factors"] = ("dimensionless, at the linearization point; zeroth[axis]; "
                                                      "first[P in (i, j)][force axis v][coordinate w] "
                                                      "(Jazayeri et al. eq. 1-2)")
    else:
        why = f"{n_pairs} pairs > {MAX_NRF_PAIRS}" if n_pairs > MAX_NRF_PAIRS else "needs all 3N dofs"
        summary["nonreciprocity_factors"] = f"skipped: {why}"
    return lin, modes


def _report(out: Path, cfg_path: Path, scene, sol, F, f_int, files, summary) -> None:
    lines = [
        f"# cdsolve result for `{cfg_path.name}`",
        "",
        f"{scene.n_particles} particles, vacuum wavelength {scene.wavelength * 1e9:.2f} nm, host index "
        f"{scene.n_medium:g}; solve method `{sol.method}`, relative residual {sol.info.get('residual')}.",
        "",
        "Forces at the configured positions (interaction force = total - isolated).",
        "",
        "| particle | x [um] | y [um] | z [um] | F_x [fN] | F_y [fN] | F_z [fN] | f_int,x [fN] | f_int,y [fN] | f_int,z [fN] |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (r, f, g) in enumerate(zip(scene.positions[:200], F, f_int)):
        lines.append(f"| {i} | " + " | ".join(f"{v * 1e6:.4g}" for v in r) + " | "
                     + " | ".join(f"{v * 1e15:.4g}" for v in f) + " | " + " | ".join(f"{v * 1e15:.4g}" for v in g) + " |")
    if scene.n_particles > 200:
        lines.append(f"| ... | ({scene.n_particles - 200} more in results.npz) |")
    info = summary.get("linearization", {})
    if info.get("note"):
        lines += ["", f"Linearization: {info['note']}."]
    if "mode_frequencies_rad_per_s" in summary:
        w = np.array(summary["mode_frequencies_rad_per_s"]["real"]) + 1j * np.array(
            summary["mode_frequencies_rad_per_s"]["imag"])
        where = ("the equilibrium (largest displacement from the configured positions "
                 f"{np.abs(np.array(info['displacements_m'])).max() * 1e9:.3g} nm)") if info["at"] == "equilibrium" \
            else "the configured positions"
        lines += ["", f"Linearized about {where}: {'stable' if summary['stable'] else 'UNSTABLE (a mode grows)'}; "
                  f"mode frequencies / 2 pi [kHz]: " + ", ".join(f"{z.real / 2e3 / np.pi:.3f}{z.imag / 2e3 / np.pi:+.3g}i"
                                                             for z in w[:60]) + ("..." if len(w) > 60 else ".")]
    if isinstance(summary.get("nonreciprocity_factors"), dict):
        lines += ["", "| pair | NRF0 x | NRF0 y | NRF0 z |", "|---|---|---|---|"]
        for key, v in summary["nonreciprocity_factors"].items():
            lines.append(f"| {key} | " + " | ".join(f"{q:.3f}" for q in v["zeroth_xyz"]) + " |")
    lines += ["", f"Dipole-model validity (cdsolve.scattering.validity): {summary['dipole_validity']}."]
    lines += ["", "Timings [s]: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["timings_s"].items()) + "."]
    lines += ["", "Files: " + ", ".join(f"`{f}`" for f in files), ""]
    if "forces.png" in files:
        lines += ["![forces](forces.png)", ""]
    if "coupling_and_spectrum.png" in files:
        lines += ["![coupling matrix and spectrum](coupling_and_spectrum.png)", ""]
    (out / "report.md").write_text("\n".join(lines))
