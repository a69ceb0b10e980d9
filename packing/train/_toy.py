"""The ReLU-output and linear toy models of superposition (Elhage et al. 2022), trained in numpy.

Layout: ``W`` has shape ``(instances, n_features, d)`` (rows are features, as
everywhere in :mod:`packing` and as in the reference notebook's
``[instances, features, hidden]``), ``b`` has shape ``(instances, n_features)``,
and a batch ``x`` is instance-major, ``(instances, batch, n_features)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._validation import _describe, check_float, check_int, check_rng
from ._optim import (
    Optimizer,
    check_blas_threads,
    check_choice,
    check_dtype,
    check_optimizer_options,
    run_loop,
    seeded,
)
from ._optim import blas_threads as limit_blas

__all__ = ["ToyModelResult", "train_toy_model", "toy_model_loss", "sample_toy_batch"]

MODELS = ("relu", "linear")
REDUCTIONS = ("sum", "mean")
# Below this density, float32 batches draw float64 uniforms: the single-uniform sampler
# (value u / p of an active entry) would otherwise resolve values only to 2**-24 / p.
_F32_MIN_DENSITY = 2.0**-8


# --------------------------------------------------------------------------- validation
def _as_table(value, name, n_features, *, one_d, lo, hi=None):
    """Return ``value`` as a float64 array of shape (m, n_features), m = 1 or instances.

    A scalar applies everywhere; a 1-D array is per instance (``one_d="instance"``)
    or per feature (``one_d="feature"``); a 2-D array is (instances, n_features)
    (a leading dimension of 1 broadcasts over instances).
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.") from None
    if arr.ndim == 0:
        arr = arr.reshape(1, 1) * np.ones((1, n_features))
    elif arr.ndim == 1:
        if one_d == "instance":
            arr = arr[:, None] * np.ones((1, n_features))
        else:
            if arr.shape[0] != n_features:
                raise ValueError(
                    f"{name} given as a 1-D array is one value per feature and must have length "
                    f"n_features={n_features}; got length {arr.shape[0]}. For per-instance values pass "
                    f"shape (n_instances, n_features)."
                )
            arr = arr[None, :]
    elif arr.ndim == 2:
        if arr.shape[1] != n_features:
            raise ValueError(
                f"{name} given as a 2-D array must have shape (n_instances, n_features={n_features}); "
                f"got shape {arr.shape}."
            )
    else:
        raise ValueError(f"{name} must be a scalar, 1-D or 2-D; got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr[~np.isfinite(arr)][0]}.")
    if (arr < lo).any() or (hi is not None and (arr > hi).any()):
        bad = arr[(arr < lo) | ((arr > hi) if hi is not None else False)][0]
        rng_text = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} values must lie in {rng_text}; got {bad}.")
    return arr


def _instances(n_instances, tables: dict):
    """Infer/check the instance count from per-instance tables (each with 1 or m rows)."""
    rows = {k: v.shape[0] for k, v in tables.items() if v.shape[0] != 1}
    if n_instances is not None:
        n_instances = check_int(n_instances, "n_instances", minimum=1)
    sizes = set(rows.values())
    if len(sizes) > 1:
        raise ValueError(
            "per-instance arrays disagree on the number of instances: "
            + ", ".join(f"{k} has {m}" for k, m in rows.items())
            + "."
        )
    if sizes:
        m = sizes.pop()
        if n_instances is not None and n_instances != m:
            k = next(iter(rows))
            raise ValueError(f"n_instances={n_instances} but {k} has {m} per-instance rows.")
        return m
    return 1 if n_instances is None else n_instances


def _feature_density(sparsity, density, n_features, one_d="instance"):
    if sparsity is not None and density is not None:
        raise ValueError(
            "give either sparsity (probability a feature is zero, S) or density (probability it is "
            "active, 1 - S), not both."
        )
    if density is not None:
        return _as_table(density, "density", n_features, one_d=one_d, lo=0.0, hi=1.0)
    if sparsity is None:
        sparsity = 0.0
    return 1.0 - _as_table(sparsity, "sparsity", n_features, one_d=one_d, lo=0.0, hi=1.0)


