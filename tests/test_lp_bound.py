"""The Delsarte LP bound: certificates re-checked independently, compared with closed forms and records."""

import math
from fractions import Fraction

import numpy as np
import pytest
from helpers import brute_force_cosines
from scipy.special import eval_chebyt, eval_gegenbauer

import packing
from packing import LPBound, levenstein_bound, lower_bound, lp_bound, orthoplex_bound, welch_bound
from packing.bounds._lp import _certified_max, _poly_eval_exact, _zonal_polynomials


def _records():
    return [(e.d, e.n, e.coherence) for e in packing.best_known_table()]


def _zonal_scipy(k, d, x):
    """Q_k(x²) = C_{2k}^{(d-2)/2}(x) / C_{2k}^{(d-2)/2}(1) by scipy (Chebyshev T_2k for d = 2)."""
    if d == 2:
        return eval_chebyt(2 * k, x)
    lam = (d - 2) / 2
    return eval_gegenbauer(2 * k, lam, x) / eval_gegenbauer(2 * k, lam, 1.0)


CELLS = [(8, 3), (30, 3), (11, 4), (16, 5), (40, 5), (50, 7)]


@pytest.mark.parametrize("n, d", CELLS)
def test_certificate_checks_out_independently(n, d):
    info = lp_bound(n, d, return_info=True)
    assert isinstance(info, LPBound) and float(info) == info.value
    assert info.solver in {"CLARABEL", "HIGHS", "SCS"} and info.degree == 16
    f = np.array(info.coefficients)
    assert f[0] == 1.0 and np.all(f[1:] >= 0)
    # the shifted polynomial is <= 0 on [0, value] in x = cos, on a dense grid (scipy's Gegenbauer)
    x = np.linspace(0.0, info.value, 20001)
    values = sum(fk * _zonal_scipy(k, d, x) for k, fk in enumerate(f)) - info.shift
    assert values.max() <= 1e-9
    # and the Delsarte count is below n: fewer than n lines fit at this coherence
    bound = (f.sum() - info.shift) / (1.0 - info.shift)
    assert bound == pytest.approx(info.max_lines, rel=1e-9) and bound < n


def test_zonal_polynomials_are_exact_gegenbauer_and_positive_definite():
    rng = np.random.default_rng(0)
    for d in (2, 3, 5):
        Q = _zonal_polynomials(d, 5)
        x = np.linspace(-1, 1, 41)
        for k, q in enumerate(Q):
            mine = np.array([float(_poly_eval_exact(q, Fraction(float(v)) ** 2)) for v in x])
            assert np.allclose(mine, _zonal_scipy(k, d, x), atol=1e-12)
        # Schoenberg: sum_ij Q_k(<x_i, x_j>^2) >= 0 for any unit vectors (a PSD kernel)
        X = rng.normal(size=(30, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        G = X @ X.T
        for k in range(1, 6):
            K = _zonal_scipy(k, d, np.clip(G, -1, 1))
            assert np.linalg.eigvalsh(K).min() > -1e-9


def test_certified_max_is_an_upper_bound():
    rng = np.random.default_rng(1)
    for _ in range(5):
        c = rng.normal(size=7)
        grid = np.linspace(0, 0.75, 5001)
        c[0] += 0.1 - np.polynomial.polynomial.polyval(grid, c).max()  # max about 0.1 > 0
        coeffs = [Fraction(float(v)) for v in c]
        top = Fraction(3, 4)
        dense = max(float(_poly_eval_exact(coeffs, Fraction(float(t)))) for t in grid[::50])
        exact_dense = np.polynomial.polynomial.polyval(grid, c).max()
        bound = float(_certified_max(coeffs, top))
        assert bound >= exact_dense - 1e-12 and bound >= dense - 1e-12
        assert bound <= exact_dense + 1e-6


@pytest.mark.parametrize("n, d", [(5, 3), (8, 3), (12, 4), (30, 4), (40, 5), (60, 8)])
def test_at_least_as_strong_as_closed_forms(n, d):
    value = lp_bound(n, d)
    assert value >= welch_bound(n, d) * (1 - 1e-8)
    if n > d * (d + 1) // 2:
        assert value >= orthoplex_bound(n, d) * (1 - 1e-8)
        assert value >= levenstein_bound(n, d) * (1 - 1e-8)


def test_degree_two_is_the_welch_bound():
    # K = 1: f = 1 + f_1 Q_1 with Q_1(t) = (d t - 1)/(d - 1) gives n <= d (1 - mu^2)/(1 - d mu^2): Welch
    for n, d in [(5, 3), (10, 4), (12, 5)]:
        assert lp_bound(n, d, degree=2) == pytest.approx(welch_bound(n, d), rel=1e-7)


def test_tight_cases():
    assert lp_bound(6, 3) == pytest.approx(1 / math.sqrt(5), rel=1e-8)  # icosahedron lines (ETF)
    assert lp_bound(16, 6) == pytest.approx(1 / 3, rel=1e-8)  # ETF
    assert lp_bound(36, 6) == pytest.approx(0.5, rel=1e-8)  # Levenstein-tight
    assert lp_bound(3, 5) == 0.0 and lp_bound(4, 1) == 1.0


def test_never_exceeds_a_record():
    rows = _records()
    for d, n, mu in rows[::7] + [r for r in rows if r[0] == 3 and r[1] <= 10]:
        # records are rounded to 10 decimals
        assert lp_bound(n, d) <= mu + 1e-9, (d, n, mu)


def test_brute_force_packing_respects_bound():
    # a random packing can never beat a valid lower bound
    rng = np.random.default_rng(2)
    for n, d in [(8, 3), (11, 4)]:
        for _ in range(20):
            assert np.abs(brute_force_cosines(rng.normal(size=(n, d)))).max() >= lp_bound(n, d)


def test_solver_choice_is_reported_and_consistent():
    a = lp_bound(9, 3, solver="HIGHS", return_info=True)
    b = lp_bound(9, 3, return_info=True)
    assert a.solver == "HIGHS" and b.solver == "CLARABEL"
    assert a.value == pytest.approx(b.value, abs=1e-6)


def test_lower_bound_uses_lp_when_asked():
    lb, name = lower_bound(8, 3, lp=True, return_name=True)
    assert name == "lp" and lb == lp_bound(8, 3) > lower_bound(8, 3)
    assert lower_bound(6, 3, lp=True) == pytest.approx(1 / math.sqrt(5))


@pytest.mark.parametrize(
    "args, kwargs, exc, msg",
    [
        ((0, 3), {}, ValueError, "n must be >= 1"),
        ((5, 0), {}, ValueError, "d must be >= 1"),
        ((5.0, 3), {}, TypeError, "n must be an integer"),
        ((7, 3), {"degree": 3}, ValueError, "degree must be an even integer"),
        ((7, 3), {"degree": 0}, ValueError, "degree must be >= 2"),
        ((7, 3), {"solver": 3}, TypeError, "solver must be None or a cvxpy solver name"),
    ],
)
def test_bad_input(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        lp_bound(*args, **kwargs)
