"""Pair forces: cdsolve (Mie dipoles, self-consistent) vs converged multi-sphere Mie theory (MiePy GMMT).

Reads the stored reference data (``validation/reference_data/*.json``, produced by
``generate_gmmt_reference.py``), recomputes every configuration with cdsolve, writes
``validation/output/pairs_vs_gmmt.png`` and ``.json`` and prints one PASS/FAIL line per check
with the measured error. Tolerances are issue #2's (the dipole approximation's own error).

    python validation/pairs_vs_gmmt.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cdsolve.workflow.gmmt_reference import compare_with_reference, load_reference  # noqa: E402

HERE = Path(__file__).parent
DATA = HERE / "reference_data"
OUT = HERE / "output"

CHECKS = {
    # file: (total tolerance, interaction tolerance (of largest component), axis tolerance (of sweep max))
    "silicon_pair_axial.json": (0.02, 0.08, None),
    "silica_pair_perpendicular.json": (0.012, None, 0.003),
}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    summary, ok = {}, True
    sets = [(f, res) for f in CHECKS if (DATA / f).exists() for res in compare_with_reference(load_reference(DATA / f))]
    fig, axes = plt.subplots(len(sets), 2, figsize=(11, 3.2 * len(sets)), squeeze=False)
    for row, (fname, res) in enumerate(sets):
        tol_tot, tol_int, tol_axis = CHECKS[fname]
        L = res["parameter"] * 1e9
        key = f"{fname[:-5]}/{res['name']}"
        entry = {"max_total_err": float(res["total_err"].max())}
        lines = [("total forces", entry["max_total_err"], tol_tot)]
        if tol_int is not None:
            entry["max_interaction_err"] = float(res["interaction_err"].max())
            lines.append(("interaction forces (of largest component)", entry["max_interaction_err"], tol_int))
        if tol_axis is not None:
            entry["max_axis_err"] = float(res["axis_err"].max())
            lines.append(("interaction force along the pair axis (of sweep max)", entry["max_axis_err"], tol_axis))
        for label, err, tol in lines:
            passed = err < tol
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'} {key}: {label} max rel. error {err:.2e} (tolerance {tol:g})")
        summary[key] = entry
        axis = res.get("axis", 2)
        ax = axes[row, 0]
        for q, style in ((0, "-"), (1, "--")):
            ax.plot(L, res["interaction_ref"][:, q, axis] * 1e21, "k" + style, lw=1.5, label=f"GMMT sphere {q}")
            ax.plot(L, res["interaction"][:, q, axis] * 1e21, "C3" + style, lw=1, label=f"cdsolve sphere {q}")
        ax.set_title(f"{key}: interaction force along {'xyz'[axis]}", fontsize=9)
        ax.set_xlabel("centre distance L [nm]")
        ax.set_ylabel("f [zN] at 1 V/m")
        ax.legend(fontsize=7)
        ax = axes[row, 1]
        ax.semilogy(L, res["total_err"], label="total force")
        ax.semilogy(L, res["interaction_err"], label="interaction (of largest comp.)")
        if "axis_err" in res:
            ax.semilogy(L, res["axis_err"], label="interaction along axis (of sweep max)")
        ax.set_xlabel("centre distance L [nm]")
        ax.set_ylabel("relative error vs GMMT")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / "pairs_vs_gmmt.png", dpi=110)
    (OUT / "pairs_vs_gmmt.json").write_text(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
