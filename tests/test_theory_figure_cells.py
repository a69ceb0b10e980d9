"""The theory_predictions figure's sweep cells: rows of a phase diagram joined give the diagram of one
call, and the two-initialization training rule keeps, per instance, the run of lowest expected loss
(checked by Monte Carlo, and on a case where the trainer's finite evaluation batch picks the worse run)."""

import math

import numpy as np
import pytest

from packing import sample_toy_batch, theory, toy_model_loss, train_toy_model
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


def test_train_best_keeps_the_run_of_lowest_expected_loss_over_both_initializations():
    dens, imp = np.array([1.0, 0.05, 0.05]), np.array([[1.0, 0.3], [1.0, 3.0], [1.0, 1.0]])
    got = tp.train_best(2, 1, dens, imp, 64, 2, 30, 5, n_threads=1, blas_threads=1)
    Ws, bs = [], []
    for fraction, rng in zip(tp.INIT_FRACTIONS, np.random.default_rng(5).spawn(2), strict=True):
        r = train_toy_model(
            n_features=2,
            d=1,
            density=np.repeat(dens, 2),
            importance=np.repeat(imp, 2, axis=0),
            steps=30,
            batch_size=64,
            lr=1e-2,
            schedule="cosine",
            init_scale=fraction * math.sqrt(2 / 3),
            rng=rng,
            n_threads=1,
            blas_threads=1,
            progress=False,
        )
        Ws += [r.W[0::2], r.W[1::2]]  # seed s of instance i is row 2 i + s
        bs += [r.b[0::2], r.b[1::2]]
    assert got["run_expected_losses"].shape == (3, 4)
    for k in range(3):
        runs = [(W[k].astype(np.float64), b[k].astype(np.float64)) for W, b in zip(Ws, bs, strict=True)]
        # each run's loss by Monte Carlo on 4e5 shared inputs: the kept run is the best of all four
        x = sample_toy_batch(2, 400_000, density=dens[k], dtype=np.float64, rng=k)[0]
        mc = [float((imp[k] * (x - np.maximum(x @ W @ W.T + b, 0)) ** 2).sum(1).mean()) for W, b in runs]
        pick = got["chosen"][k]
        assert mc[pick] <= min(mc) + 1e-3 * max(mc)
        np.testing.assert_array_equal(got["W"][k], runs[pick][0])
        np.testing.assert_array_equal(got["b"][k], runs[pick][1])


def test_pick_best_is_right_where_the_finite_eval_batch_picks_wrong():
    # a fitted pentagon at S = 0.7 against the same with every bias 0.03 higher (worse)
    t = 2 * np.pi * np.arange(5) / 5
    fit = theory.fit_geometry(np.c_[np.cos(t), np.sin(t)], sparsity=0.7)
    W = np.stack([fit.W, fit.W])[None]
    b = np.stack([fit.b, fit.b + 0.03])[None]
    # the trainer's rule: the loss of each run on its own fresh batch of 8,192 inputs (its default
    # eval batch); with these batches it prefers the worse run
    evals = [
        toy_model_loss(W[0, r], b[0, r], sample_toy_batch(5, 8192, sparsity=0.7, dtype=np.float64, rng=s))
        for r, s in ((0, 0), (1, 4))
    ]
    assert evals[1] < evals[0]
    # independent truth: 2e6 inputs shared by both runs, the better run's advantage far beyond its s.e.
    x = sample_toy_batch(5, 2_000_000, sparsity=0.7, dtype=np.float64, rng=11)[0]
    per = [((x - np.maximum(x @ W[0, r] @ W[0, r].T + b[0, r], 0)) ** 2).sum(1) for r in (0, 1)]
    diff = per[1] - per[0]
    assert diff.mean() > 10 * diff.std() / math.sqrt(diff.size)
    got = tp.pick_best(W, b, np.array([0.3]), np.ones((1, 5)))
    assert got["chosen"].tolist() == [0]
    np.testing.assert_array_equal(got["b"][0], fit.b)
    assert abs(got["expected_loss"][0] - per[0].mean()) < 3 * per[0].std() / math.sqrt(x.shape[0])


# --------------------------------------------------------------------------- steps scaled with 1/density
def test_scaled_steps_give_sparse_cells_the_reference_number_of_active_examples_up_to_the_cap():
    base, ref, cap = 1000, 0.1, 4.0
    dens = np.geomspace(1.0, 0.001, 61)
    got = np.array([tp.scaled_steps(base, p, reference=ref, max_factor=cap) for p in dens])
    assert np.all(np.diff(got) >= 0)  # sparser never trains shorter
    assert got.min() == base and got.max() == cap * base
    between = (dens < ref) & (dens > ref / cap)
    # active examples per feature (steps x density) equal the reference's between the two clips
    assert np.allclose(got[between] * dens[between], base * ref, rtol=1e-3)
    assert np.all(got[dens >= ref] == base) and np.all(got[dens <= ref / cap] == cap * base)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(steps=0, density=0.5), "steps"),
        (dict(steps=10, density=1.5), "density must lie in (0, 1]"),
        (dict(steps=10, density=0.5, reference=0.0), "reference must lie in (0, 1]"),
        (dict(steps=10, density=0.5, max_factor=0.5), "max_factor must be >= 1"),
    ],
)
def test_scaled_steps_bad_input_names_the_argument(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(").replace("]", r"\]")):
        tp.scaled_steps(**kwargs)


def test_the_agreement_title_counts_cells_and_never_rounds_a_difference_away():
    predicted = np.full((20, 20), "A")
    trained = predicted.copy()
    assert tp.agreement_title(predicted, trained) == "agree in 400 of 400 cells"
    trained[3, 7] = trained[5, 7] = "S"  # two cells of 400 differ: 99.5%, which ".0%" printed as "100%"
    assert tp.agreement_title(predicted, trained) == "agree in 398 of 400 cells"
