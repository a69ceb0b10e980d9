"""The tasks a sweep can run: the toolkit's jobs by name, and any function a user registers.

A task is a function called once per cell as ``fn(**config, rng=seed)``, plus
a ``summarize`` function turning its result into a few scalar columns of the
sweep's table. :func:`register_task` adds one (a built-in helper adds its job
with one line); :func:`sweep_tasks` lists them.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

from .._results import CheckedFields
from .._validation import _describe, check_callable

__all__ = ["SweepTask", "register_task", "sweep_tasks"]

#: Arguments the engine sets itself when a task takes them (never grid parameters): no progress bar
#: inside a worker, one thread per process (the processes are the parallelism), no checkpoint files.
ENGINE_ARGUMENTS = {"progress": False, "n_threads": 1, "blas_threads": 1, "verbose": False}
#: Arguments a grid may not set because they would write files or change how, not what, is computed.
FORBIDDEN = ("checkpoint", "checkpoint_every")
_SEED_NAMES = ("rng", "seed")
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


@dataclasses.dataclass(frozen=True)
class SweepTask(CheckedFields):
    """A function the sweep engine can run cell by cell (see :func:`register_task`).

    Attributes
    ----------
    name : str
        Its name in grids, the cache and the table.
    fn : callable
        Called as ``fn(**config, **fixed, <seed_arg>=seed)``.
    summarize : callable
        ``summarize(result) -> dict`` of scalar columns for the table.
    seed_arg : str or None
        The argument that takes the cell's seed, or ``None`` (a deterministic task).
    fixed : dict
        Arguments the engine always passes (``progress=False``, ``n_threads=1``, ...).
    version : str
        Part of every cell's key: change it when the function's results change.
    """

    name: str
    fn: Callable
    summarize: Callable
    seed_arg: str | None
    fixed: dict
    version: str = ""

    def parameters(self) -> tuple[dict[str, inspect.Parameter], bool]:
        """Return the parameters a grid may set, and whether the function takes any keyword (``**kwargs``)."""
        sig = inspect.signature(self.fn)
        open_ended = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        taken = {*self.fixed, *FORBIDDEN, *(_SEED_NAMES if self.seed_arg else ())}
        params = {
            k: p
            for k, p in sig.parameters.items()
            if k not in taken and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        return params, open_ended


_TASKS: dict[str, SweepTask] = {}


def register_task(
    name: str,
    fn: Callable,
    *,
    summarize: Callable | None = None,
    seed_arg: str | None = "auto",
    version: str = "",
    replace: bool = False,
) -> SweepTask:
    """Make ``fn`` runnable by :func:`packing.sweep` under ``name``.

    Parameters
    ----------
    name : str
        Lower-case letters, digits, ``_``, ``-`` and ``.``; it names the task's
        folder in the cache.
    fn : callable
        Called once per cell with the cell's configuration as keyword
        arguments. It returns a result object of the toolkit (a
        :class:`~packing.io.Savable` dataclass such as ``ToyModelResult``) or a
        dict of numbers, strings and arrays. When it takes ``progress``,
        ``n_threads``, ``blas_threads`` or ``verbose``, the engine passes
        ``False`` / 1 / 1 / ``False``. A function defined in a script or notebook
        works locally; on a Dask cluster the workers must be able to import or
        unpickle it.
    summarize : callable, optional
        ``summarize(result) -> dict`` of scalars (numbers, strings, booleans,
        ``None``): the task's columns in the table. Default: the scalar fields of
        a result object, or the scalar entries of a dict.
    seed_arg : str or None, default "auto"
        The argument that receives the cell's seed: ``"rng"`` or ``"seed"`` when
        ``fn`` takes one (auto), ``None`` for a deterministic function.
    version : str
        Enters every cell's key: change it when ``fn`` changes its results, and
        the old cells are recomputed instead of reloaded.
    replace : bool
        Allow replacing a task of the same name.

    Returns
    -------
    SweepTask

    Examples
    --------
    >>> def square(x, rng=None):
    ...     return {"y": x * x}
    >>> register_task("doc-square", square).seed_arg
    'rng'
    >>> "doc-square" in sweep_tasks()
    True
    >>> register_task("doc-square", square)
    Traceback (most recent call last):
    ...
    ValueError: name must be new, or replace=True given; got 'doc-square', already the sweep task of square.
    """
    if not isinstance(name, str) or not name or not set(name) <= _NAME_CHARS or name[0] in "-.":
        raise ValueError(
            f"name must be a task name of lower-case letters, digits, '_', '-' and '.' (not starting with "
            f"'-' or '.'); got {_describe(name)}."
        )
    if not callable(fn) or isinstance(fn, type):
        raise TypeError(
            f"fn must be a function taking the cell's configuration as keywords; got {_describe(fn)}."
        )
    if summarize is not None:
        if not callable(summarize):
            raise TypeError(
                f"summarize must be a function summarize(result) -> dict; got {_describe(summarize)}."
            )
        check_callable(summarize, "summarize", (1,), "a function summarize(result) -> dict")
    if not isinstance(version, str):
        raise TypeError(f"version must be a str; got {_describe(version)}.")
    if not isinstance(replace, bool | np.bool_):
        raise TypeError(f"replace must be True or False; got {_describe(replace)}.")
    _register_builtins()  # a built-in task's name is taken even before the first sweep
    if name in _TASKS and not replace:
        raise ValueError(
            f"name must be new, or replace=True given; got {name!r}, already the sweep task of "
            f"{_TASKS[name].fn.__qualname__}."
        )
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        raise TypeError(
            f"fn must be a function whose signature can be read; got {_describe(fn)}."
        ) from None
    if seed_arg == "auto":
        seed_arg = next((s for s in _SEED_NAMES if s in sig.parameters), None)
    elif seed_arg is not None and seed_arg not in sig.parameters:
        raise ValueError(
            f"seed_arg must be an argument of fn ({', '.join(sig.parameters)}) or None; got {seed_arg!r}."
        )
    fixed = {k: v for k, v in ENGINE_ARGUMENTS.items() if k in sig.parameters}
    task = SweepTask(name, fn, summarize or default_summary, seed_arg, fixed, version)
    _TASKS[name] = task
    return task


def sweep_tasks() -> dict[str, SweepTask]:
    """Return the registered sweep tasks by name (built-in and registered ones).

    Examples
    --------
    >>> {"train_toy_model", "optimize_packing", "optimal_partition"} <= set(sweep_tasks())
    True
    """
    _register_builtins()
    return dict(_TASKS)


def get_task(task) -> SweepTask:
    """Return the task named ``task`` (or ``task`` itself); an unknown name lists the known ones."""
    if isinstance(task, SweepTask):
        return task
    tasks = sweep_tasks()
    if isinstance(task, str) and task in tasks:
        return tasks[task]
    if isinstance(task, str):
        raise ValueError(
            f"task must be the name of a sweep task ({', '.join(sorted(tasks))}) or a function registered "
            f"with packing.register_task; got {task!r}."
        )
    if callable(task):
        for t in tasks.values():
            if t.fn is task:
                return t
        raise ValueError(
            "task must be registered first with packing.register_task(name, fn) and given by its name; got "
            f"the unregistered function {getattr(task, '__qualname__', task)!r}."
        )
    raise TypeError(f"task must be the name of a sweep task (a str); got {_describe(task)}.")


# --------------------------------------------------------------------------- summaries


def is_scalar(value) -> bool:
    """Whether ``value`` fits one cell of a table (number, string, boolean or ``None``)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "biufU"
    return value is None or isinstance(value, str | bool | numbers.Number | np.generic)


