r"""Build the toolkit's own table of best found line packings: every cell (n, d), certified.

``run`` optimizes every cell ``d`` in ``--dims``, ``n`` up to ``--max-n`` under a fixed
budget, one cell at a time, seeding each search with the best packings found so far
for the neighbouring cells ``(n ± 1, d)`` and ``(n, d ± 1)``. Every finished cell is
written at once, atomically, to the work directory:

* ``WORK/best/d{d}_n{n}.txt``: the best packing of the cell over every pass, in the
  export form of :func:`packing.export_packing` (certified coordinates, provenance
  in the header); replaced only by a strictly better certified packing;
* ``WORK/runs/{pass}/d{d}_n{n}.json``: what this pass did on the cell (budget, seed,
  restarts, seconds, result, which neighbours seeded it).

A cell whose run file exists is skipped, so an interrupted run resumes where it
stopped, and a second pass (another ``--pass`` name, seed or budget) improves the
same table. ``collect`` certifies every best packing again and writes the package
data: ``packing/data/our_table.csv`` (one row per cell: certified coherence, ``D``,
certified lower bound, gap, active pairs, provenance) and
``packing/data/our_packings.npz`` (the packings, float64, one array per cell), which
:func:`packing.best_found` reads.

Each cell is one independent call of :func:`run_cell` (its inputs are the cell,
the budget, the seed and the neighbours' packings). With ``--workers K`` (``K > 1``)
the cells of one ``n`` (every dimension) run together on ``K`` processes through
:func:`packing.sweep`, seeded by what the work directory held when that ``n``
started (so ``(n, d ± 1)`` seeds only from earlier passes); the sweep's cache
(``WORK/sweep``) keeps every finished cell, so an interrupted layer resumes too.
``import`` starts a work directory from the table shipped with the package (its
packings and provenance), so a new run extends the shipped table instead of
recomputing it. Usage::

    python scripts/build_table.py import --work results/table_run
    python scripts/build_table.py run --work results/table_run --budget 20 --clock process --workers 2
    python scripts/build_table.py run --work results/table_run --pass long --seed 1 --budget 120 \\
        --dims 6-8 --max-n 60
    python scripts/build_table.py add --work results/table_run --packing results/lines_35_in_R5.csv \
        --source "optimize_packing(35, 5, rng=0, budget=20)"
    python scripts/build_table.py collect --work results/table_run

``harvest --cache DIR`` offers the best packing per cell of a sweep cache of optimizer
runs (e.g. the yardstick runs of ``bench_packings.py --sample --build-yardstick --cache DIR``),
with their budget, clock, seed and restarts as provenance.
``add`` offers a packing found elsewhere (a CSV or ``.npy`` of shape ``(n, d)``) to the
table: it becomes the cell's best if its certified coherence is better.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from packing import (
    best_found_table,
    best_known,
    certify_packing,
    export_packing,
    known_optimum,
    lower_bound,
    optimize_packing,
    read_exported_packing,
)
from packing.io import atomic_write

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "packing" / "data"


# ----------------------------------------------------------------------------- one cell


def run_cell(n: int, d: int, *, budget: float, seed: int, clock: str = "process", seeds=()) -> dict:
    """Optimize one cell and certify the result; return a summary dict with the packing under ``"W"``.

    Cells with a known optimum (orthonormal, polygon, simplex, equiangular tight frame)
    take it from the registry (``source`` says which); the others run
    :func:`packing.optimize_packing` with the given budget and neighbour seeds.
    """
    t0 = time.perf_counter()
    entry = known_optimum(n, d)
    if entry is not None and n > 1:
        W, source, restarts, reason = np.array(entry.build()), f"known optimum ({entry.name})", 0, "exact"
    else:
        res = optimize_packing(
            n, d, rng=seed, budget=budget, clock=clock, seeds=list(seeds) or None, table_seeds=False,
            workers=1,
        )  # the work directory's neighbours, not the shipped table's; one process per cell (the
        # table's provenance counts one search's budget; --workers runs cells side by side)
        W, source, restarts, reason = res.W, "optimize_packing", res.restarts, res.stopping_reason
    out = {"n": n, "d": d, "source": source, "restarts": restarts, "stopping_reason": reason}
    if n >= 2:
        cert = certify_packing(W)
        out.update(coherence=cert.decimal, upper=cert.upper, active_pairs=cert.num_active)
    else:
        out.update(coherence="0." + "0" * 20, upper=0.0, active_pairs=0)
    out.update(seconds=round(time.perf_counter() - t0, 2), W=W)
    return out


# ----------------------------------------------------------------------------- work directory


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _replace(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(payload)


def _cell_name(n: int, d: int) -> str:
    return f"d{d}_n{n}"


def best_packing(work: Path, n: int, d: int):
    """Return the best packing stored for a cell and its header, or ``(None, None)``."""
    path = work / "best" / f"{_cell_name(n, d)}.txt"
    if not path.exists():
        return None, None
    return read_exported_packing(path)


def _parse_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _neighbour_seeds(work: Path, n: int, d: int) -> tuple[list, list]:
    """Return the stored best packings of ``(n ± 1, d)`` and ``(n, d ± 1)`` and their cell names."""
    seeds, used = [], []
    for m, e in [(n - 1, d), (n + 1, d), (n, d - 1), (n, d + 1)]:
        W, _ = best_packing(work, m, e) if m >= 2 and e >= 1 else (None, None)
        if W is not None:
            seeds.append(W)
            used.append(_cell_name(m, e))
    return seeds, used


def _store(work: Path, runs: Path, out: dict, used: list, args, commit: str) -> bool:
    """Offer a finished cell's packing to the table and write its run file; return whether it improved."""
    n, d = out["n"], out["d"]
    W = out.pop("W")
    summary = {**out, "budget": args.budget, "clock": args.clock, "seed": args.seed,
               "pass": args.pass_name, "seeded_by": used, "commit": commit,
               "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    (work / "best").mkdir(parents=True, exist_ok=True)
    meta = {k: summary[k] for k in PROVENANCE if k != "seeded_by"}
    better = n >= 2 and offer(work, W, {**meta, "seeded_by": ",".join(used) or "-"})
    summary["improved_best"] = better
    _replace(runs / f"{_cell_name(n, d)}.json", json.dumps(summary, indent=1, sort_keys=True).encode())
    print(f"d={d} n={n}: {out['coherence'][:14]} ({out['restarts']} restarts, {out['seconds']} s"
          f"{', new best' if better else ''})", flush=True)
    return better


def _table_cell(n: int, d: int, budget: float, clock: str, seeds: list, seed: int = 0) -> dict:
    """Run :func:`run_cell` as the sweep task of a parallel run (the neighbours' packings as arrays)."""
    return _uninterrupted(run_cell(n, d, budget=budget, seed=seed, clock=clock, seeds=seeds))


def _uninterrupted(out: dict) -> dict:
    """``out``, unless Ctrl-C cut its optimizer run short: then KeyboardInterrupt, so that it is not kept.

    :func:`packing.optimize_packing` turns Ctrl-C into a result with ``stopping_reason="interrupted"``;
    such a cell did not spend its budget and must run again when the build resumes.
    """
    if out["stopping_reason"] == "interrupted":
        raise KeyboardInterrupt
    return out


def _run_layer(work: Path, todo: list, args) -> list:
    """Run the cells ``todo`` (one ``n``) on ``args.workers`` processes; return ``(out, used)`` per cell."""
    from packing.sweep import load_cell, register_task, sweep

    register_task("build_table_cell", _table_cell, seed_arg="seed", replace=True,
                  summarize=lambda out: {"coherence": out["coherence"]})
    grid, used = [], []
    for n, d in todo:
        seeds, names = _neighbour_seeds(work, n, d)
        grid.append({"n": n, "d": d, "budget": args.budget, "clock": args.clock, "seeds": seeds})
        used.append(names)
    table = sweep("build_table_cell", grid, seeds=[args.seed], cache_dir=work / "sweep",
                  n_jobs=args.workers, progress=False)
    outs = []
    for row, names in zip(table.to_dict("records"), used, strict=True):
        out = dict(load_cell(row["path"]).result)
        for key in ("n", "d", "restarts", "active_pairs"):
            out[key] = int(out[key])
        for key in ("upper", "seconds"):
            out[key] = float(out[key])
        out["W"] = np.asarray(out["W"], dtype=np.float64)
        outs.append((out, names))
    return outs


def run(args) -> dict:
    work = Path(args.work)
    runs = work / "runs" / args.pass_name
    commit, done, improved = _git_commit(), 0, []
    dims, ns = _parse_range(args.dims), range(args.min_n, args.max_n + 1)
    if args.order == "n":  # every dimension advances together: a partial run covers all of them
        cells = [(n, d) for n in ns for d in dims]
    else:
        cells = [(n, d) for d in dims for n in ns]
    cells = [(n, d) for n, d in cells if not (runs / f"{_cell_name(n, d)}.json").exists()]
    if args.max_cells:
        cells = cells[:args.max_cells]
    if args.workers > 1:  # one sweep per n (every dimension of it at once)
        batches = [[c for c in cells if c[0] == n] for n in dict.fromkeys(n for n, _ in cells)]
    else:
        batches = [[c] for c in cells]
    try:
        for batch in batches:
            if args.workers > 1:
                finished = _run_layer(work, batch, args)
            else:
                (n, d), = batch
                seeds, used = _neighbour_seeds(work, n, d)
                out = run_cell(n, d, budget=args.budget, seed=args.seed, clock=args.clock, seeds=seeds)
                finished = [(_uninterrupted(out), used)]
            for out, used in finished:
                cell = (out["n"], out["d"])
                if _store(work, runs, out, used, args, commit):
                    improved.append(cell)
                done += 1
    except KeyboardInterrupt:
        layer = f" and the finished cells of the current n in {work / 'sweep'}" if args.workers > 1 else ""
        kept = len(list(runs.glob("*.json"))) if runs.is_dir() else 0  # a cell stored as Ctrl-C came counts
        print(f"interrupted: kept the {kept} finished cells of pass {args.pass_name!r} (run files in {runs})"
              f"{layer}; run the same command again to resume", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    return {"cells_run": done, "improved": improved}


def offer(work: Path, W: np.ndarray, meta: dict) -> bool:
    """Store ``W`` as its cell's best packing if its certified coherence beats the stored one."""
    n, d = W.shape
    cert = certify_packing(W)
    _, info = best_packing(work, n, d)
    if info is not None and cert.upper >= float(info.get("coherence_upper", "inf")):
        return False
    meta = {**meta, "coherence_upper": repr(cert.upper)}
    export_packing(W, work / "best" / f"{_cell_name(n, d)}.txt", metadata=meta)
    return True


def add(args) -> dict:
    path = Path(args.packing)
    W = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",")
    (Path(args.work) / "best").mkdir(parents=True, exist_ok=True)
    meta = {"source": args.source, "budget": "", "clock": "", "seed": "", "pass": "added", "restarts": "",
            "commit": _git_commit(), "seeded_by": "-",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    stored = offer(Path(args.work), W, meta)
    print(f"{path}: {W.shape[0]} lines in R^{W.shape[1]}, {'stored as the best' if stored else 'not better'}")
    return {"stored": stored}


def best_cached_runs(cache) -> dict:
    """Return the best finished ``optimize_packing`` cell per ``(d, n)`` of a sweep cache, with its settings.

    Each value holds ``W``, ``coherence``, ``restarts``, ``budget``, ``clock``, ``seed`` and
    ``date`` (the cell file's modification time): what a long run through
    :func:`packing.sweep` (``bench_packings.py --cache``) found, also when it was cut short.
    """
    from packing.sweep import load_cell

    out = {}
    for path in sorted(Path(cache).rglob("*.npz")):
        cell = load_cell(path)
        if cell.task != "optimize_packing":
            continue
        res, cfg = cell.result, cell.config
        key = (int(cfg["d"]), int(cfg["n"]))
        if key in out and out[key]["coherence"] <= res.coherence:
            continue
        date = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
        out[key] = {"W": np.asarray(res.W, dtype=np.float64), "coherence": res.coherence,
                    "restarts": res.restarts, "budget": cfg["budget"], "clock": cfg["clock"],
                    "seed": cell.seed, "date": date.isoformat(timespec="seconds")}
    return out


def harvest(args) -> dict:
    """Offer the best packing per cell of a sweep cache of optimizer runs to the table, with provenance."""
    work = Path(args.work)
    (work / "best").mkdir(parents=True, exist_ok=True)
    stored = []
    for (d, n), run_ in sorted(best_cached_runs(args.cache).items()):
        meta = {"source": args.source, "budget": run_["budget"], "clock": run_["clock"], "seed": run_["seed"],
                "pass": args.pass_name, "restarts": run_["restarts"], "seeded_by": "-", "commit": args.commit,
                "date": run_["date"]}
        if n >= 2 and offer(work, run_["W"], meta):
            stored.append((d, n))
    print(f"harvested {args.cache}: {len(stored)} cells stored as the best: {stored}")
    return {"stored": stored}


def import_package(args) -> dict:
    """Offer every packing of the shipped table (:func:`packing.best_found_table`) to the work directory.

    Each keeps its provenance (source, budget, clock, seed, pass, restarts, neighbour
    seeds, commit, date), so collecting the work directory again reproduces the
    shipped rows; a cell whose stored packing is better keeps it.
    """
    work = Path(args.work)
    (work / "best").mkdir(parents=True, exist_ok=True)
    stored = 0
    for e in best_found_table():
        meta = {"source": e.source, **{k: e.provenance.get(k, "") for k in PROVENANCE if k != "source"}}
        stored += offer(work, e.W, meta)
    print(f"imported {stored} of {len(best_found_table())} shipped cells into {work / 'best'}")
    return {"imported": stored}


# ----------------------------------------------------------------------------- package data


PROVENANCE = ("source", "budget", "clock", "seed", "pass", "restarts", "seeded_by", "commit", "date")
FIELDS = ["d", "n", "coherence", "squared_chordal_distance", "lower_bound", "gap", "active_pairs",
          "public_record", "beats_public_record", "source", "budget", "clock", "seed", "pass", "restarts",
          "seeded_by", "commit", "date"]


def collect(args) -> dict:
    """Certify every best packing again and write ``our_table.csv`` and ``our_packings.npz``."""
    work, data = Path(args.work), Path(args.data)
    rows, arrays = [], {}
    for path in sorted((work / "best").glob("d*_n*.txt")):
        W, info = read_exported_packing(path)
        n, d = info["n"], info["d"]
        cert = certify_packing(W)
        lb = lower_bound(n, d, lp=True)
        public = best_known(n, d)
        rows.append({
            "d": d, "n": n, "coherence": cert.decimal, "squared_chordal_distance": cert.table_value,
            "lower_bound": repr(float(lb)), "gap": f"{max(0.0, cert.upper - lb):.3e}",
            "active_pairs": cert.num_active,
            "public_record": "" if public is None else f"{public.coherence:.10f}",
            "beats_public_record": "" if public is None else int(cert.improves_on(public)),
            **{k: info.get(k, "") for k in PROVENANCE},
        })
        arrays[_cell_name(n, d)] = W
    rows.sort(key=lambda r: (r["d"], r["n"]))
    data.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _replace(data / "our_table.csv", buf.getvalue().encode())
    npz = io.BytesIO()
    np.savez_compressed(npz, **arrays)
    _replace(data / "our_packings.npz", npz.getvalue())
    beats = [(r["n"], r["d"]) for r in rows if r["beats_public_record"] == 1]
    print(f"collected {len(rows)} cells into {data}; certified improvements on the public table: {beats}")
    return {"cells": len(rows), "beats_public": beats}



def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="optimize the cells (resumable)")
    p_run.add_argument("--work", default=str(ROOT / "results" / "table_run"))
    p_run.add_argument("--dims", default="3-8", help="dimensions, e.g. 3-8 or 5")
    p_run.add_argument("--min-n", type=int, default=2)
    p_run.add_argument("--max-n", type=int, default=100)
    p_run.add_argument("--budget", type=float, default=20.0, help="seconds per cell (default 20)")
    p_run.add_argument("--clock", choices=("wall", "process"), default="process",
                       help="what the budget counts (default: CPU seconds of this process)")
    p_run.add_argument("--seed", type=int, default=0)
    p_run.add_argument("--pass", dest="pass_name", default="base",
                       help="name of this pass (its own run files)")
    p_run.add_argument("--max-cells", type=int, default=0, help="stop after this many new cells (0: all)")
    p_run.add_argument("--order", choices=("n", "d"), default="n",
                       help="n: all dimensions of one n, then the next (default); d: one dimension at a time")
    p_run.add_argument("--workers", type=int, default=1,
                       help="processes (through packing.sweep, one n at a time); default 1: in this process")
    p_imp = sub.add_parser("import", help="start the work directory from the table shipped with the package")
    p_imp.add_argument("--work", default=str(ROOT / "results" / "table_run"))
    p_add = sub.add_parser("add", help="offer a packing found elsewhere to the table")
    p_add.add_argument("--work", default=str(ROOT / "results" / "table_run"))
    p_add.add_argument("--packing", required=True, help="CSV (comma-separated) or .npy, shape (n, d)")
    p_add.add_argument("--source", required=True, help="where the packing comes from (kept as provenance)")
    p_har = sub.add_parser("harvest", help="offer the best packings of a sweep cache of optimizer runs")
    p_har.add_argument("--work", default=str(ROOT / "results" / "table_run"))
    p_har.add_argument("--cache", required=True, help="the sweep cache (e.g. bench_packings.py --cache DIR)")
    p_har.add_argument("--source", default="optimize_packing", help="provenance: where the runs come from")
    p_har.add_argument("--pass", dest="pass_name", default="harvest", help="provenance: the pass name")
    p_har.add_argument("--commit", default="unknown", help="provenance: the commit the runs used")
    p_col = sub.add_parser("collect", help="write packing/data/our_table.csv and our_packings.npz")
    p_col.add_argument("--work", default=str(ROOT / "results" / "table_run"))
    p_col.add_argument("--data", default=str(DATA))
    args = parser.parse_args(argv)
    if args.command == "run":
        if args.budget <= 0:
            raise SystemExit(f"--budget must be > 0 seconds; got {args.budget}")
        if args.workers < 1:
            raise SystemExit(f"--workers must be >= 1; got {args.workers}")
        return run(args)
    if args.command == "import":
        return import_package(args)
    if args.command == "add":
        return add(args)
    if args.command == "harvest":
        return harvest(args)
    return collect(args)


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
