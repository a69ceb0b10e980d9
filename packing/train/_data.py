"""The toy models' data: sparse uniform features, optionally signed, with correlated and anticorrelated pairs.

Batches are instance-major, ``(instances, batch, n_features)``. :class:`Sampler`
fills such arrays in place (block by block inside the trainers' kernels);
:func:`sample_toy_batch` is its public face.
"""

from __future__ import annotations

import functools

import numpy as np

from .._validation import check_bool, check_dtype, check_int, check_memory, check_rng
from ._inputs import check_inputs

__all__ = ["Sampler", "sample_toy_batch"]

# Below this density, float32 batches draw float64 uniforms: the single-uniform sampler
# (value u / p of an active entry) would otherwise resolve values only to 2**-24 / p.
F32_MIN_DENSITY = 2.0**-8
#: Features below this density are drawn by skips in the toy kernel (:meth:`Sampler.fill_skipped`):
#: the positions of their active entries from geometric gaps, then only the active values, work
#: proportional to the active entries (about 7 ns each, plus some 40 us per class of rows) instead
#: of one word per entry (about 1.4-2 ns). Timed on blocks of 200 x 1024 and 512 x 512 entries
#: (one thread, loaded machine), skips cost 0.49, 0.68, 0.89, 1.04 and 1.24 times the words at
#: densities 0.05, 0.1, 0.15, 0.2 and 0.25: the crossover. 0 restores the stream of packing 0.2
#: (one word per entry for every feature).
SKIP_DENSITY = 0.2
#: Fewest entries (rows x batch rows) a class of rows drawn by skips has in a block; smaller ones
#: draw words (a class costs some 20 numpy calls, about 25 us).
SKIP_MIN_ENTRIES = 2**15


#: A gap is looked up by the top ``32 - GAP_SHIFT`` bits of its word (4096 cells, 16 kB).
GAP_SHIFT = 20


def _gaps(w, log_q):
    """Return the gaps of 32-bit words ``w``: ``floor(log(U) / log(1 - p))``, ``U = (w + 1) / 2**32``."""
    return np.floor(np.log((w + 1.0) * 2.0**-32) / log_q)


@functools.cache
def gap_table(p):
    """Look-up table of gaps plus one for density ``p``, by the top bits of a word; 0: compute it.

    A gap (inactive entries before the next active one) is ``G = floor(log(U) / log(1 - p))``
    with ``U = (w + 1) / 2**32``, so ``P(G >= g) = P(U <= (1 - p)**g)``: geometric, the
    entries independent and active with probability ``p``, exact to ``2**-32``. ``G``
    falls as ``w`` grows: a cell of words whose first and last give the same gap holds it
    (plus one), the others (a few percent at density 0.01) hold 0. Returns ``(table,
    log(1 - p))``.
    """
    log_q = float(np.log1p(-p))
    cells = np.arange(2 ** (32 - GAP_SHIFT), dtype=np.float64)
    first = _gaps(cells * 2.0**GAP_SHIFT, log_q)
    last = _gaps((cells + 1) * 2.0**GAP_SHIFT - 1, log_q)
    tab = np.where((first == last) & (first < 2**30), first + 1, 0).astype(np.int32)
    return tab, log_q


