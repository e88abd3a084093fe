from __future__ import annotations

import json

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError

from contract_tests.payloads import example_task, with_inline_media, with_parameter
from mock_server.app import create_app
from mock_server.config import Settings

AUTH = {"taskType": "authentication", "apiKey": "key"}


@pytest.fixture
async def client(aiohttp_client):
    settings = Settings(api_keys=("key",), processing_rate=0, max_body_bytes=200_000, ws_idle_timeout=0.5)
    return await aiohttp_client(create_app(settings))


async def exchange(socket, tasks):
    await socket.send_str(json.dumps(tasks))
    return json.loads((await socket.receive(timeout=10)).data)


async def test_the_handshake_names_a_session_without_a_task_uuid(client):
    async with client.ws_connect("/v1") as socket:
        answer = await exchange(socket, [AUTH])
        (item,) = answer["data"]
        assert set(item) == {"taskType", "connectionSessionUUID"} and item["taskType"] == "authentication"


async def test_a_closed_session_can_be_resumed_by_its_uuid(client):
    async with client.ws_connect("/v1") as socket:
        first = (await exchange(socket, [AUTH]))["data"][0]["connectionSessionUUID"]
    async with client.ws_connect("/v1") as socket:
        resumed = await exchange(socket, [{**AUTH, "connectionSessionUUID": first}])
        assert resumed["data"][0]["connectionSessionUUID"] == first
    async with client.ws_connect("/v1") as socket:
        unknown = await exchange(socket, [{**AUTH, "connectionSessionUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}])
        assert unknown["data"][0]["connectionSessionUUID"] not in (first, "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f")


async def test_a_refused_key_is_an_error_of_the_authentication_task(client):
    async with client.ws_connect("/v1") as socket:
        for key, code in [("wrong", "invalidApiKey"), ("", "missingApiKey")]:
            (error,) = (await exchange(socket, [{**AUTH, "apiKey": key}]))["errors"]
            assert (error["code"], error["taskType"]) == (code, "authentication")
        (error,) = (await exchange(socket, [example_task()]))["errors"]
        assert error["code"] == "missingApiKey"


async def test_ping_answers_pong(client):
    async with client.ws_connect("/v1") as socket:
        assert await exchange(socket, [{"taskType": "ping", "ping": True}]) == {
            "data": [{"taskType": "ping", "pong": True}]
        }


async def test_tasks_run_and_are_polled_over_the_socket(client):
    task = with_inline_media({**example_task(), "numberResults": 2})
    async with client.ws_connect("/v1") as socket:
        await exchange(socket, [AUTH])
        assert await exchange(socket, [task]) == {
            "data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
        }
        polled = await exchange(socket, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        assert [item["status"] for item in polled["data"]] == ["success", "success"]
        assert polled["data"][0]["videoURL"].startswith(str(client.make_url("/videos/")))


async def test_a_refused_task_leaves_the_socket_open(client):
    async with client.ws_connect("/v1") as socket:
        await exchange(socket, [AUTH])
        (error,) = (await exchange(socket, [with_parameter(example_task(), "numberResults", 9)]))["errors"]
        assert (error["code"], error["parameter"]) == ("invalidNumberResults", "numberResults")
        assert (await exchange(socket, [{"taskType": "ping", "ping": True}]))["data"][0]["pong"] is True


async def test_bad_frames_get_an_error_and_the_socket_stays_open(client):
    async with client.ws_connect("/v1") as socket:
        await exchange(socket, [AUTH])
        await socket.send_bytes(b"\x00\x01")
        assert json.loads((await socket.receive()).data)["errors"][0]["code"] == "invalidRequestBody"
        await socket.send_str("not json")
        assert json.loads((await socket.receive()).data)["errors"][0]["code"] == "invalidRequestBody"
        assert (await exchange(socket, [{"taskType": "ping", "ping": True}]))["data"][0]["pong"] is True


async def test_a_frame_over_the_size_limit_closes_the_socket_with_a_reason(client):
    async with client.ws_connect("/v1") as socket:
        await socket.send_str("[" + " " * 300_000 + "]")
        message = await socket.receive(timeout=10)
        assert message.type == WSMsgType.CLOSE and message.data == 1009


async def test_an_idle_socket_is_closed(client):
    async with client.ws_connect("/v1") as socket:
        message = await socket.receive(timeout=10)
        assert (message.type, message.data, message.extra) == (WSMsgType.CLOSE, 1000, "idle timeout")


async def test_a_plain_get_is_told_to_upgrade_or_post(client):
    response = await client.get("/v1")
    assert response.status == 405
    assert (await response.json())["errors"][0]["code"] == "methodNotAllowed"


async def test_websocket_requests_are_journaled_like_rest(client):
    from mock_server.http.app_keys import DISPATCHER

    task = example_task()
    async with client.ws_connect("/v1") as socket:
        await exchange(socket, [AUTH])
        await exchange(socket, [task])
    assert client.app[DISPATCHER].journal.entries(task["taskUUID"])[0].tasks() == [task]


async def test_the_ws_close_fault_closes_the_socket_after_the_acknowledgment(client):
    task = with_inline_media(example_task())
    async with client.ws_connect("/v1", headers={"X-Mock-Fault": "ws_close"}) as socket:
        await exchange(socket, [AUTH])
        assert (await exchange(socket, [task]))["data"][0]["taskUUID"] == task["taskUUID"]
        message = await socket.receive(timeout=10)
        assert (message.type, message.data) == (WSMsgType.CLOSE, 1011)
    async with client.ws_connect("/v1") as socket:  # the task lives on: a client can resume and poll
        await exchange(socket, [AUTH])
        polled = await exchange(socket, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
        assert polled["data"][0]["status"] == "success"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_a_websocket_from_another_origin_is_refused_before_the_upgrade(client, origin):
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/v1", headers={"Origin": origin})
    assert refused.value.status == 403
    answer = await client.get("/v1", headers={"Origin": origin, "Connection": "Upgrade", "Upgrade": "websocket"})
    assert (await answer.json())["errors"][0]["code"] == "forbiddenOrigin"


async def test_a_websocket_with_no_origin_or_the_mocks_own_is_accepted(client):
    for headers in ({}, {"Origin": f"http://127.0.0.1:{client.port}"}):
        async with client.ws_connect("/v1", headers=headers) as socket:
            assert (await exchange(socket, [AUTH]))["data"][0]["taskType"] == "authentication"
