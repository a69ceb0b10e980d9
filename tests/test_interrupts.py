"""Ctrl-C: trainers and the optimizer return what they have; optimal_partition stops, caching nothing."""

import os
import signal

import numpy as np
import pytest

import packing
from packing.optimize import driver
from packing.partition import _costs
from packing.train import _optim
from packing.train import abs as abs_module


@pytest.fixture(autouse=True)
def _sigint_as_a_terminal_sends_it(default_sigint):
    """Every test here sends SIGINT to its own process (see conftest's ``default_sigint``)."""


def ctrl_c_after(monkeypatch, k, times=1):
    """Send SIGINT to this process (as Ctrl-C does) ``times`` times from inside update ``k`` (0-based)."""
    real = _optim.Optimizer.step

    def step(opt, params, grad, t):
        real(opt, params, grad, t)
        if t == k:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(_optim.Optimizer, "step", step)


TOY = dict(
    n_features=5, d=2, sparsity=[0.0, 0.9], steps=200, batch_size=32, n_seeds=2, snapshot_every=25, rng=1
)


def test_ctrl_c_during_training_returns_the_partial_result(monkeypatch):
    ctrl_c_after(monkeypatch, 59)
    part = packing.train_toy_model(**TOY)
    monkeypatch.undo()
    assert part.stopping_reason == "interrupted" and part.loss_history.shape == (60, 2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works as usual again
    # with a constant schedule, 60 steps of a 200-step run are a 60-step run (same streams, same evaluation)
    short = packing.train_toy_model(**{**TOY, "steps": 60})
    assert short.stopping_reason == "completed"
    for name in ("W", "b", "loss_history", "eval_loss", "seed_eval_losses", "chosen_seed", "snapshots"):
        assert np.array_equal(getattr(part, name), getattr(short, name)), name
    assert part.snapshot_steps.tolist() == [0, 25, 50]


def test_a_second_ctrl_c_interrupts_at_once(monkeypatch):
    ctrl_c_after(monkeypatch, 10, times=2)
    with pytest.raises(KeyboardInterrupt):
        packing.train_toy_model(**TOY)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_keyboard_interrupt_inside_a_step_stops_before_that_step(monkeypatch):
    real, calls = abs_module._loss_and_grad, []

    def loss(*args):
        calls.append(1)
        if len(calls) == 31:  # the 31st loss, before update 30
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(abs_module, "_loss_and_grad", loss)
    kwargs = dict(n_features=3, d=4, steps=100, batch_size=16, rng=2)
    part = packing.train_abs_model(**kwargs)
    monkeypatch.undo()
    assert part.stopping_reason == "interrupted" and part.loss_history.shape == (30, 1)
    short = packing.train_abs_model(**{**kwargs, "steps": 30})
    assert np.array_equal(part.W1, short.W1) and np.array_equal(part.loss_history, short.loss_history)


def test_an_interrupted_scurve_records_where_it_stopped(monkeypatch):
    ctrl_c_after(monkeypatch, 44)
    part = packing.train_scurve(rank=2, steps=100, record_every=10, rng=0)
    assert part.stopping_reason == "interrupted"
    assert part.steps.tolist() == [0, 10, 20, 30, 40, 45] and len(part.loss) == len(part.strengths) == 6


def test_ctrl_c_during_the_optimizers_lp_bound(monkeypatch):
    def interrupted(n, d, p):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "objective_lower_bound", interrupted)
    res = packing.optimize_packing(9, 3, rng=0, budget=1.0)
    assert res.stopping_reason == "interrupted" and res.restarts == 0
    assert res.lower_bound == packing.lower_bound(9, 3)  # the closed-form bound: still proven
    assert res.W.shape == (9, 3) and np.allclose(np.linalg.norm(res.W, axis=1), 1.0)
    assert res.objective == pytest.approx(packing.coherence(res.W))
    start = packing.random_packing(9, 3, rng=1)
    res = packing.optimize_packing(9, 3, init=start, rng=0)
    assert np.allclose(res.W, start / np.linalg.norm(start, axis=1, keepdims=True))


@pytest.fixture
def empty_cache():
    saved = dict(_costs.OPTIMIZER_CACHE)
    _costs.OPTIMIZER_CACHE.clear()
    yield _costs.OPTIMIZER_CACHE
    _costs.OPTIMIZER_CACHE.clear()
    _costs.OPTIMIZER_CACHE.update(saved)


def test_ctrl_c_inside_optimal_partition_stops_the_call_and_caches_nothing(monkeypatch, empty_cache):
    real, shapes = packing.optimize_packing, []

    def optimizer(m, D, **kwargs):
        shapes.append((m, D))
        if len(shapes) == 3:
            raise KeyboardInterrupt
        return real(m, D, **kwargs)

    monkeypatch.setattr(_costs, "optimize_packing", optimizer)
    with pytest.raises(KeyboardInterrupt):
        packing.optimal_partition(7, 3, np.inf, cost="optimizer", budget=0.2)
    assert sorted(key[1:3] for key in empty_cache) == sorted(shapes[:2])  # only the finished blocks


def test_an_interrupted_optimizer_run_never_enters_the_table(monkeypatch, empty_cache):
    real = driver._local_search

    def ctrl_c_in_block_5_3(U, *args, **kwargs):  # optimize_packing itself turns this into "interrupted"
        if U.shape == (5, 3):
            raise KeyboardInterrupt
        return real(U, *args, **kwargs)

    monkeypatch.setattr(driver, "_local_search", ctrl_c_in_block_5_3)
    assert packing.optimize_packing(5, 3, rng=0, budget=0.2).stopping_reason == "interrupted"
    with pytest.raises(KeyboardInterrupt):
        packing.block_cost_table(7, 3, np.inf, cost="optimizer", budget=0.2)
    blocks = {key[1:3] for key in empty_cache}
    assert (4, 3) in blocks and (5, 3) not in blocks  # the block before is kept, the cut-short one is not
    with pytest.raises(KeyboardInterrupt):
        packing.optimal_partition(7, 3, np.inf, cost="optimizer", budget=0.2)
    assert (5, 3) not in {key[1:3] for key in empty_cache}


def test_ctrl_c_inside_an_lp_solve_is_not_lost(monkeypatch):
    # Clarabel's update() (Rust, PyO3) reads the scipy matrices' attributes; a Ctrl-C there came out as a
    # TypeError about an argument, which cvxpy catches (any Exception: "build a new solver") -- the
    # interrupt vanished and build_table.py ran on. Emulated here around the real solve.
    import cvxpy as cp

    from packing.bounds import _lp

    real = cp.Problem.solve

    def solve(self, *args, **kwargs):
        try:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                sum(range(1000))
            except BaseException as exc:
                raise TypeError("argument 'A': interrupted") from exc
        except Exception:  # noqa: BLE001, S110  (cvxpy's handling of a failed update())
            pass
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", solve)
    _lp._lp_bound_cached.cache_clear()
    with pytest.raises(KeyboardInterrupt):
        packing.lp_bound(17, 5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
