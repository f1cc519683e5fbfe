"""Plots a person would rather look at than read (matplotlib, Agg backend, files only)."""

from __future__ import annotations

import numpy as np


def _figure(**kw):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(**kw)


def plot_forces(scene, forces, interaction_forces, path) -> None:
    """Geometry in the plane of largest extent with total (grey) and interaction (red) force arrows.

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
                                (axes[1], interaction_forces, "tab:red", "interaction force F - F_iso")):
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
    # particle's own block (trap + self terms) so the interaction couplings are visible
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


def plot_sweep(ds, path) -> None:
    """Overview of a sweep Dataset (:func:`cdsolve.workflow.sweep.sweep`).

    One sweep dimension: interaction forces of every particle (all components that vary) and, when
    present, the growth rates ``Im omega`` of the modes against the parameter. Two or more: maps of
    the interaction force component on particle 0 that varies most over the first two dimensions (the
    other dimensions at their first value).
    """
    dims = [d for d in ds["interaction_forces"].dims if d not in ("particle", "component")]
    f = ds["interaction_forces"]
    units = {d: ds[d].attrs.get("units", "") for d in dims}
    if len(dims) == 1:
        d = dims[0]
        has_modes = "mode_frequency_im" in ds
        fig, axes = _figure(ncols=2 if has_modes else 1, figsize=(11 if has_modes else 6, 4.2), squeeze=False)
        ax = axes[0, 0]
        x = ds[d].values
        for p in ds["particle"].values:
            for c in ds["component"].values:
                y = f.sel(particle=p, component=c).values
                if np.ptp(y) > 1e-6 * max(np.abs(f.values).max(), 1e-300):
                    ax.plot(x, y * 1e15, label=f"particle {p}, {c}")
        ax.set_xlabel(f"{d} [{units[d]}]")
        ax.set_ylabel("interaction force F - F_iso [fN]")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        if has_modes:
            ax = axes[0, 1]
            im = ds["mode_frequency_im"].values
            for m in range(im.shape[-1]):
                ax.plot(x, im[:, m] / (2 * np.pi), ".", ms=3)
            ax.axhline(0, color="k", lw=0.6)
            ax.set_xlabel(f"{d} [{units[d]}]")
            ax.set_ylabel("Im omega / 2 pi [Hz] (> 0 grows)")
            ax.set_title("mode growth / decay rates")
            ax.grid(alpha=0.3)
    else:
        d0, d1 = dims[:2]
        sub = f.isel({d: 0 for d in dims[2:]}).sel(particle=0)
        comp = sub["component"].values[int(np.argmax([np.ptp(sub.sel(component=c).values)
                                                      for c in sub["component"].values]))]
        z = sub.sel(component=comp).transpose(d1, d0).values * 1e15
        fig, ax = _figure(figsize=(6.4, 4.8))
        x0, x1 = ds[d0].values, ds[d1].values
        mesh = ax.pcolormesh(x0, x1, z, shading="auto", cmap="RdBu_r",
                             vmin=-np.abs(z).max(), vmax=np.abs(z).max())
        fig.colorbar(mesh, ax=ax, label=f"interaction force on particle 0, {comp} [fN]")
        ax.set_xlabel(f"{d0} [{units[d0]}]")
        ax.set_ylabel(f"{d1} [{units[d1]}]")
    fig.suptitle(ds.attrs.get("title", "cdsolve sweep"))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
