"""Real equiangular tight frames, Hadamard matrices and mutually unbiased bases.

The machinery behind :func:`packing.equiangular_tight_frame` and friends
: Sylvester and Paley Hadamard
matrices, Paley conference matrices, Seidel matrices of strongly regular
graphs (Petersen, Latin-square graphs), Steiner ETFs (Fickus, Mixon & Tremain
2012), Naimark complements, the existence test, and Kerdock-set phases for
real mutually unbiased bases.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np

from .._integers import FactorizationLimit, is_prime, is_sum_of_two_squares
from .._validation import check_int, check_memory, show_int
from .polytopes import _unit, equiangular_lines_28, icosahedron_lines, regular_simplex

__all__ = [
    "hadamard_matrix",
    "equiangular_tight_frame",
    "etf_sizes",
    "etf_exists",
    "mutually_unbiased_bases",
]

# --------------------------------------------------------------------------- Hadamard


#: Hadamard matrices up to this order are kept for the session (larger ones are rebuilt: memory).
_CACHE_ORDER = 1024


def _legendre(q: int) -> np.ndarray:
    """Quadratic character of GF(q), q an odd prime: chi[x] for x = 0..q-1."""
    chi = -np.ones(q, dtype=np.int64)
    chi[0] = 0
    chi[np.unique(np.arange(1, q) ** 2 % q)] = 1
    return chi


def _jacobsthal(q: int) -> np.ndarray:
    chi = _legendre(q)
    x = np.arange(q)
    return chi[(x[None, :] - x[:, None]) % q]


def _hadamard(m: int) -> np.ndarray | None:
    return _hadamard_cached(m) if m <= _CACHE_ORDER else _hadamard_built(m)


@cache
def _hadamard_cached(m: int) -> np.ndarray | None:
    H = _hadamard_built(m)
    if H is not None:
        H.setflags(write=False)
    return H


def _hadamard_built(m: int) -> np.ndarray | None:
    if m == 1:
        return np.ones((1, 1), dtype=np.int64)
    if m == 2:
        return np.array([[1, 1], [1, -1]], dtype=np.int64)
    if m % 4:
        return None
    if m & (m - 1) == 0:  # Sylvester: H[a, x] = (-1)^(a . x)
        half = _hadamard(m // 2)
        return np.block([[half, half], [half, -half]])
    q = m - 1
    if is_prime(q) and q % 4 == 3:  # Paley I
        Q = _jacobsthal(q)
        S = np.zeros((m, m), dtype=np.int64)
        S[0, 1:], S[1:, 0], S[1:, 1:] = 1, -1, Q
        return S + np.eye(m, dtype=np.int64)
    q = m // 2 - 1
    if is_prime(q) and q % 4 == 1:  # Paley II
        C = _conference(q)
        return np.kron(C, [[1, 1], [1, -1]]) + np.kron(np.eye(q + 1, dtype=np.int64), [[1, -1], [-1, -1]])
    half = _hadamard(m // 2)
    if half is not None:  # Sylvester doubling
        return np.block([[half, half], [half, -half]])
    return None


def hadamard_matrix(m: int) -> np.ndarray:
    """Return a real Hadamard matrix of order ``m``: entries ``±1`` and ``H Hᵀ = m I``.

    Built by Sylvester doubling from Paley I (``m - 1`` a prime ``≡ 3 mod 4``)
    and Paley II (``m/2 - 1`` a prime ``≡ 1 mod 4``) matrices. Hadamard
    matrices exist only for ``m = 1, 2`` and multiples of 4.

    Parameters
    ----------
    m : int
        Order, ``>= 1``.

    Returns
    -------
    ndarray of shape (m, m), integer entries ±1

    Examples
    --------
    >>> H = hadamard_matrix(12)
    >>> bool((H @ H.T == 12 * np.eye(12)).all())
    True
    >>> hadamard_matrix(6)
    Traceback (most recent call last):
    ...
    ValueError: m must be 1, 2 or a multiple of 4 for a Hadamard matrix to exist; got 6.
    """
    m = check_int(m, "m", minimum=1)
    if m > 2 and m % 4:
        raise ValueError(
            f"m must be 1, 2 or a multiple of 4 for a Hadamard matrix to exist; got {show_int(m)}."
        )
    check_memory(32 * m * m, "hadamard_matrix", "the m x m matrix and its building blocks", m=m)
    H = _hadamard(m)
    if H is None:
        raise ValueError(
            f"m={m}: no Sylvester/Paley construction of a Hadamard matrix of this order is "
            f"implemented here (the Hadamard conjecture says one exists)."
        )
    return H.copy()


# --------------------------------------------------------------------------- ETFs


def _conference(q: int) -> np.ndarray:
    """Symmetric Paley conference matrix of order q + 1 (q prime, q = 1 mod 4)."""
    C = np.zeros((q + 1, q + 1), dtype=np.int64)
    C[0, 1:] = C[1:, 0] = 1
    C[1:, 1:] = _jacobsthal(q)
    return C


def _etf_from_seidel(S: np.ndarray) -> np.ndarray:
    """Unit-norm ETF whose Gram matrix is ``I - S / λ_min`` (S a two-eigenvalue Seidel matrix)."""
    vals, vecs = np.linalg.eigh(S.astype(np.float64))
    lam = vals[0]
    G_vals = 1.0 - vals / lam
    keep = G_vals > 1e-9
    return _unit(vecs[:, keep] * np.sqrt(G_vals[keep]))


def _seidel_from_graph(A: np.ndarray) -> np.ndarray:
    n = A.shape[0]
    return np.ones((n, n), dtype=np.int64) - np.eye(n, dtype=np.int64) - 2 * A


def _petersen_adjacency() -> np.ndarray:
    pairs = list(itertools.combinations(range(5), 2))
    return np.array([[int(not set(a) & set(b)) for b in pairs] for a in pairs])


def _latin_square_graph(m: int) -> np.ndarray:
    """L_3(m): cells of the cyclic Latin square, adjacent when sharing row, column or symbol."""
    i, j = np.divmod(np.arange(m * m), m)
    s = (i + j) % m
    A = (i[:, None] == i) | (j[:, None] == j) | (s[:, None] == s)
    return (A & ~np.eye(m * m, dtype=bool)).astype(np.int64)


def _steiner_etf(blocks: list[tuple[int, ...]], v: int) -> np.ndarray:
    """Steiner ETF (Fickus–Mixon–Tremain): a 2-(v, k, 1) design and a Hadamard matrix of order r + 1."""
    r = sum(1 for b in blocks if 0 in b)
    H = _hadamard(r + 1)
    H = H * H[0]  # make the first row all ones
    H = H[1:]  # r x (r + 1), columns pairwise inner product -1
    W = np.zeros((v * (r + 1), len(blocks)))
    for point in range(v):
        containing = [c for c, b in enumerate(blocks) if point in b]
        W[point * (r + 1) : (point + 1) * (r + 1), containing] = H.T
    return _unit(W)


def _steiner_systems(limit: int):
    """Yield (n, d, builder) for small Steiner ETFs up to n <= limit."""
    v = 2
    while v * v <= limit:  # 2-(v, 2, 1): all pairs, needs a Hadamard matrix of order v
        if _hadamard(v) is not None and v >= 3:
            blocks = list(itertools.combinations(range(v), 2))
            yield v * v, len(blocks), (lambda b=blocks, v=v: _steiner_etf(b, v))
        v += 1
    m = 3
    while (2**m - 1) * 2 ** (m - 1) <= limit:  # lines of PG(m-1, 2): Steiner triple systems
        v = 2**m - 1
        pts = range(1, v + 1)
        blocks = sorted({tuple(sorted((a - 1, b - 1, (a ^ b) - 1))) for a in pts for b in pts if a != b})
        yield v * 2 ** (m - 1), len(blocks), (lambda b=blocks, v=v: _steiner_etf(b, v))
        m += 1


#: Largest n for which etf_sizes() enumerates constructions.
_ETF_LIMIT = 1024


@lru_cache(maxsize=1)
def _direct_etfs() -> dict[tuple[int, int], Callable[[], np.ndarray]]:
    table: dict[tuple[int, int], Callable[[], np.ndarray]] = {}
    for q in range(5, _ETF_LIMIT):
        if is_prime(q) and q % 4 == 1:
            table[(q + 1, (q + 1) // 2)] = lambda q=q: _etf_from_seidel(_conference(q))
    table[(10, 5)] = lambda: _etf_from_seidel(_seidel_from_graph(_petersen_adjacency()))
    table[(36, 21)] = lambda: _etf_from_seidel(_seidel_from_graph(_latin_square_graph(6)))
    table[(28, 7)] = equiangular_lines_28
    table[(6, 3)] = icosahedron_lines
    for n, d, build in _steiner_systems(_ETF_LIMIT):
        table.setdefault((n, d), build)
    return table


def _etf_builder(n: int, d: int):
    if d == n or d == 1:
        return lambda: np.eye(n) if d == n else np.ones((n, 1))
    if n == d + 1:
        return lambda: regular_simplex(n)
    table = _direct_etfs()
    if (n, d) in table:
        return table[(n, d)]
    if (n, n - d) in table:
        inner = table[(n, n - d)]
        return lambda: _naimark_complement(inner())
    return None


def _naimark_complement(W: np.ndarray) -> np.ndarray:
    """Unit-norm tight frame of n vectors in R^(n-d) whose Gram is the complement of W's."""
    n, d = W.shape
    P = (W @ W.T) * (d / n)  # orthogonal projection of rank d
    vals, vecs = np.linalg.eigh(np.eye(n) - P)
    keep = vals > 0.5
    return _unit(vecs[:, keep])


