"""Bad input to packing.analytic and packing.partition (see test_bad_input_common)."""

import math

import pytest
from test_bad_input_common import (
    BOOLS,
    INTS,
    ORDERS,
    RNGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    PairSpectrum,
    admissible_k,
    block_cost_table,
    construction_spectrum,
    equal_partition_loss,
    expected_random_moment,
    optimal_k,
    optimal_partition,
    overlapping_orthogonal_pairs,
    tegum_has_more_orthogonal_pairs,
    tegum_loss,
    tegum_loss_regime,
    tegum_losses,
    tegum_orthogonal_pairs,
    tegum_spectrum,
    turan_orthogonal_pairs,
    turan_packing,
)

#: The product of the first 40 primes: 2**40 divisors, each an admissible block count.
PRIMORIAL = math.prod(q for q in range(2, 174) if all(q % f for f in range(2, q)))
TWO_SIZES = [overlapping_orthogonal_pairs, turan_orthogonal_pairs, turan_packing, admissible_k]

CASES = [
    *(c for fn in TWO_SIZES for where in (0, 1) for c in substitute(fn, (12, 6), {}, where, INTS)),
    *(
        c
        for where in (0, 1, 2)
        for c in substitute(tegum_has_more_orthogonal_pairs, (6, 3, 2), {}, where, INTS)
    ),
    *(c for where in (0, 1, 2) for c in substitute(tegum_loss, (12, 6, 2, 1.0), {}, where, INTS)),
    *substitute(tegum_loss, (12, 6, 2, 1.0), {}, 3, ORDERS),
    *(c for where in (0, 1) for c in substitute(tegum_losses, (12, 6, 1.0), {}, where, INTS)),
    *substitute(tegum_losses, (12, 6, 1.0), {}, 2, ORDERS),
    *substitute(tegum_losses, (12, 6, 1.0), {}, "ordered", BOOLS),
    *substitute(tegum_loss, (12, 6, 2, 1.0), {}, "ordered", BOOLS),
    *(c for where in (0, 1) for c in substitute(optimal_k, (12, 6, 1.0), {}, where, INTS)),
    *substitute(optimal_k, (12, 6, 1.0), {}, 2, ORDERS),
    *substitute(optimal_k, (12, 6, 1.0), {}, "rtol", TOLERANCES),
    *substitute(tegum_loss_regime, (1.0,), {}, 0, ORDERS),
    *(c for where in (0, 1) for c in substitute(expected_random_moment, (10, 3, 1.0), {}, where, INTS)),
    *substitute(expected_random_moment, (10, 3, 1.0), {}, 2, ORDERS),
    *substitute(turan_packing, (5, 2), {}, "return_labels", BOOLS),
    *substitute(construction_spectrum, ("simplex", 4), {}, 1, INTS, name="args[0]"),
    # the examples: no loop to gcd(n, d), no min() of an empty sequence, no float overflow
    case(optimal_k, 12, 6, 1, rtol=-1, exc=ValueError, name="rtol", case_id="issue"),
    case(tegum_has_more_orthogonal_pairs, 10**18, 10**18, 7, exc=ValueError, name="k", case_id="huge"),
    case(tegum_loss, 1000, 100, 3, 1.0, exc=ValueError, name="k", case_id="not a divisor"),
    case(tegum_has_more_orthogonal_pairs, 12, 5, 2, exc=ValueError, name="d", case_id="whole bases"),
    case(expected_random_moment, 5, 3, float("inf"), exc=ValueError, name="p", case_id="inf"),
    case(expected_random_moment, 10**400, 3, 1.0, exc=OverflowError, name="n", case_id="beyond floats"),
    case(tegum_loss, 10**400, 10**200, 1, 0.5, exc=OverflowError, name="n", case_id="beyond floats"),
    case(admissible_k, PRIMORIAL, PRIMORIAL, exc=MemoryError, name="n", case_id="2**40 divisors"),
    case(tegum_orthogonal_pairs, [3, 0], exc=ValueError, name="block_sizes[1]"),
    case(tegum_orthogonal_pairs, [3, 2.0], exc=TypeError, name="block_sizes[1]"),
    case(tegum_orthogonal_pairs, "33", exc=TypeError, name="block_sizes"),
    case(tegum_orthogonal_pairs, [], exc=ValueError, name="block_sizes"),
    case(tegum_orthogonal_pairs, 7, exc=TypeError, name="block_sizes"),
    case(tegum_orthogonal_pairs, [2, 2], within=[0], exc=ValueError, name="within"),
    case(tegum_orthogonal_pairs, [2, 2], within=[2, 0], exc=ValueError, name="within[0]"),
    case(tegum_orthogonal_pairs, [2, 2], within=[-1, 0], exc=ValueError, name="within[0]"),
    case(construction_spectrum, "dodecahedron", exc=ValueError, name="name"),
    case(construction_spectrum, 3, exc=ValueError, name="name", case_id="not a str"),
    case(construction_spectrum, "simplex", exc=TypeError, name="args", case_id="missing size"),
    case(construction_spectrum, "simplex", 1, exc=ValueError, name="args[0]", case_id="one point"),
    case(construction_spectrum, "etf", 8, 3, exc=ValueError, name="n", case_id="no ETF"),
    case(construction_spectrum, "polygon_lines", 10**9, exc=MemoryError, name="m", case_id="issue"),
    case(tegum_spectrum, exc=ValueError, name="spectra"),
    case(tegum_spectrum, "simplex", exc=TypeError, name="spectra[0]"),
    # partition
    *(c for where in (0, 1) for c in substitute(optimal_partition, (12, 6, 1.0), {}, where, INTS)),
    *substitute(optimal_partition, (12, 6, 1.0), {}, 2, ORDERS),
    *substitute(optimal_partition, (12, 6, 1.0), {}, "build", BOOLS),
    *substitute(optimal_partition, (12, 6, 1.0), {}, "rng", RNGS),
    *substitute(
        optimal_partition,
        (12, 6, 1.0),
        {"cost": "optimizer"},
        "budget",
        [v for v in TOLERANCES if v[0] is not None] + [(0.0, ValueError)],
    ),
    *(c for where in (0, 1) for c in substitute(block_cost_table, (4, 2, 1.0), {}, where, INTS)),
    *substitute(block_cost_table, (4, 2, 1.0), {}, 2, ORDERS),
    *substitute(block_cost_table, (4, 2, 1.0), {}, "rng", RNGS),
    *(c for where in (0, 1, 2) for c in substitute(equal_partition_loss, (12, 6, 2, 1.0), {}, where, INTS)),
    *substitute(equal_partition_loss, (12, 6, 2, 1.0), {}, 3, ORDERS),
    case(optimal_partition, 12, 6, 1.0, cost="best", exc=ValueError, name="cost"),
    case(optimal_partition, 12, 6, 1.0, cost=3, exc=ValueError, name="cost", case_id="not a str"),
    case(optimal_partition, 4, 2, 1.0, cost=lambda m, D: "x", exc=TypeError, name="cost(1, 1)"),
    case(optimal_partition, 4, 2, 1.0, cost=lambda m, D: -1.0, exc=ValueError, name="cost(1, 1)"),
    case(optimal_partition, 4, 2, 1.0, cost=lambda m, D: float("nan"), exc=ValueError, name="cost(1, 1)"),
    case(
        optimal_partition,
        4,
        2,
        1.0,
        cost=lambda m, D: float("inf"),
        exc=ValueError,
        name="cost",
        case_id="inf everywhere",
    ),
    case(block_cost_table, 4, 2, 1.0, cost="best", exc=ValueError, name="cost"),
    case(equal_partition_loss, 12, 6, 4, 1.0, exc=ValueError, name="k", case_id="not a divisor"),
    case(optimal_partition, 10**6, 10**5, 1.0, exc=MemoryError, name="n", case_id="tables"),
    case(block_cost_table, 10**9, 10, 1.0, exc=MemoryError, name="n", case_id="table"),
    case(
        equal_partition_loss, 10**12, 10**12, 1, 1.0, cost="known", exc=MemoryError, name="d", case_id="row"
    ),
]


CASES += [
    case(optimal_partition, 4, 2, 1.0, cost=lambda: 1.0, exc=TypeError, name="cost", case_id="arity"),
    case(block_cost_table, 4, 2, 1.0, cost=lambda m: 1.0, exc=TypeError, name="cost", case_id="arity"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)

# PairSpectrum.from_pairs: n and the {|cos|: count} table are checked before any arithmetic
CASES += [
    case(PairSpectrum.from_pairs, "4", {1 / 3: 6}, exc=TypeError, name="n", case_id="from_pairs n str"),
    case(PairSpectrum.from_pairs, math.nan, {1 / 3: 6}, exc=TypeError, name="n", case_id="from_pairs n nan"),
    case(PairSpectrum.from_pairs, 4, None, exc=TypeError, name="pairs", case_id="from_pairs None"),
    case(PairSpectrum.from_pairs, 4, {"a": 6}, exc=TypeError, name="pairs", case_id="from_pairs key str"),
    case(PairSpectrum.from_pairs, 4, {2.0: 6}, exc=ValueError, name="pairs", case_id="from_pairs key > 1"),
    case(PairSpectrum.from_pairs, 4, {1 / 3: 6.0}, exc=TypeError, name="pairs", case_id="float count"),
]
