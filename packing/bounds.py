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

import math

from ._validation import check_int

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

    It comes from the null space of the Gram matrix: a rank-``k`` projection
    whose columns live in ``R^k``, where isotropic point sets cannot have large
    mean ``|cos|``. It is tight for the simplex (``k = 1``: ``1/d``) and
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
    if n <= d or n == 1:
        return 0.0
    if d == 1:
        return 1.0
    if d == 2:
        return math.cos(math.pi / n)
    if n == d + 1:
        return 1.0 / d
    return None


def bound_table(n: int, d: int) -> dict[str, float | None]:
    """Every bound at ``(n, d)``: name → value, or ``None`` outside its validity range.

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
    return table


def lower_bound(n: int, d: int, *, return_name: bool = False):
    """Return the best proven lower bound on the coherence of ``n`` lines in ``R^d``.

    Uses the exact optimum where it is known (:func:`exact_coherence`), else the
    largest of the valid closed-form bounds in :func:`bound_table`.

    Parameters
    ----------
    n, d : int
        Number of lines (``>= 1``) and dimension (``>= 1``).
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
    >>> lower_bound(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    n, d = _nd(n, d)
    exact = exact_coherence(n, d)
    if exact is not None:
        return (exact, "exact") if return_name else exact
    table = {k: v for k, v in bound_table(n, d).items() if v is not None}
    name = max(table, key=table.get)
    return (table[name], name) if return_name else table[name]
