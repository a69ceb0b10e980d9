"""Threads for the numpy trainers: how many cores the process may use, how to lay them out, a worker pool.

* :func:`available_cpus`: the CPUs this process may run on (its affinity mask),
  capped by a cgroup CPU quota (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us``
  in v1), as a container or a batch scheduler sets them.
* :func:`choose_layout`: worker threads over independent groups of work
  (rather than BLAS threads inside each matrix product), for a given problem.
* :class:`WorkerPool`: persistent threads that run numbered tasks; numpy
  releases the GIL inside its loops and BLAS calls, so the tasks run in parallel.
* :func:`blas_limits`: BLAS threads during a run (threadpoolctl).

Nothing here changes a result: the trainers split their work into groups fixed
by the problem's shape, each with its own random stream and its own output
slots, and only the assignment of groups to threads depends on the layout
(unless BLAS threads are asked for explicitly, see :func:`choose_layout`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

__all__: list[str] = []

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs allowed by the tightest cgroup CPU quota on this process's path (``None``: no quota)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    v2, v1 = None, None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2]
        elif "cpu" in parts[1].split(","):
            v1 = (parts[1], parts[2])
    limits = []
    if v2 is not None or not lines:
        for d in _ancestors(root, v2 or "/"):
            limits.append(_read_v2(d / "cpu.max"))
    if v1 is not None:
        controller, path = v1
        for base in (root / controller, root / "cpu", root / "cpu,cpuacct"):
            for d in _ancestors(base, path):
                limits.append(_read_v1(d))
    limits = [q for q in limits if q is not None]
    return min(limits) if limits else None


def _ancestors(base: Path, path: str):
    """Yield ``base / path`` and each of its parents up to ``base`` (the quota of any of them applies)."""
    parts = [p for p in path.split("/") if p and p != ".."]
    for k in range(len(parts), -1, -1):
        yield base.joinpath(*parts[:k])


def _read_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def _read_v1(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (rounded down, >= 1).

    Examples
    --------
    >>> 1 <= available_cpus() <= (os.cpu_count() or 1)
    True
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, math.floor(quota + 1e-9)))
    return max(1, n)


@dataclass(frozen=True)
class Layout:
    """``workers`` threads, each calling a BLAS limited to ``blas_threads`` threads."""

    workers: int
    blas_threads: int


def choose_layout(n_groups: int, threads: int | None = None, blas_threads: int | None = None) -> Layout:
    """Lay out ``threads`` threads (``None``: :func:`available_cpus`) over ``n_groups`` groups of work.

    Every thread is a worker taking whole groups, with a single-threaded BLAS:
    workers need no synchronization inside a group, so they scale where BLAS
    threads, splitting each small product, mostly wait for each other; and
    OpenBLAS's threaded products do not sum in the same order as its
    single-threaded ones (measured: a quarter of the entries of a 64 x 200 model
    differed in the last bit after four steps), which would make results depend
    on the thread count. The kernels therefore split large problems into enough
    groups (:func:`packing.train._kernel.plan_groups`). ``blas_threads`` asks
    for that many BLAS threads per worker anyway (then ``threads // blas_threads``
    workers; results may differ in the last bits).
    """
    threads = available_cpus() if threads is None else threads
    blas = 1 if blas_threads is None else blas_threads
    return Layout(max(1, min(n_groups, threads // blas)), blas)


@contextlib.contextmanager
def blas_limits(n):
    """Limit BLAS to ``n`` threads while the block runs (a no-op for ``None``)."""
    if n is None:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


class WorkerPool:
    """``workers`` threads (the caller is one of them) that run ``fn(task, worker)`` for numbered tasks.

    Tasks are taken in order from a shared counter, so a thread slowed down by
    another process on the machine takes fewer of them. ``fn`` must write only
    to the task's own outputs and the worker's own scratch buffers. numpy's
    floating-point error state is per thread: the workers take the caller's.
    """

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._executor = None

    def run(self, fn, n_tasks: int) -> None:
        """Run ``fn(task, worker)`` for ``task in range(n_tasks)``; re-raise the first error."""
        helpers = min(self.workers, n_tasks) - 1
        if helpers <= 0:
            for task in range(n_tasks):
                fn(task, 0)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="packing-train")
        counter = itertools.count()
        err = np.geterr()

        def work(worker):
            with np.errstate(**err):
                while (task := next(counter)) < n_tasks:  # next() on a count is atomic under the GIL
                    fn(task, worker)

        futures = [self._executor.submit(work, w) for w in range(1, helpers + 1)]
        try:
            work(0)
        finally:
            errors = [f.exception() for f in futures]  # waits: no buffer is reused while a worker runs
        for e in errors:
            if e is not None:
                raise e

    def close(self) -> None:
        """Stop the threads (they are restarted by the next :meth:`run`)."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
