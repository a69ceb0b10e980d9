import json

import numpy as np
import pytest

from packing import coherence, lower_bound
from packing.cli import main


def test_stats_json(tmp_path, capsys):
    W = np.random.default_rng(0).normal(size=(30, 5))
    path = tmp_path / "W.npy"
    np.save(path, W)
    assert main(["stats", str(path), "--json", "--p", "1,2,inf"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 30 and out["pairs"] == 435
    assert out["coherence"] == pytest.approx(coherence(W))
    assert out["lower_bound"] == pytest.approx(lower_bound(30, 5))
    assert set(out["moments"]) == {"1", "2", "inf"}


def test_stats_torch_layout_and_instances(tmp_path, capsys):
    W = np.random.default_rng(1).normal(size=(3, 8, 2))
    path = tmp_path / "W.npy"
    np.save(path, W)
    assert main(["stats", str(path)]) == 2
    assert "pick one with --instance" in capsys.readouterr().err
    assert main(["stats", str(path), "--instance", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 8
    assert main(["stats", str(path), "--instance", "3"]) == 2
    assert "--instance must be <= 2; got 3." in capsys.readouterr().err
    assert main(["stats", str(path), "--instance", "-1"]) == 2
    assert "--instance must be >= 0; got -1." in capsys.readouterr().err
    np.save(path, W[0].T)
    assert main(["stats", str(path), "--layout", "hidden_by_features", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["d"] == 2
    assert main(["stats", str(path), "--instance", "0"]) == 2
    assert "--instance needs a file of shape (instances, n, d)" in capsys.readouterr().err


def test_bounds_and_errors(capsys):
    assert main(["bounds", "6", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"] == pytest.approx(1 / 5**0.5)
    assert main(["bounds", "0", "3"]) == 2
    assert "n must be >= 1" in capsys.readouterr().err
    assert main(["stats", "does_not_exist.npy"]) == 2
    with pytest.raises(SystemExit):
        main(["stats", "x.npy", "--p", "one"])
