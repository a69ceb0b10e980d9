"""The certified Delsarte linear-programming bound on the coherence of ``n`` lines in ``R^d``.

:func:`lp_bound` finds, by bisection over ``μ``, the largest coherence at which
a grid LP (cvxpy) still proves that fewer than ``n`` lines fit, and then
certifies that polynomial in exact rational arithmetic: zonal (Gegenbauer)
polynomials with :class:`fractions.Fraction` coefficients, and an exact upper
bound of the polynomial on the whole interval from adaptively subdivided
Bernstein coefficients. :class:`LPBound` carries the certificate.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._results import Savable
from .._validation import check_bool, check_int, show_int

__all__ = ["lp_bound", "LPBound"]

#: Degree (in ``cos θ``) of the certificate when none is asked for.
DEFAULT_DEGREE = 16
#: Largest degree served: the exact certificate takes about 12 s at degree 48 and grows quickly beyond.
MAX_DEGREE = 64
#: Largest dimension served: the zonal polynomials are evaluated in floating point (1e12 gives a valid
#: but weaker bound than Welch's already; beyond it the recurrence leaves the float range).
MAX_D = 10**12


class SolverFailure(RuntimeError):
    """Every cvxpy solver tried raised an error on the Delsarte LP."""


@dataclass(frozen=True)
class LPBound(Savable):
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
        import cvxpy as cp  # deferred: importing cvxpy takes about a second, and only the LP needs it

        self.d, self.K, self.solver = d, K, solver
        u = np.linspace(0.0, 1.0, grid)
        self.s = np.unique(np.r_[u, np.sin(0.5 * np.pi * u) ** 2])  # denser at both ends
        self.A = cp.Parameter((self.s.size, K))
        self.f = cp.Variable(K, nonneg=True)
        self.problem = cp.Problem(cp.Minimize(1 + cp.sum(self.f)), [1 + self.A @ self.f <= 0])

    def solve(self, mu: float) -> tuple[float, np.ndarray | None, str]:
        import cvxpy as cp  # deferred (see __init__); already imported by then

        self.A.value = _zonal_values(self.d, self.K, mu * mu * self.s)
        solvers = [self.solver] if self.solver else ["CLARABEL", "HIGHS", "SCS"]
        errors = []
        for name in solvers:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "inaccurate" results are certified below anyway
                    with _ctrl_c_after():
                        self.problem.solve(solver=name)
            except (cp.SolverError, ValueError) as exc:
                errors.append(f"{name}: {exc}")
                continue
            if self.problem.status in ("optimal", "optimal_inaccurate"):
                return float(self.problem.value), np.maximum(np.asarray(self.f.value), 0.0), name
            if self.problem.status in ("infeasible", "infeasible_inaccurate"):
                return math.inf, None, name
        if len(errors) == len(solvers):
            raise SolverFailure("; ".join(errors))
        return math.inf, None, solvers[-1]


@contextlib.contextmanager
def _ctrl_c_after():
    """Hold Ctrl-C during one LP solve and raise ``KeyboardInterrupt`` when it returns.

    A ``KeyboardInterrupt`` raised inside the solve could be lost: Clarabel's
    ``update`` (Rust, PyO3) reads the scipy matrices' attributes, a Ctrl-C there
    comes out as a ``TypeError`` about an argument, and cvxpy catches every
    ``Exception`` of ``update`` and builds a new solver instead, so the interrupt
    vanished (``build_table.py run --workers 1`` ran on). One solve takes well
    under a second here, so Ctrl-C is late by at most that. Only the main thread
    with Python's default Ctrl-C handler is changed.
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


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
                float(mu),
                n,
                d,
                degree,
                used,
                tuple([1.0] + [float(v) for v in f]),
                float(shift),
                float(lines),
            )
    return LPBound(0.0, n, d, degree, used)


def lp_bound(
    n: int, d: int, *, degree: int = DEFAULT_DEGREE, solver: str | None = None, return_info: bool = False
):
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
        Number of lines (``>= 1``, any size) and dimension (``1 <= d <= 10**12``).
    degree : int, default 16
        Even degree in ``cos θ`` of the certificate (``2 <= degree <= 64``).
    solver : str or None
        An installed cvxpy LP solver (``cvxpy.installed_solvers()``, any case);
        ``None`` tries CLARABEL, then HIGHS, then SCS.
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
    ValueError: degree must be an even integer from 2 to 64; got 3.
    >>> lp_bound(8, 3, solver="NOSUCHSOLVER")
    Traceback (most recent call last):
    ...
    ValueError: solver must be None or one of the installed cvxpy solvers ...; got 'NOSUCHSOLVER'.

    Raises
    ------
    RuntimeError
        When the solver raises an error on every LP (no bound is claimed then).
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1, maximum=MAX_D)
    degree = check_int(degree, "degree", minimum=2)
    if degree % 2 or degree > MAX_DEGREE:
        raise ValueError(
            f"degree must be an even integer from 2 to {MAX_DEGREE}; got {show_int(degree)}."
            + (" (The exact certificate's cost grows quickly with it.)" if degree > MAX_DEGREE else "")
        )
    solver = _check_solver(solver)
    return_info = check_bool(return_info, "return_info")
    try:
        info = _lp_bound_cached(n, d, degree, solver)
    except SolverFailure as exc:
        raise RuntimeError(
            f"lp_bound({show_int(n)}, {show_int(d)}): the LP solver failed on every LP ({exc}); "
            f"no bound is claimed. Try solver=None or another installed solver."
        ) from None
    return info if return_info else info.value


def _check_solver(solver) -> str | None:
    """``None`` or the upper-case name of an installed cvxpy solver; raise naming ``solver`` otherwise."""
    if solver is None:
        return None
    if not isinstance(solver, str):
        raise TypeError(
            f"solver must be None or a cvxpy solver name such as 'CLARABEL'; "
            f"got {type(solver).__name__} {solver!r}."
        )
    import cvxpy as cp  # deferred: importing cvxpy takes about a second, and only the LP needs it

    installed = sorted(cp.installed_solvers())
    if solver.upper() not in installed:
        expected = f"None or one of the installed cvxpy solvers {installed}"
        raise ValueError(f"solver must be {expected}; got {solver!r}.")
    return solver.upper()


def certified_lp_value(n: int, d: int) -> float | None:
    """:func:`lp_bound` ``(n, d)`` with the default degree and solvers (None beyond :data:`MAX_D`)."""
    if d > MAX_D:
        return None
    try:
        return _lp_bound_cached(n, d, DEFAULT_DEGREE, None).value
    except SolverFailure:
        return None
