import itertools
import math

import numpy as np
import pytest
from helpers import brute_force_cosines
from hypothesis import given
from hypothesis import strategies as st

from packing import (
    antipodal_pair,
    cross_polytope,
    digon,
    equiangular_lines_28,
    equiangular_tight_frame,
    etf_exists,
    etf_sizes,
    exact_coherence,
    hadamard_matrix,
    icosahedron_lines,
    known_optimum,
    mutually_unbiased_bases,
    orthonormal_basis,
    overlapping_orthogonal_sets,
    partition_sizes,
    random_packing,
    regular_polygon,
    regular_polygon_lines,
    regular_simplex,
    square_antiprism,
    tegum_packing,
    tegum_product,
    welch_bound,
)


def gram(W):
    return np.asarray(W) @ np.asarray(W).T


def off_diagonal(G):
    return G[~np.eye(G.shape[0], dtype=bool)]


def assert_unit_rows(W):
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8])
def test_polygon_lines_are_at_angle_pi_over_m(m):
    W = regular_polygon_lines(m)
    assert W.shape == (m, 2)
    assert_unit_rows(W)
    angles = np.arctan2(W[:, 1], W[:, 0])
    np.testing.assert_allclose(np.diff(angles), np.pi / m, atol=1e-12)
    if m > 1:
        assert np.abs(brute_force_cosines(W)).max() == pytest.approx(exact_coherence(m, 2), abs=1e-12)


@pytest.mark.parametrize("m", [1, 3, 4, 7])
def test_polygon_points_are_the_m_th_roots_of_unity(m):
    W = regular_polygon(m)
    z = W[:, 0] + 1j * W[:, 1]
    np.testing.assert_allclose(z**m, 1.0, atol=1e-12)
    assert len(np.unique(np.round(np.angle(z), 9))) == m


def test_digon():
    np.testing.assert_array_equal(antipodal_pair(), [[1.0], [-1.0]])
    assert digon is antipodal_pair


@pytest.mark.parametrize("m", [2, 3, 4, 9])
def test_simplex_is_equiangular_and_centred(m):
    S = regular_simplex(m)
    assert S.shape == (m, m - 1)
    assert_unit_rows(S)
    np.testing.assert_allclose(off_diagonal(gram(S)), -1.0 / (m - 1), atol=1e-12)
    np.testing.assert_allclose(S.sum(axis=0), 0.0, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_cross_polytope_and_basis(d):
    X = cross_polytope(d)
    assert X.shape == (2 * d, d)
    G = gram(X)
    # each row has exactly one antipode and is orthogonal to all others
    assert np.sum(np.isclose(G, -1.0)) == 2 * d
    assert np.sum(np.isclose(G, 0.0)) == (2 * d) ** 2 - 4 * d
    np.testing.assert_array_equal(gram(orthonormal_basis(d)), np.eye(d))


def test_square_antiprism_has_sixteen_equal_edges_and_tammes_angle():
    A = square_antiprism()
    assert A.shape == (8, 3)
    assert_unit_rows(A)
    dist = np.linalg.norm(A[:, None] - A[None], axis=-1)
    edge = dist[dist > 1e-9].min()
    assert np.sum(np.isclose(dist, edge, atol=1e-12)) == 2 * 16
    # Tammes problem, N = 8: minimal angle 74.8585° (Schütte & van der Waerden 1951)
    assert math.degrees(2 * math.asin(edge / 2)) == pytest.approx(74.8585, abs=1e-4)
    # antiprism symmetry: top square rotated by 45° about z gives the bottom square mirrored
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, -1.0]])
    np.testing.assert_allclose(A[:4] @ R.T, A[4:], atol=1e-12)


@pytest.mark.parametrize(
    "W, n, d",
    [(icosahedron_lines(), 6, 3), (equiangular_lines_28(), 28, 7)],
    ids=["icosahedron", "28-lines"],
)
def test_classical_equiangular_lines_meet_welch(W, n, d):
    assert W.shape == (n, d)
    assert_unit_rows(W)
    np.testing.assert_allclose(np.abs(off_diagonal(gram(W))), welch_bound(n, d), atol=1e-12)


