"""The figure kit: one style, atomic PNG + PDF output, and one cache keyed by the full configuration.

A driver in ``scripts/`` draws inside a :class:`FigureRun`::

    def main(out_dir="figures", *, quick=False, force=False, seed=0):
        with FigureRun(out_dir, force=force) as run:
            data = run.cached(train_toy_model, n_features=5, d=2, steps=4000, rng=seed)
            fig, ax = run.figure(figsize=(4, 3))
            ax.plot(...)
            run.save(fig, "name")        # name.png and name.pdf, each written atomically
        return run.paths

Style
    :data:`STYLE` (matplotlib rc parameters) is applied for the whole ``with``
    block, so drivers set no font sizes of their own. Figures are
    :class:`matplotlib.figure.Figure` objects made without pyplot: no backend is
    selected, nothing global changes, and nothing needs closing.
Legibility
    Every figure must read at paper size: a figure is printed at
    :data:`COLUMN_WIDTH` (one column) or :data:`PAGE_WIDTH` (two columns), and
    :func:`legibility_problems` lists what a reader could not read there: text
    below :data:`MIN_FONT_PT` after scaling, a heat map without a colour bar,
    axes without a y label, a legend sitting on data points, texts drawn on top
    of each other, a log axis with "6×10⁰" labels. The helpers
    :func:`add_colorbar`, :func:`integer_ticks` and :func:`plain_log_ticks`
    fix the common cases. Every driver's test runs it on what the driver drew
    (:func:`capture_figures` collects the figures and the numbers the driver
    says they show, ``run.save(fig, name, facts={...})``).
Output
    :meth:`FigureRun.save` writes every format of :data:`FORMATS` through
    :func:`packing.io.atomic_write` (temporary file in the same folder, flush
    and fsync, rename), PDFs without a creation date so that equal figures give
    equal files.
Cache
    :func:`cached` keys a computation by everything that determines it: the
    function's qualified name and source text, **every** argument after the
    defaults are filled in (so ``cached(train_toy_model, ...)`` is keyed by the
    run's full configuration, the same data the result's ``config`` records),
    and ``packing.__version__``. A changed setting, a changed default or a new
    version is a new entry; nothing is keyed by a hand-picked subset.
    Functions that read inputs from an enclosing scope (closures) are refused,
    since the key would miss those inputs. Entries are ``.npz`` files written
    atomically and read with ``allow_pickle=False``; the member ``__cache_key__``
    holds the key and the dtype, shape and SHA-256 of every array. An entry that
    cannot be read (empty, truncated, garbage), whose stored key differs, or
    whose arrays fail their checksums is recomputed with a :class:`CacheWarning`,
    never plotted.
Sweeps
    A driver that computes one result per cell of a grid runs it through the
    sweep engine with :meth:`FigureRun.sweep` (:func:`packing.sweep`: joblib on
    every core, or in this process with ``n_jobs=1``), its cells stored in
    ``cache_dir / "sweep"`` under their own keys, so an interrupted figure
    resumes cell by cell.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import numbers
import shutil
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .. import __version__
from .._files import check_folder_path, check_input_file, read_npz
from .._results import CheckedFields, array_table, check_arrays, loads
from .._validation import _describe, check_bool, check_callable, check_choice, check_float, check_int
from ..io import atomic_write

__all__ = [
    "STYLE",
    "FORMATS",
    "COLUMN_WIDTH",
    "PAGE_WIDTH",
    "MIN_FONT_PT",
    "CacheWarning",
    "FigureRun",
    "Drawn",
    "cached",
    "capture_figures",
    "draw_quick",
    "legibility_problems",
    "add_colorbar",
    "integer_ticks",
    "reference_line",
    "plain_log_ticks",
    "figure_parser",
    "run_figure_cli",
]

#: The one style of every figure: matplotlib rc parameters applied by :class:`FigureRun`.
STYLE: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 10,
    "image.interpolation": "nearest",
    "axes.formatter.useoffset": False,  # no "+1e3" offsets: tick labels say the value
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # embed TrueType: text stays text in the PDF
}

#: Width (inches) of one column of a two-column paper, and of the whole text block.
COLUMN_WIDTH = 3.35
PAGE_WIDTH = 7.0
#: Smallest legible font size (points) once a figure is scaled to the width it is printed at.
MIN_FONT_PT = 5.0

#: Every figure is written in each of these formats.
FORMATS = ("png", "pdf")
_METADATA = {"png": {"Software": None}, "pdf": {"CreationDate": None}}
_KEY = "__cache_key__"


class CacheWarning(UserWarning):
    """A cache entry could not be used and is being recomputed."""


class FigureRun:
    """One run of a figure driver: style, output folder, cache and the list of files written.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the figures (created when needed).
    force : bool
        Recompute every cached result.
    cache_dir : str or Path, optional
        Folder of the cache (default ``out_dir / ".cache"``).

    Attributes
    ----------
    paths : list of Path
        Every file written, in order.

    Examples
    --------
    >>> import tempfile
    >>> with FigureRun(tempfile.mkdtemp()) as run:
    ...     fig, ax = run.figure(figsize=(2, 2))
    ...     _ = ax.plot([0, 1], [1, 0])
    ...     written = run.save(fig, "line")
    >>> [p.name for p in written] == [p.name for p in run.paths] == ["line.png", "line.pdf"]
    True
    """

    def __init__(self, out_dir, *, force: bool = False, cache_dir=None):
        self.out_dir = check_folder_path(out_dir, "out_dir")
        self.force = check_bool(force, "force")
        cache_dir = None if cache_dir is None else check_folder_path(cache_dir, "cache_dir")
        self.cache_dir = self.out_dir / ".cache" if cache_dir is None else cache_dir
        self.paths: list[Path] = []
        self._style = None
        self._cleared: set[str] = set()  # sweep tasks whose cells --force removed in this run

    def __enter__(self) -> FigureRun:
        self._style = matplotlib.rc_context(STYLE)
        self._style.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        style, self._style = self._style, None
        style.__exit__(*exc)

    def figure(self, nrows: int = 1, ncols: int = 1, *, figsize=None, **subplots_kw):
        """Return ``(fig, axes)``: a new Figure (no pyplot) and ``fig.subplots(nrows, ncols, ...)``."""
        if self._style is None:
            raise RuntimeError("draw inside 'with FigureRun(...) as run:' so that the style applies.")
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **subplots_kw)

    def save(self, fig: Figure, name: str, *, facts: Mapping | None = None) -> list[Path]:
        """Write ``fig`` as ``out_dir/name.png`` and ``.pdf`` (atomically); return the paths.

        ``facts`` are the numbers the figure shows (what a test checks, e.g.
        ``{"computed_at_S0": [0, 1, 2, 3, 4]}``); they are handed, with the
        figure, to every :func:`capture_figures` block that is open.
        """
        for sink in _CAPTURE:
            sink[name] = Drawn(name, fig, dict(facts or {}))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in FORMATS:
            path = self.out_dir / f"{name}.{fmt}"
            with atomic_write(path) as fh:
                fig.savefig(fh, format=fmt, metadata=_METADATA[fmt])
            written.append(path)
        self.paths.extend(written)
        return written

    def save_text(self, name: str, text: str) -> Path:
        """Write ``text`` to ``out_dir/name`` (atomically); return the path."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / name
        with atomic_write(path, text=True) as fh:
            fh.write(text)
        self.paths.append(path)
        return path

    def cached(self, compute: Callable, /, **params) -> dict[str, np.ndarray]:
        """Return ``compute(**params)`` as arrays, from this run's cache if possible (:func:`cached`)."""
        return cached(compute, params, cache_dir=self.cache_dir, force=self.force)

    def sweep(self, task: str, grid, *, seeds=1, n_jobs=None, progress="auto"):
        """Return :func:`packing.sweep` of ``task`` over ``grid``, cached in ``cache_dir / "sweep"``.

        With ``force`` the task's cells in that folder are removed before its
        first sweep of this run (later sweeps of the run reuse what it computed),
        so every cell is recomputed. ``n_jobs=1`` runs the cells in this process
        (no worker start-up, for quick runs); ``None`` uses every core.

        Examples
        --------
        >>> import tempfile
        >>> with FigureRun(tempfile.mkdtemp()) as run:
        ...     table = run.sweep("optimal_partition", {"n": [6, 8], "d": [3], "p": [1.0]}, n_jobs=1,
        ...                       progress=False)
        >>> table["k"].tolist() == [optimal_partition(6, 3, 1.0).k, optimal_partition(8, 3, 1.0).k]
        True
        >>> Path(table["path"][0]).parent == run.cache_dir / "sweep" / "optimal_partition"
        True
        """
        from ..sweep import sweep, sweep_tasks

        folder = self.cache_dir / "sweep"
        # only a registered task's folder (its name is a plain folder name); sweep() refuses anything else
        if self.force and isinstance(task, str) and task in sweep_tasks() and task not in self._cleared:
            shutil.rmtree(folder / task, ignore_errors=True)
            self._cleared.add(task)
        return sweep(task, grid, seeds=seeds, cache_dir=folder, n_jobs=n_jobs, progress=progress)


