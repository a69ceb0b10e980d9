"""Draw the figure ``learned_sweep``: a thin wrapper of :mod:`packing.figures.learned_sweep`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_learned_sweep.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only learned_sweep``.
"""

from packing.figures import run_figure_cli
from packing.figures.learned_sweep import __doc__ as DOC
from packing.figures.learned_sweep import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
