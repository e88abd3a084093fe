"""Accounts and credits, through the API: getDetails, the $5 rule for video tasks, charges, refunds, the control
API's balances, namespaces and the compat switches of the refusal."""

from __future__ import annotations

import json
import uuid

import pytest

from contract_tests.payloads import example_task, with_inline_media, with_parameter
from mock_server.accounts import Accounts
from mock_server.app import create_app
from mock_server.config import Settings
from mock_server.schema_registry import validator
from tests.test_dispatcher import FakeClock, dispatcher, send

KEY = {"Authorization": "Bearer key-a"}
OTHER = {"Authorization": "Bearer key-b"}
VOICE_SECONDS_COST = 0.044  # voice.wav holds 1 s of audio


def details_task() -> dict:
    return {"taskType": "accountManagement", "taskUUID": str(uuid.uuid4()), "operation": "getDetails"}


async def app_client(aiohttp_client, **settings):
    return await aiohttp_client(create_app(Settings(processing_rate=0, **settings)))


async def post(client, tasks, headers=KEY):
    response = await client.post("/v1", json=tasks, headers=headers)
    return response.status, await response.json()


async def balance_of(client, headers=KEY) -> float:
    status, body = await post(client, [details_task()], headers)
    assert status == 200
    (item,) = body["data"]
    validator("account-details-result.json").validate(item)
    return item["balance"]["amount"]


async def run_to_outcome(client, task, headers=KEY):
    """Submit, then poll once (at rate 0 the poll waits for the render)."""
    assert (await post(client, [task], headers))[0] == 200
    return await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers)


async def test_get_details_answers_the_account_in_the_platforms_shape(aiohttp_client):
    client = await app_client(aiohttp_client, balance=12.5)
    task = details_task()
    status, body = await post(client, [task])
    assert status == 200
    (item,) = body["data"]
    validator("account-details-result.json").validate(item)
    assert (item["taskUUID"], item["operation"], item["balance"]) == (
        task["taskUUID"],
        "getDetails",
        {"amount": 12.5, "currency": "USD"},
    )
    other = (await post(client, [details_task()], OTHER))[1]["data"][0]
    assert other["organizationUUID"] != item["organizationUUID"]  # each key its own account


async def test_without_a_balance_accounts_are_never_refused(aiohttp_client):
    client = await app_client(aiohttp_client)
    assert await balance_of(client) == 1_000_000
    _, body = await run_to_outcome(client, with_inline_media(example_task()))
    assert body["data"][0]["status"] == "success"
    assert await balance_of(client) == pytest.approx(1_000_000 - VOICE_SECONDS_COST)


@pytest.mark.parametrize(("balance", "accepted"), [(5, True), (4.99, False)])
async def test_a_video_task_needs_five_dollars_of_credit(aiohttp_client, balance, accepted):
    client = await app_client(aiohttp_client, balance=balance)
    task = with_inline_media(example_task())
    status, body = await post(client, [task])
    if accepted:
        assert (status, body) == (200, {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]})
        return
    assert status == 400
    assert body["data"] == []
    (error,) = body["errors"]
    assert (error["code"], error["taskUUID"]) == ("videoInferenceInsufficientCredits", task["taskUUID"])
    validator("response-body.json").validate(body)
    # Nothing was created: a poll finds no such task.
    assert await post(client, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]) == (200, {"data": []})


@pytest.mark.parametrize(
    ("compat", "expected"),
    [
        ((), (400, "videoInferenceInsufficientCredits")),
        (("insufficient-credits-status=402",), (402, "videoInferenceInsufficientCredits")),
        (("insufficient-credits-code=insufficientCredits",), (400, "insufficientCredits")),
    ],
)
async def test_the_refusals_status_and_code_are_compat_choices(aiohttp_client, compat, expected):
    client = await app_client(aiohttp_client, balance=0, compat=compat)
    status, body = await post(client, [example_task()])
    assert (status, body["errors"][0]["code"]) == expected


async def test_each_result_is_charged_its_cost_when_rendered(aiohttp_client):
    client = await app_client(aiohttp_client, balance=10)
    task = with_parameter(with_parameter(with_inline_media(example_task()), "numberResults", 2), "includeCost", True)
    _, body = await run_to_outcome(client, task)
    assert [item["cost"] for item in body["data"]] == [VOICE_SECONDS_COST] * 2
    assert await balance_of(client) == pytest.approx(10 - 2 * VOICE_SECONDS_COST)
    assert await balance_of(client, OTHER) == 10  # another key's account is not charged


