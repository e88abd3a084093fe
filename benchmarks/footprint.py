"""What the mock keeps and does per task beyond answering it, measured in this process: the figures behind
the store's rows, the render queue and the expiry sweep (docs/dev/benchmarks.md, "Plain rather than clever").

    .venv/bin/python -m benchmarks.footprint [--tasks 100000]

- Objects the garbage collector tracks per stored task (memory store) and per queued render, and the longest
  full collection with --tasks tasks stored, beside the anchor of the same tasks kept as `Task`s.
- asyncio tasks per queued render: a backlog waits as rows, not as coroutines.
- Store reads for a poll, at --processing-rate 0, of a task whose render is done.
- What a sweep costs the event loop with --tasks renders queued (copying the queue's index), the thread's
  working out of what they refer to, and how often a sweep works it out when nothing / something can expire.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import statistics
import time
import uuid

from aiohttp import web

from contract_tests.payloads import MEDIA_DIR, data_uri, example_task
from mock_server.app import create_dispatcher
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.processing import InUse
from mock_server.store import InMemoryTaskStore, Media, Result, Task


def stored_task(number: int, created_at: float = 0.0) -> Task:
    results = [Result(f"v{number}a", 1, 10.0, 70.0, None, None), Result(f"v{number}b", 2, 10.0, 70.0, None, None)]
    inputs = {"video": f"m{number}", "audio": f"a{number}"}
    request = json.dumps({**example_task(), "inputs": inputs, "providerSettings": {"sync": {"syncMode": "loop"}}})
    return Task.create(f"t{number}", "MP4", request, created_at, results, "http://mock.test")


def tracked_objects() -> int:
    for _ in range(3):  # a collection untracks tuples of untracked values, innermost first
        gc.collect()
    return len(gc.get_objects())


def longest_full_collection_ms() -> float:
    tracked_objects()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return max(times)


def store_figures(tasks: int) -> None:
    store = InMemoryTaskStore()
    before = tracked_objects()
    for number in range(tasks):
        store.add(stored_task(number))
    per_task = (tracked_objects() - before) / tasks
    rows_ms = longest_full_collection_ms()
    as_tasks = {task.task_uuid: task for task in store.all_tasks()}  # the anchor: the same tasks as named tuples
    tasks_ms = longest_full_collection_ms()
    print(f"store: {per_task:.3f} tracked objects per stored task ({tasks} stored)")
    print(f"store: longest full collection {rows_ms:.2f} ms as rows; {tasks_ms:.2f} ms with them also as Tasks")
    del as_tasks


def sweep_figures(tasks: int) -> None:
    running = {f"t{number}": stored_task(number).row() for number in range(tasks)}
    copies = []
    for _ in range(5):
        started = time.perf_counter()
        in_use = InUse(dict(running))  # what TaskRunner.in_use does on the loop
        copies.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    names = len(in_use.names)  # what the sweep's thread does, when something could expire
    worked_out_ms = (time.perf_counter() - started) * 1000
    print(f"sweep: {statistics.median(copies):.1f} ms on the loop with {tasks} renders queued;")
    print(f"sweep: {worked_out_ms:.0f} ms in its thread to work out the {names} names they refer to")

    class Counted(InUse):
        worked_out = 0

        @functools.cached_property
        def names(self) -> frozenset[str]:
            Counted.worked_out += 1
            return super().names

    store = InMemoryTaskStore()
    store.add(stored_task(0, created_at=55.0))  # its results expire at 70
    store.expire(60.0, 50.0, Counted({}))
    nothing = Counted.worked_out
    store.add(stored_task(1, created_at=0.0))
    store.add_media("m-old", Media(b"x", "audio/wav"), 0.0)
    store.expire(110.0, 50.0, Counted({"t0": running["t0"]}))
    something = Counted.worked_out - nothing
    print(f"sweep: what is in use worked out {nothing} times with nothing to expire, {something} with three things")


async def serve_gated(gate: asyncio.Event) -> tuple[web.AppRunner, str]:
    async def video(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(body=MEDIA_DIR.joinpath("speaker.mp4").read_bytes(), content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/speaker.mp4", video)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/speaker.mp4"


async def submit(target: TaskDispatcher, video: str, count: int) -> list[str]:
    uuids = [str(uuid.uuid4()) for _ in range(count)]
    tasks = [
        {**example_task(), "taskUUID": u, "inputs": {"video": video, "audio": data_uri("voice.wav")}} for u in uuids
    ]
    reply = await target.handle(json.dumps(tasks).encode(), bearer_key="key", base_url="http://mock.test")
    assert reply.status == 200, reply.text
    return uuids


async def backlog_figures() -> None:
    gate = asyncio.Event()
    media, video = await serve_gated(gate)
    # One render process: two jobs fetch or render at once, the rest wait.
    target = create_dispatcher(Settings(processing_rate=1, api_keys=("key",), render_workers=1))
    await submit(target, video, 10)
    await asyncio.sleep(0.2)  # the two running jobs reach the media host
    tasks_before, tracked_before = len(asyncio.all_tasks()), tracked_objects()
    for _ in range(2):  # at most 100 tasks a request
        await submit(target, video, 100)
    tasks_after, tracked_after = len(asyncio.all_tasks()), tracked_objects()
    print(f"backlog: {(tasks_after - tasks_before) / 200:.3f} asyncio tasks per queued render")
    print(f"backlog: {(tracked_after - tracked_before) / 200:.3f} tracked objects per queued render")
    target.reset()
    gate.set()
    await target.runner.close()

    target = create_dispatcher(Settings(processing_rate=0, api_keys=("key",), render_workers=1))
    (task_uuid,) = await submit(target, data_uri("speaker.mp4"), 1)
    poll = json.dumps([{"taskType": "getResponse", "taskUUID": task_uuid}]).encode()
    await target.handle(poll, bearer_key="key", base_url="http://mock.test")  # waits for the render
    reads: list[str] = []
    read = target.store.get

    def counted_read(task_uuid: str) -> Task | None:
        reads.append(task_uuid)
        return read(task_uuid)

    target.store.get = counted_read  # type: ignore[method-assign]
    await target.handle(poll, bearer_key="key", base_url="http://mock.test")
    print(f"poll: {len(reads)} store read(s) for a poll of a finished task at rate 0")
    await target.runner.close()
    await media.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    gc.freeze()  # as the command line does once it has started: what start-up made is no longer visited
    store_figures(args.tasks)
    sweep_figures(args.tasks)
    asyncio.run(backlog_figures())


if __name__ == "__main__":
    main()
