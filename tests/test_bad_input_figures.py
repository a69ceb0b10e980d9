"""Bad input to packing.figures' kit and packing.cli.main (see test_bad_input_common)."""

import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from test_bad_input_common import (
    BOOLS,
    check_bad_input,
    small_memory_limit,  # noqa: F401  (autouse: every case runs under a small memory limit)
    substitute,
)

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

from packing import cli  # noqa: E402
from packing.figures import (  # noqa: E402
    FigureRun,
    add_colorbar,
    cached,
    draw_quick,
    figure_parser,
    integer_ticks,
    legibility_problems,
    make_figures,
    plain_log_ticks,
    reference_line,
    resolve_figures,
    run_figure_cli,
)

HERE = Path(tempfile.mkdtemp(prefix="packing-bad-figures-"))
A_FILE = HERE / "a-file.txt"
A_FILE.write_text("x")
FIG = Figure(figsize=(3, 2))
AX = FIG.subplots()
IMAGE = AX.imshow(np.eye(3))
NOT_AXES = [(None, TypeError), ("ax", TypeError), (FIG, TypeError), (3, TypeError)]
AXIS = [("z", ValueError), ("", ValueError), (None, ValueError), (1, ValueError)]
#: Folders to write into that cannot be: a file, a path through a file, not a path at all.
FOLDERS = [(A_FILE, ValueError), (A_FILE / "sub", ValueError), (None, TypeError), (3.5, TypeError)]


def driver(out_dir, *, quick=False, force=False, seed=0):
    """A figure driver that draws nothing."""
    return []


def square(x):
    return {"y": np.asarray(x) ** 2}


SQ = (square, {"x": [1]})
ONE_FIGURE = {"only": ["interference_distribution"]}  # a quick driver: the fuzzer's good call draws it
CD = {"cache_dir": HERE / "c"}
NOT_SCALAR_MAPPABLE = [(None, TypeError), (AX, TypeError), ("x", TypeError)]
NOT_FLOAT = [("0.5", TypeError), (None, TypeError), (np.nan, ValueError), (True, TypeError)]
NOT_FLOAT.append(([0.5], TypeError))

CASES = [
    *substitute(add_colorbar, (AX, IMAGE, "c"), {}, 0, NOT_AXES[:2] + [([AX, "x"], TypeError)]),
    *substitute(add_colorbar, (AX, IMAGE, "c"), {}, 1, NOT_SCALAR_MAPPABLE),
    *substitute(add_colorbar, (AX, IMAGE, "c"), {}, 2, [(None, TypeError), (3, TypeError)]),
    *substitute(reference_line, (AX, 0.5), {}, 0, NOT_AXES),
    *substitute(reference_line, (AX, 0.5), {}, 1, NOT_FLOAT),
    *substitute(reference_line, (AX, 0.5), {}, "text", [(3, TypeError), (1j, TypeError)]),
    *substitute(integer_ticks, (AX,), {}, 0, NOT_AXES),
    *substitute(integer_ticks, (AX,), {}, "axis", AXIS),
    *substitute(integer_ticks, (AX,), {}, "max_ticks", [(0, ValueError), (2.5, TypeError), (True, TypeError),
                                                       (np.nan, TypeError), ("4", TypeError)]),
    *substitute(plain_log_ticks, (AX,), {}, 0, NOT_AXES),
    *substitute(plain_log_ticks, (AX,), {}, "axis", AXIS),
    *substitute(legibility_problems, (FIG,), {}, 0, NOT_AXES[:2] + [(AX, TypeError)]),
    *substitute(legibility_problems, (FIG,), {}, "width", [(0.0, ValueError), (np.nan, ValueError),
                                                          ("3", TypeError), (True, TypeError)]),
    *substitute(FigureRun, (HERE / "run",), {}, 0, FOLDERS),
    *substitute(FigureRun, (HERE / "run",), {}, "force", BOOLS),
    *substitute(FigureRun, (HERE / "run",), {}, "cache_dir", FOLDERS[:2]),
    *substitute(cached, SQ, CD, 0, [(None, TypeError), ("sq", TypeError)]),
    *substitute(cached, SQ, CD, 1, [(None, TypeError), ([1], TypeError)]),
    *substitute(cached, SQ, CD, "cache_dir", FOLDERS),
    *substitute(cached, SQ, CD, "force", BOOLS),
    *substitute(draw_quick, (driver, HERE / "q"), {}, 0, [(None, TypeError), ("main", TypeError)]),
    *substitute(draw_quick, (driver, HERE / "q"), {}, 1, FOLDERS),
    *substitute(draw_quick, (driver, HERE / "q"), {}, "seed", [(-1, ValueError), (2.5, TypeError),
                                                             ("0", TypeError), (True, TypeError)]),
    *substitute(draw_quick, (driver, HERE / "q"), {}, "force", BOOLS),
    *substitute(figure_parser, ("A figure.",), {}, 0, [(3, TypeError), (1j, TypeError)]),
    *substitute(run_figure_cli, (driver, "A figure."), {"argv": []}, 0, [(None, TypeError)]),
    *substitute(run_figure_cli, (driver, "A figure."), {"argv": []}, 1, [(3, TypeError)]),
    *substitute(run_figure_cli, (driver, "A figure."), {"argv": []}, "argv",
                [("--quick", TypeError), (3, TypeError), ([3], TypeError)]),
    *substitute(resolve_figures, (["scurves"],), {}, 0, [(3, TypeError), ([3], TypeError),
                                                        (["bounds"], ValueError)]),
    *substitute(make_figures, (HERE / "m",), ONE_FIGURE, 0, FOLDERS),
    *substitute(make_figures, (HERE / "m",), ONE_FIGURE, "report", [(3, TypeError)]),
    *substitute(cli.main, ([],), {}, 0, [("--help", TypeError), (3, TypeError)]),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, name", CASES)
def test_bad_input(fn, args, kwargs, exc, name):
    check_bad_input(fn, args, kwargs, exc, name)
