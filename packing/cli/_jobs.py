"""Subcommands that run jobs: train, analyze, compare, figures, sweep; and the table of every subcommand."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._commands import (
    _cmd_best_known,
    _cmd_bounds,
    _cmd_certify,
    _cmd_info,
    _cmd_pack,
    _cmd_partition,
    _cmd_stats,
    _stop_if_interrupted,
)
from ._errors import CLIError, _error_line, _one_line, _Reported
from ._support import (
    _check_readable,
    _cli_path,
    _emit,
    _number_key,
    _out_path,
    _packing,
    _progress,
    _write_result,
)


def _cmd_train(args) -> dict:
    from ..train import train_abs_model, train_toy_model

    path = _out_path(args.out)
    trainer = train_abs_model if args.model == "abs" else train_toy_model
    options = dict(
        n_features=args.n_features,
        d=args.d,
        sparsity=_per_instance(args.sparsity),
        density=_per_instance(args.density),
        importance=_importance(args),
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        schedule=args.schedule,
        weight_decay=args.weight_decay,
        dtype=np.dtype(args.dtype).type,
        rng=args.rng,
        progress=_progress(args),
    )
    if args.model != "abs":
        options.update(model=args.model, n_seeds=args.n_seeds)
    elif args.n_seeds != 1:
        raise CLIError(
            "--n-seeds is not available with --model abs (it trains one seed per instance).", "value"
        )
    if args.checkpoint is not None or args.checkpoint_every is not None:
        options.update(_checkpoint_options(trainer, args))
    res = trainer(**options)
    history = res.loss_history
    summary = {
        "model": args.model,
        "instances": int(history.shape[1]),
        "steps_done": int(history.shape[0]),
        "final_loss": history[-1] if len(history) else None,
        "stopping_reason": getattr(res, "stopping_reason", "completed"),
        "seconds": res.seconds,
    }
    if args.model == "abs":
        summary["W1_shape"] = list(res.W1.shape)
    else:
        summary["W_shape"] = list(res.W.shape)
        summary["eval_loss"] = res.eval_loss
    _write_result(path, res)
    out = {**summary, "out": str(path)}
    _emit(out, args)
    _stop_if_interrupted(res, path)
    return out


def _per_instance(values):
    """One value: a scalar for every instance; several: one instance each."""
    if values is None:
        return None
    return values[0] if len(values) == 1 else np.asarray(values)


def _importance(args):
    """Return ``--importance``, times ``R**i`` for feature ``i`` with ``--importance-decay R``."""
    if args.importance_decay is None:
        return args.importance
    from .._validation import check_float, check_int

    rate = check_float(args.importance_decay, "--importance-decay", minimum=0.0, strict_min=True)
    n = check_int(args.n_features, "--n-features")
    return args.importance * rate ** np.arange(n, dtype=float)


def _checkpoint_options(trainer: Callable, args) -> dict:
    """CHECKPOINT HOOK: ``checkpoint=`` and ``checkpoint_every=`` for trainers that have them (io-results)."""
    params = inspect.signature(trainer).parameters
    if "checkpoint" not in params:
        raise CLIError(
            f"--checkpoint is not available in this version: {trainer.__name__} takes no checkpoint "
            "argument yet.",
            "unavailable",
        )
    options = {"checkpoint": args.checkpoint}
    if args.checkpoint_every is not None:
        options["checkpoint_every"] = args.checkpoint_every
    return options


def _cmd_analyze(args) -> dict:
    from ..structure import analyze_structure

    W = _packing(args, batch=True)
    options = {}
    if args.atol is not None:
        options["atol"] = args.atol
    if args.norm_threshold is not None:
        options["norm_threshold"] = args.norm_threshold
    batch = W if W.ndim == 3 else W[None]
    first = 0 if args.instance is None else args.instance
    reports = [(first + i, analyze_structure(Wi, **options)) for i, Wi in enumerate(batch)]
    records = [_report_record(i, r) for i, r in reports]
    out = {"instances": records} if W.ndim == 3 else records[0]
    if W.ndim == 3:
        text = "\n".join(f"--- instance {i}\n{r.summary()}" for i, r in reports)
    else:
        text = reports[0][1].summary()
    _emit(out, args, text)
    return out


def _report_record(instance: int, report) -> dict:
    tf, o = report.factors, report.orthogonal
    return {
        "instance": instance,
        "n": tf.n,
        "d": tf.d,
        "description": report.description,
        "dropped": tf.dropped,
        "block_orthogonal": tf.block_orthogonal,
        "cross_overlap": tf.cross_overlap,
        "factors": [
            {
                "features": f,
                "shape": s.label,
                "nearest": s.nearest,
                "residual": s.residual,
                "dim": c.dim,
                "capacity": c.total,
            }
            for f, s, c in zip(tf.factors, report.shapes, report.capacities, strict=True)
        ],
        "orthogonal_pairs": o.orthogonal_pairs,
        "turan_bound": o.turan_bound,
        "largest_orthogonal_set": o.largest,
        "ambiguous": report.ambiguous,
    }


def _cmd_compare(args) -> dict:
    from ..compare import compare_packings

    W = _packing(args, batch=True)
    options = {"optimizer_budget": args.budget, "rng": args.rng}
    if args.p is not None:
        options["ps"] = tuple(args.p)
    cmp = compare_packings(W, **options)
    out = {
        "ps": [_number_key(p) for p in cmp.ps],
        "rows": cmp.records(),
        "predicted_p": {str(k): [_number_key(p) for p in v] for k, v in cmp.predicted_p.items()},
        "tied_p": {str(k): [_number_key(p) for p in v] for k, v in cmp.tied_p.items()},
    }
    _emit(out, args, cmp.to_text())
    return out


def _cmd_figures(args) -> dict:
    from ..figures import FIGURES, make_figures, resolve_figures

    if args.list:
        out = {name: {"outputs": list(f.outputs), "reproduces": f.source} for name, f in FIGURES.items()}
        text = "\n".join(
            f"{name:<26} {', '.join(f.outputs)}\n{'':<26} {f.source}" for name, f in FIGURES.items()
        )
        _emit(out, args, text)
        return out
    try:
        names = resolve_figures(args.only)
    except ValueError as exc:
        raise CLIError(_one_line(exc).replace("only must", "--only must", 1), "value") from None
    out_dir = _cli_path(args.out, "--out")
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {args.out!r} is a file, not a folder.", "file")
    from .._progress import echo

    def report(outcome):
        if outcome.error is not None:
            return
        if not args.json:
            for path in outcome.paths:
                echo(f"{outcome.name}: wrote {path}")
            echo(f"{outcome.name}: {outcome.seconds:.1f} s")

    outcomes = make_figures(
        out_dir,
        only=names,
        quick=args.quick,
        force=args.force,
        seed=args.seed,
        progress=_progress(args),
        keep_going=True,
        report=report,
    )
    out = {
        o.name: {
            "paths": o.paths,
            "seconds": o.seconds,
            "error": None if o.error is None else _one_line(o.error),
        }
        for o in outcomes
    }
    if args.json:
        _emit(out, args)
    failed = [o for o in outcomes if o.error is not None]
    for o in failed:
        if args.debug:
            traceback.print_exception(o.error)
        _error_line(args.command, f"figure {o.name} failed: {type(o.error).__name__}: {_one_line(o.error)}")
    if failed:
        raise _Reported("failed")
    return out


def _cmd_sweep(args) -> dict:
    from ..sweep import read_grid, sweep, sweep_tasks

    if args.list:
        tasks = sweep_tasks()
        out = {}
        for name, task in tasks.items():
            params, open_ended = task.parameters()
            out[name] = {"parameters": list(params) + (["..."] if open_ended else []), "seed": task.seed_arg}
        text = "\n".join(f"{name:<28} {', '.join(info['parameters'])}" for name, info in out.items())
        _emit(out, args, text)
        return out
    if args.task is None or args.grid is None:
        raise CLIError("TASK and GRID are required (or --list to see the tasks)", "usage")
    grid = _read_grid(args.grid, read_grid)
    out_path = None if args.out is None else _table_path(args.out)
    try:
        table = sweep(
            args.task,
            grid,
            seeds=args.seed_list if args.seed_list is not None else args.seeds,
            cache_dir=args.cache_dir,
            n_jobs=args.jobs,
            chunk_size=args.chunk_size,
            client=args.scheduler,
            progress=_progress(args),
        )
    except FileNotFoundError as exc:
        raise CLIError(_one_line(exc).replace("cache_dir", "--cache-dir", 1), "file") from None
    except ValueError as exc:
        if type(exc).__name__ == "PackingFileError":  # a cache folder that cannot be written
            raise CLIError(_one_line(exc).replace("cache_dir", "--cache-dir", 1), "file") from None
        raise
    except Exception as exc:
        if type(exc).__name__ == "SweepError":  # the message names the task, cell and the task's error
            kind = "value" if exc.error in ("ValueError", "TypeError") else "failed"
            raise CLIError(_one_line(exc), kind) from None
        raise
    attrs = table.attrs
    shown = table.drop(columns=["key", "path"])
    if out_path is not None:
        from ..io import atomic_write

        with atomic_write(out_path, text=True) as fh:
            table.to_csv(fh, index=False)
    keys = ("task", "cells", "computed", "cached", "recomputed", "seconds", "cache_dir")
    summary = {k: attrs[k] for k in keys}
    out = {**summary, "rows": table.to_dict(orient="records")}
    if out_path is not None:
        out["out"] = str(out_path)
    text = (
        f"{shown.to_string(index=False)}\n{attrs['cells']} cells of {attrs['task']}: "
        f"{attrs['computed']} computed, {attrs['cached']} cached, {attrs['recomputed']} recomputed "
        f"in {attrs['seconds']:.1f} s; "
        f"cache {attrs['cache_dir']}" + (f"; table written to {out_path}" if out_path is not None else "")
    )
    _emit(out, args, text)
    return out


def _read_grid(text: str, read_grid: Callable):
    """Read GRID; a missing file is a file error, unreadable content a content error."""
    from ..io import CorruptFileError

    path = _check_readable(text, "GRID")
    try:
        return read_grid(path)
    except CorruptFileError as exc:
        raise CLIError(_one_line(exc), "content") from None
    except ValueError as exc:  # a suffix other than .toml / .json
        raise CLIError(_one_line(exc).replace("path", "GRID", 1), "value") from None


def _table_path(text: str) -> Path:
    """Check ``--out`` of a sweep: a ``.csv`` file in an existing folder."""
    path = _cli_path(text, "--out")
    if path.suffix.lower() != ".csv":
        raise CLIError(f"--out must end in .csv (the table); got {text!r}.", "value")
    if path.is_dir() or not path.parent.is_dir():
        raise CLIError(f"--out {text!r}: not a file in an existing folder.", "file")
    return path


_COMMANDS: dict[str, Callable] = {
    "info": _cmd_info,
    "stats": _cmd_stats,
    "bounds": _cmd_bounds,
    "best-known": _cmd_best_known,
    "certify": _cmd_certify,
    "pack": _cmd_pack,
    "partition": _cmd_partition,
    "train": _cmd_train,
    "analyze": _cmd_analyze,
    "compare": _cmd_compare,
    "figures": _cmd_figures,
    "sweep": _cmd_sweep,
}
