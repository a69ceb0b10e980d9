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

from .._progress import check_progress
from .._results import Savable
from .._validation import (
    check_batch_size,
    check_blas_threads,
    check_bool,
    check_dtype,
    check_int,
    check_optimizer_options,
    seeded_rng,
)
from ._checkpoint import Checkpointer
from ._data import Sampler
from ._inputs import (
    Inputs,
    check_importance_dtype,
    check_init_scale,
    check_inputs,
    check_model_arrays,
    check_run_memory,
)
from ._optim import CHOICES, Optimizer, run_loop

__all__ = ["AbsModelResult", "abs_model_forward", "abs_model_loss", "train_abs_model"]


@dataclass
class AbsModelResult(Savable):
    """Trained absolute-value models, one per instance.

    Attributes
    ----------
    W1, W2 : ndarray, shape (instances, n_features, d)
        Input and output weights, rows are features.
    b : ndarray, shape (instances, n_features)
    loss_history : ndarray, shape (steps, instances)
    sparsity, importance : ndarray, shape (instances, n_features)
    config : dict
        Every argument needed to rerun bit for bit: ``train_abs_model(**config)``.
    seconds : float
    stopping_reason : str
        ``"completed"`` or ``"interrupted"`` (Ctrl-C; the result covers the steps done).
    """

    W1: np.ndarray
    W2: np.ndarray
    b: np.ndarray
    loss_history: np.ndarray
    sparsity: np.ndarray
    importance: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0
    stopping_reason: str = "completed"

    def rerun(self) -> AbsModelResult:
        """Train again from ``config`` (bit-for-bit identical on the same machine)."""
        return train_abs_model(**self.config)

    def predict(self, x) -> np.ndarray:
        """Output ``y'`` of every instance on ``x`` (see :func:`abs_model_forward`).

        ``x`` has shape ``(batch, n_features)`` (given to every instance) or
        ``(instances, batch, n_features)``; the result ``(instances, batch, n_features)``.
        """
        return abs_model_forward(self.W1, self.W2, self.b, x)


def _forward(W1, W2, b, x):
    """Pre-activation ``a = x W1``, hidden ``h = ReLU(a)`` and pre-output ``h W2ᵀ + b`` (trusted input)."""
    a = x @ W1  # (I, B, d)
    h = np.maximum(a, 0)
    return a, h, h @ W2.transpose(0, 2, 1) + b[:, None, :]


def _loss_and_grad(W1, W2, b, x, weight, grads):
    """Per-instance loss ``Σ_n c_n mean_b (y'_bn - |x_bn|)²`` and its gradients (written into ``grads``)."""
    gW1, gW2, gb = grads
    B = x.shape[1]
    a, h, out = _forward(W1, W2, b, x)
    r = np.maximum(out, 0) - np.abs(x)
    loss = np.einsum("ibn,ibn,in->i", r, r, weight.astype(r.dtype)).astype(np.float64) / B
    G = r * (out > 0) * (2.0 * weight / B).astype(r.dtype)[:, None, :]
    np.matmul(G.transpose(0, 2, 1), h, out=gW2)
    np.sum(G, axis=1, out=gb)
    gh = (G @ W2) * (a > 0)
    np.matmul(x.transpose(0, 2, 1), gh, out=gW1)
    return loss


def abs_model_forward(W1, W2, b, x):
    """Output of computation-in-superposition models: ``y' = ReLU(ReLU(x W1) W2ᵀ + b)``.

    Parameters
    ----------
    W1, W2 : array_like, shape (instances, n_features, d) or (n_features, d)
        Input and output weights, rows are features.
    b : array_like, shape (instances, n_features) or (n_features,)
    x : array_like, shape (instances, batch, n_features) or (batch, n_features)
        A 2-D batch is given to every instance.

    Returns
    -------
    ndarray, shape (instances, batch, n_features) (``(batch, n_features)`` for 2-D ``W1``)

    Examples
    --------
    >>> W1 = np.array([[1.0, -1.0]])  # one feature, two neurons: ReLU(x) and ReLU(-x)
    >>> abs_model_forward(W1, np.ones((1, 2)), [0.0], [[-0.5], [0.25]])  # computes |x|
    array([[0.5 ],
           [0.25]])
    >>> abs_model_forward(W1, np.ones((2, 2)), [0.0], [[0.5]])
    Traceback (most recent call last):
    ...
    ValueError: W2 must have the shape of W1, (1, 1, 2); got (1, 2, 2).
    """
    (W1, W2), b, x, _, single = check_model_arrays({"W1": W1, "W2": W2}, b, x, func="abs_model_forward")
    out = np.maximum(_forward(W1, W2, b, x)[2], 0)
    return out[0] if single else out


