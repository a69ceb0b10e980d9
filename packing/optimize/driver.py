"""The restart loop of :func:`optimize_packing` and its result, :class:`PackingResult`.

One call validates its arguments (:class:`_Settings`), returns the trivial
cells exactly (:func:`._objectives.shortcut_optimum`), and otherwise runs
restarts until a stopping rule fires (:func:`_stop_reason`). Each restart picks
a start (:func:`_next_start`: the caller's ``init``, the structured starts of
finite ``p``, a kick of the incumbent, or a fresh random packing) and improves
it with the local stages (:func:`_local_search`); :class:`_Search` holds what
carries over between restarts and from a continued result.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from .._progress import check_progress, progress_bar
from .._results import Savable
from .._rows import require_nonzero_rows
from .._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_memory,
    check_p,
    check_packing,
    check_rng,
)
from .._workers import abort_tasks, in_worker_process, reusable_executor, submit
from ..bounds import lower_bound
from ..constructions.polytopes import regular_polygon_lines
from ..reference import best_found
from ._objectives import (
    evaluate,
    objective_lower_bound,
    objective_lower_bound_log,
    objective_value,
    shortcut_optimum,
)
from ._parallel import SignalledDeadline, StopSignal
from ._seeds import adapt_packing, seed_coherence, structured_seeds
from ._sphere import random_point, unit
from ._stages import Deadline, alternating_projection, equalize, lp_polish, q_schedule, smooth_descent

__all__ = ["PackingResult", "optimize_packing"]

#: Default time budget (seconds) for ``p = inf`` and for finite ``p``.
DEFAULT_BUDGET = 10.0
DEFAULT_BUDGET_FINITE_P = 2.0
_METHODS = ("auto", "smooth", "ap")
#: What ``budget`` counts: wall-clock seconds, or CPU seconds of this process (for shared machines).
_CLOCKS = {"wall": time.perf_counter, "process": time.process_time}
#: log10 range of the basin-hopping kick size.
_KICK_RANGE = (-2.5, -0.5)
#: Fraction of basin-hopping starts that also redraw 1-3 random lines.
_REDRAW = 0.25
#: ``hop="portfolio"``: each later start is a fresh random packing, a kick, or a sharp kick (a
#: small kick descended from the sharp smoothing ``_SEED_Q``: cheap, it stays near the incumbent's
#: basin) with probability proportional to that kind's success rate so far (starts that beat the
#: incumbent, one success and one failure of prior each), every kind kept at least this share.
PORTFOLIO = "portfolio"
_KINDS = ("kick", "fresh", "sharp")  # in this order a draw u < hop is a kick, as with a float hop
_MIN_SHARE = 0.1
#: log10 range of the sharp kick's size.
_SHARP_KICK_RANGE = (-3.5, -2.0)
#: A start wins when it lowers the log of the incumbent's objective by more than this.
_WIN = 1e-9
#: Starts polished unconditionally before the polish is kept for promising starts only (with
#: table_seeds=True: starts other than the queued ones, which are always polished; see _local_search).
_ALWAYS_POLISH = 3
#: Seeds and structured starts begin their smooth max at this q (sharp: they are near a good packing).
#: A kick does not: it descends from a random schedule (q0 in [4, 64]), so the soft smoothing carries
#: the kicked incumbent to a nearby but different basin. Kicks that restarted at q0 = 8/σ (≤ 256) and
#: drew their base from a pool of four elites half of the time (a827b3e) tend to stay in the basins
#: they came from: at 15 CPU s and seed 0 that search missed (3, 23), (3, 31) and (5, 23) by 9e-6,
#: 6e-5 and 1e-3, which these kicks reach to 1e-10 (at seed 1 both miss some: the cells are noisy).
_SEED_Q = 256.0
#: The "q0" of a start taken as it is (a subset of an exact line system: its coherence is exact, a
#: local search would only blur it; kicks from it are local searches).
_AS_IS = math.inf
#: At most this many structured starts (exact line systems, see _seeds) per call, and only those
#: within this factor of the certified lower bound (a poorer one costs a restart and rarely helps).
_MAX_STRUCTURED, _STRUCTURED_RATIO = 3, 1.1
#: Table neighbours: a fresh ``p = inf`` search with ``table_seeds=True`` also starts from the toolkit's
#: shipped table (:func:`packing.best_found`) at these offsets ``(Δn, Δd)`` of the cell, one start each
#: (at most four; never the cell's own entry, which would make the search a lookup), adapted to
#: ``(n, d)`` by :func:`._seeds.adapt_packing` and descended from ``_SEED_Q`` like a caller's seeds.
_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))
#: After the first starts, a start is polished only if its smooth coherence minus this many times the
#: largest polish gain seen is below the incumbent's (the polish may win it the record).
_POLISH_SLACK = 2.0
#: Without ``workers``, a search bounded by a clock of at least this many seconds (the default 10 s of
#: ``p = inf`` included) runs on every available core; shorter ones, searches bounded by ``restarts``
#: alone (reproducible on any machine) and searches inside a worker process stay in this process.
PARALLEL_MIN_BUDGET = 3.0
#: ``workers`` may ask for at most this many processes per CPU (more only queue for the cores).
_MAX_WORKERS_PER_CPU = 4
#: LP steps, initial trust radius and tolerance of the polish inside the search.
_POLISH_STEPS, _POLISH_RADIUS, _POLISH_TOL = 60, 1e-3, 1e-13


@dataclass
class PackingResult(Savable):
    """Result of :func:`optimize_packing`.

    Attributes
    ----------
    W : ndarray, shape (n, d)
        Best packing found, unit rows.
    objective : float
        ``Σ_{i<j} |cos θ_ij|**p`` for finite ``p``; the coherence for ``p = inf``.
        For large ``p`` (``coherence**p`` below about ``1e-308``) it underflows to
        0.0; the search itself compares packings by the logarithm of the
        potential, which does not underflow, so the packing found is still that of
        ``p``: for ``p`` beyond about ``1e4`` it is the minimum-coherence packing
        up to the last digits (``W`` is not LP-polished as for ``p = inf``).
    coherence : float
        ``max_{i<j} |cos θ_ij|`` of ``W``.
    lower_bound : float
        Proven lower bound on ``objective`` over all packings of this size
        (:func:`packing.lower_bound` with the LP bound for ``p = inf``; for finite
        ``p`` the frame-potential bound, see :func:`optimize_packing`).
    gap : float
        ``objective - lower_bound`` (0 means provably optimal).
    p : float
        The order optimized.
    iterations : int
        Total inner iterations (L-BFGS, projection and LP steps) over all restarts,
        including those of a continued result.
    restarts : int
        Number of starts completed, including those of a continued result.
    time : float
        Wall time in seconds, including that of a continued result.
    stopping_reason : str
        ``"exact"`` (closed-form optimum), ``"lower_bound"`` (certified optimal),
        ``"budget"``, ``"restarts"`` or ``"interrupted"``.
    history : list of float
        Best objective after each completed restart.
    """

    W: np.ndarray
    objective: float
    coherence: float
    lower_bound: float
    gap: float
    p: float
    iterations: int = 0
    restarts: int = 0
    time: float = 0.0
    stopping_reason: str = ""
    history: list[float] = field(default_factory=list)

    def __repr__(self) -> str:
        n, d = self.W.shape
        return (
            f"PackingResult(n={n}, d={d}, p={self.p}, objective={self.objective:.12g}, "
            f"lower_bound={self.lower_bound:.12g}, gap={self.gap:.3g}, restarts={self.restarts}, "
            f"time={self.time:.3g}s, stopping_reason={self.stopping_reason!r})"
        )


# ----------------------------------------------------------------------------- validated settings


@dataclass(frozen=True)
class _Settings:
    """The validated arguments of one :func:`optimize_packing` call."""

    n: int
    d: int
    p: float
    budget: float
    restarts: int | None
    method: str
    max_iter: int
    polish: bool
    hop: float | str
    tol: float
    verbose: bool
    structured: bool
    clock: str
    table_seeds: bool = True


def _validate(
    n, d, p, budget, restarts, method, max_iter, polish, hop, tol, verbose, structured, clock,
    table_seeds=True,
) -> _Settings:
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    check_memory(48 * n * n + 80 * n * d, "optimize_packing", "the n x n cosines and Gram matrices", n=n, d=d)
    restarts = None if restarts is None else check_int(restarts, "restarts", minimum=1)
    if budget is None:  # restarts alone: no clock at all, so the result depends on the seed only
        default = DEFAULT_BUDGET if math.isinf(p) else DEFAULT_BUDGET_FINITE_P
        budget = math.inf if restarts is not None else default
    else:
        budget = check_float(budget, "budget", minimum=0.0, strict_min=True)
    return _Settings(
        n=n,
        d=d,
        p=p,
        budget=budget,
        restarts=restarts,
        max_iter=check_int(max_iter, "max_iter", minimum=1),
        hop=_check_hop(hop),
        tol=check_float(tol, "tol", minimum=0.0),
        method=check_choice(method, "method", _METHODS),
        polish=check_bool(polish, "polish"),
        verbose=check_bool(verbose, "verbose"),
        structured=check_bool(structured, "structured"),
        table_seeds=check_bool(table_seeds, "table_seeds"),
        clock=check_choice(clock, "clock", tuple(_CLOCKS)),
    )


def _check_hop(hop) -> float | str:
    """Return ``hop`` validated: a probability in ``[0, 1]``, or the string ``"portfolio"``."""
    if isinstance(hop, str):
        if hop != PORTFOLIO:
            raise TypeError(f"hop must be a real number in [0, 1] or {PORTFOLIO!r}; got str {hop!r}.")
        return hop
    return check_float(hop, "hop", minimum=0.0, maximum=1.0)


def _validate_seeds(seeds) -> list[np.ndarray]:
    """Return the seeds as unit-row float64 arrays (any shape ``(m, d')``), validated one by one."""
    if seeds is None:
        return []
    if isinstance(seeds, np.ndarray) and seeds.ndim == 2:
        raise TypeError(
            "seeds must be a sequence of packings (a list of (m, d') arrays); got one 2-D array. "
            "Pass seeds=[W]."
        )
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(
            f"seeds must be a sequence of packings (a list of (m, d') arrays); got {seeds!r:.60}."
        )
    out = []
    for i, W in enumerate(seeds):
        name = f"seeds[{i}]"
        out.append(unit(require_nonzero_rows(check_packing(W, name).astype(np.float64), name)))
    return out


def _validate_init(init, cfg: _Settings) -> tuple[PackingResult | None, np.ndarray | None]:
    """Return the continued result (if ``init`` is one) and the first start as unit rows (or None)."""
    prev = init if isinstance(init, PackingResult) else None
    if prev is not None:
        if prev.W.shape != (cfg.n, cfg.d) or prev.p != cfg.p:
            raise ValueError(
                f"init is a PackingResult for shape {prev.W.shape} and p={prev.p}; "
                f"cannot continue it with n={cfg.n}, d={cfg.d}, p={cfg.p}."
            )
        init = prev.W
    if init is None:
        return prev, None
    init = check_packing(init, "init")
    if init.shape != (cfg.n, cfg.d):
        raise ValueError(f"init must have shape (n, d) = ({cfg.n}, {cfg.d}); got {init.shape}.")
    return prev, require_nonzero_rows(init, "init")


# ----------------------------------------------------------------------------- search state


@dataclass
class _Search:
    """What one search carries from restart to restart (and over from a continued result)."""

    iterations: int = 0
    restarts: int = 0  # completed starts, including those of a continued result
    time: float = 0.0  # wall time of the continued result
    history: list[float] = field(default_factory=list)
    best: np.ndarray | None = None
    best_obj: float = math.inf
    best_key: float = math.inf  # log of best_obj, which orders packings even where best_obj underflows
    k: int = 0  # starts completed in this call
    max_gain: float = 0.0  # the largest objective drop the polish has achieved on a start not queued
    learned: int = 0  # starts not queued polished so far in this call (the gate's sample)
    # starts of each kind (_KINDS) tried and won (beat the incumbent) in this call, for hop="portfolio"
    tried: dict = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    won: dict = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))

    def start_probabilities(self, hop: float | str) -> dict:
        """Probability of each kind of start: ``hop`` for a kick, or the portfolio's (``hop="portfolio"``)."""
        if hop != PORTFOLIO:
            return {"kick": hop, "fresh": 1.0 - hop, "sharp": 0.0}
        rate = {k: (self.won[k] + 1.0) / (self.tried[k] + 2.0) for k in _KINDS}
        total = sum(rate.values())
        free = 1.0 - _MIN_SHARE * len(_KINDS)
        return {k: _MIN_SHARE + free * rate[k] / total for k in _KINDS}

    @classmethod
    def resume(cls, prev: PackingResult | None) -> _Search:
        if prev is None:
            return cls()
        return cls(prev.iterations, prev.restarts, prev.time, list(prev.history))

    def offer(self, U: np.ndarray, obj: float, key: float) -> bool:
        """Keep ``U`` if it beats the incumbent (by ``key``, the log of its objective ``obj``)."""
        if key < self.best_key:
            self.best, self.best_obj, self.best_key = U, obj, key
            return True
        return False


