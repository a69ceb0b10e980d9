"""Engineering monosemanticity: how bias initialization, neuron count and input noise decide it.

The feature-decoder model of Jermyn, Schiefer & Hubinger (2022, arXiv
2211.09169; :func:`packing.train_monosemanticity_model`): ``N`` sparse features
embedded at random in ``m`` dimensions, ``k`` ReLU neurons with biases, a linear
read-out, trained with LAMB and a cosine schedule. Three sweeps, several seeds
each (every point is one trained instance; the line joins the best seed, the
model with the most monosemantic neurons):

* the bias initialization (``init_bias`` 0 without decay, then 0 to -1 with
  bias decay), at ``k = 4N``;
* the number of neurons ``k / N`` (1/2 to 8), zero initialization against
  ``init_bias = -1`` with decay;
* the standard deviation of Gaussian noise added to the model's input ``x =
  v E`` (not in the paper), at ``k = 4N``, zero initialization (the biases
  free to find their level) and ``-1`` with decay.

Figure ``monosemanticity_sweeps``: the fraction of monosemantic neurons (the
paper's criterion, 0.999) and the clean reconstruction loss against each knob,
and the learned mean bias against the noise. Figure ``monosemanticity_neurons``:
for the best model with ``init_bias = -1`` and for the best with 0, every
neuron's bias sorted by its monosemanticity score (monosemantic ones marked)
and the neuron x feature activation heat map (each one-hot feature fed in;
neurons sorted by score, features by the neuron they own).

``scripts/monosemanticity_findings.py`` runs the same sweeps (from the same
cache) and prints the numbers.
"""

from __future__ import annotations

import numpy as np

from .. import monosemanticity, train_monosemanticity_model
from ..train.monosemanticity import heatmap_order
from ._kit import FigureRun, run_figure_cli

#: Sizes of the full run: N features in m dimensions (N/m = 4), mean frequency ε = 1/N (one
#: active feature per input on average), k = 4N neurons unless swept. The paper: N = 512, m = 64,
#: ε = 1/64, k = 1024, batch 2^13, 2^17 steps, lr 1e-3 to 3e-2 (its code's defaults and file names).
FULL = dict(n_features=16, d=4, density=1 / 16, steps=10000, batch_size=1024, lr=0.01, seeds=3)
#: Sizes of the quick run (seconds).
QUICK = dict(n_features=8, d=4, density=1 / 8, steps=60, batch_size=128, lr=0.01, seeds=2)
#: The bias decay used wherever biases start negative. The paper's 0.03 over its 2^16 decaying
#: steps multiplies the bias by exp(-0.03 lr 2^16) (e^-20 at lr 0.01); over 5,000 decaying steps
#: 0.03 leaves half the neurons dead at the end, 0.3 brings the bias near 0 as the paper's does.
DECAY = 0.3
#: Neurons per feature where k is not swept.
K_RATIO = 4
BIAS_INITS = (0.0, -0.25, -0.5, -1.0)
K_RATIOS = (0.5, 1.0, 2.0, 4.0, 8.0)
NOISES = (0.0, 0.05, 0.1, 0.2, 0.4)


def measure(*, seeds: int, **params) -> dict[str, np.ndarray]:
    """Train ``seeds`` seeds of every instance in ``params`` and measure them.

    The per-instance knobs in ``params`` (``init_bias``, ``bias_decay``,
    ``input_noise``: one entry per condition) are repeated ``seeds`` times
    (condition-major, so that instance ``c * seeds + s`` is seed ``s`` of
    condition ``c``). Returns the per-instance measurements of
    :func:`packing.monosemanticity` (the loss without noise, the fractions, the
    biases, the scores and the activations).
    """
    conditions = max(np.size(params.get(key, 0.0)) for key in ("init_bias", "bias_decay", "input_noise"))
    for key in ("init_bias", "bias_decay", "input_noise"):
        value = np.broadcast_to(np.asarray(params.get(key, 0.0), dtype=np.float64), (conditions,))
        params[key] = np.repeat(value, seeds)
    result = train_monosemanticity_model(**params)
    rep = monosemanticity(result, statistics=False)
    return {
        "clean_loss": result.clean_eval_loss,
        "eval_loss": result.eval_loss,
        "monosemantic_fraction": rep.monosemantic_fraction,
        "features_with_monosemantic_neuron": rep.features_with_monosemantic_neuron,
        "dead_fraction": rep.dead_fraction,
        "mean_bias": rep.bias.mean(axis=1),
        "mean_bias_alive": np.array(
            [b[~d].mean() if (~d).any() else np.nan for b, d in zip(rep.bias, rep.dead, strict=True)]
        ),
        "mean_bias_monosemantic": rep.mean_bias_monosemantic,
        "mean_bias_polysemantic": rep.mean_bias_polysemantic,
        "bias": rep.bias,
        "score": rep.score,
        "monosemantic": rep.monosemantic,
        "dead": rep.dead,
        "activations": rep.activations,
    }


