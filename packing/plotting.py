"""Axes-level plots of packings and their statistics.

Every function draws on an ``Axes`` it is given and returns it; nothing here
creates figures, saves or shows. Only the drivers in ``scripts/`` write files.
"""

from __future__ import annotations

import numpy as np

from ._rows import unit_rows
from ._validation import (
    _describe,
    check_axes,
    check_bool,
    check_float,
    check_instance,
    check_int,
    check_int_table,
    check_memory,
    check_packing,
    check_ps,
    check_rng,
    check_vector,
)
from .analytic import optimal_k, tegum_losses
from .geometry import pairwise_statistics
from .structure.shapes import SHAPE_COLORS, SHAPE_FRACTIONS

__all__ = ["plot_cosine_histogram", "plot_moment_profile"]


def _draw(method, name: str, *args, **kwargs):
    """Call an Axes drawing ``method``; a keyword matplotlib does not know becomes a TypeError naming it."""
    try:
        return method(*args, **kwargs)
    except AttributeError as exc:  # matplotlib: "Line2D.set() got an unexpected keyword argument 'x'"
        raise TypeError(f"{name}: a keyword passed on to matplotlib was refused ({exc}).") from None


def _check_cmap(cmap, name: str = "cmap") -> str:
    import matplotlib  # deferred: `import packing` does not load matplotlib

    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(
            f"{name} must be the name of a matplotlib colormap such as 'viridis'; got {_describe(cmap)}."
        )
    return cmap


def _check_label(label, name: str = "label"):
    if label is not None and not isinstance(label, str):
        raise TypeError(f"{name} must be a string or None; got {_describe(label)}.")
    return label


def plot_cosine_histogram(ax, W, *, bins: int = 50, label: str | None = None, **kwargs):
    """Draw the distribution of ``|cos θ_ij|`` over the unordered pairs of ``W``.

    Computed in tiles (:func:`packing.pairwise_statistics`), so large ``W`` is fine.
    The y axis is the fraction of pairs per bin on a log scale; exactly
    orthogonal pairs land in the first bin.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    W : array_like, shape (n, d)
    bins : int
        Equal-width bins on ``[0, 1]``.
    label : str, optional
    **kwargs
        Passed to ``ax.stairs``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_axes(ax)
    W = check_packing(W)
    bins = check_int(bins, "bins", minimum=1)
    label = _check_label(label)
    stats = pairwise_statistics(W, p=(np.inf,), bins=bins)
    counts, edges = stats.histogram
    frac = counts / max(stats.n_pairs, 1)
    _draw(ax.stairs, "plot_cosine_histogram", np.where(frac > 0, frac, np.nan), edges, label=label, **kwargs)
    ax.set_yscale("log")
    ax.set_xlabel(r"$|\cos\theta_{ij}|$")
    ax.set_ylabel("fraction of pairs")
    ax.set_xlim(0, 1)
    return ax


def plot_moment_profile(ax, W, ps=None, *, label: str | None = None, normalize: bool = True, **kwargs):
    """Draw the interference moments ``M_p = Σ_{i<j} |cos θ_ij|**p`` against ``p``.

    With ``normalize`` the curve shows ``(M_p / n_pairs)**(1/p)``, the p-mean of
    ``|cos|``, which rises from the typical overlap (small ``p``) to the
    coherence (large ``p``); the coherence itself is drawn as a dotted line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_axes(ax)
    W = check_packing(W)
    ps = np.geomspace(0.25, 64, 25) if ps is None else np.array(check_ps(ps, "ps")[0])
    if np.isinf(ps).any():
        raise ValueError(
            f"ps must be finite orders (the coherence is drawn as a line anyway); got {ps.tolist()}."
        )
    label = _check_label(label)
    normalize = check_bool(normalize, "normalize")
    stats = pairwise_statistics(W, p=tuple(ps) + (np.inf,))
    vals = np.array([stats.moment(p) for p in ps])
    if normalize:
        vals = (vals / max(stats.n_pairs, 1)) ** (1.0 / ps)
    (line,) = _draw(ax.plot, "plot_moment_profile", ps, vals, marker=".", label=label, **kwargs)
    if normalize:
        ax.axhline(stats.coherence, color=line.get_color(), ls=":", lw=1)
        ax.set_ylabel(r"$(M_p / \#\mathrm{pairs})^{1/p}$")
    else:
        ax.set_ylabel(r"$M_p$")
        ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("moment order $p$")
    return ax


