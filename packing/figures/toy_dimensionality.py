"""Feature dimensionality and "dimensions per feature" of 200 features in 20 dims across sparsity.

Trains the ReLU-output toy model (``n = 200`` features of equal importance in
``d = 20`` dimensions) with the numpy trainer, one instance per sparsity,
best of 2 seeds, and draws the two views of Elhage et al. (2022, "Toy Models of
Superposition", section "Feature dimensionality"):

* top: ``d / ||W||_F²``, the dimensions each represented feature gets, against
  ``1 / (1 - S)``: 1 for dense data, then a sticky plateau at 1/2 (antipodal
  pairs), then further down as features pack more densely;
* bottom: every represented feature's dimensionality
  ``D_i = ||W_i||² / Σ_j (Ŵ_i · W_j)²``, which clusters at the fractions of
  the small shapes: 1, 3/4 (tetrahedron), 2/3 (triangle), 1/2 (digon), 2/5
  (pentagon), 3/8 (square antiprism). Points are coloured by the nearest
  fraction (value only; no structure detection); only features with
  ``||W_i|| > 0.5`` are drawn. At density 1 (equal importance) the run does not
  pick 20 dedicated features within its budget: it spreads a 20-dimensional
  projection over all 200 (norms about 0.4), so that column is empty.
"""

from __future__ import annotations

import numpy as np

from .. import (
    COMMON_SHAPES,
    SHAPE_FRACTIONS,
    feature_dimensionality,
    plot_feature_dimensionality,
    train_toy_model,
)
from ._kit import FigureRun, run_figure_cli

NAMES = {shape.fraction: shape.name for shape in COMMON_SHAPES}


def nearest_shape(D, tol=0.02):
    """Label each dimensionality by the nearest small-shape fraction within ``tol`` (else "other")."""
    names = list(SHAPE_FRACTIONS)
    values = np.array([SHAPE_FRACTIONS[k] for k in names])
    idx = np.argmin(np.abs(D[:, None] - values[None, :]), axis=1)
    close = np.abs(D - values[idx]) <= tol
    return [NAMES[names[i]] if ok else "other" for i, ok in zip(idx, close, strict=True)]


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    if quick:
        params = dict(n_features=20, d=4, n_instances=6, steps=60, batch_size=128, n_seeds=1)
    else:
        params = dict(n_features=200, d=20, n_instances=24, steps=5000, batch_size=512, n_seeds=2)
    inv = np.geomspace(1.0, 300.0 if not quick else 30.0, params["n_instances"])  # 1 / (1 - S)
    sparsity = 1.0 - 1.0 / inv
    with FigureRun(out_dir, force=force) as run:
        res = run.cached(
            train_toy_model,
            n_features=params["n_features"],
            d=params["d"],
            sparsity=sparsity,
            steps=params["steps"],
            batch_size=params["batch_size"],
            lr=3e-3,
            schedule="cosine",
            n_seeds=params["n_seeds"],
            rng=seed,
        )
        fig, axes = run.figure(
            2, 1, figsize=(7.5, 7.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.4]}
        )
        _draw(axes, res["W"].astype(np.float64), inv, params)
        fig.tight_layout()
        run.save(fig, "toy_dimensionality")
    return run.paths


def _draw(axes, W, inv, params):
    """Top: dimensions per feature against 1/(1 - S); bottom: every represented feature's dimensionality."""
    d = params["d"]
    dpf = np.array([d / np.sum(w * w) for w in W])
    ax = axes[0]
    ax.plot(inv, dpf, "o-", color="k", ms=3, lw=1)
    for frac, text in ((1.0, "1"), (0.5, "1/2 (antipodal pairs)"), (0.4, "2/5")):
        ax.axhline(frac, color="0.7", lw=0.8, ls="--")
        ax.text(inv[0], frac, text, va="bottom", fontsize="small", color="0.4")
    ax.set_xscale("log")
    ax.set_ylabel(r"dimensions per feature  $d\,/\,\|W\|_F^2$")
    ax.set_ylim(0, 1.1)
    ax.set_title(
        f"ReLU toy model, {params['n_features']} features in {d} dims, best of {params['n_seeds']} seeds"
    )

    xs, Ds, labels = [], [], []
    for i, w in enumerate(W):
        D = feature_dimensionality(w)
        keep = np.linalg.norm(w, axis=1) > 0.5  # represented features only
        xs.append(np.full(keep.sum(), inv[i]))
        Ds.append(D[keep])
        labels += nearest_shape(D[keep])
    plot_feature_dimensionality(
        axes[1], np.concatenate(xs), np.concatenate(Ds), labels, jitter=0.03, rng=0, s=6
    )
    axes[1].set_xscale("log")
    axes[1].set_xlabel("1 / (1 - S)   (S = sparsity, probability a feature is zero)")
    axes[1].legend(loc="lower left", title="nearest fraction")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
