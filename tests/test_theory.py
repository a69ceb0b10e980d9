"""packing.theory: expected loss against quadrature and the trainer, fits, the DP, phases, bad input."""

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

import packing
from packing import theory
from packing.theory._loss import psi, psi_antiderivative, psi_box
from packing.theory._predict import _Costs, _solve, default_shapes
from packing.theory._spread import spread_shapes

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- closed-form pieces
def _psi_quad(c, a, S):
    """ψ straight from its definition, by adaptive quadrature (kink passed as a break point)."""
    kink = [-c / a] if a > 0 and 0 < -c / a < 1 else None
    inner = integrate.quad(lambda x: (x - max(a * x + c, 0.0)) ** 2, 0, 1, points=kink, epsabs=1e-13)[0]
    return S * max(c, 0.0) ** 2 + (1 - S) * inner


@pytest.mark.parametrize("a", [0.0, 0.05, 0.5, 1.0, 1.7])
@pytest.mark.parametrize("S", [0.0, 0.6, 0.99])
def test_psi_matches_quadrature(a, S):
    for c in (-2.5, -1.0, -0.6, -0.3, -0.04, 0.0, 0.02, 0.4, 1.3):
        assert psi(c, a, S) == pytest.approx(_psi_quad(c, a, S), abs=1e-12)


@pytest.mark.parametrize("a, S", [(0.3, 0.2), (1.0, 0.9), (1.6, 0.0)])
def test_psi_antiderivative_and_box_match_quadrature(a, S):
    for c1, c2 in ((-3.0, -1.9), (-1.2, 0.4), (-0.2, -0.05), (0.1, 2.0)):
        exact = integrate.quad(lambda c: _psi_quad(c, a, S), c1, c2, points=[-a, 0.0], limit=200)[0]
        assert psi_antiderivative(c2, a, S) - psi_antiderivative(c1, a, S) == pytest.approx(exact, abs=1e-10)
    for b, g in ((-0.3, 0.8), (0.2, -1.5), (-1.0, 2.2), (0.05, 1e-9), (-0.4, -1e-8)):
        lo, hi = sorted((b, b + g))
        want = (
            integrate.quad(lambda c: _psi_quad(c, a, S), lo, hi, points=[-a, 0.0])[0] / abs(g)
            if abs(g) > 1e-6
            else _psi_quad(b + g / 2, a, S)
        )
        assert psi_box(b, g, a, S) == pytest.approx(want, abs=1e-9)


def _brute_loss(W, b, dens, imp, nodes=64):
    """E[Σ I_i (x_i − ReLU(x G + b)_i)²] by enumerating active sets and Gauss–Legendre per active coordinate.

    Independent of the code under test: no ψ, no grid. Panels of [0, 1] split at 1/2 keep the kink
    error small.
    """
    n = len(b)
    G = W @ W.T
    t, w = np.polynomial.legendre.leggauss(nodes)
    x1 = np.r_[(t + 1) / 4, (t + 3) / 4]
    w1 = np.r_[w, w] / 4
    total = 0.0
    for active in itertools.product([0, 1], repeat=n):
        A = [i for i in range(n) if active[i]]
        prob = np.prod([dens[i] if active[i] else 1 - dens[i] for i in range(n)])
        if prob == 0:
            continue
        if not A:
            total += prob * float(imp @ (np.maximum(b, 0) ** 2))
            continue
        grids = np.meshgrid(*([x1] * len(A)), indexing="ij")
        weights = np.prod(np.meshgrid(*([w1] * len(A)), indexing="ij"), axis=0).ravel()
        X = np.zeros((weights.size, n))
        for k, i in enumerate(A):
            X[:, i] = grids[k].ravel()
        out = np.maximum(X @ G + b, 0)
        total += prob * float(weights @ (((X - out) ** 2) @ imp))
    return total


@pytest.mark.parametrize("case", ["digon", "triangle"])
def test_expected_loss_matches_brute_force_integration(case):
    rng = np.random.default_rng(3)
    U = {"digon": packing.digon(), "triangle": packing.regular_polygon(3)}[case]
    W = U * rng.uniform(0.7, 1.3, size=(len(U), 1))
    b = rng.uniform(-0.4, 0.1, size=len(U))
    dens = rng.uniform(0.2, 0.9, size=len(U))
    imp = rng.uniform(0.5, 1.5, size=len(U))
    e = theory.expected_loss(W, b, density=dens[None], importance=imp, return_details=True)
    brute = _brute_loss(W, b, dens, imp, nodes=64)
    assert abs(float(e.loss[0]) - brute) <= float(e.error_bound[0]) + 1e-4 * brute
    assert e.error_bound[0] < 1e-5 * e.loss[0]


