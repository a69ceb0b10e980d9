"""Pairwise interference statistics: moments, coherence, orthogonal pairs, signed parts.

Everything pairwise is computed in one pass over tiles of the cosine matrix
(:mod:`packing.geometry._tiles`), so a dictionary of 65,536 features never needs
its ``n × n`` matrix in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._results import Savable
from .._rows import scaled_norms, unit_rows
from .._validation import (
    _describe,
    check_bool,
    check_choice,
    check_int,
    check_memory,
    check_p,
    check_packing,
    check_ps,
    check_tolerance,
    clip_cosines,
)
from ._tiles import _pair, _side, _tiled, memory_estimate, resolve, weighted_signed

__all__ = [
    "PairStatistics",
    "SignedInterference",
    "pairwise_statistics",
    "signed_interference",
    "cosine_matrix",
    "interference_moment",
    "interference_moments",
    "orthogonal_pairs",
    "coherence",
    "default_atol",
]


def default_atol(dtype) -> float:
    """Default tolerance for "orthogonal": 1e-6 in float64, 1e-4 in float32.

    Examples
    --------
    >>> default_atol(np.float32), default_atol(np.float64)
    (0.0001, 1e-06)
    """
    try:
        dt = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        dt = None
    if dt is None:
        raise TypeError(f"dtype must be a numpy dtype such as np.float32; got {_describe(dtype)}.")
    return 1e-4 if dt == np.float32 else 1e-6


@dataclass(frozen=True)
class PairStatistics(Savable):
    """Statistics of the unordered pairs ``i < j`` of a packing.

    Attributes
    ----------
    n : int
        Number of rows (features).
    n_pairs : int
        ``n (n - 1) / 2``.
    moments : dict of float to float
        ``{p: Σ_{i<j} |cos θ_ij|**p}`` for each requested finite ``p``; an
        infinite ``p`` maps to the coherence.
    coherence : float
        ``max_{i<j} |cos θ_ij|`` (0 when ``n < 2``).
    coherent_pair : tuple of int or None
        One pair ``(i, j)`` attaining the coherence.
    orthogonal_pairs : int
        Number of pairs with ``|cos θ_ij| <= atol``.
    atol : float
        The tolerance used for ``orthogonal_pairs``.
    histogram : tuple of ndarray or None
        ``(counts, edges)`` of ``|cos θ_ij|`` over the pairs, when bins were asked for.
    method : str
        ``"dense"`` or ``"blocked"``.
    signed : SignedInterference or None
        The positive and negative parts of the cosines, when ``signed=True`` was asked for.
    """

    n: int
    n_pairs: int
    moments: dict = field(default_factory=dict)
    coherence: float = 0.0
    coherent_pair: tuple | None = None
    orthogonal_pairs: int = 0
    atol: float = 0.0
    histogram: tuple | None = None
    method: str = "dense"
    signed: SignedInterference | None = None

    def moment(self, p: float) -> float:
        """Return the moment of order ``p`` (a requested one, else :class:`MomentNotComputedError`)."""
        key = check_p(p)
        if key not in self.moments:
            raise MomentNotComputedError(
                f"p={p} was not computed; p must be one of the requested orders {sorted(self.moments)}."
            )
        return self.moments[key]


class MomentNotComputedError(KeyError, ValueError):
    """A moment order that was not requested (a ``KeyError``, as before, and a ``ValueError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class SignedInterference(Savable):
    """Positive and negative interference of the unordered pairs ``i < j``.

    A ReLU passes positive interference ``max(W_i·W_j, 0)`` and, with a negative
    bias, filters the negative part: an antipodal pair has only negative
    interference. With ``weighted=False`` the parts are those of the cosines
    (unit directions); with ``weighted=True`` those of the dot products
    ``W_i·W_j`` of the weights with their norms.

    Attributes
    ----------
    n : int
        Number of rows.
    positive, negative : dict of float to float
        ``{p: Σ_{i<j} max(±c_ij, 0)**p}`` for each requested finite ``p``; an
        infinite ``p`` maps to the largest value of that part.
    max_positive : float
        ``max_{i<j} max(c_ij, 0)``: the largest positive overlap (0 if none).
    positive_pair : tuple of int or None
        A pair attaining it.
    max_negative : float
        ``max_{i<j} max(-c_ij, 0)``.
    negative_pair : tuple of int or None
        A pair attaining it.
    weighted : bool
        Whether ``c_ij`` is the dot product of the weights (True) or the cosine (False).
    """

    n: int
    positive: dict
    negative: dict
    max_positive: float
    positive_pair: tuple | None
    max_negative: float
    negative_pair: tuple | None
    weighted: bool = False


def cosine_matrix(W) -> np.ndarray:
    """Return the ``(n, n)`` matrix of cosines between the rows of ``W``.

    The diagonal is 1 for nonzero rows and 0 for zero rows; rounding overshoot
    beyond ``[-1, 1]`` is clipped. This materializes ``n × n`` numbers: for
    large ``n`` use :func:`pairwise_statistics`, which works in tiles.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.

    Returns
    -------
    ndarray, shape (n, n)
        Same float precision as ``W`` (float64 for integer input).

    Raises
    ------
    ValueError, TypeError
        If ``W`` is not a finite real 2-D array.

    Examples
    --------
    >>> cosine_matrix([[1.0, 0.0], [1.0, 1.0]]).round(4)
    array([[1.    , 0.7071],
           [0.7071, 1.    ]])
    """
    W = check_packing(W)
    n, d = W.shape
    need = n * n * W.itemsize + n * d * (W.itemsize + 8)
    check_memory(need, "cosine_matrix", "the n x n cosines", n=n, d=d)
    U = unit_rows(W)
    C = U @ U.T
    clip_cosines(C)
    nonzero = np.einsum("ij,ij->i", U, U) > 0
    np.fill_diagonal(C, nonzero.astype(C.dtype))
    return C


def _finish(acc, orders, n, method) -> PairStatistics:
    moments = {}
    for p in orders:
        moments[float(p)] = acc.sums[p] if np.isfinite(p) else (acc.max if n > 1 else 0.0)
    coh = min(acc.max, 1.0) if n > 1 else 0.0
    hist = (acc.counts, acc.edges) if acc.counts is not None else None
    signed = None
    if acc.pos is not None:
        pos, max_pos, pos_pair = _side(acc.pos, orders, n)
        neg, max_neg, neg_pair = _side(acc.neg, orders, n)
        signed = SignedInterference(
            n=n,
            positive=pos,
            negative=neg,
            max_positive=max_pos,
            positive_pair=pos_pair,
            max_negative=max_neg,
            negative_pair=neg_pair,
            weighted=False,
        )
    return PairStatistics(
        n=n,
        n_pairs=n * (n - 1) // 2,
        moments=moments,
        coherence=coh,
        coherent_pair=_pair(acc.argmax, acc.max, n),
        orthogonal_pairs=acc.ortho,
        atol=acc.atol,
        histogram=hist,
        method=method,
        signed=signed,
    )


def _check_bins(bins):
    if bins is None:
        return None
    if isinstance(bins, str | bytes):
        raise TypeError(f"bins must be an int or a sequence of bin edges; got {_describe(bins)}.")
    if np.ndim(bins) == 0:
        return check_int(bins, "bins", minimum=1)
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"bins must be an int or a sequence of bin edges; got {_describe(bins)}.") from None
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"bins must hold at least 2 edges; got shape {edges.shape}.")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins edges must be finite and strictly increasing; got {edges.tolist()}.")
    return edges


