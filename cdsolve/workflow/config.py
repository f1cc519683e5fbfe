"""TOML configuration files -> :class:`~cdsolve.scattering.scene.Scene`.

Units are converted once, here, at the edge: a number is SI; a string carries its unit
(``"1064 nm"``, ``"300 mW"``, ``"1.3 mW/um^2"``, ``"0.25 pi"``, ``"45 deg"``).
Every problem is reported as :class:`ConfigError` naming the file, the key and the issue.

Schema (all keys optional unless marked; defaults in ``DEFAULTS``)::

    wavelength = "1064 nm"                  # required: vacuum wavelength
    [medium]
    index = 1.0
    [particle]                               # the particle at every site (or [[particles]] one per site)
    kind = "sphere"                          # sphere | kerker | dipole
    radius = "50 nm"; index = 1.45           # or material = "fused_silica" | "silicon" | "silica_drude_lorentz"
    model = "mie"; density = "2200 kg/m^3"
    [geometry]                               # positions: explicit list, or a builder (cdsolve.workflow.geometry)
    positions = [["-0.5 um", 0, 0], ["0.5 um", 0, 0]]
    # builder = "chain"; n = 10; spacing = "1 um"; axis = "x"        (origin = [x, y, z]: shift, any builder)
    # builder = "ring"; n; radius; start_angle | "zigzag"; n; spacing; offset; axis; offset_axis
    # builder = "dimerized"; n_cells; intra; inter; axis | "square" | "triangular" | "honeycomb"; nx; ny; pitch
    # builder = "random"; n; box = [lx, ly, lz]; min_distance; seed; max_attempts | "csv"; path (x_m,y_m,z_m)
    [tweezers]                               # one Gaussian tweezer per site (focus at the site)
    power = "100 mW"; waist = "0.8 um"       # or na = 0.8
    polarization = [0, 1, 0]; direction = [0, 0, 1]
    phases = [0, "0.5 pi"]                   # per-site phases (or phase = scalar, or phase_gradient)
    model = "gaussian"                       # paraxial GaussianTweezer, or "focused": Richards-Wolf FocusedBeam
    filling_factor = 1.0; transmission = 1.0 # focused only (na required); polarization may be "radial"/"azimuthal"
    coherent = true                          # false: each tweezer its own coherence group (AOD tones)
    [[plane_waves]]                          # any number of extra plane waves
    intensity = "1 mW/um^2"; direction = [0, 0, 1]; polarization = [1, 0, 0]; phase = 0
    [solve]
    method = "auto"; orders = -1             # -1: self-consistent
    [casimir]                                # optional: add Casimir-Polder forces (cdsolve.optics.casimir.CasimirPolder)
    temperature = "300 K"; method = "pairwise"   # or "many-body"; materials must continue to imaginary freq.
"""

from __future__ import annotations

import math
import re
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

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ConfigError", "parse_quantity", "load_config", "scene_from_config", "DEFAULTS"]


class ConfigError(ValueError):
    """A configuration problem, with the file and key it concerns."""


_PREFIX = {"": 1.0, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "p": 1e-12, "c": 1e-2}
_BASE = {"m": "length", "W": "power", "kg": "mass", "g": "mass", "rad": "angle", "deg": "angle", "pi": "angle",
         "K": "temperature", "Pa": "pressure", "mbar": "pressure", "Hz": "frequency", "s": "time", "V/m": "field"}

DEFAULTS: dict[str, Any] = {
    "medium.index": 1.0,
    "particle.kind": "sphere",
    "particle.model": "mie",
    "tweezers.direction": [0, 0, 1],
    "tweezers.polarization": [1, 0, 0],
    "tweezers.phase": 0.0,
    "tweezers.model": "gaussian",
    "tweezers.filling_factor": 1.0,
    "tweezers.transmission": 1.0,
    "tweezers.coherent": True,
    "plane_waves.direction": [0, 0, 1],
    "plane_waves.polarization": [1, 0, 0],
    "solve.method": "auto",
    "solve.orders": -1,
}

