"""The task runner: a backlog of renders waits in a queue, a reset drops queued work, a poll waits for queued work."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import web
from yarl import URL

from contract_tests.payloads import MEDIA_DIR, data_uri, example_task
from mock_server.app import create_app, create_dispatcher
from mock_server.config import FrameSize, Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.http.app_keys import DISPATCHER


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


async def test_queued_work_is_in_use_until_it_is_done(gated_video):
    video, gate = gated_video
    target = runner_dispatcher()
    uuids = await submit(target, video, 5)  # two jobs at once: three wait queued
    assert set(target.runner.in_use()) >= {*uuids, video.lower()}  # queued work and what it names are in use
    gate.set()
    await target.runner.idle()
    for task_uuid in uuids:
        assert (await outcome(target, task_uuid))[0] == 200
    assert set(target.runner.in_use()) == set()
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
        assert await outcome(target, task_uuid, "drop") == (200, [])  # not found: not brought back by a render
    for task_uuid in kept:
        assert (await outcome(target, task_uuid, "keep"))[0] == 200
    target.reset()
    assert set(target.runner.in_use()) == set()
    await target.runner.close()


async def test_a_poll_at_rate_zero_waits_for_queued_work(gated_video):
    video, gate = gated_video
    target = runner_dispatcher(rate=0)
    last = (await submit(target, video, 5))[-1]  # behind four others
    asyncio.get_running_loop().call_later(0.3, gate.set)
    assert await outcome(target, last) == (200, ["success"])
    await target.runner.close()


async def post(client, tasks: list[dict]) -> tuple[int, dict]:
    response = await client.post("/v1", json=tasks, headers={"Authorization": "Bearer key"})
    return response.status, await response.json()


async def outcome_of(client, task: dict) -> tuple[int, dict]:
    """Submit one videoInference task, then poll it once (at rate 0 the poll waits for its render)."""
    status, body = await post(client, [task])
    assert status == 200, body
    return await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])


def inline_task(**fields) -> dict:
    return {**example_task(), "inputs": {"video": data_uri("speaker.mp4"), "audio": data_uri("voice.wav")}, **fields}


async def test_a_failure_after_the_render_ends_the_task_as_an_error(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, data_dir=tmp_path, quiet=True)))
    (tmp_path / "files").rmdir()
    (tmp_path / "files").write_text("a file where the result files' folder was: storing a result fails")
    status, body = await outcome_of(client, inline_task())
    assert status == 400  # not left processing
    assert body["errors"][0]["code"] == "processingFailed" and body["errors"][0]["status"] == "error"


async def test_a_video_with_frames_past_the_limit_fails_naming_it(aiohttp_client):
    settings = Settings(processing_rate=0, quiet=True, max_frame_size=FrameSize(128, 64))  # the speaker is 160x96
    status, body = await outcome_of(await aiohttp_client(create_app(settings)), inline_task())
    assert status == 400
    error = body["errors"][0]
    assert (error["code"], error["parameter"]) == ("frameTooLarge", "inputs.video")
    assert "160x96" in error["message"] and "128x64" in error["message"]


async def test_a_result_past_its_byte_limit_fails_naming_the_video(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True, max_result_bytes=1000)))
    status, body = await outcome_of(client, inline_task())
    assert status == 400
    assert (body["errors"][0]["code"], body["errors"][0]["parameter"]) == ("resultTooLarge", "inputs.video")


def segmented(audios: list[str]) -> dict:
    """A task whose segments take 0.1 s windows of the voice, each from its own audio reference."""
    segments = [
        {
            "startTime": round(index * 0.2, 2),
            "endTime": round(index * 0.2 + 0.1, 2),
            "audio": audio,
            "audioStartTime": round(index * 0.1, 2),
            "audioEndTime": round(index * 0.1 + 0.1, 2),
        }
        for index, audio in enumerate(audios)
    ]
    task = {**example_task(), "inputs": {"video": data_uri("speaker.mp4")}}
    return {**task, "providerSettings": {"sync": {"syncMode": "cut_off", "segments": segments}}}


async def test_segments_naming_one_upload_load_it_once_and_render_as_separate_copies_do(aiohttp_client, monkeypatch):
    app = create_app(Settings(processing_rate=0, quiet=True))
    client = await aiohttp_client(app)
    status, body = await post(
        client,
        [
            {
                "taskType": "mediaStorage",
                "taskUUID": str(uuid.uuid4()),
                "operation": "upload",
                "media": data_uri("voice.wav"),
            }
        ],
    )
    assert status == 200, body
    upload = body["data"][0]["mediaUUID"]
    loader = app[DISPATCHER].runner.loader
    loads: list[str] = []
    load = loader.load
    monkeypatch.setattr(
        loader, "load", lambda reference, parameter, owner: loads.append(parameter) or load(reference, parameter, owner)
    )
    shared = segmented([upload] * 5)
    status, body = await outcome_of(client, shared)
    assert status == 200, body
    assert loads == ["inputs.video", "providerSettings.sync.segments[0].audio"]  # once per distinct reference
    copies = segmented(
        [data_uri("voice.wav"), upload, data_uri("voice.wav") + "", upload.upper(), data_uri("voice.wav")]
    )
    status, other = await outcome_of(client, copies)
    assert status == 200, other

    async def result_file(poll: dict) -> bytes:
        response = await client.get(URL(poll["data"][0]["videoURL"]).path)
        assert response.status == 200
        return await response.read()

    assert await result_file(body) == await result_file(other)
