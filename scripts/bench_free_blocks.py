"""Benchmark free candidate blocks (``theory.free_block``): the 20-in-5 predictions of issue 12.

For each density, ``predict_geometry(20, 5, importance=0.7^i, shapes=library + free blocks of 5, 6, 7
in 2 dims and 8 in 3)`` is timed (CPU seconds of this process, which an idle core would show as wall
time; the machine is shared) with the free blocks fitted by the exact gradient of their objective
(the default). With ``--reference`` the same predictions are made again in the same run with the old
fitting by central differences in the weights, and the script prints the time ratio and the
differences of the predicted losses and descriptions (they should agree within the fit's tolerance).

Usage: ``python scripts/bench_free_blocks.py [--density 1,0.3,0.1,0.03,0.01] [--reference] [--quick]``
(``--quick``: 8 features in 3 dims, free 5-in-2 only, densities 0.3 and 0.03).
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

from packing import theory
from packing.theory import _free, _predict


def predict(n, d, density, free, gradient):
    """Return ``(prediction, CPU seconds)`` with free blocks fitted by ``gradient``."""
    shapes = theory.default_block_shapes() + [theory.free_block(m, D) for m, D in free]
    original = _predict.fit_free
    _predict.fit_free = functools.partial(_free.fit_free, gradient=gradient)
    try:
        t0 = time.process_time()
        p = theory.predict_geometry(n, d, density=density, importance=0.7 ** np.arange(n), shapes=shapes)
        return p, time.process_time() - t0
    finally:
        _predict.fit_free = original


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", default="1,0.3,0.1,0.03,0.01")
    parser.add_argument("--reference", action="store_true", help="also fit by central differences")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        n, d, free, densities = 8, 3, [(5, 2)], [0.3, 0.03]
    else:
        n, d, free = 20, 5, [(5, 2), (6, 2), (7, 2), (8, 3)]
        densities = [float(s) for s in args.density.split(",")]
    theory.predict_geometry(n, d, density=1.0)  # build the shape library outside the timings
    rows = []
    for p_ in densities:
        new, t_new = predict(n, d, p_, free, "exact")
        line = (
            f"density {p_:<5}: {new.description:<30} loss {new.loss:.8g}  exact gradient {t_new:7.1f} cpu s"
        )
        row = {"density": p_, "description": new.description, "loss": new.loss, "seconds": t_new}
        if args.reference:
            ref, t_ref = predict(n, d, p_, free, "differences")
            rel = abs(new.loss - ref.loss) / ref.loss
            same = new.description == ref.description
            line += (
                f"; differences {t_ref:7.1f} cpu s (ratio {t_new / t_ref:.3f}); loss rel. diff {rel:.1e}, "
                f"same description: {same}" + ("" if same else f" (reference: {ref.description})")
            )
            row |= {"reference_loss": ref.loss, "reference_seconds": t_ref, "same": same}
        print(line, flush=True)
        rows.append(row)
    total = sum(r["seconds"] for r in rows)
    print(f"total {total:.1f} cpu s over {len(rows)} densities (exact gradient)")
    return {"rows": rows, "total_seconds": total}


if __name__ == "__main__":
    main()
