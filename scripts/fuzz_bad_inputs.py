"""Fuzz every public callable of packing with bad arguments derived from good calls.

Public: every callable in ``packing.__all__`` and in the ``__all__`` of the
subpackages it does not re-export (:data:`SUBPACKAGES`: ``cli.main``,
``figures.cached``...). The good calls come from the bad-input tables
(``tests/test_bad_input_*.py``: for each argument, the value most cases leave
untouched) plus a few written here: functions of ``*args`` (each positional
element is fuzzed as ``args[i]``), functions of no argument (one call), the
methods of result objects that take arguments (``ToyModelResult.predict``,
``SAEResult.encode``, ``PackingSignature.key``, ``X.load``...; named
``Class.method``), the loaders once per file format (named
``load_packing@.csv`` and the like), the result classes rebuilt from the fields
of an instance some good call returned (their fields' types are checked; NaN,
infinite, text or ragged values are kept as given, by design, and counted as
``record-value``), and the exception classes with a message (only other
exceptions and time-outs are flagged: any message is Python's convention).
``--list-uncovered`` runs the good calls only and lists the public callables
without one.
Each argument is then replaced by garbage of every kind (strings, objects,
complex numbers, ``None``, booleans, ``2.5`` for ints, NaN and infinities,
negative, zero and huge sizes, arrays with NaN or inf inside, empty, transposed,
of the wrong ndim, length or dtype, wrong rng types; good arrays in odd memory:
read-only, broadcast, Fortran-ordered, strided, ``np.matrix``), one at a time,
under a 256 MiB memory limit and a time limit per call. A path to an existing
file also meets bad files of its suffix (missing, a folder, empty, truncated,
garbage, another format inside, a named pipe, a link to a folder, a header
declaring petabytes; for packing files arrays with NaN, inf, the wrong ndim,
dtype or no rows; for result files edited records: bad JSON, unknown classes
and tags, fields of the wrong type, a failed checksum); a path to be written
meets a folder, a path through a file and a missing folder. Flagged: another
exception than TypeError/ValueError (``OTHER-EXC``), a message that does not
name the argument (``UNNAMED``; for a bad file, naming the file counts), garbage
accepted (``ACCEPTED-GARBAGE``), a NaN in a result (``NAN-RESULT``), calls past
the time limit (``TIMEOUT``, also when the call turned the alarm into another
error) and a good call that wrote into its caller's arrays (``MUTATED-INPUT``).
The calls run in a temporary folder, emptied before each call, so a relative
path such as ``"abc"`` given to a writer lands there, and no later call meets it.

Usage (from the repository root, a few minutes)::

    PYTHONPATH=. python scripts/fuzz_bad_inputs.py --out fuzz.json [--only train_sae,sweep]

A ``SystemExit`` (argparse refusing options) is caught and flagged as another exception.
A flag is a place to look, not a verdict: a huge ``max_iter`` or a closed form
of a 31-digit ``n`` is legitimately accepted. The flags looked at and kept are
listed in :data:`TRIAGED` with their reasons; a run prints only the others.
``tests/test_fuzz_bad_inputs.py`` runs a fixed sample of the fuzz (one bad value
per argument, :func:`fuzz_public` with ``pick``) with the test suite.
"""

import argparse
import collections
import contextlib
import dataclasses
import importlib
import inspect
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from packing.testing.bad_inputs import NO_ARGUMENTS  # called once each, without arguments

ROOT = Path(__file__).resolve().parents[1]


class Weird:
    """An object no function should accept."""

    def __repr__(self):
        return "<Weird>"


def _key(v):
    if isinstance(v, np.ndarray):
        return ("arr", v.shape, str(v.dtype), v.tobytes()[:200])
    try:
        return ("r", repr(v)[:300])
    except Exception:  # noqa: BLE001  (any repr may fail)
        return ("id", id(v))


def table_calls() -> dict:
    """Return ``{function: keywords}``: per argument, the value most table cases leave in place."""
    sys.path.insert(0, str(ROOT / "tests"))
    counts = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    store = {}
    for path in sorted((ROOT / "tests").glob("test_bad_input_*.py")):
        if path.stem == "test_bad_input_common":
            continue
        for param in importlib.import_module(path.stem).CASES:
            fn, args, kwargs, _, name = param.values
            try:
                bound = inspect.signature(fn).bind_partial(*args, **kwargs)
            except (TypeError, ValueError):
                continue
            kinds = {q.name: q.kind for q in inspect.signature(fn).parameters.values()}
            for pname, val in bound.arguments.items():
                if kinds.get(pname) == inspect.Parameter.VAR_KEYWORD:
                    continue  # extra keywords in a table are the bad value of their case, never a good call
                if pname != name and not name.startswith(pname + "["):
                    counts[fn][pname][_key(val)] += 1
                    store[(fn, pname, _key(val))] = val
    return {
        fn: {p: store[(fn, p, c.most_common(1)[0][0])] for p, c in params.items()}
        for fn, params in counts.items()
    }


def _small_results(packing):
    """Return a small packing and two tiny trained results (the inputs of several good calls)."""
    W = packing.random_packing(5, 3, rng=0)
    toy = packing.train_toy_model(
        n_features=5, d=2, density=0.5, steps=3, batch_size=8, rng=0, progress=False
    )
    mono = packing.train_monosemanticity_model(
        n_features=4, d=2, n_neurons=5, steps=2, batch_size=4, rng=0, progress=False
    )
    return W, toy, mono


