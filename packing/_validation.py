"""The one input validator used by every public function of :mod:`packing`.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong value) with a message that names the argument, says what was
expected and what arrived, and, where it is short, how to fix it.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable

import numpy as np

__all__: list[str] = []  # private module

#: |cos| may exceed 1 by this much through rounding before it is an error.
COS_SLACK = 1e-6


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_packing(
    W,
    name: str = "W",
    *,
    dtype=None,
    min_rows: int = 1,
    copy: bool = False,
) -> np.ndarray:
    """Return ``W`` as a finite real 2-D float array of shape ``(n, d)``.

    float32 and float64 input keep their precision; integer and boolean input is
    converted to float64. Complex, object and string input is refused.
    """
    if isinstance(W, np.ndarray):
        arr = W
    else:
        try:
            arr = np.asarray(W)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(
                f"{name} must be a real 2-D array of shape (n, d); could not convert "
                f"{_describe(W)} to an array ({exc})."
            ) from None
    if arr.dtype.kind == "c":
        raise TypeError(
            f"{name} must be real; got a complex array (dtype {arr.dtype}). "
            f"Pass W.real or stack real and imaginary parts as extra columns."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be a real numeric array of shape (n, d); got {_describe(W)}."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_features, d), one row per feature; "
            f"got {arr.ndim}-D shape {arr.shape}."
            + (" Use W[None, :] for a single vector." if arr.ndim == 1 else "")
        )
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must have at least {min_rows} row(s) and 1 column; got shape {arr.shape}."
        )
    if dtype is not None:
        target = np.dtype(dtype)
    elif arr.dtype in (np.float32, np.float64):
        target = arr.dtype
    else:
        target = np.dtype(np.float64)
    arr = np.array(arr, dtype=target, copy=copy or None)
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite; found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}."
        )
    return arr


def check_int(value, name: str, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int in ``[minimum, maximum]``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        if isinstance(value, float | np.floating) and float(value).is_integer():
            raise TypeError(
                f"{name} must be an integer; got float {value!r}. Pass int({value!r})."
            )
        raise TypeError(f"{name} must be an integer; got {_describe(value)}.")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}.")
    return int(value)


def check_float(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_min: bool = False,
    strict_max: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a Python float within the given (open or closed) range."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}.")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number; got {value}.")
    if minimum is not None and (value <= minimum if strict_min else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict_min else '>='} {minimum}; got {value}.")
    if maximum is not None and (value >= maximum if strict_max else value > maximum):
        raise ValueError(f"{name} must be {'<' if strict_max else '<='} {maximum}; got {value}.")
    return value


def check_p(p, name: str = "p") -> float:
    """Return the moment order ``p`` (a float > 0, ``np.inf`` allowed)."""
    return check_float(p, name, minimum=0.0, strict_min=True, allow_inf=True)


def check_ps(p, name: str = "p") -> tuple[tuple[float, ...], bool]:
    """Return ``(orders, scalar)`` for a single order or an iterable of orders."""
    if isinstance(p, numbers.Real) and not isinstance(p, bool | np.bool_):
        return (check_p(p, name),), True
    if isinstance(p, str) or not isinstance(p, Iterable | np.ndarray):
        raise TypeError(f"{name} must be a number > 0 or a sequence of them; got {_describe(p)}.")
    orders = tuple(check_p(v, f"{name}[{i}]") for i, v in enumerate(np.ravel(np.asarray(p))))
    if not orders:
        raise ValueError(f"{name} must contain at least one order; got an empty sequence.")
    return orders, False


def check_tolerance(value, name: str = "atol") -> float:
    """Return a non-negative finite tolerance."""
    return check_float(value, name, minimum=0.0)


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from ``None``, a seed, or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        if rng is not None and int(rng) < 0:
            raise ValueError(f"{name} seed must be >= 0; got {rng}.")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be None, a non-negative int seed or a numpy.random.Generator "
        f"(np.random.default_rng(seed)); got {_describe(rng)}."
    )


def clip_cosines(c: np.ndarray, name: str = "cosine", *, slack: float = COS_SLACK) -> np.ndarray:
    """Clip rounding overshoot of cosines into [-1, 1] in place; raise on real violations."""
    if c.size:
        worst = float(np.max(np.abs(c)))
        if worst > 1.0 + slack:
            raise ValueError(
                f"{name} values must lie in [-1, 1]; got |{name}| = {worst!r}, beyond rounding "
                f"noise. Were the rows normalized?"
            )
        np.clip(c, -1.0, 1.0, out=c)
    return c


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of the strings ``choices``; the message lists them."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        got = repr(value) if isinstance(value, str) else _describe(value)
        raise ValueError(f"{name} must be one of {listed}; got {got}.")
    return value


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a Python bool; only ``True``/``False`` (numpy's too) are accepted."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {_describe(value)}.")
    return bool(value)
