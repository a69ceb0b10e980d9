"""Validation of the toy-model data arguments shared by the theory functions.

The semantics are the trainer's (:func:`packing.train_toy_model`): ``sparsity``
is the probability a feature is ZERO (``density = 1 - sparsity``); a scalar
applies everywhere, a 1-D ``sparsity``/``density`` is one value per instance,
a 1-D ``importance`` one value per feature, and a 2-D table is
``(instances, n_features)``.
"""

from __future__ import annotations

import numpy as np

from .._validation import _describe, check_batch, check_memory, check_numbers, check_table

__all__: list[str] = []

MODELS = ("relu", "linear")
REDUCTIONS = ("sum", "mean")


def feature_table(value, name: str, n: int, *, one_d: str, lo: float, hi: float | None = None) -> np.ndarray:
    """Return ``value`` as a float64 table of shape ``(1 or instances, n)`` (trainer semantics)."""
    return check_table(value, name, n, one_d=one_d, minimum=lo, maximum=hi)


def feature_density(sparsity, density, n: int) -> np.ndarray:
    """Density table ``(1 or instances, n)`` from ``sparsity`` or ``density`` (default dense)."""
    if sparsity is not None and density is not None:
        raise ValueError(
            "give either sparsity (probability a feature is zero, S) or density (probability it is "
            f"active, 1 - S), not both; got sparsity={sparsity!r} and density={density!r}."
        )
    if density is not None:
        return feature_table(density, "density", n, one_d="instance", lo=0.0, hi=1.0)
    if sparsity is None:
        sparsity = 0.0
    return 1.0 - feature_table(sparsity, "sparsity", n, one_d="instance", lo=0.0, hi=1.0)


def check_weights(W, b):
    """Return ``(W, b, single)``: W (instances, n, d) and b (instances, n) float64, validated."""
    W, single = check_batch(W, "W", dtype=np.float64)
    n_inst, n = W.shape[:2]
    if isinstance(b, bool | np.bool_) or b is None:
        raise TypeError(f"b must be an array of biases of shape ({n},); got {_describe(b)}.")
    try:
        b = check_numbers(b, "b")  # no strings (also numeric ones), complex numbers or booleans
    except TypeError:
        raise TypeError(f"b must be a real array of biases; got {_describe(b)}.") from None
    if b.ndim == 0:
        b = np.full((n_inst, n), float(b))
    elif b.ndim == 1 and b.shape[0] == n:
        b = np.broadcast_to(b, (n_inst, n))
    if b.shape != (n_inst, n):
        want = f"({n},)" if single else f"({n_inst}, {n}) or ({n},)"
        shown = W.shape[1:] if single else W.shape
        raise ValueError(f"b must have shape {want} to match W of shape {shown}; got {b.shape}.")
    if not np.isfinite(b).all():
        raise ValueError("b must be finite; found a NaN or infinity.")
    return W, np.ascontiguousarray(b, dtype=np.float64), single


def check_model_size(func: str, n, d) -> None:
    """Refuse, before allocating, a prediction whose dynamic programme over ``n x d`` states cannot fit."""
    # per state: up to two compositions (a tuple per shape name) and a parent; per feature: the cost table
    check_memory(1200 * (n + 1) * (d + 1) + 800 * n, func, "the dynamic programme over blocks", n=n, d=d)


def instance_tables(n_inst: int, **tables) -> dict:
    """Broadcast ``(1 or m, n)`` tables to ``(n_inst, n)``; raise if a table has another row count."""
    out = {}
    for name, arr in tables.items():
        if arr.shape[0] not in (1, n_inst):
            raise ValueError(
                f"{name} must have one row or one per instance of W ({n_inst}); got {arr.shape[0]} "
                f"per-instance rows."
            )
        out[name] = np.broadcast_to(arr, (n_inst, arr.shape[1]))
    return out


def single_blas(func):
    """Run ``func`` with BLAS limited to one thread.

    The fits issue many tiny BLAS/LAPACK calls (L-BFGS-B, small GEMMs); on a loaded
    machine a multi-threaded BLAS spins waiting for its threads (measured: 5 ms
    instead of 0.05 ms per L-BFGS-B step on the shared 2-core machine).
    """
    from functools import wraps

    @wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
