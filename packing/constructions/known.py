"""The one registry of packings whose optimal coherence is known exactly.

:func:`known_optimum` answers "is the best packing of ``n`` lines in ``R^d``
known, and what is it?" for the bounds (:func:`packing.bounds.exact_coherence`),
the optimizer (which returns these packings without searching) and the
partition programme's ``cost="known"``. Each entry says how its optimality is
proved:

* ``"closed form"``: ``n <= d`` (orthonormal rows, coherence 0), ``d = 1``
  (coincident lines, 1), ``d = 2`` (the lines of a regular ``2n``-gon,
  ``cos(π/n)``), ``n = d + 1`` (the regular simplex, ``1/d``);
* ``"welch"``: a real equiangular tight frame attains the Welch bound
  ``sqrt((n − d) / (d (n − 1)))`` (see :func:`packing.equiangular_tight_frame`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from .._validation import check_int, check_p
from .etf import _etf_builder
from .polytopes import regular_polygon_lines, regular_simplex

__all__ = ["KnownOptimum", "known_optimum", "best_known_block"]


@dataclass(frozen=True)
class KnownOptimum:
    """An optimal packing of ``n`` lines in ``R^d`` that the toolkit can build exactly.

    Attributes
    ----------
    n, d : int
        Lines and dimension.
    coherence : float
        The optimal ``max |cos θ|``.
    name : str
        ``"orthonormal"``, ``"coincident lines"``, ``"polygon lines"``,
        ``"simplex"`` or ``"equiangular tight frame"``.
    proof : str
        ``"closed form"`` or ``"welch"`` (the packing meets the Welch bound).
    """

    n: int
    d: int
    coherence: float
    name: str
    proof: str

    def build(self) -> np.ndarray:
        """Return the packing, shape ``(n, d)``, float64 unit rows."""
        return _build(self.n, self.d, self.name)

    def pair_spectrum(self) -> dict[float, int]:
        """``{|cos θ|: number of unordered pairs}`` of the packing, in closed form."""
        return dict(_spectrum(self.n, self.d, self.name, self.coherence))

    def moment(self, p) -> float:
        """``Σ_{i<j} |cos θ_ij|**p`` of the packing (``p = inf``: the coherence)."""
        p = check_p(p)
        if math.isinf(p):
            return self.coherence if self.n > 1 else 0.0
        return float(sum(count * c**p for c, count in _spectrum(self.n, self.d, self.name, self.coherence)))


@cache
def _build(n: int, d: int, name: str) -> np.ndarray:
    if name == "orthonormal":
        W = np.eye(d)[:n]
    elif name == "coincident lines":
        W = np.ones((n, 1))
    elif name == "polygon lines":
        W = regular_polygon_lines(n)
    elif name == "simplex":
        W = regular_simplex(n)
    else:
        W = _etf_builder(n, d)()
    W = np.ascontiguousarray(W, dtype=np.float64)
    W.setflags(write=False)
    return W


@cache
def _spectrum(n: int, d: int, name: str, mu: float) -> tuple[tuple[float, int], ...]:
    pairs = n * (n - 1) // 2
    if pairs == 0 or name == "orthonormal":
        return ()
    if name != "polygon lines":
        return ((mu, pairs),)  # equiangular: coincident lines, simplex, ETF
    # n lines at angles π t / n: a pair at offset k has |cos| = |cos(π k / n)|, and n − k pairs have
    # offset k; offsets k and n − k give the same |cos|.
    out = []
    for k in range(1, n // 2 + 1):
        if 2 * k == n:  # perpendicular lines: exactly 0, not cos(π/2) in floating point
            out.append((0.0, n // 2))
        else:
            out.append((abs(math.cos(math.pi * k / n)), n))
    return tuple(out)


def _known(n: int, d: int) -> KnownOptimum | None:
    if n <= d:
        return KnownOptimum(n, d, 0.0, "orthonormal", "closed form")
    if d == 1:
        return KnownOptimum(n, d, 1.0, "coincident lines", "closed form")
    if d == 2:
        return KnownOptimum(n, d, math.cos(math.pi / n), "polygon lines", "closed form")
    if n == d + 1:
        return KnownOptimum(n, d, 1.0 / d, "simplex", "closed form")
    if _etf_builder(n, d) is not None:
        return KnownOptimum(n, d, math.sqrt((n - d) / (d * (n - 1))), "equiangular tight frame", "welch")
    return None


def known_optimum(n: int, d: int) -> KnownOptimum | None:
    """Return the known optimal packing of ``n`` lines in ``R^d``, or ``None``.

    Parameters
    ----------
    n, d : int
        Lines (``>= 1``) and dimension (``>= 1``).

    Returns
    -------
    KnownOptimum or None

    Examples
    --------
    >>> k = known_optimum(6, 3)
    >>> k.name, round(k.coherence, 6), k.proof, k.build().shape
    ('equiangular tight frame', 0.447214, 'welch', (6, 3))
    >>> known_optimum(7, 3) is None
    True
    >>> known_optimum(3, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _known(n, d)


def best_known_block(m: int, D: int) -> np.ndarray | None:
    """Return an exact optimal-coherence packing of ``m`` lines in ``R^D`` if known here, else None.

    Orthonormal rows (``m <= D``), coincident lines (``D = 1``), polygon lines
    (``D = 2``), the simplex or a constructible equiangular tight frame: the
    entries of :func:`known_optimum`.

    Examples
    --------
    >>> best_known_block(3, 2).shape, best_known_block(7, 3)
    ((3, 2), None)
    """
    entry = known_optimum(m, D)
    return None if entry is None else np.array(entry.build())