@dataclasses.dataclass
class Drawn(CheckedFields):
    """A figure a driver saved, with the numbers it says the figure shows (see :func:`capture_figures`)."""

    name: str
    figure: Figure
    facts: dict


_CAPTURE: list[dict] = []


@contextlib.contextmanager
def capture_figures():
    """Collect every figure saved inside the block: ``{name: Drawn(name, figure, facts)}``.

    The test helper of every driver: run the driver, then check what it drew
    (the artists of ``figure``) and the ``facts`` it reported, and run
    :func:`legibility_problems` on it.

    Examples
    --------
    >>> import tempfile
    >>> with capture_figures() as drawn, FigureRun(tempfile.mkdtemp()) as run:
    ...     fig, ax = run.figure(figsize=(2, 2))
    ...     _ = ax.plot([0, 1], [1, 0])
    ...     _ = run.save(fig, "line", facts={"slope": -1})
    >>> drawn["line"].facts, drawn["line"].figure is fig
    ({'slope': -1}, True)
    """
    sink: dict[str, Drawn] = {}
    _CAPTURE.append(sink)
    try:
        yield sink
    finally:  # by identity: two open blocks may hold equal dicts
        del _CAPTURE[next(i for i, open_sink in enumerate(_CAPTURE) if open_sink is sink)]


