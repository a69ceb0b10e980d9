"""Every figure driver (packing.figures) and every script is run at tiny size, so none can rot."""

import importlib
import importlib.util
from pathlib import Path

import pytest
from helpers import quick_figures

from packing.figures import FIGURES as DRIVERS

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
FIGURES = sorted(SCRIPTS.glob("fig_*.py"))
BENCHES = sorted(SCRIPTS.glob("bench_*.py"))


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_figure_drivers_and_each_has_a_script():
    assert DRIVERS, "packing.figures must register at least one driver"
    # every driver keeps its old entry point scripts/fig_<name>.py, and every such script is a driver
    assert {p.stem for p in FIGURES} == {f"fig_{name}" for name in DRIVERS}


@pytest.mark.parametrize("path", FIGURES, ids=[p.stem for p in FIGURES])
def test_each_script_is_a_thin_wrapper_of_its_package_driver(path):
    module = importlib.import_module(f"packing.figures.{path.stem.removeprefix('fig_')}")
    assert load(path).main is module.main


MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


def check_written(written, out):
    """Every figure comes as a PNG and a PDF in ``out``, complete, with no temporary file left."""
    written = [Path(p) for p in written]
    assert written
    figures = [p for p in written if p.suffix in MAGIC]
    assert {p.with_suffix("") for p in figures if p.suffix == ".png"} == {
        p.with_suffix("") for p in figures if p.suffix == ".pdf"
    }
    for p in written:
        assert p.parent == out and p.exists() and p.stat().st_size > 1000, p
        if p.suffix in MAGIC:
            assert p.read_bytes().startswith(MAGIC[p.suffix]), f"{p} is not a {p.suffix} file"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", list(DRIVERS))
def test_figure_driver_runs_quick(name):
    out, written, _ = quick_figures(name)  # the run tests/test_figure_properties.py checks too
    check_written(written, out)
    # the registry says which figures a driver writes
    assert {p.stem for p in written if p.suffix == ".png"} == set(DRIVERS[name].outputs)


@pytest.mark.parametrize("path", BENCHES, ids=[p.stem for p in BENCHES])
def test_benchmark_runs_quick(path):
    result = load(path).main(["--quick"])
    assert isinstance(result, dict) and result, f"{path.name} must return a dict of its figures"


def test_make_figures_runs_one_and_refuses_unknown_names(tmp_path, capsys):
    mf = load(SCRIPTS / "make_figures.py")
    assert mf.main(["--out", str(tmp_path), "--quick", "--only", "fig_interference_distribution"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "interference_distribution.pdf",
        "interference_distribution.png",
    ]
    capsys.readouterr()
    assert mf.main(["--only", "fig_does_not_exist"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--only must name figures among" in err[0] and "fig_does_not_exist" in err[0]


def test_a_second_run_reuses_the_cache_and_a_new_setting_does_not(tmp_path):
    driver = importlib.import_module(DRIVERS["learned_features_2d"].module)
    out = tmp_path / "figs"
    first = driver.main(out, quick=True, seed=0)
    entries = {p: p.stat().st_mtime_ns for p in (out / ".cache").iterdir()}
    assert len(entries) == 1
    png = first[0].read_bytes()
    again = driver.main(out, quick=True, seed=0)  # served from the cache: the entry is not rewritten
    assert {p: p.stat().st_mtime_ns for p in (out / ".cache").iterdir()} == entries
    assert again == first and again[0].read_bytes() == png
    driver.main(out, quick=True, seed=1)  # another setting: another entry
    assert len(list((out / ".cache").iterdir())) == 2
    driver.main(out, quick=True, force=True, seed=0)  # force recomputes (and rewrites) the entry
    assert [p.stat().st_mtime_ns for p in entries] != list(entries.values())


def test_bench_trainer_compares_blas_kernels_in_child_processes(tmp_path, monkeypatch, capsys):
    """``--kernels both``: one child with the environment as given, one without OPENBLAS_CORETYPE."""
    import json
    import os
    import platform

    if platform.machine() in ("x86_64", "AMD64"):
        monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")  # a kernel set every x86-64 OpenBLAS knows
    given = "OPENBLAS_CORETYPE" in os.environ
    out = tmp_path / "ratios.json"
    runs = load(SCRIPTS / "bench_trainer.py").main(
        ["--quick", "--no-torch", "--only", "a", "--kernels", "both", "--json", str(out)]
    )
    assert json.loads(out.read_text()) == runs
    (as_set, removed) = runs  # in this order
    assert len(runs[as_set]) == len(runs[removed]) == 1
    assert "OPENBLAS_CORETYPE removed" in removed
    assert "OPENBLAS_CORETYPE=" not in runs[removed][0]["blas"]
    assert ("OPENBLAS_CORETYPE=Haswell" in runs[as_set][0]["blas"]) == given
    for kind in runs:  # each child measured every setting of configuration a
        assert set(runs[kind][0]["rows"]) == {"a defaults", "a 1 thread", "a 2 threads"}
        assert all(row["numpy_ms"] > 0 for row in runs[kind][0]["rows"].values())
    printed = capsys.readouterr().out
    assert "side by side" in printed and printed.count("=== run 1 of 1") == 2


def test_bench_trainer_refuses_a_repeat_below_one(capsys):
    with pytest.raises(SystemExit):
        load(SCRIPTS / "bench_trainer.py").main(["--kernels", "both", "--repeat", "0"])
    assert "--repeat must be at least 1; got 0" in capsys.readouterr().err