_ALLOWED = {
    "": {"wavelength", "medium", "particle", "particles", "geometry", "tweezers", "plane_waves", "solve", "name",
         "description", "casimir"},
    "casimir": {"temperature", "method", "rtol"},
    "medium": {"index"},
    "particle": {"kind", "radius", "index", "material", "model", "density", "mass", "condition", "alpha_e",
                 "alpha_m", "allow_gain"},
    "geometry": {"positions", "builder", "origin", "n", "spacing", "axis", "radius", "start_angle", "offset",
                 "offset_axis", "n_cells", "intra", "inter", "nx", "ny", "pitch", "box", "min_distance", "seed",
                 "max_attempts", "path"},
    "tweezers": {"power", "waist", "na", "polarization", "direction", "phase", "phases", "phase_gradient", "powers",
                 "model", "filling_factor", "transmission", "coherent"},
    "plane_waves": {"intensity", "amplitude", "direction", "polarization", "phase"},
    "solve": {"method", "orders"},
}


def _unit_factor(unit: str) -> tuple[float, str]:
    unit = unit.strip().replace("µ", "u")
    if unit == "":
        return 1.0, "dimensionless"
    if unit == "pi":
        return math.pi, "angle"
    if unit == "deg":
        return math.pi / 180, "angle"
    if unit == "rad":
        return 1.0, "angle"
    if unit == "mbar":
        return 100.0, "pressure"
    # composite: a/b^n, e.g. mW/um^2, kg/m^3
    m = re.fullmatch(r"([A-Za-z]+)(?:/([A-Za-z]+)\^?(\d)?)?", unit)
    if not m:
        raise ValueError(f"unknown unit {unit!r}")
    num, den, power = m.group(1), m.group(2), m.group(3)

    def simple(u: str) -> tuple[float, str]:
        for base in sorted(_BASE, key=len, reverse=True):
            if u.endswith(base) and u[: len(u) - len(base)] in _PREFIX and "/" not in base:
                pre = u[: len(u) - len(base)]
                f = _PREFIX[pre] * (1e-3 if base == "g" else 1.0)
                return f, ("mass" if base == "g" else _BASE[base])
        raise ValueError(f"unknown unit {u!r}")

    f, dim = simple(num)
    if den:
        fd, dd = simple(den)
        n = int(power or 1)
        f /= fd**n
        dim = f"{dim}/{dd}^{n}"
    return f, dim


_EXPECTED = {
    "length": "length",
    "power": "power",
    "intensity": "power/length^2",
    "density": "mass/length^3",
    "angle": "angle",
    "mass": "mass",
    "temperature": "temperature",
}


def parse_quantity(value: Any, kind: str | None = None, where: str = "value") -> float:
    """Convert a number or a ``"<number> <unit>"`` string to SI.

    Parameters
    ----------
    value : float or str
    kind : {"length", "power", "intensity", "density", "angle", "mass"}, optional
        Dimension the unit must have (bare numbers are taken as SI).
    where : str
        Name of the key, used in error messages.

    Examples
    --------
    >>> parse_quantity("1064 nm", "length")
    1.064e-06
    >>> round(parse_quantity("1.3 mW/um^2", "intensity"))
    1300000000
    >>> round(parse_quantity("0.5 pi", "angle"), 6)
    1.570796
    """
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number or a quantity string, got {value!r}")
    if isinstance(value, (int, float)):
        v = float(value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)?\s*\*?\s*(.*?)\s*", value)
        if not m or (m.group(1) is None and m.group(2) != "pi"):
            raise ValueError(f"{where}: cannot parse quantity {value!r}")
        number = float(m.group(1)) if m.group(1) is not None else 1.0
        try:
            f, dim = _unit_factor(m.group(2))
        except ValueError as e:
            raise ValueError(f"{where}: {e} in {value!r}") from None
        if kind is not None and dim != "dimensionless" and dim != _EXPECTED[kind]:
            raise ValueError(f"{where}: {value!r} is a {dim}, expected a {_EXPECTED[kind]}")
        v = number * f
    else:
        raise ValueError(f"{where}: expected a number or a quantity string, got {value!r}")
    if not math.isfinite(v):
        raise ValueError(f"{where}: value must be finite, got {value!r}")
    return v


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


