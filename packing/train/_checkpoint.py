"""Long runs survive: checkpoints of the training loop, and Ctrl-C that returns the partial result.

A trainer called with ``checkpoint=PATH`` saves, every ``checkpoint_every``
steps, when it finishes and when it is interrupted, everything the loop needs
to go on: the parameters, the optimizer's moments, the state of every random
generator the run draws from, the step, the loss history, the snapshots and
the trainer's own records (:class:`TrainingCheckpoint`, written atomically as a
result file by :func:`packing.save_result`). Started again with the same call,
it restores that state before the first step and continues; the end result is
bit for bit that of an uninterrupted run with the same seed (the steps, their
random streams and every summation order are the same; only ``seconds``
differs). A checkpoint of another trainer or of another configuration is
refused with a message naming what differs, never silently resumed. With
``rng=None`` a resumed run takes the seed recorded in the checkpoint.

Ctrl-C: while the loop runs (in the main thread), the first SIGINT only asks it
to stop at the end of the current step, so parameters and optimizer state are
never left half updated; the trainer then returns the partial result with
``stopping_reason="interrupted"`` (and saves a checkpoint if it has a path).
A second Ctrl-C interrupts at once. A ``KeyboardInterrupt`` raised from inside
a step's loss computation stops the run the same way, before that step.

The hook in the loop (:func:`packing.train._optim.run_loop`) is three calls:
:meth:`Checkpointer.restore` before the first step, :meth:`Checkpointer.step_done`
after each step and :meth:`Checkpointer.finish` at the end.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import PackingFileError
from .._results import Encoder, Savable, dumps, load_result
from .._validation import check_int

__all__ = ["TrainingCheckpoint", "CheckpointMismatchError", "Checkpointer", "deferred_interrupt"]

#: Default number of steps between checkpoints.
DEFAULT_EVERY = 1000
#: Options that do not change the result (thread counts): a run may resume with others.
_FREE_OPTIONS = ("blas_threads", "n_threads")


class CheckpointMismatchError(PackingFileError):
    """A checkpoint file belongs to another trainer or another configuration than the call."""


CheckpointMismatchError.__module__ = "packing.train"


@dataclass
class TrainingCheckpoint(Savable, schema=1):
    """The state of a training run after ``step`` updates (see :mod:`packing.train._checkpoint`).

    Attributes
    ----------
    trainer : str
        Name of the training function, e.g. ``"train_toy_model"``.
    config : dict
        The run's validated configuration (its result's ``config``).
    step : int
        Updates done.
    params : ndarray
        The flat parameter buffer after ``step`` updates.
    optimizer : dict
        The optimizer's moment buffers ``{"m": ..., "v": ...}`` (``None`` when unused).
    generators : list of dict
        ``bit_generator.state`` of every random generator the run draws from, in the trainer's order.
    history : ndarray, shape (step, n_instances)
        Loss before each update so far.
    snapshot_steps : list of int
    snapshots : list of ndarray
    records : dict
        The trainer's own lists (e.g. the S-curve measurements), by name.
    """

    trainer: str
    config: dict
    step: int
    params: np.ndarray
    optimizer: dict
    generators: list
    history: np.ndarray
    snapshot_steps: list
    snapshots: list
    records: dict


def _canonical(value) -> tuple[str, list]:
    enc = Encoder()
    return dumps(enc.encode(value)), list(enc.arrays.values())


def _same(a, b) -> bool:
    (ta, aa), (tb, ab) = _canonical(a), _canonical(b)
    return ta == tb and all(np.array_equal(x, y) for x, y in zip(aa, ab, strict=True))


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Turn the first Ctrl-C into a request (an Event that is set) instead of a ``KeyboardInterrupt``.

    Only in the main thread with Python's default SIGINT handler installed;
    elsewhere the handler is left alone (the event then stays clear). A second
    Ctrl-C raises ``KeyboardInterrupt`` as usual.
    """
    event = threading.Event()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield event
        return

    def request_stop(signum, frame):
        event.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Checkpointer:
    """Save and restore one training run's state (a no-op without a path).

    A trainer opens it with the user's arguments before drawing its seed
    (:meth:`open`, :meth:`rng`), binds the run's configuration and random
    generators once they exist (:meth:`bind`) and hands it to the loop.
    """

    def __init__(self, path: Path | None, every: int, trainer: str, saved: TrainingCheckpoint | None):
        self.path, self.every, self.trainer, self.saved = path, every, trainer, saved
        self.config: dict | None = None
        self.generators: list[np.random.Generator] = []
        self.records: dict[str, list] = {}
        self._state = None

    @classmethod
    def open(cls, checkpoint, checkpoint_every, trainer: str) -> Checkpointer:
        """Validate ``checkpoint`` (a ``.npz`` path or None) and ``checkpoint_every``; read a saved file."""
        if checkpoint is None:
            if checkpoint_every is not None:
                raise ValueError(
                    f"checkpoint_every needs checkpoint=PATH (a .npz file to save to); got "
                    f"checkpoint_every={checkpoint_every!r} without a path."
                )
            return cls(None, DEFAULT_EVERY, trainer, None)
        if not isinstance(checkpoint, str | Path):
            raise TypeError(
                f"checkpoint must be a path (str or pathlib.Path) ending in .npz; got "
                f"{type(checkpoint).__name__} {checkpoint!r}."
            )
        path = Path(checkpoint)
        if path.suffix.lower() != ".npz":
            raise ValueError(f"checkpoint must be a path ending in .npz; got {str(path)!r}.")
        every = DEFAULT_EVERY if checkpoint_every is None else check_int(checkpoint_every, "checkpoint_every")
        saved = None
        if path.exists():
            saved = load_result(path, cls=TrainingCheckpoint)
            if saved.trainer != trainer:
                raise CheckpointMismatchError(
                    f"checkpoint {str(path)!r} is a checkpoint of {saved.trainer}, not of {trainer}; "
                    f"delete it or pass another path."
                )
        return cls(path, every, trainer, saved)

    @property
    def enabled(self) -> bool:
        """Whether this run saves checkpoints."""
        return self.path is not None

    def rng(self, rng):
        """Return the ``rng`` to seed the run with: the checkpoint's seed when ``rng`` is None."""
        if rng is None and self.saved is not None and isinstance(self.saved.config.get("rng"), int):
            return self.saved.config["rng"]
        return rng

    def bind(self, config: dict, *, generators: Sequence = (), records: dict | None = None) -> Checkpointer:
        """Attach the run's configuration, its random generators and the trainer's record lists.

        A saved checkpoint of another configuration is a :class:`CheckpointMismatchError`
        naming the options that differ (thread counts may differ).
        """
        self.config, self.generators, self.records = config, list(generators), dict(records or {})
        if self.saved is None:
            return self
        keys = [k for k in dict.fromkeys([*self.saved.config, *config]) if k not in _FREE_OPTIONS]
        differ = [k for k in keys if not _same(self.saved.config.get(k), config.get(k))]
        if differ:
            old = self.saved.config
            shown = "; ".join(f"{k}: {old.get(k)!r} there, {config.get(k)!r} here" for k in differ)
            raise CheckpointMismatchError(
                f"checkpoint {str(self.path)!r} was written by another configuration of {self.trainer} "
                f"({shown}); delete it or pass another path to start a new run."
            )
        saved = self.saved
        if len(saved.generators) != len(self.generators) or set(saved.records) != set(self.records):
            raise CheckpointMismatchError(
                f"checkpoint {str(self.path)!r} does not fit this version of {self.trainer} (its random "
                f"streams or records differ); delete it to start over."
            )
        return self

    # ----------------------------------------------------------------------- the loop's hook
    def restore(self, params: np.ndarray, opt, history: np.ndarray, snap_steps: list, snaps: list) -> int:
        """Attach the loop's state and load a saved checkpoint into it; return the first step to run."""
        self._state = (params, opt, history, snap_steps, snaps)
        saved = self.saved
        if saved is None:
            return 0
        if saved.params.shape != params.shape or saved.params.dtype != params.dtype:
            raise CheckpointMismatchError(
                f"checkpoint {str(self.path)!r} holds parameters of shape {saved.params.shape} and dtype "
                f"{saved.params.dtype}; this run has {params.shape}, {params.dtype}. Delete it to start over."
            )
        params[...] = saved.params
        for name in ("m", "v"):
            if getattr(opt, name) is not None:
                getattr(opt, name)[...] = saved.optimizer[name]
        for gen, state in zip(self.generators, saved.generators, strict=True):
            gen.bit_generator.state = state
        history[: saved.step] = saved.history
        snap_steps[:] = saved.snapshot_steps
        snaps[:] = saved.snapshots
        for name, values in self.records.items():
            values[:] = saved.records[name]
        return saved.step

    def step_done(self, t: int) -> None:
        """Save after update ``t`` (1-based count of updates done) when ``t`` is a multiple of ``every``."""
        if self.path is not None and t % self.every == 0:
            self.save(t)

    def finish(self, t: int) -> None:
        """Save the state at the end of the loop (finished or interrupted after ``t`` updates)."""
        if self.path is not None and (self.saved is None or self.saved.step != t):
            self.save(t)

    def save(self, t: int) -> None:
        """Write the state after ``t`` updates to the checkpoint file (atomically)."""
        params, opt, history, snap_steps, snaps = self._state
        ckpt = TrainingCheckpoint(
            trainer=self.trainer,
            config=self.config,
            step=t,
            params=params.copy(),
            optimizer={name: getattr(opt, name) for name in ("m", "v")},
            generators=[g.bit_generator.state for g in self.generators],
            history=history[:t],
            snapshot_steps=list(snap_steps),
            snapshots=list(snaps),
            records={k: list(v) for k, v in self.records.items()},
        )
        ckpt.save(self.path)
        self.saved = ckpt
