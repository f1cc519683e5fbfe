"""Optical-binding potentials, drive states, flat tweezers, landscapes and bound states (cdsolve.theory.binding_potentials).

Oracles: the paper's closed form (30) written out independently here; the solver's single-scattering
forces (cd.solve(scene, orders=1)); central finite differences; the paper's asymptotics (39)-(40);
Fock-space expectation values from QuTiP; Stokes' theorem for the closed-loop work.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.optics.conventions import EPS0, KB, amplitude_from_intensity
from cdsolve.optics.materials import SILICA_DRUDE_LORENTZ
from cdsolve.theory.binding_potentials import (CatState, CoherentMixture, CoherentState, FlatTweezers, SqueezedVacuum,
                                TweezerPair, binding_potentials_flat, bound_states, cat_photon_number_paper,
                                far_field_binding, line_landscape, near_field_binding, optical_potentials,
                                paper_squeezing_for_intensity, plane_landscape, squeezing_db,
                                squeezing_for_photon_number)

LAM = 1064e-9
K = 2 * np.pi / LAM
I0 = 1e10  # 1e-2 W/um^2


def eq30(r_vec, E_a, E_b, alpha_a, alpha_b):
    """Paper eq. (30), transcribed: U_A = c^2 mu0 alpha^2/(8 pi r^3) Re[h E_A^* . E_B - f (E_A^*.r^)(r^.E_B)]
    (c^2 mu0 = 1/eps0), h = e^{ikr}(1 - ikr - k^2r^2), f = e^{ikr}(3 - 3ikr - k^2r^2); alpha^2 -> alpha_A^* alpha_B."""
    r = np.linalg.norm(r_vec)
    rh = r_vec / r
    x = K * r
    h = np.exp(1j * x) * (1 - 1j * x - x * x)
    f = np.exp(1j * x) * (3 - 3j * x - x * x)
    val = h * np.vdot(E_a, E_b) - f * np.vdot(E_a, rh) * np.dot(rh, E_b)
    return np.real(np.conj(alpha_a) * alpha_b * val) / (8 * np.pi * EPS0 * r**3)


def _solver_force_order2(alpha, pos, phases, pol=(0, 1, 0)):
    """alpha^2 part of the orders=1 interaction force: F(alpha) = c2 alpha^2 + c3 alpha^3 exactly (flat
    tweezers, real or complex alpha scaled by a real factor), so c2 alpha^2 = 2 F(alpha) - F(2 alpha)/4."""
    tw = FlatTweezers(LAM, pos, I0, phases, pol)
    f = []
    for al in (alpha, 2 * alpha):
        sc = cd.Scene(positions=pos, particles=cd.DipoleParticle(alpha_e=al), illumination=tw)
        f.append(cd.solve(sc, orders=1).interaction_forces())
    return 2 * f[0] - f[1] / 4, f[0]


@pytest.mark.parametrize("dphi", [0.0, np.pi])
def test_solver_force_equals_minus_gradient_of_eq30(dphi):
    """Real alpha (silica R = 100 nm), flat tweezers, phases 0 and pi: the solver's single-scattering
    interaction force (alpha^2 part) equals -dU/dr of the transcribed eq. (30) by central differences
    (h = 1e-12 m; FD error ~1e-9) -> 1e-6 relative demanded (measured ~1e-10); U_A from the solver's
    fields (optical_potentials) equals eq. (30) to round-off."""
    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ)
    a = pair.alpha
    pos = np.array([[0.0, 0.0, 0.0], [1.1e-6, 0.2e-6, 0.05e-6]])
    f2, f1 = _solver_force_order2(a, pos, [0.0, dphi])
    E = FlatTweezers(LAM, pos, I0, [0.0, dphi], (0, 1, 0)).amplitudes(1.0)
    h = 1e-12
    fd = np.zeros(3)
    for c in range(3):
        d = np.zeros(3)
        d[c] = h
        # U_A depends on r_A - r_B; F_A = -dU_A/dr_A
        fd[c] = -(eq30(pos[0] + d - pos[1], E[0], E[1], a, a) - eq30(pos[0] - d - pos[1], E[0], E[1], a, a)) / (2 * h)
    assert_allclose(f2[0], fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    sc = cd.Scene(positions=pos, particles=cd.DipoleParticle(alpha_e=a), illumination=FlatTweezers(LAM, pos, I0, [0, dphi]))
    U = optical_potentials(sc)
    assert_allclose(U["binding"][0], eq30(pos[0] - pos[1], E[0], E[1], a, a), rtol=1e-12)
    assert_allclose(U["binding"][1], eq30(pos[1] - pos[0], E[1], E[0], a, a), rtol=1e-12)
    # the full orders=1 force carries an alpha^3 part: report its size (percent level for R = 100 nm)
    print(f"dphi={dphi:.3f}: |F(orders=1) - F_alpha^2| / |F_alpha^2| = "
          f"{np.abs(f1 - f2).max() / np.abs(f2).max():.3e}")


def test_complex_alpha_difference():
    """Complex alpha (radiatively corrected CM silica, R = 100 nm): the solver force is still exactly
    -grad of U_A with alpha_A^* alpha_B (flat tweezers; round-off), but the paper's literal alpha^2 form
    misses it: Im/Re alpha = 3.9e-2 shifts the phase of alpha^2 e^{ikr}; at r = 1.1 um (phase 0) the literal
    form's force is off by 13 % (reported; asserted only to be resolvable, > 1e-3)."""
    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ)
    a0 = pair.alpha
    a = a0 / (1 - 1j * K**3 * a0 / (6 * np.pi * EPS0))  # radiative correction
    pos = np.array([[0.0, 0.0, 0.0], [1.1e-6, 0.0, 0.0]])
    f2, _ = _solver_force_order2(a, pos, [0.0, 0.0])
    E = FlatTweezers(LAM, pos, I0, [0.0, 0.0], (0, 1, 0)).amplitudes(1.0)
    b = binding_potentials_flat(pos[1] - pos[0], E[0], E[1], a, a, K, order=1)
    assert_allclose(f2[0], b["dU_A"][0], rtol=1e-10, atol=1e-12 * np.abs(f2).max())  # F_A = +dU_A/dr
    h = 1e-12
    d = np.array([h, 0, 0])
    lit = lambda rv: eq30(rv, E[0], E[1], np.conj(a), a)  # noqa: E731  alpha^* alpha^* -> alpha^2 literal
    f_lit = -(lit(pos[0] + d - pos[1]) - lit(pos[0] - d - pos[1])) / (2 * h)
    rel = abs(f_lit - f2[0, 0]) / abs(f2[0, 0])
    print(f"complex alpha: Im/Re alpha = {a.imag / a.real:.3e}; literal alpha^2 force off by {rel:.3e}")
    assert 1e-3 < rel < 1.0


