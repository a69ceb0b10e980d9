"""The figure kit: one style, atomic PNG + PDF, and a cache keyed by the full configuration."""

import dataclasses
import inspect
import json
import warnings

import matplotlib
import numpy as np
import pytest

import packing
import packing.figures._kit as kit
from packing.figures import STYLE, CacheWarning, FigureRun, cached

CALLS = []


def simulate(n, *, lr=1e-3, importance=1.0, batch_size=32, rng=0):
    """A stand-in computation: records its calls, returns arrays determined by its arguments."""
    CALLS.append((n, lr, importance, batch_size, rng))
    x = np.random.default_rng(rng).normal(size=n)
    return {"x": x * lr * batch_size, "importance": np.full(n, importance, dtype=np.float32)}


@dataclasses.dataclass
class Result:
    W: np.ndarray
    loss: float
    snapshots: np.ndarray | None
    config: dict


def train(n, steps=3, dtype=np.float32):
    return Result(np.ones((n, 2), dtype=dtype), 0.5, None, {"n": n, "steps": steps, "dtype": dtype})


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def test_hit_returns_what_the_miss_returned(tmp_path):
    first = cached(simulate, {"n": 4}, cache_dir=tmp_path)
    second = cached(simulate, {"n": 4}, cache_dir=tmp_path)
    assert len(CALLS) == 1
    assert first.keys() == second.keys() == {"x", "importance"}
    for k in first:
        assert first[k].dtype == second[k].dtype and np.array_equal(first[k], second[k])


@pytest.mark.parametrize("change", [{"lr": 2e-3}, {"importance": 0.5}, {"batch_size": 64}, {"rng": 1}])
def test_every_setting_is_part_of_the_key(tmp_path, change):
    # the old caches left lr, importance or the batch size out of their hand-picked keys
    cached(simulate, {"n": 4}, cache_dir=tmp_path)
    cached(simulate, {"n": 4, **change}, cache_dir=tmp_path)
    assert len(CALLS) == 2
    # a default passed explicitly is the same configuration
    cached(simulate, {"n": 4, "lr": 1e-3, "batch_size": 32}, cache_dir=tmp_path)
    assert len(CALLS) == 2


def test_the_key_holds_every_argument_of_a_library_call():
    key = kit.cache_key(packing.train_toy_model, {"n_features": 5, "d": 2, "rng": 0})
    assert set(key["arguments"]) == set(inspect.signature(packing.train_toy_model).parameters)
    assert key["arguments"]["lr"] == 1e-3 and key["arguments"]["dtype"] == {"dtype": "float32"}
    assert key["packing"] == packing.__version__
    assert key["function"].endswith("train_toy_model")


def test_arrays_are_keyed_by_values_and_dtype():
    key = kit.cache_key(simulate, {"n": 2, "importance": np.array([1, 2])})
    other = kit.cache_key(simulate, {"n": 2, "importance": np.array([1.0, 2.0])})
    assert key != other
    assert key == kit.cache_key(simulate, {"n": 2, "importance": np.array([1, 2])})


def test_a_new_package_version_recomputes(tmp_path, monkeypatch):
    cached(simulate, {"n": 3}, cache_dir=tmp_path)
    monkeypatch.setattr(kit, "__version__", "99.0")
    cached(simulate, {"n": 3}, cache_dir=tmp_path)
    assert len(CALLS) == 2


def test_changed_code_is_a_new_key():
    one, two = {}, {}
    exec("def f(n):\n    return {'y': n + 1}", one)  # no source file: the bytecode and constants count
    exec("def f(n):\n    return {'y': n + 2}", two)
    assert kit.cache_key(one["f"], {"n": 1}) != kit.cache_key(two["f"], {"n": 1})
    key = kit.cache_key(simulate, {"n": 1})
    assert key["source_sha256"] == kit.cache_key(simulate, {"n": 1})["source_sha256"]


