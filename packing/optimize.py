"""Near-orthogonal packings: minimize the coherence or a p-frame potential of ``n`` lines in ``R^d``.

:func:`optimize_packing` searches for unit vectors ``w_1..w_n`` in ``R^d`` (rows
of ``W``, signs irrelevant: lines) minimizing

* ``p = inf`` (default): the coherence ``μ = max_{i<j} |cos θ_ij|`` (Grassmannian
  line packing), or
* finite ``p > 0``: the p-frame potential ``Σ_{i<j} |cos θ_ij|**p``.

Each restart runs three stages:

1. a smooth descent on the product of spheres with scipy's L-BFGS: for
   ``p = inf`` the log of the ``q``-norm of the squared cosines, a smooth max
   whose temperature ``1/q`` shrinks from a random ``q0`` in ``[4, 64]`` by
   factors 4 or 8 to ``q >= 2048`` (from a random start the descent is nearly
   deterministic for a given schedule, and the schedule decides the basin, so
   it varies between restarts); for finite ``p < 2`` the potential smoothed at
   0 by ``(c² + ε²)**(p/2)`` with ``ε`` shrinking to 1e-6;
2. optionally (``method="ap"``, or every other restart with ``method="auto"``) the
   alternating projection of Tropp, Dhillon, Heath & Strohmer (2008) on the Gram
   matrix, started from the smooth result (it did not help on the benchmark, so
   the default ``method="smooth"`` skips it);
3. for ``p = inf``, a polish of the min–max problem by sequential linear
   programming (HiGHS through :func:`scipy.optimize.linprog`) with a trust
   region and a tiny L1 step penalty, then a Gauss–Newton step that makes the
   near-maximal ``|cos|`` exactly equal, so that the last digits are right
   (equiangular tight frames come out to rounding).

Half of the restarts (``hop``) start from a random kick of the best packing so
far (basin hopping), the others from a fresh Gaussian packing; starts that
cannot beat the incumbent after the smooth stage are not polished.
Restarts draw from the caller's ``rng`` and stop at the time ``budget``, after
``restarts`` starts, when the certified lower bound is reached, or on Ctrl-C
(the best packing so far is returned with ``stopping_reason="interrupted"``).
Trivial cases are returned exactly: ``n <= d`` (orthonormal rows), ``d = 1``
(one line) and, for ``p = inf``, ``d = 2`` (lines at angle ``π/n``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, minimize

from ._validation import check_float, check_int, check_p, check_packing, check_rng

__all__ = ["PackingResult", "optimize_packing", "packing_objective", "polish_coherence"]

#: Default time budget (seconds) for ``p = inf`` and for finite ``p``.
DEFAULT_BUDGET = 10.0
DEFAULT_BUDGET_FINITE_P = 2.0
_METHODS = ("auto", "smooth", "ap")
#: Exponents q of the smooth max (1/q) log Σ (cos²)^q, one L-BFGS stage each: q0, q0·r, …
#: up to at least 2048. From a random start the descent is nearly deterministic for a
#: given schedule (it funnels into one basin), and which basin depends on the schedule, so
#: every restart draws q0 log-uniform in [4, 64] and r from {4, 8}.
_Q_RANGE = (4.0, 64.0)
#: log10 range of the basin-hopping kick size.
_KICK_RANGE = (-2.5, -0.5)
#: Fraction of basin-hopping starts that also redraw 1-3 random lines.
_REDRAW = 0.25
_Q_RATIOS = (4.0, 8.0)
_Q_LAST = 2048.0


def _q_schedule(rng: np.random.Generator) -> list[float]:
    q = float(np.exp(rng.uniform(np.log(_Q_RANGE[0]), np.log(_Q_RANGE[1]))))
    ratio = float(rng.choice(_Q_RATIOS))
    out = [q]
    while out[-1] < _Q_LAST:
        out.append(out[-1] * ratio)
    return out
#: The LP polish stops when its trust region is smaller than this.
_MIN_RADIUS = 1e-10
#: Weight of the L1 norm of the step in the LP polish (keeps steps off flat directions).
_STEP_PENALTY = 1e-7
#: HiGHS settings of the polish LPs; the time limit guards against rare degenerate stalls.
_HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
    "time_limit": 0.5,
}


@dataclass
class PackingResult:
    """Result of :func:`optimize_packing`.

    Attributes
    ----------
    W : ndarray, shape (n, d)
        Best packing found, unit rows.
    objective : float
        ``Σ_{i<j} |cos θ_ij|**p`` for finite ``p``; the coherence for ``p = inf``.
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


