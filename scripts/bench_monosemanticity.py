"""Benchmark the numpy monosemanticity trainer against PyTorch on the CPU, step for step.

Both sides train the same model (Jermyn et al. 2022, the feature decoder):
sparse features ``v`` (equal frequencies ε = 1/64), a fixed embedding ``x = v E``,
``a = ReLU(x W1 + b)``, ``y = a W2ᵀ``, loss ``Σ (y - v)² / B``, LAMB with a cosine
schedule and bias decay. A numpy step is the training loop's own step
(:class:`packing.train._optim.TrainingLoop`: fresh batch, loss and gradient,
divergence check, history, LAMB update, bias decay). The PyTorch peer is plain
PyTorch as the paper's code writes the model (``nn.Sequential(Linear(m, k),
ReLU(), Linear(k, N, bias=False))`` per instance, here batched with ``bmm``),
autograd, and LAMB written out in PyTorch (``torch_optimizer`` is not a
dependency; the arithmetic is that of :class:`packing.train._optim.Optimizer`,
checked against the textbook algorithm in the tests).

One thread each (``n_threads=1``, ``torch.set_num_threads(1)``), rounds
interleaved (numpy, torch, numpy, ...) so that load from other processes hits
both alike; medians of wall time and of thread CPU time per step (the CPU ratio
is the one to trust on a loaded machine; the load average is printed). Two
sizes: ``small`` (N = 16, m = 4, k = 64, 8 instances, batch 1024: the findings
script's size) and ``paper`` (N = 512, m = 64, k = 1024, one instance, batch
1024; the paper used batch 8192), each in two states of the biases:

* ``init -1``: the paper's negative initialization (``b ~ -1 + U(±1/√m)``). At
  the paper size no neuron fires on any input: the numpy kernel then skips the
  matrix products of silent neurons (exactly zero contributions), PyTorch
  computes them all. With bias decay 0.03 at lr 0.01 the biases take thousands
  of steps to rise far enough, so training does spend its first steps here.
* ``init 0``: zero initialization, about half the neurons active on each input:
  every product is dense on both sides.

A third size, ``few`` (N = 512, m = 64, k = 128: fewer neurons than features),
is where the numpy kernel takes its read-out's Gram route (``A M - t W2`` with
``M = W2ᵀ W2``, never forming the output ``W2 A``; see
:func:`packing.train._mono_kernel.gram_pays`): at ``k = 2N`` (paper) and
``k = 4N`` (small) that route needs more flops than the dense products, so
there both sides run the same three ``B N k`` products and the ratio is that of
the BLAS libraries plus numpy's other work. Each line names the route taken.

Target (issue 14): numpy at most 0.5x PyTorch's time per step. Last, where the
numpy time goes (one thread, CPU time by phase).

Besides these fixed states, ``--run STEPS`` times what a user sees: whole training
runs of ``STEPS`` steps from each initialization (the schedule and the bias decay
span the run), numpy and torch interleaved ``--chunk`` steps at a time, with the
numpy model's share of active neuron-inputs along the way.

Usage: ``python scripts/bench_monosemanticity.py [--rounds 5] [--seconds 0.5] [--quick]
[--sizes small,paper,few] [--run STEPS [--run-sizes paper,small] [--chunk 50] [--no-fixed]]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

from packing.train._benchmark import LoopBench, breakdown, measure
from packing.train._data import Sampler
from packing.train._mono_kernel import _MonoKernel
from packing.train._optim import Optimizer, TrainingLoop
from packing.train.monosemanticity import _DecayingBias, random_embedding

CONFIGS = {  # N, m, k, instances, batch
    "small": (16, 4, 64, 8, 1024),
    "paper": (512, 64, 1024, 1, 1024),
    "few": (512, 64, 128, 1, 1024),  # the paper's features, k = N/4 neurons: the Gram route
}
QUICK = {"small": (16, 4, 64, 2, 128), "paper": (64, 16, 128, 1, 128), "few": (64, 16, 16, 1, 128)}
TARGET = 0.5
MAX_STEPS = 100_000
LR, DECAY = 0.01, 0.03
DENSITY = 1.0 / 64.0
#: The states of the biases: the paper's negative initialization, then zero.
STATES = {"init -1": -1.0, "init 0": 0.0}


class NumpyTrainer(LoopBench):
    """The numpy trainer's kernel, LAMB and loop on one configuration, one thread."""

    rest = "optimizer, bias decay and loop"

    def __init__(self, N, m, k, n_inst, batch, init_bias, seed=0, steps=MAX_STEPS, gram=None, zero_rows=None):
        self.max_steps = steps  # the schedule's length (the cosine and the bias decay's first half)
        rng = np.random.default_rng(seed)
        density = np.full((n_inst, N), DENSITY)
        sampler = Sampler(density, np.dtype(np.float32), rng)
        E = random_embedding(rng, n_inst, N, m)
        kern = _MonoKernel(
            n_inst, N, m, k, batch, np.dtype(np.float32), embedding=E, noise=np.zeros(n_inst),
            noise_on="input", l1=np.zeros(n_inst), task="decoder", gelu=False, sampler=sampler, threads=1,
            gram=gram, zero_rows=zero_rows,
        )  # fmt: skip
        s1, s2 = 1 / np.sqrt(m), 1 / np.sqrt(k)
        kern.W1[...] = rng.uniform(-s1, s1, (n_inst, m, k))
        kern.b[...] = rng.uniform(-s1, s1, (n_inst, k)) + init_bias
        kern.W2[...] = rng.uniform(-s2, s2, (n_inst, N, k))
        opt = Optimizer(
            kern.params, kind="lamb", lr=LR, schedule="cosine", steps=steps, weight_decay=0.0,
            betas=(0.9, 0.999), eps=1e-6, momentum=0.0, tensors=(n_inst, kern.tensors),
        )  # fmt: skip
        opt = _DecayingBias(opt, kern.b, np.full(n_inst, DECAY), LR, steps)
        self.kern = kern
        self.loop = TrainingLoop(
            kern.params, kern.grad, lambda t: kern.loss_and_grad(self.tick), opt, steps, n_inst
        )

    def active_fraction(self) -> float:
        """Fraction of (neuron, input) pairs with a positive pre-activation on a fresh batch."""
        k = self.kern
        v = k.sampler
        x = np.zeros((k.n_inst, 256, k.N), np.float32)
        v.fill(x, 0, np.empty(x.shape, bool), np.random.default_rng(1))
        z = x @ k.E @ k.W1 + k.b[:, None, :]
        return float((z > 0).mean())


