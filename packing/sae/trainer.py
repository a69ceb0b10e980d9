"""Sparse autoencoders trained in numpy: L1, TopK and BatchTopK, with dead-latent handling.

The model and its hand-derived gradients are described in :mod:`packing.sae._kernel`.
Here are the public functions: :func:`train_sae` and its :class:`SAEResult`,
:func:`sae_loss` (loss and gradients on a given batch) and :func:`sae_encode`.

Layout, as everywhere in :mod:`packing`: rows are features. The dictionary
(the decoder) has shape ``(n_latents, d)``, one unit-norm row per latent; the
encoder has the same shape (``pre = (x − b_d) Eᵀ + b_e``). Several runs of
the same size (penalties, ``k``, seeds) train at once as *instances*; arrays
of a result then carry a leading instance axis.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._results import Savable
from .._validation import (
    _describe,
    check_batch_size,
    check_blas_threads,
    check_bool,
    check_choice,
    check_dtype,
    check_float,
    check_int,
    check_optimizer_options,
    check_real,
    check_seed_sequence,
    child_rng,
    seeded_rng,
)
from ..train._checkpoint import Checkpointer, deferred_interrupt
from ..train._optim import CHOICES, Optimizer, TrainingLoop
from ..train._parallel import blas_limits
from ._kernel import KINDS, _SAEKernel
from .data import SparseActivations, as_activations

__all__ = ["SAEResult", "train_sae", "sae_loss", "sae_encode"]

BIAS_INITS = ("mean", "zero")
#: Default number of samples a latent may go without firing before it counts as dead.
DEAD_AFTER = 2**18
#: Gao et al. (2024), appendix A.2: weight of the auxiliary loss.
AUX_COEFFICIENT = 1 / 32
#: Rows encoded at once by :func:`sae_encode` (bounds the dense (rows, n_latents) codes).
_ENCODE_ROWS = 4096


# --------------------------------------------------------------------------- encoding (forward pass)
def _encode(X, E, be, bd, kind, k, threshold, out=None) -> np.ndarray:
    """Dense codes ``z`` (rows, m) of one instance; ``threshold`` is BatchTopK's inference threshold."""
    P = (X - bd) @ E.T + be
    if kind == "topk" and k < P.shape[1]:
        kth = np.partition(P, P.shape[1] - k, axis=1)[:, P.shape[1] - k][:, None]
        keep = P >= kth
        # ties at the k-th value: keep the first k by position, as argpartition-based selection may not;
        # exact ties have probability zero for continuous data
        P = np.where(keep, P, 0)
    elif kind == "batchtopk":
        P = np.where(P >= threshold, P, 0)
    np.maximum(P, 0, out=P)
    if out is not None:
        out[...] = P
        return out
    return P


def sae_encode(x, encoder, encoder_bias, decoder_bias, *, kind="l1", k=None, threshold=None) -> np.ndarray:
    """Codes ``z`` of a sparse autoencoder: ``σ((x − b_d) Eᵀ + b_e)`` for one instance.

    Parameters
    ----------
    x : array_like, shape (n_samples, d)
    encoder : array_like, shape (n_latents, d)
    encoder_bias : array_like, shape (n_latents,)
    decoder_bias : array_like, shape (d,)
    kind : {"l1", "topk", "batchtopk"}
        ``"l1"``: ReLU; ``"topk"``: ReLU of the ``k`` largest per sample;
        ``"batchtopk"``: pre-activations at least ``threshold`` (the inference
        rule of Bussmann et al. 2024), then ReLU.
    k : int, optional
        For ``"topk"``.
    threshold : float, optional
        For ``"batchtopk"``.

    Returns
    -------
    ndarray, shape (n_samples, n_latents)

    Examples
    --------
    >>> E = np.eye(3)
    >>> sae_encode([[0.5, -1.0, 2.0]], E, np.zeros(3), np.zeros(3))
    array([[0.5, 0. , 2. ]])
    >>> sae_encode([[0.5, -1.0, 2.0]], E, np.zeros(3), np.zeros(3), kind="topk", k=1)
    array([[0., 0., 2.]])
    >>> sae_encode([[0.5, 1.0]], E, np.zeros(3), np.zeros(3))
    Traceback (most recent call last):
    ...
    ValueError: x must have d=3 columns (the encoder's); got shape (1, 2).
    """
    kind = check_choice(kind, "kind", KINDS)
    E = _matrix(encoder, "encoder")
    m, d = E.shape
    x = _matrix(x, "x", dtype=E.dtype)
    if x.shape[1] != d:
        raise ValueError(f"x must have d={d} columns (the encoder's); got shape {x.shape}.")
    be = _vector(encoder_bias, "encoder_bias", m, E.dtype)
    bd = _vector(decoder_bias, "decoder_bias", d, E.dtype)
    k = _check_k(k, kind, m)
    if kind == "batchtopk" and threshold is None:
        raise ValueError("threshold (the inference threshold) is required for kind='batchtopk'; got None.")
    threshold = 0.0 if threshold is None else check_float(threshold, "threshold")
    out = np.empty((x.shape[0], m), dtype=E.dtype)
    for r0 in range(0, x.shape[0], _ENCODE_ROWS):
        _encode(x[r0 : r0 + _ENCODE_ROWS], E, be, bd, kind, k, threshold, out=out[r0 : r0 + _ENCODE_ROWS])
    return out


