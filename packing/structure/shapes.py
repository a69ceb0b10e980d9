"""The one shape vocabulary: names, families, templates, dimensionality fractions, colours.

Every module that names a shape, draws one, or needs its ideal coordinates gets
it here (:mod:`packing.plotting` and the figure drivers import from this module).

* A shape is a *family* and a number of points ``m`` (:class:`IdealShape`):
  ``"dedicated"`` (1 point), ``"digon"`` (an antipodal pair), ``"polygon"``,
  ``"simplex"``, ``"cross_polytope"``, ``"square_antiprism"`` (8 points) and
  ``"rectified_simplex"`` (the midpoints of the edges of a regular simplex).
  Its name (``"pentagon"``, ``"tetrahedron"``, ``"rectified 5-cell"``, ...), the
  dimension it spans and the feature dimensionality ``dim / m`` of each of its
  points follow from the family and ``m``.
* :data:`COMMON_SHAPES` are the shapes toy models learn (Elhage et al. 2022,
  "Toy Models of Superposition", section "Feature dimensionality"), and
  :data:`SHAPE_FRACTIONS` their dimensionalities; :data:`SHAPE_COLORS` gives
  each of them, and the labels of unidentified and dropped features, one
  fixed colour for every figure.
* :func:`shape_template` returns a shape's unit rows in coordinates of its own
  span; :func:`identify_shape` matches a set of vectors to every template with
  as many points (:mod:`packing.structure._procrustes`) and reports a
  :class:`ShapeMatch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, lru_cache

import numpy as np

from .._results import Savable
from .._rows import gram_spectrum, nonzero_rows, rank, span, unit_rows
from .._validation import _describe, check_float, check_int, check_memory, check_packing, check_tolerance
from ..constructions import (
    antipodal_pair,
    cross_polytope,
    orthonormal_basis,
    regular_polygon,
    regular_simplex,
    square_antiprism,
)
from ._procrustes import match

__all__ = [
    "SHAPE_FAMILIES",
    "IdealShape",
    "COMMON_SHAPES",
    "SHAPE_FRACTIONS",
    "SHAPE_COLORS",
    "shape_template",
    "ShapeMatch",
    "identify_shape",
]

#: Default RMS Procrustes residual (per unit vector) up to which a shape is accepted.
SHAPE_TOL = 0.1
#: A residual up to this multiple of the tolerance is "ambiguous"; beyond it, "other".
AMBIGUOUS_FACTOR = 3.0
#: Default relative singular-value cut-off for the dimension a set of unit rows spans.
RANK_RTOL = 0.1

#: Label of a set of vectors near a template but beyond the tolerance.
AMBIGUOUS = "ambiguous"
#: Label of a set of vectors near no template.
OTHER = "other"
#: Label of a feature whose norm is below the threshold (in no factor).
DROPPED = "dropped"

# ----------------------------------------------------------------------------- families

_POLYGON_NAMES = {3: "triangle", 4: "square", 5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}


def _rectified_rank(m: int) -> int | None:
    """Return ``r`` with ``m = (r + 1) r / 2`` (the rectified r-simplex has m vertices), else None."""
    r = (math.isqrt(8 * m + 1) - 1) // 2
    return r if r >= 2 and r * (r + 1) // 2 == m else None


def _rectified(m: int) -> np.ndarray:
    """Midpoints of the edges of the regular ``r``-simplex (``m = r (r + 1) / 2`` of them)."""
    S = regular_simplex(_rectified_rank(m) + 1)
    return np.array([S[i] + S[j] for i in range(len(S)) for j in range(i + 1, len(S))])


# Shapes that two families share go by one name, the one identify_shape reports: the 1-simplex
# and the 1-cross-polytope are the digon, the rectified 2-simplex is a triangle, the rectified
# 3-simplex the octahedron, and so on.
def _simplex_name(m: int) -> str:
    return {2: "digon", 3: "triangle", 4: "tetrahedron"}.get(m, f"{m - 1}-simplex")


def _cross_polytope_name(m: int) -> str:
    return {2: "digon", 4: "square", 6: "octahedron"}.get(m, f"{m // 2}-cross-polytope")


def _rectified_name(m: int) -> str:
    r = _rectified_rank(m)
    return {2: "triangle", 3: "octahedron", 4: "rectified 5-cell"}.get(r, f"rectified {r}-simplex")


@dataclass(frozen=True)
class _Family:
    points: int | None  # the fixed number of points, or None when m is free
    minimum: int  # the least m
    dim: Callable[[int], int]  # dimension the shape with m points spans
    name: Callable[[int], str]
    build: Callable[[int], np.ndarray]  # the construction (any orthogonal frame)


_FAMILY = {
    "dedicated": _Family(1, 1, lambda m: 1, lambda m: "dedicated", lambda m: orthonormal_basis(1)),
    "digon": _Family(2, 2, lambda m: 1, lambda m: "digon", lambda m: antipodal_pair()),
    "polygon": _Family(None, 3, lambda m: 2, lambda m: _POLYGON_NAMES.get(m, f"{m}-gon"), regular_polygon),
    "simplex": _Family(None, 2, lambda m: m - 1, _simplex_name, regular_simplex),
    "cross_polytope": _Family(
        None, 2, lambda m: m // 2, _cross_polytope_name, lambda m: cross_polytope(m // 2)
    ),
    "square_antiprism": _Family(
        8, 8, lambda m: 3, lambda m: "square antiprism", lambda m: square_antiprism()
    ),
    "rectified_simplex": _Family(None, 3, _rectified_rank, _rectified_name, _rectified),
}

#: The shape families, in the order :func:`identify_shape` tries them.
SHAPE_FAMILIES = tuple(_FAMILY)


def _check_shape(family, m) -> int:
    """Return the number of points of shape ``(family, m)``; raise naming ``family`` or ``m``."""
    if not isinstance(family, str) or family not in _FAMILY:
        raise ValueError(f"family must be one of {SHAPE_FAMILIES}; got {_describe(family)}.")
    fixed = _FAMILY[family].points
    if fixed is not None:
        if m is not None and check_int(m, "m") != fixed:
            raise ValueError(f"m must be {fixed} for a {family}; got {m}.")
        return fixed
    if m is None:
        raise ValueError(f"m (the number of points) is required for a {family}; got None.")
    m = check_int(m, "m", minimum=_FAMILY[family].minimum)
    if family == "cross_polytope" and m % 2:
        raise ValueError(f"m must be even for a cross-polytope (2 points per axis); got {m}.")
    if family == "rectified_simplex" and _rectified_rank(m) is None:
        raise ValueError(f"m must be a triangular number r (r + 1) / 2 for a rectified simplex; got {m}.")
    return m


@dataclass(frozen=True)
class IdealShape(Savable):
    """One ideal shape of the vocabulary: a family and its number of points.

    Parameters
    ----------
    family : str
        One of :data:`SHAPE_FAMILIES`.
    m : int, optional
        Number of points (polygon >= 3, simplex >= 2, cross_polytope even >= 2,
        rectified_simplex ``r (r + 1) / 2``); fixed for the other families.

    Attributes
    ----------
    name : str
        What :func:`identify_shape` calls it (``"pentagon"``, ``"tetrahedron"``, ...).
    dim : int
        Dimension of the subspace the shape spans.
    dimensionality : float
        Feature dimensionality ``dim / m`` of each point (Elhage et al. 2022): the
        shape, at its tight proportions, is a unit-norm tight frame of its span.
    fraction : str
        ``dim / m`` as a reduced fraction (``"2/5"``; ``"1"`` for a dedicated dimension).

    Examples
    --------
    >>> s = IdealShape("polygon", 5)
    >>> s.name, s.dim, s.dimensionality, s.fraction
    ('pentagon', 2, 0.4, '2/5')
    >>> IdealShape("square_antiprism").fraction
    '3/8'
    >>> IdealShape("simplex")
    Traceback (most recent call last):
    ...
    ValueError: m (the number of points) is required for a simplex; got None.
    """

    family: str
    m: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "m", _check_shape(self.family, self.m))

    @property
    def name(self) -> str:
        """What :func:`identify_shape` calls the shape."""
        return _FAMILY[self.family].name(self.m)

    @property
    def dim(self) -> int:
        """Dimension of the subspace the shape spans."""
        return _FAMILY[self.family].dim(self.m)

    @property
    def dimensionality(self) -> float:
        """Feature dimensionality ``dim / m`` of each point of the tight shape."""
        return self.dim / self.m

    @property
    def fraction(self) -> str:
        """``dim / m`` as a reduced fraction."""
        return str(Fraction(self.dim, self.m))


_COMMON = (
    (IdealShape("dedicated"), "#1f77b4"),
    (IdealShape("simplex", 4), "#d62728"),
    (IdealShape("polygon", 3), "#2ca02c"),
    (IdealShape("digon"), "#ff7f0e"),
    (IdealShape("polygon", 5), "#9467bd"),
    (IdealShape("square_antiprism"), "#8c564b"),
)
#: The shapes toy models learn, by decreasing feature dimensionality: dedicated (1),
#: tetrahedron (3/4), triangle (2/3), digon (1/2), pentagon (2/5), square antiprism (3/8)
#: (Elhage et al. 2022, "Toy Models of Superposition", section "Feature dimensionality").
COMMON_SHAPES = tuple(shape for shape, _ in _COMMON)
#: Feature dimensionality of each of :data:`COMMON_SHAPES`, keyed by its fraction ("2/5": 0.4).
SHAPE_FRACTIONS = {shape.fraction: shape.dimensionality for shape in COMMON_SHAPES}
#: One fixed colour per label (the common shapes, unidentified and dropped features), for every figure.
SHAPE_COLORS = {shape.name: color for shape, color in _COMMON} | {
    AMBIGUOUS: "#bbbbbb",
    OTHER: "#555555",
    DROPPED: "#dddddd",
}

# ----------------------------------------------------------------------------- templates


def _candidates(m: int, max_polygon: int = 24) -> list:
    """(family, m) of every template with m points, each shape once (by name), polygons up to max_polygon."""
    out, names = [], set()
    for family in SHAPE_FAMILIES:
        try:
            _check_shape(family, m)
        except ValueError:
            continue  # no shape of this family has m points
        name = _FAMILY[family].name(m)
        if name not in names and not (family == "polygon" and m > max_polygon):
            out.append((family, m))
            names.add(name)
    return out


@lru_cache(maxsize=256)
def _template(family: str, m: int) -> np.ndarray:
    """Return the unit rows of the ideal shape in coordinates of its own span (read-only)."""
    T = unit_rows(np.asarray(_FAMILY[family].build(m), dtype=np.float64))
    T = T @ span(T, rank(T, 1e-8))
    T.setflags(write=False)
    return T


def _construction_height() -> float:
    """Cosine of a vertex of :func:`packing.square_antiprism` to its symmetry axis (the z axis)."""
    return float(abs(square_antiprism()[0, 2]))


#: Heights (|cosine| to the symmetry axis) at which a square antiprism is matched, its one
#: free parameter: the equal-edge construction's, the tight frame's (``1/sqrt(3)``, feature
#: dimensionality 3/8, what toy models learn) and a grid from 0.3 to 0.8.
ANTIPRISM_HEIGHTS = tuple(
    sorted({_construction_height(), float(1 / np.sqrt(3)), *np.linspace(0.3, 0.8, 11).tolist()})
)


@cache
def _antiprism_family() -> tuple:
    """Square antiprisms at every height of :data:`ANTIPRISM_HEIGHTS`, rows in the template's order."""
    T = _template("square_antiprism", 8)
    evals, evecs = np.linalg.eigh(T.T @ T)
    gaps = [abs(evals[i] - evals[j]) + abs(evals[i] - evals[3 - i - j]) for i, j in ((0, 1), (1, 2), (0, 2))]
    axis = evecs[:, [2, 0, 1][int(np.argmin(gaps))]]  # the eigenvalue that differs from the other two
    z = T @ axis
    planar = T - np.outer(z, axis)
    planar /= np.linalg.norm(planar, axis=1, keepdims=True)
    out = []
    for h in ANTIPRISM_HEIGHTS:
        V = planar * np.sqrt(1 - h * h) + np.outer(np.sign(z) * h, axis)
        V.setflags(write=False)
        out.append(V)
    return tuple(out)


