from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from contract_tests.payloads import MEDIA_DIR, data_uri, example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.app_keys import DISPATCHER
from tests.test_dispatcher import FakeClock

HEADERS = {"Authorization": "Bearer key"}


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(processing_rate=0, max_body_bytes=200_000)))


async def test_a_body_over_the_limit_is_refused_with_413(client):
    response = await client.post("/v1", data=b"[" + b" " * 200_000 + b"]", headers=HEADERS)
    assert response.status == 413
    (error,) = (await response.json())["errors"]
    assert error["code"] == "requestTooLarge" and "200000" in error["message"]


async def test_a_body_at_the_limit_is_read_and_one_past_it_refused_without_a_length(client):
    at_limit = b"[" + b" " * (200_000 - 2) + b"]"
    assert (await client.post("/v1", data=at_limit, headers=HEADERS)).status == 400  # read: an empty array

    async def chunks(body: bytes):  # sent chunked: no Content-Length to refuse it by
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    over = await client.post("/v1", data=chunks(at_limit + b" "), headers=HEADERS)
    assert over.status == 413 and (await over.json())["errors"][0]["code"] == "requestTooLarge"
    assert (await client.get("/health")).status == 200


async def test_health(client):
    response = await client.get("/health")
    assert (response.status, await response.json()) == (200, {"status": "ok", "service": "lipsync-mock"})


async def test_unknown_paths_and_methods_answer_in_the_errors_envelope(client):
    for method, path, status, code in [("GET", "/nope", 404, "notFound"), ("DELETE", "/v1", 405, "methodNotAllowed")]:
        response = await client.request(method, path)
        assert response.status == status
        assert (await response.json())["errors"][0]["code"] == code


async def test_result_files_are_served_with_their_content_type_at_an_absolute_url(client):
    for output_format, content_type in [("MP4", "video/mp4"), ("WEBM", "video/webm"), ("MOV", "video/quicktime")]:
        task = {**with_inline_media(example_task()), "outputFormat": output_format}
        await client.post("/v1", json=[task], headers=HEADERS)
        poll = await client.post(
            "/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=HEADERS
        )
        (item,) = (await poll.json())["data"]
        assert item["videoURL"].startswith(str(client.make_url("/videos/")))
        response = await client.get(item["videoURL"].removeprefix(str(client.make_url(""))))
        assert (response.status, response.content_type) == (200, content_type)
        assert len(await response.read()) > 1000


async def test_an_expired_or_unknown_video_is_404_in_the_errors_envelope(client):
    task = {**with_inline_media(example_task()), "ttl": 60}
    await client.post("/v1", json=[task], headers=HEADERS)
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    video_uuid = dispatcher.store.get(task["taskUUID"]).results[0].video_uuid
    assert (await client.get(f"/videos/{video_uuid}.mp4")).status == 200
    start = dispatcher.clock()
    dispatcher.runner.clock = lambda: start + 61
    for path in (f"/videos/{video_uuid}.mp4", "/videos/unknown.mp4", "/videos/"):
        response = await client.get(path)
        assert response.status == 404
        assert (await response.json())["errors"][0]["code"] == "notFound"


async def test_openapi_document_is_served(client):
    response = await client.get("/openapi.json")
    document = json.loads(await response.text())
    assert document["openapi"].startswith("3.1")
    assert list(document["paths"]) == ["/v1"]


async def test_uploaded_media_is_served_back(client):
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    reply = await client.post("/v1", json=[{**upload, "media": data_uri("voice.wav")}], headers=HEADERS)
    (item,) = (await reply.json())["data"]
    response = await client.get(f"/media/{item['mediaUUID']}")
    assert (response.status, response.content_type) == (200, "audio/wav")
    assert (await response.read())[:4] == b"RIFF"
    assert (await client.get("/media/3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f")).status == 404


async def test_too_many_tasks_in_one_request_are_refused(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(max_tasks_per_request=2)))
    tasks = [example_task() for _ in range(3)]
    response = await client.post("/v1", json=tasks, headers=HEADERS)
    (error,) = (await response.json())["errors"]
    assert (response.status, error["code"], error["max"]) == (400, "tooManyTasks", 2)


async def test_the_control_api_can_be_turned_off(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(control=False)))
    assert (await client.post("/__mock/reset")).status == 404


