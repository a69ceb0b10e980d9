"""Draw the figure ``monosemanticity``: a thin wrapper of :mod:`packing.figures.monosemanticity`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_monosemanticity.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only monosemanticity``.
"""

from packing.figures import run_figure_cli
from packing.figures.monosemanticity import __doc__ as DOC
from packing.figures.monosemanticity import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
