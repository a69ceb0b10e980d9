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
from threadpoolctl import threadpool_limits

from ._checkpoint import Checkpointer, deferred_interrupt

__all__: list[str] = []

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine")
#: The accepted names, as :func:`packing._validation.check_optimizer_options` takes them.
CHOICES = {"optimizers": OPTIMIZERS, "schedules": SCHEDULES}


class TrainingDivergedError(FloatingPointError):
    """A loss or parameter became NaN or infinite during training."""


def schedule_factor(schedule: str, t: int, steps: int) -> float:
    """Multiplier of the base learning rate at step ``t`` (0-based) of ``steps``."""
    if schedule == "constant":
        return 1.0
    frac = t / steps
    if schedule == "linear":
        return 1.0 - frac
    return 0.5 * (1.0 + math.cos(math.pi * frac))


class Optimizer:
    """In-place SGD (with optional momentum), Adam or AdamW over one flat parameter buffer.

    ``weight_decay`` is decoupled (``p -= lr * wd * p``) for ``"adamw"`` and an
    L2 term added to the gradient for ``"adam"`` and ``"sgd"``, as in PyTorch.
    Adam follows PyTorch's arithmetic: ``p -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)``.
    """

    def __init__(self, params: np.ndarray, *, kind, lr, schedule, steps, weight_decay, betas, eps, momentum):
        self.kind, self.lr, self.schedule, self.steps = kind, lr, schedule, steps
        self.wd, self.eps, self.momentum = weight_decay, eps, momentum
        self.b1, self.b2 = betas
        dt = params.dtype
        self.m = np.zeros_like(params) if kind != "sgd" or momentum else None
        self.v = np.zeros_like(params) if kind != "sgd" else None
        self.tmp = np.empty_like(params)
        self._one = dt.type(1)

    @classmethod
    def from_options(cls, params: np.ndarray, opts: dict) -> Optimizer:
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
        )

    def step(self, params: np.ndarray, grad: np.ndarray, t: int) -> None:
        """Apply update number ``t`` (0-based) to ``params`` given ``grad`` (which may be clobbered)."""
        lr = self.lr * schedule_factor(self.schedule, t, self.steps)
        tmp = self.tmp
        if self.wd and self.kind != "adamw":
            grad += self.wd * params  # small arrays: the temporary is harmless
        if self.kind == "sgd":
            if self.momentum:
                self.m *= self.momentum
                self.m += grad
                grad = self.m
            np.multiply(grad, lr, out=tmp)
            params -= tmp
            return
        if self.kind == "adamw" and self.wd:
            params *= 1.0 - lr * self.wd
        m, v = self.m, self.v
        m *= self.b1
        np.multiply(grad, 1.0 - self.b1, out=tmp)
        m += tmp
        v *= self.b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - self.b2
        v += tmp
        c1 = 1.0 - self.b1 ** (t + 1)
        c2 = 1.0 - self.b2 ** (t + 1)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(c2)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / c1
        params -= tmp


@contextlib.contextmanager
def blas_threads(n):
    """Limit BLAS to ``n`` threads while training (a no-op for ``None``).

    The blocked kernels issue many small GEMMs; a multi-threaded BLAS spends more
    on waking and synchronizing its threads than it gains (measured: 20x the CPU
    time per step on a loaded 2-core machine).
    """
    if n is None:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def run_loop(
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
    threads: int | None = 1,
    checkpoint: Checkpointer | None = None,
):
    """Run ``steps`` updates; return ``(loss_history (steps_done, n_instances), snapshot_steps, snapshots)``.

    ``loss_and_grad(t)`` fills ``grad`` and returns the per-instance loss at the
    current parameters. BLAS is limited to ``threads`` threads meanwhile. A
    non-finite loss stops training with :class:`TrainingDivergedError` naming the
    step and the last finite loss. Ctrl-C stops after the current step (a
    ``KeyboardInterrupt`` from ``loss_and_grad`` before it): the history then has
    fewer than ``steps`` rows. ``checkpoint`` (see :mod:`._checkpoint`) restores
    a saved state before the first step and saves as the run goes.
    """
    with blas_threads(threads):
        return _loop(
            params, grad, loss_and_grad, opt, steps, n_instances, snapshot_every, snapshot, record, checkpoint
        )


def _loop(params, grad, loss_and_grad, opt, steps, n_instances, snapshot_every, snapshot, record, checkpoint):
    history = np.empty((steps, n_instances))
    snaps, snap_steps = [], []
    # --- checkpoint hook (packing.train._checkpoint): restore a saved state before the first step
    start = checkpoint.restore(params, opt, history, snap_steps, snaps) if checkpoint is not None else 0
    if snapshot_every and start == 0:
        snaps.append(snapshot())
        snap_steps.append(0)
    done = steps
    with deferred_interrupt() as interrupted:  # Ctrl-C ends the run after a whole step
        for t in range(start, steps):
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, not warned
                    loss = loss_and_grad(t)
            except KeyboardInterrupt:  # raised before this step changed any state
                done = t
                break
            if not np.isfinite(loss).all():
                bad = int(np.flatnonzero(~np.isfinite(loss))[0])
                last = f"{history[t - 1, bad]:.6g}" if t else "none (the first loss was already bad)"
                raise TrainingDivergedError(
                    f"training diverged at step {t}: the loss of instance {bad} is {loss[bad]}; last finite "
                    f"loss of that instance: {last}. Lower lr (now {opt.lr}) or use float64."
                )
            history[t] = loss
            if record is not None:
                record(t)
            with np.errstate(over="ignore", invalid="ignore"):
                opt.step(params, grad, t)
            if snapshot_every and (t + 1) % snapshot_every == 0:
                snaps.append(snapshot())
                snap_steps.append(t + 1)
            if checkpoint is not None:  # --- checkpoint hook: save every K steps
                checkpoint.step_done(t + 1)
            if interrupted.is_set():
                done = t + 1
                break
    if checkpoint is not None:  # --- checkpoint hook: save the final (or interrupted) state
        checkpoint.finish(done)
    history = history[:done]
    if done and not np.isfinite(params).all():
        raise TrainingDivergedError(
            f"training diverged at step {done - 1}: the final update produced non-finite parameters; "
            f"last finite losses: {np.round(history[-1], 6).tolist()}. Lower lr (now {opt.lr})."
        )
    snapshots = np.stack(snaps) if snaps else None
    return history, np.asarray(snap_steps, dtype=int), snapshots
