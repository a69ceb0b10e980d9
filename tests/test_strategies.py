import numpy as np
import pytest
from helpers import brute_force_cosines
from hypothesis import given
from hypothesis import strategies as st

import packing.strategies
from packing.testing import strategies
from packing.testing.strategies import overlapping_sets, tegum_products, unit_packings


@given(unit_packings(n=(2, 7), d=st.integers(1, 4)))
def test_unit_packings_have_unit_rows_and_requested_shape(W):
    assert W.dtype == np.float64 and 2 <= W.shape[0] <= 7 and 1 <= W.shape[1] <= 4
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)


@given(tegum_products(blocks=(1, 4), block_n=(1, 4), block_d=(1, 3)))
def test_tegum_products_cross_block_pairs_are_orthogonal(case):
    W, labels = case
    assert labels.shape == (W.shape[0],)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)
    cos = brute_force_cosines(W)
    i, j = np.triu_indices(W.shape[0], 1)
    cross = labels[i] != labels[j]
    assert np.abs(cos[cross]).max(initial=0.0) < 1e-12
    # the labels are contiguous 0..k-1 and each block spans its own subspace
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))


@given(tegum_products(rotate=False))
def test_unrotated_tegum_products_are_block_diagonal(case):
    W, labels = case
    support = [set(np.flatnonzero(np.abs(W[labels == b]).sum(axis=0))) for b in np.unique(labels)]
    for a in range(len(support)):
        for b in range(a + 1, len(support)):
            assert not support[a] & support[b]


@given(overlapping_sets(n=(1, 12), d=(1, 4), with_labels=True))
def test_overlapping_sets_are_orthonormal_within_each_set(case):
    W, labels = case
    G = W @ W.T
    same = labels[:, None] == labels[None]
    np.testing.assert_allclose(G[same], np.eye(W.shape[0])[same], atol=1e-12)


@given(overlapping_sets(kind="mub", with_labels=True))
def test_mub_sets_are_unbiased(case):
    W, labels = case
    d = W.shape[1]
    G = np.abs(W @ W.T)
    np.testing.assert_allclose(G[labels[:, None] != labels[None]], 1 / np.sqrt(d), atol=1e-12)


@pytest.mark.parametrize(
    "factory, kwargs, exc, msg",
    [
        (unit_packings, dict(n=0), ValueError, "n must be >= 1"),
        (unit_packings, dict(d=(3, 1)), ValueError, r"d\[1\] must be >= 3"),
        (tegum_products, dict(rotate="yes"), TypeError, "rotate must be True, False or None"),
        (tegum_products, dict(block_n=1.5), TypeError, "block_n must be an integer"),
        (overlapping_sets, dict(kind="hadamard"), ValueError, "kind must be 'random' or 'mub'"),
    ],
)
def test_bad_strategy_arguments(factory, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        factory(**kwargs)


def test_strategies_are_keyword_only():
    with pytest.raises(TypeError):
        unit_packings(3)  # type: ignore[misc]


@given(unit_packings(n=(8, 12), d=1))
def test_one_dimensional_rows_are_signs(W):
    # every drawn row has a direction: in R^1 that is +1 or -1, never a zero row
    assert set(np.unique(W)) <= {-1.0, 1.0}


def test_old_import_path_is_an_alias():
    assert packing.strategies.tegum_products is strategies.tegum_products is tegum_products
    assert set(packing.strategies.__all__) == set(strategies.__all__)
