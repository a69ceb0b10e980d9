"""Bad input to packing.constructions (see test_bad_input_common)."""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    HUGE_INTS,
    INTS,
    PACKINGS,
    RNGS,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    best_known_block,
    cross_polytope,
    equiangular_tight_frame,
    etf_exists,
    etf_sizes,
    haar_rotation,
    hadamard_matrix,
    known_optimum,
    mutually_unbiased_bases,
    orthonormal_basis,
    overlapping_orthogonal_sets,
    partition_sizes,
    random_packing,
    regular_polygon,
    regular_polygon_lines,
    regular_simplex,
    tegum_packing,
    tegum_product,
)

ONE_SIZE = [
    regular_polygon_lines,
    regular_polygon,
    regular_simplex,
    cross_polytope,
    orthonormal_basis,
    haar_rotation,
    etf_sizes,
]
TWO_SIZES = [
    (random_packing, (5, 3)),
    (equiangular_tight_frame, (6, 3)),
    (etf_exists, (6, 3)),
    (known_optimum, (6, 3)),
    (best_known_block, (6, 3)),
    (overlapping_orthogonal_sets, (6, 3)),
    (mutually_unbiased_bases, (4, 2)),
]

CASES = [
    *(c for fn in ONE_SIZE for c in substitute(fn, (4,), {}, 0, INTS)),
    *(c for fn, args in TWO_SIZES for where in (0, 1) for c in substitute(fn, args, {}, where, INTS)),
    *(c for where in (0, 1, 2) for c in substitute(partition_sizes, (10, 4, 2), {}, where, INTS)),
    *(c for where in (0, 1) for c in substitute(tegum_packing, (9, 6, 3), {}, where, INTS)),
    *substitute(hadamard_matrix, (4,), {}, 0, INTS),
    *(
        c
        for fn in (random_packing, overlapping_orthogonal_sets)
        for c in substitute(fn, (5, 3), {}, "rng", RNGS)
    ),
    *substitute(haar_rotation, (3,), {}, "rng", RNGS),
    *substitute(tegum_packing, (9, 6, 3), {}, "rng", RNGS),
    *substitute(tegum_product, (np.eye(2),), {}, 0, PACKINGS, name="blocks[0]"),
    *substitute(tegum_product, (np.eye(2),), {}, "rotate", BOOLS),
    *substitute(tegum_product, (np.eye(2),), {}, "return_labels", BOOLS),
    *substitute(tegum_packing, (9, 6, 3), {}, "return_labels", BOOLS),
    *substitute(overlapping_orthogonal_sets, (6, 3), {}, "return_labels", BOOLS),
    # size guards: arrays no machine should allocate are refused before anything is built
    *substitute(random_packing, (5, 3), {}, 0, HUGE_INTS),
    *substitute(haar_rotation, (3,), {}, 0, HUGE_INTS),
    *substitute(regular_simplex, (3,), {}, 0, HUGE_INTS),
    *substitute(orthonormal_basis, (3,), {}, 0, HUGE_INTS),
    *substitute(cross_polytope, (3,), {}, 0, HUGE_INTS),
    *substitute(regular_polygon_lines, (3,), {}, 0, HUGE_INTS),
    case(random_packing, 10**9, 10, exc=MemoryError, name="n", case_id="issue"),
    case(hadamard_matrix, 2**20, exc=MemoryError, name="m"),
    case(partition_sizes, 10**18, 10**18, 10**18, exc=MemoryError, name="k"),
    case(equiangular_tight_frame, 10**6, 10**6, exc=MemoryError, name="n"),
    case(overlapping_orthogonal_sets, 10, 10**6, exc=MemoryError, name="d"),
    # the argument is D (the message named the d of KnownOptimum.build before)
    case(best_known_block, 2, 10**9, exc=MemoryError, name="D", case_id="identity rows"),
    case(best_known_block, 6, 10**12, exc=MemoryError, name="D", case_id="known optimum"),
    case(tegum_packing, 10**6, 10**6, 10, exc=MemoryError, name="n"),
    # values no construction can take
    case(best_known_block, -1, 3, exc=ValueError, name="m", case_id="issue"),
    case(best_known_block, 3, 0, exc=ValueError, name="D"),
    case(hadamard_matrix, 6, exc=ValueError, name="m", case_id="not 4k"),
    case(regular_simplex, 1, exc=ValueError, name="m", case_id="one point"),
    case(partition_sizes, 10, 4, 5, exc=ValueError, name="k", case_id="k > min"),
    case(equiangular_tight_frame, 8, 3, exc=ValueError, name="n", case_id="Gerzon"),
    case(equiangular_tight_frame, 3, 5, exc=ValueError, name="d", case_id="d > n"),
    case(mutually_unbiased_bases, 6, 2, exc=ValueError, name="m", case_id="no Hadamard"),
    case(mutually_unbiased_bases, 4, 4, exc=ValueError, name="m", case_id="too many"),
    case(overlapping_orthogonal_sets, 6, 3, kind="hadamard", exc=ValueError, name="kind"),
    case(
        overlapping_orthogonal_sets, 20, 4, kind="mub", exc=ValueError, name="kind", case_id="too many bases"
    ),
    case(tegum_product, exc=ValueError, name="blocks"),
    case(tegum_packing, 9, 6, 2, block="polygon", exc=ValueError, name="block"),
    case(tegum_packing, 9, 6, 3, block="hexagon", exc=ValueError, name="block", case_id="unknown"),
    case(tegum_packing, 9, 6, 3, block=3, exc=ValueError, name="block", case_id="not a str"),
    case(tegum_packing, 8, 3, [(6, 2), (1, 1)], exc=ValueError, name="k", case_id="sizes do not add up"),
    case(tegum_packing, 8, 3, "k", exc=TypeError, name="k", case_id="a string"),
    case(tegum_packing, 8, 3, [(6, 2, 1)], exc=ValueError, name="k", case_id="triples"),
    case(tegum_packing, 8, 3, [(7.0, 2), (1, 1)], exc=TypeError, name="k[0][0]"),
    case(
        tegum_packing,
        4,
        2,
        2,
        block=lambda m, D: np.ones((m + 1, D)),
        exc=ValueError,
        name="block",
        case_id="wrong shape",
    ),
]


CASES += [
    case(tegum_packing, 4, 2, 2, block=lambda: np.eye(2), exc=TypeError, name="block", case_id="arity"),
    case(random_packing, np.array(5), 3, exc=TypeError, name="n", case_id="0-d array"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)

# tegum_product: rng is checked even when rotate=False leaves it unused
CASES += [
    case(tegum_product, np.eye(2), rng="0", exc=TypeError, name="rng", case_id="rng unused"),
    case(tegum_product, np.eye(2), rng=np.random.RandomState(0), exc=TypeError, name="rng", case_id="legacy"),
]
