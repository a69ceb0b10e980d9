"""Shared test configuration: hypothesis profiles and paths."""

import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# `HYPOTHESIS_PROFILE=thorough` (see the README): at least 500 examples per property.
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def default_sigint():
    """Ctrl-C as a terminal delivers it, even when the test runner was started with SIGINT ignored.

    A job started in the background by a shell inherits an ignored SIGINT; tests that send
    SIGINT to their own process need Python's default handler, which turns it into
    KeyboardInterrupt (or, inside a trainer, into a request to stop after the step).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
