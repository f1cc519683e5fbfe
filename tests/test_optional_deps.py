"""Missing optional dependencies raise ModuleNotFoundError naming the package and the extra to install.

Oracle: the extras of pyproject.toml (h5py -> hdf5, xarray/tqdm -> sweep, dask -> dask, qutip -> quantum),
read from the file itself, and the absence of each package simulated with ``sys.modules[name] = None``
(``import name`` then raises ModuleNotFoundError, as if it were not installed).
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

from cdsolve.dynamics.langevin import LangevinModel, qutip_operators, read_export
from cdsolve.workflow import io

ROOT = Path(__file__).parent.parent
PAIR = ROOT / "geometries" / "science2022_pair.toml"
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _absent(monkeypatch, *names):
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def _expect(package: str, extra: str):
    """The error must name the package, the pip command with the extra, and that extra must provide it."""
    assert any(re.match(rf"{package}\b", req) for req in EXTRAS[extra]), (package, extra, EXTRAS[extra])
    return pytest.raises(ModuleNotFoundError, match=rf"{package}.*pip install 'cdsolve\[{extra}\]'")


def _model():
    return LangevinModel(stiffness=np.diag([1e-6, 2e-6]), masses=[1e-18, 1e-18], recoil=np.diag([1e-40, 1e-40]))


def test_h5py_absent_names_hdf5_extra(monkeypatch, tmp_path):
    _absent(monkeypatch, "h5py")
    with _expect("h5py", "hdf5") as exc:
        io.write_results(tmp_path / "r", {"a": np.ones(2)}, {"a": "1"}, {}, formats=("npz", "h5"))
    assert exc.value.name == "h5py"
    assert list(tmp_path.iterdir()) == []  # fails before writing anything
    with _expect("h5py", "hdf5"):
        io.read_results(tmp_path / "r.h5")
    with _expect("h5py", "hdf5"):
        _model().save(tmp_path / "m.h5")
    with _expect("h5py", "hdf5"):
        read_export(tmp_path / "m.h5")
    # the formats that need no optional package still work
    arrays, _, _ = io.read_results(io.write_results(tmp_path / "r", {"a": np.ones(2)}, {"a": "1"}, {},
                                                    formats=("npz", "mat"))[0])
    assert np.array_equal(arrays["a"], np.ones(2))


def test_qutip_absent_names_quantum_extra(monkeypatch):
    from cdsolve.theory import sympathetic_cooling

    _absent(monkeypatch, "qutip")
    with _expect("qutip", "quantum") as exc:
        qutip_operators(_model(), 3)
    assert exc.value.name == "qutip"
    with _expect("qutip", "quantum"):
        sympathetic_cooling._qutip()


def test_xarray_absent_names_sweep_extra(monkeypatch, tmp_path):
    from cdsolve.workflow import sweep as sw

    _absent(monkeypatch, "xarray")
    with _expect("xarray", "sweep") as exc:
        sw.sweep(PAIR, {"phase": "0,1"}, executor="serial", progress=False)
    assert exc.value.name == "xarray"
    with _expect("xarray", "sweep"):
        sw.load_sweep(tmp_path / "s.npz")


def test_tqdm_and_dask_absent_name_their_extras(monkeypatch):
    pytest.importorskip("xarray")
    from cdsolve.workflow import sweep as sw

    _absent(monkeypatch, "tqdm", "tqdm.auto")
    with _expect("tqdm", "sweep"):
        sw.sweep(PAIR, {"phase": "0,1"}, executor="serial", progress=True)
    _absent(monkeypatch, "dask", "dask.distributed")
    with _expect("dask", "dask"):
        sw.sweep(PAIR, {"phase": "0,1"}, executor="dask-local", progress=False)