def etf_exists(n: int, d: int) -> tuple[bool | None, str]:
    """Say whether a real equiangular tight frame of ``n`` vectors in ``R^d`` exists.

    Returns ``(True, reason)`` when it is constructible here, ``(False, reason)``
    when a necessary condition fails, and ``(None, reason)`` when neither is
    settled here. Necessary conditions used (for ``1 < d < n - 1``): Gerzon's
    bound ``n <= d (d+1)/2`` for the frame and for its Naimark complement; if
    ``n != 2d``, both ``sqrt(d (n-1)/(n-d))`` and ``sqrt((n-d)(n-1)/d)`` are odd
    integers (Sustik, Tropp, Dhillon & Heath 2007); if ``n = 2d``,
    ``n ≡ 2 (mod 4)`` and ``n - 1`` is a sum of two squares (conference matrices).

    Examples
    --------
    >>> etf_exists(16, 6)
    (True, 'constructible')
    >>> etf_exists(8, 3)[0], etf_exists(8, 3)[1][:40]
    (False, "Gerzon's bound: n <= d(d+1)/2 = 6 fails")
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _etf_exists(n, d)


def _etf_exists(n: int, d: int) -> tuple[bool | None, str]:
    if d > n:
        return False, f"an ETF needs d <= n; got d={show_int(d)} > n={show_int(n)}"
    if _etf_builder(n, d) is not None:
        return True, "constructible"
    for dd, what in ((d, "d"), (n - d, "n - d")):
        if n > dd * (dd + 1) // 2:
            suffix = "" if what == "d" else " for the Naimark complement"
            g = show_int(dd * (dd + 1) // 2)
            return False, f"Gerzon's bound: n <= {what}({what}+1)/2 = {g} fails{suffix}"
    if n == 2 * d:
        if n % 4 != 2:
            return False, "n = 2d needs a symmetric conference matrix, so n = 2 (mod 4)"
        try:
            two_squares = is_sum_of_two_squares(n - 1)
        except FactorizationLimit:
            return None, "n = 2 (mod 4) holds; whether n - 1 is a sum of two squares is out of reach here"
        if not two_squares:
            return False, "n = 2d needs n - 1 to be a sum of two squares"
    else:
        for num, den, text in ((d * (n - 1), n - d, "d(n-1)/(n-d)"), ((n - d) * (n - 1), d, "(n-d)(n-1)/d")):
            if num % den or math.isqrt(num // den) ** 2 != num // den or math.isqrt(num // den) % 2 == 0:
                value = show_int(num // den) if num % den == 0 else f"{num / den:g}"
                return False, f"{text} = {value} is not the square of an odd integer"
    return None, "passes the known necessary conditions but is not constructible here"


def etf_sizes(max_n: int = 64) -> list[tuple[int, int]]:
    """Return the ``(n, d)`` with ``2 <= d <= n - 2``, ``n <= max_n``, of the real ETFs built here.

    (``d = 1``, ``d = n - 1`` (simplex) and ``d = n`` are always available too.)

    Examples
    --------
    >>> etf_sizes(16)
    [(6, 3), (10, 5), (14, 7), (16, 6), (16, 10)]
    """
    max_n = check_int(max_n, "max_n", minimum=1)
    return [(n, d) for n, d in _etf_size_list() if n <= max_n]


@lru_cache(maxsize=1)
def _etf_size_list() -> tuple[tuple[int, int], ...]:
    """Every ``(n, d)``, ``2 <= d <= n - 2``, ``n <= 1024``, with a construction here."""
    return tuple((n, d) for n in range(4, _ETF_LIMIT + 1) for d in range(2, n - 1) if _etf_builder(n, d))


def equiangular_tight_frame(n: int, d: int) -> np.ndarray:
    """Return a real equiangular tight frame: ``n`` unit vectors in ``R^d`` meeting the Welch bound.

    All pairwise ``|cos|`` equal ``sqrt((n - d) / (d (n - 1)))`` and
    ``Wᵀ W = (n/d) I``. Built exactly (up to float rounding) from:

    * ``d = n`` (orthonormal basis), ``d = n - 1`` (regular simplex), ``d = 1``;
    * Paley conference matrices: ``(q + 1, (q + 1)/2)`` for primes ``q ≡ 1 mod 4``
      (6/3, 14/7, 18/9, 30/15, ...);
    * strongly regular graphs: Petersen (10/5) and the Latin-square graph
      ``L_3(6)`` (36/21);
    * Steiner ETFs (Fickus, Mixon & Tremain 2012) from the complete graph ``K_v``
      with a Hadamard matrix of order ``v`` (16/6, 64/28, 144/66, ...) and from
      the Steiner triple systems of ``PG(m-1, 2)`` (28/7, 120/35, 496/155);
    * Naimark complements of all of these (``(n, n - d)``: 16/10, 36/15, ...).

    Parameters
    ----------
    n, d : int
        Number of vectors and dimension, ``1 <= d <= n``.

    Returns
    -------
    ndarray of shape (n, d)

    Raises
    ------
    ValueError
        If the ETF is known not to exist (the reason is given) or is not
        constructible here (nearby constructible sizes are listed).

    Examples
    --------
    >>> F = equiangular_tight_frame(16, 6)
    >>> np.unique(np.round(np.abs(F @ F.T), 9)), np.allclose(F.T @ F, 16 / 6 * np.eye(6))
    (array([0.33333333, 1.        ]), True)
    >>> equiangular_tight_frame(8, 3)
    Traceback (most recent call last):
    ...
    ValueError: no real equiangular tight frame of n=8 vectors in d=3 dimensions exists (Gerzon's bound: ...
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    build = _etf_builder(n, d) if d <= n else None
    if build is not None:
        check_memory(32 * n * n, "equiangular_tight_frame", "the frame and its n x n Gram matrix", n=n, d=d)
        return np.ascontiguousarray(build(), dtype=np.float64)
    known, reason = _etf_exists(n, d)
    same_d = [d + 1] + [s[0] for s in _etf_size_list() if s[1] == d and s[0] <= 4 * n]
    hint = f" Constructible with d={show_int(d)}: n in {same_d}."
    what = f"n={show_int(n)} vectors in d={show_int(d)} dimensions"
    if known is False:
        raise ValueError(f"no real equiangular tight frame of {what} exists ({reason}).{hint}")
    raise ValueError(f"a real ETF of {what} {reason}.{hint}")


# --------------------------------------------------------------------------- mutually unbiased bases


def _mub_phases(d: int, m: int) -> list[np.ndarray] | None:
    """±1 diagonal phases D_j with D_j H / sqrt(d) mutually unbiased (Kerdock sets), d in {4, 16}."""
    k = int(round(math.log2(d)))
    if 2**k != d or k % 2 or k > 4:
        return None
    x = np.array(list(itertools.product([0, 1], repeat=k)))
    pairs = list(itertools.combinations(range(k), 2))
    mats = []
    for bits in itertools.product([0, 1], repeat=len(pairs)):
        A = np.zeros((k, k), dtype=np.int64)
        for bit, (a, b) in zip(bits, pairs, strict=True):
            A[a, b] = A[b, a] = bit
        mats.append(A)

    def nonsingular(A):  # over GF(2)
        A = A.copy() % 2
        rank = 0
        for col in range(k):
            piv = next((r for r in range(rank, k) if A[r, col]), None)
            if piv is None:
                continue
            A[[rank, piv]] = A[[piv, rank]]
            for r in range(k):
                if r != rank and A[r, col]:
                    A[r] ^= A[rank]
            rank += 1
        return rank == k

    chosen: list[np.ndarray] = []

    def extend(start):
        if len(chosen) == m:
            return True
        for idx in range(start, len(mats)):
            if all(nonsingular(mats[idx] ^ C) for C in chosen):
                chosen.append(mats[idx])
                if extend(idx + 1):
                    return True
                chosen.pop()
        return False

    if not extend(0):
        return None
    upper = [np.triu(A, 1) for A in chosen]
    return [(-1.0) ** (np.einsum("xi,ij,xj->x", x, U, x) % 2) for U in upper]


def mutually_unbiased_bases(d: int, m: int) -> np.ndarray:
    """Return ``m`` real mutually unbiased orthonormal bases of ``R^d``, stacked: shape ``(m d, d)``.

    Vectors within a basis are orthogonal; vectors from different bases have
    ``|cos| = 1/sqrt(d)``. Basis 0 is the standard basis, basis 1 the rows of a
    normalized Hadamard matrix ``H/sqrt(d)``; for ``d = 4`` and ``16`` more bases
    ``D_j H / sqrt(d)`` use ``±1`` diagonals ``(-1)^{Q_j(x)}`` from quadratic forms
    whose pairwise differences are non-degenerate (a Kerdock set), up to the
    maximum ``d/2 + 1``.

    Parameters
    ----------
    d : int
        Dimension.
    m : int
        Number of bases, ``>= 1``.

    Returns
    -------
    ndarray of shape (m * d, d)

    Raises
    ------
    ValueError
        ``m >= 2`` needs a real Hadamard matrix of order ``d`` (``d = 1, 2`` or a
        multiple of 4); ``m > d/2 + 1`` is impossible for real bases; ``m >= 3``
        is built here only for ``d = 4, 16``.

    Examples
    --------
    >>> B = mutually_unbiased_bases(4, 3)
    >>> np.unique(np.round(np.abs(B @ B.T), 6))
    array([0. , 0.5, 1. ])
    >>> mutually_unbiased_bases(6, 2)
    Traceback (most recent call last):
    ...
    ValueError: m=2 real mutually unbiased bases of R^6 need a real Hadamard matrix of order d=6, ...
    """
    d = check_int(d, "d", minimum=1)
    m = check_int(m, "m", minimum=1)
    if m > 1 and m > d // 2 + 1:
        raise ValueError(f"m must be <= d/2 + 1 = {d // 2 + 1} for real unbiased bases of R^{d}; got {m}.")
    check_memory(8 * d * d * (m + 4), "mutually_unbiased_bases", "the (m d, d) array", d=d, m=m)
    if m == 1:
        return np.eye(d)
    if d > 2 and d % 4:
        raise ValueError(
            f"m={m} real mutually unbiased bases of R^{d} need a real Hadamard matrix of order "
            f"d={d}, which exists only for d = 1, 2 or a multiple of 4."
        )
    limit = d // 2 + 1
    if m > limit:
        raise ValueError(f"m must be <= d/2 + 1 = {limit} for real unbiased bases of R^{d}; got {m}.")
    H = hadamard_matrix(d) / math.sqrt(d)
    if m == 2:
        return np.vstack([np.eye(d), H])
    phases = _mub_phases(d, m - 1)
    if phases is None:
        raise ValueError(
            f"m={m} > 2 real mutually unbiased bases are built here only for d = 4 and 16 "
            f"(they exist up to d/2 + 1 for d a power of 4); got d={d}. Use m <= 2."
        )
    return np.vstack([np.eye(d)] + [H * ph[None, :] for ph in phases])
