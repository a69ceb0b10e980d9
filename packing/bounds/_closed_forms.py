"""Closed-form lower bounds on the coherence of ``n`` lines in ``R^d``, and the best of all bounds.

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

Exact values come from the registry of known optima
(:func:`packing.known_optimum`) where the optimum is known in closed form:
``n <= d`` (orthonormal, 0), ``d = 1`` (all lines coincide, 1), ``d = 2``
(lines at angle π/n, ``cos(π/n)``) and ``n = d + 1`` (the simplex, ``1/d``).
:func:`lower_bound` returns the best valid value, optionally with the certified
Delsarte LP bound of :mod:`._lp`.
"""

from __future__ import annotations

import math

from .._validation import check_bool, check_int, show_int
from ..constructions.known import known_optimum
from ._lp import certified_lp_value

__all__ = [
    "welch_bound",
    "orthoplex_bound",
    "levenstein_bound",
    "bukh_cox_bound",
    "exact_coherence",
    "lower_bound",
    "bound_table",
    "gerzon_bound",
]


def _nd(n, d) -> tuple[int, int]:
    return check_int(n, "n", minimum=1), check_int(d, "d", minimum=1)


# ----------------------------------------------------------------------------- formulas (trusted input)


# Sizes may be any Python int (``lower_bound(10**160, 5)``): ratios of ints are formed by Python's
# correctly rounded int / int division, which never overflows for a ratio in the float range, and
# square roots of huge ints go through logarithms.


def _sqrt(k: int) -> float:
    """``sqrt(k)`` for any int ``k >= 0`` (``math.sqrt`` converts to float first and overflows)."""
    return math.sqrt(k) if k < 2**1000 else math.exp(0.5 * math.log(k))


def _sqrt_ratio(a: int, b: int) -> float:
    """``sqrt(a / b)`` for ints ``a >= 0``, ``b > 0`` (a ratio below the float range goes through logs)."""
    ratio = a / b
    if ratio == 0.0 and a > 0:
        return math.exp(0.5 * (math.log(a) - math.log(b)))
    return math.sqrt(ratio)


def _welch(n: int, d: int) -> float:
    return 0.0 if n <= d else _sqrt_ratio(n - d, d * (n - 1))


def _orthoplex(n: int, d: int) -> float:
    return 1.0 / _sqrt(d)


def _levenstein(n: int, d: int) -> float:
    return _sqrt_ratio(3 * n - d * d - 2 * d, (d + 2) * (n - d))


def _bukh_cox(n: int, d: int) -> float:
    k = n - d
    if n < 2**500:
        N = k * (k + 1) / 2
        a = 1.0 / math.sqrt(k + 2)
        return min(1.0, N / (n * (1.0 + (N - 1.0) * a) - N))
    # the same bound written as μ >= (k/n) / (C_k − k/n), C_k = (2 + (k − 1) sqrt(k + 2)) / (k + 1),
    # every quantity a ratio of ints or a square root, so nothing leaves the float range
    ratio = k / n
    c_k = 2 / (k + 1) + (k - 1) / (k + 1) * _sqrt(k + 2)
    return min(1.0, ratio / (c_k - ratio))


def _outside_welch(n: int, d: int) -> str | None:
    if n < 2:
        return f"n must be >= 2 for a coherence bound (a single line has no pairs); got {n}."
    return None


def _outside_beyond_gerzon(label: str):
    def outside(n: int, d: int) -> str | None:
        g = d * (d + 1) // 2
        if n <= g:
            return (
                f"{label} is valid only for n > d(d+1)/2 = {show_int(g)} in R^{show_int(d)}; "
                f"got n={show_int(n)}. Use lower_bound(n, d) for the best bound that applies."
            )
        return None

    return outside


def _outside_bukh_cox(n: int, d: int) -> str | None:
    return f"Bukh–Cox bound is valid only for n > d = {show_int(d)}; got n={show_int(n)}." if n <= d else None


#: name in :func:`bound_table` → (why ``(n, d)`` is outside the proven range, or None; the value there)
_BOUNDS = {
    "welch": (_outside_welch, _welch),
    "orthoplex": (_outside_beyond_gerzon("orthoplex bound"), _orthoplex),
    "levenstein": (_outside_beyond_gerzon("Levenstein bound"), _levenstein),
    "bukh_cox": (_outside_bukh_cox, _bukh_cox),
}


def _checked_bound(name: str, n, d) -> float:
    """Validate ``n, d``, refuse them outside the bound's proven range, else return the bound."""
    n, d = _nd(n, d)
    outside, value = _BOUNDS[name]
    reason = outside(n, d)
    if reason is not None:
        raise ValueError(reason)
    return value(n, d)


def _exact_coherence(n: int, d: int) -> float | None:
    entry = known_optimum(n, d)
    return entry.coherence if entry is not None and entry.proof == "closed form" else None


def _bound_table(n: int, d: int, lp: bool) -> dict[str, float | None]:
    table = {name: None if outside(n, d) else value(n, d) for name, (outside, value) in _BOUNDS.items()}
    if lp:
        table["lp"] = certified_lp_value(n, d) if n > d and d > 1 else None
    return table


# ----------------------------------------------------------------------------- public functions


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
    return _checked_bound("welch", n, d)


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
    return _checked_bound("orthoplex", n, d)


def levenstein_bound(n: int, d: int) -> float:
    """Levenstein bound ``μ² >= (3n − d² − 2d) / ((d + 2)(n − d))`` for ``n > d (d + 1)/2``.

    Tight for the 36 lines in ``R^6`` and the 63 lines in ``R^7`` (both ``μ = 1/2``).

    Examples
    --------
    >>> levenstein_bound(36, 6), levenstein_bound(63, 7)
    (0.5, 0.5)
    """
    return _checked_bound("levenstein", n, d)


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
    return _checked_bound("bukh_cox", n, d)


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
    return _exact_coherence(*_nd(n, d))


def bound_table(n: int, d: int, *, lp: bool = False) -> dict[str, float | None]:
    """Every bound at ``(n, d)``: name → value, or ``None`` outside its validity range.

    ``lp=True`` adds the certified Delsarte LP bound (:func:`lp_bound`) as ``"lp"``
    (``None`` for ``n <= d``, ``d = 1`` and beyond the LP's range ``d <= 10**12``).

    Examples
    --------
    >>> t = bound_table(6, 3)
    >>> sorted(k for k, v in t.items() if v is not None)
    ['bukh_cox', 'welch']
    """
    n, d = _nd(n, d)
    return _bound_table(n, d, check_bool(lp, "lp"))


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
    lp = check_bool(lp, "lp")
    return_name = check_bool(return_name, "return_name")
    exact = _exact_coherence(n, d)
    if exact is not None:
        return (exact, "exact") if return_name else exact
    table = {k: v for k, v in _bound_table(n, d, lp).items() if v is not None}
    name = max(table, key=table.get)
    return (table[name], name) if return_name else table[name]
