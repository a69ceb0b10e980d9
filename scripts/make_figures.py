"""Regenerate every figure of the project: run each ``scripts/fig_*.py`` driver.

Usage: ``python scripts/make_figures.py [--out figures] [--quick] [--force] [--only NAME]``.
Each driver exposes ``main(out_dir, *, quick, force, seed)`` and returns the paths it wrote.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def drivers():
    """Return ``{name: path}`` of every figure driver, sorted by name."""
    return {p.stem: p for p in sorted(HERE.glob("fig_*.py"))}


def load(path: Path):
    """Import a driver module from its file path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", help="driver name(s) to run, e.g. fig_bounds")
    args = parser.parse_args(argv)
    selected = drivers()
    if args.only:
        missing = sorted(set(args.only) - set(selected))
        if missing:
            parser.error(f"unknown driver(s) {missing}; available: {sorted(selected)}")
        selected = {k: v for k, v in selected.items() if k in args.only}
    failures = []
    for name, path in selected.items():
        start = time.perf_counter()
        try:
            written = load(path).main(args.out, quick=args.quick, force=args.force, seed=args.seed)
        except Exception:
            traceback.print_exc()
            failures.append(name)
            continue
        for p in written:
            print(f"{name}: wrote {p}")
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    if failures:
        print(f"FAILED drivers: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
