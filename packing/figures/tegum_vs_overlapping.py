"""Tegum products vs overlapping orthogonal sets: loss regimes, orthogonal pairs, optimal partitions.

(a) Loss L(k) of k equal tegum blocks (Welch-value tight frames) against k for
    n = 120, d = 60, relative to one block: falls with k for p < 2, flat at
    p = 2 (n²/d − n), rises for p > 2. Crosses: measured on built tegum
    products with exact blocks (k = 20 icosahedra, k = 60 digons).
(b) Fraction of pairs exactly orthogonal vs n/d at d = 32: tegum products with
    k blocks, overlapping orthonormal sets and the Turán bound (lines: exact
    formulas; markers: counted on built packings).
(c, d) Optimal subspace partition (exact DP) over (n/d, p) at d = 12 with
    Welch-ideal block costs (c) and with only the exact packings built here
    (d: orthonormal, coincident, polygon lines, real ETFs): number of blocks
    k*; white dots mark uneven optima (blocks of unequal sizes).

No single published figure: panel (a) and (b) illustrate the tegum-product
argument of Elhage et al. (2022, "Toy Models of Superposition", "The Geometry
of Superposition") with this toolkit's closed forms checked on built packings;
Turán's bound is Turán's theorem on graphs without a (d+1)-clique.
"""

from __future__ import annotations

import numpy as np

from .. import (
    interference_moment,
    optimal_partition,
    orthogonal_pairs,
    overlapping_orthogonal_pairs,
    overlapping_orthogonal_sets,
    plot_tegum_losses,
    tegum_loss,
    tegum_orthogonal_pairs,
    tegum_packing,
    turan_orthogonal_pairs,
    turan_packing,
)
from ._kit import FigureRun, add_colorbar, plain_log_ticks, run_figure_cli

PS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


#: One clearly visible colour per p (blue below 2, black at 2, red above): no pale middle of a colour map.
P_COLORS = ("#08306b", "#2171b5", "#6baed6", "k", "#ef6548", "#b30000")


def _panel_losses(ax):
    n, d = 120, 60
    plot_tegum_losses(ax, n, d, PS)
    for i, color in enumerate(P_COLORS):  # each p: its curve, then the ring on its optimal k
        ax.lines[2 * i].set_color(color)
        ax.lines[2 * i + 1].set_color(color)
    # measured on built tegum products whose blocks are exact tight frames at the Welch value:
    # k = 20 icosahedral blocks (6 lines in R^3), k = 60 digons (2 lines in R^1)
    for i, p in enumerate(PS):
        color = ax.lines[2 * i].get_color()
        for k in (20, 60):
            W = tegum_packing(n, d, k, block="best", rotate=True, rng=k)
            measured = 2 * interference_moment(W, p)  # ordered pairs
            ax.plot([k], [measured / tegum_loss(n, d, 1, p)], "x", color=color, ms=7)
    ax.set_title(
        f"(a) $k$ equal tegum blocks, n = {n}, d = {d}\n"
        "lines: closed form; ×: measured on built W; ○: optimal k"
    )
    ax.set_xticks([1, 2, 5, 10, 20, 60])
    plain_log_ticks(ax, "x")
    ax.legend(ncol=2)


def _panel_orthogonal(ax, quick, seed):
    d = 8 if quick else 32
    ratios = np.arange(2, 9 if quick else 17)
    ns = ratios * d
    pairs = ns * (ns - 1) / 2
    for k, style in ((2, "-"), (4, "--"), (d, "-.")):
        exact = [tegum_orthogonal_pairs([n // k] * k) for n in ns]
        ax.plot(ratios, exact / pairs, style, color="C0", label=f"tegum, k={k}")
    overlap = [overlapping_orthogonal_pairs(n, d) for n in ns]
    ax.plot(ratios, overlap / pairs, color="C3", label="overlapping sets")
    ax.plot(ratios, [turan_orthogonal_pairs(n, d) for n in ns] / pairs, ":", color="k", label="Turán bound")
    # counted on built packings (a few n only)
    rng = np.random.default_rng(seed)
    for n, r in zip(ns[::3], ratios[::3], strict=True):
        built = (
            (tegum_packing(n, d, 4, block="random", rng=rng), "C0"),
            (overlapping_orthogonal_sets(n, d, rng=rng), "C3"),
            (turan_packing(n, d), "k"),
        )
        for W, color in built:
            ax.plot(r, orthogonal_pairs(W) / (n * (n - 1) / 2), "o", mfc="none", color=color)
    ax.set_xlabel("features per dimension $n/d$")
    ax.set_ylabel("fraction of pairs exactly orthogonal")
    ax.set_title(f"(b) orthogonal pairs, d = {d}, n = {ns[0]}…{ns[-1]}\nlines: exact; ○: counted on built W")
    ax.set_ylim(0, 1.32)  # room for the legend above the data
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.legend(loc="upper center", ncol=2, fontsize="x-small")


def partition_map(d: int, ns, ps, cost: str) -> dict:
    """Count the blocks of the optimal partition (and flag uneven ones) over (p, n) at dimension d."""
    ks = np.zeros((len(ps), len(ns)))
    uneven = np.zeros_like(ks)
    for j, n in enumerate(ns):
        for i, p in enumerate(ps):
            res = optimal_partition(int(n), d, float(p), cost=cost, build=False)
            ks[i, j] = res.k
            uneven[i, j] = not res.is_even
    return {"d": d, "ratios": ns / d, "ps": ps, "ks": ks, "uneven": uneven}


def _panel_partition(ax, data, title):
    ratios, ps, ks = data["ratios"], data["ps"], data["ks"]
    mesh = ax.pcolormesh(ratios, ps, ks, shading="nearest", cmap="viridis", vmin=1, vmax=data["d"])
    ii, jj = np.nonzero(data["uneven"])
    ax.scatter(ratios[jj], ps[ii], marker=".", s=6, color="w")
    ax.axhline(2.0, color="w", ls="--", lw=0.8)
    ax.set_yscale("log")
    ax.set_yticks([0.25, 0.5, 1, 2, 4, 8])
    plain_log_ticks(ax, "y")
    ax.set_xlabel("features per dimension $n/d$")
    ax.set_ylabel("moment order $p$")
    ax.set_title(title)
    bar = add_colorbar(ax, mesh, "number of blocks $k^*$")
    bar.set_ticks(range(1, int(data["d"]) + 1, max(1, int(data["d"]) // 6)))


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    d = 4 if quick else 12
    ns = np.arange(d, (3 if quick else 6) * d + 1)
    ps = np.geomspace(0.25, 8, 4 if quick else 25)
    with FigureRun(out_dir, force=force) as run:
        fig, axes = run.figure(2, 2, figsize=(7.0, 6.4))
        _panel_losses(axes[0, 0])
        _panel_orthogonal(axes[0, 1], quick, seed)
        for ax, cost, title in (
            (axes[1, 0], "welch", "(c) optimal partition, Welch-ideal blocks"),
            (axes[1, 1], "known", "(d) optimal partition, exact known blocks"),
        ):
            data = run.cached(partition_map, d=d, ns=ns, ps=ps, cost=cost)
            n_range = f"n = {ns[0]}…{ns[-1]}"
            _panel_partition(
                ax, data, f"{title}\nd = {int(data['d'])}, {n_range} (white dots: uneven optimum)"
            )
        fig.tight_layout()
        run.save(fig, "tegum_vs_overlapping")
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
