import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from helpers import brute_force_cosines
from hypothesis import given
from hypothesis import strategies as st

import packing
from packing import (
    admissible_k,
    block_cost_table,
    equal_partition_loss,
    interference_moment,
    optimal_partition,
    tegum_loss,
    welch_bound,
)
from packing.partition import _costs, _dp  # internal: the optimizer's session cache, the DP helpers


def brute_loss(W, p):
    """Σ_{i<j} |cos θ_ij|^p (the coherence for p = inf) by explicit pairs."""
    c = np.abs(brute_force_cosines(W))
    if c.size == 0:
        return 0.0
    return float(c.max()) if math.isinf(p) else float(np.sum(c**p))


def welch_f(m, D, p):
    """Independent Welch block cost: C(m,2) * welch(m, D)^p (coherence for p = inf)."""
    if m <= D or m == 1:
        return 0.0
    w = math.sqrt((m - D) / (D * (m - 1)))
    return w if math.isinf(p) else m * (m - 1) / 2 * w**p


def brute_force(n, d, f, p):
    """Enumerate every multiset of blocks (m_b, D_b) with Σm = n, ΣD = d (m_b, D_b >= 1)."""
    combine = max if math.isinf(p) else (lambda a, b: a + b)

    def g(m, D):  # a block may leave dimensions unused
        return min(f(m, x) for x in range(1, D + 1))

    @cache
    def best(a, b, max_block):
        if a == 0:
            return 0.0 if b == 0 else math.inf
        out = math.inf
        for m in range(1, a + 1):
            for D in range(1, b + 1):
                if (m, D) > max_block:
                    continue
                out = min(out, combine(g(m, D), best(a - m, b - D, (m, D))))
        return out

    return best(n, d, (n, d))


@given(st.integers(1, 7), st.integers(1, 4), st.sampled_from([0.5, 1.0, 2.0, 3.0, np.inf]))
def test_dp_matches_brute_force_welch(n, d, p):
    res = optimal_partition(n, d, p, build=False)
    want = brute_force(n, d, lambda m, D: welch_f(m, D, p), p)
    assert res.loss == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert sum(m for m, _ in res.blocks) == n and sum(D for _, D in res.blocks) == d
    combined = max(res.block_losses) if math.isinf(p) else sum(res.block_losses)
    assert combined == pytest.approx(res.loss, rel=1e-12, abs=1e-12)


@given(st.integers(1, 6), st.integers(1, 4), st.booleans(), st.data())
def test_dp_matches_brute_force_random_cost_table(n, d, use_max, data):
    table = data.draw(
        st.lists(st.floats(0, 10, allow_nan=False), min_size=n * d, max_size=n * d).map(
            lambda v: np.array(v).reshape(n, d)
        )
    )

    def f(m, D):
        return float(table[m - 1, D - 1])

    p = np.inf if use_max else 1.0
    res = optimal_partition(n, d, p, cost=f, build=False)
    assert res.cost == "callable"
    assert res.loss == pytest.approx(brute_force(n, d, f, p), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5])
def test_uneven_partition_beats_every_equal_block_formula(p):
    # n=6, d=4: equal blocks allow k in {1, 2}; the optimum is two digons plus an
    # orthonormal pair, which no k-equal-block formula describes.
    n, d = 6, 4
    res = optimal_partition(n, d, p)
    assert sorted(res.blocks) == [(2, 1), (2, 1), (2, 2)] and not res.is_even
    assert res.loss == pytest.approx(2.0)  # two antipodal pairs, |cos| = 1
    equal = [tegum_loss(n, d, k, p) / 2 for k in admissible_k(n, d)]  # unordered pairs
    assert admissible_k(n, d) == [1, 2]
    assert res.loss < min(equal) - 0.1
    # the constructed packing realizes it exactly
    assert all(res.exact_blocks)
    assert interference_moment(res.W, p) == pytest.approx(2.0, abs=1e-12)
    cos = np.abs(brute_force_cosines(res.W))
    i, j = np.triu_indices(n, 1)
    assert np.all(cos[res.labels[i] != res.labels[j]] == 0)


@given(st.integers(1, 8), st.integers(1, 5))
def test_p2_optimum_is_the_frame_potential_bound(q, d):
    # Σ_b m_b²/(2 d_b) − m_b/2 >= (n²/d − n)/2 by Cauchy–Schwarz, with equality for equal ratios
    n = q * d
    res = optimal_partition(n, d, 2.0, build=False)
    assert res.loss == pytest.approx((n * n / d - n) / 2, rel=1e-12, abs=1e-12)


