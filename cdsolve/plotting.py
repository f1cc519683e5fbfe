"""Plots a person would rather look at than read (matplotlib, Agg backend, files only)."""

from __future__ import annotations

import numpy as np


def _figure(**kw):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(**kw)


def plot_forces(scene, forces, interaction_forces, path) -> None:
    """Geometry in the plane of largest extent with total (grey) and binding (red) force arrows.

    Parameters
    ----------
    scene : Scene
    forces, interaction_forces : (N, 3) float [N]
    path : str or Path
        PNG file to write.
    """
    import matplotlib.pyplot as plt

    pos = scene.positions * 1e6
    spread = np.ptp(pos, axis=0) if len(pos) > 1 else np.ones(3)
    ax_i, ax_j = np.sort(np.argsort(spread)[-2:])
    names = "xyz"
    fig, axes = _figure(ncols=2, figsize=(11, 4.6))
    extent = max(float(np.ptp(pos[:, [ax_i, ax_j]])), 1.0)
    for ax, F, color, label in ((axes[0], forces, "0.35", "total force"),
                                (axes[1], interaction_forces, "tab:red", "binding force F - F_iso")):
        F = np.asarray(F)
        ax.scatter(pos[:, ax_i], pos[:, ax_j], s=60, c="tab:blue", zorder=3)
        mag = np.abs(F[:, [ax_i, ax_j]]).max()
        if mag > 0:
            scale = 0.25 * extent / mag
            ax.quiver(pos[:, ax_i], pos[:, ax_j], F[:, ax_i] * scale, F[:, ax_j] * scale, color=color, angles="xy",
                      scale_units="xy", scale=1, width=0.006)
        ax.set_title(f"{label}\n(longest arrow {mag * 1e15:.3g} fN, in-plane part)", fontsize=10)
        ax.set_xlabel(f"{names[ax_i]} [um]")
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(0.3)
    axes[0].set_ylabel(f"{names[ax_j]} [um]")
    fig.suptitle(f"{scene.n_particles} particles, wavelength {scene.wavelength * 1e9:.0f} nm")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_linear_model(lin, path) -> None:
    """Stiffness matrix (reciprocal and antireciprocal parts) and the complex mode spectrum.

    Parameters
    ----------
    lin : LinearModel
    path : str or Path
        PNG file to write.
    """
    import matplotlib.pyplot as plt

    fig, axes = _figure(ncols=3, figsize=(14, 4.2))
    # couplings between particles are orders of magnitude below the trap stiffness: mask each
    # particle's own block (trap + self terms) so the binding couplings are visible
    owner = np.asarray(lin.dofs) // 3
    own = owner[:, None] == owner[None, :]
    lim = np.abs(np.where(own, 0.0, lin.stiffness)).max() or 1.0
    for ax, M, title in ((axes[0], lin.reciprocal, "reciprocal coupling (K + K^T)/2"),
                         (axes[1], lin.antireciprocal, "antireciprocal coupling (K - K^T)/2")):
        im = ax.imshow(np.where(own, np.nan, M), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title + " [N/m]\n(particles' own blocks masked)", fontsize=9)
        ticks = np.arange(lin.n)
        if lin.n <= 24:
            ax.set_xticks(ticks, lin.labels, rotation=90, fontsize=6)
            ax.set_yticks(ticks, lin.labels, fontsize=6)
        fig.colorbar(im, ax=ax, shrink=0.8)
    w = lin.mode_frequencies()
    ax = axes[2]
    ax.scatter(w.real / (2 * np.pi * 1e3), w.imag / (2 * np.pi), c="tab:red", s=25)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("Re omega / 2 pi [kHz]")
    ax.set_ylabel("Im omega / 2 pi [Hz]  (> 0 grows)")
    ax.set_title("mode spectrum", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
