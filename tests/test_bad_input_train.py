"""Bad input to packing.train (see test_bad_input_common).

The good calls train for one step on tiny batches, so a case that is wrongly
accepted fails fast instead of training for minutes.
"""

import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    CHOICES,
    DTYPES,
    FLOATS,
    HUGE_BATCHES,
    INTS,
    RNGS,
    TABLES,
    TOLERANCES,
    case,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

import packing
from packing import (
    MonosemanticityModelResult,
    abs_model_forward,
    abs_model_loss,
    monosemanticity,
    monosemanticity_model_loss,
    sample_toy_batch,
    scurve_closed_form,
    scurve_loss,
    toy_model_forward,
    toy_model_loss,
    train_abs_model,
    train_monosemanticity_model,
    train_scurve,
    train_toy_model,
)

TOY = dict(n_features=5, d=2, steps=1, batch_size=2, eval_batch_size=2)
ABS = dict(n_features=3, d=4, steps=1, batch_size=2)
SCURVE = dict(rank=1, steps=1, size=(4, 4))
MONO = dict(n_features=4, d=2, n_neurons=5, steps=1, batch_size=2, eval_batch_size=2)
NONNEGATIVE = [(-0.1, ValueError), (np.nan, ValueError), ("0.1", TypeError), (True, TypeError)]
E2 = np.eye(2)
W, B, X = np.ones((3, 2)), np.zeros(3), np.ones((4, 3))
ARRAYS = [
    (None, TypeError),
    ("abc", TypeError),
    ([["a"]], TypeError),
    (np.full((3, 2), np.nan), ValueError),
    (np.ones((3, 2), dtype=complex), TypeError),
]
POSITIVE = [v for v in TOLERANCES if v[0] is not None] + [(0.0, ValueError)]

