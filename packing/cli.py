"""The ``packing`` command: every job of the toolkit from the shell.

Run ``packing --help`` (or ``python -m packing --help``) for the list of
subcommands and ``packing CMD --help`` for each one's options. A packing file is
a weight matrix with one ROW per feature (``--layout hidden_by_features`` reads
a PyTorch ``nn.Linear`` weight, one column per feature); ``--key`` picks an
array inside a multi-array file and ``--instance I`` one packing of a batch.

Output
    Plain text by default; ``--json`` prints strict JSON (no ``NaN`` or
    ``Infinity`` literals: a non-finite number is written as the string
    ``"inf"``, ``"-inf"`` or ``"nan"``). Results written with ``--out`` are in
    the toolkit's result format: :func:`packing.load_result` reads the whole
    result back (with its configuration and seed), :func:`packing.load_packing`
    its packing.
Progress
    Long work (training, the optimizer, optimizer-cost partitions, figures)
    shows a progress bar with an ETA on standard error when it is a terminal;
    ``--quiet`` turns it off.
Errors
    Every error is one line on standard error, ``packing CMD: error: ...``,
    naming the option as it was typed, with an exit status that says what kind
    of error it was (:data:`EXIT_CODES`); ``--debug`` also prints the traceback.

    ===  ==========================================================================
    0    success
    2    usage: unknown option, missing argument, a value that is not a number
    3    bad value: a number or name the toolkit refuses (out of range, too large
         to represent, unknown key)
    4    file not found, unreadable, a directory, or ``--out`` not writable
    5    bad file content: empty, truncated, not an array file, mislabelled,
         no packing inside
    6    resource limit: the job would need more memory than is available
    7    not available in this installation (an optional package or feature)
    8    the computation failed (training diverged, a figure driver failed)
    70   internal error (a bug: please report it with the ``--debug`` output)
    130  interrupted (Ctrl-C)
    ===  ==========================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import __version__
from .io import (
    _LAYOUTS,  # the layouts load_packing accepts: --layout offers exactly these
    ArrayKeyError,
    MissingDependencyError,
    PackingFileNotFoundError,
)

__all__: list[str] = []  # the entry point is packing.cli:main, not a library function

#: Exit status of each kind of outcome (see the module docstring).
EXIT_CODES = {
    "ok": 0,
    "usage": 2,
    "value": 3,
    "file": 4,
    "content": 5,
    "resource": 6,
    "unavailable": 7,
    "failed": 8,
    "internal": 70,
    "interrupted": 130,
}

_JSON_RULE = 'non-finite numbers are written as the strings "inf", "-inf" and "nan"'


class CLIError(Exception):
    """An error the command line reports as one line with the exit status of its ``kind``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


# ============================================================================ parsing


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one-line :class:`CLIError` instead of usage + exit."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')", "usage")


def _float(text: str) -> float:
    """Parse a real number, ``inf`` allowed (the library decides what it accepts)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (or inf); got {text!r}") from None


def _floats(text: str) -> list[float]:
    """Comma-separated numbers, e.g. ``1,2,4,inf``."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers or inf; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number; got {text!r}")
    return values


