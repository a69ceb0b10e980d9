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

from ._kit import (
    COLUMN_WIDTH,
    FORMATS,
    MIN_FONT_PT,
    PAGE_WIDTH,
    STYLE,
    CacheWarning,
    Drawn,
    FigureRun,
    add_colorbar,
    cached,
    capture_figures,
    draw_quick,
    figure_parser,
    integer_ticks,
    legibility_problems,
    plain_log_ticks,
    reference_line,
    run_figure_cli,
)
from ._registry import FIGURES, FigureDriver, FigureOutcome, make_figures, resolve_figures

__all__ = [
    "STYLE",
    "FORMATS",
    "COLUMN_WIDTH",
    "PAGE_WIDTH",
    "MIN_FONT_PT",
    "CacheWarning",
    "Drawn",
    "capture_figures",
    "draw_quick",
    "legibility_problems",
    "add_colorbar",
    "integer_ticks",
    "plain_log_ticks",
    "reference_line",
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
