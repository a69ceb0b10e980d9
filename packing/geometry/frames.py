"""Per-feature capacity and dimensionality, the frame potential and tightness."""

from __future__ import annotations

import numpy as np

from .._rows import unit_rows
from .._validation import check_packing, check_tolerance

__all__ = [
    "frame_potential",
    "is_tight_frame",
    "capacity",
    "feature_dimensionality",
    "dimensions_per_feature",
]

def frame_potential(W, *, normalize: bool = False) -> float:
    """Return the frame potential ``Σ_{i,j} <W_i, W_j>**2`` over all ordered pairs.

    It equals ``||Wᵀ W||_F**2`` and is computed from the ``(d, d)`` frame
    operator. For ``n`` unit vectors in ``R^d`` it is at least ``max(n, n**2/d)``
    with equality (for ``n >= d``) exactly for tight frames (Benedetto–Fickus 2003).

    Parameters
    ----------
    W : array_like, shape (n, d)
    normalize : bool, default False
        Use the unit rows of ``W`` (zero rows stay zero).

    Examples
    --------
    >>> frame_potential(np.eye(3))
    3.0
    >>> round(frame_potential([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]]), 6)
    4.5
    """
    W = check_packing(W).astype(np.float64)
    if normalize:
        W = unit_rows(W)
    S = W.T @ W
    return float(np.sum(S * S))


def is_tight_frame(W, *, rtol: float = 1e-8) -> bool:
    """Whether ``Wᵀ W`` is a multiple of the identity (up to ``rtol``).

    Parameters
    ----------
    W : array_like, shape (n, d)
    rtol : float
        Allowed ``||Wᵀ W − c I||_F / ||Wᵀ W||_F``.

    Examples
    --------
    >>> is_tight_frame([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]])
    True
    >>> is_tight_frame([[1, 0], [1, 1]])
    False
    """
    rtol = check_tolerance(rtol, "rtol")
    W = check_packing(W).astype(np.float64)
    S = W.T @ W
    scale = np.trace(S) / S.shape[0]
    norm = np.linalg.norm(S)
    if norm == 0:
        return False
    return bool(np.linalg.norm(S - scale * np.eye(S.shape[0])) <= rtol * norm)


def _quadratic_forms(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Return ``Σ_j (X_i · W_j)**2 = X_i (WᵀW) X_iᵀ`` for every row of X, in float64."""
    S = W.T @ W
    return np.einsum("ij,ij->i", X @ S, X)


def capacity(W) -> np.ndarray:
    """Per-feature capacity ``C_i = (W_i·W_i)**2 / Σ_j (W_i·W_j)**2`` (Scherlis et al. 2022).

    ``0 <= C_i <= 1``; ``Σ_i C_i <= rank(W)`` with equality for tight frames.
    Zero rows get capacity 0. Algebraically this equals
    :func:`feature_dimensionality`; the two are computed by different formulas.

    Parameters
    ----------
    W : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> capacity([[1, 0], [0, 1], [0, 0]])
    array([1., 1., 0.])
    >>> capacity([[1, 0], [-0.5, 3 ** 0.5 / 2], [-0.5, -(3 ** 0.5) / 2]]).round(4)
    array([0.6667, 0.6667, 0.6667])
    """
    W = check_packing(W).astype(np.float64)
    sq = np.einsum("ij,ij->i", W, W)
    denom = _quadratic_forms(W, W)
    out = np.zeros_like(sq)
    np.divide(sq * sq, denom, out=out, where=sq > 0)
    return np.clip(out, 0.0, 1.0)


def feature_dimensionality(W) -> np.ndarray:
    """Feature dimensionality ``D_i = ||W_i||**2 / Σ_j (Ŵ_i · W_j)**2`` (Elhage et al. 2022).

    ``Ŵ_i`` is the unit vector along ``W_i``. A feature with a dedicated
    dimension has ``D_i = 1``; the five features of a pentagon in 2-D have 2/5;
    an antipodal pair has 1/2. Zero rows get 0.

    Parameters
    ----------
    W : array_like, shape (n, d)

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> feature_dimensionality([[1, 0], [-1, 0], [0, 2]])
    array([0.5, 0.5, 1. ])
    """
    W = check_packing(W).astype(np.float64)
    sq = np.einsum("ij,ij->i", W, W)
    U = unit_rows(W)
    denom = _quadratic_forms(U, W)
    out = np.zeros_like(sq)
    np.divide(sq, denom, out=out, where=sq > 0)
    return np.clip(out, 0.0, 1.0)


def dimensions_per_feature(W) -> float:
    """Return ``d / ||W||_F**2``, the "dimensions per feature" of Elhage et al. (2022).

    Examples
    --------
    >>> dimensions_per_feature([[1, 0], [-1, 0], [0, 1], [0, -1]])
    0.5
    """
    W = check_packing(W).astype(np.float64)
    total = float(np.sum(W * W))
    if total == 0:
        raise ValueError("W must have at least one nonzero entry; got an all-zero W.")
    return W.shape[1] / total