def test_rounded_term_spectra_match_their_closed_form():
    from packing.theory._loss import _term_spectra

    # Randomized rounding of g*u (u uniform) to the grid hZ has the transform
    # [(1+z)/2 (1-z^K)/(1-z) + z^K (f + (z-1) f^2/2)] / L, L = |g|/h = K + f, z = exp(-iw);
    # mirrored for g < 0.
    g = np.array([[0.37, -1.234, 2.0, 1e-9]])
    h, N = np.array([0.05]), 128
    w = 2 * np.pi * np.arange(N // 2 + 1) / N
    z = np.exp(-1j * w)
    for k, gk in enumerate(g[0]):
        L = abs(gk) / h[0]
        K, f = np.floor(L), L - np.floor(L)
        with np.errstate(invalid="ignore", divide="ignore"):
            geo = np.where(w > 0, (1 - z**K) / (1 - z), K)
        want = ((1 + z) / 2 * geo + z**K * (f + (z - 1) * f * f / 2)) / L
        want = np.conj(want) if gk < 0 else want
        np.testing.assert_allclose(_term_spectra(g, h, N)[0, k], want, atol=1e-7 if L < 1e-6 else 1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_grid_error_bound_holds(seed):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(6, 2)), rng.normal(size=6) * 0.3
    coarse = theory.expected_loss(W, b, sparsity=0.3, grid_points=64, return_details=True)
    fine = theory.expected_loss(W, b, sparsity=0.3, grid_points=2**15, return_details=True)
    gap = abs(coarse.loss[0] - fine.loss[0])
    assert gap <= coarse.error_bound[0] + fine.error_bound[0]
    assert fine.error_bound[0] < 1e-3 * coarse.error_bound[0]


# --------------------------------------------------------------------------- against the trainer
def _mc(W, b, x, **kw):
    """Trainer's loss on a batch, with its standard error (from per-sample losses)."""
    loss = packing.toy_model_loss(W, b, x, **kw)
    half = x.shape[1] // 8
    parts = [packing.toy_model_loss(W, b, x[:, i * half : (i + 1) * half], **kw) for i in range(8)]
    return loss, np.std(parts, axis=0, ddof=1) / np.sqrt(8)


@pytest.mark.parametrize("model", ["relu", "linear"])
def test_expected_loss_matches_trainer_loss_monte_carlo(model):
    rng = np.random.default_rng(0)
    W = np.stack(
        [
            rng.normal(size=(7, 3)) * 0.6,
            packing.tegum_product(packing.regular_polygon(5), packing.digon()) * 1.1,
        ]
    )
    b = np.stack([rng.normal(size=7) * 0.2, np.full(7, -0.15)])
    sparsity = np.array([[0.0, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99], [0.8] * 7])
    imp = 0.8 ** np.arange(7)
    x = packing.sample_toy_batch(7, 400_000, sparsity=sparsity, dtype=np.float64, rng=1)
    for reduction in ("sum", "mean"):
        kw = dict(importance=imp, model=model, reduction=reduction)
        e = theory.expected_loss(W, b, sparsity=sparsity, **kw)
        mc, se = _mc(W, b, x, **kw)
        assert np.all(np.abs(e - mc) <= 4 * se + 1e-12), (e, mc, se)


def test_expected_loss_batches_and_dtypes_agree():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(3, 6, 2)).astype(np.float32)
    b = rng.normal(size=(3, 6)) * 0.1
    batch = theory.expected_loss(W, b, sparsity=[0.1, 0.5, 0.9])
    single = [theory.expected_loss(W[k], b[k], sparsity=s) for k, s in enumerate([0.1, 0.5, 0.9])]
    np.testing.assert_allclose(batch, single, rtol=1e-12)
    dens = theory.expected_loss(W[0], b[0], density=0.9)
    assert dens == pytest.approx(single[0], rel=1e-12)


def test_dedicated_and_left_out_features_are_exact():
    # a dedicated dimension reproduces its feature: loss 0; a zero row with bias p/2 costs its variance
    e = theory.expected_loss(
        np.array([[1.0], [0.0]]), np.array([0.0, 0.15]), sparsity=0.7, return_details=True
    )
    assert e.per_feature[0, 0] == 0.0
    assert e.per_feature[0, 1] == pytest.approx(0.3 / 3 - 0.3**2 / 4, abs=1e-15)
    assert e.error_bound[0] == 0.0


