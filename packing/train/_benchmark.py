"""What the trainer benchmarks share: a step loop to time, its profile by phase, interleaved timing.

``scripts/bench_trainer.py`` (the toy model against PyTorch) and
``scripts/bench_monosemanticity.py`` (the engineered-monosemanticity model)
time a trainer's own :class:`~packing.train._optim.TrainingLoop` step by step;
this module holds the parts they have in common. Nothing here is public.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

__all__: list[str] = []


class LoopBench:
    """A training loop to benchmark: :meth:`run` takes steps, :meth:`profile` times their phases.

    Subclasses build a kernel and set ``self.loop`` (a
    :class:`~packing.train._optim.TrainingLoop` whose ``loss_and_grad`` calls
    ``kernel.loss_and_grad(self.tick)``), ``self.threads`` (the BLAS threads of
    its steps) and ``self.max_steps`` (the loop's history length).
    """

    tick = None
    threads = 1
    #: The label of the time a step spends outside the kernel's phases.
    rest = "optimizer and loop"

    def run(self, n_steps: int) -> None:
        """Take ``n_steps`` steps (the loop's history wraps around: it is only a benchmark)."""
        with self.loop.running(self.threads):
            for _ in range(n_steps):
                if self.loop.t == self.max_steps:
                    self.loop.t = 0
                self.loop.step()

    def profile(self, n_steps: int) -> dict[str, float]:
        """Thread CPU seconds per step by phase (one worker): the kernel's ticks, then :attr:`rest`."""
        acc, last = defaultdict(float), [0.0]

        def tick(label):
            now = time.thread_time()
            acc[label] += now - last[0]
            last[0] = now

        self.tick = tick
        try:
            with self.loop.running(1):
                for _ in range(n_steps):
                    if self.loop.t == self.max_steps:
                        self.loop.t = 0
                    last[0] = time.thread_time()
                    self.loop.step()
                    tick(self.rest)
        finally:
            self.tick = None
        return {key: value / n_steps for key, value in acc.items()}


def measure(contenders: dict, rounds: int, seconds: float) -> tuple[dict, dict]:
    """Time callables ``run(n_steps)`` in interleaved rounds of about ``seconds`` each.

    Each contender is warmed up (one step, then one timed step sets its number of
    steps per round); then every round runs each contender in turn, so load from
    other processes hits them alike. Returns the medians over the rounds of wall
    and of thread-CPU seconds per step, ``({key: wall}, {key: cpu})``.
    """
    n_steps = {}
    for key, run in contenders.items():
        run(1)  # warm up (threads, buffers, first touch)
        t = time.perf_counter()
        run(1)
        n_steps[key] = max(1, int(seconds / max(time.perf_counter() - t, 1e-6)))
    wall, cpu = defaultdict(list), defaultdict(list)
    for _ in range(rounds):
        for key, run in contenders.items():
            t, tc = time.perf_counter(), time.thread_time()
            run(n_steps[key])
            wall[key].append((time.perf_counter() - t) / n_steps[key])
            cpu[key].append((time.thread_time() - tc) / n_steps[key])
    return (
        {key: float(np.median(v)) for key, v in wall.items()},
        {key: float(np.median(v)) for key, v in cpu.items()},
    )


def breakdown(profile: dict[str, float]) -> str:
    """``"phase p%, ..."`` of a :meth:`LoopBench.profile` result, phases sorted by name."""
    total = sum(profile.values())
    return ", ".join(f"{key} {100 * value / total:.0f}%" for key, value in sorted(profile.items()))
