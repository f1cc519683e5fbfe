"""Parameter sweeps over a config: labelled arrays, progress bar, local processes or a Dask cluster.

A sweep takes one TOML config (see :mod:`cdsolve.workflow.config`) and one or more *axes*, each a parameter
and its values; the grid is their outer product. At every grid point the config is modified, the
scene built and validated (all points, in the calling process, before anything runs: a bad point
is a one-line :class:`~cdsolve.workflow.config.ConfigError` naming the axis values), then solved. The
results come back as an :class:`xarray.Dataset` with one dimension per axis:

======================  =====================================  ========
variable                dims (after the sweep dims)            unit
======================  =====================================  ========
``forces``              particle, component                    N
``isolated_forces``     particle, component                    N
``interaction_forces``  particle, component                    N
``stiffness``           row, col (the chosen dofs)             N/m
``mode_frequency_re``   mode (when masses are known)           rad/s
``mode_frequency_im``   mode (``Im > 0`` grows)                rad/s
``max_estimated_error`` (none)                                 1
======================  =====================================  ========

``max_estimated_error`` is the dipole model's estimated relative error at each grid point, the largest
force error or neglected-multipole ratio over the particles of
:func:`cdsolve.scattering.validity.dipole_validity` (NaN where no particle has an estimate, e.g.
ellipsoids). The per-point :class:`~cdsolve.scattering.validity.DipoleValidityWarning` of
:func:`cdsolve.solve` is replaced by one summary warning after the sweep when any point exceeds the
1 % range (also in ``attrs["dipole_validity"]``).

Parameters (``--vary NAME=SPEC``):

* ``phase``: phase step between consecutive tweezers, ``phi_{j+1} - phi_j`` [rad] (replaces
  ``tweezers.phases``; for a pair: the relative phase of tweezer 1 to tweezer 0).
* ``distance``: nearest-neighbour distance [m]; the configured geometry is scaled about its centroid
  (tweezer foci follow the sites).
* ``power`` (``tweezers.power``), ``wavelength``, ``radius`` (``particle.radius``), ``index``
  (``medium.index``), and any ``section.key`` or ``section.key[i]`` of the config schema, e.g.
  ``tweezers.phases[1]``, ``geometry.spacing``, ``particle.index``.

``SPEC`` is ``start:stop:num`` (inclusive, like ``numpy.linspace``) or a comma list; every entry may
carry a unit (``0:2pi:64``, ``1um:3um:21``, ``100mW,200mW``). Values are stored in SI.

Execution: scenes are evaluated in chunks. Scenes that share particles, medium and wavelength and
are solved self-consistently go through :func:`cdsolve.dynamics.batch_scenes.batch_forces_and_jacobian` (one
vectorized solve per chunk); anything else (``solve.orders`` set, mixed particles) is solved
scene by scene. Chunks run in-process (``executor="serial"``), on local processes
(``"processes"``, the default for more than ``SERIAL_BELOW`` points) or on a Dask cluster
(``executor="tcp://host:8786"`` or ``"dask-local"``); the numbers do not depend on the executor
(each chunk is evaluated by the same function; ``tests/test_sweep.py`` checks bit equality).

>>> import cdsolve.workflow.sweep as sw
>>> ds = sw.sweep("geometries/science2022_pair.toml", {"phase": "0:pi:3"}, executor="serial",
...               progress=False)                                        # doctest: +SKIP
>>> ds.interaction_forces.sel(particle=0, component="x").values.shape   # doctest: +SKIP
(3,)
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..scattering.validity import DEFAULT_TOLERANCE, DipoleValidityWarning
from ..optics._checks import optional_module
from .config import ConfigError, key_dimension, load_config, parse_quantity, scene_from_config

__all__ = ["Axis", "parse_axis", "sweep", "save_sweep", "load_sweep", "evaluate_scenes", "SERIAL_BELOW"]

#: below this many grid points a sweep runs in-process by default (process start-up costs ~0.5 s)
SERIAL_BELOW = 200

#: alias -> (config key it sets, quantity kind for parse_quantity, unit of the stored values)
_ALIASES = {
    "phase": (None, "angle", "rad"),
    "distance": (None, "length", "m"),
    "power": ("tweezers.power", "power", "W"),
    "wavelength": ("wavelength", "length", "m"),
    "radius": ("particle.radius", "length", "m"),
    "index": ("medium.index", "dimensionless", "1"),
}
_KEY = re.compile(r"^([a-z_]+)\.([a-z_0-9]+)(?:\[(\d+)\])?$|^(wavelength)$")


@dataclass(frozen=True)
class Axis:
    """One sweep dimension.

    name : str                 parameter as given (``"phase"``, ``"tweezers.phases[1]"``)
    values : (n,) float [SI]   values at the grid points
    unit : str                 SI unit of ``values`` (``"1"`` if dimensionless or unknown)
    """

    name: str
    values: np.ndarray
    unit: str

    @property
    def dim(self) -> str:
        """Dimension name in the Dataset (the name with ``[i]`` written ``_i``; NetCDF-safe)."""
        return re.sub(r"\[(\d+)\]", r"_\1", self.name)


def _quantity(token: str, kind: str | None, where: str) -> float:
    """One value of an axis: a number (SI) or a number with a unit (``"0.5um"``, ``"2pi"``, ``"1.5 μm"``),
    parsed by :mod:`cdsolve.workflow.units` with the key's dimension (wrong dimension: a named error)."""
    token = token.strip()
    if not token:
        raise ConfigError(f"{where}: empty value")
    try:
        return parse_quantity(token, kind, where)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _kind_and_unit(name: str) -> tuple[str, str]:
    """Dimension and SI unit of a sweep parameter: the aliases' own, else the config schema's."""
    if name in _ALIASES:
        return _ALIASES[name][1], _ALIASES[name][2]
    dim = key_dimension(name)
    return dim if dim is not None else ("dimensionless", "1")


