"""Benchmark packing.sweep: all local cores against one, a cell's fixed costs, the Dask path, cache hits.

All numbers come from one invocation, so that load from other processes hits
each measurement alike:

* **speedup at three cell sizes**: sweeps of ``--cells`` ReLU toy-model
  trainings (10 features in 4 dims, sparsities x 4 seeds) at ``--steps``
  training steps per cell (default 300, 1000 and 4000: about 0.05 s, 0.17 s and
  0.6 s of work per cell on an idle core), each with ``n_jobs=1`` (in this
  process, one after another) and with ``n_jobs`` = every core (joblib
  processes), each into a fresh cache. The parallel time is reported cold (the
  workers started for this sweep: start-up and imports included) and warm
  (workers already running, as for every later sweep of a session), with the
  cells chunked (the default: chunks sized from the first cells' times) and one
  cell per worker call (``chunk_size=1``). Each of ``--rounds`` rounds runs every
  kind once (a cold run right after the workers were shut down), in alternating
  order, so that load from other processes hits all alike; medians are taken,
  and each round's own ratios are printed too. Target (issue 13): parallel /
  sequential <= 0.6 on 2 cores.
* **import**: CPU seconds of ``import packing`` in a fresh interpreter, the
  main part of a cold worker's start-up (with and without ``.pyc`` files).
* **CPU**: the CPU seconds of this process and its workers in each sweep
  (psutil), and ``parallel CPU / (cores x sequential CPU)``: the ratio the
  cores would give if CPU were all the time (no waiting, no imbalance). On a
  machine shared with other jobs the wall ratios say little (each job gets its
  share of the cores); the CPU figures do not depend on the load.
* **per-cell overhead breakdown**: what the engine adds to a cell, each part
  measured on its own in this process (the engine around the task call, the
  result file's bytes, the atomic write with and without the folder's fsync,
  the cache check) and from sweeps of do-nothing cells (one worker call per cell
  against chunks: the call's round trip; a cold sweep against a warm one: the
  workers' start-up).
* **Dask overhead per cell**: ``--trivial`` cells of a task that does nothing,
  on a ``LocalCluster`` of 2 worker processes on loopback: wall time per cell.
  Target: under 50 ms.
* **cache hit per cell**: the same sweeps again, every cell read back from the
  cache. Target: under 5 ms.

``python scripts/bench_sweep.py [--cells 40] [--steps 300 1000 4000] [--trivial 200] [--rounds 3] [--quick]``
(needs the 2 cores to itself for the parallel ratios: report ``uptime``).
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


def _children_cpu() -> dict[int, float]:
    """CPU seconds so far of each live child process (the joblib workers), by process id."""
    import psutil

    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        out[child.pid] = t.user + t.system
    return out


def _timed(fn, *args, **kwargs):
    """Return ``(wall seconds, result)``.

    The CPU seconds of this process land in ``_CPU["last"]``, those of this
    process and its worker processes together in ``_CPU["all"]``: CPU time is
    what the engine costs whatever else runs on the machine, wall time is not.
    """
    before = _children_cpu()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    _CPU["last"] = time.process_time() - cpu
    after = _children_cpu()
    _CPU["all"] = _CPU["last"] + sum(t - before.get(pid, 0.0) for pid, t in after.items())
    return time.perf_counter() - start, out


def _stop_workers() -> None:
    """Shut the sweep's worker processes down, so that the next parallel sweep starts them (cold)."""
    try:
        from packing.sweep._engine import stop_workers
    except ImportError:  # an older packing (before its own executor), measured for comparison
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    else:
        stop_workers()


def _listed(values, fmt: str = ".2f") -> str:
    return "/".join(format(v, fmt) for v in values)


