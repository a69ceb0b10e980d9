"""The toy kernel's sparse input products: against its dense ones, the model written out, thread counts."""

import numpy as np
import pytest

from packing.train._data import Sampler
from packing.train._toy_kernel import _ToyKernel, sparse_inputs_pay

N_INST, N, D, B = 4, 45, 12, 333  # d > 6: the products are GEMMs (below, dot products: always dense)
SMALL = dict(group_ns=1e3, target_groups=9, block_entries=4000, chunk_entries=900, min_rows=8)


def _given(dtype, density, sparse, threads=1, seed=0, **plan):
    """A kernel on a given batch of the stated per-instance density; returns (kernel, x, W, b, imp)."""
    rng = np.random.default_rng(seed)
    W = (rng.normal(size=(N_INST, N, D)) * 0.3).astype(dtype)
    b = (rng.normal(size=(N_INST, N)) * 0.1).astype(dtype)
    on = rng.random((N_INST, B, N)) < np.asarray(density, float).reshape(-1, 1, 1)
    x = (rng.random((N_INST, B, N)) * on).astype(dtype)
    imp = rng.random((N_INST, N)) + 0.1
    k = _ToyKernel(N_INST, N, D, B, imp, True, np.dtype(dtype), None, threads, sparse_inputs=sparse, **plan)
    k.W[...], k.b[...], k.x = W, b, x
    return k, x, W, b, imp


def _run(k):
    try:
        return k.loss_and_grad().copy(), k.grad.copy()
    finally:
        k.close()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("plan", [{}, SMALL])
def test_sparse_route_matches_the_dense_route_and_the_model_written_out(dtype, tol, plan):
    density = [0.3, 0.05, 0.0, 1.0]  # includes no nonzero entry at all and every entry nonzero
    dense = _run(_given(dtype, density, False, **plan)[0])
    k, x, W, b, imp = _given(dtype, density, True, **plan)
    assert k.sparse.all()
    loss, grad = _run(k)
    np.testing.assert_allclose(loss, dense[0], rtol=tol)
    np.testing.assert_allclose(grad, dense[1], rtol=tol, atol=tol * np.abs(dense[1]).max())
    gP = grad.reshape(N_INST, N, D + 1)
    x64, W64, b64 = x.astype(float), W.astype(float), b.astype(float)
    for i in range(N_INST):  # against the model and its gradient written out in float64
        out = x64[i] @ W64[i] @ W64[i].T + b64[i]
        y = np.maximum(out, 0)
        G = 2 * imp[i] * (y - x64[i]) * (out > 0) / B
        want_W = x64[i].T @ G @ W64[i] + G.T @ x64[i] @ W64[i]
        assert loss[i] == pytest.approx(np.sum(imp[i] * (y - x64[i]) ** 2) / B, rel=tol)
        np.testing.assert_allclose(gP[i, :, :D], want_W, rtol=tol, atol=tol * np.abs(want_W).max())
        np.testing.assert_allclose(gP[i, :, D], G.sum(0), rtol=tol, atol=tol * np.abs(G.sum(0)).max())


def test_density_zero_leaves_only_the_bias_and_no_input_gradient_path():
    k, x, W, b, imp = _given(np.float64, [0.0] * N_INST, True)
    assert not x.any()
    loss, grad = _run(k)
    gP = grad.reshape(N_INST, N, D + 1)
    relu_b = np.maximum(b, 0)
    np.testing.assert_allclose(loss, (imp * relu_b**2).sum(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(gP[:, :, :D], 0)  # h = 0 and xᵀ(GW) = 0: no gradient reaches W
    np.testing.assert_allclose(gP[:, :, D], 2 * imp * relu_b, rtol=1e-12)


@pytest.mark.parametrize("flags", [[True, False, True, True], [False, True, True, False]])
def test_mixed_routes_in_one_block_and_split_instances_never_change_a_bit_with_threads(flags):
    runs = []
    for plan in ({}, SMALL):
        for threads in (1, 2, 3):
            runs.append(_run(_given(np.float32, [0.2, 0.1, 0.02, 0.5], flags, threads, **plan)[0]))
        for loss, grad in runs[-2:]:
            np.testing.assert_array_equal(loss, runs[-3][0])
            np.testing.assert_array_equal(grad, runs[-3][1])
    dense = _run(_given(np.float32, [0.2, 0.1, 0.02, 0.5], False)[0])
    for loss, grad in (runs[0], runs[3]):
        np.testing.assert_allclose(loss, dense[0], rtol=2e-5)
        np.testing.assert_allclose(grad, dense[1], rtol=2e-5, atol=2e-5 * np.abs(dense[1]).max())


def _sampled(sparse, threads=1, d=120, seed=3, n=60, rows=700):
    density = np.array([[0.02] * n, [1.0] * n, list(np.linspace(0.0, 0.1, n))])  # last: per feature, with 0
    sampler = Sampler(density, np.dtype(np.float32), np.random.default_rng(seed))
    k = _ToyKernel(
        3,
        n,
        d,
        rows,
        np.ones((3, n)),
        True,
        np.dtype(np.float32),
        sampler,
        threads,
        sparse_inputs=sparse,
        **SMALL,
    )
    k.W[...] = np.random.default_rng(4).normal(size=k.W.shape) * 0.2
    k.b[...] = -0.01
    return k


def test_sampled_batches_take_the_sparse_route_where_it_pays_with_the_same_draws_and_steps():
    auto = _sampled(None)
    assert auto.sparse.tolist() == [True, False, True]  # d = 120: low densities sparse, density 1 dense
    steps = {}
    for label, k in (("auto", auto), ("dense", _sampled(False)), ("auto, 2 threads", _sampled(None, 2))):
        try:
            out = []
            for _ in range(3):  # the same batches: the sampler's draws do not depend on the route
                out.append((k.loss_and_grad().copy(), k.grad.copy()))
                k.params -= 1e-2 * k.grad
        finally:
            k.close()
        steps[label] = out
    for (la, ga), (lb, gb) in zip(steps["auto"], steps["auto, 2 threads"], strict=True):
        np.testing.assert_array_equal(la, lb)
        np.testing.assert_array_equal(ga, gb)
    for (la, ga), (lb, gb) in zip(steps["auto"], steps["dense"], strict=True):
        np.testing.assert_allclose(la, lb, rtol=1e-5)
        np.testing.assert_allclose(ga, gb, rtol=1e-5, atol=1e-5 * np.abs(gb).max())
        np.testing.assert_array_equal(la[1], lb[1])  # the dense instance is untouched bit for bit
        np.testing.assert_array_equal(ga.reshape(3, -1)[1], gb.reshape(3, -1)[1])


def test_the_route_choice_follows_density_and_d_and_stays_dense_where_it_cannot_pay():
    p = np.linspace(0, 1, 101)
    for d in (20, 50, 100, 400):
        chosen = sparse_inputs_pay(p, d)
        assert not chosen[-1]  # dense inputs never take it
        assert not np.any(np.diff(chosen.astype(int)) > 0)  # once too dense, denser never pays again
    assert sparse_inputs_pay(0.02, 100) and not sparse_inputs_pay(0.02, 20)
    given = _given(np.float32, [0.01] * N_INST, None)[0]
    few = _ToyKernel(1, 8, 4, 64, np.ones((1, 8)), True, np.dtype(np.float32), None, 1, sparse_inputs=True)
    try:
        assert not given.sparse.any()  # a given batch: its density is unknown beforehand, dense
        assert not few.sparse.any()  # d <= 6: dot products, not GEMMs, always dense
    finally:
        given.close()
        few.close()
