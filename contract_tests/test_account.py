"""The platform around the task, free of charge: the account's details, and an earlier task's details."""

from __future__ import annotations

import uuid

from contract_tests.client import ApiClient
from contract_tests.payloads import RefusedTask


def test_get_details_answers_the_account_and_its_balance(api: ApiClient) -> None:
    task = {"taskType": "accountManagement", "taskUUID": str(uuid.uuid4()), "operation": "getDetails"}
    answer = api.post([task])
    assert answer.status == 200, answer.body
    (item,) = answer.data  # the answer was checked against account-details-result.json by the client
    assert (item["taskType"], item["taskUUID"], item["operation"]) == (
        "accountManagement",
        task["taskUUID"],
        "getDetails",
    )
    assert item["balance"]["currency"] == "USD" and isinstance(item["balance"]["amount"], int | float)


def test_a_refused_task_can_be_read_back_with_its_refusal(api: ApiClient, refused_task: RefusedTask) -> None:
    task = {**refused_task(), "outputQuality": 5}  # below the documented 20
    refusal = api.post([task])
    assert refusal.status == 400
    answer = api.post([{"taskType": "getTaskDetails", "taskUUID": task["taskUUID"]}])
    assert answer.status == 200, answer.body
    (item,) = answer.data
    assert item["taskUUID"] == task["taskUUID"]
    assert [sent.get("taskUUID") for sent in item["request"]] == [task["taskUUID"]]
    assert [e["code"] for e in item["response"]["errors"]] == [e["code"] for e in refusal.errors]


def test_an_unknown_task_has_no_details(api: ApiClient) -> None:
    answer = api.post([{"taskType": "getTaskDetails", "taskUUID": str(uuid.uuid4())}])
    assert 400 <= answer.status < 500 and not answer.data
