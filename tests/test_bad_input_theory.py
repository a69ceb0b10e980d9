"""Bad input to packing.theory (see test_bad_input_common).

The good calls are tiny (two or three features, predictions without training),
so a case that is wrongly accepted fails fast.
"""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    CHOICES,
    FLOATS,
    HUGE_BATCHES,
    HUGE_INTS,
    INTS,
    NOT_NONE,
    PACKINGS,
    TABLES,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

from packing import (
    block_shape,
    classify_phase,
    compare_packings,
    expected_loss,
    fit_geometry,
    free_block,
    optimal_partition,
    phase_diagram,
    predict_geometry,
    regular_polygon,
    relu_block_costs,
)

W, B = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.zeros(3)
IMPORTANCES = [(-1.0, ValueError), (np.inf, ValueError), ("1", TypeError), ([1.0, 2.0], ValueError)]
BIASES = [(None, TypeError), ("abc", TypeError), (np.full(3, np.nan), ValueError), (np.zeros(4), ValueError)]
WEIGHTS = [v for v in PACKINGS if not (isinstance(v[0], np.ndarray) and v[0].ndim == 3)]
PREDICT = dict(n=3, d=2)
COMPARE = dict(include=("ideal",), p_grid=())
PHASE = dict(relative_importance=[1.0], density=[0.5], train=False)
GRIDS = [
    (None, TypeError),
    ("abc", TypeError),
    ([0.0], ValueError),
    ([[1.0]], ValueError),
    ([np.nan], ValueError),
]