def draw_quick(main: Callable, out_dir, *, seed: int = 0, force: bool = True):
    """Run a driver's quick mode; return ``(paths, drawn)``: the files and the :class:`Drawn` figures.

    The helper of every driver's test: check a property of ``drawn[name].facts``
    (the numbers the figure shows) or of the figure's artists, and that
    :func:`legibility_problems` finds nothing.
    """
    main = check_driver(main)
    out_dir = check_folder_path(out_dir, "out_dir")
    seed, force = check_int(seed, "seed", minimum=0), check_bool(force, "force")
    with capture_figures() as drawn:
        paths = main(out_dir, quick=True, force=force, seed=seed)
    return [Path(p) for p in paths], drawn


# --------------------------------------------------------------------------- argument checks


def check_axes(ax, name: str, *, many: bool = False):
    """Refuse anything but a matplotlib ``Axes`` (``many``: or a list or array of them) naming ``name``."""
    from matplotlib.axes import Axes

    items = [ax] if isinstance(ax, Axes) or not many else list(np.ravel(np.asarray(ax, dtype=object)))
    if not items or not all(isinstance(a, Axes) for a in items):
        what = "a matplotlib Axes" + (" or a list of them" if many else "")
        raise TypeError(f"{name} must be {what}; got {_describe(ax)}.")
    return ax


def check_text(value, name: str, *, optional: bool = True):
    """Refuse a label that is not a str (``optional``: or None), naming ``name``."""
    if not isinstance(value, str) and not (optional and value is None):
        raise TypeError(f"{name} must be a str{' or None' if optional else ''}; got {_describe(value)}.")
    return value


