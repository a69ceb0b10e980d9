"""Tests of the numpy toy-model trainers: gradients, data, optimizers, reproduction of known geometry."""

import dataclasses
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import same_result
from hypothesis import given, settings
from hypothesis import strategies as st

import packing
from packing import (
    CorruptFileError,
    TrainingDivergedError,
    abs_model_forward,
    abs_model_loss,
    feature_dimensionality,
    load_result,
    sample_toy_batch,
    scurve_closed_form,
    scurve_loss,
    toy_model_forward,
    toy_model_loss,
    train_abs_model,
    train_scurve,
    train_toy_model,
)
from packing.train import _optim, _parallel  # the loop and the threads' machinery, tested as units
from packing.train._checkpoint import CheckpointMismatchError, TrainingCheckpoint
from packing.train._data import Sampler
from packing.train._kernel import plan_groups
from packing.train._optim import Optimizer, schedule_factor  # the shared optimizer, tested as a unit
from packing.train._toy_kernel import _ToyKernel


# ----------------------------------------------------------------------------- references
def ref_toy_loss(W, b, x, importance, model, reduction):
    """Loss of ONE instance written out feature by feature (float64, no shared code)."""
    B, n = x.shape
    total = 0.0
    for row in x:
        out = W @ (W.T @ row) + b
        if model == "relu":
            out = np.maximum(out, 0.0)
        err = importance * (row - out) ** 2
        total += err.sum() / (n if reduction == "mean" else 1)
    return total / B


def central_diff(f, p, h=1e-6):
    g = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[idx] = h
        g[idx] = (f(p + e) - f(p - e)) / (2 * h)
    return g


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 7),
    st.integers(0, 2**31),
    st.sampled_from(["relu", "linear"]),
    st.sampled_from(["sum", "mean"]),
)
def test_toy_gradient_matches_finite_differences(n, d, B, seed, model, reduction):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    b = rng.normal(size=n) * 0.3
    x = rng.random((B, n)) * (rng.random((B, n)) < 0.6)
    imp = rng.random(n) + 0.1
    loss, (gW, gb) = toy_model_loss(
        W, b, x, importance=imp, model=model, reduction=reduction, return_grad=True
    )
    assert loss == pytest.approx(ref_toy_loss(W, b, x, imp, model, reduction), rel=1e-10, abs=1e-12)
    fW = central_diff(lambda P: ref_toy_loss(P, b, x, imp, model, reduction), W)
    fb = central_diff(lambda q: ref_toy_loss(W, q, x, imp, model, reduction), b)
    np.testing.assert_allclose(gW, fW, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, fb, rtol=1e-5, atol=1e-6)


def test_toy_loss_batched_instances_match_single():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 7, 2))
    b = rng.normal(size=(3, 7))
    x = rng.random((3, 50, 7))
    imp = rng.random((3, 7))
    losses = toy_model_loss(W, b, x, importance=imp)
    for i in range(3):
        assert losses[i] == pytest.approx(ref_toy_loss(W[i], b[i], x[i], imp[i], "relu", "sum"), rel=1e-12)


def test_toy_loss_blocked_path_matches_reference():
    # Large enough that the kernel splits rows into several cache blocks.
    rng = np.random.default_rng(4)
    n, d, B = 300, 4, 600
    W = rng.normal(size=(n, d)) * 0.3
    b = rng.normal(size=n) * 0.1
    x = rng.random((B, n)) * (rng.random((B, n)) < 0.1)
    loss, (gW, gb) = toy_model_loss(W, b, x, return_grad=True)
    out = np.maximum(x @ W @ W.T + b, 0)
    G = 2 * (out - x) * (out > 0) / B
    np.testing.assert_allclose(gW, x.T @ G @ W + G.T @ x @ W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, G.sum(0), rtol=1e-10, atol=1e-12)
    assert loss == pytest.approx(np.sum((out - x) ** 2) / B, rel=1e-12)


def ref_abs_loss(W1, W2, b, x, imp):
    h = np.maximum(x @ W1, 0)
    y = np.maximum(h @ W2.T + b, 0)
    return float(np.sum(imp * (y - np.abs(x)) ** 2) / x.shape[0])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**31))
def test_abs_gradient_matches_finite_differences(n, d, seed):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    b = rng.normal(size=n) * 0.3
    x = rng.uniform(-1, 1, size=(6, n))
    imp = rng.random(n) + 0.1
    loss, grads = abs_model_loss(W1, W2, b, x, importance=imp, return_grad=True)
    assert loss == pytest.approx(ref_abs_loss(W1, W2, b, x, imp), rel=1e-10)
    np.testing.assert_allclose(
        grads[0], central_diff(lambda P: ref_abs_loss(P, W2, b, x, imp), W1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        grads[1], central_diff(lambda P: ref_abs_loss(W1, P, b, x, imp), W2), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        grads[2], central_diff(lambda q: ref_abs_loss(W1, W2, q, x, imp), b), rtol=1e-5, atol=1e-6
    )


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_have_the_stated_sparsity_and_uniform_values(dtype):
    S = np.array([0.0, 0.5, 0.9, 0.999])
    x = sample_toy_batch(6, 40000, sparsity=S, dtype=dtype, rng=1)
    assert x.shape == (4, 40000, 6) and x.dtype == dtype
    N = x.shape[1] * x.shape[2]
    for i, s in enumerate(S):
        active = x[i][x[i] > 0]
        p = 1 - s
        assert abs(active.size / N - p) < 5 * np.sqrt(p * (1 - p) / N) + 1e-9
        if active.size > 500:  # uniform on [0, 1): mean 1/2, variance 1/12, and no value >= 1
            assert abs(active.mean() - 0.5) < 5 * np.sqrt(1 / 12 / active.size)
            assert abs(active.var() - 1 / 12) < 0.01
        assert x[i].max() < 1 and x[i].min() >= 0


def test_density_keyword_is_one_minus_sparsity_and_per_feature_rows():
    a = sample_toy_batch(3, 30000, density=[[1.0, 0.2, 0.0]], rng=0)
    frac = (a[0] > 0).mean(axis=0)
    np.testing.assert_allclose(frac, [1.0, 0.2, 0.0], atol=0.015)


def test_correlated_and_anticorrelated_pairs():
    x = sample_toy_batch(6, 50000, sparsity=0.8, n_correlated_pairs=1, n_anticorrelated_pairs=1, rng=2)[0]
    on = x > 0
    np.testing.assert_array_equal(on[:, 0], on[:, 1])  # correlated: together
    assert not (on[:, 2] & on[:, 3]).any()  # anticorrelated: never together
    np.testing.assert_allclose(on.mean(axis=0), 0.2, atol=0.01)  # marginal density kept


def test_abs_inputs_are_signed_uniform():
    x = sample_toy_batch(4, 50000, sparsity=0.5, signed=True, rng=0)
    active = x[x != 0]
    assert abs((active < 0).mean() - 0.5) < 0.01 and active.min() >= -1 and active.max() < 1
    assert abs(np.abs(active).mean() - 0.5) < 0.01


# ----------------------------------------------------------------------------- optimizers
def textbook_adam(p, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if wd and not decoupled:
            g = g + wd * p
        if wd and decoupled:
            p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps * 1.0)
    return p


@pytest.mark.parametrize("kind,wd", [("adam", 0.0), ("adam", 0.1), ("adamw", 0.1)])
def test_adam_matches_textbook_update(kind, wd):
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=20)
    grads = [rng.normal(size=20) for _ in range(30)]
    p = p0.copy()
    opt = Optimizer(
        p,
        kind=kind,
        lr=0.01,
        schedule="constant",
        steps=30,
        weight_decay=wd,
        betas=(0.9, 0.999),
        eps=1e-8,
        momentum=0.0,
    )
    for t, g in enumerate(grads):
        opt.step(p, g.copy(), t)
    want = textbook_adam(p0, grads, 0.01, wd=wd, decoupled=kind == "adamw")
    # PyTorch's eps placement (sqrt(v)/sqrt(c2) + eps) equals sqrt(vhat) + eps exactly.
    np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-12)


