"""Measure where the toy kernel's sparse input products pay: the crossover density against ``d``.

For each hidden dimension ``d`` and density ``p``, one instance of ``n`` features at
batch ``B`` takes kernel steps (loss and gradient, one thread) with its input products
dense and over the nonzero entries only (``sparse_inputs=False`` / ``True``),
interleaved, and the best thread CPU time of ``--repeats`` rounds is kept (CPU time:
time waiting for a core on a shared machine is not counted). It prints the ratio
sparse / dense per cell and, per ``d``, the crossover density (linear interpolation
where the ratio crosses 1) next to what :func:`~packing.train._toy_kernel.sparse_inputs_pay`
decides (its constants come from runs of this script).

Usage: ``python scripts/bench_sparse_inputs.py [--n 1000] [--batch 2048] [--d 20 50 100 200]
[--densities 0.02 0.05 0.08 0.12 0.18] [--repeats 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from packing.train._data import Sampler
from packing.train._toy_kernel import _ToyKernel, sparse_inputs_pay


def kernel(n, d, batch, p, sparse, seed=0):
    """One instance of the toy kernel at density ``p`` with the input products dense or sparse."""
    sampler = Sampler(np.full((1, n), p), np.dtype(np.float32), np.random.default_rng(seed))
    weight = np.maximum(0.9 ** np.arange(n), 1e-3)[None, :] / n
    k = _ToyKernel(1, n, d, batch, weight, True, np.dtype(np.float32), sampler, 1, sparse_inputs=sparse)
    k.W[...] = np.random.default_rng(1).standard_normal(k.W.shape) * np.sqrt(2.0 / (n + d))
    return k


def step_cpu(k, steps):
    """Thread CPU seconds per kernel step."""
    t0 = time.thread_time()
    for _ in range(steps):
        k.loss_and_grad()
    return (time.thread_time() - t0) / steps


def crossover(densities, ratios):
    """Return the density where ``ratios`` (sparse / dense) crosses 1, interpolated (None: never)."""
    cells = list(zip(densities, ratios, strict=True))
    for (p0, r0), (p1, r1) in zip(cells, cells[1:], strict=False):
        if r0 < 1 <= r1:
            return p0 + (1 - r0) * (p1 - p0) / (r1 - r0)
    return densities[-1] if ratios[-1] < 1 else None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--d", type=int, nargs="+", default=[20, 50, 100, 200])
    parser.add_argument("--densities", type=float, nargs="+", default=[0.02, 0.05, 0.08, 0.12, 0.18])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="steps per timing")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.batch, args.d, args.densities = 60, 256, [20], [0.05, 0.5]
        args.repeats = args.steps = 1
    results = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for d in args.d:
            ratios = []
            for p in args.densities:
                pair = [kernel(args.n, d, args.batch, p, sparse) for sparse in (False, True)]
                for k in pair:
                    k.loss_and_grad()  # buffers, caches
                best = [np.inf, np.inf]
                for _ in range(args.repeats):  # interleaved: load hits both alike
                    for j, k in enumerate(pair):
                        best[j] = min(best[j], step_cpu(k, args.steps))
                for k in pair:
                    k.close()
                ratios.append(best[1] / best[0])
                print(
                    f"d={d:4} p={p:5.3f}: dense {1e3 * best[0]:8.2f} ms, sparse {1e3 * best[1]:8.2f} ms, "
                    f"ratio {ratios[-1]:.3f}; chosen: {'sparse' if sparse_inputs_pay(p, d) else 'dense'}"
                )
            results[d] = dict(zip(args.densities, ratios, strict=True))
            cross = crossover(args.densities, ratios)
            print(f"d={d}: sparse pays below density {'never' if cross is None else f'{cross:.3f}'}")
    return results


if __name__ == "__main__":
    main()
