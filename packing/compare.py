"""Compare a learned packing, side by side, with the packings theory predicts.

For a learned ``W`` (or a batch of instances) :func:`compare_packings` builds one
row per packing:

* ``learned``: the represented features of ``W`` (dropped ones are counted);
* ``ideal tegum``: the tegum product of the ideal shapes matched to the detected
  factors (:func:`packing.analyze_structure`), same partition, exact shapes;
* ``optimal partition p=…``: the tegum product the analytic module predicts
  optimal for the same ``n`` and ``d`` at each order ``p`` (identical
  partitions for several ``p`` share one row);
* ``optimizer p=inf``: the best packing :func:`packing.optimize_packing` finds
  within a small time budget;
* ``overlapping orthogonal sets`` and ``random``: the two unstructured references;

with, for each, the interference moments ``Σ_{i<j} |cos|**p`` for
``p ∈ {1, 2, 4}``, the coherence (``p = ∞``), the number of orthogonal pairs,
the gap of the coherence to the best proven lower bound, and the feature
dimensionalities. It also reports the orders ``p`` (if any) at which the
detected partition is the predicted optimum. The result prints as a plain-text
table and exports to CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from ._results import Savable
from ._rows import row_norms, span, unit_rows
from ._validation import (
    check_choices,
    check_float,
    check_instance,
    check_norm_threshold,
    check_packing,
    check_packings,
    check_ps,
    check_seed_sequence,
    check_tolerance,
    child_rng,
    child_seed,
)
from .bounds import lower_bound
from .constructions import overlapping_orthogonal_sets, random_packing, tegum_product
from .geometry import feature_dimensionality, pairwise_statistics
from .optimize import optimize_packing
from .partition import block_cost_table, optimal_partition
from .structure import (
    INTERFERENCE_ATOL,
    NORM_THRESHOLD,
    SHAPE_TOL,
    StructureReport,
    analyze_structure,
    shape_template,
    tegum_factors,
)

__all__ = [
    "ComparisonRow",
    "ModelComparison",
    "Comparison",
    "compare_packings",
    "ideal_tegum_product",
    "DEFAULT_P_GRID",
]

#: Orders at which the optimal partition is searched for the learned one.
DEFAULT_P_GRID = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, np.inf)
_REFERENCES = ("ideal", "partition", "optimizer", "overlapping", "random")
#: Keys of the independent random streams, one per consumer (and per number of features n).
_PARTITION, _OPTIMIZER, _OVERLAPPING, _RANDOM = range(4)


def _fmt_p(p: float) -> str:
    return "inf" if np.isinf(p) else f"{p:g}"


def _partition_text(blocks) -> str:
    """Block sizes as ``n_b/d_b`` terms, largest first, repeats counted: ``"3/2 + 2×2/1"``."""
    if not blocks:
        return "-"
    counts: dict = {}
    for block in sorted(blocks, key=lambda t: (-t[0], -t[1])):
        counts[block] = counts.get(block, 0) + 1
    return " + ".join(f"{c}×{a}/{b}" if c > 1 else f"{a}/{b}" for (a, b), c in counts.items())


@dataclass(frozen=True)
class ComparisonRow(Savable):
    """One packing of a comparison.

    Attributes
    ----------
    name : str
        ``"learned"``, ``"ideal tegum"``, ``"optimal partition p=…"``,
        ``"optimizer p=inf"``, ``"overlapping orthogonal sets"`` or ``"random"``.
    instance : int or None
        Instance of a batch the row belongs to (``None`` for shared references).
    n, d : int
        Features (represented ones, for the learned row) and dimension.
    partition : str
        Block sizes ``n_b/d_b`` of its tegum factors as detected by
        :func:`packing.tegum_factors` with the comparison's ``atol`` (``"-"`` if
        they are not block-orthogonal); ``k×`` counts repeated blocks.
    moments : dict
        ``{p: Σ_{i<j} |cos θ_ij|**p}``; ``p = inf`` holds the coherence.
    orthogonal_pairs : int
        Pairs with ``|cos| <= atol``.
    coherence, lower_bound, gap : float
        Coherence, best proven lower bound for ``(n, d)``, and their difference
        (NaN when ``n < 2``).
    dim_mean, dim_min, dim_max : float
        Feature dimensionalities over the row's features.
    note : str
        Extra information (shapes, dropped features, reference parameters).
    max_positive : float
        Largest positive cosine ``max_{i<j} max(cos θ_ij, 0)``
        (:func:`packing.signed_interference`): the interference a ReLU passes.
        An antipodal pair has coherence 1 but ``max_positive`` 0.
    positive_moment : float
        ``Σ_{i<j} max(cos θ_ij, 0)``: the first moment of the positive part.

    The moments, the coherence and the gap to the bound are line-packing
    quantities (``|cos θ|``, signs ignored): they score unsigned lines, not the
    loss of a ReLU model (see :class:`ModelComparison` for that).
    """

    name: str
    instance: int | None
    n: int
    d: int
    partition: str
    moments: dict
    orthogonal_pairs: int
    coherence: float
    lower_bound: float
    gap: float
    dim_mean: float
    dim_min: float
    dim_max: float
    note: str = ""
    max_positive: float = math.nan
    positive_moment: float = math.nan

    def record(self) -> dict:
        """Return the row as a flat dict (moments as ``M_p`` keys) for CSV/JSON."""
        out = asdict(self)
        moments = out.pop("moments")
        note = out.pop("note")
        for p, v in moments.items():
            out[f"M_{_fmt_p(p)}"] = v
        out["note"] = note
        return out


@dataclass(frozen=True)
class ModelComparison(Savable):
    """One learned instance of the ReLU toy model against the geometry predicted for it.

    Attributes
    ----------
    instance : int or None
    sparsity : float
        The data's sparsity (the probability a feature is zero; its mean if
        features differ).
    learned : str
        Shapes :func:`packing.analyze_structure` detects in the learned ``W``.
    learned_loss : float
        :func:`packing.expected_loss` of the learned ``(W, b)``; with no ``b``
        given, of the learned directions with norms and biases fitted from the
        learned norms (:func:`packing.fit_geometry`: at most the model's own).
    predicted : str
        :attr:`GeometryPrediction.description` of :func:`packing.predict_geometry`.
    predicted_loss : float
    runner_up : str
        The best prediction with a different block composition (``""`` if none).
    runner_up_loss : float
    local_minimum : bool
        The learned loss lies above the predicted optimum by more than
        ``tolerance`` (relative) plus both error bounds: training stopped in a
        worse configuration than the predicted one.
    gap : float
        ``learned_loss − predicted_loss`` (negative: the learned model beats the
        prediction, whose candidates it is not restricted to).
    learned_represented, predicted_represented : int
        Represented features of each.
    learned_max_positive : float
        Largest positive dot product ``W_i·W_j`` of the learned weights
        (:func:`packing.signed_interference` with ``weighted=True``).
    biases_fitted : bool
        True when no ``b`` was given and the learned loss used fitted biases.
    """

    instance: int | None
    sparsity: float
    learned: str
    learned_loss: float
    predicted: str
    predicted_loss: float
    runner_up: str
    runner_up_loss: float
    local_minimum: bool
    gap: float
    learned_represented: int
    predicted_represented: int
    learned_max_positive: float
    biases_fitted: bool = False

    def record(self) -> dict:
        """Return the comparison as a flat dict."""
        return asdict(self)


#: Relative tolerance of the local-minimum flag (besides the expected losses' error bounds).
LOCAL_MINIMUM_RTOL = 1e-3


def model_table(model: list) -> str:
    """Return the model comparisons as an aligned text table (the ReLU model's own terms)."""
    head = ["instance", "S", "learned", "E[loss]", "predicted", "E[loss]", "runner-up", "E[loss]", "minimum"]
    table = [head]
    for m in model:
        table.append(
            [
                "-" if m.instance is None else str(m.instance),
                f"{m.sparsity:.3g}",
                m.learned or "-",
                f"{m.learned_loss:.5g}" + ("*" if m.biases_fitted else ""),
                m.predicted or "-",
                f"{m.predicted_loss:.5g}",
                m.runner_up or "-",
                "n/a" if math.isinf(m.runner_up_loss) else f"{m.runner_up_loss:.5g}",
                "local" if m.local_minimum else "global (as predicted)",
            ]
        )
    widths = [max(len(row[c]) for row in table) for c in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(
        0, "ReLU toy model, expected loss (packing.expected_loss) of the learned and predicted geometry:"
    )
    if any(m.biases_fitted for m in model):
        lines.append("* no biases given: the learned directions with fitted norms and biases")
    return "\n".join(lines)


@dataclass(frozen=True)
class Comparison(Savable):
    """Side-by-side comparison of learned packings with predicted ones.

    Attributes
    ----------
    rows : list of ComparisonRow
    ps : tuple of float
        Moment orders of every row.
    predicted_p : dict
        ``{instance: [p, ...]}``: orders of ``p_grid`` at which the learned
        partition is the one :func:`packing.optimal_partition` returns (empty
        list: at none).
    p_grid : tuple of float
    reports : list of StructureReport
        The structure detected in each instance.
    atol : float
        Orthogonality tolerance of ``orthogonal_pairs``.
    tied_p : dict
        ``{instance: [p, ...]}``: further orders at which the learned partition's
        loss (same Welch block-cost table) equals the optimum, but
        :func:`packing.optimal_partition` breaks the tie for another partition
        (fewer blocks). At ``p = 2`` every partition into tight frames ties.
    model : list of ModelComparison
        One per instance, in the ReLU toy model's own terms (expected loss of the
        learned and the predicted geometry), when the data's ``sparsity`` (or
        ``density``) was given; empty otherwise.
    """

    rows: list
    ps: tuple
    predicted_p: dict
    p_grid: tuple
    reports: list = field(repr=False)
    atol: float = INTERFERENCE_ATOL
    tied_p: dict = field(default_factory=dict)
    model: list = field(default_factory=list)

    def records(self) -> list[dict]:
        """Return one flat dict per row."""
        return [r.record() for r in self.rows]

    def to_csv(self) -> str:
        """Return the table as CSV text (one line per row, header first)."""
        records = self.records()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buf.getvalue()

    def to_json(self, **kwargs) -> str:
        """Return rows, predicted orders and parameters as JSON (``inf`` written as ``"inf"``)."""

        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return v

        payload = {
            "ps": [_fmt_p(p) for p in self.ps],
            "p_grid": [_fmt_p(p) for p in self.p_grid],
            "predicted_p": {str(k): [_fmt_p(p) for p in v] for k, v in self.predicted_p.items()},
            "tied_p": {str(k): [_fmt_p(p) for p in v] for k, v in self.tied_p.items()},
            "rows": [{k: clean(v) for k, v in r.items()} for r in self.records()],
            "model": [{k: clean(v) for k, v in m.record().items()} for m in self.model],
        }
        return json.dumps(payload, **kwargs)

    def to_text(self) -> str:
        """Return the comparison as an aligned plain-text table."""
        head = ["packing", "n/d", "partition"]
        head += [f"M_{_fmt_p(p)}" if np.isfinite(p) else "coherence" for p in self.ps]
        head += ["orth pairs", "gap to bound", "dim mean [min,max]", "pos max"]
        table = [head]
        for r in self.rows:
            name = r.name if r.instance is None else f"[{r.instance}] {r.name}"
            cells = [name, f"{r.n}/{r.d}", r.partition]
            cells += [f"{r.moments[p]:.4g}" for p in self.ps]
            gap = "n/a" if math.isnan(r.gap) else f"{r.gap:.3g}"
            cells += [str(r.orthogonal_pairs), gap, f"{r.dim_mean:.3f} [{r.dim_min:.2f},{r.dim_max:.2f}]"]
            cells += ["n/a" if math.isnan(r.max_positive) else f"{r.max_positive:.3g}"]
            table.append(cells)
        widths = [max(len(row[c]) for row in table) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(
            "M_p, coherence, gap to bound and the predicted optima below are line-packing quantities "
            "(|cos|^p, signs ignored); pos max is the largest positive cosine, the interference a ReLU "
            "passes (an antipodal pair has 0)"
        )
        for inst, ps in self.predicted_p.items():
            where = ", ".join(_fmt_p(p) for p in ps) if ps else "none of the grid"
            prefix = "" if inst is None else f"[{inst}] "
            ties = self.tied_p.get(inst)
            tie = f"; ties it (another partition chosen) at p = {', '.join(map(_fmt_p, ties))}"
            tie = tie if ties else ""
            lines.append(f"{prefix}learned partition is the predicted optimum at p = {where}{tie}")
        notes = [(r.instance, r.name, r.note) for r in self.rows if r.note]
        for inst, name, note in notes:
            lines.append(f"{'' if inst is None else f'[{inst}] '}{name}: {note}")
        if self.model:
            lines.append("")
            lines.append(model_table(self.model))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _detected_partition(W, atol) -> str:
    """Partition text of the tegum factors of W (``"-"`` if they are not block-orthogonal)."""
    tf = tegum_factors(W, atol=atol, norm_threshold=0.0)
    return _partition_text(list(zip(tf.sizes, tf.dims, strict=True))) if tf.block_orthogonal else "-"


def _row(name, W, ps, atol, *, instance=None, partition=None, note="") -> ComparisonRow:
    n, d = W.shape
    if partition is None:
        partition = _detected_partition(W, atol)
    stats = pairwise_statistics(W, p=tuple(dict.fromkeys((*ps, 1.0))), atol=atol, signed=True)
    coh = stats.coherence
    bound = lower_bound(n, d) if n >= 2 else math.nan
    D = feature_dimensionality(W)
    return ComparisonRow(
        name=name,
        instance=instance,
        n=n,
        d=d,
        partition=partition,
        moments={float(p): float(stats.moments[float(p)]) for p in ps},
        orthogonal_pairs=int(stats.orthogonal_pairs),
        coherence=float(coh),
        lower_bound=float(bound),
        gap=float(coh - bound) if n >= 2 else math.nan,
        dim_mean=float(D.mean()),
        dim_min=float(D.min()),
        dim_max=float(D.max()),
        note=note,
        max_positive=float(stats.signed.max_positive),
        positive_moment=float(stats.signed.positive[1.0]),
    )


def ideal_tegum_product(W, report=None, **kwargs) -> np.ndarray:
    """Replace each detected factor of ``W`` by its matched ideal shape; keep the partition.

    Each identified factor becomes its ideal shape (unit vectors), with every
    learned feature mapped to the template point it was matched to; factors
    whose shape was not identified keep their own normalised vectors. Factors
    are placed in mutually orthogonal coordinate blocks of ``R^d`` (zero-padded
    to ``d`` columns). Row ``i`` corresponds to the ``i``-th represented row of
    ``W`` (dropped rows are left out), so the two can be compared row by row.

    Parameters
    ----------
    W : array_like, shape (n, d)
    report : StructureReport, optional
        From :func:`packing.analyze_structure` (computed with ``**kwargs`` if omitted).

    Returns
    -------
    ndarray, shape (n_represented, d)

    Raises
    ------
    ValueError
        If the factors span more than ``d`` dimensions together (not a tegum product).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W = np.vstack([np.eye(3), -np.eye(3)]) + 0.01 * rng.normal(size=(6, 3))
    >>> ideal = ideal_tegum_product(W)
    >>> (ideal @ ideal.T).round(3)
    array([[ 1.,  0.,  0., -1.,  0.,  0.],
           [ 0.,  1.,  0.,  0., -1.,  0.],
           [ 0.,  0.,  1.,  0.,  0., -1.],
           [-1.,  0.,  0.,  1.,  0.,  0.],
           [ 0., -1.,  0.,  0.,  1.,  0.],
           [ 0.,  0., -1.,  0.,  0.,  1.]])
    """
    W = check_packing(W).astype(np.float64)
    if report is None:
        report = analyze_structure(W, **kwargs)
    else:
        if kwargs:
            raise TypeError(
                f"pass either report or the options of analyze_structure, not both; got {sorted(kwargs)}."
            )
        check_instance(report, StructureReport, "report", what="a StructureReport from analyze_structure(W)")
        if (report.factors.n, report.factors.d) != W.shape:
            raise ValueError(
                f"report must describe W, a {W.shape} packing; got the report of a "
                f"{(report.factors.n, report.factors.d)} packing."
            )
    return _ideal_tegum_product(W, report)


def _ideal_tegum_product(W: np.ndarray, report) -> np.ndarray:
    tf = report.factors
    blocks = []
    for f, shape, k in zip(tf.factors, report.shapes, tf.dims, strict=True):
        if shape.matched:
            T = shape_template(shape.family, shape.n_points)
            blocks.append(T[np.argsort(shape.order)])  # row i of the factor -> its template point
        else:
            U = unit_rows(W[f])
            blocks.append(U @ span(U, max(k, 1)))
    total = sum(B.shape[1] for B in blocks)
    d = W.shape[1]
    if total > d:
        raise ValueError(
            f"W's factors span {total} dimensions together, more than d = {d}: it is not a tegum "
            f"product at this tolerance (raise atol or inspect report.factors.subspace_overlap)."
        )
    T = np.hstack([tegum_product(*blocks), np.zeros((sum(len(B) for B in blocks), d - total))])
    kept = np.setdiff1d(np.arange(tf.n), tf.dropped)
    position = np.searchsorted(kept, np.concatenate(tf.factors))
    out = np.empty_like(T)
    out[position] = T
    return out


def _canonical(blocks) -> tuple:
    """Sorted ``(n_b, d_b)`` with orthonormal blocks (``n_b <= d_b``) split into dedicated ``(1, 1)``."""
    out = []
    for m, D in blocks:
        out.extend([(1, 1)] * int(m) if m <= D else [(int(m), int(D))])
    return tuple(sorted(out, reverse=True))


def _predicted(n: int, d: int, p: float, seed: np.random.SeedSequence):
    """Return ``(blocks, W)`` of the partition :func:`packing.optimal_partition` predicts at ``p``, built."""
    res = optimal_partition(n, d, p, build=True, rng=seed)
    return _canonical(res.blocks), np.asarray(res.W)


def _ties(loss: float, best: float) -> bool:
    """Whether a partition's table loss equals the optimum (relative 1e-9)."""
    return loss <= best * (1 + 1e-9) + 1e-12


def _optimum(n: int, d: int, p: float):
    """Return ``(blocks, loss, loss_of)``: the optimal partition, its loss, and the loss of any partition."""
    res = optimal_partition(n, d, p, build=False)
    table = block_cost_table(n, d, p)

    def loss_of(blocks):
        values = [table[m, D] for m, D in blocks]
        return max(values) if np.isinf(p) else sum(values)

    return _canonical(res.blocks), res.loss, loss_of


def _references(n, d, ps, atol, include, partition_ps, seed, budget):
    """Rows of the shared references for ``n`` features in ``d`` dims.

    Each consumer draws from its own stream ``(consumer, n)`` of ``seed``: the
    optimizer stops on a wall-clock budget, so how much it draws depends on the
    machine, and no other row may depend on that.
    """
    rows = []
    if "partition" in include:
        seen = {}
        for p in partition_ps:
            blocks, Wp = _predicted(n, d, p, child_seed(seed, _PARTITION, n))
            seen.setdefault(blocks, ([], Wp))[0].append(p)
        for blocks, (orders, Wp) in seen.items():
            label = ",".join(_fmt_p(p) for p in orders)
            rows.append(_row(f"optimal partition p={label}", Wp, ps, atol, partition=_partition_text(blocks)))
    if "optimizer" in include and n >= 2:
        res = optimize_packing(n, d, p=np.inf, rng=child_rng(seed, _OPTIMIZER, n), budget=budget)
        rows.append(
            _row("optimizer p=inf", res.W, ps, atol, note=f"budget {budget:g}s, {res.stopping_reason}")
        )
    if "overlapping" in include:
        Wo = overlapping_orthogonal_sets(n, d, rng=child_rng(seed, _OVERLAPPING, n))
        rows.append(_row("overlapping orthogonal sets", Wo, ps, atol))
    if "random" in include:
        rows.append(_row("random", random_packing(n, d, rng=child_rng(seed, _RANDOM, n)), ps, atol))
    return rows


def compare_packings(
    W,
    *,
    ps=(1.0, 2.0, 4.0, np.inf),
    partition_ps=(1.0, 2.0, 4.0, np.inf),
    p_grid=DEFAULT_P_GRID,
    include=_REFERENCES,
    atol: float = INTERFERENCE_ATOL,
    norm_threshold: float = NORM_THRESHOLD,
    shape_tol: float = SHAPE_TOL,
    optimizer_budget: float = 1.0,
    rng=None,
    b=None,
    sparsity=None,
    density=None,
    importance=1.0,
) -> Comparison:
    """Compare learned packing(s) with ideal, predicted, optimized and random packings.

    Parameters
    ----------
    W : array_like, shape (n, d) or (instances, n, d)
        Learned weights, one row per feature (transpose a PyTorch
        ``nn.Linear`` weight first: :func:`packing.from_torch_layout`).
    ps : sequence of float, default (1, 2, 4, inf)
        Moment orders of every row (``inf``: coherence).
    partition_ps : sequence of float, default (1, 2, 4, inf)
        Orders for which the analytic optimal partition gets a row.
    p_grid : sequence of float
        Orders searched for the one(s) at which the learned partition is optimal
        (empty: skip the search).
    include : str or sequence of str
        Which references to build, among ``"ideal"``, ``"partition"``,
        ``"optimizer"``, ``"overlapping"``, ``"random"`` (a single name is one
        reference).
    atol : float, default 0.05
        Interference / orthogonality tolerance (structure detection and the
        orthogonal-pair counts of every row).
    norm_threshold : float, default 0.1
        Relative norm below which a learned feature is dropped.
    shape_tol : float, default 0.1
        Shape-matching tolerance (see :func:`packing.identify_shape`).
    optimizer_budget : float > 0, default 1.0
        Seconds for :func:`packing.optimize_packing` per distinct ``n``.
    rng : None, int or numpy.random.Generator
        Seeds independent streams (``numpy.random.SeedSequence`` children), one
        per consumer and distinct ``n``: the optimizer, the blocks the
        partition rows build, the overlapping and the random references. The
        optimizer draws until its wall-clock budget ends, so on its own stream
        it cannot change the other rows: with an int seed they are the same
        on every machine and for every ``optimizer_budget``.
    b : array_like, shape (n,) or (instances, n), optional
        The learned biases of a ReLU toy model ``ReLU(x W Wᵀ + b)``, for the
        model comparison.
    sparsity, density : float or array_like, optional
        The data the model was trained on (as in :func:`packing.train_toy_model`:
        a scalar, one value per instance, or ``(instances, n)``). Given either,
        the comparison adds, per instance, the model's own terms
        (:class:`ModelComparison`): the predicted geometry
        (:func:`packing.predict_geometry`), the expected loss of the learned and
        the predicted geometry and of the runner-up, and whether the learned
        model sits in a local minimum.
    importance : float or array_like
        Feature importances of the model (scalar, one per feature, or
        ``(instances, n)``).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> cmp = compare_packings(np.c_[np.cos(t), np.sin(t)], include=("ideal", "random"), p_grid=(), rng=0)
    >>> [(r.name, r.partition, round(r.coherence, 3)) for r in cmp.rows]
    [('learned', '5/2', 0.809), ('ideal tegum', '5/2', 0.809), ('random', '5/2', 0.953)]

    A learned 3×digon (6 features in 3 dims, sparse data): coherence 1 as lines,
    but no positive interference, and the ReLU model's predicted optimum.

    >>> fit = fit_geometry(np.vstack([np.eye(3), -np.eye(3)])[[0, 3, 1, 4, 2, 5]], sparsity=0.9)
    >>> cmp = compare_packings(fit.W, include=("ideal",), p_grid=(), b=fit.b, sparsity=0.9)
    >>> learned = cmp.rows[0]
    >>> learned.coherence, learned.max_positive
    (1.0, 0.0)
    >>> m = cmp.model[0]
    >>> m.learned, m.predicted, m.local_minimum, abs(m.gap) < 1e-6
    ('3×digon', '3×digon', False, True)
    >>> compare_packings(np.eye(2), include=("best",))
    Traceback (most recent call last):
    ...
    ValueError: include must name references among ('ideal', 'partition', 'optimizer', \
'overlapping', 'random'); got 'best'.
    """
    arr = check_packings(W, "W")
    batch = arr.ndim == 3
    Ws = list(arr) if batch else [arr]
    ps, _ = check_ps(ps, "ps")
    partition_ps, _ = check_ps(partition_ps, "partition_ps")
    if isinstance(p_grid, Iterable) and not isinstance(p_grid, str | bytes | np.ndarray):
        p_grid = tuple(p_grid)  # a generator is read once
    empty_grid = isinstance(p_grid, tuple | np.ndarray) and np.size(p_grid) == 0
    p_grid = () if empty_grid else check_ps(p_grid, "p_grid")[0]
    include = check_choices(include, "include", _REFERENCES, what="references")
    atol = check_tolerance(atol, "atol")
    norm_threshold = check_norm_threshold(norm_threshold)
    shape_tol = check_tolerance(shape_tol, "shape_tol")
    optimizer_budget = check_float(optimizer_budget, "optimizer_budget", minimum=0.0, strict_min=True)
    seed = check_seed_sequence(rng)
    data = _model_inputs(arr if batch else arr[None], b, sparsity, density, importance)
    rows, reports, predicted, tied, cache, grid = [], [], {}, {}, {}, {}
    refs = tuple(r for r in include if r != "ideal")
    for k, Wk in enumerate(Ws):
        inst = k if batch else None
        report = analyze_structure(Wk, atol=atol, norm_threshold=norm_threshold, shape_tol=shape_tol)
        reports.append(report)
        tf = report.factors
        kept = np.setdiff1d(np.arange(tf.n), tf.dropped)
        Wl = Wk[kept]
        n, d = Wl.shape
        blocks = tuple(sorted(zip(tf.sizes, tf.dims, strict=True), reverse=True))
        part = _partition_text(blocks) if tf.block_orthogonal else "-"
        note = f"{len(tf.dropped)} dropped; shapes: {report.description}"
        ideal = None
        if "ideal" in include:
            try:
                ideal = _ideal_tegum_product(Wk.astype(np.float64), report)
            except ValueError as exc:
                note += f"; no ideal tegum row: {exc}"
        rows.append(_row("learned", Wl, ps, atol, instance=inst, partition=part, note=note))
        if ideal is not None:
            rows.append(_row("ideal tegum", ideal, ps, atol, instance=inst, partition=part))
        if n not in cache:
            cache[n] = _references(n, d, ps, atol, refs, partition_ps, seed, optimizer_budget)
            for p in p_grid:
                grid[n, p] = _optimum(n, d, p)
        fits = tf.block_orthogonal and tf.total_dim <= d
        predicted[inst] = [p for p in p_grid if fits and grid[n, p][0] == blocks]
        tied[inst] = [
            p
            for p in p_grid
            if fits and p not in predicted[inst] and _ties(grid[n, p][2](blocks), grid[n, p][1])
        ]
    # shared references: once per distinct n (labelled with n when a batch mixes sizes)
    sizes = sorted(cache)
    for n in sizes:
        for r in cache[n]:
            rows.append(r if len(sizes) == 1 else ComparisonRow(**{**asdict(r), "name": f"{r.name} (n={n})"}))
    model = _model_rows(Ws, reports, batch, *data) if data is not None else []
    return Comparison(rows, tuple(ps), predicted, tuple(p_grid), reports, atol, tied, model)


def _model_inputs(W3, b, sparsity, density, importance):
    """Return validated ``(b, density, importance)`` tables for the model comparison (None: no data given)."""
    from .theory._inputs import check_weights, feature_density, feature_table, instance_tables

    if sparsity is None and density is None:
        if b is not None:
            raise ValueError(
                "b must come with the data it was trained on: give sparsity (or density) as well; "
                "got b without either."
            )
        return None
    n_inst, n = W3.shape[:2]
    dens = feature_density(sparsity, density, n)
    imp = feature_table(importance, "importance", n, one_d="feature", lo=0.0)
    name = "sparsity" if density is None else "density"
    t = instance_tables(n_inst, **{name: dens, "importance": imp})
    if b is not None:
        b = check_weights(W3, b)[1]
    return b, t[name], t["importance"]


def _model_rows(Ws, reports, batch, b, dens, imp) -> list:
    """One :class:`ModelComparison` per instance (predictions cached per distinct data)."""
    from .geometry import signed_interference
    from .theory import expected_loss, fit_geometry, predict_geometry

    out, cache = [], {}
    for k, (Wk, report) in enumerate(zip(Ws, reports, strict=True)):
        n, d = Wk.shape
        dk, ik = dens[k], imp[k]
        key = (n, d, dk.tobytes(), ik.tobytes())
        if key not in cache:
            cache[key] = predict_geometry(n, d, density=dk[None], importance=ik)
        pred = cache[key]
        Wk = Wk.astype(np.float64)
        if b is None:
            fit = fit_geometry(
                Wk, density=dk[None], importance=ik, share=False, init_norms=row_norms(Wk)
            )
            loss, bound = fit.loss, fit.error_bound
        else:
            ev = expected_loss(Wk, b[k], density=dk[None], importance=ik[None], return_details=True)
            loss, bound = float(ev.loss[0]), float(ev.error_bound[0])
        runner = pred.runner_up
        slack = LOCAL_MINIMUM_RTOL * abs(pred.loss) + bound + pred.error_bound
        out.append(
            ModelComparison(
                instance=k if batch else None,
                sparsity=float(1.0 - dk.mean()),
                learned=report.description,
                learned_loss=float(loss),
                predicted=pred.description,
                predicted_loss=float(pred.loss),
                runner_up="" if runner is None else runner.description,
                runner_up_loss=math.inf if runner is None else float(runner.loss),
                local_minimum=bool(loss > pred.loss + slack),
                gap=float(loss - pred.loss),
                learned_represented=int(report.factors.n - len(report.factors.dropped)),
                predicted_represented=int(pred.n_represented),
                learned_max_positive=float(signed_interference(Wk, p=[1.0], weighted=True).max_positive)
                if n > 1
                else 0.0,
                biases_fitted=b is None,
            )
        )
    return out
