"""The sweep engine: cells computed by joblib on local cores or by a Dask cluster, stored in one cache."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._progress import check_progress, progress_bar
from .._results import Savable, result_bytes
from .._validation import _describe, check_memory
from .._workers import WORKER_ENV, WORKER_IDLE_SECONDS, reusable_executor  # noqa: F401 (re-exported)
from .._workers import submit as submit_job
from ._cache import (
    SweepCell,
    canonical,
    cell_key,
    cell_path,
    prepare_cache,
    read_cell,
    sync_cells,
    write_cell,
)
from ._grid import column_value, expand_grid
from ._tasks import FORBIDDEN, SweepTask, get_task, is_scalar, plain_scalar

__all__ = ["sweep", "sweep_dataset", "SweepError"]

#: Seconds to wait for a Dask scheduler given by address before giving up.
CONNECT_TIMEOUT = 10.0
#: Columns the engine adds to every table, after the configuration and the task's summary.
ENGINE_COLUMNS = ("seed", "status", "cell_seconds", "key", "path")


class SweepError(RuntimeError):
    """A cell's task raised: the message names the task, configuration, seed and the task's error.

    ``cell`` is ``{"config": ..., "seed": ...}``; ``error`` the name of the task's
    exception type (``"ValueError"`` for a value the task refused). Cells
    finished before stay in the cache.
    """

    def __init__(self, message: str, cell: dict | None = None, error: str = ""):
        super().__init__(message, cell, error)  # every argument in args: it crosses processes intact
        self.cell, self.error = cell, error

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- one cell (in a worker)


_CONTROLLER = []


def _blas_controller():
    """Return the process's threadpoolctl controller, made once (finding the BLAS libraries takes ms)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def _check_version(version: str | None) -> None:
    from .. import __version__

    if version is not None and version != __version__:  # a cluster worker with another installation
        raise RuntimeError(
            f"a worker runs packing {__version__}, the sweep packing {version}: its cells would not be the "
            "cells of their keys; install the same version of packing on every worker."
        )


def _run_cell(task: SweepTask, config: dict, seed, key: str) -> SweepCell:
    """Run the task on one cell (BLAS limited to one thread) and return the cell with its summary."""
    kwargs = {**config, **task.fixed}
    if task.seed_arg is not None:
        kwargs[task.seed_arg] = seed
    with _blas_controller().limit(limits=1):
        start = time.perf_counter()
        try:
            result = task.fn(**kwargs)
        except Exception as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in config.items())
            raise SweepError(
                f"task {task.name!r} failed on the cell ({shown}) with seed {seed}: {type(exc).__name__}: "
                f"{' '.join(str(exc).split())}",
                {"config": config, "seed": seed},
                type(exc).__name__,
            ) from exc
        seconds = time.perf_counter() - start
    if not isinstance(result, Savable | Mapping):
        raise TypeError(
            f"task {task.name!r} must return a result object of the toolkit (e.g. a ToyModelResult) or a "
            f"dict; got {_describe(result)}."
        )
    summary = task.summarize(result)
    if not isinstance(summary, Mapping) or not all(
        isinstance(k, str) and is_scalar(v) for k, v in summary.items()
    ):
        raise TypeError(
            f"the summarize function of task {task.name!r} must return a dict of scalars (numbers, strings, "
            f"booleans, None); got {_describe(summary)}."
        )
    summary = {k: plain_scalar(v) for k, v in summary.items()}
    return SweepCell(task.name, key, config, seed, summary, result, seconds, task.version)


def compute_cell(task: SweepTask, config: dict, seed, key: str, version: str | None = None):
    """Run one cell and return ``(key, bytes of its result file)``; runs in a Dask worker.

    BLAS is limited to one thread here and the task gets ``n_threads=1``: the
    processes are the parallelism. The bytes are a result file in the toolkit's
    format, so what crosses the process (or machine) boundary is checked and
    decoded like a file by the caller; no result object is unpickled.
    """
    _check_version(version)
    return key, result_bytes(_run_cell(task, config, seed, key))