@pytest.mark.parametrize("n, d", etf_sizes(130) + [(5, 4), (7, 1), (4, 4)])
def test_etfs_are_equiangular_tight_frames(n, d):
    F = equiangular_tight_frame(n, d)
    assert F.shape == (n, d) and F.dtype == np.float64
    assert_unit_rows(F)
    if n > 1:
        np.testing.assert_allclose(np.abs(off_diagonal(gram(F))), welch_bound(n, d), atol=1e-9)
    np.testing.assert_allclose(F.T @ F, n / d * np.eye(d), atol=1e-9)


def test_etf_catalog_contains_the_classical_sizes():
    sizes = set(etf_sizes(130))
    for s in [(6, 3), (10, 5), (16, 6), (16, 10), (28, 7), (36, 15), (36, 21), (64, 28), (120, 35)]:
        assert s in sizes


@pytest.mark.parametrize(
    "n, d, known, fragment",
    [
        (8, 3, False, "Gerzon"),
        (7, 4, False, "Naimark complement"),
        (21, 7, False, "odd integer"),
        (12, 6, False, "2 (mod 4)"),
        (22, 11, False, "sum of two squares"),
        (276, 23, None, "not constructible here"),
    ],
)
def test_etf_nonexistence_reasons(n, d, known, fragment):
    got, reason = etf_exists(n, d)
    assert got is known and fragment in reason
    with pytest.raises(ValueError, match=f"n={n} .*d={d}"):
        equiangular_tight_frame(n, d)


@pytest.mark.parametrize("m", [1, 2, 4, 8, 12, 20, 28, 36, 64])
def test_hadamard(m):
    H = hadamard_matrix(m)
    assert set(np.unique(H)) <= {-1, 1}
    np.testing.assert_array_equal(H @ H.T, m * np.eye(m))


@pytest.mark.parametrize("d, m", [(2, 2), (4, 3), (8, 2), (12, 2), (16, 9), (16, 4)])
def test_mutually_unbiased_bases(d, m):
    B = mutually_unbiased_bases(d, m)
    assert B.shape == (m * d, d)
    G = np.abs(gram(B))
    sets = np.arange(m * d) // d
    same = sets[:, None] == sets[None]
    np.testing.assert_allclose(G[same], np.eye(m * d)[same], atol=1e-12)
    np.testing.assert_allclose(G[~same], 1 / math.sqrt(d), atol=1e-12)


def test_tegum_product_blocks_orthogonal_and_preserved():
    blocks = [regular_simplex(4), regular_polygon_lines(5), antipodal_pair()]
    W, labels = tegum_product(*blocks, return_labels=True)
    assert W.shape == (4 + 5 + 2, 3 + 2 + 1)
    G = gram(W)
    assert np.all(G[labels[:, None] != labels[None]] == 0.0)
    for b, B in enumerate(blocks):
        np.testing.assert_allclose(G[np.ix_(labels == b, labels == b)], gram(B), atol=1e-15)
    R = tegum_product(*blocks, rotate=True, rng=3)
    np.testing.assert_allclose(gram(R), G, atol=1e-12)
    assert not np.allclose(R, W)
    np.testing.assert_array_equal(R, tegum_product(*blocks, rotate=True, rng=3))


@given(st.integers(1, 60), st.integers(1, 30), st.data())
def test_partition_sizes_are_balanced(n, d, data):
    k = data.draw(st.integers(1, min(n, d)))
    sizes = partition_sizes(n, d, k)
    ns, ds = zip(*sizes, strict=True)
    assert len(sizes) == k and sum(ns) == n and sum(ds) == d
    assert max(ns) - min(ns) <= 1 and max(ds) - min(ds) <= 1 and min(ds) >= 1
    # more features never paired with fewer dimensions
    for (a, x), (b, y) in itertools.combinations(sizes, 2):
        assert not (a > b and x < y)


@pytest.mark.parametrize("block", ["best", "simplex", "polygon", "random"])
def test_tegum_packing_modes(block):
    n, d, k = {"best": (18, 9, 3), "simplex": (12, 9, 3), "polygon": (12, 6, 3), "random": (13, 7, 3)}[block]
    W, labels = tegum_packing(n, d, k, block=block, rng=0, return_labels=True)
    assert W.shape == (n, d)
    assert_unit_rows(W)
    G = gram(W)
    assert np.abs(G[labels[:, None] != labels[None]]).max() == 0.0
    np.testing.assert_array_equal(np.bincount(labels), [n_b for n_b, _ in partition_sizes(n, d, k)])


