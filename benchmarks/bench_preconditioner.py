#!/usr/bin/env python
"""Does a near-field preconditioner pay for the coupled-dipole GMRES?  (issue 16, item 2)

The system is ``(1 - W chi) u = u_inc`` with ``u`` the local fields: its single-particle diagonal blocks are
the identity, so a block-diagonal (single-particle) preconditioner is exactly a no-op. The candidate is the
near-field part ``M = 1 - W_near chi`` (all pairs closer than a cutoff, sparse LU by scipy's splu) as a
right preconditioner. For each scene (N = 400) this counts GMRES(60) iterations to a relative residual 1e-10
(scipy.sparse.linalg.gmres, preconditioned residual callback) without and with ``M`` at several cutoffs, and
the fill of the sparse LU (the preconditioner's memory and set-up cost).

    python benchmarks/bench_preconditioner.py   -> benchmarks/results/preconditioner.{json,md}
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.spatial import cKDTree

import cdsolve as cd
from cdsolve.optics import materials
from cdsolve.scattering.solver import _incident_vector, _operator

LAM = 1064e-9
RESULTS = Path(__file__).resolve().parent / "results"


def cluster(n, box, dmin, seed):
    rng = np.random.default_rng(seed)
    pts = np.empty((0, 3))
    while len(pts) < n:
        p = rng.uniform(0, box, 3)
        if len(pts) == 0 or np.min(np.linalg.norm(pts - p, axis=1)) >= dmin:
            pts = np.vstack([pts, p])
    return pts


def lattice(n, a):
    x = np.arange(n) * a
    X, Y = np.meshgrid(x, x, indexing="ij")
    return np.c_[X.ravel(), Y.ravel(), np.zeros(n * n)]


CASES = [
    ("silica square lattice 20x20, pitch 600 nm", lattice(20, 600e-9), cd.Sphere(radius=50e-9, index=1.45)),
    ("silica square lattice 20x20, pitch = wavelength", lattice(20, LAM), cd.Sphere(radius=50e-9, index=1.45)),
    ("silica random, 400 in a 3 um cube", cluster(400, 3e-6, 120e-9, 2), cd.Sphere(radius=50e-9, index=1.45)),
    ("silicon r = 90 nm random, 400 in a 6 um cube", cluster(400, 6e-6, 250e-9, 0),
     cd.Sphere(radius=90e-9, material=materials.silicon())),
    ("silicon r = 110 nm random, 400 in a 4 um cube", cluster(400, 4e-6, 250e-9, 1),
     cd.Sphere(radius=110e-9, material=materials.silicon())),
]


def count(A, b, M):
    n = [0]
    x, _ = spla.gmres(A, b, M=M, rtol=1e-10, restart=60, maxiter=2000,
                      callback=lambda r: n.__setitem__(0, n[0] + 1), callback_type="pr_norm")
    return n[0], float(np.linalg.norm(A @ x - b) / np.linalg.norm(b))


def main():
    rows = []
    for name, pos, particle in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dipole-validity warnings of the dense silicon clusters
            scene = cd.Scene(positions=pos, particles=particle, illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
            A = _operator(scene).dense()
        b = _incident_vector(scene)
        N = len(pos)
        tree = cKDTree(pos)
        it0, res0 = count(A, b, None)
        row = {"scene": name, "N": N, "iterations_plain": it0, "residual_plain": res0, "near_field": []}
        for rc in (0.7e-6, 1.0e-6, 1.3e-6):
            pairs = tree.query_pairs(rc, output_type="ndarray")
            mask = np.eye(N, dtype=bool)
            mask[pairs[:, 0], pairs[:, 1]] = mask[pairs[:, 1], pairs[:, 0]] = True
            m6 = np.tile(np.repeat(np.repeat(mask, 3, 0), 3, 1), (2, 2))
            t0 = time.perf_counter()
            lu = spla.splu(sp.csc_matrix(np.where(m6, A, 0)))
            t_lu = time.perf_counter() - t0
            it, res = count(A, b, spla.LinearOperator(A.shape, lu.solve, dtype=complex))
            row["near_field"].append({"cutoff_um": rc * 1e6, "neighbours_per_particle": 2 * len(pairs) / N,
                                      "iterations": it, "residual": res, "lu_nonzeros": int(lu.L.nnz + lu.U.nnz),
                                      "lu_seconds": t_lu})
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "preconditioner.json").write_text(json.dumps(rows, indent=2))
    lines = ["| scene | plain GMRES iterations | near-field preconditioned: iterations (neighbours/particle, LU nonzeros) |",
             "|---|---|---|"]
    for r in rows:
        nf = "; ".join(f"{e['iterations']} ({e['neighbours_per_particle']:.1f}, {e['lu_nonzeros']:.2g})" for e in r["near_field"])
        lines.append(f"| {r['scene']} | {r['iterations_plain']} | {nf} |")
    (RESULTS / "preconditioner.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
