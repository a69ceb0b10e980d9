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
so that a block may leave some of its dimensions unused. The cost is
``O(n² d²)`` array work (about a second for ``n = 200, d = 100``).

Cost tables ``f``:

* ``"welch"``: the ideal equal-norm tight frame at the Welch bound,
  ``C(m, 2) (max(0, m − D) / (D (m − 1)))^{p/2}``;
* ``"known"``: the best exact packing built here (:func:`packing.best_known_block`:
  orthonormal, coincident lines, polygon lines, real ETFs), ``∞`` otherwise;
* ``"optimizer"``: :func:`packing.optimize_packing` per block (cached), capped
  by the known exact value;
* a callable ``f(m, D) -> float``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validation import _describe, check_float, check_int, check_p, check_rng
from .constructions import best_known_block, random_packing, tegum_product

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
    """Exact loss of the best known block, or inf when none is built here."""
    if m <= D or m < 2:
        return 0.0
    if D == 1:
        return _pair_loss(m, 1.0, p)
    if D == 2:
        from .analytic import construction_spectrum

        return construction_spectrum("polygon_lines", m).moment(p)
    from .constructions import _etf_builder

    return _welch_cost(m, D, p) if _etf_builder(m, D) is not None else math.inf


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


def _solve(f: np.ndarray, n: int, d: int, combine) -> tuple[float, list[tuple[int, int]]]:
    """Exact DP over (features, dims) with block costs ``f`` (already an envelope in D)."""
    F = np.full((n + 1, d + 1), np.inf)
    F[0, 0] = 0.0
    K = np.zeros((n + 1, d + 1), dtype=np.int64)  # number of blocks, for tie-breaking
    choice = np.zeros((n + 1, d + 1, 2), dtype=np.int64)
    for a in range(1, n + 1):
        for b in range(1, d + 1):
            rest = F[a - 1 :: -1, b - 1 :: -1]
            total = combine(f[1 : a + 1, 1 : b + 1], rest)
            best = total.min()
            if not np.isfinite(best):
                continue
            near = total <= best + 1e-12 * max(1.0, abs(best))
            blocks = np.where(near, K[a - 1 :: -1, b - 1 :: -1], np.iinfo(np.int64).max)
            i, j = np.unravel_index(np.argmin(blocks), blocks.shape)
            F[a, b] = total[i, j]
            K[a, b] = K[a - 1 - i, b - 1 - j] + 1
            choice[a, b] = (i + 1, j + 1)
    if not np.isfinite(F[n, d]):
        raise ValueError(
            f"no partition of n={n} features into d={d} dims has finite cost; the cost table is inf "
            f"everywhere it is needed (cost must be finite at least for blocks of 1 dimension)."
        )
    blocks = []
    a, b = n, d
    while a > 0:
        m, D = (int(x) for x in choice[a, b])
        blocks.append((m, D))
        a, b = a - m, b - D
    return float(F[n, d]), sorted(blocks, reverse=True)


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
    exact dynamic programming (see :mod:`packing.partition`). Among equal
    losses the partition with the fewest blocks is returned.

    Parameters
    ----------
    n, d : int
        Features and dimensions.
    p : float > 0 or inf
        Moment order of the pairwise loss ``Σ_{i<j} |cos θ_ij|^p``.
    cost : {"welch", "known", "optimizer"} or callable
        Table of within-block losses ``f(m, D)`` (see :func:`block_cost_table`).
        ``"optimizer"`` calls :func:`packing.optimize_packing` once per
        ``m > D >= 2`` (results cached for the session): keep ``n, d`` small or
        pass a small ``budget``.
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
    if math.isinf(p):
        loss, blocks = _solve(envelope, n, d, np.maximum)
    else:
        loss, blocks = _solve(envelope, n, d, np.add)
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
