"""``cdsolve identify DATA --dt DT --masses M [--compare CONFIG] -o OUTDIR``: a linear model from traces.

DATA holds position traces of ``n`` dofs at a uniform time step:

* ``.npz``: a :class:`cdsolve.dynamics.trajectories.Trajectory` file (``cdsolve simulate`` writes one), or any
  NPZ with ``positions`` (T, n) [m] and optionally ``time`` (T,) [s] and ``labels`` (n,) str;
* ``.csv``: a header line of ``NAME [UNIT]`` columns, e.g. ``time [s], z_0 [nm], z_1 [nm]`` (``#`` comment
  lines before it); the optional ``time``/``t`` column gives the time step, every other column is a dof
  (a length); velocity columns ``v_NAME [m/s]`` are ignored.

The time step comes from ``--dt`` or from the time stamps (which must then be uniform). ``--masses`` gives one
mass or one per dof (``"8.7e-18"`` or ``"8.7 fg"``, comma-separated). Identification:
:func:`cdsolve.experiment.identification.identify` (``--method time`` or ``frequency``).

With ``--compare CONFIG``, the config's linear model at the equilibrium is the prediction: dofs are matched by
label (``z_0`` = particle 0 along z, the labels of :class:`~cdsolve.dynamics.linear_model.LinearModel`).

Files (the directory appears whole or not at all): ``report.md`` and ``report.json`` -- every stiffness
entry ``K_ab`` [N/m] identified ``+- sigma``, the prediction and the pull ``(identified - predicted) / sigma``;
for every pair of particles along each axis both hold, the pair rates ``g_r, g_a`` [rad/s] (Rudolph et al.
PRL eq. 6, 11; ``LinearModel.pair_rates``); the normal-mode frequencies [Hz]; sigma of rates and mode
frequencies propagated from ``stiffness_stderr`` (entries taken as independent; the modes by a
finite-difference Jacobian of the eigenvalues) -- and ``psd.png``: Welch PSD of the data with the fitted and
predicted analytic PSDs.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from .config import ConfigError
from .output_dir import staged_directory
from .units import UnitError, column_header, to_si, unit_scale

__all__ = ["read_traces", "parse_masses", "identify_report"]

_LABEL = re.compile(r"^(?P<axis>[xyz])_(?P<i>\d+)$")


def parse_masses(text: str) -> np.ndarray:
    """``"8.7e-18"``, ``"8.7 fg"`` or ``"8.7 fg, 9 fg"`` -> masses [kg] (each > 0)."""
    out = []
    for part in str(text).split(","):
        try:
            v = to_si(part.strip() if not re.fullmatch(r"\s*[-+0-9.eE]+\s*", part) else float(part), "mass",
                      "--masses")
        except UnitError as e:
            raise ConfigError(str(e)) from None
        if not (np.isfinite(v) and v > 0):
            raise ConfigError(f"--masses: every mass must be > 0 kg, got {part.strip()!r}")
        out.append(v)
    return np.array(out)


def read_traces(path) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """``positions (T, n) [m]``, ``time (T,) [s]`` or None, ``labels`` from an NPZ or CSV file (module doc)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            if "positions" not in data.files:
                raise ConfigError(f"{path}: no 'positions' array (T, n) [m] (arrays: {', '.join(data.files)})")
            X = np.asarray(data["positions"], float)
            t = np.asarray(data["time"], float) if "time" in data.files else None
            labels = None
            if "meta" in data.files:
                labels = json.loads(str(data["meta"])).get("labels")
            elif "labels" in data.files:
                labels = [str(s) for s in data["labels"]]
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ConfigError(f"{path}: positions must be a (T, n) array, got shape {X.shape}")
        labels = list(labels) if labels is not None else [f"q_{i}" for i in range(X.shape[1])]
    elif suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
        if len(lines) < 2:
            raise ConfigError(f"{path}: expected a header line and data rows")
        rows = list(csv.reader(lines, skipinitialspace=True))
        head = rows[0]
        t_col, cols, labels, scales = None, [], [], []
        for c, h in enumerate(head):
            parsed = column_header(h)
            if parsed is None:
                raise ConfigError(f"{path}: column {c + 1} header {h!r}: expected 'NAME [UNIT]'")
            name, unit = parsed
            if name.startswith("v_"):
                continue
            if unit is None:
                raise ConfigError(f"{path}: column {name!r} needs a unit in brackets, e.g. '{name} [nm]'")
            try:
                if name.lower() in ("time", "t"):
                    t_col, t_scale = c, unit_scale(unit, "time", f"{path}: column {h!r}")
                else:
                    scales.append(unit_scale(unit, "length", f"{path}: column {h!r}"))
                    cols.append(c)
                    labels.append(name)
            except UnitError as e:
                raise ConfigError(str(e)) from None
        try:
            data = np.array([[float(v) for v in r] for r in rows[1:]])
        except ValueError as e:
            raise ConfigError(f"{path}: a value is not a number ({e})") from None
        if data.ndim != 2 or data.shape[1] != len(head):
            raise ConfigError(f"{path}: every row needs {len(head)} values")
        X = data[:, cols] * np.array(scales)
        t = data[:, t_col] * t_scale if t_col is not None else None
    else:
        raise ConfigError(f"{path}: expected .npz or .csv traces, got suffix {path.suffix!r}")
    if X.shape[1] == 0:
        raise ConfigError(f"{path}: no position columns")
    return X, t, labels


