"""The toy model's blocked kernel: loss and hand-derived gradients of ``x' = ReLU(x W Wᵀ + b)``.

Built on :class:`packing.train._kernel.BlockedKernel` (groups, blocks, chunks,
worker threads); :mod:`packing.train.toy` trains with it.
"""

from __future__ import annotations

import functools

import numpy as np

from .._environment import numpy_blas, runs_avx512_kernels
from ._kernel import CHUNK_ENTRIES, ROW_STEP, BlockedKernel, gather_nonzero_rows, row_chunks, rowdot

__all__: list[str] = []

#: Entries per chunk of a block's sampling and elementwise work. Four times the shared
#: default: one thread runs as fast (measured within noise on 200 x 20 and 1000 x 100), and
#: with several workers a third as many numpy calls per step contend for the GIL.
TOY_CHUNK_ENTRIES = 4 * CHUNK_ENTRIES


#: Estimated cost of one row of one instance, ns: sampling and elementwise work per entry,
#: plus the matrix products' 10 d flops per entry at about 55 GFLOP/s (only steers the grouping).
def _row_ns(n, d):
    return n * (3.0 + 10.0 * d / 55.0)


#: Costs (ns, one thread, float32) behind the choice of sparse input products, see
#: :func:`sparse_inputs_pay`: the two dense products of the block's inputs cost about
#: ``DENSE_NS_PER_D * d`` per entry; gathering the nonzero entries (mask, flatnonzero,
#: values, columns) about ``GATHER_NS`` per entry, once for both products; a sparse
#: product (scipy's CSR / CSC times dense) about ``SPARSE_NS[0] + SPARSE_NS[1] * d`` per
#: nonzero entry. The sparse product's cost was timed alone (d = 20 and 100); the other
#: two are fitted to the crossover densities that ``scripts/bench_sparse_inputs.py``
#: measured in the kernel (1000 features, batch 2048: never at d = 20, 0.04 at d = 50,
#: 0.10 at d = 100, 0.13 at d = 200).
DENSE_NS_PER_D = 0.04
GATHER_NS = 1.4
SPARSE_NS = (2.4, 0.106)
#: The sparse route is taken only where its estimated cost is below this fraction of the dense one
#: (near the crossover the two cost the same, and the dense route's summation order is kept).
SPARSE_MARGIN = 0.9


def sparse_inputs_pay(density, d):
    """Whether the input products ``x W`` and ``xᵀ (G W)`` are cheaper over nonzero entries only.

    ``density`` is an instance's expected fraction of nonzero inputs (its mean feature
    density), ``d`` the hidden dimension: two dense products per entry against one
    gathering pass plus two sparse products per nonzero entry, at the costs measured
    on this kind of machine (:data:`SPARSE_NS`). The choice depends on the shape and
    densities alone, never on the thread count or the data drawn.

    Examples
    --------
    >>> [bool(sparse_inputs_pay(p, 100)) for p in (0.0, 0.05, 0.2, 1.0)]
    [True, True, False, False]
    >>> bool(sparse_inputs_pay(0.0, 20))  # small d: dense products are too cheap to beat
    False
    """
    dense = DENSE_NS_PER_D * d
    sparse = GATHER_NS + density * 2 * (SPARSE_NS[0] + SPARSE_NS[1] * d)
    return np.asarray(sparse < SPARSE_MARGIN * dense)


#: Costs (ns, one thread, float32) of collapsing a block's zero rows, see :func:`collapse_pays`:
#: per block (some 15 numpy calls), per row of the block and instance (the mask's comparison, the
#: positions of nonzero rows, the index), per entry of the block (the sum over features) and per
#: entry kept (the gather). ``scripts/bench_zero_rows.py --fit`` measured 8 us, 1.0, 0.07 and 0.97
#: on fresh blocks in cache (2026-12-01, 21 shapes: n = 5 and 20, 1-40 instances, 256-1024 rows);
#: inside the kernel a small block's collapse took some 10 us more: the fixed cost is raised to 15 us.
COLLAPSE_NS = (15e3, 1.0, 0.07, 1.0)
#: The work a collapsed row of one instance saves, ns per entry: the kernel's marginal time after
#: sampling (products and elementwise passes), ``COMPUTE_NS[0]`` plus ``10 d`` flops at
#: ``COMPUTE_NS[1]`` GFLOP/s. Fitted to 1.11, 1.55, 2.27 and 2.05 ns measured by the same script
#: at (n, d) = (5, 2), (20, 5), (20, 10), (40, 10), the slope between batches of 512 and 2048 rows.
COMPUTE_NS = (0.83, 69.0)
#: Zero rows are collapsed only where the estimated cost is below this fraction of the saving
#: (near break-even the full block's summation order is kept).
COLLAPSE_MARGIN = 0.75


