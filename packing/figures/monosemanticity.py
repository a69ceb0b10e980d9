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

Figure ``monosemanticity_sweeps`` (page width, 3 x 3 panels; one column
per sweep): the fraction of neurons that are monosemantic (the paper's
criterion: the largest activation on a one-hot feature above 0.999 of their
sum), the clean reconstruction loss, and the learned mean bias of the alive
neurons (dashed: 0). Pale dots are single seeds, lines join the best seed of
each point; orange is ``init_bias`` 0 without decay, blue -1 with bias decay
0.3 (in the bias column, the first point is the orange condition). The paper
plots monosemanticity against the loss across initializations and against the
neurons per layer; here each knob is its own x axis, the loss a row beneath.

Figure ``monosemanticity_neurons`` (page width): for the best seed with
``init_bias = -1`` (top) and with 0 (bottom), at ``k = 4N``: each neuron's
bias, neurons sorted by decreasing monosemanticity score (blue: monosemantic,
dark grey: polysemantic, pale: dead), and the neuron x feature activation map
(each one-hot feature fed in; neurons in the same order, features sorted by the
neuron they own, so monosemantic neurons sit on a diagonal above the white
line), both maps on one colour scale. As in the paper's activation maps of its
feature decoder, at far smaller size.

Settings (``FULL``): N = 16 features in m = 4 dimensions, density 1/16, 10,000
LAMB steps of batch 1,024 at lr 0.01 with one cosine anneal, 3 seeds per
point. What differs from the paper (N = 512, m = 64, ε = 1/64, k = 1024,
2^17 steps of batch 2^13, bias decay 0.03): about 10^4 times less compute,
bias decay 0.3 (0.03 over our 5,000 decaying steps leaves 60-80% of the
neurons dead: see :data:`DECAY`), one cosine anneal instead of its repeating one, and the noise sweep,
which is not in the paper. Monosemantic neurons stay rare at this size (at
most 7% without noise), so the figures show the paper's directions, not its
highly monosemantic models. The quick mode (N = 8, 60 steps, 2 seeds) only
exercises the drawing.

Figure ``monosemanticity_loss`` (page width, findings 1 and 2 at a size where
neurons can be monosemantic at all: N = 64 features in m = 32 dimensions, ε =
1/32, k = 2N = 128 neurons as the paper's k = 1024 for N = 512, 8,000 LAMB
steps of batch 512, 3 seeds). (a) The paper's learning-rate sweep (its
``learning_rate_sweep.py``: lr 0.001 to 0.03, zero and -1 initialization):
every trained model as a point, monosemantic fraction against loss (colour:
learning rate 0.01 to 0.05, marker: init 0 or -1 with decay 0.3); the models
within 5% of the lowest loss are shaded and the title gives how many there are
and the range of their monosemantic fractions. (b, c) Loss and monosemantic
fraction against the bias decay x lr for ``init_bias = -1`` (dots: seeds, line:
their mean), zero initialization as a band (mean ± sd), one colour per run of
:data:`DECAY_RUNS`: LAMB at lr 0.01 and 0.03 with one cosine anneal, LAMB at lr
0.03 with the paper's repeating cosine (``schedule="cosine_periodic"``, T_max =
512, 7,680 steps so that the run ends in a trough), Adam at lr 0.003.

