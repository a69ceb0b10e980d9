"""Subcommands on packings and records: stats, bounds, best-known, certify, pack, partition."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._errors import CLIError, _one_line
from ._support import _emit, _number_key, _out_path, _packing, _progress, _write_result

# ============================================================================ subcommands


def _cmd_stats(args) -> dict:
    from ..bounds import lower_bound
    from ..geometry import capacity, pairwise_statistics

    W = _packing(args)
    n, d = W.shape
    s = pairwise_statistics(W, p=args.p, atol=args.atol)
    lb, name = lower_bound(n, d, return_name=True) if n > 1 else (0.0, "none")
    C = capacity(W)
    out = {
        "n": n,
        "d": d,
        "pairs": s.n_pairs,
        "moments": {_number_key(p): v for p, v in s.moments.items()},
        "coherence": s.coherence,
        "coherent_pair": list(s.coherent_pair) if s.coherent_pair else None,
        "orthogonal_pairs": s.orthogonal_pairs,
        "atol": s.atol,
        "lower_bound": lb,
        "lower_bound_name": name,
        "capacity_sum": float(C.sum()),
    }
    _emit(out, args)
    return out


def _info_text(out: dict) -> str:
    """``packing info`` for reading: one line per fact, the notes last."""
    blas = out["blas"]
    optional = ", ".join(f"{k} {v or '-'}" for k, v in out["optional"].items())
    lines = [
        f"packing {out['packing']} on Python {out['python']} ({out['platform']})",
        f"numpy {out['numpy']}, scipy {out['scipy']}",
        f"optional packages: {optional}",
        f"cores: {out['cores_available']} available to this process ({out['cpu_count']} logical CPUs); "
        f"the trainers use {out['cores_available']} by default",
        f"CPU SIMD: {out['simd'] or 'unknown'}",
        "numpy BLAS: not found"
        if blas is None
        else f"numpy BLAS: {blas['library']} {blas['version']}, {blas['kernels']} kernels, "
        f"{blas['threading_layer']} threading, {blas['threads']} threads",
        f"OPENBLAS_CORETYPE: {out['openblas_coretype'] or 'not set'}",
    ]
    lines += [f"note: {note}" for note in out["notes"]]
    return "\n".join(lines)


def _cmd_info(args) -> dict:
    from .._environment import environment_info

    out = environment_info()
    _emit(out, args, None if args.json else _info_text(out))
    return out


def _cmd_bounds(args) -> dict:
    from ..bounds import bound_table, lower_bound

    best, name = lower_bound(args.n, args.d, lp=args.lp, return_name=True)
    out = {"n": args.n, "d": args.d, "bounds": bound_table(args.n, args.d), "best": best, "best_name": name}
    if args.lp:
        from ..bounds import lp_bound

        out["bounds"]["lp"] = lp_bound(args.n, args.d)
    _emit(out, args)
    return out


def _cmd_best_known(args) -> dict:
    from ..reference import best_found, best_known

    entry = best_known(args.n, args.d)
    found = best_found(args.n, args.d)
    if entry is None:
        out = {"n": args.n, "d": args.d, "tabulated": False}
        text = f"no tabulated value for {args.n} lines in R^{args.d} (the table covers d = 3..5, n <= 40)"
    else:
        out = {
            "n": entry.n,
            "d": entry.d,
            "tabulated": True,
            "coherence": entry.coherence,
            "angle_deg": entry.angle_deg,
            "proven_optimal": entry.proven_optimal,
            "source": entry.source,
        }
        text = None
    if found is not None:  # the toolkit's own certified table (packing.best_found)
        out.update(
            found_coherence=found.certified,
            found_squared_chordal_distance=found.squared_chordal_distance,
            found_lower_bound=found.lower_bound,
            found_gap=found.gap,
            found_beats_record=found.beats_public_record,
        )
        text = None
    if args.export is not None:
        out["exported"] = str(_export(args, found))
    _emit(out, args, None if args.json or text is None else text)
    return out


def _export(args, found) -> Path:
    """Write the toolkit's best packing of the cell with :func:`packing.export_packing`.

    The packing is the cell's entry of the toolkit's own certified table
    (:func:`packing.best_found`), else a known optimal construction
    (:func:`packing.known_optimum`); the public tables list values, not
    coordinates, so a cell with neither has nothing to export.
    """
    from ..certify import export_packing
    from ..constructions import known_optimum

    path = _out_path(args.export, "--export", suffix=None)
    if found is not None:
        W, meta = found.W, {"source": found.source, **found.provenance}
    elif (known := known_optimum(args.n, args.d)) is not None:
        W, meta = np.asarray(known.build(), dtype=float), {"source": f"known optimum ({known.name})"}
    else:
        raise CLIError(
            f"--export: the toolkit has no packing of {args.n} lines in R^{args.d} (its own table covers "
            "d = 3..8, n <= 18); search one with 'packing pack' and write it with 'packing certify FILE "
            "--export OUT'.",
            "value",
        )
    meta = {k: str(v) for k, v in meta.items() if str(v).strip()}
    try:
        export_packing(W, path, metadata=meta)
    except OSError as exc:
        raise CLIError(f"--export {str(path)!r} could not be written: {_one_line(exc)}", "file") from None
    return path


def _cmd_certify(args) -> dict:
    from ..certify import certify_packing, export_packing
    from ..reference import best_known

    path = None if args.export is None else _out_path(args.export, "--export", suffix=None)
    W = _packing(args)
    cert = certify_packing(W, digits=args.digits, atol=args.atol)
    public = best_known(cert.n, cert.d)
    out = {
        "n": cert.n,
        "d": cert.d,
        "coherence": cert.decimal,
        "error_bound": cert.error_bound,
        "squared_chordal_distance": cert.table_value,
        "input_coherence": list(cert.input_coherence),
        "rounding_shift": cert.rounding_shift,
        "active_pairs": cert.num_active,
        "spread": cert.spread,
        "separation": cert.separation,
        "lines_without_contact": sum(1 for _, k in cert.contact_graph.degree() if k == 0),
        "public_record": None if public is None else public.coherence,
        "beats_public_record": None if public is None else cert.improves_on(public),
        "description": cert.describe(),
    }
    if path is not None:
        export_packing(W, path, digits=args.digits, metadata={"source": f"packing certify {args.file}"})
        out["exported"] = str(path)
    _emit(out, args)
    return out


def _cmd_pack(args) -> dict:
    from ..optimize import optimize_packing

    path = _out_path(args.out)
    res = optimize_packing(
        args.n,
        args.d,
        p=args.p,
        rng=args.rng,
        budget=args.budget,
        restarts=args.restarts,
        workers=args.workers,
        method=args.method,
        progress=_progress(args),
    )  # Ctrl-C returns the best packing so far (stopping_reason "interrupted"): it is written, then 130
    summary = {
        "objective": res.objective,
        "coherence": res.coherence,
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        "p": res.p,
        "restarts": res.restarts,
        "iterations": res.iterations,
        "time": res.time,
        "stopping_reason": res.stopping_reason,
    }
    _write_result(path, res)
    out = {"n": args.n, "d": args.d, **summary, "out": str(path)}
    _emit(out, args)
    _stop_if_interrupted(res, path)
    return out


def _stop_if_interrupted(result, path: Path) -> None:
    """After writing a result cut short by Ctrl-C, exit with the interrupted status all the same."""
    if getattr(result, "stopping_reason", None) == "interrupted":
        raise CLIError(f"interrupted; the best result so far was written to {str(path)!r}.", "interrupted")


def _cmd_partition(args) -> dict:
    from ..partition import optimal_partition

    path = None if args.out is None else _out_path(args.out)
    res = optimal_partition(
        args.n,
        args.d,
        args.p,
        cost=args.cost,
        budget=args.budget,
        rng=args.rng,
        build=path is not None,
        progress=_progress(args),
    )
    out = {
        "n": res.n,
        "d": res.d,
        "p": res.p,
        "cost": res.cost,
        "k": res.k,
        "blocks": [list(b) for b in res.blocks],
        "block_losses": res.block_losses,
        "loss": res.loss,
        "even": res.is_even,
    }
    if path is not None:
        out["realized_loss"] = res.realized_loss
        out["exact_blocks"] = res.exact_blocks
        _write_result(path, res)
        out["out"] = str(path)
    _emit(out, args)
    return out
