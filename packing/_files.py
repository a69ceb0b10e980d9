"""Files at the lowest level: the error classes, atomic writes, what a file holds, safe NumPy readers.

Everything the toolkit writes goes through :func:`atomic_write`; everything it
reads is first checked by :func:`check_input_file` (exists, is a file, can be
read, is not empty, holds what its suffix says) and then parsed by a reader that
turns every low-level failure (``BadZipFile``, ``EOFError``, a bad ``.npy``
header, a garbage zip member) into one line of :class:`CorruptFileError`.
Nothing is unpickled: NumPy files are read with ``allow_pickle=False``.

The public faces are :mod:`packing.io` (packings in every format) and
:mod:`packing._results` (result objects); both import from here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ._limits import ResourceLimitError, format_bytes, memory_limit_and_source

__all__ = [
    "PackingFileError",
    "PackingFileNotFoundError",
    "FileFormatError",
    "CorruptFileError",
    "ArrayKeyError",
    "MissingDependencyError",
    "ResultSchemaError",
    "atomic_write",
    "as_path",
]


# --------------------------------------------------------------------------- the error classes


class PackingFileError(ValueError):
    """A file cannot be read or written as asked (the base of every file error of :mod:`packing`).

    A subclass of ``ValueError``, so code that catches the toolkit's bad-input
    errors also catches bad files. The message is one line naming the file.
    """


class PackingFileNotFoundError(PackingFileError, FileNotFoundError):
    """The path does not exist (also a ``FileNotFoundError``)."""


class FileFormatError(PackingFileError):
    """The path is not a readable file of a supported kind: a folder, an unreadable file, an
    unsupported suffix, or content that does not match the suffix (an ``.npz`` named ``.npy``)."""  # noqa: D205, D209


class CorruptFileError(FileFormatError):
    """The file has the right kind but is empty, truncated, garbage inside, or fails its checksum."""


class ArrayKeyError(PackingFileError):
    """``key`` names no array of the file, or several arrays fit; the message lists them with shapes."""


class MissingDependencyError(PackingFileError, ImportError):
    """Reading this format needs an optional package that is not installed (the message names it)."""


class ResultSchemaError(PackingFileError):
    """A result file is of an unknown class, of a newer schema, or of an old one that cannot be migrated."""


# --------------------------------------------------------------------------- paths


def as_path(path, name: str = "path") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, or raise ``TypeError`` naming ``name``.

    A str or an ``os.PathLike`` (``pathlib.Path``) is accepted; anything else (a
    number, ``None``, bytes, an open file) is refused with the type that arrived,
    as is an empty string.
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a file path (a str or pathlib.Path); got {type(path).__name__} {path!r:.60}."
        )
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a file path given as text, not bytes; got {text!r:.60}.")
    if not text:
        raise ValueError(f"{name} must be a file path; got an empty string.")
    if "\0" in text:
        raise ValueError(f"{name} must be a file path without NUL characters; got {text!r:.80}.")
    longest = max((len(os.fsencode(part)) for part in Path(text).parts), default=0)  # "." has no parts
    if longest > _NAME_MAX or len(os.fsencode(text)) > _PATH_MAX:  # else a bare OSError from the OS
        raise ValueError(
            f"{name} must be a file path whose names have at most {_NAME_MAX} bytes (and {_PATH_MAX} in "
            f"all); got a path of {len(os.fsencode(text))} bytes whose longest name has {longest}: "
            f"{text!r:.60}..."
        )
    return Path(text)


#: Longest file name and path (bytes) that Linux and macOS file systems accept.
_NAME_MAX, _PATH_MAX = 255, 4095


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_write(path, *, text: bool = False, sync_folder: bool = True) -> Iterator[IO]:
    """Open a file that replaces ``path`` atomically when the ``with`` block ends without error.

    The data go to a new temporary file in the same folder (so the final rename
    stays on one file system), which is flushed and ``fsync``-ed and then renamed
    onto ``path`` with :func:`os.replace`; the folder is synced too where the
    platform allows. On an exception the temporary file is removed and ``path``
    is left as it was; a process killed meanwhile leaves ``path`` as it was (and
    a hidden ``.NAME.*.tmp`` file, NAME cut to 150 characters).

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist).
    text : bool
        Open in text mode (UTF-8, newlines written as given) instead of binary.
    sync_folder : bool
        Sync the folder after the rename (default). ``False`` leaves that to the
        caller, who writes many files into one folder and syncs it once
        afterwards (the file itself is always synced before the
        rename, so a crash leaves the old file or the whole new one, never a
        partial one; only the rename may be lost).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with atomic_write(path, text=True) as fh:
    ...     _ = fh.write("done")
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('done', ['note.txt'])
    """
    path = as_path(path)
    if not isinstance(text, bool):
        raise TypeError(f"text must be True or False; got {type(text).__name__} {text!r:.40}.")
    if not isinstance(sync_folder, bool):
        raise TypeError(
            f"sync_folder must be True or False; got {type(sync_folder).__name__} {sync_folder!r:.40}."
        )
    if path.is_dir():
        raise FileFormatError(f"path {str(path)!r} is a folder; give a file name to write to.")
    if not path.parent.is_dir():
        raise PackingFileNotFoundError(f"the folder of path {str(path)!r} does not exist; create it first.")
    tmp = path.with_name(f".{path.name[:150]}.{uuid.uuid4().hex}.tmp")  # short enough for NAME_MAX
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
    if sync_folder:
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """``fsync`` a folder, so that the renames into it survive a crash (where the platform allows)."""
    with contextlib.suppress(OSError):  # not every platform can open and sync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- what a file holds

#: What each suffix must hold (content kinds from :func:`sniff`).
SUFFIX_KINDS = {
    ".npy": ("npy",),
    ".npz": ("zip",),
    ".safetensors": ("safetensors",),
    ".pt": ("zip", "pickle"),
    ".pth": ("zip", "pickle"),
    ".csv": ("text",),
    ".txt": ("text",),
}
_KIND_TEXT = {
    "npy": "a NumPy .npy array",
    "zip": "a zip archive (an .npz file or a PyTorch .pt file)",
    "safetensors": "a safetensors file",
    "pickle": "a Python pickle (a legacy PyTorch file?)",
    "text": "text",
    "unknown": "unrecognised binary data",
}


def sniff(head: bytes, size: int) -> str:
    r"""Return what the first bytes of a file of ``size`` bytes look like.

    One of ``"empty"``, ``"npy"``, ``"zip"``, ``"safetensors"``, ``"pickle"``,
    ``"text"`` or ``"unknown"``.

    Examples
    --------
    >>> sniff(b"\x93NUMPY\x01\x00", 100), sniff(b"PK\x03\x04", 100), sniff(b"1.0,2.0\n", 8)
    ('npy', 'zip', 'text')
    """
    if size == 0:
        return "empty"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is fine
            if exc.start >= len(head) - 3:
                return "text"
    return "unknown"


def check_regular_file(path, name: str = "path", *, what: str = "a file", inside: str = "file") -> Path:
    """Return ``path`` as a Path if it names a regular file; else raise naming ``name`` and the path.

    The one check of every reader before it opens a file: a missing path is a
    :class:`PackingFileNotFoundError`; a folder, or a named pipe, socket or
    device (reading a pipe would wait for a writer forever) a
    :class:`FileFormatError`. ``what`` is the file expected (``"a file written
    by export_packing"``), ``inside`` what to give instead of a folder.
    """
    path = as_path(path, name)
    shown = repr(str(path))
    if not path.exists():
        raise PackingFileNotFoundError(
            f"{name} {shown} does not exist (nothing found there); expected {what}."
        )
    if path.is_dir():
        raise FileFormatError(
            f"{name} {shown} is a folder; give the {inside} inside it (expected {what}, found a folder)."
        )
    if not path.is_file():
        raise FileFormatError(
            f"{name} {shown} is not a regular file (a pipe, socket or device); expected {what}, "
            f"found {_special_kind(path)}."
        )
    return path


def _special_kind(path: Path) -> str:
    """Name what a path that is neither a regular file nor a folder is (for messages)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "something unreadable"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def check_folder_path(path, name: str) -> Path:
    """Return ``path`` as a Path if a folder is, or can be created, there; else raise naming ``name``.

    Nothing is created: the check refuses at the boundary a path that names a
    file, or that runs through one (``file.txt/out``), which a writer would only
    find out after its work, as an ``OSError``.
    """
    path = as_path(path, name)
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    if here.exists() and not here.is_dir():
        where = "is a file" if here == path else f"runs through the file {str(here)!r}"
        raise FileFormatError(
            f"{name} must be a folder (or a path where one can be made); got {str(path)!r}, which {where}."
        )
    return path


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (``False`` for a missing path, a folder, a pipe or a device)."""
    try:
        check_regular_file(path)
    except (PackingFileError, TypeError, ValueError):
        return False
    return True


def check_input_file(path, name: str = "path", *, suffixes=None) -> tuple[Path, str]:
    """Return ``(Path, content kind)`` for a file that can be read and holds what its suffix says.

    ``suffixes`` restricts the accepted suffixes (default: every key of
    :data:`SUFFIX_KINDS`). Raises :class:`PackingFileNotFoundError`,
    :class:`FileFormatError` or :class:`CorruptFileError` with one line that
    names the file and says what to do.
    """
    path = check_regular_file(path, name)
    shown = repr(str(path))
    suffixes = tuple(SUFFIX_KINDS) if suffixes is None else tuple(suffixes)
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        allowed = ", ".join(suffixes)
        raise FileFormatError(f"{name} must end in one of {allowed}; got {path.suffix!r} ({shown}).")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise FileFormatError(f"{name} {shown} cannot be read: {exc.strerror or exc}.") from None
    kind = sniff(head, size)
    if kind == "empty":
        raise CorruptFileError(f"{name} {shown} is empty (0 bytes).")
    if kind not in SUFFIX_KINDS[suffix]:
        if kind == "unknown":
            what = _KIND_TEXT[kind]
            raise CorruptFileError(f"{name} {shown} is not a valid {suffix} file (it holds {what}).")
        raise FileFormatError(
            f"{name} {shown} ends in {suffix} but holds {_KIND_TEXT[kind]}; rename it to match its content."
        )
    return path, kind


def one_line(exc: BaseException) -> str:
    """``TypeName: message`` of ``exc`` on one line (for wrapping low-level errors)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def corrupt(path: Path, what: str, exc: BaseException) -> CorruptFileError:
    """Return the error for a file whose parser failed: it names the file, its kind and the cause."""
    cause = one_line(exc)
    return CorruptFileError(f"{str(path)!r} is not a readable {what} (corrupt or truncated: {cause}).")


#: Low-level failures of NumPy's readers on damaged files.
READ_ERRORS = (OSError, ValueError, EOFError, KeyError, IndexError, TypeError, zipfile.BadZipFile)


def _check_npy_header(fh: IO[bytes], available: int, path: Path, what: str) -> None:
    """Refuse an ``.npy`` stream whose header declares more data than the ``available`` bytes hold.

    NumPy allocates the array the header declares before reading it, so a damaged
    header (``shape (10**12, 10**6)``) would otherwise be a ``MemoryError`` or a
    huge allocation instead of a :class:`CorruptFileError`.
    """
    try:
        version = np.lib.format.read_magic(fh)
        fmt = np.lib.format
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = reader(fh, max_header_size=10**5)
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        left = available - fh.tell()
    except READ_ERRORS:
        return  # NumPy's own reader reports a bad header below
    if dtype.hasobject:
        return
    array = f"an array of shape {tuple(shape)} and dtype {dtype}"
    if declared > left:
        raise CorruptFileError(
            f"{str(path)!r} is not a readable {what} (corrupt or truncated: its header declares {array}, "
            f"{declared} bytes, but only {max(left, 0)} bytes follow)."
        )
    limit, source = memory_limit_and_source()
    if declared > limit:  # a compressed member may hold far more than the file's size
        raise ResourceLimitError(
            f"reading {str(path)!r} ({what}) would need about {format_bytes(declared)} for {array}, more "
            f"than the memory limit of {format_bytes(limit)} ({source}). Raise the limit with "
            f"packing.set_memory_limit(nbytes) if the machine has the memory."
        )


def read_npy(path: Path) -> np.ndarray:
    """Read an ``.npy`` file (checked by :func:`check_input_file`) without unpickling anything."""
    try:
        with open(path, "rb") as fh:
            _check_npy_header(fh, os.fstat(fh.fileno()).st_size, path, ".npy file")
        return np.load(path, allow_pickle=False)
    except (PackingFileError, ResourceLimitError):
        raise
    except READ_ERRORS as exc:
        raise corrupt(path, ".npy file", exc) from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file (checked by :func:`check_input_file`), in stored order.

    Zip members are checked against their CRC as they are read, so a garbage
    member is a :class:`CorruptFileError`, as is a truncated archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    with archive.open(info) as fh:
                        _check_npy_header(fh, info.file_size, path, f".npz file (member {info.filename!r})")
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (PackingFileError, ResourceLimitError):
        raise
    except READ_ERRORS as exc:
        raise corrupt(path, ".npz file", exc) from None
    # NumPy hands back a member that is not an .npy array (no magic string) as raw bytes
    raw = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if raw:
        raise CorruptFileError(
            f"{str(path)!r} is not a readable .npz file: its member {raw[0]!r} is not a NumPy array "
            f"(garbage or another format inside the archive)."
        )
    return arrays


# The error classes are documented and caught as packing.io.X (their public home).
for _cls in (
    PackingFileError,
    PackingFileNotFoundError,
    FileFormatError,
    CorruptFileError,
    ArrayKeyError,
    MissingDependencyError,
    ResultSchemaError,
):
    _cls.__module__ = "packing.io"
del _cls
