"""Sparse autoencoders: getting a packing back from activations, and how well it comes back.

* :mod:`~packing.sae.data`: activations with known truth: :func:`sparse_activations`
  (sparse codes times any packing) and :func:`toy_model_activations` (the hidden
  layer of a trained toy model), both as :class:`SparseActivations`.
* :mod:`~packing.sae.trainer`: :func:`train_sae`, L1 / TopK / BatchTopK sparse
  autoencoders in numpy on the blocked kernel of :mod:`packing.train` (hand-derived
  gradients in ``_kernel``), with dead-latent detection, the auxiliary loss of Gao et
  al. (2024) and resampling; :func:`sae_loss`, :func:`sae_encode`.
* :mod:`~packing.sae.metrics`: :func:`recovery_metrics`, the field's conventions in
  one place (mean max cosine both ways, Hungarian matching and its MCC, fraction
  recovered, dead and duplicate latents, shrinkage, explained variance, L0, and the
  learned dictionary's geometry beside the truth's); :func:`svd_dictionary`, the
  SVD baseline.
"""

from .data import SparseActivations, feature_frequencies, sparse_activations, toy_model_activations
from .metrics import (
    GeometrySummary,
    RecoveryMetrics,
    SVDResult,
    geometry_summary,
    recovery_metrics,
    svd_dictionary,
)
from .trainer import SAEResult, sae_encode, sae_loss, train_sae

__all__ = [
    "SparseActivations",
    "feature_frequencies",
    "sparse_activations",
    "toy_model_activations",
    "SAEResult",
    "sae_encode",
    "sae_loss",
    "train_sae",
    "GeometrySummary",
    "RecoveryMetrics",
    "SVDResult",
    "geometry_summary",
    "recovery_metrics",
    "svd_dictionary",
]
