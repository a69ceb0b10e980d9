"""The toy kernel's scaled units (sampled blocks hold α ⊙ X) and the threaded optimizer update."""

import numpy as np
import pytest

from packing.train import _parallel
from packing.train._data import Sampler
from packing.train._optim import Optimizer
from packing.train._toy_kernel import _ToyKernel, padded_width

N_INST, N, D, B = 3, 30, 5, 400
DENSITY = np.array([[1.0] * N, [0.3] * N, list(np.linspace(0.05, 0.9, N))])  # the last: per feature


def _kernel(dtype, relu, seed=2, W=None, b=None):
    s = Sampler(DENSITY, np.dtype(dtype), np.random.default_rng(seed))
    imp = np.random.default_rng(1).random((N_INST, N))
    k = _ToyKernel(N_INST, N, D, B, imp, relu, np.dtype(dtype), s, 1)
    k.W[...] = np.random.default_rng(3).normal(size=k.W.shape) * 0.3 if W is None else W
    k.b[...] = 0.05 if b is None else b
    return k, s, imp


def _drawn_batch(k, s, dtype):
    """The batch of the last call, unscaled: (instances, batch, n) float64 (one group, one block)."""
    assert len(k.groups) == 1 and len(k.groups[0].blocks) == 1
    Xt = k.workspaces[0].flat("x", (N_INST, N, B), np.dtype(dtype)).astype(np.float64)
    return (Xt / s.alpha[:, :, None]).transpose(0, 2, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu", [True, False])
def test_scaled_kernel_matches_the_model_written_out_on_the_batch_it_drew(dtype, relu):
    k, s, imp = _kernel(dtype, relu)
    loss = k.loss_and_grad()
    x = _drawn_batch(k, s, dtype)
    assert x.min() >= 0 and x.max() < 1
    W, b = k.W.astype(np.float64), k.b.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for i in range(N_INST):
        out = x[i] @ W[i] @ W[i].T + b[i]
        y = np.maximum(out, 0) if relu else out
        G = 2 * imp[i] * (y - x[i]) * ((out > 0) if relu else 1) / B
        want = x[i].T @ G @ W[i] + G.T @ x[i] @ W[i]
        assert loss[i] == pytest.approx(np.sum(imp[i] * (y - x[i]) ** 2) / B, rel=tol)
        np.testing.assert_allclose(k.gW[i], want, rtol=tol, atol=tol * np.abs(want).max())
        np.testing.assert_allclose(k.gb[i], G.sum(0), rtol=tol, atol=tol * np.abs(G.sum(0)).max())


@pytest.mark.parametrize("d", [11, 12, 14, 16])
def test_padded_gradient_products_match_the_model_written_out_and_the_unpadded_ones(d):
    """d % 8 in 3..6: the gradient products can run on zero-padded H and GW (padded_width); not d = 16."""
    assert (padded_width(d) > d + 1) == (d != 16)
    assert padded_width(d, avx512=True) == d + 1
    runs = []
    for width in (padded_width(d), d + 1):  # the kernel picks one by the BLAS kernels: both, here
        s = Sampler(DENSITY, np.dtype(np.float64), np.random.default_rng(5))
        imp = np.random.default_rng(1).random((N_INST, N))
        k = _ToyKernel(N_INST, N, d, B, imp, True, np.dtype(np.float64), s, 1)
        assert k.width in (padded_width(d), d + 1)
        k.width = width
        k.W[...] = np.random.default_rng(3).normal(size=k.W.shape) * 0.3
        k.b[...] = 0.05
        runs.append((k.loss_and_grad().copy(), k.grad.copy(), k, s))
    (loss, grad, k, s), (loss0, grad0, _, _) = runs
    np.testing.assert_allclose(loss, loss0, rtol=1e-13)
    np.testing.assert_allclose(grad, grad0, rtol=1e-12, atol=1e-13 * np.abs(grad0).max())
    x = _drawn_batch(k, s, np.float64)
    W, b = k.W, k.b
    gP = grad.reshape(N_INST, N, d + 1)
    for i in range(N_INST):
        out = x[i] @ W[i] @ W[i].T + b[i]
        G = 2 * imp[i] * (np.maximum(out, 0) - x[i]) * (out > 0) / B
        want = x[i].T @ G @ W[i] + G.T @ x[i] @ W[i]
        np.testing.assert_allclose(gP[i, :, :d], want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(gP[i, :, d], G.sum(0), rtol=1e-10, atol=1e-12 * np.abs(G.sum(0)).max())


def test_scaled_kernel_gradient_matches_finite_differences_on_a_fixed_batch():
    k, _, _ = _kernel(np.float64, True)
    k.loss_and_grad()
    W0, b0, gW, gb = k.W.copy(), k.b.copy(), k.gW.copy(), k.gb.copy()
    rng = np.random.default_rng(7)
    eps = 1e-6
    for _ in range(4):  # a fresh kernel with the same seed draws the same batch
        dW, db = rng.normal(size=W0.shape), rng.normal(size=b0.shape)
        up = _kernel(np.float64, True, W=W0 + eps * dW, b=b0 + eps * db)[0]
        down = _kernel(np.float64, True, W=W0 - eps * dW, b=b0 - eps * db)[0]
        up.need_grad = down.need_grad = False
        fd = (up.loss_and_grad() - down.loss_and_grad()) / (2 * eps)
        exact = (gW * dW).sum(axis=(1, 2)) + (gb * db).sum(axis=1)
        np.testing.assert_allclose(fd, exact, rtol=1e-6, atol=1e-9)


def test_a_chunk_across_rows_of_different_density_equals_row_by_row():
    density = np.array([[0.9, 0.9, 0.4, 0.4, 0.4]])
    x = [np.empty((5, 300), np.float32) for _ in range(2)]
    for out, spans in zip(x, ([(0, 5)], [(0, 2), (2, 5)]), strict=True):
        s = Sampler(density, np.dtype(np.float32), np.random.default_rng(4))
        gen = s.streams(1)[0]
        for k0, k1 in spans:  # one chunk with a column of offsets, or two with a scalar each
            s.fill_rows_scaled(out[k0:k1], k0, np.zeros((k1 - k0, 300), np.float32), gen)
    np.testing.assert_array_equal(x[0], x[1])


@pytest.mark.parametrize(
    "kind, wd, momentum", [("adam", 0.0, 0.0), ("adamw", 0.01, 0.0), ("adam", 0.01, 0.0), ("sgd", 0.01, 0.9)]
)
def test_the_update_on_worker_threads_equals_the_single_thread_update_bit_for_bit(kind, wd, momentum):
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=3 * 2**15 + 17).astype(np.float32)  # large enough to be split over 3 threads
    grads = [rng.normal(size=p0.shape).astype(np.float32) for _ in range(3)]
    pool = _parallel.WorkerPool(3)
    opts = dict(kind=kind, lr=1e-2, schedule="cosine", steps=3, weight_decay=wd, betas=(0.9, 0.99), eps=1e-8)
    try:
        results = []
        for worker_pool in (None, pool):
            p = p0.copy()
            opt = Optimizer(p, momentum=momentum, pool=worker_pool, **opts)
            for t, g in enumerate(grads):
                opt.step(p, g.copy(), t)
            results.append(p)
    finally:
        pool.close()
    assert not np.array_equal(results[0], p0)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("rows", [1024, 1001])
def test_the_toy_kernels_larger_chunks_draw_the_same_batches_and_take_the_same_steps(rows):
    """Its chunks (TOY_CHUNK_ENTRIES) against the shared ones: bit for bit the same losses and gradients.

    200 features x 1024 rows is three shared chunks but one of the toy kernel's; with an odd
    number of rows the kernel keeps the shared chunks (a chunk of odd size loses half a word).
    """
    from packing.train._kernel import CHUNK_ENTRIES
    from packing.train._toy_kernel import TOY_CHUNK_ENTRIES

    n, d, inst = 200, 8, 3
    assert n * rows > 2 * CHUNK_ENTRIES and n * rows < TOY_CHUNK_ENTRIES
    density = np.repeat(np.array([1.0, 0.3, 0.05])[:, None], n, axis=1)
    imp = np.random.default_rng(1).random((inst, n))

    def steps(**plan):
        s = Sampler(density, np.dtype(np.float32), np.random.default_rng(7))
        k = _ToyKernel(inst, n, d, rows, imp, True, np.dtype(np.float32), s, 1, **plan)
        assert all(len(g.blocks) == 1 for g in k.groups)
        k.W[...] = np.random.default_rng(3).normal(size=k.W.shape) * 0.3
        out = []
        for _ in range(3):
            out += [k.loss_and_grad().copy(), k.grad.copy()]
            k.params -= 1e-2 * k.grad
        return out

    for a, b in zip(steps(), steps(chunk_entries=CHUNK_ENTRIES), strict=True):
        np.testing.assert_array_equal(a, b)