def torch_trainer(torch, N, m, k, n_inst, batch, init_bias, seed=0, steps=MAX_STEPS):
    """Plain PyTorch: the same model, batched over instances with bmm, autograd, LAMB written out."""
    g = torch.Generator().manual_seed(seed)
    E = torch.linalg.qr(torch.randn(n_inst, N, m, generator=g))[0]
    E = E / E.norm(dim=2, keepdim=True)
    s1, s2 = 1 / np.sqrt(m), 1 / np.sqrt(k)
    W1 = torch.nn.Parameter((torch.rand(n_inst, m, k, generator=g) * 2 - 1) * s1)
    b = torch.nn.Parameter((torch.rand(n_inst, 1, k, generator=g) * 2 - 1) * s1 + init_bias)
    W2 = torch.nn.Parameter((torch.rand(n_inst, k, N, generator=g) * 2 - 1) * s2)
    params = [W1, b, W2]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    t = [0]

    def step():
        feat = torch.rand((n_inst, batch, N), generator=g)
        keep = torch.rand((n_inst, batch, N), generator=g) < DENSITY
        v = torch.where(keep, feat, torch.zeros(()))
        a = torch.relu(torch.baddbmm(b, torch.bmm(v, E), W1))
        loss = ((torch.bmm(a, W2) - v) ** 2).sum() / batch
        for p in params:
            p.grad = None
        loss.backward()
        lr = LR * 0.5 * (1 + np.cos(np.pi * t[0] / steps))
        with torch.no_grad():
            for p, (mom, var) in zip(params, state, strict=True):
                mom.mul_(0.9).add_(p.grad, alpha=0.1)
                var.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                u = mom / (var.sqrt() + 1e-6)
                dims = tuple(range(1, p.dim()))
                pn = p.norm(dim=dims, keepdim=True).clamp(max=10.0)
                un = u.norm(dim=dims, keepdim=True)
                trust = torch.where((pn > 0) & (un > 0), pn / un, torch.ones_like(pn))
                p.sub_(lr * trust * u)
            if t[0] < steps / 2:
                b.mul_(1 - DECAY * LR)
        t[0] = (t[0] + 1) % steps
        return float(loss.detach())

    def run(n_steps):
        for _ in range(n_steps):
            step()

    return run


