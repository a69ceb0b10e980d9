"""The engineered-monosemanticity model (Jermyn, Schiefer & Hubinger 2022), its optimizer and its metric."""

import math
import os
import signal

import numpy as np
import pytest
from helpers import same_result
from hypothesis import given, settings
from hypothesis import strategies as st

import packing
from packing import (
    MonosemanticityModelResult,
    MonosemanticityReport,
    monosemanticity,
    monosemanticity_model_loss,
    train_monosemanticity_model,
)
from packing.train import _optim
from packing.train._data import Sampler
from packing.train._mono_kernel import _MonoKernel
from packing.train._optim import Optimizer
from packing.train.monosemanticity import _DecayingBias, power_law_frequencies, random_embedding

SMALL = dict(n_features=6, d=3, n_neurons=8, density=0.2, steps=30, batch_size=64, lr=0.01)


# ----------------------------------------------------------------------------- LAMB
def textbook_lamb(tensors, grads_per_step, *, lr, betas, eps, wd, lr_factors, clamp=10.0):
    """LAMB as You et al. (2019, Algorithm 2) write it, one tensor at a time, in float64.

    Without bias correction and with phi(z) = min(z, clamp): the variant of torch_optimizer.Lamb
    (its defaults, the optimizer of Jermyn et al. 2022).
    """
    x = [t.astype(np.float64).copy() for t in tensors]
    m = [np.zeros_like(t) for t in x]
    v = [np.zeros_like(t) for t in x]
    b1, b2 = betas
    for grads, factor in zip(grads_per_step, lr_factors, strict=True):
        for j, g in enumerate(grads):
            m[j] = b1 * m[j] + (1 - b1) * g
            v[j] = b2 * v[j] + (1 - b2) * g * g
            r = m[j] / (np.sqrt(v[j]) + eps) + wd * x[j]
            phi = min(float(np.linalg.norm(x[j])), clamp)
            r_norm = float(np.linalg.norm(r))
            ratio = phi / r_norm if phi > 0 and r_norm > 0 else 1.0
            x[j] = x[j] - lr * factor * ratio * r
    return x


