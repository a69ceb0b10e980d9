import itertools

import networkx as nx
import numpy as np
import pytest
from helpers import brute_force_cosines, random_rotation
from hypothesis import assume, given
from hypothesis import strategies as st

import packing
from packing import (
    IdealShape,
    analyze_structure,
    capacity,
    deduplicate_packings,
    factor_capacities,
    identify_shape,
    interference_graph,
    orthogonal_sets,
    packing_signature,
    represented_features,
    shape_template,
    tegum_factors,
)
from packing.constructions import (
    antipodal_pair,
    cross_polytope,
    orthonormal_basis,
    regular_polygon,
    regular_simplex,
    square_antiprism,
)
from packing.structure.shapes import ANTIPRISM_HEIGHTS

# (builder, expected label, expected dimension). Squares and cross-polytopes are
# left out on purpose: their antipodal pairs are mutually orthogonal, so as tegum
# factors they split into digons (tested separately).
FACTORS = {
    "dedicated": (lambda: orthonormal_basis(1), 1),
    "digon": (antipodal_pair, 1),
    "triangle": (lambda: regular_polygon(3), 2),
    "pentagon": (lambda: regular_polygon(5), 2),
    "hexagon": (lambda: regular_polygon(6), 2),
    "heptagon": (lambda: regular_polygon(7), 2),
    "tetrahedron": (lambda: regular_simplex(4), 3),
    "4-simplex": (lambda: regular_simplex(5), 4),
    "square antiprism": (square_antiprism, 3),
    "rectified 5-cell": (lambda: shape_template("rectified_simplex", 10), 4),
}


def embed(blocks, extra_dims, rng, noise=0.0):
    """Tegum product of blocks + extra zero dims, randomly rotated, rows shuffled, noise added."""
    n = sum(len(b) for b in blocks)
    d = sum(b.shape[1] for b in blocks) + extra_dims
    W = np.zeros((n, d))
    labels = np.empty(n, dtype=int)
    r = c = 0
    for k, B in enumerate(blocks):
        W[r : r + len(B), c : c + B.shape[1]] = B
        labels[r : r + len(B)] = k
        r, c = r + len(B), c + B.shape[1]
    perm = rng.permutation(n)
    W = W[perm] @ random_rotation(d, rng)
    W = W + noise * rng.normal(size=W.shape)
    return W, labels[perm]


def partition_of(labels):
    return sorted(sorted(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels))


@st.composite
def known_tegum_products(draw, max_factors=5, noise=(0.0, 2e-3)):
    names = draw(st.lists(st.sampled_from(sorted(FACTORS)), min_size=1, max_size=max_factors))
    extra = draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    sigma = draw(st.floats(*noise))
    rng = np.random.default_rng(seed)
    scales = [draw(st.floats(0.5, 2.0)) for _ in names]
    blocks = [FACTORS[name][0]() * s for name, s in zip(names, scales, strict=True)]
    W, labels = embed(blocks, extra, rng, sigma)
    return W, labels, names


@given(known_tegum_products())
def test_exact_recovery_of_partition_and_shapes(case):
    W, labels, names = case
    report = analyze_structure(W)
    tf = report.factors
    assert len(tf.dropped) == 0
    assert sorted(f.tolist() for f in tf.factors) == partition_of(labels)
    for f, shape, dim in zip(tf.factors, report.shapes, tf.dims, strict=True):
        truth = names[labels[f[0]]]
        assert shape.label == truth, (shape, truth)
        assert dim == FACTORS[truth][1]
        assert shape.residual < 0.05
    assert tf.block_orthogonal
    assert tf.total_dim == sum(FACTORS[name][1] for name in names)
    # the reported overlap is the largest |cos| between rows of different true factors, and it
    # stays below the interference tolerance (noise of up to 2e-3 per coordinate can push it past 0.02)
    C = np.abs(packing.cosine_matrix(W))
    cross = labels[:, None] != labels[None, :]
    assert tf.cross_overlap == pytest.approx(C[cross].max() if cross.any() else 0.0, abs=1e-9)
    assert tf.cross_overlap < tf.atol
    # polygons and simplices are tight frames of their span: capacities add up to the dimension
    # (constructions.square_antiprism is not tight: its capacities add up to 2.93 < 3)
    for cap, shape in zip(report.capacities, report.shapes, strict=True):
        if shape.label != "square antiprism":
            assert cap.saturated and cap.total == pytest.approx(cap.dim, abs=0.05)
    assert not report.ambiguous


