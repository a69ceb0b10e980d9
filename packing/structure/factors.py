"""Tegum factors: which features interfere, and which groups are orthogonal to each other.

* :func:`represented_features` splits the rows into represented and dropped by
  norm (the dropped rows are reported, never silently hidden);
* :func:`interference_graph` (an edge where ``|cos| > atol``) and
  :func:`orthogonality_graph` (an edge where ``|cos| <= atol``) as networkx graphs;
* :func:`tegum_factors`: the connected components of the interference graph over
  the represented features, with their subspace dimensions and how far the
  factors' spans are from mutually orthogonal (feature-wise and subspace-wise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._results import Savable
from .._rows import cosines, nonzero_rows, rank, scaled_norms, span, unit_rows
from .._validation import (
    check_bool,
    check_float,
    check_memory,
    check_norm_threshold,
    check_packing,
    check_tolerance,
)
from .shapes import RANK_RTOL

if TYPE_CHECKING:  # networkx is imported where used: `import packing` does not load it
    import networkx as nx

__all__ = [
    "represented_features",
    "interference_graph",
    "orthogonality_graph",
    "TegumFactors",
    "tegum_factors",
]

#: Default relative norm threshold: rows shorter than this fraction of the longest are dropped.
NORM_THRESHOLD = 0.1
#: Default |cos| above which two features interfere (an edge of the interference graph).
INTERFERENCE_ATOL = 0.05
#: Bytes a networkx graph holds per edge (both adjacency entries and an attribute dict) and per node.
GRAPH_EDGE_BYTES, GRAPH_NODE_BYTES = 600, 400


def check_pairwise_memory(func: str, n: int, d: int, per_pair: int) -> None:
    """Refuse a dense computation of ``per_pair`` bytes per entry of an ``n x n`` matrix beyond the limit."""
    check_memory(per_pair * n * n + 24 * n * d, func, "its dense n x n matrices", n=n, d=d)


def check_graph_memory(func: str, nodes: int, edges: int) -> None:
    """Refuse a networkx graph of ``nodes`` and ``edges`` beyond the memory limit."""
    need = GRAPH_NODE_BYTES * nodes + GRAPH_EDGE_BYTES * edges
    check_memory(need, func, f"a networkx graph with {edges} edges", n=nodes)


class Norms:
    """Row norms as ``w * 2**e`` (:func:`packing._rows.scaled_norms`): compared exactly at any scale."""

    def __init__(self, w: np.ndarray, e: np.ndarray):
        self.w, self.e = w, e
        with np.errstate(divide="ignore"):
            self.log2 = np.where(w > 0, np.log2(np.where(w > 0, w, 1.0)) + e, -np.inf)

    @property
    def values(self) -> np.ndarray:
        """The norms as floats (``inf`` for a norm beyond the float range, about 1.8e308)."""
        with np.errstate(over="ignore"):
            return np.ldexp(self.w, self.e)

    def above(self, threshold: float, relative: bool) -> np.ndarray:
        """Rows whose norm is ``> threshold`` (times the largest norm when ``relative``)."""
        with np.errstate(divide="ignore"):
            cut = np.log2(threshold) if threshold > 0 else -np.inf
        if relative:
            cut += float(self.log2.max()) if self.log2.size else 0.0
        return self.log2 > cut


def row_scales(W: np.ndarray) -> tuple[np.ndarray, Norms]:
    """Return the unit rows of ``W`` (float64) and its row norms, for the private implementations."""
    U, w, e = scaled_norms(W)
    return U, Norms(w, e)


def represented_features(W, *, threshold: float = NORM_THRESHOLD, relative: bool = True):
    """Split the rows of ``W`` into represented and dropped features by norm.

    Parameters
    ----------
    W : array_like, shape (n, d)
    threshold : float, default 0.1
        A row is represented when its norm is ``> threshold`` (times the largest
        row norm when ``relative``).
    relative : bool, default True
        Whether ``threshold`` is a fraction of the largest row norm.

    Returns
    -------
    kept : ndarray of int
        Indices of the represented rows.
    dropped : ndarray of int
        Indices of the rows below the threshold.
    norms : ndarray, shape (n,)
        Every row norm.

    Examples
    --------
    >>> kept, dropped, norms = represented_features([[1.0, 0], [0, 0.02], [0, 0.9]])
    >>> kept, dropped
    (array([0, 2]), array([1]))
    >>> represented_features([[1.0, 0]], threshold=-1)
    Traceback (most recent call last):
    ...
    ValueError: threshold must be >= 0.0; got -1.0.
    """
    W = check_packing(W)
    threshold = check_tolerance(threshold, "threshold")
    relative = check_bool(relative, "relative")
    _, norms = row_scales(W)
    kept, dropped = _represented(norms, threshold, relative)
    return kept, dropped, norms.values


def _represented(norms: Norms, threshold: float, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows with norm above, and at most, ``threshold`` (times the largest if ``relative``)."""
    keep = norms.above(threshold, relative)
    return np.flatnonzero(keep), np.flatnonzero(~keep)


