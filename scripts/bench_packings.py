"""Benchmark optimize_packing against the best known Grassmannian line packings.

For every cell ``(d, n)`` of a CSV with columns ``d, n, max_abs_cos`` (default: the
table shipped with the package, :func:`packing.best_known_table`: Sloane's and
Cohn's tables for ``d = 3..5``, ``n <= 40``) the script runs ``optimize_packing(n, d, rng=seed,
budget=BUDGET)`` and prints: record, ours, certified lower bound (the best of
Welch, orthoplex, Levenstein, Bukh–Cox and the Delsarte LP bound), the gap to the
record and the seconds taken. A summary line gives the fraction of cells within
1e-4 and within 1e-6 of the record, the worst relative excess and the median
seconds per cell. A result below a record is certified (:func:`packing.certify_packing`,
exact arithmetic on its 20-decimal rounding) and reported as a new record only if
the certified value beats the record by more than the table's rounding and 1e-8.

Records for cells outside the public table: ``--cells FILE`` (e.g. written by
``--records-out`` from long runs), or ``--table ours`` (the toolkit's own table,
:func:`packing.best_found_table`, built by ``scripts/build_table.py``); ``--unseen``
keeps only cells that are not in the public table. ``--clock process`` counts the
budget in CPU seconds of each search process (comparable on a machine shared with other
work). ``--seeds K`` keeps the best of K seeds per cell (K budgets each), and
``--records-out FILE`` merges the best value per cell into a records CSV.

``--baseline REV`` runs the optimizer of another revision of this repository (e.g.
``main``) on every cell too, interleaved with ours in the same invocation (same seeds,
budget and clock), from ``git archive REV packing`` in a temporary folder and one
worker subprocess; the summary then gives both fractions. A revision whose
``optimize_packing`` has no ``clock=`` (before the process clock) gets it by
running its search with ``time.perf_counter`` read as ``time.process_time``.
``--hop P`` runs ours with ``hop=P`` (``--hop portfolio``: the portfolio of fresh
starts, kicks and sharp kicks), so one invocation with ``--baseline main`` compares
the two ways of spending the budget on the same cells, seeds and clock.
``--best-of-both`` scores cells without a record against the better of the two
results (a yardstick for cells beyond every table, not a record).

``--sample`` runs the fixed stratified sample of cells beyond the public table
(:func:`draw_unseen_sample`: four cells per dimension ``d = 3..8``, ``n <= 60``, one
from each quarter of the cells that are neither in the public table nor a known
optimum) and scores each against its yardstick in ``scripts/data/unseen_yardstick.csv``:
the best certified coherence of our own longer runs (``--build-yardstick`` runs
them and merges the better values in, with their provenance), beside the
certified lower bound. ``--from-table`` scores the toolkit's own shipped table
(:func:`packing.best_found`) instead of running the optimizer: each cell's entry is
"ours"; with ``--build-yardstick`` the entries that beat an existing yardstick by more
than 1e-12 replace it (cells without one stay without), with the table row's provenance
(pass, seeds, budget, seed, commit, date). ``--workers K`` runs the cells on ``K`` processes through
:func:`packing.sweep` (a fresh cache per invocation; each cell is one process
with its own process clock), and the load average is printed before and after.

The CSV may hold any cells (other ``d`` and ``n``); ``max_abs_cos`` may be empty
for cells without a known record. Usage::

    python scripts/bench_packings.py [--cells FILE | --table ours] [--unseen] [--budget 15]
                                     [--clock wall|process] [--only d=3] [--dims 3-8] [--max-n 60]
                                     [--limit 10] [--seed 0] [--seeds 1] [--out results.csv]
                                     [--records-out records.csv] [--baseline main] [--best-of-both]
                                     [--sample] [--build-yardstick] [--workers 2] [--quick]
    python scripts/bench_packings.py --sample --budget 30 --clock process --workers 2
    python scripts/bench_packings.py --sample --build-yardstick --budget 90 --seed 1000 --workers 2
    python scripts/bench_packings.py --sample --missing --build-yardstick --budget 90 --seed 1000 --workers 2
    python scripts/bench_packings.py --sample --from-table [--per-dim 2] [--build-yardstick]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from packing import (
    best_found_table,
    best_known,
    best_known_table,
    certify_packing,
    known_optimum,
    lower_bound,
    optimize_packing,
)
from packing.io import atomic_write

DEFAULT_BUDGET = 15.0
ROOT = Path(__file__).resolve().parents[1]
#: The yardstick of the unseen sample: best certified coherence of our own longer runs, with provenance.
SAMPLE_FILE = ROOT / "scripts" / "data" / "unseen_yardstick.csv"
YARDSTICK_FIELDS = ["d", "n", "max_abs_cos", "lower_bound", "source", "budget", "clock", "seed", "commit",
                    "date"]

# The worker for --baseline: reads one JSON cell per line, answers one JSON line per cell.
_WORKER = r"""
import inspect, json, sys, time, types
import numpy as np
import packing
from packing import optimize_packing
process_clock = 'clock' not in inspect.signature(optimize_packing).parameters
if process_clock:  # an old revision: its search reads the budget off time.perf_counter
    import packing.optimize.driver as _driver, packing.optimize._stages as _stages
    shim = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith('_')})
    for mod in (_driver, _stages):
        mod.time = shim
