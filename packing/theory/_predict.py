"""Predict the geometry a ReLU toy model learns: fitted block losses and an exact DP over tegum products.

Candidates are tegum products of the blocks in :mod:`packing.theory._shapes`
plus left-out features. Cross-block pairs are exactly orthogonal, so the
expected loss is the sum of the block losses. Features are sorted by
importance (most important first) and every block takes a contiguous run of
them; a block's cost is its :func:`fit_factor` loss (norms and biases fitted
to those features' importances and densities), a left-out feature costs
``I_i Var(x_i)`` (its bias outputs the mean). The dynamic programme

    ``F(k, e) = min( F(k−1, e) + I_k Var(x_k),  min_s F(k − m_s, e − D_s) + cost(k − m_s, s) )``

over features ``k`` and dimensions ``e`` keeps the two best distinct block
compositions per state (exact: a composition pruned at a state is beaten
there by two distinct others, each of which extends to a distinct final
composition at least as good), which gives the optimum and the runner-up.

Contiguous runs miss pairings that trained models find when importances differ
(digons on features (3, 6) and (4, 5) rather than (3, 4) and (5, 6)): after the
DP, :func:`_exchange` swaps features between polytope blocks (and between a
block and the left-out features) while a swap lowers the summed loss, which
keeps each composition and can only lower its loss. Then (``grow=True``, the
default) :func:`_grow` offers left-out features to blocks in 2+ dims as weakly
represented members (a free block of one more feature, fitted), kept while a
growth lowers the summed loss by more than :data:`GROW_GAIN` of it, as trained
models keep them at low density.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._results import Savable
from .._validation import _describe, check_int
from ..constructions import tegum_product
from ..geometry import feature_dimensionality
from ..structure import identify_shape
from ._fit import dropped_bias, fit_factor
from ._free import fit_free
from ._inputs import check_model_size, feature_density, feature_table, single_blas
from ._loss import expected_loss
from ._shapes import FREE_MAX, BlockShape, default_shapes
from ._spread import fit_spread, spread_shapes

__all__ = ["GeometryPrediction", "predict_geometry", "BlockCostTable", "relu_block_costs"]

DROPPED = "dropped"
#: A fitted block with a norm below this fraction of its largest is degenerate (as analyze_structure
#: would drop that feature) and not a candidate.
DEGENERATE = 0.1
#: Coarse (r, b) scan of the spread fits (their optimum lies in this range).
SPREAD_SCAN = (np.linspace(0.6, 1.4, 5), np.linspace(-0.9, 0.1, 6))
#: Largest grid of the reported expected loss (its error bound is reported with it).
REPORT_GRID = 1024
_KEEP = 2  # distinct compositions kept per DP state (2 = optimum + runner-up, exact)
#: Swaps after the DP pair features at most this many places apart in importance order.
EXCHANGE_WINDOW = 16
#: Blocks of more features keep theirs in the swaps (a square antiprism's fit costs about a second).
EXCHANGE_MAX_MEMBERS = 6
#: A swap is taken only when it lowers the summed loss by more than this fraction of it.
EXCHANGE_GAIN = 1e-9
#: Growing a block (:func:`_grow`): seeded candidate directions of the new member, and its starting
#: norm as a fraction of the block's smallest.
HOLE_CANDIDATES = 2048
GROW_NORM = 0.25
#: A growth is taken only when it lowers the summed loss by more than this fraction of it. Measured
#: (docs/theory_validation.md, eighth measurement): the growths that change a prediction gain 1.2e-4
#: to 7e-2 of the loss (20 in 5, importance 0.7^i, densities 0.03 and 0.01); in dense 200-in-20 each
#: weak member gains at most 1.1e-6 (35 of them, 1.1e-5 in all, for 38 s of free fits), far below what
#: a trained model's loss resolves.
GROW_GAIN = 1e-5


@dataclass
class GeometryPrediction(Savable, schema=1):
    """Result of :func:`predict_geometry`.

    Attributes
    ----------
    n, d : int
    W : ndarray, shape (n, d)
        Predicted weights (rows are features, in the order given), a tegum product.
    b : ndarray, shape (n,)
    loss : float
        :func:`expected_loss` of ``(W, b)``.
    error_bound : float
        Its grid error bound.
    blocks : list of (str, ndarray)
        Shape name and feature indices of each block (left-out features are not blocks).
    feature_shapes : ndarray of str, shape (n,)
        The shape each feature sits in, ``"dropped"`` if left out.
    dimensionality : ndarray, shape (n,)
        :func:`packing.feature_dimensionality` of ``W``.
    dimensions_per_feature : float
        ``d / ||W||_F²`` (:func:`packing.dimensions_per_feature`).
    description : str
        The tegum product as :attr:`packing.StructureReport.description` writes it.
    n_represented : int
    runner_up : GeometryPrediction or None
        The best prediction with a different block composition.
    margin : float
        ``runner_up.loss − loss`` (``inf`` without a runner-up).
    seconds : float
    """

    n: int
    d: int
    W: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)
    loss: float
    error_bound: float
    blocks: list = field(repr=False)
    feature_shapes: np.ndarray = field(repr=False)
    dimensionality: np.ndarray = field(repr=False)
    dimensions_per_feature: float
    description: str
    n_represented: int
    runner_up: GeometryPrediction | None = field(default=None, repr=False)
    margin: float = np.inf
    seconds: float = 0.0

    def summary(self) -> str:
        """Return a one-paragraph text summary."""
        text = (
            f"{self.n} features in d={self.d}: {self.description or 'nothing represented'} "
            f"({self.n_represented} represented), expected loss {self.loss:.6g}, "
            f"dims/feature {self.dimensions_per_feature:.4g}"
        )
        if self.runner_up is not None:
            text += f"; runner-up {self.runner_up.description or 'nothing represented'} (+{self.margin:.3g})"
        return text


class _Costs:
    """Fitted block losses, cached by shape and (relative) importances and densities."""

    def __init__(self, imp, dens, shapes):
        self.imp, self.dens, self.shapes = imp, dens, shapes
        self.cache: dict = {}
        self.free: dict = {}  # key -> (unit directions, shape name) of fitted free blocks
        self.fits = 0

    def _key(self, members, shape):
        imp, dens = self.imp[members], self.dens[members]
        return (shape.key, tuple(np.round(imp / imp.max(), 12)), tuple(np.round(dens, 12)))

    def directions(self, start, shape: BlockShape):
        """Return ``(unit directions, name)`` of ``shape`` on features ``start ..`` (fitted if free)."""
        return self.directions_of(np.arange(start, start + shape.m), shape)

    def directions_of(self, members, shape: BlockShape):
        """:meth:`directions` on the sorted positions ``members`` (any set of ``shape.m``)."""
        if not shape.free:
            return shape.directions, shape.name
        return self.free[self._key(members, shape)]

    def block(self, start, shape: BlockShape):
        """``(loss, r, b)`` of ``shape`` on features ``start .. start + m − 1`` (sorted order)."""
        return self.block_of(np.arange(start, start + shape.m), shape)

    def block_of(self, members, shape: BlockShape):
        """:meth:`block` on the sorted positions ``members`` (``r``, ``b`` in their order)."""
        imp, dens = self.imp[members], self.dens[members]
        scale = float(imp.max())
        if scale == 0:
            return 0.0, np.zeros(shape.m), np.zeros(shape.m)
        key = self._key(members, shape)
        if key not in self.cache and shape.spread:
            _, loss, r0, b0 = fit_spread(
                shape.m, shape.D, density=float(dens.mean()), imp=imp / scale, scan=SPREAD_SCAN
            )
            self.cache[key] = (loss if r0 > 0 else np.inf, np.full(shape.m, r0), np.full(shape.m, b0))
            self.fits += 1
        if key not in self.cache and shape.free:
            self._store_free(
                key, shape, *fit_free(shape.m, shape.D, dens, imp / scale, directions=self._starts(shape))
            )
        if key not in self.cache:
            r, b, loss, _ = fit_factor(shape.cosines, dens, imp / scale)
            if shape.m > 1 and not np.all(r > DEGENERATE * r.max()):
                loss = np.inf  # a member left out: really a smaller composition, which the DP also has
            self.cache[key] = (loss, r, b)
            self.fits += 1
        loss, r, b = self.cache[key]
        return scale * loss, r, b

    def _store_free(self, key, shape, loss, W, b):
        """Cache a free fit ``(loss, W, b)``: norms and biases, and its unit directions with their name."""
        r = np.linalg.norm(W, axis=1)
        U = W / np.where(r > 0, r, 1.0)[:, None]
        self.free[key] = (U, identify_shape(U).label if np.isfinite(loss) else shape.name)
        self.cache[key] = (loss, r, b)
        self.fits += 1

    def _starts(self, shape):
        """Return the starting directions of a free block: its own and the library blocks of its size."""
        same = [s.directions for s in self.shapes if s.m == shape.m and s.D == shape.D and not s.free]
        return [shape.directions, *(U for U in same if not np.array_equal(U, shape.directions))]

    def grown(self, members, shape: BlockShape, k):
        """Return ``(grown shape, sorted members)``: ``shape`` on ``members`` plus feature ``k``, fitted.

        The fit (see :func:`_grow`) is cached under the grown shape, whose key
        names the block it grew from and the place of ``k`` among its members.
        """
        new = np.sort(np.r_[members, k])
        at = int(np.searchsorted(new, k))
        U, _ = self.directions_of(members, shape)
        _, r, b = self.block_of(members, shape)
        m, D = shape.m + 1, shape.D
        starts = [
            (np.insert(r[:, None] * U, at, GROW_NORM * r.min() * h, axis=0), np.insert(b, at, 0.0))
            for h in _holes(U)
        ]
        W0 = starts[0][0]
        grown = BlockShape(
            f"free ({m} in {D})",
            f"{shape.key} + 1 at {at}",
            W0 / np.linalg.norm(W0, axis=1)[:, None],
            free=True,
        )
        key = self._key(new, grown)
        if key not in self.cache:
            imp, dens = self.imp[new], self.dens[new]
            self._store_free(key, grown, *fit_free(m, D, dens, imp / float(imp.max()), starts=starts))
        return grown, new

    def dropped(self, k):
        p = self.dens[k]
        return float(self.imp[k] * (p / 3 - p * p / 4))


def _check_shapes(shapes):
    if shapes is None:
        return default_shapes()
    if isinstance(shapes, BlockShape):
        shapes = [shapes]
    if isinstance(shapes, str | bytes) or not hasattr(shapes, "__iter__"):
        raise TypeError(f"shapes must be a sequence of BlockShape; got {_describe(shapes)}.")
    out = []
    for i, s in enumerate(shapes):
        if not isinstance(s, BlockShape):
            raise TypeError(f"shapes[{i}] must be a BlockShape; got {_describe(s)}.")
        out.append(s)
    if not out:
        raise ValueError("shapes must hold at least one BlockShape; got none.")
    return tuple(out)


def _inputs(n, d, sparsity, density, importance):
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_model_size("predict_geometry", n, d)
    dens = feature_density(sparsity, density, n)
    imp = feature_table(importance, "importance", n, one_d="feature", lo=0.0)
    for name, arr in (("sparsity" if density is None else "density", dens), ("importance", imp)):
        if arr.shape[0] != 1:
            raise ValueError(f"{name} must describe one model (a scalar or shape (1, {n})); got {arr.shape}.")
    return n, d, dens[0], imp[0]


def _solve(n, d, costs: _Costs, shapes):
    """Two best distinct compositions: list of (loss, key, blocks) with blocks [(shape or None, start)].

    A spread block is terminal: the features after it are left out (so it is
    evaluated only where the DP reaches it).
    """
    names = sorted({s.name for s in shapes} | {DROPPED})
    slot = {name: i for i, name in enumerate(names)}
    moves = [(None, 1, 0, slot[DROPPED])] + [(s, s.m, s.D, slot[s.name]) for s in shapes]
    cost = np.full((n, len(moves)), np.nan)  # cost of move j starting at sorted feature k (lazy)
    drop = np.array([costs.dropped(k) for k in range(n)])
    tail = np.r_[np.cumsum(drop[::-1])[::-1], 0.0]  # cost of leaving out features k..n-1
    for k in range(n):
        cost[k, 0] = drop[k]
        for j, (s, m, _, _) in enumerate(moves[1:], start=1):
            if not s.spread:
                cost[k, j] = costs.block(k, s)[0] if k + m <= n else np.inf
    # state[k][e]: up to _KEEP entries (loss, key, parent), key = counts per name, parent = (k, e, i, move)
    state = [[[] for _ in range(d + 1)] for _ in range(n + 1)]
    state[0][0] = [(0.0, (0,) * len(names), None)]
    for k in range(n):
        for e in range(d + 1):
            entries = state[k][e]
            if not entries:
                continue
            for j, (s, m, D, name) in enumerate(moves):
                if e + D > d or k + m > n:
                    continue
                if np.isnan(cost[k, j]):  # a spread: its cost plus the left-out rest
                    cost[k, j] = costs.block(k, s)[0] + tail[k + m]
                c = cost[k, j]
                if not np.isfinite(c):
                    continue
                to = n if s is not None and s.spread else k + m
                rest = n - k - m if to == n and m < n - k else 0
                for i, (loss, key, _) in enumerate(entries):
                    new = key[:name] + (key[name] + 1,) + key[name + 1 :]
                    if rest:
                        new = new[: slot[DROPPED]] + (new[slot[DROPPED]] + rest,) + new[slot[DROPPED] + 1 :]
                    _push(state[to][e + D], loss + c, new, (k, e, i, j))
    finals = sorted(
        ((loss, key, e, i) for e in range(d + 1) for i, (loss, key, _) in enumerate(state[n][e])),
        key=lambda t: t[0],
    )
    out, seen = [], set()
    for loss, key, e, i in finals:
        if key in seen:
            continue
        seen.add(key)
        blocks, k, ee, ii = [], n, e, i
        while k > 0:
            k0, e0, i0, j = state[k][ee][ii][2]
            blocks.append((moves[j][0], k0))
            k, ee, ii = k0, e0, i0
        out.append((loss, key, blocks[::-1]))
        if len(out) == _KEEP:
            break
    return out


def _exchange(n, blocks, costs: _Costs):
    """Blocks ``(shape, sorted positions)`` of a DP composition after swaps of features between blocks.

    The DP gives each block a contiguous run of features in importance order.
    Here a feature of a polytope block trades places with a feature of another
    polytope block, or with a left-out one, when that lowers the summed loss
    (each touched block refitted), best swap first, until no swap helps. Spread
    blocks, free blocks and blocks of more than :data:`EXCHANGE_MAX_MEMBERS`
    features keep their features. Features of equal importance and
    density are never swapped (it changes nothing), so equal-importance models
    cost no fits here. Deterministic; the composition is unchanged.
    """
    groups, fixed, covered = [], [], np.zeros(n, dtype=bool)
    for s, start in blocks:
        if s is None:
            continue
        stop = n if s.spread else start + s.m  # a spread block leaves the features after it out
        covered[start:stop] = True
        members = np.arange(start, start + s.m)
        (fixed if s.spread or s.free or s.m > EXCHANGE_MAX_MEMBERS else groups).append([s, members])
    owner = np.full(n, -1)  # group of each sorted position; -1 left out, -2 fixed
    for g, (_, members) in enumerate(groups):
        owner[members] = g
    for _, members in fixed:
        owner[members] = -2
    owner[covered & (owner == -1)] = -2  # left out behind a spread block: stays with it
    if not groups:
        return [(s, m) for s, m in fixed]
    cost = [costs.block_of(m, s)[0] for s, m in groups]
    # features a swap cannot change: equal importance and equal density
    same = (costs.imp[:, None] == costs.imp[None, :]) & (costs.dens[:, None] == costs.dens[None, :])

    def moved(g, a, b):
        s, members = groups[g]
        new = np.sort(np.where(members == a, b, members))
        return new, costs.block_of(new, s)[0]

    while True:
        total = float(sum(cost)) + sum(costs.dropped(k) for k in np.flatnonzero(owner == -1))
        best = (-EXCHANGE_GAIN * max(abs(total), 1e-300), None)
        for a in np.flatnonzero(owner >= 0):
            ga = owner[a]
            for b in range(max(0, a - EXCHANGE_WINDOW), min(n, a + EXCHANGE_WINDOW + 1)):
                gb = owner[b]
                if gb == ga or gb == -2 or (gb >= 0 and b < a) or same[a, b]:
                    continue
                new_a, ca = moved(ga, a, b)
                delta = ca - cost[ga]
                if gb >= 0:
                    new_b, cb = moved(gb, b, a)
                    delta += cb - cost[gb]
                else:
                    new_b, cb = None, None
                    delta += costs.dropped(a) - costs.dropped(b)
                if np.isfinite(delta) and delta < best[0]:
                    best = (delta, (a, b, ga, gb, new_a, ca, new_b, cb))
        if best[1] is None:
            break
        a, b, ga, gb, new_a, ca, new_b, cb = best[1]
        groups[ga][1], cost[ga] = new_a, ca
        owner[b], owner[a] = ga, gb
        if gb >= 0:
            groups[gb][1], cost[gb] = new_b, cb
    return sorted(((s, m) for s, m in groups + fixed), key=lambda block: int(block[1].min()))


def _holes(U):
    """Return starting directions of a new member among the unit rows ``U`` (k, D).

    The direction of least largest overlap with the rows (best of
    :data:`HOLE_CANDIDATES` seeded ones), then the antipode of each row (in a
    polygon: the middle of the opposite gap), without near-repeats (cosine
    above 0.99). The fit from each converges to the weak member's optimum next
    to that place; they differ (in a pentagon at density 0.03 by 0.3% of the loss).
    """
    k, D = U.shape
    cand = np.random.default_rng([k, D]).standard_normal((HOLE_CANDIDATES, D))
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    out = [cand[np.argmin((cand @ U.T).max(axis=1))]]
    for h in -U:
        if max(float(h @ o) for o in out) < 0.99:
            out.append(h)
    return out


def _growable(s: BlockShape) -> bool:
    """Tell whether a block can take a weakly represented member (superposition in 2+ dims, not spread)."""
    return not s.spread and 2 <= s.D < s.m < FREE_MAX


def _grow(n, blocks, costs: _Costs):
    """Blocks ``(shape, sorted positions)`` after adding left-out features to blocks as weak members.

    A trained model can keep a feature the composition leaves out at a small
    norm inside a block's dimensions (it gains more from the feature's outputs
    than its interference costs the others): a polytope with an extra, weak
    member. For the most important left-out feature, every block of :func:`_growable`
    is grown by it: a free block of ``m + 1`` features fitted (directions, norms
    and biases; :func:`fit_free`) from the block's own fit plus the new member
    in the direction of least positive overlap with the others. The best growth
    is taken when it lowers the summed loss by more than :data:`GROW_GAIN`
    of it (the new member's norm must stay above :data:`DEGENERATE` of the largest),
    and repeated while one helps; the first left-out feature that no block takes
    ends the growth (less important ones are not tried). Deterministic; without
    growth the blocks are returned unchanged.
    """
    blocks = [[s, np.asarray(m)] for s, m in blocks]
    taken = np.zeros(n, dtype=bool)
    for s, m in blocks:
        taken[m] = True
        if s.spread:  # a spread block leaves the features after it out
            taken[m.max() :] = True
    left = np.flatnonzero(~taken).tolist()
    while left:
        k = left[0]
        total = sum(costs.block_of(m, s)[0] for s, m in blocks) + sum(costs.dropped(j) for j in left)
        best = (-GROW_GAIN * max(abs(total), 1e-300), None)
        for i, (s, members) in enumerate(blocks):
            if not _growable(s):
                continue
            shape, new = costs.grown(members, s, k)
            delta = costs.block_of(new, shape)[0] - costs.block_of(members, s)[0] - costs.dropped(k)
            if np.isfinite(delta) and delta < best[0]:
                best = (delta, (i, shape, new))
        if best[1] is None:
            break
        i, shape, new = best[1]
        blocks[i] = [shape, new]
        left.pop(0)
    return [(s, m) for s, m in blocks]


def _same_geometry(a: GeometryPrediction, b: GeometryPrediction) -> bool:
    """Tell whether two predictions are one geometry: the same shapes on the same features, equal loss.

    A runner-up grown (:func:`_grow`) can reach the optimum's geometry through
    another block (a pentagon grown by a weak member is the fitted free 6-in-2 block).
    """
    return (
        a.description == b.description
        and np.array_equal(a.feature_shapes, b.feature_shapes)
        and abs(a.loss - b.loss) <= EXCHANGE_GAIN * max(abs(a.loss), abs(b.loss))
    )


def _push(cell, loss, key, parent):
    """Insert into a DP cell keeping the ``_KEEP`` best entries with distinct keys."""
    for i, (l0, k0, _) in enumerate(cell):
        if k0 == key:
            if loss < l0:
                cell[i] = (loss, key, parent)
                cell.sort(key=lambda t: t[0])
            return
    if len(cell) == _KEEP and loss >= cell[-1][0]:
        return
    cell.append((loss, key, parent))
    cell.sort(key=lambda t: t[0])
    del cell[_KEEP:]


def _assemble(n, d, order, blocks, costs, dens_orig, imp_orig, t0):
    """Build W, b in the original feature order from blocks ``(shape, sorted positions)``."""
    arrays, feats, r_all, b_all, names = [], [], [], [], []
    W = np.zeros((n, d))
    b = dropped_bias(dens_orig)
    shapes = [DROPPED] * n
    block_list = []
    for s, members in blocks:
        if s is None:
            continue
        _, r, bb = costs.block_of(members, s)
        U, name = costs.directions_of(members, s)
        idx = order[members]
        arrays.append(r[:, None] * U)
        feats.append(idx)
        r_all.append(r)
        b_all.append(bb)
        names.append(name)
    if arrays:
        T = tegum_product(*arrays)
        rows = np.concatenate(feats)
        W[rows, : T.shape[1]] = T
        b[rows] = np.concatenate(b_all)
        for name, idx, r in zip(names, feats, r_all, strict=True):
            for i, ri in zip(idx, r, strict=True):
                shapes[i] = name if ri > 0 else DROPPED
            block_list.append((name, idx))
    ev = expected_loss(
        W,
        b,
        density=dens_orig[None],
        importance=imp_orig[None],
        return_details=True,
        max_grid_points=REPORT_GRID,
    )
    counts: dict = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    description = " ⊕ ".join(f"{c}×{name}" if c > 1 else name for name, c in counts.items())
    total = float(np.sum(W * W))
    return GeometryPrediction(
        n=n,
        d=d,
        W=W,
        b=b,
        loss=float(ev.loss[0]),
        error_bound=float(ev.error_bound[0]),
        blocks=block_list,
        feature_shapes=np.array(shapes, dtype=str),
        dimensionality=feature_dimensionality(W) if total > 0 else np.zeros(n),
        dimensions_per_feature=d / total if total > 0 else np.inf,
        description=description,
        n_represented=int(np.sum(np.linalg.norm(W, axis=1) > 0)),
        seconds=time.perf_counter() - t0,
    )


@single_blas
def predict_geometry(
    n, d, *, sparsity=None, density=None, importance=1.0, shapes=None, spread=True, grow=True
) -> GeometryPrediction:
    """Predict the geometry a ReLU toy model learns, before training it.

    Every candidate is a tegum product of known blocks (dedicated dimension,
    antipodal pair, polygons, simplices, square antiprisms; see
    :func:`default_block_shapes`), optionally one spread block (many features
    spread evenly over a few dimensions), and left-out features, with the
    blocks assigned to runs of features in order of importance and their norms
    and biases fitted to the expected loss (:func:`fit_geometry`). An exact
    dynamic programme over blocks finds the candidate of least expected loss
    and the runner-up (the best with a different block composition); then
    features are swapped between polytope blocks of up to
    ``EXCHANGE_MAX_MEMBERS`` features (and the left-out ones) while that lowers
    the loss, which finds pairings out of importance order (two digons on
    features (0, 3) and (1, 2) rather than (0, 1) and (2, 3)) that trained
    models learn. A trained model can still sit below the prediction by
    distorting a shape (``validate_theory.py`` reports by how much).

    Parameters
    ----------
    n, d : int
        Features and hidden dimensions.
    sparsity, density : float or array_like, optional
        Probability a feature is zero (or active): a scalar or one value per
        feature given as shape ``(1, n)``. Default dense.
    importance : float or array_like
        Scalar or one value per feature.
    shapes : sequence of BlockShape, optional
        Candidate blocks (default :func:`default_block_shapes`; add your own,
        e.g. an optimizer packing, with :func:`block_shape`, or free blocks whose
        directions are fitted too, with :func:`free_block`: they find distorted
        and partially represented polytopes that trained models with unequal
        importances learn, at the cost of a fit per block size).
    spread : bool, default True
        Also try spread blocks: ``m`` features spread evenly over ``D`` dims
        (low Riesz energy) with one fitted norm and bias, as the last
        represented block (see :mod:`packing.theory._spread`). Sparse models
        represent more features this way than small polytopes allow.
    grow : bool, default True
        Then add left-out features to blocks as weakly represented members
        while that lowers the loss by more than ``GROW_GAIN`` (1e-5) of it,
        most important left-out feature first: each polytope or free block in
        2 or more dims is grown into a free block of one more feature, fitted
        from its own fit plus the new member (see ``_grow``). Trained models
        keep such weak members (20 features in 5 dims with importance 0.7^i:
        at density 0.01 a square antiprism plus two weak features, 14
        represented as trained, 4.6% below ``grow=False``'s 11; at 0.03 a
        pentagon plus one). Each tried growth costs a free-block fit (about a
        second). Blocks in one dimension (digons) and spread blocks are never
        grown: the 2-in-1 and 3-in-2 phase diagrams and the 5-in-2 and
        200-in-20 sweeps of ``scripts/validate_theory.py`` predict exactly as
        with ``grow=False``. ``grow=False`` returns the composition of the
        dynamic programme and the swaps alone.

    Returns
    -------
    GeometryPrediction

    Examples
    --------
    Dense data: the more important feature gets the dimension; sparse: an antipodal pair.

    >>> predict_geometry(2, 1, importance=[1.0, 0.5]).feature_shapes.tolist()
    ['dedicated', 'dropped']
    >>> predict_geometry(2, 1, sparsity=0.99, importance=[1.0, 0.5]).description
    'digon'
    >>> predict_geometry(5, 2, sparsity=0.95).description
    'pentagon'
    >>> predict_geometry(5, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be >= 1; got 0.
    """
    t0 = time.perf_counter()
    n, d, dens, imp = _inputs(n, d, sparsity, density, importance)
    shapes = _check_shapes(shapes)
    for name, flag in (("spread", spread), ("grow", grow)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be a bool; got {_describe(flag)}.")
    if spread:
        shapes = shapes + tuple(spread_shapes(n, d))
    order = np.argsort(-imp, kind="stable")
    costs = _Costs(imp[order], dens[order], shapes)
    solutions = _solve(n, d, costs, shapes)
    best_blocks = _exchange(n, solutions[0][2], costs)
    if grow:
        best_blocks = _grow(n, best_blocks, costs)
    best = _assemble(n, d, order, best_blocks, costs, dens, imp, t0)
    if len(solutions) > 1:
        blocks = _exchange(n, solutions[1][2], costs)
        best.runner_up = _assemble(n, d, order, blocks, costs, dens, imp, t0)
        if grow:  # the runner-up grown into the optimum is no runner-up: keep it ungrown then
            grown = _assemble(n, d, order, _grow(n, blocks, costs), costs, dens, imp, t0)
            best.runner_up = best.runner_up if _same_geometry(grown, best) else grown
        if best.runner_up.loss < best.loss:  # growth can reorder the two
            old, best = best, best.runner_up
            old.runner_up, best.runner_up = None, old
        best.margin = best.runner_up.loss - best.loss
    best.seconds = time.perf_counter() - t0
    return best


def default_block_shapes() -> list:
    """Return the default candidate blocks of :func:`predict_geometry` (a list of BlockShape).

    Examples
    --------
    >>> [s.name for s in default_block_shapes()][:6]
    ['dedicated', 'digon', 'triangle', 'pentagon', 'hexagon', 'heptagon']
    """
    return list(default_shapes())


@dataclass
class BlockCostTable(Savable, schema=1):
    """Fitted expected loss of the best single block of ``m`` features in ``D`` dims (equal features).

    ``table[m, D]`` (``0 <= m <= n``, ``0 <= D <= d``) is the least fitted loss
    of a candidate block with exactly ``m`` features in at most ``D`` dims
    (``inf`` if none); ``shape[m, D]`` names it and ``keys[m, D]`` is its
    :attr:`BlockShape.key`; ``dropped`` is the loss of one left-out feature.
    Calling the table, ``cost(m, D)``, returns the best block of at most ``m``
    features in at most ``D`` dims with the remaining features left out: a
    block cost for a partition dynamic programme in which every block has
    ``D >= 1`` (:func:`packing.optimal_partition` with ``cost="relu"``).
    """

    table: np.ndarray
    shape: np.ndarray
    dropped: float
    keys: np.ndarray | None = field(default=None, repr=False)

    def __call__(self, m: int, D: int) -> float:
        """Best block of ``m' <= m`` features in ``<= D`` dims plus ``m − m'`` left out."""
        m = check_int(m, "m", minimum=0)
        D = check_int(D, "D", minimum=0)
        m_max = self.table.shape[0] - 1
        if m > m_max or D >= self.table.shape[1]:
            raise ValueError(
                f"(m, D) must lie within the table, m <= {m_max}, D <= {self.table.shape[1] - 1}; "
                f"got ({m}, {D})."
            )
        return float(self.partition_table()[m, D])

    def partition_table(self) -> np.ndarray:
        """``cost(m, D)`` for every ``m <= n``, ``D <= d`` at once, shape ``(n + 1, d + 1)``."""
        return self.best_members()[0]

    def best_members(self) -> tuple[np.ndarray, np.ndarray]:
        """``(cost, k)``: the partition costs and the number ``k <= m`` of represented features."""
        n = self.table.shape[0] - 1
        m = np.arange(n + 1)[:, None]
        cost = np.full(self.table.shape, np.inf)
        best = np.zeros(self.table.shape, dtype=np.int64)
        for k in np.flatnonzero(np.isfinite(self.table).any(axis=1)):
            c = np.where(m >= k, self.table[k][None, :] + (m - k) * self.dropped, np.inf)
            better = c < cost
            cost, best = np.where(better, c, cost), np.where(better, k, best)
        return cost, best


def _cost_table(n, d, dens, shapes):
    """``(BlockCostTable, costs, shapes by key)`` for ``n`` equal features of density ``dens``."""
    costs = _Costs(np.ones(n), np.full(n, dens), shapes)
    table = np.full((n + 1, d + 1), np.inf)
    names = np.full((n + 1, d + 1), "", dtype=object)
    keys = np.full((n + 1, d + 1), "", dtype=object)
    table[0, :] = 0.0
    for s in shapes:
        if s.m > n or s.D > d or s.spread:
            continue
        loss = costs.block(0, s)[0]
        for D in range(s.D, d + 1):
            if loss < table[s.m, D]:
                table[s.m, D], names[s.m, D], keys[s.m, D] = loss, s.name, s.key
    result = BlockCostTable(table, names.astype(str), costs.dropped(0), keys.astype(str))
    return result, costs, {s.key: s for s in shapes}


def relu_partition_blocks(n, d, dens, blocks, table, costs, by_key):
    """Weights ``(W, b, labels, names)`` of the partition ``blocks`` [(m, D)] under a ReLU cost table.

    Each block holds the table's best shape (its fitted norms and biases) and
    leaves its other features out (norm 0, bias at the mean).
    """
    _, members = table.best_members()
    arrays, b_all, names = [], [], []
    for m, D in blocks:
        k = int(members[m, D])
        block = np.zeros((m, D))
        bias = np.full(m, dens / 2)
        name = DROPPED
        if k:
            shape = by_key[str(table.keys[k, D])]
            _, r, bb = costs.block(0, shape)
            U, name = costs.directions(0, shape)
            block[:k, : shape.D] = r[:, None] * U
            bias[:k] = bb
        arrays.append(block)
        b_all.append(bias)
        names.append(name)
    W, labels = tegum_product(*arrays, return_labels=True)
    return W, np.concatenate(b_all), labels, names


@single_blas
def relu_block_costs(n, d, *, sparsity=None, density=None, shapes=None) -> BlockCostTable:
    """Fitted ReLU-model block costs for features of equal importance 1 and equal density.

    The table a partition dynamic programme needs to produce decodable blocks
    (see :class:`BlockCostTable`; :func:`packing.optimal_partition` uses it
    with ``cost="relu"``).

    Parameters
    ----------
    n, d : int
        Largest block size and dimension.
    sparsity, density : float, optional
        One value for every feature.
    shapes : sequence of BlockShape, optional

    Returns
    -------
    BlockCostTable

    Examples
    --------
    >>> t = relu_block_costs(5, 2, sparsity=0.95)
    >>> str(t.shape[5, 2]), str(t.shape[2, 1]), round(t(1, 1), 6)
    ('pentagon', 'digon', 0.0)
    >>> relu_block_costs(5, 2, sparsity=[0.9, 0.95])
    Traceback (most recent call last):
    ...
    ValueError: sparsity must be one number for relu_block_costs; got shape (2,).
    """
    n = check_int(n, "n", minimum=1)
    d = check_int(d, "d", minimum=1)
    check_model_size("relu_block_costs", n, d)
    return _cost_table(n, d, one_density("relu_block_costs", sparsity, density), _check_shapes(shapes))[0]


def one_density(func, sparsity, density) -> float:
    """Return the one density of every feature from ``sparsity`` or ``density`` (scalars only)."""
    name = "sparsity" if density is None else "density"
    value = sparsity if density is None else density
    if value is not None and np.ndim(value) != 0:
        raise ValueError(f"{name} must be one number for {func}; got shape {np.shape(value)}.")
    return float(feature_density(sparsity, density, 1)[0, 0])
