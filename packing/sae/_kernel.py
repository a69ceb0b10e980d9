"""The sparse autoencoder's blocked kernel: loss and hand-derived gradients, sparse where the codes are.

Built on :class:`packing.train._kernel.BlockedKernel` (groups of instances and
batch rows fixed by the shape, worker threads, per-thread workspaces);
:mod:`packing.sae.trainer` trains with it.

The model, per instance, with encoder ``E`` (m, d), encoder bias ``b_e`` (m,),
decoder ``D`` (m, d) whose rows are the dictionary (unit norm, kept so by the
trainer) and decoder bias ``b_d`` (d,)::

    pre = (x - b_d) Eᵀ + b_e        z = σ(pre)        x̂ = z D + b_d

with ``σ`` one of: ``ReLU`` (``kind="l1"``, penalty ``λ Σ_i z_i``); the ReLU of
the ``k`` largest pre-activations of each sample (``"topk"``, Gao et al. 2024);
the ReLU of the ``k·B`` largest pre-activations of the whole batch of ``B``
samples (``"batchtopk"``, Bussmann et al. 2024). The loss of a batch is::

    L = (1/B) Σ_b [ ||x̂_b − x_b||² + λ Σ_i z_bi + (α/σ²) ||ê_b − e_b||² ]

where the last term is the auxiliary loss of Gao et al. (2024) for the TopK
kinds: ``e = x − x̂`` (held fixed), ``ê = a D`` with ``a`` the ReLU of the
``k_aux`` largest pre-activations among the *dead* latents, and ``σ²`` the mean
squared deviation of ``e`` from its batch mean, taken from the previous step
(the current one would need a second pass over the batch; Gao et al. use the
current batch's).

Gradients, with ``r = x̂ − x``, ``S = {(b, i): z_bi > 0}`` and ``g = ∂L/∂pre``
(``g_bi = (2/B)(r_b · D_i) + λ/B`` on ``S``, 0 elsewhere, plus the auxiliary
term on its own support)::

    ∂L/∂D   = (2/B) zᵀ r (+ (2α/(Bσ²)) aᵀ q, q = ê − e)
    ∂L/∂E   = gᵀ (x − b_d)          ∂L/∂b_e = Σ_b g_b
    ∂L/∂b_d = (2/B) Σ_b r_b − (Σ_b g_b) E

Everything but the encoder's product ``x Eᵀ`` is computed on the support of
the codes (sparse products, scattered sums), unless the codes are dense (more
than :data:`DENSE_FRACTION` of the entries, as early in L1 training), when
dense products are faster. The factor ``2/B`` is applied once, after the sums.
"""

from __future__ import annotations

import functools

import numpy as np

from ..train._kernel import CHUNK_ENTRIES, BlockedKernel, rowdot

__all__: list[str] = []

KINDS = ("l1", "topk", "batchtopk")
#: Above this fraction of nonzero codes a block uses dense products (measured crossover about 5%).
DENSE_FRACTION = 0.05
#: Entries per block (pre-activations of its rows): large products amortise packing the encoder.
BLOCK_ENTRIES = 2**21
#: Memory for partial gradient buffers; it bounds how many row groups one large instance is split into.
PARTIAL_BYTES = 2**28
#: Least estimated work of a group (ns): a group costs a partial gradient buffer (the whole model's size).
GROUP_NS = 2e6
#: Most row groups per instance.
MAX_GROUPS = 8


def _target_groups(inst_ns: float, per_bytes: int) -> int:
    """Row groups per instance, a power of two fixed by the shape (never by the thread count).

    Doubled while every group keeps at least ``GROUP_NS`` of work and the partial
    gradient buffers (one per group but the first) fit in ``PARTIAL_BYTES``.
    """
    g = 1
    while g < MAX_GROUPS and inst_ns / (2 * g) >= GROUP_NS and (2 * g - 1) * per_bytes <= PARTIAL_BYTES:
        g *= 2
    return g


