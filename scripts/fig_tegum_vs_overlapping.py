"""Draw the figure ``tegum_vs_overlapping``: a thin wrapper of :mod:`packing.figures.tegum_vs_overlapping`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_tegum_vs_overlapping.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only tegum_vs_overlapping``.
"""

from packing.figures import run_figure_cli
from packing.figures.tegum_vs_overlapping import __doc__ as DOC
from packing.figures.tegum_vs_overlapping import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
