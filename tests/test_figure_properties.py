"""What each figure draws: the property it shows, checked on the quick run's numbers and artists.

Every driver runs once in quick mode (shared with tests/test_scripts.py through
``helpers.quick_figures``); each test reads the :class:`packing.figures.Drawn`
figures it saved and checks one property of what is drawn against an
independent computation, and that the figure is legible at paper width.
The kit's legibility rules are checked first, on figures built to break them.
"""

import math

import matplotlib
import numpy as np
import pytest
from helpers import brute_force_cosines, quick_figures
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from packing import SHAPE_COLORS, analyze_structure, interference_moments
from packing.figures import FIGURES, FigureRun, capture_figures, legibility_problems, plain_log_ticks

# --------------------------------------------------------------------------- the legibility rules


def _fig(width=3.0, height=2.0):
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def test_a_clean_figure_has_no_problems():
    fig, ax = _fig()
    ax.plot([0, 1, 2], [0, 1, 4], label="y")
    ax.set_ylabel("y")
    ax.legend(loc="upper left")
    im = ax.inset_axes((0.7, 0.1, 0.2, 0.2)).imshow(np.eye(2))
    fig.colorbar(im, ax=ax).set_label("value")
    ax.child_axes[0].set_axis_off()
    assert legibility_problems(fig) == []


def test_each_rule_finds_its_problem():
    fig, ax = _fig(width=20.0)  # printed at 7 in: 10-pt text becomes 3.5 pt
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("y")
    assert any("text of 3.5 pt" in p for p in legibility_problems(fig))

    fig, ax = _fig()
    ax.imshow(np.eye(3))
    ax.set_ylabel("row")
    assert legibility_problems(fig) == ["axes 0: a heat map without a colour bar"]

    fig, ax = _fig()
    ax.plot([0, 1], [0, 1])
    assert legibility_problems(fig) == ["axes 0 ('') has y tick labels but no y label"]

    fig, ax = _fig()
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), label="diagonal")
    ax.set_ylabel("y")
    ax.legend(loc="lower right", bbox_to_anchor=(0.75, 0.25))  # right on the diagonal
    assert any("legend covers" in p and "'diagonal'" in p for p in legibility_problems(fig))

    fig, ax = _fig()
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("y")
    ax.text(0.5, 0.5, "first note", transform=ax.transAxes)
    ax.text(0.5, 0.5, "second note", transform=ax.transAxes)
    assert any("texts overlap" in p for p in legibility_problems(fig))

    fig, ax = _fig()
    ax.semilogy([1, 2], [2, 6])  # within one decade: matplotlib labels minor ticks ("6×10⁰")
    ax.set_ylabel("y")
    assert any("minor tick labels" in p for p in legibility_problems(fig))
    plain_log_ticks(ax, "y")
    assert legibility_problems(fig) == []


def test_heat_maps_on_one_scale_share_a_colour_bar():
    fig = Figure(figsize=(3, 2))
    a, b = fig.subplots(1, 2)
    a.set_ylabel("i")
    b.set_ylabel("i")
    im = a.imshow(np.eye(2), vmin=-1, vmax=1, cmap="RdBu_r")
    b.imshow(-np.eye(2), vmin=-1, vmax=1, cmap="RdBu_r")
    fig.colorbar(im, ax=[a, b])
    assert legibility_problems(fig) == []
    b.images[0].set_clim(-2, 2)  # another scale: it needs its own bar
    assert legibility_problems(fig) == ["axes 1: a heat map without a colour bar"]


def test_capture_collects_figures_with_their_facts_and_nothing_outside(tmp_path):
    with capture_figures() as outer:
        with capture_figures() as inner, FigureRun(tmp_path) as run:
            fig, ax = run.figure(figsize=(2, 2))
            run.save(fig, "one", facts={"x": 1})
        with FigureRun(tmp_path) as run:
            run.save(run.figure(figsize=(2, 2))[0], "two")
    assert set(inner) == {"one"} and set(outer) == {"one", "two"}
    assert inner["one"].facts == {"x": 1} and outer["two"].facts == {}
    with FigureRun(tmp_path) as run:
        run.save(run.figure(figsize=(2, 2))[0], "three")
    assert "three" not in outer