def _matrix(value, name, dtype=None) -> np.ndarray:
    arr = check_real(value, name, dtype=dtype)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be 2-D with shape (rows, d); got {arr.ndim}-D shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; found {arr[~np.isfinite(arr)][0]}.")
    return arr


def _vector(value, name, length, dtype) -> np.ndarray:
    arr = check_real(value, name, dtype=dtype)
    if arr.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; found {arr[~np.isfinite(arr)][0]}.")
    return arr


def _check_k(k, kind, m):
    if kind in ("topk", "batchtopk"):
        if k is None:
            raise ValueError(f"k (latents active per sample) is required for kind={kind!r}; got None.")
        return check_int(k, "k", minimum=1, maximum=m)
    if k is not None:
        raise ValueError(f"k applies to kind='topk' or 'batchtopk' only; got k={k!r} with kind={kind!r}.")
    return 0


# --------------------------------------------------------------------------- the result
@dataclass
class SAEResult(Savable, schema=1):
    """Trained sparse autoencoders, one per instance (the best of ``n_seeds`` copies of each).

    Arrays carry a leading instance axis (instances are the penalties or ``k``
    values given, in order); :meth:`instance` picks one, and :attr:`dictionary`
    drops the axis when there is only one.

    Attributes
    ----------
    encoder : ndarray, shape (instances, n_latents, d)
    encoder_bias : ndarray, shape (instances, n_latents)
    decoder : ndarray, shape (instances, n_latents, d)
        The dictionary: one unit-norm row per latent.
    decoder_bias : ndarray, shape (instances, d)
    threshold : ndarray, shape (instances,)
        BatchTopK's inference threshold (a running mean of the batch thresholds);
        0 for the other kinds.
    loss_history : ndarray, shape (steps, instances)
        Training objective before each update (reconstruction + penalty + auxiliary).
    mse_history, l0_history, dead_history : ndarray, shape (steps, instances)
        Per step: mean squared reconstruction error ``||x̂ − x||²`` per sample,
        mean number of active latents per sample, number of dead latents.
    eval_loss, eval_mse, eval_l0 : ndarray, shape (instances,)
        On ``eval_size`` held-out rows of the data (the seed selection criterion is ``eval_loss``).
    seed_eval_losses : ndarray, shape (instances, n_seeds)
    chosen_seed : ndarray of int, shape (instances,)
    fire_frequency : ndarray, shape (instances, n_latents)
        Fraction of the evaluation rows on which each latent fires.
    dead_latents : ndarray of bool, shape (instances, n_latents)
        Latents that did not fire in the last ``dead_after`` training samples.
    resampled : ndarray of int, shape (instances,)
        Latents re-initialised by resampling during training.
    config : dict
        Every option of the run; ``config["data"]`` fingerprints the training data
        (and holds the recipe of synthetic data). See :meth:`rerun`.
    seconds : float
    stopping_reason : str
        ``"completed"`` or ``"interrupted"`` (Ctrl-C).
    """

    encoder: np.ndarray
    encoder_bias: np.ndarray
    decoder: np.ndarray
    decoder_bias: np.ndarray
    threshold: np.ndarray
    loss_history: np.ndarray
    mse_history: np.ndarray
    l0_history: np.ndarray
    dead_history: np.ndarray
    eval_loss: np.ndarray
    eval_mse: np.ndarray
    eval_l0: np.ndarray
    seed_eval_losses: np.ndarray
    chosen_seed: np.ndarray
    fire_frequency: np.ndarray
    dead_latents: np.ndarray
    resampled: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0
    stopping_reason: str = "completed"

    @property
    def n_instances(self) -> int:
        """Number of trained instances."""
        return int(self.decoder.shape[0])

    @property
    def dictionary(self) -> np.ndarray:
        """The dictionary ``(n_latents, d)`` (``(instances, n_latents, d)`` for several instances)."""
        return self.decoder[0] if self.n_instances == 1 else self.decoder

    def instance(self, i: int) -> SAEResult:
        """Return the result of instance ``i`` alone (arrays keep a leading axis of length 1)."""
        i = check_int(i, "i", minimum=0, maximum=self.n_instances - 1)
        per = {
            f: getattr(self, f)[:, i : i + 1] if f.endswith("_history") else getattr(self, f)[i : i + 1]
            for f in _INSTANCE_FIELDS
        }
        config = dict(self.config)
        for key in ("l1_coefficient", "k"):
            if isinstance(config[key], list | tuple):
                config[key] = config[key][i]
        return replace(self, **per, config=config)

    def encode(self, x, *, instance: int = 0) -> np.ndarray:
        """Codes ``z`` (n_samples, n_latents) of instance ``instance`` on ``x`` (n_samples, d)."""
        i = check_int(instance, "instance", minimum=0, maximum=self.n_instances - 1)
        cfg = self.config
        k = _instance_k(cfg, i) if cfg["kind"] != "l1" else None
        return sae_encode(
            x,
            self.encoder[i],
            self.encoder_bias[i],
            self.decoder_bias[i],
            kind=cfg["kind"],
            k=k,
            threshold=float(self.threshold[i]) if cfg["kind"] == "batchtopk" else None,
        )

    def decode(self, z, *, instance: int = 0) -> np.ndarray:
        """Reconstruction ``z D + b_d`` of codes ``z`` (n_samples, n_latents)."""
        i = check_int(instance, "instance", minimum=0, maximum=self.n_instances - 1)
        z = _matrix(z, "z", dtype=self.decoder.dtype)
        if z.shape[1] != self.decoder.shape[1]:
            raise ValueError(
                f"z must have {self.decoder.shape[1]} columns (one per latent); got shape {z.shape}."
            )
        return z @ self.decoder[i] + self.decoder_bias[i]

    def reconstruct(self, x, *, instance: int = 0) -> np.ndarray:
        """``x̂ = decode(encode(x))``."""
        return self.decode(self.encode(x, instance=instance), instance=instance)

    def rerun(self, activations=None) -> SAEResult:
        """Train again with the same options (bit for bit on the same data, machine and threads).

        ``activations`` is the training data; it may be omitted when the run was
        trained on synthetic data whose recipe ``config["data"]`` holds (it is
        regenerated). Data that differs from the original (by SHA-256) is refused.
        """
        data = self.config["data"]
        if activations is None:
            if data.get("recipe") is None:
                raise ValueError(
                    "activations are required: the run was trained on an array, which the result does not "
                    "store (config['data'] holds its SHA-256)."
                )
            activations = _regenerate(data["recipe"])
        arr, _ = as_activations(activations)
        if _fingerprint(arr)["sha256"] != data["sha256"]:
            raise ValueError("activations differ from the run's training data (SHA-256 mismatch).")
        options = {k: v for k, v in self.config.items() if k != "data"}
        return train_sae(activations, **options)


