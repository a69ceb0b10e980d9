"""A limited-memory BFGS loop in numpy, for the small smooth problems of the optimizer.

Why not :func:`scipy.optimize.minimize` (L-BFGS-B): on a restart of 50 lines in
``R^6`` (300 variables) one evaluation of the smooth max costs about 90 µs, but
one scipy iteration about 270 µs; the rest is per-call bookkeeping of the
wrapper (function memoization, bound handling, the Fortran reverse-communication
loop). This loop keeps the curvature pairs in two ``(m, N)`` arrays and applies
the inverse Hessian in the compact form of Byrd, Nocedal & Schnabel (1994,
"Representations of quasi-Newton matrices and their use in limited memory
methods", Math. Programming 63, eq. 2.6 / 3.1), a handful of matrix–vector
products per iteration instead of the ``4m`` small vector operations of the
two-loop recursion. The step length comes from a backtracking Armijo search
starting at 1 (the L-BFGS step is well scaled; a curvature pair with
``sᵀy <= 0`` is skipped instead of enforcing the Wolfe condition).

Deterministic: the iterates depend on the start and the function only, never
on a clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__: list[str] = []  # private module

#: Armijo's sufficient-decrease constant, the backtracking factor bounds, and the backtracking cap.
_C1 = 1e-4
_SHRINK_MIN, _SHRINK_MAX = 0.1, 0.5
_MAX_BACKTRACK = 40
#: A curvature pair enters the memory only if ``sᵀy > _CURVATURE * yᵀy`` (positive definiteness).
_CURVATURE = 1e-12


class _Memory:
    """The last ``m`` curvature pairs ``(s_i, y_i)``, oldest first, with their inner products.

    The pairs live in one ``(m, 2, N)`` array (``Z[i] = (s_i, y_i)``), so that every product
    with all of them is one matrix–vector product.
    """

    def __init__(self, m: int, size: int):
        self.m = m
        self.k = 0
        self.Z = np.empty((m, 2, size))
        self.SY = np.zeros((m, m))  # SY[i, j] = s_i · y_j
        self.YY = np.zeros((m, m))
        self.Rinv = np.zeros((m, m))  # [:k, :k]: inverse of the upper triangle of SY[:k, :k]
        self.gamma = 1.0

    def push(self, s: np.ndarray, y: np.ndarray) -> bool:
        """Add a pair if it has positive curvature; return whether it was added.

        ``R⁻¹`` is kept up to date without inverting: dropping the oldest pair keeps the
        trailing block of an upper-triangular inverse, and a new last column ``c`` with
        diagonal ``δ`` appends the column ``−R⁻¹c/δ`` and the diagonal ``1/δ``.
        """
        sy, yy = float(s @ y), float(y @ y)
        if not sy > _CURVATURE * yy:
            return False
        if self.k == self.m:  # drop the oldest pair
            self.Z[:-1] = self.Z[1:]
            for M in (self.SY, self.YY, self.Rinv):
                M[:-1, :-1] = M[1:, 1:]
        else:
            self.k += 1
        k = self.k
        Z = self.Z[:k]
        Z[-1, 0] = s
        Z[-1, 1] = y
        with_y = Z @ y  # (k, 2): s_i · y and y_i · y
        self.SY[:k, k - 1] = with_y[:, 0]
        self.SY[k - 1, :k] = Z[:, 1] @ s
        self.YY[:k, k - 1] = with_y[:, 1]
        self.YY[k - 1, :k] = with_y[:, 1]
        Rinv = self.Rinv
        Rinv[: k - 1, k - 1] = (Rinv[: k - 1, : k - 1] @ with_y[:-1, 0]) * (-1.0 / sy)
        Rinv[k - 1, : k - 1] = 0.0
        Rinv[k - 1, k - 1] = 1.0 / sy
        self.gamma = sy / yy
        return True

    def reset(self) -> None:
        self.k = 0
        self.gamma = 1.0

    def apply(self, g: np.ndarray) -> np.ndarray:
        """Return ``H g``, ``H`` the L-BFGS inverse Hessian approximation (``γ I`` updated by the pairs).

        Compact form: ``H = γI + [S γY] M [Sᵀ; γYᵀ]`` with
        ``M = [[R⁻ᵀ(D + γYᵀY)R⁻¹, −R⁻ᵀ], [−R⁻¹, 0]]``, ``R`` the upper triangle of ``SᵀY``
        and ``D`` its diagonal (rows of ``S`` and ``Y`` are the pairs).
        """
        k, gamma = self.k, self.gamma
        if k == 0:
            return gamma * g
        Z = self.Z[:k]
        ab = Z @ g  # (k, 2): s_i · g and y_i · g
        Rinv = self.Rinv[:k, :k]
        p = Rinv @ ab[:, 0]
        coef = np.empty((k, 2))
        coef[:, 0] = Rinv.T @ (self.SY.diagonal()[:k] * p + gamma * (self.YY[:k, :k] @ p - ab[:, 1]))
        coef[:, 1] = -gamma * p
        return gamma * g + coef.ravel() @ Z.reshape(2 * k, -1)


def lbfgs(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    maxiter: int,
    memory: int = 20,
    gtol: float = 1e-12,
    ftol: float = 1e-15,
) -> tuple[np.ndarray, float, int]:
    """Minimize ``fun`` (returning value and gradient) from ``x0``; return ``x``, its value and iterations.

    Stops after ``maxiter`` iterations, when the largest gradient entry is at most
    ``gtol``, when an iteration lowers the value by at most ``ftol`` relatively
    (``(f_old − f_new) <= ftol · max(|f_old|, |f_new|, 1)``, the rule of L-BFGS-B),
    or when the line search finds no decrease.
    """
    x = np.array(x0, dtype=np.float64)
    f, g = fun(x)
    mem = _Memory(memory, x.size)
    it = 0
    while it < maxiter and float(np.max(np.abs(g))) > gtol:
        direction = -mem.apply(g)
        slope = float(direction @ g)
        if not slope < 0.0:  # lost descent (rounding): restart from the gradient
            mem.reset()
            direction = -g
            slope = -float(g @ g)
        # first step: move the largest coordinate by at most 1/|g| (as L-BFGS-B does), then t = 1
        t = 1.0 if mem.k else min(1.0, 1.0 / math.sqrt(-slope))
        for _ in range(_MAX_BACKTRACK):
            x_new = x + t * direction
            f_new, g_new = fun(x_new)
            if math.isfinite(f_new) and f_new <= f + _C1 * t * slope:
                break
            # minimum of the quadratic through f, the slope and f_new, kept inside [0.1 t, 0.5 t]
            cut = 0.5 if not math.isfinite(f_new) else -slope * t / (2.0 * (f_new - f - slope * t))
            t *= min(_SHRINK_MAX, max(_SHRINK_MIN, cut))
        else:
            break
        it += 1
        mem.push(x_new - x, g_new - g)
        decrease = f - f_new
        x, f, g = x_new, f_new, g_new
        if decrease <= ftol * max(abs(f), abs(f + decrease), 1.0):
            break
    return x, f, it
