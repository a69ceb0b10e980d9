"""Packings and results in and out: the formats researchers have, explicit layouts, atomic writes.

A packing in this toolkit is ``W`` of shape ``(n_features, d)``: one ROW per
feature. :func:`load_packing` reads it from

* ``.npy`` (one array) and ``.npz`` (several; ``W`` or the only weight array
  by default), read with ``allow_pickle=False``;
* ``.csv`` / ``.txt``: a table of numbers, one row per line (``#`` starts a
  comment; ``.txt`` may separate by commas or whitespace), as in ``results/``;
* ``.safetensors``, through the ``safetensors`` package's NumPy API (no torch
  needed; bfloat16 tensors are widened to float32 exactly);
* PyTorch ``.pt`` / ``.pth`` files holding a tensor or a (nested) state dict,
  when torch is installed, loaded with ``torch.load(..., weights_only=True)``:
  nothing but tensors and plain containers is ever unpickled;
* result files of :func:`save_result` (``ToyModelResult.save(...)`` and the
  like), whose arrays are members like any ``.npz``.

``key=`` picks an array by name (``"encoder.weight"``, or a unique last part such
as ``"weight"``); a missing or ambiguous key is an :class:`ArrayKeyError` that
lists every array with its shape (:func:`list_arrays` lists them too).

Layouts are never guessed silently. PyTorch ``nn.Linear(n_features, d).weight``
has shape ``(d, n_features)``: one COLUMN per feature. A weight with fewer rows
than columns is read as stored but warns (:class:`LayoutWarning`) naming the
fix: ``layout="hidden_by_features"`` (or :func:`from_torch_layout`) transposes
it, ``layout="features_by_hidden"`` confirms it as stored; either silences the
warning. The toy models of Elhage et al. (2022) store ``W`` as
``(instances, n_features, d)``, already features-first; a 3-D array loads as a
batch of packings.

Array-likes: every public function of :mod:`packing` accepts NumPy arrays,
nested lists and tensors alike (a tensor is detached and moved to the CPU; see
:func:`packing._validation.as_array`); a tensor with fewer rows than columns
passed as a packing warns as a file does.

Writing: :func:`save_packing` (``.npy``, or ``.npz`` with extra arrays and
strict-JSON metadata) and :func:`save_result` write every file atomically
(:func:`atomic_write`: a temporary file in the same folder, flushed and synced,
then renamed), so a crash, Ctrl-C or ``kill -9`` leaves the old file or the new
one, never half of one. The figure kit and training checkpoints write through
the same function.

Errors: every problem with a file is a :class:`PackingFileError` (a
``ValueError``) with one line naming the file: :class:`PackingFileNotFoundError`
(also a ``FileNotFoundError``), :class:`FileFormatError` (a folder, an
unreadable file, an unsupported suffix, content that does not match the
suffix), :class:`CorruptFileError` (empty, truncated, garbage, failed
checksum), :class:`ArrayKeyError`, :class:`MissingDependencyError` (also an
``ImportError``) and :class:`ResultSchemaError`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ._files import (
    ArrayKeyError,
    CorruptFileError,
    FileFormatError,
    MissingDependencyError,
    PackingFileError,
    PackingFileNotFoundError,
    ResultSchemaError,
    as_path,
    atomic_write,
    check_input_file,
    corrupt,
    one_line,
    read_npy,
    read_npz,
)
from ._results import RECORD, decode_metadata, encode_metadata, load_result, save_result
from ._validation import (
    LayoutWarning,
    as_array,
    check_array_dtype,
    check_choice,
    check_packings,
    check_real,
    warn_layout,
)

__all__ = [
    "load_packing",
    "save_packing",
    "load_packing_metadata",
    "from_torch_layout",
    "list_arrays",
    "save_result",
    "load_result",
    "atomic_write",
    "LayoutWarning",
    "PackingFileError",
    "PackingFileNotFoundError",
    "FileFormatError",
    "CorruptFileError",
    "ArrayKeyError",
    "MissingDependencyError",
    "ResultSchemaError",
]

_LAYOUTS = ("features_by_hidden", "hidden_by_features")
_LAYOUT_TEXT = (
    "'features_by_hidden' (rows are features, this toolkit's W) or "
    "'hidden_by_features' (columns are features, e.g. a torch nn.Linear weight)"
)
#: The suffixes :func:`load_packing` reads.
READ_SUFFIXES = (".npy", ".npz", ".csv", ".txt", ".safetensors", ".pt", ".pth")
_SINGLE = (".npy", ".csv", ".txt")
_METADATA = "metadata"


# --------------------------------------------------------------------------- layouts


def from_torch_layout(weight) -> np.ndarray:
    """Turn a hidden x features weight (PyTorch ``nn.Linear`` layout) into ``W`` (features x hidden).

    ``torch.nn.Linear(n_features, d).weight`` has shape ``(d, n_features)``:
    one column per feature. This returns its transpose, shape
    ``(n_features, d)``, with one row per feature. A tensor is accepted as is
    (detached and moved to the CPU); a leading batch axis
    ``(instances, d, n_features)`` is transposed per instance.

    Parameters
    ----------
    weight : array_like or tensor, shape (d, n_features) or (instances, d, n_features)

    Returns
    -------
    ndarray, shape (n_features, d) or (instances, n_features, d)

    Examples
    --------
    >>> weight = np.arange(6.0).reshape(2, 3)  # d = 2 hidden units, 3 features
    >>> from_torch_layout(weight)
    array([[0., 3.],
           [1., 4.],
           [2., 5.]])
    >>> from_torch_layout(np.zeros(3))
    Traceback (most recent call last):
    ...
    ValueError: weight must have shape (d, n_features) or (instances, d, n_features); got shape (3,).
    """
    arr = check_real(weight, "weight")
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"weight must have shape (d, n_features) or (instances, d, n_features); got shape {arr.shape}."
        )
    return check_packings(np.swapaxes(arr, -1, -2), "weight", min_instances=0)


# --------------------------------------------------------------------------- readers


def _read_text(path: Path) -> dict[str, np.ndarray]:
    delimiter = ","
    if path.suffix.lower() == ".txt":
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = next((ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")), "")
        delimiter = "," if "," in first else None
    try:
        with warnings.catch_warnings():  # an empty table is reported below, as an error
            warnings.filterwarnings("ignore", "loadtxt: input contained no data", UserWarning)
            arr = np.loadtxt(path, delimiter=delimiter, comments="#", ndmin=2, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(
            f"{str(path)!r} is not a table of numbers ({one_line(exc)}); one row per line, "
            f"{'comma' if delimiter else 'whitespace'}-separated, '#' for comment lines such as a header."
        ) from None
    if arr.size == 0:
        raise CorruptFileError(f"{str(path)!r} holds no numbers (only comments or blank lines).")
    return {"W": arr}


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors import safe_open
    except ImportError:
        raise MissingDependencyError(
            f"reading {str(path)!r} needs the safetensors package: pip install safetensors."
        ) from None
    try:
        out = {}
        with safe_open(str(path), framework="np") as fh:
            for name in fh.keys():  # noqa: SIM118 - a safe_open handle is not a mapping
                dtype = fh.get_slice(name).get_dtype()
                out[name] = _bfloat16_tensor(path, name) if dtype == "BF16" else fh.get_tensor(name)
        return out
    except (MemoryError, PackingFileError):
        raise
    except Exception as exc:  # the Rust reader's SafetensorError and friends
        raise corrupt(path, ".safetensors file", exc) from None


def _bfloat16_tensor(path: Path, name: str) -> np.ndarray:
    """Return a bfloat16 tensor widened to float32 (exactly); NumPy has no bfloat16, so read its bytes.

    The layout is the safetensors format's: an 8-byte little-endian header size,
    the JSON header (``data_offsets`` relative to the end of the header), the data.
    """
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        info = json.loads(fh.read(size))[name]
        start, end = info["data_offsets"]
        fh.seek(8 + size + start)
        raw = np.frombuffer(fh.read(end - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])


def _flatten(obj, prefix: str, out: dict) -> None:
    """Tensors of a nested state dict under dotted names; other leaves (ints, strings) are skipped."""
    if hasattr(obj, "detach"):
        out[prefix or "tensor"] = as_array(obj, prefix or "tensor")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}.{i}" if prefix else str(i), out)


def _read_torch(path: Path) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            f"reading {str(path)!r} (a PyTorch file) needs torch: pip install torch; or save the weights "
            f"with safetensors (no torch needed to read them) or numpy."
        ) from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc):
            raise FileFormatError(
                f"{str(path)!r} holds Python objects other than tensors and plain containers; packing "
                f"loads PyTorch files with weights_only=True and never unpickles arbitrary objects. "
                f"Save model.state_dict() instead."
            ) from None
        raise corrupt(path, "PyTorch file", exc) from None
    out: dict[str, np.ndarray] = {}
    _flatten(obj, "", out)
    if not out:
        raise ArrayKeyError(f"{str(path)!r} holds no tensors (it holds a {type(obj).__name__}).")
    return out


def _read_arrays(path, name: str = "path") -> tuple[Path, dict[str, np.ndarray]]:
    """Every array of a packing file by name (metadata and result records left out)."""
    path, kind = check_input_file(path, name, suffixes=READ_SUFFIXES)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return path, {"W": read_npy(path)}
    if suffix in (".csv", ".txt"):
        return path, _read_text(path)
    if suffix == ".safetensors":
        return path, _read_safetensors(path)
    if suffix == ".npz":
        arrays = read_npz(path)
        return path, {
            k: v for k, v in arrays.items() if k != _METADATA and not k.startswith((f"{_METADATA}.", "__"))
        }
    return path, _read_torch(path)


def _listing(arrays: dict, names=None) -> str:
    names = list(arrays) if names is None else names
    return ", ".join(f"{k!r} {tuple(arrays[k].shape)}" for k in names)


def _select(arrays: dict[str, np.ndarray], key, path: Path) -> tuple[str, np.ndarray]:
    """Return the array ``key`` names (exactly, or as the unique end of a dotted name), or the default."""
    shown = repr(str(path))
    if key is not None:
        if not isinstance(key, str):
            raise TypeError(f"key must be a string naming an array; got {type(key).__name__} {key!r}.")
        if path.suffix.lower() in _SINGLE:
            raise ArrayKeyError(
                f"key={key!r} picks one of several arrays; {shown} holds a single array of shape "
                f"{arrays['W'].shape}. Leave key out."
            )
        if key in arrays:
            return key, arrays[key]
        matches = [k for k in arrays if k.endswith("." + key)]
        if len(matches) == 1:
            return matches[0], arrays[matches[0]]
        if matches:
            raise ArrayKeyError(
                f"key {key!r} is ambiguous in {shown}: it matches {_listing(arrays, matches)}; pass the "
                f"full name."
            )
        raise ArrayKeyError(f"key {key!r} not in {shown}; it holds {_listing(arrays) or 'no arrays'}.")
    if "W" in arrays:
        return "W", arrays["W"]
    if len(arrays) == 1:
        return next(iter(arrays.items()))
    weights = [k for k, v in arrays.items() if v.ndim in (2, 3)]
    if len(weights) == 1:
        return weights[0], arrays[weights[0]]
    if not arrays:
        raise ArrayKeyError(f"{shown} holds no arrays.")
    what = "several 2-D or 3-D arrays" if weights else "no 2-D or 3-D array"
    raise ArrayKeyError(
        f"key must name the array to load; {shown} holds {what}: {_listing(arrays)}. Pass key=NAME."
    )


def list_arrays(path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Return ``{name: (shape, dtype)}`` of every array :func:`load_packing` can pick from ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> np.savez(path, W=np.zeros((5, 2)), b=np.zeros(5))
    >>> list_arrays(path)
    {'W': ((5, 2), 'float64'), 'b': ((5,), 'float64')}
    """
    _, arrays = _read_arrays(path)
    return {k: (tuple(v.shape), str(v.dtype)) for k, v in arrays.items()}


