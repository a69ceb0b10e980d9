"""optimize_packing(workers=k): independent searches in worker processes, merged into one result."""

import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import brute_force_cosines, processes_left, wait_until_workers_compute

from packing import optimize_packing
from packing._workers import WORKER_MARK, in_worker_process, reusable_executor
from packing.optimize import driver
from packing.optimize._parallel import SignalledDeadline, StopSignal

ROOT = Path(__file__).resolve().parents[1]


def coherence_bf(W):
    return float(np.abs(brute_force_cosines(W)).max())


def test_parallel_search_is_reproducible_for_a_seed_and_restarts():
    a = optimize_packing(24, 4, rng=3, restarts=6, workers=2)
    b = optimize_packing(24, 4, rng=3, restarts=6, workers=2)
    assert np.array_equal(a.W, b.W) and a.history == b.history and a.iterations == b.iterations
    assert a.restarts == 6 and len(a.history) == 6 and a.stopping_reason == "restarts"
    # the history is the best so far over all workers: never rising, ending at the result
    assert all(x >= y for x, y in zip(a.history, a.history[1:], strict=False))
    assert a.history[-1] == a.objective
    assert a.coherence == pytest.approx(coherence_bf(a.W), abs=1e-12)
    assert np.allclose(np.linalg.norm(a.W, axis=1), 1.0)
    # another seed is another search
    c = optimize_packing(24, 4, rng=4, restarts=6, workers=2)
    assert not np.array_equal(a.W, c.W)


def test_parallel_result_is_the_best_of_the_workers_own_searches():
    # the workers' searches run here, one after the other, with the seeds and starts the
    # parallel call deals out: the parallel result must be the best of them, counts summed
    n, d, restarts = 20, 4, 5
    res = optimize_packing(n, d, rng=11, restarts=restarts, workers=2)
    cfg = driver._validate(n, d, np.inf, None, restarts, "smooth", 300, True, 0.5, 1e-12, False, True, "wall")
    rng = np.random.default_rng(11)
    lb_log = driver.objective_lower_bound_log(n, d, np.inf)
    queue = driver._start_queue(cfg, rng, None, [], True, lb_log)
    seeds = [int(x) for x in rng.integers(0, 2**63, size=2)]
    stop = StopSignal.create()
    try:
        outs = [
            driver._search_worker(driver.replace(cfg, restarts=share), seeds[w], queue[w::2], None, lb_log,
                                  math.inf, stop, w)
            for w, share in enumerate(driver._shares(restarts, 2))
        ]
    finally:
        stop.remove()
    best = min(outs, key=lambda o: o[2])
    assert np.array_equal(res.W, best[0])
    assert res.restarts == sum(o[5] for o in outs) == restarts
    assert res.iterations == sum(o[4] for o in outs)


def test_explicit_single_worker_is_the_serial_search():
    a = optimize_packing(15, 3, rng=5, restarts=4)  # restarts alone: the default is one stream
    b = optimize_packing(15, 3, rng=5, restarts=4, workers=1)
    assert np.array_equal(a.W, b.W) and a.history == b.history


def test_a_worker_at_the_lower_bound_stops_the_search():
    t0 = time.perf_counter()
    res = optimize_packing(6, 3, rng=0, budget=60, workers=2)  # icosahedron lines, 1/sqrt(5)
    assert res.stopping_reason == "lower_bound"
    assert res.coherence == pytest.approx(1 / math.sqrt(5), abs=1e-9)
    assert time.perf_counter() - t0 < 30  # far below the budget: the other worker was stopped


def test_parallel_continuation_counts_the_earlier_run():
    first = optimize_packing(18, 4, rng=1, restarts=2, workers=1)
    more = optimize_packing(18, 4, rng=2, restarts=4, workers=2, init=first)
    assert more.restarts == first.restarts + 4
    assert more.history[: len(first.history)] == first.history
    assert more.objective <= first.objective


def test_parallel_budget_is_kept(tmp_path):
    t0 = time.perf_counter()
    res = optimize_packing(40, 5, rng=0, budget=3.0, workers=2)
    elapsed = time.perf_counter() - t0
    assert res.stopping_reason == "budget" and res.restarts >= 1
    assert elapsed < 3.0 + 20.0  # the LP bound, worker start-up and one last restart on a loaded machine


def test_process_clock_budget_stops_a_parallel_search():
    res = optimize_packing(30, 4, rng=0, budget=1.0, clock="process", workers=2)
    assert res.stopping_reason == "budget" and res.restarts >= 2


