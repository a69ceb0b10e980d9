"""Draw the figure ``scurves``: a thin wrapper of :mod:`packing.figures.scurves`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_scurves.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only scurves``.
"""

from packing.figures import run_figure_cli
from packing.figures.scurves import __doc__ as DOC
from packing.figures.scurves import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
