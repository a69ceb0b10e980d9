"""Benchmark the numpy toy-model trainer against PyTorch on the CPU, step for step.

Both sides train the identical ReLU-output model ``x' = ReLU(x W Wᵀ + b)``
with the reference notebook's data (feature probability ``20 ** -linspace(0, 1,
instances)``, one per instance; importance ``0.9 ** i``, floored at 1e-3), its loss (importance-
weighted squared error, mean over batch and features, summed over instances),
and Adam (lr 1e-3, PyTorch defaults), at the same thread count ``T``: torch
with ``torch.set_num_threads(T)``; numpy with ``T`` worker threads over its cache
blocks, each calling a single-threaded BLAS (threadpoolctl), the trainer's
default way of using cores.

PyTorch is written two ways and the faster one is the peer:

* ``einsum``: as the reference notebook writes it (batch-major ``[batch,
  instances, features]``, ``torch.einsum``, autograd, ``torch.optim.Adam``);
* ``bmm``: instance-major batched matrix products (``torch.bmm`` /
  ``torch.baddbmm``), same autograd and optimizer.

Both draw data the notebook's way (two ``torch.rand`` and a ``where``).
Measurements are interleaved (numpy, einsum, bmm, numpy, ...) so noise from
other processes on the machine hits all of them; the median time per step is
reported. Also reported: the numpy trainer's FLOP rate (``10 I B n d`` flops
per step: five GEMM-sized products) against this machine's float32 GEMM peak
measured in the same run, and where numpy's time goes (sampling, matrix
products, elementwise work, optimizer update).

Target: numpy time per step <= 0.4x the faster PyTorch variant on all three
configurations. torch comes from the optional ``bench`` extra
(``pip install -e .[bench]``); without it the torch columns are skipped.
Usage: ``python scripts/bench_trainer.py [--threads 1] [--rounds 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

from packing.train._data import Sampler
from packing.train._optim import Optimizer
from packing.train.toy import _ToyKernel

CONFIGS = {  # name: (n_features, d, instances, batch)
    "a": (5, 2, 10, 1024),
    "b": (200, 20, 20, 1024),
    "c": (1000, 100, 8, 4096),
}
QUICK = {"a": (5, 2, 10, 256), "b": (40, 8, 4, 256), "c": (100, 20, 2, 512)}
TARGET = 0.4


def problem(n, d, n_inst):
    """Return the reference notebook's feature probabilities (per instance) and importances (per feature)."""
    density = np.repeat((20.0 ** -np.linspace(0, 1, n_inst))[:, None], n, axis=1)
    # 0.9 ** i as the notebook, floored at 1e-3: 0.9 ** 999 = 3e-46 is subnormal in float32 and
    # would slow both libraries' GEMMs about tenfold without changing what is learned.
    importance = np.broadcast_to(np.maximum(0.9 ** np.arange(n), 1e-3), (n_inst, n))
    return density, importance


def numpy_trainer(n, d, n_inst, batch, seed=0, threads=1):
    """Return ``(step, profile_step)`` closures of the numpy trainer on one configuration."""
    rng = np.random.default_rng(seed)
    density, importance = problem(n, d, n_inst)
    sampler = Sampler(density, np.dtype(np.float32), rng)
    kern = _ToyKernel(n_inst, n, d, batch, importance / n, True, np.dtype(np.float32), sampler, threads)
    kern.W[...] = rng.standard_normal((n_inst, n, d)) * np.sqrt(2.0 / (n + d))
    opt = Optimizer(
        kern.params,
        kind="adam",
        lr=1e-3,
        schedule="constant",
        steps=10**9,
        weight_decay=0.0,
        betas=(0.9, 0.999),
        eps=1e-8,
        momentum=0.0,
    )
    t = [0]

    def step():
        kern.loss_and_grad()
        opt.step(kern.params, kern.grad, t[0])
        t[0] += 1

    def profile_step(acc):
        last = [time.perf_counter()]

        def tick(label):
            now = time.perf_counter()
            acc[label] += now - last[0]
            last[0] = now

        kern.loss_and_grad(tick)
        tick("elementwise")  # the loss reduction after the block loop
        opt.step(kern.params, kern.grad, t[0])
        tick("optimizer")
        t[0] += 1

    return step, profile_step


def torch_trainer(torch, n, d, n_inst, batch, variant, seed=0):
    """One Adam step of the same model in PyTorch, written as the notebook (einsum) or with bmm."""
    g = torch.Generator().manual_seed(seed)
    density, importance = problem(n, d, n_inst)
    W = torch.nn.Parameter(torch.randn(n_inst, n, d, generator=g) * np.sqrt(2.0 / (n + d)))
    b = torch.nn.Parameter(torch.zeros(n_inst, n))
    p = torch.tensor(density[:, 0], dtype=torch.float32)
    imp = torch.tensor(np.ascontiguousarray(importance), dtype=torch.float32)
    opt = torch.optim.Adam([W, b], lr=1e-3)

    if variant == "einsum":

        def loss_fn():
            feat = torch.rand((batch, n_inst, n), generator=g)
            seeds = torch.rand((batch, n_inst, n), generator=g)
            x = torch.where(seeds <= p[None, :, None], feat, torch.zeros(()))
            h = torch.einsum("bif,ifh->bih", x, W)
            out = torch.relu(torch.einsum("bih,ifh->bif", h, W) + b)
            return (imp * (x - out) ** 2).mean(dim=(0, 2)).sum()

    else:

        def loss_fn():
            feat = torch.rand((n_inst, batch, n), generator=g)
            seeds = torch.rand((n_inst, batch, n), generator=g)
            x = torch.where(seeds <= p[:, None, None], feat, torch.zeros(()))
            h = torch.bmm(x, W)
            out = torch.relu(torch.baddbmm(b[:, None, :], h, W.transpose(1, 2)))
            return (imp[:, None, :] * (x - out) ** 2).mean(dim=(1, 2)).sum()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()

    return step


