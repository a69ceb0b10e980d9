"""Regenerate every figure of the project: the same as ``packing figures`` (see ``--help``).

Usage: ``.venv/bin/python scripts/make_figures.py [--out figures] [--quick] [--force] [--only NAME]``.
The drivers are the modules of :mod:`packing.figures` (``packing.figures.FIGURES``);
this script is kept so that old instructions still work.
"""

from __future__ import annotations

import sys

from packing.cli import main as cli_main


def main(argv=None) -> int:
    """Run ``packing figures`` with ``argv`` (default: the command line); return the exit status."""
    return cli_main(["figures", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
