"""Non-Hermitian eigenmodes, phases and exceptional points (cdsolve.dynamics.modes).

Oracles (named per test): closed-form spectra of the PT dimer, of the real 2x2
non-reciprocal spring matrix, of the damped oscillator and of the open Hatano-Nelson chain;
the closed-form PT-dimer Petermann factor; exact identities (biorthonormality, Petermann = 1
for normal matrices) on seeded random matrices.
"""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.dynamics.modes import (
    PHASES,
    classify,
    drift_matrix,
    eigenmodes,
    find_exceptional_points,
    mechanical_frequencies,
    phase_diagram,
    scan,
)

# --- PT dimer H = [[w0 + i g, k], [k, w0 - i g]]: EP at g = k, lambda = w0 +- sqrt(k^2 - g^2)
W0, KAPPA = 5.0, 1.0


def pt_dimer(g):
    return np.array([[W0 + 1j * g, KAPPA], [KAPPA, W0 - 1j * g]])


# --- non-reciprocal springs D = [[w1^2, c + a], [c - a, w2^2]] [1/s^2], SI-sized (50 kHz traps);
# EP where (w1^2 - w2^2)^2 + 4 c12 c21 = 0, i.e. a_EP = sqrt(c^2 + (w1^2 - w2^2)^2 / 4).
W1, W2 = 2 * np.pi * 50e3, 2 * np.pi * 52e3
C_REC = 0.01 * W1**2
A_EP = np.sqrt(C_REC**2 + (W1**2 - W2**2) ** 2 / 4)


def springs(a, c=C_REC):
    return np.array([[W1**2, c + a], [c - a, W2**2]])


def springs_closed_form(a, c=C_REC):
    mean, half = (W1**2 + W2**2) / 2, (W1**2 - W2**2) / 2
    root = np.sqrt(complex(half**2 + (c + a) * (c - a)))
    return np.array(sorted([mean - root, mean + root], key=lambda z: (z.real, z.imag)))


def test_pt_dimer_spectrum_ep_and_petermann_closed_form():
    """Oracle: PT dimer. lambda = w0 +- sqrt(k^2 - g^2); EP at g = k; H is complex symmetric so
    l = conj(r) and K = |r|^4 / |r^T r|^2 = k^2/(k^2 - g^2) (unbroken), g^2/(g^2 - k^2) (broken)."""
    gs = np.concatenate([np.linspace(0.0, 0.99, 12), np.linspace(1.01, 3.0, 12)])
    for g in gs:
        m = eigenmodes(pt_dimer(g))
        r = np.sqrt(complex(KAPPA**2 - g**2))
        expected = sorted([W0 - r, W0 + r], key=lambda z: (z.real, z.imag))
        assert_allclose(m.eigenvalues, expected, rtol=0, atol=1e-13)
        k_closed = (KAPPA**2 if g < KAPPA else g**2) / abs(KAPPA**2 - g**2)
        assert_allclose(m.petermann, k_closed, rtol=1e-12)
    s = scan(pt_dimer, gs)
    assert list(s.phases) == ["stable-unbroken"] * 12 + ["broken"] * 12
    (ep,) = find_exceptional_points(pt_dimer, gs)
    assert abs(ep.parameter - KAPPA) <= 1e-10 * KAPPA
    assert abs(ep.eigenvalue - W0) < 1e-7 and ep.overlap > 1 - 1e-6 and ep.petermann > 1e10


def test_spring_matrix_closed_form_spectrum_and_phases():
    """Oracle: mu = (w1^2 + w2^2)/2 +- sqrt(((w1^2 - w2^2)/2)^2 + c12 c21) on both sides of the EP."""
    for a in np.linspace(0.0, 3 * A_EP, 25):
        ph = classify(springs(a))
        assert_allclose(ph.eigenvalues, springs_closed_form(a), rtol=1e-12)
        if a < A_EP:
            assert ph.label == "stable-unbroken" and ph.complex_pairs == ()
        elif a > A_EP:
            assert ph.label == "broken" and ph.complex_pairs == ((0, 1),)
            assert ph.eigenvalues[0].imag < 0 < ph.eigenvalues[1].imag


def test_spring_ep_located_to_1e_10_with_eigenvector_collapse():
    """Oracle: closed-form EP a_EP = sqrt(c^2 + (w1^2 - w2^2)^2/4); measured error ~1e-15 relative."""
    eps = find_exceptional_points(springs, np.linspace(0.0, 3 * A_EP, 31))
    assert len(eps) == 1
    ep = eps[0]
    assert abs(ep.parameter - A_EP) <= 1e-10 * A_EP
    assert_allclose(ep.eigenvalue, (W1**2 + W2**2) / 2, rtol=1e-7)
    assert ep.overlap > 1 - 1e-6 and ep.petermann > 1e10 and ep.order == 2