async def test_the_control_api_can_require_a_token(aiohttp_client):
    client = await aiohttp_client(create_app(Settings(control_token="secret")))
    refused = await client.post("/__mock/reset", json={}, headers={"X-Mock-Control-Token": "wrong"})
    assert (refused.status, (await refused.json())["errors"][0]["code"]) == (401, "invalidControlToken")
    assert (await client.post("/__mock/reset", json={}, headers={"X-Mock-Control-Token": "secret"})).status == 200


async def test_tasks_past_the_retention_are_forgotten(aiohttp_client):
    clock = FakeClock()
    client = await aiohttp_client(create_app(Settings(processing_rate=0, retention=0.25), clock=clock))
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    assert (await poll(client, task["taskUUID"]))["data"][0]["status"] == "success"
    clock.now += 0.5
    await until(lambda: forgotten(client, task["taskUUID"]))


async def poll(client, task_uuid: str) -> dict:
    body = [{"taskType": "getResponse", "taskUUID": task_uuid}]
    return await (await client.post("/v1", json=body, headers=HEADERS)).json()


async def forgotten(client, task_uuid: str) -> bool:
    return await poll(client, task_uuid) == {"data": []}


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Until `condition` holds, for what the mock does on its own: the expiry sweep runs every few hundredths of
    a second at the retentions used here, reading the test's clock."""
    async with asyncio.timeout(10):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_a_wrong_method_says_which_are_allowed(client):
    response = await client.request("DELETE", "/v1")
    # GET /v1 is the WebSocket upgrade only, not an HTTP operation (see /asyncapi.json).
    assert response.status == 405 and response.headers["Allow"] == "POST"
    assert (await client.request("PUT", "/health")).headers["Allow"] in ("GET", "GET,HEAD")
    plain_get = await client.get("/v1")
    assert plain_get.status == 405 and plain_get.headers["Allow"] == "POST"


async def test_file_urls_cannot_reach_outside_the_data_directory(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Settings(data_dir=tmp_path / "data")))
    (tmp_path / "secret.txt").write_text("not yours")
    for path in (
        "/media/..%2F..%2Fsecret.txt",
        "/media/..%2Fmock.sqlite",
        "/videos/..%2Fmock.sqlite",
        "/videos/..%2F..%2Fsecret.txt.mp4",
    ):
        response = await client.get(path)
        assert response.status == 404, path
        assert "not yours" not in await response.text()


class HeldMedia:
    """A loopback media host that holds the fixture video until released: a render waits in its download as long
    as a test needs. `asked` is set once the video is asked for; `abandoned` if the asker goes away first."""

    def __init__(self) -> None:
        self.asked, self.release, self.abandoned = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def video(self, request: web.Request) -> web.Response:
        self.asked.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:  # the test server cancels a handler whose client has gone
            self.abandoned.set()
            raise
        return web.Response(body=MEDIA_DIR.joinpath("speaker.mp4").read_bytes(), content_type="video/mp4")

    async def serve(self, aiohttp_server) -> str:
        app = web.Application()
        app.router.add_get("/speaker.mp4", self.video)
        return str((await aiohttp_server(app)).make_url("/speaker.mp4"))


async def upload(client, name: str) -> str:
    task = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    response = await client.post("/v1", json=[{**task, "media": data_uri(name)}], headers=HEADERS)
    return (await response.json())["data"][0]["mediaUUID"]


async def test_nothing_expires_while_work_still_refers_to_it(aiohttp_client, aiohttp_server):
    held, clock = HeldMedia(), FakeClock()
    video = await held.serve(aiohttp_server)
    # At processing rate 0 a poll waits for the render, and reads the outcome the moment it is stored.
    client = await aiohttp_client(create_app(Settings(processing_rate=0, retention=0.25), clock=clock))
    audio, unused = await upload(client, "voice.wav"), await upload(client, "voice.wav")
    task = {**example_task(), "inputs": {"video": video, "audio": audio}}
    await client.post("/v1", json=[task], headers=HEADERS)
    await held.asked.wait()  # the render waits for its video; the upload it names is not read yet
    clock.now += 1  # four retentions
    await until(lambda: gone(client, f"/media/{unused}"))  # a sweep ran past the retention
    held.release.set()
    answer = await poll(client, task["taskUUID"])
    assert answer["data"][0]["status"] == "success"  # not mediaNotFound: the upload outlived its retention
    await until(lambda: forgotten(client, task["taskUUID"]))  # once the work was done, the retention applied
    assert await gone(client, f"/media/{audio}")


async def gone(client, path: str) -> bool:
    return (await client.get(path)).status == 404


