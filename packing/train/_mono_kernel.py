"""The engineered-monosemanticity model's blocked kernel: loss and hand-derived gradients.

The model of Jermyn, Schiefer & Hubinger (2022): sparse features ``v`` (N),
a fixed embedding ``x = v E`` (m), a hidden layer ``a = φ(x W1 + b)`` of ``k``
neurons (``φ`` ReLU or GeLU) and a linear read-out ``y = a W2ᵀ`` (N), trained
on ``L = (Σ_n (y_n - t_n)² + λ Σ_j |a_j|) / B`` summed over the batch, with
the target ``t = v`` (feature decoder) or ``|v|`` (absolute value).

Built on :class:`packing.train._kernel.BlockedKernel` (groups, blocks, worker
threads); :mod:`packing.train.monosemanticity` trains with it.

**Two routes for the read-out.** The dense route forms the output ``W2 A`` and
runs three ``B N k`` products (output, ``∂/∂W2``, ``∂/∂A``). The Gram route
never forms the output: with ``M = W2ᵀ W2`` (once per step) and the targets'
nonzero entries only, it costs about ``1.75 k²`` multiply-adds per row plus
``1.5 N k²`` per step, so it pays when the neurons are fewer than the features
(:func:`gram_pays`; one thread, float32, N = 512, m = 64, batch 1024, half the
neurons active, a loaded machine: k = 128 4.0 ms against 8.0 ms a step, k = 256
9.4 against 14.2, k = 512 a draw, k = 1024 (the paper's) 1.9x slower). Both give the same
loss and gradients up to rounding; the route depends on the shape and the
features' density alone, never on the thread count.
"""

from __future__ import annotations

import math

import numpy as np

from ._kernel import ROW_STEP, BlockedKernel, gather_nonzero_rows, rowdot
from ._toy_kernel import GATHER_NS, SPARSE_NS, compress_rows, sparse_times_dense

__all__: list[str] = []

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: Fewest batch rows in a block of a split instance: the read-out gradient ``R Aᵀ`` is a product
#: over the rows, inefficient when they are few, and each split adds an ``N x k`` partial sum.
MIN_ROWS = 256
#: With ReLU, a one-instance block whose fraction of neurons active on any of its rows is at most
#: this runs its matrix products on the active neurons only (dead or silent ones contribute
#: exactly zero to the output and to every gradient).
COMPACT_FRACTION = 0.75
#: Whole-instance groups (small instances, one block each) are computed stacked, up to this many
#: entries in the largest array of the merged block (``instances x max(N, k) x batch``): fewer,
#: larger calls (a step of 8 instances N = 16, k = 64 spent a fifth of its time in Python and call
#: overheads), each group still drawing from its own stream, so no result changes.
MERGE_ENTRIES = 2**18


#: Cost model of the read-out's two routes (ns, one thread, float32), see :func:`gram_pays`: a GEMM
#: multiply-add costs about ``MAC_NS`` (about 62 GFLOP/s, measured at N = 512, k = 256 .. 1024);
#: the Gram route's per-row products cost ``GRAM_ROW_MACS * k²`` (``A M`` and the Gram ``Aᵀ A``,
#: which numpy runs as a SYRK, about 1.5x faster than a GEMM), once per step ``1.5 N k²`` (``W2ᵀ W2``
#: and ``W2 G``), two sparse products with the targets (:data:`SPARSE_NS` per nonzero), one gather
#: (:data:`GATHER_NS` per target entry) and about ``GRAM_CALL_NS`` of numpy calls per instance and
#: block. Measured route times (scripts/bench_monosemanticity.py --gram): see the module docstring.
MAC_NS = 1.0 / 31.0
GRAM_ROW_MACS = 1.75
GRAM_CALL_NS = 40_000.0
#: The Gram route is taken only where its estimated cost is below this fraction of the dense one.
GRAM_MARGIN = 0.8
#: Cost (ns per feature entry of a batch row, one thread, float32) of finding a block's all-zero
#: rows and gathering the others (:meth:`_MonoKernel._drop_zero_rows`), see :func:`zero_rows_pay`.
ZERO_ROW_NS = 2.0
#: Fewest expected all-zero rows (a fraction of the batch) worth the search for them.
MIN_ZERO_FRACTION = 0.05
#: Fixed cost (ns) per block of leaving its zero rows out: the numpy calls of the search, the gather
#: and the zero row's closed form (about 30 calls).
ZERO_ROW_CALL_NS = 30_000.0
#: A block kept on its nonzero rows runs on a multiple of this many rows (see :func:`gather_nonzero_rows`).
ZERO_ROW_ALIGN = ROW_STEP