def test_sgd_momentum_and_schedules():
    p = np.array([1.0])
    opt = Optimizer(
        p,
        kind="sgd",
        lr=0.1,
        schedule="constant",
        steps=3,
        weight_decay=0.0,
        betas=(0.9, 0.999),
        eps=1e-8,
        momentum=0.5,
    )
    for t in range(3):
        opt.step(p, np.array([1.0]), t)
    assert p[0] == pytest.approx(1 - 0.1 * (1 + 1.5 + 1.75))
    assert schedule_factor("linear", 25, 100) == pytest.approx(0.75)
    assert schedule_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert schedule_factor("cosine", 0, 100) == 1.0
    # warmup over the first 5 of 100 steps, then the cosine over the other 95
    assert [schedule_factor("warmup_cosine", t, 100) for t in range(5)] == pytest.approx(
        [0.2, 0.4, 0.6, 0.8, 1.0]
    )
    assert schedule_factor("warmup_cosine", 5, 100) == 1.0
    assert schedule_factor("warmup_cosine", 5 + 95 // 2, 100) == pytest.approx(
        0.5 * (1 + np.cos(np.pi * 47 / 95))
    )
    assert schedule_factor("warmup_cosine", 99, 100) == pytest.approx(0.5 * (1 + np.cos(np.pi * 94 / 95)))


def textbook_sgd(p, grad, lr, steps, schedule, momentum=0.0):
    buf = np.zeros_like(p)
    for t in range(steps):
        frac = t / steps
        factor = {"constant": 1.0, "linear": 1 - frac, "cosine": (1 + np.cos(np.pi * frac)) / 2}[schedule]
        buf = momentum * buf + grad(p)
        p = p - lr * factor * buf
    return p


def scurve_by_hand(r, init_scale, update):
    """Replay ``train_scurve(aligned_init=True)`` from its documented start with ``update(p0, grad)``."""
    m, rank = r.P.shape
    p0 = np.concatenate(
        [(init_scale * r.target_left[:, :rank]).ravel(), (init_scale * r.target_right[:, :rank]).ravel()]
    )

    def grad(p):
        _, (gP, gQ) = scurve_loss(
            p[: m * rank].reshape(m, rank), p[m * rank :].reshape(-1, rank), r.target, return_grad=True
        )
        return np.concatenate([gP.ravel(), gQ.ravel()])

    p = update(p0, grad)
    return p[: m * rank].reshape(m, rank), p[m * rank :].reshape(-1, rank)