class Sampler:
    """Fill instance-major batches: feature i is 0 w.p. ``1 - p_i``, else uniform on [0, 1).

    One random 32-bit word per entry: its top 24 bits ``u`` give ``U = u / 2**24``,
    the entry is active iff ``U < p`` and then its value ``U / p`` is uniform on
    [0, 1) (values resolve to ``2**-24 / p``; float64 uniforms are drawn instead
    for float64 runs and, in float32 runs, for instances with a density below
    2**-8). With ``signed=True`` the lowest bit gives an independent sign.
    The words come from SFC64 streams (numpy's fastest generator with 64-bit
    output, about 1 ns per entry) spawned from ``rng``. The toy-model kernel
    draws with :meth:`fill_rows_scaled` instead: the same words, mapped so that
    no per-feature constant multiplies the batch (it holds ``alpha ⊙ x``); and
    features of density below ``skip_below`` (default :data:`SKIP_DENSITY`) by
    :meth:`fill_skipped`: the positions of their active entries from geometric
    gaps, then only the active values, the same law from far fewer random words
    (``skip_below=0`` draws the stream of packing 0.2, one word per entry).

    The batch may be laid out with features last, ``(instances, rows, n)``, or
    features second, ``(instances, n, rows)`` (the trainers' kernels: per-feature
    constants then broadcast along long contiguous rows); ``feature_axis`` says which.

    Correlated pairs (features ``2j, 2j + 1`` for ``j < n_correlated``) are active
    together; anticorrelated pairs (the next ``2 n_anticorrelated`` features) are
    never active together. Each pair uses the density of its first feature.
    Inputs are trusted: ``density`` is a validated float64 table ``(instances, n)``.
    """

    def __init__(
        self,
        density,
        dtype,
        rng,
        *,
        n_correlated=0,
        n_anticorrelated=0,
        signed=False,
        skip_below=SKIP_DENSITY,
    ):
        self.dtype, self.signed = np.dtype(dtype), signed
        self.seq = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
        self.density = density  # (I, n) float64
        self.nc, self.na = n_correlated, n_anticorrelated
        inv = np.where(density > 0, 1.0 / np.maximum(density, 1e-300), 2.0**40)
        self.inv_p = inv  # float64, for the wide path
        self.scale = (inv * 2.0**-24).astype(dtype)  # (I, n): maps u to U / p
        self._tiled = self.scale[:, None, :]  # rows-then-features batches, tiled on first use
        low = (density > 0) & (density < F32_MIN_DENSITY)
        # float64 runs always draw float64 uniforms (53-bit values); float32 runs only where needed.
        self.wide = low.any(axis=1) if self.dtype == np.float32 else np.ones(len(density), bool)
        self._wide = self.wide.tolist()  # per instance, for quick checks of a block's rows
        self._rows = (self.scale.reshape(-1, 1), self.inv_p.reshape(-1, 1))
        # Scaled features (fill_rows_scaled): with M_j = floor(p_j 2**24), feature j of a 24-bit
        # word v is active iff v >= K_j = 2**24 - M_j, and then holds alpha_j x_j = v - K_j.
        m = np.floor(density * 2.0**24)
        self.alpha = np.where(m >= 1, m, 1.0)  # (I, n) float64, exact in float32 (<= 2**24)
        offset = (2.0**24 - m).reshape(-1)
        self._scaled_rows = (offset.astype(dtype).reshape(-1, 1), self.alpha.reshape(-1, 1))
        # _run_end[j]: the last row of the run of rows sharing row j's offset (a scalar then serves
        # a chunk inside one run: numpy's loops against a scalar are about 3x faster than a column).
        ends = np.append(np.flatnonzero(offset[1:] != offset[:-1]), offset.size - 1)
        self._run_end = ends[np.searchsorted(ends, np.arange(offset.size))]
        self._bounds = None  # see bounds (computed on first use)
        # Rows drawn by skips (fill_skipped), per row of the features-first layout; density 0: all zero.
        self.skip_below = skip_below
        self.skipped = density.reshape(-1) < skip_below
        self._skip_plans, self._dense_runs = {}, {}

    def streams(self, k):
        """``k`` fresh independent generators (each call spawns new ones, deterministically)."""
        return [np.random.Generator(np.random.SFC64(s)) for s in self.seq.spawn(k)]

    @property
    def has_pairs(self) -> bool:
        """Whether some features come in (anti)correlated pairs (then only :meth:`fill` applies)."""
        return bool(self.nc or self.na)

    def zero_row_probability(self) -> np.ndarray:
        """Probability that a batch row of each instance is all zero: ``(instances,)`` float64.

        ``Π_j (1 - p_j)`` over independent features; a correlated pair counts once with its
        first feature's density ``p`` (active together), an anticorrelated pair once with
        ``min(2 p, 1)`` (one of the two active w.p. ``2 p``), as :meth:`_pairs` draws them.

        Examples
        --------
        >>> s = Sampler(np.array([[0.5, 0.5], [0.1, 0.2]]), np.float32, np.random.default_rng(0))
        >>> s.zero_row_probability().round(3).tolist()
        [0.25, 0.72]
        >>> pairs = Sampler(np.full((1, 4), 0.3), np.float32, np.random.default_rng(0), n_correlated=1)
        >>> round(float(pairs.zero_row_probability()[0]), 4)  # the pair once, then two features
        0.343
        """
        p = self.density
        first = 2 * (self.nc + self.na)
        q = np.prod(1.0 - p[:, first:], axis=1)
        q = q * np.prod(1.0 - p[:, 0 : 2 * self.nc : 2], axis=1)
        return q * np.prod(1.0 - np.minimum(2.0 * p[:, 2 * self.nc : first : 2], 1.0), axis=1)

    def _per_feature(self, table, sl, x, feature_axis):
        """``table[sl]`` (instances, n) as an array broadcasting against ``x``."""
        if feature_axis == 1:
            return table[sl, :, None]
        if table is self.scale:  # features last: short inner loops unless tiled over rows
            if self._tiled.shape[1] < x.shape[1]:
                shape = (len(table), x.shape[1], table.shape[1])
                self._tiled = np.ascontiguousarray(np.broadcast_to(table[:, None, :], shape))
            return self._tiled[sl, : x.shape[1]]
        return table[sl, None, :]

    def fill(self, x, i0, mask, gen, feature_axis=-1):
        """Overwrite ``x``, a batch of instances ``i0 .. i0 + len(x)``, with data from ``gen``.

        ``mask`` is a boolean scratch array of ``x``'s shape; ``feature_axis`` is
        -1 for ``(instances, rows, n)`` and 1 for ``(instances, n, rows)``.
        """
        sl = slice(i0, i0 + x.shape[0])
        per = (self._per_feature(t, sl, x, feature_axis) for t in (self.scale, self.inv_p))
        self._draw(x, *per, self.wide[sl].any(), mask, gen)
        if self.has_pairs:
            self._pairs(np.moveaxis(x, 1, -1) if feature_axis == 1 else x, sl, gen)

    def fill_rows(self, x, start, mask, gen):
        """Overwrite ``x`` (k, rows): the rows ``start .. start + k`` of a features-first batch.

        Row ``j`` of a batch ``(instances, n, rows)`` reshaped to ``(instances * n,
        rows)`` is feature ``j % n`` of instance ``j // n``, counted from instance 0.
        Without (anti)correlated pairs only (see :attr:`has_pairs`).
        """
        n, stop = self.scale.shape[1], start + x.shape[0]
        scale, inv = self._rows
        wide = any(self._wide[start // n : (stop - 1) // n + 1])
        self._draw(x, scale[start:stop], inv[start:stop], wide, mask, gen)

    def narrow(self, i0, i1) -> bool:
        """Whether instances ``i0 .. i1`` draw one 32-bit word per entry, unsigned (:meth:`nonzero_rows`)."""
        return not self.signed and not any(self._wide[i0:i1])

    def nonzero_rows(self, start, rows, width, gen):
        """Draw what :meth:`fill_rows` would, returning only its nonzero entries: ``(positions, values)``.

        Draws exactly the words ``fill_rows`` draws for rows ``start .. start + rows`` of
        ``width`` entries (the stream ends in the same state) and returns the flat positions
        (sorted, in the ``(rows, width)`` block) of the entries it would make nonzero and their
        values, bit for bit: an entry is nonzero iff its 24-bit word ``q`` satisfies
        ``1 <= q < K`` (``K`` per feature, :attr:`bounds`), as ``fl(q * scale) < 1`` is monotone
        in ``q``. ``None`` where ``fill_rows`` draws float64 uniforms (the wide path) or signs.
        """
        n, stop = self.scale.shape[1], start + rows
        if self.signed or any(self._wide[start // n : (stop - 1) // n + 1]):
            return None
        size = rows * width
        u = gen.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size].reshape(rows, width)
        np.subtract(u, np.uint32(256), out=u)  # wraps around: words of q = 0 (value 0) become the largest
        pos = np.flatnonzero(u < self.bounds[start:stop])
        q = u.reshape(-1)[pos]
        q += np.uint32(256)
        q >>= np.uint32(8)
        vals = q.view(np.int32).astype(self.dtype)  # < 2**24: exact, as fill_rows converts
        vals *= self._rows[0][start:stop, 0][pos // width]
        return pos, vals

    @property
    def bounds(self) -> np.ndarray:
        """The bound ``(K - 1) * 256`` of each row of :meth:`fill_rows` (uint32, see :meth:`nonzero_rows`).

        ``K`` is the least 24-bit word ``q`` with ``fl(q * scale) >= 1`` (``2**24`` if none):
        found among the integers next to ``1 / scale``.
        """
        if self._bounds is None:
            s = self._rows[0].reshape(-1)
            first = np.maximum(np.floor(1.0 / s.astype(np.float64)) - 2, 1)  # (q - 2) s < 1 - s: below
            near = np.minimum(first[:, None] + np.arange(5), 2.0**24)  # (q + 2) s > 1 + s: above
            above = (near.astype(self.dtype) * s[:, None] >= 1) | (near >= 2.0**24)
            K = near[np.arange(len(s)), np.argmax(above, axis=1)].astype(np.uint64)
            self._bounds = ((K - 1) * 256).astype(np.uint32).reshape(-1, 1)
        return self._bounds

    def fill_rows_scaled(self, x, start, zeros, gen):
        """Overwrite ``x`` (k, rows), rows ``start ..`` of a features-first batch, with ``alpha ⊙ batch``.

        The toy kernel's sampler: row ``j`` holds ``alpha_j x_j`` (``alpha`` per
        feature row, see :attr:`alpha`), so the per-feature scaling moves from
        the batch onto the small weight matrices. One 32-bit word per entry,
        its top 24 bits ``v``: active iff ``v >= K_j = 2**24 - M_j`` with ``M_j =
        floor(p_j 2**24)``, then ``alpha_j x_j = v - K_j`` (exact) and ``x_j =
        (v - K_j) / M_j``, uniform on the grid ``{0, 1, .., M_j - 1} / M_j`` of
        [0, 1); inactive entries are 0. This draws the same words as
        :meth:`fill_rows` and maps them differently (the active words are the
        top ``M_j`` instead of the bottom ones). Rows of instances on the wide
        path (see the class docstring) draw float64 uniforms as
        :meth:`fill_rows` does and are multiplied by ``alpha``. ``zeros`` is a
        zero array of ``x``'s shape (read only). No pairs (see :attr:`has_pairs`).
        """
        n, stop = self.scale.shape[1], start + x.shape[0]
        offset, alpha = self._scaled_rows
        if any(self._wide[start // n : (stop - 1) // n + 1]):
            v = gen.random(x.shape)
            v *= self.inv_p.reshape(-1, 1)[start:stop]
            v *= v < 1
            v *= alpha[start:stop]
            x[...] = v
            return
        u = gen.bit_generator.random_raw((x.size + 1) // 2).view(np.uint32)[: x.size].reshape(x.shape)
        np.right_shift(u, 8, out=u)
        np.copyto(x, u.view(np.int32), casting="unsafe")  # < 2**24: exact, and int32 casts fastest
        k = float(offset[start, 0]) if self._run_end[start] >= stop - 1 else offset[start:stop]
        if isinstance(k, float) and k == 0.0:  # density 1 (M = 2**24): every entry active, x = v
            return
        np.subtract(x, k, out=x)  # exact: integers below 2**24
        np.maximum(x, zeros, out=x)

    def _skip_plan(self, start, k, R):
        """How a block draws its rows ``start .. start + k`` of ``R`` entries each (cached per shape).

        Returns ``(zero, classes, dense)``. Rows below :attr:`skip_below` are drawn by skips
        in classes: the rows of one instance in one density band ``(2**-(b + 1), 2**-b]``, in
        row order. A class draws candidate positions at its highest density ``p`` and keeps
        one on a row of density ``p_j`` with probability ``p_j / p`` (thinning; no draw when
        all its rows share one density). A class of fewer than :data:`SKIP_MIN_ENTRIES`
        entries is drawn with words instead (its few numpy calls would cost more than they
        save); rows of density 0 are only zeroed. ``zero``: block-relative ranges of the rows
        drawn by skips or zero; ``dense``: a boolean per row drawn with words.
        """
        key = (start, k, R)
        plan = self._skip_plans.get(key)
        if plan is not None:
            return plan
        n = self.density.shape[1]
        p = self.density.reshape(-1)[start : start + k]
        alpha = self.alpha.reshape(-1)[start : start + k]
        rows = np.arange(k)
        skip = self.skipped[start : start + k].copy()
        band = np.where(p > 0, np.floor(-np.log2(np.where(p > 0, p, 1.0))), -1).astype(np.int64)
        classes = []
        for inst in np.unique((start + rows[skip]) // n).tolist():
            mine = skip & ((start + rows) // n == inst)
            for b in np.unique(band[mine]).tolist():
                r = rows[mine & (band == b)]
                if b < 0:  # density 0: zero, nothing to draw
                    continue
                if r.size * R < SKIP_MIN_ENTRIES:
                    skip[r] = False  # words for these rows
                    continue
                pr = p[r]
                top = float(pr.max())
                ratio = None if np.all(pr == top) else pr / top
                scale = alpha[r] * 2.0**-24 if self.dtype == np.float32 else alpha[r]
                scale = scale.astype(self.dtype)
                scale = scale[0] if np.all(scale == scale[0]) else scale
                contiguous = int(r[-1] - r[0]) + 1 == r.size
                classes.append((r, contiguous, top, gap_table(top), ratio, scale))
        flags = np.concatenate(([0], skip.astype(np.int8), [0]))
        zero = np.flatnonzero(np.diff(flags)).reshape(-1, 2).tolist()
        plan = self._skip_plans[key] = (zero, classes, ~skip)
        return plan

    def dense_runs(self, start, shape, k0, k1):
        """Return the ranges ``(a, b)`` of block rows ``k0 .. k1`` that :meth:`fill_rows_scaled` draws.

        The block holds rows ``start ..`` of ``shape`` (k, R) (block-relative ranges, cached).
        """
        key = (start, shape, k0, k1)
        runs = self._dense_runs.get(key)
        if runs is None:
            dense = self._skip_plan(start, *shape)[2][k0:k1]
            cuts = np.flatnonzero(np.diff(np.concatenate(([0], dense.astype(np.int8), [0]))))
            runs = [(k0 + a, k0 + b) for a, b in cuts.reshape(-1, 2).tolist()]
            self._dense_runs[key] = runs
        return runs

    @staticmethod
    def _positions(p, table, first, length, gen):
        """Sorted positions ``first .. first + length - 1`` of a Bernoulli(``p``) sequence, from its gaps.

        A gap plus one (:func:`gap_table`) comes from one 32-bit word ``w``: its top 12 bits
        look it up, and the few words whose cell holds several gaps compute it. Gaps are
        drawn in batches a little above the expected count until they pass the end.
        """
        tab, log_q = table
        parts, last, end = [], first - 1, first + length
        while True:
            mean = (end - 1 - last) * p
            m = int(mean + 6.0 * np.sqrt(mean) + 16)
            w = gen.bit_generator.random_raw((m + 1) // 2).view(np.uint32)[:m]
            steps = tab.take(w >> GAP_SHIFT)
            odd = np.flatnonzero(steps == 0)
            if odd.size:
                steps[odd] = np.minimum(_gaps(w[odd], log_q), length) + 1
            t = np.cumsum(steps, dtype=np.int64)
            t += last
            parts.append(t)
            last = int(t[-1])
            if last >= end:
                break
        t = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return t[: np.searchsorted(t, end)]

    def fill_skipped(self, x, start, gen):
        """Draw the skipped rows (:attr:`skipped`) of ``x`` (k, rows), rows ``start ..``, as ``alpha ⊙ x``.

        The toy kernel calls it once per block, before :meth:`fill_rows_scaled` fills the
        other rows (:meth:`dense_runs`) chunk by chunk. A skipped row's entries are active
        independently with probability ``p_j`` (:meth:`_positions`, :func:`gap_table`: exact
        to ``2**-32``, where the words drawn for every entry round ``p_j`` to ``2**-24``);
        only the active entries draw a value: the top 24 bits ``u`` of a 32-bit word,
        ``x = u / 2**24`` (float32 runs), or a float64 uniform (float64 runs). Returns,
        per class of rows drawn together, ``(rows, contiguous, positions, values)``: the
        block-relative rows, whether they are one range, and the flat positions in ``x``
        (sorted when contiguous) with their values; None when no row is skipped.
        """
        zero, classes, _ = self._skip_plan(start, *x.shape)
        if not zero:
            return None
        R = x.shape[1]
        flat = x.reshape(-1)
        for a, b in zero:
            x[a:b] = 0
        out = []
        for rows, contiguous, p, table, ratio, scale in classes:
            first = int(rows[0]) * R if contiguous else 0  # contiguous: positions in x directly
            t = self._positions(p, table, first, rows.size * R, gen)
            if ratio is not None:  # thinning: keep a candidate on row j with probability p_j / p
                t = t[gen.random(t.size) < ratio[(t - first) // R]]
            if self.dtype == np.float32:
                u = gen.bit_generator.random_raw((t.size + 1) // 2).view(np.uint32)[: t.size]
                np.right_shift(u, 8, out=u)
                vals = u.astype(np.float32)
            else:
                vals = gen.random(t.size)
            vals *= scale if np.ndim(scale) == 0 else scale[(t - first) // R]
            pos = t if contiguous else rows[t // R] * R + t % R
            flat[pos] = vals
            out.append((rows, contiguous, pos, vals))
        return out

    def _draw(self, x, scale, inv, wide, mask, gen):
        """Fill ``x`` given its per-feature ``scale`` (``2**-24 / p``) and ``inv`` (``1 / p``) arrays."""
        if wide:
            x[...] = gen.random(x.shape) * inv
        else:
            u = gen.bit_generator.random_raw((x.size + 1) // 2).view(np.uint32)[: x.size].reshape(x.shape)
            if self.signed:
                sign = (u & 1).view(np.int32)
            np.right_shift(u, 8, out=u)
            np.copyto(x, u.view(np.int32), casting="unsafe")  # < 2**24: exact, and int32 casts fastest
            np.multiply(x, scale, out=x)
        np.less(x, 1, out=mask)
        np.multiply(x, mask, out=x)
        if self.signed:
            x *= (sign * 2 - 1) if not wide else gen.integers(0, 2, x.shape) * 2 - 1

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
    check_memory(
        inputs.n_instances * batch_size * n_features * (dt.itemsize + 1),
        "sample_toy_batch",
        "the (instances, batch, n_features) batch and its mask",
        n_features=n_features,
        batch_size=batch_size,
        instances=inputs.n_instances,
    )
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