def test_p_below_two_prefers_many_blocks_and_above_two_one_block():
    assert optimal_partition(12, 6, 1.0).blocks == [(2, 1)] * 6
    assert optimal_partition(12, 6, 4.0, build=False).blocks == [(12, 6)]
    assert optimal_partition(12, 6, 4.0, build=False).loss == pytest.approx(welch_f(12, 6, 4.0))


def test_known_cost_uses_exact_packings():
    # no real ETF(12, 6) exists; two icosahedral 6-line blocks in R^3 each have 15 pairs at 1/sqrt(5)
    res = optimal_partition(12, 6, 4.0, cost="known")
    assert res.blocks == [(6, 3), (6, 3)]
    assert res.loss == pytest.approx(2 * 15 * (1 / math.sqrt(5)) ** 4)
    assert res.realized_loss == pytest.approx(res.loss, rel=1e-10)
    assert np.abs(brute_force_cosines(res.W)).max() == pytest.approx(welch_bound(6, 3))


@given(st.integers(2, 12), st.integers(1, 6), st.sampled_from([1.0, 3.0, np.inf]))
def test_realized_loss_is_measured_on_w(n, d, p):
    res = optimal_partition(n, d, p, rng=0, budget=0.2)
    assert res.W.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(res.W, axis=1), 1.0, atol=1e-12)
    assert res.realized_loss == pytest.approx(brute_loss(res.W, p), rel=1e-9, abs=1e-9)
    if all(res.exact_blocks):
        assert res.realized_loss == pytest.approx(res.loss, rel=1e-9, abs=1e-9)
    np.testing.assert_array_equal(np.bincount(res.labels), [m for m, _ in res.blocks])


@given(st.integers(1, 30), st.integers(1, 12), st.sampled_from([0.5, 1.0, 3.0]))
def test_equal_partition_loss_is_half_tegum_loss(n, d, p):
    for k in admissible_k(n, d):
        assert equal_partition_loss(n, d, k, p) == pytest.approx(tegum_loss(n, d, k, p) / 2, rel=1e-12)


@dataclass
class FakeResult:
    W: np.ndarray
    objective: float


def test_optimizer_cost_with_stand_in(monkeypatch):
    calls = []

    def fake_optimize_packing(n, d, *, p, rng, budget, **options):
        calls.append((n, d))
        W = packing.random_packing(n, d, rng=rng)
        return FakeResult(W, float(interference_moment(W, p)))

    # the optimizer is replaced where the cost table calls it; the session cache starts empty
    monkeypatch.setattr(_costs, "optimize_packing", fake_optimize_packing)
    monkeypatch.setattr(_costs, "OPTIMIZER_CACHE", {})
    res = optimal_partition(7, 3, 1.0, cost="optimizer", budget=0.1)
    # one call per block size with m > D >= 2, all cached
    assert sorted(calls) == sorted((m, D) for m in range(1, 8) for D in (2, 3) if m > D)
    again = optimal_partition(7, 3, 1.0, cost="optimizer", budget=0.1)
    assert len(calls) == 5 + 4 and again.loss == res.loss
    # the table is the min of the stand-in's value and the exact known value
    table = block_cost_table(7, 3, 1.0, cost="optimizer", budget=0.1)
    assert len(calls) == 5 + 4
    for (_, m, D, *_), (objective, _W) in _costs.OPTIMIZER_CACHE.items():
        known = packing.known_optimum(m, D)
        assert table[m, D] == min(objective, known.moment(1.0) if known else math.inf)
    assert res.realized_loss == pytest.approx(brute_loss(res.W, 1.0))
    assert res.realized_loss <= res.loss + 1e-9
    # another seed is another set of runs
    optimal_partition(7, 3, 1.0, cost="optimizer", budget=0.1, rng=1)
    assert len(calls) == 2 * (5 + 4)


def test_optimizer_cost_with_the_real_optimizer(monkeypatch):
    monkeypatch.setattr(_costs, "OPTIMIZER_CACHE", {})
    # 7 lines in R^3: no exact packing in the registry, so only a real search fills this cell;
    # the optimum, 1/sqrt(3), is Sloane's record and meets the orthoplex bound
    assert packing.known_optimum(7, 3) is None
    known = optimal_partition(7, 3, np.inf, cost="known", build=False)
    assert known.loss == pytest.approx(math.cos(math.pi / 6))  # 6 lines in a plane + 1
    res = optimal_partition(7, 3, np.inf, cost="optimizer", budget=0.5, rng=0)
    record = packing.best_known(7, 3).coherence
    assert record == pytest.approx(1 / math.sqrt(3), abs=1e-10)
    assert res.blocks == [(7, 3)]
    assert res.loss == pytest.approx(record, abs=1e-6)
    assert res.loss >= packing.lower_bound(7, 3) - 1e-12
    assert np.abs(brute_force_cosines(res.W)).max() == pytest.approx(res.loss, abs=1e-12)
    assert res.exact_blocks == [True]