def shape_template(family: str, m: int | None = None) -> np.ndarray:
    """Return the ideal shape ``family`` with ``m`` points as unit rows in its own span.

    Parameters
    ----------
    family : {"dedicated", "digon", "polygon", "simplex", "cross_polytope", "square_antiprism", \
"rectified_simplex"}
    m : int, optional
        Number of points (polygon >= 3, simplex >= 2, cross_polytope even >= 2,
        rectified_simplex ``r (r + 1) / 2``: the midpoints of the edges of the
        regular ``r``-simplex, in ``R^r``); fixed for the other families.

    Returns
    -------
    ndarray, shape (m, k)
        ``k`` is the dimension the shape spans.

    Examples
    --------
    >>> shape_template("polygon", 5).shape, shape_template("square_antiprism").shape
    ((5, 2), (8, 3))
    >>> shape_template("polygon", 2)
    Traceback (most recent call last):
    ...
    ValueError: m must be >= 3; got 2.
    """
    m = _check_shape(family, m)
    dim = _FAMILY[family].dim(m)
    check_memory(48 * m * max(m, dim), "shape_template", "the construction and its span", family=family, m=m)
    return _template(family, m).copy()


# ----------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class ShapeMatch(Savable):
    """The shape of a set of vectors, matched to ideal constructions.

    Attributes
    ----------
    label : str
        The matched shape ("pentagon", "digon", "tetrahedron", "dedicated",
        "square antiprism", "7-gon", "octahedron", ...) when the residual is within
        tolerance; ``"ambiguous"`` when the nearest shape is beyond tolerance but
        within ``AMBIGUOUS_FACTOR`` times it; ``"other"`` otherwise.
    nearest : str or None
        Name of the nearest template (whatever the label).
    family : str or None
        Family of the nearest template (``"polygon"``, ``"simplex"``, ...).
    residual : float
        RMS distance per unit vector between the vectors (optimally rotated,
        reflected and relabelled) and the nearest template; 0 for an exact match;
        ``inf`` (with ``nearest=None``) when no template with this many points fits
        in the vectors' dimension or within the matching work budget.
    confidence : float
        ``max(0, 1 - residual / (AMBIGUOUS_FACTOR * tol))``: 1 for an exact match,
        0 at or beyond the "other" threshold.
    n_points, dim : int
        Number of vectors and dimension of their span.
    gram_spectrum : ndarray
        Eigenvalues (descending) of the Gram matrix of the unit vectors.
    candidates : dict
        Residual to every template that was tried, by name.
    order : ndarray of int or None
        ``order[j]`` is the input row matched to template point ``j``.
    tol : float
        The acceptance tolerance.
    """

    label: str
    nearest: str | None
    family: str | None
    residual: float
    confidence: float
    n_points: int
    dim: int
    gram_spectrum: np.ndarray
    candidates: dict = field(default_factory=dict)
    order: np.ndarray | None = None
    tol: float = SHAPE_TOL

    @property
    def matched(self) -> bool:
        """Whether the shape was identified within tolerance."""
        return self.label not in (AMBIGUOUS, OTHER)


