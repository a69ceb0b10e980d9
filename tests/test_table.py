"""The toolkit's own table: the build script (resumable, certified) and the shipped data."""

import csv
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import brute_force_cosines

from packing import (
    best_found,
    best_found_table,
    best_known,
    certify_packing,
    equiangular_tight_frame,
    lower_bound,
)

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_table_runs_resumes_and_collects(tmp_path, capsys):
    bt = load("build_table")
    work, data = tmp_path / "work", tmp_path / "data"
    args = ["run", "--work", str(work), "--dims", "3-4", "--max-n", "7", "--budget", "0.2"]
    first = bt.main(args)
    # n = 2..7 in two dimensions: every cell ran once and was stored as the best so far
    assert first["cells_run"] == 12 and len(first["improved"]) == 12
    assert len(list((work / "best").glob("*.txt"))) == 12
    # a second invocation finds every run file and does nothing: the run resumes where it stopped
    assert bt.main(args)["cells_run"] == 0
    out = bt.main(["collect", "--work", str(work), "--data", str(data)])
    assert out["cells"] == 12 and out["beats_public"] == []
    rows = list(csv.DictReader((data / "our_table.csv").read_text().splitlines()))
    with np.load(data / "our_packings.npz", allow_pickle=False) as npz:
        packings = {k: npz[k] for k in npz.files}
    for r in rows:
        n, d = int(r["n"]), int(r["d"])
        W = packings[f"d{d}_n{n}"]
        assert W.shape == (n, d)
        # the stored decimal is the exact coherence of the stored packing, and agrees with brute force
        assert certify_packing(W).decimal == r["coherence"]
        mu = float(np.abs(brute_force_cosines(W)).max())
        assert abs(mu - float(r["coherence"])) < 1e-14
        assert float(r["lower_bound"]) <= mu + 1e-12
        assert r["commit"] and r["date"] and r["budget"] == "0.2"
    # the simplex and the orthonormal cells come from the registry, exactly
    simplex = next(r for r in rows if (r["n"], r["d"]) == ("5", "4"))
    assert simplex["source"] == "known optimum (simplex)"
    assert simplex["coherence"].startswith("0.25000000000000")
    assert "collected 12 cells" in capsys.readouterr().out


def test_ctrl_c_prints_one_line_keeps_the_finished_cells_and_exits_130(tmp_path):
    work = tmp_path / "work"
    cmd = [sys.executable, str(SCRIPTS / "build_table.py"), "run", "--work", str(work), "--dims", "3-4",
           "--min-n", "6", "--max-n", "60", "--budget", "0.3", "--workers", "2"]
    # Ctrl-C as a terminal sends it: to the whole process group (the sweep's workers too), with
    # Python's default handler even when this test runs with SIGINT ignored (a background job)
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS.parent), "OMP_NUM_THREADS": "1", "PACKING_PROGRESS": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()  # a cell was stored: the run is under way
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert first.startswith("d=") and proc.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    stored = sorted((work / "runs" / "base").glob("*.json"))
    assert f"kept the {len(stored)} finished cells" in err and "run the same command again to resume" in err
    assert len(stored) >= 1 and len(stored) < 2 * 55
    # no cell cut short by Ctrl-C was kept as finished (it runs again when the build resumes)
    assert all(json.loads(p.read_text())["stopping_reason"] != "interrupted" for p in stored)
    # resuming: the cells stored are not run again
    bt = load("build_table")
    done = {p.stem for p in stored}
    n_max = min(int(name.split("_n")[1]) for name in done)
    again = bt.main(["run", "--work", str(work), "--dims", "3-4", "--min-n", "6", "--max-n", str(n_max),
                     "--budget", "0.3"])
    assert again["cells_run"] == sum(f"d{d}_n{n}" not in done for n in range(6, n_max + 1) for d in (3, 4))


def test_add_keeps_only_better_packings(tmp_path):
    bt = load("build_table")
    work = tmp_path / "work"
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, np.array(equiangular_tight_frame(6, 3)))
    np.save(bad, np.random.default_rng(0).normal(size=(6, 3)))
    assert bt.main(["add", "--work", str(work), "--packing", str(bad), "--source", "random"])["stored"]
    assert bt.main(["add", "--work", str(work), "--packing", str(good), "--source", "etf"])["stored"]
    assert not bt.main(["add", "--work", str(work), "--packing", str(bad), "--source", "random"])["stored"]
    W, info = bt.best_packing(work, 6, 3)
    assert info["source"] == "etf" and info["pass"] == "added"
    assert abs(np.abs(brute_force_cosines(W)).max() - 1 / math.sqrt(5)) < 1e-15


