"""The monosemanticity kernel leaves all-zero batch rows out of its products and adds them in closed form."""

import numpy as np
import pytest
from helpers import check_monosemanticity_gradient, mono_batch

from packing import train_monosemanticity_model
from packing.train import _mono_kernel as mk
from packing.train._data import Sampler
from packing.train._mono_kernel import _MonoKernel, zero_rows_pay

#: Forced small blocks, instances split over row ranges (partial gradients).
SPLIT = dict(block_entries=64, min_rows=8, group_ns=1.0, target_groups=8)


def kernel(n_inst, n, m, k, batch, *, zero_rows, task="decoder", gelu=False, l1=0.0, sampler=None, **plan):
    return _MonoKernel(
        n_inst, n, m, k, batch, np.float64, embedding=np.zeros((n_inst, n, m)), noise=np.zeros(n_inst),
        noise_on="input", l1=np.full(n_inst, l1), task=task, gelu=gelu, sampler=sampler, threads=1,
        gram=False, zero_rows=zero_rows, **plan,
    )  # fmt: skip


def watch(kern):
    """Record the number of zero rows each block leaves out."""
    seen, drop = [], kern._drop_zero_rows

    def spy(*args):
        out = drop(*args)
        seen.append(out[3])
        return out

    kern._drop_zero_rows = spy
    return seen


def run(zero_rows, model, *, task="decoder", gelu=False, l1=0.0, **plan):
    """Loss, penalty, gradient of the kernel on a given float64 batch, and the zero rows it left out."""
    W1, b, W2, E, v = model
    n_inst, m, k = W1.shape
    n, batch = W2.shape[1], v.shape[1]
    kern = kernel(n_inst, n, m, k, batch, zero_rows=zero_rows, task=task, gelu=gelu, l1=l1, **plan)
    kern.E[...] = E
    kern.W1[...], kern.b[...], kern.W2[...] = W1, b, W2
    kern.v = v
    seen = watch(kern)
    try:
        loss = kern.loss_and_grad()
    finally:
        kern.close()
    return loss, kern.penalty.copy(), kern.grad.copy(), sum(seen)


def assert_same(got, want):
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(w).max())))


@pytest.mark.parametrize(
    "task, gelu, l1",
    [("decoder", False, 0.0), ("decoder", False, 0.3), ("decoder", True, 0.2), ("abs", False, 0.1),
     ("abs", True, 0.0)],
)  # fmt: skip
@pytest.mark.parametrize("plan", [{}, SPLIT], ids=["one block", "split"])
@pytest.mark.parametrize("shift", [0.0, -1.5, -50.0], ids=["live", "partly silent", "silent"])
def test_leaving_zero_rows_out_gives_the_same_loss_and_gradients(task, gelu, l1, plan, shift, monkeypatch):
    """float64, rtol 1e-10: every task, activation and penalty (signed given batches), one block or
    split instances (blocks of a few rows: kept rows unaligned); biases shifted down so that (with
    ReLU) blocks run on their active neurons only."""
    if plan:
        monkeypatch.setattr(mk, "ZERO_ROW_ALIGN", 1)
    W1, b, W2, E, v = mono_batch(2, 3, 9, 4, 6, 300, task == "abs", density=0.06)
    model = (W1, b + shift, W2, E, v)
    kw = dict(task=task, gelu=gelu, l1=l1, **plan)
    full, dropped = run(False, model, **kw), run(True, model, **kw)
    assert full[3] == 0 and dropped[3] > 0  # rows were left out
    assert_same(dropped, full)


def test_a_batch_of_zero_rows_alone():
    """Every row zero: the kept block is all padding, the loss is B ‖W2 φ(b)‖² (computed here directly)."""
    W1, b, W2, E, v = mono_batch(5, 2, 6, 3, 5, 64, False, density=0.0)
    assert not v.any()
    full, dropped = run(False, (W1, b, W2, E, v)), run(True, (W1, b, W2, E, v))
    assert dropped[3] == 64 - mk.ZERO_ROW_ALIGN  # per instance, in the one block
    assert_same(dropped, full)
    out = np.einsum("ink,ik->in", W2, np.maximum(b, 0))
    np.testing.assert_allclose(dropped[0], (out**2).sum(axis=1), rtol=1e-12)


def test_the_gradients_with_zero_rows_left_out_match_finite_differences():
    W1, b, W2, E, v = mono_batch(4, 2, 7, 3, 5, 60, False, density=0.08)
    kw = dict(l1=0.1)
    assert run(True, (W1, b, W2, E, v), **kw)[3] > 0  # zero rows were left out
    check_monosemanticity_gradient(lambda model: run(True, model, **kw), (W1, b, W2, E, v))


