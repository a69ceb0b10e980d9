"""Results on disk: every result class saves and loads back equal, strict JSON, schemas, damage detected."""

import dataclasses
import datetime
import inspect
import json
import math
import os
import tempfile
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import packing
import packing.figures
from packing import (
    CorruptFileError,
    FileFormatError,
    PackingFileError,
    ResultSchemaError,
    load_result,
    save_packing,
    save_result,
)
from packing._results import Savable, result_classes

# --------------------------------------------------------------------------- equality, written independently


def same(a, b) -> bool:
    """Deep equality that also compares types, dtypes, NaN and the sign of zero (dataclass == cannot)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, np.generic) or isinstance(a, float | complex):
        if type(a) is not type(b):
            return False
        if isinstance(a, np.generic) and a.dtype.kind not in "fc":
            return a == b
        pairs = [(complex(a).real, complex(b).real), (complex(a).imag, complex(b).imag)]
        return all(
            (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
            for x, y in pairs
        )
    if isinstance(a, dict):
        return (
            type(b) is dict
            and len(a) == len(b)
            and all(
                same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
            )
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def roundtrip(obj):
    with tempfile.TemporaryDirectory() as tmp:
        path = save_result(obj, Path(tmp) / "r.npz")
        back = load_result(path)
        again = type(obj).load(path)
        with np.load(path, allow_pickle=False) as data:  # plain NumPy, nothing pickled
            record = json.loads(str(data["__result__"]), parse_constant=_no_literal)
    assert same(back, obj) and same(again, obj)
    return record


def _no_literal(name):
    raise AssertionError(f"JSON literal {name} in a result record")


# --------------------------------------------------------------------------- one strategy per result class

seeds = st.integers(0, 2**31)


@st.composite
def toy_results(draw):
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    return packing.train_toy_model(
        n_features=n,
        d=d,
        sparsity=draw(st.lists(st.floats(0, 0.95), min_size=1, max_size=3)),
        importance=draw(st.sampled_from([1.0, [0.9**i for i in range(n)]])),
        steps=draw(st.integers(1, 12)),
        batch_size=draw(st.integers(1, 16)),
        n_seeds=draw(st.integers(1, 2)),
        snapshot_every=draw(st.sampled_from([None, 1, 5])),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        eval_batch_size=64,
        rng=draw(seeds),
    )


@st.composite
def abs_results(draw):
    return packing.train_abs_model(
        n_features=draw(st.integers(1, 4)),
        d=draw(st.integers(1, 5)),
        sparsity=draw(st.floats(0, 0.9)),
        steps=draw(st.integers(1, 10)),
        batch_size=draw(st.integers(1, 16)),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        rng=draw(seeds),
    )


@st.composite
def monosemanticity_results(draw):
    return packing.train_monosemanticity_model(
        n_features=draw(st.integers(1, 5)),
        d=draw(st.integers(1, 4)),
        n_neurons=draw(st.integers(1, 7)),
        density=draw(st.floats(0.05, 1.0)),
        frequencies=draw(st.sampled_from(["equal", "power_law"])),
        task=draw(st.sampled_from(["decoder", "abs"])),
        activation=draw(st.sampled_from(["relu", "gelu"])),
        init_bias=draw(st.sampled_from([0.0, -1.0, [0.0, -0.5]])),
        bias_decay=draw(st.sampled_from([0.0, 0.03])),
        input_noise=draw(st.sampled_from([0.0, 0.1])),
        steps=draw(st.integers(1, 8)),
        batch_size=draw(st.integers(1, 16)),
        eval_batch_size=32,
        snapshot_every=draw(st.sampled_from([None, 1, 3])),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        rng=draw(seeds),
    )


@st.composite
def monosemanticity_reports(draw):
    result = draw(monosemanticity_results())
    return packing.monosemanticity(
        result,
        threshold=draw(st.sampled_from([0.5, 0.999])),
        statistics=draw(st.booleans()),
        structure=draw(st.booleans()),
    )


@st.composite
def scurve_results(draw):
    return packing.train_scurve(
        rank=draw(st.integers(1, 2)),
        target_strengths=draw(st.lists(st.floats(0.1, 3), min_size=1, max_size=3)),
        size=(4, 5),
        loss=draw(st.sampled_from(["squared", "cross_entropy"])),
        steps=draw(st.integers(1, 20)),
        record_every=draw(st.integers(1, 7)),
        rng=draw(seeds),
    )


@st.composite
def packings(draw, min_n=1, max_n=7, max_d=4):
    n, d = draw(st.integers(min_n, max_n)), draw(st.integers(1, max_d))
    W = np.random.default_rng(draw(seeds)).normal(size=(n, d))
    if draw(st.booleans()) and n > 1:
        W[draw(st.integers(0, n - 1))] = 0.0  # a zero row
    return W


@st.composite
def packing_results(draw):
    n, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    p = draw(st.sampled_from([1.0, 2.0, 4.0, np.inf]))
    return packing.optimize_packing(n, d, p=p, restarts=1, budget=0.5, rng=draw(seeds))


@st.composite
def partition_results(draw):
    n, d = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    return packing.optimal_partition(
        n,
        d,
        draw(st.sampled_from([0.5, 1.0, 2.0, 4.0, np.inf])),
        cost=draw(st.sampled_from(["welch", "known"])),
        build=draw(st.booleans()),
    )


@st.composite
def reports(draw):
    W = draw(st.sampled_from([np.vstack([np.eye(3), -np.eye(3)]), packing.regular_polygon(5)]))
    noise = np.random.default_rng(draw(seeds)).normal(scale=draw(st.sampled_from([0.0, 0.05])), size=W.shape)
    return packing.analyze_structure(W + noise, signed=draw(st.booleans()))


@st.composite
def comparisons(draw):
    W = draw(st.sampled_from([np.vstack([np.eye(2), -np.eye(2)]), packing.regular_polygon(5)]))
    batch = np.stack([W, W[::-1]]) if draw(st.booleans()) else W
    model = dict(sparsity=0.9, b=np.full(W.shape[0], -0.1)) if draw(st.booleans()) else {}
    return packing.compare_packings(
        batch, include=("ideal",), partition_ps=(1.0, np.inf), p_grid=(1.0, 4.0), **model
    )


@st.composite
def pair_statistics(draw):
    W = draw(packings(min_n=1))
    return packing.pairwise_statistics(
        W,
        p=draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0, np.inf]), min_size=1, max_size=4, unique=True)),
        bins=draw(st.sampled_from([None, 4, [0.0, 0.3, 1.0]])),
        signed=draw(st.booleans()),
    )


@st.composite
def lp_bounds(draw):
    n, d = draw(st.integers(2, 9)), draw(st.integers(2, 4))
    return packing.lp_bound(n, d, degree=draw(st.sampled_from([2, 4])), return_info=True)


@st.composite
def spectra(draw):
    name, args = draw(st.sampled_from([("simplex", (4,)), ("polygon_lines", (5,)), ("cross_polytope", (3,))]))
    spec = packing.construction_spectrum(name, *args)
    return packing.tegum_spectrum(spec, spec) if draw(st.booleans()) else spec


@st.composite
def sweep_cells(draw):
    """A cell as packing.sweep stores it: a result object or a dict of numbers and arrays inside."""
    if draw(st.booleans()):
        result = draw(partition_results())
    else:
        result = {"y": draw(st.floats(allow_nan=False)), "v": np.arange(draw(st.integers(0, 4)), dtype=float)}
    config = {"n": draw(st.integers(1, 9)), "p": draw(st.sampled_from([1.0, np.inf])), "dtype": np.float32}
    seed = draw(st.one_of(st.none(), seeds))
    summary = {
        "loss": draw(st.floats()),
        "k": draw(st.integers(0, 5)),
        "name": draw(st.text(max_size=5)),
        "ok": draw(st.booleans()),
        "none": None,
    }
    key = packing.cell_key("t", config, seed)
    return packing.SweepCell("t", key, config, seed, summary, result, draw(st.floats(0, 10)), "")


@st.composite
def theory_results(draw, kind):
    """Results of packing.theory (small, fast cases)."""
    from packing import theory

    S = draw(st.sampled_from([0.0, 0.6, 0.95]))
    if kind == "ExpectedLoss":
        W = draw(packings(min_n=1, max_n=5, max_d=3))
        b = np.random.default_rng(draw(seeds)).normal(scale=0.2, size=len(W))
        model = draw(st.sampled_from(["relu", "linear"]))
        return theory.expected_loss(W, b, sparsity=S, model=model, return_details=True)
    if kind == "FittedGeometry":
        U = draw(st.sampled_from([packing.regular_polygon(5), np.vstack([np.eye(2), -np.eye(2)]), np.eye(2)]))
        return theory.fit_geometry(U, sparsity=S)
    if kind == "GeometryPrediction":
        n, d = draw(st.integers(1, 5)), draw(st.integers(1, 2))
        return theory.predict_geometry(n, d, sparsity=S, importance=draw(st.sampled_from([1.0, 0.8])))
    if kind == "BlockCostTable":
        return theory.relu_block_costs(draw(st.integers(1, 5)), draw(st.integers(1, 2)), sparsity=S)
    if kind == "BlockShape":
        return draw(st.sampled_from(theory.default_block_shapes()))
    pd = theory.phase_diagram(2, 1, relative_importance=[0.5, 2.0], density=[1.0, 0.05], train=False)
    if draw(st.booleans()):
        W = np.random.default_rng(draw(seeds)).normal(size=(4, 2, 1))
        pd = theory.phase_diagram(
            2, 1, relative_importance=[0.5, 2.0], density=[1.0, 0.05], trained_weights=(W, np.zeros((4, 2)))
        )
    return pd


@st.composite
def certificates(draw):
    W = draw(st.sampled_from([packing.icosahedron_lines(), packing.regular_polygon(5), np.eye(3)]))
    noise = np.random.default_rng(draw(seeds)).normal(scale=draw(st.sampled_from([0.0, 1e-3])), size=W.shape)
    return packing.certify_packing(W + noise, digits=draw(st.integers(1, 40)))




@st.composite
def sparse_data(draw):
    n, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    W = np.random.default_rng(draw(seeds)).normal(size=(n, d))
    return packing.sparse_activations(
        W,
        n_samples=draw(st.integers(1, 40)),
        n_active=draw(st.floats(0.1, float(n))),
        noise=draw(st.sampled_from([0.0, 0.1])),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
        rng=draw(seeds),
    )


@st.composite
def sae_results(draw, data=None):
    data = draw(sparse_data()) if data is None else data
    kind = draw(st.sampled_from(["l1", "topk", "batchtopk"]))
    m = draw(st.integers(1, 5))
    extra = dict(l1_coefficient=0.1) if kind == "l1" else dict(k=draw(st.integers(1, m)))
    return packing.train_sae(
        data,
        n_latents=m,
        kind=kind,
        steps=draw(st.integers(1, 8)),
        batch_size=draw(st.integers(1, 16)),
        rng=draw(seeds),
        **extra,
    )


@st.composite
def recovery_results(draw):
    data = draw(sparse_data())
    learned = draw(st.sampled_from(["svd", "sae", "matrix"]))
    if learned == "svd":
        return packing.recovery_metrics(packing.svd_dictionary(data), data)
    if learned == "sae":
        return packing.recovery_metrics(draw(sae_results(data)), data)
    W = draw(packings())
    other = np.random.default_rng(draw(seeds)).normal(size=(draw(st.integers(1, 6)), W.shape[1]))
    return packing.recovery_metrics(other, W, structure=draw(st.booleans()))


STRATEGIES = {
    "SparseActivations": sparse_data(),
    "SAEResult": sae_results(),
    "SVDResult": sparse_data().map(packing.svd_dictionary),
    "RecoveryMetrics": recovery_results(),
    "GeometrySummary": packings().map(packing.geometry_summary),
    "ToyModelResult": toy_results(),
    "AbsModelResult": abs_results(),
    "ScurveResult": scurve_results(),
    "MonosemanticityModelResult": monosemanticity_results(),
    "MonosemanticityReport": monosemanticity_reports(),
    "PackingResult": packing_results(),
    "PartitionResult": partition_results(),
    "StructureReport": reports(),
    "TegumFactors": reports().map(lambda r: r.factors),
    "ShapeMatch": reports().map(lambda r: r.shapes[0]),
    "FactorCapacity": reports().map(lambda r: r.capacities[0]),
    "OrthogonalSets": reports().map(lambda r: r.orthogonal),
    "PackingSignature": reports().map(lambda r: r.signature),
    "IdealShape": st.builds(packing.IdealShape, st.sampled_from(["simplex", "polygon"]), st.integers(3, 9)),
    "Comparison": comparisons(),
    "ComparisonRow": comparisons().map(lambda c: c.rows[-1]),
    "ModelComparison": st.builds(
        lambda W, S: packing.compare_packings(W, include=("ideal",), p_grid=(), sparsity=S).model[0],
        st.sampled_from([np.vstack([np.eye(2), -np.eye(2)]), packing.regular_polygon(5)]),
        st.sampled_from([0.0, 0.9]),
    ),
    "LPBound": lp_bounds(),  # each solve takes about 0.5 s: few examples (see test below)
    "PairStatistics": pair_statistics(),
    "SignedInterference": pair_statistics().filter(lambda s: s.signed is not None).map(lambda s: s.signed),
    "PairSpectrum": spectra(),
    "SweepCell": sweep_cells(),
    **{
        kind: theory_results(kind)
        for kind in (
            "ExpectedLoss",
            "FittedGeometry",
            "GeometryPrediction",
            "BlockCostTable",
            "BlockShape",
            "PhaseDiagram",
        )
    },
    "PackingCertificate": certificates(),
    "FoundPacking": st.sampled_from(packing.best_found_table()),
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_result_class_round_trips(name):
    @settings(max_examples=4 if name == "LPBound" else 12, deadline=None)
    @given(STRATEGIES[name])
    def check(obj):
        assert type(obj).__name__ == name
        roundtrip(obj)

    check()


def test_every_registered_result_class_has_a_round_trip_test():
    test_only = {c for c in result_classes() if result_classes()[c].__module__ == __name__}
    assert set(result_classes()) - test_only - {"TrainingCheckpoint"} <= set(STRATEGIES)


def test_every_exported_dataclass_is_a_savable_result():
    not_results = {
        "KnownOptimum": "holds its construction function",
        "BestKnown": "a row of the shipped table",
        "SweepTask": "holds the task's function (registered in memory, never stored)",
    }
    for name in packing.__all__:
        obj = getattr(packing, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and name not in not_results:
            assert issubclass(obj, Savable), f"{name} has no save/load"


# --------------------------------------------------------------------------- the codec on anything


@dataclasses.dataclass
class Anything(Savable, schema=1):
    value: object
    config: dict = dataclasses.field(default_factory=dict)


floats = st.floats(allow_nan=True, allow_infinity=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**200), 2**200),
    floats,
    st.complex_numbers(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            np.float32(0.1),
            np.int8(-3),
            np.uint64(2**64 - 1),
            np.bool_(False),
            np.float64(-0.0),
            np.complex64(1 - 2j),
            np.str_("ü"),
            np.float16(np.inf),
        ]
    ),
    st.sampled_from([np.float32, np.int64, int, float, str, np.dtype("<U3"), np.dtype("float32")]),
)
keys = st.one_of(
    st.text(max_size=6),
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.none(),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.just("$array"),
)
arrays = st.one_of(
    st.builds(
        lambda s, sh: np.random.default_rng(s).normal(size=sh), seeds, st.sampled_from([(), (0,), (2, 3)])
    ),
    st.builds(lambda v: np.array(v, dtype=np.float32), st.lists(st.floats(width=32), max_size=4)),
    st.builds(np.array, st.lists(st.text(max_size=4), min_size=1, max_size=3)),
    st.builds(lambda v: np.array(v, dtype=bool), st.lists(st.booleans(), max_size=3)),
    st.builds(lambda v: np.array(v, dtype=np.int16), st.lists(st.integers(-100, 100), max_size=3)),
)
trees = st.recursive(
    st.one_of(scalars, arrays),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_any_tree_of_plain_data_round_trips_exactly(value):
    record = roundtrip(Anything(value=value, config={"x": value}))
    assert record["class"] == "Anything"


# --------------------------------------------------------------------------- the record


def test_the_record_holds_versions_config_seed_and_time(tmp_path):
    r = packing.train_toy_model(n_features=3, d=2, steps=4, batch_size=8, rng=11)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    path = r.save(tmp_path / "toy.npz")
    with np.load(path, allow_pickle=False) as data:
        record = json.loads(str(data["__result__"]), parse_constant=_no_literal)
        members = set(data.files)
    assert record["format"] == "packing-result" and record["schema"] == 1
    assert record["class"] == "ToyModelResult" and record["module"] == "packing.train.toy"
    assert record["packing_version"] == packing.__version__ and record["seed"] == 11
    created = datetime.datetime.fromisoformat(record["created"])
    assert before <= created <= datetime.datetime.now(datetime.UTC)
    assert record["config"]["steps"] == 4 and record["config"]["dtype"] == {"$type": "float32"}
    assert {"W", "b", "loss_history"} <= members and members == {"__result__", *record["arrays"]}
    for name, info in record["arrays"].items():
        with np.load(path) as data:
            assert info["shape"] == list(data[name].shape)
    assert load_result(path).config == r.config


def test_nothing_is_pickled_when_saving(tmp_path):
    bad = packing.PackingResult(
        W=np.array([{"a": 1}], dtype=object), objective=0.0, coherence=0.0, lower_bound=0.0, gap=0.0, p=2.0
    )
    with pytest.raises(
        TypeError,
        match=r"PackingResult.W must hold arrays of numbers or strings \(nothing is "
        r"pickled\); got an array of dtype object",
    ):
        bad.save(tmp_path / "bad.npz")
    r = packing.train_toy_model(n_features=2, d=1, steps=1, batch_size=2, rng=0)
    r.config["callback"] = print
    with pytest.raises(
        TypeError,
        match=r"ToyModelResult.config\['callback'\] must be plain data .*got "
        r"builtin_function_or_method",
    ):
        r.save(tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"obj must be a result object of packing .*got dict"):
        save_result({"W": np.eye(2)}, tmp_path / "bad.npz")
    with pytest.raises(PackingFileError, match=r"path must end in .npz"):
        save_result(packing.lp_bound(3, 2, return_info=True), tmp_path / "bad.json")
    assert not any(tmp_path.iterdir())


class _Sneaky:
    def __reduce__(self):
        return (os.mkdir, (str(Path(tempfile.gettempdir()) / f"packing-result-unpickled-{os.getpid()}"),))


def test_loading_never_unpickles(tmp_path):
    path = packing.lp_bound(4, 3, return_info=True).save(tmp_path / "r.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["value"] = np.array([_Sneaky()], dtype=object)
    np.savez(path, **arrays)  # numpy pickles the object array
    with pytest.raises(CorruptFileError, match="allow_pickle=False"):
        load_result(path)
    assert not (Path(tempfile.gettempdir()) / f"packing-result-unpickled-{os.getpid()}").exists()


# --------------------------------------------------------------------------- damage


def _rewrite(path, change):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(path, **arrays)


def _edit_record(arrays, fn):
    record = json.loads(str(arrays["__result__"]))
    fn(record)
    arrays["__result__"] = np.array(json.dumps(record))


DAMAGE = {
    "edited array": (
        lambda a: a.__setitem__("W", a["W"] * 2 + 1),
        CorruptFileError,
        "'W' fails its checksum",
    ),
    "lost array": (lambda a: a.pop("b"), CorruptFileError, "are not those its record lists"),
    "extra array": (
        lambda a: a.__setitem__("x", np.ones(2)),
        CorruptFileError,
        "are not those its record lists",
    ),
    "NaN literal": (
        lambda a: a.__setitem__("__result__", np.array('{"format": NaN}')),
        CorruptFileError,
        "not valid JSON",
    ),
    "bad record": (
        lambda a: a.__setitem__("__result__", np.array(3.0)),
        CorruptFileError,
        "damaged __result__",
    ),
    "no record": (lambda a: a.pop("__result__"), ResultSchemaError, "not a packing result file"),
    "unknown class": (
        lambda a: _edit_record(a, lambda r: r.update({"class": "Mystery", "module": "x"})),
        ResultSchemaError,
        "class 'Mystery', which this version of packing does not know",
    ),
    "bad tag": (
        lambda a: _edit_record(a, lambda r: r["fields"].update({"seconds": {"$what": 1}})),
        CorruptFileError,
        "unknown tag '$what'",
    ),
    "lost field": (
        lambda a: _edit_record(a, lambda r: r["fields"].pop("config")),
        ResultSchemaError,
        "missing ['config']",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_result_files_are_reported(tmp_path, damage):
    change, exc, message = DAMAGE[damage]
    path = packing.train_toy_model(n_features=3, d=2, steps=2, batch_size=4, rng=0).save(tmp_path / "r.npz")
    _rewrite(path, change)
    with pytest.raises(exc) as info:
        load_result(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "content, exc",
    [
        (b"", CorruptFileError),
        (bytes(range(256)) * 4, CorruptFileError),
        (None, CorruptFileError),
        (b"W = [1, 2]", FileFormatError),
    ],
)
def test_truncated_garbage_or_mislabelled_result_files(tmp_path, content, exc):
    path = packing.lp_bound(5, 3, return_info=True).save(tmp_path / "r.npz")
    path.write_bytes(path.read_bytes()[:200] if content is None else content)
    with pytest.raises(exc):
        load_result(path)


def test_a_result_of_another_class_or_a_plain_packing_file(tmp_path):
    path = packing.lp_bound(5, 3, return_info=True).save(tmp_path / "bound.npz")
    with pytest.raises(
        ResultSchemaError, match="holds a LPBound, not a ToyModelResult; read it with packing.load"
    ):
        packing.ToyModelResult.load(path)
    plain = save_packing(tmp_path / "W.npz", np.eye(2))
    with pytest.raises(ResultSchemaError, match="not a packing result file .* packing.load_packing"):
        load_result(plain)


# --------------------------------------------------------------------------- schema versions


def _evolving(version, migrations=None):
    """The same result class (same name, module and qualified name) at another schema version."""
    if version == 1:

        @dataclasses.dataclass
        class Evolving(Savable, schema=1):
            W: np.ndarray
            note: str

    else:

        @dataclasses.dataclass
        class Evolving(Savable, schema=version, migrations=migrations):
            weights: np.ndarray
            note: str
            n: int

    return Evolving


def _v1_to_v2(fields, arrays):
    fields["weights"] = fields.pop("W")
    fields["n"] = int(arrays[fields["weights"]["$array"]].shape[0])
    return fields, arrays


def test_an_older_schema_is_migrated_or_refused_with_the_reason(tmp_path):
    try:
        old = _evolving(1)(W=np.eye(3), note="v1")
        path = old.save(tmp_path / "old.npz")
        new = _evolving(2, {1: _v1_to_v2})
        back = load_result(path)
        assert (
            type(back) is new
            and back.n == 3
            and back.note == "v1"
            and np.array_equal(back.weights, np.eye(3))
        )
        _evolving(3, {2: lambda f, a: (f, a)})  # a version 3 that lost the step from 1 to 2
        with pytest.raises(
            ResultSchemaError,
            match="schema version 1; this version of packing reads version 3 "
            "and has no migration from 1 to 2",
        ):
            load_result(path)
        newer = _evolving(3)(weights=np.eye(2), note="v3", n=2).save(tmp_path / "newer.npz")
        _evolving(2, {1: _v1_to_v2})
        with pytest.raises(
            ResultSchemaError,
            match="schema version 3, written by a newer version of packing; this version reads up to 2",
        ):
            load_result(newer)
    finally:
        from packing import _results

        _results._REGISTRY.pop("Evolving", None)


def test_result_class_names_are_unique():
    with pytest.raises(TypeError, match="result class name 'LPBound' is taken by packing.bounds._lp.LPBound"):

        @dataclasses.dataclass
        class LPBound(Savable):
            value: float


# --------------------------------------------------------------------------- fields checked when built


@pytest.mark.parametrize(
    "make, field, bad",
    [
        (lambda: packing.optimal_partition(6, 3, 1.0), "p", "abc"),
        (lambda: packing.optimal_partition(6, 3, 1.0), "n", True),
        (lambda: packing.optimal_partition(6, 3, 1.0), "blocks", None),
        (lambda: packing.pairwise_statistics(packing.regular_simplex(4)), "signed", 3),
        (lambda: packing.construction_spectrum("simplex", 4), "values", [1 / 3]),
        (lambda: packing.certify_packing(packing.regular_simplex(4)), "coherence_squared_ratio", "1/9"),
        (lambda: packing.known_optimum(4, 3), "coherence", 1j),
        (lambda: packing.best_known(6, 3), "n", 6.0),
        (lambda: packing.sweep_tasks()["optimal_partition"], "name", 3),
        (lambda: packing.figures.FIGURES["scurves"], "outputs", "scurves"),
        (lambda: packing.figures.Drawn("x", matplotlib.figure.Figure(), {}), "figure", "f"),
        (lambda: packing.figures.FigureOutcome("x"), "error", "it failed"),
    ],
)
def test_result_classes_refuse_a_field_of_another_type_naming_it(make, field, bad):
    obj = make()
    want = rf"^{type(obj).__name__}: {field} must be .*; got {type(bad).__name__}"
    with pytest.raises(TypeError, match=want):
        dataclasses.replace(obj, **{field: bad})


def test_every_public_dataclass_checks_its_fields_when_built():
    from packing._results import CheckedFields

    public = [getattr(packing, n) for n in packing.__all__]
    public += [getattr(packing.figures, n) for n in packing.figures.__all__]
    unchecked = [
        cls.__name__
        for cls in public
        if inspect.isclass(cls)
        and dataclasses.is_dataclass(cls)
        and not issubclass(cls, Savable | CheckedFields)
    ]
    assert not unchecked, f"public dataclasses that accept fields of any type: {unchecked}"
