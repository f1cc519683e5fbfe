"""Fuzzing the config parser and the command line (GitHub issue 15 item 6).

Mutated configs (drop a key, add an unknown key, give a key a value of another type / dimension / sign,
duplicate a section or key, break the TOML text or its encoding) are run through the real command line,
in-process (``cdsolve.workflow.cli.main(["run", CONFIG, "-o", OUT, "--no-plots"])``). Every key of
:data:`cdsolve.workflow.config.SCHEMA` is a mutation target, so every key sees invalid values.

Oracle: the CLI error contract documented in :mod:`cdsolve.workflow.cli` -- ``main`` returns 0, 1 or 2
and never raises (an uncaught exception would be a traceback); a failure prints exactly one line
``cdsolve: error: ...`` on stderr, as its last line; an input error (exit 2) names the config file and a
key or section of the schema; a failed run leaves no output directory. A mutated config is bad input, so
a runtime failure (exit 1) is allowed only for the numerical failures listed in ``RUNTIME_OK``.
Hypothesis is derandomized (seeded), so every run draws the same configs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cdsolve.workflow import units
from cdsolve.workflow.cli import main
from cdsolve.workflow.config import SCHEMA, example_config
from conftest import config_with

ROOT = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- base configs (small scenes)
#: sizes that keep every shipped geometry at 2-3 particles, so a run that succeeds takes well under a second
_SHRINK = {"n": 2, "n_cells": 1, "nx": 2, "ny": 1}


def _shipped() -> dict[str, dict]:
    out = {}
    for path in [example_config(), *sorted((ROOT / "geometries").glob("*.toml"))]:
        cfg = tomllib.loads(path.read_text())
        geo = cfg["geometry"]
        for k, v in _SHRINK.items():
            if k in geo:
                geo[k] = v
        if geo.get("builder") == "ring":
            geo["n"] = 3
        out[path.stem] = cfg
    return out


def _variants(pair: dict) -> dict[str, dict]:
    """The example pair with the sections and builders the shipped files do not use (so that a mutated
    value of every schema key reaches its parser, not only the 'not a key of ...' check)."""
    def with_(**sections):
        return config_with(pair, **sections)

    twz = {"power": "200 mW", "waist": "0.7 um"}
    return {
        "random": with_(geometry={"builder": "random", "n": 2, "box": ["4 um", "4 um", 0], "min_distance": "1 um",
                                  "seed": 3, "max_attempts": 500, "origin": [0, 0, "1 nm"]}, tweezers=twz),
        "zigzag": with_(geometry={"builder": "zigzag", "n": 2, "spacing": "1.2 um", "offset": "0.2 um",
                                  "offset_axis": "z", "axis": "x"}, tweezers=twz),
        "triangular": with_(geometry={"builder": "triangular", "nx": 2, "ny": 1, "pitch": "1.5 um"}, tweezers=twz),
        "honeycomb": with_(geometry={"builder": "honeycomb", "nx": 1, "ny": 1, "pitch": "1.5 um"}, tweezers=twz),
        "csv": with_(geometry={"builder": "csv", "path": "sites.csv"}, tweezers=twz),
        "focused": with_(tweezers={"model": "focused", "na": 0.7, "powers": ["100 mW", "120 mW"],
                                   "polarization": "radial", "filling_factor": 1.2, "transmission": 0.9,
                                   "phase": "0.1 pi", "phase_gradient": "0.5 rad", "coherent": False,
                                   "direction": [0, 0, 1]}),
        "particles": with_(particle=None, particles=[
            {"kind": "dipole", "alpha_e": "1e-32+1e-34i", "alpha_m": 0, "radius": "50 nm", "mass": "3 fg"},
            {"kind": "kerker", "radius": "60 nm", "index": "3.5", "condition": "first", "mass": "2 fg",
             "model": "rayleigh", "allow_gain": True}]),
        "plane_waves": with_(tweezers=None, medium={"index": 1.33}, plane_waves=[
            {"intensity": "1 mW/um^2", "direction": [0, 0, 1], "polarization": [1, "0.5i", 0], "phase": 0},
            {"amplitude": "1e5+1e4i", "direction": [1, 0, 0], "polarization": [0, 0, 1]}]),
        "extras": with_(particle={"radius": "100 nm", "material": "silica_drude_lorentz", "density": "2200 kg/m^3"},
                        solve={"method": "direct", "orders": 2},
                        casimir={"temperature": "300 K", "method": "pairwise", "rtol": 1e-4},
                        linearize={"at": "positions", "dofs": [0, 5], "damping": "10 Hz"},
                        description="fuzz base"),
    }


_BASE = _shipped()
_BASE.update(_variants(_BASE["example_pair"]))
_CSV = "x_m,y_m,z_m\n-0.6e-6,0,0\n0.6e-6,0,0\n"

#: (section, key) for every key of the schema; [[particles]] takes the keys of [particle]
_PARTICLE = next(s for s in SCHEMA if s.name == "particle")
TARGETS = [(s.name, k) for s in SCHEMA for k in s.keys] + [("particles", k) for k in _PARTICLE.keys]
_ARRAYS = {"particles", "plane_waves"}
#: what follows "<file>: " in an input error: a top-level key or section (with its key), an unknown key, or a
#: problem of the whole file
_TOP = sorted({k.name for k in SCHEMA[0].keys}, key=len, reverse=True)
_NAMED = re.compile(r": (unknown key '|invalid TOML: |not a text \(UTF-8\) TOML file|"
                    rf"({'|'.join(_TOP)})(\[\d+\])?(\.[a-z_]+(\[\d+\])*)?(: |/| \())")

# ----------------------------------------------------------------------------- TOML writer (tomllib reads it back)
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _str(k)


def _str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_val(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))  # pragma: no cover - the strategies draw TOML values only


def dumps(cfg: dict) -> str:
    """TOML text of ``cfg``: scalars first, then ``[table]`` and ``[[array of tables]]`` sections."""
    def is_aot(v):
        return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)

    lines = [f"{_key(k)} = {_val(v)}" for k, v in cfg.items() if not isinstance(v, dict) and not is_aot(v)]
    for k, v in cfg.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(a)} = {_val(b)}" for a, b in v.items()]
    for k, v in cfg.items():
        if is_aot(v):
            for t in v:
                lines += ["", f"[[{_key(k)}]]"] + [f"{_key(a)} = {_val(b)}" for a, b in t.items()]
    return "\n".join(lines) + "\n"


def _same(a, b) -> bool:  # equality with nan == nan
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ----------------------------------------------------------------------------- mutation strategies
_EXAMPLES = [d.example for d in units.DIMENSIONS.values()]
_NUMBERS = st.one_of(
    st.sampled_from([0, -1, 0.0, -0.0, -1e-9, 1e308, -1e308, 5e-324, 1e-300, 1.5, 2 ** 63 - 1, -(2 ** 63), 10 ** 30,
                     math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2 ** 63), max_value=3),
)
_STRINGS = st.one_of(
    st.sampled_from(["", " ", "nan", "inf", "-inf", "NaN m", "inf nm", "nan nm", "-1 nm", "0 nm", "1e400 m", "1e-400 m",
                     "1064", "3 nm/s", "1 rad", "100 mw", "1 parsec", "um2", "kg/m s", "true", "false", "yes", "1",
                     "x", "xyz", "xx", "w", "radial", "azimuthal", "uniform", "3.5+0.01i", "nanj", "1e999j", "-3.5",
                     "0.25 pi", "1 MV/m", "--1 m", "1 m m", "(1 m", "1 m^1.5", "1 m^(", "µm", "1 µm", "1 Å"]),
    st.sampled_from(_EXAMPLES),
    st.sampled_from(_EXAMPLES).map(lambda s: "-" + s),
    st.text(max_size=12),
)
_SCALARS = st.one_of(_NUMBERS, _STRINGS, st.booleans())
BAD_VALUES = st.one_of(
    _SCALARS,
    st.sampled_from([[], [[]], [1, 2], [1, 2, 3], [[1, 2, 3]], [0, 0, 0], [True, False, True], ["1 nm", "2 nm", "3 nm"],
                     [1, "x", [2]], [math.nan, 0, 0], [[0, 0, 0], [0, 0, 0]], {}, {"a": 1}, [{}], [{"radius": 1}]]),
    st.lists(_SCALARS, max_size=4),
    st.lists(st.lists(_SCALARS, min_size=3, max_size=3), min_size=1, max_size=3),
)
_UNKNOWN = st.one_of(st.sampled_from(["radiuss", "Radius", "wave_length", "power_mW", "kind2", "positions ", "builder",
                                      "x", "_private", "tweezer", "particle", "n"]),
                     st.text(min_size=1, max_size=8))


def _key_values(key) -> st.SearchStrategy:
    """Values for one key: the invalid ones of :data:`BAD_VALUES` and a few valid spellings of its type."""
    dim = units.DIMENSIONS[key.dim]
    good = [dim.example] + [f"{x} {dim.si_unit}" if key.dim != "dimensionless" else x
                            for x in (1e-30, 1e-12, 1e12, 1e30, 1e300)]  # right dimension, extreme size
    if key.choices:
        good += list(key.choices) + [str(key.choices[0]).upper(), f" {key.choices[0]}"]
    if key.type == "integer":
        good += [1, 2, 3]  # small: a valid size key must keep the scene small
    if key.default is not None:
        good.append(key.default)
    bad = BAD_VALUES
    if key.name == "max_attempts":  # a huge valid bound on an impossible packing would loop for ever (by design)
        bad = BAD_VALUES.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool) and v > 10 ** 4))
    values = st.one_of(bad, st.sampled_from(good))
    return values


def _set(cfg: dict, section: str, name: str, value) -> None:
    # [particle] and [[particles]] conflict: a key of either goes to the one the config has
    if section == "particles" and "particle" in cfg:
        section = "particle"
    elif section == "particle" and "particles" in cfg:
        section = "particles"
    if not section:
        cfg[name] = value
    elif section in _ARRAYS:
        items = cfg.get(section)
        if isinstance(items, list) and items and all(isinstance(t, dict) for t in items):
            items[0][name] = value
        else:
            cfg[section] = [{name: value}]
    else:
        if not isinstance(cfg.get(section), dict):
            cfg[section] = {}
        cfg[section][name] = value


def _present(cfg: dict, section: str, name: str) -> bool:
    table = cfg.get(section) if section else cfg
    if isinstance(table, list) and table and isinstance(table[0], dict):
        table = table[0]
    return isinstance(table, dict) and name in table


def _paths(cfg: dict) -> list[tuple]:
    out = []
    for k, v in cfg.items():
        out.append((k,))
        if isinstance(v, dict):
            out += [(k, a) for a in v]
        elif isinstance(v, list) and v and all(isinstance(t, dict) for t in v):
            out += [(k, i, a) for i, t in enumerate(v) for a in t]
    return out


def _drop(cfg: dict, path: tuple) -> None:
    node = cfg
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]


@st.composite
def mutated_configs(draw):
    """(base name, TOML bytes, description of the mutations)."""
    name = draw(st.sampled_from(sorted(_BASE)))
    cfg = copy.deepcopy(_BASE[name])
    done = []
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["set", "set", "set-present", "set-present", "drop", "unknown"]))
        present = [(s, k) for s, k in TARGETS if _present(cfg, s, k.name)]
        if op == "set-present" and present:  # a key the config has: its value reaches the parser of its kind
            section, key = draw(st.sampled_from(present))
            value = draw(_key_values(key))
            _set(cfg, section, key.name, value)
            done.append(f"set {section}.{key.name} = {value!r}")
        elif op.startswith("set"):
            section, key = draw(st.sampled_from(TARGETS))
            value = draw(_key_values(key))
            _set(cfg, section, key.name, value)
            done.append(f"set {section}.{key.name} = {value!r}")
        elif op == "drop":
            paths = _paths(cfg)
            if paths:
                path = draw(st.sampled_from(paths))
                _drop(cfg, path)
                done.append(f"drop {path}")
        else:
            section = draw(st.sampled_from(["", *(k for k in cfg if isinstance(cfg[k], dict))]))
            key, value = draw(_UNKNOWN), draw(_SCALARS)
            (cfg[section] if section else cfg)[key] = value
            done.append(f"unknown {section}.{key} = {value!r}")
    text = dumps(cfg)
    assert _same(tomllib.loads(text), cfg), text  # the writer round-trips (oracle: tomllib)
    data = text.encode()
    # text-level mutations: a duplicate section or key, a truncated file, bytes that are not UTF-8
    tables = [k for k, v in cfg.items() if isinstance(v, dict)]
    how = draw(st.sampled_from(["none"] * 8 + ["dup-section", "dup-key", "truncate", "bad-bytes", "empty"]))
    if how == "dup-section" and tables:
        t = draw(st.sampled_from(tables))
        data += f"\n[{_key(t)}]\nradius = 1\n".encode()
    elif how == "dup-key" and "wavelength" in cfg:
        data = b'wavelength = "532 nm"\n' + data
    elif how == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "bad-bytes":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\x00", b"\xfe\xff"])) + data[i:]
    elif how == "empty":
        data = b""
    if how != "none":
        done.append(how)
    return name, data, done


# ----------------------------------------------------------------------------- running the CLI
#: runtime failures (exit 1) a valid-but-extreme scene may legitimately hit (none seen so far)
RUNTIME_OK: tuple[str, ...] = ()

STATS: Counter = Counter()


def run_cli(data: bytes, base: str) -> tuple[int, str, Path, Path]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = tmp / f"fuzz_{base}.toml"
        cfg.write_bytes(data)
        (tmp / "sites.csv").write_text(_CSV)
        out = tmp / "out"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(["run", str(cfg), "-o", str(out), "--no-plots"])  # an exception here fails the test
        exists = out.exists()
        return status, err.getvalue(), cfg, exists


def check_contract(base: str, data: bytes, done: list) -> None:
    status, stderr, cfg, out_exists = run_cli(data, base)
    STATS[status] += 1
    info = f"{base}: {done}\nstderr: {stderr}"
    assert status in (0, 1, 2), info
    assert "Traceback" not in stderr, info
    lines = stderr.rstrip("\n").splitlines()
    errors = [ln for ln in lines if ln.startswith("cdsolve: error:")]
    if status == 0:
        assert not errors and out_exists, info
        return
    assert len(errors) == 1 and lines[-1] == errors[0], info  # one error line, the last one
    assert not out_exists, info  # a failed run leaves no output directory
    msg = errors[0][len("cdsolve: error: "):]
    if status == 1:
        assert any(name in msg for name in RUNTIME_OK), f"runtime failure on bad input: {info}"
        return
    assert str(cfg) in msg, info  # exit 2 names the config file ...
    after = msg.split(str(cfg), 1)[1]
    assert _NAMED.match(after), info  # ... and then a key or section of it


FAST = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=1000)


def test_writer_round_trips_every_base_config():
    # oracle: tomllib reads back what dumps wrote
    for name, cfg in _BASE.items():
        assert _same(tomllib.loads(dumps(cfg)), cfg), name


@pytest.mark.slow
def test_every_base_config_runs():
    # oracle: exit status 0 -- a failure of a mutated config is then caused by its mutation
    for name, cfg in _BASE.items():
        status, stderr, _, _ = run_cli(dumps(cfg).encode(), name)
        assert status == 0, (name, stderr)


def test_every_schema_key_is_a_target():
    # oracle: the schema itself; a key added to SCHEMA is fuzzed without editing this file
    assert {(s.name, k.name) for s in SCHEMA for k in s.keys} <= {(s, k.name) for s, k in TARGETS}


@FAST
@given(case=mutated_configs())
def test_cli_mutated_configs(case):
    check_contract(*case)


@pytest.mark.slow
@SLOW
@given(case=mutated_configs())
def test_cli_mutated_configs_1000(case):
    check_contract(*case)


# ----------------------------------------------------------------------------- the unit parser alone
_TOKENS = st.sampled_from(["1", "2.5", "1e3", "-", "+", "*", "/", "^", "**", "(", ")", " ", "m", "nm", "kg", "pi",
                           "Hz", "µ", "u", "deg", "°", "Å", "x", ".", "e", "E", "-3", "1_0", "0x1", "nan", "inf"])
GARBAGE = st.one_of(st.text(max_size=30), st.lists(_TOKENS, max_size=12).map("".join),
                    st.text(alphabet="0123456789.eE+-*/^() munkgsKHzWpi", max_size=20))


@settings(derandomize=True, database=None, deadline=None, max_examples=400)
@given(text=GARBAGE, dim=st.sampled_from([None, *units.DIMENSIONS]))
def test_units_garbage_is_a_value_error(text, dim):
    # oracle: the documented contract of units.parse / units.to_si -- a finite float, or a ValueError
    # subclass with a one-line message naming the key; never another exception
    for call in (lambda: units.parse(text, where="fuzz.key").value, lambda: units.to_si(text, dim, "fuzz.key")):
        try:
            value = call()
        except ValueError as e:
            assert isinstance(e, units.UnitError), repr(e)
            msg = str(e)
            assert msg.startswith("fuzz.key: ") and len(msg) > len("fuzz.key: "), msg
            # one line, except for line breaks of the echoed input (reported; the CLI joins the lines)
            assert "\n" not in msg.replace(text, ""), msg
        else:
            assert isinstance(value, float) and math.isfinite(value), (text, value)


def test_units_deep_parentheses_is_a_value_error():
    # oracle: the contract of units.to_si (ValueError subclass for anything unreadable)
    with pytest.raises(units.UnitError):
        units.to_si("(" * 2000 + "1" + ")" * 2000, None, "fuzz.key")


def test_huge_wavelength_is_an_input_error():
    # oracle: the CLI contract -- a config value the model cannot evaluate is an input error (exit 2)
    cfg = copy.deepcopy(_BASE["particles"])
    cfg["wavelength"] = 1e308
    status, stderr, _, _ = run_cli(dumps(cfg).encode(), "particles")
    assert status == 2, stderr