def plot_tegum_losses(ax, n: int, d: int, ps=(0.5, 1.0, 1.5, 2.0, 3.0, 4.0), *, normalize: bool = True):
    """Draw the loss ``L(k)`` of ``k`` equal tegum blocks against ``k``, one line per ``p``.

    ``L(k) = n (n/k − 1) ε(k)^p`` over the admissible ``k`` (common divisors of
    ``n`` and ``d``; :func:`packing.tegum_loss`), divided by ``L(1)`` when
    ``normalize``. Lines fall for ``p < 2``, are flat at ``p = 2`` and rise for
    ``p > 2``; the optimal ``k`` of each line is ringed.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    n, d : int
        Features and dimensions (``n > d``).
    ps : sequence of float
        Moment orders, one line each.
    normalize : bool
        Plot ``L(k) / L(1)``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> len(plot_tegum_losses(ax, 1000, 100, ps=(1, 2)).lines)  # a curve and a ring per p
    4
    >>> plt.close(fig)
    """
    check_axes(ax)
    n, d = check_int(n, "n"), check_int(d, "d")
    if n <= d:
        raise ValueError(
            f"n must be > d for tegum losses to compare (n <= d fits orthogonally: every loss is 0); "
            f"got n={n}, d={d}."
        )
    orders, _ = check_ps(ps, "ps")
    normalize = check_bool(normalize, "normalize")
    cmap = __import__("matplotlib").colormaps["coolwarm"]
    for i, p in enumerate(orders):
        losses = tegum_losses(n, d, p)
        ks = np.array(list(losses))
        vals = np.array(list(losses.values()))
        if normalize:
            vals = vals / vals[0]
        color = cmap(i / max(len(orders) - 1, 1))
        ax.plot(ks, vals, marker=".", color=color, label=f"p = {p:g}")
        kb = optimal_k(n, d, p)
        ax.plot([kb], [vals[list(ks).index(kb)]], "o", mfc="none", ms=10, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of equal blocks $k$")
    ax.set_ylabel("$L(k) / L(1)$" if normalize else "$L(k)$ (ordered pairs)")
    return ax


def plot_partition(ax, result, *, cmap: str = "tab20"):
    """Draw a :class:`packing.PartitionResult` as blocks on a features × dimensions grid.

    Block ``b`` is a rectangle ``n_b`` features wide and ``d_b`` dimensions
    tall, placed along the diagonal (a tegum product is block-diagonal), and
    labelled ``n_b/d_b``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from packing import optimal_partition
    >>> fig, ax = plt.subplots()
    >>> len(plot_partition(ax, optimal_partition(6, 4, 1.0, build=False)).patches)
    3
    >>> plt.close(fig)
    """
    from matplotlib.patches import Rectangle  # deferred: `import packing` does not load matplotlib

    from .partition import PartitionResult

    check_axes(ax)
    check_instance(result, PartitionResult, "result", what="a PartitionResult from optimal_partition")
    colors = __import__("matplotlib").colormaps[_check_cmap(cmap)]
    x = y = 0
    for b, (m, D) in enumerate(result.blocks):
        ax.add_patch(Rectangle((x, y), m, D, facecolor=colors(b % 20), edgecolor="k", lw=0.8))
        if m * D >= 0.002 * result.n * result.d:
            ax.text(x + m / 2, y + D / 2, f"{m}/{D}", ha="center", va="center", fontsize=7)
        x, y = x + m, y + D
    ax.set_xlim(0, result.n)
    ax.set_ylim(result.d, 0)
    ax.set_xlabel("features")
    ax.set_ylabel("dimensions")
    ax.set_title(f"n={result.n}, d={result.d}, p={result.p:g}: loss {result.loss:.4g}", fontsize=9)
    return ax


__all__ += ["plot_tegum_losses", "plot_partition"]


# --- learned geometry (issue 6): features in the plane, Gram matrices, dimensionality by shape ---


def _shape_colors(labels) -> dict:
    """Colour of each label: the fixed SHAPE_COLORS, then unused tab20 colours for other shapes."""
    import matplotlib  # deferred: `import packing` does not load matplotlib

    palette = matplotlib.colormaps["tab20"].colors
    extra = [c for c in palette if matplotlib.colors.to_hex(c) not in SHAPE_COLORS.values()]
    out, k = {}, 0
    for label in sorted(set(labels), key=str):
        if label in SHAPE_COLORS:
            out[label] = SHAPE_COLORS[label]
        else:
            out[label] = extra[k % len(extra)]
            k += 1
    return out


def plot_features_2d(ax, W, *, importance=None, cmap: str = "viridis", title: str | None = None):
    """Draw the rows of a 2-D packing as arrows from the origin (as in Elhage et al. 2022, fig. 1).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    W : array_like, shape (n, 2)
    importance : array_like, shape (n,), optional
        Colours the arrows (e.g. the feature importances); default: all one colour.
    cmap : str
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``W`` does not have exactly 2 columns.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from packing.constructions import regular_polygon
    >>> fig, ax = plt.subplots()
    >>> _ = plot_features_2d(ax, regular_polygon(5), importance=0.9 ** np.arange(5))
    >>> plot_features_2d(ax, np.eye(3))
    Traceback (most recent call last):
    ...
    ValueError: W must have 2 columns to be drawn in the plane; got shape (3, 3).
    >>> plt.close(fig)
    """
    import matplotlib  # deferred: `import packing` does not load matplotlib

    check_axes(ax)
    W = check_packing(W)
    if W.shape[1] != 2:
        raise ValueError(f"W must have 2 columns to be drawn in the plane; got shape {W.shape}.")
    n = W.shape[0]
    cmap = _check_cmap(cmap)
    title = _check_label(title, "title")
    if importance is None:
        colors = ["C0"] * n
    else:
        imp = check_vector(importance, "importance", length=n)
        span = float(np.ptp(imp)) or 1.0
        colors = matplotlib.colormaps[cmap]((imp - imp.min()) / span if np.isfinite(span) else imp * 0)
    top = float(np.max(np.abs(W)))
    if top == 0.0 or not np.isfinite(top * top):
        raise ValueError(
            f"W's largest entry must be nonzero and below 1e154 to draw it in the plane; got {top:.3g}."
        )
    r = max(float(np.max(np.linalg.norm(W, axis=1))), 1e-300) * 1.15
    for w, c in zip(W, colors, strict=True):
        ax.plot([0, w[0]], [0, w[1]], color=c, lw=1.5)
        ax.plot([w[0]], [w[1]], "o", color=c, ms=4)
    ax.set_xlim(-r, r)
    ax.set_ylim(-r, r)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)
    return ax


