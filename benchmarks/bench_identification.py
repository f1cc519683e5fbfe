"""Benchmark: exact linear Langevin trajectories and system identification (issue #17 targets).

* 10^6 exact steps of 20 coupled dofs (cdsolve.dynamics.trajectories.simulate_linear): target < 5 s;
* identification of 6 dofs x 10^6 samples, time domain with 200 bootstrap replicates (the default
  ``cd.experiment.identification.identify``): target < 10 s; the frequency-domain fit is timed too
  (no target).

The machine load is printed with the numbers (shared CI runners are noisy); the model is the
two-particle non-reciprocal test model of tests/test_identification.py.

    python benchmarks/bench_identification.py [--frequency]
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def main():
    import cdsolve as cd
    from cdsolve.dynamics.trajectories import simulate_linear
    from cdsolve.experiment.identification import identify

    rng = np.random.default_rng(1)
    n, m, w0 = 20, 1e-17, 2 * np.pi * 1e5
    X = 0.02 * rng.standard_normal((n, n))
    K = m * w0**2 * (np.diag(1 + 0.3 * rng.random(n)) + X + X.T)
    lin20 = cd.LinearModel(stiffness=K, masses=np.full(n, m), dofs=np.arange(n), labels=[f"q_{i}" for i in range(n)],
                           damping=2 * np.pi * 2e3)
    out = {"load_average": os.getloadavg()}
    t0 = time.perf_counter()
    simulate_linear(lin20, 5e-7, 1_000_000, temperature=300.0, seed=1)
    out["simulate_20dofs_1e6_steps_s"] = time.perf_counter() - t0

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    from test_identification import DT, pair_model

    lin = pair_model()
    x = simulate_linear(lin, DT, 1_000_000, temperature=300.0, seed=2).positions
    t0 = time.perf_counter()
    idm = identify(x, DT, masses=lin.masses, bootstrap=200)
    out["identify_time_6dofs_1e6_s"] = time.perf_counter() - t0
    out["max_rel_error_time"] = float(np.abs(idm.stiffness - lin.stiffness).max() / np.abs(lin.stiffness).max())
    if "--frequency" in sys.argv:
        t0 = time.perf_counter()
        idf = identify(x, DT, masses=lin.masses, method="frequency")
        out["identify_frequency_6dofs_1e6_s"] = time.perf_counter() - t0
        out["max_rel_error_frequency"] = float(np.abs(idf.stiffness - lin.stiffness).max() / np.abs(lin.stiffness).max())
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
