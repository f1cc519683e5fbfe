"""The declared dependency floors are the versions CI installs exactly (.ci/floors.txt), so they stay true.

Oracle: pyproject.toml itself -- every runtime dependency's ">=" minimum must equal its pin in
.ci/floors.txt (and every pinned package must be declared), or the second CI run would test other
versions than the ones promised.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _minimums(reqs):
    out = {}
    for r in reqs:
        m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=([0-9][^,;\s]*)", r)
        if m and ";" not in r:  # environment-marked requirements (tomli on old Pythons) are not pinned
            out[m.group(1).lower()] = m.group(2)
    return out


def test_runtime_floors_equal_the_ci_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _minimums(project["dependencies"])
    declared.update({k: v for k, v in _minimums(project["optional-dependencies"]["test"]).items()
                     if k == "miepython"})  # the Mie oracle's floor matters to the tests (3.0.0 differs)
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / ".ci" / "floors.txt").read_text(), flags=re.M))
    pins = {k.lower(): v for k, v in pins.items()}
    assert declared == pins