def plot_gram(ax, W, *, order=None, groups=None, normalize=False, cmap: str = "RdBu_r", colorbar=True):
    """Draw the Gram matrix ``W Wᵀ``, rows optionally re-ordered and split into groups.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    W : array_like, shape (n, d)
    order : array_like of int, optional
        Row order (e.g. the concatenated factors of :func:`packing.tegum_factors`).
    groups : sequence of int, optional
        Sizes of consecutive groups in that order; lines are drawn between them.
    normalize : bool
        Draw cosines instead of inner products.
    cmap : str
        A diverging colormap; the colour scale is symmetric about 0.
    colorbar : bool

    Returns
    -------
    matplotlib.image.AxesImage

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> W = np.vstack([np.eye(2), -np.eye(2)])
    >>> plot_gram(ax, W, order=[0, 2, 1, 3], groups=[2, 2]).get_array().shape
    (4, 4)
    >>> plot_gram(ax, W, order=[0, 0, 1, 2])
    Traceback (most recent call last):
    ...
    ValueError: order must hold distinct row indices in [0, 4); got [0, 0, 1, 2].
    >>> plt.close(fig)
    """
    check_axes(ax)
    W = check_packing(W).astype(np.float64)
    n = W.shape[0]
    check_memory(24 * n * n, "plot_gram", "the n x n Gram matrix and its image", n=n)
    cmap = _check_cmap(cmap)
    colorbar = check_bool(colorbar, "colorbar")
    if check_bool(normalize, "normalize"):
        W = unit_rows(W)
    if order is not None:
        order = np.array(check_int_table(order, "order", minimum=0, item="row index"))
        if len(set(order.tolist())) != order.size or order.max() >= n:
            raise ValueError(f"order must hold distinct row indices in [0, {n}); got {order.tolist()}.")
        W = W[order]
    if groups is not None:
        groups = check_int_table(groups, "groups", minimum=1, item="group size")
        if sum(groups) > W.shape[0]:
            raise ValueError(f"groups must add up to at most the {W.shape[0]} rows drawn; got {groups}.")
    with np.errstate(over="ignore"):
        G = W @ W.T
    vmax = max(float(np.max(np.abs(G))), 1e-300)
    if not np.isfinite(vmax):
        raise ValueError(
            "W's Gram matrix leaves the float range (entries beyond about 1e154); pass normalize=True."
        )
    im = ax.imshow(G, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    if groups is not None:
        for edge in np.cumsum(groups)[:-1]:
            ax.axhline(edge - 0.5, color="k", lw=0.6)
            ax.axvline(edge - 0.5, color="k", lw=0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def plot_feature_dimensionality(ax, x, dimensionality, labels, *, jitter=0.0, rng=None, s: float = 12):
    """Scatter per-feature dimensionality against ``x`` (e.g. ``1/(1 - sparsity)``), coloured by shape.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like, shape (m,)
        One value per point.
    dimensionality : array_like, shape (m,)
    labels : sequence of str, length m
        Shape label of each point's factor (see :attr:`packing.StructureReport.feature_shapes`).
    jitter : float
        Multiplicative horizontal jitter (``x * exp(jitter * N(0, 1))``) to separate points.
    rng : None, int or numpy.random.Generator
    s : float
        Marker size.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = plot_feature_dimensionality(ax, [1, 1, 10], [1.0, 0.5, 0.4], ["dedicated", "digon", "pentagon"])
    >>> [t.get_text() for t in ax.legend().get_texts()]
    ['dedicated (1)', 'digon (1)', 'pentagon (1)']
    >>> plot_feature_dimensionality(ax, [1], [1.0, 0.5], ["digon"])
    Traceback (most recent call last):
    ...
    ValueError: x, dimensionality and labels must be 1-D of one length; got shapes (1,), (2,), (1,).
    >>> plt.close(fig)
    """
    check_axes(ax)
    x = check_vector(x, "x")
    D = check_vector(dimensionality, "dimensionality")
    if isinstance(labels, str) or not isinstance(labels, list | tuple | np.ndarray):
        raise TypeError(f"labels must be a sequence of str, one per point; got {_describe(labels)}.")
    labels = np.asarray(labels, dtype=object)
    if not (x.shape == D.shape == labels.shape) or x.ndim != 1:
        raise ValueError(
            f"x, dimensionality and labels must be 1-D of one length; got shapes {x.shape}, "
            f"{D.shape}, {labels.shape}."
        )
    jitter = check_float(jitter, "jitter", minimum=0.0)
    s = check_float(s, "s", minimum=0.0, strict_min=True)
    if jitter and np.any(x <= 0):
        raise ValueError("x must be > 0 with a multiplicative jitter; got a value <= 0.")
    rng = check_rng(rng)
    xs = x * np.exp(jitter * rng.normal(size=x.shape)) if jitter else x
    previous = None
    for name, frac in sorted(SHAPE_FRACTIONS.items(), key=lambda item: item[1]):
        ax.axhline(frac, color="0.85", lw=0.8, zorder=0)
        # two fractions closer than a label's height (2/5 and 3/8): the lower label below its line
        crowded = previous is not None and frac - previous < 0.05
        va = "bottom" if crowded else "center"
        if not crowded and any(0 < f - frac < 0.05 for f in SHAPE_FRACTIONS.values()):
            va = "top"
        ax.text(1.0, frac, f" {name}", transform=ax.get_yaxis_transform(), va=va, fontsize=7)
        previous = frac
    colors = _shape_colors(labels)
    for label, color in colors.items():
        mask = labels == label
        ax.scatter(xs[mask], D[mask], s=s, color=color, label=f"{label} ({int(mask.sum())})", alpha=0.85)
    ax.set_ylabel("feature dimensionality")
    ax.set_ylim(-0.02, 1.05)
    return ax


__all__ += ["plot_features_2d", "plot_gram", "plot_feature_dimensionality", "SHAPE_FRACTIONS"]


def plot_coherence_curves(ax, n, curves: dict, *, styles: dict | None = None, d: int | None = None):
    """Draw coherence against the number of lines ``n``: one line per named curve.

    Parameters
    ----------
    ax : matplotlib Axes
    n : array_like, shape (m,)
        Numbers of lines.
    curves : dict of str → array_like, shape (m,)
        E.g. ``{"record": ..., "optimizer": ..., "random": ..., "Welch": ...}``;
        NaN marks a value that does not exist (a bound outside its range).
        Names containing "bound" or a known bound name are drawn dashed.
    styles : dict of str → dict, optional
        Extra keyword arguments per curve name for ``ax.plot``.
    d : int, optional
        Dimension, for the title.

    Returns
    -------
    ax

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = plot_coherence_curves(ax, [4, 5, 6], {"Welch": [0.33, 0.41, 0.45]}, d=3)
    >>> ax.get_title()
    'n lines in R^3'
    >>> plot_coherence_curves(ax, [4, 5], {"Welch": [0.3]})
    Traceback (most recent call last):
    ...
    ValueError: curves['Welch'] must have the shape of n, (2,); got (1,).
    >>> plt.close(fig)
    """
    check_axes(ax)
    n = check_vector(n, "n")
    if not isinstance(curves, dict):
        raise TypeError(f"curves must be a dict of name -> values; got {_describe(curves)}.")
    if styles is not None and not isinstance(styles, dict):
        raise TypeError(f"styles must be None or a dict of name -> keyword dict; got {_describe(styles)}.")
    if d is not None:
        d = check_int(d, "d")
    bound_names = ("bound", "welch", "orthoplex", "levenstein", "bukh", "lp")
    for name, values in curves.items():
        if not isinstance(name, str):
            raise TypeError(f"curves must have str names; got the key {_describe(name)}.")
        if np.shape(values) != n.shape:
            raise ValueError(f"curves[{name!r}] must have the shape of n, {n.shape}; got {np.shape(values)}.")
        values = check_vector(values, f"curves[{name!r}]", allow_nan=True)
        style = (styles or {}).get(name, {})
        if not isinstance(style, dict):
            raise TypeError(f"styles[{name!r}] must be a dict of ax.plot keywords; got {_describe(style)}.")
        kw = {"lw": 1.2}
        if any(b in name.lower() for b in bound_names):
            kw.update(ls="--", lw=1.0)
        kw.update(style)
        _draw(ax.plot, "plot_coherence_curves", n, values, label=name, **kw)
    ax.set_xlabel("number of lines n")
    ax.set_ylabel("coherence max |cos|")
    if d is not None:
        ax.set_title(f"n lines in R^{d}")
    return ax


__all__ += ["plot_coherence_curves"]