def test_petermann_diverges_as_inverse_distance_to_ep():
    """Oracle: 2nd-order EP theory, K ~ |p - p_EP|^-1 and 1 - overlap ~ |p - p_EP| (splitting ~
    |p - p_EP|^(1/2)). Measured log-log slopes for relative distances 1e-2 .. 1e-6, below /
    above the EP: K -0.9996 / -0.9989 (K |p/p_EP - 1| -> 0.500), 1 - overlap +1.0000 / +0.9993,
    splitting +0.4993 / +0.5002. So K ~ 1/|p - p_EP| (not 1/|p - p_EP|^(1/2))."""
    d = np.logspace(-2, -6, 9)
    for side in (-1.0, 1.0):
        a = A_EP * (1 + side * d)
        K = np.array([eigenmodes(springs(x)).petermann.max() for x in a])
        s = scan(springs, a)
        assert np.all(np.diff(K) > 0) and np.all(np.diff(s.max_overlap) > 0)
        assert abs(np.polyfit(np.log(d), np.log(K), 1)[0] + 1.0) < 0.01
        assert abs(np.polyfit(np.log(d), np.log(1 - s.max_overlap), 1)[0] - 1.0) < 0.01
        assert abs(np.polyfit(np.log(d), np.log(s.min_splitting), 1)[0] - 0.5) < 0.01
        assert s.max_overlap[-1] > 1 - 1e-5


@pytest.mark.parametrize("complex_", [False, True])
def test_biorthonormality_random_matrices(rng, complex_):
    """Identity: left^H right = I to 1e-12 (measured worst ~6e-14), right/left residuals ~eps."""
    for n in (2, 3, 5, 8, 12):
        for _ in range(10):
            A = rng.normal(size=(n, n)) + (1j * rng.normal(size=(n, n)) if complex_ else 0)
            m = eigenmodes(A)
            assert np.abs(m.left.conj().T @ m.right - np.eye(n)).max() < 1e-12
            assert_allclose(np.linalg.norm(m.right, axis=0), 1.0, rtol=1e-14)
            scale = np.abs(A).max() * np.abs(m.left).max()
            assert np.abs(A @ m.right - m.right * m.eigenvalues).max() < 1e-13 * np.abs(A).max()
            assert np.abs(m.left.conj().T @ A - m.eigenvalues[:, None] * m.left.conj().T).max() < 1e-13 * scale
            assert np.all(m.petermann >= 1.0) and m.condition >= 1.0
            key = [(z.real, z.imag) for z in m.eigenvalues]
            assert all(key[i][0] <= key[i + 1][0] + 1e-10 * np.abs(m.eigenvalues).max() for i in range(n - 1))


def test_normal_matrices_have_petermann_one(rng):
    """Identity: normal matrices (Hermitian, real symmetric incl. degenerate, unitary) have K = 1."""
    n = 6
    X = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    mats = {
        "hermitian": X + X.conj().T,
        "symmetric": X.real + X.real.T,
        "degenerate": Q @ np.diag([1.0, 1.0, 2.0, 3.0, 3.0, 3.0]) @ Q.T,
        "unitary": np.linalg.qr(X)[0],
        "identity": np.eye(n),
    }
    for name, M in mats.items():
        m = eigenmodes(M)
        assert_allclose(m.petermann, 1.0, rtol=0, atol=1e-12, err_msg=name)
        assert abs(m.condition - 1.0) < 1e-12, name
        assert np.abs(m.left.conj().T @ m.right - np.eye(n)).max() < 1e-12, name


def test_defective_jordan_block_has_infinite_petermann():
    """Oracle: an exact Jordan block is an EP: no biorthonormal dual basis, K = inf."""
    m = eigenmodes([[1.0, 1.0], [0.0, 1.0]])
    assert np.all(np.isinf(m.petermann)) and m.condition > 1e14


def test_conjugate_pairs_sorted_with_negative_imaginary_part_first():
    """Convention: sort by real part (ties within 1e-10 s) then imaginary part."""
    m = eigenmodes([[0.0, 1.0], [-1.0, 0.0]])
    assert_allclose(m.eigenvalues, [-1j, 1j], atol=1e-15)
    assert_allclose(eigenmodes(np.diag([3.0, -1.0, 2.0])).eigenvalues, [-1, 2, 3])


