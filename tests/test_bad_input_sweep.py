"""Bad input to packing.sweep (see test_bad_input_common); the sweep's own tests are in test_sweep.py."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_bad_input_common import (
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

import packing
from packing import cell_key, load_cell, read_grid, register_task, sweep, sweep_dataset
from packing.figures.monosemanticity import QUICK, measure_cell
from packing.sae._benchmark import penalty_cell, recovery_cell

HERE = Path(tempfile.mkdtemp(prefix="packing-bad-input-sweep-"))
(HERE / "file").write_text("x")
GOOD = ("optimal_partition", {"n": [6], "d": [3], "p": [1.0]})
OPTIONS = {"cache_dir": HERE / "cache", "n_jobs": 1, "progress": False}


def _square(x, rng=None):
    return {"y": x * x}


CASES = [
    case(cell_key, "t", {"n": 1}, 0, version=3j, exc=TypeError, name="version"),
    case(register_task, "ok-name", _square, replace="yes", exc=TypeError, name="replace"),
    *substitute(
        sweep,
        GOOD,
        OPTIONS,
        0,
        [("nope", ValueError), (3, TypeError), (None, TypeError), (len, ValueError)],
        name="task",
    ),
    *substitute(
        sweep,
        GOOD,
        OPTIONS,
        1,
        [
            ({}, ValueError),
            ([], ValueError),
            ({"n": []}, ValueError),
            ({"n": [6], "q": [1]}, ValueError),
            ({"n": [6], "d": [3], "p": [1.0], "rng": [0]}, ValueError),
            ({"n": [6], "d": [3], "p": [1.0], "checkpoint": ["x.npz"]}, ValueError),
            ({"n": [6]}, ValueError),
            ({"n": [6], "d": [3], "p": [object()]}, TypeError),
            ("n = [6]", TypeError),
            (5, TypeError),
            ([{"n": 6}, 7], TypeError),
            ({1: [6]}, TypeError),
        ],
        name="grid",
    ),
    *substitute(
        sweep,
        GOOD,
        OPTIONS,
        "seeds",
        [
            (0, ValueError),
            (-2, ValueError),
            ("2", TypeError),
            (True, TypeError),
            ([], ValueError),
            ([1, 1], ValueError),
            ([0.5], ValueError),
            ([-1], ValueError),
            (10**12, packing.ResourceLimitError),  # numpy's MemoryError before
        ],
    ),
    *substitute(sweep, GOOD, OPTIONS, "n_jobs", [(0, ValueError), (1.5, ValueError), ("2", ValueError)]),
    *substitute(sweep, GOOD, OPTIONS, "client", [(3, TypeError), (object(), TypeError)]),
    *substitute(sweep, GOOD, OPTIONS, "progress", [("yes", TypeError), (2, TypeError)]),
    *substitute(
        sweep,
        GOOD,
        OPTIONS,
        "cache_dir",
        [
            (5, TypeError),
            (None, TypeError),
            (HERE / "file" / "cache", ValueError),
            (HERE / "file", ValueError),
        ],
    ),
    *substitute(
        register_task,
        ("ok-name", _square),
        {},
        0,
        [("Bad Name", ValueError), ("", ValueError), ("-x", ValueError), (3, ValueError)],
        name="name",
    ),
    *substitute(register_task, ("ok-name", _square), {}, 1, [(3, TypeError), (int, TypeError)], name="fn"),
    case(register_task, "ok-name", _square, summarize=3, exc=TypeError, name="summarize"),
    case(register_task, "ok-name", _square, summarize=lambda: {}, exc=TypeError, name="summarize"),
    case(register_task, "ok-name", _square, seed_arg="seed", exc=ValueError, name="seed_arg"),
    case(register_task, "ok-name", _square, version=1, exc=TypeError, name="version"),
    case(register_task, "train_toy_model", _square, exc=ValueError, name="name"),
    case(cell_key, 3, {}, 0, exc=TypeError, name="task"),
    case(cell_key, "t", [1], 0, exc=TypeError, name="config"),
    case(cell_key, "t", {"a": object()}, 0, exc=TypeError, name="config"),
    case(cell_key, "t", {1: 2}, 0, exc=TypeError, name="config"),
    case(cell_key, "t", {}, 0.5, exc=TypeError, name="seed"),
    case(cell_key, "t", {}, -1, exc=ValueError, name="seed"),
    case(cell_key, "t", {}, 0, task_version=2, exc=TypeError, name="task_version"),
    case(sweep_dataset, {"a": 1}, exc=TypeError, name="table"),
    case(sweep_dataset, np.zeros(3), exc=TypeError, name="table"),
    case(load_cell, HERE / "missing.npz", exc=FileNotFoundError, name="path"),
    case(load_cell, HERE / "file", exc=ValueError, name="path"),
    case(read_grid, HERE / "missing.toml", exc=FileNotFoundError, name="path"),
    case(read_grid, HERE / "file", exc=ValueError, name="path"),
    case(read_grid, HERE, exc=ValueError, name="path"),
    case(read_grid, 5, exc=TypeError, name="path"),
    case(load_cell, 5, exc=TypeError, name="path"),
]
# the figures' sweep tasks (sae_recovery, monosemanticity): each refuses what it cannot run, naming it
POINT = dict(
    W=np.eye(3)[:, :2], n_active=1.0, n_samples=50, steps=2, n_seeds=1, stream_entropy=0, stream_key=[0]
)
PENALTY = dict(
    n=4, d=2, n_active=1.0, n_samples=50, ratio=1, penalties=[0.1], steps=2, stream_entropy=4, stream_key=[2]
)
MONO = {k: v for k, v in QUICK.items() if k != "seeds"} | dict(n_neurons=4, steps=2, rng=0)
CASES += [
    *substitute(sweep, GOOD, OPTIONS, "chunk_size", [(0, ValueError), (-1, ValueError), (1.5, ValueError)]),
    *substitute(sweep, GOOD, OPTIONS, "chunk_size", [("2", ValueError), (True, ValueError)]),
    *substitute(recovery_cell, (), POINT, "W", [(np.zeros(3), ValueError), ("W", TypeError)]),
    *substitute(recovery_cell, (), POINT, "stream_entropy", [(-1, ValueError), (0.5, TypeError)]),
    *substitute(recovery_cell, (), POINT, "stream_key", [("0", TypeError), (5, TypeError)]),
    case(recovery_cell, **{**POINT, "stream_key": [0, -2]}, exc=ValueError, name="stream_key[1]"),
    *substitute(penalty_cell, (), PENALTY, "ratio", [(0, ValueError), ("1", TypeError)]),
    *substitute(penalty_cell, (), PENALTY, "stream_key", [(None, TypeError)]),
    *substitute(measure_cell, (), {**MONO, "seeds": 1}, "seeds", [(0, ValueError), (1.5, TypeError)]),
    *substitute(measure_cell, (), {**MONO, "seeds": 1}, "n_features", [(0, ValueError)]),
    *substitute(measure_cell, (), {**MONO, "seeds": 1}, "optimizer", [("lbfgs", ValueError)]),
    *substitute(measure_cell, (), {**MONO, "seeds": 1}, "schedule", [("step", ValueError), (3, ValueError)]),
    *substitute(measure_cell, (), {**MONO, "seeds": 1}, "cosine_t_max", [(0, ValueError), (2.5, TypeError)]),
]
FILES = (load_cell, read_grid)  # file errors: the wording is io's (test_bad_input_io)


@pytest.fixture(scope="module", autouse=True)
def _remove_files():
    yield
    shutil.rmtree(HERE, ignore_errors=True)


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name, wording=fn not in FILES)
