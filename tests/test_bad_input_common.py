"""Shared machinery of the bad-input tables (``test_bad_input_<module>.py``), and their coverage.

Every table is a list of :func:`case` entries: a public function, the arguments
of a call that must fail, the exception type it must raise, and the name of the
argument its message must name (exactly as the user passed it). The message
must also say what arrived (``got ...``) or, for a size guard, how much the call
would need. :func:`substitute` generates one case per bad value of an argument
from a good call, so every argument of every function meets the same bad
values (wrong types, numeric strings, NaN, infinities, out-of-range numbers,
huge sizes).

Size guards are tested under a memory limit of 256 MiB (set for every table by
the ``small_memory_limit`` fixture), so that no case allocates much on any machine.
"""

import importlib
import inspect
import re
import signal
from pathlib import Path

import numpy as np
import pytest
from helpers import load_script

import packing
from packing.testing.bad_inputs import NO_ARGUMENTS

MEMORY_LIMIT = 256 * 2**20
#: Seconds a bad-input case may take before it counts as a hang.
CASE_SECONDS = 60

# ---------------------------------------------------------------- bad values, each with its exception
INTS = [
    (3.0, TypeError),
    ("3", TypeError),
    (None, TypeError),
    (True, TypeError),
    (2.5, TypeError),
    ([3], TypeError),
    (np.float64(3.0), TypeError),
    (0, ValueError),
    (-1, ValueError),
]
#: Sizes whose work or memory no machine has: a clear refusal, fast.
HUGE_INTS = [(10**12, packing.ResourceLimitError)]
FLOATS = [
    ("0.5", TypeError),
    (None, TypeError),
    (True, TypeError),
    ([0.5], TypeError),
    (1j, TypeError),
    (np.nan, ValueError),
]
TOLERANCES = FLOATS + [(-1.0, ValueError), (np.inf, ValueError)]
ORDERS = [
    (0, ValueError),
    (-1.0, ValueError),
    (np.nan, ValueError),
    (-np.inf, ValueError),
    ("2", TypeError),
    (None, TypeError),
    (True, TypeError),
]
BOOLS = [("yes", TypeError), (1, TypeError), (None, TypeError), (0.0, TypeError)]
RNGS = [("0", TypeError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ([0], TypeError)]
PACKINGS = [
    ([[np.nan, 1.0]], ValueError),
    ([[np.inf, 0.0], [0.0, 1.0]], ValueError),
    ([1.0, 2.0], ValueError),
    (np.zeros((2, 2, 2)), ValueError),
    (np.zeros((0, 3)), ValueError),
    (np.zeros((3, 0)), ValueError),
    (np.ones((2, 2), dtype=complex), TypeError),
    ([["a", "b"]], TypeError),
    ([[1.0, 2.0], [3.0]], TypeError),
    (None, TypeError),
    ("[[1, 0]]", TypeError),
    (np.array([[object()]]), TypeError),
]
CHOICES = [("no-such-choice", ValueError), (3, ValueError), (None, ValueError)]
#: Bad probability tables (sparsity, density): out of [0, 1], NaN, wrong types, wrong shapes.
TABLES = [
    (-0.5, ValueError),
    (1.5, ValueError),
    (np.nan, ValueError),
    ("0.5", TypeError),
    (True, TypeError),
    ([[0.5, 0.5]], ValueError),
    (0.5j, TypeError),  # numpy would drop the imaginary part with a warning
    (np.array(["0.5", "0.5"]), TypeError),  # numpy would parse the strings
]
#: Bad dtypes of the trainers and samplers (only float32 and float64 are accepted).
DTYPES = [
    ("abc", ValueError),
    (np.float16, ValueError),
    (3j, ValueError),
    (True, ValueError),
    (int, ValueError),
]
#: Sizes of a batch beyond packing._validation.MAX_BATCH: refused at once, not run (almost) forever.
HUGE_BATCHES = [(10**12, ValueError)]


def NOT_NONE(bad: list) -> list:  # noqa: N802  (reads as a constant: the list without None)
    """The bad values except ``None`` (for arguments where ``None`` means the default)."""
    return [(value, exc) for value, exc in bad if value is not None]


def case(fn, *args, exc, name, case_id: str = "", **kwargs):
    """One table entry: ``fn(*args, **kwargs)`` must raise ``exc`` naming ``name``."""
    ident = f"{fn.__name__}-{name}-{case_id}" if case_id else f"{fn.__name__}-{name}"
    return pytest.param(fn, args, kwargs, exc, name, id=ident)


def substitute(fn, args: tuple, kwargs: dict, where, bad: list, *, name: str | None = None):
    """Cases from a good call: argument ``where`` (a position or a keyword) replaced by each bad value."""
    name = name if name is not None else (where if isinstance(where, str) else _positional_name(fn, where))
    out = []
    for k, (value, exc) in enumerate(bad):
        a, kw = list(args), dict(kwargs)
        if isinstance(where, int):
            a[where] = value
        else:
            kw[where] = value
        out.append(case(fn, *a, exc=exc, name=name, case_id=f"{k}:{_short(value)}", **kw))
    return out


def _positional_name(fn, index: int) -> str:
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind != p.VAR_POSITIONAL]
    return params[index].name


