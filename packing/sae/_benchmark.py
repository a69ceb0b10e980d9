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
  (what :meth:`packing.figures._kit.FigureRun.cached` stores). Given ``run`` (a
  :class:`packing.figures.FigureRun`), their points are cells of the sweep tasks
  ``sae_recovery_point`` and ``sae_penalty_point`` (:func:`recovery_cell`,
  :func:`penalty_cell`): computed on every core and cached one by one, with the
  same streams, so the same numbers, as one after another here.
"""

from __future__ import annotations

import numpy as np

from .._validation import _describe, check_float, check_int, check_packing
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


def _stream_args(stream: np.random.SeedSequence) -> dict:
    """Return a spawned stream as plain data (a sweep cell's configuration): entropy and spawn key."""
    return dict(stream_entropy=int(stream.entropy), stream_key=[int(k) for k in stream.spawn_key])


def _stream(stream_entropy: int, stream_key) -> np.random.SeedSequence:
    """Return the stream of :func:`_stream_args` again (fresh: nothing spawned from it yet)."""
    entropy = check_int(stream_entropy, "stream_entropy", minimum=0)
    if not isinstance(stream_key, list | tuple):
        raise TypeError(f"stream_key must be a list of ints >= 0 (a spawn key); got {_describe(stream_key)}.")
    key = tuple(check_int(k, f"stream_key[{i}]", minimum=0) for i, k in enumerate(stream_key))
    return np.random.SeedSequence(entropy, spawn_key=key)


def recovery_cell(
    W, *, n_active, n_samples, steps, n_seeds, stream_entropy, stream_key, latent_ratio=2
) -> dict:
    """:func:`recovery_point` with its stream given as plain data: the sweep task ``sae_recovery_point``."""
    stream = _stream(stream_entropy, stream_key)
    return recovery_point(
        check_packing(W, "W", min_rows=2),
        n_active=n_active,
        n_samples=n_samples,
        steps=steps,
        n_seeds=n_seeds,
        stream=stream,
        latent_ratio=latent_ratio,
    )


_TASKS = {"sae_recovery_point": recovery_cell}


def _task(name: str) -> str:
    """Register the sweep task ``name`` of this module (once per process); return its name."""
    from ..sweep import register_task, sweep_tasks

    fn = _TASKS[name]
    if sweep_tasks().get(name) is None or sweep_tasks()[name].fn is not fn:
        register_task(name, fn, seed_arg=None, replace=True)
    return name


def _cells(task: str, configs: list[dict], run, quick: bool) -> list[dict]:
    """Results of ``_TASKS[task](**config)`` for each config: a cached sweep on ``run``, or here."""
    if run is None:
        return [_TASKS[task](**config) for config in configs]
    from ..sweep import load_cell

    table = run.sweep(_task(task), configs, n_jobs=1 if quick else None)
    return [load_cell(path).result for path in table["path"]]


def _recovery_points(points: list[tuple[np.ndarray, float, np.random.SeedSequence]], quick, run) -> list:
    """:func:`recovery_point` of each ``(W, n_active, stream)`` at the benchmark's settings."""
    configs = [
        dict(W=W, n_active=float(a), **_settings(quick), **_stream_args(stream)) for W, a, stream in points
    ]
    return _cells("sae_recovery_point", configs, run, quick)


def _table(rows: list[dict], **extra) -> dict:
    keys = rows[0].keys()
    out = {key: np.array([r[key] for r in rows]) for key in keys}
    out.update({key: np.asarray(value) for key, value in extra.items()})
    return out


def _settings(quick: bool) -> dict:
    if quick:
        return dict(n_samples=2000, steps=60, n_seeds=1)
    return dict(n_samples=20000, steps=2000, n_seeds=2)


def suite_arrays(*, quick: bool = False, seed: int = 0) -> dict:
    """:func:`geometry_suite` as arrays (``family``, ``W0``, ``W1``, ...), what a figure run caches."""
    suite = geometry_suite(quick=quick, seed=seed)
    return {"family": np.array([f for f, _ in suite]), **{f"W{i}": W for i, (_, W) in enumerate(suite)}}


def geometry_benchmark(
    *, n_active: float = 4.0, quick: bool = False, seed: int = 0, report=None, run=None
) -> dict:
    """Recovery of every packing of :func:`geometry_suite` at ``n_active`` features per sample.

    ``run`` (a :class:`~packing.figures.FigureRun`): the suite is cached there
    and the points are a sweep on every core (the same numbers).
    """
    if run is None:
        suite = geometry_suite(quick=quick, seed=seed)
    else:
        arrays = run.cached(suite_arrays, quick=quick, seed=seed)
        suite = [(str(f), arrays[f"W{i}"]) for i, f in enumerate(arrays["family"])]
    streams = np.random.SeedSequence(seed).spawn(len(suite))
    rows = _recovery_points(
        [(W, n_active, stream) for (_, W), stream in zip(suite, streams, strict=True)], quick, run
    )
    families = [family for family, _ in suite]
    for family, row in zip(families, rows, strict=True):
        if report:
            report(family, row)
    return _table(rows, family=np.array(families), n_active=n_active)


def density_sweep(*, quick: bool = False, seed: int = 0, report=None, run=None) -> dict:
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
    points = [(family, W, a, next(streams)) for family, W in suite for a in actives]
    rows = _recovery_points([(W, a, stream) for _, W, a, stream in points], quick, run)
    for (family, _, a, _), row in zip(points, rows, strict=True):
        row["n_active"] = a
        if report:
            report(family, row)
    return _table(rows, family=np.array([family for family, *_ in points]))


def ratio_sweep(*, quick: bool = False, seed: int = 0, report=None, run=None) -> dict:
    """SAE against SVD as ``n/d`` grows: random packings in ``d = 8`` with 2 features per sample."""
    d, ratios = (3, (1, 2)) if quick else (8, (0.5, 1, 2, 3, 4))
    streams = np.random.SeedSequence(seed + 2).spawn(len(ratios))
    points = []
    for r, stream in zip(ratios, streams, strict=True):
        s_w, s_point = stream.spawn(2)
        points.append((random_packing(int(r * d), d, rng=np.random.default_rng(s_w)), 2.0, s_point))
    rows = _recovery_points(points, quick, run)
    for r, row in zip(ratios, rows, strict=True):
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


def _penalty_problem(n, d, n_active, n_samples, stream_entropy):
    """Return the data of the penalty sweep (the same in every cell that rebuilds it)."""
    s_w, s_data = (_stream(stream_entropy, [i]) for i in (0, 1))
    W = random_packing(n, d, rng=np.random.default_rng(s_w))
    return sparse_activations(
        W, n_samples=n_samples, n_active=n_active, frequencies="geometric", rng=np.random.default_rng(s_data)
    )


def penalty_cell(*, n, d, n_active, n_samples, ratio, penalties, steps, stream_entropy, stream_key) -> dict:
    """One dictionary size of the penalty sweep, every penalty: the sweep task ``sae_penalty_point``.

    Returns the :func:`_summary` numbers, one array entry per penalty.
    """
    ratio = check_float(ratio, "ratio", minimum=0.0, strict_min=True)
    stream = _stream(stream_entropy, stream_key)
    data = _penalty_problem(n, d, n_active, n_samples, stream_entropy)
    sae = train_sae(
        data,
        n_latents=max(1, int(ratio * n)),
        l1_coefficient=list(penalties),
        steps=steps,
        batch_size=256,
        lr=3e-3,
        eval_size=8192,
        rng=np.random.default_rng(stream),
        n_threads=1,
        progress=False,
    )
    rows = [_summary(recovery_metrics(sae, data, instance=i, structure=False)) for i in range(len(penalties))]
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


_TASKS["sae_penalty_point"] = penalty_cell


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
    run=None,
) -> dict:
    """Train L1 SAEs over size and penalty on the sparse-coding toy of Sharkey et al. (2022).

    One cell per dictionary size (its penalties are trained together, as instances
    of one model); ``run``: a sweep on every core, cached per size.
    """
    if quick:
        n, d, ratios, penalties, steps = 8, 4, (1,), (0.1,), 60
    n_samples = 2000 if quick else 40000
    entropy = seed + 4
    s_sae = np.random.SeedSequence(entropy).spawn(2 + len(ratios))[2:]
    configs = [
        dict(
            n=n,
            d=d,
            n_active=float(n_active),
            n_samples=n_samples,
            ratio=r,
            penalties=[float(lam) for lam in penalties],
            steps=steps,
            **_stream_args(stream),
        )
        for r, stream in zip(ratios, s_sae, strict=True)
    ]
    cells = _cells("sae_penalty_point", configs, run, quick)
    rows = []
    for r, cell in zip(ratios, cells, strict=True):
        for i, lam in enumerate(penalties):
            row = dict(ratio=r, penalty=lam, **{key: cell[key][i].item() for key in cell})
            rows.append(row)
            if report:
                report(f"ratio={r} λ={lam}", row)
    v = svd_metrics(_penalty_problem(n, d, n_active, n_samples, entropy))
    return _table(rows, n=n, d=d, svd_mmcs=v["mmcs"], svd_mcc=v["mcc"], svd_recovered=v["recovered"])
