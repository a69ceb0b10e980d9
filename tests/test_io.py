import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from packing import from_torch_layout, load_packing, load_packing_metadata, save_packing


@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_roundtrip_npy_and_npz(n, d, instances, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(instances, n, d) if instances else (n, d))
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("w.npy", "w.npz"):
            path = save_packing(Path(tmp) / name, W)
            back = load_packing(path)
            assert back.shape == W.shape and np.array_equal(back, W)


def test_npz_with_extras_and_metadata(tmp_path):
    W = np.arange(6.0).reshape(3, 2)
    path = save_packing(tmp_path / "run.npz", W, metadata={"sparsity": [0.9, 0.99], "seed": 3}, b=np.ones(3))
    assert np.array_equal(load_packing(path), W)
    with pytest.raises(ValueError, match="W must have shape"):
        load_packing(path, key="b")  # b is 1-D: not a packing
    with np.load(path) as data:  # the file is plain NumPy, readable without this package
        assert sorted(data.files) == ["W", "b", "metadata"]
        assert json.loads(str(data["metadata"])) == {"sparsity": [0.9, 0.99], "seed": 3}
    assert load_packing_metadata(path) == {"sparsity": [0.9, 0.99], "seed": 3}
    assert load_packing_metadata(save_packing(tmp_path / "plain.npy", W)) == {}


def test_single_array_npz_without_W_key(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.eye(3))
    assert np.array_equal(load_packing(tmp_path / "other.npz"), np.eye(3))
    np.savez(tmp_path / "two.npz", a=np.eye(2), b=np.eye(2))
    with pytest.raises(ValueError, match=r"key must name the array to load; .* holds several 2-D or 3-D arrays: 'a' \(2, 2\), 'b' \(2, 2\)"):
        load_packing(tmp_path / "two.npz")
    assert np.array_equal(load_packing(tmp_path / "two.npz", key="b"), np.eye(2))


def test_torch_layout_is_an_explicit_transpose(tmp_path):
    rng = np.random.default_rng(0)
    n_features, d = 7, 3
    W = rng.normal(size=(n_features, d))
    # what torch.nn.Linear(n_features, d).weight would hold for the same map x -> x W
    weight = np.empty((d, n_features))
    for i in range(d):
        for j in range(n_features):
            weight[i, j] = W[j, i]
    x = rng.normal(size=n_features)
    assert np.allclose(weight @ x, x @ W)  # same hidden activations
    assert np.array_equal(from_torch_layout(weight), W)
    np.save(tmp_path / "linear.npy", weight)
    assert np.array_equal(load_packing(tmp_path / "linear.npy", layout="hidden_by_features"), W)
    # features-first is the default: the file is read as stored, nothing transposed silently
    assert load_packing(tmp_path / "linear.npy").shape == (d, n_features)
    batch = np.stack([weight, 2 * weight])
    assert np.array_equal(from_torch_layout(batch), np.stack([W, 2 * W]))


class FakeTensor:
    def detach(self):
        return self


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda p: from_torch_layout(np.zeros(3)), ValueError, "weight must have shape (d, n_features)"),
        (lambda p: from_torch_layout(FakeTensor()), TypeError, "Pass weight.detach().cpu().numpy()"),
        (lambda p: from_torch_layout(np.full((2, 2), np.nan)), ValueError, "weight must be finite"),
        (lambda p: save_packing(p / "w.txt", np.eye(2)), ValueError, "must end in .npy or .npz; got '.txt'"),
        (lambda p: save_packing(p / "w.npy", np.eye(2), metadata={"a": 1}), ValueError, "need a .npz path"),
        (lambda p: save_packing(p / "w.npz", np.eye(2), W=np.eye(2)), ValueError, "may not be called 'W'"),
        (lambda p: save_packing(p / "w.npz", np.ones((1, 2, 3, 4))), ValueError, "W must have shape"),
        (lambda p: save_packing(p / "w.npz", [[1j, 0]]), TypeError, "W must be real"),
        (lambda p: load_packing(p / "missing.npy"), FileNotFoundError, "does not exist"),
        (lambda p: load_packing(p / "x.npy", layout="torch"), ValueError, "layout must be 'features_by"),
        (lambda p: load_packing(save_packing(p / "w.npz", np.eye(2)), key="V"), ValueError, "key 'V' not in"),
    ],
)
def test_bad_input(call, exc, message, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    assert message in str(info.value)


def test_load_refuses_non_numeric(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(TypeError, match="the stored array must be real numeric"):
        load_packing(tmp_path / "s.npy")


def test_saving_is_atomic(tmp_path, monkeypatch):
    path = save_packing(tmp_path / "w.npz", np.eye(2), metadata={"run": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]  # no temporary file left behind

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the run was interrupted while writing

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_packing(path, 3 * np.eye(2), metadata={"run": 2})
    monkeypatch.undo()
    # the old file is intact and nothing half-written remains
    assert np.array_equal(load_packing(path), np.eye(2)) and load_packing_metadata(path) == {"run": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_nothing_is_pickled(tmp_path):
    with pytest.raises(TypeError, match="labels must be an array of numbers or strings; got array"):
        save_packing(tmp_path / "w.npz", np.eye(2), labels=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        save_packing(tmp_path / "w.npz", np.eye(2), metadata={"when": object()})
    assert not any(tmp_path.iterdir())
    save_packing(tmp_path / "w.npz", np.eye(2), names=np.array(["x", "y"]))
    with np.load(tmp_path / "w.npz", allow_pickle=False) as data:
        assert data["names"].tolist() == ["x", "y"]