_INSTANCE_FIELDS = (
    "encoder",
    "encoder_bias",
    "decoder",
    "decoder_bias",
    "threshold",
    "loss_history",
    "mse_history",
    "l0_history",
    "dead_history",
    "eval_loss",
    "eval_mse",
    "eval_l0",
    "seed_eval_losses",
    "chosen_seed",
    "fire_frequency",
    "dead_latents",
    "resampled",
)


def _instance_k(cfg, i) -> int:
    k = cfg["k"]
    return int(k[i] if isinstance(k, list | tuple) else k)


def _regenerate(recipe: dict) -> SparseActivations:
    from .data import sparse_activations, toy_model_activations

    if "model_config" in recipe:  # hidden activations of a toy model: retrain it, then sample
        from ..train import train_toy_model

        model = train_toy_model(**recipe["model_config"])
        rest = {k: v for k, v in recipe.items() if k != "model_config"}
        return toy_model_activations(model, **rest)
    return sparse_activations(**recipe)


def _fingerprint(arr: np.ndarray) -> dict:
    h = hashlib.sha256()
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return {"sha256": h.hexdigest(), "shape": list(arr.shape), "dtype": arr.dtype.name}


# --------------------------------------------------------------------------- options
def _penalties(kind, l1_coefficient, k, m) -> tuple[list, list, bool]:
    """Per-penalty values ``(l1 list, k list, scalar)``; ``scalar`` says they came as one value."""
    if kind == "l1":
        if k is not None:
            raise ValueError(f"k applies to kind='topk' or 'batchtopk' only; got k={k!r} with kind='l1'.")
        if l1_coefficient is None:
            raise ValueError("l1_coefficient is required for kind='l1' (e.g. 1e-3); got None.")
        values = _scalar_or_list(l1_coefficient, "l1_coefficient")
        l1 = [
            check_float(v, f"l1_coefficient[{j}]" if len(values) > 1 else "l1_coefficient", minimum=0.0)
            for j, v in enumerate(values)
        ]
        return l1, [0] * len(l1), np.ndim(l1_coefficient) == 0
    if l1_coefficient not in (None, 0, 0.0):
        raise ValueError(
            f"l1_coefficient applies to kind='l1' only; got l1_coefficient={l1_coefficient!r} with "
            f"kind={kind!r}."
        )
    if k is None:
        raise ValueError(f"k (latents active per sample) is required for kind={kind!r}; got None.")
    values = _scalar_or_list(k, "k")
    ks = [
        check_int(v, f"k[{j}]" if len(values) > 1 else "k", minimum=1, maximum=m)
        for j, v in enumerate(values)
    ]
    return [0.0] * len(ks), ks, np.ndim(k) == 0


