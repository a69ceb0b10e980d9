"""Bad input to packing.bounds and packing.reference (see test_bad_input_common)."""

import pytest
from test_bad_input_common import (
    BOOLS,
    INTS,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    best_known,
    best_known_table,
    bound_table,
    bukh_cox_bound,
    exact_coherence,
    gerzon_bound,
    levenstein_bound,
    lower_bound,
    lp_bound,
    orthoplex_bound,
    welch_bound,
)

SIZED = [
    welch_bound,
    orthoplex_bound,
    levenstein_bound,
    bukh_cox_bound,
    exact_coherence,
    lower_bound,
    bound_table,
    best_known,
]

CASES = [
    *(c for fn in SIZED for where in (0, 1) for c in substitute(fn, (40, 3), {}, where, INTS)),
    *substitute(gerzon_bound, (3,), {}, 0, INTS),
    *substitute(best_known_table, (), {}, "d", [v for v in INTS if v[0] is not None]),
    *substitute(lower_bound, (8, 3), {}, "lp", BOOLS),
    *substitute(lower_bound, (8, 3), {}, "return_name", BOOLS),
    *substitute(bound_table, (8, 3), {}, "lp", BOOLS),
    *substitute(lp_bound, (8, 3), {}, 0, INTS),
    *substitute(lp_bound, (8, 3), {}, 1, INTS),
    *substitute(lp_bound, (8, 3), {}, "degree", INTS),
    *substitute(lp_bound, (8, 3), {}, "return_info", BOOLS),
    # outside a bound's proven range
    case(welch_bound, 1, 3, exc=ValueError, name="n"),
    case(orthoplex_bound, 6, 3, exc=ValueError, name="n"),
    case(levenstein_bound, 5, 3, exc=ValueError, name="n"),
    case(bukh_cox_bound, 3, 3, exc=ValueError, name="n"),
    case(levenstein_bound, 10**80, 10**80, exc=ValueError, name="n", case_id="huge"),
    # the LP: refused solvers, odd and unservable degrees, dimensions beyond its float recurrence
    case(lp_bound, 8, 3, solver="NOSUCHSOLVER", exc=ValueError, name="solver"),
    case(lp_bound, 8, 3, solver=3, exc=TypeError, name="solver"),
    case(lp_bound, 8, 3, solver=["CLARABEL"], exc=TypeError, name="solver"),
    case(lp_bound, 8, 3, degree=3, exc=ValueError, name="degree"),
    case(lp_bound, 8, 3, degree=10**6, exc=ValueError, name="degree"),
    case(lp_bound, 8, 10**13, exc=ValueError, name="d"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)
