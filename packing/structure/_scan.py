"""The structure analysis read off the cosines tile by tile, never holding the ``n x n`` matrix.

:func:`scan` runs one pass over row blocks of the upper triangle of ``U Uᵀ``
(the unit rows of the represented features) and keeps only what the analysis
needs:

* the connected components of the interference graph (``|cos| > atol``), merged
  tile by tile as labels (the smallest row of each component): a random
  dictionary of 65,536 features in 1,024 dimensions has about 2·10⁸ interfering
  pairs at ``atol = 0.05``, too many to store as a sparse graph;
* the number of pairs with ``atol / 2 < |cos| <= 2 atol``;
* per row the number of orthogonal partners (``|cos| <= atol``) and the
  components of the orthogonality graph (whether the maximal orthogonal sets
  are disjoint follows from these two), and the orthogonal pairs themselves as
  long as a graph of them fits in the memory limit;
* the positive and negative interference moments (the accumulator of
  :mod:`packing.geometry._tiles`);
* optionally, the ``k`` smallest and ``k`` largest entries of every Gram row
  (the truncated profiles of :func:`packing.packing_signature`).

:func:`cross_overlap` is the second pass, over the tiles that hold pairs of
different factors only: the largest ``|cos|`` between factors.

Precision: float32 rows give float32 tiles. A float32 cosine of unit rows in
``d`` dimensions is within ``delta = (d + 8) 2**-24`` of the float64 one (the
rounding of the rows, ``2**-23``, plus the dot product's ``d 2**-24``, for unit
vectors), so every entry that lies within ``delta`` of a threshold
(``atol / 2``, ``atol``, ``2 atol``) is decided again from the float64 unit
rows: the factors, near-threshold count and orthogonal pairs are those of the
float64 computation. Floats reported (moments, overlaps, profiles) carry the
float32 rounding (about ``1e-7``, at most ``delta``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._limits import get_memory_limit
from .._validation import check_memory
from ..geometry._tiles import _Accumulator
from .factors import GRAPH_EDGE_BYTES, GRAPH_NODE_BYTES

__all__: list[str] = []  # private module

#: Default edge of a square tile (rows and columns of the cosines computed at once).
BLOCK = 2048
#: The orthogonal pairs are kept (and their maximal sets enumerated) while a graph of them needs at most
#: this much (and fits in the memory limit): about 1.8 million pairs.
ORTH_GRAPH_BYTES = 2**30
#: Entries of a tile turned into index arrays at a time (bounds their memory to a few MiB).
STRIP = 2**16
#: Orders of the signed interference moments the analysis reports.
SIGNED_ORDERS = (1.0, 2.0, np.inf)


def rounding_margin(dtype, d: int) -> float:
    """How far a cosine of unit rows in ``dtype`` may be from the float64 one (0 for float64)."""
    return (d + 8) * 2.0**-24 if np.dtype(dtype) == np.float32 else 0.0


class Components:
    """Connected components grown batch by batch of edges.

    ``label[i]`` is the smallest row of the component of row ``i``.
    """

    def __init__(self, n: int):
        self.label = np.arange(n)
        self._remap = np.arange(n)

    def settled(self, rows: slice, cols: slice) -> bool:
        """Whether every row in ``rows`` and ``cols`` is already in one component (no edge can merge)."""
        a, b = self.label[rows], self.label[cols]
        lo = min(a.min(), b.min())
        return bool(lo == max(a.max(), b.max()))

    def union_mask(self, mask: np.ndarray, i0: int, j0: int) -> None:
        """Merge along the edges ``(i0 + r, j0 + c)`` where ``mask[r, c]``, a strip of rows at a time.

        Strips of about :data:`STRIP` entries bound the index arrays (a tile of a
        random dictionary can hold millions of edges).
        """
        h, w = mask.shape
        step = max(1, STRIP // max(w, 1))
        cols = slice(j0, j0 + w)
        for r0 in range(0, h, step):
            rows = slice(i0 + r0, i0 + min(r0 + step, h))
            if not self.settled(rows, cols):
                r, c = np.nonzero(mask[r0 : r0 + step])
                self.union(r + rows.start, c + j0)

    def union(self, a: np.ndarray, b: np.ndarray) -> None:
        """Merge the components joined by the edges ``a_k – b_k``."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        la, lb = self.label[a], self.label[b]
        keep = la != lb
        if not keep.any():
            return
        la, lb = la[keep], lb[keep]
        nodes, inverse = np.unique(np.concatenate([la, lb]), return_inverse=True)
        m = la.size
        graph = coo_matrix((np.ones(m, dtype=np.int8), (inverse[:m], inverse[m:])), shape=(nodes.size,) * 2)
        _, comp = connected_components(graph.tocsr(), directed=False)
        root = np.full(comp.max() + 1, np.iinfo(np.int64).max)
        np.minimum.at(root, comp, nodes)
        self._remap[nodes] = root[comp]
        self.label = self._remap[self.label]
        self._remap[nodes] = nodes


