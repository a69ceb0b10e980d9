"""What the toolkit's bad-input checks share: the public callables that take no argument.

The bad-input tables (``tests/test_bad_input_*.py``) hold cases for every public
function of :mod:`packing` but these, and the fuzzer (``scripts/fuzz_bad_inputs.py``)
calls each of these once, as its good call, with nothing to replace: there is no
argument a caller can get wrong. One list, so that the two cannot drift apart.
"""

__all__ = ["NO_ARGUMENTS"]

#: Names in ``packing.__all__`` of the public callables that take no argument.
NO_ARGUMENTS = (
    "antipodal_pair",
    "digon",
    "square_antiprism",
    "icosahedron_lines",
    "equiangular_lines_28",
    "get_memory_limit",
    "environment_info",
    "sweep_tasks",
    "default_block_shapes",
)