def _stop_reason(state: _Search, cfg: _Settings, lb_log: float, t_search: float) -> str | None:
    """Return the stopping rule met before the next restart, or ``None`` to go on.

    The lower-bound test is relative: ``objective <= lower_bound * (1 + tol)``, compared in logs,
    so it means the same at every scale of the objective (a p-potential of large p is tiny).
    """
    if state.best is not None and (
        state.best_key == -math.inf or state.best_key - lb_log <= math.log1p(cfg.tol)
    ):
        return "lower_bound"
    if cfg.restarts is not None and state.k >= cfg.restarts:
        return "restarts"
    if state.k > 0 and _CLOCKS[cfg.clock]() - t_search >= cfg.budget:
        return "budget"
    return None


# ----------------------------------------------------------------------------- starts


def _structured_starts(n: int, d: int) -> list[np.ndarray]:
    """Deterministic starts for finite ``p``: repeated orthonormal bases, and polygon lines in R^2."""
    starts = [np.eye(d)[np.arange(n) % d]]
    if d == 2:
        starts.append(regular_polygon_lines(n))
    return starts


def _table_entry(n: int, d: int) -> np.ndarray | None:
    """Return the table's packing of ``n`` lines in ``R^d`` (:func:`packing.best_found`) or ``None``."""
    if n < 1 or d < 1:
        return None
    entry = best_found(n, d)
    return None if entry is None else unit(entry.W)


