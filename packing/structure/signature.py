"""A gauge-invariant fingerprint of a packing, to recognise the same packing across seeds.

The gauge of a packing is what does not change it: an orthogonal map of
``R^d`` (rotation or reflection), a permutation of the features and, for lines
rather than vectors, a sign flip of each feature. :func:`packing_signature`
keeps only what the gauge leaves unchanged (the Gram spectrum and each
feature's sorted Gram row); :func:`deduplicate_packings` groups packings whose
signatures agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .._results import Savable
from .._rows import gram_spectrum, unit_rows
from .._validation import (
    _describe,
    check_bool,
    check_instance,
    check_int,
    check_memory,
    check_packing,
    check_tolerance,
)

__all__ = ["PackingSignature", "packing_signature", "deduplicate_packings"]

#: Default tolerance of ``==`` between signatures.
SIGNATURE_ATOL = 1e-6
#: Rows of the feature-distance matrix computed at once (memory O(64 n²)) ...
_BLOCK = 64
#: ... at most this many bytes of them.
_BLOCK_BYTES = 2**27
#: Bytes per pair a signature needs: the Gram matrix, its sorted rows, the profiles and their copies.
SIGNATURE_BYTES_PER_PAIR = 48


@dataclass(frozen=True, eq=False)
class PackingSignature(Savable):
    """A fingerprint of a packing invariant under its gauge symmetries.

    Invariant under orthogonal maps of ``R^d`` (rotations and reflections),
    permutations of the features, and, when ``signed=False``, sign flips of
    individual features. Two signatures compare equal (``==``) when they agree
    within ``atol``; rows are matched by an optimal assignment, so ties and
    noise do not depend on an ordering.

    Attributes
    ----------
    n : int
        Number of rows.
    rank : int
        Numerical rank of the (normalised) rows.
    spectrum : ndarray, shape (n,)
        Eigenvalues of the Gram matrix, descending.
    profiles : ndarray, shape (n, n + 2) or (n, 2 profile + 2)
        One row per feature: its Gram row sorted (absolute values if unsigned),
        or with ``profile`` set only the ``profile`` smallest then the ``profile``
        largest entries of it, then ``(G**2)_ii`` and ``(G**3)_ii`` (both
        unchanged by sign flips).
    signed, normalize : bool
        The gauge the signature was built for.
    atol : float
        Tolerance used by ``==``.
    profile : int or None
        Entries kept from each end of the sorted Gram rows (None: all of them).
        Signatures with different ``profile`` are not comparable (distance inf).
    """

    n: int
    rank: int
    spectrum: np.ndarray
    profiles: np.ndarray
    signed: bool
    normalize: bool
    atol: float
    profile: int | None = None

    def distance(self, other: PackingSignature) -> float:
        """Largest entry-wise difference after optimally matching features (inf if incomparable)."""
        from scipy.optimize import linear_sum_assignment

        check_instance(other, PackingSignature, "other")
        gauge = ("n", "rank", "signed", "normalize", "profile")
        if any(getattr(self, a) != getattr(other, a) for a in gauge):
            return np.inf
        if self.n == 0:
            return 0.0
        spec = float(np.max(np.abs(self.spectrum - other.spectrum)))
        n = self.n
        rows = max(1, min(_BLOCK, _BLOCK_BYTES // (8 * n * (n + 2))))
        check_memory(
            24 * n * n + 8 * rows * n * (n + 2), "PackingSignature.distance", "the feature distances", n=n
        )
        diff = np.empty((n, n))
        for i in range(0, n, rows):
            block = self.profiles[i : i + rows, None, :] - other.profiles[None, :, :]
            diff[i : i + rows] = np.abs(block).max(axis=2)
        rows, cols = linear_sum_assignment(diff)
        return max(spec, float(diff[rows, cols].max()))

    def matches(self, other: PackingSignature, atol: float | None = None) -> bool:
        """Whether ``other`` is the same packing up to the gauge, within ``atol``."""
        atol = self.atol if atol is None else check_tolerance(atol, "atol")
        check_instance(other, PackingSignature, "other")
        if self.n == other.n and self.n and np.max(np.abs(self.spectrum - other.spectrum)) > atol:
            return False  # cheap rejection before matching the features
        return self.distance(other) <= atol

    def __eq__(self, other) -> bool:
        if not isinstance(other, PackingSignature):
            return NotImplemented
        return self.matches(other)

    __hash__ = None  # tolerant equality cannot be hashed; use key() to bucket

    def key(self, decimals: int = 3) -> tuple:
        """Return a hashable, rounded summary (equal packings may straddle a rounding edge).

        ``decimals`` is an int in [-400, 400] (beyond, rounding a float64 changes nothing).
        """
        decimals = check_int(decimals, "decimals", minimum=-400, maximum=400)
        return (self.n, self.rank, self.signed, tuple(np.round(self.spectrum, decimals) + 0.0))


def packing_signature(
    W,
    *,
    signed: bool = True,
    normalize: bool = True,
    atol: float = SIGNATURE_ATOL,
    profile: int | None = None,
) -> PackingSignature:
    """Return the gauge-invariant signature of a packing.

    Parameters
    ----------
    W : array_like, shape (n, d)
    signed : bool, default True
        Features are vectors (True; a sign flip changes the packing, as in a ReLU
        toy model) or lines (False; sign flips are a symmetry).
    normalize : bool, default True
        Compare directions only (rows scaled to unit norm; zero rows stay zero).
    atol : float, default 1e-6
        Tolerance of ``==`` between signatures.
    profile : int, optional
        Keep only the ``profile`` smallest and ``profile`` largest entries of each
        sorted Gram row (the whole row when ``n <= 2 profile``): memory
        ``O(n profile)`` instead of ``O(n²)``, read off the Gram matrix tile by
        tile (in float32 for float32 ``W``, so the entries carry float32
        rounding, about ``1e-7``). Default: the whole rows.

    Returns
    -------
    PackingSignature

    Raises
    ------
    OverflowError
        With ``normalize=False``, when the Gram powers leave the float range
        (entries beyond about ``1e50``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(5, 3))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    >>> packing_signature(W) == packing_signature(W[::-1] @ Q)
    True
    >>> flipped = W * [[1], [-1], [1], [1], [1]]
    >>> packing_signature(W) == packing_signature(flipped)
    False
    >>> packing_signature(W, signed=False) == packing_signature(flipped, signed=False)
    True
    >>> packing_signature(W, profile=1).profiles.shape  # the smallest and largest entry of each row
    (5, 4)
    >>> packing_signature(W, profile=0)
    Traceback (most recent call last):
    ...
    ValueError: profile must be >= 1; got 0.
    """
    W = check_packing(W)
    atol = check_tolerance(atol, "atol")
    signed, normalize = check_bool(signed, "signed"), check_bool(normalize, "normalize")
    if profile is not None:
        profile = check_int(profile, "profile")
    n, d = W.shape
    if profile is not None and n > 2 * profile:
        from ._scan import check_scan_memory

        check_scan_memory("packing_signature", n, d, W.itemsize, profile=profile)
    else:
        check_signature_memory("packing_signature", n, d)
    return _packing_signature(W, signed, normalize, atol, profile)


def check_signature_memory(func: str, n: int, d: int) -> None:
    """Refuse a signature whose ``n x n`` matrices would not fit in the memory limit."""
    check_memory(
        SIGNATURE_BYTES_PER_PAIR * n * n + 16 * n * d, func, "the n x n Gram matrix and profiles", n=n, d=d
    )


def _packing_signature(
    W: np.ndarray, signed: bool, normalize: bool, atol: float, profile: int | None = None
) -> PackingSignature:
    """:func:`packing_signature` of a checked ``W``, options checked."""
    X = unit_rows(W, dtype=np.float64) if normalize else np.asarray(W, dtype=np.float64)
    n = X.shape[0]
    if profile is not None and n > 2 * profile:
        from ._scan import scan

        T = unit_rows(W) if normalize else W  # float32 stays float32 in the tiles
        s = scan(T, X, 0.0, structure=False, signed=False, profile=profile, profile_signed=signed)
        return _signature_of_ends(X, s.profile_low, s.profile_high, signed, normalize, atol, profile)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        G = X @ X.T
    rows = np.sort(G if signed else np.abs(G), axis=1)
    return _signature_of_rows(X, rows, signed, normalize, atol, None)


def _signature_of_ends(X, low, high, signed, normalize, atol, profile) -> PackingSignature:
    """Return the signature whose profiles keep the ``profile`` smallest and largest entries of each row."""
    rows = np.concatenate([np.sort(low, axis=1), np.sort(high, axis=1)], axis=1).astype(np.float64)
    return _signature_of_rows(X, rows, signed, normalize, atol, profile)


def _signature_of_rows(X, rows, signed, normalize, atol, profile, chunk: int = 8192) -> PackingSignature:
    """Return the signature of rows ``X`` (float64) from the sorted (or truncated) Gram ``rows``."""
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        spectrum = gram_spectrum(X)
        S = X.T @ X  # (G^k)_ii = X_i S^(k-1) X_iᵀ: no n x n x n products
        S2 = S @ S
        walks = np.empty((n, 2))
        for r0 in range(0, n, chunk):
            R = X[r0 : r0 + chunk]
            walks[r0 : r0 + chunk, 0] = np.einsum("ij,ij->i", R @ S, R)
            walks[r0 : r0 + chunk, 1] = np.einsum("ij,ij->i", R @ S2, R)
    if not (np.isfinite(walks).all() and np.isfinite(spectrum).all()):  # only without normalize
        raise OverflowError(
            f"W's entries must stay below about 1e50 for the Gram powers (G³ grows as |W|**6) of the "
            f"signature with normalize=False; got {float(np.max(np.abs(X))):.3g}, beyond the float range. "
            f"Use normalize=True or rescale W."
        )
    scale = max(float(np.max(np.abs(spectrum))), 1e-300) if n else 1e-300
    rank = int(np.count_nonzero(spectrum > 1e-8 * scale)) if n else 0
    return PackingSignature(n, rank, spectrum, np.c_[rows, walks], signed, normalize, atol, profile)


def deduplicate_packings(Ws, *, signed: bool = True, atol: float = 0.05, normalize: bool = True):
    """Group packings that are the same up to rotation, reflection, relabelling (and signs).

    Parameters
    ----------
    Ws : sequence of array_like, each (n_k, d_k), or array of shape (instances, n, d)
    signed : bool, default True
        See :func:`packing_signature`.
    atol : float, default 0.05
        Largest signature difference within one group (learned packings are noisy).
    normalize : bool, default True

    Returns
    -------
    representatives : list of int
        Index of the first packing of each group.
    labels : ndarray of int
        Group of every packing (an index into ``representatives``).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> A, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    >>> deduplicate_packings([A, B, A @ Q, B[::-1]])
    ([0, 1], array([0, 1, 0, 1]))
    """
    atol = check_tolerance(atol, "atol")
    if isinstance(Ws, np.ndarray) and Ws.ndim != 3:
        raise ValueError(f"Ws must be a sequence of (n, d) packings or a 3-D array; got shape {Ws.shape}.")
    if isinstance(Ws, str | bytes | dict) or not isinstance(Ws, Iterable):
        raise TypeError(f"Ws must be a sequence of (n, d) packings or a 3-D array; got {_describe(Ws)}.")
    signed, normalize = check_bool(signed, "signed"), check_bool(normalize, "normalize")
    packings = [check_packing(W, f"Ws[{k}]", dtype=np.float64) for k, W in enumerate(Ws)]
    for k, W in enumerate(packings):
        check_signature_memory(f"deduplicate_packings (Ws[{k}])", *W.shape)
    sigs = [_packing_signature(W, signed, normalize, SIGNATURE_ATOL) for W in packings]
    reps, labels = [], np.empty(len(sigs), dtype=int)
    for k, s in enumerate(sigs):
        for g, r in enumerate(reps):
            if s.matches(sigs[r], atol):
                labels[k] = g
                break
        else:
            labels[k] = len(reps)
            reps.append(k)
    return reps, labels
