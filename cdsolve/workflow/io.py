"""Result files: the same arrays, units and provenance as NPZ, HDF5 (h5py) and MATLAB .mat.

Every writer stores each array under its name, a ``units`` mapping (name -> unit string) and a
``provenance`` mapping (JSON), and :func:`read_results` reads any of them back to the same arrays
(bit-for-bit: tested in ``tests/test_io.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..optics._checks import optional_module

__all__ = ["write_results", "read_results", "FORMATS"]

FORMATS = ("npz", "h5", "mat")


def _h5py(what: str):
    """``import h5py``, or ModuleNotFoundError naming the package and the ``cdsolve[hdf5]`` extra."""
    return optional_module("h5py", "hdf5", what)


def write_results(path_stem: str | Path, arrays: dict, units: dict, provenance: dict, formats=FORMATS) -> list[Path]:
    """Write ``arrays`` (name -> ndarray) to ``<stem>.npz``, ``.h5`` and/or ``.mat``.

    Parameters
    ----------
    path_stem : str or Path
        File path without suffix.
    arrays : dict of str -> array
        Names must be valid identifiers (MATLAB field names).
    units : dict of str -> str
        Unit of each array (SI).
    provenance : dict
        JSON-serialisable provenance (versions, scene, method).
    formats : iterable of {"npz", "h5", "mat"}
        ``"h5"`` needs h5py (``pip install 'cdsolve[hdf5]'``); a missing h5py raises ModuleNotFoundError
        naming the extra (before any file is written).

    Returns
    -------
    list of Path: the files written.
    """
    stem = Path(path_stem)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown result format(s) {sorted(unknown)} (use {', '.join(FORMATS)})")
    for name in arrays:
        if not name.isidentifier():
            raise ValueError(f"array name {name!r} is not a valid identifier")
    meta_units, meta_prov = json.dumps(units), json.dumps(provenance, default=float)
    h5py = _h5py("writing .h5 results") if "h5" in formats else None
    written = []
    if "npz" in formats:
        p = stem.with_suffix(".npz")
        np.savez(p, **arrays, units=meta_units, provenance=meta_prov)
        written.append(p)
    if "h5" in formats:
        p = stem.with_suffix(".h5")
        with h5py.File(p, "w") as fh:
            for name, arr in arrays.items():
                fh[name] = np.asarray(arr)
                fh[name].attrs["unit"] = units.get(name, "")
            fh.attrs["units"] = meta_units
            fh.attrs["provenance"] = meta_prov
        written.append(p)
    if "mat" in formats:
        from scipy.io import savemat

        p = stem.with_suffix(".mat")
        savemat(p, {**{k: np.asarray(v) for k, v in arrays.items()}, "units": meta_units, "provenance": meta_prov},
                do_compression=True)
        written.append(p)
    return written


def read_results(path: str | Path) -> tuple[dict, dict, dict]:
    """Read a file written by :func:`write_results`: ``(arrays, units, provenance)``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files if k not in ("units", "provenance")}
            units, prov = json.loads(str(data["units"])), json.loads(str(data["provenance"]))
    elif suffix in (".h5", ".hdf5"):
        h5py = _h5py(f"reading {path.name}")
        with h5py.File(path, "r") as fh:
            arrays = {k: fh[k][()] for k in fh.keys()}
            units, prov = json.loads(fh.attrs["units"]), json.loads(fh.attrs["provenance"])
    elif suffix == ".mat":
        from scipy.io import loadmat

        raw = loadmat(path, squeeze_me=False)
        units, prov = json.loads(str(raw["units"][0])), json.loads(str(raw["provenance"][0]))
        arrays = {k: v for k, v in raw.items() if not k.startswith("__") and k not in ("units", "provenance")}
    else:
        raise ValueError(f"unknown result file type {path.suffix!r} (use .npz, .h5, .mat)")
    return arrays, units, prov
