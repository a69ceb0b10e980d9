"""scripts/bench_packings.py's sample beyond the public table and its yardstick file."""

import csv
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from packing import best_known, certify_packing, equiangular_tight_frame, known_optimum, lower_bound
from packing.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_packings", ROOT / "scripts" / "bench_packings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_bench()


def test_the_sample_is_fixed_stratified_and_beyond_the_public_table():
    cells = bench.draw_unseen_sample()
    assert cells == bench.draw_unseen_sample() and len(cells) == 24
    for d in range(3, 9):
        ns = [n for e, n in cells if e == d]
        # four cells per dimension, one from each quarter of the free cells: increasing n
        assert len(ns) == 4 and ns == sorted(ns) and len(set(ns)) == 4
        assert all(d + 2 <= n <= 60 for n in ns)
    assert all(best_known(n, d) is None and known_optimum(n, d) is None for d, n in cells)
    assert len(bench.draw_unseen_sample(per_dim=2)) == 12


def test_yardstick_keeps_the_better_certified_value_with_provenance(tmp_path):
    path = tmp_path / "y.csv"
    args = SimpleNamespace(seeds=1, budget=2.0, clock="process", seed=5)
    good = np.array(equiangular_tight_frame(6, 3))
    bad = np.random.default_rng(0).normal(size=(6, 3))
    assert bench.merge_yardstick(path, {(3, 6): {"W": bad}}, args) == [(3, 6)]
    assert bench.merge_yardstick(path, {(3, 6): {"W": good}}, args) == [(3, 6)]
    assert bench.merge_yardstick(path, {(3, 6): {"W": bad}}, args) == []
    row = bench.read_yardstick(path)[(3, 6)]
    assert float(row["max_abs_cos"]) == certify_packing(good).upper
    assert float(row["lower_bound"]) == pytest.approx(lower_bound(6, 3, lp=True))
    assert row["budget"] == "2.0" and row["seed"] == "5" and row["commit"] and row["date"]


def test_rescore_and_harvest(tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("d,n,record,ours,yardstick,lower_bound,gap,seconds\n"
                   "3,7,,0.5,,0.4,,1.0\n4,9,,0.40001,,0.3,,2.0\n")
    s = bench.rescore(out, {(3, 7): 0.5 + 1e-7, (4, 9): 0.4}, 30.0)
    # within 1e-6: only (3, 7) (below its yardstick); within 1e-4: both; worst relative excess 1e-5/0.4
    assert s["within_1e-6"] == 0.5 and s["within_1e-4"] == 1.0
    assert s["worst_relative"] == pytest.approx(1e-5 / 0.4)
    assert "summary: 2 cells" in capsys.readouterr().out
    cache = tmp_path / "cache"
    sweep("optimize_packing", {"n": [7], "d": [3], "restarts": [1], "budget": [5.0], "clock": ["process"]},
          seeds=[0, 1], cache_dir=cache, n_jobs=1, progress=False)
    got = bench.harvest(cache)
    assert list(got) == [(3, 7)] and got[(3, 7)]["budget"] == 5.0 and got[(3, 7)]["seed"] in (0, 1)


def test_shipped_yardstick_rows_are_sample_cells_above_their_bounds():
    rows = bench.read_yardstick()
    assert rows, "scripts/data/unseen_yardstick.csv is missing"
    sample = set(bench.draw_unseen_sample()) | set(bench.draw_unseen_sample(per_dim=2))
    for (d, n), r in rows.items():
        assert (d, n) in sample and best_known(n, d) is None
        assert float(r["lower_bound"]) <= float(r["max_abs_cos"]) < 1.0
        assert r["budget"] and r["seed"] and r["commit"] and r["date"]
    with open(bench.SAMPLE_FILE, newline="") as fh:
        assert next(csv.reader(fh)) == bench.YARDSTICK_FIELDS


def test_from_table_scores_the_shipped_entries_and_corrects_only_real_improvements(tmp_path):
    from packing import best_found

    got = bench.from_table([{"d": 3, "n": 7, "record": None}, {"d": 3, "n": 999, "record": None}])
    assert list(got) == [(3, 7)]  # no entry for 999 lines: left out, not scored
    e = best_found(7, 3)
    assert got[(3, 7)]["coherence"] == e.coherence and np.array_equal(got[(3, 7)]["W"], e.W)
    assert got[(3, 7)]["seed"] == e.provenance["seed"] and got[(3, 7)]["commit"] == e.provenance["commit"]
    assert "our_table.csv" in got[(3, 7)]["source"]
    path = tmp_path / "y.csv"
    args = SimpleNamespace(seeds=1, budget=2.0, clock="process", seed=5)
    upper = certify_packing(e.W).upper
    path.write_text(",".join(bench.YARDSTICK_FIELDS) + f"\n3,7,{upper + 1e-15!r},0.1,x,1,process,1,abc,now\n")
    # a rounding-level gain does not churn the row; a real one replaces it with the table's provenance
    assert bench.merge_yardstick(path, got, args, min_gain=bench.TABLE_MIN_GAIN) == []
    path.write_text(",".join(bench.YARDSTICK_FIELDS) + f"\n3,7,{upper + 1e-9!r},0.1,x,1,process,1,abc,now\n")
    assert bench.merge_yardstick(path, got, args, min_gain=bench.TABLE_MIN_GAIN) == [(3, 7)]
    row = bench.read_yardstick(path)[(3, 7)]
    assert float(row["max_abs_cos"]) == upper
    assert row["commit"] == e.provenance["commit"] and row["date"] == e.provenance["date"]