@pytest.mark.parametrize("task", ["decoder", "abs"])
def test_sampled_batches_give_the_same_loss_and_gradients_with_zero_rows_left_out(task):
    """The kernel's own sampled batches (the same stream either way), three steps, merged small groups."""

    def steps(zero_rows):
        gen = np.random.default_rng(3)
        sampler = Sampler(np.full((4, 12), 0.03), np.dtype(np.float64), gen)
        kern = kernel(4, 12, 3, 10, 256, zero_rows=zero_rows, task=task, sampler=sampler, l1=0.05)
        kern.E[...] = gen.normal(size=kern.E.shape)
        for name in ("W1", "W2", "b"):
            getattr(kern, name)[...] = gen.uniform(-0.5, 0.5, getattr(kern, name).shape)
        seen = watch(kern)
        out = []
        try:
            for _ in range(3):
                out.append((kern.loss_and_grad(), kern.penalty.copy(), kern.grad.copy()))
        finally:
            kern.close()
        return out, sum(seen)

    (full, none), (dropped, some) = steps(False), steps(True)
    assert none == 0 and some > 0
    for got, want in zip(dropped, full, strict=True):
        assert_same(got, want)


def test_training_with_zero_rows_left_out_follows_the_full_products(monkeypatch):
    """float64 runs at the findings' kind of size (LAMB, bias decay, L1): the rule takes the route by
    itself, the histories and weights agree with the full products to rounding, and each run is bit
    for bit independent of the thread count."""
    kw = dict(
        n_features=16, d=4, n_neurons=64, density=1 / 32, steps=30, batch_size=1024, lr=0.01, n_instances=3,
        init_bias=-0.2, bias_decay=0.3, l1=0.01, dtype=np.float64, rng=11,
    )  # fmt: skip
    calls = []
    drop = mk._MonoKernel._drop_zero_rows
    monkeypatch.setattr(mk._MonoKernel, "_drop_zero_rows", lambda *a: calls.append(1) or drop(*a))
    auto = [train_monosemanticity_model(**kw, n_threads=t) for t in (1, 2)]
    assert calls  # the cost model chose to leave zero rows out
    monkeypatch.setattr(mk, "zero_rows_pay", lambda *a: False)
    full = train_monosemanticity_model(**kw, n_threads=1)
    for name in ("W1", "b", "W2", "loss_history", "eval_loss"):
        assert np.array_equal(getattr(auto[0], name), getattr(auto[1], name)), name
    assert not np.array_equal(auto[0].loss_history, full.loss_history)  # really two routes
    for name in ("W1", "b", "W2", "loss_history", "eval_loss", "clean_eval_loss"):
        np.testing.assert_allclose(getattr(auto[0], name), getattr(full, name), rtol=1e-9, atol=1e-12)


def test_noise_keeps_every_row():
    """With input noise no two rows are alike: nothing is left out, even when forced."""
    sampler = Sampler(np.full((1, 8), 0.02), np.dtype(np.float64), np.random.default_rng(0))
    kern = _MonoKernel(
        1, 8, 3, 6, 128, np.float64, embedding=np.ones((1, 8, 3)), noise=np.full(1, 0.1), noise_on="input",
        l1=np.zeros(1), task="decoder", gelu=False, sampler=sampler, threads=1, zero_rows=True,
    )  # fmt: skip
    seen = watch(kern)
    try:
        kern.loss_and_grad()
    finally:
        kern.close()
    assert seen == []


def zero_fraction(density, task="decoder"):
    """The kernel's expected fraction of all-zero rows for a table of densities."""
    sampler = Sampler(np.asarray(density, dtype=float), np.dtype(np.float64), np.random.default_rng(0))
    n_inst, n = sampler.density.shape
    kern = kernel(n_inst, n, 2, 3, 64, zero_rows=None, task=task, sampler=sampler)
    kern.close()
    return kern.zero


def test_the_expected_fraction_of_zero_rows_and_the_rule():
    """The kernel's fraction (decoder and abs) against Monte Carlo frequencies; the cost model's choices."""
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.3, size=(2, 6))
    draws = rng.random((200_000, 2, 6)) < p  # Monte Carlo: the fraction of rows with no feature
    np.testing.assert_allclose(zero_fraction(p), (~draws.any(axis=2)).mean(axis=0), atol=4e-3)
    both = (~draws.any(axis=2)) & (~(rng.random((200_000, 2, 6)) < p).any(axis=2))
    np.testing.assert_allclose(zero_fraction(p, "abs"), both.mean(axis=0), atol=4e-3)
    assert zero_fraction(np.ones((1, 3)))[0] == 0.0
    q = zero_fraction(np.full((1, 16), 1 / 64))[0]  # the findings' size: 78% of rows are zero
    assert zero_rows_pay(q, 16, 4, 64)
    assert not zero_rows_pay(zero_fraction(np.full((1, 512), 1 / 64))[0], 512, 64, 1024)  # the paper's
    assert not zero_rows_pay(0.04, 16, 4, 64)  # too few to look for
    assert zero_rows_pay(0.5, 16, 4, 64, rows=1024) and not zero_rows_pay(0.5, 16, 4, 64, rows=32)  # calls
