"""Optimizers, learning-rate schedules and the shared training loop of the numpy trainer.

All parameters of a run (every instance, every tensor) live in one flat buffer,
so one in-place Adam update covers the whole vectorized run with a handful of
ufunc calls. Instances never mix: every update is elementwise.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np

from .._progress import progress_bar
from ._checkpoint import Checkpointer, deferred_interrupt
from ._kernel import rowdot
from ._parallel import blas_limits

__all__: list[str] = []

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine", "warmup_cosine")
#: ``"warmup_cosine"``: the rate rises linearly over this fraction of the steps, then falls on a cosine.
WARMUP_FRACTION = 0.05
#: The accepted names, as :func:`packing._validation.check_optimizer_options` takes them.
CHOICES = {"optimizers": OPTIMIZERS, "schedules": SCHEDULES}
#: Cosines that repeat every ``t_max`` steps (the monosemanticity trainer's; they need its ``cosine_t_max``):
#: ``"cosine_periodic"`` is PyTorch's ``CosineAnnealingLR`` stepped past its ``T_max`` (Jermyn et al.
#: 2022 used it with ``T_max = 512`` over 2^17 steps), ``"cosine_restarts"`` its
#: ``CosineAnnealingWarmRestarts`` (``T_0 = t_max``, ``T_mult = 1``).
PERIODIC_SCHEDULES = ("cosine_periodic", "cosine_restarts")
#: Trainers whose parameters come in named tensors (they pass ``tensors=``) also offer LAMB.
LAYERWISE_CHOICES = {"optimizers": (*OPTIMIZERS, "lamb"), "schedules": (*SCHEDULES, *PERIODIC_SCHEDULES)}
#: The paper's ``T_max`` (``CosineAnnealingLR(optimizer, T_max=2**9)`` in its ``model3.py``).
PAPER_T_MAX = 512
#: Fewest parameters per thread for a parallel Adam or SGD update (fewer: one thread, no dispatch).
PARALLEL_ENTRIES = 2**15
#: LAMB's cap on a tensor's norm in the trust ratio (torch_optimizer.Lamb's ``clamp_value``).
LAMB_CLAMP = 10.0


class TrainingDivergedError(FloatingPointError):
    """A loss or parameter became NaN or infinite during training."""


def schedule_factor(schedule: str, t: int, steps: int, t_max: int = PAPER_T_MAX) -> float:
    """Multiplier of the base learning rate at step ``t`` (0-based) of ``steps``.

    ``"cosine"`` falls once over the run, ``(1 + cos(π t / steps)) / 2``;
    ``"warmup_cosine"`` first rises linearly, ``(t + 1) / w`` over the first
    ``w = ceil(WARMUP_FRACTION * steps)`` steps, then falls on the cosine
    ``(1 + cos(π (t − w) / (steps − w))) / 2`` (the usual warmup against
    Adam's first, uncalibrated steps). The
    periodic ones use ``t_max`` instead of ``steps``: ``"cosine_periodic"`` is
    ``(1 + cos(π t / t_max)) / 2``, falling to 0 at ``t_max`` and rising smoothly
    back to 1 at ``2 t_max`` (period ``2 t_max``: what PyTorch's
    ``CosineAnnealingLR`` with ``eta_min = 0`` does when stepped past ``T_max``);
    ``"cosine_restarts"`` is ``(1 + cos(π (t mod t_max) / t_max)) / 2``, jumping
    back to 1 every ``t_max`` steps (``CosineAnnealingWarmRestarts``).
    """
    if schedule == "constant":
        return 1.0
    if schedule == "cosine_periodic":
        return 0.5 * (1.0 + math.cos(math.pi * t / t_max))
    if schedule == "cosine_restarts":
        return 0.5 * (1.0 + math.cos(math.pi * (t % t_max) / t_max))
    if schedule == "warmup_cosine":
        w = math.ceil(WARMUP_FRACTION * steps)
        if t < w:
            return (t + 1) / w
        return 0.5 * (1.0 + math.cos(math.pi * (t - w) / max(steps - w, 1)))
    frac = t / steps
    if schedule == "linear":
        return 1.0 - frac
    return 0.5 * (1.0 + math.cos(math.pi * frac))


class Optimizer:
    """In-place SGD (with optional momentum), Adam, AdamW or LAMB over one flat parameter buffer.

    ``weight_decay`` is decoupled (``p -= lr * wd * p``) for ``"adamw"`` and an
    L2 term added to the gradient for ``"adam"`` and ``"sgd"``, as in PyTorch.
    Adam follows PyTorch's arithmetic: ``p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)``.

    ``"lamb"`` is layer-wise Adam (You et al. 2019, "Large Batch Optimization for
    Deep Learning: Training BERT in 76 minutes", Algorithm 2) as ``torch_optimizer.Lamb``
    computes it with its defaults, the optimizer of Jermyn et al. (2022): with
    the Adam moments ``m, v`` (no bias correction) and ``u = m / (sqrt(v) + eps) +
    wd p``, each tensor moves by ``-lr * min(||p||, 10) / ||u|| * u`` (trust ratio 1
    when either norm is 0). Its tensors are given by ``tensors = (n_instances,
    [(start, stop), ...])``: the flat buffer is ``(n_instances, per_instance)`` and
    each ``(start, stop)`` is a tensor's column range in every instance's row,
    so each instance's tensors get their own trust ratio (instances never mix).
    """

    def __init__(
        self,
        params: np.ndarray,
        *,
        kind,
        lr,
        schedule,
        steps,
        weight_decay,
        betas,
        eps,
        momentum,
        tensors=None,
        pool=None,
        t_max=PAPER_T_MAX,
    ):
        self.t_max = t_max  # the period of the periodic schedules (see schedule_factor)
        self.pool = pool  # a WorkerPool: Adam and SGD update slices of the buffer on its threads
        self.kind, self.lr, self.schedule, self.steps = kind, lr, schedule, steps
        self.wd, self.eps, self.momentum = weight_decay, eps, momentum
        self.b1, self.b2 = betas
        dt = params.dtype
        self.m = np.zeros_like(params) if kind != "sgd" or momentum else None
        self.v = np.zeros_like(params) if kind != "sgd" else None
        self.tmp = np.empty_like(params)
        self._one = dt.type(1)
        if kind == "lamb":
            if tensors is None:
                raise ValueError("LAMB needs the tensors: tensors=(n_instances, [(start, stop), ...]).")
            n_inst, self.tensors = tensors[0], list(tensors[1])
            self.rows = n_inst
        self.trust = None  # LAMB: the last trust ratios, (n_instances, n_tensors)

    @classmethod
    def from_options(cls, params: np.ndarray, opts: dict, tensors=None, pool=None) -> Optimizer:
        """Build from the dict returned by :func:`packing._validation.check_optimizer_options`."""
        return cls(
            params,
            kind=opts["optimizer"],
            lr=opts["lr"],
            schedule=opts["schedule"],
            steps=opts["steps"],
            weight_decay=opts["weight_decay"],
            betas=opts["betas"],
            eps=opts["eps"],
            momentum=opts["momentum"],
            tensors=tensors,
            pool=pool,
            t_max=opts.get("cosine_t_max", PAPER_T_MAX),
        )

    def step(self, params: np.ndarray, grad: np.ndarray, t: int) -> None:
        """Apply update number ``t`` (0-based) to ``params`` given ``grad`` (which may be clobbered)."""
        lr = self.lr * schedule_factor(self.schedule, t, self.steps, self.t_max)
        if self.kind == "lamb":
            self._lamb(params, grad, lr)
            return
        parts = 1 if self.pool is None else min(self.pool.workers, params.size // PARALLEL_ENTRIES)
        if parts <= 1:
            self._update(params, grad, self.m, self.v, self.tmp, lr, t)
            return
        # Every operation is elementwise, so slices give bit for bit the result of the whole.
        bounds = [(params.size * k // parts, params.size * (k + 1) // parts) for k in range(parts)]

        def part(k, worker):
            sl = slice(*bounds[k])
            m, v = (None if a is None else a[sl] for a in (self.m, self.v))
            self._update(params[sl], grad[sl], m, v, self.tmp[sl], lr, t)

        self.pool.run(part, parts)

    def _update(self, params, grad, m, v, tmp, lr, t):
        """Update ``params`` (a slice of the buffer, with the matching slices of the state) in place."""
        if self.wd and self.kind != "adamw":
            grad += self.wd * params  # small arrays: the temporary is harmless
        if self.kind == "sgd":
            if self.momentum:
                m *= self.momentum
                m += grad
                grad = m
            np.multiply(grad, lr, out=tmp)
            params -= tmp
            return
        if self.kind == "adamw" and self.wd:
            params *= 1.0 - lr * self.wd
        self._moments(grad, m, v, tmp)
        c1 = 1.0 - self.b1 ** (t + 1)
        c2 = 1.0 - self.b2 ** (t + 1)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(c2)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / c1
        params -= tmp

    def _moments(self, grad, m, v, tmp) -> tuple[np.ndarray, np.ndarray]:
        """Update Adam's moments ``m, v`` in place (``tmp`` is scratch); return ``(m, v)``."""
        m *= self.b1
        np.multiply(grad, 1.0 - self.b1, out=tmp)
        m += tmp
        v *= self.b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - self.b2
        v += tmp
        return m, v

    def _lamb(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        """One LAMB update (see the class docstring): one trust ratio per instance and tensor."""
        tmp = self.tmp
        m, v = self._moments(grad, self.m, self.v, tmp)
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)  # the Adam direction u
        if self.wd:
            tmp += self.wd * params
        P, U = params.reshape(self.rows, -1), tmp.reshape(self.rows, -1)
        trust = np.ones((self.rows, len(self.tensors)))
        for j, (a, b) in enumerate(self.tensors):
            p, u = P[:, a:b], U[:, a:b]
            p_norm = np.minimum(np.sqrt(rowdot(p, p).astype(np.float64)), LAMB_CLAMP)
            u_norm = np.sqrt(rowdot(u, u).astype(np.float64))
            ok = (p_norm > 0) & (u_norm > 0)
            trust[ok, j] = p_norm[ok] / u_norm[ok]
            u *= (lr * trust[:, j]).astype(params.dtype)[:, None]
            p -= u
        self.trust = trust


class TrainingLoop:
    """The state of a run between steps: :meth:`step` is the one place the step counter ``t`` advances.

    ``loss_and_grad(t)`` fills ``grad`` and returns the per-instance loss at the
    current parameters (float64). Each :meth:`step` checks that loss (a
    non-finite one stops training with :class:`TrainingDivergedError` naming the
    step and the last finite loss), records it, calls ``record(t)``, updates the
    parameters, advances ``t``, takes a snapshot every ``snapshot_every`` steps
    and lets ``checkpoint`` save. Run steps inside :meth:`running` (floating-point
    warnings off: divergence is reported, not warned; BLAS limited to ``threads``).

    ``checkpoint`` (see :mod:`._checkpoint`) restores a saved state when the loop
    is built (``t`` then starts at the saved step) and saves as the run goes.
    """

    def __init__(
        self,
        params: np.ndarray,
        grad: np.ndarray,
        loss_and_grad: Callable[[int], np.ndarray],
        opt: Optimizer,
        steps: int,
        n_instances: int,
        *,
        snapshot_every: int | None = None,
        snapshot: Callable[[], np.ndarray] | None = None,
        record: Callable[[int], None] | None = None,
        checkpoint: Checkpointer | None = None,
    ):
        self.params, self.grad, self.loss_and_grad, self.opt = params, grad, loss_and_grad, opt
        self.steps, self.record, self.checkpoint = steps, record, checkpoint
        self.snapshot_every, self.snapshot = snapshot_every, snapshot
        self.history = np.empty((steps, n_instances))
        self.snaps, self.snap_steps = [], []
        # --- checkpoint hook (packing.train._checkpoint): restore a saved state before the first step
        restore = checkpoint.restore if checkpoint is not None else lambda *state: 0
        self.t = restore(params, opt, self.history, self.snap_steps, self.snaps)
        if snapshot_every and self.t == 0:
            self.snaps.append(snapshot())
            self.snap_steps.append(0)
        self._caller_err = np.geterr()

    @contextlib.contextmanager
    def running(self, threads: int | None = 1):
        """Floating-point warnings off and BLAS limited to ``threads`` threads while steps run."""
        self._caller_err = np.geterr()
        with blas_limits(threads), np.errstate(over="ignore", invalid="ignore"):
            yield self

    def step(self) -> bool:
        """Take update number ``t`` (0-based) and advance ``t``.

        Return False, with nothing changed, when ``loss_and_grad`` raised
        ``KeyboardInterrupt`` (Ctrl-C before the step took effect).
        """
        t = self.t
        try:
            loss = self.loss_and_grad(t)
        except KeyboardInterrupt:
            return False
        if not np.isfinite(loss).all():
            bad = int(np.flatnonzero(~np.isfinite(loss))[0])
            last = f"{self.history[t - 1, bad]:.6g}" if t else "none (the first loss was already bad)"
            raise TrainingDivergedError(
                f"training diverged at step {t}: the loss of instance {bad} is {loss[bad]}; last finite "
                f"loss of that instance: {last}. {self._hint()} or use float64."
            )
        self.history[t] = loss
        if self.record is not None:
            with np.errstate(**self._caller_err):
                self.record(t)
        self.opt.step(self.params, self.grad, t)
        self.t = t = t + 1
        if self.snapshot_every and t % self.snapshot_every == 0:
            self.snaps.append(self.snapshot())
            self.snap_steps.append(t)
        if self.checkpoint is not None:  # --- checkpoint hook: save every K steps
            self.checkpoint.step_done(t)
        return True

    def _hint(self) -> str:
        """Say what to lower after a divergence: lr, and weight_decay when it is set (1e300 diverges too)."""
        wd = self.opt.wd
        both = f" or weight_decay (now {wd})" if np.any(np.asarray(wd, dtype=float) != 0) else ""
        return f"Lower lr (now {self.opt.lr}){both}"

    def result(self):
        """Return ``(loss_history (steps_done, n_instances), snapshot_steps, snapshots)``; checkpoint it."""
        done = self.t
        if self.checkpoint is not None:  # --- checkpoint hook: save the final (or interrupted) state
            self.checkpoint.finish(done)
        history = self.history[:done]
        if done and not np.isfinite(self.params).all():
            raise TrainingDivergedError(
                f"training diverged at step {done - 1}: the final update produced non-finite parameters; "
                f"last finite losses: {np.round(history[-1], 6).tolist()}. {self._hint()}."
            )
        snapshots = np.stack(self.snaps) if self.snaps else None
        return history, np.asarray(self.snap_steps, dtype=int), snapshots


def run_loop(*args, threads: int | None = 1, progress=False, desc: str = "training", **kwargs):
    """Run the steps of a :class:`TrainingLoop` (same arguments); return its :meth:`~TrainingLoop.result`.

    BLAS is limited to ``threads`` threads meanwhile. Ctrl-C stops after the
    current step (a ``KeyboardInterrupt`` from ``loss_and_grad`` before it): the
    history then has fewer than ``steps`` rows. ``progress`` (checked by the
    public trainer) shows a bar over the steps (:func:`packing._progress.progress_bar`).
    """
    loop = TrainingLoop(*args, **kwargs)
    # progress hook: one bar around the loop, one update per step; a resumed run starts where it stopped
    bar = progress_bar(loop.steps, desc=desc, progress=progress, unit="step", every=64)
    # Ctrl-C ends the run after a whole step
    with loop.running(threads), bar as tick, deferred_interrupt() as interrupted:
        tick.set(loop.t)
        while loop.t < loop.steps and loop.step():
            tick.update()
            if interrupted.is_set():
                break
    return loop.result()
