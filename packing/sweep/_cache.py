"""Cells of a sweep on disk: one result file per cell, named by the hash of what determines it.

A cell is one call of a task with one configuration and one seed. Its key is the
SHA-256 of the canonical JSON text (sorted keys, no spaces, ASCII)::

    {"config": ..., "packing_version": "0.1.0", "seed": 3, "task": "train_toy_model", "task_version": ""}

where ``config`` holds every argument of the task that a grid may set (given
ones and defaults), each value in canonical form: ``None``, booleans, strings
and integers as themselves; a finite float as JSON writes it (``repr``); a
non-finite one as ``{"$float": "inf" | "-inf" | "nan"}``; lists and tuples as
lists; a dict as an object (string keys); an array as ``{"$array": dtype,
"shape": [...], "sha256": hex}`` (hash of its C-order bytes); a type such as
``np.float32`` as ``{"$type": "float32"}``; a dtype as ``{"$dtype": str}``.
NumPy scalars count as the Python number they hold.

The cell is stored at ``<cache_dir>/<task>/<key>.npz`` as a :class:`SweepCell`
in the toolkit's result format (:mod:`packing._results`: atomic writes,
checksummed arrays, nothing pickled).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import numbers
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._files import PackingFileError, _sync_folder, atomic_write, is_regular_file
from .._limits import memory_limit_and_source
from .._results import FORMAT, RECORD, Decoder, Savable, _type_name, load_result
from .._validation import _describe

__all__ = ["SweepCell", "cell_key", "load_cell"]


@dataclasses.dataclass
class SweepCell(Savable, schema=1):
    """One computed cell of a sweep, as stored in its cache (see :func:`packing.sweep`).

    Attributes
    ----------
    task : str
        The task's name.
    key : str
        The cell's key (:func:`cell_key`), also its file name.
    config : dict
        Every argument of the task that a grid may set, defaults included.
    seed : int or None
        The seed passed to the task (``None`` for a deterministic task).
    summary : dict
        The task's scalar columns of the sweep's table.
    result : result object or dict
        What the task returned (e.g. a ``ToyModelResult``).
    seconds : float
        Wall time of the task call.
    task_version : str
        The task's version string when it was computed.
    """

    task: str
    key: str
    config: dict
    seed: int | None
    summary: dict
    result: object
    seconds: float = 0.0
    task_version: str = ""

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.result, Savable | Mapping):
            raise TypeError(
                "SweepCell: result must be a result object of the toolkit or a dict; "
                f"got {_describe(self.result)}."
            )
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"SweepCell: seed must be None or an int >= 0; got {self.seed}.")

    def result_config(self) -> dict:
        """Return the configuration in the file's header, with the seed under ``"seed"``."""
        return {**self.config, "seed": self.seed}


# --------------------------------------------------------------------------- keys


