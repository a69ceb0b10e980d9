"""Benchmark the structure analysis at dictionary scale: time and peak added memory, tiled against dense.

For each size ``n`` (``d`` fixed, float32 rows) and two dictionaries, a random
one and one with planted structure (a tegum product of pentagons, triangles and
digons filling half the dimensions, random features in the other half, all
under one random rotation), it runs in a fresh subprocess each:

* ``analyze_structure`` (the tiled pass: no ``n x n`` matrix),
* ``tegum_factors`` (tiled),
* ``packing_signature(profile=32)`` (tiled, truncated profiles),
* the dense reference ``_analyze_structure_dense`` (the implementation before the
  tiled pass) when its ``n x n`` matrices fit in ``--dense-max-gib``,

and prints the wall and CPU time (one thread: on a loaded machine the CPU time
is the comparable number), the peak memory added by the call as seen by
tracemalloc (numpy's buffers are traced) and the rise of the process's peak RSS
(``ru_maxrss``) over its value just before the call, measured in the same
subprocess, and the dense/tiled ratios. Peak RSS includes the input ``W``
only through its value before the call (subtracted).

Run it niced on one thread (the full size takes several minutes per Gram pass):
``OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python scripts/bench_structure_scale.py
[--sizes 4096,16384,65536] [--d 1024] [--kinds random,planted] [--calls analyze,tegum,signature,dense]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packing, also in a worktree

CALLS = ("analyze", "tegum", "signature", "dense")
KINDS = ("random", "planted")


def planted(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Return pentagons, triangles and digons (a tegum product) in ``d / 2`` dims, random rows in the rest."""
    from packing import antipodal_pair, regular_polygon, tegum_product

    half = d // 2
    blocks = []
    dims = 0
    shapes = (regular_polygon(5), regular_polygon(3), antipodal_pair())
    k = 0
    while dims + shapes[k % 3].shape[1] <= half:
        blocks.append(shapes[k % 3])
        dims += shapes[k % 3].shape[1]
        k += 1
    T = tegum_product(*blocks)
    n_random = max(n - T.shape[0], 0)
    R = rng.normal(size=(n_random, d - dims))
    W = np.zeros((T.shape[0] + n_random, d))
    W[: T.shape[0], :dims] = T
    W[T.shape[0] :, dims:] = R
    W[T.shape[0] :] /= np.linalg.norm(W[T.shape[0] :], axis=1, keepdims=True)  # unit rows, as the polytopes
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (W[:n] @ Q).astype(np.float32)


def dictionary(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.normal(size=(n, d)).astype(np.float32)
    return planted(n, d, rng)


def run_one(call: str, kind: str, n: int, d: int, seed: int) -> dict:
    """Time one call and measure the memory it adds (runs in the subprocess)."""
    import packing
    from packing.structure.report import _analyze_structure_dense

    W = dictionary(kind, n, d, seed)
    fns = {
        "analyze": lambda: packing.analyze_structure(W),
        "tegum": lambda: packing.tegum_factors(W),
        "signature": lambda: packing.packing_signature(W, profile=32),
        "dense": lambda: _analyze_structure_dense(W.astype(np.float64), 0.05, 0.1, 0.1, True),
    }
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fns[call]()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    summary = ""
    if call in ("analyze", "dense"):
        tf = out.factors
        summary = (
            f"{len(tf.factors)} factors (largest {max(tf.sizes)}), "
            f"{sum(s.matched for s in out.shapes)} shapes matched, "
            f"{out.orthogonal.orthogonal_pairs} orth pairs"
        )
    elif call == "tegum":
        summary = f"{len(out.factors)} factors (largest {max(out.sizes)})"
    return {"seconds": seconds, "cpu": cpu, "traced": peak, "rss": max(rss1 - rss0, 0), "summary": summary}


def measure(call: str, kind: str, n: int, d: int, seed: int, fresh: bool = True) -> dict:
    """Run one call in a fresh subprocess (``fresh``; else in this process) and return its numbers."""
    if not fresh:
        return run_one(call, kind, n, d, seed)
    cmd = [sys.executable, __file__, "--worker", f"{call},{kind},{n},{d},{seed}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:6.2f} GiB"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,16384,65536")
    parser.add_argument("--d", type=int, default=1024)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--calls", default=",".join(CALLS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dense-max-gib", type=float, default=4.0, help="skip the dense path beyond this")
    parser.add_argument("--quick", action="store_true", help="tiny sizes in this process (for the tests)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        call, kind, n, d, seed = args.worker.split(",")
        print(json.dumps(run_one(call, kind, int(n), int(d), int(seed))))
        return {}
    if args.quick:
        args.sizes, args.d = "96", 12
    sizes = [int(s) for s in args.sizes.split(",")]
    calls = [c for c in args.calls.split(",") if c]
    print(
        f"d={args.d}, float32, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    out = {}
    for kind in args.kinds.split(","):
        for n in sizes:
            results = out[f"{kind} n={n}"] = {}
            for call in calls:
                if call == "dense" and 90 * n * n > args.dense_max_gib * 2**30:
                    print(
                        f"{kind:8s} n={n:6d} dense      skipped (about {gib(90 * n * n)} of n x n matrices)"
                    )
                    continue
                r = results[call] = measure(call, kind, n, args.d, args.seed, fresh=not args.quick)
                if "error" in r:
                    print(f"{kind:8s} n={n:6d} {call:10s} failed: {r['error']}", flush=True)
                    continue
                print(
                    f"{kind:8s} n={n:6d} {call:10s} {r['seconds']:8.1f} s wall {r['cpu']:8.1f} s cpu  "
                    f"traced {gib(r['traced'])}  "
                    f"rss {gib(r['rss'])}  {r['summary']}",
                    flush=True,
                )
            a, b = results.get("analyze"), results.get("dense")
            if a and b and "error" not in a and "error" not in b:
                print(
                    f"{kind:8s} n={n:6d} dense/tiled analyze_structure: "
                    f"cpu time {b['cpu'] / max(a['cpu'], 1e-9):.2f}x, "
                    f"traced memory {b['traced'] / max(a['traced'], 1):.1f}x",
                    flush=True,
                )
    return out


if __name__ == "__main__":
    main()
