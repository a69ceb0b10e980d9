"""The recovery benchmark of issue #15: SAE against SVD on packings whose geometry is known.

Shared by ``scripts/bench_sae_recovery.py`` (which prints the numbers) and the
figure driver :mod:`packing.figures.sae_recovery` (which draws them). Private:
the settings are the benchmark's, not an API.

* :func:`geometry_suite`: the ground-truth packings, exact constructions (ETFs,
  tegum products of digons / triangles / pentagons / tetrahedra, overlapping
  orthonormal sets) each beside a random Gaussian packing and optimizer packings
  (near-optimal Grassmannian, and the same blended with noise for coherences
  between the Welch bound and random) of the same ``(n, d)``.
* :func:`recovery_point`: one packing -> sparse activations -> the best of
  several TopK SAE seeds and the SVD baseline -> their recovery metrics.
* :func:`geometry_benchmark`, :func:`density_sweep`, :func:`ratio_sweep`,
  :func:`toy_benchmark`, :func:`penalty_sweep`: the tables, as dicts of arrays
  (what :meth:`packing.figures._kit.FigureRun.cached` stores).
"""

from __future__ import annotations

import numpy as np

from ..bounds import welch_bound
from ..constructions import (
    equiangular_tight_frame,
    haar_rotation,
    overlapping_orthogonal_sets,
    random_packing,
    regular_polygon,
    regular_simplex,
    tegum_product,
)
from ..geometry import coherence
from ..optimize import optimize_packing
from .data import sparse_activations, toy_model_activations
from .metrics import recovery_metrics, svd_dictionary
from .trainer import train_sae

#: Construction families, in legend order (the figure gives each a marker).
FAMILIES = (
    "random",
    "optimized",
    "optimized+noise",
    "ETF",
    "tegum digons",
    "tegum triangles",
    "tegum pentagons",
    "tegum tetrahedra",
    "overlapping orthonormal",
)


def _unit_rows(W: np.ndarray) -> np.ndarray:
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def _embed(W: np.ndarray, d: int, gen: np.random.Generator) -> np.ndarray:
    """``W`` (n, d0 <= d) padded to ``d`` columns and turned by a Haar rotation (a generic orientation)."""
    pad = np.zeros((len(W), d))
    pad[:, : W.shape[1]] = W
    return pad @ haar_rotation(d, rng=gen)


def _tegum(block: np.ndarray, copies: int, d: int, gen) -> np.ndarray:
    return _embed(tegum_product(*([block] * copies)), d, gen)