# --------------------------------------------------------------------------- fitting
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_is_never_worse_than_its_start(seed):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(5, 2))
    r0, b0 = rng.uniform(0.3, 1.5, 5), rng.uniform(-0.5, 0.2, 5)
    kw = dict(sparsity=rng.uniform(0.0, 0.95), importance=rng.uniform(0.2, 1.0, 5))
    fit = theory.fit_geometry(U, init_norms=r0, init_bias=b0, **kw)
    start = theory.expected_loss(r0[:, None] * U / np.linalg.norm(U, axis=1, keepdims=True), b0, **kw)
    assert fit.initial_loss == pytest.approx(start, rel=1e-12)
    assert fit.loss <= start + 1e-12
    assert fit.loss == pytest.approx(theory.expected_loss(fit.W, fit.b, **kw), rel=1e-12)


def test_fit_shares_parameters_of_symmetric_features():
    fit = theory.fit_geometry(
        packing.tegum_product(packing.regular_polygon(5), packing.digon()), sparsity=0.9
    )
    assert len(fit.factors) == 2
    assert np.ptp(fit.norms[:5]) < 1e-12 and np.ptp(fit.b[:5]) < 1e-12
    free = theory.fit_geometry(packing.regular_polygon(5), sparsity=0.9, share=False)
    assert free.loss == pytest.approx(fit.factor_losses[0], rel=1e-6)


# --------------------------------------------------------------------------- the dynamic programme
def _enumerate(n, d, costs, shapes):
    """All block sequences over sorted features: {composition: best loss}.

    A spread block ends the sequence: the features after it are left out.
    """
    moves = [(None, 1, 0)] + [(s, s.m, s.D) for s in shapes]
    best = {}

    def walk(k, e, loss, names):
        if k == n:
            key = tuple(sorted(names))
            best[key] = min(best.get(key, np.inf), loss)
            return
        for s, m, D in moves:
            if k + m > n or e + D > d:
                continue
            c = costs.dropped(k) if s is None else costs.block(k, s)[0]
            if not np.isfinite(c):
                continue
            if s is not None and s.spread:
                rest = list(range(k + m, n))
                total = loss + c + sum(costs.dropped(j) for j in rest)
                walk(n, e + D, total, names + [s.name] + ["dropped"] * len(rest))
            else:
                walk(k + m, e + D, loss + c, names + ["dropped" if s is None else s.name])

    walk(0, 0, 0.0, [])
    return best


@pytest.mark.parametrize("n, d, seed", [(3, 1, 0), (4, 2, 1), (5, 2, 2), (5, 3, 3), (8, 3, 4)])
def test_dp_matches_brute_force_enumeration(n, d, seed):
    rng = np.random.default_rng(seed)
    imp = np.sort(rng.uniform(0.2, 1.0, n))[::-1]
    shapes = [s for s in default_shapes() if s.m <= 3] + spread_shapes(n, d)[:2]
    costs = _Costs(imp, np.full(n, rng.uniform(0.05, 0.9)), shapes)
    found = _solve(n, d, costs, shapes)
    table = _enumerate(n, d, costs, shapes)
    ranked = sorted(table.values())
    assert found[0][0] == pytest.approx(ranked[0], rel=1e-12)
    if len(ranked) > 1:
        assert found[1][0] == pytest.approx(ranked[1], rel=1e-12)


@pytest.mark.parametrize("density", [0.3, 0.1])
def test_prediction_pairs_features_as_the_best_of_all_pairings(density):
    """Two digons among 6 features of importance 0.7^i: every choice of the pairs, fitted independently."""
    n, imp = 6, 0.7 ** np.arange(6)
    p = theory.predict_geometry(n, 2, density=density, importance=imp, spread=False)
    assert p.description == "2×digon"
    losses = {}
    for first in itertools.combinations(range(n), 2):
        for second in itertools.combinations([i for i in range(n) if i not in first], 2):
            if second < first:
                continue
            U = np.zeros((n, 2))
            U[list(first), 0], U[list(second), 1] = [1.0, -1.0], [1.0, -1.0]
            fit = theory.fit_geometry(U, density=density, importance=imp, share=False)
            losses[(first, second)] = fit.loss
    best = min(losses, key=losses.get)
    assert p.loss == pytest.approx(losses[best], rel=1e-6)
    assert sorted(tuple(int(i) for i in b[1]) for b in p.blocks) == sorted(best)
    # the contiguous pairing a DP over runs of features gives is beaten (by more than rounding)
    assert losses[((0, 1), (2, 3))] > p.loss * (1 + 1e-4)