def load_packing(path, *, key: str | None = None, layout: str | None = None) -> np.ndarray:
    """Load a packing (or a batch of packings) from a file and return it as features x hidden.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.npz`` (also result files), ``.csv``, ``.txt``,
        ``.safetensors``, or PyTorch ``.pt`` / ``.pth`` (needs torch).
    key : str, optional
        The array to read from a file that holds several: its full name
        (``"encoder.weight"``) or the unique last part of a dotted name
        (``"weight"`` when only one name ends in it). Default: ``"W"``, else the
        only array, else the only 2-D or 3-D array.
    layout : {"features_by_hidden", "hidden_by_features"}, optional
        How the file stores it. ``"hidden_by_features"`` (e.g. a saved PyTorch
        ``nn.Linear`` weight, shape ``(d, n_features)``) is transposed to
        ``(n_features, d)``; ``"features_by_hidden"`` is read as stored. Left
        out, the array is read as stored, with a :class:`LayoutWarning` when it
        has fewer rows than columns (the signature of a torch weight).

    Returns
    -------
    ndarray, shape (n, d) or (instances, n, d)

    Raises
    ------
    PackingFileError
        The file is missing (:class:`PackingFileNotFoundError`), a folder,
        unreadable or of another kind than its suffix (:class:`FileFormatError`),
        empty, truncated or damaged (:class:`CorruptFileError`), ``key`` is
        missing or ambiguous (:class:`ArrayKeyError`, listing the arrays), or
        the format needs torch or safetensors (:class:`MissingDependencyError`).
    TypeError, ValueError
        The array is not a real, finite array of shape (n, d) or (instances, n, d).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "linear_weight.npy")
    >>> _ = np.save(path, np.zeros((2, 5)))  # torch layout: 2 hidden x 5 features
    >>> load_packing(path, layout="hidden_by_features").shape
    (5, 2)
    >>> load_packing(path, layout="torch")
    Traceback (most recent call last):
    ...
    ValueError: layout must be 'features_by_hidden' (rows are features, this toolkit's W) or \
'hidden_by_features' (columns are features, e.g. a torch nn.Linear weight); got 'torch'.
    """
    if layout is not None:
        layout = check_choice(layout, "layout", _LAYOUTS, expected=_LAYOUT_TEXT)
    path, arrays = _read_arrays(path)
    name, arr = _select(arrays, key, path)
    source = f"{str(path)!r}" + (f" [{name!r}]" if len(arrays) > 1 or name != "W" else "")
    check_array_dtype(arr, f"the array {name!r} of {str(path)!r}")
    try:  # the messages name the file (and the array), not only "W"
        if layout == "hidden_by_features":
            W = from_torch_layout(arr)
        else:
            W = check_packings(arr, "W", min_instances=0)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{source}: {exc}") from None
    if layout is None and arr.ndim in (2, 3) and arr.shape[-2] < arr.shape[-1] and not _is_result(path):
        warn_layout(
            arr.shape,
            source,
            "if it is a torch nn.Linear weight pass layout='hidden_by_features' (or use "
            "packing.from_torch_layout); pass layout='features_by_hidden' to read it as stored without "
            "this warning.",
        )
    return W