def check_driver(main):
    """Refuse a figure driver that cannot be called as ``main(out_dir, quick=, force=, seed=)``."""
    what = "a figure driver main(out_dir, *, quick, force, seed)"
    if not callable(main):
        raise TypeError(f"main must be {what}; got {_describe(main)}.")
    return check_callable(main, "main", (1,), what)[0]


def check_argv(argv):
    """Return ``argv`` as a list of str (None: the command line), or a TypeError naming it."""
    if argv is None:
        return None
    if isinstance(argv, str | bytes) or not isinstance(argv, list | tuple):
        raise TypeError(f"argv must be a list of command-line words (str); got {_describe(argv)}.")
    bad = next((a for a in argv if not isinstance(a, str)), None)
    if bad is not None:
        raise TypeError(f"argv must be a list of command-line words (str); got an element {_describe(bad)}.")
    return list(argv)


# --------------------------------------------------------------------------- legibility


def add_colorbar(ax, mappable, label: str, **kw):
    """Draw ``mappable``'s colour bar next to ``ax`` (or a list of axes sharing it) with a label.

    Every heat map gets one; heat maps drawn with the same colour map and
    limits as ``mappable`` share it (one bar for a row of panels on one scale).
    """
    check_axes(ax, "ax", many=True)
    from matplotlib.cm import ScalarMappable

    if not isinstance(mappable, ScalarMappable):
        raise TypeError(f"mappable must be a matplotlib ScalarMappable; got {_describe(mappable)}.")
    check_text(label, "label", optional=False)
    kw = {"fraction": 0.046, "pad": 0.03} | kw
    fig = mappable.axes.figure if mappable.axes is not None else np.atleast_1d(ax)[0].figure
    bar = fig.colorbar(mappable, ax=ax, **kw)
    bar.set_label(label)
    return bar


def reference_line(ax, y: float, text: str | None = None, **line_kw):
    """Draw a horizontal reference level, labelled in the right margin where no data hides the label."""
    check_axes(ax, "ax")
    y = check_float(y, "y")
    check_text(text, "text")
    line_kw = {"color": "0.6", "ls": "--", "lw": 0.7, "zorder": 0} | line_kw
    ax.axhline(y, **line_kw)
    if text:
        ax.annotate(
            text,
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize="x-small",
            color="0.3",
        )


def integer_ticks(ax, axis: str = "x", *, max_ticks: int | None = None):
    """Put only integer ticks on ``axis`` ("x", "y" or "both"), e.g. for feature indices."""
    from matplotlib.ticker import MaxNLocator

    check_axes(ax, "ax")
    check_choice(axis, "axis", ("x", "y", "both"), expected="'x', 'y' or 'both'")
    if max_ticks is not None:
        max_ticks = check_int(max_ticks, "max_ticks", minimum=1, maximum=10**6)
    for name in ("x", "y") if axis == "both" else (axis,):
        locator = MaxNLocator(integer=True, nbins=max_ticks or "auto")
        getattr(ax, f"{name}axis").set_major_locator(locator)