def test_harvest_offers_the_best_run_per_cell_of_a_sweep_cache(tmp_path):
    from packing.sweep import sweep

    bt = load("build_table")
    cache, work = tmp_path / "cache", tmp_path / "work"
    table = sweep("optimize_packing", {"n": [7], "d": [3], "restarts": [1], "budget": [5.0],
                                       "clock": ["process"]}, seeds=[0, 1], cache_dir=cache, n_jobs=1,
                  progress=False)
    best = table.sort_values("coherence").iloc[0]
    out = bt.main(["harvest", "--work", str(work), "--cache", str(cache), "--source", "long runs",
                   "--commit", "abc123"])
    assert out["stored"] == [(3, 7)]
    W, info = bt.best_packing(work, 7, 3)
    # the best of the two seeds, with the run's settings as provenance
    assert abs(np.abs(brute_force_cosines(W)).max() - best["coherence"]) < 1e-12
    assert info["source"] == "long runs" and info["commit"] == "abc123" and info["pass"] == "harvest"
    # (the seeds may tie exactly, both at 1/sqrt(3): the provenance names one of the best runs)
    best_seeds = {int(k) for k in table.loc[table["coherence"] == best["coherence"], "seed"]}
    assert int(info["seed"]) in best_seeds and float(info["budget"]) == 5.0 and info["date"]
    # offered again: not better, nothing stored
    assert bt.main(["harvest", "--work", str(work), "--cache", str(cache)])["stored"] == []


def test_run_cell_uses_neighbour_seeds():
    bt = load("build_table")
    W14 = bt.run_cell(14, 3, budget=0.3, seed=0)["W"]
    out = bt.run_cell(13, 3, budget=0.3, seed=1, seeds=[W14])
    assert out["W"].shape == (13, 3) and out["source"] == "optimize_packing" and out["restarts"] >= 1
    assert float(out["coherence"]) >= lower_bound(13, 3, lp=True) - 1e-12


SHIPPED = best_found_table()


