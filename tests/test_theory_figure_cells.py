"""The theory_predictions figure's sweep cells: rows of a phase diagram joined give the diagram of one
call, and the two-initialization training rule keeps, per instance, the better of the trainer's runs."""

import math

import numpy as np

from packing import theory, train_toy_model
from packing.figures import theory_predictions as tp
from packing.theory._phase import _stack_rows

X = np.array([0.2, 1.0, 5.0])
Y = np.array([1.0, 0.1, 0.01])


def test_rows_joined_are_the_diagram_of_one_call():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(9, 2, 1))
    b = rng.normal(size=(9, 2)) * 0.1
    whole = theory.phase_diagram(2, 1, relative_importance=X, density=Y, trained_weights=(W, b))
    rows = [
        theory.phase_diagram(
            2,
            1,
            relative_importance=X,
            density=[y],
            trained_weights=(W[3 * i : 3 * i + 3], b[3 * i : 3 * i + 3]),
        )
        for i, y in enumerate(Y)
    ]
    joined = _stack_rows(rows)
    for name in ("predicted", "predicted_description", "trained", "near_boundary"):
        assert getattr(joined, name).tolist() == getattr(whole, name).tolist(), name
    for name in ("density", "predicted_loss", "margin", "trained_loss", "trained_W", "trained_b"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(whole, name), err_msg=name)
    assert joined.agreement == whole.agreement
    assert joined.disagreement_near_boundary == whole.disagreement_near_boundary


def test_train_best_keeps_the_lower_eval_loss_of_both_initializations():
    dens, imp = np.array([1.0, 0.05, 0.05]), np.array([[1.0, 0.3], [1.0, 3.0], [1.0, 1.0]])
    got = tp.train_best(2, 1, dens, imp, 64, 2, 30, 5, n_threads=1, blas_threads=1)
    runs = []
    for fraction, rng in zip(tp.INIT_FRACTIONS, np.random.default_rng(5).spawn(2), strict=True):
        r = train_toy_model(
            n_features=2,
            d=1,
            density=dens,
            importance=imp,
            steps=30,
            batch_size=64,
            lr=1e-2,
            schedule="cosine",
            n_seeds=2,
            init_scale=fraction * math.sqrt(2 / 3),
            rng=rng,
            n_threads=1,
            blas_threads=1,
            progress=False,
        )
        runs.append(r)
    for k in range(3):
        pick = min(runs, key=lambda r: r.eval_loss[k])
        assert got["eval_loss"][k] == pick.eval_loss[k] == min(r.eval_loss[k] for r in runs)
        np.testing.assert_array_equal(got["W"][k], pick.W[k].astype(np.float64))
        np.testing.assert_array_equal(got["b"][k], pick.b[k].astype(np.float64))
