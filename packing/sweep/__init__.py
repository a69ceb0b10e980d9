"""Sweeps: a task over a grid of configurations and seeds, on all local cores or a Dask cluster, cached.

:func:`sweep` runs one of the toolkit's jobs (:func:`sweep_tasks`; add your own
with :func:`register_task`) on every cell of a grid, in parallel with joblib on
this machine's cores or, given ``client=``, on a Dask cluster, and returns one
pandas table (:func:`sweep_dataset` makes an xarray Dataset of a regular grid).
Every cell is stored in ``cache_dir`` in the toolkit's result format under the
hash of what determines it (:func:`cell_key`), so an interrupted sweep resumes
and a finished one reloads at once; :func:`load_cell` reads a cell's full
result. ``packing sweep TASK GRID`` does the same from the shell.

``packing.sweep`` is the function; its modules are reached with
``from packing.sweep import ...``.
"""

from ._cache import SweepCell, cell_key, load_cell
from ._engine import SweepError, sweep, sweep_dataset
from ._grid import read_grid
from ._tasks import SweepTask, register_task, sweep_tasks

__all__ = [
    "SweepCell",
    "SweepError",
    "SweepTask",
    "cell_key",
    "load_cell",
    "read_grid",
    "register_task",
    "sweep",
    "sweep_dataset",
    "sweep_tasks",
]
