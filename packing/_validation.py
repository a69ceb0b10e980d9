"""The one input validator used by every public function of :mod:`packing`.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError``
(right kind, wrong value) with a message that names the argument, says what was
expected and what arrived, and, where it is short, how to fix it.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import sys
import warnings
from collections.abc import Iterable

import numpy as np

from ._integers import FactorizationLimit, divisor_count, divisors
from ._limits import ResourceLimitError, format_bytes, memory_limit_and_source

__all__: list[str] = []  # private module

#: |cos| may exceed 1 by this much through rounding before it is an error.
COS_SLACK = 1e-6


# --------------------------------------------------------------------------- array-likes and layouts


class LayoutWarning(UserWarning):
    """A weight looks stored hidden x features (a PyTorch ``nn.Linear`` weight) and is read as stored.

    Raised for a 2-D weight with fewer rows than columns (``(d, n)``, the
    signature of ``nn.Linear(n, d).weight``) that arrives from a file without an
    explicit ``layout=`` or as a torch tensor. The message names the fix:
    ``layout="hidden_by_features"`` or :func:`packing.from_torch_layout` to
    transpose, ``layout="features_by_hidden"`` (or a NumPy array) to confirm.
    """


def is_tensor_like(value) -> bool:
    """Whether ``value`` looks like a framework tensor (it has a callable ``detach``, as torch tensors do)."""
    return not isinstance(value, np.ndarray) and callable(getattr(value, "detach", None))


def as_array(value, name: str = "value") -> np.ndarray:
    """Return ``value`` as a NumPy array: the one conversion of array-likes for every public function.

    The policy of :mod:`packing`: every array argument accepts NumPy arrays,
    nested sequences, anything with ``__array__`` and framework tensors. A
    tensor (anything with a ``detach`` method, e.g. ``torch.Tensor``) is
    detached, moved to the CPU (``.cpu()``) and converted, bfloat16 through
    float32; torch is never imported. Values are not checked here.

    Examples
    --------
    >>> class Tensor:  # a stand-in for torch.Tensor with requires_grad=True
    ...     def detach(self):
    ...         return np.eye(2)
    >>> as_array(Tensor())
    array([[1., 0.],
           [0., 1.]])
    """
    if isinstance(value, np.ndarray):
        return value
    try:
        if is_tensor_like(value):
            value = value.detach()
            if callable(getattr(value, "cpu", None)):
                value = value.cpu()
            bf16 = str(getattr(value, "dtype", "")).endswith("bfloat16")
            if bf16 and callable(getattr(value, "float", None)):
                value = value.float()  # numpy has no bfloat16; float32 holds every bfloat16 exactly
            if callable(getattr(value, "numpy", None)):
                return np.asarray(value.numpy())
        return np.asarray(value)
    except Exception as exc:  # ragged lists, exotic tensors and the like
        raise TypeError(
            f"{name} must be an array (NumPy, nested lists, or a tensor); could not convert "
            f"{_describe(value)} ({type(exc).__name__}: {' '.join(str(exc).split())})."
        ) from None


def caller_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` that points at the first frame outside :mod:`packing`."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "packing":
        level, frame = level + 1, frame.f_back
    return level


def warn_layout(shape: tuple, source: str, fix: str) -> None:
    """Warn (:class:`LayoutWarning`) that a weight of ``shape`` looks hidden x features; ``fix`` says why."""
    rows, cols = shape[-2], shape[-1]
    what = f"PyTorch nn.Linear({cols}, {rows}).weight"
    what = f"a batch of {what}s" if len(shape) == 3 else f"a {what}"
    warnings.warn(
        f"{source} has shape {tuple(shape)}: fewer rows than columns, the layout of "
        f"{what} (hidden x features). It is read as stored, {rows} features in "
        f"d={cols}; {fix}",
        LayoutWarning,
        stacklevel=caller_stacklevel(),
    )


def _tensor_layout_check(W, arr: np.ndarray, name: str) -> None:
    """Warn when a tensor passed as a packing has fewer rows than columns (``nn.Linear`` weight layout)."""
    if is_tensor_like(W) and arr.ndim in (2, 3) and arr.shape[-2] < arr.shape[-1]:
        warn_layout(
            arr.shape,
            f"the tensor {name}",
            f"if it is an nn.Linear weight pass packing.from_torch_layout({name}); to use it as stored "
            f"(rows are features) pass {name}.detach().cpu().numpy().",
        )


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, int) and not isinstance(value, bool):
        return show_int(value) if abs(value) >= 10**30 else f"int {value}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def show_int(value: int) -> str:
    """``value`` as text, abbreviated for huge ints (``10**5000`` cannot even be printed in full).

    Examples
    --------
    >>> show_int(12), show_int(10**160 + 1)
    ('12', 'a 161-digit integer (about 1.0e160)')
    """
    value = int(value)
    if abs(value) < 10**30:
        return str(value)
    sign = "-" if value < 0 else ""
    if value.bit_length() < 14_000:  # str() of ints beyond ~4300 digits is refused by Python
        text = str(abs(value))
        return f"a {len(text)}-digit integer (about {sign}{text[0]}.{text[1]}e{len(text) - 1})"
    exponent = math.log10(abs(value))
    return f"a {int(exponent) + 1}-digit integer (about {sign}1e{int(exponent)})"


def _as_array(value, name: str, expected: str) -> np.ndarray:
    """Return ``value`` as a real numeric ndarray (no copy if it is one); refuse anything else.

    ``expected`` says what the argument should be (``"a real 2-D array of shape (n, d)"``).
    Complex, object, string and ragged input is a ``TypeError`` naming ``name``.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} must be {expected}, not a masked array (its masked entries would be read as they "
            f"are stored); got {_describe(value)}. Pass {name}.filled(value) or drop the masked rows."
        )
    if isinstance(value, np.ndarray):
        arr = value if type(value) is np.ndarray else np.asarray(value)  # np.matrix indexes as 2-D rows
    else:
        if isinstance(value, str | bytes) or value is None:
            raise TypeError(f"{name} must be {expected}; got {_describe(value)}.")
        arr = as_array(value, name)  # nested sequences, __array__, framework tensors
    if arr.dtype.kind == "c":
        raise TypeError(
            f"{name} must be real; got a complex array (dtype {arr.dtype}). "
            f"Pass W.real or stack real and imaginary parts as extra columns."
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be {expected}; got {_describe(value)}.")
    return arr


def _float_array(arr: np.ndarray, dtype, name: str, copy: bool = False) -> np.ndarray:
    """``arr`` as float32/float64 (its own precision unless ``dtype`` is given; ints and bools: float64)."""
    if dtype is not None:
        target = np.dtype(dtype)
    elif arr.dtype in (np.float32, np.float64):
        target = arr.dtype
    else:
        target = np.dtype(np.float64)
    with np.errstate(over="ignore"):
        out = np.array(arr, dtype=target, copy=copy or None)
    if arr.dtype.kind == "f" and arr.dtype.itemsize > out.dtype.itemsize:  # e.g. longdouble entries
        overflow = np.isfinite(arr) & ~np.isfinite(out)
        if overflow.any():
            bad = tuple(int(i) for i in np.argwhere(overflow)[0])
            raise ValueError(
                f"{name} must fit in {out.dtype}; got {np.format_float_scientific(arr[bad], precision=3)} "
                f"at index {bad} (dtype {arr.dtype})."
            )
    return out


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

    Examples
    --------
    >>> check_packing([[1, 0], [0, 1]]).dtype
    dtype('float64')
    >>> check_packing([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: W must be 2-D with shape (n_features, d), one row per feature; got 1-D shape (2,). ...
    >>> check_packing("[[1, 0]]")
    Traceback (most recent call last):
    ...
    TypeError: W must be a real numeric array of shape (n, d); got str '[[1, 0]]'.
    """
    arr = _as_array(W, name, "a real numeric array of shape (n, d)")
    _tensor_layout_check(W, arr, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_features, d), one row per feature; "
            f"got {arr.ndim}-D shape {arr.shape}."
            + (" Use W[None, :] for a single vector." if arr.ndim == 1 else "")
        )
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least {min_rows} row(s) and 1 column; got shape {arr.shape}.")
    return check_finite(_float_array(arr, dtype, name, copy), name)


def check_batch(W, name: str = "W", *, dtype=None, min_instances: int = 1) -> tuple[np.ndarray, bool]:
    """Return a packing or a batch of packings as a finite float array ``(instances, n, d)``.

    The one validator of batches: a 2-D ``(n, d)`` array is one instance (the
    second value returned says it came 2-D). float32 and float64 keep their
    precision unless ``dtype`` is given; integer and boolean input become
    float64. Every instance needs ``n >= 1`` rows and ``d >= 1`` columns; a
    batch needs at least ``min_instances`` instances. A non-finite entry of
    instance ``k`` is reported as ``{name}[k]``.

    Examples
    --------
    >>> B, single = check_batch(np.ones((5, 2)))
    >>> B.shape, B.dtype, single
    ((1, 5, 2), dtype('float64'), True)
    >>> check_batch(np.ones(5))
    Traceback (most recent call last):
    ...
    ValueError: W must have shape 2-D (n_features, d) or 3-D (instances, n_features, d); got 1-D shape (5,).
    >>> check_batch(np.array([[[1.0]], [[np.nan]]]))
    Traceback (most recent call last):
    ...
    ValueError: W[1] must be finite; found nan at index (0, 0).
    """
    arr = _as_array(W, name, "a real numeric array")
    _tensor_layout_check(W, arr, name)
    if arr.ndim not in (2, 3) or 0 in arr.shape[-2:]:
        raise ValueError(
            f"{name} must have shape 2-D (n_features, d) or 3-D (instances, n_features, d); "
            f"got {arr.ndim}-D shape {arr.shape}."
        )
    if arr.ndim == 3 and arr.shape[0] < min_instances:
        raise ValueError(f"{name} must hold at least {min_instances} instance(s); got shape {arr.shape}.")
    arr = _float_array(arr, dtype, name)
    if arr.ndim == 2:
        return check_finite(arr, name)[None], True
    if not np.isfinite(arr).all():
        k = int(np.argwhere(~np.isfinite(arr))[0][0])
        check_finite(arr[k], f"{name}[{k}]")
    return arr, False


def check_packings(W, name: str = "W", *, min_instances: int = 1) -> np.ndarray:
    """Return a packing ``(n, d)`` or a batch ``(instances, n, d)`` as a validated float array.

    :func:`check_batch` that keeps the number of dimensions of its input.

    Examples
    --------
    >>> check_packings(np.zeros((2, 3, 1))).shape
    (2, 3, 1)
    >>> check_packings(np.zeros(3))
    Traceback (most recent call last):
    ...
    ValueError: W must have shape 2-D (n_features, d) or 3-D (instances, n_features, d); got 1-D shape (3,).
    """
    arr, single = check_batch(W, name, min_instances=min_instances)
    return arr[0] if single else arr


def check_real(value, name: str, *, dtype=None) -> np.ndarray:
    """Return ``value`` as a real float array of any shape (values unchecked).

    float32 and float64 keep their precision unless ``dtype`` is given; integer
    and boolean input become float64. Anything else is a ``TypeError``.
    """
    return _float_array(_as_array(value, name, "a real numeric array"), dtype, name)


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Return ``arr`` if every entry is finite; otherwise name the first bad entry and its index."""
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
            raise TypeError(f"{name} must be an integer; got float {value!r}. Pass int({value!r}).")
        raise TypeError(f"{name} must be an integer; got {_describe(value)}.")
    value = int(operator.index(value))
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {show_int(minimum)}; got {show_int(value)}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {show_int(maximum)}; got {show_int(value)}.")
    return value


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
    try:
        value = float(value)
    except OverflowError:  # an int or Fraction beyond the float range
        raise ValueError(
            f"{name} must be a finite number in the float range; got {_describe(value)}."
        ) from None
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
    values = np.ravel(p) if isinstance(p, np.ndarray) else list(p)
    orders = tuple(check_p(v, f"{name}[{i}]") for i, v in enumerate(values))
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


def check_instance(value, cls: type, name: str, *, what: str | None = None):
    """Return ``value`` if it is an instance of ``cls``; else raise naming ``name``.

    ``what`` describes the expected object (default: the class name), e.g.
    ``"a TegumFactors from tegum_factors(W)"``.
    """
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {what or 'a ' + cls.__name__}; got {type(value).__name__}.")
    return value


def check_axes(ax, name: str = "ax"):
    """Return ``ax`` if it is a matplotlib ``Axes``; raise naming ``name`` otherwise."""
    from matplotlib.axes import Axes  # deferred: only the plotting functions load matplotlib

    if not isinstance(ax, Axes):
        raise TypeError(f"{name} must be a matplotlib Axes (fig, ax = plt.subplots()); got {_describe(ax)}.")
    return ax


def check_callable(fn, name: str, arities: tuple[int, ...], what: str):
    """Return ``fn`` if it can be called with one of ``arities`` positional arguments; else a TypeError.

    Builtins without a signature are trusted. Returns ``(fn, arity)`` with the largest arity that binds.

    Examples
    --------
    >>> check_callable(lambda m, D: 0.0, "cost", (2,), "a callable f(m, D) -> float")[1]
    2
    >>> check_callable(lambda: 0.0, "cost", (2,), "a callable f(m, D) -> float")
    Traceback (most recent call last):
    ...
    TypeError: cost must be a callable f(m, D) -> float; got a callable with signature ().
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn, max(arities)
    for arity in sorted(arities, reverse=True):
        try:
            signature.bind(*range(arity))
        except TypeError:
            continue
        return fn, arity
    raise TypeError(f"{name} must be {what}; got a callable with signature {signature}.")


def check_vector(value, name: str, *, length: int | None = None, allow_nan: bool = False) -> np.ndarray:
    """Return ``value`` as a 1-D float64 array (of ``length`` entries if given), finite unless NaN is allowed.

    Examples
    --------
    >>> check_vector([1, 2], "x")
    array([1., 2.])
    >>> check_vector([1.0, np.inf], "x")
    Traceback (most recent call last):
    ...
    ValueError: x must be finite; found inf at index (1,).
    """
    arr = _float_array(_as_array(value, name, "a 1-D array of real numbers"), np.float64, name)
    if arr.ndim != 1 or (length is not None and arr.shape[0] != length):
        want = f"have shape ({length},)" if length is not None else "be 1-D"
        raise ValueError(f"{name} must {want}; got shape {arr.shape}.")
    if allow_nan:
        check_finite(np.where(np.isnan(arr), 0.0, arr), name)
    else:
        check_finite(arr, name)
    return arr


# --------------------------------------------------------------------------- choices and options
def check_choice(value, name: str, choices, *, expected: str | None = None) -> str:
    """Return ``value`` if it is one of the strings ``choices``; raise naming ``name`` otherwise.

    The message says ``{name} must be {expected}``; ``expected`` defaults to
    ``one of 'a', 'b'`` and may spell the choices out with their meaning.

    Examples
    --------
    >>> check_choice("adam", "optimizer", ("adam", "sgd"))
    'adam'
    >>> check_choice("Adam", "optimizer", ("adam", "sgd"))
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of 'adam', 'sgd'; got 'Adam'.
    >>> check_choice("hadamard", "kind", ("random", "mub"), expected="'random' or 'mub'")
    Traceback (most recent call last):
    ...
    ValueError: kind must be 'random' or 'mub'; got 'hadamard'.
    """
    if not isinstance(value, str) or value not in choices:
        expected = f"one of {', '.join(map(repr, choices))}" if expected is None else expected
        got = repr(value) if isinstance(value, str) else _describe(value)
        raise ValueError(f"{name} must be {expected}; got {got}.")
    return value


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return float32 or float64 as a numpy dtype; anything else is an error.

    Examples
    --------
    >>> check_dtype("float32")
    dtype('float32')
    >>> check_dtype(np.float16)
    Traceback (most recent call last):
    ...
    ValueError: dtype must be np.float32 or np.float64; got <class 'numpy.float16'>.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} must be np.float32 or np.float64; got {dtype!r}.")
    return dt


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a Python bool if it is ``True`` or ``False`` (numpy bools included)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {_describe(value)}.")
    return bool(value)


def check_blas_threads(value, name: str = "blas_threads") -> int | None:
    """Return ``None`` (leave BLAS alone) or an int >= 1."""
    return None if value is None else check_int(value, name, minimum=1)


def check_pair(value, name: str, what: str) -> tuple:
    """Return ``value`` as a tuple if it is a list or tuple of length 2; ``what`` names its entries."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise TypeError(f"{name} must be a pair {what}; got {_describe(value)}.")
    return tuple(value)


def check_optimizer_options(
    optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, *, optimizers, schedules
) -> dict:
    """Validate the optimizer keywords shared by every trainer; return them as a normalized dict.

    ``optimizers`` and ``schedules`` are the accepted names (their owner is the trainer's optimizer module).

    Examples
    --------
    >>> opts = check_optimizer_options("sgd", "constant", 0.1, 0, (0.9, 0.999), 1e-8, 0, 10,
    ...                                optimizers=("adam", "sgd"), schedules=("constant",))
    >>> opts["lr"], opts["betas"], opts["steps"]
    (0.1, (0.9, 0.999), 10)
    >>> check_optimizer_options("sgd", "constant", 0.1, 0, (0.9, 1.0), 1e-8, 0, 10,
    ...                         optimizers=("sgd",), schedules=("constant",))
    Traceback (most recent call last):
    ...
    ValueError: betas[1] must be < 1.0; got 1.0.
    """
    betas = check_pair(betas, "betas", "(beta1, beta2)")
    return dict(
        optimizer=check_choice(optimizer, "optimizer", optimizers),
        schedule=check_choice(schedule, "schedule", schedules),
        lr=check_float(lr, "lr", minimum=0.0, strict_min=True),
        weight_decay=check_float(weight_decay, "weight_decay", minimum=0.0),
        betas=tuple(
            check_float(beta, f"betas[{i}]", minimum=0.0, maximum=1.0, strict_max=True)
            for i, beta in enumerate(betas)
        ),
        eps=check_float(eps, "eps", minimum=0.0, strict_min=True),
        momentum=check_float(momentum, "momentum", minimum=0.0, maximum=1.0, strict_max=True),
        steps=check_int(steps, "steps", minimum=1),
    )


def seeded_rng(rng, name: str = "rng") -> tuple[np.random.Generator, int | None]:
    """Return ``(generator, seed)`` for ``rng``: the seed (SeedSequence entropy) reruns the same stream.

    ``seed`` is ``None`` when a Generator was passed (its state cannot be recorded).

    Examples
    --------
    >>> gen, seed = seeded_rng(3)
    >>> seed, bool(gen.random() == np.random.default_rng(3).random())
    (3, True)
    """
    if isinstance(rng, np.random.Generator):
        return rng, None
    check_rng(rng, name)
    ss = np.random.SeedSequence(rng)
    return np.random.default_rng(ss), ss.entropy


# --------------------------------------------------------------------------- tables and batches
def check_table(value, name: str, n_features: int, *, one_d: str, minimum: float, maximum=None) -> np.ndarray:
    """Return a per-feature / per-instance table as float64 of shape ``(m, n_features)``, m = 1 or instances.

    A scalar applies everywhere; a 1-D array is one value per instance (``one_d="instance"``)
    or per feature (``one_d="feature"``); a 2-D array is ``(instances, n_features)``, where a
    leading dimension of 1 broadcasts over instances. Values must be finite and lie in
    ``[minimum, maximum]``.

    Examples
    --------
    >>> check_table([0.5, 0.9], "sparsity", 3, one_d="instance", minimum=0.0, maximum=1.0).shape
    (2, 3)
    >>> check_table([1.0, 2.0], "importance", 3, one_d="feature", minimum=0.0)
    Traceback (most recent call last):
    ...
    ValueError: importance given as a 1-D array is one value per feature and must have length n_features=3; got length 2. For per-instance values pass shape (n_instances, n_features).
    """  # noqa: E501
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.")
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.")
    try:
        arr = np.asarray(as_array(value, name), dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}.") from None
    rows = arr.shape[0] if arr.ndim in (1, 2) and not (arr.ndim == 1 and one_d == "feature") else 1
    check_memory(
        16 * rows * n_features, name, "one float64 value per instance and feature", n_features=n_features
    )
    if arr.ndim == 0:
        arr = arr.reshape(1, 1) * np.ones((1, n_features))
    elif arr.ndim == 1 and one_d == "instance":
        arr = arr[:, None] * np.ones((1, n_features))
    elif arr.ndim == 1:
        if arr.shape[0] != n_features:
            raise ValueError(
                f"{name} given as a 1-D array is one value per feature and must have length "
                f"n_features={n_features}; got length {arr.shape[0]}. For per-instance values pass "
                f"shape (n_instances, n_features)."
            )
        arr = arr[None, :]
    elif arr.ndim == 2:
        if arr.shape[1] != n_features:
            raise ValueError(
                f"{name} given as a 2-D array must have shape (n_instances, n_features={n_features}); "
                f"got shape {arr.shape}."
            )
    else:
        raise ValueError(f"{name} must be a scalar, 1-D or 2-D; got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr[~np.isfinite(arr)][0]}.")
    bad = (arr < minimum) | ((arr > maximum) if maximum is not None else False)
    if bad.any():
        where = f"[{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} values must lie in {where}; got {arr[bad][0]}.")
    return arr


def check_instances(n_instances, tables: dict, name: str = "n_instances") -> int:
    """Return the number of instances given by ``tables`` (name -> table of 1 or m rows) and ``n_instances``.

    Tables with one row broadcast; all others must agree with each other and with
    ``n_instances`` when it is given (default 1 when nothing says otherwise).

    Examples
    --------
    >>> check_instances(None, {"sparsity": np.zeros((3, 4)), "importance": np.ones((1, 4))})
    3
    >>> check_instances(2, {"sparsity": np.zeros((3, 4))})
    Traceback (most recent call last):
    ...
    ValueError: n_instances=2 but sparsity has 3 per-instance rows.
    """
    rows = {k: v.shape[0] for k, v in tables.items() if v.shape[0] != 1}
    if n_instances is not None:
        n_instances = check_int(n_instances, name, minimum=1)
    sizes = set(rows.values())
    if len(sizes) > 1:
        raise ValueError(
            "per-instance arrays disagree on the number of instances: they must have the same number "
            "of rows (or one); found " + ", ".join(f"{k} has {m}" for k, m in rows.items()) + "."
        )
    if not sizes:
        return 1 if n_instances is None else n_instances
    m = sizes.pop()
    if n_instances is not None and n_instances != m:
        raise ValueError(f"{name}={n_instances} but {next(iter(rows))} has {m} per-instance rows.")
    return m


# ---------------------------------------------------------------- choice lists, array dtypes, int tables


def check_choices(values, name: str, choices, *, what: str = "values") -> tuple[str, ...]:
    """Return a tuple of choices from a sequence of them (a single string counts as one choice).

    Examples
    --------
    >>> check_choices("ideal", "include", ("ideal", "random"), what="references")
    ('ideal',)
    >>> check_choices(["ideal", "best"], "include", ("ideal", "random"), what="references")
    Traceback (most recent call last):
    ...
    ValueError: include must name references among ('ideal', 'random'); got 'best'.
    """
    choices = tuple(choices)
    if isinstance(values, str):
        values = (values,)
    elif not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of {what} among {choices}; got {_describe(values)}.")
    out = tuple(values)
    for item in out:
        if not isinstance(item, str) or item not in choices:
            raise ValueError(f"{name} must name {what} among {choices}; got {item!r}.")
    return out


def check_array_dtype(
    arr: np.ndarray, name: str, *, kinds: str = "biuf", expected: str = "real numeric"
) -> np.ndarray:
    """Return ``arr`` if its dtype kind is one of ``kinds`` (numpy kind codes), else raise TypeError.

    Examples
    --------
    >>> check_array_dtype(np.array(["a"]), "the stored array")
    Traceback (most recent call last):
    ...
    TypeError: the stored array must be real numeric; got array of shape (1,) and dtype <U1.
    """
    if arr.dtype.kind not in kinds:
        raise TypeError(f"{name} must be {expected}; got {_describe(arr)}.")
    return arr


def check_int_table(
    values,
    name: str,
    *,
    minimum: int | None = 0,
    length: int | None = None,
    item: str = "value",
    per: str = "item",
) -> list[int]:
    """Return a non-empty sequence of ints (each ``>= minimum``), one per ``per`` if ``length`` is given.

    Examples
    --------
    >>> check_int_table([3, 2], "block_sizes", minimum=1, item="block size")
    [3, 2]
    >>> check_int_table([1], "within", length=2, item="count", per="block")
    Traceback (most recent call last):
    ...
    ValueError: within must have one count per block (2); got 1.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        lowest = "" if minimum is None else f" >= {minimum}"
        raise TypeError(f"{name} must be a sequence of ints{lowest}; got {_describe(values)}.")
    out = [check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(values)]
    if length is not None and len(out) != length:
        raise ValueError(f"{name} must have one {item} per {per} ({length}); got {len(out)}.")
    if not out:
        raise ValueError(f"{name} must hold at least one {item}; got an empty sequence.")
    return out


def check_divisor(
    value: int, name: str, targets: dict[str, int], *, purpose: str, listing: str, hint: str = ""
) -> int:
    """Return the int ``value`` if it divides every target; the message lists the admissible values.

    Examples
    --------
    >>> check_divisor(2, "k", {"n": 9}, purpose="k equal blocks", listing="Divisors of 9")
    Traceback (most recent call last):
    ...
    ValueError: k must divide n=9 for k equal blocks; got k=2. Divisors of 9: [1, 3, 9].
    """
    if any(t % value for t in targets.values()):
        common = math.gcd(*targets.values())
        both = "both " if len(targets) == 2 else "all of " if len(targets) > 2 else ""
        where = " and ".join(f"{k}={show_int(v)}" for k, v in targets.items())
        got = f"got {name}={show_int(value)}. {listing}: {divisor_listing(common)}{hint}."
        raise ValueError(f"{name} must divide {both}{where} for {purpose}; {got}")
    return value


def divisor_listing(common: int, most: int = 40) -> str:
    """Return the divisors of ``common`` for a message (the first ``most`` of them, if factorable).

    Examples
    --------
    >>> divisor_listing(12), divisor_listing(2**80)[-30:]
    ('[1, 2, 3, 4, 6, 12]', '888, ... (81 divisors in all)]')
    """
    try:
        count = divisor_count(common)
        if count > 10_000:
            return f"the {show_int(count)} divisors of {show_int(common)}"
        found = divisors(common)
    except FactorizationLimit:
        return f"the divisors of {show_int(common)}"
    if count <= most:
        return str(found)
    return f"[{', '.join(map(str, found[:most]))}, ... ({count} divisors in all)]"


def check_equal_blocks(n: int, d: int, k) -> int:
    """Return the count ``k`` of equal blocks of ``n`` features in ``d`` dims (``k`` divides both)."""
    k = check_int(k, "k", minimum=1)
    return check_divisor(
        k,
        "k",
        {"n": n, "d": d},
        purpose="k equal blocks",
        listing="Admissible k",
        hint=" (use packing.optimal_partition for uneven blocks)",
    )


# --------------------------------------------------------------------------- independent random streams


def check_seed_sequence(rng, name: str = "rng") -> np.random.SeedSequence:
    """Return the root ``SeedSequence`` of a run from ``None``, an int seed, a SeedSequence or a Generator.

    A Generator gives a child spawned from its seed sequence (the generator's
    state is not advanced, and each call gets a new child); a generator without
    a seed sequence gives one drawn from it. Derive independent streams with
    :func:`child_rng`.
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        seq = rng.bit_generator.seed_seq
        if isinstance(seq, np.random.SeedSequence):
            return seq.spawn(1)[0]
        return np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
    check_rng(rng, name)  # None or a non-negative int; raises naming `name` otherwise
    return np.random.SeedSequence(rng)


def child_seed(seed: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """Return the independent child ``key`` of ``seed`` (keyed, not counted: independent of call order).

    ``child_seed(s, 1, 7)`` is what ``s.spawn`` would give as grandchild
    ``(1, 7)``; consumers that use distinct keys draw from independent streams.
    """
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *key), pool_size=seed.pool_size)


def child_rng(seed: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """Return a Generator on the independent stream :func:`child_seed` ``(seed, *key)``."""
    return np.random.default_rng(child_seed(seed, *key))


# --------------------------------------------------------------------------- resource guards


def call_text(func: str, **sizes) -> str:
    """``func(a=1, b=2)`` with huge ints abbreviated, for messages.

    Examples
    --------
    >>> call_text("random_packing", n=10**40, d=3)
    'random_packing(n=a 41-digit integer (about 1.0e40), d=3)'
    """
    shown = (f"{k}={show_int(v) if isinstance(v, int) else repr(v)}" for k, v in sizes.items())
    return f"{func}({', '.join(shown)})"


def check_memory(nbytes, func: str, purpose: str, **sizes) -> int:
    """Refuse, before allocating, a call that would need more than the memory limit; return ``nbytes``.

    ``nbytes`` is the caller's estimate (an int, however large), ``func`` and
    ``sizes`` name the call and the arguments that make it large (as the user
    passed them), ``purpose`` says what the memory is for. The limit is
    :func:`packing.get_memory_limit` (half of physical memory by default).

    Examples
    --------
    >>> check_memory(8 * 10**12, "random_packing", "the (n, d) float64 array", n=10**11, d=10)
    Traceback (most recent call last):
    ...
    packing.ResourceLimitError: random_packing(n=100000000000, d=10) would need about 7.3 TiB \
for the (n, d) float64 array, more than the memory limit of ...
    """
    limit, source = memory_limit_and_source()
    if nbytes > limit:
        raise ResourceLimitError(
            f"{call_text(func, **sizes)} would need about {format_bytes(nbytes)} for {purpose}, more than "
            f"the memory limit of {format_bytes(limit)} ({source}). Use smaller sizes, or raise the limit "
            f"with packing.set_memory_limit(nbytes) if the machine has the memory."
        )
    return int(nbytes)
