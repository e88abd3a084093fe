from __future__ import annotations

import json

import pytest

from contract_tests.payloads import data_uri, example_task, with_inline_media, with_parameter
from mock_server.app import create_dispatcher
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher

FIXTURE_SECONDS = 1.0  # fixtures/media: a 1 s video and a 1 s voice


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def dispatcher(clock, rate: float = 0.5, keys: tuple[str, ...] = ("key",), seed: int = 7, **settings) -> TaskDispatcher:
    chosen = Settings(processing_rate=rate, api_keys=keys, seed=seed, render_workers=1, **settings)
    return create_dispatcher(chosen, clock=clock)


async def send(target: TaskDispatcher, tasks, key: str | None = "key"):
    return await target.handle(json.dumps(tasks).encode(), bearer_key=key, base_url="http://mock.test")


async def poll(target: TaskDispatcher, task_uuid: str):
    return (await send(target, [{"taskType": "getResponse", "taskUUID": task_uuid}])).body


async def statuses(target: TaskDispatcher, task_uuid: str) -> list[str]:
    return [item["status"] for item in (await poll(target, task_uuid))["data"]]


def media_task(**parameters):
    return with_inline_media({**example_task(), **parameters})


async def test_results_finish_one_by_one_at_the_processing_rate(clock):
    target = dispatcher(clock, rate=0.5)
    task = media_task(numberResults=3)
    await send(target, [task])
    assert await statuses(target, task["taskUUID"]) == ["processing"] * 3  # still rendering
    await target.runner.idle()
    per_result = 0.5 * FIXTURE_SECONDS
    expected = {
        per_result - 0.01: ["processing"] * 3,
        per_result: ["success", "processing", "processing"],
        2 * per_result + 0.25: ["success", "success", "processing"],
        3 * per_result: ["success"] * 3,
    }
    start = clock.now
    for offset, wanted in expected.items():
        clock.now = start + offset
        assert await statuses(target, task["taskUUID"]) == wanted, offset


async def test_processing_items_carry_no_progress_by_default(clock):
    target = dispatcher(clock, rate=0.5)
    task = media_task()
    await send(target, [task])
    await target.runner.idle()
    assert (await poll(target, task["taskUUID"]))["data"] == [
        {"taskType": "videoInference", "taskUUID": task["taskUUID"], "status": "processing"}
    ]


async def test_processing_items_show_progress_growing_to_the_ready_time_when_asked(clock):
    target = dispatcher(clock, rate=0.5, compat=("progress=included",))
    task = media_task(numberResults=2)
    await send(target, [task])
    assert [item["progress"] for item in (await poll(target, task["taskUUID"]))["data"]] == [0, 0]  # rendering
    await target.runner.idle()
    start = clock.now  # the results are ready at start + 0.5 s and start + 1 s
    seen = []
    for offset in (0.25, 0.499, 0.75, 0.999, 1.0):
        clock.now = start + offset
        seen.append([item.get("progress") for item in (await poll(target, task["taskUUID"]))["data"]])
    assert seen == [[50, 25], [99, 49], [None, 75], [None, 99], [None, None]]


async def test_a_rate_of_zero_finishes_at_the_first_poll(clock):
    target = dispatcher(clock, rate=0)
    task = media_task(numberResults=4)
    await send(target, [task])
    assert await statuses(target, task["taskUUID"]) == ["success"] * 4


@pytest.mark.parametrize(
    ("segments", "keep_audio", "cost"),
    [
        (None, True, 0.044),  # the whole 1 s voice
        ([(0, 0.4), (0.5, 0.9)], False, 0.0352),  # 0.4 s + 0.4 s of segment audio placed
        ([(0.07, 0.36)], False, 0.01276),
        ([(0.25, 0.5)], True, 0.044),  # 0.75 s of inputs.audio heard outside the window + 0.25 s inside
        ([(0, 0.9, 0, 0.3)], False, 0.0132),  # a window filled with a 0.3 s crop: 0.3 s used
    ],
)
async def test_cost_is_the_price_per_second_of_audio_used(clock, segments, keep_audio, cost):
    target = dispatcher(clock, rate=0)
    task = media_task(includeCost=True)
    if segments:
        windows = []
        for start, end, *crop in segments:
            window = {"startTime": start, "endTime": end, "audio": data_uri("voice.wav")}
            windows.append(window | ({"audioStartTime": crop[0], "audioEndTime": crop[1]} if crop else {}))
        task = with_parameter(task, "providerSettings.sync.segments", windows)
        if not keep_audio:
            del task["inputs"]["audio"]
    await send(target, [task])
    (item,) = (await poll(target, task["taskUUID"]))["data"]
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
async def test_nsfw_content_is_reported_when_a_check_runs(clock, safety, reported):
    target = dispatcher(clock, rate=0)
    task = media_task() if safety is None else media_task(safety=safety)
    await send(target, [task])
    (item,) = (await poll(target, task["taskUUID"]))["data"]
    assert ("NSFWContent" in item) is reported
    if reported:
        assert item["NSFWContent"] is False