def _check_method(method, block_size, n_threads):
    expected = "'auto', 'dense' or 'blocked'"
    method = check_choice(method, "method", ("auto", "dense", "blocked"), expected=expected)
    if block_size is not None:
        block_size = check_int(block_size, "block_size", minimum=1)
    if n_threads is not None:
        n_threads = check_int(n_threads, "n_threads", minimum=1)
    return method, block_size, n_threads


def _check_pass_memory(func: str, W: np.ndarray, method, block_size, n_threads, bins) -> None:
    """Refuse a tiled pass whose cosine matrix (dense) or tiles would not fit in the memory limit."""
    n, d = W.shape
    method, B, threads = resolve(n, W.itemsize, method, block_size, n_threads)
    need = memory_estimate(n, d, W.itemsize, method, B, threads, bins)
    sizes = {"n": n, "d": d, "method": method} | ({"block_size": B} if method == "blocked" else {})
    purpose = "the unit rows and the cosines of the pass"
    if bins is not None:  # a huge bin count is the cause as often as a huge n
        nbins = bins if isinstance(bins, int) else len(bins) - 1
        sizes["bins"] = nbins
        purpose += f" and the {nbins}-bin histogram"
    check_memory(need, func, purpose, **sizes)


def pairwise_statistics(
    W,
    p=(1.0, 2.0, np.inf),
    *,
    atol: float | None = None,
    bins=None,
    signed: bool = False,
    method: str = "auto",
    block_size: int | None = None,
    n_threads: int | None = None,
) -> PairStatistics:
    """Compute interference moments, coherence and orthogonal pairs in one pass.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row. float32 input is computed in float32
        (relative error about 1e-6), everything else in float64. Rows are
        rescaled by their largest entry before they are normalised, so every
        finite nonzero row is a direction; all-zero rows are orthogonal to everything.
    p : float or sequence of float, default (1, 2, inf)
        Moment orders, each ``> 0``; ``np.inf`` stands for the coherence.
    atol : float, optional
        Pairs with ``|cos| <= atol`` count as orthogonal. Default
        :func:`default_atol` of the working precision.
    bins : int or sequence of float, optional
        If given, also histogram ``|cos|`` over the pairs (``int``: equal bins on
        [0, 1]; a sequence: strictly increasing edges, as ``numpy.histogram``).
    signed : bool, default False
        Also compute the positive and negative parts of the cosines in the same
        pass (:class:`SignedInterference`, in the ``signed`` attribute).
    method : {"auto", "dense", "blocked"}
        ``"dense"`` forms the whole cosine matrix; ``"blocked"`` works in
        ``block_size × block_size`` tiles of the upper triangle and never holds
        more than two tiles per thread; ``"auto"`` tiles when the full matrix
        would exceed 64 MiB.
    block_size : int, optional
        Tile edge for the blocked path (default 2048).
    n_threads : int, optional
        Threads for the elementwise reductions (default: CPU count, at most 4).

    Returns
    -------
    PairStatistics

    Raises
    ------
    ValueError, TypeError
        On a non-finite, non-real or non-2-D ``W``, ``p <= 0`` or negative ``atol``.

    Examples
    --------
    >>> s = pairwise_statistics(np.eye(3)[[0, 1, 2, 0]] + [[0, 0, 0]] * 4, p=[1, 2])
    >>> s.n_pairs, s.orthogonal_pairs, s.coherence, s.moment(2)
    (6, 5, 1.0, 1.0)
    >>> s = pairwise_statistics([[1, 0], [-1, 0], [0, 1]], p=[1], signed=True)
    >>> s.coherence, s.signed.max_positive, s.signed.negative[1.0]
    (1.0, 0.0, 1.0)
    >>> pairwise_statistics([[1.0, 0.0]], p=0)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got 0.0.
    """
    W = check_packing(W)
    orders, _ = check_ps(p)
    atol = default_atol(W.dtype) if atol is None else check_tolerance(atol, "atol")
    bins = _check_bins(bins)
    signed = check_bool(signed, "signed")
    method, block_size, n_threads = _check_method(method, block_size, n_threads)
    _check_pass_memory("pairwise_statistics", W, method, block_size, n_threads, bins)
    n = W.shape[0]
    acc, method = _tiled(unit_rows(W), orders, atol, bins, method, block_size, n_threads, signed)
    return _finish(acc, orders, n, method)


