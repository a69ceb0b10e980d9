"""How well a learned dictionary recovers a known packing: the field's metrics in one place, and SVD.

Conventions reconciled here (cosines of unit rows; rows are features):

* **mean max cosine similarity (MMCS)**, Sharkey et al. (2022): for every true
  feature the largest cosine with any learned latent, averaged (``recovery``,
  truth → learned); the same from every learned latent to the truth
  (``precision``, learned → truth). Signed (a latent pointing the opposite way
  does not recover a feature whose codes are non-negative) and absolute.
* **mean correlation coefficient (MCC)**: a one-to-one matching of true features
  and latents maximising the summed cosine (the Hungarian algorithm,
  :func:`scipy.optimize.linear_sum_assignment`), averaged over the *true*
  features (an unmatched feature counts 0, so ``n_latents < n`` caps it at
  ``n_latents / n``); ``mcc_matched`` averages over the matched pairs only.
* **fraction recovered**: true features whose best cosine is at least
  ``threshold`` (0.9), with and without the one-to-one constraint.
* **dead** latents (never active on the activations given) and **duplicate**
  latents (cosine at least ``duplicate_threshold`` with an earlier latent).
* **shrinkage**: ``l2_ratio = mean ||x̂ − b|| / ||x − b||``, the relative
  reconstruction bias ``γ = E[x̂·x̂] / E[x̂·x]`` of Wright & Sharkey (2024) (both
  after removing the decoder bias ``b``; 1 means none), and, with true codes,
  ``code_scale``: the least-squares slope of each matched latent's activation on
  its feature's true magnitude, averaged (1 means none).
* **explained variance** ``1 − Σ||x − x̂||² / Σ||x − x̄||²`` and the **L0** of the codes.
* the **geometry** of both packings side by side (:class:`GeometrySummary`:
  coherence against the Welch bound, mean and RMS ``|cos|``, signed extremes,
  tegum factors and their shapes).

:func:`svd_dictionary` is the baseline: the top singular directions of the
activations, at most ``d`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import Savable
from .._rows import row_norms, unit_rows
from .._validation import check_bool, check_finite, check_float, check_int, check_packing, check_real
from ..bounds import welch_bound
from ..geometry import pairwise_statistics
from ..structure import INTERFERENCE_ATOL, tegum_factors
from ..structure.shapes import RANK_RTOL, SHAPE_TOL, _identify_shape
from .data import SparseActivations, as_activations
from .trainer import SAEResult

__all__ = [
    "GeometrySummary",
    "RecoveryMetrics",
    "SVDResult",
    "geometry_summary",
    "recovery_metrics",
    "svd_dictionary",
]

#: Rows per block when looking for duplicate latents (memory O(block · n_latents)).
_BLOCK = 2048
#: Factors with more points than this are not matched to shapes (no template is that large).
MAX_SHAPE_POINTS = 64


# --------------------------------------------------------------------------- SVD baseline
@dataclass
class SVDResult(Savable, schema=1):
    """The top singular directions of activations, used as a dictionary.

    Attributes
    ----------
    components : ndarray, shape (n_components, d)
        Unit rows, by decreasing singular value; each oriented so that the
        activations' projections on it have a non-negative third moment (sparse
        non-negative codes are skewed towards their feature's direction).
    mean : ndarray, shape (d,)
        Subtracted before the decomposition (zeros when ``center=False``).
    singular_values : ndarray, shape (n_components,)
    explained_variance_ratio : ndarray, shape (n_components,)
        Share of the total (centred or not) sum of squares along each component.
    """

    components: np.ndarray
    mean: np.ndarray
    singular_values: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def dictionary(self) -> np.ndarray:
        """The components (rows are directions)."""
        return self.components

    def encode(self, x) -> np.ndarray:
        """Projections ``(x − mean) Vᵀ``; ``x`` of shape ``(d,)`` or ``(batch, d)``, finite."""
        d = self.mean.shape[0]
        arr = check_finite(check_real(x, "x", dtype=np.float64), "x")
        if arr.ndim not in (1, 2) or arr.shape[-1] != d:
            raise ValueError(f"x must have shape (d,) or (batch, d) with d = {d}; got shape {arr.shape}.")
        return (arr - self.mean) @ self.components.T

    def reconstruct(self, x) -> np.ndarray:
        """``mean + (x − mean) Vᵀ V``: the best rank-``n_components`` approximation."""
        return self.encode(x) @ self.components + self.mean


def svd_dictionary(activations, *, n_components=None, center=False) -> SVDResult:
    """Return the top singular directions of activations: the baseline that finds at most ``d`` features.

    Parameters
    ----------
    activations : array_like of shape (n_samples, d), or SparseActivations
    n_components : int, optional
        At most ``min(n_samples, d)``; default all of them.
    center : bool
        Subtract the mean first (principal components) or not (the default:
        the features' directions live in the uncentred second moment).

    Returns
    -------
    SVDResult

    Examples
    --------
    Four orthogonal features with distinct frequencies: SVD finds them.

    >>> data = sparse_activations(np.eye(4), n_samples=20000, density=[0.4, 0.3, 0.2, 0.1], rng=0)
    >>> svd = svd_dictionary(data)
    >>> np.round(np.abs(svd.components), 2)
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    >>> svd_dictionary(data, n_components=5)
    Traceback (most recent call last):
    ...
    ValueError: n_components must be <= 4; got 5.
    """
    X, _ = as_activations(activations)
    X = X.astype(np.float64)
    N, d = X.shape
    k = min(N, d) if n_components is None else check_int(n_components, "n_components", maximum=min(N, d))
    mean = X.mean(axis=0) if check_bool(center, "center") else np.zeros(d)
    Xc = X - mean
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    V = Vt[:k]
    skew = np.einsum("ij->j", (Xc @ V.T) ** 3)
    V = V * np.where(skew < 0, -1.0, 1.0)[:, None]
    total = float(np.sum(s**2)) or 1.0
    return SVDResult(V, mean, s[:k].copy(), s[:k] ** 2 / total)


# --------------------------------------------------------------------------- geometry side by side
@dataclass
class GeometrySummary(Savable, schema=1):
    """The geometry of one packing, as compared between the truth and a learned dictionary.

    Attributes
    ----------
    n, d : int
        Rows (nonzero ones) and dimension.
    coherence : float
        ``max |cos|`` over pairs.
    welch : float
        The Welch bound for ``(n, d)`` (0 when ``n <= d``).
    mean_abs_cos, rms_cos : float
        Mean and root-mean-square ``|cos|`` over pairs.
    max_positive, max_negative : float
        Largest positive and largest negative cosine (as a positive number).
    factor_sizes, factor_dims : ndarray of int
        Tegum factors (:func:`packing.tegum_factors` at ``atol``), largest first.
    description : str
        The tegum product's shapes (``"3×digon"``; factors larger than
        ``MAX_SHAPE_POINTS`` or unidentified are ``"other"``).
    """

    n: int
    d: int
    coherence: float
    welch: float
    mean_abs_cos: float
    rms_cos: float
    max_positive: float
    max_negative: float
    factor_sizes: np.ndarray
    factor_dims: np.ndarray
    description: str

    @property
    def welch_ratio(self) -> float:
        """``coherence / welch`` (1 for an equiangular tight frame; inf when the bound is 0)."""
        if self.welch == 0:
            return float("inf") if self.coherence > 0 else 1.0
        return self.coherence / self.welch


def geometry_summary(W, *, atol: float = INTERFERENCE_ATOL, structure: bool = True) -> GeometrySummary:
    """Summarise the geometry of a packing (see :class:`GeometrySummary`).

    Examples
    --------
    >>> g = geometry_summary(equiangular_tight_frame(16, 6))
    >>> round(g.welch_ratio, 6), g.description
    (1.0, 'other')
    """
    W = check_packing(W)
    return _geometry(
        W, check_float(atol, "atol", minimum=0.0, maximum=1.0), check_bool(structure, "structure")
    )


def _geometry(W: np.ndarray, atol: float, structure: bool) -> GeometrySummary:
    keep = row_norms(W) > 0
    U = unit_rows(W[keep])
    n, d = U.shape
    stats = pairwise_statistics(U, p=[1, 2, np.inf], signed=True)
    pairs = max(stats.n_pairs, 1)
    welch = welch_bound(n, d) if n > d else 0.0
    sizes, dims, description = np.zeros(0, int), np.zeros(0, int), ""
    if structure and n:
        tf = tegum_factors(U, atol=atol, norm_threshold=0.0)
        sizes = np.array(tf.sizes, dtype=int)
        dims = np.array(tf.dims, dtype=int)
        labels = []
        U64 = U.astype(np.float64)
        for f in tf.factors:
            label = "other"
            if len(f) <= MAX_SHAPE_POINTS:
                label = _identify_shape(U64[f], SHAPE_TOL, RANK_RTOL).label
            labels.append(label)
        counts: dict = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        description = " ⊕ ".join(f"{c}×{label}" if c > 1 else label for label, c in counts.items())
    return GeometrySummary(
        n=int(n),
        d=int(d),
        coherence=float(stats.coherence),
        welch=float(welch),
        mean_abs_cos=float(stats.moment(1)) / pairs,
        rms_cos=float(np.sqrt(stats.moment(2) / pairs)),
        max_positive=float(stats.signed.max_positive),
        max_negative=float(stats.signed.max_negative),
        factor_sizes=sizes,
        factor_dims=dims,
        description=description,
    )


# --------------------------------------------------------------------------- the metrics
@dataclass
class RecoveryMetrics(Savable, schema=1):
    """How well a learned dictionary recovers the true features (see :mod:`packing.sae.metrics`).

    Attributes
    ----------
    n_true, n_learned : int
    recovery, recovery_abs : float
        Mean over true features of the largest (signed, absolute) cosine with a latent (MMCS).
    precision, precision_abs : float
        Mean over latents of the largest (signed, absolute) cosine with a true feature.
    mcc, mcc_abs : float
        Mean over true features of the cosine with their one-to-one (Hungarian)
        match, unmatched features counting 0; the matching maximises the signed
        (``mcc``) or absolute (``mcc_abs``) sum.
    mcc_matched : float
        The signed matched cosine averaged over matched pairs only.
    recovered, recovered_matched : float
        Fraction of true features whose best (resp. matched) signed cosine is ``>= threshold``.
    threshold, duplicate_threshold : float
    best_cosine : ndarray, shape (n_true,)
        Largest signed cosine of each true feature with a latent.
    best_latent : ndarray of int, shape (n_true,)
    matching : ndarray of int, shape (n_true,)
        The latent matched to each true feature (``-1``: unmatched).
    matched_cosine : ndarray, shape (n_true,)
        Signed cosine of each true feature with its match (0 when unmatched).
    duplicates : int
        Latents whose cosine with an earlier latent is at least ``duplicate_threshold``.
    dead : int or None
        Latents never active on the activations (needs an encoder and activations).
    l0 : float or None
        Mean number of active latents per sample.
    explained_variance : float or None
    l2_ratio, reconstruction_bias : float or None
        Shrinkage of the reconstructions (1: none).
    code_scale : float or None
        Mean least-squares slope of matched latents' activations on the true magnitudes (1: no shrinkage).
    learned_geometry, true_geometry : GeometrySummary
    """

    n_true: int
    n_learned: int
    recovery: float
    recovery_abs: float
    precision: float
    precision_abs: float
    mcc: float
    mcc_abs: float
    mcc_matched: float
    recovered: float
    recovered_matched: float
    threshold: float
    duplicate_threshold: float
    best_cosine: np.ndarray
    best_latent: np.ndarray
    matching: np.ndarray
    matched_cosine: np.ndarray
    duplicates: int
    dead: int | None
    l0: float | None
    explained_variance: float | None
    l2_ratio: float | None
    reconstruction_bias: float | None
    code_scale: float | None
    learned_geometry: GeometrySummary
    true_geometry: GeometrySummary

    def summary(self) -> str:
        """Plain-text report: the recovery numbers, then both geometries side by side."""

        def fmt(v):
            return "n/a" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))

        lines = [
            f"{self.n_true} true features, {self.n_learned} latents",
            f"MMCS recovery {self.recovery:.4f} (abs {self.recovery_abs:.4f}), "
            f"precision {self.precision:.4f} (abs {self.precision_abs:.4f})",
            f"MCC {self.mcc:.4f} (abs {self.mcc_abs:.4f}; over matched pairs {self.mcc_matched:.4f})",
            f"recovered at cos >= {self.threshold:g}: {self.recovered:.3f} "
            f"(one-to-one {self.recovered_matched:.3f})",
            f"dead {fmt(self.dead)}, duplicates {self.duplicates}, L0 {fmt(self.l0)}, explained variance "
            f"{fmt(self.explained_variance)}",
            f"shrinkage: l2 ratio {fmt(self.l2_ratio)}, reconstruction bias {fmt(self.reconstruction_bias)}, "
            f"code scale {fmt(self.code_scale)}",
            f"{'':<22}{'truth':>14}{'learned':>14}",
        ]
        t, g = self.true_geometry, self.learned_geometry
        for name, a, b in (
            ("rows / d", f"{t.n}/{t.d}", f"{g.n}/{g.d}"),
            ("coherence", f"{t.coherence:.4f}", f"{g.coherence:.4f}"),
            ("coherence / Welch", f"{t.welch_ratio:.3f}", f"{g.welch_ratio:.3f}"),
            ("mean |cos|", f"{t.mean_abs_cos:.4f}", f"{g.mean_abs_cos:.4f}"),
            ("rms |cos|", f"{t.rms_cos:.4f}", f"{g.rms_cos:.4f}"),
            (
                "max cos / max -cos",
                f"{t.max_positive:.3f}/{t.max_negative:.3f}",
                f"{g.max_positive:.3f}/{g.max_negative:.3f}",
            ),
            ("tegum factors", str(len(t.factor_sizes)), str(len(g.factor_sizes))),
        ):
            lines.append(f"{name:<22}{a:>14}{b:>14}")
        lines.append(f"{'shapes':<22}truth: {t.description or 'n/a'}")
        lines.append(f"{'':<22}learned: {g.description or 'n/a'}")
        return "\n".join(lines)


def _learned_parts(learned, instance):
    """Return ``(dictionary, (model, instance) or None)`` of an array, an SAEResult or an SVDResult."""
    i = check_int(instance, "instance", minimum=0)  # checked also where it is not read
    if isinstance(learned, SAEResult):
        i = check_int(i, "instance", minimum=0, maximum=learned.n_instances - 1)
        return learned.decoder[i], (learned, i)
    if isinstance(learned, SVDResult):
        return learned.components, (learned, None)
    return check_packing(learned, "learned"), None


def recovery_metrics(
    learned,
    true,
    *,
    activations=None,
    threshold: float = 0.9,
    duplicate_threshold: float = 0.9,
    instance: int = 0,
    atol: float = INTERFERENCE_ATOL,
    structure: bool = True,
) -> RecoveryMetrics:
    """Compare a learned dictionary with the true features (see :mod:`packing.sae.metrics`).

    Parameters
    ----------
    learned : array_like (n_latents, d), SAEResult or SVDResult
        The learned directions (rows). An :class:`SAEResult` or :class:`SVDResult`
        also gives codes and reconstructions for the statistics that need them.
    true : array_like (n_true, d) or SparseActivations
        The true directions; a :class:`SparseActivations` also supplies the
        activations and the true codes (unless ``activations`` is given).
    activations : array_like (n_samples, d) or SparseActivations, optional
        Data for dead latents, L0, explained variance and shrinkage.
    threshold : float
        Cosine at which a true feature counts as recovered (0.9 by default).
    duplicate_threshold : float
        Cosine at which two latents count as duplicates.
    instance : int
        Which instance of an :class:`SAEResult`.
    atol : float
        Interference tolerance of the tegum factors in the geometry summaries.
    structure : bool
        Compute tegum factors and shapes (off for speed).

    Returns
    -------
    RecoveryMetrics

    Examples
    --------
    A dictionary that has the first three of four orthonormal features, one
    of them twice, and one latent pointing the opposite way:

    >>> true = np.eye(4)
    >>> learned = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0.1, 1, 0], [0, 0, 0, -1], [1, 0.01, 0, 0]])
    >>> m = recovery_metrics(learned, true)
    >>> m.recovered, m.duplicates, round(m.mcc, 4), round(m.mcc_abs, 4)
    (0.75, 1, 0.7488, 0.9988)
    >>> recovery_metrics(learned, np.eye(3))
    Traceback (most recent call last):
    ...
    ValueError: learned and true must have the same number of columns d; got learned (5, 4) and true (3, 3).
    """
    from scipy.optimize import linear_sum_assignment

    Wl, model = _learned_parts(learned, instance)
    source = true if isinstance(true, SparseActivations) else None
    Wt = check_packing(source.W if source is not None else true, "true")
    if Wl.shape[1] != Wt.shape[1]:
        raise ValueError(
            "learned and true must have the same number of columns d; got learned "
            f"{Wl.shape} and true {Wt.shape}."
        )
    threshold = check_float(threshold, "threshold", minimum=-1.0, maximum=1.0)
    duplicate_threshold = check_float(duplicate_threshold, "duplicate_threshold", minimum=-1.0, maximum=1.0)
    atol = check_float(atol, "atol", minimum=0.0, maximum=1.0)
    structure = check_bool(structure, "structure")
    if activations is not None:
        X, source_act = as_activations(activations)
        source = source_act if source_act is not None else None
    elif source is not None:
        X = source.activations
    else:
        X = None

    L = unit_rows(Wl, dtype=np.float64)
    T = unit_rows(Wt, dtype=np.float64)
    C = L @ T.T  # (n_learned, n_true)
    n_l, n_t = C.shape
    best_latent = np.argmax(C, axis=0)
    best = C[best_latent, np.arange(n_t)]
    r, c = linear_sum_assignment(C, maximize=True)
    matching = np.full(n_t, -1)
    matching[c] = r
    matched = np.zeros(n_t)
    matched[c] = C[r, c]
    ra, ca = linear_sum_assignment(np.abs(C), maximize=True)
    out = dict(
        n_true=n_t,
        n_learned=n_l,
        recovery=float(best.mean()),
        recovery_abs=float(np.abs(C).max(axis=0).mean()),
        precision=float(C.max(axis=1).mean()),
        precision_abs=float(np.abs(C).max(axis=1).mean()),
        mcc=float(matched.sum() / n_t),
        mcc_abs=float(np.abs(C[ra, ca]).sum() / n_t),
        mcc_matched=float(C[r, c].mean()) if len(r) else 0.0,
        recovered=float(np.mean(best >= threshold)),
        recovered_matched=float(np.mean(matched >= threshold)),
        threshold=threshold,
        duplicate_threshold=duplicate_threshold,
        best_cosine=best,
        best_latent=best_latent,
        matching=matching,
        matched_cosine=matched,
        duplicates=_duplicates(L, duplicate_threshold),
    )
    out.update(_code_statistics(model, Wl, X, source, matching))
    out["learned_geometry"] = _geometry(Wl, atol, structure)
    out["true_geometry"] = _geometry(Wt, atol, structure)
    return RecoveryMetrics(**out)


def _duplicates(L: np.ndarray, thr: float) -> int:
    """Latents whose cosine with an earlier latent is at least ``thr`` (zero rows never count)."""
    nonzero = np.any(L != 0, axis=1)
    dup = np.zeros(len(L), dtype=bool)
    for i0 in range(0, len(L), _BLOCK):
        i1 = min(i0 + _BLOCK, len(L))
        G = L[i0:i1] @ L[:i1].T
        G[np.arange(i1 - i0)[:, None] <= np.arange(i1)[None, :] - i0] = -np.inf  # only earlier latents
        dup[i0:i1] = G.max(axis=1) >= thr
    return int(np.count_nonzero(dup & nonzero))


def _code_statistics(model, Wl, X, source, matching) -> dict:
    """Dead latents, L0, explained variance and shrinkage, when a model and activations are given."""
    empty = dict(
        dead=None, l0=None, explained_variance=None, l2_ratio=None, reconstruction_bias=None, code_scale=None
    )
    if model is None or X is None:
        return empty
    obj, i = model
    X64 = np.asarray(X, dtype=np.float64)
    if isinstance(obj, SAEResult):
        Z = obj.encode(X, instance=i).astype(np.float64)
        Xh = Z @ obj.decoder[i].astype(np.float64) + obj.decoder_bias[i]
        bias = obj.decoder_bias[i].astype(np.float64)
    else:
        Z = obj.encode(X64)
        Xh = Z @ obj.components + obj.mean
        bias = obj.mean
    active = Z != 0
    res = X64 - Xh
    centred = X64 - X64.mean(axis=0)
    total = float(np.einsum("ij,ij->", centred, centred))
    xb, hb = X64 - bias, Xh - bias
    nx, nh = np.linalg.norm(xb, axis=1), np.linalg.norm(hb, axis=1)
    ok = nx > 0
    cross = float(np.einsum("ij,ij->", hb, xb))
    out = dict(
        dead=int(np.count_nonzero(~active.any(axis=0))),
        l0=float(active.sum(axis=1).mean()),
        explained_variance=1.0 - float(np.einsum("ij,ij->", res, res)) / total if total > 0 else None,
        l2_ratio=float(np.mean(nh[ok] / nx[ok])) if ok.any() else None,
        reconstruction_bias=float(np.einsum("ij,ij->", hb, hb)) / cross if cross > 0 else None,
        code_scale=None,
    )
    if source is not None and source.n_samples == len(X):
        V = source.codes.tocsc()
        slopes = []
        for j, lat in enumerate(matching):
            if lat < 0:
                continue
            rows = V.indices[V.indptr[j] : V.indptr[j + 1]]
            vals = V.data[V.indptr[j] : V.indptr[j + 1]].astype(np.float64)
            if len(rows) and (vals**2).sum() > 0:
                slopes.append(float(Z[rows, lat] @ vals / (vals @ vals)))
        out["code_scale"] = float(np.mean(slopes)) if slopes else None
    return out
