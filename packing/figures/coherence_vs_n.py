"""Coherence of n lines in R^d against n: records, this optimizer, random packings and every lower bound.

For d = 3, 4, 5 and n = d+1 … 40 the top row draws the best known coherence
(Sloane's and Cohn's tables, shipped as :func:`packing.best_known_table`),
``optimize_packing`` with a short budget per cell (stated in the title; the
benchmark ``scripts/bench_packings.py`` uses 15 s), the median coherence of
random Gaussian packings, and the Welch, orthoplex, Levenstein, Bukh–Cox and
certified Delsarte LP lower bounds; the right axis gives the minimum angle in
degrees, the unit of Sloane's tables. The record is drawn thin and dark over
the optimizer's wide pale line, so both show where they agree. The bottom row
shows the two gaps on a log scale: optimizer minus record (how far the search
is from the best known) and record minus the best lower bound (how far the
best known could still be from optimal). The records are rounded to 10
decimals, so a gap below 1e-10 is no gap: it is drawn as a hollow marker at
that floor, not as a spike down to the rounding noise. The optimizer runs one
sweep cell per ``(n, d)`` through :func:`packing.sweep` (every core; in this
process for ``--quick``), each cell on its own stream drawn from ``(seed, d,
n)`` and cached in ``<out>/.cache/sweep/``; ``--force`` recomputes them. The
random medians take a second stream of the same cell and are recomputed each
run (under a second). No single published figure: the records are Conway,
Hardin & Sloane (1996) and Cohn's continuation of their table.
"""

from __future__ import annotations

import numpy as np

from .. import (
    best_known_table,
    bound_table,
    coherence,
    lp_bound,
    optimize_packing,
    plot_coherence_curves,
    register_task,
    sweep_tasks,
)
from ._kit import FigureRun, run_figure_cli

BOUNDS = {"welch": "Welch", "orthoplex": "orthoplex", "levenstein": "Levenstein", "bukh_cox": "Bukh–Cox"}
BOUND_COLORS = {
    "Welch": "C0",
    "orthoplex": "C1",
    "Levenstein": "C2",
    "Bukh–Cox": "C4",
    "LP bound (certified)": "C9",
}
#: Records are rounded to 10 decimals: smaller differences are drawn at this floor.
FLOOR = 1e-10


def _records() -> dict:
    return {(e.d, e.n): e.coherence for e in best_known_table()}


#: The sweep task of one cell, registered by :func:`optimizer_cells`.
TASK = "figure.coherence_vs_n"
#: Enters every cell's key: change it when :func:`optimize_cell` changes its results.
TASK_VERSION = "1"


def cell_streams(seed: int, d: int, n: int) -> list[np.random.Generator]:
    """Return the two independent streams of cell ``(n, d)``: the optimizer's and the random packings'."""
    return np.random.default_rng([seed, d, int(n)]).spawn(2)


def optimize_cell(n: int, d: int, *, budget=None, restarts=None, seed: int = 0):
    """Return ``optimize_packing(n, d)`` run on the optimizer's stream of the cell (:func:`cell_streams`).

    The figure's sweep task: the engine passes the figure's ``seed``, and the
    cell draws its own stream from ``(seed, d, n)``, so every cell has its own
    random starts whichever process runs it.
    """
    opt_rng, _ = cell_streams(seed, d, n)
    return optimize_packing(n, d, rng=opt_rng, budget=budget, restarts=restarts, progress=False)


def optimizer_cells(run: FigureRun, cells, *, seed: int, budget=None, restarts=None, n_jobs=None):
    """Run :func:`optimize_cell` on every ``(n, d)`` of ``cells`` through the sweep engine; return its table.

    One row per cell in the order given; ``coherence`` is the optimizer's and
    ``path`` the cached cell (``run.cache_dir / "sweep"``) that
    :func:`packing.load_cell` reads. ``n_jobs=1`` runs the cells in this
    process, ``None`` on every core.
    """
    register_task(
        TASK,
        optimize_cell,
        summarize=sweep_tasks()["optimize_packing"].summarize,
        version=TASK_VERSION,
        replace=True,
    )
    grid = [{"n": int(n), "d": int(d), "budget": budget, "restarts": restarts} for n, d in cells]
    return run.sweep(TASK, grid, seeds=[seed], n_jobs=n_jobs)