async def test_a_task_that_fails_is_not_charged(aiohttp_client):
    client = await app_client(aiohttp_client, balance=10)
    unreadable = with_parameter(with_inline_media(example_task()), "inputs.video", "bm90IGEgdmlkZW8=")
    _, body = await run_to_outcome(client, unreadable)
    assert body["errors"][0]["code"] == "unreadableMedia"
    assert await balance_of(client) == 10


async def test_a_task_that_fails_after_its_render_is_refunded(aiohttp_client):
    client = await app_client(aiohttp_client, balance=10)
    task = with_inline_media(example_task())
    response = await client.post("/v1", json=[task], headers={**KEY, "X-Mock-Fault": "fail_after_polls=2"})
    assert response.status == 200
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    first = await post(client, poll)  # the render is done: charged
    assert first[0] == 200 and await balance_of(client) == pytest.approx(10 - VOICE_SECONDS_COST)
    assert (await post(client, poll))[1]["errors"][0]["code"] == "processingFailed"
    assert await balance_of(client) == 10


async def test_a_batch_is_checked_task_by_task_and_the_rest_still_runs(aiohttp_client):
    client = await app_client(aiohttp_client, balance=1)
    video, details = example_task(), details_task()
    status, body = await post(client, [video, details])
    assert status == 200
    assert [item["taskUUID"] for item in body["data"]] == [details["taskUUID"]]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [
        ("videoInferenceInsufficientCredits", video["taskUUID"])
    ]


async def test_the_refusal_is_the_same_over_the_websocket(aiohttp_client):
    client = await app_client(aiohttp_client, balance=0)
    async with client.ws_connect("/v1") as socket:
        await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": "key-a"}]))
        await socket.receive_json(timeout=10)
        task = example_task()
        await socket.send_str(json.dumps([task, details_task()]))
        answers = [await socket.receive_json(timeout=10)]
        if "data" not in answers[0] or "errors" not in answers[0]:
            answers.append(await socket.receive_json(timeout=10))
    errors = [e for answer in answers for e in answer.get("errors", [])]
    items = [item for answer in answers for item in answer.get("data", [])]
    assert [e["code"] for e in errors] == ["videoInferenceInsufficientCredits"]
    assert [item["balance"]["amount"] for item in items] == [0]


async def test_usage_reports_are_refused_after_their_dates_are_checked(aiohttp_client):
    client = await app_client(aiohttp_client)
    usage = {**details_task(), "operation": "getUsageActivity", "startDate": "2026-11-01"}
    status, body = await post(client, [{**usage, "endDate": "2026-12-01"}])  # 30 days: the longest window
    assert (status, body["errors"][0]["code"], body["errors"][0]["parameter"]) == (400, "notSimulated", "operation")
    for end in ("2026-12-02", "2026-10-31", "2026-11-31"):  # 31 days; before the start; no such date
        status, body = await post(client, [{**usage, "endDate": end}])
        assert (status, body["errors"][0]["code"], body["errors"][0]["parameter"]) == (400, "invalidEndDate", "endDate")


async def test_the_control_api_sets_and_reads_balances(aiohttp_client):
    client = await app_client(aiohttp_client)
    await balance_of(client)
    await balance_of(client, OTHER)

    async def control(method, path, body=None, headers=None):
        response = await client.request(method, "/__mock" + path, json=body, headers=headers or {})
        return response.status, await response.json()

    assert (await control("PUT", "/balance", {"amount": 7}, KEY))[0] == 200  # one account
    assert (await balance_of(client), await balance_of(client, OTHER)) == (7, 1_000_000)
    status, body = await control("GET", "/balance")  # two accounts used: which one?
    assert (status, body["errors"][0]["code"]) == (400, "invalidControlRequest")
    assert (await control("GET", "/balance", headers=KEY))[1]["balance"] == 7

    assert (await control("PUT", "/balance", {"amount": 3}))[0] == 200  # every account, and new ones
    third = {"Authorization": "Bearer key-c"}
    assert [await balance_of(client, h) for h in (KEY, OTHER, third)] == [3, 3, 3]
    listed = (await control("GET", "/accounts"))[1]
    assert listed["startingBalance"] == 3 and [a["balance"] for a in listed["accounts"]] == [3, 3, 3]
    assert "key-a" not in json.dumps(listed)  # accounts are named by a digest, never the key

    for bad in ({}, {"amount": -1}, {"amount": "5"}, {"amount": True}):
        status, body = await control("PUT", "/balance", bad)
        assert (status, body["errors"][0]["parameter"]) == (400, "amount")
    assert (await control("PUT", "/balance", {"amount": None}))[0] == 200  # unlimited again
    assert await balance_of(client) == 1_000_000

    await control("PUT", "/balance", {"amount": 2})
    assert (await control("POST", "/reset", {}))[0] == 200  # a reset starts the accounts again, at --balance
    assert await balance_of(client) == 1_000_000


