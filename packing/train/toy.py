"""The ReLU-output and linear toy models of superposition (Elhage et al. 2022), trained in numpy.

Layout: ``W`` has shape ``(instances, n_features, d)`` (rows are features, as
everywhere in :mod:`packing` and as in the reference notebook's
``[instances, features, hidden]``), ``b`` has shape ``(instances, n_features)``,
and a batch ``x`` is instance-major, ``(instances, batch, n_features)``.

The blocked kernel with the hand-derived gradients is :class:`._toy_kernel._ToyKernel`;
here are the public functions: :func:`toy_model_forward`, :func:`toy_model_loss`,
:func:`train_toy_model` and its :class:`ToyModelResult`.
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
    check_choice,
    check_dtype,
    check_int,
    check_optimizer_options,
    seeded_rng,
)
from ._checkpoint import Checkpointer
from ._data import Sampler
from ._inputs import (
    _BLOCK_ENTRIES,
    Inputs,
    check_importance_dtype,
    check_init_scale,
    check_inputs,
    check_model_arrays,
    check_run_memory,
)
from ._optim import CHOICES, Optimizer, run_loop
from ._parallel import blas_limits
from ._toy_kernel import _ToyKernel

__all__ = ["ToyModelResult", "train_toy_model", "toy_model_loss", "toy_model_forward"]

MODELS = ("relu", "linear")
REDUCTIONS = ("sum", "mean")


def _feature_weight(importance, reduction, n_features):
    return importance / n_features if reduction == "mean" else importance


def toy_model_forward(W, b, x, *, model="relu"):
    """Output of toy models: ``x' = ReLU(x W Wᵀ + b)`` (``model="relu"``) or ``x W Wᵀ + b`` (``"linear"``).

    Parameters
    ----------
    W : array_like, shape (instances, n_features, d) or (n_features, d)
    b : array_like, shape (instances, n_features) or (n_features,)
    x : array_like, shape (instances, batch, n_features) or (batch, n_features)
        A 2-D batch is given to every instance.
    model : {"relu", "linear"}

    Returns
    -------
    ndarray, shape (instances, batch, n_features) (``(batch, n_features)`` for 2-D ``W``)

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> toy_model_forward(W, [0.0, 0.0, -0.1], [[1.0, 0.5, 0.2]])
    array([[1. , 0.5, 0. ]])
    >>> toy_model_forward(W, np.zeros(3), [[1.0, 0.5, 0.2]], model="gelu")
    Traceback (most recent call last):
    ...
    ValueError: model must be one of 'relu', 'linear'; got 'gelu'.
    """
    model = check_choice(model, "model", MODELS)
    (W,), b, x, _, single = check_model_arrays({"W": W}, b, x, func="toy_model_forward")
    out = (x @ W) @ W.transpose(0, 2, 1) + b[:, None, :]
    if model == "relu":
        np.maximum(out, 0, out=out)
    return out[0] if single else out


def toy_model_loss(W, b, x, *, importance=1.0, model="relu", reduction="sum", return_grad=False):
    """Loss of toy models on a given batch, optionally with the hand-derived gradients.

    ``L = mean_batch Σ_i I_i (x_i - x'_i)²`` with ``x' = ReLU(x W Wᵀ + b)``
    (``model="relu"``) or ``x W Wᵀ + b`` (``"linear"``). ``reduction="mean"``
    divides by ``n_features`` (the reference notebook's mean over features).

    Parameters
    ----------
    W, b, x : array_like
        As in :func:`toy_model_forward`.
    importance : float or array_like
        Scalar, per feature (1-D), or (instances, n_features).
    model : {"relu", "linear"}
    reduction : {"sum", "mean"}
        Reduction over features.
    return_grad : bool
        Also return ``(dL/dW, dL/db)``.

    Returns
    -------
    loss : ndarray, shape (instances,) (a float for 2-D ``W``)
    grads : tuple of ndarrays, only with ``return_grad``

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> x = np.array([[1.0, 0.5, 0.2]])
    >>> round(toy_model_loss(W, np.zeros(3), x), 4)  # only the third feature is lost
    0.04
    >>> toy_model_loss(W, np.zeros(2), x)
    Traceback (most recent call last):
    ...
    ValueError: b must have shape (1, 3) to match W; got (1, 2).
    """
    model = check_choice(model, "model", MODELS)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    return_grad = check_bool(return_grad, "return_grad")
    (W,), b, x, imp, single = check_model_arrays({"W": W}, b, x, importance=importance, func="toy_model_loss")
    n_inst, n, d = W.shape
    weight = np.broadcast_to(_feature_weight(imp, reduction, n), (n_inst, n))
    k = _ToyKernel(n_inst, n, d, x.shape[1], weight, model == "relu", W.dtype, threads=None)
    k.W[...] = W
    k.b[...] = b
    k.x = x
    k.need_grad = return_grad
    try:
        with blas_limits(k.layout.blas_threads if k.layout.workers > 1 else None):  # no cost when small
            loss = k.loss_and_grad()
    finally:
        k.close()
    loss = float(loss[0]) if single else loss
    if not return_grad:
        return loss
    gW, gb = (k.gW[0], k.gb[0]) if single else (k.gW, k.gb)
    return loss, (gW.copy(), gb.copy())


# --------------------------------------------------------------------------- trainer
@dataclass
class ToyModelResult(Savable):
    """Trained toy models, one per instance (the best of ``n_seeds`` copies of each).

    Attributes
    ----------
    W : ndarray, shape (instances, n_features, d)
        Rows are features (as the reference notebook's ``[instances, features, hidden]``).
    b : ndarray, shape (instances, n_features)
    loss_history : ndarray, shape (steps, instances)
        Training-batch loss of each kept copy before each update.
    eval_loss : ndarray, shape (instances,)
        Loss of each kept copy on a fresh evaluation batch (the selection criterion).
    seed_eval_losses : ndarray, shape (instances, n_seeds)
    chosen_seed : ndarray of int, shape (instances,)
    sparsity, importance : ndarray, shape (instances, n_features)
    snapshots : ndarray, shape (n_snapshots, instances, n_features, d), or None
    snapshot_steps : ndarray of int
    config : dict
        Every argument needed to rerun bit for bit: ``train_toy_model(**config)``.
    seconds : float
    stopping_reason : str
        ``"completed"`` (every step ran) or ``"interrupted"`` (Ctrl-C: ``loss_history``
        has the steps done, ``W`` and ``b`` the parameters after them).
    """

    W: np.ndarray
    b: np.ndarray
    loss_history: np.ndarray
    eval_loss: np.ndarray
    seed_eval_losses: np.ndarray
    chosen_seed: np.ndarray
    sparsity: np.ndarray
    importance: np.ndarray
    snapshots: np.ndarray | None
    snapshot_steps: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0
    stopping_reason: str = "completed"

    def rerun(self) -> ToyModelResult:
        """Train again from ``config`` (bit-for-bit identical on the same machine and package version)."""
        return train_toy_model(**self.config)

    def predict(self, x) -> np.ndarray:
        """Output ``x'`` of every kept model on ``x`` (see :func:`toy_model_forward`).

        ``x`` has shape ``(batch, n_features)`` (given to every instance) or
        ``(instances, batch, n_features)``; the result ``(instances, batch, n_features)``.
        """
        return toy_model_forward(self.W, self.b, x, model=self.config["model"])


def train_toy_model(
    *,
    n_features,
    d,
    sparsity=None,
    density=None,
    importance=1.0,
    n_instances=None,
    model="relu",
    reduction="sum",
    steps=10_000,
    batch_size=1024,
    lr=1e-3,
    optimizer="adam",
    schedule="constant",
    weight_decay=0.0,
    betas=(0.9, 0.999),
    eps=1e-8,
    momentum=0.0,
    n_seeds=1,
    eval_batch_size=None,
    n_correlated_pairs=0,
    n_anticorrelated_pairs=0,
    init_scale=None,
    dtype=np.float32,
    snapshot_every=None,
    rng=None,
    n_threads=None,
    blas_threads=None,
    checkpoint=None,
    checkpoint_every=None,
    progress="auto",
) -> ToyModelResult:
    """Train many toy models of superposition at once, vectorized over instances.

    The model is ``x' = ReLU(x W Wᵀ + b)`` (``model="relu"``) or ``x W Wᵀ + b``
    (``"linear"``) with ``W`` of shape ``(n_features, d)`` per instance. Each
    step draws a fresh batch: feature ``i`` is zero with probability ``S_i`` (the
    **sparsity**), else uniform on [0, 1). The loss per instance is
    ``mean over the batch of Σ_i I_i (x_i - x'_i)²`` (``reduction="sum"`` over
    features; ``"mean"`` divides by ``n_features`` as the reference notebook does).
    Gradients are derived by hand; the optimizer runs in place on one flat buffer.

    Parameters
    ----------
    n_features, d : int
        ``d > n_features`` is allowed.
    sparsity : float or array_like, optional
        Probability that a feature is ZERO. Scalar; 1-D: one value per instance;
        2-D: ``(n_instances, n_features)`` (use shape ``(1, n_features)`` for a
        per-feature value shared by all instances). Default 0.
    density : float or array_like, optional
        ``1 - sparsity``, the probability a feature is active, same shapes. Give
        ``sparsity`` or ``density``, not both.
    importance : float or array_like
        ``I_i`` >= 0: scalar; 1-D: one value per FEATURE (e.g. ``0.7 ** np.arange(n)``);
        2-D: ``(n_instances, n_features)``.
    n_instances : int, optional
        Inferred from per-instance arrays, default 1.
    model : {"relu", "linear"}
    reduction : {"sum", "mean"}
        Reduction of the weighted squared error over features.
    steps, batch_size : int
    lr : float
    optimizer : {"adam", "adamw", "sgd"}
    schedule : {"constant", "linear", "cosine", "warmup_cosine"}
        Learning rate ``lr`` times 1, ``1 - t/steps`` or ``(1 + cos(π t/steps)) / 2``;
        ``"warmup_cosine"`` rises linearly over the first 5% of the steps, then
        falls on a cosine (``packing.train._optim.schedule_factor``).
    weight_decay : float
        Off (0) by default. Decoupled for ``"adamw"``; an L2 gradient term for the others.
    betas, eps : Adam constants (PyTorch defaults).
    momentum : float
        SGD momentum (PyTorch convention), default 0.
    n_seeds : int
        Train ``n_seeds`` independently initialized copies of each instance in the
        same run and keep the copy with the lowest loss on a fresh evaluation batch.
    eval_batch_size : int, optional
        Size of that evaluation batch (default ``max(4 * batch_size, 8192)``).
    n_correlated_pairs, n_anticorrelated_pairs : int
        Features ``0..2k-1`` in correlated pairs, the next ``2m`` anticorrelated.
    init_scale : float, optional
        Standard deviation of the normal initialization of ``W`` (default Xavier,
        ``sqrt(2 / (n_features + d))``); ``b`` starts at 0.
    dtype : np.float32 (default) or np.float64
    snapshot_every : int, optional
        Keep a copy of ``W`` at step 0 and every ``snapshot_every`` steps.
    rng : None, int or numpy.random.Generator
        With ``None`` or an int the seed is recorded in ``config`` for reruns.
    n_threads : int, optional
        Threads to train with. Default: every core the process may use (its
        affinity mask, capped by a cgroup CPU quota). Each thread is a worker
        taking groups of instances (or, when instances are few, ranges of batch
        rows) with a single-threaded BLAS; numpy releases the GIL.
        ``n_threads=1`` trains on one core (for sweeps that run many trainings in
        parallel processes). The result does not depend on it: the groups, their
        random streams and every summation order are fixed by the shape.
    blas_threads : int, optional
        BLAS threads per worker (via threadpoolctl), then ``n_threads //
        blas_threads`` workers. Default 1: OpenBLAS's threaded products sum in
        another order, so with more the last bits of the result may differ.
    checkpoint : str or Path, optional
        A ``.npz`` file to save the run's state to (atomically): every
        ``checkpoint_every`` steps, at the end and on Ctrl-C. If it exists, the
        run resumes from it and ends bit for bit as an uninterrupted run would
        (a checkpoint of another configuration is refused; with ``rng=None`` the
        checkpoint's seed is used). See :mod:`packing.train._checkpoint`.
    checkpoint_every : int, optional
        Steps between checkpoints (default 1000).
    progress : True, False or "auto"
        A progress bar with an ETA over the steps, on standard error; ``"auto"``
        (default) shows it only when standard error is a terminal. Not part of
        ``config``: it does not change the result.

    Returns
    -------
    ToyModelResult

    Raises
    ------
    TrainingDivergedError
        If a loss becomes NaN or infinite (names the step and last finite loss).
    CheckpointMismatchError
        If ``checkpoint`` holds a run of another configuration.

    Notes
    -----
    Ctrl-C stops training after the current step and returns the partial result
    with ``stopping_reason="interrupted"`` (evaluated and best-of-seeds as usual).

    Examples
    --------
    >>> r = train_toy_model(n_features=5, d=2, sparsity=[0.0, 0.9], steps=300,
    ...                     batch_size=256, lr=1e-2, rng=0)
    >>> r.W.shape, r.b.shape, r.loss_history.shape
    ((2, 5, 2), (2, 5), (300, 2))
    >>> bool(np.array_equal(r.rerun().W, r.W))
    True
    >>> r.predict(np.eye(5)).shape  # every instance's output on the same five inputs
    (2, 5, 5)
    >>> train_toy_model(n_features=5, d=2, importance=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: importance values must lie in >= 0.0; got -1.0.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features")
    d = check_int(d, "d")
    inputs = check_inputs(
        n,
        sparsity=sparsity,
        density=density,
        importance=importance,
        n_instances=n_instances,
        n_correlated_pairs=n_correlated_pairs,
        n_anticorrelated_pairs=n_anticorrelated_pairs,
    )
    batch_size = check_batch_size(batch_size)
    ckpt = Checkpointer.open(checkpoint, checkpoint_every, "train_toy_model")
    gen, seed = seeded_rng(ckpt.rng(rng))
    # The validated options, in the form train_toy_model(**config) accepts: the run reads only these.
    config = dict(
        n_features=n,
        d=d,
        **inputs.config,
        model=check_choice(model, "model", MODELS),
        reduction=check_choice(reduction, "reduction", REDUCTIONS),
        **check_optimizer_options(
            optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, **CHOICES
        ),
        batch_size=batch_size,
        n_seeds=check_int(n_seeds, "n_seeds"),
        eval_batch_size=(
            max(4 * batch_size, 8192)
            if eval_batch_size is None
            else check_batch_size(eval_batch_size, "eval_batch_size")
        ),
        init_scale=check_init_scale(init_scale, n, d),
        dtype=check_dtype(dtype).type,
        snapshot_every=None if snapshot_every is None else check_int(snapshot_every, "snapshot_every"),
        rng=seed,
        n_threads=None if n_threads is None else check_int(n_threads, "n_threads"),
        blas_threads=check_blas_threads(blas_threads),
    )
    check_importance_dtype(inputs.importance, config["dtype"])
    total = inputs.n_instances * config["n_seeds"]
    snaps = 0 if config["snapshot_every"] is None else config["steps"] // config["snapshot_every"] + 1
    check_run_memory(
        "train_toy_model",
        params=total * n * (d + 1) * (1 + snaps),
        itemsize=np.dtype(config["dtype"]).itemsize,
        n_steps=config["steps"],
        rows=total,
        batch=total * max(_BLOCK_ENTRIES, 8 * n) + 4 * total * n,
        n_features=n,
        d=d,
        n_instances=inputs.n_instances,
        n_seeds=config["n_seeds"],
        steps=config["steps"],
    )
    return _train(config, inputs, gen, t0, ckpt, check_progress(progress))


def _train(
    cfg: dict, inputs: Inputs, gen: np.random.Generator, t0: float, ckpt=None, progress=False
) -> ToyModelResult:
    """Train from validated options ``cfg`` and tables ``inputs``, drawing from ``gen``."""
    n, d, k, n_inst = cfg["n_features"], cfg["d"], cfg["n_seeds"], inputs.n_instances
    dt, relu = np.dtype(cfg["dtype"]), cfg["model"] == "relu"
    threads = dict(threads=cfg["n_threads"], blas_threads=cfg["blas_threads"])
    total = n_inst * k  # copy s of instance i sits at row i * k + s
    weight = np.repeat(_feature_weight(inputs.importance, cfg["reduction"], n), k, axis=0)
    sampler = Sampler(
        np.repeat(inputs.density, k, axis=0),
        dt,
        gen,
        n_correlated=inputs.n_correlated,
        n_anticorrelated=inputs.n_anticorrelated,
    )
    kern = _ToyKernel(total, n, d, cfg["batch_size"], weight, relu, dt, sampler, **threads)
    kern.W[...] = gen.standard_normal((total, n, d)) * cfg["init_scale"]

    def step(t):
        return kern.loss_and_grad()

    try:
        history, snap_steps, snaps = run_loop(
            kern.params,
            kern.grad,
            step,
            Optimizer.from_options(kern.params, cfg, pool=kern.pool),
            cfg["steps"],
            total,
            snapshot_every=cfg["snapshot_every"],
            snapshot=lambda: kern.W.copy(),
            threads=kern.layout.blas_threads,
            checkpoint=None if ckpt is None else ckpt.bind(cfg, generators=[gen, *kern.gens]),
            progress=progress,  # progress hook (cli branch)
            desc="train_toy_model",
        )
    finally:
        kern.close()

    # Best of n_seeds per instance, on a fresh evaluation batch (no gradient needed).
    ev = _ToyKernel(total, n, d, cfg["eval_batch_size"], weight, relu, dt, sampler, **threads)
    ev.params[...] = kern.params
    ev.need_grad = False
    try:
        with blas_limits(ev.layout.blas_threads):
            seed_losses = ev.loss_and_grad().reshape(n_inst, k)
    finally:
        ev.close()
    chosen = np.argmin(seed_losses, axis=1)
    rows = np.arange(n_inst) * k + chosen
    return ToyModelResult(
        W=kern.W[rows].copy(),
        b=kern.b[rows].copy(),
        loss_history=history[:, rows],
        eval_loss=seed_losses[np.arange(n_inst), chosen],
        seed_eval_losses=seed_losses,
        chosen_seed=chosen,
        sparsity=1.0 - inputs.density,
        importance=inputs.importance.copy(),
        snapshots=None if snaps is None else snaps[:, rows],
        snapshot_steps=snap_steps,
        config=cfg,
        seconds=time.perf_counter() - t0,
        stopping_reason="completed" if len(history) == cfg["steps"] else "interrupted",
    )