@pytest.mark.parametrize("w,gamma", [(3.0, 0.4), (2.0, 5.0), (1.0, 2.0 - 1e-3)])
def test_damped_oscillator_closed_form(w, gamma):
    """Oracle: x'' = -w^2 x - gamma x' gives omega = -i gamma/2 +- sqrt(w^2 - gamma^2/4)
    (e^{-i omega t}: Im omega < 0, decay); checked on a 3-dof diagonal copy too."""
    root = np.sqrt(complex(w**2 - gamma**2 / 4))
    expected = np.array(sorted([-0.5j * gamma - root, -0.5j * gamma + root], key=lambda z: (z.real, z.imag)))
    f = mechanical_frequencies([[w**2]], damping=gamma)
    assert f.damped and f.frequencies.shape == (2,)
    assert_allclose(f.frequencies, expected, rtol=0, atol=1e-12 * w)
    assert np.all(f.frequencies.imag < 0)
    assert_allclose(f.modes.eigenvalues, f.frequencies)
    ws = np.array([w, 1.5 * w, 2.5 * w])
    f3 = mechanical_frequencies(np.diag(ws**2), damping=gamma)
    for wi in ws:
        r = np.sqrt(complex(wi**2 - gamma**2 / 4))
        for z in (-0.5j * gamma - r, -0.5j * gamma + r):
            assert np.min(np.abs(f3.frequencies - z)) < 1e-12 * wi


def test_drift_matrix_with_masses_matches_dynamical_matrix(rng):
    """Identity: the (x, p) drift matrix with M, K, Gamma is similar to the (x, v) one with
    D = M^-1 K (same spectrum), and it generates dx/dt = M^-1 p, dp/dt = -K x - M Gamma v."""
    n = 3
    K = rng.normal(size=(n, n)) + 5 * np.eye(n)
    m = rng.uniform(1.0, 3.0, size=n) * 1e-18  # kg
    G = np.diag(rng.uniform(0.1, 1.0, size=n))
    A = drift_matrix(K, m, G)
    Av = drift_matrix(K / m[:, None], None, G)
    assert_allclose(np.sort_complex(np.linalg.eigvals(A)), np.sort_complex(np.linalg.eigvals(Av)), rtol=1e-10)
    x, v = rng.normal(size=n), rng.normal(size=n)
    rate = A @ np.concatenate([x, m * v])
    assert_allclose(rate[:n], v, rtol=1e-12)
    assert_allclose(rate[n:], -K @ x - m * (G @ v), rtol=1e-12)
    with pytest.raises(ValueError):
        drift_matrix(K, -m)


def test_undamped_frequencies_branch():
    """Convention: omega = sqrt(mu) with Re omega >= 0; a real mu < 0 gives +i sqrt|mu|; a
    conjugate pair mu, mu* gives omega, omega* (one growing, one decaying)."""
    f = mechanical_frequencies(np.diag([4.0, -9.0]))
    assert not f.damped
    assert_allclose(f.frequencies, [3j, 2.0])
    f = mechanical_frequencies(springs(2 * A_EP))
    assert_allclose(f.frequencies**2, f.modes.eigenvalues, rtol=1e-14)
    assert np.all(f.frequencies.real > 0) and f.frequencies[0].imag < 0 < f.frequencies[1].imag


@pytest.mark.parametrize("n,t_l,t_r", [(8, 1.0, 1.0), (12, 1.5, 0.5), (10, 2.0, -0.7)])
def test_hatano_nelson_closed_form(n, t_l, t_r):
    """Oracle: the open N-site Hatano-Nelson chain (t_L above, t_R below the diagonal) has
    lambda_m = 2 sqrt(t_L t_R) cos(m pi/(N+1)), m = 1..N (purely imaginary if t_L t_R < 0)."""
    H = np.diag(np.full(n - 1, t_l), 1) + np.diag(np.full(n - 1, t_r), -1)
    exact = 2 * np.sqrt(complex(t_l * t_r)) * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
    exact = np.array(sorted(exact, key=lambda z: (round(z.real, 12), z.imag)))
    m = eigenmodes(H)
    assert_allclose(m.eigenvalues, exact, rtol=0, atol=1e-12)
    if t_l != t_r:  # non-Hermitian skin effect: strongly non-normal
        assert m.petermann.max() > 10