def test_closures_and_opaque_arguments_are_refused(tmp_path):
    lr = 0.1

    def hidden(n):
        return {"y": np.full(n, lr)}

    with pytest.raises(TypeError, match="reads lr from an enclosing scope"):
        cached(hidden, {"n": 2}, cache_dir=tmp_path)
    with pytest.raises(TypeError, match=r"argument 'rng' must be plain data .* got Generator"):
        cached(simulate, {"n": 2, "rng": np.random.default_rng(0)}, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="params do not fit"):
        cached(simulate, {"m": 2}, cache_dir=tmp_path)
    assert not CALLS and not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "damage", ["garbage", "truncated", "empty", "edited", "other key", "nested", "oversized"]
)
def test_a_corrupt_entry_is_recomputed(tmp_path, damage):
    want = cached(simulate, {"n": 5}, cache_dir=tmp_path)
    (path,) = tmp_path.glob("simulate-*.npz")
    if damage == "garbage":
        path.write_bytes(b"not a zip file")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "edited":  # a whole, readable zip whose numbers are not the computed ones
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["x"] = arrays["x"] + 1
        np.savez(path, **arrays)
    elif damage == "nested":  # a record nested deeper than Python's stack (RecursionError in json)
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["__cache_key__"] = np.array("[" * 100_000 + "]" * 100_000)
        np.savez(path, **arrays)
    elif damage == "oversized":  # an array beyond the memory limit (below): refused before it is read
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["x"] = np.zeros(2**19)
        np.savez_compressed(path, **arrays)
    else:  # a readable file that belongs to another computation
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["__cache_key__"] = np.array(json.dumps({"function": "something else"}))
        np.savez(path, **arrays)
    previous = packing.set_memory_limit(2**21)
    try:
        with pytest.warns(CacheWarning, match="recomputing"):
            got = cached(simulate, {"n": 5}, cache_dir=tmp_path)
    finally:
        packing.set_memory_limit(previous)
    assert len(CALLS) == 2 and np.array_equal(got["x"], want["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: read without a warning and without recomputing
        cached(simulate, {"n": 5}, cache_dir=tmp_path)
    assert len(CALLS) == 2


def test_nothing_is_pickled_and_failures_leave_nothing(tmp_path):
    def objects(n):
        return {"y": np.array([{"a": n}], dtype=object)}

    with pytest.raises(TypeError, match="must be numbers or strings"):
        cached(objects, {"n": 1}, cache_dir=tmp_path)

    def fails(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached(fails, {"n": 1}, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*"))
    cached(simulate, {"n": 2}, cache_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    with np.load(path, allow_pickle=False) as data:  # plain NumPy, readable without this package
        assert sorted(data.files) == ["__cache_key__", "importance", "x"]


def test_result_dataclasses_are_stored_with_their_config(tmp_path):
    got = cached(train, {"n": 3}, cache_dir=tmp_path)
    assert set(got) == {"W", "loss", "config"}  # None fields are left out
    assert got["W"].dtype == np.float32 and float(got["loss"]) == 0.5
    assert json.loads(str(got["config"])) == {"n": 3, "steps": 3, "dtype": {"dtype": "float32"}}
    again = cached(train, {"n": 3}, cache_dir=tmp_path)
    assert json.loads(str(again["config"])) == json.loads(str(got["config"]))


def test_figure_run_applies_the_style_and_writes_png_and_pdf(tmp_path):
    before = matplotlib.rcParams["legend.fontsize"]
    with FigureRun(tmp_path, force=True) as run:
        for key, value in STYLE.items():
            assert matplotlib.rcParams[key] == value
        fig, ax = run.figure(figsize=(2, 2))
        assert ax.title.get_fontsize() == STYLE["axes.titlesize"]
        ax.plot([0, 1], [0, 1])
        first = run.save(fig, "line")
        pdf = first[1].read_bytes()
        run.save(fig, "line")  # the same figure again: the same PDF, byte for byte
        assert first[1].read_bytes() == pdf
        text = run.save_text("table.csv", "a,b\n1,2\n")
    assert matplotlib.rcParams["legend.fontsize"] == before
    assert [p.name for p in first] == ["line.png", "line.pdf"]
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    assert text.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.pdf", "line.png", "table.csv"]
    assert run.paths == [*first, *first, text]
    with pytest.raises(RuntimeError, match="draw inside"):
        run.figure()


def test_figure_run_cache_lives_next_to_the_figures(tmp_path):
    with FigureRun(tmp_path) as run:
        run.cached(simulate, n=3)
    with FigureRun(tmp_path) as run:
        run.cached(simulate, n=3)
    with FigureRun(tmp_path, force=True) as run:
        run.cached(simulate, n=3)
    assert len(CALLS) == 2 and len(list((tmp_path / ".cache").glob("simulate-*.npz"))) == 1


# --------------------------------------------------------------------------- the monosemanticity driver


def test_monosemanticity_heat_map_puts_each_feature_on_its_monosemantic_neuron():
    """A hand-built model: what is drawn is sorted as the paper sorts it, dead neurons last."""
    from packing.figures import monosemanticity as drv

    # neurons x features: neuron 0 serves feature 2 only, 1 is dead, 2 serves feature 0 only,
    # 3 is polysemantic (features 0 and 1), 4 serves feature 1 only but more weakly
    acts = np.array([[0, 0, 2.0], [0, 0, 0], [1.5, 0, 0], [0.5, 0.5, 0], [0, 0.3, 0]], dtype=float)
    pos = np.maximum(acts, 0)
    total = pos.sum(1)
    score = np.divide(pos.max(1), total, out=np.zeros(5), where=total > 0)
    mono = score > 0.999
    bias = np.array([-0.5, -2.0, -0.4, 0.1, -0.3])
    with FigureRun(".", force=False) as run:
        fig, axes = run.figure(1, 2, squeeze=False)
        ((neurons, features),) = drv.draw_neurons(fig, axes, [("hand-built", bias, score, mono, acts)])
    assert list(neurons[:3]) == [0, 2, 4]  # the monosemantic ones first (stable among equal scores)
    assert neurons[-1] == 1  # the dead neuron last
    drawn = axes[0, 1].images[0].get_array()
    assert np.array_equal(drawn, acts[np.ix_(neurons, features)])
    # sorted features put each monosemantic neuron's activation on the diagonal of the top block
    assert all(drawn[r, r] > 0 and drawn[r].sum() == drawn[r, r] for r in range(3))
    # the bias panel shows each neuron's bias in that order
    offsets = axes[0, 0].collections[0].get_offsets()
    assert np.allclose(offsets[:, 1], bias[neurons])


def test_monosemanticity_sweep_lines_join_the_best_seed():
    from packing.figures import monosemanticity as drv

    rng = np.random.default_rng(0)
    seeds = 3

    def data(conditions):
        frac = rng.uniform(size=(conditions, seeds))
        loss = rng.uniform(size=(conditions, seeds))
        return {"monosemantic_fraction": frac, "clean_loss": loss, "mean_bias_alive": -frac}

    result = {
        "bias": {"x": ["0, no decay", "0.0", "-1.0"], "data": data(3)},
        "neurons": {"x": np.array([0.5, 1.0]), "data": [data(2), data(2)]},
        "noise": {"x": np.array([0.0, 0.1]), "data": data(4)},
    }
    with FigureRun(".", force=False) as run:
        fig, axes = run.figure(3, 3, sharex="col", sharey="row")
        drv.draw_sweeps(fig, axes, result)
    line = [ln for ln in axes[0, 0].lines if ln.get_linestyle() == "-"][0]
    assert np.allclose(line.get_ydata(), result["bias"]["data"]["monosemantic_fraction"].max(axis=1))
    noise_lines = [ln for ln in axes[0, 2].lines if ln.get_linestyle() == "-"]
    frac = result["noise"]["data"]["monosemantic_fraction"]
    assert np.allclose(noise_lines[0].get_ydata(), frac[:2].max(axis=1))
    assert np.allclose(noise_lines[1].get_ydata(), frac[2:].max(axis=1))


def test_theory_figure_draws_the_predictions_it_is_given():
    """The phase panels show the given phases (predicted | trained | disagreement); the curves the sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from packing.figures import theory_predictions as tp
    from packing.theory import PHASES, phase_diagram

    W = np.array([[[1.0], [-1.0]], [[1.0], [0.0]], [[0.0], [1.0]], [[1.0], [-0.5]]])
    pd = phase_diagram(
        relative_importance=[0.2, 5.0], density=[1.0, 0.01], trained_weights=(W, np.zeros((4, 2)))
    )
    fig, axes = plt.subplots(1, 3, squeeze=False)
    tp.draw_phases(fig, axes, [pd])
    predicted, trained, differ = (ax.get_images()[0].get_array() for ax in axes[0])
    assert predicted.tolist() == [[PHASES.index(p) for p in row] for row in pd.predicted]
    assert trained.tolist() == [[PHASES.index(p) for p in row] for row in pd.trained]
    assert differ.tolist() == (pd.predicted != pd.trained).astype(int).tolist()
    pairs = zip(pd.predicted.ravel().tolist(), pd.trained.ravel().tolist(), strict=True)
    same = sum(a == b for a, b in pairs)  # counts, not a rounded percentage
    assert f"agree in {same} of {pd.predicted.size} cells" in axes[0, 2].get_title()
    plt.close(fig)

    sweep = {
        "inv": np.array([1.0, 10.0, 100.0]),
        "trained_dims": np.array([1.0, 0.52, 0.4]),
        "predicted_dims": np.array([1.0, 0.5, 0.4]),
        "trained_loss": np.array([1.0, 0.5, 0.1]),
        "predicted_loss": np.array([1.0, 0.4, 0.1]),
    }
    fig, ax = plt.subplots()
    tp.draw_dimensionality(ax, sweep, 200, 20)
    points, curve = ax.get_lines()[:2]
    assert points.get_ydata().tolist() == sweep["trained_dims"].tolist()
    assert curve.get_ydata().tolist() == sweep["predicted_dims"].tolist()  # drawn over the points
    assert curve.get_zorder() >= points.get_zorder() and ax.get_xscale() == "log"
    fig, ax = plt.subplots()
    tp.draw_loss_gap(ax, sweep, 200, 20)
    assert ax.get_lines()[0].get_ydata() == pytest.approx([0.0, 0.25, 0.0])
    plt.close("all")


def test_sae_recovery_draws_svd_under_its_ceiling_and_no_packing_below_welch():
    """What panels (a) and (c) show obeys two facts checked here independently of the benchmark.

    No packing of n > d unit vectors has coherence below the Welch bound
    sqrt((n - d) / (d (n - 1))); SVD has d directions, so a one-to-one matching
    reaches at most d of n features: MCC <= min(1, d/n).
    """
    from matplotlib.figure import Figure

    from packing.figures import sae_recovery
    from packing.sae import _benchmark as bench

    tables = {
        "geo": bench.geometry_benchmark(quick=True),
        "dens": bench.density_sweep(quick=True),
        "ratio": bench.ratio_sweep(quick=True),
        "pen": bench.penalty_sweep(quick=True),
    }
    axes = Figure().subplots(2, 2)
    sae_recovery.draw(axes, **tables)
    geo = tables["geo"]
    welch = np.sqrt((geo["n"] - geo["d"]) / (geo["d"] * (geo["n"] - 1)))
    xs = np.concatenate(
        [line.get_xdata() for line in axes[0, 0].get_lines() if line.get_linestyle() == "None"]
    )
    assert len(xs) == 2 * len(geo["n"])  # one SAE and one SVD marker per packing
    assert np.all(xs >= 1 - 1e-9) and np.allclose(np.sort(xs), np.sort(np.tile(geo["coherence"] / welch, 2)))
    lines = {line.get_label(): line for line in axes[1, 0].get_lines()}
    x, y = lines["SVD"].get_xdata(), lines["SVD"].get_ydata()
    assert len(x) == len(tables["ratio"]["n"]) and np.all(y <= np.minimum(1.0, 1.0 / x) + 1e-12)
    gx, gy = lines["SVD ceiling min(1, d/n)"].get_data()
    assert np.allclose(gy, np.minimum(1.0, 1.0 / gx))
    for ax in axes.ravel():  # every plotted recovery is a cosine statistic in [0, 1]
        for line in ax.get_lines():
            if line.get_label().startswith("SVD ceiling") or ax is axes[0, 0] and line.get_linestyle() == ":":
                continue
            assert np.all(
                (np.asarray(line.get_ydata()) >= -1e-12) & (np.asarray(line.get_ydata()) <= 1 + 1e-12)
            )