def random_medians(d: int, ns, seed: int, random_draws: int) -> np.ndarray:
    """Median coherence of ``random_draws`` Gaussian packings per ``n``, on each cell's second stream."""
    medians = []
    for n in ns:
        _, rand_rng = cell_streams(seed, d, n)
        medians.append(np.median([coherence(rand_rng.normal(size=(int(n), d))) for _ in range(random_draws)]))
    return np.asarray(medians)


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    dims = (3,) if quick else (3, 4, 5)
    budget = 0.1 if quick else 1.5
    records = _records()
    with FigureRun(out_dir, force=force) as run:
        ns_of = {d: np.arange(d + 1, 8 if quick else 41) for d in dims}
        cells = [(int(n), d) for d in dims for n in ns_of[d]]
        table = optimizer_cells(run, cells, seed=seed, budget=budget, n_jobs=1 if quick else None)
        width = 7.0 if len(dims) > 1 else 3.35
        fig, axes = run.figure(
            2, len(dims), figsize=(width, 5.6), squeeze=False, gridspec_kw={"height_ratios": [1.3, 1]}
        )
        facts = {}
        for col, d in enumerate(dims):
            ns = ns_of[d]
            ours = table.loc[table["d"] == d, "coherence"].to_numpy(dtype=np.float64)
            data = {"n": ns, "ours": ours, "random": random_medians(d, ns, seed, random_draws=20)}
            facts[d] = _draw(
                axes[:, col], d, ns, data, records, budget, first=col == 0, last=col == len(dims) - 1
            )
        for col in range(1, len(dims)):  # one scale per row: the tick labels of the first column serve all
            axes[0, col].sharey(axes[0, 0])
            axes[1, col].sharey(axes[1, 0])
        handles, labels = [], []
        for ax in axes[:, 0]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.append(h)
                labels.append(lab)
        fig.legend(handles, labels, loc="lower center", ncol=3 if len(dims) > 1 else 2, frameon=False)
        fig.suptitle(f"Grassmannian line packings: optimizer budget {budget:g} s per cell (seed {seed})")
        fig.tight_layout(rect=(0, 0.14 if len(dims) > 1 else 0.24, 1, 1))
        run.save(fig, "coherence_vs_n", facts=facts)
    return run.paths


def _degrees(c):
    """Angle (degrees) of lines whose |cos| is ``c``: the unit of Sloane's tables."""
    return np.degrees(np.arccos(np.clip(c, 0.0, 1.0)))


def _cosine(a):
    return np.cos(np.radians(np.clip(a, 0.0, 90.0)))


def _draw(axes, d, ns, data, records, budget, *, first, last):
    """Top: coherence curves of one d (angle on the right); bottom: the two gaps on a log scale."""
    rec = np.array([records.get((d, int(n)), np.nan) for n in ns])
    optimizer = f"optimizer ({budget:g} s/cell)"
    # the optimizer first, wide and pale, the record over it, thin and dark: both visible where they agree
    curves = {optimizer: data["ours"], "record (Sloane/Cohn)": rec, "random (median of 20)": data["random"]}
    table = [bound_table(int(n), d) for n in ns]
    for key, label in BOUNDS.items():
        curves[label] = np.array([t[key] if t[key] is not None else np.nan for t in table])
    curves["LP bound (certified)"] = np.array([lp_bound(int(n), d) for n in ns])
    styles = {
        optimizer: {"color": "C3", "lw": 3.0, "alpha": 0.45},
        "record (Sloane/Cohn)": {"color": "k", "lw": 0.9, "marker": ".", "ms": 3},
        "random (median of 20)": {"color": "0.5"},
    }
    styles.update({k: {"color": c} for k, c in BOUND_COLORS.items()})
    ax = plot_coherence_curves(axes[0], ns, curves, styles=styles, d=d)
    ax.set_title(f"d = {d}, n = {ns[0]}…{ns[-1]} lines")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("")
    if not first:
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    angle = ax.secondary_yaxis("right", functions=(_degrees, _cosine))
    angle.set_yticks([90, 75, 60, 45, 30, 15] if last else [])
    if last:
        angle.set_ylabel("minimum angle (degrees)")
    bounds = [v for k, v in curves.items() if k in BOUNDS.values() or k.startswith("LP")]
    best_bound = np.nanmax(np.vstack(bounds), axis=0)
    gap_ax = axes[1]
    gaps = {}
    for gap, marker, color, label in (
        (data["ours"] - rec, "o", "C3", "optimizer − record"),
        (rec - best_bound, "s", "C0", "record − best lower bound"),
    ):
        above = gap > FLOOR
        gap_ax.semilogy(
            ns, np.where(above, gap, np.nan), marker + "-", color=color, ms=3, lw=0.8, label=label
        )
        at_floor = ~above & np.isfinite(gap)
        gap_ax.plot(ns[at_floor], np.full(at_floor.sum(), FLOOR), marker, mfc="none", color=color, ms=3.5)
        gaps[label] = gap
    gap_ax.axhline(FLOOR, color="0.6", lw=0.8, ls=":")
    gap_ax.set_ylim(FLOOR / 4, None)
    gap_ax.set_xlabel("number of lines n")
    if first:
        gap_ax.set_ylabel(f"gap in coherence\n(hollow: below {FLOOR:g}, the\nrecords' rounding)")
    else:
        gap_ax.tick_params(labelleft=False)
    for a in (ax, gap_ax):
        a.xaxis.get_major_locator().set_params(integer=True)
    return {"ns": ns, "record": rec, "optimizer": data["ours"], "gaps": gaps}


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
