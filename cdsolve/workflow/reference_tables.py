"""Force tables from other codes (FEM, multi-sphere Mie, ...) compared row by row with cdsolve.

``cdsolve compare TABLE --config CONFIG -o OUT`` reads a table (:func:`read_table`), rebuilds the scene
of CONFIG (beams, particles, medium; ``docs/config.md``) with the particles moved to each row's
positions, solves it, and reports every row's force error beside the dipole-validity estimate
``cd.dipole_validity(scene).max_error`` (:func:`compare_table`, :class:`Comparison`).

Table schema ``cdsolve-reference-table/1``
------------------------------------------

A CSV file (``,``-separated; lines starting with ``#`` before the header are comments and hold the
provenance) or a JSON file ``{"schema": "cdsolve-reference-table/1", "comments": [str, ...],
"columns": [str, ...], "rows": [[number or str, ...], ...]}`` with the same column headers. Every
column header is ``NAME [UNIT]``; the unit is any unit of :mod:`cdsolve.workflow.units` with the
dimension the column needs (``nm``, ``um``, ``m``; ``N``, ``pN``, ``zN``; ``mW``, ...).

==========================  ========================  =====================================================
column                      unit dimension            meaning
==========================  ========================  =====================================================
``x{i}``, ``y{i}``, ``z{i}``  length, required          centre of particle ``i`` (``i = 0 .. N-1``, every one)
``Fx{i}``, ``Fy{i}``, ``Fz{i}``  force, required       total time-averaged force on particle ``i``
``Fx{i}_iso`` ...           force, optional           force on particle ``i`` alone (same beams, same place):
                                                      with all 3N of them, interaction errors are reported too
``label``                   none, optional            a text name of the row
``param:NAME``              any, optional             a parameter that varies over the rows, reported and used
                                                      as the plot's abscissa (the first one); not applied
``set:KEY``                 the config key's, optional  overrides config key ``KEY`` for this row (dotted path,
                                                      list items by number: ``set:wavelength [nm]``,
                                                      ``set:tweezers.power [mW]``, ``set:plane_waves.0.phase
                                                      [rad]``); the scene is rebuilt and checked per row
==========================  ========================  =====================================================

A dimensionless ``param:``/``set:`` column may be written without brackets or with ``[1]``. Any other
column, a column without a unit, a unit of the wrong dimension, a missing position or force column,
a duplicate column, an empty or non-finite value is an error naming the file, the column (and the row).

Errors reported per row (:class:`Comparison`): ``max_abs_err`` ``max |F - F_ref|`` [N] over particles
and components; ``total_err`` that divided by the row's largest reference force component (the force
scale of the configuration: a particle whose force nearly cancels is not measured against its own near-zero
value); with isolated forces, ``interaction_err`` (per particle ``max |f - f_ref|`` with ``f = F - F_iso``,
divided by that particle's largest reference interaction component over the whole table, maximized over
particles) and ``interaction_axis_err`` (R, 3) (per axis ``a``, ``max_i |f_ia - f_ref_ia|`` divided by the
largest ``|f_ref_ia|`` over the table). These are the definitions of
:func:`cdsolve.workflow.gmmt_reference.compare_with_reference` (the GMMT validation), so a table made from
that data reproduces its numbers.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..scattering.dispatch import solve
from ..scattering.validity import dipole_validity
from .config import key_dimension, load_config, scene_from_config
from .units import UnitError, column_header, to_si, unit_scale

__all__ = ["SCHEMA", "Table", "Comparison", "read_table", "compare_table", "write_table"]

SCHEMA = "cdsolve-reference-table/1"

_POS = re.compile(r"^(?P<axis>[xyz])(?P<i>\d+)$")
_FORCE = re.compile(r"^F(?P<axis>[xyz])(?P<i>\d+)(?P<iso>_iso)?$")
_ALLOWED = ("x{i}, y{i}, z{i} [length]; Fx{i}, Fy{i}, Fz{i} [force]; Fx{i}_iso ... [force]; label; "
            "param:NAME [unit]; set:KEY [unit]")


class TableError(ValueError):
    """A reference table that does not follow the schema (one line naming the file and column)."""


@dataclass(frozen=True, eq=False)
class Table:
    """A reference force table in SI (read by :func:`read_table`).

    Attributes
    ----------
    positions : (R, N, 3) float [m]          particle centres of every row
    forces : (R, N, 3) float [N]             reference total forces
    forces_isolated : (R, N, 3) float [N] or None    reference forces on each particle alone
    parameters : dict name -> (R,) float     ``param:`` columns in SI
    settings : dict key -> (R,) float        ``set:`` columns in SI (config overrides)
    units : dict name -> str                 unit as written in the header, per ``param:``/``set:`` column
    labels : list of str or None             ``label`` column
    comments : list of str                   comment lines (provenance)
    source : str                             file name
    """

    positions: np.ndarray
    forces: np.ndarray
    forces_isolated: Any = None
    parameters: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    labels: Any = None
    comments: list = field(default_factory=list)
    source: str = "<table>"

    @property
    def n_rows(self) -> int:
        return self.positions.shape[0]

    @property
    def n_particles(self) -> int:
        return self.positions.shape[1]


# ----------------------------------------------------------------------------- reading
def _unit_factor(unit: str | None, dimension: str | None, where: str) -> float:
    if unit is None or unit.strip() in ("", "1", "-"):
        if dimension not in (None, "dimensionless"):
            raise TableError(f"{where}: needs a unit in brackets, e.g. [{'nm' if dimension == 'length' else 'N'}]")
        return 1.0
    try:
        return unit_scale(unit, dimension, where)
    except UnitError as e:
        raise TableError(str(e)) from None


def _read_csv(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    comments, lines = [], []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line in fh:
            if not lines and line.lstrip().startswith("#"):
                comments.append(line.strip().lstrip("#").strip())
            elif line.strip():
                lines.append(line)
    if not lines:
        raise TableError(f"{path}: no header line (expected columns {_ALLOWED})")
    rows = list(csv.reader(lines, skipinitialspace=True))
    return comments, [h.strip() for h in rows[0]], rows[1:]


def _read_json(path: Path) -> tuple[list[str], list[str], list[list]]:
    with open(path, encoding="utf-8") as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as e:
            raise TableError(f"{path}: invalid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise TableError(f"{path}: schema: expected {SCHEMA!r}, got {got!r}")
    for key in ("columns", "rows"):
        if not isinstance(doc.get(key), list):
            raise TableError(f"{path}: {key}: expected a list, got {type(doc.get(key)).__name__}")
    comments = doc.get("comments", [])
    comments = [comments] if isinstance(comments, str) else [str(c) for c in comments]
    return comments, [str(c).strip() for c in doc["columns"]], doc["rows"]


def read_table(path: str | Path) -> Table:
    """Read a reference table (``.csv`` or ``.json``, schema in the module docstring) into SI arrays.

    Raises
    ------
    TableError (a ValueError)
        Naming the file, the column (and row) and what is allowed: an unknown column, a missing position
        or force column, a unit of the wrong dimension, an unreadable or non-finite value.
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        comments, header, raw = _read_csv(path)
    elif suffix == ".json":
        comments, header, raw = _read_json(path)
    else:
        raise TableError(f"{path}: expected a .csv or .json reference table, got suffix {path.suffix!r}")
    pos_cols: dict[tuple[int, int], tuple[int, float]] = {}
    force_cols: dict[tuple[int, int, bool], tuple[int, float]] = {}
    params: dict[str, tuple[int, float, str]] = {}
    settings: dict[str, tuple[int, float, str]] = {}
    label_col = None
    seen = set()
    for c, text in enumerate(header):
        parsed = column_header(text)
        if parsed is None:
            raise TableError(f"{path}: column {c + 1} header {text!r}: expected 'NAME [UNIT]' ({_ALLOWED})")
        name, unit = parsed
        if name in seen:
            raise TableError(f"{path}: column {name!r} appears twice")
        seen.add(name)
        where = f"{path}: column {text!r}"
        if (p := _POS.match(name)):
            pos_cols[(int(p["i"]), "xyz".index(p["axis"]))] = (c, _unit_factor(unit, "length", where))
        elif (f := _FORCE.match(name)):
            key = (int(f["i"]), "xyz".index(f["axis"]), bool(f["iso"]))
            force_cols[key] = (c, _unit_factor(unit, "force", where))
        elif name == "label":
            label_col = c
        elif name.startswith("param:") and name[6:].strip():
            params[name[6:].strip()] = (c, _unit_factor(unit, None, where), (unit or "").strip())
        elif name.startswith("set:") and name[4:].strip():
            settings[name[4:].strip()] = (c, _unit_factor(unit, None, where), (unit or "").strip())
        else:
            raise TableError(f"{path}: unknown column {text!r} (allowed: {_ALLOWED})")
    if not pos_cols:
        raise TableError(f"{path}: missing position columns (x0 [nm], y0 [nm], z0 [nm], ... for every particle)")
    N = max(i for i, _ in pos_cols) + 1
    for i in range(N):
        for a, ax in enumerate("xyz"):
            if (i, a) not in pos_cols:
                raise TableError(f"{path}: missing column '{ax}{i} [length unit]' (particles 0..{N - 1} need x, y, z)")
            if (i, a, False) not in force_cols:
                raise TableError(f"{path}: missing column 'F{ax}{i} [force unit]' (every particle needs Fx, Fy, Fz)")
    extra = sorted({i for i, _, _ in force_cols if i >= N})
    if extra:
        raise TableError(f"{path}: force columns of particle {extra[0]} but no position columns x{extra[0]}, "
                         f"y{extra[0]}, z{extra[0]}")
    iso = [k for k in force_cols if k[2]]
    if iso and len(iso) != 3 * N:
        have = {(i, a) for i, a, _ in iso}
        i, a = next((i, a) for i in range(N) for a in range(3) if (i, a) not in have)
        raise TableError(f"{path}: missing column 'F{'xyz'[a]}{i}_iso [force unit]' (isolated forces are all "
                         f"3N = {3 * N} columns or none)")
    if not raw:
        raise TableError(f"{path}: the table has a header but no rows")
    R = len(raw)

    def value(r: int, c: int) -> float:
        row = raw[r]
        if not isinstance(row, (list, tuple)) or len(row) != len(header):
            n = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
            raise TableError(f"{path}: row {r + 1}: expected {len(header)} values (one per column), got {n}")
        v = row[c]
        try:
            x = float(v) if not isinstance(v, bool) else None
        except (TypeError, ValueError):
            x = None
        if x is None or not np.isfinite(x):
            raise TableError(f"{path}: row {r + 1}, column {header[c]!r}: expected a finite number, got {v!r}")
        return x

    positions = np.empty((R, N, 3))
    forces = np.empty((R, N, 3))
    isolated = np.empty((R, N, 3)) if iso else None
    for (i, a), (c, s) in pos_cols.items():
        positions[:, i, a] = [value(r, c) * s for r in range(R)]
    for (i, a, is_iso), (c, s) in force_cols.items():
        (isolated if is_iso else forces)[:, i, a] = [value(r, c) * s for r in range(R)]
    par = {k: np.array([value(r, c) * s for r in range(R)]) for k, (c, s, _) in params.items()}
    sets = {k: np.array([value(r, c) * s for r in range(R)]) for k, (c, s, _) in settings.items()}
    units = {**{f"param:{k}": u for k, (_, _, u) in params.items()},
             **{f"set:{k}": u for k, (_, _, u) in settings.items()}}
    labels = None
    if label_col is not None:
        for r in range(R):
            value_row = raw[r]
            if len(value_row) != len(header):
                value(r, 0)  # the row-length error
        labels = [str(raw[r][label_col]) for r in range(R)]
    return Table(positions=positions, forces=forces, forces_isolated=isolated, parameters=par, settings=sets,
                 units=units, labels=labels, comments=comments, source=str(path))