def whole_run(torch, shape, init, steps, chunk) -> dict:
    """Train numpy and torch through a whole run of ``steps`` steps, interleaved ``chunk`` steps at a time.

    The learning-rate cosine and the bias decay's first half span the run, so the
    state (and with it the share of active neurons, which the numpy kernel's skipping
    of silent neurons depends on) moves as a user's training run does. Returns the
    mean wall and thread CPU seconds per step of each side over the whole run, and
    the numpy model's fraction of active neuron-inputs at the start of each chunk.
    """
    npt = NumpyTrainer(*shape, init, steps=steps)
    runs = {"numpy": npt.run}
    if torch is not None:
        runs["torch"] = torch_trainer(torch, *shape, init, steps=steps)
    wall, cpu, active, done = defaultdict(float), defaultdict(float), [], 0
    while done < steps:
        n = min(chunk, steps - done)
        active.append(npt.active_fraction())
        for key, run in runs.items():
            t, tc = time.perf_counter(), time.thread_time()
            run(n)
            wall[key] += time.perf_counter() - t
            cpu[key] += time.thread_time() - tc
        done += n
    row = {f"{key}_ms": 1e3 * wall[key] / steps for key in runs}
    row.update({f"{key}_cpu_ms": 1e3 * cpu[key] / steps for key in runs}, active=active)
    if torch is not None:
        row.update(ratio=wall["numpy"] / wall["torch"], cpu_ratio=cpu["numpy"] / cpu["torch"])
    return row


def report_run(name, shape, state, steps, row) -> None:
    """Print one :func:`whole_run` result."""
    N, m, k, n_inst, batch = shape
    act = row["active"]
    line = f"{name:6} N={N} m={m} k={k} instances={n_inst} batch={batch}, {state}, "
    line += f"whole run of {steps} steps "
    line += f"(active {100 * act[0]:.0f}% -> {100 * act[len(act) // 2]:.0f}% -> {100 * act[-1]:.0f}%): "
    line += f"numpy {row['numpy_cpu_ms']:.2f} ms CPU/step"
    if "torch_ms" in row:
        line += f", torch {row['torch_cpu_ms']:.2f}; ratio {row['cpu_ratio']:.3f} (CPU), "
        line += f"{row['ratio']:.3f} (wall)"
    print(line, flush=True)


