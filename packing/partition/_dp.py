"""The exact dynamic programme behind :func:`packing.optimal_partition`.

Given a table ``f[m, D]`` of within-block losses (row and column 0 unused, an
envelope in ``D``), find the blocks ``(n_b, d_b)`` with ``Σ n_b = n``,
``Σ d_b = d`` minimizing ``Σ_b f(n_b, d_b)`` (``max_b`` for ``p = inf``):

    ``F(a, b) = min_{1<=m<=a, 1<=D<=b} f(m, D) ⊕ F(a − m, b − D)``,
    ``F(0, 0) = 0``, ``F(0, b > 0) = ∞``.

:func:`solve_reference` scans every block shape at every cell, ``O(n² d²)``;
:func:`solve` reaches the same optimum much faster by exploiting the table's
structure: row minima of Monge matrices (:func:`monge_rows`), the (min, +)
convolution of convex sequences as a merge (:func:`merge_rows`), the crossing
point of a rising and a falling sequence for ``max`` (:func:`crossing_rows`),
and pruning of dominated block shapes. Both break ties (losses within
:data:`TIE`, relative) towards fewer blocks.

Private to :mod:`packing.partition`: inputs are trusted (validated there).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__: list[str] = []  # private module

TIE = 1e-12  # relative width of a tie between two candidate losses
CHUNK = 1 << 22  # entries per (block shapes x feature counts) matrix of the fast DP


def tie(best: np.ndarray) -> np.ndarray:
    """Tolerance below which two losses near ``best`` count as equal."""
    return TIE * np.maximum(1.0, np.abs(np.where(np.isfinite(best), best, 0.0)))


def solve_reference(f: np.ndarray, n: int, d: int, combine) -> tuple[float, list[tuple[int, int]]]:
    """Solve the DP straightforwardly: every cell scans every block shape, ``O(n² d²)``.

    Kept to cross-check and time :func:`solve` (tests, ``scripts/bench_partition.py``).
    """
    F = np.full((n + 1, d + 1), np.inf)
    F[0, 0] = 0.0
    K = np.zeros((n + 1, d + 1), dtype=np.int64)  # number of blocks, for tie-breaking
    choice = np.zeros((n + 1, d + 1, 2), dtype=np.int64)
    for a in range(1, n + 1):
        for b in range(1, d + 1):
            total = combine(f[1 : a + 1, 1 : b + 1], F[a - 1 :: -1, b - 1 :: -1])
            best = total.min()
            if not np.isfinite(best):
                continue
            near = total <= best + tie(best)
            blocks = np.where(near, K[a - 1 :: -1, b - 1 :: -1], np.iinfo(np.int64).max)
            i, j = np.unravel_index(np.argmin(blocks), blocks.shape)
            F[a, b] = total[i, j]
            K[a, b] = K[a - 1 - i, b - 1 - j] + 1
            choice[a, b] = (i + 1, j + 1)
    return backtrack(F, choice[..., 0], choice[..., 1])


def backtrack(F, choice_m, choice_D) -> tuple[float, list[tuple[int, int]]]:
    n, d = F.shape[0] - 1, F.shape[1] - 1
    if not np.isfinite(F[n, d]):
        raise ValueError(
            f"no partition of n={n} features into d={d} dims has finite cost; the cost table is inf "
            f"everywhere it is needed (cost must be finite at least for blocks of 1 dimension; got inf)."
        )
    blocks = []
    a, b = n, d
    while a > 0:
        m, D = int(choice_m[a, b]), int(choice_D[a, b])
        blocks.append((m, D))
        a, b = a - m, b - D
    return float(F[n, d]), sorted(blocks, reverse=True)


def monge_rows(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row minima of ``M[k, a, j] = G[k, j] + H[k, a − j]`` over ``1 <= j < a``, for ``2 <= a <= n``.

    Exact when every ``H[k, 1:]`` is finite and convex: then ``M[k]`` is a Monge
    matrix, the leftmost minimizing ``j`` is nondecreasing in ``a``, and a
    divide and conquer over the rows (all ``k`` and all rows of one recursion
    level in one vectorized step) needs ``O(n log n)`` entries per ``k``
    instead of ``n²/2``. Returns the minima and their ``j`` (inf / 0 for ``a < 2``).
    """
    k, size = G.shape
    n = size - 1
    val = np.full((k, size), np.inf)
    arg = np.zeros((k, size), dtype=np.int64)
    if n < 2 or k == 0:
        return val, arg
    Gf, Hf = G.ravel(), H.ravel()
    # segments of one level: rows rlo..rhi of matrix sd, whose argmins lie in olo..ohi
    sd = np.arange(k)
    rlo, rhi, olo, ohi = np.full(k, 2), np.full(k, n), np.full(k, 1), np.full(k, n - 1)
    while sd.size:
        mid = (rlo + rhi) // 2
        length = np.minimum(ohi, mid - 1) - olo + 1
        starts = np.cumsum(length) - length
        seg = np.repeat(np.arange(sd.size), length)
        pos = np.arange(seg.size)
        j = olo[seg] + pos - starts[seg]
        base = sd[seg] * size
        v = Gf[base + j] + Hf[base + mid[seg] - j]
        low = np.minimum.reduceat(v, starts)
        opt = j[np.minimum.reduceat(np.where(v == low[seg], pos, seg.size), starts)]
        val[sd, mid] = low
        arg[sd, mid] = opt
        left, right = rlo < mid, mid < rhi
        sd = np.concatenate([sd[left], sd[right]])
        rlo, rhi = np.concatenate([rlo[left], mid[right] + 1]), np.concatenate([mid[left] - 1, rhi[right]])
        olo, ohi = np.concatenate([olo[left], opt[right]]), np.concatenate([opt[left], ohi[right]])
    return val, arg


