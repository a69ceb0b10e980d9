"""Phase diagrams of superposition (Elhage et al. 2022), predicted and trained side by side.

Elhage et al. (2022, "Toy Models of Superposition", section "Superposition as a
Phase Change") vary the importance of one extra feature against the density of
all features and classify what the trained model does with the extra feature:
leave it out, give it a dedicated dimension, or store it in superposition (an
antipodal pair for 2 features in 1 dimension). Here every cell is both
predicted (:func:`predict_geometry`) and trained (:func:`packing.train_toy_model`,
best of ``n_seeds``), and both weight matrices are classified by the same rule
(:func:`classify_phase`).
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .._results import Savable
from .._validation import (
    _describe,
    check_batch_size,
    check_float,
    check_int,
    check_memory,
    check_numbers,
    check_packing,
    check_real,
    check_rng,
)
from ..train import train_toy_model
from ._inputs import single_blas
from ._loss import expected_loss
from ._predict import predict_geometry

__all__ = ["PHASES", "PhaseDiagram", "classify_phase", "phase_diagram"]

PHASES = ("not represented", "dedicated dimension", "antipodal superposition", "superposition")


def classify_phase(W, feature=-1, *, threshold=0.1, atol=0.05) -> str:
    """Classify what ``W`` does with one feature (the rule used for predicted and trained cells).

    * ``"not represented"``: its norm is at most ``threshold`` times the largest row norm;
    * ``"dedicated dimension"``: every other represented feature has ``|cos| <= atol`` with it;
    * ``"antipodal superposition"``: exactly one represented feature has ``|cos| > atol``, with
      ``cos < −(1 − atol)``;
    * ``"superposition"``: otherwise.

    The thresholds are those of :func:`packing.analyze_structure` (relative norm 0.1,
    interference ``|cos| > 0.05``).

    Parameters
    ----------
    W : array_like, shape (n, d)
    feature : int, default -1
        Row to classify.
    threshold, atol : float

    Returns
    -------
    str
        One of :data:`PHASES`.

    Examples
    --------
    >>> classify_phase([[1.0], [-0.9]]), classify_phase([[1.0], [0.01]])
    ('antipodal superposition', 'not represented')
    >>> classify_phase([[1.0, 0.0], [0.0, 1.0]]), classify_phase([[1.0, 0], [0.6, 0.8]])
    ('dedicated dimension', 'superposition')
    >>> classify_phase([[1.0]], feature=3)
    Traceback (most recent call last):
    ...
    ValueError: feature must index a row of W (1 rows); got 3.
    """
    W = check_packing(W, "W", dtype=np.float64)
    n = W.shape[0]
    if isinstance(feature, bool | np.bool_) or not isinstance(feature, int | np.integer):
        raise TypeError(f"feature must be an integer row index; got {_describe(feature)}.")
    if not -n <= feature < n:
        raise ValueError(f"feature must index a row of W ({n} rows); got {feature}.")
    threshold = check_float(threshold, "threshold", minimum=0.0)
    atol = check_float(atol, "atol", minimum=0.0, maximum=1.0)
    f = int(feature) % n
    norms = np.linalg.norm(W, axis=1)
    top = norms.max()
    if top == 0 or norms[f] <= threshold * top:
        return PHASES[0]
    others = [j for j in range(n) if j != f and norms[j] > threshold * top]
    cos = np.array([W[f] @ W[j] / (norms[f] * norms[j]) for j in others])
    touching = cos[np.abs(cos) > atol]
    if touching.size == 0:
        return PHASES[1]
    if touching.size == 1 and touching[0] < -(1 - atol):
        return PHASES[2]
    return PHASES[3]


@dataclass
class PhaseDiagram(Savable, schema=1):
    """Result of :func:`phase_diagram`: rows are densities, columns relative importances.

    Attributes
    ----------
    n_features, d : int
    relative_importance : ndarray, shape (nx,)
        Importance of the last feature (the others have importance 1).
    density : ndarray, shape (ny,)
        Density of every feature.
    predicted : ndarray of str, shape (ny, nx)
        :func:`classify_phase` of the predicted geometry.
    predicted_description : ndarray of str, shape (ny, nx)
    predicted_loss, margin : ndarray, shape (ny, nx)
        Expected loss of the prediction and the runner-up's margin over it.
    trained : ndarray of str, shape (ny, nx), or None
        :func:`classify_phase` of the trained model (best of ``n_seeds``).
    trained_loss : ndarray, shape (ny, nx), or None
        :func:`expected_loss` of the trained weights.
    trained_W : ndarray, shape (ny, nx, n_features, d), or None
    trained_b : ndarray, shape (ny, nx, n_features), or None
    near_boundary : ndarray of bool, shape (ny, nx)
        Cells with a 4-neighbour of a different predicted phase.
    config : dict
        The training settings.
    seconds : float
    """

    n_features: int
    d: int
    relative_importance: np.ndarray
    density: np.ndarray
    predicted: np.ndarray
    predicted_description: np.ndarray = field(repr=False)
    predicted_loss: np.ndarray = field(repr=False)
    margin: np.ndarray = field(repr=False)
    trained: np.ndarray | None = None
    trained_loss: np.ndarray | None = field(default=None, repr=False)
    trained_W: np.ndarray | None = field(default=None, repr=False)
    trained_b: np.ndarray | None = field(default=None, repr=False)
    near_boundary: np.ndarray | None = field(default=None, repr=False)
    config: dict = field(default_factory=dict, repr=False)
    seconds: float = 0.0

    @property
    def agreement(self) -> float | None:
        """Fraction of cells where predicted and trained phases agree (None without training)."""
        return None if self.trained is None else float(np.mean(self.predicted == self.trained))

    @property
    def disagreement_near_boundary(self) -> float | None:
        """Fraction of disagreeing cells that lie next to a predicted phase boundary (1 if none disagree)."""
        if self.trained is None:
            return None
        bad = self.predicted != self.trained
        return float(self.near_boundary[bad].mean()) if bad.any() else 1.0

    @property
    def trained_above_prediction(self) -> np.ndarray | None:
        """``trained_loss − predicted_loss`` (positive: the trained model sits above the prediction)."""
        return None if self.trained_loss is None else self.trained_loss - self.predicted_loss

    def to_text(self) -> str:
        """Both grids as letters (N, D, A, S), densest row first, and the agreement."""
        letter = {p: p[0].upper() if p != PHASES[2] else "A" for p in PHASES}
        letter[PHASES[3]] = "S"
        lines = [
            f"{self.n_features} features in {self.d} dims; columns: importance "
            f"{self.relative_importance[0]:.3g}..{self.relative_importance[-1]:.3g}, rows: density "
            f"{self.density[0]:.3g}..{self.density[-1]:.3g}",
            "N: not represented, D: dedicated dimension, A: antipodal superposition, S: superposition",
        ]
        header = "predicted".ljust(self.predicted.shape[1] + 2)
        lines.append(header + ("trained" if self.trained is not None else ""))
        for i in range(self.predicted.shape[0]):
            row = "".join(letter[p] for p in self.predicted[i])
            if self.trained is not None:
                row += "  " + "".join(letter[p] for p in self.trained[i])
            lines.append(row)
        if self.trained is not None:
            lines.append(
                f"agreement {self.agreement:.3f}; disagreeing cells next to a predicted boundary: "
                f"{self.disagreement_near_boundary:.3f}"
            )
        return "\n".join(lines)


def _neighbours_differ(labels):
    out = np.zeros(labels.shape, dtype=bool)
    out[1:] |= labels[1:] != labels[:-1]
    out[:-1] |= labels[1:] != labels[:-1]
    out[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    out[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    return out


def _stack_rows(rows) -> PhaseDiagram:
    """Join one-row phase diagrams (same columns, densities in order) into one; boundaries on the whole grid.

    Lets the rows of a diagram be predicted and trained separately (e.g. as
    sweep cells on every core) and give the diagram a single call would.
    """
    first = rows[0]

    def cat(name):
        parts = [getattr(r, name) for r in rows]
        return None if parts[0] is None else np.concatenate(parts)

    predicted = cat("predicted")
    trained = cat("trained")
    return PhaseDiagram(
        n_features=first.n_features,
        d=first.d,
        relative_importance=first.relative_importance,
        density=cat("density"),
        predicted=predicted,
        predicted_description=cat("predicted_description"),
        predicted_loss=cat("predicted_loss"),
        margin=cat("margin"),
        trained=trained,
        trained_loss=cat("trained_loss"),
        trained_W=cat("trained_W"),
        trained_b=cat("trained_b"),
        near_boundary=_neighbours_differ(predicted),
        config=first.config,
        seconds=float(sum(r.seconds for r in rows)),
    )


def _grid(values, name):
    arr = check_numbers(values, name)  # no strings, complex numbers or booleans
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}.")
    if not np.isfinite(arr).all() or (arr <= 0).any():
        bad = arr[~(np.isfinite(arr) & (arr > 0))][0]
        raise ValueError(f"{name} values must be finite and > 0; got {bad}.")
    return arr


@single_blas
def phase_diagram(
    n_features=2,
    d=1,
    *,
    relative_importance=None,
    density=None,
    train=True,
    n_seeds=4,
    steps=20_000,
    batch_size=1024,
    lr=1e-2,
    rng=0,
    trained_weights=None,
    train_kwargs=None,
) -> PhaseDiagram:
    """Predicted and trained phase diagram of the last feature against importance and density.

    Features ``0 .. n−2`` have importance 1, the last has ``relative_importance``;
    every feature has the cell's ``density``. Each cell is predicted with
    :func:`predict_geometry` and, if ``train``, trained with
    :func:`packing.train_toy_model` (all cells in one vectorized run, Adam with a
    cosine schedule, best of ``n_seeds``); both are classified by
    :func:`classify_phase`.

    Parameters
    ----------
    n_features, d : int
        Default 2 features in 1 dimension (3 in 2 is the paper's other diagram).
    relative_importance : array_like, optional
        Columns; default 20 values from 0.1 to 10, log-spaced.
    density : array_like, optional
        Rows; default 20 values from 1 to 0.01, log-spaced.
    train : bool
        Train the cells (else only the prediction).
    n_seeds, steps, batch_size, lr, rng
        Training settings (see :func:`packing.train_toy_model`).
    trained_weights : tuple (W, b), optional
        Weights of an earlier training of the same cells, shapes ``(cells, n, d)``
        and ``(cells, n)`` with cells in row-major order; used instead of training.
    train_kwargs : dict, optional
        Further arguments for :func:`packing.train_toy_model` (they override the
        defaults, e.g. ``{"schedule": "constant"}``).

    Returns
    -------
    PhaseDiagram

    Examples
    --------
    >>> pd = phase_diagram(relative_importance=[0.2, 5.0], density=[1.0, 0.01], train=False)
    >>> pd.predicted.tolist()
    [['not represented', 'dedicated dimension'], ['antipodal superposition', 'antipodal superposition']]
    >>> phase_diagram(density=[0.0], train=False)
    Traceback (most recent call last):
    ...
    ValueError: density values must be finite and > 0; got 0.0.
    """
    t0 = time.perf_counter()
    n = check_int(n_features, "n_features", minimum=2)
    d = check_int(d, "d", minimum=1)
    x = _grid(
        np.geomspace(0.1, 10, 20) if relative_importance is None else relative_importance,
        "relative_importance",
    )
    y = _grid(np.geomspace(1, 0.01, 20) if density is None else density, "density")
    if (y > 1).any():
        raise ValueError(f"density values must be <= 1; got {y[y > 1][0]}.")
    if not isinstance(train, bool | np.bool_):
        raise TypeError(f"train must be a bool; got {_describe(train)}.")
    if train_kwargs is not None and not isinstance(train_kwargs, dict):
        raise TypeError(
            f"train_kwargs must be a dict of train_toy_model arguments; got {_describe(train_kwargs)}."
        )
    # the training options are checked also when nothing is trained (they go into the config)
    check_int(n_seeds, "n_seeds")
    check_int(steps, "steps")
    check_batch_size(batch_size)
    check_float(lr, "lr", minimum=0.0, strict_min=True)
    if isinstance(rng, list | tuple):  # SeedSequence entropy (provenance of trained_weights, e.g.)
        if not rng or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0 for v in rng):
            raise TypeError(
                f"rng given as a list must hold ints >= 0 (a seed's entropy); got {_describe(rng)}."
            )
    else:
        check_rng(rng)
    cells = [(i, j) for i in range(y.size) for j in range(x.size)]
    need = 8 * len(cells) * n * (d + 2)
    check_memory(need, "phase_diagram", "the importances and predictions of the cells", n_features=n, d=d)
    imp = np.ones((len(cells), n))
    imp[:, -1] = [x[j] for _, j in cells]
    dens = np.array([y[i] for i, _ in cells])
    shape = (y.size, x.size)
    pred, desc, ploss, margin = [], [], [], []
    for c in range(len(cells)):
        p = predict_geometry(n, d, density=dens[c], importance=imp[c])
        pred.append(classify_phase(p.W) if p.n_represented else PHASES[0])
        desc.append(p.description)
        ploss.append(p.loss)
        margin.append(p.margin)
    predicted = np.array(pred, dtype=str).reshape(shape)
    result = PhaseDiagram(
        n_features=n,
        d=d,
        relative_importance=x,
        density=y,
        predicted=predicted,
        predicted_description=np.array(desc, dtype=str).reshape(shape),
        predicted_loss=np.array(ploss).reshape(shape),
        margin=np.array(margin).reshape(shape),
        near_boundary=_neighbours_differ(predicted),
    )
    config = {
        "n_seeds": n_seeds,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "rng": rng,
        "schedule": "cosine",
    } | dict(train_kwargs or {})
    if train_kwargs is not None and not isinstance(train_kwargs, dict):
        raise TypeError(
            f"train_kwargs must be a dict of train_toy_model arguments; got {_describe(train_kwargs)}."
        )
    if trained_weights is not None:
        if not isinstance(trained_weights, tuple | list) or len(trained_weights) != 2:
            raise TypeError(
                f"trained_weights must be a pair (W, b) of arrays; got {_describe(trained_weights)}."
            )
        W, b = (check_real(v, "trained_weights", dtype=np.float64) for v in trained_weights)
        if W.shape != (len(cells), n, d) or b.shape != (len(cells), n):
            raise ValueError(
                f"trained_weights must be (W, b) of shapes {(len(cells), n, d)} and "
                f"{(len(cells), n)}; got {W.shape} and {b.shape}."
            )
    elif train:
        r = train_toy_model(n_features=n, d=d, density=dens, importance=imp, **config)
        W, b = r.W.astype(np.float64), r.b.astype(np.float64)
    else:
        result.seconds = time.perf_counter() - t0
        return result
    labels = [classify_phase(w) if np.any(w) else PHASES[0] for w in W]
    result.trained = np.array(labels, dtype=str).reshape(shape)
    result.trained_loss = expected_loss(W, b, density=dens, importance=imp).reshape(shape)
    result.trained_W, result.trained_b = W.reshape(shape + (n, d)), b.reshape(shape + (n,))
    result.config = config
    result.seconds = time.perf_counter() - t0
    return result