def _seed(text: str) -> int:
    """Parse a random seed: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0; got {value}")
    return value


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help=f"print strict JSON ({_JSON_RULE})")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return common


def _file_options() -> argparse.ArgumentParser:
    files = _Parser(add_help=False)
    files.add_argument("file", metavar="FILE", help="the packing: a weight array file, one row per feature")
    files.add_argument(
        "--key",
        default=None,
        help="name of the array inside a multi-array file (default: 'W', or the only array)",
    )
    files.add_argument(
        "--layout",
        default=None,
        choices=_LAYOUTS,
        help="how the file stores it: 'features_by_hidden' (rows are features, this toolkit's W; "
        "the default) or 'hidden_by_features' (columns are features, e.g. a torch nn.Linear weight "
        "of shape (d, n))",
    )
    files.add_argument(
        "--instance",
        type=int,
        default=None,
        metavar="I",
        help="for a batch of shape (instances, n, d): the instance to use, 0 <= I < instances",
    )
    return files


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``packing`` command (every subcommand and option)."""
    common, files = _common(), _file_options()
    parser = _Parser(
        prog="packing",
        description="The geometry of feature packings: statistics, bounds, records, the optimizer, "
        "optimal partitions, toy-model training, structure, comparisons and figures.",
        epilog="Exit status: 0 ok, 2 usage, 3 bad value, 4 file not found or unreadable, 5 bad file "
        "content, 6 resource limit, 7 not available, 8 computation failed, 70 internal error, "
        "130 interrupted. Errors are one line on stderr; --debug adds the traceback.",
    )
    parser.add_argument("--version", action="version", version=f"packing {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def add(name, help_text, parents, description=None):
        return sub.add_parser(name, help=help_text, description=description or help_text, parents=parents)

    st = add("stats", "interference statistics of a saved packing", [files, common])
    st.add_argument(
        "--p", type=_floats, default=[1.0, 2.0, 4.0, math.inf], help="moment orders, e.g. 1,2,4,inf"
    )
    st.add_argument("--atol", type=_float, default=None, help="|cos| below this counts as orthogonal")

    bd = add("bounds", "coherence lower bounds for N lines in R^D", [common])
    bd.add_argument("n", type=int, metavar="N", help="number of lines (>= 1)")
    bd.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    bd.add_argument("--lp", action="store_true", help="also solve the certified Delsarte LP bound (slower)")

    bk = add(
        "best-known",
        "the best known coherence of N lines in R^D (Sloane's and Cohn's tables, shipped with the package)",
        [common],
    )
    bk.add_argument("n", type=int, metavar="N", help="number of lines")
    bk.add_argument("d", type=int, metavar="D", help="dimension")
    bk.add_argument(
        "--export",
        metavar="FILE",
        default=None,
        help="write the record packing to FILE (needs packing.export_packing)",
    )

    pk = add("pack", "search for N lines in R^D with small coherence (or p-frame potential)", [common])
    pk.add_argument("n", type=int, metavar="N", help="number of lines (>= 1)")
    pk.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    pk.add_argument("--p", type=_float, default=math.inf, help="order: inf (coherence, default) or p > 0")
    pk.add_argument("--budget", type=_float, default=None, help="seconds (default 10 for p=inf, 2 otherwise)")
    pk.add_argument("--restarts", type=int, default=None, help="cap on the number of starts")
    pk.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    pk.add_argument("--method", default="smooth", choices=("smooth", "ap", "auto"), help="local search")
    pk.add_argument("--out", required=True, metavar="FILE", help="result file (.npz)")

    pt = add("partition", "optimal partition of N features and D dims into orthogonal blocks", [common])
    pt.add_argument("n", type=int, metavar="N", help="number of features (>= 1)")
    pt.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    pt.add_argument("--p", type=_float, required=True, help="moment order p > 0, or inf")
    pt.add_argument(
        "--cost",
        default="welch",
        choices=("welch", "known", "optimizer"),
        help="block losses: Welch ideal (default), exact known packings, or the optimizer per block",
    )
    pt.add_argument(
        "--budget", type=_float, default=None, help="seconds per optimizer call (--cost optimizer)"
    )
    pt.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    pt.add_argument(
        "--out", default=None, metavar="FILE", help="also write the block-diagonal packing (.npz)"
    )

    tr = add("train", "train toy models of superposition (numpy) and save the learned weights", [common])
    tr.add_argument(
        "--model",
        default="relu",
        choices=("relu", "linear", "abs"),
        help="x' = ReLU(x W Wᵀ + b) (relu), x W Wᵀ + b (linear), or the |x| computation model (abs)",
    )
    tr.add_argument("--n-features", type=int, required=True, metavar="N", help="number of features")
    tr.add_argument("--d", type=int, required=True, metavar="D", help="hidden dimensions (neurons for abs)")
    tr.add_argument(
        "--sparsity",
        type=_float,
        nargs="+",
        default=None,
        metavar="S",
        help="probability a feature is ZERO; several values train one instance each",
    )
    tr.add_argument("--density", type=_float, nargs="+", default=None, metavar="P", help="1 - sparsity")
    tr.add_argument("--importance", type=_float, default=1.0, help="importance of every feature (default 1)")
    tr.add_argument(
        "--importance-decay",
        type=_float,
        default=None,
        metavar="R",
        help="importance R**i of feature i instead (e.g. 0.9)",
    )
    tr.add_argument("--steps", type=int, default=10_000, help="optimizer steps (default 10000)")
    tr.add_argument("--batch-size", type=int, default=1024, help="batch size (default 1024)")
    tr.add_argument("--lr", type=_float, default=1e-3, help="learning rate (default 1e-3)")
    tr.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd"), help="default adam")
    tr.add_argument(
        "--schedule",
        default="constant",
        choices=("constant", "linear", "cosine"),
        help="learning-rate schedule",
    )
    tr.add_argument("--weight-decay", type=_float, default=0.0, help="default 0")
    tr.add_argument(
        "--n-seeds", type=int, default=1, help="train this many seeds per instance, keep the best"
    )
    tr.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32")
    tr.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    tr.add_argument("--out", required=True, metavar="FILE", help="result file (.npz)")
    tr.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="save a checkpoint there while training and resume from it if it exists "
        "(needs a trainer with checkpoints)",
    )
    tr.add_argument(
        "--checkpoint-every", type=int, default=None, metavar="K", help="steps between checkpoints"
    )

    an = add(
        "analyze", "structure of a learned packing: tegum factors, shapes, orthogonal sets", [files, common]
    )
    an.add_argument("--atol", type=_float, default=None, help="|cos| above this links two features")
    an.add_argument(
        "--norm-threshold", type=_float, default=None, help="rows at or below this norm are dropped"
    )

    cp = add("compare", "a learned packing side by side with the packings theory predicts", [files, common])
    cp.add_argument("--p", type=_floats, default=None, help="moment orders of the table, e.g. 1,2,4,inf")
    cp.add_argument("--budget", type=_float, default=1.0, help="optimizer seconds per reference packing")
    cp.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")

    fg = add("figures", "draw the project's figures (PNG and PDF) into a folder", [common])
    fg.add_argument("--only", nargs="+", default=None, metavar="NAME", help="figure names (see --list)")
    fg.add_argument("--quick", action="store_true", help="tiny sizes: seconds per figure, for a smoke test")
    fg.add_argument("--force", action="store_true", help="recompute cached results")
    fg.add_argument("--out", default="figures", metavar="DIR", help="output folder (default: figures)")
    fg.add_argument("--seed", type=_seed, default=0, help="base random seed (default 0)")
    fg.add_argument("--list", action="store_true", help="list the figures and what they reproduce")
    return parser


