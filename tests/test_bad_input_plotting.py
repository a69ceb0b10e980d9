"""Bad input to packing.plotting and packing.testing.strategies (see test_bad_input_common)."""

import matplotlib
import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    INTS,
    ORDERS,
    PACKINGS,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    optimal_partition,
    plot_coherence_curves,
    plot_cosine_histogram,
    plot_feature_dimensionality,
    plot_features_2d,
    plot_gram,
    plot_moment_profile,
    plot_partition,
    plot_tegum_losses,
)
from packing.testing.strategies import overlapping_sets, tegum_products, unit_packings

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

FIG, AX = plt.subplots()
plt.close(FIG)
P2 = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
AXES = [(None, TypeError), ("ax", TypeError), (plt, TypeError), (FIG, TypeError)]
TAKES_W = [plot_cosine_histogram, plot_moment_profile, plot_features_2d, plot_gram]
SIZES = [v for v in INTS if v[0] is not None] + [(10**5, ValueError)]

CASES = [
    *(c for fn in TAKES_W for c in substitute(fn, (AX, P2), {}, 0, AXES)),
    *(c for fn in TAKES_W for c in substitute(fn, (AX, P2), {}, 1, PACKINGS)),
    *substitute(plot_tegum_losses, (AX, 12, 6), {}, 0, AXES),
    *(c for where in (1, 2) for c in substitute(plot_tegum_losses, (AX, 12, 6), {}, where, INTS)),
    *substitute(plot_tegum_losses, (AX, 12, 6), {}, "normalize", BOOLS),
    case(plot_tegum_losses, AX, 6, 12, exc=ValueError, name="n", case_id="n <= d"),
    case(plot_tegum_losses, AX, 12, 6, ps=[1.0, 0.0], exc=ValueError, name="ps[1]"),
    *substitute(plot_cosine_histogram, (AX, P2), {}, "bins", INTS),
    *substitute(plot_cosine_histogram, (AX, P2), {}, "label", [(3, TypeError), (["a"], TypeError)]),
    case(plot_cosine_histogram, AX, P2, no_such_property=1, exc=TypeError, name="no_such_property"),
    *substitute(plot_moment_profile, (AX, P2), {}, "ps", ORDERS[:4]),
    *substitute(plot_moment_profile, (AX, P2), {}, "normalize", BOOLS),
    case(plot_moment_profile, AX, P2, ps=[1.0, np.inf], exc=ValueError, name="ps", case_id="inf"),
    case(plot_features_2d, AX, np.eye(3), exc=ValueError, name="W", case_id="3 columns"),
    case(plot_features_2d, AX, P2, importance=[1.0, 2.0], exc=ValueError, name="importance"),
    case(plot_features_2d, AX, P2, importance=[1.0, np.nan, 2.0], exc=ValueError, name="importance"),
    case(plot_features_2d, AX, P2, importance="abc", exc=TypeError, name="importance"),
    case(plot_features_2d, AX, P2, cmap="no-such-map", exc=ValueError, name="cmap"),
    case(plot_features_2d, AX, P2, title=3, exc=TypeError, name="title"),
    case(plot_features_2d, AX, np.array([[1e200, 0.0]]), exc=ValueError, name="W", case_id="beyond floats"),
    case(plot_gram, AX, P2, order=[0, 0, 1], exc=ValueError, name="order"),
    case(plot_gram, AX, P2, order=[0.5, 1.0, 2.0], exc=TypeError, name="order[0]"),
    case(plot_gram, AX, P2, order=[0, 1, 5], exc=ValueError, name="order"),
    case(plot_gram, AX, P2, order=[0, -1, 2], exc=ValueError, name="order[1]"),
    case(plot_gram, AX, P2, groups=[2, 2], exc=ValueError, name="groups"),
    case(plot_gram, AX, P2, groups=[0, 3], exc=ValueError, name="groups[0]"),
    case(plot_gram, AX, P2, normalize="yes", exc=TypeError, name="normalize"),
    case(plot_gram, AX, P2, colorbar="yes", exc=TypeError, name="colorbar"),
    case(plot_gram, AX, P2, cmap=3, exc=ValueError, name="cmap"),
    case(plot_gram, AX, np.ones((9000, 1)), exc=MemoryError, name="n"),
    case(plot_partition, AX, "result", exc=TypeError, name="result"),
    case(plot_partition, None, optimal_partition(4, 2, 1.0, build=False), exc=TypeError, name="ax"),
    case(
        plot_partition,
        AX,
        optimal_partition(4, 2, 1.0, build=False),
        cmap="nope",
        exc=ValueError,
        name="cmap",
    ),
    case(
        plot_feature_dimensionality, AX, [1.0], [1.0, 0.5], ["digon"], exc=ValueError, name="dimensionality"
    ),
    case(plot_feature_dimensionality, AX, [np.nan], [1.0], ["digon"], exc=ValueError, name="x"),
    case(plot_feature_dimensionality, AX, [1.0], [np.inf], ["digon"], exc=ValueError, name="dimensionality"),
    case(plot_feature_dimensionality, AX, [1.0], [1.0], "digon", exc=TypeError, name="labels"),
    case(
        plot_feature_dimensionality, AX, [1.0], [1.0], ["digon"], jitter=-1.0, exc=ValueError, name="jitter"
    ),
    case(plot_feature_dimensionality, AX, [1.0], [1.0], ["digon"], s=0, exc=ValueError, name="s"),
    case(plot_feature_dimensionality, AX, [1.0], [1.0], ["digon"], rng="0", exc=TypeError, name="rng"),
    case(plot_feature_dimensionality, "ax", [1.0], [1.0], ["digon"], exc=TypeError, name="ax"),
    case(plot_coherence_curves, AX, [4, 5], {"Welch": [0.3]}, exc=ValueError, name="curves['Welch']"),
    case(plot_coherence_curves, AX, [4, 5], {"Welch": [0.3, np.inf]}, exc=ValueError, name="curves['Welch']"),
    case(plot_coherence_curves, AX, [4, 5], [[0.3, 0.4]], exc=TypeError, name="curves"),
    case(plot_coherence_curves, AX, [4, 5], {3: [0.3, 0.4]}, exc=TypeError, name="curves"),
    case(plot_coherence_curves, AX, [[4, 5]], {}, exc=ValueError, name="n"),
    case(plot_coherence_curves, AX, [4, 5], {}, styles=[], exc=TypeError, name="styles"),
    case(
        plot_coherence_curves,
        AX,
        [4, 5],
        {"a": [1, 2]},
        styles={"a": "red"},
        exc=TypeError,
        name="styles['a']",
    ),
    case(plot_coherence_curves, AX, [4, 5], {}, d=2.5, exc=TypeError, name="d"),
    case(plot_coherence_curves, None, [4, 5], {}, exc=TypeError, name="ax"),
    # hypothesis strategies: sizes are validated when the strategy is built
    *substitute(unit_packings, (), {}, "n", SIZES),
    *substitute(unit_packings, (), {}, "d", SIZES),
    case(unit_packings, n=(3, 2), exc=ValueError, name="n[1]"),
    case(tegum_products, blocks=(3, 2), exc=ValueError, name="blocks[1]"),
    case(tegum_products, block_n=0, exc=ValueError, name="block_n"),
    case(tegum_products, rotate="yes", exc=TypeError, name="rotate"),
    case(overlapping_sets, kind="hadamard", exc=ValueError, name="kind"),
    case(overlapping_sets, with_labels="yes", exc=TypeError, name="with_labels"),
    case(overlapping_sets, d=(0, 3), exc=ValueError, name="d[0]"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)
