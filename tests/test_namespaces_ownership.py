"""Tasks, uploads and WebSocket sessions belong to the key that made them: another key gets the not-found answer."""

from __future__ import annotations

import json

import pytest

from contract_tests.payloads import data_uri, example_task
from mock_server.app import create_app
from mock_server.config import Settings

A = {"Authorization": "Bearer key-a"}
B = {"Authorization": "Bearer key-b"}


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(api_keys=("key-a", "key-b"), processing_rate=0)))


async def post(client, tasks, headers):
    response = await client.post("/v1", json=tasks, headers=headers)
    return response.status, await response.json()


async def upload(client, name: str, headers) -> str:
    task = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
    status, body = await post(client, [{**task, "media": data_uri(name)}], headers)
    assert status == 200
    return body["data"][0]["mediaUUID"]


async def test_another_key_cannot_poll_a_task(client):
    video, audio = await upload(client, "speaker.mp4", A), await upload(client, "voice.wav", A)
    task = {**example_task(), "inputs": {"video": video, "audio": audio}}
    assert (await post(client, [task], A))[0] == 200
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    assert await post(client, poll, B) == (200, {"data": []})  # as a task that was never sent
    status, body = await post(client, poll, A)
    assert (status, body["data"][0]["status"]) == (200, "success")


async def test_another_key_can_neither_use_nor_delete_an_upload(client):
    video, audio = await upload(client, "speaker.mp4", A), await upload(client, "voice.wav", A)
    task = {**example_task(), "inputs": {"video": video, "audio": audio}}
    assert (await post(client, [task], B))[0] == 200
    status, body = await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], B)
    assert (status, body["errors"][0]["code"], body["errors"][0]["parameter"]) == (400, "mediaNotFound", "inputs.video")
    delete = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "delete"}
    status, body = await post(client, [{**delete, "mediaUUID": audio}], B)
    assert (status, body["errors"][0]["code"]) == (404, "mediaNotFound")
    assert (await post(client, [{**delete, "mediaUUID": audio}], A))[0] == 200


async def test_another_key_cannot_resume_a_websocket_session(client):
    async def handshake(key: str, session: str | None = None) -> str:
        async with client.ws_connect("/v1") as socket:
            auth = {"taskType": "authentication", "apiKey": key}
            if session:
                auth["connectionSessionUUID"] = session
            await socket.send_str(json.dumps([auth]))
            return json.loads((await socket.receive(timeout=10)).data)["data"][0]["connectionSessionUUID"]

    first = await handshake("key-a")
    assert await handshake("key-b", first) != first
    assert await handshake("key-a", first) == first
