"""Measure the toy kernel's collapse of all-zero batch rows: training steps with it on, off and chosen.

A training step (the loop's own step: fresh batch, loss and gradient, Adam update) of
the toy model at ``n`` features, ``d`` hidden, ``instances`` instances and batch ``B``
(default 5 x 2, 10 instances, 1024: the superposition paper's small model), float32, one
thread, is timed with the kernel collapsing its zero rows (``collapse=True``), not
(``False``) and as the cost model chooses (``None``, :func:`collapse_pays`), interleaved
in the same rounds (medians of thread CPU time: time waiting for a core on a shared
machine is not counted). Densities: every feature at 0.01, 0.05 and 0.2, and the
benchmark trainer's configuration ``a`` (``scripts/bench_trainer.py``: feature
probability ``20 ** -linspace(0, 1, instances)``, one per instance, so instance 0 is dense).

With ``--fit`` it also measures the constants of the cost model: the time of the collapse
itself (mask, index, gather; :data:`COLLAPSE_NS`) over blocks of several shapes and
densities, fitted by least squares as ``a + b * rows * instances + c * entries kept``, and
the kernel's time after sampling per entry (:data:`COMPUTE_NS`: the work a collapsed row saves).

Usage: ``python scripts/bench_zero_rows.py [--rounds 7] [--seconds 0.3] [--fit] [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by path (tests), not run from scripts/
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import NumpyTrainer, problem  # noqa: E402  (a sibling script)

from packing.train._benchmark import measure
from packing.train._data import Sampler
from packing.train._kernel import Workspace
from packing.train._toy_kernel import COLLAPSE_NS, COMPUTE_NS, _ToyKernel, collapse_pays


def densities(label, n, n_inst):
    """Feature probabilities (instances, n): a uniform ``p``, or bench_trainer's configuration 'a'."""
    if label == "a":
        return problem(n, 2, n_inst)[0]
    return np.full((n_inst, n), float(label))


class Trainer(NumpyTrainer):
    """The toy trainer's loop on one problem (one thread), with ``collapse`` given to its kernel."""

    def __init__(self, density, d, batch, collapse, seed=0, **plan):
        n_inst, n = density.shape
        plan.update(density=density, collapse=collapse)
        super().__init__(n, d, n_inst, batch, threads=1, seed=seed, **plan)

    def chosen(self):
        """Blocks that collapse / all blocks (as the kernel decides, from the shape and densities)."""
        blocks = [blk for g in self.kern.groups for blk in g.blocks]
        return sum(bool(self.kern.collapses(i0, i1, r1 - r0)) for i0, i1, r0, r1 in blocks), len(blocks)


def kept_rows(density, d, batch, steps=20):
    """Mean fraction of rows a collapsed block keeps (R' / R) over ``steps`` steps."""
    t = Trainer(density, d, batch, True)
    kern, fractions = t.kern, []
    real = kern._collapse

    def spy(ws, xbuf, shape, nonneg):
        Xc, z = real(ws, xbuf, shape, nonneg)
        fractions.append(1.0 - z / shape[2])
        return Xc, z

    kern._collapse = spy
    t.run(steps)
    return float(np.mean(fractions))


def bench_steps(cases, rounds, seconds):
    """Interleaved step times with collapse off, on and chosen; a row per case ``(n, d, ni, B, density)``."""
    contenders, info = {}, {}
    for case in cases:
        n, d, n_inst, batch, label = case
        dens = densities(label, n, n_inst)
        for mode in (False, True, None):
            trainer = Trainer(dens, d, batch, mode)
            contenders[(case, mode)] = trainer.run
            if mode is None:
                info[case] = (trainer.chosen(), float(trainer.kern.zero_q.min()), kept_rows(dens, d, batch))
    with threadpool_limits(limits=1, user_api="blas"):
        _, cpu = measure(contenders, rounds, seconds)
    rows = {}
    for case in cases:
        off, on, auto = (cpu[(case, m)] for m in (False, True, None))
        (chosen, blocks), q, kept = info[case]
        rows[case] = dict(
            off_ms=1e3 * off,
            on_ms=1e3 * on,
            auto_ms=1e3 * auto,
            on_ratio=on / off,
            auto_ratio=auto / off,
            collapsed_blocks=chosen,
            blocks=blocks,
            zero_fraction=q,
            kept=kept,
        )
    return rows


