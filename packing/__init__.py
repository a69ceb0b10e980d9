"""packing: the geometry of feature packings in neural networks.

A packing is a real array ``W`` of shape ``(n, d)``: one row per feature vector,
``n`` features sharing ``d`` dimensions. Build packings (constructions,
optimizer, toy-model trainer), measure them (interference moments, coherence,
orthogonal pairs, capacity, bounds), and compare learned with predicted
geometry. Each submodule lists its public names in ``__all__``; they are all
re-exported here.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

# Topical modules whose public names are re-exported at the top level. A module
# is listed here once it exists; each defines ``__all__``.
_MODULES = (
    "geometry",
    "bounds",
    "constructions",
    "analytic",
    "partition",
    "optimize",
    "train",
    "structure",
    "compare",
    "io",
    "plotting",
)

__all__ = ["__version__"]
for _name in _MODULES:
    _mod = _import_module(f".{_name}", __name__)
    for _attr in _mod.__all__:
        globals()[_attr] = getattr(_mod, _attr)
    __all__ += list(_mod.__all__)
del _name, _mod, _attr
