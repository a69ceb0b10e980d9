"""Draw the figure ``toy_importance``: a thin wrapper of :mod:`packing.figures.toy_importance`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_toy_importance.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only toy_importance``.
"""

from packing.figures import run_figure_cli
from packing.figures.toy_importance import __doc__ as DOC
from packing.figures.toy_importance import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