def _time_step(t, dt, path) -> float:
    if t is not None:
        d = np.diff(t)
        if len(d) == 0 or not np.all(np.isfinite(d)):
            raise ConfigError(f"{path}: time stamps must be finite and at least two")
        step = float(np.median(d))
        if not step > 0 or np.max(np.abs(d - step)) > 1e-6 * step:
            raise ConfigError(f"{path}: time stamps are not uniform (steps from {d.min():.6g} to {d.max():.6g} s); "
                              "resample to a uniform step")
        if dt is not None and abs(dt - step) > 1e-6 * step:
            raise ConfigError(f"--dt {dt:g} s disagrees with the time stamps of {path} (step {step:.6g} s)")
        return step
    if dt is None:
        raise ConfigError(f"{path} has no time column: give --dt")
    return float(dt)


def _rates(K, sK, masses, labels):
    """Pair rates ``(g_r, g_a)`` and their sigmas for every pair of particles along each shared axis."""
    parsed = [(_LABEL.match(str(s)), k) for k, s in enumerate(labels)]
    by_axis = {}
    for m, k in parsed:
        if m:
            by_axis.setdefault(m["axis"], []).append((int(m["i"]), k))
    out = []
    for axis, items in sorted(by_axis.items()):
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                (i, p), (j, q) = items[a], items[b]
                if K[p, p] <= 0 or K[q, q] <= 0:
                    continue
                mm = 0.5 * (masses[p] + masses[q])
                w = 0.5 * (np.sqrt(K[p, p] / masses[p]) + np.sqrt(K[q, q] / masses[q]))
                Cij, Cji = -K[p, q], -K[q, p]
                s = np.hypot(sK[p, q], sK[q, p]) / (4 * mm * w) if sK is not None else np.nan
                out.append({"pair": f"{axis}_{i},{axis}_{j}", "rows": (p, q),
                            "g_r": (Cij + Cji) / (4 * mm * w), "g_a": (Cij - Cji) / (4 * mm * w),
                            "g_r_sigma": s, "g_a_sigma": s})
    return out


def _modes(K, masses):
    ev = np.linalg.eigvals(K / masses[:, None]).astype(complex)
    return np.sort(np.sqrt(ev).real) / (2 * np.pi)


