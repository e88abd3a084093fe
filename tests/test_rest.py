from __future__ import annotations

import asyncio
import json

import pytest

from contract_tests.payloads import MEDIA_DIR, data_uri, example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.http.keys import DISPATCHER

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
    import asyncio

    client = await aiohttp_client(create_app(Settings(processing_rate=0, retention=0.2)))
    task = with_inline_media(example_task())
    await client.post("/v1", json=[task], headers=HEADERS)
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    assert (await (await client.post("/v1", json=poll, headers=HEADERS)).json())["data"][0]["status"] == "success"
    await asyncio.sleep(0.5)
    gone = await (await client.post("/v1", json=poll, headers=HEADERS)).json()
    assert gone == {"data": []}


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


async def slow_media_server(aiohttp_server, seconds: float):
    """A loopback media host that takes `seconds` to send the fixture video: a render queued that long."""
    import asyncio

    from aiohttp import web

    async def video(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(body=MEDIA_DIR.joinpath("speaker.mp4").read_bytes(), content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/speaker.mp4", video)
    return await aiohttp_server(app)


async def test_nothing_expires_while_work_still_refers_to_it(aiohttp_client, aiohttp_server):
    media = await slow_media_server(aiohttp_server, 0.6)  # three retentions
    # At processing rate 0 a poll waits for the render, and reads the outcome the moment it is stored.
    client = await aiohttp_client(create_app(Settings(processing_rate=0, retention=0.2)))
    upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    response = await client.post("/v1", json=[{**upload, "media": data_uri("voice.wav")}], headers=HEADERS)
    audio = (await response.json())["data"][0]["mediaUUID"]
    task = {**example_task(), "inputs": {"video": str(media.make_url("/speaker.mp4")), "audio": audio}}
    await client.post("/v1", json=[task], headers=HEADERS)
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    answer = await (await client.post("/v1", json=poll, headers=HEADERS)).json()
    assert answer["data"][0]["status"] == "success"  # not mediaNotFound: the upload outlived its retention
    await asyncio.sleep(0.5)
    gone = await client.post("/v1", json=poll, headers=HEADERS)
    assert await gone.json() == {"data": []}  # once the work was done, the retention applied


async def test_a_reset_stops_the_work_of_the_tasks_it_drops(aiohttp_client, aiohttp_server):
    media = await slow_media_server(aiohttp_server, 0.5)
    client = await aiohttp_client(create_app(Settings(processing_rate=0)))
    task = {**example_task(), "inputs": {"video": str(media.make_url("/speaker.mp4")), "audio": data_uri("voice.wav")}}
    await client.post("/v1", json=[task], headers=HEADERS)
    await client.post("/__mock/reset", json={})
    # The same taskUUID again, now with media at once: the first job must not land on it.
    again = with_inline_media({**example_task(), "taskUUID": task["taskUUID"], "numberResults": 2})
    await client.post("/v1", json=[again], headers=HEADERS)
    await asyncio.sleep(0.8)  # past the first job's download
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    answer = await (await client.post("/v1", json=poll, headers=HEADERS)).json()
    assert [item["status"] for item in answer["data"]] == ["success", "success"]


def test_a_broken_render_pool_is_replaced():
    import os
    from concurrent.futures.process import BrokenProcessPool

    from mock_server.processing import render_pool, replace_render_pool

    pool = render_pool(1)
    with pytest.raises(BrokenProcessPool):
        pool.submit(os._exit, 1).result(timeout=60)  # a render process dies
    fresh = replace_render_pool(pool, 1)
    assert fresh is not pool and fresh is render_pool(1)
    assert fresh.submit(abs, -3).result(timeout=60) == 3
