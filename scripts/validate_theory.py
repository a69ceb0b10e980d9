"""Check the theory's predictions (packing.theory) against the numpy trainer, and print the numbers.

Every trained model comes from one rule, the ``theory_predictions`` figure's
``train_best``: ``n_seeds`` seeds from Xavier's initial scale and ``n_seeds``
from a tenth of it, per instance the run of lowest ``expected_loss`` kept
(independent of the prediction). Experiments (issue 12 targets):

* ``loss``: ``expected_loss`` against the trainer's own loss (``toy_model_loss``) on
  fresh batches from ``sample_toy_batch`` (>= 10^6 samples), for constructed and
  trained packings; target within 1% or 3 standard errors.
* ``phase2`` / ``phase3``: the phase diagrams of Elhage et al. (2022) for 2
  features in 1 dim and 3 in 2 (20 x 20 cells, best of 8 runs): the figure's own
  sweep cells, read from its cache (``--figure-dir``, default ``figures``) or
  computed there; target >= 90% agreement (2-in-1), disagreements next to a
  predicted boundary. ``phase2`` retrains the disagreeing cells that are not next
  to a predicted boundary with best of 16 runs.
* ``pentagon``: 5 features in 2 dims across sparsity; the predicted switch from
  two antipodal pairs (+ one left out) to the pentagon against the switch in
  best-of-8 training (4 seeds x 2 scales); target within 0.05.
* ``importance``: 20 features in 5 dims, importance 0.7^i, densities 1, 0.3, 0.1,
  0.03, 0.01; represented count and shapes (``analyze_structure`` names, an
  unidentified factor with its size: ``describe``), predicted (the block library
  plus free blocks of 5, 6, 7 features in 2 dims and 8 in 3, ``theory.free_block``, and
  blocks grown by weakly represented members, ``predict_geometry``'s default ``grow=True``;
  ``--no-grow`` without)
  against trained by ``train_best`` with 4 seeds per initial scale (best of 8
  runs, as the phase-diagram rows), for ``tp.scaled_steps(30_000, density)``
  steps: 30,000 at densities >= 0.1, ``30,000 * 0.1 / density`` below, at most
  4x (0.03: 100,000; 0.01: 120,000); densities with equal steps train together
  (``--density`` trains a part). A miss at density 0.3 is retrained with best of
  16 (``more_seeds``, printed only).
* ``dims``: 200 features in 20 dims, equal importance, 20 sparsities (the
  figure's cells, best of 4 runs, 5,000 steps of 512); dimensions per feature
  ``d / ||W||_F²`` predicted against trained; target within 0.05 at >= 80% of
  the sparsities, the 1/2 plateau included.
* ``speed``: ``predict_geometry(200, 20)`` timed by ``scripts/bench_theory.py``;
  target < 10 s.

The run ends with one line per target: PASS/FAIL, the target, the measured value.
Trained models of ``pentagon`` and ``importance`` are cached in ``--cache``
(default ``.cache/theory``; atomic ``.npz`` writes), the figure's cells in its
own cache, so predictions can be re-checked without retraining;
``--train-only`` fills the caches, ``--force`` retrains, ``--quick`` runs tiny
settings (smoke test; its figure cells go to ``<cache>-quick/figure``).
Training runs on one core per process (``n_threads=1``; the figure's cells on
every core); start parts in parallel, from the repository root so that its
``packing`` is imported::

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python -m packing figures --only theory_predictions &
    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python scripts/validate_theory.py pentagon --train-only &
    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python scripts/validate_theory.py importance --train-only &
    # when all three are done:
    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python scripts/validate_theory.py

The numbers of the last full run, with the commands, are in
``docs/theory_validation.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import packing
from packing import theory
from packing.figures import theory_predictions as tp
from packing.figures._kit import FigureRun

EXPERIMENTS = ("loss", "phase2", "phase3", "pentagon", "importance", "dims", "speed")
#: The training rule (enters the cache keys): the figure's train_best, picking runs by expected loss.
RULE = f"train_best v{tp.TASK_VERSION}"


def _dims_cfg(fig: dict) -> dict:
    """Return the 200-in-20 sweep settings of a figure configuration (``tp.FULL`` or ``tp.QUICK``)."""
    return dict(n=fig["n"], d=fig["d"], points=fig["points"], n_seeds=fig["seeds"], steps=fig["steps"])


# phase diagrams and the 200-in-20 sweep are the figure's own cells (theory_predictions: FULL, QUICK);
# n_seeds counts seeds per initial scale (train_best trains from two scales: best of 2 * n_seeds runs)
FULL = {
    "phase": dict(
        cells=tp.FULL["cells"], n_seeds=tp.FULL["phase_seeds"], steps=tp.FULL["phase_steps"], lr=1e-2
    ),
    "pentagon": dict(
        sparsity=np.round(np.arange(0.50, 0.951, 0.015), 3).tolist(),
        n_seeds=4,
        steps=20_000,
        lr=1e-2,
        batch_size=1024,
    ),
    "importance": dict(
        density=[1.0, 0.3, 0.1, 0.03, 0.01],
        n_seeds=4,
        steps=30_000,
        scale_steps=True,
        lr=1e-2,
        batch_size=1024,
        free=[[5, 2], [6, 2], [7, 2], [8, 3]],
        grow=True,
        more_seeds=[0.3],
    ),
    "dims": _dims_cfg(tp.FULL),
    "loss": dict(samples=2_000_000),
    "speed": dict(n=200, d=20, sparsity="0,0.5,0.9,0.99"),
}
QUICK = {
    "phase": dict(
        cells=tp.QUICK["cells"],
        n_seeds=tp.QUICK["phase_seeds"],
        steps=tp.QUICK["phase_steps"],
        lr=1e-2,
        quick=True,
    ),
    "pentagon": dict(sparsity=[0.6, 0.9], n_seeds=1, steps=200, lr=1e-2, batch_size=256),
    "importance": dict(
        density=[1.0, 0.1], n_seeds=1, steps=200, lr=1e-2, batch_size=256, n=8, d=3, free=[[3, 1]]
    ),
    "dims": _dims_cfg(tp.QUICK),
    "loss": dict(samples=200_000),
    "speed": dict(n=30, d=4, sparsity="0,0.9"),
}


# --------------------------------------------------------------------------- cache and training
def _save_atomic(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


#: Set by ``exp_loss``: only read the training cache (missing entries give None).
_LOAD_ONLY = False


def trained(name, params, fit, *, cache, force):
    """Return ``fit()`` (a dict of arrays), cached under a hash of ``(name, params)``."""
    key = hashlib.sha256(json.dumps([name, params, RULE], sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache) / f"{name}-{key}.npz"
    if path.exists() and not force:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if _LOAD_ONLY:
        raise FileNotFoundError(path)
    t0 = time.perf_counter()
    out = fit()
    out["seconds"] = time.perf_counter() - t0
    _save_atomic(path, out)
    print(f"  trained {name} in {out['seconds']:.0f} s -> {path}", flush=True)
    return out


def train(n, d, *, density, importance, n_seeds, steps, lr, batch_size, seed, schedule="cosine"):
    """Train by the figure's rule (``train_best``), one core per run.

    ``n_seeds`` seeds from each of two initial scales; per instance the run of
    lowest expected loss is kept.
    """
    if lr != 1e-2:
        raise ValueError(f"train_best trains with lr 1e-2; got lr {lr}")
    cell = (n, d, density, importance, batch_size, n_seeds, steps, seed)
    out = tp.train_best(*cell, n_threads=1, blas_threads=1, schedule=schedule)
    return {k: np.asarray(v) for k, v in out.items()}


def fit_cached(name, params, n, d, density, importance, cfg, *, cache, force, seed):
    """Train (best of ``cfg["n_seeds"]``) or read the cache: :func:`trained` of :func:`train`."""
    settings = {k: cfg[k] for k in ("n_seeds", "steps", "lr", "batch_size")}
    if cfg.get("schedule", "cosine") != "cosine":  # enters the cache key only when not the default
        settings["schedule"] = params["schedule"] = cfg["schedule"]
    return trained(
        name,
        params,
        lambda: train(n, d, density=density, importance=importance, seed=seed, **settings),
        cache=cache,
        force=force,
    )


#: Labels of factors that match no template: ``describe`` adds their size, so that two different
#: unidentified factors (e.g. 6 features in 2 dims and 7 in 2) do not compare equal by name.
UNNAMED = ("other", "ambiguous")


def factor_names(W) -> list:
    """One name per tegum factor of ``W``: the shape label ``analyze_structure`` gives it.

    A factor of ``m`` features in ``D`` dims that matches no template is named
    ``"other (m in D)"`` (likewise ``"ambiguous (m in D)"``).
    """
    return [
        f"{s.label} ({s.n_points} in {s.dim})" if s.label in UNNAMED else s.label
        for s in packing.analyze_structure(W).shapes
    ]


def describe(W):
    """Shapes ``analyze_structure`` finds (a multiset, sorted) and the represented count.

    Two packings have the same description exactly when their factors carry the
    same names with the same multiplicities (:func:`factor_names`).
    """
    kept, _, _ = packing.represented_features(W)
    if not len(kept):
        return "-", 0
    labels = factor_names(W)
    text = " ⊕ ".join(f"{labels.count(x)}×{x}" if labels.count(x) > 1 else x for x in sorted(set(labels)))
    return text, len(kept)


# --------------------------------------------------------------------------- experiments
def exp_phase(n, d, cfg, *, cache, force, seed, train_only, figure_dir):
    """Check the figure's phase diagram: its sweep cells (read from the figure's cache, or trained now)."""
    with FigureRun(figure_dir, force=force) as run:
        pd = tp.phase_rows(run, n, d, cfg["cells"], cfg["n_seeds"], cfg["steps"], seed)
    if train_only:
        return {}
    print(pd.to_text())
    gap = pd.trained_above_prediction
    print(
        f"trained expected loss minus predicted: median {np.median(gap):.3g}, min {gap.min():.3g} "
        f"(negative: the trained model beats the prediction), max {gap.max():.3g}"
    )
    off = _retrain_off_boundary(pd, cfg, seed) if n == 2 and not cfg.get("quick") else {}
    wrong = int((pd.predicted != pd.trained).sum())
    measured = (
        f"{pd.agreement:.4f} ({pd.predicted.size - wrong}/{pd.predicted.size}); "
        f"{pd.disagreement_near_boundary:.2f} of {wrong} disagreements next to a predicted boundary"
    )
    if n == 2:
        target = (f"{n}-in-{d} phase diagram: agreement >= 0.90", measured, pd.agreement >= 0.90)
    else:  # the issue sets no number for 3 in 2; 2-in-1's bar for reference
        target = (
            f"{n}-in-{d} phase diagram (no number set; 0.90 as for 2-in-1)",
            measured,
            pd.agreement >= 0.90,
        )
    return off | {
        "agreement": pd.agreement,
        "disagreement_near_boundary": pd.disagreement_near_boundary,
        "min_gap": float(gap.min()),
        "_pd": pd,
        "_targets": [target],
    }


def _retrain_off_boundary(pd, cfg, seed, n_seeds=8):
    """Retrain the disagreeing cells that are not next to a predicted boundary with more seeds.

    Prints each such cell (trained weights, expected loss above the prediction) and whether
    the same rule with ``n_seeds`` seeds per initial scale (a new seed stream) agrees.
    """
    cells = [tuple(c) for c in np.argwhere((pd.predicted != pd.trained) & ~pd.near_boundary)]
    if not cells:
        return {}
    gap = pd.trained_above_prediction
    for i, j in cells:
        W, b = pd.trained_W[i, j], pd.trained_b[i, j]
        print(
            f" off-boundary cell density {pd.density[i]:.4f}, importance {pd.relative_importance[j]:.3f}: "
            f"predicted {pd.predicted_description[i, j]}, trained W {np.round(W.ravel(), 3).tolist()} "
            f"b {np.round(b, 3).tolist()}, expected loss {gap[i, j]:+.3g} above the prediction"
        )
    dens = np.array([pd.density[i] for i, _ in cells])
    imp = np.ones((len(cells), pd.n_features))
    imp[:, -1] = [pd.relative_importance[j] for _, j in cells]
    settings = {k: cfg[k] for k in ("steps", "lr")} | {"batch_size": 1024}
    r = train(pd.n_features, pd.d, density=dens, importance=imp, n_seeds=n_seeds, seed=seed + 1, **settings)
    W, b = r["W"], r["b"]
    phases = [theory.classify_phase(w) if np.any(w) else theory.PHASES[0] for w in W]
    agree = sum(ph == pd.predicted[i, j] for ph, (i, j) in zip(phases, cells, strict=True))
    above = r["expected_loss"] - np.array([pd.predicted_loss[c] for c in cells])
    print(
        f" best of {2 * n_seeds} runs ({n_seeds} seeds x 2 initial scales): {agree}/{len(cells)} "
        f"off-boundary cells now agree; expected loss above the prediction {np.round(above, 7).tolist()}"
    )
    return {"off_boundary_agree": f"{agree}/{len(cells)}"}


def exp_pentagon(cfg, *, cache, force, seed, train_only):
    S = np.array(cfg["sparsity"])
    params = {k: cfg[k] for k in ("sparsity", "n_seeds", "steps", "lr", "batch_size")} | {"seed": seed}
    t = fit_cached("pentagon", params, 5, 2, 1 - S, 1.0, cfg, cache=cache, force=force, seed=seed)
    if train_only:
        return {}
    if _LOAD_ONLY:
        return {"W": t["W"], "b": t["b"], "sparsity": S, "importance": 1.0}
    print(" S      trained (best of seeds)            predicted              pred loss   trained E[loss]")
    trained_pent, pred_pent, losses = [], [], []
    for k, s in enumerate(S):
        desc, _ = describe(t["W"][k])
        p = theory.predict_geometry(5, 2, sparsity=s)
        tl = theory.expected_loss(t["W"][k], t["b"][k], sparsity=s)
        losses.append((p.loss, tl))
        trained_pent.append(desc == "pentagon")
        pred_pent.append(p.description == "pentagon")
        print(f" {s:.3f}  {desc:<34} {p.description:<22} {p.loss:.5f}     {tl:.5f}")
    predicted_switch = _predicted_switch()
    print(f"predicted switch to the pentagon at S = {predicted_switch:.4f}")
    trained_pent = np.array(trained_pent)
    first = int(np.argmax(trained_pent)) if trained_pent.any() else None
    runs = f"best of {2 * cfg['n_seeds']} runs"
    if first is None:
        print("training never reached the pentagon")
        return {
            "predicted_switch": predicted_switch,
            "trained_switch": None,
            "_S": S,
            "_losses": np.array(losses),
            "_targets": [
                (
                    f"5-in-2 pentagon switch within 0.05 of {runs}",
                    f"predicted {predicted_switch:.4f}, trained never",
                    False,
                )
            ],
        }
    trained_switch = float((S[first] + S[first - 1]) / 2) if first > 0 else float(S[0])
    stays = bool(trained_pent[first:].all())
    print(
        f"trained: first pentagon at "
        f"S = {S[first]:.3f} (switch {trained_switch:.4f}{'' if stays else ', not monotone above it'}); "
        f"difference {abs(predicted_switch - trained_switch):.4f} (target <= 0.05)"
    )
    return {
        "predicted_switch": predicted_switch,
        "trained_switch": trained_switch,
        "difference": abs(predicted_switch - trained_switch),
        "_S": S,
        "_losses": np.array(losses),
        "_targets": [
            (
                f"5-in-2 pentagon switch within 0.05 of {runs}",
                f"predicted S = {predicted_switch:.4f}, trained {trained_switch:.4f} "
                f"(first pentagon at {S[first]:.3f}{'' if stays else ', not monotone'}); "
                f"difference {abs(predicted_switch - trained_switch):.4f}",
                abs(predicted_switch - trained_switch) <= 0.05,
            )
        ],
    }


def _predicted_switch(lo=0.5, hi=0.99, tol=1e-4):
    """Smallest sparsity from which the prediction for 5 in 2 is the pentagon (bisection)."""

    def pent(s):
        return theory.predict_geometry(5, 2, sparsity=s).description == "pentagon"

    assert not pent(lo) and pent(hi), "the pentagon switch is not inside the search interval"
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pent(mid) else (mid, hi)
    return (lo + hi) / 2


def _train_importance(n, d, dens, imp, cfg, *, cache, force, seed):
    """Train the densities ``dens`` by the rule, one cached group per number of steps.

    With ``cfg["scale_steps"]`` a density trains for ``tp.scaled_steps(cfg["steps"], density)``
    steps (sparse cells longer); densities with equal steps train together, each group on the
    stream ``(seed, steps)`` so that a group's result does not depend on the others.
    """
    steps = [tp.scaled_steps(cfg["steps"], p_) if cfg.get("scale_steps") else cfg["steps"] for p_ in dens]
    out = {}
    for s in sorted(set(steps), key=steps.index):
        pick = np.array([k for k, s_ in enumerate(steps) if s_ == s])
        group = cfg | {"steps": s}
        params = {k: group[k] for k in ("n_seeds", "steps", "lr", "batch_size")}
        params |= {"density": dens[pick].tolist(), "seed": seed}
        if (n, d) != (20, 5):
            params |= {"n": n, "d": d}
        sd = [seed, s] if cfg.get("scale_steps") else seed
        t = fit_cached("importance", params, n, d, dens[pick], imp, group, cache=cache, force=force, seed=sd)
        for key, v in t.items():
            if np.ndim(v) and len(v) == len(pick):
                out.setdefault(key, [None] * len(dens))
                for j, k in enumerate(pick):
                    out[key][k] = v[j]
    return {key: np.array(v) for key, v in out.items()}


def exp_importance(cfg, *, cache, force, seed, train_only):
    n, d = cfg.get("n", 20), cfg.get("d", 5)
    dens = np.array(cfg["density"])
    imp = 0.7 ** np.arange(n)
    t = _train_importance(n, d, dens, imp, cfg, cache=cache, force=force, seed=seed)
    if train_only:
        return {}
    if _LOAD_ONLY:
        return {"W": t["W"], "b": t["b"], "sparsity": 1 - dens, "importance": imp}
    same_count = same_shape = 0
    counts, missed = [], []
    # the library plus free blocks (directions fitted too) of the sizes in cfg["free"]
    shapes = theory.default_block_shapes() + [theory.free_block(m, D) for m, D in cfg.get("free", [])]
    for k, p_ in enumerate(dens):
        desc, count = describe(t["W"][k])
        p = theory.predict_geometry(
            n, d, density=p_, importance=imp, shapes=shapes, grow=cfg.get("grow", True)
        )
        tl = theory.expected_loss(t["W"][k], t["b"][k], density=p_, importance=imp)
        pred_desc, _ = describe(p.W)
        same_count += count == p.n_represented
        counts.append(f"{p_}: {p.n_represented}/{count}")
        same_shape += pred_desc == desc
        if count != p.n_represented or pred_desc != desc:
            missed.append(float(p_))
        print(f" density {p_:<5}: trained {count:2d} represented, {desc:<32} E[loss] {tl:.7f}")
        if "run_expected_losses" in t:
            runs_ = np.sort(t["run_expected_losses"][k])
            print(f"               the runs' E[loss]: {' '.join(f'{v:.7f}' for v in runs_)}")
        print(
            f"               predicted {p.n_represented:2d} represented, {p.description:<30} "
            f"loss {p.loss:.7f}"
            f" (analyze_structure on the prediction: {pred_desc}); runner-up {p.runner_up.description} "
            f"+{p.margin:.2g}"
        )
    print(
        f"represented count equal at {same_count}/{len(dens)} densities; "
        f"shapes equal at {same_shape}/{len(dens)}"
    )
    for p_ in [p_ for p_ in cfg.get("more_seeds", []) if p_ in missed]:  # where best of n_seeds missed
        more = {k: cfg[k] for k in ("steps", "lr", "batch_size")} | {"n_seeds": 8}
        params = more | {"density": [p_], "seed": seed + 1}
        m = fit_cached(
            "importance-seeds",
            params,
            n,
            d,
            np.array([p_]),
            imp,
            more,
            cache=cache,
            force=force,
            seed=seed + 1,
        )
        desc, count = describe(m["W"][0])
        tl = theory.expected_loss(m["W"][0], m["b"][0], density=p_, importance=imp)
        print(
            f" density {p_}, best of 16 runs (seed {seed + 1}): {count} represented, {desc}, "
            f"E[loss] {tl:.6f}; "
            f"runs' expected losses {np.round(np.sort(np.ravel(m['run_expected_losses'])), 6).tolist()}"
        )
    runs = f"best of {2 * cfg['n_seeds']} runs"
    return {
        "count_agree": same_count,
        "shape_agree": same_shape,
        "cells": len(dens),
        "_targets": [
            (
                f"{n}-in-{d}: represented count predicted = trained ({runs}) at every density",
                f"{same_count}/{len(dens)} (density: predicted/trained {', '.join(counts)})",
                same_count == len(dens),
            ),
            (
                f"{n}-in-{d}: predicted shapes = analyze_structure's names of the trained",
                f"{same_shape}/{len(dens)}",
                same_shape == len(dens),
            ),
        ],
    }


def exp_dims(cfg, *, cache, force, seed, train_only, figure_dir):
    """Check the figure's 200-in-20 sweep: its cells (read from the figure's cache, or trained now)."""
    n, d = cfg["n"], cfg["d"]
    inv = np.geomspace(1.0, 300.0, cfg["points"])
    with FigureRun(figure_dir, force=force) as run:
        t = tp.dims_sweep(run, n, d, inv, cfg["n_seeds"], cfg["steps"], seed)
    if train_only:
        return {}
    S = 1 - 1 / inv
    if _LOAD_ONLY:
        return {"W": t["W"], "b": t["b"], "sparsity": S, "importance": 1.0}
    diff = np.abs(t["trained_dims"] - t["predicted_dims"])
    close = diff <= 0.05
    print(" 1/(1-S)   trained D*  predicted D*  |diff|   trained E[loss] (bound)   predicted loss")
    for k in range(len(S)):
        print(
            f" {inv[k]:8.2f}  {t['trained_dims'][k]:10.4f}  {t['predicted_dims'][k]:12.4f}  {diff[k]:6.3f}   "
            f"{t['trained_loss'][k]:14.5g} ({t['trained_loss_bound'][k]:.1g})  {t['predicted_loss'][k]:14.5g}"
        )
    plateau = np.abs(t["predicted_dims"] - 0.5) <= 0.02
    print(f"within 0.05 at {close.sum()}/{len(S)} sparsities ({close.mean():.0%}; target >= 80%)")
    rows = np.c_[t["trained_dims"], t["predicted_dims"], t["trained_loss"], t["predicted_loss"]]
    worst = int(np.argmax(diff))
    return {
        "within": int(close.sum()),
        "points": len(S),
        "_inv": inv,
        "_rows": rows,
        "_targets": [
            (
                f"{n}-in-{d}: dims per feature within 0.05 at >= 80% of {len(S)} sparsities, 1/2 plateau in",
                f"{close.sum()}/{len(S)} ({close.mean():.0%}); plateau (predicted 1/2) points within: "
                f"{(close & plateau).sum()}/{plateau.sum()}; largest miss {diff[worst]:.3f} "
                f"at 1/(1-S) = {inv[worst]:.2f}",
                close.mean() >= 0.8 and plateau.any() and bool(close[plateau].all()),
            )
        ],
    }


def _mc_loss(W, b, *, sparsity, importance, samples, seed):
    """Trainer's loss on fresh float64 batches: mean and standard error."""
    vals = []
    step = 250_000
    for i in range(0, samples, step):
        x = packing.sample_toy_batch(
            W.shape[0],
            min(step, samples - i),
            sparsity=sparsity,
            dtype=np.float64,
            rng=np.random.default_rng([seed, i]),
        )
        out = np.maximum(x[0] @ W @ W.T + b, 0)
        vals.append((importance * (x[0] - out) ** 2).sum(axis=1))
    v = np.concatenate(vals)
    check = packing.toy_model_loss(W, b, x, importance=importance)  # the trainer's own loss on the last batch
    assert abs(check - vals[-1].mean()) <= 1e-9 * max(1.0, abs(check)), "MC loss differs from toy_model_loss"
    return float(v.mean()), float(v.std() / np.sqrt(v.size))