async def test_balances_are_kept_per_namespace(aiohttp_client):
    client = await app_client(aiohttp_client, balance=10)
    response = await client.put("/__mock/balance", json={"amount": 0}, headers={"X-Mock-Namespace": "a"})
    assert response.status == 200
    assert (await post(client, [example_task()], {**KEY, "X-Mock-Namespace": "a"}))[0] == 400
    assert (await post(client, [with_inline_media(example_task())], {**KEY, "X-Mock-Namespace": "b"}))[0] == 200
    assert (await post(client, [with_inline_media(example_task())], KEY))[0] == 200


def test_a_charge_may_take_a_balance_below_zero_and_the_next_video_task_is_refused():
    accounts = Accounts(5)
    assert accounts.can_start_video_task("owner")
    accounts.charge("owner", "task", 5.5)
    assert (accounts.account("owner").to_json()["balance"], accounts.can_start_video_task("owner")) == (-0.5, False)
    accounts.refund("owner", "task")
    accounts.refund("owner", "task")  # a second refund gives nothing back
    assert accounts.account("owner").to_json() == {"account": "owner", "balance": 5.0, "spent": 0.0}


def test_the_plugin_sets_and_reads_the_balance(lipsync_mock):
    lipsync_mock.set_balance(4)
    assert lipsync_mock.balance() == 4
    lipsync_mock.set_balance(8, api_key="key-a")
    assert (lipsync_mock.balance("key-a"), lipsync_mock.balance("key-b")) == (8, 4)


CREDITS_MESSAGE = (
    "Insufficient credits: a video task needs at least $5 of credit. "
    "Top up the account's balance (the mock's: PUT /__mock/balance)."
)


@pytest.mark.parametrize(
    ("compat", "status", "error"),
    [
        ((), 400, {"code": "videoInferenceInsufficientCredits"}),
        (
            (
                "insufficient-credits-status=402",
                "insufficient-credits-code=insufficientCredits",
                "error-task-type=included",
            ),
            402,
            {"code": "insufficientCredits", "taskType": "videoInference"},
        ),
    ],
)
async def test_the_credits_refusal_is_the_whole_error_in_the_chosen_code_and_status(compat, status, error):
    task_uuid = str(uuid.uuid4())
    target = dispatcher(FakeClock(), balance=0, compat=compat)
    reply = await send(target, [{**example_task(), "taskUUID": task_uuid}])
    assert (reply.status, reply.body) == (
        status,
        {
            "errors": [
                {
                    "code": error["code"],
                    "message": CREDITS_MESSAGE,
                    **({"taskType": error["taskType"]} if "taskType" in error else {}),
                    "taskUUID": task_uuid,
                    "documentation": "https://runware.ai/docs/platform/introduction",
                }
            ]
        },
    )


@pytest.mark.parametrize("operation", ["getUsageActivity", "getUsagePerformance", "getUsageErrors"])
async def test_a_usage_report_is_refused_as_not_simulated_naming_the_operation(operation):
    task = {**details_task(), "operation": operation}
    reply = await send(dispatcher(FakeClock(), compat=("error-task-type=included",)), [task])
    assert (reply.status, reply.body) == (
        400,
        {
            "errors": [
                {
                    "code": "notSimulated",
                    "message": f"The mock does not make usage reports ({operation}); "
                    "accountManagement getDetails is answered.",
                    "parameter": "operation",
                    "taskType": "accountManagement",
                    "taskUUID": task["taskUUID"],
                    "documentation": "https://runware.ai/docs/models/sync-lipsync-2#request-operation",
                }
            ]
        },
    )
