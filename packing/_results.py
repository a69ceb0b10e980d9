"""Result objects on disk: one ``.npz`` per result, arrays as NumPy arrays plus a strict-JSON record.

A result class declares itself by deriving from :class:`Savable` (a mixin for
dataclasses); it then has ``save(path)`` and ``load(path)``, and
:func:`save_result` / :func:`load_result` handle it by name::

    @dataclass
    class MyResult(Savable, schema=1):
        W: np.ndarray
        config: dict

The file is an ordinary ``.npz`` (open it with ``np.load(path)``): every array
of the result is a member named by where it sits (``W``, ``config.sparsity``,
``shapes.0.gram_spectrum``), and the member ``__result__`` holds one JSON
document:

``format``, ``schema``, ``class``, ``module``
    What the file is: the result class and the version of its layout.
``packing_version``, ``created``
    The package version that wrote it and when (UTC, ISO 8601).
``config``, ``seed``
    The full configuration of the run (its ``config`` field, or what
    :meth:`Savable.result_config` returns) and its seed, when it has them.
``fields``
    Every constructor field, encoded as below.
``arrays``
    Dtype, shape and SHA-256 of every array member; loading checks them, so a
    damaged or edited file is a :class:`~packing.io.CorruptFileError`.

The JSON is strict (no ``NaN`` or ``Infinity`` literals) and lossless. Plain
JSON values stand for themselves; everything else is an object with one
``$``-tag: ``{"$float": "nan" | "inf" | "-inf"}``, ``{"$tuple": [...]}``,
``{"$dict": [[key, value], ...]}`` (keys that are not strings, e.g. ``{inf: ...}``,
or strings that start with ``$``), ``{"$array": member}``,
``{"$scalar": dtype, "value": v}`` (a NumPy scalar keeps its type),
``{"$complex": [re, im]}``, ``{"$type": name}`` (a type, e.g. ``np.float32``, is
stored by name), ``{"$dtype": str}`` and ``{"$record": class, "fields": {...}}``
(a nested result dataclass, itself :class:`Savable`). Nothing is pickled:
object arrays and other objects are refused when saving, and files are read
with ``allow_pickle=False``; a ``$record`` is only rebuilt into a registered
class.

Schema versions: a class declares ``schema=N`` and, when its fields change,
``migrations={old: function}``, each turning the ``(fields, arrays)`` of
version ``old`` into those of ``old + 1``. An older file is migrated step by
step; a missing step, or a file newer than the class, is a
:class:`~packing.io.ResultSchemaError` that says why.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import io
import json
import math
import numbers
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from ._files import (
    CorruptFileError,
    PackingFileError,
    ResultSchemaError,
    as_path,
    atomic_write,
    check_input_file,
    read_npz,
)

__all__ = ["Savable", "save_result", "load_result", "result_classes"]

FORMAT = "packing-result"
RECORD = "__result__"
_BUILTIN_TYPES = {t.__name__: t for t in (int, float, bool, str, complex, bytes, list, tuple, dict)}
_REGISTRY: dict[str, type] = {}
#: numpy dtype kinds that can be stored without pickling.
PLAIN_KINDS = "biufcUS"


# --------------------------------------------------------------------------- registry


class Savable:
    """Mixin that gives a result dataclass ``save(path)`` and ``load(path)`` (see :mod:`packing._results`).

    Declare a class with ``class R(Savable, schema=1, migrations=None)``; the
    class is registered by its name, so :func:`load_result` can rebuild it (and
    nested results inside other results). Its fields' types are checked when it
    is built (:func:`check_fields`; a class with its own ``__post_init__`` calls
    ``super().__post_init__()`` or checks its arguments itself).
    """

    def __post_init__(self):
        check_fields(self)

    _schema_version: int = 1
    _migrations: dict[int, Callable] = {}

    def __init_subclass__(cls, *, schema: int = 1, migrations: Mapping | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
            raise TypeError(f"schema of {cls.__name__} must be an int >= 1; got {schema!r}.")
        cls._schema_version = schema
        cls._migrations = dict(migrations or {})
        register(cls)

    def save(self, path) -> Path:
        """Write this result to ``path`` (``.npz``, atomically); see :func:`packing.save_result`."""
        return save_result(self, path)

    @classmethod
    def load(cls, path):
        """Read a result of this class from ``path``; see :func:`packing.load_result`."""
        return load_result(path, cls=cls)

    def result_config(self) -> dict | None:
        """Return the configuration recorded in the file's header: the ``config`` field when there is one."""
        config = getattr(self, "config", None)
        return config if isinstance(config, Mapping) else None