PARTS = ("bias", "neurons", "noise")


def sweeps(run: FigureRun, *, quick: bool = False, seed: int = 0, parts=PARTS) -> dict[str, dict]:
    """Run (or read from ``run``'s cache) the sweeps in ``parts``; return ``{name: {"x": ..., "data": ...}}``.

    Each ``data[key]`` has shape ``(conditions, seeds, ...)``; for ``"neurons"``
    it is a list over ``K_RATIOS`` of such dicts (the sizes differ). Every part
    is cached on its own, so parts may be computed by separate processes.
    """
    size = dict(QUICK if quick else FULL)
    seeds = size.pop("seeds")
    n = size["n_features"]
    common = dict(size, seeds=seeds, n_threads=1, blas_threads=1, progress=False)

    def grouped(data, conditions):
        return {key: value.reshape(conditions, seeds, *value.shape[1:]) for key, value in data.items()}

    out = {"sizes": dict(size, seeds=seeds)}
    if "bias" in parts:
        bias = run.cached(
            measure,
            **common,
            n_neurons=K_RATIO * n,
            init_bias=np.array((0.0, *BIAS_INITS)),
            bias_decay=np.array((0.0,) + (DECAY,) * len(BIAS_INITS)),
            rng=seed,
        )
        labels = ["0, no decay", *map(str, BIAS_INITS)]
        out["bias"] = {"x": labels, "data": grouped(bias, 1 + len(BIAS_INITS))}
    if "neurons" in parts:
        neurons = []
        for j, ratio in enumerate(K_RATIOS):
            data = run.cached(
                measure,
                **common,
                n_neurons=max(1, int(round(ratio * n))),
                init_bias=np.array((0.0, -1.0)),
                bias_decay=np.array((0.0, DECAY)),
                rng=seed + 1 + j + (j >= 4),  # seed + 5 is the noise sweep's
            )
            neurons.append(grouped(data, 2))
        out["neurons"] = {"x": np.array(K_RATIOS), "data": neurons}
    if "noise" in parts:
        noise = run.cached(
            measure,
            **common,
            n_neurons=K_RATIO * n,
            init_bias=np.repeat([0.0, -1.0], len(NOISES)),
            bias_decay=np.repeat([0.0, DECAY], len(NOISES)),
            input_noise=np.tile(np.array(NOISES), 2),
            rng=seed + 5,
        )
        out["noise"] = {"x": np.array(NOISES), "data": grouped(noise, 2 * len(NOISES))}
    return out


def best_seed(data: dict, condition: int) -> int:
    """Return the seed of ``condition`` with the largest monosemantic fraction (ties: the lowest loss)."""
    frac, loss = data["monosemantic_fraction"][condition], data["clean_loss"][condition]
    return int(np.lexsort((loss, -frac))[0])


def _points(ax, x, values, best, color, label):
    """Every seed as a dot, the best seeds joined by a line."""
    x = np.asarray(x)
    for s in range(values.shape[1]):
        ax.plot(x, values[:, s], "o", color=color, alpha=0.35, ms=3)
    ax.plot(x, values[np.arange(len(x)), best], "-o", color=color, label=label)


