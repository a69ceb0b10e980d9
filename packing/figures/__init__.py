"""Figures: the shared kit of the figure drivers in ``scripts/``.

Importing :mod:`packing` does not import this package (it needs matplotlib's
rendering machinery). The drivers ``scripts/fig_*.py`` each expose
``main(out_dir, *, quick, force, seed)`` and draw inside a :class:`FigureRun`,
which applies the one :data:`STYLE`, writes PNG and PDF atomically and caches
expensive results keyed by their full configuration (:func:`cached`). Axes-level
drawing lives in :mod:`packing.plotting`.
"""

from ._kit import FORMATS, STYLE, CacheWarning, FigureRun, cached, figure_parser, run_figure_cli

__all__ = ["STYLE", "FORMATS", "CacheWarning", "FigureRun", "cached", "figure_parser", "run_figure_cli"]
