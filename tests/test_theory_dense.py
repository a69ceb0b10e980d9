"""Dense inputs (sparsity 0), where the 200-in-20 sweep's trained loss sat far above the prediction.

Two independent checks: the expected loss against the model evaluated on fresh samples (Monte Carlo)
for a model whose every output has many interferers, including a coarse grid's reported bound; and
training from a tenth of Xavier's scale reaching the predicted loss with every output alive (from
Xavier's scale, outputs whose ReLU never fires are a local minimum the trainer often stays in).
"""

import math

import numpy as np
import pytest

import packing
from packing import theory


def _monte_carlo(W, b, samples, rng):
    """Mean and standard error of the toy loss on fresh inputs at sparsity 0, and which outputs fire."""
    x = packing.sample_toy_batch(W.shape[0], samples, sparsity=0.0, dtype=np.float64, rng=rng)
    x = x[0] if x.ndim == 3 else x
    out = np.maximum(x @ W @ W.T + b, 0)
    per = ((x - out) ** 2).sum(axis=1)
    return per.mean(), per.std() / math.sqrt(samples), (out > 0).any(axis=0)


def test_expected_loss_matches_monte_carlo_with_dense_interference():
    rng = np.random.default_rng(11)
    W = rng.normal(scale=0.35, size=(30, 4))
    b = rng.uniform(-0.1, 0.4, size=30)
    mc, se, _ = _monte_carlo(W, b, 300_000, 12)
    e = theory.expected_loss(W, b, sparsity=0.0, return_details=True)
    assert abs(e.loss[0] - mc) <= 4 * se + e.error_bound[0], (e.loss[0], mc, se)
    coarse = theory.expected_loss(W, b, sparsity=0.0, max_grid_points=64, return_details=True)
    assert coarse.grid_points == 64 and coarse.error_bound[0] > e.error_bound[0]
    # the coarse grid's reported bound covers its actual error
    assert abs(coarse.loss[0] - mc) <= coarse.error_bound[0] + 4 * se


def test_small_initial_scale_reaches_the_predicted_dense_optimum():
    n, d = 30, 3
    pred = theory.predict_geometry(n, d, sparsity=0.0)
    r = packing.train_toy_model(
        n_features=n,
        d=d,
        sparsity=np.zeros(2),
        steps=2000,
        batch_size=512,
        lr=1e-2,
        schedule="cosine",
        init_scale=0.1 * math.sqrt(2 / (n + d)),
        rng=1,
        n_threads=1,
        blas_threads=1,
        progress=False,
    )
    for k in range(2):
        W, b = r.W[k].astype(np.float64), r.b[k].astype(np.float64)
        mc, se, alive = _monte_carlo(W, b, 100_000, 20 + k)
        assert alive.all(), f"instance {k}: {np.sum(~alive)} outputs never fire"
        assert mc == pytest.approx(pred.loss, rel=5e-3), (mc, se, pred.loss)
        # ... and the predicted optimum is the model's own expected loss at its best, not above it
        assert theory.expected_loss(W, b, sparsity=0.0) >= pred.loss - 1e-3 * pred.loss
