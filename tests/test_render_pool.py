from __future__ import annotations

import os
import sys
from concurrent.futures.process import BrokenProcessPool

import pytest

from mock_server.render_pool import render_pool, replace_render_pool


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="the idle scheduling class is Linux's")
def test_renders_run_at_idle_priority():
    # Renders take only the cores requests leave: at normal priority they halved the request throughput.
    assert render_pool(1).submit(os.sched_getscheduler, 0).result(timeout=60) == os.SCHED_IDLE


def loaded_modules() -> list[str]:
    return sorted(sys.modules)


def test_a_render_process_starts_without_the_server():
    # A process starts with this module only and gets the render code with its first job. The pool is replaced
    # so that its processes are new.
    fresh = replace_render_pool(render_pool(1), 1)
    loaded = fresh.submit(loaded_modules).result(timeout=60)
    assert [name for name in loaded if name.startswith("mock_server")] == [
        "mock_server",
        "mock_server.render_pool",
        "mock_server.render_request",
    ]


def test_a_broken_render_pool_is_replaced():
    pool = render_pool(1)
    with pytest.raises(BrokenProcessPool):
        pool.submit(os._exit, 1).result(timeout=60)  # a render process dies
    fresh = replace_render_pool(pool, 1)
    assert fresh is not pool and fresh is render_pool(1)
    assert fresh.submit(abs, -3).result(timeout=60) == 3
