"""Integer arithmetic that stays fast for huge arguments: primes, factorizations, divisors.

The constructions and closed forms take sizes that may be any Python int
(``etf_exists(2 * 10**18 + 2, 10**18 + 1)``, ``admissible_k(10**12, 10**12)``),
so nothing here loops up to ``n`` or ``sqrt(n)``:

* :func:`is_prime`: Miller–Rabin with the first 13 prime bases, deterministic
  below ``3.3e24`` (Sorenson & Webster 2015) and a strong probable-prime test above;
* :func:`factorize`: trial division by the primes below 1000, then Pollard's rho
  in Brent's variant with a bounded amount of work; a number whose factors are
  out of reach raises :class:`FactorizationLimit` instead of running for hours;
* :func:`divisors`, :func:`divisor_count`, :func:`is_sum_of_two_squares` from the factorization.
"""

from __future__ import annotations

import math
from functools import lru_cache

__all__: list[str] = []  # private module

_SMALL_PRIMES = [p for p in range(2, 1000) if all(p % q for q in range(2, math.isqrt(p) + 1))]
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
#: Pollard-rho iterations (over all attempts) before a factorization gives up: about a second of work.
RHO_BUDGET = 400_000


class FactorizationLimit(ValueError):
    """The integer has prime factors too large to find with a bounded amount of work."""


def is_prime(n: int) -> bool:
    """Whether ``n`` is prime (deterministic below 3.3e24, a strong probable-prime test above).

    Examples
    --------
    >>> [q for q in range(30) if is_prime(q)]
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    >>> is_prime(2**61 - 1), is_prime(2**61 + 1)
    (True, False)
    """
    if n < 2:
        return False
    for p in _SMALL_PRIMES[:25]:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _rho(n: int, c: int, budget: int) -> tuple[int | None, int]:
    """One Pollard–Brent run with constant ``c``: a nontrivial factor of ``n`` (or None) and the work used."""
    y, r, q, g, used = 2, 1, 1, 1, 0
    x = ys = y
    while g == 1:
        x = y
        for _ in range(r):
            y = (y * y + c) % n
        k = 0
        while k < r and g == 1:
            ys = y
            for _ in range(min(128, r - k)):
                y = (y * y + c) % n
                q = q * abs(x - y) % n
            g = math.gcd(q, n)
            k += 128
            used += 128
            if used > budget:
                return None, used
        r *= 2
    if g == n:  # the batched gcd overshot: step back one at a time
        g = 1
        while g == 1:
            ys = (ys * ys + c) % n
            g = math.gcd(abs(x - ys), n)
    return (g if g != n else None), used


@lru_cache(maxsize=1024)
def factorize(n: int) -> tuple[tuple[int, int], ...]:
    """Return the prime factorization ``((p, e), ...)`` of ``n >= 1``, primes increasing.

    Raises :class:`FactorizationLimit` when a composite part has no factor within
    reach of :data:`RHO_BUDGET` Pollard-rho steps (numbers below about ``10**20``
    always factor; larger ones when they have a factor below about ``10**10``).

    Examples
    --------
    >>> factorize(360)
    ((2, 3), (3, 2), (5, 1))
    >>> factorize(2 * 10**18 + 1)
    ((3, 1), (261382937, 1), (2550536291, 1))
    """
    if n < 1:
        raise ValueError(f"only integers >= 1 are factored; got {n}.")
    out: dict[int, int] = {}
    for p in _SMALL_PRIMES:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        if p * p > n:
            break
    stack, budget = ([n] if n > 1 else []), RHO_BUDGET
    while stack:
        m = stack.pop()
        if is_prime(m):
            out[m] = out.get(m, 0) + 1
            continue
        root = math.isqrt(m)
        if root * root == m:
            stack += [root, root]
            continue
        factor = None
        for c in range(1, 20):
            factor, used = _rho(m, c, budget)
            budget -= used
            if factor is not None or budget <= 0:
                break
        if factor is None:
            raise FactorizationLimit(f"a factor of {m} is out of reach")
        stack += [factor, m // factor]
    return tuple(sorted(out.items()))


def divisor_count(n: int) -> int:
    """Return the number of divisors of ``n`` (from its factorization)."""
    return math.prod(e + 1 for _, e in factorize(n))


def divisors(n: int) -> list[int]:
    """All divisors of ``n``, increasing (from its factorization; mind :func:`divisor_count` first).

    Examples
    --------
    >>> divisors(100)
    [1, 2, 4, 5, 10, 20, 25, 50, 100]
    """
    out = [1]
    for p, e in factorize(n):
        out = [d * p**k for d in out for k in range(e + 1)]
    return sorted(out)


def is_sum_of_two_squares(n: int) -> bool:
    """Whether ``n >= 0`` is ``a² + b²``: every prime ``≡ 3 (mod 4)`` divides it an even number of times.

    Examples
    --------
    >>> [m for m in range(20) if is_sum_of_two_squares(m)]
    [0, 1, 2, 4, 5, 8, 9, 10, 13, 16, 17, 18]
    """
    if n == 0:
        return True
    return all(e % 2 == 0 for p, e in factorize(n) if p % 4 == 3)