# --------------------------------------------------------------------------- data
class _Sampler:
    """Fill instance-major batches: feature i is 0 w.p. ``1 - p_i``, else uniform on [0, 1).

    One random 32-bit word per entry: its top 24 bits ``u`` give ``U = u / 2**24``,
    the entry is active iff ``U < p`` and then its value ``U / p`` is uniform on
    [0, 1) (values resolve to ``2**-24 / p``; float64 uniforms are drawn instead
    for float64 runs and, in float32 runs, for instances with a density below
    2**-8). With ``signed=True`` the lowest bit gives an independent sign.
    The words come from a PCG64DXSM stream seeded from ``rng``.
    """

    def __init__(self, density, dtype, rng, *, n_correlated=0, n_anticorrelated=0, signed=False):
        self.dtype, self.signed = dtype, signed
        self.seq = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
        self.density = density  # (I, n) float64
        self.nc, self.na = n_correlated, n_anticorrelated
        p = density[:, None, :]
        inv = np.where(p > 0, 1.0 / np.maximum(p, 1e-300), 2.0**40)
        self.inv_p = inv.astype(dtype)
        self._scale = (inv * 2.0**-24).astype(dtype)
        self.scale = self._scale  # tiled over rows on first use: long contiguous inner loops
        low = (density > 0) & (density < _F32_MIN_DENSITY)
        # float64 runs always draw float64 uniforms (53-bit values); float32 runs only where needed.
        self.wide = low.any(axis=1) if dtype == np.float32 else np.ones(len(density), bool)

    def streams(self, k):
        """``k`` fresh independent generators (each call spawns new ones, deterministically)."""
        return [np.random.Generator(np.random.PCG64DXSM(s)) for s in self.seq.spawn(k)]

    def fill(self, x, i0, mask, gen):
        """Overwrite ``x`` (ni, rows, n), rows of instances ``i0 .. i0 + ni``, with data from ``gen``."""
        ni = x.shape[0]
        sl = slice(i0, i0 + ni)
        if self.wide[sl].any():
            x[...] = gen.random(x.shape) * self.inv_p[sl].astype(np.float64)
        else:
            u = gen.bit_generator.random_raw((x.size + 1) // 2).view(np.uint32)[: x.size].reshape(x.shape)
            if self.signed:
                sign = (u & 1).view(np.int32)
            np.right_shift(u, 8, out=u)
            np.copyto(x, u, casting="unsafe")
            if self.scale.shape[1] < x.shape[1]:
                shape = (len(self._scale),) + x.shape[1:]
                self.scale = np.ascontiguousarray(np.broadcast_to(self._scale, shape))
            x *= self.scale[sl, : x.shape[1]]
        np.less(x, 1, out=mask)
        x *= mask
        if self.signed:
            x *= (sign * 2 - 1) if not self.wide[sl].any() else gen.integers(0, 2, x.shape) * 2 - 1
        if self.nc or self.na:
            self._pairs(x, sl, gen)

    def _pairs(self, x, sl, gen):
        ni, rows, _ = x.shape
        for start, count, anti in ((0, self.nc, False), (2 * self.nc, self.na, True)):
            if not count:
                continue
            cols = slice(start, start + 2 * count)
            p = self.density[sl, None, start : start + 2 * count : 2]  # density of each pair's first
            vals = gen.random((ni, rows, 2 * count))
            if self.signed:
                vals = vals * (gen.integers(0, 2, size=vals.shape) * 2 - 1)
            seeds = gen.random((ni, rows, count))
            if not anti:
                first = second = seeds < p
            else:
                on = seeds < 2 * p
                pick = gen.random((ni, rows, count)) < 0.5
                first, second = on & pick, on & ~pick
            vals[..., 0::2] *= first
            vals[..., 1::2] *= second
            x[..., cols] = vals


def sample_toy_batch(
    n_features,
    batch_size,
    *,
    sparsity=None,
    density=None,
    n_instances=None,
    n_correlated_pairs=0,
    n_anticorrelated_pairs=0,
    dtype=np.float32,
    rng=None,
):
    """Draw one batch of the toy-model data, instance-major: shape ``(instances, batch, n_features)``.

    Feature ``i`` is 0 with probability ``S_i`` (its *sparsity*), otherwise
    uniform on [0, 1). Correlated pairs (features ``2j, 2j+1`` for ``j <
    n_correlated_pairs``) are active together; anticorrelated pairs (the next
    ``2 * n_anticorrelated_pairs`` features) are never active together. Each
    pair uses the density of its first feature.

    Parameters
    ----------
    n_features, batch_size : int
    sparsity : float or array_like, optional
        Probability that a feature is zero. Scalar, one value per instance
        (1-D) or ``(n_instances, n_features)``. Default 0 (dense).
    density : float or array_like, optional
        ``1 - sparsity``; give one of the two.
    n_instances : int, optional
        Inferred from per-instance arrays; default 1.
    n_correlated_pairs, n_anticorrelated_pairs : int
    dtype : np.float32 or np.float64
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_instances, batch_size, n_features)

    Examples
    --------
    >>> x = sample_toy_batch(4, 20000, sparsity=0.75, rng=0)
    >>> x.shape, round(float((x > 0).mean()), 2), round(float(x.max()), 2)
    ((1, 20000, 4), 0.25, 1.0)
    >>> sample_toy_batch(4, 10, sparsity=1.5)
    Traceback (most recent call last):
    ...
    ValueError: sparsity values must lie in [0.0, 1.0]; got 1.5.
    """
    n_features = check_int(n_features, "n_features")
    batch_size = check_int(batch_size, "batch_size")
    dens = _feature_density(sparsity, density, n_features)
    n_inst = _instances(n_instances, {"sparsity" if density is None else "density": dens})
    nc, na = _check_pairs(n_correlated_pairs, n_anticorrelated_pairs, n_features, dens)
    dt = check_dtype(dtype)
    sampler = _Sampler(
        np.broadcast_to(dens, (n_inst, n_features)), dt, check_rng(rng), n_correlated=nc, n_anticorrelated=na
    )
    x = np.empty((n_inst, batch_size, n_features), dtype=dt)
    sampler.fill(x, 0, np.empty(x.shape, dtype=bool), sampler.streams(1)[0])
    return x


def _check_pairs(nc, na, n_features, dens):
    nc = check_int(nc, "n_correlated_pairs", minimum=0)
    na = check_int(na, "n_anticorrelated_pairs", minimum=0)
    if 2 * (nc + na) > n_features:
        raise ValueError(
            f"2 * (n_correlated_pairs + n_anticorrelated_pairs) = {2 * (nc + na)} exceeds "
            f"n_features={n_features}."
        )
    if na and (dens[:, 2 * nc : 2 * (nc + na) : 2] > 0.5).any():
        raise ValueError("anticorrelated pairs need density <= 0.5 (sparsity >= 0.5) on their features.")
    return nc, na


# --------------------------------------------------------------------------- model
#: Entries of x per cache block (instances x rows x features); the block's buffers stay in L2.
_BLOCK = 2**16


def _blocks(n_inst, batch, n, target=_BLOCK):
    """Partition (instances, batch rows) into cache-sized blocks ``(i0, i1, r0, r1)``; fixed by shape."""
    per = batch * n
    if per <= target:
        ni = max(1, min(n_inst, target // per))
        return [(i, min(i + ni, n_inst), 0, batch) for i in range(0, n_inst, ni)]
    rows = max(8, target // n)
    return [(i, i + 1, r, min(r + rows, batch)) for i in range(n_inst) for r in range(0, batch, rows)]


def _no_tick(label):
    pass


class _Buffers:
    """One worker's cache-block buffers."""

    def __init__(self, ni, rb, n, d, dtype):
        self.XG = np.empty((ni, 2 * rb, n), dtype=dtype)  # [x; G] per block
        self.HG = np.zeros((ni, 2 * rb, d + 1), dtype=dtype)  # [G W | 0; h | 1] per block
        self.mask = np.empty((ni, rb, n), dtype=bool)
        self.sqb = np.empty((ni, rb, n), dtype=dtype)
        self.ones = np.ones((1, rb), dtype=dtype)
        self.sqrow = np.empty((ni, 1, n), dtype=dtype)
        self.tmp = np.empty((ni, n, d + 1), dtype=dtype)


class _ToyKernel:
    """Parameters, buffers and hand-derived gradients of the toy model.

    Parameters are stored augmented, ``P = [W | b]`` of shape (I, n, d + 1), and
    the hidden activations as ``[h | 1]``, so ``out = [h | 1] Pᵀ = x W Wᵀ + b``.
    With ``r = y - x`` (``y = ReLU(out)`` or ``out``), loss ``L_i = Σ_n c_n Σ_b r_bn² / B``
    and ``G = (2 c / B) r ⊙ [out > 0]`` (``2 / B`` applied after the sum), the whole
    gradient is one GEMM with the batch stacked twice::

        [∂L/∂W | ∂L/∂b] = [x; G]ᵀ [G W | 0; h | 1] = [xᵀ G W + Gᵀ h | Gᵀ 1].

    The batch is processed in cache-sized blocks (instances x rows), sampled in
    place, so every elementwise pass runs in L2 and no (instances, batch, n)
    array is ever materialized. Blocks of the same instances form a group with
    its own random stream; ``n_threads`` workers take the groups round-robin
    (numpy releases the GIL), so results do not depend on the thread count.
    """

    def __init__(self, n_inst, n, d, batch, weight, relu, dtype, sampler=None, n_threads=1):
        self.relu, self.B, self.n_inst, self.d, self.sampler = relu, batch, n_inst, d, sampler
        self.weight = weight  # (I, n) float64: c_n
        self.params = np.zeros(n_inst * n * (d + 1), dtype=dtype)
        self.grad = np.zeros_like(self.params)
        self.P = self.params.reshape(n_inst, n, d + 1)
        self.W, self.b = self.P[..., :d], self.P[..., d]
        self.gP = self.grad.reshape(n_inst, n, d + 1)
        self.gW, self.gb = self.gP[..., :d], self.gP[..., d]
        blocks = _blocks(n_inst, batch, n)
        self.groups = [[blk for blk in blocks if blk[0] == i0] for i0 in sorted({blk[0] for blk in blocks})]
        ni = max(i1 - i0 for i0, i1, _, _ in blocks)
        rb = max(r1 - r0 for _, _, r0, r1 in blocks)
        self.single = all(r0 == 0 and r1 == batch for _, _, r0, r1 in blocks)
        self.n_threads = max(1, min(n_threads, len(self.groups)))
        self.work = [_Buffers(ni, rb, n, d, dtype) for _ in range(self.n_threads)]
        self.gens = sampler.streams(len(self.groups)) if sampler is not None else None
        self.sq = np.zeros((n_inst, n), dtype=dtype)
        # c tiled over a block's rows (contiguous operands keep numpy's inner loops long); the
        # factor 2 / B is applied once to the summed gradient, which keeps small importances
        # out of the subnormal range where GEMMs slow down tenfold.
        self.cs = np.ascontiguousarray(np.broadcast_to(weight.astype(dtype)[:, None, :], (n_inst, rb, n)))
        self.scale = dtype.type(2.0 / batch)
        self.x = None  # a given batch (toy_model_loss); else sampled block by block
        self._pool = None

    def close(self):
        """Stop the worker threads (if any)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def loss_and_grad(self, tick=None) -> np.ndarray:
        """Per-instance loss on a fresh batch (or ``self.x``); fills ``self.grad``.

        ``tick(label)``, if given, is called after each phase ("sampling",
        "matmul", "elementwise") so a profiler can attribute the time (use it
        with one thread).
        """
        self.sq[...] = 0
        if not self.single:
            self.grad[...] = 0
        if self.n_threads == 1:
            self._run(0, tick or _no_tick)
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.n_threads, thread_name_prefix="packing-train")
            list(self._pool.map(self._run, range(self.n_threads), [_no_tick] * self.n_threads))
        self.grad *= self.scale
        return np.einsum("in,in->i", self.sq.astype(np.float64), self.weight) / self.B

    def _run(self, worker, tick):
        buf = self.work[worker]
        for g in range(worker, len(self.groups), self.n_threads):
            gen = self.gens[g] if self.gens is not None else None
            for block in self.groups[g]:
                self._block(block, buf, gen, tick)

    def _block(self, block, buf, gen, tick):
        i0, i1, r0, r1 = block
        ni, rb, d = i1 - i0, r1 - r0, self.d
        W = self.W
        XG = buf.XG[:ni, : 2 * rb]
        HG = buf.HG[:ni, : 2 * rb]
        x, g = XG[:, :rb], XG[:, rb:]
        h1 = HG[:, rb:]
        mask = buf.mask[:ni, :rb]
        if self.x is None:
            self.sampler.fill(x, i0, mask, gen)
        else:
            x[...] = self.x[i0:i1, r0:r1]
        tick("sampling")
        HG[:, rb:, d] = 1
        HG[:, :rb, d] = 0
        Wb = W[i0:i1]
        np.matmul(x, Wb, out=h1[..., :d])
        np.matmul(h1, self.P[i0:i1].transpose(0, 2, 1), out=g)  # x W Wᵀ + b
        tick("matmul")
        if self.relu:
            np.greater(g, 0, out=mask)
            np.maximum(g, 0, out=g)
        g -= x  # residual r
        sqb = buf.sqb[:ni, :rb]
        np.multiply(g, g, out=sqb)
        np.matmul(buf.ones[:, :rb], sqb, out=buf.sqrow[:ni])
        self.sq[i0:i1] += buf.sqrow[:ni, 0]
        g *= self.cs[i0:i1, :rb]
        if self.relu:
            g *= mask  # now G
        tick("elementwise")
        np.matmul(g, Wb, out=HG[:, :rb, :d])
        if self.single:
            np.matmul(XG.transpose(0, 2, 1), HG, out=self.gP[i0:i1])
        else:
            np.matmul(XG.transpose(0, 2, 1), HG, out=buf.tmp[:ni])
            self.gP[i0:i1] += buf.tmp[:ni]
        tick("matmul")


def _feature_weight(importance, reduction, n_features):
    return importance / n_features if reduction == "mean" else importance


def toy_model_loss(W, b, x, *, importance=1.0, model="relu", reduction="sum", return_grad=False):
    """Loss of toy models on a given batch, optionally with the hand-derived gradients.

    ``L = mean_batch Σ_i I_i (x_i - x'_i)²`` with ``x' = ReLU(x W Wᵀ + b)``
    (``model="relu"``) or ``x W Wᵀ + b`` (``"linear"``). ``reduction="mean"``
    divides by ``n_features`` (the reference notebook's mean over features).

    Parameters
    ----------
    W : array_like, shape (instances, n_features, d) or (n_features, d)
    b : array_like, shape (instances, n_features) or (n_features,)
    x : array_like, shape (instances, batch, n_features) or (batch, n_features)
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
    W = np.asarray(W)
    single = W.ndim == 2
    if single:
        W = W[None]
    if W.ndim != 3 or W.dtype.kind not in "biuf":
        raise ValueError(f"W must be a real array of shape (instances, n_features, d); got {_describe(W)}.")
    dt = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    n_inst, n, d = W.shape
    b = np.asarray(b, dtype=dt).reshape((1, -1) if np.ndim(b) == 1 else np.shape(b))
    if b.shape != (n_inst, n):
        raise ValueError(f"b must have shape {(n_inst, n)} to match W; got {b.shape}.")
    x = np.asarray(x, dtype=dt)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or x.shape[0] != n_inst or x.shape[2] != n:
        raise ValueError(f"x must have shape ({n_inst}, batch, {n}); got {x.shape}.")
    imp = _as_table(importance, "importance", n, one_d="feature", lo=0.0)
    if imp.shape[0] not in (1, n_inst):
        raise ValueError(f"importance has {imp.shape[0]} instance rows; W has {n_inst}.")
    weight = np.broadcast_to(_feature_weight(imp, reduction, n), (n_inst, n))
    k = _ToyKernel(n_inst, n, d, x.shape[1], weight, model == "relu", dt)
    k.W[...] = W
    k.b[...] = b
    k.x = x
    loss = k.loss_and_grad()
    loss = float(loss[0]) if single else loss
    if not return_grad:
        return loss
    gW, gb = (k.gW[0], k.gb[0]) if single else (k.gW, k.gb)
    return loss, (gW.copy(), gb.copy())


# --------------------------------------------------------------------------- trainer
@dataclass
class ToyModelResult:
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

    def rerun(self) -> ToyModelResult:
        """Train again from ``config`` (bit-for-bit identical on the same machine and threads)."""
        return train_toy_model(**self.config)


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
    blas_threads=1,
    n_threads=1,
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
    schedule : {"constant", "linear", "cosine"}
        Learning rate ``lr`` times 1, ``1 - t/steps`` or ``(1 + cos(π t/steps)) / 2``.
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

    blas_threads : int or None
        Threads BLAS may use while training (default 1, via threadpoolctl when
        installed): the blocked kernel's GEMMs are small, and a multi-threaded BLAS
        spends more on synchronization than it gains. ``None`` leaves BLAS alone.

    n_threads : int
        Worker threads over the cache blocks (numpy releases the GIL); default 1.
        The result does not depend on it: each group of blocks has its own
        random stream and its own slice of the gradient.

    Returns
    -------
    ToyModelResult

    Raises
    ------
    TrainingDivergedError
        If a loss becomes NaN or infinite (names the step and last finite loss).

    Examples
    --------
    >>> r = train_toy_model(n_features=5, d=2, sparsity=[0.0, 0.9], steps=300,
    ...                     batch_size=256, lr=1e-2, rng=0)
    >>> r.W.shape, r.b.shape, r.loss_history.shape
    ((2, 5, 2), (2, 5), (300, 2))
    >>> bool(np.array_equal(r.rerun().W, r.W))
    True
    >>> train_toy_model(n_features=5, d=2, importance=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: importance values must lie in >= 0.0; got -1.0.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features")
    d = check_int(d, "d")
    model = check_choice(model, "model", MODELS)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    opts = check_optimizer_options(optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps)
    batch_size = check_int(batch_size, "batch_size")
    k = check_int(n_seeds, "n_seeds")
    dens = _feature_density(sparsity, density, n)
    imp = _as_table(importance, "importance", n, one_d="feature", lo=0.0)
    dens_name = "sparsity" if density is None else "density"
    n_inst = _instances(n_instances, {dens_name: dens, "importance": imp})
    nc, na = _check_pairs(n_correlated_pairs, n_anticorrelated_pairs, n, dens)
    dt = check_dtype(dtype)
    eval_b = (
        check_int(eval_batch_size, "eval_batch_size")
        if eval_batch_size is not None
        else max(4 * batch_size, 8192)
    )
    if init_scale is None:
        init_scale = float(np.sqrt(2.0 / (n + d)))
    init_scale = check_float(init_scale, "init_scale", minimum=0.0)
    snap = None if snapshot_every is None else check_int(snapshot_every, "snapshot_every")
    threads = check_blas_threads(blas_threads)
    workers = check_int(n_threads, "n_threads")
    gen, seed = seeded(rng)

    dens_i = np.broadcast_to(dens, (n_inst, n))
    imp_i = np.broadcast_to(imp, (n_inst, n))
    total = n_inst * k  # copy s of instance i sits at row i * k + s
    weight = np.repeat(_feature_weight(imp_i, reduction, n), k, axis=0)
    sampler = _Sampler(np.repeat(dens_i, k, axis=0), dt, gen, n_correlated=nc, n_anticorrelated=na)
    kern = _ToyKernel(total, n, d, batch_size, weight, model == "relu", dt, sampler, workers)
    kern.W[...] = gen.standard_normal((total, n, d)) * init_scale

    def step(t):
        return kern.loss_and_grad()

    opt = Optimizer.from_options(kern.params, opts)
    try:
        history, snap_steps, snaps = run_loop(
            kern.params,
            kern.grad,
            step,
            opt,
            opts["steps"],
            total,
            snapshot_every=snap,
            snapshot=lambda: kern.W.copy(),
            threads=threads,
        )
    finally:
        kern.close()

    # Best of n_seeds per instance, on a fresh evaluation batch.
    ev = _ToyKernel(total, n, d, eval_b, weight, model == "relu", dt, sampler)
    ev.params[...] = kern.params
    with limit_blas(threads):
        seed_losses = ev.loss_and_grad().reshape(n_inst, k)
    chosen = np.argmin(seed_losses, axis=1)
    rows = np.arange(n_inst) * k + chosen
    config = dict(
        **opts,
        n_features=n,
        d=d,
        sparsity=None if density is not None else _plain(sparsity),
        density=_plain(density),
        importance=_plain(importance),
        n_instances=n_instances,
        model=model,
        reduction=reduction,
        batch_size=batch_size,
        n_seeds=k,
        eval_batch_size=eval_batch_size,
        n_correlated_pairs=nc,
        n_anticorrelated_pairs=na,
        init_scale=init_scale,
        dtype=dt.type,
        snapshot_every=snap,
        rng=seed,
        blas_threads=threads,
        n_threads=workers,
    )
    return ToyModelResult(
        W=kern.W[rows].copy(),
        b=kern.b[rows].copy(),
        loss_history=history[:, rows],
        eval_loss=seed_losses[np.arange(n_inst), chosen],
        seed_eval_losses=seed_losses,
        chosen_seed=chosen,
        sparsity=1.0 - dens_i.copy(),
        importance=imp_i.copy(),
        snapshots=None if snaps is None else snaps[:, rows],
        snapshot_steps=snap_steps,
        config=config,
        seconds=time.perf_counter() - t0,
    )


def _plain(value):
    """Arrays become nested lists so ``config`` is plain data (JSON-able apart from dtype)."""
    return np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