def _cpu_per_call(fn, xbuf, pool, reps):
    """Thread CPU seconds of ``fn()`` on fresh data just written to ``xbuf`` (as after sampling).

    Each call first copies one of ``pool`` into ``xbuf`` (the data is in cache and new to
    the branch predictors, as in the kernel); the copies alone are timed and subtracted.
    """

    def loop(f):
        t0 = time.thread_time()
        for _ in range(reps):
            for X in pool:
                xbuf[:-1] = X
                f()
        return (time.thread_time() - t0) / (reps * len(pool))

    loop(fn)
    return loop(fn) - loop(lambda: None)


def fit_collapse(shapes, reps, pool_size=8):
    """Time :meth:`_ToyKernel._collapse` on sampled blocks; fit ``a + b ni R + c ni n R + e ni n R'`` (ns).

    Returns the coefficients and, per shape ``(n, ni, R, p)``, the time (ns) and ``R' / R``.
    """
    rows, times, kept = [], [], []
    for n, ni, R, p in shapes:
        sampler = Sampler(np.full((ni, n), p), np.dtype(np.float32), np.random.default_rng(0))
        k = _ToyKernel(ni, n, 2, R, np.ones((ni, n)), True, np.dtype(np.float32), sampler, 1, collapse=True)
        k.close()
        gen, shape, ws = sampler.streams(1)[0], (ni, n, R), Workspace()
        pool = []
        for _ in range(pool_size):
            X = np.empty((ni * n, R), np.float32)
            sampler.fill_rows_scaled(X, 0, np.zeros_like(X), gen)
            pool.append(X.reshape(-1))
        xbuf = np.empty(ni * n * R + 1, np.float32)
        fractions = []
        for X in pool:
            xbuf[:-1] = X
            fractions.append(1.0 - k._collapse(ws, xbuf, shape, True)[1] / R)
        if max(fractions) == 1.0:
            continue  # some block kept every row: no gather (not what the fit is for)
        mean = float(np.mean(fractions))
        rows.append([1.0, ni * R, ni * n * R, ni * n * R * mean])
        run = functools.partial(k._collapse, ws, xbuf, shape, True)
        times.append(1e9 * _cpu_per_call(run, xbuf, pool, reps))
        kept.append(((n, ni, R, p), times[-1], mean))
    coef, *_ = np.linalg.lstsq(np.array(rows), np.array(times), rcond=None)
    return coef, kept


