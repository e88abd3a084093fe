"""API keys: by header or by a leading authentication task."""

from __future__ import annotations

import json

import pytest

from contract_tests.client import ApiClient
from contract_tests.payloads import PaidTask, RefusedTask
from contract_tests.targets import Target


def test_a_request_without_a_key_is_refused(api: ApiClient, refused_task: RefusedTask, target: Target) -> None:
    answer = api.post([refused_task()], api_key="")
    # Seen in recordings of the real service: a refused request carries an empty data array.
    assert answer.status == 401 and answer.body.get("data") == []
    assert [e.get("parameter") for e in answer.errors] == ["apiKey"]
    if target.is_mock:
        assert [e["code"] for e in answer.errors] == ["missingApiKey"]


def test_a_wrong_key_is_refused(api: ApiClient, refused_task: RefusedTask, target: Target) -> None:
    answer = api.post([refused_task()], api_key="not-the-key-0123456789")
    assert answer.status == 401
    if target.is_mock:
        assert [(e["code"], e["parameter"]) for e in answer.errors] == [("invalidApiKey", "apiKey")]


def test_an_authentication_task_carries_the_key(api: ApiClient, paid_task: PaidTask) -> None:
    task = paid_task()
    answer = api.post([{"taskType": "authentication", "apiKey": api.api_key}, task], api_key="")
    assert answer.status == 200
    assert [item for item in answer.data if item["taskType"] == "videoInference"] == [
        {"taskType": "videoInference", "taskUUID": task["taskUUID"]}
    ]


@pytest.mark.parametrize(
    ("key", "code"), [("wrong-key-0123456789", "invalidApiKey"), ("", "missingApiKey"), (None, "missingApiKey")]
)
def test_an_authentication_task_with_a_bad_key_is_refused(
    api: ApiClient, refused_task: RefusedTask, target: Target, key: str | None, code: str
) -> None:
    answer = api.post([{"taskType": "authentication", "apiKey": key}, refused_task()], api_key="")
    assert answer.status == 401
    if target.is_mock:
        assert [e["code"] for e in answer.errors] == [code]


def test_a_key_in_another_scheme_is_not_taken(api: ApiClient, refused_task: RefusedTask) -> None:
    body = json.dumps([refused_task()]).encode()
    answer = api.post_raw(body, api_key="", headers={"Authorization": f"Basic {api.api_key}"})
    assert answer.status == 401