def _scalar_or_list(value, name) -> list:
    if isinstance(value, str | bytes) or isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number or a 1-D sequence of numbers; got {_describe(value)}.")
    arr = np.asarray(value, dtype=object)
    if arr.ndim > 1:
        raise ValueError(
            f"{name} must be a number or a 1-D sequence (one per instance); got shape {arr.shape}."
        )
    values = [value] if arr.ndim == 0 else list(arr)
    if not values:
        raise ValueError(f"{name} must hold at least one value; got an empty sequence.")
    return values


# --------------------------------------------------------------------------- training
def train_sae(
    activations,
    *,
    n_latents,
    kind="l1",
    l1_coefficient=None,
    k=None,
    steps=5000,
    batch_size=1024,
    lr=1e-3,
    optimizer="adam",
    schedule="constant",
    weight_decay=0.0,
    betas=(0.9, 0.999),
    eps=1e-8,
    momentum=0.0,
    aux_coefficient=AUX_COEFFICIENT,
    aux_k=None,
    dead_after=DEAD_AFTER,
    resample_every=None,
    decoder_bias_init="mean",
    n_seeds=1,
    eval_size=16384,
    threshold_decay=0.99,
    dtype=np.float32,
    rng=None,
    n_threads=None,
    blas_threads=None,
    checkpoint=None,
    checkpoint_every=None,
    progress="auto",
) -> SAEResult:
    """Train sparse autoencoders on activations, in numpy, several penalties and seeds at once.

    The autoencoder is ``z = σ((x − b_d) Eᵀ + b_e)``, ``x̂ = z D + b_d`` with
    ``n_latents`` unit-norm dictionary rows ``D`` (the gradient's component along
    each row is removed and the rows renormalised after every update, as in
    Bricken et al. 2023 and Gao et al. 2024). ``kind`` chooses ``σ`` and the
    sparsity pressure:

    * ``"l1"``: ReLU, loss ``||x̂ − x||² + λ Σ_i z_i`` (``λ = l1_coefficient``),
      the sparse-coding toy of Sharkey et al. (2022);
    * ``"topk"``: the ``k`` largest pre-activations of each sample, ReLU
      (Gao et al. 2024), plus their auxiliary loss ``(α/σ²) ||ê − e||²``
      that reconstructs the residual ``e = x − x̂`` from the top ``aux_k``
      dead latents (``α = aux_coefficient``, ``σ²`` the residual's variance);
    * ``"batchtopk"``: the ``k · batch_size`` largest pre-activations of the
      batch (Bussmann et al. 2024), same auxiliary loss; at inference a
      threshold (running mean of the batch thresholds) replaces the batch rule.

    A latent is *dead* when it has not fired for ``dead_after`` training samples.
    With ``resample_every``, dead latents are re-initialised every that many
    steps towards inputs drawn with probability ∝ their squared reconstruction
    error (Bricken et al. 2023: decoder row = the centred input, normalised;
    encoder row = the same scaled to 0.2 of the mean live encoder norm;
    encoder bias 0; their Adam moments reset).

    Parameters
    ----------
    activations : array_like of shape (n_samples, d), or SparseActivations
        Training data, one row per sample. Batches are drawn without
        replacement, epoch after epoch (a fresh permutation per epoch).
    n_latents : int
        Dictionary size ``m``.
    kind : {"l1", "topk", "batchtopk"}
    l1_coefficient : float or sequence of float
        ``λ`` for ``"l1"``; a sequence trains one instance per value.
    k : int or sequence of int
        Active latents per sample for the TopK kinds; a sequence trains one instance per value.
    steps, batch_size : int
    lr, optimizer, schedule, weight_decay, betas, eps, momentum
        As in :func:`packing.train_toy_model` (Adam at ``lr=1e-3`` by default).
    aux_coefficient : float
        ``α`` of the auxiliary loss (1/32, Gao et al. 2024); 0 switches it off.
    aux_k : int, optional
        Dead latents used by the auxiliary loss per sample (default ``d // 2``, Gao et al.).
    dead_after : int
        Samples without firing after which a latent counts as dead.
    resample_every : int, optional
        Steps between resamplings of dead latents (default: never).
    decoder_bias_init : {"mean", "zero"}
        ``b_d`` starts at the data mean or at 0. The decoder starts as random
        unit rows and the encoder as its copy (Gao et al. 2024); ``b_e = 0``.
    n_seeds : int
        Train ``n_seeds`` independently initialised copies of each instance and
        keep the one with the lowest loss on the evaluation rows.
    eval_size : int
        Rows of the data (drawn at random) for that evaluation and the final statistics.
    threshold_decay : float
        Decay of BatchTopK's running threshold (per step).
    dtype : np.float32 (default) or np.float64
    rng : None, int or numpy.random.Generator
        With ``None`` or an int the seed is recorded in ``config`` for :meth:`SAEResult.rerun`.
    n_threads, blas_threads : int, optional
        Threads, as in :func:`packing.train_toy_model`; the result does not depend on them.
    checkpoint : str or Path, optional
        A ``.npz`` file to save the run's state to, and resume from (bit for bit);
        see :func:`packing.train_toy_model`.
    checkpoint_every : int, optional
        Steps between checkpoints (default 1000).
    progress : True, False or "auto"
        A progress bar over the steps (``"auto"``: only on a terminal).

    Returns
    -------
    SAEResult

    Raises
    ------
    TrainingDivergedError
        If a loss becomes NaN or infinite.
    CheckpointMismatchError
        If ``checkpoint`` holds a run of another configuration or other data.

    Notes
    -----
    Ctrl-C stops training after the current step and returns the partial
    result with ``stopping_reason="interrupted"``.

    Examples
    --------
    Six orthogonal directions in 6 dims, two active per sample: an L1 SAE
    with six latents finds them.

    >>> data = sparse_activations(np.eye(6), n_samples=4096, n_active=2, rng=0)
    >>> sae = train_sae(data, n_latents=6, l1_coefficient=0.05, steps=1500, lr=3e-3, n_seeds=2, rng=0)
    >>> sae.dictionary.shape
    (6, 6)
    >>> m = recovery_metrics(sae.dictionary, data.W)
    >>> bool(m.mcc > 0.99), m.recovered
    (True, 1.0)
    >>> train_sae(data, n_latents=6, kind="topk")
    Traceback (most recent call last):
    ...
    ValueError: k (latents active per sample) is required for kind='topk'; got None.
    """
    t0 = time.perf_counter()
    from .._progress import check_progress

    X, source = as_activations(activations)
    n_samples, d = X.shape
    m = check_int(n_latents, "n_latents")
    kind = check_choice(kind, "kind", KINDS)
    l1_list, k_list, scalar = _penalties(kind, l1_coefficient, k, m)
    batch_size = check_batch_size(batch_size)
    ckpt = Checkpointer.open(checkpoint, checkpoint_every, "train_sae")
    gen, seed = seeded_rng(ckpt.rng(rng))
    fingerprint = _fingerprint(X)
    fingerprint["recipe"] = source.config if source is not None else None
    config = dict(
        data=fingerprint,
        n_latents=m,
        kind=kind,
        l1_coefficient=(l1_list[0] if scalar else l1_list) if kind == "l1" else None,
        k=(k_list[0] if scalar else k_list) if kind != "l1" else None,
        **check_optimizer_options(
            optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, **CHOICES
        ),
        batch_size=batch_size,
        aux_coefficient=check_float(aux_coefficient, "aux_coefficient", minimum=0.0),
        aux_k=d // 2 if aux_k is None else check_int(aux_k, "aux_k"),
        dead_after=check_int(dead_after, "dead_after"),
        resample_every=None if resample_every is None else check_int(resample_every, "resample_every"),
        decoder_bias_init=check_choice(decoder_bias_init, "decoder_bias_init", BIAS_INITS),
        n_seeds=check_int(n_seeds, "n_seeds"),
        eval_size=check_int(eval_size, "eval_size"),
        threshold_decay=check_float(threshold_decay, "threshold_decay", minimum=0.0, maximum=1.0),
        dtype=check_dtype(dtype).type,
        rng=seed,
        n_threads=None if n_threads is None else check_int(n_threads, "n_threads"),
        blas_threads=check_blas_threads(blas_threads),
    )
    progress = check_progress(progress)
    from ..train._inputs import check_run_memory

    total = len(l1_list) * config["n_seeds"]
    check_run_memory(
        "train_sae",
        params=total * (m * (2 * d + 1) + d),  # encoder, decoder and their biases
        itemsize=np.dtype(config["dtype"]).itemsize,
        n_steps=config["steps"],
        rows=4 * total,  # the loss and three more records per step
        batch=total * batch_size * (2 * m + 2 * d) + 8 * total * m,  # pre-activations, codes, residuals
        n_latents=m,
        batch_size=batch_size,
        n_seeds=config["n_seeds"],
        steps=config["steps"],
    )
    return _train(X, config, l1_list, k_list, gen, t0, ckpt, progress)


