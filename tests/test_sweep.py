"""packing.sweep: cell keys, the cache (resume, corrupt and stale cells), local == Dask, faults, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import packing
from packing import cell_key, load_cell, register_task, sweep, sweep_dataset, sweep_tasks
from packing.sweep import SweepError

ROOT = Path(__file__).resolve().parents[1]
TOY = {"n_features": [5], "d": [2], "sparsity": [0.0, 0.7, 0.9], "steps": [150], "batch_size": [128]}
SUMMARY = ["final_loss", "eval_loss", "represented", "dims_per_feature"]


def _tasks():
    return sweep_tasks()


# --------------------------------------------------------------------------- user tasks used below


def threads_task(x, n_threads=None, rng=None):
    """Report what the engine passed and how many BLAS threads the worker allows."""
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return {"x": x, "n_threads": n_threads, "blas_threads": max(blas) if blas else 1, "pid": os.getpid()}


def noisy_task(x, rng=None):
    """Fails on x = 3, else returns a number drawn from rng."""
    if x == 3:
        raise ValueError("x = 3 is refused")
    return {"y": float(np.random.default_rng(rng).normal()) + x}


def det_task(x):
    return {"y": 2 * x, "v": np.arange(3) * x}


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_task("test-threads", threads_task, replace=True)
    register_task("test-noisy", noisy_task, replace=True)
    register_task("test-det", det_task, replace=True)


# --------------------------------------------------------------------------- keys


def _hand_key(task, config_json, seed, version=packing.__version__, task_version=""):
    doc = {
        "config": config_json,
        "packing_version": version,
        "seed": seed,
        "task": task,
        "task_version": task_version,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_key_is_the_sha256_of_the_documented_canonical_text():
    arr = np.array([0.25, 1.5])
    config = {
        "d": np.int64(3),
        "p": np.inf,
        "q": -np.inf,
        "s": (0.5, np.float64(0.25)),
        "arr": arr,
        "name": "welch",
        "none": None,
        "flag": np.True_,
        "dtype": np.float32,
        "m": {"b": 1, "a": [2]},
    }
    by_hand = {
        "d": 3,
        "p": {"$float": "inf"},
        "q": {"$float": "-inf"},
        "s": [0.5, 0.25],
        "arr": {"$array": "<f8", "shape": [2], "sha256": hashlib.sha256(arr.tobytes()).hexdigest()},
        "name": "welch",
        "none": None,
        "flag": True,
        "dtype": {"$type": "float32"},
        "m": {"a": [2], "b": 1},
    }
    assert cell_key("t", config, 7) == _hand_key("t", by_hand, 7)
    assert cell_key("t", config, 7, task_version="2") == _hand_key("t", by_hand, 7, task_version="2")
    assert cell_key("t", config, 7, version="9.9") == _hand_key("t", by_hand, 7, version="9.9")


def test_key_changes_with_every_ingredient_and_not_with_dict_order():
    base = cell_key("t", {"a": 1, "b": 0.5}, 0)
    assert base == cell_key("t", {"b": 0.5, "a": 1}, 0)
    others = [
        cell_key("u", {"a": 1, "b": 0.5}, 0),
        cell_key("t", {"a": 2, "b": 0.5}, 0),
        cell_key("t", {"a": 1, "b": 0.5000001}, 0),
        cell_key("t", {"a": 1, "b": 0.5}, 1),
        cell_key("t", {"a": 1, "b": 0.5}, None),
        cell_key("t", {"a": 1, "b": 0.5}, 0, version="0.0.0"),
        cell_key("t", {"a": 1, "b": 0.5}, 0, task_version="v2"),
        cell_key("t", {"a": 1, "b": 0.5, "c": None}, 0),
    ]
    assert len({base, *others}) == len(others) + 1


def test_key_is_the_same_in_another_process_with_another_hash_seed():
    config = {"n_features": 5, "d": 2, "sparsity": [0.1, 0.9], "p": float("inf"), "dtype": "float32"}
    code = (
        "import json, sys; from packing import cell_key; "
        f"print(cell_key('train_toy_model', json.loads({json.dumps(json.dumps(config))}), 3))"
    )
    keys = set()
    for seed in ("12345",):  # this process has its own (random) hash seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        keys.add(out.stdout.strip())
    assert keys == {cell_key("train_toy_model", config, 3)}


def test_defaults_are_part_of_the_config(tmp_path):
    a = sweep(
        "optimal_partition", {"n": [6], "d": [3], "p": [2.0]}, cache_dir=tmp_path, n_jobs=1, progress=False
    )
    b = sweep(
        "optimal_partition",
        {"n": [6], "d": [3], "p": [2.0], "cost": ["welch"], "build": [True]},
        cache_dir=tmp_path,
        n_jobs=1,
        progress=False,
    )
    assert a["key"][0] == b["key"][0] and b["status"][0] == "cached"
    cell = load_cell(a["path"][0])
    expected = {"n": 6, "d": 3, "p": 2.0, "cost": "welch", "budget": None, "build": True}
    expected |= {"sparsity": None, "density": None}  # the ReLU cost's data parameters (#12)
    assert cell.config == expected


# --------------------------------------------------------------------------- results and the table


def test_cells_equal_direct_calls_and_table_is_in_grid_order(tmp_path):
    table = sweep("train_toy_model", TOY, seeds=[4, 9], cache_dir=tmp_path, n_jobs=1, progress=False)
    assert list(table["sparsity"]) == [0.0, 0.0, 0.7, 0.7, 0.9, 0.9]
    assert list(table["seed"]) == [4, 9] * 3
    assert set(table["status"]) == {"computed"} and table.attrs["computed"] == 6
    row = table.iloc[3]
    direct = packing.train_toy_model(
        n_features=5, d=2, sparsity=0.7, steps=150, batch_size=128, rng=9, n_threads=1, progress=False
    )
    cell = load_cell(row["path"])
    assert np.array_equal(cell.result.W, direct.W)
    assert row["eval_loss"] == pytest.approx(float(direct.eval_loss[0]), rel=1e-12)
    norms = np.linalg.norm(direct.W[0], axis=1)
    assert row["represented"] == np.sum(norms > 0.5)
    assert row["dims_per_feature"] == pytest.approx(2 / np.sum(direct.W[0].astype(float) ** 2))


def test_sweep_dataset_has_one_dimension_per_parameter(tmp_path):
    table = sweep("train_toy_model", TOY, seeds=2, cache_dir=tmp_path, n_jobs=1, progress=False)
    ds = sweep_dataset(table)
    assert dict(ds["eval_loss"].sizes) == {
        "n_features": 1,
        "d": 1,
        "sparsity": 3,
        "steps": 1,
        "batch_size": 1,
        "seed": 2,
    }
    for _, row in table.iterrows():
        value = ds["eval_loss"].sel(sparsity=row["sparsity"], seed=row["seed"]).item()
        assert value == row["eval_loss"]
    explicit = sweep(
        "train_toy_model",
        [{"n_features": 5, "d": 2, "steps": 150, "batch_size": 128}],
        cache_dir=tmp_path,
        n_jobs=1,
        progress=False,
    )
    assert len(explicit) == 1
    with pytest.raises(ValueError, match="table must be a regular grid"):
        sweep_dataset(pd.concat([table, table]).pipe(lambda t: t.__setattr__("attrs", table.attrs) or t))
    with pytest.raises(TypeError, match="table must be a DataFrame returned by packing.sweep"):
        sweep_dataset({"a": 1})


def test_user_tasks_dict_results_and_deterministic_tasks(tmp_path):
    table = sweep("test-det", {"x": [1, 2]}, cache_dir=tmp_path, n_jobs=1, progress=False)
    assert list(table["y"]) == [2, 4] and list(table["seed"]) == [None, None]
    assert np.array_equal(load_cell(table["path"][1]).result["v"], [0, 2, 4])
    with pytest.raises(ValueError, match="seeds must be 1 for task 'test-det': it takes no random seed"):
        sweep("test-det", {"x": [1]}, seeds=2, cache_dir=tmp_path)


def test_workers_get_one_thread_and_one_blas_thread(tmp_path):
    table = sweep("test-threads", {"x": [1, 2, 3, 4]}, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert list(table["n_threads"]) == [1] * 4
    assert list(table["blas_threads"]) == [1] * 4
    assert os.getpid() not in set(table["pid"])  # really in worker processes


def test_failing_cell_raises_and_keeps_finished_cells(tmp_path):
    with pytest.raises(
        SweepError, match=r"task 'test-noisy' failed on the cell \(x=3\) with seed 0: ValueError"
    ):
        sweep("test-noisy", {"x": [1, 2, 3]}, cache_dir=tmp_path, n_jobs=1, progress=False)
    table = sweep("test-noisy", {"x": [1, 2]}, cache_dir=tmp_path, n_jobs=1, progress=False)
    assert list(table["status"]) == ["cached", "cached"]


# --------------------------------------------------------------------------- chunks of cells per worker call

#: How and when a cell was computed, not what: the engine's columns and the toy model's wall time.
ENGINE_ONLY = ["status", "cell_seconds", "path", "seconds"]


def test_chunked_and_unchunked_sweeps_give_identical_tables_and_files(tmp_path):
    grid = {**TOY, "sparsity": [0.0, 0.5, 0.7, 0.9, 0.95], "steps": [60]}
    tables = {
        (n_jobs, chunk): sweep(
            "train_toy_model",
            grid,
            seeds=2,
            cache_dir=tmp_path / f"{n_jobs}-{chunk}",
            n_jobs=n_jobs,
            chunk_size=chunk,
            progress=False,
        )
        for n_jobs, chunk in [(1, None), (2, 1), (2, 3), (2, None), (2, 100)]
    }
    serial = tables[(1, None)]
    assert len(serial) == 10 and set(serial["status"]) == {"computed"}
    for (n_jobs, chunk), table in tables.items():
        assert table.drop(columns=ENGINE_ONLY).equals(serial.drop(columns=ENGINE_ONLY)), (n_jobs, chunk)
        assert set(table["status"]) == {"computed"}
        folder = tmp_path / f"{n_jobs}-{chunk}" / "train_toy_model"
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{k}.npz" for k in serial["key"])
        for a, b in zip(serial["path"], table["path"], strict=True):
            ra, rb = load_cell(a), load_cell(b)
            assert (ra.config, ra.seed) == (rb.config, rb.seed)
            assert {**ra.summary, "seconds": 0} == {**rb.summary, "seconds": 0}
            assert np.array_equal(ra.result.W, rb.result.W)
            assert np.array_equal(ra.result.loss_history, rb.result.loss_history)
    # the cells of a chunked sweep are the cache of an unchunked one, and the other way round
    again = sweep("train_toy_model", grid, seeds=2, cache_dir=tmp_path / "2-3", n_jobs=1, progress=False)
    assert set(again["status"]) == {"cached"}
    serial_cache = tmp_path / "1-None"
    again = sweep(
        "train_toy_model", grid, seeds=2, cache_dir=serial_cache, n_jobs=2, chunk_size=4, progress=False
    )
    assert set(again["status"]) == {"cached"}


def _stop_at_seven(x, rng=None):
    """Fails on x = 7 (the first run of the resume test), else returns numbers drawn from rng."""
    if x == 7:
        raise RuntimeError("interrupted at x = 7")
    return _drawn(x, rng)


def _drawn(x, rng=None):
    return {"y": float(np.random.default_rng(rng).normal()) + x, "pid": os.getpid()}


def test_an_interruption_inside_a_chunk_keeps_its_finished_cells_and_recomputes_only_the_rest(tmp_path):
    register_task("test-resume", _stop_at_seven, replace=True, version="1")
    xs = list(range(8))
    with pytest.raises(SweepError, match=r"task 'test-resume' failed on the cell \(x=7\)"):
        # chunks [0..3] and [4..7]: the second stops at its last cell, after storing 4, 5, 6
        sweep("test-resume", {"x": xs}, cache_dir=tmp_path, n_jobs=2, chunk_size=4, progress=False)
    folder = tmp_path / "test-resume"
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.npz")}
    register_task("test-resume", _drawn, replace=True, version="1")  # same keys: the same task, resumed
    keys = {x: cell_key("test-resume", {"x": x}, 0, task_version="1") for x in xs}
    assert {f"{keys[x]}.npz" for x in (4, 5, 6)} <= set(stamps)  # finished inside the failed chunk
    assert f"{keys[7]}.npz" not in stamps
    table = sweep("test-resume", {"x": xs}, cache_dir=tmp_path, n_jobs=2, chunk_size=4, progress=False)
    cached = {x for x, s in zip(table["x"], table["status"], strict=True) if s == "cached"}
    assert {f"{keys[x]}.npz" for x in cached} == set(stamps)  # exactly the stored cells are reused ...
    assert set(table["status"]) <= {"cached", "computed"} and 7 not in cached
    for name, stamp in stamps.items():  # ... and not written again
        p = folder / name
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp
    fresh = sweep("test-resume", {"x": xs}, cache_dir=tmp_path / "fresh", n_jobs=1, progress=False)
    assert table["y"].equals(fresh["y"])  # the resumed table is the uninterrupted one


def _pid_task(x, rng=None):
    return {"x": x, "pid": os.getpid()}


def _worker_pids() -> set[int]:
    """Process ids of this process's loky worker processes (joblib's reusable executor)."""
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is None or executor._flags.shutdown:
        return set()
    return {p.pid for p in list(executor._processes.values()) if p.is_alive()}


def test_workers_start_for_cells_to_compute_and_not_for_a_finished_sweep(tmp_path):
    from packing.sweep._engine import stop_workers

    register_task("test-pid", _pid_task, replace=True)
    stop_workers()
    assert _worker_pids() == set()
    table = sweep("test-pid", {"x": list(range(6))}, cache_dir=tmp_path, n_jobs=2, progress=False)
    pids = _worker_pids()
    assert len(pids) == 2 and set(table["pid"]) <= pids  # the cells ran in the started workers
    stop_workers()
    again = sweep("test-pid", {"x": list(range(6))}, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert set(again["status"]) == {"cached"}
    assert _worker_pids() == set()  # nothing to compute: no process started
    more = sweep("test-pid", {"x": list(range(8))}, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert list(more["status"]) == ["cached"] * 6 + ["computed"] * 2
    assert len(_worker_pids()) == 2


def test_a_sweep_whose_workers_an_aborted_search_shut_down_carries_on_in_new_ones(tmp_path, monkeypatch):
    # a parallel search aborted (a second Ctrl-C) in another thread shuts the shared processes down
    # when no other jobs are in them (packing._workers.abort_tasks): so between a sweep's warm-up
    # jobs and its first cells (while it reads its cache), which raised loky's ShutdownExecutorError
    from concurrent.futures import wait

    from packing._workers import abort_tasks
    from packing.sweep import _engine

    started = _engine.start_workers

    def start_then_abort(task, workers):
        executor = started(task, workers)
        wait([executor.submit(os.getpid) for _ in range(workers)])
        # once the warm-ups have finished too (a slow worker may still import while the other has
        # run both getpid jobs; CI met that under load), nothing else is in the pool: killed
        deadline = time.monotonic() + 120
        while not abort_tasks(executor, []):
            assert time.monotonic() < deadline, "the sweep's warm-up jobs never finished"
            time.sleep(0.05)
        return executor

    monkeypatch.setattr(_engine, "start_workers", start_then_abort)
    register_task("test-pid", _pid_task, replace=True)
    table = sweep("test-pid", {"x": list(range(6))}, cache_dir=tmp_path, n_jobs=2, progress=False)
    assert list(table["status"]) == ["computed"] * 6 and table["x"].tolist() == list(range(6))
    assert set(table["pid"]) <= _worker_pids()  # in the new processes


def test_adaptive_chunks_follow_the_cells_times_and_shrink_at_the_end():
    from packing.sweep._engine import CHUNK_SECONDS, _Chunks

    todo = [({"x": i}, 0, f"k{i}", None) for i in range(100)]
    chunks = _Chunks(todo, 2, None)
    it = iter(chunks)
    sizes = [len(next(it)), len(next(it))]  # one cell per worker first: nothing measured yet
    chunks.record([("k0", {}, CHUNK_SECONDS / 10), ("k1", {}, CHUNK_SECONDS / 10)])
    sizes += [len(c) for c in it]
    assert sizes[:3] == [1, 1, 10]  # about CHUNK_SECONDS of work per chunk
    assert sizes[-1] == 1 and all(a >= b for a, b in zip(sizes[2:], sizes[3:], strict=False))
    assert sum(sizes) == 100
    flat = [c for chunk in _Chunks(todo, 2, None) for c in chunk]
    assert flat == [(cfg, s, k) for cfg, s, k, _ in todo]  # every cell once, in order
    assert [len(c) for c in _Chunks(todo[:7], 2, 3)] == [3, 3, 1]


# --------------------------------------------------------------------------- cache: corrupt, stale, resume


def test_corrupt_and_stale_cells_are_recomputed(tmp_path):
    grid = {"n": [6, 7, 8, 9], "d": [3], "p": [2.0]}
    first = sweep("optimal_partition", grid, cache_dir=tmp_path, n_jobs=1, progress=False)
    paths = [Path(p) for p in first["path"]]
    paths[0].write_bytes(paths[0].read_bytes()[:200])  # truncated
    paths[1].write_bytes(b"garbage" * 50)  # not a zip at all
    paths[2].write_bytes(paths[3].read_bytes())  # a valid cell of another key: stale
    (paths[3].parent / f".{paths[3].name}.dead.tmp").write_bytes(b"half")  # a killed writer's leftover
    again = sweep("optimal_partition", grid, cache_dir=tmp_path, n_jobs=1, progress=False)
    assert list(again["status"]) == ["recomputed", "recomputed", "recomputed", "cached"]
    assert again.attrs["recomputed"] == 3
    cols = ["n", "k", "loss", "blocks", "key"]
    assert again[cols].equals(first[cols])
    assert [load_cell(p).config["n"] for p in paths] == [6, 7, 8, 9]


def test_a_cell_member_larger_than_the_memory_limit_is_recomputed_not_read(tmp_path):
    # a member declaring more than the memory limit (a zip bomb, or a cell load_cell would refuse):
    # the quick check must not decompress it into memory and call it a hit
    import io
    import zipfile

    grid = {"x": [2]}
    path = Path(sweep("test-det", grid, cache_dir=tmp_path, n_jobs=1, progress=False)["path"][0])
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    big = next(name for name in members if not name.startswith("__"))
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(2**19))  # 4 MiB of zeros: a few KiB compressed
    members[big] = buffer.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert path.stat().st_size < 2**20
    previous = packing.set_memory_limit(2**21)
    try:
        again = sweep("test-det", grid, cache_dir=tmp_path, n_jobs=1, progress=False)
    finally:
        packing.set_memory_limit(previous)
    assert list(again["status"]) == ["recomputed"]
    assert np.array_equal(load_cell(path).result["v"], [0, 2, 4])


class _Hung(BaseException):
    """Raised by the alarm: not an OSError, so no reader can turn it into a file error."""


def _hung(signum, frame):
    raise _Hung


def test_a_named_pipe_in_place_of_a_cell_is_recomputed_not_waited_on(tmp_path):
    grid = {"n": [6], "d": [3], "p": [2.0]}
    path = Path(sweep("optimal_partition", grid, cache_dir=tmp_path, n_jobs=1, progress=False)["path"][0])
    path.unlink()
    os.mkfifo(path)
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(5)
    try:
        again = sweep("optimal_partition", grid, cache_dir=tmp_path, n_jobs=1, progress=False)
    except _Hung:
        pytest.fail("sweep waited on a named pipe in its cache instead of recomputing the cell")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert list(again["status"]) == ["recomputed"] and path.is_file()
    assert load_cell(path).result.k == again["k"][0]


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_without_recomputing(tmp_path):
    grid = {
        "n_features": [6],
        "d": [2],
        "sparsity": [0.0, 0.3, 0.6, 0.8, 0.9, 0.95],
        "steps": [1500],
        "batch_size": [256],
    }
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(json.dumps(grid))
    cache = tmp_path / "cache"
    env = {**os.environ, "PACKING_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "packing",
            "sweep",
            "train_toy_model",
            str(grid_file),
            "--cache-dir",
            str(cache),
            "--jobs",
            "1",
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    folder = cache / "train_toy_model"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if folder.is_dir() and len(list(folder.glob("*.npz"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.npz")}
    assert 2 <= len(done) < 6, f"{len(done)} cells were done when the sweep was killed"
    table = sweep("train_toy_model", grid, cache_dir=cache, n_jobs=1, progress=False)
    assert len(table) == 6 and table["key"].is_unique
    cached = {Path(p).name for p, s in zip(table["path"], table["status"], strict=True) if s == "cached"}
    assert cached == set(done)
    assert set(table["status"]) == {"cached", "computed"}
    for name, stamp in done.items():  # the finished cells were not written again
        p = folder / name
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as cl:
        with distributed.Client(cl, set_as_default=False) as client:
            yield cl, client


@pytest.mark.slow
def test_dask_gives_the_local_results_in_the_same_cache(tmp_path, cluster):
    _, client = cluster
    local = sweep("train_toy_model", TOY, seeds=2, cache_dir=tmp_path / "local", n_jobs=2, progress=False)
    remote = sweep(
        "train_toy_model", TOY, seeds=2, cache_dir=tmp_path / "dask", client=client, progress=False
    )
    assert list(local["key"]) == list(remote["key"])
    assert local[SUMMARY].equals(remote[SUMMARY])
    for a, b in zip(local["path"], remote["path"], strict=True):
        ra, rb = load_cell(a).result, load_cell(b).result
        assert np.array_equal(ra.W, rb.W) and np.array_equal(ra.loss_history, rb.loss_history)
    # the cluster's cells are the local cache's cells: a local run on the Dask cache computes nothing
    again = sweep("train_toy_model", TOY, seeds=2, cache_dir=tmp_path / "dask", n_jobs=1, progress=False)
    assert set(again["status"]) == {"cached"}
    # and a cluster run on the local cache neither
    again = sweep(
        "train_toy_model", TOY, seeds=2, cache_dir=tmp_path / "local", client=client, progress=False
    )
    assert set(again["status"]) == {"cached"}


@pytest.mark.slow
def test_a_dask_worker_killed_mid_sweep_loses_and_duplicates_nothing(tmp_path, cluster):
    cl, client = cluster
    grid = {**TOY, "sparsity": [0.0, 0.5, 0.7, 0.8, 0.9, 0.95], "steps": [1200]}
    folder = tmp_path / "dask" / "train_toy_model"
    result = {}

    def run():
        try:
            result["table"] = sweep(
                "train_toy_model", grid, cache_dir=tmp_path / "dask", client=client, progress=False
            )
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (folder.is_dir() and any(folder.glob("*.npz"))):
        time.sleep(0.02)
    done_at_kill = len(list(folder.glob("*.npz")))
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the sweep did not finish after a worker died"
    assert "error" not in result, result.get("error")
    assert 1 <= done_at_kill < 6, f"{done_at_kill} cells were done when the worker was killed"
    table = result["table"]
    assert len(table) == 6 and table["key"].is_unique
    assert sorted(zip(table["sparsity"], table["seed"], strict=True)) == [(s, 0) for s in grid["sparsity"]]
    assert len(list(folder.glob("*.npz"))) == 6
    local = sweep("train_toy_model", grid, cache_dir=tmp_path / "local", n_jobs=1, progress=False)
    assert local[SUMMARY].equals(table[SUMMARY])
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it: the next test has two workers again


# --------------------------------------------------------------------------- bad input


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"task": "nope"},
            ValueError,
            r"task must be the name of a sweep task \(.*optimal_partition.*\) or a function .*; got 'nope'",
        ),
        ({"task": 3}, TypeError, "task must be the name of a sweep task"),
        ({"task": len}, ValueError, "task must be registered first .*; got the unregistered function 'len'"),
        (
            {"grid": {"n": [6], "q": [1]}},
            ValueError,
            "grid must set arguments of task 'optimal_partition' "
            "\\(n, d, p, cost, sparsity, density, budget, build\\); "
            "got 'q', which it does not take",
        ),
        (
            {"grid": {"n": [6], "d": [3], "p": [1.0], "rng": [1]}},
            ValueError,
            "grid must not set 'rng' for task 'optimal_partition' \\(the sweep sets it\\)",
        ),
        (
            {"grid": {"n": [6], "d": [3], "p": [1.0], "progress": [True]}},
            ValueError,
            "grid must not set 'progress'",
        ),
        ({"grid": {}}, ValueError, "grid must name at least one parameter; got an empty mapping"),
        ({"grid": []}, ValueError, "grid must list at least one configuration; got an empty list"),
        ({"grid": {"n": [], "d": [3]}}, ValueError, r"grid\['n'\] must list at least one value"),
        ({"grid": "n=6"}, TypeError, "grid must be a mapping of parameter names to value lists"),
        ({"grid": [{"n": 6}, 3]}, TypeError, r"grid\[1\] must be a mapping"),
        ({"grid": {"n": [6]}}, ValueError, "grid must give task 'optimal_partition' its required argument"),
        (
            {"grid": {"n": [6], "d": [3], "p": [object()]}},
            TypeError,
            r"grid configuration 0\['p'\] must be plain data",
        ),
        ({"seeds": 0}, ValueError, "seeds must be >= 1"),
        ({"seeds": "2"}, TypeError, "seeds must be a number of seeds"),
        ({"seeds": [1, 1]}, ValueError, "seeds must not repeat a seed"),
        ({"seeds": [0, -1]}, ValueError, "seeds must be integers >= 0"),
        ({"seeds": []}, ValueError, "seeds must list at least one seed"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be None"),
        ({"n_jobs": 1.5}, ValueError, "n_jobs must be None"),
        ({"client": 3}, TypeError, "client must be a dask.distributed.Client or a scheduler address"),
        ({"progress": "yes"}, TypeError, "progress must be True, False or 'auto'"),
        ({"cache_dir": 5}, TypeError, "cache_dir must be a folder path"),
        ({"chunk_size": 0}, ValueError, r"chunk_size must be None \(sized from the cells' times\) or a "),
        ({"chunk_size": 2.0}, ValueError, "chunk_size must be None .*; got float 2.0"),
        ({"chunk_size": True}, ValueError, "chunk_size must be None"),
    ],
)
def test_bad_input(tmp_path, kwargs, exc, match):
    call = {
        "task": "optimal_partition",
        "grid": {"n": [6], "d": [3], "p": [1.0]},
        "cache_dir": tmp_path,
        "n_jobs": 1,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(exc, match=match):
        sweep(call.pop("task"), call.pop("grid"), **call)


def test_cache_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        packing.PackingFileError,
        match="cache_dir must be a folder the sweep can write its cells to; got .*, which is not writable",
    ):
        sweep("optimal_partition", {"n": [6], "d": [3], "p": [1.0]}, cache_dir=blocker / "cache")
    if os.geteuid() != 0:  # root writes anywhere: the permission case is only checkable as a user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(packing.PackingFileError, match="which is not writable"):
            sweep("optimal_partition", {"n": [6], "d": [3], "p": [1.0]}, cache_dir=locked)


def test_a_scheduler_that_does_not_answer_fails_within_the_timeout(tmp_path, monkeypatch):
    from packing.sweep import _engine

    monkeypatch.setattr(_engine, "CONNECT_TIMEOUT", 2.0)
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(
        ValueError,
        match=f"client must be a Dask scheduler that answers within 2 s; got '{address}', which does not",
    ):
        sweep("optimal_partition", {"n": [6], "d": [3], "p": [1.0]}, cache_dir=tmp_path, client=address)
    assert time.monotonic() - start < 30


def test_a_closed_client_is_refused(tmp_path):
    distributed = pytest.importorskip("distributed")
    client = distributed.Client(processes=False, n_workers=1, dashboard_address=None, set_as_default=False)
    client.close()
    with pytest.raises(ValueError, match="client must be a running dask.distributed.Client"):
        sweep("optimal_partition", {"n": [6], "d": [3], "p": [1.0]}, cache_dir=tmp_path, client=client)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        (("Bad Name", det_task), {}, ValueError, "name must be a task name of lower-case letters"),
        (("", det_task), {}, ValueError, "name must be a task name"),
        (("ok", 3), {}, TypeError, "fn must be a function taking the cell's configuration"),
        (("ok", det_task), {"summarize": 3}, TypeError, "summarize must be a function summarize"),
        (("ok", det_task), {"seed_arg": "rng"}, ValueError, "seed_arg must be an argument of fn"),
        (("ok", det_task), {"version": 2}, TypeError, "version must be a str"),
        (("test-det", det_task), {}, ValueError, "name must be new, or replace=True given; got 'test-det'"),
    ],
)
def test_register_task_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        register_task(*args, **kwargs)
    assert "ok" not in _tasks()


def test_summarize_must_return_scalars(tmp_path):
    register_task("test-badsum", det_task, summarize=lambda r: {"v": r["v"]}, replace=True)
    with pytest.raises(
        TypeError, match="the summarize function of task 'test-badsum' must return a dict of scalars"
    ):
        sweep("test-badsum", {"x": [1]}, cache_dir=tmp_path, n_jobs=1, progress=False)


# --------------------------------------------------------------------------- grid files and the command line


def test_read_grid_formats(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text("[[cells]]\nn = 6\nd = 3\np = inf\n[[cells]]\nn = 7\nd = 3\np = 1.0\n")
    assert packing.read_grid(toml) == [{"n": 6, "d": 3, "p": np.inf}, {"n": 7, "d": 3, "p": 1.0}]
    js = tmp_path / "g.json"
    js.write_text('[{"n": 6, "d": 3, "p": 1e999}]')
    assert packing.read_grid(js) == [{"n": 6, "d": 3, "p": np.inf}]
    for name, text, exc, match in [
        ("bad.toml", "n = [", packing.CorruptFileError, "is not valid TOML"),
        ("bad.json", "{", packing.CorruptFileError, "is not valid JSON"),
        ("empty.json", "{}", packing.CorruptFileError, "must hold a table of parameters"),
        ("g.yaml", "n: 1", packing.FileFormatError, "path must end in .toml or .json"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(exc, match=match):
            packing.read_grid(path)
    with pytest.raises(packing.PackingFileNotFoundError, match="does not exist"):
        packing.read_grid(tmp_path / "missing.toml")


def _cli(capsys, *args):
    """Run ``packing ARGS`` in this process; return (exit status, stdout, stderr)."""
    from packing.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_sweep_runs_caches_and_writes_the_table(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text("n = [6, 7]\nd = [3]\np = [1.0, 2.0]\n")
    cache = tmp_path / "cache"
    out = tmp_path / "table.csv"
    code, stdout, err = _cli(
        capsys, "sweep", "optimal_partition", grid, "--cache-dir", cache, "--jobs", "1", "--out", out, "-q"
    )
    assert code == 0, err
    assert "4 cells of optimal_partition: 4 computed, 0 cached" in stdout
    table = pd.read_csv(out)
    assert list(table["k"]) == [packing.optimal_partition(n, 3, p).k for n in (6, 7) for p in (1.0, 2.0)]
    code, stdout, err = _cli(capsys, "sweep", "optimal_partition", grid, "--cache-dir", cache, "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["cached"] == 4 and [r["k"] for r in data["rows"]] == list(table["k"])
    code, stdout, _ = _cli(capsys, "sweep", "--list")
    assert code == 0 and "train_toy_model" in stdout


def test_cli_sweep_chunk_size_reaches_the_local_workers(tmp_path, capsys, monkeypatch):
    from packing.sweep import _engine

    chunks = []
    run_local = _engine._run_local

    def recording(task, todo, workers, folder, chunk, *more):
        chunks.append((workers, chunk))
        yield from run_local(task, todo, workers, folder, chunk, *more)

    monkeypatch.setattr(_engine, "_run_local", recording)
    grid = tmp_path / "grid.toml"
    grid.write_text("n = [6, 7, 8]\nd = [3]\np = [1.0, 2.0]\n")
    args = ["sweep", "optimal_partition", grid, "--cache-dir", tmp_path / "c", "--jobs", "2", "--json"]
    code, stdout, err = _cli(capsys, *args, "--chunk-size", "4")
    assert code == 0, err
    assert chunks == [(2, 4)]
    data = json.loads(stdout)
    assert data["computed"] == 6
    expected = [packing.optimal_partition(n, 3, p).k for n in (6, 7, 8) for p in (1.0, 2.0)]
    assert [r["k"] for r in data["rows"]] == expected
    code, _, err = _cli(capsys, *args[:4], tmp_path / "d", "--jobs", "2", "-q")  # default: sized by times
    assert code == 0, err
    assert chunks[-1] == (2, None)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope", "GRID"], 3, "TASK must be the name of a sweep task"),
        (["optimal_partition", "MISSING"], 4, "GRID '.*missing.toml' does not exist"),
        (["optimal_partition", "BADGRID"], 5, "is not valid TOML"),
        (
            ["optimal_partition", "GRID", "--cache-dir", "BLOCKED"],
            4,
            "--cache-dir must be a folder .* not writable",
        ),
        (["optimal_partition", "GRID", "--seeds", "0"], 3, "--seeds must be >= 1"),
        (["optimal_partition", "GRID", "--jobs", "0"], 3, "--jobs must be None"),
        (["optimal_partition", "GRID", "--chunk-size", "0"], 3, "--chunk-size must be None .* positive int"),
        (["optimal_partition", "GRID", "--chunk-size", "-2"], 3, "--chunk-size must be None .* got int -2"),
        (["optimal_partition", "GRID", "--chunk-size", "1.5"], 2, "argument --chunk-size: invalid int value"),
        (["optimal_partition", "GRID", "--seeds", "x"], 2, "argument --seeds: invalid int value"),
        (["optimal_partition"], 2, "TASK and GRID are required"),
        (["optimal_partition", "UNKNOWN"], 3, "GRID must set arguments of task 'optimal_partition'"),
        (["optimal_partition", "GRID", "--out", "table.txt"], 3, "--out must end in .csv"),
    ],
)
def test_cli_sweep_errors(tmp_path, capsys, args, code, message):
    files = {
        "GRID": tmp_path / "grid.toml",
        "MISSING": tmp_path / "missing.toml",
        "BADGRID": tmp_path / "bad.toml",
        "UNKNOWN": tmp_path / "unknown.json",
        "BLOCKED": tmp_path / "grid.toml" / "cache",
    }
    files["GRID"].write_text("n = [6]\nd = [3]\np = [1.0]\n")
    files["BADGRID"].write_text("n = [")
    files["UNKNOWN"].write_text('{"n": [6], "q": [1]}')
    args = [str(files.get(a, a)) for a in args]
    if "--cache-dir" not in args:
        args += ["--cache-dir", str(tmp_path / "c")]
    status, _, err = _cli(capsys, "sweep", *args, "-q")
    assert status == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("packing sweep: error: ")
    assert re.search(message, lines[0]), lines[0]


def test_cli_scheduler_that_does_not_answer(tmp_path, capsys, monkeypatch):
    from packing.sweep import _engine

    monkeypatch.setattr(_engine, "CONNECT_TIMEOUT", 2.0)
    grid = tmp_path / "grid.toml"
    grid.write_text("n = [6]\nd = [3]\np = [1.0]\n")
    start = time.monotonic()
    address = f"tcp://127.0.0.1:{_free_port()}"
    code, _, err = _cli(
        capsys, "sweep", "optimal_partition", grid, "--cache-dir", tmp_path / "c", "--scheduler", address
    )
    assert code == 3, err
    assert f"error: --scheduler must be a Dask scheduler that answers within 2 s; got '{address}'" in err
    assert time.monotonic() - start < 30


def test_optional_tasks_register_when_their_module_exists(monkeypatch):
    from packing.sweep import _tasks

    monkeypatch.setattr(
        _tasks,
        "OPTIONAL_TASKS",
        {"train_scurve": ("packing.train", "train_scurve", None), "gone": ("packing.not_there", "f", None)},
    )
    monkeypatch.setattr(_tasks, "_BUILTINS_DONE", False)
    monkeypatch.setattr(_tasks, "_TASKS", {k: v for k, v in _tasks._TASKS.items() if k != "train_toy_model"})
    tasks = sweep_tasks()
    assert tasks["train_scurve"].fn is packing.train_scurve and "gone" not in tasks
    assert tasks["train_toy_model"].fn is packing.train_toy_model


def test_summary_columns_named_like_parameters_or_engine_columns_are_kept(tmp_path):
    register_task("test-clash", lambda x, rng=None: {"x": 2 * x, "seed": 7, "ok": 1}, replace=True)
    table = sweep("test-clash", {"x": [1]}, seeds=[3], cache_dir=tmp_path, n_jobs=1, progress=False)
    row = table.iloc[0]
    assert (row["x"], row["summary_x"], row["seed"], row["summary_seed"], row["ok"]) == (1, 2, 3, 7, 1)
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):  # even when all cached
        sweep("test-clash", {"x": [1]}, seeds=[3], cache_dir=tmp_path, client=3)


def test_a_worker_with_another_package_version_is_refused():
    from packing.sweep._engine import compute_cell
    from packing.sweep._tasks import get_task

    with pytest.raises(RuntimeError, match="a worker runs packing .*, the sweep packing 0.0.0-other"):
        compute_cell(get_task("test-det"), {"x": 1}, None, "k", "0.0.0-other")


# --------------------------------------------------------------------------- the figure driver, ported


def _same_packing(a, b):
    """Equal optimizer results: packing bit for bit, every number and the history (the wall time excepted)."""
    assert np.array_equal(a.W, b.W) and a.W.dtype == b.W.dtype
    for name in ("objective", "coherence", "lower_bound", "gap", "p", "iterations", "restarts"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.stopping_reason == b.stopping_reason and list(a.history) == list(b.history)


def test_coherence_figure_cells_equal_direct_calls_and_land_in_its_cache(tmp_path):
    from packing.figures import FigureRun
    from packing.figures.coherence_vs_n import TASK, optimizer_cells

    cells = [(4, 3), (7, 3), (6, 4)]
    out = tmp_path / "figs"
    with FigureRun(out) as run:  # two workers, as the full figure runs: each cell keeps its own stream
        table = optimizer_cells(run, cells, seed=5, restarts=2, n_jobs=2)
    assert list(zip(table["n"], table["d"], strict=True)) == cells and list(table["seed"]) == [5] * 3
    assert set(table["status"]) == {"computed"}
    folder = out / ".cache" / "sweep" / TASK
    assert sorted(Path(p) for p in table["path"]) == sorted(folder.glob("*.npz"))
    for (n, d), path, coh in zip(cells, table["path"], table["coherence"], strict=True):
        # the stream the driver gave cell (n, d) in its hand loop: the first of two spawned from (seed, d, n)
        opt_rng = np.random.default_rng([5, d, n]).spawn(2)[0]
        direct = packing.optimize_packing(n, d, rng=opt_rng, restarts=2, progress=False)
        _same_packing(load_cell(path).result, direct)
        assert coh == direct.coherence
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("*.npz")}
    with FigureRun(out) as run:
        again = optimizer_cells(run, cells, seed=5, restarts=2, n_jobs=1)
    assert set(again["status"]) == {"cached"} and again["coherence"].equals(table["coherence"])
    assert {p: p.stat().st_mtime_ns for p in folder.glob("*.npz")} == stamps
    with FigureRun(out, force=True) as run:  # --force: the figure's cells are removed and recomputed ...
        forced = optimizer_cells(run, cells[:1], seed=5, restarts=2, n_jobs=1)
        assert list(forced["status"]) == ["computed"] and forced["coherence"][0] == table["coherence"][0]
        assert sorted(folder.glob("*.npz")) == [Path(forced["path"][0])]
        twice = optimizer_cells(run, cells[:1], seed=5, restarts=2, n_jobs=1)  # ... once per run
        assert list(twice["status"]) == ["cached"]


def test_coherence_figure_draws_its_cached_cells():
    from helpers import quick_figures

    from packing.figures.coherence_vs_n import TASK

    out, _, drawn = quick_figures("coherence_vs_n")
    facts = drawn["coherence_vs_n"].facts[3]
    paths = sorted((out / ".cache" / "sweep" / TASK).glob("*.npz"))
    cells = sorted((load_cell(p) for p in paths), key=lambda c: c.config["n"])
    assert [c.config["n"] for c in cells] == list(facts["ns"]) == [4, 5, 6, 7]
    assert {(c.config["d"], c.config["budget"], c.seed) for c in cells} == {(3, 0.1, 0)}
    assert [c.result.coherence for c in cells] == list(facts["optimizer"])


class _OnTwoWorkers:
    """A FigureRun whose sweeps run on two worker processes even in quick mode (as the full figures do)."""

    def __init__(self, run):
        self.run, self.tasks = run, []

    def cached(self, compute, /, **params):
        return self.run.cached(compute, **params)

    def sweep(self, task, grid, **kwargs):
        table = self.run.sweep(task, grid, **{**kwargs, "n_jobs": 2, "progress": False})
        self.tasks.append((task, list(table["status"])))
        return table


def _same_tables(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), key


def test_sae_recovery_points_are_cached_sweep_cells_equal_to_the_hand_loop(tmp_path):
    from packing.figures import FigureRun
    from packing.sae import _benchmark as bench

    parts = (bench.geometry_benchmark, bench.density_sweep, bench.ratio_sweep, bench.penalty_sweep)
    by_hand = [fn(quick=True, seed=1) for fn in parts]  # one point after another in this process
    with FigureRun(tmp_path) as figure_run:
        run = _OnTwoWorkers(figure_run)
        swept = [fn(quick=True, seed=1, run=run) for fn in parts]
        for a, b in zip(by_hand, swept, strict=True):
            _same_tables(a, b)
        assert [t for t, _ in run.tasks] == ["sae_recovery_point"] * 3 + ["sae_penalty_point"]
        assert all(set(status) == {"computed"} for _, status in run.tasks)
        folder = tmp_path / ".cache" / "sweep"
        cells = len(by_hand[0]["n"]) + len(by_hand[1]["n"]) + len(by_hand[2]["n"])
        assert len(list((folder / "sae_recovery_point").glob("*.npz"))) == cells
        run.tasks.clear()
        again = [fn(quick=True, seed=1, run=run) for fn in parts]  # every point from the cache
        assert all(set(status) == {"cached"} for _, status in run.tasks)
        for a, b in zip(by_hand, again, strict=True):
            _same_tables(a, b)


def test_monosemanticity_sweeps_are_cached_cells_equal_to_direct_measurements(tmp_path):
    from packing.figures import FigureRun
    from packing.figures import monosemanticity as drv

    with FigureRun(tmp_path) as figure_run:
        run = _OnTwoWorkers(figure_run)
        result = drv.sweeps(run, quick=True, seed=3, parts=("neurons", "noise"))
    assert run.tasks == [(drv.TASK, ["computed"] * 6)]
    size = {k: v for k, v in drv.QUICK.items() if k != "seeds"}
    seeds, n = drv.QUICK["seeds"], drv.QUICK["n_features"]
    common = dict(size, seeds=seeds, n_threads=1, blas_threads=1, progress=False)
    for j in (0, 4):  # the paper's k/N sweep: condition-major instances, seed 3 + 1 + j (+1 past the noise's)
        direct = drv.measure(
            **common,
            n_neurons=max(1, round(drv.K_RATIOS[j] * n)),
            init_bias=np.array([0.0, -1.0]),
            bias_decay=np.array([0.0, drv.DECAY]),
            rng=3 + 1 + j + (j >= 4),
        )
        got = result["neurons"]["data"][j]
        for key, value in direct.items():
            assert np.array_equal(got[key], value.reshape(2, seeds, *value.shape[1:]), equal_nan=True), key
    direct = drv.measure(
        **common,
        n_neurons=drv.K_RATIO * n,
        init_bias=np.repeat([0.0, -1.0], len(drv.NOISES)),
        bias_decay=np.repeat([0.0, drv.DECAY], len(drv.NOISES)),
        input_noise=np.tile(drv.NOISES, 2),
        rng=3 + 5,
    )
    assert np.array_equal(result["noise"]["data"]["clean_loss"].ravel(), direct["clean_loss"])


def test_monosemanticity_lr_and_decay_panels_are_sweep_cells_equal_to_direct_measurements(tmp_path):
    """Findings 1 and 2 (learning rates, optimizers, schedules) run as cells of the same sweep task."""
    from packing.figures import FigureRun
    from packing.figures import monosemanticity as drv

    with FigureRun(tmp_path) as figure_run:
        run = _OnTwoWorkers(figure_run)
        result = drv.sweeps(run, quick=True, seed=2, parts=("lr", "decay"))
    assert run.tasks == [(drv.TASK, ["computed"] * (len(drv.LRS) + len(drv.DECAY_RUNS)))]
    size = {k: v for k, v in drv.LOSS_QUICK.items() if k != "seeds"}
    seeds = drv.LOSS_QUICK["seeds"]
    common = dict(size, seeds=seeds, n_threads=1, blas_threads=1, progress=False)
    direct = drv.measure(**common, lr=drv.LRS[1], init_bias=np.array([0.0, -1.0]),
                         bias_decay=np.array([0.0, drv.DECAY]), rng=2 + 10 + 1)  # fmt: skip
    got = result["lr"]["data"][1]
    for key, value in direct.items():
        assert np.array_equal(got[key], value.reshape(2, seeds, *value.shape[1:]), equal_nan=True), key
    for j, (optimizer, lr, schedule, offset) in enumerate(drv.DECAY_RUNS):
        direct = drv.measure(
            **common,
            optimizer=optimizer,
            schedule=schedule,
            lr=lr,
            init_bias=np.array((0.0,) + (-1.0,) * len(drv.DECAYS)),
            bias_decay=np.array((0.0, *drv.DECAYS)),
            rng=2 + offset,
        )
        got = result["decay"]["data"][j]["clean_loss"]
        assert np.array_equal(got.ravel(), direct["clean_loss"]), (optimizer, lr, schedule)


@pytest.mark.parametrize("address", ["abc", "tcp://host-without-port", ""])
def test_a_malformed_scheduler_address_is_refused_and_the_process_exits_at_once(tmp_path, address):
    """Refused before a Client is built: a half-built one held the interpreter's exit for 20 s."""
    code = (
        "import packing, sys\n"
        "try:\n"
        "    grid = {'n': [4], 'd': [2], 'p': [2.0]}\n"
        f"    packing.sweep('optimal_partition', grid, cache_dir={str(tmp_path)!r}, client={address!r},\n"
        "                  progress=False)\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    took = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    assert "client must be a dask.distributed.Client or a scheduler address 'tcp://HOST:PORT'" in out.stdout
    assert "missing port number" in out.stdout and "timed out" not in out.stderr
    assert took < 15  # was over 20 s: the exit waited for the half-built client's close
    assert not any(tmp_path.iterdir())  # refused before any work