def test_equal_features_are_never_swapped():
    p = theory.predict_geometry(9, 3, sparsity=0.9, spread=False)
    for _, idx in p.blocks:
        assert np.array_equal(np.sort(idx), np.arange(idx.min(), idx.max() + 1))


def test_predicted_loss_is_the_expected_loss_of_the_predicted_weights():
    p = theory.predict_geometry(5, 2, sparsity=0.9, importance=0.9 ** np.arange(5))
    e = theory.expected_loss(p.W, p.b, sparsity=0.9, importance=0.9 ** np.arange(5), return_details=True)
    assert abs(p.loss - e.loss[0]) <= p.error_bound + e.error_bound[0]
    assert p.runner_up is not None and p.margin >= -1e-9
    assert p.runner_up.description != p.description or p.runner_up.n_represented != p.n_represented


# ------------------------------------------------------------------- textbook cases (Elhage et al. 2022)
def test_dense_two_in_one_gives_the_dimension_to_the_more_important_feature():
    for imp in ([1.0, 0.6], [0.6, 1.0]):
        p = theory.predict_geometry(2, 1, importance=imp)
        assert p.feature_shapes[int(np.argmax(imp))] == "dedicated"
        assert p.feature_shapes[int(np.argmin(imp))] == "dropped"


def test_very_sparse_two_in_one_is_an_antipodal_pair():
    p = theory.predict_geometry(2, 1, sparsity=0.99, importance=[1.0, 0.7])
    assert p.description == "digon" and packing.analyze_structure(p.W).description == "digon"


def test_very_sparse_five_in_two_is_a_pentagon_and_dense_is_not():
    sparse = theory.predict_geometry(5, 2, sparsity=0.97)
    assert sparse.description == "pentagon" == packing.analyze_structure(sparse.W).description
    np.testing.assert_allclose(sparse.dimensionality, 0.4, atol=1e-9)
    assert theory.predict_geometry(5, 2, sparsity=0.5).description == "2×digon"


def test_sparse_models_spread_more_features_than_polytopes_hold():
    kw = dict(sparsity=0.995)
    tegum = theory.predict_geometry(30, 4, spread=False, **kw)
    spread = theory.predict_geometry(30, 4, **kw)
    assert spread.description.startswith("spread") and spread.loss < tegum.loss
    assert spread.n_represented > tegum.n_represented
    e = theory.expected_loss(spread.W, spread.b, return_details=True, **kw)
    assert abs(spread.loss - e.loss[0]) <= spread.error_bound + e.error_bound[0]


def test_block_cost_table_feeds_the_partition_dp():
    t = theory.relu_block_costs(10, 4, sparsity=0.9)
    r = packing.optimal_partition(10, 4, 1.0, cost=t, build=False)
    assert r.loss == pytest.approx(sum(t(m, D) for m, D in r.blocks))
    assert all(np.isfinite(t(m, D)) for m, D in r.blocks)
    assert t.table[2, 1] == pytest.approx(t(2, 1)) and t.shape[2, 1] == "digon"


def test_relu_partition_is_decodable_and_matches_the_prediction():
    # the example: p = 1 puts 10 features on one line; the ReLU cost never more than a pair
    r = packing.optimal_partition(60, 12, cost="relu", sparsity=0.9)
    norms = np.linalg.norm(r.W, axis=1)
    for block, (m, D) in enumerate(r.blocks):
        rows = np.flatnonzero((r.labels == block) & (norms > 0))
        assert len(rows) <= {1: 2, 2: 9}.get(D, m)  # a line holds an antipodal pair; a plane a polygon
        if D == 1 and len(rows) == 2:
            assert r.W[rows[0]] @ r.W[rows[1]] < 0
    # its loss is the expected loss of its own weights and biases (independent evaluation) ...
    assert r.realized_loss == pytest.approx(theory.expected_loss(r.W, r.b, sparsity=0.9), rel=1e-12)
    assert r.loss == pytest.approx(r.realized_loss, rel=1e-4)
    # ... and equals the block DP of predict_geometry over the same shapes (two different programmes;
    # without the weak members the default grows, which the partition does not have)
    p = theory.predict_geometry(60, 12, sparsity=0.9, spread=False, grow=False)
    assert r.loss == pytest.approx(p.loss, rel=1e-4)
    assert int(np.sum(norms > 0)) == p.n_represented
    grown = theory.predict_geometry(60, 12, sparsity=0.9, spread=False)
    assert grown.loss < p.loss and grown.n_represented > p.n_represented