def exp_loss(cfg, *, cache, force, seed, train_only, quick, figure_dir):
    if train_only:
        return {}
    cases = []
    t = 2 * np.pi * np.arange(5) / 5
    pent = np.c_[np.cos(t), np.sin(t)]
    for s in (0.0, 0.7, 0.95):
        f = theory.fit_geometry(pent, sparsity=s)
        cases.append((f"constructed pentagon, fitted, S={s}", f.W, f.b, s, 1.0))
    p = theory.predict_geometry(20, 5, density=0.1, importance=0.7 ** np.arange(20))
    cases.append(("constructed: prediction 20-in-5, density 0.1", p.W, p.b, 0.9, 0.7 ** np.arange(20)))
    p = theory.predict_geometry(40 if quick else 200, 4 if quick else 20, sparsity=0.9)
    cases.append((f"constructed: prediction {p.n}-in-{p.d}, S=0.9", p.W, p.b, 0.9, 1.0))
    global _LOAD_ONLY
    cfgs = QUICK if quick else FULL
    runs = {
        "pentagon": (exp_pentagon, cfgs["pentagon"], (0, -1)),
        "importance": (exp_importance, cfgs["importance"], (0, 2)),
        "dims": (exp_dims, cfgs["dims"], (0, -1)),
    }
    for kind, (run, c, picks) in runs.items():
        _LOAD_ONLY = True
        extra = {"figure_dir": figure_dir} if kind == "dims" else {}
        try:
            t = run(c, cache=cache, force=False, seed=seed, train_only=False, **extra)
        except FileNotFoundError:
            print(f"  (no trained {kind} models in the cache yet: skipped)")
            continue
        finally:
            _LOAD_ONLY = False
        for k in picks:
            k = k % len(t["W"])
            s = float(np.ravel(t["sparsity"])[k])
            imp = t["importance"]
            cases.append((f"trained {kind} [{k}], S={s:.3f}", t["W"][k], t["b"][k], s, imp))
    worst = 0.0
    print(
        f" {'case':<48} {'expected_loss':>14} {'bound':>9} {'MC mean':>12} {'MC s.e.':>9} {'rel':>8} {'z':>6}"
    )
    rows = []
    for name, W, b, s, imp in cases:
        t0 = time.perf_counter()
        e = theory.expected_loss(W, b, sparsity=s, importance=imp, return_details=True)
        te = time.perf_counter() - t0
        mean, se = _mc_loss(
            W,
            b,
            sparsity=s,
            importance=np.broadcast_to(imp, (W.shape[0],)),
            samples=cfg["samples"],
            seed=seed,
        )
        value = float(e.loss[0])
        rel = abs(value - mean) / max(abs(mean), 1e-300)
        z = abs(value - mean) / se if se > 0 else 0.0
        ok = rel <= 0.01 or z <= 3
        worst = max(worst, min(rel / 0.01, z / 3))
        rows.append(ok)
        print(
            f" {name:<48} {value:14.6g} {float(e.error_bound[0]):9.2g} {mean:12.6g} {se:9.2g} {rel:8.2%} "
            f"{z:6.2f} {'ok' if ok else 'MISS'}  ({te:.1f} s)"
        )
    print(
        f"{sum(rows)}/{len(rows)} cases within 1% or 3 standard errors of >= {cfg['samples']:,} fresh samples"
    )
    kinds = sorted({name.split(" ")[0].rstrip(":") for name, *_ in cases})
    return {
        "cases": len(rows),
        "ok": sum(rows),
        "_targets": [
            (
                f"expected_loss within 1% or 3 s.e. of >= {cfg['samples']:.0e} fresh samples",
                f"{sum(rows)}/{len(rows)} cases ({', '.join(kinds)}); worst {worst:.2f} of the allowance",
                all(rows) and {"constructed", "trained"} <= set(kinds),
            )
        ],
    }


