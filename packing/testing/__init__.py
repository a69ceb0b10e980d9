"""Tools for testing code that works with packings.

:mod:`packing.testing.strategies` holds hypothesis strategies that generate
packings with known structure (unit rows, tegum products with their true
partition, overlapping orthonormal sets). It is not imported by ``import
packing``; import it in your tests::

    from packing.testing.strategies import tegum_products
"""

__all__: list[str] = []
