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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from packing import analyze_structure, plot_features_2d, train_toy_model
from packing._figures import cached, run_figure_cli, save_figure

SPARSITIES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)


def train_sweep(sparsities, *, steps: int, n_seeds: int, seed: int) -> dict:
    """Train the 5-in-2 toy model once per sparsity (instances trained together)."""
    res = train_toy_model(
        n_features=5,
        d=2,
        sparsity=np.asarray(sparsities, dtype=float),
        importance=0.9 ** np.arange(5),
        steps=steps,
        batch_size=1024,
        lr=1e-2,
        n_seeds=n_seeds,
        rng=seed,
    )
    return {"W": res.W, "sparsity": res.sparsity[:, 0], "eval_loss": res.eval_loss}


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    sparsities = (0.0, 0.8, 0.99) if quick else SPARSITIES
    steps, n_seeds = (300, 1) if quick else (4000, 3)
    params = {"sparsities": sparsities, "steps": steps, "n_seeds": n_seeds, "seed": seed}
    data = cached(
        "learned_5in2",
        params,
        lambda: train_sweep(sparsities, steps=steps, n_seeds=n_seeds, seed=seed),
        cache_dir=".cache",
        force=force,
    )
    W, S = data["W"], data["sparsity"]
    fig, axes = plt.subplots(1, len(S), figsize=(1.6 * len(S), 2.2), squeeze=False)
    for ax, Wk, s in zip(axes[0], W, S, strict=True):
        report = analyze_structure(Wk)
        dropped = len(report.factors.dropped)
        title = f"S = {s:g}\n{report.description}" + (f"\n(+{dropped} not represented)" if dropped else "\n")
        plot_features_2d(ax, Wk, importance=0.9 ** np.arange(5), title=title)
    title = "5 features in 2 dimensions (colour: importance 0.9^i, yellow = most important)"
    fig.suptitle(title, fontsize=9, y=1.06)
    fig.tight_layout()
    return [save_figure(fig, out_dir, "learned_features_2d")]


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
