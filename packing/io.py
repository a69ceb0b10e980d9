"""Load and save packings, and take weights from other frameworks' layouts.

A packing in this toolkit is ``W`` of shape ``(n_features, d)``: one ROW per
feature. Other code often stores the transpose:

* PyTorch ``nn.Linear(n_features, d).weight`` has shape ``(d, n_features)``
  (``(out_features, in_features)``), i.e. hidden x features: one COLUMN per
  feature. :func:`from_torch_layout` (or ``layout="hidden_by_features"`` in
  :func:`load_packing`) transposes it, explicitly.
* The toy models of Elhage et al. (2022) store ``W`` as
  ``(instances, n_features, d)``, already features-first; a 3-D array loads as
  a batch of packings.

Files are plain NumPy: ``.npy`` holds one array; ``.npz`` holds ``W`` plus
optional arrays (``b``, ``sparsity``, ...) and a JSON string of metadata. Nothing
is pickled: object arrays are refused when saving, and files are read with
``allow_pickle=False``.

Every file is written atomically (:func:`atomic_write`): into a temporary file
in the same folder, flushed and synced to disk, then renamed over the target,
so a crash or Ctrl-C leaves either the old file or the new one, never half of
one. The figure kit (:mod:`packing.figures`) writes through the same function.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ._validation import check_array_dtype, check_choice, check_packings

__all__ = ["load_packing", "save_packing", "load_packing_metadata", "from_torch_layout"]

_LAYOUTS = ("features_by_hidden", "hidden_by_features")
_LAYOUT_TEXT = (
    "'features_by_hidden' (rows are features, this toolkit's W) or "
    "'hidden_by_features' (columns are features, e.g. a torch nn.Linear weight)"
)


@contextlib.contextmanager
def atomic_write(path, *, text: bool = False) -> Iterator[IO]:
    """Open a file that replaces ``path`` atomically when the ``with`` block ends without error.

    The data go to a new temporary file in the same folder (so the final rename
    stays on one file system), which is flushed and ``fsync``-ed and then renamed
    onto ``path`` with :func:`os.replace`; the folder is synced too where the
    platform allows. On an exception the temporary file is removed and ``path``
    is left as it was.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist).
    text : bool
        Open in text mode (UTF-8, newlines written as given) instead of binary.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with atomic_write(path, text=True) as fh:
    ...     _ = fh.write("done")
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('done', ['note.txt'])
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    handle = open(tmp, "x", encoding="utf-8", newline="") if text else open(tmp, "xb")  # noqa: SIM115
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every platform can open and sync a folder
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def from_torch_layout(weight) -> np.ndarray:
    """Turn a hidden x features weight (PyTorch ``nn.Linear`` layout) into ``W`` (features x hidden).

    ``torch.nn.Linear(n_features, d).weight`` has shape ``(d, n_features)``:
    one column per feature. This returns its transpose, shape
    ``(n_features, d)``, with one row per feature. Pass a NumPy array
    (``weight.detach().cpu().numpy()``); a leading batch axis
    ``(instances, d, n_features)`` is transposed per instance.

    Parameters
    ----------
    weight : array_like, shape (d, n_features) or (instances, d, n_features)

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
    if hasattr(weight, "detach"):
        raise TypeError(
            "weight must be a NumPy array; got a torch tensor. Pass weight.detach().cpu().numpy()."
        )
    arr = np.asarray(weight)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"weight must have shape (d, n_features) or (instances, d, n_features); got shape {arr.shape}."
        )
    return check_packings(np.swapaxes(arr, -1, -2), "weight", min_instances=0)


def save_packing(path, W, /, *, metadata: dict | None = None, **arrays) -> Path:
    """Save ``W`` (features x hidden) to ``.npy`` or, with extra arrays/metadata, ``.npz``.

    Parameters
    ----------
    path : str or Path
        Ending in ``.npy`` (``W`` alone) or ``.npz``.
    W : array_like, shape (n, d) or (instances, n, d)
    metadata : dict, optional
        JSON-serialisable information (stored in the ``.npz`` as ``metadata``).
    **arrays
        Further arrays for the ``.npz`` (e.g. ``b=..., sparsity=...``).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "pentagon.npz")
    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> _ = save_packing(path, np.c_[np.cos(t), np.sin(t)], metadata={"sparsity": 0.9})
    >>> load_packing(path).shape, load_packing_metadata(path)
    ((5, 2), {'sparsity': 0.9})
    >>> save_packing(path.replace(".npz", ".txt"), np.eye(2))
    Traceback (most recent call last):
    ...
    ValueError: path must end in .npy or .npz; got '.txt'.
    """
    path = Path(path)
    W = check_packings(W, "W", min_instances=0)
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"path must end in .npy or .npz; got {path.suffix!r}.")
    if path.suffix == ".npy":
        if metadata or arrays:
            raise ValueError("metadata and extra arrays need a .npz path; got a .npy path.")
        with atomic_write(path) as fh:
            np.save(fh, W, allow_pickle=False)
        return path
    if "W" in arrays or "metadata" in arrays:
        raise ValueError("extra arrays may not be called 'W' or 'metadata'.")
    extra = {
        k: check_array_dtype(np.asarray(v), k, kinds="biufcUS", expected="an array of numbers or strings")
        for k, v in arrays.items()
    }
    if metadata is not None:
        try:
            extra["metadata"] = np.array(json.dumps(metadata))
        except TypeError as exc:
            raise TypeError(f"metadata must be JSON-serialisable; {exc}.") from None
    with atomic_write(path) as fh:
        np.savez(fh, W=W, **extra)
    return path


def load_packing(path, *, key: str | None = None, layout: str = "features_by_hidden") -> np.ndarray:
    """Load a packing from ``.npy`` or ``.npz`` and return it as features x hidden.

    Parameters
    ----------
    path : str or Path
    key : str, optional
        Array to read from a ``.npz`` (default ``"W"``, or the only array).
    layout : {"features_by_hidden", "hidden_by_features"}
        How the file stores it. ``"hidden_by_features"`` (e.g. a saved PyTorch
        ``nn.Linear`` weight, shape ``(d, n_features)``) is transposed to
        ``(n_features, d)``; nothing is transposed silently.

    Returns
    -------
    ndarray, shape (n, d) or (instances, n, d)

    Raises
    ------
    FileNotFoundError, ValueError, TypeError

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
    layout = check_choice(layout, "layout", _LAYOUTS, expected=_LAYOUT_TEXT)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path {str(path)!r} does not exist.")
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"path must end in .npy or .npz; got {path.suffix!r}.")
    if path.suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
    else:
        data = np.load(path, allow_pickle=False)
        with data:
            names = [k for k in data.files if k != "metadata"]
            if key is None:
                key = "W" if "W" in names else (names[0] if len(names) == 1 else None)
                if key is None:
                    raise ValueError(f"key must name the array to load; {str(path)!r} holds {sorted(names)}.")
            if key not in data.files:
                raise ValueError(f"key {key!r} not in {str(path)!r}; it holds {sorted(data.files)}.")
            arr = data[key]
    check_array_dtype(arr, "the stored array")
    if layout == "hidden_by_features":
        return from_torch_layout(arr)
    return check_packings(arr, "W", min_instances=0)


def load_packing_metadata(path) -> dict:
    """Return the metadata dictionary saved with :func:`save_packing` (empty if none).

    Examples
    --------
    >>> load_packing_metadata("missing.npz")
    Traceback (most recent call last):
    ...
    FileNotFoundError: path 'missing.npz' does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path {str(path)!r} does not exist.")
    if path.suffix != ".npz":
        return {}
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["metadata"])) if "metadata" in data.files else {}
