"""Fit the norms and biases of a fixed geometry to minimise the expected toy-model loss.

Directions are fixed; each feature ``i`` gets a norm ``r_i >= 0`` (``W_i = r_i
u_i``) and a bias ``b_i``. Features in different tegum factors (exactly
orthogonal groups) never interact, so each factor is fitted on its own; within
a factor, features with the same importance, density and cosine profile share
one ``(r, b)`` (the symmetry of a regular polytope). A factor with one shared
pair is fitted by a grid search over ``(r, b)`` polished with L-BFGS-B,
re-using one discretized interference distribution for every ``r`` (``Y =
r² Z``); otherwise L-BFGS-B with central differences evaluated in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._results import Savable
from .._rows import row_norms, unit_rows
from .._validation import _describe, check_packing
from ._inputs import feature_density, feature_table, single_blas
from ._loss import (
    _higher_order,
    _order_probabilities,
    _rows_expectation,
    expected_loss,
    grid_size,
    psi,
    psi_box,
)

__all__ = ["FittedGeometry", "fit_geometry"]

#: |cos| above which two directions interact (cross-factor pairs are exactly 0 in a tegum product).
COS_ATOL = 1e-9
#: Grid points for two or more active interferers while fitting (the final loss uses the automatic grid).
FIT_GRID = 512
#: Bounds of the fitted parameters.
R_MAX, B_MIN, B_MAX = 3.0, -3.0, 1.0
_R_GRID = np.linspace(0.2, 1.6, 11)
_B_GRID = np.linspace(-1.0, 0.5, 13)
#: Grid points of the coarse scan that seeds the fit.
SCAN_GRID = 256


@dataclass
class FittedGeometry(Savable, schema=1):
    """Result of :func:`fit_geometry`.

    Attributes
    ----------
    W : ndarray, shape (n, d)
        Fitted weights, ``norms[:, None] * directions``.
    b : ndarray, shape (n,)
    loss : float
        :func:`expected_loss` of ``(W, b)`` (sum over features).
    error_bound : float
        Its grid error bound.
    initial_loss : float
        Expected loss at the initial norms and biases.
    norms : ndarray, shape (n,)
    factors : list of ndarray
        Feature indices of each tegum factor (fitted independently).
    groups : ndarray of int, shape (n,)
        Features with the same group share norm and bias.
    factor_losses : ndarray
        Expected loss of each factor (same order as ``factors``).
    evaluations : int
        Objective evaluations (each a batch) used by the fit.
    """

    W: np.ndarray
    b: np.ndarray
    loss: float
    error_bound: float
    initial_loss: float
    norms: np.ndarray
    factors: list = field(repr=False)
    groups: np.ndarray = field(repr=False)
    factor_losses: np.ndarray = field(repr=False)
    evaluations: int = 0


# --------------------------------------------------------------------------- one factor
class _Factor:
    """Objective of one tegum factor: cosines ``C`` (m, m), densities, importances, groups."""

    def __init__(self, C, dens, imp, groups, grid=FIT_GRID, rows=None):
        self.m = len(C)
        self.groups = groups  # (m,) group index 0..k-1
        self.k = int(groups.max()) + 1 if self.m else 0
        off = ~np.eye(self.m, dtype=bool)
        cos = C[off].reshape(self.m, self.m - 1) if self.m > 1 else np.zeros((self.m, 0))
        full = np.broadcast_to(dens, (self.m, self.m))
        pj = full[off].reshape(self.m, self.m - 1) if self.m > 1 else cos
        # ``rows``: estimate a shared-parameter loss from a subset of the features, scaled up
        keep = np.arange(self.m) if rows is None else np.asarray(rows)
        self.scale = float(np.sum(imp) / np.sum(imp[keep])) if np.sum(imp[keep]) > 0 else 1.0
        self.cos, self.pj, self.dens, self.imp = cos[keep], pj[keep], dens[keep], imp[keep]
        self.S = 1.0 - self.dens
        # grid for >= 2 active interferers, sized for norms up to 1.3 and fixed for the whole fit
        a = np.full(len(keep), 1.69)
        self.grid = grid_size(1.69 * self.cos, self.pj, a, self.S, cap=grid) if self.m > 2 else 0
        self.evaluations = 0
        self._shared: dict = {}

    def losses(self, r, b, derivative=False):
        """Weighted loss for a batch of per-feature parameters ``r, b`` of shape (B, m).

        With ``derivative`` also the gradient in ``b`` (B, m), exact.
        """
        self.evaluations += 1
        B, m = r.shape
        g = (r[:, :, None] * self._partners(r) * self.cos[None]).reshape(B * m, -1)
        a = (r * r).reshape(-1)
        S = np.tile(self.S, B)
        pj = np.broadcast_to(self.pj, (B, m, m - 1)).reshape(B * m, -1)
        out = _rows_expectation(a, S, b.reshape(-1), g, pj, self.grid, derivative=derivative)
        value = (out[0].reshape(B, m) * self.imp).sum(axis=1)
        return (value, out[2].reshape(B, m) * self.imp) if derivative else value

    def _partners(self, r):
        off = ~np.eye(self.m, dtype=bool)
        full = np.broadcast_to(r[:, None, :], (r.shape[0], self.m, self.m))
        return full[:, off].reshape(r.shape[0], self.m, -1)

    # -- one shared (r, b): Y = r² Z, Z's distribution computed once
    def shared_losses(self, r, b, grid=None):
        """Weighted loss when every feature has norm ``r`` and bias ``b`` (arrays of shape (B,))."""
        self.evaluations += 1
        grid = self.grid if grid is None else grid
        if grid not in self._shared:
            p = np.where(self.cos != 0, self.pj, 0.0)
            p0, p1, _ = _order_probabilities(p)
            hi = _higher_order(self.cos, p, grid) if grid else None
            self._shared[grid] = (p0, p1, hi)
        p0, p1, hi = self._shared[grid]
        a = (r * r)[:, None]  # (B, 1)
        bb = b[:, None]
        S = self.S[None, :]
        value = p0[None] * psi(bb, a, S)
        if self.m > 1:
            box = psi_box(bb[:, :, None], a[:, :, None] * self.cos[None], a[:, :, None], S[:, :, None])
            value = value + (p1[None] * box).sum(axis=2)
        if hi is not None:
            y = bb[:, :, None] + a[:, :, None] * hi.y[None]
            value = value + (hi.mass[None] * psi(y, a[:, :, None], S[:, :, None])).sum(axis=2)
        return self.scale * (value * self.imp[None]).sum(axis=1)

    def expand(self, theta):
        """Per-feature ``(r, b)`` of shape (B, m) from group parameters ``theta`` (B, 2k)."""
        return theta[:, : self.k][:, self.groups], theta[:, self.k :][:, self.groups]

    def objective(self, theta):
        """Loss of a batch of group parameter vectors ``theta`` (B, 2k)."""
        r, b = self.expand(theta)
        if self.k == 1:
            return self.shared_losses(r[:, 0], b[:, 0])
        return self.losses(r, b)

    def fit(self, init=None, scan=None):
        """Return ``(theta, loss)``: the best group parameters found (never worse than ``init``).

        A scan over one shared ``(r, b)`` and its polish come first (cheap: one
        interference distribution for every ``r``); with several groups the
        per-group fit starts from there (and from ``init``).
        """
        rr, bb = np.meshgrid(*(scan or (_R_GRID, _B_GRID)), indexing="ij")
        vals = self.shared_losses(rr.ravel(), bb.ravel(), min(SCAN_GRID, self.grid))
        best = int(np.argmin(vals))
        shared = self._polish(
            np.array([rr.ravel()[best], bb.ravel()[best]]),
            self._shared_value_and_grad,
            [(0.0, R_MAX), (B_MIN, B_MAX)],
        )
        starts = [np.repeat(shared[0], self.k)]
        if init is not None:
            starts.append(np.asarray(init, dtype=np.float64))
        if self.k == 1:
            return (
                min(
                    (
                        self._polish(x0, self._shared_value_and_grad, [(0.0, R_MAX), (B_MIN, B_MAX)])
                        for x0 in starts
                    ),
                    key=lambda t: t[1],
                )
                if init is not None
                else shared
            )
        bounds = [(0.0, R_MAX)] * self.k + [(B_MIN, B_MAX)] * self.k
        return min((self._polish(x0, self._value_and_grad, bounds) for x0 in starts), key=lambda t: t[1])

    def _polish(self, x0, fun, bounds):
        from scipy.optimize import minimize

        x0 = np.clip(x0, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        f0 = fun(x0)[0]
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 200, "ftol": 1e-12, "gtol": 1e-9},
        )
        return (res.x, float(res.fun)) if res.fun <= f0 else (x0, f0)

    def _shared_value_and_grad(self, theta, step=1e-6):
        batch = theta[None] + np.array([[0, 0], [step, 0], [-step, 0], [0, step], [0, -step]])
        v = self.shared_losses(batch[:, 0], batch[:, 1])
        return float(v[0]), np.array([v[1] - v[2], v[3] - v[4]]) / (2 * step)

    def _value_and_grad(self, theta, step=1e-6):
        """Value and gradient: central differences in the norms (one batch), exact in the biases."""
        k = self.k
        batch = np.repeat(theta[None], 2 * k + 1, axis=0)
        idx = np.arange(k)
        batch[1 + idx, idx] += step
        batch[1 + k + idx, idx] -= step
        r, b = self.expand(batch)
        vals, slope = self.losses(r, b, derivative=True)
        grad_b = np.bincount(self.groups, weights=slope[0], minlength=k)
        return float(vals[0]), np.r_[(vals[1 : 1 + k] - vals[1 + k :]) / (2 * step), grad_b]


# --------------------------------------------------------------------------- public
def tegum_components(U, atol=COS_ATOL):
    """Return the components of ``|cos| > atol`` among the nonzero rows of unit ``U``, and the zero rows."""
    from scipy.sparse.csgraph import connected_components

    nonzero = np.linalg.norm(U, axis=1) > 0
    A = (np.abs(U @ U.T) > atol) & nonzero[:, None] & nonzero[None, :]
    _, labels = connected_components(A, directed=False)
    comps = [np.flatnonzero((labels == k) & nonzero) for k in np.unique(labels[nonzero])]
    return comps, np.flatnonzero(~nonzero)


def symmetry_groups(C, dens, imp, decimals=9):
    """Group features of one factor with equal density, importance and sorted cosine profile."""
    keys = [
        (
            round(float(dens[i]), decimals),
            round(float(imp[i]), decimals),
            tuple(np.round(np.sort(np.delete(C[i], i)), decimals)),
        )
        for i in range(len(C))
    ]
    order = {}
    return np.array([order.setdefault(k, len(order)) for k in keys])


def fit_factor(C, dens, imp, *, share=True, init=None, grid=FIT_GRID):
    """Fit one factor with cosines ``C``: returns ``(r, b, loss, evaluations)`` per feature."""
    m = len(C)
    if m == 1 and dens[0] > 0:
        return np.ones(1), np.zeros(1), 0.0, 0  # a dedicated dimension reproduces its feature exactly
    groups = symmetry_groups(C, dens, imp) if share else np.arange(m)
    fac = _Factor(C, dens, imp, groups, grid)
    init_theta = None
    if init is not None:
        r0, b0 = init
        k = fac.k
        init_theta = np.r_[
            [r0[groups == g].mean() for g in range(k)], [b0[groups == g].mean() for g in range(k)]
        ]
    theta, loss = fac.fit(init_theta)
    r, b = fac.expand(theta[None])
    return r[0], b[0], loss, fac.evaluations


def dropped_bias(dens):
    """Optimal bias of a feature with zero norm: its mean ``p / 2`` (the loss is then its variance)."""
    return np.asarray(dens, dtype=np.float64) / 2


@single_blas
def fit_geometry(
    directions,
    *,
    sparsity=None,
    density=None,
    importance=1.0,
    share=True,
    init_norms=None,
    init_bias=None,
) -> FittedGeometry:
    """Fit per-feature norms and biases of fixed directions to minimise :func:`expected_loss`.

    Parameters
    ----------
    directions : array_like, shape (n, d)
        One row per feature; rows are normalized, zero rows are features left
        out (norm 0, bias at the feature's mean).
    sparsity, density : float or array_like, optional
        As in :func:`expected_loss`, for a single instance: a scalar, or one value
        per feature given as shape ``(1, n)``. Default dense.
    importance : float or array_like
        Scalar or one value per feature.
    share : bool, default True
        Features of one tegum factor with equal importance, density and cosine
        profile share norm and bias (exact symmetry of regular polytopes).
    init_norms, init_bias : array_like, shape (n,), optional
        A starting point (e.g. a trained model's norms and biases); the result
        is never worse than it.

    Returns
    -------
    FittedGeometry

    Examples
    --------
    A pentagon at density 0.05: every feature keeps norm about 1 with a negative bias.

    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> fit = fit_geometry(np.c_[np.cos(t), np.sin(t)], sparsity=0.95)
    >>> bool(np.ptp(fit.norms) < 1e-9), bool(fit.b[0] < 0), bool(fit.loss < fit.initial_loss)
    (True, True, True)
    >>> fit_geometry(np.eye(2), sparsity=[[0.5, 0.5, 0.5]])
    Traceback (most recent call last):
    ...
    ValueError: sparsity given as a 2-D array must have shape (n_instances, n_features=2); got shape (1, 3).
    """
    U = check_packing(directions, "directions", dtype=np.float64)
    n = U.shape[0]
    norms0 = row_norms(U)  # without overflow or underflow: rows of 1e200 or 1e-200 are directions too
    U = unit_rows(U)
    dens = feature_density(sparsity, density, n)
    imp = feature_table(importance, "importance", n, one_d="feature", lo=0.0)
    for name, arr in (("sparsity" if density is None else "density", dens), ("importance", imp)):
        if arr.shape[0] != 1:
            raise ValueError(
                f"{name} must describe one instance (a scalar or shape (1, {n})); got {arr.shape}."
            )
    dens, imp = dens[0], imp[0]
    if not isinstance(share, bool | np.bool_):
        raise TypeError(f"share must be a bool; got {_describe(share)}.")
    r0 = _init_vector(init_norms, "init_norms", n, np.ones(n), lo=0.0)
    b0 = _init_vector(init_bias, "init_bias", n, np.zeros(n))
    comps, zero = tegum_components(U)
    r, b = np.zeros(n), dropped_bias(dens)
    groups = np.zeros(n, dtype=np.int64)
    evaluations, next_group = 0, 0
    for comp in comps:
        C = U[comp] @ U[comp].T
        init = (r0[comp], b0[comp]) if (init_norms is not None or init_bias is not None) else None
        rc, bc, _, ev = fit_factor(C, dens[comp], imp[comp], share=bool(share), init=init)
        r[comp], b[comp] = rc, bc
        local = symmetry_groups(C, dens[comp], imp[comp]) if share else np.arange(len(comp))
        groups[comp] = next_group + local
        next_group += int(local.max()) + 1
        evaluations += ev
    groups[zero] = next_group + np.arange(len(zero))
    W0 = r0[:, None] * U
    if init_bias is None and init_norms is None:
        b0 = np.where(norms0 > 0, b0, dropped_bias(dens))
    kw = dict(density=dens[None], importance=imp[None])
    initial = expected_loss(W0, b0, **kw, return_details=True)
    fitted = expected_loss(r[:, None] * U, b, **kw, return_details=True)
    if fitted.loss[0] > initial.loss[0]:  # only possible through grid noise: keep the start
        r, b, fitted = np.where(norms0 > 0, r0, 0.0), b0, initial
    factor_losses = np.array([fitted.per_feature[0, c].sum() for c in comps])
    return FittedGeometry(
        W=r[:, None] * U,
        b=b,
        loss=float(fitted.loss[0]),
        error_bound=float(fitted.error_bound[0]),
        initial_loss=float(initial.loss[0]),
        norms=r,
        factors=comps,
        groups=groups,
        factor_losses=factor_losses,
        evaluations=evaluations,
    )


def _init_vector(value, name, n, default, lo=None):
    if value is None:
        return default
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of {n} numbers; got {_describe(value)}.") from None
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got {arr.shape}.")
    if not np.isfinite(arr).all() or (lo is not None and (arr < lo).any()):
        raise ValueError(f"{name} must be finite{' and >= ' + str(lo) if lo is not None else ''}; got {arr}.")
    return arr