# --------------------------------------------------------------------------- every figure


#: Figures drawn before the standard of issue #16 and not yet brought to it, with what they break.
#: The mark is strict: once a figure passes, its test fails until it is removed from this table.
NOT_YET: dict[str, str] = {}


def _not_yet(name: str, out: str):
    """The NOT_YET entry of a figure output (keyed by driver, or by ``driver:output``), or None."""
    return NOT_YET.get(f"{name}:{out}", NOT_YET.get(name))


ALL = [
    pytest.param(
        name, out, id=f"{name}:{out}", marks=[pytest.mark.xfail(strict=True, reason=_not_yet(name, out))]
    )
    if _not_yet(name, out)
    else pytest.param(name, out, id=f"{name}:{out}")
    for name, driver in FIGURES.items()
    for out in driver.outputs
]


@pytest.mark.parametrize(("name", "output"), ALL)
def test_every_figure_is_legible_at_paper_width(name, output):
    _, _, drawn = quick_figures(name)
    assert set(drawn) == set(FIGURES[name].outputs)
    fig = drawn[output].figure
    assert fig.get_figwidth() <= 7.0 + 1e-9, "wider than the page: its text shrinks when printed"
    assert legibility_problems(fig) == []


def drawn(name, output=None):
    _, _, figures = quick_figures(name)
    return figures[output or name]


# --------------------------------------------------------------------------- one property per figure


def test_computation_dense_panel_computes_the_five_most_important_features():
    d = drawn("computation")
    # the optimum at S = 0: two neurons for each of the d/2 = 5 most important features (importance 0.8^i)
    assert d.facts["computed"][0.0] == [0, 1, 2, 3, 4]
    assert 1 <= d.facts["seeds_top"][0.0] <= 6
    bars = d.figure.axes[3].patches  # bottom-left panel: fraction of |x_i| computed, S = 0
    heights = np.array([p.get_height() for p in bars])
    assert len(heights) == 20 and (heights[:5] > 0.9).all() and (heights[5:] < 0.9).all()
    # the other features get the bias only: 1 - E[(|x| - 1/2)^2] / E[x^2] = 1 - (1/12) / (1/3) = 0.75
    np.testing.assert_allclose(heights[5:], 0.75, atol=0.03)
    assert all(m.colorbar is not None for ax in d.figure.axes[:3] for m in ax.images)


def test_toy_dimensionality_colours_points_by_the_detected_shape():
    d = drawn("toy_dimensionality")
    W = d.facts["W"]
    want = {}
    for w in W:  # the shapes analyze_structure detects, counted independently of the driver
        for label in analyze_structure(w).feature_shapes:
            if label != "dropped":
                want[label] = want.get(label, 0) + 1
    ax = [a for a in d.figure.axes if a.get_ylabel() == "feature dimensionality"][0]
    got = {}
    for coll in ax.collections:
        if isinstance(coll, PathCollection):
            name, count = coll.get_label().rsplit(" (", 1)
            got[name] = int(count.rstrip(")"))
            assert len(coll.get_offsets()) == got[name]
            if name in SHAPE_COLORS:
                assert matplotlib.colors.same_color(coll.get_facecolor()[0][:3], SHAPE_COLORS[name])
    assert got == want
    # the dense reference is the closed form: (n - d) features left out, each with variance 1/12
    n, d_ = W.shape[1:]
    assert abs(d.facts["dense_loss"][1] - (n - d_) / 12) < 0.03 * (n - d_) / 12
    assert "steps" in " ".join(t.get_text() for t in d.figure.axes[0].get_legend().get_texts())


def test_learned_features_2d_identifies_the_pentagon_and_draws_gram_and_bias():
    d = drawn("learned_features_2d")
    assert d.facts["description"][-1] == "pentagon"  # S = 0.99
    axes = d.figure.axes
    grams = [ax for ax in axes if ax.images and not hasattr(ax, "_colorbar")]
    assert len(grams) == 3 and len({tuple(ax.images[0].get_clim()) for ax in grams}) == 1
    bias_axes = [ax for ax in axes if ax.patches]
    for ax, b in zip(bias_axes, d.facts["bias"], strict=True):
        np.testing.assert_allclose([p.get_height() for p in ax.patches], b)
    assert (d.facts["bias"][-1] < 0).all()  # the pentagon filters its interference with negative biases


