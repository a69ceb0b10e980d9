"""Theory of the ReLU toy model: expected loss, fitted geometries, predicted geometry, phase diagrams.

* :func:`expected_loss`: the trainer's loss in expectation over exactly its data
  distribution (closed form for the linear model; exact up to one active
  interferer and on a grid with a proven error bound beyond, for the ReLU model);
* :func:`fit_geometry`: norms and biases of fixed directions that minimise it;
* :func:`predict_geometry`: the best tegum product of known blocks (exact DP over
  blocks with fitted costs), with the runner-up; :func:`relu_block_costs` for
  partition programmes; :func:`free_block` for candidate blocks whose directions
  are fitted too;
* :func:`phase_diagram`: predicted and trained phases side by side.
"""

from ._fit import FittedGeometry, fit_geometry
from ._loss import ExpectedLoss, expected_loss
from ._phase import PHASES, PhaseDiagram, classify_phase, phase_diagram
from ._predict import (
    BlockCostTable,
    GeometryPrediction,
    default_block_shapes,
    predict_geometry,
    relu_block_costs,
)
from ._shapes import BlockShape, block_shape, free_block

__all__ = [
    "ExpectedLoss",
    "expected_loss",
    "FittedGeometry",
    "fit_geometry",
    "BlockShape",
    "block_shape",
    "free_block",
    "GeometryPrediction",
    "predict_geometry",
    "default_block_shapes",
    "BlockCostTable",
    "relu_block_costs",
    "PHASES",
    "PhaseDiagram",
    "classify_phase",
    "phase_diagram",
]
