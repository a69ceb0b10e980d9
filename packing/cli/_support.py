"""What every subcommand shares: reading packing files, writing results, strict JSON output, progress."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from .._files import as_path
from ..io import (
    ArrayKeyError,
    MissingDependencyError,
    PackingFileNotFoundError,
)
from ._errors import CLIError, _one_line

# ============================================================================ files


def _cli_path(text: str, option: str) -> Path:
    """``text`` as a Path, or a one-line error for a path the OS refuses (a name over 255 bytes, a NUL)."""
    try:
        return as_path(text, option)
    except (TypeError, ValueError) as exc:
        raise CLIError(" ".join(str(exc).split()), "file") from None


def _check_readable(path_text: str, option: str = "FILE") -> Path:
    """Refuse a missing, unreadable or directory path with a one-line file error."""
    path = _cli_path(path_text, option)
    if not path.exists():
        raise CLIError(f"{option} {path_text!r} does not exist.", "file")
    if path.is_dir():
        raise CLIError(f"{option} {path_text!r} is a directory, not a file.", "file")
    if not os.access(path, os.R_OK):
        raise CLIError(f"{option} {path_text!r} is not readable (permission denied).", "file")
    return path


def _load(args) -> np.ndarray:
    """Load ``args.file`` as ``load_packing`` does (``--key``, ``--layout``); classify every failure."""
    from ..io import load_packing

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


def _out_path(text: str, option: str = "--out", *, suffix: str | None = ".npz") -> Path:
    """Check an output path before the work starts: a file in an existing, writable folder.

    ``suffix``: the ending the file must have (``.npz``, a result file), or ``None`` for any.
    """
    path = _cli_path(text, option)
    if suffix is not None and path.suffix != suffix:
        raise CLIError(f"{option} must end in {suffix} (a result file); got {text!r}.", "value")
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