def test_scurves_sgd_learns_components_one_after_another():
    d = drawn("scurves", "scurves_squared")
    sgd, adam = d.facts[("sgd", 10)], d.facts[("adam", 10)]
    halves = sgd["half_times"]
    assert (halves >= 0).all() and (np.diff(halves) > 0).all()  # strongest first, in order
    assert np.ptp(adam["half_times"]) < np.ptp(halves)  # Adam learns them closer together
    ce = drawn("scurves", "scurves_cross_entropy")
    for key, facts in ce.facts.items():
        if facts["converged_at"] is not None:
            assert (np.abs(facts["final_fraction"] - 1) < 0.011).all(), key
    # the cross-entropy figure plots the fraction learned, with the loss under it
    labels = [ax.get_ylabel() for ax in ce.figure.axes]
    assert any(lab.startswith("fraction learned") for lab in labels) and "KL(p_A‖p_Ã)" in labels


def test_coherence_gaps_are_never_drawn_below_the_floor():
    from packing.figures.coherence_vs_n import FLOOR, _degrees

    d = drawn("coherence_vs_n")
    gap_ax = d.figure.axes[1]
    for line in gap_ax.lines:
        y = np.asarray(line.get_ydata(), float)
        assert (np.isnan(y) | (y >= FLOOR * (1 - 1e-12))).all()
    top = d.figure.axes[0]
    labels = [line.get_label() for line in top.lines]
    assert labels.index("record (Sloane/Cohn)") > labels.index("optimizer (0.1 s/cell)")  # drawn on top
    assert math.isclose(_degrees(0.5), 60.0) and math.isclose(_degrees(1 / math.sqrt(2)), 45.0)
    facts = d.facts[3]
    assert facts["record"][0] == pytest.approx(1 / 3)  # 4 lines in R^3: the tetrahedron's diagonals


def test_toy_importance_keeps_exactly_the_five_most_important_when_dense():
    d = drawn("toy_importance")
    norms = d.facts["norms"][0]
    assert d.facts["kept"][0] == 5 and (norms[:5] > 0.5).all() and (norms[5:] < 0.5).all()
    assert sum(1 for ax in d.figure.axes if hasattr(ax, "_colorbar")) == 2


def test_tegum_figure_labels_p_plainly():
    d = drawn("tegum_vs_overlapping")
    panel_c = d.figure.axes[2]
    assert [t.get_text() for t in panel_c.get_yticklabels()] == ["0.25", "0.5", "1", "2", "4", "8"]


def test_learned_moments_draw_positive_interference():
    from packing.figures.learned_sweep import PS_POSITIVE

    d = drawn("learned_sweep", "learned_moments")
    learned = d.facts["learned"]
    assert learned.shape[1] == len(PS_POSITIVE) == len(d.figure.axes)
    for j, ax in enumerate(d.figure.axes):
        np.testing.assert_allclose(ax.lines[0].get_ydata(), learned[:, j])
        assert ax.get_ylabel()
    for k, (W, dropped) in enumerate(zip(d.facts["W"], d.facts["dropped"], strict=True)):
        kept = np.setdiff1d(np.arange(len(W)), dropped)
        cos = brute_force_cosines(W[kept])  # by a double loop: antipodal pairs count 0, not 1
        positive = np.maximum(cos, 0)
        np.testing.assert_allclose(
            learned[k], [positive.sum(), (positive**2).sum(), positive.max()], atol=1e-5
        )
        assert learned[k, 0] <= interference_moments(W[kept], [1])[0] + 1e-9


def _pca_mcc_by_brute_force(X, W):
    """Hungarian MCC of the centred principal directions of ``X`` against the rows of ``W``, sign-free.

    Principal directions from the eigenvectors of the covariance (not an SVD),
    the best one-to-one matching by trying every injective map of the ``d``
    directions into the ``n`` features (not an assignment solver), divided by ``n``.
    """
    import itertools

    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    _, vecs = np.linalg.eigh(Xc.T @ Xc)
    V = vecs.T  # d directions (all of them: d <= n here)
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    C = np.abs(U @ V.T)  # (n, d)
    n, d = C.shape
    best = max(sum(C[f, j] for j, f in enumerate(fs)) for fs in itertools.permutations(range(n), d))
    return best / n