def written_calls(packing, folder: Path) -> dict:
    """Good calls of the functions the tables cannot give one for (one-argument functions, files)."""
    W, toy, mono = _small_results(packing)
    np.save(folder / "W.npy", W)
    packing.export_packing(W, folder / "W.txt")
    packing.save_result(toy, folder / "res.npz")
    spectrum = packing.construction_spectrum("simplex", 4)
    table = packing.sweep(
        "optimal_partition",
        {"n": [6], "d": [3], "p": [1.0]},
        cache_dir=folder / "cache",
        n_jobs=1,
        progress=False,
    )
    (folder / "grid.toml").write_text('n_features = [5]\nd = [2]\nsparsity = [0.0, 0.9]\n')
    calls = {name: {"W": W} for name in ("coherence", "capacity", "feature_dimensionality")}
    calls |= {name: {"W": W} for name in ("dimensions_per_feature", "pairwise_statistics", "cosine_matrix")}
    calls |= {name: {"W": W} for name in ("factor_capacities", "ideal_tegum_product", "certify_packing")}
    calls |= {
        "default_atol": {"dtype": np.float64},
        "gerzon_bound": {"d": 3},
        "regular_polygon_lines": {"m": 5},
        "regular_polygon": {"m": 5},
        "regular_simplex": {"m": 4},
        "cross_polytope": {"d": 3},
        "orthonormal_basis": {"d": 3},
        "hadamard_matrix": {"m": 4},
        "etf_sizes": {"max_n": 10},
        "tegum_loss_regime": {"p": 2.0},
        "monosemanticity": {"result": mono},
        "from_torch_layout": {"weight": W.T.copy()},
        "best_known_table": {"d": 3},
        "best_found_table": {"d": 3},
        "optimize_packing": {"n": 6, "d": 3, "budget": 0.3, "rng": 0},
        "save_packing": {"path": folder / "out.npz", "W": W},
        "load_packing": {"path": folder / "W.npy"},
        "load_result": {"path": folder / "res.npz"},
        "save_result": {"obj": toy, "path": folder / "res2.npz"},
        "load_packing_metadata": {"path": folder / "W.npy"},
        "list_arrays": {"path": folder / "W.npy"},
        "read_exported_packing": {"path": folder / "W.txt"},
        "export_packing": {"W": W, "path": folder / "e.txt"},
        "shape_template": {"family": "polygon", "m": 5},
        "tegum_product": {"blocks": (packing.regular_simplex(3), np.eye(2))},
        "construction_spectrum": {"name": "simplex", "args": (4,)},
        "tegum_spectrum": {"spectra": (spectrum, spectrum)},
        "load_cell": {"path": Path(table["path"][0])},
        "read_grid": {"path": folder / "grid.toml"},
        "sweep_dataset": {"table": table},
        "atomic_write": {"path": folder / "atomic.txt", "text": True},
    }
    calls |= {name: {} for name in NO_ARGUMENTS}
    fns = {name: getattr(packing, name) for name in calls} | {"atomic_write": _atomic_write}
    return {fns[name]: kw for name, kw in calls.items()}


#: Public subpackages whose ``__all__`` ``packing`` does not re-export (fuzzed as ``cli.main``...).
SUBPACKAGES = ("cli", "figures", "strategies")


def public_callables(packing) -> dict:
    """``{callable: name}`` of every public callable: ``packing.__all__`` and the :data:`SUBPACKAGES`."""
    public = {getattr(packing, n): n for n in packing.__all__ if callable(getattr(packing, n))}
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"packing.{sub}")
        for n in module.__all__:
            obj = getattr(module, n)
            if callable(obj) and obj not in public:
                public[obj] = f"{sub}.{n}"
    return public


def _is_exception(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException | Warning)


def _figure_driver(out_dir, *, quick=False, force=False, seed=0):
    """Draw nothing: a figure driver (the good call of draw_quick and run_figure_cli)."""
    return []


def _square(x, power=2):
    """Return ``x ** power``: a computation to cache (the good call of figures.cached)."""
    return {"y": np.asarray(x) ** power}


def _cli_main(argv=None):
    """packing.cli.main with its exit status as the verdict: a non-zero status is a refusal (ValueError)."""
    from packing import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(argv)
    if status != 0:
        raise ValueError(f"argv: exit status {status}: {err.getvalue().strip()[:200]}")
    return status


def subpackage_calls(packing, folder: Path) -> dict:
    """``{name: (callable, keywords)}``: good calls of the :data:`SUBPACKAGES`' functions and classes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from packing import cli, figures, strategies

    W = packing.random_packing(5, 3, rng=0)
    np.save(folder / "cli-W.npy", W)
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    image = ax.imshow(np.eye(3))
    ax.plot([1, 10], [1, 100])
    return {
        "cli.main": (_cli_main, {"argv": ["analyze", str(folder / "cli-W.npy")]}),
        "cli.build_parser": (cli.build_parser, {}),
        "figures.capture_figures": (figures.capture_figures, {}),
        "figures.draw_quick": (figures.draw_quick, {"main": _figure_driver, "out_dir": folder / "fig"}),
        "figures.legibility_problems": (figures.legibility_problems, {"fig": fig, "width": 3.0}),
        "figures.add_colorbar": (figures.add_colorbar, {"ax": ax, "mappable": image, "label": "c"}),
        "figures.integer_ticks": (figures.integer_ticks, {"ax": ax, "axis": "x", "max_ticks": 4}),
        "figures.plain_log_ticks": (figures.plain_log_ticks, {"ax": ax, "axis": "y"}),
        "figures.reference_line": (figures.reference_line, {"ax": ax, "y": 0.5, "text": "t"}),
        "figures.FigureRun": (
            figures.FigureRun,
            {"out_dir": folder / "run", "force": False, "cache_dir": None},
        ),
        "figures.cached": (
            figures.cached,
            {"compute": _square, "params": {"x": [1, 2]}, "cache_dir": folder / "figcache", "force": False},
        ),
        "figures.figure_parser": (figures.figure_parser, {"doc": "A figure."}),
        "figures.run_figure_cli": (
            figures.run_figure_cli,
            {"main": _figure_driver, "doc": "A figure.", "argv": ["--out", str(folder / "fig2"), "--quick"]},
        ),
        "figures.resolve_figures": (figures.resolve_figures, {"only": ["scurves"]}),
        "figures.make_figures": (
            figures.make_figures,
            {"out_dir": folder / "mf", "only": ["interference_distribution"], "quick": True,
             "progress": False},
        ),
        "figures.FigureDriver": (figures.FigureDriver, {"name": "x", "outputs": ("x",), "source": "s"}),
        "figures.FigureOutcome": (figures.FigureOutcome, {"name": "x", "paths": [], "seconds": 0.0}),
        "figures.Drawn": (figures.Drawn, {"name": "x", "figure": fig, "facts": {}}),
        "strategies.unit_packings": (strategies.unit_packings, {}),
        "strategies.tegum_products": (strategies.tegum_products, {}),
        "strategies.overlapping_sets": (strategies.overlapping_sets, {}),
    }


def instance_sources(packing, folder: Path) -> list:
    """Results holding the result classes no fuzzed good call returns (not fuzzed themselves)."""
    W = packing.random_packing(5, 3, rng=0)
    small = dict(n_features=5, d=2, density=0.5, steps=2, batch_size=8, rng=0, progress=False)
    packing.train_toy_model(**small, checkpoint=folder / "src-ckpt.npz", checkpoint_every=1)
    return [
        packing.lp_bound(5, 3, return_info=True),
        packing.expected_loss(W, np.zeros(5), return_details=True),
        packing.load_result(folder / "src-ckpt.npz"),
    ]


def collect_instances(out, classes: set, found: dict, depth: int = 0) -> None:
    """Record in ``found`` the first instance of each class of ``classes`` inside a result (3 levels)."""
    if depth > 3:
        return
    if type(out) in classes and type(out) not in found:
        found[type(out)] = out
    if isinstance(out, list | tuple):
        for v in out[:20]:
            collect_instances(v, classes, found, depth + 1)
    elif isinstance(out, dict):
        for v in list(out.values())[:20]:
            collect_instances(v, classes, found, depth + 1)
    elif dataclasses.is_dataclass(out) and not isinstance(out, type):
        for f in dataclasses.fields(out):
            collect_instances(getattr(out, f.name, None), classes, found, depth + 1)


def class_calls(instances: dict) -> dict:
    """``{class: keywords}``: a result class built again from the fields of an instance the toolkit made."""
    return {
        cls: {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
        for cls, obj in instances.items()
        if dataclasses.is_dataclass(cls)
    }


def _set_memory_limit(limit):
    """packing.set_memory_limit, the fuzzer's own limit put back after the call."""
    import packing

    previous = packing.set_memory_limit(limit)
    packing.set_memory_limit(previous)
    return previous


