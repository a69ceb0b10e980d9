"""Sparse autoencoders: data with known truth, gradients, training, recovery metrics, SVD baseline (#15)."""

import dataclasses
import itertools
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import packing
from packing import (
    CheckpointMismatchError,
    SAEResult,
    load_result,
    recovery_metrics,
    sae_encode,
    sae_loss,
    sparse_activations,
    svd_dictionary,
    toy_model_activations,
    train_sae,
    train_toy_model,
)
from packing.sae import _kernel
from packing.sae._kernel import _SAEKernel
from packing.train import _optim
from packing.train._checkpoint import TrainingCheckpoint

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- references
def ref_forward(x, E, be, D, bd, kind, k=None):
    """Codes and reconstruction of ONE instance, sample by sample (float64, no shared code)."""
    B, m = len(x), len(E)
    pre = np.array([[(x[b] - bd) @ E[i] + be[i] for i in range(m)] for b in range(B)])
    Z = np.zeros_like(pre)
    if kind == "l1":
        Z = np.maximum(pre, 0)
    elif kind == "topk":
        for b in range(B):
            top = sorted(range(m), key=lambda i: -pre[b, i])[:k]
            Z[b, top] = np.maximum(pre[b, top], 0)
    else:
        kth = sorted(pre.ravel(), reverse=True)[k * B - 1]
        Z = np.where((pre >= kth) & (pre > 0), pre, 0)
    return pre, Z, Z @ D + bd


def ref_loss(
    x, E, be, D, bd, kind, lam=0.0, k=None, dead=None, aux_k=1, aux_norm=1.0, alpha=0.0, e_fixed=None
):
    """The training objective written out; the auxiliary residual ``e`` may be held fixed (as training does).

    Returns ``(loss, e, support)``: ``support`` is every selection the loss made (for checking that a
    finite-difference step did not cross a kink).
    """
    pre, Z, xh = ref_forward(x, E, be, D, bd, kind, k)
    B = len(x)
    loss = float(((xh - x) ** 2).sum() / B + lam * Z.sum() / B)
    e = x - xh
    support = [Z > 0]
    if kind != "l1" and dead is not None and dead.any() and alpha > 0:
        e = e if e_fixed is None else e_fixed
        idx = np.flatnonzero(dead)
        A = np.zeros_like(pre)
        for b in range(B):
            top = idx[np.argsort(-pre[b, idx], kind="stable")[: min(aux_k, len(idx))]]
            A[b, top] = np.maximum(pre[b, top], 0)
        support.append(A > 0)
        loss += alpha / aux_norm * float(((A @ D - e) ** 2).sum()) / B
    return loss, x - xh, support