def plain_scalar(value):
    """Return a Python scalar for a NumPy one (tables and JSON hold plain values)."""
    if isinstance(value, np.ndarray | np.generic):
        return value.item()
    return value


def default_summary(result) -> dict:
    """Return the scalar fields of a result object, or the scalar entries of a dict."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    elif isinstance(result, Mapping):
        items = dict(result)
    else:
        return {}
    return {str(k): plain_scalar(v) for k, v in items.items() if is_scalar(v)}


def _mean(x) -> float:
    return float(np.mean(np.asarray(x, dtype=np.float64)))


def toy_summary(result) -> dict:
    """Columns of a toy-model cell: losses, represented features and dimensions per feature.

    With several instances in one cell each column is the mean over them.
    """
    W = np.asarray(result.W, dtype=np.float64)
    d = W.shape[2]
    norms = np.linalg.norm(W, axis=2)
    frob = np.sum(W * W, axis=(1, 2))
    history = result.loss_history
    return {
        "instances": int(W.shape[0]),
        "final_loss": _mean(history[-1]) if len(history) else math.nan,
        "eval_loss": _mean(result.eval_loss),
        "represented": _mean(np.sum(norms > 0.5, axis=1)),
        "dims_per_feature": _mean(np.where(frob > 0, d / np.where(frob > 0, frob, 1.0), math.inf)),
        "seconds": float(result.seconds),
        "stopping_reason": result.stopping_reason,
    }


def packing_summary(result) -> dict:
    """Columns of an optimizer cell."""
    keys = (
        "objective",
        "coherence",
        "lower_bound",
        "gap",
        "iterations",
        "restarts",
        "time",
        "stopping_reason",
    )
    return {k: plain_scalar(getattr(result, k)) for k in keys}


def partition_summary(result) -> dict:
    """Columns of an optimal-partition cell (``blocks`` as text, e.g. ``"3x(2,1)+1x(4,2)"``)."""
    sizes: dict[tuple[int, int], int] = {}
    for b in result.blocks:
        sizes[tuple(b)] = sizes.get(tuple(b), 0) + 1
    return {
        "k": int(result.k),
        "loss": float(result.loss),
        "realized_loss": None if result.realized_loss is None else float(result.realized_loss),
        "even": bool(result.is_even),
        "blocks": "+".join(f"{c}x({nb},{db})" for (nb, db), c in sizes.items()),
    }


# --------------------------------------------------------------------------- built-in tasks

#: Tasks registered when their module exists (helpers add theirs on other branches): name -> (module,
#: function name, summary). A module that is not there yet is skipped silently.
OPTIONAL_TASKS = {
    "predict_geometry": ("packing.theory", "predict_geometry", None),
    "train_monosemanticity_model": ("packing.train", "train_monosemanticity_model", None),
    "train_sae": ("packing.sae", "train_sae", None),
}
_BUILTINS_DONE = False


def _register_builtins() -> None:
    global _BUILTINS_DONE
    if _BUILTINS_DONE:
        return
    _BUILTINS_DONE = True
    from ..optimize import optimize_packing
    from ..partition import optimal_partition
    from ..train import train_toy_model

    for name, fn, summary in (
        ("train_toy_model", train_toy_model, toy_summary),
        ("optimize_packing", optimize_packing, packing_summary),
        ("optimal_partition", optimal_partition, partition_summary),
    ):
        if name not in _TASKS:
            register_task(name, fn, summarize=summary)
    for name, (module, attr, summary) in OPTIONAL_TASKS.items():
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        if name not in _TASKS:
            register_task(name, fn, summarize=summary)
