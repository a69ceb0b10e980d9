"""`import packing` stays cheap: heavy dependencies load in the functions that use them, not at import.

A sweep's worker process, the command line and every user's script pay for what
`import packing` imports; scipy.optimize, networkx and friends cost about a
second of CPU together. Each check runs in a fresh interpreter, since this test
process has imported everything already.
"""

import json
import subprocess
import sys

import pytest

import packing

#: Packages `import packing` must not import (top-level names in sys.modules).
DEFERRED = (
    "scipy",
    "networkx",
    "cvxpy",
    "matplotlib",
    "pandas",
    "xarray",
    "dask",
    "distributed",
    "joblib",
    "tqdm",
    "hypothesis",
    "psutil",
)


def _modules_after(statement: str) -> set[str]:
    """The names in sys.modules of a fresh interpreter after ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import packing",
        "from packing import sweep, train_toy_model, optimize_packing, certify_packing, orthogonality_graph",
        "import packing.cli",
        "import packing.sweep._engine",
    ],
)
def test_import_loads_no_heavy_dependency(statement):
    loaded = _modules_after(statement)
    assert "packing" in loaded and "numpy" in loaded  # the check itself sees what was imported
    heavy = sorted(m for m in loaded if m.split(".")[0] in DEFERRED)
    assert not heavy, f"{statement!r} imports {heavy}"


def test_using_a_function_loads_its_dependency_then():
    loaded = _modules_after(
        "import numpy as np, packing\n"
        "packing.orthogonality_graph(np.eye(3))\n"
        "packing.optimize_packing(4, 2, p=2.0, budget=0.2, rng=0)"
    )
    assert {"networkx", "scipy.optimize"} <= loaded
    assert "matplotlib" not in loaded and "cvxpy" not in loaded


def test_every_exported_name_is_a_module_attribute():
    names = set(packing.__all__)
    assert len(names) == len(packing.__all__)
    missing = [n for n in packing.__all__ if n not in vars(packing)]
    assert not missing
    module = type(packing)
    public = {n for n, v in vars(packing).items() if not n.startswith("_") and not isinstance(v, module)}
    assert public <= names, sorted(public - names)
