"""Validation of the toy-model data arguments shared by the theory functions.

The semantics are the trainer's (:func:`packing.train_toy_model`): ``sparsity``
is the probability a feature is ZERO (``density = 1 - sparsity``); a scalar
applies everywhere, a 1-D ``sparsity``/``density`` is one value per instance,
a 1-D ``importance`` one value per feature, and a 2-D table is
``(instances, n_features)``.
"""

from __future__ import annotations

import numpy as np

from .._validation import _describe, check_packing

__all__: list[str] = []

MODELS = ("relu", "linear")
REDUCTIONS = ("sum", "mean")


def check_choice(value, name: str, choices: tuple) -> str:
    """Return ``value`` if it is one of ``choices`` (strings), else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}; got {_describe(value)}.")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
    return value


def feature_table(value, name: str, n: int, *, one_d: str, lo: float, hi: float | None = None) -> np.ndarray:
    """Return ``value`` as a float64 table of shape ``(1 or instances, n)`` (trainer semantics)."""
    if isinstance(value, bool | np.bool_) or value is None:
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.") from None
    if arr.ndim == 0:
        arr = np.full((1, n), float(arr))
    elif arr.ndim == 1:
        if one_d == "instance":
            arr = arr[:, None] * np.ones((1, n))
        elif arr.shape[0] != n:
            raise ValueError(
                f"{name} given as a 1-D array is one value per feature and must have length "
                f"n_features={n}; got length {arr.shape[0]}."
            )
        else:
            arr = arr[None, :]
    elif arr.ndim == 2:
        if arr.shape[1] != n:
            raise ValueError(
                f"{name} given as a 2-D array must have shape (instances, {n}); got {arr.shape}."
            )
    else:
        raise ValueError(f"{name} must be a scalar, 1-D or 2-D; got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr[~np.isfinite(arr)][0]}.")
    bad = (arr < lo) | ((arr > hi) if hi is not None else False)
    if bad.any():
        where = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} values must lie in {where}; got {arr[bad][0]}.")
    return arr


def feature_density(sparsity, density, n: int) -> np.ndarray:
    """Density table ``(1 or instances, n)`` from ``sparsity`` or ``density`` (default dense)."""
    if sparsity is not None and density is not None:
        raise ValueError(
            "give either sparsity (probability a feature is zero, S) or density (probability it is "
            "active, 1 - S), not both."
        )
    if density is not None:
        return feature_table(density, "density", n, one_d="instance", lo=0.0, hi=1.0)
    if sparsity is None:
        sparsity = 0.0
    return 1.0 - feature_table(sparsity, "sparsity", n, one_d="instance", lo=0.0, hi=1.0)


def check_weights(W, b):
    """Return ``(W, b, single)``: W (instances, n, d) and b (instances, n) float64, validated."""
    single = np.ndim(W) == 2
    if single:
        W = check_packing(W, "W", dtype=np.float64)[None]
    else:
        arr = np.asarray(W) if not isinstance(W, np.ndarray) else W
        if arr.ndim != 3 or arr.dtype.kind not in "biuf":
            raise ValueError(
                f"W must be a real array of shape (n_features, d) or (instances, n_features, d); "
                f"got {_describe(arr)}."
            )
        W = np.asarray(arr, dtype=np.float64)
        if not np.isfinite(W).all():
            raise ValueError("W must be finite; found a NaN or infinity.")
        if W.shape[0] < 1 or W.shape[1] < 1 or W.shape[2] < 1:
            raise ValueError(f"W must have at least one instance, feature and column; got shape {W.shape}.")
    n_inst, n = W.shape[:2]
    if isinstance(b, bool | np.bool_) or b is None:
        raise TypeError(f"b must be an array of biases of shape ({n},); got {_describe(b)}.")
    try:
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
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


def instance_tables(n_inst: int, **tables) -> dict:
    """Broadcast ``(1 or m, n)`` tables to ``(n_inst, n)``; raise if a table has another row count."""
    out = {}
    for name, arr in tables.items():
        if arr.shape[0] not in (1, n_inst):
            raise ValueError(
                f"{name} has {arr.shape[0]} per-instance rows but W has {n_inst} instances; give one row "
                f"or one per instance."
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