# ----------------------------------------------------------------------------- objectives


def _unit(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _pair_cos(U: np.ndarray) -> np.ndarray:
    iu = np.triu_indices(U.shape[0], 1)
    return (U @ U.T)[iu]


def _objective_of(U: np.ndarray, p: float) -> float:
    c = np.abs(_pair_cos(U))
    if c.size == 0:
        return 0.0
    c = np.minimum(c, 1.0)
    return float(c.max()) if math.isinf(p) else float(np.sum(c**p))


def packing_objective(W, p=np.inf) -> float:
    """Return ``Σ_{i<j} |cos θ_ij|**p`` (finite ``p``) or the coherence (``p = inf``) of ``W``.

    The objective :func:`optimize_packing` minimizes; rows are normalized first.

    Parameters
    ----------
    W : array_like, shape (n, d)
        Nonzero rows.
    p : float > 0 or ``np.inf``

    Returns
    -------
    float

    Examples
    --------
    >>> packing_objective([[1, 0], [1, 1]], p=2)
    0.5
    >>> packing_objective([[1, 0], [0, 0]])
    Traceback (most recent call last):
    ...
    ValueError: W must have nonzero rows; row 1 has norm 0.
    """
    W = check_packing(W).astype(np.float64)
    p = check_p(p)
    return _objective_of(_unit_checked(W), p)


def _unit_checked(W: np.ndarray, name: str = "W") -> np.ndarray:
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"{name} must have nonzero rows; row {int(np.argmin(norms))} has norm 0.")
    return W / norms[:, None]


def _smooth_value_grad(x: np.ndarray, n: int, d: int, kind: str, q: float, eps: float):
    """Value and gradient (w.r.t. the unnormalized rows) of a smooth packing objective.

    ``kind="max"``: ``(1/q) log Σ_{i<j} (c_ij²)**q`` (smooth max of the squared cosines).
    ``kind="pot"``: ``Σ_{i<j} (c_ij² + ε²)**(q/2)`` (``q = p``; ``ε = 0`` is the plain potential).
    """
    X = x.reshape(n, d)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = X / norms
    G = U @ U.T
    np.fill_diagonal(G, 0.0)
    S = G * G
    if kind == "max":
        smax = S.max()
        if smax <= 0:
            return -np.inf, np.zeros_like(x)
        R = S / smax
        Rq1 = R ** (q - 1.0)
        total = 0.5 * np.sum(Rq1 * R)  # Σ over unordered pairs of R**q
        value = math.log(smax) + math.log(total) / q
        A = (2.0 / (smax * total)) * G * Rq1  # d value / d G_ij for each unordered pair
    else:
        T = S + eps * eps
        np.fill_diagonal(T, 1.0)
        Tp = T ** (0.5 * q - 1.0)
        np.fill_diagonal(Tp, 0.0)
        value = 0.5 * float(np.sum(Tp * T)) - 0.0
        A = q * G * Tp
    gU = A @ U
    gX = (gU - np.sum(gU * U, axis=1, keepdims=True) * U) / norms
    return float(value), gX.ravel()


def _lbfgs(X: np.ndarray, kind: str, q: float, eps: float, maxiter: int, gtol: float = 1e-12):
    n, d = X.shape
    res = minimize(
        _smooth_value_grad,
        X.ravel(),
        args=(n, d, kind, q, eps),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": gtol, "ftol": 1e-15, "maxcor": 20},
    )
    return _unit(res.x.reshape(n, d)), int(res.nit)


def _smooth_descent(
    U: np.ndarray, p: float, maxiter: int, schedule=None, deadline: float = math.inf
) -> tuple[np.ndarray, int]:
    its = 0
    if math.isinf(p):
        for q in schedule or (32.0, 128.0, 512.0, 2048.0):
            U, k = _lbfgs(U, "max", q, 0.0, maxiter)
            its += k
            if time.perf_counter() > deadline:
                break
    else:
        schedule = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6) if p < 2 else (0.0,)
        for eps in schedule:
            U, k = _lbfgs(U, "pot", p, eps, maxiter)
            its += k
    return U, its


# ----------------------------------------------------------------------------- alternating projection


