"""Benchmark the exact optimal-partition DP (``packing.optimal_partition``) with the Welch table.

For each ``(n, d)`` up to the issue's ``n = 1000, d = 100`` and each
``p in {0.5, 1, 2, 4, inf}`` the script times ``optimal_partition(n, d, p,
build=False)`` (Welch cost table plus the DP) and reports the blocks found. At
one size where the straightforward ``O(n² d²)`` DP is still feasible it times
both solvers on the same table in the same run, checks that they agree, and
reports the speed-up. Timings are best of ``--repeats`` wall-clock runs; the
machine is shared, so expect noise. Usage:
``python scripts/bench_partition.py [--sizes 100x20,1000x100] [--reference-size 500x100] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from packing import block_cost_table, optimal_partition
from packing.partition._dp import solve, solve_reference

PS = (0.5, 1.0, 2.0, 4.0, math.inf)


def _size(text: str) -> tuple[int, int]:
    n, d = text.lower().split("x")
    return int(n), int(d)


def _best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _describe(blocks: list[tuple[int, int]]) -> str:
    shapes = sorted(set(blocks), reverse=True)
    return " + ".join(f"{blocks.count(s)}×{s}" if blocks.count(s) > 1 else str(s) for s in shapes)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100x20,200x40,500x50,1000x100")
    parser.add_argument("--reference-size", default="500x100")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (smoke run)")
    args = parser.parse_args(argv)
    sizes = [_size(s) for s in args.sizes.split(",")]
    ref_n, ref_d = _size(args.reference_size)
    repeats = args.repeats
    if args.quick:
        sizes, (ref_n, ref_d), repeats = [(30, 10), (60, 12)], (30, 10), 1

    result: dict = {"sizes": {}, "reference": {}}
    print(f"optimal_partition(n, d, p, build=False), Welch table, best of {repeats} (seconds):")
    print(f"{'n':>6} {'d':>4} {'p':>5} {'seconds':>9}  loss         blocks")
    for n, d in sizes:
        for p in PS:
            seconds, res = _best_time(lambda n=n, d=d, p=p: optimal_partition(n, d, p, build=False), repeats)
            result["sizes"][f"{n}x{d}", p] = {"seconds": seconds, "loss": res.loss, "k": res.k}
            print(f"{n:>6} {d:>4} {p:>5} {seconds:>9.3f}  {res.loss:<12.6g} {_describe(res.blocks)}")

    print(f"\nDP only, same Welch table, n={ref_n}, d={ref_d}: straightforward O(n² d²) vs fast")
    print(f"{'p':>5} {'reference s':>12} {'fast s':>9} {'speed-up':>9}  same loss  same blocks")
    for p in PS:
        f = np.minimum.accumulate(block_cost_table(ref_n, ref_d, p), axis=1)
        combine = np.maximum if math.isinf(p) else np.add
        t_ref, (loss_ref, blocks_ref) = _best_time(
            lambda f=f, c=combine: solve_reference(f, ref_n, ref_d, c), 1
        )
        t_fast, (loss, blocks) = _best_time(lambda f=f, p=p: solve(f, ref_n, ref_d, math.isinf(p)), repeats)
        same_loss = math.isclose(loss, loss_ref, rel_tol=1e-12, abs_tol=1e-12)
        result["reference"][p] = {
            "reference_seconds": t_ref,
            "fast_seconds": t_fast,
            "speedup": t_ref / t_fast,
            "same_loss": same_loss,
            "same_blocks": blocks == blocks_ref,
        }
        speedup = t_ref / t_fast
        same_blocks = blocks == blocks_ref
        print(f"{p:>5} {t_ref:>12.3f} {t_fast:>9.4f} {speedup:>9.1f}  {same_loss!s:<10} {same_blocks}")
    # the reference scans sum_{a,b} a*b = (n(n+1)/2)(d(d+1)/2) shapes: scale its time to the largest size
    n, d = max(sizes)
    scale = (n * (n + 1) * d * (d + 1)) / (ref_n * (ref_n + 1) * ref_d * (ref_d + 1))
    t_ref = float(np.mean([r["reference_seconds"] for r in result["reference"].values()]))
    result["reference_estimate_largest"] = {"n": n, "d": d, "seconds": t_ref * scale}
    print(
        f"\nreference at n={n}, d={d} extrapolated by the O(n² d²) scan count: ~{t_ref * scale:.0f} s per p"
    )
    return result


if __name__ == "__main__":
    main()
