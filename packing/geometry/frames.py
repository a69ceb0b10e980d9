"""Per-feature capacity and dimensionality, the frame potential and tightness.

Exact under scaling
-------------------
Every statistic here is computed from unit rows and norms written as
``w * 2**e`` (:func:`packing._rows.scaled_norms`), never from squares of raw
entries, so rows with norms anywhere in the float range (subnormal to
``1.8e308``) neither overflow nor underflow.

Capacity ``C_i = (W_i·W_i)² / Σ_j (W_i·W_j)²`` only depends on the directions
``u_j`` and the ratios of norms: with ``W_j = r_j u_j``,

    ``C_i = 1 / Σ_j (r_j / r_i)² (u_i·u_j)²``,

so it is invariant under a global rescale of ``W``. Rows of wildly different
norms are grouped by the binary exponent of their norm relative to the
largest (groups :data:`GROUP_BITS` exponents wide). Inside group ``g`` with
reference norm ``2**E_g`` every ``σ_j = r_j / 2**E_g`` lies in ``(2**-64, 1]``,
so ``S_g = Σ_{j∈g} σ_j² u_j u_jᵀ`` is formed without underflow, and

    ``Σ_j (r_j / r_i)² (u_i·u_j)² = Σ_g 2**(2 (E_g − e_i)) u_iᵀ S_g u_i / w_i²``

(``r_i = w_i 2**e_i``), each group's power of two applied exactly with
``ldexp``: a row far smaller than an overlapping one gets capacity 0 (its
true value is below the float range), a row orthogonal to every larger row
keeps its capacity however small it is. One group (every norm within a factor
``2**64`` of the largest, the common case) costs ``O(n d²)`` as before.
"""

from __future__ import annotations

import numpy as np

from .._rows import scaled_norms, unit_rows
from .._validation import check_bool, check_memory, check_packing, check_tolerance

