"""Kerker particles: directional scattering and the one-way optical interaction.

Oracles: the Kerker conditions themselves (far-field amplitude of p and m cancels exactly
backward for alpha_m = alpha_e/eps, forward for alpha_m = -alpha_e/eps; Jazayeri et al.) and the
scaling of the surviving quasi-static near field (downstream interaction force falls off faster
than the upstream one: ratio ~ (kL)^-2 or faster).
"""

import numpy as np
import pytest

import cdsolve as cd
from cdsolve.scattering.observables import far_field_amplitude

LAM = 1064e-9
SPHERE = cd.Sphere(radius=60e-9, index=3.5)


@pytest.mark.parametrize("condition,zero_dir,bright_dir", [(1, (0, 0, -1), (0, 0, 1)), (2, (0, 0, 1), (0, 0, -1))],
                         ids=["first-no-backscatter", "second-no-forward"])
@pytest.mark.parametrize("pol", [(1, 0, 0), (0, 1, 0), (1 / np.sqrt(2), 1j / np.sqrt(2), 0)], ids=["x", "y", "circ"])
def test_kerker_far_field_zero(condition, zero_dir, bright_dir, pol):
    """Single ideal Kerker particle: the scattered far field vanishes exactly (round-off) in one direction."""
    kp = cd.KerkerParticle(alpha_e=SPHERE, condition=condition, allow_gain=condition == 2)
    sol = cd.solve(cd.Scene(positions=[[0, 0, 0]], particles=kp,
                            illumination=cd.PlaneWave(wavelength=LAM, polarization=pol, intensity=1e9)))
    F0, F1 = far_field_amplitude(sol, [zero_dir, bright_dir])
    # two O(1) terms cancel; SI constants (eps0, c, mu0) in between leave ~1e-12 relative round-off
    assert np.linalg.norm(F0) < 1e-11 * np.linalg.norm(F1)
    assert np.linalg.norm(F1) > 0


def _pair_ratio(L, orders):
    kp = cd.KerkerParticle(alpha_e=SPHERE, condition=2, allow_gain=True)
    sc = cd.Scene(positions=[[0, 0, 0], [0, 0, L]], particles=kp, illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    f = cd.solve(sc, orders=orders).interaction_forces()
    return abs(f[1, 2]) / abs(f[0, 2])


@pytest.mark.parametrize("orders", [None, 1], ids=["self-consistent", "single-scattering"])
def test_second_kerker_pair_is_one_way(orders):
    """Two second-Kerker particles along the beam: the downstream particle barely feels the upstream one.

    Measured |f_down|/|f_up| (self-consistent / orders=1): 0.077/0.077 at L=400 nm,
    0.018/0.018 at 800 nm, 3.7e-3/3.3e-3 at 1.6 um, 6.3e-4/3.9e-4 at 3.2 um: only the quasi-static
    near field reaches downstream, so the ratio falls at least like L^-2.
    """
    ratios = np.array([_pair_ratio(L, orders) for L in (800e-9, 1600e-9, 3200e-9)])
    assert np.all(ratios < 0.02)
    slopes = np.diff(np.log2(ratios))
    assert np.all(slopes < -1.8)


def test_first_kerker_pair_is_not_one_way_downstream():
    """Contrast: first-Kerker particles scatter forward, so the downstream particle is pushed strongly."""
    kp = cd.KerkerParticle(alpha_e=SPHERE, condition=1)
    sc = cd.Scene(positions=[[0, 0, 0], [0, 0, 1600e-9]], particles=kp, illumination=cd.PlaneWave(wavelength=LAM, intensity=1e9))
    f = cd.solve(sc).interaction_forces()
    assert abs(f[1, 2]) > abs(f[0, 2])
