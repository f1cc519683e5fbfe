"""Benchmark: scaling of solve + all forces with N (issue 16), FFT backend vs dense.

Square lattice, pitch 600 nm, silica spheres r = 50 nm (n = 1.45), 1064 nm, plane wave along z
(x-polarized, 1 V/m). For each N (a side of round(sqrt(N)) sites) a fresh subprocess measures: the
FFT backend's solve and forces (wall time, peak resident memory from ``resource.getrusage``, GMRES
products), the bare FFT convolution floor in the same process (one electric-field product: 3 forward
+ 3 inverse FFTs of the padded grid, 6 kernel multiplies, ``scipy.fft`` with 2 workers) and the ratio,
and, where the dense backend fits (``--dense-max``), the dense solve in its own subprocess and the error
of the FFT dipoles and forces against it. Writes ``benchmarks/results/scaling.json`` and ``scaling.md``.

    python benchmarks/bench_scaling.py                       # N = 1e2, 1e3, 1e4, 1e5
    python benchmarks/bench_scaling.py --sizes 100 1000000   # any sizes
"""

from __future__ import annotations

import argparse
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


def _floor(pshape, repeats: int = 3) -> float:
    """Best of ``repeats``: one electric-field product on the padded grid (3 fwd + 3 inv FFTs, 6 multiplies)."""
    import scipy.fft as sfft

    rng = np.random.default_rng(0)
    axes = tuple(range(1, len(pshape) + 1))
    S = rng.standard_normal((3,) + pshape) + 0j
    K = rng.standard_normal((6,) + pshape) + 0j
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        Sh = sfft.fftn(S, axes=axes, workers=2)
        out = np.zeros_like(Sh)
        for n, (a, b) in enumerate(pairs):  # 6 kernel multiplies (symmetric g), each used once or twice
            out[a] += K[n] * Sh[b]
            if a != b:
                out[b] += K[n] * Sh[a]
        sfft.ifftn(out, axes=axes, workers=2, overwrite_x=True)
        best = min(best, time.perf_counter() - t0)
    return best


def one(N: int, method: str, out_npz: str | None) -> dict:
    import cdsolve as cd
    from cdsolve.scattering.fft_operator import clear_kernel_cache, padded_shape

    pos = lattice(N)
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45),
                     illumination=cd.PlaneWave(wavelength=1064e-9, polarization=(1, 0, 0), amplitude=1.0))
    clear_kernel_cache()
    t0 = time.perf_counter()
    sol = cd.solve(scene, method=method, rtol=1e-10, check_validity=False)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    F = sol.forces()
    t_forces = time.perf_counter() - t0
    res = {"N": scene.n_particles, "method": method, "backend": sol.info["backend"]["name"],
           "solve_s": t_solve, "forces_s": t_forces, "total_s": t_solve + t_forces,
           "matvecs": sol.info.get("matvecs"), "residual": sol.info["residual"],
           "timings": sol.info["timings"]}
    if sol.info["backend"]["name"] == "fft":
        grid = sol._operator.grid
        P = padded_shape(grid.shape)
        res["padded_grid"] = list(P)
        res["floor_product_s"] = _floor(P)
        # a product on the 3N electric system is one electric-field product; +2 gradient/H passes (~3 products)
        res["ratio_total_to_floor"] = res["total_s"] / res["floor_product_s"]
        res["products_equivalent"] = (res["matvecs"] or 0) + 1 + 1 + 3
        res["ratio_to_floor_x_products"] = res["total_s"] / (res["floor_product_s"] * res["products_equivalent"])
    res["peak_rss_GiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
    if out_npz:
        np.savez(out_npz, p=sol.p, F=F, E=sol.E_local)
    return res


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10_000, 100_000])
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
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for N in args.sizes:
            f_npz = os.path.join(tmp, f"fft{N}.npz")
            r = child(N, "fft", f_npz)
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
    lines = ["| N | FFT solve [s] | forces [s] | total [s] | peak RSS [GiB] | products | floor [ms] | total/floor "
             "| total/(floor x products) | dense total [s] | dense RSS [GiB] | err p | err F |",
             "|" + "---|" * 13]
    for r in rows:
        d = r.get("dense", {})
        lines.append(f"| {r['N']} | {r['solve_s']:.3f} | {r['forces_s']:.3f} | {r['total_s']:.3f} | "
                     f"{r['peak_rss_GiB']:.2f} | {r['matvecs']} | {1e3 * r.get('floor_product_s', np.nan):.2f} | "
                     f"{r.get('ratio_total_to_floor', np.nan):.1f} | {r.get('ratio_to_floor_x_products', np.nan):.2f} | "
                     f"{d.get('total_s', np.nan):.3f} | {d.get('peak_rss_GiB', np.nan):.2f} | "
                     f"{r.get('err_p', np.nan):.1e} | {r.get('err_F', np.nan):.1e} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