def _batch_rows(root, n_samples: int, batch: int, t: int, cache: dict) -> np.ndarray:
    """Rows of the batch of step ``t``: positions ``t·B ..`` of the concatenated per-epoch permutations."""
    p0, p1 = t * batch, (t + 1) * batch
    parts = []
    for epoch in range(p0 // n_samples, (p1 - 1) // n_samples + 1):
        if epoch not in cache:
            if len(cache) > 2:
                cache.pop(min(cache))
            cache[epoch] = child_rng(root, 1, epoch).permutation(n_samples)
        lo, hi = max(p0, epoch * n_samples), min(p1, (epoch + 1) * n_samples)
        parts.append(cache[epoch][lo - epoch * n_samples : hi - epoch * n_samples])
    rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return np.sort(rows)  # gathering in memory order is faster; the order inside a batch does not matter


def _train(X, cfg, l1_list, k_list, gen, t0, ckpt, progress) -> SAEResult:
    from .._progress import progress_bar

    n_samples, d = X.shape
    m, kind, B, n_seeds = cfg["n_latents"], cfg["kind"], cfg["batch_size"], cfg["n_seeds"]
    dt = np.dtype(cfg["dtype"])
    n_pen = len(l1_list)
    total = n_pen * n_seeds  # copy s of penalty p sits at row p * n_seeds + s
    l1 = np.repeat(l1_list, n_seeds)
    ks = np.repeat(k_list, n_seeds)
    root = check_seed_sequence(gen)
    threads = dict(threads=cfg["n_threads"], blas_threads=cfg["blas_threads"])
    kern = _SAEKernel(
        total,
        m,
        d,
        B,
        dt,
        kind=kind,
        l1=l1,
        k=ks,
        aux_coefficient=cfg["aux_coefficient"],
        aux_k=cfg["aux_k"],
        **threads,
    )
    Xd = np.ascontiguousarray(X, dtype=dt)
    init = child_rng(root, 0)
    D0 = init.standard_normal((total, m, d))
    D0 /= np.linalg.norm(D0, axis=2, keepdims=True)
    kern.D[...] = D0
    kern.E[...] = D0
    kern.be[...] = 0
    kern.bd[...] = Xd.mean(axis=0, dtype=np.float64) if cfg["decoder_bias_init"] == "mean" else 0.0
    opt = Optimizer.from_options(kern.params, cfg, pool=kern.pool)
    resample_gen = child_rng(root, 2)
    # state that a checkpoint must carry besides parameters and moments: one-element lists (restored in place)
    state = {
        "since_fired": [np.zeros((total, m), dtype=np.int64)],
        "threshold": [np.zeros(total)],
        "aux_norm": [np.full(total, _batch_variance(Xd[: min(n_samples, 8192)]))],
        "extra": [np.zeros((cfg["steps"], total, 3))],
        "resampled": [np.zeros(total, dtype=np.int64)],
    }
    perms: dict = {}

    def step(t):
        for holder in state.values():  # a restored checkpoint's arrays may be read-only
            if not holder[0].flags.writeable:
                holder[0] = holder[0].copy()
        _normalize_rows(kern.D)
        rows = _batch_rows(root, n_samples, B, t, perms)
        kern.X = Xd[rows]
        since = state["since_fired"][0]
        if cfg["resample_every"] and t and t % cfg["resample_every"] == 0:
            _resample(kern, opt, since >= cfg["dead_after"], cfg, ks, state, resample_gen)
        dead = since >= cfg["dead_after"]
        kern.set_dead(dead)
        kern.aux_norm[...] = state["aux_norm"][0]
        loss = kern.loss_and_grad()
        _project_rows(kern.gD, kern.D)
        since += B
        since[kern.fires > 0] = 0
        rs = kern.rsum
        var = (kern.stats[:, 0] - np.einsum("id,id->i", rs, rs) / B) / B
        state["aux_norm"][0][...] = np.where(var > 0, var, state["aux_norm"][0])
        if kind == "batchtopk":
            th = state["threshold"][0]
            batch_th = np.maximum(kern.theta, 0.0)
            th[...] = (
                batch_th if t == 0 else cfg["threshold_decay"] * th + (1 - cfg["threshold_decay"]) * batch_th
            )
        state["extra"][0][t] = np.c_[kern.stats[:, 0] / B, kern.stats[:, 1] / B, dead.sum(axis=1)]
        return loss

    loop = TrainingLoop(
        kern.params,
        kern.grad,
        step,
        opt,
        cfg["steps"],
        total,
        checkpoint=None if ckpt is None else ckpt.bind(cfg, generators=[resample_gen], records=state),
    )
    try:
        with (
            progress_bar(cfg["steps"], desc="train_sae", progress=progress, unit="step", every=16) as bar,
            loop.running(kern.layout.blas_threads),
            deferred_interrupt() as interrupted,
        ):
            bar.set(loop.t)
            while loop.t < loop.steps and loop.step() and not interrupted.is_set():
                bar.update()
        history, _, _ = loop.result()
    finally:
        kern.close()
    _normalize_rows(kern.D)
    done = len(history)
    extra = state["extra"][0][:done]

    # evaluation on held-out rows: best of n_seeds per instance, and the final statistics
    n_eval = min(cfg["eval_size"], n_samples)
    eval_rows = np.sort(child_rng(root, 3).choice(n_samples, size=n_eval, replace=False))
    ev = _SAEKernel(total, m, d, n_eval, dt, kind=kind, l1=l1, k=ks, aux_coefficient=0.0, aux_k=1, **threads)
    ev.params[...] = kern.params
    ev.need_grad = False
    ev.X = Xd[eval_rows]
    try:
        with blas_limits(ev.layout.blas_threads), np.errstate(over="ignore", invalid="ignore"):
            ev_loss = ev.loss_and_grad()
    finally:
        ev.close()
    seed_losses = ev_loss.reshape(n_pen, n_seeds)
    chosen = np.argmin(np.where(np.isfinite(seed_losses), seed_losses, np.inf), axis=1)
    keep = np.arange(n_pen) * n_seeds + chosen
    since = state["since_fired"][0]
    return SAEResult(
        encoder=kern.E[keep].copy(),
        encoder_bias=kern.be[keep].copy(),
        decoder=kern.D[keep].copy(),
        decoder_bias=kern.bd[keep].copy(),
        threshold=state["threshold"][0][keep].copy(),
        loss_history=history[:, keep],
        mse_history=extra[:, keep, 0],
        l0_history=extra[:, keep, 1],
        dead_history=extra[:, keep, 2].astype(np.int64),
        eval_loss=ev_loss[keep],
        eval_mse=ev.stats[keep, 0] / n_eval,
        eval_l0=ev.stats[keep, 1] / n_eval,
        seed_eval_losses=seed_losses,
        chosen_seed=chosen,
        fire_frequency=ev.fires[keep] / n_eval,
        dead_latents=since[keep] >= cfg["dead_after"],
        resampled=state["resampled"][0][keep].copy(),
        config=cfg,
        seconds=time.perf_counter() - t0,
        stopping_reason="completed" if done == cfg["steps"] else "interrupted",
    )


def _batch_variance(X: np.ndarray) -> float:
    """Mean squared distance of the rows from their mean (the auxiliary loss's first normaliser)."""
    Xc = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    v = float(np.einsum("ij,ij->", Xc, Xc) / max(len(X), 1))
    return v if v > 0 else 1.0


def _normalize_rows(D: np.ndarray) -> None:
    """Scale the rows of ``D`` (instances, m, d) to unit norm in place (zero rows stay zero)."""
    norms = np.sqrt(np.einsum("imd,imd->im", D, D))
    np.divide(D, norms[..., None], out=D, where=norms[..., None] > 0)


def _project_rows(G: np.ndarray, D: np.ndarray) -> None:
    """Remove from each gradient row its component along its unit dictionary row: ``G_i −= (G_i·D_i) D_i``."""
    G -= np.einsum("imd,imd->im", G, D)[..., None] * D


def _resample(kern, opt, dead, cfg, ks, state, gen) -> None:
    """Re-initialise the dead latents of every instance towards badly reconstructed inputs of this batch."""
    X = kern.X
    m, d = kern.m, kern.d
    per = 2 * m * d + m + d
    moments = [buf.reshape(kern.n_inst, per) for buf in (opt.m, opt.v) if buf is not None]
    for i in range(kern.n_inst):
        idx = np.flatnonzero(dead[i])
        if not idx.size:
            continue
        k = int(ks[i])
        err = np.empty(len(X))
        for r0 in range(0, len(X), _ENCODE_ROWS):
            xb = X[r0 : r0 + _ENCODE_ROWS]
            z = _encode(xb, kern.E[i], kern.be[i], kern.bd[i], cfg["kind"], k, state["threshold"][0][i])
            res = z @ kern.D[i] + kern.bd[i] - xb
            err[r0 : r0 + len(xb)] = np.einsum("ij,ij->i", res, res)
        if not (err > 0).any():
            continue
        picks = gen.choice(len(X), size=idx.size, p=err / err.sum())
        V = X[picks].astype(np.float64) - kern.bd[i]
        norms = np.linalg.norm(V, axis=1, keepdims=True)
        V = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)
        alive = np.setdiff1d(np.arange(m), idx)
        enc_norm = float(np.linalg.norm(kern.E[i][alive], axis=1).mean()) if alive.size else 1.0
        kern.D[i][idx] = V
        kern.E[i][idx] = V * (0.2 * enc_norm)
        kern.be[i][idx] = 0
        for mom in moments:
            mom[i, : m * d].reshape(m, d)[idx] = 0
            mom[i, m * d : 2 * m * d].reshape(m, d)[idx] = 0
            mom[i, 2 * m * d : 2 * m * d + m][idx] = 0
        state["since_fired"][0][i, idx] = 0
        state["resampled"][0][i] += idx.size


