"""Predicted against trained: phase diagrams, dimensions per feature, and the loss gap.

The theory (:mod:`packing.theory`) predicts, before training, the geometry a
ReLU toy model ``x' = ReLU(x W Wᵀ + b)`` learns (the lowest expected loss among
its candidate geometries, :func:`packing.theory.predict_geometry`); this figure
draws the prediction beside what the numpy trainer learns. Features are zero
with probability ``S = 1 − density`` and otherwise uniform on [0, 1), as in the
paper; Adam, lr 1e-2 with a cosine schedule.

* ``theory_phase_diagrams`` reproduces the phase diagrams of Elhage et al.
  (2022, "Toy Models of Superposition", section "Superposition as a Phase
  Change"): 2 features in 1 dimension (top row) and 3 in 2 (bottom row); the
  last feature has relative importance 0.1-10 (x, the others 1) and every
  feature the density 1-0.01 (y), 20 x 20 log-spaced cells. Each row is
  predicted | trained (6,000 steps of 1,024 inputs, best by loss of 8 runs:
  4 seeds from each of two initial scales, see "Training" below) |
  where they differ, with the fraction of agreeing cells. Both weight matrices
  are classified by one rule (:func:`packing.theory.classify_phase`): the last
  feature not represented, given a dedicated dimension, stored as an antipodal
  pair, or in other superposition. What differs: the prediction is this
  toolkit's own (:mod:`packing.theory`), not the paper's analysis; the trained
  cells come from the numpy trainer with the settings above, not the paper's
  runs; the paper's single "superposition" phase is split into antipodal pairs
  and other superposition. Cells where candidates nearly tie (e.g. 3 equal features in
  2 dims at density 1, whose triangle beats dropping a feature by 2e-4 in
  expected loss) can flip either way in training.
* ``theory_dimensionality``: dimensions per feature ``d / ||W||_F²`` of 200
  features in 20 dims against ``1/(1−S)`` (the paper's "Feature
  Dimensionality" plot; 20 sparsities, 5,000 steps of 512 inputs, best of 4
  runs: 2 seeds from each of two initial scales): trained points, the
  predicted curve drawn over them;
* ``theory_loss_gap``: the trained model's expected loss minus the predicted
  optimum's (relative), across the same sparsities: below 0 the trained model
  found a geometry outside the predicted candidates, above 0 it sits in a worse
  configuration (a local minimum or unfinished training).

Training. Every cell, whatever its prediction, is trained by one rule
(:func:`train_best`): ``n_seeds`` seeds from Xavier's initial scale and
``n_seeds`` from a tenth of it, keeping per instance the run with the lowest
expected loss (:func:`packing.theory.expected_loss`, exact up to a bounded
grid error, rather than the trainer's loss on one finite evaluation batch,
whose noise picked the wrong run on near-tied 3-in-2 cells). The small start avoids two local minima
that every Xavier seed can reach: at density 1, 200-in-20 models with ReLU
outputs that never fire (11–14 of 200 in each of 3 seeds, loss 17.75–18.77
against 15.00 from a tenth of the scale), and 2-in-1 cells with both features
on one side. The rows of the phase diagrams and the sparsities of the sweep are
cells of :func:`packing.sweep` (cached, on every core; the prediction of each
cell is computed in its cell too).

Quick mode (a test, not a result) uses 3 x 3 phase grids with 200 steps and one
seed, 12 features in 3 dims and 200 training steps (seconds); the full figure
took 34 minutes on the shared 2-core machine (load 2-13; cached).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap

from ..geometry import dimensions_per_feature
from ..theory import PHASES, PhaseDiagram, expected_loss, phase_diagram, predict_geometry
from ..theory._phase import _stack_rows
from ..train import train_toy_model
from ._kit import PAGE_WIDTH, FigureRun, run_figure_cli

#: Colours of :data:`packing.theory.PHASES` in the phase panels.
PHASE_COLORS = ("0.85", "tab:blue", "tab:orange", "tab:red")
#: Colours of agreeing and disagreeing cells in the disagreement panels.
DIFFER_COLORS = ("white", "0.25")
FULL = dict(cells=20, phase_seeds=4, phase_steps=6000, n=200, d=20, points=20, seeds=2, steps=5000)
#: Initial weight scales as fractions of Xavier's ``sqrt(2 / (n + d))``: every cell trains from each.
INIT_FRACTIONS = (1.0, 0.1)
#: Grid cap of the trained models' expected loss (its error bound is reported beside it).
GRID_CAP = 4096
QUICK = dict(cells=3, phase_seeds=1, phase_steps=200, n=12, d=3, points=3, seeds=1, steps=200)


#: Sweep tasks of the figure's training cells (registered when the figure runs).
PHASE_TASK = "theory_phase_row"
DIMS_TASK = "theory_dims_point"
#: Version of both tasks (enters the cells' keys). "2": runs picked by expected loss, not eval loss.
TASK_VERSION = "2"


#: :func:`scaled_steps`: a sparse cell trains until each feature has been active as often as at this
#: density with the base steps, ...
STEP_REFERENCE_DENSITY = 0.1
#: ... but for at most this multiple of the base steps (the cost grows with the steps).
MAX_STEP_FACTOR = 4.0


def scaled_steps(steps, density, *, reference=STEP_REFERENCE_DENSITY, max_factor=MAX_STEP_FACTOR) -> int:
    """Training steps for a cell whose features are active with probability ``density``.

    A feature is active in ``density * batch_size`` inputs of a batch, so a
    sparse cell sees few examples of each feature per step. The rule gives every
    cell at least as many active examples per feature as ``steps`` give at
    ``reference`` density: ``steps * reference / density``, never fewer than
    ``steps`` (dense cells keep the base) and never more than ``max_factor *
    steps`` (the cost). It depends on the density alone, so it applies the same
    way to every cell.

    Parameters
    ----------
    steps : int
        The base number of steps (``>= 1``).
    density : float
        The cell's density (the largest of its features'), in (0, 1].
    reference : float
        Density in (0, 1] from which on the base steps are kept.
    max_factor : float
        Cap of the scaling, ``>= 1``.

    Returns
    -------
    int

    Examples
    --------
    >>> from packing.figures.theory_predictions import scaled_steps
    >>> [scaled_steps(30_000, p) for p in (1.0, 0.1, 0.05, 0.03, 0.01)]
    [30000, 30000, 60000, 100000, 120000]
    >>> scaled_steps(100, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: density must lie in (0, 1]; got 0.0.
    """
    from .._validation import check_float, check_int

    steps = check_int(steps, "steps", minimum=1)
    density = check_float(density, "density")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must lie in (0, 1]; got {density}.")
    reference = check_float(reference, "reference")
    if not 0.0 < reference <= 1.0:
        raise ValueError(f"reference must lie in (0, 1]; got {reference}.")
    max_factor = check_float(max_factor, "max_factor")
    if max_factor < 1.0:
        raise ValueError(f"max_factor must be >= 1; got {max_factor}.")
    factor = min(max(reference / density, 1.0), max_factor)
    return int(round(steps * factor))


def train_cells(n: int, d: int, cells: int, n_seeds: int, steps: int, seed: int) -> dict:
    """Train the cells of a ``cells x cells`` phase diagram (rows: density 1..0.01, columns: importance).

    Row by row in this process (:func:`phase_row`); the figure runs the rows as
    cells of one sweep on every core instead.
    """
    x, y = np.geomspace(0.1, 10, cells), np.geomspace(1, 0.01, cells)
    rows = [phase_row(n, d, y[i], x, n_seeds, steps, seed, i) for i in range(cells)]
    return {
        "W": np.concatenate([r.trained_W[0] for r in rows]),
        "b": np.concatenate([r.trained_b[0] for r in rows]),
    }


def phase_row(
    n, d, density, relative_importance, n_seeds, steps, seed, row, *, n_threads=None, blas_threads=None
) -> PhaseDiagram:
    """Predict and train one row of a phase diagram (sweep task ``theory_phase_row``).

    Every importance at one density: each column an instance, trained by
    :func:`train_best` on the row's own stream ``(seed, n, d, row)`` (so a row
    does not depend on which process runs it or on the other rows), and
    predicted by :func:`packing.theory.phase_diagram`. The figure joins the
    rows into one diagram.
    """
    x = np.asarray(relative_importance, dtype=np.float64)
    imp = np.ones((x.size, n))
    imp[:, -1] = x
    rng = np.random.default_rng([seed, n, d, row])
    t = train_best(
        n, d, np.full(x.size, float(density)), imp, 1024, n_seeds, steps, rng, n_threads, blas_threads
    )
    return phase_diagram(
        n,
        d,
        relative_importance=x,
        density=[float(density)],
        trained_weights=(t["W"], t["b"]),
        n_seeds=n_seeds * len(INIT_FRACTIONS),
        steps=steps,
        rng=[seed, n, d, row],
    )


def train_sweep(n: int, d: int, inv: np.ndarray, n_seeds: int, steps: int, seed: int) -> dict:
    """Train ``n`` equal features in ``d`` dims at sparsities ``S = 1 − 1/inv`` (in this process)."""
    return train_best(n, d, 1.0 / inv, 1.0, 512, n_seeds, steps, seed)


def dims_point(n, d, inv, n_seeds, steps, seed, index, *, n_threads=None, blas_threads=None) -> dict:
    """One sparsity ``S = 1 − 1/inv`` of the dimensionality sweep (the sweep task ``theory_dims_point``).

    Trains ``n`` equal features in ``d`` dims (:func:`train_best`, stream
    ``(seed, n, d, index)``), predicts the geometry, and returns both weights,
    dimensions per feature and expected losses (the trained model's on the
    automatic grid, whose bound is reported as ``trained_loss_bound``).
    """
    rng = np.random.default_rng([seed, n, d, index])
    t = train_best(n, d, 1.0 / inv, 1.0, 512, n_seeds, steps, rng, n_threads, blas_threads)
    W, b = t["W"][0], t["b"][0]
    S = 1.0 - 1.0 / inv
    p = predict_geometry(n, d, sparsity=S)
    e = expected_loss(W, b, sparsity=S, max_grid_points=GRID_CAP, return_details=True)
    return {
        "W": W,
        "b": b,
        "trained_dims": dimensions_per_feature(W),
        "predicted_dims": p.dimensions_per_feature,
        "trained_loss": float(e.loss[0]),
        "trained_loss_bound": float(e.error_bound[0]),
        "trained_eval_loss": float(t["eval_loss"][0]),
        "predicted_loss": p.loss,
    }


def train_best(
    n,
    d,
    density,
    importance,
    batch_size,
    n_seeds,
    steps,
    seed,
    n_threads=None,
    blas_threads=None,
    schedule="cosine",
) -> dict:
    """Train every instance from each initial scale of :data:`INIT_FRACTIONS`, ``n_seeds`` seeds each.

    One rule for every cell, independent of any prediction: per instance, the
    run with the lowest expected loss (:func:`packing.theory.expected_loss`
    on a grid of at most :data:`GRID_CAP` points, over exactly the trainer's
    data distribution) among all ``len(INIT_FRACTIONS) * n_seeds`` runs is
    kept (:func:`pick_best`). The trainer's own choice, the lowest loss on one
    finite evaluation batch, is noise-limited: its standard error exceeds the
    loss differences between near-tied geometries (e.g. 3 features in 2 dims).
    Each seed is trained as its own instance (``n_seeds=1`` on repeated
    instances) so that every run's weights can be scored.

    Returns a dict: ``W``, ``b`` (the kept runs), ``expected_loss`` and
    ``eval_loss`` (theirs; ``eval_loss`` is the trainer's), and per run
    ``run_expected_losses``, ``run_eval_losses`` (instances, runs), ``chosen``
    and every run's weights ``run_W``, ``run_b`` (instances, runs, ...).
    ``schedule`` is the trainer's learning-rate schedule (the figure's: ``"cosine"``).
    """
    dens = np.atleast_1d(np.asarray(density, dtype=np.float64))
    imp = np.broadcast_to(np.asarray(importance, dtype=np.float64), (dens.size, n))
    rep = np.repeat(np.arange(dens.size), n_seeds)  # copy s of instance i at row i * n_seeds + s
    rngs = np.random.default_rng(seed).spawn(len(INIT_FRACTIONS))
    Ws, bs, evals = [], [], []
    for fraction, rng in zip(INIT_FRACTIONS, rngs, strict=True):
        r = train_toy_model(
            n_features=n,
            d=d,
            density=dens[rep],
            importance=imp[rep],
            steps=steps,
            batch_size=batch_size,
            lr=1e-2,
            schedule=schedule,
            n_seeds=1,
            init_scale=fraction * math.sqrt(2.0 / (n + d)),
            rng=rng,
            n_threads=n_threads,
            blas_threads=blas_threads,
            progress=False if n_threads == 1 else "auto",
        )
        Ws.append(r.W.astype(np.float64).reshape(dens.size, n_seeds, n, d))
        bs.append(r.b.astype(np.float64).reshape(dens.size, n_seeds, n))
        evals.append(np.asarray(r.eval_loss, dtype=np.float64).reshape(dens.size, n_seeds))
    W, b = np.concatenate(Ws, axis=1), np.concatenate(bs, axis=1)
    best = pick_best(W, b, dens, imp)
    run_eval = np.concatenate(evals, axis=1)
    best["eval_loss"] = run_eval[np.arange(dens.size), best["chosen"]]
    best["run_eval_losses"] = run_eval
    best["run_W"], best["run_b"] = W, b
    return best


def pick_best(W, b, density, importance) -> dict:
    """Per instance, the run of lowest expected loss among ``W``, ``b``.

    ``W`` has shape (instances, runs, n, d), ``b`` (instances, runs, n),
    ``density`` one value per instance, ``importance`` shape (instances, n).
    Ties go to the first run. Returns ``W``, ``b``, ``expected_loss``,
    ``run_expected_losses`` (instances, runs) and ``chosen`` (run index).
    """
    m, runs, n, d = W.shape
    losses = expected_loss(
        W.reshape(m * runs, n, d),
        b.reshape(m * runs, n),
        density=np.repeat(density, runs),
        importance=np.repeat(importance, runs, axis=0),
        max_grid_points=GRID_CAP,
    ).reshape(m, runs)
    chosen = np.argmin(losses, axis=1)
    rows = np.arange(m)
    return {
        "W": W[rows, chosen],
        "b": b[rows, chosen],
        "expected_loss": losses[rows, chosen],
        "run_expected_losses": losses,
        "chosen": chosen,
    }


def _tasks() -> None:
    from ..sweep import register_task, sweep_tasks

    for name, fn in ((PHASE_TASK, phase_row), (DIMS_TASK, dims_point)):
        if name not in sweep_tasks() or sweep_tasks()[name].fn is not fn:
            # the seed is a cell argument; the version changes when the cells' results do
            register_task(name, fn, seed_arg=None, version=TASK_VERSION, replace=True)


def phase_rows(run: FigureRun, n, d, cells, n_seeds, steps, seed, n_jobs=None) -> PhaseDiagram:
    """Predict and train (or read) the rows of a phase diagram as cells of one sweep; return the diagram."""
    from ..sweep import load_cell

    _tasks()
    x, y = np.geomspace(0.1, 10, cells), np.geomspace(1, 0.01, cells)
    grid = [
        dict(
            n=n,
            d=d,
            density=float(y[i]),
            relative_importance=x.tolist(),
            n_seeds=n_seeds,
            steps=steps,
            seed=seed,
            row=i,
        )
        for i in range(cells)
    ]
    table = run.sweep(PHASE_TASK, grid, n_jobs=n_jobs)
    return _stack_rows([load_cell(path).result for path in table["path"]])


def dims_sweep(run: FigureRun, n, d, inv, n_seeds, steps, seed, n_jobs=None) -> dict:
    """Train, predict and score every sparsity of the dimensionality sweep as cells of one sweep."""
    from ..sweep import load_cell

    _tasks()
    grid = [
        dict(n=n, d=d, inv=float(v), n_seeds=n_seeds, steps=steps, seed=seed, index=k)
        for k, v in enumerate(inv)
    ]
    table = run.sweep(DIMS_TASK, grid, n_jobs=n_jobs)
    points = [load_cell(path).result for path in table["path"]]
    out = {key: np.array([p[key] for p in points]) for key in points[0]}
    out["inv"] = np.asarray(inv, dtype=np.float64)
    return out


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    cfg = QUICK if quick else FULL
    n_jobs = 1 if quick else None
    with FigureRun(out_dir, force=force) as run:
        diagrams = [
            phase_rows(run, n, d, cfg["cells"], cfg["phase_seeds"], cfg["phase_steps"], seed, n_jobs=n_jobs)
            for n, d in ((2, 1), (3, 2))
        ]
        fig, axes = run.figure(
            len(diagrams), 3, figsize=(PAGE_WIDTH, 1.2 + 2.3 * len(diagrams)), squeeze=False
        )
        fig.set_layout_engine("constrained")
        draw_phases(fig, axes, diagrams)
        run.save(fig, "theory_phase_diagrams", facts={"diagrams": diagrams})

        n, d = cfg["n"], cfg["d"]
        inv = np.geomspace(1.0, 300.0, cfg["points"])
        sweep = dims_sweep(run, n, d, inv, cfg["seeds"], cfg["steps"], seed, n_jobs=n_jobs)
        fig, ax = run.figure(figsize=(6.5, 4.2))
        draw_dimensionality(ax, sweep, n, d)
        run.save(fig, "theory_dimensionality", facts={"sweep": sweep})
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
            [
                expected_loss(w, bb, sparsity=s, max_grid_points=GRID_CAP)
                for w, bb, s in zip(W, b, S, strict=True)
            ]
        ),
        "predicted_loss": np.array([p.loss for p in preds]),
    }


def phase_codes(labels) -> np.ndarray:
    """Index of each phase label in :data:`packing.theory.PHASES` (the colour drawn)."""
    index = {p: i for i, p in enumerate(PHASES)}
    return np.vectorize(index.__getitem__, otypes=[int])(np.asarray(labels))


def _log_labels(value, _pos):
    """Tick label of a log10 coordinate: the plain value (-1 -> "0.1")."""
    return f"{10.0**value:g}"


def _extent(x, y):
    """Return the ``imshow`` extent that centres each cell on its grid value (``y`` rows from the top)."""
    hx = (x[-1] - x[0]) / (2 * (len(x) - 1)) if len(x) > 1 else 0.5
    hy = (y[0] - y[-1]) / (2 * (len(y) - 1)) if len(y) > 1 else 0.5
    return [x[0] - hx, x[-1] + hx, y[-1] - hy, y[0] + hy]


def agreement_title(predicted, trained) -> str:
    """``"agree in k of m cells"``: counts, not a rounded percentage (398 of 400 is not "100%")."""
    same = int(np.sum(np.asarray(predicted) == np.asarray(trained)))
    return f"agree in {same} of {np.size(predicted)} cells"


def draw_phases(fig, axes, diagrams) -> None:
    """One row per diagram: predicted | trained | disagreement, log axes (importance, density).

    The phase colours share one colour bar (under the predicted and trained
    columns), the disagreement map has its own (under its column).
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter

    from ._kit import add_colorbar

    cmap = ListedColormap(PHASE_COLORS)
    axes = np.asarray(axes)
    phase_im = differ_im = None
    for k, (row, pd) in enumerate(zip(axes, diagrams, strict=True)):
        ext = _extent(np.log10(pd.relative_importance), np.log10(pd.density))
        system = f"n={pd.n_features}, d={pd.d}"
        seeds = pd.config.get("n_seeds")
        trained = "trained" + (f", best of {seeds} run{'s' if seeds > 1 else ''}" if seeds else "")
        grids = (phase_codes(pd.predicted), phase_codes(pd.trained))
        for ax, grid, title in zip(row, grids, ("predicted", trained), strict=False):
            phase_im = ax.imshow(
                grid,
                cmap=cmap,
                vmin=-0.5,
                vmax=len(PHASES) - 0.5,
                extent=ext,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_title(f"{system}\n{title}")
        differ_im = row[2].imshow(
            (pd.predicted != pd.trained).astype(int),
            cmap=ListedColormap(DIFFER_COLORS),
            vmin=-0.5,
            vmax=1.5,
            extent=ext,
            aspect="auto",
            interpolation="nearest",
        )
        row[2].set_title(f"{system}\n{agreement_title(pd.predicted, pd.trained)}")
        row[0].set_ylabel("density of all features")
        for ax in row:
            for which, lo, hi in ((ax.xaxis, ext[0], ext[1]), (ax.yaxis, ext[2], ext[3])):
                which.set_major_locator(FixedLocator(np.arange(np.ceil(lo), np.floor(hi) + 1)))
                which.set_major_formatter(FuncFormatter(_log_labels))
            if k == len(axes) - 1:
                ax.set_xlabel("importance of the last feature")
        for ax in row[1:]:
            ax.tick_params(labelleft=False)
    bar = add_colorbar(
        list(axes[:, :2].ravel()), phase_im, "phase of the last feature", location="bottom", aspect=40
    )
    bar.set_ticks(range(len(PHASES)), labels=[p.replace(" ", "\n", 1) for p in PHASES])
    bar.ax.tick_params(length=0)
    bar = add_colorbar(list(axes[:, 2]), differ_im, "predicted vs trained", location="bottom", aspect=20)
    bar.set_ticks([0, 1], labels=["agree", "differ"])
    bar.ax.tick_params(length=0)


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