@pytest.mark.parametrize("wd", [0.0, 0.01])
@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_lamb_matches_the_textbook_algorithm(wd, schedule):
    rng = np.random.default_rng(0)
    n_inst, shapes = 3, [(4, 5), (5,), (7, 5)]
    sizes = [math.prod(s) for s in shapes]
    bounds = np.cumsum([0, *sizes])
    tensors = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    params = rng.normal(size=(n_inst, bounds[-1]))
    params[0, tensors[1][0] : tensors[1][1]] = 0.0  # a zero tensor: trust ratio 1
    params[1, tensors[2][0] : tensors[2][1]] *= 10.0  # a large one: its norm is clamped at 10
    steps = 6
    grads = rng.normal(size=(steps, n_inst, bounds[-1]))
    grads[:, 2, tensors[0][0] : tensors[0][1]] = 0.0  # a zero update direction: trust ratio 1
    opt = Optimizer(
        params.reshape(-1).copy(),
        kind="lamb",
        lr=0.05,
        schedule=schedule,
        steps=steps,
        weight_decay=wd,
        betas=(0.9, 0.999),
        eps=1e-6,
        momentum=0.0,
        tensors=(n_inst, tensors),
    )
    flat = params.reshape(-1).copy()
    for t in range(steps):
        opt.step(flat, grads[t].reshape(-1).copy(), t)
    factors = [_optim.schedule_factor(schedule, t, steps) for t in range(steps)]
    for i in range(n_inst):
        split = [params[i, a:b] for a, b in tensors]
        per_step = [[grads[t, i, a:b] for a, b in tensors] for t in range(steps)]
        expected = textbook_lamb(
            split, per_step, lr=0.05, betas=(0.9, 0.999), eps=1e-6, wd=wd, lr_factors=factors
        )
        got = flat.reshape(n_inst, -1)[i]
        for (a, b), want in zip(tensors, expected, strict=True):
            np.testing.assert_allclose(got[a:b], want, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- the paper's periodic schedule
def torch_cosine_annealing_recursion(t_max, steps):
    """PyTorch's ``CosineAnnealingLR`` (eta_min = 0) as its chainable ``get_lr`` computes it, step by step.

    Written out from the recursion (not the closed form): each rate is the previous one times
    ``(1 + cos(π e / T)) / (1 + cos(π (e - 1) / T))``, except right after a zero of the cosine
    (``(e - 1 - T) % 2T == 0``), where ``(1 - cos(π / T)) / 2`` is added.
    """
    rates = [1.0]
    for e in range(1, steps):
        if (e - 1 - t_max) % (2 * t_max) == 0:
            rates.append(rates[-1] + (1.0 - math.cos(math.pi / t_max)) / 2.0)
        else:
            ratio = (1.0 + math.cos(math.pi * e / t_max)) / (1.0 + math.cos(math.pi * (e - 1) / t_max))
            rates.append(ratio * rates[-1])
    return np.array(rates)


@pytest.mark.parametrize("t_max", [1, 3, 8, 512])
def test_the_periodic_cosine_is_pytorchs_annealing_stepped_past_t_max(t_max):
    steps = 5 * t_max + 3
    got = [_optim.schedule_factor("cosine_periodic", t, steps, t_max) for t in range(steps)]
    np.testing.assert_allclose(got, torch_cosine_annealing_recursion(t_max, steps), atol=1e-9)
    # not a restart: it climbs back smoothly, reaching 1 at 2 T_max and 0 at T_max
    assert got[2 * t_max] == pytest.approx(1.0) and got[t_max] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("schedule", ["cosine_periodic", "cosine_restarts"])
def test_the_periodic_schedules_against_torchs_schedulers(schedule):
    torch = pytest.importorskip("torch", reason="the optional benchmark peer")
    t_max, steps = 16, 100
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=1.0)
    if schedule == "cosine_periodic":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=0.0)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=t_max, eta_min=0.0)
    want = []
    for _ in range(steps):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = [_optim.schedule_factor(schedule, t, steps, t_max) for t in range(steps)]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_the_restarts_jump_back_and_the_periodic_cosine_does_not():
    r = [_optim.schedule_factor("cosine_restarts", t, 40, 10) for t in range(40)]
    p = [_optim.schedule_factor("cosine_periodic", t, 40, 10) for t in range(40)]
    assert r[10] == r[20] == 1.0 and r[9] > 0.0 and r[9] == pytest.approx((1 + math.cos(0.9 * math.pi)) / 2)
    assert p[10] == pytest.approx(0.0, abs=1e-15) and p[11] == pytest.approx(r[9])  # rising again


@pytest.mark.parametrize("schedule", ["cosine_periodic", "cosine_restarts"])
def test_the_optimizer_takes_t_max_from_the_options(schedule):
    """SGD with a unit gradient moves each step by lr x the schedule's factor at that step."""
    steps, t_max, lr = 30, 7, 0.5
    opts = dict(optimizer="sgd", lr=lr, schedule=schedule, steps=steps, weight_decay=0.0,
                betas=(0.9, 0.999), eps=1e-8, momentum=0.0, cosine_t_max=t_max)  # fmt: skip
    params = np.zeros(3)
    opt = Optimizer.from_options(params, opts)
    moves = []
    for t in range(steps):
        before = params.copy()
        opt.step(params, np.ones(3), t)
        moves.append(before[0] - params[0])
    want = [lr * _optim.schedule_factor(schedule, t, steps, t_max) for t in range(steps)]
    np.testing.assert_allclose(moves, want, rtol=1e-12, atol=1e-15)
    assert min(moves) < 0.1 * lr and moves[-1] > 0.9 * lr  # it came back up after a low


def test_the_trainer_with_one_period_over_the_run_is_the_single_cosine():
    knobs = dict(SMALL, init_bias=[0.0, -1.0], bias_decay=0.3, rng=4)
    base = train_monosemanticity_model(**knobs)
    for schedule in ("cosine_periodic", "cosine_restarts"):
        one = train_monosemanticity_model(**knobs, schedule=schedule, cosine_t_max=SMALL["steps"])
        np.testing.assert_allclose(one.W1, base.W1, rtol=1e-4, atol=1e-6)
        assert one.config["schedule"] == schedule and one.config["cosine_t_max"] == SMALL["steps"]
    short = train_monosemanticity_model(**knobs, schedule="cosine_periodic", cosine_t_max=5)
    assert not np.allclose(short.W1, base.W1, rtol=1e-3)
    same_result(short.rerun(), short)