def test_tegum_packing_best_blocks_meet_welch():
    W, labels = tegum_packing(18, 9, 3, return_labels=True)  # three 6-in-3 icosahedral blocks
    G = np.abs(gram(W))
    inside = (labels[:, None] == labels[None]) & ~np.eye(18, dtype=bool)
    np.testing.assert_allclose(G[inside], welch_bound(6, 3), atol=1e-12)


def test_tegum_packing_callable_block_and_bad_shape():
    W = tegum_packing(6, 4, 2, block=lambda m, D, rng: np.ones((m, D)))
    assert W.shape == (6, 4)
    with pytest.raises(ValueError, match=r"block returned shape \(3, 1\) for block 0; expected \(3, 2\)"):
        tegum_packing(6, 4, 2, block=lambda m, D, rng: np.ones((m, 1)))


@pytest.mark.parametrize("n, d", [(10, 4), (8, 4), (3, 5), (7, 1)])
def test_overlapping_sets(n, d):
    W, labels = overlapping_orthogonal_sets(n, d, rng=1, return_labels=True)
    assert W.shape == (n, d)
    assert_unit_rows(W)
    G = gram(W)
    same = (labels[:, None] == labels[None]) & ~np.eye(n, dtype=bool)
    assert np.abs(G[same]).max(initial=0.0) < 1e-12
    np.testing.assert_array_equal(np.bincount(labels), [min(d, n - s * d) for s in range(-(-n // d))])
    np.testing.assert_array_equal(W, overlapping_orthogonal_sets(n, d, rng=1))


def test_overlapping_mub_cross_coherence():
    W = overlapping_orthogonal_sets(40, 16, kind="mub")
    G = np.abs(gram(W))
    assert G[:16, 16:].min() == pytest.approx(0.25) and G[:16, 16:].max() == pytest.approx(0.25)


def test_random_packing_cosine_variance_is_one_over_d():
    W = random_packing(600, 50, rng=0)
    assert_unit_rows(W)
    c = off_diagonal(gram(W))
    # E cos² = 1/d for independent uniform directions; 179,700 pairs, loose tolerance
    assert np.mean(c**2) == pytest.approx(1 / 50, rel=0.05)
    np.testing.assert_array_equal(W, random_packing(600, 50, rng=0))


BAD = [
    (regular_polygon_lines, (0,), ValueError, "m must be >= 1; got 0"),
    (regular_simplex, (1,), ValueError, "m must be >= 2; got 1"),
    (cross_polytope, (2.5,), TypeError, "d must be an integer"),
    (hadamard_matrix, (6,), ValueError, "m must be 1, 2 or a multiple of 4"),
    (equiangular_tight_frame, (3, 5), ValueError, "d <= n"),
    (equiangular_tight_frame, (8, 3), ValueError, r"no real equiangular tight frame .*\(Gerzon.*\[4, 6\]"),
    (mutually_unbiased_bases, (6, 2), ValueError, "Hadamard matrix of order d=6"),
    (mutually_unbiased_bases, (4, 4), ValueError, r"m must be <= d/2 \+ 1 = 3"),
    (mutually_unbiased_bases, (8, 3), ValueError, "only for d = 4 and 16"),
    (partition_sizes, (10, 4, 5), ValueError, r"k must be <= min\(n, d\) = 4"),
    (partition_sizes, (10, 4, 0), ValueError, "k must be >= 1"),
    (tegum_product, (), ValueError, "blocks must hold at least one packing"),
    (tegum_product, (np.ones(3),), ValueError, r"blocks\[0\] must be 2-D"),
    (random_packing, (3, 2.0), TypeError, "d must be an integer"),
]


@pytest.mark.parametrize("fn, args, exc, msg", BAD, ids=[f"{b[0].__name__}{b[1]}" for b in BAD])
def test_bad_input(fn, args, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(*args)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        (dict(block="square"), ValueError, "block must be 'simplex', 'polygon', 'best', 'random'"),
        (dict(block="simplex"), ValueError, "block='simplex' needs every block to have n_b <= d_b \\+ 1"),
        (dict(block="best"), ValueError, "no exact optimal packing of 7 lines in R\\^3"),
        (dict(rng="seed"), TypeError, "rng must be None"),
    ],
)
def test_bad_tegum_packing_options(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        tegum_packing(14, 6, 2, **kwargs)


def test_bad_overlapping_kind():
    with pytest.raises(ValueError, match="kind must be 'random' or 'mub'"):
        overlapping_orthogonal_sets(4, 2, kind="orthoplex")


def test_tegum_packing_explicit_uneven_sizes_and_two_argument_callable():
    sizes = [(2, 1), (2, 1), (4, 2)]
    W, labels = tegum_packing(8, 4, sizes, block=lambda m, D: np.eye(D)[np.arange(m) % D], return_labels=True)
    np.testing.assert_array_equal(np.bincount(labels), [2, 2, 4])
    assert np.abs(gram(W)[labels[:, None] != labels[None]]).max() == 0.0


@pytest.mark.parametrize(
    "k, exc, msg",
    [
        ([(6, 2), (1, 1)], ValueError, r"must add up to \(n, d\) = \(8, 3\); got .* adding up to \(7, 3\)"),
        ([(8, 3, 1)], ValueError, "non-empty sequence of"),
        ([], ValueError, "non-empty sequence of"),
        ([(8, 0)], ValueError, r"k\[0\]\[1\] must be >= 1"),
        (2.0, TypeError, "k must be an int or a sequence"),
    ],
)
def test_tegum_packing_bad_block_sizes(k, exc, msg):
    with pytest.raises(exc, match=msg):
        tegum_packing(8, 3, k)


def test_overlapping_mub_names_n_when_too_many_bases():
    with pytest.raises(ValueError, match=r"kind='mub': n=24 features in d=8 dims need 3 .*only for d = 4"):
        overlapping_orthogonal_sets(24, 8, kind="mub")


def test_public_names_survive_the_module_split():
    # the constructions package re-exports every public name of its modules, and packing re-exports them
    import packing
    import packing.constructions as c

    public = """regular_polygon regular_simplex cross_polytope antipodal_pair square_antiprism tegum_product
        tegum_packing orthonormal_basis overlapping_orthogonal_sets random_packing equiangular_tight_frame
        etf_exists etf_sizes hadamard_matrix mutually_unbiased_bases best_known_block haar_rotation
        partition_sizes icosahedron_lines equiangular_lines_28 regular_polygon_lines digon
        known_optimum""".split()
    assert set(public) <= set(c.__all__)
    assert all(getattr(packing, name) is getattr(c, name) for name in public)
    assert c.digon is c.antipodal_pair
    assert c.known_optimum(6, 3) is not None and c.known_optimum(8, 3) is None


@pytest.mark.parametrize(
    "n, d", [(3, 5), (4, 1), (7, 2), (8, 2), (5, 4), (6, 3), (10, 5), (16, 6), (28, 7), (36, 15), (16, 10)]
)
def test_known_optimum_entries_meet_their_definitions(n, d):
    # every registry entry: its packing has the stated coherence, its closed-form spectrum matches a
    # brute-force pair count, and its optimality proof holds (the Welch bound is met, or a closed form)
    entry = known_optimum(n, d)
    W = entry.build()
    assert W.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-12)
    cos = np.abs(brute_force_cosines(W))
    cos[cos < 1e-12] = 0.0  # exactly perpendicular pairs, up to rounding
    assert entry.coherence == pytest.approx(cos.max() if cos.size else 0.0, abs=1e-12)
    spectrum = entry.pair_spectrum()
    assert sum(spectrum.values()) == (n * (n - 1) // 2 if entry.name != "orthonormal" else 0)
    for p in (0.5, 1.0, 2.0, 3.5):
        assert entry.moment(p) == pytest.approx(float(np.sum(cos**p)), rel=1e-9, abs=1e-12)
    if entry.proof == "welch":
        assert entry.coherence == pytest.approx(math.sqrt((n - d) / (d * (n - 1))), abs=1e-12)


def test_known_optimum_is_none_where_nothing_is_known_and_validates():
    assert known_optimum(7, 3) is None and known_optimum(9, 4) is None
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        known_optimum(0, 3)
    with pytest.raises(TypeError, match="d must be an integer"):
        known_optimum(3, "3")