def _is_result(path: Path) -> bool:
    """Whether ``path`` is a result file of this toolkit (its arrays are in the toolkit's layout)."""
    if path.suffix.lower() != ".npz":
        return False
    with np.load(path, allow_pickle=False) as data:
        return RECORD in data.files


# --------------------------------------------------------------------------- writers


def save_packing(path, W, /, *, metadata: dict | None = None, **arrays) -> Path:
    """Save ``W`` (features x hidden) to ``.npy`` or, with extra arrays/metadata, ``.npz``, atomically.

    Parameters
    ----------
    path : str or Path
        Ending in ``.npy`` (``W`` alone) or ``.npz``.
    W : array_like or tensor, shape (n, d) or (instances, n, d)
    metadata : dict, optional
        Stored in the ``.npz`` as strict JSON (member ``metadata``). Numbers,
        strings, lists, dicts, NumPy scalars, arrays and types are all fine, so
        a result's ``config`` can be passed as is: a type such as
        ``np.float32`` is stored by its name, an infinite or NaN float as
        ``{"$float": "inf"}`` (see :mod:`packing._results`);
        :func:`load_packing_metadata` restores them.
    **arrays
        Further arrays for the ``.npz`` (e.g. ``b=..., sparsity=...``); numbers
        or strings only (nothing is pickled).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "pentagon.npz")
    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> _ = save_packing(path, np.c_[np.cos(t), np.sin(t)], metadata={"sparsity": 0.9, "dtype": np.float32})
    >>> load_packing(path).shape, load_packing_metadata(path)
    ((5, 2), {'sparsity': 0.9, 'dtype': <class 'numpy.float32'>})
    >>> save_packing(path.replace(".npz", ".txt"), np.eye(2))
    Traceback (most recent call last):
    ...
    ValueError: path must end in .npy or .npz; got '.txt'.
    """
    path = as_path(path)
    W = check_packings(W, "W", min_instances=0)
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"path must end in .npy or .npz; got {path.suffix!r}.")
    if path.suffix == ".npy":
        if metadata or arrays:
            raise ValueError("metadata and extra arrays need a .npz path; got a .npy path.")
        with atomic_write(path) as fh:
            np.save(fh, W, allow_pickle=False)
        return path
    bad = [k for k in arrays if k == "W" or k == _METADATA or k.startswith((f"{_METADATA}.", "__"))]
    if bad:
        rule = "extra arrays may not be called 'W' or 'metadata' or start with '__'"
        raise ValueError(f"{rule}; got {bad[0]!r}.")
    extra = {
        k: check_array_dtype(as_array(v, k), k, kinds="biufcUS", expected="an array of numbers or strings")
        for k, v in arrays.items()
    }
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict; got {type(metadata).__name__}.")
        try:
            text, meta_arrays = encode_metadata(metadata)
        except TypeError as exc:
            raise TypeError(f"metadata must be JSON-serialisable; {str(exc).rstrip('.')}.") from None
        extra[_METADATA] = np.array(text)
        extra.update(meta_arrays)
    with atomic_write(path) as fh:
        np.savez(fh, W=W, **extra)
    return path


def load_packing_metadata(path) -> dict:
    """Return the metadata dictionary saved with :func:`save_packing` (empty if none).

    Types stored by name come back as types (``np.float32``), tagged floats as
    ``inf`` / ``nan``, tuples as tuples: the dict that was saved.

    Examples
    --------
    >>> load_packing_metadata("missing.npz")
    Traceback (most recent call last):
    ...
    packing.io.PackingFileNotFoundError: path 'missing.npz' does not exist (nothing found there); ...
    """
    path, _ = check_input_file(path, "path", suffixes=READ_SUFFIXES)
    if path.suffix.lower() != ".npz":
        _read_arrays(path)  # no metadata in these formats, but a damaged file is refused as by list_arrays
        return {}
    arrays = read_npz(path)
    if _METADATA not in arrays:
        return {}
    text = arrays[_METADATA]
    if text.dtype.kind != "U" or text.ndim != 0:
        raise CorruptFileError(f"{str(path)!r}: its 'metadata' member is not a JSON string.")
    meta = {k[len(_METADATA) + 1 :]: v for k, v in arrays.items() if k.startswith(f"{_METADATA}.")}
    return decode_metadata(str(text), {f"{_METADATA}.{k}": v for k, v in meta.items()}, path)
