"""Benchmark packing.sweep: local cores against one after another, the Dask path's overhead, cache hits.

All numbers come from one invocation, so that load from other processes hits
each measurement alike:

* **speedup**: a sweep of ``--cells`` small ReLU toy-model trainings (10
  features in 4 dims, sparsities x seeds) with ``n_jobs=1`` (in this process,
  one after another) and with ``n_jobs`` = every core (joblib processes), each
  into a fresh cache. The parallel time is reported cold (the first parallel
  sweep of the process, worker start-up included) and warm (workers already
  running, as for every later sweep of a session). Target (issue 13): parallel
  / sequential <= 0.6 on 2 cores.
* **Dask overhead per cell**: ``--trivial`` cells of a task that does nothing,
  on a ``LocalCluster`` of 2 worker processes on loopback: wall time per cell,
  i.e. scheduling, transfer of the cell's file bytes and the atomic write to the
  cache. Target: under 50 ms.
* **cache hit per cell**: the same sweeps again, every cell read back from the
  cache (checksums verified). Target: under 5 ms.

``python scripts/bench_sweep.py [--cells 40] [--steps 1500] [--trivial 200] [--quick]``
(run it niced, ``OMP_NUM_THREADS=1``, on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import packing
from packing.train._parallel import available_cpus


def nothing(x, rng=None):
    """Do nothing: a task: its cells measure the engine's own cost."""
    return {"x": x}


_CPU = {}


def _timed(fn, *args, **kwargs):
    """Return ``(wall seconds, result)``; the CPU seconds of this process land in ``_CPU["last"]``."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    _CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - start, out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40, help="toy-model trainings (default 40)")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per cell (default 1500)")
    parser.add_argument("--trivial", type=int, default=200, help="do-nothing cells for the overheads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, medians (default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.cells, args.steps, args.trivial, args.rounds = 4, 50, 10, 1
    cores = available_cpus()
    seeds = 4 if args.cells >= 8 else 1
    sparsities = [float(s) for s in np.round(np.linspace(0.0, 0.95, max(1, args.cells // seeds)), 4)]
    grid = {
        "n_features": [10],
        "d": [4],
        "sparsity": sparsities,
        "steps": [args.steps],
        "batch_size": [256],
    }
    cells = len(sparsities) * seeds
    packing.register_task("bench-nothing", nothing, replace=True)
    out: dict = {"cores": cores, "cells": cells, "steps": args.steps}
    load = os.getloadavg()[0]
    out["load_average"] = load
    print(f"{cells} toy-model cells ({args.steps} steps each), {cores} cores, load average {load:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def toy(folder, n_jobs):
            return _timed(
                packing.sweep,
                "train_toy_model",
                grid,
                seeds=seeds,
                cache_dir=tmp / folder,
                n_jobs=n_jobs,
                progress=False,
            )

        def trivial(folder, **where):
            cells = {"x": list(range(args.trivial))}
            return _timed(
                packing.sweep,
                "bench-nothing",
                cells,
                seeds=seeds,
                cache_dir=tmp / folder,
                progress=False,
                **where,
            )

        packing.sweep("bench-nothing", {"x": [0]}, cache_dir=tmp / "warm-up", n_jobs=1, progress=False)
        t_seq, seq = toy("seq", 1)
        t_cold, par = toy("cold", cores)
        warm, seqs = [t_cold], [t_seq]
        for r in range(1, args.rounds):  # interleaved, so that load from other processes hits both alike
            seqs.append(toy(f"seq{r}", 1)[0])
            warm.append(toy(f"warm{r}", cores)[0])
        t_seq = float(np.median(seqs))
        t_warm = float(np.median(warm[1:])) if len(warm) > 1 else t_cold
        same = seq["eval_loss"].equals(par["eval_loss"])
        t_hit, hit = toy("seq", 1)
        c_hit = _CPU["last"]
        assert set(hit["status"]) == {"cached"}
        out.update(
            sequential_s=t_seq,
            parallel_cold_s=t_cold,
            parallel_warm_s=t_warm,
            ratio_cold=t_cold / t_seq,
            ratio_warm=t_warm / t_seq,
            identical=bool(same),
            toy_cache_hit_ms=1e3 * t_hit / cells,
            toy_cache_hit_cpu_ms=1e3 * c_hit / cells,
        )
        print(
            f"  n_jobs=1          {t_seq:8.2f} s   (median of {len(seqs)}: "
            f"{', '.join(f'{t:.1f}' for t in seqs)})"
        )
        print(f"  n_jobs={cores} (cold)   {t_cold:8.2f} s   ratio {t_cold / t_seq:.2f}  (target <= 0.6)")
        print(
            f"  n_jobs={cores} (warm)   {t_warm:8.2f} s   ratio {t_warm / t_seq:.2f}  "
            f"(median of {len(warm) - 1}: {', '.join(f'{t:.1f}' for t in warm[1:])})"
        )
        print(
            f"  identical tables: {same}; cache hit {1e3 * t_hit / cells:.2f} ms per toy cell "
            f"({1e3 * c_hit / cells:.2f} ms CPU)"
        )

        t_local, _ = trivial("t-local", n_jobs=1)
        c_local = _CPU["last"]
        t_thit, _ = trivial("t-local", n_jobs=1)
        c_thit = _CPU["last"]
        from distributed import Client, LocalCluster

        processes = not args.quick
        host = {"host": "127.0.0.1"} if processes else {}
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0", **host
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            t_dask, _ = trivial("t-dask", client=client)
            c_dask = _CPU["last"]
        n = args.trivial * seeds
        out.update(
            trivial_cells=n,
            local_ms_per_cell=1e3 * t_local / n,
            dask_ms_per_cell=1e3 * t_dask / n,
            trivial_cache_hit_ms=1e3 * t_thit / n,
            local_cpu_ms_per_cell=1e3 * c_local / n,
            dask_client_cpu_ms_per_cell=1e3 * c_dask / n,
            trivial_cache_hit_cpu_ms=1e3 * c_thit / n,
        )
        print(f"{n} do-nothing cells")
        kind = "processes" if processes else "threads"
        print(f"{'':28}wall ms/cell   CPU ms/cell (this process: load-independent)")
        print(f"  local, one after another  {1e3 * t_local / n:9.2f}   {1e3 * c_local / n:9.2f}")
        print(
            f"  Dask LocalCluster, 2 {kind[:5]} {1e3 * t_dask / n:9.2f}   {1e3 * c_dask / n:9.2f}  "
            "(target < 50 wall)"
        )
        print(
            f"  cache hit                 {1e3 * t_thit / n:9.2f}   {1e3 * c_thit / n:9.2f}  (target < 5)"
        )
    out["load_average_end"] = os.getloadavg()[0]
    print(f"load average at the end {out['load_average_end']:.1f} (parallel ratios need idle cores)")
    return out


if __name__ == "__main__":
    os.environ.setdefault("PACKING_PROGRESS", "0")
    main()