@given(known_tegum_products(max_factors=4, noise=(0.0, 0.4)))
def test_noise_is_never_mislabelled(case):
    """Whatever the noise, a factor that gets a shape name has that shape.

    It is a true factor, or a union of true factors whose tegum product is itself
    a named shape (k mutually orthogonal digons ARE a square / cross-polytope; noise
    that makes them interfere merges them into one factor with that correct name).
    """
    W, labels, names = case
    report = analyze_structure(W)
    assume(len(report.factors.dropped) == 0)  # noise shrank a row below the norm threshold
    truth = partition_of(labels)
    for f, shape in zip(report.factors.factors, report.shapes, strict=True):
        if shape.matched:
            if sorted(f.tolist()) in truth:
                assert shape.label == names[labels[f[0]]]
            else:
                parts = [t for t in truth if set(t) & set(f.tolist())]
                assert sorted(sum(parts, [])) == sorted(f.tolist())  # a union of whole factors
                assert all(names[labels[t[0]]] == "digon" for t in parts)
                k = len(parts)
                assert shape.label == {2: "square", 3: "octahedron"}.get(k, f"{k}-cross-polytope")
        else:
            assert shape.label in ("ambiguous", "other")
            assert shape.residual > shape.tol


def test_noise_beyond_tolerance_is_ambiguous():
    rng = np.random.default_rng(3)
    pentagon = regular_polygon(5)
    seen = set()
    for sigma in (0.002, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.6):
        V = np.c_[pentagon, np.zeros(5)] + sigma * rng.normal(size=(5, 3))
        m = identify_shape(V)
        # the residual is the true optimum over all 5! correspondences and all orthogonal maps
        assert m.candidates["pentagon"] == pytest.approx(brute_force_residual(V, pentagon), abs=1e-9)
        if m.residual <= m.tol:
            assert m.label == "pentagon"
        elif m.residual <= 3 * m.tol:
            assert m.label == "ambiguous" and m.nearest == "pentagon"
        else:
            assert m.label == "other"
        seen.add(m.label)
    assert {"pentagon", "ambiguous", "other"} <= seen


def brute_force_residual(V, T, perms=None):
    """min over correspondences (all, or perms) and orthogonal maps of the RMS distance of unit rows."""
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    k = T.shape[1]
    # express U in its top-k principal coordinates; the rest is residual that no map removes
    _, _, Vt = np.linalg.svd(U, full_matrices=False)
    X = U @ Vt[:k].T
    out = np.sum(U * U) - np.sum(X * X)
    best = np.inf
    for perm in itertools.permutations(range(len(T))) if perms is None else perms:
        Tp = T[list(perm)]
        u, _, vt = np.linalg.svd(X.T @ Tp)
        best = min(best, np.sum((X @ (u @ vt) - Tp) ** 2))
    return float(np.sqrt(max(best + out, 0.0) / len(T)))


SPECS = [("polygon", 3), ("polygon", 4), ("polygon", 5), ("polygon", 6), ("simplex", 4), ("simplex", 5),
         ("cross_polytope", 6), ("dedicated", 1), ("digon", 2)]