@pytest.mark.parametrize("kind,wd", [("adam", 0.0), ("adam", 0.1), ("adamw", 0.1)])
def test_trainers_apply_the_textbook_adam(kind, wd):
    kw = dict(rank=2, target_strengths=(1.0, 0.5), size=(6, 5), init_scale=0.5, aligned_init=True, rng=0)
    r = train_scurve(**kw, optimizer=kind, weight_decay=wd, lr=0.01, steps=30)

    def adam(p, grad):
        m = v = np.zeros_like(p)
        for t in range(1, 31):
            g = grad(p) + (wd * p if kind == "adam" else 0.0)
            p = p * (1 - 0.01 * wd) if kind == "adamw" else p
            m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
            p = p - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        return p

    P, Q = scurve_by_hand(r, 0.5, adam)
    np.testing.assert_allclose(r.P, P, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.Q, Q, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_trainers_apply_sgd_momentum_and_schedules(schedule):
    kw = dict(rank=2, target_strengths=(1.0, 0.5), size=(6, 5), init_scale=0.5, aligned_init=True, rng=0)
    r = train_scurve(**kw, optimizer="sgd", momentum=0.5, schedule=schedule, lr=0.05, steps=40)
    P, Q = scurve_by_hand(r, 0.5, lambda p, grad: textbook_sgd(p, grad, 0.05, 40, schedule, momentum=0.5))
    np.testing.assert_allclose(r.P, P, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.Q, Q, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- trainer behaviour
def test_same_seed_same_result_bit_for_bit_and_rerun():
    kw = dict(n_features=6, d=3, sparsity=[0.5, 0.9], steps=50, batch_size=128, lr=1e-2, n_seeds=2)
    a, b = train_toy_model(**kw, rng=7), train_toy_model(**kw, rng=7)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    c = a.rerun()
    np.testing.assert_array_equal(a.W, c.W)
    np.testing.assert_array_equal(a.b, c.b)
    assert not np.array_equal(a.W, train_toy_model(**kw, rng=8).W)
    d = train_toy_model(**kw)  # a fresh seed is recorded and reproduces the run
    np.testing.assert_array_equal(d.W, d.rerun().W)


def test_best_of_seeds_keeps_the_lowest_evaluation_loss():
    r = train_toy_model(
        n_features=5, d=2, sparsity=[0.7, 0.95], steps=200, batch_size=256, lr=1e-2, n_seeds=3, rng=0
    )
    assert r.seed_eval_losses.shape == (2, 3)
    np.testing.assert_array_equal(r.eval_loss, r.seed_eval_losses.min(axis=1))
    np.testing.assert_array_equal(r.chosen_seed, r.seed_eval_losses.argmin(axis=1))
    # The kept W evaluates to the reported loss on an independent large batch (within the sampling noise
    # of the 8192-row evaluation batch and the small downward bias of taking a minimum).
    x = sample_toy_batch(5, 200000, sparsity=[0.7, 0.95], dtype=np.float64, rng=123)
    np.testing.assert_allclose(
        toy_model_loss(r.W.astype(float), r.b.astype(float), x), r.eval_loss, rtol=0.15
    )


def test_snapshots_follow_training():
    r = train_toy_model(
        n_features=4, d=2, steps=30, batch_size=64, snapshot_every=10, rng=1, dtype=np.float64
    )
    assert r.snapshots.shape == (4, 1, 4, 2)
    np.testing.assert_array_equal(r.snapshot_steps, [0, 10, 20, 30])
    np.testing.assert_array_equal(r.snapshots[-1], r.W)
    assert r.W.dtype == np.float64 and r.loss_history.shape == (30, 1)


def test_more_dims_than_features_is_allowed_and_learns_identity():
    r = train_toy_model(n_features=3, d=5, steps=1500, batch_size=256, lr=1e-2, rng=0, n_seeds=2)
    assert r.eval_loss[0] < 1e-3
    np.testing.assert_allclose(r.W[0] @ r.W[0].T, np.eye(3), atol=0.05)


def test_nan_stops_with_step_and_last_good_loss():
    with pytest.raises(TrainingDivergedError, match=r"diverged at step \d+.*last finite loss.*\d"):
        train_toy_model(
            n_features=4, d=2, model="linear", optimizer="sgd", lr=1e5, steps=50, batch_size=32, rng=0
        )
    assert issubclass(TrainingDivergedError, FloatingPointError)


BAD = [
    (dict(sparsity=1.5), ValueError, r"sparsity values must lie in \[0.0, 1.0\]; got 1.5"),
    (dict(density=-0.1), ValueError, r"density values must lie in \[0.0, 1.0\]; got -0.1"),
    (dict(sparsity=0.5, density=0.5), ValueError, "either sparsity .* or density"),
    (dict(importance=-1.0), ValueError, r"importance values must lie in >= 0.0; got -1.0"),
    (
        dict(importance=[1.0, 2.0]),
        ValueError,
        "importance given as a 1-D array .* n_features=5; got length 2",
    ),
    (dict(steps=0), ValueError, "steps must be >= 1; got 0"),
    (dict(steps=2.0), TypeError, "steps must be an integer; got float"),
    (
        dict(sparsity=[0.1, 0.2], importance=np.ones((3, 5))),
        ValueError,
        "disagree on the number of instances",
    ),
    (dict(sparsity=[0.1, 0.2], n_instances=3), ValueError, "n_instances=3 but sparsity has 2"),
    (dict(optimizer="adagrad"), ValueError, "optimizer must be one of 'adam', 'adamw', 'sgd'; got 'adagrad'"),
    (dict(schedule="step"), ValueError, "schedule must be one of"),
    (dict(lr=0.0), ValueError, "lr must be > 0.0; got 0.0"),
    (dict(weight_decay=-1.0), ValueError, "weight_decay must be >= 0.0"),
    (dict(dtype=np.float16), ValueError, "dtype must be np.float32 or np.float64"),
    (dict(model="gelu"), ValueError, "model must be one of 'relu', 'linear'"),
    (dict(sparsity="high"), TypeError, "sparsity must be a number or an array of numbers"),
    (dict(n_anticorrelated_pairs=1, sparsity=0.2), ValueError, "anticorrelated pairs need density <= 0.5"),
    (dict(n_correlated_pairs=3), ValueError, r"2 \* \(n_correlated_pairs \+ n_anticorrelated_pairs\) = 6"),
    (dict(sparsity=np.ones((2, 4))), ValueError, r"shape \(n_instances, n_features=5\); got shape \(2, 4\)"),
    (dict(rng=-1), ValueError, "rng seed must be >= 0"),
    (dict(blas_threads=0), ValueError, "blas_threads must be >= 1; got 0"),
]


@pytest.mark.parametrize("kwargs,exc,msg", BAD, ids=[str(b[0])[:40] for b in BAD])
def test_bad_input_is_refused_with_a_clear_message(kwargs, exc, msg):
    base = dict(n_features=5, d=2, steps=2, batch_size=8)
    with pytest.raises(exc, match=msg):
        train_toy_model(**{**base, **kwargs})


def test_bad_input_other_trainers():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        train_abs_model(n_features=3, d=2, steps=0)
    with pytest.raises(ValueError, match="sparsity values must lie"):
        train_abs_model(n_features=3, d=2, sparsity=-0.5)
    with pytest.raises(ValueError, match="target_strengths must be a non-empty sequence of numbers > 0"):
        train_scurve(rank=1, target_strengths=(1.0, -2.0))
    with pytest.raises(ValueError, match="aligned_init needs rank <="):
        train_scurve(rank=2, target_strengths=(1.0,), aligned_init=True)
    with pytest.raises(ValueError, match="loss must be one of"):
        train_scurve(rank=1, loss="hinge")
    with pytest.raises(ValueError, match=r"x must have shape \(1, batch, 3\)"):
        toy_model_loss(np.ones((3, 2)), np.zeros(3), np.ones((4, 2)))


# ----------------------------------------------------------------------------- reproduction
def gaps_deg(W):
    ang = np.sort(np.degrees(np.arctan2(W[:, 1], W[:, 0])))
    return np.diff(np.r_[ang, ang[0] + 360])


def test_five_in_two_sparse_is_a_regular_pentagon_and_dense_is_two_antipodal_pairs():
    r = train_toy_model(
        n_features=5,
        d=2,
        sparsity=[0.6, 0.7, 0.9, 0.95],
        steps=3000,
        batch_size=1024,
        lr=1e-2,
        schedule="cosine",
        n_seeds=4,
        rng=0,
        dtype=np.float64,
    )
    for i in (2, 3):  # high sparsity: pentagon
        W = r.W[i]
        np.testing.assert_allclose(gaps_deg(W), 72.0, atol=3.0)
        np.testing.assert_allclose(feature_dimensionality(W), 0.4, atol=0.02)
        assert (r.b[i] < 0).all()
        norms = np.linalg.norm(W, axis=1)
        assert norms.min() > 0.9 * norms.max()
    for i in (0, 1):  # lower sparsity: two antipodal pairs, one feature dropped
        W = r.W[i]
        norms = np.linalg.norm(W, axis=1)
        kept = np.argsort(norms)[1:]
        assert norms.min() < 0.1 and norms[kept].min() > 0.9
        np.testing.assert_allclose(feature_dimensionality(W)[kept], 0.5, atol=0.03)
        cos = packing.cosine_matrix(W[kept])
        assert np.sum(cos < -0.99) == 4  # two antipodal pairs (each counted twice)
        assert np.sum(np.abs(cos[np.triu_indices(4, 1)]) < 0.05) == 4  # the pairs are orthogonal


def test_twenty_in_five_dense_keeps_exactly_the_five_most_important_orthonormal():
    r = train_toy_model(
        n_features=20,
        d=5,
        density=1.0,
        importance=0.7 ** np.arange(20),
        steps=2500,
        batch_size=1024,
        lr=1e-2,
        schedule="cosine",
        n_seeds=3,
        rng=0,
    )
    W = r.W[0].astype(float)
    norms = np.linalg.norm(W, axis=1)
    np.testing.assert_allclose(W[:5] @ W[:5].T, np.eye(5), atol=0.03)
    assert norms[5:].max() < 0.05


def test_scurve_closed_form_solves_the_ode():
    t = np.linspace(0, 12, 200)
    s0 = 1e-3
    s = scurve_closed_form(t, s0)
    h = 1e-5
    ds = (scurve_closed_form(t + h, s0) - scurve_closed_form(np.maximum(t - h, 0), s0)) / (
        t + h - np.maximum(t - h, 0)
    )
    np.testing.assert_allclose(ds, s - s**3, atol=1e-6)
    assert s[0] == pytest.approx(s0)


def test_scurve_rank_one_aligned_follows_the_logistic_solution():
    lr = 0.01
    r = train_scurve(rank=1, lr=lr, steps=1600, init_scale=1e-3, aligned_init=True, rng=0)
    # Aligned balanced factors p = q = s a: the learned strength is s(t)^2 with t = lr * step.
    want = scurve_closed_form(r.times, 1e-3) ** 2
    assert np.abs(r.strengths[:, 0] - want).max() < 0.03
    assert r.loss[-1] < 1e-6
    np.testing.assert_allclose(np.abs(r.alignment[-1, 0, 0]), 1.0, atol=1e-9)


def test_scurve_learns_stronger_components_first_under_sgd():
    r = train_scurve(rank=2, target_strengths=(1.0, 0.5), lr=0.05, steps=1500, rng=0)
    half = [np.argmax(r.strengths[:, k] > 0.5 * s) for k, s in enumerate((1.0, 0.5))]
    assert 0 < half[0] < half[1]
    np.testing.assert_allclose(r.strengths[-1], [1.0, 0.5], atol=1e-3)


def test_scurve_cross_entropy_is_zero_at_the_target():
    r = train_scurve(
        rank=2,
        target_strengths=(4.0, 2.0),
        size=(6, 6),
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        steps=1500,
        rng=0,
    )
    assert r.loss[0] > 0.05 and r.loss[-1] < 1e-3
    assert np.all(r.loss >= -1e-12)


def test_abs_model_best_of_seeds_computes_abs():
    r = train_abs_model(n_features=2, d=4, n_instances=4, steps=2000, lr=1e-2, batch_size=512, rng=0)
    best = int(np.argmin(r.loss_history[-100:].mean(axis=0)))
    assert r.loss_history[-100:, best].mean() < 0.01


def ref_scurve_loss(P, Q, A, loss):
    M = P @ Q.T
    if loss == "squared":
        return 0.5 * float(np.sum((M - A) ** 2))
    pa = np.exp(A - A.max()) / np.exp(A - A.max()).sum()
    pm = np.exp(M - M.max()) / np.exp(M - M.max()).sum()
    return float(np.sum(pa * (np.log(pa) - np.log(pm))))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 3),
    st.integers(0, 2**31),
    st.sampled_from(["squared", "cross_entropy"]),
)
def test_scurve_gradient_matches_finite_differences(m, m2, rank, seed, loss):
    rng = np.random.default_rng(seed)
    P, Q, A = rng.normal(size=(m, rank)), rng.normal(size=(m2, rank)), rng.normal(size=(m, m2)) * 2
    value, (gP, gQ) = scurve_loss(P, Q, A, loss=loss, return_grad=True)
    assert value == pytest.approx(ref_scurve_loss(P, Q, A, loss), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(
        gP, central_diff(lambda X: ref_scurve_loss(X, Q, A, loss), P), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        gQ, central_diff(lambda X: ref_scurve_loss(P, X, A, loss), Q), rtol=1e-5, atol=1e-7
    )


def test_linear_model_never_superposes_even_when_sparse():
    # Elhage et al. (2022): the linear model keeps the d most important features, orthogonal, at any sparsity.
    r = train_toy_model(
        n_features=20,
        d=5,
        sparsity=[0.0, 0.9],
        importance=0.7 ** np.arange(20),
        model="linear",
        steps=2500,
        batch_size=1024,
        lr=1e-2,
        schedule="cosine",
        n_seeds=2,
        rng=0,
    )
    for W in r.W.astype(float):
        norms = np.linalg.norm(W, axis=1)
        np.testing.assert_allclose(W[:5] @ W[:5].T, np.eye(5), atol=0.05)
        assert norms[5:].max() < 0.1


def test_result_does_not_depend_on_worker_threads():
    kw = dict(n_features=300, d=4, sparsity=[0.5, 0.9, 0.99], steps=5, batch_size=512, rng=3)
    a = train_toy_model(**kw, n_threads=1)
    b = train_toy_model(**kw, n_threads=3)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.loss_history, b.loss_history)