def test_relu_partition_rejects_data_for_line_costs():
    with pytest.raises(ValueError, match="sparsity needs cost='relu'"):
        packing.optimal_partition(6, 3, 1.0, sparsity=0.9)
    with pytest.raises(TypeError, match="p must be"):
        packing.optimal_partition(6, 3)  # a line-packing cost still needs its order


def test_compare_packings_in_the_models_terms():
    fit = theory.fit_geometry(np.vstack([np.eye(3), -np.eye(3)]), sparsity=0.95)
    cmp = packing.compare_packings(fit.W, include=("ideal",), p_grid=(), b=fit.b, sparsity=0.95)
    learned = cmp.rows[0]
    assert learned.coherence == pytest.approx(1.0) and learned.max_positive == 0.0  # lines vs ReLU
    m = cmp.model[0]
    assert m.learned == "3×digon" and m.learned_represented == 6 and m.learned_max_positive == 0.0
    assert m.learned_loss == pytest.approx(theory.expected_loss(fit.W, fit.b, sparsity=0.95))
    pred = theory.predict_geometry(6, 3, sparsity=0.95)
    assert (m.predicted, m.predicted_loss) == (pred.description, pred.loss)
    assert m.runner_up_loss >= m.predicted_loss and not m.local_minimum
    text = cmp.to_text()
    assert "line-packing quantities" in text and "pos max" in text and "ReLU toy model" in text
    # a worse configuration of the same model: one pair folded onto the same line with a dedicated
    # dimension left idle is a local minimum (its loss exceeds the predicted optimum)
    W = fit.W.copy()
    W[1] = 0.0
    cmp = packing.compare_packings(W, include=("ideal",), p_grid=(), b=fit.b, sparsity=0.95)
    assert cmp.model[0].local_minimum and cmp.model[0].gap > 0
    # without biases: directions with fitted norms and biases, never above the given model
    cmp = packing.compare_packings(np.stack([fit.W, W]), include=("ideal",), p_grid=(), sparsity=0.95)
    assert [m.biases_fitted for m in cmp.model] == [True, True]
    assert cmp.model[0].learned_loss <= m.learned_loss + 1e-9
    with pytest.raises(ValueError, match="b must come with the data"):
        packing.compare_packings(fit.W, include=("ideal",), p_grid=(), b=fit.b)


# --------------------------------------------------------------------------- phases
def test_classify_phase_and_diagram_with_given_weights():
    W = np.array([[[1.0], [-1.0]], [[1.0], [0.0]], [[0.0], [1.0]], [[1.0], [-0.5]]])
    b = np.zeros((4, 2))
    pd = theory.phase_diagram(
        2, 1, relative_importance=[0.5, 2.0], density=[1.0, 0.05], trained_weights=(W, b)
    )
    assert pd.trained.tolist() == [
        ["antipodal superposition", "not represented"],
        ["dedicated dimension", "antipodal superposition"],
    ]
    assert pd.predicted.tolist() == [
        ["not represented", "dedicated dimension"],
        ["antipodal superposition", "antipodal superposition"],
    ]
    assert pd.agreement == pytest.approx(0.25)
    assert pd.near_boundary.tolist() == [[True, True], [True, True]]
    assert "agreement 0.250" in pd.to_text()


def test_phase_diagram_trains_cells():
    pd = theory.phase_diagram(
        2, 1, relative_importance=[0.3, 3.0], density=[1.0], n_seeds=2, steps=3000, batch_size=256, rng=0
    )
    assert pd.trained.shape == (1, 2) and pd.trained_W.shape == (1, 2, 2, 1)
    assert pd.trained.tolist() == [["not represented", "dedicated dimension"]]


