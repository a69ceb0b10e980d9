"""Read the geometry out of a packing: tegum factors, their shapes, orthogonal sets.

A learned weight matrix ``W`` of shape ``(n, d)`` (one row per feature) often
decomposes into *tegum factors*: groups of features that interfere with each
other and are orthogonal to every other group, each group a small regular shape
(an antipodal pair, a triangle, a pentagon, ...) in its own subspace. This
module finds that structure:

* :func:`represented_features` drops rows whose norm is below a threshold (the
  dropped rows are reported, never silently hidden);
* :func:`interference_graph` / :func:`tegum_factors`: features are the nodes, an
  edge joins two features with ``|cos| > atol``, the connected components are
  the tegum factors; their subspace dimensions and the largest overlap between
  different factors (feature-wise and subspace-wise) are reported;
* :func:`identify_shape` names the shape of a set of vectors up to rotation,
  reflection, relabelling and small noise, with the Procrustes residual to the
  matched ideal construction; too far from every template is ``"ambiguous"``
  (near one, beyond tolerance) or ``"other"`` (near none);
* :func:`orthogonal_sets`: maximal sets of mutually orthogonal features (cliques
  of the orthogonality graph) and the orthogonal-pair count against Turán's bound;
* :func:`factor_capacities`: per-factor capacity sums against factor dimensions;
* :func:`packing_signature` / :func:`deduplicate_packings`: a gauge-invariant
  fingerprint to recognise the same packing across seeds;
* :func:`analyze_structure` runs all of the above.

Shapes are matched on directions (unit rows): norms are reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import permutations

import networkx as nx
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ._validation import check_float, check_int, check_packing, check_tolerance
from .geometry import capacity, cosine_matrix, feature_dimensionality

__all__ = [
    "represented_features",
    "interference_graph",
    "orthogonality_graph",
    "TegumFactors",
    "tegum_factors",
    "ShapeMatch",
    "identify_shape",
    "shape_template",
    "OrthogonalSets",
    "orthogonal_sets",
    "FactorCapacity",
    "factor_capacities",
    "PackingSignature",
    "packing_signature",
    "deduplicate_packings",
    "StructureReport",
    "analyze_structure",
]

#: Default relative norm threshold: rows shorter than this fraction of the longest are dropped.
NORM_THRESHOLD = 0.1
#: Default |cos| above which two features interfere (an edge of the interference graph).
INTERFERENCE_ATOL = 0.05
#: Default RMS Procrustes residual (per unit vector) up to which a shape is accepted.
SHAPE_TOL = 0.1
#: A residual up to this multiple of the tolerance is "ambiguous"; beyond it, "other".
AMBIGUOUS_FACTOR = 3.0


def _unit(W: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(W, axis=1)
    out = np.zeros_like(W, dtype=np.float64)
    np.divide(W, norms[:, None], out=out, where=norms[:, None] > 0)
    return out


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
    W = check_packing(W).astype(np.float64)
    threshold = check_tolerance(threshold, "threshold")
    norms = np.linalg.norm(W, axis=1)
    cut = threshold * (norms.max() if relative else 1.0)
    keep = norms > cut
    return np.flatnonzero(keep), np.flatnonzero(~keep), norms


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
    atol = check_tolerance(atol, "atol")
    C = cosine_matrix(check_packing(W).astype(np.float64))
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
    atol = check_tolerance(atol, "atol")
    W = check_packing(W).astype(np.float64)
    C = cosine_matrix(W)
    nonzero = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)
    G = nx.Graph()
    G.add_nodes_from(int(k) for k in nonzero)
    sub = np.abs(C[np.ix_(nonzero, nonzero)]) <= atol
    i, j = np.nonzero(np.triu(sub, k=1))
    G.add_edges_from((int(nonzero[a]), int(nonzero[b])) for a, b in zip(i, j, strict=True))
    return G


def _rank(V: np.ndarray, rtol: float) -> int:
    if V.size == 0:
        return 0
    s = np.linalg.svd(V, compute_uv=False)
    return int(np.count_nonzero(s > rtol * s[0])) if s[0] > 0 else 0


def _gram_spectrum(X: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``X Xᵀ``, descending, from the singular values of X (O(n d²), not O(n³))."""
    s = np.linalg.svd(X, compute_uv=False) if X.size else np.zeros(0)
    out = np.zeros(X.shape[0])
    out[: len(s)] = s**2
    return out


