"""Benchmark: solve + all forces for a square lattice of silica spheres under a plane wave.

Issue #2 target: 1024 silica spheres (radius 50 nm, n = 1.45, 1064 nm, vacuum) on a 32x32 square
lattice of 600 nm pitch, plane wave along z (x-polarized). Prints per-stage timings as JSON and,
with ``--compare-npz`` (written by ``bench_lattice_miepy.py --out``), the force difference to MiePy.
For a same-run ratio against MiePy time both whole processes in turn, e.g. with
``/usr/bin/time -v`` or hyperfine:

    python benchmarks/bench_lattice.py            # cdsolve
    python benchmarks/bench_lattice_miepy.py      # MiePy lmax=2 (needs pip install '.[validation]')

``--dense-lu`` also times a dense LU of the same 6N x 6N system (the floor an iterative solve must beat).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def lattice(n: int, pitch: float) -> np.ndarray:
    xs = (np.arange(n) - (n - 1) / 2) * pitch
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), np.zeros(n * n)], axis=1)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32, help="lattice side (N = n^2 particles)")
    ap.add_argument("--pitch", type=float, default=600e-9)
    ap.add_argument("--method", default="auto", choices=["auto", "direct", "iterative", "fft"])
    ap.add_argument("--dense-lu", action="store_true", help="also time a dense LU of the system")
    ap.add_argument("--compare-npz", default=None, help="MiePy forces at 1 V/m (.npz from bench_lattice_miepy.py --out)")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    import cdsolve as cd
    from cdsolve.scattering.observables import isolated_forces

    t_import = time.perf_counter() - t_start
    stages = {"import": t_import}
    t0 = time.perf_counter()
    scene = cd.Scene(positions=lattice(args.n, args.pitch), particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=1064e-9, polarization=(1, 0, 0), amplitude=1.0))
    stages["scene"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = cd.solve(scene, method=args.method)
    stages["solve_total"] = time.perf_counter() - t0
    stages.update({f"solve.{k}": v for k, v in sol.info["timings"].items()})
    t0 = time.perf_counter()
    F = sol.forces()
    stages["forces"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    f_int = F - isolated_forces(scene)
    stages["interaction_forces_extra"] = time.perf_counter() - t0
    result = {
        "n_particles": scene.n_particles,
        "n_unknowns": 6 * scene.n_particles,
        "method": sol.method,
        "iterations": sol.info.get("iterations"),
        "residual": sol.info["residual"],
        "seconds": stages,
        "solve_plus_forces_s": stages["solve_total"] + stages["forces"],
        "max_binding_over_max_force": float(np.abs(f_int).max() / np.abs(F).max()),
    }
    if args.dense_lu:
        import scipy.linalg as sla

        from cdsolve.scattering.solver import _operator

        A = _operator(scene).dense()
        t0 = time.perf_counter()
        sla.lu_factor(A, check_finite=False)
        result["dense_lu_s"] = time.perf_counter() - t0
    if args.compare_npz:
        with np.load(args.compare_npz) as ref:
            Fm = ref["forces"]  # MiePy, same lattice, same 1 V/m plane wave
        result["vs_miepy"] = {
            "max_abs_diff_over_max_force": float(np.abs(F - Fm).max() / np.abs(Fm).max()),
            "max_binding_diff_over_max_binding": float(
                np.abs((F - F.mean(axis=0)) - (Fm - Fm.mean(axis=0))).max() / np.abs(Fm - Fm.mean(axis=0)).max()),
        }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
