"""Benchmark: full 3N x 3N stiffness matrix of an N = 500 tweezer array (issue #3 target: < 10 s).

25 x 20 square array of 1064 nm tweezers (waist 0.8 um, 100 mW, pitch 1.2 um) holding silica spheres
(radius 50 nm, n = 1.45): Mie dipoles (electric + magnetic, 6N unknowns) and the electric-only
Rayleigh model (3N unknowns). Prints per-stage seconds as JSON, and the ratio to the LAPACK floor
measured in the same run (LU of the same coupled matrix + one solve with 3N right-hand sides).

    python benchmarks/bench_stiffness.py
"""

from __future__ import annotations

import json
import time

import numpy as np


def main():
    import cdsolve as cd

    pos = np.array([(i, j, 0.0) for i in range(25) for j in range(20)]) * 1.2e-6
    tw = [cd.GaussianTweezer(wavelength=1064e-9, focus=p, waist=0.8e-6, power=0.1) for p in pos]
    out = {}
    for name, particle in (("mie_e+m", cd.Sphere(radius=50e-9, index=1.45)),
                           ("rayleigh_electric", cd.Sphere(radius=50e-9, index=1.45, model="rayleigh"))):
        t0 = time.perf_counter()
        scene = cd.Scene(positions=pos, particles=particle, illumination=tw)
        sol = cd.solve(scene, method="direct")
        t1 = time.perf_counter()
        K = -cd.force_jacobian(sol)
        t2 = time.perf_counter()
        out[name] = {"N": len(pos), "K_shape": list(K.shape), "solve_s": t1 - t0, "stiffness_s": t2 - t1,
                     "total_s": t2 - t0}
        # peer in the same run: the LAPACK floor of any method that factorizes the coupled system --
        # LU of the same matrix plus one solve with 3N right-hand sides (no physics at all)
        import scipy.linalg as sla

        from cdsolve.scattering.solver import _operator

        op = _operator(scene)
        A = op.dense() if op.has_magnetic else op.dense_electric()
        rhs = np.ones((A.shape[0], 3 * len(pos)), complex)
        t3 = time.perf_counter()
        sla.lu_solve(sla.lu_factor(A, overwrite_a=True, check_finite=False), rhs, check_finite=False)
        floor = time.perf_counter() - t3
        out[name].update(lapack_floor_s=floor, ratio_to_floor=(t2 - t0) / floor)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
