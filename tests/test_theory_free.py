"""Free candidate blocks (directions, norms and biases fitted to the expected loss): their defining
properties, their fitted loss against an independent Monte Carlo estimate, and their use by the DP."""

import numpy as np
import pytest

import packing
from packing import theory
from packing.theory._fit import fit_factor
from packing.theory._free import DEGENERATE, SPLIT_ATOL, fit_free

DENS = 0.05
IMP = 0.7 ** np.arange(5)


@pytest.fixture(scope="module")
def pentagon_fit():
    """A free 5-in-2 block for importances 0.7^i at density 0.05 (started from the regular pentagon)."""
    start = theory.free_block(5, 2)
    return fit_free(5, 2, np.full(5, DENS), IMP, directions=[start.directions])


def test_free_block_is_a_named_unit_start():
    s = theory.free_block(5, 2)
    assert s.free and not s.spread and s.name == "free (5 in 2)"
    assert s.directions.shape == (5, 2) and np.allclose(np.linalg.norm(s.directions, axis=1), 1)
    # it starts from the library polytope of the same size (the pentagon), which identify_shape names
    assert packing.identify_shape(s.directions).label == "pentagon"
    with pytest.raises(ValueError, match="D must be < m"):
        theory.free_block(3, 3)


def test_free_fit_keeps_every_member_and_does_not_split(pentagon_fit):
    loss, W, b = pentagon_fit
    assert np.isfinite(loss) and W.shape == (5, 2) and b.shape == (5,)
    norms = np.linalg.norm(W, axis=1)
    assert norms.min() > DEGENERATE * norms.max()
    U = W / norms[:, None]
    C = np.abs(U @ U.T)
    np.fill_diagonal(C, 0)
    # no member is orthogonal to all others (else it would be a tegum product of smaller blocks)
    assert (C.max(axis=1) > SPLIT_ATOL).all()


def test_free_fit_beats_the_regular_polytope_it_starts_from(pentagon_fit):
    loss, _, _ = pentagon_fit
    regular = fit_factor(
        packing.regular_polygon(5) @ packing.regular_polygon(5).T, np.full(5, DENS), IMP, share=False
    )[2]
    assert loss <= regular + 1e-7, (loss, regular)


def test_free_fit_loss_matches_monte_carlo(pentagon_fit):
    loss, W, b = pentagon_fit
    x = packing.sample_toy_batch(5, 1_000_000, density=DENS, dtype=np.float64, rng=7)[0]
    out = np.maximum(x @ W @ W.T + b, 0)
    per = ((x - out) ** 2 * IMP).sum(axis=1)
    mc, se = per.mean(), per.std() / np.sqrt(per.size)
    assert abs(loss - mc) <= 4 * se, (loss, mc, se)


def test_free_fit_rejects_a_tegum_split():
    # two antipodal pairs fill 2 dims best as a square (= two orthogonal digons): not a new block
    loss, W, _ = fit_free(4, 2, np.full(4, 0.3), np.ones(4), directions=[packing.regular_polygon(4)])
    assert loss == np.inf
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    assert np.sum(np.abs(U @ U.T) < SPLIT_ATOL) >= 4


def test_prediction_with_a_free_block_is_its_expected_loss_and_no_worse():
    kw = dict(density=DENS, importance=IMP)
    base = theory.predict_geometry(5, 2, **kw)
    shapes = theory.default_block_shapes() + [theory.free_block(5, 2)]
    free = theory.predict_geometry(5, 2, **kw, shapes=shapes)
    assert free.loss <= base.loss + 1e-7
    assert free.loss == pytest.approx(float(theory.expected_loss(free.W, free.b, **kw)), abs=1e-12)


# ---------------------------------------------------------------- exact gradient of the fitting objective
def _objective(m, D, dens):
    from packing.theory._free import _Objective

    return _Objective(m, D, np.full(m, dens), 0.7 ** np.arange(m))


@pytest.mark.parametrize(("m", "D", "dens"), [(5, 2, 0.05), (6, 2, 0.3), (8, 3, 0.03), (4, 3, 1.0)])
def test_exact_gradient_matches_central_differences_at_a_frozen_grid(monkeypatch, m, D, dens):
    """The gradient differentiates the grid masses with the spacing held fixed: central differences of
    the same objective with the grid layout frozen at the base point must agree closely."""
    import packing.theory._free as free

    obj = _objective(m, D, dens)
    rng = np.random.default_rng([m, D])
    theta = np.r_[rng.standard_normal(m * D), rng.uniform(-0.3, 0.1, m)]
    value, grad = obj.value_and_grad(theta)
    W = theta[: m * D].reshape(m, D)
    G = W @ W.T
    frozen = free._grid_layout(G[obj.off].reshape(m, m - 1), obj.pj, obj.grid)
    monkeypatch.setattr(free, "_grid_layout", lambda g, p, N: frozen)
    step = 1e-6
    fd = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = step
        fd[k] = (obj.value_and_grad(theta + e)[0] - obj.value_and_grad(theta - e)[0]) / (2 * step)
    assert value == pytest.approx(obj.value_and_grad(theta)[0], abs=0)
    assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(fd)), np.max(np.abs(grad - fd))


@pytest.mark.parametrize(("m", "D", "dens"), [(5, 2, 0.05), (8, 3, 1.0)])
def test_objective_value_is_the_reference_grid_expectation(m, D, dens):
    """The value beside the gradient is the old objective (``_rows_expectation`` on the same grid)."""
    obj = _objective(m, D, dens)
    rng = np.random.default_rng(3)
    theta = np.r_[rng.standard_normal(m * D), rng.uniform(-0.3, 0.1, m)]
    v_exact, _ = obj.value_and_grad(theta)
    v_ref, g_ref = obj.value_and_grad_differences(theta)
    assert v_exact == pytest.approx(v_ref, rel=1e-12)
    # and the frozen-grid gradient is close to differences of the moving grid too
    assert np.max(np.abs(obj.value_and_grad(theta)[1] - g_ref)) <= 1e-3 * np.max(np.abs(g_ref))


def test_exact_gradient_fits_the_same_block_as_differences(pentagon_fit):
    """Fitting with the exact gradient finds the block the central-difference reference finds."""
    loss, W, b = pentagon_fit
    start = theory.free_block(5, 2)
    ref_loss, ref_W, ref_b = fit_free(
        5, 2, np.full(5, DENS), IMP, directions=[start.directions], gradient="differences"
    )
    assert loss == pytest.approx(ref_loss, rel=1e-7)
    assert np.allclose(W @ W.T, ref_W @ ref_W.T, atol=1e-3) and np.allclose(b, ref_b, atol=1e-3)
