"""Torch-free numpy trainers for the superposition toy models.

* :func:`train_toy_model`: the ReLU-output and linear models of Elhage et al. (2022),
  many instances (sparsities, importances, seeds) in one vectorized run;
  :func:`sample_toy_batch` and :func:`toy_model_loss` expose its data and loss.
* :func:`train_abs_model`: computation in superposition, ``y' = ReLU(W2 ReLU(W1 x) + b)`` on ``|x|``.
* :func:`train_scurve`, :func:`scurve_closed_form`: the multi-component ("S-curve")
  factorization toy under squared and cross-entropy losses.

Every trainer has hand-derived gradients, in-place Adam / AdamW / SGD, constant,
linear or cosine schedules, float32 by default (float64 available), a loss
history, and stops with :class:`TrainingDivergedError` on NaN.
"""

from ._abs import AbsModelResult, train_abs_model
from ._optim import TrainingDivergedError
from ._scurve import ScurveResult, scurve_closed_form, train_scurve
from ._toy import ToyModelResult, sample_toy_batch, toy_model_loss, train_toy_model

__all__ = [
    "AbsModelResult",
    "ScurveResult",
    "ToyModelResult",
    "TrainingDivergedError",
    "sample_toy_batch",
    "scurve_closed_form",
    "toy_model_loss",
    "train_abs_model",
    "train_scurve",
    "train_toy_model",
]
