#!/usr/bin/env python
"""Full coupled-dipole solver vs the closed-form far-field two-tweezer model: couplings C_12, C_21 vs kd.

Geometry: 1550 nm, waist 1 um, 0.1 W per tweezer, 104 nm silica (real Clausius-Mossotti alpha,
2200 kg/m^3), polarization perpendicular to the separation (``cdsolve.dynamics.parameter_paths.two_tweezer_scene``).
For the PRL special settings (reciprocal phi = 0, kd = 2 pi n; unidirectional phi = pi/4,
kd = 2 pi n + pi/4; antireciprocal phi = pi/2, kd = 2 pi n + pi/2) and n = 2 ... 32 (kd ~ 13 ... 200)
the script computes C_jj' = -K_jj' from ``linearize(scene, dofs="z")`` and compares with
``TwoTweezerModel.couplings``: relative difference |C_jj'(solver) - C_jj'(model)| / C (C the model's
coupling constant; C_21 = 0 in the unidirectional setting, so C is the only sensible scale).

Expectation: the model drops the near-field terms of the Green tensor, which shift the interference
phase by O(1/kd). A coupling at a zero of its cosine (C_21 in the unidirectional setting) is first-order
sensitive: error ~ 1/kd. Couplings at an extremum (reciprocal, antireciprocal, C_12 unidirectional)
are second-order sensitive: error ~ 1/kd^2.

PASS if the fitted log-log slope of the worst coupling of each setting is within 0.25 of the
expected -1 (unidirectional) / -2 (reciprocal, antireciprocal) and every error is below 1/kd.

    /work/venv/bin/python validation/two_tweezer_convergence.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # 6x6 systems: threading only costs

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cdsolve  # noqa: E402
from cdsolve.dynamics.linear_model import linearize  # noqa: E402
from cdsolve.theory.two_tweezer import TwoTweezerModel, coupling_settings  # noqa: E402
from cdsolve.dynamics.parameter_paths import POWER, WAIST as W0, WAVELENGTH as LAM, SILICA_104NM, two_tweezer_scene  # noqa: E402

OUT = Path(__file__).resolve().parent / "output"
K = 2 * np.pi / LAM
ALPHA = float(np.real(np.asarray(SILICA_104NM.alpha_e)).ravel()[0])
MASS = SILICA_104NM.particle_mass()
NS = [2, 3, 4, 6, 8, 11, 16, 23, 32]
SETTINGS = {"unidirectional": -1.0, "reciprocal": -2.0, "antireciprocal": -2.0}  # expected slopes


def main() -> int:
    t0 = time.time()
    OUT.mkdir(exist_ok=True)
    results = {}
    for name in SETTINGS:
        rows = []
        for n in NS:
            phi, kd = coupling_settings(name, n)
            C = -linearize(two_tweezer_scene(kd, phi, powers=(POWER, POWER)), dofs="z").stiffness
            m = TwoTweezerModel(LAM, ALPHA, distance=kd / K, waist=W0, powers=(POWER, POWER), phases=(phi, 0.0),
                                masses=(MASS, MASS))
            c = m.coupling_constant
            rows.append(dict(n=n, kd=kd, phi=phi, C=c, C12_solver=C[0, 1], C21_solver=C[1, 0],
                             C12_model=m.couplings[0], C21_model=m.couplings[1],
                             rel_err_C12=abs(C[0, 1] - m.couplings[0]) / c, rel_err_C21=abs(C[1, 0] - m.couplings[1]) / c))
        kd = np.array([r["kd"] for r in rows])
        e12, e21 = np.array([r["rel_err_C12"] for r in rows]), np.array([r["rel_err_C21"] for r in rows])
        worst = np.maximum(e12, e21)
        slopes = {k: float(np.polyfit(np.log(kd), np.log(v), 1)[0]) for k, v in
                  (("C12", e12), ("C21", e21), ("worst", worst))}
        results[name] = dict(rows=rows, slopes=slopes, expected_slope=SETTINGS[name],
                             worst_times_kd=(worst * kd).tolist(), worst_times_kd2=(worst * kd**2).tolist())

    ok = all(abs(r["slopes"]["worst"] - r["expected_slope"]) < 0.25 for r in results.values())
    ok &= all(max(row["rel_err_C12"], row["rel_err_C21"]) < 1 / row["kd"] for r in results.values() for row in r["rows"])

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colors = {"unidirectional": "C2", "reciprocal": "C0", "antireciprocal": "C3"}
    for name, r in results.items():
        kd = np.array([row["kd"] for row in r["rows"]])
        for key, mk, ls in (("C12", "o", "-"), ("C21", "s", "--")):
            e = np.array([row[f"rel_err_{key}"] for row in r["rows"]])
            ax.loglog(kd, e, mk + ls, color=colors[name], ms=4, mfc="none" if key == "C21" else None,
                      label=f"{name} $C_{{{key[1:]}}}$ (slope {r['slopes'][key]:.2f})")
    kk = np.geomspace(10, 250, 50)
    ax.loglog(kk, 0.3 / kk, "k:", lw=1, label=r"$0.3/kd$")
    ax.loglog(kk, 1.6 / kk**2, "k-.", lw=1, label=r"$1.6/kd^2$")
    ax.set_xlabel(r"$k d$")
    ax.set_ylabel(r"$|C_{jj'}^{\rm solver} - C_{jj'}^{\rm closed\ form}|\,/\,C$")
    ax.set_title("two tweezers: full solver vs far-field closed form\n1550 nm, $w_0$ = 1 um, 104 nm silica, 0.1 W",
                 fontsize=9)
    ax.legend(fontsize=6.5, ncol=1)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    png = OUT / "two_tweezer_convergence.png"
    fig.savefig(png, dpi=150)

    doc = dict(script="validation/two_tweezer_convergence.py", cdsolve_version=cdsolve.__version__,
               geometry=dict(wavelength_m=LAM, waist_m=W0, power_W=POWER, particle="104 nm silica, real CM alpha",
                             alpha_F_m2=ALPHA, mass_kg=MASS, polarization="perpendicular to separation"),
               error_definition="|C_jj'(solver) - C_jj'(closed form)| / C (C = model coupling constant)",
               results=results, passed=bool(ok), runtime_s=time.time() - t0)
    (OUT / "two_tweezer_convergence.json").write_text(json.dumps(doc, indent=1))
    u = results["unidirectional"]
    msg = ", ".join(f"{k} slope {v['slopes']['worst']:.2f}" for k, v in results.items())
    print(f"{'PASS' if ok else 'FAIL'} two_tweezer_convergence: {msg}; worst error at kd = {NS[-1] * 2 * np.pi:.0f}: "
          f"{max(u['rows'][-1]['rel_err_C12'], u['rows'][-1]['rel_err_C21']):.2e} (unidirectional C21 ~ "
          f"{np.mean(u['worst_times_kd']):.2f}/kd) [{time.time() - t0:.1f} s]")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
