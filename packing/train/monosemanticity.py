"""Engineering monosemanticity: the toy model of Jermyn, Schiefer & Hubinger (2022), trained in numpy.

The model (arXiv 2211.09169, "Engineering Monosemanticity in Toy Models"):
``N`` sparse features ``v`` (each zero with probability ``1 - p_i``, else
uniform on [0, 1)) are embedded by a fixed random matrix ``E`` (rows: unit
feature directions in ``R^m``) into the input ``x = v E``; a hidden layer of
``k`` neurons ``a = φ(x W1 + b)`` (``φ`` ReLU or GeLU) and a linear read-out
``y = a W2ᵀ`` without bias reconstruct a target: ``v`` (the feature decoder)
or ``|v|`` (the absolute-value task, ``v = v₁ - v₂``). The number of neurons
``k`` is free (``k > N`` included), so whether a neuron serves one feature
(*monosemantic*) or several is up to training: the bias initialization, bias
decay, the learning rate, input noise and an L1 penalty on activations steer it.

Layout (rows are features, as everywhere in :mod:`packing`): ``W1`` is
``(instances, m, k)``, ``b`` ``(instances, k)``, ``W2`` ``(instances, N, k)``
and ``E`` ``(instances, N, m)``. In the paper's PyTorch code (``model3.py``)
these are ``0.weight = W1ᵀ``, ``0.bias = b``, ``2.weight = W2`` and
``fixed_embedder = Eᵀ``. The first layer's effective feature directions
``E W1`` (the paper's ``W₁E``, transposed) are a packing of ``N`` rows in ``k``
dimensions: :attr:`MonosemanticityModelResult.feature_directions`.

Public functions: :func:`train_monosemanticity_model` (many instances at once,
hand-derived gradients, LAMB as in the paper), :func:`monosemanticity_model_loss`
(the loss and gradients on a given batch) and :func:`monosemanticity` (the
paper's measurement: which neurons respond to a single feature).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._progress import check_progress
from .._results import Savable
from .._validation import (
    check_batch,
    check_batch_size,
    check_blas_threads,
    check_bool,
    check_choice,
    check_dtype,
    check_finite,
    check_float,
    check_instance,
    check_instances,
    check_int,
    check_optimizer_options,
    check_real,
    seeded_rng,
)
from ._checkpoint import Checkpointer
from ._data import Sampler
from ._inputs import check_inputs, check_run_memory, plain
from ._mono_kernel import _MonoKernel
from ._optim import LAYERWISE_CHOICES, Optimizer, run_loop
from ._parallel import blas_limits

__all__ = [
    "MonosemanticityModelResult",
    "MonosemanticityReport",
    "monosemanticity",
    "monosemanticity_model_loss",
    "train_monosemanticity_model",
]

TASKS = ("decoder", "abs")
ACTIVATIONS = ("relu", "gelu")
FREQUENCIES = ("equal", "power_law")
NOISE_ON = ("input", "features")
#: The paper's mean feature frequency ε (N = 512 features, 8 active on average).
DEFAULT_DENSITY = 1.0 / 64.0
#: Exponent of the power-law frequencies ``p_i ∝ i^-1.1`` (``sample_vectors_power_law`` in the paper's code).
POWER_LAW_EXPONENT = 1.1
#: The paper's threshold (``r_threshold`` in its ``model_helper.py``).
THRESHOLD = 0.999


# --------------------------------------------------------------------------- pieces of the model
def power_law_frequencies(n_features: int, density: np.ndarray) -> np.ndarray:
    """``p_i ∝ i^-1.1`` (i = 1..N) rescaled to mean ``density`` per instance, capped at 1: ``(I, N)``."""
    shape = np.arange(1, n_features + 1, dtype=np.float64) ** -POWER_LAW_EXPONENT
    p = density[:, None] * n_features * shape / shape.sum()
    return np.minimum(p, 1.0)


def random_embedding(gen: np.random.Generator, n_inst: int, n: int, m: int) -> np.ndarray:
    """``n_inst`` fixed embeddings ``(n, m)``: an orthonormalised Gaussian matrix with unit rows.

    For ``n >= m`` the columns of a Gaussian ``(n, m)`` matrix are orthonormalised
    (QR; the paper takes the left singular vectors, another orthonormal basis of
    the same column space, so the rows have the same Gram matrix) and each row is
    then scaled to unit norm; for ``n < m`` the rows are orthonormal.
    """
    out = np.empty((n_inst, n, m))
    for i in range(n_inst):
        g = gen.standard_normal((n, m))
        q = np.linalg.qr(g)[0] if n >= m else np.linalg.qr(g.T)[0].T
        out[i] = q / np.linalg.norm(q, axis=1, keepdims=True)
    return out


def _activation(Z: np.ndarray, gelu: bool) -> np.ndarray:
    from scipy.special import ndtr

    return Z * ndtr(Z) if gelu else np.maximum(Z, 0)


def _per_instance(value, name: str, *, minimum: float | None = None) -> np.ndarray:
    """Return a number or a 1-D array (one per instance) as float64 of shape ``(1,)`` or ``(instances,)``."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{name} must be a number or a 1-D array of numbers (one per instance); got {value!r}."
        )
    arr = check_real(value, name, dtype=np.float64)
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a number or a non-empty 1-D array (one per instance); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr[~np.isfinite(arr)].ravel()[0]}.")
    if minimum is not None and (arr < minimum).any():
        raise ValueError(f"{name} values must be >= {minimum}; got {arr[arr < minimum].ravel()[0]}.")
    return arr.reshape(-1)


