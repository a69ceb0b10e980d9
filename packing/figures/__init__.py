"""Figures: every figure driver of the project, their shared kit, and the loop that draws them.

Importing :mod:`packing` does not import this package (it needs matplotlib's
rendering machinery). Each driver is a module here (``packing.figures.<name>``,
listed with the published figure it reproduces in :data:`FIGURES`) exposing
``main(out_dir, *, quick, force, seed)``; :func:`make_figures` runs a selection
(``packing figures``, ``make figures``). Drivers draw inside a
:class:`FigureRun`, which applies the one :data:`STYLE`, writes PNG and PDF
atomically and caches expensive results keyed by their full configuration
(:func:`cached`). Axes-level drawing lives in :mod:`packing.plotting`.
"""

from ._kit import FORMATS, STYLE, CacheWarning, FigureRun, cached, figure_parser, run_figure_cli
from ._registry import FIGURES, FigureDriver, FigureOutcome, make_figures, resolve_figures

__all__ = [
    "STYLE",
    "FORMATS",
    "CacheWarning",
    "FigureRun",
    "cached",
    "figure_parser",
    "run_figure_cli",
    "FIGURES",
    "FigureDriver",
    "FigureOutcome",
    "make_figures",
    "resolve_figures",
]
