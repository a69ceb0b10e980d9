"""The command line: every subcommand run and its output checked, and one error path for bad input.

Every error must be ONE line on stderr naming the option as typed, with the
exit status of its kind (``packing.cli.EXIT_CODES``), never a traceback.
"""

import inspect
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import brute_force_cosines, processes_left, wait_until_workers_compute

import packing
from packing import coherence, load_packing, load_result, lower_bound
from packing.cli import EXIT_CODES, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def strict_json(text):
    def refuse(constant):
        raise ValueError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def one_error_line(err, command=None):
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    prefix = "packing" if command is None else f"packing {command}"
    assert lines[0].startswith(f"{prefix}: error: "), lines[0]
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- fixtures: files of every kind


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}

    def put(name, arr):
        paths[name] = tmp_path / name
        np.save(paths[name], arr)

    put("W.npy", rng.normal(size=(30, 5)))
    put("batch.npy", rng.normal(size=(3, 8, 2)))
    put("vector.npy", rng.normal(size=7))
    put("nan.npy", np.array([[np.nan, 1.0], [0.0, 1.0]]))
    put("strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.savez(tmp_path / "two.npz", A=np.ones((3, 2)), B=np.ones((4, 2)))
    paths["two.npz"] = tmp_path / "two.npz"
    t = 2 * np.pi * np.arange(5) / 5
    put("pentagon.npy", np.c_[np.cos(t), np.sin(t)])
    # three antipodal pairs stored the way torch stores nn.Linear(6, 3).weight: shape (d, n) = (3, 6)
    put("torch_weight.npy", np.hstack([np.eye(3), -np.eye(3)]))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "garbage.npy").write_bytes(b"this is not an array file" * 20)
    (tmp_path / "truncated.npy").write_bytes(paths["W.npy"].read_bytes()[:200])
    (tmp_path / "truncated.npz").write_bytes(paths["two.npz"].read_bytes()[:150])
    (tmp_path / "npz_named.npy").write_bytes(paths["two.npz"].read_bytes())
    with zipfile.ZipFile(tmp_path / "bad_member.npz", "w") as z:
        z.writestr("W.npy", b"garbage, not an array")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.npz").mkdir()
    for name in (
        "empty.npy",
        "garbage.npy",
        "truncated.npy",
        "truncated.npz",
        "npz_named.npy",
        "bad_member.npz",
    ):
        paths[name] = tmp_path / name
    paths["folder"] = tmp_path / "folder"
    paths["folder.npz"] = tmp_path / "folder.npz"
    paths["missing"] = tmp_path / "missing.npy"
    paths["tmp"] = tmp_path
    return paths


# --------------------------------------------------------------------------- every subcommand runs


