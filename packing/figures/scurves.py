"""S-curves: a rank-r factorization learning a target of r components, under SGD and Adam.

The model ``Ã = Σ_r p_r q_rᵀ`` learns ``A = Σ_k s_k a_k b_kᵀ`` from small
random initialization (``rank = K = 1, 2, 10``; strengths ``s_k = 0.8^k``).
Two figures, each with rows SGD (plain gradient descent; time ``lr * step``)
and Adam, columns by rank:

* ``scurves_squared``: squared loss ``½ ||Ã - A||²``. Each curve is the
  fraction learned of one target component, ``a_kᵀ Ã b_k / s_k``. Under SGD the
  components are learned one after another, each on a logistic S-curve
  (dashed: the closed form of ``ds/dt = s - s³`` for rank 1 from the same
  scale and aligned initialization, Saxe et al. 2014, drawn over an
  aligned-init run); Adam learns them nearly together. The dotted curves in
  the rank-2 panels are ``|cos|`` between learned component 1 (``p_1 q_1ᵀ``)
  and target components 1 and 2: under SGD it first aligns with the stronger
  target (the alignment bump) and partly rotates away when the second one is
  learned (a factorization is defined only up to mixing within the learned
  subspace).
* ``scurves_cross_entropy``: target and model each softmaxed over all
  entries, loss ``KL(p_A || p_Ã)`` (cross-entropy offset so that equality is 0),
  with the same rows of fractions learned (a component is learned up to the
  softmax's shift invariance, which a low-rank model cannot use) and the loss
  on a log scale under each: plateaus separated by drops, one per component
  learned.

A run counts as converged when every component is within 1% of its target
strength (:data:`CONVERGED`); each panel's time axis ends 1.4 times after
that, and a panel whose run never gets there says which component is
furthest and where it ends (cross-entropy, rank 10, plain gradient descent:
component 10 at about 93% after 6,000 steps, loss 4.7e-6).

A key below the panels names every line; the colour bar gives the component
index ``k`` (the same colour for ``k`` in every panel).
"""

from __future__ import annotations

import matplotlib
import numpy as np

from .. import scurve_closed_form, train_scurve
from ._kit import FigureRun, run_figure_cli

RANKS = (1, 2, 10)
SETTINGS = {  # loss: {optimizer: (lr, steps)}
    "squared": {"sgd": (0.05, 2400), "adam": (0.003, 2400)},
    "cross_entropy": {"sgd": (2.0, 6000), "adam": (0.01, 6000)},
}
SCALE = {"squared": 1.0, "cross_entropy": 6.0}  # target strength multiplier
INIT = 1e-3


def scurve(run, loss, optimizer, rank, seed, quick, aligned=False):
    """One training run (cached under its full configuration)."""
    lr, steps = SETTINGS[loss][optimizer]
    if quick:  # a quarter of the steps at four times the rate: the same time lr * steps, the same curves
        lr, steps = 4 * lr, steps // 4
    return run.cached(
        train_scurve,
        rank=rank,
        target_strengths=SCALE[loss] * 0.8 ** np.arange(rank),
        size=(16, 16),
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        steps=steps,
        init_scale=INIT,
        aligned_init=aligned,
        record_every=max(1, steps // 800),
        rng=seed,
    )


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    with FigureRun(out_dir, force=force) as run:
        for loss in ("squared", "cross_entropy"):
            _figure(run, loss, seed, quick)
    return run.paths


#: A run has converged when every component is within this fraction of its target strength.
CONVERGED = 0.01
#: One colour per target component k (the same k has the same colour in every panel).
COMPONENT_COLORS = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, max(RANKS)))


def half_times(frac):
    """Record index at which each component first passes half of its target (-1: never)."""
    above = frac > 0.5
    return np.where(above.any(axis=0), np.argmax(above, axis=0), -1)


def converged_at(frac):
    """Index of the first record where every component is within :data:`CONVERGED` of 1 (None: never)."""
    done = np.flatnonzero((np.abs(frac - 1) < CONVERGED).all(axis=1))
    return int(done[0]) if done.size else None


