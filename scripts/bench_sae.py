"""Benchmark the numpy SAE trainer against a plain PyTorch CPU SAE of the same kind, step for step.

Both sides train the same TopK sparse autoencoder (Gao et al. 2024): ``z =
TopK(ReLU((x − b_d) Eᵀ + b_e))``, ``x̂ = z D + b_d``, loss ``Σ ||x̂ − x||²``
averaged over the batch, Adam at lr 1e-3, unit-norm decoder rows (the
gradient's component along each row removed before the step, rows renormalised
after), batches drawn from the same activations (``sparse_activations`` of a
random packing with ``n = m`` features, ``k`` active per sample). The auxiliary
loss of dead latents is part of the numpy step but inactive here (no latent is
dead in the first ``dead_after`` samples); PyTorch gets none.

numpy's time per step is the difference of two ``train_sae`` runs (``S`` and
``2S`` steps) divided by ``S`` (set-up and the final evaluation cancel); PyTorch
is timed over ``S`` steps after one warm-up step. Both at ``--threads`` threads
(default 1), interleaved ``--rounds`` times, medians reported, with the ratio
numpy / torch (issue #15's target: at most 0.5). On a shared machine the
difference of two runs is noisy: use ``--steps`` large enough that a run takes
seconds.

torch comes from the optional ``bench`` extra; without it the torch column is
skipped. Usage: ``python scripts/bench_sae.py [--sizes 256x1024,1024x8192]
[--batch 4096] [--k 32] [--steps 3] [--rounds 3] [--threads 1] [--quick]``.

Where the time goes (one thread, ``--steps`` steps after one warm-up step of a
separate run): the share of a numpy step spent in each phase, timed by
wrapping the trainer's phases: normalisation of the decoder rows, the encoder
GEMM (``x Eᵀ + c``), TopK selection, the decoder GEMM (``z D``, the
reconstruction), the backward GEMMs (``rDᵀ``, ``zᵀr``, ``gᵀx``), the auxiliary
loss, the kernel's own set-up and reduction, the projection of the decoder
gradient, the optimizer (Adam) and the rest (batch gathering, bookkeeping).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from packing import random_packing, sparse_activations, train_sae
from packing.sae import trainer as _trainer
from packing.sae._kernel import _SAEKernel
from packing.train._optim import Optimizer

#: Phases of the breakdown, in step order (kernel phases are the labels its ``tick`` reports).
PHASES = (
    ("normalise", "normalise decoder rows"),
    ("encoder", "encoder GEMM"),
    ("select", "TopK selection"),
    ("decoder", "decoder GEMM"),
    ("backward", "backward GEMMs"),
    ("auxiliary", "auxiliary loss"),
    ("kernel", "kernel set-up/reduction"),
    ("project", "project decoder gradient"),
    ("optimizer", "optimizer (Adam)"),
    ("other", "other (batch, bookkeeping)"),
)


class _PhaseTimer:
    """Wrap the trainer's phases (restored on exit) and add up the seconds spent in each."""

    def __init__(self):
        self.seconds = dict.fromkeys((key for key, _ in PHASES), 0.0)
        self.last = 0.0

    def tick(self, label):
        now = time.perf_counter()
        self.seconds[label] += now - self.last
        self.last = now

    def _timed(self, label, fn):
        def wrapped(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t

        return wrapped

    def __enter__(self):
        self.saved = (
            _trainer._normalize_rows,
            _trainer._project_rows,
            _SAEKernel.loss_and_grad,
            Optimizer.step,
        )
        timer, loss_and_grad = self, _SAEKernel.loss_and_grad

        def kernel(kern, tick=None):
            t0 = timer.last = time.perf_counter()
            inside = sum(timer.seconds.values())
            out = loss_and_grad(kern, tick=timer.tick)
            ticked = sum(timer.seconds.values()) - inside
            timer.seconds["kernel"] += time.perf_counter() - t0 - ticked
            return out

        _trainer._normalize_rows = self._timed("normalise", _trainer._normalize_rows)
        _trainer._project_rows = self._timed("project", _trainer._project_rows)
        _SAEKernel.loss_and_grad = kernel
        Optimizer.step = self._timed("optimizer", Optimizer.step)
        return self

    def __exit__(self, *exc):
        _trainer._normalize_rows, _trainer._project_rows, _SAEKernel.loss_and_grad, Optimizer.step = (
            self.saved
        )


def phase_breakdown(data, m, k, batch, steps) -> dict:
    """Seconds per step in each phase of ``train_sae`` (one thread).

    The difference of a ``2 steps`` and a ``steps`` run, phase by phase, divided
    by ``steps``: set-up and the final evaluation (which runs the kernel once
    more) cancel, as for the total time per step.
    """
    common = dict(n_latents=m, kind="topk", k=k, batch_size=batch, eval_size=batch, rng=0, n_threads=1,
                  blas_threads=1, progress=False)  # fmt: skip
    runs = []
    for s in (steps, 2 * steps):
        with _PhaseTimer() as timer:
            t = time.perf_counter()
            train_sae(data, steps=s, **common)
            timer.seconds["other"] = time.perf_counter() - t - sum(timer.seconds.values())
        runs.append(timer.seconds)
    return {key: max(runs[1][key] - runs[0][key], 0.0) / steps for key in runs[0]}


def _size(text: str) -> tuple[int, int]:
    d, m = text.lower().split("x")
    return int(d), int(m)


def numpy_step_seconds(data, m, k, batch, steps, threads) -> float:
    """Seconds per training step of ``train_sae`` (difference of a 2S- and an S-step run)."""
    times = []
    for s in (steps, 2 * steps):
        t = time.perf_counter()
        train_sae(
            data, n_latents=m, kind="topk", k=k, steps=s, batch_size=batch, eval_size=batch,
            rng=0, n_threads=threads, blas_threads=1, progress=False,
        )  # fmt: skip
        times.append(time.perf_counter() - t)
    return max(times[1] - times[0], 1e-9) / steps


def torch_step_seconds(torch, X, m, k, batch, steps) -> float:
    """Seconds per step of a plain PyTorch TopK SAE (autograd, torch.optim.Adam)."""
    gen = torch.Generator().manual_seed(0)
    n, d = X.shape
    D = torch.nn.functional.normalize(torch.randn(m, d, generator=gen), dim=1)
    params = dict(
        E=torch.nn.Parameter(D.clone()),
        be=torch.nn.Parameter(torch.zeros(m)),
        D=torch.nn.Parameter(D),
        bd=torch.nn.Parameter(X.mean(0).clone()),
    )
    opt = torch.optim.Adam(params.values(), lr=1e-3)

    def step():
        x = X[torch.randint(0, n, (batch,), generator=gen)]
        pre = (x - params["bd"]) @ params["E"].T + params["be"]
        vals, idx = pre.topk(k, dim=1)
        z = torch.zeros_like(pre).scatter(1, idx, torch.relu(vals))
        loss = ((z @ params["D"] + params["bd"] - x) ** 2).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            Dp = params["D"]
            Dp.grad -= (Dp.grad * Dp).sum(1, keepdim=True) * Dp
            opt.step()
            Dp /= Dp.norm(dim=1, keepdim=True)

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t) / steps


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256x1024,1024x8192", help="d x latents, comma-separated")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for the tests")
    parser.add_argument(
        "--no-breakdown", dest="breakdown", action="store_false", help="skip the per-phase time breakdown"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batch, args.k, args.steps, args.rounds = "8x16", 64, 2, 2, 1
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed (pip install -e '.[bench]'): numpy only")
    out = {}
    for d, m in (_size(s) for s in args.sizes.split(",")):
        W = random_packing(m, d, rng=0)
        data = sparse_activations(W, n_samples=max(4 * args.batch, 1024), n_active=args.k, rng=1)
        X = torch.from_numpy(np.ascontiguousarray(data.activations)) if torch is not None else None
        rows = {"numpy": [], "torch": []}
        with threadpool_limits(args.threads):
            if torch is not None:
                torch.set_num_threads(args.threads)
            for _ in range(args.rounds):  # interleaved: load from other processes hits both alike
                rows["numpy"].append(
                    numpy_step_seconds(data, m, args.k, args.batch, args.steps, args.threads)
                )
                if torch is not None:
                    rows["torch"].append(torch_step_seconds(torch, X, m, args.k, args.batch, args.steps))
        med = {key: statistics.median(v) for key, v in rows.items() if v}
        line = f"d={d} latents={m} batch={args.batch} k={args.k} threads={args.threads}:"
        line += f" numpy {med['numpy']:.4f} s/step"
        if "torch" in med:
            line += f", torch {med['torch']:.4f} s/step, numpy/torch = {med['numpy'] / med['torch']:.2f}"
        print(line, flush=True)
        if args.breakdown:
            with threadpool_limits(1):
                phases = phase_breakdown(data, m, args.k, args.batch, args.steps)
            total = sum(phases.values())
            print(f"  where a numpy step goes (1 thread, {total:.4f} s/step):", flush=True)
            for key, label in PHASES:
                print(f"    {label:28s} {phases[key]:8.4f} s  {100 * phases[key] / total:5.1f} %", flush=True)
            med["phases"] = phases
        out[f"{d}x{m}"] = med
    return out


if __name__ == "__main__":
    main()
