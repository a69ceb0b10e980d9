"""The computation-in-superposition toy: ``y' = ReLU(W2 ReLU(W1 x) + b)`` learning ``|x|``.

Rows are features for both weight matrices: ``W1`` and ``W2`` have shape
``(instances, n_features, d)``, the hidden layer is ``h = ReLU(x W1)`` (d
neurons) and the output ``y' = ReLU(h W2ᵀ + b)``. Inputs are zero with
probability ``S`` (the sparsity), else uniform on [-1, 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_float, check_int
from ._optim import (
    Optimizer,
    check_blas_threads,
    check_dtype,
    check_optimizer_options,
    run_loop,
    seeded,
)
from ._toy import _as_table, _feature_density, _instances, _plain, _Sampler

__all__ = ["AbsModelResult", "train_abs_model"]


@dataclass
class AbsModelResult:
    """Trained absolute-value models, one per instance.

    Attributes
    ----------
    W1, W2 : ndarray, shape (instances, n_features, d)
        Input and output weights, rows are features.
    b : ndarray, shape (instances, n_features)
    loss_history : ndarray, shape (steps, instances)
    sparsity, importance : ndarray, shape (instances, n_features)
    config : dict
    seconds : float
    """

    W1: np.ndarray
    W2: np.ndarray
    b: np.ndarray
    loss_history: np.ndarray
    sparsity: np.ndarray
    importance: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0


def _abs_loss_and_grad(W1, W2, b, x, weight, grads):
    """Per-instance loss ``Σ_n c_n mean_b (y'_bn - |x_bn|)²`` and its gradients (written into ``grads``)."""
    gW1, gW2, gb = grads
    B = x.shape[1]
    a = x @ W1  # (I, B, d)
    h = np.maximum(a, 0)
    out = h @ W2.transpose(0, 2, 1) + b[:, None, :]
    r = np.maximum(out, 0) - np.abs(x)
    loss = np.einsum("ibn,ibn,in->i", r, r, weight.astype(r.dtype)).astype(np.float64) / B
    G = r * (out > 0) * (2.0 * weight / B).astype(r.dtype)[:, None, :]
    np.matmul(G.transpose(0, 2, 1), h, out=gW2)
    np.sum(G, axis=1, out=gb)
    gh = (G @ W2) * (a > 0)
    np.matmul(x.transpose(0, 2, 1), gh, out=gW1)
    return loss


def train_abs_model(
    *,
    n_features,
    d,
    sparsity=None,
    density=None,
    importance=1.0,
    n_instances=None,
    steps=10_000,
    batch_size=1024,
    lr=1e-3,
    optimizer="adam",
    schedule="constant",
    weight_decay=0.0,
    betas=(0.9, 0.999),
    eps=1e-8,
    momentum=0.0,
    init_scale=None,
    dtype=np.float32,
    rng=None,
    blas_threads=1,
) -> AbsModelResult:
    """Train the computation-in-superposition model ``y' = ReLU(W2 ReLU(W1 x) + b)`` on ``|x|``.

    Loss ``mean over the batch of Σ_i I_i (|x_i| - y'_i)²``; inputs are zero with
    probability ``S_i`` (the **sparsity**), else uniform on [-1, 1).

    Parameters
    ----------
    n_features, d : int
        Input/output features and hidden neurons.
    sparsity, density, importance, n_instances
        As in :func:`train_toy_model` (sparsity is the probability of ZERO).
    steps, batch_size, lr, optimizer, schedule, weight_decay, betas, eps, momentum, dtype, rng
        As in :func:`train_toy_model`.
    init_scale : float, optional
        Standard deviation of ``W1`` and ``W2`` at start (default ``sqrt(2 / (n + d))``).

    blas_threads : int or None
        Threads BLAS may use while training (default 1, via threadpoolctl when
        installed): the blocked kernel's GEMMs are small, and a multi-threaded BLAS
        spends more on synchronization than it gains. ``None`` leaves BLAS alone.

    Returns
    -------
    AbsModelResult

    Examples
    --------
    >>> r = train_abs_model(n_features=3, d=6, sparsity=0.0, steps=1500, lr=1e-2, rng=0)
    >>> r.W1.shape, bool(r.loss_history[-1, 0] < 0.2 * r.loss_history[0, 0])
    ((1, 3, 6), True)
    >>> train_abs_model(n_features=3, d=2, steps=0)
    Traceback (most recent call last):
    ...
    ValueError: steps must be >= 1; got 0.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features")
    d = check_int(d, "d")
    opts = check_optimizer_options(optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps)
    batch_size = check_int(batch_size, "batch_size")
    dens = _feature_density(sparsity, density, n)
    imp = _as_table(importance, "importance", n, one_d="feature", lo=0.0)
    dens_name = "sparsity" if density is None else "density"
    n_inst = _instances(n_instances, {dens_name: dens, "importance": imp})
    dt = check_dtype(dtype)
    init_scale = check_float(
        float(np.sqrt(2.0 / (n + d))) if init_scale is None else init_scale, "init_scale", minimum=0.0
    )
    threads = check_blas_threads(blas_threads)
    gen, seed = seeded(rng)
    dens_i = np.broadcast_to(dens, (n_inst, n))
    weight = np.broadcast_to(imp, (n_inst, n))
    k = n_inst * n * d
    params = np.zeros(2 * k + n_inst * n, dtype=dt)
    grad = np.zeros_like(params)
    W1, W2 = params[:k].reshape(n_inst, n, d), params[k : 2 * k].reshape(n_inst, n, d)
    b = params[2 * k :].reshape(n_inst, n)
    gW1, gW2 = grad[:k].reshape(n_inst, n, d), grad[k : 2 * k].reshape(n_inst, n, d)
    grads = (gW1, gW2, grad[2 * k :].reshape(n_inst, n))
    W1[...] = gen.standard_normal(W1.shape) * init_scale
    W2[...] = gen.standard_normal(W2.shape) * init_scale
    sampler = _Sampler(np.ascontiguousarray(dens_i), dt, gen, signed=True)
    x = np.empty((n_inst, batch_size, n), dtype=dt)
    mask, data = np.empty(x.shape, dtype=bool), sampler.streams(1)[0]

    def step(_t):
        sampler.fill(x, 0, mask, data)
        return _abs_loss_and_grad(W1, W2, b, x, weight, grads)

    opt = Optimizer.from_options(params, opts)
    history, _, _ = run_loop(params, grad, step, opt, opts["steps"], n_inst, threads=threads)
    config = dict(
        **opts,
        n_features=n,
        d=d,
        sparsity=None if density is not None else _plain(sparsity),
        density=_plain(density),
        importance=_plain(importance),
        n_instances=n_instances,
        batch_size=batch_size,
        init_scale=init_scale,
        dtype=dt.type,
        rng=seed,
        blas_threads=threads,
    )
    return AbsModelResult(
        W1=W1.copy(),
        W2=W2.copy(),
        b=b.copy(),
        loss_history=history,
        sparsity=1.0 - dens_i.copy(),
        importance=weight.copy(),
        config=config,
        seconds=time.perf_counter() - t0,
    )
