"""``packing.cli.main``: parse, run one subcommand, turn every error into one line and an exit status."""

from __future__ import annotations

import sys
import traceback

from ._errors import (
    EXIT_CODES,
    CLIError,
    _blame,
    _classify,
    _displays,
    _error_line,
    _huge,
    _one_line,
    _one_line_warnings,
    _Reported,
)
from ._jobs import _COMMANDS
from ._parser import build_parser

# ============================================================================ main


def main(argv=None) -> int:
    """Run the ``packing`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    if argv is not None and (isinstance(argv, str | bytes) or not isinstance(argv, list | tuple)):
        raise TypeError(f"argv must be a list of command-line words or None; got {type(argv).__name__}.")
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