def register(cls: type) -> type:
    """Register ``cls`` under its name (a module reloaded in place replaces its old class)."""
    old = _REGISTRY.get(cls.__name__)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(
            f"result class name {cls.__name__!r} is taken by {old.__module__}.{old.__qualname__}; "
            f"give {cls.__module__}.{cls.__qualname__} another name."
        )
    _REGISTRY[cls.__name__] = cls
    return cls


def result_classes() -> dict[str, type]:
    """Return the registered result classes by name (every class that :func:`load_result` can rebuild).

    Examples
    --------
    >>> from packing._results import result_classes
    >>> {"ToyModelResult", "PackingResult", "StructureReport"} <= set(result_classes())
    True
    """
    return dict(_REGISTRY)


def _lookup(name: str, module: str | None, path: Path) -> type:
    if name not in _REGISTRY and isinstance(module, str) and module.split(".")[0] == "packing":
        try:  # a class of this package that is not imported yet; nothing outside the package is imported
            importlib.import_module(module)
        except ImportError:
            pass
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ResultSchemaError(
            f"{str(path)!r} holds a result of class {name!r}, which this version of packing does not "
            f"know (known: {known})."
        )
    return _REGISTRY[name]


# --------------------------------------------------------------------------- the JSON codec


def _plain_float(x: float):
    if math.isfinite(x):
        return x
    return {"$float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _type_name(t: type) -> str:
    if issubclass(t, np.generic):
        return np.dtype(t).name
    if t.__module__ == "builtins":
        return t.__name__
    return f"{t.__module__}.{t.__qualname__}"


class Encoder:
    """Turn a tree of values into strict JSON, collecting its arrays under path names."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, prefix: str = ""):
        self.arrays = {} if arrays is None else arrays
        self.prefix = prefix

    def _name(self, where: str) -> str:
        """Return a unique member name from the array's path (ASCII letters, digits, ``_.-~``)."""
        name = re.sub(r"[^A-Za-z0-9_.~-]", "_", self.prefix + (where or "value"))[:120]
        base, k = name, 1
        while name in self.arrays or name == RECORD:
            name, k = f"{base}~{k}", k + 1
        return name

    def array(self, value: np.ndarray, where: str, what: str):
        if value.dtype.kind not in PLAIN_KINDS:
            raise TypeError(
                f"{what} must hold arrays of numbers or strings (nothing is pickled); got an array of "
                f"dtype {value.dtype}."
            )
        name = self._name(where)
        self.arrays[name] = value
        return {"$array": name}

    def encode(self, value, where: str = "", what: str = "value"):
        """Return the JSON tree of ``value``; ``what`` names it in errors (e.g. ``"metadata['x']"``)."""
        if isinstance(value, np.generic):  # first: np.str_ and np.float64 are also str and float
            if value.dtype.kind not in PLAIN_KINDS:
                raise TypeError(f"{what} must be plain data; got a numpy {value.dtype} scalar.")
            return {"$scalar": value.dtype.str, "value": self.encode(value.item(), where, what)}
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.ndarray):
            return self.array(value, where, what)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return _plain_float(float(value))
        if isinstance(value, complex):
            return {"$complex": [_plain_float(value.real), _plain_float(value.imag)]}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v, f"{where}.{i}", f"{what}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{where}.{i}", f"{what}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            return self._mapping(value, where, what)
        if isinstance(value, type):
            return {"$type": _type_name(value)}
        if isinstance(value, np.dtype):
            return {"$dtype": value.str}
        if dataclasses.is_dataclass(value) and isinstance(value, Savable):
            return {"$record": type(value).__name__, "fields": self.fields(value, where, what)}
        raise TypeError(
            f"{what} must be plain data (numbers, strings, lists, tuples, dicts, arrays, types, saved "
            f"results); got {type(value).__name__}."
        )

    def _mapping(self, value: Mapping, where: str, what: str):
        plain = all(isinstance(k, str) and not k.startswith("$") for k in value)
        if plain:
            return {k: self.encode(v, _join(where, k), f"{what}[{k!r}]") for k, v in value.items()}
        items = []
        for i, (k, v) in enumerate(value.items()):
            items.append(
                [
                    self.encode(k, f"{where}.key{i}", f"{what} key {k!r}"),
                    self.encode(v, _join(where, str(k)), f"{what}[{k!r}]"),
                ]
            )
        return {"$dict": items}

    def fields(self, obj, where: str = "", what: str | None = None) -> dict:
        """Encode the constructor fields of the dataclass ``obj``."""
        what = what or type(obj).__name__
        return {
            f.name: self.encode(getattr(obj, f.name), _join(where, f.name), f"{what}.{f.name}")
            for f in dataclasses.fields(obj)
            if f.init
        }


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class Decoder:
    """Rebuild values from the JSON tree written by :class:`Encoder` and the file's arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray], path: Path):
        self.arrays, self.path = arrays, path

    def fail(self, message: str) -> CorruptFileError:
        return CorruptFileError(f"{str(self.path)!r} is not a valid packing file: {message}.")

    def decode(self, node):
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise self.fail(f"unexpected JSON value {node!r}")
        tags = [k for k in node if k.startswith("$")]
        if not tags:
            return {k: self.decode(v) for k, v in node.items()}
        try:
            return self._tagged(tags[0], node)
        except PackingFileError:
            raise
        except (TypeError, ValueError, KeyError, OverflowError, MemoryError) as exc:  # {"$complex": ["a", 1]}
            raise self.fail(f"bad {tags[0]} value {str(node)[:80]} ({type(exc).__name__}: {exc})") from None

    def _tagged(self, tag: str, node: dict):  # noqa: C901 - one branch per tag
        arg = node[tag]
        if tag == "$float" and arg in ("nan", "inf", "-inf"):
            return float(arg)
        if tag == "$tuple" and isinstance(arg, list):
            return tuple(self.decode(v) for v in arg)
        if tag == "$dict" and isinstance(arg, list):
            out = {}
            for item in arg:
                if not (isinstance(item, list) and len(item) == 2):
                    raise self.fail(f"bad $dict item {item!r}")
                key = self.decode(item[0])
                try:
                    out[key] = self.decode(item[1])
                except TypeError:
                    raise self.fail(f"unhashable dict key {key!r}") from None
            return out
        if tag == "$array":
            if arg not in self.arrays:
                raise self.fail(f"the array member {arg!r} is missing")
            return self.arrays[arg]
        if tag == "$scalar":
            try:
                return np.array(self.decode(node["value"]), dtype=np.dtype(arg))[()]
            except (TypeError, ValueError, KeyError) as exc:
                raise self.fail(f"bad $scalar {node!r} ({exc})") from None
        if tag == "$complex" and isinstance(arg, list) and len(arg) == 2:
            return complex(self.decode(arg[0]), self.decode(arg[1]))
        if tag == "$type":
            return _type_from_name(arg)
        if tag == "$dtype":
            try:
                return np.dtype(arg)
            except TypeError:
                raise self.fail(f"bad $dtype {arg!r}") from None
        if tag == "$record":
            cls = _lookup(arg, None, self.path)
            return build(cls, self.decode_fields(node.get("fields")), self.path)
        raise self.fail(f"unknown tag {tag!r}")

    def decode_fields(self, fields) -> dict:
        if not isinstance(fields, dict):
            raise self.fail("the fields of a result must be a JSON object")
        return {k: self.decode(v) for k, v in fields.items()}


def _type_from_name(name):
    """Return a type stored by name: numpy scalar types and builtins as types, anything else as its name."""
    if not isinstance(name, str):
        return name
    if name in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[name]
    try:
        dt = np.dtype(name)
    except TypeError:
        return name
    return dt.type if dt.name == name else name


def build(cls: type, fields: dict, path: Path):
    """Construct ``cls(**fields)`` after checking the field names; errors name what differs."""
    expected = {f.name for f in dataclasses.fields(cls) if f.init}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing, extra = sorted(required - set(fields)), sorted(set(fields) - expected)
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise ResultSchemaError(
            f"{str(path)!r}: the stored fields of {cls.__name__} do not match this version of packing "
            f"({'; '.join(parts)}); the file's schema version does not describe its content."
        )
    for f in dataclasses.fields(cls):
        if f.name in fields and not _of_type(fields[f.name], f.type):
            raise CorruptFileError(
                f"{str(path)!r} is not a valid packing file: the field {f.name!r} of {cls.__name__} must be "
                f"{f.type}; got {type(fields[f.name]).__name__} {str(fields[f.name])[:40]}."
            )
    try:
        return cls(**fields)
    except ValueError as exc:  # the class's own checks of its fields' values (__post_init__)
        raise CorruptFileError(f"{str(path)!r} is not a valid packing file: {exc}") from None


#: The field annotations checked on load (the types of a result's plain fields); others are not checked.
_FIELD_TYPES = {
    "np.ndarray": np.ndarray,
    "float": numbers.Real,
    "int": numbers.Integral,
    "str": str,
    "bool": (bool, np.bool_),
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "Callable": Callable,
    "Exception": Exception,
}


def _of_type(value, annotation) -> bool:
    """Whether ``value`` fits a plain annotation (``"np.ndarray"``, ``"int | None"``...); True for others.

    A generic is checked by its container (``"tuple[int, int]"``: a tuple), a
    result class by name (``"SignedInterference | None"``); a bool is not an
    ``int`` or a ``float`` here (``True`` for a size or a loss is a slip).
    """
    types = _annotation_types(annotation)
    if types is None:
        return True
    optional, kinds = types
    if value is None:
        return optional
    if isinstance(value, bool | np.bool_) and bool not in kinds and np.bool_ not in kinds:
        return False
    return isinstance(value, kinds)


_PARSED: dict[str, tuple[bool, tuple]] = {}
#: Annotations naming a class of another package, checked when a dataclass declaring one is built.
_IMPORTED_TYPES = {"Figure": "matplotlib.figure.Figure", "Path": "pathlib.Path"}


def _annotation_types(annotation) -> tuple[bool, tuple] | None:
    """``(None allowed, types)`` of a field annotation; ``None`` if it is not checked (``Callable``...)."""
    if not isinstance(annotation, str):
        return None
    if annotation in _PARSED:
        return _PARSED[annotation]
    parts = [a.strip() for a in annotation.split("|")]
    types: list = []
    for part in parts:
        if part == "None":
            continue
        base = part.split("[", 1)[0].strip()
        kind = _FIELD_TYPES.get(base) or _REGISTRY.get(base)
        if kind is None and base in _IMPORTED_TYPES:  # a class of a module its dataclass already imports
            module, _, attr = _IMPORTED_TYPES[base].rpartition(".")
            kind = getattr(importlib.import_module(module), attr)
        if kind is None:  # a class this module does not know (Figure, Callable, object...): not checked
            return None
        types += list(kind) if isinstance(kind, tuple) else [kind]
    _PARSED[annotation] = ("None" in parts, tuple(types))  # unknown names are not cached: registered later
    return _PARSED[annotation]


def check_fields(obj) -> None:
    """Refuse a dataclass built with a field of another type than it declares (a ``TypeError`` naming it).

    The boundary check of every result class (run by :class:`Savable` and
    :class:`CheckedFields` after ``__init__``): ``PartitionResult(p="abc")``
    fails here, not later in its ``repr`` or in a computation.
    """
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name, None)
        if not _of_type(value, f.type):
            text = repr(value) if not isinstance(value, np.ndarray) else f"array of shape {value.shape}"
            text = text if len(text) <= 60 else text[:57] + "..."
            raise TypeError(
                f"{type(obj).__name__}: {f.name} must be {f.type}; got {type(value).__name__} {text}."
            )


class CheckedFields:
    """Mixin of a public dataclass that checks its fields' types when built (see :func:`check_fields`)."""

    def __post_init__(self):
        check_fields(self)