def test_nonconservative_loop_work_at_quarter_phase():
    """At dphi = pi/2 the interaction forces are not a gradient: the work of the solver forces around a
    rectangle in (x_A, x_B) (24-point Gauss-Legendre per side) equals Stokes' prediction
    dX [h(r1) - h(r2)], h = U_A' - U_B' (1e-8 demanded), and is non-zero; at dphi = 0 the loop work
    vanishes (< 1e-9 of the largest one-side work)."""
    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ)
    a = pair.alpha
    r1, r2, dX = 0.9e-6, 1.25e-6, 0.3e-6
    t, wt = np.polynomial.legendre.leggauss(24)
    t, wt = 0.5 * (t + 1), 0.5 * wt
    works = {}
    for dphi in (0.0, np.pi / 2):
        W = 0.0
        side_work = 0.0
        # corners in (x_A, x_B): (0, r1) -> (dX, dX + r1) -> (dX, dX + r2) -> (0, r2) -> back
        corners = [np.array([0.0, r1]), np.array([dX, dX + r1]), np.array([dX, dX + r2]), np.array([0.0, r2])]
        for c0, c1 in zip(corners, corners[1:] + corners[:1]):
            xs = c0[None, :] + t[:, None] * (c1 - c0)[None, :]
            Fx = []
            for xa, xb in xs:
                f2, _ = _solver_force_order2(a, np.array([[xa, 0, 0], [xb, 0, 0]]), [0.0, dphi])
                Fx.append([f2[0, 0], f2[1, 0]])
            w = float(wt @ (np.array(Fx) @ (c1 - c0)))
            W += w
            side_work = max(side_work, abs(w))
        E = FlatTweezers(LAM, [[0, 0, 0], [1, 0, 0]], I0, [0.0, dphi]).amplitudes(1.0)
        b = binding_potentials_flat(np.array([[r1, 0, 0], [r2, 0, 0]]), E[0], E[1], a, a, K, order=1)
        hfun = b["dU_A"][:, 0] - b["dU_B"][:, 0]
        works[dphi] = (W, dX * (hfun[0] - hfun[1]), side_work)
    W, pred, side = works[np.pi / 2]
    print(f"loop work at pi/2: {W:.4e} J = {W / KB:.2f} K k_B (Stokes prediction {pred:.4e} J); "
          f"at 0: {works[0.0][0]:.2e} J")
    assert_allclose(W, pred, rtol=1e-8)
    assert abs(W) > 1e-2 * side
    assert abs(works[0.0][0]) < 1e-9 * works[0.0][2]