def plain_log_ticks(ax, axis: str = "x"):
    """Label a log axis with plain numbers (0.5, 2, 8) and no minor labels (no "6×10⁰")."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    check_axes(ax, "ax")
    check_choice(axis, "axis", ("x", "y", "both"), expected="'x', 'y' or 'both'")

    def plain(value, _pos):
        return f"{value:g}"

    for name in ("x", "y") if axis == "both" else (axis,):
        which = getattr(ax, f"{name}axis")
        which.set_major_formatter(FuncFormatter(plain))
        which.set_minor_formatter(NullFormatter())


def _texts(fig):
    """Every visible, non-empty text of ``fig`` with its owner axes (None for figure texts)."""
    out = [(None, t) for t in fig.texts]
    for ax in fig.axes:
        owned = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        owned += ax.get_xticklabels() + ax.get_yticklabels()
        legend = ax.get_legend()
        if legend is not None:
            owned += [*legend.get_texts(), legend.get_title()]
        out += [(ax, t) for t in owned]
    return [(ax, t) for ax, t in out if t.get_visible() and t.get_text().strip()]


def _is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar")


def legibility_problems(fig: Figure, *, width: float | None = None) -> list[str]:
    """Return what a reader could not read in ``fig`` printed ``width`` inches wide (empty: fine).

    Checks:

    * every text (titles, labels, tick labels, legends, annotations) is at least
      :data:`MIN_FONT_PT` points once the figure is scaled to ``width``
      (default: :data:`COLUMN_WIDTH` for figures up to 1.3 times as wide,
      else :data:`PAGE_WIDTH`);
    * every heat map (image or mesh) has a colour bar;
    * every axes that draws y tick labels has a y label;
    * no legend box covers a data point of its axes;
    * no two titles, axis labels, legends or annotations overlap;
    * log axes have no minor tick labels ("6×10⁰").

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    width : float, optional
        Printed width in inches.

    Returns
    -------
    list of str

    Examples
    --------
    >>> fig = Figure(figsize=(3, 2))
    >>> ax = fig.subplots()
    >>> _ = ax.imshow(np.eye(3))
    >>> legibility_problems(fig)
    ['axes 0: a heat map without a colour bar', "axes 0 ('') has y tick labels but no y label"]
    """
    from matplotlib.collections import QuadMesh
    from matplotlib.ticker import NullFormatter

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {_describe(fig)}.")
    if width is not None:
        width = check_float(width, "width", minimum=0.0, strict_min=True)
    fig_w = float(fig.get_figwidth())
    if width is None:
        width = COLUMN_WIDTH if fig_w <= 1.3 * COLUMN_WIDTH else PAGE_WIDTH
    scale = min(1.0, float(width) / fig_w)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    problems = []
    small = [t.get_fontsize() * scale for _, t in _texts(fig)]
    small = [s for s in small if s < MIN_FONT_PT - 1e-9]
    if small:
        problems.append(f"text of {min(small):.1f} pt at {width:g} in wide (minimum {MIN_FONT_PT:g} pt)")
    axes = [ax for ax in fig.axes if not _is_colorbar(ax) and ax.get_visible()]
    maps = [m for ax in axes for m in [*ax.images, *(c for c in ax.collections if isinstance(c, QuadMesh))]]
    scales = {_scale(m) for m in maps if getattr(m, "colorbar", None) is not None}
    for k, ax in enumerate(axes):
        where = f"axes {k}"
        heat = [m for m in maps if m.axes is ax]
        if any(getattr(m, "colorbar", None) is None and _scale(m) not in scales for m in heat):
            problems.append(f"{where}: a heat map without a colour bar")
        shows_y = ax.axison and any(t.get_visible() and t.get_text() for t in ax.get_yticklabels())
        if shows_y and not ax.get_ylabel().strip():
            problems.append(f"{where} ({ax.get_title()!r}) has y tick labels but no y label")
        for name in ("x", "y"):
            axis = getattr(ax, f"{name}axis")
            minor = [t for t in axis.get_ticklabels(minor=True) if t.get_visible() and t.get_text()]
            if (
                axis.get_scale() == "log"
                and minor
                and not isinstance(axis.get_minor_formatter(), NullFormatter)
            ):
                problems.append(f"{where}: minor tick labels on its log {name} axis ({minor[0].get_text()})")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent(renderer)
            for artist in [*ax.lines, *ax.collections]:
                points = _data_points(ax, artist) if artist.get_visible() else None
                if points is None or not len(points):
                    continue
                inside = _inside(box, points)
                if np.any(inside):
                    problems.append(
                        f"{where} ({ax.get_title()!r}): the legend covers {int(np.sum(inside))} point(s) of "
                        f"{artist.get_label()!r}"
                    )
    boxes = []
    for ax, t in _texts(fig):
        if ax is not None and (t in ax.get_xticklabels() or t in ax.get_yticklabels()):
            continue
        boxes.append((t.get_text(), t.get_window_extent(renderer)))
    for ax in axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            boxes = [(n, b) for n, b in boxes if not _within(b, legend.get_window_extent(renderer))]
            boxes.append(("legend", legend.get_window_extent(renderer)))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (a, ba), (b, bb) = boxes[i], boxes[j]
            if _overlap(ba, bb) > 2.0:
                problems.append(f"texts overlap: {a[:30]!r} and {b[:30]!r}")
    return problems


def _scale(mappable):
    """Colour map and limits: heat maps with equal scales can share one colour bar."""
    return (mappable.get_cmap().name, *np.round(mappable.get_clim(), 12))


def _data_points(ax, artist):
    """Display coordinates of the drawn points of a line or scatter (None for other artists)."""
    from matplotlib.collections import PathCollection
    from matplotlib.lines import Line2D

    if isinstance(artist, Line2D):
        xy = np.column_stack([np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)])
        transform = artist.get_transform()
    elif isinstance(artist, PathCollection):
        xy = np.asarray(artist.get_offsets(), float)
        transform = artist.get_offset_transform()
    else:
        return None
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return xy
    points = transform.transform(xy)
    return points[_inside(ax.bbox, points)]


def _inside(box, points):
    x, y = points[:, 0], points[:, 1]
    return (x > box.x0) & (x < box.x1) & (y > box.y0) & (y < box.y1)


def _within(inner, outer) -> bool:
    return (
        inner.x0 >= outer.x0 - 1
        and inner.x1 <= outer.x1 + 1
        and inner.y0 >= outer.y0 - 1
        and inner.y1 <= outer.y1 + 1
    )


def _overlap(a, b) -> float:
    """Area (square pixels) shared by two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


