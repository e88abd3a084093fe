from __future__ import annotations

import json
import random

import pytest

from contract_tests.payloads import example_task, with_parameter
from mock_server.dispatcher import TaskDispatcher
from mock_server.media import PLACEHOLDER_SECONDS
from mock_server.models import InMemoryTaskStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def dispatcher(clock: FakeClock, rate: float = 0.5, keys: tuple[str, ...] = ("key",), seed: int = 7) -> TaskDispatcher:
    return TaskDispatcher(
        InMemoryTaskStore(), api_keys=keys, processing_rate=rate, clock=clock, rng=random.Random(seed)
    )


def send(target: TaskDispatcher, tasks, key: str | None = "key"):
    return target.handle(json.dumps(tasks).encode(), bearer_key=key, base_url="http://mock.test")


def statuses(target: TaskDispatcher, task_uuid: str) -> list[str]:
    return [item["status"] for item in send(target, [{"taskType": "getResponse", "taskUUID": task_uuid}]).body["data"]]


def test_results_finish_one_by_one_at_the_processing_rate(clock):
    target = dispatcher(clock, rate=0.5)
    task = with_parameter(example_task(), "numberResults", 3)
    send(target, [task])
    per_result = 0.5 * PLACEHOLDER_SECONDS
    expected = {
        0.0: ["processing"] * 3,
        per_result - 0.01: ["processing"] * 3,
        per_result: ["success", "processing", "processing"],
        2 * per_result + 0.5: ["success", "success", "processing"],
        3 * per_result: ["success"] * 3,
    }
    start = clock.now
    for offset, wanted in expected.items():
        clock.now = start + offset
        assert statuses(target, task["taskUUID"]) == wanted, offset


def test_a_rate_of_zero_finishes_at_the_first_poll(clock):
    target = dispatcher(clock, rate=0)
    task = with_parameter(example_task(), "numberResults", 4)
    send(target, [task])
    assert statuses(target, task["taskUUID"]) == ["success"] * 4


def test_the_file_is_served_until_its_ttl_passes(clock):
    target = dispatcher(clock, rate=0)
    task = with_parameter(example_task(), "ttl", 60)
    send(target, [task])
    (item,) = send(target, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]).body["data"]
    assert item["videoURL"] == f"http://mock.test/videos/{item['videoUUID']}.mp4"
    clock.now += 59.99
    assert target.result_file(item["videoUUID"], "mp4") is not None
    clock.now += 0.01
    assert target.result_file(item["videoUUID"], "mp4") is None
    assert statuses(target, task["taskUUID"]) == ["success"]


def test_without_ttl_the_file_is_kept(clock):
    target = dispatcher(clock, rate=0)
    task = example_task()
    send(target, [task])
    (item,) = send(target, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]).body["data"]
    clock.now += 10 * 365 * 86400
    assert target.result_file(item["videoUUID"], "mp4").spec.content_type == "video/mp4"


def test_a_file_is_not_served_before_it_is_ready_nor_under_another_extension(clock):
    target = dispatcher(clock, rate=1)
    task = with_parameter(example_task(), "outputFormat", "MOV")
    send(target, [task])
    video_uuid = target.store.get(task["taskUUID"]).results[0].video_uuid
    assert target.result_file(video_uuid, "mov") is None
    clock.now += PLACEHOLDER_SECONDS
    assert target.result_file(video_uuid, "mp4") is None
    assert target.result_file(video_uuid, "mov").spec.content_type == "video/quicktime"
    assert target.result_file("9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b", "mov") is None


@pytest.mark.parametrize(
    ("segments", "cost"),
    [
        (None, 0.088),  # the whole 2 s output
        ([(0, 1.5), (2.25, 4.1)], 0.1474),  # 1.5 s + 1.85 s of segment windows
        ([(0.07, 0.36)], 0.01276),
    ],
)
def test_cost_is_the_price_per_second_of_audio(clock, segments, cost):
    target = dispatcher(clock, rate=0)
    task = with_parameter(example_task(), "includeCost", True)
    if segments:
        windows = [{"startTime": s, "endTime": e, "audio": "http://127.0.0.1:9/a.wav"} for s, e in segments]
        task = with_parameter(task, "providerSettings.sync.segments", windows)
    send(target, [task])
    (item,) = send(target, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]).body["data"]
    assert item["cost"] == cost


