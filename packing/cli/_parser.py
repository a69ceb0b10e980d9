"""The ``packing`` argument parser: every subcommand and its options (one-line usage errors)."""

from __future__ import annotations

import argparse
import math

from .. import __version__
from ..io import (
    _LAYOUTS,  # the layouts load_packing accepts: --layout offers exactly these
)
from ._errors import _JSON_RULE, CLIError

# ============================================================================ parsing


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one-line :class:`CLIError` instead of usage + exit."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')", "usage")


def _float(text: str) -> float:
    """Parse a real number, ``inf`` allowed (the library decides what it accepts)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number (or inf); got {text!r}") from None


def _floats(text: str) -> list[float]:
    """Comma-separated numbers, e.g. ``1,2,4,inf``."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers or inf; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number; got {text!r}")
    return values


def _seed(text: str) -> int:
    """Parse a random seed: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0; got {value}")
    return value


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help=f"print strict JSON ({_JSON_RULE})")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return common


def _file_options() -> argparse.ArgumentParser:
    files = _Parser(add_help=False)
    files.add_argument("file", metavar="FILE", help="the packing: a weight array file, one row per feature")
    files.add_argument(
        "--key",
        default=None,
        help="name of the array inside a multi-array file (default: 'W', or the only array)",
    )
    files.add_argument(
        "--layout",
        default=None,
        choices=_LAYOUTS,
        help="how the file stores it: 'features_by_hidden' (rows are features, this toolkit's W; "
        "the default) or 'hidden_by_features' (columns are features, e.g. a torch nn.Linear weight "
        "of shape (d, n))",
    )
    files.add_argument(
        "--instance",
        type=int,
        default=None,
        metavar="I",
        help="for a batch of shape (instances, n, d): the instance to use, 0 <= I < instances",
    )
    return files


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``packing`` command (every subcommand and option)."""
    common, files = _common(), _file_options()
    parser = _Parser(
        prog="packing",
        description="The geometry of feature packings: statistics, bounds, records, the optimizer, "
        "optimal partitions, toy-model training, structure, comparisons and figures.",
        epilog="Exit status: 0 ok, 2 usage, 3 bad value, 4 file not found or unreadable, 5 bad file "
        "content, 6 resource limit, 7 not available, 8 computation failed, 70 internal error, "
        "130 interrupted. Errors are one line on stderr; --debug adds the traceback.",
    )
    parser.add_argument("--version", action="version", version=f"packing {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def add(name, help_text, parents, description=None):
        return sub.add_parser(name, help=help_text, description=description or help_text, parents=parents)

    st = add("stats", "interference statistics of a saved packing", [files, common])
    st.add_argument(
        "--p", type=_floats, default=[1.0, 2.0, 4.0, math.inf], help="moment orders, e.g. 1,2,4,inf"
    )
    st.add_argument("--atol", type=_float, default=None, help="|cos| below this counts as orthogonal")

    add(
        "info",
        "what the toolkit runs on: versions, the cores it may use, numpy's BLAS and the kernels it runs "
        "(with a note when the environment slows them down)",
        [common],
    )

    bd = add("bounds", "coherence lower bounds for N lines in R^D", [common])
    bd.add_argument("n", type=int, metavar="N", help="number of lines (>= 1)")
    bd.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    bd.add_argument("--lp", action="store_true", help="also solve the certified Delsarte LP bound (slower)")

    bk = add(
        "best-known",
        "the best known coherence of N lines in R^D (Sloane's and Cohn's tables, shipped with the package)",
        [common],
    )
    bk.add_argument("n", type=int, metavar="N", help="number of lines")
    bk.add_argument("d", type=int, metavar="D", help="dimension")
    bk.add_argument(
        "--export",
        metavar="FILE",
        default=None,
        help="write the toolkit's best packing of the cell (its own certified table, else a known "
        "optimum) to FILE in the public tables' text form",
    )

    ce = add(
        "certify",
        "certify a packing's coherence exactly (rounded to decimals, exact integer arithmetic), its active "
        "pairs and contact graph, and compare it with the public table",
        [files, common],
    )
    ce.add_argument("--digits", type=int, default=20, help="decimals of the rounding (1..100, default 20)")
    ce.add_argument(
        "--atol", type=_float, default=1e-9, help="pairs within this of the maximum are active (default 1e-9)"
    )
    ce.add_argument(
        "--export",
        metavar="FILE",
        default=None,
        help="also write the certified packing to FILE in the public tables' text form",
    )

    pk = add("pack", "search for N lines in R^D with small coherence (or p-frame potential)", [common])
    pk.add_argument("n", type=int, metavar="N", help="number of lines (>= 1)")
    pk.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    pk.add_argument("--p", type=_float, default=math.inf, help="order: inf (coherence, default) or p > 0")
    pk.add_argument("--budget", type=_float, default=None, help="seconds (default 10 for p=inf, 2 otherwise)")
    pk.add_argument("--restarts", type=int, default=None, help="cap on the number of starts")
    pk.add_argument(
        "--workers",
        type=int,
        default=None,
        help="search processes (default: every available core for budgets >= 3 s, else 1)",
    )
    pk.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    pk.add_argument("--method", default="smooth", choices=("smooth", "ap", "auto"), help="local search")
    pk.add_argument("--out", required=True, metavar="FILE", help="result file (.npz)")

    pt = add("partition", "optimal partition of N features and D dims into orthogonal blocks", [common])
    pt.add_argument("n", type=int, metavar="N", help="number of features (>= 1)")
    pt.add_argument("d", type=int, metavar="D", help="dimension (>= 1)")
    pt.add_argument("--p", type=_float, required=True, help="moment order p > 0, or inf")
    pt.add_argument(
        "--cost",
        default="welch",
        choices=("welch", "known", "optimizer"),
        help="block losses: Welch ideal (default), exact known packings, or the optimizer per block",
    )
    pt.add_argument(
        "--budget", type=_float, default=None, help="seconds per optimizer call (--cost optimizer)"
    )
    pt.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    pt.add_argument(
        "--out", default=None, metavar="FILE", help="also write the block-diagonal packing (.npz)"
    )

    tr = add("train", "train toy models of superposition (numpy) and save the learned weights", [common])
    tr.add_argument(
        "--model",
        default="relu",
        choices=("relu", "linear", "abs"),
        help="x' = ReLU(x W Wᵀ + b) (relu), x W Wᵀ + b (linear), or the |x| computation model (abs)",
    )
    tr.add_argument("--n-features", type=int, required=True, metavar="N", help="number of features")
    tr.add_argument("--d", type=int, required=True, metavar="D", help="hidden dimensions (neurons for abs)")
    tr.add_argument(
        "--sparsity",
        type=_float,
        nargs="+",
        default=None,
        metavar="S",
        help="probability a feature is ZERO; several values train one instance each",
    )
    tr.add_argument("--density", type=_float, nargs="+", default=None, metavar="P", help="1 - sparsity")
    tr.add_argument("--importance", type=_float, default=1.0, help="importance of every feature (default 1)")
    tr.add_argument(
        "--importance-decay",
        type=_float,
        default=None,
        metavar="R",
        help="importance R**i of feature i instead (e.g. 0.9)",
    )
    tr.add_argument("--steps", type=int, default=10_000, help="optimizer steps (default 10000)")
    tr.add_argument("--batch-size", type=int, default=1024, help="batch size (default 1024)")
    tr.add_argument("--lr", type=_float, default=1e-3, help="learning rate (default 1e-3)")
    tr.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd"), help="default adam")
    tr.add_argument(
        "--schedule",
        default="constant",
        choices=("constant", "linear", "cosine"),
        help="learning-rate schedule",
    )
    tr.add_argument("--weight-decay", type=_float, default=0.0, help="default 0")
    tr.add_argument(
        "--n-seeds", type=int, default=1, help="train this many seeds per instance, keep the best"
    )
    tr.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32")
    tr.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")
    tr.add_argument("--out", required=True, metavar="FILE", help="result file (.npz)")
    tr.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="save a checkpoint there while training and resume from it if it exists "
        "(needs a trainer with checkpoints)",
    )
    tr.add_argument(
        "--checkpoint-every", type=int, default=None, metavar="K", help="steps between checkpoints"
    )

    an = add(
        "analyze", "structure of a learned packing: tegum factors, shapes, orthogonal sets", [files, common]
    )
    an.add_argument("--atol", type=_float, default=None, help="|cos| above this links two features")
    an.add_argument(
        "--norm-threshold", type=_float, default=None, help="rows at or below this norm are dropped"
    )

    cp = add("compare", "a learned packing side by side with the packings theory predicts", [files, common])
    cp.add_argument("--p", type=_floats, default=None, help="moment orders of the table, e.g. 1,2,4,inf")
    cp.add_argument("--budget", type=_float, default=1.0, help="optimizer seconds per reference packing")
    cp.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="random seed (default 0)")

    fg = add("figures", "draw the project's figures (PNG and PDF) into a folder", [common])
    fg.add_argument("--only", nargs="+", default=None, metavar="NAME", help="figure names (see --list)")
    fg.add_argument("--quick", action="store_true", help="tiny sizes: seconds per figure, for a smoke test")
    fg.add_argument("--force", action="store_true", help="recompute cached results")
    fg.add_argument("--out", default="figures", metavar="DIR", help="output folder (default: figures)")
    fg.add_argument("--seed", type=_seed, default=0, help="base random seed (default 0)")
    fg.add_argument("--list", action="store_true", help="list the figures and what they reproduce")

    sw = add(
        "sweep",
        "run a task over a grid of configurations and seeds, in parallel, cached and resumable",
        [common],
        description="Run a task (see --list) on every cell of a grid given as a TOML or JSON file: a table "
        "of parameter names to value lists (full product) or a list of configurations. Cells run on every "
        "local core (joblib) or on a Dask cluster (--scheduler); each is stored in --cache-dir as it "
        "finishes, so an interrupted sweep resumes and a finished one reloads at once.",
    )
    sw.add_argument("task", nargs="?", metavar="TASK", help="the task's name (see --list)")
    sw.add_argument("grid", nargs="?", metavar="GRID", help="the grid: a .toml or .json file")
    sw.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 per configuration (default 1)")
    sw.add_argument("--seed-list", type=_seeds, default=None, metavar="S,S,...", help="these seeds instead")
    sw.add_argument(
        "--cache-dir", default="packing-sweeps", metavar="DIR", help="cache folder (default packing-sweeps)"
    )
    sw.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="local processes (default every core)"
    )
    sw.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="K",
        help="cells a local process runs per call (default: sized from the first cells' times, about "
        "0.25 s of work per call); results and cache files do not depend on it",
    )
    sw.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on the Dask cluster of this scheduler",
    )
    sw.add_argument("--out", default=None, metavar="FILE", help="also write the table to FILE (.csv)")
    sw.add_argument("--list", action="store_true", help="list the tasks and the parameters they take")
    return parser


def _seeds(text: str) -> list[int]:
    """Comma-separated seeds, e.g. ``0,3,7``."""
    values = [_seed(v.strip()) for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds; got {text!r}")
    return values