def test_abs_and_scurve_configs_rerun_bit_for_bit():
    a = train_abs_model(n_features=3, d=4, sparsity=0.5, steps=20, batch_size=64, rng=5)
    np.testing.assert_array_equal(train_abs_model(**a.config).W1, a.W1)
    s = train_scurve(rank=2, target_strengths=(1.0, 0.5), optimizer="adam", lr=0.01, steps=20, rng=5)
    np.testing.assert_array_equal(train_scurve(**s.config).P, s.P)


# ----------------------------------------------------------------------------- the public boundary
W3 = np.ones((3, 2))
B3 = np.zeros(3)
X3 = np.ones((4, 3))
TOY = dict(n_features=5, d=2, steps=2, batch_size=8)
ABS = dict(n_features=3, d=2, steps=2, batch_size=8)
NAN_W = np.where(np.eye(3, 2) > 0, np.nan, 1.0)

# (function, positional args, keywords, exception type, argument name as passed, rest of the message)
BOUNDARY = [
    (train_toy_model, (), dict(TOY, model=3), ValueError, "model", r"one of 'relu', 'linear'; got int 3"),
    (train_toy_model, (), dict(TOY, reduction="max"), ValueError, "reduction", "one of 'sum', 'mean'"),
    (
        train_toy_model,
        (),
        dict(TOY, dtype="int8"),
        ValueError,
        "dtype",
        "np.float32 or np.float64; got 'int8'",
    ),
    (train_toy_model, (), dict(TOY, betas=0.9), TypeError, "betas", r"pair \(beta1, beta2\); got float 0.9"),
    (train_toy_model, (), dict(TOY, betas=(0.9, 1.0)), ValueError, "betas[1]", "< 1.0; got 1.0"),
    (train_toy_model, (), dict(TOY, momentum=1.0), ValueError, "momentum", "< 1.0; got 1.0"),
    (train_toy_model, (), dict(TOY, eps=0), ValueError, "eps", "> 0.0; got 0.0"),
    (train_toy_model, (), dict(TOY, blas_threads=1.5), TypeError, "blas_threads", "integer; got float"),
    (train_toy_model, (), dict(TOY, n_threads=0), ValueError, "n_threads", ">= 1; got 0"),
    (train_toy_model, (), dict(TOY, n_seeds=0), ValueError, "n_seeds", ">= 1; got 0"),
    (train_toy_model, (), dict(TOY, eval_batch_size=0), ValueError, "eval_batch_size", ">= 1; got 0"),
    (train_toy_model, (), dict(TOY, snapshot_every=0), ValueError, "snapshot_every", ">= 1; got 0"),
    (train_toy_model, (), dict(TOY, init_scale=-1.0), ValueError, "init_scale", ">= 0.0; got -1.0"),
    (
        train_toy_model,
        (),
        dict(TOY, importance=np.ones((2, 3, 5))),
        ValueError,
        "importance",
        r"scalar, 1-D or 2-D; got shape \(2, 3, 5\)",
    ),
    (
        train_toy_model,
        (),
        dict(TOY, importance=[1, 1, np.nan, 1, 1]),
        ValueError,
        "importance",
        "finite; got nan",
    ),
    (train_toy_model, (), dict(TOY, density=np.zeros((0, 5))), ValueError, "density", "must not be empty"),
    (
        train_toy_model,
        (),
        dict(TOY, sparsity=True),
        TypeError,
        "sparsity",
        "number or an array of numbers; got bool",
    ),
    (train_toy_model, (), dict(TOY, n_instances=0), ValueError, "n_instances", ">= 1; got 0"),
    (train_toy_model, (), dict(TOY, n_correlated_pairs=-1), ValueError, "n_correlated_pairs", ">= 0; got -1"),
    (train_toy_model, (), dict(TOY, rng="seed"), TypeError, "rng", "Generator.*; got str"),
    (sample_toy_batch, (4, 10), dict(signed="yes"), TypeError, "signed", "True or False; got str 'yes'"),
    (sample_toy_batch, (4, 10), dict(dtype=int), ValueError, "dtype", "np.float32 or np.float64"),
    (
        sample_toy_batch,
        (4, 10),
        dict(sparsity=[0.1, 0.2, 0.3], n_instances=2),
        ValueError,
        "n_instances",
        "=2 but sparsity has 3 per-instance rows",
    ),
    (sample_toy_batch, (4, 0), {}, ValueError, "batch_size", ">= 1; got 0"),
    (toy_model_loss, ("abc", B3, X3), {}, TypeError, "W", "real numeric array; got str"),
    (toy_model_loss, (np.ones(3), B3, X3), {}, ValueError, "W", r"2-D .* or 3-D .*; got 1-D shape \(3,\)"),
    (toy_model_loss, (NAN_W, B3, X3), {}, ValueError, "W", r"finite; found nan at index \(0, 0\)"),
    (toy_model_loss, (W3, ["a"] * 3, X3), {}, TypeError, "b", "real numeric array"),
    (toy_model_loss, (W3, B3, np.full((4, 3), np.inf)), {}, ValueError, "x", "finite; found inf"),
    (toy_model_loss, (W3, B3, np.ones((0, 3))), {}, ValueError, "x", r"at least one input .*\(0, 3\)"),
    (
        toy_model_loss,
        (np.ones((3, 3, 2)), np.zeros((3, 3)), X3),
        dict(importance=np.ones((2, 3))),
        ValueError,
        "importance",
        "has 2 instance rows; W has 3",
    ),
    (toy_model_loss, (W3, B3, X3), dict(return_grad="yes"), TypeError, "return_grad", "True or False"),
    (toy_model_forward, (W3, B3, X3), dict(model="gelu"), ValueError, "model", "one of 'relu', 'linear'"),
    (
        toy_model_forward,
        (W3, np.zeros((2, 3)), X3),
        {},
        ValueError,
        "b",
        r"shape \(1, 3\) to match W; got \(2, 3\)",
    ),
    (
        abs_model_forward,
        (W3, np.ones((3, 3)), B3, X3),
        {},
        ValueError,
        "W2",
        r"shape of W1, \(1, 3, 2\); got \(1, 3, 3\)",
    ),
    (
        abs_model_forward,
        (W3, W3, np.zeros(2), X3),
        {},
        ValueError,
        "b",
        r"shape \(1, 3\) to match W1; got \(1, 2\)",
    ),
    (
        abs_model_loss,
        (W3, W3, B3, X3),
        dict(importance=-1.0),
        ValueError,
        "importance",
        "lie in >= 0.0; got -1.0",
    ),
    (train_abs_model, (), dict(ABS, dtype=np.int32), ValueError, "dtype", "np.float32 or np.float64"),
    (train_abs_model, (), dict(ABS, betas=[0.9]), TypeError, "betas", r"pair \(beta1, beta2\); got list"),
    (train_abs_model, (), dict(ABS, density=[0.5, 2.0]), ValueError, "density", r"\[0.0, 1.0\]; got 2.0"),
    (
        train_abs_model,
        (),
        dict(ABS, importance=np.ones((2, 3)), sparsity=[0.1, 0.2, 0.3]),
        ValueError,
        "per-instance arrays disagree",
        "sparsity has 3, importance has 2",
    ),
    (train_scurve, (), dict(rank=1, size=(4,)), TypeError, "size", r"pair \(m, m2\); got tuple"),
    (train_scurve, (), dict(rank=1, size=(4, 0)), ValueError, "size[1]", ">= 1; got 0"),
    (train_scurve, (), dict(rank=1, aligned_init="yes"), TypeError, "aligned_init", "True or False"),
    (train_scurve, (), dict(rank=1, record_every=0), ValueError, "record_every", ">= 1; got 0"),
    (train_scurve, (), dict(rank=1, schedule="step"), ValueError, "schedule", "one of 'constant'"),
    (scurve_loss, ("P", np.ones((2, 1)), np.ones((2, 2))), {}, TypeError, "P", "real numeric array; got str"),
    (
        scurve_loss,
        (np.ones((2, 1)), np.ones((2, 2)), np.ones((2, 2))),
        {},
        ValueError,
        "P and Q",
        "same rank .*; got 1 and 2",
    ),
    (
        scurve_loss,
        (np.ones((2, 1)), np.ones((3, 1)), np.ones((2, 2))),
        {},
        ValueError,
        "target",
        r"shape \(2, 3\) .*; got \(2, 2\)",
    ),
    (
        scurve_loss,
        (np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 2))),
        dict(loss="kl"),
        ValueError,
        "loss",
        "one of 'squared', 'cross_entropy'",
    ),
    (scurve_closed_form, (-1.0, 0.5), {}, ValueError, "t", "finite and >= 0"),
]


