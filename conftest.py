"""Doctest namespace: every docstring example sees ``np``, ``math`` and the public names of ``packing``."""

import math

import numpy as np
import pytest

import packing


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update({"np": np, "math": math, "packing": packing})
    doctest_namespace.update({name: getattr(packing, name) for name in packing.__all__})
