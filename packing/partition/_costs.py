"""Tables of within-block losses ``f(m, D)`` for :func:`packing.optimal_partition`.

``f(m, D)`` is ``Σ_{i<j} |cos θ_ij|^p`` (the coherence for ``p = inf``) of a
block of ``m`` unit vectors in ``R^D``:

* ``"welch"``: the ideal equal-norm tight frame at the Welch bound,
  ``C(m, 2) (max(0, m − D) / (D (m − 1)))^{p/2}``;
* ``"known"``: the known optimal packing of the registry
  (:func:`packing.known_optimum`: orthonormal, coincident lines, polygon lines,
  simplex, real ETFs), ``∞`` where none is known;
* ``"optimizer"``: :func:`packing.optimize_packing` per block shape, capped by
  the known exact value, cached for the session;
* a callable ``f(m, D) -> float``.

Randomness: every optimizer run draws from its own stream, keyed by the block
shape under the caller's ``rng`` (:func:`packing._validation.child_rng`), so a
table entry does not depend on which other entries were computed first, and
runs with the same integer seed share the session cache.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from .._progress import check_progress, progress_bar
from .._validation import (
    _describe,
    check_callable,
    check_choice,
    check_float,
    check_int,
    check_memory,
    check_p,
    check_seed_sequence,
    child_rng,
)
from ..constructions import best_known_block, known_optimum
from ..optimize import optimize_packing

__all__ = ["block_cost_table"]

COSTS = ("welch", "known", "optimizer")
_COST_TEXT = "'welch', 'known', 'optimizer' or a callable f(m, D) -> float"

#: (purpose, m, D, p, budget, entropy, spawn_key) -> (objective, W) of an optimizer run, for the session.
OPTIMIZER_CACHE: dict[tuple, tuple[float, np.ndarray]] = {}
#: Stream keys of the two optimizer consumers: table entries and blocks built without an exact packing.
_TABLE, _BUILD = 0, 1


def pair_loss(m: int, cos: float, p: float) -> float:
    """Return ``C(m, 2) cos**p`` (``cos`` itself for ``p = inf``): the loss of an equiangular block."""
    if math.isinf(p):
        return cos
    return m * (m - 1) / 2 * cos**p if cos > 0 else 0.0


def welch_cost(m: int, D: int, p: float) -> float:
    """Loss of ``m`` lines in ``R^D`` at the Welch bound (0 when they fit orthogonally)."""
    if m <= D or m < 2:
        return 0.0
    return pair_loss(m, math.sqrt((m - D) / (D * (m - 1))), p)


def known_cost(m: int, D: int, p: float) -> float:
    """Exact loss of the known optimal block (:func:`packing.known_optimum`), or inf when none is known."""
    if m < 2:
        return 0.0
    entry = known_optimum(m, D)
    return math.inf if entry is None else entry.moment(p)


def _optimizer_run(purpose: int, m: int, D: int, p: float, budget, seed, **options) -> tuple:
    """Return ``(objective, W)`` of the optimizer on its own stream for ``(purpose, m, D)``, cached."""
    key = (purpose, m, D, p, budget, seed.entropy, seed.spawn_key, tuple(sorted(options.items())))
    if key not in OPTIMIZER_CACHE:
        stream = child_rng(seed, purpose, m, D)
        res = optimize_packing(m, D, p=p, rng=stream, budget=budget, progress=False, **options)
        if getattr(res, "stopping_reason", "") == "interrupted":  # Ctrl-C: never cache a cut-short value
            raise KeyboardInterrupt
        OPTIMIZER_CACHE[key] = (float(res.objective), np.asarray(res.W, dtype=np.float64))
    return OPTIMIZER_CACHE[key]


def optimizer_cost(m: int, D: int, p: float, budget, seed: np.random.SeedSequence) -> float:
    """Return the optimizer's loss for ``m`` lines in ``R^D``, capped by the known exact value."""
    known = known_cost(m, D, p)
    if m <= D or D == 1:
        return known
    return min(known, _optimizer_run(_TABLE, m, D, p, budget, seed)[0])


def cost_function(cost, p: float, budget, seed) -> tuple[str, Callable[[int, int], float]]:
    """Return ``(name, f)`` for a validated ``cost``: ``"callable"`` for a user's function."""
    if callable(cost):
        return "callable", check_callable(cost, "cost", (2,), "a callable f(m, D) -> float")[0]
    check_choice(cost, "cost", COSTS, expected=_COST_TEXT)
    if cost == "welch":
        return cost, lambda m, D: welch_cost(m, D, p)
    if cost == "known":
        return cost, lambda m, D: known_cost(m, D, p)
    return cost, lambda m, D: optimizer_cost(m, D, p, budget, seed)


