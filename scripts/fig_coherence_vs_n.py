"""Draw the figure ``coherence_vs_n``: a thin wrapper of :mod:`packing.figures.coherence_vs_n`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_coherence_vs_n.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only coherence_vs_n``.
"""

from packing.figures import run_figure_cli
from packing.figures.coherence_vs_n import __doc__ as DOC
from packing.figures.coherence_vs_n import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
