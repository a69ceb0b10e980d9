import numpy as np
import pytest
from helpers import brute_force_cosines, random_rotation
from hypothesis import given
from hypothesis import strategies as st

import packing
from packing import (
    capacity,
    coherence,
    cosine_matrix,
    feature_dimensionality,
    frame_potential,
    interference_moment,
    interference_moments,
    is_tight_frame,
    lower_bound,
    orthogonal_pairs,
    pairwise_statistics,
)

ORDERS = (0.5, 1.0, 2.0, 3.0, 4.0, 2.5, np.inf)


@st.composite
def packings(draw, max_n=24, max_d=8, zero_rows=True):
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    # Structure that exercises ties and exact orthogonality: repeated and zeroed rows,
    # coordinate-aligned rows.
    kind = draw(st.sampled_from(["gauss", "axis", "repeat", "zeros"]))
    if kind == "axis":
        W = np.eye(d)[rng.integers(0, d, size=n)] * rng.choice([-1, 1], size=(n, 1))
    elif kind == "repeat" and n > 1:
        W[rng.integers(0, n)] = W[0]
    elif kind == "zeros" and zero_rows:
        W[rng.random(n) < 0.3] = 0.0
    return W


def brute_moments(W, orders):
    c = np.abs(brute_force_cosines(W))
    out = []
    for p in orders:
        if np.isinf(p):
            out.append(float(c.max()) if c.size else 0.0)
        else:
            out.append(float(np.sum(c**p)))
    return out


@given(packings())
def test_moments_match_brute_force(W):
    got = interference_moments(W, ORDERS)
    want = brute_moments(W, ORDERS)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@given(packings(), st.integers(1, 7), st.integers(1, 3))
def test_blocked_equals_dense(W, block, threads):
    dense = pairwise_statistics(W, ORDERS, method="dense", bins=7)
    blocked = pairwise_statistics(W, ORDERS, method="blocked", block_size=block, n_threads=threads, bins=7)
    for p in ORDERS:
        assert blocked.moment(p) == pytest.approx(dense.moment(p), rel=1e-9, abs=1e-9)
    assert blocked.orthogonal_pairs == dense.orthogonal_pairs
    assert blocked.coherence == pytest.approx(dense.coherence, abs=1e-12)
    np.testing.assert_array_equal(blocked.histogram[0], dense.histogram[0])
    assert blocked.histogram[0].sum() == dense.n_pairs
    if dense.n > 1:
        i, j = blocked.coherent_pair
        assert i < j
        assert abs(cosine_matrix(W)[i, j]) == pytest.approx(dense.coherence, abs=1e-12)


def test_blocked_float32_large_agrees_with_float64():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3000, 64)).astype(np.float32)
    s32 = pairwise_statistics(W, (1, 2, 4, np.inf), method="blocked", block_size=512)
    s64 = pairwise_statistics(W.astype(np.float64), (1, 2, 4, np.inf), method="dense")
    for p in (1.0, 2.0, 4.0, np.inf):
        assert s32.moment(p) == pytest.approx(s64.moment(p), rel=1e-4)


@given(packings(zero_rows=True), st.integers(0, 2**32 - 1))
def test_invariances(W, seed):
    rng = np.random.default_rng(seed)
    n, d = W.shape
    Q = random_rotation(d, rng)
    perm = rng.permutation(n)
    signs = rng.choice([-1.0, 1.0], size=(n, 1))
    scales = rng.uniform(0.5, 2.0, size=(n, 1))
    V = (W @ Q)[perm] * signs
    base = interference_moments(W, ORDERS)
    # |cos| of rounding size (1e-16) contributes 1e-8 to the p = 0.5 moment: small p
    # amplifies noise, so its absolute tolerance is looser.
    tol = np.array([1e-6 * n * n if p < 1 else 1e-8 for p in ORDERS])
    assert np.all(np.abs(interference_moments(V, ORDERS) - base) <= tol + 1e-8 * np.abs(base))
    # orthogonal-pair counts are invariant as long as no |cos| sits at the tolerance edge
    assert orthogonal_pairs(V, atol=1e-6) == orthogonal_pairs(W, atol=1e-6)
    np.testing.assert_allclose(capacity(V), capacity(W)[perm], atol=1e-9)
    np.testing.assert_allclose(feature_dimensionality(V), feature_dimensionality(W)[perm], atol=1e-9)
    assert frame_potential(V) == pytest.approx(frame_potential(W), rel=1e-9, abs=1e-9)
    # moments depend on directions only; capacity is not scale invariant, but cosines are
    assert np.all(np.abs(interference_moments(W * scales, ORDERS) - base) <= tol + 1e-8 * np.abs(base))


