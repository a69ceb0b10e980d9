"""Read the geometry out of a packing: tegum factors, their shapes, orthogonal sets.

A learned weight matrix ``W`` of shape ``(n, d)`` (one row per feature) often
decomposes into *tegum factors*: groups of features that interfere with each
other and are orthogonal to every other group, each group a small regular shape
(an antipodal pair, a triangle, a pentagon, ...) in its own subspace. This
package finds that structure:

* :func:`represented_features` drops rows whose norm is below a threshold (the
  dropped rows are reported, never silently hidden);
* :func:`interference_graph` / :func:`tegum_factors`: features are the nodes, an
  edge joins two features with ``|cos| > atol``, the connected components are
  the tegum factors; their subspace dimensions and the largest overlap between
  different factors (feature-wise and subspace-wise) are reported;
* :func:`identify_shape` names the shape of a set of vectors up to rotation,
  reflection, relabelling and small noise, with the Procrustes residual to the
  matched ideal construction; too far from every template is ``"ambiguous"``
  (near one, beyond tolerance) or ``"other"`` (near none);
* :func:`orthogonal_sets`: maximal sets of mutually orthogonal features (cliques
  of the orthogonality graph) and the orthogonal-pair count against Turán's bound;
* :func:`factor_capacities`: per-factor capacity sums against factor dimensions;
* :func:`packing_signature` / :func:`deduplicate_packings`: a gauge-invariant
  fingerprint to recognise the same packing across seeds;
* :func:`analyze_structure` runs all of the above.

:func:`tegum_factors`, :func:`analyze_structure` and :func:`packing_signature`
with ``profile`` read the cosines tile by tile (``_scan``), never as an
``n x n`` matrix, so they run on learned dictionaries of tens of thousands of
latents.

Shapes are matched on directions (unit rows): norms are reported separately.

Modules: ``shapes`` (the one shape vocabulary: families, names, templates,
dimensionality fractions, colours; shape identification), ``_procrustes``
(matching onto one template), ``factors`` (represented features, the two graphs,
tegum factors), ``orthogonal`` (maximal orthogonal sets), ``capacity``
(per-factor capacities), ``signature`` (gauge-invariant fingerprints) and
``report`` (:func:`analyze_structure`). The default tolerances
``INTERFERENCE_ATOL``, ``NORM_THRESHOLD``, ``SHAPE_TOL`` and ``AMBIGUOUS_FACTOR``
are importable from here.
"""

# Private aliases kept for packing.compare only, until it imports packing._rows itself (issue #9);
# remove them then.
from .._rows import span as _span  # noqa: F401
from .._rows import unit_rows as _unit  # noqa: F401
from .capacity import FactorCapacity, factor_capacities
from .factors import INTERFERENCE_ATOL as INTERFERENCE_ATOL
from .factors import NORM_THRESHOLD as NORM_THRESHOLD
from .factors import (
    TegumFactors,
    interference_graph,
    orthogonality_graph,
    represented_features,
    tegum_factors,
)
from .orthogonal import OrthogonalSets, orthogonal_sets
from .report import StructureReport, analyze_structure
from .shapes import AMBIGUOUS_FACTOR as AMBIGUOUS_FACTOR
from .shapes import (
    COMMON_SHAPES,
    SHAPE_COLORS,
    SHAPE_FAMILIES,
    SHAPE_FRACTIONS,
    IdealShape,
    ShapeMatch,
    identify_shape,
    shape_template,
)
from .shapes import SHAPE_TOL as SHAPE_TOL
from .signature import PackingSignature, deduplicate_packings, packing_signature

__all__ = [
    "represented_features",
    "interference_graph",
    "orthogonality_graph",
    "TegumFactors",
    "tegum_factors",
    "SHAPE_FAMILIES",
    "IdealShape",
    "COMMON_SHAPES",
    "SHAPE_FRACTIONS",
    "SHAPE_COLORS",
    "ShapeMatch",
    "identify_shape",
    "shape_template",
    "OrthogonalSets",
    "orthogonal_sets",
    "FactorCapacity",
    "factor_capacities",
    "PackingSignature",
    "packing_signature",
    "deduplicate_packings",
    "StructureReport",
    "analyze_structure",
]
