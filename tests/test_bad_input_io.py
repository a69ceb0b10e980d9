"""Bad input to packing.io (see test_bad_input_common).

packing.io is owned by the io-results work; these cases pin only what any
version must keep: the exception type and the argument named in the message.
"""

import json
import os
import shutil
import signal
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_bad_input_common import (
    PACKINGS,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

import packing
import packing.figures
from packing import (
    CorruptFileError,
    atomic_write,
    from_torch_layout,
    list_arrays,
    load_packing,
    load_packing_metadata,
    load_result,
    pairwise_statistics,
    save_packing,
    save_result,
)

HERE = Path(tempfile.mkdtemp(prefix="packing-bad-input-"))
GOOD = save_packing(HERE / "good.npz", np.eye(2), metadata={"run": 1})
GOOD_RESULT = pairwise_statistics(np.eye(3))
SAVABLE = [v for v in PACKINGS if not (isinstance(v[0], np.ndarray) and v[0].ndim == 3)]

CASES = [
    *substitute(save_packing, (HERE / "w.npz", np.eye(2)), {}, 1, SAVABLE, name="W"),
    case(save_packing, HERE / "w.txt", np.eye(2), exc=ValueError, name="path"),
    case(
        save_packing,
        HERE / "w.npz",
        np.eye(2),
        extra=np.array([object()], dtype=object),
        exc=TypeError,
        name="extra",
        case_id="object array",
    ),
    case(
        save_packing, HERE / "w.npz", np.eye(2), extra={"a": 1}, exc=TypeError, name="extra", case_id="dict"
    ),
    case(
        save_packing, HERE / "w.npz", np.eye(2), metadata={"when": object()}, exc=TypeError, name="metadata"
    ),
    case(load_packing, HERE / "missing.npy", exc=FileNotFoundError, name="path"),
    case(load_packing, GOOD, layout="torch", exc=ValueError, name="layout"),
    case(load_packing, GOOD, key="V", exc=ValueError, name="key"),
    case(load_packing_metadata, HERE / "missing.npz", exc=FileNotFoundError, name="path"),
    case(from_torch_layout, np.zeros(3), exc=ValueError, name="weight"),
    case(from_torch_layout, np.full((2, 2), np.nan), exc=ValueError, name="weight"),
    case(list_arrays, HERE / "missing.npz", exc=FileNotFoundError, name="path"),
    case(save_result, object(), HERE / "r.npz", exc=TypeError, name="obj"),
    case(load_result, HERE / "missing.npz", exc=FileNotFoundError, name="path"),
    case(
        lambda path: atomic_write(path).__enter__(),
        HERE / "no-such-folder" / "x",
        exc=FileNotFoundError,
        name="path",
    ),
]
CASES[-1].values[0].__name__ = "atomic_write"  # a context manager: entered by the lambda above


def _enter_atomic_write(path, **kwargs):
    return atomic_write(path, **kwargs).__enter__()


_enter_atomic_write.__name__ = "atomic_write"
NOT_PATHS = [
    (3, "int"),
    (None, "None"),
    (b"x.npz", "bytes"),
    (2.5, "float"),
    (["x.npz"], "list"),
    (True, "bool"),
]
CASES += [
    # a path that is not a path is a TypeError naming the argument, in every function taking one
    *(
        case(fn, *pre, bad, *post, exc=TypeError, name="path", case_id=f"{fn.__name__}-{what}")
        for bad, what in NOT_PATHS
        for fn, pre, post in [
            (list_arrays, (), ()),
            (load_packing, (), ()),
            (load_packing_metadata, (), ()),
            (load_result, (), ()),
            (save_packing, (), (np.eye(2),)),
            (save_result, (GOOD_RESULT,), ()),
            (_enter_atomic_write, (), ()),
        ]
    ),
    case(list_arrays, "", exc=ValueError, name="path", case_id="empty"),
    case(load_result, GOOD, cls=3, exc=TypeError, name="cls"),
    case(load_result, GOOD, cls="ToyModelResult", exc=TypeError, name="cls"),
    case(_enter_atomic_write, HERE / "t.txt", text="yes", exc=TypeError, name="text"),
    case(_enter_atomic_write, HERE / "t.txt", text=1, exc=TypeError, name="text"),
    case(_enter_atomic_write, HERE / "t.txt", sync_folder="no", exc=TypeError, name="sync_folder"),
    case(_enter_atomic_write, HERE / "t.txt", sync_folder=None, exc=TypeError, name="sync_folder"),
    case(from_torch_layout, "weight", exc=TypeError, name="weight"),
    case(from_torch_layout, [["a", "b"]], exc=TypeError, name="weight"),
]


@pytest.fixture(scope="module", autouse=True)
def _remove_files():
    yield
    shutil.rmtree(HERE, ignore_errors=True)


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name, wording=False)  # the wording is io's to choose


