"""The command line's error model: exit codes, :class:`CLIError`, and how an exception becomes one line."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings

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


# ============================================================================ errors


#: Library argument names that a subcommand's option passes on under another name.
_ALIASES = {
    "ps": "p",
    "optimizer_budget": "budget",
    "path": "file",
    "client": "scheduler",
    "n_jobs": "jobs",
}


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
#: ``name=`` inside the call a size guard shows: ``train_toy_model(n_features=4, steps=10**12)``.
_CALL_KEYWORD = re.compile(r"(?<=[(,] )([A-Za-z_][A-Za-z0-9_]*)=|(?<=\()([A-Za-z_][A-Za-z0-9_]*)=")


def _blame(message: str, names: dict[str, str]) -> str:
    """Rewrite a library message so that it names the options instead of the library's arguments.

    ``"budget must be > 0.0; got 0.0."`` becomes ``"--budget must be > 0.0; got 0.0."``, and
    the sizes of a refused call, ``"train_toy_model(n_features=5, steps=...) would need ..."``,
    become ``"train_toy_model(--n-features=5, --steps=...) would need ..."``.
    """
    match = _LEADING_NAME.match(message)
    if match and match.group(1) in names:
        message = names[match.group(1)] + message[match.end() :]

    def option(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return f"{names[name]}=" if name in names else m.group(0)

    return _CALL_KEYWORD.sub(option, message)


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
    from ..train import TrainingDivergedError

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