def identify_shape(V, *, tol: float = SHAPE_TOL, rank_rtol: float = RANK_RTOL) -> ShapeMatch:
    """Name the shape of the rows of ``V`` up to rotation, reflection, relabelling and noise.

    The rows are normalised; each candidate ideal shape with the same number of
    points (dedicated dimension, antipodal pair, regular polygon, regular simplex,
    cross-polytope, square antiprism, rectified simplex such as the rectified
    5-cell: 10 points in ``R^4`` that toy models learn) is aligned by Procrustes analysis after a
    search over correspondences (exhaustive up to 6 points, else seeded by the
    shape's symmetry and refined by linear assignment). The residual includes
    the part of ``V`` outside the template's dimension. A square antiprism is
    matched at the nearest of several heights (its one free parameter,
    :data:`ANTIPRISM_HEIGHTS`).

    Parameters
    ----------
    V : array_like, shape (m, d)
        The vectors of one factor (``m >= 1``, nonzero rows).
    tol : float, default 0.1
        Largest RMS residual per unit vector accepted as a match.
    rank_rtol : float, default 0.1
        Relative singular-value cut-off for the reported ``dim``.

    Returns
    -------
    ShapeMatch

    Raises
    ------
    ValueError
        If ``V`` has a zero row (drop unrepresented features first).

    Examples
    --------
    >>> t = 2 * np.pi * np.arange(5) / 5
    >>> pentagon = np.c_[np.cos(t), np.sin(t), np.zeros(5)] @ [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    >>> m = identify_shape(pentagon)
    >>> m.label, m.dim, round(m.residual, 6)
    ('pentagon', 2, 0.0)
    >>> identify_shape(pentagon + [0, 0, 0.3]).label
    'ambiguous'
    >>> identify_shape([[1.0, 0.0], [0.0, 0.0]])
    Traceback (most recent call last):
    ...
    ValueError: V must have nonzero rows; row 1 is zero. Drop unrepresented features first.
    """
    V = check_packing(V, "V", dtype=np.float64)
    tol = check_tolerance(tol, "tol")
    rank_rtol = check_float(rank_rtol, "rank_rtol", minimum=0.0, maximum=1.0)
    m, d = V.shape
    check_memory(48 * m * max(m, d), "identify_shape", "the templates with as many points as V", m=m, d=d)
    zero = ~nonzero_rows(V)
    if zero.any():
        raise ValueError(
            f"V must have nonzero rows; row {int(np.flatnonzero(zero)[0])} is zero. "
            f"Drop unrepresented features first."
        )
    return _identify_shape(unit_rows(V), tol, rank_rtol)


