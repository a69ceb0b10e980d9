"""Execute every notebook in notebooks/ and check that its cells produce what they claim.

Two runs per notebook, both at toy size (``PACKING_QUICK=1``):

* as a notebook, by a Jupyter kernel (nbclient + ipykernel, from the test
  extra), in the notebook's own folder as Jupyter would: no cell may fail, every
  cell that draws must show its figure, and nothing may be written next to the
  notebooks;
* in-process, cell by cell in one namespace, so that a checker per notebook can
  compare what its cells computed and printed with the claims of its text,
  recomputed independently where they are numbers (brute-force cosines, closed
  forms, the reference tables).
"""

import contextlib
import io
import json
import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from helpers import brute_force_cosines

import packing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def run_notebook(path):
    """Run the code cells in one namespace; return ``{cell index: (namespace snapshot, stdout)}``."""
    nb = json.loads(path.read_text())
    namespace = {"__name__": "__main__"}
    cells = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)
        cells[i] = (dict(namespace), out.getvalue())
    return cells


def capacity_by_hand(W):
    """Capacity (Scherlis et al.): (W_i·W_i)² / Σ_j (W_i·W_j)², by plain numpy."""
    G = W @ W.T
    return np.diag(G) ** 2 / np.sum(G**2, axis=1)


def check_01(cells):
    ns, out = cells[3]
    W, stats, n, d = ns["W"], ns["stats"], ns["n"], ns["d"]
    cos = np.abs(brute_force_cosines(W))
    assert stats.n_pairs == n * (n - 1) // 2 == len(cos)
    assert stats.coherence == pytest.approx(cos.max(), abs=1e-12)
    for p in (1, 2, 4):
        assert stats.moments[float(p)] == pytest.approx(np.sum(cos**p), rel=1e-10)
    assert f"coherence {round(cos.max(), 4)}" in out
    bound, name = packing.lower_bound(n, d, return_name=True)
    assert bound <= stats.coherence and name in out
    # "capacity equals feature dimensionality; the total is at most d"
    ns, out = cells[5]
    C = ns["C"]
    np.testing.assert_allclose(C, capacity_by_hand(W), rtol=1e-10)
    assert C.sum() <= d + 1e-9 and out.startswith(f"{C.sum().round(3)} <= {d}")


