"""The processes renders run in, shared by every server of a process. Only the standard library and the render's
plain request types here: a render process imports this module to start and the render code with its first
job, so starting one is cheap (figures in docs/dev/benchmarks.md)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from mock_server.render_request import Rendered, RenderRequest

# How much lower than the server's the renders' scheduling priority is (nice(2) steps, 0-19), where the idle
# scheduling class is not available.
RENDER_NICENESS = 15


def render_pool(workers: int) -> ProcessPoolExecutor:
    """Processes of their own for renders, at a lower priority. A render holds the interpreter for much of its
    work: in a thread it slowed every request; in a process at normal priority it still took the cores from
    the event loop. At idle priority (SCHED_IDLE on Linux, else niced), it takes what the requests leave
    (docs/dev/benchmarks.md). The processes are started fresh ("spawn": safe beside the server's threads) when
    a render first needs them, shared by every server of this process that asks for as many, and end when it
    ends, even when it is killed."""
    if workers not in _POOLS:
        context = multiprocessing.get_context("spawn")
        _POOLS[workers] = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_render_process_setup, initargs=(os.getpid(),)
        )
    return _POOLS[workers]


def run_render(request: RenderRequest) -> Rendered:
    """What a render process runs. The render code is imported here, in the render process with its first job:
    the server that submits the job never loads PyAV or numpy."""
    from mock_server.render import render

    return render(request)


def _render_process_setup(server: int) -> None:
    try:  # Linux: run only on cores nothing else wants
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # no such class here, or a sandbox refuses it
        os.nice(RENDER_NICENESS)
    # A worker holds both ends of its work queue, so a killed server would not end it: it watches instead.
    threading.Thread(target=_exit_without, args=(server,), name="watch-server", daemon=True).start()


def _exit_without(server: int) -> None:
    while os.getppid() == server:
        time.sleep(1)
    os._exit(0)


_POOLS: dict[int, ProcessPoolExecutor] = {}


def replace_render_pool(broken: ProcessPoolExecutor, workers: int) -> ProcessPoolExecutor:
    """A new pool in place of a broken one (the first server to notice replaces it for all)."""
    if _POOLS.get(workers) is broken:
        del _POOLS[workers]
        broken.shutdown(wait=False, cancel_futures=True)
    return render_pool(workers)
