"""Lower bounds on the coherence of ``n`` lines in ``R^d``.

The coherence of unit vectors ``w_1..w_n`` is ``μ = max_{i<j} |<w_i, w_j>|``.
Every function here returns a number that no arrangement of ``n`` lines in
``R^d`` can beat, within the range where that bound is proven:

=====================  ================================  =========================
bound                  value of ``μ`` at least           valid for
=====================  ================================  =========================
Welch (1974)           ``sqrt((n-d) / (d (n-1)))``        all ``n >= 2``
orthoplex (Rankin)     ``1 / sqrt(d)``                    ``n > d (d+1) / 2``
Levenstein (1982)      ``sqrt((3n-d²-2d)/((d+2)(n-d)))``  ``n > d (d+1) / 2``
Bukh–Cox (2020)        see :func:`bukh_cox_bound`         ``n > d``
=====================  ================================  =========================

Exact values are used where the optimum is known in closed form: ``n <= d``
(orthonormal, 0), ``d = 1`` (all lines coincide, 1) and ``d = 2`` (lines at
angle π/n, ``cos(π/n)``). :func:`lower_bound` returns the best valid value.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._validation import check_int
from .constructions.known import known_optimum

__all__ = [
    "welch_bound",
    "orthoplex_bound",
    "levenstein_bound",
    "bukh_cox_bound",
    "exact_coherence",
    "lower_bound",
    "bound_table",
    "gerzon_bound",
    "lp_bound",
    "LPBound",
]


def _nd(n, d):
    return check_int(n, "n", minimum=1), check_int(d, "d", minimum=1)


def gerzon_bound(d: int) -> int:
    """Return ``d (d + 1) / 2``, the most equiangular lines ``R^d`` can hold (Gerzon).

    Examples
    --------
    >>> gerzon_bound(3), gerzon_bound(7)
    (6, 28)
    """
    d = check_int(d, "d", minimum=1)
    return d * (d + 1) // 2


def welch_bound(n: int, d: int) -> float:
    """Welch bound ``μ >= sqrt((n - d) / (d (n - 1)))`` (0 when ``n <= d``).

    Valid for every ``n >= 2``; attained exactly by equiangular tight frames.

    Examples
    --------
    >>> round(welch_bound(6, 3), 10) == round(1 / 5 ** 0.5, 10)
    True
    >>> welch_bound(1, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 2 for a coherence bound (a single line has no pairs); got 1.
    """
    n, d = _nd(n, d)
    if n < 2:
        raise ValueError(
            f"n must be >= 2 for a coherence bound (a single line has no pairs); got {n}."
        )
    if n <= d:
        return 0.0
    return math.sqrt((n - d) / (d * (n - 1)))


def _require_beyond_gerzon(name, n, d):
    g = d * (d + 1) // 2
    if n <= g:
        raise ValueError(
            f"{name} is valid only for n > d(d+1)/2 = {g} in R^{d}; got n={n}. "
            f"Use lower_bound(n, d) for the best bound that applies."
        )


def orthoplex_bound(n: int, d: int) -> float:
    """Orthoplex (Rankin) bound ``μ >= 1/sqrt(d)``, valid for ``n > d (d + 1) / 2``.

    Examples
    --------
    >>> orthoplex_bound(7, 3) == 1 / 3 ** 0.5
    True
    >>> orthoplex_bound(6, 3)
    Traceback (most recent call last):
    ...
    ValueError: orthoplex bound is valid only for n > d(d+1)/2 = 6 in R^3; got n=6. ...
    """
    n, d = _nd(n, d)
    _require_beyond_gerzon("orthoplex bound", n, d)
    return 1.0 / math.sqrt(d)


def levenstein_bound(n: int, d: int) -> float:
    """Levenstein bound ``μ² >= (3n − d² − 2d) / ((d + 2)(n − d))`` for ``n > d (d + 1)/2``.

    Tight for the 36 lines in ``R^6`` and the 63 lines in ``R^7`` (both ``μ = 1/2``).

    Examples
    --------
    >>> levenstein_bound(36, 6), levenstein_bound(63, 7)
    (0.5, 0.5)
    """
    n, d = _nd(n, d)
    _require_beyond_gerzon("Levenstein bound", n, d)
    return math.sqrt((3 * n - d * d - 2 * d) / ((d + 2) * (n - d)))


def bukh_cox_bound(n: int, d: int) -> float:
    """Bukh–Cox bound for ``n = d + k`` lines, ``k >= 1`` (Bukh & Cox 2020, real case).

    With ``k = n − d``, ``N = k (k + 1) / 2`` (Gerzon's count in ``R^k``) and
    ``a = 1 / sqrt(k + 2)`` (the angle of ``N`` equiangular lines in ``R^k``),

    ``μ >= N / (n (1 + (N − 1) a) − N)``.

    It comes from the null space of the Gram matrix ``G``: let ``P`` be the
    orthogonal projection (rank ``k``) onto it. ``G P = 0`` gives
    ``P_jj = −Σ_{i≠j} G_ij P_ij <= μ Σ_{i≠j} |P_ij|``; summing, ``k <= μ (Σ_ij |P_ij| − k)``.
    Bukh & Cox's key inequality (isotropic measures on ``R^k``) bounds
    ``(1/n) Σ_ij |P_ij| <= C_k = (2 + (k − 1) sqrt(k + 2)) / (k + 1)``, with equality
    for ``N`` equiangular lines in ``R^k``, hence ``μ >= k / (n C_k − k)``, which is
    the formula above. It is tight for the simplex (``k = 1``: ``1/d``) and
    strongest when ``k`` is small compared to ``d``, where it beats Welch.

    Examples
    --------
    >>> bukh_cox_bound(4, 3) == 1 / 3
    True
    >>> round(bukh_cox_bound(102, 100), 6), round(welch_bound(102, 100), 6)
    (0.014925, 0.014072)
    """
    n, d = _nd(n, d)
    if n <= d:
        raise ValueError(f"Bukh–Cox bound is valid only for n > d = {d}; got n={n}.")
    k = n - d
    N = k * (k + 1) / 2
    a = 1.0 / math.sqrt(k + 2)
    return min(1.0, N / (n * (1.0 + (N - 1.0) * a) - N))


def exact_coherence(n: int, d: int) -> float | None:
    """Return the optimal coherence where it is known in closed form, else ``None``.

    ``n <= d``: 0; ``n >= 2, d = 1``: 1; ``d = 2``: ``cos(π / n)``; ``n = d + 1``: ``1/d``
    (regular simplex).

    Examples
    --------
    >>> exact_coherence(3, 2) == 0.5 or abs(exact_coherence(3, 2) - 0.5) < 1e-15
    True
    >>> exact_coherence(10, 5) is None
    True
    """
    n, d = _nd(n, d)
    entry = known_optimum(n, d)
    return entry.coherence if entry is not None and entry.proof == "closed form" else None


def bound_table(n: int, d: int, *, lp: bool = False) -> dict[str, float | None]:
    """Every bound at ``(n, d)``: name → value, or ``None`` outside its validity range.

    ``lp=True`` adds the certified Delsarte LP bound (:func:`lp_bound`) as ``"lp"``.

    Examples
    --------
    >>> t = bound_table(6, 3)
    >>> sorted(k for k, v in t.items() if v is not None)
    ['bukh_cox', 'welch']
    """
    n, d = _nd(n, d)
    table: dict[str, float | None] = {}
    for name, fn in (
        ("welch", welch_bound),
        ("orthoplex", orthoplex_bound),
        ("levenstein", levenstein_bound),
        ("bukh_cox", bukh_cox_bound),
    ):
        try:
            table[name] = fn(n, d)
        except ValueError:
            table[name] = None
    if lp:
        table["lp"] = lp_bound(n, d) if n > d and d > 1 else None
    return table


def lower_bound(n: int, d: int, *, lp: bool = False, return_name: bool = False):
    """Return the best proven lower bound on the coherence of ``n`` lines in ``R^d``.

    Uses the exact optimum where it is known (:func:`exact_coherence`), else the
    largest of the valid bounds in :func:`bound_table`.

    Parameters
    ----------
    n, d : int
        Number of lines (``>= 1``) and dimension (``>= 1``).
    lp : bool, default False
        Also use the certified Delsarte LP bound (:func:`lp_bound`, degree 16).
        It costs a few tenths of a second per new ``(n, d)`` (results are cached),
        so it is off by default to keep this function cheap inside loops and
        property tests; :func:`packing.optimize_packing` turns it on.
    return_name : bool
        Also return the name of the winning bound.

    Returns
    -------
    float or (float, str)

    Examples
    --------
    >>> lower_bound(4, 3) == 1 / 3
    True
    >>> lower_bound(28, 7, return_name=True)
    (0.3333333333333333, 'welch')
    >>> round(lower_bound(8, 3), 4), round(lower_bound(8, 3, lp=True), 4)
    (0.6, 0.6099)
    >>> lower_bound(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    n, d = _nd(n, d)
    exact = exact_coherence(n, d)
    if exact is not None:
        return (exact, "exact") if return_name else exact
    table = {k: v for k, v in bound_table(n, d, lp=lp).items() if v is not None}
    name = max(table, key=table.get)
    return (table[name], name) if return_name else table[name]


# ----------------------------------------------------------------------------- Delsarte LP bound


@dataclass(frozen=True)
class LPBound:
    """A certified Delsarte linear-programming bound (see :func:`lp_bound`).

    Attributes
    ----------
    value : float
        Certified lower bound on the coherence of ``n`` lines in ``R^d``.
    n, d, degree : int
        Problem size and the degree (in ``cos θ``, even) of the certifying polynomial.
    solver : str
        The cvxpy solver that found the polynomial (``"none"`` for trivial cases).
    coefficients : tuple of float
        ``f_0 = 1, f_1, …, f_K >= 0``: the certificate ``f(t) = Σ f_k Q_k(t)`` in
        the normalized zonal basis (``t = cos²θ``), before the exact shift.
    shift : float
        Exact upper bound of ``max f`` on ``[0, value²]``, subtracted from ``f``
        so that the shifted polynomial is provably ``<= 0`` there.
    max_lines : float
        The certified Delsarte bound ``(f(1) − shift) / (f_0 − shift)`` at ``value``:
        fewer than ``n`` lines fit at coherence ``<= value``.
    """

    value: float
    n: int
    d: int
    degree: int
    solver: str
    coefficients: tuple = ()
    shift: float = 0.0
    max_lines: float = math.inf

    def __float__(self) -> float:
        return self.value


def _zonal_polynomials(d: int, K: int) -> list[list[Fraction]]:
    """Exact coefficients (in ``t = x²``, low to high) of ``Q_k(t) = P_{2k}(x) / P_{2k}(1)``, k <= K.

    ``P_m`` is the Gegenbauer polynomial ``C_m^{(d-2)/2}`` (Chebyshev ``T_m`` for
    ``d = 2``): the zonal spherical functions of ``S^{d-1}``, so
    ``Σ_{i,j} Q_k(<w_i, w_j>²) >= 0`` for any unit vectors (Schoenberg 1942).
    """
    lam = Fraction(d - 2, 2)
    m_max = 2 * K
    # polynomials in x as coefficient lists, low to high
    P = [[Fraction(1)], [Fraction(0), 2 * lam if d > 2 else Fraction(1)]]
    for m in range(2, m_max + 1):
        a = [Fraction(0)] + P[m - 1]  # x * P_{m-1}
        b = P[m - 2] + [Fraction(0)] * 2
        if d == 2:
            new = [2 * u - v for u, v in zip(a, b, strict=True)]
        else:
            new = [(2 * (m + lam - 1) * u - (m + 2 * lam - 2) * v) / m for u, v in zip(a, b, strict=True)]
        P.append(new)
    out = []
    for k in range(K + 1):
        coeffs = P[2 * k]
        at_one = sum(coeffs)
        out.append([c / at_one for c in coeffs[::2]])
    return out


def _poly_eval_exact(coeffs: list[Fraction], t: Fraction) -> Fraction:
    acc = Fraction(0)
    for c in reversed(coeffs):
        acc = acc * t + c
    return acc


def _bernstein_max(coeffs: list[Fraction], a: Fraction, b: Fraction) -> Fraction:
    """Exact upper bound of a polynomial on ``[a, b]``: the largest Bernstein coefficient."""
    N = len(coeffs) - 1
    h = b - a
    # Taylor shift to a, then scale: q(s) = p(a + h s)
    q = list(coeffs)
    for i in range(N):
        for j in range(N - 1, i - 1, -1):
            q[j] += a * q[j + 1]
    q = [c * h**k for k, c in enumerate(q)]
    best = None
    for i in range(N + 1):
        v = sum(Fraction(math.comb(i, k), math.comb(N, k)) * q[k] for k in range(i + 1))
        best = v if best is None or v > best else best
    return best


def _certified_max(coeffs: list[Fraction], top: Fraction, pieces: int = 32, depth: int = 12) -> Fraction:
    """Exact upper bound of ``max_{t in [0, top]} p(t)`` by adaptively subdivided Bernstein bounds."""
    bound = None
    stack = [(top * i / pieces, top * (i + 1) / pieces, 0) for i in range(pieces)]
    while stack:
        a, b, level = stack.pop()
        est = _bernstein_max(coeffs, a, b)
        ends = max(_poly_eval_exact(coeffs, a), _poly_eval_exact(coeffs, b))
        if est > 0 and est - ends > Fraction(1, 10**12) and level < depth:
            mid = (a + b) / 2
            stack += [(a, mid, level + 1), (mid, b, level + 1)]
            continue
        bound = est if bound is None or est > bound else bound
    return bound


def _zonal_values(d: int, K: int, t: np.ndarray) -> np.ndarray:
    """Float values ``Q_k(t)``, shape (len(t), K), k = 1..K, by the stable three-term recurrence in x."""
    x = np.sqrt(t)
    lam = (d - 2) / 2
    P = [np.ones_like(x), (2 * lam if d > 2 else 1.0) * x]
    ones = [1.0, 2 * lam if d > 2 else 1.0]
    for m in range(2, 2 * K + 1):
        if d == 2:
            P.append(2 * x * P[-1] - P[-2])
            ones.append(2 * ones[-1] - ones[-2])
        else:
            P.append((2 * x * (m + lam - 1) * P[-1] - (m + 2 * lam - 2) * P[-2]) / m)
            ones.append((2 * (m + lam - 1) * ones[-1] - (m + 2 * lam - 2) * ones[-2]) / m)
    return np.stack([P[2 * k] / ones[2 * k] for k in range(1, K + 1)], axis=1)


class _DelsarteLP:
    """The grid LP ``min f(1)`` s.t. ``f <= 0`` on ``[0, μ²]``, ``f_0 = 1``, ``f_k >= 0`` (cvxpy)."""

    def __init__(self, d: int, K: int, solver: str | None, grid: int = 400):
        import cvxpy as cp

        self.d, self.K, self.solver = d, K, solver
        u = np.linspace(0.0, 1.0, grid)
        self.s = np.unique(np.r_[u, np.sin(0.5 * np.pi * u) ** 2])  # denser at both ends
        self.A = cp.Parameter((self.s.size, K))
        self.f = cp.Variable(K, nonneg=True)
        self.problem = cp.Problem(cp.Minimize(1 + cp.sum(self.f)), [1 + self.A @ self.f <= 0])

    def solve(self, mu: float) -> tuple[float, np.ndarray | None, str]:
        import cvxpy as cp

        self.A.value = _zonal_values(self.d, self.K, mu * mu * self.s)
        solvers = [self.solver] if self.solver else ["CLARABEL", "HIGHS", "SCS"]
        for name in solvers:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "inaccurate" results are certified below anyway
                    self.problem.solve(solver=name)
            except (cp.SolverError, ValueError):
                continue
            if self.problem.status in ("optimal", "optimal_inaccurate"):
                return float(self.problem.value), np.maximum(np.asarray(self.f.value), 0.0), name
            if self.problem.status in ("infeasible", "infeasible_inaccurate"):
                return math.inf, None, name
        return math.inf, None, solvers[-1]


def _certify(Q: list[list[Fraction]], f: np.ndarray, mu: float) -> tuple[Fraction, Fraction]:
    """Exact ``(shift, max_lines)`` for the polynomial ``1 + Σ f_k Q_k`` on ``[0, μ²]``."""
    F = [Fraction(1)] + [Fraction(float(v)) for v in f]
    deg = len(Q[-1])
    poly = [Fraction(0)] * deg
    for fk, qk in zip(F, Q, strict=True):
        if fk:
            for i, c in enumerate(qk):
                poly[i] += fk * c
    top = Fraction(mu) ** 2
    shift = max(Fraction(0), _certified_max(poly, top))
    if shift >= 1:
        return shift, Fraction(10**18)
    return shift, (sum(F) - shift) / (1 - shift)


@functools.lru_cache(maxsize=4096)
def _lp_bound_cached(n: int, d: int, degree: int, solver: str | None) -> LPBound:
    if n <= d or n == 1:
        return LPBound(0.0, n, d, degree, "none", max_lines=float(n))
    if d == 1:
        return LPBound(1.0, n, d, degree, "none", max_lines=1.0)
    K = degree // 2
    lp = _DelsarteLP(d, K, solver)
    # bisection for the largest μ whose LP optimum N(μ) is below n (N is nondecreasing in μ)
    lo, hi = 0.0, 1.0
    used = solver or "CLARABEL"
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        value, _, used = lp.solve(mid)
        if value < n:
            lo = mid
        else:
            hi = mid
    # certify slightly below, backing off until the exact check passes
    Q = _zonal_polynomials(d, K)
    for back in (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        mu = lo * (1.0 - back)
        value, f, used = lp.solve(mu)
        if f is None or not value < n:
            continue
        shift, lines = _certify(Q, f, mu)
        if lines < n:
            return LPBound(
                float(mu), n, d, degree, used, tuple([1.0] + [float(v) for v in f]),
                float(shift), float(lines),
            )
    return LPBound(0.0, n, d, degree, used)


def lp_bound(n: int, d: int, *, degree: int = 16, solver: str | None = None, return_info: bool = False):
    """Certified Delsarte linear-programming lower bound on the coherence of ``n`` lines in ``R^d``.

    For unit vectors ``w_i`` and a polynomial ``f(t) = Σ_{k<=K} f_k Q_k(t)`` in
    ``t = cos²θ``, with ``Q_k(x²)`` the degree-``2k`` Gegenbauer polynomial
    ``C_{2k}^{(d-2)/2}(x)`` normalized to ``Q_k(1) = 1`` (positive definite on the
    sphere), ``f_0 > 0`` and ``f_k >= 0``: if ``f(t) <= 0`` on ``[0, μ²]`` then at
    most ``f(1) / f_0`` lines have coherence ``<= μ`` (Delsarte, Goethals & Seidel
    1977, for antipodal codes). The best ``f`` is a linear program, solved with
    cvxpy on a grid of ``[0, μ²]``; a bisection finds the largest ``μ`` whose
    optimum is below ``n``. The grid LP alone proves nothing between grid points,
    so the returned value is certified in exact rational arithmetic: the float
    coefficients are made exact, ``max f`` on the whole interval is bounded from
    above by adaptively subdivided Bernstein coefficients, that bound is
    subtracted from ``f``, and the shifted certificate must still give fewer than
    ``n`` lines. If it does not, ``μ`` backs off (by factors ``1 − 10^-9 …``).

    Degree 2 (``K = 1``) is the Welch bound and degree 4 contains the Levenstein
    and orthoplex bounds, so for ``degree >= 4`` this is at least as strong up to
    the ~1e-9 relative back-off. Results are cached.

    Parameters
    ----------
    n, d : int
        Number of lines (``>= 1``) and dimension (``>= 1``).
    degree : int, default 16
        Even degree in ``cos θ`` of the certificate (``>= 2``).
    solver : str or None
        A cvxpy LP solver name; ``None`` tries CLARABEL, then HIGHS, then SCS.
    return_info : bool
        Return an :class:`LPBound` (value, solver, degree, certificate) instead of a float.

    Returns
    -------
    float or LPBound
        0 for ``n <= d``; 1 for ``d = 1, n >= 2``.

    Examples
    --------
    >>> info = lp_bound(8, 3, return_info=True)
    >>> round(info.value, 4), info.solver, info.degree, info.max_lines < 8
    (0.6099, 'CLARABEL', 16, True)
    >>> lp_bound(7, 3, degree=3)
    Traceback (most recent call last):
    ...
    ValueError: degree must be an even integer >= 2; got 3.
    """
    n, d = _nd(n, d)
    degree = check_int(degree, "degree", minimum=2)
    if degree % 2:
        raise ValueError(f"degree must be an even integer >= 2; got {degree}.")
    if solver is not None and not isinstance(solver, str):
        raise TypeError(
            f"solver must be None or a cvxpy solver name such as 'CLARABEL'; "
            f"got {type(solver).__name__} {solver!r}."
        )
    info = _lp_bound_cached(n, d, degree, solver.upper() if solver else None)
    return info if return_info else info.value
