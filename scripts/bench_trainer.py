"""Benchmark the numpy toy-model trainer against PyTorch on the CPU, step for step.

Both sides train the identical ReLU-output model ``x' = ReLU(x W Wᵀ + b)``
with the reference notebook's data (feature probability ``20 ** -linspace(0, 1,
instances)``, one per instance; importance ``0.9 ** i``, floored at 1e-3), its
loss (importance-weighted squared error, mean over batch and features, summed
over instances) and Adam (lr 1e-3, PyTorch defaults). A numpy step is the
training loop's own step (:class:`packing.train._optim.TrainingLoop`): fresh
batch, loss and gradient, divergence check, loss history, Adam update.

PyTorch is written two ways and the faster one is the peer:

* ``einsum``: as the reference notebook writes it (batch-major ``[batch,
  instances, features]``, ``torch.einsum``, autograd, ``torch.optim.Adam``);
* ``bmm``: instance-major batched matrix products (``torch.bmm`` /
  ``torch.baddbmm``), same autograd and optimizer.

Both draw data the notebook's way (two ``torch.rand`` and a ``where``).

Three comparisons per configuration, all measured interleaved in one run
(numpy, torch einsum, torch bmm, reference GEMM, at each thread setting, then
again, ``--rounds`` times; medians reported) so that load from other processes
hits every column alike:

* ``defaults``: each library as a user runs it: numpy with the trainer's
  default layout (every available core), torch with its default thread count;
* ``1 thread`` and ``2 threads``: matched, numpy ``n_threads=T`` and
  ``torch.set_num_threads(T)``.

At two threads the numpy trainer is also timed with the other layout (one
worker, two BLAS threads) for comparison. Where the kernel takes its sparse input
products for some instances (low density, large ``d``: see
:func:`~packing.train._toy_kernel.sparse_inputs_pay`), it is also timed with every
instance dense (``sparse_inputs=False``, the kernel before that route), interleaved
in the same rounds, so the route's gain is measured under the same load. For each setting the numpy trainer's
FLOP rate (``10 I B n d`` flops per step: five GEMM-sized products) is given as
a fraction of the machine's float32 GEMM rate (1024³ ``matmul`` with as many
BLAS threads) measured in the same rounds.
The ``floor`` column is the ratio a kernel would reach if those flops ran at
the reference GEMM rate and nothing else (sampling, elementwise work, the
optimizer) took any time: no kernel built on dense products of these shapes
can go below it, so a target below the floor cannot be met that way. ``+rng``
adds the time to draw the step's random words from SFC64 (one 32-bit word per
batch entry, numpy's fastest source; spread over the workers), which a numpy
sampler drawing a word per entry cannot avoid (the default sampler draws features
below :data:`~packing.train._data.SKIP_DENSITY` by geometric skips, with fewer words:
for it this column is an upper bound of the floor).
With one thread the thread CPU time of both sides is also reported: it does not
count time the process waited for a core, so its ratio is the one to trust on
a loaded machine. Last, where the numpy trainer's time goes (one thread, CPU
time): sampling, matrix products, elementwise work, optimizer and loop; and the
kernel's own floor at one thread (CPU time): the ratio its matrix products alone
give at the GEMM efficiency they reach inside the kernel (these shapes, d = 20 or
100, run below the 1024³ reference rate), then with the random words added. A
matched-thread target below that floor cannot be met by trimming sampling or
elementwise passes; only fewer flops or fewer random bits could.

Targets (issue 18): numpy/torch <= 0.25 at defaults on every configuration
(goal 0.2); <= 0.2 at matched threads on the 200x20 and 1000x100
configurations; the 1000x100 configuration at >= 50% of the GEMM rate.
torch comes from the optional ``bench`` extra (``pip install -e .[bench]``);
without it the torch columns are skipped.
With ``--baseline`` the numpy trainer drawing the stream of packing 0.2 (one random word per
entry for every feature; the default draws features below
:data:`~packing.train._data.SKIP_DENSITY` by geometric skips) is timed too, interleaved.
With ``--kernels both`` the benchmark runs twice, in child processes, alternating ``--repeat``
times: with the environment as given and with ``OPENBLAS_CORETYPE`` removed from it (OpenBLAS then
picks its kernels for the CPU itself; the variable is read once, when numpy loads OpenBLAS, so it
cannot change inside one process). Each child prints its table; the parent then prints every ratio
side by side, so that a target missed under one set of kernels and met under the other shows as such.
Usage: ``python scripts/bench_trainer.py [--rounds 5] [--seconds 0.5] [--only b c] [--quick] [--baseline]
[--kernels both [--repeat 1]] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from threadpoolctl import threadpool_limits

from packing._environment import numpy_blas
from packing.io import atomic_write
from packing.train._benchmark import LoopBench, measure
from packing.train._benchmark import breakdown as phases
from packing.train._data import Sampler
from packing.train._optim import Optimizer, TrainingLoop
from packing.train._parallel import available_cpus
from packing.train._toy_kernel import TOY_CHUNK_ENTRIES, _ToyKernel

CONFIGS = {  # name: (n_features, d, instances, batch)
    "a": (5, 2, 10, 1024),
    "b": (200, 20, 20, 1024),
    "c": (1000, 100, 8, 4096),
}
QUICK = {"a": (5, 2, 10, 256), "b": (40, 8, 4, 256), "c": (100, 100, 2, 256)}  # c: one sparse instance
TARGETS = {"defaults": 0.25, "1 thread": 0.2, "2 threads": 0.2}  # matched targets: configs b and c
GOAL = 0.2
GEMM_TARGET = 0.5  # configuration c's share of the GEMM rate


def ratio_target(name, label):
    """Issue 18's bound on numpy/torch for configuration ``name`` at ``label``, or None where none applies."""
    return TARGETS[label] if label == "defaults" or name in ("b", "c") else None


