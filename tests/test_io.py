"""Result exports round-trip bit-for-bit (NPZ, HDF5, MATLAB .mat), with units and provenance."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from cdsolve.workflow.io import read_results, write_results


@pytest.mark.parametrize("fmt", ["npz", "h5", "mat"])
def test_round_trip(fmt, tmp_path, rng):
    if fmt == "h5":
        pytest.importorskip("h5py")
    arrays = {"forces": rng.normal(size=(5, 3)), "p": rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3)),
              "stiffness": rng.normal(size=(15, 15)), "dofs": np.arange(15)}
    units = {"forces": "N", "p": "C m", "stiffness": "N/m", "dofs": "index"}
    prov = {"cdsolve_version": "x", "scene": {"n": 5}}
    (path,) = write_results(tmp_path / "r", arrays, units, prov, formats=[fmt])
    back, u, pv = read_results(path)
    for k, v in arrays.items():
        got = back[k].reshape(v.shape) if fmt == "mat" else back[k]  # MATLAB stores 1-D as a row
        assert_array_equal(got, v)
        assert got.dtype == v.dtype
    assert u == units
    assert pv == prov


def test_bad_format_and_names(tmp_path):
    with pytest.raises(ValueError, match="unknown result format"):
        write_results(tmp_path / "r", {"a": np.zeros(2)}, {}, {}, formats=["xls"])
    with pytest.raises(ValueError, match="identifier"):
        write_results(tmp_path / "r", {"a b": np.zeros(2)}, {}, {}, formats=["npz"])
