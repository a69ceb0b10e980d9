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
from .capacity import CAPACITY_TOL, FactorCapacity, _factor_capacities
from .factors import (
    FACTOR_BYTES_PER_PAIR,
    INTERFERENCE_ATOL,
    NORM_THRESHOLD,
    TegumFactors,
    _check_factor_options,
    _tegum_factors,
    check_pairwise_memory,
    row_scales,
)
from .orthogonal import MAX_SETS, OrthogonalSets, _orthogonal_sets
from .shapes import DROPPED, RANK_RTOL, SHAPE_TOL, ShapeMatch, _identify_shape
from .signature import SIGNATURE_ATOL, SIGNATURE_BYTES_PER_PAIR, PackingSignature, _packing_signature

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
    """

    factors: TegumFactors
    shapes: list[ShapeMatch]
    capacities: list[FactorCapacity]
    orthogonal: OrthogonalSets
    signature: PackingSignature

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
    W = check_packing(W, dtype=np.float64)
    shape_tol = check_tolerance(shape_tol, "shape_tol")
    options = _check_factor_options(atol, norm_threshold)
    signed = check_bool(signed, "signed")
    atol = options[0]
    check_pairwise_memory(
        "analyze_structure", *W.shape, per_pair=FACTOR_BYTES_PER_PAIR + SIGNATURE_BYTES_PER_PAIR
    )
    U, norms = row_scales(W)
    tf = _tegum_factors(U, norms, *options)
    if not tf.factors:
        raise ValueError(
            f"W has no represented feature (every row norm <= {norm_threshold} times the largest, "
            f"which is {float(tf.norms.max())})."
        )
    shapes = [_identify_shape(U[f], shape_tol, RANK_RTOL) for f in tf.factors]
    caps = _factor_capacities(W, tf, CAPACITY_TOL)
    kept = np.setdiff1d(np.arange(tf.n), tf.dropped)
    orth = _orthogonal_sets(U[kept], atol, MAX_SETS, "analyze_structure")
    orth = replace(orth, sets=tuple(kept[s] for s in orth.sets))  # indices into W
    signature = _packing_signature(W[kept], signed, True, SIGNATURE_ATOL)
    return StructureReport(tf, shapes, caps, orth, signature)
