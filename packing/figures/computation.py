"""Computation in superposition: a ReLU layer computing |x| for more features than it has neurons.

Trains ``y' = ReLU(W2 ReLU(W1 x) + b)`` on ``|x|`` (Elhage et al. 2022, section
"Computation in Superposition") with the numpy trainer: ``n = 20`` features of
importance ``0.8^i`` through ``d = 10`` hidden neurons, inputs zero with
probability ``S`` (the sparsity) and otherwise uniform on [-1, 1). Best of 3
seeds per sparsity.

Top row: the input weights ``W1`` as a neurons x features heat map (neurons
sorted by their strongest feature). Dense inputs: each neuron serves one
feature, two per feature (``|x| = ReLU(x) + ReLU(-x)``), so only the 5 most
important features are computed. Sparse inputs: neurons serve several
features at once (superposition). Bottom row: how well each feature's
``|x_i|`` is computed, ``1 - E[(y'_i - |x_i|)²] / E[|x_i|²]`` on active inputs
(reference levels: 1 exact; 0.75 a constant output equal to the mean, which
is what the bias alone gives a dense feature; 0.5 one sign only, ``ReLU(x)``).
"""

from __future__ import annotations

import numpy as np

from .. import abs_model_forward, sample_toy_batch, train_abs_model
from ._kit import FigureRun, run_figure_cli

SPARSITIES = (0.0, 0.9, 0.99)


def explained(W1, W2, b, x):
    """Fraction of ``E[|x_i|²]`` (over active inputs) that the model gets right, per feature."""
    y = abs_model_forward(W1, W2, b, x)
    t = np.abs(x)
    active = x != 0
    err = np.where(active, (y - t) ** 2, 0).sum(0)
    return 1 - err / np.maximum((t**2).sum(0), 1e-12)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    n, d, k = 20, 10, 3
    params = dict(steps=80, batch=128) if quick else dict(steps=12000, batch=1024)
    S = np.repeat(np.array(SPARSITIES), k)
    imp = 0.8 ** np.arange(n)
    with FigureRun(out_dir, force=force) as run:
        res = run.cached(
            train_abs_model,
            n_features=n,
            d=d,
            sparsity=S,
            importance=imp,
            steps=params["steps"],
            batch_size=params["batch"],
            lr=3e-3,
            schedule="cosine",
            rng=seed,
        )
        W1, W2, b = (res[key].astype(np.float64) for key in ("W1", "W2", "b"))
        fig, axes = run.figure(
            2, len(SPARSITIES), figsize=(4.2 * len(SPARSITIES), 5.6), gridspec_kw={"height_ratios": [1, 0.8]}
        )
        _draw(axes, W1, W2, b, imp, n, k, quick, seed)
        fig.suptitle(f"|x| through a ReLU layer: {n} features, {d} neurons, best of {k} seeds")
        fig.tight_layout()
        run.save(fig, "computation")
    return run.paths


def _draw(axes, W1, W2, b, imp, n, k, quick, seed):
    """Per sparsity, the best seed: its input weights (top) and how well each |x_i| is computed (bottom)."""
    for col, s in enumerate(SPARSITIES):
        x = sample_toy_batch(
            n, 20000 if not quick else 2000, sparsity=s, signed=True, dtype=np.float64, rng=seed + 1
        )[0]
        scores = [np.sum(imp * (1 - explained(W1[i], W2[i], b[i], x))) for i in range(col * k, col * k + k)]
        i = col * k + int(np.argmin(scores))  # best seed: least importance-weighted error
        M = W1[i].T  # neurons x features
        order = np.lexsort((-np.abs(M).max(1), np.argmax(np.abs(M), axis=1)))
        vmax = np.abs(M).max()
        axes[0, col].imshow(
            M[order], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest"
        )
        axes[0, col].set_title(f"S = {s}: input weights W1")
        axes[0, col].set_xlabel("feature i (importance 0.8^i)")
        axes[0, col].set_ylabel("neuron" if col == 0 else "")
        ev = explained(W1[i], W2[i], b[i], x)
        axes[1, col].bar(np.arange(n), np.clip(ev, -0.2, 1), color="tab:blue")
        for level, text in ((0.75, "bias only"), (0.5, "one sign")):
            axes[1, col].axhline(level, color="0.5", ls="--", lw=0.7)
            axes[1, col].text(-0.5, level + 0.01, text, fontsize="x-small", color="0.4")
        axes[1, col].set_ylim(-0.2, 1.05)
        axes[1, col].set_xlabel("feature i")
        axes[1, col].set_ylabel("fraction of |x_i| computed" if col == 0 else "")
        above = f"{int((ev > 0.9).sum())} features > 0.9"
        axes[1, col].text(n - 1, 0.95, above, ha="right", fontsize="small")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
