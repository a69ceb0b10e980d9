"""The toy kernel's collapse of all-zero batch rows: against the full blocks, finite differences, threads."""

import numpy as np
import pytest

from packing import sample_toy_batch, train_toy_model
from packing.train._data import Sampler
from packing.train._toy_kernel import ROW_STEP, _ToyKernel, collapse_pays

# Many small blocks, instances split by rows (groups with several blocks: the `first` flag matters).
SMALL = dict(group_ns=1e3, target_groups=9, block_entries=600, chunk_entries=200, min_rows=8)
# Per instance: sparse uniform, sparser, per feature (with a density-0 feature), and denser.
DENSITY = [[0.02], [0.005], list(np.linspace(0.0, 0.08, 6)), [0.2]]


def _density(n):
    return np.array([np.resize(row, n) for row in DENSITY], float)


def _counting(k):
    """Wrap ``k._collapse``: returns the list of (rows kept, rows left out) of its calls."""
    calls, real = [], k._collapse

    def spy(ws, xbuf, shape, nonneg):
        Xc, zero = real(ws, xbuf, shape, nonneg)
        calls.append((shape[2] - zero, zero))
        return Xc, zero

    k._collapse = spy
    return calls


def _sampled(
    collapse, n=6, d=3, rows=700, relu=True, dtype=np.float64, threads=1, seed=3, pairs=0, density=None, **kw
):
    density = _density(n) if density is None else density
    sampler = Sampler(density, np.dtype(dtype), np.random.default_rng(seed), n_correlated=pairs)
    imp = np.random.default_rng(1).random(density.shape) + 0.1
    k = _ToyKernel(
        len(density), n, d, rows, imp, relu, np.dtype(dtype), sampler, threads, collapse=collapse, **kw
    )
    k.W[...] = np.random.default_rng(4).normal(size=k.W.shape) * 0.3
    k.b[...] = np.random.default_rng(5).normal(size=k.b.shape) * 0.1  # some biases positive, some not
    return k


def _steps(k, n_steps=3):
    """Losses and gradients of ``n_steps`` steps (plain gradient descent between them)."""
    out = []
    try:
        for _ in range(n_steps):
            out.append((k.loss_and_grad().copy(), k.grad.copy()))
            k.params -= 0.05 * k.grad
    finally:
        k.close()
    return out


def _assert_close(a, b, rtol=1e-10):
    for (la, ga), (lb, gb) in zip(a, b, strict=True):
        np.testing.assert_allclose(la, lb, rtol=rtol)
        np.testing.assert_allclose(ga, gb, rtol=rtol, atol=rtol * np.abs(gb).max())


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("d", [3, 9])  # dot products (d <= 6) and GEMMs
@pytest.mark.parametrize("plan", [{}, SMALL], ids=["one block", "small blocks"])
def test_collapsed_blocks_give_the_loss_and_gradients_of_the_full_ones_on_the_same_batches(relu, d, plan):
    on = _sampled(True, d=d, relu=relu, **plan)
    calls = _counting(on)
    off = _sampled(False, d=d, relu=relu, **plan)
    if plan:
        assert any(len(g.blocks) > 1 for g in on.groups) and any(g.partial is not None for g in on.groups)
    _assert_close(_steps(on), _steps(off))
    assert any(zero > 0 for _, zero in calls)  # rows were left out (not a vacuous comparison)
    assert all(kept % ROW_STEP == 0 or zero == 0 for kept, zero in calls)


