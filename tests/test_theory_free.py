"""Free candidate blocks (directions, norms and biases fitted to the expected loss): their defining
properties, their fitted loss against an independent Monte Carlo estimate, and their use by the DP."""

import numpy as np
import pytest

import packing
from packing import theory
from packing.theory._fit import fit_factor
from packing.theory._free import DEGENERATE, SPLIT_ATOL, fit_free

DENS = 0.05
IMP = 0.7 ** np.arange(5)


@pytest.fixture(scope="module")
def pentagon_fit():
    """A free 5-in-2 block for importances 0.7^i at density 0.05 (started from the regular pentagon)."""
    start = theory.free_block(5, 2)
    return fit_free(5, 2, np.full(5, DENS), IMP, directions=[start.directions])


def test_free_block_is_a_named_unit_start():
    s = theory.free_block(5, 2)
    assert s.free and not s.spread and s.name == "free (5 in 2)"
    assert s.directions.shape == (5, 2) and np.allclose(np.linalg.norm(s.directions, axis=1), 1)
    # it starts from the library polytope of the same size (the pentagon), which identify_shape names
    assert packing.identify_shape(s.directions).label == "pentagon"
    with pytest.raises(ValueError, match="D must be < m"):
        theory.free_block(3, 3)


def test_free_fit_keeps_every_member_and_does_not_split(pentagon_fit):
    loss, W, b = pentagon_fit
    assert np.isfinite(loss) and W.shape == (5, 2) and b.shape == (5,)
    norms = np.linalg.norm(W, axis=1)
    assert norms.min() > DEGENERATE * norms.max()
    U = W / norms[:, None]
    C = np.abs(U @ U.T)
    np.fill_diagonal(C, 0)
    # no member is orthogonal to all others (else it would be a tegum product of smaller blocks)
    assert (C.max(axis=1) > SPLIT_ATOL).all()


def test_free_fit_beats_the_regular_polytope_it_starts_from(pentagon_fit):
    loss, _, _ = pentagon_fit
    regular = fit_factor(
        packing.regular_polygon(5) @ packing.regular_polygon(5).T, np.full(5, DENS), IMP, share=False
    )[2]
    assert loss <= regular + 1e-7, (loss, regular)


def test_free_fit_loss_matches_monte_carlo(pentagon_fit):
    loss, W, b = pentagon_fit
    x = packing.sample_toy_batch(5, 1_000_000, density=DENS, dtype=np.float64, rng=7)[0]
    out = np.maximum(x @ W @ W.T + b, 0)
    per = ((x - out) ** 2 * IMP).sum(axis=1)
    mc, se = per.mean(), per.std() / np.sqrt(per.size)
    assert abs(loss - mc) <= 4 * se, (loss, mc, se)


def test_free_fit_rejects_a_tegum_split():
    # two antipodal pairs fill 2 dims best as a square (= two orthogonal digons): not a new block
    loss, W, _ = fit_free(4, 2, np.full(4, 0.3), np.ones(4), directions=[packing.regular_polygon(4)])
    assert loss == np.inf
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    assert np.sum(np.abs(U @ U.T) < SPLIT_ATOL) >= 4


def test_prediction_with_a_free_block_is_its_expected_loss_and_no_worse():
    kw = dict(density=DENS, importance=IMP)
    base = theory.predict_geometry(5, 2, **kw)
    shapes = theory.default_block_shapes() + [theory.free_block(5, 2)]
    free = theory.predict_geometry(5, 2, **kw, shapes=shapes)
    assert free.loss <= base.loss + 1e-7
    assert free.loss == pytest.approx(float(theory.expected_loss(free.W, free.b, **kw)), abs=1e-12)
