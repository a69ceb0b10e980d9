"""Structured starts: packings of other sizes adapted to ``(n, d)``, and the line systems worth trying.

A good packing of a neighbouring cell is often one move away from a good packing
of this one: drop the line that touches most of the worst pairs, add a line where
there is most room, keep the principal ``d``-dimensional part of a packing in
``R^{d+1}``, or embed a packing of ``R^{d−1}``. :func:`adapt_packing` does those
moves; :func:`structured_seeds` lists, for a cell, the exact line systems of the
toolkit that can be adapted to it (root systems ``D_d``, ``E_6``, ``E_7``,
``E_8`` with ``|cos| ∈ {0, 1/2}``, the known optima of larger cells, real
mutually unbiased bases) and the best tegum product of known blocks.

Everything here trusts its input (validated by :func:`optimize_packing`).
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from .._rows import nonzero_rows
from ..constructions.etf import mutually_unbiased_bases
from ..constructions.known import known_optimum
from ._sphere import unit

__all__: list[str] = []  # private module

#: Candidate directions drawn per added line (the one farthest from the others is kept), per dimension.
_ADD_CANDIDATES = 64
#: Size of the random tilt that lets an embedded packing use its new dimension.
_EMBED_TILT = 1e-2
#: Known optima of the cells (n + k, d), k = 1.._LARGER_KNOWN, are thinned to n lines as seeds.
_LARGER_KNOWN = 4
#: A line system with at least this fraction of n lines is completed to n lines as a seed.
_FEWER = 0.85


# ----------------------------------------------------------------------------- adapting a packing


def _pair_abs(U: np.ndarray) -> np.ndarray:
    C = np.abs(U @ U.T)
    np.fill_diagonal(C, 0.0)
    return C


def drop_lines(U: np.ndarray, k: int) -> np.ndarray:
    """Remove ``k`` lines greedily, each time the one in most pairs at the current coherence.

    Ties go to the line with the largest sum of squared cosines (the most crowded one).
    """
    keep = np.arange(U.shape[0])
    C = _pair_abs(U)
    for _ in range(k):
        sub = C[np.ix_(keep, keep)]
        mu = sub.max()
        at_max = np.sum(sub >= mu - 1e-12, axis=1)
        crowd = np.sum(sub * sub, axis=1)
        worst = np.lexsort((-crowd, -at_max))[0]
        keep = np.delete(keep, worst)
    return U[keep]


def add_lines(U: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Add ``k`` lines one at a time, each the random candidate with the smallest largest ``|cos|``."""
    d = U.shape[1]
    for _ in range(k):
        cand = unit(rng.normal(size=(_ADD_CANDIDATES * d, d)))
        worst = np.abs(cand @ U.T).max(axis=1) if U.shape[0] else np.zeros(len(cand))
        U = np.vstack([U, cand[np.argmin(worst)]])
    return U


