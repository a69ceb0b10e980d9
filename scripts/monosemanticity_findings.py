"""Reproduce the findings of Jermyn, Schiefer & Hubinger (2022) at small size, and ask what input noise does.

Runs the sweeps of :mod:`packing.figures.monosemanticity` (sizes in its ``FULL``
and ``LOSS_FULL``; the results land in the figure cache, so ``packing figures
--only monosemanticity`` draws them afterwards without training) and prints:

1. at equal loss, how widely monosemanticity differs: the paper's learning-rate
   sweep (init 0, and -1 with bias decay, at several lr), the models within 5%
   and 10% of the lowest loss, their monosemantic fractions and biases
   (``--part lr``; the old bias-initialization view, ``--part bias``, too);
2. ``init_bias = -1`` with bias decay against 0: loss and monosemantic fraction
   over seeds for several decays, with LAMB at two learning rates and with Adam
   (``--part decay``), and why the paper's decay 0.03 is not enough in short
   runs: the dead fraction and the bias range along training, with one anneal and
   with the paper's repeating cosine (``--part dynamics``); finding 2 at the paper's
   lr 0.03 with its repeating cosine over 5 seeds (``--part paper_lr``, not run by default);
3. the monosemantic fraction against ``k / N`` (``--part neurons``);
4. input noise (not in the paper): the learned biases, the monosemantic fraction
   and the loss (``--part noise``).

Usage (one thread, niced; ``--part`` runs one sweep, so that separate processes
can share the work; a run without ``--part`` reads what they cached)::

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python scripts/monosemanticity_findings.py [--quick] [--part P]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from packing import monosemanticity, train_monosemanticity_model
from packing.figures import FigureRun
from packing.figures import monosemanticity as drv


def _stats(values, best):
    """``best (mean ± sd)`` over the seeds of one condition."""
    return f"{values[best]:.3f} ({values.mean():.3f} ± {values.std():.3f})"


def _loose(d, c, threshold=0.9):
    """Per seed of condition ``c``: the fraction of neurons scoring above ``threshold`` (looser)."""
    return (d["score"][c] > threshold).mean(axis=-1)


def report_bias(part) -> dict:
    """Print findings 1 and 2; return their numbers."""
    d, labels = part["data"], part["x"]
    print(f"\n== bias initialization (k = {drv.K_RATIO}N); per condition: best seed (mean ± sd over seeds)")
    print(
        f"{'init_bias':>14} {'mono fraction':>24} {'features owned':>24} {'dead':>6} {'clean loss':>24} "
        f"{'score > 0.9':>11}"
    )
    out = {}
    for c, label in enumerate(labels):
        b = drv.best_seed(d, c)
        lo = int(np.argmin(d["clean_loss"][c]))
        print(
            f"{label:>14} {_stats(d['monosemantic_fraction'][c], b):>24} "
            f"{_stats(d['features_with_monosemantic_neuron'][c], b):>24} {d['dead_fraction'][c, b]:6.2f} "
            f"{_stats(d['clean_loss'][c], lo):>24} {_loose(d, c).max():11.3f}"
        )
        out[label] = dict(
            mono_best=float(d["monosemantic_fraction"][c].max()),
            mono_mean=float(d["monosemantic_fraction"][c].mean()),
            owned_best=float(d["features_with_monosemantic_neuron"][c].max()),
            loss_best=float(d["clean_loss"][c].min()),
            loss_mean=float(d["clean_loss"][c].mean()),
            loose_best=float(_loose(d, c).max()),
        )
    loss = d["clean_loss"].ravel()
    frac = d["monosemantic_fraction"].ravel()
    for tol in (0.05, 0.15):
        near = loss <= (1 + tol) * loss.min()
        print(
            f"finding 1: {int(near.sum())} of {loss.size} models within {tol:.0%} of the lowest loss "
            f"({loss.min():.4f}) have monosemantic fractions {frac[near].min():.3f} to {frac[near].max():.3f}"
        )
        out["equal_loss_range" if tol == 0.05 else "within_15_percent"] = (
            float(frac[near].min()),
            float(frac[near].max()),
            int(near.sum()),
        )
    return out


def report_neurons(part) -> dict:
    """Print finding 3, the monosemantic fraction against k/N; return it."""
    print("\n== neurons per feature; best seed (mean ± sd)")
    print(
        f"{'k/N':>6} {'init 0: mono':>24} {'init -1: mono':>24} {'init 0: loss':>10} {'init -1: loss':>10} "
        f"{'>0.9 (0, -1)':>12}"
    )
    out = {}
    for ratio, d in zip(part["x"], part["data"], strict=True):
        b0, b1 = drv.best_seed(d, 0), drv.best_seed(d, 1)
        print(
            f"{ratio:6.2f} {_stats(d['monosemantic_fraction'][0], b0):>24} "
            f"{_stats(d['monosemantic_fraction'][1], b1):>24} {d['clean_loss'][0].min():10.4f} "
            f"{d['clean_loss'][1].min():10.4f} {_loose(d, 0).max():6.3f} {_loose(d, 1).max():5.3f}"
        )
        out[float(ratio)] = [float(d["monosemantic_fraction"][c].max()) for c in (0, 1)]
    return out


def report_noise(part) -> dict:
    """Print finding 4: learned biases, monosemantic fraction and loss against the input noise."""
    d, sigmas = part["data"], part["x"]
    nn = len(sigmas)
    print(f"\n== input noise σ added to x = v E (k = {drv.K_RATIO}N); seed means; mono: best (mean ± sd)")
    out = {}
    for c, title in enumerate(("init 0, no decay", f"init -1, decay {drv.DECAY}")):
        print(f"-- {title}")
        print(
            f"{'σ':>6} {'bias (alive)':>12} {'bias mono':>10} {'bias poly':>10} {'dead':>6} "
            f"{'mono fraction':>24} {'clean loss':>10} {'noisy loss':>10}"
        )
        rows = []
        for i, sigma in enumerate(sigmas):
            j = c * nn + i
            b = drv.best_seed(d, j)
            row = dict(
                sigma=float(sigma),
                bias=float(np.nanmean(d["mean_bias_alive"][j])),
                bias_mono=float(np.nanmean(d["mean_bias_monosemantic"][j]))
                if np.isfinite(d["mean_bias_monosemantic"][j]).any()
                else float("nan"),
                bias_poly=float(np.nanmean(d["mean_bias_polysemantic"][j])),
                dead=float(d["dead_fraction"][j].mean()),
                mono_best=float(d["monosemantic_fraction"][j].max()),
                loss=float(d["clean_loss"][j].mean()),
                noisy=float(d["eval_loss"][j].mean()),
            )
            rows.append(row)
            print(
                f"{sigma:6.2f} {row['bias']:12.3f} {row['bias_mono']:10.3f} {row['bias_poly']:10.3f} "
                f"{row['dead']:6.2f} {_stats(d['monosemantic_fraction'][j], b):>24} {row['loss']:10.4f} "
                f"{row['noisy']:10.4f}"
            )
        out[title] = rows
        slope = np.polyfit([r["sigma"] for r in rows], [r["bias"] for r in rows], 1)[0]
        print(f"   least-squares slope of the mean alive bias against σ: {slope:+.3f}")
    return out


def report_lr(part) -> dict:
    """Print finding 1 the paper's way: a learning-rate sweep, and the models at equal loss."""
    print(
        "\n== finding 1: learning rates (the paper's lr sweep); per lr and condition: "
        "best seed (mean ± sd over seeds)"
    )
    print(
        f"{'lr':>6} {'condition':>18} {'mono fraction':>24} {'clean loss':>24} {'dead':>6} {'alive bias':>10}"
    )
    for lr, d in zip(part["x"], part["data"], strict=True):
        for c, (init, decay) in enumerate(drv.LR_CONDITIONS):
            b = drv.best_seed(d, c)
            lo = int(np.argmin(d["clean_loss"][c]))
            label = f"init {init:g}" + (f", decay {decay:g}" if decay else "")
            print(
                f"{lr:6g} {label:>18} {_stats(d['monosemantic_fraction'][c], b):>24} "
                f"{_stats(d['clean_loss'][c], lo):>24} {d['dead_fraction'][c].mean():6.2f} "
                f"{np.nanmean(d['mean_bias_alive'][c]):10.3f}"
            )
    out = {}
    for tol in (drv.EQUAL_LOSS, 0.10):
        flat = drv.equal_loss(part, tol)
        eq = flat["equal"]
        frac, bias = flat["fraction"][eq], flat["bias"][eq]
        lo, hi = int(np.argmin(frac)), int(np.argmax(frac))
        print(
            f"finding 1: {int(eq.sum())} of {eq.size} models within {tol:.0%} of the lowest loss "
            f"({flat['loss'].min():.4f}): monosemantic fraction {frac.min():.3f} (lr {flat['lr'][eq][lo]:g}, "
            f"bias {bias[lo]:+.3f}) to {frac.max():.3f} (lr {flat['lr'][eq][hi]:g}, bias {bias[hi]:+.3f})"
        )
        if eq.sum() > 2:
            r = np.corrcoef(np.argsort(np.argsort(frac)), np.argsort(np.argsort(bias)))[0, 1]
            print(f"           Spearman correlation of their monosemantic fraction and alive bias: {r:+.2f}")
        out[tol] = dict(n=int(eq.sum()), low=float(frac.min()), high=float(frac.max()))
    return out


