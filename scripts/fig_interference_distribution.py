"""Draw the figure ``interference_distribution``: a thin wrapper of its driver module.

The driver (:mod:`packing.figures.interference_distribution`) says what it shows. Usage:
``.venv/bin/python scripts/fig_interference_distribution.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only interference_distribution``.
"""

from packing.figures import run_figure_cli
from packing.figures.interference_distribution import __doc__ as DOC
from packing.figures.interference_distribution import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
