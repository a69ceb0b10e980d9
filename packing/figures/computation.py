"""Computation in superposition: a ReLU layer computing |x| for more features than it has neurons.

Reproduces the setting of Elhage et al. (2022, "Toy Models of Superposition",
section "Computation in Superposition"): ``y' = ReLU(W2 ReLU(W1 x) + b)``
trained on ``|x|`` with the numpy trainer, ``n = 20`` features of importance
``0.8^i`` through ``d = 10`` hidden neurons, inputs zero with probability
``S`` (the sparsity) and otherwise uniform on [-1, 1). Adam, lr 3e-3 with a
cosine schedule, 12,000 steps of 1,024 inputs, default initialisation
(``N(0, 2/(n + d))``), best of 8 seeds per sparsity (least importance-weighted
error on 20,000 fresh inputs).

Top row: the input weights ``W1`` as a neurons x features heat map (neurons
sorted by their strongest feature; colour bar: weight). Bottom row: how well
each feature's ``|x_i|`` is computed, ``1 - E[(y'_i - |x_i|)²] / E[|x_i|²]``
on active inputs (reference levels: 1 exact; 0.75 a constant output equal to
the mean, which is what the bias alone gives a dense feature; 0.8 one neuron,
``ReLU(x)`` plus a bias; 0.5 one sign only).

Dense inputs: the optimum gives two neurons (``|x| = ReLU(x) + ReLU(-x)``) to
each of the 5 most important features (a second neuron adds ``0.2 I_i E[x²]``,
a lone neuron only ``0.05 I_i E[x²]``), and the best seed finds it. What
differs from a single run: gradient descent from random initialisation often
stops in a local optimum where a pair of neurons serves a less important
feature (features 0, 1, 2, 3 and 10, say) or a neuron dies. The share of
seeds that find the optimum is printed on the panel: 1 of 8 in the full run
(12,000 steps), 3 of 6 in shorter probes (2,000 steps, lr 3e-3 or 1e-2),
which is why an earlier version drawing the best of 3 seeds showed features
0-3 and 10. Neither the learning rate (3e-3, 1e-2), the number of steps (600
to 12,000) nor a small initialisation (0.01, 0.05 instead of 0.26) removed
these optima in our probes; more seeds do. Sparse inputs: neurons serve
several features at once (superposition): more features are computed in part
(bars between the reference levels), fewer exactly.
"""

from __future__ import annotations

import numpy as np

from .. import abs_model_forward, sample_toy_batch, train_abs_model
from ._kit import FigureRun, add_colorbar, integer_ticks, reference_line, run_figure_cli

SPARSITIES = (0.0, 0.9, 0.99)
N_FEATURES, D = 20, 10
#: A feature counts as computed when this fraction of ``E[|x_i|²]`` is right (two neurons give 1).
COMPUTED = 0.9


def explained(W1, W2, b, x):
    """Fraction of ``E[|x_i|²]`` (over active inputs) that the model gets right, per feature."""
    y = abs_model_forward(W1, W2, b, x)
    t = np.abs(x)
    active = x != 0
    err = np.where(active, (y - t) ** 2, 0).sum(0)
    return 1 - err / np.maximum((t**2).sum(0), 1e-12)


def settings(quick: bool) -> dict:
    """Training budget and seeds per sparsity of the full and the quick figure."""
    if quick:
        return dict(steps=1500, batch=256, lr=1e-2, k=6, eval=4000)
    return dict(steps=12000, batch=1024, lr=3e-3, k=8, eval=20000)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    n, d = N_FEATURES, D
    params = settings(quick)
    k = params["k"]
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
            lr=params["lr"],
            schedule="cosine",
            rng=seed,
        )
        W1, W2, b = (res[key].astype(np.float64) for key in ("W1", "W2", "b"))
        fig, axes = run.figure(
            2, len(SPARSITIES), figsize=(7.0, 4.8), gridspec_kw={"height_ratios": [1, 0.85]}
        )
        facts = _draw(axes, W1, W2, b, imp, params, seed)
        fig.suptitle(
            f"|x| through a ReLU layer: n = {n} features (importance 0.8^i), d = {d} neurons;\n"
            f"{params['steps']:,} Adam steps, best of {k} seeds per sparsity"
        )
        fig.tight_layout()
        run.save(fig, "computation", facts=facts)
    return run.paths


def _draw(axes, W1, W2, b, imp, params, seed):
    """Per sparsity, the best seed: its input weights (top) and how well each |x_i| is computed (bottom)."""
    n, k = len(imp), params["k"]
    facts = {"computed": {}, "seeds_top": {}}
    for col, s in enumerate(SPARSITIES):
        x = sample_toy_batch(n, params["eval"], sparsity=s, signed=True, dtype=np.float64, rng=seed + 1)[0]
        evs = [explained(W1[i], W2[i], b[i], x) for i in range(col * k, col * k + k)]
        scores = [np.sum(imp * (1 - ev)) for ev in evs]
        best = int(np.argmin(scores))  # best seed: least importance-weighted error
        i, ev = col * k + best, evs[best]
        computed = np.flatnonzero(ev > COMPUTED)
        top = sum(set(np.flatnonzero(e > COMPUTED)) >= set(range(len(computed))) for e in evs)
        facts["computed"][s] = computed.tolist()
        facts["seeds_top"][s] = int(top)
        M = W1[i].T  # neurons x features
        order = np.lexsort((-np.abs(M).max(1), np.argmax(np.abs(M), axis=1)))
        vmax = np.abs(M).max()
        ax = axes[0, col]
        im = ax.imshow(M[order], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
        add_colorbar(ax, im, "weight" if col == len(SPARSITIES) - 1 else "", pad=0.02)
        ax.set_title(f"S = {s}: input weights W1")
        ax.set_xlabel("feature i")
        ax.set_ylabel("neuron (sorted)")
        integer_ticks(ax, "both")
        ax = axes[1, col]
        ax.bar(np.arange(n), np.clip(ev, -0.2, 1), color="tab:blue", zorder=2)
        for level, text in ((0.75, "bias only"), (0.5, "one sign")):
            # labelled in the margin of the last panel, where no bar hides the label
            reference_line(ax, level, text if col == len(SPARSITIES) - 1 else None, color="0.5", zorder=3)
        ax.set_ylim(-0.2, 1.25)
        ax.set_xlabel("feature i (importance 0.8^i)")
        if col == 0:
            ax.set_ylabel("fraction of |x_i| computed")
        else:
            ax.tick_params(labelleft=False)
        integer_ticks(ax, "x")
        note = f"{len(computed)} computed (> {COMPUTED})"
        if s == 0.0:
            note += f"\n{top} of {k} seeds: the top {len(computed)}"
        ax.text(0.98, 0.98, note, transform=ax.transAxes, ha="right", va="top", fontsize="x-small")
    return facts


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
