"""The numpy L-BFGS loop of the smooth descent, and dropping hopeless starts (both opt-in switches).

Checked against independent computations: closed-form minimizers, the classic
two-loop recursion of L-BFGS, scipy's L-BFGS-B on the same surrogate, and brute-force
coherences; reproducibility of the whole search for a seed and a restart count.
"""

import math

import numpy as np
import pytest
from helpers import brute_force_cosines
from scipy.optimize import minimize

from packing import optimize_packing
from packing.optimize import _lbfgs, _objectives, _sphere, _stages, driver


def _two_loop(S, Y, g):
    """Nocedal's two-loop recursion, the textbook form of the L-BFGS inverse Hessian times ``g``."""
    q, alphas = g.copy(), []
    for s, y in zip(S[::-1], Y[::-1], strict=True):
        a = (s @ q) / (s @ y)
        alphas.append(a)
        q -= a * y
    r = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * q
    for (s, y), a in zip(zip(S, Y, strict=True), alphas[::-1], strict=True):
        r += s * (a - (y @ r) / (s @ y))
    return r


def test_compact_form_equals_two_loop_recursion():
    rng = np.random.default_rng(0)
    mem, pairs = _lbfgs._Memory(5, 30), []
    for _ in range(12):  # more pairs than the memory: the oldest ones are dropped
        s = rng.normal(size=30)
        y = s + 0.4 * rng.normal(size=30)
        assert mem.push(s, y)
        pairs.append((s, y))
        S, Y = (np.array(v) for v in zip(*pairs[-5:], strict=True))
        g = rng.normal(size=30)
        assert np.allclose(mem.apply(g), _two_loop(S, Y, g), rtol=1e-10, atol=1e-12)


def test_pair_without_positive_curvature_is_skipped():
    mem = _lbfgs._Memory(3, 4)
    assert not mem.push(np.ones(4), -np.ones(4))
    assert mem.k == 0 and np.array_equal(mem.apply(np.arange(4.0)), np.arange(4.0))


def test_lbfgs_minimizes_a_quadratic_to_its_closed_form():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(20, 20))
    H = A @ A.T + 0.5 * np.eye(20)
    b = rng.normal(size=20)
    x, f, it = _lbfgs.lbfgs(lambda x: (0.5 * x @ H @ x - b @ x, H @ x - b), np.zeros(20), 500, gtol=1e-10)
    exact = np.linalg.solve(H, b)
    assert np.allclose(x, exact, atol=1e-7) and f == pytest.approx(-0.5 * b @ exact, rel=1e-12)
    assert it < 500


def test_lbfgs_solves_rosenbrock():
    def rosen(x):
        f = 100.0 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        g = np.array([-400.0 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200.0 * (x[1] - x[0] ** 2)])
        return f, g

    x, f, _ = _lbfgs.lbfgs(rosen, np.array([-1.2, 1.0]), 1000, gtol=1e-10, ftol=0.0)
    assert np.allclose(x, [1.0, 1.0], atol=1e-6) and f < 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_smooth_max_descent_matches_scipy(seed):
    """Same start, same smooth max: our loop and scipy's L-BFGS-B end at the same value."""
    n, d, q = 12, 3, 16.0
    U = _sphere.random_point(np.random.default_rng(seed), n, d)

    def fg(x):
        return _objectives._smooth_value_grad(x, n, d, "max", q, 0.0)

    ours, f_ours, _ = _lbfgs.lbfgs(fg, U.ravel(), 2000, gtol=1e-10, ftol=0.0)
    ref = minimize(fg, U.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "gtol": 1e-10, "ftol": 0.0, "maxcor": 20})
    assert f_ours == pytest.approx(ref.fun, abs=1e-9)
    # a stationary point on the product of spheres (the gradient is tangent to the rows)
    assert np.max(np.abs(fg(ours)[1])) < 1e-6


def test_lbfgs_is_deterministic(monkeypatch):
    monkeypatch.setattr(_stages, "_OWN_LBFGS", True)
    n, d = 10, 3
    U = _sphere.random_point(np.random.default_rng(3), n, d)
    a = _stages._lbfgs(U, "max", 64.0, 0.0, 100)
    b = _stages._lbfgs(U, "max", 64.0, 0.0, 100)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert 0 < a[1] <= 100 and np.allclose(np.linalg.norm(a[0], axis=1), 1.0)


def test_hopeless_compares_with_the_brute_force_coherence():
    U = _sphere.random_point(np.random.default_rng(4), 9, 3)
    mu = float(np.abs(brute_force_cosines(U)).max())
    q = 256.0
    assert _stages.hopeless(U, q, mu / (1 + 2.5 / q))  # above the slack: dropped
    assert not _stages.hopeless(U, q, mu / (1 + 1.5 / q))  # within the slack: kept
    assert not _stages.hopeless(U, 64.0, 0.0)  # too soft a stage to judge
    assert not _stages.hopeless(U, q, math.inf)


def test_smooth_descent_drops_a_start_behind_the_incumbent():
    U = _sphere.random_point(np.random.default_rng(5), 16, 3)
    schedule = [32.0, 256.0, 2048.0]
    full, its_full = _stages.smooth_descent(U, math.inf, 50, schedule)
    dropped, its = _stages.smooth_descent(U, math.inf, 50, schedule, give_up=0.1)  # far below any 16 lines
    assert its < its_full
    # no incumbent to beat: the same descent as without give_up
    same, its_same = _stages.smooth_descent(U, math.inf, 50, schedule, give_up=math.inf)
    assert its_same == its_full and np.array_equal(same, full)


@pytest.mark.parametrize("n, d", [(9, 3), (14, 4)])
def test_search_reproducible_for_seed_and_restarts(monkeypatch, n, d):
    """Our L-BFGS and dropping starts (opt-in) depend on start and incumbent only: same seed, same result."""
    monkeypatch.setattr(_stages, "_OWN_LBFGS", True)
    monkeypatch.setattr(driver, "_DROP_STARTS", True)
    a = optimize_packing(n, d, rng=11, restarts=8)
    b = optimize_packing(n, d, rng=11, restarts=8)
    assert np.array_equal(a.W, b.W) and a.history == b.history and a.iterations == b.iterations
    assert a.coherence == pytest.approx(float(np.abs(brute_force_cosines(a.W)).max()), abs=1e-15)