#: Bytes per cell of an ``(n + 1) x (d + 1)`` table that the partition DP holds at once: the cost
#: table and its envelope, the padded rows of F and of the block counts, the choices and the kept shapes.
BYTES_PER_CELL = 96
#: Scratch of the fast DP's (block shapes x feature counts) matrices: ``_dp.CHUNK`` entries, several arrays.
DP_SCRATCH = 160 * 2**20
#: Bytes of that scratch per (block shape, feature count) entry: ``DP_SCRATCH`` over ``_dp.CHUNK``.
SCRATCH_BYTES_PER_ENTRY = DP_SCRATCH // (1 << 22)
#: Bytes of a programme of any size (lists of groups, small arrays): what a tiny one needs.
DP_BASE = 2**20


def check_table_memory(func: str, n: int, d: int, *, dp: bool) -> None:
    """Refuse a table (and, with ``dp``, the dynamic programme over it) beyond the memory limit."""
    cells = (n + 1) * (d + 1)
    # the DP's matrices hold at most one row per block shape (cells) by n + 1 feature counts, in
    # chunks of _dp.CHUNK entries: a small programme needs a small scratch, not the full chunk
    scratch = DP_BASE + min(DP_SCRATCH, cells * (n + 1) * SCRATCH_BYTES_PER_ENTRY)
    need = cells * BYTES_PER_CELL + scratch if dp else cells * 16
    what = "the (n + 1) x (d + 1) tables of the partition programme" if dp else "the (n + 1) x (d + 1) table"
    check_memory(need, func, what, n=n, d=d)


def cost_table(n: int, d: int, fn: Callable[[int, int], float], progress=False) -> np.ndarray:
    """Evaluate ``fn`` on every block shape; refuse values that are not numbers ``>= 0`` (inf allowed).

    ``progress`` shows a bar over the table (callers pass it for the optimizer cost only).
    """
    f = np.full((n + 1, d + 1), np.inf)
    # progress hook (cli branch): one bar over the n * d entries
    with progress_bar(n * d, desc=f"block costs ({n}, {d})", progress=progress, unit="block") as bar:
        _fill(f, n, d, fn, bar)
    return f


def _fill(f: np.ndarray, n: int, d: int, fn: Callable[[int, int], float], bar) -> None:
    for m in range(1, n + 1):
        for D in range(1, d + 1):
            f[m, D] = checked_cost(fn, m, D)
            bar.update()


def checked_cost(fn: Callable[[int, int], float], m: int, D: int) -> float:
    """``fn(m, D)`` as a float; refuse values that are not numbers ``>= 0`` (inf allowed)."""
    value = fn(m, D)
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"cost({m}, {D}) must return a number; got {_describe(value)}.") from None
    if math.isnan(value) or value < 0:
        raise ValueError(f"cost({m}, {D}) must be >= 0 (or inf); got {value}.")
    return value


def build_block(m: int, D: int, p: float, cost: str, budget, seed) -> np.ndarray:
    """Return a packing for one block: the table's optimizer result, an exact construction, or a short run."""
    if cost == "optimizer" and m > D > 1:
        objective, W = _optimizer_run(_TABLE, m, D, p, budget, seed)
        if objective <= known_cost(m, D, p):
            return W
    B = best_known_block(m, D)
    if B is not None:
        return np.asarray(B, dtype=np.float64)
    return _optimizer_run(_BUILD, m, D, p, budget or 1.0, seed, restarts=4)[1]


def check_budget(budget) -> float | None:
    """Return the optimizer budget in seconds (``None``: the optimizer's default)."""
    return None if budget is None else check_float(budget, "budget", minimum=0.0, strict_min=True)


def check_rng_or_seed(rng, seed) -> np.random.SeedSequence:
    """Map the deprecated ``seed`` onto ``rng``; return the root seed sequence."""
    if seed is not None:
        warnings.warn(
            "seed is deprecated; pass rng=seed instead (rng is the one randomness argument: "
            "None, an int seed or a numpy Generator).",
            DeprecationWarning,
            stacklevel=3,
        )
        if not (isinstance(rng, int) and rng == 0):
            both = f"got rng={rng!r}, seed={seed!r}"
            raise TypeError(f"pass either rng or the deprecated seed, not both; {both}.")
        check_int(seed, "seed", minimum=0)
        rng = seed
    return check_seed_sequence(rng)


def block_cost_table(
    n: int, d: int, p: float, *, cost="welch", budget=None, rng=0, seed=None, progress="auto"
) -> np.ndarray:
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
    rng : int, None or numpy.random.Generator, default 0
        Randomness of the optimizer runs (``cost="optimizer"``); each block shape
        gets its own independent stream. The default fixed seed makes the table
        reproducible and lets repeated calls share the session cache; ``None``
        draws fresh entropy.
    seed : int, optional
        Deprecated alias of ``rng`` (an int seed).
    progress : True, False or "auto"
        With ``cost="optimizer"``, a progress bar over the table's entries on
        standard error; ``"auto"`` (default) only when standard error is a terminal.

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
    ValueError: cost must be 'welch', 'known', 'optimizer' or a callable f(m, D) -> float; got 'best'.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    seq = check_rng_or_seed(rng, seed)
    name, fn = cost_function(cost, p, check_budget(budget), seq)
    check_table_memory("block_cost_table", n, d, dp=False)
    progress = check_progress(progress)
    return cost_table(n, d, fn, progress if name == "optimizer" else False)