@pytest.mark.parametrize(
    "fn,args,kwargs,exc,name,rest",
    BOUNDARY,
    ids=[f"{b[0].__name__}-{b[4]}-{i}" for i, b in enumerate(BOUNDARY)],
)
def test_public_functions_refuse_bad_input_naming_the_argument(fn, args, kwargs, exc, name, rest):
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    assert type(info.value) is exc, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert message.startswith(name), message
    assert re.search(rest, message), message


def test_toy_forward_and_predict_match_the_model_written_out():
    rng = np.random.default_rng(5)
    W, b, x = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6)), rng.normal(size=(7, 6))
    for model in ("relu", "linear"):
        out = toy_model_forward(W, b, x, model=model)  # one batch given to both instances
        assert out.shape == (2, 7, 6)
        for i in range(2):
            for row, got in zip(x, out[i], strict=True):
                want = W[i] @ (W[i].T @ row) + b[i]
                np.testing.assert_allclose(got, np.maximum(want, 0) if model == "relu" else want, atol=1e-12)
        np.testing.assert_array_equal(toy_model_forward(W[1], b[1], x, model=model), out[1])
    r = train_toy_model(n_features=4, d=2, sparsity=[0.5, 0.9], steps=5, batch_size=16, rng=0)
    xs = rng.random((3, 4))
    for i in range(2):
        np.testing.assert_allclose(
            r.predict(xs)[i], np.maximum(xs @ r.W[i] @ r.W[i].T + r.b[i], 0), atol=1e-6
        )
    # The loss of a shared 2-D batch equals the loss of that batch repeated for every instance.
    xb = np.broadcast_to(x, (2, 7, 6))
    np.testing.assert_array_equal(toy_model_loss(W, b, x), toy_model_loss(W, b, xb))


