"""The best known line packings, shipped with the package: the one reader of the tables.

``packing/data/grassmannian_lines.csv`` holds the best known coherence of ``n``
lines in ``R^d`` for ``d = 3..5``, ``n <= 40``, from N. J. A. Sloane's "Table of
Best Grassmannian Packings" (1997) and Henry Cohn's continuation of it (see
``packing/data/README.md`` for the columns and the rounding rules). Every part
of the toolkit that compares with a record reads it through
:func:`best_known` or :func:`best_known_table`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ._validation import check_int

__all__ = ["BestKnown", "best_known", "best_known_table", "TABLE_ROUNDING"]

#: Tabulated μ are rounded to 10 decimals; see :meth:`BestKnown.rounding`.
TABLE_ROUNDING = 1e-10


@dataclass(frozen=True)
class BestKnown:
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
    if d is None:
        return _table()
    d = check_int(d, "d", minimum=1)
    return tuple(e for e in _table() if e.d == d)


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
