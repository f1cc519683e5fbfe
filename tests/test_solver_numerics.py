"""Numerical honesty of the coupled-dipole solve: residual and condition reporting, the GMRES product
cap, divergent scattering-order series, option validation, and memory estimates before allocation.

Oracles (independent of the solver's own bookkeeping):
* the dense particle-major ``interaction_matrix`` (its own assembly and permutation): true residuals,
  the 2-norm condition number (numpy SVD) and the spectral radius of ``W chi`` (numpy eigenvalues);
* an independent counter wrapped around ``CouplingOperator.matvec`` for the product cap;
* ``tracemalloc`` (NumPy reports its allocations to it) and the ``nbytes`` of the stored arrays for the
  memory estimates.
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.optics.conventions import EPS0, Z0
from cdsolve.scattering import solver
from cdsolve.scattering.solver import (
    CouplingOperator,
    IllConditionedWarning,
    ResourceError,
    SeriesDivergenceWarning,
    SolveAccuracyWarning,
    estimate_resources,
    interaction_matrix,
    solve_coherent,
)

LAM = 1e-6
K = 2 * np.pi / LAM
RTOL = 1e-10


def _square_lattice(n: int, a: float) -> np.ndarray:
    x = (np.arange(n) - (n - 1) / 2) * a
    X, Y = np.meshgrid(x, x, indexing="ij")
    return np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1)


def _resonant_lattice(delta: float) -> cd.Scene:
    """6 x 6 point-dipole lattice (pitch 0.7 lambda) tuned to a collective resonance.

    The polarizability is chosen so that the collective eigenmode of the dimensionless propagator ``g`` that
    the plane wave excites most has ``chi lambda_mode = 1 + delta``: the system matrix ``1 - g chi`` then
    has the eigenvalue ``-delta`` and a condition number ~ 1/delta (gain is allowed to reach it exactly).
    """
    pos = _square_lattice(6, 0.7 * LAM)
    pw = cd.PlaneWave(wavelength=LAM, direction=(0, 0, 1), polarization=(1, 0, 0), intensity=1.0)
    probe = cd.Scene(positions=pos, particles=cd.DipoleParticle(alpha_e=EPS0 / K**3, allow_gain=True), illumination=pw)
    A = interaction_matrix(probe)  # particle-major 1 - W chi with chi_e = 1: W = 1 - A; E rows/columns
    n = len(pos)
    e_idx = (np.arange(n)[:, None] * 6 + np.arange(3)).ravel()
    g = np.eye(3 * n) - A[np.ix_(e_idx, e_idx)]
    b = np.asarray(probe.incident_fields()[0], complex).ravel()
    w, left = np.linalg.eig(g.T)  # left eigenvectors of g
    mode = int(np.argmax(np.abs(left.T @ b)))
    chi = (1 + delta) / w[mode]
    return cd.Scene(positions=pos, particles=cd.DipoleParticle(alpha_e=chi * EPS0 / K**3, allow_gain=True),
                    illumination=pw)


def _oracle_residual(sol) -> float:
    """``||b - A u|| / ||b||`` with the dense particle-major matrix and vectors built from the Solution."""
    sc = sol.scene
    Z = Z0 / sc.n_medium
    u = np.concatenate([sol.E_local, Z * sol.H_local], axis=1).ravel()  # (E_1, ZH_1, E_2, ...)
    E, H = sc.incident_fields()
    b = np.concatenate([np.asarray(E, complex), Z * np.asarray(H, complex)], axis=1).ravel()
    return float(np.linalg.norm(b - interaction_matrix(sc) @ u) / np.linalg.norm(b))


def _solve_recording(scene, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sol = cd.solve(scene, check_validity=False, **kw)
    return sol, rec


@pytest.mark.parametrize("method", ["direct", "iterative"])
@pytest.mark.parametrize("delta", [1e-3, 1e-11])
def test_near_resonance_converges_or_warns_with_the_measured_residual(method, delta):
    """A lattice at a collective resonance: the solve either reaches rtol silently or warns with the true
    residual, rtol and a condition estimate. Oracle: dense-matrix residual and SVD condition number."""
    sc = _resonant_lattice(delta)
    sol, rec = _solve_recording(sc, method=method, rtol=RTOL)
    res = sol.info["residual"]
    oracle = _oracle_residual(sol)
    cond2 = np.linalg.cond(interaction_matrix(sc))
    acc = [w for w in rec if issubclass(w.category, SolveAccuracyWarning) and not issubclass(w.category, IllConditionedWarning)]
    if oracle <= RTOL:
        assert res <= RTOL
        assert acc == []
    else:
        # at the double-precision floor the residual is itself rounding noise (evaluating b - A u errs by
        # ~eps |A||u|, as large as the residual): two evaluations agree in order of magnitude (factor 2;
        # measured 2.43e-5 vs 1.93e-5)
        assert 0.5 <= res / oracle <= 2.0
        assert len(acc) == 1
        msg = str(acc[0].message)
        assert f"{res:.2e}" in msg and f"rtol={RTOL:.2e}" in msg and "condition ~" in msg
        # the LU 1-norm estimate and the 2-norm condition differ by at most the dimension (6N = 216)
        assert cond2 / 216 <= sol.info["condition_estimate"] <= cond2 * 216
        assert sol.info["error_bound"] == pytest.approx(sol.info["condition_estimate"] * res)
    if delta == 1e-3:  # well off resonance (condition ~ 2e4): must converge without a word
        assert cond2 < 1e6 and oracle <= RTOL and acc == []
    else:  # condition ~ 2e12 (measured residual ~ 2e-5, the case): must warn
        assert cond2 > 1e11 and oracle > RTOL and len(acc) == 1


def test_iterative_without_room_for_the_fallback_reports_an_arnoldi_condition_bound(monkeypatch):
    """When the direct fallback would not fit in memory, the stalled GMRES warns itself, with a lower bound
    on the condition number that can never exceed the true one (oracle: SVD of the dense matrix)."""
    sc = _resonant_lattice(1e-11)
    need_iter = estimate_resources(sc.n_particles, "iterative")["bytes"]
    need_direct = estimate_resources(sc.n_particles, "direct", electric_only=True)["bytes"]
    assert need_iter < need_direct
    monkeypatch.setattr(solver, "available_memory", lambda: (need_iter + need_direct) // 2)
    sol, rec = _solve_recording(sc, method="iterative", rtol=RTOL)
    assert sol.method == "iterative" and sol.info["fallback"].startswith("none")
    acc = [w for w in rec if w.category is SolveAccuracyWarning]
    assert len(acc) == 1 and "lower bound" in str(acc[0].message)
    assert 0.5 <= sol.info["residual"] / _oracle_residual(sol) <= 2.0  # rounding-noise floor (see above)
    cond2 = np.linalg.cond(interaction_matrix(sc))
    assert 1.0 <= sol.info["condition_estimate"] <= cond2 * (1 + 1e-6)  # Arnoldi: singular values interlace


def test_maxiter_caps_matrix_vector_products(monkeypatch):
    """maxiter counts products (residual checks included). Oracle: a counter around CouplingOperator.matvec
    (the solve adds one product for its final residual; the direct fallback uses no matvec)."""
    calls = [0]
    orig = CouplingOperator.matvec

    def counted(self, u):
        calls[0] += 1
        return orig(self, u)

    monkeypatch.setattr(CouplingOperator, "matvec", counted)
    sc = _resonant_lattice(1e-11)
    sol, rec = _solve_recording(sc, method="iterative", maxiter=10)
    assert sol.info["matvecs"] <= 10
    assert calls[0] == sol.info["matvecs"] + 1
    assert any(w.category is RuntimeWarning and "falling back" in str(w.message) for w in rec)
    assert sol.method == "direct"
    # a benign lattice converges well inside the default cap, and the counter agrees again
    calls[0] = 0
    ok, rec = _solve_recording(_resonant_lattice(1e-3), method="iterative", rtol=RTOL)
    assert ok.info["residual"] <= RTOL and 0 < ok.info["matvecs"] <= 500
    # GMRES on the full 6N system ends with the true residual b - A u of the returned u (counted among its
    # products), which the solve reports instead of spending one more product on it
    assert calls[0] == ok.info["matvecs"]
    op = ok._operator
    b = solver._incident_vector(ok.scene)
    u = np.concatenate([ok.E_local.ravel(), (Z0 / ok.scene.n_medium * ok.H_local).ravel()])
    # oracle: the residual recomputed here from the returned fields; they differ by the round-off of a product
    # (~1e-16 of ||b||, measured 4.7e-16), i.e. atol 1e-14 on the relative residual
    assert_allclose(ok.info["residual"], np.linalg.norm(b - op.matvec(u)) / np.linalg.norm(b), rtol=0, atol=1e-14)
    assert not [w for w in rec if issubclass(w.category, (SolveAccuracyWarning, RuntimeWarning))]


@pytest.mark.parametrize("kw, err, name", [
    ({"maxiter": 0}, ValueError, "maxiter"), ({"maxiter": -5}, ValueError, "maxiter"),
    ({"maxiter": 2.5}, TypeError, "maxiter"), ({"maxiter": True}, TypeError, "maxiter"),
    ({"rtol": -1.0}, ValueError, "rtol"), ({"rtol": 0.0}, ValueError, "rtol"), ({"rtol": 1.0}, ValueError, "rtol"),
    ({"rtol": float("nan")}, ValueError, "rtol"), ({"rtol": "1e-8"}, TypeError, "rtol"),
    ({"orders": -1}, ValueError, "orders"), ({"orders": True}, ValueError, "orders"),
    ({"method": "lu"}, ValueError, "method"), ({"force": "yes"}, TypeError, "force"),
])
@pytest.mark.parametrize("entry", ["solve", "solve_coherent"])
def test_bad_solver_options_are_named(kw, err, name, entry):
    """Oracle: the documented allowed ranges (maxiter >= 1 integer, eps <= rtol < 1, orders >= 0)."""
    sc = cd.Scene(positions=[[0, 0, 0], [0, 0, 600e-9]], particles=cd.Sphere(radius=50e-9, index=1.45),
                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    fn = cd.solve if entry == "solve" else solve_coherent
    with pytest.raises(err, match=name):
        fn(sc, **kw)


def _si_lattice(lam: float, pitch: float) -> cd.Scene:
    return cd.Scene(positions=_square_lattice(4, pitch), particles=cd.Sphere(radius=100e-9, index=3.5),
                    illumination=cd.PlaneWave(wavelength=lam, intensity=1e9))


def test_divergent_scattering_series_is_reported():
    """Resonant silicon spheres 250 nm apart at 700 nm: the spectral radius of W chi is 2.2 (oracle: numpy
    eigenvalues of 1 - A), so orders=30 must warn that the series diverges, with a growth rate that is the
    power-iteration estimate of that radius (1 %); the self-consistent solve stays finite."""
    sc = _si_lattice(700e-9, 250e-9)
    A = interaction_matrix(sc)
    rho = np.abs(np.linalg.eigvals(np.eye(len(A)) - A)).max()
    assert rho > 1.5
    with pytest.warns(SeriesDivergenceWarning, match="diverges.*self-consistent"):
        sol = cd.solve(sc, orders=30, check_validity=False)
    assert_allclose(sol.info["series_growth_rate"], rho, rtol=1e-2)
    assert sol.info["series_terms"][-1] > 1e6


def test_convergent_scattering_series_is_silent():
    """Weak scatterers (spectral radius 0.007, oracle: eigenvalues): no divergence warning at any order, and
    the partial sums approach the self-consistent local fields."""
    sc = cd.Scene(positions=_square_lattice(4, 600e-9), particles=cd.Sphere(radius=50e-9, index=1.45),
                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    A = interaction_matrix(sc)
    assert np.abs(np.linalg.eigvals(np.eye(len(A)) - A)).max() < 0.05
    full = cd.solve(sc, check_validity=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolveAccuracyWarning)
        for n in (2, 5, 12):
            sol = cd.solve(sc, orders=n, check_validity=False)
            assert sol.info["series_growth_rate"] < 0.05
    # geometric convergence at rate < 0.05 per order: after 12 orders the fields agree to ~1e-15 (1e-12)
    assert_allclose(sol.E_local, full.E_local, rtol=0, atol=1e-12 * np.abs(full.E_local).max())


def test_huge_scene_is_refused_before_allocating():
    """200,000 spheres: the stored propagators alone would be 9 N^2 x 16 B = 5.8 TB. The solve must refuse
    in well under a second (the Scene's own overlap check is timed separately), naming the estimate, the
    available memory and the way out."""
    n = 59  # 59^3 = 205,379 sites on a 1 um grid: no overlaps
    g = np.arange(n) * 1e-6
    pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)[:200_000]
    t0 = time.perf_counter()
    sc = cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45),
                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    t_scene = time.perf_counter() - t0  # measured ~0.5 s (cKDTree overlap check); not part of the claim
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ResourceError, match=r"200000 particles.*GiB.*available.*force=True") as exc:
        cd.solve(sc, method="iterative")  # the dense backend (auto picks the O(N) FFT backend on this grid)
    t_refuse = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(exc.value, MemoryError)
    assert t_refuse < 0.5, (t_refuse, t_scene)
    assert peak < 200e6  # O(N) work only (the positions are 4.8 MB); an N^2 block would be 640 GB
    assert exc.value.required >= 9 * 16 * 200_000**2


@pytest.mark.parametrize("case", ["direct", "electric-only direct", "iterative", "orders"])
def test_memory_estimate_bounds_the_measured_peak(case):
    """The estimate is an upper bound of the tracemalloc peak within 60 %, and the memory kept by the
    Solution is exactly the nbytes of its stored operator (and LU factors)."""
    rng = np.random.default_rng(7)
    pos = rng.uniform(0, 2e-5, (120, 3))
    part = cd.Sphere(radius=50e-9, index=1.45, model="rayleigh" if case.startswith("electric") else "mie")
    sc = cd.Scene(positions=pos, particles=part, illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    kw = {"orders": 3} if case == "orders" else {"method": case.split()[-1]}
    tracemalloc.start()
    sol = solve_coherent(sc, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = sol.info["estimate"]
    assert peak <= est["bytes"] <= 1.6 * peak
    op = sol._operator
    kept = op.g.nbytes + op.K.nbytes + (sol._lu.lu[0].nbytes if sol._lu is not None else 0)
    assert est["bytes_kept"] == kept


def test_force_overrides_the_memory_refusal(monkeypatch):
    """With (pretend) no memory the solve refuses; force=True solves anyway and gives the ordinary answer."""
    sc = cd.Scene(positions=[[0, 0, 0], [0, 0, 600e-9]], particles=cd.Sphere(radius=50e-9, index=1.45),
                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    ref = cd.solve(sc)
    monkeypatch.setattr(solver, "available_memory", lambda: 1024)
    with pytest.raises(ResourceError, match="only 9.54e-07 GiB"):
        cd.solve(sc)
    forced = cd.solve(sc, force=True)
    assert_allclose(forced.p, ref.p, rtol=1e-14)  # same code path, same numbers
    # incoherent groups are all held at once: two groups need more than one
    one = estimate_resources(1000, "direct")["bytes"]
    two = estimate_resources(1000, "direct", n_solves=2)
    assert two["bytes"] == one + two["bytes_kept"]
