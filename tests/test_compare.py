import csv
import io
import json
import math

import numpy as np
import pytest
from helpers import brute_force_cosines, random_rotation

from packing import (
    DEFAULT_P_GRID,
    best_known,
    compare_packings,
    cross_polytope,
    ideal_tegum_product,
    known_optimum,
    lower_bound,
    random_packing,
    regular_polygon,
    tegum_product,
)

C36, C72 = math.cos(math.pi / 5), math.cos(2 * math.pi / 5)
FAST = ("ideal", "partition", "overlapping", "random")


def noisy(W, sigma, seed):
    rng = np.random.default_rng(seed)
    d = W.shape[1]
    return W @ random_rotation(d, rng) + sigma * rng.normal(size=W.shape)


def brute_moments(W, ps):
    c = np.abs(brute_force_cosines(W))
    return [float(c.max()) if np.isinf(p) else float(np.sum(c**p)) for p in ps]


def test_pentagon_rows_against_closed_forms_and_brute_force():
    W = noisy(regular_polygon(5), 0.01, 0)
    cmp = compare_packings(W, include=FAST, rng=0)
    rows = {r.name: r for r in cmp.rows}
    learned, ideal = rows["learned"], rows["ideal tegum"]
    assert learned.moments == pytest.approx(dict(zip(cmp.ps, brute_moments(W, cmp.ps), strict=True)))
    # the ideal pentagon: five pairs at cos 72 degrees and five at cos 144 degrees
    want = {p: 5 * (C36**p + C72**p) for p in (1.0, 2.0, 4.0)}
    want[np.inf] = C36
    assert ideal.moments == pytest.approx(want, abs=1e-12)
    assert ideal.partition == learned.partition == "5/2"
    assert ideal.dim_mean == pytest.approx(0.4) and ideal.gap == pytest.approx(0.0, abs=1e-12)
    assert learned.orthogonal_pairs == int(np.sum(np.abs(brute_force_cosines(W)) <= cmp.atol))
    assert learned.lower_bound == pytest.approx(C36)  # 5 lines in the plane: cos(pi/5)
    assert learned.gap == pytest.approx(learned.coherence - C36)


def predicted_orders(alternatives, own, grid):
    """Orders where `own(p)` beats every alternative; a tie counts when own has fewer blocks."""

    def wins(a, b, own_has_fewer_blocks):
        return a < b - 1e-12 or (own_has_fewer_blocks and math.isclose(a, b, rel_tol=1e-12))

    return [p for p in grid if all(wins(own(p), alt(p), fewer) for alt, fewer in alternatives)]


def welch(m, D, p):
    eps2 = max(0, m - D) / (D * (m - 1))
    return math.sqrt(eps2) if math.isinf(p) else m * (m - 1) / 2 * eps2 ** (p / 2)


def test_learned_pentagon_is_predicted_for_p_above_two():
    cmp = compare_packings(noisy(regular_polygon(5), 0.01, 1), include=(), rng=0)
    # in 2 dims the only alternatives are coincident lines: 3/1 + 2/1 (4 pairs at |cos| 1) or worse
    alternatives = [(lambda p: 1.0 if math.isinf(p) else 4.0, True)]
    want = predicted_orders(alternatives, lambda p: welch(5, 2, p), DEFAULT_P_GRID)
    assert cmp.predicted_p == {None: want}
    assert want == [2.0, 3.0, 4.0, 6.0, 8.0, 16.0, np.inf]


def test_learned_digons_are_predicted_for_p_below_two():
    W = noisy(np.vstack([np.eye(2), -np.eye(2)]), 0.005, 2)
    cmp = compare_packings(W, include=(), rng=0)
    assert cmp.rows[0].partition == "2×2/1"
    # alternatives to 2/1 + 2/1: one block 4/2 (Welch), 3/1 + 1/1 (3 pairs at |cos| 1); at p = 2
    # 4/2 ties with the digons and has fewer blocks
    alternatives = [(lambda p: welch(4, 2, p), False), (lambda p: 1.0 if math.isinf(p) else 3.0, False)]
    want = predicted_orders(alternatives, lambda p: 1.0 if math.isinf(p) else 2.0, DEFAULT_P_GRID)
    assert cmp.predicted_p[None] == want == [0.25, 0.5, 0.75, 1.0, 1.5]