def interference_graph(W, *, atol: float = INTERFERENCE_ATOL) -> nx.Graph:
    """Graph on the rows of ``W`` with an edge where ``|cos θ_ij| > atol``.

    Every row is a node (zero rows are isolated); edges carry the signed cosine
    as attribute ``cos``.

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, default 0.05

    Returns
    -------
    networkx.Graph

    Examples
    --------
    >>> G = interference_graph([[1, 0, 0], [-1, 0, 0], [0, 0, 1]])
    >>> sorted(G.edges(data="cos"))
    [(0, 1, -1.0)]
    """
    import networkx as nx

    W = check_packing(W)
    atol = check_tolerance(atol, "atol")
    check_pairwise_memory("interference_graph", *W.shape, per_pair=18)
    C = cosines(W)
    i, j = np.nonzero(np.triu(np.abs(C) > atol, k=1))
    check_graph_memory("interference_graph", C.shape[0], i.size)
    G = nx.Graph()
    G.add_nodes_from(range(C.shape[0]))
    G.add_edges_from((int(a), int(b), {"cos": float(C[a, b])}) for a, b in zip(i, j, strict=True))
    return G


def orthogonality_graph(W, *, atol: float = INTERFERENCE_ATOL) -> nx.Graph:
    """Graph on the nonzero rows of ``W`` with an edge where ``|cos θ_ij| <= atol``.

    Zero rows have no direction and are left out.

    Examples
    --------
    >>> G = orthogonality_graph([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> sorted(G.nodes), sorted(G.edges)
    ([0, 1, 2], [(0, 1)])
    """
    W = check_packing(W)
    atol = check_tolerance(atol, "atol")
    check_pairwise_memory("orthogonality_graph", *W.shape, per_pair=18)
    return _orthogonality_graph(unit_rows(W, dtype=np.float64), atol, "orthogonality_graph")


def _orthogonality_graph(U: np.ndarray, atol: float, func: str) -> nx.Graph:
    """:func:`orthogonality_graph` of unit rows ``U`` (zero rows allowed) at a checked ``atol``."""
    import networkx as nx

    nodes, i, j = orthogonal_pairs_of(U, atol)
    check_graph_memory(func, nodes.size, i.size)
    G = nx.Graph()
    G.add_nodes_from(nodes.tolist())
    G.add_edges_from(zip(i.tolist(), j.tolist(), strict=True))
    return G