def test_abs_forward_and_predict_match_the_model_written_out():
    rng = np.random.default_rng(6)
    W1, W2, b, x = (
        rng.normal(size=(3, 5)),
        rng.normal(size=(3, 5)),
        rng.normal(size=3),
        rng.uniform(-1, 1, (9, 3)),
    )
    out = abs_model_forward(W1, W2, b, x)
    for row, got in zip(x, out, strict=True):
        hidden = np.array([max(0.0, float(row @ W1[:, j])) for j in range(5)])
        want = [max(0.0, float(W2[i] @ hidden + b[i])) for i in range(3)]
        np.testing.assert_allclose(got, want, atol=1e-12)
    r = train_abs_model(n_features=3, d=4, n_instances=2, steps=5, batch_size=16, rng=0)
    for i in range(2):
        np.testing.assert_array_equal(
            r.predict(x.astype(np.float32))[i],
            abs_model_forward(r.W1[i], r.W2[i], r.b[i], x.astype(np.float32)),
        )


def test_configs_are_validated_options_and_rerun_bit_for_bit():
    runs = [
        train_toy_model(
            n_features=6,
            d=3,
            sparsity=np.array([0.5, 0.9]),
            importance=0.9 ** np.arange(6),
            steps=20,
            batch_size=32,
            n_correlated_pairs=1,
            rng=4,
        ),
        train_abs_model(
            n_features=3, d=4, density=np.float32(0.3), n_instances=2, steps=20, batch_size=32, rng=4
        ),
        train_scurve(rank=2, target_strengths=[1.0, 0.5], size=[5, 4], optimizer="adamw", steps=20, rng=4),
    ]
    for r in runs:
        again = r.rerun()
        assert again.config == r.config  # the config is already in validated form: a fixed point
        for field in ("W", "b", "W1", "W2", "P", "Q", "loss_history", "loss"):
            if hasattr(r, field):
                np.testing.assert_array_equal(getattr(again, field), getattr(r, field))
    toy, abs_, _ = runs
    assert toy.config["n_instances"] == 2 and toy.config["sparsity"] == [0.5, 0.9]
    assert toy.config["eval_batch_size"] == 8192 and toy.config["density"] is None
    assert abs_.config["density"] == float(np.float32(0.3)) and "n_correlated_pairs" not in abs_.config


def test_divergence_in_worker_threads_is_reported_as_divergence():
    # numpy's floating-point error state is per thread; the workers must use the caller's.
    with pytest.raises(TrainingDivergedError, match="diverged at step"):
        train_toy_model(
            n_features=300,
            d=4,
            sparsity=[0.5, 0.9],
            model="linear",
            optimizer="sgd",
            lr=1e5,
            steps=50,
            batch_size=512,
            n_threads=2,
            rng=0,
        )


# ----------------------------------------------------------------------------- checkpoints (#10)
ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "train_toy_model": dict(
        n_features=6, d=2, sparsity=[0.0, 0.8], steps=300, batch_size=32, n_seeds=2, snapshot_every=70, rng=3
    ),
    "train_abs_model": dict(n_features=3, d=4, sparsity=0.5, steps=300, batch_size=32, rng=4),
    "train_scurve": dict(rank=2, target_strengths=[1.0, 0.5], steps=300, record_every=7, lr=0.1, rng=5),
}
EVERY = 40

# A run that sleeps in every update (no number changes), so that it can be killed halfway.
CHILD = """
import json, sys, time
import packing
from packing.train import _optim
step = _optim.Optimizer.step
def slow(self, params, grad, t):
    time.sleep(0.004)
    step(self, params, grad, t)
_optim.Optimizer.step = slow
name, path, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
getattr(packing, name)(**json.loads(sys.argv[4]), checkpoint=path, checkpoint_every=every)
print("finished", flush=True)
"""


class CountSteps:
    def __init__(self, monkeypatch):
        self.n, real = 0, _optim.Optimizer.step

        def counted(opt, params, grad, t):
            self.n += 1
            real(opt, params, grad, t)

        monkeypatch.setattr(_optim.Optimizer, "step", counted)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_killed_run_resumes_bit_for_bit(tmp_path, monkeypatch, name):
    kwargs, path = RUNS[name], tmp_path / "run.npz"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, name, str(path), str(EVERY), json.dumps(kwargs)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and load_result(path).step >= 2 * EVERY:
                break
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no chance to save anything more
    finally:
        proc.kill()
        out, _ = proc.communicate()
    assert "finished" not in out, "the run ended before it could be killed"
    killed_at = load_result(path).step
    assert 2 * EVERY <= killed_at < kwargs["steps"] and killed_at % EVERY == 0
    counter = CountSteps(monkeypatch)
    resumed = getattr(packing, name)(**kwargs, checkpoint=path, checkpoint_every=EVERY)
    assert counter.n == kwargs["steps"] - killed_at  # it went on from the checkpoint, not from the start
    monkeypatch.undo()
    same_result(resumed, getattr(packing, name)(**kwargs))  # an uninterrupted run, no checkpoint
    assert load_result(path).step == kwargs["steps"]


def test_a_finished_checkpoint_gives_the_result_again_without_training(tmp_path, monkeypatch):
    kwargs = dict(RUNS["train_toy_model"], steps=50)
    first = train_toy_model(**kwargs, checkpoint=tmp_path / "c.npz", checkpoint_every=20)
    ckpt = TrainingCheckpoint.load(tmp_path / "c.npz")
    assert ckpt.step == 50 and ckpt.trainer == "train_toy_model" and ckpt.config == first.config
    counter = CountSteps(monkeypatch)
    again = train_toy_model(**kwargs, checkpoint=tmp_path / "c.npz", blas_threads=None)  # threads may differ
    assert counter.n == 0 and again.config == {**first.config, "blas_threads": None}
    same_result(dataclasses.replace(again, config=first.config), first)


def test_rng_none_resumes_with_the_checkpoint_seed(tmp_path):
    kwargs = dict(RUNS["train_abs_model"], steps=60)
    first = train_abs_model(**{**kwargs, "steps": 60}, checkpoint=tmp_path / "c.npz")
    again = train_abs_model(**{**kwargs, "rng": None}, checkpoint=tmp_path / "c.npz")
    assert again.config["rng"] == kwargs["rng"]
    same_result(again, first)


