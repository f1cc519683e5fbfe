"""Benchmark: scaling of solve + all forces with N (issue 16), FFT backend vs dense.

Square lattice, pitch 600 nm, silica spheres r = 50 nm (n = 1.45), 1064 nm, plane wave along z
(x-polarized, 1 V/m). For each N (a side of round(sqrt(N)) sites) a fresh subprocess measures: the
FFT backend's solve and forces (wall time, peak resident memory from ``resource.getrusage``, GMRES
products), the bare FFT convolution floor in the same process (one electric-field product: 3 forward
+ 3 inverse FFTs of the padded grid, 6 kernel multiplies, ``scipy.fft`` with 2 workers; median of 5 timings
before and 5 after the solve) and
the ratios, the time per stage (wall-clock wrappers around the solver's stages and the operator's
methods), and, where the dense backend fits (``--dense-max``), the dense solve in its own subprocess and the error
of the FFT dipoles and forces against it. Writes ``benchmarks/results/scaling.json`` and ``scaling.md``.

    python benchmarks/bench_scaling.py                       # N = 1e2, 1e3, 1e4, 1e5
    python benchmarks/bench_scaling.py --sizes 100 1000000   # any sizes
    python benchmarks/bench_scaling.py --repeats 5           # FFT runs per size (median row; default 3)
    python benchmarks/bench_scaling.py --blas-threads 1 --out benchmarks/results/scaling_blas1
        # children with one BLAS thread (OPENBLAS/OMP/MKL_NUM_THREADS=1): on this 2-core machine OpenBLAS's
        # threaded level-1/2 calls inside GMRES (vectors of 6N) are slower than one thread, and its spinning
        # workers slow the FFT threads down
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def lattice(N: int, pitch: float = 600e-9) -> np.ndarray:
    n = int(round(np.sqrt(N)))
    xs = (np.arange(n) - (n - 1) / 2) * pitch
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), np.zeros(n * n)], axis=1)


def _floor_times(pshape, repeats: int = 5) -> list:
    """``repeats`` timings [s] of one electric-field product on the padded grid (3 fwd + 3 inv FFTs, 6 multiplies)."""
    import scipy.fft as sfft

    rng = np.random.default_rng(0)
    axes = tuple(range(1, len(pshape) + 1))
    S = rng.standard_normal((3,) + pshape) + 0j
    K = rng.standard_normal((6,) + pshape) + 0j
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        Sh = sfft.fftn(S, axes=axes, workers=2)
        out = np.zeros_like(Sh)
        for n, (a, b) in enumerate(pairs):  # 6 kernel multiplies (symmetric g), each used once or twice
            out[a] += K[n] * Sh[b]
            if a != b:
                out[b] += K[n] * Sh[a]
        sfft.ifftn(out, axes=axes, workers=2, overwrite_x=True)
        times.append(time.perf_counter() - t0)
    return times


def _floor(pshape, repeats: int = 5) -> float:
    """Median of ``repeats`` floor timings [s] (see :func:`_floor_times`)."""
    return float(np.median(_floor_times(pshape, repeats)))


def floor_products(matvecs: int, magnetic: bool) -> float:
    """The FFTs a solve + all forces needs, in floor products (6 FFTs of the padded grid each).

    e+m (6N system): each GMRES product (its count includes the true-residual products GMRES computes at the
    end of every cycle; the solve reuses the last one) 6 forward + 6 inverse FFTs (2 floor products); forces:
    6 forward + 18 inverse (the 9 gradient components of E and of Z H): 4.
    Electric only (3N system): 1 per GMRES product, 1 for the explicit Z H, 1.5 for the 6N residual
    (3 forward, 6 inverse), 3.5 for the gradients (3 forward, 18 inverse). Kernel FFTs are not counted.
    """
    if magnetic:
        return 2.0 * matvecs + 4.0
    return matvecs + 1.0 + 1.5 + 3.5


_STAGES: dict = {}


def _instrument() -> None:
    """Accumulate wall time per stage in ``_STAGES`` (wrappers around solver functions and FFTOperator methods)."""
    from cdsolve.scattering import fft_operator, solver

    def wrap(owner, name, label):
        f = getattr(owner, name)

        @functools.wraps(f)
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                _STAGES[label] = _STAGES.get(label, 0.0) + time.perf_counter() - t0
        setattr(owner, name, timed)

    wrap(solver, "detect_grid", "grid detection (all calls)")
    wrap(solver, "make_operator", "make_operator (chi, plan, field kernels)")
    wrap(solver, "_incident_vector", "incident field")
    wrap(solver, "_gmres", "GMRES (incl. its products)")
    wrap(fft_operator.FFTOperator, "scatter", "operator products (all scatter calls)")
    wrap(fft_operator.FFTOperator, "scattered_field_gradients", "scattered-field gradients (incl. kernels)")
    wrap(fft_operator.FFTOperator, "_kernels", "kernel build (field + gradient)")


def one(N: int, method: str, out_npz: str | None) -> dict:
    import cdsolve as cd
    from cdsolve.scattering.fft_operator import clear_kernel_cache, padded_shape

    _instrument()
    pos = lattice(N)
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=1064e-9, polarization=(1, 0, 0), amplitude=1.0))
    clear_kernel_cache()
    from cdsolve.scattering.operators import clear_grid_cache, detect_grid
    P0 = padded_shape(detect_grid(pos).shape)
    clear_grid_cache()  # the solve detects its grid itself (timed)
    floor_before = _floor_times(P0)  # the floor is timed before and after the solve (load drifts)
    t0 = time.perf_counter()
    sol = cd.solve(scene, method=method, rtol=1e-10, check_validity=False)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    F = sol.forces()
    t_forces = time.perf_counter() - t0
    res = {"N": scene.n_particles, "method": method, "backend": sol.info["backend"]["name"],
           "solve_s": t_solve, "forces_s": t_forces, "total_s": t_solve + t_forces,
           "matvecs": sol.info.get("matvecs"), "residual": sol.info["residual"],
           "timings": sol.info["timings"], "stages_s": dict(_STAGES)}
    if sol.info["backend"]["name"] == "fft":
        grid = sol._operator.grid
        P = padded_shape(grid.shape)
        res["padded_grid"] = list(P)
        res["floor_times_s"] = floor_before + _floor_times(P)
        res["floor_product_s"] = float(np.median(res["floor_times_s"]))
        res["ratio_total_to_floor"] = res["total_s"] / res["floor_product_s"]
        # previous sessions' count: matvecs + 5 (as if every product were one electric-field product)
        res["products_equivalent_old"] = (res["matvecs"] or 0) + 1 + 1 + 3
        res["ratio_to_floor_x_products_old"] = (res["total_s"]
                                                / (res["floor_product_s"] * res["products_equivalent_old"]))
        # the FFTs actually needed (e+m products cost two electric-field products): floor_products()
        res["magnetic"] = bool(sol._operator.has_magnetic)
        res["products_equivalent"] = floor_products(res["matvecs"] or 0, res["magnetic"])
        res["ratio_to_floor_x_products"] = res["total_s"] / (res["floor_product_s"] * res["products_equivalent"])
    res["peak_rss_GiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
    if out_npz:
        np.savez(out_npz, p=sol.p, F=F, E=sol.E_local)
    return res


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=3,
                    help="fresh FFT subprocesses per size; the row is the run with the median total/(floor x needed)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="BLAS threads of the child processes (default: inherited environment)")
    ap.add_argument("--dense-max", type=int, default=1100, help="largest N also solved densely (error oracle)")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--method", default="fft", help=argparse.SUPPRESS)
    ap.add_argument("--npz", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "scaling"))
    args = ap.parse_args(argv)
    if args.one is not None:  # child process: one measurement, JSON on stdout
        print(json.dumps(one(args.one, args.method, args.npz)))
        return []

    def child(N, method, npz):
        cmd = [sys.executable, os.path.abspath(__file__), "--one", str(N), "--method", method]
        if npz:
            cmd += ["--npz", npz]
        env = dict(os.environ)
        if args.blas_threads is not None:
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = str(args.blas_threads)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        return json.loads(out.strip().splitlines()[-1])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for N in args.sizes:
            f_npz = os.path.join(tmp, f"fft{N}.npz")
            runs = [child(N, "fft", f_npz) for _ in range(max(1, args.repeats))]
            order = sorted(range(len(runs)), key=lambda i: runs[i].get("ratio_to_floor_x_products", runs[i]["total_s"]))
            r = runs[order[len(runs) // 2]]
            r["blas_threads"] = args.blas_threads
            r["repeats"] = [{k: q.get(k) for k in ("total_s", "floor_product_s", "ratio_to_floor_x_products")}
                            for q in runs]
            if N <= args.dense_max:
                d_npz = os.path.join(tmp, f"dense{N}.npz")
                d = child(N, "auto" if 6 * N <= 1800 else "iterative", d_npz)
                a, b = np.load(f_npz), np.load(d_npz)
                r["dense"] = {k: d[k] for k in ("backend", "solve_s", "forces_s", "total_s", "peak_rss_GiB")}
                r["err_p"] = float(np.abs(a["p"] - b["p"]).max() / np.abs(b["p"]).max())
                r["err_F"] = float(np.abs(a["F"] - b["F"]).max() / np.abs(b["F"]).max())
            rows.append(r)
            print(json.dumps(r), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    lines = [("| N | FFT solve [s] | forces [s] | total [s] | peak RSS [GiB] | GMRES products | floor [ms] | "
              "total/floor | floor products needed | total/(floor x needed) | total/(floor x (products+5)) | "
              "dense total [s] | dense RSS [GiB] | err p | err F |"),
             "|" + "---|" * 15]
    for r in rows:
        d = r.get("dense", {})
        lines.append(f"| {r['N']} | {r['solve_s']:.3f} | {r['forces_s']:.3f} | {r['total_s']:.3f} | "
                     f"{r['peak_rss_GiB']:.2f} | {r['matvecs']} | {1e3 * r.get('floor_product_s', np.nan):.2f} | "
                     f"{r.get('ratio_total_to_floor', np.nan):.1f} | {r.get('products_equivalent', np.nan):g} | "
                     f"{r.get('ratio_to_floor_x_products', np.nan):.2f} | "
                     f"{r.get('ratio_to_floor_x_products_old', np.nan):.2f} | "
                     f"{d.get('total_s', np.nan):.3f} | {d.get('peak_rss_GiB', np.nan):.2f} | "
                     f"{r.get('err_p', np.nan):.1e} | {r.get('err_F', np.nan):.1e} |")
    blas = "inherited" if args.blas_threads is None else str(args.blas_threads)
    lines += ["", (f"BLAS threads of the runs: {blas}; each FFT row is the median (by total/(floor x needed)) of "
                   f"{max(1, args.repeats)} fresh processes, each timing its own floor (median of 5 timings before "
                   "and 5 after its solve)."),
              "", ("floor products needed: the FFTs of the solve + forces in units of the floor's 6 "
                   "(bench_scaling.floor_products: e+m GMRES products (incl. their true-residual products, reused by the solve) 2 each, forces 4); "
                   "total/(floor x (products+5)) is the count of earlier tables (every product as one E-field "
                   "product)."),
              "", ("Stages [ms] (floor products in brackets; nested: products inside GMRES, kernels inside "
                   "make_operator and the gradients):"), ""]
    labels = [k for r in rows for k in r.get("stages_s", {})]
    labels = list(dict.fromkeys(labels))
    lines += ["| stage | " + " | ".join(f"N = {r['N']}" for r in rows) + " |", "|---|" + "---|" * len(rows)]
    for lab in labels:
        cells = []
        for r in rows:
            t, fl = r.get("stages_s", {}).get(lab, 0.0), r.get("floor_product_s", np.nan)
            cells.append(f"{1e3 * t:.1f} ({t / fl:.1f})")
        lines.append(f"| {lab} | " + " | ".join(cells) + " |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