def _atomic_write(path, *, text=False, sync_folder=True):
    """packing.atomic_write, entered and written (it checks its arguments when entered)."""
    import packing

    with packing.atomic_write(path, text=text, sync_folder=sync_folder) as fh:
        fh.write("x" if text else b"x")


def method_calls(packing, folder: Path) -> dict:
    """``{"Class.method": (bound method, keywords)}``: good calls of result methods that take arguments."""
    W, toy, mono = _small_results(packing)
    absm = packing.train_abs_model(n_features=4, d=2, steps=2, batch_size=4, rng=0, progress=False)
    acts = packing.sparse_activations(W, n_samples=64, density=0.3, rng=0)
    sae = packing.train_sae(
        acts, n_latents=6, l1_coefficient=1e-3, steps=3, batch_size=16, rng=0, progress=False
    )
    svd = packing.svd_dictionary(acts, n_components=2)
    sig = packing.packing_signature(W)
    stats = packing.pairwise_statistics(W)
    spec = packing.construction_spectrum("simplex", 4)
    opt = packing.known_optimum(4, 3) if hasattr(packing, "known_optimum") else None
    cert = packing.certify_packing(packing.regular_simplex(4))
    report = packing.monosemanticity(mono)
    part = packing.optimal_partition(6, 3, 1.0)
    x = np.random.default_rng(0).random((3, 5))
    paths = {}
    for label, obj in (("toy", toy), ("mono", mono), ("abs", absm), ("sae", sae), ("part", part)):
        paths[label] = obj.save(folder / f"m-{label}.npz")
    calls = {
        "ToyModelResult.predict": (toy.predict, {"x": x}),
        "ToyModelResult.save": (toy.save, {"path": folder / "m-toy2.npz"}),
        "ToyModelResult.load": (packing.ToyModelResult.load, {"path": paths["toy"]}),
        "AbsModelResult.predict": (absm.predict, {"x": x[:, :4]}),
        "AbsModelResult.load": (packing.AbsModelResult.load, {"path": paths["abs"]}),
        "MonosemanticityModelResult.activations": (mono.activations, {"v": x[:, :4]}),
        "MonosemanticityModelResult.predict": (mono.predict, {"v": x[:, :4]}),
        "MonosemanticityModelResult.load": (packing.MonosemanticityModelResult.load, {"path": paths["mono"]}),
        "MonosemanticityReport.order": (report.order, {"instance": 0}),
        "SAEResult.instance": (sae.instance, {"i": 0}),
        "SAEResult.encode": (sae.encode, {"x": acts.activations[:4], "instance": 0}),
        "SAEResult.decode": (sae.decode, {"z": np.abs(x[:, :1]) @ np.ones((1, 6)), "instance": 0}),
        "SAEResult.reconstruct": (sae.reconstruct, {"x": acts.activations[:4], "instance": 0}),
        "SAEResult.rerun": (sae.rerun, {"activations": acts}),
        "SAEResult.load": (packing.SAEResult.load, {"path": paths["sae"]}),
        "SVDResult.encode": (svd.encode, {"x": acts.activations[:4]}),
        "SVDResult.reconstruct": (svd.reconstruct, {"x": acts.activations[:4]}),
        "PackingSignature.distance": (sig.distance, {"other": packing.packing_signature(W[::-1])}),
        "PackingSignature.matches": (sig.matches, {"other": sig, "atol": 1e-6}),
        "PackingSignature.key": (sig.key, {"decimals": 3}),
        "PairStatistics.moment": (stats.moment, {"p": 2.0}),
        "PairSpectrum.moment": (spec.moment, {"p": 2.0}),
        "PairSpectrum.from_pairs": (packing.PairSpectrum.from_pairs, {"n": 4, "pairs": {1 / 3: 6}}),
        "PackingCertificate.improves_on": (cert.improves_on, {"record": 0.5, "min_improvement": 1e-8}),
        "PartitionResult.load": (packing.PartitionResult.load, {"path": paths["part"]}),
    }
    if opt is not None:
        calls["KnownOptimum.moment"] = (opt.moment, {"p": 2.0})
    # constructors a researcher calls (the result classes are built by the toolkit, not by hand)
    calls["IdealShape"] = (packing.IdealShape, {"family": "polygon", "m": 5})
    calls["set_memory_limit"] = (_set_memory_limit, {"limit": 2**28})
    # resuming from a checkpoint file (a result file read back by the trainer)
    small = dict(n_features=5, d=2, density=0.5, steps=4, batch_size=8, rng=0, progress=False)
    packing.train_toy_model(**small, checkpoint=folder / "ckpt.npz", checkpoint_every=2)
    calls["train_toy_model@checkpoint"] = (
        packing.train_toy_model,
        {**small, "checkpoint": folder / "ckpt.npz", "checkpoint_every": 2},
    )
    # the loaders once per format: the tables give one good call (an .npy file)
    W2 = np.random.default_rng(1).standard_normal((4, 2))
    np.savetxt(folder / "Wf.csv", W2, delimiter=",")
    np.savetxt(folder / "Wf.txt", W2)
    from safetensors.numpy import save_file

    save_file({"encoder.weight": W2.T.copy(), "encoder.bias": np.zeros(2)}, str(folder / "Wf.safetensors"))
    packing.save_packing(folder / "Wm.npz", W2, metadata={"run": 1, "p": 2.0}, b=np.zeros(4))
    for suffix in (".csv", ".txt", ".safetensors", ".npz"):
        name = "Wm.npz" if suffix == ".npz" else f"Wf{suffix}"
        for fn in (packing.load_packing, packing.list_arrays, packing.load_packing_metadata):
            kw = {"path": folder / name}
            if fn is packing.load_packing and suffix == ".safetensors":
                kw |= {"key": "weight", "layout": "hidden_by_features"}
            calls[f"{fn.__name__}@{suffix}"] = (fn, kw)
    return calls