def test_octahedron_ideal_and_reference_rows():
    W = noisy(cross_polytope(3), 0.01, 3)
    cmp = compare_packings(W, include=FAST, partition_ps=(1.0, 4.0), rng=0)
    rows = {r.name: r for r in cmp.rows}
    ideal = rows["ideal tegum"]
    assert ideal.partition == "3×2/1"
    assert ideal.moments[1.0] == pytest.approx(3.0) and ideal.orthogonal_pairs == 12
    assert set(rows) >= {"learned", "ideal tegum", "overlapping orthogonal sets", "random"}
    assert any(name.startswith("optimal partition p=1") for name in rows)
    for r in cmp.rows:  # every row's statistics are those of its packing: n and d match the learned
        assert (r.n, r.d) == (6, 3)
    part = [r for r in cmp.rows if r.name.startswith("optimal partition")]
    assert part[0].moments[1.0] <= rows["random"].moments[1.0]


def test_ideal_tegum_product_is_exact_and_refuses_non_tegum():
    rng = np.random.default_rng(4)
    tri = np.c_[regular_polygon(3), np.zeros(3)]
    W = np.vstack([tri, [[0, 0, 1.0], [0, 0, -1.0]]])
    W = W[rng.permutation(5)] @ random_rotation(3, rng) + 0.01 * rng.normal(size=(5, 3))
    ideal = ideal_tegum_product(W)
    G = ideal @ ideal.T
    assert ideal.shape == (5, 3)
    assert sorted(np.round(np.abs(G[np.triu_indices(5, 1)]), 12).tolist()) == [0.0] * 6 + [0.5] * 3 + [1.0]
    with pytest.raises(ValueError, match="span 3 dimensions together, more than d = 2"):
        ideal_tegum_product(regular_polygon(3), atol=0.6)  # |cos| 0.5: three 1-dim "factors" in 2 dims


def test_batch_rows_per_instance_and_shared_references():
    W = np.stack([noisy(regular_polygon(5), 0.01, 5), np.r_[noisy(regular_polygon(4), 0.01, 6), [[0, 0]]]])
    cmp = compare_packings(W, include=("ideal", "random"), p_grid=(1.0, 4.0), rng=0)
    learned = [r for r in cmp.rows if r.name == "learned"]
    assert [r.instance for r in learned] == [0, 1] and [r.n for r in learned] == [5, 4]
    assert "1 dropped" in learned[1].note
    assert {r.name for r in cmp.rows if r.instance is None} == {"random (n=4)", "random (n=5)"}
    assert cmp.predicted_p == {0: [4.0], 1: [1.0]}
    assert len(cmp.reports) == 2 and cmp.reports[0].description == "pentagon"


def test_exports_round_trip():
    cmp = compare_packings(noisy(regular_polygon(5), 0.01, 7), include=FAST, rng=0)
    records = list(csv.DictReader(io.StringIO(cmp.to_csv())))
    assert len(records) == len(cmp.rows)
    for rec, row in zip(records, cmp.rows, strict=True):
        assert rec["name"] == row.name
        assert float(rec["M_2"]) == pytest.approx(row.moments[2.0], rel=1e-12)
        assert float(rec["M_inf"]) == pytest.approx(row.coherence)
    data = json.loads(cmp.to_json())
    assert data["ps"] == ["1", "2", "4", "inf"] and data["predicted_p"]["None"][-1] == "inf"
    assert [r["name"] for r in data["rows"]] == [r.name for r in cmp.rows]
    text = cmp.to_text()
    assert all(r.name in text for r in cmp.rows)
    assert "learned partition is the predicted optimum at p = 2, 3, 4, 6, 8, 16, inf" in text
    assert str(cmp) == text


def test_optimizer_row():
    # 7 features spread over 3 dims: no exact packing of 7 lines in R^3 is in the registry, so the
    # row comes from a real search; the optimum 1/sqrt(3) is Sloane's (proven) record and meets the
    # orthoplex bound, so a search that reaches it stops with stopping reason 'lower_bound'
    assert known_optimum(7, 3) is None
    W = random_packing(7, 3, rng=8)
    cmp = compare_packings(W, include=("optimizer", "random"), p_grid=(), optimizer_budget=0.5, rng=0)
    rows = {r.name: r for r in cmp.rows}
    opt, learned = rows["optimizer p=inf"], rows["learned"]
    assert (opt.n, opt.d) == (learned.n, learned.d) == (7, 3)
    record = best_known(7, 3)
    assert record.proven_optimal and record.coherence == pytest.approx(1 / math.sqrt(3), abs=1e-9)
    assert opt.coherence == pytest.approx(record.coherence, abs=1e-6)
    assert opt.coherence >= lower_bound(7, 3) - 1e-12 and opt.gap == pytest.approx(0.0, abs=1e-6)
    assert opt.coherence < min(learned.coherence, rows["random"].coherence)
    assert opt.note.startswith("budget 0.5s, ")


