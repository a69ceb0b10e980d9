"""Getting a packing back from activations: TopK and L1 sparse autoencoders against SVD (issue #15).

Extends the sparse-coding toy of Sharkey, Braun & Millidge (2022, "Taking
features out of superposition with sparse autoencoders") to ground truths of
known geometry; panels (a)-(c) have no published counterpart. The truth is a
packing ``W`` (n unit rows in d dims); each sample is a sum of a few rows with
random positive coefficients (:func:`packing.sae.sparse_activations`). Every
recovery is the Hungarian-matched mean ``|cos|`` between true rows and learned
directions, divided by ``n`` (MCC; panel d: the mean best ``|cos|`` per true
feature, MMCS, as in Sharkey et al.).

(a) Recovery against the packing's coherence relative to the Welch bound, one
    marker per construction (ETF, tegum products of digons / triangles /
    pentagons / tetrahedra, overlapping orthonormal sets, random, optimizer
    packings and optimizer + noise; key under the figure), at (n, d) = (30, 15)
    and (24, 18) with 4 active features per sample: TopK SAE (filled, k = 4,
    2n latents, best of 2 seeds, 2,000 steps on 20,000 samples) and SVD of the
    centred activations (hollow, sign-free ``|cos|``). Dotted: the Welch bound,
    which no packing passes.
(b) The same against the active features per sample at (30, 15) (dashed: SVD).
(c) SAE against SVD as n/d grows (random packings, d = 8, 2 active): SVD has
    only d directions, so its MCC cannot pass min(1, d/n) (dotted).
(d) Sharkey et al.'s toy scaled down from 512 features in 256 dims to 128 in
    64 (5 active per sample, geometric feature frequencies, 40,000 samples, 3,000
    steps): MMCS of L1 SAEs against the penalty, for dictionaries of 0.5n, n and
    2n latents; dashed: SVD.

What differs from Sharkey et al.: smaller sizes, fewer dictionary sizes and
shorter training (numpy, CPU; ``--sharkey-full`` of the benchmark script runs
their size). Quick mode (a test, not a
result) uses 6 features in 3 dims and 60 training steps. The numbers are
those of ``scripts/bench_sae_recovery.py`` (same functions, same seeds); each
point is a cell of the sweep tasks ``sae_recovery_point`` / ``sae_penalty_point``
(all cores, cached cell by cell in ``.cache/sweep``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from ..sae import _benchmark as bench
from ._kit import PAGE_WIDTH, FigureRun, integer_ticks, plain_log_ticks, run_figure_cli

MARKERS = dict(zip(bench.FAMILIES, "o^vs*DPXh", strict=True))
SVD_GREY = "0.45"


def _panel_geometry(ax, geo):
    rel = geo["coherence"] / geo["welch"]
    for family in bench.FAMILIES:
        sel = geo["family"] == family
        if not sel.any():
            continue
        mk = MARKERS[family]
        ax.plot(rel[sel], geo["sae_mcc"][sel], mk, color="C0", ls="none", label=family)
        ax.plot(rel[sel], geo["svd_mcc"][sel], mk, color=SVD_GREY, mfc="none", ls="none")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # the ratios span less than a decade
    plain_log_ticks(ax, "x")
    ax.axvline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xlabel("coherence / Welch bound")
    ax.set_ylabel("MCC (Hungarian matching)")
    ax.set_ylim(0, 1.05)
    shapes = sorted({(int(n), int(d)) for n, d in zip(geo["n"], geo["d"], strict=True)}, reverse=True)
    where = " and ".join(f"({n}, {d})" for n, d in shapes)
    ax.set_title(f"(a) geometry, (n, d) = {where}\n{float(geo['n_active']):g} active per sample")


def _panel_density(ax, dens):
    for i, family in enumerate(dict.fromkeys(dens["family"].tolist())):
        sel = dens["family"] == family
        a = dens["n_active"][sel]
        ax.plot(a, dens["sae_mcc"][sel], "-", marker=MARKERS[family], color=f"C{i}", label=family)
        ax.plot(a, dens["svd_mcc"][sel], "--", marker=MARKERS[family], mfc="none", color=f"C{i}")
    integer_ticks(ax, "x")
    ax.set_xlabel("active features per sample")
    ax.set_ylabel("MCC")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"(b) density, n={int(dens['n'][0])}, d={int(dens['d'][0])}\nsolid: TopK SAE, dashed: SVD")


def _panel_ratio(ax, ratio):
    x = ratio["n"] / ratio["d"]
    ax.plot(x, ratio["sae_mcc"], "o-", color="C0", label="TopK SAE")
    ax.plot(x, ratio["svd_mcc"], "s--", color=SVD_GREY, mfc="none", label="SVD")
    grid = np.linspace(x.min(), x.max(), 100)
    ax.plot(grid, np.minimum(1.0, 1.0 / grid), ":", color="k", label="SVD ceiling min(1, d/n)")
    ax.set_xlabel("features per dimension n/d")
    ax.set_ylabel("MCC")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"(c) SAE vs SVD as n/d grows\nrandom packings, d={int(ratio['d'][0])}")


def _panel_penalty(ax, pen):
    for i, r in enumerate(np.unique(pen["ratio"])):
        sel = pen["ratio"] == r
        ax.plot(pen["penalty"][sel], pen["mmcs"][sel], "o-", color=f"C{i}", label=f"L1 SAE, {r:g}·n latents")
    ax.axhline(float(pen["svd_mmcs"]), color=SVD_GREY, ls="--", label="SVD")
    ax.set_xscale("log")
    ax.set_xticks(np.unique(pen["penalty"]))
    plain_log_ticks(ax, "x")
    ax.set_xlabel("L1 penalty λ")
    ax.set_ylabel("MMCS (truth → learned)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"(d) Sharkey et al.'s toy\nn={int(pen['n'])}, d={int(pen['d'])}")


def draw(axes, geo, dens, ratio, pen) -> None:
    """Draw the four panels on a 2×2 array of axes from the benchmark's tables, with their keys.

    Panel (a)'s key of constructions and marker fills goes under the figure,
    the others' keys below their panels, so that no key sits on data.
    """
    _panel_geometry(axes[0, 0], geo)
    _panel_density(axes[0, 1], dens)
    _panel_ratio(axes[1, 0], ratio)
    _panel_penalty(axes[1, 1], pen)
    for ax in (axes[0, 1], axes[1, 0], axes[1, 1]):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    families = [f for f in bench.FAMILIES if (geo["family"] == f).any()]
    handles = [Line2D([], [], color="0.2", marker=MARKERS[f], ls="none", label=f) for f in families]
    handles += [
        Line2D([], [], color="C0", marker="o", ls="none", label="filled: TopK SAE"),
        Line2D([], [], color=SVD_GREY, marker="o", mfc="none", ls="none", label="hollow: SVD"),
    ]
    axes[0, 0].figure.legend(
        handles=handles, loc="outside lower center", ncol=4, frameon=False, title="(a): constructions"
    )


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    with FigureRun(out_dir, force=force) as run:
        # every point is a cell of a cached sweep on all cores (one process in quick mode)
        tables = {
            name: fn(quick=quick, seed=seed, run=run)
            for name, fn in (
                ("geo", bench.geometry_benchmark),
                ("dens", bench.density_sweep),
                ("ratio", bench.ratio_sweep),
                ("pen", bench.penalty_sweep),
            )
        }
        fig, axes = run.figure(2, 2, figsize=(PAGE_WIDTH, 7.6))
        fig.set_layout_engine("constrained")
        draw(axes, **tables)
        run.save(fig, "sae_recovery", facts=tables)
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