def change_dimension(U: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    """Project on the principal ``d``-dimensional subspace (``d`` smaller) or embed with a tilt (larger)."""
    m, d0 = U.shape
    if d < d0:
        V = np.linalg.svd(U, full_matrices=False)[2][:d]  # top right singular vectors
        X = U @ V.T
        bad = ~nonzero_rows(X)
        X[bad] = rng.normal(size=(int(bad.sum()), d))  # a line orthogonal to the subspace: redraw it
        return unit(X)
    if d > d0:
        X = np.hstack([U, np.zeros((m, d - d0))])
        return unit(X + _EMBED_TILT * rng.normal(size=X.shape))
    return U


def adapt_packing(W: np.ndarray, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Return a packing of ``n`` lines in ``R^d`` (unit rows) built from the unit rows ``W`` of any shape.

    The dimension is changed first (:func:`change_dimension`), then lines are dropped
    (:func:`drop_lines`) or added (:func:`add_lines`).
    """
    U = change_dimension(W, d, rng)
    if U.shape[0] > n:
        return drop_lines(U, U.shape[0] - n)
    if U.shape[0] < n:
        return add_lines(U, n - U.shape[0], rng)
    return U


# ----------------------------------------------------------------------------- line systems


def _lines(vectors) -> np.ndarray:
    """Return unit rows of ``vectors``, one per line (the first nonzero coordinate positive)."""
    V = unit(np.asarray(vectors, dtype=np.float64))
    lead = V[np.arange(len(V)), np.argmax(np.abs(V) > 1e-12, axis=1)]
    V = V[lead > 0]
    return V


@cache
def _e8_lines() -> np.ndarray:
    """Return the 120 lines of the ``E_8`` roots ``±e_i ± e_j`` and ``(±1/2)^8`` (even minus signs)."""
    roots = []
    for i, j in itertools.combinations(range(8), 2):
        for si, sj in itertools.product((1.0, -1.0), repeat=2):
            v = np.zeros(8)
            v[i], v[j] = si, sj
            roots.append(v)
    for signs in itertools.product((0.5, -0.5), repeat=8):
        if sum(s < 0 for s in signs) % 2 == 0:
            roots.append(np.array(signs))
    return _lines(roots)


def _orthogonal_section(V: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Return the lines of ``V`` orthogonal to the rows of ``fixed``, in coordinates of their complement."""
    keep = np.all(np.abs(V @ fixed.T) < 1e-9, axis=1)
    Q = np.linalg.svd(fixed)[2][fixed.shape[0] :]  # orthonormal basis of the complement
    return unit(V[keep] @ Q.T)


@cache
def _root_lines(name: str) -> np.ndarray:
    """Lines of the root systems ``E_8`` (120), ``E_7`` (63) and ``E_6`` (36), ``|cos| ∈ {0, 1/2}``."""
    E8 = _e8_lines()
    if name == "E8":
        return E8
    a = E8[0]
    if name == "E7":  # the E8 roots orthogonal to one root
        return _orthogonal_section(E8, a[None])
    # E6: the E8 roots orthogonal to an A2 (two roots at 120 degrees)
    b = next(v for v in E8 if abs(abs(v @ a) - 0.5) < 1e-12)
    return _orthogonal_section(E8, np.vstack([a, b]))


@cache
def _d_lines(d: int) -> np.ndarray:
    """Return the ``d (d − 1)`` lines ``e_i ± e_j`` of the root system ``D_d``, ``|cos| ∈ {0, 1/2}``."""
    rows = []
    for i, j in itertools.combinations(range(d), 2):
        for s in (1.0, -1.0):
            v = np.zeros(d)
            v[i], v[j] = 1.0, s
            rows.append(v)
    return unit(np.array(rows))


def _line_systems(n: int, d: int) -> list[np.ndarray]:
    """Exact line systems in ``R^d`` worth adapting to ``n`` lines (at least ``_FEWER * n`` lines)."""
    out = []
    for name, dim in (("E6", 6), ("E7", 7), ("E8", 8)):
        if dim == d and len(_root_lines(name)) >= _FEWER * n:
            out.append(_root_lines(name))
    if d >= 4 and d * (d - 1) >= _FEWER * n:
        out.append(_d_lines(d))
    for k in range(1, _LARGER_KNOWN + 1):
        entry = known_optimum(n + k, d)
        if entry is not None and entry.name in ("simplex", "equiangular tight frame"):
            out.append(np.array(entry.build()))
    for m in range(2, d + 2):
        if m * d >= n:
            try:
                out.append(mutually_unbiased_bases(d, m))
            except ValueError:  # no m real mutually unbiased bases of R^d are constructible here
                pass
            break
    return out


def structured_seeds(n: int, d: int, rng: np.random.Generator) -> list[tuple[np.ndarray, bool]]:
    """Return starts for ``n`` lines in ``R^d`` from the exact line systems above, sorted by coherence.

    Each system is adapted by :func:`adapt_packing` (thinned, or completed when it
    has a few lines too few); systems of ``R^{d+1}`` (``E_7`` and ``E_8``) are
    projected first. Duplicate coherences are dropped (one start per value). Each
    start comes with a flag: ``True`` when it is a subset of an exact system (its
    coherence is exact, and a local search would only blur it).
    """
    systems = [(V, V.shape[0] >= n) for V in _line_systems(n, d)]
    for name, dim in (("E7", 7), ("E8", 8)):
        if dim == d + 1 and len(_root_lines(name)) >= n:
            systems.append((_root_lines(name), False))
    seeds, seen = [], set()
    for V, exact in systems:
        U = adapt_packing(V, n, d, rng)
        mu = round(seed_coherence(U), 9)
        if mu < 1.0 and mu not in seen:
            seen.add(mu)
            seeds.append((mu, len(seeds), U, exact))
    return [(U, exact) for _, _, U, exact in sorted(seeds, key=lambda s: s[:2])]


def seed_coherence(U: np.ndarray) -> float:
    """``max |cos|`` of unit rows (0 for a single line)."""
    return float(_pair_abs(U).max()) if U.shape[0] > 1 else 0.0
