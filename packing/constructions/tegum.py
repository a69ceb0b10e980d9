"""Direct sums (tegum products) of small packings, and overlapping orthonormal sets."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import (
    _describe,
    check_bool,
    check_callable,
    check_int,
    check_memory,
    check_packing,
    check_rng,
    show_int,
)
from .etf import mutually_unbiased_bases
from .known import best_known_block
from .polytopes import regular_polygon_lines, regular_simplex
from .random import haar_rotation, random_packing

__all__ = ["tegum_product", "partition_sizes", "tegum_packing", "overlapping_orthogonal_sets"]


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
    rotate = check_bool(rotate, "rotate")
    return_labels = check_bool(return_labels, "return_labels")
    if not rotate:  # unused, but a bad rng is still an error, not silently ignored
        check_rng(rng)
    arrays = [check_packing(B, f"blocks[{i}]", dtype=np.float64) for i, B in enumerate(blocks)]
    n = sum(B.shape[0] for B in arrays)
    d = sum(B.shape[1] for B in arrays)
    check_memory(
        8 * n * d * (3 if rotate else 1) + 32 * d * d * rotate,
        "tegum_product",
        "the block-diagonal (n, d) array",
        n=n,
        d=d,
    )
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
            f"k must be <= min(n, d) = {show_int(min(n, d))} so every block has a feature and a dimension; "
            f"got k={show_int(k)}."
        )
    check_memory(_BYTES_PER_BLOCK * k, "partition_sizes", "the list of k (n_b, d_b) pairs", k=k)
    ns = [n // k + (b < n % k) for b in range(k)]
    ds = [d // k + (b < d % k) for b in range(k)]
    return list(zip(ns, ds, strict=True))


#: Bytes of one ``(n_b, d_b)`` entry of a Python list of pairs (a tuple of two ints and its slot).
_BYTES_PER_BLOCK = 128


def _block_factory(block):
    if callable(block):
        _, arity = check_callable(
            block, "block", (2, 3), "a callable block(n_b, d_b) or block(n_b, d_b, rng)"
        )
        return block if arity == 3 else (lambda m, D, rng: block(m, D))
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
    if isinstance(k, str | bytes):
        raise TypeError(f"k must be an int or a sequence of (n_b, d_b) pairs; got {_describe(k)}.")
    try:
        sizes = [tuple(pair) for pair in k]
    except TypeError:
        raise TypeError(f"k must be an int or a sequence of (n_b, d_b) pairs; got {_describe(k)}.") from None
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
    n_total, d_total = sum(a for a, _ in sizes), sum(b for _, b in sizes)
    check_memory(16 * n_total * d_total, "tegum_packing", "the blocks and the (n, d) array", n=n, d=d)
    arrays = []
    for b, (m, D) in enumerate(sizes):
        B = np.asarray(make(m, D, rng), dtype=np.float64)
        if B.shape != (m, D):
            raise ValueError(f"block returned shape {B.shape} for block {b}; expected ({m}, {D}).")
        arrays.append(B)
    return tegum_product(*arrays, rotate=rotate, rng=rng, return_labels=return_labels)


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
    return_labels = check_bool(return_labels, "return_labels")
    sets = -(-n // d)
    if kind == "random":
        check_memory(
            8 * d * d * (sets + 4), "overlapping_orthogonal_sets", "ceil(n/d) d x d rotations", n=n, d=d
        )
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
