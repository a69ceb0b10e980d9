"""The candidate blocks of a predicted geometry: the small polytopes toy models learn.

Elhage et al. (2022, "Toy Models of Superposition", section "The geometry of
superposition") find ReLU toy models storing features in tegum products of a
dedicated dimension (1 feature / 1 dim), antipodal pairs (digons, 2/1),
triangles (3/2), tetrahedra (4/3), pentagons (5/2) and square antiprisms (8/3),
and leaving features out. The library here has those, larger regular polygons
and simplices, and the square antiprism at several heights (its free
parameter; 1/sqrt(3) is the tight frame). The square (= two orthogonal
digons) and cross-polytopes (= orthogonal digons) are already tegum products of
digons and are left out. Every block is named by :func:`packing.identify_shape`,
so predicted and detected shapes use one vocabulary.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from .._results import Savable
from .._rows import nonzero_rows, unit_rows
from .._validation import _describe, check_int, check_packing
from ..constructions import antipodal_pair, regular_polygon, regular_simplex, square_antiprism
from ..structure import identify_shape

__all__ = ["BlockShape", "block_shape", "free_block"]

#: Largest regular polygon and simplex (number of vertices) in the default library.
MAX_POLYGON = 9
MAX_SIMPLEX = 8
#: Heights (cosine to the axis) of the square antiprisms tried; 1/sqrt(3) is the tight frame.
ANTIPRISM_HEIGHTS = (0.5, 1 / math.sqrt(3), 0.65)
#: Largest free block (every entry of its ``W`` is a fitted parameter).
FREE_MAX = 16


@dataclass(frozen=True)
class BlockShape(Savable, schema=1):
    """One candidate block: ``m`` unit vectors spanning ``D`` dimensions.

    Attributes
    ----------
    name : str
        As :func:`packing.identify_shape` labels it (``"dedicated"``, ``"digon"``, ...).
    key : str
        Unique key (the name plus a variant, e.g. the antiprism's height).
    directions : ndarray, shape (m, D)
    spread : bool
        A spread block (one shared norm and bias, always the last represented block).
    free : bool
        A free block (:func:`free_block`): ``directions`` only start the fit, which
        also moves the directions (see :mod:`packing.theory._free`).
    """

    name: str
    key: str
    directions: np.ndarray = field(repr=False, compare=False)
    spread: bool = False
    free: bool = False

    @property
    def m(self) -> int:
        """Number of features."""
        return self.directions.shape[0]

    @property
    def D(self) -> int:
        """Number of dimensions."""
        return self.directions.shape[1]

    @property
    def cosines(self) -> np.ndarray:
        """``U Uᵀ``, shape (m, m)."""
        return self.directions @ self.directions.T


def _antiprism(height: float) -> np.ndarray:
    A = square_antiprism()
    z = np.sign(A[:, 2])
    planar = A[:, :2] / np.linalg.norm(A[:, :2], axis=1, keepdims=True)
    return np.c_[planar * math.sqrt(1 - height * height), z * height]


def _named(U, key=None) -> BlockShape:
    U = np.asarray(U, dtype=np.float64)
    U.setflags(write=False)
    name = identify_shape(U).label if len(U) > 1 else "dedicated"
    return BlockShape(name, key or name, U)


def block_shape(directions, name=None) -> BlockShape:
    """Make a candidate block for :func:`predict_geometry` from any directions (e.g. an optimizer packing).

    Parameters
    ----------
    directions : array_like, shape (m, D)
        Nonzero rows; they are normalized.
    name : str, optional
        Default: the label :func:`packing.identify_shape` gives the rows.

    Returns
    -------
    BlockShape

    Examples
    --------
    >>> block_shape(packing.regular_polygon(5)).name
    'pentagon'
    >>> block_shape([[1.0, 0.0], [0.0, 0.0]])
    Traceback (most recent call last):
    ...
    ValueError: directions must have nonzero rows; row 1 is zero.
    """
    U = check_packing(directions, "directions", dtype=np.float64)
    zero = ~nonzero_rows(U)  # not the norms: rows of 1e-200 (or 1e200) are directions too
    if zero.any():
        raise ValueError(f"directions must have nonzero rows; row {int(np.flatnonzero(zero)[0])} is zero.")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string; got {_describe(name)}.")
    U = unit_rows(U)
    shape = _named(U)
    label = shape.name if name is None else name
    digest = hashlib.sha1(U.tobytes()).hexdigest()[:8]
    return BlockShape(label, f"{label} ({U.shape[0]} in {U.shape[1]}, {digest})", shape.directions)


@cache
def default_shapes(max_polygon: int = MAX_POLYGON, max_simplex: int = MAX_SIMPLEX) -> tuple:
    """Return the default library of candidate blocks (cached)."""
    shapes = [_named(np.ones((1, 1))), _named(antipodal_pair())]
    shapes += [_named(regular_polygon(m)) for m in range(3, max_polygon + 1) if m != 4]
    shapes += [_named(regular_simplex(m)) for m in range(4, max_simplex + 1)]
    shapes += [_named(_antiprism(h), f"square antiprism (height {h:.4f})") for h in ANTIPRISM_HEIGHTS]
    return tuple(shapes)


def free_block(m, D) -> BlockShape:
    """Make a free candidate block: ``m`` features in ``D`` dims, directions fitted with norms and biases.

    Unlike the library polytopes, whose directions are fixed, a free block's
    directions, norms and biases are all fitted to the expected loss of the
    features it is given (several starts: the library polytopes with ``m``
    points in ``D`` dims and seeded random ones). It can take shapes no
    polytope matches: distorted polytopes for unequal importances, or a polytope
    with a member kept at a small norm (a partially represented feature). It is
    rejected where the fit splits into a tegum product or leaves a member out
    (the dynamic programme composes those from smaller blocks). Fitting takes
    a few seconds per distinct set of importances and densities (exact
    gradient, several starts), against well under a second for a polytope, so
    free blocks are not in :func:`default_block_shapes`; pass them to
    :func:`predict_geometry` with ``shapes=default_block_shapes() + [free_block(6, 2)]``.

    Parameters
    ----------
    m, D : int
        Features (``2 <= m <= 16``) and dimensions (``1 <= D < m``).

    Returns
    -------
    BlockShape

    Examples
    --------
    >>> s = free_block(6, 2)
    >>> s.name, s.free, s.directions.shape
    ('free (6 in 2)', True, (6, 2))
    >>> free_block(2, 2)
    Traceback (most recent call last):
    ...
    ValueError: D must be < m = 2 (a block of m features in m dims is dedicated dimensions); got 2.
    """
    m = check_int(m, "m", minimum=2, maximum=FREE_MAX)
    D = check_int(D, "D", minimum=1)
    if D >= m:
        raise ValueError(
            f"D must be < m = {m} (a block of m features in m dims is dedicated dimensions); got {D}."
        )
    same = [s.directions for s in default_shapes() if s.m == m and s.D == D]
    U = same[0] if same else np.random.default_rng([m, D]).standard_normal((m, D))
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    U.setflags(write=False)
    return BlockShape(f"free ({m} in {D})", f"free {m}x{D}", U, free=True)
