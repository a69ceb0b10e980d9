"""Pairwise interference statistics of a packing ``W`` of shape ``(n, d)``.

A packing holds one feature vector per row. The statistics here are functions of
the cosines ``cos θ_ij = <W_i, W_j> / (|W_i| |W_j|)`` over unordered pairs
``i < j``:

* the interference moments ``M_p = Σ_{i<j} |cos θ_ij|**p`` (``p > 0``; ``p = inf``
  gives the coherence ``max_{i<j} |cos θ_ij|``),
* the number of (numerically) orthogonal pairs,
* per-feature capacity and feature dimensionality,
* the frame potential and tightness.

Everything pairwise is computed by :func:`pairwise_statistics` in one pass over
tiles of the cosine matrix, so a dictionary of 65,536 features never needs its
``n × n`` matrix in memory. Rows of zero norm have no direction: they are
treated as orthogonal to every other row (cosine 0) and get capacity 0.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ._rows import row_norms, unit_rows
from ._validation import _describe, check_int, check_packing, check_ps, check_tolerance, clip_cosines

__all__ = [
    "PairStatistics",
    "SignedInterference",
    "pairwise_statistics",
    "signed_interference",
    "cosine_matrix",
    "interference_moment",
    "interference_moments",
    "orthogonal_pairs",
    "coherence",
    "frame_potential",
    "is_tight_frame",
    "capacity",
    "feature_dimensionality",
    "dimensions_per_feature",
    "default_atol",
]

#: Above this many bytes for the full cosine matrix, ``method="auto"`` tiles.
DENSE_LIMIT_BYTES = 64 * 2**20
#: Elements of a tile reduced at a time (about 1 MiB of float32: stays in cache).
_CHUNK_ELEMENTS = 2**18
_LOG_MAX = math.log(np.finfo(np.float64).max)


def default_atol(dtype) -> float:
    """Default tolerance for "orthogonal": 1e-6 in float64, 1e-4 in float32.

    Examples
    --------
    >>> default_atol(np.float32), default_atol(np.float64)
    (0.0001, 1e-06)
    """
    return 1e-4 if np.dtype(dtype) == np.float32 else 1e-6


@dataclass(frozen=True)
class PairStatistics:
    """Statistics of the unordered pairs ``i < j`` of a packing.

    Attributes
    ----------
    n : int
        Number of rows (features).
    n_pairs : int
        ``n (n - 1) / 2``.
    moments : dict of float to float
        ``{p: Σ_{i<j} |cos θ_ij|**p}`` for each requested finite ``p``; an
        infinite ``p`` maps to the coherence.
    coherence : float
        ``max_{i<j} |cos θ_ij|`` (0 when ``n < 2``).
    coherent_pair : tuple of int or None
        One pair ``(i, j)`` attaining the coherence.
    orthogonal_pairs : int
        Number of pairs with ``|cos θ_ij| <= atol``.
    atol : float
        The tolerance used for ``orthogonal_pairs``.
    histogram : tuple of ndarray or None
        ``(counts, edges)`` of ``|cos θ_ij|`` over the pairs, when bins were asked for.
    method : str
        ``"dense"`` or ``"blocked"``.
    signed : SignedInterference or None
        The positive and negative parts of the cosines, when ``signed=True`` was asked for.
    """

    n: int
    n_pairs: int
    moments: dict = field(default_factory=dict)
    coherence: float = 0.0
    coherent_pair: tuple | None = None
    orthogonal_pairs: int = 0
    atol: float = 0.0
    histogram: tuple | None = None
    method: str = "dense"
    signed: SignedInterference | None = None

    def moment(self, p: float) -> float:
        """Return the moment of order ``p`` (it must have been requested)."""
        key = float(p)
        if key not in self.moments:
            raise KeyError(f"p={p} was not computed; requested orders: {sorted(self.moments)}.")
        return self.moments[key]


@dataclass(frozen=True)
class SignedInterference:
    """Positive and negative interference of the unordered pairs ``i < j``.

    A ReLU passes positive interference ``max(W_i·W_j, 0)`` and, with a negative
    bias, filters the negative part: an antipodal pair has only negative
    interference. With ``weighted=False`` the parts are those of the cosines
    (unit directions); with ``weighted=True`` those of the dot products
    ``W_i·W_j`` of the weights with their norms.

    Attributes
    ----------
    n : int
        Number of rows.
    positive, negative : dict of float to float
        ``{p: Σ_{i<j} max(±c_ij, 0)**p}`` for each requested finite ``p``; an
        infinite ``p`` maps to the largest value of that part.
    max_positive : float
        ``max_{i<j} max(c_ij, 0)``: the largest positive overlap (0 if none).
    positive_pair : tuple of int or None
        A pair attaining it.
    max_negative : float
        ``max_{i<j} max(-c_ij, 0)``.
    negative_pair : tuple of int or None
        A pair attaining it.
    weighted : bool
        Whether ``c_ij`` is the dot product of the weights (True) or the cosine (False).
    """

    n: int
    positive: dict
    negative: dict
    max_positive: float
    positive_pair: tuple | None
    max_negative: float
    negative_pair: tuple | None
    weighted: bool = False


def cosine_matrix(W) -> np.ndarray:
    """Return the ``(n, n)`` matrix of cosines between the rows of ``W``.

    The diagonal is 1 for nonzero rows and 0 for zero rows; rounding overshoot
    beyond ``[-1, 1]`` is clipped. This materializes ``n × n`` numbers: for
    large ``n`` use :func:`pairwise_statistics`, which works in tiles.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.

    Returns
    -------
    ndarray, shape (n, n)
        Same float precision as ``W`` (float64 for integer input).

    Raises
    ------
    ValueError, TypeError
        If ``W`` is not a finite real 2-D array.

    Examples
    --------
    >>> cosine_matrix([[1.0, 0.0], [1.0, 1.0]]).round(4)
    array([[1.    , 0.7071],
           [0.7071, 1.    ]])
    """
    W = check_packing(W)
    U = unit_rows(W)
    C = U @ U.T
    clip_cosines(C)
    nonzero = np.einsum("ij,ij->i", U, U) > 0
    np.fill_diagonal(C, nonzero.astype(C.dtype))
    return C


def _power_sum(A: np.ndarray, p: float, tmp: np.ndarray) -> float:
    """Σ A**p for A >= 0, using cheap paths for small integer p."""
    if p == 1.0:
        return float(A.sum())
    if p == 2.0:
        flat = A.reshape(-1)
        return float(np.dot(flat, flat))
    if p == 4.0:
        np.multiply(A, A, out=tmp)
        flat = tmp.reshape(-1)
        return float(np.dot(flat, flat))
    if p == 3.0:
        np.multiply(A, A, out=tmp)
        return float(np.dot(tmp.reshape(-1), A.reshape(-1)))
    np.power(A, p, out=tmp)
    return float(tmp.sum())


def _zero_bin(edges: np.ndarray) -> int | None:
    """Index of the histogram bin that holds 0 (``np.histogram``'s half-open bins), or None."""
    if not (edges[0] <= 0.0 <= edges[-1]):
        return None
    return int(min(np.searchsorted(edges, 0.0, side="right") - 1, len(edges) - 2))


class _SideAccumulator:
    """Running moments and maximum of one sign's part of the cosines (``max(±cos, 0)``)."""

    def __init__(self, finite):
        self.sums = {p: 0.0 for p in finite}
        self.max = 0.0
        self.argmax = None

    def add(self, A, tmp, offset):
        if A.size:
            flat_idx = int(np.argmax(A))
            m = float(A.reshape(-1)[flat_idx])
            if m > self.max or self.argmax is None:
                r, c = divmod(flat_idx, A.shape[1])
                self.max, self.argmax = min(m, 1.0), (offset[0] + r, offset[1] + c)
        for p in self.sums:
            self.sums[p] += _power_sum(A, p, tmp)

    def merge(self, other):
        for p in self.sums:
            self.sums[p] += other.sums[p]
        if other.argmax is not None and (other.max > self.max or self.argmax is None):
            self.max, self.argmax = other.max, other.argmax


class _Accumulator:
    """Running reduction of cosine tiles: moments, max, orthogonal count, histogram, signed parts."""

    def __init__(self, orders, atol, bins, signed=False):
        self.finite = [p for p in orders if np.isfinite(p)]
        self.sums = {p: 0.0 for p in self.finite}
        self.max = 0.0
        self.argmax = None
        self.ortho = 0
        self.atol = atol
        self.edges = None
        self.counts = None
        self.zero_bin = None
        if bins is not None:
            self.edges = (
                np.linspace(0.0, 1.0, int(bins) + 1)
                if np.ndim(bins) == 0
                else np.asarray(bins, dtype=float)
            )
            self.counts = np.zeros(len(self.edges) - 1, dtype=np.int64)
            self.zero_bin = _zero_bin(self.edges)
        self.pos = _SideAccumulator(self.finite) if signed else None
        self.neg = _SideAccumulator(self.finite) if signed else None

    def add(self, C, tmp, tmp2, offset, excluded):
        """Fold cosine tile ``C`` (entries outside the pair set set to 0) into the totals.

        ``C`` is overwritten by ``|C|``. ``excluded`` is the number of zeroed entries
        that are not pairs; they are removed from the orthogonal count and from the
        histogram bin that holds 0.
        """
        if self.pos is not None:
            np.maximum(C, 0.0, out=tmp2)
            self.pos.add(tmp2, tmp, offset)
            np.minimum(C, 0.0, out=tmp2)
            np.negative(tmp2, out=tmp2)
            self.neg.add(tmp2, tmp, offset)
        A = np.abs(C, out=C)
        if A.size:
            flat_idx = int(np.argmax(A))
            m = float(A.reshape(-1)[flat_idx])
            if m > 1.0:  # rounding overshoot is clipped; a real violation raises
                clip_cosines(A, "|cos|")
                m = 1.0
            if m > self.max or self.argmax is None:
                r, c = divmod(flat_idx, A.shape[1])
                self.max, self.argmax = m, (offset[0] + r, offset[1] + c)
        for p in self.finite:
            self.sums[p] += _power_sum(A, p, tmp)
        self.ortho += int(np.count_nonzero(A <= self.atol)) - excluded
        if self.counts is not None:
            counts, _ = np.histogram(A, bins=self.edges)
            if self.zero_bin is not None:
                counts[self.zero_bin] -= excluded
            self.counts += counts

    def merge(self, other):
        for p in self.finite:
            self.sums[p] += other.sums[p]
        if other.argmax is not None and (other.max > self.max or self.argmax is None):
            self.max, self.argmax = other.max, other.argmax
        self.ortho += other.ortho
        if self.counts is not None:
            self.counts += other.counts
        if self.pos is not None:
            self.pos.merge(other.pos)
            self.neg.merge(other.neg)


def _pair(argmax, value, n):
    """Return an unordered pair ``(i, j)``, ``i < j``, attaining ``value`` (any pair when it is 0)."""
    if n < 2:
        return None
    i, j = argmax if (argmax is not None and value > 0) else (0, 1)
    return (int(min(i, j)), int(max(i, j)))


def _side(side, orders, n, log_scale=0.0) -> tuple[dict, float, tuple | None]:
    """Moments, maximum and maximising pair of one signed part, times ``exp(log_scale)`` per power."""

    def scaled(raw, power):
        if raw == 0.0 or n < 2:
            return 0.0
        if log_scale == 0.0:
            return float(raw)
        log_value = power * log_scale + math.log(raw)
        if log_value > _LOG_MAX:
            raise OverflowError(
                f"W's weighted interference of order p={power} exceeds the float64 range "
                f"(about 10^{log_value / math.log(10):.0f}); rescale W or use weighted=False."
            )
        return math.exp(log_value)

    moments = {float(p): scaled(side.sums[p], p) if np.isfinite(p) else scaled(side.max, 1.0) for p in orders}
    return moments, scaled(side.max, 1.0), _pair(side.argmax, side.max, n)


def _finish(acc, orders, n, method) -> PairStatistics:
    moments = {}
    for p in orders:
        moments[float(p)] = acc.sums[p] if np.isfinite(p) else (acc.max if n > 1 else 0.0)
    coh = min(acc.max, 1.0) if n > 1 else 0.0
    hist = (acc.counts, acc.edges) if acc.counts is not None else None
    signed = None
    if acc.pos is not None:
        pos, max_pos, pos_pair = _side(acc.pos, orders, n)
        neg, max_neg, neg_pair = _side(acc.neg, orders, n)
        signed = SignedInterference(
            n=n,
            positive=pos,
            negative=neg,
            max_positive=max_pos,
            positive_pair=pos_pair,
            max_negative=max_neg,
            negative_pair=neg_pair,
            weighted=False,
        )
    return PairStatistics(
        n=n,
        n_pairs=n * (n - 1) // 2,
        moments=moments,
        coherence=coh,
        coherent_pair=_pair(acc.argmax, acc.max, n),
        orthogonal_pairs=acc.ortho,
        atol=acc.atol,
        histogram=hist,
        method=method,
        signed=signed,
    )


def _dense(U, orders, atol, bins, signed=False):
    n = U.shape[0]
    C = U @ U.T
    clip_cosines(C)
    iu = np.triu_indices(n, k=1)
    vals = C[iu].astype(np.float64)[None, :]  # moments of a dense matrix are summed in float64
    acc = _Accumulator(orders, atol, bins, signed)
    k = vals.shape[1]
    acc.add(vals, np.empty_like(vals), np.empty_like(vals) if signed else None, (0, 0), 0)
    # positions in the flattened pair list back to (i, j)
    for side in (acc, acc.pos, acc.neg):
        if side is not None and side.argmax is not None and k:
            idx = side.argmax[1]
            side.argmax = (int(iu[0][idx]), int(iu[1][idx]))
    return acc


def _blocked(U, orders, atol, bins, block_size, n_threads, signed=False):
    """Tile the upper triangle of U Uᵀ; reduce each tile in ``n_threads`` row strips."""
    n = U.shape[0]
    dtype = U.dtype
    B = block_size
    buf = np.empty((B, B), dtype=dtype)
    tmp = np.empty((B, B), dtype=dtype)
    tmp2 = np.empty((B, B), dtype=dtype) if signed else None
    # Strictly-upper mask for the diagonal tiles (1 above the diagonal, 0 elsewhere).
    upper = np.triu(np.ones((B, B), dtype=dtype), k=1)
    n_threads = max(1, min(n_threads, B // 64 or 1))
    accs = [_Accumulator(orders, atol, bins, signed) for _ in range(n_threads)]
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None

    def reduce_strip(t, C, T, T2, offset, diag):
        rows, width = C.shape
        lo, hi = (rows * t) // n_threads, (rows * (t + 1)) // n_threads
        # Work through the strip in chunks of about 1 MiB so that every pass
        # (abs, powers, max, count) runs on data already in cache.
        step = max(1, _CHUNK_ELEMENTS // max(width, 1))
        for r0 in range(lo, hi, step):
            r1 = min(r0 + step, hi)
            A, Tm = C[r0:r1], T[r0:r1]
            Tm2 = None if T2 is None else T2[r0:r1]
            if diag:
                np.multiply(A, upper[r0:r1, :width], out=A)
                # a diagonal tile is square: row i holds i + 1 entries with j <= i
                excluded = (r1 * (r1 + 1) - r0 * (r0 + 1)) // 2
            else:
                excluded = 0
            accs[t].add(A, Tm, Tm2, (offset[0] + r0, offset[1]), excluded)

    try:
        for i0 in range(0, n, B):
            i1 = min(i0 + B, n)
            Ui = U[i0:i1]
            for j0 in range(i0, n, B):
                j1 = min(j0 + B, n)
                C = buf[: i1 - i0, : j1 - j0]
                T = tmp[: i1 - i0, : j1 - j0]
                T2 = None if tmp2 is None else tmp2[: i1 - i0, : j1 - j0]
                np.matmul(Ui, U[j0:j1].T, out=C)
                diag = j0 == i0
                if pool is None:
                    reduce_strip(0, C, T, T2, (i0, j0), diag)
                else:
                    list(
                        pool.map(
                            lambda t, C=C, T=T, T2=T2, i0=i0, j0=j0, diag=diag: reduce_strip(
                                t, C, T, T2, (i0, j0), diag
                            ),
                            range(n_threads),
                        )
                    )
    finally:
        if pool is not None:
            pool.shutdown()
    acc = accs[0]
    for other in accs[1:]:
        acc.merge(other)
    return acc


def _check_bins(bins):
    if bins is None:
        return None
    if isinstance(bins, str | bytes):
        raise TypeError(f"bins must be an int or a sequence of bin edges; got {_describe(bins)}.")
    if np.ndim(bins) == 0:
        return check_int(bins, "bins", minimum=1)
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"bins must be an int or a sequence of bin edges; got {_describe(bins)}.") from None
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"bins must hold at least 2 edges; got shape {edges.shape}.")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins edges must be finite and strictly increasing; got {edges.tolist()}.")
    return edges


def _tiled(U, orders, atol, bins, method, block_size, n_threads, signed):
    """Run the dense or blocked reduction over the pairs of the rows of ``U``."""
    n = U.shape[0]
    if method == "auto":
        method = "dense" if n * n * U.itemsize <= DENSE_LIMIT_BYTES else "blocked"
    if method == "dense":
        return _dense(U, orders, atol, bins, signed), method
    B = 2048 if block_size is None else block_size
    if n_threads is None:
        n_threads = min(4, os.cpu_count() or 1)
    return _blocked(U, orders, atol, bins, min(B, max(n, 1)), n_threads, signed), method


def _check_method(method, block_size, n_threads):
    if method not in ("auto", "dense", "blocked"):
        raise ValueError(f"method must be 'auto', 'dense' or 'blocked'; got {_describe(method)}.")
    if block_size is not None:
        block_size = check_int(block_size, "block_size", minimum=1)
    if n_threads is not None:
        n_threads = check_int(n_threads, "n_threads", minimum=1)
    return method, block_size, n_threads


def pairwise_statistics(
    W,
    p=(1.0, 2.0, np.inf),
    *,
    atol: float | None = None,
    bins=None,
    signed: bool = False,
    method: str = "auto",
    block_size: int | None = None,
    n_threads: int | None = None,
) -> PairStatistics:
    """Compute interference moments, coherence and orthogonal pairs in one pass.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row. float32 input is computed in float32
        (relative error about 1e-6), everything else in float64. Rows are
        rescaled by their largest entry before they are normalised, so every
        finite nonzero row is a direction; all-zero rows are orthogonal to everything.
    p : float or sequence of float, default (1, 2, inf)
        Moment orders, each ``> 0``; ``np.inf`` stands for the coherence.
    atol : float, optional
        Pairs with ``|cos| <= atol`` count as orthogonal. Default
        :func:`default_atol` of the working precision.
    bins : int or sequence of float, optional
        If given, also histogram ``|cos|`` over the pairs (``int``: equal bins on
        [0, 1]; a sequence: strictly increasing edges, as ``numpy.histogram``).
    signed : bool, default False
        Also compute the positive and negative parts of the cosines in the same
        pass (:class:`SignedInterference`, in the ``signed`` attribute).
    method : {"auto", "dense", "blocked"}
        ``"dense"`` forms the whole cosine matrix; ``"blocked"`` works in
        ``block_size × block_size`` tiles of the upper triangle and never holds
        more than two tiles per thread; ``"auto"`` tiles when the full matrix
        would exceed 64 MiB.
    block_size : int, optional
        Tile edge for the blocked path (default 2048).
    n_threads : int, optional
        Threads for the elementwise reductions (default: CPU count, at most 4).

    Returns
    -------
    PairStatistics

    Raises
    ------
    ValueError, TypeError
        On a non-finite, non-real or non-2-D ``W``, ``p <= 0`` or negative ``atol``.

    Examples
    --------
    >>> s = pairwise_statistics(np.eye(3)[[0, 1, 2, 0]] + [[0, 0, 0]] * 4, p=[1, 2])
    >>> s.n_pairs, s.orthogonal_pairs, s.coherence, s.moment(2)
    (6, 5, 1.0, 1.0)
    >>> s = pairwise_statistics([[1, 0], [-1, 0], [0, 1]], p=[1], signed=True)
    >>> s.coherence, s.signed.max_positive, s.signed.negative[1.0]
    (1.0, 0.0, 1.0)
    >>> pairwise_statistics([[1.0, 0.0]], p=0)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got 0.0.
    """
    W = check_packing(W)
    orders, _ = check_ps(p)
    atol = default_atol(W.dtype) if atol is None else check_tolerance(atol, "atol")
    bins = _check_bins(bins)
    method, block_size, n_threads = _check_method(method, block_size, n_threads)
    n = W.shape[0]
    acc, method = _tiled(unit_rows(W), orders, atol, bins, method, block_size, n_threads, bool(signed))
    return _finish(acc, orders, n, method)


def signed_interference(
    W,
    p=(1.0, 2.0, np.inf),
    *,
    weighted: bool = False,
    method: str = "auto",
    block_size: int | None = None,
    n_threads: int | None = None,
) -> SignedInterference:
    """Positive and negative interference of a packing, in one tiled pass.

    A ReLU output passes positive interference and a negative bias filters the
    negative part, so for the ReLU toy models the positive part is the one that
    costs: an antipodal pair has zero positive interference.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.
    p : float or sequence of float, default (1, 2, inf)
        Orders ``> 0``; ``np.inf`` gives the largest value of each part.
    weighted : bool, default False
        ``False``: parts of the cosines of the unit directions. ``True``: parts of
        the dot products ``W_i·W_j`` of the weights with their norms (the
        interference a toy model's hidden layer actually adds). A weighted moment
        too large for a float raises ``OverflowError``.
    method, block_size, n_threads
        As for :func:`pairwise_statistics`.

    Returns
    -------
    SignedInterference

    Examples
    --------
    >>> s = signed_interference([[1, 0], [-1, 0], [0, 1], [0, -1]], p=[1, np.inf])
    >>> s.positive[1.0], s.negative[1.0], s.max_negative
    (0.0, 2.0, 1.0)
    >>> s = signed_interference([[2, 0], [1, 1]], p=[1], weighted=True)
    >>> s.positive[1.0], s.positive_pair
    (2.0, (0, 1))
    """
    W = check_packing(W)
    orders, _ = check_ps(p)
    method, block_size, n_threads = _check_method(method, block_size, n_threads)
    n = W.shape[0]
    if not weighted:
        acc, _ = _tiled(unit_rows(W), orders, 0.0, None, method, block_size, n_threads, True)
        return _finish(acc, orders, n, method).signed
    # rescale so every |dot| <= 1, then undo the scale in the moments
    norms = row_norms(W)
    top = float(norms.max()) if n else 0.0
    if top == 0.0:
        zeros = {float(q): 0.0 for q in orders}
        return SignedInterference(n, zeros, dict(zeros), 0.0, _pair(None, 0, n), 0.0, _pair(None, 0, n), True)
    if np.isfinite(top):
        V = (W / np.asarray(top, dtype=W.dtype)) if W.dtype == np.float64 else (W.astype(np.float64) / top)
        log_scale = 2.0 * math.log(top)
    else:  # the largest norm overflows: scale by the largest entry first
        big = float(np.max(np.abs(W)))
        V = W.astype(np.float64) / big
        inner = float(row_norms(V).max())
        V /= inner
        log_scale = 2.0 * (math.log(big) + math.log(inner))
    V = V.astype(W.dtype, copy=False)
    acc, _ = _tiled(V, orders, 0.0, None, method, block_size, n_threads, True)
    pos, max_pos, pos_pair = _side(acc.pos, orders, n, log_scale)
    neg, max_neg, neg_pair = _side(acc.neg, orders, n, log_scale)
    return SignedInterference(n, pos, neg, max_pos, pos_pair, max_neg, neg_pair, True)


def interference_moments(W, p=(1.0, 2.0, 4.0, np.inf), **kwargs) -> np.ndarray:
    """Return ``Σ_{i<j} |cos θ_ij|**p`` for several orders ``p`` in one pass.

    Parameters
    ----------
    W : array_like, shape (n, d)
    p : sequence of float
        Orders ``> 0``; ``np.inf`` gives the coherence.
    **kwargs
        Passed to :func:`pairwise_statistics` (``method``, ``block_size``, ...).

    Returns
    -------
    ndarray, shape (len(p),)

    Examples
    --------
    >>> interference_moments([[1, 0], [0, 1], [1, 1]], p=[1, 2, np.inf]).round(4)
    array([1.4142, 1.    , 0.7071])
    """
    orders, _ = check_ps(p)
    stats = pairwise_statistics(W, orders, **kwargs)
    return np.array([stats.moments[float(q)] for q in orders])


def interference_moment(W, p, **kwargs):
    """Return ``Σ_{i<j} |cos θ_ij|**p`` (``p = inf``: the coherence).

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.
    p : float or sequence of float
        Order(s) ``> 0``. A sequence returns an array with one moment per order,
        all computed in one pass.
    **kwargs
        Passed to :func:`pairwise_statistics`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> W = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    >>> round(interference_moment(W, 2), 6)
    1.0
    >>> interference_moment(W, -1)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got -1.0.
    """
    orders, scalar = check_ps(p)
    values = interference_moments(W, orders, **kwargs)
    return float(values[0]) if scalar else values


def orthogonal_pairs(W, atol: float | None = None, **kwargs) -> int:
    """Count unordered pairs ``i < j`` with ``|cos θ_ij| <= atol``.

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, optional
        Tolerance (default :func:`default_atol` of the working precision).

    Returns
    -------
    int

    Examples
    --------
    >>> orthogonal_pairs(np.eye(4))
    6
    >>> orthogonal_pairs(np.eye(4), atol=-1)
    Traceback (most recent call last):
    ...
    ValueError: atol must be >= 0.0; got -1.0.
    """
    return pairwise_statistics(W, p=(np.inf,), atol=atol, **kwargs).orthogonal_pairs


def coherence(W, **kwargs) -> float:
    """Return the coherence ``max_{i<j} |cos θ_ij|`` (0 for a single row).

    Examples
    --------
    >>> round(coherence([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]]), 6)
    0.5
    """
    return pairwise_statistics(W, p=(np.inf,), **kwargs).coherence


def frame_potential(W, *, normalize: bool = False) -> float:
    """Return the frame potential ``Σ_{i,j} <W_i, W_j>**2`` over all ordered pairs.

    It equals ``||Wᵀ W||_F**2`` and is computed from the ``(d, d)`` frame
    operator. For ``n`` unit vectors in ``R^d`` it is at least ``max(n, n**2/d)``
    with equality (for ``n >= d``) exactly for tight frames (Benedetto–Fickus 2003).

    Parameters
    ----------
    W : array_like, shape (n, d)
    normalize : bool, default False
        Use the unit rows of ``W`` (zero rows stay zero).

    Examples
    --------
    >>> frame_potential(np.eye(3))
    3.0
    >>> round(frame_potential([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]]), 6)
    4.5
    """
    W = check_packing(W).astype(np.float64)
    if normalize:
        W = unit_rows(W)
    S = W.T @ W
    return float(np.sum(S * S))


def is_tight_frame(W, *, rtol: float = 1e-8) -> bool:
    """Whether ``Wᵀ W`` is a multiple of the identity (up to ``rtol``).

    Parameters
    ----------
    W : array_like, shape (n, d)
    rtol : float
        Allowed ``||Wᵀ W − c I||_F / ||Wᵀ W||_F``.

    Examples
    --------
    >>> is_tight_frame([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]])
    True
    >>> is_tight_frame([[1, 0], [1, 1]])
    False
    """
    rtol = check_tolerance(rtol, "rtol")
    W = check_packing(W).astype(np.float64)
    S = W.T @ W
    scale = np.trace(S) / S.shape[0]
    norm = np.linalg.norm(S)
    if norm == 0:
        return False
    return bool(np.linalg.norm(S - scale * np.eye(S.shape[0])) <= rtol * norm)


def _quadratic_forms(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Return ``Σ_j (X_i · W_j)**2 = X_i (WᵀW) X_iᵀ`` for every row of X, in float64."""
    S = W.T @ W
    return np.einsum("ij,ij->i", X @ S, X)


def capacity(W) -> np.ndarray:
    """Per-feature capacity ``C_i = (W_i·W_i)**2 / Σ_j (W_i·W_j)**2`` (Scherlis et al. 2022).

    ``0 <= C_i <= 1``; ``Σ_i C_i <= rank(W)`` with equality for tight frames.
    Zero rows get capacity 0. Algebraically this equals
    :func:`feature_dimensionality`; the two are computed by different formulas.

    Parameters
    ----------
    W : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> capacity([[1, 0], [0, 1], [0, 0]])
    array([1., 1., 0.])
    >>> capacity([[1, 0], [-0.5, 3 ** 0.5 / 2], [-0.5, -(3 ** 0.5) / 2]]).round(4)
    array([0.6667, 0.6667, 0.6667])
    """
    W = check_packing(W).astype(np.float64)
    sq = np.einsum("ij,ij->i", W, W)
    denom = _quadratic_forms(W, W)
    out = np.zeros_like(sq)
    np.divide(sq * sq, denom, out=out, where=sq > 0)
    return np.clip(out, 0.0, 1.0)


def feature_dimensionality(W) -> np.ndarray:
    """Feature dimensionality ``D_i = ||W_i||**2 / Σ_j (Ŵ_i · W_j)**2`` (Elhage et al. 2022).

    ``Ŵ_i`` is the unit vector along ``W_i``. A feature with a dedicated
    dimension has ``D_i = 1``; the five features of a pentagon in 2-D have 2/5;
    an antipodal pair has 1/2. Zero rows get 0.

    Parameters
    ----------
    W : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> feature_dimensionality([[1, 0], [-1, 0], [0, 2]])
    array([0.5, 0.5, 1. ])
    """
    W = check_packing(W).astype(np.float64)
    sq = np.einsum("ij,ij->i", W, W)
    U = unit_rows(W)
    denom = _quadratic_forms(U, W)
    out = np.zeros_like(sq)
    np.divide(sq, denom, out=out, where=sq > 0)
    return np.clip(out, 0.0, 1.0)


def dimensions_per_feature(W) -> float:
    """Return ``d / ||W||_F**2``, the "dimensions per feature" of Elhage et al. (2022).

    Examples
    --------
    >>> dimensions_per_feature([[1, 0], [-1, 0], [0, 1], [0, -1]])
    0.5
    """
    W = check_packing(W).astype(np.float64)
    total = float(np.sum(W * W))
    if total == 0:
        raise ValueError("W must have at least one nonzero entry; got an all-zero W.")
    return W.shape[1] / total

