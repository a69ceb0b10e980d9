"""Free blocks: ``m`` features in ``D`` dims with directions, norms and biases all fitted to the loss.

The polytopes of :mod:`packing.theory._shapes` have fixed directions; only
their norms and biases are fitted. Trained models with unequal importances
distort them (a pentagon whose least important vertices move, a feature kept
at a small norm next to a full polytope) into shapes no library polytope
matches, which :func:`packing.analyze_structure` names ``"other"``. A free
block has no fixed shape: for the importances and densities of the features
it is given, every entry of ``W`` (``m × D``) and every bias is fitted to the
expected loss by L-BFGS-B from several starts (the library polytopes with ``m``
points in ``D`` dims, the spread directions, and seeded random ones). The
objective is the exact loss of at most one active interferer plus the grid
estimate of the rest (:func:`packing.theory._loss._rows_expectation`, a fixed
grid of :data:`FREE_GRID` points); the block's reported loss is then the full
:func:`expected_loss` with its automatic grid.

A free block that is itself a tegum product (exactly orthogonal groups) or
leaves a member out (norm below :data:`DEGENERATE` of the largest) is no new
candidate (the dynamic programme composes those from smaller blocks) and is
rejected. Members with a small but kept norm (partially represented features)
are allowed.
"""

from __future__ import annotations

import numpy as np

from ._loss import (
    _grid_layout,
    _order_probabilities,
    _rows_expectation,
    _term_masses,
    expected_loss,
    psi,
    psi_a,
    psi_a_antiderivative,
    psi_antiderivative,
    psi_box,
    psi_box_prime,
    psi_prime,
)

__all__: list[str] = []

#: Grid points for two or more active interferers while fitting.
FREE_GRID = 256
#: Seeded random starts besides the library polytopes and the spread directions.
RANDOM_STARTS = 3
#: L-BFGS-B iterations per start.
MAXITER = 150
#: A member with a norm below this fraction of the largest is left out (as ``analyze_structure`` does).
DEGENERATE = 0.1
#: Two members interact if ``|cos| >`` this (else the block may split into a tegum product).
SPLIT_ATOL = 0.02


def _box_slopes(b, g, a, S):
    """Return the derivatives of ``E[ψ(b + g u)]`` (``u`` uniform on [0, 1)) in ``a`` and in ``g``.

    ``∂/∂g = ∫_0^1 u ψ'(b + g u) du = ψ(b + g)/g − (Ψ(b + g) − Ψ(b))/g²``
    (by parts); Simpson's rule where ``|g|`` is small enough for that
    difference to cancel.
    """
    tiny = np.abs(g) < 1e-4 * (1.0 + np.abs(b))
    safe = np.where(tiny, 1.0, g)
    end = b + safe
    d_g = psi(end, a, S) / safe - (psi_antiderivative(end, a, S) - psi_antiderivative(b, a, S)) / safe**2
    d_a = (psi_a_antiderivative(end, a, S) - psi_a_antiderivative(b, a, S)) / safe
    if tiny.any():
        mid, end = b + g / 2, b + g
        d_g = np.where(tiny, (2 * psi_prime(mid, a, S) + psi_prime(end, a, S)) / 6, d_g)
        d_a = np.where(tiny, (psi_a(b, a, S) + 4 * psi_a(mid, a, S) + psi_a(end, a, S)) / 6, d_a)
    return d_a, d_g


