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
budget in CPU seconds of the process (comparable on a machine shared with other
work). ``--seeds K`` keeps the best of K seeds per cell (K budgets each), and
``--records-out FILE`` merges the best value per cell into a records CSV.

``--baseline REV`` runs the optimizer of another revision of this repository (e.g.
``main``) on every cell too, interleaved with ours in the same invocation (same seeds,
budget and clock), from ``git archive REV packing`` in a temporary folder and one
worker subprocess; the summary then gives both fractions. A revision whose
``optimize_packing`` has no ``clock=`` (before the process clock) gets it by
running its search with ``time.perf_counter`` read as ``time.process_time``.
``--best-of-both`` scores cells without a record against the better of the two
results (a yardstick for cells beyond every table, not a record).

The CSV may hold any cells (other ``d`` and ``n``); ``max_abs_cos`` may be empty
for cells without a known record. Usage::

    python scripts/bench_packings.py [--cells FILE | --table ours] [--unseen] [--budget 15]
                                     [--clock wall|process] [--only d=3] [--dims 3-8] [--max-n 60]
                                     [--limit 10] [--seed 0] [--seeds 1] [--out results.csv]
                                     [--records-out records.csv] [--baseline main] [--best-of-both]
                                     [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from packing import (
    best_found_table,
    best_known,
    best_known_table,
    certify_packing,
    lower_bound,
    optimize_packing,
)
from packing.io import atomic_write

DEFAULT_BUDGET = 15.0
ROOT = Path(__file__).resolve().parents[1]

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


def _bench_cell(cell: dict, args, baseline: Baseline | None, new_records: list) -> dict:
    """Run one cell (ours, then the baseline's) and return its row; certified claims go to ``new_records``."""
    d, n, rec = cell["d"], cell["n"], cell["record"]
    lb = lower_bound(n, d, lp=True)  # cached: the bound's first solve is not part of the budget
    t = time.perf_counter()
    runs = [optimize_packing(n, d, rng=args.seed + k, budget=args.budget, clock=args.clock)
            for k in range(args.seeds)]
    res = min(runs, key=lambda r: r.coherence)
    sec = time.perf_counter() - t
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
    if rec is not None and row["gap"] < 0:
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
    args = parser.parse_args(argv)
    if args.budget <= 0:
        raise SystemExit(f"--budget must be > 0 seconds; got {args.budget}")
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be >= 1; got {args.seeds}")
    cells = read_cells(args.cells, args.table)
    if args.quick:
        cells = [c for c in cells if (c["d"], c["n"]) in {(3, 5), (3, 8), (4, 9)}] or cells[:3]
        args.budget = 0.5
    cells = _select(cells, args.only, args.limit, args.dims, args.max_n, args.unseen)

    baseline = Baseline(args.baseline) if args.baseline else None
    head = f"{'d':>3} {'n':>4} {'record':>14} {'ours':>14} {'lower bound':>14} {'ours-record':>12} {'sec':>6}"
    print(head + (f" {args.baseline + '-record':>14}" if baseline else ""))
    rows, new_records = [], []
    try:
        for cell in cells:
            rows.append(_bench_cell(cell, args, baseline, new_records))
            if args.out:
                _write_rows(args.out, rows)
    finally:
        if baseline is not None:
            baseline.close()

    summary = {"cells": len(rows), **_fractions(rows, "gap"), "new_records": new_records,
               "budget": args.budget,
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
    return {"rows": rows, **summary}


if __name__ == "__main__":
    main()
