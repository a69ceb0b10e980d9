"""Axes-level plots of packings and their statistics.

Every function draws on an ``Axes`` it is given and returns it; nothing here
creates figures, saves or shows. Only the drivers in ``scripts/`` write files.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_packing
from .geometry import pairwise_statistics

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
    from ._validation import check_ps
    from .analytic import optimal_k, tegum_losses

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
    from matplotlib.patches import Rectangle

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
