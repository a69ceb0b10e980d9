"""Lower bounds on the coherence of ``n`` lines in ``R^d``.

Modules
-------
``_closed_forms``
    Welch, orthoplex, Levenstein, Bukh–Cox and Gerzon in closed form, the exact
    optima of the registry :func:`packing.known_optimum`, :func:`bound_table`
    and :func:`lower_bound` (the best valid bound).
``_lp``
    The certified Delsarte LP bound :func:`lp_bound` and its certificate :class:`LPBound`.
"""

from ._closed_forms import (
    bound_table,
    bukh_cox_bound,
    exact_coherence,
    gerzon_bound,
    levenstein_bound,
    lower_bound,
    orthoplex_bound,
    welch_bound,
)
from ._lp import LPBound, lp_bound

__all__ = [
    "welch_bound",
    "orthoplex_bound",
    "levenstein_bound",
    "bukh_cox_bound",
    "exact_coherence",
    "lower_bound",
    "bound_table",
    "gerzon_bound",
    "lp_bound",
    "LPBound",
]
