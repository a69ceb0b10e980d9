"""Exact and random constructions of packings ``W`` of shape ``(n, d)``.

Every function returns a float64 array with one unit-norm row per feature.

* Small polytopes and optimal line packings: :func:`regular_polygon_lines`,
  :func:`regular_polygon`, :func:`antipodal_pair` (:func:`digon`),
  :func:`regular_simplex`, :func:`cross_polytope`, :func:`orthonormal_basis`,
  :func:`square_antiprism`, :func:`icosahedron_lines`,
  :func:`equiangular_lines_28`.
* Real equiangular tight frames, built exactly from conference matrices
  (Paley), strongly regular graphs (Petersen, Latin-square graphs), Steiner
  systems with Hadamard matrices (Fickus, Mixon & Tremain 2012) and Naimark
  complements: :func:`equiangular_tight_frame`, :func:`etf_sizes`,
  :func:`hadamard_matrix`.
* Direct sums: :func:`tegum_product`, :func:`partition_sizes`,
  :func:`tegum_packing`.
* Overlapping orthonormal bases: :func:`overlapping_orthogonal_sets`,
  :func:`mutually_unbiased_bases`; and :func:`random_packing`.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np

from ._validation import _describe, check_int, check_packing, check_rng

__all__ = [
    "regular_polygon_lines",
    "regular_polygon",
    "antipodal_pair",
    "digon",
    "regular_simplex",
    "cross_polytope",
    "orthonormal_basis",
    "square_antiprism",
    "icosahedron_lines",
    "equiangular_lines_28",
    "hadamard_matrix",
    "equiangular_tight_frame",
    "etf_sizes",
    "etf_exists",
    "tegum_product",
    "partition_sizes",
    "tegum_packing",
    "overlapping_orthogonal_sets",
    "mutually_unbiased_bases",
    "random_packing",
    "haar_rotation",
    "best_known_block",
]


def _unit(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    return W / np.linalg.norm(W, axis=1, keepdims=True)


# --------------------------------------------------------------------------- polytopes


def _circle(t: np.ndarray) -> np.ndarray:
    """Return points at angles ``t``, with the exact zeros of cos and sin snapped to 0."""
    W = np.c_[np.cos(t), np.sin(t)]
    W[np.abs(W) < 1e-15] = 0.0
    return W


def regular_polygon_lines(m: int) -> np.ndarray:
    """Return ``m`` lines in ``R^2`` at successive angles ``π/m`` (optimal line packing).

    Row ``k`` is ``(cos(πk/m), sin(πk/m))``; the coherence is ``cos(π/m)``.

    Parameters
    ----------
    m : int
        Number of lines, ``>= 1``.

    Returns
    -------
    ndarray of shape (m, 2)

    Examples
    --------
    >>> np.round(regular_polygon_lines(4), 3)
    array([[ 1.   ,  0.   ],
           [ 0.707,  0.707],
           [ 0.   ,  1.   ],
           [-0.707,  0.707]])
    >>> regular_polygon_lines(0)
    Traceback (most recent call last):
    ...
    ValueError: m must be >= 1; got 0.
    """
    m = check_int(m, "m", minimum=1)
    return _circle(np.pi * np.arange(m) / m)


def regular_polygon(m: int) -> np.ndarray:
    """Return the ``m`` vertices of the regular ``m``-gon on the unit circle.

    Row ``k`` is ``(cos(2πk/m), sin(2πk/m))``. For even ``m`` opposite vertices
    are antipodal (the same line), so as a *line* packing prefer
    :func:`regular_polygon_lines`.

    Parameters
    ----------
    m : int
        Number of points, ``>= 1``.

    Returns
    -------
    ndarray of shape (m, 2)

    Examples
    --------
    >>> np.round(regular_polygon(3) @ regular_polygon(3).T, 3)
    array([[ 1. , -0.5, -0.5],
           [-0.5,  1. , -0.5],
           [-0.5, -0.5,  1. ]])
    >>> regular_polygon(2.0)
    Traceback (most recent call last):
    ...
    TypeError: m must be an integer; got float 2.0. Pass int(2.0).
    """
    m = check_int(m, "m", minimum=1)
    return _circle(2 * np.pi * np.arange(m) / m)


def antipodal_pair() -> np.ndarray:
    """Return the digon ``[[1], [-1]]``: two features sharing one dimension with opposite signs.

    Returns
    -------
    ndarray of shape (2, 1)

    Examples
    --------
    >>> antipodal_pair()
    array([[ 1.],
           [-1.]])
    >>> digon().shape
    (2, 1)
    """
    return np.array([[1.0], [-1.0]])


digon = antipodal_pair


def _helmert(m: int) -> np.ndarray:
    """Orthonormal basis of the sum-zero subspace of ``R^m``, shape ``(m, m - 1)``."""
    H = np.zeros((m, m - 1))
    for k in range(1, m):
        H[:k, k - 1] = 1.0
        H[k, k - 1] = -k
        H[:, k - 1] /= math.sqrt(k * (k + 1))
    return H


def regular_simplex(m: int) -> np.ndarray:
    """Return the ``m`` vertices of the regular simplex in ``R^(m-1)``.

    All pairwise cosines equal ``-1/(m-1)``: the optimal packing of ``m = d + 1``
    lines in ``R^d`` (an equiangular tight frame).

    Parameters
    ----------
    m : int
        Number of vertices, ``>= 2``.

    Returns
    -------
    ndarray of shape (m, m - 1)

    Examples
    --------
    >>> S = regular_simplex(4)
    >>> S.shape, np.round(S @ S.T, 6)[0]
    ((4, 3), array([ 1.      , -0.333333, -0.333333, -0.333333]))
    >>> regular_simplex(1)
    Traceback (most recent call last):
    ...
    ValueError: m must be >= 2; got 1.
    """
    m = check_int(m, "m", minimum=2)
    centered = np.eye(m) - 1.0 / m
    return _unit(centered @ _helmert(m))


def cross_polytope(d: int) -> np.ndarray:
    """Return the ``2d`` vertices ``±e_i`` of the cross-polytope (orthoplex) in ``R^d``.

    Row ``2i`` is ``e_i`` and row ``2i+1`` is ``-e_i``: ``d`` antipodal pairs
    in mutually orthogonal directions.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.

    Returns
    -------
    ndarray of shape (2 d, d)

    Examples
    --------
    >>> cross_polytope(2)
    array([[ 1.,  0.],
           [-1., -0.],
           [ 0.,  1.],
           [-0., -1.]])
    >>> cross_polytope(-1)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got -1.
    """
    d = check_int(d, "d", minimum=1)
    return np.repeat(np.eye(d), 2, axis=0) * np.tile([1.0, -1.0], d)[:, None]


def orthonormal_basis(d: int) -> np.ndarray:
    """Return the standard basis of ``R^d`` (the identity): ``d`` mutually orthogonal features.

    Examples
    --------
    >>> orthonormal_basis(2)
    array([[1., 0.],
           [0., 1.]])
    >>> orthonormal_basis(0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    d = check_int(d, "d", minimum=1)
    return np.eye(d)


#: Squared radius of the equal-edge square antiprism inscribed in the unit sphere.
_ANTIPRISM_R2 = 1.0 / (1.0 + math.sqrt(2.0) / 4.0)


def square_antiprism() -> np.ndarray:
    """Return the 8 vertices of the equal-edge square antiprism on the unit sphere.

    Two squares at heights ``±h``, the lower one turned by 45°, with
    ``h² = r² √2 / 4`` and ``r² + h² = 1`` so that all 16 edges are equal:
    the solution of the Tammes problem for 8 points (minimal angle ≈ 74.86°).

    Returns
    -------
    ndarray of shape (8, 3)

    Examples
    --------
    >>> A = square_antiprism()
    >>> G = A @ A.T
    >>> round(float(np.degrees(np.arccos(G[~np.eye(8, dtype=bool)].max()))), 2)
    74.86
    """
    r = math.sqrt(_ANTIPRISM_R2)
    h = math.sqrt(1.0 - _ANTIPRISM_R2)
    t = np.pi / 2 * np.arange(4)
    top = np.c_[r * np.cos(t), r * np.sin(t), np.full(4, h)]
    bottom = np.c_[r * np.cos(t + np.pi / 4), r * np.sin(t + np.pi / 4), np.full(4, -h)]
    return np.vstack([top, bottom])


def icosahedron_lines() -> np.ndarray:
    """Return the 6 diagonals of the icosahedron: 6 equiangular lines in ``R^3``, ``|cos| = 1/√5``.

    The rows are the cyclic permutations of ``(0, 1, ±φ)`` (``φ`` the golden
    ratio), normalized; the optimal packing of 6 lines in ``R^3``.

    Returns
    -------
    ndarray of shape (6, 3)

    Examples
    --------
    >>> L = icosahedron_lines()
    >>> np.unique(np.round(np.abs(L @ L.T), 6))
    array([0.447214, 1.      ])
    """
    phi = (1 + math.sqrt(5)) / 2
    base = np.array([[0, 1, phi], [0, 1, -phi]])
    rows = [np.roll(base, s, axis=1) for s in range(3)]
    return _unit(np.vstack(rows))


def equiangular_lines_28() -> np.ndarray:
    """Return the 28 equiangular lines in ``R^7`` (``|cos| = 1/3``), the Gerzon maximum.

    The rows are the 28 vectors of ``R^8`` with two entries ``3`` and six
    entries ``-1``, which lie in the hyperplane orthogonal to ``(1, ..., 1)``,
    written in an orthonormal basis of that hyperplane.

    Returns
    -------
    ndarray of shape (28, 7)

    Examples
    --------
    >>> E = equiangular_lines_28()
    >>> E.shape, np.unique(np.round(np.abs(E @ E.T), 9))
    ((28, 7), array([0.33333333, 1.        ]))
    """
    rows = []
    for a, b in itertools.combinations(range(8), 2):
        v = -np.ones(8)
        v[[a, b]] = 3.0
        rows.append(v)
    return _unit(np.array(rows) @ _helmert(8))


# --------------------------------------------------------------------------- Hadamard


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % f for f in range(2, math.isqrt(q) + 1))


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


