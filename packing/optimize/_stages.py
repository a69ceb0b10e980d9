"""The local solvers of the optimizer, each a map from unit rows to better unit rows.

* :func:`smooth_descent`: L-BFGS (scipy's L-BFGS-B) on a smooth surrogate of the objective,
  in continuation stages (a shrinking temperature ``1/q`` of the smooth max, or a shrinking
  smoothing ``ε`` of the potential);
* :func:`alternating_projection`: Tropp, Dhillon, Heath & Strohmer (2008) on the Gram matrix;
* :func:`lp_polish`: sequential linear programming (HiGHS, warm-started) on the
  min–max problem, public as :func:`polish_coherence`;
* :func:`equalize`: a Gauss–Newton step that makes the near-maximal ``|cos|`` exactly equal.

All of them move on the product of spheres through :mod:`._sphere` and trust
their input (unit float64 rows); only :func:`polish_coherence` validates.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._rows import nonzero_rows, require_nonzero_rows
from .._validation import check_float, check_int, check_memory, check_packing
from ._objectives import _smooth_value_grad, objective_value
from ._sphere import pair_cosine_jacobian, retract, tangent_basis, tangent_step, unit

__all__ = ["polish_coherence"]

#: Exponents q of the smooth max (1/q) log Σ (cos²)^q, one L-BFGS stage each: q0, q0·r, …
#: up to at least 2048. From a random start the descent is nearly deterministic for a
#: given schedule (it funnels into one basin), and which basin depends on the schedule, so
#: every restart draws q0 log-uniform in [4, 64] and r from {4, 8}.
_Q_RANGE = (4.0, 64.0)
_Q_RATIOS = (4.0, 8.0)
_Q_LAST = 2048.0
#: Memory (curvature pairs) and relative decrease tolerance of scipy's L-BFGS-B.
_MEMORY, _FTOL = 20, 1e-15
#: Smoothing ε of the potential for p < 2, one L-BFGS stage each (p >= 2 is smooth: one stage, ε = 0).
_EPS_SCHEDULE = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
#: Above this p the potential Σ |c|**p is descended through its logarithm (the smooth max with
#: q = p/2, normalised by the largest term): the potential itself is then so small that L-BFGS's
#: tolerances stop it at once (at p = 64 every term of a good packing is below 1e-12).
_LOG_POTENTIAL_P = 16.0
#: The LP polish stops when its trust region is smaller than this.
_MIN_RADIUS = 1e-10
#: The trust radius (per tangent coordinate) of the LP polish never grows beyond this.
_MAX_RADIUS = 2e-3
#: HiGHS settings of the polish LPs (dual simplex, one thread, no presolve: the LPs are small and
#: warm-started). The LP works in units of the trust radius, so these tolerances are relative to it.
_HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
    "presolve": "off",
    "solver": "simplex",
    "threads": 1,
}
_HIGHS_BANNER_MUTED: list[bool] = []
#: HiGHS's code of a basic variable (``HighsBasisStatus.kBasic``).
_BASIC = 1


# ----------------------------------------------------------------------------- clocks


@dataclass(frozen=True)
class Deadline:
    """A point in time on a given clock (``time.perf_counter`` or ``time.process_time``)."""

    at: float = math.inf
    clock: Callable[[], float] = time.perf_counter

    def passed(self) -> bool:
        """Whether the clock has reached the deadline (never, for ``at = inf``)."""
        return self.at != math.inf and self.clock() >= self.at


NEVER = Deadline()


# ----------------------------------------------------------------------------- smooth descent


def q_schedule(rng: np.random.Generator, q0: float | None = None) -> list[float]:
    """Draw a continuation schedule ``q0, q0·r, …`` (last ``>= 2048``) of the smooth max.

    ``q0`` is log-uniform in ``[4, 64]`` unless given (a start near a local optimum
    begins sharper); the ratio ``r`` is drawn from ``{4, 8}`` either way.
    """
    q = float(np.exp(rng.uniform(np.log(_Q_RANGE[0]), np.log(_Q_RANGE[1]))))
    ratio = float(rng.choice(_Q_RATIOS))
    if q0 is not None:
        q = q0
    out = [q]
    while out[-1] < _Q_LAST:
        out.append(out[-1] * ratio)
    return out


def _lbfgs(U: np.ndarray, kind: str, q: float, eps: float, maxiter: int, gtol: float = 1e-12):
    n, d = U.shape
    from scipy.optimize import minimize

    res = minimize(
        _smooth_value_grad,
        U.ravel(),
        args=(n, d, kind, q, eps),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": gtol, "ftol": _FTOL, "maxcor": _MEMORY},
    )
    return unit(res.x.reshape(n, d)), int(res.nit)


def smooth_descent(
    U: np.ndarray,
    p: float,
    maxiter: int,
    schedule=None,
    deadline: Deadline = NEVER,
) -> tuple[np.ndarray, int]:
    """Descend the smooth surrogate of order ``p`` stage by stage; return the rows and L-BFGS iterations.

    ``p = inf``: one stage per ``q`` of ``schedule`` (stopping after the stage that
    passes ``deadline``); finite ``p``: the ``ε`` continuation for ``p < 2``, one
    unsmoothed stage for ``p >= 2``.
    """
    its = 0
    if math.isinf(p):
        stages = list(schedule or (32.0, 128.0, 512.0, 2048.0))
        for q in stages:
            U, k = _lbfgs(U, "max", q, 0.0, maxiter)
            its += k
            if deadline.passed():
                break
    elif p > _LOG_POTENTIAL_P:  # (2/p) log Σ |c|**p, normalised by the largest term: no underflow
        # a large p is nearly the max: reach its sharp q = p/2 through the p = inf continuation, as a
        # start descended at q = p/2 directly stalls (at p = 1e15 no better than the random start)
        for q in [q for q in (schedule or (32.0, 128.0, 512.0, 2048.0)) if q < p / 2.0] + [p / 2.0]:
            U, k = _lbfgs(U, "max", q, 0.0, maxiter)
            its += k
    else:
        for eps in _EPS_SCHEDULE if p < 2 else (0.0,):
            U, k = _lbfgs(U, "pot", p, eps, maxiter)
            its += k
    return U, its


# ----------------------------------------------------------------------------- alternating projection


def alternating_projection(
    U: np.ndarray, iters: int, floor: float, shrink: float = 0.9
) -> tuple[np.ndarray, int]:
    """Tropp–Dhillon–Heath–Strohmer alternating projection with an adaptive target.

    Alternate (a) clipping the off-diagonal Gram entries to ``[-μ_t, μ_t]`` (unit
    diagonal) and (b) the nearest rank-``d`` PSD matrix, renormalized to unit
    diagonal. The target ``μ_t`` sits between ``floor`` (a lower bound on the
    coherence) and the best coherence seen, and moves toward the latter.
    """
    d = U.shape[1]
    best, best_mu = U, objective_value(U, np.inf)
    for _ in range(iters):
        target = floor + shrink * (best_mu - floor)
        G = U @ U.T
        np.clip(G, -target, target, out=G)
        np.fill_diagonal(G, 1.0)
        vals, vecs = np.linalg.eigh(G)
        X = vecs[:, -d:] * np.sqrt(np.maximum(vals[-d:], 0.0))
        if not nonzero_rows(X).all():
            break
        U = unit(X)
        mu = objective_value(U, np.inf)
        if mu < best_mu:
            best, best_mu = U, mu
    return best, iters


# ----------------------------------------------------------------------------- LP polish


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

    Raises
    ------
    TypeError, ValueError
        A ``W`` that is not a finite real ``(n, d)`` array with ``n >= 2``, a row of
        zeros (it has no direction to polish), ``max_iter < 0``, ``radius <= 0``, ``tol < 0``.

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
    W = check_packing(W, min_rows=2)
    n, d = W.shape
    need = 32 * n * n + 80 * n * d
    check_memory(need, "polish_coherence", "the n x n cosines and the LP of the pairs", n=n, d=d)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    radius = check_float(radius, "radius", minimum=0.0, strict_min=True)
    tol = check_float(tol, "tol", minimum=0.0)
    return lp_polish(require_nonzero_rows(W, "W"), max_iter, radius, tol)


def lp_polish(
    U: np.ndarray, max_iter: int, radius: float, tol: float, deadline: Deadline = NEVER
) -> tuple[np.ndarray, int]:
    """Run the LP polish of :func:`polish_coherence` on trusted unit rows, stopping at ``deadline``.

    Each step solves, in the tangent coordinates of :func:`._sphere.tangent_basis`
    scaled by the trust radius ``r`` (``y ∈ [−1, 1]^{n(d−1)}``, step ``r B y``),
    ``min τ`` subject to ``s_k (c_k + r g_k·y) <= μ + r τ`` for the pairs within
    the reach of the step. The rows of one call only grow, so every LP starts
    from the optimal basis of the previous one (HiGHS dual simplex, usually a few
    dozen pivots instead of thousands); the simplex iteration cap, not a clock,
    guards against stalls, so a polish is a function of its input alone.
    """
    n, d = U.shape
    if d < 2:
        return U, 0
    iu, ju = np.triu_indices(n, 1)
    c = (U @ U.T)[iu, ju]
    mu = float(np.max(np.abs(c)))
    lp = _WarmLP(n * (d - 1))
    r = radius
    it = 0
    while it < max_iter and r > _MIN_RADIUS and not deadline.passed():
        it += 1
        margin = min(mu, 4.0 * r * math.sqrt(d) + 1e-12)
        keys = lp.select(np.flatnonzero(np.abs(c) >= mu - margin))
        s = np.where(c[keys] < 0.0, -1.0, 1.0)
        B = tangent_basis(U)
        sol = lp.solve(pair_cosine_jacobian(U, B, iu[keys], ju[keys], s), (mu - s * c[keys]) / r)
        if sol is None:
            r *= 0.25
            continue
        y, tau = sol
        predicted = -tau * r
        if predicted <= tol:
            break
        V = retract(U, tangent_step(B, r * y.reshape(n, d - 1)))
        c_new = (V @ V.T)[iu, ju]
        mu_new = float(np.max(np.abs(c_new)))
        actual = mu - mu_new
        if actual > 0:
            U, c, mu = V, c_new, mu_new
            if actual > 0.5 * predicted:
                r = min(2.0 * r, _MAX_RADIUS)
        else:
            r *= 0.25
    return U, it


def _new_highs():
    """Return a silent HiGHS solver (the first one of a process prints a banner at the C level: muted)."""
    import highspy

    if not _HIGHS_BANNER_MUTED:
        _HIGHS_BANNER_MUTED.append(True)
        try:
            sys.stdout.flush()
            saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        except (OSError, ValueError):  # no file descriptor 1 to mute: let the banner through
            pass
        else:
            try:
                os.dup2(null, 1)
                highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(null)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in _HIGHS_OPTIONS.items():
        h.setOptionValue(key, value)
    return h


class _WarmLP:
    """``min τ`` s.t. ``G y − τ <= b``, ``|y|∞ <= 1``, over a changing set of pair rows, warm-started.

    ``select`` sets the rows: the pairs asked for plus every row that was tight
    (nonbasic) at the last optimum. Rows are sorted by pair index; only rows whose
    slack was basic are dropped and new rows enter with a basic slack, so the
    last optimal basis stays a consistent starting basis. ``solve`` returns
    ``(y, τ)``, or ``None`` when HiGHS does not reach an optimum within its
    iteration cap.
    """

    def __init__(self, ncols: int):
        self.ncols = ncols
        self.keys = np.empty(0, dtype=np.intp)
        self.h = _new_highs()
        self.basis = None  # (keys, col_status, row_status) of the last optimum, statuses as ints

    def select(self, keys: np.ndarray) -> np.ndarray:
        if self.basis is not None:
            old_keys, _, old_rows = self.basis
            keys = np.union1d(keys, old_keys[old_rows != _BASIC])
        self.keys = keys
        return keys

    def solve(self, triplets, b: np.ndarray):
        import highspy
        from scipy import sparse

        rows, cols, vals = triplets
        m, nv = self.keys.size, self.ncols + 1
        A = sparse.csc_matrix(
            (np.concatenate([vals, np.full(m, -1.0)]), (np.concatenate([rows, np.arange(m)]),
             np.concatenate([cols, np.full(m, self.ncols)]))),
            shape=(m, nv),
        )
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nv, m
        lp.col_cost_ = np.concatenate([np.zeros(self.ncols), [1.0]])
        lp.col_lower_ = np.concatenate([np.full(self.ncols, -1.0), [-inf]])
        lp.col_upper_ = np.concatenate([np.full(self.ncols, 1.0), [inf]])
        lp.row_lower_ = np.full(m, -inf)
        lp.row_upper_ = b
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
        h = self.h
        h.passModel(lp)
        h.setOptionValue("simplex_iteration_limit", 20 * (m + nv) + 1000)
        if self.basis is not None:
            old_keys, col_status, old_rows = self.basis
            row_status = np.full(m, _BASIC)
            kept = np.isin(old_keys, self.keys, assume_unique=True)
            row_status[np.searchsorted(self.keys, old_keys[kept])] = old_rows[kept]
            warm = highspy.HighsBasis()
            warm.col_status = [highspy.HighsBasisStatus(k) for k in col_status]
            warm.row_status = [highspy.HighsBasisStatus(k) for k in row_status]
            warm.valid = True
            h.setBasis(warm)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.basis = None
            return None
        basis = h.getBasis()
        self.basis = (
            self.keys.copy(),
            np.array([int(k) for k in basis.col_status]),
            np.array([int(k) for k in basis.row_status]),
        )
        x = np.asarray(h.getSolution().col_value)
        return x[:-1], float(x[-1])


# ----------------------------------------------------------------------------- equalization


def equalize(U: np.ndarray, rel: float = 1e-7, iters: int = 8) -> np.ndarray:
    """Gauss–Newton on the near-maximal pairs: make their ``|cos|`` exactly equal.

    At a local optimum of the coherence many pairs share the maximal ``|cos|``;
    the LP polish gets within ~1e-11 of it, and this minimum-norm Newton step on
    ``s_ij c_ij(U) = t`` (tangent coordinates, ``t`` free) removes the rest. Returned
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
    for _ in range(iters):
        res = s * np.einsum("ij,ij->i", V[I], V[J]) - t
        if np.max(np.abs(res)) < 1e-16:
            break
        B = tangent_basis(V)
        A = np.zeros((m, n * (d - 1) + 1))
        rows, cols, vals = pair_cosine_jacobian(V, B, I, J, s)
        A[rows, cols] = vals
        A[:, -1] = -1.0
        try:
            step = np.linalg.lstsq(A, -res, rcond=None)[0]
        except np.linalg.LinAlgError:  # LAPACK's SVD did not converge (seen once in a 30 s search at
            break  # (6, 33)): keep the last iterate, which the coherence test below still guards
        W = retract(V, tangent_step(B, step[:-1].reshape(n, d - 1)))
        if not np.all(np.isfinite(W)):
            break
        V, t = W, t + step[-1]
    return V if objective_value(V, np.inf) <= mu else U
