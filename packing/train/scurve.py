"""The multi-component learning toy ("S-curves"): a rank-r factorization learning a target matrix.

The model ``Ã = P Qᵀ = Σ_r p_r q_rᵀ`` learns ``A = Σ_k s_k a_k b_kᵀ`` (orthonormal
``a_k``, ``b_k``) from small initialization. Under the squared loss
``½ ||Ã - A||_F²`` and gradient flow, a rank-1 model with aligned, balanced
initialization ``p = q = s·a`` (``A = a bᵀ``) obeys ``ds/dt = s - s³``, whose
solution is a logistic S-curve in ``s²`` (Saxe et al. 2014); with several
components each is learned on its own S-curve, the stronger first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .._progress import check_progress
from .._results import Savable
from .._validation import (
    _describe,
    check_blas_threads,
    check_bool,
    check_choice,
    check_dtype,
    check_float,
    check_int,
    check_memory,
    check_numbers,
    check_optimizer_options,
    check_pair,
    check_real,
    seeded_rng,
)
from ._checkpoint import Checkpointer
from ._optim import CHOICES, Optimizer, TrainingDivergedError, run_loop

__all__ = ["ScurveResult", "scurve_closed_form", "scurve_loss", "train_scurve"]

LOSSES = ("squared", "cross_entropy")


def scurve_closed_form(t, s0):
    """Solution of ``ds/dt = s - s³`` with ``s(0) = s0``: ``s0 eᵗ / sqrt(1 + s0² (e²ᵗ - 1))``.

    ``s²`` is the logistic function ``1 / (1 + (1/s0² - 1) e⁻²ᵗ)``: a plateau near
    0, a sharp rise around ``t = ln(1/s0)``, saturation at 1.

    Parameters
    ----------
    t : float or array_like
        Time(s), >= 0 (gradient-descent time is ``lr * step``).
    s0 : float
        Initial scale in (0, 1].

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(scurve_closed_form(np.log(1e3), 1e-3) ** 2), 4)  # halfway at t = ln(1/s0)
    0.5
    >>> scurve_closed_form(1.0, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: s0 must be > 0.0; got 0.0.
    """
    s0 = check_float(s0, "s0", minimum=0.0, strict_min=True, maximum=1.0)
    t = check_numbers(t, "t")
    if (t < 0).any() or not np.isfinite(t).all():
        raise ValueError(f"t must be finite and >= 0; got {_describe(t)}.")
    # s0 e^t / sqrt(1 + s0^2 (e^{2t} - 1)), written to stay finite for large t.
    e = np.exp(-2.0 * t)
    out = s0 / np.sqrt(e + s0 * s0 * (1.0 - e))
    return float(out) if out.ndim == 0 else out


@dataclass
class ScurveResult(Savable):
    """A trained factorized model and the time course of what it learned.

    Attributes
    ----------
    P, Q : ndarray, shape (m, rank), (m2, rank)
        Learned factors; column ``r`` of each is component ``r``.
    target : ndarray, shape (m, m2)
    target_left, target_right : ndarray, shape (m, K), (m2, K)
        Orthonormal ``a_k`` and ``b_k`` of the target ``Σ_k s_k a_k b_kᵀ``.
    target_strengths : ndarray, shape (K,)
    steps : ndarray of int, shape (n_records,)
    times : ndarray, shape (n_records,)
        ``lr * step`` (gradient-flow time for plain SGD).
    loss : ndarray, shape (n_records,)
        Loss at each record (0 when ``Ã`` equals the target).
    strengths : ndarray, shape (n_records, K)
        ``a_kᵀ Ã b_k``: how much of target component ``k`` has been learned.
    alignment : ndarray, shape (n_records, rank, K)
        Cosine between learned component ``p_r q_rᵀ`` and target ``a_k b_kᵀ``
        (``(a_k·p_r)(b_k·q_r) / (|p_r| |q_r|)``).
    config : dict
        Every argument needed to rerun bit for bit: ``train_scurve(**config)``.
    seconds : float
    stopping_reason : str
        ``"completed"`` or ``"interrupted"`` (Ctrl-C; the result covers the steps done).
    """

    P: np.ndarray
    Q: np.ndarray
    target: np.ndarray
    target_left: np.ndarray
    target_right: np.ndarray
    target_strengths: np.ndarray
    steps: np.ndarray
    times: np.ndarray
    loss: np.ndarray
    strengths: np.ndarray
    alignment: np.ndarray
    config: dict = field(repr=False)
    seconds: float = 0.0
    stopping_reason: str = "completed"

    def rerun(self) -> ScurveResult:
        """Train again from ``config`` (bit-for-bit identical on the same machine)."""
        return train_scurve(**self.config)


def _measure(P, Q, a, b):
    """Learned strength ``a_kᵀ P Qᵀ b_k`` per target, and cosines (rank, K) of components to targets."""
    Pf, Qf = P.astype(np.float64), Q.astype(np.float64)
    pa, qb = a.T @ Pf, b.T @ Qf  # (K, rank)
    strength = np.sum(pa * qb, axis=1)
    norms = (np.linalg.norm(Pf, axis=0) * np.linalg.norm(Qf, axis=0))[:, None]
    cos = (pa * qb).T
    return strength, np.divide(cos, norms, out=np.zeros_like(cos), where=norms > 0)


def _loss_and_grad(P, Q, A, p_target, gP, gQ) -> float:
    """Loss of ``P Qᵀ`` against ``A`` (squared) or ``p_target`` (cross-entropy, if given); fills gP, gQ.

    Squared: ``½ ||P Qᵀ - A||²``, ``E = P Qᵀ - A``. Cross-entropy: ``KL(p_target || softmax(P Qᵀ))``,
    ``E = softmax(P Qᵀ) - p_target``. In both cases ``∂/∂P = E Q`` and ``∂/∂Q = Eᵀ P``.
    """
    M = P @ Q.T
    if p_target is None:
        E = M - A.astype(M.dtype)
        value = 0.5 * float(np.sum(E.astype(np.float64) ** 2))
    else:
        z = M.astype(np.float64).ravel()
        z = z - z.max()
        logZ = np.log(np.sum(np.exp(z)))
        pt = p_target.ravel()
        value = float(pt @ (np.log(pt) - (z - logZ)))
        E = (np.exp(z - logZ) - pt).reshape(M.shape).astype(M.dtype)
    np.matmul(E, Q, out=gP)
    np.matmul(E.T, P, out=gQ)
    return value


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def scurve_loss(P, Q, target, *, loss="squared", return_grad=False):
    """Loss of the factorized model ``P Qᵀ`` against ``target``, optionally with its gradients.

    ``"squared"``: ``½ ||P Qᵀ - A||_F²``; ``"cross_entropy"``: ``KL(softmax(A) || softmax(P Qᵀ))``,
    each softmax over all entries (see :func:`train_scurve`).

    Parameters
    ----------
    P, Q : array_like, shape (m, rank), (m2, rank)
    target : array_like, shape (m, m2)
    loss : {"squared", "cross_entropy"}
    return_grad : bool
        Also return ``(dL/dP, dL/dQ)``.

    Returns
    -------
    loss : float
    grads : tuple of ndarrays, only with ``return_grad``

    Examples
    --------
    >>> P, Q = np.eye(3)[:, :1], np.eye(3)[:, :1]
    >>> scurve_loss(P, Q, 2 * P @ Q.T)  # half the squared distance between e0 e0ᵀ and 2 e0 e0ᵀ
    0.5
    >>> scurve_loss(P, Q, np.ones((3, 2)))
    Traceback (most recent call last):
    ...
    ValueError: target must have shape (3, 3) = (rows of P, rows of Q); got (3, 2).
    """
    loss = check_choice(loss, "loss", LOSSES)
    return_grad = check_bool(return_grad, "return_grad")
    P, Q = (check_real(v, name, dtype=np.float64) for v, name in ((P, "P"), (Q, "Q")))
    for arr, name in ((P, "P"), (Q, "Q")):
        if arr.ndim != 2 or 0 in arr.shape or not np.isfinite(arr).all():
            raise ValueError(f"{name} must be a finite 2-D array (rows, rank); got {_describe(arr)}.")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must have the same rank (columns); got {P.shape[1]} and {Q.shape[1]}.")
    A = check_real(target, "target", dtype=np.float64)
    if A.shape != (P.shape[0], Q.shape[0]) or not np.isfinite(A).all():
        raise ValueError(
            f"target must have shape {(P.shape[0], Q.shape[0])} = (rows of P, rows of Q); got {A.shape}."
        )
    p_target = _softmax(A.ravel()).reshape(A.shape) if loss == "cross_entropy" else None
    gP, gQ = np.empty_like(P), np.empty_like(Q)
    value = _loss_and_grad(P, Q, A, p_target, gP, gQ)
    return (value, (gP, gQ)) if return_grad else value


def train_scurve(
    *,
    rank,
    target_strengths=(1.0,),
    size=(16, 16),
    loss="squared",
    optimizer="sgd",
    lr=0.05,
    steps=2000,
    init_scale=1e-3,
    aligned_init=False,
    schedule="constant",
    weight_decay=0.0,
    betas=(0.9, 0.999),
    eps=1e-8,
    momentum=0.0,
    record_every=1,
    dtype=np.float64,
    rng=None,
    blas_threads=1,
    checkpoint=None,
    checkpoint_every=None,
    progress="auto",
) -> ScurveResult:
    """Train ``Ã = P Qᵀ`` of rank ``rank`` on ``A = Σ_k s_k a_k b_kᵀ`` from small initialization.

    Losses: ``"squared"``, ``½ ||Ã - A||_F²``; ``"cross_entropy"``, target and
    model each turned into a distribution by a softmax over all ``m * m2``
    entries, loss ``-Σ p_A log p_Ã + Σ p_A log p_A`` (the cross-entropy offset by
    the target entropy, so equality is zero loss). The data is the whole target,
    so ``"sgd"`` is plain gradient descent, whose time ``lr * step`` follows
    gradient flow.

    Parameters
    ----------
    rank : int
        Number of learned components (columns of ``P`` and ``Q``).
    target_strengths : sequence of float
        ``s_k > 0``, one per target component (``K = len``); directions are
        random orthonormal.
    size : (int, int)
        ``(m, m2)``, with ``K <= min(m, m2)`` and ``rank <= min(m, m2)``.
    loss : {"squared", "cross_entropy"}
    optimizer : {"sgd", "adam", "adamw"}
    lr, steps, schedule, weight_decay, betas, eps, momentum
        As in :func:`train_toy_model`.
    init_scale : float
        Entries of ``P`` and ``Q`` start as ``init_scale * N(0, 1) / sqrt(m)``
        (column norms about ``init_scale``).
    aligned_init : bool
        Start component ``r`` exactly on target ``r``: ``p_r = init_scale a_r``,
        ``q_r = init_scale b_r`` (needs ``rank <= K``).
    record_every : int
    dtype : np.float64 (default) or np.float32
    rng : None, int or numpy.random.Generator
    blas_threads : int or None
        As in :func:`train_toy_model` (default 1).
    checkpoint, checkpoint_every
        As in :func:`train_toy_model`: save the run's state to a ``.npz`` file every
        ``checkpoint_every`` steps (default 1000), at the end and on Ctrl-C, and
        resume from it bit for bit.
    progress : True, False or "auto"
        As in :func:`train_toy_model`.

    Returns
    -------
    ScurveResult

    Examples
    --------
    >>> r = train_scurve(rank=1, lr=0.05, steps=400, init_scale=1e-3, aligned_init=True, rng=0)
    >>> t = r.times[-1]
    >>> bool(abs(r.strengths[-1, 0] - scurve_closed_form(t, 1e-3) ** 2) < 0.02)
    True
    >>> train_scurve(rank=0)
    Traceback (most recent call last):
    ...
    ValueError: rank must be >= 1; got 0.
    """
    t0 = time.perf_counter()
    rank = check_int(rank, "rank")
    strengths = np.atleast_1d(check_numbers(target_strengths, "target_strengths"))
    if strengths.ndim != 1 or strengths.size == 0 or not (np.isfinite(strengths) & (strengths > 0)).all():
        raise ValueError(
            f"target_strengths must be a non-empty sequence of numbers > 0; got {target_strengths!r}."
        )
    size = tuple(check_int(v, f"size[{i}]") for i, v in enumerate(check_pair(size, "size", "(m, m2)")))
    K = strengths.size
    if max(K, rank) > min(size):
        raise ValueError(f"rank={rank} and the {K} target components must fit in min(size)={min(size)}.")
    aligned_init = check_bool(aligned_init, "aligned_init")
    if aligned_init and rank > K:
        raise ValueError(f"aligned_init needs rank <= number of target components ({K}); got rank={rank}.")
    ckpt = Checkpointer.open(checkpoint, checkpoint_every, "train_scurve")
    gen, seed = seeded_rng(ckpt.rng(rng))
    # The validated options, in the form train_scurve(**config) accepts: the run reads only these.
    config = dict(
        **check_optimizer_options(
            optimizer, schedule, lr, weight_decay, betas, eps, momentum, steps, **CHOICES
        ),
        rank=rank,
        target_strengths=strengths.tolist(),
        size=size,
        loss=check_choice(loss, "loss", LOSSES),
        init_scale=check_float(init_scale, "init_scale", minimum=0.0, strict_min=True),
        aligned_init=aligned_init,
        record_every=check_int(record_every, "record_every"),
        dtype=check_dtype(dtype).type,
        rng=seed,
        blas_threads=check_blas_threads(blas_threads),
    )
    m, m2 = config["size"]
    check_memory(
        8 * (6 * m * m2 + 8 * (m + m2) * (rank + strengths.size)) + 8 * 4 * (config["steps"] + 1),
        "train_scurve",
        "the target, its factors, the parameters and the records",
        size=(m, m2),
        rank=rank,
        steps=config["steps"],
    )
    return _train(config, gen, t0, ckpt, check_progress(progress))


def _train(cfg: dict, gen: np.random.Generator, t0: float, ckpt=None, progress=False) -> ScurveResult:
    """Train from validated options ``cfg``, drawing from ``gen``."""
    (m, m2), rank, every, steps = cfg["size"], cfg["rank"], cfg["record_every"], cfg["steps"]
    strengths, init_scale, dt = np.array(cfg["target_strengths"]), cfg["init_scale"], np.dtype(cfg["dtype"])
    K = strengths.size
    a, _ = np.linalg.qr(gen.standard_normal((m, K)))
    b, _ = np.linalg.qr(gen.standard_normal((m2, K)))
    A = (a * strengths) @ b.T
    params = np.empty((m + m2) * rank, dtype=dt)
    grad = np.empty_like(params)
    P, Q = params[: m * rank].reshape(m, rank), params[m * rank :].reshape(m2, rank)
    gP, gQ = grad[: m * rank].reshape(m, rank), grad[m * rank :].reshape(m2, rank)
    if cfg["aligned_init"]:
        P[...], Q[...] = init_scale * a[:, :rank], init_scale * b[:, :rank]
    else:
        P[...] = gen.standard_normal((m, rank)) * init_scale / np.sqrt(m)
        Q[...] = gen.standard_normal((m2, rank)) * init_scale / np.sqrt(m2)
    p_target = _softmax(A.ravel()).reshape(m, m2) if cfg["loss"] == "cross_entropy" else None

    def loss_and_grad(_t):
        value = _loss_and_grad(P, Q, A, p_target, gP, gQ)
        return np.array([value])

    rec_steps, rec = [], []

    def record(t):
        if t % every == 0 or t == steps:
            rec_steps.append(t)
            rec.append(_measure(P, Q, a, b))

    opt = Optimizer.from_options(params, cfg)
    records = {"steps": rec_steps, "measures": rec}  # restored from a checkpoint with the loop's state
    history, _, _ = run_loop(
        params,
        grad,
        loss_and_grad,
        opt,
        steps,
        1,
        record=record,
        threads=cfg["blas_threads"],
        checkpoint=None if ckpt is None else ckpt.bind(cfg, generators=[gen], records=records),
        progress=progress,  # progress hook (cli branch)
        desc="train_scurve",
    )
    done = len(history)  # steps, or fewer after Ctrl-C
    with np.errstate(over="ignore", invalid="ignore"):
        final_loss = loss_and_grad(done)[0]
    if not np.isfinite(final_loss):  # finite parameters whose loss overflows: no result to report
        raise TrainingDivergedError(
            f"training diverged at step {done - 1}: the loss after the final update is {final_loss}; "
            f"last finite loss: {float(history[-1, 0]) if done else 'none'}. Lower lr (now {cfg['lr']})."
        )
    rec_steps.append(done)  # the state after the last update is always recorded
    rec.append(_measure(P, Q, a, b))
    steps_arr = np.asarray(rec_steps)
    losses = np.append(history[steps_arr[:-1], 0], final_loss)
    return ScurveResult(
        P=P.copy(),
        Q=Q.copy(),
        target=A,
        target_left=a,
        target_right=b,
        target_strengths=strengths,
        steps=steps_arr,
        times=steps_arr * cfg["lr"],
        loss=losses,
        strengths=np.array([r[0] for r in rec]),
        alignment=np.array([r[1] for r in rec]),
        config=cfg,
        seconds=time.perf_counter() - t0,
        stopping_reason="completed" if done == steps else "interrupted",
    )
