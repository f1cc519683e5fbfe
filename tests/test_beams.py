"""Tests of cdsolve.optics.beams: plane waves, paraxial Gaussian tweezers, coherent sums.

Every test names its independent oracle in a comment. Finite differences appear
only here (the library derivatives are analytic).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cdsolve.optics import beams as beams_mod
from cdsolve.optics.beams import BeamSum, GaussianTweezer, PlaneWave, as_illumination, beam_frame
from cdsolve.optics.conventions import C0, EPS0, MU0, Z0, intensity_from_amplitude, wavenumber

LAM = 1064e-9
N_M = 1.33
RNG_SEED = 20240607


def _levi():
    e = np.zeros((3, 3, 3))
    e[0, 1, 2] = e[1, 2, 0] = e[2, 0, 1] = 1.0
    e[0, 2, 1] = e[2, 1, 0] = e[1, 0, 2] = -1.0
    return e


def _central_fd(func, points, h):
    """Central differences of ``func(points) -> (F, G)``; returns (dF, dG) with dF[m, a, ...] = dF/dr_a."""
    outs = []
    for a in range(3):
        step = np.zeros(3)
        step[a] = h
        fp, gp = func(points + step)
        fm, gm = func(points - step)
        outs.append(((fp - fm) / (2 * h), (gp - gm) / (2 * h)))
    return np.stack([o[0] for o in outs], axis=1), np.stack([o[1] for o in outs], axis=1)


def _tweezer(**kw):
    args = dict(wavelength=LAM, focus=(0.3e-6, -0.2e-6, 0.5e-6), waist=1e-6, power=0.1, phase=0.7)
    args.update(kw)
    return GaussianTweezer(**args)


def _points_near_focus(tw, n, rng, n_medium=N_M):
    """Random points within +-2 w0 transversally and +-2 zR axially of the focus (lab frame)."""
    zr = tw.rayleigh_range(n_medium)
    local = rng.uniform(-1, 1, size=(n, 3)) * np.array([2 * tw.w0, 2 * tw.w0, 2 * zr])
    return np.asarray(tw.focus) + local @ beam_frame(tw.direction)


def _all_beams():
    s2 = np.sqrt(0.5)
    d = np.array([1.0, -2.0, 0.5])
    pol = np.cross(d, (0, 0, 1)) + 0.3j * np.cross(d, np.cross(d, (0, 0, 1)))  # elliptical, transverse
    pw = PlaneWave(LAM, direction=d, polarization=pol, intensity=3e9, phase=0.4)
    return {
        "planewave": pw,
        "tweezer_z": _tweezer(),
        "tweezer_xy": _tweezer(direction=(s2, s2, 0.0), polarization=(0, 0, 1)),
        "tweezer_y_circ": _tweezer(direction=(0, -1, 0), polarization=(1, 0, 1j)),
        "sum": _tweezer() + _tweezer(direction=(1, 0, 0), polarization=(0, 1, 0), na=0.4, waist=None, power=0.03)
        + PlaneWave(LAM, direction=(0, 0, -1), amplitude=2e6 * np.exp(0.3j)),
    }


# --------------------------------------------------------------------------- plane wave
def test_planewave_exact_maxwell():
    # Oracle: closed-form plane-wave relations (div E = 0, H = k^ x E / Z, I = n c eps0 |E|^2/2).
    rng = np.random.default_rng(RNG_SEED)
    d = np.array([0.3, -1.0, 2.0])
    pol = np.cross(d, [1.0, 0.0, 0.0]) + 1j * np.cross(d, [0.0, 1.0, 0.0])
    pw = PlaneWave(LAM, direction=d, polarization=pol, intensity=5e10, phase=-1.1)
    pts = rng.uniform(-3e-6, 3e-6, size=(50, 3))
    E, H = pw.fields(pts, N_M)
    dE, _ = pw.gradients(pts, N_M)
    khat = d / np.linalg.norm(d)
    e_scale = np.abs(E).max()
    k = wavenumber(LAM, N_M)
    # div E = trace(dE): exactly 0 analytically, rounding level 1e-12 relative to k |E|
    np.testing.assert_allclose(np.einsum("maa->m", dE), 0, atol=1e-12 * k * e_scale)
    # H = k^ x E / Z, Z = Z0 / n_m; rtol 1e-12 (pure rounding)
    np.testing.assert_allclose(H, np.cross(khat, E) * N_M / Z0, rtol=1e-12, atol=1e-14 * e_scale / Z0)
    # intensity recovered at every point; rtol 1e-12
    np.testing.assert_allclose(intensity_from_amplitude(np.linalg.norm(E, axis=1), N_M), 5e10, rtol=1e-12)
    # Helmholtz: trace of Hessian = -k^2 E; rtol 1e-12 relative to k^2 |E|
    d2E, _ = pw.hessians(pts, N_M)
    np.testing.assert_allclose(np.einsum("maai->mi", d2E), -(k**2) * E, atol=1e-12 * k**2 * e_scale)


def test_planewave_circular_and_phase():
    # Oracle: E.E = 0 for circular polarization; E(0) = amplitude exp(i phase) by definition.
    amp = 3.0e5 * np.exp(0.25j)
    pw = PlaneWave(LAM, polarization=(1, 1j, 0), amplitude=amp, phase=0.5)
    E, _ = pw.fields(np.array([[0.0, 0.0, 0.0], [1e-7, 2e-7, 3e-7]]), 1.0)
    np.testing.assert_allclose(np.einsum("mi,mi->m", E, E), 0, atol=1e-12 * abs(amp) ** 2)  # rounding
    np.testing.assert_allclose(E[0], amp * np.exp(0.5j) * np.array([1, 1j, 0]) / np.sqrt(2), rtol=1e-14)


def test_planewave_intensity_needs_medium():
    # Oracle: |E0| = sqrt(2 I / (n_m c eps0)), so |E|^2 scales as 1/n_m at fixed intensity.
    pw = PlaneWave(LAM, intensity=1e9)
    E1, _ = pw.fields([0.0, 0.0, 0.0], 1.0)
    E2, _ = pw.fields([0.0, 0.0, 0.0], 2.0)
    np.testing.assert_allclose(np.vdot(E1, E1).real, 2 * 1e9 / (C0 * EPS0), rtol=1e-13)
    np.testing.assert_allclose(np.vdot(E2, E2).real / np.vdot(E1, E1).real, 0.5, rtol=1e-13)


# --------------------------------------------------------------------------- derivatives vs FD
@pytest.mark.parametrize("name", list(_all_beams()))
def test_gradients_and_hessians_match_finite_differences(name):
    # Oracle: central finite differences (step 1e-4 lambda) of the lower-order method.
    # Truncation error ~ (k h)^2 / 6 ~ 1e-7 relative; tolerance 1e-6 of k^order * field scale.
    beam = _all_beams()[name]
    rng = np.random.default_rng(RNG_SEED)
    tw = _tweezer()
    pts = _points_near_focus(tw, 40, rng)
    k = wavenumber(LAM, N_M)
    h = 1e-4 * LAM
    E, H = beam.fields(pts, N_M)
    dE, dH = beam.gradients(pts, N_M)
    d2E, d2H = beam.hessians(pts, N_M)
    es, hs = np.abs(E).max(), np.abs(H).max()
    fd_dE, fd_dH = _central_fd(lambda p: beam.fields(p, N_M), pts, h)
    np.testing.assert_allclose(dE, fd_dE, rtol=0, atol=1e-6 * k * es)
    np.testing.assert_allclose(dH, fd_dH, rtol=0, atol=1e-6 * k * hs)
    fd_d2E, fd_d2H = _central_fd(lambda p: beam.gradients(p, N_M), pts, h)
    np.testing.assert_allclose(d2E, fd_d2E, rtol=0, atol=1e-6 * k**2 * es)
    np.testing.assert_allclose(d2H, fd_d2H, rtol=0, atol=1e-6 * k**2 * hs)
    # Hessians are symmetric in (a, b): exact up to rounding
    np.testing.assert_allclose(d2E, d2E.swapaxes(1, 2), rtol=0, atol=1e-12 * k**2 * es)
    np.testing.assert_allclose(d2H, d2H.swapaxes(1, 2), rtol=0, atol=1e-12 * k**2 * hs)


@pytest.mark.parametrize("name", ["tweezer_z", "tweezer_xy", "sum"])
def test_h_is_curl_e_over_i_omega_mu0(name):
    # Oracle: Faraday's law with curl E from central finite differences of E (step 1e-4 lambda);
    # tolerance 1e-6 of k |E| / (omega mu0).
    beam = _all_beams()[name]
    rng = np.random.default_rng(RNG_SEED + 1)
    pts = _points_near_focus(_tweezer(), 30, rng)
    E, H = beam.fields(pts, N_M)
    fd_dE, _ = _central_fd(lambda p: beam.fields(p, N_M), pts, 1e-4 * LAM)
    omega = 2 * np.pi * C0 / LAM
    curl = np.einsum("ijk,mjk->mi", _levi(), fd_dE)
    k = wavenumber(LAM, N_M)
    np.testing.assert_allclose(H, curl / (1j * omega * MU0), rtol=0, atol=1e-6 * k * np.abs(E).max() / (omega * MU0))


# --------------------------------------------------------------------------- tweezer physics
def _focal_plane_power(tw, n_medium, half_width_w0=6.0, n_grid=241):
    """Integral of Re(E x H*)_z / 2 over the focal plane (trapezoid = plain sum; edges ~exp(-72))."""
    w0 = tw.w0
    x = np.linspace(-half_width_w0 * w0, half_width_w0 * w0, n_grid)
    X, Y = np.meshgrid(x, x, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1) + np.asarray(tw.focus)
    E, H = tw.fields(pts, n_medium)
    sz = 0.5 * np.real(E[:, 0] * np.conj(H[:, 1]) - E[:, 1] * np.conj(H[:, 0]))
    return sz.sum() * (x[1] - x[0]) ** 2


@pytest.mark.parametrize("n_medium", [1.0, N_M])
def test_tweezer_power_flux(n_medium):
    # Oracle: the power P of the input; for this paraxial model the exact focal-plane flux of
    # Re(E x H*)/2 is P (1 - 1/(k w0)^2) (the Gouy/curvature term of dpsi/dz), derived by hand.
    # w0 = 1 um, lambda = 1064 nm: 1/(k w0)^2 = 2.9e-2 (vacuum), 1.6e-2 (water).
    tw = GaussianTweezer(LAM, focus=(1e-7, 0, -2e-7), waist=1e-6, power=0.2, polarization=(1, 1j, 0))
    k = wavenumber(LAM, n_medium)
    p_int = _focal_plane_power(tw, n_medium)
    # Gaussian on a grid of spacing w0/20: trapezoid is spectrally accurate -> rtol 1e-9
    np.testing.assert_allclose(p_int, 0.2 * (1 - 1 / (k * tw.w0) ** 2), rtol=1e-9)
    # na= input, NA = 0.05 -> w0 = 6.8 um, 1/(k w0)^2 < 6.3e-4: flux equals P to 1e-3
    tw_na = GaussianTweezer(LAM, na=0.05, power=0.2)
    np.testing.assert_allclose(tw_na.w0, LAM / (np.pi * 0.05), rtol=1e-15)
    np.testing.assert_allclose(_focal_plane_power(tw_na, n_medium, n_grid=161), 0.2, rtol=1e-3)


def test_tweezer_peak_intensity():
    # Oracle: I0 = 2 P / (pi w0^2) = n_m c eps0 |E0|^2 / 2 at the focus.
    tw = _tweezer()
    E, _ = tw.fields(tw.focus, N_M)
    np.testing.assert_allclose(intensity_from_amplitude(np.linalg.norm(E), N_M), 2 * 0.1 / (np.pi * 1e-12), rtol=1e-13)


def test_tweezer_gouy_phase_on_axis():
    # Oracle: arg E(0, 0, z) - k z = -arctan(z / zR) + phase (paper eq. (70), exp(-i omega t)).
    tw = GaussianTweezer(LAM, waist=0.8e-6, power=0.05, phase=0.9)
    k, zr = wavenumber(LAM, N_M), tw.rayleigh_range(N_M)
    np.testing.assert_allclose(zr, k * 0.8e-6**2 / 2, rtol=1e-15)
    z = np.linspace(-4 * zr, 4 * zr, 33)
    pts = np.stack([0 * z, 0 * z, z], axis=1)
    E, _ = tw.fields(pts, N_M)
    expected = np.exp(1j * (k * z - np.arctan(z / zr) + 0.9))
    np.testing.assert_allclose(E[:, 0] / np.abs(E[:, 0]), expected, atol=1e-12)  # compare unit phasors
    # on-axis amplitude falls as 1/sqrt(1 + z^2/zR^2)
    np.testing.assert_allclose(np.abs(E[:, 0]) / np.abs(E[16, 0]), 1 / np.sqrt(1 + (z / zr) ** 2), rtol=1e-13)
    np.testing.assert_allclose(E[:, 1:], 0, atol=0)


_S2 = np.sqrt(0.5)
_ROTATIONS = {
    "z_to_x": Rotation.from_euler("y", 90, degrees=True).as_matrix(),
    "z_to_xy": Rotation.align_vectors([[_S2, _S2, 0.0]], [[0.0, 0.0, 1.0]])[0].as_matrix(),
    "z_to_y": Rotation.from_euler("x", -90, degrees=True).as_matrix(),
    "z_to_minus_z": Rotation.from_euler("x", 180, degrees=True).as_matrix(),
    "random": Rotation.random(random_state=np.random.default_rng(RNG_SEED)).as_matrix(),
}


@pytest.mark.parametrize("rot_name", list(_ROTATIONS))
def test_tweezer_rotation_covariance(rot_name):
    # Oracle: rotational covariance. With Q a proper rotation and tw_Q the tweezer with focus,
    # polarization and direction rotated by Q:  E_Q(Q r) = Q E_z(r) (also H, a pseudovector, as
    # det Q = +1), dE_Q[a,i] = Q_aa' Q_ii' dE_z[a',i'], likewise for Hessians. Rounding-level, rtol 1e-10.
    Q = _ROTATIONS[rot_name]
    assert np.allclose(Q.T @ Q, np.eye(3)) and np.isclose(np.linalg.det(Q), 1.0)
    f0, e0 = np.array([0.2e-6, -0.4e-6, 0.1e-6]), np.array([1.0, 0.5j, 0.0])
    tw_z = GaussianTweezer(LAM, focus=f0, waist=0.9e-6, power=0.05, polarization=e0, phase=0.3)
    tw_q = GaussianTweezer(LAM, focus=Q @ f0, waist=0.9e-6, power=0.05, polarization=Q @ e0, phase=0.3,
                           direction=Q @ [0.0, 0.0, 1.0])
    rng = np.random.default_rng(RNG_SEED + 2)
    r = _points_near_focus(tw_z, 25, rng)
    rq = r @ Q.T
    for order, method in enumerate(("fields", "gradients", "hessians")):
        out_z = getattr(tw_z, method)(r, N_M)
        out_q = getattr(tw_q, method)(rq, N_M)
        for fz, fq in zip(out_z, out_q):
            expected = fz
            for axis in range(1, fz.ndim):  # rotate every tensor index
                expected = np.moveaxis(np.tensordot(expected, Q, axes=([axis], [1])), -1, axis)
            scale = np.abs(fz).max()
            np.testing.assert_allclose(fq, expected, rtol=0, atol=1e-10 * scale)


def test_beam_frame_orthonormal_right_handed():
    # Oracle: definition of a right-handed orthonormal frame with e_z' = d^ (incl. the +-y fallback).
    rng = np.random.default_rng(RNG_SEED)
    dirs = np.concatenate([rng.normal(size=(200, 3)), np.eye(3), -np.eye(3), [[1e-3, 1.0, 0.0]]])
    for d in dirs:
        R = beam_frame(d)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
        np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-14)
        np.testing.assert_allclose(R[2], d / np.linalg.norm(d), atol=1e-15)
    np.testing.assert_allclose(beam_frame((0, 0, 1)), np.eye(3), atol=0)


# --------------------------------------------------------------------------- sums and helpers
def test_beamsum_linearity_and_flattening():
    # Oracle: linearity of Maxwell's equations (fields and all derivatives add).
    a = _tweezer()
    b = _tweezer(direction=(0, 1, 0), polarization=(1, 0, 0), power=0.02)
    c = PlaneWave(LAM, direction=(1, 1, 1), polarization=(1, -1, 0), amplitude=1e6)
    s = a + b + c
    assert isinstance(s, BeamSum) and s.beams == (a, b, c)  # flattened
    assert (a + (b + c)).beams == (a, b, c)
    assert sum([a, b, c]).beams == (a, b, c)
    assert s.wavelength == LAM
    pts = _points_near_focus(a, 10, np.random.default_rng(RNG_SEED))
    for method in ("fields", "gradients", "hessians"):
        total = getattr(s, method)(pts, N_M)
        parts = [getattr(x, method)(pts, N_M) for x in (a, b, c)]
        for j in range(2):
            np.testing.assert_allclose(total[j], sum(p[j] for p in parts), rtol=1e-13, atol=0)


def test_as_illumination():
    # Oracle: the documented normalization rules.
    a, b = PlaneWave(LAM, amplitude=1.0), _tweezer()
    assert as_illumination(a) is a and as_illumination([a]) is a
    assert as_illumination((a, b)).beams == (a, b)
    with pytest.raises(ValueError, match="empty"):
        as_illumination([])
    with pytest.raises(ValueError, match=r"illumination\[1\]"):
        as_illumination([a, "laser"])
    with pytest.raises(ValueError, match="Beam"):
        as_illumination(3.0)
    with pytest.raises(ValueError, match=r"beams\[0\]"):
        BeamSum((None,))
    with pytest.raises(ValueError, match="at least one"):
        BeamSum(())


def test_point_shapes():
    # Oracle: documented shape contract (..., 3) -> (..., 3[, 3[, 3]]).
    tw = _tweezer()
    E, H = tw.fields([0.0, 0.0, 0.0], 1.0)
    assert E.shape == H.shape == (3,) and E.dtype == complex
    dE, dH = tw.gradients(np.zeros((4, 3)), 1.0)
    assert dE.shape == dH.shape == (4, 3, 3)
    d2E, d2H = tw.hessians(np.zeros((2, 5, 3)), 1.0)
    assert d2E.shape == d2H.shape == (2, 5, 3, 3, 3)
    np.testing.assert_array_equal(tw.fields(np.zeros((1, 3)), 1.0)[0][0], E)


# --------------------------------------------------------------------------- validation errors
@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: _tweezer(power=0.0), "zero beam power"),
        (lambda: _tweezer(power=-1.0), "power"),
        (lambda: _tweezer(power=None), "power"),
        (lambda: _tweezer(direction=(0, 0, 0)), "direction"),
        (lambda: _tweezer(polarization=(0, 0, 1)), "not transverse to direction"),
        (lambda: _tweezer(polarization=(0, 0, 0)), "polarization"),
        (lambda: _tweezer(na=0.3), "exactly one of waist and na"),
        (lambda: _tweezer(waist=None), "exactly one of waist and na"),
        (lambda: _tweezer(waist=-1e-6), "waist"),
        (lambda: _tweezer(wavelength=-1064e-9), "wavelength"),
        (lambda: _tweezer(focus=(0, np.nan, 0)), "focus"),
        (lambda: _tweezer(focus=(0, 0)), "focus"),
        (lambda: _tweezer(phase=np.inf), "phase"),
        (lambda: PlaneWave(LAM, intensity=0.0), "zero beam power"),
        (lambda: PlaneWave(LAM, amplitude=0j), "zero beam power"),
        (lambda: PlaneWave(LAM), "exactly one of intensity and amplitude"),
        (lambda: PlaneWave(LAM, intensity=1.0, amplitude=1.0), "exactly one of intensity and amplitude"),
        (lambda: PlaneWave(LAM, direction=(0, 0, 0), intensity=1.0), "direction"),
        (lambda: PlaneWave(LAM, direction=(1, 1, 0), polarization=(1, 0, 0), intensity=1.0), "not transverse"),
        (lambda: PlaneWave(0.0, intensity=1.0), "wavelength"),
        (lambda: PlaneWave(LAM, intensity=1.0) + PlaneWave(532e-9, intensity=1.0), "1.064e-06.*5.32e-07"),
    ],
)
def test_validation_errors(factory, match):
    # Oracle: the documented ValueError messages name the offending field and value.
    with pytest.raises(ValueError, match=match):
        factory()


def test_evaluation_errors():
    # Oracle: documented argument checks at evaluation time.
    tw = _tweezer()
    with pytest.raises(ValueError, match="n_medium"):
        tw.fields(np.zeros(3), -1.0)
    with pytest.raises(ValueError, match="n_medium"):
        tw.fields(np.zeros(3), 1.3 + 0.1j)
    with pytest.raises(ValueError, match="shape"):
        tw.fields(np.zeros((4, 2)), 1.0)
    with pytest.raises(ValueError, match="finite"):
        tw.fields([0.0, np.nan, 0.0], 1.0)


def test_frozen_and_normalized():
    # Oracle: frozen dataclass semantics; stored unit vectors.
    pw = PlaneWave(LAM, direction=(0, 0, 2), polarization=(3, 4j, 0), intensity=1.0)
    assert pw.direction == (0.0, 0.0, 1.0)
    np.testing.assert_allclose(pw.polarization, (0.6, 0.8j, 0.0), rtol=1e-15)
    with pytest.raises(AttributeError):
        pw.wavelength = 1e-6  # type: ignore[misc]
    assert pw == PlaneWave(LAM, direction=(0, 0, 5), polarization=(3, 4j, 0), intensity=1.0)
    assert hash(pw) == hash(PlaneWave(LAM, direction=(0, 0, 5), polarization=(3, 4j, 0), intensity=1.0))


def test_docstring_examples():
    # Oracle: the module's own doctest examples.
    result = doctest.testmod(beams_mod, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_grouped_tweezer_sum_equals_member_sum():
    """Same-shape tweezers in a BeamSum are evaluated together from one template: the fields, gradients and
    Hessians equal the sum of the members evaluated one by one (round-off)."""
    from cdsolve.optics.beams import BeamSum, GaussianTweezer

    rng = np.random.default_rng(7)
    members = [GaussianTweezer(wavelength=1064e-9, focus=tuple(rng.uniform(-2e-6, 2e-6, 3)), na=0.6,
                               power=rng.uniform(0.01, 0.3), phase=rng.uniform(0, 6), polarization=(0, 1, 0))
               for _ in range(5)]
    members.append(GaussianTweezer(wavelength=1064e-9, waist=1.3e-6, power=0.1))  # a different shape
    pts = rng.uniform(-2e-6, 2e-6, size=(7, 3))
    E_sum, H_sum = BeamSum(members).field_jets(pts, 1.33, 2)
    for o in range(3):
        E_ref = sum(m.field_jets(pts, 1.33, 2)[0][o] for m in members)
        H_ref = sum(m.field_jets(pts, 1.33, 2)[1][o] for m in members)
        np.testing.assert_allclose(E_sum[o], E_ref, rtol=1e-12, atol=1e-12 * np.abs(E_ref).max())
        np.testing.assert_allclose(H_sum[o], H_ref, rtol=1e-12, atol=1e-12 * np.abs(H_ref).max())


def test_tweezer_array_skips_only_contributions_below_round_off(rng):
    """Oracle: the sum of every tweezer evaluated alone (no skipping). The grouped evaluation drops
    tweezers whose envelope is < exp(-50) of the strongest at a point; per point, the fields and their
    derivatives must agree to 1e-14 of that point's own largest value (round-off)."""
    from cdsolve.optics.beams import BeamSum, GaussianTweezer

    foci = np.array([(i, j, 0.0) for i in range(12) for j in range(10)]) * 1.2e-6
    tw = [GaussianTweezer(wavelength=1064e-9, focus=tuple(f), waist=0.8e-6, power=0.1 * (1 + (i % 3)), phase=0.3 * i)
          for i, f in enumerate(foci)]
    pts = np.concatenate([foci + rng.normal(scale=0.2e-6, size=foci.shape),
                          rng.uniform(-3e-6, 16e-6, size=(40, 3)) * [1, 1, 0.3]])  # incl. dark regions
    E_grp, H_grp = BeamSum(tuple(tw)).field_jets(pts, 1.0, 2)
    alone = [t.field_jets(pts, 1.0, 2) for t in tw]
    for part, grp in ((0, E_grp), (1, H_grp)):
        for o in range(3):
            ref = sum(a[part][o] for a in alone)
            scale = np.abs(ref).reshape(len(pts), -1).max(axis=1)
            err = np.abs(grp[o] - ref).reshape(len(pts), -1).max(axis=1)
            assert np.all(err <= 1e-14 * scale), (part, o, (err / scale).max())