def dumps(tree) -> str:
    """Return strict JSON text of an encoded tree (no ``NaN`` / ``Infinity`` literals, by construction)."""
    return json.dumps(tree, allow_nan=False, ensure_ascii=False)


def _no_constants(name):
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text: str, path: Path, what: str):
    """Parse strict JSON; a failure is a :class:`CorruptFileError` naming ``what``."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise CorruptFileError(f"{str(path)!r}: {what} is not valid JSON ({exc}).") from None
    except RecursionError:  # "[[[[...]]]]" nested deeper than Python's stack
        raise CorruptFileError(f"{str(path)!r}: {what} is nested too deeply to be a record.") from None


def _decoded(decode, path: Path, what: str):
    """``decode()``, with a record nested too deeply for the decoder a :class:`CorruptFileError`."""
    try:
        return decode()
    except RecursionError:
        raise CorruptFileError(f"{str(path)!r}: {what} is nested too deeply to be a record.") from None


def encode_metadata(metadata, what: str = "metadata") -> tuple[str, dict[str, np.ndarray]]:
    """Strict JSON text of a metadata dict and the arrays it holds (named ``metadata.<path>``)."""
    enc = Encoder(prefix="metadata.")
    return dumps(enc.encode(metadata, "", what)), enc.arrays


def decode_metadata(text: str, arrays: Mapping[str, np.ndarray], path: Path):
    """Inverse of :func:`encode_metadata`."""
    tree = loads(text, path, "the metadata")
    return _decoded(lambda: Decoder(arrays, path).decode(tree), path, "the metadata")


# --------------------------------------------------------------------------- checksums


def _digest(arr: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def array_table(arrays: Mapping[str, np.ndarray]) -> dict:
    """Return dtype, shape and SHA-256 of every array: the structural check of a file."""
    return {
        k: {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _digest(a)} for k, a in arrays.items()
    }


def check_arrays(table, arrays: Mapping[str, np.ndarray], path: Path) -> None:
    """Raise :class:`CorruptFileError` unless ``arrays`` are exactly those ``table`` describes."""
    if not isinstance(table, dict) or set(table) != set(arrays):
        listed = sorted(table) if isinstance(table, dict) else table
        raise CorruptFileError(
            f"{str(path)!r} is damaged: its arrays {sorted(arrays)} are not those its record lists "
            f"({listed})."
        )
    for name, arr in arrays.items():
        info = table[name]
        if not isinstance(info, dict) or info.get("sha256") != _digest(arr):
            raise CorruptFileError(f"{str(path)!r} is damaged: array {name!r} fails its checksum.")


# --------------------------------------------------------------------------- save / load


def _check_result(obj, name: str = "obj") -> type:
    cls = type(obj)
    if not (dataclasses.is_dataclass(obj) and isinstance(obj, Savable)) or isinstance(obj, type):
        raise TypeError(
            f"{name} must be a result object of packing (ToyModelResult, PackingResult, StructureReport, "
            f"...); got {cls.__name__}."
        )
    return cls


def _seed_of(config) -> int | None:
    if not isinstance(config, Mapping):
        return None
    for key in ("rng", "seed"):
        value = config.get(key)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    return None


def _npz_path(path, name: str = "path") -> Path:
    path = as_path(path, name)
    if path.suffix.lower() != ".npz":
        raise PackingFileError(f"{name} must end in .npz (results are .npz files); got {path.suffix!r}.")
    return path


def save_result(obj, path) -> Path:
    """Write a result object to ``path`` (``.npz`` with a strict-JSON record), atomically.

    Every result class of :mod:`packing` (``ToyModelResult``, ``PackingResult``,
    ``StructureReport``, ``Comparison``, ``LPBound``, ...) can be saved; each also
    has ``obj.save(path)``. The file holds the schema version, package version,
    class, full configuration, seed and creation time, and every field; nothing
    is pickled. See :mod:`packing._results` for the layout.

    Parameters
    ----------
    obj : result object
    path : str or Path
        Ending in ``.npz``; written through :func:`packing.io.atomic_write`.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If ``obj`` is not a result object, or holds something that cannot be
        stored without pickling (an object array, an arbitrary object).

    Examples
    --------
    >>> import tempfile, os
    >>> r = lp_bound(8, 3, return_info=True)
    >>> path = save_result(r, os.path.join(tempfile.mkdtemp(), "bound.npz"))
    >>> load_result(path) == r
    True
    >>> save_result({"W": 1}, path)
    Traceback (most recent call last):
    ...
    TypeError: obj must be a result object of packing (...); got dict.
    """
    _check_result(obj)
    path = _npz_path(path)
    text, arrays = _payload(obj)
    with atomic_write(path) as fh:
        np.savez(fh, **{RECORD: np.array(text)}, **arrays)
    return path


def result_bytes(obj) -> bytes:
    """Return the bytes of the ``.npz`` file :func:`save_result` would write for ``obj``.

    Results that cross a process or machine boundary travel in this form (the
    sweep engine's workers return it), so that what arrives is checked and
    decoded like a file and nothing is unpickled.
    """
    text, arrays = _payload(obj)
    buffer = io.BytesIO()
    np.savez(buffer, **{RECORD: np.array(text)}, **arrays)
    return buffer.getvalue()


def _payload(obj) -> tuple[str, dict[str, np.ndarray]]:
    """Return the strict-JSON record and the arrays of a result file for ``obj``."""
    from . import __version__

    cls = _check_result(obj)
    enc = Encoder()
    fields = enc.fields(obj)
    config = obj.result_config()
    shared = config is not None and getattr(obj, "config", None) is config
    record = {
        "format": FORMAT,
        "schema": cls._schema_version,
        "class": cls.__name__,
        "module": cls.__module__,
        "packing_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": fields["config"] if shared else enc.encode(config, "header.config", "the config"),
        "seed": _seed_of(config),
        "fields": fields,
        "arrays": array_table(enc.arrays),
    }
    return dumps(record), enc.arrays


def read_record(path, name: str = "path") -> tuple[Path, dict, dict[str, np.ndarray]]:
    """Return ``(path, header, arrays)`` of a result file, its structure and checksums verified."""
    path, _ = check_input_file(path, name, suffixes=(".npz",))
    arrays = read_npz(path)
    if RECORD not in arrays:
        raise ResultSchemaError(
            f"{name} {str(path)!r} is not a packing result file (it has no {RECORD} record); "
            f"read a packing from it with packing.load_packing."
        )
    text = arrays.pop(RECORD)
    header = None
    if text.dtype.kind == "U" and text.ndim == 0:
        header = loads(str(text), path, f"the {RECORD} record")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptFileError(f"{name} {str(path)!r} has a damaged {RECORD} record.")
    check_arrays(header.get("arrays"), arrays, path)
    return path, header, arrays


def _migrate(cls: type, version, fields: dict, arrays: dict, path: Path) -> tuple[dict, dict]:
    current = cls._schema_version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CorruptFileError(f"{str(path)!r} has an invalid schema version {version!r}.")
    if version > current:
        raise ResultSchemaError(
            f"{str(path)!r} holds a {cls.__name__} of schema version {version}, written by a newer "
            f"version of packing; this version reads up to {current}. Upgrade packing to read it."
        )
    for v in range(version, current):
        step = cls._migrations.get(v)
        if step is None:
            raise ResultSchemaError(
                f"{str(path)!r} holds a {cls.__name__} of schema version {v}; this version of packing "
                f"reads version {current} and has no migration from {v} to {v + 1}. Load it with the "
                f"packing version that wrote it ({path.name}) and recompute, or rerun from its config."
            )
        fields, arrays = step(dict(fields), dict(arrays))
    return fields, arrays


def load_result(path, *, cls: type | None = None):
    """Read a result written by :func:`save_result` (or a result's ``save``) and rebuild it.

    Parameters
    ----------
    path : str or Path
        A ``.npz`` result file.
    cls : type, optional
        The class expected (``ToyModelResult.load(path)`` passes it); another
        class in the file is an error.

    Returns
    -------
    The result object, equal to the one saved.

    Raises
    ------
    PackingFileNotFoundError, FileFormatError, CorruptFileError
        A missing, unreadable, mislabelled, truncated or damaged file (checksums
        are verified).
    ResultSchemaError
        Not a result file, an unknown class, another class than ``cls``, or a
        schema version that this version of packing cannot read (the message
        says why).

    Examples
    --------
    >>> import tempfile, os
    >>> r = optimal_partition(12, 6, 1.0)
    >>> path = r.save(os.path.join(tempfile.mkdtemp(), "partition.npz"))
    >>> back = load_result(path)
    >>> type(back).__name__, back.blocks == r.blocks, bool(np.array_equal(back.W, r.W))
    ('PartitionResult', True, True)
    """
    if cls is not None and not isinstance(cls, type):
        raise TypeError(f"cls must be a result class (e.g. packing.ToyModelResult) or None; got {cls!r:.60}.")
    path, header, arrays = read_record(path)
    klass = _lookup(header.get("class"), header.get("module"), path)
    if cls is not None and klass is not cls:
        raise ResultSchemaError(
            f"{str(path)!r} holds a {klass.__name__}, not a {cls.__name__}; read it with packing.load_result."
        )
    fields, arrays = _migrate(klass, header.get("schema"), header.get("fields"), arrays, path)
    decoded = _decoded(lambda: Decoder(arrays, path).decode_fields(fields), path, f"the {RECORD} record")
    return build(klass, decoded, path)
