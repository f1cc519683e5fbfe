"""Recoil diffusion matrix: closed form vs quadrature, far-field limit vs PRA (79), and C - C^T = 4 Im D / hbar.

Checks (one line each, ``PASS/FAIL name: measured (tol ...)``), then INFO lines with the deviation of the full
solver from the commutator identity versus kd (outside the regime where it is a theorem). Writes
``validation/output/recoil_diffusion.{json,png}``. Exit code 1 on any FAIL.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import constants as sc

import cdsolve as cd
from cdsolve.theory.two_tweezer import TwoTweezerModel
from cdsolve.dynamics.recoil_noise import nonreciprocity_mismatch, recoil_diffusion

OUT = Path(__file__).parent / "output"
LAM, W0, RADIUS = 1550e-9, 1e-6, 104e-9
K = 2 * np.pi / LAM
MASS = 4 / 3 * np.pi * RADIUS**3 * 2200.0
ALPHA = 4 * np.pi * sc.epsilon_0 * RADIUS**3 * (1.45**2 - 1) / (1.45**2 + 2)
results: dict = {"checks": {}, "sweep": {}}
failed = False


def check(name, value, tol):
    global failed
    ok = bool(value <= tol)
    failed |= not ok
    results["checks"][name] = {"value": float(value), "tol": float(tol), "pass": ok}
    print(f"{'PASS' if ok else 'FAIL'} {name}: {value:.3e} (tol {tol:.1e})")


def scene(kd, phi, particle):
    d = kd / K
    beams = [cd.GaussianTweezer(LAM, focus=(0, 0, 0), waist=W0, power=0.1, phase=phi),
             cd.GaussianTweezer(LAM, focus=(0, d, 0), waist=W0, power=0.13, phase=0.0)]
    return cd.Scene(positions=[[0, 0, 0], [0, d, 0]], particles=particle, illumination=beams)


def main() -> int:
    warnings.simplefilter("ignore")  # dipole-validity warnings for the 104 nm sphere are expected here
    # 1. closed form vs quadrature, random mixed e+m scene
    rng = np.random.default_rng(0)
    pos = rng.uniform(-0.8e-6, 0.8e-6, (4, 3))
    parts = [cd.Sphere(radius=90e-9, index=3.5), cd.Sphere(radius=60e-9, index=1.45),
             cd.KerkerParticle(alpha_e=cd.Sphere(radius=60e-9, index=3.5), condition=1), cd.Sphere(radius=70e-9, index=2.0)]
    ill = [cd.PlaneWave(1064e-9, intensity=1e9, direction=(0.3, -0.2, 1.0), polarization=(1, 0, -0.3)),
           cd.GaussianTweezer(1064e-9, focus=(0.1e-6, 0, 0), waist=1e-6, power=0.1, phase=0.4)]
    sol = cd.solve(cd.Scene(positions=pos, particles=parts, illumination=ill))
    D = recoil_diffusion(sol)
    Dq = recoil_diffusion(sol, method="quadrature")
    check("closed_form_vs_quadrature", np.abs(D - Dq).max() / np.abs(D).max(), 1e-8)
    check("hermitian", np.abs(D - D.conj().T).max() / np.abs(D).max(), 1e-12)
    check("psd", max(0.0, -np.linalg.eigvalsh(0.5 * (D + D.conj().T)).min() / np.abs(D).max()), 1e-12)

    # 2. far-field tweezer limit (solve(orders=0)) vs PRA (79a), (79b)
    kds = 2 * np.pi * np.array([2, 5, 10, 20, 40, 80, 160]) + np.pi / 2 - 0.3
    err11, err12 = [], []
    for kd in kds:
        m = TwoTweezerModel(LAM, ALPHA, distance=kd / K, waist=W0, powers=(0.1, 0.13), phases=(0.7, 0.0),
                            masses=(MASS, MASS))
        Dz = recoil_diffusion(cd.solve(scene(kd, 0.7, cd.DipoleParticle(alpha_e=ALPHA)), orders=0), dofs="z", absorption=False)
        err11.append(abs(Dz[0, 0] / m.diffusion[0, 0] - 1))
        err12.append(abs(Dz[0, 1] - m.diffusion[0, 1]) / (sc.hbar * m.coupling_constant / 2))
    results["sweep"]["far_field"] = {"kd": kds.tolist(), "rel_err_D11": err11, "rel_err_D12": err12}
    # the other tweezer's Gaussian tail at particle j (exp(-d^2/w0^2) in amplitude) is neglected by eq. 79a:
    # 3e-5 at kd = 2 pi 2 (d = 3.4 w0); compare where d > 5 w0
    far = kds / K > 5 * W0
    check("far_field_D11_eq79a_d_gt_5w0", max(np.array(err11)[far]), 1e-12)
    check("far_field_D12_eq79b_times_kd", max(np.array(err12) * kds), 0.15)

    # 3. commutator identity C_12 - C_21 = 4 Im D_12 / hbar vs kd
    sweep = {"kd": [], "first_order_real_alpha": [], "self_consistent_real_alpha": [],
             "self_consistent_lossless_mie": [], "self_consistent_absorbing_mie": []}
    for kd in kds:
        dip = cd.DipoleParticle(alpha_e=ALPHA)
        s = scene(kd, 0.7, dip)
        first = nonreciprocity_mismatch(-cd.force_jacobian(cd.solve(s, orders=1), dofs="z"),
                                        recoil_diffusion(cd.solve(s, orders=0), dofs="z", absorption=False)).relative
        sol = cd.solve(s)
        sc_real = nonreciprocity_mismatch(-cd.force_jacobian(sol, dofs="z"),
                                         recoil_diffusion(sol, dofs="z", absorption=False)).relative
        vals = [first, sc_real]
        for index in (1.45, 1.45 + 0.05j):
            sol = cd.solve(scene(kd, 0.7, cd.Sphere(radius=RADIUS, index=index)))
            vals.append(nonreciprocity_mismatch(-cd.force_jacobian(sol, dofs="z"), recoil_diffusion(sol, dofs="z")).relative)
        sweep["kd"].append(float(kd))
        for key, v in zip(list(sweep)[1:], vals):
            sweep[key].append(float(v))
        print(f"INFO kd={kd:8.2f}: |C12-C21-4ImD12/hbar|/C: first-order real alpha {vals[0]:.2e}, "
              f"self-consistent real alpha {vals[1]:.2e}, lossless Mie {vals[2]:.2e}, absorbing Mie {vals[3]:.2e}")
    results["sweep"]["commutator_identity"] = sweep
    kd_arr = np.array(sweep["kd"])
    check("identity_first_order_far_field_times_kd2", max(np.array(sweep["first_order_real_alpha"]) * kd_arr**2), 1.0)
    check("identity_lossless_self_consistent", max(sweep["self_consistent_lossless_mie"]), 1e-10)

    OUT.mkdir(exist_ok=True)
    (OUT / "recoil_diffusion.json").write_text(json.dumps(results, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        ax[0].loglog(kds, err12, "o-", label="|D12 - eq.79b| / (hbar C/2)")
        ax[0].loglog(kds, 0.1 / kds, "k--", label="0.1/kd")
        ax[0].set_xlabel("k d")
        ax[0].legend()
        ax[0].set_title("far-field limit (orders=0)")
        for key in list(sweep)[1:]:
            ax[1].loglog(kd_arr, np.maximum(sweep[key], 1e-17), "o-", label=key)
        ax[1].set_xlabel("k d")
        ax[1].set_ylabel("|C12 - C21 - 4 Im D12/hbar| / C")
        ax[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(OUT / "recoil_diffusion.png", dpi=120)
    except ImportError:
        print("INFO matplotlib missing: no plot")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
