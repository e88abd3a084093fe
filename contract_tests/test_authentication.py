"""API keys: by header or by a leading authentication task."""

from __future__ import annotations

import json

import pytest

from contract_tests.payloads import example_task


async def test_a_request_without_a_key_is_refused(api):
    answer = await api.post([example_task()], api_key="")
    assert answer.status == 401
    assert [(e["code"], e["parameter"]) for e in answer.errors] == [("missingApiKey", "apiKey")]
    assert "data" not in answer.body


async def test_a_wrong_key_is_refused(api):
    answer = await api.post([example_task()], api_key="not-the-key")
    assert answer.status == 401
    assert [(e["code"], e["parameter"]) for e in answer.errors] == [("invalidApiKey", "apiKey")]


async def test_an_authentication_task_carries_the_key(api):
    task = example_task()
    answer = await api.post([{"taskType": "authentication", "apiKey": api.api_key}, task], api_key="")
    assert answer.status == 200
    assert answer.data == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]


@pytest.mark.parametrize(("key", "code"), [("wrong", "invalidApiKey"), ("", "missingApiKey"), (None, "missingApiKey")])
async def test_an_authentication_task_with_a_bad_key_is_refused(api, key, code):
    auth = {"taskType": "authentication", "apiKey": key}
    answer = await api.post([auth, example_task()], api_key="")
    assert answer.status == 401
    assert [e["code"] for e in answer.errors] == [code]


async def test_a_key_in_another_scheme_is_not_taken(api):
    async with api.session.post(
        api.url, data=json.dumps([example_task()]), headers={"Authorization": f"Basic {api.api_key}"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["errors"][0]["code"] == "missingApiKey"
