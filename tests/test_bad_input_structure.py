"""Bad input to packing.structure and packing.compare (see test_bad_input_common)."""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    INTS,
    PACKINGS,
    RNGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    analyze_structure,
    compare_packings,
    deduplicate_packings,
    factor_capacities,
    ideal_tegum_product,
    identify_shape,
    interference_graph,
    optimal_partition,
    orthogonal_sets,
    orthogonality_graph,
    packing_signature,
    represented_features,
    shape_template,
    tegum_factors,
)

S = np.sqrt(3) / 2
W = np.array([[1, 0, 0], [-0.5, S, 0], [-0.5, -S, 0], [0, 0, 1], [0, 0, -1]])
BIG = np.zeros((9000, 1))  # 9,000 rows: every n x n step needs far more than the 256 MiB limit
# 10 million entries (a read-only view, nothing allocated): the tiled structure pass needs about
# 28 bytes per entry for its unit rows, beyond the 256 MiB limit
TALL = np.broadcast_to(np.float32(1.0), (2_500_000, 4))
TAKES_W = [
    represented_features,
    interference_graph,
    orthogonality_graph,
    tegum_factors,
    identify_shape,
    orthogonal_sets,
    factor_capacities,
    packing_signature,
    analyze_structure,
    ideal_tegum_product,
]
FRACTIONS = [v for v in TOLERANCES if v[0] is not None] + [(2.0, ValueError)]  # values in [0, 1]
QUICK = {"include": ("ideal",), "p_grid": ()}  # compare_packings without its expensive references

