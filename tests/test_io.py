"""Packings in and out: every format, explicit layouts, one policy for tensors, clear errors for bad files."""

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import packing
from packing import (
    ArrayKeyError,
    CorruptFileError,
    FileFormatError,
    LayoutWarning,
    MissingDependencyError,
    PackingFileError,
    PackingFileNotFoundError,
    analyze_structure,
    from_torch_layout,
    list_arrays,
    load_packing,
    load_packing_metadata,
    save_packing,
)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- numpy files (as before)


@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_roundtrip_npy_and_npz(n, d, instances, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(instances, n, d) if instances else (n, d))
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("w.npy", "w.npz"):
            path = save_packing(Path(tmp) / name, W)
            back = load_packing(path, layout="features_by_hidden")
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
    with pytest.raises(ArrayKeyError, match=r"key must name the array to load; .* holds several 2-D or 3-D "
                                            r"arrays: 'a' \(2, 2\), 'b' \(2, 2\)"):
        load_packing(tmp_path / "two.npz")
    assert np.array_equal(load_packing(tmp_path / "two.npz", key="b"), np.eye(2))
    # one weight among biases and scalars is the default
    np.savez(tmp_path / "model.npz", enc=np.eye(3)[:, :2], bias=np.ones(3), step=np.array(7))
    assert np.array_equal(load_packing(tmp_path / "model.npz"), np.eye(3)[:, :2])


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
    # features-first is the default: the file is read as stored, nothing transposed silently, and it warns
    with pytest.warns(LayoutWarning):
        assert load_packing(tmp_path / "linear.npy").shape == (d, n_features)
    batch = np.stack([weight, 2 * weight])
    assert np.array_equal(from_torch_layout(batch), np.stack([W, 2 * W]))


# --------------------------------------------------------------------------- every format