CASES = [
    *substitute(expected_loss, (W, B), {}, 0, WEIGHTS),
    *substitute(expected_loss, (W, B), {}, 1, BIASES),
    *substitute(expected_loss, (W, B), {}, "sparsity", TABLES),
    *substitute(expected_loss, (W, B), {}, "density", TABLES),
    *substitute(expected_loss, (W, B), {}, "importance", IMPORTANCES),
    *substitute(expected_loss, (W, B), {}, "model", CHOICES),
    *substitute(expected_loss, (W, B), {}, "reduction", CHOICES),
    *substitute(expected_loss, (W, B), {}, "grid_points", NOT_NONE(INTS)),
    *substitute(expected_loss, (W, B), {}, "max_grid_points", INTS),
    *substitute(expected_loss, (W, B), {}, "return_details", BOOLS),
    case(expected_loss, W, B, sparsity=0.5, density=0.5, exc=ValueError, name="sparsity"),
    case(
        expected_loss,
        np.zeros((2, 3, 2)),
        B,
        sparsity=[0.1, 0.2, 0.3],
        exc=ValueError,
        name="sparsity",
        case_id="rows",
    ),
    *substitute(fit_geometry, (W,), {}, 0, WEIGHTS, name="directions"),
    *substitute(fit_geometry, (W,), {}, "sparsity", TABLES),
    *substitute(fit_geometry, (W,), {}, "importance", IMPORTANCES),
    *substitute(fit_geometry, (W,), {}, "share", BOOLS),
    *substitute(
        fit_geometry,
        (W,),
        {},
        "init_norms",
        [("a", TypeError), ([1.0], ValueError), ([-1.0, 1.0, 1.0], ValueError)],
    ),
    *substitute(fit_geometry, (W,), {}, "init_bias", [("a", TypeError), ([np.nan] * 3, ValueError)]),
    case(fit_geometry, W, sparsity=[0.1, 0.2], exc=ValueError, name="sparsity", case_id="instances"),
    *substitute(block_shape, (regular_polygon(5),), {}, 0, WEIGHTS, name="directions"),
    *substitute(block_shape, (regular_polygon(5), None), {}, 1, [(3, TypeError), (b"x", TypeError)]),
    case(block_shape, [[1.0, 0.0], [0.0, 0.0]], exc=ValueError, name="directions", case_id="zero row"),
    *substitute(free_block, (5, 2), {}, 0, INTS + [(1, ValueError), (17, ValueError), (10**12, ValueError)]),
    *substitute(free_block, (5, 2), {}, 1, INTS + [(0, ValueError), (5, ValueError), (10**12, ValueError)]),
    *substitute(predict_geometry, (), PREDICT, "n", INTS + HUGE_INTS),
    *substitute(predict_geometry, (), PREDICT, "d", INTS + HUGE_INTS),
    *substitute(predict_geometry, (), PREDICT, "sparsity", TABLES),
    *substitute(predict_geometry, (), PREDICT, "density", TABLES),
    *substitute(predict_geometry, (), PREDICT, "importance", IMPORTANCES),
    *substitute(predict_geometry, (), PREDICT, "spread", BOOLS),
    *substitute(predict_geometry, (), PREDICT, "grow", BOOLS),
    *substitute(predict_geometry, (), PREDICT, "shapes", [("digon", TypeError), ([], ValueError)]),
    case(predict_geometry, **PREDICT, sparsity=[0.1, 0.2], exc=ValueError, name="sparsity", case_id="rows"),
    *substitute(relu_block_costs, (3, 2), {}, 0, INTS + HUGE_INTS),
    *substitute(relu_block_costs, (3, 2), {}, 1, INTS + HUGE_INTS),
    *substitute(relu_block_costs, (3, 2), {}, "sparsity", TABLES[:5] + [([0.5, 0.9], ValueError)]),
    *substitute(relu_block_costs, (3, 2), {}, "shapes", [(3, TypeError), ([], ValueError)]),
    *substitute(classify_phase, (W,), {}, 0, WEIGHTS),
    *substitute(
        classify_phase,
        (W,),
        {},
        "feature",
        [(1.5, TypeError), ("0", TypeError), (True, TypeError), (3, ValueError), (-4, ValueError)],
    ),
    *substitute(classify_phase, (W,), {}, "threshold", TOLERANCES),
    *substitute(classify_phase, (W,), {}, "atol", TOLERANCES + [(1.5, ValueError)]),
    *substitute(phase_diagram, (), PHASE, "n_features", INTS + [(1, ValueError)]),
    *substitute(phase_diagram, (), PHASE, "d", INTS),
    *substitute(phase_diagram, (), PHASE, "relative_importance", NOT_NONE(GRIDS)),
    *substitute(phase_diagram, (), PHASE, "density", NOT_NONE(GRIDS) + [([1.5], ValueError)]),
    *substitute(phase_diagram, (), PHASE, "train", BOOLS),
    *substitute(phase_diagram, (), dict(PHASE, train=True), "n_seeds", INTS),
    *substitute(phase_diagram, (), dict(PHASE, train=True), "steps", INTS),
    *substitute(phase_diagram, (), dict(PHASE, train=True), "lr", NOT_NONE(FLOATS) + [(0.0, ValueError)]),
    case(
        phase_diagram,
        **PHASE,
        trained_weights=(np.zeros((2, 2, 1)), np.zeros((2, 2))),
        exc=ValueError,
        name="trained_weights",
    ),
    case(phase_diagram, **PHASE, trained_weights="W", exc=TypeError, name="trained_weights", case_id="type"),
    case(phase_diagram, **PHASE, train_kwargs=3, exc=TypeError, name="train_kwargs"),
    *substitute(
        optimal_partition, (6, 3), {"cost": "relu"}, "sparsity", TABLES[:5] + [([0.5, 0.9], ValueError)]
    ),
    *substitute(optimal_partition, (6, 3), {"cost": "relu"}, "density", TABLES[:5]),
    *substitute(optimal_partition, (6, 3), {"cost": "relu"}, "build", BOOLS),
    case(optimal_partition, 6, 3, 1.0, sparsity=0.5, exc=ValueError, name="sparsity", case_id="line cost"),
    *substitute(compare_packings, (W,), dict(COMPARE, sparsity=0.9), "b", BIASES[1:]),
    *substitute(compare_packings, (W,), COMPARE, "sparsity", TABLES),
    *substitute(compare_packings, (W,), dict(COMPARE, sparsity=0.9), "importance", IMPORTANCES),
    case(compare_packings, W, b=B, **COMPARE, exc=ValueError, name="b", case_id="no data"),
    case(
        phase_diagram,
        **dict(PHASE, train=True),
        train_kwargs={"steps": 0},
        exc=ValueError,
        name="steps",
        case_id="train_kwargs",
    ),
    # found by fuzzing: NaN, -inf or "cannot convert float NaN to integer" for weights beyond the float
    # range of the loss; numeric strings read as numbers; options unchecked when unused
    *substitute(expected_loss, (W * 1e40, B), {}, 0, [(W * 1e40, ValueError), (W * 1e200, ValueError)]),
    *substitute(expected_loss, (W, B), {}, 1, [(np.array(["0", "0", "0"]), TypeError), (1j, TypeError)]),
    *substitute(phase_diagram, (), PHASE, "n_seeds", INTS),
    *substitute(phase_diagram, (), PHASE, "steps", INTS),
    *substitute(phase_diagram, (), PHASE, "batch_size", INTS + HUGE_BATCHES),
    *substitute(phase_diagram, (), PHASE, "lr", NOT_NONE(FLOATS) + [(0.0, ValueError)]),
    *substitute(phase_diagram, (), PHASE, "n_features", HUGE_INTS),
    *substitute(phase_diagram, (), PHASE, "rng", [("0", TypeError), (1.5, TypeError), ([0, -1], TypeError)]),
    *substitute(expected_loss, (W, B), {}, 1, [(np.full(3, 1e200), ValueError)]),
    *substitute(phase_diagram, (), PHASE, "relative_importance", [(["1.0"], TypeError), ([1j], TypeError)]),
    *substitute(
        optimal_partition, (6, 3), {"cost": "relu"}, "budget", [("1", TypeError), (-1.0, ValueError)]
    ),
    *substitute(optimal_partition, (6, 3), {"cost": "relu"}, "rng", [("0", TypeError), (1.5, TypeError)]),
    *substitute(
        optimal_partition, (6, 3), {"cost": "relu"}, "progress", [(3, TypeError), ("yes", TypeError)]
    ),
    *substitute(compare_packings, (W,), COMPARE, "norm_threshold", [(1.0, ValueError), (1.5, ValueError)]),
    *substitute(
        fit_geometry, (W,), {}, "importance", [(0.5j, TypeError), (np.array(["1", "1", "1"]), TypeError)]
    ),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)


@pytest.mark.parametrize("scale", [1e-200, 1e160, 1e300])
def test_directions_at_extreme_scales_are_directions(scale):
    # (found by fuzzing: the squares of the norms underflowed or overflowed, so fit_geometry fitted
    # zero norms and block_shape found a zero row)
    fit = fit_geometry(W)
    scaled = fit_geometry(W * scale)
    np.testing.assert_allclose(scaled.norms, fit.norms, rtol=1e-12)
    assert scaled.loss == pytest.approx(fit.loss, rel=1e-12)
    np.testing.assert_allclose(block_shape(W * scale).directions, block_shape(W).directions, rtol=1e-12)