print(json.dumps({"ready": packing.__file__}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    kw = dict(rng=job["seed"], budget=job["budget"])
    if process_clock:
        shim.perf_counter = time.process_time if job["clock"] == "process" else time.perf_counter
    else:
        kw["clock"] = job["clock"]
    res = optimize_packing(job["n"], job["d"], **kw)
    print(json.dumps({"coherence": res.coherence, "restarts": res.restarts,
                      "W": np.asarray(res.W).tolist()}), flush=True)
"""


class Baseline:
    """The optimizer of another revision of this repository, run in a worker subprocess."""

    def __init__(self, rev: str):
        self.rev = rev
        self.tmp = tempfile.TemporaryDirectory(prefix="bench_baseline_")
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "packing"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", self.tmp.name], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": self.tmp.name, "PACKING_PROGRESS": "0"}
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], cwd=self.tmp.name, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.proc.stdout.readline())
        if not ready["ready"].startswith(self.tmp.name):
            raise SystemExit(f"--baseline {rev}: the worker imported {ready['ready']}, not the archive")

    def run(self, n: int, d: int, seed: int, budget: float, clock: str) -> dict:
        """Optimize one cell in the worker; return its coherence, restarts and packing ``W``."""
        self.proc.stdin.write(json.dumps({"n": n, "d": d, "seed": seed, "budget": budget,
                                          "clock": clock}) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        out["W"] = np.array(out["W"])
        return out

    def close(self) -> None:
        """Stop the worker and remove the archive."""
        self.proc.stdin.close()
        self.proc.wait()
        self.tmp.cleanup()


def read_cells(path=None, table: str = "public") -> list[dict]:
    """Return cells as dicts with int ``d``, ``n``, float-or-None ``record``.

    Default: the shipped public table; ``table="ours"``: the toolkit's own table; a
    ``path``: a CSV with columns ``d, n[, max_abs_cos]``.
    """
    if path is None and table == "ours":
        return [{"d": e.d, "n": e.n, "record": e.coherence} for e in best_found_table()]
    if path is None:
        return [{"d": e.d, "n": e.n, "record": e.coherence} for e in best_known_table()]
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"d", "n"} <= set(rows[0]):
        got = list(rows[0]) if rows else "no rows"
        raise ValueError(f"{path}: expected a CSV with columns d, n[, max_abs_cos]; got {got}.")
    out = []
    for r in rows:
        rec = (r.get("max_abs_cos") or "").strip()
        out.append({"d": int(r["d"]), "n": int(r["n"]), "record": float(rec) if rec else None})
    return out


def draw_unseen_sample(per_dim: int = 4, dims=range(3, 9), max_n: int = 60, seed: int = 2026) -> list:
    """Return the fixed stratified sample of cells ``(d, n)`` beyond the public table.

    For each ``d`` the cells ``d + 2 <= n <= max_n`` that are neither in the public
    table nor a known optimum (simplex, equiangular tight frame, ...) are split
    into ``per_dim`` runs of consecutive ``n``, and one cell is drawn from each
    (``numpy.random.default_rng(seed)``): small, middle and large ``n`` alike.
    """
    rng = np.random.default_rng(seed)
    cells = []
    for d in dims:
        free = [n for n in range(d + 2, max_n + 1)
                if best_known(n, d) is None and known_optimum(n, d) is None]
        for band in np.array_split(np.array(free), per_dim):
            cells.append((d, int(rng.choice(band))))
    return cells


def _build_table():
    """Return the module ``build_table`` beside this script (one definition of a row's provenance)."""
    if str(Path(__file__).resolve().parent) not in sys.path:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_table

    return build_table


def _git_commit() -> str:
    """Return the checkout's commit as build_table.py records it."""
    return _build_table()._git_commit()


def read_yardstick(path=SAMPLE_FILE) -> dict:
    """Return the yardstick file as ``{(d, n): row}`` (an empty dict if it does not exist)."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as fh:
        return {(int(r["d"]), int(r["n"])): r for r in csv.DictReader(fh)}


def merge_yardstick(path, results: dict, args, min_gain: float = 0.0) -> list:
    """Merge certified results ``{(d, n): res}`` into the yardstick file where better; return those cells.

    Each value is the certified upper end of the coherence of the packing rounded to 20
    decimals (:func:`packing.certify_packing`), so the file holds only values some
    stored computation proves; the row keeps how it was found (budget, clock, seed,
    commit, date; a result may carry its own ``commit`` and ``date``, as a table row
    does). A value replaces the old one only if it is lower by more than ``min_gain``.
    """
    rows, better = read_yardstick(path), []
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for (d, n), res in sorted(results.items()):
        upper = certify_packing(res["W"]).upper
        old = rows.get((d, n))
        if old is not None and float(old["max_abs_cos"]) <= upper + min_gain:
            continue
        better.append((d, n))
        rows[(d, n)] = {"d": d, "n": n, "max_abs_cos": repr(upper),
                        "lower_bound": repr(lower_bound(n, d, lp=True)),
                        "source": res.get("source", f"optimize_packing (best of {args.seeds} seed(s))"),
                        "budget": res.get("budget", args.budget), "clock": res.get("clock", args.clock),
                        "seed": res.get("seed", args.seed), "commit": res.get("commit") or _git_commit(),
                        "date": res.get("date", date)}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=YARDSTICK_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows[k] for k in sorted(rows))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, text=True) as fh:
        fh.write(buf.getvalue())
    return better


def merge_records(path, rows) -> None:
    """Merge the best ``ours`` per cell of ``rows`` into the records CSV ``path`` (the smaller value wins)."""
    best = {}
    if os.path.exists(path):
        for c in read_cells(path):
            if c["record"] is not None:
                best[(c["d"], c["n"])] = c["record"]
    for r in rows:
        key = (r["d"], r["n"])
        best[key] = min(best.get(key, math.inf), r["ours"])
    text = "d,n,max_abs_cos\n" + "".join(f"{d},{n},{mu!r}\n" for (d, n), mu in sorted(best.items()))
    with atomic_write(path, text=True) as fh:
        fh.write(text)


def high_precision_coherence(W, digits: int = 50) -> float:
    """Coherence of ``W`` (rows normalized) recomputed in ``digits``-digit mpmath arithmetic."""
    import mpmath  # deferred: an optional dependency (the test extra), needed only for new records

    with mpmath.workdps(digits):
        rows = [[mpmath.mpf(float(x)) for x in row] for row in np.asarray(W)]
        norms = [mpmath.sqrt(mpmath.fsum(x * x for x in row)) for row in rows]
        worst = mpmath.mpf(0)
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                c = abs(mpmath.fdot(rows[i], rows[j])) / (norms[i] * norms[j])
                worst = max(worst, c)
        return worst


def _select(cells, only, limit, dims=None, max_n=None, unseen=False):
    if dims:
        lo, _, hi = dims.partition("-")
        cells = [c for c in cells if int(lo) <= c["d"] <= int(hi or lo)]
    if max_n:
        cells = [c for c in cells if c["n"] <= max_n]
    if unseen:
        cells = [c for c in cells if best_known(c["n"], c["d"]) is None]
    for spec in only or []:
        key, _, value = spec.partition("=")
        if key not in ("d", "n") or not value:
            raise SystemExit(f"--only expects d=VALUE or n=VALUE; got {spec!r}")
        cells = [c for c in cells if c[key] == int(value)]
    return cells[:limit] if limit else cells


def _run_here(n: int, d: int, args) -> dict:
    """Best of ``args.seeds`` runs of one cell in this process."""
    lower_bound(n, d, lp=True)  # cached: the bound's first solve is not part of the budget
    t = time.perf_counter()
    runs = [optimize_packing(n, d, rng=args.seed + k, budget=args.budget, clock=args.clock, **_hop(args))
            for k in range(args.seeds)]
    res = min(runs, key=lambda r: r.coherence)
    return {"coherence": res.coherence, "restarts": res.restarts, "stopping_reason": res.stopping_reason,
            "W": res.W, "seconds": time.perf_counter() - t}


#: --from-table --build-yardstick: a table entry replaces a yardstick value only below it by more than this
#: (the two are certified roundings of the same packings on many cells; do not churn provenance over 1e-16).
TABLE_MIN_GAIN = 1e-12


def from_table(cells: list) -> dict:
    """Return the shipped table's entries (:func:`packing.best_found`) as results, with provenance.

    Cells the table does not hold are left out (and so not scored).
    """
    from packing import best_found

    out = {}
    for c in cells:
        e = best_found(c["n"], c["d"])
        if e is None:
            continue
        prov = e.provenance
        out[(c["d"], c["n"])] = {
            "coherence": e.coherence, "restarts": int(prov["restarts"] or 0), "W": e.W,
            "stopping_reason": "table", "seconds": 0.0,
            "source": (f"packing/data/our_table.csv (pass {prov['pass']}, seeded by {prov['seeded_by']}; "
                       f"{e.source})"),
            "budget": prov["budget"], "clock": prov["clock"], "seed": prov["seed"], "commit": prov["commit"],
            "date": prov["date"]}
    return out


def _hop(args) -> dict:
    """Return our runs' keywords: ``hop``, ``table_seeds`` and ``workers`` from the command line."""
    out = {"table_seeds": True} if getattr(args, "table_seeds", False) else {}
    if getattr(args, "no_table_seeds", False):
        out = {"table_seeds": False}
    if getattr(args, "search_workers", None) is not None:
        out["workers"] = args.search_workers
    hop = getattr(args, "hop", None)
    if hop is None:
        return out
    return {**out, "hop": hop if hop == "portfolio" else float(hop)}


def harvest(cache) -> dict:
    """Return the best finished cell per ``(d, n)`` of a sweep cache of optimizer runs, with its settings.

    A yardstick run cut short (Ctrl-C, a kill, the end of a session) keeps what it
    finished: ``--harvest DIR`` merges those cells (read by ``build_table.best_cached_runs``).
    """
    return {key: {**run_, "source": "optimize_packing (harvested from a sweep cache)"}
            for key, run_ in _build_table().best_cached_runs(cache).items()}


def run_sweep(cells: list, args) -> dict:
    """Run every cell (and seed) on ``args.workers`` processes through :func:`packing.sweep`; best per cell.

    The cache is a fresh temporary folder unless ``args.cache`` names one (a long
    yardstick run then resumes, and :func:`harvest` reads what it finished): a
    benchmark measures this code, never cells computed by another revision under
    the same package version.
    """
    import contextlib

    from packing.sweep import load_cell, sweep

    grid = [{"n": c["n"], "d": c["d"], "budget": args.budget, "clock": args.clock, **_hop(args)}
            for c in cells]
    out = {}
    folder = (contextlib.nullcontext(args.cache) if args.cache
              else tempfile.TemporaryDirectory(prefix="bench_packings_"))
    with folder as cache:
        table = sweep("optimize_packing", grid, seeds=[args.seed + k for k in range(args.seeds)],
                      cache_dir=cache, n_jobs=args.workers, progress=False)
        for row in table.to_dict("records"):
            key = (int(row["d"]), int(row["n"]))
            if key in out and out[key]["coherence"] <= row["coherence"]:
                continue
            res = load_cell(row["path"]).result
            out[key] = {"coherence": res.coherence, "restarts": res.restarts, "W": res.W,
                        "stopping_reason": res.stopping_reason, "seconds": row["cell_seconds"]}
    return out


def _bench_cell(cell: dict, args, baseline: Baseline | None, new_records: list, ours: dict) -> dict:
    """Score one cell (our result ``ours``, then the baseline's run); certified claims to ``new_records``."""
    d, n, rec = cell["d"], cell["n"], cell["record"]
    lb = lower_bound(n, d, lp=True)
    res = SimpleNamespace(**ours)
    sec = res.seconds
    base = None
    if baseline is not None:
        base = min((baseline.run(n, d, args.seed + k, args.budget, args.clock) for k in range(args.seeds)),
                   key=lambda r: r["coherence"])
    yardstick = rec
    if rec is None and args.best_of_both:
        yardstick = min(res.coherence, base["coherence"]) if base is not None else res.coherence
    row = {"d": d, "n": n, "record": rec, "ours": res.coherence, "yardstick": yardstick, "lower_bound": lb,
           "gap": res.coherence - yardstick if yardstick is not None else math.nan,
           "seconds": sec, "restarts": res.restarts, "stopping_reason": res.stopping_reason}
    if base is not None:
        row.update(base=base["coherence"], base_restarts=base["restarts"],
                   base_gap=base["coherence"] - yardstick if yardstick is not None else math.nan)
    if rec is not None and row["gap"] < 0 and not args.sample:  # the sample's yardstick is ours, not a record
        cert = certify_packing(res.W)
        row["verified"] = cert.decimal
        public = best_known(n, d)
        if cert.improves_on(public if public is not None and public.coherence == rec else rec):
            new_records.append(row)
    rec_s = f"{yardstick:14.10f}" if yardstick is not None else f"{'-':>14}"
    line = f"{d:3d} {n:4d} {rec_s} {res.coherence:14.10f} {lb:14.10f} {row['gap']:12.2e} {sec:6.1f}"
    if base is not None:
        line += f" {row['base_gap']:14.2e}"
    print(line, flush=True)
    return row


def _fractions(rows: list[dict], key: str) -> dict:
    """Fractions of scored cells within 1e-4 and 1e-6 of their yardstick, and the worst relative excess."""
    scored = [r for r in rows if r["yardstick"] is not None and not math.isnan(r[key])]
    return {
        "scored": len(scored),
        "within_1e-4": float(np.mean([r[key] <= 1e-4 for r in scored])) if scored else math.nan,
        "within_1e-6": float(np.mean([r[key] <= 1e-6 for r in scored])) if scored else math.nan,
        "worst_relative": max((r[key] / r["yardstick"] for r in scored if r["yardstick"] > 0), default=0.0),
    }


def _print_summary(who: str, s: dict, budget: float) -> None:
    label = f"summary: {s['cells']} cells" if who == "ours" else f"summary ({who})"
    line = (f"{label}, {s['scored']} scored, within 1e-4: {s['within_1e-4']:.1%}, "
            f"within 1e-6: {s['within_1e-6']:.1%}, worst relative excess {s['worst_relative']:.2e}")
    if "median_seconds" in s:
        line += f", median {s['median_seconds']:.1f} s/cell (budget {budget:g} s)"
    print(line, flush=True)


def rescore(path, records: dict, budget: float) -> dict:
    """Score the rows of an earlier ``--out`` file against ``records`` ``{(d, n): value}``; print the summary.

    The run and its scoring can then be separate: a benchmark started before its
    yardstick was finished is scored once it is.
    """
    with open(path, newline="") as fh:
        rows = []
        for r in csv.DictReader(fh):
            d, n, ours = int(r["d"]), int(r["n"]), float(r["ours"])
            rec = records.get((d, n))
            rows.append({"d": d, "n": n, "ours": ours, "yardstick": rec, "seconds": float(r["seconds"]),
                         "lower_bound": float(r["lower_bound"]),
                         "gap": ours - rec if rec is not None else math.nan})
    for r in rows:
        rec = f"{r['yardstick']:14.10f}" if r["yardstick"] is not None else f"{'-':>14}"
        print(f"{r['d']:3d} {r['n']:4d} {rec} {r['ours']:14.10f} {r['lower_bound']:14.10f} {r['gap']:12.2e}")
    summary = {"cells": len(rows), **_fractions(rows, "gap"),
               "median_seconds": statistics.median(r["seconds"] for r in rows) if rows else math.nan}
    _print_summary("ours", summary, budget)
    return {"rows": rows, **summary}


def _write_rows(path, rows: list[dict]) -> None:
    with atomic_write(path, text=True) as fh:
        fields = list(dict.fromkeys([k for r in rows for k in r if k != "verified"] + ["verified"]))
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cells", default=None, help="CSV with columns d, n, max_abs_cos (default: the shipped table)"
    )
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds per cell (default 15)")
    parser.add_argument("--only", action="append", help="filter, e.g. --only d=3 (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="first N selected cells only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the per-cell table to this CSV")
    parser.add_argument("--quick", action="store_true", help="three small cells, 0.5 s each (smoke test)")
    parser.add_argument("--table", choices=("public", "ours"), default="public",
                        help="records: the public table (default) or the toolkit's own (best_found_table)")
    parser.add_argument("--unseen", action="store_true", help="only cells that are not in the public table")
    parser.add_argument("--dims", default=None, help="only these dimensions, e.g. 3-8")
    parser.add_argument("--max-n", type=int, default=None, help="only cells with n <= MAX_N")
    parser.add_argument("--clock", choices=("wall", "process"), default="wall",
                        help="what the budget counts: wall-clock or CPU seconds of this process")
    parser.add_argument("--seeds", type=int, default=1, help="best of this many seeds per cell (default 1)")
    parser.add_argument("--records-out", default=None, help="merge the best value per cell into this CSV")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also run the optimizer of this git revision (e.g. main), interleaved")
    parser.add_argument("--best-of-both", action="store_true",
                        help="score cells without a record against the better of ours and the baseline")
    parser.add_argument("--sample", action="store_true",
                        help="the fixed stratified sample beyond the public table, against our yardstick")
    parser.add_argument("--build-yardstick", action="store_true",
                        help="with --sample: merge this run's better certified values into the yardstick")
    parser.add_argument("--yardstick", default=str(SAMPLE_FILE), help="the yardstick file of --sample")
    parser.add_argument("--per-dim", type=int, default=4, help="--sample: cells per dimension (default 4)")
    parser.add_argument("--missing", action="store_true",
                        help="--sample: only the cells that have no yardstick yet (to build it)")
    parser.add_argument("--harvest", default=None, metavar="CACHE",
                        help="with --build-yardstick: merge the finished cells of a cut-short run's --cache")
    parser.add_argument("--cache", default=None,
                        help="run through packing.sweep, cells kept in this folder (resumable; --harvest)")
    parser.add_argument("--rescore", default=None, metavar="OUT",
                        help="score the rows of an earlier --out file against the current yardstick/records")
    parser.add_argument("--hop", default=None,
                        help="hop= of our runs: a probability, or 'portfolio'")
    parser.add_argument("--table-seeds", action="store_true",
                        help="run ours with optimize_packing(table_seeds=True) (the default since 0.3.1): "
                             "also start from the shipped table's neighbouring cells")
    parser.add_argument("--no-table-seeds", action="store_true",
                        help="run ours with optimize_packing(table_seeds=False): without the table's starts")
    parser.add_argument("--from-table", action="store_true",
                        help="score the shipped table's entries (packing.best_found) instead of running "
                             "the optimizer; with --build-yardstick merge the better ones")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes for our runs (through packing.sweep; default 1: in this process)")
    parser.add_argument("--search-workers", type=int, default=None,
                        help="optimize_packing(workers=...) of each run here (default: the library's "
                             "default, every available core for budgets >= 3 s; 1: one process per search)")
    args = parser.parse_args(argv)
    if args.budget <= 0:
        raise SystemExit(f"--budget must be > 0 seconds; got {args.budget}")
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be >= 1; got {args.seeds}")
    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1; got {args.workers}")
    if args.build_yardstick and not args.sample:
        raise SystemExit("--build-yardstick needs --sample")
    if args.sample:
        yard = read_yardstick(args.yardstick)
        cells = [{"d": d, "n": n, "record": float(yard[d, n]["max_abs_cos"]) if (d, n) in yard else None}
                 for d, n in draw_unseen_sample(per_dim=args.per_dim)]
        missing = [(c["d"], c["n"]) for c in cells if c["record"] is None]
        if args.missing:
            cells = [c for c in cells if c["record"] is None]
        if missing and not args.build_yardstick:
            print(f"{args.yardstick} has no yardstick for {missing}: those cells are not scored "
                  "(--rescore OUT later, or --build-yardstick)", flush=True)
    else:
        cells = read_cells(args.cells, args.table)
    if args.quick:
        cells = [c for c in cells if (c["d"], c["n"]) in {(3, 5), (3, 8), (4, 9)}] or cells[:3]
        args.budget = 0.5
    cells = _select(cells, args.only, args.limit, args.dims, args.max_n, args.unseen)

    if args.rescore:
        return rescore(args.rescore, {(c["d"], c["n"]): c["record"] for c in cells}, args.budget)
    if args.harvest:
        if not args.build_yardstick:
            raise SystemExit("--harvest merges into the yardstick: give --sample --build-yardstick")
        found = {k: v for k, v in harvest(args.harvest).items() if k in {(c["d"], c["n"]) for c in cells}}
        better = merge_yardstick(args.yardstick, found, args)
        print(f"harvested {len(found)} cells from {args.harvest}; {len(better)} improved the yardstick")
        return {"harvested": sorted(found), "yardstick_improved": better}
    if args.from_table:
        if args.baseline:
            raise SystemExit("--from-table runs no optimizer: it takes no --baseline")
        ours = from_table(cells)
        left_out = [(c["d"], c["n"]) for c in cells if (c["d"], c["n"]) not in ours]
        if left_out:
            print(f"the shipped table has no entry for {left_out}: not scored", flush=True)
        cells = [c for c in cells if (c["d"], c["n"]) in ours]
    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)
    if not args.from_table:
        ours = run_sweep(cells, args) if args.workers > 1 or args.cache else {}
    baseline = Baseline(args.baseline) if args.baseline else None
    what = "yardstick" if args.sample else "record"
    head = f"{'d':>3} {'n':>4} {what:>14} {'ours':>14} {'lower bound':>14} {'ours-' + what:>12} {'sec':>6}"
    print(head + (f" {args.baseline + '-' + what:>14}" if baseline else ""))
    rows, new_records = [], []
    try:
        for cell in cells:
            key = (cell["d"], cell["n"])
            if key not in ours:
                ours[key] = _run_here(cell["n"], cell["d"], args)
            rows.append(_bench_cell(cell, args, baseline, new_records, ours[key]))
            if args.out:
                _write_rows(args.out, rows)
    finally:
        if baseline is not None:
            baseline.close()

    load_after = os.getloadavg()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)}", flush=True)
    summary = {"cells": len(rows), **_fractions(rows, "gap"), "new_records": new_records,
               "budget": args.budget, "load_average": (load_before, load_after),
               "median_seconds": statistics.median(r["seconds"] for r in rows) if rows else math.nan}
    _print_summary("ours", summary, args.budget)
    if baseline is not None:
        summary["baseline"] = {"rev": args.baseline, **_fractions(rows, "base_gap")}
        _print_summary(f"baseline {args.baseline}", summary["baseline"], args.budget)
    for r in new_records:
        print(f"BELOW RECORD (certified, exact arithmetic): d={r['d']} n={r['n']} record={r['record']:.10f} "
              f"ours={r['verified']}")
    if args.records_out:
        merge_records(args.records_out, rows)
    if args.build_yardstick:
        if args.from_table:  # the table only corrects existing yardsticks; new ones come from long runs
            scored = {(c["d"], c["n"]) for c in cells if c["record"] is not None}
            improved = merge_yardstick(args.yardstick, {k: v for k, v in ours.items() if k in scored}, args,
                                       TABLE_MIN_GAIN)
        else:
            improved = merge_yardstick(args.yardstick, ours, args)
        summary["yardstick_improved"] = improved
        print(f"yardstick {args.yardstick}: {len(summary['yardstick_improved'])} cells set or improved",
              flush=True)
    return {"rows": rows, **summary}


if __name__ == "__main__":
    main()
