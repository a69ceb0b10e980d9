"""The toy models' data: sparse uniform features, optionally signed, with correlated and anticorrelated pairs.

Batches are instance-major, ``(instances, batch, n_features)``. :class:`Sampler`
fills such arrays in place (block by block inside the trainers' kernels);
:func:`sample_toy_batch` is its public face.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_bool, check_dtype, check_int, check_rng
from ._inputs import check_inputs

__all__ = ["Sampler", "sample_toy_batch"]

# Below this density, float32 batches draw float64 uniforms: the single-uniform sampler
# (value u / p of an active entry) would otherwise resolve values only to 2**-24 / p.
F32_MIN_DENSITY = 2.0**-8


class Sampler:
    """Fill instance-major batches: feature i is 0 w.p. ``1 - p_i``, else uniform on [0, 1).

    One random 32-bit word per entry: its top 24 bits ``u`` give ``U = u / 2**24``,
    the entry is active iff ``U < p`` and then its value ``U / p`` is uniform on
    [0, 1) (values resolve to ``2**-24 / p``; float64 uniforms are drawn instead
    for float64 runs and, in float32 runs, for instances with a density below
    2**-8). With ``signed=True`` the lowest bit gives an independent sign.
    The words come from a PCG64DXSM stream seeded from ``rng``.

    Correlated pairs (features ``2j, 2j + 1`` for ``j < n_correlated``) are active
    together; anticorrelated pairs (the next ``2 n_anticorrelated`` features) are
    never active together. Each pair uses the density of its first feature.
    Inputs are trusted: ``density`` is a validated float64 table ``(instances, n)``.
    """

    def __init__(self, density, dtype, rng, *, n_correlated=0, n_anticorrelated=0, signed=False):
        self.dtype, self.signed = dtype, signed
        self.seq = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
        self.density = density  # (I, n) float64
        self.nc, self.na = n_correlated, n_anticorrelated
        p = density[:, None, :]
        inv = np.where(p > 0, 1.0 / np.maximum(p, 1e-300), 2.0**40)
        self.inv_p = inv.astype(dtype)
        self._scale = (inv * 2.0**-24).astype(dtype)
        self.scale = self._scale  # tiled over rows on first use: long contiguous inner loops
        low = (density > 0) & (density < F32_MIN_DENSITY)
        # float64 runs always draw float64 uniforms (53-bit values); float32 runs only where needed.
        self.wide = low.any(axis=1) if dtype == np.float32 else np.ones(len(density), bool)

    def streams(self, k):
        """``k`` fresh independent generators (each call spawns new ones, deterministically)."""
        return [np.random.Generator(np.random.PCG64DXSM(s)) for s in self.seq.spawn(k)]

    def fill(self, x, i0, mask, gen):
        """Overwrite ``x`` (ni, rows, n), rows of instances ``i0 .. i0 + ni``, with data from ``gen``."""
        ni = x.shape[0]
        sl = slice(i0, i0 + ni)
        if self.wide[sl].any():
            x[...] = gen.random(x.shape) * self.inv_p[sl].astype(np.float64)
        else:
            u = gen.bit_generator.random_raw((x.size + 1) // 2).view(np.uint32)[: x.size].reshape(x.shape)
            if self.signed:
                sign = (u & 1).view(np.int32)
            np.right_shift(u, 8, out=u)
            np.copyto(x, u, casting="unsafe")
            if self.scale.shape[1] < x.shape[1]:
                shape = (len(self._scale),) + x.shape[1:]
                self.scale = np.ascontiguousarray(np.broadcast_to(self._scale, shape))
            x *= self.scale[sl, : x.shape[1]]
        np.less(x, 1, out=mask)
        x *= mask
        if self.signed:
            x *= (sign * 2 - 1) if not self.wide[sl].any() else gen.integers(0, 2, x.shape) * 2 - 1
        if self.nc or self.na:
            self._pairs(x, sl, gen)

    def _pairs(self, x, sl, gen):
        ni, rows, _ = x.shape
        for start, count, anti in ((0, self.nc, False), (2 * self.nc, self.na, True)):
            if not count:
                continue
            cols = slice(start, start + 2 * count)
            p = self.density[sl, None, start : start + 2 * count : 2]  # density of each pair's first
            vals = gen.random((ni, rows, 2 * count))
            if self.signed:
                vals = vals * (gen.integers(0, 2, size=vals.shape) * 2 - 1)
            seeds = gen.random((ni, rows, count))
            if not anti:
                first = second = seeds < p
            else:
                on = seeds < 2 * p
                pick = gen.random((ni, rows, count)) < 0.5
                first, second = on & pick, on & ~pick
            vals[..., 0::2] *= first
            vals[..., 1::2] *= second
            x[..., cols] = vals


def sample_toy_batch(
    n_features,
    batch_size,
    *,
    sparsity=None,
    density=None,
    n_instances=None,
    n_correlated_pairs=0,
    n_anticorrelated_pairs=0,
    signed=False,
    dtype=np.float32,
    rng=None,
):
    """Draw one batch of the toy-model data, instance-major: shape ``(instances, batch, n_features)``.

    Feature ``i`` is 0 with probability ``S_i`` (its *sparsity*), otherwise
    uniform on [0, 1) (on [-1, 1) with ``signed=True``, the inputs of
    :func:`train_abs_model`). Correlated pairs (features ``2j, 2j+1`` for ``j <
    n_correlated_pairs``) are active together; anticorrelated pairs (the next
    ``2 * n_anticorrelated_pairs`` features) are never active together. Each
    pair uses the density of its first feature.

    Parameters
    ----------
    n_features, batch_size : int
    sparsity : float or array_like, optional
        Probability that a feature is zero. Scalar, one value per instance
        (1-D) or ``(n_instances, n_features)``. Default 0 (dense).
    density : float or array_like, optional
        ``1 - sparsity``; give one of the two.
    n_instances : int, optional
        Inferred from per-instance arrays; default 1.
    n_correlated_pairs, n_anticorrelated_pairs : int
    signed : bool
        Give every active value an independent random sign.
    dtype : np.float32 or np.float64
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_instances, batch_size, n_features)

    Examples
    --------
    >>> x = sample_toy_batch(4, 20000, sparsity=0.75, rng=0)
    >>> x.shape, round(float((x > 0).mean()), 2), round(float(x.max()), 2)
    ((1, 20000, 4), 0.25, 1.0)
    >>> x = sample_toy_batch(4, 20000, sparsity=0.5, signed=True, rng=0)
    >>> round(float((x < 0).mean()), 2), round(float(x.min()), 2)
    (0.25, -1.0)
    >>> sample_toy_batch(4, 10, sparsity=1.5)
    Traceback (most recent call last):
    ...
    ValueError: sparsity values must lie in [0.0, 1.0]; got 1.5.
    """
    n_features = check_int(n_features, "n_features")
    batch_size = check_int(batch_size, "batch_size")
    inputs = check_inputs(
        n_features,
        sparsity=sparsity,
        density=density,
        n_instances=n_instances,
        n_correlated_pairs=n_correlated_pairs,
        n_anticorrelated_pairs=n_anticorrelated_pairs,
    )
    signed = check_bool(signed, "signed")
    dt = check_dtype(dtype)
    sampler = Sampler(
        inputs.density,
        dt,
        check_rng(rng),
        n_correlated=inputs.n_correlated,
        n_anticorrelated=inputs.n_anticorrelated,
        signed=signed,
    )
    x = np.empty((inputs.n_instances, batch_size, n_features), dtype=dt)
    sampler.fill(x, 0, np.empty(x.shape, dtype=bool), sampler.streams(1)[0])
    return x
