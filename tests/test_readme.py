"""The README's Python examples run, top to bottom, in one namespace, and print what the README says.

Every ```python block of the README is an interactive session (``>>>`` lines and
the answers); they are run in order as doctests in one shared namespace, and
every answer is compared (``...`` stands for left-out digits or lines,
whitespace is normalised). A block without ``>>>`` would run unchecked, so none
is allowed.
"""

import doctest
import os
import re
from pathlib import Path

import matplotlib
import pytest

from packing.figures import FIGURES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(tag=""):
    """``[(first line number, text)]`` of every python block (``tag="torch"``: the ```python torch ones)."""
    text = README.read_text()
    found = re.finditer(rf"```python{' ' + tag if tag else ''}\n(.*?)```", text, flags=re.S)
    return [(text.count("\n", 0, m.start(1)), m.group(1)) for m in found]


def run_sessions(found, globs):
    """Run ``found`` blocks as doctests in one namespace; return (runner, report, number of examples)."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    examples = 0
    for i, (line, block) in enumerate(found):
        test = parser.get_doctest(block, globs, f"README.md[python block {i}]", str(README), line)
        examples += len(test.examples)
        runner.run(test, out=report.append, clear_globs=False)
        globs = test.globs  # the next block continues in the same namespace
    return runner, report, examples


def test_every_python_block_is_a_checked_session():
    found = blocks()
    assert len(found) >= 7
    for i, (_, block) in enumerate(found):
        lines = [line for line in block.splitlines() if line.strip()]
        assert lines and lines[0].startswith(">>> "), f"README python block {i} is not a >>> session"


def test_readme_examples_print_what_the_readme_says(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    runner, report, examples = run_sessions(blocks(), {"__name__": "__readme__"})
    assert runner.failures == 0, "".join(report)
    assert examples == runner.tries >= 30
    parser = doctest.DocTestParser()
    answers = [e for _, block in blocks() for e in parser.get_examples(block) if e.want]
    assert len(answers) >= 20  # values compared, not just code run


def test_the_pytorch_example_is_near_the_top_and_its_numpy_path_runs():
    text = README.read_text()
    heading = text.index("## Analyse your own PyTorch model")
    assert heading < text.index("## A first look") and heading < len(text) // 4
    # the numpy path of that section is an ordinary python block, run by the test above
    section = text[heading : text.index("\n## ", heading + 1)]
    assert 'layout="hidden_by_features"' in section and "```python\n" in section


def test_the_pytorch_example_trains_a_torch_model_when_torch_is_installed(tmp_path, monkeypatch):
    found = blocks("torch")
    assert len(found) == 1 and "torch.nn.Linear" in found[0][1]
    pytest.importorskip("torch", reason="the PyTorch example needs torch (pip install torch)")
    monkeypatch.chdir(tmp_path)
    runner, report, _ = run_sessions(found, {"__name__": "__readme__"})
    assert runner.failures == 0, "".join(report)


def test_every_figure_is_listed_and_the_embedded_ones_exist():
    text = README.read_text()
    table = text[text.index("## Figures") :]
    for name in FIGURES:
        assert f"`{name}`" in table, f"README's figure list misses {name}"
    embedded = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert 2 <= len(embedded) <= 3
    outputs = {o for d in FIGURES.values() for o in d.outputs}
    makefile = (ROOT / "Makefile").read_text()
    for path in embedded:
        # a small committed copy of a figure that make figures writes, and the make target that refreshes it
        assert path.startswith("docs/figures/") and (ROOT / path).is_file(), path
        assert Path(path).stem in outputs and Path(path).name in makefile
        assert (ROOT / path).stat().st_size < 400_000


def test_no_path_outside_the_repository():
    """No path in the README climbs out of the repository (a user's clone has nothing beside it)."""
    parent = re.escape(os.pardir) + r"[/\\]"
    assert not re.search(parent, README.read_text())