@st.composite
def sae_problems(draw):
    B, d, m = draw(st.integers(2, 10)), draw(st.integers(1, 5)), draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["l1", "topk", "batchtopk"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    params = dict(
        x=rng.normal(size=(B, d)),
        E=rng.normal(size=(m, d)),
        be=0.3 * rng.normal(size=m),
        D=rng.normal(size=(m, d)),
        bd=0.3 * rng.normal(size=d),
    )
    opts = dict(
        kind=kind,
        lam=draw(st.floats(0, 2)) if kind == "l1" else 0.0,
        k=draw(st.integers(1, m)) if kind != "l1" else None,
        dead=rng.random(m) < 0.5,
        aux_k=draw(st.integers(1, 4)),
        aux_norm=draw(st.floats(0.1, 3)),
        alpha=draw(st.sampled_from([0.0, 1 / 32, 0.7])),
    )
    return params, opts, rng


def call_sae_loss(p, o, return_grad=False):
    return sae_loss(
        p["x"],
        p["E"],
        p["be"],
        p["D"],
        p["bd"],
        kind=o["kind"],
        l1_coefficient=o["lam"],
        k=o["k"],
        dead_latents=o["dead"],
        aux_k=o["aux_k"],
        aux_norm=o["aux_norm"],
        aux_coefficient=o["alpha"],
        return_grad=return_grad,
    )


# ----------------------------------------------------------------------------- loss and gradients
@pytest.mark.parametrize("dense", [0.0, 1.0], ids=["dense-products", "sparse-products"])
@settings(max_examples=40, deadline=None)
@given(problem=sae_problems())
def test_gradients_match_finite_differences_of_the_written_out_loss(dense, problem):
    p, o, rng = problem
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_kernel, "DENSE_FRACTION", dense)  # 0: always dense products; 1: always sparse
        loss, grads = call_sae_loss(p, o, return_grad=True)
    ref, e0, support = ref_loss(**p, **o)
    assert loss == pytest.approx(ref, rel=1e-10, abs=1e-10)
    names = {"E": "encoder", "be": "encoder_bias", "D": "decoder", "bd": "decoder_bias"}
    h = 1e-6
    for key, name in names.items():
        V = rng.normal(size=p[key].shape)
        plus = ref_loss(**{**p, key: p[key] + h * V}, **o, e_fixed=e0)
        minus = ref_loss(**{**p, key: p[key] - h * V}, **o, e_fixed=e0)
        triples = zip(support, plus[2], minus[2], strict=True)
        same = all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in triples)
        assume(same)  # the step crossed a kink of ReLU or a top-k selection: no derivative there
        fd = (plus[0] - minus[0]) / (2 * h)
        assert float((grads[name] * V).sum()) == pytest.approx(fd, rel=1e-5, abs=1e-6), name