@given(st.sampled_from(SPECS), st.integers(0, 2**32 - 1), st.floats(0.0, 0.3))
def test_residual_equals_brute_force_procrustes(spec, seed, sigma):
    family, m = spec
    T = shape_template(family, m)
    rng = np.random.default_rng(seed)
    d = T.shape[1] + 1
    V = np.c_[T, np.zeros((m, 1))] @ random_rotation(d, rng) + sigma * rng.normal(size=(m, d))
    match = identify_shape(V)
    # every candidate template's residual is the optimum over all m! correspondences
    # (exhaustive search inside identify_shape up to 6 points; the test's own brute force here)
    # A residual is measured in the top-k principal subspace of V (k the template's dimension). Where
    # singular values k and k + 1 tie (an exact tetrahedron against the square template) that subspace,
    # and so the residual, is arbitrary: rounding decides it. Those candidates are not compared; the true
    # shape's always is (its vectors span exactly k dimensions before the noise).
    s = np.r_[np.linalg.svd(V / np.linalg.norm(V, axis=1, keepdims=True), compute_uv=False), 0.0]
    names = {IdealShape(f, k).name: (f, k) for f, k in SPECS + [("simplex", 6)]}
    compared = []
    for name, residual in match.candidates.items():
        template = shape_template(*names[name])
        k = template.shape[1]
        if s[k - 1] - s[k] > 1e-6 * s[0]:
            assert residual == pytest.approx(brute_force_residual(V, template), abs=1e-7)
            compared.append(name)
    assert IdealShape(family, m).name in compared
    assert match.nearest == min(match.candidates, key=match.candidates.get)
    if sigma < 0.01:
        assert match.label == IdealShape(family, m).name


def test_triangular_bipyramid_and_octahedron():
    rng = np.random.default_rng(0)
    Q = random_rotation(3, rng)
    bipyramid = np.vstack([np.c_[regular_polygon(3), np.zeros(3)], [[0, 0, 1], [0, 0, -1]]]) @ Q
    r = analyze_structure(bipyramid)
    assert sorted(r.shape_labels) == ["digon", "triangle"]
    assert sorted(r.factors.dims) == [1, 2]
    octahedron = cross_polytope(3) @ Q
    r = analyze_structure(octahedron)
    assert r.shape_labels == ["digon"] * 3
    assert r.factors.dims == (1, 1, 1)
    # as a single set of vectors it is the cross-polytope
    assert identify_shape(octahedron).label == "octahedron"
    # and a square antiprism is not mistaken for a cross-polytope or an octagon
    assert identify_shape(square_antiprism() @ Q).label == "square antiprism"


@pytest.mark.parametrize("sparsity", [0.95, 0.99])
def test_trained_five_in_two_is_a_pentagon(sparsity):
    # best of 3 seeds per instance; two instances per sparsity
    res = packing.train_toy_model(
        n_features=5, d=2, sparsity=[sparsity, sparsity], importance=0.9 ** np.arange(5),
        steps=2000, batch_size=512, lr=1e-2, n_seeds=3, rng=1,
    )
    for W in res.W:
        report = analyze_structure(W)
        assert report.shape_labels == ["pentagon"]
        assert report.shapes[0].residual < 0.05
        assert len(report.factors.dropped) == 0


def test_represented_features_against_norms():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(30, 4)) * rng.uniform(0, 1, size=(30, 1))
    W[[0, 1]] = [[5.0, 0, 0, 0], [0, 5.0, 0, 0]]
    kept, dropped, norms = represented_features(W, threshold=0.3)
    brute = [i for i in range(30) if np.sqrt(sum(x * x for x in W[i])) > 0.3 * max(np.linalg.norm(W, axis=1))]
    assert kept.tolist() == brute
    assert sorted(kept.tolist() + dropped.tolist()) == list(range(30))
    kept, dropped, _ = represented_features(W, threshold=0.5, relative=False)
    assert kept.tolist() == [i for i in range(30) if np.linalg.norm(W[i]) > 0.5]
    # dropped rows are reported by tegum_factors, never silently hidden
    W[[3, 7]] = 1e-4
    tf = tegum_factors(W, norm_threshold=1e-3)
    assert tf.dropped.tolist() == [3, 7] and tf.labels[3] == tf.labels[7] == -1


