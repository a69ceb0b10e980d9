"""Five features in two dimensions, learned across sparsity: one panel per trained instance.

The toy model ``x' = ReLU(x W Wᵀ + b)`` with ``n = 5`` features of importance
``0.9**i`` in ``d = 2`` hidden dimensions (the setting of the introduction of
Elhage et al. 2022, "Toy Models of Superposition") is trained at each sparsity
(probability that a feature is zero), best of 3 seeds per instance. Each panel
draws the learned feature vectors ``W_i`` (colour: importance) and the shape
:func:`packing.analyze_structure` reads out of them: dense inputs keep the two
most important features on orthogonal axes, moderately sparse ones pair
features as antipodal digons, and very sparse ones spread all five as a
pentagon.
"""

from __future__ import annotations

import numpy as np

from .. import analyze_structure, plot_features_2d, train_toy_model
from ._kit import FigureRun, run_figure_cli

SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    sparsities = (0.0, 0.8, 0.99) if quick else SPARSITIES
    steps, n_seeds = (300, 1) if quick else (4000, 3)
    importance = 0.9 ** np.arange(5)
    with FigureRun(out_dir, force=force) as run:
        # the 5-in-2 toy model once per sparsity (instances trained together)
        data = run.cached(
            train_toy_model,
            n_features=5,
            d=2,
            sparsity=np.asarray(sparsities, dtype=float),
            importance=importance,
            steps=steps,
            batch_size=1024,
            lr=1e-2,
            n_seeds=n_seeds,
            rng=seed,
        )
        W, S = data["W"], data["sparsity"][:, 0]
        fig, axes = run.figure(1, len(S), figsize=(1.6 * len(S), 2.2), squeeze=False)
        for ax, Wk, s in zip(axes[0], W, S, strict=True):
            report = analyze_structure(Wk)
            dropped = len(report.factors.dropped)
            note = f"\n(+{dropped} not represented)" if dropped else "\n"
            title = f"S = {s:g}\n{report.description}{note}"
            plot_features_2d(ax, Wk, importance=importance, title=title)
        title = "5 features in 2 dimensions (colour: importance 0.9^i, yellow = most important)"
        fig.suptitle(title, y=1.06)
        fig.tight_layout()
        run.save(fig, "learned_features_2d")
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
