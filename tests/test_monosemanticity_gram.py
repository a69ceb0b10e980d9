"""The monosemanticity kernel's Gram route for the read-out: the dense route's loss and gradients."""

import math

import numpy as np
import pytest
from helpers import check_monosemanticity_gradient, mono_batch

from packing import train_monosemanticity_model
from packing.train import _mono_kernel as mk
from packing.train._data import Sampler
from packing.train._mono_kernel import _MonoKernel, gram_pays
from packing.train.monosemanticity import random_embedding

#: Forced small blocks, instances split over row ranges (partial gradients, several Gram accumulators).
SPLIT = dict(block_entries=64, min_rows=8, group_ns=1.0, target_groups=8)


def run(gram, model, *, task="decoder", gelu=False, l1=0.0, noise_on=None, threads=1, **plan):
    """Loss, penalty and gradient of the kernel on a given float64 batch (``noise_on``: given noise there)."""
    W1, b, W2, E, v = model
    n_inst, m, k = W1.shape
    n, batch = W2.shape[1], v.shape[1]
    kern = _MonoKernel(
        n_inst, n, m, k, batch, np.float64, embedding=E, noise=np.zeros(n_inst), noise_on=noise_on or "input",
        l1=np.full(n_inst, l1), task=task, gelu=gelu, threads=threads, gram=gram, **plan,
    )  # fmt: skip
    kern.W1[...], kern.b[...], kern.W2[...] = W1, b, W2
    kern.v = v
    if noise_on is not None:
        kern.any_noise = True
        dim = n if noise_on == "features" else m
        kern.given_noise = 0.3 * np.random.default_rng(9).normal(size=(n_inst, batch, dim))
    try:
        loss = kern.loss_and_grad()
    finally:
        kern.close()
    return loss, kern.penalty.copy(), kern.grad.copy(), kern.gram


def assert_same(got, want):
    for g, w in zip(got[:3], want[:3], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(w).max())))


@pytest.mark.parametrize(
    "task, gelu, l1, noise_on",
    [
        ("decoder", False, 0.0, None),
        ("decoder", False, 0.3, "input"),
        ("decoder", True, 0.2, "features"),
        ("abs", False, 0.0, "features"),
        ("abs", True, 0.0, "input"),
    ],
)
@pytest.mark.parametrize("plan", [{}, SPLIT], ids=["one block", "split"])
@pytest.mark.parametrize("shift", [0.0, -1.5, -50.0], ids=["live", "partly silent", "silent"])
def test_the_gram_route_gives_the_dense_routes_loss_and_gradients(task, gelu, l1, noise_on, plan, shift):
    """float64, rtol 1e-10: every task, activation, penalty and noise; blocks and split instances;
    biases shifted down so that (with ReLU) blocks run on their active neurons only, or none."""
    W1, b, W2, E, v = mono_batch(2, 3, 9, 4, 6, 300, task == "abs", density=0.3)
    model = (W1, b + shift, W2, E, v)
    kw = dict(task=task, gelu=gelu, l1=l1, noise_on=noise_on, **plan)
    dense, gram = run(False, model, **kw), run(True, model, **kw)
    assert gram[3] and not dense[3]
    assert_same(gram, dense)
    if shift == -50.0 and not gelu:
        assert not gram[2].any()  # no neuron fires: no gradient


def test_the_gram_route_gradients_match_finite_differences():
    W1, b, W2, E, v = mono_batch(4, 2, 7, 3, 5, 40, False, density=0.4)
    kw = dict(task="decoder", l1=0.1)
    assert run(True, (W1, b, W2, E, v), **kw)[3]  # the Gram route
    check_monosemanticity_gradient(lambda model: run(True, model, **kw), (W1, b, W2, E, v))


def test_training_on_the_gram_route_follows_the_dense_route(monkeypatch):
    """float64 training runs (LAMB, bias decay, noise): the two routes' histories and weights agree to
    rounding; each run is bit for bit independent of the thread count."""
    kw = dict(
        n_features=12, d=4, n_neurons=4, density=0.2, steps=25, batch_size=96, lr=0.01, n_instances=2,
        init_bias=-0.2, bias_decay=0.3, input_noise=0.05, l1=0.01, dtype=np.float64, rng=7,
    )  # fmt: skip
    routes = {}
    for gram in (False, True):
        monkeypatch.setattr(mk, "gram_pays", lambda *a, gram=gram: gram)
        routes[gram] = [train_monosemanticity_model(**kw, n_threads=t) for t in (1, 2)]
    for one, two in routes.values():
        for name in ("W1", "b", "W2", "loss_history", "eval_loss"):
            assert np.array_equal(getattr(one, name), getattr(two, name)), name
    dense, gram = routes[False][0], routes[True][0]
    assert not np.array_equal(gram.loss_history, dense.loss_history)  # really two routes
    for name in ("W1", "b", "W2", "loss_history", "eval_loss", "clean_eval_loss"):
        np.testing.assert_allclose(getattr(gram, name), getattr(dense, name), rtol=1e-9, atol=1e-12)