def _write_safetensors(path, tensors):
    """A safetensors file written by hand from the format's description (8-byte header size, JSON, data)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_csv_and_txt_tables(tmp_path):
    W = np.random.default_rng(1).normal(size=(6, 3))
    lines = "\n".join(",".join(repr(float(v)) for v in row) for row in W)
    (tmp_path / "w.csv").write_text("# six features in R^3\n" + lines + "\n")
    assert np.array_equal(load_packing(tmp_path / "w.csv"), W)
    (tmp_path / "w.txt").write_text("\n".join(" ".join(repr(float(v)) for v in row) for row in W))
    assert np.array_equal(load_packing(tmp_path / "w.txt"), W)
    (tmp_path / "c.txt").write_text(lines)
    assert np.array_equal(load_packing(tmp_path / "c.txt"), W)
    (tmp_path / "one.csv").write_text("1.0,0.0,0.0\n")  # a single row is one feature, not a column
    assert load_packing(tmp_path / "one.csv", layout="features_by_hidden").shape == (1, 3)


def test_the_repository_results_csv_loads():
    path = ROOT / "results" / "lines_35_in_R5.csv"
    rows = [line.split(",") for line in path.read_text().splitlines() if not line.startswith("#")]
    want = np.array([[float(v) for v in row] for row in rows])
    got = load_packing(path)
    assert got.shape == (35, 5) and np.array_equal(got, want)


def test_safetensors_through_the_numpy_api(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(2)
    enc, dec = rng.normal(size=(3, 6)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    path = tmp_path / "model.safetensors"
    save_file({"encoder.weight": enc, "decoder.weight": dec, "encoder.bias": np.zeros(3, np.float32)}, path)
    assert list_arrays(path) == {
        "decoder.weight": ((6, 3), "float32"),
        "encoder.bias": ((3,), "float32"),
        "encoder.weight": ((3, 6), "float32"),
    }
    assert np.array_equal(load_packing(path, key="decoder.weight"), dec)
    assert np.array_equal(load_packing(path, key="encoder.weight", layout="hidden_by_features"), enc.T)
    with pytest.raises(ArrayKeyError, match=r"key 'weight' is ambiguous .* 'decoder.weight' \(6, 3\), "
                                            r"'encoder.weight' \(3, 6\); pass the full name"):
        load_packing(path, key="weight")
    with pytest.raises(ArrayKeyError, match=r"several 2-D or 3-D arrays: .*'encoder.bias' \(3,\)"):
        load_packing(path)
    with pytest.raises(ArrayKeyError, match=r"key 'W' not in .*; it holds 'decoder.weight' \(6, 3\)"):
        load_packing(path, key="W")


def test_bfloat16_safetensors_widen_exactly(tmp_path):
    # float32 values whose low 16 bits are zero are exactly representable in bfloat16
    want = np.array([[1.0, -2.5, 0.15625], [3.0e38, -1.0e-38, 0.0]], dtype=np.float32)
    want = (want.view(np.uint32) & 0xFFFF0000).view(np.float32)
    raw = (want.view(np.uint32) >> 16).astype("<u2").tobytes()
    _write_safetensors(tmp_path / "bf16.safetensors", {"W": ("BF16", want.shape, raw)})
    got = load_packing(tmp_path / "bf16.safetensors", layout="features_by_hidden")
    assert got.dtype == np.float32 and np.array_equal(got, want)


def test_result_files_are_packing_files(tmp_path):
    r = packing.train_toy_model(n_features=2, d=3, steps=5, batch_size=8, n_instances=2, rng=0)
    path = r.save(tmp_path / "toy.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the toolkit's own files are in its layout: no layout warning
        assert np.array_equal(load_packing(path), r.W)


# --------------------------------------------------------------------------- PyTorch


def test_pytorch_files_without_torch(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"needs torch: pip install torch") as info:
        load_packing(path)
    assert isinstance(info.value, ImportError) and isinstance(info.value, PackingFileError)


def test_pytorch_state_dicts(tmp_path):
    torch = pytest.importorskip("torch")  # an optional dependency: this test needs it
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 3, bias=True)  # 6 features into d=3: weight (3, 6)
    path = tmp_path / "linear.pt"
    torch.save(lin.state_dict(), path)
    want = lin.weight.detach().numpy().T
    assert np.array_equal(load_packing(path, key="weight", layout="hidden_by_features"), want)
    with pytest.warns(LayoutWarning, match=r"shape \(3, 6\).*nn.Linear\(6, 3\).weight.*layout='hidden_by_"):
        load_packing(path, key="weight")
    torch.save({"model": lin.state_dict(), "step": 12, "name": "run"}, tmp_path / "ckpt.pth")
    assert set(list_arrays(tmp_path / "ckpt.pth")) == {"model.weight", "model.bias"}
    assert np.array_equal(load_packing(tmp_path / "ckpt.pth", layout="hidden_by_features"), want)
    half = tmp_path / "bf16.pt"
    torch.save({"W": torch.tensor([[1.0, 0.5], [0.25, -2.0], [3.0, 0.0]], dtype=torch.bfloat16)}, half)
    assert np.array_equal(load_packing(half), [[1.0, 0.5], [0.25, -2.0], [3.0, 0.0]])


class _Sneaky:
    def __reduce__(self):
        return (os.mkdir, (str(Path(tempfile.gettempdir()) / f"packing-unpickled-{os.getpid()}"),))


def test_pytorch_files_are_never_unpickled(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "evil.pt"
    torch.save({"W": torch.zeros(3, 2), "payload": _Sneaky()}, path)
    marker = Path(tempfile.gettempdir()) / f"packing-unpickled-{os.getpid()}"
    with pytest.raises(FileFormatError, match="weights_only=True and never unpickles arbitrary objects"):
        load_packing(path)
    assert not marker.exists()


def test_a_pytorch_toy_model_is_analysed_in_one_call(tmp_path):
    """The issue's newcomer: 6 features in 3 dims as three antipodal pairs, saved from nn.Linear(6, 3)."""
    torch = pytest.importorskip("torch")
    W = np.vstack([np.eye(3), -np.eye(3)])  # rows are features: three antipodal pairs
    lin = torch.nn.Linear(6, 3, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W.T))  # torch stores (d, n)
    torch.save(lin.state_dict(), tmp_path / "tms.pt")
    assert analyze_structure(load_packing(tmp_path / "tms.pt", layout="hidden_by_features")).description == (
        "3×digon"
    )
    with pytest.warns(LayoutWarning):  # as stored it would be 3 features in d=6: never without a word
        load_packing(tmp_path / "tms.pt")
    with pytest.warns(LayoutWarning, match="from_torch_layout"):  # the tensor itself: same warning
        analyze_structure(lin.weight)
    assert analyze_structure(from_torch_layout(lin.weight)).description == "3×digon"


def test_real_torch_tensors_are_accepted_everywhere():
    torch = pytest.importorskip("torch")
    W = torch.randn(7, 3, requires_grad=True)  # np.asarray(W) alone would fail on requires_grad
    want = W.detach().numpy()
    assert packing.coherence(W) == packing.coherence(want)
    assert packing.interference_moment(W.to(torch.bfloat16), 2.0) == pytest.approx(
        packing.interference_moment(W.detach().to(torch.bfloat16).float().numpy(), 2.0)
    )