def canonical(value, name: str):
    """Return ``value`` in the canonical JSON form of the module docstring; a TypeError names ``name``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isfinite(x):
            return x
        return {"$float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
    if isinstance(value, list | tuple):
        return [canonical(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcUS":
            raise TypeError(f"{name} must hold plain data; got an array of dtype {value.dtype}.")
        data = np.ascontiguousarray(value)
        return {
            "$array": data.dtype.str,
            "shape": list(data.shape),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{name} must have string keys; got key {_describe(k)}.")
            out[k] = canonical(v, f"{name}[{k!r}]")
        return out
    if isinstance(value, type):
        return {"$type": _type_name(value)}
    if isinstance(value, np.dtype):
        return {"$dtype": value.str}
    raise TypeError(
        f"{name} must be plain data (numbers, strings, booleans, None, lists, dicts, arrays, types); "
        f"got {_describe(value)}."
    )


def canonical_text(
    task: str, config: Mapping, seed, *, task_version: str = "", version: str | None = None
) -> str:
    """Return the text hashed into a cell's key (see the module docstring)."""
    if version is None:
        from .. import __version__ as version
    doc = {
        "config": canonical(dict(config), "config"),
        "packing_version": version,
        "seed": seed,
        "task": task,
        "task_version": task_version,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def cell_key(
    task: str, config: Mapping, seed, *, task_version: str = "", version: str | None = None
) -> str:
    """Return the key of a cell: SHA-256 of its canonical text, 64 hex digits.

    Parameters
    ----------
    task : str
        The task's name.
    config : dict
        Every argument of the task a grid may set, defaults included.
    seed : int or None
    task_version : str
    version : str, optional
        Package version (default: this one).

    Examples
    --------
    >>> from packing.sweep import cell_key
    >>> k = cell_key("train_toy_model", {"d": 2, "n_features": 5}, 0)
    >>> len(k), k == cell_key("train_toy_model", {"n_features": 5, "d": 2}, 0)
    (64, True)
    >>> k == cell_key("train_toy_model", {"n_features": 5, "d": 2}, 1)
    False
    """
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name (str); got {_describe(task)}.")
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict of the task's arguments; got {_describe(config)}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int or None; got {_describe(seed)}.")
    if seed is not None and seed < 0:  # sweep's seeds are >= 0: no cell has this key
        raise ValueError(f"seed must be an int >= 0 or None (as sweep's seeds); got {int(seed)}.")
    if not isinstance(task_version, str):
        raise TypeError(f"task_version must be a str; got {_describe(task_version)}.")
    if version is not None and not isinstance(version, str):
        raise TypeError(f"version must be a str (a package version) or None; got {_describe(version)}.")
    seed = None if seed is None else int(seed)
    text = canonical_text(task, config, seed, task_version=task_version, version=version)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --------------------------------------------------------------------------- files


def prepare_cache(cache_dir, name: str = "cache_dir") -> Path:
    """Create ``cache_dir`` if needed and check that files can be written in it."""
    if not isinstance(cache_dir, str | os.PathLike):
        raise TypeError(f"{name} must be a folder path (str or Path); got {_describe(cache_dir)}.")
    path = Path(cache_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise PackingFileError(
            f"{name} must be a folder the sweep can write its cells to; got {str(cache_dir)!r}, which is "
            f"not writable ({exc.strerror or type(exc).__name__})."
        ) from None
    return path


def cell_path(cache: Path, task: str, key: str) -> Path:
    """Where the cell ``key`` of ``task`` is stored."""
    return cache / task / f"{key}.npz"


def write_cell(path: Path, data: bytes, *, sync_folder: bool = True) -> None:
    """Store the bytes of a cell file (as a worker produced them) atomically.

    ``sync_folder=False``: the file is synced before its rename, the folder is
    left to the caller (one :func:`sync_cells` per batch of cells): a crash may
    then lose the rename of the last cells, which are recomputed, never leave a
    partial file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, sync_folder=sync_folder) as fh:
        fh.write(data)


def sync_cells(folder: Path) -> None:
    """Sync the folder of cells written with ``sync_folder=False`` (their renames survive a crash)."""
    _sync_folder(folder)


#: Bytes read at a time when the quick check verifies a member's CRC-32.
_CHUNK = 2**20


def read_cell(path: Path, key: str) -> dict | None:
    """Return ``{"summary", "seconds"}`` of the cell ``key`` at ``path``; ``None`` if missing, corrupt, stale.

    The quick check of a cache hit, without decoding the result's arrays: the
    file is one zip archive whose members are exactly those its record lists,
    each passing its CRC-32, the record is a :class:`SweepCell` of this schema
    and its key is ``key`` (a cell of another key, or of another package
    version, is stale). :func:`load_cell` decodes the whole result and verifies
    the SHA-256 of every array as well.
    """
    record = f"{RECORD}.npy"
    if not is_regular_file(path):  # missing, or a folder or named pipe in its place (a pipe would hang)
        return None
    limit, _ = memory_limit_and_source()
    try:
        with zipfile.ZipFile(path) as zf:
            # a member larger than the memory limit is one load_cell refuses to read (or a zip bomb
            # declaring terabytes, whose decompression would run for hours): not a usable hit
            if any(info.file_size > limit for info in zf.infolist()):
                return None
            text = np.load(io.BytesIO(zf.read(record)), allow_pickle=False)
            header = json.loads(str(text))
            if header.get("format") != FORMAT or header.get("class") != SweepCell.__name__:
                return None
            if header.get("schema") != SweepCell._schema_version:
                return None
            members = set(zf.namelist())
            if members != {f"{name}.npy" for name in header["arrays"]} | {record}:
                return None
            for name in members - {record}:
                with zf.open(name) as fh:  # zipfile checks the member's CRC-32 at its end
                    while fh.read(_CHUNK):  # in chunks: the memory of one chunk, not of the member
                        pass
        fields = header["fields"]
        if fields.get("key") != key:
            return None
        summary = Decoder({}, path).decode(fields["summary"])
        seconds = Decoder({}, path).decode(fields.get("seconds", 0.0))
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any failure to read a cell (truncated, garbage, edited) means: recompute
        return None
    if not isinstance(summary, dict) or not isinstance(seconds, int | float):
        return None
    return {"summary": summary, "seconds": float(seconds)}


def load_cell(path) -> SweepCell:
    """Read one cell of a sweep (the ``path`` column of its table), checksums verified.

    Returns
    -------
    SweepCell
        ``.result`` is what the task returned (e.g. a ``ToyModelResult``),
        ``.config`` and ``.seed`` what it was called with.

    Examples
    --------
    >>> import tempfile
    >>> table = sweep("optimal_partition", {"n": [6], "d": [3], "p": [2.0]},
    ...               cache_dir=tempfile.mkdtemp(), n_jobs=1, progress=False)
    >>> cell = load_cell(table["path"][0])
    >>> cell.result.blocks == optimal_partition(6, 3, 2.0).blocks
    True
    """
    return load_result(path, cls=SweepCell)
