"""The README's Python snippet runs as written, and warns about the dipole model once per line.

Oracle: the README itself (its ```python block is executed in a fresh namespace); issue 14 measured the
DipoleValidityWarning 8 times from this snippet, some pointing at library lines.
"""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_snippet_runs_and_warns_once_per_user_line(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python snippet"
    monkeypatch.chdir(tmp_path)  # lin.save("pair.npz") writes here
    import cdsolve as cd

    code = compile(blocks[0], "README.md-snippet", "exec")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's default: once per (message, category, location)
        exec(code, {"__name__": "readme_snippet"})
    validity = [w for w in caught if issubclass(w.category, cd.DipoleValidityWarning)]
    assert validity, "104 nm silica at 1064 nm is outside the 1 % range: the snippet must say so"
    # every warning points at a line of the snippet (the user's code), never at a library line
    assert {w.filename for w in validity} == {"README.md-snippet"}
    lines = [w.lineno for w in validity]
    assert len(lines) == len(set(lines)), f"repeated warnings on snippet lines {lines}"
    assert (tmp_path / "pair.npz").is_file()


def test_readme_large_arrays_and_data_snippet_runs(monkeypatch):
    # oracle: the README's second python block as written (the FFT lattice, warm start, spectra,
    # trajectories, identification); the identified pair rate g_r is the model's to 5 % (1e6 samples)
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(README.parent)  # it loads geometries/science2022_pair.toml
    ns = {"__name__": "readme_snippet_2"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(blocks[1], "README.md-snippet-2", "exec"), ns)
    assert ns["sol"].info["backend"]["name"] == "fft"
    g_r, _ = ns["fit"].pair_rates("z_0", "z_1")
    g_r_model, _ = ns["lin"].pair_rates(0, 1, "z")
    assert abs(g_r / g_r_model - 1) < 0.05