def test_instances_are_independent_and_blocks_add_up():
    """Two instances in one kernel, with many small blocks and split row groups, equal two separate calls."""
    rng = np.random.default_rng(3)
    B, d, m = 300, 6, 10
    x = rng.normal(size=(B, d))
    params = [
        dict(
            E=rng.normal(size=(m, d)), D=rng.normal(size=(m, d)), be=rng.normal(size=m), bd=rng.normal(size=d)
        )
        for _ in range(2)
    ]
    for kind, k in (("l1", 0), ("topk", 3), ("batchtopk", 2)):
        kern = _SAEKernel(
            2,
            m,
            d,
            B,
            np.float64,
            kind=kind,
            l1=[0.1, 0.4],
            k=k,
            aux_coefficient=0.3,
            aux_k=2,
            block_entries=64,
            min_rows=8,
            target_groups=8,
            group_ns=1,
        )
        assert len(kern.groups) > 2 and any(len(g.blocks) > 1 for g in kern.groups)
        dead = rng.random((2, m)) < 0.4
        for i, q in enumerate(params):
            kern.E[i], kern.D[i], kern.be[i], kern.bd[i] = q["E"], q["D"], q["be"], q["bd"]
        kern.X = x
        kern.set_dead(dead)
        kern.aux_norm[...] = [0.5, 2.0]
        loss = kern.loss_and_grad()
        for i, q in enumerate(params):
            one, g = sae_loss(
                x,
                q["E"],
                q["be"],
                q["D"],
                q["bd"],
                kind=kind,
                l1_coefficient=[0.1, 0.4][i],
                k=k or None,
                dead_latents=dead[i],
                aux_coefficient=0.3,
                aux_k=2,
                aux_norm=[0.5, 2.0][i],
                return_grad=True,
            )
            assert loss[i] == pytest.approx(one, rel=1e-12)
            np.testing.assert_allclose(kern.gE[i], g["encoder"], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(kern.gD[i], g["decoder"], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(kern.gbd[i], g["decoder_bias"], rtol=1e-10, atol=1e-12)


def test_encode_matches_the_written_out_forward():
    rng = np.random.default_rng(0)
    x, E, be, bd = rng.normal(size=(7, 4)), rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=4)
    for kind, k in (("l1", None), ("topk", 2)):
        np.testing.assert_allclose(
            sae_encode(x, E, be, bd, kind=kind, k=k), ref_forward(x, E, be, E, bd, kind, k)[1]
        )
    pre = (x - bd) @ E.T + be
    np.testing.assert_allclose(
        sae_encode(x, E, be, bd, kind="batchtopk", k=1, threshold=0.5),
        np.where(pre >= 0.5, np.maximum(pre, 0), 0),
    )


# ----------------------------------------------------------------------------- data
def test_activations_are_codes_times_the_packing_with_the_stated_frequencies():
    W = packing.random_packing(40, 12, rng=1)
    data = sparse_activations(W, n_samples=40000, n_active=4, frequencies="geometric", decay=0.95, rng=2)
    V = data.dense_codes()
    np.testing.assert_allclose(V @ W, data.activations, rtol=1e-5, atol=1e-5)
    p = data.frequencies
    assert p.sum() == pytest.approx(4.0) and p[1] / p[0] == pytest.approx(0.95)
    freq = (V > 0).mean(axis=0)
    se = np.sqrt(p * (1 - p) / len(V))
    assert np.all(np.abs(freq - p) < 5 * se + 1e-12)  # binomial: 5 standard errors per feature
    vals = V[V > 0]
    assert vals.max() < 1 and abs(vals.mean() - 0.5) < 5 * np.sqrt(1 / 12 / len(vals))
    assert data.mean_l0 == pytest.approx(4.0, abs=5 * np.sqrt(4.0 / len(V)) * 2)


def test_magnitudes_noise_correlation_and_given_densities():
    W = np.eye(6)
    const = sparse_activations(W, n_samples=2000, density=0.3, magnitudes="constant", rng=0)
    assert set(np.unique(const.code_values)) == {1.0}
    scaled = sparse_activations(W, n_samples=20000, density=0.5, magnitudes=np.arange(1.0, 7.0), rng=0)
    assert np.all(scaled.dense_codes().max(axis=0) <= np.arange(1.0, 7.0))
    assert np.all(scaled.dense_codes().max(axis=0) > 0.99 * np.arange(1.0, 7.0))
    given = sparse_activations(W, n_samples=50000, density=[0.0, 0.1, 0.2, 0.3, 0.4, 1.0], rng=0)
    freq = (given.dense_codes() > 0).mean(axis=0)
    np.testing.assert_allclose(freq, [0.0, 0.1, 0.2, 0.3, 0.4, 1.0], atol=0.01)
    noisy = sparse_activations(W, n_samples=50000, density=0.2, noise=0.1, rng=0, dtype=np.float64)
    resid = noisy.activations - noisy.dense_codes() @ W
    assert resid.std() == pytest.approx(0.1, rel=0.02)
    corr = sparse_activations(W, n_samples=50000, density=0.2, correlation=0.8, rng=0)
    A = corr.dense_codes() > 0
    np.testing.assert_allclose(A.mean(axis=0), 0.2, atol=0.01)  # the copula keeps the marginals
    both = (A[:, 0] & A[:, 1]).mean()
    assert both > 0.2 * 0.2 + 0.05  # and makes features co-occur


def test_same_seed_same_data_and_config_regenerates_it():
    W = packing.random_packing(10, 4, rng=0)
    a = sparse_activations(W, n_samples=500, n_active=2, correlation=0.3, noise=0.01, rng=5)
    b = sparse_activations(**a.config)
    assert np.array_equal(a.activations, b.activations) and np.array_equal(a.code_indices, b.code_indices)
    assert not np.array_equal(
        a.activations, sparse_activations(W, n_samples=500, n_active=2, rng=6).activations
    )


def test_toy_model_activations_are_its_hidden_layer():
    toy = train_toy_model(n_features=8, d=3, sparsity=[0.5, 0.9], steps=50, rng=0)
    data = toy_model_activations(toy, n_samples=300, instance=1, rng=1)
    np.testing.assert_allclose(
        data.dense_codes() @ toy.W[1].astype(np.float64), data.activations, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(data.W, toy.W[1])
    np.testing.assert_allclose(data.frequencies, 1 - toy.sparsity[1])


# ----------------------------------------------------------------------------- training
def test_every_kind_recovers_orthogonal_features():
    W = packing.haar_rotation(8, rng=0)
    data = sparse_activations(W, n_samples=8192, n_active=2, rng=1)
    runs = {
        "l1": dict(l1_coefficient=0.05),
        "topk": dict(kind="topk", k=2),
        "batchtopk": dict(kind="batchtopk", k=2),
    }
    for kind, kw in runs.items():
        sae = train_sae(data, n_latents=8, steps=1200, lr=3e-3, batch_size=256, n_seeds=3, rng=0, **kw)
        m = recovery_metrics(sae, data)
        assert m.recovered == 1.0 and m.mcc > 0.98, (kind, m.summary())
        assert np.allclose(np.linalg.norm(sae.dictionary, axis=1), 1, atol=1e-5)
        if kind != "l1":
            assert m.l0 <= 2.5


def test_penalties_and_seeds_are_instances_and_best_of_seeds_is_kept():
    data = sparse_activations(np.eye(5), n_samples=2048, n_active=1, rng=0)
    sae = train_sae(
        data, n_latents=5, l1_coefficient=[0.01, 0.5], n_seeds=3, steps=100, batch_size=128, rng=0
    )
    assert sae.decoder.shape == (2, 5, 5) and sae.dictionary.shape == (2, 5, 5)
    assert sae.seed_eval_losses.shape == (2, 3)
    np.testing.assert_array_equal(sae.eval_loss, sae.seed_eval_losses.min(axis=1))
    one = sae.instance(1)
    assert one.dictionary.shape == (5, 5) and one.config["l1_coefficient"] == 0.5
    assert sae.l0_history[-1, 1] < sae.l0_history[-1, 0]  # a larger penalty, sparser codes


def test_rerun_is_bit_for_bit_and_does_not_depend_on_threads():
    W = packing.random_packing(12, 6, rng=0)
    data = sparse_activations(W, n_samples=3000, n_active=2, rng=0)
    kwargs = dict(n_latents=24, kind="topk", k=[2, 3], steps=60, batch_size=512, dead_after=512, rng=4)
    a = train_sae(data, n_threads=1, **kwargs)
    b = train_sae(data, n_threads=2, **kwargs)
    for f in ("decoder", "encoder", "loss_history", "dead_latents"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    c = a.rerun()  # the data is regenerated from its recipe
    assert np.array_equal(c.decoder, a.decoder)
    raw = train_sae(data.activations, **kwargs)
    assert np.array_equal(raw.decoder, a.decoder)  # the array or its SparseActivations: same run
    with pytest.raises(ValueError, match="activations are required"):
        raw.rerun()
    with pytest.raises(ValueError, match="SHA-256"):
        raw.rerun(data.activations[::-1])
    assert np.array_equal(raw.rerun(data.activations).decoder, a.decoder)


def test_dead_latents_are_detected_and_resampling_revives_them():
    """Parameters all but frozen (tiny lr): dead = never active on any training sample (the data is seen once
    within dead_after samples); resampling points dead latents at inputs, and then they fire. Feature 0 is
    always active, so that no input is 0 (where the bias alone, moving by lr, decides)."""
    data = sparse_activations(np.eye(2), n_samples=2048, density=[1.0, 0.5], rng=0)
    kw = dict(
        n_latents=32,
        l1_coefficient=0.01,
        steps=40,
        batch_size=128,
        dead_after=4096,
        lr=1e-9,
        decoder_bias_init="zero",
        rng=3,
    )
    sae = train_sae(data, **kw)
    pre = (data.activations - sae.decoder_bias[0]) @ sae.encoder[0].T + sae.encoder_bias[0]
    never = ~(pre > 0).any(axis=0)
    assert never.sum() >= 3
    assert np.array_equal(sae.dead_latents[0], never)
    assert sae.dead_history[-1, 0] == never.sum() and sae.dead_history[0, 0] == 0
    again = train_sae(data, **kw, resample_every=35)
    assert again.resampled[0] == never.sum() and not again.dead_latents[0].any()
    assert np.all(again.fire_frequency[0] > 0)


def test_ctrl_c_returns_the_partial_result(monkeypatch):
    data = sparse_activations(np.eye(4), n_samples=1024, n_active=1, rng=0)
    real, calls = _SAEKernel.loss_and_grad, []

    def interrupted(self, tick=None):
        calls.append(1)
        if len(calls) == 7 and self.need_grad:
            raise KeyboardInterrupt
        return real(self, tick)

    monkeypatch.setattr(_SAEKernel, "loss_and_grad", interrupted)
    sae = train_sae(data, n_latents=4, l1_coefficient=0.1, steps=50, batch_size=64, rng=0)
    assert sae.stopping_reason == "interrupted" and sae.loss_history.shape == (6, 1)


def test_progress_bar_is_shown_on_request_and_changes_nothing(capsys, monkeypatch):
    import packing._progress as progress_module

    monkeypatch.setattr(progress_module, "DELAY", 0.0)  # show the bar of a short run at once
    data = sparse_activations(np.eye(3), n_samples=512, n_active=1, rng=0)
    kw = dict(n_latents=3, l1_coefficient=0.1, steps=30, batch_size=64, rng=0)
    quiet = train_sae(data, progress=False, **kw)
    assert capsys.readouterr().err == ""
    shown = train_sae(data, progress=True, **kw)
    assert "train_sae" in capsys.readouterr().err
    assert np.array_equal(quiet.decoder, shown.decoder)


CHILD = """
import json, sys, time
import numpy as np
import packing
from packing.train import _optim
step = _optim.Optimizer.step
def slow(self, params, grad, t):
    time.sleep(0.004)
    step(self, params, grad, t)
_optim.Optimizer.step = slow
path, every, kwargs = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
data = packing.sparse_activations(packing.random_packing(10, 5, rng=0), n_samples=2000, n_active=2, rng=0)
packing.train_sae(data, **kwargs, checkpoint=path, checkpoint_every=every)
print("finished", flush=True)
"""


def test_a_killed_run_resumes_bit_for_bit(tmp_path, monkeypatch):
    kwargs = dict(
        n_latents=16, kind="topk", k=2, steps=300, batch_size=64, dead_after=256, resample_every=50, rng=3
    )
    path, every = tmp_path / "run.npz", 40
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(every), json.dumps(kwargs)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and load_result(path).step >= 2 * every:
                break
            time.sleep(0.02)
        proc.kill()
    finally:
        proc.kill()
        out, _ = proc.communicate()
    assert "finished" not in out, "the run ended before it could be killed"
    killed_at = load_result(path).step
    assert 2 * every <= killed_at < kwargs["steps"]
    data = sparse_activations(packing.random_packing(10, 5, rng=0), n_samples=2000, n_active=2, rng=0)
    n, real = [0], _optim.Optimizer.step

    def counted(opt, params, grad, t):
        n[0] += 1
        real(opt, params, grad, t)

    monkeypatch.setattr(_optim.Optimizer, "step", counted)
    resumed = train_sae(data, **kwargs, checkpoint=path, checkpoint_every=every)
    assert n[0] == kwargs["steps"] - killed_at
    monkeypatch.undo()
    whole = train_sae(data, **kwargs)
    for f in dataclasses.fields(whole):
        if f.name != "seconds":
            a, b = getattr(resumed, f.name), getattr(whole, f.name)
            assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name
    other = sparse_activations(packing.random_packing(10, 5, rng=1), n_samples=2000, n_active=2, rng=0)
    with pytest.raises(CheckpointMismatchError, match="data"):
        train_sae(other, **kwargs, checkpoint=path)
    assert TrainingCheckpoint.load(path).trainer == "train_sae"


# ----------------------------------------------------------------------------- metrics
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(2, 4), st.integers(0, 2**31))
def test_hungarian_matching_is_the_best_permutation(n_true, n_learned, d, seed):
    rng = np.random.default_rng(seed)
    T, L = rng.normal(size=(n_true, d)), rng.normal(size=(n_learned, d))
    m = recovery_metrics(L, T, structure=False)
    Tu = T / np.linalg.norm(T, axis=1, keepdims=True)
    Lu = L / np.linalg.norm(L, axis=1, keepdims=True)
    C = Lu @ Tu.T
    best = -np.inf
    k = min(n_true, n_learned)
    for lat in itertools.permutations(range(n_learned), k):
        for tru in itertools.combinations(range(n_true), k):
            best = max(best, sum(C[a, b] for a, b in zip(lat, tru, strict=True)))
    assert m.mcc == pytest.approx(best / n_true, abs=1e-9)
    assert m.recovery == pytest.approx(C.max(axis=0).mean()) and m.precision == pytest.approx(
        C.max(axis=1).mean()
    )
    assert m.recovery_abs == pytest.approx(np.abs(C).max(axis=0).mean())
    assert sorted(m.matching[m.matching >= 0].tolist()) == sorted(set(m.matching[m.matching >= 0].tolist()))


def test_duplicates_recovered_and_signs():
    T = np.eye(3)
    L = np.array([[1, 0, 0], [0.99, 0.1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1]], dtype=float)
    m = recovery_metrics(L, T)
    assert m.duplicates == 2  # the second copy of e1 (cos 0.995) and of e3
    assert m.recovered == pytest.approx(2 / 3) and m.recovery_abs == pytest.approx(1.0)
    # e2 is only met by the near-copy of e1: cos = 0.1 / |(0.99, 0.1)|
    assert m.best_cosine[1] == pytest.approx(0.1 / math.hypot(0.99, 0.1), rel=1e-12)
    assert m.true_geometry.description == "3×dedicated"


def test_code_statistics_of_a_perfect_autoencoder_and_of_svd():
    """E = D = the true orthonormal directions, zero biases: exact reconstruction, codes = true codes.

    The directions are a signed permutation so that ``x Eᵀ`` is exact (with a rotation,
    round-off leaves tiny positive codes where the truth is 0, and L0 counts them).
    """
    Q = np.eye(6)[[3, 0, 5, 1, 4, 2]] * np.array([1, -1, 1, 1, -1, -1])[:, None]
    data = sparse_activations(Q, n_samples=5000, n_active=2, rng=1, dtype=np.float64)
    sae = train_sae(data, n_latents=6, l1_coefficient=0.0, steps=1, batch_size=64, rng=0, dtype=np.float64)
    perfect = dataclasses.replace(
        sae,
        encoder=Q[None].copy(),
        decoder=Q[None].copy(),
        encoder_bias=np.zeros((1, 6)),
        decoder_bias=np.zeros((1, 6)),
    )
    m = recovery_metrics(perfect, data)
    assert m.mcc == pytest.approx(1.0) and m.dead == 0
    assert m.explained_variance == pytest.approx(1.0) and m.code_scale == pytest.approx(1.0)
    assert m.l2_ratio == pytest.approx(1.0) and m.reconstruction_bias == pytest.approx(1.0)
    assert m.l0 == pytest.approx((data.dense_codes() > 0).sum(axis=1).mean())
    half = dataclasses.replace(perfect, encoder=0.5 * Q[None])  # codes shrunk by half
    h = recovery_metrics(half, data)
    assert h.code_scale == pytest.approx(0.5) and h.l2_ratio == pytest.approx(0.5)
    assert h.reconstruction_bias == pytest.approx(0.5)
    rotated = sparse_activations(packing.haar_rotation(6, rng=2), n_samples=5000, n_active=2, rng=1)
    # generic directions: every projection of a nonzero sample is nonzero, of an empty sample zero
    svd = recovery_metrics(svd_dictionary(rotated), rotated)
    nonempty = (rotated.dense_codes() > 0).any(axis=1).mean()
    assert svd.explained_variance == pytest.approx(1.0) and svd.l0 == pytest.approx(6.0 * nonempty)


def test_svd_finds_orthogonal_features_with_distinct_frequencies_and_at_most_d_of_many():
    Q = packing.haar_rotation(5, rng=0)
    data = sparse_activations(Q, n_samples=50000, density=[0.5, 0.4, 0.3, 0.2, 0.1], rng=0)
    # centred, independent features have a diagonal covariance p/3 - p²/4 (distinct here): PCA finds Q;
    # the uncentred second moment has off-diagonal p_i p_j / 4, so plain SVD mixes them
    assert recovery_metrics(svd_dictionary(data, center=True), data).recovered == 1.0
    assert recovery_metrics(svd_dictionary(data), data).recovered < 1.0
    W = packing.random_packing(40, 10, rng=0)
    many = sparse_activations(W, n_samples=20000, n_active=3, rng=0)
    m = recovery_metrics(svd_dictionary(many), many)
    assert m.n_learned == 10 and m.recovered <= 10 / 40 and m.mcc <= 10 / 40 + 1e-12


# ----------------------------------------------------------------------------- bad input
W6 = np.eye(6)
DATA = sparse_activations(W6, n_samples=64, n_active=1, rng=0)
BAD = [
    (sparse_activations, (W6,), dict(n_samples=0, density=0.1), ValueError, "n_samples must be >= 1"),
    (sparse_activations, (W6,), dict(n_samples=5), ValueError, "give density"),
    (
        sparse_activations,
        (W6,),
        dict(n_samples=5, density=[0.1] * 5),
        ValueError,
        "density given as an array",
    ),
    (sparse_activations, (W6,), dict(n_samples=5, density=0.1, n_active=1), ValueError, "not both"),
    (
        sparse_activations,
        (W6,),
        dict(n_samples=5, density=0.1, frequencies="zipf"),
        ValueError,
        "frequencies must",
    ),
    (sparse_activations, (W6,), dict(n_samples=5, density=0.1, decay=0), ValueError, "decay must be > 0"),
    (
        sparse_activations,
        (W6,),
        dict(n_samples=5, density=0.1, magnitudes=[1.0]),
        ValueError,
        "magnitudes must",
    ),
    (
        sparse_activations,
        (W6,),
        dict(n_samples=5, density=0.1, correlation=1.0),
        ValueError,
        "correlation must",
    ),
    (
        sparse_activations,
        (W6,),
        dict(n_samples=5, density=0.1, correlation=True),
        TypeError,
        "correlation must",
    ),
    (sparse_activations, (W6,), dict(n_samples=5, density=0.1, noise=-1), ValueError, "noise must be >= 0"),
    (sparse_activations, (np.ones(3),), dict(n_samples=5, density=0.1), ValueError, "W must be 2-D"),
    (toy_model_activations, (W6,), dict(n_samples=5), TypeError, "model must be a ToyModelResult"),
    (train_sae, (np.ones(5),), dict(n_latents=2, l1_coefficient=0.1), ValueError, "activations must be 2-D"),
    (
        train_sae,
        ([[np.nan, 1.0]],),
        dict(n_latents=2, l1_coefficient=0.1),
        ValueError,
        "activations must be finite",
    ),
    (train_sae, (DATA,), dict(n_latents=0, l1_coefficient=0.1), ValueError, "n_latents must be >= 1"),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, kind="gated"),
        ValueError,
        "kind must be one of",
    ),
    (train_sae, (DATA,), dict(n_latents=4), ValueError, "l1_coefficient is required"),
    (train_sae, (DATA,), dict(n_latents=4, l1_coefficient=-1), ValueError, "l1_coefficient must be >= 0"),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=[0.1, -1]),
        ValueError,
        r"l1_coefficient\[1\] must",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient="0.1"),
        TypeError,
        "l1_coefficient must be a number",
    ),
    (train_sae, (DATA,), dict(n_latents=4, l1_coefficient=0.1, k=2), ValueError, "k applies to kind"),
    (train_sae, (DATA,), dict(n_latents=4, kind="topk", k=5), ValueError, "k must be <= 4"),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, kind="topk", k=2, l1_coefficient=0.1),
        ValueError,
        "l1_coefficient app",
    ),
    (train_sae, (DATA,), dict(n_latents=4, kind="topk", k=2.0), TypeError, "k must be an integer"),
    (train_sae, (DATA,), dict(n_latents=4, l1_coefficient=0.1, lr=0), ValueError, "lr must be > 0"),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, batch_size=0),
        ValueError,
        "batch_size must be",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, aux_coefficient=-1),
        ValueError,
        "aux_coefficient",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, dead_after=0),
        ValueError,
        "dead_after must be",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, resample_every=0),
        ValueError,
        "resample_every",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, decoder_bias_init="median"),
        ValueError,
        "decoder_bias_init must be",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, dtype=np.float16),
        ValueError,
        "dtype must be",
    ),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, progress="yes"),
        TypeError,
        "progress must be",
    ),
    (train_sae, (DATA,), dict(n_latents=4, l1_coefficient=0.1, rng=-1), ValueError, "rng seed must be"),
    (
        train_sae,
        (DATA,),
        dict(n_latents=4, l1_coefficient=0.1, checkpoint="x.pt"),
        ValueError,
        "checkpoint must",
    ),
    (
        sae_loss,
        (np.ones((2, 3)), np.eye(3), np.zeros(3), np.eye(2), np.zeros(3)),
        {},
        ValueError,
        "decoder must have the encoder's shape",
    ),
    (
        sae_loss,
        (np.ones((2, 2)), np.eye(3), np.zeros(3), np.eye(3), np.zeros(3)),
        {},
        ValueError,
        "x must have d=3 columns",
    ),
    (
        sae_loss,
        (np.ones((2, 3)), np.eye(3), np.zeros(3), np.eye(3), np.zeros(3)),
        dict(dead_latents=[1, 0, 0]),
        ValueError,
        "dead_latents must be a boolean array",
    ),
    (
        sae_loss,
        (np.ones((2, 3)), np.eye(3), np.zeros(3), np.eye(3), np.zeros(3)),
        dict(kind="topk"),
        ValueError,
        "k .latents active per sample. is required",
    ),
    (
        sae_loss,
        (np.ones((2, 3)), np.eye(3), np.zeros(3), np.eye(3), np.zeros(3)),
        dict(aux_norm=0),
        ValueError,
        "aux_norm must be > 0",
    ),
    (
        sae_encode,
        (np.ones((2, 3)), np.eye(3), np.zeros(3), np.zeros(3)),
        dict(kind="batchtopk", k=1),
        ValueError,
        "threshold .the inference threshold. is required",
    ),
    (
        sae_encode,
        (np.ones((2, 3)), np.eye(3), np.zeros(2), np.zeros(3)),
        {},
        ValueError,
        r"encoder_bias must have shape \(3,\)",
    ),
    (recovery_metrics, (np.eye(3), np.eye(4)), {}, ValueError, "learned and true must have the same number"),
    (recovery_metrics, (np.eye(3), np.eye(3)), dict(threshold=2), ValueError, "threshold must be <= 1"),
    (recovery_metrics, (np.eye(3), "W"), {}, TypeError, "true must be a real numeric array"),
    (recovery_metrics, ([[np.inf, 0, 0]], np.eye(3)), {}, ValueError, "learned must be finite"),
    (svd_dictionary, (np.ones((5, 3)),), dict(n_components=0), ValueError, "n_components must be >= 1"),
    (svd_dictionary, (np.ones((5, 3)),), dict(center="yes"), TypeError, "center must be True or False"),
]


@pytest.mark.parametrize(
    "fn, args, kwargs, exc, msg", BAD, ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_input_is_refused_naming_the_argument(fn, args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(*args, **kwargs)


def test_result_methods_refuse_bad_input():
    sae = train_sae(DATA, n_latents=4, l1_coefficient=0.1, steps=2, batch_size=16, rng=0)
    assert isinstance(sae, SAEResult)
    with pytest.raises(ValueError, match="instance must be <= 0"):
        sae.encode(np.ones((2, 6)), instance=1)
    with pytest.raises(ValueError, match="z must have 4 columns"):
        sae.decode(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x must have d=6 columns"):
        sae.reconstruct(np.ones((2, 5)))