CASES = [
    *(
        c
        for fn in TAKES_W
        for c in substitute(fn, (W,), {}, 0, PACKINGS, name="V" if fn is identify_shape else "W")
    ),
    *substitute(represented_features, (W,), {}, "threshold", TOLERANCES),
    *substitute(represented_features, (W,), {}, "relative", BOOLS),
    *(
        c
        for fn in (interference_graph, orthogonality_graph, orthogonal_sets)
        for c in substitute(fn, (W,), {}, "atol", TOLERANCES)
    ),
    *substitute(tegum_factors, (W,), {}, "atol", FRACTIONS),
    *substitute(tegum_factors, (W,), {}, "norm_threshold", TOLERANCES),
    # relative to the largest row norm: at 1 or more no row is kept (was: an empty answer or an error
    # about W)
    *substitute(tegum_factors, (W,), {}, "norm_threshold", [(1.0, ValueError), (1.5, ValueError)]),
    *substitute(analyze_structure, (W,), {}, "norm_threshold", [(1.0, ValueError), (2.5, ValueError)]),
    *substitute(tegum_factors, (W,), {}, "rank_rtol", FRACTIONS),
    *substitute(tegum_factors, (W,), {}, "orth_tol", [v for v in TOLERANCES if v[0] is not None]),
    *substitute(identify_shape, (W[:3],), {}, "tol", TOLERANCES),
    *substitute(identify_shape, (W[:3],), {}, "rank_rtol", FRACTIONS),
    *substitute(orthogonal_sets, (W,), {}, "max_sets", INTS),
    *substitute(factor_capacities, (W,), {}, "tol", TOLERANCES),
    *substitute(packing_signature, (W,), {}, "atol", TOLERANCES),
    *substitute(packing_signature, (W,), {}, "signed", BOOLS),
    *substitute(packing_signature, (W,), {}, "normalize", BOOLS),
    *substitute(deduplicate_packings, ([W, W],), {}, "atol", TOLERANCES),
    *substitute(deduplicate_packings, ([W, W],), {}, "signed", BOOLS),
    *substitute(analyze_structure, (W,), {}, "atol", FRACTIONS),
    *substitute(analyze_structure, (W,), {}, "norm_threshold", TOLERANCES),
    *substitute(analyze_structure, (W,), {}, "shape_tol", TOLERANCES),
    *substitute(analyze_structure, (W,), {}, "signed", BOOLS),
    *substitute(shape_template, ("polygon", 5), {}, 1, [v for v in INTS if v[0] is not None], name="m"),
    case(deduplicate_packings, [W, [[np.nan, 0.0]]], exc=ValueError, name="Ws[1]"),
    case(deduplicate_packings, 3, exc=TypeError, name="Ws"),
    case(deduplicate_packings, "W", exc=TypeError, name="Ws"),
    case(deduplicate_packings, np.zeros((3, 2)), exc=ValueError, name="Ws", case_id="2-D"),
    case(identify_shape, [[1.0, 0.0], [0.0, 0.0]], exc=ValueError, name="V", case_id="zero row"),
    case(shape_template, "dodecahedron", exc=ValueError, name="family"),
    case(shape_template, ["polygon"], exc=ValueError, name="family", case_id="unhashable"),
    case(shape_template, "polygon", exc=ValueError, name="m", case_id="missing"),
    case(shape_template, "polygon", 2, exc=ValueError, name="m", case_id="too few"),
    case(shape_template, "cross_polytope", 5, exc=ValueError, name="m", case_id="odd"),
    case(shape_template, "rectified_simplex", 7, exc=ValueError, name="m", case_id="not triangular"),
    case(shape_template, "square_antiprism", 9, exc=ValueError, name="m", case_id="fixed"),
    case(shape_template, "simplex", 10**9, exc=MemoryError, name="m", case_id="huge"),
    case(tegum_factors, W, tolerance=0.1, exc=TypeError, name="tolerance", case_id="unknown option"),
    case(factor_capacities, np.eye(3), "factors", exc=TypeError, name="factors"),
    case(
        factor_capacities,
        np.eye(3),
        tegum_factors(np.eye(2)),
        exc=ValueError,
        name="factors",
        case_id="shape",
    ),
    case(factor_capacities, W, bogus=1, exc=TypeError, name="bogus"),
    case(analyze_structure, np.zeros((3, 2)), exc=ValueError, name="W", case_id="no represented feature"),
    case(
        packing_signature,
        np.array([[1e200, 0.0], [1e200, 1e200]]),
        normalize=False,
        exc=OverflowError,
        name="W",
        case_id="beyond floats",
    ),
    case(packing_signature(W).key, "3", exc=TypeError, name="decimals"),
    case(packing_signature(W).matches, packing_signature(W), atol=-1.0, exc=ValueError, name="atol"),
    case(packing_signature(W).distance, "W", exc=TypeError, name="other"),
    *(
        case(fn, BIG, exc=MemoryError, name="n", case_id="n x n guard")
        for fn in (
            interference_graph,
            orthogonality_graph,
            orthogonal_sets,
            packing_signature,
        )
    ),
    *(
        case(fn, TALL, exc=MemoryError, name="n", case_id="tiled guard")
        for fn in (tegum_factors, analyze_structure, factor_capacities)
    ),
    case(packing_signature, TALL, profile=4, exc=MemoryError, name="n", case_id="tiled guard"),
    *substitute(packing_signature, (W,), {}, "profile", [v for v in INTS if v[0] is not None]),
    # compare
    *substitute(
        compare_packings,
        (W,),
        QUICK,
        0,
        [v for v in PACKINGS if v[0].__class__ is not np.ndarray or v[0].ndim != 3],
    ),
    *substitute(compare_packings, (W,), QUICK, "atol", TOLERANCES),
    *substitute(compare_packings, (W,), QUICK, "norm_threshold", TOLERANCES),
    *substitute(compare_packings, (W,), QUICK, "shape_tol", TOLERANCES),
    *substitute(compare_packings, (W,), QUICK, "optimizer_budget", TOLERANCES + [(0.0, ValueError)]),
    *substitute(compare_packings, (W,), QUICK, "rng", RNGS),
    case(compare_packings, W, ps=[1.0, 0.0], **QUICK, exc=ValueError, name="ps[1]"),
    case(compare_packings, W, ps="12", **QUICK, exc=TypeError, name="ps"),
    case(compare_packings, W, partition_ps=[-1.0], **QUICK, exc=ValueError, name="partition_ps[0]"),
    case(compare_packings, W, p_grid=[2.0, "4"], include=("ideal",), exc=TypeError, name="p_grid[1]"),
    case(compare_packings, W, include=("best",), p_grid=(), exc=ValueError, name="include"),
    case(compare_packings, W, include=3, p_grid=(), exc=TypeError, name="include"),
    case(compare_packings, np.stack([W, W * np.nan]), **QUICK, exc=ValueError, name="W[1]"),
    case(ideal_tegum_product, W, report="report", exc=TypeError, name="report"),
    case(
        ideal_tegum_product,
        np.eye(3),
        report=analyze_structure(W),
        exc=ValueError,
        name="report",
        case_id="of another W",
    ),
    case(
        ideal_tegum_product,
        W,
        report=analyze_structure(W),
        atol=0.1,
        exc=TypeError,
        name="report",
        case_id="report and options",
    ),
    case(ideal_tegum_product, W, atol=2.0, exc=ValueError, name="atol"),
    case(optimal_partition, 3, 2, 1.0, seed=1, rng=2, exc=TypeError, name="seed", case_id="both"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)

# PackingSignature.key: a decimals count beyond what rounds a float64 is a ValueError, not an OverflowError
SIGNATURE = packing_signature(W)
CASES += [
    case(SIGNATURE.key, 10**12, exc=ValueError, name="decimals", case_id="key huge"),
    case(SIGNATURE.key, -(10**30), exc=ValueError, name="decimals", case_id="key huge negative"),
    case(SIGNATURE.key, 2.5, exc=TypeError, name="decimals", case_id="key float"),
]