def table_neighbours(n: int, d: int) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Return the shipped table's packings of the cells next to ``(n, d)``: ``[((n', d'), W), ...]``.

    The cells are ``(n + 1, d)``, ``(n − 1, d)``, ``(n, d + 1)``, ``(n, d − 1)`` in this
    order, those the table holds; never ``(n, d)`` itself.
    """
    out = []
    for dn, dd in _NEIGHBOURS:
        cell = (n + dn, d + dd)
        W = _table_entry(*cell)
        if W is not None:
            out.append((cell, W))
    return out


def _neighbour_starts(cfg: _Settings, seeds: list[np.ndarray], rng) -> list[tuple[np.ndarray, float]]:
    """Queued starts from the table's neighbouring cells (not those the caller passed as ``seeds`` too)."""
    starts = []
    for _, W in table_neighbours(cfg.n, cfg.d):
        if any(S.shape == W.shape and np.allclose(S, W, rtol=0.0, atol=1e-12) for S in seeds):
            continue
        starts.append((adapt_packing(W, cfg.n, cfg.d, rng), _SEED_Q))
    return starts


def _next_start(queue: list, state: _Search, cfg: _Settings, rng) -> tuple[np.ndarray, float | None, str]:
    """Return a start, the first ``q`` of its smooth max (``None``: a random schedule) and its kind.

    The queued starts come first (``init``, seeds, structured starts; kind ``"queued"``);
    then a kick of the incumbent (``"kick"``) with probability ``hop``, else a fresh random
    packing (``"fresh"``); both descend from a random schedule (see ``_SEED_Q``). With
    ``hop="portfolio"`` a third kind, a small kick descended from a sharp smoothing (``"sharp"``),
    joins them, each drawn with the probability of :meth:`_Search.start_probabilities`.
    """
    if queue:
        return (*queue.pop(0), "queued")
    if state.best is None:
        return random_point(rng, cfg.n, cfg.d), None, "fresh"
    u, kind = rng.random(), "fresh"  # "fresh" also if rounding leaves u >= 0 after the last share
    for name, share in state.start_probabilities(cfg.hop).items():
        u -= share
        if u < 0.0:
            kind = name
            break
    if kind == "fresh":
        return random_point(rng, cfg.n, cfg.d), None, "fresh"
    if kind == "sharp":
        U = state.best + 10 ** rng.uniform(*_SHARP_KICK_RANGE) * rng.normal(size=(cfg.n, cfg.d))
        return unit(U), _SEED_Q, "sharp"
    # basin hopping: a Gaussian kick of log-uniform size, a quarter of the time with 1-3 lines redrawn
    U = state.best + 10 ** rng.uniform(*_KICK_RANGE) * rng.normal(size=(cfg.n, cfg.d))
    if rng.random() < _REDRAW:
        rows = rng.choice(cfg.n, size=min(cfg.n, int(rng.integers(1, 4))), replace=False)
        U[rows] = rng.normal(size=(rows.size, cfg.d))
    return unit(U), None, "kick"