@given(st.integers(2, 12), st.integers(1, 6), st.integers(0, 2**32 - 1), st.floats(0.0, 0.9))
def test_interference_graph_and_factors_match_brute_force(n, d, seed, atol):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, d))
    W[rng.random(n) < 0.3] *= np.eye(d)[rng.integers(0, d)]  # some axis-aligned rows: exact zeros
    c = brute_force_cosines(W)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    want = {pairs[k] for k in range(len(pairs)) if abs(c[k]) > atol}
    G = interference_graph(W, atol=atol)
    assert set(G.edges) == want
    # connected components by union-find on the brute-force edges
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for i, j in want:
        parent[find(i)] = find(j)
    groups = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    tf = tegum_factors(W, atol=atol, norm_threshold=0)
    assert sorted(f.tolist() for f in tf.factors) == sorted(groups.values())
    cross = [abs(c[k]) for k, (i, j) in enumerate(pairs) if find(i) != find(j)]
    assert tf.cross_overlap == pytest.approx(max(cross, default=0.0), abs=1e-12)


def test_subspace_overlap_catches_many_small_overlaps():
    # a has |cos| = 0.2 < atol with each of 25 basis vectors, yet lies in their span
    d = 40
    a = np.zeros(d)
    a[:25] = 1 / 5
    tf = tegum_factors(np.vstack([np.eye(d)[:25], a]), atol=0.25)
    assert len(tf.factors) == 26 and tf.total_dim == 26 <= d
    assert tf.cross_overlap == pytest.approx(0.2)
    assert tf.subspace_overlap == pytest.approx(1.0)
    assert not tf.block_orthogonal
    # moving a out of that span restores block-orthogonality
    tf = tegum_factors(np.vstack([np.eye(d)[:25], np.eye(d)[30]]), atol=0.25)
    assert tf.subspace_overlap == pytest.approx(0.0, abs=1e-12) and tf.block_orthogonal


def brute_force_maximal_orthogonal_sets(W, atol):
    n = len(W)
    c = np.abs(W @ W.T) / np.outer(np.linalg.norm(W, axis=1), np.linalg.norm(W, axis=1))
    ortho = c <= atol
    cliques = [
        set(s)
        for r in range(1, n + 1)
        for s in itertools.combinations(range(n), r)
        if all(ortho[i, j] for i, j in itertools.combinations(s, 2))
    ]
    return sorted(sorted(s) for s in cliques if not any(s < t for t in cliques))