@given(packings(zero_rows=True))
def test_capacity_properties(W):
    C = capacity(W)
    assert np.all((C >= 0) & (C <= 1))
    rank = np.linalg.matrix_rank(W) if np.any(W) else 0
    assert C.sum() <= rank + 1e-9
    assert np.all(C[np.all(W == 0, axis=1)] == 0)
    # brute force from the definition
    G = W @ W.T
    for i in range(W.shape[0]):
        denom = np.sum(G[i] ** 2)
        want = 0.0 if G[i, i] == 0 else G[i, i] ** 2 / denom
        assert C[i] == pytest.approx(want, abs=1e-9)
    # feature dimensionality equals capacity, computed independently
    np.testing.assert_allclose(feature_dimensionality(W), C, atol=1e-9)


@given(st.integers(1, 6), st.integers(0, 5), st.integers(0, 2**32 - 1))
def test_capacity_sums_to_rank_for_tight_frames(d, extra, seed):
    rng = np.random.default_rng(seed)
    n = d + extra
    # a unit-norm tight frame: rows of an n x d matrix with orthonormal columns, rescaled
    Q, _ = np.linalg.qr(rng.normal(size=(n, d)))
    W = Q * rng.uniform(0.5, 2.0)
    assert is_tight_frame(W)
    assert capacity(W).sum() == pytest.approx(d, rel=1e-9)
    assert frame_potential(W, normalize=False) == pytest.approx(np.sum(W * W) ** 2 / d, rel=1e-9)


