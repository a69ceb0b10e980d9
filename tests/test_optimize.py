"""optimize_packing: exact cases, constructions vs defining properties, gradients vs finite differences."""

import math

import numpy as np
import pytest
from helpers import brute_force_cosines, random_rotation
from hypothesis import given
from hypothesis import strategies as st

from packing import (
    PackingResult,
    frame_potential,
    icosahedron_lines,
    interference_moment,
    known_optimum,
    optimize_packing,
    packing_objective,
    polish_coherence,
)
from packing.optimize import _objectives, _sphere, _stages, driver


def coherence_bf(W):
    return float(np.abs(brute_force_cosines(W)).max())


@pytest.mark.parametrize("n, d", [(1, 1), (1, 4), (3, 3), (4, 6), (12, 12)])
def test_n_at_most_d_is_orthonormal(n, d):
    res = optimize_packing(n, d, p=np.inf)
    assert res.stopping_reason == "exact" and res.coherence == 0.0 and res.gap == 0.0
    assert np.allclose(res.W @ res.W.T, np.eye(n), atol=0)
    assert optimize_packing(n, d, p=1.5).objective == 0.0


@pytest.mark.parametrize("n", [2, 3, 5, 8, 12])
def test_d2_lines_at_angle_pi_over_n(n):
    res = optimize_packing(n, 2)
    angles = np.sort(np.mod(np.arctan2(res.W[:, 1], res.W[:, 0]), np.pi))
    assert np.allclose(np.diff(angles), np.pi / n, atol=1e-13)
    assert coherence_bf(res.W) == pytest.approx(math.cos(math.pi / n), abs=1e-13)
    assert res.gap <= 1e-13


def test_d1_all_lines_coincide():
    res = optimize_packing(5, 1, p=3.0)
    assert res.coherence == 1.0 and res.objective == 10.0 and res.gap == 0.0


@pytest.mark.parametrize("d", [3, 4, 5, 6])
def test_simplex_comes_out_exactly(d):
    res = optimize_packing(d + 1, d, rng=0, budget=5)
    assert coherence_bf(res.W) == pytest.approx(1 / d, abs=1e-12)
    # defining property: all pairs equiangular
    assert np.ptp(np.abs(brute_force_cosines(res.W))) < 1e-11
    assert res.stopping_reason == "lower_bound"


@pytest.mark.parametrize("n, d, mu", [(6, 3, 1 / math.sqrt(5)), (10, 5, 1 / 3), (16, 6, 1 / 3)])
def test_equiangular_tight_frames(n, d, mu):
    # best of up to four seeds (a searched object); stop at the first exact hit. A restart count, not a
    # wall-clock budget, so that the amount of search does not depend on the load of the machine
    best = np.inf
    for seed in range(4):
        best = min(best, coherence_bf(optimize_packing(n, d, rng=seed, restarts=8).W))
        if abs(best - mu) <= 1e-12:
            break
    assert best == pytest.approx(mu, abs=1e-12)


def test_small_records_best_of_seeds():
    # Sloane's table: 8, 9, 10 lines in R^3
    for n, record in [(8, 0.6475889787), (9, 0.6693623193), (10, 0.6861406616)]:
        best = np.inf
        for seed in range(3):  # best of up to three seeds
            best = min(best, coherence_bf(optimize_packing(n, 3, rng=seed, restarts=4).W))
            if abs(best - record) < 1e-9:
                break
        assert abs(best - record) < 1e-9


def test_result_is_consistent_with_its_packing():
    res = optimize_packing(9, 4, rng=1, restarts=3)
    assert isinstance(res, PackingResult) and res.W.shape == (9, 4)
    assert np.allclose(np.linalg.norm(res.W, axis=1), 1.0)
    assert res.objective == pytest.approx(coherence_bf(res.W), abs=1e-15)
    assert res.lower_bound <= res.objective and res.gap == pytest.approx(res.objective - res.lower_bound)
    assert res.restarts == 3 and len(res.history) == 3 and res.stopping_reason == "restarts"
    assert all(a >= b for a, b in zip(res.history, res.history[1:], strict=False))
    assert "PackingResult(n=9, d=4" in repr(res)