def _row_ns(m: int, d: int) -> float:
    """Estimated time (ns) of one sample of one instance: the encoder's 2 m d flops and elementwise work."""
    return m * (4.0 + 2.0 * d / 30.0)


class _Codes:
    """Sparse codes of one block row range: entries ``(rows, cols, vals)`` sorted by row, and row pointers.

    The products go straight to scipy's CSR kernels (no matrix objects: their
    construction checks cost more than the products at these sizes); the
    transpose (entries sorted by column) is computed once and shared.
    """

    __slots__ = ("rows", "cols", "vals", "indptr", "shape", "_t")

    def __init__(self, rows, cols, vals, n_rows, n_cols):
        self.rows, self.cols, self.vals, self.shape = rows, cols, vals, (n_rows, n_cols)
        self.indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=self.indptr[1:])
        self._t = None

    def counts(self) -> np.ndarray:
        """Entries per column (how many rows each latent is active in)."""
        return np.diff(self._transpose()[1])

    def _transpose(self):
        if self._t is None:
            order = np.argsort(self.cols, kind="stable")
            indptr = np.zeros(self.shape[1] + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.cols, minlength=self.shape[1]), out=indptr[1:])
            self._t = (order, indptr, self.rows[order])
        return self._t

    def entry_dots(self, Y: np.ndarray, D: np.ndarray) -> np.ndarray:
        """``Y[row] · D[col]`` for every entry (the needed entries of ``Y Dᵀ``), gathered chunk by chunk."""
        out = np.empty(len(self.cols), dtype=Y.dtype)
        step = max(1, CHUNK_ENTRIES // max(1, Y.shape[1]))
        for e0 in range(0, len(self.cols), step):
            e1 = min(e0 + step, len(self.cols))
            out[e0:e1] = rowdot(Y[self.rows[e0:e1]], D[self.cols[e0:e1]])
        return out

    def add_product(self, out: np.ndarray, vals: np.ndarray, Y: np.ndarray) -> None:
        """``out += A Y`` for ``A`` the codes' support holding ``vals`` (``out`` is (n_rows, width))."""
        _add_csr_product(out, self.indptr, self.cols, vals, self.shape, Y)

    def add_transposed_product(self, out: np.ndarray, vals: np.ndarray, Y: np.ndarray) -> None:
        """``out += Aᵀ Y`` for ``A`` the codes' support holding ``vals`` (``out`` is (n_cols, width))."""
        order, indptr, indices = self._transpose()
        _add_csr_product(out, indptr, indices, vals[order], self.shape[::-1], Y)

    def column_sums(self, vals: np.ndarray) -> np.ndarray:
        """``Σ_rows A`` for ``A`` the codes' support holding ``vals`` (float64, one per column)."""
        return np.bincount(self.cols, weights=vals, minlength=self.shape[1])


@functools.cache
def _sparse_product():
    """Return scipy's in-place ``y += A x`` for CSR ``A``, or None (imported on first use)."""
    try:  # private in scipy but present since 0.x under this name
        from scipy.sparse._sparsetools import csr_matvecs
    except ImportError:  # pragma: no cover - a scipy without it takes the public (allocating) product
        return None
    return csr_matvecs


def _add_csr_product(out, indptr, indices, data, shape, Y) -> None:
    """``out += A Y`` for the CSR matrix ``A = (data, indices, indptr)``, in place when possible."""
    data = data.astype(Y.dtype, copy=False)
    _csr_matvecs = _sparse_product()
    if _csr_matvecs is not None and out.flags.c_contiguous and Y.flags.c_contiguous and out.dtype == Y.dtype:
        _csr_matvecs(shape[0], shape[1], Y.shape[1], indptr, indices, data, Y.reshape(-1), out.reshape(-1))
    else:  # pragma: no cover - the public product allocates its result
        import scipy.sparse as sp

        out += sp.csr_matrix((data, indices, indptr), shape=shape) @ Y


def _topk_codes(P: np.ndarray, k: int) -> _Codes:
    """ReLU of the ``k`` largest entries of each row of ``P`` (ties broken by position)."""
    R, m = P.shape
    if k >= m:
        idx = np.broadcast_to(np.arange(m), (R, m))
    else:
        idx = np.argpartition(P, m - k, axis=1)[:, m - k :]
    vals = np.take_along_axis(P, idx, axis=1)
    keep = vals > 0
    rows = np.broadcast_to(np.arange(R)[:, None], idx.shape)[keep]
    return _Codes(rows, idx[keep], vals[keep], R, m)


def _threshold_codes(P: np.ndarray, threshold: float) -> _Codes:
    """Entries of ``P`` above 0 and at least ``threshold``."""
    mask = P > 0 if threshold <= 0 else P >= threshold
    rows, cols = np.nonzero(mask)
    return _Codes(rows, cols, P[rows, cols], P.shape[0], P.shape[1])


class _SAEKernel(BlockedKernel):
    """Loss and hand-derived gradients of sparse autoencoders, block by block (see the module docstring).

    Parameters of instance ``i``: ``[E (m·d) | D (m·d) | b_e (m) | b_d (d)]``.
    The batch ``X`` (B, d) is set before each call and shared by every instance.
    ``l1`` (per instance), ``k`` (per instance), ``dead`` (instances, m) and
    ``aux_norm`` (per instance) are set by the trainer.
    """

    def __init__(
        self,
        n_inst,
        m,
        d,
        batch,
        dtype,
        *,
        kind,
        l1,
        k,
        aux_coefficient,
        aux_k,
        threads=1,
        blas_threads=None,
        **plan,
    ):
        per = 2 * m * d + m + d
        plan.setdefault("block_entries", BLOCK_ENTRIES)
        plan.setdefault("group_ns", GROUP_NS)
        plan.setdefault(
            "target_groups", _target_groups(batch * _row_ns(m, d), per * np.dtype(dtype).itemsize)
        )
        super().__init__(
            n_inst,
            batch,
            per,
            dtype,
            row_entries=m,
            row_ns=_row_ns(m, d),
            threads=threads,
            blas_threads=blas_threads,
            **plan,
        )
        self.m, self.d, self.kind = m, d, kind
        md = m * d
        for name, buf in (("", self.params), ("g", self.grad)):
            P = buf.reshape(n_inst, per)
            setattr(self, name + "E", P[:, :md].reshape(n_inst, m, d))
            setattr(self, name + "D", P[:, md : 2 * md].reshape(n_inst, m, d))
            setattr(self, name + "be", P[:, 2 * md : 2 * md + m])
            setattr(self, name + "bd", P[:, 2 * md + m :])
        self.l1 = np.broadcast_to(np.asarray(l1, dtype=np.float64), (n_inst,)).copy()
        self.k = np.broadcast_to(np.asarray(k, dtype=np.int64), (n_inst,)).copy()
        self.aux_coefficient, self.aux_k = float(aux_coefficient), int(aux_k)
        self.dead = np.zeros((n_inst, m), dtype=bool)
        self.aux_norm = np.ones(n_inst)
        self.c = np.empty((n_inst, m), dtype=dtype)
        self.X = None
        self.scale = self.dtype.type(2.0 / batch)
        self.theta = np.zeros(n_inst)  # BatchTopK: this batch's threshold per instance
        self._pre = None  # BatchTopK: pre-activations of the whole batch, (instances, B, m)
        self._cands = {}
        self._group_of = {blk: gi for gi, g in enumerate(self.groups) for blk in g.blocks}
        # per group (instances of the group): [mse, l0, aux] sums, latent firing counts, residual sums
        self.g_stats = [np.zeros((g.i1 - g.i0, 3)) for g in self.groups]
        self.g_fires = [np.zeros((g.i1 - g.i0, m), dtype=np.int64) for g in self.groups]
        self.g_rsum = [np.zeros((g.i1 - g.i0, d)) for g in self.groups]
        # totals after a call
        self.stats = np.zeros((n_inst, 3))
        self.fires = np.zeros((n_inst, m), dtype=np.int64)
        self.rsum = np.zeros((n_inst, d))
        self._dead_idx = [np.zeros(0, dtype=np.int64)] * n_inst

    # ------------------------------------------------------------------ the step
    def set_dead(self, dead: np.ndarray) -> None:
        """Mark the dead latents (instances, m) for the auxiliary loss of this step."""
        self.dead[...] = dead
        self._dead_idx = [np.flatnonzero(row) for row in self.dead]

    def prepare(self):
        np.einsum("imd,id->im", self.E, self.bd, out=self.c)
        np.subtract(self.be, self.c, out=self.c)  # c = b_e − E b_d: pre = x Eᵀ + c
        if self.kind == "batchtopk":
            self._batch_thresholds()

    def finish(self, loss):
        for arrs, total in ((self.g_stats, self.stats), (self.g_fires, self.fires), (self.g_rsum, self.rsum)):
            total[...] = 0
            for g, part in zip(self.groups, arrs, strict=True):
                total[g.i0 : g.i1] += part
        if self.need_grad:
            # the encoder sees x − b_d: ∂L/∂E gets −(Σ g) b_dᵀ and ∂L/∂b_d gets −(Σ g) E
            self.gE -= self.gbe[:, :, None] * self.bd[:, None, :]
            self.gbd -= np.einsum("im,imd->id", self.gbe, self.E)
            self.grad *= self.scale
        return loss / self.B

    # ------------------------------------------------------------------ BatchTopK: two phases
    def _batch_thresholds(self):
        """Pre-activations of the whole batch, and each instance's threshold: its (k·B)-th largest value."""
        shape = (self.n_inst, self.B, self.m)
        if self._pre is None or self._pre.shape != shape:
            self._pre = np.empty(shape, dtype=self.dtype)
        self._cands = {}
        self.pool.run(self._pre_group, len(self.groups))
        for i in range(self.n_inst):
            kb = int(self.k[i]) * self.B
            parts = [c for (inst, _), c in sorted(self._cands.items()) if inst == i]
            cand = np.concatenate(parts)
            if kb >= self.B * self.m:  # every entry is selected
                self.theta[i] = -np.inf
            else:
                self.theta[i] = float(np.partition(cand, cand.size - kb)[cand.size - kb])

    def _pre_group(self, index, worker):
        g = self.groups[index]
        for i0, i1, r0, r1 in g.blocks:
            X = self.X[r0:r1]
            for i in range(i0, i1):
                P = self._pre[i, r0:r1]
                np.matmul(X, self.E[i].T, out=P)
                P += self.c[i]
                kb = int(self.k[i]) * self.B
                flat = P.reshape(-1)
                self._cands[(i, r0)] = (
                    flat.copy() if kb >= flat.size else np.partition(flat, flat.size - kb)[flat.size - kb :]
                )

    # ------------------------------------------------------------------ one block
    def block(self, ws, blk, gen, slot, loss, first, tick):
        i0, i1, r0, r1 = blk
        gi = self._group_of[blk]
        stats, fires, rsum = self.g_stats[gi], self.g_fires[gi], self.g_rsum[gi]
        if first:
            slot[...] = 0
            stats[...] = 0
            fires[...] = 0
            rsum[...] = 0
        X = self.X[r0:r1]
        for j in range(i1 - i0):
            self._instance(ws, i0 + j, X, r0, r1, slot[j], j, loss, stats[j], fires[j], rsum[j], tick)

    def _instance(self, ws, i, X, r0, r1, gslot, j, loss, stats, fires, rsum, tick):
        m, d, R, dt = self.m, self.d, r1 - r0, self.dtype
        E, D, bd = self.E[i], self.D[i], self.bd[i]
        if self.kind == "batchtopk":
            P = self._pre[i, r0:r1]
        else:
            P = ws.flat("pre", (R, m), dt)
            np.matmul(X, E.T, out=P)
            P += self.c[i]
        tick("encoder")
        if self.kind == "topk":
            codes = _topk_codes(P, int(self.k[i]))
        else:
            codes = _threshold_codes(P, 0.0 if self.kind == "l1" else self.theta[i])
        tick("select")
        md = m * d
        gE = gslot[:md].reshape(m, d)
        gD = gslot[md : 2 * md].reshape(m, d)
        gbe, gbd = gslot[2 * md : 2 * md + m], gslot[2 * md + m :]
        half_l1 = dt.type(self.l1[i] / 2) if self.kind == "l1" else None
        nnz = len(codes.vals)
        grad = self.need_grad
        r = ws.flat("r", (R, d), dt)
        if nnz > DENSE_FRACTION * R * m:
            Z = ws.flat("z", (R, m), dt)
            Z[...] = 0
            Z[codes.rows, codes.cols] = codes.vals
            np.matmul(Z, D, out=r)
            r += bd
            r -= X
            tick("decoder")
            if grad:
                G = ws.flat("g", (R, m), dt)
                np.matmul(r, D.T, out=G)  # ∂/∂z (without the factor 2/B)
                if half_l1 is not None:
                    G += half_l1
                G *= Z > 0
                gD += Z.T @ r
                gE += G.T @ X
                gbe += G.sum(axis=0)
        else:
            r[...] = 0
            codes.add_product(r, codes.vals, D)
            r += bd
            r -= X
            tick("decoder")
            if grad:
                gz = codes.entry_dots(r, D)
                if half_l1 is not None:
                    gz += half_l1
                codes.add_transposed_product(gD, codes.vals, r)
                codes.add_transposed_product(gE, gz, X)
                gbe += codes.column_sums(gz).astype(dt)
        tick("backward")
        sq = float(rowdot(r.reshape(-1), r.reshape(-1)))
        r_sum = r.sum(axis=0, dtype=np.float64)
        if grad:
            gbd += r_sum.astype(dt)
        rsum += r_sum
        fires += codes.counts()
        total = sq
        if half_l1 is not None:
            total += float(self.l1[i]) * float(codes.vals.sum(dtype=np.float64))
        stats[0] += sq
        stats[1] += nnz
        if self.kind != "l1" and self.aux_coefficient > 0 and len(self._dead_idx[i]):
            aux = self._aux(ws, i, P, X, r, gE, gD, gbe)
            stats[2] += aux
            total += aux
            tick("auxiliary")
        loss[j] += total

    def _aux(self, ws, i, P, X, r, gE, gD, gbe) -> float:
        """Add the auxiliary loss of the dead latents; return its (weighted, unscaled) value."""
        dead = self._dead_idx[i]
        R, n_dead, D = P.shape[0], len(dead), self.D[i]
        ka = min(self.aux_k, n_dead)
        sub = _topk_codes(P[:, dead], ka)
        codes = _Codes(sub.rows, dead[sub.cols], sub.vals, R, self.m)
        w = self.dtype.type(self.aux_coefficient / self.aux_norm[i])
        q = ws.flat("q", r.shape, self.dtype)
        q[...] = r  # ê − e with e = x − x̂ = −r
        if len(codes.vals):
            codes.add_product(q, codes.vals, D)
        value = float(rowdot(q.reshape(-1), q.reshape(-1))) * float(w)
        if len(codes.vals) and self.need_grad:
            codes.add_transposed_product(gD, codes.vals * w, q)
            gz = codes.entry_dots(q, D) * w
            codes.add_transposed_product(gE, gz, X)
            gbe += codes.column_sums(gz).astype(self.dtype)
        return value
