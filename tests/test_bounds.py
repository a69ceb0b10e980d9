import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import packing
from packing import (
    bound_table,
    bukh_cox_bound,
    coherence,
    exact_coherence,
    levenstein_bound,
    lower_bound,
    orthoplex_bound,
    welch_bound,
)


def test_exact_optima():
    # regular simplex: n = d + 1 lines with coherence 1/d
    for d in range(2, 10):
        assert lower_bound(d + 1, d) == pytest.approx(1 / d)
        assert welch_bound(d + 1, d) == pytest.approx(1 / d)
        assert bukh_cox_bound(d + 1, d) == pytest.approx(1 / d)
    assert lower_bound(6, 3) == pytest.approx(1 / math.sqrt(5))
    assert lower_bound(28, 7) == pytest.approx(1 / 3)
    assert lower_bound(36, 6) == pytest.approx(0.5)
    assert lower_bound(63, 7) == pytest.approx(0.5)
    assert levenstein_bound(36, 6) == pytest.approx(0.5)
    assert levenstein_bound(63, 7) == pytest.approx(0.5)
    assert lower_bound(5, 2) == pytest.approx(math.cos(math.pi / 5))
    assert lower_bound(3, 3) == 0.0 and lower_bound(1, 1) == 0.0
    assert lower_bound(4, 1) == 1.0


def test_simplex_attains_bound_numerically():
    # independent check: build the simplex by centring the standard basis of R^{d+1}
    for d in range(2, 7):
        E = np.eye(d + 1) - 1.0 / (d + 1)
        U, s, _ = np.linalg.svd(E)
        W = U[:, :d] * s[:d]
        assert coherence(W) == pytest.approx(1 / d, abs=1e-12)


def _records():
    return [(e.d, e.n, e.coherence, int(e.proven_optimal)) for e in packing.best_known_table()]


def test_no_record_below_lower_bound():
    rows = _records()
    assert len(rows) > 100
    for d, n, mu, _ in rows:
        # records are rounded to 10 decimals
        assert mu >= lower_bound(n, d) - 1e-9, (d, n, mu, lower_bound(n, d, return_name=True))
        for name, value in bound_table(n, d).items():
            if value is not None:
                assert mu >= value - 1e-9, (name, d, n)


def test_bounds_are_tight_where_records_are_proven_by_them():
    tight = [(d, n) for d, n, mu, _ in _records() if abs(mu - lower_bound(n, d)) < 1e-9]
    # 6 lines in R^3 (Welch / Bukh-Cox), 7 in R^3 (orthoplex), 6 in R^4 (Bukh-Cox), 10 in R^5 (Welch)
    for cell in [(3, 6), (3, 7), (4, 6), (5, 10), (4, 12), (5, 16)]:
        assert cell in tight


@given(st.integers(2, 200), st.integers(1, 30))
def test_lower_bound_is_max_of_valid(n, d):
    lb, name = lower_bound(n, d, return_name=True)
    assert 0.0 <= lb <= 1.0
    valid = [v for v in bound_table(n, d).values() if v is not None]
    if name != "exact":
        assert lb == max(valid)
    else:
        assert lb >= max(valid) - 1e-12


@pytest.mark.parametrize(
    "fn, args, exc, msg",
    [
        (welch_bound, (0, 3), ValueError, "n must be >= 1"),
        (welch_bound, (3, 0), ValueError, "d must be >= 1"),
        (welch_bound, (3.5, 2), TypeError, "n must be an integer"),
        (welch_bound, (1, 2), ValueError, "n must be >= 2"),
        (orthoplex_bound, (6, 3), ValueError, r"valid only for n > d\(d\+1\)/2 = 6"),
        (levenstein_bound, (10, 4), ValueError, "valid only"),
        (bukh_cox_bound, (3, 3), ValueError, "valid only for n > d"),
        (lower_bound, (True, 3), TypeError, "n must be an integer"),
        (exact_coherence, (2, -1), ValueError, "d must be >= 1"),
        (lambda n, d: lower_bound(n, d, lp="yes"), (7, 3), TypeError, "lp must be True or False"),
        (lambda n, d: bound_table(n, d, lp=1), (7, 3), TypeError, "lp must be True or False; got int 1"),
    ],
)
def test_bad_input(fn, args, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(*args)


@pytest.mark.parametrize("n, d", [(7, 3), (9, 3), (12, 4), (20, 5), (3, 2), (5, 1), (2, 4)])
def test_lower_bound_with_lp_is_the_best_of_everything(n, d):
    with_lp, name = lower_bound(n, d, lp=True, return_name=True)
    assert with_lp >= lower_bound(n, d)
    table = bound_table(n, d, lp=True)
    assert "lp" in table
    if name != "exact":
        assert with_lp == max(v for v in table.values() if v is not None)


def test_bukh_cox_formula_matches_its_derivation():
    # mu >= k / (n C_k - k) with C_k = (2 + (k-1) sqrt(k+2)) / (k+1), k = n - d
    for d in range(2, 12):
        for n in range(d + 1, d + 15):
            k = n - d
            C = (2 + (k - 1) * math.sqrt(k + 2)) / (k + 1)
            assert bukh_cox_bound(n, d) == pytest.approx(min(1.0, k / (n * C - k)), rel=1e-12)


def test_bukh_cox_projection_inequality_and_null_space_identity():
    # the ingredient: (1/n) sum |P_ij| <= C_k for rank-k projections P (random ones here), and the
    # identity P_jj = -sum_{i != j} G_ij P_ij for the projection onto the null space of a Gram matrix
    rng = np.random.default_rng(0)
    for n, d in [(5, 3), (8, 5), (12, 9)]:
        k = n - d
        C = (2 + (k - 1) * math.sqrt(k + 2)) / (k + 1)
        W = rng.normal(size=(n, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        G = W @ W.T
        vals, vecs = np.linalg.eigh(G)
        V = vecs[:, :k]  # null space (eigenvalue 0)
        P = V @ V.T
        assert np.abs(P).sum() / n <= C + 1e-12
        off = G * P
        np.fill_diagonal(off, 0)
        assert np.allclose(np.diag(P), -off.sum(axis=0), atol=1e-10)
        mu = np.abs(G - np.eye(n)).max()
        assert mu >= bukh_cox_bound(n, d)
