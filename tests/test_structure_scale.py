"""The tiled structure pass (no n x n matrix) against the dense reference and brute force (issue #15)."""

import tracemalloc

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import packing
from packing import (
    analyze_structure,
    antipodal_pair,
    packing_signature,
    regular_polygon,
    regular_simplex,
    tegum_factors,
    tegum_product,
)
from packing._rows import rank, span, tall_singular
from packing.geometry.frames import _capacities
from packing.structure import _scan
from packing.structure.factors import _check_factor_options, _tegum_factors_dense, row_scales
from packing.structure.orthogonal import _greedy_set
from packing.structure.report import _analyze_structure_dense

ATOL = 0.05


@pytest.fixture(params=[None, 5, 16], ids=["one tile", "tiles of 5", "tiles of 16"])
def block(request, monkeypatch):
    """Run the tiled pass in one tile and in many (edges that do not divide n)."""
    if request.param is not None:
        monkeypatch.setattr(_scan, "BLOCK", request.param)
    return request.param


def _rotate(W, rng):
    Q, _ = np.linalg.qr(rng.normal(size=(W.shape[1], W.shape[1])))
    return W @ Q


def planted(kind: str, rng) -> np.ndarray:
    """Small packings with known structure, each in a random rotation."""
    s = np.sqrt(3) / 2
    if kind == "tegum":  # pentagon ⊕ triangle ⊕ tetrahedron ⊕ 2 digons, plus a dropped row
        W = tegum_product(
            regular_polygon(5), regular_polygon(3), regular_simplex(4), antipodal_pair(), antipodal_pair()
        )
        W = np.vstack([W, 0.01 * rng.normal(size=(1, W.shape[1]))])
    elif kind == "antipodal":  # 4 antipodal pairs in 4 dims: an orthoplex
        W = np.vstack([np.eye(4), -np.eye(4)])
    elif kind == "triangles":
        W = tegum_product(*(np.array([[1, 0], [-0.5, s], [-0.5, -s]]),) * 3)
    elif kind == "blocks":  # two orthonormal frames of R^3 at an angle: disjoint orthogonal sets
        Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        W = tegum_product(np.vstack([np.eye(3), Q]), np.eye(2))
    elif kind == "random":
        W = rng.normal(size=(40, 6))
    else:  # "noisy": a tegum product of digons and triangles with small noise near the tolerance
        W = tegum_product(antipodal_pair(), regular_polygon(3), antipodal_pair(), regular_polygon(3))
        W = W + rng.normal(scale=0.03, size=W.shape)
    return _rotate(np.asarray(W, dtype=np.float64), rng)


KINDS = ["tegum", "antipodal", "triangles", "blocks", "random", "noisy"]


