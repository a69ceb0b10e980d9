"""The bad-input fuzzer (scripts/fuzz_bad_inputs.py) on a fixed sample, so that its audit runs with the suite.

The whole fuzz (every bad value of every argument of every public callable, about
16,000 cases) takes minutes; this runs its good calls (every public callable, result
method and loader format) and one bad value per argument, drawn by a generator seeded
with the callable's list of cases: about 1,200 cases, the same ones every run, in
about 15 s. The fuzzer classifies each outcome (:func:`classify`); a flag that its
triaged list (``TRIAGED``) does not hold fails the test: say another exception than
TypeError/ValueError, an error that does not name the argument, garbage accepted, a
NaN result or a time-out. Slowness alone is not a flag here (``+SLOW`` is dropped).
"""

import collections
import random

import pytest
from helpers import load_script

import packing

fuzz = load_script("fuzz_bad_inputs")

#: Seed of the sample (with each callable's own list of cases).
SEED = 0
#: Seconds a call may take before it counts as a hang (generous: the machine may be loaded).
SECONDS = 60.0


def one_per_argument(cases: list) -> list:
    """One bad value per argument, drawn by a generator seeded with the callable's cases."""
    rng = random.Random(f"{SEED}|" + "|".join(f"{case[0]}:{case[1]}" for case in cases))
    by_argument = collections.defaultdict(list)
    for case in cases:
        by_argument[case[0]].append(case)
    return [rng.choice(group) for group in by_argument.values()]


@pytest.fixture(scope="module")
def public():
    names = fuzz.public_callables(packing)
    names[fuzz._atomic_write] = "atomic_write"  # noqa: SLF001 (the fuzzer's wrapper of a context manager)
    return names


@pytest.fixture(scope="module")
def sample(public):
    results, _ = fuzz.fuzz_public(packing, public, SECONDS, pick=one_per_argument)
    return results


def test_the_sample_reaches_every_public_callable(sample, public):
    fuzzed = {r["fn"].split("@")[0] for r in sample if r["kind"] == "good-call"}
    assert set(public.values()) <= fuzzed, sorted(set(public.values()) - fuzzed)
    cases = [r for r in sample if r["kind"] != "good-call"]
    assert len(cases) >= 1000, len(cases)  # one per argument of each of about 260 callables


def test_the_sample_raises_no_flag_that_is_not_triaged(sample):
    new = fuzz.unexpected(sample, slow=False)
    lines = [f"{r['fn']} {r['param']} {r['label']}: {r['kind']} {r.get('msg', '')} {r.get('where', '')}"
             for r in new]
    assert not new, "flags not in scripts/fuzz_bad_inputs.py's TRIAGED:\n" + "\n".join(lines)