def _short(value) -> str:
    text = repr(value) if not isinstance(value, np.ndarray) else f"array{value.shape}{value.dtype}"
    return re.sub(r"\s+", "", text)[:24]


def _alarm(signum, frame):
    raise TimeoutError(f"a bad-input case ran for more than {CASE_SECONDS} s")


def check_bad_input(fn, args, kwargs, exc, name, *, wording: bool = True):
    """Run one case: the exception type, the argument named as passed, and (``wording``) what arrived."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        with pytest.raises(exc) as info:
            fn(*args, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    message = str(info.value)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message), f"{name!r} not named in: {message}"
    if not wording:
        return
    expected = (
        r"\bmust\b|valid only|\bneeds?\b|expected|required|\btakes\b|\beither\b|would need|beyond"
        r"|\bexists?\b|constructible|\bhas no\b"
    )
    assert re.search(expected, message), f"nothing expected: {message}"
    arrived = r"\bgot\b|\bfound\b|could not convert|returned|would need|beyond|row \d+ is|which is"
    shown = rf"(?<![\w.]){re.escape(name)}\s*=\s*\S"  # "n=8 vectors": the value that arrived, inline
    assert re.search(arrived, message) or re.search(shown, message), f"nothing arrived: {message}"


@pytest.fixture(autouse=True)
def small_memory_limit():
    """Run every case under a 256 MiB memory limit (size guards refuse fast on any machine)."""
    previous = packing.set_memory_limit(MEMORY_LIMIT)
    yield
    packing.set_memory_limit(previous)


# ---------------------------------------------------------------- coverage of the public namespace
def _tables():
    here = Path(__file__).parent
    for path in sorted(here.glob("test_bad_input_*.py")):
        if path.stem != "test_bad_input_common":
            yield path.stem, importlib.import_module(path.stem)


def test_every_public_function_has_bad_input_cases():
    covered = {}
    for stem, module in _tables():
        for param in module.CASES:
            covered.setdefault(param.values[0].__name__, set()).add(stem)
    public = [
        n
        for n in packing.__all__
        if callable(getattr(packing, n)) and not inspect.isclass(getattr(packing, n))
    ]
    missing = [n for n in public if n not in covered and n not in NO_ARGUMENTS]
    assert not missing, f"public functions without bad-input cases: {missing}"


def test_the_no_argument_list_names_public_callables_without_arguments():
    # one list for these tables and scripts/fuzz_bad_inputs.py (which calls each once, without arguments)
    assert len(set(NO_ARGUMENTS)) == len(NO_ARGUMENTS)
    for name in NO_ARGUMENTS:
        assert name in packing.__all__ and callable(getattr(packing, name)), name
        required = [
            q for q in inspect.signature(getattr(packing, name)).parameters.values()
            if q.default is q.empty and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)
        ]
        assert not required, (name, required)
    assert load_script("fuzz_bad_inputs").NO_ARGUMENTS is NO_ARGUMENTS


def test_tables_hold_at_least_300_cases_outside_the_cli():
    counts = {stem: len(module.CASES) for stem, module in _tables()}
    assert sum(counts.values()) >= 300, counts


def test_memory_limit_default_setting_and_environment(monkeypatch):
    from packing import _limits

    previous = packing.set_memory_limit(None)  # the default (this module's fixture set 256 MiB)
    try:
        monkeypatch.delenv(_limits.ENV_VAR, raising=False)
        assert packing.get_memory_limit() == int(0.5 * _limits.physical_memory()) > 0
        monkeypatch.setenv(_limits.ENV_VAR, str(2**20))
        assert packing.get_memory_limit() == 2**20
        with pytest.raises(packing.ResourceLimitError, match=r"random_packing\(n=1000, d=1000\).*\$PACKING"):
            packing.random_packing(1000, 1000)
        monkeypatch.setenv(_limits.ENV_VAR, "lots")
        with pytest.raises(
            ValueError, match="PACKING_MEMORY_LIMIT must be a whole number of bytes; got 'lots'"
        ):
            packing.get_memory_limit()
        monkeypatch.delenv(_limits.ENV_VAR)
        assert packing.set_memory_limit(12345) is None and packing.get_memory_limit() == 12345
        assert packing.set_memory_limit(None) == 12345
    finally:
        packing.set_memory_limit(previous)
    # a refusal is both a ValueError (arguments too large) and a MemoryError, raised before allocating
    assert issubclass(packing.ResourceLimitError, ValueError) and issubclass(
        packing.ResourceLimitError, MemoryError
    )
