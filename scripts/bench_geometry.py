"""Benchmark the blocked pairwise statistics against the machine's own float32 GEMM.

Default size is the dictionary-scale target of the foundation issue: n = 65,536
features in d = 1,024 dims, float32. The script measures, in the same run:

* the float32 GEMM rate of this machine (square-ish products of the tile shape
  the statistics use), in GFLOP/s;
* one call of ``pairwise_statistics(W, p=(1, 2, 4, inf))`` (moments, coherence and
  orthogonal-pair count in one pass), its effective rate counted as
  ``n (n - 1) / 2 * 2 d`` useful flops per second, and the ratio of the two;
* the peak memory the call adds on top of ``W`` (tracemalloc sees numpy's buffers).

Targets: ratio >= 0.5 and added peak memory < 1 GiB. Usage:
``python scripts/bench_geometry.py [--n 65536] [--d 1024] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from packing import pairwise_statistics


def gemm_rate(d: int, block: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` float32 GEMM rate in FLOP/s for (block × d) @ (d × block)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((block, d), dtype=np.float32)
    B = rng.standard_normal((block, d), dtype=np.float32)
    C = np.empty((block, block), dtype=np.float32)
    np.matmul(A, B.T, out=C)  # warm up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(A, B.T, out=C)
        best = min(best, time.perf_counter() - t)
    return 2.0 * block * block * d / best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=65536)
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--block-size", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="n=4096, d=128 smoke run")
    args = parser.parse_args(argv)
    n, d = (4096, 128) if args.quick else (args.n, args.d)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n, d), dtype=np.float32)
    block = args.block_size or 2048

    peak_gemm = gemm_rate(d, min(block, n))
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    t = time.perf_counter()
    stats = pairwise_statistics(W, p=(1, 2, 4, np.inf), method="blocked", block_size=args.block_size)
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gemm_after = gemm_rate(d, min(block, n))
    peak_gemm = max(peak_gemm, gemm_after)

    useful = n * (n - 1) / 2 * 2 * d
    rate = useful / elapsed
    added = peak - base
    result = {
        "n": n,
        "d": d,
        "seconds": elapsed,
        "gemm_gflops": peak_gemm / 1e9,
        "stats_gflops": rate / 1e9,
        "ratio": rate / peak_gemm,
        "added_peak_mib": added / 2**20,
        "W_mib": W.nbytes / 2**20,
        "coherence": stats.coherence,
        "orthogonal_pairs": stats.orthogonal_pairs,
    }
    print(f"n={n} d={d} float32, blocked statistics p=(1,2,4,inf) + coherence + orthogonal pairs")
    print(f"machine float32 GEMM rate : {result['gemm_gflops']:8.1f} GFLOP/s (best of before/after)")
    print(f"pairwise_statistics rate  : {result['stats_gflops']:8.1f} GFLOP/s ({elapsed:.1f} s)")
    print(f"ratio (target >= 0.50)    : {result['ratio']:8.2f}")
    print(
        f"added peak memory         : {result['added_peak_mib']:8.1f} MiB (target < 1024; W itself "
        f"{result['W_mib']:.0f} MiB)"
    )
    return result


if __name__ == "__main__":
    main()
