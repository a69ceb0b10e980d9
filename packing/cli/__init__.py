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

from ._errors import EXIT_CODES, CLIError
from ._main import main
from ._parser import build_parser

# The entry point is packing.cli:main (pyproject's [project.scripts]); the package's modules:
# _errors (exit codes, one-line errors), _parser (the argument parser), _support (files, JSON,
# progress), _commands (packings and records), _jobs (training, analysis, figures, sweeps), _main.
__all__ = ["main", "build_parser", "EXIT_CODES", "CLIError"]
