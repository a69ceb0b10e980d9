"""Progress bars: shown on request or on a terminal, silent otherwise, and never changing a result."""

import numpy as np
import pytest

import packing
import packing._progress as progress_module
from packing._progress import check_progress, progress_bar, wants_bar


@pytest.fixture(autouse=True)
def _no_delay(monkeypatch):
    monkeypatch.setattr(progress_module, "DELAY", 0.0)  # show bars of short test runs at once
    monkeypatch.delenv("PACKING_PROGRESS", raising=False)


@pytest.mark.parametrize("bad", ["yes", 1, None, 0.5, "AUTO"])
def test_progress_must_be_true_false_or_auto(bad):
    with pytest.raises(TypeError, match="progress must be True, False or 'auto'"):
        check_progress(bad)
    with pytest.raises(TypeError, match="progress must be True, False or 'auto'"):
        packing.train_toy_model(n_features=3, d=2, steps=5, progress=bad)
    with pytest.raises(TypeError, match="progress must be True, False or 'auto'"):
        packing.optimize_packing(5, 3, restarts=1, progress=bad)


def test_auto_follows_the_terminal_and_the_environment(monkeypatch):
    assert not wants_bar("auto")  # pytest captures stderr: not a terminal
    monkeypatch.setenv("PACKING_PROGRESS", "1")
    assert wants_bar("auto") and not wants_bar(False)
    monkeypatch.setenv("PACKING_PROGRESS", "0")
    assert not wants_bar("auto") and wants_bar(True)


def test_a_bar_counts_every_update_and_a_disabled_one_nothing(capsys):
    with progress_bar(1000, desc="counting", progress=True, every=7, leave=True) as bar:
        for _ in range(1000):
            bar.update()
    assert bar.n == 1000  # batched updates are all handed over when the bar closes
    err = capsys.readouterr().err
    assert "counting" in err and "1000/1000" in err
    with progress_bar(1000, desc="silent", progress=False) as bar:
        bar.update(5)
    assert bar.n == 0 and capsys.readouterr().err == ""


def test_training_shows_steps_and_the_result_does_not_depend_on_it(capsys):
    kw = dict(n_features=5, d=2, sparsity=[0.0, 0.9], steps=200, batch_size=64, rng=0)
    shown = packing.train_toy_model(**kw, progress=True)
    err = capsys.readouterr().err
    assert "train_toy_model" in err and "/200 " in err
    silent = packing.train_toy_model(**kw, progress="auto")
    assert capsys.readouterr().err == ""
    assert np.array_equal(shown.W, silent.W) and np.array_equal(shown.loss_history, silent.loss_history)
    assert "progress" not in shown.config  # not part of what determines the result
    packing.train_abs_model(n_features=3, d=4, steps=50, rng=0, progress=True)
    packing.train_scurve(rank=1, steps=50, rng=0, progress=True)
    err = capsys.readouterr().err
    assert "train_abs_model" in err and "train_scurve" in err


def test_optimizer_and_partition_bars(capsys):
    a = packing.optimize_packing(7, 3, rng=0, restarts=2, progress=True)
    err = capsys.readouterr().err
    assert "optimize_packing(7, 3)" in err and "/2 " in err
    b = packing.optimize_packing(7, 3, rng=0, restarts=2, progress=False)
    assert np.array_equal(a.W, b.W) and capsys.readouterr().err == ""
    packing.optimal_partition(6, 3, 1.0, cost="optimizer", budget=0.05, build=False, progress=True)
    assert "block costs (6, 3)" in capsys.readouterr().err
    packing.optimal_partition(6, 3, 1.0, cost="welch", progress=True)  # instant: no bar
    assert capsys.readouterr().err == ""


def test_figures_bar(tmp_path, capsys):
    from packing.figures import make_figures

    outcomes = make_figures(tmp_path, only=["interference_distribution"], quick=True, progress=True)
    assert [o.name for o in outcomes] == ["interference_distribution"] and outcomes[0].error is None
    assert "figures" in capsys.readouterr().err
