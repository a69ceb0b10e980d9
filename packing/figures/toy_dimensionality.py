"""Feature dimensionality and "dimensions per feature" of 200 features in 20 dims across sparsity.

Reproduces the two views of Elhage et al. (2022, "Toy Models of
Superposition", section "Feature Dimensionality") with the numpy trainer: the
ReLU-output toy model, ``n = 200`` features of equal importance in ``d = 20``
dimensions, 24 sparsities with ``1/(1-S)`` from 1 to 300 (Adam, lr 3e-3,
cosine schedule, batches of 512).

* top: ``d / ||W||_F²``, the dimensions each represented feature gets, against
  ``1 / (1 - S)``; the marker says how many steps (and seeds) the point had;
* bottom: every represented feature's dimensionality
  ``D_i = ||W_i||² / Σ_j (Ŵ_i · W_j)²``, coloured by the shape
  :func:`packing.analyze_structure` detects for the feature's tegum factor
  (grey lines: the fractions of the ideal shapes).

What differs from the paper, and why:

* The dense end is degenerate. At density 1 with equal importances the
  outputs stay positive, the model is linear there, and **every** rank-``d``
  orthogonal projection with biases ``(I - P) E[x]`` has the same loss,
  ``(n - d) / 12`` (uniform inputs have variance 1/12): the textbook solution
  (``d`` dedicated features, the rest dropped) is one optimum of a continuum.
  Gradient descent from random initialisation converges to a *spread*
  projection (all 200 norms near ``sqrt(d/n)``), not to the dedicated one.
  The six densest points are therefore trained 4 times longer (20,000 steps,
  one seed; 5,000 steps left the dense loss at 0.094 per feature against the
  optimum's 0.075) and the top-left panel prints the trained loss next to
  ``(n - d)/12``: they agree, so the dense point is converged, and its
  ``d / ||W||_F² = 1`` holds for every optimum. Its per-feature
  dimensionalities are ``P_ii ≈ d/n`` (the bottom panel's low points at
  ``1/(1-S) = 1``), not 1.
* Shapes are the ones detected in the trained weights (``analyze_structure``:
  tegum factors, each matched against the small templates), not the nearest
  fraction under a shape's name; a feature whose factor matches no template
  is "other". The bottom panel prints how many features sit near 3/4 and
  2/3 and how many of them are detected as tetrahedra and triangles.
* The 3/4 (tetrahedron) cluster: a budget effect, and a detection limit. With
  5,000 steps (the earlier version) no feature had ``D ≈ 3/4``; with the
  dense end's 20,000 steps 13 features do at ``1/(1-S) ≈ 1.3`` and 18 sit
  at 2/3 at ``1/(1-S) ≈ 1.6`` (full run, seed 0). ``analyze_structure``
  identifies none of them: the weak features of those models (norms below
  0.5 but above its drop threshold) tie every feature into one tegum factor,
  which matches no template, so they are coloured "other". The digons
  (``1/(1-S)`` from 2 to 3.5) and a few pentagons are identified.
"""

from __future__ import annotations

import numpy as np

from .. import (
    analyze_structure,
    feature_dimensionality,
    plot_feature_dimensionality,
    sample_toy_batch,
    toy_model_loss,
    train_toy_model,
)
from ._kit import FigureRun, plain_log_ticks, reference_line, run_figure_cli

#: How many of the densest points get the long (dense) budget.
N_DENSE = 6


def settings(quick: bool) -> dict:
    """Model size, sweep and the two training budgets (dense end, rest) of the full and quick figure."""
    if quick:
        return dict(n=20, d=4, points=6, top=30.0, batch=256, dense=(1500, 1), rest=(1000, 1), n_dense=2)
    return dict(
        n=200, d=20, points=24, top=300.0, batch=512, dense=(20000, 1), rest=(5000, 2), n_dense=N_DENSE
    )


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    p = settings(quick)
    inv = np.geomspace(1.0, p["top"], p["points"])  # 1 / (1 - S)
    sparsity = 1.0 - 1.0 / inv
    groups = ((slice(0, p["n_dense"]), p["dense"]), (slice(p["n_dense"], None), p["rest"]))
    with FigureRun(out_dir, force=force) as run:
        W, b, budget = [], [], []
        for part, (steps, n_seeds) in groups:
            res = run.cached(
                train_toy_model,
                n_features=p["n"],
                d=p["d"],
                sparsity=sparsity[part],
                steps=steps,
                batch_size=p["batch"],
                lr=3e-3,
                schedule="cosine",
                n_seeds=n_seeds,
                rng=seed,
            )
            W.append(res["W"].astype(np.float64))
            b.append(res["b"].astype(np.float64))
            budget += [(steps, n_seeds)] * len(res["W"])
        W, b = np.concatenate(W), np.concatenate(b)
        fig, axes = run.figure(2, 1, figsize=(5.2, 6.2), sharex=True, gridspec_kw={"height_ratios": [1, 1.5]})
        facts = _draw(axes, W, b, inv, budget, p, seed)
        fig.tight_layout()
        run.save(fig, "toy_dimensionality", facts=facts)
    return run.paths


