"""Maximal sets of mutually orthogonal features, and the orthogonal-pair count against Turán's bound.

A tegum product and a set of overlapping orthonormal frames can have the same
number of orthogonal pairs; they differ in how the maximal orthogonal sets (the
cliques of the orthogonality graph) meet: in a tegum product they overlap, for
overlapping frames they are disjoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Savable
from .._rows import unit_rows
from .._validation import check_int, check_packing, check_tolerance
from ..analytic import turan_orthogonal_pairs
from .factors import INTERFERENCE_ATOL, check_graph_memory, check_pairwise_memory, orthogonal_pairs_of

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
    check_pairwise_memory("orthogonal_sets", *W.shape, per_pair=18)
    return _orthogonal_sets(unit_rows(W, dtype=np.float64), atol, max_sets, "orthogonal_sets")


def _orthogonal_sets(U: np.ndarray, atol: float, max_sets: int, func: str) -> OrthogonalSets:
    """:func:`orthogonal_sets` of unit rows ``U`` (float64, zero rows allowed), options checked.

    The graph is held as arrays and neighbour sets, not a networkx graph: a
    dictionary of 5,000 features can have millions of orthogonal pairs.
    """
    nodes, i, j = orthogonal_pairs_of(U, atol)
    check_graph_memory(func, nodes.size, i.size)
    sets, complete = _enumerate(nodes, i, j, max_sets)
    return _result(
        sets, complete, _components_are_cliques(nodes, i, j), int(i.size), nodes.size, U.shape[1], atol
    )


def _enumerate(nodes: np.ndarray, i: np.ndarray, j: np.ndarray, max_sets: int) -> tuple[list, bool]:
    """Up to ``max_sets`` maximal cliques of the graph (sorted arrays) and whether that is all of them."""
    sets, complete = [], True
    for clique in _maximal_cliques(nodes, i, j):
        if len(sets) == max_sets:
            complete = False
            break
        sets.append(np.array(sorted(clique), dtype=int))
    return sets, complete


def _result(sets: list, complete: bool, disjoint: bool, pairs: int, n: int, d: int, atol: float):
    """Return the :class:`OrthogonalSets` of the enumerated ``sets`` and the graph's counts."""
    sets = sorted(sets, key=lambda s: (-len(s), s.tolist()))
    return OrthogonalSets(
        sets=tuple(sets),
        largest=max((len(s) for s in sets), default=0),
        disjoint=disjoint,
        complete=complete,
        orthogonal_pairs=pairs,
        turan_bound=int(turan_orthogonal_pairs(n, d)) if n else 0,
        n=n,
        d=d,
        atol=atol,
    )


def _orthogonal_sets_of_scan(U64: np.ndarray, scan, atol: float, max_sets: int) -> OrthogonalSets:
    """:func:`orthogonal_sets` of nonzero unit rows from a :func:`packing.structure._scan.scan`.

    The counts and ``disjoint`` come from the scan. The maximal sets are
    enumerated as by :func:`orthogonal_sets` when the scan could keep the
    orthogonal pairs (a graph of them needs at most 1 GiB and fits in the memory limit); otherwise one
    maximal set is grown greedily (``complete`` is False, ``largest`` a lower bound).
    """
    n, d = U64.shape
    nodes = np.arange(n)
    if scan.orth_pairs is not None:
        sets, complete = _enumerate(nodes, *scan.orth_pairs, max_sets)
    else:
        sets, complete = [_greedy_set(U64, scan.orth_degree, atol)], False
    disjoint = scan.orth_components_are_cliques()
    return _result(sets, complete, disjoint, scan.orthogonal_pairs, n, d, atol)


def _greedy_set(U64: np.ndarray, degree: np.ndarray, atol: float) -> np.ndarray:
    """Return a maximal set of mutually orthogonal rows, grown from the rows with most orthogonal partners.

    Each step adds the candidate with the largest ``degree`` (the first on ties)
    and keeps the candidates orthogonal (``|cos| <= atol``, in float64) to it.
    """
    n = U64.shape[0]
    cand = np.arange(n)
    chosen = []
    while cand.size:
        v = int(cand[np.argmax(degree[cand])])
        chosen.append(v)
        if cand.size > n // 2:
            x = np.abs(U64 @ U64[v])[cand]
        else:
            x = np.abs(U64[cand] @ U64[v])
        cand = cand[(x <= atol) & (cand != v)]
    return np.array(sorted(chosen), dtype=int)


def _components_are_cliques(nodes: np.ndarray, i: np.ndarray, j: np.ndarray) -> bool:
    """Whether every connected component of the graph (edges ``i_k – j_k``) is a clique."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if not nodes.size:
        return True
    index = np.full(int(nodes.max()) + 1, -1)
    index[nodes] = np.arange(nodes.size)
    a, b = index[i], index[j]
    graph = csr_matrix((np.ones(a.size), (a, b)), shape=(nodes.size, nodes.size))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    edges = np.bincount(label[a], minlength=sizes.size) if a.size else np.zeros(sizes.size, dtype=int)
    return bool(np.all(edges == sizes * (sizes - 1) // 2))


def _maximal_cliques(nodes: np.ndarray, i: np.ndarray, j: np.ndarray):
    """Yield every maximal clique (a list of nodes) of the graph: Bron–Kerbosch with Tomita's pivot.

    Isolated nodes are cliques of one. Iterative, so deep graphs do not hit the recursion limit.
    """
    ends, others = np.concatenate([i, j]), np.concatenate([j, i])
    order = np.argsort(ends, kind="stable")
    ends, others = ends[order], others[order]
    bounds = np.searchsorted(ends, np.r_[nodes, np.iinfo(np.int64).max])
    adj = {int(v): set(others[bounds[k] : bounds[k + 1]].tolist()) for k, v in enumerate(nodes)}
    stack = [([], set(adj), set())]
    while stack:
        R, P, X = stack.pop()
        if not P:
            if not X:
                yield R
            continue
        pivot = max(P | X, key=lambda u: len(P & adj[u]))
        for v in list(P - adj[pivot]):
            stack.append((R + [v], P & adj[v], X & adj[v]))
            P = P - {v}
            X = X | {v}