# --------------------------------------------------------------------------- loss on a given batch
def _check_model(W1, b, W2, embedding, dtype=None):
    """Validate the model arrays; return ``(W1, b, W2, E, single)`` as 3-D / 2-D float arrays."""
    W1, single = check_batch(W1, "W1", dtype=dtype)
    dt = W1.dtype
    n_inst, m, k = W1.shape
    b = check_finite(check_real(b, "b", dtype=dt), "b")
    b = b.reshape(1, -1) if b.ndim == 1 else b
    if b.shape != (n_inst, k):
        raise ValueError(
            f"b must have shape {(n_inst, k)} (instances, n_neurons) to match W1; got {b.shape}."
        )
    W2, _ = check_batch(W2, "W2", dtype=dt)
    if W2.shape[0] != n_inst or W2.shape[2] != k:
        raise ValueError(
            f"W2 must have shape ({n_inst}, n_features, {k}) (rows are features) to match W1; got {W2.shape}."
        )
    n = W2.shape[1]
    E, _ = check_batch(embedding, "embedding", dtype=dt)
    if E.shape != (n_inst, n, m):
        raise ValueError(
            f"embedding must have shape {(n_inst, n, m)} (instances, n_features, d) to match W1 and W2; "
            f"got {E.shape}."
        )
    return W1, b, W2, E, single


def _check_features(v, n_inst, n, dt, name="v"):
    v = check_finite(check_real(v, name, dtype=dt), name)
    if not (v.ndim == 2 and v.shape[1] == n or v.ndim == 3 and v.shape[0] == n_inst and v.shape[2] == n):
        raise ValueError(f"{name} must have shape ({n_inst}, batch, {n}) or (batch, {n}); got {v.shape}.")
    if v.shape[-2] == 0:
        raise ValueError(f"{name} must hold at least one input (batch >= 1); got shape {v.shape}.")
    return np.broadcast_to(v, (n_inst,) + v.shape) if v.ndim == 2 else v


def monosemanticity_model_loss(
    W1, b, W2, embedding, v, *, task="decoder", activation="relu", l1=0.0, return_grad=False
):
    """Training objective of the model on a given batch of features, optionally with its gradients.

    ``L = (1/B) Σ_batch [Σ_n (y_n - t_n)² + λ Σ_j |a_j|]`` with ``a = φ(v E W1 + b)``,
    ``y = a W2ᵀ`` and ``t = v`` (``task="decoder"``) or ``|v|`` (``"abs"``).
    No input noise: ``v`` is the batch.

    Parameters
    ----------
    W1 : array_like, shape (instances, d, n_neurons) or (d, n_neurons)
    b : array_like, shape (instances, n_neurons) or (n_neurons,)
    W2 : array_like, shape (instances, n_features, n_neurons) or (n_features, n_neurons)
    embedding : array_like, shape (instances, n_features, d) or (n_features, d)
    v : array_like, shape (instances, batch, n_features) or (batch, n_features)
        Feature values (a 2-D batch is given to every instance).
    task : {"decoder", "abs"}
    activation : {"relu", "gelu"}
    l1 : float or array_like
        ``λ`` (one per instance, or one for all), >= 0.
    return_grad : bool
        Also return ``(dL/dW1, dL/db, dL/dW2)``.

    Returns
    -------
    loss : ndarray, shape (instances,) (a float for 2-D ``W1``)
    grads : tuple of ndarrays, only with ``return_grad``

    Examples
    --------
    Two features, two neurons, each the identity on its own feature:

    >>> E = np.eye(2); W1 = np.eye(2); W2 = np.eye(2)
    >>> monosemanticity_model_loss(W1, np.zeros(2), W2, E, [[0.5, 0.0], [0.0, 0.25]])
    0.0
    >>> monosemanticity_model_loss(W1, [-0.1, 0.0], W2, E, [[0.5, 0.0]])  # (0.4 - 0.5)² = 0.01
    0.01
    >>> monosemanticity_model_loss(W1, np.zeros(3), W2, E, [[0.5, 0.0]])
    Traceback (most recent call last):
    ...
    ValueError: b must have shape (1, 2) (instances, n_neurons) to match W1; got (1, 3).
    """
    task = check_choice(task, "task", TASKS)
    activation = check_choice(activation, "activation", ACTIVATIONS)
    return_grad = check_bool(return_grad, "return_grad")
    W1, b, W2, E, single = _check_model(W1, b, W2, embedding)
    n_inst, m, k = W1.shape
    n = W2.shape[1]
    x = _check_features(v, n_inst, n, W1.dtype)
    lam = _per_instance(l1, "l1", minimum=0.0)
    if lam.size not in (1, n_inst):
        raise ValueError(f"l1 has {lam.size} values; W1 has {n_inst} instances.")
    kern = _MonoKernel(
        n_inst,
        n,
        m,
        k,
        x.shape[1],
        W1.dtype,
        embedding=E,
        noise=np.zeros(n_inst),
        noise_on="input",
        l1=np.broadcast_to(lam, (n_inst,)),
        task=task,
        gelu=activation == "gelu",
        threads=None,
    )
    kern.W1[...] = W1
    kern.b[...] = b
    kern.W2[...] = W2
    kern.v = x
    kern.need_grad = return_grad
    try:
        with blas_limits(kern.layout.blas_threads if kern.layout.workers > 1 else None):
            loss = kern.loss_and_grad() + kern.penalty
    finally:
        kern.close()
    loss = float(loss[0]) if single else loss
    if not return_grad:
        return loss
    grads = (kern.gP1[:, :m], kern.gP1[:, m], kern.gW2)
    return loss, tuple(g[0].copy() if single else g.copy() for g in grads)


