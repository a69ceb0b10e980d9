"""Packings kept in results/ are checked independently of the code that found them."""

from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np

from packing import best_known, certify_packing, read_exported_packing

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _load_35():
    W = np.loadtxt(RESULTS / "lines_35_in_R5.csv", delimiter=",")
    assert W.shape == (35, 5)
    return W


def _mp_abs_cosines(W, dps=40):
    with mpmath.workdps(dps):
        rows = [[mpmath.mpf(float(x)) for x in row] for row in W]
        norms = [mpmath.sqrt(mpmath.fsum(x * x for x in r)) for r in rows]
        dot = lambda a, b: mpmath.fsum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
        return {
            (i, j): abs(dot(rows[i], rows[j])) / (norms[i] * norms[j])
            for i in range(len(rows))
            for j in range(i + 1, len(rows))
        }


def test_35_lines_in_r5_beat_the_reference_value():
    W = _load_35()
    cos = _mp_abs_cosines(W)
    worst = max(cos.values())
    # the shipped best-known table (packing.best_known) lists 0.6180339887 (rounded) for 35 lines in R^5
    assert worst < mpmath.mpf("0.61802")
    assert worst > mpmath.mpf("0.6")  # and it is a genuine packing, not a degenerate one


def test_35_lines_in_r5_certified():
    W = _load_35()
    cert = certify_packing(W)
    # certified to 20 decimals (exact arithmetic on the 20-decimal rounding; the rounding moved it < 1e-19)
    assert cert.decimal.startswith("0.618013572154607")
    assert cert.rounding_shift < 1e-19 and cert.upper - cert.lower < 2.3e-16
    # the independent 40-digit computation on the same binary values agrees to 1e-18
    cos = _mp_abs_cosines(W)
    worst = max(cos.values())
    assert abs(Fraction(cert.decimal) - Fraction(mpmath.nstr(worst, 30))) < Fraction(1, 10**18)
    # a claim over the public table: better by 2.0e-5, far more than its rounding and the eighth decimal
    entry = best_known(35, 5)
    assert cert.improves_on(entry) and entry.coherence - cert.upper > 2.0e-5
    # contact graph: the pairs within 1e-9 of the maximum, the same set as mpmath's; 162 of 595 pairs,
    # equal to 3.5e-16 and the next pair 4.6e-5 below, so the set is unambiguous
    active = {pair for pair, c in cos.items() if worst - c <= 1e-9}
    assert {tuple(p) for p in cert.active_pairs.tolist()} == active
    assert len(active) == 162 and cert.separation > 4e-5 and cert.spread < 1e-15
    # one line (a rattler) touches no pair at the maximum; 162 contacts exceed the 130 degrees of freedom
    degrees = dict(cert.contact_graph.degree())
    assert sorted(degrees.values()).count(0) == 1 and 35 * 4 - 10 == 130


def test_35_lines_in_r5_export_reproduces_the_certificate():
    # results/lines_35_in_R5.txt is the same packing in the tables' text form (export_packing)
    W, info = read_exported_packing(RESULTS / "lines_35_in_R5.txt")
    cert = certify_packing(W)
    assert info["D"] == cert.table_value == "0.6180592246"
    assert cert.coherence_squared == certify_packing(_load_35()).coherence_squared