def test_the_cost_model_takes_the_gram_route_only_for_few_neurons():
    """Gram: about 1.75 k² + 1.5 N k² / B multiply-adds a row against the dense 3 N k."""
    assert gram_pays(512, 128, 1024, 1 / 64) and gram_pays(512, 256, 1024, 1 / 64)
    assert not gram_pays(512, 1024, 1024, 1 / 64)  # the paper's k = 2N
    assert not gram_pays(16, 64, 1024, 1 / 64)  # the benchmark's small size, k = 4N
    assert not any(gram_pays(16, max(1, int(r * 16)), 1024, 1 / 16) for r in (0.5, 1, 2, 4, 8))  # the figures
    # dense targets cost the sparse products their advantage
    assert gram_pays(512, 256, 1024, 1 / 64) and not gram_pays(512, 256, 1024, 1.0)
    assert math.isclose(mk.GRAM_MARGIN, 0.8)


def test_the_sampler_draws_the_nonzero_entries_alone_bit_for_bit():
    """Sampler.nonzero_rows: the positions and values fill_rows writes (float32, densities from 0 to 1,
    odd widths, ranges across instances), the stream left in the same state; its per-feature bound
    checked against every word near it."""
    rng = np.random.default_rng(0)
    dens = np.concatenate([[0.0, 2.0**-8, 1 / 64, 0.2, 0.5, 0.999, 1.0], rng.uniform(2.0**-8, 1, 25)])
    dens = np.stack([dens, dens[::-1]])
    sampler = Sampler(dens, np.dtype(np.float32), np.random.default_rng(1))
    n, width = dens.shape[1], 333
    for start, rows in [(0, n), (5, 20), (n - 3, n + 3)]:
        dense, sparse = (np.random.Generator(np.random.SFC64(7)) for _ in range(2))
        x = np.empty((rows, width), np.float32)
        sampler.fill_rows(x, start, np.empty(x.shape, bool), dense)
        pos, vals = sampler.nonzero_rows(start, rows, width, sparse)
        np.testing.assert_array_equal(pos, np.flatnonzero(x))
        assert vals.dtype == np.float32 and np.array_equal(vals, x.reshape(-1)[pos])
        assert dense.bit_generator.random_raw() == sparse.bit_generator.random_raw()
    scale, bound = sampler._rows[0].reshape(-1), sampler.bounds.reshape(-1).astype(np.int64)
    for s, b in zip(scale, bound, strict=True):
        K = b // 256 + 1
        q = np.arange(max(0, K - 2000), min(2**24, K + 2000))
        np.testing.assert_array_equal((q.astype(np.float32) * s < 1) & (q >= 1), (q >= 1) & (q < K))
    assert not Sampler(dens, np.dtype(np.float64), rng).narrow(0, 2)  # float64 uniforms: no sparse draws


@pytest.mark.parametrize("noise_on, noise", [("input", 0.0), ("input", 0.1), ("features", 0.1)])
def test_the_gram_route_draws_its_features_sparse_without_changing_a_bit(monkeypatch, noise_on, noise):
    """The Gram route draws the features' nonzero entries alone (decoder, float32): the same losses and
    gradients, bit for bit over three steps, as drawing the dense block and compressing it."""
    n_inst, n, m, k, batch = 3, 40, 6, 8, 200
    calls = []

    def steps(sparse):
        gen = np.random.default_rng(3)
        sampler = Sampler(np.full((n_inst, n), 0.05), np.dtype(np.float32), gen)
        narrow = sampler.narrow
        sampler.narrow = lambda i0, i1: calls.append(sparse) or (sparse and narrow(i0, i1))
        kern = _MonoKernel(
            n_inst, n, m, k, batch, np.float32, embedding=random_embedding(gen, n_inst, n, m),
            noise=np.full(n_inst, noise), noise_on=noise_on, l1=np.zeros(n_inst), task="decoder", gelu=False,
            sampler=sampler, threads=1, gram=True, block_entries=2000, min_rows=16,
        )  # fmt: skip
        kern.W1[...] = gen.uniform(-0.5, 0.5, kern.W1.shape)
        kern.W2[...] = gen.uniform(-0.5, 0.5, kern.W2.shape)
        kern.b[...] = gen.uniform(-0.3, 0.3, kern.b.shape)
        out = []
        try:
            for _ in range(3):
                out += [kern.loss_and_grad(), kern.grad.copy()]
        finally:
            kern.close()
        return out

    sparse, dense = steps(True), steps(False)
    assert (True in calls) == (noise_on == "input")  # noise added to v itself needs the dense block
    for got, want in zip(sparse, dense, strict=True):
        assert np.array_equal(got, want)
