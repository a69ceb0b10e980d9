"""The one progress bar of the toolkit: tqdm with an ETA, shown only where someone is watching.

Every long-running public function takes ``progress=`` and hands it to
:func:`progress_bar`:

* ``"auto"`` (the default): a bar on standard error only when standard error is
  a terminal, so logs, pipes, CI and notebooks stay clean;
* ``True``: always (e.g. a notebook that wants one); ``False``: never.

The environment variable ``PACKING_PROGRESS=0`` silences ``"auto"`` bars
everywhere (``PACKING_PROGRESS=1`` shows them even without a terminal); the
command line's ``--quiet`` passes ``progress=False``.

The bar costs next to nothing per step: a disabled bar is a do-nothing object,
and an enabled one hands tqdm its accumulated count only every ``every`` calls
and at most every 0.1 s, whichever is rarer.

Examples
--------
>>> with progress_bar(1000, desc="steps", progress=False) as bar:
...     for _ in range(1000):
...         bar.update()
>>> bar.n
0
>>> check_progress("yes")
Traceback (most recent call last):
...
TypeError: progress must be True, False or 'auto'; got str 'yes'.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from ._validation import _describe

__all__: list[str] = []  # private: callers take ``progress=`` and use progress_bar

#: Seconds between two redraws of a bar.
MIN_INTERVAL = 0.1
#: Seconds a bar waits before it first appears (short calls stay silent).
DELAY = 0.5


def check_progress(progress, name: str = "progress") -> bool | str:
    """Return ``progress`` if it is ``True``, ``False`` or ``"auto"``; raise naming ``name`` otherwise."""
    if progress is True or progress is False or (isinstance(progress, str) and progress == "auto"):
        return progress
    if type(progress).__name__ == "bool_":  # numpy bool
        return bool(progress)
    raise TypeError(f"{name} must be True, False or 'auto'; got {_describe(progress)}.")


def wants_bar(progress) -> bool:
    """Whether ``progress`` (already checked) asks for a visible bar here and now."""
    if progress != "auto":
        return bool(progress)
    env = os.environ.get("PACKING_PROGRESS", "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


class _NullBar:
    """A disabled bar: every method does nothing."""

    n = 0

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def set(self, value) -> None:
        """Do nothing."""

    def note(self, **info) -> None:
        """Do nothing."""


class _Bar:
    """A tqdm bar fed in batches: the count is handed over every ``every`` calls and at most every 0.1 s."""

    def __init__(self, bar, every: int):
        self._bar, self._every = bar, max(1, int(every))
        self._pending = 0
        self._calls = 0
        self._last = time.monotonic()
        self.n = 0

    def update(self, n: int = 1) -> None:
        """Advance by ``n``."""
        self._pending += n
        self._calls += 1
        if self._calls >= self._every:
            self._calls = 0
            now = time.monotonic()
            if now - self._last >= MIN_INTERVAL:
                self._last = now
                self._flush()

    def set(self, value) -> None:
        """Move to ``value`` (for bars whose total is a time budget or a known position)."""
        self._pending = 0
        value = min(value, self._bar.total) if self._bar.total is not None else value
        if value > self._bar.n:  # through update(), so that tqdm knows the bar is on screen
            self._bar.update(value - self._bar.n)
        self.n = value

    def note(self, **info) -> None:
        """Show ``key=value`` pairs after the bar (e.g. the best objective so far)."""
        self._bar.set_postfix(info, refresh=False)

    def _flush(self) -> None:
        if self._pending:
            self._bar.update(self._pending)
            self.n += self._pending
            self._pending = 0

    def close(self) -> None:
        self._flush()
        self._bar.close()


@contextlib.contextmanager
def progress_bar(
    total, *, desc: str, progress="auto", unit: str = "it", every: int = 1, leave: bool = False, delay=None
) -> Iterator[_Bar | _NullBar]:
    """Yield a bar with ``update(n=1)``, ``set(value)`` and ``note(**info)``; a no-op when not wanted.

    Parameters
    ----------
    total : int, float or None
        The count (or seconds) at completion; ``None`` for an open-ended bar.
    desc : str
        What is being counted, shown before the bar.
    progress : True, False or "auto"
        Already checked with :func:`check_progress` by the public caller.
    unit : str
    every : int
        Hand the count to tqdm only every ``every`` calls (per-step loops pass
        a few hundred so that the bar costs one integer add per step).
    leave : bool
        Keep the finished bar on screen (library bars vanish; the command line's
        outer bars stay).
    delay : float, optional
        Seconds before the bar first appears (default :data:`DELAY`): calls
        shorter than that stay silent.
    """
    if not wants_bar(progress):
        yield _NullBar()
        return
    from tqdm import tqdm  # deferred: importing packing does not import tqdm

    # a bar over a time budget counts seconds: show "0.4/1.0 s", not a rate in s/s
    fmt = "{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}{postfix}]" if unit == "s" else None
    bar = _Bar(
        tqdm(
            total=total,
            bar_format=fmt,
            desc=desc,
            unit=unit,
            leave=leave,
            mininterval=MIN_INTERVAL,
            delay=DELAY if delay is None else delay,
            dynamic_ncols=True,
            file=sys.stderr,
        ),
        every,
    )
    try:
        yield bar
    finally:
        bar.close()


def echo(text: str) -> None:
    """Print a line on standard output without tearing a progress bar that is on screen."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stdout)
