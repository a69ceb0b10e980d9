"""Grids of a sweep: a mapping of parameters to value lists (full product) or an explicit list of cells."""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Mapping, Sequence

import numpy as np

from .._files import CorruptFileError, FileFormatError, check_regular_file
from .._validation import _describe

__all__ = ["read_grid"]


def _values(value) -> list:
    """Return the values of one parameter: a list or tuple lists them, anything else is one value."""
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def expand_grid(grid, name: str = "grid") -> tuple[list[dict], list[str]]:
    """Return the cells' configurations and the parameter names (in order of first appearance).

    ``{"a": [1, 2], "b": [3]}`` gives ``[{"a": 1, "b": 3}, {"a": 2, "b": 3}]`` (the last
    parameter varies fastest); a list of mappings is taken as it is.
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError(f"{name} must name at least one parameter; got an empty mapping.")
        names = []
        for k in grid:
            if not isinstance(k, str):
                raise TypeError(
                    f"{name} must map parameter names (str) to value lists; got key {_describe(k)}."
                )
            names.append(k)
        lists = [_values(grid[k]) for k in names]
        for k, values in zip(names, lists, strict=True):
            if not values:
                raise ValueError(
                    f"{name}[{k!r}] must list at least one value; got an empty list (no cells)."
                )
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*lists)], names
    if isinstance(grid, Sequence) and not isinstance(grid, str | bytes):
        if len(grid) == 0:
            raise ValueError(f"{name} must list at least one configuration; got an empty list (no cells).")
        names: list[str] = []
        for i, cell in enumerate(grid):
            if not isinstance(cell, Mapping):
                raise TypeError(
                    f"{name}[{i}] must be a mapping of parameter names to values; got {_describe(cell)}."
                )
            for k in cell:
                if not isinstance(k, str):
                    raise TypeError(
                        f"{name}[{i}] must have parameter names (str) as keys; got {_describe(k)}."
                    )
                if k not in names:
                    names.append(k)
        return [dict(cell) for cell in grid], names
    raise TypeError(
        f"{name} must be a mapping of parameter names to value lists, or a list of configurations (dicts); "
        f"got {_describe(grid)}."
    )


def read_grid(path):
    r"""Read a grid from a ``.toml`` or ``.json`` file.

    The file holds a table of parameter names to value lists (full product), or
    an explicit list of configurations: a JSON list of objects, or the key
    ``cells`` holding one (in TOML, ``[[cells]]`` tables). ``"inf"``, ``"-inf"``
    and ``"nan"`` given as strings for a number stay strings: write ``inf`` in
    TOML, or ``1e999`` in JSON.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "grid.toml")
    >>> _ = open(path, "w").write('n_features = [5]\nd = [2]\nsparsity = [0.0, 0.9]\n')
    >>> read_grid(path)
    {'n_features': [5], 'd': [2], 'sparsity': [0.0, 0.9]}
    """
    path = check_regular_file(path, "path", what="a .toml or .json grid", inside=".toml or .json file")
    if path.suffix.lower() not in (".toml", ".json"):
        raise FileFormatError(f"path must end in .toml or .json; got {path.suffix!r} ({str(path)!r}).")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"path {str(path)!r} cannot be read as UTF-8 text ({exc}).") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CorruptFileError(f"path {str(path)!r} is not valid {kind} ({why}).") from None
    if isinstance(data, Mapping) and set(data) == {"cells"}:
        data = data["cells"]
    if not isinstance(data, Mapping | list) or not data:
        raise CorruptFileError(
            f"path {str(path)!r} must hold a table of parameters to value lists or a list of configurations; "
            f"got {_describe(data)}."
        )
    return data


def column_value(value):
    """Return a value as one cell of the table: a list or array becomes a tuple (hashable, comparable)."""
    if isinstance(value, np.ndarray):
        return tuple(value.tolist()) if value.ndim else value.item()
    if isinstance(value, list | tuple):
        return tuple(column_value(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value