def _mode_sigma(K, sK, masses):
    """sigma of the mode frequencies [Hz] by a forward-difference Jacobian in every entry (independent)."""
    f0 = _modes(K, masses)
    var = np.zeros_like(f0)
    for a in range(K.shape[0]):
        for b in range(K.shape[1]):
            h = 1e-4 * (sK[a, b] if sK[a, b] > 0 else np.abs(K).max() * 1e-6)
            Kp = K.copy()
            Kp[a, b] += h
            var += ((_modes(Kp, masses) - f0) / h * sK[a, b]) ** 2
    return f0, np.sqrt(var)


def _pull(x, ref, s):
    return float((x - ref) / s) if s and np.isfinite(s) and s > 0 else None


def identify_report(data, outdir, *, masses: str, dt: float | None = None, compare=None, method: str = "time",
                    temperature: float | None = None, overwrite: bool = False, plots: bool = True,
                    echo=print) -> Path:
    """Run ``cdsolve identify`` (module docstring); returns the output directory."""
    try:
        from ..experiment.identification import identify
    except ImportError as e:
        raise RuntimeError(f"cdsolve identify needs cdsolve.experiment.identification, which this installation "
                           f"does not provide ({e})") from None
    X, t, labels = read_traces(data)
    step = _time_step(t, dt, data)
    m = parse_masses(masses)
    n = X.shape[1]
    if len(m) == 1:
        m = np.full(n, m[0])
    if len(m) != n:
        raise ConfigError(f"--masses: give one mass or one per dof ({n}: {', '.join(labels)}), got {len(m)}")
    ident = identify(X, step, masses=m, method=method, labels=list(labels), temperature=temperature)
    K = np.asarray(ident.stiffness, float)
    sK = getattr(ident, "stiffness_stderr", None)
    sK = np.asarray(sK, float) if sK is not None else np.full_like(K, np.nan)
    pred = None
    if compare is not None:
        from ..dynamics.linear_model import linearize
        from .config import linearize_options, load_config, scene_from_config

        cfg = load_config(compare)
        scene, opts = scene_from_config(cfg)
        lo = linearize_options(cfg)
        lin = linearize(scene, dofs=lo["dofs"], at="equilibrium", damping=lo["damping"], method=opts["method"])
        missing = [s for s in labels if s not in lin.labels]
        if missing:
            raise ConfigError(f"--compare {compare}: the data's dofs {missing} are not in the config's linear model "
                              f"(dofs {', '.join(lin.labels)}); name the columns like 'z_0' and set [linearize] dofs")
        idx = [lin.labels.index(s) for s in labels]
        pred = {"K": lin.stiffness[np.ix_(idx, idx)], "masses": lin.masses[idx], "damping": lin.damping}
    entries = []
    for a in range(n):
        for b in range(n):
            e = {"entry": f"K[{labels[a]},{labels[b]}]", "identified_N_per_m": float(K[a, b]),
                 "sigma_N_per_m": float(sK[a, b])}
            if pred is not None:
                e["predicted_N_per_m"] = float(pred["K"][a, b])
                e["pull"] = _pull(K[a, b], pred["K"][a, b], sK[a, b])
            entries.append(e)
    rates = _rates(K, sK, m, labels)
    if pred is not None:
        for r, rp in zip(rates, _rates(pred["K"], None, pred["masses"], labels)):
            for key in ("g_r", "g_a"):
                r[f"{key}_predicted"] = rp[key]
                r[f"{key}_pull"] = _pull(r[key], rp[key], r[f"{key}_sigma"])
    f_id, f_sig = _mode_sigma(K, np.nan_to_num(sK), m)
    modes = [{"identified_Hz": float(f), "sigma_Hz": float(s)} for f, s in zip(f_id, f_sig)]
    if pred is not None:
        for d, fp in zip(modes, _modes(pred["K"], pred["masses"])):
            d["predicted_Hz"] = float(fp)
            d["pull"] = _pull(d["identified_Hz"], fp, d["sigma_Hz"])
    report = {"schema": "cdsolve-identify-report/1", "data": str(data), "dt_s": step, "samples": int(len(X)),
              "dofs": labels, "masses_kg": m.tolist(), "method": method, "config": str(compare) if compare else None,
              "stiffness": entries,
              "pair_rates_rad_per_s": [{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                        for k, v in r.items() if k != "rows"} for r in rates],
              "mode_frequencies": modes,
              "notes": ["sigma of g_r, g_a and mode frequencies propagated from stiffness_stderr with the entries "
                        "taken as independent", "pull = (identified - predicted) / sigma"]}
    for attr in ("damping", "diffusion"):
        v = getattr(ident, attr, None)
        if v is not None:
            report[f"identified_{attr}"] = np.asarray(v, float).tolist()
    out = Path(outdir)
    with staged_directory(out, overwrite=overwrite) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=1, default=_json_default))
        (tmp / "report.md").write_text(_markdown(report))
        if plots:
            _psd_plot(tmp / "psd.png", X - X.mean(axis=0), step, labels, ident, pred, m, temperature)
    echo(f"identified {n} dofs from {len(X)} samples ({method} domain); wrote report.md, report.json"
         f"{', psd.png' if plots else ''} to {out}/")
    return out


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _fmt(x):
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.4g}"


