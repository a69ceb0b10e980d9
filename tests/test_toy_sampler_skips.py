"""The toy kernel's low-density sampler (geometric skips): its law, its independence, its streams.

Features below ``SKIP_DENSITY`` are drawn by :meth:`Sampler.fill_skipped`: positions of the
active entries from geometric gaps, then only their values. The law must stay exactly
the toy data's (each entry independently 0 with probability ``1 - p``, else uniform on
[0, 1)); tests compare it with that law by chi-square and Kolmogorov-Smirnov tests at
fixed seeds (deterministic: a threshold of 1e-3 on the p-value fails only for a real
deviation), and check that the kernel's results stay independent of threads and chunks.
"""

import numpy as np
import pytest
from scipy import stats

from packing.train import _data
from packing.train._data import SKIP_DENSITY, Sampler, gap_table
from packing.train._kernel import CHUNK_ENTRIES, row_chunks
from packing.train._toy_kernel import _ToyKernel

R = 60000  # entries per row: tight frequencies, quick
DENSITY = np.array(
    [
        list(np.linspace(0.004, 0.14, 10)),  # per feature, across three bands (thinning) and float64 values
        [0.1] * 10,  # one density: no thinning
        [0.12] * 4 + [0.0] * 2 + [0.5] * 2 + [0.03] * 2,  # zero rows and rows drawn with words in between
    ]
)


def _draw(dtype, seed=0, density=DENSITY, rows=R):
    """Rows of a features-first block drawn as the kernel draws them, unscaled (float64)."""
    s = Sampler(density, np.dtype(dtype), np.random.default_rng(seed))
    gen = s.streams(1)[0]
    k = density.size
    x = np.empty((k, rows), dtype)
    classes = s.fill_skipped(x, 0, gen)
    for a, b in s.dense_runs(0, x.shape, 0, k):
        s.fill_rows_scaled(x[a:b], a, np.zeros((b - a, rows), dtype), gen)
    return x.astype(np.float64) / s.alpha.reshape(-1, 1), s, classes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skipped_rows_are_active_with_their_density_chi_square(dtype):
    x, s, classes = _draw(dtype)
    assert classes and s.skipped.sum() == (DENSITY < SKIP_DENSITY).sum()
    p = DENSITY.ravel()
    live = (p > 0) & s.skipped
    counts = (x[live] > 0).sum(axis=1)
    chi2 = np.sum((counts - R * p[live]) ** 2 / (R * p[live] * (1 - p[live])))
    assert stats.chi2.sf(chi2, live.sum()) > 1e-3, (counts, R * p[live])
    assert not x[p == 0].any()
    # every class drew what it wrote: the positions' values are the block's nonzero entries
    drawn = sum(int(np.count_nonzero(vals)) for _, _, _, vals in classes)
    assert drawn == np.count_nonzero(x[s.skipped])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_active_values_are_uniform_on_the_unit_interval_ks(dtype):
    x, s, _ = _draw(dtype, seed=1)
    for rows in (s.skipped & (DENSITY.ravel() > 0.05), s.skipped & (DENSITY.ravel() <= 0.05)):
        v = x[rows][x[rows] > 0]
        assert v.min() >= 0 and v.max() < 1
        assert stats.kstest(v, "uniform").pvalue > 1e-3


def test_features_are_independent_of_each_other_and_along_the_batch():
    x, s, _ = _draw(np.float32, seed=2)
    on = x > 0
    p = DENSITY.ravel()
    pairs = [(10, 11), (0, 9), (4, 5), (12, 13), (3, 28), (20, 26)]  # classes, bands, instances, words
    for i, j in pairs:
        table = [
            [np.sum(on[i] & on[j]), np.sum(on[i] & ~on[j])],
            [np.sum(~on[i] & on[j]), np.sum(~on[i] & ~on[j])],
        ]
        assert stats.chi2_contingency(table).pvalue > 1e-3, (i, j, table)
    for i in (5, 10, 20):  # neighbouring batch rows of one feature: P(both active) = p**2
        both = np.sum(on[i, 1:] & on[i, :-1])
        want = (R - 1) * p[i] ** 2
        assert abs(both - want) < 5 * np.sqrt(want), (i, both, want)
    # a class's values do not depend on its positions: active values are uncorrelated with the gap before
    pos = np.flatnonzero(on[10])
    assert abs(stats.pearsonr(np.diff(pos), x[10, pos[1:]]).statistic) < 5 / np.sqrt(pos.size)


