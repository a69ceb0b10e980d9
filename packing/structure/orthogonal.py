"""Maximal sets of mutually orthogonal features, and the orthogonal-pair count against Turán's bound.

A tegum product and a set of overlapping orthonormal frames can have the same
number of orthogonal pairs; they differ in how the maximal orthogonal sets (the
cliques of the orthogonality graph) meet: in a tegum product they overlap, for
overlapping frames they are disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .._results import Savable
from .._rows import unit_rows
from .._validation import check_int, check_packing, check_tolerance
from ..analytic import turan_orthogonal_pairs
from .factors import INTERFERENCE_ATOL, _orthogonality_graph

__all__ = ["OrthogonalSets", "orthogonal_sets"]

#: Default number of maximal sets after which the enumeration stops.
MAX_SETS = 1000


@dataclass(frozen=True)
class OrthogonalSets(Savable):
    """Maximal sets of mutually orthogonal features (cliques of the orthogonality graph).

    Attributes
    ----------
    sets : tuple of ndarray of int
        Maximal cliques, largest first (at most ``max_sets`` of them).
    largest : int
        Size of the largest set found (at most ``d`` for nonzero vectors; a
        lower bound on the largest if ``complete`` is False).
    disjoint : bool
        Whether every connected component of the orthogonality graph is a clique,
        i.e. the maximal orthogonal sets partition the features (as in
        overlapping orthogonal sets, where each set is an orthonormal frame)
        rather than overlap (as in a tegum product, where one feature of each
        factor can be combined with one of every other factor).
    complete : bool
        Whether all maximal cliques were enumerated (``False`` if ``max_sets`` stopped it).
    orthogonal_pairs : int
        Number of pairs with ``|cos| <= atol``.
    turan_bound : int
        Turán's bound: the orthogonality graph of nonzero vectors in ``R^d`` has no
        clique on ``d + 1`` vertices, so at most ``T(n, d)`` edges.
    n, d : int
        Number of nonzero rows and the dimension.
    atol : float
    """

    sets: tuple
    largest: int
    disjoint: bool
    complete: bool
    orthogonal_pairs: int
    turan_bound: int
    n: int
    d: int
    atol: float

    @property
    def turan_fraction(self) -> float:
        """``orthogonal_pairs / turan_bound`` (1 means as many orthogonal pairs as possible)."""
        return self.orthogonal_pairs / self.turan_bound if self.turan_bound else 1.0


def orthogonal_sets(W, *, atol: float = INTERFERENCE_ATOL, max_sets: int = MAX_SETS) -> OrthogonalSets:
    """Find the maximal sets of mutually orthogonal features and compare with Turán's bound.

    Parameters
    ----------
    W : array_like, shape (n, d)
        Zero rows are ignored.
    atol : float, default 0.05
        ``|cos| <= atol`` counts as orthogonal.
    max_sets : int, default 1000
        Stop enumerating maximal cliques after this many (enumeration is
        exponential in the worst case; a tegum product of ``k`` digons has
        ``2**k``). ``largest`` is then a lower bound; ``disjoint``,
        ``orthogonal_pairs`` and ``turan_bound`` do not depend on the enumeration.

    Returns
    -------
    OrthogonalSets

    Examples
    --------
    Two orthonormal frames of the plane at 45 degrees: two disjoint sets.

    >>> r = np.sqrt(0.5)
    >>> o = orthogonal_sets([[1, 0], [0, 1], [r, r], [-r, r]])
    >>> [s.tolist() for s in o.sets], o.disjoint, o.orthogonal_pairs, o.turan_bound
    ([[0, 1], [2, 3]], True, 2, 4)
    >>> orthogonal_sets([[1, 0]], max_sets=0)
    Traceback (most recent call last):
    ...
    ValueError: max_sets must be >= 1; got 0.
    """
    W = check_packing(W)
    atol = check_tolerance(atol, "atol")
    max_sets = check_int(max_sets, "max_sets")
    return _orthogonal_sets(unit_rows(W, dtype=np.float64), atol, max_sets)


def _orthogonal_sets(U: np.ndarray, atol: float, max_sets: int) -> OrthogonalSets:
    """:func:`orthogonal_sets` of unit rows ``U`` (float64, zero rows allowed), options checked."""
    G = _orthogonality_graph(U, atol)
    sets, complete = [], True
    for clique in nx.find_cliques(G):
        if len(sets) == max_sets:
            complete = False
            break
        sets.append(np.array(sorted(clique), dtype=int))
    sets.sort(key=lambda s: (-len(s), s.tolist()))
    disjoint = all(
        G.subgraph(c).number_of_edges() == len(c) * (len(c) - 1) // 2 for c in nx.connected_components(G)
    )
    n, d = G.number_of_nodes(), U.shape[1]
    return OrthogonalSets(
        sets=tuple(sets),
        largest=max((len(s) for s in sets), default=0),
        disjoint=bool(disjoint),
        complete=complete,
        orthogonal_pairs=G.number_of_edges(),
        turan_bound=int(turan_orthogonal_pairs(n, d)) if n else 0,
        n=n,
        d=d,
        atol=atol,
    )
