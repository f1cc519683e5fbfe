#!/usr/bin/env python
"""Generate exact (converged multi-sphere Mie / GMMT) reference optical forces.

This script is the ONLY producer of the JSON files in ``validation/reference_data/``:

* ``silicon_pair_axial.json``        two Si-like spheres (radius 45 nm) on the beam axis
* ``silicon_pair_axial_r90nm.json``  the same with radius 90 nm (lmax 18 near contact)
* ``silica_pair_perpendicular.json`` two silica spheres across the beam, x and y polarization
* ``single_spheres.json``            exact single-sphere radiation pressure (miepython) + MiePy cross-check
* ``silicon_trimer_circular.json``   three spheres, non-collinear, circular polarization, 2 beams

The references are computed with MiePy (generalized multi-sphere Mie theory) and
miepython (single-sphere Lorenz-Mie); neither is imported by cdsolve or by its tests,
which only read the JSON.  Re-run with::

    /work/venv/bin/python validation/generate_gmmt_reference.py            # everything
    /work/venv/bin/python validation/generate_gmmt_reference.py --only silica single

MiePy conventions (read from the MiePy 1.1.0 source and checked numerically by
``validation/check_miepy_conventions.py``):

* time dependence exp(-i omega t): the plane wave is ``E = A e^ exp(+i k k^.r)`` and a
  sphere with Im n > 0 has a positive absorption cross-section (Im n < 0 gives gain);
* ``plane_wave(polarization=[p_TM, p_TE], theta, phi, amplitude=A)``: propagation
  direction ``k^ = (sin t cos p, sin t sin p, cos t)``, Cartesian polarization
  ``e^ = (p_TM theta^ + p_TE phi^)/|p|`` (normalized internally), field ``A e^`` at the
  origin (the phase reference is the origin, ``phase=0``); ``|E| = A`` in V/m;
* wavelength is the vacuum wavelength, ``k = 2 pi n_medium / wavelength``;
* ``cluster.force()`` is the time-averaged force in newtons for A in V/m (scales as A^2);
  ``cluster.torque()`` in N m.  The C++ force kernel uses
  eps0 = 8.854187817e-12 F/m (GSL, pre-2019 SI), 2.03e-10 relative below the CODATA-2022
  value of scipy 1.16 (8.8541878188e-12); forces are stored exactly as MiePy returns them.

Linear solves use ``miepy.solver.exact`` (dense LU): MiePy's default
(``miepy.solver.bicgstab``, Eigen BiCGSTAB, relative residual 1e-5) would limit the
accuracy of the small interaction forces.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.constants as sc

import miepy
import miepython

HERE = Path(__file__).resolve().parent
OUTDIR = HERE / "reference_data"
SCHEMA = "cdsolve-gmmt-reference/1"

#: eps0 hard-coded in MiePy's C++ force kernel (GSL_CONST_MKSA_VACUUM_PERMITTIVITY)
MIEPY_EPS0 = 8.854187817e-12
#: MiePy becomes numerically unstable at high lmax for small k*distance (translation
#: coefficients lose precision): Si pair (on axis) at L = 190 nm: lmax = 24 off by 2e-3,
#: lmax = 32 by O(1); off-axis trimer at k*d = 1.8: noise ~1e-6 at lmax 14, 1e-3 at 16.
LMAX_HARD_CAP = 18
#: lmax selection: smallest candidate l with
#:   max_{config, sphere} |F_i(l) - F_i(l+2)| / |F_iso| < LMAX_TOL
#: (F_iso = isolated single-sphere force magnitude, sets the force scale)
LMAX_TOL = 1e-6


# --------------------------------------------------------------------------- provenance
def _git(*args):
    try:
        return subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return None


def provenance() -> dict:
    script = Path(__file__).resolve()
    return {
        "generator_script": "validation/generate_gmmt_reference.py",
        "generator_sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_head": _git("rev-parse", "HEAD"),
        "git_status_validation": _git("status", "--short", "--", "."),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "software": {
            "miepy": miepy.__version__ if hasattr(miepy, "__version__") else _dist_version("miepy"),
            "miepython": _dist_version("miepython"),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


CONVENTIONS = {
    "units": "SI: lengths m, wavelength = VACUUM wavelength m, forces N, torques N m, fields V/m",
    "time_dependence": "exp(-i omega t)",
    "lossy_index": "Im n > 0 is lossy (verified: C_abs > 0 for n = 5.1+0.2i in MiePy)",
    "incident_field": (
        "E(r) = amplitude * polarization * exp(i (k direction.r + phase)), phase = 0, "
        "k = 2 pi n_medium / wavelength; |polarization| = 1; H = direction x E / Z, Z = Z0/n_medium. "
        "Phase reference at the coordinate origin (matters only for the relative phase at the spheres)."
    ),
    "intensity": "I = n_medium c eps0 |amplitude|^2 / 2",
    "force_scaling": "all forces/torques scale with |amplitude|^2; amplitude = 1 V/m here",
    "forces_total": "time-averaged force on each sphere in the full multiple-scattering solution (incl. the beam)",
    "forces_isolated": "force on the same sphere, same beam, ALONE at the same position (same lmax)",
    "forces_interaction": "forces_total - forces_isolated (stored for convenience, derived)",
    "eps0": (
        f"MiePy's force kernel uses eps0 = {MIEPY_EPS0!r} F/m (GSL); scipy {scipy.__version__} has "
        f"{sc.epsilon_0!r}. MiePy forces are stored unmodified: they are smaller by a factor "
        f"{MIEPY_EPS0 / sc.epsilon_0!r} (relative {MIEPY_EPS0 / sc.epsilon_0 - 1:.3e}) than with scipy's eps0."
    ),
    "complex_numbers": "stored as separate *_re / *_im lists",
    "array_layout": "positions/forces: [config][sphere][xyz]",
}


# --------------------------------------------------------------------------- MiePy helpers
def miepy_beam(theta_deg: float, phi_deg: float, pol_tm_te, amplitude: float = 1.0):
    """MiePy plane wave plus its explicit Cartesian description."""
    src = miepy.sources.plane_wave(
        polarization=list(pol_tm_te), theta=np.radians(theta_deg), phi=np.radians(phi_deg), amplitude=amplitude
    )
    # Cartesian polarization = E at the origin / amplitude, evaluated with MiePy itself
    e_cart = np.asarray(src.E_field(0.0, 0.0, 0.0, 1.0), dtype=complex).reshape(3) / amplitude
    # clean the +-1e-17 cos(pi/2) crumbs: they are exact zeros analytically
    e_cart = np.where(np.abs(e_cart.real) < 1e-15, 0.0, e_cart.real) + 1j * np.where(
        np.abs(e_cart.imag) < 1e-15, 0.0, e_cart.imag
    )
    k_hat = np.where(np.abs(src.k_hat) < 1e-15, 0.0, src.k_hat)
    assert abs(np.linalg.norm(e_cart) - 1) < 1e-14 and abs(np.vdot(k_hat, e_cart)) < 1e-14
    desc = {
        "type": "plane_wave",
        "amplitude": float(amplitude),
        "amplitude_units": "V/m",
        "direction": [float(v) for v in k_hat],
        "polarization_re": [float(v) for v in e_cart.real],
        "polarization_im": [float(v) for v in e_cart.imag],
        "phase": 0.0,
        "helicity": _helicity(k_hat, e_cart),
        "miepy_source": (
            f"miepy.sources.plane_wave(polarization={[complex(p) for p in pol_tm_te]}, "
            f"theta=radians({theta_deg}), phi=radians({phi_deg}), amplitude={amplitude})"
        ),
    }
    return src, desc


def _helicity(k_hat, e):
    """+1 / -1 for circular polarization (spin along +k / -k), 0 for linear, else the value."""
    s = float(np.real(-1j * np.dot(np.cross(np.conj(e), e), k_hat)))  # i (e x e*) . k
    return round(s, 12)


def _medium(n_medium: float):
    return None if n_medium == 1.0 else miepy.constant_material(index=n_medium)


def gmmt_solve(positions, radius, index, wavelength, n_medium, source, lmax):
    """Forces [N,3] (N) and torques [N,3] (N m) from a full GMMT solve (LU)."""
    cl = miepy.sphere_cluster(
        position=np.asarray(positions, dtype=float),
        radius=radius,
        material=miepy.constant_material(index=index),
        source=source,
        wavelength=wavelength,
        lmax=lmax,
        medium=_medium(n_medium),
        method=miepy.solver.exact,
    )
    return np.asarray(cl.force(), dtype=float), np.asarray(cl.torque(), dtype=float)


def isolated(positions, radius, index, wavelength, n_medium, source, lmax):
    """Each sphere alone (one-sphere solve each) at its own position."""
    F = np.zeros((len(positions), 3))
    T = np.zeros((len(positions), 3))
    for i, p in enumerate(positions):
        f, t = gmmt_solve([p], radius, index, wavelength, n_medium, source, lmax)
        F[i], T[i] = f[0], t[0]
    return F, T


def run_series(configs, radius, index, wavelength, n_medium, source, lmax_candidates, label):
    """Solve all configurations for increasing lmax until converged (see LMAX_TOL).

    Returns a dict with the results at the chosen lmax and the convergence record.
    """
    cache = {}

    def at(l):
        if l not in cache:
            t0 = time.perf_counter()
            tot = [gmmt_solve(p, radius, index, wavelength, n_medium, source, l) for p in configs]
            iso = [isolated(p, radius, index, wavelength, n_medium, source, l) for p in configs]
            cache[l] = {
                "F": np.array([t[0] for t in tot]),
                "T": np.array([t[1] for t in tot]),
                "Fi": np.array([t[0] for t in iso]),
                "Ti": np.array([t[1] for t in iso]),
                "time_s": time.perf_counter() - t0,
            }
            print(f"  [{label}] lmax={l:2d}: {len(configs)} configs in {cache[l]['time_s']:.1f} s", flush=True)
        return cache[l]

    history = []
    chosen = None
    rising = 0
    for l in lmax_candidates:
        if l > LMAX_HARD_CAP:
            break
        a, b = at(l), at(l + 2)
        scale = np.linalg.norm(b["Fi"], axis=-1).max()
        err_abs = np.linalg.norm(a["F"] - b["F"], axis=-1)  # [M,N]
        err_iso = np.linalg.norm(a["Fi"] - b["Fi"], axis=-1)
        crit = float(max(err_abs.max(), err_iso.max()) / scale)
        print(f"  [{label}] lmax {l} -> {l + 2}: max |dF|/|F_iso| = {crit:.3e}", flush=True)
        rising = rising + 1 if history and crit > history[-1]["max_abs_change_over_F_iso"] else 0
        history.append({"lmax": l, "lmax_check": l + 2, "max_abs_change_over_F_iso": crit})
        if crit < LMAX_TOL:
            chosen = l
            break
        if rising >= 2:  # round-off of MiePy's translation coefficients dominates from here on
            break
    converged = chosen is not None
    if chosen is None:  # tolerance not reached: take the sweet spot between truncation and round-off
        chosen = min(history, key=lambda h: h["max_abs_change_over_F_iso"])["lmax"]
        print(f"  [{label}] tolerance {LMAX_TOL:g} not reached; using lmax = {chosen} (smallest change)", flush=True)
    a, b = at(chosen), at(chosen + 2)
    Fint_a, Fint_b = a["F"] - a["Fi"], b["F"] - b["Fi"]
    rel_tot = np.linalg.norm(a["F"] - b["F"], axis=-1) / np.linalg.norm(b["F"], axis=-1)  # [M,N]
    rel_int = np.linalg.norm(Fint_a - Fint_b, axis=-1) / np.linalg.norm(Fint_b, axis=-1)
    return {
        "F": a["F"],
        "T": a["T"],
        "Fi": a["Fi"],
        "Ti": a["Ti"],
        "lmax": chosen,
        "lmax_check": chosen + 2,
        "rel_change_total": rel_tot.max(axis=1),
        "rel_change_interaction": rel_int.max(axis=1),
        "convergence": {
            "lmax": chosen,
            "lmax_check": chosen + 2,
            "converged_to_tolerance": converged,
            "criterion": (
                "smallest lmax with max over configs/spheres of |F(lmax) - F(lmax+2)| / |F_isolated| "
                f"< {LMAX_TOL:g} (total and isolated forces), lmax <= {LMAX_HARD_CAP}; if never reached "
                "(MiePy's translation coefficients lose precision at high lmax and small k*distance, so the "
                "change first falls then rises), the lmax with the smallest change is used and "
                "converged_to_tolerance = false"
            ),
            "history": history,
            "max_rel_change_total": float(rel_tot.max()),
            "max_rel_change_interaction": float(rel_int.max()),
            "max_abs_change_interaction_over_F_isolated": float(
                (np.linalg.norm(Fint_a - Fint_b, axis=-1) / np.linalg.norm(b["Fi"], axis=-1)).max()
            ),
            "note": (
                "rel_change_* = |X(lmax) - X(lmax+2)| / |X(lmax+2)| per sphere (vector norm); the stored "
                "values are those at lmax. The interaction change is relative to the (small) interaction "
                "force itself."
            ),
        },
    }


def _arr(x):
    return np.asarray(x, dtype=float).tolist()


def dataset_record(name, beam_desc, param_name, param_values, configs, res, seconds):
    return {
        "name": name,
        "beam": beam_desc,
        "parameter_name": param_name,
        "parameter_values": [float(v) for v in param_values],
        "parameter_units": "m" if param_name == "separation" else "-",
        "n_configs": len(configs),
        "n_spheres": len(configs[0]),
        "lmax": res["lmax"],
        "lmax_check": res["lmax_check"],
        "convergence": res["convergence"],
        "positions": _arr(configs),
        "forces_total": _arr(res["F"]),
        "forces_isolated": _arr(res["Fi"]),
        "forces_interaction": _arr(res["F"] - res["Fi"]),
        "torques_total": _arr(res["T"]),
        "torques_isolated": _arr(res["Ti"]),
        "rel_change_total": _arr(res["rel_change_total"]),
        "rel_change_interaction": _arr(res["rel_change_interaction"]),
        "compute_time_s": round(seconds, 2),
    }


def write(name, payload):
    OUTDIR.mkdir(parents=True, exist_ok=True)
    path = OUTDIR / name
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=1)
        fh.write("\n")
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size / 1024:.0f} kB)", flush=True)


def header(description, radius, index, wavelength, n_medium):
    return {
        "schema": SCHEMA,
        "description": description,
        "provenance": provenance(),
        "conventions": CONVENTIONS,
        "method": {
            "code": "MiePy sphere_cluster (generalized multi-sphere Mie theory), force from expansion coefficients",
            "linear_solver": "miepy.solver.exact (dense LU); MiePy default would be bicgstab with rel. tol 1e-5",
            "isolated_forces": "one-sphere MiePy solve per sphere at its own position, same lmax",
        },
        "medium_index": float(n_medium),
        "wavelength": float(wavelength),
        "wavelength_note": "vacuum wavelength [m]",
        "spheres": {
            "radius": float(radius),
            "index_re": float(np.real(index)),
            "index_im": float(np.imag(index)),
            "note": "all spheres identical, homogeneous, non-magnetic",
        },
    }


# --------------------------------------------------------------------------- (a) silicon axial pairs
def _silicon_axial_pair(radius, L_nm, label, description, filename):
    """Two Si-like spheres (5.1+0.2i, 420 nm, vacuum) on the z axis at -L/2, +L/2; plane wave +z, x-polarized."""
    index, lam, n_m = 5.1 + 0.2j, 420e-9, 1.0
    L = np.array(L_nm, dtype=float) * 1e-9
    configs = [np.array([[0.0, 0.0, -l / 2], [0.0, 0.0, l / 2]]) for l in L]
    src, desc = miepy_beam(0.0, 0.0, [1, 0])  # +z, x-polarized
    t0 = time.perf_counter()
    res = run_series(configs, radius, index, lam, n_m, src, [4, 6, 8, 10, 12, 14, 16, 18], label)
    ds = dataset_record("x_polarized", desc, "separation", L, configs, res, time.perf_counter() - t0)
    F = res["F"]
    ds["symmetry_check"] = {
        "max_abs_Fxy_over_Fz": float(np.abs(F[..., :2]).max() / np.abs(F[..., 2]).min()),
        "note": "on-axis pair, x-polarized: Fx = Fy = 0 by symmetry",
    }
    payload = header(description, radius, index, lam, n_m)
    payload["datasets"] = [ds]
    write(filename, payload)


def make_silicon_pair():
    # "90 nm sphere" of issue #2 and Jazayeri et al. = 90 nm DIAMETER (radius 45 nm): the dipole model's
    # single-sphere error is then -4.2e-4 (as the issue states), while a 90 nm radius is far outside it.
    # Centre-to-centre separations 150-2000 nm (2a = 90 nm: the closest pair has a 60 nm gap).
    _silicon_axial_pair(
        45e-9,
        [150, 160, 170, 180, 190, 200, 220, 240, 260, 280, 300, 330, 360, 400, 450, 500, 550, 600,
         700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000],
        "Si pair",
        "Two spheres (radius 45 nm = 90 nm diameter, n = 5.1+0.2i) in vacuum on the z axis at z = -L/2 "
        "(sphere 0) and +L/2 (sphere 1), plane wave along +z polarized along x, lambda = 420 nm, "
        "L = 150..2000 nm.",
        "silicon_pair_axial.json",
    )


def make_silicon_pair_r90():
    """Large-sphere variant (radius 90 nm, x = k a = 1.35): far outside the dipole regime, needs lmax ~18."""
    # 2a = 180 nm so L >= 190 nm (gap >= 10 nm); L = 150 would overlap
    _silicon_axial_pair(
        90e-9,
        [190, 195, 200, 210, 220, 235, 250, 275, 300, 330, 360, 400, 450, 500, 550, 600,
         700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000],
        "Si pair r90",
        "Two spheres (radius 90 nm = 180 nm diameter, n = 5.1+0.2i) in vacuum on the z axis at z = -L/2 "
        "(sphere 0) and +L/2 (sphere 1), plane wave along +z polarized along x, lambda = 420 nm, "
        "L = 190..2000 nm (L >= 2a + 10 nm; L = 150 nm would overlap). Large-sphere companion of "
        "silicon_pair_axial.json (radius 45 nm); near contact it needs lmax 18.",
        "silicon_pair_axial_r90nm.json",
    )


# --------------------------------------------------------------------------- (b) silica perpendicular pair
def make_silica_pair():
    radius, index, lam, n_m = 50e-9, 1.45, 1064e-9, 1.0
    L_nm = np.concatenate([np.arange(300, 1000, 50), np.arange(1000, 2000, 100), np.arange(2000, 4001, 125)])
    L = L_nm.astype(float) * 1e-9
    configs = [np.array([[-l / 2, 0.0, 0.0], [l / 2, 0.0, 0.0]]) for l in L]
    datasets = []
    for name, pol in (("x_polarized_parallel_to_axis", [1, 0]), ("y_polarized_perpendicular_to_axis", [0, 1])):
        src, desc = miepy_beam(0.0, 0.0, pol)
        t0 = time.perf_counter()
        res = run_series(configs, radius, index, lam, n_m, src, [2, 3, 4, 5, 6, 7, 8], f"SiO2 {name[:11]}")
        ds = dataset_record(name, desc, "separation", L, configs, res, time.perf_counter() - t0)
        F = res["F"]
        ds["symmetry_check"] = {
            "max_abs_Fy_over_Fmax": float(np.abs(F[..., 1]).max() / np.abs(F).max()),
            "max_abs_Fx0_plus_Fx1_over_Fmax": float(np.abs(F[:, 0, 0] + F[:, 1, 0]).max() / np.abs(F).max()),
            "max_abs_Fz0_minus_Fz1_over_Fmax": float(np.abs(F[:, 0, 2] - F[:, 1, 2]).max() / np.abs(F).max()),
            "note": "mirror x -> -x: Fx0 = -Fx1, Fz0 = Fz1; Fy = 0",
        }
        datasets.append(ds)
    payload = header(
        "Two spheres (radius 50 nm, n = 1.45) in vacuum on the x axis at x = -L/2 (sphere 0) and +L/2 "
        "(sphere 1), plane wave along +z, lambda = 1064 nm, L = 0.3..4 um; two datasets: polarization "
        "along x (parallel to the pair axis) and along y (perpendicular).",
        radius, index, lam, n_m,
    )
    payload["datasets"] = datasets
    write("silica_pair_perpendicular.json", payload)


# --------------------------------------------------------------------------- (c) single spheres
def qpr_from_coefficients(m, x, n_terms):
    """Q_pr = Q_ext - g Q_sca from Mie coefficients (Bohren & Huffman 4.61/4.62), n_terms orders."""
    a, b = miepython.coefficients(m, x, n_pole=n_terms)
    n = np.arange(1, len(a) + 1)
    qext = 2 / x**2 * np.sum((2 * n + 1) * (a + b).real)
    t1 = np.sum(n[:-1] * (n[:-1] + 2) / (n[:-1] + 1) * (a[:-1] * np.conj(a[1:]) + b[:-1] * np.conj(b[1:])).real)
    t2 = np.sum((2 * n + 1) / (n * (n + 1)) * (a * np.conj(b)).real)
    return qext - 4 / x**2 * (t1 + t2)


def make_single_spheres():
    index, lam, n_m, E0 = 5.1 + 0.2j, 420e-9, 1.0, 1.0
    radii_nm = [10, 20, 30, 45, 60, 90, 120]
    src, desc = miepy_beam(0.0, 0.0, [1, 0], amplitude=E0)
    I = n_m * sc.c * sc.epsilon_0 * abs(E0) ** 2 / 2
    rows = []
    for r_nm in radii_nm:
        r = r_nm * 1e-9
        x = 2 * np.pi * n_m * r / lam
        qext, qsca, qback, g = (float(v) for v in miepython.efficiencies(index, 2 * r, lam, n_m))
        # miepython ignores the sign of Im m (it conjugates to Im m <= 0 internally): verify
        same = miepython.efficiencies(np.conj(index), 2 * r, lam, n_m)
        assert np.allclose(same, (qext, qsca, qback, g), rtol=0, atol=0)
        area = np.pi * r**2
        qpr = qext - g * qsca
        qpr_60 = qpr_from_coefficients(index / n_m, x, 60)
        F = n_m * I * qpr * area / sc.c
        # MiePy at high lmax, eps0 = MiePy's; rescale to scipy's eps0 for the comparison
        f_mp = {}
        for lmax in (8, 12, 16):
            f, _ = gmmt_solve([[0, 0, 0]], r, index, lam, n_m, src, lmax)
            f_mp[lmax] = f[0]
        a, b = miepython.coefficients(index / n_m, x, n_pole=3)
        rows.append({
            "radius": r,
            "size_parameter": x,
            "wiscombe_terms": int(x + 4.05 * x**0.33333 + 2.0),
            "qext": qext,
            "qsca": qsca,
            "qabs": qext - qsca,
            "qback": qback,
            "g": g,
            "qpr": qpr,
            "qpr_from_60_terms": float(qpr_60),
            "C_ext": qext * area,
            "C_sca": qsca * area,
            "C_abs": (qext - qsca) * area,
            "C_pr": qpr * area,
            "force_z": F,
            "force_z_formula": "F_z = n_m I C_pr / c, I = n_m c eps0 |E0|^2/2, eps0 = scipy (CODATA 2022)",
            "mie_a_re": [float(v) for v in np.real(a)],
            "mie_a_im": [float(v) for v in np.imag(a)],
            "mie_b_re": [float(v) for v in np.real(b)],
            "mie_b_im": [float(v) for v in np.imag(b)],
            "miepy_force": {
                str(l): {
                    "force": [float(v) for v in f_mp[l]],
                    "rel_diff_Fz_vs_miepython_raw": float(f_mp[l][2] / F - 1),
                    "rel_diff_Fz_vs_miepython_eps0_corrected": float(
                        f_mp[l][2] * (sc.epsilon_0 / MIEPY_EPS0) / F - 1
                    ),
                }
                for l in f_mp
            },
        })
        print(f"  r = {r_nm:3d} nm  x = {x:.4f}  Fz = {F:.10e} N  "
              f"MiePy(16)/miepython - 1 = {f_mp[16][2] / F - 1:+.3e} "
              f"(eps0-corrected {f_mp[16][2] * sc.epsilon_0 / MIEPY_EPS0 / F - 1:+.1e})", flush=True)
    payload = {
        "schema": SCHEMA,
        "description": (
            "Exact single-sphere (Lorenz-Mie, miepython) radiation pressure on spheres of n = 5.1+0.2i in "
            "vacuum, lambda = 420 nm, plane wave along +z, x-polarized, amplitude 1 V/m; radius series for "
            "checking that the dipole error shrinks with size; MiePy values at lmax 8/12/16 as a cross-check."
        ),
        "provenance": provenance(),
        "conventions": CONVENTIONS,
        "method": {
            "code": "miepython.efficiencies(m, d, lambda0, n_env) -> qext, qsca, qback, g (Wiscombe truncation)",
            "radiation_pressure": "C_pr = C_ext - g C_sca, Q = C / (pi a^2)",
            "miepython_sign_convention": (
                "miepython documents m = n - ik but conjugates any Im m > 0 internally, so results depend on "
                "|Im m| only (asserted); 5.1+0.2i is the lossy sphere in both codes"
            ),
            "mie_coefficients": (
                "a_n, b_n (n = 1..3) of miepython.coefficients: Bohren-Huffman convention (exp(-i omega t), "
                "Re a_n >= |a_n|^2 for passive spheres); identical to MiePy's mie_scat to ~1e-15"
            ),
        },
        "medium_index": n_m,
        "wavelength": lam,
        "wavelength_note": "vacuum wavelength [m]",
        "index_re": float(index.real),
        "index_im": float(index.imag),
        "beam": desc,
        "intensity": I,
        "intensity_units": "W/m^2",
        "eps0_scipy": sc.epsilon_0,
        "eps0_miepy": MIEPY_EPS0,
        "spheres": rows,
    }
    write("single_spheres.json", payload)


# --------------------------------------------------------------------------- (d) 3-sphere cluster, circular
def make_trimer():
    radius, index, lam, n_m = 60e-9, 5.1 + 0.2j, 500e-9, 1.0
    base = np.array([[0.0, 0.0, 0.0], [300.0, 0.0, 50.0], [100.0, 260.0, -80.0]]) * 1e-9
    offset = np.array([20.0, -30.0, 40.0]) * 1e-9
    scales = [0.5, 0.6, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0]
    configs = [s * base + offset for s in scales]
    dmin = min(np.linalg.norm(c[i] - c[j]) for c in configs for i in range(3) for j in range(i))
    assert dmin > 2 * radius
    beams = [
        ("circular_plus_z", 0.0, 0.0, [1, 1j]),  # e = (x + i y)/sqrt2: helicity +1 (MiePy 'rhc')
        ("circular_oblique", 40.0, 30.0, [1, -1j]),  # (theta^ - i phi^)/sqrt2: helicity -1
    ]
    datasets = []
    for name, th, ph, pol in beams:
        src, desc = miepy_beam(th, ph, pol)
        t0 = time.perf_counter()
        res = run_series(configs, radius, index, lam, n_m, src, [6, 8, 9, 10, 11, 12, 13, 14], f"trimer {name}")
        datasets.append(dataset_record(name, desc, "scale", scales, configs, res, time.perf_counter() - t0))
    payload = header(
        "Three identical spheres (radius 60 nm, n = 5.1+0.2i) in vacuum, lambda = 500 nm, non-collinear: "
        "positions = scale * base + offset, base = [[0,0,0],[300,0,50],[100,260,-80]] nm, offset = "
        "[20,-30,40] nm, closest pair at scale 0.5 is 145 nm apart (gap 25 nm). Two circularly polarized "
        "plane waves: along +z with helicity +1, and oblique (theta 40 deg, phi 30 deg) with helicity -1.",
        radius, index, lam, n_m,
    )
    payload["geometry"] = {"base": _arr(base), "offset": _arr(offset), "min_center_distance": float(dmin)}
    payload["datasets"] = datasets
    write("silicon_trimer_circular.json", payload)


JOBS = {
    "single": make_single_spheres,
    "silica": make_silica_pair,
    "silicon": make_silicon_pair,
    "silicon_r90": make_silicon_pair_r90,
    "trimer": make_trimer,
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(JOBS), default=list(JOBS), help="subset to (re)generate")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    for job in args.only:
        print(f"== {job}", flush=True)
        JOBS[job]()
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
