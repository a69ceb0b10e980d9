"""Near-orthogonal packings: minimize the coherence or a p-frame potential of ``n`` lines in ``R^d``.

:func:`optimize_packing` searches for unit vectors ``w_1..w_n`` in ``R^d`` (rows
of ``W``, signs irrelevant: lines) minimizing the coherence
``μ = max_{i<j} |cos θ_ij|`` (``p = inf``, Grassmannian line packing) or the
p-frame potential ``Σ_{i<j} |cos θ_ij|**p`` (finite ``p > 0``), and reports the
certified gap to :func:`packing.lower_bound`.

Modules
-------
``_sphere``
    Geometry of the product of unit spheres (projection, retraction, tangent
    coordinates, pair-cosine Jacobians), used by every local solver.
``_objectives``
    The objective, its smooth surrogates with gradients, the trivial optima and
    the certified lower bound.
``_stages``
    The local solvers: smooth L-BFGS descent, alternating projection, LP polish
    (warm-started HiGHS), equalization; the deadlines they respect.
``_seeds``
    Structured starts: packings of other sizes adapted to ``(n, d)`` (lines
    dropped, added, projected, embedded) and exact line systems (root systems,
    known optima of nearby cells, mutually unbiased bases).
``driver``
    :func:`optimize_packing` (validation, starts, seeds, basin hopping from the
    incumbent, stopping rules) and :class:`PackingResult`.
"""

from ._objectives import packing_objective
from ._stages import polish_coherence
from .driver import DEFAULT_BUDGET as DEFAULT_BUDGET
from .driver import DEFAULT_BUDGET_FINITE_P as DEFAULT_BUDGET_FINITE_P
from .driver import PackingResult, optimize_packing

__all__ = ["PackingResult", "optimize_packing", "packing_objective", "polish_coherence"]