def _writer(suffix: str):
    """Return a function writing one array to a file of ``suffix`` (None: no such writer)."""

    def npy(path, a):
        np.save(path, a)

    def npz(path, a):
        with open(path, "wb") as fh:
            np.savez(fh, W=a)

    def text(path, a):
        if a.dtype.kind not in "biuf" or a.ndim not in (1, 2):
            return False
        np.savetxt(path, np.atleast_2d(a), delimiter="," if suffix == ".csv" else " ")

    def st(path, a):
        from safetensors.numpy import save_file

        if a.dtype.kind not in "biuf" or a.ndim == 0:
            return False
        save_file({"W": np.ascontiguousarray(a)}, str(path))

    return {".npy": npy, ".npz": npz, ".csv": text, ".txt": text, ".safetensors": st}.get(suffix)


#: Contents of a packing file (label, array, must a packing loader refuse it).
_CONTENTS = [
    ("nan", np.array([[np.nan, 1.0], [0.0, 1.0], [1.0, 0.0]]), True),
    ("inf", np.array([[np.inf, 1.0], [0.0, 1.0], [1.0, 0.0]]), True),
    ("1-d", np.arange(1.0, 4.0), True),
    ("4-d", np.ones((1, 1, 3, 2)), True),
    ("0-d", np.array(3.0), True),
    ("empty", np.zeros((0, 3)), True),
    ("complex", np.ones((3, 2), complex), True),
    ("str", np.array([["a", "b"], ["c", "d"], ["e", "f"]]), True),
    ("structured", np.zeros(3, dtype=[("a", "f8"), ("b", "f8")]), True),
    ("bool", np.ones((3, 2), bool), None),
    ("int", np.ones((3, 2), int), None),
    ("float16", np.ones((3, 2), np.float16), None),
    ("big-endian", np.ones((3, 2), ">f8"), None),
    ("huge", np.full((3, 2), 1e300), None),
    ("tiny", np.full((3, 2), 1e-300), None),
    ("zero-row", np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), None),
    ("fewer-rows", np.ones((2, 5)), None),
]
_FILE_CACHE: dict = {}


def _result_mutations(good: Path, out: Path) -> list:
    """Return result files whose record is edited (arrays and checksums intact): ``(label, path)``."""
    with np.load(good, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    record = json.loads(str(arrays["__result__"]))
    found = []

    def save(label, rec):
        path = out / f"rec-{label}.npz"
        with open(path, "wb") as fh:
            text = rec if isinstance(rec, str) else json.dumps(rec)
            np.savez(fh, **{**arrays, "__result__": np.array(text)})
        found.append((f"record-{label}", path))

    save("not-json", "{not json")
    save("list", "[1, 2]")
    for k, v in (("class", "NoSuchClass"), ("class", 3), ("schema", 99), ("schema", "1"), ("fields", [])):
        save(f"{k}={v}", {**record, k: v})
    save("module-outside", {**record, "class": "NoSuchClass", "module": "os.path"})
    fields = record["fields"]
    odd = {
        "str": "abc",
        "null": None,
        "list": [1, 2],
        "bad-tag": {"$nosuch": 1},
        "scalar-dtype": {"$scalar": "V99999999999", "value": 1},
        "dtype": {"$dtype": {"names": 1}},
        "complex": {"$complex": ["a", "b"]},
        "array-missing": {"$array": "nope"},
        "record-unknown": {"$record": "NoSuchClass", "fields": {}},
        "float-tag": {"$float": "nan"},
        "type": {"$type": "os.system"},
    }
    for name in list(fields)[:4]:
        for label, value in odd.items():
            save(f"{name}={label}", {**record, "fields": {**fields, name: value}})
    save("field-missing", {**record, "fields": dict(list(fields.items())[1:])})
    save("field-extra", {**record, "fields": {**fields, "no_such_field": 1}})
    first = next((k for k, v in arrays.items() if k != "__result__" and v.dtype.kind == "f"), None)
    if first is not None:  # an array changed after saving: its checksum fails
        path = out / "rec-checksum.npz"
        with open(path, "wb") as fh:
            np.savez(fh, **{**arrays, first: arrays[first] * 2})
        found.append(("record-checksum", path))
    return found


def file_values(path: Path, strict: bool) -> list:
    """``(label, path, must)``: bad files in the place of the good file ``path`` (same suffix)."""
    suffix = path.suffix.lower()
    result = suffix == ".npz" and "__result__" in np.load(path, allow_pickle=False).files
    key = (suffix, result, strict, str(path))
    if key in _FILE_CACHE:
        return _FILE_CACHE[key]
    out = path.parent / f"bad-{len(_FILE_CACHE)}"
    out.mkdir()
    raw = path.read_bytes()
    found = [("file-missing", out / f"missing{suffix}", True)]
    (out / f"folder{suffix}").mkdir()
    found.append(("file-folder", out / f"folder{suffix}", True))
    writes = {
        "file-empty": b"",
        "file-truncated": raw[: len(raw) // 2],
        "file-garbage": np.random.default_rng(0).bytes(300),
        "file-text": b"hello world\n",
        "file-npz-inside": (ROOT / "packing" / "data" / "our_packings.npz").read_bytes()[:4096],
    }
    other = io.BytesIO()
    np.save(other, np.eye(3))
    writes["file-npy-inside"] = other.getvalue()
    if suffix == ".npy":  # a header claiming an array no memory holds
        head = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000), }"
        head += " " * (-(len(head) + 11) % 64) + "\n"
        writes["file-huge-header"] = b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head.encode()
    if suffix == ".safetensors":
        writes["file-huge-header"] = (10**15).to_bytes(8, "little") + b"{}"
        writes["file-bad-offsets"] = _bad_safetensors()
    same = {".npy": "file-npy-inside", ".npz": "file-npz-inside"}.get(suffix)
    for label, data in writes.items():
        if label == same and label != "file-npz-inside":  # a valid file of its own kind
            continue
        (out / f"{label}{suffix}").write_bytes(data)
        found.append((label, out / f"{label}{suffix}", True))
    os.mkfifo(out / f"fifo{suffix}")
    found.append(("file-fifo", out / f"fifo{suffix}", True))
    (out / f"link{suffix}").symlink_to(out / f"folder{suffix}")
    found.append(("file-link-to-folder", out / f"link{suffix}", True))
    write = _writer(suffix)
    if write is not None and not result:
        for label, arr, must in _CONTENTS:
            target = out / f"content-{label}{suffix}"
            try:
                if write(target, arr) is False:
                    continue
            except Exception:  # noqa: BLE001  (a format that cannot hold this content)
                continue
            found.append((f"content-{label}", target, must and strict))
    if result:
        with open(out / f"plain{suffix}", "wb") as fh:
            np.savez(fh, W=np.eye(3))
        found.append(("result-plain-npz", out / f"plain{suffix}", True))
        found += [(label, p, None) for label, p in _result_mutations(path, out)]
    _FILE_CACHE[key] = found
    return found