def draw_sweeps(fig, axes, result: dict) -> None:
    """Monosemantic fraction and clean loss against the bias initialization, ``k / N`` and the noise."""
    bias, neurons, noise = result["bias"], result["neurons"], result["noise"]
    d = bias["data"]
    n_cond = len(bias["x"])
    best = [best_seed(d, c) for c in range(n_cond)]
    pos = np.arange(n_cond)
    _points(axes[0, 0], pos, d["monosemantic_fraction"], best, "tab:blue", "best seed")
    _points(axes[1, 0], pos, d["clean_loss"], best, "tab:blue", "best seed")
    for ax in axes[:, 0]:
        ax.set_xticks(pos, bias["x"])
    axes[1, 0].set_xlabel(f"init_bias (with bias decay {DECAY} unless 'no decay')")
    axes[0, 0].set_title(f"bias initialization, k = {K_RATIO}N")
    for c, (label, color) in enumerate((("init 0", "tab:orange"), (f"init -1, decay {DECAY}", "tab:blue"))):
        frac = np.array([g["monosemantic_fraction"][c] for g in neurons["data"]])
        loss = np.array([g["clean_loss"][c] for g in neurons["data"]])
        best = [best_seed({"monosemantic_fraction": frac, "clean_loss": loss}, i) for i in range(len(frac))]
        _points(axes[0, 1], neurons["x"], frac, best, color, label)
        _points(axes[1, 1], neurons["x"], loss, best, color, label)
        d, nn = noise["data"], len(noise["x"])
        rows = slice(c * nn, (c + 1) * nn)
        sub = {key: d[key][rows] for key in ("monosemantic_fraction", "clean_loss", "mean_bias_alive")}
        best = [best_seed(sub, i) for i in range(nn)]
        _points(axes[0, 2], noise["x"], sub["monosemantic_fraction"], best, color, label)
        _points(axes[1, 2], noise["x"], sub["clean_loss"], best, color, label)
        _points(axes[0, 3], noise["x"], sub["mean_bias_alive"], best, color, label)
    for ax in axes[:, 1]:
        ax.set_xscale("log", base=2)
    axes[1, 1].set_xlabel("neurons per feature k / N")
    axes[0, 1].set_title("number of neurons")
    axes[1, 2].set_xlabel("input noise σ (added to x = v E)")
    axes[0, 2].set_title(f"input noise, k = {K_RATIO}N")
    axes[0, 3].set_title("learned bias against noise")
    axes[0, 3].set_ylabel("mean bias of the alive neurons")
    axes[0, 3].set_xlabel("input noise σ")
    axes[0, 0].set_ylabel("monosemantic fraction of neurons")
    axes[1, 0].set_ylabel("loss (no noise)")
    axes[0, 1].legend(fontsize="small")
    axes[1, 3].set_visible(False)


def draw_neurons(fig, axes, models: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]):
    """Per model ``(title, bias, score, monosemantic, activations)``: sorted biases and the heat map.

    Returns the neuron and feature orders drawn, one pair per model.
    """
    orders = []
    for row, (title, bias, score, mono, acts) in enumerate(models):
        dead = acts.max(axis=1) <= 0
        owner = np.where(dead, -1, acts.argmax(axis=1))
        neurons, features = heatmap_order(score, mono, dead, owner, acts.shape[1])
        orders.append((neurons, features))
        ax = axes[row, 0]
        ranks = np.arange(len(neurons))
        colors = np.where(mono[neurons], "tab:blue", np.where(dead[neurons], "0.85", "tab:gray"))
        ax.scatter(ranks, bias[neurons], c=colors, s=8)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_xlabel("neuron by decreasing monosemanticity score (blue: monosemantic, pale: dead)")
        ax.set_ylabel("bias")
        ax.set_title(f"{title}: {int(mono.sum())} of {len(mono)} neurons monosemantic")
        ax = axes[row, 1]
        M = acts[np.ix_(neurons, features)]
        ax.imshow(M, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0)
        ax.set_xlabel("feature (sorted by the neuron it owns)")
        ax.set_ylabel("neuron (sorted)")
        ax.set_title("activation on each one-hot feature")
    return orders


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    with FigureRun(out_dir, force=force) as run:
        result = sweeps(run, quick=quick, seed=seed)
        fig, axes = run.figure(2, 4, figsize=(17, 7.5))
        draw_sweeps(fig, axes, result)
        s = result["sizes"]
        fig.suptitle(
            f"Engineering monosemanticity: N = {s['n_features']} features in m = {s['d']} dimensions, "
            f"ε = {s['density']:.3g}, {s['steps']} LAMB steps, {s['seeds']} seeds per point"
        )
        fig.tight_layout()
        run.save(fig, "monosemanticity_sweeps")
        d = result["bias"]["data"]
        models = []
        for c, title in ((len(BIAS_INITS), f"init_bias -1, decay {DECAY}"), (0, "init_bias 0")):
            s = best_seed(d, c)
            models.append(
                (title, d["bias"][c, s], d["score"][c, s], d["monosemantic"][c, s], d["activations"][c, s])
            )
        fig, axes = run.figure(2, 2, figsize=(12, 9), gridspec_kw={"width_ratios": [1, 1.2]})
        draw_neurons(fig, axes, models)
        fig.tight_layout()
        run.save(fig, "monosemanticity_neurons")
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
