"""Bad input to packing.geometry: every statistic, every argument (see test_bad_input_common)."""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    CHOICES,
    INTS,
    NOT_NONE,
    ORDERS,
    PACKINGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    capacity,
    coherence,
    cosine_matrix,
    default_atol,
    dimensions_per_feature,
    feature_dimensionality,
    frame_potential,
    interference_moment,
    interference_moments,
    is_tight_frame,
    orthogonal_pairs,
    pairwise_statistics,
    signed_interference,
)

W = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
STATISTICS = [
    cosine_matrix,
    coherence,
    capacity,
    feature_dimensionality,
    dimensions_per_feature,
    frame_potential,
    is_tight_frame,
    orthogonal_pairs,
    pairwise_statistics,
    signed_interference,
    interference_moments,
]

CASES = [
    *(c for fn in STATISTICS for c in substitute(fn, (W,), {}, 0, PACKINGS)),
    *substitute(interference_moment, (W, 2.0), {}, 0, PACKINGS),
    *substitute(interference_moment, (W, 2.0), {}, 1, ORDERS),
    *substitute(pairwise_statistics, (W,), {}, "p", ORDERS),
    *substitute(signed_interference, (W,), {}, "p", ORDERS),
    *substitute(pairwise_statistics, (W,), {}, "atol", NOT_NONE(TOLERANCES)),  # None: the default
    *substitute(orthogonal_pairs, (W,), {}, "atol", NOT_NONE(TOLERANCES)),
    *substitute(pairwise_statistics, (W,), {}, "signed", BOOLS[:2]),
    *substitute(signed_interference, (W,), {}, "weighted", BOOLS),
    *substitute(frame_potential, (W,), {}, "normalize", BOOLS),
    *substitute(is_tight_frame, (W,), {}, "rtol", TOLERANCES),
    *substitute(pairwise_statistics, (W,), {}, "method", CHOICES),
    *substitute(pairwise_statistics, (W,), {}, "block_size", NOT_NONE(INTS)),
    *substitute(pairwise_statistics, (W,), {}, "n_threads", INTS[:2] + [(0, ValueError)]),
    *substitute(
        pairwise_statistics, (W,), {}, "bins", [(0, ValueError), (2.5, TypeError), ("10", TypeError)]
    ),
    case(pairwise_statistics, W, bins=[0.5, 0.2], exc=ValueError, name="bins"),
    case(pairwise_statistics, W, bins=[0.0, np.nan], exc=ValueError, name="bins"),
    case(pairwise_statistics, W, bins=[[0.0, 1.0]], exc=ValueError, name="bins"),
    case(interference_moments, W, p=[1.0, 0.0], exc=ValueError, name="p[1]"),
    case(interference_moments, W, p=["1"], exc=TypeError, name="p[0]"),
    case(interference_moments, W, p=[], exc=ValueError, name="p"),
    case(interference_moments, W, p="12", exc=TypeError, name="p"),
    case(interference_moment, W, 10**400, exc=ValueError, name="p", case_id="int beyond floats"),
    case(default_atol, "not a dtype", exc=TypeError, name="dtype"),
    case(default_atol, None, exc=TypeError, name="dtype"),
    # guards: the dense cosine matrix of a dictionary, forced dense passes, astronomically many bins
    case(cosine_matrix, np.zeros((20_000, 1), dtype=np.float32), exc=MemoryError, name="n"),
    case(pairwise_statistics, np.ones((9000, 1)), method="dense", exc=MemoryError, name="n"),
    case(pairwise_statistics, W, bins=10**9, exc=MemoryError, name="n"),
    # values beyond the float range are refused, not returned as inf
    case(dimensions_per_feature, np.array([[1e-200, 0.0]]), exc=OverflowError, name="W"),
    case(frame_potential, np.array([[1e200, 0.0]]), exc=OverflowError, name="W"),
    case(
        signed_interference,
        np.array([[1e200, 0.0], [1e200, 1.0]]),
        p=[1],
        weighted=True,
        exc=OverflowError,
        name="W",
    ),
]


CASES += [
    case(coherence, np.ma.array(W, mask=np.eye(3, 2, dtype=bool)), exc=TypeError, name="W", case_id="masked"),
    case(
        capacity, np.array([[np.longdouble("1e4000"), 0.0]]), exc=ValueError, name="W", case_id="longdouble"
    ),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)

# PairStatistics.moment: the order is checked like every p; one that was not requested is a ValueError
# (and still a KeyError) naming p
STATS = pairwise_statistics(W, p=(1.0, 2.0))
CASES += [
    case(STATS.moment, "2", exc=TypeError, name="p", case_id="moment str"),
    case(STATS.moment, None, exc=TypeError, name="p", case_id="moment None"),
    case(STATS.moment, np.nan, exc=ValueError, name="p", case_id="moment nan"),
    case(STATS.moment, 1.5, exc=ValueError, name="p", case_id="moment not requested"),
]

# a huge bin count: the memory refusal names bins (it blamed only n and d)
CASES += [
    case(pairwise_statistics, W, bins=10**12, exc=MemoryError, name="bins", case_id="huge bins"),
]