#: Width, in binary exponents, of the norm groups of the capacity computation.
GROUP_BITS = 64

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

    Raises
    ------
    OverflowError
        Without ``normalize``, when the potential (it scales as ``|W|**4``) is
        beyond the float64 range; a potential below it rounds to 0.

    Examples
    --------
    >>> frame_potential(np.eye(3))
    3.0
    >>> round(frame_potential([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]]), 6)
    4.5
    """
    W = _checked(W, "frame_potential")
    if check_bool(normalize, "normalize"):
        S = _frame_operator(unit_rows(W, dtype=np.float64))
        return float(np.sum(S * S))
    V, e = _globally_scaled(W)
    S = _frame_operator(V)
    return _unscale(float(np.sum(S * S)), 4 * e, "frame_potential(W)", "the frame potential", "large")


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
    V, _ = _globally_scaled(_checked(W, "is_tight_frame"))
    S = _frame_operator(V)
    scale = np.trace(S) / S.shape[0]
    norm = np.linalg.norm(S)
    if norm == 0:
        return False
    return bool(np.linalg.norm(S - scale * np.eye(S.shape[0])) <= rtol * norm)


def _checked(W, func: str) -> np.ndarray:
    """``W`` validated, after checking the float64 copies of the statistics fit in memory."""
    W = check_packing(W)
    n, d = W.shape
    check_memory(8 * n * d * 4 + 8 * d * d * 2, func, "float64 copies of W", n=n, d=d)
    return W


def _frame_operator(V: np.ndarray) -> np.ndarray:
    """``Vᵀ V`` in float64."""
    V = np.asarray(V, dtype=np.float64)
    return V.T @ V


def _globally_scaled(W: np.ndarray) -> tuple[np.ndarray, int]:
    """``(V, e)`` with ``W = V * 2**e`` and the largest ``|V|`` in ``[0.5, 1)`` (exact: a power of two)."""
    top = float(np.max(np.abs(W)))
    if top == 0.0:
        return np.zeros(W.shape), 0
    e = int(np.frexp(top)[1])
    with np.errstate(under="ignore"):
        return np.ldexp(np.asarray(W, dtype=np.float64), -e), e


def _unscale(value: float, e: int, call: str, what: str, cause: str) -> float:
    """``value * 2**e``; an ``OverflowError`` naming the call when it leaves the float range."""
    with np.errstate(over="ignore", under="ignore"):
        out = float(np.ldexp(value, e))
    if not np.isfinite(out):
        raise OverflowError(
            f"{call}: {what} is about 2**{int(np.frexp(value)[1]) + e}, beyond the float64 range "
            f"(about 2**1024); W's entries are too {cause} for it to be a float. Rescale W."
        )
    return out


def _capacities(W: np.ndarray, scales: tuple | None = None, chunk: int = 8192) -> np.ndarray:
    """``C_i = 1 / Σ_j (r_j / r_i)² (u_i·u_j)²`` (0 for zero rows), exact under scaling (see the module).

    ``scales`` are ``W``'s :func:`packing._rows.scaled_norms` when the caller has
    them; rows are handled ``chunk`` at a time (no full copy of ``W``).
    """
    U, w, e = scaled_norms(W) if scales is None else scales
    nonzero = w > 0
    n = U.shape[0]
    out = np.zeros(n)
    if not nonzero.any():
        return out
    top = int(e[nonzero].max())
    group = np.where(nonzero, (top - e) // GROUP_BITS, -1)
    total = np.zeros(n)
    q = np.empty(n)
    with np.errstate(over="ignore", under="ignore"):
        for g in np.unique(group[nonzero]):
            ref = top - int(g) * GROUP_BITS  # reference exponent E_g of the group
            members = np.flatnonzero(group == g)
            sigma = np.ldexp(w[members], e[members] - ref)
            M = np.zeros((U.shape[1], U.shape[1]))
            for s0 in range(0, members.size, chunk):
                V = U[members[s0 : s0 + chunk]] * sigma[s0 : s0 + chunk, None]
                M += V.T @ V
            for r0 in range(0, n, chunk):
                R = U[r0 : r0 + chunk]
                q[r0 : r0 + chunk] = np.einsum("ij,ij->i", R @ M, R)
            q[members] = np.maximum(q[members], sigma**2)  # the j = i term alone; clamps rounding
            total += np.ldexp(np.maximum(q, 0.0), 2 * (ref - e))
        np.divide(w * w, total, out=out, where=nonzero)
    return np.clip(out, 0.0, 1.0)


def capacity(W) -> np.ndarray:
    """Per-feature capacity ``C_i = (W_i·W_i)**2 / Σ_j (W_i·W_j)**2`` (Scherlis et al. 2022).

    ``0 <= C_i <= 1``; ``Σ_i C_i <= rank(W)`` with equality for tight frames.
    Zero rows get capacity 0. It equals :func:`feature_dimensionality`
    (``C_i = 1 / Σ_j (|W_j| / |W_i|)² cos² θ_ij`` for both), is invariant under a
    global rescale of ``W`` and is exact for rows of any norms (see the module).

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
    return _capacities(_checked(W, "capacity"))


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
    return _capacities(_checked(W, "feature_dimensionality"))


def dimensions_per_feature(W) -> float:
    """Return ``d / ||W||_F**2``, the "dimensions per feature" of Elhage et al. (2022).

    ``||W||_F`` is computed from ``W`` rescaled by a power of two, so it never
    overflows; a value below the float range rounds to 0.

    Raises
    ------
    ValueError
        For an all-zero ``W``.
    OverflowError
        When ``d / ||W||_F**2`` is beyond the float64 range (entries below about 1e-154).

    Examples
    --------
    >>> dimensions_per_feature([[1, 0], [-1, 0], [0, 1], [0, -1]])
    0.5
    """
    W = _checked(W, "dimensions_per_feature")
    V, e = _globally_scaled(W)
    total = float(np.sum(V * V))
    if total == 0:
        raise ValueError("W must have at least one nonzero entry; got an all-zero W.")
    return _unscale(W.shape[1] / total, -2 * e, "dimensions_per_feature(W)", "d / ||W||_F²", "small")
