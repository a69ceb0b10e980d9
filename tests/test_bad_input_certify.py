"""Bad input to packing.certify and the toolkit's own table (see test_bad_input_common)."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_bad_input_common import (
    INTS,
    PACKINGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import best_found, best_found_table, certify_packing, export_packing, read_exported_packing

HERE = Path(tempfile.mkdtemp(prefix="packing-bad-certify-"))
(HERE / "no_header.txt").write_text("# only a comment\n0.5 0.5\n")
(HERE / "short.txt").write_text("3 2 0.75\n1.0 0.0\n0.0 1.0\n")
(HERE / "words.txt").write_text("2 2 0.5\n1.0 zero\n0.0 1.0\n")
(HERE / "nan.txt").write_text("2 2 0.5\n1.0 nan\n0.0 1.0\n")
(HERE / "binary.txt").write_bytes(b"\xff\xfe\x00\x01" * 8)
(HERE / "zero_row.txt").write_text("2 2 0.5\n0.0 0.0\n0.0 1.0\n")  # a zero vector spans no line
(HERE / "no_lines.txt").write_text("0 2 0.5\n")  # an empty packing
(HERE / "D_words.txt").write_text("2 2 abc\n1.0 0.0\n0.0 1.0\n")  # D is the squared distance, a decimal
EYE = np.eye(3)

CASES = [
    *substitute(certify_packing, (EYE,), {}, 0, PACKINGS, name="W"),
    case(certify_packing, [[1.0, 0.0]], exc=ValueError, name="W", case_id="one row"),
    case(certify_packing, [[1.0, 0.0], [0.0, 0.0]], exc=ValueError, name="W", case_id="zero row"),
    *substitute(certify_packing, (EYE,), {}, "digits", INTS, name="digits"),
    case(certify_packing, EYE, digits=101, exc=ValueError, name="digits", case_id="101"),
    *substitute(certify_packing, (EYE,), {}, "atol", TOLERANCES[:-1], name="atol"),
    *substitute(export_packing, (EYE, HERE / "x.txt"), {}, 0, PACKINGS, name="W"),
    *substitute(export_packing, (EYE, HERE / "x.txt"), {}, "digits", INTS, name="digits"),
    case(export_packing, EYE, 3, exc=TypeError, name="path"),
    case(export_packing, EYE, None, exc=TypeError, name="path", case_id="None"),
    case(export_packing, EYE, HERE / "x.txt", metadata=[1], exc=TypeError, name="metadata"),
    case(export_packing, EYE, HERE / "x.txt", metadata={"a b": 1}, exc=ValueError, name="metadata"),
    case(export_packing, EYE, HERE / "x.txt", metadata={"a": "1\n2"}, exc=ValueError, name="metadata",
         case_id="newline"),
    case(read_exported_packing, 3, exc=TypeError, name="path"),
    case(read_exported_packing, HERE / "missing.txt", exc=FileNotFoundError, name="path"),
    case(read_exported_packing, HERE, exc=ValueError, name="path", case_id="folder"),
    *(case(read_exported_packing, HERE / f, exc=ValueError, name="path", case_id=f)
      for f in ("no_header.txt", "short.txt", "words.txt", "nan.txt", "binary.txt", "zero_row.txt",
                "no_lines.txt", "D_words.txt")),
    *substitute(best_found, (6, 3), {}, 0, INTS),
    *substitute(best_found, (6, 3), {}, 1, INTS),
    *substitute(best_found_table, (), {}, "d", [v for v in INTS if v[0] is not None]),
]


@pytest.fixture(scope="module", autouse=True)
def _remove_files():
    yield
    shutil.rmtree(HERE, ignore_errors=True)


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)


def test_a_huge_atol_takes_every_pair_and_numpy_digits_export():
    # (found by fuzzing: atol=1e300 overflowed to an OverflowError; digits=np.int64(12) overflowed
    # in the export's row formatting)
    cert = certify_packing(EYE, atol=1e300)
    assert cert.num_active == 3 == certify_packing(EYE, atol=1.0).num_active
    path = HERE / "np_digits.txt"
    export_packing(EYE, path, digits=np.int64(12))
    W, _ = read_exported_packing(path)
    np.testing.assert_array_equal(W, EYE)