def assert_same_report(tiled, dense, float_atol):
    """Every decision equal; every reported float within ``float_atol``."""
    a, b = tiled.factors, dense.factors
    assert [f.tolist() for f in a.factors] == [f.tolist() for f in b.factors]
    assert a.dims == b.dims and a.dropped.tolist() == b.dropped.tolist()
    assert a.near_threshold == b.near_threshold and a.block_orthogonal == b.block_orthogonal
    assert a.cross_overlap == pytest.approx(b.cross_overlap, abs=float_atol)
    assert a.subspace_overlap == pytest.approx(b.subspace_overlap, abs=1e-9)
    assert tiled.shape_labels == dense.shape_labels
    for s, t in zip(tiled.shapes, dense.shapes, strict=True):
        assert s.residual == pytest.approx(t.residual, abs=1e-9)
    for c, e in zip(tiled.capacities, dense.capacities, strict=True):
        assert c.features.tolist() == e.features.tolist() and c.saturated == e.saturated
        np.testing.assert_allclose(c.capacity, e.capacity, atol=1e-12)
    o, p = tiled.orthogonal, dense.orthogonal
    assert [s.tolist() for s in o.sets] == [s.tolist() for s in p.sets]
    assert (o.largest, o.disjoint, o.complete) == (p.largest, p.disjoint, p.complete)
    assert (o.orthogonal_pairs, o.turan_bound, o.n, o.d) == (p.orthogonal_pairs, p.turan_bound, p.n, p.d)
    assert tiled.signature == dense.signature
    np.testing.assert_allclose(tiled.signature.profiles, dense.signature.profiles, atol=1e-12)
    si, sd = tiled.interference, dense.interference
    for side in ("positive", "negative"):
        for p_, v in getattr(sd, side).items():
            assert getattr(si, side)[p_] == pytest.approx(v, rel=1e-6, abs=float_atol * max(1, si.n) ** 2)
    assert si.max_positive == pytest.approx(sd.max_positive, abs=float_atol)
    assert si.max_negative == pytest.approx(sd.max_negative, abs=float_atol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_tiled_analysis_equals_dense(kind, seed, block):
    W = planted(kind, np.random.default_rng(seed))
    tiled = analyze_structure(W)
    dense = _analyze_structure_dense(W, ATOL, 0.1, 0.1, True)
    assert_same_report(tiled, dense, 1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_tiles_decide_as_float64(kind, block):
    """float32 input is tiled in float32; every threshold decision equals the float64 reference's."""
    W = planted(kind, np.random.default_rng(3)).astype(np.float32)
    tiled = analyze_structure(W)
    dense = _analyze_structure_dense(W.astype(np.float64), ATOL, 0.1, 0.1, True)
    assert_same_report(tiled, dense, _scan.rounding_margin(np.float32, W.shape[1]))


def test_planted_tegum_product_is_found(block):
    rng = np.random.default_rng(5)
    W = planted("tegum", rng).astype(np.float32)
    r = analyze_structure(W)
    assert sorted(r.shape_labels) == sorted(["pentagon", "triangle", "tetrahedron", "digon", "digon"])
    assert r.factors.dropped.tolist() == [W.shape[0] - 1] and r.factors.block_orthogonal


def _threshold_pairs(rng, n_pairs=30, d=12):
    """Pairs of unit vectors whose cosines sit within float32 rounding of atol/2, atol and 2 atol."""
    rows = []
    for k in range(n_pairs):
        t = (ATOL / 2, ATOL, 2 * ATOL)[k % 3] + rng.uniform(-3e-7, 3e-7)
        Q, _ = np.linalg.qr(rng.normal(size=(d, 2)))
        rows += [Q[:, 0], t * Q[:, 0] + np.sqrt(1 - t * t) * Q[:, 1]]
    return np.array(rows)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_threshold_decisions_hypothesis(seed, dtype):
    """Near-threshold cosines (within float32 rounding) decided as by the dense float64 reference."""
    rng = np.random.default_rng(seed)
    W = _threshold_pairs(rng).astype(dtype)
    U, norms = row_scales(W)
    options = _check_factor_options()
    dense = _tegum_factors_dense(U, norms, *options)
    old = _scan.BLOCK
    try:
        _scan.BLOCK = int(rng.integers(3, 70))
        tiled = tegum_factors(W)
    finally:
        _scan.BLOCK = old
    assert [f.tolist() for f in tiled.factors] == [f.tolist() for f in dense.factors]
    assert tiled.near_threshold == dense.near_threshold


def test_components_against_networkx(block):
    """The merged labels are the connected components of the interference graph (brute force)."""
    rng = np.random.default_rng(2)
    W = np.vstack([planted("noisy", rng), rng.normal(size=(20, 6)) * [1, 1, 0, 0, 0, 0]])
    W = W[:, :6] if W.shape[1] >= 6 else W
    tf = tegum_factors(W, norm_threshold=0.0)
    G = packing.interference_graph(W)
    expected = sorted((sorted(c) for c in nx.connected_components(G)), key=lambda c: (-len(c), c[0]))
    assert [f.tolist() for f in tf.factors] == expected


def test_greedy_orthogonal_set_is_maximal_when_pairs_do_not_fit(monkeypatch, block):
    """Beyond the memory limit for the graph, one maximal orthogonal set is grown (checked by brute force)."""
    rng = np.random.default_rng(4)
    W = rng.normal(size=(300, 12))
    monkeypatch.setattr(_scan, "GRAPH_EDGE_BYTES", packing.get_memory_limit())  # no graph fits
    r = analyze_structure(W)
    o = r.orthogonal
    assert not o.complete and len(o.sets) == 1
    dense = _analyze_structure_dense(W, ATOL, 0.1, 0.1, True).orthogonal
    assert (o.orthogonal_pairs, o.disjoint, o.turan_bound) == (
        dense.orthogonal_pairs,
        dense.disjoint,
        dense.turan_bound,
    )
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    C = np.abs(U @ U.T)
    S = o.sets[0]
    assert np.all(C[np.ix_(S, S)][~np.eye(len(S), dtype=bool)] <= ATOL)  # mutually orthogonal
    others = np.setdiff1d(np.arange(len(W)), S)
    assert np.all((C[np.ix_(others, S)] > ATOL).any(axis=1))  # maximal: nothing can be added
    assert o.largest == len(S)


def test_greedy_set_brute_force():
    rng = np.random.default_rng(8)
    U = rng.normal(size=(50, 5))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    C = np.abs(U @ U.T)
    degree = (C <= 0.3).sum(axis=1) - 1
    S = _greedy_set(U, degree, 0.3)
    assert np.all(C[np.ix_(S, S)][~np.eye(len(S), dtype=bool)] <= 0.3)
    others = np.setdiff1d(np.arange(50), S)
    assert np.all((C[np.ix_(others, S)] > 0.3).any(axis=1))


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncated_profiles_are_the_ends_of_sorted_gram_rows(signed, dtype, block):
    rng = np.random.default_rng(6)
    W = rng.normal(size=(70, 9)).astype(dtype)
    k = 6
    sig = packing_signature(W, signed=signed, profile=k)
    U = np.asarray(W, dtype=np.float64)
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    G = U @ U.T
    rows = np.sort(G if signed else np.abs(G), axis=1)  # brute force
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(sig.profiles[:, :k], rows[:, :k], atol=tol)
    np.testing.assert_allclose(sig.profiles[:, k : 2 * k], rows[:, -k:], atol=tol)
    full = packing_signature(W, signed=signed)
    np.testing.assert_allclose(sig.profiles[:, -2:], full.profiles[:, -2:], rtol=1e-12)
    assert sig.distance(full) == np.inf  # different profiles are not comparable
    assert packing_signature(W[:10], profile=k) == packing_signature(W[:10])  # n <= 2 profile: whole rows


def test_no_n_by_n_allocation(monkeypatch):
    """At n = 8,192 the analysis never holds anything near an n x n float32 matrix (268 MB)."""
    monkeypatch.setattr(_scan, "BLOCK", 1024)
    n = 8192
    W = np.random.default_rng(7).normal(size=(n, 8)).astype(np.float32)
    previous = packing.set_memory_limit(2**28)  # a graph of the ~3.7 million orthogonal pairs does not fit
    try:
        for call in (
            lambda: tegum_factors(W),
            lambda: analyze_structure(W),
            lambda: packing_signature(W, profile=8),
        ):
            tracemalloc.start()
            call()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < n * n * 4 / 4, peak
    finally:
        packing.set_memory_limit(previous)


def test_tall_singular_matches_svd():
    rng = np.random.default_rng(9)
    V = rng.normal(size=(9000, 40)) * np.r_[np.ones(25), np.full(15, 1e-3)]
    s = np.linalg.svd(V, compute_uv=False)
    t, vecs = tall_singular(V)
    np.testing.assert_allclose(t, s, rtol=1e-9, atol=1e-12 * s[0])
    assert rank(V, 0.1) == 25  # the tall path (9,000 rows) against the known rank
    P = span(V, 25)
    R = np.linalg.svd(V, full_matrices=False)[2][:25].T
    np.testing.assert_allclose(P @ P.T, R @ R.T, atol=1e-10)


def test_chunked_capacities_equal_unchunked():
    rng = np.random.default_rng(10)
    W = rng.normal(size=(60, 7)) * np.exp(rng.normal(size=(60, 1)))
    np.testing.assert_allclose(_capacities(W, chunk=7), _capacities(W), rtol=1e-12)
    # capacities C_i = |W_i|^4 / Σ_j (W_i·W_j)^2 by brute force
    G = W @ W.T
    np.testing.assert_allclose(_capacities(W), np.diag(G) ** 2 / (G**2).sum(axis=1), rtol=1e-10)