def geometry_suite(*, quick: bool = False, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """Return ``(family, W)`` pairs: exact constructions and, at each of their shapes, the references.

    Full size: two shapes, ``(n, d) = (30, 15)`` (the ETF, 15 digons, 6 pentagons
    in 12 of the 15 dimensions, two overlapping orthonormal bases) and
    ``(24, 18)`` (6 tetrahedra, 8 triangles in 16 of the 18 dimensions, 12
    digons in 12, one basis and 6 vectors of another); at each shape a random
    Gaussian packing, an optimizer packing (``p = ∞``, near the Grassmannian
    optimum) and that packing blended with Gaussian noise at two strengths.
    ``quick``: one small shape ``(6, 3)``.
    """
    gen = np.random.default_rng(seed)
    tri, pent, tet = regular_polygon(3), regular_polygon(5), regular_simplex(4)
    digon = np.array([[1.0], [-1.0]])
    if quick:
        shapes = {
            (6, 3): [("ETF", equiangular_tight_frame(6, 3)), ("tegum digons", _tegum(digon, 3, 3, gen))]
        }
    else:
        shapes = {
            (30, 15): [
                ("ETF", equiangular_tight_frame(30, 15)),
                ("tegum digons", _tegum(digon, 15, 15, gen)),
                ("tegum pentagons", _tegum(pent, 6, 15, gen)),
                ("overlapping orthonormal", overlapping_orthogonal_sets(30, 15, rng=gen)),
            ],
            (24, 18): [
                ("tegum tetrahedra", _tegum(tet, 6, 18, gen)),
                ("tegum triangles", _tegum(tri, 8, 18, gen)),
                ("tegum digons", _tegum(digon, 12, 18, gen)),
                ("overlapping orthonormal", overlapping_orthogonal_sets(24, 18, rng=gen)),
            ],
        }
    out = []
    for (n, d), exact in shapes.items():
        out.extend(exact)
        out.append(("random", random_packing(n, d, rng=gen)))
        opt = optimize_packing(n, d, restarts=1 if quick else 3, rng=gen, progress=False).W
        out.append(("optimized", opt))
        for strength in (0.15, 0.4):
            noisy = opt + strength * gen.normal(size=opt.shape) / np.sqrt(d)
            out.append(("optimized+noise", _unit_rows(noisy)))
    return out


def _summary(m) -> dict:
    """Return the numbers the benchmark reports of one :class:`RecoveryMetrics`."""
    return dict(
        mcc=m.mcc, recovered=m.recovered, mmcs=m.recovery, ev=m.explained_variance, l0=m.l0, dead=m.dead
    )


def svd_metrics(data) -> dict:
    """Score the SVD baseline (centred: PCA) sign-free: a singular direction has no sign.

    MCC and MMCS use ``|cos|``; "recovered" counts features within 0.9 of ``±v``.
    """
    svd = svd_dictionary(data, center=True)
    m = recovery_metrics(svd, data, structure=False)
    both = np.vstack([svd.components, -svd.components])
    recovered = recovery_metrics(both, data.W, structure=False).recovered
    return dict(mcc=m.mcc_abs, recovered=recovered, mmcs=m.recovery_abs, ev=m.explained_variance, l0=m.l0)


def recovery_point(W, *, n_active, n_samples, steps, n_seeds, stream, latent_ratio=2) -> dict:
    """Sparse activations of ``W`` -> best of ``n_seeds`` TopK SAEs (k = n_active) and SVD -> metrics.

    ``stream`` (a :class:`numpy.random.SeedSequence`) gives the data and the SAE independent streams.
    """
    s_data, s_sae = stream.spawn(2)
    n, d = W.shape
    data = sparse_activations(W, n_samples=n_samples, n_active=n_active, rng=np.random.default_rng(s_data))
    k = max(1, int(round(n_active)))
    sae = train_sae(
        data,
        n_latents=latent_ratio * n,
        kind="topk",
        k=k,
        steps=steps,
        batch_size=256,
        lr=3e-3,
        n_seeds=n_seeds,
        eval_size=min(n_samples, 8192),
        rng=np.random.default_rng(s_sae),
        n_threads=1,
        progress=False,
    )
    s = recovery_metrics(sae, data, structure=False)
    v = svd_metrics(data)
    welch = welch_bound(n, d) if n > d else 0.0
    return dict(
        n=n,
        d=d,
        coherence=coherence(W),
        welch=welch,
        **{f"sae_{key}": value for key, value in _summary(s).items()},
        svd_mcc=v["mcc"],
        svd_recovered=v["recovered"],
        svd_mmcs=v["mmcs"],
    )


def _table(rows: list[dict], **extra) -> dict:
    keys = rows[0].keys()
    out = {key: np.array([r[key] for r in rows]) for key in keys}
    out.update({key: np.asarray(value) for key, value in extra.items()})
    return out


def _settings(quick: bool) -> dict:
    if quick:
        return dict(n_samples=2000, steps=60, n_seeds=1)
    return dict(n_samples=20000, steps=2000, n_seeds=2)


def geometry_benchmark(*, n_active: float = 4.0, quick: bool = False, seed: int = 0, report=None) -> dict:
    """Recovery of every packing of :func:`geometry_suite` at ``n_active`` features per sample."""
    suite = geometry_suite(quick=quick, seed=seed)
    streams = np.random.SeedSequence(seed).spawn(len(suite))
    rows, families = [], []
    for (family, W), stream in zip(suite, streams, strict=True):
        row = recovery_point(W, n_active=n_active, stream=stream, **_settings(quick))
        rows.append(row)
        families.append(family)
        if report:
            report(family, row)
    return _table(rows, family=np.array(families), n_active=n_active)


def density_sweep(*, quick: bool = False, seed: int = 0, report=None) -> dict:
    """Recovery against features per sample: ETF, tegum digons, overlapping sets and random at (30, 15)."""
    gen = np.random.default_rng(seed)
    if quick:
        n, d, actives = 6, 3, (1.0, 2.0)
        suite = [("ETF", equiangular_tight_frame(6, 3)), ("random", random_packing(6, 3, rng=gen))]
    else:
        n, d, actives = 30, 15, (1.0, 2.0, 4.0, 6.0, 8.0)
        suite = [
            ("ETF", equiangular_tight_frame(n, d)),
            ("tegum digons", _tegum(np.array([[1.0], [-1.0]]), 15, d, gen)),
            ("overlapping orthonormal", overlapping_orthogonal_sets(n, d, rng=gen)),
            ("random", random_packing(n, d, rng=gen)),
        ]
    streams = iter(np.random.SeedSequence(seed + 1).spawn(len(suite) * len(actives)))
    rows, families = [], []
    for family, W in suite:
        for a in actives:
            row = recovery_point(W, n_active=a, stream=next(streams), **_settings(quick))
            row["n_active"] = a
            rows.append(row)
            families.append(family)
            if report:
                report(family, row)
    return _table(rows, family=np.array(families))


def ratio_sweep(*, quick: bool = False, seed: int = 0, report=None) -> dict:
    """SAE against SVD as ``n/d`` grows: random packings in ``d = 8`` with 2 features per sample."""
    d, ratios = (3, (1, 2)) if quick else (8, (0.5, 1, 2, 3, 4))
    streams = np.random.SeedSequence(seed + 2).spawn(len(ratios))
    rows = []
    for r, stream in zip(ratios, streams, strict=True):
        s_w, s_point = stream.spawn(2)
        W = random_packing(int(r * d), d, rng=np.random.default_rng(s_w))
        row = recovery_point(W, n_active=2.0, stream=s_point, **_settings(quick))
        rows.append(row)
        if report:
            report(f"n/d={r}", row)
    return _table(rows)


def toy_benchmark(*, n_features=200, d=20, sparsity=0.99, toy_steps=5000, quick=False, seed=0) -> dict:
    """Recover the rows of a trained toy model from its hidden activations: SAE (L1 and TopK) against SVD."""
    from ..train import train_toy_model

    if quick:
        n_features, d, toy_steps = 12, 4, 100
    s_toy, s_data, s_sae = np.random.SeedSequence(seed + 3).spawn(3)
    toy = train_toy_model(
        n_features=n_features,
        d=d,
        sparsity=sparsity,
        steps=toy_steps,
        batch_size=1024,
        lr=3e-3,
        rng=np.random.default_rng(s_toy),
        n_threads=1,
        progress=False,
    )
    settings = _settings(quick)
    data = toy_model_activations(
        toy, n_samples=settings["n_samples"] * (1 if quick else 5), rng=np.random.default_rng(s_data)
    )
    norms = np.linalg.norm(data.W, axis=1)
    n_active = float(n_features * (1 - sparsity))
    out = dict(n_features=n_features, d=d, sparsity=sparsity, represented=int(np.sum(norms > 0.5)))
    ks = sorted({max(1, int(round(n_active))), max(1, int(round(2 * n_active)))})
    sae = train_sae(
        data,
        n_latents=2 * n_features,
        kind="topk",
        k=ks,
        steps=settings["steps"] * 2,
        batch_size=256,
        lr=3e-3,
        n_seeds=settings["n_seeds"],
        eval_size=min(len(data.activations), 8192),
        rng=np.random.default_rng(s_sae),
        n_threads=1,
        progress=False,
    )
    for i, k in enumerate(ks):
        m = recovery_metrics(sae, data, instance=i, structure=False)
        out[f"topk{k}"] = _summary(m)
    out["svd"] = svd_metrics(data)
    return out


def penalty_sweep(
    *,
    n=128,
    d=64,
    n_active=5.0,
    ratios=(0.5, 1, 2),
    penalties=(0.03, 0.1, 0.3, 1.0),
    steps=3000,
    quick=False,
    seed=0,
    report=None,
) -> dict:
    """Train L1 SAEs over size and penalty on the sparse-coding toy of Sharkey et al. (2022)."""
    if quick:
        n, d, ratios, penalties, steps = 8, 4, (1,), (0.1,), 60
    s_w, s_data, *s_sae = np.random.SeedSequence(seed + 4).spawn(2 + len(ratios))
    W = random_packing(n, d, rng=np.random.default_rng(s_w))
    data = sparse_activations(
        W,
        n_samples=2000 if quick else 40000,
        n_active=n_active,
        frequencies="geometric",
        rng=np.random.default_rng(s_data),
    )
    rows = []
    for r, stream in zip(ratios, s_sae, strict=True):
        sae = train_sae(
            data,
            n_latents=max(1, int(r * n)),
            l1_coefficient=list(penalties),
            steps=steps,
            batch_size=256,
            lr=3e-3,
            eval_size=8192,
            rng=np.random.default_rng(stream),
            n_threads=1,
            progress=False,
        )
        for i, lam in enumerate(penalties):
            m = recovery_metrics(sae, data, instance=i, structure=False)
            row = dict(ratio=r, penalty=lam, **_summary(m))
            rows.append(row)
            if report:
                report(f"ratio={r} λ={lam}", row)
    v = svd_metrics(data)
    return _table(rows, n=n, d=d, svd_mmcs=v["mmcs"], svd_mcc=v["mcc"], svd_recovered=v["recovered"])
