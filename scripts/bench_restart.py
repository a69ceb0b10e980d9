"""Where one restart of optimize_packing spends its time: smooth descent, LP polish, equalization.

For each cell ``(n, d)`` the script draws ``--starts`` random starts (seeded) and runs
the three local stages of a ``p = inf`` restart on each, timing them in CPU seconds of
this process (``time.process_time``, single-threaded BLAS), and prints the seconds of
each stage, its share of the restart, the L-BFGS iterations and LP steps, and the
coherence after each stage. Usage::

    python scripts/bench_restart.py [--cells 50x5,70x6,100x8] [--starts 2] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

from packing.optimize._objectives import objective_value
from packing.optimize._sphere import random_point
from packing.optimize._stages import equalize, lp_polish, q_schedule, smooth_descent

DEFAULT_CELLS = "50x5,60x7,70x6,100x8"


def time_restart(n: int, d: int, rng: np.random.Generator) -> dict:
    """Run and time the stages of one restart from a random start."""
    U = random_point(rng, n, d)
    out = {}
    t = time.process_time()
    U, out["lbfgs_iterations"] = smooth_descent(U, math.inf, 300, q_schedule(rng))
    out["smooth"], out["mu_smooth"] = time.process_time() - t, objective_value(U, math.inf)
    t = time.process_time()
    U, out["lp_steps"] = lp_polish(U, 60, 1e-3, 1e-13)
    out["polish"], out["mu_polish"] = time.process_time() - t, objective_value(U, math.inf)
    t = time.process_time()
    U = equalize(U)
    out["equalize"], out["mu"] = time.process_time() - t, objective_value(U, math.inf)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=DEFAULT_CELLS, help="comma-separated NxD (default %(default)s)")
    parser.add_argument("--starts", type=int, default=2, help="random starts per cell (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one small cell, one start (smoke test)")
    args = parser.parse_args(argv)
    cells = [tuple(int(x) for x in c.split("x")) for c in args.cells.split(",")]
    if args.quick:
        cells, args.starts = [(12, 4)], 1
    if args.starts < 1:
        raise SystemExit(f"--starts must be >= 1; got {args.starts}")
    rng = np.random.default_rng(args.seed)
    print(
        f"{'n':>4} {'d':>2} {'smooth s':>9} {'polish s':>9} {'equal. s':>9} {'polish %':>8} "
        f"{'L-BFGS it':>9} {'LP steps':>8} {'mu smooth':>12} {'mu final':>15}"
    )
    rows = []
    with threadpool_limits(1):
        for n, d in cells:
            for _ in range(args.starts):
                r = time_restart(n, d, rng)
                total = r["smooth"] + r["polish"] + r["equalize"]
                r.update(n=n, d=d, polish_share=r["polish"] / total if total else math.nan)
                rows.append(r)
                print(
                    f"{n:4d} {d:2d} {r['smooth']:9.2f} {r['polish']:9.2f} {r['equalize']:9.2f} "
                    f"{100 * r['polish_share']:7.0f}% {r['lbfgs_iterations']:9d} {r['lp_steps']:8d} "
                    f"{r['mu_smooth']:12.8f} {r['mu']:15.12f}",
                    flush=True,
                )
    return {"rows": rows, "median_polish_share": float(np.median([r["polish_share"] for r in rows]))}


if __name__ == "__main__":
    main()