def write_table(path: str | Path, positions, forces, *, forces_isolated=None, parameters=None, labels=None,
                comments=(), length_unit: str = "nm", force_unit: str = "N") -> Path:
    """Write a ``.csv`` reference table (the schema of :func:`read_table`; values written with ``repr`` in the header units).

    Parameters
    ----------
    positions, forces : (R, N, 3) float [m], [N]
    forces_isolated : (R, N, 3) float [N], optional
    parameters : dict name -> ((R,) float in SI, unit str), optional     written as ``param:NAME [unit]``
    labels : (R,) str, optional
    comments : sequence of str                                            provenance lines (``# ...``)
    length_unit, force_unit : str                                         units of the header
    """
    pos = np.asarray(positions, float)
    F = np.asarray(forces, float)
    if pos.ndim != 3 or pos.shape[2] != 3 or F.shape != pos.shape:
        raise ValueError(f"positions and forces must both have shape (R, N, 3), got {pos.shape} and {F.shape}")
    ls, fs = unit_scale(length_unit, "length", "length_unit"), unit_scale(force_unit, "force", "force_unit")
    R, N, _ = pos.shape
    header, cols = [], []
    if labels is not None:
        header.append("label")
        cols.append([str(s) for s in labels])
    for name, (vals, unit) in (parameters or {}).items():
        header.append(f"param:{name} [{unit}]")
        s = to_si("1 " + unit, None, f"parameters[{name!r}]") if unit not in ("", "1", "-") else 1.0
        cols.append([repr(float(v) / s) for v in np.asarray(vals, float)])
    for i in range(N):
        for a, ax in enumerate("xyz"):
            header.append(f"{ax}{i} [{length_unit}]")
            cols.append([repr(float(v) / ls) for v in pos[:, i, a]])
    blocks = [("", F)] + ([("_iso", np.asarray(forces_isolated, float))] if forces_isolated is not None else [])
    for suffix, arr in blocks:
        for i in range(N):
            for a, ax in enumerate("xyz"):
                header.append(f"F{ax}{i}{suffix} [{force_unit}]")
                cols.append([repr(float(v) / fs) for v in arr[:, i, a]])
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# {SCHEMA}\n")
        for line in comments:
            for part in str(line).splitlines():
                fh.write(f"# {part}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in range(R):
            w.writerow([c[r] for c in cols])
    return path


# ----------------------------------------------------------------------------- comparing
@dataclass(frozen=True, eq=False)
class Comparison:
    """Row-by-row comparison of a :class:`Table` with cdsolve (:func:`compare_table`).

    Attributes
    ----------
    table : Table
    forces : (R, N, 3) float [N]               cdsolve total forces
    forces_isolated : (R, N, 3) float [N]      cdsolve forces on each particle alone
    max_abs_err : (R,) float [N]               ``max |F - F_ref|``
    total_err : (R,) float                     that over the row's largest ``|F_ref|`` component
    interaction_err : (R,) float or None       with isolated reference forces (module docstring)
    interaction_axis_err : (R, 3) float or None
    validity : (R,) float                      ``cd.dipole_validity(scene).max_error`` of every row
    config : str                               the config the scenes were built from
    """

    table: Table
    forces: np.ndarray
    forces_isolated: np.ndarray
    max_abs_err: np.ndarray
    total_err: np.ndarray
    interaction_err: Any
    interaction_axis_err: Any
    validity: np.ndarray
    config: str = ""

    def summary(self) -> dict:
        """JSON-ready summary and per-row numbers (SI)."""
        t = self.table
        out = {
            "schema": "cdsolve-table-comparison/1",
            "table": t.source, "config": self.config, "rows": t.n_rows, "particles": t.n_particles,
            "max_total_err": float(self.total_err.max()),
            "worst_row": int(np.argmax(self.total_err)),
            "max_abs_err_N": float(self.max_abs_err.max()),
            "max_validity_estimate": float(self.validity.max()),
            "definitions": "total_err = max|F - F_ref| / max|F_ref| per row; interaction_err and "
                           "interaction_axis_err: cdsolve.workflow.reference_tables (module docstring); validity: "
                           "cd.dipole_validity(scene).max_error (estimated relative force error of the dipole model)",
            "per_row": {"total_err": self.total_err.tolist(), "max_abs_err_N": self.max_abs_err.tolist(),
                        "validity_estimate": self.validity.tolist()},
            "parameters": {k: v.tolist() for k, v in t.parameters.items()},
            "settings": {k: v.tolist() for k, v in t.settings.items()},
        }
        if self.interaction_err is not None:
            out["max_interaction_err"] = float(self.interaction_err.max())
            out["max_interaction_axis_err"] = self.interaction_axis_err.max(axis=0).tolist()
            out["per_row"]["interaction_err"] = self.interaction_err.tolist()
            out["per_row"]["interaction_axis_err"] = self.interaction_axis_err.tolist()
        if t.labels is not None:
            out["labels"] = list(t.labels)
        return out

    def _abscissa(self) -> tuple[np.ndarray, str]:
        t = self.table
        if t.parameters:
            name = next(iter(t.parameters))
            unit = t.units.get(f"param:{name}", "")
            s = to_si("1 " + unit, None, name) if unit not in ("", "1", "-") else 1.0
            return t.parameters[name] / s, f"{name} [{unit}]" if unit else name
        return np.arange(t.n_rows), "row"

    def markdown(self) -> str:
        """A report: summary and one line per row (errors beside the dipole-validity estimate)."""
        t = self.table
        s = self.summary()
        x, xname = self._abscissa()
        lines = ["# Reference table vs cdsolve", "",
                 f"Table `{t.source}` ({t.n_rows} rows, {t.n_particles} particles), config `{self.config}`.", ""]
        if t.comments:
            lines += ["Table provenance:", ""] + [f"> {c}" for c in t.comments] + [""]
        lines += [f"- largest total-force error (of the row's force scale): **{s['max_total_err']:.3e}** "
                  f"(row {s['worst_row']})",
                  f"- largest absolute error: {s['max_abs_err_N']:.3e} N",
                  f"- largest dipole-validity estimate: {s['max_validity_estimate']:.3e}"]
        if "max_interaction_err" in s:
            ax = ", ".join(f"{a}: {v:.3e}" for a, v in zip("xyz", s["max_interaction_axis_err"]))
            lines.append(f"- largest interaction-force error: {s['max_interaction_err']:.3e}; per axis {ax}")
        lines += ["", "Definitions: " + s["definitions"] + ".", ""]
        head = f"| {xname} | max abs err [N] | total err | " + ("interaction err | " if self.interaction_err
                                                                 is not None else "") + "validity estimate |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for r in range(t.n_rows):
            cells = [f"{x[r]:.6g}" + (f" ({t.labels[r]})" if t.labels is not None else ""),
                     f"{self.max_abs_err[r]:.3e}", f"{self.total_err[r]:.3e}"]
            if self.interaction_err is not None:
                cells.append(f"{self.interaction_err[r]:.3e}")
            cells.append(f"{self.validity[r]:.3e}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def plot(self, path: str | Path) -> None:
        """Reference vs cdsolve forces (left) and the per-row errors beside the validity estimate (right)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        t = self.table
        x, xname = self._abscissa()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        ax = axes[0]
        ref = t.forces if t.forces_isolated is None else t.forces - t.forces_isolated
        ours = self.forces if t.forces_isolated is None else self.forces - self.forces_isolated
        what = "force" if t.forces_isolated is None else "interaction force"
        scale = np.abs(ref).max() or 1.0
        for i in range(min(t.n_particles, 4)):
            for a in range(3):
                if np.abs(ref[:, i, a]).max() < 1e-6 * scale:
                    continue
                line, = ax.plot(x, ref[:, i, a], "o", ms=3, label=f"table F{'xyz'[a]}{i}")
                ax.plot(x, ours[:, i, a], "-", color=line.get_color(), lw=1, label=f"cdsolve F{'xyz'[a]}{i}")
        ax.set_xlabel(xname)
        ax.set_ylabel(f"{what} [N]")
        ax.legend(fontsize=6, ncol=2)
        ax = axes[1]
        ax.semilogy(x, self.total_err, "o-", ms=3, label="total force error (of row scale)")
        if self.interaction_err is not None:
            ax.semilogy(x, self.interaction_err, "s-", ms=3, label="interaction force error")
        ax.semilogy(x, self.validity, "k--", label="dipole-validity estimate")
        ax.set_xlabel(xname)
        ax.set_ylabel("relative error")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


def _override(cfg: dict, key: str, value: float, unit: str, where: str) -> None:
    parts = key.split(".")
    node: Any = cfg
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise TableError(f"{where}: {'.'.join(parts[:depth + 1])!r}: no item {part!r} in a list of "
                                 f"{len(node)}")
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                raise TableError(f"{where}: the config has no section {'.'.join(parts[:depth + 1])!r}")
            node = node[part]
        else:
            raise TableError(f"{where}: {'.'.join(parts[:depth])!r} is a value, not a section")
    if not isinstance(node, dict):
        raise TableError(f"{where}: {'.'.join(parts[:-1])!r} is not a config table")
    dim = key_dimension(".".join(p for p in parts if not p.isdigit()))
    if dim is not None:  # the column's unit must have the key's dimension (the value is already SI)
        _unit_factor(unit, dim[0], where)
    node[parts[-1]] = float(value)


def compare_table(table: Table, config) -> Comparison:
    """Recompute every row of ``table`` with the scene of ``config`` and compare (module docstring).

    Parameters
    ----------
    table : Table
        From :func:`read_table`.
    config : str, os.PathLike or dict
        A TOML config (``docs/config.md``) giving particles, beams and medium; its number of particles must
        equal the table's. Each row moves the particles to the row's positions (beams stay where the config
        puts them) and applies the row's ``set:`` overrides.
    """
    if not isinstance(table, Table):
        raise TypeError(f"table must be a cdsolve.workflow.reference_tables.Table (read_table), "
                        f"got {type(table).__name__}")
    cfg = load_config(config) if not isinstance(config, dict) else config
    name = str(cfg.get("_source", "<config>"))
    base, opts = scene_from_config(cfg)
    if base.n_particles != table.n_particles:
        raise TableError(f"{table.source}: the table has {table.n_particles} particles but config {name} has "
                         f"{base.n_particles}")
    R = table.n_rows
    F = np.empty((R, table.n_particles, 3))
    Fiso = np.empty_like(F)
    validity = np.empty(R)
    for r in range(R):
        scene = base
        if table.settings:
            row_cfg = copy.deepcopy(cfg)
            for key, vals in table.settings.items():
                _override(row_cfg, key, vals[r], table.units.get(f"set:{key}", ""),
                          f"{table.source}: column 'set:{key}'")
            try:
                scene, opts = scene_from_config(row_cfg)
            except ValueError as e:
                raise TableError(f"{table.source}: row {r + 1}: {e}") from None
        try:
            scene = scene.with_positions(table.positions[r])
        except ValueError as e:
            raise TableError(f"{table.source}: row {r + 1}: {e}") from None
        sol = solve(scene, method=opts["method"], orders=opts["orders"], check_validity=False)
        F[r] = sol.forces()
        Fiso[r] = sol.isolated_forces()
        validity[r] = dipole_validity(scene).max_error
    ref = table.forces
    max_abs = np.max(np.abs(F - ref), axis=(1, 2))
    scale = np.max(np.abs(ref), axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(scale > 0, max_abs / scale, np.where(max_abs == 0, 0.0, np.inf))
    inter = inter_axis = None
    if table.forces_isolated is not None:
        f, f_ref = F - Fiso, ref - table.forces_isolated
        with np.errstate(divide="ignore", invalid="ignore"):
            inter = np.max(np.max(np.abs(f - f_ref), axis=2) / np.max(np.abs(f_ref), axis=(0, 2)), axis=1)
            inter_axis = np.max(np.abs(f - f_ref), axis=1) / np.max(np.abs(f_ref), axis=(0, 1))
    return Comparison(table=table, forces=F, forces_isolated=Fiso, max_abs_err=max_abs, total_err=total,
                      interaction_err=inter, interaction_axis_err=inter_axis, validity=validity, config=name)
