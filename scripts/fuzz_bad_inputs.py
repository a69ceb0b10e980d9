"""Fuzz every public function of packing with bad arguments derived from good calls.

The good calls come from the bad-input tables (``tests/test_bad_input_*.py``: for
each argument, the value most cases leave untouched) plus a few written here.
Each argument is then replaced by garbage of every kind (strings, objects,
complex numbers, ``None``, booleans, ``2.5`` for ints, NaN and infinities,
negative, zero and huge sizes, arrays with NaN or inf inside, empty, transposed,
of the wrong ndim, length or dtype, wrong rng types), one at a time, under a
256 MiB memory limit and a time limit per call. Flagged: another exception than
TypeError/ValueError (``OTHER-EXC``), a message that does not name the argument
(``UNNAMED``), garbage accepted (``ACCEPTED-GARBAGE``), a NaN in a result
(``NAN-RESULT``) and calls past the time limit (``TIMEOUT``).

Usage (from the repository root, a few minutes)::

    PYTHONPATH=. python scripts/fuzz_bad_inputs.py --out fuzz.json [--only train_sae,sweep]

A flag is a place to look, not a verdict: a huge ``max_iter`` or a closed form
of a 31-digit ``n`` is legitimately accepted.
"""

import argparse
import collections
import importlib
import inspect
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

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
            for pname, val in bound.arguments.items():
                if pname != name and not name.startswith(pname + "["):
                    counts[fn][pname][_key(val)] += 1
                    store[(fn, pname, _key(val))] = val
    return {
        fn: {p: store[(fn, p, c.most_common(1)[0][0])] for p, c in params.items()}
        for fn, params in counts.items()
    }


def written_calls(packing, folder: Path) -> dict:
    """Good calls of the functions the tables cannot give one for (one-argument functions, files)."""
    W = packing.random_packing(5, 3, rng=0)
    toy = packing.train_toy_model(
        n_features=5, d=2, density=0.5, steps=3, batch_size=8, rng=0, progress=False
    )
    mono = packing.train_monosemanticity_model(
        n_features=4, d=2, n_neurons=5, steps=2, batch_size=4, rng=0, progress=False
    )
    np.save(folder / "W.npy", W)
    packing.export_packing(W, folder / "W.txt")
    packing.save_result(toy, folder / "res.npz")
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
    }
    return {getattr(packing, name): kw for name, kw in calls.items()}


def _timeout(signum, frame):
    raise TimeoutError("fuzz time limit")


def run(fn, kw: dict, seconds: float):
    """Call ``fn(**kw)`` (positional-only arguments by position): ``(status, result or error, seconds)``."""
    kw = dict(kw)
    t = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        sig = inspect.signature(fn)
        args = [kw.pop(n) for n, q in sig.parameters.items() if q.kind == q.POSITIONAL_ONLY and n in kw]
        return "ok", fn(*args, **kw), time.perf_counter() - t
    except TimeoutError as exc:
        return "timeout", exc, time.perf_counter() - t
    except Exception as exc:  # noqa: BLE001  (classifying every exception is the point)
        return "raise", exc, time.perf_counter() - t
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


def bad_values(pname: str, v, default) -> list:
    """``(label, value, must_fail)`` for one argument with the good value ``v`` (None: may pass)."""
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
        [("str-unknown", "no-such-thing", None), ("str-empty", "", None)] if isstr else [("str", "abc", True)]
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


def classify(pname: str, must, status: str, out, seconds: float) -> dict:
    """One case's record: its kind (see the module docstring) and the message or result."""
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
        elif not re.search(rf"(?<![\w.]){re.escape(pname)}(?!\w)", str(out)):
            rec |= {"kind": "UNNAMED", **info}
        else:
            rec["kind"] = "ok-raise"
    elif must:
        rec |= {"kind": "ACCEPTED-GARBAGE", "msg": repr(out)[:120]}
    elif has_nan(out):
        rec |= {"kind": "NAN-RESULT", "msg": repr(out)[:120]}
    else:
        rec["kind"] = "accepted"
    if seconds > 5 and rec["kind"] != "TIMEOUT":
        rec["kind"] += "+SLOW"
    return rec


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write every case as JSON here")
    parser.add_argument("--only", default="", help="comma-separated public names (default: all)")
    parser.add_argument("--seconds", type=float, default=8.0, help="time limit per call")
    args = parser.parse_args(argv)
    os.environ["PACKING_PROGRESS"] = "0"
    warnings.simplefilter("ignore")
    import packing

    previous = packing.set_memory_limit(256 * 2**20)
    signal.signal(signal.SIGALRM, _timeout)
    public = {getattr(packing, n): n for n in packing.__all__ if callable(getattr(packing, n))}
    only = set(args.only.split(",")) if args.only else None
    results = []
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        calls = table_calls() | written_calls(packing, Path(folder))
        calls.pop(packing.set_memory_limit, None)  # it would change the limit the other calls run under
        for fn, kw in calls.items():
            name = public.get(fn)
            if name is None or (only and name not in only):
                continue
            status, out, _ = run(fn, kw, args.seconds)
            if status != "ok":
                results.append({"fn": name, "param": "-", "label": "good call fails", "kind": "NO-GOOD-CALL"})
                continue
            for pname, prm in inspect.signature(fn).parameters.items():
                v = kw.get(pname, prm.default)
                if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD) or v is inspect.Parameter.empty:
                    continue
                for label, bad, must in bad_values(pname, v, prm.default):
                    status, out, seconds = run(fn, {**kw, pname: bad}, args.seconds)
                    rec = {"fn": name, "param": pname, "label": label}
                    results.append(rec | classify(pname, must, status, out, seconds))
    packing.set_memory_limit(previous)
    fuzzed = {r["fn"] for r in results if r["kind"] != "NO-GOOD-CALL"}
    kinds = collections.Counter(r["kind"] for r in results)
    print(f"{len(fuzzed)} of {len(public)} public callables fuzzed, {len(results)} cases: {dict(kinds)}")
    for r in results:
        if r["kind"] not in ("ok-raise", "accepted"):
            print(r["fn"], r["param"], r["label"], r["kind"], r.get("msg", ""), r.get("where", ""))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=0, default=str))
    return results


if __name__ == "__main__":
    main()