def check_02(cells):
    ns, out = cells[3]  # closed-form spectra against the built arrays
    for name, args, W in ns["cases"]:
        s = packing.construction_spectrum(name, *args)
        cos = np.abs(brute_force_cosines(W))
        assert s.moment(1) == pytest.approx(np.sum(cos), rel=1e-9, abs=1e-9), name
        assert s.coherence == pytest.approx(cos.max(), abs=1e-12), name
        assert s.orthogonal_pairs == int(np.sum(cos < 1e-9)), name
    assert len(re.findall(r"closed=\s*([\d.]+) measured=\s*\1 ", out)) == len(ns["cases"])
    _, out = cells[5]  # impossible ETFs are refused with the reason
    assert "no real equiangular tight frame of n=21 vectors in d=7" in out
    ns, out = cells[7]  # built counts equal the formulas; Turán's bound is attained
    counted = re.findall(r"tegum k=\s*(\d+):\s+(\d+)\s+formula\s+(\d+)\s+beats overlapping: (\w+)", out)
    assert [int(k) for k, *_ in counted] == [2, 4, 16]
    n, d = ns["n"], ns["d"]
    overlap = int(re.search(r"overlapping sets:\s+(\d+)\s+formula\s+(\d+)", out).group(1))
    assert overlap == n * (d - 1) // 2
    for k, built, formula, beats in counted:
        k = int(k)
        assert int(built) == int(formula) == (n * n - k * (n // k) ** 2) // 2  # cross-block pairs
        assert beats == str(int(built) > overlap)
    turan = re.search(r"Turán bound:\s+(\d+)\s+attained: (\d+)", out)
    assert turan.group(1) == turan.group(2)
    _, out = cells[9]  # L(1) and L(100) for n = 1000, d = 100, p = 1; the optimal k by regime
    L1 = 1000 * 999 * math.sqrt(900 / (100 * 999))
    assert out.splitlines()[0] == f"{round(L1)} 9000"
    assert out.splitlines()[1] == "{0.5: 100, 1: 100, 2: 1, 3: 1, inf: 1}"
    ns, _ = cells[11]  # "two antipodal pairs plus an orthonormal pair: uneven, better than equal blocks"
    res = ns["res"]
    assert sorted(res.blocks) == [(2, 1), (2, 1), (2, 2)] and not res.is_even
    assert res.loss == pytest.approx(2.0) and res.realized_loss == pytest.approx(2.0, abs=1e-12)
    assert res.loss < min(packing.tegum_loss(6, 4, k, 1.0) / 2 for k in (1, 2))
    ns, out = cells[13]
    # the callable costs C(m, 2) for a block with more lines than dims: with 10 lines in 4 dims the
    # best is four 1-dim blocks of 3, 3, 2, 2 lines, 3 + 3 + 1 + 1 = 8
    assert ns["res"].loss == 8.0 and sorted(ns["res"].blocks) == [(2, 1), (2, 1), (3, 1), (3, 1)]
    first = out.splitlines()[0]  # the optimizer-cost partition: its loss is realized by its W
    loss, realized = (float(v) for v in first.split("] ")[1].split())
    assert realized <= loss + 1e-4
    _, out = cells[15]  # the property-based test ran and passed
    assert out.strip() == "ok"


def check_03(cells):
    ns, out = cells[3]  # the icosahedron's 6 lines, certified optimal
    res = ns["res"]
    cos = np.abs(brute_force_cosines(res.W))
    assert res.coherence == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    assert res.stopping_reason == "lower_bound" and np.ptp(cos) < 1e-12
    assert "all |cos| equal: True" in out
    ns, _ = cells[5]  # the LP bound beats Levenstein's 0.6 for 8 lines in R^3, certificate checked
    info = ns["info"]
    assert 0.6 < info.value <= packing.best_known(8, 3).coherence
    ns, out = cells[7]  # the optimizer against the records
    ours, rec, lp = ns["ours"], ns["rec"], ns["lp"]
    assert np.all(lp <= rec + 1e-9) and np.all(ours >= lp - 1e-9)
    np.testing.assert_allclose(ours, [packing.best_known(int(n), 3).coherence for n in ns["ns"]], atol=1e-6)
    ns, out = cells[9]  # continuing a run carries restarts over; p = 2 minimizers are tight frames
    first, more, tight = ns["first"], ns["more"], ns["tight"]
    assert more.restarts > first.restarts and more.coherence <= first.coherence
    assert tight.objective == pytest.approx((7 * 7 / 3 - 7) / 2, abs=1e-9)
    W = tight.W / np.linalg.norm(tight.W, axis=1, keepdims=True)
    np.testing.assert_allclose(W.T @ W, 7 / 3 * np.eye(3), atol=1e-6)  # a tight frame
    with_lp = packing.lower_bound(13, 3, lp=True)
    assert with_lp >= packing.lower_bound(13, 3) and f"({with_lp}, 'lp')" in out


def check_04(cells):
    ns, out = cells[3]  # one instance per sparsity, rows are features, best of several seeds
    r, S = ns["r"], ns["S"]
    assert r.W.shape == (len(S), 5, 2) and r.b.shape == (len(S), 5)
    assert r.loss_history.shape == (max(ns["steps"], 1500), len(S))
    np.testing.assert_allclose(r.eval_loss, r.seed_eval_losses.min(axis=1))
    # the text's claims, per sparsity, checked on the learned W by plain numpy
    W = {float(s): w.astype(np.float64) for s, w in zip(S, r.W, strict=True)}
    b = {float(s): v for s, v in zip(S, r.b, strict=True)}

    def antipodal_pairs(w):
        kept = w[np.linalg.norm(w, axis=1) > 0.5]
        unit = kept / np.linalg.norm(kept, axis=1, keepdims=True)
        return int(np.sum(np.triu(unit @ unit.T, 1) < -0.99))

    def dimensionality(w):  # ||W_i||^4 / sum_j (W_i . W_j)^2
        G = w @ w.T
        return np.diag(G) ** 2 / np.maximum(np.sum(G**2, axis=1), 1e-300)

    # S = 0: no clean shape, unequal dimensionalities
    dims0 = dimensionality(W[0.0])
    assert "S= 0.0: other" in out and dims0.max() - dims0.min() > 0.3
    # S = 0.6: two antipodal pairs (four features of dimensionality 1/2), the fifth dropped
    norms = np.linalg.norm(W[0.6], axis=1)
    assert antipodal_pairs(W[0.6]) == 2 and np.sum(norms < 0.1) == 1
    np.testing.assert_allclose(dimensionality(W[0.6])[norms > 0.5], 0.5, atol=0.03)
    assert "S= 0.6: 2×digon" in out
    # S = 0.8 and 0.95: a regular pentagon (every dimensionality 2/5) with negative biases
    for s in (0.8, 0.95):
        np.testing.assert_allclose(dimensionality(W[s]), 0.4, atol=0.02)
        assert np.all(b[s] < 0) and f"S={s:4}: pentagon" in out
    ns, _ = cells[5]  # 1-D importance is per feature, 1-D sparsity per instance
    r20 = ns["r20"]
    np.testing.assert_allclose(r20.importance, np.broadcast_to(0.7 ** np.arange(20), (3, 20)), rtol=1e-6)
    np.testing.assert_allclose(r20.sparsity, np.repeat([[0.0], [0.9], [0.99]], 20, axis=1), atol=1e-7)
    ns, _ = cells[7]  # snapshots of W during training
    rs = ns["rs"]
    assert len(rs.snapshots) == len(rs.snapshot_steps) == len(ns["dpf"])
    assert np.all(np.diff(rs.snapshot_steps) > 0) and rs.snapshot_steps[-1] <= ns["steps"]
    _, out = cells[9]  # bit-for-bit reruns; divergence named with its step and last finite loss
    assert "bit-for-bit rerun: True" in out
    assert re.search(r"TrainingDivergedError: training diverged at step \d+: .*last finite loss", out)
    ns, out = cells[11]  # gradient descent tracks the closed form s(t)^2 of ds/dt = s - s^3
    sc = ns["sc"]
    closed = 1 / (1 + (1 / 1e-3**2 - 1) * np.exp(-2 * sc.times))  # s(t)^2, initial scale 1e-3
    assert np.max(np.abs(sc.strengths[:, 0] - closed)) < 0.05
    ns, _ = cells[13]
    assert np.all(np.isfinite(ns["ra"].loss_history))


def check_05(cells):
    ns, _ = cells[1]
    res, sparsities = ns["res"], ns["sparsities"]
    assert res.W.shape == (len(sparsities), 5, 2)
    _, out = cells[5]  # exact, beyond tolerance ("ambiguous"), far beyond ("other"); a bipyramid
    labels = re.findall(r"^([\d.]+) (\w+) nearest: (\w+)", out, flags=re.M)
    assert labels == [
        ("0.0", "pentagon", "pentagon"),
        ("0.3", "ambiguous", "pentagon"),
        ("0.6", "other", "pentagon"),
    ]
    assert out.strip().splitlines()[-1] == "triangle ⊕ digon"
    ns, out = cells[7]  # an explicit transpose, and a round trip through a file
    np.testing.assert_array_equal(ns["W"], res.W[-1])
    assert packing.load_packing(ns["path"]).shape == res.W.shape
    assert packing.load_packing_metadata(ns["path"]) == {"sparsity": sparsities}
    ns, out = cells[9]  # every reference row, and the orders at which the learned partition is optimal
    cmp = ns["cmp"]
    names = {r.name for r in cmp.rows}
    assert {"learned", "ideal tegum", "optimizer p=inf", "overlapping orthogonal sets", "random"} <= names
    assert any(name.startswith("optimal partition") for name in names)
    learned = next(r for r in cmp.rows if r.name == "learned")
    kept = np.setdiff1d(np.arange(5), cmp.reports[0].factors.dropped)
    assert learned.n == len(kept)
    assert learned.coherence == pytest.approx(np.abs(brute_force_cosines(res.W[-1][kept])).max(), abs=1e-6)
    assert "learned partition is the predicted optimum at p =" in out
    ns, _ = cells[12]  # a rotated, relabelled copy groups with the original; another solution does not
    groups = ns["packing"].deduplicate_packings(ns["candidates"])[1]
    assert groups[0] == groups[1] != groups[2]


CHECKS = {"01": check_01, "02": check_02, "03": check_03, "04": check_04, "05": check_05}


def test_every_notebook_has_a_checker():
    assert NOTEBOOKS and {p.stem[:2] for p in NOTEBOOKS} == set(CHECKS)


DRAWS = ("plt.subplots", "plt.show()", "plt.figure")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_as_a_notebook(path, monkeypatch):
    import nbclient
    import nbformat

    monkeypatch.setenv("PACKING_QUICK", "1")
    monkeypatch.setenv("PACKING_PROGRESS", "0")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what Jupyter shows
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's packing
    nb = nbformat.read(path, as_version=4)
    before = sorted(p.name for p in path.parent.iterdir())
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=900, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    assert sorted(p.name for p in path.parent.iterdir()) == before, "the notebook wrote files into notebooks/"
    drawing = [cell for cell in nb.cells if cell.cell_type == "code" and any(d in cell.source for d in DRAWS)]
    assert drawing, f"{path.name} draws nothing"
    for cell in drawing:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: a cell that draws shows no figure:\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_does_what_it_says(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PACKING_QUICK", "1")
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / ".hypothesis"))  # restored afterwards
    CHECKS[path.stem[:2]](run_notebook(path))