def test_deterministic_and_continuable():
    a = optimize_packing(11, 3, rng=5, restarts=2)
    b = optimize_packing(11, 3, rng=5, restarts=2)
    assert np.array_equal(a.W, b.W)
    c = optimize_packing(11, 3, rng=6, restarts=2, init=a)
    assert c.restarts == 4 and c.objective <= a.objective and c.history[:2] == a.history
    assert c.time >= a.time and c.iterations > a.iterations


def test_finite_p2_reaches_tight_frame_bound():
    # Benedetto-Fickus: sum_{i<j} cos^2 >= (n^2/d - n)/2, equality for tight frames
    for n, d in [(7, 3), (10, 4)]:
        res = optimize_packing(n, d, p=2, rng=0, restarts=2)
        assert res.objective == pytest.approx((n * n / d - n) / 2, abs=1e-9)
        assert frame_potential(res.W) == pytest.approx(n + 2 * res.objective, abs=1e-8)
        assert res.gap < 1e-9


@pytest.mark.parametrize("p", [0.5, 1.0, 3.0, 8.0])
def test_finite_p_objective_and_bound(p):
    n, d = 8, 3
    res = optimize_packing(n, d, p=p, rng=0, restarts=3)
    assert res.objective == pytest.approx(np.sum(np.abs(brute_force_cosines(res.W)) ** p), rel=1e-12)
    assert res.objective >= res.lower_bound - 1e-12
    # never worse than the structured starts and a random packing
    rng = np.random.default_rng(0)
    assert res.objective <= packing_objective(np.eye(d)[np.arange(n) % d], p) + 1e-12
    assert res.objective <= packing_objective(rng.normal(size=(n, d)), p)


def test_small_p_prefers_repeated_bases():
    # p -> 0 counts nonzero pairs; 6 lines in R^3 as two copies of an orthonormal basis leave 3 nonzero pairs
    res = optimize_packing(6, 3, p=0.1, rng=0, restarts=2)
    assert res.objective <= 3.0 + 1e-9


@given(
    st.integers(2, 7), st.integers(2, 4), st.sampled_from([("max", 32.0), ("pot", 3.0), ("pot", 1.5)]),
    st.integers(0, 2**32 - 1),
)
def test_smooth_gradient_matches_finite_differences(n, d, kind_q, seed):
    kind, q = kind_q
    eps = 1e-2 if kind == "pot" else 0.0
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n * d)
    f0, g = _objectives._smooth_value_grad(x, n, d, kind, q, eps)
    v = rng.normal(size=n * d)
    h = 1e-6
    fd = (_objectives._smooth_value_grad(x + h * v, n, d, kind, q, eps)[0]
          - _objectives._smooth_value_grad(x - h * v, n, d, kind, q, eps)[0]) / (2 * h)
    assert fd == pytest.approx(g @ v, rel=1e-4, abs=1e-6)


def test_smooth_values_match_definitions():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 3))
    c = brute_force_cosines(X)
    val, _ = _objectives._smooth_value_grad(X.ravel(), 6, 3, "max", 16.0, 0.0)
    assert val == pytest.approx(math.log(np.sum((c**2) ** 16)) / 16, rel=1e-12)
    val, _ = _objectives._smooth_value_grad(X.ravel(), 6, 3, "pot", 3.0, 0.1)
    assert val == pytest.approx(np.sum((c**2 + 0.01) ** 1.5), rel=1e-12)


@pytest.mark.parametrize("kind, q, eps", [("max", 16.0, 0.0), ("max", 2048.0, 0.0), ("pot", 3.0, 0.1)])
def test_smooth_surrogate_is_scale_invariant_across_its_two_normalizations(kind, q, eps):
    # rows of ordinary size take the inlined normalization, rows of norm ~1e-160 (squares below 1e-290)
    # the careful one (packing._rows): a function of the directions only, so the two agree on the value
    # and the gradient scales by 1/s (the chain rule of x -> s x), rows of mixed sizes included
    rng = np.random.default_rng(5)
    x = rng.normal(size=(7, 4)) * rng.uniform(0.1, 10.0, size=(7, 1))
    s = 1e-160
    val, grad = _objectives._smooth_value_grad(x.ravel(), 7, 4, kind, q, eps)
    val_s, grad_s = _objectives._smooth_value_grad((s * x).ravel(), 7, 4, kind, q, eps)
    assert val_s == pytest.approx(val, rel=1e-13)
    np.testing.assert_allclose(grad_s * s, grad, rtol=1e-10, atol=1e-12 * np.abs(grad).max())