def test_sae_recovery_hollow_markers_are_pca_matched_by_brute_force():
    from packing.sae import _benchmark as bench
    from packing.sae import sparse_activations

    d = drawn("sae_recovery")
    geo = d.facts["geo"]
    panel_a = d.figure.axes[0]
    hollow = [
        ln
        for ln in panel_a.get_lines()
        if ln.get_linestyle() == "None" and ln.get_markerfacecolor() == "none"
    ]
    drawn_svd = np.sort(np.concatenate([ln.get_ydata() for ln in hollow]))
    # the quick run's packings and activations, rebuilt from the benchmark's seeds
    suite = bench.geometry_suite(quick=True, seed=0)
    streams = np.random.SeedSequence(0).spawn(len(suite))
    want = []
    for (_, W), stream in zip(suite, streams, strict=True):
        s_data, _ = stream.spawn(2)
        data = sparse_activations(
            W, n_samples=2000, n_active=float(geo["n_active"]), rng=np.random.default_rng(s_data)
        )
        want.append(_pca_mcc_by_brute_force(data.activations, W))
        n, dim = W.shape
        assert want[-1] <= min(1.0, dim / n) + 1e-12  # d directions match at most d of n features
    np.testing.assert_allclose(drawn_svd, np.sort(want), atol=1e-8)
    # the ETF sits on the Welch bound: its x is 1 (cosines by a double loop)
    etf = [W for family, W in suite if family == "ETF"][0]
    n, dim = etf.shape
    welch = math.sqrt((n - dim) / (dim * (n - 1)))
    x_etf = [ln.get_xdata()[0] for ln in panel_a.get_lines() if ln.get_label() == "ETF"][0]
    assert x_etf == pytest.approx(np.abs(brute_force_cosines(etf)).max() / welch) and x_etf == pytest.approx(
        1.0
    )


def _phase_by_brute_force(W):
    """What W does with its last feature, by norms and a loop over pairwise cosines (PHASES order)."""
    W = np.asarray(W, float)
    norms = [math.sqrt(sum(v * v for v in w)) for w in W]
    top, last = max(norms), len(W) - 1
    if top == 0 or norms[last] <= 0.1 * top:
        return 0
    touching = []
    for j in range(last):
        if norms[j] > 0.1 * top:
            c = sum(a * b for a, b in zip(W[last], W[j], strict=True)) / (norms[last] * norms[j])
            if abs(c) > 0.05:
                touching.append(c)
    if not touching:
        return 1
    return 2 if len(touching) == 1 and touching[0] < -0.95 else 3


def test_theory_phase_diagrams_draw_the_papers_phases_and_the_trained_weights():
    from packing.theory import PHASES

    d = drawn("theory_predictions", "theory_phase_diagrams")
    diagrams = d.facts["diagrams"]
    assert [(pd.n_features, pd.d) for pd in diagrams] == [(2, 1), (3, 2)]
    heat = [ax for ax in d.figure.axes if ax.images and not hasattr(ax, "_colorbar")]
    assert len(heat) == 6 and sum(1 for ax in d.figure.axes if hasattr(ax, "_colorbar")) == 2
    for row, pd in enumerate(diagrams):
        predicted, trained, differ = (
            np.asarray(ax.images[0].get_array()) for ax in heat[3 * row : 3 * row + 3]
        )
        # the trained panel: the trained weights, classified here by brute force
        want = [[_phase_by_brute_force(w) for w in cells] for cells in pd.trained_W]
        assert trained.tolist() == want
        assert differ.tolist() == (predicted != trained).astype(int).tolist()
        # Elhage et al. (2022), "Superposition as a Phase Change": dense inputs (top row, density 1)
        # leave an unimportant extra feature out and give an important one a dedicated dimension
        assert PHASES[predicted[0, 0]] == "not represented"
        assert PHASES[predicted[0, -1]] == "dedicated dimension"
    # ... and sparse inputs (density 0.01) store 2 features in 1 dimension as an antipodal pair
    assert {PHASES[c] for c in np.asarray(heat[0].images[0].get_array())[-1]} == {"antipodal superposition"}


