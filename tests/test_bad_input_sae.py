"""Bad input to packing.sae (see test_bad_input_common).

The good calls are tiny (a few samples, one training step), so a case that is
wrongly accepted fails fast. The finer refusals (argument combinations, kinds)
are in tests/test_sae.py.
"""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    CHOICES,
    DTYPES,
    HUGE_BATCHES,
    HUGE_INTS,
    INTS,
    PACKINGS,
    RNGS,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

import packing
from packing import (
    feature_frequencies,
    geometry_summary,
    recovery_metrics,
    sae_encode,
    sae_loss,
    sparse_activations,
    svd_dictionary,
    toy_model_activations,
    train_sae,
    train_toy_model,
)

W = np.eye(4)[:, :3]
DATA = sparse_activations(W, n_samples=16, n_active=1, rng=0)
SPARSE = dict(n_samples=4, density=0.5)
SAE = dict(n_latents=3, l1_coefficient=0.1, steps=1, batch_size=2)
TOY = train_toy_model(n_features=3, d=2, steps=1, batch_size=2, eval_batch_size=2, rng=0)
X, E, BE, BD = np.ones((2, 3)), np.ones((4, 3)), np.zeros(4), np.zeros(3)
ARRAYS = PACKINGS[:4] + PACKINGS[6:]
PROBABILITY = [
    ("0.5", TypeError),
    (None, TypeError),
    (True, TypeError),
    (np.nan, ValueError),
    (1.5, ValueError),
]

CASES = [
    *substitute(sparse_activations, (W,), SPARSE, 0, PACKINGS, name="W"),
    *substitute(sparse_activations, (W,), SPARSE, "n_samples", INTS),
    *substitute(sparse_activations, (W,), SPARSE, "density", PROBABILITY[:1] + PROBABILITY[2:]),
    *substitute(sparse_activations, (W,), SPARSE, "frequencies", CHOICES),
    *substitute(sparse_activations, (W,), SPARSE, "noise", [v for v in TOLERANCES if v[0] is not None]),
    *substitute(sparse_activations, (W,), SPARSE, "rng", RNGS),
    *substitute(feature_frequencies, (4,), dict(density=0.5), 0, INTS),
    *substitute(feature_frequencies, (4,), dict(density=0.5), "frequencies", CHOICES),
    *substitute(toy_model_activations, (TOY,), dict(n_samples=4), "n_samples", INTS),
    *substitute(toy_model_activations, (TOY,), dict(n_samples=4), "rng", RNGS),
    case(toy_model_activations, W, n_samples=4, exc=TypeError, name="model"),
    *substitute(train_sae, (DATA,), SAE, 0, ARRAYS, name="activations"),
    *substitute(train_sae, (DATA,), SAE, "n_latents", INTS),
    *substitute(train_sae, (DATA,), SAE, "steps", INTS),
    *substitute(train_sae, (DATA,), SAE, "batch_size", INTS),
    *substitute(train_sae, (DATA,), SAE, "kind", CHOICES),
    *substitute(train_sae, (DATA,), SAE, "rng", RNGS),
    *substitute(
        train_sae, (DATA,), SAE, "lr", [v for v in TOLERANCES if v[0] is not None] + [(0.0, ValueError)]
    ),
    *substitute(sae_loss, (X, E, BE, E, BD), {}, 0, ARRAYS, name="x"),
    *substitute(sae_loss, (X, E, BE, E, BD), {}, "kind", CHOICES),
    *substitute(sae_loss, (X, E, BE, E, BD), {}, "return_grad", BOOLS),
    case(sae_loss, X, np.ones((4, 2)), BE, E, BD, exc=ValueError, name="encoder", case_id="shape"),
    *substitute(sae_encode, (X, E, BE, BD), {}, 0, ARRAYS, name="x"),
    *substitute(sae_encode, (X, E, BE, BD), {}, "kind", CHOICES),
    *substitute(recovery_metrics, (E, E), {}, 0, PACKINGS, name="learned"),
    *substitute(recovery_metrics, (E, W), {}, 1, PACKINGS, name="true"),
    *substitute(recovery_metrics, (E, E), {}, "threshold", PROBABILITY),
    *substitute(recovery_metrics, (E, E), {}, "structure", BOOLS),
    *substitute(geometry_summary, (W,), {}, 0, PACKINGS, name="W"),
    *substitute(geometry_summary, (W,), {}, "atol", TOLERANCES),
    *substitute(svd_dictionary, (DATA,), {}, 0, ARRAYS, name="activations"),
    *substitute(svd_dictionary, (DATA,), {}, "center", BOOLS),
    *substitute(svd_dictionary, (DATA,), {}, "n_components", [v for v in INTS if v[0] is not None]),
    # found by fuzzing: numpy's MemoryError or an endless run instead of a refusal, dtype "abc" an
    # AttributeError, instance unchecked for arrays
    *substitute(sparse_activations, (W,), SPARSE, "n_samples", HUGE_INTS),
    *substitute(sparse_activations, (W,), SPARSE, "dtype", DTYPES),
    *substitute(feature_frequencies, (4,), dict(density=0.5), 0, HUGE_INTS),
    *substitute(toy_model_activations, (TOY,), dict(n_samples=4), "n_samples", HUGE_INTS),
    *substitute(toy_model_activations, (TOY,), dict(n_samples=4), "dtype", DTYPES),
    *substitute(train_sae, (DATA,), SAE, "n_latents", HUGE_INTS),
    *substitute(train_sae, (DATA,), SAE, "steps", HUGE_INTS),
    *substitute(train_sae, (DATA,), SAE, "n_seeds", HUGE_INTS + [(10**30, packing.ResourceLimitError)]),
    *substitute(train_sae, (DATA,), SAE, "batch_size", HUGE_BATCHES),
    *substitute(train_sae, (DATA,), SAE, "dtype", DTYPES),
    *substitute(
        recovery_metrics, (E, E), {}, "instance", [("0", TypeError), (1.5, TypeError), (-1, ValueError)]
    ),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)

# SVDResult.encode / reconstruct: x is checked (real, finite, d columns) instead of broadcasting or NaN
SVD = svd_dictionary(DATA, n_components=2)
CASES += [
    case(method, bad, exc=exc, name="x", case_id=f"{method.__name__}-{label}")
    for method in (SVD.encode, SVD.reconstruct)
    for bad, exc, label in [
        ("abc", TypeError, "str"),
        (None, TypeError, "None"),
        (np.full((2, 3), np.nan), ValueError, "nan"),
        (np.ones((2, 4)), ValueError, "4 columns"),
        (np.ones((2, 3)).T, ValueError, "transposed"),
    ]
]
