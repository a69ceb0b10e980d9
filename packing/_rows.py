"""Rows as directions: the one owner of unit rows, norms, cosines, rank and span.

Every module that needs the direction of a row of ``W`` gets it here, so there is
one zero-row policy and one way of surviving extreme scales.

Zero-row policy
---------------
A row whose entries are all exactly zero has no direction. :func:`unit_rows`
leaves it at zero, so it is orthogonal to every other row (cosine 0) and has
capacity 0. Every finite row with a nonzero entry is a direction, however small
or large its norm: rows are first divided by their largest absolute entry, so
norms from the smallest subnormal to the largest finite float neither underflow
nor overflow. Functions that need every row to be a direction (the packing
optimizer) call :func:`require_nonzero_rows`.

Precision
---------
float32 input gives float32 unit rows (the scaling and normalisation are done
in float64, in row chunks so that no full float64 copy of a large ``W`` is made);
everything else gives float64.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []  # private module

#: Rows per chunk when float32 rows are normalised through float64.
_CHUNK_ROWS = 8192


#: Squared norms strictly inside this range are computed directly without loss: no square overflows,
#: and squares that underflow are below 1e-18 of the row's squared norm.
_SAFE_SQ = (1e-290, 1e290)


def _unit_chunk(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return unit rows (float64) of one chunk and each row norm as ``w * 2**e`` (``w`` in [0.5, sqrt(d)]).

    Rows are rescaled by their largest absolute entry unless every squared norm
    is safely inside the float range. Zero rows give ``w = 0, e = 0``.
    """
    X = np.asarray(W, dtype=np.float64)
    sq = np.einsum("ij,ij->i", X, X)
    if sq.size and sq.min() > _SAFE_SQ[0] and sq.max() < _SAFE_SQ[1]:  # the common case: no rescaling
        norms = np.sqrt(sq)
        w, e = np.frexp(norms)
        return X / norms[:, None], w, e
    scale = np.max(np.abs(X), axis=1) if X.shape[1] else np.zeros(X.shape[0])
    nonzero = scale > 0
    inv = np.zeros_like(scale)
    # 1/scale overflows for subnormal scales (0 * inf is then NaN): those rows are divided instead
    with np.errstate(over="ignore", invalid="ignore"):
        np.divide(1.0, scale, out=inv, where=nonzero)
        Y = X * inv[:, None]
    finite_inv = np.isfinite(inv)
    if not finite_inv.all():
        bad = ~finite_inv
        Y[bad] = X[bad] / scale[bad, None]
    r = np.sqrt(np.einsum("ij,ij->i", Y, Y))  # in [1, sqrt(d)] for nonzero rows
    np.divide(Y, r[:, None], out=Y, where=nonzero[:, None])
    m, e = np.frexp(scale)
    return Y, m * r, e


def scaled_norms(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return unit rows (float64) and every row norm as ``w * 2**e`` without overflow or underflow.

    ``w`` is in ``[0.5, sqrt(d)]`` and ``e`` an integer for every nonzero row
    (``w = 0, e = 0`` for zero rows), so ratios of norms ``|W_i| / |W_j|`` can be
    formed exactly in powers of two, whatever the scales of the rows.

    Examples
    --------
    >>> U, w, e = scaled_norms(np.array([[3e300, 4e300], [0.0, 0.0], [3e-320, 4e-320]]))
    >>> U.tolist(), np.ldexp(w, e).tolist()
    ([[0.6, 0.8], [0.0, 0.0], [0.6, 0.8]], [5e+300, 0.0, 5e-320])
    """
    W = np.asarray(W)
    if W.shape[0] <= _CHUNK_ROWS:
        return _unit_chunk(W)
    n = W.shape[0]
    U, w, e = np.empty(W.shape), np.empty(n), np.empty(n, dtype=np.intc)
    for r0 in range(0, n, _CHUNK_ROWS):  # filled in place: no list of chunks beside the result
        U[r0 : r0 + _CHUNK_ROWS], w[r0 : r0 + _CHUNK_ROWS], e[r0 : r0 + _CHUNK_ROWS] = _unit_chunk(
            W[r0 : r0 + _CHUNK_ROWS]
        )
    return U, w, e


def unit_rows(W: np.ndarray, *, dtype=None) -> np.ndarray:
    """Return the rows of ``W`` scaled to unit norm; all-zero rows stay zero.

    ``dtype`` defaults to ``W``'s (float32 stays float32, everything else float64).
    Rows are rescaled by their largest absolute entry first, so any finite
    nonzero row gives a unit vector.

    Examples
    --------
    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [1e-300, 1e-300]])).round(4)
    array([[0.6   , 0.8   ],
           [0.    , 0.    ],
           [0.7071, 0.7071]])
    """
    W = np.asarray(W)
    if dtype is None:
        dtype = np.float32 if W.dtype == np.float32 else np.float64
    dtype = np.dtype(dtype)
    if W.dtype == np.float64 or W.shape[0] <= _CHUNK_ROWS:
        return _unit_chunk(W)[0].astype(dtype, copy=False)
    out = np.empty(W.shape, dtype=dtype)
    for r0 in range(0, W.shape[0], _CHUNK_ROWS):
        out[r0 : r0 + _CHUNK_ROWS] = _unit_chunk(W[r0 : r0 + _CHUNK_ROWS])[0]
    return out


def row_norms(W: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows (float64) without overflow or underflow in the squares.

    A row whose norm exceeds the float64 range gets ``inf``; use :func:`unit_rows`
    for its direction.

    Examples
    --------
    >>> row_norms(np.array([[3e200, 4e200], [0.0, 0.0], [3e-200, 4e-200]]))
    array([5.e+200, 0.e+000, 5.e-200])
    """
    _, w, e = scaled_norms(W)
    with np.errstate(over="ignore"):
        return np.ldexp(w, e)  # inf for rows whose true norm exceeds the float range


