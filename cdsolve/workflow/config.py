"""TOML configuration files -> :class:`~cdsolve.scattering.scene.Scene`, checked against one schema.

The format is defined once, in :data:`SCHEMA` (sections, keys, type and dimension, default, one-line
description). The parser takes from it the allowed keys, the keys of each particle kind / geometry
builder / tweezer model, conflicting keys, dimensions and defaults; ``docs/config.md`` is generated
from it by :func:`config_reference_markdown` (and a test keeps the committed file equal to it).

Units are converted once, here, at the edge (:mod:`cdsolve.workflow.units`): a number is SI; a
string carries its unit (``"1064 nm"``, ``"300 mW"``, ``"1.3 mW/um^2"``, ``"0.25 pi"``). Each key has
one dimension; a plain-number key refuses units, booleans must be TOML booleans and integers TOML
integers. Every problem is a one-line :class:`ConfigError` naming the file, the key and what is
allowed, e.g. ``run.toml: tweezers.power: expected a power (e.g. "300 mW"), got "3 nm" (a length)``.

Besides the scene: :func:`linearize_options` (the ``[linearize]`` section) and :func:`parsed_config`
(every value in SI with its unit, JSON-serializable, for ``summary.json``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..optics import materials
from ..optics.beams import GaussianTweezer, IncoherentBeams, PlaneWave
from ..optics.casimir import CasimirPolder
from ..optics.focusing import FocusedBeam
from ..optics.materials import Medium
from ..optics.polarizability import DipoleParticle, KerkerParticle, Sphere
from ..scattering.scene import Scene
from . import geometry
from .units import DIMENSIONS, to_si, units_reference_markdown

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULTS",
    "SCHEMA",
    "ConfigError",
    "Key",
    "Section",
    "config_reference_markdown",
    "example_config",
    "key_dimension",
    "linearize_options",
    "load_config",
    "load_scene",
    "parse_quantity",
    "parsed_config",
    "scene_from_config",
]


class ConfigError(ValueError):
    """A configuration problem, with the file and key it concerns."""


# ----------------------------------------------------------------------------- the schema
@dataclass(frozen=True)
class Key:
    """One config key.

    name : str
    type : str        ``quantity`` (a number or unit string of dimension ``dim``), ``integer``, ``boolean``,
                      ``string``, ``path``, ``choice`` (one of ``choices``), ``complex``, ``vector`` (3 quantities
                      of ``dim``), ``cvector`` (3 complex), ``polarization`` (cvector or "radial"/"azimuthal"),
                      ``axis`` ("x"/"y"/"z" or a 3-vector), ``list`` (per-site quantities of ``dim``),
                      ``positions`` (list of length 3-vectors), ``filling`` (number or "uniform"), ``dofs``,
                      ``table`` / ``tables`` (a section / an array of tables)
    doc : str         one-line description
    dim : str         dimension (a name in :data:`cdsolve.workflow.units.DIMENSIONS`) of the value or its entries
    default : any     value used when the key is absent (None: no default)
    choices : tuple   allowed values of a ``choice``
    minimum : float   lower bound of numbers (``strict``: exclusive)
    only : tuple      selector values (particle kind, builder, tweezer model) the key belongs to; empty: all
    required : bool or tuple   required always (True) or for these selector values
    unit : str        SI unit of a ``complex`` value (docs and :func:`parsed_config`)
    """

    name: str
    type: str
    doc: str
    dim: str = "dimensionless"
    default: Any = None
    choices: tuple = ()
    minimum: float | None = None
    strict: bool = False
    only: tuple = ()
    required: bool | tuple = False
    unit: str = "1"


@dataclass(frozen=True)
class Section:
    """A TOML table (``name = ""``: the top level) and its keys.

    selector : str or None    key whose value decides which keys apply (``Key.only``)
    conflicts : tuple of tuples   groups of keys of which at most one may be given
    array : bool              an array of tables (``[[name]]``)
    """

    name: str
    doc: str
    keys: tuple
    selector: str | None = None
    conflicts: tuple = ()
    array: bool = False

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)


_SPHERE_LIKE = ("sphere", "kerker")
_BUILDERS = ("chain", "ring", "zigzag", "dimerized", "square", "triangular", "honeycomb", "random", "csv")
_LATTICES = ("square", "triangular", "honeycomb")
_MATERIALS = {"fused_silica": materials.fused_silica, "silicon": materials.silicon,
              "silica_drude_lorentz": materials.silica_drude_lorentz}
_GT0 = {"minimum": 0.0, "strict": True}

SCHEMA: tuple[Section, ...] = (
    Section("", "Keys at the top of the file, before the first section.", (
        Key("wavelength", "quantity", "vacuum wavelength of every beam", "length", required=True, **_GT0),
        Key("name", "string", "title for reports"),
        Key("description", "string", "free text"),
        Key("medium", "table", "host medium"),
        Key("particle", "table", "the particle at every site"),
        Key("particles", "tables", "one particle per site, instead of [particle]"),
        Key("geometry", "table", "site positions", required=True),
        Key("tweezers", "table", "one Gaussian tweezer per site, focused at the site"),
        Key("plane_waves", "tables", "extra plane waves, any number"),
        Key("solve", "table", "solver options"),
        Key("casimir", "table", "Casimir-Polder forces between the particles"),
        Key("linearize", "table", "linearized dynamics written by cdsolve run"),
    ), conflicts=(("particle", "particles"),)),
    Section("medium", "Lossless host medium.", (
        Key("index", "quantity", "real refractive index of the host", default=1.0, **_GT0),
    )),
    Section("particle", "The particle at every site; `[[particles]]` tables (one per site) take the same keys.", (
        Key("kind", "choice", "sphere: Mie or Rayleigh sphere; kerker: ideal Kerker dipole with the alpha_e of a "
            "sphere; dipole: given polarizabilities", choices=("sphere", "kerker", "dipole"), default="sphere"),
        Key("radius", "quantity", "sphere radius (dipole: exclusion radius and volume, default 0)", "length",
            only=_SPHERE_LIKE + ("dipole",), required=_SPHERE_LIKE, **_GT0),
        Key("index", "complex", "refractive index, complex as \"3.5+0.01i\" (Im < 0 needs allow_gain)",
            only=_SPHERE_LIKE),
        Key("material", "choice", "dispersive material instead of index", choices=tuple(_MATERIALS),
            only=_SPHERE_LIKE),
        Key("model", "choice", "polarizability model of the sphere", choices=("mie", "rayleigh"), default="mie",
            only=_SPHERE_LIKE),
        Key("density", "quantity", "mass density (mass = density * volume; needed for modes; dipole: needs radius); "
            ">= 1e-3 kg/m^3 (far below any solid or gas)", "density", minimum=1e-3),
        Key("mass", "quantity", "particle mass (instead of density); >= 1e-30 kg (below it K/m overflows)", "mass",
            minimum=1e-30),
        Key("condition", "choice", "first (no backscattering) or second (no forward scattering) Kerker condition",
            choices=(1, 2, "first", "second"), default=1, only=("kerker",)),
        Key("alpha_e", "complex", "electric polarizability (SI number)", default=0.0, only=("dipole",),
            unit="F m^2"),
        Key("alpha_m", "complex", "magnetic polarizability (SI number)", default=0.0, only=("dipole",), unit="m^3"),
        Key("allow_gain", "boolean", "accept active (gain) particles", default=False),
    ), selector="kind", conflicts=(("index", "material"), ("density", "mass"))),
    Section("geometry", "Site positions: explicit `positions`, or a `builder` of `cdsolve.workflow.geometry`.", (
        Key("positions", "positions", "explicit sites [[x, y, z], ...]", "length", only=("positions",)),
        Key("builder", "choice", "geometry builder", choices=_BUILDERS),
        Key("origin", "vector", "shift added to every site", "length", default=[0.0, 0.0, 0.0]),
        Key("n", "integer", "number of sites", only=("chain", "ring", "zigzag", "random"), required=True, minimum=1),
        Key("spacing", "quantity", "distance between neighbours", "length", only=("chain", "zigzag"), required=True,
            **_GT0),
        Key("axis", "axis", "chain axis", default="x", only=("chain", "zigzag", "dimerized")),
        Key("radius", "quantity", "ring radius", "length", only=("ring",), required=True, **_GT0),
        Key("start_angle", "quantity", "angle of site 0", "angle", default=0.0, only=("ring",)),
        Key("offset", "quantity", "displacement of every second site", "length", only=("zigzag",), required=True,
            **_GT0),
        Key("offset_axis", "axis", "direction of the offset", default="y", only=("zigzag",)),
        Key("n_cells", "integer", "number of two-site cells", only=("dimerized",), required=True, minimum=1),
        Key("intra", "quantity", "distance inside a cell", "length", only=("dimerized",), required=True, **_GT0),
        Key("inter", "quantity", "distance between cells", "length", only=("dimerized",), required=True, **_GT0),
        Key("nx", "integer", "cells along x", only=_LATTICES, required=True, minimum=1),
        Key("ny", "integer", "cells along y", only=_LATTICES, required=True, minimum=1),
        Key("pitch", "quantity", "nearest-neighbour distance", "length", only=_LATTICES, required=True, **_GT0),
        Key("box", "vector", "box [lx, ly, lz] the sites are drawn in", "length", only=("random",), required=True),
        Key("min_distance", "quantity", "smallest distance between sites", "length", only=("random",),
            required=True, **_GT0),
        Key("seed", "integer", "random seed", only=("random",), required=True, minimum=0),
        Key("max_attempts", "integer", "candidate draws before giving up (builder's default if absent)",
            only=("random",), minimum=1),
        Key("path", "path", "CSV file with columns x_m, y_m, z_m (relative to the config file)", only=("csv",),
            required=True),
    ), selector="builder"),
    Section("tweezers", "One tweezer per site, focused at the site.", (
        Key("model", "choice", "gaussian: paraxial GaussianTweezer; focused: Richards-Wolf FocusedBeam",
            choices=("gaussian", "focused"), default="gaussian"),
        Key("power", "quantity", "power of every tweezer", "power", **_GT0),
        Key("powers", "list", "power of each tweezer (one per site)", "power", **_GT0),
        Key("waist", "quantity", "focal waist (or give na)", "length", only=("gaussian",), **_GT0),
        Key("na", "quantity", "numerical aperture (gaussian: sets the waist)", required=("focused",), **_GT0),
        Key("polarization", "polarization", "Jones vector (focused also \"radial\" or \"azimuthal\")",
            default=[1, 0, 0]),
        Key("direction", "vector", "propagation direction", default=[0, 0, 1]),
        Key("phase", "quantity", "phase of tweezer 0", "angle", default=0.0),
        Key("phases", "list", "phase of each tweezer (one per site)", "angle"),
        Key("phase_gradient", "quantity", "phase added per site index: phase_i = phase + i * phase_gradient",
            "angle", default=0.0),
        Key("filling_factor", "filling", "aperture filling factor, or \"uniform\"", default=1.0, only=("focused",),
            **_GT0),
        Key("transmission", "quantity", "objective transmission", default=1.0, only=("focused",), **_GT0),
        Key("coherent", "boolean", "false: each tweezer its own coherence group (e.g. AOD tones)", default=True),
    ), selector="model", conflicts=(("power", "powers"), ("phase", "phases"), ("phase_gradient", "phases"),
                                    ("waist", "na"))),
    Section("plane_waves", "Extra plane waves, one `[[plane_waves]]` table each.", (
        Key("intensity", "quantity", "time-averaged intensity in the host", "intensity", **_GT0),
        Key("amplitude", "complex", "complex field amplitude (instead of intensity)", unit="V/m"),
        Key("direction", "vector", "propagation direction", default=[0, 0, 1]),
        Key("polarization", "cvector", "Jones vector", default=[1, 0, 0]),
        Key("phase", "quantity", "phase at the origin", "angle", default=0.0),
    ), conflicts=(("intensity", "amplitude"),), array=True),
    Section("solve", "Solver options.", (
        Key("method", "choice", "linear solver", choices=("auto", "direct", "iterative"), default="auto"),
        Key("orders", "integer", "scattering orders (-1: self-consistent)", default=-1, minimum=-1),
    )),
    Section("casimir", "Casimir-Polder forces (`cdsolve.optics.casimir.CasimirPolder`).", (
        Key("temperature", "quantity", "temperature of the Matsubara sum", "temperature", required=True,
            minimum=0.0),
        Key("method", "choice", "pairwise (second order) or many-body", choices=("pairwise", "many-body"),
            default="pairwise"),
        Key("rtol", "quantity", "relative accuracy of the frequency sum", default=1e-6, **_GT0),
    )),
    Section("linearize", "Linearized dynamics (`linearize_options`).", (
        Key("at", "choice", "linearize at the force equilibrium or at the configured positions",
            choices=("equilibrium", "positions"), default="equilibrium"),
        Key("dofs", "dofs", "axes of every particle (\"z\", \"xy\", \"xyz\") or indices into (x_0, y_0, z_0, x_1, ...)",
            default="xyz"),
        Key("damping", "quantity", "gas damping rate gamma in m x'' = -K x - m gamma x' (Hz is 1/s, no 2 pi)",
            "rate", default=0.0, minimum=0.0),
    )),
)
_SECTIONS = {s.name: s for s in SCHEMA}
_SECTIONS["particles"] = _SECTIONS["particle"]

#: ``"section.key"`` (top level: ``"key"``) -> default value, from :data:`SCHEMA`
DEFAULTS: dict[str, Any] = {(f"{s.name}.{k.name}" if s.name else k.name): k.default
                            for s in SCHEMA for k in s.keys if k.default is not None}
#: section -> allowed keys (from :data:`SCHEMA`)
_ALLOWED = {s.name: {k.name for k in s.keys} for s in SCHEMA}
#: ``[geometry] builder`` -> (its required keys, its optional keys), from :data:`SCHEMA`; every builder takes ``origin``
_GEOMETRY_BUILDERS = {b: (tuple(k.name for k in _SECTIONS["geometry"].keys if b in k.only and k.required),
                          tuple(k.name for k in _SECTIONS["geometry"].keys if b in k.only and not k.required))
                      for b in _BUILDERS}


# ----------------------------------------------------------------------------- values
def parse_quantity(value: Any, kind: str | None = None, where: str = "value") -> float:
    """Convert a number or a ``"<number> <unit>"`` string to SI.

    Parameters
    ----------
    value : float or str
    kind : str, optional
        Dimension the value must have, a name in :data:`cdsolve.workflow.units.DIMENSIONS` (``"length"``,
        ``"power"``, ``"intensity"``, ``"density"``, ``"angle"``, ``"mass"``, ``"rate"``, ``"temperature"``, ...);
        ``"dimensionless"`` accepts plain numbers only. None: any dimension. Bare numbers are SI.
    where : str
        Name of the key, used in error messages.

    Examples
    --------
    >>> parse_quantity("1064 nm", "length")
    1.064e-06
    >>> parse_quantity("1.3 mW/um^2", "intensity")
    1300000000.0
    >>> round(parse_quantity("0.5 pi", "angle"), 6)
    1.570796
    """
    return to_si(value, kind, where)


def key_dimension(name: str) -> tuple[str, str] | None:
    """``(dimension, SI unit)`` of a config key ``"section.key"`` (or a top-level ``"key"``), from :data:`SCHEMA`.

    None for keys that are not numbers with a dimension (strings, booleans, integers, complex numbers).
    A ``[i]`` suffix (one entry of a per-site list) is ignored. For ``cdsolve sweep`` axes.

    Examples
    --------
    >>> key_dimension("tweezers.phases[1]"), key_dimension("medium.index")
    (('angle', 'rad'), ('dimensionless', '1'))
    """
    section, _, key = name.split("[")[0].rpartition(".")
    sec = _SECTIONS.get(section)
    k = next((k for k in sec.keys if k.name == key), None) if sec else None
    if k is None or k.type not in ("quantity", "vector", "list", "positions", "filling"):
        return None
    return k.dim, DIMENSIONS[k.dim].si_unit


def _quote(v) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def _complex(v, where: str) -> complex:
    if isinstance(v, str):
        try:
            z = complex(v.replace(" ", "").replace("i", "j"))
        except ValueError:
            raise ValueError(f"{where}: cannot parse complex number {_quote(v)} "
                             f"(e.g. \"3.5+0.01i\", SI, no unit)") from None
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        z = complex(v)
    else:
        raise ValueError(f"{where}: expected a number, got {_quote(v)}")
    if not np.isfinite(z):
        raise ValueError(f"{where}: value must be finite, got {_quote(v)}")
    return z


def _list(v, where: str, n: int | None = None) -> list:
    if not isinstance(v, list) or not v or (n is not None and len(v) != n):
        what = f"a list of {n} entries" if n else "a non-empty list"
        raise ValueError(f"{where}: expected {what}, got {_quote(v)}")
    return v


def _bound(key: Key, x: float, raw, where: str) -> None:
    if key.minimum is not None and (x <= key.minimum if key.strict else x < key.minimum):
        raise ValueError(f"{where}: must be {'>' if key.strict else '>='} {key.minimum:g}, got {_quote(raw)}")


def _quantity(key: Key, v, where: str) -> float:
    x = to_si(v, key.dim, where)
    _bound(key, x, v, where)
    return x


def _integer(key: Key, v, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError(f"{where}: expected an integer, got {_quote(v)}")
    _bound(key, v, v, where)
    return v


def _convert(key: Key, v, where: str):
    """One value of ``key`` checked and in SI (lists as lists, complex as complex)."""
    t = key.type
    if t == "quantity":
        return _quantity(key, v, where)
    if t == "integer":
        return _integer(key, v, where)
    if t == "boolean":
        if not isinstance(v, bool):
            raise ValueError(f"{where}: expected true or false (a TOML boolean, no quotes), got {_quote(v)}")
        return v
    if t in ("string", "path"):
        if not isinstance(v, str) or (t == "path" and not v):
            raise ValueError(f"{where}: expected {'a file name' if t == 'path' else 'a string'}, got {_quote(v)}")
        return v
    if t == "choice":
        if isinstance(v, bool) or v not in key.choices or type(v) not in {type(c) for c in key.choices}:
            raise ValueError(f"{where}: expected one of {', '.join(map(_quote, key.choices))}, got {_quote(v)}")
        return v
    if t == "complex":
        return _complex(v, where)
    if t == "vector":
        return [_quantity(key, x, f"{where}[{i}]") for i, x in enumerate(_list(v, where, 3))]
    if t == "list":
        return [_quantity(key, x, f"{where}[{i}]") for i, x in enumerate(_list(v, where))]
    if t == "positions":
        return [[_quantity(key, x, f"{where}[{i}][{j}]") for j, x in enumerate(_list(p, f"{where}[{i}]", 3))]
                for i, p in enumerate(_list(v, where))]
    if t in ("cvector", "polarization"):
        if t == "polarization" and v in ("radial", "azimuthal"):
            return v
        return [_complex(x, f"{where}[{i}]") for i, x in enumerate(_list(v, where, 3))]
    if t == "axis":
        if isinstance(v, str):
            if v not in ("x", "y", "z"):
                raise ValueError(f"{where}: expected 'x', 'y', 'z' or a 3-vector, got {_quote(v)}")
            return v
        return [to_si(x, "dimensionless", f"{where}[{i}]") for i, x in enumerate(_list(v, where, 3))]
    if t == "filling":
        return v if v == "uniform" else _quantity(key, v, where)
    if t == "dofs":
        if isinstance(v, str):
            if not v or any(c not in "xyz" for c in v) or len(set(v)) != len(v):
                raise ValueError(f"{where}: expected distinct axes from 'x', 'y', 'z' (e.g. \"z\" or \"xy\") or a "
                                 f"list of coordinate indices, got {_quote(v)}")
            return v
        index_key = Key(key.name, "integer", "", minimum=0)
        idx = [_integer(index_key, x, f"{where}[{i}]") for i, x in enumerate(_list(v, where))]
        if len(set(idx)) != len(idx):
            raise ValueError(f"{where}: indices must be distinct, got {_quote(v)}")
        return idx
    if t in ("table", "tables"):
        ok = isinstance(v, dict) if t == "table" else isinstance(v, list) and all(isinstance(x, dict) for x in v)
        if not ok:
            raise ValueError(f"{where}: expected {'a table [' if t == 'table' else 'an array of tables [['}"
                             f"{where}{']' if t == 'table' else ']]'}, got {_quote(v)}")
        return v
    raise AssertionError(f"unknown key type {t!r}")  # pragma: no cover - the schema is fixed


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _read(table, sec: Section, where: str) -> tuple[dict, Any]:
    """Check ``table`` against ``sec``; returns ({key: checked SI value, defaults included}, selector value).

    Unknown keys, keys of another kind/builder/model, conflicting and missing keys are named errors.
    """
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table, got {_quote(table)}")
    names = [k.name for k in sec.keys]
    for name in table:
        if name.startswith("_") and not where:
            continue  # "_source", set by load_config
        if name not in names:
            close = difflib.get_close_matches(name, names, 1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"unknown key '{_join(where, name)}'{hint} (allowed: {', '.join(sorted(names))})")
    for group in sec.conflicts:
        given = [k for k in group if k in table]
        if len(given) > 1:
            raise ValueError(f"{_join(where, given[1])}: conflicts with '{given[0]}' (give only one of "
                             f"{', '.join(group)})")
    sel, sel_text = None, ""
    if sec.name == "geometry":
        if "positions" in table and "builder" in table:
            raise ValueError("geometry.builder: conflicts with 'positions' (give only one of positions, builder)")
        if "positions" in table:
            sel, sel_text = "positions", "explicit 'positions' (give a builder instead)"
        elif "builder" not in table:
            raise ValueError(f"geometry: give 'positions' or builder = one of {', '.join(_BUILDERS)}")
    if sec.selector and sel is None:
        skey = sec.key(sec.selector)
        sel = _convert(skey, table.get(sec.selector, skey.default), _join(where, sec.selector))
        sel_text = f"{sec.selector} = {_quote(sel)}"
    out = {}
    for key in sec.keys:
        applies = not key.only or sel in key.only
        if key.name not in table and (not applies or (key.default is None and key.required is False)):
            continue
        full = _join(where, key.name)
        if key.name in table:
            if not applies:
                own = [k.name for k in sec.keys if (not k.only or sel in k.only) and k.name != sec.selector]
                raise ValueError(f"{full}: not a key of {sel_text} (its keys: {', '.join(own)})")
            out[key.name] = _convert(key, table[key.name], full)
        elif applies and (key.required is True or (isinstance(key.required, tuple) and sel in key.required)):
            why = f" (required for {sel_text})" if key.only or key.required is not True else ""
            what = (f" section [{key.name}]" if key.type == "table" else
                    f" (e.g. \"{DIMENSIONS[key.dim].example}\")" if key.type == "quantity" else "")
            raise ValueError(f"{full}: missing{what}{why}")
        elif applies and key.default is not None and not any(
                key.name in g and any(o in table for o in g if o != key.name) for g in sec.conflicts):
            out[key.name] = _convert(key, key.default, full)
    return out, sel


def _prefixed(e: ValueError, where: str) -> ValueError:
    msg = str(e)
    return ValueError(msg if msg.startswith(where) else f"{where}: {msg}")


# ----------------------------------------------------------------------------- sections -> objects
def _particle(raw: dict, where: str):
    v, kind = _read(raw, _SECTIONS["particle"], where)
    density, mass = v.get("density"), v.get("mass")
    mat = _MATERIALS[v["material"]]() if "material" in v else None
    try:
        if kind == "dipole":
            if density is not None and "radius" not in v:
                raise ValueError(f"{where}.density: kind = 'dipole' needs a radius (the volume) for density; "
                                 f"or give mass")
            return DipoleParticle(alpha_e=v["alpha_e"], alpha_m=v["alpha_m"], radius=v.get("radius", 0.0),
                                  density=density, mass=mass, allow_gain=v["allow_gain"])
        if kind == "sphere":
            return Sphere(radius=v["radius"], index=v.get("index"), material=mat, model=v["model"],
                          density=density, mass=mass, allow_gain=v["allow_gain"])
        sphere = Sphere(radius=v["radius"], index=v.get("index"), material=mat, model=v["model"],
                        allow_gain=v["allow_gain"])
        return KerkerParticle(alpha_e=sphere, condition=v["condition"], density=density, mass=mass,
                              allow_gain=v["allow_gain"])
    except ValueError as e:
        raise _prefixed(e, where) from None


def _positions(cfg: dict, source: str | None = None) -> np.ndarray:
    """Site positions (N, 3) [m] of a ``[geometry]`` table: explicit ``positions`` or a builder of
    :mod:`cdsolve.workflow.geometry` (its keys: :data:`SCHEMA`), shifted by ``origin``.

    A relative ``path`` (``builder = "csv"``) is taken relative to the directory of ``source`` (the
    config file) when given, else to the working directory. The CSV may only hold x, y, z: per-site
    tweezer parameters come from ``[tweezers]``.
    """
    v, builder = _read(cfg, _SECTIONS["geometry"], "geometry")
    origin = np.array(v["origin"])
    if builder == "positions":
        return np.array(v["positions"], dtype=float) + origin
    kw = {k: v[k] for k in _GEOMETRY_BUILDERS[builder][0] + _GEOMETRY_BUILDERS[builder][1] if k in v}
    for k in ("axis", "offset_axis", "box"):
        if k in kw and not isinstance(kw[k], str):
            kw[k] = tuple(kw[k])
    try:
        if builder == "csv":
            path = Path(kw["path"])
            path = path if path.is_absolute() or source is None else Path(source).parent / path
            cols = geometry._read_csv(path)
            beam = sorted(set(cols) - {"x", "y", "z"})
            if beam:
                raise ValueError(f"geometry.path: {path} has per-site tweezer column(s) {', '.join(beam)}, "
                                 f"which configs do not read; give them in [tweezers] (phases, powers, "
                                 f"polarization) or use cdsolve.workflow.geometry.from_csv(...).scene(...) in Python")
            sites = geometry.SiteArray(np.column_stack([cols["x"], cols["y"], cols["z"]]))
        else:
            build = {"chain": geometry.chain, "ring": geometry.ring, "zigzag": geometry.zigzag,
                     "dimerized": geometry.dimerized_chain, "square": geometry.square_lattice,
                     "triangular": geometry.triangular_lattice, "honeycomb": geometry.honeycomb_lattice,
                     "random": geometry.random_array}[builder]
            sites = build(**kw)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith("geometry") else f"geometry (builder = '{builder}'): {msg}") from None
    return np.array(sites.positions) + origin


def _tweezers(raw: dict, positions: np.ndarray, wavelength: float):
    v, model = _read(raw, _SECTIONS["tweezers"], "tweezers")
    n = len(positions)
    for key in ("powers", "phases"):
        if key in v and len(v[key]) != n:
            raise ValueError(f"tweezers.{key}: expected a list of {n} {key} (one per site), got {len(v[key])}")
    if "powers" in v:
        powers = v["powers"]
    elif "power" in v:
        powers = [v["power"]] * n
    else:
        raise ValueError("tweezers.power: missing (or give powers, one per site)")
    phases = v["phases"] if "phases" in v else [v["phase"] + v["phase_gradient"] * i for i in range(n)]
    pol = v["polarization"]
    if isinstance(pol, str) and model != "focused":
        raise ValueError(f"tweezers.polarization: {_quote(pol)} only for model = \"focused\"")
    pol = pol if isinstance(pol, str) else tuple(pol)
    out = []
    for i in range(n):
        try:
            if model == "gaussian":
                out.append(GaussianTweezer(wavelength=wavelength, focus=tuple(positions[i]), waist=v.get("waist"),
                                           na=v.get("na"), power=powers[i], polarization=pol, phase=phases[i],
                                           direction=tuple(v["direction"])))
            else:
                ff = v["filling_factor"]
                out.append(FocusedBeam(
                    wavelength=wavelength, na=v["na"], power=powers[i], filling_factor=None if ff == "uniform" else ff,
                    polarization=pol, focus=tuple(positions[i]), direction=tuple(v["direction"]), phase=phases[i],
                    transmission=v["transmission"]))
        except ValueError as e:
            raise _prefixed(e, "tweezers") from None
    if not v["coherent"]:
        return [IncoherentBeams(groups=tuple(out))]
    return out


def _plane_waves(items: list, wavelength: float):
    out = []
    for i, raw in enumerate(items):
        where = f"plane_waves[{i}]"
        v, _ = _read(raw, _SECTIONS["plane_waves"], where)
        try:
            out.append(PlaneWave(wavelength=wavelength, direction=tuple(v["direction"]),
                                 polarization=tuple(v["polarization"]), intensity=v.get("intensity"),
                                 amplitude=v.get("amplitude"), phase=v["phase"]))
        except ValueError as e:
            raise _prefixed(e, where) from None
    return out


def _top(cfg: dict) -> dict:
    """The checked top level (every section present is a table of the right kind)."""
    top, _ = _read(cfg, _SECTIONS[""], "")
    return top


def _source(cfg: dict) -> str:
    return cfg.get("_source", "<config>")


def scene_from_config(cfg: dict | str | Path):
    """Build ``(scene, solve_options)`` from a config dict or TOML path; errors name file and key.

    Every section is checked, ``[linearize]`` included, so a bad config fails before anything is solved.
    """
    if not isinstance(cfg, dict):
        cfg = load_config(cfg)
    src = _source(cfg)
    try:
        top = _top(cfg)
        wavelength = top["wavelength"]
        med, _ = _read(cfg.get("medium", {}), _SECTIONS["medium"], "medium")
        try:
            medium = Medium(index=med["index"])
        except ValueError as e:
            raise _prefixed(e, "medium.index") from None
        positions = _positions(cfg["geometry"], cfg.get("_source"))
        if "particle" in cfg:
            particles = _particle(cfg["particle"], "particle")
        elif "particles" in cfg:
            if len(cfg["particles"]) != len(positions):
                raise ValueError(f"particles: expected {len(positions)} [[particles]] tables (one per site), "
                                 f"got {len(cfg['particles'])}")
            particles = [_particle(p, f"particles[{i}]")
                         for i, p in enumerate(cfg["particles"])]
        else:
            raise ValueError("particle: missing section [particle] (or [[particles]], one per site)")
        beams = []
        if "tweezers" in cfg:
            beams += _tweezers(cfg["tweezers"], positions, wavelength)
        if "plane_waves" in cfg:
            beams += _plane_waves(cfg["plane_waves"], wavelength)
        if not beams:
            raise ValueError("tweezers/plane_waves: no illumination given")
        solve_cfg, _ = _read(cfg.get("solve", {}), _SECTIONS["solve"], "solve")
        if any(isinstance(b, IncoherentBeams) for b in beams):
            if len(beams) > 1:
                raise ValueError("tweezers.coherent: false cannot be combined with [[plane_waves]] "
                                 "(give each laser as its own config, or keep the tweezers coherent)")
            beams = beams[0]
        casimir = None
        if "casimir" in cfg:
            cp, _ = _read(cfg["casimir"], _SECTIONS["casimir"], "casimir")
            try:
                casimir = CasimirPolder(temperature=cp["temperature"], method=cp["method"], rtol=cp["rtol"])
            except ValueError as e:
                raise ValueError(str(e).replace("CasimirPolder.", "casimir.")) from None
        _linearize(cfg, len(positions))
        try:
            scene = Scene(positions=positions, particles=particles, illumination=beams, medium=medium,
                          casimir=casimir)
        except ValueError as e:  # checks across sections: name the config keys, not Scene's arguments
            msg = str(e)
            if msg.startswith("Scene.illumination: focused beam"):
                raise ValueError(f"tweezers.na: {msg.split(': ', 1)[1]} (medium.index)") from None
            part = re.match(r"Scene\.particles\[(\d+)\]: (.*)", msg, flags=re.S)
            if part:  # the scene evaluates every particle's polarizabilities: name the config table
                where = "particle" if "particle" in cfg else f"particles[{part[1]}]"
                raise ValueError(f"{where}: {part[2]}") from None
            if "overlap" in msg:
                raise ValueError(f"geometry: {msg} (move the sites apart or make the particle radius smaller)") from None
            raise ValueError(f"geometry: {msg.removeprefix('Scene.')}") from None
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"{src}: {e}") from None
    orders = solve_cfg["orders"]
    return scene, {"method": solve_cfg["method"], "orders": None if orders == -1 else orders}


def _linearize(cfg: dict, n_particles: int | None) -> dict:
    v, _ = _read(cfg.get("linearize", {}), _SECTIONS["linearize"], "linearize")
    if n_particles is not None and isinstance(v["dofs"], list) and max(v["dofs"]) >= 3 * n_particles:
        raise ValueError(f"linearize.dofs: indices must be < 3 N = {3 * n_particles} ({n_particles} particles), "
                         f"got {v['dofs']}")
    return {"at": v["at"], "dofs": v["dofs"], "damping": v["damping"]}


def linearize_options(cfg: dict | str | Path) -> dict:
    """The ``[linearize]`` section: ``{"at": str, "dofs": str | list[int], "damping": float [1/s]}``.

    ``at``: "equilibrium" (default) or "positions"; ``dofs``: axes of every particle ("xyz", default:
    all) or indices into the 3N vector ``(x_0, y_0, z_0, x_1, ...)`` (checked against the number of
    sites); ``damping``: gas damping rate [1/s] (default 0). Errors are :class:`ConfigError` naming
    the file and the key.

    Examples
    --------
    >>> linearize_options({"linearize": {"dofs": "z", "damping": "2 kHz"}})
    {'at': 'equilibrium', 'dofs': 'z', 'damping': 2000.0}
    """
    if not isinstance(cfg, dict):
        cfg = load_config(cfg)
    try:
        n = None
        if isinstance(cfg.get("linearize"), dict) and isinstance(cfg["linearize"].get("dofs"), list) \
                and "geometry" in cfg:
            n = len(_positions(cfg["geometry"], cfg.get("_source")))
        return _linearize(cfg, n)
    except ValueError as e:
        raise ConfigError(f"{_source(cfg)}: {e}") from None


# ----------------------------------------------------------------------------- parsed config (JSON)
def _unit(key: Key, value) -> str | None:
    if key.type in ("quantity", "vector", "list", "positions", "filling"):
        return None if value == "uniform" else DIMENSIONS[key.dim].si_unit
    if key.type in ("complex", "cvector") or (key.type == "polarization" and not isinstance(value, str)):
        return key.unit
    if key.type == "integer" or (key.type == "axis" and not isinstance(value, str)):
        return "1"
    return None


def _json(value):
    if isinstance(value, complex):
        return value.real if value.imag == 0 else {"re": value.real, "im": value.imag}
    if isinstance(value, list):
        return [_json(x) for x in value]
    return value


def _annotated(raw: dict, sec: Section, where: str) -> dict:
    v, _ = _read(raw, sec, where)
    out = {}
    for key in sec.keys:
        if key.name in v and key.type not in ("table", "tables"):
            entry = {"value": _json(v[key.name]), "unit": _unit(key, v[key.name])}
            if key.name not in raw:
                entry["default"] = True
            out[key.name] = entry
    return out


def parsed_config(cfg: dict | str | Path) -> dict:
    """The whole config with every value checked, in SI and annotated with its unit (JSON-serializable).

    Each key becomes ``{"value": ..., "unit": "m" | "1" | None}`` (``"default": true`` when the value is
    the schema default); sections are nested dicts, ``[[particles]]`` / ``[[plane_waves]]`` lists of
    them; complex numbers are ``{"re": ..., "im": ...}`` unless real. For ``summary.json``.

    Examples
    --------
    >>> parsed_config(example_config())["wavelength"]
    {'value': 1.064e-06, 'unit': 'm'}
    """
    if not isinstance(cfg, dict):
        cfg = load_config(cfg)
    try:
        _top(cfg)
        out = _annotated(cfg, _SECTIONS[""], "")
        for sec in SCHEMA[1:]:
            if sec.name in cfg or sec.name in ("medium", "solve", "linearize"):
                out[sec.name] = ([_annotated(t, sec, f"{sec.name}[{i}]") for i, t in enumerate(cfg[sec.name])]
                                 if sec.array else _annotated(cfg.get(sec.name, {}), sec, sec.name))
        if "particles" in cfg:
            out["particles"] = [_annotated(t, _SECTIONS["particle"], f"particles[{i}]")
                                for i, t in enumerate(cfg["particles"])]
    except ValueError as e:
        raise ConfigError(f"{_source(cfg)}: {e}") from None
    return out


# ----------------------------------------------------------------------------- reference documentation
def _type_text(key: Key) -> str:
    dim = DIMENSIONS[key.dim]
    unit = f" [{dim.si_unit}]" if key.dim != "dimensionless" else ""
    quantity = f"{dim.name}{unit}" if key.dim != "dimensionless" else "number (no unit)"
    return {
        "quantity": quantity,
        "integer": "integer",
        "boolean": "boolean",
        "string": "string",
        "path": "file path",
        "choice": " \\| ".join(f"`{_quote(c)}`" for c in key.choices),
        "complex": f"complex [{key.unit}]" if key.unit != "1" else "complex number (no unit)",
        "vector": f"3 x {quantity}",
        "cvector": "3 complex",
        "polarization": "3 complex, or `\"radial\"` \\| `\"azimuthal\"`",
        "axis": "`\"x\"` \\| `\"y\"` \\| `\"z\"` or 3 numbers",
        "list": f"list of {quantity}",
        "positions": f"list of 3 x {quantity}",
        "filling": "number or `\"uniform\"`",
        "dofs": "axes string or list of integers >= 0",
        "table": "table",
        "tables": "array of tables",
    }[key.type]


def _default_text(key: Key, sec: Section) -> str:
    if key.required is True:
        return "required"
    parts = []
    if key.default is not None:
        d = key.default
        parts.append("`" + ("true" if d is True else "false" if d is False else _quote(d)) + "`")
    if isinstance(key.required, tuple):
        parts.append(f"required for {sec.selector} = {', '.join(map(_quote, key.required))}")
    return "; ".join(parts) or "-"


def _doc_text(key: Key, sec: Section) -> str:
    text = key.doc
    if key.minimum is not None:
        text += f"; {'>' if key.strict else '>='} {key.minimum:g}"
    if key.only and sec.selector:
        sel = "explicit positions" if key.only == ("positions",) else \
            f"{sec.selector} = {', '.join(map(_quote, key.only))}"
        text += f" (only {sel})"
    return text.replace("|", "\\|")


def config_reference_markdown() -> str:
    """The text of ``docs/config.md``, generated from :data:`SCHEMA` and the unit tables."""
    lines = ["# Config file reference", "",
             "<!-- generated by cdsolve.workflow.config.config_reference_markdown(); do not edit by hand. -->", "",
             "A config is a TOML file read by `cdsolve run CONFIG` and `cdsolve sweep CONFIG` (and by",
             "`cdsolve.load_scene` in Python). Unknown keys, keys of another particle kind, builder or tweezer",
             "model, conflicting keys and values of the wrong dimension or type are errors naming the file",
             "and the key. Booleans are TOML booleans (`true`, not `\"true\"`), integers TOML integers.", ""]
    for sec in SCHEMA:
        title = "Top level" if not sec.name else f"[[{sec.name}]]" if sec.array else f"[{sec.name}]"
        lines += [f"## {title}", "", sec.doc, ""]
        if sec.selector:
            lines += [f"Which keys apply depends on `{sec.selector}`.", ""]
        for group in sec.conflicts:
            lines += [f"Give at most one of {', '.join(f'`{g}`' for g in group)}."]
        if sec.conflicts:
            lines += [""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for key in sec.keys:
            if key.type in ("table", "tables"):
                continue
            lines.append(f"| `{key.name}` | {_type_text(key)} | {_default_text(key, sec)} | {_doc_text(key, sec)} |")
        if not sec.name:
            lines += ["", "Sections: " + ", ".join(
                (f"`[{k.name}]`" if k.type == "table" else f"`[[{k.name}]]`") + f" ({k.doc})"
                for k in sec.keys if k.type in ("table", "tables")) + "."]
        lines += [""]
    lines += [units_reference_markdown(), "", "## Example", "",
              "The bundled example (`cdsolve/data/example_pair.toml`, run by `cdsolve run` without CONFIG):", "",
              "```toml", example_config().read_text().rstrip(), "```", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- files
def load_config(path: str | Path) -> dict:
    """Read a TOML file; syntax errors become :class:`ConfigError` naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    data["_source"] = str(path)
    return data


def load_scene(path: str | Path):
    """The :class:`~cdsolve.scattering.scene.Scene` a TOML config describes (what ``cdsolve run`` solves).

    Parameters
    ----------
    path : str or os.PathLike
        A config file (format: ``docs/config.md``, generated from :data:`SCHEMA`).

    Raises
    ------
    ConfigError
        One line naming the file, the key and what is wrong.

    Examples
    --------
    >>> import cdsolve as cd
    >>> from cdsolve.workflow.config import example_config
    >>> cd.load_scene(example_config()).n_particles
    2
    """
    scene, _ = scene_from_config(path)
    return scene


def example_config() -> Path:
    """Path of the bundled example config (two silica spheres in two tweezers; ``cdsolve run`` without CONFIG)."""
    return Path(str(resources.files("cdsolve") / "data" / "example_pair.toml"))