# ============================================================================ errors


#: Library argument names that a subcommand's option passes on under another name.
_ALIASES = {"ps": "p", "optimizer_budget": "budget", "path": "file"}


def _displays(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Return ``{library argument name: option as typed}`` for one subcommand's options."""
    out = {}
    for action in parser._actions:  # noqa: SLF001 (argparse has no public list of actions)
        if action.dest in ("help", argparse.SUPPRESS):
            continue
        long = [s for s in action.option_strings if s.startswith("--")]
        out[action.dest] = long[0] if long else (action.metavar or action.dest.upper())
    out.update({name: out[dest] for name, dest in _ALIASES.items() if dest in out})
    return out


_LEADING_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\b")


def _blame(message: str, names: dict[str, str]) -> str:
    """Rewrite a library message that starts with its argument name so that it names the option instead.

    ``"budget must be > 0.0; got 0.0."`` becomes ``"--budget must be > 0.0; got 0.0."``.
    """
    match = _LEADING_NAME.match(message)
    if match and match.group(1) in names:
        return names[match.group(1)] + message[match.end() :]
    return message


def _huge(args, names: dict[str, str]) -> str:
    """Name the integer options beyond the 64-bit range (the usual cause of an OverflowError)."""
    big = [
        f"{names.get(k, k)} ({len(str(abs(v)))} digits)"
        for k, v in vars(args).items()
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**63
    ]
    return (", ".join(big) + (" is" if len(big) == 1 else " are")) if big else "a number is"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _classify(exc: BaseException) -> str:
    """Return the exit-status kind of an exception raised by the library (outside file loading)."""
    from .train import TrainingDivergedError

    if isinstance(exc, CLIError):
        return exc.kind
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, MemoryError) or type(exc).__name__ in ("ResourceLimitError", "SizeLimitError"):
        return "resource"
    if isinstance(exc, TrainingDivergedError | FloatingPointError):
        return "failed"
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        return "file"
    if isinstance(exc, ValueError | TypeError | OverflowError):
        return "value"
    return "internal"