def gemm_peak(size=1024, repeats=5) -> float:
    """Best-of-``repeats`` float32 GEMM rate (FLOP/s) of numpy's BLAS for square ``size`` matrices."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((size, size), dtype=np.float32)
    B = rng.standard_normal((size, size), dtype=np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        np.matmul(A, B, out=C)
        best = min(best, time.perf_counter() - t)
    return 2.0 * size**3 / best


def timed(step, n_steps) -> float:
    t = time.perf_counter()
    for _ in range(n_steps):
        step()
    return (time.perf_counter() - t) / n_steps


def bench_config(name, shape, torch, rounds, target_seconds, threads=1):
    n, d, n_inst, batch = shape
    contenders = {"numpy": numpy_trainer(n, d, n_inst, batch, threads=threads)[0]}
    if torch is not None:
        for variant in ("einsum", "bmm"):
            contenders[f"torch_{variant}"] = torch_trainer(torch, n, d, n_inst, batch, variant)
    # Warm up and size the inner loop so each measurement takes about target_seconds.
    n_steps = {}
    for key, step in contenders.items():
        step()
        n_steps[key] = max(1, int(target_seconds / max(timed(step, 1), 1e-6)))
    times = defaultdict(list)
    for _ in range(rounds):  # interleaved
        for key, step in contenders.items():
            times[key].append(timed(step, n_steps[key]))
    med = {k: float(np.median(v)) for k, v in times.items()}

    _, profile_step = numpy_trainer(n, d, n_inst, batch, seed=1)
    acc = defaultdict(float)
    n_prof = max(2, n_steps["numpy"] // 2)
    for _ in range(n_prof):
        profile_step(acc)
    total = sum(acc.values())
    flops = 10.0 * n_inst * batch * n * d
    row = {
        "shape": dict(n_features=n, d=d, instances=n_inst, batch=batch),
        "numpy_ms": 1e3 * med["numpy"],
        "numpy_steps_per_s": 1.0 / med["numpy"],
        "numpy_gflops": flops / med["numpy"] / 1e9,
        "breakdown": {k: v / total for k, v in sorted(acc.items())},
    }
    if torch is not None:
        for variant in ("einsum", "bmm"):
            row[f"torch_{variant}_ms"] = 1e3 * med[f"torch_{variant}"]
        peer = min(("einsum", "bmm"), key=lambda v: med[f"torch_{v}"])
        row["torch_peer"] = peer
        row["torch_steps_per_s"] = 1.0 / med[f"torch_{peer}"]
        row["ratio"] = med["numpy"] / med[f"torch_{peer}"]
        row["meets_target"] = row["ratio"] <= TARGET
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS / torch threads for both sides (default 1: on a shared machine "
        "multi-threaded GEMMs of these sizes mostly measure the neighbours)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved measurement rounds")
    parser.add_argument("--seconds", type=float, default=0.5, help="target seconds per measurement")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="run only these configurations")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke test)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not installed (pip install -e .[bench]); reporting numpy only.")
    if torch is not None:
        torch.set_num_threads(args.threads)
    configs = QUICK if args.quick else CONFIGS
    names = args.only or sorted(configs)
    rounds, seconds = (1, 0.02) if args.quick else (args.rounds, args.seconds)
    results = {}
    size = 256 if args.quick else 1024
    with threadpool_limits(limits=args.threads, user_api="blas"):
        peak = gemm_peak(size)
    with threadpool_limits(limits=1, user_api="blas"):  # numpy's BLAS only; torch has its own
        for name in names:
            results[name] = bench_config(name, configs[name], torch, rounds, seconds, args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        peak = max(peak, gemm_peak(size))
    print(
        f"threads={args.threads}  float32 GEMM peak (numpy BLAS, 1024^3, best of 5): {peak / 1e9:.1f} GFLOP/s"
    )
    header = f"{'cfg':3} {'n':>5} {'d':>4} {'I':>3} {'B':>5} | {'numpy ms':>9} {'step/s':>8} "
    header += f"{'GF/s':>6} {'%peak':>6}"
    if torch is not None:
        header += f" | {'einsum ms':>9} {'bmm ms':>9} {'step/s':>8} | {'ratio':>5} target<={TARGET}"
    print(header)
    for name, row in results.items():
        row["gemm_peak_gflops"] = peak / 1e9
        row["fraction_of_peak"] = row["numpy_gflops"] * 1e9 / peak
        s = row["shape"]
        line = (
            f"{name:3} {s['n_features']:>5} {s['d']:>4} {s['instances']:>3} {s['batch']:>5} | "
            f"{row['numpy_ms']:9.3f} {row['numpy_steps_per_s']:8.1f} {row['numpy_gflops']:6.1f} "
            f"{100 * row['fraction_of_peak']:5.1f}%"
        )
        if torch is not None:
            line += f" | {row['torch_einsum_ms']:9.3f} {row['torch_bmm_ms']:9.3f} "
            line += f"{row['torch_steps_per_s']:8.1f} | {row['ratio']:5.2f} "
            line += "yes" if row["meets_target"] else "NO"
        print(line)
    for name, row in results.items():
        parts = ", ".join(f"{k} {100 * v:.0f}%" for k, v in row["breakdown"].items())
        print(f"numpy time in {name}: {parts}")
    print(
        f"(breakdown measured with one thread; cpu count {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f})"
    )
    return results


if __name__ == "__main__":
    main()
