"""The pieces of a parallel :func:`packing.optimize_packing` that its worker processes share.

A parallel search runs independent searches (their own random streams, a share
of the queued starts and of ``restarts``) in worker processes and keeps the
best. The workers stop at their budget, after their restarts, or when the
calling process sets the :class:`StopSignal`: a file in a fresh temporary
folder that the workers look for between restarts and, at most every
:data:`POLL_SECONDS`, inside a restart's stages (through
:class:`SignalledDeadline`). The caller sets it when one worker has reached
the lower bound (the others cannot do better), on Ctrl-C, and on an error.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from ._stages import Deadline

#: Seconds between two looks for the stop file inside a restart's stages.
POLL_SECONDS = 0.05


class StopSignal:
    """A stop flag visible to other processes: the existence of a file in a private folder."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen = False
        self._next = -math.inf

    @classmethod
    def create(cls) -> StopSignal:
        """Return a new signal, not set, in a fresh temporary folder (remove it with :meth:`remove`)."""
        return cls(os.path.join(tempfile.mkdtemp(prefix="packing-search-"), "stop"))

    def set(self) -> None:
        """Tell every worker to stop (creating an empty file is atomic)."""
        try:
            with open(self.path, "x"):
                pass
        except FileExistsError:
            pass
        self._seen = True

    def is_set(self) -> bool:
        """Whether the signal has been set or removed (looks at the disk at most every ``POLL_SECONDS``).

        A removed signal counts as set: a worker still running when its search has
        returned (an abort that left it running, see ``driver._abort``) stops too.
        """
        if not self._seen:
            now = time.perf_counter()
            if now >= self._next:
                self._next = now + POLL_SECONDS
                self._seen = os.path.exists(self.path) or not os.path.isdir(os.path.dirname(self.path))
        return self._seen

    def remove(self) -> None:
        """Delete the signal's folder (the caller's, once its search returns or raises): it reads as set."""
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)

    def __reduce__(self):  # a worker gets the path, not the caller's cached state
        return (StopSignal, (self.path,))


@dataclass(frozen=True)
class SignalledDeadline(Deadline):
    """A :class:`Deadline` that has also passed once the search's :class:`StopSignal` is set."""

    signal: StopSignal | None = None

    def passed(self) -> bool:
        return super().passed() or (self.signal is not None and self.signal.is_set())
