"""Phase-gradient tweezer chain from the full solver: coupling signs and skin localization, full vs truncated.

Chain of 104 nm silica spheres (real Clausius-Mossotti alpha) in 1550 nm tweezers (waist 1 um), nearest-
neighbour phase difference pi/4 and spacing (2 pi n + pi/4)/k (n = 2), polarization perpendicular to the
chain; z motion. Couplings C = -K come from ``cd.linearize(..., dofs="z")``. Prints PASS/FAIL lines and
writes ``validation/output/chain_full_solver.png``/``.json``:

* signs: couplings positive in one direction, alternating in sign in the other (Rudolph et al. 2024, IV.B.5);
* right-eigenvector localization (median signed inverse localization length per site, weight in the first
  and last 10 % of sites) for N = 10-200 with the full long-range couplings, with the bulk couplings
  re-used translation-invariantly (no binding-induced site dependence), and with nearest-neighbour truncation.

    python validation/chain_full_solver.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cdsolve as cd  # noqa: E402
from cdsolve.theory import chains  # noqa: E402
from cdsolve.workflow import geometry  # noqa: E402
from cdsolve.optics.conventions import EPS0  # noqa: E402

OUT = Path(__file__).parent / "output"
LAM, A = 1550e-9, 104e-9
K = 2 * np.pi / LAM
PARTICLE = cd.DipoleParticle(alpha_e=4 * np.pi * EPS0 * A**3 * (1.45**2 - 1) / (1.45**2 + 2), radius=A, density=2200)


def coupling_matrix(n_sites: int, n: int = 2) -> np.ndarray:
    """C = -K (z-z) of the phase-gradient chain from the full solver [N/m]."""
    arr = geometry.chain(n_sites, (2 * np.pi * n + np.pi / 4) / K, axis="x", phase_gradient=-np.pi / 4,
                         polarization=(0, 1, 0), power=0.1)
    return -cd.linearize(arr.scene(PARTICLE, LAM, waist=1e-6), dofs="z").stiffness


def localization_summary(matrix: np.ndarray) -> dict:
    sa = chains.skin_analysis(matrix)
    inv = sa.right.inverse_length
    return {"median_inverse_length_per_site": float(np.nanmedian(inv)),
            "weight_first_10pct": float(np.median(sa.right.edge_first)),
            "weight_last_10pct": float(np.median(sa.right.edge_last))}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    C = coupling_matrix(40)
    i = 20
    fwd = C[i, i + 1 : i + 7] / abs(C[i, i + 1])  # force on i from i+m
    bwd = C[i, i - 6 : i][::-1] / abs(C[i, i + 1])  # force on i from i-m
    ok_fwd = bool(np.all(fwd > 0))
    even = bwd[1::2]  # m = 2, 4, 6: -1/2, +1/4, -1/6 of the nearest-neighbour coupling
    ok_bwd = bool(np.all(np.sign(even) == np.array([-1, 1, -1])) and np.all(np.abs(bwd[0::2]) < 0.05))
    print(f"{'PASS' if ok_fwd else 'FAIL'} forward couplings all positive: {np.round(fwd, 3).tolist()}")
    print(f"{'PASS' if ok_bwd else 'FAIL'} backward couplings alternate (odd m ~ 0): {np.round(bwd, 3).tolist()}")
    sizes = [10, 20, 40, 80, 120, 200]
    rows = {"full": [], "bulk_translation_invariant": [], "nearest_neighbour": []}
    for n_sites in sizes:
        Cn = coupling_matrix(n_sites)
        onsite, f, b = chains.bulk_couplings(Cn)
        bulk = chains.chain_couplings(np.real(f), n_sites, np.real(b), onsite=np.real(onsite))
        rows["full"].append(localization_summary(Cn))
        rows["bulk_translation_invariant"].append(localization_summary(bulk))
        rows["nearest_neighbour"].append(localization_summary(chains.truncate(bulk, 1)))
        print(f"N = {n_sites:3d}: median 1/xi per site  full {rows['full'][-1]['median_inverse_length_per_site']:+.4f}"
              f"  bulk {rows['bulk_translation_invariant'][-1]['median_inverse_length_per_site']:+.4f}"
              f"  nearest-neighbour {rows['nearest_neighbour'][-1]['median_inverse_length_per_site']:+.4f}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    m = np.arange(1, 7)
    axes[0].plot(m, fwd, "o-", label="forward C[i, i+m]")
    axes[0].plot(m, bwd, "s-", label="backward C[i, i-m]")
    axes[0].axhline(0, color="0.6", lw=0.8)
    axes[0].set_xlabel("neighbour m")
    axes[0].set_ylabel("coupling / nearest-neighbour coupling")
    axes[0].legend(fontsize=8)
    axes[0].set_title("full-solver couplings, phi = pi/4, kd = 2 pi 2 + pi/4", fontsize=9)
    for key, style in (("full", "o-"), ("bulk_translation_invariant", "s--"), ("nearest_neighbour", "^:")):
        axes[1].plot(sizes, [r["median_inverse_length_per_site"] for r in rows[key]], style, label=key)
    axes[1].set_xlabel("chain length N")
    axes[1].set_ylabel("median signed 1/xi per site (right eigenvectors)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "chain_full_solver.png", dpi=110)
    (OUT / "chain_full_solver.json").write_text(json.dumps(
        {"forward": fwd.tolist(), "backward": bwd.tolist(), "sizes": sizes, "localization": rows}, indent=1))
    return 0 if ok_fwd and ok_bwd else 1


if __name__ == "__main__":
    raise SystemExit(main())