# --------------------------------------------------------------------------- the trainer
@dataclass
class MonosemanticityModelResult(Savable, schema=1):
    """Trained engineered-monosemanticity models, one per instance.

    Attributes
    ----------
    W1 : ndarray, shape (instances, d, n_neurons)
        First layer (the paper's ``0.weight``, transposed).
    b : ndarray, shape (instances, n_neurons)
        Neuron biases.
    W2 : ndarray, shape (instances, n_features, n_neurons)
        Read-out, rows are features (the paper's ``2.weight``).
    embedding : ndarray, shape (instances, n_features, d)
        The fixed embedding ``E`` (unit rows; the paper's ``fixed_embedder``, transposed).
    frequencies : ndarray, shape (instances, n_features)
        Probability that each feature is active (for ``task="abs"``: each of
        ``v₁``, ``v₂`` is drawn with half of it).
    loss_history : ndarray, shape (steps, instances)
        Reconstruction loss of each training batch before each update (the L1
        penalty is not included, so that models with and without it compare).
    eval_loss : ndarray, shape (instances,)
        Reconstruction loss on a fresh evaluation batch drawn as in training (with the input noise).
    clean_eval_loss : ndarray, shape (instances,)
        The same on the same evaluation batch without the input noise (equal to
        ``eval_loss`` when there is no noise).
    W1_snapshots : ndarray, shape (n_snapshots, instances, d, n_neurons), or None
    b_snapshots : ndarray, shape (n_snapshots, instances, n_neurons), or None
    snapshot_steps : ndarray of int
    config : dict
        Every argument needed to rerun bit for bit: ``train_monosemanticity_model(**config)``.
    seconds : float
    stopping_reason : str
        ``"completed"`` or ``"interrupted"`` (Ctrl-C: the result covers the steps done).
    """

    W1: np.ndarray
    b: np.ndarray
    W2: np.ndarray
    embedding: np.ndarray
    frequencies: np.ndarray
    loss_history: np.ndarray
    eval_loss: np.ndarray
    clean_eval_loss: np.ndarray
    W1_snapshots: np.ndarray | None
    b_snapshots: np.ndarray | None
    snapshot_steps: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0
    stopping_reason: str = "completed"

    def rerun(self) -> MonosemanticityModelResult:
        """Train again from ``config`` (bit-for-bit identical on the same machine, whatever the threads)."""
        return train_monosemanticity_model(**self.config)

    @property
    def feature_directions(self) -> np.ndarray:
        """``E W1``, shape (instances, n_features, n_neurons): each feature's direction in neuron space."""
        return self.embedding @ self.W1

    def activations(self, v) -> np.ndarray:
        """Neuron activations ``φ(v E W1 + b)`` on features ``v`` (no noise): (instances, batch, n_neurons).

        ``v`` is ``(batch, n_features)`` (given to every instance) or ``(instances, batch, n_features)``.
        """
        v = _check_features(v, len(self.W1), self.W2.shape[1], self.W1.dtype)
        return _activation(
            v @ self.embedding @ self.W1 + self.b[:, None, :], self.config["activation"] == "gelu"
        )

    def predict(self, v) -> np.ndarray:
        """Model output ``y`` on features ``v`` (no noise): (instances, batch, n_features)."""
        return self.activations(v) @ self.W2.transpose(0, 2, 1)


def _check_density(sparsity, density, frequencies, n, n_instances):
    """Return ``(inputs, table)``: the validated density keywords and the feature frequencies ``(I, N)``."""
    if sparsity is None and density is None:
        density = DEFAULT_DENSITY
    inputs = check_inputs(n, sparsity=sparsity, density=density, n_instances=n_instances)
    table = inputs.density
    if frequencies == "power_law":
        given = density if density is not None else sparsity
        if np.ndim(given) > 1:
            name = "density" if density is not None else "sparsity"
            raise ValueError(
                f"frequencies='power_law' takes {name} as the mean frequency (a number or one per instance); "
                f"got a per-feature table of shape {np.shape(given)}."
            )
        table = power_law_frequencies(n, np.ascontiguousarray(table[:, 0]))
    return inputs, np.ascontiguousarray(table, dtype=np.float64)


