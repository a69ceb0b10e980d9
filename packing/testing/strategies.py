"""Hypothesis strategies that generate packings, for this project's tests and yours.

Not re-exported at the top level of :mod:`packing` (it is for tests)::

    from hypothesis import given
    from packing.testing.strategies import unit_packings, tegum_products, overlapping_sets

    @given(tegum_products())
    def test_cross_block_pairs_are_orthogonal(case):
        W, labels = case
        ...

Every strategy draws its sizes first and its entries from bounded floats, so
failing examples shrink to small, simple packings. All options are
keyword-only; a size is an int, a ``(min, max)`` tuple or a strategy of ints.

Rows of generated data
----------------------
Entries are drawn from 32-bit floats in ``[-1, 1]``. A row drawn all zero has
no direction, so it is drawn again (a per-row ``filter``); every other row,
however small its entries, is scaled to unit norm by the toolkit's one row
helper (:func:`packing._rows.unit_rows`), which is exact down to subnormal
entries. Generated packings therefore follow the library's own zero-row policy
(only exactly zero rows lack a direction) and never contain a row the strategy
invented: no row is replaced by a coordinate vector.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .._rows import nonzero_rows, unit_rows
from .._validation import check_bool, check_choice, check_int
from ..constructions import haar_rotation, mutually_unbiased_bases, tegum_product

__all__ = ["unit_packings", "tegum_products", "overlapping_sets"]

#: A size option: a fixed int, an inclusive ``(min, max)`` range, or a strategy of ints.
Size = int | tuple[int, int] | st.SearchStrategy[int]

_ENTRIES = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, width=32)
#: Largest sizes a strategy draws (rows are drawn one by one: hypothesis data, not a benchmark).
MAX_ROWS, MAX_DIM, MAX_BLOCKS = 10_000, 1_000, 1_000


def _sizes(value: Size, name: str, default_min: int, maximum: int) -> st.SearchStrategy[int]:
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        lo = check_int(value[0], f"{name}[0]", minimum=default_min, maximum=maximum)
        hi = check_int(value[1], f"{name}[1]", minimum=lo, maximum=maximum)
        return st.integers(lo, hi)
    return st.just(check_int(value, name, minimum=default_min, maximum=maximum))


def _has_direction(row: np.ndarray) -> bool:
    return bool(nonzero_rows(row[None, :])[0])


@st.composite
def _unit_block(draw, n: int, d: int) -> np.ndarray:
    """Draw ``n`` rows of ``R^d`` with a direction each (redrawing all-zero rows) and normalise them."""
    row = hnp.arrays(np.float64, (d,), elements=_ENTRIES).filter(_has_direction)
    return unit_rows(np.stack([draw(row) for _ in range(n)]), dtype=np.float64)


@st.composite
def _unit_packings(draw, n, d):
    return draw(_unit_block(draw(n), draw(d)))


def unit_packings(*, n: Size = (1, 12), d: Size = (1, 6)) -> st.SearchStrategy[np.ndarray]:
    """Strategy for float64 packings of shape ``(n, d)`` with unit-norm rows.

    Parameters
    ----------
    n, d : int, (min, max) tuple, or strategy of int
        Number of rows (``1..10_000``) and columns (``1..1_000``).

    Returns
    -------
    SearchStrategy of ndarray

    Examples
    --------
    >>> from hypothesis import find
    >>> W = find(unit_packings(n=5, d=3), lambda W: True)
    >>> W.shape, bool(np.allclose(np.linalg.norm(W, axis=1), 1))
    ((5, 3), True)
    >>> unit_packings(n=0)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    return _unit_packings(_sizes(n, "n", 1, MAX_ROWS), _sizes(d, "d", 1, MAX_DIM))


@st.composite
def _tegum_products(draw, blocks, block_n, block_d, rotate):
    k = draw(blocks)
    arrays = [draw(_unit_block(draw(block_n), draw(block_d))) for _ in range(k)]
    do_rotate = draw(st.booleans()) if rotate is None else rotate
    seed = draw(st.integers(0, 2**32 - 1)) if do_rotate else None
    return tegum_product(*arrays, rotate=do_rotate, rng=seed, return_labels=True)


