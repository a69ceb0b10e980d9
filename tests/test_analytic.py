import itertools
import math

import numpy as np
import pytest
from helpers import brute_force_cosines
from hypothesis import assume, given
from hypothesis import strategies as st

from packing import (
    PairSpectrum,
    admissible_k,
    antipodal_pair,
    construction_spectrum,
    cross_polytope,
    equiangular_lines_28,
    equiangular_tight_frame,
    etf_sizes,
    expected_random_moment,
    icosahedron_lines,
    interference_moment,
    mutually_unbiased_bases,
    optimal_k,
    orthogonal_pairs,
    orthonormal_basis,
    overlapping_orthogonal_pairs,
    overlapping_orthogonal_sets,
    random_packing,
    regular_polygon,
    regular_polygon_lines,
    regular_simplex,
    square_antiprism,
    tegum_has_more_orthogonal_pairs,
    tegum_loss,
    tegum_loss_regime,
    tegum_losses,
    tegum_orthogonal_pairs,
    tegum_packing,
    tegum_product,
    tegum_spectrum,
    turan_orthogonal_pairs,
    turan_packing,
)
from packing.testing.strategies import tegum_products

ORDERS = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 7.5, np.inf])


def noise(n_pairs, p):
    """Absolute slack for Σ|cos|^p: exact zeros computed as ~1e-15 contribute up to that^p each."""
    return 1e-12 if np.isinf(p) else n_pairs * 1e-14 ** min(p, 1.0)


def ordered_loss(W, p):
    """Σ_{i≠j} |cos|^p by brute force (p = inf: the coherence)."""
    c = np.abs(brute_force_cosines(W))
    if np.isinf(p):
        return float(c.max())
    return 2.0 * float(np.sum(c**p))


# ---------------------------------------------------------------- the issue's example values


def test_issue_example_values_p1():
    # L(1) = n (n - 1) sqrt((n - d)/(d (n - 1))) for n=1000, d=100
    assert tegum_loss(1000, 100, 1, 1) == pytest.approx(1000 * 999 * math.sqrt(900 / (100 * 999)))
    assert round(tegum_loss(1000, 100, 1, 1)) == 94821
    assert tegum_loss(1000, 100, 100, 1) == pytest.approx(9000.0, rel=1e-14)


@given(st.integers(2, 200), st.integers(1, 60))
def test_p2_loss_is_frame_potential_for_every_k(n, d):
    assume(n > d)
    for k in admissible_k(n, d):
        assert tegum_loss(n, d, k, 2) == pytest.approx(n * n / d - n, rel=1e-12)


@given(st.integers(2, 300), st.integers(1, 100), st.floats(0.1, 8.0))
def test_regimes_and_optimal_k(n, d, p):
    assume(n > d and abs(p - 2) > 1e-6)
    ks = admissible_k(n, d)
    losses = [tegum_loss(n, d, k, p) for k in ks]
    # independent closed form of the minimizer: p < 2 -> largest k, p > 2 -> k = 1
    if p < 2:
        assert all(a > b for a, b in itertools.pairwise(losses)) or len(ks) == 1
        assert optimal_k(n, d, p) == math.gcd(n, d)
        assert tegum_loss_regime(p) == "decreasing"
    else:
        assert all(a < b for a, b in itertools.pairwise(losses)) or len(ks) == 1
        assert optimal_k(n, d, p) == 1
        assert tegum_loss_regime(p) == "increasing"
    assert optimal_k(n, d, 2) == 1 and tegum_loss_regime(2) == "constant"


def test_admissible_k_are_common_divisors():
    for n, d in [(12, 8), (1000, 100), (7, 3)]:
        want = [k for k in range(1, min(n, d) + 1) if n % k == 0 and d % k == 0]
        assert admissible_k(n, d) == want


# sizes (n_b, d_b) whose equal-norm tight frame at the Welch value is built exactly
BLOCKS = [(m, D) for m, D in etf_sizes(40) if m <= 18] + [(3, 2), (4, 3), (5, 4), (3, 1), (2, 1)]


@given(st.sampled_from(BLOCKS), st.integers(1, 3), ORDERS, st.booleans())
def test_tegum_loss_matches_built_tegum_products(block, k, p, rotate):
    m, D = block
    n, d = k * m, k * D
    W = tegum_packing(n, d, k, block="best", rotate=rotate, rng=1)
    assert ordered_loss(W, p) == pytest.approx(tegum_loss(n, d, k, p), rel=1e-9, abs=noise(n * n, p))
    if not np.isinf(p):
        half = ordered_loss(W, p) / 2
        assert tegum_loss(n, d, k, p, ordered=False) == pytest.approx(half, rel=1e-9, abs=noise(n * n, p))


# ---------------------------------------------------------------- orthogonal pairs


