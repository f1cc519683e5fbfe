"""Benchmark: forces + 6x6 stiffness of a two-tweezer pair over a sweep of distances and phases.

Issue #3 target: under 1 ms per configuration in a batched sweep. Times the batched path
(``cdsolve.dynamics.batch_scenes``) against the per-scene path (solve + forces + force_jacobian) in the same run,
and prints per-configuration times and the ratio as JSON.

    python benchmarks/bench_pair_sweep.py --n 1000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def scenes(n):
    import cdsolve as cd

    lam = 1550e-9
    part = cd.Sphere(radius=104e-9, index=1.45)
    rng = np.random.default_rng(0)
    out = []
    for d, phi in zip(rng.uniform(3e-6, 20e-6, n), rng.uniform(0, 2 * np.pi, n)):
        pos = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0]])
        tw = [cd.GaussianTweezer(wavelength=lam, focus=p, waist=1e-6, power=0.1, polarization=(0, 1, 0), phase=ph)
              for p, ph in zip(pos, (phi, 0.0))]
        out.append(cd.Scene(positions=pos, particles=part, illumination=tw))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=250, help="configurations per batch")
    args = ap.parse_args(argv)
    import cdsolve as cd
    from cdsolve.dynamics.batch_scenes import batch_forces_and_jacobian

    t0 = time.perf_counter()
    sc = scenes(args.n)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in range(0, args.n, args.chunk):
        batch_forces_and_jacobian(sc[c : c + args.chunk])
    t_batch = time.perf_counter() - t0
    m = min(args.n, 200)
    t0 = time.perf_counter()
    for s in sc[:m]:
        sol = cd.solve(s)
        sol.forces()
        cd.force_jacobian(sol)
    t_single = time.perf_counter() - t0
    res = {"configurations": args.n, "scene_construction_ms_per_config": 1e3 * t_build / args.n,
           "batched_ms_per_config": 1e3 * t_batch / args.n, "per_scene_ms_per_config": 1e3 * t_single / m,
           "speedup": (t_single / m) / (t_batch / args.n)}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
