"""The best known line packings, shipped with the package: the one reader of the tables.

``packing/data/grassmannian_lines.csv`` holds the best known coherence of ``n``
lines in ``R^d`` for ``d = 3..5``, ``n <= 40``, from N. J. A. Sloane's "Table of
Best Grassmannian Packings" (1997) and Henry Cohn's continuation of it (see
``packing/data/README.md`` for the columns and the rounding rules). Every part
of the toolkit that compares with a record reads it through
:func:`best_known` or :func:`best_known_table`.

``packing/data/our_table.csv`` and ``our_packings.npz`` are the toolkit's own
table: the best packing this toolkit has found for every cell it has run
(``scripts/build_table.py`` covers ``d = 3..8``, ``n <= 100``; the shipped table
holds ``n = 2..19`` in every ``d = 3..8``, 35 lines
in ``R^5`` and 8 cells of longer runs beyond ``n = 19``: :func:`best_found_table` lists them), each certified
(:func:`packing.certify_packing`) with the certified lower bound beside it and
its provenance. :func:`best_found` and :func:`best_found_table` read it;
:func:`best_known` keeps answering with the public table only.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from ._results import CheckedFields, Savable
from ._validation import check_int

__all__ = [
    "BestKnown",
    "best_known",
    "best_known_table",
    "TABLE_ROUNDING",
    "FoundPacking",
    "best_found",
    "best_found_table",
]

#: Tabulated μ are rounded to 10 decimals; see :meth:`BestKnown.rounding`.
TABLE_ROUNDING = 1e-10


@dataclass(frozen=True)
class BestKnown(CheckedFields):
    """One cell of the best-known table.

    Attributes
    ----------
    n, d : int
        Number of lines and dimension.
    coherence : float
        Best known ``max |cos θ|`` (10 decimals).
    angle_deg : float
        ``arccos(coherence)`` in degrees, the unit of Sloane's tables.
    proven_optimal : bool
        Whether optimality is proven.
    source : str
        Where the value comes from.
    """

    n: int
    d: int
    coherence: float
    angle_deg: float
    proven_optimal: bool
    source: str

    @property
    def squared_chordal_distance(self) -> float:
        """``1 − μ²``, the quantity the public tables list."""
        return 1.0 - self.coherence**2

    @property
    def rounding(self) -> float:
        """How far below the tabulated μ the true record can lie through rounding alone.

        μ is rounded to 10 decimals (5e-11), and Cohn's squared chordal distances
        ``D = 1 − μ²`` are rounded down at 10 decimals, which raises μ by up to
        ``1e-10 / (2 μ)``.
        """
        return TABLE_ROUNDING / 2 + TABLE_ROUNDING / (2.0 * max(self.coherence, 1e-3))


@cache
def _table() -> tuple[BestKnown, ...]:
    text = resources.files("packing").joinpath("data", "grassmannian_lines.csv").read_text()
    rows = []
    for r in csv.DictReader(text.splitlines()):
        mu = float(r["max_abs_cos"])
        rows.append(
            BestKnown(
                n=int(r["n"]),
                d=int(r["d"]),
                coherence=mu,
                angle_deg=(
                    float(r["min_angle_deg"]) if r.get("min_angle_deg") else math.degrees(math.acos(mu))
                ),
                proven_optimal=r.get("known_optimal", "0").strip() == "1",
                source=r.get("source", "").strip(),
            )
        )
    return tuple(sorted(rows, key=lambda e: (e.d, e.n)))


def _in_dimension(table: tuple, d: int | None) -> tuple:
    """Return the cells of ``table`` in dimension ``d`` (all of them for ``None``)."""
    if d is None:
        return table
    d = check_int(d, "d", minimum=1)
    return tuple(e for e in table if e.d == d)


@cache
def _index() -> dict[tuple[int, int], BestKnown]:
    return {(e.n, e.d): e for e in _table()}


def best_known_table(d: int | None = None) -> tuple[BestKnown, ...]:
    """Every tabulated cell, sorted by ``(d, n)``; only dimension ``d`` when given.

    Examples
    --------
    >>> cells = best_known_table()
    >>> len(cells), cells[0].d, cells[0].n
    (114, 3, 3)
    >>> [e.n for e in best_known_table(d=5)][:3]
    [3, 4, 5]
    """
    return _in_dimension(_table(), d)


def best_known(n: int, d: int) -> BestKnown | None:
    """Return the best known packing value of ``n`` lines in ``R^d``, or ``None`` if not tabulated.

    Parameters
    ----------
    n, d : int
        Number of lines and dimension.

    Returns
    -------
    BestKnown or None

    Examples
    --------
    >>> e = best_known(6, 3)
    >>> round(e.coherence, 10), e.proven_optimal, round(e.angle_deg, 4)
    (0.4472135955, True, 63.4349)
    >>> best_known(100, 9) is None
    True
    >>> best_known(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _index().get((n, d))


# ----------------------------------------------------------------------------- the toolkit's own table


@dataclass(frozen=True)
class FoundPacking(Savable):
    """One cell of the toolkit's own table (:func:`best_found`): a certified packing and its provenance.

    Attributes
    ----------
    n, d : int
        Lines and dimension.
    certified : str
        The coherence of the stored packing rounded to 20 decimals, truncated to 20
        decimals: exact (:func:`packing.certify_packing`).
    squared_chordal_distance : str
        ``D = 1 − μ²`` rounded down to ten decimals, as the public tables print it.
    lower_bound : float
        The certified lower bound :func:`packing.lower_bound` ``(n, d, lp=True)``.
    active_pairs : int
        Pairs within ``1e-9`` of the coherence (edges of the contact graph).
    public_record : float or None
        The public table's entry (:func:`best_known`), where there is one.
    beats_public_record : bool
        Whether the certified value beats it by more than its rounding and ``1e-8``.
    source : str
        ``"optimize_packing"`` or ``"known optimum (...)"``.
    provenance : dict
        Budget, clock, seed, pass, restarts, neighbour seeds, commit and date of the run.
    """

    n: int
    d: int
    certified: str
    squared_chordal_distance: str
    lower_bound: float
    active_pairs: int
    public_record: float | None
    beats_public_record: bool
    source: str
    provenance: dict

    @property
    def coherence(self) -> float:
        """The certified coherence as a float."""
        return float(self.certified)

    @property
    def gap(self) -> float:
        """``coherence − lower_bound`` (0 means provably optimal)."""
        return max(0.0, self.coherence - self.lower_bound)

    @property
    def W(self) -> np.ndarray:
        """The packing, shape ``(n, d)``, float64 (certifying it reproduces ``certified``)."""
        return _found_packings()[f"d{self.d}_n{self.n}"].copy()


#: The provenance columns of ``our_table.csv``.
_PROVENANCE = ("budget", "clock", "seed", "pass", "restarts", "seeded_by", "commit", "date")


@cache
def _found_table() -> tuple[FoundPacking, ...]:
    path = resources.files("packing").joinpath("data", "our_table.csv")
    if not path.is_file():
        return ()
    rows = []
    for r in csv.DictReader(path.read_text().splitlines()):
        provenance = {k: r[k] for k in _PROVENANCE}
        rows.append(
            FoundPacking(
                n=int(r["n"]),
                d=int(r["d"]),
                certified=r["coherence"],
                squared_chordal_distance=r["squared_chordal_distance"],
                lower_bound=float(r["lower_bound"]),
                active_pairs=int(r["active_pairs"]),
                public_record=float(r["public_record"]) if r["public_record"] else None,
                beats_public_record=r["beats_public_record"] == "1",
                source=r["source"],
                provenance=provenance,
            )
        )
    return tuple(sorted(rows, key=lambda e: (e.d, e.n)))


@cache
def _found_packings() -> dict[str, np.ndarray]:
    data = resources.files("packing").joinpath("data", "our_packings.npz").read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def best_found_table(d: int | None = None) -> tuple[FoundPacking, ...]:
    """Every cell of the toolkit's own table, sorted by ``(d, n)``; only dimension ``d`` when given.

    Examples
    --------
    >>> cells = best_found_table(d=3)
    >>> all(e.d == 3 for e in cells) and all(e.lower_bound <= e.coherence + 1e-12 for e in cells)
    True
    """
    return _in_dimension(_found_table(), d)


def best_found(n: int, d: int) -> FoundPacking | None:
    """Return the toolkit's own best packing of ``n`` lines in ``R^d`` (certified), or ``None``.

    The public table (:func:`best_known`) covers ``d = 3..5``, ``n <= 40``; this table
    covers the cells ``scripts/build_table.py`` has run (shipped: ``n <= 19`` in ``d = 3..8``
    and a few more; :func:`best_found_table` lists them), with
    the packing itself (``.W``), its certified coherence and the certified lower bound.

    Parameters
    ----------
    n, d : int
        Number of lines and dimension.

    Returns
    -------
    FoundPacking or None

    Examples
    --------
    >>> e = best_found(6, 3)
    >>> e.certified[:12], e.source, e.W.shape
    ('0.4472135954', 'known optimum (equiangular tight frame)', (6, 3))
    >>> best_found(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return next((e for e in _found_table() if e.n == n and e.d == d), None)
