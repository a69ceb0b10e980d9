"""Torch-free numpy trainers for the superposition toy models.

* :func:`train_toy_model`: the ReLU-output and linear models of Elhage et al. (2022),
  many instances (sparsities, importances, seeds) in one vectorized run.
* :func:`sample_toy_batch`, :func:`toy_model_loss`: the data and the loss (with gradients).

Every trainer has hand-derived gradients, in-place Adam / AdamW / SGD, constant,
linear or cosine schedules, float32 by default (float64 available), a loss
history, optional snapshots, and stops with :class:`TrainingDivergedError` on NaN.
"""

from ._optim import TrainingDivergedError
from ._toy import ToyModelResult, sample_toy_batch, toy_model_loss, train_toy_model

__all__ = [
    "ToyModelResult",
    "TrainingDivergedError",
    "sample_toy_batch",
    "toy_model_loss",
    "train_toy_model",
]
