#!/usr/bin/env python
# cdsolve-validate: slow (about 10 min: treams T-matrices + stress-tensor quadrature on many spheres)
"""Independent cross-check of the GMMT reference forces with treams + Maxwell stress tensor.

For a few configurations of each ``validation/reference_data/*.json`` dataset this script

1. rebuilds the incident plane wave ONLY from the JSON beam description (``direction``,
   Cartesian ``polarization_re/_im``, ``amplitude``), so it also checks that the stored
   incident-field definition is complete;
2. solves the multiple-scattering problem with treams (T-matrix code, independent of
   MiePy) at the JSON's lmax or, for the costly cases, a moderate converged lmax (see PICKS);
3. evaluates total E and H on a sphere of radius R around each particle and integrates
   the time-averaged Maxwell stress tensor (Gauss-Legendre x trapezoid quadrature),
   at one or two radii R (the result must not depend on R);
4. compares with ``forces_total`` (and for the single-particle runs ``forces_isolated``).

Writes ``validation/reference_data/crosscheck_treams_mst.json``.  MiePy's force kernel
uses eps0 = 8.854187817e-12; the comparison rescales the MST result (computed with scipy's
eps0) to MiePy's eps0 so that only numerics remain.

    /work/venv/bin/python validation/crosscheck_treams_mst.py
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy.constants as sc
import treams

HERE = Path(__file__).resolve().parent
REF = HERE / "reference_data"
MIEPY_EPS0 = 8.854187817e-12
NM = 1e-9  # treams works in nm here


def mst_force(E, H, normals, weights, R_nm, eps_m=1.0):
    """Time-averaged force from fields on a sphere: F = sum_w T.n R^2, H in E units (Z H)."""
    # T_ij = eps0 eps_m / 2 Re[E_i E_j* + Hz_i Hz_j* - 1/2 d_ij (|E|^2 + |Hz|^2)], Hz = Z H  (mu_m = 1)
    En = np.einsum("pi,pi->p", E, normals)
    Hn = np.einsum("pi,pi->p", H, normals)
    tn = E * np.conj(En)[:, None] + H * np.conj(Hn)[:, None]
    tn -= 0.5 * normals * (np.sum(np.abs(E) ** 2, axis=1) + np.sum(np.abs(H) ** 2, axis=1))[:, None]
    tn = sc.epsilon_0 * eps_m / 2 * tn.real
    return np.einsum("p,pi->i", weights, tn) * (R_nm * NM) ** 2


def sphere_quadrature(n_theta, n_phi):
    x, w = np.polynomial.legendre.leggauss(n_theta)
    theta = np.arccos(x)
    phi = np.arange(n_phi) * 2 * np.pi / n_phi
    T, P = np.meshgrid(theta, phi, indexing="ij")
    W = np.repeat(w[:, None], n_phi, axis=1) * (2 * np.pi / n_phi)
    nvec = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], axis=-1)
    return nvec.reshape(-1, 3), W.reshape(-1)


def treams_forces(positions_m, radius_m, index, wavelength_m, n_medium, beam, lmax, radii_factor, nq=(24, 48)):
    k0 = 2 * np.pi / (wavelength_m / NM)
    medium = treams.Material(n_medium**2)
    pos = np.asarray(positions_m) / NM
    a = radius_m / NM
    sph = treams.TMatrix.sphere(lmax, k0, a, [treams.Material(index**2), medium])
    if len(pos) == 1:
        tm = treams.TMatrix.cluster([sph], pos)
    else:
        tm = treams.TMatrix.cluster([sph] * len(pos), pos).interaction.solve()
    kvec = k0 * n_medium * np.asarray(beam["direction"])
    pol = beam["amplitude"] * (np.asarray(beam["polarization_re"]) + 1j * np.asarray(beam["polarization_im"]))
    inc = treams.plane_wave(kvec, list(pol), k0=k0, material=medium)
    sca = tm @ inc.expand(tm.basis)
    normals, weights = sphere_quadrature(*nq)
    out = []
    for i, p in enumerate(pos):
        dmin = min([np.linalg.norm(p - q) for j, q in enumerate(pos) if j != i] + [np.inf])
        Fs = []
        for f in radii_factor:
            R = a + f * (min(dmin - a, 3 * a) - a)  # between own surface and the nearest other sphere
            pts = p + R * normals
            kw = dict(k0=k0, material=medium)
            E = np.asarray(treams.efield(pts, basis=inc.basis, poltype=inc.poltype, **kw) @ inc)
            H = np.asarray(treams.hfield(pts, basis=inc.basis, poltype=inc.poltype, **kw) @ inc)
            E = E + np.asarray(treams.efield(pts, basis=tm.basis, modetype="singular", poltype=tm.poltype, **kw) @ sca)
            H = H + np.asarray(treams.hfield(pts, basis=tm.basis, modetype="singular", poltype=tm.poltype, **kw) @ sca)
            # treams' H is in units of [E]/Z0; in a medium the MST needs Z H with Z = Z0/n
            Fs.append(mst_force(E, H / n_medium, normals, weights, R, n_medium**2))
        out.append(Fs)
    return np.array(out)  # [N, n_R, 3]


# (file, dataset index, config indices, treams lmax, MST radius fractions)
# treams' field evaluation is slow (~20 us per point and mode), so the costly silicon /
# trimer cases use a moderate lmax at separations where the JSON's own convergence record
# shows that lmax to be converged far below the differences reported here.
PICKS = [
    ("silicon_pair_axial.json", 0, [0, 5, 21, 31], None, (0.3, 0.7)),  # r 45 nm: L = 150, 200, 1000, 2000 nm
    ("silicon_pair_axial_r90nm.json", 0, [2], 12, (0.3, 0.7)),  # r 90 nm: L = 200 nm (gap 20 nm)
    ("silicon_pair_axial_r90nm.json", 0, [6, 13, 29], 10, (0.5,)),  # r 90 nm: L = 250, 500, 2000 nm
    ("silica_pair_perpendicular.json", 0, [0, 4, 14, 40], None, (0.3, 0.7)),
    ("silica_pair_perpendicular.json", 1, [0, 4, 14, 40], None, (0.3, 0.7)),
    ("silicon_trimer_circular.json", 0, [3], 9, (0.5,)),  # scale 1
    ("silicon_trimer_circular.json", 1, [6], 9, (0.5,)),  # scale 2
]
NQ = (24, 48)


def main():
    results = []
    worst_total = worst_iso = 0.0
    for fname, di, cis, lmax_t, fracs in PICKS:
        ref = json.loads((REF / fname).read_text())
        ds = ref["datasets"][di]
        radius = ref["spheres"]["radius"]
        index = complex(ref["spheres"]["index_re"], ref["spheres"]["index_im"])
        lam, nm_ = ref["wavelength"], ref["medium_index"]
        lmax = ds["lmax"] if lmax_t is None else lmax_t
        for ci in cis:
            positions = np.array(ds["positions"][ci])
            Fref = np.array(ds["forces_total"][ci])
            Fiso_ref = np.array(ds["forces_isolated"][ci])
            Ft = treams_forces(positions, radius, index, lam, nm_, ds["beam"], lmax, fracs, NQ)
            Fi = np.array([treams_forces([p], radius, index, lam, nm_, ds["beam"], lmax, fracs[:1], NQ)[0]
                           for p in positions])
            Ft_m, Fi_m = Ft * (MIEPY_EPS0 / sc.epsilon_0), Fi * (MIEPY_EPS0 / sc.epsilon_0)
            scale = np.linalg.norm(Fiso_ref, axis=-1)
            rel_t = float(np.max(np.linalg.norm(Ft_m[:, 0] - Fref, axis=-1) / scale))
            rel_i = float(np.max(np.linalg.norm(Fi_m[:, 0] - Fiso_ref, axis=-1) / scale))
            r_dep = float(np.max(np.linalg.norm(Ft[:, 0] - Ft[:, -1], axis=-1) / scale)) if len(fracs) > 1 else None
            Fint_ref = Fref - Fiso_ref
            Fint_t = Ft_m[:, 0] - Fi_m[:, 0]
            rel_int = float(np.max(np.linalg.norm(Fint_t - Fint_ref, axis=-1) / np.linalg.norm(Fint_ref, axis=-1)))
            worst_total, worst_iso = max(worst_total, rel_t), max(worst_iso, rel_i)
            label = f"{fname}:{ds['name']}:{ds['parameter_name']}={ds['parameter_values'][ci]:.4g}"
            print(f"{label:75s} lmax={lmax:2d} (JSON {ds['lmax']:2d}) |dF|/|F_iso| total {rel_t:.1e} "
                  f"isolated {rel_i:.1e} interaction(rel) {rel_int:.1e}  R-dependence {r_dep}", flush=True)
            results.append({
                "file": fname,
                "dataset": ds["name"],
                "config_index": ci,
                "parameter": ds["parameter_values"][ci],
                "lmax_treams": lmax,
                "lmax_json": ds["lmax"],
                "mst_radius_fractions": list(fracs),
                "forces_total_treams_mst": Ft_m[:, 0].tolist(),
                "max_abs_diff_total_over_F_isolated": rel_t,
                "max_abs_diff_isolated_over_F_isolated": rel_i,
                "max_rel_diff_interaction": rel_int,
                "max_mst_radius_dependence_over_F_isolated": r_dep,
            })
    script = Path(__file__).resolve()
    payload = {
        "description": (
            "Cross-check of MiePy reference forces: treams (independent T-matrix multiple scattering) + "
            "Maxwell-stress-tensor integration on spheres around each particle, same lmax, incident wave "
            "rebuilt from the JSON beam description only. MST forces rescaled to MiePy's eps0."
        ),
        "provenance": {
            "script": "validation/crosscheck_treams_mst.py",
            "script_sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "software": {"treams": version("treams"), "numpy": np.__version__, "python": platform.python_version()},
            "reference_file_sha256": {
                f: hashlib.sha256((REF / f).read_bytes()).hexdigest() for f in sorted({p[0] for p in PICKS})
            },
        },
        "quadrature": (
            f"Gauss-Legendre {NQ[0]} (theta) x trapezoid {NQ[1]} (phi) on MST spheres of radius "
            "R = a + f (min(d_nearest - a, 3a) - a); force reported for the first f, R-dependence = "
            "difference between the first and last f"
        ),
        "note": (
            "Differences at a treams lmax below the JSON lmax include the (small) truncation change; MiePy's "
            "coefficient force formula drops the incident n = lmax+1 terms which the MST keeps, a difference "
            "that vanishes with lmax (2.4e-4 at L = 190 nm, lmax 8; 1e-12 at L = 500 nm, lmax 8)."
        ),
        "worst_total_over_F_isolated": worst_total,
        "worst_isolated_over_F_isolated": worst_iso,
        "checks": results,
    }
    (REF / "crosscheck_treams_mst.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(f"worst |dF_total|/|F_iso| = {worst_total:.2e}, isolated {worst_iso:.2e}")
    print(f"wrote {(REF / 'crosscheck_treams_mst.json').relative_to(HERE.parent)}")
    # tolerances: MST quadrature is converged far below these; the total-force bound allows the lmax
    # truncation difference between MiePy's coefficient formula and the MST (see the note above)
    ok_t, ok_i = worst_total < 1e-4, worst_iso < 1e-9
    print(f"{'PASS' if ok_t else 'FAIL'} GMMT reference forces vs treams + Maxwell stress tensor: worst "
          f"|dF_total|/|F_iso| {worst_total:.1e} (tol 1e-4)")
    print(f"{'PASS' if ok_i else 'FAIL'} single-sphere reference forces vs treams + MST: {worst_iso:.1e} (tol 1e-9)")
    return 0 if ok_t and ok_i else 1


if __name__ == "__main__":
    sys.exit(main())
