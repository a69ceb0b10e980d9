"""Capacity bookkeeping per tegum factor: whether its capacities add up to its dimension.

Every ideal factor (a polygon, a simplex, the tight square antiprism) is a tight
frame of its own span, so its features' capacities (Scherlis et al. 2022) add
up to the factor's dimension; a factor that falls short does not use its whole
subspace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Savable
from .._validation import check_instance, check_packing, check_tolerance
from ..geometry.frames import _capacities
from ._scan import check_scan_memory
from .factors import TegumFactors, _check_factor_options, _tegum_factors, row_scales

__all__ = ["FactorCapacity", "factor_capacities"]

#: Default allowed ``|Σ capacity - dim|`` for a saturated factor.
CAPACITY_TOL = 0.05


@dataclass(frozen=True)
class FactorCapacity(Savable):
    """Capacity bookkeeping of one tegum factor.

    Attributes
    ----------
    features : ndarray of int
        Row indices of the factor.
    capacity : ndarray
        Capacity of each feature (computed on the whole ``W``).
    dimensionality : ndarray
        Feature dimensionality of each feature (Elhage et al. 2022).
    total : float
        Sum of the capacities.
    dim : int
        Dimension of the factor's span.
    saturated : bool
        ``|total - dim| <= tol``: the factor uses its whole subspace (a tight frame
        of it), as every ideal factor does.
    """

    features: np.ndarray
    capacity: np.ndarray
    dimensionality: np.ndarray
    total: float
    dim: int
    saturated: bool


def factor_capacities(W, factors=None, *, tol: float = CAPACITY_TOL, **kwargs) -> list[FactorCapacity]:
    """Per-factor capacities and the check that they add up to each factor's dimension.

    Parameters
    ----------
    W : array_like, shape (n, d)
    factors : TegumFactors, optional
        A decomposition of ``W``; computed with :func:`tegum_factors` (``**kwargs``) if omitted.
    tol : float, default 0.05
        Allowed ``|Σ capacity - dim|`` for a saturated factor.

    Returns
    -------
    list of FactorCapacity

    Raises
    ------
    TypeError
        If ``factors`` is not a :class:`TegumFactors`.
    ValueError
        If ``factors`` decomposes a packing of another shape than ``W``.

    Examples
    --------
    >>> s = np.sqrt(3) / 2
    >>> caps = factor_capacities([[1, 0, 0], [-0.5, s, 0], [-0.5, -s, 0], [0, 0, 1]])
    >>> [(round(c.total, 6), c.dim, c.saturated) for c in caps]
    [(2.0, 2, True), (1.0, 1, True)]
    >>> factor_capacities(np.eye(3), tegum_factors(np.eye(2)))
    Traceback (most recent call last):
    ...
    ValueError: factors must decompose W, a (3, 3) packing; got the factors of a (2, 2) packing.
    """
    W = check_packing(W)
    tol = check_tolerance(tol, "tol")
    if factors is None:
        options = _check_factor_options(**kwargs)
        check_scan_memory("factor_capacities", *W.shape, W.itemsize)
        factors = _tegum_factors(*row_scales(W), *options, tile_dtype=W.dtype)
    check_instance(factors, TegumFactors, "factors", what="a TegumFactors from tegum_factors(W)")
    if (factors.n, factors.d) != W.shape:
        raise ValueError(
            f"factors must decompose W, a {W.shape} packing; got the factors of a "
            f"{(factors.n, factors.d)} packing."
        )
    return _factor_capacities(W, factors, tol)


def _factor_capacities(
    W: np.ndarray, factors: TegumFactors, tol: float, scales: tuple | None = None
) -> list[FactorCapacity]:
    """:func:`factor_capacities` of a checked ``W`` and a decomposition (``scales``: W's scaled norms)."""
    C = _capacities(W, scales)  # feature dimensionality is the same number (see packing.geometry.frames)
    out = []
    for f, k in zip(factors.factors, factors.dims, strict=True):
        total = float(C[f].sum())
        out.append(FactorCapacity(f, C[f], C[f].copy(), total, int(k), bool(abs(total - k) <= tol)))
    return out