def _markdown(r: dict) -> str:
    lines = ["# System identification report", "",
             f"Data `{r['data']}`: {r['samples']} samples at dt = {r['dt_s']:.6g} s, dofs {', '.join(r['dofs'])}; "
             f"method: {r['method']} domain; prediction: {('`' + r['config'] + '` (linear model at the equilibrium)') if r['config'] else 'none'}.",
             "", "## Stiffness K = -dF/dx [N/m]", "", "| entry | identified | sigma | predicted | pull |",
             "|---|---|---|---|---|"]
    for e in r["stiffness"]:
        lines.append(f"| {e['entry']} | {_fmt(e['identified_N_per_m'])} | {_fmt(e['sigma_N_per_m'])} | "
                     f"{_fmt(e.get('predicted_N_per_m'))} | {_fmt(e.get('pull'))} |")
    lines += ["", "## Pair rates g_r, g_a [rad/s]", "",
              "| pair | g_r | sigma | predicted | pull | g_a | sigma | predicted | pull |", "|---|---|---|---|---|---|---|---|---|"]
    for p in r["pair_rates_rad_per_s"]:
        lines.append(f"| {p['pair']} | {_fmt(p['g_r'])} | {_fmt(p['g_r_sigma'])} | {_fmt(p.get('g_r_predicted'))} | "
                     f"{_fmt(p.get('g_r_pull'))} | {_fmt(p['g_a'])} | {_fmt(p['g_a_sigma'])} | "
                     f"{_fmt(p.get('g_a_predicted'))} | {_fmt(p.get('g_a_pull'))} |")
    lines += ["", "## Mode frequencies [Hz]", "", "| identified | sigma | predicted | pull |", "|---|---|---|---|"]
    for d in r["mode_frequencies"]:
        lines.append(f"| {_fmt(d['identified_Hz'])} | {_fmt(d['sigma_Hz'])} | {_fmt(d.get('predicted_Hz'))} | "
                     f"{_fmt(d.get('pull'))} |")
    lines += ["", "Notes: " + "; ".join(r["notes"]) + ".", ""]
    return "\n".join(lines)


def _psd_plot(path, X, dt, labels, ident, pred, masses, temperature):
    from ..dynamics.linear_model import LinearModel
    from ..dynamics.spectra import displacement_psd
    from .simulate_job import plot_psd

    f = np.linspace(0, 0.5 / dt, 2000)[1:]
    curves = [("identified model", f, displacement_psd(ident, 2 * np.pi * f, dt=dt).psd)]
    if pred is not None and pred["damping"] > 0:
        T = 300.0 if temperature is None else temperature
        n = len(labels)
        lin = LinearModel(stiffness=pred["K"], masses=pred["masses"], dofs=np.arange(n), labels=list(labels),
                          damping=pred["damping"])
        curves.append((f"predicted (config, {T:g} K)", f, displacement_psd(lin, 2 * np.pi * f, temperature=T,
                                                                           dt=dt).psd))
    plot_psd(path, dt, X, labels, curves)