@pytest.mark.parametrize(
    ("safety", "reported"),
    [
        (None, False),
        ({"checkContent": False}, False),
        ({"checkContent": True}, True),
        ({"checkContent": True, "mode": "none"}, False),
        ({"mode": "fast"}, True),
        ({"checkContent": True, "mode": "full"}, True),
    ],
)
def test_nsfw_content_is_reported_when_a_check_runs(clock, safety, reported):
    target = dispatcher(clock, rate=0)
    task = example_task() if safety is None else with_parameter(example_task(), "safety", safety)
    send(target, [task])
    (item,) = send(target, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]).body["data"]
    assert ("NSFWContent" in item) is reported
    if reported:
        assert item["NSFWContent"] is False


def test_the_task_runs_with_every_documented_default(clock):
    target = dispatcher(clock)
    task = example_task()
    send(target, [task])
    request = target.store.get(task["taskUUID"]).request
    assert {key: request[key] for key in request if key not in task} == {
        "outputType": "URL",
        "outputFormat": "MP4",
        "outputQuality": 95,
        "deliveryMethod": "async",
        "includeCost": False,
        "numberResults": 1,
        "safety": {"checkContent": False, "mode": "none"},
        "providerSettings": {
            "sync": {
                "activeSpeakerDetection": {"autoDetect": False},
                "occlusionDetectionEnabled": False,
                "syncMode": "bounce",
                "temperature": 0.5,
            }
        },
    }


def test_given_values_win_over_defaults(clock):
    target = dispatcher(clock)
    task = example_task("full-task")
    send(target, [task])
    request = target.store.get(task["taskUUID"]).request
    assert request["outputFormat"] == "MOV" and request["providerSettings"]["sync"]["temperature"] == 0.57
    assert request["providerSettings"]["sync"]["segments"][0]["audioStartTime"] == 0


def test_the_same_rng_seed_gives_the_same_results(clock):
    task = with_parameter(example_task(), "numberResults", 2)
    runs = []
    for _ in range(2):
        target = dispatcher(FakeClock(), rate=0, seed=42)
        send(target, [task])
        runs.append(send(target, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]).body)
    assert runs[0] == runs[1]


def test_with_no_keys_configured_any_key_is_accepted(clock):
    target = dispatcher(clock, keys=())
    assert send(target, [example_task()], key="anything").status == 200
    assert send(target, [example_task()], key=None).body["errors"][0]["code"] == "missingApiKey"


def test_several_keys_can_be_configured(clock):
    target = dispatcher(clock, keys=("one", "two"))
    assert send(target, [example_task()], key="two").status == 200
    assert send(target, [example_task()], key="three").status == 401


def test_a_lone_authentication_task_answers_an_empty_data_list(clock):
    reply = send(dispatcher(clock), [{"taskType": "authentication", "apiKey": "key"}], key=None)
    assert (reply.status, reply.body) == (200, {"data": []})


def test_a_refused_batch_answers_with_the_first_errors_status(clock):
    target = dispatcher(clock)
    unknown = {"taskType": "getResponse", "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"}
    reply = send(target, [unknown, with_parameter(example_task(), "ttl", 1)])
    assert reply.status == 404
    assert [e["code"] for e in reply.body["errors"]] == ["taskNotFound", "invalidTtl"]


def test_every_request_and_its_answer_is_journaled(clock):
    target = dispatcher(clock)
    first, second = example_task(), example_task()
    send(target, [first])
    send(target, [second, {"taskType": "getResponse", "taskUUID": first["taskUUID"]}])
    target.handle(b"not json", bearer_key="key", base_url="http://mock.test")
    entries = target.journal.entries()
    assert [entry.status for entry in entries] == [200, 200, 400]
    assert entries[2].tasks() == [] and entries[2].request == b"not json"
    assert [len(entry.tasks()) for entry in target.journal.entries(first["taskUUID"])] == [1, 2]
    assert (
        json.loads(target.journal.entries(second["taskUUID"])[0].response)["data"][0]["taskUUID"] == second["taskUUID"]
    )