def _check_keys(cfg: dict, section: str, src: str) -> None:
    allowed = _ALLOWED[section]
    for key in cfg:
        if key.startswith("_"):
            continue
        if key not in allowed:
            where = f"{section}.{key}" if section else key
            raise ValueError(f"unknown key '{where}' (allowed: {', '.join(sorted(allowed))})")


def _vec(value, where: str, kind: str | None = "length", dtype=float) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"{where}: expected a list of 3 entries, got {value!r}")
    if dtype is complex:
        return np.array([_complex(v, f"{where}[{i}]") for i, v in enumerate(value)])
    return np.array([parse_quantity(v, kind, f"{where}[{i}]") for i, v in enumerate(value)])


def _complex(v, where: str) -> complex:
    if isinstance(v, str):
        try:
            return complex(v.replace(" ", "").replace("i", "j"))
        except ValueError:
            raise ValueError(f"{where}: cannot parse complex number {v!r}") from None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return complex(v)
    raise ValueError(f"{where}: expected a number, got {v!r}")


def _particle(cfg: dict, where: str):

    _check_keys(cfg, "particle", where)
    kind = cfg.get("kind", DEFAULTS["particle.kind"])
    density = parse_quantity(cfg["density"], "density", f"{where}.density") if "density" in cfg else None
    mass = parse_quantity(cfg["mass"], "mass", f"{where}.mass") if "mass" in cfg else None
    gain = bool(cfg.get("allow_gain", False))

    def sphere():
        if "radius" not in cfg:
            raise ValueError(f"{where}.radius: missing (required for kind = '{kind}')")
        radius = parse_quantity(cfg["radius"], "length", f"{where}.radius")
        mat = None
        if "material" in cfg:
            name = cfg["material"]
            table = {"fused_silica": materials.fused_silica, "silicon": materials.silicon,
                     "silica_drude_lorentz": materials.silica_drude_lorentz}
            if name not in table:
                raise ValueError(f"{where}.material: unknown material {name!r} (known: {', '.join(table)})")
            mat = table[name]()
        index = _complex(cfg["index"], f"{where}.index") if "index" in cfg else None
        return Sphere(radius=radius, index=index, material=mat, model=cfg.get("model", DEFAULTS["particle.model"]),
                      density=density, mass=mass, allow_gain=gain)

    try:
        if kind == "sphere":
            return sphere()
        if kind == "kerker":
            return KerkerParticle(alpha_e=sphere(), condition=cfg.get("condition", 1), density=None, mass=mass,
                                  allow_gain=gain)
        if kind == "dipole":
            ae = _complex(cfg.get("alpha_e", 0.0), f"{where}.alpha_e")
            am = _complex(cfg.get("alpha_m", 0.0), f"{where}.alpha_m")
            return DipoleParticle(alpha_e=ae, alpha_m=am, mass=mass, allow_gain=gain)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    raise ValueError(f"{where}.kind: unknown particle kind {kind!r} (sphere, kerker, dipole)")


#: ``[geometry] builder`` -> (its required keys, its optional keys); every builder also takes ``origin``
_GEOMETRY_BUILDERS = {
    "chain": (("n", "spacing"), ("axis",)),
    "ring": (("n", "radius"), ("start_angle",)),
    "zigzag": (("n", "spacing", "offset"), ("axis", "offset_axis")),
    "dimerized": (("n_cells", "intra", "inter"), ("axis",)),
    "square": (("nx", "ny", "pitch"), ()),
    "triangular": (("nx", "ny", "pitch"), ()),
    "honeycomb": (("nx", "ny", "pitch"), ()),
    "random": (("n", "box", "min_distance", "seed"), ("max_attempts",)),
    "csv": (("path",), ()),
}