@given(st.integers(2, 7), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_sphere_maps_match_their_definitions(n, d, seed):
    # the one copy of the sphere geometry the three solvers share, checked against direct computation
    rng = np.random.default_rng(seed)
    U = _sphere.unit(rng.normal(size=(n, d)))
    V = rng.normal(size=(n, d))
    I, J = np.triu_indices(n, 1)
    s = rng.choice([-1.0, 1.0], size=I.size)
    # tangent bases: orthonormal columns orthogonal to each row
    B = _sphere.tangent_basis(U)
    assert B.shape == (n, d, d - 1)
    assert np.allclose(np.einsum("ida,idb->iab", B, B), np.eye(d - 1), atol=1e-12)
    assert np.allclose(np.einsum("ida,id->ia", B, U), 0.0, atol=1e-12)
    # pair cosine Jacobian in tangent coordinates: the directional derivative of s_k <u_i, u_j> along
    # U + h B y, by central differences (bilinear in the step, so exact up to rounding)
    Y = rng.normal(size=(n, d - 1))
    rows, cols, vals = _sphere.pair_cosine_jacobian(U, B, I, J, s)
    A = np.zeros((I.size, n * (d - 1)))
    np.add.at(A, (rows, cols), vals)
    h = 1e-3
    f = lambda X: s * np.einsum("ij,ij->i", X[I], X[J])  # noqa: E731
    step = _sphere.tangent_step(B, Y)
    assert np.allclose(step, np.einsum("ida,ia->id", B, Y), atol=1e-14)
    assert np.allclose(A @ Y.ravel(), (f(U + h * step) - f(U - h * step)) / (2 * h), atol=1e-9)
    # tangent projection: orthogonal to each row, idempotent, and the tangent bases span its range
    P = _sphere.project(U, V)
    assert np.allclose(np.sum(U * P, axis=1), 0.0, atol=1e-12)
    assert np.allclose(_sphere.project(U, P), P, atol=1e-12)
    assert np.allclose(_sphere.tangent_step(B, np.einsum("ida,id->ia", B, P)), P, atol=1e-12)
    # retraction: back on the sphere, and a first-order move along tangent steps
    R = _sphere.retract(U, 1e-4 * P)
    assert np.allclose(np.linalg.norm(R, axis=1), 1.0, atol=1e-14)
    assert np.allclose(R, U + 1e-4 * P, atol=1e-7)


def test_exact_cells_come_from_the_registry_as_private_copies():
    res = optimize_packing(5, 2)
    entry = known_optimum(5, 2)
    assert np.array_equal(res.W, entry.build()) and res.coherence == pytest.approx(entry.coherence, abs=1e-15)
    res.W[:] = 0.0  # the caller owns its copy; the registry's packing is untouched
    assert np.array_equal(entry.build(), known_optimum(5, 2).build()) and entry.build()[0, 0] == 1.0
    # simplex and ETF cells are in the registry too, but the optimizer searches them
    assert known_optimum(4, 3).name == "simplex" and known_optimum(6, 3).name == "equiangular tight frame"
    assert optimize_packing(4, 3, rng=0, restarts=1).stopping_reason != "exact"
    assert optimize_packing(6, 3, rng=0, restarts=1).stopping_reason != "exact"


def test_polish_never_worse_and_invariant_under_rotation():
    rng = np.random.default_rng(4)
    for n, d in [(7, 3), (9, 4)]:
        W0 = rng.normal(size=(n, d))
        W, _ = polish_coherence(W0)
        assert coherence_bf(W) <= coherence_bf(W0) + 1e-15
        Q = random_rotation(d, rng)
        W2, _ = polish_coherence(W @ Q)
        assert coherence_bf(W2) <= coherence_bf(W) + 1e-12


def test_keyboard_interrupt_returns_best_so_far(monkeypatch):
    calls = {"k": 0}
    real = _stages.smooth_descent

    def flaky(U, p, maxiter, schedule=None, deadline=math.inf, **kwargs):
        calls["k"] += 1
        if calls["k"] == 3:
            raise KeyboardInterrupt
        return real(U, p, maxiter, schedule, deadline, **kwargs)

    monkeypatch.setattr(driver, "smooth_descent", flaky)
    res = optimize_packing(8, 3, rng=0, restarts=10)
    assert res.stopping_reason == "interrupted" and res.restarts == 2
    assert res.coherence == pytest.approx(coherence_bf(res.W)) and res.coherence < 0.7
    calls["k"] = 2
    res = optimize_packing(8, 3, rng=0, restarts=10)  # interrupted before any restart finished
    assert res.stopping_reason == "interrupted" and res.W.shape == (8, 3)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        (dict(n=0, d=3), ValueError, "n must be >= 1"),
        (dict(n=4, d=0), ValueError, "d must be >= 1"),
        (dict(n=4.0, d=3), TypeError, "n must be an integer"),
        (dict(n=4, d="3"), TypeError, "d must be an integer"),
        (dict(n=4, d=3, p=0), ValueError, "p must be > 0"),
        (dict(n=4, d=3, p=-2), ValueError, "p must be > 0"),
        (dict(n=4, d=3, budget=0), ValueError, "budget must be > 0"),
        (dict(n=4, d=3, restarts=0), ValueError, "restarts must be >= 1"),
        (dict(n=4, d=3, method="newton"), ValueError, "method must be one of"),
        (dict(n=4, d=3, init=np.ones((3, 3))), ValueError, r"init must have shape \(n, d\) = \(4, 3\)"),
        (dict(n=4, d=3, init=np.zeros((4, 3))), ValueError, "init must have nonzero rows"),
        (dict(n=4, d=3, rng="seed"), TypeError, "rng must be None"),
        (dict(n=4, d=3, method=3), ValueError, "method must be one of 'auto', 'smooth', 'ap'; got int 3"),
        (dict(n=4, d=3, polish="yes"), TypeError, "polish must be True or False; got str 'yes'"),
        (dict(n=4, d=3, hop=1.5), ValueError, "hop must be <= 1.0; got 1.5"),
        (dict(n=4, d=3, tol=-1), ValueError, "tol must be >= 0.0; got -1.0"),
        (dict(n=4, d=3, max_iter=0), ValueError, "max_iter must be >= 1; got 0"),
    ],
)
def test_bad_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        optimize_packing(**kwargs)