def collapse_pays(zero_fraction, n, d, ni, R):
    """Whether collapsing the all-zero rows of a block of ``ni`` instances x ``R`` rows saves time.

    ``zero_fraction`` is the least, over the block's instances, probability that a
    row is all zero (:meth:`Sampler.zero_row_probability`). Every instance keeps as
    many rows ``R'`` as the one with the most nonzero rows (about ``R (1 - f)`` plus
    its spread); the saving is the work of ``R - R'`` rows after sampling
    (:data:`COMPUTE_NS`), the cost a mask and an index over the block's rows and a
    gather of the ``R'`` rows kept (:data:`COLLAPSE_NS`). Shape and densities alone
    decide, never the data drawn or the thread count.

    Examples
    --------
    >>> [bool(collapse_pays(q, 5, 2, 10, 1024)) for q in (0.0, 0.33, 0.77, 0.95)]
    [False, False, False, True]
    >>> [bool(collapse_pays(0.99 ** 20, 20, 5, 10, 1024)), bool(collapse_pays(0.97 ** 20, 20, 5, 10, 1024))]
    [True, False]
    >>> bool(collapse_pays(0.95, 5, 2, 1, 64))  # too small a block for the fixed cost
    False
    """
    f = float(zero_fraction)
    spread = np.sqrt(2.0 * np.log(max(ni, 1)) * R * f * (1.0 - f))
    kept = min(R, R * (1.0 - f) + spread + ROW_STEP / 2)
    saving = ni * (R - kept) * n * (COMPUTE_NS[0] + 10.0 * d / COMPUTE_NS[1])
    a, per_row, per_entry, per_kept = COLLAPSE_NS
    cost = a + ni * R * (per_row + n * per_entry) + ni * n * kept * per_kept
    return cost < COLLAPSE_MARGIN * saving


@functools.cache
def _matvecs(fmt):
    """Return scipy's own loop for CSR / CSC times dense into a given output (None if it moved).

    Imported on first use: ``import packing`` stays free of scipy.
    """
    try:
        from scipy.sparse import _sparsetools
    except ImportError:  # pragma: no cover
        return None
    return getattr(_sparsetools, f"{fmt}_matvecs", None)


def sparse_times_dense(fmt, shape, ptr, idx, vals, dense, out):
    """``out = A @ dense`` for ``A`` of ``shape`` given compressed (``fmt``: "csr" or "csc").

    ``dense`` is C-contiguous (shape[1], m), ``out`` C-contiguous (shape[0], m), both of
    ``vals``'s dtype; ``ptr`` and ``idx`` share one integer dtype.
    """
    fn = _matvecs(fmt)
    if fn is None:  # pragma: no cover - a scipy that moved its loops: the public sparse arrays instead
        import scipy.sparse

        cls = scipy.sparse.csr_array if fmt == "csr" else scipy.sparse.csc_array
        out[...] = cls((vals, idx, ptr), shape=shape) @ dense
        return out
    out[...] = 0
    fn(shape[0], shape[1], dense.shape[1], ptr, idx, vals, dense.reshape(-1), out.reshape(-1))
    return out