# ----------------------------------------------------------------------------- one restart


def _local_search(
    U, q0, state: _Search, cfg: _Settings, rng, deadline: Deadline, floor: float | None, queued: bool = False
) -> np.ndarray:
    """Smooth descent, then for ``p = inf`` the optional alternating projection and the LP polish.

    With ``table_seeds=True`` (``queued``), queued starts (``init``, seeds, structured and
    table starts: at most about eight) are always polished, and so are the first
    ``_ALWAYS_POLISH`` other starts; later ones only when promising. With
    ``table_seeds=False`` (``queued`` always False) every start is gated as before 0.3.1.
    The polish gain of a queued start does not enter ``state.max_gain``, the gate of later
    polishes: such a start, descended from a sharp smoothing far from a local optimum, can
    gain 20 times what a kick or fresh start does (3.4e-3 against 1.6e-4 at (5, 55)), and
    would have every later start polished (48 restarts in 10 CPU s instead of 82).
    """
    U, its = smooth_descent(U, cfg.p, cfg.max_iter, q_schedule(rng, q0), deadline)
    state.iterations += its
    if not math.isinf(cfg.p):
        return U
    if cfg.method == "ap" or (cfg.method == "auto" and state.restarts % 2 == 1):
        U, its = alternating_projection(U, cfg.max_iter, floor)
        state.iterations += its
    smooth_obj = objective_value(U, cfg.p)
    # polish only starts that may beat the incumbent: the polish gains at most about the
    # largest gain seen so far (LP steps are the expensive part)
    promising = smooth_obj - _POLISH_SLACK * state.max_gain < state.best_obj
    # table_seeds=False counts every start (the rule before 0.3.1, bit for bit); True the others only
    first = (state.learned if cfg.table_seeds else state.k) < _ALWAYS_POLISH
    if cfg.polish and (queued or first or promising):
        U, its = lp_polish(U, _POLISH_STEPS, _POLISH_RADIUS, _POLISH_TOL, deadline)
        U = equalize(U)
        state.iterations += its
        if not queued:
            state.learned += 1
            state.max_gain = max(state.max_gain, smooth_obj - objective_value(U, cfg.p))
    return U


def _start_queue(cfg: _Settings, rng, start, seeds: list[np.ndarray], fresh: bool, lb_log: float) -> list:
    """Return the queued starts of a search: ``init``, the seeds, then structured and table starts."""
    queue = [(start, None)] if start is not None else []
    queue += [(adapt_packing(W, cfg.n, cfg.d, rng), _SEED_Q) for W in seeds]
    if not math.isinf(cfg.p) and fresh:
        queue += [(U, None) for U in _structured_starts(cfg.n, cfg.d)]
    elif cfg.structured and fresh:
        good = [(U, exact) for U, exact in structured_seeds(cfg.n, cfg.d, rng)
                if seed_coherence(U) <= _STRUCTURED_RATIO * math.exp(lb_log)]
        queue += [(U, _AS_IS if exact else _SEED_Q) for U, exact in good[:_MAX_STRUCTURED]]
        if cfg.table_seeds:
            queue += _neighbour_starts(cfg, seeds, rng)
    return queue


def _search(
    cfg: _Settings,
    rng,
    start,
    seeds: list[np.ndarray],
    fresh: bool,
    lb_log: float,
    state: _Search,
    progress=False,
    workers: int = 1,
) -> tuple[np.ndarray, str]:
    """Run restarts until a stopping rule fires; return the best packing and the reason.

    With ``workers > 1`` the restarts run in worker processes (:func:`_parallel_run`).
    """
    t_search = _CLOCKS[cfg.clock]()  # the budget is for the search; the (cached) bound is extra
    end = time.time() + cfg.budget if cfg.clock == "wall" else math.inf  # the workers' common end
    queue = _start_queue(cfg, rng, start, seeds, fresh, lb_log)
    if workers > 1:
        return _parallel_run(cfg, rng, queue, start, lb_log, state, progress, workers, end)
    return _run(cfg, rng, queue, start, lb_log, state, t_search, progress)


