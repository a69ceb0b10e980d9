"""Geometry of toy models learned across sparsity, read out and compared with theory.

One sparsity sweep of the ReLU toy model (``n = 20`` features of equal
importance in ``d = 8`` dimensions, best of 2 seeds per instance) feeds three
figures:

* ``learned_gram``: the Gram matrix ``W Wᵀ`` of one learned model, rows
  re-ordered by detected tegum factor, next to the Gram matrix of the ideal
  tegum product with the same partition (each factor replaced by its matched
  ideal shape);
* ``learned_dimensionality``: every feature's dimensionality against
  ``1 / (1 - S)``, coloured by the detected shape of its factor (grey lines:
  the fractions of the ideal shapes);
* ``learned_moments``: the interference moments ``M_p = Σ_{i<j} |cos|^p``
  (``p = 1, 2, 4``) and the coherence of the learned packing, of its ideal
  tegum product, and of the partition :func:`packing.optimal_partition`
  predicts optimal at that ``p`` for the same number of represented features.

The full comparison table (:func:`packing.compare_packings`) is written next to
the figures as ``learned_sweep_comparison.csv``.
"""

from __future__ import annotations

import numpy as np

from .. import (
    analyze_structure,
    compare_packings,
    feature_dimensionality,
    ideal_tegum_product,
    interference_moments,
    optimal_partition,
    plot_feature_dimensionality,
    plot_gram,
    train_toy_model,
)
from ._kit import FigureRun, run_figure_cli

PS = (1.0, 2.0, 4.0, np.inf)


def _gram_figure(run, W, reports, S):
    """Gram of the instance with the most features in identified shapes beyond digons (then most shapes)."""
    score = [
        (
            sum(s.n_points for s in r.shapes if s.matched and s.n_points > 2),
            len({s.label for s in r.shapes if s.matched}),
            sum(s.matched for s in r.shapes),
            k,
        )
        for k, r in enumerate(reports)
    ]
    k = max(score)[-1]
    report = reports[k]
    # rows: factor by factor, inside a factor in the order of the matched template's points
    pairs = zip(report.factors.factors, report.shapes, strict=True)
    order = np.concatenate([f[s.order] if s.matched else f for f, s in pairs])
    kept = np.setdiff1d(np.arange(W.shape[1]), report.factors.dropped)
    ideal = ideal_tegum_product(W[k], report)  # row i <-> represented feature kept[i]
    fig, axes = run.figure(1, 2, figsize=(9, 4.2))
    plot_gram(axes[0], W[k], order=order, groups=report.factors.sizes)
    plot_gram(axes[1], ideal, order=np.searchsorted(kept, order), groups=report.factors.sizes)
    axes[0].set_title(f"learned W Wᵀ (S = {S[k]:.3g}), rows by factor")
    axes[1].set_title(f"ideal tegum product: {report.description}")
    fig.tight_layout()
    return fig


def _dimensionality_figure(run, W, reports, S):
    x, D, labels = [], [], []
    for Wk, r, s in zip(W, reports, S, strict=True):
        dims = feature_dimensionality(Wk)
        x.extend([1 / (1 - s)] * len(dims))
        D.extend(dims)
        labels.extend(r.feature_shapes)
    fig, ax = run.figure(figsize=(7, 4))
    plot_feature_dimensionality(ax, x, D, labels, jitter=0.03, rng=0)
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 - S)   (S: probability a feature is zero)")
    ax.legend(loc="upper right", title="detected shape")
    ax.set_title(f"feature dimensionality of {W.shape[1]} features in d = {W.shape[2]}")
    fig.tight_layout()
    return fig


def _moments(W, reports):
    """Learned, ideal-tegum and predicted-optimal moments for every instance and order."""
    d = W.shape[2]
    out = {"learned": [], "ideal tegum": [], "predicted optimum": []}
    for Wk, r in zip(W, reports, strict=True):
        kept = np.setdiff1d(np.arange(len(Wk)), r.factors.dropped)
        out["learned"].append(interference_moments(Wk[kept], PS))
        try:
            out["ideal tegum"].append(interference_moments(ideal_tegum_product(Wk, r), PS))
        except ValueError:  # not block-orthogonal: no tegum product to compare with
            out["ideal tegum"].append(np.full(len(PS), np.nan))
        n = len(kept)
        out["predicted optimum"].append(
            [interference_moments(optimal_partition(n, d, p, rng=0).W, [p])[0] for p in PS]
        )
    return {k: np.array(v) for k, v in out.items()}


def _moments_figure(run, moments, S):
    x = 1 / (1 - S)
    fig, axes = run.figure(1, len(PS), figsize=(13, 3.3))
    styles = {"learned": ("o-", "C0"), "ideal tegum": ("s--", "C1"), "predicted optimum": ("^:", "C2")}
    for j, (ax, p) in enumerate(zip(axes, PS, strict=True)):
        for name, values in moments.items():
            marker, color = styles[name]
            ax.plot(x, values[:, j], marker, color=color, label=name, ms=4)
        ax.set_xscale("log")
        ax.set_xlabel("1 / (1 - S)")
        ax.set_title("coherence" if np.isinf(p) else f"M_{p:g} = Σ |cos|^{p:g}")
    axes[0].legend()
    fig.tight_layout()
    return fig


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    if quick:
        n, d, steps, n_seeds, sparsities = 10, 4, 200, 1, (0.0, 0.7, 0.97)
    else:
        n, d, steps, n_seeds = 20, 8, 5000, 2
        sparsities = tuple(float(s) for s in np.round(1 - np.geomspace(1, 0.01, 16), 4))
    config = {"n_features": n, "d": d, "sparsity": list(sparsities), "steps": steps, "batch_size": 1024}
    config.update(lr=3e-3, n_seeds=n_seeds, rng=seed)
    with FigureRun(out_dir, force=force) as run:
        data = run.cached(train_toy_model, **config)
        W, S = data["W"], data["sparsity"][:, 0]
        reports = [analyze_structure(Wk) for Wk in W]
        run.save(_gram_figure(run, W, reports, S), "learned_gram")
        run.save(_dimensionality_figure(run, W, reports, S), "learned_dimensionality")
        run.save(_moments_figure(run, _moments(W, reports), S), "learned_moments")
        table = compare_packings(W, include=("ideal", "partition", "random"), rng=seed)
        run.save_text("learned_sweep_comparison.csv", table.to_csv())
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