def test_lamb_needs_its_tensors():
    with pytest.raises(ValueError, match="LAMB needs the tensors"):
        Optimizer(
            np.zeros(4),
            kind="lamb",
            lr=0.1,
            schedule="constant",
            steps=1,
            weight_decay=0.0,
            betas=(0.9, 0.999),
            eps=1e-6,
            momentum=0.0,
        )


def test_other_trainers_do_not_offer_lamb():
    with pytest.raises(ValueError, match="optimizer must be one of 'adam', 'adamw', 'sgd'; got 'lamb'"):
        packing.train_toy_model(n_features=3, d=2, optimizer="lamb", steps=2)


# ----------------------------------------------------------------------------- loss and gradients
def direct_objective(W1, b, W2, E, v, task, activation, l1):
    """The objective written out plainly, one instance at a time (float64)."""
    out = []
    for i in range(len(W1)):
        x = v[i] @ E[i]
        z = x @ W1[i] + b[i]
        if activation == "relu":
            a = np.maximum(z, 0)
        else:
            a = z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
        y = a @ W2[i].T
        t = np.abs(v[i]) if task == "abs" else v[i]
        out.append((np.sum((y - t) ** 2) + l1[i] * np.sum(np.abs(a))) / len(v[i]))
    return np.array(out)


def random_model(seed, n_inst, n, m, k, batch, signed):
    rng = np.random.default_rng(seed)
    W1, b = rng.normal(size=(n_inst, m, k)), rng.normal(size=(n_inst, k))
    W2, E = rng.normal(size=(n_inst, n, k)), rng.normal(size=(n_inst, n, m))
    v = rng.uniform(-1 if signed else 0, 1, size=(n_inst, batch, n)) * (rng.random((n_inst, batch, n)) < 0.5)
    return W1, b, W2, E, v


models = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 3),  # instances
    st.integers(1, 6),  # features
    st.integers(1, 4),  # embedding dims
    st.integers(1, 7),  # neurons
    st.integers(1, 9),  # batch
)