def signed_interference(
    W,
    p=(1.0, 2.0, np.inf),
    *,
    weighted: bool = False,
    method: str = "auto",
    block_size: int | None = None,
    n_threads: int | None = None,
) -> SignedInterference:
    """Positive and negative interference of a packing, in one tiled pass.

    A ReLU output passes positive interference and a negative bias filters the
    negative part, so for the ReLU toy models the positive part is the one that
    costs: an antipodal pair has zero positive interference.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.
    p : float or sequence of float, default (1, 2, inf)
        Orders ``> 0``; ``np.inf`` gives the largest value of each part.
    weighted : bool, default False
        ``False``: parts of the cosines of the unit directions. ``True``: parts of
        the dot products ``W_i·W_j`` of the weights with their norms (the
        interference a toy model's hidden layer actually adds), computed as
        ``|W_i| |W_j| cos θ_ij`` from the rows' directions and norms at any scale:
        accurate to about ``1e-16 |W_i| |W_j|``, as any dot product of directions.
        A weighted moment too large for a float raises ``OverflowError``.
    method, block_size, n_threads
        As for :func:`pairwise_statistics`.

    Returns
    -------
    SignedInterference

    Examples
    --------
    >>> s = signed_interference([[1, 0], [-1, 0], [0, 1], [0, -1]], p=[1, np.inf])
    >>> s.positive[1.0], s.negative[1.0], s.max_negative
    (0.0, 2.0, 1.0)
    >>> s = signed_interference([[2, 0], [1, 1]], p=[1], weighted=True)
    >>> s.positive[1.0], s.positive_pair
    (2.0, (0, 1))
    """
    W = check_packing(W)
    orders, _ = check_ps(p)
    weighted = check_bool(weighted, "weighted")
    method, block_size, n_threads = _check_method(method, block_size, n_threads)
    _check_pass_memory("signed_interference", W, method, block_size, n_threads, None)
    n = W.shape[0]
    if not weighted:
        acc, _ = _tiled(unit_rows(W), orders, 0.0, None, method, block_size, n_threads, True)
        return _finish(acc, orders, n, method).signed
    # dot products of rows of any norms: per-row binary exponents, moments summed in log space
    U, w, e = scaled_norms(W)
    pos, neg = weighted_signed(U * w[:, None], e, orders, block_size or 1024)
    return SignedInterference(
        n, pos["moments"], neg["moments"], pos["max"], pos["pair"], neg["max"], neg["pair"], True
    )