def _run(
    cfg: _Settings,
    rng,
    queue: list,
    start,
    lb_log: float,
    state: _Search,
    t_search: float,
    progress=False,
    stop: StopSignal | None = None,
    label: str = "",
) -> tuple[np.ndarray, str]:
    """Run the restart loop of one search process (``stop``: a parallel search's shared stop signal)."""
    clock = _CLOCKS[cfg.clock]
    at = t_search + cfg.budget
    deadline = Deadline(at, clock) if stop is None else SignalledDeadline(at, clock, stop)
    if start is not None:
        state.offer(start, *evaluate(start, cfg.p))
    uses_ap = math.isinf(cfg.p) and cfg.method != "smooth"
    floor = lower_bound(cfg.n, cfg.d, lp=False) if uses_ap else None
    # progress hook (cli branch): restarts done out of `restarts`, else seconds out of the budget
    by_restarts = cfg.restarts is not None
    total, unit = (cfg.restarts, "restart") if by_restarts else (round(cfg.budget, 2), "s")
    desc = f"optimize_packing({cfg.n}, {cfg.d})"
    try:
        with threadpool_limits(1), progress_bar(total, desc=desc, progress=progress, unit=unit) as bar:
            while (reason := _stop_reason(state, cfg, lb_log, t_search)) is None:
                if stop is not None and stop.is_set():
                    reason = "stopped"
                    break
                U, q0, kind = _next_start(queue, state, cfg, rng)
                if state.best is None:
                    state.offer(U, *evaluate(U, cfg.p))
                if q0 != _AS_IS:
                    queued = kind == "queued" and cfg.table_seeds
                    U = _local_search(U, q0, state, cfg, rng, deadline, floor, queued)
                state.k += 1
                state.restarts += 1
                obj, key = evaluate(U, cfg.p)
                before = state.best_key
                improved = state.offer(U, obj, key)
                if kind != "queued":  # a win: a real improvement, not the polish's last digits
                    state.tried[kind] += 1
                    state.won[kind] += bool(before - key > _WIN)
                if improved and cfg.verbose:
                    print(f"{label}restart {state.restarts}: {obj:.15g} ({kind})")
                state.history.append(state.best_obj)
                bar.set(state.k if by_restarts else round(clock() - t_search, 2))
                bar.note(best=f"{state.best_obj:.6g}")
    except KeyboardInterrupt:
        reason = "interrupted"
        if state.best is None:
            state.best = random_point(rng, cfg.n, cfg.d)
    return state.best, reason


# ----------------------------------------------------------------------------- parallel search


def _resolve_workers(workers, cfg: _Settings) -> int:
    """Return the number of search processes: ``workers`` if given, else the default rule."""
    if workers is not None:
        return workers
    if cfg.restarts is not None and math.isinf(cfg.budget):  # reproducible on any machine: one stream
        return 1
    if cfg.budget < PARALLEL_MIN_BUDGET or in_worker_process():
        return 1
    from ..train._parallel import available_cpus  # deferred: packing.train imports the trainers

    return available_cpus()


def _check_workers(workers) -> int | None:
    if workers is None:
        return None
    limit = _MAX_WORKERS_PER_CPU * (os.cpu_count() or 1)
    return check_int(workers, "workers", minimum=1, maximum=limit)


def _search_worker(cfg: _Settings, seed: int, queue: list, start, lb_log: float, end: float,
                   stop: StopSignal, index: int) -> tuple:
    """One process of a parallel search: a serial search on its own stream, until ``end`` (``time.time``).

    Returns ``(W, objective, key, reason, iterations, restarts, history)``; ``W`` is ``None`` when a
    worker other than the first started after the end (its share of the budget was spent
    starting it).
    """
    if cfg.clock == "wall" and not math.isinf(end):
        remaining = end - time.time()
        if remaining <= 0.0 and index > 0:
            return None, math.inf, math.inf, "budget", 0, 0, []
        cfg = replace(cfg, budget=max(remaining, 1e-3))
    state = _Search()
    W, reason = _run(
        cfg, np.random.default_rng(seed), queue, start, lb_log, state, _CLOCKS[cfg.clock](),
        stop=stop, label=f"worker {index}: ",
    )
    if reason == "lower_bound":  # the others cannot do better
        stop.set()
    return W, state.best_obj, state.best_key, reason, state.iterations, state.k, state.history