def gram_pays(N, k, batch, density, rows=None):
    """Whether the read-out's Gram route is cheaper than its dense products for this shape.

    Dense: ``O = W2 A``, ``R Aᵀ`` and ``W2ᵀ R`` cost ``3 N k`` multiply-adds per batch row.
    Gram: ``A M`` and ``Aᵀ A`` (``M = W2ᵀ W2``), about ``GRAM_ROW_MACS k²`` per row, ``1.5 N k²``
    per step, and sparse products over the targets' ``density N`` nonzero entries per row
    (see :data:`MAC_NS`). ``rows`` is the rows of a block (default: the batch). Depends on the
    shape and density alone, never on the thread count or on the data drawn.

    Examples
    --------
    >>> [gram_pays(512, k, 1024, 1 / 64) for k in (128, 256, 512, 1024)]
    [True, True, False, False]
    >>> gram_pays(16, 8, 1024, 1 / 16)  # tiny products: numpy's call overheads decide
    False
    """
    rows = batch if rows is None else rows
    dense = 3.0 * N * k * MAC_NS
    gram = (GRAM_ROW_MACS * k * k + 1.5 * N * k * k / batch) * MAC_NS
    gram += GATHER_NS * N + 2.0 * density * N * (SPARSE_NS[0] + SPARSE_NS[1] * k) + GRAM_CALL_NS / rows
    return bool(gram < GRAM_MARGIN * dense)


def zero_rows_pay(zero, N, m, k, rows=1024):
    """Whether a block of ``rows`` rows, a fraction ``zero`` of them expected all-zero, leaves those out.

    Every all-zero row of clean features is one and the same row (``x = 0``, ``a = φ(b)``,
    output ``W2 φ(b)``, target 0), so the block computes its other rows and adds the zero
    row's loss and gradient once, times their count. That saves ``zero`` of a row's cost
    (:func:`_row_ns`) at the price of a pass over the features (:data:`ZERO_ROW_NS` per entry)
    and some numpy calls (:data:`ZERO_ROW_CALL_NS` per block). Depends on the shape and
    densities alone.

    Examples
    --------
    >>> zero_rows_pay(0.777, 16, 4, 64), zero_rows_pay(3e-4, 512, 64, 1024)
    (True, False)
    >>> zero_rows_pay(0.36, 64, 16, 16, rows=128)  # a small block: the calls cost more than they save
    False
    """
    saved = zero * _row_ns(N, m, k) * rows
    return bool(zero >= MIN_ZERO_FRACTION and saved > ZERO_ROW_NS * N * rows + ZERO_ROW_CALL_NS)


def _gelu_derivative(Z, Phi, D):
    """``D = φ'(Z) = Φ(Z) + Z exp(-Z²/2) / sqrt(2π)`` for GeLU, given ``Phi = Φ(Z)`` (in place into ``D``)."""
    dt = D.dtype
    np.multiply(Z, Z, out=D)
    D *= dt.type(-0.5)
    np.exp(D, out=D)
    D *= Z
    D *= dt.type(_INV_SQRT_2PI)
    D += Phi
    return D


def _row_ns(N, m, k):
    """Estimated ns per batch row of one instance: ~2 (N m + 2 m k + 3 k N) GEMM flops at ~30 GFLOP/s."""
    return 2.0 * (N * m + 2 * (m + 1) * k + 3 * k * N) / 30.0 + 3.0 * (N + k)


