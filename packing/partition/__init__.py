"""Optimal subspace partitions: split features and dimensions into orthogonal blocks.

Split ``n`` features into blocks of ``n_1..n_k`` and ``d`` dimensions into
``d_1..d_k`` (uneven allowed), put block ``b`` in its own ``d_b``-dimensional
subspace, and pack it as well as possible. Cross-block pairs are exactly
orthogonal and cost nothing, so the total interference is
``Σ_b f(n_b, d_b)`` (``max_b`` for ``p = inf``), where ``f(m, D)`` is the
within-block loss ``Σ_{i<j} |cos θ_ij|^p`` (the coherence for ``p = inf``) of
``m`` unit vectors in ``R^D``. Given the table ``f``, the best partition is an
exact dynamic programme over ``(n, d)``:

    ``F(a, b) = min_{1<=m<=a, 1<=D<=b} f(m, D) ⊕ F(a − m, b − D)``,
    ``F(0, 0) = 0``, ``F(0, b > 0) = ∞``,

with ``⊕`` the sum (or max), using ``f``'s envelope ``min_{D' <= D} f(m, D')``
so that a block may leave some of its dimensions unused. Scanning every
block shape at every cell costs ``O(n² d²)``; :func:`optimal_partition` gets
the same optimum much faster by exploiting the table's structure (convex or
monotone columns, dominated block shapes; see ``packing.partition._dp``): ``n = 1000,
d = 100`` with the Welch table takes about a second for each ``p``
(``scripts/bench_partition.py``).

Cost tables ``f``:

* ``"welch"``: the ideal equal-norm tight frame at the Welch bound,
  ``C(m, 2) (max(0, m − D) / (D (m − 1)))^{p/2}``;
* ``"known"``: the known optimal packing of the one registry
  (:func:`packing.known_optimum`: orthonormal, coincident lines, polygon lines,
  simplex, real ETFs), ``∞`` otherwise;
* ``"optimizer"``: :func:`packing.optimize_packing` per block shape (cached;
  ``Σ_{D=2}^{min(d, n−1)} (n − D)`` calls for an ``(n, d)`` table), capped
  by the known exact value;
* a callable ``f(m, D) -> float``.

Modules: ``_optimal`` (:class:`PartitionResult`, :func:`optimal_partition`,
:func:`equal_partition_loss`), ``_costs`` (the block cost tables and the
optimizer's session cache, :func:`block_cost_table`) and ``_dp`` (the exact
dynamic programme: row minima, Monge matrices, merges).
"""

from ._costs import block_cost_table
from ._optimal import PartitionResult, equal_partition_loss, optimal_partition

__all__ = ["PartitionResult", "optimal_partition", "block_cost_table", "equal_partition_loss"]
