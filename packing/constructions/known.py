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
from functools import cache, lru_cache

import numpy as np

from .._results import CheckedFields
from .._validation import check_int, check_memory, check_p
from .etf import _etf_builder
from .polytopes import regular_polygon_lines, regular_simplex

__all__ = ["KnownOptimum", "known_optimum", "best_known_block"]


@dataclass(frozen=True)
class KnownOptimum(CheckedFields):
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
        rows = self.n if self.name != "simplex" else 4 * self.n  # the simplex is built from n x n matrices
        check_memory(8 * rows * max(self.n, self.d), "KnownOptimum.build", "the packing", n=self.n, d=self.d)
        if self.n * self.d <= _CACHE_ENTRIES:
            return _build_cached(self.n, self.d, self.name)
        return _build(self.n, self.d, self.name)

    def pair_spectrum(self) -> dict[float, int]:
        """``{|cos θ|: number of unordered pairs}`` of the packing, in closed form."""
        _check_spectrum_memory(self)
        return dict(_spectrum(self.n, self.d, self.name, self.coherence))

    def moment(self, p) -> float:
        """``Σ_{i<j} |cos θ_ij|**p`` of the packing (``p = inf``: the coherence)."""
        p = check_p(p)
        if math.isinf(p):
            return self.coherence if self.n > 1 else 0.0
        _check_spectrum_memory(self)
        return spectrum_moment(_spectrum(self.n, self.d, self.name, self.coherence), p)


#: Packings up to this many entries are kept for the session (larger ones are rebuilt: memory).
_CACHE_ENTRIES = 2**20


def _check_spectrum_memory(entry: KnownOptimum) -> None:
    if entry.name == "polygon lines":
        need = 48 * entry.n
        check_memory(need, "KnownOptimum.pair_spectrum", "the n/2 distinct |cos| of the lines", n=entry.n)


def spectrum_moment(pairs, p: float) -> float:
    """``Σ count * value**p`` over ``(value, count)`` pairs, without overflow in the intermediate products.

    Counts may be huge ints (``n (n - 1) / 2`` for ``n = 10**160``); terms go
    through logarithms when ``count`` or the result leaves the float range, and a
    moment beyond the float range is an ``OverflowError``.
    """
    pairs = list(pairs)
    if len(pairs) > 1000 and all(0 <= c < 2**53 for _, c in pairs):  # long spectra: vectorized
        values, counts = np.array(pairs, dtype=np.float64).T
        with np.errstate(under="ignore"):
            total = float(np.dot(counts, values**p))
        if not math.isfinite(total):
            raise OverflowError(f"the moment of order p={p} is beyond the float range.")
        return total
    total = 0.0
    for value, count in pairs:
        if value == 0.0 or count == 0:
            continue
        if count < 2**1000:
            total += count * value**p
            continue
        log_term = math.log(count) + p * math.log(value)
        if log_term > 709.0:
            raise OverflowError(
                f"the moment of order p={p} is about 10^{log_term / math.log(10):.0f}, beyond the float range"
            )
        total += math.exp(log_term)
    if not math.isfinite(total):
        raise OverflowError(f"the moment of order p={p} is beyond the float range.")
    return float(total)


@cache
def _build_cached(n: int, d: int, name: str) -> np.ndarray:
    W = _build(n, d, name)
    W.setflags(write=False)
    return W


def _build(n: int, d: int, name: str) -> np.ndarray:
    if name == "orthonormal":
        W = np.zeros((n, d))
        W[np.arange(n), np.arange(n)] = 1.0
    elif name == "coincident lines":
        W = np.ones((n, 1))
    elif name == "polygon lines":
        W = regular_polygon_lines(n)
    elif name == "simplex":
        W = regular_simplex(n)
    else:
        W = _etf_builder(n, d)()
    return np.ascontiguousarray(W, dtype=np.float64)


@lru_cache(maxsize=256)
def _spectrum(n: int, d: int, name: str, mu: float) -> tuple[tuple[float, int], ...]:
    pairs = n * (n - 1) // 2
    if pairs == 0 or name == "orthonormal":
        return ()
    if name != "polygon lines":
        return ((mu, pairs),)  # equiangular: coincident lines, simplex, ETF
    # n lines at angles π t / n: a pair at offset k has |cos| = |cos(π k / n)|, and n − k pairs have
    # offset k; offsets k and n − k give the same |cos| (n pairs in all, n/2 at k = n/2).
    k = np.arange(1, n // 2 + 1)
    values = np.abs(np.cos(np.pi * k / n))
    counts = np.full(k.size, n, dtype=np.int64)
    if n % 2 == 0:  # perpendicular lines: exactly 0, not cos(π/2) in floating point
        values[-1], counts[-1] = 0.0, n // 2
    return tuple(zip(values.tolist(), counts.tolist(), strict=True))


def _known(n: int, d: int) -> KnownOptimum | None:
    if n <= d:
        return KnownOptimum(n, d, 0.0, "orthonormal", "closed form")
    if d == 1:
        return KnownOptimum(n, d, 1.0, "coincident lines", "closed form")
    if d == 2:
        return KnownOptimum(n, d, polygon_coherence(n), "polygon lines", "closed form")
    if n == d + 1:
        return KnownOptimum(n, d, 1 / d, "simplex", "closed form")
    if _etf_builder(n, d) is not None:
        return KnownOptimum(n, d, math.sqrt((n - d) / (d * (n - 1))), "equiangular tight frame", "welch")
    return None


def polygon_coherence(n: int) -> float:
    """``cos(π / n)`` for any int ``n >= 1`` (``π / n`` is below 1e-154 for ``n >= 2**512``: then 1.0)."""
    return math.cos(math.pi / n) if n < 2**512 else 1.0


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
    >>> best_known_block(-1, 3)
    Traceback (most recent call last):
    ...
    ValueError: m must be >= 1; got -1.
    """
    entry = _known(check_int(m, "m", minimum=1), check_int(D, "D", minimum=1))
    if entry is None:
        return None
    check_memory(8 * m * max(m, D), "best_known_block", "the block", m=m, D=D)
    return np.array(entry.build())
