"""Optimal subspace partitions: split features and dimensions into orthogonal blocks.

Split ``n`` features into blocks of ``n_1..n_k`` and ``d`` dimensions into
``d_1..d_k`` (uneven allowed), put block ``b`` in its own ``d_b``-dimensional
subspace, and pack it as well as possible. Cross-block pairs are exactly
orthogonal and cost nothing, so the total interference is
``Σ_b f(n_b, d_b)`` (``max_b`` for ``p = inf``), where ``f(m, D)`` is the
within-block loss ``Σ_{i<j} |cos θ_ij|^p`` (the coherence for ``p = inf``) of
``m`` unit vectors in ``R^D``. Given the table ``f``, the best partition is an
exact dynamic programme over ``(n, d)``:

    ``F(a, b) = min_{1<=m<=a, 1<=D<=b} f(m, D) ⊕ F(a − m, b − D)``,
    ``F(0, 0) = 0``, ``F(0, b > 0) = ∞``,

with ``⊕`` the sum (or max), using ``f``'s envelope ``min_{D' <= D} f(m, D')``
so that a block may leave some of its dimensions unused. Scanning every
block shape at every cell costs ``O(n² d²)``; :func:`optimal_partition` gets
the same optimum much faster by exploiting the table's structure (convex or
monotone columns, dominated block shapes; see ``_solve``): ``n = 1000,
d = 100`` with the Welch table takes about a second for each ``p``
(``scripts/bench_partition.py``).

Cost tables ``f``:

* ``"welch"``: the ideal equal-norm tight frame at the Welch bound,
  ``C(m, 2) (max(0, m − D) / (D (m − 1)))^{p/2}``;
* ``"known"``: the best exact packing built here (:func:`packing.best_known_block`:
  orthonormal, coincident lines, polygon lines, real ETFs), ``∞`` otherwise;
* ``"optimizer"``: :func:`packing.optimize_packing` per block shape (cached;
  ``Σ_{D=2}^{min(d, n−1)} (n − D)`` calls for an ``(n, d)`` table), capped
  by the known exact value;
* a callable ``f(m, D) -> float``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validation import _describe, check_float, check_int, check_p, check_rng
from .constructions import best_known_block, known_optimum, random_packing, tegum_product

__all__ = ["PartitionResult", "optimal_partition", "block_cost_table", "equal_partition_loss"]

_COSTS = ("welch", "known", "optimizer")

#: (m, D, p, budget, seed) or (m, D, p, "build", budget, seed) -> (objective, W) from the optimizer.
_OPTIMIZER_CACHE: dict[tuple, tuple[float, np.ndarray]] = {}


@dataclass
class PartitionResult:
    """Result of :func:`optimal_partition`.

    Attributes
    ----------
    n, d : int
        Features and dimensions.
    p : float
        Moment order (``inf``: coherence, blocks combined by ``max``).
    cost : str
        Name of the block cost table (``"callable"`` for a user function).
    blocks : list of (int, int)
        ``(n_b, d_b)`` per block, largest first; ``Σ n_b = n``, ``Σ d_b = d``.
    block_losses : list of float
        ``f(n_b, d_b)`` per block.
    loss : float
        ``Σ block_losses`` (``max`` for ``p = inf``): the optimal value of the
        dynamic programme for this cost table.
    W : ndarray of shape (n, d) or None
        A packing realizing the partition (block-diagonal), or None if
        ``build=False``.
    labels : ndarray of int, shape (n,)
        Block of each row of ``W``.
    realized_loss : float or None
        The same loss measured on ``W`` (differs from ``loss`` where a block's
        table value, e.g. the Welch ideal, is not attained by a known packing).
    exact_blocks : list of bool
        Whether each block of ``W`` attains (or beats) its table value.
    """

    n: int
    d: int
    p: float
    cost: str
    blocks: list[tuple[int, int]]
    block_losses: list[float]
    loss: float
    W: np.ndarray | None = None
    labels: np.ndarray | None = None
    realized_loss: float | None = None
    exact_blocks: list[bool] = field(default_factory=list)

    @property
    def k(self) -> int:
        """Number of blocks."""
        return len(self.blocks)

    @property
    def is_even(self) -> bool:
        """True when all blocks have the same ``(n_b, d_b)``."""
        return len(set(self.blocks)) == 1

    def __repr__(self) -> str:
        return (
            f"PartitionResult(n={self.n}, d={self.d}, p={self.p}, cost={self.cost!r}, "
            f"blocks={self.blocks}, loss={self.loss:.6g})"
        )


def _pair_loss(m: int, cos: float, p: float) -> float:
    if math.isinf(p):
        return cos
    return m * (m - 1) / 2 * cos**p if cos > 0 else 0.0


def _welch_cost(m: int, D: int, p: float) -> float:
    if m <= D or m < 2:
        return 0.0
    return _pair_loss(m, math.sqrt((m - D) / (D * (m - 1))), p)


def _known_value(m: int, D: int, p: float) -> float:
    """Exact loss of the known optimal block (:func:`packing.known_optimum`), or inf when none is known."""
    if m < 2:
        return 0.0
    entry = known_optimum(m, D)
    return math.inf if entry is None else entry.moment(p)


def _optimizer_value(m: int, D: int, p: float, budget, seed) -> float:
    known = _known_value(m, D, p)
    if m <= D or D == 1:
        return known
    key = (m, D, p, budget, seed)
    if key not in _OPTIMIZER_CACHE:
        from .optimize import optimize_packing

        res = optimize_packing(m, D, p=p, rng=np.random.default_rng([seed, m, D]), budget=budget)
        _OPTIMIZER_CACHE[key] = (float(res.objective), np.asarray(res.W, dtype=np.float64))
    return min(known, _OPTIMIZER_CACHE[key][0])


def block_cost_table(n: int, d: int, p: float, *, cost="welch", budget=None, seed: int = 0) -> np.ndarray:
    """Return the table ``f[m, D]`` (``0 <= m <= n``, ``0 <= D <= d``) of within-block losses.

    ``f[m, D]`` is ``Σ_{i<j} |cos θ_ij|^p`` (``p = inf``: the coherence) of the
    block of ``m`` unit vectors in ``R^D`` under the chosen cost (see
    :mod:`packing.partition`); row and column 0 are unused (``inf``).

    Parameters
    ----------
    n, d : int
        Largest block size and dimension.
    p : float > 0 or inf
        Moment order.
    cost : {"welch", "known", "optimizer"} or callable
        Block cost (a callable is called as ``cost(m, D)``).
    budget : float or None
        Seconds per optimizer call (``cost="optimizer"``).
    seed : int
        Seed of the optimizer runs (each block size gets its own stream).

    Returns
    -------
    ndarray of shape (n + 1, d + 1)

    Examples
    --------
    >>> f = block_cost_table(4, 2, 1.0)
    >>> np.round(f[1:, 1:], 4)
    array([[0.    , 0.    ],
           [1.    , 0.    ],
           [3.    , 1.5   ],
           [6.    , 3.4641]])
    >>> block_cost_table(4, 2, 1.0, cost="best")
    Traceback (most recent call last):
    ...
    ValueError: cost must be 'welch', 'known', 'optimizer' or a callable f(m, D) -> float; got str 'best'.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    seed = check_int(seed, "seed", minimum=0)
    if budget is not None:
        budget = check_float(budget, "budget", minimum=0.0, strict_min=True)
    if callable(cost):
        fn: Callable[[int, int], float] = cost
    elif cost == "welch":
        def fn(m, D):
            return _welch_cost(m, D, p)
    elif cost == "known":
        def fn(m, D):
            return _known_value(m, D, p)
    elif cost == "optimizer":
        def fn(m, D):
            return _optimizer_value(m, D, p, budget, seed)
    else:
        raise ValueError(
            f"cost must be 'welch', 'known', 'optimizer' or a callable f(m, D) -> float; "
            f"got {_describe(cost)}."
        )
    f = np.full((n + 1, d + 1), np.inf)
    for m in range(1, n + 1):
        for D in range(1, d + 1):
            value = fn(m, D)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"cost({m}, {D}) must return a number; got {_describe(value)}.") from None
            if math.isnan(value) or value < 0:
                raise ValueError(f"cost({m}, {D}) must be >= 0 (or inf); got {value}.")
            f[m, D] = value
    return f


