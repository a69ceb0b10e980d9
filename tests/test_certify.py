"""certify_packing against closed forms and independent high-precision arithmetic; export round trips."""

import itertools
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import networkx as nx
import numpy as np
import pytest
from helpers import brute_force_cosines

from packing import (
    PackingCertificate,
    best_known,
    certify_packing,
    equiangular_tight_frame,
    export_packing,
    icosahedron_lines,
    read_exported_packing,
    regular_polygon_lines,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


def d_root_lines(d):
    """The d(d-1) lines e_i ± e_j (integer coordinates, |cos| in {0, 1/2}), built here independently."""
    rows = []
    for i, j in itertools.combinations(range(d), 2):
        for s in (1, -1):
            v = np.zeros(d)
            v[i], v[j] = 1, s
            rows.append(v)
    return np.array(rows)


def mp_abs_cosines(W, dps=50):
    """|cos| of every pair i < j in dps-digit arithmetic (mpmath), on the binary values of W."""
    with mpmath.workdps(dps):
        rows = [[mpmath.mpf(float(x)) for x in row] for row in np.asarray(W)]
        norms = [mpmath.sqrt(mpmath.fsum(x * x for x in r)) for r in rows]
        return [
            abs(mpmath.fsum(a * b for a, b in zip(rows[i], rows[j], strict=True))) / (norms[i] * norms[j])
            for i in range(len(rows))
            for j in range(i + 1, len(rows))
        ]


def test_integer_packing_is_certified_exactly():
    # D4 lines: coordinates are integers, so the rounded packing IS the packing: mu = 1/2 exactly,
    # and the active pairs are the 48 pairs at 1/2 (each line meets 8 others at 60 degrees)
    W = d_root_lines(4)
    cert = certify_packing(W)
    assert isinstance(cert, PackingCertificate)
    assert cert.coherence_squared == Fraction(1, 4) and cert.decimal == "0." + "5" + "0" * 19
    assert cert.lower == 0.5 == cert.upper and cert.rounding_shift <= 1e-20
    expected = int(np.sum(np.isclose(np.abs(brute_force_cosines(W)), 0.5)))
    assert expected == 48 and cert.num_active == 48 and cert.spread == 0.0 and cert.separation == 0.5
    # the scale of the rows is irrelevant (powers of two and decimals both kept exact)
    assert certify_packing(W * 8).coherence_squared == Fraction(1, 4)


@pytest.mark.parametrize(
    "W, mu, active",
    [
        (equiangular_tight_frame(16, 6), 1 / 3, 120),  # ETF: every pair at the Welch bound
        (equiangular_tight_frame(6, 3), 1 / math.sqrt(5), 15),
        (regular_polygon_lines(7), math.cos(math.pi / 7), 7),  # the 7 pairs of neighbouring lines
    ],
)
def test_certified_value_brackets_the_closed_form(W, mu, active):
    cert = certify_packing(W)
    # the packing is a float approximation of the exact one: the certified value of its 20-decimal
    # rounding is within a few ulps of the closed form, and known to 1e-20
    assert cert.lower - 1e-15 <= mu <= cert.upper + 1e-15
    assert Fraction(cert.decimal) <= Fraction(cert.upper) and cert.upper - cert.lower <= 2.3e-16
    assert cert.error_bound == 1e-20 and len(cert.decimal) == 22
    assert cert.num_active == active
    # the enclosure agrees with an independent 50-digit computation on the same binary values
    assert abs(float(max(mp_abs_cosines(W))) - cert.coherence) <= 1e-15


def test_perturbed_packing_matches_high_precision_and_loses_contacts():
    W = icosahedron_lines().copy()
    rng = np.random.default_rng(3)
    W[2] += 1e-7 * rng.normal(size=3)
    cert = certify_packing(W)
    mp = mp_abs_cosines(W)
    top = max(mp)
    # certified decimal truncates the exact value of the rounded input; the input's own exact value is
    # enclosed too, and both agree with mpmath on the binary values
    assert cert.input_coherence[0] <= float(top) <= cert.input_coherence[1]
    assert abs(Fraction(cert.decimal) - Fraction(str(mpmath.nstr(top, 30)))) < Fraction(1, 10**15)
    # the perturbation breaks the equiangularity: only the pairs of the perturbed line at the new maximum
    # remain active (at least one, fewer than 15), and the active set matches mpmath's
    mp_active = sum(1 for c in mp if top - c <= 1e-9)
    assert 1 <= cert.num_active == mp_active < 15
    assert cert.separation > 1e-9 and cert.spread <= 1e-9


def test_contact_graph_of_the_icosahedron_lines_is_complete():
    cert = certify_packing(icosahedron_lines())
    G = cert.contact_graph
    assert G.number_of_nodes() == 6 and G.number_of_edges() == 15
    assert nx.is_isomorphic(G, nx.complete_graph(6))
    assert all(abs(abs(G.edges[e]["cos"]) - 1 / math.sqrt(5)) < 1e-15 for e in G.edges)
    assert cert.separation == math.inf and "15 of 15 pairs" in cert.describe()


def test_improvement_claims_need_more_than_the_table_rounding():
    cert = certify_packing(np.loadtxt(RESULTS / "lines_35_in_R5.csv", delimiter=","))
    entry = best_known(35, 5)
    assert cert.improves_on(entry)  # 2e-5 below the tabulated 1/phi
    # against a record equal to ours up to the eighth decimal: no claim
    assert not cert.improves_on(cert.coherence + 5e-9)
    assert cert.improves_on(cert.coherence + 5e-9, min_improvement=1e-9)
    assert not cert.improves_on(cert.coherence)


def test_export_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(9, 4))
    path = tmp_path / "p.txt"
    cert = export_packing(W, path, metadata={"source": "test", "seed": 0})
    text = path.read_text().splitlines()
    # the data header holds n, d and D = 1 - mu^2 rounded down to ten decimals
    n, d, D = text[6].split()
    assert (int(n), int(d)) == (9, 4) and D == cert.table_value and len(D) == 12
    assert Fraction(D) <= 1 - cert.coherence_squared < Fraction(D) + Fraction(1, 10**10)
    assert all(len(x.split(".")[1]) == 20 for x in text[7].split())
    W2, info = read_exported_packing(path)
    assert info["source"] == "test" and info["seed"] == "0" and info["n"] == 9 and info["D"] == D
    again = certify_packing(W2)
    assert again.coherence_squared == cert.coherence_squared and again.decimal == cert.decimal
    assert np.array_equal(again.numerators, cert.numerators)
    assert [p.name for p in tmp_path.iterdir()] == ["p.txt"]  # no temporary file left behind