def _rows_value_and_slopes(a, S, b, g, p, N):
    """Return ``E[ψ(b + Y)]`` per row and its derivatives in ``a``, ``b`` and ``g``.

    Rows F, terms K: ``Y = Σ_j g_j x_j``. The value is that of
    :func:`packing.theory._loss._rows_expectation` (same decomposition, same
    grid), differentiated exactly with the grid spacing held fixed.

    The ``K >= 2`` mass is ``irfft(Π_j gen_j − Σ_j p1_j D̂_j − p0)`` with
    ``gen_j = q_j + p_j D̂_j``; its derivative in ``D̂_j`` is
    ``p_j Π_{k≠j} gen_k − p1_j`` (leave-one-out products from prefix and suffix
    products), and ``Σ_s ψ_s irfft(X)_s`` is an inner product with ``rfft(ψ)``.
    """
    from scipy import fft as sp_fft

    F, K = g.shape
    p0, p1, _ = _order_probabilities(p)
    A, SS, B = a[:, None], S[:, None], b[:, None]
    value = p0 * psi(b, a, S) + (p1 * psi_box(B, g, A, SS)).sum(axis=1)
    d_b = p0 * psi_prime(b, a, S) + (p1 * psi_box_prime(B, g, A, SS)).sum(axis=1)
    box_a, box_g = _box_slopes(B, g, A, SS)
    d_a = p0 * psi_a(b, a, S) + (p1 * box_a).sum(axis=1)
    d_g = p1 * box_g
    h, y, _, _ = _grid_layout(g, p, N)
    D, dD = _term_masses(g, h, N, derivative=True)
    Dh = sp_fft.rfft(D, axis=2)
    gen = (1.0 - p)[:, :, None] + p[:, :, None] * Dh
    ones = np.ones((F, 1, Dh.shape[2]), dtype=gen.dtype)
    prefix = np.cumprod(np.concatenate([ones, gen], axis=1), axis=1)
    suffix = np.cumprod(np.concatenate([gen, ones], axis=1)[:, ::-1], axis=1)[:, ::-1]
    higher = prefix[:, -1] - np.einsum("fk,fkw->fw", p1, Dh) - p0[:, None]
    mass = sp_fft.irfft(higher, n=N, axis=1)
    c = B + y
    ps = psi(c, A, SS)
    value = value + (mass * ps).sum(axis=1)
    d_b = d_b + (mass * psi_prime(c, A, SS)).sum(axis=1)
    d_a = d_a + (mass * psi_a(c, A, SS)).sum(axis=1)
    weight = np.full(Dh.shape[2], 2.0)
    weight[0] = 1.0
    if N % 2 == 0:
        weight[-1] = 1.0
    adjoint = weight * np.conj(sp_fft.rfft(ps, axis=1)) / N  # Σ_s ψ_s irfft(X)_s = Re Σ_w adjoint_w X_w
    dH = p[:, :, None] * prefix[:, :-1] * suffix[:, 1:] - p1[:, :, None]
    d_g = d_g + np.real(np.einsum("fw,fkw->fk", adjoint, dH * sp_fft.rfft(dD, axis=2)))
    return value, d_a, d_b, d_g


class _Objective:
    """Weighted loss of blocks ``W`` (B, m, D), ``b`` (B, m) at fixed densities and importances."""

    def __init__(self, m, D, dens, imp, grid=FREE_GRID):
        self.m, self.D, self.grid = m, D, grid
        self.dens, self.imp = np.asarray(dens, float), np.asarray(imp, float)
        off = ~np.eye(m, dtype=bool)
        self.off = off
        self.pj = np.broadcast_to(self.dens, (m, m))[off].reshape(m, m - 1)
        self.S = 1.0 - self.dens

    def values(self, W, b, derivative=False):
        B, m = b.shape
        G = W @ np.swapaxes(W, 1, 2)
        a = np.einsum("bii->bi", G).reshape(-1)
        g = G[:, self.off].reshape(B * m, m - 1)
        pj = np.broadcast_to(self.pj, (B, m, m - 1)).reshape(B * m, m - 1)
        out = _rows_expectation(a, np.tile(self.S, B), b.reshape(-1), g, pj, self.grid, derivative=derivative)
        value = (out[0].reshape(B, m) * self.imp).sum(axis=1)
        return (value, out[2].reshape(B, m) * self.imp) if derivative else value

    def value_and_grad(self, theta):
        """Return the loss and its exact gradient (grid spacing held fixed) in the weights and biases."""
        m, D = self.m, self.D
        W = theta[: m * D].reshape(m, D)
        b = theta[m * D :]
        G = W @ W.T
        g = G[self.off].reshape(m, m - 1)
        value, d_a, d_b, d_g = _rows_value_and_slopes(np.diagonal(G).copy(), self.S, b, g, self.pj, self.grid)
        M = np.zeros((m, m))
        M[self.off] = (self.imp[:, None] * d_g).ravel()
        M[np.diag_indices(m)] = self.imp * d_a
        return float(self.imp @ value), np.r_[((M + M.T) @ W).ravel(), self.imp * d_b]

    def value_and_grad_differences(self, theta, step=1e-6):
        """Central differences in the ``m D`` weights (one batch), exact in the biases (the reference)."""
        m, D = self.m, self.D
        k = m * D
        W0, b0 = theta[:k].reshape(m, D), theta[k:]
        W = np.repeat(W0[None], 2 * k + 1, axis=0).reshape(2 * k + 1, k)
        idx = np.arange(k)
        W[1 + idx, idx] += step
        W[1 + k + idx, idx] -= step
        vals, slope = self.values(W.reshape(-1, m, D), np.repeat(b0[None], 2 * k + 1, axis=0), True)
        return float(vals[0]), np.r_[(vals[1 : 1 + k] - vals[1 + k :]) / (2 * step), slope[0]]