def import_cost(repeat: int) -> dict:
    """Median CPU and wall seconds of ``import packing`` in a fresh interpreter (what each worker pays).

    Two ways: as this process's environment has it, and with a bytecode cache
    in a temporary folder (``PYTHONPYCACHEPREFIX``), as an installed package has
    its ``.pyc`` files; with ``PYTHONDONTWRITEBYTECODE=1`` and no cache every
    process compiles the package's sources.
    """
    import resource
    import subprocess
    import sys

    def run(env) -> tuple[float, float]:
        cpu, wall = [], []
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import packing"], env=env, check=True)
            wall.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return float(np.median(cpu)), float(np.median(wall))

    root = str(Path(packing.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    out = {}
    out["as_is_cpu_s"], out["as_is_wall_s"] = run(env)
    with tempfile.TemporaryDirectory() as cache:
        cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run([sys.executable, "-c", "import packing"], env=cached, check=True)  # fills the cache
        out["bytecode_cached_cpu_s"], out["bytecode_cached_wall_s"] = run(cached)
    out["dont_write_bytecode"] = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    return out


def _per_call(fn, repeat: int) -> float:
    """Median seconds of ``fn()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def breakdown(tmp: Path, grid: dict, steps: int, repeat: int) -> dict:
    """Seconds per cell of each part of the engine's own work, measured here one by one."""
    from packing._results import result_bytes
    from packing.sweep._cache import cell_key, read_cell, sync_cells, write_cell
    from packing.sweep._engine import _run_cell
    from packing.sweep._tasks import get_task

    toy, noop = get_task("train_toy_model"), get_task("bench-nothing")
    cfg = {k: v[0] for k, v in grid.items()} | {"steps": steps}
    params, _ = toy.parameters()
    full = {k: p.default for k, p in params.items() if p.default is not p.empty} | cfg
    key = cell_key(toy.name, full, 0)
    cell = _run_cell(toy, full, 0, key)
    data = result_bytes(cell)
    folder = tmp / "breakdown"
    folder.mkdir()
    path = folder / f"{key}.npz"
    out = {
        "cell_key": _per_call(lambda: cell_key(toy.name, full, 0), repeat),
        "engine_around_task": _per_call(lambda: _run_cell(noop, {"x": 0}, 0, "k"), repeat)
        - _per_call(lambda: nothing(0, rng=0), repeat),
        "result_bytes": _per_call(lambda: result_bytes(cell), repeat),
        "write_file_fsync": _per_call(lambda: write_cell(path, data, sync_folder=False), repeat),
        "write_file_and_folder_fsync": _per_call(lambda: write_cell(path, data), repeat),
        "folder_fsync": _per_call(lambda: sync_cells(folder), repeat),
        "cache_check": _per_call(lambda: read_cell(path, key), repeat),
        "result_file_bytes": len(data),
    }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40, help="toy-model trainings (default 40)")
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[300, 1000, 4000],
        help="steps per cell (default 300 1000 4000)",
    )
    parser.add_argument("--trivial", type=int, default=200, help="do-nothing cells for the overheads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, medians (default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.cells, args.steps, args.trivial, args.rounds = 4, [50], 10, 1
    cores = available_cpus()
    seeds = 4 if args.cells >= 8 else 1
    sparsities = [float(s) for s in np.round(np.linspace(0.0, 0.95, max(1, args.cells // seeds)), 4)]
    grid = {"n_features": [10], "d": [4], "sparsity": sparsities, "batch_size": [256]}
    cells = len(sparsities) * seeds
    packing.register_task("bench-nothing", nothing, replace=True)
    out: dict = {"cores": cores, "cells": cells, "sizes": {}}
    load = os.getloadavg()[0]
    out["load_average"] = load
    print(f"{cells} toy-model cells per sweep, {cores} cores, load average {load:.1f}")
    imp = out["import_packing"] = import_cost(3 if args.quick else 7)
    print(
        f"import packing in a fresh interpreter (each worker pays it): {imp['as_is_cpu_s']:.2f} s CPU "
        f"({imp['as_is_wall_s']:.2f} s wall) as this environment has it"
        + (" (PYTHONDONTWRITEBYTECODE: sources compiled each time)" if imp["dont_write_bytecode"] else "")
        + f"; {imp['bytecode_cached_cpu_s']:.2f} s CPU with .pyc files"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        count = iter(range(10**6))

        def toy(steps, n_jobs, **kw):
            return _timed(
                packing.sweep,
                "train_toy_model",
                {**grid, "steps": [steps]},
                seeds=seeds,
                cache_dir=tmp / f"toy{next(count)}",
                n_jobs=n_jobs,
                progress=False,
                **kw,
            )

        packing.sweep("bench-nothing", {"x": [0]}, cache_dir=tmp / "warm-up", n_jobs=1, progress=False)
        print(
            f"{'steps':>6} {'s/cell':>7} {'n_jobs=1':>9} {'cold':>6} {'warm':>6} {'warm, 1 cell/call':>18}"
            "   (wall ratios: parallel / n_jobs=1; target <= 0.6)"
        )
        cpu_rows = []
        for steps in args.steps:
            walls = {"seq": [], "cold": [], "warm": [], "single": []}
            cpus = {k: [] for k in walls}
            ratios = {k: [] for k in ("cold", "warm", "single")}
            runs = {  # one round: every kind once, cold right after the workers were stopped
                "seq": dict(n_jobs=1),
                "cold": dict(n_jobs=cores),
                "warm": dict(n_jobs=cores),
                "single": dict(n_jobs=cores, chunk_size=1),
            }
            for r in range(args.rounds):  # interleaved, so that load from other processes hits all alike
                order = ["seq", "cold", "warm", "single"] if r % 2 == 0 else ["cold", "warm", "single", "seq"]
                for kind in order:
                    if kind == "cold":
                        _stop_workers()
                    t, table = toy(steps, **runs[kind])
                    walls[kind].append(t)
                    cpus[kind].append(_CPU["all"])
                    if kind == "seq":
                        seq = table
                    elif kind == "cold":
                        cold = table
                for kind in ratios:  # the round's own ratio: its parallel run over its n_jobs=1 run
                    ratios[kind].append(walls[kind][-1] / walls["seq"][-1])
            t_seq, t_cold, t_warm, t_single = (float(np.median(walls[k])) for k in walls)
            cpu = {k: float(np.median(v)) for k, v in cpus.items()}
            cpu_rows.append((steps, cpu))
            cols = ["eval_loss", "final_loss", "dims_per_feature", "key"]
            same = seq[cols].equals(cold[cols])
            per_cell = float(seq["cell_seconds"].mean())
            out["sizes"][steps] = dict(
                cell_seconds=per_cell,
                sequential_s=t_seq,
                parallel_cold_s=t_cold,
                parallel_warm_s=t_warm,
                parallel_warm_one_cell_per_call_s=t_single,
                ratio_cold=t_cold / t_seq,
                ratio_warm=t_warm / t_seq,
                ratio_warm_one_cell_per_call=t_single / t_seq,
                round_ratios={k: [float(x) for x in v] for k, v in ratios.items()},
                identical=bool(same),
                cpu_s=cpu,
                cpu_bound_ratio_cold=cpu["cold"] / (cores * cpu["seq"]),
                cpu_bound_ratio_warm=cpu["warm"] / (cores * cpu["seq"]),
                cpu_bound_ratio_warm_one_cell_per_call=cpu["single"] / (cores * cpu["seq"]),
            )
            print(
                f"{steps:6d} {per_cell:7.3f} {t_seq:8.2f}s {t_cold / t_seq:6.2f} {t_warm / t_seq:6.2f} "
                f"{t_single / t_seq:18.2f}   identical tables: {same}; per round: cold "
                f"{_listed(ratios['cold'])}, warm {_listed(ratios['warm'])}, 1 cell/call "
                f"{_listed(ratios['single'])}; n_jobs=1 s {_listed(walls['seq'], '.1f')}"
            )
        print(
            f"CPU seconds of this process and its workers; in brackets the ratio {cores} cores would give if "
            f"CPU were all the time, parallel / ({cores} x n_jobs=1): load-independent, blind to waits"
        )
        for steps, cpu in cpu_rows:
            print(
                f"{steps:6d} n_jobs=1 {cpu['seq']:6.2f} s CPU; parallel cold {cpu['cold']:6.2f} s "
                f"({cpu['cold'] / (cores * cpu['seq']):.2f}), warm {cpu['warm']:6.2f} s "
                f"({cpu['warm'] / (cores * cpu['seq']):.2f}), 1 cell/call {cpu['single']:6.2f} s "
                f"({cpu['single'] / (cores * cpu['seq']):.2f})"
            )
        t_hit, hit = toy(args.steps[0], 1)
        assert set(hit["status"]) == {"computed"}
        t_hit, hit = _timed(
            packing.sweep,
            "train_toy_model",
            {**grid, "steps": [args.steps[0]]},
            seeds=seeds,
            cache_dir=hit.attrs["cache_dir"],
            n_jobs=1,
            progress=False,
        )
        assert set(hit["status"]) == {"cached"}
        out["toy_cache_hit_ms"] = 1e3 * t_hit / cells

        # ------------------------------------------------------------ where a cell's fixed cost goes
        parts = breakdown(tmp, grid, args.steps[0], 5 if args.quick else 30)
        n = args.trivial * seeds

        def trivial(folder, **where):
            return _timed(
                packing.sweep,
                "bench-nothing",
                {"x": list(range(args.trivial))},
                seeds=seeds,
                cache_dir=tmp / folder,
                progress=False,
                **where,
            )

        _stop_workers()
        t_tcold, _ = trivial("t-cold", n_jobs=cores)
        t_tchunk, _ = trivial("t-chunk", n_jobs=cores)
        t_tone, _ = trivial("t-one", n_jobs=cores, chunk_size=1)
        t_local, _ = trivial("t-local", n_jobs=1)
        c_local = _CPU["last"]
        t_thit, _ = trivial("t-local", n_jobs=1)
        c_thit = _CPU["last"]
        parts.update(
            worker_call_round_trip=(t_tone - t_tchunk) * cores / n,
            worker_start_up=t_tcold - t_tchunk,
            serial_engine_per_cell=t_local / n,
        )
        out["breakdown_s"] = parts
        print(f"\nper-cell overhead breakdown ({args.steps[0]}-step toy cell, do-nothing cells; ms):")
        rows = [
            ("cell key (SHA-256 of the canonical config)", parts["cell_key"], "parent"),
            ("engine around the task call (BLAS limit, summary)", parts["engine_around_task"], "worker"),
            (f"result file bytes ({parts['result_file_bytes']:,} B npz)", parts["result_bytes"], "worker"),
            ("atomic write, file fsync only (now)", parts["write_file_fsync"], "writer thread"),
            (
                "atomic write, file + folder fsync (before)",
                parts["write_file_and_folder_fsync"],
                "(before: parent)",
            ),
            ("folder fsync (now once per chunk)", parts["folder_fsync"], "writer, per chunk"),
            ("cache check of a cell (zip, CRC, header)", parts["cache_check"], "parent (before: per cell)"),
            ("worker call round trip (1 cell/call - chunks)", parts["worker_call_round_trip"], "per call"),
            ("all of it, do-nothing cells one after another", parts["serial_engine_per_cell"], "n_jobs=1"),
        ]
        for label, seconds, where in rows:
            print(f"  {label:52s} {1e3 * seconds:8.2f}   {where}")
        print(
            f"  worker start-up (cold - warm sweep of {n} do-nothing cells): {parts['worker_start_up']:.2f} s"
        )

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
        out.update(
            trivial_cells=n,
            local_ms_per_cell=1e3 * t_local / n,
            dask_ms_per_cell=1e3 * t_dask / n,
            trivial_cache_hit_ms=1e3 * t_thit / n,
            local_cpu_ms_per_cell=1e3 * c_local / n,
            dask_client_cpu_ms_per_cell=1e3 * c_dask / n,
            trivial_cache_hit_cpu_ms=1e3 * c_thit / n,
        )
        print(f"\n{n} do-nothing cells")
        kind = "processes" if processes else "threads"
        print(f"{'':28}wall ms/cell   CPU ms/cell (this process: load-independent)")
        print(f"  local, one after another  {1e3 * t_local / n:9.2f}   {1e3 * c_local / n:9.2f}")
        print(
            f"  Dask LocalCluster, 2 {kind[:5]} {1e3 * t_dask / n:9.2f}   {1e3 * c_dask / n:9.2f}  "
            "(target < 50 wall)"
        )
        print(f"  cache hit                 {1e3 * t_thit / n:9.2f}   {1e3 * c_thit / n:9.2f}  (target < 5)")
        print(f"  cache hit, toy cells      {out['toy_cache_hit_ms']:9.2f}")
    out["load_average_end"] = os.getloadavg()[0]
    print(f"load average at the end {out['load_average_end']:.1f} (parallel ratios need idle cores)")
    return out


if __name__ == "__main__":
    os.environ.setdefault("PACKING_PROGRESS", "0")
    main()