_TIE = 1e-12  # relative width of a tie between two candidate losses
_CHUNK = 1 << 22  # entries per (block shapes x feature counts) matrix of the fast DP


def _tie(best: np.ndarray) -> np.ndarray:
    """Tolerance below which two losses near ``best`` count as equal."""
    return _TIE * np.maximum(1.0, np.abs(np.where(np.isfinite(best), best, 0.0)))


def _solve_reference(f: np.ndarray, n: int, d: int, combine) -> tuple[float, list[tuple[int, int]]]:
    """Solve the DP straightforwardly: every cell scans every block shape, ``O(n² d²)``.

    Kept to cross-check and time :func:`_solve` (tests, ``scripts/bench_partition.py``).
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
            near = total <= best + _tie(best)
            blocks = np.where(near, K[a - 1 :: -1, b - 1 :: -1], np.iinfo(np.int64).max)
            i, j = np.unravel_index(np.argmin(blocks), blocks.shape)
            F[a, b] = total[i, j]
            K[a, b] = K[a - 1 - i, b - 1 - j] + 1
            choice[a, b] = (i + 1, j + 1)
    return _backtrack(F, choice[..., 0], choice[..., 1])


def _backtrack(F, choice_m, choice_D) -> tuple[float, list[tuple[int, int]]]:
    n, d = F.shape[0] - 1, F.shape[1] - 1
    if not np.isfinite(F[n, d]):
        raise ValueError(
            f"no partition of n={n} features into d={d} dims has finite cost; the cost table is inf "
            f"everywhere it is needed (cost must be finite at least for blocks of 1 dimension)."
        )
    blocks = []
    a, b = n, d
    while a > 0:
        m, D = int(choice_m[a, b]), int(choice_D[a, b])
        blocks.append((m, D))
        a, b = a - m, b - D
    return float(F[n, d]), sorted(blocks, reverse=True)


def _monge_rows(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _merge_rows(G: np.ndarray, H: np.ndarray, dG: np.ndarray, dH: np.ndarray) -> tuple[np.ndarray, ...]:
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


def _crossing_rows(G: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _convex(x: np.ndarray) -> np.ndarray:
    """Whether ``x`` (or each row of a 2-d ``x``) is finite and convex, up to rounding."""
    x = np.atleast_2d(x)
    with np.errstate(invalid="ignore"):
        second = x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]
        scale = np.max(np.abs(np.where(np.isfinite(x), x, 0.0)), axis=1, keepdims=True)
        ok = np.all(second >= -1e-12 * np.maximum(1.0, scale), axis=1)
    return np.squeeze(ok & np.all(np.isfinite(x), axis=1))


def _fast_columns(f: np.ndarray, use_max: bool) -> np.ndarray:
    """Which block-dimension columns ``f[1:, D]`` allow the ``O(n log n)`` / ``O(n)`` row minima."""
    cols = f[1:, :].T
    if use_max:
        return np.all(cols[:, 1:] >= cols[:, :-1], axis=1)
    return _convex(cols)


def _solve(f: np.ndarray, n: int, d: int, use_max: bool) -> tuple[float, list[tuple[int, int]]]:
    """Exact DP over (features, dims) with block costs ``f`` (an envelope in D), fast.

    The recurrence of :func:`_solve_reference`, evaluated one dimension column
    ``b`` at a time and vectorized over all feature counts ``a`` (``F[:, b]``
    only needs columns ``< b``). The candidate first blocks ``(m, D)`` of
    column ``b``:

    * the whole cell as one block;
    * per block column ``D`` whose costs ``f[1:, D]`` are convex in ``m``
      (sum) or nondecreasing (max, with ``F[1:, b − D]`` nondecreasing too),
      the best ``m`` for every ``a`` at once: :func:`_merge_rows` (``O(n)``)
      when ``F[1:, b − D]`` is convex as well, else :func:`_monge_rows`
      (``O(n log n)``), or :func:`_crossing_rows` (``O(n)``) for max;
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
    fast = _fast_columns(f, use_max)
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
                val, j = _monge_rows(F[:, b - D].T, f[:, D].T)
            elif use_max:
                val, j = np.array([_crossing_rows(F[:, b - x], f[:, x]) for x in D]).transpose(1, 0, 2)
            else:
                pairs = [_merge_rows(F[:, b - x], f[:, x], steps[b - x], f_steps[:, x]) for x in D]
                val, j = np.array(pairs).transpose(1, 0, 2)
            j = j.astype(np.int64)
            groups.append((val, 1 + Kp[(b - D)[:, None], n + j], a - j, D[:, None]))
        slow = np.zeros(d + 1, dtype=bool)
        slow[Ds[~quick]] = True
        use = np.flatnonzero(slow[kept_D])
        step = max(1, _CHUNK // (n + 1))  # bound the memory of the (shapes x a) matrices
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
        threshold = best + _tie(best)
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
        convex[b] = _convex(F[1:, b])
        if convex[b]:
            steps[b] = np.diff(F[1:, b])
        split = np.min(lows[1:], axis=0) if len(lows) > 1 else best + np.inf
        single = f[:, b]
        keep = np.isfinite(single) & (single <= split + _tie(split)) & (single < f[:, b - 1])
        keep[0] = False
        kept_m = np.concatenate([kept_m, np.flatnonzero(keep)])
        kept_D = np.concatenate([kept_D, np.full(int(keep.sum()), b)])
    return _backtrack(F, choice_m, choice_D)


def _build_block(m: int, D: int, p: float, cost, budget, seed, rng) -> np.ndarray:
    """Return a packing for one block: optimizer result, exact construction, or a fallback."""
    if cost == "optimizer" and m > D > 1:
        key = (m, D, p, budget, seed)
        if key in _OPTIMIZER_CACHE and _OPTIMIZER_CACHE[key][0] <= _known_value(m, D, p):
            return _OPTIMIZER_CACHE[key][1]
    B = best_known_block(m, D)
    if B is not None:
        return np.asarray(B, dtype=np.float64)
    try:  # no exact construction: a short optimizer run if the optimizer is available
        from .optimize import optimize_packing
    except ImportError:
        return random_packing(m, D, rng=rng)
    key = (m, D, p, "build", budget, seed)
    if key not in _OPTIMIZER_CACHE:
        stream = np.random.default_rng([seed, m, D])
        res = optimize_packing(m, D, p=p, rng=stream, budget=budget or 1.0, restarts=4)
        _OPTIMIZER_CACHE[key] = (float(res.objective), np.asarray(res.W, dtype=np.float64))
    return _OPTIMIZER_CACHE[key][1]


def optimal_partition(
    n: int,
    d: int,
    p: float,
    *,
    cost="welch",
    budget: float | None = None,
    seed: int = 0,
    build: bool = True,
    rng=None,
) -> PartitionResult:
    """Return the partition of ``n`` features and ``d`` dims into orthogonal blocks of least interference.

    Minimizes ``Σ_b f(n_b, d_b)`` (``max_b`` for ``p = inf``) over all
    ``n_1 + .. + n_k = n``, ``d_1 + .. + d_k = d``, every ``n_b, d_b >= 1``, by
    exact dynamic programming (see :mod:`packing.partition`); ``n = 1000,
    d = 100`` takes under a second with the Welch table. Ties (losses within
    ``1e-12`` relative) are broken towards fewer blocks: for ``p = inf`` the
    result has the fewest blocks of all optimal partitions; for finite ``p``
    the DP prefers fewer blocks cell by cell, which with exactly tied cost
    tables can miss a partition of equal loss with fewer blocks.

    Parameters
    ----------
    n, d : int
        Features and dimensions.
    p : float > 0 or inf
        Moment order of the pairwise loss ``Σ_{i<j} |cos θ_ij|^p``.
    cost : {"welch", "known", "optimizer"} or callable
        Table of within-block losses ``f(m, D)`` (see :func:`block_cost_table`).
        ``"optimizer"`` calls :func:`packing.optimize_packing` once per block
        shape ``m > D >= 2`` with ``m <= n, D <= d`` (results cached for the
        session, keyed by ``(m, D, p, budget, seed)``): that is
        ``Σ_{D=2}^{min(d, n−1)} (n − D)`` calls, e.g. 9 for ``n=7, d=3``, 26
        for ``n=10, d=5``, 3,626 for ``n=100, d=50`` and 93,951 for
        ``n=1000, d=100`` (at ``budget`` seconds each the table, not the
        DP, is the cost: keep ``n, d`` small or pass a small ``budget``).
        ``build=True`` may add one more call per block without an exact
        construction.
    budget : float or None
        Seconds per optimizer call.
    seed : int
        Seed of the optimizer runs.
    build : bool
        Construct ``W`` (block-diagonal): exact blocks where known, else the
        packing of :func:`packing.optimize_packing` (at most 4 restarts within
        ``budget`` or 1 s, seeded by ``seed``, cached for the session), or a
        random packing (from ``rng``) if the optimizer is unavailable.
    rng : None, int or numpy.random.Generator
        Randomness for the random fallback blocks.

    Returns
    -------
    PartitionResult

    Examples
    --------
    >>> r = optimal_partition(12, 6, 1.0)          # p < 2: many orthogonal pairs win
    >>> r.blocks, round(r.loss, 6)
    ([(2, 1), (2, 1), (2, 1), (2, 1), (2, 1), (2, 1)], 6.0)
    >>> r = optimal_partition(12, 6, 4.0)          # p > 2: spread everything
    >>> r.blocks, round(r.loss, 4), r.exact_blocks     # Welch ideal; no ETF(12, 6) exists
    ([(12, 6)], 0.5455, [False])
    >>> optimal_partition(12, 6, 4.0, cost="known").blocks
    [(6, 3), (6, 3)]
    >>> optimal_partition(5, 0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    rng = check_rng(rng)
    f = block_cost_table(n, d, p, cost=cost, budget=budget, seed=seed)
    envelope = np.minimum.accumulate(f, axis=1)
    loss, blocks = _solve(envelope, n, d, math.isinf(p))
    if math.isinf(p) and len(blocks) > 1:  # max ignores all but one block: fewest blocks at that level
        fewest = _solve(np.where(envelope <= loss + _tie(loss), 1.0, np.inf), n, d, False)[1]
        if len(fewest) < len(blocks):
            blocks = fewest
            loss = max(float(envelope[m, D]) for m, D in blocks)
    name = "callable" if callable(cost) else cost
    block_losses = [float(envelope[m, D]) for m, D in blocks]
    result = PartitionResult(n, d, p, name, blocks, block_losses, loss)
    if build:
        from .geometry import interference_moment

        arrays, exact = [], []
        for (m, D), target in zip(blocks, block_losses, strict=True):
            used = int(np.argmin(f[m, 1 : D + 1])) + 1  # dimensions the block really uses
            B = _build_block(m, used, p, name, budget, seed, rng)
            arrays.append(np.pad(B, ((0, 0), (0, D - used))))
            got = float(interference_moment(B, p)) if m > 1 else 0.0
            exact.append(bool(got <= target + 1e-9 * max(1.0, target)))
        result.W, result.labels = tegum_product(*arrays, return_labels=True)
        result.realized_loss = float(interference_moment(result.W, p)) if n > 1 else 0.0
        result.exact_blocks = exact
    return result


def equal_partition_loss(n: int, d: int, k: int, p: float, *, cost="welch") -> float:
    """Return the loss of ``k`` blocks of equal size ``(n/k, d/k)`` under a cost table.

    The comparison point for :func:`optimal_partition`; with ``cost="welch"``
    and finite ``p`` it is ``tegum_loss(n, d, k, p) / 2`` (unordered pairs).

    Examples
    --------
    >>> equal_partition_loss(12, 6, 6, 1.0)
    6.0
    >>> equal_partition_loss(12, 6, 4, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: k must divide both n=12 and d=6 for k equal blocks; got k=4. ...
    """
    from .analytic import _check_ndkp

    n, d, k, p = _check_ndkp(n, d, k, p)
    f = block_cost_table(n // k, d // k, p, cost=cost)
    value = float(np.min(f[n // k, 1:]))
    return value if math.isinf(p) else k * value