def test_monosemanticity_figures_count_monosemantic_neurons_as_the_paper_does():
    # the paper's criterion, recomputed from the drawn heat map: a neuron is monosemantic when its
    # largest activation on a one-hot feature is above 0.999 of the sum of its activations
    d = drawn("monosemanticity", "monosemanticity_neurons")
    heat = [ax for ax in d.figure.axes if ax.images]
    assert len(heat) == len(d.facts["models"]) == 2
    for ax, (*_, acts) in zip(heat, d.facts["models"], strict=True):
        M = np.asarray(ax.images[0].get_array())
        assert sorted(M.ravel()) == pytest.approx(sorted(acts.ravel()))  # a permutation of rows and columns
        pos = np.maximum(M, 0)
        total = pos.sum(axis=1)
        mono = (total > 0) & (pos.max(axis=1) > 0.999 * np.where(total > 0, total, 1))
        count = int(mono.sum())
        assert ax.get_title(loc="left") == f"{count} of {len(M)} neurons monosemantic"
        assert mono[:count].all()  # the monosemantic neurons come first
    # both heat maps on one scale, with one colour bar
    assert len({tuple(ax.images[0].get_clim()) for ax in heat}) == 1
    assert heat[-1].images[0].colorbar is not None
    # the sweeps: each best-seed point is the largest fraction over the seeds of its condition,
    # the fraction recounted from the per-neuron scores
    s = drawn("monosemanticity", "monosemanticity_sweeps")
    bias = s.facts["data"]["bias"]
    fraction = (bias["score"] > 0.999).mean(axis=-1)
    best = s.facts["drawn"][("bias", "all", "monosemantic_fraction")]
    np.testing.assert_allclose(best, fraction.max(axis=1))
    line = [ln for ln in s.figure.axes[0].lines if ln.get_linestyle() == "-"][0]
    np.testing.assert_allclose(line.get_ydata(), fraction.max(axis=1))
    # equal loss (finding 1): every trained model of the learning-rate sweep is one point of panel (a),
    # the shaded band runs from the lowest loss to 5% above it, and the title's count and range are
    # those of the models inside it, recounted here from the measured data
    f = drawn("monosemanticity", "monosemanticity_loss")
    runs = f.facts["data"]["lr"]
    loss = np.concatenate([r["clean_loss"].ravel() for r in runs])
    frac = np.concatenate([r["monosemantic_fraction"].ravel() for r in runs])
    ax = f.figure.axes[0]
    points = np.concatenate([np.column_stack(ln.get_data()) for ln in ax.lines])
    assert sorted(map(tuple, points)) == sorted(zip(loss, frac, strict=True))
    (band,) = ax.patches
    x0, x1 = band.get_x(), band.get_x() + band.get_width()
    assert (x0, x1) == pytest.approx((loss.min(), 1.05 * loss.min()))
    inside = loss <= 1.05 * loss.min()
    assert f"{int(inside.sum())} models within 5%" in ax.get_title(loc="left")
    assert f"of the best: {frac[inside].min():.2f} to {frac[inside].max():.2f}" in ax.get_title(loc="left")
    # the decay panels (finding 2): the line is the seed mean of the init -1 conditions
    # (one line per run of DECAY_RUNS, against decay x lr)
    from packing.figures.monosemanticity import DECAY_RUNS, DECAYS

    for ax, key in zip(f.figure.axes[1:3], ("clean_loss", "monosemantic_fraction"), strict=True):
        lines = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
        assert len(lines) == len(DECAY_RUNS)
        for line, (_, lr, _, _), data in zip(lines, DECAY_RUNS, f.facts["data"]["decay"], strict=True):
            np.testing.assert_allclose(line.get_xdata(), np.array(DECAYS) * lr)
            np.testing.assert_allclose(line.get_ydata(), data[key][1:].mean(axis=1))
