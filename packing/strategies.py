"""Alias of :mod:`packing.testing.strategies`, kept so that existing imports keep working.

``from packing.strategies import tegum_products`` and
``from packing.testing.strategies import tegum_products`` give the same objects;
new code should use the latter.
"""

from .testing.strategies import overlapping_sets, tegum_products, unit_packings

__all__ = ["unit_packings", "tegum_products", "overlapping_sets"]