# ---------------------------------------------------------------- damaged and odd files
def _npy_header_only(shape) -> bytes:
    """An .npy header declaring ``shape`` (float64) with no data after it."""
    head = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}"
    head += " " * (-(len(head) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head.encode()


(HERE / "huge-header.npy").write_bytes(_npy_header_only((10**9, 10**6)))
with zipfile.ZipFile(HERE / "huge-member.npz", "w") as _zip:
    _zip.writestr("W.npy", _npy_header_only((10**9, 10**6)))
np.save(HERE / "nan.npy", np.array([[np.nan, 1.0], [0.0, 1.0], [1.0, 0.0]]))
np.save(HERE / "no-rows.npy", np.zeros((0, 3)))
_RESULT = save_result(GOOD_RESULT, HERE / "result.npz")
with np.load(_RESULT) as _data:
    _members = {k: _data[k] for k in _data.files}
_record = json.loads(str(_members["__result__"]))
_record["fields"]["coherence"] = {"$complex": ["a", "b"]}  # the record is edited; the arrays still match
np.savez(HERE / "bad-record.npz", **{**_members, "__result__": np.array(json.dumps(_record))})
_record["fields"]["coherence"] = 0.5
_record["fields"]["n"] = {"$float": "nan"}  # a float where the class has an int
np.savez(HERE / "nan-field.npz", **{**_members, "__result__": np.array(json.dumps(_record))})

CASES += [
    # a header declaring petabytes: a CorruptFileError naming the file, not a MemoryError
    case(load_packing, HERE / "huge-header.npy", exc=CorruptFileError, name="huge-header.npy"),
    case(list_arrays, HERE / "huge-header.npy", exc=CorruptFileError, name="huge-header.npy"),
    case(load_packing, HERE / "huge-member.npz", exc=CorruptFileError, name="huge-member.npz"),
    # a packing that is not finite or has no rows: the message names the file, not only "W"
    case(load_packing, HERE / "nan.npy", exc=ValueError, name="nan.npy"),
    case(load_packing, HERE / "no-rows.npy", exc=ValueError, name="no-rows.npy"),
    # a damaged tag in a result record: a CorruptFileError naming the file, not complex()'s TypeError
    case(load_result, HERE / "bad-record.npz", exc=CorruptFileError, name="bad-record.npz"),
    # a field of another type than its class declares (here n = NaN): refused, not a result holding NaN
    case(load_result, HERE / "nan-field.npz", exc=CorruptFileError, name="nan-field.npz"),
]


class _Hung(BaseException):
    """Raised by the alarm: not an OSError, so no reader can turn it into a file error."""


def _hung(signum, frame):
    raise _Hung


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".safetensors"])
@pytest.mark.parametrize("reader", [load_packing, list_arrays, load_packing_metadata, load_result])
def test_a_named_pipe_is_refused_not_waited_on(tmp_path, reader, suffix):
    _refuses_a_named_pipe(reader, tmp_path / f"pipe{suffix}")


def _refuses_a_named_pipe(reader, pipe):
    os.mkfifo(pipe)
    previous = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(5)
    try:
        with pytest.raises(ValueError, match="not a regular file"):
            reader(pipe)
    except _Hung:
        pytest.fail(f"{reader.__name__} waited on a named pipe (no writer) instead of refusing it")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "reader, name", [(packing.read_grid, "grid.toml"), (packing.read_exported_packing, "packing.txt")]
)
def test_text_readers_refuse_a_named_pipe(tmp_path, reader, name):
    _refuses_a_named_pipe(reader, tmp_path / name)


@pytest.mark.parametrize("what", ["missing", "folder", "pipe"])
@pytest.mark.parametrize(
    "reader, name",
    [
        (load_packing, "W.npy"),
        (list_arrays, "W.npz"),
        (load_packing_metadata, "W.csv"),
        (load_result, "r.npz"),
        (packing.load_cell, "cell.npz"),
        (packing.read_grid, "grid.toml"),
        (packing.read_exported_packing, "packing.txt"),
    ],
)
def test_every_reader_refuses_what_is_not_a_regular_file_in_the_same_words(tmp_path, reader, name, what):
    # one shared check: the argument, the path, what was expected and what was found there
    path = tmp_path / name
    if what == "folder":
        path.mkdir()
    elif what == "pipe":
        os.mkfifo(path)
    exc = FileNotFoundError if what == "missing" else packing.FileFormatError
    check_bad_input(reader, (path,), {}, exc, "path")
    with pytest.raises(exc) as info:
        reader(path)
    found = {"missing": "nothing found there", "folder": "found a folder", "pipe": "found a named pipe"}[what]
    assert repr(str(path)) in str(info.value) and found in str(info.value)