# ============================================================================ files


def _check_readable(path_text: str, option: str = "FILE") -> Path:
    """Refuse a missing, unreadable or directory path with a one-line file error."""
    path = Path(path_text)
    if not path.exists():
        raise CLIError(f"{option} {path_text!r} does not exist.", "file")
    if path.is_dir():
        raise CLIError(f"{option} {path_text!r} is a directory, not a file.", "file")
    if not os.access(path, os.R_OK):
        raise CLIError(f"{option} {path_text!r} is not readable (permission denied).", "file")
    return path


def _load(args) -> np.ndarray:
    """Load ``args.file`` as ``load_packing`` does (``--key``, ``--layout``); classify every failure."""
    from .io import load_packing

    path = _check_readable(args.file)
    options = {"key": args.key}
    if args.layout is not None:
        options["layout"] = args.layout
    try:
        return load_packing(path, **options)
    except MemoryError:
        raise CLIError(f"FILE {args.file!r} is too large to load into memory.", "resource") from None
    except (PackingFileNotFoundError, OSError) as exc:  # gone since the check, or unreadable after all
        raise CLIError(f"FILE {args.file!r} could not be read: {_one_line(exc)}", "file") from None
    except MissingDependencyError as exc:  # e.g. a .pt file without torch installed
        raise CLIError(f"FILE {args.file!r}: {_one_line(exc)}", "unavailable") from None
    except (ArrayKeyError, KeyError) as exc:
        message = _one_line(exc)
        message = "--" + message if message.startswith("key") else f"--key {args.key!r}: {message}"
        raise CLIError(message, "value") from None
    except Exception as exc:  # anything else is in the file's content
        message = _one_line(exc)
        raise CLIError(f"FILE {args.file!r} holds no readable packing: {message}", "content") from None


def _packing(args, *, batch: bool = False) -> np.ndarray:
    """Return the packing of ``args.file``: ``(n, d)``, one instance, or (``batch``) the whole batch."""
    W = _load(args)
    if W.ndim == 3:
        if args.instance is None:
            if batch:
                return W
            raise CLIError(
                f"FILE {args.file!r} holds {W.shape[0]} instances of shape {W.shape[1:]}; "
                "pick one with --instance I.",
                "value",
            )
        if not 0 <= args.instance < W.shape[0]:
            raise CLIError(
                f"--instance must be in 0..{W.shape[0] - 1} (FILE holds {W.shape[0]} instances); "
                f"got {args.instance}.",
                "value",
            )
        return W[args.instance]
    if args.instance is not None:
        raise CLIError(
            f"--instance needs a file of shape (instances, n, d); FILE {args.file!r} holds one packing "
            f"of shape {W.shape}.",
            "value",
        )
    return W


def _out_path(text: str, option: str = "--out") -> Path:
    """Check an output path before the work starts: a ``.npz`` file in an existing, writable folder."""
    path = Path(text)
    if path.suffix != ".npz":
        raise CLIError(f"{option} must end in .npz (a result file); got {text!r}.", "value")
    if path.is_dir():
        raise CLIError(f"{option} {text!r} is a directory, not a file.", "file")
    folder = path.parent
    if not folder.is_dir():
        raise CLIError(f"{option} {text!r}: the folder {str(folder)!r} does not exist.", "file")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{option} {text!r}: the folder {str(folder)!r} is not writable.", "file")
    return path


def _write_result(path: Path, result) -> Path:
    """Write a result object to ``path`` in the toolkit's result format (``result.save``), atomically.

    The file holds every field of the result, its full configuration, seed,
    package version and creation time (:func:`packing.save_result`); it loads
    back with :func:`packing.load_result` (the whole result) or
    :func:`packing.load_packing` (its packing).
    """
    try:
        return result.save(path)
    except OSError as exc:
        raise CLIError(f"--out {str(path)!r} could not be written: {_one_line(exc)}", "file") from None


# ============================================================================ output