def _span(V: np.ndarray, k: int) -> np.ndarray:
    """Orthonormal basis (d, k) of the top-k right singular subspace of V."""
    return np.linalg.svd(V, full_matrices=False)[2][:k].T


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
class TegumFactors:
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
    rank_rtol: float = 0.1,
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
    """
    W = check_packing(W).astype(np.float64)
    atol = check_float(atol, "atol", minimum=0.0, maximum=1.0)
    rank_rtol = check_float(rank_rtol, "rank_rtol", minimum=0.0, maximum=1.0)
    orth_tol = 2 * atol if orth_tol is None else check_tolerance(orth_tol, "orth_tol")
    kept, dropped, norms = represented_features(W, threshold=norm_threshold)
    n, d = W.shape
    U = _unit(W)
    C = np.abs(U[kept] @ U[kept].T)
    np.fill_diagonal(C, 0.0)
    # connected components of the interference graph (the same graph as interference_graph,
    # in sparse-matrix form: networkx is slow for the ~n^2/2 edges of an unstructured packing)
    _, comp = connected_components(csr_matrix(C > atol), directed=False)
    groups = [np.flatnonzero(comp == c).tolist() for c in range(comp.max() + 1 if comp.size else 0)]
    comps = sorted(groups, key=lambda c: (-len(c), c[0]))
    factors = tuple(kept[np.array(c, dtype=int)] for c in comps)
    dims = tuple(_rank(U[f], rank_rtol) for f in factors)
    label = np.empty(len(kept), dtype=int)
    for k, c in enumerate(comps):
        label[c] = k
    cross = C[label[:, None] != label[None, :]]
    cross_overlap = float(cross.max()) if cross.size else 0.0
    upper = np.triu(np.ones_like(C, dtype=bool), k=1)
    near = int(np.count_nonzero(upper & (C > atol / 2) & (C <= 2 * atol)))
    sub = _subspace_overlap([_span(U[f], k) for f, k in zip(factors, dims, strict=True)])
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


# ----------------------------------------------------------------------------- shapes

_POLYGON_NAMES = {3: "triangle", 4: "square", 5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}


def _shape_name(family: str, m: int) -> str:
    if family == "dedicated":
        return "dedicated"
    if family == "digon":
        return "digon"
    if family == "polygon":
        return _POLYGON_NAMES.get(m, f"{m}-gon")
    if family == "simplex":
        return "tetrahedron" if m == 4 else f"{m - 1}-simplex"
    if family == "cross_polytope":
        return "octahedron" if m == 6 else f"{m // 2}-cross-polytope"
    if family == "rectified_simplex":
        r = _rectified_rank(m)
        return "rectified 5-cell" if r == 4 else f"rectified {r}-simplex"
    return family.replace("_", " ")


def _candidates(m: int, max_polygon: int = 24):
    """(family, m) of every template with m points (each shape once)."""
    if m == 1:
        return [("dedicated", 1)]
    if m == 2:
        return [("digon", 2)]
    out = []
    if m <= max_polygon:
        out.append(("polygon", m))
    if m >= 4:
        out.append(("simplex", m))
    if m % 2 == 0 and m >= 6:
        out.append(("cross_polytope", m))
    if m == 8:
        out.append(("square_antiprism", m))
    r = _rectified_rank(m)
    if r is not None and r >= 4:  # r = 2, 3 are the triangle and the octahedron
        out.append(("rectified_simplex", m))
    return out


def _rectified_rank(m: int) -> int | None:
    """Return ``r`` with ``m = (r + 1) r / 2`` (the rectified r-simplex has m vertices), else None."""
    r = int(round((np.sqrt(8 * m + 1) - 1) / 2))
    return r if r >= 2 and r * (r + 1) // 2 == m else None


def _template_dim(family: str, m: int) -> int:
    """Dimension spanned by the ideal shape (without building it)."""
    fixed = {"dedicated": 1, "digon": 1, "polygon": 2, "square_antiprism": 3}
    if family in fixed:
        return fixed[family]
    return {"simplex": m - 1, "cross_polytope": m // 2}.get(family) or _rectified_rank(m)


@cache
def _template(family: str, m: int) -> np.ndarray:
    """Return the unit rows of the ideal shape in coordinates of its own span."""
    from . import constructions as c

    if family == "dedicated":
        T = c.orthonormal_basis(1)
    elif family == "digon":
        T = c.antipodal_pair()
    elif family == "polygon":
        T = c.regular_polygon(m)
    elif family == "simplex":
        T = c.regular_simplex(m)
    elif family == "cross_polytope":
        T = c.cross_polytope(m // 2)
    elif family == "square_antiprism":
        T = c.square_antiprism()
    elif family == "rectified_simplex":  # midpoints of the edges of the regular r-simplex
        S = c.regular_simplex(_rectified_rank(m) + 1)
        T = np.array([S[i] + S[j] for i in range(len(S)) for j in range(i + 1, len(S))])
    else:  # pragma: no cover - guarded by shape_template
        raise ValueError(family)
    T = _unit(np.asarray(T, dtype=np.float64))
    k = _rank(T, 1e-8)
    T = T @ _span(T, k)
    T.setflags(write=False)
    return T


_FAMILIES = (
    "dedicated",
    "digon",
    "polygon",
    "simplex",
    "cross_polytope",
    "square_antiprism",
    "rectified_simplex",
)


@cache
def _antiprism_family() -> tuple:
    """Square antiprisms of several heights: the construction's, the tight one, and a grid.

    The height (cosine to the symmetry axis) is a free parameter of the shape:
    the construction's may differ from the tight frame (height ``1/sqrt(3)``,
    capacity 3/8 per feature) that toy models learn, so a factor is matched to
    the nearest height.
    """
    T = _template("square_antiprism", 8)
    evals, evecs = np.linalg.eigh(T.T @ T)
    gaps = [abs(evals[i] - evals[j]) + abs(evals[i] - evals[3 - i - j]) for i, j in ((0, 1), (1, 2), (0, 2))]
    axis = evecs[:, [2, 0, 1][int(np.argmin(gaps))]]  # the eigenvalue that differs from the other two
    z = T @ axis
    planar = T - np.outer(z, axis)
    planar /= np.linalg.norm(planar, axis=1, keepdims=True)
    heights = sorted({float(np.abs(z).mean()), 1 / np.sqrt(3), *np.linspace(0.3, 0.8, 11).tolist()})
    out = []
    for h in heights:
        V = planar * np.sqrt(1 - h * h) + np.outer(np.sign(z) * h, axis)
        V.setflags(write=False)
        out.append(V)
    return tuple(out)


def shape_template(family: str, m: int | None = None) -> np.ndarray:
    """Return the ideal shape ``family`` with ``m`` points as unit rows in its own span.

    Parameters
    ----------
    family : {"dedicated", "digon", "polygon", "simplex", "cross_polytope", "square_antiprism", \
"rectified_simplex"}
    m : int, optional
        Number of points (polygon >= 3, simplex >= 2, cross_polytope even >= 2,
        rectified_simplex ``r (r + 1) / 2``: the midpoints of the edges of the
        regular ``r``-simplex, in ``R^r``); fixed for the other families.

    Returns
    -------
    ndarray, shape (m, k)
        ``k`` is the dimension the shape spans.

    Examples
    --------
    >>> shape_template("polygon", 5).shape, shape_template("square_antiprism").shape
    ((5, 2), (8, 3))
    >>> shape_template("polygon", 2)
    Traceback (most recent call last):
    ...
    ValueError: m must be >= 3; got 2.
    """
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}; got {family!r}.")
    fixed = {"dedicated": 1, "digon": 2, "square_antiprism": 8}
    if family in fixed:
        if m is not None and check_int(m, "m") != fixed[family]:
            raise ValueError(f"m must be {fixed[family]} for a {family}; got {m}.")
        m = fixed[family]
    elif m is None:
        raise ValueError(f"m (the number of points) is required for a {family}; got None.")
    else:
        minimum = {"polygon": 3, "simplex": 2, "cross_polytope": 2, "rectified_simplex": 3}[family]
        m = check_int(m, "m", minimum=minimum)
        if family == "cross_polytope" and m % 2:
            raise ValueError(f"m must be even for a cross-polytope (2 points per axis); got {m}.")
        if family == "rectified_simplex" and _rectified_rank(m) is None:
            raise ValueError(f"m must be a triangular number r (r + 1) / 2 for a rectified simplex; got {m}.")
    return _template(family, m).copy()


def _procrustes(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Orthogonal Q (rotation or reflection) minimising ||A Q - B||_F."""
    U, _, Vt = np.linalg.svd(A.T @ B)
    return U @ Vt