@dataclass
class Scan:
    """What :func:`scan` read off the cosines (indices are rows of the scanned ``U``)."""

    labels: np.ndarray
    near: int
    orth_degree: np.ndarray
    orth_labels: np.ndarray
    orth_pairs: tuple | None  # (i, j), i < j, in row-major order; None when they did not fit
    interference: _Accumulator | None
    profile_low: np.ndarray | None
    profile_high: np.ndarray | None

    @property
    def orthogonal_pairs(self) -> int:
        return int(self.orth_degree.sum()) // 2

    def orth_components_are_cliques(self) -> bool:
        """Whether every component of the orthogonality graph is a clique (edges counted by degree)."""
        if not self.orth_labels.size:
            return True
        _, comp = np.unique(self.orth_labels, return_inverse=True)
        sizes = np.bincount(comp)
        edges = np.bincount(comp, weights=self.orth_degree) / 2
        return bool(np.all(edges == sizes * (sizes - 1) // 2))


def _exact(U64: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Return the float64 cosines ``U64_i · U64_j`` of the listed pairs (rows gathered 32 MiB at a time)."""
    out = np.empty(i.size)
    chunk = max(1, 2**22 // max(U64.shape[1], 1))
    for s in range(0, i.size, chunk):
        out[s : s + chunk] = np.einsum("ij,ij->i", U64[i[s : s + chunk]], U64[j[s : s + chunk]])
    return out


def _fold(best: np.ndarray, V: np.ndarray, k: int, largest: bool, by_column: bool = False) -> None:
    """Fold the entries of ``V`` into ``best``, the running ``k`` largest (or smallest) per row.

    With ``by_column`` the rows of ``best`` are the columns of ``V`` (no
    transposed copy). Only entries beyond a row's current ``k``-th best can
    enter: once the rows have seen a few tiles, few do, and only those are gathered.
    """
    cut = best.min(axis=1) if largest else best.max(axis=1)
    cut = cut.astype(V.dtype) if np.all(np.isfinite(cut)) else cut
    mask = (
        (V > cut[None, :] if largest else V < cut[None, :])
        if by_column
        else (V > cut[:, None] if largest else V < cut[:, None])
    )
    count = int(np.count_nonzero(mask))
    if not count:
        return
    if count > mask.size // 8:  # a row block's first tiles: most entries enter, partition them all
        X = np.ascontiguousarray(V.T) if by_column else V
        best[:] = _best_of(np.concatenate([best, _best_of(X, k, largest)], axis=1), k, largest)
        return
    i, j = np.nonzero(mask)
    owner = j if by_column else i
    order = np.argsort(owner, kind="stable") if by_column else slice(None)
    owner, values = owner[order], V[i, j][order]
    rows, first, counts = np.unique(owner, return_index=True, return_counts=True)
    pad = np.full((rows.size, int(counts.max())), -np.inf if largest else np.inf)
    pad[np.repeat(np.arange(rows.size), counts), np.arange(owner.size) - np.repeat(first, counts)] = values
    best[rows] = _best_of(np.concatenate([best[rows], pad], axis=1), k, largest)


def _best_of(M: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """Return the ``k`` largest (or smallest) entries of each row of ``M``, unordered (all if fewer)."""
    w = M.shape[1]
    if w <= k:
        return M
    return np.partition(M, w - k, axis=1)[:, w - k :] if largest else np.partition(M, k - 1, axis=1)[:, :k]


def _merge_ends(low: np.ndarray, high: np.ndarray, V: np.ndarray, k: int, by_column: bool = False) -> None:
    """Fold ``V`` into the running ``k`` smallest (``low``) and largest (``high``) entries of each row."""
    _fold(low, V, k, largest=False, by_column=by_column)
    _fold(high, V, k, largest=True, by_column=by_column)


def scan(
    U: np.ndarray,
    U64: np.ndarray,
    atol: float,
    *,
    block: int | None = None,
    structure: bool = True,
    orthogonality: bool = True,
    signed: bool = True,
    profile: int | None = None,
    profile_signed: bool = True,
) -> Scan:
    """One pass over the pairs of the unit rows ``U`` (float32 or float64; ``U64`` their float64 values).

    ``structure``: components and near count, with ``orthogonality`` also the
    orthogonal degrees, components and pairs; ``signed``: the
    signed interference moments; ``profile``: the ``profile`` smallest and largest
    entries of each Gram row (absolute values unless ``profile_signed``).
    """
    n, d = U.shape
    B = max(1, min(block or BLOCK, n))
    delta = rounding_margin(U.dtype, d)
    thresholds = (atol / 2, atol, 2 * atol)
    comps, orth_comps = Components(n), Components(n)
    orth_degree = np.zeros(n, dtype=np.int64)
    near = 0
    orthogonality = structure and orthogonality
    pairs_fit = orthogonality
    orth_i: list = []
    orth_j: list = []
    stored = 0
    index = np.int32 if n < 2**31 else np.int64
    budget = (min(get_memory_limit(), ORTH_GRAPH_BYTES) - GRAPH_NODE_BYTES * n) // GRAPH_EDGE_BYTES
    acc = _Accumulator(SIGNED_ORDERS, 0.0, None, True) if signed else None
    low = np.full((n, profile), np.inf) if profile else None
    high = np.full((n, profile), -np.inf) if profile else None
    buf = np.empty((B, B), dtype=U.dtype)
    tmp = np.empty((B, B), dtype=U.dtype)
    tmp2 = np.empty((B, B), dtype=U.dtype)
    upper_full = np.triu(np.ones((B, B), dtype=bool), k=1)
    for i0 in range(0, n, B):
        i1 = min(i0 + B, n)
        rows = slice(i0, i1)
        for j0 in range(i0, n, B):
            j1 = min(j0 + B, n)
            cols = slice(j0, j1)
            h, w = i1 - i0, j1 - j0
            diag = i0 == j0
            C = buf[:h, :w]
            np.matmul(U[rows], U[cols].T, out=C)
            if profile:
                V = C if profile_signed else np.abs(C, out=tmp[:h, :w])
                _merge_ends(low[rows], high[rows], V, profile)
                if not diag:
                    _merge_ends(low[cols], high[cols], V, profile, by_column=True)
            if structure:
                A = np.abs(C, out=tmp[:h, :w])
                upper = upper_full[:h, :w] if diag else None
                interfere = A > atol
                near_mask = (A > atol / 2) & (A <= 2 * atol)
                if delta > 0:
                    band = np.zeros((h, w), dtype=bool)
                    for t in thresholds:  # comparisons only: no float temporaries
                        band |= (A >= t - delta) & (A <= t + delta)
                    if upper is not None:
                        band &= upper
                    r, c = np.nonzero(band)
                    if r.size:
                        x = np.abs(_exact(U64, r + i0, c + j0))
                        interfere[r, c] = x > atol
                        near_mask[r, c] = (x > atol / 2) & (x <= 2 * atol)
                if upper is not None:
                    interfere &= upper
                    near_mask &= upper
                near += int(np.count_nonzero(near_mask))
                if not comps.settled(rows, cols):
                    comps.union_mask(interfere, i0, j0)
                if orthogonality:
                    pairs_fit, stored = _orthogonal_part(
                        interfere,
                        upper,
                        rows,
                        cols,
                        orth_degree,
                        orth_comps,
                        pairs_fit,
                        stored,
                        budget,
                        orth_i,
                        orth_j,
                        index,
                    )
                    if not pairs_fit:
                        orth_i.clear()
                        orth_j.clear()
            if acc is not None:
                if diag:
                    np.multiply(C, upper_full[:h, :w], out=C)
                    excluded = h * (h + 1) // 2
                else:
                    excluded = 0
                acc.add(C, tmp[:h, :w], tmp2[:h, :w], (i0, j0), excluded)
    pairs = None
    if orthogonality and pairs_fit:
        i = np.concatenate(orth_i) if orth_i else np.zeros(0, dtype=index)
        j = np.concatenate(orth_j) if orth_j else np.zeros(0, dtype=index)
        order = np.lexsort((j, i))
        pairs = (i[order].astype(np.int64), j[order].astype(np.int64))
    return Scan(comps.label, near, orth_degree, orth_comps.label, pairs, acc, low, high)


def _orthogonal_part(
    interfere, upper, rows, cols, degree, comps, pairs_fit, stored, budget, orth_i, orth_j, index
):
    """Fold one tile's orthogonal pairs (the pairs that do not interfere) into degrees, components, pairs."""
    orth = ~interfere
    if upper is not None:
        orth &= upper
    degree[rows] += np.count_nonzero(orth, axis=1)
    degree[cols] += np.count_nonzero(orth, axis=0)
    if not pairs_fit:
        if not comps.settled(rows, cols):
            comps.union_mask(orth, rows.start, cols.start)
        return False, stored
    step = max(1, STRIP // max(orth.shape[1], 1))
    for r0 in range(0, orth.shape[0], step):
        r, c = np.nonzero(orth[r0 : r0 + step])
        r += rows.start + r0
        c += cols.start
        comps.union(r, c)
        stored += r.size
        if stored > budget:
            if not comps.settled(rows, cols):
                comps.union_mask(orth, rows.start, cols.start)
            return False, stored
        orth_i.append(r.astype(index))
        orth_j.append(c.astype(index))
    return True, stored


def cross_overlap(U: np.ndarray, labels: np.ndarray, *, block: int | None = None) -> float:
    """Return the largest ``|cos|`` between rows of different labels (0 with one label).

    Only the tiles that hold rows of two labels are computed.
    """
    n = U.shape[0]
    B = max(1, min(block or BLOCK, n))
    best = 0.0
    buf = np.empty((B, B), dtype=U.dtype)
    for i0 in range(0, n, B):
        i1 = min(i0 + B, n)
        li = labels[i0:i1]
        for j0 in range(i0, n, B):
            j1 = min(j0 + B, n)
            lj = labels[j0:j1]
            if min(li.min(), lj.min()) == max(li.max(), lj.max()):
                continue
            C = buf[: i1 - i0, : j1 - j0]
            np.matmul(U[i0:i1], U[j0:j1].T, out=C)
            np.abs(C, out=C)
            differ = li[:, None] != lj[None, :]
            if differ.any():
                best = max(best, float(C[differ].max()))
    return min(best, 1.0)


def scan_memory(n: int, d: int, itemsize: int, *, block: int | None = None, profile: int = 0) -> int:
    """Bytes a scan of ``n`` rows in ``d`` dimensions needs beyond ``W``.

    The float64 unit rows (and a copy of the represented ones), the rows as tiled,
    three tiles and their boolean masks, per-row labels and counts, the profiles.
    """
    B = min(block or BLOCK, max(n, 1))
    return 16 * n * d + itemsize * n * d + B * B * (4 * itemsize + 8) + 64 * n + 16 * n * profile


def check_scan_memory(func: str, n: int, d: int, itemsize: int, *, profile: int = 0) -> None:
    """Refuse a tiled structure pass that would not fit in the memory limit."""
    need = scan_memory(n, d, itemsize, profile=profile)
    check_memory(need, func, "the unit rows and the tiles of the cosines", n=n, d=d)
