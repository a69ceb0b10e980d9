"""Draw the figure ``computation``: a thin wrapper of :mod:`packing.figures.computation`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_computation.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only computation``.
"""

from packing.figures import run_figure_cli
from packing.figures.computation import __doc__ as DOC
from packing.figures.computation import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
