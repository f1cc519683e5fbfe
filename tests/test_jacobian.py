"""Analytic force Jacobian (stiffness) against central finite differences of the forces.

Oracle: Richardson-extrapolated central differences of ``Solution.forces()`` (steps h and h/2,
error O(h^4)); agreement demanded to 1e-6 of the largest Jacobian entry (measured 1e-9 to 1e-8:
plain central differences converge as h^2 onto the analytic result, e.g. 2.4e-4, 2.4e-6, 2.4e-8 at
h = 3, 0.3, 0.03 nm for a compact 3-particle cluster).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.dynamics.jacobian import force_jacobian, select_dofs

LAM = 800e-9


def _positions(rng, n, spacing=0.6e-6, radius=60e-9):
    side = int(np.ceil(n ** (1 / 3))) + 1
    grid = np.array([(i, j, l) for i in range(side) for j in range(side) for l in range(side)], float)[:n]
    return grid * spacing + rng.uniform(-0.15, 0.15, size=(n, 3)) * spacing


def _transverse(direction, pol):
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    pol = np.asarray(pol, complex)
    return pol - d * (d @ pol)


CASES = [
    ("pair-mie-planewave", 2, cd.Sphere(radius=60e-9, index=2.0 + 0.1j), "plane"),
    ("pair-rayleigh-tweezers", 2, cd.Sphere(radius=60e-9, index=1.45, model="rayleigh"), "tweezers"),
    ("5-mie-tweezers", 5, cd.Sphere(radius=70e-9, index=3.5), "tweezers"),
    ("8-kerker-planewave", 8, cd.KerkerParticle(alpha_e=cd.Sphere(radius=60e-9, index=3.5), condition=1), "plane"),
    ("20-electric-planewave", 20, cd.Sphere(radius=50e-9, index=1.45, model="rayleigh"), "plane"),
    # anisotropic, rotated: non-diagonal polarizability tensors (the general branch of the response rows)
    ("4-ellipsoid-tweezers", 4, cd.Ellipsoid(semi_axes=(70e-9, 45e-9, 35e-9), index=1.6,
                                              orientation=((0.8, 0.6, 0.0), (-0.6, 0.8, 0.0), (0.0, 0.0, 1.0))),
     "tweezers"),
]


@pytest.mark.parametrize("name,n,particle,light", CASES, ids=[c[0] for c in CASES])
def test_analytic_jacobian_matches_finite_differences(name, n, particle, light, rng, fd_jacobian):
    pos = _positions(rng, n)
    if light == "plane":
        d = (0.3, -0.2, 1.0)
        beams = cd.PlaneWave(wavelength=LAM, direction=d, polarization=_transverse(d, (1, 0.4j, 0)), intensity=1e9)
    else:
        beams = [cd.GaussianTweezer(wavelength=LAM, focus=p + rng.uniform(-50e-9, 50e-9, 3), waist=0.9e-6, power=0.05,
                                    phase=rng.uniform(0, 2 * np.pi)) for p in pos]
    scene = cd.Scene(positions=pos, particles=particle, illumination=beams)
    J = force_jacobian(cd.solve(scene, method="direct"))
    cols = np.arange(3 * n) if n <= 5 else rng.choice(3 * n, size=6, replace=False)  # columns checked
    J_fd = fd_jacobian(scene, h=2e-9, cols=cols, richardson=True)
    assert_allclose(J[:, cols], J_fd, rtol=0, atol=1e-6 * np.abs(J_fd).max())


def test_dof_restriction_is_a_submatrix(rng):
    pos = _positions(rng, 4)
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=60e-9, index=2.0),
                     illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    sol = cd.solve(scene)
    J = force_jacobian(sol)
    for dofs in ("z", "xy", [0, 5, 7]):
        idx = select_dofs(4, dofs)
        assert_allclose(force_jacobian(sol, dofs=dofs), J[np.ix_(idx, idx)], rtol=1e-12, atol=1e-12 * np.abs(J).max())


def test_iterative_solution_gets_a_factorization(rng):
    """A GMRES solution has no LU: the Jacobian factorizes once itself and agrees with the direct path."""
    pos = _positions(rng, 3)
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=60e-9, index=2.0),
                     illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    Jd = force_jacobian(cd.solve(scene, method="direct"))
    Ji = force_jacobian(cd.solve(scene, method="iterative", rtol=1e-13))
    assert_allclose(Ji, Jd, rtol=0, atol=1e-9 * np.abs(Jd).max())


@pytest.mark.parametrize("orders", [0, 1, 2])
def test_finite_order_jacobian_matches_finite_differences(orders, rng):
    """The Jacobian of the order-n forces (single scattering for n = 1) is exact too."""
    pos = _positions(rng, 3)
    beams = [cd.GaussianTweezer(wavelength=LAM, focus=p, waist=0.9e-6, power=0.05, phase=ph)
             for p, ph in zip(pos, (0.0, 1.0, 2.5))]
    scene = cd.Scene(positions=pos, particles=cd.Sphere(radius=70e-9, index=3.5), illumination=beams)
    J = force_jacobian(cd.solve(scene, orders=orders))
    N = scene.n_particles

    def forces(sc):
        return cd.solve(sc, orders=orders).forces().ravel()

    def deriv(step):
        out = np.zeros((3 * N, 3 * N))
        for q in range(3 * N):
            d = np.zeros(3 * N)
            d[q] = step
            out[:, q] = (forces(scene.with_positions(pos + d.reshape(N, 3)))
                         - forces(scene.with_positions(pos - d.reshape(N, 3)))) / (2 * step)
        return out

    J_fd = (4 * deriv(1e-9) - deriv(2e-9)) / 3
    assert_allclose(J, J_fd, rtol=0, atol=1e-6 * np.abs(J_fd).max())


def test_bad_dofs_and_orders():
    scene = cd.Scene(positions=[[0, 0, 0], [1e-6, 0, 0]], particles=cd.Sphere(radius=60e-9, index=2.0),
                     illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    with pytest.raises(ValueError, match="dofs"):
        force_jacobian(cd.solve(scene), dofs="w")
    with pytest.raises(ValueError, match="dofs"):
        force_jacobian(cd.solve(scene), dofs=[0, 6])
