"""20 features in 5 dims with importance 0.7**i: which features are represented, and how, across sparsity.

Reproduces the layout of Elhage et al. (2022, "Toy Models of Superposition",
the ReLU-output panels of the intro figure) with the numpy trainer, best of 3
seeds per sparsity. For each sparsity ``S`` (probability a feature is zero):

* top: the Gram matrix ``W Wᵀ`` (20 x 20, features in order of importance);
* bottom: the norm ``||W_i||`` of each feature, coloured by how much it shares
  its direction with others, ``Σ_{j≠i} (Ŵ_i · W_j)²`` (dark: a dedicated
  dimension; bright: superposition).

At density 1 exactly the 5 most important features are kept, orthonormal; as
sparsity rises more features are represented, first in antipodal pairs, then
in denser packings.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from .. import plot_gram, train_toy_model
from .._rows import unit_rows
from ._kit import FigureRun, run_figure_cli

SPARSITIES = (0.0, 0.7, 0.9, 0.97, 0.99, 0.997)


def superposition(W):
    """``Σ_{j≠i} (Ŵ_i · W_j)²`` for each row (0 for zero rows: the library's zero-row policy)."""
    C = (unit_rows(W) @ W.T) ** 2
    np.fill_diagonal(C, 0.0)
    return C.sum(axis=1)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    n, d = 20, 5
    params = (
        dict(steps=80, batch_size=128, n_seeds=1) if quick else dict(steps=8000, batch_size=1024, n_seeds=3)
    )

    with FigureRun(out_dir, force=force) as run:
        res = run.cached(
            train_toy_model,
            n_features=n,
            d=d,
            sparsity=np.array(SPARSITIES),
            importance=0.7 ** np.arange(n),
            steps=params["steps"],
            batch_size=params["batch_size"],
            lr=5e-3,
            schedule="cosine",
            n_seeds=params["n_seeds"],
            rng=seed,
        )
        fig, axes = run.figure(
            2, len(SPARSITIES), figsize=(2.2 * len(SPARSITIES), 5.2), gridspec_kw={"height_ratios": [1, 1.1]}
        )
        _draw(fig, axes, res["W"].astype(np.float64), n, d)
        run.save(fig, "toy_importance")
    return run.paths


def _draw(fig, axes, W_all, n, d):
    """Top: Gram matrices; bottom: feature norms coloured by superposition."""
    cmap = matplotlib.colormaps["viridis"]
    for k, (S, W) in enumerate(zip(SPARSITIES, W_all, strict=True)):
        plot_gram(axes[0, k], W, colorbar=False)
        axes[0, k].set_title(f"S = {S}")
        norms = np.linalg.norm(W, axis=1)
        sup = superposition(W)
        ax = axes[1, k]
        ax.barh(np.arange(n), norms, color=cmap(np.clip(sup, 0, 1)), height=0.8)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, 1.3)
        ax.set_yticks([0, 4, 9, 19] if k == 0 else [])
        ax.set_xlabel(r"$\|W_i\|$")
        kept = int((norms > 0.5).sum())
        ax.text(1.25, n - 1, f"{kept} kept", ha="right", fontsize="small")
    axes[1, 0].set_ylabel("feature i (importance 0.7^i)")
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 1))
    fig.colorbar(
        sm, ax=axes[1, :].tolist(), fraction=0.02, pad=0.01, label=r"$\sum_{j\neq i}(\hat W_i\cdot W_j)^2$"
    )
    fig.suptitle(f"{n} features in {d} dims, importance 0.7^i: Gram matrices (top), norms (bottom)")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