def _shares(total: int | None, workers: int) -> list[int | None]:
    """Split ``total`` restarts over ``workers`` as evenly as possible (``None``: no cap for any)."""
    if total is None:
        return [None] * workers
    return [total // workers + (w < total % workers) for w in range(workers)]


def _parallel_run(
    cfg: _Settings, rng, queue: list, start, lb_log: float, state: _Search, progress, workers: int, end: float
) -> tuple[np.ndarray, str]:
    """Run ``workers`` independent searches in worker processes; merge them into ``state``.

    The queued starts are dealt out in turn (worker 0 takes ``init``, which every worker
    knows as its first incumbent), ``restarts`` is split as evenly as possible, and each
    worker draws from its own stream, seeded from ``rng`` after the queue is built: the
    result is a function of ``rng``, ``restarts`` and ``workers`` when no clock stops the
    search. With ``clock="wall"`` every worker stops at ``end`` (``time.time``), ``budget``
    seconds after the search started; with ``clock="process"`` each worker spends
    ``budget`` CPU seconds of its own.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from ..train._checkpoint import deferred_interrupt  # deferred: packing.train imports the trainers

    if cfg.restarts is not None:
        workers = min(workers, cfg.restarts)
    child_seeds = [int(x) for x in rng.integers(0, 2**63, size=workers)]
    stop = StopSignal.create()
    futures = []
    executor = None
    interrupted = False  # a first Ctrl-C: the workers were told to stop and hand back their best
    # the first Ctrl-C only sets `ctrl_c` (when this is the main thread with Python's own handler;
    # elsewhere it arrives as a KeyboardInterrupt, handled below the same way); a second one raises
    with deferred_interrupt() as ctrl_c:
        try:
            executor = reusable_executor(workers)
            for w, share in enumerate(_shares(cfg.restarts, workers)):
                cfg_w = replace(cfg, restarts=share)
                executor, future = submit(  # on new processes if an aborted search has shut these down
                    executor, workers,
                    _search_worker, cfg_w, child_seeds[w], queue[w::workers], start, lb_log, end, stop, w,
                )
                futures.append(future)
            total = round(cfg.budget, 2) if cfg.clock == "wall" and not math.isinf(cfg.budget) else None
            desc = f"optimize_packing({cfg.n}, {cfg.d}), {workers} workers"
            t0 = time.time()
            with progress_bar(total, desc=desc, progress=progress, unit="s") as bar:
                pending = set(futures)
                while pending:
                    if ctrl_c.is_set() and not interrupted:
                        interrupted = True
                        stop.set()
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()  # a worker's error: raised here, the others stopped below
                    bar.set(round(time.time() - t0, 2))
        except KeyboardInterrupt:
            if interrupted:  # a second Ctrl-C while the workers finish their stage: abort
                _abort(executor, futures)
                raise
            interrupted = True  # the first (as an exception): the workers stop and hand back their best
            stop.set()
            _wait_or_abort(executor, futures)
        except BaseException:
            stop.set()
            _wait_or_abort(executor, futures)
            raise
        finally:
            stop.remove()
        interrupted = interrupted or ctrl_c.is_set()
    results = [f.result() for f in futures if f.done() and not f.cancelled() and f.exception() is None]
    if start is not None:
        state.offer(start, *evaluate(start, cfg.p))
    merged = []
    for w, (W, obj, key, _, its, k, history) in enumerate(results):
        if W is not None:
            state.offer(W, obj, key)
        state.iterations += its
        state.k += k
        state.restarts += k
        merged += [(i, w, value) for i, value in enumerate(history)]
    prior = state.history[-1] if state.history else math.inf
    for _, _, value in sorted(merged):
        prior = min(prior, value)
        state.history.append(prior)
    if state.best is None:
        state.best = random_point(rng, cfg.n, cfg.d)
    reasons = {r[3] for r in results}
    if "lower_bound" in reasons:
        return state.best, "lower_bound"
    if interrupted or "interrupted" in reasons:
        return state.best, "interrupted"
    return state.best, "restarts" if reasons == {"restarts"} else "budget"


def _wait_or_abort(executor, futures) -> None:
    """Wait for ``futures``, whose workers were told to stop; a Ctrl-C meanwhile aborts (:func:`_abort`).

    A worker sees the stop signal between the stages of a restart, which for a large
    packing (or a finite ``p``, whose descent is one stage) can take many seconds.
    """
    from concurrent.futures import wait

    try:
        wait(futures)
    except KeyboardInterrupt:
        _abort(executor, futures)
        raise


def _abort(executor, futures) -> None:
    """Kill the worker processes of this search at once (the next parallel call starts new ones).

    Only killing stops a worker inside a long stage; and a worker left to run would hold
    up this process's exit, which waits for the executor's running jobs. But the processes
    are shared (:mod:`packing._workers`): while a sweep or another search of this process has
    jobs in them, they are not killed (that would end those jobs with an error); this
    search's queued jobs are cancelled and its running ones stop after their stage.
    """
    if executor is not None:
        abort_tasks(executor, futures)


# ----------------------------------------------------------------------------- public entry point


def optimize_packing(
    n: int,
    d: int,
    *,
    p=np.inf,
    rng=None,
    budget: float | None = None,
    restarts: int | None = None,
    workers: int | None = None,
    init=None,
    seeds=None,
    structured: bool = True,
    table_seeds: bool = True,
    clock: str = "wall",
    method: str = "smooth",
    max_iter: int = 300,
    polish: bool = True,
    hop: float | str = 0.5,
    tol: float = 1e-12,
    verbose: bool = False,
    progress="auto",
) -> PackingResult:
    """Find ``n`` unit vectors in ``R^d`` with small coherence (``p = inf``) or p-frame potential.

    Each restart runs three stages: a smooth descent on the product of spheres
    with scipy's L-BFGS (for ``p = inf`` the log of the ``q``-norm of the squared
    cosines, a smooth max whose temperature ``1/q`` shrinks from a random ``q0``
    in ``[4, 64]`` by factors 4 or 8 to ``q >= 2048``; for finite ``p < 2`` the
    potential smoothed at 0 by ``(c² + ε²)**(p/2)`` with ``ε`` shrinking to 1e-6);
    optionally the alternating projection of Tropp, Dhillon, Heath & Strohmer
    (2008) on the Gram matrix; and for ``p = inf`` a polish of the min–max
    problem by sequential linear programming (:func:`polish_coherence`) followed
    by a Gauss–Newton step that makes the near-maximal ``|cos|`` exactly equal
    (equiangular tight frames come out to rounding). Trivial cases are returned
    exactly: ``n <= d`` (orthonormal rows), ``d = 1`` (one line) and, for
    ``p = inf``, ``d = 2`` (lines at angle ``π/n``).

    Parameters
    ----------
    n, d : int
        Number of lines (``>= 1``) and dimension (``>= 1``).
    p : float > 0 or ``np.inf``, default ``np.inf``
        ``inf``: minimize the coherence ``max_{i<j} |cos θ_ij|``; finite: minimize
        ``Σ_{i<j} |cos θ_ij|**p``.
    rng : None, int or numpy.random.Generator
        The only source of randomness (starts, kicks, schedules): same seed, same
        sequence of starts. A Generator is drawn from directly.
    budget : float > 0 or None
        Wall-clock seconds for the search. ``None`` means 10 s for ``p = inf``
        and 2 s for finite ``p``, or no time limit at all when ``restarts`` is
        given. The first restart always completes its first smooth stage; later
        stages and the polish stop at the deadline. The first ``p = inf`` call
        for a new ``(n, d)`` also solves the LP bound (a few tenths of a second,
        then cached).
    restarts : int >= 1 or None
        Cap on the number of starts. With ``restarts`` and no ``budget`` the result
        is a function of ``rng`` and the arguments alone (no stage looks at the
        clock); with both, whichever comes first stops the search.
    workers : int >= 1 or None
        Processes searching at once: independent searches, each on its own random
        stream (drawn from ``rng``) with a share of the queued starts and of
        ``restarts``; the best packing of all is returned, and ``restarts``,
        ``iterations`` and ``history`` count every worker's starts. ``None``
        (default): every core available to this process (its affinity mask and
        cgroup CPU limit) when the search is bounded by a budget of at least
        ``PARALLEL_MIN_BUDGET`` (3 s; the default 10 s of ``p = inf`` is), else 1.
        So a search bounded by ``restarts`` alone stays one stream, whose result
        does not depend on the machine, and so does a search inside a worker
        process of some pool (a sweep's, joblib's, multiprocessing's), whose cores
        are already taken. ``1``: this process only, as before version 0.4. With
        more than one, the result is a function of ``rng``, ``restarts`` and
        ``workers`` (not of one alone), and a worker that reaches the lower bound
        stops the others. The workers are joblib's reusable loky processes, shared
        with :func:`packing.sweep`; the first parallel call starts them (about a
        second, counted in ``budget``).
    init : array_like (n, d), PackingResult or None
        First start (nonzero rows). A previous :class:`PackingResult` continues that
        run: its packing is the incumbent, and its restarts, iterations, time and
        history are carried over.
    seeds : sequence of array_like or None
        Packings of any size ``(m, d')`` to start from after ``init``, for example
        the best packings of the neighbouring cells ``(n ± 1, d)`` and ``(n, d ± 1)``.
        Each is adapted to ``(n, d)``: projected on its principal ``d``-dimensional
        subspace or embedded with a small tilt, then thinned (the line in most pairs
        at the coherence goes first) or completed (each new line the farthest of many
        random candidates), and descended from a sharp smoothing.
    structured : bool, default True
        For ``p = inf`` and a fresh search, also start from up to three exact line
        systems adapted to ``(n, d)`` (root systems ``D_d``, ``E_6``, ``E_7``, ``E_8``,
        the known optima of slightly larger cells, real mutually unbiased bases)
        whose coherence is within 10% of the certified lower bound.
    table_seeds : bool, default True
        With ``structured=True`` (``p = inf``, a fresh search): also start from the
        toolkit's own table of best found packings (:func:`packing.best_found`,
        ``d = 3..8``) at the neighbouring cells ``(n + 1, d)``, ``(n − 1, d)``,
        ``(n, d + 1)``, ``(n, d − 1)``, those it holds (at most four starts, adapted
        as ``seeds`` are; one the caller also passed in ``seeds`` is not repeated).
        The cell's own entry is never used: the search stays a search, not a lookup
        (``best_found(n, d)`` is the lookup). Those entries come from the toolkit's
        earlier runs, so part of what such a start gains is their information.
        ``False`` gives the search without them (and the polish gate below without
        the queued-start rule), as before version 0.3.1. On the 24-cell yardstick
        sample at 30 CPU s: 22/24 within 1e-4 against 21/24 without (seed 0), 20/24
        both (seed 1), with a smaller worst excess on both seeds (README).
    clock : {"wall", "process"}, default "wall"
        What ``budget`` counts: wall-clock seconds, or the CPU seconds of each
        search process (each is single-threaded), which makes budgets comparable
        on a machine shared with other work. With ``workers = k``, ``"process"``
        spends up to ``k · budget`` CPU seconds in all: what ``budget`` wall
        seconds give on ``k`` otherwise idle cores.
    method : {"smooth", "ap", "auto"}, default "smooth"
        ``"smooth"``: smooth descent (then polish) on every start; ``"ap"``: smooth
        descent followed by alternating projection (then polish); ``"auto"``:
        alternate the two.
    max_iter : int, default 300
        L-BFGS iterations per continuation stage (and alternating-projection steps).
    polish : bool, default True
        Finish ``p = inf`` starts with the LP polish (:func:`polish_coherence`).
        The first three starts are always polished; later ones only if their smooth
        result is within twice the largest polish gain seen of the incumbent. With
        ``table_seeds=True`` the queued starts (``init``, seeds, structured and table
        starts) are always polished too and do not count among those three, and their
        gains do not enter that threshold (a table start's polish can gain 20 times a
        kick's and would have every later start polished).
    hop : float in [0, 1] or "portfolio", default 0.5
        Probability that a restart starts from a random kick of the best packing
        so far instead of a fresh random packing (basin hopping; Gaussian kick of
        size log-uniform in ``[0.003, 0.3]``, a quarter of the time with 1–3 lines
        redrawn, then the smooth descent from a random schedule like a fresh
        start's, whose soft first stages move the kicked packing to a nearby basin).
        ``"portfolio"``: three kinds of start, fresh, kick and sharp kick
        (size in ``[3e-4, 0.01]``, descended from the sharp smoothing ``q = 256``),
        each drawn with probability 0.1 plus 0.7 times its share of the kinds'
        success rates so far (starts that beat the incumbent); it depends on the
        outcomes only, never on the clock, so ``rng`` and ``restarts`` fix the result.
    tol : float, default 1e-12
        Stop as soon as the objective is within ``tol`` of the certified lower bound,
        relatively: ``objective <= lower_bound * (1 + tol)`` (compared in logarithms,
        so it holds its meaning for the tiny potentials of large ``p``).
    verbose : bool
        Print the best objective after each improving restart.
    progress : True, False or "auto"
        A progress bar on standard error (restarts out of ``restarts``, else
        seconds out of ``budget``, with the best objective so far); ``"auto"``
        (default) shows it only when standard error is a terminal and the search
        takes longer than half a second.

    Returns
    -------
    PackingResult
        ``lower_bound`` is :func:`packing.lower_bound` ``(n, d, lp=True)`` for
        ``p = inf``. For finite ``p`` it is the larger of the Benedetto–Fickus
        frame-potential bound ``(n²/d − n)/2`` on ``Σ c²``, carried to ``p >= 2`` by
        the power-mean inequality and to ``p < 2`` by ``|c|**p >= c²`` (tight only
        for ``p = 2``), and ``lower_bound(n, d)**p``.
        The search stops at the ``budget``, after ``restarts`` starts, when the
        lower bound is reached, or on Ctrl-C (the best packing so far is returned
        with ``stopping_reason="interrupted"``; during the first phase, the LP
        bound, that is ``init``, the continued result's packing or a random
        start, with the closed-form ``lower_bound`` of :func:`packing.lower_bound`).
        With several ``workers`` the first Ctrl-C stops the search gracefully: the
        workers finish the stage they are in (for a large packing, or a finite
        ``p``, whose descent is one stage, that can take seconds) and the best
        packing of all so far is returned as above; a second Ctrl-C during that
        wait aborts (see Raises).

    Raises
    ------
    TypeError, ValueError
        Non-integer or non-positive sizes, ``p <= 0``, a budget ``<= 0``, an
        ``init`` of the wrong shape or with a zero row, ``seeds`` that are not a
        sequence of finite 2-D arrays with nonzero rows, an unknown ``method``.
    KeyboardInterrupt
        A second Ctrl-C while a parallel search waits for its workers to stop
        after the first: nothing is returned, and the worker processes are killed
        at once (joblib's reusable loky executor they belong to is shut down; the
        next parallel call, or :func:`packing.sweep`, starts new ones). While a
        sweep or a search in another thread of this process has jobs in those
        processes, they are not killed (that would end those jobs with an
        error): this search's queued jobs are dropped and its running ones stop
        in the background after their stage.

    Examples
    --------
    >>> res = optimize_packing(6, 3, rng=0, budget=5)
    >>> round(res.coherence, 10), res.stopping_reason      # icosahedron lines: 1/sqrt(5)
    (0.4472135955, 'lower_bound')
    >>> big = optimize_packing(14, 3, rng=0, restarts=2)
    >>> res = optimize_packing(13, 3, rng=0, restarts=2, seeds=[big.W])   # start from 14 lines, one dropped
    >>> res.W.shape, res.restarts, res.stopping_reason
    ((13, 3), 2, 'restarts')
    >>> res = optimize_packing(5, 2)                       # exact: lines at angle pi/5
    >>> abs(res.objective - math.cos(math.pi / 5)) < 1e-12, res.stopping_reason
    (True, 'exact')
    >>> optimize_packing(4, 3, budget=0)
    Traceback (most recent call last):
    ...
    ValueError: budget must be > 0.0; got 0.0.
    """
    t0 = time.perf_counter()
    cfg = _validate(
        n, d, p, budget, restarts, method, max_iter, polish, hop, tol, verbose, structured, clock, table_seeds
    )
    workers = _check_workers(workers)
    rng = check_rng(rng)
    progress = check_progress(progress)
    prev, start = _validate_init(init, cfg)
    seed_list = _validate_seeds(seeds)
    state = _Search.resume(prev)
    try:
        objective_lower_bound(cfg.n, cfg.d, cfg.p)  # solves (and caches) the LP bound: interruptible
        lb_log = objective_lower_bound_log(cfg.n, cfg.d, cfg.p)  # the same bound in logs, cached LP
    except KeyboardInterrupt:  # Ctrl-C while the LP bound is solved: the search has not started
        # still proven: the closed-form bounds without the LP (the finite-p bound needs no LP)
        finite = not math.isinf(cfg.p)
        lb = objective_lower_bound(cfg.n, cfg.d, cfg.p) if finite else lower_bound(cfg.n, cfg.d, lp=False)
        W = start if start is not None else (prev.W if prev is not None else random_point(rng, cfg.n, cfg.d))
        reason = "interrupted"
    else:
        lb = math.exp(lb_log)
        exact = shortcut_optimum(cfg.n, cfg.d, cfg.p)
        if exact is not None:
            W, reason = np.array(exact.build()), "exact"
        else:
            n_workers = _resolve_workers(workers, cfg)
            W, reason = _search(cfg, rng, start, seed_list, prev is None, lb_log, state, progress, n_workers)
    obj = objective_value(W, cfg.p)
    return PackingResult(
        W=W,
        objective=obj,
        coherence=objective_value(W, np.inf),
        lower_bound=lb,
        gap=max(0.0, obj - lb),
        p=cfg.p,
        iterations=state.iterations,
        restarts=state.restarts,
        time=state.time + time.perf_counter() - t0,
        stopping_reason=reason,
        history=state.history,
    )
