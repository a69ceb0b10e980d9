"""Which run to keep: the trainer's eval-batch loss or the exact expected loss? Same runs, both rules.

Replays rows of the ``theory_predictions`` phase diagrams (the figure's
``train_best`` with the row's own random stream, so the runs are the figure's,
bit for bit) and classifies, per cell, the run each rule keeps: the lowest loss
on the trainer's finite evaluation batch (the old rule) and the lowest
``expected_loss`` (the figure's rule). Prints each rule's agreement with the
prediction over the replayed cells and the cells where the rules differ.

Usage (from the repository root)::

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 15 python scripts/theory_selection_rule.py --n 3 --d 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from packing import theory
from packing.figures import theory_predictions as tp


def replay_row(n, d, row, cfg, seed):
    """Train row ``row`` as the figure does; return the predicted phases and both rules' trained phases."""
    x, y = np.geomspace(0.1, 10, cfg["cells"]), np.geomspace(1, 0.01, cfg["cells"])
    imp = np.ones((x.size, n))
    imp[:, -1] = x
    dens = np.full(x.size, float(y[row]))
    rng = np.random.default_rng([seed, n, d, row])  # phase_row's stream
    t = tp.train_best(n, d, dens, imp, 1024, cfg["phase_seeds"], cfg["phase_steps"], rng, 1, 1)
    pd = theory.phase_diagram(n, d, relative_importance=x, density=[float(y[row])], train=False)
    cols = np.arange(x.size)
    by_eval = np.argmin(t["run_eval_losses"], axis=1)
    out = {"predicted": pd.predicted[0], "W": t["W"], "chosen": t["chosen"], "by_eval": by_eval}
    for rule, pick in (("expected", t["chosen"]), ("eval", by_eval)):
        W = t["run_W"][cols, pick]
        out[rule] = np.array([theory.classify_phase(w) if np.any(w) else theory.PHASES[0] for w in W])
        out[rule + "_loss"] = t["run_expected_losses"][cols, pick]
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--d", type=int, default=2)
    parser.add_argument("--rows", default=None, help="comma-separated row indices (default: all)")
    parser.add_argument("--quick", action="store_true", help="the figure's quick settings (smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cfg = tp.QUICK if args.quick else tp.FULL
    rows = range(cfg["cells"]) if args.rows is None else [int(r) for r in args.rows.split(",")]
    agree = {"expected": 0, "eval": 0}
    cells = differ = 0
    for row in rows:
        t0 = time.perf_counter()
        r = replay_row(args.n, args.d, row, cfg, args.seed)
        cells += r["predicted"].size
        for rule in agree:
            agree[rule] += int((r[rule] == r["predicted"]).sum())
        for j in np.flatnonzero(r["chosen"] != r["by_eval"]):
            differ += 1
            print(
                f" row {row} col {j}: predicted {r['predicted'][j]}; expected-loss pick {r['expected'][j]} "
                f"({r['expected_loss'][j]:.7g}), eval pick {r['eval'][j]} ({r['eval_loss'][j]:.7g})"
            )
        print(
            f"row {row}: agreement expected-loss rule {(r['expected'] == r['predicted']).mean():.2f}, "
            f"eval rule {(r['eval'] == r['predicted']).mean():.2f} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    print(
        f"{args.n}-in-{args.d}, {cells} cells, same runs: agreement with the prediction "
        f"{agree['expected'] / cells:.4f} keeping the lowest expected loss, "
        f"{agree['eval'] / cells:.4f} keeping the lowest eval-batch loss; the rules keep different runs "
        f"in {differ} cells"
    )
    return {"cells": cells, "agreement": {k: v / cells for k, v in agree.items()}, "differ": differ}


if __name__ == "__main__":
    main()