def _alternating_projection(U: np.ndarray, iters: int, shrink: float = 0.9) -> tuple[np.ndarray, int]:
    """Tropp–Dhillon–Heath–Strohmer alternating projection with an adaptive target.

    Alternate (a) clipping the off-diagonal Gram entries to ``[-μ_t, μ_t]`` (unit
    diagonal) and (b) the nearest rank-``d`` PSD matrix, renormalized to unit
    diagonal. The target ``μ_t`` sits between the lower bound and the current
    coherence and moves toward the best coherence seen.
    """
    n, d = U.shape
    mu = _objective_of(U, np.inf)
    best, best_mu = U, mu
    from .bounds import lower_bound

    floor = lower_bound(n, d, lp=False)
    for _ in range(iters):
        target = floor + shrink * (best_mu - floor)
        G = U @ U.T
        np.clip(G, -target, target, out=G)
        np.fill_diagonal(G, 1.0)
        vals, vecs = np.linalg.eigh(G)
        X = vecs[:, -d:] * np.sqrt(np.maximum(vals[-d:], 0.0))
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        if np.any(norms == 0):
            break
        U = X / norms
        mu = _objective_of(U, np.inf)
        if mu < best_mu:
            best, best_mu = U, mu
    return best, iters


# ----------------------------------------------------------------------------- polish


def polish_coherence(W, *, max_iter: int = 200, radius: float = 1e-3, tol: float = 1e-13):
    """Lower the coherence of ``W`` to a local optimum by sequential linear programming.

    Each step linearizes every near-maximal ``±cos θ_ij`` around the current unit
    rows, restricts the row moves to the tangent spaces and a box trust region of
    the given ``radius``, and solves ``min t`` subject to the linearized pairs
    being ``<= t`` (HiGHS via :func:`scipy.optimize.linprog`). A step is taken
    only if the true coherence drops; the radius grows after good steps and
    shrinks after bad ones. Near a vertex optimum (as many active pairs as
    degrees of freedom) the convergence is quadratic, so the result is accurate
    to rounding.

    Parameters
    ----------
    W : array_like, shape (n, d)
        Start (nonzero rows; normalized first), ``n >= 2``.
    max_iter : int, default 200
        LP steps at most.
    radius : float, default 1e-3
        Initial trust-region radius (per coordinate).
    tol : float, default 1e-13
        Stop when a step predicts less decrease than this (or the trust region
        falls below 1e-10).

    Returns
    -------
    W : ndarray, shape (n, d)
        Polished unit rows (coherence never higher than the start).
    iterations : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W0 = np.linalg.qr(rng.normal(size=(4, 4)))[0][:, :3] + 0.05 * rng.normal(size=(4, 3))
    >>> W, _ = polish_coherence(W0)
    >>> round(packing_objective(W), 10)      # 4 lines in R^3: the simplex, 1/3
    0.3333333333
    >>> polish_coherence(W0, radius=0)
    Traceback (most recent call last):
    ...
    ValueError: radius must be > 0.0; got 0.0.
    """
    W = check_packing(W, min_rows=2).astype(np.float64)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    radius = check_float(radius, "radius", minimum=0.0, strict_min=True)
    tol = check_float(tol, "tol", minimum=0.0)
    return _polish(_unit_checked(W), max_iter, radius, tol)


