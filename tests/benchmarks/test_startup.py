"""The start-up benchmark's measure: from starting a process to its first /health answer."""

from __future__ import annotations

import sys

import pytest

from benchmarks.processes import free_port
from benchmarks.startup import seconds_to_health


def test_a_server_is_timed_until_it_answers():
    port = free_port()
    seconds = seconds_to_health([sys.executable, "benchmarks/bare_server.py", "--port", str(port)], port)
    assert 0 < seconds < 30


def test_a_process_that_never_answers_is_said_not_to_have_started():
    port = free_port()
    with pytest.raises(RuntimeError, match="did not start"):
        seconds_to_health([sys.executable, "-c", "pass"], port)
