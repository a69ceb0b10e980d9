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
