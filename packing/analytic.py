"""Closed forms for tegum products, overlapping orthogonal sets and the constructions.

**Orthogonal pairs.** A tegum product of blocks of ``n_1..n_k`` features makes
every cross-block pair exactly orthogonal: ``(n² − Σ n_b²)/2`` unordered pairs,
plus whatever the blocks hold inside. ``n/d`` overlapping orthonormal bases hold
``d(d−1)/2`` orthogonal pairs per basis and (generically) none across. With
``k`` equal blocks (``k | n``) and ``d | n`` the tegum product has more iff
``n (1 − 1/k) > d − 1`` (:func:`tegum_has_more_orthogonal_pairs`). The often
quoted ``d < n (1 − 1/k)`` counts each basis' ``d`` self-pairs too; the two
differ exactly when ``d − 1 < n (1 − 1/k) <= d``. No ``d + 1`` nonzero vectors of
``R^d`` are mutually orthogonal, so the orthogonality graph has no ``K_{d+1}``
and Turán's theorem bounds the orthogonal pairs (:func:`turan_orthogonal_pairs`,
attained by :func:`turan_packing`).

**Loss of equal tegum products.** ``k`` equal blocks of ``n/k`` features in
``d/k`` dims, each an equal-norm tight frame at the Welch value
``ε(k)² = (n − d) / (d (n/k − 1))``, have ordered-pair loss

    ``L(k) = Σ_{i≠j} |cos θ_ij|^p = n (n/k − 1) ε(k)^p
    = n ((n − d)/d)^{p/2} (n/k − 1)^{1 − p/2}``.

So for ``p < 2`` more blocks are better (``L`` falls with ``k``), for
``p > 2`` fewer (one block, the ETF, is best), and at ``p = 2``
``L(k) = n²/d − n`` for every ``k`` (the frame potential of any tight frame).
See :func:`tegum_loss`, :func:`optimal_k`.

**Spectra.** :class:`PairSpectrum` holds the exact distribution of ``|cos|``
over the unordered pairs of a construction (:func:`construction_spectrum`), from
which every moment, the coherence and the orthogonal pairs follow in closed
form; :func:`tegum_spectrum` combines blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._integers import FactorizationLimit, divisor_count, divisors
from ._results import Savable
from ._validation import (
    _describe,
    check_bool,
    check_choice,
    check_divisor,
    check_equal_blocks,
    check_finite,
    check_float,
    check_int,
    check_int_table,
    check_memory,
    check_p,
    check_real,
    show_int,
)
from .constructions import etf_exists
from .constructions.known import spectrum_moment

__all__ = [
    "tegum_orthogonal_pairs",
    "overlapping_orthogonal_pairs",
    "tegum_has_more_orthogonal_pairs",
    "turan_orthogonal_pairs",
    "turan_packing",
    "admissible_k",
    "tegum_loss",
    "tegum_losses",
    "optimal_k",
    "tegum_loss_regime",
    "PairSpectrum",
    "construction_spectrum",
    "tegum_spectrum",
    "expected_random_moment",
]


def _pairs(m: int) -> int:
    return m * (m - 1) // 2


# --------------------------------------------------------------------------- orthogonal pairs


def tegum_orthogonal_pairs(block_sizes, *, within=None) -> int:
    """Return the exact number of orthogonal unordered pairs of a tegum product.

    Cross-block pairs: ``Σ_{b<c} n_b n_c = (n² − Σ n_b²)/2``; plus ``within[b]``
    orthogonal pairs inside block ``b`` (default 0: blocks with ``n_b > d_b`` built
    from spread packings such as ETFs have none).

    Parameters
    ----------
    block_sizes : sequence of int
        Features per block ``n_b >= 1``.
    within : sequence of int or None
        Orthogonal pairs inside each block (e.g. ``n_b(n_b − 1)/2`` for an
        orthonormal block, ``d_b(d_b − 1)·2`` for a cross-polytope).

    Returns
    -------
    int

    Examples
    --------
    >>> tegum_orthogonal_pairs([3, 3, 4])
    33
    >>> tegum_orthogonal_pairs([2, 2], within=[0])
    Traceback (most recent call last):
    ...
    ValueError: within must have one count per block (2); got 1.
    """
    sizes = check_int_table(block_sizes, "block_sizes", minimum=1, item="block size")
    counts = None
    if within is not None:
        counts = check_int_table(within, "within", minimum=0, length=len(sizes), item="count", per="block")
        for i, (w, s) in enumerate(zip(counts, sizes, strict=True)):
            if w > _pairs(s):
                raise ValueError(f"within[{i}] must be <= n_b(n_b-1)/2 = {_pairs(s)}; got {w}.")
    return _tegum_orthogonal_pairs(sizes, counts)


def _tegum_orthogonal_pairs(sizes: list[int], within: list[int] | None = None) -> int:
    n = sum(sizes)
    return (n * n - sum(s * s for s in sizes)) // 2 + (sum(within) if within else 0)


def overlapping_orthogonal_pairs(n: int, d: int) -> int:
    """Return the orthogonal pairs of ``n`` features laid out as overlapping orthonormal sets.

    ``q = n // d`` full bases hold ``d(d−1)/2`` pairs each; the remaining
    ``r = n mod d`` vectors of one more basis hold ``r(r−1)/2``. Pairs across sets
    are not orthogonal (with probability 1 for random bases; ``|cos| = 1/√d`` for
    mutually unbiased bases).

    Examples
    --------
    >>> overlapping_orthogonal_pairs(10, 4)
    13
    >>> overlapping_orthogonal_pairs(10, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    q, r = divmod(n, d)
    return q * _pairs(d) + _pairs(r)


def tegum_has_more_orthogonal_pairs(n: int, d: int, k: int) -> bool:
    """Decide exactly whether ``k`` equal tegum blocks beat ``n/d`` overlapping bases in orthogonal pairs.

    Needs ``k | n`` and ``d | n``. The tegum product has ``n² (1 − 1/k)/2``
    cross-block orthogonal pairs, the overlapping bases ``n (d − 1)/2``, so the
    tegum product has strictly more iff ``n (1 − 1/k) > d − 1``, i.e.
    ``n (k − 1) > k (d − 1)`` in integers. (Counting a basis' ``d`` self-pairs,
    as the approximate ``d < n (1 − 1/k)`` does, misses the case
    ``n (1 − 1/k) = d``, where the tegum product still wins by ``n/2`` pairs.)

    Examples
    --------
    >>> tegum_has_more_orthogonal_pairs(6, 3, 2)   # 9 cross pairs vs 6
    True
    >>> tegum_has_more_orthogonal_pairs(8, 8, 2)   # 16 vs 28
    False
    >>> tegum_has_more_orthogonal_pairs(9, 3, 2)
    Traceback (most recent call last):
    ...
    ValueError: k must divide n=9 for k equal blocks; got k=2. Divisors of 9: [1, 3, 9].
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    k = check_int(k, "k", minimum=1)
    for value, name, purpose in ((k, "k", "k equal blocks"), (d, "d", "n/d whole bases")):
        check_divisor(value, name, {"n": n}, purpose=purpose, listing=f"Divisors of {n}")
    return n * (k - 1) > k * (d - 1)


def turan_orthogonal_pairs(n: int, d: int) -> int:
    """Return the most orthogonal pairs ``n`` nonzero vectors in ``R^d`` can have (Turán bound).

    No ``d + 1`` nonzero vectors of ``R^d`` are mutually orthogonal, so the graph
    of orthogonal pairs has no clique ``K_{d+1}``; by Turán's theorem it has at
    most as many edges as the complete ``d``-partite graph with near-equal parts:
    ``(n² − Σ n_b²)/2`` with ``n_b ∈ {⌊n/d⌋, ⌈n/d⌉}``. For ``n <= d`` every pair
    can be orthogonal. :func:`turan_packing` attains it.

    Examples
    --------
    >>> turan_orthogonal_pairs(10, 3), turan_orthogonal_pairs(3, 5)
    (33, 3)
    >>> turan_orthogonal_pairs(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 1; got 0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _turan_orthogonal_pairs(n, d)


def _turan_orthogonal_pairs(n: int, d: int) -> int:
    if n <= d:
        return _pairs(n)
    q, r = divmod(n, d)
    return (n * n - r * (q + 1) ** 2 - (d - r) * q * q) // 2


def turan_packing(n: int, d: int, *, return_labels: bool = False):
    """Return ``n`` unit vectors in ``R^d`` with the Turán-maximal number of orthogonal pairs.

    Feature ``i`` is the coordinate vector ``e_{i mod d}``: ``d`` groups of
    (near-)equal size, parallel within a group and orthogonal across groups, a
    tegum product of ``d`` one-dimensional blocks.

    Returns
    -------
    W : ndarray of shape (n, d)
    labels : ndarray of int, shape (n,)
        The group (coordinate) of each row, only if ``return_labels``.

    Examples
    --------
    >>> turan_packing(5, 2)
    array([[1., 0.],
           [0., 1.],
           [1., 0.],
           [0., 1.],
           [1., 0.]])
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return_labels = check_bool(return_labels, "return_labels")
    check_memory(8 * (n + d) * d + 8 * n, "turan_packing", "the (n, d) array", n=n, d=d)
    labels = np.arange(n) % d
    W = np.eye(d)[labels]
    return (W, labels) if return_labels else W


# --------------------------------------------------------------------------- tegum loss


def admissible_k(n: int, d: int) -> list[int]:
    """Return the block counts ``k`` for which ``k`` equal blocks exist: the divisors of ``gcd(n, d)``.

    Examples
    --------
    >>> admissible_k(1000, 100)
    [1, 2, 4, 5, 10, 20, 25, 50, 100]
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _admissible_k(n, d, "admissible_k")


#: Bytes per admissible k held by the tegum-loss tables (an int and a float in a dict).
_BYTES_PER_K = 200


def _admissible_k(n: int, d: int, func: str) -> list[int]:
    """Return the divisors of ``gcd(n, d)`` from its factorization (never a loop up to the gcd)."""
    g = math.gcd(n, d)
    try:
        count = divisor_count(g)
    except FactorizationLimit:
        raise ValueError(
            f"{func}: gcd(n, d) = {show_int(g)} has prime factors too large to find here, so its divisors "
            f"(the admissible block counts k) cannot be listed; n={show_int(n)}, d={show_int(d)}."
        ) from None
    check_memory(_BYTES_PER_K * count, func, "the admissible block counts (divisors of gcd(n, d))", n=n, d=d)
    return divisors(g)


def tegum_loss(n: int, d: int, k: int, p: float, *, ordered: bool = True) -> float:
    """Return the loss of ``k`` equal tegum blocks, each an equal-norm tight frame at the Welch value.

    ``L(k) = n (n/k − 1) ε(k)^p`` with ``ε(k)² = (n − d) / (d (n/k − 1))``, the
    sum of ``|cos θ_ij|^p`` over ordered pairs ``i ≠ j`` (cross-block pairs
    contribute 0). ``ordered=False`` gives the unordered sum ``L(k)/2``.
    ``p = inf`` returns the coherence ``ε(k)``. If ``n <= d`` the blocks are
    orthonormal and the loss is 0. The value is attained when a real ETF of
    ``n/k`` vectors in ``R^{d/k}`` exists; for ``p >= 2`` it is a lower bound on
    the loss of any ``k``-block tegum product of these sizes.

    Parameters
    ----------
    n, d : int
        Features and dimensions.
    k : int
        Number of equal blocks; must divide ``n`` and ``d``.
    p : float > 0 or inf
        Moment order.
    ordered : bool
        Sum over ordered pairs (default, as in ``L(k)``) or unordered pairs.

    Returns
    -------
    float

    Examples
    --------
    >>> round(tegum_loss(1000, 100, 1, 1)), round(tegum_loss(1000, 100, 100, 1))
    (94821, 9000)
    >>> [round(tegum_loss(1000, 100, k, 2), 6) for k in (1, 10, 100)]
    [9000.0, 9000.0, 9000.0]
    >>> tegum_loss(1000, 100, 3, 1)
    Traceback (most recent call last):
    ...
    ValueError: k must divide both n=1000 and d=100 for k equal blocks; got k=3. ...
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _tegum_loss(n, d, check_equal_blocks(n, d, k), check_p(p), check_bool(ordered, "ordered"))


def _tegum_loss(n: int, d: int, k: int, p: float, ordered: bool) -> float:
    if n <= d:
        return 0.0
    m = n // k
    if math.isinf(p):
        return _sqrt_ratio(n - d, d * (m - 1))
    pairs = n * (m - 1) if ordered else n * (m - 1) / 2
    if n < 2**300:  # the direct formula: nothing leaves the float range
        return pairs * math.sqrt((n - d) / (d * (m - 1))) ** p
    log_loss = math.log(n) + math.log(m - 1) + 0.5 * p * (math.log(n - d) - math.log(d) - math.log(m - 1))
    return _exp_or_overflow(log_loss if ordered else log_loss - math.log(2), "the tegum loss", n=n, d=d, p=p)


def _sqrt_ratio(a: int, b: int) -> float:
    """``sqrt(a / b)`` for ints (a ratio below the float range goes through logs)."""
    ratio = a / b
    return math.sqrt(ratio) if ratio > 0.0 or a == 0 else math.exp(0.5 * (math.log(a) - math.log(b)))


def _exp_or_overflow(log_value: float, what: str, **sizes) -> float:
    """``exp(log_value)``; an ``OverflowError`` naming the sizes when it is beyond the float range."""
    if log_value > 709.78:
        shown = ", ".join(f"{k}={show_int(v) if isinstance(v, int) else v}" for k, v in sizes.items())
        raise OverflowError(
            f"{what} at {shown} is about 10^{log_value / math.log(10):.0f}, beyond the float range."
        )
    return math.exp(log_value)


def tegum_losses(n: int, d: int, p: float, *, ordered: bool = True) -> dict[int, float]:
    """Return ``{k: tegum_loss(n, d, k, p)}`` over every admissible ``k``.

    Examples
    --------
    >>> {k: round(v, 1) for k, v in tegum_losses(12, 6, 1).items()}
    {1: 39.8, 2: 26.8, 3: 20.8, 6: 12.0}
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    return _tegum_losses(n, d, check_p(p), check_bool(ordered, "ordered"), "tegum_losses")


def _tegum_losses(n: int, d: int, p: float, ordered: bool, func: str) -> dict[int, float]:
    return {k: _tegum_loss(n, d, k, p, ordered) for k in _admissible_k(n, d, func)}


def tegum_loss_regime(p: float) -> str:
    """Return how ``L(k)`` moves with ``k``: ``"decreasing"``, ``"constant"`` or ``"increasing"``.

    From ``L(k) ∝ (n/k − 1)^{1 − p/2}``: for ``p < 2`` the many exactly orthogonal
    cross-block pairs win, for ``p > 2`` (and ``p = inf``) the low worst case of a
    single spread block wins.

    Examples
    --------
    >>> [tegum_loss_regime(p) for p in (1, 2, 4, float("inf"))]
    ['decreasing', 'constant', 'increasing', 'increasing']
    """
    p = check_p(p)
    return "decreasing" if p < 2 else "constant" if p == 2 else "increasing"


def optimal_k(n: int, d: int, p: float, *, rtol: float = 1e-12) -> int:
    """Return the admissible ``k`` that minimizes :func:`tegum_loss` (ties: the fewest blocks).

    For ``p < 2`` this is the largest common divisor ``gcd(n, d)`` (when
    ``n > d``), for ``p > 2`` it is 1, and at ``p = 2`` every ``k`` ties, so 1.

    Examples
    --------
    >>> optimal_k(1000, 100, 1), optimal_k(1000, 100, 2), optimal_k(1000, 100, 4)
    (100, 1, 1)
    >>> optimal_k(1000, 100, 0)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got 0.0.
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    rtol = check_float(rtol, "rtol", minimum=0.0)
    if n <= d or p >= 2:  # every loss 0, constant in k (p = 2) or increasing (p > 2): k = 1
        return 1
    losses = _tegum_losses(n, d, p, True, "optimal_k")
    best = min(losses.values())
    return min(k for k, v in losses.items() if v <= best * (1 + rtol) + 1e-300)


# --------------------------------------------------------------------------- spectra


@dataclass(frozen=True)
class PairSpectrum(Savable):
    """Exact distribution of ``|cos θ_ij|`` over the unordered pairs of ``n`` vectors.

    Attributes
    ----------
    n : int
        Number of vectors.
    values : tuple of float
        Distinct ``|cos|`` values, increasing (exact zeros are ``0.0``).
    counts : tuple of int
        How many pairs take each value; they sum to ``n (n − 1)/2``.
    """

    n: int
    values: tuple[float, ...]
    counts: tuple[int, ...]

    @classmethod
    def from_pairs(cls, n: int, pairs: dict[float, int]) -> PairSpectrum:
        """Build from ``{|cos|: count}``, merging values equal to 12 significant digits, dropping zero counts.

        Only values given as exactly 0 are orthogonal pairs; a tiny nonzero value
        (the simplex of ``10**13`` points has ``|cos| = 1e-13``) stays nonzero.
        Counts may be ints of any size.
        """
        n = check_int(n, "n", minimum=1)
        if not isinstance(pairs, dict):
            raise TypeError(f"pairs must be a dict {{|cos|: count}}; got {_describe(pairs)}.")
        values = check_finite(check_real(list(pairs), "pairs (its keys)"), "pairs (its keys)")
        if values.size and not (values.min() >= 0.0 and values.max() <= 1.0):
            raise ValueError(f"pairs must have keys |cos| in [0, 1]; got keys {sorted(pairs)[:5]}.")
        counts = [check_int(c, f"pairs[{v!r}]", minimum=0) for v, c in pairs.items()]
        return cls._from_arrays(n, values.reshape(-1), counts)

    @classmethod
    def _from_arrays(cls, n: int, values: np.ndarray, counts) -> PairSpectrum:
        """:meth:`from_pairs` from parallel arrays (``counts`` an int64 array or a list of ints)."""
        keys, groups = np.unique(_significant(values), return_inverse=True)
        if isinstance(counts, np.ndarray):  # int64 counts: their sum n(n-1)/2 is far below 2**63 here
            totals = np.zeros(keys.size, dtype=np.int64)
            np.add.at(totals, groups, counts)
            totals = totals.tolist()
        else:
            totals = [0] * keys.size
            for g, c in zip(groups.tolist(), counts, strict=True):
                totals[g] += int(c)
        items = [(v, c) for v, c in zip(keys.tolist(), totals, strict=True) if c]
        spec = cls(n, tuple(v for v, _ in items), tuple(c for _, c in items))
        if sum(spec.counts) != _pairs(n):
            raise ValueError(
                f"counts must add up to n(n-1)/2 = {show_int(_pairs(n))}; got {show_int(sum(spec.counts))}."
            )
        return spec

    @property
    def n_pairs(self) -> int:
        """``n (n − 1)/2``."""
        return _pairs(self.n)

    @property
    def coherence(self) -> float:
        """Largest ``|cos|`` (0 for fewer than two vectors)."""
        return self.values[-1] if self.values else 0.0

    @property
    def orthogonal_pairs(self) -> int:
        """Number of pairs with ``cos = 0``."""
        return self.counts[0] if self.values and self.values[0] == 0.0 else 0

    def moment(self, p: float) -> float:
        """Return ``Σ_{i<j} |cos θ_ij|^p`` (``p = inf``: the coherence)."""
        p = check_p(p)
        if math.isinf(p):
            return self.coherence
        return spectrum_moment(zip(self.values, self.counts, strict=True), p)


def _significant(values: np.ndarray, digits: int = 12) -> np.ndarray:
    """``|values|`` rounded to ``digits`` significant digits (exact zeros stay 0; extreme magnitudes kept)."""
    v = np.abs(values)
    out = v.copy()
    ok = (v > 1e-290) & (v < 1e290)
    exponent = np.floor(np.log10(v[ok]))
    scale = 10.0 ** (digits - 1 - exponent)
    out[ok] = np.round(v[ok] * scale) / scale
    return out


def _circle_spectrum(m: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    """``|cos(step t)|`` (exact zeros snapped to 0) and the ``m − t`` pairs ``(i, i + t)``, ``t = 1..m−1``."""
    t = np.arange(1, m, dtype=np.int64)
    values = np.abs(np.cos(step * t))
    values[values < 1e-12] = 0.0  # cos(π/2) is 6e-17 in floating point: perpendicular lines
    return values, m - t


def _antiprism_pairs() -> dict[float, int]:
    r2 = 1.0 / (1.0 + math.sqrt(2.0) / 4.0)
    h2 = 1.0 - r2
    s = math.sqrt(0.5)
    # within each square: 4 adjacent (cos h²), 2 opposite (h² − r²); across: 8 at 45°, 8 at 135°
    return {h2: 8, abs(h2 - r2): 4, abs(r2 * s - h2): 8, abs(-r2 * s - h2): 8}


def construction_spectrum(name: str, *args: int) -> PairSpectrum:
    """Return the exact ``|cos|`` spectrum of a construction of :mod:`packing.constructions`.

    ========================  =========  ===============================================
    name                      args       spectrum
    ========================  =========  ===============================================
    ``"polygon_lines"``       ``m``      ``|cos(πt/m)|`` for ``m − t`` pairs, ``t = 1..m−1``
    ``"polygon"``             ``m``      ``|cos(2πt/m)|`` for ``m − t`` pairs
    ``"antipodal_pair"``      (none)     1 pair at 1
    ``"simplex"``             ``m``      all pairs at ``1/(m−1)``
    ``"cross_polytope"``      ``d``      ``d`` pairs at 1, ``2d(d−1)`` at 0
    ``"orthonormal_basis"``   ``d``      all pairs at 0
    ``"square_antiprism"``    (none)     see :func:`packing.square_antiprism`
    ``"icosahedron_lines"``   (none)     15 pairs at ``1/√5``
    ``"equiangular_lines_28"`` (none)    378 pairs at ``1/3``
    ``"etf"``                 ``n, d``   all pairs at the Welch value
    ``"mub"``                 ``d, m``   ``m d(d−1)/2`` at 0, the rest at ``1/√d``
    ``"coincident_lines"``    ``m``      all pairs at 1 (``m`` lines in ``R^1``)
    ``"turan"``               ``n, d``   :func:`turan_orthogonal_pairs` at 0, the rest at 1
    ========================  =========  ===============================================

    Examples
    --------
    >>> s = construction_spectrum("polygon_lines", 4)
    >>> s.values, s.counts, s.orthogonal_pairs
    ((0.0, 0.707106781187), (2, 4), 2)
    >>> round(construction_spectrum("simplex", 5).moment(2), 12)
    0.625
    >>> construction_spectrum("dodecahedron")
    Traceback (most recent call last):
    ...
    ValueError: name must be one of ['antipodal_pair', 'coincident_lines', ...]; got 'dodecahedron'.
    """
    table = {
        "polygon_lines": (1, lambda m: (m, _circle_spectrum(m, math.pi / m))),
        "polygon": (1, lambda m: (m, _circle_spectrum(m, 2 * math.pi / m))),
        "antipodal_pair": (0, lambda: (2, {1.0: 1})),
        "digon": (0, lambda: (2, {1.0: 1})),
        "simplex": (1, lambda m: (m, {1 / (m - 1): _pairs(m)})),
        "cross_polytope": (1, lambda d: (2 * d, {1.0: d, 0.0: 2 * d * (d - 1)})),
        "orthonormal_basis": (1, lambda d: (d, {0.0: _pairs(d)})),
        "square_antiprism": (0, lambda: (8, _antiprism_pairs())),
        "icosahedron_lines": (0, lambda: (6, {1 / math.sqrt(5): 15})),
        "equiangular_lines_28": (0, lambda: (28, {1.0 / 3.0: 378})),
        "etf": (2, lambda n, d: (n, {_sqrt_ratio(n - d, d * (n - 1)) if n > 1 else 0.0: _pairs(n)})),
        "mub": (
            2,
            lambda d, m: (m * d, {0.0: m * _pairs(d), _sqrt_ratio(1, d): _pairs(m * d) - m * _pairs(d)}),
        ),
        "coincident_lines": (1, lambda m: (m, {1.0: _pairs(m)})),
        "turan": (2, lambda n, d: (n, {0.0: (t := _turan_orthogonal_pairs(n, d)), 1.0: _pairs(n) - t})),
    }
    check_choice(name, "name", table, expected=f"one of {sorted(table)}")
    arity, make = table[name]
    if len(args) != arity:
        raise TypeError(
            f"construction_spectrum({name!r}, ...) takes {arity} size(s): args must hold {arity} for "
            f"{name!r}; got {len(args)}."
        )
    minimum = {"simplex": 2}.get(name, 1)
    sizes = [check_int(a, f"args[{i}]", minimum=minimum) for i, a in enumerate(args)]
    if name in ("polygon_lines", "polygon"):  # one |cos| per offset t = 1..m-1, through float64 arrays
        check_memory(
            64 * sizes[0], "construction_spectrum", "the |cos| of the m - 1 offsets", name=name, m=sizes[0]
        )
    if name == "etf":
        exists, reason = etf_exists(*sizes)
        if exists is False:
            what = f"n={show_int(sizes[0])} vectors in d={show_int(sizes[1])} dimensions"
            raise ValueError(f"no real ETF of {what} exists: {reason}.")
    n, pairs = make(*sizes)
    if isinstance(pairs, tuple):  # the circles' arrays
        return PairSpectrum._from_arrays(n, *pairs)
    return PairSpectrum.from_pairs(n, pairs)


def tegum_spectrum(*spectra: PairSpectrum) -> PairSpectrum:
    """Return the spectrum of the tegum product of blocks with the given spectra.

    Within-block pairs keep their values; the ``(n² − Σ n_b²)/2`` cross-block pairs are at 0.

    Examples
    --------
    >>> s = tegum_spectrum(construction_spectrum("simplex", 3), construction_spectrum("antipodal_pair"))
    >>> s.n, s.values, s.counts
    (5, (0.0, 0.5, 1.0), (6, 3, 1))
    >>> tegum_spectrum("simplex")
    Traceback (most recent call last):
    ...
    TypeError: spectra[0] must be a PairSpectrum; got str 'simplex'.
    """
    if not spectra:
        raise ValueError("spectra must hold at least one PairSpectrum; got none.")
    pairs: dict[float, int] = {}
    for i, s in enumerate(spectra):
        if not isinstance(s, PairSpectrum):
            raise TypeError(f"spectra[{i}] must be a PairSpectrum; got {_describe(s)}.")
        for v, c in zip(s.values, s.counts, strict=True):
            pairs[v] = pairs.get(v, 0) + c
    sizes = [s.n for s in spectra]
    pairs[0.0] = pairs.get(0.0, 0) + _tegum_orthogonal_pairs(sizes)
    return PairSpectrum.from_pairs(sum(sizes), pairs)


def expected_random_moment(n: int, d: int, p: float) -> float:
    """Return ``E Σ_{i<j} |cos θ_ij|^p`` for ``n`` independent uniform unit vectors in ``R^d``.

    For two independent uniform directions ``E|cos|^p = Γ((p+1)/2) Γ(d/2) / (√π Γ((d+p)/2))``
    (so ``E cos² = 1/d``). This is also the expected cross-set part of
    :func:`packing.overlapping_orthogonal_sets` with random bases, whose
    within-set pairs are 0.

    Examples
    --------
    >>> expected_random_moment(2, 10, 2)
    0.1
    >>> round(expected_random_moment(1000, 100, 1), 1)
    39954.1
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = check_p(p)
    if math.isinf(p):
        raise ValueError("p must be finite for an expected moment; got inf.")
    if d < 2**60:
        log_ratio = math.lgamma(d / 2) - math.lgamma((d + p) / 2)
    else:  # Γ(x) / Γ(x + p/2) = x^(-p/2) (1 + O(p² / x)) with x = d / 2 beyond 1e17: exact in float64
        log_ratio = -0.5 * p * (math.log(d) - math.log(2))
    log_e = math.lgamma((p + 1) / 2) - 0.5 * math.log(math.pi) + log_ratio
    pairs = _pairs(n)
    if pairs == 0:
        return 0.0
    if pairs < 2**1000:
        value = pairs * math.exp(log_e)
        if math.isfinite(value):
            return value
    return _exp_or_overflow(math.log(pairs) + log_e, "the expected moment", n=n, d=d, p=p)