def parse_axis(spec: str) -> Axis:
    """``"NAME=SPEC"`` -> :class:`Axis` (see the module docstring for names and specs).

    >>> a = parse_axis("phase=0:2pi:5")
    >>> a.name, a.unit, [round(float(v), 4) for v in a.values]
    ('phase', 'rad', [0.0, 1.5708, 3.1416, 4.7124, 6.2832])
    >>> parse_axis("distance=1um,1.5um").values.tolist()
    [1e-06, 1.5e-06]
    """
    if not isinstance(spec, str) or "=" not in spec:
        raise ConfigError(f"--vary: expected NAME=SPEC (e.g. phase=0:2pi:64), got {spec!r}")
    name, rhs = (s.strip() for s in spec.split("=", 1))
    return _axis(name, rhs)


def _axis(name: str, rhs) -> Axis:
    where = f"--vary {name}"
    if name not in _ALIASES and not _KEY.match(name):
        raise ConfigError(f"{where}: unknown parameter (use one of {', '.join(_ALIASES)} or a config key "
                          f"such as tweezers.power or tweezers.phases[1])")
    kind, unit = _kind_and_unit(name)
    if isinstance(rhs, str):
        if rhs.count(":") == 2:
            a, b, n = rhs.split(":")
            try:
                num = int(n)
            except ValueError:
                raise ConfigError(f"{where}: number of points must be an integer, got {n!r}") from None
            if num < 1:
                raise ConfigError(f"{where}: number of points must be >= 1, got {num}")
            values = np.linspace(_quantity(a, kind, where), _quantity(b, kind, where), num)
        elif ":" in rhs:
            raise ConfigError(f"{where}: expected start:stop:num or a comma list, got {rhs!r}")
        else:
            values = np.array([_quantity(t, kind, where) for t in rhs.split(",")])
    else:
        try:
            values = np.atleast_1d(np.asarray(rhs, dtype=float))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected numbers (SI) or a spec string, got {rhs!r}") from None
        if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
            raise ConfigError(f"{where}: expected a non-empty 1-D list of finite numbers, got {rhs!r}")
    return Axis(name, values, unit)


