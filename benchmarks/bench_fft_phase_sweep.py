"""A sweep of 50 tweezer-phase settings on a 100 x 100 lattice (N = 1e4) with the FFT backend.

Measures, in one run: the first (cold) solve + forces, which builds and FFTs the propagator kernels,
and the following points, which reuse the cached kernels (same geometry) and start GMRES from the
previous point's solution (``x0``), against the same points solved cold-started (kernels cached, no x0).
Writes benchmarks/results/fft_phase_sweep.json.

    python benchmarks/bench_fft_phase_sweep.py [--n 100] [--points 50]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

import cdsolve as cd


def scene(n: int, phase: float):
    pitch = 600e-9
    g = (np.arange(n) - (n - 1) / 2) * pitch
    pos = np.stack(np.meshgrid(g, g, [0.0], indexing="ij"), -1).reshape(-1, 3)
    beams = [cd.PlaneWave(wavelength=1064e-9, intensity=1e9),
             cd.PlaneWave(wavelength=1064e-9, intensity=3e8, direction=(1, 0, 0), polarization=(0, 0, 1), phase=phase)]
    return cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45), illumination=beams)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--points", type=int, default=50)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    phases = np.linspace(0, 2 * np.pi, args.points)
    scenes = [scene(args.n, p) for p in phases]
    t0 = time.perf_counter()
    first = cd.solve(scenes[0], method="fft", check_validity=False)
    first.forces()
    t_first = time.perf_counter() - t0
    warm, cold, prods_w, prods_c = [], [], [], []
    prev = first
    for sc in scenes[1:]:
        t0 = time.perf_counter()
        s = cd.solve(sc, method="fft", check_validity=False, x0=prev)
        s.forces()
        warm.append(time.perf_counter() - t0)
        prods_w.append(s.info["matvecs"])
        prev = s
    for sc in scenes[1:]:
        t0 = time.perf_counter()
        s = cd.solve(sc, method="fft", check_validity=False)
        s.forces()
        cold.append(time.perf_counter() - t0)
        prods_c.append(s.info["matvecs"])
    out = {"n_particles": args.n**2, "points": args.points, "first_point_s": t_first,
           "per_point_warm_s": float(np.median(warm)), "per_point_cold_start_s": float(np.median(cold)),
           "products_warm_median": float(np.median(prods_w)), "products_cold_median": float(np.median(prods_c)),
           "ratio_first_to_warm": t_first / float(np.median(warm))}
    Path(__file__).with_name("results").mkdir(exist_ok=True)
    Path(__file__).with_name("results").joinpath("fft_phase_sweep.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
