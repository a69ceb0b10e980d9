"""Procrustes matching of a set of unit vectors onto one shape template.

The residual of ``X`` against a template ``T`` (both ``(m, k)``) is the least
RMS distance ``||X Q - T[perm]||`` over orthogonal maps ``Q`` (rotations and
reflections) and correspondences ``perm``. For each correspondence the best
``Q`` is the orthogonal Procrustes solution; the correspondences are searched
exhaustively up to :data:`EXHAUSTIVE_POINTS` points, beyond that from starts
seeded by the template's symmetry and refined by linear assignment.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
from threadpoolctl import threadpool_limits

__all__: list[str] = []  # private module

#: Up to this many points every correspondence is tried (exact optimum); beyond, a seeded search.
EXHAUSTIVE_POINTS = 6
#: Seeded search: anchor inner products may differ from the template's by this much ...
SLACK = 0.5
#: ... and at most this many anchor correspondences are tried ...
MAX_STARTS = 2000
#: ... within this many elementary steps (each start costs three m x m assignments, about 3 m³):
#: a template of more points than the budget allows even one start for is not matched (a factor
#: of 5,050 features could otherwise take hours against the rectified 100-simplex).
MATCH_WORK = 2e10
#: The seeded search for anchor correspondences stops after this many candidate checks.
ANCHOR_CHECKS = 2_000_000


def _procrustes(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Orthogonal Q (rotation or reflection) minimising ||A Q - B||_F."""
    U, _, Vt = np.linalg.svd(A.T @ B)
    return U @ Vt


def _starts(family: str, X: np.ndarray, T: np.ndarray, max_starts: int = MAX_STARTS):
    """Yield initial correspondences (rows of X, rows of T) seeding the Procrustes search."""
    from scipy.optimize import linear_sum_assignment

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
    count = checks = 0

    def extend(tup):
        nonlocal count, checks
        j = len(tup)
        if j == k:
            count += 1
            yield np.array(anchors), np.array(tup)
            return
        for t in range(m):
            checks += 1
            if count >= max_starts or checks > ANCHOR_CHECKS:
                return
            if t not in tup and all(abs(GX[j, i] - GT[t, tup[i]]) <= SLACK for i in range(j)):
                yield from extend((*tup, t))

    yield from extend((0,))


def match(family: str, X: np.ndarray, out2: float, T: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the best ``(residual, perm)`` aligning ``X`` onto ``T`` (see :func:`_match`).

    The products here are small: one BLAS thread is faster than several that
    contend for the cores (tenfold on a loaded machine).
    """
    with threadpool_limits(1):
        return _match(family, X, out2, T)


def _match(family: str, X: np.ndarray, out2: float, T: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the best ``(residual, perm)`` aligning ``X`` (m, k) onto template ``T`` (m, k).

    ``out2 >= 0`` is the squared norm of the part of the vectors outside the
    ``k``-dimensional span ``X`` is expressed in; it adds to the residual.
    ``perm[i]`` is the template point matched to row ``i`` of ``X``; ``(inf, None)``
    when not even one start fits in :data:`MATCH_WORK`.
    """
    from scipy.optimize import linear_sum_assignment

    m = T.shape[0]
    best = (np.inf, None)
    max_starts = min(MAX_STARTS, int(MATCH_WORK // (3 * m**3)))
    if m > EXHAUSTIVE_POINTS and max_starts < 1:
        return best
    if m <= EXHAUSTIVE_POINTS:
        for perm in permutations(range(m)):
            perm = np.array(perm)
            Q = _procrustes(X, T[perm])
            r2 = float(np.sum((X @ Q - T[perm]) ** 2))
            if r2 < best[0]:
                best = (r2, perm)
        return float(np.sqrt(max(best[0] + out2, 0.0) / m)), best[1]
    for rows, cols in _starts(family, X, T, max_starts):
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
