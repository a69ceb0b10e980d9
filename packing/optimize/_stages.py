"""The local solvers of the optimizer, each a map from unit rows to better unit rows.

* :func:`smooth_descent`: L-BFGS (scipy) on a smooth surrogate of the objective,
  in continuation stages (a shrinking temperature ``1/q`` of the smooth max, or a
  shrinking smoothing ``ε`` of the potential);
* :func:`alternating_projection`: Tropp, Dhillon, Heath & Strohmer (2008) on the Gram matrix;
* :func:`lp_polish`: sequential linear programming (HiGHS) on the min–max problem,
  public as :func:`polish_coherence`;
* :func:`equalize`: a Gauss–Newton step that makes the near-maximal ``|cos|`` exactly equal.

All of them move on the product of spheres through :mod:`._sphere` and trust
their input (unit float64 rows); only :func:`polish_coherence` validates.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, minimize

from .._rows import nonzero_rows, require_nonzero_rows
from .._validation import check_float, check_int, check_memory, check_packing
from ._objectives import _smooth_value_grad, objective_value
from ._sphere import pair_cosine_jacobian, retract, tangent_constraints, unit

__all__ = ["polish_coherence"]

#: Exponents q of the smooth max (1/q) log Σ (cos²)^q, one L-BFGS stage each: q0, q0·r, …
#: up to at least 2048. From a random start the descent is nearly deterministic for a
#: given schedule (it funnels into one basin), and which basin depends on the schedule, so
#: every restart draws q0 log-uniform in [4, 64] and r from {4, 8}.
_Q_RANGE = (4.0, 64.0)
_Q_RATIOS = (4.0, 8.0)
_Q_LAST = 2048.0
#: Smoothing ε of the potential for p < 2, one L-BFGS stage each (p >= 2 is smooth: one stage, ε = 0).
_EPS_SCHEDULE = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
#: Above this p the potential Σ |c|**p is descended through its logarithm (the smooth max with
#: q = p/2, normalised by the largest term): the potential itself is then so small that L-BFGS's
#: tolerances stop it at once (at p = 64 every term of a good packing is below 1e-12).
_LOG_POTENTIAL_P = 16.0
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


# ----------------------------------------------------------------------------- smooth descent


def q_schedule(rng: np.random.Generator) -> list[float]:
    """Draw a continuation schedule ``q0, q0·r, …`` (last ``>= 2048``) of the smooth max."""
    q = float(np.exp(rng.uniform(np.log(_Q_RANGE[0]), np.log(_Q_RANGE[1]))))
    ratio = float(rng.choice(_Q_RATIOS))
    out = [q]
    while out[-1] < _Q_LAST:
        out.append(out[-1] * ratio)
    return out


def _lbfgs(U: np.ndarray, kind: str, q: float, eps: float, maxiter: int, gtol: float = 1e-12):
    n, d = U.shape
    res = minimize(
        _smooth_value_grad,
        U.ravel(),
        args=(n, d, kind, q, eps),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": gtol, "ftol": 1e-15, "maxcor": 20},
    )
    return unit(res.x.reshape(n, d)), int(res.nit)


def smooth_descent(
    U: np.ndarray, p: float, maxiter: int, schedule=None, deadline: float = math.inf
) -> tuple[np.ndarray, int]:
    """Descend the smooth surrogate of order ``p`` stage by stage; return the rows and L-BFGS iterations.

    ``p = inf``: one stage per ``q`` of ``schedule`` (stopping after the stage that
    passes ``deadline``); finite ``p``: the ``ε`` continuation for ``p < 2``, one
    unsmoothed stage for ``p >= 2``.
    """
    its = 0
    if math.isinf(p):
        for q in schedule or (32.0, 128.0, 512.0, 2048.0):
            U, k = _lbfgs(U, "max", q, 0.0, maxiter)
            its += k
            if time.perf_counter() > deadline:
                break
    elif p > _LOG_POTENTIAL_P:  # (2/p) log Σ |c|**p, normalised by the largest term: no underflow
        U, its = _lbfgs(U, "max", p / 2.0, 0.0, maxiter)
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
    U: np.ndarray, max_iter: int, radius: float, tol: float, deadline: float = math.inf
) -> tuple[np.ndarray, int]:
    """Run the LP polish of :func:`polish_coherence` on trusted unit rows, stopping at ``deadline``."""
    n, d = U.shape
    iu, ju = np.triu_indices(n, 1)
    nd = n * d
    nv = 2 * nd + 1  # variables: the step du = a - b with a, b >= 0 (for the L1 penalty), then t
    c = (U @ U.T)[iu, ju]
    mu = float(np.max(np.abs(c)))
    r = radius
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
        m = act.size
        # pair k: s_k (u_j . du_i + u_i . du_j) - t <= -s_k c_k
        A_ub = _split_step_matrix(pair_cosine_jacobian(U, iu[act], ju[act], s), m, nd, t_coef=-1.0)
        # the step stays tangent: u_i . du_i = 0
        A_eq = _split_step_matrix(tangent_constraints(U), n, nd)
        bounds[:-1, 1] = r
        lp = linprog(
            cost,
            A_ub=A_ub,
            b_ub=-s * c[act],
            A_eq=A_eq,
            b_eq=np.zeros(n),
            bounds=bounds,
            method="highs",
            options=_HIGHS_OPTIONS,
        )
        if lp.status != 0:
            r *= 0.25
            continue
        predicted = mu - lp.x[-1]
        if predicted <= tol:
            break
        V = retract(U, (lp.x[:nd] - lp.x[nd:-1]).reshape(n, d))
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


def _split_step_matrix(triplets, m: int, nd: int, t_coef: float | None = None) -> sparse.csr_matrix:
    """Return the ``m × (2 nd + 1)`` LP matrix of a linear map of ``du = a − b`` (and ``t_coef · t``)."""
    rows, cols, vals = triplets
    parts_r, parts_c, parts_v = [rows, rows], [cols, cols + nd], [vals, -vals]
    if t_coef is not None:
        parts_r.append(np.arange(m))
        parts_c.append(np.full(m, 2 * nd))
        parts_v.append(np.full(m, t_coef))
    return sparse.csr_matrix(
        (np.concatenate(parts_v), (np.concatenate(parts_r), np.concatenate(parts_c))), shape=(m, 2 * nd + 1)
    )


# ----------------------------------------------------------------------------- equalization


def equalize(U: np.ndarray, rel: float = 1e-7, iters: int = 8) -> np.ndarray:
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
    for _ in range(iters):
        cv = np.einsum("ij,ij->i", V[I], V[J])
        res = np.concatenate([s * cv - t, np.zeros(n)])
        if np.max(np.abs(res)) < 1e-16:
            break
        A = np.zeros((m + n, n * d + 1))
        rows, cols, vals = pair_cosine_jacobian(V, I, J, s)
        A[rows, cols] = vals
        rows, cols, vals = tangent_constraints(V)
        A[m + rows, cols] = vals
        A[:m, -1] = -1.0
        step = np.linalg.lstsq(A, -res, rcond=None)[0]
        V = retract(V, step[:-1].reshape(n, d))
        t += step[-1]
    return V if objective_value(V, np.inf) <= mu else U