def nonzero_rows(W: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows with at least one nonzero entry (the rows with a direction)."""
    W = np.asarray(W)
    if W.shape[1] == 0:
        return np.zeros(W.shape[0], dtype=bool)
    return np.any(W != 0, axis=1)


def require_nonzero_rows(W: np.ndarray, name: str = "W") -> np.ndarray:
    """Return the unit rows of ``W`` (float64); raise naming ``name`` if a row is all zero."""
    mask = nonzero_rows(W)
    if not mask.all():
        k = int(np.flatnonzero(~mask)[0])
        raise ValueError(
            f"{name} must have nonzero rows (every row is a line's direction); row {k} is all zero."
        )
    return unit_rows(W, dtype=np.float64)


def cosines(W: np.ndarray) -> np.ndarray:
    """Dense ``(n, n)`` cosine matrix of the rows (zero rows: 0 off and on the diagonal), float64.

    For small and medium ``n`` only; :func:`packing.pairwise_statistics` tiles.
    """
    U = unit_rows(W, dtype=np.float64)
    C = U @ U.T
    np.clip(C, -1.0, 1.0, out=C)
    np.fill_diagonal(C, nonzero_rows(U).astype(np.float64))
    return C


def pair_cosines(U: np.ndarray) -> np.ndarray:
    """Cosines ``U_i · U_j`` over the unordered pairs ``i < j`` of unit rows, in ``triu`` order."""
    iu = np.triu_indices(U.shape[0], 1)
    return (U @ U.T)[iu]


#: Above this many rows (and four times as many rows as columns) the singular values and right
#: singular vectors come from the eigendecomposition of ``Vᵀ V`` summed over row chunks: O(n d²)
#: work and O(d²) memory instead of an SVD's copies of ``V`` (a factor of 60,000 latents in 1,024 dims).
TALL_ROWS = 8192


def _tall(V: np.ndarray) -> bool:
    return V.shape[0] > TALL_ROWS and V.shape[0] > 4 * V.shape[1]


def tall_singular(V: np.ndarray, chunk: int = _CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Singular values (descending) and right singular vectors (columns) of a tall ``V`` from ``eig(Vᵀ V)``.

    Accurate to about ``1e-16 s_max² / s`` for each singular value ``s``: far
    below the relative cut-offs :func:`rank` uses.
    """
    d = V.shape[1]
    G = np.zeros((d, d))
    for r0 in range(0, V.shape[0], chunk):
        R = np.asarray(V[r0 : r0 + chunk], dtype=np.float64)
        G += R.T @ R
    evals, evecs = np.linalg.eigh(G)
    return np.sqrt(np.clip(evals[::-1], 0.0, None)), evecs[:, ::-1]


def rank(V: np.ndarray, rtol: float) -> int:
    """Numerical rank: singular values above ``rtol`` times the largest."""
    if V.size == 0:
        return 0
    s = tall_singular(V)[0] if _tall(V) else np.linalg.svd(V, compute_uv=False)
    return int(np.count_nonzero(s > rtol * s[0])) if s[0] > 0 else 0


def gram_spectrum(X: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``X Xᵀ``, descending, from the singular values of X (O(n d²), not O(n³))."""
    if not X.size:
        s = np.zeros(0)
    else:
        s = tall_singular(X)[0] if _tall(X) else np.linalg.svd(X, compute_uv=False)
    out = np.zeros(X.shape[0])
    out[: len(s)] = s**2
    return out


def span(V: np.ndarray, k: int) -> np.ndarray:
    """Orthonormal basis ``(d, k)`` of the top-``k`` right singular subspace of ``V``."""
    if _tall(V):
        return np.ascontiguousarray(tall_singular(V)[1][:, :k])
    return np.linalg.svd(V, full_matrices=False)[2][:k].T
