"""The edges of the task array and of each task's outcome, with the exact answer a client gets."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from contract_tests.payloads import data_uri, example_task, with_inline_media
from mock_server.accounts import Accounts
from mock_server.config import Compat, Settings
from mock_server.coverage import WEBSOCKET, ClientCoverage
from mock_server.dispatcher import TaskDispatcher
from mock_server.faults import FaultPlan, FaultRule, WebhookDuplicate, WebSocketClose
from mock_server.journal import RequestJournal
from mock_server.namespaces import DEFAULT, owner_of
from mock_server.timing import parse_distribution
from mock_server.variation import ResponseVariation
from tests.test_dispatcher import FakeClock, dispatcher, media_task, poll, send

PLATFORM_DOCS = "https://runware.ai/docs/platform/introduction"
DOCS = "https://runware.ai/docs/models/sync-lipsync-2#request-"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def acknowledgment(task) -> dict:
    return {"taskType": "videoInference", "taskUUID": task["taskUUID"]}


def body_error(message: str, parameter: str | None = None) -> dict:
    error = {"code": "invalidRequestBody", "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return {**error, "documentation": PLATFORM_DOCS}


async def test_a_valid_task_after_a_broken_item_still_runs(clock):
    target = dispatcher(clock)
    task = example_task()
    reply = await send(target, [5, task])
    assert (reply.status, reply.body) == (
        200,
        {"data": [acknowledgment(task)], "errors": [body_error("Task [0] must be a JSON object.", "[0]")]},
    )
    assert target.store.get(task["taskUUID"]) is not None


async def test_a_batch_in_which_nothing_ran_answers_only_errors(clock):
    reply = await send(dispatcher(clock), [5, "x"])
    assert (reply.status, reply.body) == (
        400,
        {
            "errors": [
                body_error("Task [0] must be a JSON object.", "[0]"),
                body_error("Task [1] must be a JSON object.", "[1]"),
            ]
        },
    )


async def test_exactly_the_task_cap_is_accepted_and_one_more_refused(clock):
    target = dispatcher(clock, max_tasks_per_request=3)
    tasks = [example_task() for _ in range(4)]
    reply = await send(target, tasks[:3])
    assert (reply.status, reply.body) == (200, {"data": [acknowledgment(task) for task in tasks[:3]]})
    reply = await send(target, [example_task() for _ in range(4)])
    assert (reply.status, reply.body) == (
        400,
        {
            "errors": [
                {
                    "code": "tooManyTasks",
                    "message": "The request holds more than 3 tasks; at most 3 are accepted in one request.",
                    "documentation": PLATFORM_DOCS,
                    "max": 3,
                }
            ]
        },
    )


async def test_a_dispatcher_built_with_defaults_takes_100_tasks_and_owns_its_journal_and_faults(clock):
    parts = dispatcher(clock)
    target = TaskDispatcher(parts.store, parts.runner, api_keys=("key",))
    assert isinstance(target.journal, RequestJournal) and isinstance(target.faults, FaultPlan)
    polls = [{"taskType": "getResponse", "taskUUID": str(uuid.uuid4())} for _ in range(101)]
    assert (await send(target, polls[:100])).body == {"data": []}
    assert (await send(target, polls)).body["errors"][0]["code"] == "tooManyTasks"
    task = media_task()  # the default account is charged nothing and refuses nothing
    assert (await send(target, [task])).body == {"data": [acknowledgment(task)]}
    assert target.poll_wait == Settings().poll_wait
    journal, faults, accounts, coverage = RequestJournal(), FaultPlan(), Accounts(), ClientCoverage()
    given = TaskDispatcher(
        parts.store, parts.runner, journal=journal, faults=faults, accounts=accounts, coverage=coverage
    )
    assert (given.journal, given.faults, given.accounts, given.coverage) == (journal, faults, accounts, coverage)


def test_a_dispatchers_own_coverage_counts_the_credit_code_its_compat_answers_with(clock):
    parts = dispatcher(clock)
    generic = TaskDispatcher(parts.store, parts.runner, compat=Compat(insufficient_credits_code="insufficientCredits"))
    codes = [row["name"] for row in generic.coverage.report()["sections"]["errors"]["entries"]]
    assert "insufficientCredits" in codes and "videoInferenceInsufficientCredits" not in codes


async def test_a_broken_item_without_a_key_is_refused_for_the_key(clock):
    reply = await send(dispatcher(clock), [5], key=None)
    assert (reply.status, reply.body) == (
        401,
        {
            "errors": [
                {
                    "code": "missingApiKey",
                    "message": "No API key: send 'Authorization: Bearer <key>' or an authentication task first "
                    "in the array.",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                    "documentation": DOCS + "apikey",
                }
            ]
        },
    )


async def test_an_authentication_task_whose_key_is_not_a_string_carries_no_key(clock):
    reply = await send(dispatcher(clock, keys=()), [{"taskType": "authentication", "apiKey": 5}], key=None)
    assert (reply.status, reply.body["errors"][0]["code"]) == (401, "missingApiKey")


async def test_a_wrong_key_is_refused_with_the_whole_error(clock):
    reply = await send(dispatcher(clock), [example_task()], key="other")
    assert (reply.status, reply.body) == (
        401,
        {
            "errors": [
                {
                    "code": "invalidApiKey",
                    "message": "The API key is not valid.",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                    "documentation": DOCS + "apikey",
                }
            ]
        },
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"  \n", "The request body is empty; send a JSON array of tasks."),
        (b"[NaN]", "The request body is not valid JSON: NaN is not a JSON number."),
        (b"[-Infinity]", "The request body is not valid JSON: -Infinity is not a JSON number."),
        (
            b"[" * 100_000,
            "The request body holds more than 20000 values, arrays or objects (counted by their commas, brackets and "
            "braces); a task array needs far fewer.",
        ),
        (b"[1,", "The request body is not valid JSON: Expecting value: line 1 column 4 (char 3)."),
    ],
)
async def test_a_body_that_is_not_json_is_refused_saying_why(clock, raw, message):
    reply = await dispatcher(clock).handle(raw, bearer_key="key", base_url="http://mock.test")
    assert (reply.status, reply.body) == (400, {"errors": [body_error(message)]})


@pytest.mark.parametrize("error_task_type", ["omitted", "included"])
async def test_a_task_uuid_used_twice_is_refused_the_second_time(clock, error_task_type):
    target = dispatcher(clock, compat=(f"error-task-type={error_task_type}",))
    task = example_task()
    await send(target, [task])
    reply = await send(target, [task])
    shown = {"taskType": "videoInference"} if error_task_type == "included" else {}
    assert (reply.status, reply.body) == (
        400,
        {
            "errors": [
                {
                    "code": "conflictTaskUUID",
                    "message": "This taskUUID was already used; every task needs a new UUID v4.",
                    "parameter": "taskUUID",
                    **shown,
                    "taskUUID": task["taskUUID"],
                    "documentation": DOCS + "taskuuid",
                }
            ]
        },
    )


async def test_polling_an_unknown_task_names_it_when_asked(clock):
    task_uuid = str(uuid.uuid4())
    reply = await send(
        dispatcher(clock, compat=("unknown-task-poll=not-found",)), [{"taskType": "getResponse", "taskUUID": task_uuid}]
    )
    assert (reply.status, reply.body) == (
        404,
        {
            "errors": [
                {
                    "code": "taskNotFound",
                    "message": "No task with this taskUUID was submitted to this server.",
                    "parameter": "taskUUID",
                    "taskUUID": task_uuid,
                    "documentation": DOCS + "taskuuid",
                }
            ]
        },
    )


def storage(**fields) -> dict:
    return {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), **fields}


async def test_an_upload_of_unreadable_media_is_refused_naming_the_task(clock):
    upload = storage(operation="upload", media="data:video/mp4;name=x,not-base64")
    reply = await send(dispatcher(clock), [upload])
    assert (reply.status, reply.body) == (
        400,
        {
            "errors": [
                {
                    "code": "unreadableMedia",
                    "message": "media cannot be read: a data URI must be base64-encoded (data:<type>;base64,<data>).",
                    "parameter": "media",
                    "documentation": DOCS + "media",
                    "taskUUID": upload["taskUUID"],
                }
            ]
        },
    )


async def test_deleting_an_upload_answers_its_uuid_once_then_not_found(clock):
    target = dispatcher(clock)
    (uploaded,) = (await send(target, [storage(operation="upload", media=data_uri("voice.wav"))])).body["data"]
    media_uuid = uploaded["mediaUUID"]
    assert target.store.get_media(media_uuid).data[:4] == b"RIFF"
    delete = storage(operation="delete", mediaUUID=media_uuid.upper())
    reply = await send(target, [delete])
    assert (reply.status, reply.body) == (
        200,
        {
            "data": [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": delete["taskUUID"],
                    "operation": "delete",
                    "mediaUUID": media_uuid,
                }
            ]
        },
    )
    assert target.store.get_media(media_uuid) is None
    again = storage(operation="delete", mediaUUID=media_uuid)
    reply = await send(target, [again])
    assert (reply.status, reply.body) == (
        404,
        {
            "errors": [
                {
                    "code": "mediaNotFound",
                    "message": "No uploaded media has this mediaUUID.",
                    "parameter": "mediaUUID",
                    "documentation": DOCS + "mediauuid",
                    "taskUUID": again["taskUUID"],
                }
            ]
        },
    )


async def test_an_upload_is_kept_for_the_retention_from_when_it_was_made(clock):
    target = dispatcher(clock)
    (uploaded,) = (await send(target, [storage(operation="upload", media=data_uri("voice.wav"))])).body["data"]
    clock.now += 50
    await target.runner.expire(retention=60)
    assert target.store.get_media(uploaded["mediaUUID"]) is not None
    clock.now += 11
    await target.runner.expire(retention=60)
    assert target.store.get_media(uploaded["mediaUUID"]) is None


async def test_faults_of_the_request_and_of_matching_rules_go_with_the_acknowledged_tasks(clock):
    target = dispatcher(clock)
    task, refused = example_task(), {**example_task(), "ttl": 1}
    target.faults.add_rule(FaultRule(WebhookDuplicate(), task_uuid=task["taskUUID"]))
    raw = json.dumps([task, refused]).encode()
    reply = await target.handle(raw, bearer_key="key", base_url="http://mock.test", faults=(WebSocketClose(),))
    assert reply.task_faults == (WebSocketClose(), WebhookDuplicate())
    assert target.store.get(task["taskUUID"]).faults == (WebSocketClose(), WebhookDuplicate())
    reply = await target.handle(raw, bearer_key="key", base_url="http://mock.test", faults=(WebSocketClose(),))
    assert reply.task_faults == ()  # both refused this time: nothing acknowledged


async def test_each_request_is_journaled_when_it_is_answered(clock):
    target = dispatcher(clock)
    before = time.time()
    await send(target, [example_task()])
    (entry,) = target.journal.entries()
    assert before <= entry.received_at <= time.time()


async def test_results_get_distinct_seeds_over_the_whole_positive_31_bit_range(clock):
    target = dispatcher(clock)
    seeds = []
    for _ in range(10):
        task = {**example_task(), "numberResults": 4}
        await send(target, [task])
        results = target.store.get(task["taskUUID"]).results
        assert len({result.seed for result in results}) == 4
        assert all(uuid.UUID(result.video_uuid).version == 4 for result in results)
        seeds += [result.seed for result in results]
    assert all(isinstance(seed, int) and 1 <= seed < 2**31 for seed in seeds)
    assert max(seeds) > 2**24


async def test_seeding_repeats_the_uuids_seeds_chaos_and_processing_times(clock):
    target = dispatcher(clock, seed=None, processing_time=parse_distribution("lognormal:median=40,p95=110"))
    target.faults.chaos = 0.5
    runs = []
    for _ in range(2):
        target.seed(11)
        times = target.runner.lifecycle.take_ready_times(str(uuid.uuid4()), DEFAULT, 0.0, 1.0, 3, 0.0)
        task = {**example_task(), "numberResults": 2}
        await send(target, [task])
        results = target.store.get(task["taskUUID"]).results
        chaos = [target.faults.request_faults([]) for _ in range(20)]
        runs.append(([(result.video_uuid, result.seed) for result in results], chaos, times))
    assert runs[0] == runs[1]


async def test_the_content_check_reports_nsfw_when_the_video_reference_says_so(clock):
    target = dispatcher(clock, rate=0)
    video = data_uri("speaker.mp4").replace("data:video/mp4;", "data:video/mp4;name=NSFW-clip;")
    task = {**with_inline_media(example_task()), "safety": {"checkContent": True}}
    task["inputs"]["video"] = video
    await send(target, [task])
    (item,) = (await poll(target, task["taskUUID"]))["data"]
    assert item["NSFWContent"] is True


async def in_namespace(target: TaskDispatcher, namespace: str, tasks) -> dict:
    raw = json.dumps(tasks).encode()
    return (await target.handle(raw, bearer_key="key", base_url="http://mock.test", namespace=namespace)).body


def met(target: TaskDispatcher, namespace: str) -> list[str]:
    sections = target.coverage.report(namespace)["sections"].values()
    return [row["name"] for section in sections for row in section["entries"] if row["met"]]


async def test_a_reset_of_one_namespace_forgets_its_work_and_keeps_every_other_namespaces(clock):
    target = dispatcher(clock, rate=0.5, balance=100)
    tasks = {namespace: media_task() for namespace in ("a", "b")}
    for namespace, task in tasks.items():
        await in_namespace(target, namespace, [task])
        target.faults.add_rule(FaultRule(WebhookDuplicate(), namespace=namespace))
        target.accounts.set_balance(50, namespace)
    kept = {
        "journal": len(target.journal.entries(namespace="b")),
        "coverage": met(target, "b"),
        "rules": target.faults.rules("b"),
    }
    assert all(kept.values())
    target.reset("a")
    await target.runner.idle()  # the work of the reset namespace was stopped: nothing of it is charged
    owner_a, owner_b = owner_of("key", "a"), owner_of("key", "b")
    assert target.accounts.account(owner_a).to_json()["spent"] == 0
    assert (target.journal.entries(namespace="a"), target.faults.rules("a"), met(target, "a")) == ([], [], [])
    assert kept == {
        "journal": len(target.journal.entries(namespace="b")),
        "coverage": met(target, "b"),
        "rules": target.faults.rules("b"),
    }
    assert target.task_details.find(owner_a, tasks["a"]["taskUUID"]) is None
    assert target.task_details.find(owner_b, tasks["b"]["taskUUID"]) is not None
    assert (target.accounts.starting_balance_view("a"), target.accounts.starting_balance_view("b")) == (100, 50)
    clock.now += 60
    assert (await in_namespace(target, "a", [poll_of(tasks["a"])])) == {"data": []}
    assert [item["status"] for item in (await in_namespace(target, "b", [poll_of(tasks["b"])]))["data"]] == ["success"]
    target.reset()
    assert (target.journal.entries(), target.faults.rules(), met(target, "b")) == ([], [], [])
    assert target.accounts.starting_balance_view("b") == 100
    assert (await in_namespace(target, "b", [poll_of(tasks["b"])])) == {"data": []}


def poll_of(task) -> dict:
    return {"taskType": "getResponse", "taskUUID": task["taskUUID"]}


async def test_an_upload_answers_its_uuid_and_url_and_only_its_account_may_name_it(clock):
    target = dispatcher(clock, keys=("key", "other"))
    upload = storage(operation="upload", media=data_uri("voice.wav"))
    reply = await send(target, [upload])
    (item,) = reply.body["data"]
    media_uuid = item["mediaUUID"]
    assert (reply.status, item) == (
        200,
        {
            "taskType": "mediaStorage",
            "taskUUID": upload["taskUUID"],
            "operation": "upload",
            "mediaUUID": media_uuid,
            "mediaURL": f"http://mock.test/media/{media_uuid}",
        },
    )
    named = storage(operation="upload", media=media_uuid)
    reply = await send(target, [named], key="other")
    assert (reply.status, reply.body["errors"][0]["code"]) == (404, "mediaNotFound")
    assert (await send(target, [named])).status == 200


@pytest.mark.parametrize("output_format", ["MP4", "WEBM", "MOV"])
async def test_a_finished_result_is_served_at_a_url_with_its_containers_extension(clock, output_format):
    target = dispatcher(clock, rate=0.5)
    task = with_inline_media({**example_task(), "outputFormat": output_format})
    await send(target, [task])
    await target.runner.idle()
    clock.now += 60
    (item,) = (await poll(target, task["taskUUID"]))["data"]
    assert item["videoURL"] == f"http://mock.test/videos/{item['videoUUID']}.{output_format.lower()}"


async def test_an_answer_is_counted_in_the_coverage_of_its_namespace_and_transport(clock):
    target = dispatcher(clock)
    task = media_task()
    raw = json.dumps([task, {**task, "taskUUID": "x"}]).encode()
    fault = WebSocketClose()
    reply = await target.handle(
        raw, bearer_key="key", base_url="http://mock.test", namespace="a", transport=WEBSOCKET, faults=(fault,)
    )
    assert reply.task_type_counts == {"videoInference": 2}
    assert reply.task_faults == (fault,)
    met_in_a = met(target, "a")
    assert {"taskType=videoInference", WEBSOCKET, "invalidTaskUUID", fault.kind} <= set(met_in_a)
    assert "REST" not in met_in_a and met(target, DEFAULT) == []


async def test_a_rule_set_in_a_namespace_goes_to_the_tasks_submitted_in_it(clock):
    target = dispatcher(clock)
    target.faults.add_rule(FaultRule(WebhookDuplicate(), namespace="a"))
    tasks = {namespace: media_task() for namespace in ("a", "b")}
    for namespace, task in tasks.items():
        await in_namespace(target, namespace, [task])
    assert [fault.kind for fault in target.store.get(tasks["a"]["taskUUID"]).faults] == [WebhookDuplicate.kind]
    assert target.store.get(tasks["b"]["taskUUID"]).faults == ()


async def test_varied_answers_are_the_plain_answers_varied_from_the_seed(clock):
    plain, varied = dispatcher(clock, rate=0.5), dispatcher(clock, rate=0.5, vary_responses=3)
    expected = ResponseVariation(3)
    task = media_task(numberResults=3)
    acknowledged = (await send(plain, [task])).body
    assert (await send(varied, [task])).body == expected.body(acknowledged)
    await plain.runner.idle()
    await varied.runner.idle()
    clock.now += 60
    polled = await poll(plain, task["taskUUID"])
    assert await poll(varied, task["taskUUID"]) == expected.body({"data": expected.poll_items(polled["data"])})
