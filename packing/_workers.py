"""Local worker processes shared by the toolkit's parallel code (the sweep engine, the packing search).

Both use joblib's reusable loky executor with the same environment, so that a
sweep and a parallel :func:`packing.optimize_packing` in one session reuse the
same processes instead of restarting them. Every worker runs one BLAS/OpenMP
thread (the processes are the parallelism) and carries ``PACKING_WORKER=1``,
by which the toolkit's defaults know not to start processes of their own
inside it (a nested pool would only oversubscribe the cores).
"""

from __future__ import annotations

import multiprocessing
import os

#: Seconds an idle local worker process waits for the next job before it exits (joblib's default).
WORKER_IDLE_SECONDS = 300
#: Marks a process as one of the toolkit's workers (see :func:`in_worker_process`).
WORKER_MARK = "PACKING_WORKER"
#: Environment of the local worker processes: one BLAS/OpenMP thread each, the processes are the parallelism.
WORKER_ENV = {
    **{
        var: "1"
        for var in (
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
            "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS",
            "NUMEXPR_NUM_THREADS",
        )
    },
    WORKER_MARK: "1",
}


def in_worker_process() -> bool:
    """Whether this process is a worker of some pool (the toolkit's, multiprocessing's, loky's, Dask's).

    Defaults that would start worker processes stay serial there: the pool
    above already uses the cores.
    """
    if os.environ.get(WORKER_MARK) == "1":
        return True
    if multiprocessing.parent_process() is not None:
        return True
    return multiprocessing.current_process().name != "MainProcess"


def reusable_executor(workers: int):
    """Return joblib's reusable loky executor of ``workers`` processes (started on first use)."""
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers, timeout=WORKER_IDLE_SECONDS, env=WORKER_ENV)


def submit(executor, workers: int, fn, *args):
    """Return ``(executor, future)`` of ``fn(*args)``: on ``executor``, or on a new pool if it was shut down.

    A search's abort shuts the shared pool down when no other jobs are in it
    (:func:`abort_tasks`); a user that held it without a job at that moment (a
    sweep reading its cache after its workers started) carries on in a new pool
    of ``workers`` processes instead of failing with loky's ``ShutdownExecutorError``.
    """
    from joblib.externals.loky.process_executor import ShutdownExecutorError

    try:
        return executor, executor.submit(fn, *args)
    except ShutdownExecutorError:
        executor = reusable_executor(workers)
        return executor, executor.submit(fn, *args)


def abort_tasks(executor, futures) -> bool:
    """Stop ``futures`` of ``executor`` at once: kill its processes when nothing else runs in them.

    Killing a loky worker ends every job of the pool, with an error, so the
    processes are killed only when all the pool's unfinished jobs are
    ``futures``. When another user has jobs in it (a sweep, or a search in
    another thread of this process), they are left alone: the queued ones of
    ``futures`` are cancelled and the running ones finish in the background
    (the caller has told them to stop). Returns whether the processes were
    killed.
    """
    mine = set(futures)
    # the pool's lock for submitting and for handing the pool out: no one adds a job between the look
    # and the kill
    with executor._submit_resize_lock:
        others = [
            item for item in list(executor._pending_work_items.values())
            if item.future not in mine and not item.future.done()
        ]
        if not others:
            executor.shutdown(wait=True, kill_workers=True)
            return True
    for future in futures:
        future.cancel()
    return False
