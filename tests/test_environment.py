"""``packing.environment_info`` and ``packing info``: what the toolkit runs on, the BLAS kernel warning."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import packing
from packing._environment import AVX512_KERNELS, kernel_note, runs_avx512_kernels
from packing.cli import main
from packing.train._parallel import available_cpus

ROOT = Path(__file__).resolve().parents[1]


def cpu_has_avx512() -> bool | None:
    """From the kernel's own CPU flags (Linux), independently of numpy's detection; None elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    return "avx512f" in flags.split()


def test_the_report_holds_what_the_process_sees():
    info = packing.environment_info()
    assert info["packing"] == packing.__version__
    assert info["python"] == platform.python_version()
    assert info["numpy"] == np.__version__
    assert info["cpu_count"] == os.cpu_count()
    assert info["cores_available"] == available_cpus()
    blas = next(i for i in threadpool_info() if i.get("user_api") == "blas")
    assert info["blas"]["library"] == blas["internal_api"]
    assert info["blas"]["kernels"] == blas.get("architecture")
    assert info["openblas_coretype"] == (os.environ.get("OPENBLAS_CORETYPE") or None)
    assert set(info["optional"]) >= {"torch", "dask", "safetensors"}
    flags = cpu_has_avx512()
    if flags is not None and info["simd"] is not None:
        assert (info["simd"] == "AVX512F") == flags
    json.dumps(info, allow_nan=False)  # plain values only


@pytest.mark.parametrize(
    "library, kernels, coretype, avx512, warned",
    [
        ("openblas", "Haswell", "Haswell", True, True),  # this project's machine: forced AVX2 kernels
        ("openblas", "Zen", "Zen", True, True),
        ("openblas", "SkylakeX", "SkylakeX", True, False),  # forced, but to AVX-512 kernels
        ("openblas", "Cooperlake", "COOPERLAKE", True, False),
        ("openblas", "Haswell", None, True, False),  # OpenBLAS's own choice: nothing to say
        ("openblas", "Haswell", "Haswell", False, False),  # a CPU without AVX-512 loses nothing
        ("openblas", "Haswell", "Haswell", None, False),  # unknown CPU: no guess
        ("mkl", "Haswell", "Haswell", True, False),  # the variable is OpenBLAS's only
        ("openblas", None, "Haswell", True, False),
    ],
)
def test_the_kernel_note_warns_only_when_the_variable_holds_back_an_avx512_cpu(
    library, kernels, coretype, avx512, warned
):
    note = kernel_note(library, kernels, coretype, avx512)
    assert (note is not None) == warned
    if warned:
        assert f"OPENBLAS_CORETYPE={coretype}" in note and f"its {kernels} kernels" in note
        assert "env -u OPENBLAS_CORETYPE" in note


def test_the_avx512_kernel_names_are_lower_case():
    assert all(k == k.lower() for k in AVX512_KERNELS)


def test_packing_info_prints_the_report(capsys):
    assert main(["info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cores_available"] == available_cpus() and out["numpy"] == np.__version__
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert f"packing {packing.__version__} on Python {platform.python_version()}" in text
    assert f"cores: {available_cpus()} available to this process" in text
    assert "numpy BLAS: " in text and "OPENBLAS_CORETYPE: " in text


def _info_in_child(env):
    done = subprocess.run(
        [sys.executable, "-m", "packing", "info", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="Haswell is an x86-64 kernel set")
def test_a_forced_coretype_is_seen_and_warned_about_on_an_avx512_cpu():
    """In fresh processes, since OpenBLAS reads the variable once, when numpy loads it."""
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    forced = _info_in_child({**base, "OPENBLAS_CORETYPE": "Haswell"})
    free = _info_in_child(base)
    assert forced["openblas_coretype"] == "Haswell" and free["openblas_coretype"] is None
    assert free["notes"] == []
    if forced["blas"] is None or forced["blas"]["library"] != "openblas":
        assert forced["notes"] == []  # another BLAS: the variable means nothing to it
        return
    assert forced["blas"]["kernels"] == "Haswell"
    avx512 = cpu_has_avx512()
    assert len(forced["notes"]) == (1 if avx512 else 0)
    if avx512:
        assert free["blas"]["kernels"].lower() in AVX512_KERNELS  # what OpenBLAS picks by itself here


@pytest.mark.parametrize(
    "library, kernels, expected",
    [
        ("openblas", "SkylakeX", True),
        ("openblas", "SAPPHIRERAPIDS", True),
        ("openblas", "Haswell", False),
        ("mkl", "SkylakeX", False),
        ("openblas", None, False),
    ],
)
def test_runs_avx512_kernels_is_openblas_with_a_512_bit_kernel_set(library, kernels, expected):
    # the one rule the toy kernel's padding (blas_has_avx512) and the kernel note both use
    assert runs_avx512_kernels(library, kernels) is expected
