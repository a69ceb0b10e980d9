"""Private helpers shared by the figure and benchmark drivers in ``scripts/``.

Only ``scripts/`` write files; this module gives them one way to parse their
command line, save a figure, and cache expensive intermediate results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__: list[str] = []


def figure_parser(doc: str | None) -> argparse.ArgumentParser:
    """Return the common ``--out/--quick/--force/--seed`` parser of a figure driver."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--out", default="figures", help="output folder (default: figures)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    parser.add_argument("--force", action="store_true", help="recompute cached results")
    parser.add_argument("--seed", type=int, default=0, help="base random seed")
    return parser


def run_figure_cli(main: Callable, doc: str | None) -> None:
    """Parse the common options and call ``main(out_dir, quick=, force=, seed=)``."""
    args = figure_parser(doc).parse_args()
    for path in main(args.out, quick=args.quick, force=args.force, seed=args.seed):
        print(path)


def save_figure(fig, out_dir, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` (creating the folder) and close it."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def cached(name: str, params: dict, compute: Callable[[], dict], *, cache_dir, force: bool = False) -> dict:
    """Return ``compute()`` (a dict of arrays), cached in ``cache_dir`` under a hash of ``params``.

    The cache key is the name plus the JSON of ``params``; ``force`` recomputes.
    """
    key = hashlib.sha256(json.dumps([name, params], sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"{name}-{key}.npz"
    if path.exists() and not force:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: np.asarray(v) for k, v in result.items()})
    return result
