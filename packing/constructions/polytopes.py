"""Small polytopes and exact optimal line packings.

Every function returns a float64 array with one unit-norm row per feature.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._rows import unit_rows
from .._validation import check_int, check_memory

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
]


def _unit(W) -> np.ndarray:
    return unit_rows(np.asarray(W, dtype=np.float64))


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
    check_memory(48 * m, "regular_polygon_lines", "the (m, 2) array and its angles", m=m)
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
    check_memory(48 * m, "regular_polygon", "the (m, 2) array and its angles", m=m)
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
    check_memory(32 * m * m, "regular_simplex", "the m x m centering and its Helmert basis", m=m)
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
    check_memory(40 * d * d, "cross_polytope", "the (2 d, d) array", d=d)
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
    check_memory(8 * d * d, "orthonormal_basis", "the d x d identity", d=d)
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