class _CellWriter:
    """Writes cell files on a thread of their own, so that a file's ``fsync`` overlaps the next cell.

    Each file is written atomically and synced before its rename; the folder is
    synced once when the block ends (also on an error, after the files finished
    so far are written), not once per file.
    """

    def __init__(self, folder: Path):
        self.folder, self.pending = folder, []

    def __enter__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(1, thread_name_prefix="packing-sweep-writer")
        return self

    def write(self, key: str, data: bytes) -> None:
        path = self.folder / f"{key}.npz"
        self.pending.append(self.pool.submit(write_cell, path, data, sync_folder=False))

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True)
        if self.pending:
            sync_cells(self.folder)
        if exc[0] is None:
            for future in self.pending:
                future.result()  # a write that failed raises here


def compute_chunk(task: SweepTask, items: list, folder: str, version: str | None = None) -> list:
    """Run cells ``(config, seed, key)`` one after another, store each in ``folder``; runs in a local worker.

    Returns ``[(key, summary, seconds), ...]``: only the small summaries cross
    the process boundary, the full results go straight to the cache (the same
    files, byte for byte in content, as one cell per call would write). A cell
    that raises ends the chunk; the cells before it are stored.
    """
    _check_version(version)
    done = []
    with _CellWriter(Path(folder)) as writer:
        for config, seed, key in items:
            cell = _run_cell(task, config, seed, key)
            writer.write(key, result_bytes(cell))
            done.append((key, cell.summary, cell.seconds))
    return done


# --------------------------------------------------------------------------- validation


def _check_seeds(seeds, task: SweepTask) -> list:
    if (
        isinstance(seeds, bool)
        or not isinstance(seeds, numbers.Integral | Sequence | np.ndarray)
        or isinstance(seeds, str)
    ):
        raise TypeError(
            f"seeds must be a number of seeds (int >= 1) or a list of int seeds; got {_describe(seeds)}."
        )
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (the seeds 0, 1, ..., seeds - 1); got {int(seeds)}.")
        check_memory(200 * int(seeds), "sweep", "the list of seeds (and a cell per seed)", seeds=int(seeds))
        values = list(range(int(seeds)))
    else:
        values = list(np.asarray(seeds).ravel()) if isinstance(seeds, np.ndarray) else list(seeds)
        if not values:
            raise ValueError("seeds must list at least one seed; got an empty list.")
        for s in values:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
                raise ValueError(f"seeds must be integers >= 0; got {_describe(s)} in {_describe(seeds)}.")
        values = [int(s) for s in values]
        if len(set(values)) != len(values):
            raise ValueError(f"seeds must not repeat a seed; got {values}.")
    if task.seed_arg is None:
        if values != [0]:
            raise ValueError(
                f"seeds must be 1 for task {task.name!r}: it takes no random seed, so every seed would "
                f"give the same cell; got {_describe(seeds)}."
            )
        return [None]
    return values


def _full_config(task: SweepTask, cell: dict, i: int, params: dict, open_ended: bool) -> dict:
    """Return the cell's configuration with every default filled in; refuse unknown parameters."""
    for k in cell:
        if k in params:
            continue
        if k in task.fixed or k in FORBIDDEN or k in ("rng", "seed"):
            why = "the sweep sets it" if k not in FORBIDDEN else "a sweep writes its own files"
            raise ValueError(
                f"grid must not set {k!r} for task {task.name!r} ({why}); got {k!r} in the grid."
            )
        if not open_ended:
            raise ValueError(
                f"grid must set arguments of task {task.name!r} ({', '.join(params)}); got {k!r}, "
                "which it does not take."
            )
    full = {k: p.default for k, p in params.items() if p.default is not p.empty}
    full.update(cell)
    missing = [k for k, p in params.items() if p.default is p.empty and k not in full]
    if missing:
        raise ValueError(
            f"grid must give task {task.name!r} its required argument(s) {', '.join(map(repr, missing))}; "
            f"got configuration {i} with {', '.join(map(repr, cell)) or 'none'}."
        )
    canonical(full, f"grid configuration {i}")  # plain data only: a TypeError names the parameter
    return full


def _check_n_jobs(n_jobs) -> int:
    from ..train._parallel import available_cpus

    cores = available_cpus()
    if n_jobs is None:
        return cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None (every core), a positive int, or a negative int (-1: every core, -2: all "
            f"but one); got {_describe(n_jobs)}."
        )
    return int(n_jobs) if n_jobs > 0 else max(1, cores + 1 + int(n_jobs))