# --------------------------------------------------------------------------- the cache


def _plain(value, where: str):
    """Turn an argument into JSON data that determines it (arrays keep their dtype)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcUS":
            raise TypeError(f"{where} must be plain data; got an array of dtype {value.dtype}.")
        values = _plain(value.tolist(), where)
        return {"dtype": str(value.dtype), "shape": list(value.shape), "values": values}
    if isinstance(value, np.generic):
        return _plain(value.item(), where)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, numbers.Complex):
        return {"complex": [_plain(value.real, where), _plain(value.imag, where)]}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"dtype": np.dtype(value).name}
    if isinstance(value, np.dtype):
        return {"dtype": value.name}
    raise TypeError(
        f"{where} must be plain data (numbers, strings, lists, dicts, arrays, dtypes); got "
        f"{type(value).__name__}. Pass what determines it instead."
    )


def _source(compute: Callable) -> str:
    try:
        return inspect.getsource(compute)
    except (OSError, TypeError):  # defined without a file: the bytecode and constants determine it
        code = compute.__code__
        return code.co_code.hex() + repr(code.co_consts)


def cache_key(compute: Callable, params: dict) -> dict:
    """Return the key of ``compute(**params)``: name, source digest, every argument, package version.

    Raises
    ------
    TypeError
        If ``compute`` is a closure, ``params`` do not fit its signature, or an
        argument is not plain data.
    """
    name = f"{compute.__module__}.{compute.__qualname__}"
    if getattr(compute, "__closure__", None):
        free = ", ".join(compute.__code__.co_freevars)
        raise TypeError(
            f"compute must take every input as a parameter; {name} reads {free} from an enclosing "
            f"scope, which the cache key would not see. Make it a module-level function."
        )
    try:
        bound = inspect.signature(compute).bind(**params)
    except TypeError as exc:
        raise TypeError(f"params do not fit {name}: {exc}.") from None
    bound.apply_defaults()
    arguments = {k: _plain(v, f"{name} argument {k!r}") for k, v in bound.arguments.items()}
    source = hashlib.sha256(_source(compute).encode()).hexdigest()
    return {"function": name, "source_sha256": source, "arguments": arguments, "packing": __version__}


def _as_arrays(result, name: str) -> dict[str, np.ndarray]:
    """Return the arrays of a dict or a result dataclass (``None`` fields left out, ``config`` as JSON)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    elif isinstance(result, Mapping):
        items = dict(result)
    else:
        got = type(result).__name__
        raise TypeError(f"{name} must return a dict of arrays or a result dataclass; got {got}.")
    out = {}
    for key, value in items.items():
        if value is None:
            continue
        if key == "config" and isinstance(value, Mapping):
            value = json.dumps(_plain(value, f"{name} result config"), sort_keys=True)
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufcUS":
            what = f"{name} result {key!r} must be numbers or strings (nothing is pickled)"
            raise TypeError(f"{what}; got dtype {arr.dtype}.")
        out[str(key)] = arr
    return out


