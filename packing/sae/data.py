"""Activations whose packing is known: sparse codes times a packing, and a toy model's hidden layer.

:func:`sparse_activations` draws sparse non-negative feature vectors ``v`` (one
per sample) and returns the activations ``h = v W (+ noise)`` of a packing ``W``
of shape ``(n, d)`` (rows are features), together with the true codes ``v``.
This is the synthetic data of Sharkey, Braun & Millidge (2022, "Taking features
out of superposition with sparse autoencoders") and Cunningham et al. (2023),
generalised to any packing, any per-feature frequency and magnitude law,
correlated features and noise.

:func:`toy_model_activations` returns the hidden activations ``h = x W`` of a
trained toy model of superposition (:func:`packing.train_toy_model`) on inputs
drawn from its own training distribution; the true directions are the model's
rows.

Both return a :class:`SparseActivations`: the activations, the true directions
and the codes in compressed sparse row form (``codes`` gives a
``scipy.sparse.csr_array``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .._results import Savable
from .._validation import (
    check_choice,
    check_dtype,
    check_float,
    check_instance,
    check_int,
    check_memory,
    check_packing,
    check_real,
    seeded_rng,
)

if TYPE_CHECKING:  # scipy.sparse is imported where used: `import packing` does not load it
    import scipy.sparse as sp

__all__ = ["SparseActivations", "sparse_activations", "toy_model_activations", "feature_frequencies"]

FREQUENCIES = ("equal", "geometric")
MAGNITUDES = ("uniform", "constant")
#: Samples drawn at once (bounds the dense uniform draws to a few tens of MiB).
_CHUNK = 8192


@dataclass
class SparseActivations(Savable, schema=1):
    """Activations ``h = v W (+ noise)`` with their true codes ``v`` and true directions ``W``.

    Attributes
    ----------
    activations : ndarray, shape (n_samples, d)
        One row per sample.
    W : ndarray, shape (n_features, d)
        The true feature directions (rows are features), as given.
    code_indptr, code_indices, code_values : ndarray
        The codes ``v`` (shape ``(n_samples, n_features)``) in compressed sparse
        row form: the active features of sample ``s`` are
        ``code_indices[code_indptr[s]:code_indptr[s + 1]]`` with values
        ``code_values[...]``. :attr:`codes` assembles them.
    frequencies : ndarray, shape (n_features,)
        The probability that each feature is active in a sample.
    config : dict
        The arguments that produced the data (``sparse_activations(**config)``
        or ``toy_model_activations(**config)`` gives it again, bit for bit).
    """

    activations: np.ndarray
    W: np.ndarray
    code_indptr: np.ndarray
    code_indices: np.ndarray
    code_values: np.ndarray
    frequencies: np.ndarray
    config: dict = field(repr=False)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.activations.shape[0])

    @property
    def n_features(self) -> int:
        """Number of true features."""
        return int(self.W.shape[0])

    @property
    def d(self) -> int:
        """Dimension of the activations."""
        return int(self.activations.shape[1])

    @property
    def codes(self) -> sp.csr_array:
        """The true codes ``v`` as a ``scipy.sparse.csr_array`` of shape ``(n_samples, n_features)``."""
        import scipy.sparse as sp

        return sp.csr_array(
            (self.code_values, self.code_indices, self.code_indptr), shape=(self.n_samples, self.n_features)
        )

    def dense_codes(self) -> np.ndarray:
        """Return the true codes as a dense ``(n_samples, n_features)`` array (mind the memory)."""
        return self.codes.toarray()

    @property
    def mean_l0(self) -> float:
        """Mean number of active features per sample."""
        return float(len(self.code_values) / max(self.n_samples, 1))


def feature_frequencies(n_features, *, density=None, n_active=None, frequencies="equal", decay=0.99):
    """Per-feature activation probabilities with a given mean.

    Parameters
    ----------
    n_features : int
    density : float, optional
        Mean probability that a feature is active, in (0, 1].
    n_active : float, optional
        Expected number of active features per sample, ``density * n_features``;
        give ``density`` or ``n_active``.
    frequencies : {"equal", "geometric"}
        ``"equal"``: every feature has probability ``density``. ``"geometric"``:
        ``p_i ∝ decay**i`` (feature 0 the most frequent), scaled so that the
        probabilities add up to ``n_active`` (capped at 1, the rest spread over
        the others), as in Sharkey et al. (2022), whose decay was 0.99.
    decay : float
        Ratio of consecutive probabilities for ``"geometric"``, in (0, 1].

    Returns
    -------
    ndarray, shape (n_features,)

    Examples
    --------
    >>> p = feature_frequencies(512, n_active=5, frequencies="geometric")
    >>> round(float(p.sum()), 6), round(float(p[0] / p[1]), 6)
    (5.0, 1.010101)
    >>> feature_frequencies(4, density=0.5)
    array([0.5, 0.5, 0.5, 0.5])
    >>> feature_frequencies(4, density=0.5, n_active=2)
    Traceback (most recent call last):
    ...
    ValueError: give density or n_active, not both; got density=0.5 and n_active=2.
    """
    n = check_int(n_features, "n_features")
    check_memory(24 * n, "feature_frequencies", "the frequencies of the features", n_features=n)
    frequencies = check_choice(frequencies, "frequencies", FREQUENCIES)
    decay = check_float(decay, "decay", minimum=0.0, maximum=1.0, strict_min=True)
    total = _expected_active(n, density, n_active)
    if frequencies == "equal":
        return np.full(n, total / n)
    weights = decay ** np.arange(n, dtype=np.float64)
    p = np.zeros(n)
    free = np.ones(n, dtype=bool)
    for _ in range(n):  # water-filling: features that would exceed probability 1 are capped at 1
        rest = total - (n - free.sum())
        p[free] = weights[free] * (rest / weights[free].sum())
        over = free & (p > 1.0)
        if not over.any():
            break
        p[over], free[over] = 1.0, False
    return np.minimum(p, 1.0)


def _expected_active(n, density, n_active) -> float:
    """Return the expected number of active features from ``density`` or ``n_active`` (exactly one given)."""
    if density is not None and n_active is not None:
        raise ValueError(
            f"give density or n_active, not both; got density={density!r} and n_active={n_active!r}."
        )
    if density is None and n_active is None:
        raise ValueError("give density (mean probability a feature is active) or n_active; got neither.")
    if density is not None:
        return check_float(density, "density", minimum=0.0, maximum=1.0, strict_min=True) * n
    return check_float(n_active, "n_active", minimum=0.0, maximum=float(n), strict_min=True)


def _check_probabilities(value, n: int) -> np.ndarray:
    arr = check_real(value, "density", dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(
            f"density given as an array is one probability per feature and must have shape ({n},); "
            f"got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        bad = arr[~(np.isfinite(arr) & (arr >= 0) & (arr <= 1))][0]
        raise ValueError(f"density values must lie in [0, 1]; got {bad}.")
    return arr


def _check_magnitudes(magnitudes, n: int):
    if isinstance(magnitudes, str):
        return check_choice(magnitudes, "magnitudes", MAGNITUDES)
    arr = check_real(magnitudes, "magnitudes", dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(
            f"magnitudes must be 'uniform', 'constant' or one maximum per feature, shape ({n},); "
            f"got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(
            f"magnitudes must be finite and >= 0; got {arr[~(np.isfinite(arr) & (arr >= 0))][0]}."
        )
    return arr


def _check_correlation(correlation, n: int):
    """Return ``None`` or the lower Cholesky factor of a valid correlation matrix."""
    if correlation is None:
        return None, None
    if isinstance(correlation, bool | np.bool_):
        raise TypeError(
            f"correlation must be None, a number in [0, 1) or an (n, n) matrix; got {correlation!r}."
        )
    arr = check_real(correlation, "correlation", dtype=np.float64)
    if arr.ndim == 0:
        rho = check_float(float(arr), "correlation", minimum=0.0, maximum=1.0, strict_max=True)
        C = np.full((n, n), rho)
        np.fill_diagonal(C, 1.0)
        stored = rho
    else:
        if arr.shape != (n, n):
            raise ValueError(
                f"correlation given as a matrix must have shape ({n}, {n}); got shape {arr.shape}."
            )
        if not np.isfinite(arr).all() or not np.allclose(arr, arr.T) or not np.allclose(np.diag(arr), 1.0):
            raise ValueError("correlation must be a finite symmetric matrix with ones on its diagonal.")
        C, stored = arr, arr.copy()
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError(
            "correlation must be positive definite (its Cholesky factorization failed)."
        ) from None
    return L, stored


def sparse_activations(
    W,
    *,
    n_samples,
    density=None,
    n_active=None,
    frequencies="equal",
    decay=0.99,
    magnitudes="uniform",
    correlation=None,
    noise=0.0,
    dtype=np.float32,
    rng=None,
) -> SparseActivations:
    """Draw sparse codes ``v`` and return the activations ``h = v W + noise`` of the packing ``W``.

    Each sample activates feature ``i`` with probability ``p_i`` (independently,
    or through a Gaussian copula when ``correlation`` is given: the marginal
    probabilities stay ``p_i``); an active feature has magnitude uniform on
    [0, 1) (``magnitudes="uniform"``, as in Sharkey et al. 2022), 1
    (``"constant"``) or uniform on [0, m_i) for per-feature maxima ``m_i``.

    Parameters
    ----------
    W : array_like, shape (n_features, d)
        The true directions, one row per feature (rows are used as given, not normalised).
    n_samples : int
    density : float or array_like, optional
        Mean probability that a feature is active (a float, shaped by
        ``frequencies``), or one probability per feature (shape ``(n_features,)``).
    n_active : float, optional
        Expected number of active features per sample (``density * n_features``).
    frequencies : {"equal", "geometric"}
        How the probabilities are spread over the features (see :func:`feature_frequencies`).
    decay : float
        Ratio of consecutive probabilities for ``"geometric"`` (0.99 in Sharkey et al.).
    magnitudes : {"uniform", "constant"} or array_like of shape (n_features,)
    correlation : None, float in [0, 1), or array_like of shape (n_features, n_features)
        Correlation of the latent Gaussians deciding which features are active
        (a float: the same for every pair).
    noise : float
        Standard deviation of isotropic Gaussian noise added to ``h``.
    dtype : np.float32 (default) or np.float64
    rng : None, int or numpy.random.Generator

    Returns
    -------
    SparseActivations

    Examples
    --------
    The toy of Sharkey et al. (2022): 512 random directions in 256 dims, about 5
    active per sample with geometrically decaying frequencies.

    >>> W = random_packing(512, 256, rng=0)
    >>> data = sparse_activations(W, n_samples=20000, n_active=5, frequencies="geometric", rng=0)
    >>> data.activations.shape, data.codes.shape, round(data.mean_l0, 1)
    ((20000, 256), (20000, 512), 5.0)
    >>> bool(np.allclose(data.codes @ W, data.activations, atol=1e-5))
    True
    >>> sparse_activations(W, n_samples=10, density=1.5)
    Traceback (most recent call last):
    ...
    ValueError: density must be <= 1.0; got 1.5.
    """
    W = check_packing(W)
    n, d = W.shape
    n_samples = check_int(n_samples, "n_samples")
    if density is not None and np.ndim(density) == 1:
        if n_active is not None:
            raise ValueError("give density or n_active, not both.")
        p = _check_probabilities(density, n)
        density_cfg = p.copy()
    else:
        p = feature_frequencies(n, density=density, n_active=n_active, frequencies=frequencies, decay=decay)
        density_cfg = density
    mags = _check_magnitudes(magnitudes, n)
    L, corr_cfg = _check_correlation(correlation, n)
    noise = check_float(noise, "noise", minimum=0.0)
    dt = check_dtype(dtype)
    gen, seed = seeded_rng(rng)
    # the activations (float64, then dtype) and the codes (CSR: an index and a value per active entry)
    active = n_samples * float(np.sum(p))
    need = n_samples * (8 + d * (8 + dt.itemsize)) + active * (4 + 8 + dt.itemsize) + 16 * _CHUNK * n
    check_memory(int(need), "sparse_activations", "the activations and codes", n_samples=n_samples, n=n, d=d)
    config = dict(
        W=W.copy(),
        n_samples=n_samples,
        density=density_cfg,
        n_active=n_active,
        frequencies=frequencies,
        decay=decay,
        magnitudes=mags if isinstance(mags, str) else mags.copy(),
        correlation=corr_cfg,
        noise=noise,
        dtype=dt.type,
        rng=seed,
    )
    import scipy.sparse as sp

    indptr, indices, values = _draw_codes(p, mags, L, n_samples, gen)
    codes = sp.csr_array((values, indices, indptr), shape=(n_samples, n))
    H = np.asarray(codes @ W.astype(np.float64))
    if noise:
        H += noise * gen.standard_normal(H.shape)
    return SparseActivations(H.astype(dt), W.copy(), indptr, indices, values.astype(dt), p, config)


def _draw_codes(p, mags, L, n_samples, gen):
    """Draw the codes chunk by chunk; return CSR arrays ``(indptr, indices, values)`` (values float64)."""
    from scipy.special import ndtri

    n = len(p)
    z_threshold = ndtri(p) if L is not None else None  # active iff the latent Gaussian is below it
    rows_done, indptr, parts_i, parts_v = 0, [np.zeros(1, dtype=np.int64)], [], []
    for start in range(0, n_samples, _CHUNK):
        m = min(_CHUNK, n_samples - start)
        if L is None:
            active = gen.random((m, n)) < p
        else:
            active = gen.standard_normal((m, n)) @ L.T < z_threshold
        r, c = np.nonzero(active)
        if isinstance(mags, str):
            v = gen.random(len(c)) if mags == "uniform" else np.ones(len(c))
        else:
            v = gen.random(len(c)) * mags[c]
        counts = np.bincount(r, minlength=m)
        indptr.append(indptr[-1][-1] + np.cumsum(counts))
        parts_i.append(c)
        parts_v.append(v)
        rows_done += m
    indices = np.concatenate(parts_i).astype(np.int32) if parts_i else np.zeros(0, np.int32)
    values = np.concatenate(parts_v) if parts_v else np.zeros(0)
    return np.concatenate(indptr).astype(np.int64), indices, values


def toy_model_activations(model, *, n_samples, instance=0, dtype=None, rng=None) -> SparseActivations:
    """Hidden activations ``h = x W`` of a trained toy model on inputs from its training distribution.

    The true directions are the model's rows ``W`` (norms included: a feature the
    model did not learn has a short row); the codes are the inputs ``x`` (feature
    ``i`` is active with the model's density, uniform on [0, 1) when active, with
    its correlated pairs).

    Parameters
    ----------
    model : ToyModelResult
        From :func:`packing.train_toy_model`.
    n_samples : int
    instance : int
        Which instance of the model.
    dtype : np.float32 or np.float64, optional
        Default: the model's.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    SparseActivations
        Its ``config`` records the model's configuration (``model_config``), the
        instance and the sampling options.

    Examples
    --------
    >>> toy = train_toy_model(n_features=20, d=5, sparsity=0.9, steps=200, rng=0)
    >>> data = toy_model_activations(toy, n_samples=1000, rng=0)
    >>> data.activations.shape, data.W.shape
    ((1000, 5), (20, 5))
    >>> toy_model_activations(toy, n_samples=10, instance=3)
    Traceback (most recent call last):
    ...
    ValueError: instance must be <= 0; got 3.
    """
    import scipy.sparse as sp

    from ..train import ToyModelResult, sample_toy_batch

    check_instance(model, ToyModelResult, "model", what="a ToyModelResult from packing.train_toy_model")
    n_samples = check_int(n_samples, "n_samples")
    instance = check_int(instance, "instance", minimum=0, maximum=model.W.shape[0] - 1)
    W = np.asarray(model.W[instance], dtype=np.float64)
    dt = check_dtype(model.W.dtype if dtype is None else dtype)
    gen, seed = seeded_rng(rng)
    cfg = model.config
    n, d = W.shape
    # the dense batch x (float64), its CSR copy and the activations
    need = n_samples * (8 * n + 12 * n + 8 + (8 + dt.itemsize) * d)
    check_memory(need, "toy_model_activations", "the inputs and activations", n_samples=n_samples, n=n, d=d)
    density = 1.0 - np.asarray(model.sparsity[instance], dtype=np.float64)
    x = sample_toy_batch(
        W.shape[0],
        n_samples,
        density=density[None, :],
        n_correlated_pairs=cfg.get("n_correlated_pairs", 0),
        n_anticorrelated_pairs=cfg.get("n_anticorrelated_pairs", 0),
        dtype=np.float64,
        rng=gen,
    )[0]
    codes = sp.csr_array(x)
    codes.sort_indices()
    H = (x @ W).astype(dt)
    config = dict(model_config=dict(cfg), instance=instance, n_samples=n_samples, dtype=dt.type, rng=seed)
    return SparseActivations(
        H,
        W.astype(dt),
        codes.indptr.astype(np.int64),
        codes.indices.astype(np.int32),
        codes.data.astype(dt),
        density,
        config,
    )


def as_activations(activations, name: str = "activations") -> tuple[np.ndarray, SparseActivations | None]:
    """Return ``(array (n_samples, d), source)`` for an array or a :class:`SparseActivations` (private)."""
    if isinstance(activations, SparseActivations):
        return activations.activations, activations
    arr = check_real(activations, name)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(
            f"{name} must be 2-D (n_samples, d), one row per sample; got {arr.ndim}-D shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite; found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}."
        )
    return arr, None