def _dense_losses(W, b, n, d, seed):
    """Loss of the densest trained model and of the dedicated-features optimum on one fresh dense batch."""
    x = sample_toy_batch(n, 20000, sparsity=0.0, dtype=np.float64, rng=seed + 7)[0]
    known = np.zeros((n, d))
    known[:d] = np.eye(d)
    bias = np.where(np.arange(n) < d, 0.0, 0.5)  # E[x] = 1/2 for the features left out
    return float(toy_model_loss(W, b, x)), float(toy_model_loss(known, bias, x))


def _draw(axes, W, b, inv, budget, p, seed):
    """Top: dimensions per feature against 1/(1-S); bottom: every represented feature's dimensionality."""
    n, d = p["n"], p["d"]
    dpf = np.array([d / np.sum(w * w) for w in W])
    ax = axes[0]
    ax.plot(inv, dpf, "-", color="0.6", lw=0.8, zorder=1)
    for (steps, n_seeds), marker in zip(sorted(set(budget), reverse=True), "os", strict=False):
        mask = np.array([bud == (steps, n_seeds) for bud in budget])
        seeds = "1 seed" if n_seeds == 1 else f"best of {n_seeds} seeds"
        ax.plot(inv[mask], dpf[mask], marker, color="k", ms=3.5, label=f"{steps:,} steps, {seeds}", zorder=2)
    for frac, text in ((1.0, "1"), (0.5, "1/2 (antipodal pairs)"), (0.4, "2/5")):
        reference_line(ax, frac, text, color="0.8", lw=0.8)
    trained, known = _dense_losses(W[0], b[0], n, d, seed)
    ax.text(
        0.98,
        0.97,
        f"density 1: loss {trained:.3f} (trained)\nvs {known:.3f}, every rank-{d} projection",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="x-small",
    )
    ax.set_xscale("log")
    ax.set_ylabel(r"dimensions per feature  $d\,/\,\|W\|_F^2$")
    ax.set_ylim(0, 1.15)
    ax.set_title(f"ReLU toy model, n = {n} features of equal importance in d = {d} dims")
    ax.legend(loc="center right")

    xs, Ds, labels = [], [], []
    for k, w in enumerate(W):
        report = analyze_structure(w)
        shapes = np.asarray(report.feature_shapes, dtype=object)
        keep = shapes != "dropped"  # represented features only (the report's norm threshold)
        xs.append(np.full(int(keep.sum()), inv[k]))
        Ds.append(feature_dimensionality(w)[keep])
        labels += [str(s) for s in shapes[keep]]
    x, D = np.concatenate(xs), np.concatenate(Ds)
    plot_feature_dimensionality(axes[1], x, D, labels, jitter=0.03, rng=0, s=5)
    axes[1].set_xscale("log")
    axes[1].set_xticks([t for t in (1, 2, 5, 10, 20, 50, 100, 300) if t <= inv[-1] * 1.01])
    plain_log_ticks(axes[1], "x")
    axes[1].set_xlabel("1 / (1 - S)   (S = sparsity, probability a feature is zero)")
    axes[1].legend(loc="upper right", title="detected shape (features)", ncol=2)
    axes[1].set_ylim(-0.12, 1.3)  # room for the note under the points
    counts = {name: labels.count(name) for name in sorted(set(labels))}
    labels_arr = np.array(labels, dtype=object)
    lines = []
    for value, shape in ((0.75, "tetrahedron"), (2 / 3, "triangle")):
        near = np.abs(D - value) < 0.02
        found = int((labels_arr[near] == shape).sum())
        lines.append(f"D ≈ {value:.2g}: {int(near.sum())} features, {found} detected as {shape}")
    axes[1].text(0.3, 0.03, "\n".join(lines), transform=axes[1].transAxes, va="bottom", fontsize="x-small")
    return {"labels": labels, "x": x, "D": D, "counts": counts, "dense_loss": (trained, known), "W": W}


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
