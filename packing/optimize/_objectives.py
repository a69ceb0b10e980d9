"""What the optimizer minimizes: the packing objective, its smooth surrogates and its known values.

For unit rows ``U`` (``n`` lines in ``R^d``) and ``c_ij = <u_i, u_j>``:

* the objective is the coherence ``max_{i<j} |c_ij|`` (``p = inf``) or the
  p-frame potential ``Σ_{i<j} |c_ij|**p`` (finite ``p``);
* the smooth surrogates the L-BFGS stage descends are ``(1/q) log Σ_{i<j} (c_ij²)**q``
  (a smooth max of the squared cosines, for ``p = inf``) and
  ``Σ_{i<j} (c_ij² + ε²)**(p/2)`` (the potential smoothed at 0), each with its
  gradient with respect to the unnormalized rows (through :mod:`._sphere`);
* the trivial optima (from :func:`packing.known_optimum`) are returned without
  search, and :func:`objective_lower_bound` is the certified floor every result
  is compared with.
"""

from __future__ import annotations

import math

import numpy as np

from .._rows import _SAFE_SQ, pair_cosines
from .._validation import check_p
from ..bounds import lower_bound
from ..constructions.known import KnownOptimum, known_optimum
from ..geometry import interference_moment
from ._sphere import lift

__all__ = ["packing_objective"]

#: Known optima returned without search for every ``p`` (objective 0, or the only packing there is) ...
_SHORTCUT_ANY_P = ("orthonormal", "coincident lines")
#: ... and for ``p = inf`` only (lines at angle π/n minimize the coherence, not every potential).
_SHORTCUT_MINMAX = ("polygon lines",)
#: The smooth max computes R**(q-1) directly for q below this, else only the terms above e**_LOG_TINY.
_POW_DIRECT_BELOW = 64.0
_LOG_TINY = -700.0


def objective_value(U: np.ndarray, p: float) -> float:
    """Objective of unit rows ``U``: the coherence (``p = inf``) or ``Σ_{i<j} |c_ij|**p``."""
    return evaluate(U, p)[0]


def evaluate(U: np.ndarray, p: float) -> tuple[float, float]:
    """Return the objective of unit rows ``U`` and its logarithm, which never underflows.

    For large ``p`` every ``|c|**p`` may be below the float range while the
    packings still differ: the logarithm ``p log c_max + log Σ (|c| / c_max)**p``
    is normalised by the largest term, so it orders packings (and meets the
    lower bound) at any ``p``. ``-inf`` for an objective of exactly 0.
    """
    c = np.abs(pair_cosines(U))
    if c.size == 0:
        return 0.0, -math.inf
    c = np.minimum(c, 1.0)
    top = float(c.max())
    if top == 0.0:
        return 0.0, -math.inf
    if math.isinf(p):
        return top, math.log(top)
    with np.errstate(under="ignore"):
        value = float(np.sum(c**p))
        log_value = p * math.log(top) + math.log(float(np.sum((c / top) ** p)))
    return value, log_value


def packing_objective(W, p=np.inf) -> float:
    """Return ``Σ_{i<j} |cos θ_ij|**p`` (finite ``p``) or the coherence (``p = inf``) of ``W``.

    The objective :func:`optimize_packing` minimizes. It is
    :func:`packing.interference_moment` of order ``p``, with its zero-row policy:
    a row of zeros has no direction and counts as orthogonal to every other row.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One line per row (normalized first).
    p : float > 0 or ``np.inf``

    Returns
    -------
    float

    Examples
    --------
    >>> packing_objective([[1, 0], [1, 1]], p=2)
    0.5
    >>> packing_objective([[1, 0], [0, 0], [1, 1]])   # the zero row is orthogonal to both others
    0.7071067811865475
    >>> packing_objective([[1, 0], [0, 1]], p=0)
    Traceback (most recent call last):
    ...
    ValueError: p must be > 0.0; got 0.0.
    """
    return interference_moment(W, check_p(p))


def shortcut_optimum(n: int, d: int, p: float) -> KnownOptimum | None:
    """Return the known optimum the optimizer returns without searching, or ``None``.

    Only the trivial cells are short-cut: ``n <= d`` (orthonormal rows) and
    ``d = 1`` for every ``p``, ``d = 2`` (lines at angle ``π/n``) for ``p = inf``.
    Simplices and equiangular tight frames are searched (and reach the lower bound).
    """
    entry = known_optimum(n, d)
    if entry is not None and (
        entry.name in _SHORTCUT_ANY_P or (math.isinf(p) and entry.name in _SHORTCUT_MINMAX)
    ):
        return entry
    return None