def fit_compute(cases, steps):
    """Marginal ns per entry of the kernel's work after sampling (products, elementwise), collapse off.

    For each ``(n, d, ni, R1, R2)``: the profile's matrix products and elementwise passes at
    batch ``R1`` and ``R2`` (one block each), their difference per entry.
    """
    out = {}
    for n, d, ni, R1, R2 in cases:
        t = []
        for R in (R1, R2):
            trainer = Trainer(np.full((ni, n), 0.05), d, R, False)
            assert all(len(g.blocks) == 1 for g in trainer.kern.groups)
            trainer.run(2)
            prof = trainer.profile(steps)
            t.append(prof.get("matmul", 0.0) + prof.get("elementwise", 0.0))
        out[(n, d)] = 1e9 * (t[1] - t[0]) / (ni * n * (R2 - R1))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--d", type=int, default=2)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved measurement rounds")
    parser.add_argument("--seconds", type=float, default=0.3, help="target seconds per measurement")
    parser.add_argument("--fit", action="store_true", help="also measure the cost model's constants")
    parser.add_argument("--no-larger", action="store_true", help="only the n x d, instances, batch given")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke test)")
    args = parser.parse_args(argv)
    head = (args.n, args.d, args.instances, args.batch)
    cases = [(*head, label) for label in ("0.01", "0.05", "0.2", "a")]
    if not args.no_larger:  # larger blocks: more features, more instances
        cases += [
            (20, 5, 10, 1024, "0.01"),
            (20, 5, 10, 1024, "0.03"),
            (5, 2, 40, 1024, "0.01"),
            (5, 2, 40, 1024, "0.05"),
        ]
    if args.quick:
        args.rounds, args.seconds = 1, 0.01
        cases = [(n, d, ni, 256, label) for n, d, ni, _, label in cases[:4]] + [(20, 5, 2, 256, "0.01")]
    rows = bench_steps(cases, args.rounds, args.seconds)
    print(
        "toy model, float32, one thread; thread CPU ms per training step (loss, gradient, Adam), "
        f"medians of {args.rounds} interleaved rounds; collapse off, on, and as chosen (None)"
    )
    print(
        f"{'n x d, instances, batch':>24} {'density':>7} {'P(row 0)':>8} {'kept':>5} | {'off':>7} {'on':>7} "
        f"{'chosen':>7} | {'on/off':>6} {'chosen/off':>10} {'collapsed blocks':>16}"
    )
    for (n, d, ni, batch, label), r in rows.items():
        shape = f"{n} x {d}, {ni}, {batch}"
        print(
            f"{shape:>24} {label:>7} {r['zero_fraction']:8.3f} {r['kept']:5.2f} | {r['off_ms']:7.3f} "
            f"{r['on_ms']:7.3f} {r['auto_ms']:7.3f} | {r['on_ratio']:6.3f} {r['auto_ratio']:10.3f} "
            f"{r['collapsed_blocks']:>9} of {r['blocks']:<4}"
        )
    print(
        "(P(row 0): the least probability of an all-zero row over the instances; kept: mean R'/R collapsed)"
    )
    result = {
        "steps": {f"{n}x{d}, {ni}, {batch}, {label}": r for (n, d, ni, batch, label), r in rows.items()}
    }
    if args.fit:
        shapes = [
            (n, ni, R, p)
            for n, sizes, dens in (
                (5, [(1, 1024), (10, 256), (10, 1024), (40, 1024)], (0.01, 0.05, 0.15)),
                (20, [(1, 1024), (10, 512), (10, 1024)], (0.003, 0.01, 0.03)),
            )
            for ni, R in sizes
            for p in dens
        ]
        cases = [
            (5, 2, 10, 1024, 4096),
            (20, 5, 10, 512, 2048),
            (20, 10, 10, 512, 2048),
            (40, 10, 4, 512, 2048),
        ]
        if args.quick:
            shapes, cases = shapes[:3], [(5, 2, 2, 64, 128)]
        reps = 1 if args.quick else 40
        with threadpool_limits(limits=1, user_api="blas"):
            coef, cells = fit_collapse(shapes, reps)
            per_entry = fit_compute(cases, 2 if args.quick else 200)
        for shape, ns, kept in cells:
            model = coef @ [
                1.0,
                shape[1] * shape[2],
                shape[0] * shape[1] * shape[2],
                np.prod(shape[:3]) * kept,
            ]
            print(
                f"collapse (n, instances, R, p) = {shape}: {ns / 1e3:7.1f} us "
                f"(fit {model / 1e3:7.1f}), R'/R {kept:.2f}"
            )
        print(
            f"collapse cost fitted: {coef[0] / 1e3:.1f} us per block + {coef[1]:.2f} ns per row and instance "
            f"+ {coef[2]:.3f} ns per entry + {coef[3]:.3f} ns per entry kept (COLLAPSE_NS in use: "
            f"{', '.join(f'{c:g}' for c in COLLAPSE_NS)})"
        )
        for (n, d), ns in per_entry.items():
            model = COMPUTE_NS[0] + 10.0 * d / COMPUTE_NS[1]
            print(
                f"work after sampling at n = {n}, d = {d}: {ns:.2f} ns per entry, "
                f"marginal (model {model:.2f})"
            )
        result.update(collapse_coef=coef.tolist(), compute_ns=per_entry)
    pays = {
        q: bool(collapse_pays(q, args.n, args.d, args.instances, args.batch)) for q in (0.3, 0.5, 0.7, 0.9)
    }
    print(f"cost model at this shape, P(row 0) -> collapse: {pays}")
    return result


if __name__ == "__main__":
    main()
