"""Expected loss of the toy models over exactly the trainer's input distribution.

The data: feature ``j`` is 0 with probability ``S_j`` and otherwise uniform on
[0, 1), independently (:func:`packing.sample_toy_batch`). The loss:
``Σ_i I_i (x_i − x'_i)²`` with ``x' = ReLU(x W Wᵀ + b)`` (or without the ReLU),
averaged over the data (``reduction="mean"`` divides by ``n``).

ReLU model, one output feature ``i`` at a time. With ``G = W Wᵀ``,
``a = G_ii`` and the interference ``Y = Σ_{j≠i} G_ij x_j`` (independent of
``x_i``), the loss of feature ``i`` is ``I_i E[ψ(b_i + Y)]`` where

    ``ψ(c) = S_i ReLU(c)² + (1 − S_i) φ(c)``,  ``φ(c) = ∫_0^1 (x − ReLU(a x + c))² dx``

is a piecewise polynomial in ``c`` (breaks at ``−a`` and 0; ``k = 1 − a``):

    ``φ = 1/3`` for ``c <= −a``,
    ``φ = k²/3 − k c + c² + (a + 1) c³ / (3 a²)`` for ``−a < c < 0``,
    ``φ = k²/3 − k c + c²`` for ``c >= 0``.

``ψ`` is C¹ with ``|ψ''| <= max(2, 2 (1 − S_i) / a)``. ``E[ψ(b + Y)]`` splits by
the number ``K`` of active interferers:

* ``K = 0`` (probability ``Π_j S_j``): ``ψ(b)``, exact;
* ``K = 1`` (only ``j``): ``E[ψ(b + G_ij u)] = (Ψ(b + G_ij) − Ψ(b)) / G_ij``
  with ``Ψ`` the antiderivative of ``ψ`` (piecewise quartic), exact;
* ``K >= 2``: on a grid. Each term ``G_ij x_j`` is rounded to the grid of
  spacing ``h`` by *randomized rounding* (the mass of a value goes to its two
  neighbouring grid points so that its mean is kept: the uniform's mass
  against hat functions, in closed form), the terms are convolved by FFT, and
  the exact ``K <= 1`` parts are subtracted in Fourier space. Rounding adds to
  ``Y`` errors ``ε_j`` of conditional mean 0 and ``E[ε_j²] <= h²/4``, so by
  Taylor's theorem the ``K >= 2`` part is off by at most
  ``sup|ψ''| h² E[K; K >= 2] / 8``. Where the full range of ``Y`` is wider
  than ``E[Y] ± t`` with Hoeffding's ``P(|Y − E Y| >= t) <= δ = 1e-13``, the
  grid covers that window only (circular convolution), adding at most
  ``2 δ (1 + a + |b| + max|Y|)²``. Both terms are reported as ``error_bound``.

Linear model: the residual is linear in ``x``, so its second moment is exact
from the means ``p/2`` and variances ``p/3 − p²/4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._results import Savable
from .._validation import check_bool, check_choice, check_int
from ._inputs import (
    MODELS,
    REDUCTIONS,
    check_weights,
    feature_density,
    feature_table,
    instance_tables,
)

__all__ = ["ExpectedLoss", "expected_loss"]

#: Hoeffding tail probability outside the grid window.
TAIL = 1e-13
#: Target grid-error bound per feature (in units of its importance) when choosing the grid size.
GRID_TOL = 1e-7
#: Largest automatic grid (points per feature).
GRID_MAX = 2**15
#: Entries of the (rows x terms x grid) work arrays per chunk.
_CHUNK = 2**22


# --------------------------------------------------------------------------- ψ and its antiderivative
def _pieces(a):
    """Return ``(a_safe, k)`` with a_safe > 0 where a > 0 (the middle piece is empty where a = 0)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(a > 0, a, 1.0), 1.0 - a


def psi(c, a, S):
    """``ψ(c) = S ReLU(c)² + (1 − S) ∫_0^1 (x − ReLU(a x + c))² dx`` (broadcasting)."""
    c = np.asarray(c, dtype=np.float64)
    a_s, k = _pieces(a)
    p = 1.0 - S
    base = k * k / 3 - k * c + c * c
    right = S * c * c + p * base
    middle = p * (base + (a_s + 1) * c**3 / (3 * a_s * a_s))
    return np.where(c >= 0, right, np.where(c > -np.asarray(a), middle, p / 3))


