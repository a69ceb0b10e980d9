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
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from packing import random_packing, sparse_activations, train_sae


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
        out[f"{d}x{m}"] = med
    return out


if __name__ == "__main__":
    main()
