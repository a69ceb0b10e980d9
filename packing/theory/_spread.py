"""Spread blocks: many features in a few dimensions, spread evenly over the sphere.

At high sparsity ReLU toy models represent far more features than tegum
products of small polytopes hold (e.g. all 200 features in 20 dims at
density 0.01): they spread the features over the sphere and filter the
interference with a negative bias. A spread block of ``m`` features in ``D``
dims takes its directions from a seeded minimisation of the Riesz energy
``Σ_{i<j} |u_i − u_j|^{−s}`` (``s = 8``: close to the best spherical code,
i.e. small largest cosine, while using the whole sphere) by Riemannian
gradient descent, and one shared norm and bias fitted to the expected loss.
(Minimising the exact loss of at most one active interferer instead, a pairwise
potential of the cosines, clusters the features: it rewards the positive
interference that offsets the negative bias and misses its cost when several
interferers are active.) The block's cost for the DP is estimated on a fixed
subset of its features (the spread is nearly uniform); every reported loss is
the exact :func:`expected_loss` of the assembled weights.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ._fit import _Factor
from ._shapes import BlockShape

__all__: list[str] = []

#: Features whose interference distributions estimate a spread block's cost.
SAMPLE_ROWS = 24
#: Riesz exponent and gradient steps.
RIESZ_S = 8.0
STEPS = 400


@cache
def spread_directions(m, D, seed=0, steps=STEPS):
    """Return unit directions ``(m, D)`` of low Riesz ``s``-energy (read-only, cached)."""
    U = np.random.default_rng([seed, m, D]).standard_normal((m, D))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    step = 0.05
    for _ in range(steps):
        C = U @ U.T
        np.fill_diagonal(C, -1.0)
        w = RIESZ_S * np.maximum(2 - 2 * C, 1e-12) ** (-RIESZ_S / 2 - 1)
        np.fill_diagonal(w, 0.0)
        G = w @ U  # the energy falls along -G projected on the tangent space
        G -= np.sum(G * U, axis=1, keepdims=True) * U
        U = U - step * G / max(float(np.abs(G).max()), 1e-300)
        U /= np.linalg.norm(U, axis=1, keepdims=True)
    U.setflags(write=False)
    return U


def _factor(U, density, imp, rows):
    C = U @ U.T
    return _Factor(C, np.full(len(U), density), imp, np.zeros(len(U), dtype=np.int64), rows=rows)


def fit_spread(m, D, *, density, imp, scan=None):
    """Return ``(shape, loss, r, b)``: a spread block, its estimated fitted loss, shared norm and bias.

    ``imp`` (m,) weights the features.
    """
    U = spread_directions(m, D)
    rows = np.unique(np.linspace(0, m - 1, min(m, SAMPLE_ROWS)).round().astype(int))
    theta, loss = _factor(U, density, imp, rows).fit(scan=scan)
    return spread_shape(m, D), loss, float(theta[0]), float(theta[1])


def spread_shape(m, D) -> BlockShape:
    """Return the spread block of ``m`` features in ``D`` dims."""
    return BlockShape(f"spread ({m} in {D})", f"spread {m}x{D}", spread_directions(m, D), spread=True)


#: Features per dimension of the spread candidates (``m = round(ρ D)``, ``2D < m <= n``, plus ``m = n``).
SPREAD_RATIOS = (2.5, 3, 4, 5, 7, 10)


def spread_shapes(n, d) -> list:
    """Spread candidates for ``n`` features in ``d`` dims: ``D = d`` (every ``D >= 3`` when ``d <= 6``)."""
    dims = range(3, d + 1) if d <= 6 else [d]
    out = []
    for D in dims:
        ms = {int(round(r * D)) for r in SPREAD_RATIOS} | {n}
        out += [spread_shape(m, D) for m in sorted(ms) if 2 * D < m <= n]
    return out
