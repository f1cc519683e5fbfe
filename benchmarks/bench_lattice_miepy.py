"""Peer benchmark: MiePy (GMMT) on the issue-#2 lattice, to time against ``bench_lattice.py`` in the same run.

1024 silica spheres (radius 50 nm, n = 1.45, 1064 nm, vacuum), 32x32 square lattice, 600 nm pitch,
plane wave along +z, x-polarized, amplitude 1 V/m; ``sphere_cluster`` solve (MiePy's default solver)
+ ``force()`` on all particles at lmax=2 (the least order that gets dipole forces right).
Needs the validation extra (``pip install '.[validation]'``). Prints JSON; ``--out F.npz`` saves forces.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--pitch", type=float, default=600e-9)
    ap.add_argument("--lmax", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import miepy

    t_import = time.perf_counter() - t0
    xs = (np.arange(args.n) - (args.n - 1) / 2) * args.pitch
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    pos = np.stack([X.ravel(), Y.ravel(), np.zeros(args.n**2)], axis=1)
    src = miepy.sources.plane_wave([1, 0], amplitude=1.0)  # TM/TE -> x-polarized, along +z
    t0 = time.perf_counter()
    cl = miepy.sphere_cluster(position=pos, radius=50e-9, material=miepy.constant_material(index=1.45),
                              source=src, wavelength=1064e-9, lmax=args.lmax)
    t_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    F = np.asarray(cl.force())
    t_force = time.perf_counter() - t0
    out = {"n_particles": len(pos), "lmax": args.lmax,
           "seconds": {"import": t_import, "setup_and_solve": t_solve, "forces": t_force},
           "solve_plus_forces_s": t_solve + t_force}
    if args.out:
        np.savez(args.out, forces=F, amplitude=1.0)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
