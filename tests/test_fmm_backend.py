"""FMM coupling operator (cdsolve.scattering.fmm_operator) against the dense CouplingOperator.

Oracle: the dense pair-by-pair propagators of cdsolve.scattering.solver.CouplingOperator for the
products, and cdsolve.optics.dipole_fields (closed-form Green-tensor derivatives summed pair by pair)
for the field gradients. Random positions are seeded and non-overlapping (minimum distance checked).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.scattering.fmm_operator import MIN_FMM3DPY, fmm_available  # noqa: E402

if not fmm_available():  # the fmm extra (CI installs it with the latest dependencies, not at the floors)
    pytest.skip(f"needs fmm3dpy >= {MIN_FMM3DPY} (pip install 'cdsolve[fmm]')", allow_module_level=True)

from cdsolve.optics.conventions import EPS0, Z0  # noqa: E402
from cdsolve.optics.dipole_fields import dipole_fields  # noqa: E402
from cdsolve.optics.polarizability import mie_dipole_polarizabilities  # noqa: E402
from cdsolve.scattering.fmm_operator import FMMOperator  # noqa: E402,F811
from cdsolve.scattering.solver import CouplingOperator  # noqa: E402

WL = 1064e-9
K = 2 * np.pi / WL
RADIUS = 80e-9


def _positions(n, box, seed):
    """n random points in a cube of side box [m], redrawn until no two are closer than 2.5 radii."""
    rng = np.random.default_rng(seed)
    from scipy.spatial import cKDTree

    pts = rng.uniform(0, box, (n, 3))
    while True:
        pairs = cKDTree(pts).query_pairs(2.5 * RADIUS, output_type="ndarray")
        if len(pairs) == 0:
            return pts
        pts[pairs[:, 1]] = rng.uniform(0, box, (len(pairs), 3))


def _chis(n, magnetic):
    if magnetic:  # silicon Mie sphere, n = 3.55 + 0.001i at 1064 nm: sizeable magnetic dipole
        ae, am = mie_dipole_polarizabilities(RADIUS, 3.55 + 0.001j, WL, 1.0)
    else:  # silica
        ae, am = mie_dipole_polarizabilities(RADIUS, 1.45, WL, 1.0), 0.0
        ae, am = ae[0], 0.0
    eye = np.eye(3) * np.ones((n, 1, 1))
    return K**3 * ae / EPS0 * eye, K**3 * am * eye


def _pair(n, box, seed, magnetic):
    pos = _positions(n, box, seed)
    ce, cm = _chis(n, magnetic)
    return pos, CouplingOperator(pos, K, ce, cm), FMMOperator(pos, K, ce, cm)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _check_all(n, box, seed, magnetic):
    pos, dense, fmm = _pair(n, box, seed, magnetic)
    rng = np.random.default_rng(seed + 1)
    u = rng.normal(size=6 * n) + 1j * rng.normal(size=6 * n)
    V = rng.normal(size=(n, 3, 2)) + 1j * rng.normal(size=(n, 3, 2))
    # FMM3D at eps = 1e-9 (default): products to 1e-9 relative (measured ~1e-13 here)
    assert _rel(fmm.scatter(u), dense.scatter(u)) < 1e-9
    assert _rel(fmm.matvec(u), dense.matvec(u)) < 1e-9
    assert _rel(fmm.apply_g(V), dense.apply_g(V)) < 1e-9
    assert _rel(fmm.apply_gx(V), dense.apply_gx(V)) < 1e-9
    # gradients: dipole_fields with p = eps0 ve / k^3, m = vh / (Z0 k^3) (the normalization of scatter)
    ve, vh = fmm.polarize(u)
    dE, dH = dipole_fields(pos, pos, EPS0 * ve / K**3, vh / (Z0 * K**3), K, 1.0, gradient=True, fields=False)
    gE, gZH = fmm.scattered_field_gradients(ve, vh)
    # finite-difference far part of the Hessians (module docs): measured 1e-9 .. 5e-9; tolerance 1e-8
    assert _rel(gE, dE) < 1e-8
    assert _rel(gZH, Z0 * dH) < 1e-8
    # and per particle (no particle hidden in the norm): 5x looser
    per = np.linalg.norm((gE - dE).reshape(n, -1), axis=1) / np.linalg.norm(dE.reshape(n, -1), axis=1)
    assert per.max() < 5e-8


@pytest.mark.parametrize("magnetic", [False, True])
def test_fmm_matches_dense_300(magnetic):
    _check_all(300, 4e-6, 3, magnetic)


@pytest.mark.slow
@pytest.mark.parametrize("magnetic", [False, True])
def test_fmm_matches_dense_2000(magnetic):
    _check_all(2000, 9e-6, 5, magnetic)


def test_scatter_of_electric_only_has_magnetic_field():
    # oracle: dense operator; ZH of electric dipoles (gx chi_e E) must be there even when chi_m = 0
    pos, dense, fmm = _pair(50, 2e-6, 7, False)
    u = np.random.default_rng(0).normal(size=300) + 0j
    s = fmm.scatter(u)
    assert np.linalg.norm(s[150:]) > 0
    assert_allclose(s, dense.scatter(u), rtol=0, atol=1e-9 * np.abs(dense.scatter(u)).max())  # FMM eps


def test_bad_input_is_named():
    pos = _positions(10, 1e-6, 1)
    ce, cm = _chis(10, False)
    with pytest.raises(ValueError, match="positions"):
        FMMOperator(pos[:, :2], K, ce, cm)
    with pytest.raises(ValueError, match="k must"):
        FMMOperator(pos, -1.0, ce, cm)
    with pytest.raises(ValueError, match="chi_e"):
        FMMOperator(pos, K, ce[:5], cm)
    with pytest.raises(ValueError, match="precision"):
        FMMOperator(pos, K, ce, cm, precision=0.5)
    with pytest.raises(ValueError, match="coincident"):
        FMMOperator(np.vstack([pos, pos[:1]]), K, np.concatenate([ce, ce[:1]]), np.concatenate([cm, cm[:1]]))
    with pytest.raises(ValueError, match="u must"):
        FMMOperator(pos, K, ce, cm).scatter(np.zeros(7))


def test_solve_and_forces_match_dense_with_one_gradient_stage():
    # oracle: the dense direct solve (LU) of the same scene: dipoles and forces. The FMM operator keeps the
    # last product: GMRES ends with a true residual on the solution, so the solver's apply_gx and residual and
    # the gradients' d B reuse it; FMM3D calls = GMRES products + 2 (gradient stage: sources, displaced targets)
    import cdsolve as cd

    pos = _positions(300, 4e-6, 11)
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=RADIUS, index=1.45),
                     illumination=cd.PlaneWave(wavelength=WL, intensity=1e9))
    sol = cd.solve(scene, method="fmm")
    F = sol.forces()
    op = sol._operator
    assert op.fmm_calls == sol.info["matvecs"] + 2
    ref = cd.solve(scene, method="direct")
    Fd = ref.forces()
    # solve at rtol = precision = 1e-10: dipoles to ~1e-10 (tolerance 1e-9); forces limited by the sixth-order
    # differences of the far Hessian (module docs: measured ~2e-9 relative): tolerance 1e-8 (the goal)
    assert _rel(sol.p, ref.p) < 1e-9
    assert _rel(F, Fd) < 1e-8


def test_gradients_with_and_without_the_cached_product_agree():
    # oracle: the same operator without a cache (fresh instance): d B from the cache or from the gradient call
    pos, _, fmm = _pair(120, 3e-6, 13, True)
    fresh = FMMOperator(pos, K, fmm.chi_e, fmm.chi_m)
    u = np.random.default_rng(2).normal(size=6 * 120) + 0j
    ve, vh = fmm.polarize(u)
    fmm.scatter(u)  # caches B, grad B of (ve, vh)
    calls = fmm.fmm_calls
    a = fmm.scattered_field_gradients(ve * (1 + 1e-16), vh)  # a rounding-level difference still hits the cache
    assert fmm.fmm_calls == calls + 2
    b = fresh.scattered_field_gradients(ve, vh)
    for x, y in zip(a, b):  # both at FMM eps 1e-9 (here FMM3D is ~1e-13): 1e-10
        assert _rel(x, y) < 1e-10
    fmm.scatter(2 * u)  # other densities: no stale cache
    c = fmm.scattered_field_gradients(ve, vh)
    assert _rel(c[0], b[0]) < 1e-10


@pytest.mark.parametrize("kind", ["gaussian", "focused"])
def test_tweezer_array_illumination_matches_dense(kind):
    # oracle: the dense direct solve; 40 random particles, each in its own tweezer (Gaussian NA 0.4 or
    # Richards-Wolf NA 0.6) 100 nm off its focus, random tweezer phases. Tolerances as in the test above.
    import cdsolve as cd

    pos = _positions(40, 5e-6, 17)
    rng = np.random.default_rng(3)
    foci = pos + rng.uniform(-100e-9, 100e-9, pos.shape)
    phases = rng.uniform(0, 2 * np.pi, len(pos))
    if kind == "gaussian":
        beams = [cd.GaussianTweezer(WL, focus=f, na=0.4, power=0.01, phase=float(ph)) for f, ph in zip(foci, phases)]
    else:
        beams = [cd.FocusedBeam(WL, na=0.6, power=0.01, focus=f, phase=float(ph), polarization=(1, 0, 0))
                 for f, ph in zip(foci, phases)]
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=RADIUS, index=1.45), illumination=cd.BeamSum(beams))
    sol = cd.solve(scene, method="fmm", check_validity=False)
    ref = cd.solve(scene, method="direct", check_validity=False)
    assert _rel(sol.p, ref.p) < 1e-9
    assert _rel(sol.forces(), ref.forces()) < 1e-8
