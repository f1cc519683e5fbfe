"""Benchmark: FMM backend (issue 16), random positions, solve + all forces.

Silica spheres r = 50 nm (n = 1.45), 1064 nm, plane wave along z (x-polarized), N positions drawn uniformly
(seeded) in a cube and redrawn until no two centres are closer than 4 radii. Per case, in a fresh
subprocess: ``cdsolve.solve(scene, method="fmm")`` then ``sol.forces()``, with the GMRES products, the FMM3D
calls made by the operator, the seconds per stage (the operator's ``timings``), and the floor measured in
the same process (before and after the solve; their mean is used): one bare ``fmm3dpy.hfmm3d`` call of the kind a GMRES product makes (3 dipole densities,
gradients at the sources, eps = the operator's precision). Ratio = total / (floor x FMM calls): the
gradient stage's target call (12N displaced targets) costs several floors, so the ratio is above 1.
``--dense N`` adds a case against the dense backend (``method="iterative"``, same scene): relative error of
the dipoles and forces. Writes ``benchmarks/results/fmm.json`` and ``fmm.md``.

    python benchmarks/bench_fmm.py --cases 20000:8 20000:15 --dense 2000      # N:cube side in um
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RADIUS = 50e-9
WL = 1064e-9


def positions(n: int, box: float, seed: int = 1, dmin: float = 4 * RADIUS) -> np.ndarray:
    """n uniform points in a cube of side box [m], redrawn until all pairs are >= dmin apart: (n, 3) float."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, box, (n, 3))
    for _ in range(1000):
        pairs = cKDTree(pts).query_pairs(dmin, output_type="ndarray")
        if len(pairs) == 0:
            return pts
        redo = np.unique(pairs[:, 1])
        pts[redo] = rng.uniform(0, box, (len(redo), 3))
    raise RuntimeError(f"could not place {n} points {dmin} apart in a {box} m cube")


def _scene(n: int, box: float):
    import cdsolve as cd

    return cd.Scene(positions=positions(n, box), particles=cd.Sphere(radius=RADIUS, index=1.45),
                    illumination=cd.PlaneWave(wavelength=WL, intensity=1e9))


def _floor(pos: np.ndarray, k: float, eps: float) -> float:
    """Seconds of one bare hfmm3d call like a GMRES product (3 dipole densities, pg=2, FMM3D eps)."""
    import fmm3dpy

    rng = np.random.default_rng(0)
    n = len(pos)
    dip = rng.standard_normal((3, 3, n)) + 1j * rng.standard_normal((3, 3, n))
    t0 = time.perf_counter()
    fmm3dpy.hfmm3d(eps=eps, zk=k, sources=np.ascontiguousarray(pos.T), dipvec=dip, pg=2, nd=3)
    return time.perf_counter() - t0


def run_case(n: int, box_um: float, dense: bool) -> dict:
    import cdsolve as cd

    box = box_um * 1e-6
    scene = _scene(n, box)
    eps = 1e-10  # what cd.solve's default rtol = 1e-10 gives the FMM operator (checked below)
    floor_before = _floor(scene.positions, scene.k, eps)  # the machine is shared: floor before and after
    t0 = time.perf_counter()
    sol = cd.solve(scene, method="fmm")
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    F = sol.forces()
    t_forces = time.perf_counter() - t0
    op = sol._operator
    assert op.precision == eps
    floor_after = _floor(scene.positions, scene.k, eps)
    floor = 0.5 * (floor_before + floor_after)
    total = t_solve + t_forces
    out = {"N": n, "box_um": box_um, "box_wavelengths": box / WL, "precision": op.precision,
           "gmres_products": sol.info.get("matvecs"), "fmm_calls": op.fmm_calls, "solve_s": t_solve,
           "forces_s": t_forces, "total_s": total, "stage_s": dict(op.timings), "floor_s": floor,
           "floor_before_s": floor_before, "floor_after_s": floor_after,
           "ratio_total_over_floor_x_calls": total / (floor * op.fmm_calls), "residual": sol.info.get("residual")}
    if dense:
        t0 = time.perf_counter()
        ref = cd.solve(scene, method="iterative")
        Fd = ref.forces()
        out["dense_s"] = time.perf_counter() - t0
        out["err_p"] = float(np.linalg.norm(sol.p - ref.p) / np.linalg.norm(ref.p))
        out["err_forces"] = float(np.linalg.norm(F - Fd) / np.linalg.norm(Fd))
        from cdsolve.scattering.observables import isolated_forces

        Fi = isolated_forces(scene)  # the interaction part is what the coupling computes
        out["err_interaction_forces"] = float(np.linalg.norm(F - Fd) / np.linalg.norm(Fd - Fi))
    return out


