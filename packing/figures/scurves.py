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
  on a log scale: plateaus separated by drops; at rank 10 plain gradient
  descent has not reached zero loss by the end of the run.
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
    if quick:
        steps = 60
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


def _figure(run, loss, seed, quick):
    """Rows SGD and Adam, one column per rank, for one loss."""
    fig, axes = run.figure(2, len(RANKS), figsize=(4 * len(RANKS), 6.2), squeeze=False)
    for row, optimizer in enumerate(("sgd", "adam")):
        for col, rank in enumerate(RANKS):
            ax = axes[row, col]
            r = scurve(run, loss, optimizer, rank, seed, quick)
            x = r["times"] if optimizer == "sgd" else r["steps"]
            if loss == "squared":
                frac = r["strengths"] / r["target_strengths"]
                colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, rank))
                for k in range(rank):
                    ax.plot(x, frac[:, k], color=colors[k], lw=1.3, label=f"k={k + 1}" if rank <= 2 else None)
                if rank == 1 and optimizer == "sgd":
                    al = scurve(run, loss, optimizer, rank, seed, quick, aligned=True)
                    ax.plot(
                        al["times"],
                        al["strengths"][:, 0],
                        color="tab:orange",
                        lw=2.5,
                        alpha=0.6,
                        label="aligned init",
                    )
                    ax.plot(
                        x,
                        scurve_closed_form(x, INIT) ** 2,
                        "k--",
                        lw=0.9,
                        label="closed form s(t)², ds/dt = s - s³",
                    )
                if rank == 2:
                    for k in range(2):
                        ax.plot(
                            x,
                            np.abs(r["alignment"][:, 0, k]),
                            ":",
                            color=colors[k],
                            lw=1.1,
                            label=f"|cos(comp 1, target {k + 1})|",
                        )
                ax.set_ylim(-0.05, 1.1)
                done = np.flatnonzero((np.abs(frac - 1) < 0.01).all(axis=1))
                if done.size:
                    ax.set_xlim(x[0], min(x[-1], 1.4 * x[done[0]]))
                ax.set_ylabel("fraction learned  a_kᵀÃb_k / s_k" if col == 0 else "")
                if rank <= 2:
                    ax.legend(loc="lower right")
            else:
                ax.semilogy(x, np.maximum(r["loss"], 1e-12), color="k", lw=1.3)
                done = np.flatnonzero(r["loss"] < 1e-7)
                if done.size:
                    ax.set_xlim(x[0], min(x[-1], 1.4 * x[done[0]]))
                else:
                    ax.text(
                        0.97,
                        0.9,
                        f"not converged: loss {r['loss'][-1]:.1e} at the end",
                        transform=ax.transAxes,
                        ha="right",
                        fontsize="small",
                    )
                ax.set_ylabel("KL(p_A || p_Ã)" if col == 0 else "")
            ax.set_title(f"{optimizer.upper()}, rank {rank}")
            ax.set_xlabel("time  lr · step" if optimizer == "sgd" else "Adam step")
    title = {"squared": "squared loss", "cross_entropy": "cross-entropy (softmax over all entries)"}[loss]
    fig.suptitle(f"S-curves, {title}: target strengths {SCALE[loss]:g}·0.8^k, init scale {INIT:g}")
    fig.tight_layout()
    run.save(fig, f"scurves_{loss}")


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