def compress_rows(ws, Xk):
    """``Xk`` (n, rows) compressed by rows: ``(ptr, cols, vals)`` (CSR of Xk = CSC of Xkᵀ).

    ``ws`` is the thread's :class:`~packing.train._kernel.Workspace` (a boolean scratch array).
    """
    n, R = Xk.shape
    mask = ws.flat("nz", Xk.shape, bool)
    np.not_equal(Xk, 0, out=mask)
    where = np.flatnonzero(mask).astype(_index_dtype(n, R))
    vals = Xk.reshape(-1)[where]
    return (*_rows_from_positions(where, n, R), vals)


def _index_dtype(n, R):
    """Integer type of the row pointers and columns of an (n, R) array compressed by rows."""
    return np.int32 if n * R < 2**31 else np.int64


def _rows_from_positions(where, n, R):
    """``(ptr, cols)`` of an (n, R) array from the sorted flat positions ``where`` of its nonzeros.

    ``where`` is overwritten (it becomes the columns when its type already is the index type).
    """
    dtype = _index_dtype(n, R)
    # Row j's entries sit at flat positions j R .. (j + 1) R - 1 (sorted): where each row starts.
    ptr = np.searchsorted(where, np.arange(0, (n + 1) * R, R, dtype=where.dtype)).astype(dtype)
    cols = np.remainder(where, R, out=where).astype(dtype, copy=False)  # in place
    return ptr, cols


@functools.cache
def blas_has_avx512() -> bool:
    """Whether numpy's BLAS is an OpenBLAS running its AVX-512 kernels (threadpoolctl; False if unknown)."""
    blas = numpy_blas()
    return blas is not None and runs_avx512_kernels(blas["library"], blas["kernels"])