def main(argv=None) -> dict:
    """Run the benchmark; print and return ``{(config, state): {numpy_ms, torch_ms, ratio, ...}}``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one short round")
    ap.add_argument("--run", type=int, default=0, metavar="STEPS", help="also time whole runs of STEPS steps")
    ap.add_argument("--run-sizes", default="paper", help="comma-separated sizes of the whole runs")
    ap.add_argument("--chunk", type=int, default=50, help="steps per interleaved chunk of a whole run")
    ap.add_argument("--sizes", default="small,paper,few", help="comma-separated sizes of the fixed states")
    ap.add_argument("--no-fixed", action="store_true", help="skip the fixed-state measurements")
    ap.add_argument(
        "--route", choices=("auto", "dense", "gram"), default="auto",
        help="the numpy read-out's route (auto: the kernel's cost model chooses per size)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    configs, rounds, seconds = (QUICK, 1, 0.02) if args.quick else (CONFIGS, args.rounds, args.seconds)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("torch is not installed (pip install -e .[bench]): numpy times only")
    results = {}
    load = os.getloadavg()
    for name in args.sizes.split(",") if not args.no_fixed else ():
        shape = configs[name]
        for state, init in STATES.items():
            gram = {"auto": None, "dense": False, "gram": True}[args.route]
            npt = NumpyTrainer(*shape, init, gram=gram)
            contenders = {"numpy": npt.run}
            if torch is not None:
                contenders["torch"] = torch_trainer(torch, *shape, init)
            batch = shape[4]
            drops = npt.kern._drops_zero_rows(0, npt.kern.n_inst, batch)
            if drops:  # the same kernel computing every row, interleaved in the same rounds
                contenders["every row"] = NumpyTrainer(*shape, init, gram=gram, zero_rows=False).run
            active = npt.active_fraction()
            wall, cpu = measure(contenders, rounds, seconds)
            row = {
                "numpy_ms": 1e3 * wall["numpy"],
                "active": active,
                "profile": npt.profile(max(1, int(seconds / wall["numpy"]))),
            }
            if torch is not None:
                row.update(
                    torch_ms=1e3 * wall["torch"],
                    ratio=wall["numpy"] / wall["torch"],
                    cpu_ratio=cpu["numpy"] / cpu["torch"],
                )
            results[(name, state)] = row
            N, m, k, n_inst, batch = shape
            line = f"{name:6} N={N} m={m} k={k} instances={n_inst} batch={batch}, {state} "
            route = "Gram" if npt.kern.gram else "dense"
            line += f"({100 * active:.0f}% of neuron-inputs active, {route} route): "
            line += f"numpy {row['numpy_ms']:.2f} ms/step"
            if torch is not None:
                verdict = "yes" if row["cpu_ratio"] <= TARGET else "NO"
                line += (
                    f", torch {row['torch_ms']:.2f} ms/step; ratio {row['ratio']:.3f} (wall), "
                    f"{row['cpu_ratio']:.3f} (CPU) <= {TARGET}: {verdict}"
                )
            print(line)
            if drops:
                row["every_row_ms"] = 1e3 * wall["every row"]
                zero = 100 * float(npt.kern.zero.mean())
                line = f"       (all-zero rows, {zero:.0f}% expected, left out of the products; "
                line += f"with every row computed: numpy {row['every_row_ms']:.2f} ms/step"
                if torch is not None:
                    row["every_row_cpu_ratio"] = cpu["every row"] / cpu["torch"]
                    line += f", ratio {row['every_row_cpu_ratio']:.3f} (CPU)"
                print(line + ")")
            total = sum(row["profile"].values())
            print(f"       numpy time (one thread, {1e3 * total:.2f} ms CPU per step): ", end="")
            print(breakdown(row["profile"]))
    run_steps, chunk = (4, 2) if args.quick else (args.run, args.chunk)
    for name in args.run_sizes.split(",") if run_steps else ():
        for state, init in STATES.items():
            row = whole_run(torch, configs[name], init, run_steps, chunk)
            results[(name, state, "run")] = row
            report_run(name, configs[name], state, run_steps, row)
    after = os.getloadavg()
    print(f"load average (1 min) before {load[0]:.2f}, after {after[0]:.2f}; medians of {rounds} rounds")
    return results


if __name__ == "__main__":
    main()
