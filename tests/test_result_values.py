"""Result records refuse values of the right type but outside their meaning (built or loaded)."""

import json
import math

import numpy as np
import pytest

from packing import CorruptFileError, load_result, optimal_partition, register_task, sweep
from packing.partition import PartitionResult
from packing.sweep import SweepCell


def test_a_sweep_cell_holds_a_result_object_or_a_dict_and_a_seed_from_zero():
    good = dict(task="t", key="k", config={}, seed=0, summary={})
    SweepCell(**good, result={"x": 1.0})
    SweepCell(**good, result=optimal_partition(4, 2, 2.0))
    for bad in ("abc", 3.0, None, object(), 1j):
        with pytest.raises(TypeError, match="SweepCell: result must be a result object of the toolkit or a"):
            SweepCell(**good, result=bad)
    with pytest.raises(ValueError, match="SweepCell: seed must be None or an int >= 0; got -1"):
        SweepCell(**{**good, "seed": -1}, result={})


def test_a_task_that_returns_something_else_is_named(tmp_path):
    register_task("test-returns-float", lambda x, rng=None: 3.0 * x, replace=True)
    with pytest.raises(Exception, match="task 'test-returns-float' must return a result object .* got float"):
        sweep("test-returns-float", {"x": [1.0]}, seeds=[0], cache_dir=tmp_path, n_jobs=1, progress=False)


def test_a_partition_records_nan_p_only_for_the_relu_cost(tmp_path):
    relu = optimal_partition(5, 1, cost="relu", sparsity=0.9)
    assert math.isnan(relu.p)  # no moment order: the relu cost records p as NaN
    r = optimal_partition(6, 3, 2.0)
    fields = {name: getattr(r, name) for name in ("n", "d", "cost", "blocks", "block_losses", "loss")}
    with pytest.raises(ValueError, match="p is NaN, which only a cost='relu' partition records"):
        PartitionResult(p=math.nan, **fields)
    path = r.save(tmp_path / "p.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    record = json.loads(str(arrays["__result__"]))
    record["fields"]["p"] = {"$float": "nan"}
    arrays["__result__"] = np.array(json.dumps(record))
    np.savez(path, **arrays)
    with pytest.raises(CorruptFileError, match="not a valid packing file: PartitionResult: p is NaN"):
        load_result(path)