def _polish(
    U: np.ndarray, max_iter: int, radius: float, tol: float, deadline: float = math.inf
) -> tuple[np.ndarray, int]:
    n, d = U.shape
    iu, ju = np.triu_indices(n, 1)
    nd = n * d
    nv = 2 * nd + 1  # du = a - b with a, b >= 0 (an L1 step penalty), then t
    c = (U @ U.T)[iu, ju]
    mu = float(np.max(np.abs(c)))
    r = radius
    eq_rows = np.tile(np.repeat(np.arange(n), d), 2)
    eq_cols = np.arange(2 * nd)
    cost = np.full(nv, _STEP_PENALTY)
    cost[-1] = 1.0
    bounds = np.zeros((nv, 2))
    bounds[-1] = (-np.inf, np.inf)
    it = 0
    while it < max_iter and r > _MIN_RADIUS and time.perf_counter() < deadline:
        it += 1
        margin = min(mu, 4.0 * r * math.sqrt(d) + 1e-9)
        act = np.flatnonzero(np.abs(c) >= mu - margin)
        s = np.sign(c[act])
        s[s == 0] = 1.0
        I, J = iu[act], ju[act]
        m = act.size
        # row k: s*(u_j . du_i + u_i . du_j) - t <= -s*c, with du = a - b
        blk_i = (I[:, None] * d + np.arange(d)).ravel()
        blk_j = (J[:, None] * d + np.arange(d)).ravel()
        gi, gj = (s[:, None] * U[J]).ravel(), (s[:, None] * U[I]).ravel()
        rows = np.concatenate([np.repeat(np.arange(m), d)] * 4 + [np.arange(m)])
        cols = np.concatenate([blk_i, blk_j, blk_i + nd, blk_j + nd, np.full(m, 2 * nd)])
        vals = np.concatenate([gi, gj, -gi, -gj, -np.ones(m)])
        A_ub = sparse.csr_matrix((vals, (rows, cols)), shape=(m, nv))
        b_ub = -s * c[act]
        # tangency: u_i . du_i = 0
        A_eq = sparse.csr_matrix((np.concatenate([U.ravel(), -U.ravel()]), (eq_rows, eq_cols)), shape=(n, nv))
        bounds[:-1, 1] = r
        lp = linprog(
            cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.zeros(n), bounds=bounds, method="highs",
            options=_HIGHS_OPTIONS,
        )
        if lp.status != 0:
            r *= 0.25
            continue
        predicted = mu - lp.x[-1]
        if predicted <= tol:
            break
        V = _unit(U + (lp.x[:nd] - lp.x[nd:-1]).reshape(n, d))
        c_new = (V @ V.T)[iu, ju]
        mu_new = float(np.max(np.abs(c_new)))
        actual = mu - mu_new
        if actual > 0:
            U, c, mu = V, c_new, mu_new
            if actual > 0.5 * predicted:
                r = min(2.0 * r, 0.5)
        else:
            r *= 0.25
    return U, it


def _equalize(U: np.ndarray, rel: float = 1e-7, iters: int = 8) -> np.ndarray:
    """Gauss–Newton on the near-maximal pairs: make their ``|cos|`` exactly equal.

    At a local optimum of the coherence many pairs share the maximal ``|cos|``;
    the LP polish gets within ~1e-11 of it, and this minimum-norm Newton step on
    ``s_ij c_ij(U) = t`` (tangent moves, ``t`` free) removes the rest. Returned
    only if it does not raise the coherence.
    """
    n, d = U.shape
    iu, ju = np.triu_indices(n, 1)
    c = (U @ U.T)[iu, ju]
    mu = float(np.max(np.abs(c)))
    act = np.flatnonzero(np.abs(c) >= mu * (1 - rel))
    I, J = iu[act], ju[act]
    s = np.sign(c[act])
    m = act.size
    V, t = U.copy(), float(np.mean(np.abs(c[act])))
    rows = np.arange(m)
    for _ in range(iters):
        cv = np.einsum("ij,ij->i", V[I], V[J])
        res = np.concatenate([s * cv - t, np.zeros(n)])
        if np.max(np.abs(res)) < 1e-16:
            break
        A = np.zeros((m + n, n * d + 1))
        for k in range(d):
            A[rows, I * d + k] += s * V[J, k]
            A[rows, J * d + k] += s * V[I, k]
            A[m + np.arange(n), np.arange(n) * d + k] = V[:, k]
        A[rows, -1] = -1.0
        step = np.linalg.lstsq(A, -res, rcond=None)[0]
        V = _unit(V + step[:-1].reshape(n, d))
        t += step[-1]
    return V if _objective_of(V, np.inf) <= mu else U


# ----------------------------------------------------------------------------- exact cases


def _exact_packing(n: int, d: int, p: float) -> np.ndarray | None:
    if n <= d:
        return np.eye(n, d)
    if d == 1:
        return np.ones((n, 1))
    if d == 2 and math.isinf(p):
        t = np.pi * np.arange(n) / n
        return np.c_[np.cos(t), np.sin(t)]
    return None


def _objective_lower_bound(n: int, d: int, p: float) -> float:
    """Proven lower bound on the objective over all packings of ``n`` lines in ``R^d``."""
    from .bounds import lower_bound

    if math.isinf(p):
        return lower_bound(n, d, lp=True)
    if n <= d:
        return 0.0
    if d == 1:
        return n * (n - 1) / 2.0
    pairs = n * (n - 1) / 2.0
    f2 = max(0.0, (n * n / d - n) / 2.0)  # Σ_{i<j} c² >= (n²/d - n)/2 (Benedetto–Fickus)
    if p >= 2:
        return pairs * (f2 / pairs) ** (p / 2.0)  # power-mean inequality
    return f2  # |c|**p >= c² for |c| <= 1


