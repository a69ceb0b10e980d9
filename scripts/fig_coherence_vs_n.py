"""Coherence of n lines in R^d against n: records, this optimizer, random packings and every lower bound.

For d = 3, 4, 5 and n = d+1 … 40 the top row draws the best known coherence
(Sloane's and Cohn's tables, shipped as :func:`packing.best_known_table`),
``optimize_packing`` with a short budget per cell (stated in the title; the
benchmark ``scripts/bench_packings.py`` uses 15 s), the median coherence of
random Gaussian packings, and the Welch, orthoplex, Levenstein, Bukh–Cox and
certified Delsarte LP lower bounds. The bottom row shows the two gaps on a log
scale: optimizer minus record (how far the search is from the best known) and
record minus the best lower bound (how far the best known could still be from
optimal). Optimizer results are cached in ``.cache/``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from packing import (
    best_known_table,
    bound_table,
    coherence,
    lp_bound,
    optimize_packing,
    plot_coherence_curves,
)
from packing._figures import cached, run_figure_cli, save_figure

BOUNDS = {"welch": "Welch", "orthoplex": "orthoplex", "levenstein": "Levenstein", "bukh_cox": "Bukh–Cox"}
BOUND_COLORS = {
    "Welch": "C0", "orthoplex": "C1", "Levenstein": "C2", "Bukh–Cox": "C4", "LP bound (certified)": "C9",
}
#: Records are rounded to 10 decimals: smaller differences are drawn at this floor.
FLOOR = 1e-10


def _records() -> dict:
    return {(e.d, e.n): e.coherence for e in best_known_table()}


def _compute(d: int, ns, budget: float, seed: int, random_draws: int) -> dict:
    rng = np.random.default_rng(seed)
    ours, rand = [], []
    for n in ns:
        ours.append(optimize_packing(int(n), d, rng=rng, budget=budget).coherence)
        rand.append(np.median([coherence(rng.normal(size=(int(n), d))) for _ in range(random_draws)]))
    return {"n": np.asarray(ns), "ours": np.asarray(ours), "random": np.asarray(rand)}


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    dims = (3,) if quick else (3, 4, 5)
    budget = 0.1 if quick else 1.5
    records = _records()
    fig, axes = plt.subplots(2, len(dims), figsize=(5.2 * len(dims), 7.5), squeeze=False)
    for col, d in enumerate(dims):
        ns = np.arange(d + 1, 8 if quick else 41)
        params = {"d": d, "n": ns.tolist(), "budget": budget, "seed": seed, "draws": 20, "version": 1}
        data = cached(
            "coherence_vs_n", params, lambda d=d, ns=ns: _compute(d, ns, budget, seed, 20),
            cache_dir=".cache", force=force,
        )
        rec = np.array([records.get((d, int(n)), np.nan) for n in ns])
        curves = {"record (Sloane/Cohn)": rec, f"optimizer ({budget:g} s/cell)": data["ours"],
                  "random (median of 20)": data["random"]}
        table = [bound_table(int(n), d) for n in ns]
        for key, label in BOUNDS.items():
            curves[label] = np.array([t[key] if t[key] is not None else np.nan for t in table])
        curves["LP bound (certified)"] = np.array([lp_bound(int(n), d) for n in ns])
        styles = {"record (Sloane/Cohn)": {"color": "k", "lw": 2.5, "alpha": 0.35},
                  f"optimizer ({budget:g} s/cell)": {"color": "C3", "marker": ".", "lw": 1},
                  "random (median of 20)": {"color": "0.5"}}
        styles.update({k: {"color": c} for k, c in BOUND_COLORS.items()})
        ax = plot_coherence_curves(axes[0, col], ns, curves, styles=styles, d=d)
        ax.set_ylim(0, 1.02)
        if col == 0:
            ax.legend(fontsize=7, loc="lower right")
        best_bound = np.nanmax(np.vstack([v for k, v in curves.items() if k in BOUNDS.values()
                                          or k.startswith("LP")]), axis=0)
        gap_ax = axes[1, col]
        floor = FLOOR
        gap_ax.semilogy(ns, np.maximum(data["ours"] - rec, floor), "o-", color="C3", ms=3,
                        label="optimizer − record")
        gap_ax.semilogy(ns, np.maximum(rec - best_bound, floor), "s-", color="C0", ms=3,
                        label="record − best lower bound")
        gap_ax.axhline(1e-4, color="0.6", lw=0.8, ls=":")
        gap_ax.set_xlabel("number of lines n")
        gap_ax.set_ylabel(f"gap (below {floor:g}, the records' rounding: drawn at {floor:g})")
        for a in (ax, gap_ax):
            a.xaxis.get_major_locator().set_params(integer=True)
        if col == 0:
            gap_ax.legend(fontsize=7)
    title = f"Grassmannian line packings: optimizer budget {budget:g} s per cell (seed {seed})"
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return [save_figure(fig, out_dir, "coherence_vs_n")]


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