def _plain(value):
    """``value`` as strict-JSON data: non-finite floats become ``"inf"``, ``"-inf"`` or ``"nan"``."""
    if isinstance(value, dict):
        return {str(k if not isinstance(k, float) else _number_key(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, type):
        return value.__name__
    return str(value)


def _number_key(p: float) -> str:
    return "inf" if math.isinf(p) and p > 0 else f"{p:g}"


def _emit(out: dict, args, text: str | None = None) -> None:
    """Print ``out`` as strict JSON (``--json``), or ``text``, or as aligned ``key: value`` lines."""
    if args.json:
        print(json.dumps(_plain(out), indent=2, allow_nan=False, ensure_ascii=False))
    elif text is not None:
        print(text)
    else:
        width = max((len(k) for k in out), default=0)
        for key, value in out.items():
            print(f"{key:>{width}}: {_plain(value)}")


def _progress(args):
    return False if args.quiet else "auto"


# ============================================================================ subcommands


def _cmd_stats(args) -> dict:
    from .bounds import lower_bound
    from .geometry import capacity, pairwise_statistics

    W = _packing(args)
    n, d = W.shape
    s = pairwise_statistics(W, p=args.p, atol=args.atol)
    lb, name = lower_bound(n, d, return_name=True) if n > 1 else (0.0, "none")
    C = capacity(W)
    out = {
        "n": n,
        "d": d,
        "pairs": s.n_pairs,
        "moments": {_number_key(p): v for p, v in s.moments.items()},
        "coherence": s.coherence,
        "coherent_pair": list(s.coherent_pair) if s.coherent_pair else None,
        "orthogonal_pairs": s.orthogonal_pairs,
        "atol": s.atol,
        "lower_bound": lb,
        "lower_bound_name": name,
        "capacity_sum": float(C.sum()),
    }
    _emit(out, args)
    return out


def _cmd_bounds(args) -> dict:
    from .bounds import bound_table, lower_bound

    best, name = lower_bound(args.n, args.d, lp=args.lp, return_name=True)
    out = {"n": args.n, "d": args.d, "bounds": bound_table(args.n, args.d), "best": best, "best_name": name}
    if args.lp:
        from .bounds import lp_bound

        out["bounds"]["lp"] = lp_bound(args.n, args.d)
    _emit(out, args)
    return out


def _cmd_best_known(args) -> dict:
    from .reference import best_known

    entry = best_known(args.n, args.d)
    if entry is None:
        out = {"n": args.n, "d": args.d, "tabulated": False}
        text = f"no tabulated value for {args.n} lines in R^{args.d} (the table covers d = 3..5, n <= 40)"
    else:
        out = {
            "n": entry.n,
            "d": entry.d,
            "tabulated": True,
            "coherence": entry.coherence,
            "angle_deg": entry.angle_deg,
            "proven_optimal": entry.proven_optimal,
            "source": entry.source,
        }
        text = None
    if args.export is not None:
        out["exported"] = str(_export(args, entry))
    _emit(out, args, None if args.json or text is None else text)
    return out


def _export(args, entry) -> Path:
    """EXPORT HOOK: write the record packing with ``packing.export_packing`` (another branch writes it).

    Until that function exists, ``--export`` fails with exit status 7 ("not
    available"); no file format is invented here.
    """
    import packing

    export = getattr(packing, "export_packing", None)
    if export is None:
        raise CLIError(
            "--export is not available in this version: it needs packing.export_packing, which this "
            "installation does not have.",
            "unavailable",
        )
    if entry is None:
        raise CLIError(f"--export: no tabulated packing of {args.n} lines in R^{args.d} to export.", "value")
    return Path(export(args.n, args.d, args.export))


def _cmd_pack(args) -> dict:
    from .optimize import optimize_packing

    path = _out_path(args.out)
    res = optimize_packing(
        args.n,
        args.d,
        p=args.p,
        rng=args.rng,
        budget=args.budget,
        restarts=args.restarts,
        method=args.method,
        progress=_progress(args),
    )  # Ctrl-C returns the best packing so far (stopping_reason "interrupted"): it is written, then 130
    summary = {
        "objective": res.objective,
        "coherence": res.coherence,
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        "p": res.p,
        "restarts": res.restarts,
        "iterations": res.iterations,
        "time": res.time,
        "stopping_reason": res.stopping_reason,
    }
    _write_result(path, res)
    out = {"n": args.n, "d": args.d, **summary, "out": str(path)}
    _emit(out, args)
    _stop_if_interrupted(res, path)
    return out


def _stop_if_interrupted(result, path: Path) -> None:
    """After writing a result cut short by Ctrl-C, exit with the interrupted status all the same."""
    if getattr(result, "stopping_reason", None) == "interrupted":
        raise CLIError(f"interrupted; the best result so far was written to {str(path)!r}.", "interrupted")


def _cmd_partition(args) -> dict:
    from .partition import optimal_partition

    path = None if args.out is None else _out_path(args.out)
    res = optimal_partition(
        args.n,
        args.d,
        args.p,
        cost=args.cost,
        budget=args.budget,
        rng=args.rng,
        build=path is not None,
        progress=_progress(args),
    )
    out = {
        "n": res.n,
        "d": res.d,
        "p": res.p,
        "cost": res.cost,
        "k": res.k,
        "blocks": [list(b) for b in res.blocks],
        "block_losses": res.block_losses,
        "loss": res.loss,
        "even": res.is_even,
    }
    if path is not None:
        out["realized_loss"] = res.realized_loss
        out["exact_blocks"] = res.exact_blocks
        _write_result(path, res)
        out["out"] = str(path)
    _emit(out, args)
    return out


def _cmd_train(args) -> dict:
    from .train import train_abs_model, train_toy_model

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
    from ._validation import check_float, check_int

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
    from .structure import analyze_structure

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
    from .compare import compare_packings

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
    from .figures import FIGURES, make_figures, resolve_figures

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
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {args.out!r} is a file, not a folder.", "file")
    from ._progress import echo

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


_COMMANDS: dict[str, Callable] = {
    "stats": _cmd_stats,
    "bounds": _cmd_bounds,
    "best-known": _cmd_best_known,
    "pack": _cmd_pack,
    "partition": _cmd_partition,
    "train": _cmd_train,
    "analyze": _cmd_analyze,
    "compare": _cmd_compare,
    "figures": _cmd_figures,
}


# ============================================================================ main


class _Reported(Exception):
    """The error lines are already printed; exit with the status of ``kind``."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _error_line(command: str | None, message: str) -> None:
    prog = "packing" if command is None else f"packing {command}"
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr)


@contextlib.contextmanager
def _one_line_warnings(command: str):
    """Show every warning as one line ``packing CMD: warning: ...`` on stderr."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"packing {command}: warning: {_one_line(message)} [{category.__name__}]", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run the ``packing`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    debug = "--debug" in argv
    command = next((a for a in argv if a in _COMMANDS), None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version print and exit 0
        return int(exc.code or 0)
    except CLIError as exc:
        _error_line(command, str(exc))
        return EXIT_CODES["usage"]
    except KeyboardInterrupt:
        _error_line(command, "interrupted")
        return EXIT_CODES["interrupted"]
    command = args.command
    names = _displays(parser._subparsers._group_actions[0].choices[command])  # noqa: SLF001
    try:
        with _one_line_warnings(command):
            _COMMANDS[command](args)
    except _Reported as exc:
        return EXIT_CODES[exc.kind]
    except (Exception, KeyboardInterrupt) as exc:
        kind = _classify(exc)
        if debug:
            traceback.print_exc()
        if kind == "interrupted":
            message = str(exc) if isinstance(exc, CLIError) else "interrupted"
        elif kind == "internal":
            message = (
                f"internal error: {type(exc).__name__}: {_one_line(exc)} (a bug: run again with --debug "
                "for the traceback and report it)"
            )
        elif kind == "resource":
            message = f"{_blame(_one_line(exc), names)} (not enough memory: try smaller sizes)"
        elif kind == "value" and isinstance(exc, OverflowError):
            message = f"{_huge(args, names)} too large to represent ({_one_line(exc)})"
        else:
            message = _blame(_one_line(exc), names)
        _error_line(command, message)
        return EXIT_CODES[kind]
    return 0


if __name__ == "__main__":
    sys.exit(main())
