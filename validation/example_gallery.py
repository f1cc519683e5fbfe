"""Gallery for the README: ``cdsolve run`` on every example geometry and one ``cdsolve sweep``.

Runs the command-line entry points (the same code a user runs) into a temporary directory, copies
the plots to ``validation/output/examples/`` and checks, for each geometry, that the forces written
to ``results.npz`` equal the Python API's (``cd.solve``) bit for bit, and that the sweep's point at
relative phase 0 equals the ``cdsolve run`` result of the unmodified config (same scene, batched vs
per-scene solve: round-off, tolerance 1e-9 of the largest force).

    python validation/example_gallery.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import cdsolve as cd
from cdsolve.workflow.cli import main as cli
from cdsolve.workflow.config import scene_from_config

HERE = Path(__file__).parent
ROOT = HERE.parent
OUT = HERE / "output" / "examples"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    ok_all = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for geo in sorted((ROOT / "geometries").glob("*.toml")):
            run_dir = tmp / geo.stem
            code = cli(["run", str(geo), "-o", str(run_dir)])
            for png in run_dir.glob("*.png"):
                shutil.copy(png, OUT / f"{geo.stem}_{png.name}")
            scene, opts = scene_from_config(geo)
            with np.load(run_dir / "results.npz") as z:
                same = code == 0 and np.array_equal(z["forces"], cd.solve(scene, **opts).forces())
            ok_all &= same
            print(f"{'PASS' if same else 'FAIL'} cdsolve run {geo.name}: results.npz forces == cd.solve(...).forces() "
                  f"(bit-identical)")
        pair = ROOT / "geometries" / "science2022_pair.toml"
        code = cli(["sweep", str(pair), "--vary", "phase=0:2pi:73", "-o", str(tmp / "phase.nc"), "--serial",
                    "--no-progress"])
        code2 = cli(["sweep", str(pair), "--vary", "phase=0:2pi:48", "--vary", "distance=1um:3um:41",
                     "-o", str(tmp / "phase_distance.nc"), "--no-progress"])
        for name in ("phase.png", "phase_distance.png"):
            shutil.copy(tmp / name, OUT / f"sweep_{name}")
        from cdsolve.workflow.sweep import load_sweep

        ds = load_sweep(tmp / "phase.nc")
        with np.load(tmp / "science2022_pair" / "results.npz") as z:
            F_run = z["forces"]
        err = np.abs(ds.forces.values[0] - F_run).max() / np.abs(F_run).max()
        ok = code == 0 and code2 == 0 and err < 1e-9
        ok_all &= ok
        print(f"{'PASS' if ok else 'FAIL'} cdsolve sweep: phase-0 point vs cdsolve run of the same config: "
              f"max rel. difference {err:.1e} (tol 1e-9)")
    print(f"wrote plots to {OUT}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