def test_gaussian_tweezers_potential_is_force_potential(rng):
    """Real Gaussian tweezers (BeamSum) with a tiny real-alpha sphere (alpha^3 terms ~1e-8 relative):
    -d(U_trap + U_bind)_A / dr_A by central differences equals the solver's orders=1 force on A
    (1e-5 relative demanded; measured ~1e-8)."""
    a = 4 * np.pi * EPS0 * (5e-9) ** 3 * 0.3
    foci = np.array([[0.0, 0.0, 0.0], [1.2e-6, 0.0, 0.0]])
    beams = [cd.GaussianTweezer(LAM, focus=f, waist=0.8e-6, power=0.05, polarization=(0, 1, 0), phase=ph)
             for f, ph in zip(foci, (0.0, 0.7))]
    pos = foci + rng.normal(scale=50e-9, size=(2, 3))
    part = cd.DipoleParticle(alpha_e=a)
    F = cd.solve(cd.Scene(positions=pos, particles=part, illumination=beams), orders=1).forces()
    h = 1e-11
    fd = np.zeros(3)
    for c in range(3):
        d = np.zeros((2, 3))
        d[0, c] = h
        up = optical_potentials(cd.Scene(positions=pos + d, particles=part, illumination=beams))["total"][0]
        dn = optical_potentials(cd.Scene(positions=pos - d, particles=part, illumination=beams))["total"][0]
        fd[c] = -(up - dn) / (2 * h)
    assert_allclose(F[0], fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_landscape_matches_solver_and_asymptotics():
    """plane_landscape (vectorized Green tensor) equals optical_potentials (solver) at sample points
    (round-off), and the binding potential approaches eq. (39) for r << lambda (r = lambda/200: 1e-3) and
    eq. (40) for r >> lambda (r = 300 lambda: 1/(kr)-corrections, 2e-3)."""
    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, delta_phi=0.4)
    seps = np.array([[0.9e-6, 0, 0], [0.5e-6, 0.6e-6, 0.1e-6]])
    L = plane_landscape(pair, seps, include_casimir=False)
    for i, s in enumerate(seps):
        pos = np.array([[0, 0, 0], s])
        tw = FlatTweezers(LAM, pos, I0, [0.0, 0.4], (0, 1, 0))
        U = optical_potentials(cd.Scene(positions=pos, particles=cd.DipoleParticle(alpha_e=pair.alpha),
                                        illumination=tw))
        scale = np.abs(U["binding"]).max()  # near a zero crossing only absolute round-off is meaningful
        assert_allclose([L["binding_A"][i], L["binding_B"][i]], U["binding"], rtol=1e-12, atol=1e-13 * scale)
        assert_allclose([L["trap_A"][i], L["trap_B"][i]], U["trap"], rtol=1e-12)
    at = pair.alpha_tilde
    near = line_landscape(pair, [LAM / 200], include_casimir=False)["binding_A"]
    assert_allclose(near, near_field_binding(LAM / 200, I0, I0, 0.4, 100e-9, at), rtol=1e-3)
    far = line_landscape(pair, [300 * LAM + 0.1e-6], include_casimir=False)
    # delta_phi = phi_B - phi_A: sphere A sees cos(kr + dphi), B sees cos(kr - dphi)
    fa = far_field_binding(300 * LAM + 0.1e-6, I0, I0, 0.4, 100e-9, at, K)
    fb = far_field_binding(300 * LAM + 0.1e-6, I0, I0, -0.4, 100e-9, at, K)
    amp = abs(far_field_binding(300 * LAM, I0, I0, 0.0, 100e-9, at, K))
    assert_allclose(far["binding_A"], fa, atol=2e-3 * amp)
    assert_allclose(far["binding_B"], fb, atol=2e-3 * amp)


