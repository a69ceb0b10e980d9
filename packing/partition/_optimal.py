"""Optimal subspace partitions: the result and the public entry points (see :mod:`packing.partition`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._progress import check_progress
from .._results import Savable
from .._validation import check_bool, check_equal_blocks, check_int, check_memory, check_p
from ..constructions import tegum_product
from ..geometry import interference_moment
from . import _dp
from ._costs import (
    build_block,
    check_budget,
    check_rng_or_seed,
    check_table_memory,
    checked_cost,
    cost_function,
    cost_table,
)

__all__ = ["PartitionResult", "optimal_partition", "equal_partition_loss"]


@dataclass
class PartitionResult(Savable):
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
    b : ndarray of shape (n,) or None
        With ``cost="relu"``: the fitted biases of the ReLU toy model whose
        weights are ``W`` (``loss`` and ``realized_loss`` are then its
        expected loss, not a p-moment).
    shapes : list of str
        With ``cost="relu"``: the shape each block holds (``"digon"``,
        ``"pentagon"``, ..., ``"dropped"`` for a block whose features are all
        left out); its other features are left out (norm 0).
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
    b: np.ndarray | None = field(default=None, repr=False)
    shapes: list[str] = field(default_factory=list)

    def __post_init__(self):
        super().__post_init__()
        if math.isnan(self.p) and self.cost != "relu":
            raise ValueError(
                f"PartitionResult: p is NaN, which only a cost='relu' partition records (it has no moment "
                f"order); got cost={self.cost!r}."
            )

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


def optimal_partition(
    n: int,
    d: int,
    p: float | None = None,
    *,
    cost="welch",
    sparsity=None,
    density=None,
    budget: float | None = None,
    build: bool = True,
    rng=0,
    seed: int | None = None,
    progress="auto",
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
        Moment order of the pairwise loss ``Σ_{i<j} |cos θ_ij|^p`` (a line-packing
        loss; ignored, and may be omitted, with ``cost="relu"``).
    cost : {"welch", "known", "optimizer", "relu"} or callable
        Table of within-block losses ``f(m, D)`` (see :func:`block_cost_table`).
        ``"relu"``: the fitted expected loss of the ReLU toy model
        (:func:`packing.relu_block_costs`: equal importance, the given
        ``sparsity``): a block of ``m`` features in ``D`` dims holds the best
        decodable shape of at most ``m`` of them (a dimension holds at most an
        antipodal pair, two dims at most a polygon, ...) and leaves the rest
        out, so the partition is one a ReLU model can learn; ``W`` and ``b``
        are that model's weights and ``loss`` its expected loss.
        ``"optimizer"`` calls :func:`packing.optimize_packing` once per block
        shape ``m > D >= 2`` with ``m <= n, D <= d`` (results cached for the
        session, keyed by ``(m, D, p, budget, rng)``): that is
        ``Σ_{D=2}^{min(d, n−1)} (n − D)`` calls, e.g. 9 for ``n=7, d=3``, 26
        for ``n=10, d=5``, 3,626 for ``n=100, d=50`` and 93,951 for
        ``n=1000, d=100`` (at ``budget`` seconds each the table, not the
        DP, is the cost: keep ``n, d`` small or pass a small ``budget``).
        ``build=True`` may add one more call per block without an exact
        construction. Ctrl-C stops the whole call (``KeyboardInterrupt``);
        a block cut short by it never enters the table or the session cache.
    sparsity, density : float, optional
        With ``cost="relu"``: the probability a feature is zero (or active), one
        number for every feature (default dense).
    budget : float or None
        Seconds per optimizer call.
    build : bool
        Construct ``W`` (block-diagonal): exact blocks where known, else the
        packing of :func:`packing.optimize_packing` (at most 4 restarts within
        ``budget`` or 1 s, cached for the session).
    rng : int, None or numpy.random.Generator, default 0
        The one source of randomness: the optimizer runs of ``cost="optimizer"``
        and of blocks built without an exact construction, each block shape on
        its own independent stream. The default fixed seed makes results
        reproducible and lets repeated calls share the session cache; ``None``
        draws fresh entropy.
    seed : int, optional
        Deprecated alias of ``rng`` (an int seed); warns with
        ``DeprecationWarning``.
    progress : True, False or "auto"
        With ``cost="optimizer"``, a progress bar over the cost table on
        standard error; ``"auto"`` (default) only when standard error is a terminal.

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

    The ReLU model's own cost: a dimension holds at most an antipodal pair.

    >>> r = optimal_partition(6, 3, cost="relu", sparsity=0.9)
    >>> r.blocks, r.shapes
    ([(2, 1), (2, 1), (2, 1)], ['digon', 'digon', 'digon'])
    >>> r = optimal_partition(5, 1, cost="relu", sparsity=0.9)   # p = 1 would put all 5 on the line
    >>> r.shapes, int(np.sum(np.linalg.norm(r.W, axis=1) > 0))
    (['digon'], 2)
    >>> optimal_partition(5, 0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    budget = check_budget(budget)  # every option is checked, also those the chosen cost does not read
    build = check_bool(build, "build")
    seq = check_rng_or_seed(rng, seed)
    progress = check_progress(progress)
    if isinstance(cost, str) and cost == "relu":
        return _relu_partition(n, d, p, sparsity, density, build)
    if sparsity is not None or density is not None:
        name = "sparsity" if sparsity is not None else "density"
        raise ValueError(
            f"{name} needs cost='relu' (the line-packing costs take no data); got cost={cost!r}."
        )
    p = check_p(p)
    name, fn = cost_function(cost, p, budget, seq)
    check_table_memory("optimal_partition", n, d, dp=True)
    if build:
        check_memory(24 * n * d, "optimal_partition", "the block-diagonal packing W (build=True)", n=n, d=d)
    f = cost_table(n, d, fn, progress if name == "optimizer" else False)
    envelope = np.minimum.accumulate(f, axis=1)
    loss, blocks = _dp.solve(envelope, n, d, math.isinf(p))
    if math.isinf(p) and len(blocks) > 1:  # max ignores all but one block: fewest blocks at that level
        fewest = _dp.solve(np.where(envelope <= loss + _dp.tie(loss), 1.0, np.inf), n, d, False)[1]
        if len(fewest) < len(blocks):
            blocks = fewest
            loss = max(float(envelope[m, D]) for m, D in blocks)
    block_losses = [float(envelope[m, D]) for m, D in blocks]
    result = PartitionResult(n, d, p, name, blocks, block_losses, loss)
    if build:
        arrays, exact = [], []
        for (m, D), target in zip(blocks, block_losses, strict=True):
            used = int(np.argmin(f[m, 1 : D + 1])) + 1  # dimensions the block really uses
            B = build_block(m, used, p, name, budget, seq)
            arrays.append(np.pad(B, ((0, 0), (0, D - used))))
            got = float(interference_moment(B, p)) if m > 1 else 0.0
            exact.append(bool(got <= target + 1e-9 * max(1.0, target)))
        result.W, result.labels = tegum_product(*arrays, return_labels=True)
        result.realized_loss = float(interference_moment(result.W, p)) if n > 1 else 0.0
        result.exact_blocks = exact
    return result


def _relu_partition(n, d, p, sparsity, density, build) -> PartitionResult:
    """``optimal_partition`` with the ReLU toy model's fitted block costs (validated ``n, d, build``)."""
    from ..theory._predict import _check_shapes, _cost_table, one_density, relu_partition_blocks

    p = math.nan if p is None else check_p(p)
    check_table_memory("optimal_partition", n, d, dp=True)
    dens = one_density("optimal_partition", sparsity, density)
    table, costs, by_key = _cost_table(n, d, dens, _check_shapes(None))
    f = table.partition_table()
    loss, blocks = _dp.solve(f, n, d, False)
    result = PartitionResult(n, d, p, "relu", blocks, [float(f[m, D]) for m, D in blocks], loss)
    W, b, labels, names = relu_partition_blocks(n, d, dens, blocks, table, costs, by_key)
    result.shapes = names
    if build:
        from ..theory import expected_loss

        result.W, result.b, result.labels = W, b, labels
        result.realized_loss = float(expected_loss(W, b, density=dens))
        result.exact_blocks = [True] * len(blocks)
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
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    k = check_equal_blocks(n, d, k)
    p = check_p(p)
    name, fn = cost_function(cost, p, None, check_rng_or_seed(0, None))
    m, D = n // k, d // k
    if name == "welch":  # the Welch cost falls with the dimension: a block uses all of its D
        value = checked_cost(fn, m, D)
    else:  # a block may leave dimensions unused: the least cost over 1..D dimensions
        check_memory(16 * D, "equal_partition_loss", "the costs of one block in 1..d/k dimensions", d=d, k=k)
        value = min(checked_cost(fn, m, used) for used in range(1, D + 1))
    return value if math.isinf(p) else k * value
