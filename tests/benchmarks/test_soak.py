"""A small soak run in CI: with chaos on, every acknowledged task still reaches a terminal state."""

from __future__ import annotations

import asyncio

from benchmarks.soak import soak
from mock_server.config import Settings
from mock_server.testing import BackgroundServer


def test_a_soak_run_with_chaos_leaves_no_task_behind():
    settings = Settings(api_keys=("soak-key",), chaos=0.1, seed=3, processing_rate=0.02)
    with BackgroundServer(settings) as mock:
        report = asyncio.run(soak(mock.base_url, tasks=80, pollers=8, budget=120))
    assert report.not_terminal == 0
    assert report.succeeded >= 75 and report.failed == 0
    assert report.faults_seen > 0, "the chaos never struck: nothing was tested"
