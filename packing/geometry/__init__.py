"""Interference statistics of a packing ``W`` of shape ``(n, d)``.

A packing holds one feature vector per row. The statistics here are functions of
the cosines ``cos θ_ij = <W_i, W_j> / (|W_i| |W_j|)`` over unordered pairs
``i < j``:

* the interference moments ``M_p = Σ_{i<j} |cos θ_ij|**p`` (``p > 0``; ``p = inf``
  gives the coherence ``max_{i<j} |cos θ_ij|``),
* the number of (numerically) orthogonal pairs,
* per-feature capacity and feature dimensionality,
* the frame potential and tightness.

Everything pairwise is computed by :func:`pairwise_statistics` in one pass over
tiles of the cosine matrix, so a dictionary of 65,536 features never needs its
``n × n`` matrix in memory. Rows of zero norm have no direction: they are
treated as orthogonal to every other row (cosine 0) and get capacity 0.
"""

from .frames import capacity, dimensions_per_feature, feature_dimensionality, frame_potential, is_tight_frame
from .statistics import (
    PairStatistics,
    SignedInterference,
    coherence,
    cosine_matrix,
    default_atol,
    interference_moment,
    interference_moments,
    orthogonal_pairs,
    pairwise_statistics,
    signed_interference,
)

__all__ = [
    "PairStatistics",
    "SignedInterference",
    "pairwise_statistics",
    "signed_interference",
    "cosine_matrix",
    "interference_moment",
    "interference_moments",
    "orthogonal_pairs",
    "coherence",
    "frame_potential",
    "is_tight_frame",
    "capacity",
    "feature_dimensionality",
    "dimensions_per_feature",
    "default_atol",
]