def _e(row: dict, key: str) -> str:
    return f"{row[key]:.1e}" if key in row else "-"


def _md(rows) -> str:
    lines = ["# FMM backend: random positions, solve + all forces (benchmarks/bench_fmm.py)", "",
             ("Silica r = 50 nm, 1064 nm, plane wave, uniform random in a cube (min. separation 4 radii), "
              "2 cores shared with other jobs. Floor = one bare hfmm3d call like a GMRES product, same process."), "",
             ("| N | cube [um] | cube [wavelengths] | GMRES products | FMM calls | solve [s] | forces [s] | total [s] "
              "| floor [s] | total/(floor x calls) | under 60 s | err p | err F |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['N']} | {r['box_um']:g} | {r['box_wavelengths']:.1f} | {r['gmres_products']} | {r['fmm_calls']} "
                     f"| {r['solve_s']:.1f} | {r['forces_s']:.1f} | {r['total_s']:.1f} | {r['floor_s']:.2f} "
                     f"| {r['ratio_total_over_floor_x_calls']:.2f} | {'yes' if r['total_s'] < 60 else 'no'} "
                     f"| {_e(r, 'err_p')} | {_e(r, 'err_forces')} |")
    lines += ["", ("Floor: mean of one bare call before and after the case (the 2000 and 8 um rows: after only). "
                   "The FMM calls are the GMRES products + 2 (gradient stage: one call at the particles, one at 12N "
                   "displaced targets); the target call costs ~5-10 floors, hence ratios of ~2."),
              "", "Stage seconds (operator timings):", ""]
    for r in rows:
        lines.append(f"- N = {r['N']}, {r['box_um']:g} um: " + ", ".join(f"{k} {v:.1f}" for k, v in r["stage_s"].items()))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=["20000:8", "20000:15", "20000:30"], help="N:cube side in um")
    ap.add_argument("--dense", type=int, nargs="*", default=[2000], help="N checked against dense (cube side (N / 2000)^(1/3) x 9 um)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "fmm"))
    ap.add_argument("--append", action="store_true", help="keep the rows already in the JSON file")
    ap.add_argument("--md-only", action="store_true", help="rewrite the .md from the .json")
    a = ap.parse_args(argv)
    if a.one:
        n, box, dense = a.one.split(":")
        print(json.dumps(run_case(int(n), float(box), dense == "1")))
        return 0
    if a.md_only:
        with open(a.out + ".json") as f, open(a.out + ".md", "w") as g:
            g.write(_md(json.load(f)["rows"]))
        return 0
    jobs = [(int(n), 9.0 * (int(n) / 2000) ** (1 / 3), 1) for n in a.dense]
    jobs += [(int(c.split(":")[0]), float(c.split(":")[1]), 0) for c in a.cases]
    rows = []
    if a.append and os.path.exists(a.out + ".json"):
        with open(a.out + ".json") as f:
            rows = json.load(f)["rows"]
    for n, box, dense in jobs:
        res = subprocess.run([sys.executable, __file__, "--one", f"{n}:{box}:{dense}"], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return 1
        row = json.loads(res.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows = [r for r in rows if (r["N"], r["box_um"]) != (row["N"], row["box_um"])] + [row]
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out + ".json", "w") as f:
            json.dump({"rows": rows}, f, indent=1)
        with open(a.out + ".md", "w") as f:
            f.write(_md(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
