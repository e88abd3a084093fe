"""The read-only views of overview.py, through the control API: the task list (newest first, cut at its limit, each
task with the lifecycle that applies to it) and the request journal's ids."""

from __future__ import annotations

import pytest

from contract_tests.payloads import example_task, with_inline_media
from mock_server.app import create_app
from mock_server.config import Settings

KEY = {"Authorization": "Bearer key"}


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(processing_rate=0)))


async def submit(client, namespace: str = "") -> str:
    task = with_inline_media(example_task())
    headers = {**KEY, "X-Mock-Namespace": namespace} if namespace else KEY
    response = await client.post("/v1", json=[task], headers=headers)
    assert response.status == 200
    return task["taskUUID"]


async def listed(client, query: str = "", namespace: str = "") -> list[dict]:
    response = await client.get(f"/__mock/tasks{query}", headers={"X-Mock-Namespace": namespace} if namespace else {})
    assert response.status == 200
    return await response.json()


@pytest.mark.parametrize("persistent", [False, True], ids=["memory", "sqlite"])
async def test_the_task_list_is_the_newest_tasks_first_up_to_its_limit(aiohttp_client, tmp_path, persistent):
    client = await aiohttp_client(create_app(Settings(processing_rate=0, data_dir=tmp_path if persistent else None)))
    theirs = await submit(client, "worker-1")
    mine = [await submit(client) for _ in range(4)]
    newest_first = [*mine[::-1], theirs]
    assert [task["taskUUID"] for task in await listed(client)] == newest_first
    assert [task["taskUUID"] for task in await listed(client, "?limit=2")] == newest_first[:2]
    assert [task["taskUUID"] for task in await listed(client, "?limit=5")] == newest_first
    assert [task["taskUUID"] for task in await listed(client, "?limit=50")] == newest_first
    # The limit counts the namespace's own tasks, however many newer ones others have.
    assert [task["taskUUID"] for task in await listed(client, "?limit=1", "worker-1")] == [theirs]


async def test_a_task_shows_the_lifecycle_of_its_own_namespace(client):
    response = await client.put("/__mock/lifecycle", json={"mode": "manual"}, headers={"X-Mock-Namespace": "worker-1"})
    assert response.status == 200
    theirs, mine = await submit(client, "worker-1"), await submit(client)
    modes = {task["taskUUID"]: task["lifecycle"]["mode"] for task in await listed(client)}
    assert modes == {theirs: "manual", mine: "rate"}
    (only,) = await listed(client, namespace="worker-1")
    assert (only["taskUUID"], only["lifecycle"]["mode"]) == (theirs, "manual")


async def test_each_request_has_an_id_counted_across_namespaces_and_never_reused(client):
    await submit(client)
    await submit(client, "worker-1")
    assert (await client.post("/v1", data=b"not json", headers=KEY)).status == 400
    entries = await (await client.get("/__mock/requests")).json()
    assert [entry["id"] for entry in entries] == [1, 2, 3]
    assert (await client.post("/__mock/reset", json={})).status == 200
    await submit(client, "worker-1")
    (entry,) = await (await client.get("/__mock/requests", headers={"X-Mock-Namespace": "worker-1"})).json()
    assert entry["id"] == 4  # after a reset too, so a page that still shows the old rows never mistakes one
