"""Random packings: Haar rotations and uniformly random unit vectors."""

from __future__ import annotations

import numpy as np

from .._rows import unit_rows
from .._validation import check_int, check_memory, check_rng

__all__ = ["haar_rotation", "random_packing"]


def haar_rotation(d: int, *, rng=None) -> np.ndarray:
    """Return a Haar-random ``d x d`` orthogonal matrix (QR with sign correction).

    Examples
    --------
    >>> Q = haar_rotation(3, rng=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(3)))
    True
    >>> haar_rotation(3, rng="x")
    Traceback (most recent call last):
    ...
    TypeError: rng must be None, a non-negative int seed or a numpy.random.Generator ...
    """
    d = check_int(d, "d", minimum=1)
    rng = check_rng(rng)
    check_memory(32 * d * d, "haar_rotation", "the d x d Gaussian matrix and its QR factors", d=d)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def random_packing(n: int, d: int, *, rng=None) -> np.ndarray:
    """Return ``n`` independent uniformly random unit vectors in ``R^d`` (Johnson–Lindenstrauss style).

    Pairwise cosines concentrate around 0 with variance ``1/d``.

    Examples
    --------
    >>> W = random_packing(1000, 400, rng=0)
    >>> W.shape, bool(np.allclose(np.linalg.norm(W, axis=1), 1))
    ((1000, 400), True)
    >>> random_packing(3, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    rng = check_rng(rng)
    check_memory(16 * n * d, "random_packing", "the (n, d) Gaussian draws and their unit rows", n=n, d=d)
    return unit_rows(rng.normal(size=(n, d)))
