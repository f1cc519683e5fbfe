#!/usr/bin/env python
"""Optical binding + Casimir-Polder landscapes of two silica nanospheres (Jakubec et al. PRA 109, 052807, Figs. 3-6).

Setup (paper Sec. IV): R = 100 nm silica (Drude-Lorentz eq. 35, real Clausius-Mossotti alpha at 1064 nm),
flat tweezers of 1e-2 W/um^2 each (``cdsolve.theory.binding_potentials.FlatTweezers`` semantics), T = 300 K, separation
along x, relative phase dphi = phi_B - phi_A.

Figures (validation/output/binding_potentials_fig{3,4,5,6}.png):
3. |U_OB| (yy, dphi = 0) and |U_CP| from 1 nm to 100 um with the paper's eqs. (39), (40), (36)-(38).
4. (a) total potential along x at dphi = 0 and pi, inset near r = lambda; (b) U_A, U_B at dphi = pi/2.
5. total potential of sphere A in the z = 0 plane for yy, xy, xx polarizations (dphi = 0).
6. (a, b) U_A, U_B vs (r, dphi); (c) minima of U_A and U_B vs dphi and the static stable equilibria
   from the two-body Jacobian (``bound_states``).

Checks: eq. (39) near field and eq. (40) far field; U_A(dphi) = U_B(-dphi) (paper's symmetry); the well
nearest lambda at dphi = 0 from a 0.5 nm grid vs the Jacobian bound state; static bound states vs dphi
exist only at dphi = 0 and pi (paper's Fig. 6c claim).

    /work/venv/bin/python validation/binding_potentials.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cdsolve.optics.casimir import FluctuatingDipole, casimir_pair_energy  # noqa: E402
from cdsolve.optics.conventions import KB  # noqa: E402
from cdsolve.optics.materials import SILICA_DRUDE_LORENTZ  # noqa: E402
from cdsolve.theory.binding_potentials import (TweezerPair, bound_states, far_field_binding, line_landscape,  # noqa: E402
                                near_field_binding, plane_landscape)

OUT = Path(__file__).parent / "output"
LAM, I0, R = 1064e-9, 1e10, 100e-9
POL = {"yy": ((0, 1, 0), (0, 1, 0)), "xy": ((1, 0, 0), (0, 1, 0)), "xx": ((1, 0, 0), (1, 0, 0))}
checks = []


def check(name, err, tol):
    ok = bool(abs(err) <= tol)
    checks.append({"name": name, "error": float(err), "tol": tol, "pass": ok})
    print(f"{'PASS' if ok else 'FAIL'} {name}: {err:.3e} (tol {tol:g})")


def fig3(pair):
    r = np.logspace(-9, -4, 400)
    L = line_landscape(pair, r, include_casimir=False)
    at, k = pair.alpha_tilde, pair.k
    nf = near_field_binding(r, I0, I0, 0.0, R, at)
    ff = far_field_binding(r, I0, I0, 0.0, R, at, k)
    dip = FluctuatingDipole(pair.sphere().polarizability)
    cp = casimir_pair_energy(r, dip, temperature=300.0)
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.loglog(r, np.abs(L["binding_A"]) / KB, "k", lw=1.5, label="optical binding (full, yy, dphi=0)")
    ax.loglog(r, np.abs(nf) / KB, "C0--", label="eq. (39) near field")
    env = np.abs(far_field_binding(r, I0, I0, -k * r, R, at, k))  # cos(kr + dphi) = 1: the envelope
    ax.loglog(r, env / KB, "C1--",
              label="eq. (40) far-field envelope")
    ax.loglog(r, -cp / KB, "C3", label="Casimir-Polder (full, 300 K)")
    ax.axvline(LAM, color="gray", lw=0.8)
    ax.set_xlabel("r [m]")
    ax.set_ylabel("|U| [K]")
    ax.set_ylim(1e-12, 1e16)
    ax.legend(fontsize=8)
    ax.set_title("Fig. 3: optical binding and Casimir-Polder regimes")
    fig.tight_layout()
    fig.savefig(OUT / "binding_potentials_fig3.png", dpi=130)
    i = np.argmin(np.abs(r - LAM / 200))
    check("eq.39 near field at lambda/200: U_OB/eq39 - 1", L["binding_A"][i] / nf[i] - 1, 2e-3)
    far = r > 30 * LAM  # relative corrections ~ 1/(kr) <= 5e-3
    check("eq.40 far field r>30 lambda: max|U_OB - eq40|/envelope",
          np.max(np.abs(L["binding_A"][far] - ff[far]) / env[far]), 1e-2)


def fig4(pair0):
    r = np.linspace(0.21e-6, 4e-6, 3000)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    res = {}
    for dphi, col in ((0.0, "green"), (np.pi, "blue")):
        L = line_landscape(TweezerPair(R, SILICA_DRUDE_LORENTZ, delta_phi=dphi), r)
        a.plot(r * 1e6, L["total_A"] / KB, color=col, label=f"dphi = {dphi:.2f}")
        res[dphi] = L
    a.set_ylim(res[0.0]["trap_A"][0] / KB - 400, res[0.0]["trap_A"][0] / KB + 400)
    a.set_xlabel("r [um]")
    a.set_ylabel("U [K]")
    a.set_title("Fig. 4a: total potential (joint), yy, 300 K")
    a.legend()
    ins = a.inset_axes([0.55, 0.08, 0.4, 0.35])
    m = (r > 0.7e-6) & (r < 1.4e-6)
    ins.plot(r[m] * 1e6, (res[0.0]["total_A"][m] - res[0.0]["trap_A"][0]) / KB, "green")
    ins.set_title("well near lambda (K rel. plateau)", fontsize=7)
    L = line_landscape(TweezerPair(R, SILICA_DRUDE_LORENTZ, delta_phi=np.pi / 2), r)
    b.plot(r * 1e6, L["total_A"] / KB, color="maroon", label="sphere A")
    b.plot(r * 1e6, L["total_B"] / KB, color="black", label="sphere B")
    b.set_ylim(L["trap_A"][0] / KB - 400, L["trap_A"][0] / KB + 400)
    b.set_xlabel("r [um]")
    b.set_title("Fig. 4b: dphi = pi/2 (non-conservative)")
    b.legend()
    fig.tight_layout()
    fig.savefig(OUT / "binding_potentials_fig4.png", dpi=130)
    # well nearest lambda at dphi = 0: grid vs Jacobian bound state
    rr = np.arange(0.6e-6, 1.8e-6, 0.5e-9)
    info = {}
    for cp in (True, False):
        Lw = line_landscape(pair0, rr, include_casimir=cp)
        U = Lw["total_A"]
        mins = np.flatnonzero((U[1:-1] < U[:-2]) & (U[1:-1] < U[2:])) + 1
        i = mins[np.argmin(np.abs(rr[mins] - LAM))]
        maxs = np.flatnonzero((U[1:-1] > U[:-2]) & (U[1:-1] > U[2:])) + 1
        outer, inner = maxs[maxs > i][0], maxs[maxs < i]
        info[cp] = {"r_nm": rr[i] * 1e9, "depth_below_plateau_K": (Lw["trap_A"][0] - U[i]) / KB,
                    "barrier_outer_K": (U[outer] - U[i]) / KB,
                    "barrier_inner_K": (U[inner[-1]] - U[i]) / KB if len(inner) else None,
                    "pair_sum_depth_K": 2 * (Lw["trap_A"][0] - U[i]) / KB}
    bs = bound_states(pair0, [info[True]["r_nm"] * 1e-9])
    check("well near lambda: Jacobian bound state vs 0.5 nm grid [m]", bs[0]["r"] - info[True]["r_nm"] * 1e-9, 0.5e-9)
    print(f"INFO well nearest lambda (dphi=0): with CP {info[True]}; without CP {info[False]}")
    return info


def fig5():
    x = np.linspace(-3e-6, 3e-6, 241)
    X, Y = np.meshgrid(x, x, indexing="xy")
    seps = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1)
    keep = np.linalg.norm(seps, axis=1) > 0.3e-6
    fig, axs = plt.subplots(1, 3, figsize=(14, 4.3))
    for ax, (name, pol) in zip(axs, POL.items()):
        pair = TweezerPair(R, SILICA_DRUDE_LORENTZ, polarizations=pol)
        U = np.full(X.size, np.nan)
        L = plane_landscape(pair, seps[keep])
        U[keep] = (L["total_A"] - L["trap_A"]) / KB
        im = ax.pcolormesh(X * 1e6, Y * 1e6, U.reshape(X.shape), cmap="RdBu_r", vmin=-300, vmax=300, shading="auto")
        ax.set_title(f"Fig. 5: {name}-polarization, U_A - plateau [K]")
        ax.set_xlabel("x [um]")
        ax.set_aspect("equal")
    axs[0].set_ylabel("y [um]")
    fig.colorbar(im, ax=axs, shrink=0.8)
    fig.savefig(OUT / "binding_potentials_fig5.png", dpi=110)


def fig6():
    r = np.linspace(0.3e-6, 3e-6, 541)
    phis = np.linspace(0, 2 * np.pi, 73)
    UA = np.empty((len(phis), len(r)))
    UB = np.empty_like(UA)
    for i, ph in enumerate(phis):
        L = line_landscape(TweezerPair(R, SILICA_DRUDE_LORENTZ, delta_phi=ph), r)
        UA[i], UB[i] = (L["total_A"] - L["trap_A"]) / KB, (L["total_B"] - L["trap_B"]) / KB
    # symmetry U_A(dphi) = U_B(-dphi) = U_B(2 pi - dphi)
    check("U_A(dphi) = U_B(-dphi) [K]", np.max(np.abs(UA - UB[::-1])), 1e-9)
    fig, axs = plt.subplots(1, 3, figsize=(15, 4.3))
    for ax, U, name in ((axs[0], UA, "A"), (axs[1], UB, "B")):
        im = ax.pcolormesh(r * 1e6, phis / np.pi, U, cmap="RdBu_r", vmin=-300, vmax=300, shading="auto")
        ax.set_title(f"Fig. 6{'a' if name == 'A' else 'b'}: U_{name} - plateau [K]")
        ax.set_xlabel("r [um]")
        ax.set_ylabel("dphi / pi")
    fig.colorbar(im, ax=axs[:2], shrink=0.8)
    ax = axs[2]
    for U, col, lab in ((UA, "teal", "minima of U_A"), (UB, "orange", "minima of U_B")):
        ii, jj = np.nonzero((U[:, 1:-1] < U[:, :-2]) & (U[:, 1:-1] < U[:, 2:]))
        ax.plot(r[jj + 1] * 1e6, phis[ii] / np.pi, ".", color=col, ms=3, label=lab)
    static_phases = []
    guesses = np.linspace(0.5e-6, 2.9e-6, 9)
    for ph in phis[::3]:
        for b in bound_states(TweezerPair(R, SILICA_DRUDE_LORENTZ, delta_phi=ph), guesses):
            if b["stable"] and b["static"]:
                static_phases.append(float(ph))
                ax.plot(b["r"] * 1e6, ph / np.pi, "k*", ms=9)
    ax.plot([], [], "k*", label="stable static equilibrium (Jacobian)")
    ax.set_xlabel("r [um]")
    ax.set_ylabel("dphi / pi")
    ax.set_title("Fig. 6c: stability along x")
    ax.legend(fontsize=7)
    fig.savefig(OUT / "binding_potentials_fig6.png", dpi=110)
    sp = np.unique(np.round(np.array(static_phases) / np.pi, 6))
    off = [p for p in sp if min(abs(p - 0), abs(p - 1), abs(p - 2)) > 1e-9]
    check("static bound states only at dphi = 0, pi (number of other phases)", len(off), 0)
    print(f"INFO phases (units of pi) with static stable bound states: {sp.tolist()}")
    return sp.tolist()


def main() -> int:
    OUT.mkdir(exist_ok=True)
    pair0 = TweezerPair(R, SILICA_DRUDE_LORENTZ)
    fig3(pair0)
    well = fig4(pair0)
    fig5()
    phases = fig6()
    json.dump({"alpha_tilde_1064": pair0.alpha_tilde, "well_near_lambda": {str(k): v for k, v in well.items()},
               "static_bound_state_phases_over_pi": phases, "checks": checks},
              open(OUT / "binding_potentials.json", "w"), indent=1)
    return 0 if all(c["pass"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
