"""The LP polish: its warm-started LPs over the near-active pairs.

Checked against an independent computation: scipy's ``linprog`` on the full linear
programme (every pair, dense, no warm start).
"""

import math

import numpy as np
import pytest
from helpers import brute_force_cosines
from scipy.optimize import linprog

from packing.optimize import _stages
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


def test_equalize_keeps_its_input_when_the_least_squares_step_fails(monkeypatch):
    # LAPACK's SVD failed once inside a 30 s search at (6, 33): equalize must return a finite packing
    # no worse than its input, not raise; a non-finite step is refused the same way
    U = random_point(np.random.default_rng(0), 9, 3)
    mu = float(np.max(np.abs(brute_force_cosines(U))))

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge in Linear Least Squares")

    monkeypatch.setattr(_stages.np.linalg, "lstsq", fails)
    assert np.array_equal(_stages.equalize(U), U)
    monkeypatch.setattr(_stages.np.linalg, "lstsq", lambda A, b, rcond=None: (np.full(A.shape[1], np.nan),))
    V = _stages.equalize(U)
    assert np.all(np.isfinite(V)) and float(np.max(np.abs(brute_force_cosines(V)))) <= mu
