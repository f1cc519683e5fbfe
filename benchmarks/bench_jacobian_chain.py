#!/usr/bin/env python
"""Benchmark: the force Jacobian on chosen dofs (z-motion) of a long chain, matrix-free vs dense.

Chain of N silica spheres (radius 50 nm, n = 1.45, Mie electric + magnetic dipoles) along x, pitch 600 nm,
vacuum, 1064 nm plane wave along z polarized along y (the transverse-binding geometry of the chain studies).
For each N, in the same process and run, one after the other:

* ``operator``: FFT solve (rtol 1e-12) + ``force_jacobian(sol, "z")`` (auto -> method="operator": lockstep
  GMRES on the FFT operator for the N z-columns, rows from the operator's field gradients);
* ``dense`` (where it fits, ``--dense-max``): dense LU solve + ``force_jacobian(sol, "z", method="dense")``
  (one LU of the 6N system, every pair tensor stored);

and reports seconds, peak RSS growth, GMRES products and the largest difference between the two Jacobians
relative to the largest entry. Results: benchmarks/results/jacobian_chain.{json,md}.

    python benchmarks/bench_jacobian_chain.py --sizes 250 500 1000 2000 --dense-max 2000
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(N: int, dense: bool) -> dict:
    import cdsolve as cd
    import cdsolve.dynamics.jacobian as jac
    import cdsolve.scattering.multi_rhs as mr

    pos = np.c_[np.arange(N) * 600e-9, np.zeros(N), np.zeros(N)]
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=1064e-9, direction=(0, 0, 1), polarization=(0, 1, 0),
                                               intensity=1e9))
    products = []
    orig = mr.solve_many

    def counted(*a, **k):
        X, info = orig(*a, **k)
        products.append(info["products"])
        return X, info

    row = {"N": N}
    jac.solve_many = counted
    try:
        t0 = time.perf_counter()
        sol = cd.solve(scene, method="fft", rtol=1e-12)
        t1 = time.perf_counter()
        J_op = jac.force_jacobian(sol, "z")
        t2 = time.perf_counter()
    finally:
        jac.solve_many = orig
    row.update(operator_solve_s=t1 - t0, operator_jacobian_s=t2 - t1, operator_total_s=t2 - t0,
               gmres_products=int(sum(products)), response_blocks=len(products), rss_after_operator_gib=_rss_gib())
    if dense:
        t0 = time.perf_counter()
        sd = cd.solve(scene, method="direct")
        t1 = time.perf_counter()
        J_d = jac.force_jacobian(sd, "z", method="dense")
        t2 = time.perf_counter()
        row.update(dense_solve_s=t1 - t0, dense_jacobian_s=t2 - t1, dense_total_s=t2 - t0,
                   rss_after_dense_gib=_rss_gib(),
                   rel_difference=float(np.abs(J_op - J_d).max() / np.abs(J_d).max()),
                   dense_over_operator=(t2 - t0) / row["operator_total_s"])
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    ap.add_argument("--dense-max", type=int, default=2000, help="largest N also run densely")
    ap.add_argument("--out", default=str(RESULTS / "jacobian_chain"))
    args = ap.parse_args(argv)
    rows = []
    for N in args.sizes:
        row = run(N, N <= args.dense_max)
        rows.append(row)
        print(json.dumps(row), flush=True)
    meta = {"benchmark": "bench_jacobian_chain", "machine": platform.machine(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(meta, indent=2))
    lines = ["| N | operator: FFT solve + Jacobian(z) [s] | products | dense: LU solve + Jacobian(z) [s] | dense / operator"
             " | max diff / max entry | peak RSS [GiB] |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['N']} | {r['operator_total_s']:.2f} | {r['gmres_products']} | "
                     f"{r.get('dense_total_s', float('nan')):.2f} | {r.get('dense_over_operator', float('nan')):.1f} | "
                     f"{r.get('rel_difference', float('nan')):.1e} | {max(r['rss_after_operator_gib'], r.get('rss_after_dense_gib', 0)):.2f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
