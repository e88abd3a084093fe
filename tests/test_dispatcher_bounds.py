"""Work bounded by what was asked, through the API: refusals cut short with a note, one wait for all the polls of
a request, and bodies no validator can read (lone surrogates, deep nesting) refused, never a 500."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiohttp import web

from contract_tests.payloads import example_task, with_parameter
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.dispatcher import MAX_ERRORS_PER_REQUEST
from mock_server.validation import MAX_ERRORS_PER_TASK

KEY = {"Authorization": "Bearer key"}


async def app_client(aiohttp_client, **settings):
    return await aiohttp_client(create_app(Settings(processing_rate=0, **settings)))


async def post_text(client, text: str, headers=KEY):
    response = await client.post("/v1", data=text, headers={**headers, "Content-Type": "application/json"})
    return response.status, await response.json()


def bad_segments(count: int) -> list[dict]:
    # Each segment breaks two rules of its own: an end not after its start, and an audio that is no string.
    return [{"startTime": index + 1, "endTime": index + 1, "audio": 5} for index in range(count)]


async def test_a_task_lists_its_first_errors_and_a_note_that_there_are_more(aiohttp_client):
    client = await app_client(aiohttp_client)
    task = with_parameter(example_task(), "providerSettings.sync.segments", bad_segments(40))
    status, body = await post_text(client, json.dumps([task]))
    assert status == 400
    *errors, note = body["errors"]
    assert len(errors) == MAX_ERRORS_PER_TASK
    assert all(e["parameter"].startswith("providerSettings.sync.segments[") for e in errors)
    assert (note["code"], note["taskUUID"]) == ("tooManyErrors", task["taskUUID"])
    assert "the first 20 are listed" in note["message"]


async def test_a_task_at_the_cap_lists_every_error_and_no_note(aiohttp_client):
    client = await app_client(aiohttp_client)
    task = with_parameter(example_task(), "providerSettings.sync.segments", bad_segments(MAX_ERRORS_PER_TASK // 2))
    status, body = await post_text(client, json.dumps([task]))
    assert (status, len(body["errors"])) == (400, MAX_ERRORS_PER_TASK)
    assert "tooManyErrors" not in {e["code"] for e in body["errors"]}


async def test_a_request_lists_its_first_errors_and_a_note_that_there_are_more(aiohttp_client):
    client = await app_client(aiohttp_client)
    refused = [with_parameter(with_parameter(example_task(), "ttl", 1), "outputQuality", 5) for _ in range(60)]
    status, body = await post_text(client, json.dumps(refused))
    assert status == 400
    assert len(body["errors"]) == MAX_ERRORS_PER_REQUEST + 1
    note = body["errors"][-1]
    assert (note["code"], note["message"]) == (
        "tooManyErrors",
        f"More than {MAX_ERRORS_PER_REQUEST} errors were found; the first {MAX_ERRORS_PER_REQUEST} are listed.",
    )
    assert "taskUUID" not in note
    exactly = refused[: MAX_ERRORS_PER_REQUEST // 2]
    assert len((await post_text(client, json.dumps(exactly)))[1]["errors"]) == MAX_ERRORS_PER_REQUEST


async def test_the_polls_of_one_request_share_one_wait(aiohttp_client, aiohttp_server):
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/{name}", hang)
    media = await aiohttp_server(app)
    client = await app_client(aiohttp_client, poll_wait=0.3, fetch_timeout=60, render_workers=1)
    tasks = [with_parameter(example_task(), "inputs.video", str(media.make_url(f"/{i}.mp4"))) for i in range(10)]
    for task in tasks:
        assert (await post_text(client, json.dumps([task])))[0] == 200
    polls = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]} for task in tasks]
    started = time.monotonic()
    status, body = await post_text(client, json.dumps(polls))
    waited = time.monotonic() - started
    assert status == 200 and [item["status"] for item in body["data"]] == ["processing"] * 10
    assert waited < 1.5  # each poll waiting its own --poll-wait in turn would take 3 s
    never.set()


@pytest.mark.parametrize(
    "text",
    [
        '[{"taskType": "getResponse", "taskUUID": "\\ud800"}]',
        f'[{{"taskType": "videoInference", "taskUUID": "{uuid.uuid4()}", "model": "sync:lipsync-2@1", '
        '"inputs": {"video": "v"}, "outputFormat": "MP4\\udfff"}]',
    ],
)
async def test_a_lone_surrogate_is_refused_as_not_text(aiohttp_client, text):
    client = await app_client(aiohttp_client)
    status, body = await post_text(client, text)
    assert (status, body["errors"][0]["code"]) == (400, "invalidRequestBody")
    assert "surrogate" in body["errors"][0]["message"]
    async with client.ws_connect("/v1") as socket:
        await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "key"}]))
        await socket.receive_json(timeout=10)
        await socket.send_str(text)
        answer = await socket.receive_json(timeout=10)
    assert answer["errors"][0]["code"] == "invalidRequestBody"


async def test_a_lone_surrogate_in_an_api_key_is_a_key_like_any_other(aiohttp_client):
    client = await app_client(aiohttp_client, api_keys=("key",))
    text = '[{"taskType": "authentication", "apiKey": "\\ud800"}, {"taskType": "getResponse", "taskUUID": "%s"}]'
    status, body = await post_text(client, text % uuid.uuid4(), headers={})
    assert (status, body["errors"][0]["code"]) == (401, "invalidApiKey")


@pytest.mark.parametrize("depth", [496, 974])
async def test_a_task_nested_hundreds_deep_is_refused(aiohttp_client, depth):
    client = await app_client(aiohttp_client)
    nested = '{"a": ' * depth + "1" + "}" * depth
    text = f'[{{"taskType": "videoInference", "taskUUID": "{uuid.uuid4()}", "inputs": {nested}}}]'
    status, body = await post_text(client, text)
    assert (status, body["errors"][0]["code"]) == (400, "invalidRequestBody")