def test_seed_is_a_deprecated_alias_of_rng(monkeypatch):
    monkeypatch.setattr(_costs, "OPTIMIZER_CACHE", {})
    with pytest.warns(DeprecationWarning, match="seed is deprecated; pass rng=seed instead"):
        old = block_cost_table(6, 3, 1.0, cost="optimizer", budget=0.05, seed=5)
    new = block_cost_table(6, 3, 1.0, cost="optimizer", budget=0.05, rng=5)  # same runs: cache hits
    assert np.array_equal(old, new) and len(_costs.OPTIMIZER_CACHE) == 4 + 3
    with pytest.raises(TypeError, match="pass either rng or the deprecated seed, not both"), pytest.warns(
        DeprecationWarning
    ):
        optimal_partition(6, 3, 1.0, rng=1, seed=2)


BAD = [
    (dict(n=0, d=3, p=1.0), ValueError, "n must be >= 1; got 0"),
    (dict(n=3, d=3, p=0.0), ValueError, "p must be > 0"),
    (dict(n=3, d=3, p=1.0, cost="best"), ValueError, "cost must be .welch., .known., .optimizer. or a"),
    (dict(n=3, d=3, p=1.0, cost=lambda m, D: -1.0), ValueError, r"cost\(1, 1\) must be >= 0"),
    (dict(n=3, d=3, p=1.0, cost=lambda m, D: float("nan")), ValueError, r"cost\(1, 1\) must be >= 0"),
    (dict(n=3, d=3, p=1.0, cost=lambda m, D: "x"), TypeError, r"cost\(1, 1\) must return a number"),
    (dict(n=3, d=3, p=1.0, cost=lambda m, D: math.inf), ValueError, "no partition of n=3 features"),
    (dict(n=3, d=3, p=1.0, budget=0), ValueError, "budget must be > 0"),
    (dict(n=3, d=3, p=1.0, rng="a"), TypeError, "rng must be None"),
]


@pytest.mark.parametrize("kwargs, exc, msg", BAD)
def test_bad_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        optimal_partition(**kwargs)


def test_bad_equal_partition_k():
    with pytest.raises(ValueError, match=r"k must divide both n=12 and d=6 .*\[1, 2, 3, 6\]"):
        equal_partition_loss(12, 6, 4, 1.0)


# --- the fast DP against the straightforward one -------------------------------------------


def reference_dp(f, n, d, use_max):
    """The previous straightforward DP in plain Python: every cell scans every block shape.

    ``f`` is an (n+1, d+1) table (row/column 0 unused). Same tie rule: among totals within
    1e-12 (relative) of the best, fewest blocks, then the smallest first block (m, D).
    """
    env = [[math.inf] * (d + 1) for _ in range(n + 1)]
    for m in range(1, n + 1):
        for D in range(1, d + 1):
            env[m][D] = min(env[m][D - 1], float(f[m][D]))
    F = {(0, 0): (0.0, 0, None)}
    for a in range(1, n + 1):
        for b in range(1, d + 1):
            cands = []
            for m in range(1, a + 1):
                for D in range(1, b + 1):
                    rest = F.get((a - m, b - D))
                    if rest is None or math.isinf(rest[0]) or math.isinf(env[m][D]):
                        continue
                    total = max(env[m][D], rest[0]) if use_max else env[m][D] + rest[0]
                    cands.append((total, rest[1] + 1, m, D))
            if not cands:
                continue
            best = min(c[0] for c in cands)
            near = [c for c in cands if c[0] <= best + 1e-12 * max(1.0, abs(best))]
            total, k, m, D = min(near, key=lambda c: (c[1], c[2], c[3]))
            F[a, b] = (total, k, (m, D))
    if (n, d) not in F:
        return math.inf, []
    blocks, a, b = [], n, d
    while a:
        m, D = F[a, b][2]
        blocks.append((m, D))
        a, b = a - m, b - D
    return F[n, d][0], sorted(blocks, reverse=True)


