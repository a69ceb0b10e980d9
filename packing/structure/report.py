"""Everything the structure package reads out of one packing, in one report.

:func:`analyze_structure` validates ``W`` and its options once, normalises the
rows once, and runs the private implementations of tegum factors, shape
identification, capacities, orthogonal sets and the signature on them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._results import Savable
from .._validation import check_bool, check_packing, check_tolerance
from ..geometry import SignedInterference, signed_interference
from ..geometry.statistics import _finish
from ._scan import SIGNED_ORDERS, check_scan_memory, cross_overlap
from ._scan import scan as _scan
from .capacity import CAPACITY_TOL, FactorCapacity, _factor_capacities
from .factors import (
    INTERFERENCE_ATOL,
    NORM_THRESHOLD,
    TegumFactors,
    _check_factor_options,
    _represented,
    _tegum_factors_dense,
    _tegum_factors_of_scan,
    row_scales,
)
from .orthogonal import MAX_SETS, OrthogonalSets, _orthogonal_sets, _orthogonal_sets_of_scan
from .shapes import DROPPED, RANK_RTOL, SHAPE_TOL, ShapeMatch, _identify_shape
from .signature import SIGNATURE_ATOL, PackingSignature, _packing_signature, _signature_of_ends

#: Up to this many represented features the signature keeps whole sorted Gram rows (32 MiB at most) ...
FULL_PROFILE_ROWS = 2048
#: ... beyond, this many entries from each end of every sorted row (see :func:`packing_signature`).
PROFILE_ENTRIES = 32

__all__ = ["StructureReport", "analyze_structure"]


@dataclass(frozen=True)
class StructureReport(Savable):
    """Everything :func:`analyze_structure` found in one packing.

    Attributes
    ----------
    factors : TegumFactors
    shapes : list of ShapeMatch
        One per factor, in the order of ``factors.factors``.
    capacities : list of FactorCapacity
        One per factor.
    orthogonal : OrthogonalSets
        Over the represented features (indices into ``W``).
    signature : PackingSignature
        Of the represented features.
    interference : SignedInterference or None
        Positive and negative parts of the cosines between the represented
        features (:func:`packing.signed_interference`, orders 1, 2 and inf): a
        ReLU passes the positive part, so a tegum product of antipodal pairs
        has coherence 1 but ``interference.max_positive == 0``.
    """

    factors: TegumFactors
    shapes: list[ShapeMatch]
    capacities: list[FactorCapacity]
    orthogonal: OrthogonalSets
    signature: PackingSignature
    interference: SignedInterference | None = None

    @property
    def shape_labels(self) -> list:
        """Shape label of each factor."""
        return [s.label for s in self.shapes]

    @property
    def feature_shapes(self) -> np.ndarray:
        """Shape label of each row of ``W`` (``"dropped"`` for unrepresented rows)."""
        out = np.full(self.factors.n, DROPPED, dtype=object)
        for f, s in zip(self.factors.factors, self.shapes, strict=True):
            out[f] = s.label
        return out

    @property
    def ambiguous(self) -> bool:
        """Whether any factor is unidentified or the decomposition is not block-orthogonal."""
        return (not self.factors.block_orthogonal) or any(not s.matched for s in self.shapes)

    @property
    def description(self) -> str:
        """The detected tegum product, e.g. ``"pentagon"``, ``"triangle ⊕ digon"`` or ``"3×digon"``."""
        counts: dict = {}
        for label in self.shape_labels:
            counts[label] = counts.get(label, 0) + 1
        return " ⊕ ".join(f"{c}×{label}" if c > 1 else label for label, c in counts.items())

    def summary(self) -> str:
        """Return a short plain-text report."""
        tf = self.factors
        lines = [
            f"{tf.n} features in d={tf.d}: {len(tf.dropped)} dropped "
            f"(norm <= threshold){': ' + str(tf.dropped.tolist()) if len(tf.dropped) else ''}",
            f"tegum product: {self.description}",
            f"factor dims {list(tf.dims)} (sum {tf.total_dim} of {tf.d}); "
            f"largest cross-factor |cos| {tf.cross_overlap:.3g}, subspace overlap {tf.subspace_overlap:.3g}"
            f"{'' if tf.block_orthogonal else '  (NOT block-orthogonal)'}",
        ]
        for f, s, c in zip(tf.factors, self.shapes, self.capacities, strict=True):
            lines.append(
                f"  {s.label:<16} features {f.tolist()}  dim {c.dim}  residual {s.residual:.3g}"
                f" (nearest {s.nearest})  capacity sum {c.total:.3f}"
            )
        o = self.orthogonal
        lines.append(
            f"orthogonal pairs {o.orthogonal_pairs} of Turán bound {o.turan_bound}; largest orthogonal "
            f"set {o.largest}; maximal sets {'disjoint' if o.disjoint else 'overlapping'}"
            f"{'' if o.complete else f' (enumeration stopped after {len(o.sets)})'}"
        )
        if self.interference is not None:
            si = self.interference
            lines.append(
                f"interference: largest positive cosine {si.max_positive:.3g} (a ReLU passes it), "
                f"largest negative {si.max_negative:.3g} (a negative bias filters it)"
            )
        return "\n".join(lines)


def analyze_structure(
    W,
    *,
    atol: float = INTERFERENCE_ATOL,
    norm_threshold: float = NORM_THRESHOLD,
    shape_tol: float = SHAPE_TOL,
    signed: bool = True,
) -> StructureReport:
    """Detect the tegum factors of ``W``, their shapes, capacities and orthogonal sets.

    Parameters
    ----------
    W : array_like, shape (n, d)
    atol : float, default 0.05
        Interference tolerance (see :func:`tegum_factors`); also the orthogonality
        tolerance of :func:`orthogonal_sets`.
    norm_threshold : float, default 0.1
        Relative norm below which a feature counts as not represented.
    shape_tol : float, default 0.1
        See :func:`identify_shape`.
    signed : bool, default True
        Gauge of the signature (see :func:`packing_signature`).

    Returns
    -------
    StructureReport

    Raises
    ------
    ValueError
        If no feature is represented (all rows below the norm threshold).

    Notes
    -----
    Nothing of size ``n x n`` is built: one tiled pass over the cosines
    (:mod:`packing.structure._scan`; a second one over the tiles that hold two
    factors, for ``cross_overlap``) reads the tegum factors, the near-threshold
    count, the orthogonal pairs, the signed interference and the signature's
    profiles. Memory is ``O(n d)`` plus the tiles: a dictionary of 65,536
    latents in 1,024 dimensions (float32) needs about 1.5 GiB. float32 ``W`` is
    tiled in float32; cosines within float32 rounding of a threshold are decided
    in float64, so the factors and counts are those of the float64 computation.
    At dictionary scale:

    * the maximal orthogonal sets are enumerated while a graph of the
      orthogonal pairs needs at most 1 GiB (about 1.8 million pairs); beyond
      that ``orthogonal.sets`` holds one maximal set grown greedily
      (``complete=False``, ``largest`` a lower bound), while
      ``orthogonal_pairs`` and ``disjoint`` stay exact;
    * beyond 2,048 represented features the signature keeps the 32 smallest and
      32 largest entries of each sorted Gram row (``signature.profile == 32``;
      see :func:`packing_signature`).

    Examples
    --------
    An octahedron is three mutually orthogonal antipodal pairs:

    >>> W = np.vstack([np.eye(3), -np.eye(3)])
    >>> r = analyze_structure(W)
    >>> r.description, r.orthogonal.largest, r.orthogonal.disjoint
    ('3×digon', 3, False)
    >>> analyze_structure(W, shape_tol=-1)
    Traceback (most recent call last):
    ...
    ValueError: shape_tol must be >= 0.0; got -1.0.
    >>> analyze_structure(W, norm_threshold=-1)
    Traceback (most recent call last):
    ...
    ValueError: norm_threshold must be >= 0.0; got -1.0.
    """
    W = check_packing(W)
    shape_tol = check_tolerance(shape_tol, "shape_tol")
    options = _check_factor_options(atol, norm_threshold)
    signed = check_bool(signed, "signed")
    atol, _, rank_rtol, orth_tol = options
    n, d = W.shape
    check_scan_memory("analyze_structure", n, d, W.itemsize, profile=PROFILE_ENTRIES)
    U, norms = row_scales(W)
    kept, dropped = _represented(norms, norm_threshold, relative=True)
    if not kept.size:
        raise ValueError(
            f"W has no represented feature (every row norm <= {norm_threshold} times the largest, "
            f"which is {float(norms.values.max())})."
        )
    Uk = U[kept] if kept.size < n else U
    Ut = Uk.astype(np.float32) if W.dtype == np.float32 else Uk
    profile = None if kept.size <= FULL_PROFILE_ROWS else PROFILE_ENTRIES
    scan = _scan(Ut, Uk, atol, profile=profile, profile_signed=signed)
    tf = _tegum_factors_of_scan(
        U, Ut, norms, kept, dropped, scan.labels, scan.near, cross_overlap, atol, rank_rtol, orth_tol
    )
    shapes = [_identify_shape(U[f], shape_tol, RANK_RTOL) for f in tf.factors]
    caps = _factor_capacities(W, tf, CAPACITY_TOL, scales=(U, norms.w, norms.e))
    orth = _orthogonal_sets_of_scan(Uk, scan, atol, MAX_SETS)
    orth = replace(orth, sets=tuple(kept[s] for s in orth.sets))  # indices into W
    if profile is None:
        signature = _packing_signature(W[kept], signed, True, SIGNATURE_ATOL)
    else:
        low, high = scan.profile_low, scan.profile_high
        signature = _signature_of_ends(Uk, low, high, signed, True, SIGNATURE_ATOL, profile)
    interference = _finish(scan.interference, SIGNED_ORDERS, kept.size, "blocked").signed
    return StructureReport(tf, shapes, caps, orth, signature, interference)


def _analyze_structure_dense(W, atol, norm_threshold, shape_tol, signed) -> StructureReport:
    """:func:`analyze_structure` through dense ``n x n`` matrices (checked float64 ``W``, options checked).

    The implementation before the tiled pass, kept as the independent reference
    the tiled path is tested and benchmarked against (memory about ``90 n²`` bytes).
    """
    options = _check_factor_options(atol, norm_threshold)
    U, norms = row_scales(W)
    tf = _tegum_factors_dense(U, norms, *options)
    shapes = [_identify_shape(U[f], shape_tol, RANK_RTOL) for f in tf.factors]
    caps = _factor_capacities(W, tf, CAPACITY_TOL)
    kept = np.setdiff1d(np.arange(tf.n), tf.dropped)
    orth = _orthogonal_sets(U[kept], atol, MAX_SETS, "analyze_structure")
    orth = replace(orth, sets=tuple(kept[s] for s in orth.sets))
    signature = _packing_signature(W[kept], signed, True, SIGNATURE_ATOL)
    interference = signed_interference(U[kept], p=SIGNED_ORDERS, method="dense")
    return StructureReport(tf, shapes, caps, orth, signature, interference)