async def test_the_task_runs_with_every_documented_default(clock):
    target = dispatcher(clock)
    task = example_task()
    await send(target, [task])
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


async def test_given_values_win_over_defaults(clock):
    target = dispatcher(clock)
    task = example_task("full-task")
    await send(target, [task])
    request = target.store.get(task["taskUUID"]).request
    assert request["outputFormat"] == "MOV" and request["providerSettings"]["sync"]["temperature"] == 0.57
    assert request["providerSettings"]["sync"]["segments"][0]["audioStartTime"] == 0


async def test_the_same_rng_seed_gives_the_same_results():
    task = media_task(numberResults=2)
    runs = []
    for _ in range(2):
        target = dispatcher(FakeClock(), rate=0, seed=42)
        await send(target, [task])
        runs.append(await poll(target, task["taskUUID"]))
    assert runs[0] == runs[1]


async def test_with_no_keys_configured_any_key_is_accepted(clock):
    target = dispatcher(clock, keys=())
    assert (await send(target, [example_task()], key="anything")).status == 200
    assert (await send(target, [example_task()], key=None)).body["errors"][0]["code"] == "missingApiKey"


async def test_several_keys_can_be_configured(clock):
    target = dispatcher(clock, keys=("one", "two"))
    assert (await send(target, [example_task()], key="two")).status == 200
    assert (await send(target, [example_task()], key="three")).status == 401


async def test_a_lone_authentication_task_answers_an_empty_data_list(clock):
    reply = await send(dispatcher(clock), [{"taskType": "authentication", "apiKey": "key"}], key=None)
    assert (reply.status, reply.body) == (200, {"data": []})


async def test_a_refused_batch_answers_with_the_first_errors_status(clock):
    target = dispatcher(clock, compat=("unknown-task-poll=not-found",))
    unknown = {"taskType": "getResponse", "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"}
    reply = await send(target, [with_parameter(example_task(), "ttl", 1), unknown])
    assert reply.status == 400
    assert [e["code"] for e in reply.body["errors"]] == ["invalidTtl", "taskNotFound"]


async def test_every_request_and_its_answer_is_journaled(clock):
    target = dispatcher(clock)
    first, second = example_task(), example_task()
    await send(target, [first])
    await send(target, [second, {"taskType": "getResponse", "taskUUID": first["taskUUID"]}])
    await target.handle(b"not json", bearer_key="key", base_url="http://mock.test")
    entries = target.journal.entries()
    assert [entry.status for entry in entries] == [200, 200, 400]
    assert entries[2].tasks() == [] and entries[2].request == b"not json"
    assert [len(entry.tasks()) for entry in target.journal.entries(first["taskUUID"])] == [1, 2]
    assert (
        json.loads(target.journal.entries(second["taskUUID"])[0].response)["data"][0]["taskUUID"] == second["taskUUID"]
    )


@pytest.mark.parametrize(
    ("inputs", "code", "parameter"),
    [
        ({"video": "http://127.0.0.1:9/nothing.mp4", "audio": "x"}, "downloadFailed", "inputs.video"),
        ({"video": "data:video/mp4;base64,bm90IGEgdmlkZW8=", "audio": "<audio>"}, "unreadableMedia", "inputs.video"),
        ({"video": "!!not base64!!"}, "unreadableMedia", "inputs.video"),
        ({"video": "data:text/plain,plain"}, "unreadableMedia", "inputs.video"),
        ({"video": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}, "mediaNotFound", "inputs.video"),
        ({"video": "<video>"}, "missingAudio", "inputs.audio"),
        ({"video": "<video>", "audio": "<video-as-audio-ok>"}, None, None),
        ({"video": "<audio>", "audio": "<audio>"}, "unreadableMedia", "inputs.video"),
        ({"video": "<video>", "audio": "aGVsbG8="}, "unreadableMedia", "inputs.audio"),
    ],
)
async def test_bad_media_fails_the_task_with_an_error_naming_the_input(clock, inputs, code, parameter):
    replace = {
        "<video>": data_uri("speaker.mp4"),
        "<audio>": data_uri("voice.wav"),
        "<video-as-audio-ok>": data_uri("speaker.mp4"),
    }
    target = dispatcher(clock, rate=0)
    task = {**example_task(), "inputs": {k: replace.get(v, v) for k, v in inputs.items()}}
    assert (await send(target, [task])).status == 200
    body = await poll(target, task["taskUUID"])
    if code is None:
        assert body["data"][0]["status"] == "success"
        return
    (error,) = body["errors"]
    assert (error["code"], error["parameter"], error["taskUUID"], error["status"]) == (
        code,
        parameter,
        task["taskUUID"],
        "error",
    )
    assert parameter in error["message"]