def test_default_workers_rule(monkeypatch):
    cfg = lambda **kw: driver._validate(  # noqa: E731
        30, 4, np.inf, kw.get("budget"), kw.get("restarts"), "smooth", 300, True, 0.5, 1e-12, False, True,
        "wall",
    )
    monkeypatch.setattr(driver, "in_worker_process", lambda: False)
    from packing.train._parallel import available_cpus

    assert driver._resolve_workers(None, cfg()) == available_cpus()  # the default 10 s budget
    assert driver._resolve_workers(None, cfg(budget=30.0)) == available_cpus()
    assert driver._resolve_workers(None, cfg(budget=30.0, restarts=5)) == available_cpus()
    assert driver._resolve_workers(None, cfg(restarts=5)) == 1  # no clock: one stream, any machine
    assert driver._resolve_workers(None, cfg(budget=driver.PARALLEL_MIN_BUDGET / 2)) == 1
    assert driver._resolve_workers(3, cfg(restarts=5)) == 3
    monkeypatch.setattr(driver, "in_worker_process", lambda: True)
    assert driver._resolve_workers(None, cfg(budget=30.0)) == 1  # inside a pool: its cores are taken


def _resolve_in_worker():
    cfg = driver._validate(30, 4, np.inf, 30.0, None, "smooth", 300, True, 0.5, 1e-12, False, True, "wall")
    return in_worker_process(), driver._resolve_workers(None, cfg), os.environ.get(WORKER_MARK)


def test_a_search_inside_a_worker_process_stays_serial():
    assert not in_worker_process()
    inside, workers, mark = reusable_executor(2).submit(_resolve_in_worker).result()
    assert inside and workers == 1 and mark == "1"


@pytest.mark.parametrize(
    "workers, exc, msg",
    [
        (0, ValueError, "workers must be >= 1"),
        (-2, ValueError, "workers must be >= 1"),
        (1.5, TypeError, "workers must be an integer"),
        ("2", TypeError, "workers must be an integer"),
        (True, TypeError, "workers must be an integer"),
        (10**9, ValueError, "workers must be <="),
    ],
)
def test_bad_workers(workers, exc, msg):
    with pytest.raises(exc, match=msg):
        optimize_packing(10, 3, restarts=1, workers=workers)


def test_stop_signal_is_seen_through_pickling_and_removed():
    stop = StopSignal.create()
    try:
        other = pickle.loads(pickle.dumps(stop))  # what a worker receives
        deadline = SignalledDeadline(math.inf, time.perf_counter, other)
        assert not other.is_set() and not deadline.passed()
        stop.set()
        time.sleep(0.06)  # past the poll interval
        assert other.is_set() and deadline.passed()
        stop.set()  # setting twice is harmless
    finally:
        folder = os.path.dirname(stop.path)
        stop.remove()
    assert not os.path.exists(folder)


def test_a_removed_stop_signal_reads_as_set():
    # a worker an abort left running (its jobs shared the processes with another user's) must not
    # run on to its budget once its search has returned and removed the signal unset
    stop = StopSignal.create()
    other = pickle.loads(pickle.dumps(stop))
    assert not other.is_set()
    stop.remove()
    time.sleep(0.06)  # past the poll interval
    assert not os.path.exists(os.path.dirname(stop.path)) and other.is_set()


# Python's own SIGINT handler, or one of the caller's that raises KeyboardInterrupt too (then the
# first Ctrl-C reaches the search as an exception rather than as a request)
HANDLERS = {
    "python": "",
    "own": "def own(signum, frame):\n    raise KeyboardInterrupt\nsignal.signal(signal.SIGINT, own)",
}


