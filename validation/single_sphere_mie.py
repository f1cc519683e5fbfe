"""Single sphere: Mie-dipole radiation pressure vs exact Mie (miepython) over size.

Writes ``validation/output/single_sphere_mie.png``/``.json``; PASS/FAIL lines for issue #2's
acceptance (90 nm diameter, n = 5.1+0.2i, 420 nm: < 1e-3) and for the x^2 scaling of the dipole error.

    python validation/single_sphere_mie.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import miepython  # noqa: E402
import numpy as np  # noqa: E402

import cdsolve as cd  # noqa: E402
from cdsolve.optics.conventions import EPS0  # noqa: E402

OUT = Path(__file__).parent / "output"
N_SI, LAM = 5.1 + 0.2j, 420e-9


def errors(radii):
    out = []
    for a in radii:
        sol = cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=cd.Sphere(radius=a, index=N_SI),
                                illumination=cd.PlaneWave(wavelength=LAM, amplitude=1.0)))
        qext, qsca, _, g = miepython.efficiencies(N_SI, 2 * a, LAM, n_env=1.0)
        out.append(sol.forces()[0, 2] / (0.5 * EPS0 * (qext - g * qsca) * np.pi * a**2) - 1)
    return np.array(out)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    radii = np.geomspace(0.5e-9, 80e-9, 60)
    err = errors(radii)
    x = 2 * np.pi * radii / LAM
    e45 = float(errors([45e-9])[0])
    small = radii < 3e-9
    slope = float(np.polyfit(np.log(x[small]), np.log(np.abs(err[small])), 1)[0])
    ok1, ok2 = abs(e45) < 1e-3, abs(slope - 2) < 0.1
    print(f"{'PASS' if ok1 else 'FAIL'} 90 nm diameter Si sphere at 420 nm: dipole vs exact Mie radiation pressure "
          f"rel. error {e45:.2e} (tolerance 1e-3)")
    print(f"{'PASS' if ok2 else 'FAIL'} dipole error ~ x^p for small spheres: p = {slope:.3f} (expected 2)")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(x, np.abs(err), ".-", label="|F_dipole / F_Mie - 1|")
    ax.loglog(x[small], np.abs(err[small][0]) * (x[small] / x[small][0]) ** 2, "k--", label="x^2")
    ax.axvline(2 * np.pi * 45e-9 / LAM, color="C3", lw=0.8, label="90 nm diameter")
    ax.set_xlabel("size parameter x = k a")
    ax.set_ylabel("relative error of radiation pressure")
    ax.set_title("Si (5.1+0.2i) at 420 nm: Mie-dipole vs exact Mie", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "single_sphere_mie.png", dpi=110)
    (OUT / "single_sphere_mie.json").write_text(json.dumps(
        {"radius_m": radii.tolist(), "rel_error": err.tolist(), "err_90nm_diameter": e45, "small_size_slope": slope},
        indent=1))
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