def objective_lower_bound(n: int, d: int, p: float) -> float:
    """Proven lower bound on the objective over all packings of ``n`` lines in ``R^d``.

    ``p = inf``: :func:`packing.lower_bound` with the certified LP bound. Finite
    ``p``: the value of a short-cut optimum, else the larger of the
    Benedetto–Fickus bound ``Σ_{i<j} c² >= (n²/d − n)/2``, carried to ``p >= 2``
    by the power-mean inequality and to ``p < 2`` by ``|c|**p >= c²``, and
    ``lower_bound(n, d)**p`` (the largest term alone is at least the coherence
    bound to the power ``p``; it dominates for large ``p``).
    """
    return math.exp(objective_lower_bound_log(n, d, p))


def objective_lower_bound_log(n: int, d: int, p: float) -> float:
    """Return the logarithm of :func:`objective_lower_bound` (``-inf`` for 0), which never underflows."""
    if math.isinf(p):
        bound = lower_bound(n, d, lp=True)
        return math.log(bound) if bound > 0 else -math.inf
    entry = shortcut_optimum(n, d, p)
    if entry is not None:
        value = entry.moment(p)
        return math.log(value) if value > 0 else -math.inf
    pairs = n * (n - 1) / 2.0
    f2 = max(0.0, (n * n / d - n) / 2.0)
    if f2 == 0.0:
        return -math.inf
    frame = math.log(pairs) + 0.5 * p * (math.log(f2) - math.log(pairs)) if p >= 2 else math.log(f2)
    coherence = lower_bound(n, d)
    return max(frame, p * math.log(coherence)) if coherence > 0 else frame


def _smooth_max(G: np.ndarray, q: float):
    """``(1/q) log Σ_{i<j} (G_ij²)**q`` and its derivative in each ``G_ij`` (``None`` if ``G = 0``)."""
    S = G * G
    smax = S.max()
    if smax <= 0:
        return -np.inf, None
    R = S / smax
    if q < _POW_DIRECT_BELOW:
        Rq1 = R ** (q - 1.0)
    else:
        # at large q almost every R**(q-1) underflows, through subnormals (slow); compute only the
        # terms above 1e-304 (the largest term is 1, so the rest cannot change a float64 sum)
        keep = R >= math.exp(_LOG_TINY / (q - 1.0))  # >=: the largest term (1) stays at any q
        Rq1 = np.zeros_like(R)
        Rq1[keep] = np.exp((q - 1.0) * np.log(R[keep]))
    total = 0.5 * np.sum(Rq1 * R)  # Σ over unordered pairs of R**q
    value = math.log(smax) + math.log(total) / q
    return value, (2.0 / (smax * total)) * G * Rq1


def _smooth_potential(G: np.ndarray, q: float, eps: float):
    """``Σ_{i<j} (G_ij² + ε²)**(q/2)`` and its derivative in each ``G_ij``."""
    T = G * G + eps * eps
    np.fill_diagonal(T, 1.0)
    Tp = T ** (0.5 * q - 1.0)
    np.fill_diagonal(Tp, 0.0)
    return 0.5 * float(np.sum(Tp * T)), q * G * Tp


def _smooth_value_grad(x: np.ndarray, n: int, d: int, kind: str, q: float, eps: float):
    """Value and gradient (w.r.t. the unnormalized rows ``x.reshape(n, d)``) of a smooth surrogate.

    ``kind="max"``: ``(1/q) log Σ_{i<j} (c_ij²)**q`` (smooth max of the squared cosines).
    ``kind="pot"``: ``Σ_{i<j} (c_ij² + ε²)**(q/2)`` (``q = p``; ``ε = 0`` is the plain potential).
    """
    X = x.reshape(n, d)
    sq = np.einsum("ij,ij->i", X, X)
    if sq.min() > _SAFE_SQ[0] and sq.max() < _SAFE_SQ[1]:
        # the common case, inlined (this runs once per L-BFGS iteration, on small arrays): the norms
        # come out of one pass, and the pullback projects in place
        norms = np.sqrt(sq)[:, None]
        U = X / norms
    else:  # tiny, huge or zero rows: the careful normalization
        U, norms = lift(X)
    G = U @ U.T
    np.fill_diagonal(G, 0.0)
    value, dG = _smooth_max(G, q) if kind == "max" else _smooth_potential(G, q, eps)
    if dG is None:
        return value, np.zeros_like(x)
    H = dG @ U
    H -= np.einsum("ij,ij->i", H, U)[:, None] * U
    H /= norms
    return float(value), H.ravel()