def tegum_products(
    *,
    blocks: Size = (1, 4),
    block_n: Size = (1, 5),
    block_d: Size = (1, 3),
    rotate: bool | None = None,
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Strategy for tegum products ``(W, labels)``: unit-norm random blocks in orthogonal subspaces.

    ``labels[i]`` is the block of row ``i`` (the true partition): rows with
    different labels are exactly orthogonal (up to rounding after rotation).

    Parameters
    ----------
    blocks : int, (min, max) tuple, or strategy of int
        Number of blocks.
    block_n, block_d : int, (min, max) tuple, or strategy of int
        Rows and dimensions of each block (drawn per block).
    rotate : bool or None
        Apply a Haar-random rotation; ``None`` draws it.

    Returns
    -------
    SearchStrategy of (ndarray of shape (n, d), ndarray of int of shape (n,))

    Examples
    --------
    >>> from hypothesis import find
    >>> W, labels = find(tegum_products(blocks=3, block_n=2, block_d=2, rotate=False), lambda c: True)
    >>> W.shape, labels.tolist()
    ((6, 6), [0, 0, 1, 1, 2, 2])
    >>> tegum_products(blocks=(3, 2))
    Traceback (most recent call last):
    ...
    ValueError: blocks[1] must be >= 3; got 2.
    """
    if rotate is not None and not isinstance(rotate, bool):
        raise TypeError(f"rotate must be True, False or None; got {type(rotate).__name__} {rotate!r}.")
    return _tegum_products(
        _sizes(blocks, "blocks", 1, MAX_BLOCKS),
        _sizes(block_n, "block_n", 1, MAX_ROWS),
        _sizes(block_d, "block_d", 1, MAX_DIM),
        rotate,
    )


@st.composite
def _overlapping_sets(draw, n, d, kind, with_labels):
    dd = draw(d)
    nn = draw(n)
    if kind == "mub":
        dd = draw(st.sampled_from([1, 2, 4, 16]))
        sets = draw(st.integers(1, dd // 2 + 1 if dd > 1 else 1))
        W = mutually_unbiased_bases(dd, sets)
        nn = W.shape[0]
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        sets = -(-nn // dd)
        W = np.vstack([haar_rotation(dd, rng=rng) for _ in range(sets)])[:nn]
    labels = np.arange(nn) // dd
    return (W, labels) if with_labels else W


def overlapping_sets(
    *,
    n: Size = (1, 16),
    d: Size = (1, 6),
    kind: str = "random",
    with_labels: bool = False,
) -> st.SearchStrategy[np.ndarray] | st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """Strategy for overlapping orthonormal sets: ``ceil(n/d)`` bases of ``R^d`` stacked (``n`` rows).

    ``kind="random"`` draws Haar-random bases; ``kind="mub"`` draws real mutually
    unbiased bases (``d`` in 1, 2, 4, 16 and a full number of bases; ``n`` and
    ``d`` are then ignored).

    Parameters
    ----------
    n, d : int, (min, max) tuple, or strategy of int
        Rows and dimension.
    kind : {"random", "mub"}
        Which bases.
    with_labels : bool
        Draw ``(W, labels)`` with the set index of every row instead of ``W``.

    Returns
    -------
    SearchStrategy of ndarray, or of (ndarray, ndarray)

    Examples
    --------
    >>> from hypothesis import find
    >>> W, labels = find(overlapping_sets(n=7, d=3, with_labels=True), lambda c: True)
    >>> W.shape, labels.tolist()
    ((7, 3), [0, 0, 0, 1, 1, 1, 2])
    >>> overlapping_sets(kind="hadamard")
    Traceback (most recent call last):
    ...
    ValueError: kind must be 'random' or 'mub'; got 'hadamard'.
    """
    check_choice(kind, "kind", ("random", "mub"), expected="'random' or 'mub'")
    with_labels = check_bool(with_labels, "with_labels")
    return _overlapping_sets(_sizes(n, "n", 1, MAX_ROWS), _sizes(d, "d", 1, MAX_DIM), kind, with_labels)