def _check_chunk_size(chunk_size) -> int | None:
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(
            f"chunk_size must be None (sized from the cells' times) or a positive int (cells per call of "
            f"a worker); got {_describe(chunk_size)}."
        )
    return int(chunk_size)


def _check_client(client) -> None:
    """Refuse anything but ``None``, a scheduler address or a Dask client (before any work)."""
    if client is None:
        return
    if isinstance(client, str):
        _check_address(client)
        return
    if not all(hasattr(client, a) for a in ("submit", "map", "scheduler_info")):
        raise TypeError(
            f"client must be a dask.distributed.Client or a scheduler address 'tcp://HOST:PORT'; got "
            f"{_describe(client)}."
        )


def _check_address(address: str) -> None:
    """Refuse a scheduler address that cannot be parsed, before a Client is built for it.

    A Client that fails on a malformed address (``"abc"``: no port) is left half
    built, and its finalizer then holds the interpreter's exit for 20 s.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise ValueError(
            f"client must be a dask.distributed.Client or a scheduler address 'tcp://HOST:PORT'; got "
            f"{address!r} ({exc})."
        ) from None


def _connect(client, timeout: float):
    """Return ``(client, owned)`` for a Client or a scheduler address (one that does not answer raises)."""
    if client is None:
        return None, False
    _check_client(client)
    if isinstance(client, str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - a core dependency
            raise ImportError(
                "client needs the 'distributed' package: pip install 'dask[distributed]'."
            ) from None
        try:
            return Client(client, timeout=timeout, set_as_default=False), True
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(
                f"client must be a Dask scheduler that answers within {timeout:g} s; got {client!r}, which "
                f"does not answer ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})."
            ) from None
    if getattr(client, "status", "running") != "running":
        raise ValueError(
            f"client must be a running dask.distributed.Client; this one is {client.status!r}."
        )
    return client, False


# --------------------------------------------------------------------------- the sweep


def sweep(
    task,
    grid,
    *,
    seeds=1,
    cache_dir="packing-sweeps",
    n_jobs=None,
    client=None,
    progress="auto",
    chunk_size=None,
):
    """Run ``task`` on every cell of ``grid`` and seed, in parallel, cached; return one table.

    Each cell (one configuration and one seed) is keyed by the SHA-256 of its
    full configuration (defaults filled in), seed, task name and package
    version (:func:`packing.sweep.cell_key`) and stored in ``cache_dir`` in the
    toolkit's result format as it finishes. A cell already there is reloaded,
    so an interrupted sweep (Ctrl-C, ``kill -9``, a lost cluster) resumes where
    it stopped and a finished one returns at once; a corrupt or stale file is
    recomputed.

    Parameters
    ----------
    task : str
        A sweep task (:func:`packing.sweep_tasks`): ``"train_toy_model"``,
        ``"optimize_packing"``, ``"optimal_partition"``, the models of other
        modules when installed, or a function registered with
        :func:`packing.register_task`.
    grid : mapping or list of mappings
        ``{parameter: [values]}`` for the full product (the last parameter varies
        fastest; a value that is not a list is one value, so a per-instance
        vector is written ``"sparsity": [[0.0, 0.9]]``), or a list of
        configurations. Parameters are the task's keyword arguments, except the
        seed, ``progress``, ``n_threads``, ``blas_threads`` and checkpoints,
        which the sweep sets.
    seeds : int or list of int
        ``k``: the seeds ``0 .. k-1``; or the seeds themselves. Each cell's seed
        is passed to the task as its ``rng`` (or ``seed``), so a row can be
        reproduced by calling the task with its configuration and
        ``rng=seed``; cells with the same seed share a random stream (common
        random numbers across the grid).
    cache_dir : str or Path
        Folder of the cache (created if needed); cells are in
        ``cache_dir/<task>/<key>.npz``.
    n_jobs : int, optional
        Local worker processes (joblib's reusable loky executor): default every
        core this process may use, ``-1`` the same, ``1`` runs the cells one
        after another in this process. Each worker limits BLAS to one thread
        and trains with ``n_threads=1``. The workers start when the first cell
        to compute is found and stay up, idle, for the next sweep (5 minutes).
    client : dask.distributed.Client or str, optional
        Run the cells on this Dask cluster instead (or connect to the scheduler
        at this address, ``"tcp://HOST:PORT"``, waiting at most 10 s). Same
        cells, same seeds, same results, same cache as a local run.
    progress : True, False or "auto"
        One progress bar over the cells on standard error (``"auto"``: when it
        is a terminal).
    chunk_size : int, optional
        Cells a local worker runs per call (it stores each cell as it finishes
        and returns only the summaries). Default: sized from the first cells'
        times, so that small cells are sent in chunks of about 0.25 s of work
        and the workers finish together. Results, files and resuming do not
        depend on it. Ignored with ``n_jobs=1`` and on a Dask cluster (one cell
        per task there).

    Returns
    -------
    pandas.DataFrame
        One row per cell and seed in grid order: the grid's parameters, the
        task's summary columns (e.g. ``eval_loss``, ``dims_per_feature`` for
        toy models; ``coherence``, ``gap`` for packings; ``k``, ``loss`` for
        partitions), then ``seed``, ``status`` (``"computed"``, ``"cached"`` or
        ``"recomputed"`` for a corrupt or stale file), ``cell_seconds``, ``key``
        and ``path`` (:func:`packing.load_cell` reads the full result).
        ``table.attrs`` holds the task, cache folder and counts.
        :func:`packing.sweep_dataset` turns a regular grid into an xarray
        Dataset.

    Raises
    ------
    ValueError
        An unknown task, a parameter the task does not take, an empty grid, a
        cache folder that cannot be written (:class:`packing.PackingFileError`),
        a scheduler that does not answer.
    SweepError
        A cell's task raised (its exception is the ``__cause__``); cells
        finished before stay in the cache.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> table = sweep("optimal_partition", {"n": [6, 8], "d": [3], "p": [1.0, 2.0]},
    ...               cache_dir=folder, n_jobs=1, progress=False)
    >>> table[["n", "p", "k", "status"]]
       n    p  k    status
    0  6  1.0  3  computed
    1  6  2.0  1  computed
    2  8  1.0  3  computed
    3  8  2.0  1  computed
    >>> table["k"].tolist() == [optimal_partition(n, 3, p).k for n in (6, 8) for p in (1.0, 2.0)]
    True
    >>> again = sweep("optimal_partition", {"n": [6, 8], "d": [3], "p": [1.0, 2.0]},
    ...               cache_dir=folder, n_jobs=1, progress=False)
    >>> list(again["status"].unique()), again["k"].equals(table["k"])
    (['cached'], True)
    >>> sweep("optimal_partition", {"n": [6], "q": [1]}, cache_dir=folder)
    Traceback (most recent call last):
    ...
    ValueError: grid must set arguments of task 'optimal_partition' (n, d, p, ...); got 'q', which ...
    """
    task = get_task(task)
    configs, names = expand_grid(grid)
    seed_list = _check_seeds(seeds, task)
    progress = check_progress(progress)
    params, open_ended = task.parameters()
    full = [_full_config(task, c, i, params, open_ended) for i, c in enumerate(configs)]
    cache = prepare_cache(cache_dir)
    _check_client(client)
    workers = _check_n_jobs(n_jobs) if client is None else None
    chunk = _check_chunk_size(chunk_size)
    started = time.perf_counter()

    cells = []  # (config index, seed, key, path)
    for i, cfg in enumerate(full):
        for s in seed_list:
            key = cell_key(task.name, cfg, s, task_version=task.version)
            cells.append((i, s, key, cell_path(cache, task.name, key)))
    found: dict[str, dict] = {}
    status: dict[str, str] = {}
    todo = []
    seen = set()
    executor = None
    for i, s, key, path in cells:
        if key in seen:
            continue
        seen.add(key)
        cell = read_cell(path, key)
        if cell is not None:
            found[key], status[key] = cell, "cached"
        else:
            status[key] = "recomputed" if path.exists() else "computed"
            todo.append((full[i], s, key, path))
            if executor is None and workers is not None and workers > 1 and len(cells) > 1:
                # a cell to compute: start the workers now, so that they start up while the rest of
                # the cache is read (a finished sweep starts none)
                executor = start_workers(task, workers)
    import pandas as pd  # here: while the workers start up

    if todo:
        folder = cell_path(cache, task.name, "-").parent.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        client, owned = _connect(client, CONNECT_TIMEOUT)
        try:
            with progress_bar(
                len(todo), desc=f"sweep {task.name}", unit="cell", progress=progress, leave=True
            ) as bar:
                if client is not None:
                    done = _run_dask(task, todo, client, folder)
                else:
                    done = _run_local(task, todo, workers, folder, chunk, executor)
                for finished in done:
                    for key, summary, seconds in finished:
                        found[key] = {"summary": summary, "seconds": seconds}
                    bar.update(len(finished))
        finally:
            if owned:
                client.close()

    rows = []
    for i, s, key, path in cells:
        cell = found[key]
        row = {k: column_value(configs[i][k]) if k in configs[i] else None for k in names}
        taken = (*names, *ENGINE_COLUMNS)  # a summary column of the same name is renamed, never lost
        row.update({k if k not in taken else f"summary_{k}": v for k, v in cell["summary"].items()})
        row.update(seed=s, status=status[key], cell_seconds=cell["seconds"], key=key, path=str(path))
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs.update(
        task=task.name,
        cache_dir=str(cache),
        parameters=list(names),
        cells=len(cells),
        computed=sum(1 for v in status.values() if v == "computed"),
        recomputed=sum(1 for v in status.values() if v == "recomputed"),
        cached=sum(1 for v in status.values() if v == "cached"),
        seconds=time.perf_counter() - started,
    )
    return table


#: Seconds of work a chunk of cells aims at (local workers, ``chunk_size=None``): enough that one call's
#: fixed cost (sending the chunk, returning its summaries) is a few percent of it.
CHUNK_SECONDS = 0.25


class _Chunks:
    """The cells in chunks for the local workers: a fixed size, or sized from the cells' measured times.

    Adaptive (``size=None``): the first chunk of each worker holds one cell;
    afterwards a chunk holds about :data:`CHUNK_SECONDS` of work at the mean
    time of the cells finished so far, and never more than a quarter of the
    remaining cells per worker, so that the workers finish together. Which
    cells share a chunk changes neither their results nor their files.
    """

    def __init__(self, todo: list, workers: int, size: int | None):
        self.todo, self.workers, self.size = todo, workers, size
        self.cells, self.seconds = 0, 0.0

    def record(self, finished: list) -> None:
        self.cells += len(finished)
        self.seconds += sum(seconds for _, _, seconds in finished)

    def __iter__(self):
        i, n = 0, len(self.todo)
        while i < n:
            if self.size is not None:
                size = self.size
            elif self.cells == 0 or i < self.workers:
                size = 1
            else:
                mean = max(self.seconds / self.cells, 1e-6)
                size = max(1, min(int(CHUNK_SECONDS / mean), (n - i) // (4 * self.workers)))
            yield [(cfg, s, key) for cfg, s, key, _ in self.todo[i : i + size]]
            i += size


def _warm_up(task: SweepTask) -> int:
    """Nothing: receiving ``task`` makes a starting worker import the task's modules; returns its pid."""
    import os

    return os.getpid()


