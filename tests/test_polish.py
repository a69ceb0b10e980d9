"""The LP polish: its warm-started LPs over the near-active pairs, and its early stop behind an incumbent.

Checked against independent computations: scipy's ``linprog`` on the full linear
programme (every pair, no warm start), brute-force coherences, and the polish run
without an incumbent.
"""

import math

import numpy as np
import pytest
from helpers import brute_force_cosines
from scipy.optimize import linprog

from packing import optimize_packing
from packing.optimize import _stages, driver
from packing.optimize._sphere import pair_cosine_jacobian, random_point, retract, tangent_basis, tangent_step


def _coherence(U):
    return float(np.abs(brute_force_cosines(U)).max())


def _full_lp_tau(U, r):
    """``min τ`` of one polish step over every pair (dense, scipy's HiGHS, no warm start)."""
    n, d = U.shape
    iu, ju = np.triu_indices(n, 1)
    c = np.einsum("kd,kd->k", U[iu], U[ju])
    mu = float(np.abs(c).max())
    s = np.where(c < 0.0, -1.0, 1.0)
    rows, cols, vals = pair_cosine_jacobian(U, tangent_basis(U), iu, ju, s)
    A = np.zeros((iu.size, n * (d - 1)))
    np.add.at(A, (rows, cols), vals)
    A = np.hstack([A, -np.ones((iu.size, 1))])
    cost = np.zeros(n * (d - 1) + 1)
    cost[-1] = 1.0
    bounds = [(-1.0, 1.0)] * (n * (d - 1)) + [(None, None)]
    res = linprog(cost, A_ub=A, b_ub=(mu - s * c) / r, bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun, res.x


@pytest.mark.parametrize("n, d, seed", [(9, 3, 0), (14, 4, 1), (20, 5, 2)])
def test_near_active_warm_lp_equals_full_lp(n, d, seed):
    """The polish's LP (near-active rows only, warm-started) has the optimum of the LP over all pairs."""
    rng = np.random.default_rng(seed)
    U = random_point(rng, n, d)
    U, _ = _stages.smooth_descent(U, math.inf, 100, [16.0, 128.0])  # near a local optimum, as in the search
    iu, ju = np.triu_indices(n, 1)
    lp = _stages._WarmLP(n * (d - 1))
    for r in (1e-3, 5e-4, 2e-3):  # the second and third LP start from the previous optimal basis
        c = (U @ U.T)[iu, ju]
        mu = float(np.max(np.abs(c)))
        margin = min(mu, 4.0 * r * math.sqrt(d) + 1e-12)
        keys = lp.select(np.flatnonzero(np.abs(c) >= mu - margin))
        assert keys.size < iu.size  # a real subset of the pairs
        s = np.where(c[keys] < 0.0, -1.0, 1.0)
        B = tangent_basis(U)
        y, tau = lp.solve(pair_cosine_jacobian(U, B, iu[keys], ju[keys], s), (mu - s * c[keys]) / r)
        full_tau, _ = _full_lp_tau(U, r)
        assert tau == pytest.approx(full_tau, abs=1e-7)
        # the step is feasible for every pair of the full LP, not only the selected ones
        rows, cols, vals = pair_cosine_jacobian(U, B, iu, ju, np.where(c < 0.0, -1.0, 1.0))
        G = np.zeros((iu.size, n * (d - 1)))
        np.add.at(G, (rows, cols), vals)
        assert np.all(np.abs(c) + r * G @ y <= mu + r * tau + 1e-8)
        U = retract(U, tangent_step(B, r * y.reshape(n, d - 1)))


def test_polish_without_incumbent_is_the_plain_polish():
    U = random_point(np.random.default_rng(3), 16, 4)
    a, its_a = _stages.lp_polish(U, 40, 1e-3, 1e-13)
    b, its_b, behind = _stages.polish_run(U, 40, 1e-3, 1e-13, give_up=math.inf)
    assert np.array_equal(a, b) and its_a == its_b and not behind
    assert _coherence(a) <= _coherence(U)


def test_polish_stops_early_behind_an_incumbent_it_cannot_reach():
    U, _ = _stages.smooth_descent(random_point(np.random.default_rng(4), 24, 4), math.inf, 100, [16.0, 128.0])
    full, its_full, behind = _stages.polish_run(U, 60, 1e-3, 1e-13)
    assert not behind and its_full > _stages._CHECK_EVERY
    target = 0.9 * _coherence(full)  # 10% below where the full polish ends: out of reach
    cut, its_cut, behind = _stages.polish_run(U, 60, 1e-3, 1e-13, give_up=target)
    assert behind and its_cut == _stages._CHECK_EVERY < its_full
    # it is the full polish stopped after its first check: the same iterate, never worse than the start
    head, _ = _stages.lp_polish(U, _stages._CHECK_EVERY, 1e-3, 1e-13)
    assert np.array_equal(cut, head) and _coherence(cut) <= _coherence(U)
    # an incumbent the full polish beats: no early stop, the same result as without one
    same, its_same, behind = _stages.polish_run(U, 60, 1e-3, 1e-13, give_up=_coherence(U))
    assert not behind and its_same == its_full and np.array_equal(same, full)


def test_left_behind_extrapolates_the_last_drop():
    # at 0.50 after dropping 0.01 since the last check: reaches about 0.48 at best (factor 2)
    assert _stages._left_behind(0.50, 0.51, 0.47)
    assert not _stages._left_behind(0.50, 0.51, 0.49)
    assert _stages._left_behind(0.50, 0.50, 0.4999)  # stalled above the incumbent
    assert not _stages._left_behind(0.50, 0.60, 0.30 + 1e-9)  # 0.50 - 2 * 0.10 = 0.30


def test_search_with_early_polish_stop_is_reproducible():
    a = optimize_packing(14, 3, rng=5, restarts=8, structured=False, max_iter=100)
    b = optimize_packing(14, 3, rng=5, restarts=8, structured=False, max_iter=100)
    assert np.array_equal(a.W, b.W) and a.history == b.history and a.iterations == b.iterations
    assert a.coherence == pytest.approx(_coherence(a.W), abs=1e-15)


def test_only_starts_near_the_incumbent_are_equalized(monkeypatch):
    calls, incumbent = [], []
    original_search, original_equalize = driver._local_search, driver.equalize

    def search_spy(U, q0, state, *args):
        incumbent.append(state.best_obj)
        return original_search(U, q0, state, *args)

    def equalize_spy(U, *args, **kwargs):
        calls.append((_coherence(U), incumbent[-1]))
        return original_equalize(U, *args, **kwargs)

    monkeypatch.setattr(driver, "_local_search", search_spy)
    monkeypatch.setattr(driver, "equalize", equalize_spy)
    optimize_packing(14, 3, rng=1, restarts=10, structured=False, max_iter=100)
    assert 1 <= len(calls) < len(incumbent) == 10
    assert all(c <= best * (1 + driver._EQUALIZE_SLACK) + 1e-15 for c, best in calls)
