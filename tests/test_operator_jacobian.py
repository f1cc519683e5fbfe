"""Matrix-free force Jacobian on chosen dofs (force_jacobian(method="operator")) and many-RHS solves.

Oracles:
* the dense method of force_jacobian (one LU of the assembled 6N system, every pair tensor stored), itself
  checked against finite differences in tests/test_jacobian.py — the operator method shares only the pair
  functions of cdsolve.optics.green with it (the response is solved by lockstep GMRES on the operator, the
  force rows come from the operator's field gradients);
* central differences of Solution.forces() of FFT solutions (independent of both Jacobian methods);
* numpy.linalg.solve of the assembled dense matrix for solve_many.
Tolerances: the response solves stop at a relative residual rtol (1e-12 here), so the Jacobians agree to
~1e-10 of their largest entry (measured 1.5e-11 to 2e-10); 1e-8 leaves room for the conditioning.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.dynamics.jacobian import force_jacobian, select_dofs
from cdsolve.optics import materials
from cdsolve.scattering.multi_rhs import apply_w_chi, solve_many
from cdsolve.scattering.solver import CouplingOperator

LAM = 1064e-9
TOL = 1e-8  # relative to the largest Jacobian entry (see the module docstring)


def _chain(n, a=600e-9, axis=0):
    pos = np.zeros((n, 3))
    pos[:, axis] = np.arange(n) * a
    return pos


def _plane():
    return cd.PlaneWave(wavelength=LAM, direction=(0.3, 0.0, 1.0), polarization=(1.0, 0.4j, -0.3), intensity=1e9)


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("particle", [cd.Sphere(radius=50e-9, index=1.45),
                                      cd.Sphere(radius=90e-9, material=materials.silicon()),
                                      cd.Sphere(radius=60e-9, index=1.6, model="rayleigh")],
                         ids=["silica-mie", "silicon-e+m", "electric-only"])
def test_operator_method_equals_dense_method(particle, rng):
    pos = _chain(10) + rng.normal(scale=40e-9, size=(10, 3))
    tweezers = [cd.GaussianTweezer(wavelength=LAM, focus=p + rng.uniform(-80e-9, 80e-9, 3), waist=1e-6, power=0.05,
                                   phase=rng.uniform(0, 2 * np.pi)) for p in pos]
    for beams in (_plane(), tweezers):
        sol = cd.solve(cd.Scene(positions=pos, particles=particle, illumination=beams), method="direct")
        J = force_jacobian(sol, method="dense")
        assert_allclose(force_jacobian(sol, method="operator", rtol=1e-12), J, rtol=0, atol=TOL * np.abs(J).max())
        dofs = [2, 5, 9, 13, 29]  # a scattered subset: rows and columns of the full matrix
        assert_allclose(force_jacobian(sol, dofs, method="operator", rtol=1e-12), J[np.ix_(dofs, dofs)],
                        rtol=0, atol=TOL * np.abs(J).max())


def test_fft_chain_z_dofs_equal_dense(rng):
    """The case of the issue at small N: z-motion of a chain from the FFT operator ("auto" picks "operator")."""
    scene = cd.Scene(positions=_chain(150), particles=cd.Sphere(radius=50e-9, index=1.45), illumination=_plane())
    fft = cd.solve(scene, method="fft", rtol=1e-13)
    J_op = force_jacobian(fft, "z", rtol=1e-12)
    J_dense = force_jacobian(cd.solve(scene, method="direct"), "z")
    assert _rel(J_op, J_dense) < TOL


def test_fft_lattice_jacobian_matches_finite_differences():
    """Independent oracle: central differences of the forces (Richardson, steps 2 and 1 nm; the displaced
    configurations are off the grid, so they are solved densely)."""
    x = np.arange(6) * 600e-9
    X, Y = np.meshgrid(x, x, indexing="ij")
    pos = np.c_[X.ravel(), Y.ravel(), np.zeros(36)]
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=90e-9, material=materials.silicon()),
                     illumination=_plane())
    J = force_jacobian(cd.solve(scene, method="fft", rtol=1e-13), method="operator", rtol=1e-12)
    cols = [0, 22, 50, 107]
    h = 2e-9
    fd = np.zeros((3 * 36, len(cols)))
    for c, q in enumerate(cols):
        def deriv(step):
            d = np.zeros(3 * 36)
            d[q] = step
            Fp = cd.solve(scene.with_positions(pos + d.reshape(36, 3)), method="direct").forces().ravel()
            Fm = cd.solve(scene.with_positions(pos - d.reshape(36, 3)), method="direct").forces().ravel()
            return (Fp - Fm) / (2 * step)
        fd[:, c] = (4 * deriv(h / 2) - deriv(h)) / 3
    # difference error O(h^4) and the solves' 1e-13 residual / 1 nm: 1e-6 of the largest entry (measured ~1e-8)
    assert_allclose(J[:, cols], fd, rtol=0, atol=1e-6 * np.abs(fd).max())


def test_operator_method_with_fmm(rng):
    fmm = pytest.importorskip("cdsolve.scattering.fmm_operator")
    if not fmm.fmm_available():
        pytest.skip("fmm3dpy >= 2.1 not installed")
    pos = rng.uniform(0, 2e-6, size=(16, 3))
    pos = pos[np.all(np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(16) > 300e-9, axis=1)]
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45), illumination=_plane())
    J = force_jacobian(cd.solve(scene, method="direct"), "z")
    J_fmm = force_jacobian(cd.solve(scene, method="fmm", rtol=1e-12), "z", rtol=1e-11)
    assert _rel(J_fmm, J) < 1e-7  # the FMM's gradients are good to ~1e-9 at its default precision


def test_incoherent_groups_sum_with_operator_method(rng):
    pos = _chain(6) + rng.normal(scale=30e-9, size=(6, 3))
    groups = cd.IncoherentBeams(groups=([cd.GaussianTweezer(wavelength=LAM, focus=p, waist=1e-6, power=0.05) for p in pos[:3]],
                                        [cd.GaussianTweezer(wavelength=LAM, focus=p, waist=1e-6, power=0.05) for p in pos[3:]]))
    sol = cd.solve(cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45), illumination=groups))
    J = force_jacobian(sol, method="dense")
    assert_allclose(force_jacobian(sol, method="operator", rtol=1e-12), J, rtol=0, atol=TOL * np.abs(J).max())


def test_bad_method_and_series_solutions_are_named_errors():
    scene = cd.Scene(positions=_chain(3), particles=cd.Sphere(radius=50e-9, index=1.45), illumination=_plane())
    with pytest.raises(ValueError, match="method must be one of"):
        force_jacobian(cd.solve(scene), method="sparse")
    with pytest.raises(ValueError, match="self-consistent"):
        force_jacobian(cd.solve(scene, orders=2), method="operator")


@pytest.mark.parametrize("magnetic", [False, True], ids=["electric-3N", "e+m-6N"])
def test_solve_many_equals_dense_solve(magnetic, rng):
    N = 30
    pos = _chain(N, a=400e-9) + rng.normal(scale=20e-9, size=(N, 3))
    chi_e = np.broadcast_to(np.diag([0.4 + 0.05j, 0.3 + 0.02j, 0.5 + 0.1j]), (N, 3, 3)).copy()
    chi_m = 0.2 * chi_e if magnetic else np.zeros_like(chi_e)
    op = CouplingOperator(pos, 2 * np.pi / LAM, chi_e, chi_m)
    B = rng.standard_normal((6 * N, 7)) + 1j * rng.standard_normal((6 * N, 7))
    B[:, 3] = 0.0  # a zero column is solved by zero
    X, info = solve_many(op, B, rtol=1e-12)
    assert info["converged"] and info["residual"] <= 1e-12
    assert info["system"] == ("full (6N)" if magnetic else "electric (3N)")
    A = op.dense()
    # the residual bound 1e-12 times the condition number (< 1e2 here) bounds the error
    assert_allclose(X, np.linalg.solve(A, B), rtol=0, atol=1e-9 * np.abs(X).max())
    assert np.all(X[:, 3] == 0)
    # W chi applied to many columns = the dense matrix (1 - A) times them
    assert_allclose(apply_w_chi(op, B), B - A @ B, rtol=0, atol=1e-12 * np.abs(B - A @ B).max())


def test_solve_many_reports_an_unconverged_solve(rng):
    N = 20
    op = CouplingOperator(_chain(N, a=300e-9), 2 * np.pi / LAM, np.broadcast_to(2.0j * np.eye(3), (N, 3, 3)).copy(),
                          np.zeros((N, 3, 3), complex))
    X, info = solve_many(op, rng.standard_normal((6 * N, 3)) + 0j, rtol=1e-14, maxiter=3)
    assert not info["converged"] and info["residual"] > 1e-14
    assert info["products"] <= 3 * info["blocks"]
    with pytest.raises(ValueError, match="B must have shape"):
        solve_many(op, np.zeros(6 * N))
    with pytest.raises(ValueError, match="rtol"):
        solve_many(op, np.zeros((6 * N, 1)), rtol=0.0)
    with pytest.raises(ValueError, match="maxiter"):
        solve_many(op, np.zeros((6 * N, 1)), maxiter=1)


def test_select_dofs_of_operator_method_match_full(rng):
    """Rows and columns of the operator Jacobian on 'z' are the z-submatrix of its full Jacobian."""
    scene = cd.Scene(positions=_chain(8) + rng.normal(scale=30e-9, size=(8, 3)),
                     particles=cd.Sphere(radius=50e-9, index=1.45), illumination=_plane())
    sol = cd.solve(scene)
    J = force_jacobian(sol, method="operator", rtol=1e-12)
    idx = select_dofs(8, "z")
    assert_allclose(force_jacobian(sol, "z", method="operator", rtol=1e-12), J[np.ix_(idx, idx)], rtol=0,
                    atol=1e-10 * np.abs(J).max())


@pytest.mark.parametrize("particle", [cd.Sphere(radius=50e-9, index=1.45), cd.Sphere(radius=60e-9, index=1.6, model="rayleigh")],
                         ids=["e+m", "electric-only"])
def test_fft_many_column_products_equal_dense(particle, rng):
    """FFTOperator.scatter_many / apply_g / apply_gx on R columns = the dense operator on each column (oracle: the
    dense blocks; the FFT products agree to 1e-12 of the largest entry, round-off of the transforms)."""
    x = np.arange(7) * 600e-9
    X, Y = np.meshgrid(x, x, indexing="ij")
    pos = np.c_[X.ravel(), Y.ravel(), np.zeros(49)][rng.permutation(49)[:40]]  # vacancies
    scene = cd.Scene(positions=pos, particles=particle, illumination=_plane())
    fft = cd.solve(scene, method="fft")._operator
    dense = cd.solve(scene, method="direct")._operator
    U = rng.standard_normal((6 * 40, 5)) + 1j * rng.standard_normal((6 * 40, 5))
    ref = apply_w_chi(dense, U)
    assert_allclose(fft.scatter_many(U), ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    V = U[: 3 * 40].reshape(40, 3, 5)
    for name in ("apply_g", "apply_gx"):
        want = getattr(dense, name)(V)
        assert_allclose(getattr(fft, name)(V), want, rtol=0, atol=1e-12 * np.abs(want).max())
    if not fft.has_magnetic:  # need_h=False leaves the magnetic rows zero
        assert np.all(fft.scatter_many(U, need_h=False)[3 * 40:] == 0)
