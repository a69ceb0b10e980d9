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
* ``learned_moments``: the positive interference ``Σ_{i<j} max(cos θ_ij, 0)^p``
  (``p = 1, 2``) and the largest positive overlap of the learned packing, the
  part a ReLU output passes (a negative bias filters the rest, so antipodal
  pairs cost nothing); its ideal tegum product is drawn only where it differs
  by more than 5% (it coincides elsewhere). The earlier version's unsigned
  moments drew antipodal pairs as maximal interference, and its predicted
  optimum (:func:`packing.optimal_partition`, an unsigned objective) is left
  out: it says nothing about the signs a ReLU model chooses.

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
    plot_feature_dimensionality,
    plot_gram,
    signed_interference,
    train_toy_model,
)
from ._kit import FigureRun, plain_log_ticks, run_figure_cli

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
    fig, axes = run.figure(1, 2, figsize=(7.0, 3.4))
    plot_gram(axes[0], W[k], order=order, groups=report.factors.sizes)
    plot_gram(axes[1], ideal, order=np.searchsorted(kept, order), groups=report.factors.sizes)
    n, d = W.shape[1], W.shape[2]
    axes[0].set_title(
        f"learned W Wᵀ, n = {n}, d = {d}, S = {S[k]:.3g}\nrows by detected factor", fontsize="small"
    )
    axes[1].set_title(f"ideal tegum product:\n{report.description}", fontsize="small")
    fig.tight_layout()
    return fig


def _dimensionality_figure(run, W, reports, S):
    x, D, labels = [], [], []
    for Wk, r, s in zip(W, reports, S, strict=True):
        dims = feature_dimensionality(Wk)
        x.extend([1 / (1 - s)] * len(dims))
        D.extend(dims)
        labels.extend(r.feature_shapes)
    fig, ax = run.figure(figsize=(5.0, 3.2))
    plot_feature_dimensionality(ax, x, D, labels, jitter=0.03, rng=0)
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 - S)   (S: probability a feature is zero)")
    ax.legend(loc="upper right", title="detected shape")
    ax.set_title(f"feature dimensionality of {W.shape[1]} features in d = {W.shape[2]}")
    fig.tight_layout()
    return fig


#: Orders of the positive-interference panels (inf: the largest positive overlap).
PS_POSITIVE = (1.0, 2.0, np.inf)
#: The ideal tegum product is drawn only where it differs from the learned packing by more than this.
DIFFERS = 0.05


def _moments(W, reports):
    """Positive interference ``Σ_{i<j} max(cos, 0)^p`` of the learned packing and its ideal tegum product."""
    out = {"learned": [], "ideal tegum": []}
    for Wk, r in zip(W, reports, strict=True):
        kept = np.setdiff1d(np.arange(len(Wk)), r.factors.dropped)
        s = signed_interference(Wk[kept], PS_POSITIVE)
        out["learned"].append([s.positive[p] for p in PS_POSITIVE])
        try:
            ideal = signed_interference(ideal_tegum_product(Wk, r), PS_POSITIVE)
            out["ideal tegum"].append([ideal.positive[p] for p in PS_POSITIVE])
        except ValueError:  # not block-orthogonal: no tegum product to compare with
            out["ideal tegum"].append([np.nan] * len(PS_POSITIVE))
    return {k: np.array(v) for k, v in out.items()}


def _moments_figure(run, moments, S, n, d):
    x = 1 / (1 - S)
    fig, axes = run.figure(1, len(PS_POSITIVE), figsize=(7.0, 2.6))
    learned, ideal = moments["learned"], moments["ideal tegum"]
    # relative to the value, or to the panel's scale near 0 (antipodal pairs: both ~0, no difference)
    scale = np.maximum(np.abs(learned), 0.02 * np.nanmax(np.abs(learned), axis=0, initial=1e-12))
    differs = np.abs(ideal - learned) > DIFFERS * scale
    for j, (ax, p) in enumerate(zip(axes, PS_POSITIVE, strict=True)):
        ax.plot(x, learned[:, j], "o-", color="C0", ms=3.5, label="learned")
        shown = differs[:, j]
        ax.plot(
            x[shown],
            ideal[shown, j],
            "s",
            mfc="none",
            color="C1",
            ms=5,
            label="ideal tegum (where it differs)",
        )
        ax.set_xscale("log")
        ax.set_xlabel("1 / (1 - S)")
        if np.isinf(p):
            ax.set_title("largest positive overlap")
            ax.set_ylabel(r"$\max_{i<j}\,\max(\cos\theta_{ij}, 0)$")
        else:
            ax.set_title(f"positive interference, p = {p:g}")
            ax.set_ylabel(rf"$\sum_{{i<j}}\max(\cos\theta_{{ij}}, 0)^{{{p:g}}}$")
        plain_log_ticks(ax, "x")
    fig.suptitle(
        f"n = {n} features in d = {d}: interference a ReLU passes (antipodal pairs count 0);\n"
        f"the ideal tegum product agrees within {DIFFERS:.0%} except at the squares",
        fontsize="small",
    )
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig, {"learned": learned, "ideal": ideal, "differs": differs}


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
        fig, facts = _moments_figure(run, _moments(W, reports), S, n, d)
        facts.update(W=W, dropped=[r.factors.dropped for r in reports])
        run.save(fig, "learned_moments", facts=facts)
        table = compare_packings(W, include=("ideal", "partition", "random"), rng=seed)
        run.save_text("learned_sweep_comparison.csv", table.to_csv())
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