CASES = [
    *substitute(train_toy_model, (), TOY, "n_features", INTS),
    *substitute(train_toy_model, (), TOY, "d", INTS),
    *substitute(train_toy_model, (), TOY, "steps", INTS),
    *substitute(train_toy_model, (), TOY, "batch_size", INTS),
    *substitute(train_toy_model, (), TOY, "n_seeds", INTS),
    *substitute(train_toy_model, (), TOY, "sparsity", TABLES),
    *substitute(train_toy_model, (), TOY, "density", TABLES),
    *substitute(
        train_toy_model,
        (),
        TOY,
        "importance",
        [(-1.0, ValueError), (np.inf, ValueError), ("1", TypeError), ([1.0, 2.0], ValueError)],
    ),
    *substitute(train_toy_model, (), TOY, "lr", POSITIVE),
    *substitute(train_toy_model, (), TOY, "weight_decay", [v for v in TOLERANCES if v[0] is not None]),
    *substitute(train_toy_model, (), TOY, "eps", POSITIVE),
    *substitute(train_toy_model, (), TOY, "momentum", FLOATS[:-1] + [(1.0, ValueError)]),
    *substitute(train_toy_model, (), TOY, "init_scale", [v for v in TOLERANCES if v[0] is not None]),
    *substitute(train_toy_model, (), TOY, "model", CHOICES),
    *substitute(train_toy_model, (), TOY, "reduction", CHOICES),
    *substitute(train_toy_model, (), TOY, "optimizer", CHOICES),
    *substitute(train_toy_model, (), TOY, "schedule", CHOICES),
    *substitute(train_toy_model, (), TOY, "rng", RNGS),
    *substitute(train_toy_model, (), TOY, "snapshot_every", [v for v in INTS if v[0] is not None]),
    *substitute(train_toy_model, (), TOY, "n_threads", [v for v in INTS if v[0] is not None]),
    *substitute(train_toy_model, (), TOY, "blas_threads", [v for v in INTS if v[0] is not None]),
    # found by fuzzing (dtype "abc" was an AttributeError, a huge batch ran forever, importance=None a
    # TypeError from inside the kernel, strings and booleans passed as numbers)
    *substitute(train_toy_model, (), TOY, "dtype", DTYPES),
    # float32 would hold them as inf (overflow warnings, then a diverged run)
    *substitute(train_toy_model, (), TOY, "importance", [(1e39, ValueError), (1e300, ValueError)]),
    *substitute(train_abs_model, (), ABS, "importance", [(1e39, ValueError)]),
    *substitute(train_toy_model, (), TOY, "batch_size", HUGE_BATCHES),
    *substitute(train_toy_model, (), TOY, "eval_batch_size", HUGE_BATCHES),
    *substitute(train_toy_model, (), TOY, "blas_threads", [(10**30, ValueError)]),
    *substitute(train_abs_model, (), ABS, "dtype", DTYPES),
    *substitute(train_abs_model, (), ABS, "batch_size", HUGE_BATCHES),
    *substitute(
        train_abs_model, (), ABS, "importance", [(0.5j, TypeError), (np.array(["1", "1", "1"]), TypeError)]
    ),
    *substitute(train_monosemanticity_model, (), MONO, "dtype", DTYPES),
    # the size guard's message named the call without steps / eval_batch_size
    *substitute(train_monosemanticity_model, (), MONO, "steps", [(10**12, MemoryError)]),
    *substitute(train_monosemanticity_model, (), MONO, "eval_batch_size", [(10**9, MemoryError)]),
    *substitute(train_scurve, (), SCURVE, "steps", [(10**12, MemoryError)]),
    *substitute(train_monosemanticity_model, (), MONO, "batch_size", HUGE_BATCHES),
    *substitute(train_monosemanticity_model, (), MONO, "eval_batch_size", HUGE_BATCHES),
    *substitute(train_scurve, (), SCURVE, "dtype", DTYPES),
    *substitute(train_scurve, (), SCURVE, "blas_threads", [(10**30, ValueError)]),
    *substitute(
        train_scurve,
        (),
        SCURVE,
        "target_strengths",
        [(True, TypeError), (["1.0"], TypeError), (1j, TypeError)],
    ),
    *substitute(sample_toy_batch, (3, 4), {}, "dtype", DTYPES),
    *substitute(
        scurve_closed_form, (1.0, 0.01), {}, 0, [(True, TypeError), ("1", TypeError), (1j, TypeError)]
    ),
    *substitute(toy_model_loss, (W, B, X), {}, "importance", [(None, TypeError), (0.5j, TypeError)]),
    *substitute(abs_model_loss, (W, W, B, X), {}, "importance", [(None, TypeError), (0.5j, TypeError)]),
    case(train_toy_model, **TOY, betas=(0.9, 1.0), exc=ValueError, name="betas[1]"),
    case(train_toy_model, **TOY, betas="0.9", exc=TypeError, name="betas"),
    case(train_toy_model, **TOY, dtype="float16", exc=ValueError, name="dtype"),
    case(train_toy_model, **TOY, n_correlated_pairs=3, exc=ValueError, name="n_correlated_pairs"),
    case(train_toy_model, **TOY, sparsity=0.5, density=0.5, exc=ValueError, name="sparsity"),
    case(train_toy_model, **dict(TOY, n_features=10**9), exc=MemoryError, name="n_features", case_id="issue"),
    case(train_toy_model, **dict(TOY, steps=10**9), exc=MemoryError, name="steps", case_id="history"),
    case(train_toy_model, **TOY, snapshot_every=1, n_instances=10**5, exc=MemoryError, name="n_instances"),
    *substitute(train_abs_model, (), ABS, "n_features", INTS),
    *substitute(train_abs_model, (), ABS, "d", INTS),
    *substitute(train_abs_model, (), ABS, "steps", INTS),
    *substitute(train_abs_model, (), ABS, "sparsity", TABLES),
    *substitute(train_abs_model, (), ABS, "rng", RNGS),
    *substitute(train_abs_model, (), ABS, "lr", POSITIVE),
    case(train_abs_model, **dict(ABS, n_features=10**5, d=10**4), exc=MemoryError, name="n_features"),
    *substitute(train_monosemanticity_model, (), MONO, "n_features", INTS),
    *substitute(train_monosemanticity_model, (), MONO, "d", INTS),
    *substitute(train_monosemanticity_model, (), MONO, "n_neurons", INTS),
    *substitute(train_monosemanticity_model, (), MONO, "steps", INTS),
    *substitute(train_monosemanticity_model, (), MONO, "density", TABLES[:-1]),
    *substitute(train_monosemanticity_model, (), MONO, "frequencies", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "task", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "activation", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "noise_on", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "optimizer", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "schedule", CHOICES),
    *substitute(train_monosemanticity_model, (), MONO, "cosine_t_max", INTS),
    *substitute(train_monosemanticity_model, (), MONO, "init_bias", [(np.inf, ValueError), ("0", TypeError)]),
    *substitute(train_monosemanticity_model, (), MONO, "bias_decay", NONNEGATIVE),
    *substitute(train_monosemanticity_model, (), MONO, "input_noise", NONNEGATIVE),
    *substitute(train_monosemanticity_model, (), MONO, "l1", NONNEGATIVE),
    *substitute(train_monosemanticity_model, (), MONO, "lr", POSITIVE),
    *substitute(train_monosemanticity_model, (), MONO, "rng", RNGS),
    *substitute(train_monosemanticity_model, (), MONO, "progress", BOOLS[:1]),
    case(
        train_monosemanticity_model,
        **MONO,
        init_bias=[0.0, -1.0],
        l1=[0.0, 0.1, 0.2],
        exc=ValueError,
        name="l1",
        case_id="instances",
    ),
    case(
        train_monosemanticity_model,
        **MONO,
        density=[[0.1] * 4],
        frequencies="power_law",
        exc=ValueError,
        name="density",
        case_id="power law table",
    ),
    case(
        train_monosemanticity_model,
        **dict(MONO, n_features=10**5, d=10**4),
        exc=MemoryError,
        name="n_features",
    ),
    *substitute(
        monosemanticity_model_loss, (E2, np.zeros(2), E2, E2, [[0.5, 0.0]]), {}, 0, ARRAYS[:3], name="W1"
    ),
    *substitute(
        monosemanticity_model_loss, (E2, np.zeros(2), E2, E2, [[0.5, 0.0]]), {}, 4, ARRAYS[:3], name="v"
    ),
    *substitute(monosemanticity_model_loss, (E2, np.zeros(2), E2, E2, [[0.5, 0.0]]), {}, "task", CHOICES),
    *substitute(
        monosemanticity_model_loss, (E2, np.zeros(2), E2, E2, [[0.5, 0.0]]), {}, "return_grad", BOOLS
    ),
    case(monosemanticity_model_loss, E2, np.zeros(3), E2, E2, [[0.5, 0.0]], exc=ValueError, name="b"),
    case(
        monosemanticity_model_loss,
        E2,
        np.zeros(2),
        E2,
        np.eye(3),
        [[0.5, 0.0]],
        exc=ValueError,
        name="embedding",
    ),
    case(
        monosemanticity_model_loss,
        E2,
        np.zeros(2),
        E2,
        E2,
        [[0.5, 0.0, 1.0]],
        exc=ValueError,
        name="v",
        case_id="width",
    ),
    case(monosemanticity, "result", exc=TypeError, name="result"),
    case(monosemanticity, MonosemanticityModelResult, exc=TypeError, name="result", case_id="class"),
    *substitute(train_scurve, (), SCURVE, "rank", INTS),
    *substitute(train_scurve, (), SCURVE, "steps", INTS),
    *substitute(train_scurve, (), SCURVE, "lr", POSITIVE),
    *substitute(train_scurve, (), SCURVE, "init_scale", POSITIVE),
    *substitute(train_scurve, (), SCURVE, "loss", CHOICES),
    *substitute(train_scurve, (), SCURVE, "rng", RNGS),
    case(train_scurve, **dict(SCURVE, size=(10**6, 10**6)), exc=MemoryError, name="size"),
    case(train_scurve, **dict(SCURVE, target_strengths=[1.0, -1.0]), exc=ValueError, name="target_strengths"),
    case(train_scurve, **dict(SCURVE, rank=5), exc=ValueError, name="rank", case_id="too large"),
    *substitute(sample_toy_batch, (4, 10), {}, 0, INTS),
    *substitute(sample_toy_batch, (4, 10), {}, 1, INTS),
    *substitute(sample_toy_batch, (4, 10), {}, "sparsity", TABLES),
    *substitute(sample_toy_batch, (4, 10), {}, "signed", BOOLS),
    *substitute(sample_toy_batch, (4, 10), {}, "rng", RNGS),
    case(sample_toy_batch, 10**6, 10**6, exc=MemoryError, name="n_features"),
    *substitute(toy_model_forward, (W, B, X), {}, 0, ARRAYS),
    *substitute(toy_model_forward, (W, B, X), {}, 1, ARRAYS[:3]),
    *substitute(toy_model_forward, (W, B, X), {}, 2, ARRAYS[:3] + [(np.full((4, 3), np.inf), ValueError)]),
    *substitute(toy_model_forward, (W, B, X), {}, "model", CHOICES),
    *substitute(toy_model_loss, (W, B, X), {}, 0, ARRAYS),
    *substitute(toy_model_loss, (W, B, X), {}, "importance", [(-1.0, ValueError), ("1", TypeError)]),
    *substitute(toy_model_loss, (W, B, X), {}, "reduction", CHOICES),
    *substitute(toy_model_loss, (W, B, X), {}, "return_grad", BOOLS),
    case(toy_model_loss, np.full((3, 2), np.nan), B, X, exc=ValueError, name="W", case_id="issue"),
    case(
        toy_model_forward,
        np.ones((2000, 2)),
        np.zeros(2000),
        np.ones((20_000, 2000)),
        exc=MemoryError,
        name="batch",
        case_id="activations",
    ),
    *substitute(abs_model_forward, (W, W, B, X), {}, 0, ARRAYS, name="W1"),
    *substitute(abs_model_forward, (W, W, B, X), {}, 1, ARRAYS[:3], name="W2"),
    *substitute(abs_model_loss, (W, W, B, X), {}, "return_grad", BOOLS),
    case(abs_model_forward, W, np.ones((3, 3)), B, X, exc=ValueError, name="W2", case_id="shape"),
    *substitute(
        scurve_loss, (np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 2))), {}, 0, ARRAYS[:3], name="P"
    ),
    *substitute(scurve_loss, (np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 2))), {}, "loss", CHOICES),
    *substitute(
        scurve_closed_form,
        (1.0, 0.1),
        {},
        1,
        [("0.1", TypeError), (0.0, ValueError), (1.5, ValueError), (np.nan, ValueError)],
    ),
    case(scurve_closed_form, "t", 0.1, exc=TypeError, name="t"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)