def _geometry_value(key: str, value, source: str | None):
    """One ``[geometry]`` builder key as the Python argument of :mod:`cdsolve.workflow.geometry` (SI)."""
    where = f"geometry.{key}"
    if key in ("n", "n_cells", "nx", "ny", "seed", "max_attempts"):
        low = 0 if key == "seed" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{where}: expected an integer >= {low}, got {value!r}")
        return value
    if key in ("axis", "offset_axis"):
        if isinstance(value, str):
            if value not in ("x", "y", "z"):
                raise ValueError(f"{where}: expected 'x', 'y', 'z' or a 3-vector, got {value!r}")
            return value
        return tuple(_vec(value, where, kind=None).tolist())
    if key == "box":
        return tuple(_vec(value, where).tolist())
    if key == "start_angle":
        return parse_quantity(value, "angle", where)
    if key == "path":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{where}: expected a file name, got {value!r}")
        path = Path(value)
        return path if path.is_absolute() or source is None else Path(source).parent / path
    length = parse_quantity(value, "length", where)  # spacing, radius, offset, intra, inter, pitch, min_distance
    if length <= 0:
        raise ValueError(f"{where}: must be > 0, got {value!r}")
    return length


def _positions(cfg: dict, source: str | None = None) -> np.ndarray:
    """Site positions (N, 3) [m] of a ``[geometry]`` table: explicit ``positions`` or a builder of
    :mod:`cdsolve.workflow.geometry` (``builder`` names in ``_GEOMETRY_BUILDERS``), shifted by ``origin``.

    A relative ``path`` (``builder = "csv"``) is taken relative to the directory of ``source`` (the
    config file) when given, else to the working directory. The CSV may only hold x, y, z: per-site
    tweezer parameters come from ``[tweezers]``.
    """

    _check_keys(cfg, "geometry", "")
    origin = _vec(cfg["origin"], "geometry.origin") if "origin" in cfg else np.zeros(3)
    if "positions" in cfg:
        extra = sorted(set(cfg) - {"positions", "origin"})
        if extra:
            raise ValueError(f"geometry.{extra[0]}: not allowed together with 'positions' (give a builder instead)")
        pos = cfg["positions"]
        if not isinstance(pos, list) or not pos:
            raise ValueError("geometry.positions: expected a non-empty list of [x, y, z]")
        return np.array([_vec(p, f"geometry.positions[{i}]") for i, p in enumerate(pos)]) + origin
    builder = cfg.get("builder")
    if builder not in _GEOMETRY_BUILDERS:
        raise ValueError(f"geometry: give 'positions' or builder = one of {', '.join(_GEOMETRY_BUILDERS)} "
                         f"(got builder={builder!r})")
    required, optional = _GEOMETRY_BUILDERS[builder]
    for key in cfg:
        if key not in required + optional + ("builder", "origin") and not key.startswith("_"):
            raise ValueError(f"geometry.{key}: not a key of builder = '{builder}' (its keys: "
                             f"{', '.join(required + optional + ('origin',))})")
    for key in required:
        if key not in cfg:
            raise ValueError(f"geometry.{key}: missing (required for builder = '{builder}')")
    kw = {key: _geometry_value(key, cfg[key], source) for key in required + optional if key in cfg}
    try:
        if builder == "csv":
            cols = geometry._read_csv(kw["path"])
            beam = sorted(set(cols) - {"x", "y", "z"})
            if beam:
                raise ValueError(f"geometry.path: {kw['path']} has per-site tweezer column(s) {', '.join(beam)}, "
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


def _tweezers(cfg: dict, positions: np.ndarray, wavelength: float):

    _check_keys(cfg, "tweezers", "")
    n = len(positions)
    if "power" in cfg and "powers" in cfg:
        raise ValueError("tweezers: give either 'power' or 'powers'")
    if "powers" in cfg:
        if not isinstance(cfg["powers"], list) or len(cfg["powers"]) != n:
            raise ValueError(f"tweezers.powers: expected a list of {n} powers (one per site)")
        powers = [parse_quantity(p, "power", f"tweezers.powers[{i}]") for i, p in enumerate(cfg["powers"])]
    elif "power" in cfg:
        powers = [parse_quantity(cfg["power"], "power", "tweezers.power")] * n
    else:
        raise ValueError("tweezers.power: missing")
    if "phases" in cfg:
        if not isinstance(cfg["phases"], list) or len(cfg["phases"]) != n:
            raise ValueError(f"tweezers.phases: expected a list of {n} phases (one per site)")
        phases = [parse_quantity(p, "angle", f"tweezers.phases[{i}]") for i, p in enumerate(cfg["phases"])]
    else:
        ph0 = parse_quantity(cfg.get("phase", 0.0), "angle", "tweezers.phase")
        grad = parse_quantity(cfg.get("phase_gradient", 0.0), "angle", "tweezers.phase_gradient")
        phases = [ph0 + grad * i for i in range(n)]
    model = cfg.get("model", DEFAULTS["tweezers.model"])
    if model not in ("gaussian", "focused"):
        raise ValueError(f"tweezers.model: expected 'gaussian' or 'focused', got {model!r}")
    for key in ("filling_factor", "transmission"):
        if key in cfg and model != "focused":
            raise ValueError(f"tweezers.{key}: only for model = 'focused'")
    coherent = cfg.get("coherent", DEFAULTS["tweezers.coherent"])
    if not isinstance(coherent, bool):
        raise ValueError(f"tweezers.coherent: expected true or false, got {coherent!r}")
    waist = parse_quantity(cfg["waist"], "length", "tweezers.waist") if "waist" in cfg else None
    na = parse_quantity(cfg["na"], None, "tweezers.na") if "na" in cfg else None
    raw_pol = cfg.get("polarization", DEFAULTS["tweezers.polarization"])
    if model == "focused" and raw_pol in ("radial", "azimuthal"):
        pol = raw_pol
    else:
        pol = tuple(_vec(raw_pol, "tweezers.polarization", dtype=complex))
    direction = _vec(cfg.get("direction", DEFAULTS["tweezers.direction"]), "tweezers.direction", kind=None)
    out = []
    for i in range(n):
        try:
            if model == "gaussian":
                out.append(GaussianTweezer(wavelength=wavelength, focus=tuple(positions[i]), waist=waist, na=na,
                                           power=powers[i], polarization=pol, phase=phases[i],
                                           direction=tuple(direction)))
            else:

                if na is None or waist is not None:
                    raise ValueError("model = 'focused' takes 'na' (not 'waist')")
                ff = cfg.get("filling_factor", DEFAULTS["tweezers.filling_factor"])
                out.append(FocusedBeam(
                    wavelength=wavelength, na=na, power=powers[i],
                    filling_factor=None if ff == "uniform" else parse_quantity(ff, None, "tweezers.filling_factor"),
                    polarization=pol, focus=tuple(positions[i]), direction=tuple(direction), phase=phases[i],
                    transmission=parse_quantity(cfg.get("transmission", DEFAULTS["tweezers.transmission"]), None,
                                                "tweezers.transmission")))
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if msg.startswith("tweezers") else f"tweezers: {msg}") from None
    if not coherent:

        return [IncoherentBeams(groups=tuple(out))]
    return out