@pytest.mark.parametrize(
    "call, exc, msg",
    [
        (lambda: certify_packing("abc"), TypeError, "W must be a real numeric array"),
        (lambda: certify_packing(np.ones((1, 3))), ValueError, r"W must have at least 2 row"),
        (lambda: certify_packing(np.zeros((3, 2))), ValueError, "W must have nonzero rows"),
        (lambda: certify_packing(np.eye(3), digits=0), ValueError, "digits must be >= 1; got 0"),
        (lambda: certify_packing(np.eye(3), digits=2.5), TypeError, "digits must be an integer"),
        (lambda: certify_packing(np.eye(3), atol=-1), ValueError, r"atol must be >= 0.0; got -1.0"),
        (lambda: certify_packing([[1, np.nan], [0, 1]]), ValueError, "W must be finite"),
        (lambda: certify_packing(np.eye(3)).improves_on(1.5), ValueError, "record must be <= 1.0"),
        (lambda: export_packing(np.eye(3), "x.txt", metadata=[1]), TypeError, "metadata must be a dict"),
        (lambda: export_packing(np.eye(3), "x.txt", metadata={"a b": 1}), ValueError, "metadata keys"),
        (lambda: export_packing(np.eye(3), "x.txt", metadata={"a": "x\ny"}), ValueError, "metadata values"),
    ],
)
def test_bad_input(call, exc, msg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc, match=msg):
        call()


def test_malformed_export_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# nothing\n1 2\n")
    with pytest.raises(ValueError, match="expected a line 'n d D'"):
        read_exported_packing(bad)
    bad.write_text("2 2 0.5\n1 0\n0\n")
    with pytest.raises(ValueError, match="expected n\\*d = 4 coordinates; got 3"):
        read_exported_packing(bad)
