"""getTaskDetails, through the API: the task array a task came in and the answer it got, accepted or refused,
for its own account only, over REST and the WebSocket."""

from __future__ import annotations

import json
import uuid

from contract_tests.payloads import data_uri, example_task
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.schema_registry import validator
from mock_server.task_details import TaskDetails
from tests.test_dispatcher import FakeClock, dispatcher, send

KEY = {"Authorization": "Bearer key-a"}


async def app_client(aiohttp_client, **settings):
    return await aiohttp_client(create_app(Settings(processing_rate=0, **settings)))


async def post(client, tasks, headers=KEY):
    response = await client.post("/v1", json=tasks, headers=headers)
    return response.status, await response.json()


def details_of(task_uuid: str) -> list[dict]:
    return [{"taskType": "getTaskDetails", "taskUUID": task_uuid}]


async def test_an_accepted_task_answers_the_request_as_sent_and_its_acknowledgment(aiohttp_client):
    client = await app_client(aiohttp_client)
    task, poll = example_task(), {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}
    sent = [task, poll]
    answer = await post(client, sent)
    await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])  # a poll is not the task
    status, body = await post(client, details_of(task["taskUUID"]))
    assert status == 200
    (item,) = body["data"]
    validator("task-details-result.json").validate(item)
    assert item == {"taskType": "getTaskDetails", "taskUUID": task["taskUUID"], "request": sent, "response": answer[1]}


async def test_a_refused_task_answers_its_refusal(aiohttp_client):
    client = await app_client(aiohttp_client, balance=1)
    task = example_task()
    status, refusal = await post(client, [task])
    assert status == 400
    (item,) = (await post(client, details_of(task["taskUUID"])))[1]["data"]
    assert item["response"] == refusal
    assert item["response"]["errors"][0]["code"] == "videoInferenceInsufficientCredits"


async def test_another_account_or_namespace_does_not_find_it(aiohttp_client):
    client = await app_client(aiohttp_client)
    task = example_task()
    await post(client, [task])
    for headers in ({"Authorization": "Bearer key-b"}, {**KEY, "X-Mock-Namespace": "other"}):
        status, body = await post(client, details_of(task["taskUUID"]), headers)
        assert (status, body["errors"][0]["code"], body["errors"][0]["taskUUID"]) == (
            404,
            "taskNotFound",
            task["taskUUID"],
        )
    assert (await post(client, details_of(str(uuid.uuid4()))))[0] == 404  # never sent


async def test_keys_are_redacted_and_inline_media_kept_as_its_length(aiohttp_client):
    client = await app_client(aiohttp_client)
    upload = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
    media = data_uri("voice.wav")
    sent = [{"taskType": "authentication", "apiKey": "key-a"}, {**upload, "media": media}]
    assert (await post(client, sent, {}))[0] == 200
    (item,) = (await post(client, details_of(upload["taskUUID"])))[1]["data"]
    assert item["request"] == [
        {"taskType": "authentication", "apiKey": "[redacted]"},
        {**upload, "media": f"[{len(media)} characters]"},
    ]
    assert "key-a" not in json.dumps(item)


async def test_a_reused_task_uuid_keeps_its_first_request(aiohttp_client):
    client = await app_client(aiohttp_client)
    task = example_task()
    first = await post(client, [task])
    assert (await post(client, [task]))[1]["errors"][0]["code"] == "conflictTaskUUID"
    (item,) = (await post(client, details_of(task["taskUUID"])))[1]["data"]
    assert item["response"] == first[1]


async def test_details_are_read_over_the_websocket_too_and_a_reset_forgets_them(aiohttp_client):
    client = await app_client(aiohttp_client)
    task = example_task()
    async with client.ws_connect("/v1") as socket:
        await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "key-a"}]))
        await socket.receive_json(timeout=10)
        await socket.send_str(json.dumps([task]))
        acknowledgment = await socket.receive_json(timeout=10)
        await socket.send_str(json.dumps(details_of(task["taskUUID"])))
        (item,) = (await socket.receive_json(timeout=10))["data"]
    assert (item["request"], item["response"]) == ([task], acknowledgment)
    assert (await client.post("/__mock/reset", json={})).status == 200
    assert (await post(client, details_of(task["taskUUID"])))[0] == 404


def test_the_oldest_tasks_are_forgotten_first():
    details = TaskDetails(max_tasks=2)
    uuids = [str(uuid.uuid4()) for _ in range(3)]
    for task_uuid in uuids:
        snapshot = details.snapshot([{"taskType": "videoInference", "taskUUID": task_uuid}])
        assert snapshot is not None
        details.record("owner", snapshot, {"data": []})
    assert [details.find("owner", u) is not None for u in uuids] == [False, True, True]
    assert details.snapshot([{"taskType": "getResponse", "taskUUID": uuids[0]}]) is None


async def test_a_task_type_of_any_json_is_refused_not_an_error(aiohttp_client):
    client = await app_client(aiohttp_client)
    for task_type in ({}, [], None, 5):
        status, body = await post(client, [{"taskType": task_type, "taskUUID": str(uuid.uuid4())}])
        assert (status, body["errors"][0]["parameter"]) == (400, "taskType")


async def test_details_of_an_unknown_task_are_not_found_naming_get_task_details():
    task_uuid = str(uuid.uuid4())
    target = dispatcher(FakeClock(), compat=("error-task-type=included",))
    reply = await send(target, [{"taskType": "getTaskDetails", "taskUUID": task_uuid}])
    assert (reply.status, reply.body) == (
        404,
        {
            "errors": [
                {
                    "code": "taskNotFound",
                    "message": "No task with this taskUUID was submitted to this server.",
                    "parameter": "taskUUID",
                    "taskType": "getTaskDetails",
                    "taskUUID": task_uuid,
                    "documentation": "https://runware.ai/docs/models/sync-lipsync-2#request-taskuuid",
                }
            ]
        },
    )