# --------------------------------------------------------------------------- one policy for array-likes


class FakeTensor:
    """What a torch tensor looks like to the toolkit: detach / cpu / numpy; np.asarray fails before detach."""

    def __init__(self, values):
        self.values = np.asarray(values)
        self.calls = []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        return self.values.copy()

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()")


SAMPLE = np.random.default_rng(5).normal(size=(7, 3))


def _compare(W):
    return packing.compare_packings(W, include=("ideal",), partition_ps=(2.0,), p_grid=(2.0,))


@pytest.mark.parametrize(
    "call",
    [
        lambda W: packing.coherence(W),
        lambda W: packing.interference_moment(W, 1.5),
        lambda W: packing.pairwise_statistics(W, p=[1, 2]).moments,
        lambda W: packing.capacity(W),
        lambda W: packing.cosine_matrix(W),
        lambda W: packing.analyze_structure(W).description,
        lambda W: packing.tegum_factors(W).dims,
        lambda W: [row.moments for row in _compare(W).rows],
        lambda W: packing.from_torch_layout(W),
        lambda W: packing.toy_model_loss(W, np.zeros(7), np.ones((2, 7))),
        lambda W: packing.optimize_packing(7, 3, init=W, restarts=1, rng=0, p=2.0).history,
    ],
)
def test_every_function_accepts_tensors_as_arrays(call):
    tensor = FakeTensor(SAMPLE)
    got, want = call(tensor), call(SAMPLE)
    assert tensor.calls[:2] == ["detach", "cpu"]
    if isinstance(want, np.ndarray):
        assert np.array_equal(got, want)
    else:
        assert got == want


def test_a_tensor_with_fewer_rows_than_columns_warns_and_numpy_confirms():
    with pytest.warns(LayoutWarning, match=r"the tensor W has shape \(3, 7\).*from_torch_layout\(W\)"):
        packing.coherence(FakeTensor(SAMPLE.T))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        packing.coherence(SAMPLE.T)  # a numpy array is the toolkit's own layout
        packing.coherence(from_torch_layout(FakeTensor(SAMPLE.T)))


def test_unconvertible_array_likes_name_the_argument():
    class Broken:
        def detach(self):
            raise RuntimeError("device lost")

    with pytest.raises(TypeError, match=r"W must be an array .*convert .*RuntimeError: device lost"):
        packing.coherence(Broken())


# --------------------------------------------------------------------------- layouts


def test_layout_warning_names_the_fix_and_explicit_layouts_silence_it(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros((3, 6)))
    with pytest.warns(LayoutWarning) as record:
        load_packing(tmp_path / "w.npy")
    (message,) = [str(w.message) for w in record]
    assert "fewer rows than columns" in message and "layout='hidden_by_features'" in message
    assert "from_torch_layout" in message and "layout='features_by_hidden'" in message
    assert record[0].filename == __file__  # points at the caller, not into the package
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_packing(tmp_path / "w.npy", layout="features_by_hidden").shape == (3, 6)
        assert load_packing(tmp_path / "w.npy", layout="hidden_by_features").shape == (6, 3)
        np.save(tmp_path / "tall.npy", np.zeros((6, 3)))
        load_packing(tmp_path / "tall.npy")  # more rows than columns: no warning
    np.save(tmp_path / "batch.npy", np.zeros((2, 3, 6)))
    with pytest.warns(LayoutWarning, match=r"a batch of PyTorch nn.Linear\(6, 3\).weights"):
        load_packing(tmp_path / "batch.npy")


# --------------------------------------------------------------------------- bad files


def _npz_bytes(**arrays):
    path = Path(tempfile.mkdtemp()) / "x.npz"
    np.savez(path, **arrays)
    return path.read_bytes()


def _npy_bytes(arr):
    path = Path(tempfile.mkdtemp()) / "x.npy"
    np.save(path, arr)
    return path.read_bytes()


def _garbage_member():
    path = Path(tempfile.mkdtemp()) / "x.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W.npy", b"\x93NUMPY garbage that is no header")
    return path.read_bytes()


def _raw_member():  # no .npy magic: NumPy returns such a member as bytes
    path = Path(tempfile.mkdtemp()) / "x.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W.npy", b"garbage, not an array")
    return path.read_bytes()


def _bad_crc():
    data = bytearray(_npz_bytes(W=np.arange(64.0).reshape(16, 4)))
    data[200] ^= 0xFF  # inside W's data: the zip's CRC no longer matches
    return bytes(data)