@given(tegum_products(blocks=(1, 4), block_n=(1, 5), block_d=(1, 3)))
def test_tegum_orthogonal_pairs_match_the_built_product(case):
    W, labels = case
    sizes = np.bincount(labels).tolist()
    within = [orthogonal_pairs(W[labels == b], atol=1e-9) for b in range(len(sizes))]
    assert tegum_orthogonal_pairs(sizes, within=within) == orthogonal_pairs(W, atol=1e-9)


@given(st.integers(1, 40), st.integers(1, 8), st.integers(0, 10))
def test_overlapping_orthogonal_pairs_match_random_sets(n, d, seed):
    W = overlapping_orthogonal_sets(n, d, rng=seed)
    assert overlapping_orthogonal_pairs(n, d) == orthogonal_pairs(W, atol=1e-9)


@given(st.integers(1, 4), st.integers(1, 3), st.integers(2, 4))
def test_tegum_vs_overlapping_comparison_against_built_arrays(k, a, t):
    # k equal blocks of m = a t features in a dims each: n = k m, d = k a, and d | n
    m = a * t
    n, d = k * m, k * a
    tegum = tegum_packing(n, d, k, block="random", rng=0)
    overlap = overlapping_orthogonal_sets(n, d, rng=0)
    t_count = orthogonal_pairs(tegum, atol=1e-9)
    o_count = orthogonal_pairs(overlap, atol=1e-9)
    # spread random blocks (m > a) hold no orthogonal pairs with probability 1
    assert t_count == tegum_orthogonal_pairs([m] * k) == (n * n - k * m * m) // 2
    assert o_count == overlapping_orthogonal_pairs(n, d) == n * (d - 1) // 2
    assert tegum_has_more_orthogonal_pairs(n, d, k) == (t_count > o_count)


def test_comparison_exact_form_differs_from_the_approximate_one():
    # n (1 - 1/k) = d: the approximate "d < n (1 - 1/k)" says no, the exact count says yes
    n, d, k = 6, 3, 2
    assert not d < n * (1 - 1 / k)
    W = tegum_packing(n, d, k, block="random", rng=0)
    assert orthogonal_pairs(W) == 9 > overlapping_orthogonal_pairs(n, d) == 6
    assert tegum_has_more_orthogonal_pairs(n, d, k)


def max_edges_without_clique(n, r):
    """Brute force: most edges of a graph on n vertices without a clique of r vertices."""
    edges = list(itertools.combinations(range(n), 2))
    cliques = [set(itertools.combinations(c, 2)) for c in itertools.combinations(range(n), r)]
    best = 0
    for mask in range(1 << len(edges)):
        chosen = {e for i, e in enumerate(edges) if mask >> i & 1}
        if len(chosen) > best and not any(c <= chosen for c in cliques):
            best = len(chosen)
    return best


@pytest.mark.parametrize("n, d", [(3, 1), (4, 2), (5, 2), (5, 3), (5, 4), (6, 2), (4, 1)])
def test_turan_bound_brute_force(n, d):
    assert turan_orthogonal_pairs(n, d) == max_edges_without_clique(n, d + 1)


@given(st.integers(1, 30), st.integers(1, 8))
def test_turan_packing_attains_the_bound(n, d):
    W, labels = turan_packing(n, d, return_labels=True)
    assert orthogonal_pairs(W) == turan_orthogonal_pairs(n, d)
    assert np.all(np.linalg.norm(W, axis=1) == 1)
    assert turan_orthogonal_pairs(n, d) >= tegum_orthogonal_pairs(np.bincount(labels).tolist())