``scripts/monosemanticity_findings.py`` runs the same sweeps (from the same
cache) and prints the numbers.
"""

from __future__ import annotations

import numpy as np

from .. import monosemanticity, train_monosemanticity_model
from .._validation import check_int
from ..train._optim import PAPER_T_MAX
from ..train.monosemanticity import heatmap_order
from ._kit import (
    PAGE_WIDTH,
    FigureRun,
    add_colorbar,
    integer_ticks,
    plain_log_ticks,
    reference_line,
    run_figure_cli,
)

#: Sizes of the full run: N features in m dimensions (N/m = 4), mean frequency ε = 1/N (one
#: active feature per input on average), k = 4N neurons unless swept. The paper: N = 512, m = 64,
#: ε = 1/64, k = 1024, batch 2^13, 2^17 steps, lr 1e-3 to 3e-2 (its code's defaults and file names).
FULL = dict(n_features=16, d=4, density=1 / 16, steps=10000, batch_size=1024, lr=0.01, seeds=3)
#: Sizes of the quick run (seconds).
QUICK = dict(n_features=8, d=4, density=1 / 8, steps=60, batch_size=128, lr=0.01, seeds=2)
#: The bias decay used wherever biases start negative. From init -1 almost no neuron fires, and
#: LAMB's one trust ratio per tensor (step norm lr·min(||b||, 10)) then lands the whole bias
#: tensor's step on the few neurons that do, pushing their biases far below -1 (as low as -22 by
#: step 1,000 at lr 0.03 with one anneal; ``scripts/monosemanticity_findings.py --part dynamics``).
#: The paper's LAMB does the same (``torch_optimizer.Lamb`` gives the bias vector its own trust
#: ratio; ``tests/test_monosemanticity_paper_step.py``), but its repeating cosine drops the rate to
#: 0 every 1,024 steps while the decay keeps pulling at the base rate, and its 0.03 acts over 2^16
#: decaying steps (bias factor exp(-0.03 lr 2^16), e^-20 at lr 0.01); with one anneal over our
#: 4,000-5,000 decaying steps 0.03 leaves 60-80% of the neurons dead. 0.3 revives most of them.
DECAY = 0.3
#: Neurons per feature where k is not swept.
K_RATIO = 4
BIAS_INITS = (0.0, -0.25, -0.5, -1.0)
K_RATIOS = (0.5, 1.0, 2.0, 4.0, 8.0)
NOISES = (0.0, 0.05, 0.1, 0.2, 0.4)
#: Sizes of the runs for findings 1 (equal loss) and 2 (bias decay): m = 32 dimensions, where
#: random unit directions overlap far less (|cos| ~ 1/sqrt(32)) than in 4, so that neurons can
#: be monosemantic at all; N/m = 2, ε = 1/32 (two active features per input), k = 2N as in the
#: paper's k = 1024 for N = 512.
LOSS_FULL = dict(n_features=64, d=32, n_neurons=128, density=1 / 32, steps=8000, batch_size=512, seeds=3)
LOSS_QUICK = dict(n_features=8, d=4, n_neurons=16, density=1 / 8, steps=60, batch_size=128, seeds=2)
#: The learning rates of finding 1 (the paper swept 0.001 to 0.03 at 2^17 steps).
LRS = (0.01, 0.02, 0.03, 0.05)
#: The bias initializations of finding 1: (init_bias, bias_decay) per condition.
LR_CONDITIONS = ((0.0, 0.0), (-1.0, 0.3))
#: Finding 2: the decays tried with init_bias = -1 (after init 0, no decay) ...
DECAYS = (0.03, 0.1, 0.3, 1.0)
#: ... in these runs: (optimizer, lr, schedule, seed offset). LAMB at two learning rates with one
#: cosine anneal, LAMB at the paper's top rate 0.03 with the paper's repeating cosine (period
#: 2 x 512 steps, ``schedule="cosine_periodic"``), Adam (one step size per parameter, no per-tensor
#: trust ratio) at its usual lr.
DECAY_RUNS = (
    ("lamb", 0.01, "cosine", 22),
    ("lamb", 0.03, "cosine", 20),
    ("lamb", 0.03, "cosine_periodic", 23),
    ("adam", 0.003, "cosine", 21),
)
#: Steps of the runs with the paper's repeating cosine (full size): 15 half-periods of 512, so that
#: training ends in a trough of the schedule (lr near 0) and the final loss compares with the
#: single anneal's (8,000 steps would end at 0.69 lr, adding noise to the loss).
PERIODIC_STEPS = 15 * PAPER_T_MAX
#: The learning rate of the bias-dynamics diagnostic (``scripts/monosemanticity_findings.py``).
DECAY_LR = 0.03
ADAM_LR = 0.003
#: Models within this fraction of the lowest loss count as "at equal loss" (finding 1).
EQUAL_LOSS = 0.05


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


def measure_cell(
    *,
    seeds,
    n_features,
    d,
    n_neurons,
    density,
    steps,
    batch_size,
    lr,
    init_bias=0.0,
    bias_decay=0.0,
    input_noise=0.0,
    optimizer="lamb",
    schedule="cosine",
    cosine_t_max=512,
    rng=None,
    n_threads=None,
    blas_threads=None,
    progress=False,
) -> dict[str, np.ndarray]:
    """:func:`measure` with its arguments spelled out: the sweep task ``monosemanticity_measure``.

    One cell trains every condition and seed of one sweep (or one neuron count,
    learning rate or optimizer) as instances of one model with one ``rng``,
    exactly as :func:`measure` does. ``optimizer``, ``schedule``, ``cosine_t_max``
    and ``lr`` are :func:`packing.train_monosemanticity_model`'s (validated there).
    """
    return measure(
        seeds=check_int(seeds, "seeds"),
        n_features=n_features,
        d=d,
        n_neurons=n_neurons,
        density=density,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        schedule=schedule,
        cosine_t_max=cosine_t_max,
        init_bias=init_bias,
        bias_decay=bias_decay,
        input_noise=input_noise,
        rng=rng,
        n_threads=n_threads,
        blas_threads=blas_threads,
        progress=progress,
    )


#: The sweep task of a sweep's cell (registered when the sweeps run).
TASK = "monosemanticity_measure"


def _task() -> str:
    from ..sweep import register_task, sweep_tasks

    if TASK not in sweep_tasks() or sweep_tasks()[TASK].fn is not measure_cell:
        # the seed is an ordinary argument: each cell has its own (the paper's sweeps, seed + j)
        register_task(TASK, measure_cell, seed_arg=None, replace=True)
    return TASK


PARTS = ("bias", "neurons", "noise", "lr", "decay")


def sweeps(run: FigureRun, *, quick: bool = False, seed: int = 0, parts=PARTS) -> dict[str, dict]:
    """Run (or read from ``run``'s cache) the sweeps in ``parts``; return ``{name: {"x": ..., "data": ...}}``.

    Each ``data[key]`` has shape ``(conditions, seeds, ...)``; for ``"neurons"``
    it is a list over ``K_RATIOS`` of such dicts (the sizes differ). Each part
    (each neuron count) is a cell of one sweep on every core (one process in
    quick mode), cached on its own, so parts may also be computed by separate
    processes.
    """
    size = dict(QUICK if quick else FULL)
    seeds = size.pop("seeds")
    n = size["n_features"]
    common = dict(size, seeds=seeds)

    def grouped(data, conditions):
        return {key: value.reshape(conditions, seeds, *value.shape[1:]) for key, value in data.items()}

    cells = {}  # (part, index) -> the cell's configuration; all of them one sweep on every core
    if "bias" in parts:
        cells["bias", 0] = dict(
            common,
            n_neurons=K_RATIO * n,
            init_bias=np.array((0.0, *BIAS_INITS)),
            bias_decay=np.array((0.0,) + (DECAY,) * len(BIAS_INITS)),
            rng=seed,
        )
    if "neurons" in parts:
        for j, ratio in enumerate(K_RATIOS):
            cells["neurons", j] = dict(
                common,
                n_neurons=max(1, int(round(ratio * n))),
                init_bias=np.array((0.0, -1.0)),
                bias_decay=np.array((0.0, DECAY)),
                rng=seed + 1 + j + (j >= 4),  # seed + 5 is the noise sweep's
            )
    if "noise" in parts:
        cells["noise", 0] = dict(
            common,
            n_neurons=K_RATIO * n,
            init_bias=np.repeat([0.0, -1.0], len(NOISES)),
            bias_decay=np.repeat([0.0, DECAY], len(NOISES)),
            input_noise=np.tile(np.array(NOISES), 2),
            rng=seed + 5,
        )
    big = dict(LOSS_QUICK if quick else LOSS_FULL)
    big_seeds = big.pop("seeds")
    big_common = dict(big, seeds=big_seeds)  # the sweep runs each cell on one thread, no progress bar
    if "lr" in parts:
        for j, lr in enumerate(LRS):
            cells["lr", j] = dict(
                big_common,
                lr=lr,
                init_bias=np.array([c[0] for c in LR_CONDITIONS]),
                bias_decay=np.array([c[1] for c in LR_CONDITIONS]),
                rng=seed + 10 + j,
            )
    if "decay" in parts:
        for j, (optimizer, lr, schedule, offset) in enumerate(DECAY_RUNS):
            # only what differs from the trainer's defaults (LAMB, one cosine) enters the cell's key
            extra = {} if optimizer == "lamb" else dict(optimizer=optimizer)
            if schedule != "cosine":
                extra.update(schedule=schedule, cosine_t_max=PAPER_T_MAX)
                extra.update({} if quick else dict(steps=PERIODIC_STEPS))
            cells["decay", j] = dict(
                big_common,
                **extra,
                lr=lr,
                init_bias=np.array((0.0,) + (-1.0,) * len(DECAYS)),
                bias_decay=np.array((0.0, *DECAYS)),
                rng=seed + offset,
            )
    data = {}
    if cells:
        from ..sweep import load_cell

        table = run.sweep(_task(), list(cells.values()), n_jobs=1 if quick else None)
        data = {cell: load_cell(path).result for cell, path in zip(cells, table["path"], strict=True)}

    out = {"sizes": dict(size, seeds=seeds)}
    if "bias" in parts:
        labels = ["0, no decay", *map(str, BIAS_INITS)]
        out["bias"] = {"x": labels, "data": grouped(data["bias", 0], 1 + len(BIAS_INITS))}
    if "neurons" in parts:
        neurons = [grouped(data["neurons", j], 2) for j in range(len(K_RATIOS))]
        out["neurons"] = {"x": np.array(K_RATIOS), "data": neurons}
    if "noise" in parts:
        out["noise"] = {"x": np.array(NOISES), "data": grouped(data["noise", 0], 2 * len(NOISES))}
    out["loss_sizes"] = dict(big, seeds=big_seeds)

    def big_grouped(data, conditions):
        return {key: value.reshape(conditions, big_seeds, *value.shape[1:]) for key, value in data.items()}

    if "lr" in parts:
        runs = [big_grouped(data["lr", j], len(LR_CONDITIONS)) for j in range(len(LRS))]
        out["lr"] = {"x": np.array(LRS), "data": runs}
    if "decay" in parts:
        runs = [big_grouped(data["decay", j], 1 + len(DECAYS)) for j in range(len(DECAY_RUNS))]
        out["decay"] = {"x": np.array(DECAYS), "runs": DECAY_RUNS, "data": runs}
    return out


def equal_loss(lr_part: dict, tolerance: float = EQUAL_LOSS) -> dict[str, np.ndarray]:
    """Every model of the learning-rate sweep, flat, and which are within ``tolerance`` of the lowest loss.

    Returns ``{"lr", "condition", "seed", "loss", "fraction", "bias", "equal"}``,
    one entry per trained model (``condition`` indexes :data:`LR_CONDITIONS`,
    ``bias`` is the mean bias of the alive neurons, ``equal`` the models whose
    clean loss is at most ``(1 + tolerance)`` times the lowest).
    """
    rows = {key: [] for key in ("lr", "condition", "seed", "loss", "fraction", "bias")}
    for lr, d in zip(lr_part["x"], lr_part["data"], strict=True):
        conditions, seeds = d["clean_loss"].shape
        for c in range(conditions):
            for s in range(seeds):
                rows["lr"].append(lr)
                rows["condition"].append(c)
                rows["seed"].append(s)
                rows["loss"].append(d["clean_loss"][c, s])
                rows["fraction"].append(d["monosemantic_fraction"][c, s])
                rows["bias"].append(d["mean_bias_alive"][c, s])
    out = {key: np.array(value) for key, value in rows.items()}
    out["equal"] = out["loss"] <= (1.0 + tolerance) * out["loss"].min()
    return out


def best_seed(data: dict, condition: int) -> int:
    """Return the seed of ``condition`` with the largest monosemantic fraction (ties: the lowest loss)."""
    frac, loss = data["monosemantic_fraction"][condition], data["clean_loss"][condition]
    return int(np.lexsort((loss, -frac))[0])


#: The colours of the two conditions: init 0 without decay, init -1 with bias decay.
COLORS = {"zero": "tab:orange", "negative": "tab:blue"}
#: The rows of the sweeps figure: the measurement and its y label.
ROWS = (
    ("monosemantic_fraction", "monosemantic fraction\nof neurons"),
    ("clean_loss", "loss (no noise)"),
    ("mean_bias_alive", "mean bias of the\nalive neurons"),
)


def _points(ax, x, values, best, color, label=None):
    """Every seed as a pale dot, the best seeds joined by a line; return the values on the line."""
    x = np.asarray(x)
    on_line = values[np.arange(len(x)), best]
    for s in range(values.shape[1]):
        ax.plot(x, values[:, s], "o", color=color, alpha=0.35, ms=3)
    ax.plot(x, on_line, "-o", color=color, ms=4, label=label)
    return on_line


def _tick_label(label: str) -> str:
    """Return a bias-sweep condition as a tick label (``"0, no decay"`` on two lines, ``"-1.0"`` as -1)."""
    value, _, rest = label.partition(", ")
    value = f"{float(value):g}"
    return f"{value}\n{rest}" if rest else value


def draw_sweeps(fig, axes, result: dict) -> dict:
    """Draw the monosemantic fraction, clean loss and mean bias against the three knobs.

    ``axes`` is a 3 x 3 grid (rows as in :data:`ROWS`; columns the bias, the
    neuron and the noise sweep), made with ``sharex="col", sharey="row"``.
    Returns the best-seed values drawn, ``{(sweep, condition, key): array}``
    (condition ``"zero"``: init 0 without decay, ``"negative"``: init -1 with
    decay; the bias sweep's condition is ``"all"``).
    """
    bias, neurons, noise = result["bias"], result["neurons"], result["noise"]
    keys = [key for key, _ in ROWS]
    drawn = {}
    d = bias["data"]
    pos = np.arange(len(bias["x"]))
    best = [best_seed(d, c) for c in pos]
    for row, key in enumerate(keys):
        drawn[("bias", "all", key)] = _points(axes[row, 0], pos, d[key], best, "0.45")
        # the first condition (0, no decay) is the neuron and noise sweeps' "zero", the others decay
        colors = [COLORS["zero"]] + [COLORS["negative"]] * (len(pos) - 1)
        axes[row, 0].scatter(pos, drawn[("bias", "all", key)], c=colors, s=18, zorder=3)
    axes[-1, 0].set_xticks(pos, [_tick_label(x) for x in bias["x"]])
    axes[-1, 0].set_xlabel(f"init_bias (bias decay {DECAY})")
    axes[0, 0].set_title(f"bias initialization, k = {K_RATIO}N")
    for c, condition in enumerate(("zero", "negative")):
        per_k = {key: np.array([g[key][c] for g in neurons["data"]]) for key in keys}
        nn = len(noise["x"])
        per_noise = {key: noise["data"][key][c * nn : (c + 1) * nn] for key in keys}
        best_k = [best_seed(per_k, i) for i in range(len(neurons["x"]))]
        best_noise = [best_seed(per_noise, i) for i in range(nn)]
        for row, key in enumerate(keys):
            color = COLORS[condition]
            drawn[("neurons", condition, key)] = _points(
                axes[row, 1], neurons["x"], per_k[key], best_k, color
            )
            drawn[("noise", condition, key)] = _points(
                axes[row, 2], noise["x"], per_noise[key], best_noise, color
            )
    for ax in axes[:, 1]:
        ax.set_xscale("log", base=2)
        plain_log_ticks(ax, "x")
    axes[-1, 1].set_xticks(neurons["x"])
    axes[0, 1].set_title("number of neurons")
    axes[-1, 1].set_xlabel("neurons per feature k / N")
    axes[0, 2].set_title(f"input noise, k = {K_RATIO}N")
    axes[-1, 2].set_xlabel("input noise σ (on x = v E)")
    for row, (key, label) in enumerate(ROWS):
        axes[row, 0].set_ylabel(label)
        if key == "mean_bias_alive":
            for ax in axes[row]:
                reference_line(ax, 0.0)
    return drawn


def _sweep_key(fig) -> None:
    """Draw one key for every panel, under them: the two conditions, the seeds and the best-seed line."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=COLORS["zero"], marker="o", ms=4, label="init_bias 0, no decay"),
        Line2D([], [], color=COLORS["negative"], marker="o", ms=4, label=f"init_bias -1, bias decay {DECAY}"),
        Line2D([], [], color="0.45", marker="o", ms=3, alpha=0.35, ls="none", label="one seed"),
        Line2D([], [], color="0.45", marker="o", ms=4, label="best seed (most monosemantic)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)


def draw_neurons(fig, axes, models: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]):
    """Per model ``(title, bias, score, monosemantic, activations)``: sorted biases and the heat map.

    ``axes`` has one row per model: the biases, then the neuron x feature
    activations (every heat map on one colour scale, one colour bar). Returns
    the neuron and feature orders drawn, one pair per model.
    """
    orders = []
    vmax = max(max(float(acts.max()) for *_, acts in models), 1e-12)
    for row, (title, bias, score, mono, acts) in enumerate(models):
        dead = acts.max(axis=1) <= 0
        owner = np.where(dead, -1, acts.argmax(axis=1))
        neurons, features = heatmap_order(score, mono, dead, owner, acts.shape[1])
        orders.append((neurons, features))
        n_mono = int(mono.sum())
        ax = axes[row, 0]
        ranks = np.arange(len(neurons))
        colors = np.where(mono[neurons], COLORS["negative"], np.where(dead[neurons], "0.8", "0.35"))
        ax.scatter(ranks, bias[neurons], c=colors, s=8)
        reference_line(ax, 0.0)
        integer_ticks(ax, "x")
        ax.set_ylabel("bias")
        ax.set_title(f"{title}: biases", loc="left")
        ax = axes[row, 1]
        im = ax.imshow(acts[np.ix_(neurons, features)], aspect="auto", cmap="viridis", vmin=0, vmax=vmax)
        if 0 < n_mono < len(neurons):
            ax.axhline(n_mono - 0.5, color="w", lw=0.8)
        integer_ticks(ax, "both")
        ax.set_ylabel("neuron (by score)")
        ax.set_title(f"{n_mono} of {len(mono)} neurons monosemantic", loc="left")
    axes[-1, 0].set_xlabel("neuron, by decreasing monosemanticity score")
    axes[-1, 1].set_xlabel("feature (by the neuron it owns)")
    add_colorbar(list(axes[:, 1]), im, "activation on the one-hot feature")
    return orders


def _neuron_key(fig) -> None:
    """Explain the colours of the bias panels, under them."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=color, marker="o", ms=4, ls="none", label=label)
        for color, label in ((COLORS["negative"], "monosemantic"), ("0.35", "polysemantic"), ("0.8", "dead"))
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)


#: Markers of the two bias conditions of the learning-rate sweep.
MARKERS = ("o", "s")
#: Colours of the runs of the bias-decay panels, by (optimizer, lr, schedule).
RUN_COLORS = {
    ("lamb", 0.01, "cosine"): "tab:blue",
    ("lamb", 0.03, "cosine"): "tab:purple",
    ("lamb", 0.03, "cosine_periodic"): "tab:red",
    ("adam", 0.003, "cosine"): "tab:green",
}


def run_label(optimizer: str, lr: float, schedule: str) -> str:
    """``"LAMB lr 0.03, repeating cosine"``: one run of :data:`DECAY_RUNS` in a key or a table."""
    name = "LAMB" if optimizer == "lamb" else "Adam"
    return f"{name} lr {lr:g}" + (", repeating cosine" if schedule == "cosine_periodic" else "")


def draw_loss(fig, axes, result: dict) -> dict:
    """Draw findings 1 and 2: monosemanticity against loss across learning rates, and the bias decay.

    ``axes`` holds three panels: (a) every model of the learning-rate sweep as a
    point (monosemantic fraction against clean loss; colour: learning rate,
    marker: bias condition), the models within :data:`EQUAL_LOSS` of the lowest
    loss shaded; (b) the clean loss and (c) the monosemantic fraction against the
    bias decay with ``init_bias = -1`` (one dot per seed, the line joins the seed
    means; x: decay x lr, the fraction the bias shrinks per step), zero
    initialization as a band (mean ± sd over its seeds), one colour per run of
    :data:`DECAY_RUNS`. Returns what is drawn:
    ``{"equal_loss": equal_loss(...), "decay": {(optimizer, lr, schedule, key): means}}``.
    """
    from matplotlib import colormaps

    lr_part, decay_part = result["lr"], result["decay"]
    flat = equal_loss(lr_part)
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(lr_part["x"])))
    ax = axes[0]
    best = flat["loss"].min()
    ax.axvspan(best, (1 + EQUAL_LOSS) * best, color="0.88", zorder=0)
    for j, lr in enumerate(lr_part["x"]):
        for c in range(len(LR_CONDITIONS)):
            sel = (flat["lr"] == lr) & (flat["condition"] == c)
            ax.plot(flat["loss"][sel], flat["fraction"][sel], MARKERS[c], color=colors[j], ms=4, ls="none")
    ax.set_xlabel("loss (no noise)")
    ax.set_ylabel("monosemantic fraction")
    eq = flat["fraction"][flat["equal"]]
    ax.set_title(
        f"(a) {int(flat['equal'].sum())} models within {EQUAL_LOSS:.0%}\n"
        f"of the best: {eq.min():.2f} to {eq.max():.2f}",
        loc="left",
    )
    drawn = {"equal_loss": flat, "decay": {}}
    decays = np.asarray(decay_part["x"])
    for ax, key, label in (
        (axes[1], "clean_loss", "loss (no noise)"),
        (axes[2], "monosemantic_fraction", "monosemantic fraction"),
    ):
        for (optimizer, lr, schedule, _), d in zip(decay_part["runs"], decay_part["data"], strict=True):
            rate = decays * lr  # the bias shrinks by the factor 1 - rate per step
            zero, neg = d[key][0], d[key][1:]
            color = RUN_COLORS[(optimizer, lr, schedule)]
            ax.axhspan(zero.mean() - zero.std(), zero.mean() + zero.std(), color=color, alpha=0.15)
            reference_line(ax, float(zero.mean()), color=color)
            for s in range(neg.shape[1]):
                ax.plot(rate, neg[:, s], "o", color=color, alpha=0.35, ms=3)
            ax.plot(rate, neg.mean(axis=1), "-o", color=color, ms=4)
            drawn["decay"][(optimizer, lr, schedule, key)] = neg.mean(axis=1)
        ax.set_xscale("log")
        plain_log_ticks(ax, "x")
        if key == "clean_loss":  # the failed runs' losses are 10x the others
            ax.set_yscale("log")
            plain_log_ticks(ax, "y")
            low, high = ax.get_ylim()
            ax.set_yticks([t for t in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0) if low <= t <= high])
        ax.set_xlabel("bias decay x lr (init -1)")
        ax.set_ylabel(label)
    axes[1].set_title("(b) loss", loc="left")
    axes[2].set_title("(c) monosemanticity", loc="left")
    return drawn


def _loss_key(fig, lrs) -> None:
    """One key under the panels: learning-rate colours, condition markers, the decay panels' colours."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(lrs)))
    handles = [
        Line2D([], [], color=c, marker="s", ls="none", ms=5, label=f"lr {lr:g}")
        for c, lr in zip(colors, lrs, strict=True)
    ]
    handles += [
        Line2D(
            [],
            [],
            color="0.3",
            marker=MARKERS[c],
            ls="none",
            ms=4,
            label=f"init {init:g}" + (f", decay {dec:g}" if dec else ""),
        )
        for c, (init, dec) in enumerate(LR_CONDITIONS)
    ]
    handles += [
        *(
            Line2D(
                [],
                [],
                color=RUN_COLORS[(opt, lr, schedule)],
                marker="o",
                ms=4,
                label=run_label(opt, lr, schedule),
            )
            for opt, lr, schedule, _ in DECAY_RUNS
        ),
        Line2D([], [], color="0.5", lw=4, alpha=0.3, label="init 0: mean ± sd"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    with FigureRun(out_dir, force=force) as run:
        result = sweeps(run, quick=quick, seed=seed)
        s = result["sizes"]
        fig, axes = run.figure(3, 3, figsize=(PAGE_WIDTH, 6.4), sharex="col", sharey="row")
        fig.set_layout_engine("constrained")
        drawn = draw_sweeps(fig, axes, result)
        fig.suptitle(
            f"N = {s['n_features']} features in m = {s['d']} dims, ε = {s['density']:.3g}, "
            f"{s['steps']:,} LAMB steps, {s['seeds']} seeds per point"
        )
        _sweep_key(fig)
        facts = {"drawn": drawn, "data": {part: result[part]["data"] for part in PARTS}}
        run.save(fig, "monosemanticity_sweeps", facts=facts)
        d = result["bias"]["data"]
        models = []
        for c, title in ((len(BIAS_INITS), f"init_bias -1, decay {DECAY}"), (0, "init_bias 0")):
            b = best_seed(d, c)
            models.append(
                (title, d["bias"][c, b], d["score"][c, b], d["monosemantic"][c, b], d["activations"][c, b])
            )
        fig, axes = run.figure(2, 2, figsize=(PAGE_WIDTH, 5.6), squeeze=False)
        fig.set_layout_engine("constrained")
        orders = draw_neurons(fig, axes, models)
        fig.suptitle(
            f"Best seed of each initialization, N = {s['n_features']} features in m = {s['d']} dims, "
            f"k = {K_RATIO}N neurons"
        )
        _neuron_key(fig)
        run.save(fig, "monosemanticity_neurons", facts={"models": models, "orders": orders})
        ls = result["loss_sizes"]
        fig, axes = run.figure(1, 3, figsize=(PAGE_WIDTH, 3.0))
        fig.set_layout_engine("constrained")
        drawn = draw_loss(fig, axes, result)
        fig.suptitle(
            f"N = {ls['n_features']} features in m = {ls['d']} dims, k = {ls['n_neurons']} neurons, "
            f"ε = {ls['density']:.3g}, {ls['steps']:,} steps (repeating cosine: "
            f"{ls['steps'] if quick else PERIODIC_STEPS:,}), {ls['seeds']} seeds per point"
        )
        _loss_key(fig, result["lr"]["x"])
        facts = {
            "drawn": drawn,
            "data": {part: result[part]["data"] for part in ("lr", "decay")},
        }
        run.save(fig, "monosemanticity_loss", facts=facts)
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