def train_monosemanticity_model(
    *,
    n_features,
    d,
    n_neurons,
    density=None,
    sparsity=None,
    frequencies="equal",
    task="decoder",
    activation="relu",
    init_bias=0.0,
    bias_decay=0.0,
    input_noise=0.0,
    noise_on="input",
    l1=0.0,
    n_instances=None,
    steps=10_000,
    batch_size=1024,
    lr=3e-3,
    optimizer="lamb",
    schedule="cosine",
    cosine_t_max=512,
    weight_decay=0.0,
    betas=(0.9, 0.999),
    eps=1e-6,
    momentum=0.0,
    eval_batch_size=None,
    dtype=np.float32,
    snapshot_every=None,
    rng=None,
    n_threads=None,
    blas_threads=None,
    checkpoint=None,
    checkpoint_every=None,
    progress="auto",
) -> MonosemanticityModelResult:
    """Train the engineered-monosemanticity model (Jermyn et al. 2022), many instances at once.

    Each step draws a fresh batch of sparse features ``v`` (feature ``i`` is
    active with probability ``p_i``, then uniform on [0, 1)), embeds it, ``x = v
    E`` (+ Gaussian noise), and updates ``W1, b, W2`` of ``a = φ(x W1 + b)``, ``y =
    a W2ᵀ`` on ``(1/B) Σ_batch [Σ_n (y_n - t_n)² + λ Σ_j |a_j|]`` (squared error
    summed over the outputs, mean over the batch, as the paper's ``loss_func``).
    Gradients are derived by hand. Every instance has its own embedding, initial
    weights and data stream.

    Parameters
    ----------
    n_features : int
        ``N``, the number of features.
    d : int
        ``m``, the embedding (input) dimension.
    n_neurons : int
        ``k``, the hidden neurons; ``k > N`` is allowed.
    density : float or array_like, optional
        The mean probability ``ε`` that a feature is active (default 1/64, the
        paper's). A number; 1-D: one per instance; with ``frequencies="equal"``
        also ``(instances, n_features)`` (any per-feature table).
    sparsity : float or array_like, optional
        ``1 - density``; give one of the two.
    frequencies : {"equal", "power_law"}
        ``"equal"``: every feature has probability ``ε``; ``"power_law"``: ``p_i ∝
        i^-1.1`` (i = 1..N) rescaled to mean ``ε``, then capped at 1 (the paper's
        ``power_law`` sampler; the cap lowers the mean: 0.0146 for the paper's
        N = 512, ε = 1/64, whose first feature is always active).
    task : {"decoder", "abs"}
        ``"decoder"``: reconstruct ``v``. ``"abs"``: ``v = v₁ - v₂`` with ``v₁, v₂``
        drawn independently at half the frequencies (the paper halves ``ε`` so that
        the density of ``v`` stays about ``ε``), input ``x = v E``, target ``|v|``.
    activation : {"relu", "gelu"}
        ``φ``; GeLU is the exact ``z Φ(z)`` (PyTorch's ``nn.GELU()``).
    init_bias : float or array_like
        Added to the biases' initial draw (the paper's ``init_bias``, e.g. -1); one per
        instance or one for all.
    bias_decay : float or array_like, >= 0
        During the first half of training (steps ``t < steps / 2``) the biases are
        multiplied by ``1 - bias_decay * lr`` after each update (``lr`` the base
        rate, as the paper's code does), pulling them to 0 (e.g. 0.03).
    input_noise : float or array_like, >= 0
        Standard deviation of Gaussian noise added in training (the target stays
        the clean ``v``): to the model's input ``x`` (``noise_on="input"``,
        isotropic in ``R^m``) or to every feature of ``v`` before the embedding
        (``noise_on="features"``). Not in the paper.
    noise_on : {"input", "features"}
    l1 : float or array_like, >= 0
        ``λ``, the L1 penalty on the activations (the paper's ``reg``).
    n_instances : int, optional
        Inferred from the per-instance arrays, default 1.
    steps, batch_size : int
        Updates and batch size (the paper: 2^17 and 2^13).
    lr : float
        Base learning rate (the paper sweeps 1e-3 to 3e-2).
    optimizer : {"lamb", "adam", "adamw", "sgd"}
        Default LAMB as ``torch_optimizer.Lamb`` (the paper's), see
        :class:`packing.train._optim.Optimizer`; its tensors are ``W1``, ``b``, ``W2``.
    schedule : {"cosine", "constant", "linear", "cosine_periodic", "cosine_restarts"}
        ``"cosine"``: ``lr (1 + cos(π t / steps)) / 2``, one annealing over the run.
        ``"cosine_periodic"``: the paper's, ``lr (1 + cos(π t / T)) / 2`` with ``T =
        cosine_t_max``: its code steps PyTorch's ``CosineAnnealingLR(T_max=512,
        eta_min=0)`` on every update, and past ``T_max`` that keeps following the
        cosine, so the rate falls to 0 at step 512, climbs smoothly back to ``lr``
        at 1024 and repeats (128 periods over its 2^17 steps; not a warm restart).
        ``"cosine_restarts"``: ``lr (1 + cos(π (t mod T) / T)) / 2``, jumping back to
        ``lr`` every ``T`` steps (PyTorch's ``CosineAnnealingWarmRestarts(T_0=T)``).
        The bias decay uses the base ``lr`` whatever the schedule (as the paper's code).
    cosine_t_max : int, default 512
        ``T`` of the periodic schedules (the paper's ``T_max``); recorded, unused by the others.
    weight_decay, betas, momentum
        Optimizer constants (LAMB: ``weight_decay`` joins the update direction).
    eps : float
        Default 1e-6 (``torch_optimizer.Lamb``'s).
    eval_batch_size : int, optional
        Batch of the final evaluation (default ``max(4 * batch_size, 8192)``).
    dtype : np.float32 (default) or np.float64
    snapshot_every : int, optional
        Keep ``W1`` and ``b`` at step 0 and every ``snapshot_every`` steps.
    rng : None, int or numpy.random.Generator
        With ``None`` or an int the seed is recorded in ``config``.
    n_threads, blas_threads : int, optional
        As in :func:`train_toy_model`; the result does not depend on ``n_threads``.
    checkpoint, checkpoint_every
        As in :func:`train_toy_model`: save the run's state to a ``.npz`` file and
        resume from it bit for bit.
    progress : True, False or "auto"
        A progress bar over the steps on standard error (``"auto"``: only when it
        is a terminal). Not part of ``config``.

    Returns
    -------
    MonosemanticityModelResult

    Raises
    ------
    TrainingDivergedError
        If a loss becomes NaN or infinite.
    CheckpointMismatchError
        If ``checkpoint`` holds a run of another configuration.

    Notes
    -----
    Initialization follows PyTorch's ``nn.Linear`` (the paper's): ``W1`` and the
    bias uniform on ``±1/sqrt(m)``, ``W2`` on ``±1/sqrt(k)``; ``init_bias`` is added
    to the bias. Ctrl-C stops after the current step and returns the partial
    result with ``stopping_reason="interrupted"``.

    Examples
    --------
    >>> r = train_monosemanticity_model(n_features=8, d=4, n_neurons=16, density=0.1,
    ...                                 init_bias=[0.0, -1.0], bias_decay=0.03,
    ...                                 steps=200, batch_size=128, lr=0.01, rng=0)
    >>> r.W1.shape, r.b.shape, r.W2.shape, r.loss_history.shape
    ((2, 4, 16), (2, 16), (2, 8, 16), (200, 2))
    >>> bool(np.array_equal(r.rerun().W1, r.W1))
    True
    >>> train_monosemanticity_model(n_features=8, d=4, n_neurons=16, input_noise=-0.1)
    Traceback (most recent call last):
    ...
    ValueError: input_noise values must be >= 0.0; got -0.1.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features")
    m = check_int(d, "d")
    k = check_int(n_neurons, "n_neurons")
    frequencies = check_choice(frequencies, "frequencies", FREQUENCIES)
    inputs, table = _check_density(sparsity, density, frequencies, n, n_instances)
    knobs = {
        "init_bias": _per_instance(init_bias, "init_bias"),
        "bias_decay": _per_instance(bias_decay, "bias_decay", minimum=0.0),
        "input_noise": _per_instance(input_noise, "input_noise", minimum=0.0),
        "l1": _per_instance(l1, "l1", minimum=0.0),
    }
    tables = {"sparsity" if sparsity is not None else "density": table}
    tables.update({key: value[:, None] for key, value in knobs.items()})
    n_inst = check_instances(n_instances, tables)
    batch_size = check_batch_size(batch_size)
    progress = check_progress(progress)
    ckpt = Checkpointer.open(checkpoint, checkpoint_every, "train_monosemanticity_model")
    gen, seed = seeded_rng(ckpt.rng(rng))
    config = dict(
        n_features=n,
        d=m,
        n_neurons=k,
        density=inputs.config["density"],
        sparsity=inputs.config["sparsity"],
        frequencies=frequencies,
        task=check_choice(task, "task", TASKS),
        activation=check_choice(activation, "activation", ACTIVATIONS),
        **{key: plain(value if value.size > 1 else value[0]) for key, value in knobs.items()},
        noise_on=check_choice(noise_on, "noise_on", NOISE_ON),
        n_instances=n_inst,
        **check_optimizer_options(
            optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, **LAYERWISE_CHOICES
        ),
        cosine_t_max=check_int(cosine_t_max, "cosine_t_max", minimum=1),
        batch_size=batch_size,
        eval_batch_size=(
            max(4 * batch_size, 8192)
            if eval_batch_size is None
            else check_batch_size(eval_batch_size, "eval_batch_size")
        ),
        dtype=check_dtype(dtype).type,
        snapshot_every=None if snapshot_every is None else check_int(snapshot_every, "snapshot_every"),
        rng=seed,
        n_threads=None if n_threads is None else check_int(n_threads, "n_threads"),
        blas_threads=check_blas_threads(blas_threads),
    )
    rows = max(batch_size, config["eval_batch_size"])
    check_run_memory(
        "train_monosemanticity_model",
        params=n_inst * ((m + 1) * k + n * k + n * m),
        itemsize=np.dtype(config["dtype"]).itemsize,
        n_steps=config["steps"] if snapshot_every is None else config["steps"] * (1 + (m + 1) * k),
        rows=n_inst,
        batch=n_inst * rows * (3 * n + m + 2 * k),
        n_features=n,
        d=m,
        n_neurons=k,
        n_instances=n_inst,
        batch_size=batch_size,
        eval_batch_size=config["eval_batch_size"],
        steps=config["steps"],
    )
    table = np.broadcast_to(table, (n_inst, n))
    knobs = {key: np.broadcast_to(value, (n_inst,)) for key, value in knobs.items()}
    return _train(config, table, knobs, gen, t0, ckpt, progress)


class _DecayingBias:
    """The optimizer, then ``b *= 1 - decay * lr`` after updates ``t < steps / 2`` (the paper's decay)."""

    def __init__(self, opt: Optimizer, b: np.ndarray, decay: np.ndarray, lr: float, steps: int):
        self.opt, self.b, self.until = opt, b, steps / 2
        self.factor = (1.0 - decay * lr).astype(b.dtype)[:, None]
        self.active = bool(np.any(decay))

    def __getattr__(self, name):
        return getattr(self.opt, name)

    def step(self, params, grad, t):
        """One update of the wrapped optimizer, then the bias decay."""
        self.opt.step(params, grad, t)
        if self.active and t < self.until:
            self.b *= self.factor


def _kernel(cfg, table, knobs, embedding, batch, gen_or_sampler):
    return _MonoKernel(
        cfg["n_instances"],
        cfg["n_features"],
        cfg["d"],
        cfg["n_neurons"],
        batch,
        np.dtype(cfg["dtype"]),
        embedding=embedding,
        noise=knobs["input_noise"],
        noise_on=cfg["noise_on"],
        l1=knobs["l1"],
        task=cfg["task"],
        gelu=cfg["activation"] == "gelu",
        sampler=gen_or_sampler,
        threads=cfg["n_threads"],
        blas_threads=cfg["blas_threads"],
        density=float(np.mean(table)),  # the targets' (the read-out's route depends on it, see gram_pays)
    )


def _evaluate(cfg, table, knobs, embedding, sampler, params):
    """Loss on one fresh evaluation batch with the training noise, and on the same batch without it."""
    n_inst, n, m, dt = cfg["n_instances"], cfg["n_features"], cfg["d"], np.dtype(cfg["dtype"])
    shape = (n_inst, cfg["eval_batch_size"], n)
    data, noise_gen = sampler.streams(2)
    v = np.empty(shape, dt)
    mask = np.empty(shape, bool)
    sampler.fill(v, 0, mask, data)
    if cfg["task"] == "abs":  # the sampler's table is already halved: v = v1 - v2
        v2 = np.empty(shape, dt)
        sampler.fill(v2, 0, mask, data)
        v -= v2
    ev = _kernel(cfg, table, knobs, embedding, cfg["eval_batch_size"], None)
    ev.params[...] = params
    ev.need_grad = False
    ev.v = v
    try:
        with blas_limits(ev.layout.blas_threads):
            noisy, ev.any_noise = ev.any_noise, False
            clean = ev.loss_and_grad()
            if not noisy:
                return clean, clean.copy()
            ev.any_noise = True
            dim = n if cfg["noise_on"] == "features" else m
            scale = knobs["input_noise"].astype(dt)[:, None, None]
            ev.given_noise = noise_gen.standard_normal((n_inst, shape[1], dim), dtype=dt) * scale
            return ev.loss_and_grad(), clean
    finally:
        ev.close()


def _train(cfg, table, knobs, gen, t0, ckpt, progress) -> MonosemanticityModelResult:
    """Train from validated options ``cfg``, frequencies ``table`` (I, N) and per-instance ``knobs``."""
    n, m, k, n_inst = cfg["n_features"], cfg["d"], cfg["n_neurons"], cfg["n_instances"]
    dt = np.dtype(cfg["dtype"])
    embedding = random_embedding(gen, n_inst, n, m)
    s1, s2 = 1.0 / math.sqrt(m), 1.0 / math.sqrt(k)
    W1 = gen.uniform(-s1, s1, (n_inst, m, k))
    b = gen.uniform(-s1, s1, (n_inst, k)) + knobs["init_bias"][:, None]
    W2 = gen.uniform(-s2, s2, (n_inst, n, k))
    sample_table = table / 2.0 if cfg["task"] == "abs" else table
    sampler = Sampler(np.ascontiguousarray(sample_table), dt, gen)
    kern = _kernel(cfg, table, knobs, embedding, cfg["batch_size"], sampler)
    kern.W1[...], kern.b[...], kern.W2[...] = W1, b, W2
    opt = Optimizer.from_options(kern.params, cfg, tensors=(n_inst, kern.tensors), pool=kern.pool)
    opt = _DecayingBias(opt, kern.b, knobs["bias_decay"], cfg["lr"], cfg["steps"])

    def step(t):
        return kern.loss_and_grad()

    try:
        history, snap_steps, snaps = run_loop(
            kern.params,
            kern.grad,
            step,
            opt,
            cfg["steps"],
            n_inst,
            snapshot_every=cfg["snapshot_every"],
            snapshot=lambda: kern.P1.copy(),
            threads=kern.layout.blas_threads,
            checkpoint=ckpt.bind(cfg, generators=[gen, *kern.gens]),
            progress=progress,
            desc="train_monosemanticity_model",
        )
    finally:
        kern.close()

    eval_loss, clean = _evaluate(cfg, table, knobs, embedding, sampler, kern.params)
    return MonosemanticityModelResult(
        W1=kern.W1.copy(),
        b=kern.b.copy(),
        W2=kern.W2.copy(),
        embedding=embedding.astype(dt),
        frequencies=np.array(table),
        loss_history=history,
        eval_loss=eval_loss,
        clean_eval_loss=clean,
        W1_snapshots=None if snaps is None else snaps[:, :, :m].copy(),
        b_snapshots=None if snaps is None else snaps[:, :, m].copy(),
        snapshot_steps=snap_steps,
        config=cfg,
        seconds=time.perf_counter() - t0,
        stopping_reason="completed" if len(history) == cfg["steps"] else "interrupted",
    )


# --------------------------------------------------------------------------- the measurement
@dataclass
class MonosemanticityReport(Savable, schema=1):
    """Which neurons of trained models respond to a single feature (:func:`monosemanticity`).

    Each one-hot feature ``e_i`` (value 1, no noise) is fed to the model and the
    neuron activations ``a_j(e_i) = φ(E_i W1 + b)_j`` collected. A neuron is
    **monosemantic** when its largest single-feature activation exceeds
    ``threshold`` times the sum of its (positive) activations over all features,
    **dead** when no single feature activates it.

    Attributes
    ----------
    threshold : float
    activations : ndarray, shape (instances, n_neurons, n_features)
        ``a_j(e_i)``: neuron x feature.
    score : ndarray, shape (instances, n_neurons)
        ``max_i a_j(e_i)⁺ / Σ_i a_j(e_i)⁺`` (0 for dead neurons; ``x⁺ = max(x, 0)``).
    monosemantic, dead : ndarray of bool, shape (instances, n_neurons)
    owner : ndarray of int, shape (instances, n_neurons)
        The feature that activates each neuron most (-1 for dead neurons).
    bias : ndarray, shape (instances, n_neurons)
    monosemantic_fraction : ndarray, shape (instances,)
        Monosemantic neurons / ``n_neurons``.
    monosemantic_per_feature : ndarray, shape (instances,)
        Monosemantic neurons / ``n_features`` (the paper's "# mono neurons / # features").
    features_with_monosemantic_neuron : ndarray, shape (instances,)
        Fraction of the features that own at least one monosemantic neuron.
    dead_fraction : ndarray, shape (instances,)
    mean_bias_monosemantic, mean_bias_polysemantic : ndarray, shape (instances,)
        Mean bias of the monosemantic and of the polysemantic (alive, not
        monosemantic) neurons; NaN where there are none.
    statistics : list of PairStatistics, or None
        Per instance: :func:`packing.pairwise_statistics` (orders 1, 2, inf,
        signed parts) of the effective feature directions ``E W1`` (rows are features).
    structure : list of StructureReport, or None
        Per instance: :func:`packing.analyze_structure` of ``E W1``, when asked for.
    """

    threshold: float
    activations: np.ndarray
    score: np.ndarray
    monosemantic: np.ndarray
    dead: np.ndarray
    owner: np.ndarray
    bias: np.ndarray
    monosemantic_fraction: np.ndarray
    monosemantic_per_feature: np.ndarray
    features_with_monosemantic_neuron: np.ndarray
    dead_fraction: np.ndarray
    mean_bias_monosemantic: np.ndarray
    mean_bias_polysemantic: np.ndarray
    statistics: list | None = None
    structure: list | None = None

    @property
    def polysemantic(self) -> np.ndarray:
        """Alive neurons that are not monosemantic, (instances, n_neurons)."""
        return ~self.monosemantic & ~self.dead

    def order(self, instance: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(neurons, features)`` of one instance sorted for a heat map.

        Neurons by decreasing score (the monosemantic first), dead ones last;
        features by the first monosemantic neuron they own (features without one last).
        """
        i = check_int(instance, "instance", minimum=0, maximum=self.score.shape[0] - 1)
        n = self.activations.shape[2]
        return heatmap_order(self.score[i], self.monosemantic[i], self.dead[i], self.owner[i], n)


def heatmap_order(score, monosemantic, dead, owner, n_features) -> tuple[np.ndarray, np.ndarray]:
    """``(neurons, features)`` of one model sorted for a heat map (see :meth:`MonosemanticityReport.order`).

    Takes one instance's ``score``, ``monosemantic``, ``dead`` and ``owner`` (each ``(n_neurons,)``,
    as in the report) and the number of features. Inputs are trusted (private to the toolkit).
    """
    score = np.where(dead, -1.0, score)
    neurons = np.argsort(-score, kind="stable")
    first = np.full(n_features, len(neurons))
    for rank, j in enumerate(neurons):
        f = owner[j]
        if monosemantic[j] and first[f] == len(neurons):
            first[f] = rank
    return neurons, np.argsort(first, kind="stable")


def monosemanticity(
    result, *, threshold=THRESHOLD, snapshot=None, statistics=True, structure=False
) -> MonosemanticityReport:
    """Measure how monosemantic trained models are (the metric of Jermyn et al. 2022).

    Parameters
    ----------
    result : MonosemanticityModelResult
    threshold : float in (0, 1), default 0.999
        A neuron is monosemantic when its largest single-feature activation
        exceeds ``threshold`` times the sum of its activations over the features
        (the paper's ``r_threshold``).
    snapshot : int, optional
        Measure the first layer kept at ``result.snapshot_steps[snapshot]``
        (``W1_snapshots``, ``b_snapshots``) instead of the final one.
    statistics : bool, default True
        Also compute :func:`packing.pairwise_statistics` (with signed parts) of
        the effective feature directions ``E W1`` of each instance.
    structure : bool, default False
        Also run :func:`packing.analyze_structure` on them (slower).

    Returns
    -------
    MonosemanticityReport

    Examples
    --------
    >>> r = train_monosemanticity_model(n_features=6, d=6, n_neurons=12, density=0.2,
    ...                                 init_bias=-1.0, bias_decay=0.03, steps=300,
    ...                                 batch_size=256, lr=0.01, rng=0)
    >>> rep = monosemanticity(r)
    >>> rep.activations.shape, rep.monosemantic.shape
    ((1, 12, 6), (1, 12))
    >>> bool(0.0 <= rep.monosemantic_fraction[0] <= 1.0)
    True
    >>> monosemanticity(r, threshold=1.5)
    Traceback (most recent call last):
    ...
    ValueError: threshold must be < 1.0; got 1.5.
    """
    check_instance(result, MonosemanticityModelResult, "result", what="a MonosemanticityModelResult")
    threshold = check_float(
        threshold, "threshold", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True
    )
    statistics = check_bool(statistics, "statistics")
    structure = check_bool(structure, "structure")
    if snapshot is not None:
        count = 0 if result.W1_snapshots is None else len(result.W1_snapshots)
        if count == 0:
            raise ValueError("snapshot needs a result trained with snapshot_every; this one kept none.")
        at = check_int(snapshot, "snapshot", minimum=-count, maximum=count - 1)
        result = dataclasses.replace(result, W1=result.W1_snapshots[at], b=result.b_snapshots[at])
    n_inst, n, k = result.W2.shape
    acts = result.activations(np.eye(n, dtype=result.W1.dtype)).astype(np.float64).transpose(0, 2, 1)
    pos = np.maximum(acts, 0.0)
    top, total = pos.max(axis=2), pos.sum(axis=2)
    dead = total <= 0.0
    mono = (top > threshold * total) & ~dead
    score = np.divide(top, total, out=np.zeros_like(top), where=~dead)
    owner = np.where(dead, -1, pos.argmax(axis=2))
    bias = result.b.astype(np.float64)
    poly = ~mono & ~dead
    owned = np.array([np.unique(owner[i][mono[i]]).size for i in range(n_inst)]) / n

    def mean_where(mask):
        count = mask.sum(axis=1)
        return np.divide((bias * mask).sum(axis=1), count, out=np.full(n_inst, np.nan), where=count > 0)

    feats = result.feature_directions.astype(np.float64)
    stats = None
    if statistics:
        from ..geometry import pairwise_statistics

        stats = [pairwise_statistics(F, p=(1.0, 2.0, np.inf), signed=True) for F in feats]
    reports = None
    if structure:
        from ..structure import analyze_structure

        reports = [analyze_structure(F) for F in feats]
    return MonosemanticityReport(
        threshold=threshold,
        activations=acts,
        score=score,
        monosemantic=mono,
        dead=dead,
        owner=owner,
        bias=bias,
        monosemantic_fraction=mono.mean(axis=1),
        monosemantic_per_feature=mono.sum(axis=1) / n,
        features_with_monosemantic_neuron=owned,
        dead_fraction=dead.mean(axis=1),
        mean_bias_monosemantic=mean_where(mono),
        mean_bias_polysemantic=mean_where(poly),
        statistics=stats,
        structure=reports,
    )