MAX_STEPS = 100_000  # loss-history rows allocated for a benchmark loop


def problem(n, d, n_inst):
    """Return the reference notebook's feature probabilities (per instance) and importances (per feature)."""
    density = np.repeat((20.0 ** -np.linspace(0, 1, n_inst))[:, None], n, axis=1)
    # 0.9 ** i as the notebook, floored at 1e-3: 0.9 ** 999 = 3e-46 is subnormal in float32 and
    # would slow both libraries' GEMMs about tenfold without changing what is learned.
    importance = np.broadcast_to(np.maximum(0.9 ** np.arange(n), 1e-3), (n_inst, n))
    return density, importance


class NumpyTrainer(LoopBench):
    """The numpy trainer on one configuration with ``threads`` threads (``None``: its default).

    ``density`` replaces the notebook's feature probabilities; ``plan`` goes to the kernel.
    """

    max_steps = MAX_STEPS

    def __init__(self, n, d, n_inst, batch, threads=None, seed=0, blas_threads=None, skip_below=None, **plan):
        rng = np.random.default_rng(seed)
        notebook, importance = problem(n, d, n_inst)
        density = plan.pop("density", None)  # (n_inst, n) feature probabilities instead of the notebook's
        density = notebook if density is None else density
        skips = {} if skip_below is None else {"skip_below": skip_below}  # None: the sampler's default
        sampler = Sampler(density, np.dtype(np.float32), rng, **skips)
        dt, weight = np.dtype(np.float32), importance / n
        self.kern = _ToyKernel(n_inst, n, d, batch, weight, True, dt, sampler, threads, blas_threads, **plan)
        self.kern.W[...] = rng.standard_normal((n_inst, n, d)) * np.sqrt(2.0 / (n + d))
        opt = Optimizer(
            self.kern.params,
            kind="adam",
            lr=1e-3,
            schedule="constant",
            steps=MAX_STEPS,
            weight_decay=0.0,
            betas=(0.9, 0.999),
            eps=1e-8,
            momentum=0.0,
            pool=self.kern.pool,  # as train_toy_model: the update runs on the kernel's workers
        )
        kern = self.kern
        self.threads = kern.layout.blas_threads
        self.loop = TrainingLoop(
            kern.params, kern.grad, lambda t: kern.loss_and_grad(self.tick), opt, MAX_STEPS, n_inst
        )


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