def test_polarization_cases_switch_binding_along_x():
    """xx polarization (dipoles along the separation): along x only the near-field -f term survives and
    the radiative 1/r far-field binding vanishes (dipoles do not radiate along their axis): at 20 lambda the
    xx binding is < 1e-2 of yy; xy: E_A^*.E_B = 0 and (E_A.x)(x.E_B) = 0 -> exactly 0 along x."""
    r = [20 * LAM]
    yy = line_landscape(TweezerPair(100e-9, SILICA_DRUDE_LORENTZ), r, include_casimir=False)["binding_A"]
    xx = line_landscape(TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, polarizations=((1, 0, 0), (1, 0, 0))), r,
                        include_casimir=False)["binding_A"]
    xy = line_landscape(TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, polarizations=((1, 0, 0), (0, 1, 0))), r,
                        include_casimir=False)["binding_A"]
    assert abs(xx[0]) < 1e-2 * abs(yy[0])
    assert abs(xy[0]) <= 1e-12 * abs(yy[0])


def test_paper_well_near_lambda_and_bound_states():
    """Paper's case (R = 100 nm silica, 1064 nm, 1e-2 W/um^2 each, 300 K, yy, separation along x, dphi = 0).
    Oracle for position/depth: an independent dense scan (1 nm grid) of the landscape minimum; bound states
    from the Jacobian agree with it and satisfy F_A = F_B = 0. Reported numbers (vs the paper's ~200 K):
    well at r = 1006.7 nm, depth 81.4 K below the flat-tweezer plateau, barrier 134.8 K to the next maximum."""
    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ)
    r = np.arange(600e-9, 1800e-9, 1e-9)
    L = line_landscape(pair, r)
    plateau = L["trap_A"][0]
    mins = np.flatnonzero((L["total_A"][1:-1] < L["total_A"][:-2]) & (L["total_A"][1:-1] < L["total_A"][2:])) + 1
    i = mins[np.argmin(np.abs(r[mins] - LAM))]
    bs = bound_states(pair, [r[i]])
    assert len(bs) == 1 and bs[0]["stable"] and bs[0]["static"]
    assert_allclose(bs[0]["r"], r[i], atol=1e-9)  # grid spacing
    depth = (plateau - bs[0]["potential_A"]) / KB
    maxs = np.flatnonzero((L["total_A"][1:-1] > L["total_A"][:-2]) & (L["total_A"][1:-1] > L["total_A"][2:])) + 1
    outer = maxs[maxs > i][0]
    barrier = (L["total_A"][outer] - bs[0]["potential_A"]) / KB
    no_cp = line_landscape(pair, [bs[0]["r"]], include_casimir=False)
    print(f"well at r = {bs[0]['r'] * 1e9:.1f} nm: depth {depth:.1f} K below plateau, barrier {barrier:.1f} K; "
          f"CP contribution {(L['casimir'][i]) / KB:.3e} K; without CP depth "
          f"{(plateau - no_cp['total_A'][0]) / KB:.1f} K; pair (U_A + U_B) depth {2 * depth:.1f} K")
    assert 70 < depth < 95  # order of magnitude of the paper's ~200 K (see report)
    assert 120 < barrier < 150