def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(tmp_path):
    kwargs = dict(RUNS["train_toy_model"], steps=20)
    train_toy_model(**kwargs, checkpoint=tmp_path / "c.npz")
    differ = r"another configuration of train_toy_model \(lr: 0.001 there, 0.002 here\); delete it or pass"
    with pytest.raises(CheckpointMismatchError, match=differ):
        train_toy_model(**kwargs, lr=0.002, checkpoint=tmp_path / "c.npz")
    with pytest.raises(CheckpointMismatchError, match="of train_toy_model, not of train_abs_model"):
        train_abs_model(n_features=6, d=2, steps=20, checkpoint=tmp_path / "c.npz")
    (tmp_path / "bad.npz").write_bytes((tmp_path / "c.npz").read_bytes()[:300])
    with pytest.raises(CorruptFileError, match="corrupt or truncated"):
        train_toy_model(**kwargs, checkpoint=tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        (dict(checkpoint_every=10), ValueError, "checkpoint_every needs checkpoint=PATH"),
        (dict(checkpoint="run.ckpt"), ValueError, "checkpoint must be a path ending in .npz; got 'run.ckpt'"),
        (dict(checkpoint=3), TypeError, "checkpoint must be a path (str or pathlib.Path)"),
        (dict(checkpoint="c.npz", checkpoint_every=0), ValueError, "checkpoint_every must be >= 1; got 0"),
        (dict(checkpoint="c.npz", checkpoint_every=2.0), TypeError, "checkpoint_every must be an integer"),
    ],
)
def test_checkpoint_arguments_are_validated(tmp_path, monkeypatch, kwargs, exc, msg):
    monkeypatch.chdir(tmp_path)
    for trainer in (
        lambda **kw: train_toy_model(n_features=3, d=2, steps=2, **kw),
        lambda **kw: train_abs_model(n_features=3, d=2, steps=2, **kw),
        lambda **kw: train_scurve(rank=1, steps=2, **kw),
    ):
        with pytest.raises(exc) as info:
            trainer(**kwargs)
        assert msg in str(info.value)
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------- threads and the blocked kernel


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_quota_v2_takes_the_tightest_limit_on_the_path(tmp_path):
    proc = tmp_path / "proc_cgroup"
    write(proc, "0::/jobs/one\n")
    write(tmp_path / "fs" / "jobs" / "one" / "cpu.max", "max 100000\n")
    assert _parallel._cgroup_quota(tmp_path / "fs", proc) is None
    write(tmp_path / "fs" / "jobs" / "cpu.max", "150000 100000\n")  # a parent's limit applies too
    assert _parallel._cgroup_quota(tmp_path / "fs", proc) == 1.5
    write(tmp_path / "fs" / "jobs" / "one" / "cpu.max", "300000 100000\n")
    assert _parallel._cgroup_quota(tmp_path / "fs", proc) == 1.5


def test_cgroup_quota_v1_and_unlimited(tmp_path):
    proc = tmp_path / "proc_cgroup"
    write(proc, "4:cpu,cpuacct:/batch\n0::/\n")
    base = tmp_path / "fs" / "cpu,cpuacct" / "batch"
    write(base / "cpu.cfs_quota_us", "-1\n")
    write(base / "cpu.cfs_period_us", "100000\n")
    assert _parallel._cgroup_quota(tmp_path / "fs", proc) is None
    write(base / "cpu.cfs_quota_us", "250000\n")
    assert _parallel._cgroup_quota(tmp_path / "fs", proc) == 2.5
    assert _parallel._cgroup_quota(tmp_path / "missing", tmp_path / "missing_proc") is None


