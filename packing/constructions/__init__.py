"""Exact and random constructions of packings ``W`` of shape ``(n, d)``.

Every function returns a float64 array with one unit-norm row per feature.

* Small polytopes and optimal line packings: :func:`regular_polygon_lines`,
  :func:`regular_polygon`, :func:`antipodal_pair` (:func:`digon`),
  :func:`regular_simplex`, :func:`cross_polytope`, :func:`orthonormal_basis`,
  :func:`square_antiprism`, :func:`icosahedron_lines`,
  :func:`equiangular_lines_28`.
* Real equiangular tight frames, built exactly from conference matrices
  (Paley), strongly regular graphs (Petersen, Latin-square graphs), Steiner
  systems with Hadamard matrices (Fickus, Mixon & Tremain 2012) and Naimark
  complements: :func:`equiangular_tight_frame`, :func:`etf_sizes`,
  :func:`hadamard_matrix`.
* Direct sums: :func:`tegum_product`, :func:`partition_sizes`,
  :func:`tegum_packing`.
* Overlapping orthonormal bases: :func:`overlapping_orthogonal_sets`,
  :func:`mutually_unbiased_bases`; and :func:`random_packing`.
* Known optima: :func:`known_optimum`, :func:`best_known_block`.

Modules: ``polytopes`` (small polytopes and exact line packings), ``etf``
(Hadamard, conference, Steiner and graph ETFs, MUBs), ``tegum`` (direct sums,
overlapping sets), ``random`` (Haar rotations, random unit vectors) and
``known`` (the one registry of known optimal packings).
"""

from .etf import equiangular_tight_frame, etf_exists, etf_sizes, hadamard_matrix, mutually_unbiased_bases
from .known import KnownOptimum, best_known_block, known_optimum
from .polytopes import (
    antipodal_pair,
    cross_polytope,
    digon,
    equiangular_lines_28,
    icosahedron_lines,
    orthonormal_basis,
    regular_polygon,
    regular_polygon_lines,
    regular_simplex,
    square_antiprism,
)
from .random import haar_rotation, random_packing
from .tegum import overlapping_orthogonal_sets, partition_sizes, tegum_packing, tegum_product

__all__ = [
    "regular_polygon_lines",
    "regular_polygon",
    "antipodal_pair",
    "digon",
    "regular_simplex",
    "cross_polytope",
    "orthonormal_basis",
    "square_antiprism",
    "icosahedron_lines",
    "equiangular_lines_28",
    "hadamard_matrix",
    "equiangular_tight_frame",
    "etf_sizes",
    "etf_exists",
    "tegum_product",
    "partition_sizes",
    "tegum_packing",
    "overlapping_orthogonal_sets",
    "mutually_unbiased_bases",
    "random_packing",
    "haar_rotation",
    "best_known_block",
    "known_optimum",
    "KnownOptimum",
]