# ----------------------------------------------------------------------------- config edits
def _set(cfg: dict, name: str, value: float) -> None:
    """Set parameter ``name`` to ``value`` (SI) in the config dict ``cfg`` (in place)."""
    if name == "phase":
        tw = cfg.setdefault("tweezers", {})
        tw.pop("phases", None)
        tw["phase_gradient"] = value
        return
    if name == "distance":
        from .config import _positions

        geo = cfg.get("geometry")
        if not isinstance(geo, dict):
            raise ConfigError("--vary distance: the config has no [geometry] table")
        pos = _positions(geo, cfg.get("_source"))
        if len(pos) < 2:
            raise ConfigError("--vary distance: needs at least two sites")
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        dmin = d[~np.eye(len(pos), dtype=bool)].min()
        center = pos.mean(axis=0)
        cfg["geometry"] = {"positions": (center + (pos - center) * (value / dmin)).tolist()}
        return
    if name in _ALIASES:
        name = _ALIASES[name][0]
    m = _KEY.match(name)
    if m.group(4):
        cfg["wavelength"] = value
        return
    section, key, index = m.group(1), m.group(2), m.group(3)
    table = cfg.setdefault(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"--vary {name}: [{section}] is not a table in the config")
    if index is None:
        if section == "tweezers" and key == "power":
            table.pop("powers", None)
        table[key] = value
        return
    seq = table.get(key)
    i = int(index)
    if not isinstance(seq, list) or i >= len(seq):
        raise ConfigError(f"--vary {name}: {section}.{key} is not a list with an entry {i} in the config")
    seq = list(seq)
    seq[i] = value
    table[key] = seq


def _grid(axes: list[Axis]) -> np.ndarray:
    """All grid points, (n_points, n_axes) float, C order over the axes."""
    mesh = np.meshgrid(*[a.values for a in axes], indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1)


def _scenes(cfg: dict, axes: list[Axis], points: np.ndarray):
    """Build (and so validate) the scene of every grid point; errors name the point."""
    scenes, opts = [], None
    for row in points:
        c = copy.deepcopy(cfg)
        try:
            for ax, v in zip(axes, row):
                _set(c, ax.name, float(v))
            scene, o = scene_from_config(c)
        except (ConfigError, ValueError) as e:
            at = ", ".join(f"{ax.name}={v:.6g} {ax.unit}" for ax, v in zip(axes, row))
            raise ConfigError(f"sweep point ({at}): {e}") from None
        scenes.append(scene)
        opts = o
    return scenes, opts