def report_decay(part) -> dict:
    """Print finding 2 for every run of the decay part (``DECAY_RUNS`` of the figure driver)."""
    return {
        (optimizer, lr, schedule): report_decay_run(d, part["x"], drv.run_label(optimizer, lr, schedule))
        for (optimizer, lr, schedule, _), d in zip(part["runs"], part["data"], strict=True)
    }


def report_decay_run(d, decays, run) -> dict:
    """Print finding 2: init -1 with bias decay against init 0, loss and monosemanticity over seeds."""
    print(f"\n== finding 2: init_bias -1 with bias decay against init 0 ({run}); mean ± sd over seeds")
    print(
        f"{'condition':>18} {'clean loss':>18} {'mono fraction':>18} {'best mono':>9} {'dead':>6} "
        f"{'alive bias':>10} {'loss - init 0':>14}"
    )
    zero = d["clean_loss"][0]
    out = {}
    for c, label in enumerate(["init 0, no decay"] + [f"init -1, decay {x:g}" for x in decays]):
        loss, frac = d["clean_loss"][c], d["monosemantic_fraction"][c]
        gap = loss.mean() - zero.mean()
        print(
            f"{label:>18} {loss.mean():8.4f} ± {loss.std():7.4f} {frac.mean():8.3f} ± {frac.std():7.3f} "
            f"{frac.max():9.3f} {d['dead_fraction'][c].mean():6.2f} "
            f"{np.nanmean(d['mean_bias_alive'][c]):10.3f} {gap:+14.4f}"
        )
        out[label] = dict(
            loss=float(loss.mean()), loss_sd=float(loss.std()), mono=float(frac.mean()), gap=float(gap)
        )
    return out