def _plane_waves(items, wavelength: float):

    if not isinstance(items, list):
        raise ValueError("plane_waves: expected an array of tables ([[plane_waves]])")
    out = []
    for i, cfg in enumerate(items):
        where = f"plane_waves[{i}]"
        if not isinstance(cfg, dict):
            raise ValueError(f"{where}: expected a table")
        for key in cfg:
            if key not in _ALLOWED["plane_waves"]:
                raise ValueError(f"unknown key '{where}.{key}' (allowed: {', '.join(sorted(_ALLOWED['plane_waves']))})")
        intensity = parse_quantity(cfg["intensity"], "intensity", f"{where}.intensity") if "intensity" in cfg else None
        amplitude = _complex(cfg["amplitude"], f"{where}.amplitude") if "amplitude" in cfg else None
        try:
            out.append(PlaneWave(
                wavelength=wavelength,
                direction=tuple(_vec(cfg.get("direction", DEFAULTS["plane_waves.direction"]), f"{where}.direction", None)),
                polarization=tuple(_vec(cfg.get("polarization", DEFAULTS["plane_waves.polarization"]),
                                        f"{where}.polarization", dtype=complex)),
                intensity=intensity, amplitude=amplitude,
                phase=parse_quantity(cfg.get("phase", 0.0), "angle", f"{where}.phase")))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    return out