def padded_width(d, avx512=False):
    """Columns of the gradient's two products ``R [h | 1]`` and ``X GWᵀ`` (``d + 1`` plus zero padding).

    OpenBLAS's Haswell (AVX2) float32 kernels run ``A Bᵀ`` with a thin ``B`` of ``m``
    rows unevenly in ``m``: padded with zero rows to the next multiple of 8, the two
    products together took 0.91, 0.84, 0.77 of their time at d = 20, 21, 22 and 0.98 at
    d = 100, but 1.17, 1.07 at d = 24, 25 (one thread, 200 x 1024 and 1000 x 512 blocks
    alike): so ``d + 1`` is padded when ``d % 8`` is 3, 4, 5 or 6. Its AVX-512 kernels
    (``avx512``) follow another pattern (the same padding took 1.01-1.04 at d = 20 and
    1.00-1.02 at d = 100): no padding for them.

    Examples
    --------
    >>> [padded_width(d) for d in (7, 8, 19, 20, 24, 100)]
    [8, 9, 24, 24, 25, 104]
    >>> padded_width(20, avx512=True)
    21
    """
    if avx512:
        return d + 1
    return -(-(d + 1) // 8) * 8 if d % 8 in (3, 4, 5, 6) else d + 1


class _ToyKernel(BlockedKernel):
    """Loss and hand-derived gradients of the toy model, block by block (see :mod:`._kernel`).

    Parameters are stored augmented, ``P = [W | b]`` of shape (I, n, d + 1). A
    block is laid out features first: ``X`` (instances, n, rows) is ``xᵀ``, so
    per-feature constants broadcast along long contiguous rows. With ``h = x W``
    and ``H = [h | 1]ᵀ`` (d + 1, rows), the output is ``Oᵀ = P H``. With the
    residual ``r = y - x`` (``y = ReLU(out)`` or ``out``), the loss is
    ``L_i = Σ_n c_n Σ_b r_bn² / B`` and, with ``R = r ⊙ [out > 0]`` (or ``r``)
    and ``G = c R`` (``2 / B`` applied once, after the sums)::

        [∂L/∂W | ∂L/∂b] = Gᵀ [h | 1] + [xᵀ (G W) | 0]
                        = c ⊙ (Rᵀ [h | 1]) + [xᵀ (R (c ⊙ W)) | 0],

    so the importances ``c`` scale two small matrices instead of the block.
    Blocks are sampled in place; no (instances, batch, n) array is materialized.

    **Scaled units.** A sampled block holds ``X̃ = α ⊙ X`` (one factor ``α_j``
    per feature row, :meth:`Sampler.fill_rows_scaled`), so that no
    per-feature constant ever multiplies the block: with ``P̃ = α ⊙ P`` the
    products give ``h = (W / α)ᵀ X̃`` and ``Õ = α ⊙ O = P̃ H``; the residual
    ``r̃ = ReLU(Õ) - X̃ = α ⊙ r`` (``α > 0``), ``R̃ = α ⊙ R``, and the loss and
    gradient take ``c / α²``, ``c / α`` and ``1 / α`` on small matrices:
    ``L = Σ (c / α²) Σ_b r̃²`` and ``∂L/∂P = (c / α) ⊙ (R̃ Hᵀ) + [(X̃ GWᵀ) / α | 0]``
    with ``GW = ((c / α) ⊙ W)ᵀ R̃``. A given batch (and one with feature
    pairs) has ``α = 1``: the products then are exactly those without scaling.

    **Sparse inputs.** For an instance whose inputs are mostly zero, the two
    products that read the block ``X`` (``hᵀ = Wᵀ X`` and ``X GWᵀ``) run over
    its nonzero entries only (scipy CSR / CSC times dense): fewer flops than
    the dense products, at a lower rate. ``sparse_inputs`` chooses per instance:
    ``None`` (default) by :func:`sparse_inputs_pay` from the sampler's densities
    (a given batch ``x`` stays dense), or ``True`` / ``False`` / a boolean per
    instance. Only the summation order of those two products changes (results
    agree with the dense route to rounding); the choice is fixed by the shape
    and densities, so results stay independent of the thread count. Instances
    the sampler drew by skips (:meth:`Sampler.fill_skipped`) hand their drawn
    positions and values to the sparse products directly, without a gathering pass.

    **Zero rows.** With few sparse features most rows of a block are all zero,
    and all are the same row: ``h = 0``, output ``b``, residual ``r = y =
    ReLU(b)`` (or ``b``), loss ``Σ_n c_n r_n²`` and gradient ``c ⊙ r`` on the
    bias alone (``xᵀ (G W)`` and ``Gᵀ h`` vanish). A block that collapses them
    (:meth:`_collapse`) keeps per instance its nonzero rows, then copies of one
    of its zero rows up to ``R'`` (the most nonzero rows of any of its
    instances, rounded up to :data:`ROW_STEP`), computes those ``R'`` rows as
    above and adds the closed form of the ``R - R'`` rows left out, times their
    number. Only summation orders change (results agree to rounding). A row is
    zero when its sum is (sampled blocks in scaled units, ``X̃ >= 0``), or when
    each entry is (feature pairs, a given batch: signed values, NaN counts as
    nonzero). ``collapse``: ``None`` (default) collapses the sampled blocks
    where :func:`collapse_pays` says so from the shape and densities (a given
    batch ``x`` never), ``True`` / ``False`` every block (a given batch too) /
    none. Sparse-route instances of a collapsed block gather their nonzero
    entries from the collapsed block (the skipped positions refer to the full one).
    """

    def __init__(
        self,
        n_inst,
        n,
        d,
        batch,
        weight,
        relu,
        dtype,
        sampler=None,
        threads=1,
        blas_threads=None,
        sparse_inputs=None,
        collapse=None,
        **plan,
    ):
        super().__init__(
            n_inst,
            batch,
            n * (d + 1),
            dtype,
            row_entries=n,
            row_ns=_row_ns(n, d),
            streams=None if sampler is None else sampler.streams,
            threads=threads,
            blas_threads=blas_threads,
            **plan,
        )
        # Sampling draws the words of a chunk's entries in order, half a word lost when a chunk has an
        # odd number of entries: blocks with an odd number of rows keep the shared chunks, so a seed
        # draws the same batches as before. Explicit chunk_entries (tests) apply to every block.
        self.big_chunks = None
        if "chunk_entries" not in plan:
            self.big_chunks = functools.cache(functools.partial(row_chunks, target=TOY_CHUNK_ENTRIES))
        self.relu, self.n, self.d, self.sampler = relu, n, d, sampler
        self.weight = weight  # (I, n) float64: c_n
        self.P = self.params.reshape(n_inst, n, d + 1)
        self.W, self.b = self.P[..., :d], self.P[..., d]
        self.gP = self.grad.reshape(n_inst, n, d + 1)
        self.gW, self.gb = self.gP[..., :d], self.gP[..., d]
        # The factor 2 / B is applied once to the summed gradient, which keeps small importances
        # out of the subnormal range where GEMMs slow down tenfold.
        self.c = weight.astype(dtype)[:, :, None]
        self.Wc = np.empty((n_inst, n, d), dtype)  # c ⊙ W, refreshed every step
        self.scale = np.dtype(dtype).type(2.0 / batch)
        scaled = sampler is not None and not sampler.has_pairs
        self.alpha = sampler.alpha[:, :, None].astype(dtype) if scaled else None  # (I, n, 1)
        if scaled:
            self.Pa, self.Wa = np.empty_like(self.P), np.empty((n_inst, n, d), dtype)
            self.ca = (weight / sampler.alpha).astype(dtype)[:, :, None]  # c / α
            self.loss_weight = weight / sampler.alpha**2
        else:
            self.Pa, self.Wa, self.ca, self.loss_weight = self.P, self.W, self.c, weight
        self.x = None  # a given batch (toy_model_loss); else sampled block by block
        self.few = d <= 6 and hasattr(np, "vecdot")  # see _grad
        # rows of H, columns of the gradient's products (fixed by the shape and the BLAS kernels)
        self.width = d + 1 if self.few else padded_width(d, blas_has_avx512())
        if self.few:  # its products are dot products, not GEMMs: always dense
            flags = False
        elif sparse_inputs is None:
            auto = sampler is not None
            flags = sparse_inputs_pay(sampler.density.mean(axis=1), d) if auto else False
        else:
            flags = sparse_inputs
        self.sparse = np.broadcast_to(np.asarray(flags, bool), (n_inst,)).copy()
        # Runs of instances that take the same route, per block: (k0, k1, sparse), block-relative.
        self.runs = functools.cache(self._runs)
        if collapse not in (None, True, False):
            raise ValueError(f"collapse must be None, True or False; got {collapse!r}.")
        self.collapse = collapse
        self.zero_q = None if sampler is None else sampler.zero_row_probability()  # (I,)
        self.collapses = functools.cache(self._collapses)

    def _collapses(self, i0, i1, R):
        """Whether a sampled block collapses its zero rows (``collapse=None``: by :func:`collapse_pays`)."""
        if self.collapse is not None:
            return self.collapse
        if self.zero_q is None:
            return False
        return bool(collapse_pays(self.zero_q[i0:i1].min(), self.n, self.d, i1 - i0, R))

    def _collapse(self, ws, xbuf, shape, nonneg):
        """Gather the block's nonzero rows first per instance: ``(Xc, z)`` (:func:`gather_nonzero_rows`)."""
        return gather_nonzero_rows(ws, xbuf, shape, nonneg, ROW_STEP)

    def _runs(self, i0, i1):
        flags = self.sparse[i0:i1]
        cuts = [0, *(np.flatnonzero(flags[1:] != flags[:-1]) + 1).tolist(), i1 - i0]
        return [(a, b, bool(flags[a])) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]

    def _drawn_nonzero(self, skipped, k, R):
        """Block instance ``k`` compressed by rows from the skips that drew it, or None.

        Only when one class of skipped rows (:meth:`Sampler.fill_skipped`) covers all of
        its rows as one range: its positions are sorted, so a slice holds the instance's entries.
        """
        n = self.n
        for rows, contiguous, pos, vals in skipped or ():
            if contiguous and rows[0] <= k * n and rows[-1] >= (k + 1) * n - 1:
                lo, hi = np.searchsorted(pos, [k * n * R, (k + 1) * n * R]).tolist()
                return (*_rows_from_positions(pos[lo:hi] - k * n * R, n, R), vals[lo:hi])
        return None

    def prepare(self):
        if self.alpha is not None:
            np.multiply(self.P, self.alpha, out=self.Pa)
            np.divide(self.W, self.alpha, out=self.Wa)
        if self.need_grad:
            np.multiply(self.W, self.ca, out=self.Wc)

    def finish(self, loss):
        if self.need_grad:
            self.grad *= self.scale
        return loss / self.B

    def block(self, ws, blk, gen, slot, loss, first, tick):
        i0, i1, r0, r1 = blk
        ni, R, n, d, dt = i1 - i0, r1 - r0, self.n, self.d, self.dtype
        collapse = self.collapse if self.x is not None else self.collapses(i0, i1, R)
        if collapse:  # one extra entry, for _collapse
            xbuf = ws.flat("x", (ni * n * R + 1,), dt)
            X = xbuf[:-1].reshape(ni, n, R)
        else:
            X = ws.flat("x", (ni, n, R), dt)
        Xr = X.reshape(ni * n, R)  # row j: feature j % n of instance i0 + j // n
        chunks = self.chunks(ni * n, R) if self.big_chunks is None or R % 2 else self.big_chunks(ni * n, R)
        skipped = None  # the skips that drew low-density rows (sampled blocks in scaled units)
        if self.x is not None:
            X[...] = self.x[i0:i1, r0:r1].transpose(0, 2, 1)
        elif self.alpha is None:
            self.sampler.fill(X, i0, ws.flat("xmask", X.shape, bool), gen, feature_axis=1)
        else:  # scaled units: X̃ = α ⊙ X; low-density rows by skips, then the others chunk by chunk
            skipped = self.sampler.fill_skipped(Xr, i0 * n, gen)
            for k0, k1 in chunks:
                for a, b in self.sampler.dense_runs(i0 * n, Xr.shape, k0, k1):
                    zeros = ws.flat("zeros", (b - a, R), dt, fill=0)
                    self.sampler.fill_rows_scaled(Xr[a:b], i0 * n + a, zeros, gen)
        tick("sampling")
        zero = 0  # all-zero rows left out of every instance of the block (see the class docstring)
        if collapse:
            X, zero = self._collapse(ws, xbuf, X.shape, self.x is None and self.alpha is not None)
            if zero:
                R -= zero
                Xr = X.reshape(ni * n, R)
                chunks = self.chunks(ni * n, R) if self.big_chunks is None else self.big_chunks(ni * n, R)
                skipped = None  # its positions are in the full block: sparse instances gather from X
            tick("zero rows")
        G = ws.flat("g", (ni, n, R), dt)
        Gr = G.reshape(ni * n, R)
        Hw = ws.array("h", (self.max_ni, self.width, self.max_rows), dt, fill=1)[:ni, :, :R]  # row d: 1s
        Hw[:, d + 1 :] = 0  # padding rows (see padded_width): zero, for the gradient's products
        H = Hw[:, : d + 1]
        Wt = self.Wa[i0:i1].transpose(0, 2, 1)
        sparse = {}  # k: X[k] compressed by rows, for the block's instances on the sparse route
        for k0, k1, is_sparse in self.runs(i0, i1):
            if not is_sparse:
                np.matmul(Wt[k0:k1], X[k0:k1], out=H[k0:k1, :d])  # hᵀ
                continue
            for k in range(k0, k1):
                sparse[k] = self._drawn_nonzero(skipped, k, R) or compress_rows(ws, X[k])
                tick("sparse gather")
                h = ws.flat("h_rows", (R, d), dt)
                sparse_times_dense("csc", (R, n), *sparse[k], self.Wa[i0 + k], h)  # h = Xᵀ W over nonzeros
                H[k, :d] = h.T
        np.matmul(self.Pa[i0:i1], H, out=G)  # outᵀ = W hᵀ + b (times α)
        tick("matmul")
        sq = ws.flat("sq", (ni * n,), dt)
        for k0, k1 in chunks:  # chunk by chunk, in cache: G becomes r ⊙ [out > 0] (or r)
            g, x = Gr[k0:k1], Xr[k0:k1]
            if self.relu:
                m = ws.flat("mask", g.shape, bool)
                np.maximum(g, ws.flat("zeros", g.shape, dt, fill=0), out=g)  # y
                np.greater(g, 0, out=m)
            g -= x  # r, in place
            sq[k0:k1] = rowdot(g, g)
            if self.relu:
                np.multiply(g, m, out=g)
        loss += rowdot(sq.reshape(ni, n), self.loss_weight[i0:i1])
        if zero:  # a zero row's output is the bias b (α b), its residual r = y = ReLU(b) (or b)
            y0 = self.Pa[i0:i1, :, d]
            if self.relu:
                y0 = np.maximum(y0, 0)
            y64 = y0.astype(np.float64)
            loss += zero * rowdot(y64 * y64, self.loss_weight[i0:i1])
        tick("elementwise")
        if self.need_grad:
            a = None if self.alpha is None else self.alpha[i0:i1]
            gP = slot.reshape(ni, n, d + 1)
            self._grad(ws, G, X, Hw, self.Wc[i0:i1], self.ca[i0:i1], a, gP, first, self.runs(i0, i1), sparse)
            if zero:  # ... and its gradient c r [out > 0] = c y on the bias alone (h = 0, x = 0)
                gP[..., d] += (y0 * self.ca[i0:i1, :, 0]) * dt.type(zero)
            tick("matmul")

    def _grad(self, ws, Rm, X, Hw, Wc, c, alpha, gP, first, runs, sparse):
        """Add the block's gradient ``c ⊙ (Rm Hᵀ) + [X GWᵀ / α | 0]``, ``GW = Wcᵀ Rm``, to ``gP``.

        ``c`` and ``Wc`` are ``c / α`` and ``(c / α) ⊙ W`` in scaled units; ``alpha`` is None without.
        ``runs`` and ``sparse`` say which instances take ``X GWᵀ`` over X's nonzero entries.
        ``Hw`` is ``H`` with its zero padding rows (:attr:`width` rows in all).
        """
        ni, n, R = Rm.shape
        d, dt, w = self.d, self.dtype, self.width
        H = Hw[:, : d + 1]
        # GW's padding rows (w > d + 1 only) stay zero: X GWᵀ then has zero columns d .. w - 1.
        GWw = ws.array("gw", (self.max_ni, w if w > d + 1 else d, self.max_rows), dt, fill=0)[:ni, :, :R]
        GW = GWw[:, :d]
        np.matmul(Wc.transpose(0, 2, 1), Rm, out=GW)  # (G W)ᵀ
        # T2p = [X GWᵀ | 0 ...] (its zero columns are never written, or written as X 0ᵀ).
        T2p = ws.flat("t2p", (ni, n, w), dt, fill=0)
        if self.few:  # a few columns: one call of many dot products beats a thin GEMM per instance
            T1 = ws.flat("t1", (ni, n, d + 1), dt)
            np.vecdot(Rm[:, :, None, :], H[:, None, :, :], out=T1)
            np.vecdot(X[:, :, None, :], GW[:, None, :, :], out=T2p[..., :d])
        else:  # T1 = Rm Hwᵀ, T2 = X GWwᵀ: padded to w columns they run faster (see padded_width)
            T1 = ws.flat("t1", (ni, n, w), dt)
            np.matmul(Rm, Hw.transpose(0, 2, 1), out=T1)
            T2 = T2p if w > d + 1 else T2p[..., :d]
            for k0, k1, is_sparse in runs:
                if not is_sparse:
                    np.matmul(X[k0:k1], GWw[k0:k1].transpose(0, 2, 1), out=T2[k0:k1])
                    continue
                GWt = ws.flat("gw_rows", (R, d), dt)
                T2k = ws.flat("t2_sparse", (n, d), dt)
                for k in range(k0, k1):
                    GWt[...] = GW[k].T
                    T2p[k, :, :d] = sparse_times_dense("csr", (n, R), *sparse[k], GWt, T2k)
        # c ⊙ T1 + T2p / α over whole contiguous buffers, then one pass into gP
        if alpha is not None:
            T2p /= alpha
        T1 *= c
        T1 += T2p
        src = T1 if T1.shape[-1] == d + 1 else T1[..., : d + 1]
        if first:
            gP[...] = src
        else:
            gP += src