# --------------------------------------------------------------------------- loss on a given batch
def sae_loss(
    x,
    encoder,
    encoder_bias,
    decoder,
    decoder_bias,
    *,
    kind="l1",
    l1_coefficient=0.0,
    k=None,
    dead_latents=None,
    aux_coefficient=AUX_COEFFICIENT,
    aux_k=None,
    aux_norm=1.0,
    return_grad=False,
):
    """Loss of a sparse autoencoder on the batch ``x``, optionally with its hand-derived gradients.

    ``L = (1/B) Σ_b [ ||x̂_b − x_b||² + λ Σ_i z_bi + (α/σ²) ||ê_b − e_b||² ]``:
    reconstruction, the L1 penalty (``kind="l1"``) and, for the TopK kinds
    with ``dead_latents`` given, the auxiliary loss of Gao et al. (2024) with
    ``σ² = aux_norm`` (see :mod:`packing.sae._kernel`). This is exactly what
    :func:`train_sae` minimises at each step (the trainer then removes the
    decoder gradient's component along each row).

    Parameters
    ----------
    x : array_like, shape (B, d)
    encoder : array_like, shape (n_latents, d)
    encoder_bias : array_like, shape (n_latents,)
    decoder : array_like, shape (n_latents, d)
    decoder_bias : array_like, shape (d,)
    kind : {"l1", "topk", "batchtopk"}
    l1_coefficient : float
    k : int, optional
        For the TopK kinds (``"batchtopk"`` keeps the ``k·B`` largest of the batch).
    dead_latents : array_like of bool, shape (n_latents,), optional
        Latents that take part in the auxiliary loss.
    aux_coefficient, aux_k, aux_norm : float, int, float
        ``α``, the dead latents used per sample (default ``d // 2``) and ``σ²``.
    return_grad : bool
        Also return the gradients, a dict with the keys ``"encoder"``,
        ``"encoder_bias"``, ``"decoder"`` and ``"decoder_bias"``.

    Returns
    -------
    loss : float
    grads : dict of ndarray, only with ``return_grad``

    Examples
    --------
    An identity autoencoder reconstructs non-negative inputs exactly; the L1
    penalty is ``λ`` times the mean code sum.

    >>> x = np.array([[1.0, 0.0], [0.5, 2.0]])
    >>> float(sae_loss(x, np.eye(2), np.zeros(2), np.eye(2), np.zeros(2), l1_coefficient=0.1))
    0.175
    >>> sae_loss(x, np.eye(2), np.zeros(3), np.eye(2), np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: encoder_bias must have shape (2,); got shape (3,).
    """
    kind = check_choice(kind, "kind", KINDS)
    return_grad = check_bool(return_grad, "return_grad")
    E = _matrix(encoder, "encoder")
    dt = E.dtype
    m, d = E.shape
    Dm = _matrix(decoder, "decoder", dtype=dt)
    if Dm.shape != (m, d):
        raise ValueError(f"decoder must have the encoder's shape {(m, d)}; got shape {Dm.shape}.")
    x = _matrix(x, "x", dtype=dt)
    if x.shape[1] != d:
        raise ValueError(f"x must have d={d} columns (the encoder's); got shape {x.shape}.")
    be = _vector(encoder_bias, "encoder_bias", m, dt)
    bd = _vector(decoder_bias, "decoder_bias", d, dt)
    kk = _check_k(k, kind, m)
    lam = check_float(l1_coefficient, "l1_coefficient", minimum=0.0)
    dead = np.zeros(m, dtype=bool)
    if dead_latents is not None:
        dead = np.asarray(dead_latents)
        if dead.dtype != bool or dead.shape != (m,):
            raise ValueError(f"dead_latents must be a boolean array of shape ({m},); got {_describe(dead)}.")
    kern = _SAEKernel(
        1,
        m,
        d,
        x.shape[0],
        dt,
        kind=kind,
        l1=lam,
        k=kk,
        aux_coefficient=check_float(aux_coefficient, "aux_coefficient", minimum=0.0),
        aux_k=d // 2 if aux_k is None else check_int(aux_k, "aux_k"),
        threads=1,
    )
    kern.E[0], kern.D[0], kern.be[0], kern.bd[0] = E, Dm, be, bd
    kern.X = np.ascontiguousarray(x)
    kern.set_dead(dead[None])
    kern.aux_norm[0] = check_float(aux_norm, "aux_norm", minimum=0.0, strict_min=True)
    kern.need_grad = return_grad
    try:
        loss = float(kern.loss_and_grad()[0])
    finally:
        kern.close()
    if not return_grad:
        return loss
    grads = {
        "encoder": kern.gE[0].copy(),
        "encoder_bias": kern.gbe[0].copy(),
        "decoder": kern.gD[0].copy(),
        "decoder_bias": kern.gbd[0].copy(),
    }
    return loss, grads