def test_classify_phases_and_tolerance():
    """Oracle: closed-form spectra of diagonal/2x2 matrices."""
    assert classify(np.diag([1.0, 2.0])).label == "stable-unbroken"
    ph = classify(np.diag([1.0, -2.0]))
    assert ph.label == "unstable" and ph.negative == (0,)
    assert classify(np.diag([0.0, 2.0])).label == "marginal"
    assert classify(np.diag([1e-12, 2.0]), rtol=1e-9).label == "marginal"
    ph = classify(springs(2 * A_EP))
    assert ph.label == "broken" and ph.tolerance == pytest.approx(1e-9 * np.abs(ph.eigenvalues).max())
    with pytest.raises(ValueError):
        classify([[1.0 + 1j, 0.0], [0.0, 2.0]])
    assert set(PHASES) == {"stable-unbroken", "broken", "unstable", "marginal"}


def test_several_eps_and_static_instability_on_one_path():
    """Oracle: block-diagonal D(p) = springs(a=p) + springs(a=p, c=0) + [p_s - p]: closed-form
    EPs at A_EP and at |w1^2 - w2^2|/2; the sign change of the last block (static instability)
    changes the label but is not an EP and must not be reported."""
    a_ep2 = abs(W1**2 - W2**2) / 2
    p_static = 1.5 * A_EP

    def D(p):
        M = np.zeros((5, 5))
        M[:2, :2], M[2:4, 2:4], M[4, 4] = springs(p), springs(p, c=0.0), (p_static - p) * 1e2
        return M

    params = np.linspace(0.5 * a_ep2, 2 * A_EP, 40)
    s = scan(D, params)
    assert {"stable-unbroken", "broken", "unstable"} <= set(s.phases)
    eps = find_exceptional_points(D, params)
    assert len(eps) == 2
    assert_allclose([e.parameter for e in eps], sorted([a_ep2, A_EP]), rtol=1e-10)
    vec = find_exceptional_points(lambda p: np.stack([D(x) for x in p]), params, vectorized=True)
    assert [e.parameter for e in vec] == [e.parameter for e in eps]


def test_diabolic_point_is_not_reported_as_ep():
    """Oracle: D = [[1, p], [-p, 1]] has mu = 1 +- i p; at p = 0 it is the identity (a
    degeneracy with orthogonal eigenvectors, not an EP): the phase changes there but the
    eigenvectors do not collapse, so nothing is reported and a RuntimeWarning says why."""
    with pytest.warns(RuntimeWarning, match="no eigenvector collapse"):
        eps = find_exceptional_points(lambda p: np.array([[1.0, p], [-p, 1.0]]), np.linspace(-1, 1, 11))
    assert eps == []


def test_phase_diagram_matches_discriminant_sign():
    """Oracle: for D = [[w1^2, c + a], [c - a, w2^2]] the phase is broken iff the discriminant
    (w1^2 - w2^2)^2 + 4 (c^2 - a^2) < 0 (points within 1e-6 of the boundary skipped)."""
    a = np.linspace(0.0, 2 * A_EP, 41)
    c = np.linspace(0.0, 1.5 * A_EP, 31)
    pd = phase_diagram(lambda x, y: springs(x, c=y), a, c)
    assert pd.labels.shape == (31, 41) == pd.codes.shape and pd.eigenvalues.shape == (31, 41, 2)
    X, Y = np.meshgrid(a, c)
    disc = (W1**2 - W2**2) ** 2 + 4 * (Y**2 - X**2)
    far = np.abs(disc) > 1e-6 * W1**4
    assert np.array_equal((pd.labels == "broken")[far], (disc < 0)[far])
    assert np.array_equal(np.asarray(PHASES)[pd.codes], pd.labels)

    def vec(x, y):
        out = np.empty(x.shape + (2, 2))
        out[..., 0, 0], out[..., 1, 1] = W1**2, W2**2
        out[..., 0, 1], out[..., 1, 0] = y + x, y - x
        return out

    assert np.array_equal(phase_diagram(vec, a, c, vectorized=True).labels, pd.labels)


def test_records_are_immutable_and_inputs_validated():
    m = eigenmodes(np.eye(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.condition = 2.0
    with pytest.raises(ValueError):
        m.eigenvalues[0] = 3.0
    for bad in (np.ones((2, 3)), np.ones(3), [[np.nan]]):
        with pytest.raises(ValueError):
            eigenmodes(bad)
    with pytest.raises(ValueError):
        scan(lambda p: np.eye(2), np.ones((2, 2)))
    params = np.linspace(0.0, 1.0, 3)
    scan(lambda p: np.eye(2) * (1 + p), params)
    params[0] = 0.5  # the caller's array is not frozen by the (read-only) record
    with pytest.raises(ValueError):
        scan(lambda p: np.eye(2), [1.0], vectorized=True)  # wrong stack shape