BAD_FILES = [
    ("empty.npy", b"", CorruptFileError, "is empty (0 bytes)"),
    ("empty.npz", b"", CorruptFileError, "is empty (0 bytes)"),
    ("empty.csv", b"", CorruptFileError, "is empty (0 bytes)"),
    ("empty.pt", b"", CorruptFileError, "is empty (0 bytes)"),
    ("empty.safetensors", b"", CorruptFileError, "is empty (0 bytes)"),
    ("truncated.npy", _npy_bytes(np.ones((50, 4)))[:150], CorruptFileError, "corrupt or truncated"),
    ("truncated.npz", _npz_bytes(W=np.ones((50, 4)))[:300], CorruptFileError, "corrupt or truncated"),
    ("garbage.npy", bytes(range(256)) * 4, CorruptFileError, "is not a valid .npy file"),
    ("garbage.npz", bytes(range(256)) * 4, CorruptFileError, "is not a valid .npz file"),
    ("member.npz", _garbage_member(), CorruptFileError, "corrupt or truncated"),
    ("raw_member.npz", _raw_member(), CorruptFileError, "its member 'W' is not a NumPy array"),
    ("crc.npz", _bad_crc(), CorruptFileError, "corrupt or truncated"),
    ("zip_named.npy", _npz_bytes(W=np.eye(2)), FileFormatError, "ends in .npy but holds a zip archive"),
    ("npy_named.npz", _npy_bytes(np.eye(2)), FileFormatError, "ends in .npz but holds a NumPy .npy array"),
    ("npy_named.csv", _npy_bytes(np.eye(2)), FileFormatError, "ends in .csv but holds a NumPy .npy array"),
    ("text_named.safetensors", b"1,2\n3,4\n", FileFormatError, "ends in .safetensors but holds text"),
    ("header.csv", b"x,y\n1,2\n", CorruptFileError, "is not a table of numbers"),
    ("ragged.csv", b"1,2\n3\n", CorruptFileError, "is not a table of numbers"),
    ("comments.csv", b"# nothing\n\n", CorruptFileError, "holds no numbers"),
    ("bad.safetensors", struct.pack("<Q", 10) + b'{"W": 1}  ', CorruptFileError, "corrupt or truncated"),
    ("weights.json", b"[[1, 2]]", FileFormatError, "must end in one of .npy, .npz"),
    ("objects.npy", _npy_bytes(np.array([{"a": 1}], dtype=object)), CorruptFileError, "allow_pickle=False"),
]


