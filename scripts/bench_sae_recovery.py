"""Benchmark recovery of known packings from sparse activations: TopK / L1 SAEs against SVD (issue #15).

Prints five tables (all SAE numbers are the best of the seeds by evaluation loss,
SVD is centred PCA's top-``d`` directions, scored sign-free (|cos|); MCC = mean cosine of the Hungarian
one-to-one matching, "rec" = fraction of true features with a learned cosine
>= 0.9, MMCS = mean max cosine of truth -> learned):

1. geometry: every construction of ``packing.sae._benchmark.geometry_suite`` (ETF,
   tegum products of digons / triangles / pentagons / tetrahedra, overlapping
   orthonormal sets, random, optimizer packings and optimizer + noise), at
   4 active features per sample, with its coherence relative to the Welch bound;
2. density: ETF / tegum digons / overlapping sets / random (30 in 15) against
   the active features per sample;
3. n/d: SAE against SVD for random packings in d = 8 (SVD's ceiling: d/n);
4. toy model: the 200 feature rows of a trained 200-in-20 toy model (sparsity
   0.99) from its hidden activations;
5. penalty: the sparse-coding toy of Sharkey et al. (2022), scaled down to 128
   features in 64 dims (5 active on average, geometric frequencies, decay 0.99),
   L1 SAEs over dictionary size and penalty (``--sharkey-full``: at their size,
   512 features in 256 dims).

Parts 1-3 and 5 run their points as cells of a sweep on every core (``--jobs``),
cached cell by cell in ``--cache-dir`` (default: a temporary folder), the same
cells as the figure ``sae_recovery``: ``--cache-dir figures/.cache`` shares the
figure's cache.

Run it niced: ``OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python
scripts/bench_sae_recovery.py [--quick] [--seed S] [--only geometry,density,ratio,toy,penalty]
[--jobs N] [--cache-dir DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from packing.figures import FigureRun
from packing.sae import _benchmark as bench

PARTS = ("geometry", "density", "ratio", "toy", "penalty")


def _row(label: str, r: dict) -> None:
    welch = r["welch"]
    rel = r["coherence"] / welch if welch > 0 else float("nan")
    print(
        f"  {label:26s} n={int(r['n']):3d} d={int(r['d']):3d} coh={r['coherence']:.3f} coh/welch={rel:6.2f}"
        f" | SAE mcc={r['sae_mcc']:.3f} rec={r['sae_recovered']:.2f} mmcs={r['sae_mmcs']:.3f}"
        f" ev={r['sae_ev']:.3f} dead={int(r['sae_dead'])}"
        f" | SVD mcc={r['svd_mcc']:.3f} rec={r['svd_recovered']:.2f} mmcs={r['svd_mmcs']:.3f}",
        flush=True,
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for the tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    parser.add_argument(
        "--sharkey-full",
        action="store_true",
        help="part 5 at Sharkey et al.'s own size, 512 features in 256 dims (ratios 1, 2; λ 0.1, 0.3)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: every core)")
    parser.add_argument("--cache-dir", default=None, help="folder of the cells' cache (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        return _run(args, parser, FigureRun(tmp, cache_dir=args.cache_dir or tmp))


class _Cells:
    """The benchmark's sweeps on ``run`` with ``--jobs`` workers (one process in quick mode)."""

    def __init__(self, run: FigureRun, jobs, quick: bool):
        self.run, self.jobs = run, 1 if quick else jobs

    def cached(self, compute, /, **params):
        return self.run.cached(compute, **params)

    def sweep(self, task, grid, **kwargs):
        return self.run.sweep(task, grid, **{**kwargs, "n_jobs": self.jobs or kwargs.get("n_jobs")})


def _run(args, parser, figure_run: FigureRun) -> dict:
    parts = [p for p in args.only.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--only must name parts among {', '.join(PARTS)}; got {', '.join(unknown)}")
    q, seed, out = args.quick, args.seed, {}
    run = _Cells(figure_run, args.jobs, q)
    t0 = time.perf_counter()
    if "geometry" in parts:
        print("1. recovery against the geometry of the truth (4 active per sample, latents = 2n)")
        out["geometry"] = bench.geometry_benchmark(quick=q, seed=seed, report=_row, run=run)
    if "density" in parts:
        print("2. recovery against active features per sample")
        out["density"] = bench.density_sweep(
            quick=q, seed=seed, report=lambda f, r: _row(f"{f} a={r['n_active']:g}", r), run=run
        )
    if "ratio" in parts:
        print("3. SAE against SVD as n/d grows (random packings, 2 active per sample)")
        out["ratio"] = bench.ratio_sweep(quick=q, seed=seed, report=_row, run=run)
    if "toy" in parts:
        print("4. the rows of a trained toy model from its hidden activations")
        toy = bench.toy_benchmark(quick=q, seed=seed)
        print(
            f"  toy model {toy['n_features']} in {toy['d']} (sparsity {toy['sparsity']}):"
            f" {toy['represented']} rows with norm > 0.5"
        )
        for key, m in toy.items():
            if isinstance(m, dict):
                print(
                    f"  {key:8s} mcc={m['mcc']:.3f} rec={m['recovered']:.3f} mmcs={m['mmcs']:.3f}"
                    f" ev={m['ev']:.3f} l0={m['l0']:.2f}"
                )
        out["toy"] = toy
    if "penalty" in parts:
        scale = "at their size" if args.sharkey_full else "scaled down"
        print(f"5. Sharkey et al.'s sparse-coding toy ({scale}): L1 SAEs over dictionary size and penalty")

        def show(label, r):
            print(
                f"  {label:18s} mmcs={r['mmcs']:.3f} mcc={r['mcc']:.3f} rec={r['recovered']:.2f}"
                f" ev={r['ev']:.3f} l0={r['l0']:.2f} dead={int(r['dead'])}",
                flush=True,
            )

        size = dict(n=512, d=256, ratios=(1, 2), penalties=(0.1, 0.3)) if args.sharkey_full else {}
        pen = bench.penalty_sweep(quick=q, seed=seed, report=show, run=run, **size)
        print(
            f"  SVD (PCA, d of n)  mmcs={float(pen['svd_mmcs']):.3f} mcc={float(pen['svd_mcc']):.3f}"
            f" rec={float(pen['svd_recovered']):.2f} (ceiling d/n = {int(pen['d']) / int(pen['n']):.2f})"
        )
        out["penalty"] = pen
    print(f"total {time.perf_counter() - t0:.0f} s")
    return out


if __name__ == "__main__":
    main()