def abs_model_loss(W1, W2, b, x, *, importance=1.0, return_grad=False):
    """Loss ``mean_batch Σ_i I_i (|x_i| - y'_i)²`` of the models on ``x``, optionally with the gradients.

    Parameters
    ----------
    W1, W2, b, x
        As in :func:`abs_model_forward`.
    importance : float or array_like
        Scalar, per feature (1-D), or (instances, n_features).
    return_grad : bool
        Also return ``(dL/dW1, dL/dW2, dL/db)``.

    Returns
    -------
    loss : ndarray, shape (instances,) (a float for 2-D ``W1``)
    grads : tuple of ndarrays, only with ``return_grad``

    Examples
    --------
    >>> W1 = np.array([[1.0, -1.0]])
    >>> abs_model_loss(W1, np.ones((1, 2)), [0.0], [[-0.5], [0.25]])  # exact
    0.0
    >>> round(abs_model_loss(W1, np.ones((1, 2)), [0.1], [[-0.5], [0.25]]), 6)  # off by 0.1
    0.01
    """
    return_grad = check_bool(return_grad, "return_grad")
    (W1, W2), b, x, imp, single = check_model_arrays(
        {"W1": W1, "W2": W2}, b, x, importance=importance, func="abs_model_loss"
    )
    grads = (np.empty_like(W1), np.empty_like(W2), np.empty_like(b))
    loss = _loss_and_grad(W1, W2, b, x, np.broadcast_to(imp, b.shape), grads)
    loss = float(loss[0]) if single else loss
    if not return_grad:
        return loss
    return loss, (tuple(g[0] for g in grads) if single else grads)


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
    checkpoint=None,
    checkpoint_every=None,
    progress="auto",
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
        As in :func:`train_toy_model` (default 1).
    checkpoint, checkpoint_every
        As in :func:`train_toy_model`: save the run's state to a ``.npz`` file every
        ``checkpoint_every`` steps (default 1000), at the end and on Ctrl-C, and
        resume from it bit for bit.
    progress : True, False or "auto"
        As in :func:`train_toy_model`.

    Returns
    -------
    AbsModelResult

    Examples
    --------
    >>> r = train_abs_model(n_features=3, d=6, sparsity=0.0, steps=1500, lr=1e-2, rng=0)
    >>> r.W1.shape, bool(r.loss_history[-1, 0] < 0.2 * r.loss_history[0, 0])
    ((1, 3, 6), True)
    >>> r.predict(np.eye(3)).shape  # the output on each basis input
    (1, 3, 3)
    >>> train_abs_model(n_features=3, d=2, steps=0)
    Traceback (most recent call last):
    ...
    ValueError: steps must be >= 1; got 0.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features")
    d = check_int(d, "d")
    inputs = check_inputs(
        n, sparsity=sparsity, density=density, importance=importance, n_instances=n_instances
    )
    ckpt = Checkpointer.open(checkpoint, checkpoint_every, "train_abs_model")
    gen, seed = seeded_rng(ckpt.rng(rng))
    # The validated options, in the form train_abs_model(**config) accepts: the run reads only these.
    config = dict(
        n_features=n,
        d=d,
        **inputs.config,
        **check_optimizer_options(
            optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, **CHOICES
        ),
        batch_size=check_batch_size(batch_size),
        init_scale=check_init_scale(init_scale, n, d),
        dtype=check_dtype(dtype).type,
        rng=seed,
        blas_threads=check_blas_threads(blas_threads),
    )
    check_importance_dtype(inputs.importance, config["dtype"])
    m = inputs.n_instances
    check_run_memory(
        "train_abs_model",
        params=m * n * (2 * d + 1),
        itemsize=np.dtype(config["dtype"]).itemsize,
        n_steps=config["steps"],
        rows=m,
        batch=m * config["batch_size"] * (2 * n + 2 * d),
        n_features=n,
        d=d,
        n_instances=m,
        batch_size=config["batch_size"],
        steps=config["steps"],
    )
    return _train(config, inputs, gen, t0, ckpt, check_progress(progress))


def _train(
    cfg: dict, inputs: Inputs, gen: np.random.Generator, t0: float, ckpt=None, progress=False
) -> AbsModelResult:
    """Train from validated options ``cfg`` and tables ``inputs``, drawing from ``gen``."""
    n, d, n_inst, dt = cfg["n_features"], cfg["d"], inputs.n_instances, np.dtype(cfg["dtype"])
    weight = inputs.importance
    k = n_inst * n * d
    params = np.zeros(2 * k + n_inst * n, dtype=dt)
    grad = np.zeros_like(params)
    W1, W2 = params[:k].reshape(n_inst, n, d), params[k : 2 * k].reshape(n_inst, n, d)
    b = params[2 * k :].reshape(n_inst, n)
    gW1, gW2 = grad[:k].reshape(n_inst, n, d), grad[k : 2 * k].reshape(n_inst, n, d)
    grads = (gW1, gW2, grad[2 * k :].reshape(n_inst, n))
    W1[...] = gen.standard_normal(W1.shape) * cfg["init_scale"]
    W2[...] = gen.standard_normal(W2.shape) * cfg["init_scale"]
    sampler = Sampler(np.ascontiguousarray(inputs.density), dt, gen, signed=True)
    x = np.empty((n_inst, cfg["batch_size"], n), dtype=dt)
    mask, data = np.empty(x.shape, dtype=bool), sampler.streams(1)[0]

    def step(_t):
        sampler.fill(x, 0, mask, data)
        return _loss_and_grad(W1, W2, b, x, weight, grads)

    opt = Optimizer.from_options(params, cfg)
    history, _, _ = run_loop(
        params,
        grad,
        step,
        opt,
        cfg["steps"],
        n_inst,
        threads=cfg["blas_threads"],
        checkpoint=None if ckpt is None else ckpt.bind(cfg, generators=[gen, data]),
        progress=progress,  # progress hook (cli branch)
        desc="train_abs_model",
    )
    return AbsModelResult(
        W1=W1.copy(),
        W2=W2.copy(),
        b=b.copy(),
        loss_history=history,
        sparsity=1.0 - inputs.density,
        importance=weight.copy(),
        config=cfg,
        seconds=time.perf_counter() - t0,
        stopping_reason="completed" if len(history) == cfg["steps"] else "interrupted",
    )