def _starts(family: str, X: np.ndarray, T: np.ndarray):
    """Yield initial correspondences (rows of X, rows of T) seeding the Procrustes search."""
    m, k = T.shape
    if family == "simplex":  # every bijection is an automorphism
        yield np.arange(m), np.arange(m)
        return
    if family == "cross_polytope":  # pair antipodes; any pairing and order is equivalent
        G = X @ X.T
        rows, cols = linear_sum_assignment(G + np.diag(np.full(m, 1e9)))
        GT = T @ T.T
        trows, tcols = linear_sum_assignment(GT + np.diag(np.full(m, 1e9)))
        xp = sorted({tuple(sorted(p)) for p in zip(rows, cols, strict=True)})[: m // 2]
        tp = sorted({tuple(sorted(p)) for p in zip(trows, tcols, strict=True)})[: m // 2]
        if len(xp) == len(tp):
            yield np.ravel(xp), np.ravel(tp)
        return
    # vertex-transitive templates: X[a0] may go to T[0]; the other k - 1 anchors (a well
    # conditioned basis) to points of T whose inner products agree with theirs within SLACK
    anchors = [0]
    R = X - np.outer(X @ X[0], X[0]) / max(X[0] @ X[0], 1e-300)
    for _ in range(1, k):
        a = int(np.argmax(np.linalg.norm(R, axis=1)))
        anchors.append(a)
        v = R[a] / max(np.linalg.norm(R[a]), 1e-300)
        R = R - np.outer(R @ v, v)
    GX, GT = X[anchors] @ X[anchors].T, T @ T.T
    count = 0

    def extend(tup):
        nonlocal count
        j = len(tup)
        if j == k:
            count += 1
            yield np.array(anchors), np.array(tup)
            return
        for t in range(m):
            if count >= MAX_STARTS:
                return
            if t not in tup and all(abs(GX[j, i] - GT[t, tup[i]]) <= SLACK for i in range(j)):
                yield from extend((*tup, t))

    yield from extend((0,))


#: Up to this many points every correspondence is tried (exact optimum); beyond, a seeded search.
EXHAUSTIVE_POINTS = 6
#: Seeded search: anchor inner products may differ from the template's by this much ...
SLACK = 0.5
#: ... and at most this many anchor correspondences are tried.
MAX_STARTS = 2000


def _match(family: str, X: np.ndarray, out2: float, T: np.ndarray):
    """Best (residual, permutation) aligning X (m, k) onto template T (m, k)."""
    m = T.shape[0]
    best = (np.inf, None)
    if m <= EXHAUSTIVE_POINTS:
        for perm in permutations(range(m)):
            perm = np.array(perm)
            Q = _procrustes(X, T[perm])
            r2 = float(np.sum((X @ Q - T[perm]) ** 2))
            if r2 < best[0]:
                best = (r2, perm)
        return float(np.sqrt(max(best[0] + out2, 0.0) / m)), best[1]
    for rows, cols in _starts(family, X, T):
        Q = _procrustes(X[rows], T[cols])
        for _ in range(3):
            Y = X @ Q
            cost = -(Y @ T.T)  # maximising alignment = minimising squared distance
            _, perm = linear_sum_assignment(cost)
            Q = _procrustes(X, T[perm])
        r2 = (float(np.sum((X @ Q - T[perm]) ** 2)) + out2) / m
        if r2 < best[0]:
            best = (r2, perm)
    return float(np.sqrt(max(best[0], 0.0))), best[1]


@dataclass(frozen=True)
class ShapeMatch:
    """The shape of a set of vectors, matched to ideal constructions.

    Attributes
    ----------
    label : str
        The matched shape ("pentagon", "digon", "tetrahedron", "dedicated",
        "square antiprism", "7-gon", "octahedron", ...) when the residual is within
        tolerance; ``"ambiguous"`` when the nearest shape is beyond tolerance but
        within ``AMBIGUOUS_FACTOR`` times it; ``"other"`` otherwise.
    nearest : str or None
        Name of the nearest template (whatever the label).
    family : str or None
        Family of the nearest template (``"polygon"``, ``"simplex"``, ...).
    residual : float
        RMS distance per unit vector between the vectors (optimally rotated,
        reflected and relabelled) and the nearest template; 0 for an exact match.
    confidence : float
        ``max(0, 1 - residual / (AMBIGUOUS_FACTOR * tol))``: 1 for an exact match,
        0 at or beyond the "other" threshold.
    n_points, dim : int
        Number of vectors and dimension of their span.
    gram_spectrum : ndarray
        Eigenvalues (descending) of the Gram matrix of the unit vectors.
    candidates : dict
        Residual to every template that was tried, by name.
    order : ndarray of int or None
        ``order[j]`` is the input row matched to template point ``j``.
    tol : float
        The acceptance tolerance.
    """

    label: str
    nearest: str | None
    family: str | None
    residual: float
    confidence: float
    n_points: int
    dim: int
    gram_spectrum: np.ndarray
    candidates: dict = field(default_factory=dict)
    order: np.ndarray | None = None
    tol: float = SHAPE_TOL

    @property
    def matched(self) -> bool:
        """Whether the shape was identified within tolerance."""
        return self.label not in ("ambiguous", "other")


def identify_shape(V, *, tol: float = SHAPE_TOL, rank_rtol: float = 0.1) -> ShapeMatch:
    """Name the shape of the rows of ``V`` up to rotation, reflection, relabelling and noise.

    The rows are normalised; each candidate ideal shape with the same number of
    points (dedicated dimension, antipodal pair, regular polygon, regular simplex,
    cross-polytope, square antiprism, rectified simplex such as the rectified
    5-cell: 10 points in ``R^4`` that toy models learn) is aligned by Procrustes analysis after a
    search over correspondences (exhaustive up to 6 points, else seeded by the
    shape's symmetry and refined by linear assignment). The residual includes
    the part of ``V`` outside the template's dimension. A square antiprism is
    matched at the nearest of several heights (its one free parameter).

    Parameters
    ----------
    V : array_like, shape (m, d)
        The vectors of one factor (``m >= 1``, nonzero rows).
    tol : float, default 0.1
        Largest RMS residual per unit vector accepted as a match.
    rank_rtol : float, default 0.1
        Relative singular-value cut-off for the reported ``dim``.

    Returns
    -------
    ShapeMatch

    Raises
    ------
    ValueError
        If ``V`` has a zero row (drop unrepresented features first).

    Examples
    --------
    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> pentagon = np.c_[np.cos(t), np.sin(t), np.zeros(5)] @ [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    >>> m = identify_shape(pentagon)
    >>> m.label, m.dim, round(m.residual, 6)
    ('pentagon', 2, 0.0)
    >>> identify_shape(pentagon + [0, 0, 0.3]).label
    'ambiguous'
    >>> identify_shape([[1.0, 0.0], [0.0, 0.0]])
    Traceback (most recent call last):
    ...
    ValueError: V must have nonzero rows; row 1 is zero. Drop unrepresented features first.
    """
    V = check_packing(V, "V").astype(np.float64)
    tol = check_tolerance(tol, "tol")
    norms = np.linalg.norm(V, axis=1)
    if np.any(norms == 0):
        raise ValueError(
            f"V must have nonzero rows; row {int(np.argmin(norms))} is zero. "
            f"Drop unrepresented features first."
        )
    U = V / norms[:, None]
    m = U.shape[0]
    spectrum = _gram_spectrum(U)
    dim = _rank(U, rank_rtol)
    results = {}
    for family, size in _candidates(m):
        if _template_dim(family, size) > U.shape[1]:
            continue  # the shape does not fit in the space of V
        T = _template(family, size)
        k = T.shape[1]
        B = _span(U, k)
        X = U @ B
        out2 = float(np.sum(U * U) - np.sum(X * X))
        templates = _antiprism_family() if family == "square_antiprism" else (T,)
        residual, perm = min((_match(family, X, max(out2, 0.0), V) for V in templates), key=lambda r: r[0])
        order = np.empty(m, dtype=int)
        order[perm] = np.arange(m)
        results[_shape_name(family, size)] = (residual, family, order)
    if not results:
        return ShapeMatch("other", None, None, np.inf, 0.0, m, dim, spectrum, {}, None, tol)
    name = min(results, key=lambda key: results[key][0])
    residual, family, order = results[name]
    if residual <= tol:
        label = name
    elif residual <= AMBIGUOUS_FACTOR * tol:
        label = "ambiguous"
    else:
        label = "other"
    confidence = max(0.0, 1.0 - residual / (AMBIGUOUS_FACTOR * tol)) if tol > 0 else float(residual == 0)
    return ShapeMatch(
        label=label,
        nearest=name,
        family=family,
        residual=residual,
        confidence=confidence,
        n_points=m,
        dim=dim,
        gram_spectrum=spectrum,
        candidates={key: value[0] for key, value in results.items()},
        order=order,
        tol=tol,
    )


# ----------------------------------------------------------------------------- orthogonal sets


@dataclass(frozen=True)
class OrthogonalSets:
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


def orthogonal_sets(W, *, atol: float = INTERFERENCE_ATOL, max_sets: int = 1000) -> OrthogonalSets:
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
    from .analytic import turan_orthogonal_pairs

    W = check_packing(W).astype(np.float64)
    max_sets = check_int(max_sets, "max_sets")
    G = orthogonality_graph(W, atol=atol)
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
    n, d = G.number_of_nodes(), W.shape[1]
    return OrthogonalSets(
        sets=tuple(sets),
        largest=max((len(s) for s in sets), default=0),
        disjoint=bool(disjoint),
        complete=complete,
        orthogonal_pairs=G.number_of_edges(),
        turan_bound=int(turan_orthogonal_pairs(n, d)) if n else 0,
        n=n,
        d=d,
        atol=check_tolerance(atol, "atol"),
    )


# ----------------------------------------------------------------------------- capacities


@dataclass(frozen=True)
class FactorCapacity:
    """Capacity bookkeeping of one tegum factor.

    Attributes
    ----------
    features : ndarray of int
        Row indices of the factor.
    capacity : ndarray
        Capacity of each feature (computed on the whole ``W``).
    dimensionality : ndarray
        Feature dimensionality of each feature (Elhage et al. 2022).
    total : float
        Sum of the capacities.
    dim : int
        Dimension of the factor's span.
    saturated : bool
        ``|total - dim| <= tol``: the factor uses its whole subspace (a tight frame
        of it), as every ideal factor does.
    """

    features: np.ndarray
    capacity: np.ndarray
    dimensionality: np.ndarray
    total: float
    dim: int
    saturated: bool


def factor_capacities(W, factors=None, *, tol: float = 0.05, **kwargs) -> list[FactorCapacity]:
    """Per-factor capacities and the check that they add up to each factor's dimension.

    Parameters
    ----------
    W : array_like, shape (n, d)
    factors : TegumFactors, optional
        A decomposition of ``W``; computed with :func:`tegum_factors` (``**kwargs``) if omitted.
    tol : float, default 0.05
        Allowed ``|Σ capacity - dim|`` for a saturated factor.

    Returns
    -------
    list of FactorCapacity

    Examples
    --------
    >>> s = np.sqrt(3) / 2
    >>> caps = factor_capacities([[1, 0, 0], [-0.5, s, 0], [-0.5, -s, 0], [0, 0, 1]])
    >>> [(round(c.total, 6), c.dim, c.saturated) for c in caps]
    [(2.0, 2, True), (1.0, 1, True)]
    """
    W = check_packing(W).astype(np.float64)
    tol = check_tolerance(tol, "tol")
    if factors is None:
        factors = tegum_factors(W, **kwargs)
    elif not isinstance(factors, TegumFactors):
        raise TypeError(
            f"factors must be a TegumFactors from tegum_factors(W); got {type(factors).__name__}."
        )
    C, D = capacity(W), feature_dimensionality(W)
    out = []
    for f, k in zip(factors.factors, factors.dims, strict=True):
        total = float(C[f].sum())
        out.append(FactorCapacity(f, C[f], D[f], total, int(k), bool(abs(total - k) <= tol)))
    return out


# ----------------------------------------------------------------------------- signature


@dataclass(frozen=True, eq=False)
class PackingSignature:
    """A fingerprint of a packing invariant under its gauge symmetries.

    Invariant under orthogonal maps of ``R^d`` (rotations and reflections),
    permutations of the features, and, when ``signed=False``, sign flips of
    individual features. Two signatures compare equal (``==``) when they agree
    within ``atol``; rows are matched by an optimal assignment, so ties and
    noise do not depend on an ordering.

    Attributes
    ----------
    n : int
        Number of rows.
    rank : int
        Numerical rank of the (normalised) rows.
    spectrum : ndarray, shape (n,)
        Eigenvalues of the Gram matrix, descending.
    profiles : ndarray, shape (n, n + 2)
        One row per feature: its Gram row sorted (absolute values if unsigned),
        then ``(G**2)_ii`` and ``(G**3)_ii`` (both unchanged by sign flips).
    signed, normalize : bool
        The gauge the signature was built for.
    atol : float
        Tolerance used by ``==``.
    """

    n: int
    rank: int
    spectrum: np.ndarray
    profiles: np.ndarray
    signed: bool
    normalize: bool
    atol: float

    def distance(self, other: PackingSignature) -> float:
        """Largest entry-wise difference after optimally matching features (inf if incomparable)."""
        if not isinstance(other, PackingSignature):
            raise TypeError(f"other must be a PackingSignature; got {type(other).__name__}.")
        gauge = ("n", "rank", "signed", "normalize")
        if any(getattr(self, a) != getattr(other, a) for a in gauge):
            return np.inf
        if self.n == 0:
            return 0.0
        spec = float(np.max(np.abs(self.spectrum - other.spectrum)))
        diff = np.empty((self.n, self.n))
        for i in range(0, self.n, 64):  # row blocks keep memory at O(64 n^2)
            block = self.profiles[i : i + 64, None, :] - other.profiles[None, :, :]
            diff[i : i + 64] = np.abs(block).max(axis=2)
        rows, cols = linear_sum_assignment(diff)
        return max(spec, float(diff[rows, cols].max()))

    def matches(self, other: PackingSignature, atol: float | None = None) -> bool:
        """Whether ``other`` is the same packing up to the gauge, within ``atol``."""
        atol = self.atol if atol is None else check_tolerance(atol, "atol")
        if not isinstance(other, PackingSignature):
            raise TypeError(f"other must be a PackingSignature; got {type(other).__name__}.")
        if self.n == other.n and self.n and np.max(np.abs(self.spectrum - other.spectrum)) > atol:
            return False  # cheap rejection before matching the features
        return self.distance(other) <= atol

    def __eq__(self, other) -> bool:
        if not isinstance(other, PackingSignature):
            return NotImplemented
        return self.matches(other)

    __hash__ = None  # tolerant equality cannot be hashed; use key() to bucket

    def key(self, decimals: int = 3) -> tuple:
        """Return a hashable, rounded summary (equal packings may straddle a rounding edge)."""
        return (self.n, self.rank, self.signed, tuple(np.round(self.spectrum, decimals) + 0.0))


def packing_signature(
    W, *, signed: bool = True, normalize: bool = True, atol: float = 1e-6
) -> PackingSignature:
    """Return the gauge-invariant signature of a packing.

    Parameters
    ----------
    W : array_like, shape (n, d)
    signed : bool, default True
        Features are vectors (True; a sign flip changes the packing, as in a ReLU
        toy model) or lines (False; sign flips are a symmetry).
    normalize : bool, default True
        Compare directions only (rows scaled to unit norm; zero rows stay zero).
    atol : float, default 1e-6
        Tolerance of ``==`` between signatures.

    Returns
    -------
    PackingSignature

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(5, 3))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    >>> packing_signature(W) == packing_signature(W[::-1] @ Q)
    True
    >>> flipped = W * [[1], [-1], [1], [1], [1]]
    >>> packing_signature(W) == packing_signature(flipped)
    False
    >>> packing_signature(W, signed=False) == packing_signature(flipped, signed=False)
    True
    """
    W = check_packing(W).astype(np.float64)
    atol = check_tolerance(atol, "atol")
    X = _unit(W) if normalize else W
    G = X @ X.T
    n = G.shape[0]
    spectrum = _gram_spectrum(X)
    S = X.T @ X  # (G^k)_ii = X_i S^(k-1) X_iᵀ: no n x n x n products
    walks = np.c_[np.einsum("ij,ij->i", X @ S, X), np.einsum("ij,ij->i", X @ (S @ S), X)]
    rows = np.sort(G if signed else np.abs(G), axis=1)
    scale = max(float(np.max(np.abs(spectrum))), 1e-300)
    rank = int(np.count_nonzero(spectrum > 1e-8 * scale)) if n else 0
    return PackingSignature(n, rank, spectrum, np.c_[rows, walks], bool(signed), bool(normalize), atol)


def deduplicate_packings(Ws, *, signed: bool = True, atol: float = 0.05, normalize: bool = True):
    """Group packings that are the same up to rotation, reflection, relabelling (and signs).

    Parameters
    ----------
    Ws : sequence of array_like, each (n_k, d_k), or array of shape (instances, n, d)
    signed : bool, default True
        See :func:`packing_signature`.
    atol : float, default 0.05
        Largest signature difference within one group (learned packings are noisy).
    normalize : bool, default True

    Returns
    -------
    representatives : list of int
        Index of the first packing of each group.
    labels : ndarray of int
        Group of every packing (an index into ``representatives``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> A, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    >>> deduplicate_packings([A, B, A @ Q, B[::-1]])
    ([0, 1], array([0, 1, 0, 1]))
    """
    atol = check_tolerance(atol, "atol")
    if isinstance(Ws, np.ndarray) and Ws.ndim != 3:
        raise ValueError(f"Ws must be a sequence of (n, d) packings or a 3-D array; got shape {Ws.shape}.")
    sigs = [
        packing_signature(check_packing(W, f"Ws[{k}]"), signed=signed, normalize=normalize)
        for k, W in enumerate(Ws)
    ]
    reps, labels = [], np.empty(len(sigs), dtype=int)
    for k, s in enumerate(sigs):
        for g, r in enumerate(reps):
            if s.matches(sigs[r], atol):
                labels[k] = g
                break
        else:
            labels[k] = len(reps)
            reps.append(k)
    return reps, labels


# ----------------------------------------------------------------------------- all together


@dataclass(frozen=True)
class StructureReport:
    """Everything :func:`analyze_structure` found in one packing.

    Attributes
    ----------
    factors : TegumFactors
    shapes : list of ShapeMatch
        One per factor, in the order of ``factors.factors``.
    capacities : list of FactorCapacity
        One per factor.
    orthogonal : OrthogonalSets
        Over the represented features (indices into ``W``).
    signature : PackingSignature
        Of the represented features.
    """

    factors: TegumFactors
    shapes: list
    capacities: list
    orthogonal: OrthogonalSets
    signature: PackingSignature

    @property
    def shape_labels(self) -> list:
        """Shape label of each factor."""
        return [s.label for s in self.shapes]

    @property
    def feature_shapes(self) -> np.ndarray:
        """Shape label of each row of ``W`` (``"dropped"`` for unrepresented rows)."""
        out = np.full(self.factors.n, "dropped", dtype=object)
        for f, s in zip(self.factors.factors, self.shapes, strict=True):
            out[f] = s.label
        return out

    @property
    def ambiguous(self) -> bool:
        """Whether any factor is unidentified or the decomposition is not block-orthogonal."""
        return (not self.factors.block_orthogonal) or any(not s.matched for s in self.shapes)

    @property
    def description(self) -> str:
        """The detected tegum product, e.g. ``"pentagon"``, ``"triangle ⊕ digon"`` or ``"3×digon"``."""
        counts: dict = {}
        for label in self.shape_labels:
            counts[label] = counts.get(label, 0) + 1
        return " ⊕ ".join(f"{c}×{label}" if c > 1 else label for label, c in counts.items())

    def summary(self) -> str:
        """Return a short plain-text report."""
        tf = self.factors
        lines = [
            f"{tf.n} features in d={tf.d}: {len(tf.dropped)} dropped "
            f"(norm <= threshold){': ' + str(tf.dropped.tolist()) if len(tf.dropped) else ''}",
            f"tegum product: {self.description}",
            f"factor dims {list(tf.dims)} (sum {tf.total_dim} of {tf.d}); "
            f"largest cross-factor |cos| {tf.cross_overlap:.3g}, subspace overlap {tf.subspace_overlap:.3g}"
            f"{'' if tf.block_orthogonal else '  (NOT block-orthogonal)'}",
        ]
        for f, s, c in zip(tf.factors, self.shapes, self.capacities, strict=True):
            lines.append(
                f"  {s.label:<16} features {f.tolist()}  dim {c.dim}  residual {s.residual:.3g}"
                f" (nearest {s.nearest})  capacity sum {c.total:.3f}"
            )
        o = self.orthogonal
        lines.append(
            f"orthogonal pairs {o.orthogonal_pairs} of Turán bound {o.turan_bound}; largest orthogonal "
            f"set {o.largest}; maximal sets {'disjoint' if o.disjoint else 'overlapping'}"
            f"{'' if o.complete else f' (enumeration stopped after {len(o.sets)})'}"
        )
        return "\n".join(lines)


def analyze_structure(
    W,
    *,
    atol: float = INTERFERENCE_ATOL,
    norm_threshold: float = NORM_THRESHOLD,
    shape_tol: float = SHAPE_TOL,
    signed: bool = True,
) -> StructureReport:
    """Detect the tegum factors of ``W``, their shapes, capacities and orthogonal sets.

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, default 0.05
        Interference tolerance (see :func:`tegum_factors`); also the orthogonality
        tolerance of :func:`orthogonal_sets`.
    norm_threshold : float, default 0.1
        Relative norm below which a feature counts as not represented.
    shape_tol : float, default 0.1
        See :func:`identify_shape`.
    signed : bool, default True
        Gauge of the signature (see :func:`packing_signature`).

    Returns
    -------
    StructureReport

    Raises
    ------
    ValueError
        If no feature is represented (all rows below the norm threshold).

    Examples
    --------
    An octahedron is three mutually orthogonal antipodal pairs:

    >>> W = np.vstack([np.eye(3), -np.eye(3)])
    >>> r = analyze_structure(W)
    >>> r.description, r.orthogonal.largest, r.orthogonal.disjoint
    ('3×digon', 3, False)
    >>> analyze_structure(W, shape_tol=-1)
    Traceback (most recent call last):
    ...
    ValueError: shape_tol must be >= 0.0; got -1.0.
    """
    W = check_packing(W).astype(np.float64)
    shape_tol = check_tolerance(shape_tol, "shape_tol")
    tf = tegum_factors(W, atol=atol, norm_threshold=norm_threshold)
    if not tf.factors:
        raise ValueError(
            f"W has no represented feature (every row norm <= {norm_threshold} times the largest, "
            f"which is {float(tf.norms.max())})."
        )
    shapes = [identify_shape(W[f], tol=shape_tol) for f in tf.factors]
    caps = factor_capacities(W, tf)
    kept = np.setdiff1d(np.arange(tf.n), tf.dropped)
    orth = orthogonal_sets(W[kept], atol=atol)
    orth = OrthogonalSets(
        sets=tuple(kept[s] for s in orth.sets),
        **{k: getattr(orth, k) for k in ("largest", "disjoint", "complete", "orthogonal_pairs")},
        turan_bound=orth.turan_bound,
        n=orth.n,
        d=orth.d,
        atol=orth.atol,
    )
    return StructureReport(tf, shapes, caps, orth, packing_signature(W[kept], signed=signed))