def _structured_starts(n: int, d: int, p: float) -> list[np.ndarray]:
    """Deterministic starts for finite ``p``: repeated orthonormal bases, and polygon lines in R^2."""
    starts = [np.eye(d)[np.arange(n) % d]]
    if d == 2:
        t = np.pi * np.arange(n) / n
        starts.append(np.c_[np.cos(t), np.sin(t)])
    return starts


# ----------------------------------------------------------------------------- driver


def optimize_packing(
    n: int,
    d: int,
    *,
    p=np.inf,
    rng=None,
    budget: float | None = None,
    restarts: int | None = None,
    init=None,
    method: str = "smooth",
    max_iter: int = 300,
    polish: bool = True,
    hop: float = 0.5,
    tol: float = 1e-12,
    verbose: bool = False,
) -> PackingResult:
    """Find ``n`` unit vectors in ``R^d`` with small coherence (``p = inf``) or p-frame potential.

    Parameters
    ----------
    n, d : int
        Number of lines (``>= 1``) and dimension (``>= 1``).
    p : float > 0 or ``np.inf``, default ``np.inf``
        ``inf``: minimize the coherence ``max_{i<j} |cos θ_ij|``; finite: minimize
        ``Σ_{i<j} |cos θ_ij|**p``.
    rng : None, int or numpy.random.Generator
        Source of the random starts (same seed, same sequence of starts).
    budget : float > 0 or None
        Wall-clock seconds for the search; ``None`` means 10 s for ``p = inf``
        and 2 s for finite ``p``. The first restart
        always completes its first smooth stage; later stages and the polish stop
        at the deadline. The first ``p = inf`` call for a new ``(n, d)`` also
        solves the LP bound (a few tenths of a second, then cached).
    restarts : int >= 1 or None
        Cap on the number of starts (an iteration cap independent of the clock).
        ``None``: as many as the budget allows.
    init : array_like (n, d), PackingResult or None
        First start. A previous :class:`PackingResult` continues that run: its
        packing is the incumbent, and its restarts, iterations, time and history
        are carried over.
    method : {"smooth", "ap", "auto"}, default "smooth"
        ``"smooth"``: smooth descent (then polish) on every start; ``"ap"``: smooth
        descent followed by alternating projection (then polish); ``"auto"``:
        alternate the two.
    max_iter : int, default 300
        L-BFGS iterations per continuation stage (and alternating-projection steps).
    hop : float in [0, 1], default 0.5
        Probability that a restart starts from a random kick of the best packing
        so far (basin hopping; Gaussian kick of size log-uniform in
        ``[0.003, 0.3]``, a quarter of the time with 1–3 lines redrawn) instead
        of a fresh random packing.
    polish : bool, default True
        Finish ``p = inf`` starts with the LP polish (:func:`polish_coherence`).
        After the first three restarts only starts whose smooth result is within
        twice the largest polish gain seen of the incumbent are polished.
    tol : float, default 1e-12
        Stop as soon as the objective is within ``tol`` of the certified lower bound.
    verbose : bool
        Print the best objective after each improving restart.

    Returns
    -------
    PackingResult
        ``lower_bound`` is :func:`packing.lower_bound` ``(n, d, lp=True)`` for
        ``p = inf``. For finite ``p`` it is the Benedetto–Fickus frame-potential
        bound ``(n²/d − n)/2`` on ``Σ c²``, carried to ``p >= 2`` by the power-mean
        inequality and to ``p < 2`` by ``|c|**p >= c²`` (tight only for ``p = 2``).

    Raises
    ------
    TypeError, ValueError
        Non-integer or non-positive sizes, ``p <= 0``, a budget ``<= 0``, an
        ``init`` of the wrong shape, an unknown ``method``.

    Examples
    --------
    >>> res = optimize_packing(6, 3, rng=0, budget=5)
    >>> round(res.coherence, 10), res.stopping_reason      # icosahedron lines: 1/sqrt(5)
    (0.4472135955, 'lower_bound')
    >>> res = optimize_packing(5, 2)                       # exact: lines at angle pi/5
    >>> abs(res.objective - math.cos(math.pi / 5)) < 1e-12, res.stopping_reason
    (True, 'exact')
    >>> optimize_packing(4, 3, budget=0)
    Traceback (most recent call last):
    ...
    ValueError: budget must be > 0.0; got 0.0.
    """
    t0 = time.perf_counter()
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    rng = check_rng(rng)
    if budget is not None:
        budget = check_float(budget, "budget", minimum=0.0, strict_min=True)
    else:
        budget = DEFAULT_BUDGET if math.isinf(p) else DEFAULT_BUDGET_FINITE_P
    if restarts is not None:
        restarts = check_int(restarts, "restarts", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    hop = check_float(hop, "hop", minimum=0.0, maximum=1.0)
    tol = check_float(tol, "tol", minimum=0.0)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    prev = init if isinstance(init, PackingResult) else None
    if prev is not None:
        if prev.W.shape != (n, d) or prev.p != p:
            raise ValueError(
                f"init is a PackingResult for shape {prev.W.shape} and p={prev.p}; "
                f"cannot continue it with n={n}, d={d}, p={p}."
            )
        init = prev.W
    if init is not None:
        init = check_packing(init, "init").astype(np.float64)
        if init.shape != (n, d):
            raise ValueError(f"init must have shape (n, d) = ({n}, {d}); got {init.shape}.")
        init = _unit_checked(init, "init")

    lb = _objective_lower_bound(n, d, p)
    t_search = time.perf_counter()  # the budget is for the search; the (cached) bound is extra
    history = list(prev.history) if prev else []
    iters = prev.iterations if prev else 0
    done = prev.restarts if prev else 0
    t_prev = prev.time if prev else 0.0

    def result(U, reason):
        obj = _objective_of(U, p)
        return PackingResult(
            W=U,
            objective=obj,
            coherence=_objective_of(U, np.inf),
            lower_bound=lb,
            gap=max(0.0, obj - lb),
            p=p,
            iterations=iters,
            restarts=done,
            time=t_prev + time.perf_counter() - t0,
            stopping_reason=reason,
            history=history,
        )

    exact = _exact_packing(n, d, p)
    if exact is not None:
        return result(exact, "exact")

    starts = [init] if init is not None else []
    if not math.isinf(p) and prev is None:
        starts += _structured_starts(n, d, p)
    best, best_obj = None, np.inf
    if init is not None:
        best, best_obj = init, _objective_of(init, p)
    from threadpoolctl import threadpool_limits

    reason = "restarts"
    k = 0
    max_gain = 0.0
    try:
        with threadpool_limits(1):
            while True:
                if best is not None and best_obj - lb <= tol:
                    reason = "lower_bound"
                    break
                if restarts is not None and k >= restarts:
                    reason = "restarts"
                    break
                if k > 0 and time.perf_counter() - t_search >= budget:
                    reason = "budget"
                    break
                if starts:
                    U = starts.pop(0)
                elif best is not None and rng.random() < hop:
                    # basin hopping: a random kick of the incumbent, of log-uniform size, or
                    # (a quarter of the time) also a few of its lines thrown away and redrawn at random
                    U = best + 10 ** rng.uniform(*_KICK_RANGE) * rng.normal(size=(n, d))
                    if rng.random() < _REDRAW:
                        rows = rng.choice(n, size=min(n, int(rng.integers(1, 4))), replace=False)
                        U[rows] = rng.normal(size=(rows.size, d))
                    U = _unit(U)
                else:
                    U = _unit(rng.normal(size=(n, d)))
                if best is None:
                    best, best_obj = U, _objective_of(U, p)
                deadline = t_search + budget
                U, its = _smooth_descent(U, p, max_iter, _q_schedule(rng), deadline)
                iters += its
                if math.isinf(p):
                    if method == "ap" or (method == "auto" and (done % 2 == 1)):
                        U, its = _alternating_projection(U, max_iter)
                        iters += its
                    smooth_obj = _objective_of(U, p)
                    # polish only starts that may beat the incumbent: the polish gains at most
                    # about the largest gain seen so far (LP steps are the expensive part)
                    if polish and (k < 3 or smooth_obj - 2.0 * max_gain < best_obj):
                        U, its = _polish(U, 60, 1e-3, 1e-13, deadline)
                        U = _equalize(U)
                        iters += its
                        max_gain = max(max_gain, smooth_obj - _objective_of(U, p))
                obj = _objective_of(U, p)
                k += 1
                done += 1
                if obj < best_obj:
                    best, best_obj = U, obj
                    if verbose:
                        print(f"restart {done}: {obj:.15g}")
                history.append(best_obj)
    except KeyboardInterrupt:
        reason = "interrupted"
        if best is None:
            best = _unit(rng.normal(size=(n, d)))
    return result(best, reason)