async def test_a_reset_stops_the_work_of_the_tasks_it_drops(aiohttp_client, aiohttp_server):
    held = HeldMedia()
    video = await held.serve(aiohttp_server)
    client = await aiohttp_client(create_app(Settings(processing_rate=0)))
    task = {**example_task(), "inputs": {"video": video, "audio": data_uri("voice.wav")}}
    await client.post("/v1", json=[task], headers=HEADERS)
    await held.asked.wait()
    await client.post("/__mock/reset", json={})
    async with asyncio.timeout(10):
        await held.abandoned.wait()  # the dropped task's download stopped: its job is gone
    # The same taskUUID again, now with media at once: the first job must not land on it.
    again = with_inline_media({**example_task(), "taskUUID": task["taskUUID"], "numberResults": 2})
    await client.post("/v1", json=[again], headers=HEADERS)
    answer = await poll(client, task["taskUUID"])
    assert [item["status"] for item in answer["data"]] == ["success", "success"]


async def clocked_client(aiohttp_client, rate: float) -> tuple[object, FakeClock]:
    clock = FakeClock()
    return await aiohttp_client(create_app(Settings(processing_rate=rate, quiet=True), clock=clock)), clock


async def test_a_file_is_served_once_ready_until_its_ttl_passes_and_only_under_its_format(aiohttp_client):
    client, clock = await clocked_client(aiohttp_client, rate=1)  # the 1 s fixture is ready 1 s after it arrived
    task = {**with_inline_media(example_task()), "outputFormat": "MOV", "ttl": 60}
    await client.post("/v1", json=[task], headers=HEADERS)
    dispatcher = client.app[DISPATCHER]
    await dispatcher.runner.idle()
    video_uuid = dispatcher.store.get(task["taskUUID"]).results[0].video_uuid

    async def status(extension: str) -> int:
        return (await client.get(f"/videos/{video_uuid}.{extension}")).status

    assert await status("mov") == 404  # rendered, not ready yet
    clock.now += 1
    assert (await status("mp4"), await status("mov")) == (404, 200)
    assert (await client.get(f"/videos/{video_uuid}.mov")).content_type == "video/quicktime"
    poll = await client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=HEADERS)
    assert (await poll.json())["data"][0]["videoURL"] == str(client.make_url(f"/videos/{video_uuid}.mov"))
    clock.now += 59.99
    assert await status("mov") == 200
    clock.now += 0.01
    assert await status("mov") == 404
    poll = await client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=HEADERS)
    assert [item["status"] for item in (await poll.json())["data"]] == ["success"]  # the task outlives its file


async def test_without_ttl_a_file_is_kept(aiohttp_client):
    client, clock = await clocked_client(aiohttp_client, rate=0)
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    poll = await client.post("/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=HEADERS)
    (item,) = (await poll.json())["data"]
    clock.now += 10 * 365 * 86400
    response = await client.get(f"/videos/{item['videoUUID']}.mp4")
    assert (response.status, response.content_type) == (200, "video/mp4")
    assert (await response.read())[4:8] == b"ftyp"


async def test_a_result_file_dropped_to_stay_within_the_stored_bytes_answers_not_found(aiohttp_client):
    # Every new file passes a budget of one byte, so each drops the one before it (the newest is always kept).
    client = await aiohttp_client(create_app(Settings(processing_rate=0, quiet=True, max_stored_bytes=1)))
    urls = []
    for _ in range(2):
        task = with_inline_media(example_task())
        await client.post("/v1", json=[task], headers=HEADERS)
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        (item,) = (await (await client.post("/v1", json=poll, headers=HEADERS)).json())["data"]
        urls.append(item["videoURL"].removeprefix(str(client.make_url(""))))
    dropped, kept = [await client.get(url) for url in urls]
    assert (dropped.status, (await dropped.json())["errors"][0]["code"]) == (404, "notFound")
    assert kept.status == 200


async def test_a_latency_drawn_from_a_distribution_is_asked_for_like_any_fault(client):
    poll = [{"taskType": "getResponse", "taskUUID": example_task()["taskUUID"]}]
    drawn = await client.post("/v1", json=poll, headers={**HEADERS, "X-Mock-Fault": "latency=1; p95=5"})
    assert drawn.status == 200
    refused = await client.post("/v1", json=poll, headers={**HEADERS, "X-Mock-Fault": "latency=5; p95=1"})
    assert refused.status == 400
    (error,) = (await refused.json())["errors"]
    assert error["parameter"] == "X-Mock-Fault" and "p95" in error["message"]
