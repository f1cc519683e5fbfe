#!/usr/bin/env python
"""Benchmark MiePy (GMMT) on an n x n square lattice of silica spheres; save its forces.

Geometry (defaults): 32 x 32 = 1024 spheres, radius 50 nm, n = 1.45, vacuum, vacuum
wavelength 1064 nm, square lattice in the x-y plane (z = 0) with 600 nm pitch centred
on the origin, x_i = (i - (n-1)/2) * pitch; plane wave along +z, polarized along x,
amplitude 1 V/m (forces scale with |E0|^2), phase reference at the origin.

Times (wall clock, after a small warm-up solve): the MiePy ``sphere_cluster`` constructor
(Mie coefficients + source expansion + aggregate T-matrix + linear solve; the aggregate
T-matrix build and the linear solve are also timed separately by wrapping MiePy's own
functions) and ``cluster.force()`` for all particles.  Prints one JSON object on stdout and
saves positions/forces to the ``.npz`` given on the command line (positional or ``--out``), so
that cdsolve's lattice benchmark (``bench_lattice.py --compare-npz``) can compare its forces with
MiePy's as a sanity check.  npz keys: positions (N,3) [m], forces (N,3) [N] at 1 V/m,
force_isolated (3,) [N], radius, index, wavelength, medium_index, pitch, lmax, direction,
polarization, amplitude, solver, timings_json.

Solver: by default MiePy's own default (``method=None`` -> ``miepy.solver.bicgstab``:
Eigen BiCGSTAB, identity preconditioner, relative residual 1e-5, dense OpenMP mat-vec);
``--method exact`` uses dense LU.

    /work/venv/bin/python benchmarks/bench_lattice_miepy.py --out out/miepy_lattice.npz
    /work/venv/bin/python benchmarks/bench_lattice_miepy.py --n 8 --lmax 3 /tmp/small.npz
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def parse(argv=None):
    ap = argparse.ArgumentParser(description="MiePy lattice benchmark (forces saved to .npz)")
    ap.add_argument("out_pos", nargs="?", default=None, metavar="OUT.npz",
                    help="output .npz path for positions/forces (same as --out)")
    ap.add_argument("--out", default=None, help="output .npz path for positions/forces")
    ap.add_argument("--n", type=int, default=32, help="lattice is n x n (default 32)")
    ap.add_argument("--lmax", type=int, default=2, help="multipole order (default 2)")
    ap.add_argument("--pitch", type=float, default=600e-9, help="lattice pitch [m] (default 600e-9)")
    ap.add_argument("--radius", type=float, default=50e-9, help="sphere radius [m] (default 50e-9)")
    ap.add_argument("--index", type=float, default=1.45, help="sphere refractive index (default 1.45)")
    ap.add_argument("--wavelength", type=float, default=1064e-9, help="vacuum wavelength [m] (default 1064e-9)")
    ap.add_argument("--method", choices=["default", "bicgstab", "exact"], default="default",
                    help="MiePy linear solver (default: MiePy's default = bicgstab)")
    ap.add_argument("--threads", type=int, default=None,
                    help="set OMP_NUM_THREADS before importing MiePy (default: inherit environment)")
    args = ap.parse_args(argv)
    if args.out and args.out_pos and args.out != args.out_pos:
        ap.error("give the output path once (positional or --out)")
    args.out = args.out or args.out_pos
    return args


def main(argv=None):
    args = parse(argv)
    if args.threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    t_import = time.perf_counter()
    import numpy as np

    import miepy
    t_import = time.perf_counter() - t_import

    method = {"default": None, "bicgstab": miepy.solver.bicgstab, "exact": miepy.solver.exact}[args.method]
    n = args.n
    c = (np.arange(n) - (n - 1) / 2) * args.pitch
    X, Y = np.meshgrid(c, c, indexing="ij")
    positions = np.stack([X.ravel(), Y.ravel(), np.zeros(n * n)], axis=1)
    source = miepy.sources.plane_wave(polarization=[1, 0], theta=0.0, phi=0.0, amplitude=1.0)
    material = miepy.constant_material(index=args.index)

    # stage timers: wrap MiePy's own functions (behaviour unchanged)
    stage = {"aggregate_tmatrix_s": 0.0, "linear_solve_s": 0.0}
    solver_used = []
    inter = miepy.interactions
    _agg, _solve = inter.sphere_aggregate_tmatrix, inter.solve_linear_system

    def agg(*a, **k):
        t = time.perf_counter()
        r = _agg(*a, **k)
        stage["aggregate_tmatrix_s"] += time.perf_counter() - t
        return r

    def solve(*a, **k):
        solver_used.append(str(k.get("method", a[2] if len(a) > 2 else None)))
        t = time.perf_counter()
        r = _solve(*a, **k)
        stage["linear_solve_s"] += time.perf_counter() - t
        return r

    def build():
        return miepy.sphere_cluster(position=positions_, radius=args.radius, material=material, source=source,
                                    wavelength=args.wavelength, lmax=args.lmax, method=method)

    # warm-up (library loading, first-call overheads) on 2 spheres, not timed
    positions_ = positions[:2]
    build().force()

    inter.sphere_aggregate_tmatrix, inter.solve_linear_system = agg, solve
    try:
        positions_ = positions
        t0 = time.perf_counter()
        cl = build()
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        F = np.asarray(cl.force())
        t_force = time.perf_counter() - t0
    finally:
        inter.sphere_aggregate_tmatrix, inter.solve_linear_system = _agg, _solve

    # isolated single-sphere force (same beam, same lmax), for scale
    positions_ = positions[:1]
    F_iso = np.asarray(build().force())[0]

    Ntot = n * n
    result = {
        "benchmark": "bench_lattice_miepy",
        "n_side": n,
        "n_particles": Ntot,
        "lmax": args.lmax,
        "unknowns": int(Ntot * 2 * args.lmax * (args.lmax + 2)),
        "solver_requested": args.method,
        "solver_used": sorted(set(solver_used)),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "time_import_s": round(t_import, 4),
        "time_cluster_constructor_s": round(t_build, 4),
        "time_aggregate_tmatrix_s": round(stage["aggregate_tmatrix_s"], 4),
        "time_linear_solve_s": round(stage["linear_solve_s"], 4),
        "time_constructor_other_s": round(t_build - stage["aggregate_tmatrix_s"] - stage["linear_solve_s"], 4),
        "time_forces_s": round(t_force, 4),
        "time_solve_plus_forces_s": round(t_build + t_force, 4),
        # same keys as the earlier version of this script (read by bench_lattice.py users)
        "seconds": {"import": t_import, "setup_and_solve": t_build, "forces": t_force},
        "solve_plus_forces_s": t_build + t_force,
        "max_abs_force_N": float(np.abs(F).max()),
        "isolated_force_z_N": float(F_iso[2]),
        "out": args.out,
        "miepy": miepy.__version__ if hasattr(miepy, "__version__") else None,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        np.savez(
            args.out,
            positions=positions,
            forces=F,
            force_isolated=F_iso,
            radius=args.radius,
            index=args.index,
            wavelength=args.wavelength,
            medium_index=1.0,
            pitch=args.pitch,
            lmax=args.lmax,
            direction=np.array([0.0, 0.0, 1.0]),
            polarization=np.array([1.0, 0.0, 0.0], dtype=complex),
            amplitude=1.0,
            solver=args.method,
            timings_json=json.dumps(result),
        )
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