#: The runs of ``--part dynamics``: (key, optimizer, lr, bias decay, schedule). The paper's decay 0.03
#: with LAMB and with Adam; then decay 0.3 with LAMB at lr 0.03, one anneal against the paper's
#: repeating cosine (which trains 7,680 steps, ending in a trough).
DYNAMICS_RUNS = (
    ("lamb", "lamb", drv.DECAY_LR, 0.03, "cosine"),
    ("adam", "adam", drv.ADAM_LR, 0.03, "cosine"),
    ("lamb decay 0.3", "lamb", drv.DECAY_LR, 0.3, "cosine"),
    ("lamb decay 0.3 repeating", "lamb", drv.DECAY_LR, 0.3, "cosine_periodic"),
)


def bias_dynamics(quick=False, seed=0) -> dict:
    """Print why init -1 loses neurons in short runs: LAMB against Adam, one anneal against the paper's.

    Trains the loss-size model (findings 1 and 2) from ``init_bias = -1`` for each
    run of :data:`DYNAMICS_RUNS` (same seeds), keeping snapshots; prints the dead
    fraction and the bias distribution along training.
    """
    base = dict(drv.LOSS_QUICK if quick else drv.LOSS_FULL)
    seeds = base.pop("seeds")
    out = {}
    print("\n== bias dynamics from init_bias -1 (seed means)")
    print(f"{'run':>24} {'step':>6} {'dead':>6} {'mean bias':>10} {'min bias':>9} {'max bias':>9}")
    for key, optimizer, lr, decay, schedule in DYNAMICS_RUNS:
        size = dict(base)
        if schedule != "cosine" and not quick:
            size["steps"] = drv.PERIODIC_STEPS
        r = train_monosemanticity_model(
            **size,
            lr=lr,
            optimizer=optimizer,
            schedule=schedule,
            init_bias=-1.0,
            bias_decay=decay,
            n_instances=seeds,
            snapshot_every=max(1, size["steps"] // 8),
            rng=seed + 30,
            n_threads=1,
            blas_threads=1,
            progress=False,
        )
        rows = []
        for i, step in enumerate(r.snapshot_steps):
            rep = monosemanticity(r, snapshot=i, statistics=False)
            b = r.b_snapshots[i]
            rows.append(
                (int(step), float(rep.dead_fraction.mean()), float(b.mean()), float(b.min()), float(b.max()))
            )
            print(f"{key:>24} {step:6d} {rows[-1][1]:6.2f} {b.mean():10.3f} {b.min():9.3f} {b.max():9.3f}")
        rep = monosemanticity(r, statistics=False)
        print(
            f"{key:>24} final clean loss {r.clean_eval_loss.mean():.4f} "
            f"(seeds {np.round(r.clean_eval_loss, 4)}), monosemantic {np.round(rep.monosemantic_fraction, 3)}"
        )
        out[key] = rows
    return out


#: ``--part paper_lr``: finding 2 at the top of the paper's learning-rate sweep with its repeating
#: cosine (T_max = 512): the decays tried from init -1 (after init 0 without decay) and the seeds.
#: decay x lr x steps / 2 is the log of the factor the decay alone shrinks a bias by over the run:
#: the paper's 0.03 at lr 0.03 over 2^16 decaying steps gives 59; 0.5 over our 3,840 gives 58.
PAPER_LR_DECAYS = (0.1, 0.3, 0.5, 1.0)
PAPER_LR_SEEDS = 5


def paper_lr(run, quick=False, seed=0) -> dict:
    """Print finding 2 at lr 0.03 with the paper's schedule, over :data:`PAPER_LR_SEEDS` seeds."""
    size = dict(drv.LOSS_QUICK if quick else dict(drv.LOSS_FULL, steps=drv.PERIODIC_STEPS))
    size.pop("seeds")
    seeds = 2 if quick else PAPER_LR_SEEDS
    data = run.cached(
        drv.measure,
        **size,
        seeds=seeds,
        lr=drv.DECAY_LR,
        schedule="cosine_periodic",
        init_bias=np.array((0.0,) + (-1.0,) * len(PAPER_LR_DECAYS)),
        bias_decay=np.array((0.0, *PAPER_LR_DECAYS)),
        rng=seed + 40,
        n_threads=1,
        blas_threads=1,
        progress=False,
    )
    d = {key: value.reshape(1 + len(PAPER_LR_DECAYS), seeds, *value.shape[1:]) for key, value in data.items()}
    print(
        f"\n== finding 2 at lr {drv.DECAY_LR} with the paper's repeating cosine (T_max 512), {seeds} seeds; "
        f"sizes {size}"
    )
    out = report_decay_run(d, PAPER_LR_DECAYS, f"LAMB lr {drv.DECAY_LR:g}, repeating cosine")
    for c, label in enumerate(out):
        b = drv.best_seed(d, c)
        loss, frac = d["clean_loss"][c], d["monosemantic_fraction"][c]
        print(
            f"{label:>18}: per seed loss {np.round(loss, 4).tolist()} mono {np.round(frac, 3).tolist()}; "
            f"best seed {b}: mono {frac[b]:.3f} at loss {loss[b]:.4f}"
        )
        out[label].update(best=float(frac[b]), best_loss=float(loss[b]), seeds=frac.tolist())
    return out


def main(argv=None) -> dict:
    """Run (or read) the sweeps and print the findings; return the numbers."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    ap.add_argument("--out", default="figures", help="the figure folder whose cache holds the runs")
    ap.add_argument(
        "--part", choices=(*drv.PARTS, "dynamics", "paper_lr"), action="append", help="run only these sweeps"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    parts = tuple(args.part) if args.part else (*drv.PARTS, "dynamics")
    t0 = time.perf_counter()
    with FigureRun(args.out) as run:
        result = drv.sweeps(run, quick=args.quick, seed=args.seed, parts=parts)
    print(
        f"sizes: {result['sizes']}; findings 1 and 2: {result['loss_sizes']} "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    out = {}
    reports = (
        ("bias", report_bias),
        ("neurons", report_neurons),
        ("noise", report_noise),
        ("lr", report_lr),
        ("decay", report_decay),
    )
    for name, report in reports:
        if name in result:
            out[name] = report(result[name])
    if "dynamics" in parts:
        out["dynamics"] = bias_dynamics(args.quick, args.seed)
    if "paper_lr" in parts:
        with FigureRun(args.out) as run:
            out["paper_lr"] = paper_lr(run, args.quick, args.seed)
    sys.stdout.flush()
    return out


if __name__ == "__main__":
    main()