@given(st.integers(1, 9), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_orthogonal_sets_against_brute_force(n, d, seed):
    rng = np.random.default_rng(seed)
    W = np.eye(d)[rng.integers(0, d, size=n)] * rng.choice([-1, 1], size=(n, 1))
    W[rng.random(n) < 0.3] += rng.normal(size=d)
    W[np.linalg.norm(W, axis=1) == 0] = 1.0
    o = orthogonal_sets(W, atol=1e-9)
    assert sorted(s.tolist() for s in o.sets) == brute_force_maximal_orthogonal_sets(W, 1e-9)
    assert o.largest <= d
    assert o.orthogonal_pairs <= o.turan_bound
    # Turán number by brute force: max edges of a complete d-partite graph on n vertices
    parts = [len(range(k, n, d)) for k in range(d)]
    assert o.turan_bound == (n * n - sum(p * p for p in parts)) // 2


def test_turan_attained_by_cross_polytope_and_disjoint_sets():
    rng = np.random.default_rng(1)
    for d in (2, 3, 5):
        o = orthogonal_sets(cross_polytope(d) @ random_rotation(d, rng))
        assert o.orthogonal_pairs == o.turan_bound == 2 * d * d - 2 * d
        assert o.largest == d and not o.disjoint  # overlapping sets: one of each antipodal pair
        assert len(o.sets) == 2**d
    frames = np.vstack([random_rotation(4, rng) for _ in range(3)])
    o = orthogonal_sets(frames, atol=1e-9)
    assert o.disjoint and sorted(s.tolist() for s in o.sets) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert o.orthogonal_pairs == 3 * 6 < o.turan_bound


def test_factor_capacities_by_definition():
    rng = np.random.default_rng(2)
    blocks = [regular_polygon(5), np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]), antipodal_pair()]
    W, labels = embed(blocks, 1, rng)
    caps = factor_capacities(W)
    G = W @ W.T
    for cap in caps:
        for i, c in zip(cap.features, cap.capacity, strict=True):
            assert c == pytest.approx(G[i, i] ** 2 / np.sum(G[i] ** 2))
    by_size = {len(c.features): c for c in caps}
    assert by_size[5].total == pytest.approx(2.0) and by_size[5].saturated
    assert by_size[2].total == pytest.approx(1.0) and by_size[2].saturated
    assert by_size[3].total < 2 - 0.05 and not by_size[3].saturated  # not a tight frame of its plane
    assert sum(c.total for c in caps) == pytest.approx(capacity(W).sum())


@st.composite
def generic_packings(draw):
    n = draw(st.integers(1, 8))
    d = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.normal(size=(n, d)), rng


@given(generic_packings(), st.booleans())
def test_signature_is_gauge_invariant(case, signed):
    W, rng = case
    n, d = W.shape
    V = (W @ random_rotation(d, rng))[rng.permutation(n)] * rng.uniform(0.5, 2, size=(n, 1))
    if not signed:
        V = V * rng.choice([-1.0, 1.0], size=(n, 1))
    assert packing_signature(W, signed=signed) == packing_signature(V, signed=signed)


@given(generic_packings(), st.floats(1e-3, 1.0), st.booleans())
def test_signature_separates_different_packings(case, size, signed):
    W, rng = case
    n, d = W.shape
    assume(d > 1 and n > 1)  # every packing of lines in R^1 / of one vector is the same up to the gauge
    V = W.copy()
    i = rng.integers(n)
    # rotate row i by `size` radians inside a random plane containing it: its angles to the others change
    u = W[i] / np.linalg.norm(W[i])
    v = rng.normal(size=d)
    v -= (v @ u) * u
    v /= np.linalg.norm(v)
    V[i] = np.linalg.norm(W[i]) * (np.cos(size) * u + np.sin(size) * v)
    cos_w, cos_v = brute_force_cosines(W), brute_force_cosines(V)
    # some pairwise angle really changed (not a symmetric move)
    assume(np.max(np.abs(np.sort(np.abs(cos_w)) - np.sort(np.abs(cos_v)))) > 1e-4)
    assert packing_signature(W, signed=signed) != packing_signature(V, signed=signed)


def test_signature_sign_flips_and_dedup():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(6, 3))
    flipped = W * np.array([1, -1, 1, 1, -1, 1.0])[:, None]
    assert packing_signature(W) != packing_signature(flipped)
    assert packing_signature(W, signed=False) == packing_signature(flipped, signed=False)
    # a triangle and three lines at 60 degrees have the same |cos| but are different as vectors
    # and (no sign flips relate them: the product of the three cosines differs in sign) as lines
    tri = regular_polygon(3)
    lines = tri * np.array([1, -1, -1.0])[:, None]
    assert np.allclose(np.abs(tri @ tri.T), np.abs(lines @ lines.T))
    assert packing_signature(tri, signed=False) == packing_signature(lines, signed=False)
    three_60 = np.array([[1.0, 0], [0.5, 3**0.5 / 2], [-0.5, 3**0.5 / 2]])
    assert packing_signature(three_60, signed=False) == packing_signature(tri, signed=False)
    assert packing_signature(three_60) != packing_signature(tri)
    Q = random_rotation(3, rng)
    Ws = [W, flipped, W[::-1] @ Q + 1e-4 * rng.normal(size=W.shape), flipped @ Q]
    reps, labels = deduplicate_packings(Ws)
    assert reps == [0, 1] and labels.tolist() == [0, 1, 0, 1]
    reps, labels = deduplicate_packings(Ws, signed=False)
    assert reps == [0] and labels.tolist() == [0, 0, 0, 0]