# --------------------------------------------------------------------------- bad input
W2 = np.array([[1.0], [-1.0]])
BAD = [
    (lambda: theory.expected_loss(np.ones(3), np.zeros(3)), ValueError, "W must have shape 2-D"),
    (lambda: theory.expected_loss(W2, np.zeros(3)), ValueError, "b must have shape (2,)"),
    (lambda: theory.expected_loss(W2, "x"), TypeError, "b must be a real array"),
    (lambda: theory.expected_loss(W2, np.zeros(2), sparsity=1.5), ValueError, "sparsity values must lie in"),
    (lambda: theory.expected_loss(W2, np.zeros(2), sparsity=0.1, density=0.9), ValueError, "not both"),
    (
        lambda: theory.expected_loss(W2, np.zeros(2), importance=[1.0]),
        ValueError,
        "importance given as a 1-D",
    ),
    (lambda: theory.expected_loss(W2, np.zeros(2), model="tanh"), ValueError, "model must be one of"),
    (lambda: theory.expected_loss(W2, np.zeros(2), reduction=1), ValueError, "reduction must be one of"),
    (lambda: theory.expected_loss(W2, np.zeros(2), grid_points=4), ValueError, "grid_points must be >= 16"),
    (
        lambda: theory.expected_loss(np.ones((2, 2, 1)), np.zeros(2), sparsity=[0.1, 0.2, 0.3]),
        ValueError,
        "sparsity must have one row or one per instance of W (2); got 3",
    ),
    (lambda: theory.fit_geometry(np.ones(3)), ValueError, "directions must be 2-D"),
    (lambda: theory.fit_geometry(W2, share="yes"), TypeError, "share must be a bool"),
    (lambda: theory.fit_geometry(W2, init_norms=[1.0]), ValueError, "init_norms must have shape (2,)"),
    (lambda: theory.fit_geometry(W2, init_bias=["a", "b"]), TypeError, "init_bias must be an array"),
    (lambda: theory.fit_geometry(W2, sparsity=[0.1, 0.2]), ValueError, "sparsity must describe one instance"),
    (lambda: theory.predict_geometry(0, 2), ValueError, "n must be >= 1"),
    (lambda: theory.predict_geometry(3, "2"), TypeError, "d must be an integer"),
    (lambda: theory.predict_geometry(3, 2, importance=[1, -1, 1]), ValueError, "importance values must lie"),
    (lambda: theory.predict_geometry(3, 2, shapes=[1]), TypeError, "shapes[0] must be a BlockShape"),
    (lambda: theory.predict_geometry(3, 2, shapes=[]), ValueError, "shapes must hold at least one"),
    (lambda: theory.predict_geometry(3, 2, spread="no"), TypeError, "spread must be a bool"),
    (lambda: theory.block_shape([[1.0, 0.0], [0.0, 0.0]]), ValueError, "directions must have nonzero rows"),
    (lambda: theory.block_shape(np.eye(2), name=3), TypeError, "name must be a string"),
    (
        lambda: theory.expected_loss(W2, np.zeros(2), max_grid_points=2),
        ValueError,
        "max_grid_points must be >= 16",
    ),
    (lambda: theory.relu_block_costs(3, 2, sparsity=[0.1, 0.2]), ValueError, "sparsity must be one number"),
    (lambda: theory.relu_block_costs(3, 2)(4, 1), ValueError, "(m, D) must lie within the table"),
    (lambda: theory.classify_phase(W2, feature=2), ValueError, "feature must index a row of W"),
    (lambda: theory.classify_phase(W2, feature=1.0), TypeError, "feature must be an integer"),
    (lambda: theory.classify_phase(W2, atol=2.0), ValueError, "atol must be <= 1.0"),
    (
        lambda: theory.phase_diagram(density=[0.0], train=False),
        ValueError,
        "density values must be finite and > 0",
    ),
    (lambda: theory.phase_diagram(density=[1.5], train=False), ValueError, "density values must be <= 1"),
    (
        lambda: theory.phase_diagram(relative_importance=[[1.0]], train=False),
        ValueError,
        "relative_importance must be a non-empty 1-D array",
    ),
    (
        lambda: theory.phase_diagram(relative_importance="a", train=False),
        TypeError,
        "relative_importance must be",
    ),
    (lambda: theory.phase_diagram(train="yes"), TypeError, "train must be a bool"),
    (lambda: theory.phase_diagram(n_features=1, train=False), ValueError, "n_features must be >= 2"),
    (
        lambda: theory.phase_diagram(
            relative_importance=[1.0], density=[1.0], trained_weights=(np.zeros((2, 2, 1)), np.zeros((2, 2)))
        ),
        ValueError,
        "trained_weights must be (W, b) of shapes",
    ),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# --------------------------------------------------------------------------- the validation script
def test_validation_script_runs_quick(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("validate_theory", ROOT / "scripts" / "validate_theory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["pentagon", "phase2", "--quick", "--cache", str(tmp_path / "c")])
    assert set(out) == {"pentagon", "phase2"}
    assert 0.0 <= out["phase2"]["agreement"] <= 1.0
    text = capsys.readouterr().out
    assert "predicted switch to the pentagon" in text
    # one line per target: PASS/FAIL | target | measured (the agreement as computed above)
    lines = text.split("== targets (issue 12)")[1].strip().splitlines()[1:]
    assert len(lines) == 2 and all(line.split(" | ")[0] in ("PASS", "FAIL") for line in lines)
    (phase,) = [line for line in lines if "2-in-1 phase diagram" in line]
    assert phase.split(" | ")[2].startswith(f"{out['phase2']['agreement']:.4f}")
    assert phase.startswith("PASS" if out["phase2"]["agreement"] >= 0.9 else "FAIL")
    # the phase diagram's trained cells are the figure's sweep cells, cached beside the training cache
    assert list((tmp_path / "c-quick" / "figure" / ".cache" / "sweep").glob("theory_phase_row/*.npz"))


def _validation_script():
    spec = importlib.util.spec_from_file_location("validate_theory", ROOT / "scripts" / "validate_theory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _irregular_polygon(angles, dims, offset):
    """Unit vectors at ``angles`` in the plane of coordinates ``offset, offset + 1`` of ``dims``."""
    W = np.zeros((len(angles), dims))
    W[:, offset], W[:, offset + 1] = np.cos(angles), np.sin(angles)
    return W


def test_describe_tells_unidentified_factors_apart_by_size():
    # two digons plus an irregular 6-in-2 against two digons plus an irregular 7-in-2: before the
    # size was added, both read "2×digon ⊕ other" and counted as the same shapes
    script = _validation_script()
    digons = np.zeros((4, 4))
    digons[[0, 1], 0], digons[[2, 3], 1] = [1, -1], [1, -1]
    six = _irregular_polygon(np.array([0.0, 0.3, 0.6, 2.5, 3.5, 5.0]), 4, 2)
    seven = _irregular_polygon(np.array([0.0, 0.3, 0.6, 1.4, 2.5, 3.5, 5.0]), 4, 2)
    a, b = np.r_[digons, six], np.r_[digons, seven]
    assert script.describe(a) == ("2×digon ⊕ other (6 in 2)", 10)
    assert script.describe(b) == ("2×digon ⊕ other (7 in 2)", 11)
    # named shapes keep their plain names (the pentagon check compares against "pentagon")
    t = 2 * np.pi * np.arange(5) / 5
    assert script.describe(np.c_[np.cos(t), np.sin(t)]) == ("pentagon", 5)


def test_importance_training_groups_densities_by_their_scaled_steps(tmp_path):
    script = _validation_script()
    cfg = dict(n_seeds=1, steps=20, lr=1e-2, batch_size=32, scale_steps=True)
    dens, imp = np.array([1.0, 0.05, 0.3]), 0.7 ** np.arange(4)
    got = script._train_importance(4, 2, dens, imp, cfg, cache=tmp_path, force=False, seed=0)
    # 1.0 and 0.3 keep the base 20 steps (one group), 0.05 trains 40: two cached groups
    assert len(list(tmp_path.glob("importance-*.npz"))) == 2
    assert got["W"].shape == (3, 4, 2) and got["b"].shape == (3, 4)
    # each instance is the kept run of its group, at its own density: its expected loss is the recorded one
    e = theory.expected_loss(got["W"], got["b"], density=dens, importance=np.tile(imp, (3, 1)))
    assert np.allclose(e, got["expected_loss"], rtol=1e-6)
    again = script._train_importance(4, 2, dens, imp, cfg, cache=tmp_path, force=False, seed=0)
    assert np.array_equal(again["W"], got["W"])  # read back from the cache


def test_grow_keeps_a_weak_member_as_the_free_block_does():
    """Six features of importance 0.7^i in 2 dims at density 0.03.

    The composition leaves the last feature out of a pentagon; grown, it is kept
    at a small norm. The free 6-in-2 block (fitted from its own starts, another
    route) reaches the same loss.
    """
    imp = 0.7 ** np.arange(6)
    plain = theory.predict_geometry(6, 2, density=0.03, importance=imp, spread=False, grow=False)
    grown = theory.predict_geometry(6, 2, density=0.03, importance=imp, spread=False, grow=True)
    assert plain.n_represented == 5 and grown.n_represented == 6
    norms = np.linalg.norm(grown.W, axis=1)
    assert 0.1 * norms.max() < norms[5] < 0.5 * norms.max()
    assert grown.loss < plain.loss * (1 - 1e-3)
    e = theory.expected_loss(grown.W, grown.b, density=0.03, importance=imp, return_details=True)
    assert abs(grown.loss - e.loss[0]) <= grown.error_bound + e.error_bound[0]
    free = theory.predict_geometry(
        6,
        2,
        density=0.03,
        importance=imp,
        spread=False,
        shapes=[*theory.default_block_shapes(), theory.free_block(6, 2)],
        grow=False,
    )
    assert grown.loss == pytest.approx(free.loss, rel=1e-6)
    assert grown.runner_up is not None and grown.margin >= 0


def test_grow_changes_nothing_where_no_weak_member_pays():
    a = theory.predict_geometry(5, 2, sparsity=0.9, importance=0.9 ** np.arange(5), grow=False)
    b = theory.predict_geometry(5, 2, sparsity=0.9, importance=0.9 ** np.arange(5))
    assert a.description == b.description and np.array_equal(a.W, b.W) and a.loss == b.loss


def _monte_carlo_losses(preds, density, imp, *, samples, seed):
    """The toy model's loss ``Σ_i I_i (x_i − ReLU(x W Wᵀ + b)_i)²`` of each ``(W, b)`` on the same samples.

    Written here from the model's definition (not through ``expected_loss`` or the
    trainer): a feature is zero with probability ``1 − density``, else uniform on [0, 1).
    Returns per prediction the mean and its standard error, and the mean and standard
    error of each one's difference to the first (paired on the same inputs).
    """
    rng = np.random.default_rng(seed)
    n = len(imp)
    sums = np.zeros((len(preds), 2))
    diffs = np.zeros((len(preds), 2))
    chunk = 200_000
    for _ in range(samples // chunk):
        X = rng.random((chunk, n)) * (rng.random((chunk, n)) < density)
        per = np.array([(X - np.maximum(X @ W @ W.T + b, 0.0)) ** 2 @ imp for W, b in preds])
        sums += np.c_[per.sum(axis=1), (per**2).sum(axis=1)]
        delta = per - per[0]
        diffs += np.c_[delta.sum(axis=1), (delta**2).sum(axis=1)]
    total = (samples // chunk) * chunk

    def mean_se(s):
        mean = s[:, 0] / total
        return mean, np.sqrt(np.maximum(s[:, 1] / total - mean**2, 0.0) / total)

    return mean_se(sums), mean_se(diffs)


@pytest.mark.slow
def test_default_prediction_grows_and_beats_grow_false_at_20_in_5_density_001():
    """20 features in 5 dims, importance 0.7^i, density 0.01 (issue 12's sweep).

    The default (``grow=True``) keeps weak members that ``grow=False`` leaves out
    (14 represented, the count trained models have; docs/theory_validation.md),
    and its expected loss is lower, checked on 10^7 inputs sampled here from the
    model's definition, paired: the difference is more than three standard errors
    below zero, and each prediction's reported loss agrees with its own sample mean.
    """
    imp = 0.7 ** np.arange(20)
    plain = theory.predict_geometry(20, 5, density=0.01, importance=imp, grow=False)
    default = theory.predict_geometry(20, 5, density=0.01, importance=imp)
    assert default.n_represented > plain.n_represented
    assert default.loss < plain.loss
    (mean, se), (diff, diff_se) = _monte_carlo_losses(
        [(plain.W, plain.b), (default.W, default.b)], 0.01, imp, samples=10_000_000, seed=12
    )
    assert diff[1] + 3 * diff_se[1] < 0  # the default's loss is lower on the same inputs
    for p, m, s in zip((plain, default), mean, se, strict=True):
        assert abs(p.loss - m) <= 4 * s + p.error_bound
    # the weak members sit inside a block's dimensions at a small norm (no dimension of their own)
    norms = np.linalg.norm(default.W, axis=1)
    weak = np.flatnonzero((norms > 0) & (norms < 0.6 * norms.max()))
    assert weak.size >= 2 and np.all(plain.feature_shapes[weak] == "dropped")