def test_gaps_follow_the_geometric_law_exactly():
    """The gap generator alone against ``P(gap = g) = (1 - p)**g p``, chi-square over binned gaps."""
    gen = np.random.Generator(np.random.SFC64(3))
    for p in (0.3, 0.05, 0.001):
        t = Sampler._positions(p, gap_table(p), 7, int(4e5 / p), gen)
        assert t[0] >= 7 and np.all(np.diff(t) > 0) and t[-1] < 7 + int(4e5 / p)
        gaps = np.diff(t) - 1
        edges = np.unique(np.floor(np.quantile(np.arange(int(10 / p)), np.linspace(0, 1, 30))).astype(int))
        cdf = 1 - (1 - p) ** edges  # P(gap < edge)
        want = np.diff(np.append(cdf, 1.0)) * gaps.size
        got = np.diff(np.append(np.searchsorted(np.sort(gaps), edges), gaps.size))
        chi2 = np.sum((got - want) ** 2 / want)
        assert stats.chi2.sf(chi2, want.size - 1) > 1e-3, (p, got, want)


def test_skip_below_zero_draws_the_old_stream_of_one_word_per_entry():
    """``skip_below=0``: the kernel's blocks are exactly the chunks of fill_rows_scaled (packing 0.2)."""
    n, rows = 50, 1024
    density = np.repeat([[1.0], [0.1], [0.01]], n, axis=1)
    s = Sampler(density, np.dtype(np.float32), np.random.default_rng(4), skip_below=0)
    k = _ToyKernel(3, n, 8, rows, np.ones((3, n)), True, np.dtype(np.float32), s, 1)
    k.loss_and_grad()
    old = Sampler(density, np.dtype(np.float32), np.random.default_rng(4), skip_below=0)
    gens = old.streams(len(k.groups))
    for g, gen in zip(k.groups, gens, strict=True):
        for i0, i1, r0, r1 in g.blocks:
            x = np.empty(((i1 - i0) * n, r1 - r0), np.float32)
            for k0, k1 in row_chunks(len(x), r1 - r0, CHUNK_ENTRIES):
                old.fill_rows_scaled(x[k0:k1], i0 * n + k0, np.zeros((k1 - k0, r1 - r0), np.float32), gen)
    # the last block drawn is still in the workspace
    X = k.workspaces[0].flat("x", (i1 - i0, n, r1 - r0), np.dtype(np.float32))
    np.testing.assert_array_equal(X.reshape(x.shape), x)
    k.close()


def _kernel(threads, plan, seed=5, density=None, d=40, n=64, rows=700, **kw):
    if density is None:
        density = np.array([[1.0] * n, [0.02] * n, list(np.linspace(0.0, 0.14, n)), [0.12] * n])
    sampler = Sampler(density, np.dtype(np.float32), np.random.default_rng(seed))
    k = _ToyKernel(
        len(density),
        n,
        d,
        rows,
        np.ones(density.shape),
        True,
        np.dtype(np.float32),
        sampler,
        threads,
        **plan,
        **kw,
    )
    k.W[...] = np.random.default_rng(6).normal(size=k.W.shape) * 0.2
    return k


def _steps(k, n_steps=3):
    try:
        out = []
        for _ in range(n_steps):
            out.append((k.loss_and_grad().copy(), k.grad.copy()))
            k.params -= 1e-2 * k.grad
        return out
    finally:
        k.close()


SMALL = dict(group_ns=1e3, target_groups=9, block_entries=9000, chunk_entries=2000, min_rows=8)


@pytest.mark.parametrize("plan", [{}, SMALL])
def test_skipped_batches_never_change_a_bit_with_threads_or_chunks(plan, monkeypatch):
    monkeypatch.setattr(_data, "SKIP_MIN_ENTRIES", 500)  # small blocks still draw by skips
    runs = [_steps(_kernel(t, plan)) for t in (1, 2, 3)]
    # Other chunks: only with blocks of an even number of rows (words come in pairs: a chunk of odd
    # size loses half a word, as before the skips; the small plan splits 700 rows unevenly).
    chunked = [_steps(_kernel(1, {**plan, "chunk_entries": 700}))] if not plan else []
    for other in (*runs[1:], *chunked):
        for (la, ga), (lb, gb) in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(la, lb)
            np.testing.assert_array_equal(ga, gb)
    k = _kernel(1, plan)
    assert any(
        k.sampler._skip_plan(i0 * 64, (i1 - i0) * 64, r1 - r0)[1]
        for g in k.groups
        for i0, i1, r0, r1 in g.blocks
    )
    k.close()


def test_the_sparse_route_reads_the_drawn_positions_bit_for_bit_like_its_gather(monkeypatch):
    monkeypatch.setattr(_data, "SKIP_MIN_ENTRIES", 500)
    kw = dict(d=120, sparse_inputs=[False, True, True, True])
    calls = []
    real = _ToyKernel._drawn_nonzero

    def counting(self, *args):
        out = real(self, *args)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(_ToyKernel, "_drawn_nonzero", counting)
    drawn = _steps(_kernel(1, SMALL, **kw))
    assert any(calls)  # some instance read the skips' positions (the per-feature one needs its gather)
    monkeypatch.setattr(_ToyKernel, "_drawn_nonzero", lambda self, *args: None)
    gathered = _steps(_kernel(1, SMALL, **kw))
    for (la, ga), (lb, gb) in zip(drawn, gathered, strict=True):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ga, gb)
