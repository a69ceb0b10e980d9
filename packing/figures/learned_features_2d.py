"""Five features in two dimensions, learned across sparsity: features, ``W Wᵀ`` and biases per instance.

Reproduces the introduction's figure of Elhage et al. (2022, "Toy Models of
Superposition"): the toy model ``x' = ReLU(x W Wᵀ + b)`` with ``n = 5``
features of importance ``0.9**i`` in ``d = 2`` hidden dimensions, trained at
each sparsity (probability that a feature is zero) with the numpy trainer
(Adam, lr 1e-2, 4,000 steps of 1,024 inputs, best of 3 seeds per instance).
One column per sparsity:

* top: the learned feature vectors ``W_i`` (colour: importance) and the shape
  :func:`packing.analyze_structure` reads out of them;
* middle: ``W Wᵀ`` (5 x 5, features in order of importance) on one colour
  scale shared by every column, so norms compare across sparsities (diagonal:
  ``||W_i||²``);
* bottom: the bias ``b_i`` of each feature, on one shared axis.

Dense inputs keep the two most important features on orthogonal axes (the
others get ``W_i = 0`` and a positive bias, their mean); moderately sparse
ones pair features as antipodal digons; very sparse ones spread all five as a
pentagon, with negative biases that cut off the interference. What differs:
the paper draws ``WᵀW``-style matrices and biases as coloured cells; here the
biases are bars (their sign and size read directly).
"""

from __future__ import annotations

import numpy as np

from .. import analyze_structure, plot_features_2d, train_toy_model
from ._kit import FigureRun, integer_ticks, run_figure_cli

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
        W, b, S = data["W"].astype(np.float64), data["b"].astype(np.float64), data["sparsity"][:, 0]
        width = 7.0 if len(S) > 4 else 3.35
        fig, axes = run.figure(
            3,
            len(S) + 1,  # the last, narrow column holds the colour bar of the W Wᵀ row
            figsize=(width, 3.8),
            squeeze=False,
            gridspec_kw={"height_ratios": [1.25, 1, 0.9], "width_ratios": [1] * len(S) + [0.12]},
        )
        facts = _draw(axes, W, b, S, importance)
        fig.suptitle(
            f"n = 5 features in d = 2 dims, importance 0.9^i (yellow: most important)\n"
            f"{steps:,} Adam steps, "
            + (f"best of {n_seeds} seeds" if n_seeds > 1 else "1 seed")
            + " per sparsity",
            fontsize="small",
        )
        fig.tight_layout(h_pad=0.4, w_pad=0.3)
        run.save(fig, "learned_features_2d", facts=facts)
    return run.paths


def _draw(axes, W, b, S, importance):
    """Per sparsity: the features in the plane, W Wᵀ on one shared scale, the biases on one shared axis."""
    gram = np.einsum("kid,kjd->kij", W, W)
    vmax = float(np.abs(gram).max())
    blim = 1.1 * max(float(np.abs(b).max()), 1e-3)
    facts = {"description": [], "gram_vmax": vmax, "bias": b}
    n = W.shape[1]
    axes[0, -1].set_axis_off()
    axes[2, -1].set_axis_off()
    for col, (Wk, bk, s) in enumerate(zip(W, b, S, strict=True)):
        report = analyze_structure(Wk)
        dropped = len(report.factors.dropped)
        facts["description"].append(report.description)
        label = report.description.replace(" ⊕ ", "\n⊕ ")
        title = f"S = {s:g}\n{label}" + (f"\n(+{dropped} dropped)" if dropped else "")
        plot_features_2d(axes[0, col], Wk, importance=importance, title=title)
        axes[0, col].title.set_fontsize("x-small")
        ax = axes[1, col]
        im = ax.imshow(gram[col], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.tick_params(labelsize="x-small", length=1.5, pad=1)
        if col:
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("W Wᵀ\nfeature", fontsize="x-small")
        ax = axes[2, col]
        ax.bar(np.arange(n), bk, color=np.where(bk < 0, "tab:red", "tab:blue"), width=0.7)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylim(-blim, blim)
        integer_ticks(ax, "x")
        ax.set_xticks(range(n))
        ax.tick_params(labelsize="x-small", length=1.5, pad=1)
        ax.set_xlabel("feature", fontsize="x-small")
        if col:
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("bias b_i", fontsize="x-small")
    bar = axes[1, -1].figure.colorbar(im, cax=axes[1, -1])  # one scale for the row
    bar.ax.tick_params(labelsize="x-small")
    bar.set_label("W_i · W_j (diag ||W_i||²)", fontsize="x-small")
    return facts


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