def interference_moments(W, p=(1.0, 2.0, 4.0, np.inf), **kwargs) -> np.ndarray:
    """Return ``Σ_{i<j} |cos θ_ij|**p`` for several orders ``p`` in one pass.

    Parameters
    ----------
    W : array_like, shape (n, d)
    p : sequence of float
        Orders ``> 0``; ``np.inf`` gives the coherence.
    **kwargs
        Passed to :func:`pairwise_statistics` (``method``, ``block_size``, ...).

    Returns
    -------
    ndarray, shape (len(p),)

    Examples
    --------
    >>> interference_moments([[1, 0], [0, 1], [1, 1]], p=[1, 2, np.inf]).round(4)
    array([1.4142, 1.    , 0.7071])
    """
    orders, _ = check_ps(p)
    stats = pairwise_statistics(W, orders, **kwargs)
    return np.array([stats.moments[float(q)] for q in orders])


def interference_moment(W, p, **kwargs):
    """Return ``Σ_{i<j} |cos θ_ij|**p`` (``p = inf``: the coherence).

    Parameters
    ----------
    W : array_like, shape (n, d)
        One feature vector per row.
    p : float or sequence of float
        Order(s) ``> 0``. A sequence returns an array with one moment per order,
        all computed in one pass.
    **kwargs
        Passed to :func:`pairwise_statistics`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> W = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    >>> round(interference_moment(W, 2), 6)
    1.0
    >>> interference_moment(W, -1)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got -1.0.
    """
    orders, scalar = check_ps(p)
    values = interference_moments(W, orders, **kwargs)
    return float(values[0]) if scalar else values


def orthogonal_pairs(W, atol: float | None = None, **kwargs) -> int:
    """Count unordered pairs ``i < j`` with ``|cos θ_ij| <= atol``.

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, optional
        Tolerance (default :func:`default_atol` of the working precision).

    Returns
    -------
    int

    Examples
    --------
    >>> orthogonal_pairs(np.eye(4))
    6
    >>> orthogonal_pairs(np.eye(4), atol=-1)
    Traceback (most recent call last):
    ...
    ValueError: atol must be >= 0.0; got -1.0.
    """
    return pairwise_statistics(W, p=(np.inf,), atol=atol, **kwargs).orthogonal_pairs


def coherence(W, **kwargs) -> float:
    """Return the coherence ``max_{i<j} |cos θ_ij|`` (0 for a single row).

    Examples
    --------
    >>> round(coherence([[1, 0], [0.5, 3 ** 0.5 / 2], [-0.5, 3 ** 0.5 / 2]]), 6)
    0.5
    """
    return pairwise_statistics(W, p=(np.inf,), **kwargs).coherence