def test_a_compressed_member_larger_than_the_memory_limit_is_refused_before_reading(tmp_path):
    # 2 MiB of zeros compress to a few KiB: the file's size says nothing about what reading it allocates
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, W=np.zeros((512, 512)))
    assert path.stat().st_size < 2**16
    previous = packing.set_memory_limit(2**20)
    try:
        for reader in (load_packing, list_arrays):
            with pytest.raises(packing.ResourceLimitError, match=r"zeros\.npz.*2\.0 MiB.*memory limit"):
                reader(path)
    finally:
        packing.set_memory_limit(previous)
    assert load_packing(path).shape == (512, 512)  # under the usual limit it loads

# a path the OS refuses (a name over 255 bytes, a NUL character): a ValueError naming path, not OSError
LONG = HERE / ("a" * 300 + ".npz")
CASES += [
    *(
        case(fn, *pre, bad, *post, exc=ValueError, name="path", case_id=f"{fn.__name__}-{what}")
        for bad, what in [(LONG, "long name"), (str(HERE / "a\0b.npz"), "NUL")]
        for fn, pre, post in [
            (list_arrays, (), ()),
            (load_packing, (), ()),
            (load_result, (), ()),
            (save_packing, (), (np.eye(2),)),
            (save_result, (GOOD_RESULT,), ()),
            (packing.read_grid, (), ()),
        ]
    ),
]


def test_a_file_name_of_255_bytes_is_written_and_read_back(tmp_path):
    path = tmp_path / ("w" * 251 + ".npz")  # the temporary file beside it must fit the name limit too
    save_packing(path, np.eye(2))
    assert load_packing(path).shape == (2, 2)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

# JSON nested deeper than Python's stack (a record, tags, metadata, a grid): a file error, not RecursionError
_DEEP = "[" * 100_000 + "]" * 100_000
_text = str(_members["__result__"])
np.savez(HERE / "deep-record.npz", **{**_members, "__result__": np.array(_DEEP)})
_tags = '{"$tuple": [' * 900 + "1" + "]}" * 900  # valid JSON, too deep for the decoder
_deep_tags = np.array(_text.replace('"n": 3', f'"n": {_tags}', 1))
np.savez(HERE / "deep-tags.npz", **{**_members, "__result__": _deep_tags})
np.savez(HERE / "deep-metadata.npz", W=np.eye(2), metadata=np.array(_DEEP))
(HERE / "deep.json").write_text(_DEEP)
(HERE / "deep.toml").write_text("a = " + _DEEP)
CASES += [
    case(load_result, HERE / "deep-record.npz", exc=CorruptFileError, name="deep-record.npz"),
    case(load_result, HERE / "deep-tags.npz", exc=CorruptFileError, name="deep-tags.npz"),
    case(load_packing_metadata, HERE / "deep-metadata.npz", exc=CorruptFileError, name="deep-metadata.npz"),
    case(packing.read_grid, HERE / "deep.json", exc=CorruptFileError, name="deep.json"),
    case(packing.read_grid, HERE / "deep.toml", exc=CorruptFileError, name="deep.toml"),
]


def test_the_current_folder_as_a_path_is_a_folder_not_a_crash(tmp_path, monkeypatch):
    # "." has no path parts: as_path took the longest of none (ValueError: max() arg is an empty sequence)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(packing.FileFormatError, match=r"path '\.' is a folder"):
        load_packing(".")
    with packing.figures.FigureRun(".") as run:
        assert run.out_dir == Path(".")


@pytest.mark.parametrize("damage", ["huge-header", "truncated", "text-in-npy"])
def test_metadata_of_a_damaged_file_without_metadata_is_refused_like_its_arrays(tmp_path, damage):
    # .npy, .csv and .safetensors hold no metadata: load_packing_metadata returned {} for any bytes
    path = tmp_path / "W.npy"
    np.save(path, np.eye(3))
    if damage == "huge-header":
        head = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000), }"
        head += " " * (-(len(head) + 11) % 64) + "\n"
        path.write_bytes(b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head.encode())
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-20])
    else:
        path.write_text("hello world\n")
    with pytest.raises(ValueError) as refused:
        list_arrays(path)
    with pytest.raises(type(refused.value), match="W.npy"):
        load_packing_metadata(path)

