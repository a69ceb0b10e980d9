"""Bad input to packing.io (see test_bad_input_common).

packing.io is owned by the io-results work; these cases pin only what any
version must keep: the exception type and the argument named in the message.
"""

import shutil
import tempfile
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

from packing import (
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