class Words:
    """Draw the random words of one step (one 32-bit word per batch entry) as the sampler does, from SFC64.

    In pieces of a kernel chunk's size, as the kernel draws them: one call for the whole step
    (131 MB on 1000x100) would time the page faults of a fresh allocation, not the generator.
    """

    def __init__(self, entries, piece=TOY_CHUNK_ENTRIES // 2):
        self.bitgen = np.random.SFC64(0)
        words = (entries + 1) // 2
        self.pieces = [piece] * (words // piece) + ([words % piece] if words % piece else [])

    def run(self, n_steps):
        """Draw ``n_steps`` steps' words."""
        for _ in range(n_steps):
            for size in self.pieces:
                self.bitgen.random_raw(size)


class Gemm:
    """The reference float32 GEMM (1024³ ``matmul``) with ``threads`` BLAS threads."""

    def __init__(self, threads, size=1024):
        rng = np.random.default_rng(0)
        self.A = rng.standard_normal((size, size), dtype=np.float32)
        self.B = rng.standard_normal((size, size), dtype=np.float32)
        self.C = np.empty_like(self.A)
        self.threads, self.flops = threads, 2.0 * size**3

    def run(self, n_steps):
        """Multiply ``n_steps`` times."""
        with threadpool_limits(limits=self.threads, user_api="blas"):
            for _ in range(n_steps):
                np.matmul(self.A, self.B, out=self.C)


def bench_config(shape, torch, settings, rounds, seconds, baseline=False):
    """Measure one configuration at every thread setting; return one row per setting.

    With ``baseline`` the trainer drawing the stream of packing 0.2 (one word per entry for
    every feature, ``skip_below=0``) is timed too, interleaved.
    """
    n, d, n_inst, batch = shape
    flops = 10.0 * n_inst * batch * n * d
    contenders, layouts, n_sparse = {}, {}, {}
    for label, (np_threads, torch_threads, gemm_threads) in settings.items():
        trainer = NumpyTrainer(n, d, n_inst, batch, np_threads)
        layouts[label], n_sparse[label] = trainer.kern.layout, int(trainer.kern.sparse.sum())
        contenders[(label, "numpy")] = trainer.run
        if label == "2 threads":  # the other layout, for comparison: one worker, two BLAS threads
            contenders[(label, "numpy_blas")] = NumpyTrainer(n, d, n_inst, batch, 2, 0, 2).run
        if baseline:  # the same trainer drawing one word per entry for every feature (the old stream)
            words = NumpyTrainer(n, d, n_inst, batch, np_threads, skip_below=0)
            contenders[(label, "numpy_words")] = words.run
        if trainer.kern.sparse.any():  # the same trainer with every instance's input products dense
            dense = NumpyTrainer(n, d, n_inst, batch, np_threads, sparse_inputs=False)
            contenders[(label, "numpy_dense")] = dense.run
        if torch is not None:
            for variant in ("einsum", "bmm"):
                step = torch_trainer(torch, n, d, n_inst, batch, variant)

                def run(k, step=step, t=torch_threads):
                    torch.set_num_threads(t)
                    for _ in range(k):
                        step()

                contenders[(label, variant)] = run
        contenders[(label, "gemm")] = Gemm(gemm_threads).run
        contenders[(label, "words")] = Words(n_inst * batch * n).run
    wall, cpu = measure(contenders, rounds, seconds)
    rows = {}
    for label in settings:
        t_np = wall[(label, "numpy")]
        gemm_rate = Gemm(1).flops / wall[(label, "gemm")]
        row = {
            "layout": layouts[label],
            "numpy_ms": 1e3 * t_np,
            "gflops": flops / t_np / 1e9,
            "gemm_gflops": gemm_rate / 1e9,
            "fraction_of_gemm": flops / t_np / gemm_rate,
        }
        if (label, "numpy_blas") in wall:
            row["numpy_1w2b_ms"] = 1e3 * wall[(label, "numpy_blas")]
        if (label, "numpy_words") in wall:
            row["numpy_words_ms"] = 1e3 * wall[(label, "numpy_words")]
        if (label, "numpy_dense") in wall:
            row["numpy_dense_ms"] = 1e3 * wall[(label, "numpy_dense")]
            row["sparse_instances"] = n_sparse[label]
        if torch is not None:
            peer = min(("einsum", "bmm"), key=lambda v: wall[(label, v)])
            row.update(
                einsum_ms=1e3 * wall[(label, "einsum")],
                bmm_ms=1e3 * wall[(label, "bmm")],
                peer=peer,
                ratio=t_np / wall[(label, peer)],
                floor=flops / gemm_rate / wall[(label, peer)],
                # ... plus drawing the words, spread over the workers
                floor_words=(flops / gemm_rate + wall[(label, "words")] / layouts[label].workers)
                / wall[(label, peer)],
            )
            if "numpy_dense_ms" in row:
                row["ratio_dense"] = wall[(label, "numpy_dense")] / wall[(label, peer)]
            if "numpy_words_ms" in row:
                row["ratio_words"] = wall[(label, "numpy_words")] / wall[(label, peer)]
            if label == "1 thread":
                cpu_peer = min(cpu[(label, v)] for v in ("einsum", "bmm"))
                row["cpu_ratio"] = cpu[(label, "numpy")] / cpu_peer
                row.update(cpu_numpy=cpu[(label, "numpy")], cpu_peer=cpu_peer)
                row["cpu_words"] = cpu[(label, "words")]
                if "numpy_dense_ms" in row:
                    row["cpu_ratio_dense"] = cpu[(label, "numpy_dense")] / cpu_peer
                if "numpy_words_ms" in row:
                    row["cpu_ratio_words"] = cpu[(label, "numpy_words")] / cpu_peer
        rows[label] = row
    prof = NumpyTrainer(n, d, n_inst, batch, 1, seed=1)
    prof.run(1)
    breakdown = prof.profile(max(2, int(seconds / max(rows["1 thread"]["numpy_ms"] / 1e3, 1e-6))))
    one = rows["1 thread"]
    if "cpu_ratio" in one:
        # The kernel's own floor at one thread: its matrix products at the GEMM efficiency they reach
        # in the kernel (their share of the profile), then plus the step's random words.
        products = one["cpu_numpy"] * breakdown.get("matmul", 0.0) / sum(breakdown.values())
        one["kernel_floor"] = products / one["cpu_peer"]
        one["kernel_floor_words"] = (products + one["cpu_words"]) / one["cpu_peer"]
    return rows, breakdown


def blas_kernels() -> str:
    """Which BLAS numpy calls and which of its kernels run (OpenBLAS picks them per CPU, or as told).

    ``OPENBLAS_CORETYPE`` in the environment overrides OpenBLAS's choice: on a CPU with AVX-512,
    ``Haswell`` (AVX2) kernels run float32 GEMMs at about half the rate of the ``SkylakeX`` ones
    (measured 134 against 247 GFLOP/s on 1024³, one thread, 2026-12-01), while PyTorch's own
    kernels are not affected, so the ratios depend on it.
    """
    blas = numpy_blas()
    if blas is None:
        return "numpy BLAS: not found by threadpoolctl"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    note = f" (OPENBLAS_CORETYPE={forced} set in the environment)" if forced else ""
    return f"numpy BLAS: {blas['library']} {blas['version']}, {blas['kernels'] or 'unknown'} kernels{note}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved measurement rounds")
    parser.add_argument("--seconds", type=float, default=0.5, help="target seconds per measurement")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="run only these configurations")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one round (smoke test)")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time the old sampling stream (one word per entry, skip_below=0), interleaved",
    )
    parser.add_argument(
        "--kernels",
        choices=("env", "both"),
        default="env",
        help="env: numpy's BLAS kernels as the environment sets them (default); both: run twice in child "
        "processes, as set and with OPENBLAS_CORETYPE removed, and compare",
    )
    parser.add_argument("--repeat", type=int, default=1, help="with --kernels both: runs of each, alternated")
    parser.add_argument("--json", metavar="FILE", help="also write the ratios to FILE (JSON)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1; got {args.repeat}")
    if args.kernels == "both":
        return compare_kernels(argv if argv is not None else sys.argv[1:], args.repeat, args.json)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not installed (pip install -e .[bench]); reporting numpy only.")
    cores = available_cpus()
    torch_default = torch.get_num_threads() if torch is not None else None
    settings = {  # label: (numpy n_threads, torch threads, reference GEMM BLAS threads)
        "defaults": (None, torch_default, cores),
        "1 thread": (1, 1, 1),
        "2 threads": (2, 2, 2),
    }
    configs = QUICK if args.quick else CONFIGS
    names = args.only or sorted(configs)
    rounds, seconds = (1, 0.02) if args.quick else (args.rounds, args.seconds)
    load_before = os.getloadavg()
    results = {}
    for name in names:
        results[name] = bench_config(configs[name], torch, settings, rounds, seconds, args.baseline)
    load_after = os.getloadavg()

    print(
        f"cores available {cores} (cpu count {os.cpu_count()}); torch default threads {torch_default}; "
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; medians of {rounds} rounds"
    )
    print(blas_kernels())
    head = f"{'cfg':3} {'setting':9} {'numpy layout':>12} | {'numpy ms':>9} {'GF/s':>6} "
    head += f"{'GEMM GF/s':>9} {'frac':>5}"
    if torch is not None:
        head += f" | {'einsum ms':>9} {'bmm ms':>9} | {'ratio':>5} {'target':>6} {'floor':>5} {'+rng':>5}"
        head += f" {'cpu ratio':>9}"
    print(head)
    for name, (rows, _) in results.items():
        n, d, n_inst, batch = configs[name]
        print(f"{name} = {n}x{d}, {n_inst} instances, batch {batch}")
        for label, row in rows.items():
            lay = row["layout"]
            line = (
                f"{name:3} {label:9} {f'{lay.workers}w x {lay.blas_threads}b':>12} | {row['numpy_ms']:9.3f} "
                f"{row['gflops']:6.1f} {row['gemm_gflops']:9.1f} {100 * row['fraction_of_gemm']:4.0f}%"
            )
            if torch is not None:
                target = ratio_target(name, label)
                verdict = "" if target is None else ("yes" if row["ratio"] <= target else "NO")
                line += f" | {row['einsum_ms']:9.3f} {row['bmm_ms']:9.3f} | {row['ratio']:5.3f} "
                line += f"{verdict + (f' <={target}' if target else ''):>6} {row['floor']:5.3f}"
                line += f" {row['floor_words']:5.3f}"
                if "cpu_ratio" in row:
                    line += f" {row['cpu_ratio']:9.3f}"
            print(line)
            if "numpy_1w2b_ms" in row:
                print(f"{'':14}(numpy with 1 worker x 2 BLAS threads instead: {row['numpy_1w2b_ms']:.3f} ms)")
            if "numpy_words_ms" in row:
                line = f"{'':14}(numpy with the old stream, a word per entry: {row['numpy_words_ms']:.3f} ms"
                if "ratio_words" in row:
                    line += f", ratio {row['ratio_words']:.3f}"
                if "cpu_ratio_words" in row:
                    line += f", cpu ratio {row['cpu_ratio_words']:.3f}"
                print(line + ")")
            if "numpy_dense_ms" in row:
                line = f"{'':14}(numpy with every instance's input products dense, "
                line += f"not {row['sparse_instances']} sparse: {row['numpy_dense_ms']:.3f} ms"
                if "ratio_dense" in row:
                    line += f", ratio {row['ratio_dense']:.3f}"
                if "cpu_ratio_dense" in row:
                    line += f", cpu ratio {row['cpu_ratio_dense']:.3f}"
                print(line + ")")
    for name, (_, breakdown) in results.items():
        total = sum(breakdown.values())
        print(f"numpy time in {name} (one thread, {1e3 * total:.2f} ms CPU per step): {phases(breakdown)}")
    for name, (rows, _) in results.items():
        one = rows["1 thread"]
        if "kernel_floor" in one:
            print(
                f"kernel floor in {name} (one thread, CPU time): its matrix products alone, as fast as they "
                f"run in the kernel, give ratio {one['kernel_floor']:.3f}; with the random words "
                f"{one['kernel_floor_words']:.3f} (the rest of its cpu ratio {one['cpu_ratio']:.3f} is "
                "sampling arithmetic, elementwise work, dispatch and the optimizer)"
            )
    print(f"(goal at defaults: {GOAL}; 1000x100 target: >= {GEMM_TARGET:.0%} of the GEMM rate)")
    if args.json:
        summary = {
            "blas": blas_kernels(),
            "load": [load_before[0], load_after[0]],
            "rows": {
                f"{name} {label}": {k: row[k] for k in RATIO_KEYS if k in row}
                for name, (rows, _) in results.items()
                for label, row in rows.items()
            },
        }
        with atomic_write(args.json, text=True) as fh:
            json.dump(summary, fh, indent=1)
    return results