def exp_speed(cfg):
    """``predict_geometry(200, 20)`` timed by scripts/bench_theory.py (its own baseline in the same run)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_theory

    r = bench_theory.main(["--n", str(cfg["n"]), "--d", str(cfg["d"]), "--sparsity", cfg["sparsity"]])
    cpu = max(v["cpu_seconds"] for v in r["runs"].values())
    return {
        "max_seconds": r["max_seconds"],
        "_targets": [
            (
                f"predict_geometry({cfg['n']}, {cfg['d']}) under 10 s (sparsities {cfg['sparsity']})",
                f"slowest {cpu:.2f} s CPU, {r['max_seconds']:.2f} s wall (load {os.getloadavg()[0]:.1f}; "
                "CPU seconds are the wall time of an idle core)",
                cpu < 10,
            )
        ],
    }


def _save(fig, path: Path) -> Path:
    """Save a figure atomically (temporary file, then rename)."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def figures(results, out) -> list:
    """Phase diagrams (predicted | trained | disagreement), dims per feature, loss gaps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    out, written = Path(out), []
    code = {p: i for i, p in enumerate(theory.PHASES)}
    cmap = ListedColormap(["0.85", "tab:blue", "tab:orange", "tab:red"])
    for name in ("phase2", "phase3"):
        pd = results.get(name, {}).get("_pd")
        if pd is None:
            continue
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
        ext = [
            np.log10(pd.relative_importance[0]),
            np.log10(pd.relative_importance[-1]),
            np.log10(pd.density[-1]),
            np.log10(pd.density[0]),
        ]
        grids = [np.vectorize(code.get)(pd.predicted), np.vectorize(code.get)(pd.trained)]
        for ax, grid, title in zip(axes, grids, ("predicted", "trained (best of seeds)"), strict=False):
            ax.imshow(grid, cmap=cmap, vmin=0, vmax=3, extent=ext, aspect="auto", interpolation="nearest")
            ax.set_title(title)
        axes[2].imshow(
            (pd.predicted != pd.trained),
            cmap="Greys",
            extent=ext,
            aspect="auto",
            interpolation="nearest",
        )
        axes[2].set_title(f"disagreement (agreement {pd.agreement:.0%})")
        for ax in axes:
            ax.set_xlabel("log10 relative importance of the last feature")
        axes[0].set_ylabel("log10 density")
        handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(4)]
        fig.legend(handles, theory.PHASES, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.08))
        fig.suptitle(f"{pd.n_features} features in {pd.d} dims")
        written.append(_save(fig, out / f"theory_{name}.png"))
    dims = results.get("dims", {})
    if "_rows" in dims:
        rows, inv = dims["_rows"], dims["_inv"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].plot(inv, rows[:, 1], "-", color="tab:blue", label="predicted")
        axes[0].plot(inv, rows[:, 0], "o", color="k", ms=4, label="trained (best of seeds)")
        axes[0].set_xscale("log")
        axes[0].set_xlabel("1 / (1 - S)")
        axes[0].set_ylabel("dimensions per feature  d / ||W||²")
        axes[0].legend()
        axes[1].plot(inv, (rows[:, 2] - rows[:, 3]) / rows[:, 3], "o-", color="tab:red")
        axes[1].axhline(0, color="0.5", lw=0.8)
        axes[1].set_xscale("log")
        axes[1].set_xlabel("1 / (1 - S)")
        axes[1].set_ylabel("(trained − predicted) / predicted expected loss")
        fig.suptitle("200 features in 20 dims" if len(rows) > 2 else "dims per feature")
        written.append(_save(fig, out / "theory_dims.png"))
    pent = results.get("pentagon", {})
    if "_losses" in pent:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        L = pent["_losses"]
        ax.plot(pent["_S"], (L[:, 1] - L[:, 0]) / L[:, 0], "o-")
        if pent.get("predicted_switch") is not None:
            ax.axvline(pent["predicted_switch"], color="tab:blue", ls="--", label="predicted pentagon switch")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlabel("sparsity S")
        ax.set_ylabel("(trained − predicted) / predicted loss")
        ax.set_title("5 features in 2 dims")
        ax.legend()
        written.append(_save(fig, out / "theory_pentagon_gap.png"))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", default=list(EXPERIMENTS), help=f"any of {EXPERIMENTS}")
    parser.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    parser.add_argument("--force", action="store_true", help="retrain instead of using the cache")
    parser.add_argument("--train-only", action="store_true", help="only fill the training cache")
    parser.add_argument("--cache", default=".cache/theory", help="cache folder (default .cache/theory)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--density",
        default=None,
        help="importance: only these densities (comma-separated; e.g. to train parts in parallel)",
    )
    parser.add_argument(
        "--no-grow",
        action="store_true",
        help="importance: predict without growing blocks by weak members (predict_geometry grow=False)",
    )
    parser.add_argument(
        "--schedule",
        default="cosine",
        help="importance: the trainer's learning-rate schedule (default cosine, the figure's; "
        "e.g. warmup_cosine)",
    )
    parser.add_argument("--figures", default=None, help="also draw the figures into this folder")
    parser.add_argument(
        "--figure-dir",
        default="figures",
        help="output folder of the theory_predictions figure, whose cached cells (phase diagrams, "
        "200-in-20 sweep) these checks share (default figures)",
    )
    args = parser.parse_args(argv)
    bad = [e for e in args.experiments if e not in EXPERIMENTS]
    if bad:
        parser.error(f"unknown experiment(s) {bad}; choose from {EXPERIMENTS}")
    cfg = QUICK if args.quick else FULL
    kw = dict(
        cache=args.cache + ("-quick" if args.quick else ""),
        force=args.force,
        seed=args.seed,
        train_only=args.train_only,
    )
    fig_dir = kw["cache"] + "/figure" if args.quick else args.figure_dir  # quick cells apart
    results = {}
    for name in args.experiments:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        if name == "phase2":
            results[name] = exp_phase(2, 1, cfg["phase"], figure_dir=fig_dir, **kw)
        elif name == "phase3":
            results[name] = exp_phase(3, 2, cfg["phase"], figure_dir=fig_dir, **kw)
        elif name == "pentagon":
            results[name] = exp_pentagon(cfg["pentagon"], **kw)
        elif name == "importance":
            c = cfg["importance"]
            if args.density:
                c = c | {"density": [float(x) for x in args.density.split(",")]}
            if args.no_grow:
                c = c | {"grow": False}
            c = c | {"schedule": args.schedule}
            results[name] = exp_importance(c, **kw)
        elif name == "dims":
            results[name] = exp_dims(cfg["dims"], figure_dir=fig_dir, **kw)
        elif name == "speed":
            results[name] = {} if args.train_only else exp_speed(cfg["speed"])
        else:
            results[name] = exp_loss(cfg["loss"], quick=args.quick, figure_dir=fig_dir, **kw)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.figures and not args.train_only:
        for path in figures(results, args.figures):
            print(f"figure: {path}")
    targets = [t for r in results.values() for t in r.get("_targets", [])]
    if targets:
        print("== targets (issue 12)" + (" -- QUICK settings, not a result" if args.quick else ""))
        for target, measured, ok in targets:
            print(f"{'PASS' if ok else 'FAIL'} | {target} | {measured}")
    return {k: {key: v for key, v in r.items() if not key.startswith("_")} for k, r in results.items()}


if __name__ == "__main__":
    main(sys.argv[1:])
