#!/usr/bin/env python
"""Casimir-Polder speed: pairwise energies + forces of 1000 spheres, many-body energy of 100 spheres (300 K).

Targets (issue 8): pairwise energies and forces for 1000 spheres at 300 K < 2 s; many-body energy for
100 spheres at 300 K < 10 s. Geometry: R = 100 nm silica (Drude-Lorentz) on jittered cubic lattices
(1000: 10^3 sites, 1 um spacing, +-0.2 um jitter; 100: 5x5x4 sites, 0.5 um spacing, +-50 nm jitter);
the frequency rule (rtol 1e-6) decides the number of Matsubara terms (printed).

BLAS threads are pinned to 1 (the default multi-threaded OpenBLAS is ~50x slower on this shared 2-core
machine for 300x300 factorizations). Times are noisy here: each is also reported as a ratio to a peer
measured in the same run (one 600 x 600 float matrix product, repeated 20 times).

    /work/venv/bin/python benchmarks/bench_casimir.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from cdsolve.optics.casimir import FluctuatingSphere, casimir_energy, casimir_energy_and_forces, frequency_rule  # noqa: E402
from cdsolve.optics.materials import SILICA_DRUDE_LORENTZ  # noqa: E402


def best_of(fn, n=3):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def peer():
    a = np.random.default_rng(0).random((600, 600))
    for _ in range(20):
        a @ a


def lattice(shape, spacing, jitter, rng):
    g = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3) * spacing
    return g + rng.uniform(-jitter, jitter, g.shape)


def main():
    rng = np.random.default_rng(0)
    s = FluctuatingSphere(100e-9, SILICA_DRUDE_LORENTZ)
    p1000 = lattice((10, 10, 10), 1e-6, 0.2e-6, rng)
    p100 = lattice((5, 5, 4), 0.5e-6, 50e-9, rng)
    t_peer = best_of(peer)
    for name, pos in (("1000", p1000), ("100", p100)):
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        rmin = d[np.triu_indices(len(pos), 1)].min()
        print(f"{name} spheres: r_min = {rmin * 1e9:.0f} nm, frequency nodes = "
              f"{len(frequency_rule(300.0, [s], rmin).xi)}")
    t_pair = best_of(lambda: casimir_energy_and_forces(p1000, s, temperature=300.0, method="pairwise"))
    t_mb = best_of(lambda: casimir_energy(p100, s, temperature=300.0, method="many-body"))
    t_mbf = best_of(lambda: casimir_energy_and_forces(p100, s, temperature=300.0, method="many-body"), 1)
    print(f"peer (20 x 600^2 matmul): {t_peer:.3f} s")
    print(f"pairwise energy+forces, 1000 spheres, 300 K: {t_pair:.3f} s ({t_pair / t_peer:.1f} x peer)  target < 2 s")
    print(f"many-body energy, 100 spheres, 300 K:        {t_mb:.3f} s ({t_mb / t_peer:.1f} x peer)  target < 10 s")
    print(f"many-body energy+forces, 100 spheres:        {t_mbf:.3f} s ({t_mbf / t_peer:.1f} x peer)")


if __name__ == "__main__":
    main()