def _starts(m, D, dens, seed, directions):
    """Return the starts ``(W, b)``: the given direction sets and seeded random ones, norm 1."""
    rng = np.random.default_rng([seed, m, D])
    sets = [np.asarray(U, float) for U in directions]
    for _ in range(RANDOM_STARTS):
        U = rng.standard_normal((m, D))
        sets.append(U / np.linalg.norm(U, axis=1, keepdims=True))
    bias = -0.1 if float(np.mean(dens)) < 0.5 else 0.0
    return [(U, np.full(m, bias)) for U in sets]


def fit_free(m, D, dens, imp, *, directions=(), seed=0, gradient="exact", starts=None):
    """Fit a free block; return ``(loss, W, b)`` (``loss = inf`` if it splits or leaves a member out).

    ``dens``, ``imp`` (m,) are the densities and importances of its features
    (in order); ``directions`` are extra starting direction sets (m, D).
    ``gradient="differences"`` fits with central differences in the weights
    instead of the exact gradient (the slow reference, for tests and benchmarks).
    ``starts``, a list of ``(W, b)`` (weights with their norms), replaces the
    starts: local refinements, as ``_predict._grow`` uses them.
    """
    from scipy.optimize import minimize

    dens, imp = np.asarray(dens, float), np.asarray(imp, float)
    obj = _Objective(m, D, dens, imp)
    fun = obj.value_and_grad if gradient == "exact" else obj.value_and_grad_differences
    lo = np.r_[np.full(m * D, -3.0), np.full(m, -3.0)]
    hi = np.r_[np.full(m * D, 3.0), np.full(m, 1.0)]
    best = (np.inf, None)
    for U, b in _starts(m, D, dens, seed, directions) if starts is None else starts:
        x0 = np.r_[U.ravel(), b]
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=list(zip(lo, hi, strict=True)),
            options={"maxiter": MAXITER, "ftol": 1e-13, "gtol": 1e-10},
        )
        if res.fun < best[0]:
            best = (float(res.fun), res.x)
    x = best[1]
    W, b = x[: m * D].reshape(m, D).copy(), x[m * D :].copy()
    loss = float(expected_loss(W, b, density=dens[None], importance=imp[None]))
    return (loss if _is_new_block(W) else np.inf), W, b


def _is_new_block(W):
    """Every member kept and the members connected by non-negligible overlaps (no tegum split)."""
    norms = np.linalg.norm(W, axis=1)
    if norms.min() <= DEGENERATE * norms.max():
        return False
    U = W / norms[:, None]
    A = np.abs(U @ U.T) > SPLIT_ATOL
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in np.flatnonzero(A[i]):
            if int(j) not in seen:
                seen.add(int(j))
                todo.append(int(j))
    return len(seen) == len(W)