@pytest.mark.parametrize("name, content, exc, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_one_line_errors_of_a_documented_class(tmp_path, name, content, exc, message):
    path = tmp_path / name
    path.write_bytes(content)
    for call in (load_packing, list_arrays):
        with pytest.raises(exc) as info:
            call(path)
        text = str(info.value)
        assert message in text and repr(str(path)) in text and "\n" not in text
        assert isinstance(info.value, PackingFileError) and isinstance(info.value, ValueError)


def test_folders_missing_and_unreadable_files(tmp_path, monkeypatch):
    (tmp_path / "run.npz").mkdir()
    with pytest.raises(FileFormatError, match=r"'.*run.npz' is a folder; give the file inside it"):
        load_packing(tmp_path / "run.npz")
    with pytest.raises(PackingFileNotFoundError, match="does not exist") as info:
        load_packing(tmp_path / "gone.npy")
    assert isinstance(info.value, FileNotFoundError)
    path = save_packing(tmp_path / "w.npy", np.eye(2))
    real_open = open

    def deny(file, *args, **kwargs):  # as a file without read permission behaves (root would read it)
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(FileFormatError, match=r"'.*w.npy' cannot be read: Permission denied"):
        load_packing(path)


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda p: from_torch_layout(np.zeros(3)), ValueError, "weight must have shape (d, n_features)"),
        (lambda p: from_torch_layout(np.full((2, 2), np.nan)), ValueError, "weight must be finite"),
        (lambda p: save_packing(p / "w.txt", np.eye(2)), ValueError, "must end in .npy or .npz; got '.txt'"),
        (lambda p: save_packing(p / "w.npy", np.eye(2), metadata={"a": 1}), ValueError, "need a .npz path"),
        (lambda p: save_packing(p / "w.npz", np.eye(2), W=np.eye(2)), ValueError, "may not be called 'W'"),
        (lambda p: save_packing(p / "w.npz", np.eye(2), __x=np.eye(2)), ValueError, "start with '__'"),
        (lambda p: save_packing(p / "w.npz", np.eye(2), metadata=[1]), TypeError, "metadata must be a dict"),
        (lambda p: save_packing(p / "w.npz", np.ones((1, 2, 3, 4))), ValueError, "W must have shape"),
        (lambda p: save_packing(p / "w.npz", [[1j, 0]]), TypeError, "W must be real"),
        (lambda p: save_packing(p / "no" / "w.npz", np.eye(2)), PackingFileNotFoundError, "folder of path"),
        (lambda p: load_packing(p / "missing.npy"), FileNotFoundError, "does not exist"),
        (lambda p: load_packing(p / "x.npy", layout="torch"), ValueError, "layout must be 'features_by"),
        (lambda p: load_packing(save_packing(p / "w.npz", np.eye(2)), key="V"), ArrayKeyError, "'V' not in"),
        (lambda p: load_packing(save_packing(p / "w.npz", np.eye(2)), key=3), TypeError, "must be a string"),
        (lambda p: load_packing(save_packing(p / "w.npy", np.eye(2)), key="W"), ArrayKeyError, "a single"),
    ],
)
def test_bad_input(call, exc, message, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    assert message in str(info.value)


def test_load_refuses_non_numeric(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(TypeError, match="the array 'W' of .* must be real numeric"):
        load_packing(tmp_path / "s.npy")


# --------------------------------------------------------------------------- metadata


def test_metadata_takes_a_result_config_and_gives_it_back(tmp_path):
    r = packing.train_toy_model(n_features=4, d=2, sparsity=[0.5, 0.9], steps=20, batch_size=16, rng=4)
    assert r.config["dtype"] is np.float32  # a type in the config: json.dumps alone refuses it
    path = save_packing(tmp_path / "run.npz", r.W, metadata=r.config)
    with np.load(path) as data:  # strict JSON, the type stored by its name
        raw = json.loads(str(data["metadata"]), parse_constant=lambda c: pytest.fail(f"JSON literal {c}"))
    assert raw["dtype"] == {"$type": "float32"} and raw["betas"] == {"$tuple": [0.9, 0.999]}
    config = load_packing_metadata(path)
    assert config == r.config
    assert np.array_equal(packing.train_toy_model(**config).W, r.W)  # the stored config reruns the run


def test_metadata_with_numpy_scalars_non_finite_floats_and_arrays(tmp_path):
    meta = {
        "lr": np.float32(0.1),
        "n": np.int64(7),
        "flag": np.bool_(True),
        "bounds": {np.inf: 1.0, 2.0: float("nan")},
        "table": np.arange(6).reshape(2, 3),
        "kind": int,
        "dt": np.dtype("float64"),
    }
    path = save_packing(tmp_path / "m.npz", np.eye(2), metadata=meta)
    with np.load(path) as data:
        json.loads(str(data["metadata"]), parse_constant=lambda c: pytest.fail(f"JSON literal {c}"))
    back = load_packing_metadata(path)
    assert type(back["lr"]) is np.float32 and back["lr"] == np.float32(0.1)
    assert type(back["n"]) is np.int64 and back["flag"] is np.True_
    assert back["bounds"][np.inf] == 1.0 and np.isnan(back["bounds"][2.0])
    assert np.array_equal(back["table"], meta["table"]) and back["table"].dtype == meta["table"].dtype
    assert back["kind"] is int and back["dt"] == np.dtype("float64")
    assert np.array_equal(load_packing(path), np.eye(2))  # metadata arrays are not packings to pick


# --------------------------------------------------------------------------- atomic writes


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


WRITER = """
import sys
import numpy as np
from packing import save_packing, save_result, lp_bound
path, kind = sys.argv[1], sys.argv[2]
k = 0
while True:
    k += 1
    W = np.full((100_000, 8), float(k))  # 6.4 MB per file
    if kind == "packing":
        save_packing(path, W, metadata={"k": k})
    else:
        from packing import PackingResult
        PackingResult(W=W, objective=float(k), coherence=1.0, lower_bound=0.0, gap=0.0, p=2.0).save(path)
    print(k, flush=True)
"""


@pytest.mark.parametrize("kind", ["packing", "result"])
def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path, kind):
    path = tmp_path / "big.npz"
    rng = np.random.default_rng(0)
    for _attempt in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), kind], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            first = proc.stdout.readline()  # one whole file is on disk: every kill now races a rewrite
            assert first.strip(), "the writer died before writing"
            time.sleep(float(rng.uniform(0.05, 0.4)))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        W = load_packing(path)  # never truncated: the old or the new file, whole
        k = W[0, 0]
        assert W.shape == (100_000, 8) and np.all(W == k) and k >= 1
        if kind == "packing":
            assert load_packing_metadata(path) == {"k": int(k)}
        else:
            assert packing.load_result(path).objective == k
