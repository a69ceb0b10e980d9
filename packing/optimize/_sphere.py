"""Geometry of the product of unit spheres: where every local solver of the optimizer moves.

A packing of ``n`` lines in ``R^d`` is a point ``U`` of the product of ``n``
unit spheres ``S^{d-1}`` (the oblique manifold, here with one row per sphere).
This module is the one place that knows its geometry; the smooth descent, the
LP polish and the equalization step all use it:

* :func:`unit` and :func:`lift` map ambient rows to the manifold
  (:mod:`packing._rows` owns the normalisation and its zero-row policy);
* :func:`project` is the orthogonal projection onto the tangent space
  ``{V : <u_i, v_i> = 0 for every row i}``;
* :func:`pullback` carries a gradient with respect to the unit rows back to the
  unnormalized rows that the smooth descent's L-BFGS moves;
* :func:`retract` moves along a step and returns to the manifold;
* :func:`tangent_basis` gives orthonormal coordinates of every tangent space
  (:func:`tangent_step` maps them back to ambient steps), and
  :func:`pair_cosine_jacobian` the differential of signed pair cosines in those
  coordinates, for the linear programmes and the Gauss–Newton steps: moves in
  tangent coordinates keep the unit norms to first order without constraints.

Linear maps come as coordinate triplets ``(rows, cols, vals)`` over the
row-major flattened tangent coordinates ``y.ravel()`` (column ``i (d − 1) + a``
is coordinate ``a`` of row ``i``), so a caller can place them in a sparse LP or
a dense system.
"""

from __future__ import annotations

import numpy as np

from .._rows import unit_rows

__all__: list[str] = []  # private module


def unit(X: np.ndarray) -> np.ndarray:
    """Return the rows of ``X`` scaled to unit norm, float64 (:func:`packing._rows.unit_rows`)."""
    return unit_rows(X, dtype=np.float64)


def lift(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the unit rows of ``X`` (nonzero rows) and the row norms, shape ``(n, 1)``, for the chain rule.

    The norm of row ``i`` is ``<u_i, x_i>``, which needs no second pass over ``X``.
    """
    U = unit(X)
    return U, np.einsum("ij,ij->i", U, X)[:, None]


def random_point(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Return ``n`` independent uniform points of ``S^{d-1}`` drawn from ``rng``."""
    return unit(rng.normal(size=(n, d)))


def project(U: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Project ambient rows ``G`` onto the tangent space at ``U``: ``g_i − <g_i, u_i> u_i``.

    Examples
    --------
    >>> U = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> project(U, np.array([[2.0, 3.0], [4.0, 5.0]]))
    array([[0., 3.],
           [4., 0.]])
    """
    return G - np.sum(G * U, axis=1, keepdims=True) * U


def pullback(U: np.ndarray, norms: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Gradient with respect to rows ``X = norms · U`` of a function of ``U``, given its gradient ``G``.

    The differential of ``x ↦ x / |x|`` is the tangent projection divided by ``|x|``.
    """
    return project(U, G) / norms


def retract(U: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Move from ``U`` by ``step`` (tangent or not) and return to the manifold: ``unit(U + step)``."""
    return unit(U + step)


def tangent_basis(U: np.ndarray) -> np.ndarray:
    """Return orthonormal bases of the tangent spaces: ``B[i]`` (``d × (d − 1)``) is orthogonal to ``u_i``.

    Built from the Householder reflection that maps ``u_i`` to ``∓e_1``: its last
    ``d − 1`` columns are orthonormal and orthogonal to ``u_i``. A step in
    tangent coordinates ``y`` (shape ``(n, d − 1)``) is the ambient step
    :func:`tangent_step` ``(B, y)``; the solvers that build linear programmes and
    Newton systems work in these coordinates, so the unit-norm constraints need no
    rows of their own.

    Examples
    --------
    >>> B = tangent_basis(np.array([[0.6, 0.8], [1.0, 0.0]]))
    >>> B.shape, np.allclose(np.einsum("idk,id->ik", B, [[0.6, 0.8], [1.0, 0.0]]), 0)
    ((2, 2, 1), True)
    """
    n, d = U.shape
    sign = np.where(U[:, 0] >= 0.0, 1.0, -1.0)
    v = U.copy()
    v[:, 0] += sign  # |v|^2 = 2 (1 + |u_0|) >= 2: never degenerate
    H = np.eye(d)[None] - (2.0 / np.einsum("ij,ij->i", v, v))[:, None, None] * v[:, :, None] * v[:, None, :]
    return H[:, :, 1:]


def tangent_step(B: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Return the ambient step ``(B[i] @ y_i)_i`` of tangent coordinates ``Y``, shape ``(n, d − 1)``."""
    return np.einsum("ide,ie->id", B, Y)


def pair_cosine_jacobian(
    U: np.ndarray, B: np.ndarray, I: np.ndarray, J: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triplets of the ``m × n(d−1)`` differential of ``s_k <u_i, u_j>`` in tangent coordinates.

    Pair ``k = (I_k, J_k)`` (``i ≠ j``) moves with ``s_k (<B_i y_i, u_j> + <u_i, B_j y_j>)``;
    column ``i (d − 1) + a`` is tangent coordinate ``a`` of row ``i``.

    Examples
    --------
    >>> U = np.eye(2)
    >>> B = tangent_basis(U)
    >>> rows, cols, vals = pair_cosine_jacobian(U, B, np.array([0]), np.array([1]), np.array([1.0]))
    >>> rows.tolist(), cols.tolist(), np.abs(vals).tolist()
    ([0, 0], [0, 1], [1.0, 1.0])
    """
    e = U.shape[1] - 1
    m = I.size
    gi = s[:, None] * np.einsum("kde,kd->ke", B[I], U[J])
    gj = s[:, None] * np.einsum("kde,kd->ke", B[J], U[I])
    rows = np.repeat(np.arange(m), e)
    return (
        np.concatenate([rows, rows]),
        np.concatenate([(I[:, None] * e + np.arange(e)).ravel(), (J[:, None] * e + np.arange(e)).ravel()]),
        np.concatenate([gi.ravel(), gj.ravel()]),
    )
