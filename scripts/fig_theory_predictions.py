"""Draw the figure ``theory_predictions``: a thin wrapper of :mod:`packing.figures.theory_predictions`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_theory_predictions.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only theory_predictions``.
"""

from packing.figures import run_figure_cli
from packing.figures.theory_predictions import __doc__ as DOC
from packing.figures.theory_predictions import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