def _bad_safetensors() -> bytes:
    """Return a safetensors file whose tensor's data offsets point past the end of the file."""
    head = json.dumps({"W": {"dtype": "F64", "shape": [1000, 1000], "data_offsets": [0, 8000000]}}).encode()
    return len(head).to_bytes(8, "little") + head + b"\0" * 16


#: Functions that write to their path (an existing file there is overwritten, not read).
WRITERS = {"atomic_write", "save_packing", "save_result", "export_packing"}
#: Loaders that must refuse a file whose array is not a finite real packing.
STRICT_LOADERS = {"load_packing", "read_exported_packing"}




_FIRED = []
#: The working folder of the calls while :func:`fuzz_conditions` runs (emptied by :func:`run`).
_WORK: list[Path] = []


def _timeout(signum, frame):
    _FIRED.append(True)  # the call may catch TimeoutError (an OSError) and raise another error
    raise TimeoutError("fuzz time limit")


def _empty_work_folder() -> None:
    """Remove what earlier calls wrote into the working folder of :func:`fuzz_conditions` (if any)."""
    if not _WORK:
        return
    for entry in os.scandir(_WORK[-1]):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)  # a failure is loud: the cases would depend on each other again
        else:  # files, links, named pipes
            os.unlink(entry.path)


def run(fn, kw: dict, seconds: float):
    """Call ``fn(**kw)`` (positional-only arguments by position): ``(status, result or error, seconds)``.

    Within :func:`fuzz_conditions` the call starts in an empty working folder: what an
    earlier call wrote to a relative path (``"abc"``) is gone, so that every case meets
    the same files whatever ran before it (a full run and a sample agree). Emptying the
    folder, not making a new one, because a folder costs milliseconds on some disks.
    """
    kw = dict(kw)
    _empty_work_folder()
    _FIRED.clear()
    t = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        sig = inspect.signature(fn)
        star = next((n for n, q in sig.parameters.items() if q.kind == q.VAR_POSITIONAL and n in kw), None)
        args = []
        for n, q in sig.parameters.items():
            if n == star:
                args += list(kw.pop(n))
                break
            if n in kw and (q.kind == q.POSITIONAL_ONLY or star is not None):
                args.append(kw.pop(n))
        return "ok", fn(*args, **kw), time.perf_counter() - t
    except (Exception, SystemExit) as exc:  # noqa: BLE001  (classifying every exception is the point)
        return ("timeout" if _FIRED else "raise"), exc, time.perf_counter() - t
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def has_nan(out, depth: int = 0) -> bool:
    """Whether a result holds a NaN (floats, arrays, sequences, dicts and dataclass fields, 3 levels)."""
    if depth > 3:
        return False
    if isinstance(out, float | np.floating):
        return math.isnan(out)
    if isinstance(out, np.ndarray) and out.dtype.kind in "fc":
        return bool(np.isnan(out).any())
    if isinstance(out, list | tuple):
        return any(has_nan(v, depth + 1) for v in out[:50])
    if isinstance(out, dict):
        return any(has_nan(v, depth + 1) for v in list(out.values())[:50])
    if hasattr(out, "__dataclass_fields__"):
        return any(has_nan(getattr(out, f, None), depth + 1) for f in out.__dataclass_fields__)
    return False