def orthogonal_pairs_of(U: np.ndarray, atol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the nonzero rows of unit rows ``U`` and their pairs ``i < j`` with ``|cos| <= atol``."""
    nonzero = np.flatnonzero(nonzero_rows(U))
    V = U[nonzero]
    a, b = np.nonzero(np.triu(np.abs(V @ V.T) <= atol, k=1))
    return nonzero, nonzero[a], nonzero[b]


def _subspace_overlap(bases: list) -> float:
    """Return ``‖Bᵀ B − I‖₂`` for the orthonormal bases of all factors side by side (clipped to 1).

    0 exactly when the spans are mutually orthogonal; at least the largest
    principal cosine between any two factors (Cauchy interlacing: two factors
    alone give eigenvalues ``1 ± cos θ``); 1 when a span lies in the sum of the others.
    """
    bases = [B for B in bases if B.shape[1]]
    if len(bases) < 2:
        return 0.0
    B = np.hstack(bases)
    evals = np.linalg.eigvalsh(B.T @ B)
    return float(min(1.0, max(abs(evals[0] - 1.0), abs(evals[-1] - 1.0))))


@dataclass(frozen=True)
class TegumFactors(Savable):
    """Tegum factors of a packing: connected components of its interference graph.

    Attributes
    ----------
    factors : tuple of ndarray of int
        Row indices of each factor (into the original ``W``), largest first.
    dims : tuple of int
        Dimension of the subspace each factor spans (numerical rank of its unit rows).
    dropped : ndarray of int
        Rows not represented (norm below the threshold); in no factor.
    norms : ndarray, shape (n,)
        All row norms.
    cross_overlap : float
        Largest ``|cos|`` between features of different factors (at most ``atol``).
    subspace_overlap : float
        How far the factors' spans are from mutually orthogonal:
        ``‖Bᵀ B − I‖₂`` for orthonormal bases of all factors side by side. 0 for
        exactly block-orthogonal factors, at least the largest principal cosine
        between two factors, 1 when one factor's span lies in the others'. Many
        small feature overlaps can add up here even when ``cross_overlap`` is small.
    block_orthogonal : bool
        ``subspace_overlap <= orth_tol`` and the factor dimensions fit in ``d``.
    near_threshold : int
        Pairs with ``atol / 2 < |cos| <= 2 atol``: how many decisions of the
        graph sit close to the tolerance (0 for a clean decomposition).
    n, d : int
        Shape of ``W``.
    atol, orth_tol : float
        The tolerances used.
    """

    factors: tuple
    dims: tuple
    dropped: np.ndarray
    norms: np.ndarray
    cross_overlap: float
    subspace_overlap: float
    block_orthogonal: bool
    near_threshold: int
    n: int
    d: int
    atol: float
    orth_tol: float

    @property
    def sizes(self) -> tuple:
        """Number of features in each factor."""
        return tuple(len(f) for f in self.factors)

    @property
    def labels(self) -> np.ndarray:
        """Factor index of every row (``-1`` for dropped rows)."""
        out = np.full(self.n, -1)
        for k, f in enumerate(self.factors):
            out[f] = k
        return out

    @property
    def total_dim(self) -> int:
        """Sum of the factor dimensions (at most ``d`` when block-orthogonal)."""
        return int(sum(self.dims))


def tegum_factors(
    W,
    *,
    atol: float = INTERFERENCE_ATOL,
    norm_threshold: float = NORM_THRESHOLD,
    rank_rtol: float = RANK_RTOL,
    orth_tol: float | None = None,
) -> TegumFactors:
    """Split a packing into tegum factors (mutually orthogonal groups of features).

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, default 0.05
        Two features interfere when ``|cos| > atol``; factors are the connected
        components of that graph over the represented features.
    norm_threshold : float, default 0.1
        Rows with norm ``<= norm_threshold * max norm`` are dropped (reported in
        ``dropped``).
    rank_rtol : float, default 0.1
        Singular values of a factor's unit rows below ``rank_rtol`` times the
        largest do not count towards its dimension.
    orth_tol : float, optional
        Largest principal cosine between factor spans still called orthogonal
        (default ``2 * atol``).

    Returns
    -------
    TegumFactors

    Notes
    -----
    The cosines are read tile by tile, never as an ``n x n`` matrix (memory
    ``O(n d)``; float32 ``W`` is tiled in float32 with near-threshold cosines
    decided in float64), see :func:`analyze_structure`.

    Examples
    --------
    A triangle in the (x, y) plane and an antipodal pair on the z axis (a
    triangular bipyramid):

    >>> s = np.sqrt(3) / 2
    >>> W = [[1, 0, 0], [-0.5, s, 0], [-0.5, -s, 0], [0, 0, 1], [0, 0, -1], [0, 0.01, 0]]
    >>> tf = tegum_factors(W)
    >>> [f.tolist() for f in tf.factors], tf.dims, tf.dropped.tolist(), tf.block_orthogonal
    ([[0, 1, 2], [3, 4]], (2, 1), [5], True)
    >>> tegum_factors(W, atol=2)
    Traceback (most recent call last):
    ...
    ValueError: atol must be <= 1.0; got 2.0.
    >>> tegum_factors(W, norm_threshold=-1)
    Traceback (most recent call last):
    ...
    ValueError: norm_threshold must be >= 0.0; got -1.0.
    """
    W = check_packing(W)
    options = _check_factor_options(atol, norm_threshold, rank_rtol, orth_tol)
    from ._scan import check_scan_memory

    check_scan_memory("tegum_factors", *W.shape, W.itemsize)
    return _tegum_factors(*row_scales(W), *options, tile_dtype=W.dtype)


#: Bytes per pair of the dense work of :func:`tegum_factors` (|cosines|, masks, the cross-factor values).
FACTOR_BYTES_PER_PAIR = 40


def _check_factor_options(
    atol=INTERFERENCE_ATOL, norm_threshold=NORM_THRESHOLD, rank_rtol=RANK_RTOL, orth_tol=None, **unknown
) -> tuple:
    """Return the checked ``(atol, norm_threshold, rank_rtol, orth_tol)`` of :func:`tegum_factors`."""
    if unknown:
        raise TypeError(
            f"tegum_factors takes the options atol, norm_threshold, rank_rtol and orth_tol; "
            f"got {', '.join(map(repr, unknown))}."
        )
    atol = check_float(atol, "atol", minimum=0.0, maximum=1.0)
    norm_threshold = check_norm_threshold(norm_threshold)
    rank_rtol = check_float(rank_rtol, "rank_rtol", minimum=0.0, maximum=1.0)
    orth_tol = 2 * atol if orth_tol is None else check_tolerance(orth_tol, "orth_tol")
    return atol, norm_threshold, rank_rtol, orth_tol


def _tegum_factors(
    U: np.ndarray,
    norms: Norms,
    atol: float,
    norm_threshold: float,
    rank_rtol: float,
    orth_tol: float,
    tile_dtype=np.float64,
) -> TegumFactors:
    """:func:`tegum_factors` from the unit rows ``U`` (float64) and row norms, options checked.

    The cosines are read tile by tile in ``tile_dtype`` (float32 for float32
    input; decisions near a threshold are taken in float64, see
    :mod:`packing.structure._scan`), never as an ``n x n`` matrix.
    """
    from ._scan import cross_overlap, scan

    kept, dropped = _represented(norms, norm_threshold, relative=True)
    Uk = U[kept] if kept.size < U.shape[0] else U
    Ut = Uk.astype(np.float32) if np.dtype(tile_dtype) == np.float32 else Uk
    s = scan(Ut, Uk, atol, orthogonality=False, signed=False)
    return _tegum_factors_of_scan(
        U, Ut, norms, kept, dropped, s.labels, s.near, cross_overlap, atol, rank_rtol, orth_tol
    )


def _tegum_factors_of_scan(U, Ut, norms, kept, dropped, labels, near, cross, atol, rank_rtol, orth_tol):
    """Tegum factors from the component ``labels`` of the kept rows (``Ut``: their rows as tiled)."""
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    comps = sorted(np.split(order, cuts) if order.size else [], key=lambda c: (-len(c), c[0]))
    local = np.empty(len(kept), dtype=np.int64)
    for k, c in enumerate(comps):
        local[c] = k
    cross_value = cross(Ut, local) if len(comps) > 1 else 0.0
    return _assemble(U, norms, kept, dropped, comps, cross_value, near, atol, rank_rtol, orth_tol)


def _assemble(U, norms, kept, dropped, comps, cross_overlap, near, atol, rank_rtol, orth_tol) -> TegumFactors:
    """Return the :class:`TegumFactors` of components ``comps`` (lists of positions in ``kept``)."""
    n, d = U.shape
    factors = tuple(kept[np.asarray(c, dtype=int)] for c in comps)
    dims = tuple(rank(U[f], rank_rtol) for f in factors)
    sub = _subspace_overlap([span(U[f], k) for f, k in zip(factors, dims, strict=True)])
    return TegumFactors(
        factors=factors,
        dims=dims,
        dropped=dropped,
        norms=norms.values,
        cross_overlap=cross_overlap,
        subspace_overlap=min(sub, 1.0),
        block_orthogonal=bool(sub <= orth_tol and sum(dims) <= d),
        near_threshold=near,
        n=n,
        d=d,
        atol=atol,
        orth_tol=orth_tol,
    )


def _tegum_factors_dense(
    U: np.ndarray, norms: Norms, atol: float, norm_threshold: float, rank_rtol: float, orth_tol: float
) -> TegumFactors:
    """:func:`tegum_factors` through the dense ``n x n`` cosines: the tiled path's test reference."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    kept, dropped = _represented(norms, norm_threshold, relative=True)
    C = np.abs(U[kept] @ U[kept].T)
    np.fill_diagonal(C, 0.0)
    _, comp = connected_components(csr_matrix(C > atol), directed=False)
    groups = [np.flatnonzero(comp == c).tolist() for c in range(comp.max() + 1 if comp.size else 0)]
    comps = sorted(groups, key=lambda c: (-len(c), c[0]))
    label = np.empty(len(kept), dtype=int)
    for k, c in enumerate(comps):
        label[c] = k
    cross = C[label[:, None] != label[None, :]]
    cross_overlap = float(cross.max()) if cross.size else 0.0
    upper = np.triu(np.ones_like(C, dtype=bool), k=1)
    near = int(np.count_nonzero(upper & (C > atol / 2) & (C <= 2 * atol)))
    return _assemble(U, norms, kept, dropped, comps, cross_overlap, near, atol, rank_rtol, orth_tol)