def test_non_optimizer_rows_do_not_depend_on_the_optimizer_budget():
    # the optimizer draws random restarts until its wall-clock budget ends: with one shared
    # generator the rows built after it would depend on the budget (and on the machine's speed)
    W = random_packing(9, 4, rng=3)
    runs = [compare_packings(W, rng=0, p_grid=(), optimizer_budget=b) for b in (0.02, 0.3)]
    tables = [[r for r in c.rows if not r.name.startswith("optimizer")] for c in runs]
    assert [r.name for r in tables[0]] == [r.name for r in tables[1]]
    assert {"overlapping orthogonal sets", "random"} <= {r.name for r in tables[0]}
    assert tables[0] == tables[1]  # every statistic of every row, exactly
    # and the random rows do not depend on which other references are built
    alone = compare_packings(W, include=("random",), p_grid=(), rng=0)
    assert [r for r in alone.rows if r.name == "random"] == [r for r in tables[0] if r.name == "random"]
    # a generator is a seed too: the same state gives the same rows, and a different seed other rows
    again = [
        compare_packings(W, include=("random",), p_grid=(), rng=np.random.default_rng(5)) for _ in range(2)
    ]
    assert again[0].rows == again[1].rows != alone.rows


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"include": ("best",)}, ValueError, "include must name references among"),
        ({"ps": [0]}, ValueError, "ps[0] must be > 0.0; got 0.0."),
        ({"p_grid": ["a"]}, TypeError, "p_grid[0] must be a real number"),
        ({"include": ["ideal", "best"]}, ValueError, "include must name references among"),
        ({"include": 5}, TypeError, "include must be a sequence of references among"),
        ({"atol": -1}, ValueError, "atol must be >= 0.0; got -1.0."),
        ({"norm_threshold": -1}, ValueError, "norm_threshold must be >= 0.0; got -1.0."),
        ({"shape_tol": -1}, ValueError, "shape_tol must be >= 0.0; got -1.0."),
        # the optimizer needs a positive budget: say so naming compare's own argument
        ({"optimizer_budget": 0}, ValueError, "optimizer_budget must be > 0.0; got 0.0."),
        ({"optimizer_budget": -1}, ValueError, "optimizer_budget must be > 0.0; got -1.0."),
        ({"rng": "seed"}, TypeError, "rng must be None, a non-negative int seed"),
        ({"rng": -1}, ValueError, "rng seed must be >= 0; got -1."),
    ],
)
def test_bad_input(kwargs, exc, message):
    with pytest.raises(exc) as info:
        compare_packings(regular_polygon(5), **kwargs)
    assert message in str(info.value)


def test_a_single_reference_name_is_one_reference():
    cmp = compare_packings(regular_polygon(5), include="ideal", p_grid=())
    assert [r.name for r in cmp.rows] == ["learned", "ideal tegum"]


def test_bad_weights():
    with pytest.raises(ValueError, match=r"W has no represented feature \(every row norm <= 0.1 "):
        compare_packings(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"W\[1\] must be finite"):
        compare_packings(np.stack([np.eye(2), np.full((2, 2), np.nan)]))


def test_ideal_rows_align_with_learned_rows():
    rng = np.random.default_rng(9)
    blocks = [regular_polygon(5), np.array([[1.0], [-1.0]]), regular_polygon(3)]
    W = tegum_product(*blocks)
    W = np.vstack([W, np.zeros(W.shape[1])])  # one unrepresented feature, left out of the ideal
    perm = rng.permutation(len(W))
    W = W[perm] @ random_rotation(W.shape[1], rng) + 0.01 * rng.normal(size=W.shape)
    ideal = ideal_tegum_product(W)
    kept = np.flatnonzero(np.linalg.norm(W, axis=1) > 0.5)
    U = W[kept] / np.linalg.norm(W[kept], axis=1, keepdims=True)
    assert ideal.shape == (10, 5)
    assert np.max(np.abs(ideal @ ideal.T - U @ U.T)) < 0.05


def test_four_pentagons_tie_the_optimum_at_p_two():
    W = noisy(tegum_product(*[regular_polygon(5)] * 4), 0.005, 10)
    cmp = compare_packings(W, include=(), p_grid=(1.0, 2.0, 4.0))
    assert cmp.rows[0].partition == "4×5/2"
    # Welch block costs: 4 pentagons 4 * C(5,2) (3/8)^(p/2) against one 20/8 block C(20,2) (12/152)^(p/2)
    # and, for p < 2, coincident lines; at p = 2 both tight frames give 15 = n^2/(2d) - n/2
    four = lambda p: 4 * welch(5, 2, p)  # noqa: E731
    one = lambda p: welch(20, 8, p)  # noqa: E731
    assert four(2.0) == pytest.approx(one(2.0)) == pytest.approx(15.0)
    assert four(4.0) > one(4.0)
    assert cmp.predicted_p[None] == [] and cmp.tied_p[None] == [2.0]
    assert "ties it (another partition chosen) at p = 2" in cmp.to_text()
