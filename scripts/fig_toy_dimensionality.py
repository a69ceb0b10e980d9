"""Draw the figure ``toy_dimensionality``: a thin wrapper of :mod:`packing.figures.toy_dimensionality`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_toy_dimensionality.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only toy_dimensionality``.
"""

from packing.figures import run_figure_cli
from packing.figures.toy_dimensionality import __doc__ as DOC
from packing.figures.toy_dimensionality import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
