"""The README's Python examples run, top to bottom, in one namespace, and print what the README says.

Every ```python block of the README is an interactive session (``>>>`` lines and
the answers); they are run in order as doctests in one shared namespace, and
every answer is compared (``...`` stands for left-out digits or lines,
whitespace is normalised). A block without ``>>>`` would run unchecked, so none
is allowed.
"""

import doctest
import re
from pathlib import Path

import matplotlib

README = Path(__file__).resolve().parents[1] / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks():
    """``[(first line number, text)]`` of every python block."""
    text = README.read_text()
    found = re.finditer(r"```python\n(.*?)```", text, flags=re.S)
    return [(text.count("\n", 0, m.start(1)), m.group(1)) for m in found]


def test_every_python_block_is_a_checked_session():
    found = blocks()
    assert len(found) >= 7
    for i, (_, block) in enumerate(found):
        lines = [line for line in block.splitlines() if line.strip()]
        assert lines and lines[0].startswith(">>> "), f"README python block {i} is not a >>> session"


def test_readme_examples_print_what_the_readme_says(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    globs = {"__name__": "__readme__"}
    report = []
    examples = 0
    for i, (line, block) in enumerate(blocks()):
        test = parser.get_doctest(block, globs, f"README.md[python block {i}]", str(README), line)
        examples += len(test.examples)
        runner.run(test, out=report.append, clear_globs=False)
        globs = test.globs  # the next block continues in the same namespace
    assert runner.failures == 0, "".join(report)
    assert examples == runner.tries >= 30
    answers = [e for _, block in blocks() for e in parser.get_examples(block) if e.want]
    assert len(answers) >= 20  # values compared, not just code run