def test_summary_mentions_everything():
    W = np.vstack([np.c_[regular_polygon(5), np.zeros((5, 1))], [[0, 0, 1]], [[0, 0, 0]]])
    text = analyze_structure(W).summary()
    for word in ("pentagon", "dedicated", "1 dropped", "Turán", "capacity"):
        assert word in text
    assert analyze_structure(W).feature_shapes.tolist() == ["pentagon"] * 5 + ["dedicated", "dropped"]


def test_graph_helpers_are_networkx():
    G = packing.orthogonality_graph(cross_polytope(2))
    assert isinstance(G, nx.Graph) and G.number_of_edges() == 4


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: tegum_factors([[1, 0]], atol=-0.1), ValueError, "atol must be >= 0.0; got -0.1."),
        (lambda: tegum_factors([[1, 0]], atol=1.5), ValueError, "atol must be <= 1.0; got 1.5."),
        (lambda: tegum_factors("abc"), TypeError, "W must be a real numeric array"),
        (lambda: tegum_factors(np.ones(3)), ValueError, "W must be 2-D"),
        (lambda: identify_shape([[0.0, 0.0]]), ValueError, "V must have nonzero rows; row 0 is zero"),
        (lambda: identify_shape([[1.0, 0.0]], tol=-1), ValueError, "tol must be >= 0.0"),
        (lambda: shape_template("star", 5), ValueError, "family must be one of"),
        (lambda: shape_template("polygon"), ValueError, "m (the number of points) is required"),
        (lambda: shape_template("cross_polytope", 5), ValueError, "m must be even"),
        (lambda: shape_template("rectified_simplex", 7), ValueError, "m must be a triangular number"),
        (lambda: shape_template("digon", 3), ValueError, "m must be 2 for a digon; got 3."),
        (lambda: shape_template("polygon", 2.0), TypeError, "m must be an integer; got float 2.0"),
        (lambda: orthogonal_sets([[1.0]], max_sets=0), ValueError, "max_sets must be >= 1; got 0."),
        (lambda: factor_capacities(np.eye(2), factors=[0, 1]), TypeError, "factors must be a TegumFactors"),
        (lambda: represented_features([[1.0]], threshold=np.nan), ValueError, "threshold must be a finite"),
        (lambda: packing_signature([[1.0]]).distance(3), TypeError, "other must be a PackingSignature"),
        (lambda: deduplicate_packings(np.ones((2, 2))), ValueError, "Ws must be a sequence of (n, d)"),
        (lambda: analyze_structure([[np.inf, 0]]), ValueError, "W must be finite"),
        # every message names the argument as the caller spelled it
        (lambda: tegum_factors([[1, 0]], norm_threshold=-1), ValueError, "norm_threshold must be >= 0.0"),
        (lambda: analyze_structure([[1, 0]], norm_threshold=-1), ValueError, "norm_threshold must be >= 0.0"),
        (lambda: analyze_structure([[1, 0]], atol=1.5), ValueError, "atol must be <= 1.0; got 1.5."),
        (lambda: identify_shape([[1.0, 0.0]], rank_rtol=2), ValueError, "rank_rtol must be <= 1.0; got 2.0."),
        (lambda: orthogonal_sets([[1.0]], atol=-1), ValueError, "atol must be >= 0.0; got -1.0."),
        (lambda: factor_capacities(np.eye(3), tegum_factors(np.eye(2))), ValueError, "must decompose W"),
        (lambda: factor_capacities(np.eye(2), tolerance=1), TypeError, "got 'tolerance'"),
        (lambda: deduplicate_packings([np.eye(2), "ab"]), TypeError, "Ws[1] must be a real numeric array"),
        (lambda: packing_signature([[1.0]]).matches(None), TypeError, "other must be a PackingSignature"),
        (lambda: IdealShape("star"), ValueError, "family must be one of"),
        (lambda: IdealShape("polygon", 2), ValueError, "m must be >= 3; got 2."),
    ],
)
def test_bad_input(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


def test_seeded_search_finds_the_optimum_for_eight_points():
    """Beyond 6 points the correspondence search is seeded; check it against all 8! of them."""
    rng = np.random.default_rng(4)
    perms = np.array(list(itertools.permutations(range(8))))
    for family in ("square_antiprism", "polygon", "cross_polytope"):
        T0 = shape_template(family, 8)
        k = T0.shape[1]
        V = np.c_[T0, np.zeros((8, 1))] @ random_rotation(k + 1, rng) + 0.05 * rng.normal(size=(8, k + 1))
        match = identify_shape(V)
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
        X = U @ np.linalg.svd(U, full_matrices=False)[2][:k].T
        out = np.sum(U * U) - np.sum(X * X)
        # the antiprism is matched over its free height; the other shapes have one template
        templates = [antiprism(h) for h in ANTIPRISM_HEIGHTS] if family == "square_antiprism" else [T0]
        best = np.inf
        for T in templates:
            Tp = T[perms]  # (8!, 8, k)
            u, _, vt = np.linalg.svd(np.einsum("mi,pmj->pij", X, Tp))
            r2 = np.sum((np.einsum("mi,pij->pmj", X, u @ vt) - Tp) ** 2, axis=(1, 2))
            best = min(best, float(r2.min()))
        name = IdealShape(family, 8).name
        assert match.label == name
        assert match.candidates[name] == pytest.approx(np.sqrt((best + out) / 8), abs=1e-9)


def antiprism(z):
    """Square antiprism of unit vectors at height z: a square at +z and one turned by 45 degrees at -z."""
    t = np.pi / 2 * np.arange(4)
    ring = np.c_[np.cos(t), np.sin(t)] * np.sqrt(1 - z * z)
    twisted = np.c_[np.cos(t + np.pi / 4), np.sin(t + np.pi / 4)] * np.sqrt(1 - z * z)
    return np.vstack([np.c_[ring, np.full(4, z)], np.c_[twisted, np.full(4, -z)]])


def test_tight_square_antiprism_is_recognised():
    # toy models learn the tight antiprism (height 1/sqrt(3), dimensionality 3/8 per feature)
    A = antiprism(1 / np.sqrt(3))
    rng = np.random.default_rng(0)
    m = identify_shape(A @ random_rotation(3, rng) + 0.01 * rng.normal(size=(8, 3)))
    assert m.label == "square antiprism" and m.residual < 0.02
    assert packing.feature_dimensionality(A) == pytest.approx(np.full(8, 3 / 8))


def test_rectified_simplex_template_by_definition():
    # the rectified 5-cell: midpoints of the 10 edges of the regular 4-simplex, 10 unit vectors in R^4
    T = shape_template("rectified_simplex", 10)
    assert T.shape == (10, 4)
    G = T @ T.T
    off = np.round(G[np.triu_indices(10, 1)], 9)
    # edges sharing a vertex: cos 1/6 (30 pairs); disjoint edges: cos -2/3 (15 pairs)
    assert sorted(set(off.tolist())) == [round(-2 / 3, 9), round(1 / 6, 9)]
    assert np.sum(off > 0) == 30
    assert packing.feature_dimensionality(T) == pytest.approx(np.full(10, 0.4))  # a tight frame of R^4
    rng = np.random.default_rng(0)
    perm = rng.permutation(10)
    V = np.c_[T, np.zeros((10, 2))][perm] @ random_rotation(6, rng)
    noisy = V + 0.01 * rng.normal(size=V.shape)
    m = identify_shape(noisy)
    assert m.label == "rectified 5-cell" and m.dim == 4
    # 10! correspondences are too many to try here; the matcher must do at least as well as the true
    # correspondence and as the clean rows themselves
    assert m.residual <= brute_force_residual(noisy, T, perms=[perm]) + 1e-9
    U = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    assert m.residual <= np.sqrt(np.sum((U - V) ** 2) / 10) < 0.03  # noise 0.01 in each of 6 coordinates
    R5 = np.c_[shape_template("rectified_simplex", 15), np.zeros(15)]
    assert identify_shape(R5).label == "rectified 5-simplex"


VOCABULARY = [("dedicated", 1), ("digon", 2), *(("polygon", m) for m in range(3, 10)),
              *(("simplex", m) for m in range(2, 8)), *(("cross_polytope", m) for m in (2, 4, 6, 8)),
              ("square_antiprism", 8), *(("rectified_simplex", m) for m in (3, 6, 10))]


@pytest.mark.parametrize("family, m", VOCABULARY)
def test_vocabulary_names_are_what_identify_shape_reports(family, m):
    # one vocabulary: a shape's name, dimension and template agree with what the matcher reports,
    # also for shapes two families share (the 1-simplex is the digon, the rectified 3-simplex the octahedron)
    shape = IdealShape(family, m)
    T = shape_template(family, m)
    assert T.shape == (m, shape.dim)
    assert np.linalg.matrix_rank(T) == shape.dim
    rng = np.random.default_rng(m)
    V = np.c_[T, np.zeros((m, 1))][rng.permutation(m)] @ random_rotation(shape.dim + 1, rng)
    match = identify_shape(V)
    assert match.label == shape.name and match.residual < 1e-6


def test_common_shapes_have_the_published_dimensionalities():
    # Elhage et al. 2022 ("Toy Models of Superposition", feature dimensionality): the fractions toy models
    # learn, each the feature dimensionality of every point of its (tight) shape
    published = {"1": 1.0, "3/4": 0.75, "2/3": 2 / 3, "1/2": 0.5, "2/5": 0.4, "3/8": 0.375}
    assert packing.SHAPE_FRACTIONS == published
    assert [s.name for s in packing.COMMON_SHAPES] == [
        "dedicated", "tetrahedron", "triangle", "digon", "pentagon", "square antiprism"
    ]
    for shape in packing.COMMON_SHAPES:
        if shape.family == "square_antiprism":
            tight = antiprism(1 / np.sqrt(3))
        else:
            tight = shape_template(shape.family, shape.m)
        dims = packing.feature_dimensionality(tight)
        assert dims == pytest.approx(np.full(shape.m, published[shape.fraction]))


def test_every_figure_colours_shapes_from_the_vocabulary():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    colors = packing.SHAPE_COLORS
    labels = [s.name for s in packing.COMMON_SHAPES] + ["ambiguous", "other", "dropped", "hexagon"]
    assert set(labels[:-1]) <= set(colors) and len(set(colors.values())) == len(colors)
    fig, ax = plt.subplots()
    try:
        packing.plot_feature_dimensionality(ax, np.ones(len(labels)), np.linspace(0, 1, len(labels)), labels)
        drawn = {c.get_label().split(" (")[0]: to_hex(c.get_facecolor()[0]) for c in ax.collections}
    finally:
        plt.close(fig)
    assert {k: v for k, v in drawn.items() if k in colors} == {k: colors[k] for k in labels[:-1]}
    assert drawn["hexagon"] not in colors.values()  # a shape outside the table gets a colour of its own