def test_available_cpus_is_the_affinity_mask_capped_by_the_quota(monkeypatch):
    monkeypatch.setattr(_parallel.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    monkeypatch.setattr(_parallel, "_cgroup_quota", lambda: None)
    assert _parallel.available_cpus() == 6
    monkeypatch.setattr(_parallel, "_cgroup_quota", lambda: 2.5)  # a fractional quota rounds down
    assert _parallel.available_cpus() == 2
    monkeypatch.setattr(_parallel, "_cgroup_quota", lambda: 0.5)  # never below one
    assert _parallel.available_cpus() == 1
    monkeypatch.setattr(_parallel, "_cgroup_quota", lambda: 16.0)  # the mask caps the quota
    assert _parallel.available_cpus() == 6


def test_layout_makes_every_thread_a_worker_unless_blas_threads_are_asked_for():
    assert _parallel.choose_layout(20, 2) == _parallel.Layout(2, 1)
    assert _parallel.choose_layout(20, 1) == _parallel.Layout(1, 1)
    assert _parallel.choose_layout(1, 4) == _parallel.Layout(1, 1)  # one group: one worker
    assert _parallel.choose_layout(3, 8) == _parallel.Layout(3, 1)
    assert _parallel.choose_layout(20, 4, blas_threads=2) == _parallel.Layout(2, 2)
    assert _parallel.choose_layout(1, 4, blas_threads=4) == _parallel.Layout(1, 4)


def test_worker_pool_runs_every_task_once_with_the_callers_error_state():
    pool = _parallel.WorkerPool(3)
    seen, states = [], []

    def task(t, worker):
        seen.append(t)
        states.append(np.geterr()["over"])
        assert 0 <= worker < 3

    try:
        with np.errstate(over="raise"):
            pool.run(task, 50)
        assert sorted(seen) == list(range(50)) and set(states) == {"raise"}

        def fail(t, worker):
            if t == 17:
                raise ValueError("task 17")

        with pytest.raises(ValueError, match="task 17"):
            pool.run(fail, 40)
    finally:
        pool.close()


def test_plan_groups_cover_every_row_of_every_instance_once():
    for args, kw in [
        ((10, 1024, 5, 20.0), {}),  # tiny: all instances packed into one group
        ((20, 1024, 200, 1300.0), {}),  # one instance per group, one block each
        ((3, 1000, 50, 500.0), dict(group_ns=1e4, block_entries=5000, min_rows=8)),  # rows split
    ]:
        groups = plan_groups(*args, **kw)
        n_inst, batch = args[:2]
        covered = np.zeros((n_inst, batch), int)
        for g in groups:
            for i0, i1, r0, r1 in g.blocks:
                assert g.i0 == i0 and g.i1 == i1 and g.r0 <= r0 < r1 <= g.r1
                covered[i0:i1, r0:r1] += 1
            assert (g.partial is None) == (g.r0 == 0)
        np.testing.assert_array_equal(covered, 1)
    assert len(plan_groups(10, 1024, 5, 20.0)) == 1
    assert len(plan_groups(3, 1000, 50, 500.0, group_ns=1e4, min_rows=8)) == 18  # 16 groups at least
    assert len(plan_groups(20, 1024, 200, 1300.0)) == 20  # many instances: never split


PLANS = [  # (label, plan keywords): the default; many small blocks and chunks; instances split by rows
    ("default", {}),
    ("small blocks", dict(group_ns=1e3, target_groups=1, block_entries=3000, chunk_entries=700, min_rows=8)),
    ("split", dict(group_ns=1e3, target_groups=9, block_entries=3000, chunk_entries=1000, min_rows=8)),
]


def toy_kernel(x, W, b, imp, relu, plan, threads):
    n_inst, n, d = W.shape
    k = _ToyKernel(n_inst, n, d, x.shape[1], imp, relu, W.dtype, None, threads, **plan)
    k.W[...], k.b[...], k.x = W, b, x
    return k


@pytest.mark.parametrize("d", [5, 9])  # a few columns (dot products) and more (GEMMs)
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_plans_match_the_formulas_and_threads_never_change_a_bit(relu, dtype, d):
    rng = np.random.default_rng(11)
    n_inst, n, d, B = 3, 37, d, 301
    W = (rng.normal(size=(n_inst, n, d)) * 0.3).astype(dtype)
    b = (rng.normal(size=(n_inst, n)) * 0.1).astype(dtype)
    x = (rng.random((n_inst, B, n)) * (rng.random((n_inst, B, n)) < 0.3)).astype(dtype)
    imp = rng.random((n_inst, n)) + 0.1
    tol = 1e-12 if dtype == np.float64 else 2e-5
    W64, b64, x64 = W.astype(float), b.astype(float), x.astype(float)
    for label, plan in PLANS:
        runs = []
        for threads in (1, 2, 3):
            k = toy_kernel(x, W, b, imp, relu, plan, threads)
            try:
                loss = k.loss_and_grad()
            finally:
                k.close()
            runs.append((loss, k.grad.copy()))
        for loss, grad in runs[1:]:  # bit for bit, whatever the thread count
            np.testing.assert_array_equal(loss, runs[0][0])
            np.testing.assert_array_equal(grad, runs[0][1])
        gP = runs[0][1].reshape(n_inst, n, d + 1)
        for i in range(n_inst):  # against the model written out in float64
            out = x64[i] @ W64[i] @ W64[i].T + b64[i]
            y = np.maximum(out, 0) if relu else out
            G = 2 * imp[i] * (y - x64[i]) * ((out > 0) if relu else 1) / B
            want_W = x64[i].T @ G @ W64[i] + G.T @ x64[i] @ W64[i]
            assert runs[0][0][i] == pytest.approx(np.sum(imp[i] * (y - x64[i]) ** 2) / B, rel=tol), label
            np.testing.assert_allclose(
                gP[i, :, :d], want_W, rtol=tol, atol=tol * np.abs(want_W).max(), err_msg=label
            )
            np.testing.assert_allclose(
                gP[i, :, d], G.sum(0), rtol=tol, atol=tol * np.abs(G.sum(0)).max(), err_msg=label
            )


def test_sampled_kernel_runs_are_independent_of_threads_and_blas_threads():
    density = np.repeat([[1.0], [0.3], [0.004], [0.001]], 40, axis=1)  # two float64-uniform instances
    results = []
    for threads, blas in [(1, None), (2, None), (3, None), (2, 2)]:
        sampler = Sampler(density, np.dtype(np.float32), np.random.default_rng(5))
        k = _ToyKernel(
            4,
            40,
            6,
            500,
            np.ones((4, 40)),
            True,
            np.dtype(np.float32),
            sampler,
            threads,
            blas,
            group_ns=1e3,
            target_groups=12,
            block_entries=4000,
            chunk_entries=900,
            min_rows=8,
        )
        k.W[...] = np.random.default_rng(6).normal(size=k.W.shape) * 0.3
        try:
            with _parallel.blas_limits(k.layout.blas_threads):
                steps = [(k.loss_and_grad(), k.grad.copy()) for _ in range(3)]
        finally:
            k.close()
        results.append(steps)
    for other in results[1:]:
        for (la, ga), (lb, gb) in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(la, lb)
            np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("scaled", [False, True])
def test_features_first_rows_have_the_stated_density_and_values(scaled):
    density = np.array([[1.0, 0.5, 0.1], [0.02, 0.002, 0.0]])  # 0.002 < 2**-8: float64 uniforms
    s = Sampler(density, np.dtype(np.float32), np.random.default_rng(0))
    gen = s.streams(1)[0]
    x = np.empty((6, 40000), np.float32)
    for k0, k1 in [(0, 2), (2, 3), (3, 6)]:  # rows j: feature j % 3 of instance j // 3
        if scaled:  # the toy kernel's sampler: rows hold alpha_j x_j
            s.fill_rows_scaled(x[k0:k1], k0, np.zeros((k1 - k0, 40000), np.float32), gen)
        else:
            s.fill_rows(x[k0:k1], k0, np.empty((k1 - k0, 40000), bool), gen)
    if scaled:
        alpha = s.alpha.reshape(-1, 1)
        assert np.array_equal(alpha.ravel(), np.maximum(np.floor(density.ravel() * 2**24), 1))
        # instance 0 draws 24-bit words: alpha_j x_j = v - K_j, integers; instance 1 float64 uniforms
        assert np.array_equal(x[:3], np.round(x[:3])) and not np.array_equal(x[3:5], np.round(x[3:5]))
        x = x / alpha
    assert x.min() >= 0 and x.max() < 1
    frac = (x > 0).mean(axis=1)
    p = density.ravel()
    assert np.all(np.abs(frac - p) <= 5 * np.sqrt(p * (1 - p) / 40000) + 1e-9), (frac, p)
    active = x[1][x[1] > 0]
    assert abs(active.mean() - 0.5) < 0.01 and abs(active.var() - 1 / 12) < 0.005


def test_default_threads_train_bit_for_bit_like_one_thread():
    kw = dict(n_features=60, d=5, sparsity=[0.0, 0.5, 0.9, 0.99], steps=20, batch_size=256, n_seeds=2, rng=1)
    one = train_toy_model(**kw, n_threads=1)
    default = train_toy_model(**kw)
    assert default.config["n_threads"] is None and default.config["blas_threads"] is None
    for field in ("W", "b", "loss_history", "seed_eval_losses"):
        np.testing.assert_array_equal(getattr(default, field), getattr(one, field))


def test_one_large_instance_is_split_into_row_groups_for_the_workers():
    kw = dict(n_features=64, d=200, sparsity=0.5, steps=3, batch_size=1024, rng=2)
    k = _ToyKernel(1, 64, 200, 1024, np.ones((1, 64)), True, np.dtype(np.float32), None, 2)
    k.close()
    assert len(k.groups) == 2 and k.layout == _parallel.Layout(2, 1)
    one, two = train_toy_model(**kw, n_threads=1), train_toy_model(**kw, n_threads=2)
    np.testing.assert_array_equal(one.W, two.W)
    np.testing.assert_array_equal(one.loss_history, two.loss_history)