def test_shipped_table_is_consistent():
    # d = 3..8, n = 2..19 (and 35 lines in R^5): a missing or truncated table is a failure
    assert {(e.d, e.n) for e in SHIPPED} >= {(d, n) for d in range(3, 9) for n in range(2, 20)}
    for e in SHIPPED:
        W = e.W
        assert W.shape == (e.n, e.d) and np.all(np.isfinite(W))
        C = np.abs(W @ W.T) / np.outer(np.linalg.norm(W, axis=1), np.linalg.norm(W, axis=1))
        np.fill_diagonal(C, 0.0)
        # the stored certified value is the packing's coherence (float check of every cell) ...
        assert abs(C.max() - e.coherence) < 1e-14, (e.n, e.d)
        # ... never below the certified lower bound, nor below a public record unless it is a claim
        assert e.lower_bound <= e.coherence + 1e-12
        public = best_known(e.n, e.d)
        if public is not None and not e.beats_public_record:
            assert e.coherence >= public.coherence - 1e-8
        assert e.gap == pytest.approx(max(0.0, e.coherence - e.lower_bound))
    # a few cells recertified exactly
    for e in SHIPPED[:: max(1, len(SHIPPED) // 5)]:
        assert certify_packing(e.W).decimal == e.certified
    assert best_found(1000, 3) is None


def test_best_found_bad_input():
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        best_found(0, 3)
    with pytest.raises(TypeError, match="d must be an integer"):
        best_found(5, 2.5)
    with pytest.raises(ValueError, match="d must be >= 1"):
        best_found_table(d=0)
    assert math.isfinite(lower_bound(5, 3))


def test_shipped_35_lines_in_r5_certificate():
    # the toolkit's best result ships with the package: certified exactly, below the public entry
    e = best_found(35, 5)
    assert e is not None and e.beats_public_record and e.source.startswith("optimize_packing(35, 5")
    cert = certify_packing(e.W)
    assert cert.decimal == e.certified and e.certified.startswith("0.618013572154607")
    assert cert.table_value == e.squared_chordal_distance == "0.6180592246"
    # the public table's 1/phi = 0.6180339887 (D = 0.6180339887 in Sloane's table), beaten by 2.0e-5
    public = best_known(35, 5)
    assert cert.improves_on(public) and public.coherence - cert.upper > 2.0e-5
    # independent float check of the contact graph: 162 pairs at the maximum, one line without contact
    C = np.abs(brute_force_cosines(e.W))  # pairs i < j in the order of np.triu_indices
    iu = np.triu_indices(35, 1)
    at_max = C >= C.max() - 1e-9
    assert at_max.sum() == cert.num_active == e.active_pairs == 162
    touched = np.zeros(35, int)
    np.add.at(touched, iu[0][at_max], 1)
    np.add.at(touched, iu[1][at_max], 1)
    assert (touched == 0).sum() == 1


def test_parallel_run_through_the_sweep_resumes_and_seeds_by_neighbours(tmp_path):
    bt = load("build_table")
    work = tmp_path / "work"
    args = ["run", "--work", str(work), "--dims", "3-4", "--min-n", "5", "--max-n", "7", "--budget", "0.1",
            "--workers", "2", "--pass", "par"]
    first = bt.main(args)
    assert first["cells_run"] == 6 and len(list((work / "best").glob("*.txt"))) == 6
    assert list((work / "sweep").rglob("*.npz"))  # the sweep's cache holds the finished cells
    assert bt.main(args)["cells_run"] == 0  # resumed: nothing left to do
    # a cell of n = 6 was seeded by the layer before it (n = 5), never by its own layer
    import json

    info = json.loads((work / "runs" / "par" / "d4_n6.json").read_text())
    assert "d4_n5" in info["seeded_by"] and "d3_n6" not in info["seeded_by"]
    for path in (work / "best").glob("*.txt"):
        W, meta = bt.read_exported_packing(path)
        assert certify_packing(W).upper == float(meta["coherence_upper"])
    with pytest.raises(SystemExit):
        bt.main([*args[:-2], "--workers", "0"])


def test_import_starts_from_the_shipped_table(tmp_path):
    bt = load("build_table")
    work = tmp_path / "work"
    assert bt.main(["import", "--work", str(work)])["imported"] == len(SHIPPED)
    W, info = bt.best_packing(work, 35, 5)
    assert info["source"].startswith("optimize_packing(35, 5") and W.shape == (35, 5)
    assert bt.main(["import", "--work", str(work)])["imported"] == 0  # nothing better the second time


def _exact_certified_decimal_holds(W: np.ndarray, decimal: str) -> bool:
    """Check ``decimal <= mu < decimal + 1e-20`` for ``W`` rounded to 20 decimals, in integers only.

    Independent of certify_packing: the coordinates are rounded by the decimal module
    (half to even, as exact as the float), and ``mu = max |<u, v>| / (|u| |v|)`` is compared
    with the claimed truncation ``t`` by ``t² |u|² |v|² <= <u, v>² 10^40`` (some pair) and
    ``(t + 1)² |u|² |v|² > <u, v>² 10^40`` (every pair).
    """
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        N = [[int(Decimal(float(x)).scaleb(20).to_integral_value()) for x in row] for row in W]
    t = int(decimal.replace("0.", "", 1))
    G = [[sum(a * b for a, b in zip(u, v, strict=True)) for v in N] for u in N]
    scale = 10**40
    reached = False
    for i in range(len(N)):
        for j in range(i + 1, len(N)):
            lhs, rhs = G[i][i] * G[j][j], G[i][j] ** 2 * scale
            if (t + 1) ** 2 * lhs <= rhs:
                return False
            reached |= t * t * lhs <= rhs
    return reached


def test_rows_beyond_n18_are_certified_by_an_independent_exact_computation():
    # every shipped row with n >= 19 (the rows the extension runs add, and 35 lines in R^5): its certified
    # 20-decimal value holds for its stored packing, by integer arithmetic that shares no code with certify
    rows = [e for e in SHIPPED if e.n >= 19]
    assert rows
    for e in rows:
        assert _exact_certified_decimal_holds(e.W, e.certified), (e.n, e.d)
        assert e.lower_bound <= e.coherence + 1e-12
    # and the check can fail: the same packing does not satisfy a decimal 1e-12 lower
    e = rows[0]
    lower = f"{float(e.certified) - 1e-12:.20f}"
    assert not _exact_certified_decimal_holds(e.W, lower)