def _readonly(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.flags.writeable = False
    return out


def _array_values(a: np.ndarray) -> list:
    nan, inf = a.copy(), a.copy()
    nan.flat[0], inf.flat[-1] = np.nan, np.inf
    out = [
        ("arr-nan", nan, True),
        ("arr-inf", inf, True),
        ("arr-empty", a[:0], None),
        ("arr-ndim+1", a[None], None),
        ("arr-complex", a.astype(complex), None),
        ("arr-object", a.astype(object), None),
        ("arr-str", a.astype(str), True),
        ("arr-int", np.round(a).astype(int), None),
        ("arr-bool", a.astype(bool), None),
        ("arr-float32", a.astype(np.float32), None),
        ("arr-neg", -np.abs(a) - 1, None),
        ("arr-ragged", [list(np.ravel(a)), [1.0]], True),
        # good values in unusual memory: must work, never write into the caller's array
        ("arr-readonly", _readonly(a), None),
        ("arr-broadcast", np.broadcast_to(a, a.shape), None),
        ("arr-fortran", np.asfortranarray(a), None),
        ("arr-strided", np.repeat(a, 2, axis=-1)[..., ::2], None),
        ("arr-matrix", np.asmatrix(a) if a.ndim == 2 else a, None),
    ]
    if a.shape[-1] > 1:
        out.append(("arr-short", a[..., :-1], None))
    if a.ndim == 1:
        out += [("arr-long", np.r_[a, a[:1]], None), ("arr-2d", a[None, :], None)]
    if a.ndim == 2:
        out += [
            ("arr-T", a.T, None),
            ("arr-1d", a[0], None),
            ("arr-zero-row", np.vstack([a[:-1], np.zeros((1, a.shape[1]))]), None),
            ("arr-huge", np.full_like(a, 1e200), None),
            ("arr-tiny", np.full_like(a, 1e-200), None),
        ]
    if a.ndim == 3:
        out += [("arr-T3", a.transpose(0, 2, 1), None), ("arr-2d", a[0], None)]
    return out


def bad_values(pname: str, v, default, fname: str = "") -> list:
    """``(label, value, must_fail)`` for one argument with the good value ``v`` (None: may pass).

    A path to an existing file also meets bad files of its suffix (:func:`file_values`);
    a path to be written, an existing folder, a path through a file and a missing folder.
    """
    isbool = isinstance(v, bool)
    isint = isinstance(v, int | np.integer) and not isbool
    isfloat = isinstance(v, float | np.floating)
    isstr = isinstance(v, str)
    arr = None
    if isinstance(v, list | tuple | np.ndarray):
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            arr = None
    out = (
        [("str-unknown", "no-such-thing", None), ("str-empty", "", None)]
        if isstr
        else [("str", "abc", not isinstance(v, Path))]  # a relative path given as text is a path
    )
    out += [("object", Weird(), True), ("complex", 1j, True)]
    if default is not None:
        out.append(("None", None, default is inspect.Parameter.empty))
    if isbool:
        out += [("int-as-bool", 1, None), ("np.bool_", np.True_, None)]
    else:
        out.append(("bool", True, isint or isfloat or arr is not None))
    if isint:
        out += [
            ("2.5", 2.5, True),
            ("float-int", float(v), None),
            ("0", 0, None),
            ("-1", -1, None),
            ("huge", 10**12, None),
            ("huger", 10**30, None),
            ("np.int64", np.int64(v), None),
            ("nan", math.nan, True),
            ("inf", math.inf, None),
            ("0-d array", np.array(v), None),
        ]
    if isfloat:
        out += [
            ("nan", math.nan, True),
            ("inf", math.inf, None),
            ("-inf", -math.inf, None),
            ("neg", -1.0, None),
            ("0.0", 0.0, None),
            ("1.5", 1.5, None),
            ("huge", 1e300, None),
            ("0-d nan", np.array(np.nan), True),
            ("list", [v], None),
        ]
    if arr is not None and arr.size:
        out += _array_values(arr)
    writes = fname in WRITERS or fname.endswith(".save")
    if isinstance(v, Path) and v.is_file() and not writes:
        out += file_values(v, fname.split("@")[0] in STRICT_LOADERS or fname.endswith(".load"))
    elif isinstance(v, Path) and not v.exists():
        through = v.parent / "a-file"
        through.touch()
        out += [
            ("save-to-folder", v.parent, not pname.endswith("_dir")),  # an out_dir may be a folder
            ("save-through-file", through / v.name, True),
            ("save-missing-folder", v.parent / "no-such-folder" / v.name, None),
            ("save-other-suffix", v.with_suffix(".weird"), None),
        ]
    if pname == "rng" or pname.endswith("rng") or pname == "seed":
        out += [
            ("rng-RandomState", np.random.RandomState(0), True),
            ("rng-float", 1.5, True),
            ("rng-neg", -1, True),
            ("rng-str", "0", True),
            ("rng-seedseq", np.random.SeedSequence(0), None),
            ("rng-huge", 2**200, None),
        ]
    return out


def _repr(out) -> str:
    """``repr(out)``, or why it failed (a result built from garbage may fail to print)."""
    try:
        return repr(out)
    except Exception as exc:  # noqa: BLE001  (any repr may fail)
        return f"<{type(out).__name__} whose repr raises {type(exc).__name__}: {exc}>"


def _has_nan(out) -> bool:
    try:
        return has_nan(out)
    except Exception:  # noqa: BLE001  (fields of garbage may refuse comparison)
        return False


def classify(pname: str, must, status: str, out, seconds: float, bad=None) -> dict:
    """One case's record: its kind (see the module docstring) and the message or result.

    A message names the argument by its name (``blocks`` for ``blocks[1]`` too) or,
    for a bad file, by the file's name.
    """
    names = [pname, pname.split("[")[0]] + ([bad.name] if isinstance(bad, Path) and bad.name else [])
    rec = {"sec": round(seconds, 2)}
    if status == "timeout":
        rec["kind"] = "TIMEOUT"
    elif status == "raise":
        where = traceback.extract_tb(out.__traceback__)[-1]
        info = {
            "msg": f"{type(out).__name__}: {out}"[:300],
            "where": f"{Path(where.filename).name}:{where.lineno}",
        }
        if not isinstance(out, TypeError | ValueError):
            rec |= {"kind": "OTHER-EXC", **info}
        elif not any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", str(out)) for n in names):
            rec |= {"kind": "UNNAMED", **info}
        else:
            rec["kind"] = "ok-raise"
    elif must:
        rec |= {"kind": "ACCEPTED-GARBAGE", "msg": _repr(out)[:120]}
    elif _has_nan(out):
        rec |= {"kind": "NAN-RESULT", "msg": _repr(out)[:120]}
    else:
        rec["kind"] = "accepted"
    if seconds > 5 and rec["kind"] != "TIMEOUT":
        rec["kind"] += "+SLOW"
    return rec


#: Bad values a result class keeps as given (a record holds the numbers it is handed; NaN, infinite
#: and text arrays are values, not types): its constructor checks types, the computing functions values.
RECORD_VALUES = {"nan", "inf", "-inf", "0-d nan", "arr-nan", "arr-inf", "arr-str", "arr-ragged"}


#: Outcomes that are not flags: a refusal naming the argument, a value that may pass, a record's value.
FINE = {"ok-raise", "accepted", "record-value"}


def _triaged(reason: str, kind: str, *cases: str) -> dict:
    """Return ``{(function, argument, label, kind): reason}`` for cases ``"function argument label"``."""
    return {(*case.split(" "), kind): reason for case in cases}


#: Flags looked at and kept, each with the reason: a flag is a place to look, not a verdict. A flag
#: not listed here is new (:func:`unexpected`); tests/test_fuzz_bad_inputs.py fails on one.
TRIAGED = {
    **_triaged(
        "OverflowError naming the argument: the result is beyond the float64 range (README: Conventions)",
        "OTHER-EXC",
        "signed_interference W arr-huge",
        "frame_potential W arr-huge",
        "packing_signature W arr-huge",
        "dimensions_per_feature W arr-tiny",
    ),
    **_triaged(
        "TrainingDivergedError: a huge valid setting diverges at step 0 (the trainers' documented refusal)",
        "OTHER-EXC",
        "train_sae l1_coefficient huge",
        "train_sae lr huge",
        "train_sae weight_decay huge",
        "train_toy_model lr huge",
        "train_toy_model weight_decay huge",
        "train_abs_model lr huge",
        "train_abs_model weight_decay huge",
        "train_monosemanticity_model bias_decay huge",
        "train_monosemanticity_model input_noise huge",
        "train_monosemanticity_model l1 huge",
        "train_monosemanticity_model lr huge",
        "train_monosemanticity_model weight_decay huge",
        "train_scurve lr huge",
        "train_scurve init_scale huge",
        "train_scurve weight_decay huge",
    ),
    **_triaged(
        "an infinite order p is valid (the maximum: the coherence); the fuzzer takes every inf for garbage",
        "ACCEPTED-GARBAGE",
        "pairwise_statistics p arr-inf",
        "signed_interference p arr-inf",
        "interference_moments p arr-inf",
        "plot_tegum_losses ps arr-inf",
        "compare_packings ps arr-inf",
        "compare_packings partition_ps arr-inf",
    ),
    **_triaged(
        "a text argument: 'abc' is a valid label, title, name or version",
        "ACCEPTED-GARBAGE",
        "figures.reference_line text str",
        "plot_cosine_histogram label str",
        "plot_moment_profile label str",
        "plot_features_2d title str",
        "block_shape name str",
        "cell_key version str",
    ),
    **_triaged(
        "None is documented there: the default (no description, all figures, the default limit, no seed)",
        "ACCEPTED-GARBAGE",
        "figures.run_figure_cli doc None",
        "figures.figure_parser doc None",
        "figures.resolve_figures only None",
        "set_memory_limit limit None",
        "cell_key seed None",
    ),
    **_triaged(
        "s is matplotlib's marker size, a float; the good call happened to pass an int",
        "ACCEPTED-GARBAGE",
        "plot_feature_dimensionality s 2.5",
    ),
    **_triaged(
        "'abc' is a valid relative folder; the good call passes None, the fuzzer cannot know it is a path",
        "ACCEPTED-GARBAGE",
        "figures.FigureRun cache_dir str",
    ),
    **_triaged(
        "a missing checkpoint file starts a fresh run, which then saves it (documented)",
        "ACCEPTED-GARBAGE",
        "train_toy_model@checkpoint checkpoint file-missing",
    ),
    **_triaged(
        "a text file has no length to check: its first half, cut at any byte, can be a smaller valid table",
        "ACCEPTED-GARBAGE",
        *(
            f"{fn}@{suffix} path file-truncated"
            for fn in ("load_packing", "list_arrays", "load_packing_metadata")
            for suffix in (".csv", ".txt")
        ),
    ),
    **_triaged(
        "a one-line text file is a packing of one row",
        "ACCEPTED-GARBAGE",
        "load_packing@.csv path content-1-d",
        "load_packing@.txt path content-1-d",
    ),
    **_triaged(
        "train=np.True_ trains the cells, and the good call's steps=0 (fine without training) is refused, "
        "naming steps",
        "UNNAMED",
        "phase_diagram train np.bool_",
    ),
}


def unexpected(results: list, slow: bool = True) -> list:
    """Return the flagged cases of ``results`` that :data:`TRIAGED` does not hold.

    ``slow=False``: a case over 5 s counts as its kind without ``+SLOW`` (on a loaded machine
    slowness says little; a time-out is still a flag).
    """
    out = []
    for r in results:
        kind = r["kind"] if slow else r["kind"].removesuffix("+SLOW")
        key = (r["fn"], r["param"], r["label"], kind)
        if kind not in FINE and kind != "good-call" and key not in TRIAGED:
            out.append(r)
    return out


def _exception_maker(cls):
    """Return ``make(message)`` building ``cls`` (a builtin-derived exception has no signature to fuzz)."""

    def make(message):
        return cls(message)

    make.__name__, make.exception_class = cls.__name__, cls
    return make


def fuzz_callable(
    name: str, fn, kw: dict, seconds: float, results: list, exception: bool = False, pick=None
):
    """Run the good call ``fn(**kw)``, then every bad value of every argument; return the good call's result.

    ``exception``: an exception class, whose constructor takes any message by Python's
    convention: only other exceptions and time-outs are flagged, not accepted values.
    A result class (a dataclass) is not flagged for keeping the :data:`RECORD_VALUES`.
    ``pick``: ``pick(cases)`` returns the cases to run (default: all), each case a tuple
    ``(argument, label, ...)`` such as ``("W", "arr-nan", ...)``, in the order of the arguments.
    """
    record = inspect.isclass(fn) and dataclasses.is_dataclass(fn)
    fields = dataclasses.fields(fn) if record else ()
    optional = {f.name for f in fields if "None" in str(f.type).split(" | ")}  # None is a value there
    before = {k: v.copy() for k, v in kw.items() if isinstance(v, np.ndarray)}
    status, out, _ = run(fn, kw, seconds)
    for k, v in before.items():  # a function must not write into its caller's arrays
        if not np.array_equal(v, kw[k], equal_nan=v.dtype.kind in "fc"):
            results.append({"fn": name, "param": k, "label": "good call", "kind": "MUTATED-INPUT"})
            kw[k][...] = v
    if status != "ok":
        results.append({"fn": name, "param": "-", "label": "good call fails", "kind": "NO-GOOD-CALL"})
        print(name, "good call fails:", _repr(out)[:300])
        return None
    results.append({"fn": name, "param": "-", "label": "good call", "kind": "good-call"})
    cases = []  # (argument as named in messages, label, bad value, must fail, parameter, index, items)
    for pname, prm in inspect.signature(fn).parameters.items():
        v = kw.get(pname, prm.default)
        if prm.kind == prm.VAR_POSITIONAL and pname in kw:
            items = list(kw[pname])
            targets = [(f"{pname}[{i}]", i, x) for i, x in enumerate(items)]
        elif prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD) or v is inspect.Parameter.empty:
            continue
        else:
            items, targets = None, [(pname, None, v)]
        for label_name, index, value in targets:
            default = prm.default if index is None else inspect.Parameter.empty
            for label, bad, must in bad_values(label_name, value, default, name):
                cases.append((label_name, label, bad, must, prm, index, items))
    for label_name, label, bad, must, prm, index, items in cases if pick is None else pick(cases):
        pname = prm.name
        new = bad if index is None else tuple(bad if i == index else x for i, x in enumerate(items))
        status, res, sec = run(fn, {**kw, pname: new}, seconds)
        rec = {"fn": name, "param": label_name, "label": label}
        kept = record and label in RECORD_VALUES
        if exception or kept or (label == "None" and pname in optional):
            must = None
        verdict = classify(label_name, must, status, res, sec, bad)
        if kept and verdict["kind"] == "NAN-RESULT":
            verdict = {"sec": verdict["sec"], "kind": "record-value"}  # kept as given, by design
        results.append(rec | verdict)
    return out