def solve_table(table, use_max):
    """optimal_partition on a full (n+1, d+1) table given as a callable."""
    n, d = table.shape[0] - 1, table.shape[1] - 1
    return optimal_partition(n, d, np.inf if use_max else 1.0, cost=lambda m, D: table[m, D], build=False)


def padded(values):
    table = np.full((values.shape[0] + 1, values.shape[1] + 1), np.inf)
    table[1:, 1:] = values
    return table


@given(st.integers(1, 12), st.integers(1, 6), st.booleans(), st.integers(0, 2**32 - 1))
def test_fast_dp_equals_reference_dp_on_tie_free_tables(n, d, use_max, seed):
    # continuous random costs, strictly decreasing in D: no two partitions tie
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.random((n, d))[:, ::-1], axis=1)[:, ::-1] * 5
    if seed % 2:  # convex in m: the merge / Monge / crossing paths of the fast DP
        values = values + np.cumsum(np.cumsum(rng.random((n, d)), axis=0), axis=0)
    table = padded(values)
    res = solve_table(table, use_max)
    want_loss, want_blocks = reference_dp(table, n, d, use_max)
    assert res.loss == pytest.approx(want_loss, rel=1e-12, abs=1e-12)
    if seed % 2 == 0:  # (the convex variant may create spare-dimension ties through the envelope)
        assert res.blocks == want_blocks


TIED_KINDS = ["integers", "integers_with_inf", "convex_integers", "monotone_integers"]


SEEDS = st.integers(0, 2**32 - 1)


@given(st.integers(1, 12), st.integers(1, 6), st.booleans(), st.sampled_from(TIED_KINDS), SEEDS)
def test_fast_dp_matches_reference_loss_on_tables_with_ties(n, d, use_max, kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "integers":
        values = rng.integers(0, 4, (n, d)).astype(float)
    elif kind == "integers_with_inf":
        values = np.where(rng.random((n, d)) < 0.3, np.inf, rng.integers(0, 6, (n, d)))
        values[:, 0] = rng.integers(0, 6, n)
    elif kind == "convex_integers":
        steps = np.cumsum(rng.integers(0, 3, (n, d)), axis=0) - rng.integers(0, 4, d)
        values = np.cumsum(steps, axis=0).astype(float)
        values -= values.min(axis=0)
    else:
        values = np.cumsum(rng.integers(0, 2, (n, d)), axis=0).astype(float)
    table = padded(values)
    res = solve_table(table, use_max)
    want_loss, want_blocks = reference_dp(table, n, d, use_max)
    assert res.loss == pytest.approx(want_loss, rel=1e-12, abs=1e-12)
    # a valid partition realizing the loss (ties may pick another one)
    assert sum(m for m, _ in res.blocks) == n and sum(D for _, D in res.blocks) == d
    env = np.minimum.accumulate(table, axis=1)
    losses = [env[m, D] for m, D in res.blocks]
    assert (max(losses) if use_max else sum(losses)) == pytest.approx(res.loss, abs=1e-12)
    if use_max:  # p = inf returns the fewest blocks at the optimal level
        assert len(res.blocks) <= len(want_blocks)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 4.0, np.inf])
@pytest.mark.parametrize("n, d", [(30, 10), (41, 7)])
def test_fast_dp_equals_reference_dp_on_welch_tables(n, d, p):
    table = block_cost_table(n, d, p)
    res = optimal_partition(n, d, p, build=False)
    want_loss, want_blocks = reference_dp(table, n, d, math.isinf(p))
    assert res.loss == pytest.approx(want_loss, rel=1e-12, abs=1e-12)
    assert res.blocks == want_blocks


@given(st.integers(2, 7), st.integers(2, 4), st.integers(0, 2**32 - 1))
def test_p_inf_returns_the_fewest_blocks_of_any_optimal_partition(n, d, seed):
    table = padded(np.random.default_rng(seed).integers(0, 4, (n, d)).astype(float))
    env = np.minimum.accumulate(table, axis=1)

    @cache
    def partitions(a, b, largest):  # every multiset of blocks, as (max loss, count)
        if a == 0:
            return {(0.0, 0)} if b == 0 else set()
        out = set()
        for m in range(1, a + 1):
            for D in range(1, b + 1):
                if (m, D) <= largest:
                    out |= {(max(env[m, D], v), k + 1) for v, k in partitions(a - m, b - D, (m, D))}
        return out

    everything = partitions(n, d, (n, d))
    best = min(v for v, _ in everything)
    res = solve_table(table, True)
    assert res.loss == best
    assert len(res.blocks) == min(k for v, k in everything if v == best)