def test_version_and_python_dash_m():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "packing", "--version"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == f"packing {packing.__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "packing", "bounds", "6", "3", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0 and strict_json(out.stdout)["best"] == pytest.approx(1 / math.sqrt(5))
    out = subprocess.run([sys.executable, "-m", "packing"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == EXIT_CODES["usage"]
    assert "COMMAND" in one_error_line(out.stderr)


def test_every_option_of_every_subcommand_is_explained(capsys):
    parser = build_parser()
    subparsers = parser._subparsers._group_actions[0].choices
    assert set(subparsers) >= {
        "stats",
        "bounds",
        "best-known",
        "certify",
        "pack",
        "partition",
        "train",
        "analyze",
        "compare",
        "figures",
    }
    for name, sub in subparsers.items():
        for action in sub._actions:
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest}"
        code, out, err = run([name, "--help"], capsys)
        assert code == 0 and not err
        for action in sub._actions:
            for option in action.option_strings:
                assert option in out, f"packing {name} --help does not mention {option}"


def test_stats_json(files, capsys):
    W = np.load(files["W.npy"])
    code, out, _ = run(["stats", files["W.npy"], "--json", "--p", "1,2,inf"], capsys)
    assert code == 0
    out = strict_json(out)
    assert out["n"] == 30 and out["pairs"] == 435
    cos = np.abs(brute_force_cosines(W))
    assert out["coherence"] == pytest.approx(cos.max())
    assert out["moments"]["1"] == pytest.approx(cos.sum()) and out["moments"]["2"] == pytest.approx(
        (cos**2).sum()
    )
    assert out["lower_bound"] == pytest.approx(lower_bound(30, 5))
    assert set(out["moments"]) == {"1", "2", "inf"}


def test_stats_torch_layout_and_instances(files, capsys):
    batch = np.load(files["batch.npy"])
    code, out, _ = run(["stats", files["batch.npy"], "--instance", "1", "--json"], capsys)
    assert code == 0 and strict_json(out)["n"] == 8
    assert strict_json(out)["coherence"] == pytest.approx(coherence(batch[1]))
    code, out, _ = run(
        ["stats", files["torch_weight.npy"], "--layout", "hidden_by_features", "--json"], capsys
    )
    assert code == 0 and (strict_json(out)["n"], strict_json(out)["d"]) == (6, 3)
    # three antipodal pairs: each feature's partner is exactly antiparallel, everything else orthogonal
    assert strict_json(out)["coherence"] == pytest.approx(1.0) and strict_json(out)["orthogonal_pairs"] == 12


def test_bounds(capsys):
    code, out, _ = run(["bounds", "6", "3", "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["best"] == pytest.approx(1 / 5**0.5)  # Welch: sqrt((n-d)/(d(n-1)))
    code, out, _ = run(["bounds", "8", "3", "--lp", "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["best_name"] == "lp" and 0.6 < out["bounds"]["lp"] <= 0.6527  # record 0.6527
    code, out, _ = run(["bounds", "6", "3"], capsys)
    assert code == 0 and "welch" in out


def test_a_size_too_large_to_represent_is_an_answer_or_one_line(capsys):
    n = "9" * 161
    code, out, err = run(["bounds", n, "5", "--json"], capsys)
    if code == 0:  # a finite answer is allowed if it is right: the Welch bound at n -> inf is 1/sqrt(d)
        best = strict_json(out)["best"]
        assert 1 / math.sqrt(5) - 1e-12 <= best <= 1.0
    else:
        assert code == EXIT_CODES["value"]
        line = one_error_line(err, "bounds")
        assert "N (161 digits)" in line and "too large" in line


def test_best_known(capsys):
    code, out, _ = run(["best-known", "6", "3", "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["tabulated"] and out["proven_optimal"]
    assert out["coherence"] == pytest.approx(1 / math.sqrt(5), abs=1e-10)  # icosahedron lines
    assert out["angle_deg"] == pytest.approx(math.degrees(math.acos(1 / math.sqrt(5))), abs=1e-6)
    code, out, _ = run(["best-known", "100", "9", "--json"], capsys)
    assert code == 0 and strict_json(out) == {"n": 100, "d": 9, "tabulated": False}
    code, out, _ = run(["best-known", "6", "3"], capsys)
    assert code == 0 and "0.4472135955" in out


def test_best_known_export_is_not_invented(files, capsys):
    target = files["tmp"] / "record.txt"
    code, out, err = run(["best-known", "6", "3", "--export", target], capsys)
    if getattr(packing, "export_packing", None) is None:
        assert code == EXIT_CODES["unavailable"] and not target.exists()
        assert "--export is not available" in one_error_line(err, "best-known")
    else:
        assert code == 0 and target.exists()


def test_best_known_exports_the_shipped_35_lines_in_r5(files, capsys):
    target = files["tmp"] / "d5_n35.txt"
    code, out, _ = run(["best-known", "35", "5", "--export", target, "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["exported"] == str(target)
    assert out["found_coherence"].startswith("0.618013572154607") and out["found_beats_record"] is True
    assert out["coherence"] == pytest.approx(0.6180339887, abs=1e-10)  # the public entry, 1/phi
    W, info = packing.read_exported_packing(target)
    assert W.shape == (35, 5) and info["D"] == "0.6180592246"
    assert info["source"].startswith("optimize_packing(35, 5")
    # the exported coordinates reproduce the value (float check, independent of the certificate)
    assert np.abs(brute_force_cosines(W)).max() == pytest.approx(0.618013572154607, abs=1e-14)
    code, out, err = run(["best-known", "100", "9", "--export", files["tmp"] / "none.txt"], capsys)
    assert code == EXIT_CODES["value"]
    assert "no packing of 100 lines in R^9" in one_error_line(err, "best-known")


def test_certify_a_saved_packing(files, capsys):
    path, target = files["tmp"] / "ico.npy", files["tmp"] / "ico.txt"
    np.save(path, packing.icosahedron_lines())
    code, out, _ = run(["certify", path, "--export", target, "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["n"] == 6 and out["d"] == 3
    assert out["coherence"].startswith("0.447213595499") and out["active_pairs"] == 15  # 1/sqrt(5), complete
    assert out["lines_without_contact"] == 0 and out["beats_public_record"] is False
    assert out["squared_chordal_distance"] == "0.7999999999"  # D = 4/5 rounded down from the rounded lines
    W, info = packing.read_exported_packing(target)
    assert info["n"] == 6 and np.allclose(np.abs(brute_force_cosines(W)), 1 / math.sqrt(5), atol=1e-15)
    # five lines in the plane rounded to 8 decimals: the rounded packing's coherence, within the
    # certified rounding shift of cos 36 degrees (the input's own value)
    code, out, _ = run(["certify", files["pentagon.npy"], "--digits", "8", "--json"], capsys)
    out = strict_json(out)
    cos36 = math.cos(math.pi / 5)
    assert code == 0 and abs(float(out["coherence"]) - cos36) <= out["rounding_shift"] + 1e-8
    assert out["input_coherence"][0] <= cos36 <= out["input_coherence"][1]
    code, out, _ = run(["certify", files["pentagon.npy"]], capsys)
    assert code == 0 and "coherence: 0.809016994374947" in out and "active_pairs: 5" in out


def test_pack_writes_a_result_that_loads_back(files, capsys):
    path = files["tmp"] / "six.npz"
    code, out, _ = run(
        ["pack", "6", "3", "--budget", "3", "--rng", "0", "--out", path, "--json", "-q"], capsys
    )
    assert code == 0
    out = strict_json(out)
    assert out["coherence"] == pytest.approx(1 / math.sqrt(5), abs=1e-9)
    assert out["stopping_reason"] == "lower_bound" and out["out"] == str(path)
    W = load_packing(path)
    assert W.shape == (6, 3)
    assert np.abs(brute_force_cosines(W)).max() == pytest.approx(out["coherence"], abs=1e-12)
    result = load_result(path)  # the toolkit's own result format: the whole PackingResult comes back
    assert isinstance(result, packing.PackingResult) and np.array_equal(result.W, W)
    assert result.stopping_reason == "lower_bound" and result.coherence == out["coherence"]
    code, out, _ = run(["pack", "7", "3", "--p", "2", "--restarts", "2", "--out", path], capsys)
    assert code == 0 and "stopping_reason" in out
    # p = 2: the minimum of sum cos^2 over 7 lines in R^3 is (n^2/d - n)/2 (tight frames)
    assert load_result(path).lower_bound == pytest.approx((49 / 3 - 7) / 2) and load_result(path).p == 2


def test_partition(files, capsys):
    code, out, _ = run(["partition", "12", "6", "--p", "1", "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["blocks"] == [[2, 1]] * 6 and out["loss"] == pytest.approx(6.0)
    path = files["tmp"] / "part.npz"
    code, out, _ = run(
        ["partition", "12", "6", "--p", "4", "--cost", "known", "--out", path, "--json"], capsys
    )
    out = strict_json(out)
    assert code == 0 and out["blocks"] == [[6, 3], [6, 3]]
    W, labels = load_packing(path), load_result(path).labels
    assert load_result(path).blocks == [(6, 3), (6, 3)]
    G = np.abs(W @ W.T)
    assert W.shape == (12, 6) and np.all(G[labels[:, None] != labels[None]] < 1e-12)  # blocks orthogonal
    cos = np.abs(brute_force_cosines(W))
    assert out["realized_loss"] == pytest.approx(np.sum(cos**4))
    code, out, _ = run(["partition", "5", "2", "--p", "inf", "--json"], capsys)
    assert code == 0 and strict_json(out)["p"] == "inf"  # the strict-JSON rule for non-finite numbers


def test_partition_with_the_optimizer_cost(capsys):
    code, out, _ = run(
        ["partition", "7", "3", "--p", "inf", "--cost", "optimizer", "--budget", "0.1"], capsys
    )
    assert code == 0 and "optimizer" in out


def test_train_saves_what_python_trains(files, capsys):
    path = files["tmp"] / "toy.npz"
    argv = ["train", "--n-features", "5", "--d", "2", "--sparsity", "0", "0.9", "--steps", "150"]
    argv += ["--batch-size", "64", "--lr", "0.01", "--importance-decay", "0.9", "--rng", "3", "--out", path]
    code, out, _ = run([*argv, "--json"], capsys)
    assert code == 0 and strict_json(out)["instances"] == 2
    expected = packing.train_toy_model(
        n_features=5,
        d=2,
        sparsity=[0.0, 0.9],
        steps=150,
        batch_size=64,
        lr=0.01,
        importance=0.9 ** np.arange(5),
        rng=3,
    )
    W = load_packing(path)
    assert W.shape == (2, 5, 2) and np.array_equal(W, expected.W)
    result = load_result(path)
    assert isinstance(result, packing.ToyModelResult) and np.array_equal(result.b, expected.b)
    assert np.array_equal(result.loss_history, expected.loss_history)
    assert result.config["steps"] == 150 and result.config["rng"] == 3


def test_train_abs_model(files, capsys):
    path = files["tmp"] / "abs.npz"
    argv = ["train", "--model", "abs", "--n-features", "3", "--d", "6", "--steps", "60", "--out", path]
    code, out, _ = run([*argv, "--json"], capsys)
    assert code == 0 and strict_json(out)["W1_shape"] == [1, 3, 6]
    result = load_result(path)
    assert isinstance(result, packing.AbsModelResult)
    assert result.W2.shape == (1, 3, 6) and result.b.shape == (1, 3)


def test_train_checkpoint_is_used_or_refused_clearly(files, capsys):
    from packing import train_toy_model

    path, ckpt = files["tmp"] / "toy.npz", files["tmp"] / "ckpt.npz"
    argv = ["train", "--n-features", "4", "--d", "2", "--steps", "40", "--out", path, "--checkpoint", ckpt]
    code, _, err = run(argv, capsys)
    if "checkpoint" in inspect.signature(train_toy_model).parameters:
        assert code == 0 and ckpt.exists()
        # the finished checkpoint serves the same call again: the same weights, bit for bit
        first = load_packing(path)
        assert run(argv, capsys)[0] == 0 and np.array_equal(load_packing(path), first)
    else:
        assert code == EXIT_CODES["unavailable"] and not path.exists()
        assert "--checkpoint is not available" in one_error_line(err, "train")


def test_train_divergence_is_a_failed_computation(files, capsys):
    argv = [
        "train",
        "--n-features",
        "5",
        "--d",
        "2",
        "--model",
        "linear",
        "--optimizer",
        "sgd",
        "--lr",
        "1e5",
    ]
    code, _, err = run([*argv, "--steps", "50", "--out", files["tmp"] / "x.npz"], capsys)
    assert code == EXIT_CODES["failed"]
    assert "training diverged at step" in one_error_line(err, "train")


def test_analyze(files, capsys):
    code, out, _ = run(["analyze", files["pentagon.npy"], "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and out["description"] == "pentagon" and out["factors"][0]["features"] == [0, 1, 2, 3, 4]
    # a torch nn.Linear(6, 3).weight holding three antipodal pairs, read with the explicit layout
    code, out, _ = run(["analyze", files["torch_weight.npy"], "--layout", "hidden_by_features"], capsys)
    assert code == 0 and "tegum product: 3×digon" in out
    code, out, _ = run(["analyze", files["batch.npy"], "--json"], capsys)
    out = strict_json(out)
    assert code == 0 and [r["instance"] for r in out["instances"]] == [0, 1, 2]
    code, out, _ = run(["analyze", files["batch.npy"], "--instance", "2", "--json"], capsys)
    assert code == 0 and strict_json(out)["instance"] == 2


def test_analyze_safetensors_and_pytorch_files_from_the_shell(files, capsys):
    from safetensors.numpy import save_file

    weight = np.load(
        files["torch_weight.npy"]
    )  # three antipodal pairs in the (d, n) layout of nn.Linear(6, 3)
    path = files["tmp"] / "tms.safetensors"
    save_file({"encoder.weight": weight, "encoder.bias": np.zeros(3)}, str(path))
    argv = ["analyze", path, "--key", "encoder.weight", "--layout", "hidden_by_features", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0 and strict_json(out)["description"] == "3×digon" and err == ""
    code, _, err = run(["analyze", path, "--key", "decoder.weight"], capsys)
    line = one_error_line(err, "analyze")
    assert code == EXIT_CODES["value"] and line.startswith("packing analyze: error: --key")
    assert "encoder.weight" in line  # the names that are there


def test_analyze_a_pytorch_state_dict_from_the_shell(files, capsys):
    torch = pytest.importorskip("torch", reason="reading .pt files needs torch")
    path = files["tmp"] / "tms.pt"
    torch.save({"weight": torch.tensor(np.load(files["torch_weight.npy"]))}, path)
    code, out, _ = run(
        ["analyze", path, "--key", "weight", "--layout", "hidden_by_features", "--json"], capsys
    )
    assert code == 0 and strict_json(out)["description"] == "3×digon"


def test_compare(files, capsys):
    code, out, _ = run(["compare", files["pentagon.npy"], "--budget", "0.1", "--json"], capsys)
    out = strict_json(out)
    assert code == 0
    names = [r["name"] for r in out["rows"]]
    assert "learned" in names and "ideal tegum" in names
    learned = out["rows"][names.index("learned")]
    assert learned["coherence"] == pytest.approx(math.cos(math.pi / 5))  # the pentagon's closest pair: 36°
    code, out, _ = run(["compare", files["pentagon.npy"], "--budget", "0.1", "--p", "1,inf"], capsys)
    assert code == 0 and "learned" in out and "M_1" in out


def test_figures(files, capsys):
    out_dir = files["tmp"] / "figs"
    code, out, _ = run(
        ["figures", "--quick", "--only", "interference_distribution", "--out", out_dir], capsys
    )
    assert code == 0 and "interference_distribution: wrote" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "interference_distribution.pdf",
        "interference_distribution.png",
    ]
    code, out, _ = run(["figures", "--list", "--json"], capsys)
    assert code == 0 and set(strict_json(out)) == set(packing.figures.FIGURES)


def test_debug_shows_the_traceback_with_the_same_status(files, capsys):
    code, _, err = run(["stats", files["batch.npy"], "--instance", "7", "--debug"], capsys)
    assert code == EXIT_CODES["value"] and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("packing stats: error: --instance")


def test_warnings_are_one_line(files, capsys):
    # a (d, n) weight read without --layout: read as stored, with the toolkit's LayoutWarning as one line
    code, out, err = run(["stats", files["torch_weight.npy"], "--json"], capsys)
    assert code == 0 and (strict_json(out)["n"], strict_json(out)["d"]) == (3, 6)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("packing stats: warning: ")
    assert "hidden_by_features" in lines[0] and lines[0].endswith("[LayoutWarning]")
    code, _, err = run(["stats", files["torch_weight.npy"], "--layout", "features_by_hidden"], capsys)
    assert code == 0 and err == ""  # an explicit layout silences it


@pytest.mark.parametrize(
    "exc, kind",
    [
        (MemoryError("cannot allocate 80 GiB"), "resource"),
        (KeyboardInterrupt(), "interrupted"),
        (RuntimeError("something unexpected"), "internal"),
        (OverflowError("int too large to convert to float"), "value"),
    ],
)
def test_every_kind_of_failure_is_one_line_and_its_own_status(files, capsys, monkeypatch, exc, kind):
    import packing.geometry

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(packing.geometry, "pairwise_statistics", fail)
    code, out, err = run(["stats", files["W.npy"]], capsys)
    assert code == EXIT_CODES[kind] and not out
    line = one_error_line(err, "stats")
    if kind == "internal":
        assert "RuntimeError: something unexpected" in line and "--debug" in line
    if kind == "interrupted":
        assert line.endswith("error: interrupted")


def test_exit_codes_are_distinct_and_never_1():
    codes = list(EXIT_CODES.values())
    assert len(set(codes)) == len(codes) and 1 not in codes


# --------------------------------------------------------------------------- the bad-input table


def cases():
    """``(id, argv with {placeholders}, exit kind, text the one error line must contain)``."""
    o = "--out={tmp}/r.npz"
    t = ["train", "--n-features", "5", "--d", "2"]
    return [
        # usage errors (argparse): status 2
        ("no-command", [], "usage", "COMMAND"),
        ("unknown-command", ["fly"], "usage", "COMMAND"),
        ("unknown-option", ["bounds", "6", "3", "--fast"], "usage", "--fast"),
        ("bounds-N-not-int", ["bounds", "six", "3"], "usage", "N"),
        ("bounds-N-float", ["bounds", "1.5", "3"], "usage", "N"),
        ("bounds-missing-D", ["bounds", "6"], "usage", "D"),
        ("pack-missing-out", ["pack", "6", "3"], "usage", "--out"),
        ("pack-budget-text", ["pack", "6", "3", "--budget", "abc", o], "usage", "--budget"),
        ("pack-restarts-float", ["pack", "6", "3", "--restarts", "2.5", o], "usage", "--restarts"),
        ("pack-rng-negative", ["pack", "6", "3", "--rng", "-1", o], "usage", "--rng"),
        ("pack-rng-text", ["pack", "6", "3", "--rng", "x", o], "usage", "--rng"),
        ("pack-method", ["pack", "6", "3", "--method", "newton", o], "usage", "--method"),
        ("partition-missing-p", ["partition", "12", "6"], "usage", "--p"),
        ("partition-cost", ["partition", "12", "6", "--p", "1", "--cost", "best"], "usage", "--cost"),
        ("train-missing-n", ["train", "--d", "2", o], "usage", "--n-features"),
        (
            "train-optimizer",
            [*t, "--optimizer", "lbfgs", o],
            "usage",
            "--optimizer",
        ),
        (
            "train-dtype",
            [*t, "--dtype", "float16", o],
            "usage",
            "--dtype",
        ),
        ("stats-layout", ["stats", "{W_npy}", "--layout", "torch"], "usage", "--layout"),
        ("stats-p-text", ["stats", "{W_npy}", "--p", "one"], "usage", "--p"),
        ("stats-instance-text", ["stats", "{batch_npy}", "--instance", "first"], "usage", "--instance"),
        ("figures-seed", ["figures", "--seed", "-2"], "usage", "--seed"),
        # values the toolkit refuses: status 3
        ("bounds-N-zero", ["bounds", "0", "3"], "value", "N must be >= 1"),
        ("bounds-D-zero", ["bounds", "3", "0"], "value", "D must be >= 1"),
        ("best-known-N-zero", ["best-known", "0", "3"], "value", "N must be >= 1"),
        ("best-known-D-negative", ["best-known", "6", "-3"], "value", "D must be >= 1"),
        ("pack-N-zero", ["pack", "0", "3", o], "value", "N must be >= 1"),
        ("pack-budget-zero", ["pack", "6", "3", "--budget", "0", o], "value", "--budget"),
        ("pack-budget-negative", ["pack", "6", "3", "--budget", "-1", o], "value", "--budget"),
        ("pack-budget-nan", ["pack", "6", "3", "--budget", "nan", o], "value", "--budget"),
        ("pack-budget-inf", ["pack", "6", "3", "--budget", "inf", o], "value", "--budget"),
        ("pack-p-zero", ["pack", "6", "3", "--p", "0", o], "value", "--p"),
        ("certify-digits-zero", ["certify", "{W_npy}", "--digits", "0"], "value", "--digits"),
        ("certify-atol-negative", ["certify", "{W_npy}", "--atol", "-1"], "value", "--atol"),
        ("certify-digits-text", ["certify", "{W_npy}", "--digits", "many"], "usage", "--digits"),
        ("certify-export-no-folder", ["certify", "{W_npy}", "--export", "/no/dir/x.txt"], "file", "--export"),
        ("certify-strings", ["certify", "{strings_npy}"], "content", "FILE"),
        ("certify-missing", ["certify", "/no/such/file.npy"], "file", "FILE"),
        ("best-known-export-none", ["best-known", "90", "9", "--export", "{tmp}/x.txt"], "value", "--export"),
        ("pack-p-negative", ["pack", "6", "3", "--p", "-2", o], "value", "--p"),
        ("pack-p-nan", ["pack", "6", "3", "--p", "nan", o], "value", "--p"),
        ("pack-restarts-zero", ["pack", "6", "3", "--restarts", "0", o], "value", "--restarts"),
        ("pack-workers-zero", ["pack", "6", "3", "--workers", "0", o], "value", "--workers"),
        ("pack-workers-huge", ["pack", "6", "3", "--workers", "100000", o], "value", "--workers"),
        ("pack-out-suffix", ["pack", "6", "3", "--out", "{tmp}/r.txt"], "value", "--out"),
        ("partition-p-zero", ["partition", "12", "6", "--p", "0"], "value", "--p"),
        ("partition-N-zero", ["partition", "0", "6", "--p", "1"], "value", "N must be >= 1"),
        (
            "partition-budget",
            ["partition", "7", "3", "--p", "1", "--cost", "optimizer", "--budget", "0"],
            "value",
            "--budget",
        ),
        ("train-n-zero", ["train", "--n-features", "0", "--d", "2", o], "value", "--n-features"),
        ("train-d-zero", ["train", "--n-features", "5", "--d", "0", o], "value", "--d"),
        (
            "train-sparsity",
            [*t, "--sparsity", "1.5", o],
            "value",
            "--sparsity",
        ),
        ("train-lr-zero", [*t, "--lr", "0", o], "value", "--lr"),
        ("train-lr-nan", [*t, "--lr", "nan", o], "value", "--lr"),
        (
            "train-steps-zero",
            [*t, "--steps", "0", o],
            "value",
            "--steps",
        ),
        (
            "train-batch-zero",
            [*t, "--batch-size", "0", o],
            "value",
            "--batch-size",
        ),
        (
            "train-importance",
            [*t, "--importance", "-1", o],
            "value",
            "--importance",
        ),
        (
            "train-decay",
            [*t, "--importance-decay", "0", o],
            "value",
            "--importance-decay",
        ),
        (
            "train-seeds-zero",
            [*t, "--n-seeds", "0", o],
            "value",
            "--n-seeds",
        ),
        ("train-checkpoint-suffix", [*t, "--checkpoint", "{tmp}/ck", o], "value", "--checkpoint"),
        (
            "train-checkpoint-every",
            [*t, "--checkpoint", "{tmp}/ck.npz", "--checkpoint-every", "0", o],
            "value",
            "--checkpoint-every",
        ),
        (
            "train-abs-seeds",
            ["train", "--model", "abs", "--n-features", "3", "--d", "2", "--n-seeds", "2", o],
            "value",
            "--n-seeds",
        ),
        ("stats-batch-no-instance", ["stats", "{batch_npy}"], "value", "--instance"),
        ("stats-instance-high", ["stats", "{batch_npy}", "--instance", "3"], "value", "--instance"),
        ("stats-instance-negative", ["stats", "{batch_npy}", "--instance", "-1"], "value", "--instance"),
        ("stats-instance-huge", ["stats", "{batch_npy}", "--instance", "9" * 40], "value", "--instance"),
        ("stats-instance-single", ["stats", "{W_npy}", "--instance", "0"], "value", "--instance"),
        ("stats-key-missing", ["stats", "{two_npz}", "--key", "C"], "value", "--key"),
        ("stats-key-ambiguous", ["stats", "{two_npz}"], "value", "--key"),
        ("stats-atol", ["stats", "{W_npy}", "--atol", "-1"], "value", "--atol"),
        ("stats-p-zero", ["stats", "{W_npy}", "--p", "1,0"], "value", "--p"),
        ("analyze-instance", ["analyze", "{batch_npy}", "--instance", "9"], "value", "--instance"),
        ("compare-budget", ["compare", "{pentagon_npy}", "--budget", "0"], "value", "--budget"),
        ("figures-only", ["figures", "--only", "bounds"], "value", "--only"),
        # files that are not there or cannot be read: status 4
        ("stats-missing", ["stats", "{missing}"], "file", "FILE"),
        ("stats-directory", ["stats", "{folder}"], "file", "is a directory"),
        ("analyze-missing", ["analyze", "{missing}"], "file", "FILE"),
        ("compare-directory", ["compare", "{folder}"], "file", "FILE"),
        ("pack-out-folder-missing", ["pack", "6", "3", "--out", "{tmp}/nowhere/r.npz"], "file", "--out"),
        ("pack-out-is-directory", ["pack", "6", "3", "--out", "{folder_npz}"], "file", "--out"),
        ("figures-out-is-file", ["figures", "--out", "{W_npy}", "--only", "scurves"], "file", "--out"),
        # files whose content is not a packing: status 5
        ("stats-empty", ["stats", "{empty_npy}"], "content", "FILE"),
        ("stats-garbage", ["stats", "{garbage_npy}"], "content", "FILE"),
        ("stats-truncated-npy", ["stats", "{truncated_npy}"], "content", "FILE"),
        ("stats-truncated-npz", ["stats", "{truncated_npz}"], "content", "FILE"),
        ("stats-npz-named-npy", ["stats", "{npz_named_npy}"], "content", "FILE"),
        ("stats-bad-zip-member", ["stats", "{bad_member_npz}"], "content", "FILE"),
        ("stats-vector", ["stats", "{vector_npy}"], "content", "FILE"),
        ("stats-nan", ["stats", "{nan_npy}"], "content", "FILE"),
        ("stats-strings", ["stats", "{strings_npy}"], "content", "FILE"),
        ("analyze-truncated", ["analyze", "{truncated_npy}"], "content", "FILE"),
        ("compare-garbage", ["compare", "{garbage_npy}"], "content", "FILE"),
    ]


CASES = cases()


def test_the_table_is_large_and_covers_every_kind_and_subcommand():
    assert len(CASES) >= 40
    assert {kind for _, _, kind, _ in CASES} == {"usage", "value", "file", "content"}
    commands = {argv[0] for _, argv, _, _ in CASES if argv}
    assert commands >= {
        "stats",
        "bounds",
        "best-known",
        "certify",
        "pack",
        "partition",
        "train",
        "analyze",
        "compare",
        "figures",
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_the_option(case, files, capsys):
    _, argv, kind, must = case
    argv = [a.format(**{k.replace(".", "_"): v for k, v in files.items()}) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == EXIT_CODES[kind], err
    command = argv[0] if argv and argv[0] in build_parser()._subparsers._group_actions[0].choices else None
    line = one_error_line(err, command)
    assert must in line, line
    assert not out
    assert not (files["tmp"] / "r.npz").exists()  # nothing half-done is written


def test_an_unreadable_file_is_a_file_error(files, capsys, monkeypatch):
    path = files["W.npy"]
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads everything: make the read itself fail as it would for a user
        import packing.io

        def denied(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(packing.io, "load_packing", denied)
    code, _, err = run(["stats", path], capsys)
    assert code == EXIT_CODES["file"]
    assert "FILE" in one_error_line(err, "stats")


#: Found by fuzzing the options with extreme values: a run that never ended, three lines of overflow
#: warnings before a diverged run, messages naming the library's keywords instead of the options.
FUZZED = [
    (
        "train-batch-huge",
        ["train", "--n-features", "5", "--d", "2", "--batch-size", "9" * 15],
        "value",
        "--batch-size",
    ),
    (
        "train-steps-huge",
        ["train", "--n-features", "5", "--d", "2", "--steps", "9" * 12],
        "resource",
        "--steps=",
    ),
    ("train-n-huge", ["train", "--n-features", "9" * 12, "--d", "2"], "resource", "--n-features="),
    (
        "train-importance-huge",
        ["train", "--n-features", "5", "--d", "2", "--importance", "1e40"],
        "value",
        "--importance",
    ),
    ("analyze-threshold", ["analyze", "{W_npy}", "--norm-threshold", "2.5"], "value", "--norm-threshold"),
]


@pytest.mark.parametrize("case", FUZZED, ids=[c[0] for c in FUZZED])
def test_extreme_option_values_are_one_line_naming_the_option(case, files, capsys):
    _, argv, kind, must = case
    argv = [a.format(**{k.replace(".", "_"): v for k, v in files.items()}) for a in argv]
    if argv[0] == "train":
        argv += [f"--out={files['tmp']}/r.npz"]
    code, out, err = run(argv, capsys)
    assert code == EXIT_CODES[kind], err
    assert must in one_error_line(err, argv[0])
    assert not (files["tmp"] / "r.npz").exists()


# --------------------------------------------------------------------------- Ctrl-C in a real process


def screen_lines(err):
    """The lines a terminal would show: progress bars redraw with \\r, only the last state of a line stays."""
    return [line.split("\r")[-1] for line in err.split("\n") if line.split("\r")[-1].strip()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, working",
    [
        (
            ["train", "--n-features", "5", "--d", "2", "--steps", "100000000", "--out", "t.npz"],
            "train_toy_model",
        ),
        (["pack", "40", "4", "--budget", "600", "--out", "p.npz"], "optimize_packing(40, 4)"),
    ],
    ids=["train", "pack"],
)
def test_ctrl_c_exits_130_with_one_line(argv, working, tmp_path):
    # PACKING_PROGRESS=1: the progress bar on stderr says when the work is under way
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PACKING_PROGRESS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "packing", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a test runner started in the background (e.g. `cmd &` in a script)
        # passes SIGINT on as ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    received = []
    reader = threading.Thread(
        target=lambda: received.extend(iter(lambda: proc.stderr.read(1), "")), daemon=True
    )
    reader.start()
    deadline = time.monotonic() + 300
    while working not in "".join(received):
        assert proc.poll() is None, f"the job ended before it could be interrupted: {''.join(received)}"
        assert time.monotonic() < deadline, "the job never showed its progress bar"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    err = "".join(received)
    assert proc.returncode == EXIT_CODES["interrupted"], err
    lines = screen_lines(err)
    # one error line, the last; anything above it is what is left of the progress bar
    assert lines[-1].startswith(f"packing {argv[0]}: error: interrupted"), err
    assert all(line.startswith(working) for line in lines[:-1]), err
    assert "Traceback" not in err
    # the optimizer and the trainers return what they have so far: it is written, then 130
    result = load_result(tmp_path / argv[argv.index("--out") + 1])
    assert result.stopping_reason == "interrupted"


def test_a_second_ctrl_c_aborts_a_parallel_pack_with_one_line(tmp_path):
    # p = 4 at (2500, 50): one restart is a single L-BFGS stage of about 23 CPU seconds, which the
    # workers finish before they look at the stop signal; a second Ctrl-C does not wait for it
    argv = ["pack", "2500", "50", "--p", "4", "--budget", "600", "--workers", "2", "--out", "p.npz"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "packing", *argv],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    workers = wait_until_workers_compute(proc.pid)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)
    t = time.perf_counter()
    out, err = proc.communicate(timeout=300)
    seconds = time.perf_counter() - t
    assert proc.returncode == EXIT_CODES["interrupted"], err
    assert screen_lines(err) == ["packing pack: error: interrupted"], err  # one line, no traceback
    assert not out and not (tmp_path / "p.npz").exists()  # aborted: nothing written
    assert seconds < 20, seconds
    assert processes_left(workers) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["stats", "a" * 300 + ".npy"],
        ["pack", "5", "3", "--out", "b" * 300 + ".npz"],
        ["figures", "--out", "c" * 300],
        ["stats", "d\0e.npy"],
    ],
    ids=["stats long name", "pack --out long name", "figures --out long name", "NUL"],
)
def test_a_path_the_os_refuses_is_one_line_not_an_internal_error(capsys, argv):
    # a name over 255 bytes made Path.exists() raise OSError: "internal error: OSError: File name too long"
    code, out, err = run(argv, capsys)
    line = one_error_line(err, argv[0])
    assert code == EXIT_CODES["file"] and not out and "internal error" not in line, line
