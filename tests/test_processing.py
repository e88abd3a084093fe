"""The task runner: a backlog of renders waits in a queue, a reset drops queued work, a poll waits for queued work."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import pytest
from aiohttp import web

from contract_tests.payloads import MEDIA_DIR, data_uri, example_task
from mock_server.app import create_dispatcher
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.processing import render_pool
from tests.test_store import tracked_objects_after_collecting


@pytest.fixture
async def gated_video(aiohttp_server):
    """A loopback URL whose video is sent only once the gate (the fixture's event) opens: renders held queued."""
    gate = asyncio.Event()

    async def video(request: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(body=MEDIA_DIR.joinpath("speaker.mp4").read_bytes(), content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/speaker.mp4", video)
    server = await aiohttp_server(app)
    return str(server.make_url("/speaker.mp4")), gate


def runner_dispatcher(rate: float = 1.0) -> TaskDispatcher:
    # One render process: two jobs fetch or render at once, the rest wait.
    return create_dispatcher(Settings(processing_rate=rate, api_keys=("key",), render_workers=1))


async def submit(target: TaskDispatcher, video: str, count: int, namespace: str = "") -> list[str]:
    uuids = [str(uuid.uuid4()) for _ in range(count)]
    tasks = [
        {**example_task(), "taskUUID": u, "inputs": {"video": video, "audio": data_uri("voice.wav")}} for u in uuids
    ]
    reply = await target.handle(
        json.dumps(tasks).encode(), bearer_key="key", base_url="http://mock.test", namespace=namespace
    )
    assert reply.status == 200, reply.text
    return uuids


async def outcome(target: TaskDispatcher, task_uuid: str, namespace: str = "") -> tuple[int, list[str]]:
    body = json.dumps([{"taskType": "getResponse", "taskUUID": task_uuid}]).encode()
    reply = await target.handle(body, bearer_key="key", base_url="http://mock.test", namespace=namespace)
    return reply.status, [item["status"] for item in reply.body.get("data", [])]


async def test_a_backlog_waits_as_tasks_not_as_coroutines(gated_video):
    video, gate = gated_video
    target = runner_dispatcher()
    before = len(asyncio.all_tasks())
    uuids = await submit(target, video, 30)
    await asyncio.sleep(0.2)  # the two running jobs reach the media host
    # Two jobs and what their downloads start on the loopback host; a coroutine per task would be 30 more.
    assert len(asyncio.all_tasks()) - before <= 8
    assert target.runner.in_use()() >= set(uuids)  # queued work is still work in use
    gate.set()
    await target.runner.idle()
    for task_uuid in uuids:
        assert (await outcome(target, task_uuid))[0] == 200
    assert target.runner.in_use()() == frozenset()
    await target.runner.close()


async def test_a_backlog_is_no_objects_for_the_garbage_collector_to_visit(gated_video):
    video, gate = gated_video
    target = runner_dispatcher()
    await submit(target, video, 10)
    await asyncio.sleep(0.2)  # the two running jobs reach the media host
    before = tracked_objects_after_collecting()
    for _ in range(2):
        await submit(target, video, 100)
    # Each submission leaves garbage the collector frees; what stays is a row of plain values per task.
    assert tracked_objects_after_collecting() - before < 20
    target.reset()  # the backlog is not rendered: a reset drops it
    gate.set()
    await target.runner.close()


async def test_a_reset_drops_queued_work_which_never_runs(gated_video):
    video, gate = gated_video
    target = runner_dispatcher()
    kept = await submit(target, video, 3, namespace="keep")
    dropped = await submit(target, video, 3, namespace="drop")
    target.reset("drop")
    gate.set()
    await target.runner.idle()
    for task_uuid in dropped:
        assert (await outcome(target, task_uuid, "drop"))[0] == 404  # not brought back by a finished render
    for task_uuid in kept:
        assert (await outcome(target, task_uuid, "keep"))[0] == 200
    target.reset()
    assert target.runner.in_use()() == frozenset()
    await target.runner.close()


async def test_a_poll_at_rate_zero_waits_for_queued_work(gated_video):
    video, gate = gated_video
    target = runner_dispatcher(rate=0)
    last = (await submit(target, video, 5))[-1]  # behind four others
    asyncio.get_running_loop().call_later(0.3, gate.set)
    assert await outcome(target, last) == (200, ["success"])
    await target.runner.close()


async def test_a_poll_at_rate_zero_reads_a_finished_task_once(gated_video, monkeypatch):
    video, gate = gated_video
    target = runner_dispatcher(rate=0)
    (task_uuid,) = await submit(target, video, 1)
    gate.set()
    assert await outcome(target, task_uuid) == (200, ["success"])  # waited for the render, then read it again
    reads = []
    read = target.store.get
    monkeypatch.setattr(target.store, "get", lambda wanted: reads.append(wanted) or read(wanted))
    assert await outcome(target, task_uuid) == (200, ["success"])
    assert reads == [task_uuid]  # no work left: its stored state is final
    await target.runner.close()


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="the idle scheduling class is Linux's")
def test_renders_run_at_idle_priority():
    # Renders take only the cores requests leave: at normal priority they halved the request throughput.
    assert render_pool(1).submit(os.sched_getscheduler, 0).result(timeout=60) == os.SCHED_IDLE