@settings(max_examples=25, deadline=None)
@given(models, st.sampled_from(["decoder", "abs"]), st.sampled_from(["relu", "gelu"]), st.booleans())
def test_loss_is_the_objective_written_out(shape, task, activation, with_l1):
    seed, n_inst, n, m, k, batch = shape
    W1, b, W2, E, v = random_model(seed, n_inst, n, m, k, batch, task == "abs")
    l1 = np.linspace(0.0, 0.5, n_inst) if with_l1 else np.zeros(n_inst)
    got = monosemanticity_model_loss(W1, b, W2, E, v, task=task, activation=activation, l1=l1)
    np.testing.assert_allclose(got, direct_objective(W1, b, W2, E, v, task, activation, l1), rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(models, st.sampled_from(["decoder", "abs"]), st.sampled_from(["relu", "gelu"]), st.booleans())
def test_gradients_match_finite_differences(shape, task, activation, with_l1):
    seed, n_inst, n, m, k, batch = shape
    W1, b, W2, E, v = random_model(seed, n_inst, n, m, k, batch, task == "abs")
    l1 = np.linspace(0.1, 0.5, n_inst) if with_l1 else np.zeros(n_inst)
    kw = dict(task=task, activation=activation, l1=l1)
    _, grads = monosemanticity_model_loss(W1, b, W2, E, v, return_grad=True, **kw)
    h = 1e-6
    for arr, grad in zip((W1, b, W2), grads, strict=True):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            up = monosemanticity_model_loss(W1, b, W2, E, v, **kw)[idx[0]]
            arr[idx] = old - h
            down = monosemanticity_model_loss(W1, b, W2, E, v, **kw)[idx[0]]
            arr[idx] = old
            num[idx] = (up - down) / (2 * h)
        # a ReLU kink (or |a| at 0) within h of a pre-activation makes the difference quotient wrong there
        z = np.einsum("ibn,inm,imk->ibk", v, E, W1) + b[:, None, :]
        if activation == "relu" and np.min(np.abs(z)) < 1e-4:
            continue
        scale = max(1.0, float(np.abs(num).max()))
        np.testing.assert_allclose(grad, num, atol=1e-6 * scale, rtol=1e-6)


def test_a_2d_model_gives_floats_and_2d_gradients():
    W1, b, W2, E, v = random_model(1, 1, 4, 3, 5, 6, False)
    loss, (g1, gb, g2) = monosemanticity_model_loss(W1[0], b[0], W2[0], E[0], v[0], return_grad=True)
    assert isinstance(loss, float) and g1.shape == (3, 5) and gb.shape == (5,) and g2.shape == (4, 5)


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_and_split_instances_sum_to_the_same_gradient(threads):
    """Forced small blocks and instances split over row ranges give the one-block result (float64)."""
    n_inst, n, m, k, batch = 2, 7, 3, 5, 300
    W1, b, W2, E, v = random_model(2, n_inst, n, m, k, batch, False)
    kw = dict(embedding=E, noise=np.zeros(n_inst), noise_on="input", l1=np.full(n_inst, 0.2), task="decoder")

    def run(**plan):
        kern = _MonoKernel(n_inst, n, m, k, batch, np.float64, gelu=False, threads=threads, **kw, **plan)
        kern.W1[...], kern.b[...], kern.W2[...] = W1, b, W2
        kern.v = v
        try:
            loss = kern.loss_and_grad()
        finally:
            kern.close()
        return loss, kern.penalty, kern.grad.copy(), len(kern.groups)

    ref = run()
    split = run(block_entries=64, min_rows=8, group_ns=1.0, target_groups=8)
    assert split[3] > ref[3]  # really split
    np.testing.assert_allclose(split[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(split[1], ref[1], rtol=1e-12)
    np.testing.assert_allclose(split[2], ref[2], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("l1", [0.0, 0.3])
@pytest.mark.parametrize("split", [False, True])
def test_blocks_on_the_active_neurons_only_give_the_full_gradient(monkeypatch, l1, split):
    """A block of one instance whose neurons are partly (or all) silent runs its products on the
    active ones: loss, penalty and gradients equal those of the full products (float64)."""
    import packing.train._mono_kernel as mk

    n, m, k, batch = 9, 4, 12, 200
    W1, b, W2, E, v = random_model(3, 1, n, m, k, batch, False)
    b = b.copy()
    b[0, :5] = -50.0  # five neurons silent on every row; the rest live
    plan = dict(block_entries=64, min_rows=16, group_ns=1.0, target_groups=4) if split else {}

    def run(fraction, bias):
        monkeypatch.setattr(mk, "COMPACT_FRACTION", fraction)
        kern = _MonoKernel(
            1, n, m, k, batch, np.float64, embedding=E, noise=np.zeros(1), noise_on="input",
            l1=np.full(1, l1), task="decoder", gelu=False, threads=1, **plan,
        )  # fmt: skip
        kern.W1[...], kern.b[...], kern.W2[...] = W1, bias, W2
        kern.v = v
        calls = []
        compact = kern._compact
        kern._compact = lambda *a: calls.append(a[6].size) or compact(*a)
        try:
            loss = kern.loss_and_grad()
        finally:
            kern.close()
        return loss, kern.penalty, kern.grad.copy(), calls

    for bias in (b, np.full_like(b, -50.0)):  # some neurons silent; all of them
        full = run(-1.0, bias)  # never compacted
        part = run(1.0, bias)  # always compacted
        assert not full[3] and part[3] and max(part[3]) <= k - 5
        for got, want in zip(part[:3], full[:3], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert not run(1.0, np.full_like(b, -50.0))[2].any()  # nothing active: zero gradient


@pytest.mark.parametrize("gram", [False, True], ids=["dense", "gram"])
@pytest.mark.parametrize("per_group", [1, 2])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "task, activation, noise_on, l1",
    [("decoder", "relu", "input", 0.0), ("abs", "relu", "features", 0.2), ("decoder", "gelu", "input", 0.1)],
)
def test_merged_groups_match_bitwise_per_group_results(
    per_group, threads, task, activation, noise_on, l1, gram
):
    """Whole-instance groups computed stacked (a merged unit) draw from their own streams and compute
    their own products: losses, penalties and gradients equal those of the groups one by one, bit
    for bit, over two steps, with some instances on the active-neurons-only path (on either route of
    the read-out; the Gram route's per-group sums of Aᵀ A are added in a fixed order)."""
    import packing.train._mono_kernel as mk

    n_inst, n, m, k, batch = 7, 6, 3, 10, 128
    group_ns = (per_group + 0.5) * batch * mk._row_ns(n, m, k)  # groups of per_group instances

    def run(merge_entries):
        gen = np.random.default_rng(5)
        sampler = Sampler(np.full((n_inst, n), 0.2), np.dtype(np.float32), gen)
        kern = _MonoKernel(
            n_inst, n, m, k, batch, np.float32, embedding=random_embedding(gen, n_inst, n, m),
            noise=np.linspace(0.0, 0.3, n_inst), noise_on=noise_on, l1=np.full(n_inst, l1), task=task,
            gelu=activation == "gelu", sampler=sampler, threads=threads, group_ns=group_ns,
            merge_entries=merge_entries, gram=gram,
        )  # fmt: skip
        kern.W1[...] = gen.uniform(-0.6, 0.6, kern.W1.shape)
        kern.W2[...] = gen.uniform(-0.3, 0.3, kern.W2.shape)
        kern.b[...] = gen.uniform(-0.3, 0.3, kern.b.shape)
        kern.b[1] -= 50.0  # silent: the active-neurons-only path (in one-instance groups)
        kern.b[4, :6] -= 50.0
        out = []
        try:
            for _ in range(2):
                out += [kern.loss_and_grad(), kern.penalty.copy(), kern.grad.copy()]
        finally:
            kern.close()
        return out, kern.units

    alone, units = run(0)
    assert all(len(u) == 1 for u in units) and len(units) == -(-n_inst // per_group)
    merged, units = run(3 * k * batch)  # three instances per unit at most
    assert max(len(u) for u in units) > 1
    for got, want in zip(merged, alone, strict=True):
        assert np.array_equal(got, want)


# ----------------------------------------------------------------------------- data, noise, bias decay
def kernel(n_inst, n, m, k, batch, *, density, task="decoder", noise=0.0, noise_on="input", seed=0):
    gen = np.random.default_rng(seed)
    table = np.broadcast_to(np.asarray(density, dtype=np.float64), (n_inst, n))
    sampler = Sampler(np.ascontiguousarray(table / 2 if task == "abs" else table), np.dtype(np.float64), gen)
    return _MonoKernel(
        n_inst,
        n,
        m,
        k,
        batch,
        np.float64,
        embedding=random_embedding(gen, n_inst, n, m),
        noise=np.full(n_inst, noise),
        noise_on=noise_on,
        l1=np.zeros(n_inst),
        task=task,
        gelu=False,
        sampler=sampler,
        threads=1,
    )


@pytest.mark.parametrize("task", ["decoder", "abs"])
def test_with_a_zero_read_out_the_loss_is_the_targets_second_moment(task):
    p = np.array([0.05, 0.2, 0.5, 1.0])
    kern = kernel(1, 4, 2, 3, 200_000, density=p, task=task)
    kern.need_grad = False
    loss = kern.loss_and_grad()[0]
    # decoder: E[v²] = p/3 for v ~ p·U[0,1); abs: v = v1 - v2 at p/2 each, E[(v1-v2)²] = p/3 - p²/8
    expected = np.sum(p / 3) if task == "decoder" else np.sum(p / 3 - p**2 / 8)
    assert loss == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("noise_on", ["input", "features"])
def test_input_noise_adds_its_variance_through_the_linear_part(noise_on):
    """Biases large enough that no ReLU clips: the noise adds sigma² ||M||_F² to the loss in expectation."""
    n, m, k, sigma = 5, 3, 4, 0.3
    clean = kernel(1, n, m, k, 100_000, density=0.3, seed=1)
    noisy = kernel(1, n, m, k, 100_000, density=0.3, noise=sigma, noise_on=noise_on, seed=1)
    rng = np.random.default_rng(2)
    W1, W2 = rng.normal(size=(m, k)) * 0.3, rng.normal(size=(n, k)) * 0.3
    W2 -= W2.mean(axis=1, keepdims=True)  # the large biases then add nothing to the output
    for kern in (clean, noisy):
        kern.W1[...], kern.b[...], kern.W2[...] = W1, 50.0, W2
        kern.need_grad = False
    M = W1 @ W2.T if noise_on == "input" else clean.E[0] @ W1 @ W2.T
    gap = noisy.loss_and_grad()[0] - clean.loss_and_grad()[0]  # the same features: the same streams
    assert gap == pytest.approx(sigma**2 * np.sum(M**2), rel=0.02)


def test_power_law_frequencies_have_the_mean_and_the_cap():
    p = power_law_frequencies(512, np.array([1 / 512, 1 / 64]))
    assert p[0].mean() == pytest.approx(1 / 512, rel=1e-12) and p[0].max() < 1.0
    ratio = p[0, 1:] / p[0, :-1]
    np.testing.assert_allclose(ratio, (np.arange(2, 513) / np.arange(1, 512)) ** -1.1, rtol=1e-12)
    # the paper's setting: 8 / sum(i^-1.1) > 1 for the first feature, capped after rescaling
    assert p[1, 0] == 1.0 and p[1, 1] < 1.0 and p[1].mean() == pytest.approx(0.01459, abs=1e-5)
    r = train_monosemanticity_model(**{**SMALL, "steps": 2, "density": [0.1, 0.3]}, frequencies="power_law")
    np.testing.assert_allclose(r.frequencies, power_law_frequencies(6, np.array([0.1, 0.3])))


def test_the_embedding_has_unit_rows_spanning_a_random_subspace():
    E = random_embedding(np.random.default_rng(0), 3, 40, 8)
    np.testing.assert_allclose(np.linalg.norm(E, axis=2), 1.0, rtol=1e-12)
    for Ei in E:
        assert np.linalg.matrix_rank(Ei) == 8
        U = np.linalg.qr(Ei)[0]  # the projection onto the column space is Haar-random: diag(UUᵀ) ~ m/N
        assert np.mean(np.sum(U**2, axis=1)) == pytest.approx(8 / 40)
    wide = random_embedding(np.random.default_rng(0), 1, 3, 5)[0]  # fewer features than dimensions
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-12)


class NoUpdate:
    m = v = None
    lr = 0.1

    def step(self, params, grad, t):
        pass


def test_bias_decay_multiplies_by_one_minus_decay_lr_in_the_first_half_only():
    b = np.ones((2, 3))
    opt = _DecayingBias(NoUpdate(), b, np.array([0.5, 0.0]), 0.1, steps=7)
    for t in range(7):
        opt.step(None, None, t)
    np.testing.assert_allclose(b[0], (1 - 0.05) ** 4)  # t = 0, 1, 2, 3 < 3.5
    np.testing.assert_allclose(b[1], 1.0)
    assert opt.lr == 0.1  # the wrapped optimizer's attributes show through (checkpoints read m, v)


# ----------------------------------------------------------------------------- the trainer
def test_the_result_has_every_piece_and_reruns_bit_for_bit(tmp_path):
    r = train_monosemanticity_model(**SMALL, init_bias=[0.0, -1.0], snapshot_every=10, rng=3)
    n_inst, m, k, n = 2, 3, 8, 6
    assert r.W1.shape == (n_inst, m, k) and r.b.shape == (n_inst, k) and r.W2.shape == (n_inst, n, k)
    assert r.embedding.shape == (n_inst, n, m) and r.frequencies.shape == (n_inst, n)
    assert r.loss_history.shape == (30, n_inst) and r.stopping_reason == "completed"
    assert r.W1_snapshots.shape == (4, n_inst, m, k) and r.snapshot_steps.tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(r.W1_snapshots[-1], r.W1)
    # the paper's initialization: nn.Linear's uniform draws, init_bias added to the bias
    b0 = r.b_snapshots[0]
    assert np.all(np.abs(b0[0]) <= 1 / math.sqrt(m)) and np.all(np.abs(b0[1] + 1.0) <= 1 / math.sqrt(m))
    assert np.all(np.abs(r.W1_snapshots[0]) <= 1 / math.sqrt(m))
    np.testing.assert_allclose(r.eval_loss, r.clean_eval_loss)  # no noise: the same distribution
    np.testing.assert_allclose(r.feature_directions, r.embedding @ r.W1)
    same_result(r.rerun(), r)
    same_result(MonosemanticityModelResult.load(r.save(tmp_path / "r.npz")), r)


def test_the_result_does_not_depend_on_the_thread_count():
    kw = dict(**SMALL, n_instances=3, rng=4, input_noise=0.1, task="abs")
    one, two = train_monosemanticity_model(**kw, n_threads=1), train_monosemanticity_model(**kw, n_threads=2)
    for name in ("W1", "b", "W2", "loss_history", "eval_loss", "clean_eval_loss"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def test_each_instance_has_its_own_embedding_and_data():
    r = train_monosemanticity_model(**SMALL, n_instances=2, rng=5)
    assert not np.array_equal(r.embedding[0], r.embedding[1])
    assert not np.array_equal(r.loss_history[:, 0], r.loss_history[:, 1])


def test_noise_makes_the_training_loss_worse_than_the_clean_loss():
    r = train_monosemanticity_model(**{**SMALL, "steps": 200}, input_noise=[0.0, 0.5], rng=6)
    assert r.eval_loss[0] == pytest.approx(r.clean_eval_loss[0])
    assert r.eval_loss[1] > r.clean_eval_loss[1]


def test_a_progress_bar_changes_nothing():
    quiet = train_monosemanticity_model(**SMALL, rng=7, progress=False)
    shown = train_monosemanticity_model(**SMALL, rng=7, progress=True)
    same_result(quiet, shown)


def ctrl_c_after(monkeypatch, k):
    real = _optim.Optimizer.step

    def step(opt, params, grad, t):
        real(opt, params, grad, t)
        if t == k:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(_optim.Optimizer, "step", step)


def test_ctrl_c_returns_the_partial_result_and_a_checkpoint_resumes_it(monkeypatch, tmp_path, default_sigint):
    kw = dict(**SMALL, init_bias=[0.0, -1.0], bias_decay=0.5, schedule="constant", rng=8)
    path = tmp_path / "run.npz"
    ctrl_c_after(monkeypatch, 11)
    part = train_monosemanticity_model(**kw, checkpoint=path, checkpoint_every=5)
    monkeypatch.undo()
    assert part.stopping_reason == "interrupted" and part.loss_history.shape == (12, 2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed = train_monosemanticity_model(**kw, checkpoint=path, checkpoint_every=5)
    same_result(resumed, train_monosemanticity_model(**kw))


# ----------------------------------------------------------------------------- the metric
def hand_built(activation="relu"):
    """Three features, embedding = identity, five neurons whose single-feature responses are known."""
    W1 = np.array(
        [
            [1.0, 0.0, -1.0, 0.0005, 0.0],  # feature 0
            [0.0, 1.0, -1.0, 0.0, 0.0],  # feature 1
            [0.0, 0.5, -1.0, 1.0, 1.0],  # feature 2
        ]
    )
    b = np.array([0.0, 0.0, 0.0, 0.0, 0.1])
    # responses (neuron x feature): [1,0,0] mono; [0,1,.5] poly; dead; [.0005,0,1] mono at 0.999
    # (1/1.0005 = 0.9995), poly at 0.9999; [.1,.1,1.1] poly (the bias fires it for every feature)
    return MonosemanticityModelResult(
        W1=W1[None],
        b=b[None],
        W2=np.zeros((1, 3, 5)),
        embedding=np.eye(3)[None],
        frequencies=np.full((1, 3), 0.1),
        loss_history=np.zeros((0, 1)),
        eval_loss=np.zeros(1),
        clean_eval_loss=np.zeros(1),
        W1_snapshots=None,
        b_snapshots=None,
        snapshot_steps=np.zeros(0, dtype=int),
        config={"activation": activation},
    )


def test_the_metric_on_a_hand_built_model():
    rep = monosemanticity(hand_built())
    assert isinstance(rep, MonosemanticityReport)
    np.testing.assert_allclose(rep.activations[0, 0], [1, 0, 0])
    np.testing.assert_allclose(rep.activations[0, 4], [0.1, 0.1, 1.1])
    assert rep.monosemantic[0].tolist() == [True, False, False, True, False]
    assert rep.dead[0].tolist() == [False, False, True, False, False]
    assert rep.polysemantic[0].tolist() == [False, True, False, False, True]
    assert rep.owner[0].tolist() == [0, 1, -1, 2, 2]
    np.testing.assert_allclose(rep.score[0], [1, 1 / 1.5, 0, 1 / 1.0005, 1.1 / 1.3])
    assert rep.monosemantic_fraction[0] == pytest.approx(2 / 5)
    assert rep.monosemantic_per_feature[0] == pytest.approx(2 / 3)
    assert rep.features_with_monosemantic_neuron[0] == pytest.approx(2 / 3)  # features 0 and 2
    assert rep.dead_fraction[0] == pytest.approx(1 / 5)
    assert rep.mean_bias_monosemantic[0] == 0.0 and rep.mean_bias_polysemantic[0] == pytest.approx(0.05)
    stricter = monosemanticity(hand_built(), threshold=0.9999, statistics=False)
    assert stricter.monosemantic[0].tolist() == [True, False, False, False, False]
    assert stricter.statistics is None
    neurons, features = rep.order(0)
    assert neurons.tolist()[:2] == [0, 3] and neurons[-1] == 2  # monosemantic first, dead last
    assert features.tolist() == [0, 2, 1]  # features by their first monosemantic neuron


def test_the_metric_reports_the_geometry_of_the_effective_directions():
    model = hand_built()
    rep = monosemanticity(model, structure=True)
    stats = rep.statistics[0]
    F = model.feature_directions[0]
    U = F / np.linalg.norm(F, axis=1, keepdims=True)
    C = U @ U.T
    assert stats.n_pairs == 3 and stats.coherence == pytest.approx(np.max(np.abs(C[np.triu_indices(3, 1)])))
    assert rep.structure is not None and rep.structure[0].factors.n == 3


def test_gelu_counts_only_the_positive_part():
    rep = monosemanticity(hand_built("gelu"), statistics=False)
    # gelu(1) = 0.841, gelu(0) = 0 and gelu(-1) < 0: the dead neuron stays dead, the first stays monosemantic
    assert rep.dead[0, 2] and rep.monosemantic[0, 0]
    assert rep.activations[0, 2].max() < 0


def test_the_metric_over_training_snapshots():
    r = train_monosemanticity_model(**SMALL, snapshot_every=15, rng=9)
    first = monosemanticity(r, snapshot=0, statistics=False)
    last = monosemanticity(r, snapshot=-1, statistics=False)
    np.testing.assert_array_equal(last.activations, monosemanticity(r, statistics=False).activations)
    np.testing.assert_allclose(first.bias, r.b_snapshots[0])
    with pytest.raises(ValueError, match="snapshot must be <= 2; got 3"):
        monosemanticity(r, snapshot=3)
    with pytest.raises(ValueError, match="snapshot needs a result trained with snapshot_every"):
        monosemanticity(train_monosemanticity_model(**SMALL, rng=9), snapshot=0)


def test_the_findings_script_runs_quick_and_reports_every_finding(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "monosemanticity_findings.py"
    spec = importlib.util.spec_from_file_location("monosemanticity_findings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--quick", "--out", str(tmp_path)])
    assert set(out) == {"bias", "neurons", "noise", "lr", "decay", "dynamics"}
    low, high, count = out["bias"]["equal_loss_range"]
    assert 0.0 <= low <= high <= 1.0 and count >= 1
    assert len(out["neurons"]) == 5 and all(len(row) == 2 for row in out["neurons"].values())
    for rows in out["noise"].values():
        assert [r["sigma"] for r in rows] == [0.0, 0.05, 0.1, 0.2, 0.4]
        assert all(r["noisy"] >= 0 and r["loss"] >= 0 for r in rows)
    # finding 1 the paper's way: the models of the learning-rate sweep at equal loss (5% and 10%)
    from packing.figures.monosemanticity import DECAY_RUNS, DECAYS, LR_CONDITIONS, LRS

    for row in out["lr"].values():
        assert 1 <= row["n"] <= len(LRS) * len(LR_CONDITIONS) * 2 and 0 <= row["low"] <= row["high"] <= 1
    assert out["lr"][0.05]["n"] <= out["lr"][0.10]["n"]
    # finding 2: one table per run, init 0 first (its loss gap to itself is 0), then every decay
    assert set(out["decay"]) == {(opt, lr, schedule) for opt, lr, schedule, _ in DECAY_RUNS}
    for rows in out["decay"].values():
        assert len(rows) == 1 + len(DECAYS) and rows["init 0, no decay"]["gap"] == 0.0
    assert set(out["dynamics"]) == {run[0] for run in module.DYNAMICS_RUNS} >= {"lamb", "adam"}
    assert all(rows for rows in out["dynamics"].values())
    assert "finding 1" in capsys.readouterr().out


def test_the_findings_script_reports_finding_2_with_the_papers_schedule(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "monosemanticity_findings.py"
    spec = importlib.util.spec_from_file_location("monosemanticity_findings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--quick", "--out", str(tmp_path), "--part", "paper_lr"])
    rows = out["paper_lr"]
    assert len(rows) == 1 + len(module.PAPER_LR_DECAYS) and rows["init 0, no decay"]["gap"] == 0.0
    for row in rows.values():
        assert len(row["seeds"]) == 2 and row["best"] == max(row["seeds"])
    assert "repeating cosine (T_max 512)" in capsys.readouterr().out
