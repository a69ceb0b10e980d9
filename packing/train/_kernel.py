"""The blocked, threaded kernel the numpy trainers are built on.

A trainer's step evaluates the loss and gradient of many model instances on a
fresh batch. :class:`BlockedKernel` lays this out once, from the problem's shape
alone:

* **groups**: whole instances packed together (small models) or row ranges of
  one instance (large ones), each with its own random stream and its own output
  slots: ``loss`` (per instance) and a gradient slot (the instance's part of the
  flat gradient buffer, or a partial buffer summed afterwards in a fixed order);
* **blocks** inside a group: a few instances x a range of batch rows, sized so
  the block's arrays stay in cache while every elementwise pass runs over them.

A :class:`~packing.train._parallel.WorkerPool` runs the groups on the threads
chosen by :func:`~packing.train._parallel.choose_layout`. Because the groups, their
streams and every summation order are fixed by the shape, results are bit for
bit the same whatever the number of threads. Subclasses write the model:
:meth:`BlockedKernel.block` computes one block's loss and gradient.

Helpers for the elementwise work: :class:`Workspace` (per-thread buffers,
allocated once and reused) and :func:`rowdot` (sums of products along rows in one
pass). numpy's ``maximum`` against a scalar takes a slow scalar
loop; against a zero array of the same shape it is 2-3x faster, hence the
``zeros`` buffers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ._parallel import WorkerPool, choose_layout

__all__: list[str] = []

#: Entries per block: large enough for efficient matrix products over its rows.
BLOCK_ENTRIES = 2**19
#: Entries per chunk of a block's elementwise work (its few arrays stay in the L2 cache).
CHUNK_ENTRIES = 2**16
#: Fewest batch rows per block (matrix products and inner loops stay long).
MIN_ROWS = 64
#: Least estimated work of a group (ns): smaller instances are packed together, and an
#: instance is split into row ranges no smaller (a group costs a dispatch and a reduction).
GROUP_NS = 1e6
#: Groups a step should offer threads when its instances are few (their rows are split).
TARGET_GROUPS = 16


@dataclass(frozen=True)
class Group:
    """Instances ``i0 .. i1`` x batch rows ``r0 .. r1``, processed block by block."""

    i0: int
    i1: int
    r0: int
    r1: int
    blocks: list = field(default_factory=list)  # (i0, i1, r0, r1) tuples
    partial: int | None = None  # index of the partial gradient buffer, None: writes grad[i0:i1]


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous near-equal ranges covering ``range(total)``."""
    return [(total * k // parts, total * (k + 1) // parts) for k in range(parts)]


def plan_groups(
    n_inst,
    batch,
    row_entries,
    row_ns,
    *,
    block_entries=BLOCK_ENTRIES,
    min_rows=MIN_ROWS,
    group_ns=GROUP_NS,
    target_groups=TARGET_GROUPS,
):
    """Plan the groups and blocks of a step from the shape alone (never from the thread count).

    ``row_entries`` is the size of one instance's row of the block's largest array,
    ``row_ns`` the estimated time of one instance's row (it only steers packing
    and splitting). Instances below ``group_ns`` of work are packed together;
    when there are fewer than ``target_groups`` instances, each is split into row
    ranges of at least ``group_ns`` and ``min_rows``, up to ``target_groups`` groups.
    """
    inst_ns = batch * row_ns
    groups = []
    if inst_ns <= group_ns:  # small instances: several per group, blocks of all of them
        per = max(1, min(n_inst, int(group_ns // max(inst_ns, 1.0))))
        ranges = [(i, min(i + per, n_inst), 0, batch) for i in range(0, n_inst, per)]
    else:
        n_split = max(1, min(math.ceil(target_groups / n_inst), int(inst_ns // group_ns), batch // min_rows))
        ranges = [(i, i + 1, r0, r1) for i in range(n_inst) for r0, r1 in _split(batch, n_split)]
    n_partial = 0
    for i0, i1, r0, r1 in ranges:
        rows = max(min_rows, block_entries // max(1, (i1 - i0) * row_entries))
        n_blocks = max(1, math.ceil((r1 - r0) / rows))
        blocks = [(i0, i1, r0 + a, r0 + b) for a, b in _split(r1 - r0, n_blocks)]
        partial = None
        if r0 > 0:
            partial, n_partial = n_partial, n_partial + 1
        groups.append(Group(i0, i1, r0, r1, blocks, partial))
    return groups


def plan_units(groups, batch, row_entries, merge_entries) -> list[list[int]]:
    """Plan the runs of consecutive groups a worker computes as one stacked block (shape only).

    Only groups of whole instances, all batch rows and one block merge, while the
    merged block's largest array keeps at most ``merge_entries`` entries
    (``instances x row_entries x batch``); each keeps its own random stream and
    its instances their own products, so merging changes no bit of the result
    (``merge_entries = 0``: every group alone).
    """
    units, run, run_inst = [], [], 0
    for j, g in enumerate(groups):
        ni = g.i1 - g.i0
        whole = g.partial is None and len(g.blocks) == 1 and (g.r0, g.r1) == (0, batch)
        if whole and run and (run_inst + ni) * row_entries * batch <= merge_entries:
            run.append(j)
            run_inst += ni
            continue
        if run:
            units.append(run)
        run, run_inst = ([j], ni) if whole else ([], 0)
        if not whole:
            units.append([j])
    if run:
        units.append(run)
    return units


class Workspace:
    """One thread's scratch buffers, allocated on first use and reused for every block."""

    def __init__(self):
        self._bufs = {}
        self._views = {}

    def array(self, name, shape, dtype, fill=None) -> np.ndarray:
        """Return the buffer ``name`` of exactly ``shape`` (allocated once; ``fill`` sets its first value)."""
        buf = self._bufs.get(name)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            buf = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
            self._bufs[name] = buf
        return buf

    def flat(self, name, shape, dtype, fill=None) -> np.ndarray:
        """Return a contiguous array of ``shape`` at the start of the buffer ``name`` (grown when needed).

        With ``fill`` the buffer holds that value everywhere, and keeps it as long as
        nobody writes to it (zeros for :func:`numpy.maximum`, ones for sums).
        Views are cached: a block loop asks for the same few shapes again and again.
        """
        key = (name, shape)
        view = self._views.get(key)
        if view is not None and view.dtype == dtype:
            return view
        size = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype) if fill is None else np.full(size, fill, dtype)
            self._bufs[name] = buf
            self._views = {k: v for k, v in self._views.items() if k[0] != name}
        view = self._views[key] = buf[:size].reshape(shape)
        return view


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ_k a[..., k] b[..., k]`` over the last axis, in one read pass (no temporary)."""
    if hasattr(np, "vecdot"):  # numpy >= 2.0
        return np.vecdot(a, b)
    return np.einsum("...k,...k->...", a, b)


def row_chunks(rows: int, width: int, target: int = CHUNK_ENTRIES) -> list[tuple[int, int]]:
    """Split ``rows`` rows of ``width`` entries into near-equal chunks of about ``target`` entries."""
    return _split(rows, max(1, min(rows, round(rows * width / target))))


#: Blocks that leave their all-zero rows out keep a multiple of this many rows (the extra ones are
#: genuine zero rows): the buffers' shapes, and the views cached for them, take few distinct values.
ROW_STEP = 16


@functools.cache
def _arange(k):
    """``np.arange(k)``, cached (:func:`gather_nonzero_rows` asks for a few sizes again and again)."""
    return np.arange(k)


@functools.cache
def _gather_offsets(ni, n, R):
    """Offsets of :func:`gather_nonzero_rows`: instance starts ``k R``, ``k (n - 1) R + j R`` (ni, n, 1)."""
    kR = np.arange(ni + 1, dtype=np.intp) * R
    off = (kR[:-1] * (n - 1))[:, None, None] + (np.arange(n, dtype=np.intp) * R)[None, :, None]
    return kR, off


def gather_nonzero_rows(ws, xbuf, shape, nonneg, step=ROW_STEP):
    """Gather each instance's nonzero rows of a features-first block first: ``(Xc, z)``.

    The kernels' shared way of leaving a block's all-zero batch rows out (every such
    row is one and the same row, which a kernel adds in closed form, ``z`` times).
    ``xbuf`` (flat) holds the block ``X`` of ``shape`` (ni, n, R) and one entry more
    (set to 0 here). ``Xc`` (ni, n, R') holds, per instance, its nonzero rows in order,
    then zero rows up to ``R'``: the most nonzero rows of an instance, rounded up to
    ``step`` (at least 1, at most ``R``). Every instance thus leaves out ``z = R - R'``
    rows, all zero (``z = 0``: ``X`` itself). ``nonneg``: entries are >= 0 (a row is
    zero iff its sum is 0, exactly); else each entry is compared with 0 (signed
    inputs; NaN counts as nonzero). ``ws`` is the thread's :class:`Workspace`.
    """
    X = xbuf[:-1].reshape(shape)
    ni, n, R = X.shape
    nz = ws.flat("zr_nz", (ni, R), bool)  # row is nonzero
    if nonneg:
        rowsum = ws.flat("zr_sum", (ni, R), X.dtype)
        np.add.reduce(X, axis=1, out=rowsum)
        np.greater(rowsum, 0, out=nz)
    else:
        mask = ws.flat("zr_mask", X.shape, bool)
        np.not_equal(X, 0, out=mask)
        np.logical_or.reduce(mask, axis=1, out=nz)
    kR, off = _gather_offsets(ni, n, R)
    pos = np.flatnonzero(nz)  # k R + row, sorted
    bounds = pos.searchsorted(kR)
    count = bounds[1:] - bounds[:-1]
    kept = min(R, -(-max(int(count.max()), 1) // step) * step)
    if kept == R:
        return X, 0
    idx = ws.flat("zr_idx", (ni, kept), np.intp)
    idx.fill(xbuf.size - 1)  # padding: the extra entry, 0 (so is every index past it, clipped)
    idx[_arange(kept) < count[:, None]] = pos  # row-major: instance by instance, in order
    flat = ws.flat("zr_flat", (ni, n, kept), np.intp)
    np.add(idx[:, None, :], off, out=flat)  # k n R + j R + row
    xbuf[-1] = 0
    Xc = ws.flat("xc", (ni, n, kept), X.dtype)
    np.take(xbuf, flat, out=Xc, mode="clip")
    return Xc, R - kept


def _no_tick(label):
    pass


class BlockedKernel:
    """Parameters, gradients and the threaded block loop of a vectorized model.

    Parameters of instance ``i`` occupy row ``i`` of ``params.reshape(n_inst, -1)``
    (one flat buffer: the optimizer updates all of them with a few ufunc calls);
    ``grad`` has the same layout. Subclasses set up views into them and
    implement :meth:`block`.

    Parameters
    ----------
    n_inst, batch : int
    per_instance : int
        Parameters per instance.
    dtype : numpy dtype
    row_entries, row_ns : see :func:`plan_groups`.
    streams : callable or None
        ``streams(k)`` returns ``k`` independent generators (one per group).
    threads, blas_threads : int or None
        Thread budget (``None``: every available core) and BLAS threads per worker
        (``None``: one), see :func:`~packing.train._parallel.choose_layout`.
    chunk_entries, **plan
        Entries per elementwise chunk; keywords of :func:`plan_groups` (tests force
        small blocks and split instances with them).
    merge_entries : int
        See :func:`plan_units` (0, the default: no merging). A subclass that merges
        gets, for a merged unit, ``gen`` as a list ``[(i0, i1, generator), ...]``
        (each group's instances and stream) in :meth:`block`.
    """

    def __init__(
        self,
        n_inst,
        batch,
        per_instance,
        dtype,
        *,
        row_entries,
        row_ns,
        streams=None,
        threads=1,
        blas_threads=None,
        chunk_entries=CHUNK_ENTRIES,
        merge_entries=0,
        **plan,
    ):
        self.n_inst, self.B, self.dtype = n_inst, batch, np.dtype(dtype)
        self.chunks = functools.cache(functools.partial(row_chunks, target=chunk_entries))
        self.params = np.zeros(n_inst * per_instance, dtype=dtype)
        self.grad = np.zeros_like(self.params)
        self.groups = plan_groups(n_inst, batch, row_entries, row_ns, **plan)
        blocks = [blk for g in self.groups for blk in g.blocks]
        self.max_ni = max(i1 - i0 for i0, i1, _, _ in blocks)  # the largest block, for buffers
        self.max_rows = max(r1 - r0 for _, _, r0, r1 in blocks)
        n_partial = sum(g.partial is not None for g in self.groups)
        self.partials = np.zeros((n_partial, per_instance), dtype=dtype)
        self.losses = [np.zeros(g.i1 - g.i0) for g in self.groups]
        self.units = plan_units(self.groups, batch, row_entries, merge_entries)
        #: A merged unit's loss slots (its instances), by unit index.
        self.merged_losses = {
            u: np.zeros(self.groups[m[-1]].i1 - self.groups[m[0]].i0)
            for u, m in enumerate(self.units)
            if len(m) > 1
        }
        self.max_ni = max([self.max_ni, *(len(slot) for slot in self.merged_losses.values())])
        self.layout = choose_layout(len(self.groups), threads, blas_threads)
        self.pool = WorkerPool(self.layout.workers)
        self.workspaces = [Workspace() for _ in range(self.layout.workers)]
        self.gens = streams(len(self.groups)) if streams is not None else [None] * len(self.groups)
        self.need_grad = True
        self._tick = _no_tick

    def close(self):
        """Stop the worker threads (if any)."""
        self.pool.close()

    def loss_and_grad(self, tick=None) -> np.ndarray:
        """Per-instance loss (float64) on a fresh batch; fills ``grad`` (unless ``need_grad`` is off).

        The loss and gradient are the sums the blocks produce, scaled by
        :meth:`finish`. ``tick(label)``, if given, is called after each phase of
        a block (single worker only), so a profiler can attribute the time.
        """
        self._tick = tick if tick is not None and self.layout.workers == 1 else _no_tick
        self.prepare()
        try:
            self.pool.run(self._run_unit, len(self.units))
        finally:
            self._tick = _no_tick
        loss = np.zeros(self.n_inst)
        grad = self.grad.reshape(self.n_inst, -1)
        for g, part in zip(self.groups, self.losses, strict=True):
            loss[g.i0 : g.i1] += part
            if g.partial is not None and self.need_grad:
                grad[g.i0] += self.partials[g.partial]
        return self.finish(loss)

    def prepare(self) -> None:
        """Compute what every block of the step shares (override; the default does nothing)."""

    def finish(self, loss: np.ndarray) -> np.ndarray:
        """Scale the summed loss and gradient (override; the default keeps them)."""
        return loss

    def _run_unit(self, index, worker):
        members = self.units[index]
        if len(members) == 1:
            self._run_group(members[0], worker)
            return
        groups = [self.groups[j] for j in members]
        i0, i1 = groups[0].i0, groups[-1].i1
        loss = self.merged_losses[index]
        loss[...] = 0
        sources = [(g.i0, g.i1, self.gens[j]) for j, g in zip(members, groups, strict=True)]
        slot = self.grad.reshape(self.n_inst, -1)[i0:i1]
        self.block(self.workspaces[worker], (i0, i1, 0, self.B), sources, slot, loss, True, self._tick)
        self.split_merged(index, members, i0)

    def split_merged(self, index, members, i0) -> None:
        """Hand a merged unit's per-instance outputs to its groups (override to add more)."""
        for j in members:
            g = self.groups[j]
            self.losses[j][...] = self.merged_losses[index][g.i0 - i0 : g.i1 - i0]

    def _run_group(self, index, worker):
        g = self.groups[index]
        slot = (
            self.grad.reshape(self.n_inst, -1)[g.i0 : g.i1]
            if g.partial is None
            else self.partials[g.partial : g.partial + 1]
        )
        loss = self.losses[index]
        loss[...] = 0
        ws, gen = self.workspaces[worker], self.gens[index]
        for k, blk in enumerate(g.blocks):
            self.block(ws, blk, gen, slot, loss, k == 0, self._tick)

    def block(self, ws, blk, gen, slot, loss, first, tick):
        """Add block ``blk = (i0, i1, r0, r1)``'s loss to ``loss`` and its gradient to ``slot``.

        ``slot`` is ``(i1 - i0, per_instance)``: the block's instances' gradient,
        to be overwritten by the group's ``first`` block and added to by the
        others; ``gen`` is the group's random stream, ``ws`` the thread's
        :class:`Workspace`.
        """
        raise NotImplementedError
