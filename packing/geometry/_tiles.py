"""The tiled pass over the pairs ``i < j`` of unit rows: one reduction, dense or in tiles.

:func:`run` reduces the cosine matrix ``U Uᵀ`` of unit rows either at once (small
``n``) or tile by tile over its upper triangle, never holding more than two
tiles per thread, into an accumulator of moments, maxima, orthogonal counts,
a histogram and (optionally) the positive and negative parts.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import clip_cosines

#: Above this many bytes for the full cosine matrix, ``method="auto"`` tiles.
DENSE_LIMIT_BYTES = 64 * 2**20
#: Elements of a tile reduced at a time (about 1 MiB of float32: stays in cache).
_CHUNK_ELEMENTS = 2**18
_LOG_MAX = math.log(np.finfo(np.float64).max)


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
                np.linspace(0.0, 1.0, int(bins) + 1) if np.ndim(bins) == 0 else np.asarray(bins, dtype=float)
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


def _side(side, orders, n) -> tuple[dict, float, tuple | None]:
    """Moments, maximum and maximising pair of one signed part."""
    moments = {float(p): float(side.sums[p]) if np.isfinite(p) else side.max for p in orders}
    if n < 2:
        moments = {p: 0.0 for p in moments}
    return moments, (side.max if n > 1 else 0.0), _pair(side.argmax, side.max, n)


class _LogSum:
    """A sum of positive terms given by their base-2 logarithms, held as ``s * 2**m`` (no under/overflow)."""

    def __init__(self):
        self.m, self.s = -math.inf, 0.0

    def add(self, logs: np.ndarray) -> None:
        if logs.size:
            top = max(self.m, float(logs.max()))
            self.s = self.s * 2.0 ** (self.m - top) + float(np.sum(np.exp2(logs - top)))
            self.m = top

    def log2(self) -> float:
        return self.m + math.log2(self.s) if self.s > 0 else -math.inf


def _from_log2(value: float, power: float) -> float:
    """``2**value`` as a float; an ``OverflowError`` beyond the float64 range."""
    if value >= 1024.0:
        raise OverflowError(
            f"W's weighted interference of order p={power} exceeds the float64 range (about "
            f"10^{value * math.log10(2):.0f}, beyond 1.8e308); rescale W or use weighted=False."
        )
    return 2.0**value if value > -1100 else 0.0


def weighted_signed(X: np.ndarray, e: np.ndarray, orders, block: int) -> tuple[dict, dict]:
    """Positive and negative parts of the dot products ``W_i·W_j = (X_i·X_j) 2**(e_i + e_j)``, ``i < j``.

    ``X`` holds the rows scaled to norms in ``[0.5, sqrt(d)]`` and ``e`` their
    binary exponents (:func:`packing._rows.scaled_norms`), so every product
    ``X_i·X_j`` is well scaled however far apart the norms of the rows are.
    Each part's moments are accumulated from the base-2 logarithms of the terms
    (:class:`_LogSum`): no term underflows against a larger scale and no sum
    overflows before it is returned. Returns, per part, ``{"moments",
    "max", "pair"}``.
    """
    n = X.shape[0]
    finite = [p for p in orders if np.isfinite(p)]
    parts = {s: {"sums": {p: _LogSum() for p in finite}, "max": -math.inf, "pair": None} for s in (1, -1)}
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        for j0 in range(i0, n, block):
            j1 = min(j0 + block, n)
            A = X[i0:i1] @ X[j0:j1].T
            E = e[i0:i1, None] + e[None, j0:j1]
            upper = np.arange(j0, j1)[None, :] > np.arange(i0, i1)[:, None]
            for sign, part in parts.items():
                mask = upper & (sign * A > 0)
                if not mask.any():
                    continue
                logs = np.log2(sign * A[mask]) + E[mask]
                k = int(np.argmax(logs))
                if logs[k] > part["max"]:
                    rows, cols = np.nonzero(mask)
                    part["max"], part["pair"] = float(logs[k]), (i0 + int(rows[k]), j0 + int(cols[k]))
                for p in finite:
                    part["sums"][p].add(p * logs)
    out = {}
    for sign, part in parts.items():
        top = _from_log2(part["max"], 1.0) if part["max"] > -math.inf else 0.0
        moments = {
            float(p): (_from_log2(part["sums"][p].log2(), p) if np.isfinite(p) else top) for p in orders
        }
        out[sign] = {"moments": moments, "max": top, "pair": _pair(part["pair"], top, n)}
    return out[1], out[-1]


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


def resolve(n: int, itemsize: int, method: str, block_size, n_threads) -> tuple[str, int, int]:
    """Return the method ``"auto"`` stands for at this size, the tile edge and the thread count."""
    if method == "auto":
        method = "dense" if n * n * itemsize <= DENSE_LIMIT_BYTES else "blocked"
    B = min(2048 if block_size is None else block_size, max(n, 1))
    threads = min(4, os.cpu_count() or 1) if n_threads is None else n_threads
    return method, B, max(1, min(threads, B // 64 or 1))


def memory_estimate(n: int, d: int, itemsize: int, method: str, B: int, n_threads: int, bins) -> int:
    """Bytes one pass needs beyond ``W``: the unit rows, and the cosine matrix (dense) or the tiles.

    The dense path holds the ``n × n`` cosines, the ``triu`` indices and the
    pair values in float64 with their scratch copies: about ``40 n²`` bytes.
    The blocked path holds four ``B × B`` tiles (and one scratch strip per thread).
    """
    rows = n * d * (itemsize + 8)  # unit rows (and the float64 chunk they come through)
    pairs = n * n * (itemsize + 32) if method == "dense" else B * B * itemsize * (4 + n_threads)
    histogram = 16 * (int(bins) + 1) if bins is not None and np.ndim(bins) == 0 else 0
    return rows + pairs + histogram


def _tiled(U, orders, atol, bins, method, block_size, n_threads, signed):
    """Run the dense or blocked reduction over the pairs of the rows of ``U``."""
    method, B, n_threads = resolve(U.shape[0], U.itemsize, method, block_size, n_threads)
    if method == "dense":
        return _dense(U, orders, atol, bins, signed), method
    return _blocked(U, orders, atol, bins, B, n_threads, signed), method