def start_script(script, stdin=None, stderr=subprocess.PIPE):
    """Run ``script`` in a Python subprocess with SIGINT at its default, as from a terminal (stdout piped)."""
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_ctrl_c_returns_the_workers_best_so_far(handler):
    script = textwrap.dedent(
        """
        import signal, sys, time
        import numpy as np
        from packing import optimize_packing
        {handler}
        print("start", flush=True)
        t = time.perf_counter()
        r = optimize_packing(60, 6, rng=0, budget=600, workers=2)
        seconds = time.perf_counter() - t
        C = np.abs(r.W @ r.W.T)[np.triu_indices(60, 1)]
        print(r.stopping_reason, r.restarts, "x".join(map(str, r.W.shape)),
              abs(C.max() - r.coherence) < 1e-12, seconds, flush=True)
        """
    ).format(handler=HANDLERS[handler])
    proc = start_script(script)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(6.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    reason, restarts, shape, consistent, seconds = out.split(maxsplit=4)
    # on a loaded machine no restart may have finished yet: then the best is a worker's first start
    assert reason == "interrupted" and shape == "60x6" and consistent == "True", out
    assert int(restarts) >= 0 and float(seconds) < 60, out  # stopped long before the 600 s budget


# A search whose workers take long to stop: a finite p descends in one L-BFGS stage, which never
# looks at the stop signal; at (2500, 50) and p = 4 one restart takes about 23 CPU seconds.
SLOW_TO_STOP = "optimize_packing(2500, 50, p=4, rng=0, budget=600, workers=2)"
# That search in a subprocess script, at its top level: "start", then "KeyboardInterrupt" once a
# Ctrl-C aborts it (a search that returns instead exits with its stopping reason).
ABORTED = f"""print("start", flush=True)
try:
    r = {SLOW_TO_STOP}
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
else:
    raise SystemExit(r.stopping_reason)"""


@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_a_second_ctrl_c_aborts_the_parallel_search_and_kills_its_workers(handler):
    script = textwrap.dedent(
        """
        import signal
        from packing import optimize_packing
        {handler}
        {aborted}
        # the next parallel search starts new workers
        r = optimize_packing(20, 4, rng=0, restarts=2, workers=2)
        print(r.stopping_reason, r.restarts, flush=True)
        """
    ).format(handler=HANDLERS[handler], aborted=ABORTED)
    proc = start_script(script)
    assert proc.stdout.readline().strip() == "start"
    workers = wait_until_workers_compute(proc.pid)  # both inside their long first restart
    proc.send_signal(signal.SIGINT)  # the first: the workers are told to stop after their stage
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)  # the second, while they finish it: abort
    t = time.perf_counter()
    line = proc.stdout.readline()
    seconds = time.perf_counter() - t
    # before, the second Ctrl-C was swallowed: the call returned "interrupted" once both workers
    # had finished their restart, 75 s later on the loaded 2-core machine
    assert line.strip() == "KeyboardInterrupt", (line, proc.communicate(timeout=300))
    assert seconds < 20, seconds  # not the rest of a 23-CPU-second restart, nor the 600 s budget
    assert processes_left(workers) == []  # killed, not running on with the search
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.split() == ["restarts", "2"], (out, err)


def test_aborting_a_search_leaves_a_sweep_and_a_search_of_other_threads_their_workers(tmp_path):
    # the worker processes are shared (packing._workers): killing them ended the other users' jobs
    # with loky's ShutdownExecutorError, the sweep's and the other search's alike
    script = textwrap.dedent(
        """
        import sys, threading, time
        from packing import optimize_packing, sweep
        out = {{}}
        def run(name, call):
            try:
                out[name] = call()
            except BaseException as e:
                out[name] = f"{{type(e).__name__}}: {{e}}"
        others = [
            threading.Thread(target=run, args=("sweep", lambda: sweep(
                "optimize_packing", {{"n": [12], "d": [3], "budget": [0.3]}}, seeds=4,
                cache_dir={folder!r}, n_jobs=2, progress=False))),
            threading.Thread(target=run, args=("search", lambda: optimize_packing(
                20, 4, rng=0, restarts=4, workers=2, progress=False))),
        ]
        def launch():  # once this search's workers are busy, the others queue their jobs
            sys.stdin.readline()
            for t in others:
                t.start()
            from joblib.externals.loky import reusable_executor
            for _ in range(1200):
                jobs = [w.fn.__name__ for w in list(reusable_executor._executor._pending_work_items.values())]
                if jobs.count("_search_worker") == 4 and "compute_chunk" in jobs:
                    break
                time.sleep(0.1)
            print("others", jobs, flush=True)
        launcher = threading.Thread(target=launch)
        launcher.start()
        {aborted}
        launcher.join()
        for t in others:
            t.join()
        table, result = out["sweep"], out["search"]
        print(sorted(set(table.status)) if hasattr(table, "status") else table, flush=True)
        print(result.stopping_reason if hasattr(result, "stopping_reason") else result, flush=True)
        """
    ).format(aborted=ABORTED, folder=str(tmp_path))
    errors = open(tmp_path / "stderr", "w")  # a file: reading a pipe after readline may lose lines
    proc = start_script(script, stdin=subprocess.PIPE, stderr=errors)
    try:
        assert proc.stdout.readline().strip() == "start"
        workers = wait_until_workers_compute(proc.pid)
        proc.stdin.write("\n")
        proc.stdin.flush()
        line = proc.stdout.readline()  # the others' jobs are queued
        assert line.startswith("others") and line.count("_search_worker") == 4, line
        proc.send_signal(signal.SIGINT)
        time.sleep(0.4)
        proc.send_signal(signal.SIGINT)  # abort, while the workers are inside the search's long stage
        t = time.perf_counter()
        line = proc.stdout.readline()
        seconds = time.perf_counter() - t
        assert line.strip() == "KeyboardInterrupt", line
        assert seconds < 20, seconds  # the call is aborted at once ...
        left = processes_left(workers, timeout=0.0)
        proc.wait(timeout=400)
        out = proc.stdout.read()
    finally:
        proc.kill()
        errors.close()
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["['computed']", "restarts"], (out, err)  # the others' results
    # the processes, in which the others' jobs waited, were not killed: the search's two jobs ran
    # on to the end of their stage (up to about 23 CPU seconds), then the others' jobs
    assert len(left) == 2, left
