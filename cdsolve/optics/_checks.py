"""Input checks shared by every module: fail loudly at the boundary, naming the field and the value."""

from __future__ import annotations

import numpy as np


def real_number(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite real float (optionally > 0 or >= 0), else ValueError naming ``name``.

    Booleans and complex numbers are refused (a complex index where a real one is needed is a
    mistake, not something to take the real part of).

    >>> real_number("radius", 5e-8, positive=True)
    5e-08
    """
    if isinstance(value, (bool, np.bool_, complex)) or np.iscomplexobj(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and v <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    if nonnegative and v < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def optional_module(module: str, extra: str, what: str):
    """Import an optional dependency, or raise ModuleNotFoundError naming the package and the extra to install.

    Parameters
    ----------
    module : str    e.g. ``"h5py"`` or ``"dask.distributed"``
    extra : str     the cdsolve extra that installs it (``pip install 'cdsolve[<extra>]'``)
    what : str      what needs it, for the message (``"HDF5 export"``)
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ModuleNotFoundError(f"{what} needs the optional package {package}: pip install 'cdsolve[{extra}]'",
                                  name=package) from None
