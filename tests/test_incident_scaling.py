"""Incident fields of tweezer arrays in O(N) (issue 16 item 3).

Oracle: the all-pairs evaluation (:func:`cdsolve.optics.beams.tweezer_jets` over every tweezer-point
pair with the e^-50 envelope rule) -- the neighbour search must keep exactly the same pairs, so the
sums agree bit for bit; and the number of evaluated pairs must grow like N, not N^2.
"""

import numpy as np
import pytest

import cdsolve as cd
from cdsolve.optics.beams import _kept_pairs, tweezer_array_jets, tweezer_jets


def array(n, rng, direction=(0, 0, 1), spacing=2e-6, jitter=0.0):
    g = np.arange(n) * spacing
    foci = np.stack(np.meshgrid(g, g, [0.0], indexing="ij"), -1).reshape(-1, 3)
    foci = foci + rng.normal(0, jitter, foci.shape) if jitter else foci
    pol = np.cross(direction, (1.0, 0.0, 0.0) if abs(direction[0]) < 0.9 else (0.0, 1.0, 0.0))
    tw = [cd.GaussianTweezer(1064e-9, focus=f, waist=0.7e-6, power=rng.uniform(0.05, 0.2),
                             phase=rng.uniform(0, 2 * np.pi), direction=direction, polarization=pol) for f in foci]
    return tw, foci


@pytest.mark.parametrize("direction", [(0, 0, 1), (0.3, -0.2, 1.0)])
def test_neighbour_search_equals_all_pairs_bit_for_bit(direction):
    rng = np.random.default_rng(11)
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    tw, foci = array(20, rng, tuple(d), jitter=0.2e-6)  # per-site phases/powers, jittered foci
    pts = np.concatenate([foci + rng.normal(0, 0.4e-6, foci.shape), rng.uniform(-2e-6, 40e-6, (50, 3))])
    ref = tweezer_jets(tw, pts[None] - foci[:, None], 1.0, 2, summed=True)
    new = tweezer_array_jets(tw, pts, 1.0, 2)
    for a, b in zip(ref, new):
        np.testing.assert_array_equal(a, b)  # same kept pairs, same summation order


def test_random_array_through_a_scene():
    # oracle: the per-tweezer sum of the public fields, tweezer by tweezer (no grouping at all)
    rng = np.random.default_rng(5)
    foci = rng.uniform(0, 30e-6, (60, 3)) * [1, 1, 0.1]
    tw = [cd.GaussianTweezer(1064e-9, focus=f, waist=0.8e-6, power=0.1, phase=rng.uniform(0, 6)) for f in foci]
    pts = foci + rng.normal(0, 0.2e-6, foci.shape)
    E = cd.BeamSum(tuple(tw)).fields(pts, 1.0)[0]
    E_ref = sum(t.fields(pts, 1.0)[0] for t in tw)
    # tolerance: the skipped pairs are below e^-50 ~ 2e-22 of the strongest field at each point
    np.testing.assert_allclose(E, E_ref, rtol=0, atol=1e-15 * np.abs(E_ref).max())


def test_evaluated_pairs_grow_like_n():
    rng = np.random.default_rng(2)
    counts = []
    for n in (10, 20, 40):
        tw, foci = array(n, rng)
        t_idx, *_ = _kept_pairs(tw, foci, 1.0)
        counts.append(len(t_idx) / n**2)  # pairs per particle
    # O(N): pairs per particle bounded (neighbours within ~7 waists), not growing with N (all pairs: N)
    assert max(counts) < 30 and counts[-1] < 1.5 * counts[0], counts