def scene_from_config(cfg: dict | str | Path):
    """Build ``(scene, solve_options)`` from a config dict or TOML path; errors name file and key."""
    if not isinstance(cfg, dict):
        cfg = load_config(cfg)
    src = cfg.get("_source", "<config>")
    try:
        _check_keys(cfg, "", src)
        for sec in ("medium", "particle", "geometry", "tweezers", "solve", "casimir"):
            if sec in cfg and not isinstance(cfg[sec], dict):
                raise ValueError(f"{sec}: expected a table [{sec}]")
        if "wavelength" not in cfg:
            raise ValueError("wavelength: missing (vacuum wavelength, e.g. \"1064 nm\")")
        wavelength = parse_quantity(cfg["wavelength"], "length", "wavelength")
        if wavelength <= 0:
            raise ValueError(f"wavelength: must be > 0, got {cfg['wavelength']!r}")
        med = cfg.get("medium", {})
        _check_keys(med, "medium", src)
        try:
            medium = Medium(index=parse_quantity(med.get("index", DEFAULTS["medium.index"]), None, "medium.index"))
        except ValueError as e:
            raise ValueError(f"medium.index: {e}") from None
        if "geometry" not in cfg:
            raise ValueError("geometry: missing section [geometry]")
        positions = _positions(cfg["geometry"], cfg.get("_source"))
        if "particle" in cfg and "particles" in cfg:
            raise ValueError("particle/particles: give either [particle] or [[particles]], not both")
        if "particle" in cfg:
            particles = _particle(cfg["particle"], "particle")
        elif "particles" in cfg:
            plist = cfg["particles"]
            if not isinstance(plist, list) or len(plist) != len(positions):
                raise ValueError(f"particles: expected {len(positions)} [[particles]] tables (one per site)")
            particles = [_particle(p, f"particles[{i}]") for i, p in enumerate(plist)]
        else:
            raise ValueError("particle: missing section [particle]")
        beams = []
        if "tweezers" in cfg:
            beams += _tweezers(cfg["tweezers"], positions, wavelength)
        if "plane_waves" in cfg:
            beams += _plane_waves(cfg["plane_waves"], wavelength)
        if not beams:
            raise ValueError("tweezers/plane_waves: no illumination given")
        solve_cfg = cfg.get("solve", {})
        _check_keys(solve_cfg, "solve", src)
        method = solve_cfg.get("method", DEFAULTS["solve.method"])
        if method not in ("auto", "direct", "iterative"):
            raise ValueError(f"solve.method: expected 'auto', 'direct' or 'iterative', got {method!r}")
        orders = solve_cfg.get("orders", DEFAULTS["solve.orders"])
        if not isinstance(orders, int) or isinstance(orders, bool) or orders < -1:
            raise ValueError(f"solve.orders: expected an integer >= -1 (-1 = self-consistent), got {orders!r}")
        if any(isinstance(b, IncoherentBeams) for b in beams):
            if len(beams) > 1:
                raise ValueError("tweezers.coherent: false cannot be combined with [[plane_waves]] "
                                 "(give each laser as its own config, or keep the tweezers coherent)")
            beams = beams[0]
        casimir = None
        if "casimir" in cfg:
            cp = cfg["casimir"]
            _check_keys(cp, "casimir", src)
            if "temperature" not in cp:
                raise ValueError("casimir.temperature: missing (e.g. \"300 K\")")
            try:
                casimir = CasimirPolder(temperature=parse_quantity(cp["temperature"], "temperature", "casimir.temperature"),
                                        method=cp.get("method", "pairwise"), rtol=cp.get("rtol", 1e-6))
            except ValueError as e:
                raise ValueError(str(e).replace("CasimirPolder.", "casimir.")) from None
        scene = Scene(positions=positions, particles=particles, illumination=beams, medium=medium, casimir=casimir)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"{src}: {e}") from None
    return scene, {"method": method, "orders": None if orders == -1 else orders}


def load_scene(path: str | Path):
    """The :class:`~cdsolve.scattering.scene.Scene` a TOML config describes (what ``cdsolve run`` solves).

    Parameters
    ----------
    path : str or os.PathLike
        A config file (schema: the module docstring and ``docs/config.md``).

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
