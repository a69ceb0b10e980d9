"""Getting a packing back from activations: TopK and L1 sparse autoencoders against SVD (issue #15).

(a) Recovery (Hungarian MCC) of known packings against their coherence relative
    to the Welch bound, one marker per construction (ETF, tegum products of
    digons / triangles / pentagons / tetrahedra, overlapping orthonormal sets,
    random, optimizer packings and optimizer + noise), at (n, d) = (30, 15) and
    (24, 18) with 4 active features per sample: TopK SAE (filled, best of 2
    seeds, 2n latents) and SVD (hollow, sign-free |cos|).
(b) The same against the active features per sample at (30, 15).
(c) SAE against SVD as n/d grows (random packings, d = 8): SVD's MCC can never
    pass min(1, d/n) (dotted), it has only d directions.
(d) The sparse-coding toy of Sharkey et al. (2022), scaled down to 128
    features in 64 dims: MMCS of L1 SAEs against the penalty, per dictionary size.

The numbers are those of ``scripts/bench_sae_recovery.py`` (same functions, same seeds).
"""

from __future__ import annotations

import numpy as np

from ..sae import _benchmark as bench
from ._kit import FigureRun, run_figure_cli

MARKERS = dict(zip(bench.FAMILIES, "o^vs*DPXh", strict=True))


def _panel_geometry(ax, geo):
    rel = geo["coherence"] / geo["welch"]
    for family in bench.FAMILIES:
        sel = geo["family"] == family
        if not sel.any():
            continue
        mk = MARKERS[family]
        ax.plot(rel[sel], geo["sae_mcc"][sel], mk, color="C0", ls="none", label=family)
        ax.plot(rel[sel], geo["svd_mcc"][sel], mk, color="0.45", mfc="none", ls="none")
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xlabel("coherence / Welch bound")
    ax.set_ylabel("MCC (Hungarian matching)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"(a) geometry, {float(geo['n_active']):g} active per sample\nfilled: TopK SAE, hollow: SVD")
    ax.legend(fontsize=7, loc="center", ncol=3)  # between the SAE (near 1) and SVD (below 0.5) markers


def _panel_density(ax, dens):
    for i, family in enumerate(dict.fromkeys(dens["family"].tolist())):
        sel = dens["family"] == family
        a = dens["n_active"][sel]
        ax.plot(a, dens["sae_mcc"][sel], "-", marker=MARKERS[family], color=f"C{i}", label=f"{family} SAE")
        ax.plot(a, dens["svd_mcc"][sel], "--", marker=MARKERS[family], mfc="none", color=f"C{i}")
    ax.set_xlabel("active features per sample")
    ax.set_ylabel("MCC")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"(b) density, n={int(dens['n'][0])}, d={int(dens['d'][0])} (dashed: SVD)")
    ax.legend(fontsize=7)


def _panel_ratio(ax, ratio):
    x = ratio["n"] / ratio["d"]
    ax.plot(x, ratio["sae_mcc"], "o-", color="C0", label="TopK SAE")
    ax.plot(x, ratio["svd_mcc"], "s--", color="0.45", mfc="none", label="SVD")
    grid = np.linspace(x.min(), x.max(), 100)
    ax.plot(grid, np.minimum(1.0, 1.0 / grid), ":", color="k", label="SVD ceiling min(1, d/n)")
    ax.set_xlabel("features per dimension $n/d$")
    ax.set_ylabel("MCC")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"(c) SAE vs SVD as n/d grows, d={int(ratio['d'][0])}")
    ax.legend(fontsize=7)


def _panel_penalty(ax, pen):
    for i, r in enumerate(np.unique(pen["ratio"])):
        sel = pen["ratio"] == r
        ax.plot(pen["penalty"][sel], pen["mmcs"][sel], "o-", color=f"C{i}", label=f"{r:g}·n latents")
    ax.axhline(float(pen["svd_mmcs"]), color="0.45", ls="--", label="SVD")
    ax.set_xscale("log")
    ax.set_xlabel("L1 penalty λ")
    ax.set_ylabel("MMCS (truth → learned)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"(d) Sharkey et al.'s toy, n={int(pen['n'])}, d={int(pen['d'])}")
    ax.legend(fontsize=7)


def draw(axes, geo, dens, ratio, pen) -> None:
    """Draw the four panels on a 2×2 array of axes from the benchmark's tables."""
    _panel_geometry(axes[0, 0], geo)
    _panel_density(axes[0, 1], dens)
    _panel_ratio(axes[1, 0], ratio)
    _panel_penalty(axes[1, 1], pen)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    with FigureRun(out_dir, force=force) as run:
        tables = {
            name: run.cached(fn, quick=quick, seed=seed)
            for name, fn in (
                ("geo", bench.geometry_benchmark),
                ("dens", bench.density_sweep),
                ("ratio", bench.ratio_sweep),
                ("pen", bench.penalty_sweep),
            )
        }
        fig, axes = run.figure(2, 2, figsize=(11, 8.8))
        draw(axes, **tables)
        fig.tight_layout()
        run.save(fig, "sae_recovery")
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