@given(st.integers(1, 14), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_no_coordinate_packing_beats_turan(n, d, seed):
    rng = np.random.default_rng(seed)
    W = np.eye(d)[rng.integers(0, d, n)] * rng.choice([-1.0, 1.0], size=(n, 1))
    assert orthogonal_pairs(W) <= turan_orthogonal_pairs(n, d)


# ---------------------------------------------------------------- spectra


def spectrum_cases():
    return [
        ("polygon_lines", (7,), regular_polygon_lines(7)),
        ("polygon_lines", (6,), regular_polygon_lines(6)),
        ("polygon", (8,), regular_polygon(8)),
        ("polygon", (5,), regular_polygon(5)),
        ("antipodal_pair", (), antipodal_pair()),
        ("simplex", (6,), regular_simplex(6)),
        ("cross_polytope", (4,), cross_polytope(4)),
        ("orthonormal_basis", (5,), orthonormal_basis(5)),
        ("square_antiprism", (), square_antiprism()),
        ("icosahedron_lines", (), icosahedron_lines()),
        ("equiangular_lines_28", (), equiangular_lines_28()),
        ("etf", (16, 6), equiangular_tight_frame(16, 6)),
        ("etf", (10, 5), equiangular_tight_frame(10, 5)),
        ("mub", (4, 3), mutually_unbiased_bases(4, 3)),
        ("coincident_lines", (4,), np.ones((4, 1))),
        ("turan", (11, 3), turan_packing(11, 3)),
        ("turan", (2, 3), turan_packing(2, 3)),
    ]


CASES = spectrum_cases()


@given(st.sampled_from(CASES), ORDERS)
def test_closed_form_moments_match_numerical_statistics(case, p):
    name, args, W = case
    s = construction_spectrum(name, *args)
    assert s.n == W.shape[0] and sum(s.counts) == s.n_pairs
    assert s.moment(p) == pytest.approx(interference_moment(W, p), rel=1e-9, abs=noise(s.n_pairs, p))


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_spectrum_is_the_sorted_cosine_multiset(case):
    name, args, W = case
    s = construction_spectrum(name, *args)
    expanded = np.repeat(s.values, s.counts)
    np.testing.assert_allclose(np.sort(np.abs(brute_force_cosines(W))), expanded, atol=1e-11)
    assert s.orthogonal_pairs == orthogonal_pairs(W)
    assert s.coherence == pytest.approx(np.abs(brute_force_cosines(W)).max(), abs=1e-12)


@given(st.lists(st.sampled_from(CASES[:8]), min_size=1, max_size=3), ORDERS)
def test_tegum_spectrum_matches_built_product(cases, p):
    s = tegum_spectrum(*(construction_spectrum(name, *args) for name, args, _ in cases))
    W = tegum_product(*(W for _, _, W in cases), rotate=True, rng=0)
    assert s.moment(p) == pytest.approx(interference_moment(W, p), rel=1e-9, abs=noise(s.n_pairs, p))
    assert s.orthogonal_pairs == orthogonal_pairs(W)


@pytest.mark.parametrize("d, p", [(3, 1.0), (8, 2.0), (8, 3.0), (20, 0.5)])
def test_expected_random_moment_by_monte_carlo(d, p):
    n = 40
    samples = [interference_moment(random_packing(n, d, rng=s), p) for s in range(40)]
    # 40 x 780 pairs; the pairs of one packing are dependent, so allow 4%
    assert np.mean(samples) == pytest.approx(expected_random_moment(n, d, p), rel=0.04)


def test_expected_random_moment_p2_is_pairs_over_d():
    for n, d in [(2, 10), (50, 7), (1000, 100)]:
        assert expected_random_moment(n, d, 2) == pytest.approx(n * (n - 1) / 2 / d, rel=1e-12)


def test_overlapping_random_sets_expected_loss():
    # within-set pairs are 0, cross-set pairs are independent uniform pairs
    n, d = 24, 6
    samples = [interference_moment(overlapping_orthogonal_sets(n, d, rng=s), 1.0) for s in range(60)]
    cross = n * (n - 1) // 2 - overlapping_orthogonal_pairs(n, d)
    want = expected_random_moment(2, d, 1.0) * cross
    assert np.mean(samples) == pytest.approx(want, rel=0.04)


BAD = [
    (tegum_loss, (1000, 100, 3, 1), ValueError, r"k must divide both n=1000 and d=100 .*k: \[1, 2,"),
    (tegum_loss, (10, 5, 1, -1), ValueError, "p must be > 0"),
    (tegum_loss, (10, 5, 1.0, 1), TypeError, "k must be an integer"),
    (optimal_k, (10, 5, "inf"), TypeError, "p must be a real number"),
    (tegum_orthogonal_pairs, ([],), ValueError, "block_sizes must hold at least one block size"),
    (tegum_orthogonal_pairs, ([3, 0],), ValueError, r"block_sizes\[1\] must be >= 1"),
    (tegum_orthogonal_pairs, ("33",), TypeError, "block_sizes must be a sequence"),
    (tegum_has_more_orthogonal_pairs, (9, 3, 2), ValueError, "k must divide n=9"),
    (tegum_has_more_orthogonal_pairs, (9, 2, 3), ValueError, r"d must divide n=9 for n/d whole bases"),
    (turan_orthogonal_pairs, (5, 0), ValueError, "d must be >= 1"),
    (construction_spectrum, ("simplex", 1), ValueError, r"args\[0\] must be >= 2"),
    (construction_spectrum, ("simplex",), TypeError, "takes 1 size"),
    (construction_spectrum, ("etf", 8, 3), ValueError, "no real ETF of n=8 vectors in d=3 .*Gerzon"),
    (construction_spectrum, ("hexagon", 6), ValueError, "name must be one of"),
    (expected_random_moment, (5, 3, np.inf), ValueError, "p must be finite"),
    (tegum_spectrum, (), ValueError, "spectra must hold at least one"),
]


@pytest.mark.parametrize("fn, args, exc, msg", BAD, ids=[f"{b[0].__name__}{b[1]}" for b in BAD])
def test_bad_input(fn, args, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(*args)


def test_within_counts_validated():
    with pytest.raises(ValueError, match=r"within\[0\] must be <= n_b\(n_b-1\)/2 = 3"):
        tegum_orthogonal_pairs([3, 2], within=[4, 0])
    with pytest.raises(ValueError, match="counts must add up to n"):
        PairSpectrum.from_pairs(3, {0.5: 2})


def test_losses_dict_is_keyed_by_admissible_k():
    assert list(tegum_losses(12, 8, 1)) == [1, 2, 4]