# ----------------------------------------------------------------------------- evaluation
def evaluate_scenes(scenes, opts: Mapping[str, Any], dofs=None, modes: bool = True) -> dict:
    """Forces, interaction forces, stiffness (and mode frequencies) of a list of scenes.

    The unit of work of a sweep (runs in a worker process or on a Dask worker).

    Parameters
    ----------
    scenes : list of B Scene, all with N particles
    opts : dict             solve options from :func:`cdsolve.workflow.config.scene_from_config`
    dofs : None, str or indices   stiffness dofs (:func:`cdsolve.dynamics.jacobian.select_dofs`)
    modes : bool            also mode frequencies (needs particle masses)

    Returns
    -------
    dict of arrays with a leading B axis: ``forces``, ``isolated_forces``, ``interaction_forces``
    (B, N, 3) [N]; ``stiffness`` (B, n, n) [N/m]; ``max_estimated_error`` (B,) float [-] (dipole-model
    error estimate, :func:`cdsolve.scattering.validity.dipole_validity`, NaN if none);
    ``mode_frequency_re``/``_im`` (B, n) [rad/s] when ``modes`` and masses are known; ``batched``
    (B,) bool (which path solved each scene). No per-scene validity warning (the sweep summarizes).
    """
    from ..dynamics.batch_scenes import batch_forces_and_jacobian
    from ..dynamics.jacobian import force_jacobian, select_dofs
    from ..dynamics.modes import mechanical_frequencies
    from ..scattering.observables import isolated_forces
    from ..scattering.dispatch import solve
    from ..scattering.validity import dipole_validity

    B, N = len(scenes), scenes[0].n_particles
    sel = select_dofs(N, dofs)
    F = np.empty((B, N, 3))
    J = np.empty((B, len(sel), len(sel)))
    batched = np.zeros(B, bool)
    self_consistent = opts.get("orders") is None and opts.get("method", "auto") == "auto"
    start = 0
    while start < B:  # runs of scenes that one batched solve can take
        s0 = scenes[start]
        stop = start + 1
        while stop < B and self_consistent and _batchable(s0, scenes[stop]):
            stop += 1
        if self_consistent:
            F[start:stop], J[start:stop] = batch_forces_and_jacobian(scenes[start:stop], dofs=sel)
            batched[start:stop] = True
        else:
            sol = solve(s0, **{**opts, "check_validity": False})  # reported as max_estimated_error
            F[start], J[start] = sol.forces(), force_jacobian(sol, dofs=sel)
        start = stop
    F_iso = np.stack([isolated_forces(s) for s in scenes])
    out = {"forces": F, "isolated_forces": F_iso, "interaction_forces": F - F_iso, "stiffness": -J,
           "max_estimated_error": np.array([dipole_validity(s).max_error for s in scenes]), "batched": batched}
    if modes:
        try:
            masses = np.stack([s.masses()[sel // 3] for s in scenes])
        except ValueError:
            return out
        w = np.stack([mechanical_frequencies(-J[b] / masses[b][:, None]).frequencies for b in range(B)])
        out["mode_frequency_re"], out["mode_frequency_im"] = w.real, w.imag
    return out


def _batchable(a, b) -> bool:
    return (a.n_particles == b.n_particles and a.wavelength == b.wavelength and a.n_medium == b.n_medium
            and a.particles == b.particles)


_optional = optional_module


def _progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    tqdm = _optional("tqdm.auto", "sweep", "the sweep progress bar (progress=True)").tqdm
    return tqdm(total=total, desc=desc, unit="config")


def _run_chunks(chunks, opts, dofs, executor, workers, bar) -> list[dict]:
    results: list[dict | None] = [None] * len(chunks)

    def done(i, r):
        results[i] = r
        if bar is not None:
            bar.update(len(chunks[i]))

    if executor == "serial":
        for i, c in enumerate(chunks):
            done(i, evaluate_scenes(c, opts, dofs))
    elif executor == "processes":
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(evaluate_scenes, c, opts, dofs): i for i, c in enumerate(chunks)}
            for f in as_completed(futs):
                done(futs[f], f.result())
    else:
        dd = _optional("dask.distributed", "dask", f"executor={executor!r}")
        Client, LocalCluster, as_completed = dd.Client, dd.LocalCluster, dd.as_completed
        if executor == "dask-local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            cluster, client = None, Client(executor)
        try:
            futs = [client.submit(evaluate_scenes, c, opts, dofs, pure=False) for c in chunks]
            index = {f.key: i for i, f in enumerate(futs)}
            for f in as_completed(futs):
                done(index[f.key], f.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return results


def sweep(config, vary, *, dofs=None, executor: str | None = None, workers: int | None = None,
          chunk_size: int | None = None, progress: bool = True):
    """Evaluate a config on the grid of ``vary`` and return an :class:`xarray.Dataset`.

    Parameters
    ----------
    config : str, Path or dict      TOML file or a loaded config (:func:`cdsolve.workflow.config.load_config`)
    vary : mapping name -> spec, or sequence of ``"NAME=SPEC"`` strings / :class:`Axis`
        spec: ``"start:stop:num"``, a comma list (units allowed), or a sequence of SI numbers.
    dofs : None, str or indices     dofs of the stiffness (default: all 3N coordinates)
    executor : None, "serial", "processes", "dask-local" or a Dask scheduler address ("tcp://...")
        None: "serial" below ``SERIAL_BELOW`` points, else "processes".
    workers : int                   processes (or local Dask workers); default: all cores
    chunk_size : int                configurations per task (default: ~4 tasks per worker, <= 250)
    progress : bool                 show a tqdm progress bar on stderr

    Returns
    -------
    xarray.Dataset with the variables of the module table; coordinates for every sweep axis (SI, unit
    in ``attrs``), ``particle``, ``component`` (``x``, ``y``, ``z``), ``row``/``col``/``mode``
    (dof labels such as ``z_1``); ``attrs["provenance"]`` is JSON (config, axes, version, executor,
    timings).
    """
    import os

    xr = _optional("xarray", "sweep", "cdsolve sweep (labelled xarray Dataset)")

    from .._version import __version__
    from ..dynamics.jacobian import select_dofs

    t0 = time.perf_counter()
    cfg = load_config(config) if not isinstance(config, dict) else copy.deepcopy(config)
    if isinstance(vary, Mapping):
        axes = [v if isinstance(v, Axis) else _axis(str(k), v) for k, v in vary.items()]
    else:
        axes = [v if isinstance(v, Axis) else parse_axis(v) for v in vary]
    if not axes:
        raise ConfigError("--vary: give at least one parameter to sweep")
    dims = [a.dim for a in axes]
    if len(set(dims)) != len(dims):
        raise ConfigError(f"--vary: parameter given twice ({', '.join(dims)})")
    points = _grid(axes)
    n_points = len(points)
    scenes, opts = _scenes(cfg, axes, points)
    t_build = time.perf_counter() - t0
    N = scenes[0].n_particles
    if any(s.n_particles != N for s in scenes):
        raise ConfigError("sweep: the number of particles changes across the grid (not supported)")
    sel = select_dofs(N, dofs)
    workers = max(1, workers or os.cpu_count() or 1)
    if executor is None:
        executor = "serial" if n_points < SERIAL_BELOW else "processes"
    if not (executor in ("serial", "processes", "dask-local") or "://" in executor):
        raise ValueError(f"executor must be 'serial', 'processes', 'dask-local' or a scheduler address, "
                         f"got {executor!r}")
    if chunk_size is None:
        chunk_size = max(1, min(250, math.ceil(n_points / (4 * workers))))
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    chunks = [scenes[i : i + chunk_size] for i in range(0, n_points, chunk_size)]
    bar = _progress_bar(n_points, progress, f"cdsolve sweep ({executor})")
    t1 = time.perf_counter()
    try:
        results = _run_chunks(chunks, opts, dofs if dofs is None else sel, executor, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    t_eval = time.perf_counter() - t1

    shape = tuple(len(a.values) for a in axes)
    labels = [f"{'xyz'[q % 3]}_{q // 3}" for q in sel]
    coords = {a.dim: (a.dim, a.values, {"units": a.unit, "parameter": a.name}) for a in axes}
    coords.update(particle=np.arange(N), component=["x", "y", "z"], row=labels, col=labels)
    layout = {"forces": (["particle", "component"], "N"), "isolated_forces": (["particle", "component"], "N"),
              "interaction_forces": (["particle", "component"], "N"), "stiffness": (["row", "col"], "N/m"),
              "mode_frequency_re": (["mode"], "rad/s"), "mode_frequency_im": (["mode"], "rad/s (Im > 0 grows)"),
              "max_estimated_error": ([], "1")}
    data = {}
    for name, (extra, unit) in layout.items():
        if name not in results[0]:
            continue
        arr = np.concatenate([r[name] for r in results])
        data[name] = (dims + extra, arr.reshape(shape + arr.shape[1:]), {"units": unit})
    batched = int(sum(r["batched"].sum() for r in results))
    if "mode_frequency_re" in data:
        coords["mode"] = np.arange(data["mode_frequency_re"][1].shape[-1])
    provenance = {
        "cdsolve_version": __version__, "config": cfg.get("_source", "<dict>"),
        "config_table": {k: v for k, v in cfg.items() if k != "_source"},
        "axes": [{"name": a.name, "dim": a.dim, "unit": a.unit, "n": len(a.values)} for a in axes],
        "dofs": labels, "executor": executor, "workers": workers if executor != "serial" else 1,
        "chunk_size": chunk_size, "configurations": n_points, "batched_configurations": batched,
        "timings_s": {"build_scenes": t_build, "evaluate": t_eval, "total": time.perf_counter() - t0},
    }
    err = data["max_estimated_error"][1]
    data["max_estimated_error"][2].update(
        description="dipole-model estimated relative error (largest force error or neglected multipole ratio "
                    "over the particles, cdsolve.scattering.validity.dipole_validity; NaN: no estimate)",
        tolerance=DEFAULT_TOLERANCE)
    validity = _validity_summary(err, axes, points)
    ds = xr.Dataset(data, coords=coords, attrs={"provenance": json.dumps(provenance, default=str),
                                                "title": f"cdsolve sweep over {', '.join(a.name for a in axes)}",
                                                "conventions": "SI units; exp(-i omega t); stiffness K = -dF/dr",
                                                "dipole_validity": validity or "within the dipole model's 1 % range"})
    if validity:
        warnings.warn(validity, DipoleValidityWarning, stacklevel=2)
    return ds


def _validity_summary(err: np.ndarray, axes: list[Axis], points: np.ndarray) -> str:
    """One line naming how many grid points exceed the validity tolerance and the worst one ('' if none)."""
    flat = err.ravel()
    with np.errstate(invalid="ignore"):
        bad = flat > DEFAULT_TOLERANCE
    if not bad.any():
        return ""
    worst = int(np.nanargmax(flat))
    at = ", ".join(f"{a.name}={v:.4g} {a.unit}" for a, v in zip(axes, points[worst]))
    return (f"dipole model outside its accurate range (estimated error > {DEFAULT_TOLERANCE:.0%}) at "
            f"{int(bad.sum())} of {flat.size} sweep points; largest {flat[worst]:.2g} at {at} "
            f"(variable max_estimated_error; cdsolve.dipole_validity(scene) for the details)")


# ----------------------------------------------------------------------------- files
def save_sweep(ds, path: str | Path) -> Path:
    """Write a sweep Dataset to NetCDF (``.nc``) or NPZ (``.npz``); :func:`load_sweep` reads both back."""
    path = Path(path)
    if path.suffix == ".nc":
        ds.to_netcdf(path)
    elif path.suffix == ".npz":
        arrays = {f"var/{k}": v.values for k, v in ds.data_vars.items()}
        arrays.update({f"coord/{k}": np.asarray(v.values) for k, v in ds.coords.items()})
        meta = {"attrs": dict(ds.attrs),
                "vars": {k: {"dims": list(v.dims), "attrs": dict(v.attrs)} for k, v in ds.data_vars.items()},
                "coords": {k: {"dims": list(v.dims), "attrs": dict(v.attrs)} for k, v in ds.coords.items()}}
        np.savez(path, __meta__=np.array(json.dumps(meta, default=str)), **arrays)
    else:
        raise ValueError(f"path: expected a .nc or .npz file name, got {str(path)!r}")
    return path


def load_sweep(path: str | Path):
    """Read a sweep written by :func:`save_sweep` (``.nc`` or ``.npz``) as an :class:`xarray.Dataset`."""
    xr = _optional("xarray", "sweep", "load_sweep")

    path = Path(path)
    if path.suffix == ".nc":
        with xr.open_dataset(path) as ds:
            return ds.load()
    if path.suffix != ".npz":
        raise ValueError(f"path: expected a .nc or .npz file name, got {str(path)!r}")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["__meta__"]))
        coords = {k: (m["dims"], z[f"coord/{k}"], m["attrs"]) for k, m in meta["coords"].items()}
        data = {k: (m["dims"], z[f"var/{k}"], m["attrs"]) for k, m in meta["vars"].items()}
    return xr.Dataset(data, coords=coords, attrs=meta["attrs"])