def test_cannot_continue_a_different_problem():
    prev = optimize_packing(5, 3, rng=0, restarts=1)
    with pytest.raises(ValueError, match="cannot continue it"):
        optimize_packing(6, 3, init=prev)
    with pytest.raises(ValueError, match="W must have nonzero rows"):
        polish_coherence(np.zeros((2, 2)))  # a zero row has no direction to polish


@given(
    st.integers(1, 7), st.integers(1, 4), st.sampled_from([0.5, 1.0, 2.0, 3.0, np.inf]),
    st.sampled_from([np.float64, np.float32]), st.integers(0, 2**32 - 1),
)
def test_objective_counts_zero_rows_as_orthogonal(n, d, p, dtype, seed):
    # one zero-row policy: packing_objective is interference_moment on every input, and both equal the
    # brute-force sum over the pairs of nonzero rows (a zero row is orthogonal to everything)
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    W[rng.random(n) < 0.4] = 0.0
    W = W.astype(dtype)
    c = np.abs(brute_force_cosines(W))  # 0 for every pair with a zero row
    expected = (c.max() if c.size else 0.0) if math.isinf(p) else float(np.sum(c**p))
    value = packing_objective(W, p)
    assert value == interference_moment(W, p)
    assert value == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12, abs=1e-6)


