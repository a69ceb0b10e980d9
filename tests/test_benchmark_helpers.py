"""The timing helpers the benchmark scripts share (packing.train._benchmark)."""

import numpy as np

from packing.train._benchmark import LoopBench, breakdown, measure


def test_measure_interleaves_the_contenders_and_reports_per_step_medians():
    calls = []

    def contender(name):
        def run(n_steps):
            calls.append((name, n_steps))
            np.linalg.eigvalsh(np.eye(60) * n_steps)  # some CPU work, more for more steps

        return run

    wall, cpu = measure({"a": contender("a"), "b": contender("b")}, rounds=3, seconds=0.001)
    assert set(wall) == set(cpu) == {"a", "b"}
    assert all(v > 0 for v in (*wall.values(), *cpu.values()))
    timed = [name for name, _ in calls[4:]]  # after each contender's warm-up and calibration step
    assert timed == ["a", "b"] * 3  # rounds alternate, so load hits both alike


class _Loop:
    """A stand-in TrainingLoop: each step calls the bench's tick for two phases."""

    def __init__(self, bench):
        self.t, self.bench = 0, bench

    def running(self, threads):
        import contextlib

        return contextlib.nullcontext(self)

    def step(self):
        tick = self.bench.tick or (lambda label: None)  # as a kernel: no tick outside profile()
        np.linalg.eigvalsh(np.eye(80))
        tick("first")
        np.linalg.eigvalsh(np.eye(80))
        tick("second")
        self.t += 1
        return True


def test_profile_attributes_each_phase_and_the_rest_and_wraps_the_history():
    bench = LoopBench()
    bench.max_steps = 3
    bench.loop = _Loop(bench)
    prof = bench.profile(7)
    assert set(prof) == {"first", "second", LoopBench.rest}
    assert prof["first"] > 0 and prof["second"] > 0 and prof[LoopBench.rest] >= 0
    assert bench.loop.t <= 3 and bench.tick is None  # wrapped at max_steps; tick removed afterwards
    bench.run(5)
    assert bench.loop.t <= 3
    text = breakdown({"b": 1.0, "a": 3.0})
    assert text == "a 75%, b 25%"
