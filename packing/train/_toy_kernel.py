"""The toy model's blocked kernel: loss and hand-derived gradients of ``x' = ReLU(x W Wᵀ + b)``.

Built on :class:`packing.train._kernel.BlockedKernel` (groups, blocks, chunks,
worker threads); :mod:`packing.train.toy` trains with it.
"""

from __future__ import annotations

import functools

import numpy as np

from ._kernel import CHUNK_ENTRIES, BlockedKernel, row_chunks, rowdot

__all__: list[str] = []

#: Entries per chunk of a block's sampling and elementwise work. Four times the shared
#: default: one thread runs as fast (measured within noise on 200 x 20 and 1000 x 100), and
#: with several workers a third as many numpy calls per step contend for the GIL.
TOY_CHUNK_ENTRIES = 4 * CHUNK_ENTRIES


#: Estimated cost of one row of one instance, ns: sampling and elementwise work per entry,
#: plus the matrix products' 10 d flops per entry at about 55 GFLOP/s (only steers the grouping).
def _row_ns(n, d):
    return n * (3.0 + 10.0 * d / 55.0)


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
    """

    def __init__(
        self, n_inst, n, d, batch, weight, relu, dtype, sampler=None, threads=1, blas_threads=None, **plan
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
        X, G = ws.flat("x", (ni, n, R), dt), ws.flat("g", (ni, n, R), dt)
        Xr, Gr = X.reshape(ni * n, R), G.reshape(ni * n, R)  # row j: feature j % n of instance i0 + j // n
        chunks = self.chunks(ni * n, R) if self.big_chunks is None or R % 2 else self.big_chunks(ni * n, R)
        H = ws.array("h", (self.max_ni, d + 1, self.max_rows), dt, fill=1)[:ni, :, :R]  # row d: 1s
        if self.x is not None:
            X[...] = self.x[i0:i1, r0:r1].transpose(0, 2, 1)
        elif self.alpha is None:
            self.sampler.fill(X, i0, ws.flat("xmask", X.shape, bool), gen, feature_axis=1)
        else:  # scaled units: X̃ = α ⊙ X
            for k0, k1 in chunks:
                zeros = ws.flat("zeros", (k1 - k0, R), dt, fill=0)
                self.sampler.fill_rows_scaled(Xr[k0:k1], i0 * n + k0, zeros, gen)
        tick("sampling")
        np.matmul(self.Wa[i0:i1].transpose(0, 2, 1), X, out=H[:, :d])  # hᵀ
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
        tick("elementwise")
        if self.need_grad:
            a = None if self.alpha is None else self.alpha[i0:i1]
            self._grad(ws, G, X, H, self.Wc[i0:i1], self.ca[i0:i1], a, slot.reshape(ni, n, d + 1), first)
            tick("matmul")

    def _grad(self, ws, Rm, X, H, Wc, c, alpha, gP, first):
        """Add the block's gradient ``c ⊙ (Rm Hᵀ) + [X GWᵀ / α | 0]``, ``GW = Wcᵀ Rm``, to ``gP``.

        ``c`` and ``Wc`` are ``c / α`` and ``(c / α) ⊙ W`` in scaled units; ``alpha`` is None without.
        """
        ni, n, R = Rm.shape
        d, dt = self.d, self.dtype
        GW = ws.array("gw", (self.max_ni, d, self.max_rows), dt)[:ni, :, :R]
        np.matmul(Wc.transpose(0, 2, 1), Rm, out=GW)  # (G W)ᵀ
        # [X GWᵀ | 0]: the zero column is never written, so one contiguous add takes T2 into gP
        # (a strided add into gP[..., :d] took several times longer).
        T2p = ws.flat("t2p", (ni, n, d + 1), dt, fill=0)
        T2 = T2p[..., :d]
        if self.few:  # a few columns: one call of many dot products beats a thin GEMM per instance
            T1 = ws.flat("t1", (ni, n, d + 1), dt)
            np.vecdot(Rm[:, :, None, :], H[:, None, :, :], out=T1)
            np.vecdot(X[:, :, None, :], GW[:, None, :, :], out=T2)
        else:  # T1 as (H Rmᵀ)ᵀ: OpenBLAS runs it 15-25% faster than Rm Hᵀ when n >> d (200 x 20)
            T1 = ws.flat("t1t", (ni, d + 1, n), dt)
            np.matmul(H, Rm.transpose(0, 2, 1), out=T1)
            T1 = T1.transpose(0, 2, 1)
            np.matmul(X, GW.transpose(0, 2, 1), out=T2)
        if alpha is not None:
            T2p /= alpha
        if first:
            np.multiply(T1, c, out=gP)
        else:
            T1 *= c
            gP += T1
        gP += T2p
