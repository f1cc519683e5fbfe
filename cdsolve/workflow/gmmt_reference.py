"""Comparison of cdsolve with stored exact multi-sphere Mie (GMMT) reference data.

The JSON files in ``validation/reference_data/`` are produced only by
``validation/generate_gmmt_reference.py`` (MiePy, converged lmax, provenance inside). This module
reads them and re-computes every configuration with cdsolve, so the tests, the validation plots
and ``cdsolve validate`` share one implementation of the comparison.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..optics.beams import PlaneWave
from ..optics.materials import Medium
from ..optics.polarizability import Sphere
from ..scattering.dispatch import solve
from ..scattering.scene import Scene

__all__ = ["load_reference", "compare_with_reference"]


def load_reference(path: str | Path) -> dict:
    """Read a ``cdsolve-gmmt-reference/1`` JSON file."""
    with open(path) as fh:
        data = json.load(fh)
    if data.get("schema") != "cdsolve-gmmt-reference/1":
        raise ValueError(f"{path}: not a cdsolve GMMT reference file (schema {data.get('schema')!r})")
    return data


def compare_with_reference(data: dict, orders: int | None = None) -> list[dict]:
    """Solve every configuration of every dataset with the Mie-dipole model and compare.

    Returns one dict per dataset with arrays over configurations (C of them): ``parameter`` (e.g.
    separation [m]); ``forces``/``forces_ref`` and ``interaction``/``interaction_ref`` (C, N, 3) [N];

    * ``total_err`` (C,): ``max |F - F_ref|`` over spheres and components, divided by the largest
      reference force component of that configuration (a sphere whose force nearly cancels is
      measured against the force scale of the configuration, not against its own near-zero value);
    * ``interaction_err`` (C,): per sphere ``max |f - f_ref|`` divided by that sphere's largest
      reference interaction component over the whole sweep, maximized over spheres;
    * ``axis_err`` (C,): the error of the interaction component along the pair axis divided by the largest
      ``|f_ref|`` along the axis over the whole sweep (pair datasets).
    """
    sp = data["spheres"]
    sphere = Sphere(radius=sp["radius"], index=complex(sp["index_re"], sp["index_im"]))
    medium = Medium(index=data["medium_index"])
    out = []
    for ds in data["datasets"]:
        b = ds["beam"]
        pol = np.array(b["polarization_re"]) + 1j * np.array(b["polarization_im"])
        beam = PlaneWave(wavelength=data["wavelength"], direction=b["direction"], polarization=pol,
                            amplitude=b["amplitude"], phase=b.get("phase", 0.0))
        F_ref = np.array(ds["forces_total"])
        f_ref = F_ref - np.array(ds["forces_isolated"])
        F, f = [], []
        for pos in ds["positions"]:
            sol = solve(Scene(positions=pos, particles=sphere, illumination=beam, medium=medium), orders=orders)
            Fi = sol.forces()
            F.append(Fi)
            f.append(Fi - sol.isolated_forces())
        F, f = np.array(F), np.array(f)
        res = {
            "name": ds["name"],
            "parameter": np.array(ds.get("parameter_values", np.arange(len(F)))),
            "parameter_name": ds.get("parameter_name", "index"),
            "forces": F,
            "forces_ref": F_ref,
            "interaction": f,
            "interaction_ref": f_ref,
            "total_err": np.max(np.abs(F - F_ref), axis=(1, 2)) / np.max(np.abs(F_ref), axis=(1, 2)),
            "interaction_err": np.max(np.max(np.abs(f - f_ref), axis=2) / np.max(np.abs(f_ref), axis=(0, 2)), axis=1),
        }
        pos = np.array(ds["positions"])
        if pos.shape[1] == 2:
            axis = int(np.argmax(np.abs(pos[0, 1] - pos[0, 0])))
            res["axis"] = axis
            res["axis_err"] = np.max(np.abs(f[:, :, axis] - f_ref[:, :, axis]), axis=1) / np.abs(f_ref[:, :, axis]).max()
        out.append(res)
    return out