#: What ``--json`` keeps of a row (and ``--kernels both`` compares).
RATIO_KEYS = ("numpy_ms", "fraction_of_gemm", "ratio", "cpu_ratio", "kernel_floor", "kernel_floor_words")


def _without(argv, option, takes_value):
    """``argv`` with ``option`` (and its value) removed, in both ``--opt v`` and ``--opt=v`` forms."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == option:
            skip = takes_value
            continue
        if a.startswith(option + "="):
            continue
        out.append(a)
    return out


def compare_kernels(argv, repeat, json_path=None) -> dict:
    """Run the benchmark in child processes with and without ``OPENBLAS_CORETYPE``; print both side by side.

    The runs alternate (as set, unset, as set, ...), ``repeat`` of each; each child's own table is
    printed as it ran. Returns ``{kind: [summary per run]}``.
    """
    rest = _without(_without(_without(argv, "--kernels", True), "--repeat", True), "--json", True)
    given = os.environ.get("OPENBLAS_CORETYPE")
    kinds = {
        f"as set (OPENBLAS_CORETYPE={given})" if given else "as set (no OPENBLAS_CORETYPE)": dict(os.environ),
        "OPENBLAS_CORETYPE removed": {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"},
    }
    runs = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeat):
            for j, (kind, env) in enumerate(kinds.items()):
                out = os.path.join(tmp, f"run{r}_{j}.json")
                print(f"=== run {r + 1} of {repeat}, numpy's BLAS {kind} ===", flush=True)
                cmd = [sys.executable, os.path.abspath(__file__), *rest, "--json", out]
                done = subprocess.run(cmd, env=env, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"the benchmark run with BLAS {kind} failed (exit {done.returncode})")
                with open(out) as fh:
                    runs[kind].append(json.load(fh))
    print("=== side by side (each run's value, in run order) ===")
    for kind, summaries in runs.items():
        print(
            f"{kind}: {summaries[0]['blas']}; load averages "
            + ", ".join(f"{s['load'][0]:.1f}-{s['load'][1]:.1f}" for s in summaries)
        )
    keys = list(next(iter(runs.values()))[0]["rows"])
    names = list(kinds)
    print(f"{'cfg setting':14} {'value':16} {'target':7} | " + " | ".join(f"{k[:34]:34}" for k in names))
    for key in keys:
        name, label = key.split(" ", 1)
        for field in ("ratio", "cpu_ratio", "fraction_of_gemm"):
            target = None
            if field in ("ratio", "cpu_ratio") and ratio_target(name, label) is not None:
                target = f"<={ratio_target(name, label)}"
            elif field == "fraction_of_gemm" and name == "c":
                target = f">={GEMM_TARGET}"
            cells = []
            for kind in names:
                vals = [s["rows"].get(key, {}).get(field) for s in runs[kind]]
                cells.append(" / ".join("-" if v is None else f"{v:.3f}" for v in vals))
            if all(set(c.split(" / ")) == {"-"} for c in cells):
                continue
            print(f"{key:14} {field:16} {target or '':7} | " + " | ".join(f"{c:34}" for c in cells))
    if json_path:
        with atomic_write(json_path, text=True) as fh:
            json.dump(runs, fh, indent=1)
    return runs


if __name__ == "__main__":
    main()