def psi_prime(c, a, S):
    """``ψ'(c)`` (continuous: ψ is C¹)."""
    c = np.asarray(c, dtype=np.float64)
    a_s, k = _pieces(a)
    p = 1.0 - S
    base = 2 * c - k
    right = 2 * S * c + p * base
    middle = p * (base + (a_s + 1) * c * c / (a_s * a_s))
    return np.where(c >= 0, right, np.where(c > -np.asarray(a), middle, 0.0))


def psi_a(c, a, S):
    """``∂ψ/∂a`` (continuous; 0 for ``c <= −a``)."""
    c = np.asarray(c, dtype=np.float64)
    a_s, k = _pieces(a)
    p = 1.0 - S
    right = p * (c - 2 * k / 3)
    middle = right - p * (a_s + 2) * c**3 / (3 * a_s**3)
    return np.where(c >= 0, right, np.where(c > -np.asarray(a), middle, 0.0))


def psi_a_antiderivative(c, a, S):
    """``∫_0^c ∂ψ/∂a`` (``= ∂Ψ/∂a``)."""
    c = np.asarray(c, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    a_s, k = _pieces(a)
    p = 1.0 - S

    def middle(t):
        return p * (t * t / 2 - 2 * k * t / 3 - (a_s + 2) * t**4 / (12 * a_s**3))

    right = p * (c * c / 2 - 2 * k * c / 3)
    left = np.where(a > 0, middle(-a), 0.0)
    return np.where(c >= 0, right, np.where(c > -a, middle(c), left))


def psi_antiderivative(c, a, S):
    """``Ψ(c) = ∫_0^c ψ`` (piecewise quartic; ``Ψ(0) = 0``)."""
    c = np.asarray(c, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    a_s, k = _pieces(a)
    p = 1.0 - S

    def base(t):
        return k * k * t / 3 - k * t * t / 2 + t**3 / 3

    def middle(t):
        return p * (base(t) + (a_s + 1) * t**4 / (12 * a_s * a_s))

    right = S * c**3 / 3 + p * base(c)
    at_break = np.where(a > 0, middle(-a), 0.0)
    left = at_break + p / 3 * (c + a)
    return np.where(c >= 0, right, np.where(c > -a, middle(c), left))


def psi_box(b, g, a, S):
    """``E[ψ(b + g u)]`` for ``u`` uniform on [0, 1): exact (Simpson's rule where ``|g|`` is tiny)."""
    b, g = np.broadcast_arrays(np.asarray(b, dtype=np.float64), np.asarray(g, dtype=np.float64))
    tiny = np.abs(g) < 1e-6 * (1.0 + np.abs(b))
    safe = np.where(tiny, 1.0, g)
    exact = (psi_antiderivative(b + safe, a, S) - psi_antiderivative(b, a, S)) / safe
    if not tiny.any():
        return exact
    simpson = (psi(b, a, S) + 4 * psi(b + g / 2, a, S) + psi(b + g, a, S)) / 6
    return np.where(tiny, simpson, exact)


def psi_box_prime(b, g, a, S):
    """``d/db E[ψ(b + g u)] = (ψ(b + g) − ψ(b)) / g`` (``ψ'(b + g/2)`` where ``|g|`` is tiny)."""
    b, g = np.broadcast_arrays(np.asarray(b, dtype=np.float64), np.asarray(g, dtype=np.float64))
    tiny = np.abs(g) < 1e-6 * (1.0 + np.abs(b))
    safe = np.where(tiny, 1.0, g)
    exact = (psi(b + safe, a, S) - psi(b, a, S)) / safe
    return np.where(tiny, psi_prime(b + g / 2, a, S), exact) if tiny.any() else exact


def psi_curvature(a, S):
    """``sup |ψ''|``: 2 outside ``(−a, 0)``, at most ``2 (1 − S) / a`` inside."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore"):
        inner = np.where(a > 0, 2 * (1.0 - S) / np.where(a > 0, a, 1.0), np.inf)
    return np.maximum(2.0, inner)


# --------------------------------------------------------------------------- interference distributions
def _hat_cdf(u):
    """``∫_{−∞}^u max(0, 1 − |s|) ds``."""
    u = np.clip(u, -1.0, 1.0)
    return np.where(u <= 0, (1 + u) ** 2 / 2, 1 - (1 - u) ** 2 / 2)


def _term_spectra(g, h, N):
    """Spectra (rfft over the circular grid of ``N`` points) of the terms ``g x``, x uniform on [0, 1).

    Each term is rounded to the grid ``h Z`` by randomized rounding: the mass at
    ``s h`` (``s = k + f``) goes to ``k`` and ``k + 1`` with weights ``1 − f``
    and ``f``, so the mass at ``j`` is ``(1/L) ∫ Λ(s − j) ds`` over the term's
    range in grid units (``L = |g| / h``, ``Λ`` the hat function): a difference
    of the hat's integral. A term narrower than ``1e-4`` grid steps is rounded
    from its midpoint. Shape ``(F, K, N/2 + 1)``.
    """
    from scipy import fft as sp_fft

    return sp_fft.rfft(_term_masses(g, h, N)[0], axis=2)


def _term_masses(g, h, N, derivative=False):
    """Return the grid masses ``(F, K, N)`` of the terms ``g x`` and their derivatives in ``g``.

    See :func:`_term_spectra`; the derivatives (at fixed spacing ``h``) only
    with ``derivative``, else ``None``.
    """
    F, K = g.shape
    lo, hi = np.minimum(g, 0) / h[:, None], np.maximum(g, 0) / h[:, None]
    jlo = np.floor(lo).astype(np.int64) - 1
    jhi = np.ceil(hi).astype(np.int64) + 1
    count = (jhi - jlo + 1).ravel()
    term = np.repeat(np.arange(F * K), count)
    start = np.cumsum(count) - count
    j = jlo.ravel()[term] + np.arange(term.size) - start[term]
    lo_t, hi_t = lo.ravel()[term], hi.ravel()[term]
    width = hi_t - lo_t
    tiny = width < 1e-4
    safe = np.where(tiny, 1.0, width)
    box = (_hat_cdf(hi_t - j) - _hat_cdf(lo_t - j)) / safe
    mid = (lo_t + hi_t) / 2 - j
    point = np.maximum(0.0, 1 - np.abs(mid))
    slot = term * N + np.mod(j, N)
    D = np.bincount(slot, weights=np.where(tiny, point, box), minlength=F * K * N).reshape(F, K, N)
    if not derivative:
        return D, None
    # d/dg at fixed h: the moving end (hi for g > 0, lo for g < 0) moves by 1/h per unit of g
    hh = np.repeat(np.broadcast_to(h[:, None], (F, K)).ravel(), count)
    positive = (g > 0).ravel()[term]
    end = np.where(positive, hi_t, lo_t) - j
    hat_end = np.maximum(0.0, 1 - np.abs(end))
    wide = np.where(positive, hat_end - box, box - hat_end) / (safe * hh)
    narrow = np.where(np.abs(mid) < 1, -np.sign(mid), 0.0) / (2 * hh)
    dD = np.bincount(slot, weights=np.where(tiny, narrow, wide), minlength=F * K * N).reshape(F, K, N)
    return D, dD


def _order_probabilities(p):
    """``P(K = 0)`` (F,), ``P(only j active)`` (F, K) and ``E[K; K >= 2]`` (F,) for densities ``p``."""
    q = 1.0 - p
    ones = np.ones((p.shape[0], 1))
    prefix = np.cumprod(np.hstack([ones, q]), axis=1)  # Π_{k<j} q_k
    suffix = np.cumprod(np.hstack([q, ones])[:, ::-1], axis=1)[:, ::-1]  # Π_{k>=j} q_k
    p0 = prefix[:, -1]
    p1 = p * prefix[:, :-1] * suffix[:, 1:]
    ek2 = p.sum(axis=1) - p1.sum(axis=1)
    return p0, p1, np.maximum(ek2, 0.0)


@dataclass
class _Higher:
    """The discretized ``K >= 2`` part of ``Y = Σ_j g_j x_j`` for a batch of rows.

    ``mass[f, s]`` sits at ``y[f, s]``; ``bound_coef`` times ``sup|ψ''|`` is the
    rounding-error bound; ``tail`` the Hoeffding mass outside the window and
    ``span`` the largest ``|Y|``.
    """

    mass: np.ndarray
    y: np.ndarray
    h: np.ndarray
    bound_coef: np.ndarray
    tail: np.ndarray
    span: np.ndarray


def _window(g, p):
    """Range of ``Y`` to cover: the full range, or ``E Y ± t`` (Hoeffding) where that is narrower."""
    lo = np.minimum(g, 0).sum(axis=1)
    hi = np.maximum(g, 0).sum(axis=1)
    mean = (p * g / 2).sum(axis=1)
    t = np.sqrt((g * g).sum(axis=1) * math.log(2 / TAIL) / 2)
    wlo, whi = np.maximum(lo, mean - t), np.minimum(hi, mean + t)
    truncated = (wlo > lo) | (whi < hi)
    return wlo, whi, truncated, np.maximum(np.abs(lo), np.abs(hi))


def grid_size(g, p, a, S, *, tol=GRID_TOL, cap=GRID_MAX) -> int:
    """Power of two such that the rounding bound is about ``tol`` for every row (at most ``cap``)."""
    active = (g != 0) & (p > 0)
    if not active.any():
        return 0
    _, _, ek2 = _order_probabilities(np.where(active, p, 0.0))
    wlo, whi, _, _ = _window(np.where(active, g, 0.0), p)
    need = ek2 > 0
    if not need.any():
        return 0
    curv = psi_curvature(a, S)[need]
    h = np.sqrt(8 * tol / (curv * ek2[need]))
    points = float(np.max((whi - wlo)[need] / h)) + 8
    return int(min(cap, max(64, 2 ** math.ceil(math.log2(max(points, 1.0))))))


def _grid_layout(g, p, N):
    """Return the grid spacing ``h`` (F,) and the value ``y`` (F, N) at each circular grid slot.

    Also the window's ``truncated`` and ``span`` (see :func:`_window`).
    """
    wlo, whi, truncated, span = _window(g, p)
    width = np.maximum(whi - wlo, 1e-300)
    h = np.where(whi > wlo, width / (N - 8), 1.0)
    j0 = np.floor(wlo / h).astype(np.int64) - 2
    s = np.arange(N)
    jj = j0[:, None] + np.mod(s[None, :] - j0[:, None], N)
    return h, jj * h[:, None], truncated, span


def _higher_order(g, p, N) -> _Higher:
    """Discretize the ``K >= 2`` part of ``Σ_j g_j x_j`` on ``N`` points per row (rows: F, terms: K)."""
    from scipy import fft as sp_fft

    p = np.where(g != 0, p, 0.0)
    p0, p1, ek2 = _order_probabilities(p)
    h, y, truncated, span = _grid_layout(g, p, N)
    Dh = _term_spectra(g, h, N)
    q = 1.0 - p
    gen = q[:, :, None] + p[:, :, None] * Dh
    total = np.prod(gen, axis=1)
    one = np.einsum("fk,fkw->fw", p1, Dh)
    higher = total - one - p0[:, None]
    mass = sp_fft.irfft(higher, n=N, axis=1)
    return _Higher(
        mass=mass,
        y=y,
        h=h,
        bound_coef=h * h * ek2 / 8,
        tail=np.where(truncated, TAIL, 0.0),
        span=span,
    )


def _rows_expectation(a, S, b, g, p, N, scale=1.0, derivative=False):
    """``E[ψ(b + scale Y)]`` per row and its error bound, ``Y = Σ_j g_j x_j`` (rows F, terms K).

    With ``derivative`` also ``d/db`` of the value (third element).
    """
    p = np.where(g != 0, p, 0.0)
    p0, p1, _ = _order_probabilities(p)
    value = p0 * psi(b, a, S) + (p1 * psi_box(b[:, None], scale * g, a[:, None], S[:, None])).sum(axis=1)
    if derivative:
        slope = p0 * psi_prime(b, a, S) + (
            p1 * psi_box_prime(b[:, None], scale * g, a[:, None], S[:, None])
        ).sum(axis=1)
    bound = np.zeros_like(value)
    if N:
        hi = _higher_order(g, p, N)
        y = b[:, None] + scale * hi.y
        value = value + (hi.mass * psi(y, a[:, None], S[:, None])).sum(axis=1)
        if derivative:
            slope = slope + (hi.mass * psi_prime(y, a[:, None], S[:, None])).sum(axis=1)
        curv = psi_curvature(a, S)
        extent = 1 + a + np.abs(b) + scale * hi.span
        curv = np.where((hi.bound_coef > 0) & np.isfinite(curv), curv, 0.0)  # inf only where a = 0, Y = 0
        rounding = curv * scale**2 * hi.bound_coef
        bound = rounding + 2 * hi.tail * extent**2
    return (value, bound, slope) if derivative else (value, bound)


# --------------------------------------------------------------------------- public
@dataclass
class ExpectedLoss(Savable, schema=1):
    """Result of :func:`expected_loss` with ``return_details=True``.

    Attributes
    ----------
    loss : ndarray, shape (instances,)
        Expected loss per instance (as the trainer reduces it).
    per_feature : ndarray, shape (instances, n_features)
        Expected weighted loss of each output feature (``I_i E[(x_i − x'_i)²]``,
        divided by ``n`` for ``reduction="mean"``); sums to ``loss``.
    error_bound : ndarray, shape (instances,)
        Proven bound on ``|loss − exact|`` from the grid (0 for the linear
        model and wherever no two interferers can be active together).
    grid_points : int
        Grid points per output feature used for ``K >= 2`` active interferers
        (the largest over instances; 0 if none was needed).
    model, reduction : str
    """

    loss: np.ndarray
    per_feature: np.ndarray
    error_bound: np.ndarray
    grid_points: int
    model: str
    reduction: str


def _linear_loss(G, b, dens):
    """Exact ``E[(x_i − (G x)_i − b_i)²]`` per feature, shape (instances, n)."""
    C = G - np.eye(G.shape[1])[None]
    mean = dens / 2
    var = dens / 3 - dens**2 / 4
    first = np.einsum("fij,fj->fi", C, mean) + b
    return np.einsum("fij,fj->fi", C * C, var) + first**2


def _interferers(G, dens):
    """Per output feature, its nonzero off-diagonal coefficients packed left: ``(g, p)`` of shape (F, K)."""
    n_inst, n, _ = G.shape
    off = ~np.eye(n, dtype=bool)
    g = G[:, off].reshape(n_inst * n, n - 1)
    p = np.broadcast_to(dens[:, None, :], (n_inst, n, n))[:, off].reshape(n_inst * n, n - 1)
    live = (g != 0) & (p > 0)
    K = int(live.sum(axis=1).max()) if g.size else 0
    order = np.argsort(~live, axis=1, kind="stable")[:, :K]  # live terms first
    g, p = np.take_along_axis(g, order, axis=1), np.take_along_axis(p, order, axis=1)
    keep = np.take_along_axis(live, order, axis=1)
    return np.where(keep, g, 0.0), np.where(keep, p, 0.0)


def _relu_loss(G, b, dens, grid_points, cap=GRID_MAX):
    """Per-feature ``E[(x_i − ReLU((G x)_i + b_i))²]`` and error bounds, shapes (instances, n).

    Each instance gets its own grid, so a batch gives exactly the values of separate calls.
    """
    n_inst, n, _ = G.shape
    value = np.empty((n_inst, n))
    bound = np.empty((n_inst, n))
    used = 0
    for k in range(n_inst):
        a = np.diagonal(G[k]).copy()
        S = 1.0 - dens[k]
        g, pj = _interferers(G[k : k + 1], dens[k : k + 1])
        N = grid_size(g, pj, a, S, cap=cap) if grid_points is None else grid_points
        used = max(used, N)
        step = max(1, _CHUNK // (max(g.shape[1], 1) * max(N, 1)))
        for r0 in range(0, n, step):
            sl = slice(r0, r0 + step)
            value[k, sl], bound[k, sl] = _rows_expectation(a[sl], S[sl], b[k, sl], g[sl], pj[sl], N)
    return value, bound, used


#: Largest |entry| of W and of b for which expected_loss stays in the float64 range (the loss grows
#: as |W|**4 and b**2; at |W| = 1e35 its terms overflow). Past them a loss is refused, not NaN.
MAX_ENTRY, MAX_BIAS = 1e30, 1e150


def _refuse_large(big_w: float, big_b: float):
    raise ValueError(
        f"W and b must be small enough for the expected loss (it grows as |W|**4 and b**2) to stay in the "
        f"float64 range: |W| entries below about {MAX_ENTRY:.0e} and |b| below {MAX_BIAS:.0e}; got "
        f"largest |W| entry {big_w:.3g} and largest |b| entry {big_b:.3g}."
    )


def expected_loss(
    W,
    b,
    *,
    sparsity=None,
    density=None,
    importance=1.0,
    model="relu",
    reduction="sum",
    grid_points=None,
    max_grid_points=GRID_MAX,
    return_details=False,
):
    """Return the expected toy-model loss over exactly the distribution :func:`train_toy_model` samples.

    ``E_x[Σ_i I_i (x_i − x'_i)²]`` with ``x' = ReLU(x W Wᵀ + b)``
    (``model="relu"``) or ``x W Wᵀ + b`` (``"linear"``), feature ``j`` zero with
    probability ``S_j``, otherwise uniform on [0, 1), independently. The
    linear model is computed in closed form; the ReLU model exactly for the
    inputs with at most one active interferer and on a grid, with a proven
    error bound, for the rest (see :mod:`packing.theory._loss`).

    Parameters
    ----------
    W : array_like, shape (n_features, d) or (instances, n_features, d)
        Rows are features.
    b : array_like, shape (n_features,) or (instances, n_features)
    sparsity : float or array_like, optional
        Probability a feature is zero, as in :func:`train_toy_model`: a scalar,
        one value per instance (1-D), or ``(instances, n_features)``. Default 0.
    density : float or array_like, optional
        ``1 − sparsity``; give one of the two.
    importance : float or array_like
        ``I_i >= 0``: scalar, one per feature (1-D) or ``(instances, n_features)``.
    model : {"relu", "linear"}
    reduction : {"sum", "mean"}
        Sum over features, or the mean (divides by ``n_features``).
    grid_points : int, optional
        Grid points per feature for two or more active interferers (default:
        chosen so that the bound is about ``1e-7`` per feature, at most
        ``max_grid_points``).
    max_grid_points : int, default 2**15
        Cap of the automatic grid (the bound grows as the grid shrinks).
    return_details : bool
        Return an :class:`ExpectedLoss` (per-feature losses, error bound).

    Returns
    -------
    float or ndarray of shape (instances,), or ExpectedLoss

    Examples
    --------
    Two features in one dimension as an antipodal pair, bias ``-0.1``, density 0.1:

    >>> W, b = np.array([[1.0], [-1.0]]), np.array([-0.1, -0.1])
    >>> round(expected_loss(W, b, sparsity=0.9), 6)
    0.005674
    >>> x = sample_toy_batch(2, 10**6, sparsity=0.9, dtype=np.float64, rng=0)
    >>> round(toy_model_loss(W, b, x), 4)   # the trainer's loss on 10^6 samples (s.e. 6e-5)
    0.0056
    >>> expected_loss(W, b, sparsity=1.5)
    Traceback (most recent call last):
    ...
    ValueError: sparsity values must lie in [0.0, 1.0]; got 1.5.
    """
    model = check_choice(model, "model", MODELS)
    reduction = check_choice(reduction, "reduction", REDUCTIONS)
    W, b, single = check_weights(W, b)
    n_inst, n, _ = W.shape
    dens = feature_density(sparsity, density, n)
    imp = feature_table(importance, "importance", n, one_d="feature", lo=0.0)
    if grid_points is not None:
        grid_points = check_int(grid_points, "grid_points", minimum=16)
    max_grid_points = check_int(max_grid_points, "max_grid_points", minimum=16)
    return_details = check_bool(return_details, "return_details")
    name = "sparsity" if density is None else "density"
    t = instance_tables(n_inst, **{name: dens, "importance": imp})
    dens, imp = t[name], t["importance"]
    big_w, big_b = float(np.abs(W).max()) if W.size else 0.0, float(np.abs(b).max()) if b.size else 0.0
    if big_w > MAX_ENTRY or big_b > MAX_BIAS:  # the loss would leave the float64 range
        _refuse_large(big_w, big_b)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught below, with its cause
        G = np.einsum("fid,fjd->fij", W, W)
        if model == "linear":
            per, bound, N = _linear_loss(G, b, dens), np.zeros((n_inst, n)), 0
        else:
            per, bound, N = _relu_loss(G, b, dens, grid_points, max_grid_points)
        weight = imp / n if reduction == "mean" else imp
        per = per * weight
        loss = per.sum(axis=1)
        err = (bound * weight).sum(axis=1)
    if not (np.isfinite(loss).all() and np.isfinite(err).all()):
        _refuse_large(big_w, big_b)
    if return_details:
        return ExpectedLoss(loss, per, err, N, model, reduction)
    return float(loss[0]) if single else loss
