"""The input tables of the toy models: who is active how often, who matters how much, how many instances.

Every trainer and :func:`~packing.sample_toy_batch` describe their data with the
same keywords: ``sparsity`` (probability a feature is ZERO) or ``density``
(``1 - sparsity``), ``importance`` (weight of a feature in the loss),
``n_instances``, and correlated / anticorrelated feature pairs.
:func:`check_inputs` validates them once, at the public boundary, and returns
:class:`Inputs`: float64 tables of shape ``(n_instances, n_features)`` for the
private code, and the same settings as plain data for a result's ``config``.

How instances are formed: a scalar applies to every instance and feature; a
1-D ``sparsity`` / ``density`` is one value per INSTANCE; a 1-D ``importance``
is one value per FEATURE (shared by all instances); a 2-D array is
``(n_instances, n_features)`` (one row broadcasts). The number of instances is
the common row count of the per-instance tables, or ``n_instances``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    check_batch,
    check_finite,
    check_float,
    check_instances,
    check_int,
    check_memory,
    check_real,
    check_table,
)

__all__ = [
    "Inputs",
    "check_importance_dtype",
    "check_init_scale",
    "check_inputs",
    "check_model_arrays",
    "check_run_memory",
    "plain",
]

#: Entries per cache block of a kernel (the kernels hold a few such blocks per instance at most).
_BLOCK_ENTRIES = 2**16


def check_run_memory(
    func: str, *, params: int, itemsize: int, n_steps: int, rows: int, batch: int, **sizes
) -> None:
    """Refuse a training run beyond the memory limit, before anything is allocated.

    ``params`` parameters of ``itemsize`` bytes are held about seven times (the
    values, gradient, two optimizer moments, a scratch copy and an evaluation
    kernel's values and gradient); the loss history holds ``n_steps x rows``
    float64; ``batch`` entries of the batch (or of its cache blocks) are held in
    about four buffers.
    """
    need = 7 * params * itemsize + 8 * (n_steps + 1) * rows + 4 * batch * itemsize
    check_memory(need, func, "its parameters, optimizer state, loss history and batch", **sizes)


@dataclass(frozen=True)
class Inputs:
    """Validated input tables of a toy-model run (read-only views; private code trusts them).

    Attributes
    ----------
    n_features, n_instances : int
    density : ndarray, shape (n_instances, n_features)
        Probability that each feature is active (``1 - sparsity``), float64.
    importance : ndarray, shape (n_instances, n_features)
        Loss weight of each feature, float64 (ones when the caller has no importance).
    n_correlated, n_anticorrelated : int
        Features ``0 .. 2 n_correlated - 1`` form correlated pairs, the next
        ``2 n_anticorrelated`` anticorrelated pairs.
    config : dict
        The keywords that rebuild exactly these tables, as plain data.
    """

    n_features: int
    n_instances: int
    density: np.ndarray
    importance: np.ndarray
    n_correlated: int
    n_anticorrelated: int
    config: dict


def plain(value):
    """Return a validated number or array as plain data (a float or nested lists of floats).

    Converting through float64 loses nothing: the validators read every table as float64.
    """
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def check_inputs(
    n_features: int,
    *,
    sparsity=None,
    density=None,
    importance=None,
    n_instances=None,
    n_correlated_pairs=None,
    n_anticorrelated_pairs=None,
) -> Inputs:
    """Validate the data keywords of a toy model and return them as :class:`Inputs`.

    ``n_features`` must already be validated. ``None`` for ``importance`` or the
    pair counts means the caller has no such keyword: the table is then all ones
    (no pairs) and the keyword is left out of ``config``. Every message names the
    keyword as the caller passed it.
    """
    if sparsity is not None and density is not None:
        raise ValueError(
            "give either sparsity (probability a feature is zero, S) or density (probability it is "
            "active, 1 - S), not both; got both."
        )
    if density is not None:
        dens_name = "density"
        dens = check_table(density, "density", n_features, one_d="instance", minimum=0.0, maximum=1.0)
    else:
        sparsity = 0.0 if sparsity is None else sparsity
        dens_name = "sparsity"
        dens = 1.0 - check_table(sparsity, "sparsity", n_features, one_d="instance", minimum=0.0, maximum=1.0)
    tables = {dens_name: dens}
    if importance is not None:
        tables["importance"] = check_table(importance, "importance", n_features, one_d="feature", minimum=0.0)
    m = check_instances(n_instances, tables)
    pairs = {"n_correlated_pairs": n_correlated_pairs, "n_anticorrelated_pairs": n_anticorrelated_pairs}
    pairs = {k: check_int(v, k, minimum=0) for k, v in pairs.items() if v is not None}
    nc, na = pairs.get("n_correlated_pairs", 0), pairs.get("n_anticorrelated_pairs", 0)
    if 2 * (nc + na) > n_features:
        raise ValueError(
            f"2 * (n_correlated_pairs + n_anticorrelated_pairs) = {2 * (nc + na)} exceeds "
            f"n_features={n_features}: it must be <= n_features; got {2 * (nc + na)}."
        )
    # An anticorrelated pair is active (one of its two features) with probability 2 p.
    firsts = dens[:, 2 * nc : 2 * (nc + na) : 2]
    if (firsts > 0.5).any():
        raise ValueError(
            f"n_anticorrelated_pairs={na}: anticorrelated pairs need density <= 0.5 (sparsity >= 0.5) on "
            f"their features; got density {firsts.max():.6g}."
        )
    config = {"sparsity": plain(sparsity), "density": plain(density), "n_instances": m, **pairs}
    if importance is not None:
        config["importance"] = plain(importance)
    imp = tables.get("importance", np.ones((1, n_features)))
    return Inputs(
        n_features=n_features,
        n_instances=m,
        density=np.broadcast_to(dens, (m, n_features)),
        importance=np.broadcast_to(imp, (m, n_features)),
        n_correlated=nc,
        n_anticorrelated=na,
        config=config,
    )


def check_importance_dtype(importance: np.ndarray, dtype) -> None:
    """Refuse importances the training dtype cannot hold (float32 would turn them into inf)."""
    top, limit = float(importance.max()), float(np.finfo(dtype).max)
    if top > limit:
        raise ValueError(
            f"importance values must fit in the training dtype {np.dtype(dtype).name} (at most {limit:.3g}); "
            f"got {top:.3g}. Pass dtype=np.float64 or smaller importances."
        )


def check_init_scale(init_scale, n_features: int, d: int) -> float:
    """Return the standard deviation of the initial weights: ``init_scale``, or Xavier's for ``None``.

    Xavier (Glorot) initialization: ``sqrt(2 / (n_features + d))``.
    """
    if init_scale is None:
        return float(np.sqrt(2.0 / (n_features + d)))
    return check_float(init_scale, "init_scale", minimum=0.0)


#: ``importance`` of :func:`check_model_arrays` when the function has no such keyword (None is a bad value).
_ABSENT = object()


def check_model_arrays(weights: dict, b, x, *, importance=_ABSENT, func: str = "the model"):
    """Validate the arrays of a forward or loss call; return ``(weights, b, x, importance, single)``.

    ``weights`` maps each weight's argument name to an array of shape
    ``(n_features, d)`` or ``(instances, n_features, d)``; the first sets the
    shape the others must have and the float dtype of everything. ``b`` is
    ``(n_features,)`` or ``(instances, n_features)``; ``x`` is ``(batch,
    n_features)``, given to every instance (returned as a broadcast view), or
    ``(instances, batch, n_features)``. ``importance`` (optional) is a table as
    in :func:`check_inputs`, returned with 1 or ``instances`` rows (``None`` if not passed). ``single``
    says the first weight came 2-D.
    """
    (first, W0), *rest = weights.items()
    W0, single = check_batch(W0, first)
    dt = W0.dtype
    n_inst, n, _ = W0.shape
    arrays = [W0]
    for name, W in rest:
        W, _ = check_batch(W, name, dtype=dt)
        if W.shape != W0.shape:
            raise ValueError(f"{name} must have the shape of {first}, {W0.shape}; got {W.shape}.")
        arrays.append(W)
    b = check_finite(check_real(b, "b", dtype=dt), "b")
    b = b.reshape(1, -1) if b.ndim == 1 else b
    if b.shape != (n_inst, n):
        raise ValueError(f"b must have shape {(n_inst, n)} to match {first}; got {b.shape}.")
    x = check_finite(check_real(x, "x", dtype=dt), "x")
    if not (x.ndim == 2 and x.shape[1] == n or x.ndim == 3 and x.shape[0] == n_inst and x.shape[2] == n):
        raise ValueError(f"x must have shape ({n_inst}, batch, {n}) or (batch, {n}); got {x.shape}.")
    if x.shape[-2] == 0:
        raise ValueError(f"x must hold at least one input (batch >= 1); got shape {x.shape}.")
    x = np.broadcast_to(x, (n_inst,) + x.shape) if x.ndim == 2 else x
    if importance is _ABSENT:
        importance = None
    else:
        importance = check_table(importance, "importance", n, one_d="feature", minimum=0.0)
        if importance.shape[0] not in (1, n_inst):
            raise ValueError(f"importance has {importance.shape[0]} instance rows; {first} has {n_inst}.")
    width = n + max(W.shape[2] for W in arrays)
    check_memory(
        4 * n_inst * x.shape[1] * width * W0.itemsize,
        func,
        "its activations on x (every instance on the whole batch)",
        instances=n_inst,
        batch=x.shape[1],
        n_features=n,
    )
    return arrays, b, x, importance, single