def _figure(run, loss, seed, quick):
    """Per optimizer, the fraction learned of each component (and, for cross-entropy, the loss) by rank."""
    optimizers = ("sgd", "adam")
    rows = [(opt, "fraction") for opt in optimizers]
    if loss == "cross_entropy":
        rows = [(opt, kind) for opt in optimizers for kind in ("fraction", "loss")]
    ratios = [1.0 if kind == "fraction" else 0.6 for _, kind in rows]
    fig, axes = run.figure(
        len(rows),
        len(RANKS),
        figsize=(7.0, 2.0 * sum(ratios) + 1.3),
        squeeze=False,
        gridspec_kw={"height_ratios": ratios},
    )
    facts = {}
    for col, rank in enumerate(RANKS):
        for optimizer in optimizers:
            r = scurve(run, loss, optimizer, rank, seed, quick)
            x = r["times"] if optimizer == "sgd" else r["steps"]
            frac = r["strengths"] / r["target_strengths"]
            done = converged_at(frac)
            facts[(optimizer, rank)] = {
                "final_fraction": frac[-1],
                "converged_at": done,
                "half_times": half_times(frac),
                "loss": r["loss"][-1],
            }
            for row, (opt, kind) in enumerate(rows):
                if opt != optimizer:
                    continue
                ax = axes[row, col]
                if kind == "fraction":
                    _fractions(ax, run, r, x, frac, loss, optimizer, rank, seed, quick)
                    ax.set_title(f"{optimizer.upper()}, rank {rank}")
                    if col:  # one fraction axis per row
                        ax.set_ylabel("")
                        ax.tick_params(labelleft=False)
                else:
                    ax.semilogy(x, np.maximum(r["loss"], 1e-16), color="k", lw=1.1)
                    ax.set_ylabel("KL(p_A‖p_Ã)")
                    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
                if done is not None:
                    ax.set_xlim(x[0], min(x[-1], 1.4 * x[done]))
                elif kind == "fraction":
                    worst = int(np.argmax(np.abs(frac[-1] - 1)))
                    ax.text(
                        0.97,
                        0.05,
                        f"not converged: component {worst + 1}\nat {frac[-1, worst]:.0%} at the end",
                        transform=ax.transAxes,
                        ha="right",
                        va="bottom",
                        fontsize="x-small",
                    )
                last = row == len(rows) - 1 or rows[row + 1][0] != optimizer
                if last:
                    ax.set_xlabel("time  lr · step" if optimizer == "sgd" else "Adam step")
    title = {"squared": "squared loss", "cross_entropy": "cross-entropy (softmax over all entries)"}[loss]
    fig.suptitle(
        f"S-curves, {title}: 16 x 16 target, strengths {SCALE[loss]:g}·0.8^k, init scale {INIT:g}\n"
        f"converged: every component within {CONVERGED:.0%} of its target (x axis ends 1.4x later)"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _key(fig, axes)  # after the layout: the key's colour bar has a fixed place below the panels
    run.save(fig, f"scurves_{loss}", facts=facts)


def _fractions(ax, run, r, x, frac, loss, optimizer, rank, seed, quick):
    """Fraction learned of each component; rank 1 SGD with the closed form, rank 2 with the alignments."""
    for k in range(rank):
        ax.plot(x, frac[:, k], color=COMPONENT_COLORS[k], lw=1.2)
    if rank == 1 and optimizer == "sgd" and loss == "squared":
        al = scurve(run, loss, optimizer, rank, seed, quick, aligned=True)
        ax.plot(
            al["times"], al["strengths"][:, 0], color="tab:orange", lw=2.5, alpha=0.6, label="aligned init"
        )
        ax.plot(x, scurve_closed_form(x, INIT) ** 2, "k--", lw=0.9, label="closed form s(t)², ds/dt = s − s³")
    if rank == 2:
        for k, ls in ((0, ":"), (1, "-.")):
            ax.plot(
                x,
                np.abs(r["alignment"][:, 0, k]),
                ls,
                color="tab:red",
                lw=1.0,
                label=f"|cos(learned comp. 1, target {k + 1})|",
            )
    ax.set_ylim(-0.05, 1.12)
    ax.set_ylabel("fraction learned\na_kᵀÃb_k / s_k")


def _key(fig, axes):
    """One legend for the whole figure (below the panels) and one colour key for the components."""
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="lower left", ncol=2, frameon=False, bbox_to_anchor=(0.0, 0.0))
    cmap = matplotlib.colors.ListedColormap(COMPONENT_COLORS)
    norm = matplotlib.colors.BoundaryNorm(np.arange(0.5, max(RANKS) + 1), cmap.N)
    cax = fig.add_axes((0.72, 0.035, 0.26, 0.014))
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_ticks(range(1, max(RANKS) + 1))
    bar.ax.tick_params(labelsize="x-small")
    bar.set_label("target component k (colour)", fontsize="x-small")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