@given(st.integers(2, 30), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_random_packing_respects_lower_bound(n, d, seed):
    W = np.random.default_rng(seed).normal(size=(n, d))
    assert coherence(W) >= lower_bound(n, d) - 1e-12


def test_known_values():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    s = pairwise_statistics(W, (1, 2, np.inf))
    assert s.n_pairs == 3 and s.orthogonal_pairs == 2 and s.coherence == 1.0
    assert s.moment(1) == pytest.approx(1.0)
    # pentagon: 5 points at 72 degrees; |cos 72| and |cos 144| each 5 times
    t = 2 * np.pi * np.arange(5) / 5
    P = np.c_[np.cos(t), np.sin(t)]
    want2 = 5 * (np.cos(2 * np.pi / 5) ** 2 + np.cos(4 * np.pi / 5) ** 2)
    assert interference_moment(P, 2) == pytest.approx(want2)
    np.testing.assert_allclose(feature_dimensionality(P), 0.4)
    assert is_tight_frame(P)
    assert interference_moment(P, [2]).shape == (1,)


def test_single_row_and_noise_clipping():
    assert coherence([[1.0, 2.0]]) == 0.0
    assert pairwise_statistics([[3.0, 0.0]]).n_pairs == 0
    # two identical rows: |cos| may round to 1 + eps; it is clipped to exactly 1
    W = np.array([[0.1, 0.7, 0.3]] * 2)
    assert coherence(W) == pytest.approx(1.0, abs=1e-15) and coherence(W) <= 1.0
    W = np.array([[0.1, 0.7, 0.3]] * 50 + [[0.3, 0.1, 0.7]] * 50)
    for method in ("dense", "blocked"):
        s = pairwise_statistics(W, (1, np.inf), method=method, block_size=16, bins=4)
        assert s.coherence <= 1.0 and s.histogram[0].sum() == s.n_pairs
    C = cosine_matrix(np.array([[1e-300, 0.0], [1.0, 0.0]]))
    assert np.all(np.abs(C) <= 1.0)


BAD = [
    ([[np.nan, 1.0]], ValueError, "W must be finite"),
    ([[np.inf, 1.0]], ValueError, "W must be finite"),
    ([1.0, 2.0], ValueError, "W must be 2-D"),
    (np.zeros((2, 2, 2)), ValueError, "W must be 2-D"),
    (np.zeros((0, 3)), ValueError, "at least 1 row"),
    (np.zeros((3, 0)), ValueError, "at least 1 row"),
    (np.ones((2, 2), dtype=complex), TypeError, "W must be real"),
    ([["a", "b"]], TypeError, "real numeric array"),
    ([[1, 2], [3]], TypeError, "could not convert"),
]


@pytest.mark.parametrize("W, exc, msg", BAD)
@pytest.mark.parametrize(
    "fn",
    [cosine_matrix, coherence, capacity, feature_dimensionality, frame_potential, is_tight_frame,
     orthogonal_pairs, lambda W: interference_moment(W, 2), packing.dimensions_per_feature],
)
def test_bad_W(fn, W, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(W)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        ({"p": 0}, ValueError, "p must be > 0"),
        ({"p": -2}, ValueError, "p must be > 0"),
        ({"p": np.nan}, ValueError, "p must be a finite number"),
        ({"p": "2"}, TypeError, "p must be a number"),
        ({"p": []}, ValueError, "at least one order"),
        ({"p": [1, -1]}, ValueError, r"p\[1\] must be > 0"),
        ({"atol": -1e-3}, ValueError, "atol must be >= 0"),
        ({"method": "fast"}, ValueError, "method must be"),
        ({"block_size": 0, "method": "blocked"}, ValueError, "block_size must be >= 1"),
        ({"block_size": 2.0, "method": "blocked"}, TypeError, "block_size must be an integer"),
        ({"bins": 0}, ValueError, "bins must be >= 1"),
    ],
)
def test_bad_options(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        pairwise_statistics(np.eye(3), **kwargs)


def test_integer_and_float32_input():
    assert coherence(np.eye(3, dtype=int)) == 0.0
    s = pairwise_statistics(np.eye(3, dtype=np.float32))
    assert s.atol == pytest.approx(1e-4)


# --------------------------------------------------------------------------- signed interference


def brute_signed(W, orders, weighted=False):
    """Positive/negative parts over unordered pairs by an explicit double loop."""
    W = np.asarray(W, dtype=np.float64)
    if weighted:
        n = W.shape[0]
        c = np.array([W[i] @ W[j] for i in range(n) for j in range(i + 1, n)])
    else:
        c = brute_force_cosines(W)
    out = {}
    for name, part in (("positive", np.maximum(c, 0.0)), ("negative", np.maximum(-c, 0.0))):
        top = float(part.max()) if part.size else 0.0
        out[name] = [top if np.isinf(p) else float(np.sum(part**p)) for p in orders]
    return out


@given(packings(), st.sampled_from(["dense", "blocked"]), st.integers(1, 7), st.booleans())
def test_signed_interference_matches_brute_force(W, method, block, weighted):
    s = packing.signed_interference(
        W, ORDERS, weighted=weighted, method=method, block_size=block, n_threads=2
    )
    want = brute_signed(W, ORDERS, weighted)
    tol = 1e-9 * (max(1.0, float(np.max(np.abs(W))) ** 2) if weighted else 1.0)
    np.testing.assert_allclose([s.positive[p] for p in ORDERS], want["positive"], rtol=1e-9, atol=tol)
    np.testing.assert_allclose([s.negative[p] for p in ORDERS], want["negative"], rtol=1e-9, atol=tol)
    assert s.max_positive == pytest.approx(want["positive"][-1], rel=1e-9, abs=tol)
    if s.positive_pair is not None and s.max_positive > 0:
        i, j = s.positive_pair
        value = W[i] @ W[j] if weighted else brute_force_cosines(W[[i, j]])[0]
        assert value == pytest.approx(s.max_positive, rel=1e-9)


@given(packings(zero_rows=False))
def test_signed_parts_add_up_to_the_sum_of_cosines(W):
    # independent identity: Σ_{i<j} cos_ij = (|Σ_i u_i|² − n) / 2 for unit rows u_i
    s = pairwise_statistics(W, p=[1.0], signed=True)
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    total = (np.sum(U.sum(axis=0) ** 2) - len(U)) / 2
    assert s.signed.positive[1.0] - s.signed.negative[1.0] == pytest.approx(total, abs=1e-9)
    assert s.signed.positive[1.0] + s.signed.negative[1.0] == pytest.approx(s.moments[1.0], abs=1e-9)


def test_antipodal_pairs_have_no_positive_interference():
    W = packing.tegum_product(packing.antipodal_pair(), packing.antipodal_pair(), packing.antipodal_pair())
    s = packing.signed_interference(W, p=[1, 2, np.inf])
    assert s.positive == {1.0: 0.0, 2.0: 0.0, np.inf: 0.0}
    assert s.negative[1.0] == 3.0 and s.max_negative == 1.0
    assert pairwise_statistics(W).coherence == 1.0  # the unsigned view calls it maximal


def test_weighted_interference_scales_with_the_norms_and_survives_extremes():
    W = np.array([[1.0, 0.0], [0.5, 0.5], [-2.0, 1.0]])
    base = packing.signed_interference(W, p=[1, 2, np.inf], weighted=True)
    for k in (1e-150, 1e-100, 1e70, 1e150):
        s = packing.signed_interference(W * k, p=[1, np.inf], weighted=True)
        assert s.positive[1.0] == pytest.approx(base.positive[1.0] * k**2, rel=1e-12)
        assert s.max_negative == pytest.approx(base.max_negative * k**2, rel=1e-12)
        if k < 1e75:  # k**4 stays in range
            s2 = packing.signed_interference(W * k, p=[2], weighted=True)
            assert s2.negative[2.0] == pytest.approx(base.negative[2.0] * k**4, rel=1e-12)
    with pytest.raises(OverflowError, match="weighted interference of order p=2.0 exceeds the float64 range"):
        packing.signed_interference(W * 1e100, p=[2], weighted=True)


@pytest.mark.parametrize("edges", [[0.1, 0.2, 1.0], [0.0, 0.5, 1.0], [-1.0, 0.3, 0.6], [0.05, 0.3]])
def test_histogram_with_any_edges_agrees_between_dense_and_tiled(edges):
    # a tiled pass used to subtract the masked non-pairs from bin 0 even when 0 is not in bin 0
    rng = np.random.default_rng(3)
    W = rng.normal(size=(300, 8))
    W[:20] = 0.0  # zero rows: exact zeros among the pairs too
    dense = pairwise_statistics(W, p=[1], bins=edges, method="dense").histogram[0]
    tiled = pairwise_statistics(W, p=[1], bins=edges, method="blocked", block_size=37).histogram[0]
    c = np.abs(brute_force_cosines(W))
    want = np.histogram(c, bins=edges)[0]
    np.testing.assert_array_equal(dense, want)
    np.testing.assert_array_equal(tiled, want)


@pytest.mark.parametrize(
    "bins, exc, msg",
    [
        ([0.5, 0.2], ValueError, "bins edges must be finite and strictly increasing"),
        ([0.5], ValueError, "bins must hold at least 2 edges"),
        ([0.0, np.nan], ValueError, "bins edges must be finite"),
        (0, ValueError, "bins must be >= 1"),
        ("ten", TypeError, "bins must be an int or a sequence of bin edges"),
    ],
)
def test_bad_bins(bins, exc, msg):
    with pytest.raises(exc, match=msg):
        pairwise_statistics(np.eye(3), bins=bins)
