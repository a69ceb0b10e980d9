"""Predicted against trained: phase diagrams, dimensions per feature, and the loss gap.

The theory (:mod:`packing.theory`) predicts, before training, the geometry a
ReLU toy model learns; this figure draws the prediction over what the numpy
trainer learns (best of several seeds):

* ``theory_phase_diagrams``: the phase diagrams of Elhage et al. (2022, "Toy
  Models of Superposition", section "Superposition as a Phase Change") for 2
  features in 1 dimension and 3 in 2: what happens to the last feature as its
  relative importance (x) and the density of all features (y) vary;
  predicted | trained | disagreement, with the fraction of agreeing cells;
* ``theory_dimensionality``: dimensions per feature ``d / ||W||_F²`` of 200
  features in 20 dims against ``1/(1−S)`` (the paper's "Feature
  Dimensionality" plot): trained points, the predicted curve drawn over them;
* ``theory_loss_gap``: the trained model's expected loss minus the predicted
  optimum's (relative), across the same sparsities: below 0 the trained model
  found a geometry outside the predicted candidates, above 0 it sits in a worse
  configuration (a local minimum or unfinished training).

Quick mode uses 3 x 3 phase grids, 12 features in 3 dims and a few hundred
training steps (seconds); the full figure trains 20 x 20 cells with 4 seeds
and the 200-in-20 sweep (tens of minutes, cached).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ..geometry import dimensions_per_feature
from ..theory import PHASES, expected_loss, phase_diagram, predict_geometry
from ..train import train_toy_model
from ._kit import FigureRun, run_figure_cli

#: Colours of :data:`packing.theory.PHASES` in the phase panels.
PHASE_COLORS = ("0.85", "tab:blue", "tab:orange", "tab:red")
FULL = dict(cells=20, phase_seeds=4, phase_steps=6000, n=200, d=20, points=20, seeds=2, steps=10_000)
QUICK = dict(cells=3, phase_seeds=1, phase_steps=200, n=12, d=3, points=3, seeds=1, steps=200)


def train_cells(n: int, d: int, cells: int, n_seeds: int, steps: int, seed: int) -> dict:
    """Train the cells of a ``cells x cells`` phase diagram (rows: density 1..0.01, columns: importance)."""
    x, y = np.geomspace(0.1, 10, cells), np.geomspace(1, 0.01, cells)
    imp = np.ones((cells * cells, n))
    imp[:, -1] = np.tile(x, cells)
    return _train(n, d, np.repeat(y, cells), imp, 1024, n_seeds, steps, seed)


def train_sweep(n: int, d: int, inv: np.ndarray, n_seeds: int, steps: int, seed: int) -> dict:
    """Train ``n`` equal features in ``d`` dims at sparsities ``S = 1 − 1/inv``."""
    return _train(n, d, 1.0 / inv, 1.0, 512, n_seeds, steps, seed)


def _train(n, d, density, importance, batch_size, n_seeds, steps, seed) -> dict:
    r = train_toy_model(
        n_features=n,
        d=d,
        density=density,
        importance=importance,
        steps=steps,
        batch_size=batch_size,
        lr=1e-2,
        schedule="cosine",
        n_seeds=n_seeds,
        rng=seed,
    )
    return {"W": r.W.astype(np.float64), "b": r.b.astype(np.float64)}


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    cfg = QUICK if quick else FULL
    with FigureRun(out_dir, force=force) as run:
        diagrams = []
        for n, d in ((2, 1), (3, 2)):
            t = run.cached(
                train_cells,
                n=n,
                d=d,
                cells=cfg["cells"],
                n_seeds=cfg["phase_seeds"],
                steps=cfg["phase_steps"],
                seed=seed,
            )
            diagrams.append(
                phase_diagram(
                    n,
                    d,
                    relative_importance=np.geomspace(0.1, 10, cfg["cells"]),
                    density=np.geomspace(1, 0.01, cfg["cells"]),
                    trained_weights=(t["W"], t["b"]),
                )
            )
        fig, axes = run.figure(len(diagrams), 3, figsize=(12, 3.6 * len(diagrams)), squeeze=False)
        draw_phases(fig, axes, diagrams)
        run.save(fig, "theory_phase_diagrams")

        n, d = cfg["n"], cfg["d"]
        inv = np.geomspace(1.0, 300.0, cfg["points"])
        t = run.cached(train_sweep, n=n, d=d, inv=inv, n_seeds=cfg["seeds"], steps=cfg["steps"], seed=seed)
        sweep = sweep_table(n, d, inv, t["W"], t["b"])
        fig, ax = run.figure(figsize=(6.5, 4.2))
        draw_dimensionality(ax, sweep, n, d)
        run.save(fig, "theory_dimensionality")
        fig, ax = run.figure(figsize=(6.5, 4.2))
        draw_loss_gap(ax, sweep, n, d)
        run.save(fig, "theory_loss_gap")
    return run.paths


def sweep_table(n, d, inv, W, b) -> dict:
    """Trained and predicted dimensions per feature and expected losses at each ``1/(1−S)``."""
    S = 1.0 - 1.0 / inv
    preds = [predict_geometry(n, d, sparsity=s) for s in S]
    return {
        "inv": inv,
        "trained_dims": np.array([dimensions_per_feature(w) for w in W]),
        "predicted_dims": np.array([p.dimensions_per_feature for p in preds]),
        "trained_loss": np.array(
            [expected_loss(w, bb, sparsity=s, max_grid_points=1024) for w, bb, s in zip(W, b, S, strict=True)]
        ),
        "predicted_loss": np.array([p.loss for p in preds]),
    }


def phase_codes(labels) -> np.ndarray:
    """Index of each phase label in :data:`packing.theory.PHASES` (the colour drawn)."""
    index = {p: i for i, p in enumerate(PHASES)}
    return np.vectorize(index.__getitem__, otypes=[int])(np.asarray(labels))


def draw_phases(fig, axes, diagrams) -> None:
    """One row per diagram: predicted | trained | disagreement, log axes (importance, density)."""
    cmap = ListedColormap(PHASE_COLORS)
    for row, pd in zip(axes, diagrams, strict=True):
        ext = np.log10([pd.relative_importance[0], pd.relative_importance[-1], pd.density[-1], pd.density[0]])
        grids = (phase_codes(pd.predicted), phase_codes(pd.trained))
        for ax, grid, title in zip(row, grids, ("predicted", "trained (best of seeds)"), strict=False):
            ax.imshow(
                grid,
                cmap=cmap,
                vmin=0,
                vmax=len(PHASES) - 1,
                extent=ext,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_title(f"{pd.n_features} in {pd.d}: {title}")
        row[2].imshow(
            (pd.predicted != pd.trained).astype(int),
            cmap="Greys",
            vmin=0,
            vmax=1,
            extent=ext,
            aspect="auto",
            interpolation="nearest",
        )
        row[2].set_title(f"disagreement (agreement {pd.agreement:.0%})")
        row[0].set_ylabel("log10 density")
        for ax in row:
            ax.set_xlabel("log10 relative importance of the last feature")
    handles = [Patch(color=c, label=p) for c, p in zip(PHASE_COLORS, PHASES, strict=True)]
    fig.legend(handles=handles, loc="lower center", ncol=len(PHASES), bbox_to_anchor=(0.5, -0.02))


def draw_dimensionality(ax, sweep, n, d) -> None:
    """Trained dimensions per feature (points) with the predicted curve drawn over them."""
    ax.plot(sweep["inv"], sweep["trained_dims"], "o", color="k", ms=4, label="trained (best of seeds)")
    ax.plot(sweep["inv"], sweep["predicted_dims"], "-", color="tab:blue", label="predicted (before training)")
    for level in (1, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 3 / 8):
        ax.axhline(level, color="0.85", lw=0.6, zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)")
    ax.set_ylabel("dimensions per feature  d / ||W||²")
    ax.set_title(f"{n} features in {d} dims, equal importance")
    ax.legend()


def draw_loss_gap(ax, sweep, n, d) -> None:
    """``(trained − predicted) / predicted`` expected loss across sparsity."""
    gap = (sweep["trained_loss"] - sweep["predicted_loss"]) / sweep["predicted_loss"]
    ax.plot(sweep["inv"], gap, "o-", color="tab:red")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("1 / (1 − S)")
    ax.set_ylabel("(trained − predicted) / predicted expected loss")
    ax.set_title(f"{n} in {d}: learned vs predicted loss (below 0: learned beats the prediction)")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