@contextlib.contextmanager
def fuzz_conditions():
    """Set up the conditions every case runs in; yield a temporary folder (the calls work in ``work`` in it).

    No progress bars, matplotlib's Agg backend, warnings ignored, a 256 MiB memory limit
    and :func:`run`'s alarm. The files the good calls need are written to the folder; the
    calls run in its empty subfolder ``work`` (emptied before each call by :func:`run`), so
    that a relative path such as ``"abc"`` given to a writer lands there, not in the
    repository. All of it is put back on leaving, and so are the registered sweep tasks
    (good calls register some).
    """
    import packing
    from packing.sweep import _tasks

    here, env = os.getcwd(), {k: os.environ.get(k) for k in ("PACKING_PROGRESS", "MPLBACKEND")}
    _tasks._register_builtins()  # first, so that the snapshot holds them (they register once per process)
    tasks = dict(_tasks._TASKS)
    os.environ["PACKING_PROGRESS"] = "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    previous = packing.set_memory_limit(256 * 2**20)
    alarm = signal.signal(signal.SIGALRM, _timeout)
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
            warnings.simplefilter("ignore")
            work = Path(folder) / "work"
            work.mkdir()
            os.chdir(work)
            _WORK.append(work)
            try:
                yield Path(folder)
            finally:
                _WORK.remove(work)
                os.chdir(here)
    finally:
        signal.signal(signal.SIGALRM, alarm)
        packing.set_memory_limit(previous)
        _tasks._TASKS.clear()
        _tasks._TASKS.update(tasks)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def good_calls(packing, folder: Path, public: dict) -> list:
    """``[(name, callable, keywords)]``: the good call of every public callable, method and exception class.

    From the bad-input tables, :func:`written_calls`, :func:`method_calls` and
    :func:`subpackage_calls` (files they need are written to ``folder``); ``public``
    is :func:`public_callables` (plus :func:`_atomic_write`). The result classes come
    later, rebuilt from instances the good calls return (:func:`class_calls`).
    """
    calls = table_calls() | written_calls(packing, folder)
    calls.pop(packing.set_memory_limit, None)  # it would change the limit the other calls run under
    if packing.register_task in calls:  # else every call after the first fails on the name alone
        calls[packing.register_task] = {**calls[packing.register_task], "replace": True}
    named = [(public.get(fn), fn, kw) for fn, kw in calls.items()]
    named += [(name, fn, kw) for name, (fn, kw) in method_calls(packing, folder).items()]
    named += [(name, fn, kw) for name, (fn, kw) in subpackage_calls(packing, folder).items()]
    # exception classes: one message each (SweepError's own keywords)
    for obj, name in public.items():
        if obj is packing.SweepError:
            named.append((name, obj, {"message": "m"}))
        elif name == "cli.CLIError":
            named.append((name, obj, {"message": "m", "kind": "usage"}))
        elif _is_exception(obj):
            named.append((name, _exception_maker(obj), {"message": "m"}))
    return [(name, fn, kw) for name, fn, kw in named if name is not None]


