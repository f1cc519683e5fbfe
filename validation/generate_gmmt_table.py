"""Convert one stored MiePy (GMMT) dataset into the reference-table schema of ``cdsolve compare``.

Reads ``validation/reference_data/silica_pair_perpendicular.json`` (made by ``generate_gmmt_reference.py``;
its provenance is copied into the table's header comments), takes the dataset
``x_polarized_parallel_to_axis`` and writes ``validation/reference_tables/gmmt_silica_pair.csv``
(schema ``cdsolve-reference-table/1``, :mod:`cdsolve.workflow.reference_tables`): positions in nm, total and
isolated forces in N (``repr``: exact), the separation as ``param:separation [nm]``. The matching
scene is ``validation/reference_tables/gmmt_silica_pair.toml``.

    python validation/generate_gmmt_table.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from cdsolve.workflow.reference_tables import write_table

HERE = Path(__file__).parent
SOURCE = HERE / "reference_data" / "silica_pair_perpendicular.json"
DATASET = "x_polarized_parallel_to_axis"
OUT = HERE / "reference_tables" / "gmmt_silica_pair.csv"


def main() -> int:
    raw = SOURCE.read_bytes()
    data = json.loads(raw)
    ds = next(d for d in data["datasets"] if d["name"] == DATASET)
    prov = data["provenance"]
    comments = [
        f"source: {SOURCE.relative_to(HERE.parent)} (sha256 {hashlib.sha256(raw).hexdigest()}), dataset {DATASET!r}",
        f"converted by: validation/{Path(__file__).name}; scene: validation/reference_tables/gmmt_silica_pair.toml",
        f"description: {data['description']}",
        f"method: {data['method']['code']}; lmax {ds['lmax']} (convergence check lmax {ds['lmax_check']}); "
        f"linear solver {data['method']['linear_solver']}",
        f"isolated forces: {data['method']['isolated_forces']}",
        f"beam: {ds['beam']['miepy_source']}, amplitude {ds['beam']['amplitude']} {ds['beam']['amplitude_units']}",
        f"generator: {prov['generator_script']} (git {prov['git_head']}, {prov['date_utc']}); software "
        + ", ".join(f"{k} {v}" for k, v in prov["software"].items() if k != "platform"),
        f"note: {data['conventions']['eps0']}",
    ]
    write_table(OUT, np.array(ds["positions"]), np.array(ds["forces_total"]),
                forces_isolated=np.array(ds["forces_isolated"]),
                parameters={"separation": (np.array(ds["parameter_values"]), "nm")},
                comments=comments, length_unit="nm", force_unit="N")
    print(f"wrote {OUT} ({len(ds['positions'])} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