def merge_rows(G: np.ndarray, H: np.ndarray, dG: np.ndarray, dH: np.ndarray) -> tuple[np.ndarray, ...]:
    """Minima of ``G[j] + H[a − j]`` over ``1 <= j < a`` for convex ``G[1:]``, ``H[1:]``.

    The (min, +) convolution of two convex sequences walks from ``(j, m) =
    (1, 1)`` taking the smaller next increment of either: a merge of the two
    sorted increment lists ``dG``, ``dH``, ``O(n)`` with two binary searches.
    """
    size = G.size
    a = np.arange(size)
    placed = np.arange(dG.size) + np.searchsorted(dH, dG, side="left")  # step at which G grows by dG[i]
    j = 1 + np.searchsorted(placed, np.maximum(a - 2, 0), side="left")
    ok = a >= 2
    j = np.where(ok, j, 0)
    return np.where(ok, G[j] + H[np.maximum(a - j, 0)], np.inf), j


def crossing_rows(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minima of ``max(G[j], H[a − j])`` over ``1 <= j < a`` for nondecreasing ``G[1:]``, ``H[1:]``.

    ``G[j]`` rises and ``H[a − j]`` falls with ``j``, so the minimum sits at the
    first ``j`` with ``G[j] >= H[a − j]``, i.e. ``a <= j + #{m : H[m] <= G[j]}``
    (an increasing sequence in ``j``: one binary search), or just before it.
    """
    size = G.size
    a = np.arange(size)
    reach = np.arange(1, size) + np.searchsorted(H[1:], G[1:], side="right")
    first = 1 + np.searchsorted(reach, a, side="left")
    val = np.full(size, np.inf)
    arg = np.zeros(size, dtype=np.int64)
    for j in (first, first - 1):  # the larger j (smaller block) first, so it wins ties
        ok = (j >= 1) & (j < a)
        j = np.where(ok, j, 0)
        v = np.where(ok, np.maximum(G[j], H[np.maximum(a - j, 0)]), np.inf)
        better = v < val
        val, arg = np.where(better, v, val), np.where(better, j, arg)
    return val, arg


def is_convex(x: np.ndarray) -> np.ndarray:
    """Whether ``x`` (or each row of a 2-d ``x``) is finite and convex, up to rounding."""
    x = np.atleast_2d(x)
    with np.errstate(invalid="ignore"):
        second = x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]
        scale = np.max(np.abs(np.where(np.isfinite(x), x, 0.0)), axis=1, keepdims=True)
        ok = np.all(second >= -1e-12 * np.maximum(1.0, scale), axis=1)
    return np.squeeze(ok & np.all(np.isfinite(x), axis=1))


def fast_columns(f: np.ndarray, use_max: bool) -> np.ndarray:
    """Which block-dimension columns ``f[1:, D]`` allow the ``O(n log n)`` / ``O(n)`` row minima."""
    cols = f[1:, :].T
    if use_max:
        return np.all(cols[:, 1:] >= cols[:, :-1], axis=1)
    return is_convex(cols)


def solve(f: np.ndarray, n: int, d: int, use_max: bool) -> tuple[float, list[tuple[int, int]]]:
    """Exact DP over (features, dims) with block costs ``f`` (an envelope in D), fast.

    The recurrence of :func:`solve_reference`, evaluated one dimension column
    ``b`` at a time and vectorized over all feature counts ``a`` (``F[:, b]``
    only needs columns ``< b``). The candidate first blocks ``(m, D)`` of
    column ``b``:

    * the whole cell as one block;
    * per block column ``D`` whose costs ``f[1:, D]`` are convex in ``m``
      (sum) or nondecreasing (max, with ``F[1:, b − D]`` nondecreasing too),
      the best ``m`` for every ``a`` at once: :func:`merge_rows` (``O(n)``)
      when ``F[1:, b − D]`` is convex as well, else :func:`monge_rows`
      (``O(n log n)``), or :func:`crossing_rows` (``O(n)``) for max;
    * for the other columns, only the shapes kept when their own cell was
      solved: finite, not beaten by a split of the same shape (a partition
      using a beaten block never does better than one using its split), and
      needing their last dimension (``f(m, D) < f(m, D − 1)``; otherwise
      ``(m, D − 1)`` plus a spare dimension for the rest does as well). For
      the Welch table with ``p < 2`` about 2% of the ``n d`` shapes survive
      at ``n = 1000, d = 100``; blocks with ``m < D`` (cost 0) never do.

    Among candidates within the tie tolerance the fewest blocks win, as in the
    reference; the fast methods offer one ``m`` per ``(a, D)``, so where
    several ``m`` tie exactly the partition returned may differ from the
    reference's (same loss).
    """
    combine = np.maximum if use_max else np.add
    a = np.arange(n + 1)
    # rest columns as rows, padded with n infinities in front: window n - m of row r is F[a - m, r]
    Fp = np.full((d + 1, 2 * n + 1), np.inf)
    Fp[0, n] = 0.0
    Kp = np.zeros((d + 1, 2 * n + 1), dtype=np.int64)  # number of blocks, for tie-breaking
    F, K = Fp[:, n:].T, Kp[:, n:].T  # views: F[a, b]
    F_windows = np.lib.stride_tricks.sliding_window_view(Fp, n + 1, axis=1)
    K_windows = np.lib.stride_tricks.sliding_window_view(Kp, n + 1, axis=1)
    choice_m = np.zeros((n + 1, d + 1), dtype=np.int64)
    choice_D = np.zeros((n + 1, d + 1), dtype=np.int64)
    fast = fast_columns(f, use_max)
    with np.errstate(invalid="ignore"):
        f_steps = np.diff(f[1:, :], axis=0)
    rising = np.zeros(d + 1, dtype=bool)  # F[1:, b] nondecreasing in a
    convex = np.zeros(d + 1, dtype=bool)  # F[1:, b] finite and convex in a
    steps: dict[int, np.ndarray] = {}  # increments of F[1:, b]
    kept_m = kept_D = np.zeros(0, dtype=np.int64)
    for b in range(1, d + 1):
        # candidate groups, one row per candidate and one column per a: (loss, blocks, m, D)
        groups = [(f[None, :, b], np.ones((1, n + 1), np.int64), a[None, :], np.array([[b]]))]
        Ds = np.arange(1, b)
        quick = fast[Ds] & rising[b - Ds] if use_max else fast[Ds]
        pairwise = quick & (True if use_max else convex[b - Ds])
        for D, method in ((Ds[pairwise], "pair"), (Ds[quick & ~pairwise], "monge")):
            if not D.size:
                continue
            if method == "monge":
                val, j = monge_rows(F[:, b - D].T, f[:, D].T)
            elif use_max:
                val, j = np.array([crossing_rows(F[:, b - x], f[:, x]) for x in D]).transpose(1, 0, 2)
            else:
                pairs = [merge_rows(F[:, b - x], f[:, x], steps[b - x], f_steps[:, x]) for x in D]
                val, j = np.array(pairs).transpose(1, 0, 2)
            j = j.astype(np.int64)
            groups.append((val, 1 + Kp[(b - D)[:, None], n + j], a - j, D[:, None]))
        slow = np.zeros(d + 1, dtype=bool)
        slow[Ds[~quick]] = True
        use = np.flatnonzero(slow[kept_D])
        step = max(1, CHUNK // (n + 1))  # bound the memory of the (shapes x a) matrices
        chunks = [use[i : i + step] for i in range(0, use.size, step)]

        def shapes(chunk, b=b, kept_m=kept_m, kept_D=kept_D):
            m, D = kept_m[chunk], kept_D[chunk]
            val = combine(f[m, D][:, None], F_windows[b - D, n - m])
            return val, 1 + K_windows[b - D, n - m], m[:, None], D[:, None]

        if len(chunks) == 1:
            groups.append(shapes(chunks[0]))
            chunks = []
        lows = [g[0].min(axis=0) for g in groups] + [shapes(c)[0].min(axis=0) for c in chunks]
        best = np.min(lows, axis=0)
        threshold = best + tie(best)
        fewest = np.full(n + 1, np.iinfo(np.int64).max)
        for val, blocks, m, D in itertools.chain(groups, map(shapes, chunks)):  # chunks: built again
            masked = np.where(val <= threshold, blocks, np.iinfo(np.int64).max)
            i = np.argmin(masked, axis=0)
            better = (masked[i, a] < fewest) & np.isfinite(best) & (a >= 1)
            fewest = np.where(better, masked[i, a], fewest)
            F[better, b] = val[i, a][better]
            K[better, b] = blocks[i, a][better]
            choice_m[better, b] = np.broadcast_to(m, val.shape)[i, a][better]
            choice_D[better, b] = D[i, 0][better]
        rising[b] = bool(np.all(F[2:, b] >= F[1:-1, b]))
        convex[b] = is_convex(F[1:, b])
        if convex[b]:
            steps[b] = np.diff(F[1:, b])
        split = np.min(lows[1:], axis=0) if len(lows) > 1 else best + np.inf
        single = f[:, b]
        keep = np.isfinite(single) & (single <= split + tie(split)) & (single < f[:, b - 1])
        keep[0] = False
        kept_m = np.concatenate([kept_m, np.flatnonzero(keep)])
        kept_D = np.concatenate([kept_D, np.full(int(keep.sum()), b)])
    return backtrack(F, choice_m, choice_D)
