"""Command line: ``packing stats FILE`` and ``packing bounds N D``.

``packing stats W.npy`` prints the interference statistics of a saved packing
(rows are features; ``--layout hidden_by_features`` transposes a PyTorch-style
weight), computed in tiles so dictionary-sized files are fine. ``packing bounds
N D`` prints every coherence lower bound for ``N`` lines in ``R^D``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ._validation import check_int
from .bounds import bound_table, lower_bound
from .geometry import capacity, pairwise_statistics
from .io import load_packing

__all__: list[str] = []  # the entry point is packing.cli:main, not a library function


def _parse_orders(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        msg = f"--p must be comma-separated numbers or inf; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _stats(args) -> dict:
    W = load_packing(args.file, key=args.key, layout=args.layout)
    if W.ndim == 3:
        if args.instance is None:
            raise ValueError(
                f"{args.file} holds {W.shape[0]} instances of shape {W.shape[1:]}; "
                "pick one with --instance I."
            )
        W = W[check_int(args.instance, "--instance", minimum=0, maximum=W.shape[0] - 1)]
    elif args.instance is not None:
        one = f"{args.file} holds one packing of shape {W.shape}"
        raise ValueError(f"--instance needs a file of shape (instances, n, d); {one}.")
    n, d = W.shape
    s = pairwise_statistics(W, p=args.p, atol=args.atol)
    lb, name = lower_bound(n, d, return_name=True) if n > 1 else (0.0, "none")
    C = capacity(W)
    return {
        "n": n,
        "d": d,
        "pairs": s.n_pairs,
        "moments": {("inf" if np.isinf(p) else f"{p:g}"): v for p, v in s.moments.items()},
        "coherence": s.coherence,
        "coherent_pair": list(s.coherent_pair) if s.coherent_pair else None,
        "orthogonal_pairs": s.orthogonal_pairs,
        "atol": s.atol,
        "lower_bound": lb,
        "lower_bound_name": name,
        "capacity_sum": float(C.sum()),
    }


def main(argv=None) -> int:
    """Run the ``packing`` command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="packing", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    st = sub.add_parser("stats", help="interference statistics of a saved packing (.npy/.npz)")
    st.add_argument("file")
    st.add_argument("--p", type=_parse_orders, default=[1.0, 2.0, 4.0, np.inf], help="orders, e.g. 1,2,4,inf")
    st.add_argument("--atol", type=float, default=None, help="tolerance for orthogonal pairs")
    st.add_argument("--key", default=None, help="array name inside a .npz")
    st.add_argument(
        "--layout", default="features_by_hidden", choices=["features_by_hidden", "hidden_by_features"]
    )
    st.add_argument("--instance", type=int, default=None, help="instance index for (instances, n, d) arrays")
    st.add_argument("--json", action="store_true", help="print JSON")
    bd = sub.add_parser("bounds", help="coherence lower bounds for N lines in R^D")
    bd.add_argument("n", type=int)
    bd.add_argument("d", type=int)
    bd.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "stats":
            out = _stats(args)
        else:
            best, name = lower_bound(args.n, args.d, return_name=True)
            bounds = bound_table(args.n, args.d)
            out = {"n": args.n, "d": args.d, "bounds": bounds, "best": best, "best_name": name}
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"packing {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