def test_bound_states_only_static_at_zero_and_pi():
    """Flat tweezers: static equilibria (F_A = F_B = 0) with a stable relative mode exist at dphi = 0 and pi
    but not at pi/2 (where F_A = F_B != 0 at every relative equilibrium: the pair drifts); the Jacobian
    has the neutral centre-of-mass eigenvalue 0 (round-off)."""
    guesses = np.linspace(0.8e-6, 2.4e-6, 5)
    res = {}
    for dphi in (0.0, np.pi / 2, np.pi):
        bs = bound_states(TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, delta_phi=dphi), guesses)
        for b in bs:
            assert abs(np.min(np.abs(b["eigenvalues"]))) <= 1e-8 * np.abs(b["eigenvalues"]).max()
        res[dphi] = [b for b in bs if b["stable"] and b["static"]]
    assert len(res[0.0]) >= 2 and len(res[np.pi]) >= 2
    assert len(res[np.pi / 2]) == 0


def test_bound_states_with_traps_from_jacobian():
    """With harmonic traps (k_t = 1e-6 N/m) equilibria exist at any phase; stability is decided by the
    2x2 Jacobian: its eigenvalues equal those of a central-difference Jacobian of the forces (1e-6)."""
    from cdsolve.theory.binding_potentials import _pair_forces_1d

    pair = TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, delta_phi=np.pi / 2, trap_stiffness=1e-6)
    bs = bound_states(pair, [1.0e-6], focus_separation=1.0e-6)
    assert len(bs) == 1
    x = bs[0]["x"]
    assert np.abs(bs[0]["forces"]).max() < 1e-9 * 1e-6 * 1e-6  # 1e-9 of k_t x (1 um)
    h = 1e-13
    J = np.zeros((2, 2))
    for j in range(2):
        d = np.zeros(2)
        d[j] = h
        J[:, j] = (_pair_forces_1d(pair, x + d, 1e-6, True)[0] - _pair_forces_1d(pair, x - d, 1e-6, True)[0]) / (2 * h)
    assert_allclose(bs[0]["jacobian"], J, rtol=1e-6, atol=1e-6 * np.abs(J).max())


# --------------------------------------------------------------------------- drive states
def test_drive_state_photon_numbers_against_qutip():
    """<a^dag a> of squeezed vacuum, cat states (even, odd, generic theta) and coherent mixtures equals the
    Fock-space expectation value from QuTiP (80 levels: truncation ~tanh(0.8)^80 ~ 1e-14 for the squeezed
    states, e^{-|beta|^2} |beta|^160/80! negligible for the cats)."""
    qutip = pytest.importorskip("qutip")
    n = 80
    a = qutip.destroy(n)
    num = a.dag() * a
    for r in (0.3, 0.8):
        psi = qutip.squeeze(n, r * np.exp(0.4j)) * qutip.basis(n, 0)
        assert_allclose(SqueezedVacuum(r, 0.4).photon_number, qutip.expect(num, psi), rtol=1e-10)
    for beta, theta in ((0.7, 0.0), (0.7, np.pi), (1.3 + 0.4j, 1.0), (2.0, np.pi)):
        plus = qutip.coherent(n, beta, method="analytic")
        minus = qutip.coherent(n, -beta, method="analytic")
        psi = (plus + np.exp(1j * theta) * minus).unit()
        assert_allclose(CatState(beta, theta).photon_number, qutip.expect(num, psi), rtol=1e-9)
    rho = 0.3 * qutip.coherent_dm(n, 1.2, method="analytic") + 0.7 * qutip.coherent_dm(n, -1.2, method="analytic")
    assert_allclose(CoherentMixture([1.2, -1.2], [0.3, 0.7]).photon_number, qutip.expect(num, rho), rtol=1e-10)
    assert_allclose(CoherentState(1.2).photon_number, 1.44, rtol=1e-15)


