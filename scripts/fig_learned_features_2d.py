"""Draw the figure ``learned_features_2d``: a thin wrapper of :mod:`packing.figures.learned_features_2d`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_learned_features_2d.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only learned_features_2d``.
"""

from packing.figures import run_figure_cli
from packing.figures.learned_features_2d import __doc__ as DOC
from packing.figures.learned_features_2d import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