def test_benchmark_runs_on_unseen_cells(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_packings.py"
    spec = importlib.util.spec_from_file_location("bench_packings", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cells = tmp_path / "cells.csv"
    cells.write_text("d,n,max_abs_cos\n7,9,\n2,5,0.8090169944\n4,5,0.25\n")
    out = bench.main(["--cells", str(cells), "--budget", "0.2", "--out", str(tmp_path / "r.csv")])
    assert out["cells"] == 3 and len(out["rows"]) == 3
    assert out["within_1e-6"] == 1.0  # the pentagon lines (exact) and the simplex
    assert "summary: 3 cells" in capsys.readouterr().out
    assert (tmp_path / "r.csv").read_text().startswith("d,n,record,ours")
    with pytest.raises(SystemExit):
        bench.main(["--cells", str(cells), "--budget", "0"])
    W = np.random.default_rng(0).normal(size=(6, 3))
    assert float(bench.high_precision_coherence(W)) == pytest.approx(coherence_bf(W), abs=1e-15)


@pytest.mark.parametrize("p, method", [(np.inf, "auto"), (1.5, "smooth")])
def test_draws_only_from_the_given_generator(p, method):
    # a Generator is drawn from as is (the same stream as its seed), and nothing else is drawn from:
    # the legacy global state is neither read (results do not depend on it) nor advanced
    saved = np.random.get_state()  # noqa: NPY002
    try:
        gen = np.random.default_rng(5)
        np.random.seed(1)  # noqa: NPY002
        a = optimize_packing(9, 3, p=p, method=method, rng=gen, restarts=4)
        np.random.seed(2)  # noqa: NPY002
        before = np.random.get_state()[1].copy()  # noqa: NPY002
        b = optimize_packing(9, 3, p=p, method=method, rng=5, restarts=4)
        assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    assert np.array_equal(a.W, b.W) and a.history == b.history
    assert gen.bit_generator.state != np.random.default_rng(5).bit_generator.state


def test_restarts_alone_are_independent_of_the_clock(monkeypatch):
    # with restarts= and no budget no stage may look at the clock: a clock that jumps 1000 s per reading
    # (every deadline long passed) must not change the result
    a = optimize_packing(14, 4, rng=3, restarts=5)
    jumps = iter(range(0, 10**9, 1000))
    monkeypatch.setattr(driver.time, "perf_counter", lambda: float(next(jumps)))
    monkeypatch.setattr(_stages.time, "perf_counter", lambda: float(next(jumps)))
    monkeypatch.setitem(driver._CLOCKS, "wall", lambda: float(next(jumps)))
    b = optimize_packing(14, 4, rng=3, restarts=5)
    assert np.array_equal(a.W, b.W) and a.history == b.history and b.stopping_reason == "restarts"
    # a budget, by contrast, is a deadline: the same jumping clock stops the search after one restart
    c = optimize_packing(14, 4, rng=3, restarts=5, budget=1.0)
    assert c.restarts == 1 and c.stopping_reason == "budget"


def test_process_clock_budget():
    res = optimize_packing(9, 3, rng=0, budget=0.3, clock="process")
    assert res.stopping_reason in ("budget", "lower_bound") and res.restarts >= 1
    with pytest.raises(ValueError, match="clock must be one of 'wall', 'process'; got 'gpu'"):
        optimize_packing(9, 3, clock="gpu")


def test_seeds_from_neighbouring_cells_are_adapted():
    # a packing of 16 lines in R^4 thinned to 15, one of 14 completed to 15, one of R^5 projected and one
    # of R^3 embedded: each becomes a start of the right shape, and every seeded search returns unit rows
    rng = np.random.default_rng(0)
    for shape in [(16, 4), (14, 4), (15, 5), (15, 3)]:
        W = rng.normal(size=shape)
        res = optimize_packing(15, 4, rng=1, restarts=1, seeds=[W], structured=False, hop=0.0)
        assert res.W.shape == (15, 4) and np.allclose(np.linalg.norm(res.W, axis=1), 1.0)
    # the adaptations themselves
    from packing.optimize import _seeds

    U = _sphere.unit(rng.normal(size=(10, 5)))
    assert _seeds.adapt_packing(U, 8, 5, rng).shape == (8, 5)
    assert _seeds.adapt_packing(U, 12, 5, rng).shape == (12, 5)
    assert _seeds.adapt_packing(U, 10, 4, rng).shape == (10, 4)
    assert _seeds.adapt_packing(U, 10, 6, rng).shape == (10, 6)
    # dropping the line of the icosahedron lines that is in the most pairs at the max keeps 1/sqrt(5)
    ico = _seeds.drop_lines(_sphere.unit(icosahedron_lines()), 1)
    assert coherence_bf(ico) == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    # an added line is the farthest of its candidates: never worse than a random one on average
    added = _seeds.add_lines(ico, 1, np.random.default_rng(1))
    assert np.allclose(added[:5], ico) and coherence_bf(added) < 0.9


def test_root_system_seeds_are_the_root_systems():
    # E6, E7, E8: 36, 63, 120 lines with |cos| in {0, 1/2} (checked by brute force), and the structured
    # start of 100 lines in R^8 reaches 0.5 (a subset of the E8 lines) in one restart
    from packing.optimize import _seeds

    for name, count, dim in [("E6", 36, 6), ("E7", 63, 7), ("E8", 120, 8)]:
        V = _seeds._root_lines(name)
        c = np.abs(brute_force_cosines(V))
        assert V.shape == (count, dim)
        assert np.all(np.isclose(c, 0.0, atol=1e-12) | np.isclose(c, 0.5, atol=1e-12))
    # the subset is taken as it is (exactly 0.5), not blurred by a local search
    res = optimize_packing(100, 8, rng=0, restarts=1)
    assert res.coherence == pytest.approx(0.5, abs=1e-15)


def test_neighbour_seed_reaches_random_start_quality():
    # 13 lines in R^3 (record 0.7681373763, Sloane): one start from the best of 14 lines thinned to 13 is
    # at least as good as the median of five random single starts. Not always: the 14-line record
    # (0.7806221928, which the default table_seeds=True reaches from the table's neighbours) thins to a
    # start that ends at 0.7701644 in one restart
    W14 = optimize_packing(14, 3, rng=0, restarts=6, table_seeds=False).W
    seeded = optimize_packing(13, 3, rng=1, restarts=1, seeds=[W14], hop=0.0, structured=False).coherence
    random = [optimize_packing(13, 3, rng=10 + k, restarts=1, structured=False).coherence for k in range(5)]
    assert seeded <= float(np.median(random)) + 1e-9


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        (dict(seeds=np.eye(3)), TypeError, r"seeds must be a sequence of packings .*Pass seeds=\[W\]"),
        (dict(seeds=5), TypeError, "seeds must be a sequence of packings"),
        (dict(seeds=[np.zeros((3, 3))]), ValueError, r"seeds\[0\] must have nonzero rows"),
        (dict(seeds=[np.eye(3), [1.0, 2.0]]), ValueError, r"seeds\[1\] must be 2-D"),
        (dict(seeds=[np.ones((2, 2, 2))]), ValueError, r"seeds\[0\] must be 2-D"),
        (dict(seeds=[[[1.0, np.inf], [0.0, 1.0]]]), ValueError, r"seeds\[0\] must be finite"),
        (dict(structured="yes"), TypeError, "structured must be True or False"),
        (dict(table_seeds=1), TypeError, "table_seeds must be True or False"),
        (dict(clock=None), ValueError, "clock must be one of"),
    ],
)
def test_bad_seed_and_clock_input(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        optimize_packing(4, 3, **kwargs)


def test_kicks_start_from_the_incumbent_with_a_random_schedule(monkeypatch):
    # the regression of a827b3e: kicks that restarted at a sharp smoothing (q0 = 8/σ) from one of four
    # elites stayed in their basins and missed (3, 23), (3, 31), (5, 23) at 15 s. Every kick now starts
    # near the incumbent of its moment and descends from a random schedule (q0 None), like a fresh start
    seen = []
    original = driver._local_search

    def spy(U, q0, state, cfg, rng, deadline, floor, *rest):
        seen.append((U.copy(), q0, None if state.best is None else state.best.copy()))
        return original(U, q0, state, cfg, rng, deadline, floor, *rest)

    monkeypatch.setattr(driver, "_local_search", spy)
    optimize_packing(9, 3, rng=2, restarts=12, hop=1.0, structured=False)
    assert len(seen) == 12 and all(q0 is None for _, q0, _ in seen)
    # with hop=1 every start after the first is a kick: most rows stay within the largest kick (0.3 per
    # coordinate) of the incumbent (a quarter of the kicks redraw 1-3 lines)
    for U, _, best in seen[1:]:
        near = np.linalg.norm(U - best, axis=1) < 0.3 * 3 * math.sqrt(3)
        assert near.sum() >= 9 - 3


def test_same_seed_and_restarts_same_packing_in_any_process():
    # reproducible for a seed and a restart count: twice here, and in two sweep worker processes
    import tempfile

    from packing.sweep import load_cell, sweep

    a = optimize_packing(11, 4, rng=7, restarts=4)
    b = optimize_packing(11, 4, rng=7, restarts=4)
    assert np.array_equal(a.W, b.W) and a.history == b.history
    with tempfile.TemporaryDirectory() as cache:
        grid = [{"n": 11, "d": 4, "restarts": 4}, {"n": 12, "d": 4, "restarts": 4}]
        table = sweep("optimize_packing", grid, seeds=[7], cache_dir=cache, n_jobs=2, progress=False)
        cell = load_cell(table["path"][0]).result
    assert np.array_equal(cell.W, a.W) and cell.history == a.history


def test_portfolio_draws_each_kind_of_start_by_its_success_rate():
    # hop="portfolio": fresh starts, kicks and sharp kicks each get 0.1 plus 0.7 times their share of the
    # success rates (one success and one failure of prior each); a float hop keeps the old two kinds
    state = driver._Search()
    assert state.start_probabilities(0.3) == {"kick": 0.3, "fresh": 0.7, "sharp": 0.0}
    assert all(math.isclose(v, 1 / 3) for v in state.start_probabilities("portfolio").values())
    state.tried.update(kick=8, fresh=8, sharp=8)
    state.won.update(kick=4, fresh=0, sharp=0)
    probs = state.start_probabilities("portfolio")  # rates 5/10, 1/10, 1/10
    assert math.isclose(probs["kick"], 0.1 + 0.7 * 5 / 7) and math.isclose(probs["fresh"], 0.1 + 0.7 / 7)
    assert math.isclose(sum(probs.values()), 1.0)


def test_portfolio_counts_starts_by_kind_and_is_reproducible(monkeypatch):
    seen = []
    original = driver._next_start

    def spy(queue, state, cfg, rng):
        out = original(queue, state, cfg, rng)
        seen.append((out[2], out[1], dict(state.tried), dict(state.won)))
        return out

    monkeypatch.setattr(driver, "_next_start", spy)
    a = optimize_packing(12, 3, rng=3, restarts=12, hop="portfolio", structured=False)
    kinds = [k for k, _, _, _ in seen]
    assert kinds[0] == "fresh" and set(kinds) <= {"fresh", "kick", "sharp"} and len(set(kinds)) >= 2
    # sharp kicks descend from the sharp smoothing, the others from a random schedule
    assert all((q0 == driver._SEED_Q) == (k == "sharp") for k, q0, _, _ in seen)
    # before each start the counts hold exactly the earlier starts of each kind
    for i, (_, _, tried, won) in enumerate(seen):
        assert tried == {k: kinds[:i].count(k) for k in driver._KINDS}
        assert all(0 <= won[k] <= tried[k] for k in tried)
    monkeypatch.setattr(driver, "_next_start", original)
    b = optimize_packing(12, 3, rng=3, restarts=12, hop="portfolio", structured=False)
    assert np.array_equal(a.W, b.W) and a.history == b.history


def test_a_huge_finite_p_finds_the_coherence_optimum_like_p_inf():
    # max|c|**p <= sum|c|**p <= pairs * mu**p, so a minimizer of the p-potential has coherence at most
    # mu * pairs**(1/p), mu the best coherence: for p = 1e15 the same packing as p = inf. A start descended
    # at q = p/2 directly stalled (coherence 0.448, 0.498 for 9 lines in R^4 at p = 1e4, 1e15, rng 0);
    # through the p = inf continuation it is within 1e-5 of that bound (no LP polish for finite p)
    best = optimize_packing(9, 4, p=np.inf, restarts=3, rng=0, progress=False).coherence
    for p in (1e4, 1e15, 1e300):
        res = optimize_packing(9, 4, p=p, restarts=3, rng=0, progress=False)
        assert res.coherence <= best * 36 ** (1 / p) + 1e-5, (p, res.coherence, best)
        assert res.coherence == pytest.approx(coherence_bf(res.W), abs=1e-12)


def _recorded_starts(monkeypatch):
    """Record the (start, q0) of every local search of the driver (the queued starts and the rest)."""
    from packing.optimize import driver

    seen = []
    real = driver._local_search

    def spy(U, q0, *args, **kwargs):
        seen.append((np.array(U, copy=True), q0))
        return real(U, q0, *args, **kwargs)

    monkeypatch.setattr(driver, "_local_search", spy)
    return seen


def test_table_neighbours_are_started_from_and_the_cells_own_entry_never(monkeypatch):
    from packing import best_found
    from packing.optimize import _seeds, driver

    n, d = 13, 4
    assert best_found(n, d) is not None and best_found(n + 1, d) is not None  # both cells are shipped
    asked = []
    real_entry = driver._table_entry

    def entry(m, k):
        asked.append((m, k))
        return real_entry(m, k)

    monkeypatch.setattr(driver, "_table_entry", entry)
    seen = _recorded_starts(monkeypatch)
    optimize_packing(n, d, rng=0, restarts=6, table_seeds=False)
    assert asked == []  # table_seeds=False never reads the table
    optimize_packing(n, d, rng=0, restarts=6)  # the default reads the four neighbours
    assert sorted(asked) == sorted([(n + 1, d), (n - 1, d), (n, d + 1), (n, d - 1)])
    # the (n + 1, d) entry thinned to n lines (drop_lines draws nothing) is a start, from the sharp q
    thinned = _seeds.drop_lines(_sphere.unit(best_found(n + 1, d).W), 1)
    assert any(np.array_equal(U, thinned) and q0 == driver._SEED_Q for U, q0 in seen)
    own = _sphere.unit(best_found(n, d).W)
    assert not any(np.allclose(U, own, atol=1e-9) for U, _ in seen)
    # no table starts without structured=True, for finite p, or when a result is continued
    for kwargs in (dict(structured=False), dict(p=4.0), dict(init=optimize_packing(n, d, rng=0, restarts=1))):
        asked.clear()
        optimize_packing(n, d, rng=0, restarts=2, table_seeds=True, **kwargs)
        assert asked == [], kwargs


def test_table_neighbour_is_not_repeated_when_passed_as_a_seed(monkeypatch):
    from packing import best_found
    from packing.optimize import driver

    seen = _recorded_starts(monkeypatch)
    n, d = 13, 4
    # the four neighbours are shipped; passing one of them as a seed does not start from it twice
    assert len(driver.table_neighbours(n, d)) == 4
    optimize_packing(n, d, rng=0, restarts=1, structured=False)
    base = len(seen)
    seen.clear()
    res = optimize_packing(n, d, rng=0, restarts=8, hop=0.0, table_seeds=True)  # 8: every queued start
    queued_with = sum(q0 == driver._SEED_Q for _, q0 in seen)
    seen.clear()
    optimize_packing(n, d, rng=0, restarts=8, hop=0.0, seeds=[best_found(n + 1, d).W], table_seeds=True)
    queued_seeded = sum(q0 == driver._SEED_Q for _, q0 in seen)
    assert base == 1 and res.W.shape == (n, d)
    assert queued_seeded == queued_with  # the passed seed replaces the table's copy of it, not adds to it


def test_table_neighbours_keep_results_reproducible():
    # the same rng and restarts give the same packing and history, bit for bit, with the table's starts
    a = optimize_packing(21, 5, rng=4, restarts=7, table_seeds=True)
    b = optimize_packing(21, 5, rng=4, restarts=7, table_seeds=True)
    assert np.array_equal(a.W, b.W) and a.history == b.history and len(a.history) == 7


def test_queued_starts_do_not_set_the_polish_gate(monkeypatch):
    # a table start descended from a sharp smoothing gains far more from its polish than kicks and fresh
    # starts do; the gate of later polishes (state.max_gain) learns from the starts it gates only
    gains = []
    real = driver._local_search

    def spy(U, q0, state, cfg, rng, deadline, floor, queued=False):
        before = state.max_gain
        out = real(U, q0, state, cfg, rng, deadline, floor, queued)
        gains.append((queued, before, state.max_gain))
        return out

    monkeypatch.setattr(driver, "_local_search", spy)
    optimize_packing(13, 4, rng=0, restarts=30, table_seeds=False)
    assert not any(q for q, _, _ in gains)  # without the table's starts every start is gated, as before
    gains.clear()
    optimize_packing(13, 4, rng=0, restarts=30, table_seeds=True)
    assert any(q for q, _, _ in gains) and any(not q for q, _, _ in gains)
    assert all(after == before for q, before, after in gains if q)
    assert any(after > before for q, before, after in gains if not q)  # the gate learns from the others
