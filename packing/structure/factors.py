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

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .._results import Savable
from .._rows import cosines, nonzero_rows, rank, row_norms, span, unit_rows
from .._validation import check_float, check_packing, check_tolerance
from .shapes import RANK_RTOL

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
    norms = row_norms(W)
    kept, dropped = _represented(norms, threshold, bool(relative))
    return kept, dropped, norms


def _represented(norms: np.ndarray, threshold: float, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows with norm above, and at most, ``threshold`` (times the largest if ``relative``)."""
    keep = norms > threshold * (norms.max() if relative else 1.0)
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
    W = check_packing(W)
    atol = check_tolerance(atol, "atol")
    C = cosines(W)
    G = nx.Graph()
    G.add_nodes_from(range(C.shape[0]))
    i, j = np.nonzero(np.triu(np.abs(C) > atol, k=1))
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
    return _orthogonality_graph(unit_rows(W, dtype=np.float64), atol)


def _orthogonality_graph(U: np.ndarray, atol: float) -> nx.Graph:
    """:func:`orthogonality_graph` of unit rows ``U`` (zero rows allowed) at a checked ``atol``."""
    nonzero = np.flatnonzero(nonzero_rows(U))
    V = U[nonzero]
    G = nx.Graph()
    G.add_nodes_from(int(k) for k in nonzero)
    i, j = np.nonzero(np.triu(np.abs(V @ V.T) <= atol, k=1))
    G.add_edges_from((int(nonzero[a]), int(nonzero[b])) for a, b in zip(i, j, strict=True))
    return G


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
    return _tegum_factors(unit_rows(W, dtype=np.float64), row_norms(W), *options)


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
    norm_threshold = check_tolerance(norm_threshold, "norm_threshold")
    rank_rtol = check_float(rank_rtol, "rank_rtol", minimum=0.0, maximum=1.0)
    orth_tol = 2 * atol if orth_tol is None else check_tolerance(orth_tol, "orth_tol")
    return atol, norm_threshold, rank_rtol, orth_tol


def _tegum_factors(
    U: np.ndarray, norms: np.ndarray, atol: float, norm_threshold: float, rank_rtol: float, orth_tol: float
) -> TegumFactors:
    """:func:`tegum_factors` from the unit rows ``U`` (float64) and row norms, options checked."""
    n, d = U.shape
    kept, dropped = _represented(norms, norm_threshold, relative=True)
    C = np.abs(U[kept] @ U[kept].T)
    np.fill_diagonal(C, 0.0)
    # connected components of the interference graph (the same graph as interference_graph,
    # in sparse-matrix form: networkx is slow for the ~n^2/2 edges of an unstructured packing)
    _, comp = connected_components(csr_matrix(C > atol), directed=False)
    groups = [np.flatnonzero(comp == c).tolist() for c in range(comp.max() + 1 if comp.size else 0)]
    comps = sorted(groups, key=lambda c: (-len(c), c[0]))
    factors = tuple(kept[np.array(c, dtype=int)] for c in comps)
    dims = tuple(rank(U[f], rank_rtol) for f in factors)
    label = np.empty(len(kept), dtype=int)
    for k, c in enumerate(comps):
        label[c] = k
    cross = C[label[:, None] != label[None, :]]
    cross_overlap = float(cross.max()) if cross.size else 0.0
    upper = np.triu(np.ones_like(C, dtype=bool), k=1)
    near = int(np.count_nonzero(upper & (C > atol / 2) & (C <= 2 * atol)))
    sub = _subspace_overlap([span(U[f], k) for f, k in zip(factors, dims, strict=True)])
    return TegumFactors(
        factors=factors,
        dims=dims,
        dropped=dropped,
        norms=norms,
        cross_overlap=cross_overlap,
        subspace_overlap=min(sub, 1.0),
        block_orthogonal=bool(sub <= orth_tol and sum(dims) <= d),
        near_threshold=near,
        n=n,
        d=d,
        atol=atol,
        orth_tol=orth_tol,
    )