async def test_media_caps_fail_the_task(clock):
    target = dispatcher(clock, rate=0, max_media_bytes=20_000, max_media_seconds=0.5)
    big = media_task()  # the 32 kB voice is over 20 kB
    short_cap = {**example_task(), "inputs": {"video": data_uri("speaker.mp4"), "audio": data_uri("speaker.mp4")}}
    for task, code in [(big, "mediaTooLarge"), (short_cap, "mediaTooLong")]:
        await send(target, [task])
        assert (await poll(target, task["taskUUID"]))["errors"][0]["code"] == code


async def test_uploads_can_be_named_by_inputs_and_deleted(clock):
    target = dispatcher(clock, rate=0)
    uploads = {}
    for name in ("speaker.mp4", "voice.wav"):
        upload = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload"}
        reply = await send(target, [{**upload, "media": data_uri(name)}])
        (item,) = reply.body["data"]
        assert item["mediaURL"] == f"http://mock.test/media/{item['mediaUUID']}"
        uploads[name] = item["mediaUUID"]
    task = {**example_task(), "inputs": {"video": uploads["speaker.mp4"], "audio": uploads["voice.wav"]}}
    await send(target, [task])
    assert (await poll(target, task["taskUUID"]))["data"][0]["status"] == "success"
    delete = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "delete"}
    assert (await send(target, [{**delete, "mediaUUID": uploads["voice.wav"]}])).status == 200
    again = await send(target, [{**delete, "mediaUUID": uploads["voice.wav"]}])
    assert (again.status, again.body["errors"][0]["code"]) == (404, "mediaNotFound")
    task = {**example_task(), "inputs": {"video": uploads["speaker.mp4"], "audio": uploads["voice.wav"]}}
    await send(target, [task])
    assert (await poll(target, task["taskUUID"]))["errors"][0]["code"] == "mediaNotFound"


async def test_a_media_storage_task_needs_what_its_operation_needs(clock):
    target = dispatcher(clock)
    base = {"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"]}
    cases = [
        ({"operation": "upload"}, "missingMedia"),
        ({"operation": "delete"}, "missingMediaUUID"),
        ({"operation": "move", "media": "x"}, "unsupportedOperation"),
    ]
    for extra, code in cases:
        assert [e["code"] for e in (await send(target, [{**base, **extra}])).body["errors"]] == [code]


async def test_integral_floats_count_as_the_integers_they_are(clock):
    target = dispatcher(clock, rate=0)
    task = media_task(numberResults=2.0, outputQuality=80.0, ttl=120.0)
    assert (await send(target, [task])).status == 200
    assert await statuses(target, task["taskUUID"]) == ["success", "success"]
    request = target.store.get(task["taskUUID"]).request
    assert (request["numberResults"], request["outputQuality"], request["ttl"]) == (2, 80, 120)
    assert all(isinstance(request[k], int) for k in ("numberResults", "outputQuality", "ttl"))


async def test_an_authentication_task_is_validated_too(clock):
    auth = {"taskType": "authentication", "apiKey": "key", "connectionSessionUUID": "not-a-uuid"}
    reply = await send(dispatcher(clock), [auth], key=None)
    assert [(e["code"], e["parameter"]) for e in reply.body["errors"]] == [
        ("invalidConnectionSessionUUID", "connectionSessionUUID")
    ]


async def test_a_poll_at_rate_zero_waits_for_its_render_at_most_poll_wait(clock, aiohttp_server):
    import asyncio

    from tests.test_rest import HeldMedia

    held = HeldMedia()  # the render waits for its video until the test ends
    video = await held.serve(aiohttp_server)
    target = dispatcher(clock, rate=0, poll_wait=0.2)
    task = {**media_task(), "inputs": {**media_task()["inputs"], "video": video}}
    await send(target, [task])
    started = asyncio.get_running_loop().time()
    assert await statuses(target, task["taskUUID"]) == ["processing"]
    assert asyncio.get_running_loop().time() - started < 2
    held.release.set()
    await target.runner.close()