def test_every_instance_keeps_as_many_rows_as_the_one_with_the_most_nonzero_rows():
    k = _sampled(True, n=6, rows=2000)
    calls = _counting(k)
    k.loss_and_grad()
    k.close()
    assert len(k.groups) == 1 and len(k.groups[0].blocks) == 1
    X = k.workspaces[0].flat("x", (4, 6, 2000), np.dtype(np.float64))  # the block as sampled
    nonzero = (X != 0).any(axis=1).sum(axis=1)
    assert nonzero[3] == nonzero.max() > nonzero[:3].max()  # density 0.2: the most nonzero rows
    kept = -(-nonzero.max() // ROW_STEP) * ROW_STEP
    assert calls == [(kept, 2000 - kept)] and kept < 2000


def _check_directions(kernel, W0, b0, gW, gb, rng, times, eps=1e-6):
    """Central differences of the loss along random directions against the gradient ``(gW, gb)``.

    ``kernel(W, b)`` builds a kernel at those weights that draws (or is given) the same batch.
    """
    for _ in range(times):
        dW, db = rng.normal(size=W0.shape), rng.normal(size=b0.shape)
        up, down = kernel(W0 + eps * dW, b0 + eps * db), kernel(W0 - eps * dW, b0 - eps * db)
        up.need_grad = down.need_grad = False
        fd = (up.loss_and_grad() - down.loss_and_grad()) / (2 * eps)
        up.close()
        down.close()
        exact = (gW * dW).sum(axis=(1, 2)) + (gb * db).sum(axis=1)
        np.testing.assert_allclose(fd, exact, rtol=1e-6, atol=1e-9)


def test_collapsed_gradient_matches_finite_differences_on_a_sampled_batch():
    def kernel(W=None, b=None):
        k = _sampled(True, d=3, rows=500, **SMALL)
        if W is not None:
            k.W[...], k.b[...] = W, b
        return k

    k = kernel()
    calls = _counting(k)
    k.loss_and_grad()
    k.close()
    assert any(zero > 0 for _, zero in calls)
    W0, b0, gW, gb = k.W.copy(), k.b.copy(), k.gW.copy(), k.gb.copy()
    # a fresh kernel with the same seed draws the same batch
    _check_directions(kernel, W0, b0, gW, gb, np.random.default_rng(7), 4)


def _given_batch(n_inst=3, n=5, B=400, seed=0):
    """Signed inputs, mostly zero rows, and rows whose entries cancel (a sum of 0, yet not zero)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n_inst, B, n)) * 2 - 1) * (rng.random((n_inst, B, n)) < 0.03)
    x[:, 7, :2] = [0.5, -0.5]
    x[1, 100, 1:4] = [0.25, 0.5, -0.75]
    return x


@pytest.mark.parametrize("relu", [True, False])
def test_a_given_signed_batch_collapses_exactly_and_matches_finite_differences(relu):
    x = _given_batch()
    n_inst, B, n = x.shape
    d = 2
    rng = np.random.default_rng(1)
    W0, b0 = rng.normal(size=(n_inst, n, d)) * 0.5, rng.normal(size=(n_inst, n)) * 0.2
    imp = rng.random((n_inst, n)) + 0.1

    def kernel(collapse, W, b):
        k = _ToyKernel(n_inst, n, d, B, imp, relu, np.dtype(np.float64), None, 1, collapse=collapse)
        k.W[...], k.b[...], k.x = W, b, x
        return k

    on = kernel(True, W0, b0)
    calls = _counting(on)
    loss = on.loss_and_grad()
    on.close()
    ((kept, zero),) = calls
    nonzero = (x != 0).any(axis=2).sum(axis=1)
    assert kept == -(-nonzero.max() // ROW_STEP) * ROW_STEP and zero == B - kept > 0  # cancelling rows kept
    off = kernel(False, W0, b0)
    _assert_close([(loss, on.grad)], [(off.loss_and_grad(), off.grad)])
    off.close()
    auto = kernel(None, W0, b0)
    calls_auto = _counting(auto)
    auto.loss_and_grad()
    auto.close()
    assert calls_auto == []  # a given batch: its densities are unknown, never collapsed unless asked
    _check_directions(lambda W, b: kernel(True, W, b), W0, b0, on.gW.copy(), on.gb.copy(), rng, 3)


@pytest.mark.parametrize("sampled", [True, False])
def test_a_block_of_zero_rows_only_gives_the_closed_form(sampled):
    n_inst, n, d, B = 2, 5, 3, 300
    rng = np.random.default_rng(2)
    imp = rng.random((n_inst, n)) + 0.1
    b = np.array([[0.3, -0.2, 0.0, 0.1, -0.4], [-0.1, 0.2, 0.5, -0.3, 0.05]])
    sampler = Sampler(np.zeros((n_inst, n)), np.dtype(np.float64), rng) if sampled else None
    out = {}
    for relu in (True, False):
        k = _ToyKernel(n_inst, n, d, B, imp, relu, np.dtype(np.float64), sampler, 1, collapse=True)
        k.W[...], k.b[...] = rng.normal(size=k.W.shape), b
        if not sampled:
            k.x = np.zeros((n_inst, B, n))
        calls = _counting(k)
        loss = k.loss_and_grad()
        k.close()
        assert calls == [(ROW_STEP, B - ROW_STEP)]  # one row would do: ROW_STEP are kept
        out[relu] = (loss, k.gW.copy(), k.gb.copy())
    for relu, (loss, gW, gb) in out.items():
        y = np.maximum(b, 0) if relu else b
        np.testing.assert_allclose(loss, (imp * y**2).sum(axis=1), rtol=1e-13)  # the mean over rows
        np.testing.assert_array_equal(gW, 0)  # h = 0 and x = 0: nothing reaches W
        np.testing.assert_allclose(gb, 2 * imp * y, rtol=1e-13)


def test_collapsed_training_never_changes_a_bit_with_threads():
    runs = []
    for threads in (1, 2, 3):
        k = _sampled(True, d=4, rows=600, dtype=np.float32, threads=threads, **SMALL)
        calls = _counting(k)
        runs.append(_steps(k))
        assert any(zero > 0 for _, zero in calls)
    for other in runs[1:]:
        for (la, ga), (lb, gb) in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(la, lb)
            np.testing.assert_array_equal(ga, gb)
    _assert_close(runs[0], _steps(_sampled(False, d=4, rows=600, dtype=np.float32, **SMALL)), rtol=1e-4)


def test_the_trainer_collapses_where_it_pays_bit_for_bit_with_any_thread_count(monkeypatch):
    calls = []
    real = _ToyKernel._collapse

    def counting(self, ws, xbuf, shape, nonneg):
        Xc, zero = real(self, ws, xbuf, shape, nonneg)
        calls.append(zero)
        return Xc, zero

    monkeypatch.setattr(_ToyKernel, "_collapse", counting)
    kw = dict(n_features=20, d=5, sparsity=[0.99, 0.995, 0.99], steps=6, batch_size=1024, n_seeds=8, rng=4)
    one = train_toy_model(**kw, n_threads=1)
    assert calls and all(z > 0 for z in calls)  # every block of this run collapses its zero rows
    two = train_toy_model(**kw, n_threads=2)
    for field in ("W", "b", "loss_history", "seed_eval_losses"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))


def test_the_cost_model_declines_dense_features_and_takes_sparse_ones():
    dense = sparse = None
    try:
        dense_density = Sampler(np.full((10, 5), 0.3), np.dtype(np.float32), np.random.default_rng(0))
        dense = _ToyKernel(10, 5, 2, 1024, np.ones((10, 5)), True, np.dtype(np.float32), dense_density, 1)
        sparse_density = Sampler(np.full((10, 20), 0.01), np.dtype(np.float32), np.random.default_rng(0))
        sparse = _ToyKernel(10, 20, 5, 1024, np.ones((10, 20)), True, np.dtype(np.float32), sparse_density, 1)
        (blk,) = [b for g in dense.groups for b in g.blocks]
        assert not dense.collapses(blk[0], blk[1], blk[3] - blk[2])
        (blk,) = [b for g in sparse.groups for b in g.blocks]
        assert sparse.collapses(blk[0], blk[1], blk[3] - blk[2])
    finally:
        for k in (dense, sparse):
            if k is not None:
                k.close()
    p = np.linspace(0, 1, 101)
    for n, d in ((5, 2), (20, 5), (20, 20)):  # collapse never pays at density 1 nor once it stopped paying
        chosen = np.array([collapse_pays(np.prod(1 - np.full(n, q)), n, d, 10, 1024) for q in p])
        assert not chosen[-1] and not np.any(np.diff(chosen.astype(int)) > 0)
    assert collapse_pays(1.0, 20, 5, 10, 1024) and not collapse_pays(0.0, 20, 5, 10, 1024)
    assert not collapse_pays(1.0, 5, 2, 1, 16)  # one instance of 16 rows: the fixed cost dominates


def test_instances_on_the_sparse_route_gather_from_the_collapsed_block():
    """d = 12, 40 features at density 0.01: rows drawn by skips, sparse input products, zero rows left out."""
    density = np.array([[0.01] * 40, [0.004] * 40, list(np.linspace(0.0, 0.02, 40))])
    kw = dict(n=40, d=12, rows=1024, sparse_inputs=True, density=density)
    on = _sampled(True, **kw)
    assert on.sparse.all() and on.sampler.skipped.any()
    calls = _counting(on)
    off = _sampled(False, **kw)
    _assert_close(_steps(on), _steps(off))
    assert any(zero > 0 for _, zero in calls)


def test_feature_pairs_collapse_with_the_exact_test():
    on = _sampled(True, n=6, pairs=2)
    assert on.alpha is None  # pairs: no scaled units, each entry is compared with 0
    calls = _counting(on)
    _assert_close(_steps(on), _steps(_sampled(False, n=6, pairs=2)))
    assert any(zero > 0 for _, zero in calls)


@pytest.mark.parametrize("pairs", [dict(), dict(n_correlated_pairs=2), dict(n_anticorrelated_pairs=2)])
def test_zero_row_probability_is_the_frequency_of_zero_rows(pairs):
    density = np.array([[0.1, 0.3, 0.05, 0.2, 0.15, 0.0], [0.45, 0.02, 0.02, 0.4, 0.01, 0.3]])
    s = Sampler(
        density,
        np.dtype(np.float64),
        np.random.default_rng(0),
        **{
            "n_correlated": pairs.get("n_correlated_pairs", 0),
            "n_anticorrelated": pairs.get("n_anticorrelated_pairs", 0),
        },
    )
    q = s.zero_row_probability()
    B = 200_000
    x = sample_toy_batch(6, B, density=density, rng=1, dtype=np.float64, **pairs)
    freq = (~x.any(axis=2)).mean(axis=1)
    assert np.all(np.abs(freq - q) <= 5 * np.sqrt(q * (1 - q) / B)), (freq, q)


def test_collapse_must_be_none_or_a_bool():
    with pytest.raises(ValueError, match="collapse must be None, True or False; got 'yes'"):
        _ToyKernel(1, 3, 2, 64, np.ones((1, 3)), True, np.dtype(np.float64), None, 1, collapse="yes")
