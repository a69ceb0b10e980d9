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
* :func:`tangent_constraints` gives the linearised unit-norm constraints
  ``<u_i, du_i> = 0`` as sparse rows, and :func:`pair_cosine_jacobian` the
  differential of signed pair cosines restricted to row moves, for the
  linear programmes and the Gauss–Newton steps.

Linear maps come as coordinate triplets ``(rows, cols, vals)`` over the
row-major flattened step ``du.ravel()`` (column ``i * d + k`` is entry ``k`` of
row ``i``), so a caller can place them in a sparse LP or a dense system.
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


def tangent_constraints(U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triplets of the ``n × nd`` map ``du ↦ (<u_i, du_i>)_i``: the linearised ``|u_i|² = 1``.

    Examples
    --------
    >>> rows, cols, vals = tangent_constraints(np.array([[0.6, 0.8], [1.0, 0.0]]))
    >>> rows.tolist(), cols.tolist(), vals.tolist()
    ([0, 0, 1, 1], [0, 1, 2, 3], [0.6, 0.8, 1.0, 0.0])
    """
    n, d = U.shape
    return np.repeat(np.arange(n), d), np.arange(n * d), U.ravel()


def pair_cosine_jacobian(
    U: np.ndarray, I: np.ndarray, J: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triplets of the ``m × nd`` map ``du ↦ s_k (<u_j, du_i> + <u_i, du_j>)``, ``(i, j) = (I_k, J_k)``.

    The differential of the signed cosines ``s_k <u_i, u_j>`` (``i ≠ j``); composed
    with tangent moves it is their differential on the product of spheres.

    Examples
    --------
    >>> U = np.eye(2)
    >>> rows, cols, vals = pair_cosine_jacobian(U, np.array([0]), np.array([1]), np.array([-1.0]))
    >>> rows.tolist(), cols.tolist(), vals.tolist()
    ([0, 0, 0, 0], [0, 1, 2, 3], [-0.0, -1.0, -1.0, -0.0])
    """
    d = U.shape[1]
    m = I.size
    cols_i = (I[:, None] * d + np.arange(d)).ravel()
    cols_j = (J[:, None] * d + np.arange(d)).ravel()
    rows = np.repeat(np.arange(m), d)
    return (
        np.concatenate([rows, rows]),
        np.concatenate([cols_i, cols_j]),
        np.concatenate([(s[:, None] * U[J]).ravel(), (s[:, None] * U[I]).ravel()]),
    )
