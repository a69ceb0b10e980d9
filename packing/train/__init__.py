"""Torch-free numpy trainers for the superposition toy models.

* :mod:`~packing.train.toy`: :func:`train_toy_model`, the ReLU-output and linear
  models of Elhage et al. (2022), many instances (sparsities, importances, seeds)
  in one vectorized run; :func:`toy_model_forward` and :func:`toy_model_loss`
  expose the model and its loss.
* :mod:`~packing.train.abs`: :func:`train_abs_model`, computation in superposition,
  ``y' = ReLU(W2 ReLU(W1 x) + b)`` on ``|x|``; :func:`abs_model_forward`, :func:`abs_model_loss`.
* :mod:`~packing.train.monosemanticity`: :func:`train_monosemanticity_model`, the
  engineered-monosemanticity model of Jermyn et al. (2022) (sparse features, a fixed
  embedding, ``k`` neurons with biases, a linear read-out; LAMB, bias decay, input
  noise, L1); :func:`monosemanticity` measures which neurons serve one feature.
* :mod:`~packing.train.scurve`: :func:`train_scurve`, :func:`scurve_closed_form`,
  :func:`scurve_loss`: the multi-component ("S-curve") factorization toy under
  squared and cross-entropy losses.

Shared pieces: ``_inputs`` (the validated sparsity / density / importance tables and
how instances are formed), ``_data`` (the sampler and :func:`sample_toy_batch`),
``_optim`` (in-place Adam / AdamW / SGD, constant, linear or cosine schedules, the
training loop that stops with :class:`TrainingDivergedError` on NaN), ``_checkpoint``
(``checkpoint=PATH`` saves and resumes a run bit for bit; Ctrl-C returns the partial
result with ``stopping_reason="interrupted"``), ``_parallel`` (the cores a process may
use, the thread layout, a worker pool) and ``_kernel`` (the blocked kernel: groups of
instances and batch rows fixed by the shape, each with its own random stream, run on
worker threads; cache-sized chunks for the elementwise work; reused buffers). Every
trainer has hand-derived gradients, float32 by default (float64 available), a loss
history, and a result whose ``config`` reruns it bit for bit, whatever the number of
threads.
"""

from ._checkpoint import CheckpointMismatchError, TrainingCheckpoint
from ._data import sample_toy_batch
from ._optim import TrainingDivergedError
from .abs import AbsModelResult, abs_model_forward, abs_model_loss, train_abs_model
from .monosemanticity import (
    MonosemanticityModelResult,
    MonosemanticityReport,
    monosemanticity,
    monosemanticity_model_loss,
    train_monosemanticity_model,
)
from .scurve import ScurveResult, scurve_closed_form, scurve_loss, train_scurve
from .toy import ToyModelResult, toy_model_forward, toy_model_loss, train_toy_model

__all__ = [
    "AbsModelResult",
    "CheckpointMismatchError",
    "MonosemanticityModelResult",
    "MonosemanticityReport",
    "ScurveResult",
    "ToyModelResult",
    "TrainingCheckpoint",
    "TrainingDivergedError",
    "abs_model_forward",
    "abs_model_loss",
    "monosemanticity",
    "monosemanticity_model_loss",
    "sample_toy_batch",
    "scurve_closed_form",
    "scurve_loss",
    "toy_model_forward",
    "toy_model_loss",
    "train_abs_model",
    "train_monosemanticity_model",
    "train_scurve",
    "train_toy_model",
]