def start_workers(task: SweepTask, workers: int):
    """Return joblib's reusable loky executor of ``workers`` processes, starting them now if needed.

    Each worker is sent :func:`_warm_up` at once, so that its start-up and
    imports overlap whatever this process does before the first cells are
    submitted (reading the cache, importing pandas). Workers that already run,
    from an earlier sweep of this process, are reused as they are.
    """
    executor = reusable_executor(workers)
    for _ in range(workers):
        executor, _ = submit_job(executor, workers, _warm_up, task)
    return executor


def stop_workers() -> None:
    """Shut the local worker processes down (the next parallel sweep starts them again)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(reuse=True).shutdown(wait=True)  # reuse=True: the running one, as it is


def _run_local(task: SweepTask, todo: list, workers: int, folder: Path, chunk: int | None, executor=None):
    """Yield ``[(key, summary, seconds), ...]`` as cells finish: ``workers`` loky processes, or here.

    The workers store the cells' files themselves (:func:`compute_chunk`) and
    return only their summaries; here, one after another, the files are written
    on a thread while the next cell runs. Each worker has a second chunk queued
    while it runs one, so it never waits for this process between chunks. After
    an error (a cell's, or Ctrl-C here) the chunks already running finish and
    store their cells; the queued ones are dropped. After a cell's error the
    error is raised once the running chunks have finished (the cache no longer
    changes); after Ctrl-C at once.
    """
    if workers == 1 or len(todo) == 1:
        with _CellWriter(folder) as writer:
            for cfg, s, key, _ in todo:
                cell = _run_cell(task, cfg, s, key)
                writer.write(key, result_bytes(cell))
                yield [(key, cell.summary, cell.seconds)]
        return
    from concurrent.futures import FIRST_COMPLETED, wait

    if executor is None:
        executor = start_workers(task, workers)
    n = min(workers, len(todo))
    chunks = _Chunks(todo, n, chunk)
    source = iter(chunks)
    pending = set()

    def submit() -> None:
        nonlocal executor
        items = next(source, None)
        if items is not None:  # on new processes if an aborted search has shut these down
            executor, future = submit_job(executor, workers, compute_chunk, task, items, str(folder))
            pending.add(future)

    try:
        for _ in range(2 * n):
            submit()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                finished = future.result()
                chunks.record(finished)
                submit()
                yield finished
    except KeyboardInterrupt:  # the queued chunks are dropped; the running ones store their cells unwaited
        for future in pending:
            future.cancel()
        raise
    except BaseException:  # a cell's error or an abandoned sweep: drop the queued chunks, then wait for
        # the running ones, so that the cache holds every cell it will hold when the error surfaces
        for future in pending:
            future.cancel()
        wait([f for f in pending if not f.cancelled()])
        raise


def _run_dask(task: SweepTask, todo: list, client, folder: Path):
    """Yield ``[(key, summary, seconds)]`` of each cell as the cluster finishes it (lost cells are rerun).

    A cluster's workers need not see this machine's disk: each returns its
    cell's file bytes, written here (the folder synced once at the end) and
    read back through the cache's checks.
    """
    from distributed import as_completed

    cfgs, seeds, keys, _ = zip(*todo, strict=True)
    names = [f"packing-sweep-{task.name}-{key}" for key in keys]
    from .. import __version__

    n = len(todo)
    versions = [__version__] * n
    futures = client.map(compute_cell, [task] * n, cfgs, seeds, keys, versions, key=names, pure=False)
    written = False
    try:
        for future in as_completed(futures, loop=client.loop):
            key, data = future.result()
            path = folder / f"{key}.npz"
            write_cell(path, data, sync_folder=False)
            written = True
            cell = read_cell(path, key)
            if cell is None:  # pragma: no cover - the bytes were written by compute_cell
                raise RuntimeError(f"the cell {key} written to {str(path)!r} does not read back.")
            yield [(key, cell["summary"], cell["seconds"])]
    finally:
        if written:
            sync_cells(folder)
        for future in futures:
            future.release()


# --------------------------------------------------------------------------- xarray


def sweep_dataset(table):
    """Return a sweep's table as an xarray Dataset with one dimension per grid parameter and ``seed``.

    Only for a regular grid (the full product of the parameters' values, every
    parameter a scalar); other tables stay DataFrames.

    Examples
    --------
    >>> import tempfile
    >>> table = sweep("optimal_partition", {"n": [6, 8, 10], "d": [3], "p": [1.0, 2.0]},
    ...               cache_dir=tempfile.mkdtemp(), n_jobs=1, progress=False)
    >>> ds = sweep_dataset(table)
    >>> dict(ds["k"].sizes)
    {'n': 3, 'd': 1, 'p': 2, 'seed': 1}
    >>> int(ds["k"].sel(n=8, p=2.0, d=3, seed=0)) == optimal_partition(8, 3, 2.0).k
    True
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or "parameters" not in table.attrs:
        raise TypeError(f"table must be a DataFrame returned by packing.sweep; got {_describe(table)}.")
    dims = [*table.attrs["parameters"], "seed"]
    for k in dims:
        if table[k].map(lambda v: isinstance(v, tuple)).any():
            raise ValueError(
                f"table column {k!r} holds lists (one per cell), which cannot label a dimension; use the "
                "DataFrame instead."
            )
    sizes = [table[k].nunique(dropna=False) for k in dims]
    if len(table) != math.prod(sizes) or table.duplicated(subset=dims).any():
        raise ValueError(
            f"table must be a regular grid (the product of its parameters' values); got {len(table)} rows, "
            "but its parameters take "
            f"{' x '.join(map(str, sizes))} = {math.prod(sizes)} combinations of distinct "
            "values; use the DataFrame."
        )
    return table.set_index(dims).to_xarray()