def brute_row_minima(G, H, use_max):
    size = len(G)
    out = np.full(size, np.inf)
    for a in range(2, size):
        out[a] = min((max(G[j], H[a - j]) if use_max else G[j] + H[a - j]) for j in range(1, a))
    return out


def convex_sequence(rng, size):
    """inf, then size - 1 values with nondecreasing increments (some equal: ties)."""
    steps = np.cumsum(rng.random(size - 1) * (rng.random(size - 1) < 0.7)) + rng.normal(0, 3)
    return np.concatenate([[np.inf], np.cumsum(steps)])


@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_row_minima_helpers_match_brute_force(size, seed):
    rng = np.random.default_rng(seed)
    size += 1
    G, H = convex_sequence(rng, size), convex_sequence(rng, size)
    with np.errstate(invalid="ignore"):
        val, j = _dp.merge_rows(G, H, np.diff(G[1:]), np.diff(H[1:]))
    np.testing.assert_allclose(val, brute_row_minima(G, H, False), rtol=1e-12, atol=1e-12)
    assert np.all(val[2:] == G[j[2:]] + H[np.arange(2, size) - j[2:]])
    # Monge: any G (with inf entries), convex H
    G2 = np.where(rng.random(size) < 0.2, np.inf, rng.normal(size=size) * 5)
    G2 = np.vstack([G2, G])
    val, j = _dp.monge_rows(G2, np.vstack([H, H]))
    for row in range(2):
        np.testing.assert_allclose(val[row], brute_row_minima(G2[row], H, False), rtol=1e-12, atol=1e-12)
    # crossing (max): nondecreasing G and H, with plateaus
    G3 = np.concatenate([[np.inf], np.cumsum(rng.integers(0, 2, size - 1))]).astype(float)
    H3 = np.concatenate([[np.inf], np.cumsum(rng.integers(0, 3, size - 1))]).astype(float)
    val, j = _dp.crossing_rows(G3, H3)
    np.testing.assert_array_equal(val, brute_row_minima(G3, H3, True))
    assert np.all(val[2:] == np.maximum(G3[j[2:]], H3[np.arange(2, size) - j[2:]]))


def test_issue_example_values_at_n1000_d100():
    # the issue: n = 1000, d = 100, p = 1 gives L(100) = 9000 over ordered pairs (100 blocks of
    # 10 coincident features); p = 2: L(k) = n²/d − n for every k. Unordered: half of each.
    res = optimal_partition(1000, 100, 1.0, build=False)
    assert res.loss == pytest.approx(9000 / 2) and res.blocks == [(10, 1)] * 100
    res = optimal_partition(1000, 100, 2.0, build=False)
    assert res.loss == pytest.approx((1000**2 / 100 - 1000) / 2) and res.blocks == [(1000, 100)]


@pytest.mark.parametrize("use_max", [False, True])
def test_fast_dp_in_memory_bounded_chunks_matches_reference(monkeypatch, use_max):
    # random tables keep most block shapes; tiny chunks force the two-pass path
    rng = np.random.default_rng(7)
    table = padded(np.cumsum(rng.random((25, 6))[:, ::-1], axis=1)[:, ::-1] * 5)
    monkeypatch.setattr(_dp, "CHUNK", 3 * 26)
    res = solve_table(table, use_max)
    want_loss, want_blocks = reference_dp(table, 25, 6, use_max)
    assert res.loss == pytest.approx(want_loss, rel=1e-12) and res.blocks == want_blocks


@pytest.mark.parametrize("n, d", [(6, 3), (40, 12), (120, 30)])
def test_memory_guard_scales_with_the_programme_and_bounds_its_peak(n, d):
    # the guard counted the DP's full scratch chunk (160 MiB) for every size: optimal_partition(6, 3)
    # was refused under a 2 MiB limit; its estimate must now follow the sizes and still cover the peak
    import tracemalloc

    from packing.partition._costs import BYTES_PER_CELL, DP_BASE, SCRATCH_BYTES_PER_ENTRY

    cells = (n + 1) * (d + 1)
    estimate = cells * BYTES_PER_CELL + DP_BASE + cells * (n + 1) * SCRATCH_BYTES_PER_ENTRY
    want = optimal_partition(n, d, 2.0)
    tracemalloc.start()
    try:
        optimal_partition(n, d, 2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate, (peak, estimate)
    previous = packing.set_memory_limit(estimate)
    try:
        assert optimal_partition(n, d, 2.0).blocks == want.blocks
    finally:
        packing.set_memory_limit(previous)
