"""Draw the figure ``sae_recovery``: a thin wrapper of :mod:`packing.figures.sae_recovery`.

The driver's docstring says what the figure shows. Usage:
``.venv/bin/python scripts/fig_sae_recovery.py [--out DIR] [--quick] [--force] [--seed S]``,
the same as ``packing figures --only sae_recovery``.
"""

from packing.figures import run_figure_cli
from packing.figures.sae_recovery import __doc__ as DOC
from packing.figures.sae_recovery import main

__all__ = ["main"]

if __name__ == "__main__":
    run_figure_cli(main, DOC)