@cache
def _hadamard(m: int) -> np.ndarray | None:
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
    if _is_prime(q) and q % 4 == 3:  # Paley I
        Q = _jacobsthal(q)
        S = np.zeros((m, m), dtype=np.int64)
        S[0, 1:], S[1:, 0], S[1:, 1:] = 1, -1, Q
        return S + np.eye(m, dtype=np.int64)
    q = m // 2 - 1
    if _is_prime(q) and q % 4 == 1:  # Paley II
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
        raise ValueError(f"m must be 1, 2 or a multiple of 4 for a Hadamard matrix to exist; got {m}.")
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
        if _is_prime(q) and q % 4 == 1:
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
    if d > n:
        return False, f"an ETF needs d <= n; got d={d} > n={n}"
    if _etf_builder(n, d) is not None:
        return True, "constructible"
    for dd, what in ((d, "d"), (n - d, "n - d")):
        if n > dd * (dd + 1) // 2:
            suffix = "" if what == "d" else " for the Naimark complement"
            return False, f"Gerzon's bound: n <= {what}({what}+1)/2 = {dd * (dd + 1) // 2} fails{suffix}"
    if n == 2 * d:
        if n % 4 != 2:
            return False, "n = 2d needs a symmetric conference matrix, so n = 2 (mod 4)"
        if not any(math.isqrt(n - 1 - a * a) ** 2 == n - 1 - a * a for a in range(math.isqrt(n - 1) + 1)):
            return False, "n = 2d needs n - 1 to be a sum of two squares"
    else:
        for num, den, text in ((d * (n - 1), n - d, "d(n-1)/(n-d)"), ((n - d) * (n - 1), d, "(n-d)(n-1)/d")):
            if num % den or math.isqrt(num // den) ** 2 != num // den or math.isqrt(num // den) % 2 == 0:
                return False, f"{text} = {num / den:g} is not the square of an odd integer"
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
    top = min(max_n, _ETF_LIMIT)
    return [(n, d) for n in range(4, top + 1) for d in range(2, n - 1) if _etf_builder(n, d)]


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
        return np.ascontiguousarray(build(), dtype=np.float64)
    known, reason = etf_exists(n, d)
    same_d = [d + 1] + [s[0] for s in etf_sizes(min(4 * n, _ETF_LIMIT)) if s[1] == d]
    hint = f" Constructible with d={d}: n in {same_d}."
    if known is False:
        raise ValueError(
            f"no real equiangular tight frame of n={n} vectors in d={d} dimensions exists ({reason})."
            + hint
        )
    raise ValueError(f"a real ETF of n={n} vectors in d={d} dimensions {reason}.{hint}")


# --------------------------------------------------------------------------- tegum products


def haar_rotation(d: int, *, rng=None) -> np.ndarray:
    """Return a Haar-random ``d x d`` orthogonal matrix (QR with sign correction).

    Examples
    --------
    >>> Q = haar_rotation(3, rng=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(3)))
    True
    >>> haar_rotation(3, rng="x")
    Traceback (most recent call last):
    ...
    TypeError: rng must be None, a non-negative int seed or a numpy.random.Generator ...
    """
    d = check_int(d, "d", minimum=1)
    rng = check_rng(rng)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def tegum_product(*blocks, rotate: bool = False, rng=None, return_labels: bool = False):
    """Return the tegum product (direct sum) of packings: block-diagonal placement.

    Block ``b`` of shape ``(n_b, d_b)`` occupies its own rows and its own
    ``d_b`` coordinates, so every pair of features from different blocks is
    exactly orthogonal. Rows are kept as given (not renormalized).

    Parameters
    ----------
    *blocks : array_like of shape (n_b, d_b)
        The factors, at least one.
    rotate : bool
        Apply one Haar-random rotation of ``R^d`` afterwards (needs ``rng`` for
        reproducibility); cosines are unchanged.
    rng : None, int or numpy.random.Generator
        Randomness for ``rotate``.
    return_labels : bool
        Also return the block index of every row.

    Returns
    -------
    W : ndarray of shape (Σ n_b, Σ d_b)
    labels : ndarray of int, shape (Σ n_b,)
        Only if ``return_labels``.

    Examples
    --------
    >>> W, labels = tegum_product(antipodal_pair(), regular_polygon_lines(3), return_labels=True)
    >>> W.shape, labels.tolist()
    ((5, 3), [0, 0, 1, 1, 1])
    >>> tegum_product()
    Traceback (most recent call last):
    ...
    ValueError: blocks must hold at least one packing; got none.
    """
    if not blocks:
        raise ValueError("blocks must hold at least one packing; got none.")
    arrays = [check_packing(B, f"blocks[{i}]", dtype=np.float64) for i, B in enumerate(blocks)]
    n = sum(B.shape[0] for B in arrays)
    d = sum(B.shape[1] for B in arrays)
    W = np.zeros((n, d))
    labels = np.empty(n, dtype=np.int64)
    r = c = 0
    for b, B in enumerate(arrays):
        W[r : r + B.shape[0], c : c + B.shape[1]] = B
        labels[r : r + B.shape[0]] = b
        r, c = r + B.shape[0], c + B.shape[1]
    if rotate:
        W = W @ haar_rotation(d, rng=rng)
    return (W, labels) if return_labels else W


def partition_sizes(n: int, d: int, k: int) -> list[tuple[int, int]]:
    """Split ``n`` features and ``d`` dimensions into ``k`` near-equal blocks ``(n_b, d_b)``.

    Feature counts differ by at most one, as do dimension counts; the blocks
    with an extra feature get an extra dimension first (largest with largest).

    Parameters
    ----------
    n, d : int
        Features and dimensions.
    k : int
        Number of blocks, ``1 <= k <= min(n, d)``.

    Returns
    -------
    list of (int, int)

    Examples
    --------
    >>> partition_sizes(10, 4, 3)
    [(4, 2), (3, 1), (3, 1)]
    >>> partition_sizes(10, 4, 5)
    Traceback (most recent call last):
    ...
    ValueError: k must be <= min(n, d) = 4 so every block has a feature and a dimension; got k=5.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    k = check_int(k, "k", minimum=1)
    if k > min(n, d):
        raise ValueError(
            f"k must be <= min(n, d) = {min(n, d)} so every block has a feature and a dimension; got k={k}."
        )
    ns = [n // k + (b < n % k) for b in range(k)]
    ds = [d // k + (b < d % k) for b in range(k)]
    return list(zip(ns, ds, strict=True))


def best_known_block(m: int, D: int) -> np.ndarray | None:
    """Return an exact optimal-coherence packing of ``m`` lines in ``R^D`` if known here, else None.

    Orthonormal rows (``m <= D``), coincident lines (``D = 1``), polygon lines
    (``D = 2``) or a constructible equiangular tight frame.

    Examples
    --------
    >>> best_known_block(3, 2).shape, best_known_block(7, 3)
    ((3, 2), None)
    """
    if m <= D:
        return np.eye(D)[:m]
    if D == 1:
        return np.ones((m, 1))
    if D == 2:
        return regular_polygon_lines(m)
    build = _etf_builder(m, D)
    return None if build is None else build()


def _block_factory(block):
    if callable(block):
        try:
            takes_rng = len(inspect.signature(block).parameters) >= 3
        except (TypeError, ValueError):  # builtins without a signature
            takes_rng = True
        return block if takes_rng else (lambda m, D, rng: block(m, D))
    if block == "simplex":

        def make(m, D, rng):
            if m <= D:
                return np.eye(D)[:m]
            if m == D + 1:
                return regular_simplex(m)
            raise ValueError(
                f"block='simplex' needs every block to have n_b <= d_b + 1; got a block of {m} "
                f"features in {D} dims. Use block='best', 'random' or a callable."
            )

        return make
    if block == "polygon":

        def make(m, D, rng):
            if m <= D:
                return np.eye(D)[:m]
            if D == 2:
                return regular_polygon_lines(m)
            raise ValueError(
                f"block='polygon' needs 2-dimensional blocks (or n_b <= d_b); got a block of "
                f"{m} features in {D} dims. Choose k = d/2 or use block='best'."
            )

        return make
    if block == "best":

        def make(m, D, rng):
            B = best_known_block(m, D)
            if B is None:
                raise ValueError(
                    f"block='best': no exact optimal packing of {m} lines in R^{D} is known here; "
                    f"use block='random' or a callable (e.g. wrapping packing.optimize_packing)."
                )
            return B

        return make
    if block == "random":
        return lambda m, D, rng: random_packing(m, D, rng=rng)
    raise ValueError(
        f"block must be 'simplex', 'polygon', 'best', 'random' or a callable (m, d, rng) -> array; "
        f"got {_describe(block)}."
    )


def _block_sizes(n, d, k) -> list[tuple[int, int]]:
    """Return near-equal sizes for an int ``k``, or check explicit ``(n_b, d_b)`` pairs add up."""
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        return partition_sizes(n, d, k)
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    try:
        sizes = [tuple(pair) for pair in k]
    except TypeError:
        raise TypeError(
            f"k must be an int or a sequence of (n_b, d_b) pairs; got {_describe(k)}."
        ) from None
    if not sizes or any(len(pair) != 2 for pair in sizes):
        raise ValueError(f"k must be an int or a non-empty sequence of (n_b, d_b) pairs; got {k!r}.")
    sizes = [
        (check_int(a, f"k[{i}][0]", minimum=1), check_int(b, f"k[{i}][1]", minimum=1))
        for i, (a, b) in enumerate(sizes)
    ]
    total = (sum(a for a, _ in sizes), sum(b for _, b in sizes))
    if total != (n, d):
        raise ValueError(
            f"block sizes k must add up to (n, d) = ({n}, {d}); got {sizes} adding up to {total}. "
            f"partition_sizes(n, d, k) gives a near-equal split."
        )
    return sizes


def tegum_packing(
    n: int,
    d: int,
    k,
    *,
    block="best",
    rotate: bool = False,
    rng=None,
    return_labels: bool = False,
):
    """Return ``n`` features in ``d`` dims as a tegum product of ``k`` blocks.

    The sizes come from :func:`partition_sizes` (``k`` an int) or are given
    explicitly (``k`` a list of ``(n_b, d_b)``, e.g. ``PartitionResult.blocks``);
    each block of ``n_b`` features in ``d_b`` dims is built by ``block``:

    * ``"best"``: an exact optimal line packing (orthonormal if ``n_b <= d_b``,
      coincident lines if ``d_b = 1``, polygon lines if ``d_b = 2``, otherwise
      a constructible equiangular tight frame, e.g. the simplex);
    * ``"simplex"``: orthonormal or regular simplex (``n_b <= d_b + 1``);
    * ``"polygon"``: orthonormal or polygon lines (``d_b = 2``);
    * ``"random"``: :func:`random_packing`;
    * a callable ``block(n_b, d_b)`` or ``block(n_b, d_b, rng)`` returning an
      ``(n_b, d_b)`` array.

    Parameters
    ----------
    n, d : int
        Features and dimensions.
    k : int or sequence of (int, int)
        Number of near-equal blocks (``k <= min(n, d)``), or the block sizes
        ``(n_b, d_b)``, which must add up to ``(n, d)``.
    block : str or callable
        How to fill each block (see above).
    rotate : bool
        Apply a Haar-random rotation at the end.
    rng : None, int or numpy.random.Generator
        Randomness for ``rotate`` and random blocks.
    return_labels : bool
        Also return the block index of every row.

    Returns
    -------
    W : ndarray of shape (n, d)
    labels : ndarray of int, shape (n,)
        Only if ``return_labels``.

    Examples
    --------
    >>> W, labels = tegum_packing(9, 6, 3, block="polygon", return_labels=True)
    >>> W.shape, np.bincount(labels).tolist()
    ((9, 6), [3, 3, 3])
    >>> tegum_packing(9, 6, 2, block="polygon")
    Traceback (most recent call last):
    ...
    ValueError: block='polygon' needs 2-dimensional blocks (or n_b <= d_b); got a block of 5 features ...
    >>> tegum_packing(8, 3, [(6, 2), (1, 1)])
    Traceback (most recent call last):
    ...
    ValueError: block sizes k must add up to (n, d) = (8, 3); got [(6, 2), (1, 1)] adding up to (7, 3). ...
    """
    sizes = _block_sizes(n, d, k)
    rng = check_rng(rng)
    make = _block_factory(block)
    arrays = []
    for b, (m, D) in enumerate(sizes):
        B = np.asarray(make(m, D, rng), dtype=np.float64)
        if B.shape != (m, D):
            raise ValueError(f"block returned shape {B.shape} for block {b}; expected ({m}, {D}).")
        arrays.append(B)
    return tegum_product(*arrays, rotate=rotate, rng=rng, return_labels=return_labels)


# --------------------------------------------------------------------------- overlapping sets


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


def overlapping_orthogonal_sets(
    n: int,
    d: int,
    *,
    rng=None,
    kind: str = "random",
    return_labels: bool = False,
):
    """Return ``n`` features in ``R^d`` as ``ceil(n/d)`` overlapping orthonormal bases.

    Rows ``b d .. (b+1) d - 1`` form basis ``b``; when ``d`` does not divide ``n``
    the last set holds the remaining ``n mod d`` vectors of one more basis. Within
    a set all pairs are orthogonal; across sets they are not.

    Parameters
    ----------
    n, d : int
        Features and dimension.
    rng : None, int or numpy.random.Generator
        Randomness (``kind="random"``: each basis is an independent Haar rotation).
    kind : {"random", "mub"}
        ``"mub"`` uses real mutually unbiased bases (every cross-set
        ``|cos| = 1/sqrt(d)``; see :func:`mutually_unbiased_bases`).
    return_labels : bool
        Also return the set index of every row.

    Returns
    -------
    W : ndarray of shape (n, d)
    labels : ndarray of int, shape (n,)
        Only if ``return_labels``.

    Examples
    --------
    >>> W = overlapping_orthogonal_sets(10, 4, rng=0)
    >>> W.shape, int(np.sum(np.abs(W[:4] @ W[:4].T) > 1e-12))
    ((10, 4), 4)
    >>> overlapping_orthogonal_sets(8, 4, kind="mub")[4:] * 2
    array([[ 1.,  1.,  1.,  1.],
           [ 1., -1.,  1., -1.],
           [ 1.,  1., -1., -1.],
           [ 1., -1., -1.,  1.]])
    >>> overlapping_orthogonal_sets(8, 4, kind="hadamard")
    Traceback (most recent call last):
    ...
    ValueError: kind must be 'random' or 'mub'; got str 'hadamard'.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    rng = check_rng(rng)
    sets = -(-n // d)
    if kind == "random":
        W = np.vstack([haar_rotation(d, rng=rng) for _ in range(sets)])[:n]
    elif kind == "mub":
        try:
            W = mutually_unbiased_bases(d, sets)[:n]
        except ValueError as err:
            raise ValueError(
                f"kind='mub': n={n} features in d={d} dims need {sets} mutually unbiased bases; {err}"
            ) from None
    else:
        raise ValueError(f"kind must be 'random' or 'mub'; got {_describe(kind)}.")
    labels = np.arange(n) // d
    return (W, labels) if return_labels else W


def random_packing(n: int, d: int, *, rng=None) -> np.ndarray:
    """Return ``n`` independent uniformly random unit vectors in ``R^d`` (Johnson–Lindenstrauss style).

    Pairwise cosines concentrate around 0 with variance ``1/d``.

    Examples
    --------
    >>> W = random_packing(1000, 400, rng=0)
    >>> W.shape, bool(np.allclose(np.linalg.norm(W, axis=1), 1))
    ((1000, 400), True)
    >>> random_packing(3, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    rng = check_rng(rng)
    return _unit(rng.normal(size=(n, d)))
