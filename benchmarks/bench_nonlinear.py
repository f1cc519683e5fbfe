"""Throughput of cdsolve.dynamics.nonlinear.simulate_nonlinear: 100 particles with the full forces.

10 x 10 square lattice of tweezers (pitch 2 um, waist 0.8 um, 1064 nm, 100 mW) holding silica spheres of
radius 50 nm; underdamped BAOAB at 300 K; one solve per step, warm-started from the previous step (x0).
Goal (issue 17): >= 50 steps/s. OpenBLAS threads fight over a shared or busy machine: run with
OPENBLAS_NUM_THREADS=1 (this script sets it before numpy is imported unless it is already set).

    python benchmarks/bench_nonlinear.py [--steps 200] [--method iterative|direct]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import cdsolve as cd  # noqa: E402
from cdsolve.dynamics.nonlinear import simulate_nonlinear  # noqa: E402
from cdsolve.workflow.geometry import square_lattice  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--method", default="auto")
    args = ap.parse_args()
    sites = square_lattice(10, 10, pitch=2e-6)
    scene = sites.scene(cd.Sphere(radius=50e-9, index=1.45, density=2200), wavelength=1064e-9, waist=0.8e-6)
    tr = simulate_nonlinear(scene, 2e-8, args.steps, damping=1e4, temperature=300.0, seed=1, method=args.method)
    info = tr.info
    print(f"{scene.n_particles} particles, {args.steps} steps ({info['solve_method']} solves): "
          f"{info['steps_per_second']:.1f} steps/s (solves {info['solve_time_s'] / info['n_solves'] * 1e3:.1f} ms "
          f"each; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}); goal >= 50 steps/s: "
          f"{'PASS' if info['steps_per_second'] >= 50 else 'FAIL'}")
    assert np.all(np.isfinite(tr.positions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
