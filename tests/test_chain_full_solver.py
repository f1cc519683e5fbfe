"""Phase-gradient tweezer chain from the full solver (issue #4 acceptance).

Oracle: the quantum optical-binding theory (Rudolph et al. 2024, Sec. IV.B.5): with nearest-neighbour
phase difference pi/4 and spacing (2 pi n + pi/4)/k, the far-field couplings are C cos(m(kd - phi))/m > 0 in
one direction and C cos(m(kd + phi))/m = C cos(m pi/2)/m (0, -1/2, 0, +1/4, ...) in the other; and the
Hatano-Nelson localization length 1/ln sqrt(t_R/t_L) for the nearest-neighbour truncation.
"""

import numpy as np
from numpy.testing import assert_allclose

import cdsolve as cd
from cdsolve.theory import chains
from cdsolve.workflow import geometry
from cdsolve.optics.conventions import EPS0

LAM, A = 1550e-9, 104e-9
K = 2 * np.pi / LAM
PARTICLE = cd.DipoleParticle(alpha_e=4 * np.pi * EPS0 * A**3 * (1.45**2 - 1) / (1.45**2 + 2), radius=A, density=2200)


def _couplings(n_sites):
    arr = geometry.chain(n_sites, (2 * np.pi * 2 + np.pi / 4) / K, axis="x", phase_gradient=-np.pi / 4,
                         polarization=(0, 1, 0), power=0.1)
    return -cd.linearize(arr.scene(PARTICLE, LAM, waist=1e-6), dofs="z").stiffness


def test_couplings_positive_one_way_alternating_the_other():
    """Measured (N = 40, middle site, relative to the nearest-neighbour forward coupling): forward
    1, 0.498, 0.332, 0.249, 0.199, 0.166 (~1/m); backward 0.020, -0.498, -0.002, 0.249, 0.000, -0.166.
    Deviations from the far-field values are the 1/kd near-field terms (kd = 13.4): tolerance 0.03."""
    C = _couplings(40)
    i = 20
    fwd = C[i, i + 1 : i + 7] / C[i, i + 1]
    bwd = C[i, i - 6 : i][::-1] / C[i, i + 1]
    m = np.arange(1, 7)
    assert np.all(fwd > 0)
    assert_allclose(fwd, 1 / m, atol=0.03)
    assert_allclose(bwd, np.cos(m * np.pi / 2) / m, atol=0.03)


def test_truncation_creates_skin_effect_long_range_chain_does_not():
    """Nearest-neighbour truncation of the bulk couplings is a Hatano-Nelson chain: right eigenvectors pile
    up at one end with 1/xi = ln sqrt(t_R/t_L) (~1.96 per site here); with the full long-range bulk
    couplings the median 1/xi is ~0 (measured -1.3e-3 per site at N = 40, +6e-4 at N = 200)."""
    C = _couplings(40)
    onsite, f, b = chains.bulk_couplings(C)
    bulk = chains.chain_couplings(np.real(f), 40, np.real(b), onsite=np.real(onsite))
    nn = chains.skin_analysis(chains.truncate(bulk, 1))
    expected = abs(chains.hatano_nelson_localization_length(np.real(b[0]), np.real(f[0])))
    assert_allclose(np.abs(np.nanmedian(nn.right.inverse_length)), 1 / expected, rtol=0.05)
    full = chains.skin_analysis(bulk)
    assert abs(np.nanmedian(full.right.inverse_length)) < 0.05 * abs(np.nanmedian(nn.right.inverse_length))