def test_paper_cat_factor_differs_from_exact():
    """Paper's factor 2 N^2|beta|^2 (1 - cos theta) = |beta|^2 (1 - cos theta)/(1 + o cos theta) vs the exact
    <a^dag a> = |beta|^2 (1 - o cos theta)/(1 + o cos theta), o = e^{-2|beta|^2} (QuTiP-checked above):
    equal at theta = pi/2 (exact identity) and as beta -> 0; even cats: paper 0, exact |beta|^2 tanh|beta|^2;
    large odd cats: paper 2|beta|^2 (its "enhanced by two"), exact |beta|^2 coth|beta|^2 -> |beta|^2."""
    b = np.sqrt(8.0)
    assert cat_photon_number_paper(b, 0.0) == 0.0
    assert_allclose(CatState(b, 0.0).photon_number, 8 * np.tanh(8.0), rtol=1e-12)
    assert_allclose(CatState(b, np.pi).photon_number, 8 / np.tanh(8.0), rtol=1e-12)
    assert_allclose(cat_photon_number_paper(b, np.pi), 16.0, rtol=1e-6)
    for beta in (0.3, 1.0 + 0.5j, 3.0):
        assert_allclose(cat_photon_number_paper(beta, np.pi / 2), CatState(beta, np.pi / 2).photon_number,
                        rtol=1e-12)
    assert_allclose(cat_photon_number_paper(1e-4, np.pi), CatState(1e-4, np.pi).photon_number, rtol=1e-7)


def test_squeezing_for_paper_numbers():
    """Paper Sec. III D: r ~ 27 and ~240 dB for 1e-2 W/um^2 at 1064 nm (their implicit 1 m^3 normalization;
    measured r = 27.66, 240.2 dB); r = asinh(sqrt(n)) gives sinh^2 r = n (exact identity)."""
    r = paper_squeezing_for_intensity(I0, LAM)
    print(f"paper squeezing: r = {r:.3f}, {squeezing_db(r):.1f} dB")
    assert 26.5 < r < 28.5 and 235 < squeezing_db(r) < 245
    for n in (0.0, 1.0, 1e23):
        assert_allclose(SqueezedVacuum(squeezing_for_photon_number(n)).photon_number, n, rtol=1e-12, atol=1e-15)


def test_bad_drive_and_tweezer_input():
    with pytest.raises(ValueError, match="SqueezedVacuum.r"):
        SqueezedVacuum(-0.1)
    with pytest.raises(ValueError, match="not normalizable"):
        CatState(0.0, np.pi)
    with pytest.raises(ValueError, match="probabilities"):
        CoherentMixture([1.0, 2.0], [0.6, 0.6])
    with pytest.raises(ValueError, match="probabilities"):
        CoherentMixture([1.0, 2.0], [1.5, -0.5])
    with pytest.raises(ValueError, match="intensities"):
        FlatTweezers(LAM, [[0, 0, 0]], -1.0)
    with pytest.raises(ValueError, match="foci"):
        FlatTweezers(LAM, [[0, 0]], 1.0)
    with pytest.raises(ValueError, match="TweezerPair.intensity"):
        TweezerPair(100e-9, SILICA_DRUDE_LORENTZ, intensity=0.0)
    with pytest.raises(ValueError, match="alpha_m = 0"):
        pos = [[0, 0, 0], [1e-6, 0, 0]]
        optical_potentials(cd.Scene(positions=pos, particles=cd.Sphere(radius=50e-9, index=1.45),
                                    illumination=FlatTweezers(LAM, pos, I0)))


def test_flat_tweezer_amplitude():
    """|E| of a flat tweezer is amplitude_from_intensity (conventions, exact) with its phase."""
    tw = FlatTweezers(LAM, [[0, 0, 0], [1e-6, 0, 0]], [I0, 2 * I0], [0.0, 0.3], (0, 1, 0))
    E = tw.amplitudes(1.0)
    assert_allclose(np.abs(E[:, 1]), [amplitude_from_intensity(I0, 1.0), amplitude_from_intensity(2 * I0, 1.0)],
                    rtol=1e-15)
    assert_allclose(np.angle(E[1, 1]), 0.3, rtol=1e-14)
