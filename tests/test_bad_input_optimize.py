"""Bad input to packing.optimize and the memory limit itself (see test_bad_input_common)."""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    CHOICES,
    INTS,
    ORDERS,
    PACKINGS,
    RNGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import optimize_packing, packing_objective, polish_coherence, set_memory_limit

W = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.6, 0.8], [0.6, 0.0, 0.8]])
NOT_NONE = [v for v in TOLERANCES if v[0] is not None]

CASES = [
    *(c for where in (0, 1) for c in substitute(optimize_packing, (4, 3), {}, where, INTS)),
    *substitute(optimize_packing, (5, 2), {}, "p", ORDERS),
    *substitute(optimize_packing, (5, 3), {}, "rng", RNGS),
    *substitute(optimize_packing, (5, 3), {}, "budget", NOT_NONE + [(0.0, ValueError)]),
    *substitute(optimize_packing, (5, 3), {}, "restarts", [v for v in INTS if v[0] is not None]),
    *substitute(optimize_packing, (5, 3), {}, "max_iter", INTS),
    *substitute(optimize_packing, (5, 3), {}, "hop", TOLERANCES + [(1.5, ValueError), ("auto", TypeError)]),
    *substitute(optimize_packing, (5, 3), {}, "tol", TOLERANCES),
    *substitute(optimize_packing, (5, 3), {}, "method", CHOICES),
    *substitute(optimize_packing, (5, 3), {}, "polish", BOOLS),
    *substitute(optimize_packing, (5, 3), {}, "verbose", BOOLS),
    *substitute(optimize_packing, (4, 3), {}, "init", [v for v in PACKINGS if v[0] is not None]),
    case(optimize_packing, 4, 3, init=np.ones((3, 3)), exc=ValueError, name="init", case_id="shape"),
    case(optimize_packing, 4, 3, init=np.zeros((4, 3)), exc=ValueError, name="init", case_id="zero row"),
    case(optimize_packing, 10**9, 3, exc=MemoryError, name="n", case_id="issue"),
    case(optimize_packing, 10**5, 10**5, exc=MemoryError, name="n", case_id="n x n"),
    *substitute(packing_objective, (W,), {}, 0, PACKINGS),
    *substitute(packing_objective, (W,), {}, "p", ORDERS),
    *substitute(polish_coherence, (W,), {}, 0, PACKINGS),
    *substitute(polish_coherence, (W,), {}, "max_iter", [v for v in INTS if v[0] not in (0,)]),
    *substitute(polish_coherence, (W,), {}, "radius", TOLERANCES + [(0.0, ValueError)]),
    *substitute(polish_coherence, (W,), {}, "tol", TOLERANCES),
    case(polish_coherence, W[:1], exc=ValueError, name="W", case_id="one row"),
    case(polish_coherence, np.vstack([W, np.zeros(3)]), exc=ValueError, name="W", case_id="zero row"),
    case(polish_coherence, np.ones((20_000, 2)), exc=MemoryError, name="n"),
    # the setting the size guards check against
    case(set_memory_limit, "1GB", exc=TypeError, name="limit"),
    case(set_memory_limit, 1.5e9, exc=TypeError, name="limit"),
    case(set_memory_limit, 0, exc=ValueError, name="limit"),
    case(set_memory_limit, -(2**30), exc=ValueError, name="limit"),
    case(set_memory_limit, True, exc=TypeError, name="limit"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)


def test_a_huge_finite_p_is_a_search_not_a_math_domain_error():
    # (found by fuzzing: at p = 1e30 every term but the largest was dropped as underflowing, and the
    # largest too, so log(0) raised "math domain error")
    res = optimize_packing(6, 3, p=1e30, rng=0, restarts=2)
    assert np.isfinite(res.W).all() and res.W.shape == (6, 3)
