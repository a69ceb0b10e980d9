"""20 features in 5 dims with importance 0.7**i: which features are represented, and how, across sparsity.

Reproduces the layout of Elhage et al. (2022, "Toy Models of Superposition",
the ReLU-output panels of the intro figure) with the numpy trainer, best of 3
seeds per sparsity. For each sparsity ``S`` (probability a feature is zero):

* top: the Gram matrix ``W Wᵀ`` (20 x 20, features in order of importance),
  every panel on one colour scale (colour bar on the right);
* bottom: the norm ``||W_i||`` of each feature, coloured by how much it shares
  its direction with others, ``Σ_{j≠i} (Ŵ_i · W_j)²`` (dark: a dedicated
  dimension; bright: superposition).

At density 1 exactly the 5 most important features are kept, orthonormal; as
sparsity rises more features are represented, first in antipodal pairs, then
in denser packings. Settings: Adam, lr 5e-3 with a cosine schedule, 8,000
steps of 1,024 inputs. What differs from the paper: its panels show ``WᵀW``
and the bias for the linear and the ReLU model side by side; here only the
ReLU model, with the norms coloured by superposition as in its lower row.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from .. import train_toy_model
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
        dict(steps=1000, batch_size=256, n_seeds=1) if quick else dict(steps=8000, batch_size=1024, n_seeds=3)
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
            2, len(SPARSITIES), figsize=(7.0, 3.9), gridspec_kw={"height_ratios": [1, 1.25]}
        )
        facts = _draw(fig, axes, res["W"].astype(np.float64), n, d)
        steps = params["steps"]
        seeds = f"best of {params['n_seeds']} seeds" if params["n_seeds"] > 1 else "1 seed"
        fig.suptitle(
            f"n = {n} features in d = {d} dims, importance 0.7^i ({steps:,} steps, {seeds}): "
            "W Wᵀ (top), norms (bottom)",
            fontsize="small",
        )
        run.save(fig, "toy_importance", facts=facts)
    return run.paths


def _draw(fig, axes, W_all, n, d):
    """Top: Gram matrices on one scale; bottom: feature norms coloured by superposition."""
    cmap = matplotlib.colormaps["viridis"]
    vmax = max(float(np.abs(np.einsum("kid,kjd->kij", W_all, W_all)).max()), 1e-12)
    facts = {"kept": [], "superposition": [], "norms": []}
    for k, (S, W) in enumerate(zip(SPARSITIES, W_all, strict=True)):
        G = W @ W.T
        im = axes[0, k].imshow(G, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        axes[0, k].set_title(f"S = {S}")
        axes[0, k].set_xticks([0, n - 1])
        axes[0, k].set_yticks([0, n - 1] if k == 0 else [])
        norms = np.linalg.norm(W, axis=1)
        sup = superposition(W)
        ax = axes[1, k]
        ax.barh(np.arange(n), norms, color=cmap(np.clip(sup, 0, 1)), height=0.8)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, 1.3)
        ax.set_yticks([0, 4, 9, 14, 19])
        if k:
            ax.tick_params(labelleft=False)
        ax.set_xlabel(r"$\|W_i\|$")
        kept = int((norms > 0.5).sum())
        ax.set_title(f"{kept} with ||W_i|| > 0.5", fontsize="x-small")
        facts["kept"].append(kept)
        facts["superposition"].append(sup)
        facts["norms"].append(norms)
    axes[0, 0].set_ylabel("feature i")
    axes[1, 0].set_ylabel("feature i (importance 0.7^i)")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    top = fig.add_axes((0.91, axes[0, -1].get_position().y0, 0.012, axes[0, -1].get_position().height))
    fig.colorbar(im, cax=top).set_label("W_i · W_j", fontsize="x-small")
    bottom = fig.add_axes((0.91, axes[1, -1].get_position().y0, 0.012, axes[1, -1].get_position().height))
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 1))
    fig.colorbar(sm, cax=bottom).set_label(r"$\sum_{j\neq i}(\hat W_i\cdot W_j)^2$", fontsize="x-small")
    return facts


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
