"""Axes-level plots of packings and their statistics.

Every function draws on an ``Axes`` it is given and returns it; nothing here
creates figures, saves or shows. Only the drivers in ``scripts/`` write files.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_packing, check_ps, check_rng
from .analytic import optimal_k, tegum_losses
from .geometry import pairwise_statistics
from .structure.shapes import SHAPE_COLORS, SHAPE_FRACTIONS

__all__ = ["plot_cosine_histogram", "plot_moment_profile"]


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
    W = check_packing(W)
    stats = pairwise_statistics(W, p=(np.inf,), bins=bins)
    counts, edges = stats.histogram
    frac = counts / max(stats.n_pairs, 1)
    ax.stairs(np.where(frac > 0, frac, np.nan), edges, label=label, **kwargs)
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
    W = check_packing(W)
    ps = np.geomspace(0.25, 64, 25) if ps is None else np.asarray(ps, dtype=float)
    stats = pairwise_statistics(W, p=tuple(ps) + (np.inf,))
    vals = np.array([stats.moment(p) for p in ps])
    if normalize:
        vals = (vals / max(stats.n_pairs, 1)) ** (1.0 / ps)
    (line,) = ax.plot(ps, vals, marker=".", label=label, **kwargs)
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
    orders, _ = check_ps(ps, "ps")
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

    colors = __import__("matplotlib").colormaps[cmap]
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

    W = check_packing(W)
    if W.shape[1] != 2:
        raise ValueError(f"W must have 2 columns to be drawn in the plane; got shape {W.shape}.")
    n = W.shape[0]
    if importance is None:
        colors = ["C0"] * n
    else:
        imp = np.asarray(importance, dtype=float)
        if imp.shape != (n,):
            raise ValueError(f"importance must have shape ({n},); got {imp.shape}.")
        span = np.ptp(imp) or 1.0
        colors = matplotlib.colormaps[cmap]((imp - imp.min()) / span)
    r = max(float(np.max(np.linalg.norm(W, axis=1))), 1e-12) * 1.15
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
    W = check_packing(W).astype(np.float64)
    if normalize:
        norms = np.linalg.norm(W, axis=1, keepdims=True)
        W = np.divide(W, norms, out=np.zeros_like(W), where=norms > 0)
    if order is not None:
        order = np.asarray(order, dtype=int)
        if sorted(order.tolist()) != sorted(set(order.tolist())) or order.min(initial=0) < 0 or (
            order.size and order.max() >= W.shape[0]
        ):
            raise ValueError(
                f"order must hold distinct row indices in [0, {W.shape[0]}); got {order.tolist()}."
            )
        W = W[order]
    G = W @ W.T
    vmax = max(float(np.max(np.abs(G))), 1e-12)
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
    x = np.asarray(x, dtype=float)
    D = np.asarray(dimensionality, dtype=float)
    labels = np.asarray(labels, dtype=object)
    if not (x.shape == D.shape == labels.shape) or x.ndim != 1:
        raise ValueError(
            f"x, dimensionality and labels must be 1-D of one length; got shapes {x.shape}, "
            f"{D.shape}, {labels.shape}."
        )
    rng = check_rng(rng)
    xs = x * np.exp(jitter * rng.normal(size=x.shape)) if jitter else x
    for name, frac in SHAPE_FRACTIONS.items():
        ax.axhline(frac, color="0.85", lw=0.8, zorder=0)
        ax.text(1.0, frac, f" {name}", transform=ax.get_yaxis_transform(), va="center", fontsize=7)
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
    n = np.asarray(n, dtype=float)
    if n.ndim != 1:
        raise ValueError(f"n must be 1-D; got shape {n.shape}.")
    bound_names = ("bound", "welch", "orthoplex", "levenstein", "bukh", "lp")
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.shape != n.shape:
            raise ValueError(f"curves[{name!r}] must have the shape of n, {n.shape}; got {values.shape}.")
        kw = {"lw": 1.2}
        if any(b in name.lower() for b in bound_names):
            kw.update(ls="--", lw=1.0)
        kw.update((styles or {}).get(name, {}))
        ax.plot(n, values, label=name, **kw)
    ax.set_xlabel("number of lines n")
    ax.set_ylabel("coherence max |cos|")
    if d is not None:
        ax.set_title(f"n lines in R^{d}")
    return ax


__all__ += ["plot_coherence_curves"]