def is_exception_maker(fn) -> bool:
    """Whether ``fn`` builds an exception (its constructor takes any message: see :func:`fuzz_callable`)."""
    return _is_exception(getattr(fn, "exception_class", fn))


def fuzz_public(packing, public: dict, seconds: float, only=None, pick=None, good_only: bool = False):
    """Fuzz the good calls (:func:`good_calls`), then the result classes rebuilt from what they returned.

    ``only``: the names to fuzz (a set; default all); ``pick``: which cases of each callable
    to run (see :func:`fuzz_callable`); ``good_only``: run the good calls only. Returns the
    cases (a ``"good-call"`` record for each callable fuzzed) and the names that have a good call.
    """
    results = []
    with fuzz_conditions() as folder:
        named = good_calls(packing, folder, public)
        classes = {obj for obj in public if inspect.isclass(obj) and dataclasses.is_dataclass(obj)}
        written = {n.split("@")[0] for n, *_ in named}
        instances: dict = {}
        collect_instances(instance_sources(packing, folder), classes, instances)
        for name, fn, kw in named:
            if only and not {name, name.split(".")[0], name.split("@")[0]} & only:
                continue
            if good_only:
                status, out, _ = run(fn, kw, seconds)
                if status == "ok":
                    collect_instances(out, classes, instances)
                continue
            out = fuzz_callable(name, fn, kw, seconds, results, exception=is_exception_maker(fn), pick=pick)
            collect_instances(out, classes, instances)
        # result classes a user may build by hand: the fields of an instance some good call returned
        rebuilt = [
            (public[cls], cls, kw) for cls, kw in class_calls(instances).items() if public[cls] not in written
        ]
        if not good_only:
            for name, fn, kw in rebuilt:
                if only and name not in only:
                    continue
                fuzz_callable(name, fn, kw, seconds, results, pick=pick)
    return results, written | {n for n, *_ in rebuilt}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write every case as JSON here")
    parser.add_argument("--only", default="", help="comma-separated public names (default: all)")
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit per call")
    parser.add_argument(
        "--list-uncovered", action="store_true", help="list the public callables without a good call; stop"
    )
    args = parser.parse_args(argv)
    import packing

    public = public_callables(packing)
    public[_atomic_write] = "atomic_write"
    n_public = len(public) - 1
    only = set(args.only.split(",")) if args.only else None
    results, reached = fuzz_public(packing, public, args.seconds, only, good_only=args.list_uncovered)
    if args.list_uncovered:
        missing = sorted(n for n in public.values() if n not in reached)
        print(f"{n_public - len(missing)} of {n_public} public callables have a good call; missing:")
        print("\n".join(missing))
        return []
    fuzzed = {r["fn"] for r in results if r["kind"] == "good-call"}
    results = [r for r in results if r["kind"] != "good-call"]
    kinds = collections.Counter(r["kind"] for r in results)
    top = {n.split("@")[0] for n in fuzzed} & set(public.values())
    methods = {n for n in fuzzed if n.split("@")[0] not in set(public.values())}
    formats = {n for n in fuzzed if "@" in n}
    print(
        f"{len(top)} of {n_public} public callables (loaders also once per format: {len(formats)} "
        f"calls) and {len(methods)} result methods fuzzed, {len(results)} cases: {dict(kinds)}"
    )
    missing = sorted(n for n in public.values() if n not in top and n != "atomic_write")
    if missing:
        print("not fuzzed:", ", ".join(missing))
    new = unexpected(results)
    triaged = sum(r["kind"] not in FINE for r in results) - len(new)
    print(f"{len(new)} flags to look at ({triaged} more are triaged, see TRIAGED):")
    for r in new:
        print(r["fn"], r["param"], r["label"], r["kind"], r.get("msg", ""), r.get("where", ""))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=0, default=str))
    return results


if __name__ == "__main__":
    main()
