"""One mock, many workers: each namespace sees and resets only its own work, through the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.namespaces import check_name, namespace_of, owner_of
from mock_server.testing import ControlError, MockControl


def post(mock, tasks, namespace: str | None = None, **headers: str) -> tuple[int, dict]:
    sent = {"Authorization": "Bearer same-key", **headers}
    if namespace is not None:
        sent["X-Mock-Namespace"] = namespace
    request = urllib.request.Request(mock.url, json.dumps(tasks).encode(), sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def poll(mock, task_uuid: str, namespace: str | None = None) -> tuple[int, dict]:
    return post(mock, [{"taskType": "getResponse", "taskUUID": task_uuid}], namespace)


def test_a_namespace_sees_only_its_own_tasks_and_journal(mock):
    one, two = with_inline_media(example_task()), with_inline_media(example_task())
    assert post(mock, [one], "w1")[0] == post(mock, [two], "w2")[0] == 200
    assert poll(mock, one["taskUUID"], "w1")[1]["data"][0]["status"] == "success"
    assert poll(mock, one["taskUUID"], "w2") == (200, {"data": []})  # the same key, another namespace
    assert poll(mock, one["taskUUID"]) == (200, {"data": []})  # the default namespace is one of them
    journal = MockControl(mock.base_url, namespace="w2").requests()
    assert {entry["namespace"] for entry in journal} == {"w2"}
    submitted = [t["taskUUID"] for entry in journal for t in entry["request"] if t["taskType"] == "videoInference"]
    assert submitted == [two["taskUUID"]]
    everything = MockControl(mock.base_url).requests()
    assert {"w1", "w2"} <= {entry["namespace"] for entry in everything}


def test_fault_rules_and_lifecycles_stay_in_their_namespace(mock):
    w1, w2 = MockControl(mock.base_url, namespace="f1"), MockControl(mock.base_url, namespace="f2")
    w1.add_fault("status=503", task_type="getResponse")
    w2.set_lifecycle("manual")
    task = with_inline_media(example_task())
    assert post(mock, [task], "f2")[0] == 200
    assert poll(mock, task["taskUUID"], "f2")[1]["data"][0]["status"] == "processing"  # f2's manual lifecycle
    assert poll(mock, task["taskUUID"], "f1")[0] == 503  # f1's rule, f1's requests only
    assert [rule["namespace"] for rule in w1.faults()] == ["f1"] and w2.faults() == []
    w2.complete(task["taskUUID"])
    assert poll(mock, task["taskUUID"], "f2")[1]["data"][0]["status"] == "success"
    with pytest.raises(ControlError) as refused:
        w1.complete(task["taskUUID"])  # another namespace's task is not found
    assert refused.value.status == 404
    w1.clear_faults()


def test_a_reset_resets_only_its_namespace(mock):
    kept, dropped = with_inline_media(example_task()), with_inline_media(example_task())
    post(mock, [kept], "r1")
    post(mock, [dropped], "r2")
    MockControl(mock.base_url, namespace="r2").reset()
    assert poll(mock, dropped["taskUUID"], "r2") == (200, {"data": []})
    assert poll(mock, kept["taskUUID"], "r1")[1]["data"][0]["status"] == "success"
    assert MockControl(mock.base_url, namespace="r1").requests() != []


def test_a_websocket_works_in_the_namespace_of_its_upgrade(mock):
    import asyncio

    import aiohttp

    async def run() -> tuple[int, dict]:
        task = with_inline_media(example_task())
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(mock.url.replace("http", "ws"), headers={"X-Mock-Namespace": "s1"}) as socket,
        ):
            await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "same-key"}]))
            await socket.receive(timeout=10)
            await socket.send_str(json.dumps([task]))
            await socket.receive(timeout=10)
        return task["taskUUID"]

    task_uuid = asyncio.run(run())
    assert poll(mock, task_uuid, "s1")[1]["data"][0]["status"] == "success"
    assert poll(mock, task_uuid) == (200, {"data": []})


def test_a_bad_namespace_is_refused(mock):
    status, body = post(mock, [example_task()], "no spaces")
    assert (status, body["errors"][0]["code"]) == (400, "invalidMockNamespace")


def test_owners_carry_their_namespace():
    assert namespace_of(owner_of("k", "w1")) == "w1" and namespace_of(owner_of("k")) == ""
    assert owner_of("k", "w1") != owner_of("k", "w2") != owner_of("k")
    with pytest.raises(ValueError):
        check_name("x" * 65)


def test_a_request_answered_by_a_fault_is_journaled_in_its_namespace(mock):
    MockControl(mock.base_url, namespace="j1").add_fault("status=503", task_type="getResponse", times=1)
    assert poll(mock, "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f", "j1")[0] == 503
    (entry,) = MockControl(mock.base_url, namespace="j1").requests()
    assert (entry["status"], entry["namespace"]) == (503, "j1")