def _identify_shape(U: np.ndarray, tol: float, rank_rtol: float) -> ShapeMatch:
    """:func:`identify_shape` on unit rows ``U`` (float64, none zero) and checked tolerances."""
    m = U.shape[0]
    spectrum = gram_spectrum(U)
    dim = rank(U, rank_rtol)
    results = {}
    for family, size in _candidates(m):
        if _FAMILY[family].dim(size) > U.shape[1]:
            continue  # the shape does not fit in the space of V
        T = _template(family, size)
        X = U @ span(U, T.shape[1])
        out2 = max(float(np.sum(U * U) - np.sum(X * X)), 0.0)  # the part of U outside the span
        templates = _antiprism_family() if family == "square_antiprism" else (T,)
        residual, perm = min((match(family, X, out2, S) for S in templates), key=lambda r: r[0])
        if perm is None:  # too many points to match within the work budget: not tried
            continue
        order = np.empty(m, dtype=int)
        order[perm] = np.arange(m)
        results[_FAMILY[family].name(size)] = (residual, family, order)
    if not results:
        return ShapeMatch(OTHER, None, None, np.inf, 0.0, m, dim, spectrum, {}, None, tol)
    name = min(results, key=lambda key: results[key][0])
    residual, family, order = results[name]
    if residual <= tol:
        label = name
    elif residual <= AMBIGUOUS_FACTOR * tol:
        label = AMBIGUOUS
    else:
        label = OTHER
    confidence = max(0.0, 1.0 - residual / (AMBIGUOUS_FACTOR * tol)) if tol > 0 else float(residual == 0)
    return ShapeMatch(
        label=label,
        nearest=name,
        family=family,
        residual=residual,
        confidence=confidence,
        n_points=m,
        dim=dim,
        gram_spectrum=spectrum,
        candidates={key: value[0] for key, value in results.items()},
        order=order,
        tol=tol,
    )