def test_a_seed_sequence_is_an_rng():
    # (found by fuzzing: SeedSequence passed check_rng but failed inside seeded_rng with numpy's own
    # message); SeedSequence(3) draws the stream of the seed 3
    kw = dict(TOY, steps=3, progress=False)
    by_seed = train_toy_model(**kw, rng=3)
    by_sequence = train_toy_model(**kw, rng=np.random.SeedSequence(3))
    np.testing.assert_array_equal(by_sequence.W, by_seed.W)
    assert by_sequence.config["rng"] == 3
    child = np.random.SeedSequence(3).spawn(1)[0]  # its entropy alone would not rerun it
    assert train_toy_model(**kw, rng=child).config["rng"] is None


def test_a_final_loss_beyond_the_float_range_is_a_diverged_run():
    # (found by fuzzing: one step at lr=1e300 left finite parameters whose loss and alignment were
    # inf and NaN, returned as a result)
    with pytest.raises(packing.TrainingDivergedError, match=r"lr \(now 1e\+300\)"):
        train_scurve(**SCURVE, lr=1e300, progress=False)


@pytest.mark.parametrize("trainer", ["toy", "abs"])
def test_a_divergence_caused_by_weight_decay_names_weight_decay(trainer):
    # (found by fuzzing: weight_decay=1e300 diverged at step 0 with the advice "Lower lr (now 0.001)")
    kw = dict(n_features=4, d=2, steps=3, batch_size=8, rng=0, progress=False, weight_decay=1e300)
    train = packing.train_toy_model if trainer == "toy" else packing.train_abs_model
    with pytest.raises(packing.TrainingDivergedError, match=r"weight_decay \(now 1e\+300\)"):
        train(**kw)

# MonosemanticityReport.order: the instance is checked (it indexed arrays: IndexError, or a wrong instance)
REPORT = monosemanticity(train_monosemanticity_model(**MONO, rng=0, progress=False))
CASES += [
    case(REPORT.order, "0", exc=TypeError, name="instance", case_id="order str"),
    case(REPORT.order, 0.0, exc=TypeError, name="instance", case_id="order float"),
    case(REPORT.order, True, exc=TypeError, name="instance", case_id="order bool"),
    case(REPORT.order, 1, exc=ValueError, name="instance", case_id="order past the end"),
    case(REPORT.order, -1, exc=ValueError, name="instance", case_id="order negative"),
]