class _MonoKernel(BlockedKernel):
    """Loss and gradients of the model, block by block (see :mod:`._kernel`).

    Parameters of an instance are ``[P1 | W2]`` with ``P1 = [W1; b]`` of shape
    ``(m + 1, k)`` (the bias is the last row) and ``W2`` of shape ``(N, k)``
    (rows are features). A block is laid out features first: ``V`` (instances,
    N, rows) is ``vᵀ`` and ``H = [xᵀ; 1]`` (instances, m + 1, rows), so that::

        Z = P1ᵀ H (k, rows),  A = φ(Z),  O = W2 A (N, rows),  R = O - T,
        ∂L/∂W2 = (2/B) R Aᵀ,   G = (W2ᵀ R + (λ/2) sign A) ⊙ φ'(Z),   ∂L/∂P1 = (2/B) H Gᵀ,

    (``H Gᵀ``'s last row is the bias gradient). ``2 / B`` and ``1 / B`` are
    applied once, after the blocks are summed.

    ``embedding`` is ``(I, N, m)``; ``noise`` (``(I,)``, the standard deviation
    of Gaussian noise added to ``x``, or to ``v`` before the embedding with
    ``noise_on="features"``; the target stays clean) and ``l1`` (``(I,)``) are
    per instance. ``task`` is ``"decoder"`` or ``"abs"`` (``v = v₁ - v₂``, each
    drawn by ``sampler`` at half the density, target ``|v|``).

    ``gram`` chooses the read-out's route (see the module docstring): ``None``
    by :func:`gram_pays` from the shape and ``density`` (the targets' expected
    fraction of nonzero entries; default: the sampler's, else 1), or ``True`` /
    ``False``. On the Gram route (:meth:`_gram`) the decoder draws its features
    as their nonzero entries alone and embeds them through those.
    """

    def __init__(
        self,
        n_inst,
        N,
        m,
        k,
        batch,
        dtype,
        *,
        embedding,
        noise,
        noise_on,
        l1,
        task,
        gelu,
        sampler=None,
        threads=1,
        blas_threads=None,
        gram=None,
        density=None,
        zero_rows=None,
        **plan,
    ):
        super().__init__(
            n_inst,
            batch,
            (m + 1) * k + N * k,
            dtype,
            row_entries=max(N, k),
            row_ns=_row_ns(N, m, k),
            streams=None if sampler is None else sampler.streams,
            threads=threads,
            blas_threads=blas_threads,
            **{"min_rows": MIN_ROWS, "merge_entries": MERGE_ENTRIES, **plan},
        )
        self.N, self.m, self.k, self.sampler = N, m, k, sampler
        self.task, self.gelu, self.noise_on = task, gelu, noise_on
        per = self.params.reshape(n_inst, -1)
        self.split = (m + 1) * k
        self.P1 = per[:, : self.split].reshape(n_inst, m + 1, k)
        self.W1, self.b = self.P1[:, :m], self.P1[:, m]
        self.W2 = per[:, self.split :].reshape(n_inst, N, k)
        gper = self.grad.reshape(n_inst, -1)
        self.gP1 = gper[:, : self.split].reshape(n_inst, m + 1, k)
        self.gW2 = gper[:, self.split :].reshape(n_inst, N, k)
        dt = self.dtype
        self.E = np.ascontiguousarray(embedding, dtype=dt)  # (I, N, m)
        self.noise = np.asarray(noise, dtype=dt).reshape(-1, 1, 1)
        self.any_noise = bool(np.any(self.noise))
        self.l1 = np.asarray(l1, dtype=np.float64)
        self.half_l1 = (0.5 * self.l1).astype(dt).reshape(-1, 1, 1)
        self.any_l1 = bool(np.any(self.l1))
        self.v = None  # a given batch of features (I, batch, N): model_loss; else sampled block by block
        self.given_noise = None  # with a given batch: its scaled noise (I, batch, m or N), or None
        self.penalty = np.zeros(n_inst)  # λ Σ|a| / B of the last call
        self._pen = [np.zeros(g.i1 - g.i0) for g in self.groups]
        self._pen_of = {id(slot): pen for slot, pen in zip(self.losses, self._pen, strict=True)}
        self._merged_pen = {u: np.zeros_like(slot) for u, slot in self.merged_losses.items()}
        self._pen_of.update({id(self.merged_losses[u]): pen for u, pen in self._merged_pen.items()})
        if density is None:  # the targets' expected fraction of nonzero entries
            density = 1.0 if sampler is None else float(sampler.density.mean()) * (2 if task == "abs" else 1)
        rows = max(r1 - r0 for g in self.groups for _, _, r0, r1 in g.blocks)
        self.gram = gram_pays(N, k, batch, density, rows) if gram is None else bool(gram)
        # all-zero rows dropped (see _drop_zero_rows): None by zero_rows_pay, or forced on / off
        self.zero_rows = None if zero_rows is None else bool(zero_rows)
        # per instance, the expected fraction of all-zero rows (abs: v = v₁ - v₂, both draws zero)
        self.zero = None if sampler is None else sampler.zero_row_probability() ** (2 if task == "abs" else 1)
        if self.gram:  # M = W2ᵀ W2 per step; Σ Aᵀ A per group (or merged unit) and instance
            self.M = np.empty((n_inst, k, k), dt)
            self._acc = [np.zeros((g.i1 - g.i0, k, k), dt) for g in self.groups]
            self._merged_acc = {u: np.zeros((len(slot), k, k), dt) for u, slot in self.merged_losses.items()}
            self._acc_of = {id(slot): acc for slot, acc in zip(self.losses, self._acc, strict=True)}
            self._acc_of.update({id(self.merged_losses[u]): acc for u, acc in self._merged_acc.items()})

    @property
    def sparse_x(self):
        """Whether the Gram route computes ``x = v E`` over ``v``'s nonzero entries.

        There the decoder's targets are the clean features, gathered anyway (not when the
        noise is added to ``v`` itself; ``any_noise`` may be switched between calls).
        """
        return self.gram and self.task == "decoder" and not (self.any_noise and self.noise_on == "features")

    def prepare(self):
        for pen in (*self._pen, *self._merged_pen.values()):
            pen[...] = 0
        if self.gram:  # M = W2ᵀ W2, instance by instance on the workers
            self.pool.run(lambda i, _: np.matmul(self.W2[i].T, self.W2[i], out=self.M[i]), self.n_inst)

    def split_merged(self, index, members, i0):
        super().split_merged(index, members, i0)
        for j in members:
            g = self.groups[j]
            self._pen[j][...] = self._merged_pen[index][g.i0 - i0 : g.i1 - i0]

    @property
    def tensors(self):
        """The LAMB tensors of one instance's row: ``W1``, ``b``, ``W2`` (column ranges)."""
        mk = self.m * self.k
        return [(0, mk), (mk, self.split), (self.split, self.split + self.N * self.k)]

    def finish(self, loss):
        if self.need_grad and self.gram:  # ∂L/∂W2 · B/2 = W2 Σ_b a_b a_bᵀ - Σ_b t_b a_bᵀ: add the first part
            gsum = np.zeros((self.n_inst, self.k, self.k), self.dtype)
            for u, members in enumerate(self.units):  # a fixed order: the same sums for any thread count
                if len(members) > 1:
                    i0 = self.groups[members[0]].i0
                    gsum[i0 : i0 + len(self._merged_acc[u])] += self._merged_acc[u]
                    continue
                g = self.groups[members[0]]
                gsum[g.i0 : g.i1] += self._acc[members[0]]
            gW2, W2 = self.gW2, self.W2
            self.pool.run(lambda i, _: np.add(gW2[i], W2[i] @ gsum[i], out=gW2[i]), self.n_inst)
        if self.need_grad:
            self.grad *= self.dtype.type(2.0 / self.B)
        pen = np.zeros(self.n_inst)
        for g, part in zip(self.groups, self._pen, strict=True):
            pen[g.i0 : g.i1] += part
        self.penalty = pen / self.B
        return loss / self.B

    def _sample(self, ws, V, i0, gen, name):
        """Fill the features-first block ``V`` (ni, N, R) with fresh features of instances ``i0 ..``."""
        ni, N, R = V.shape
        Vr = V.reshape(ni * N, R)
        for k0, k1 in self.chunks(ni * N, R):
            self.sampler.fill_rows(Vr[k0:k1], i0 * N + k0, ws.flat(name + "mask", (k1 - k0, R), bool), gen)

    def _sample_nonzero(self, i0, i1, R, gen):
        """Fresh features of instances ``i0 .. i1`` as :meth:`_sample` draws them, compressed.

        Returns per instance ``(ptr, cols, vals)`` (CSR of the features-first ``(N, R)``
        block, as :func:`compress_rows` gives it), bit for bit what ``_sample`` and
        ``compress_rows`` give, with the stream left in the same state; the dense block
        is never written (:meth:`Sampler.nonzero_rows`).
        """
        N = self.N
        pos, vals = [], []
        for k0, k1 in self.chunks((i1 - i0) * N, R):
            p, v = self.sampler.nonzero_rows(i0 * N + k0, k1 - k0, R, gen)
            pos.append(p + k0 * R)
            vals.append(v)
        pos, vals = np.concatenate(pos), np.concatenate(vals)
        itype = np.int32 if N * R < 2**31 else np.int64
        cuts = np.searchsorted(pos, np.arange(i1 - i0 + 1) * (N * R))
        out = []
        for j in range(i1 - i0):
            where = (pos[cuts[j] : cuts[j + 1]] - j * N * R).astype(itype)
            ptr = np.searchsorted(where, np.arange(0, (N + 1) * R, R, dtype=itype)).astype(itype)
            out.append((ptr, np.remainder(where, R, out=where), vals[cuts[j] : cuts[j + 1]]))
        return out

    def _noise(self, out, gen, i0, r0):
        """Fill ``out`` (ni, dim, R) with the input noise of instances ``i0 ..``, rows ``r0 ..``.

        Drawn from ``gen`` and scaled, or copied from :attr:`given_noise`
        (instances, batch, dim), already scaled, when a batch is given.
        """
        ni, _, R = out.shape
        if self.given_noise is not None:
            out[...] = self.given_noise[i0 : i0 + ni, r0 : r0 + R].transpose(0, 2, 1)
            return
        gen.standard_normal(out.shape, dtype=self.dtype, out=out)
        out *= self.noise[i0 : i0 + ni]

    def block(self, ws, blk, gen, slot, loss, first, tick):
        i0, i1, r0, r1 = blk
        ni, R, N, m, dt = i1 - i0, r1 - r0, self.N, self.m, self.dtype
        # a merged unit (see BlockedKernel): each of its groups draws from its own stream
        sources = gen if isinstance(gen, list) else [(i0, i1, gen)]
        pen = self._pen_of[id(loss)]
        H = ws.array("h", (self.max_ni, m + 1, self.max_rows), dt, fill=1)[:ni, :, :R]  # row m: ones
        X = H[:, :m]
        # ---- the batch: features V (N, R), target T, inputs X = Eᵀ V (+ noise)
        nonzeros = None  # per instance, the features' (ptr, cols, vals), drawn sparse (the Gram route)
        zero_rows = 0  # all-zero rows left out of the block's products (added in closed form)
        drop = self._drops_zero_rows(i0, i1, R)
        if drop:  # one extra entry, for gather_nonzero_rows
            vbuf = ws.flat("v", (ni * N * R + 1,), dt)
            V = vbuf[:-1].reshape(ni, N, R)
        else:
            V = ws.flat("v", (ni, N, R), dt)
        if self.v is not None:
            V[...] = self.v[i0:i1, r0:r1].transpose(0, 2, 1)
        elif self.sparse_x and self.sampler.narrow(i0, i1):
            nonzeros = [nz for a, b, g in sources for nz in self._sample_nonzero(a, b, R, g)]
        else:
            V2 = ws.flat("v2", (ni, N, R), dt) if self.task == "abs" else None
            for a, b, g in sources:
                self._sample(ws, V[a - i0 : b - i0], a, g, "v")
                if V2 is not None:
                    self._sample(ws, V2[a - i0 : b - i0], a, g, "v2")
            if V2 is not None:
                V -= V2
        if drop:
            tick("sampling")
            V, T, R, zero_rows = self._drop_zero_rows(ws, vbuf, V.shape)
            H = H[:, :, :R]
            X = H[:, :m]
            tick("zero rows")
        elif self.task == "abs":
            T = ws.flat("t", (ni, N, R), dt)
            np.abs(V, out=T)
        else:
            T = V
        if self.any_noise:
            on_v = self.noise_on == "features"
            Xn = ws.flat("vn", (ni, N, R), dt) if on_v else ws.flat("xn", (ni, m, R), dt)
            for a, b, g in sources:
                self._noise(Xn[a - i0 : b - i0], g, a, r0)
        if self.any_noise and self.noise_on == "features":
            Xn += V
            np.matmul(self.E[i0:i1].transpose(0, 2, 1), Xn, out=X)
        elif self.sparse_x:  # the Gram route embeds V's nonzero entries itself; X holds the noise
            if self.any_noise:
                X[...] = Xn
        else:
            np.matmul(self.E[i0:i1].transpose(0, 2, 1), V, out=X)
            if self.any_noise:
                X += Xn
        tick("sampling")
        self._products(ws, i0, sources, H, T, nonzeros, slot, loss, pen, first, tick)
        if zero_rows:
            self._add_zero_rows(i0, i1, zero_rows, slot, loss, pen)
            tick("zero rows")

    def _drops_zero_rows(self, i0, i1, rows):
        """Whether block instances ``i0 .. i1`` (``rows`` rows) leave their all-zero rows out.

        See :meth:`_drop_zero_rows`.

        Never with input noise (no two rows are alike), on the Gram route or, unless forced,
        for a given batch; else as :attr:`zero_rows` forces or :func:`zero_rows_pay` decides
        from the shape and the smallest expected fraction of zero rows among the block's instances.
        """
        if self.any_noise or self.gram:
            return False
        if self.zero_rows is not None:
            return self.zero_rows
        if self.v is not None or self.zero is None:
            return False
        return zero_rows_pay(float(self.zero[i0:i1].min()), self.N, self.m, self.k, rows)

    def _drop_zero_rows(self, ws, vbuf, shape):
        """Keep the block's features (``vbuf``: ``V`` of ``shape`` (ni, N, R), one entry more) on fewer rows.

        Returns ``(V', T', R', z)``: :func:`gather_nonzero_rows` puts each instance's
        nonzero rows first, then zero rows up to ``R'`` (:data:`ZERO_ROW_ALIGN`); every
        instance leaves out ``z = R - R'`` zero rows. Without noise all zero rows are the
        same row (``x = 0``, target 0), which :meth:`_add_zero_rows` adds ``z`` times: the
        loss and gradients are the whole block's, summed in another order. ``T'`` is the
        target (``|V'|`` or ``V'``).
        """
        # sampled decoder features lie in [0, 1); the abs task's v = v1 - v2 and a given batch may be signed
        nonneg = self.v is None and self.task == "decoder"
        Vc, z = gather_nonzero_rows(ws, vbuf, shape, nonneg, ZERO_ROW_ALIGN)
        Tc = Vc
        if self.task == "abs":
            Tc = ws.flat("t", Vc.shape, self.dtype)
            np.abs(Vc, out=Tc)
        return Vc, Tc, Vc.shape[2], z

    def _add_zero_rows(self, i0, i1, z, slot, loss, pen):
        """Add ``z`` all-zero rows of instances ``i0 .. i1`` to the block's loss, penalty and gradient.

        Such a row has ``x = 0``, so ``a₀ = φ(b)``, output ``o₀ = W2 a₀`` and target 0: it adds
        ``‖o₀‖²`` to the loss, ``o₀ a₀ᵀ`` to ``∂/∂W2``, ``g₀ = (W2ᵀ o₀ + (λ/2) sign a₀) ⊙ φ'(b)``
        to ``∂/∂b`` and nothing to ``∂/∂W1`` (scaled by ``2 / B`` in :meth:`finish`, as the others).
        """
        from scipy.special import ndtr

        ni, N, m, k, dt = i1 - i0, self.N, self.m, self.k, self.dtype
        b, W2 = self.b[i0:i1], self.W2[i0:i1]
        if self.gelu:
            Phi = ndtr(b)
            a0 = b * Phi
        else:
            a0 = np.maximum(b, dt.type(0))
        o0 = np.matmul(W2, a0[:, :, None])[:, :, 0]  # (ni, N)
        loss += z * rowdot(o0, o0).astype(np.float64)
        if self.any_l1:
            pen += z * self.l1[i0:i1] * np.abs(a0).sum(axis=1, dtype=np.float64)
        if not self.need_grad:
            return
        g0 = np.matmul(W2.transpose(0, 2, 1), o0[:, :, None])[:, :, 0]  # (ni, k)
        if self.any_l1:
            sgn = np.sign(a0) if self.gelu else np.greater(a0, 0).astype(dt)
            g0 += sgn * self.half_l1[i0:i1, 0]
        if self.gelu:
            g0 *= _gelu_derivative(b, Phi, np.empty_like(b))
        else:
            g0 *= np.greater(b, 0)
        S = slot.reshape(ni, -1)
        gP1 = S[:, : self.split].reshape(ni, m + 1, k)
        gW2 = S[:, self.split :].reshape(ni, N, k)
        zt = dt.type(z)
        gW2 += (zt * o0)[:, :, None] * a0[:, None, :]
        gP1[:, m] += zt * g0

    def _products(self, ws, i0, sources, H, T, nonzeros, slot, loss, pen, first, tick):
        """:meth:`block`'s forward and backward passes, given its inputs ``H = [xᵀ; 1]`` and targets ``T``."""
        ni, R, k, dt = H.shape[0], H.shape[2], self.k, self.dtype
        i1 = i0 + ni
        if self.gram:
            self._gram(ws, i0, H, T, nonzeros, slot, loss, pen, self._acc_of[id(loss)], first, tick)
            return
        # ---- forward
        Z = ws.flat("z", (ni, k, R), dt)
        np.matmul(self.P1[i0:i1].transpose(0, 2, 1), H, out=Z)
        tick("matmul")
        compact = {}  # a one-instance group's instance -> its active neurons, when few enough
        if not self.gelu and any(b - a == 1 for a, b, _ in sources):
            live = Z.max(axis=2) > 0
            for a, b, _ in sources:
                if b - a == 1 and (active := np.flatnonzero(live[a - i0])).size <= COMPACT_FRACTION * k:
                    compact[a] = active
        if not compact:
            self._dense(ws, i0, H, Z, T, slot, loss, pen, first, tick)
            return
        for a, b, _ in sources:  # group by group, as without merging
            j, n = a - i0, b - a
            if a in compact:
                args = (ws, a, R, H[j : j + 1], Z[j], T[j], compact[a])
                self._compact(*args, slot[j : j + 1], loss[j : j + 1], pen[j : j + 1], first, tick)
            else:
                sl = slice(j, j + n)
                self._dense(ws, a, H[sl], Z[sl], T[sl], slot[sl], loss[sl], pen[sl], first, tick)

    def _dense(self, ws, i0, H, Z, T, slot, loss, pen, first, tick):
        """:meth:`block`'s products on every neuron of instances ``i0 ..`` (``Z`` their pre-activations)."""
        from scipy.special import ndtr

        ni, k, R = Z.shape
        N, m, dt = self.N, self.m, self.dtype
        i1 = i0 + ni
        W2 = self.W2[i0:i1]
        if self.gelu:
            A = ws.flat("a", (ni, k, R), dt)
            Phi = ws.flat("phi", (ni, k, R), dt)
            ndtr(Z, out=Phi)
            np.multiply(Z, Phi, out=A)
        else:  # in place (one array fewer in cache): A > 0 exactly where Z > 0, all ReLU' needs
            A = np.maximum(Z, ws.flat("zeros", (ni, k, R), dt, fill=0), out=Z)
        tick("elementwise")
        O = ws.flat("o", (ni, N, R), dt)
        np.matmul(W2, A, out=O)
        tick("matmul")
        O -= T  # the residual
        Or = O.reshape(ni, N * R)
        loss += rowdot(Or, Or)
        if self.any_l1:
            absA = np.abs(A) if self.gelu else A
            # the group's own penalty slots (no other thread writes them)
            pen += self.l1[i0:i1] * absA.reshape(ni, -1).sum(axis=1, dtype=np.float64)
        tick("elementwise")
        if not self.need_grad:
            return
        # ---- backward
        S = slot.reshape(ni, -1)
        gP1 = S[:, : self.split].reshape(ni, m + 1, k)
        gW2 = S[:, self.split :].reshape(ni, N, k)
        if first:
            np.matmul(O, A.transpose(0, 2, 1), out=gW2)
        else:
            T2 = ws.flat("tw2", (ni, N, k), dt)
            np.matmul(O, A.transpose(0, 2, 1), out=T2)
            gW2 += T2
        G = ws.flat("g", (ni, k, R), dt)
        np.matmul(W2.transpose(0, 2, 1), O, out=G)
        tick("matmul")
        if self.any_l1:
            sgn = np.sign(A) if self.gelu else np.greater(A, 0).astype(dt)
            sgn *= self.half_l1[i0:i1]
            G += sgn
        if self.gelu:
            G *= _gelu_derivative(Z, Phi, ws.flat("d", (ni, k, R), dt))
        else:
            mask = ws.flat("mask", (ni, k, R), bool)
            np.greater(A, 0, out=mask)
            G *= mask
        tick("elementwise")
        if first:
            np.matmul(H, G.transpose(0, 2, 1), out=gP1)
        else:
            T1 = ws.flat("tp1", (ni, m + 1, k), dt)
            np.matmul(H, G.transpose(0, 2, 1), out=T1)
            gP1 += T1
        tick("matmul")

    def _compact(self, ws, i, R, H, Z, T, active, slot, loss, pen, first, tick):
        """:meth:`block` for one instance (ReLU) on its ``active`` neurons only (the others are 0 throughout).

        ``H`` is the block's ``[xᵀ; 1]`` (1, m + 1, R), ``Z`` (k, R) the pre-activations,
        ``T`` (N, R) the target. Silent neurons add nothing to the output, and their
        columns of both gradients are zero (their ReLU derivative is 0 on every row).
        """
        N, m, ka, dt = self.N, self.m, active.size, self.dtype
        A = ws.flat("ca", (ka, R), dt)
        np.take(Z, active, axis=0, out=A)
        np.maximum(A, ws.flat("czeros", (ka, R), dt, fill=0), out=A)
        W2 = ws.flat("cw2", (N, ka), dt)
        np.take(self.W2[i], active, axis=1, out=W2)
        tick("elementwise")
        O = ws.flat("o", (1, N, R), dt)[0]
        np.matmul(W2, A, out=O)
        tick("matmul")
        O -= T  # the residual
        loss += rowdot(O.reshape(1, -1), O.reshape(1, -1))
        if self.any_l1:
            pen += self.l1[i] * A.sum(dtype=np.float64)
        tick("elementwise")
        if not self.need_grad:
            return
        S = slot.reshape(1, -1)[0]
        gP1 = S[: self.split].reshape(m + 1, self.k)
        gW2 = S[self.split :].reshape(N, self.k)
        if first:
            gP1[...] = 0
            gW2[...] = 0
        T2 = ws.flat("ctw2", (N, ka), dt)
        np.matmul(O, A.T, out=T2)
        gW2[:, active] += T2
        G = ws.flat("cg", (ka, R), dt)
        np.matmul(W2.T, O, out=G)
        tick("matmul")
        mask = ws.flat("cmask", (ka, R), bool)
        np.greater(A, 0, out=mask)
        G *= mask
        if self.any_l1:
            G += mask * self.half_l1[i, 0, 0]
        tick("elementwise")
        T1 = ws.flat("ctp1", (m + 1, ka), dt)
        np.matmul(H[0], G.T, out=T1)
        gP1[:, active] += T1
        tick("matmul")

    def _gram(self, ws, i0, H, T, nonzeros, slot, loss, pen, acc, first, tick):
        """:meth:`block` by the Gram route: the output ``W2 A`` is never formed.

        With ``M = W2ᵀ W2`` (:meth:`prepare`) and the block laid out rows first
        (``A`` (rows, k), targets ``t`` (rows, N) sparse), per instance::

            Σ_b ‖W2 a_b - t_b‖² = ⟨A, A M - 2 t W2⟩ + ‖t‖²,
            ∂/∂A = 2 (A M - t W2),   ∂/∂W2 = 2 (W2 Σ_b a_b a_bᵀ - tᵀ A),

        the products with ``t`` over its nonzero entries only. The block adds
        ``-tᵀ A`` to the read-out gradient and ``Aᵀ A`` to ``acc`` (the group's
        Gram, per instance); :meth:`finish` adds ``W2 Σ Aᵀ A``. As on the dense
        route, with ReLU an instance whose neurons are mostly silent on the block
        runs on its active ones only.
        """
        from scipy.special import ndtr

        ni, _, R = H.shape
        N, m, k, dt = self.N, self.m, self.k, self.dtype
        grads = slot.reshape(ni, -1)
        sparse_x = self.sparse_x
        for j in range(ni):
            i = i0 + j
            # CSR of t's transpose (N, rows): gathered from T, or drawn so (then T was never filled)
            ptr, cols, vals = compress_rows(ws, T[j]) if nonzeros is None else nonzeros[j]
            if sparse_x:  # t is the clean features v: x = v E over its nonzero entries
                Xr = ws.flat("gx", (R, m), dt)
                sparse_times_dense("csc", (R, N), ptr, cols, vals, self.E[i], Xr)
                if self.any_noise:
                    H[j, :m] += Xr.T
                else:
                    H[j, :m] = Xr.T
            tick("sparse")
            Z = ws.flat("gz", (R, k), dt)
            np.matmul(H[j].T, self.P1[i], out=Z)
            tick("matmul")
            active = None
            if not self.gelu and (live := np.flatnonzero(Z.max(axis=0) > 0)).size <= COMPACT_FRACTION * k:
                active = live
            ka = k if active is None else active.size
            if active is not None:
                A = ws.flat("ga", (R, ka), dt)
                np.take(Z, active, axis=1, out=A)
                np.maximum(A, ws.flat("gzeros", (R, ka), dt, fill=0), out=A)
                W2 = ws.flat("gw2", (N, ka), dt)
                np.take(self.W2[i], active, axis=1, out=W2)
                M = self.M[i][np.ix_(active, active)]
            elif self.gelu:
                Phi = ws.flat("gphi", (R, k), dt)
                ndtr(Z, out=Phi)
                A = ws.flat("ga", (R, k), dt)
                np.multiply(Z, Phi, out=A)
                W2, M = self.W2[i], self.M[i]
            else:  # in place, as on the dense route
                A = np.maximum(Z, ws.flat("gzeros", (R, k), dt, fill=0), out=Z)
                W2, M = self.W2[i], self.M[i]
            tick("elementwise")
            loss[j] += rowdot(vals, vals)
            if self.any_l1:
                absA = np.abs(A) if self.gelu else A
                pen[j] += self.l1[i] * absA.sum(dtype=np.float64)
            gP1 = grads[j, : self.split].reshape(m + 1, k)
            gW2 = grads[j, self.split :].reshape(N, k)
            if first and (active is not None or not self.need_grad):
                gP1[...], gW2[...], acc[j] = 0, 0, 0
            if ka == 0:
                continue
            S = ws.flat("gs", (R, ka), dt)
            sparse_times_dense("csc", (R, N), ptr, cols, vals, W2, S)  # t W2
            tick("sparse")
            GA = ws.flat("gg", (R, ka), dt)
            np.matmul(A, M, out=GA)
            tick("matmul")
            GA -= S  # ∂L/∂A · B/2
            S -= GA  # 2 t W2 - A M, so that the loss is ⟨A, -S⟩ + ‖t‖²
            loss[j] -= rowdot(A.reshape(-1), S.reshape(-1))
            tick("elementwise")
            if not self.need_grad:
                continue
            TA = ws.flat("gta", (N, ka), dt)
            sparse_times_dense("csr", (N, R), ptr, cols, vals, A, TA)  # tᵀ A
            tick("sparse")
            if self.any_l1:
                sgn = np.sign(A) if self.gelu else np.greater(A, 0).astype(dt)
                sgn *= self.half_l1[i, 0, 0]
                GA += sgn
            if self.gelu:
                GA *= _gelu_derivative(Z, Phi, ws.flat("gd", (R, k), dt))
            else:
                mask = ws.flat("gmask", (R, ka), bool)
                np.greater(A, 0, out=mask)
                GA *= mask
            tick("elementwise")
            if active is None and first:
                np.matmul(A.T, A, out=acc[j])
                np.matmul(H[j], GA, out=gP1)
                np.negative(TA, out=gW2)
            else:
                GG = ws.flat("ggram", (ka, ka), dt)
                np.matmul(A.T, A, out=GG)
                T1 = ws.flat("gt1", (m + 1, ka), dt)
                np.matmul(H[j], GA, out=T1)
                if active is None:
                    acc[j] += GG
                    gP1 += T1
                    gW2 -= TA
                else:
                    acc[j][np.ix_(active, active)] += GG
                    gP1[:, active] += T1
                    gW2[:, active] -= TA
            tick("matmul")