def _load(path: Path, key: dict) -> dict[str, np.ndarray] | None:
    """Return the arrays of a cache entry, or None (with a :class:`CacheWarning`) if it is unusable."""
    try:  # every failure of a damaged file is a ValueError here (packing.io.CorruptFileError and kin)
        check_input_file(path, "cache entry", suffixes=(".npz",))
        stored = read_npz(path)
        record = loads(str(stored.pop(_KEY, "{}")), path, "its record")  # nested too deeply: a ValueError
        if not isinstance(record, dict) or record.get("key") != key:
            message = f"cache entry {path} holds another computation; recomputing it."
            warnings.warn(message, CacheWarning, stacklevel=4)
            return None
        check_arrays(record.get("arrays"), stored, path)
    except ValueError as exc:
        message = f"cache entry {path} is unusable ({exc}); recomputing it."
        warnings.warn(message, CacheWarning, stacklevel=4)
        return None
    return stored


def cached(compute: Callable, params: dict, *, cache_dir, force: bool = False) -> dict[str, np.ndarray]:
    """Return ``compute(**params)`` as a dict of arrays, cached under its full configuration.

    Parameters
    ----------
    compute : callable
        A module-level function (a library function such as
        :func:`packing.train_toy_model`, or a driver's own) returning a dict of
        arrays or a result dataclass.
    params : dict
        Its arguments (keyword); unspecified ones take the function's defaults,
        which are part of the key.
    cache_dir : str or Path
    force : bool
        Recompute (and overwrite) even if an entry exists.

    Returns
    -------
    dict of str to ndarray
        The same on a hit and on a miss (a result's ``config`` is a JSON string).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> def square(x, power=2):
    ...     return {"y": np.asarray(x) ** power}
    >>> cached(square, {"x": [1, 2]}, cache_dir=folder)["y"]
    array([1, 4])
    >>> cached(square, {"x": [1, 2], "power": 3}, cache_dir=folder)["y"]    # another entry
    array([1, 8])
    >>> len(list(Path(folder).glob("square-*.npz")))
    2
    """
    if not callable(compute):
        raise TypeError(f"compute must be a function returning arrays; got {_describe(compute)}.")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of compute's keyword arguments; got {_describe(params)}.")
    cache_dir = check_folder_path(cache_dir, "cache_dir")
    force = check_bool(force, "force")
    key = cache_key(compute, params)
    key_text = json.dumps(key, sort_keys=True)
    digest = hashlib.sha256(key_text.encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"{compute.__name__}-{digest}.npz"
    if path.exists() and not force:
        stored = _load(path, json.loads(key_text))
        if stored is not None:
            return stored
    arrays = _as_arrays(compute(**params), key["function"])
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"key": json.loads(key_text), "arrays": array_table(arrays)}, allow_nan=False)
    with atomic_write(path) as fh:
        np.savez(fh, **{_KEY: np.array(record)}, **arrays)
    return arrays


# --------------------------------------------------------------------------- command line


def figure_parser(doc: str | None) -> argparse.ArgumentParser:
    """Return the common ``--out/--quick/--force/--seed`` parser of a figure driver."""
    check_text(doc, "doc")
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--force", action="store_true", help="recompute cached results")
    parser.add_argument("--seed", type=int, default=0, help="base random seed")
    return parser


def run_figure_cli(main: Callable, doc: str | None, argv=None) -> None:
    """Parse the common options and call ``main(out_dir, quick=, force=, seed=)``; print the paths."""
    main = check_driver(main)
    argv = check_argv(argv)
    args = figure_parser(doc).parse_args(argv)
    for path in main(args.out, quick=args.quick, force=args.force, seed=args.seed):
        print(path)
