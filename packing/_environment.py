"""What the toolkit runs on: versions, the cores it may use, numpy's BLAS and the kernels it runs.

:func:`environment_info` gathers it (``packing info`` prints it). Training speed
depends on two things a researcher does not see: how many cores the process may
use (an affinity mask or a container's CPU quota can leave fewer than the
machine has; the trainers use what is available) and which kernels numpy's BLAS
runs. OpenBLAS picks its kernels for the CPU when numpy loads it, unless
``OPENBLAS_CORETYPE`` names others: on a CPU with AVX-512, ``Haswell`` (AVX2)
kernels ran float32 matrix products at about half the rate of the ``SkylakeX``
ones on the project's machine (123-127 against 229-235 GFLOP/s on a 1024³
product, one thread, 2026-12-01), and the 1000 x 100 toy model trained 1.5-1.6x
slower at one thread (315-321 against 203-205 ms a step; ``scripts/bench_trainer.py
--kernels both``). The variable is read once,
when numpy is imported, so it must be changed before Python starts.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform

import numpy as np

__all__ = ["environment_info"]

#: OpenBLAS's names of the kernels that use 512-bit vectors (``threadpoolctl``'s ``architecture``, in
#: lower case): the toy kernel's padding (``padded_width``) and :func:`kernel_note` depend on them.
AVX512_KERNELS = frozenset({"skylakex", "cooperlake", "sapphirerapids"})
#: Optional packages whose presence changes what the toolkit offers.
OPTIONAL = ("torch", "dask", "distributed", "safetensors", "pandas", "xarray", "joblib", "tqdm")
#: SIMD extensions reported, best first (from numpy's CPU feature detection).
SIMD = ("AVX512F", "AVX2", "AVX", "SSE4_2", "ASIMD", "NEON")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_features() -> dict[str, bool] | None:
    """Return numpy's run-time CPU feature detection (``{"AVX512F": True, ...}``), or None if not found."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            features = getattr(importlib.import_module(module), "__cpu_features__", None)
        except ImportError:
            continue
        if isinstance(features, dict):
            return {str(k): bool(v) for k, v in features.items()}
    return None


def numpy_blas() -> dict | None:
    """Return numpy's BLAS as ``threadpoolctl`` sees it: library, version, kernels, threads (or None)."""
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return {
                "library": info.get("internal_api"),
                "version": info.get("version"),
                "kernels": info.get("architecture"),
                "threading_layer": info.get("threading_layer"),
                "threads": info.get("num_threads"),
            }
    return None


def runs_avx512_kernels(library, kernels) -> bool:
    """Whether a BLAS (as :func:`numpy_blas` reports it) is an OpenBLAS running its AVX-512 kernels."""
    return library == "openblas" and str(kernels).lower() in AVX512_KERNELS


def kernel_note(library, kernels, coretype, avx512) -> str | None:
    """Return a warning when ``OPENBLAS_CORETYPE`` makes OpenBLAS run kernels older than the CPU's, else None.

    ``library`` and ``kernels`` as :func:`environment_info` reports them (``"openblas"``,
    ``"Haswell"``), ``coretype`` the variable's value (None: not set), ``avx512`` whether
    the CPU has AVX-512 (None: unknown).
    """
    if not coretype or library != "openblas" or not avx512 or not kernels:
        return None
    if runs_avx512_kernels(library, kernels):
        return None
    return (
        f"OPENBLAS_CORETYPE={coretype} in the environment makes OpenBLAS run its {kernels} kernels on a CPU "
        "with AVX-512: float32 matrix products ran at about half the rate of its SkylakeX kernels on the "
        "project's machine, and large toy models trained up to 1.6x slower. Unless it is set on purpose, "
        "start Python without it (env -u OPENBLAS_CORETYPE ...); it cannot be changed once numpy is loaded."
    )


def environment_info() -> dict:
    """Return what the toolkit runs on, as a dict of plain values (``packing info`` prints it).

    Keys: ``packing``, ``python``, ``platform``, ``numpy``, ``scipy`` (versions);
    ``optional`` (version or None of each optional package: torch, dask, ...);
    ``cpu_count`` (the machine's logical CPUs) and ``cores_available`` (those this
    process may use: its affinity mask capped by a cgroup CPU quota, what the
    trainers use by default); ``simd`` (the best SIMD extension numpy detects);
    ``blas`` (numpy's BLAS library, version, the kernels it runs, its threading
    layer and threads, or None); ``openblas_coretype`` (the environment variable,
    or None); ``notes`` (warnings about the set-up, see :func:`kernel_note`).

    Examples
    --------
    >>> info = environment_info()
    >>> info["cores_available"] >= 1 and info["numpy"] == np.__version__
    True
    """
    from . import __version__
    from .train._parallel import available_cpus

    features = _cpu_features()
    simd = None if features is None else next((s for s in SIMD if features.get(s)), None)
    blas = numpy_blas()
    coretype = os.environ.get("OPENBLAS_CORETYPE") or None
    avx512 = None if features is None else features.get("AVX512F", False)
    notes = []
    note = kernel_note(blas and blas["library"], blas and blas["kernels"], coretype, avx512)
    if note:
        notes.append(note)
    return {
        "packing": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "optional": {name: _version(name) for name in OPTIONAL},
        "cpu_count": os.cpu_count(),
        "cores_available": available_cpus(),
        "simd": simd,
        "blas": blas,
        "openblas_coretype": coretype,
        "notes": notes,
    }
