"""Every constraint of the model page: its boundary is accepted, just past it is refused, naming the parameter.

The values here are read off the model page on purpose, not from the schemas: they check the schemas too.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.client import ApiClient
from contract_tests.conformance import Conformance
from contract_tests.payloads import MISSING, PaidTask, RefusedTask, example_task, with_parameter
from contract_tests.targets import Target

SEGMENT = "providerSettings.sync.segments[0]"
V1_UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def with_segment(task: dict[str, Any]) -> dict[str, Any]:
    segment = {"startTime": 1, "endTime": 2, "audio": task["inputs"]["audio"]}
    return with_parameter(task, "providerSettings.sync.segments", [segment])


def task_with_segment() -> dict[str, Any]:
    return with_segment(example_task())


ACCEPTED: list[tuple[str, Any]] = [
    ("outputType", "URL"),
    *[("outputFormat", value) for value in ("MP4", "WEBM", "MOV")],
    ("outputQuality", 20),
    ("outputQuality", 99),
    ("webhookURL", "http://127.0.0.1:9/hook?token=abc"),
    ("webhookURL", "https://hooks.example.com/runware"),
    ("deliveryMethod", "async"),
    ("uploadEndpoint", "https://bucket.example.com/out.mp4?X-Amz-Signature=abc123&X-Amz-Expires=3600"),
    ("safety.checkContent", True),
    ("safety.checkContent", False),
    *[("safety.mode", value) for value in ("none", "fast", "full")],
    ("ttl", 60),
    ("ttl", 86400),
    ("includeCost", True),
    ("numberResults", 1),
    ("numberResults", 4),
    ("inputs.audio", MISSING),
    ("providerSettings.sync.activeSpeakerDetection.autoDetect", True),
    ("providerSettings.sync.occlusionDetectionEnabled", True),
    ("providerSettings.sync.segments", []),
    *[("providerSettings.sync.syncMode", value) for value in ("bounce", "loop", "cut_off", "silence", "remap")],
    *[("providerSettings.sync.temperature", value) for value in (0, 1, 0.0, 1.0, 0.01, 0.07, 0.29, 0.57, 0.99)],
]

SEGMENT_ACCEPTED: list[tuple[str, Any]] = [
    (f"{SEGMENT}.startTime", 0),
    (f"{SEGMENT}.startTime", 1.99),
    (f"{SEGMENT}.endTime", 1.01),
    (f"{SEGMENT}.endTime", 123.45),
]

REFUSED: list[tuple[str, Any, str]] = [
    ("taskUUID", MISSING, "missingTaskUUID"),
    ("taskUUID", V1_UUID, "invalidTaskUUID"),
    ("taskUUID", "not-a-uuid", "invalidTaskUUID"),
    ("model", MISSING, "missingModel"),
    ("model", "sync:lipsync-1@1", "invalidModel"),
    ("outputType", "base64Data", "unsupportedOutputType"),
    ("outputFormat", "mp4", "unsupportedOutputFormat"),
    ("outputFormat", "GIF", "unsupportedOutputFormat"),
    ("outputQuality", 19, "invalidOutputQuality"),
    ("outputQuality", 100, "invalidOutputQuality"),
    ("outputQuality", 50.5, "invalidOutputQuality"),
    ("outputQuality", "95", "invalidOutputQuality"),
    ("webhookURL", "not a url", "invalidWebhookURL"),
    ("webhookURL", "ftp://127.0.0.1/hook", "invalidWebhookURL"),
    ("deliveryMethod", "sync", "unsupportedDeliveryMethod"),
    ("uploadEndpoint", "/relative/path", "invalidUploadEndpoint"),
    ("safety", True, "invalidSafety"),
    ("safety.checkContent", "yes", "invalidCheckContent"),
    ("safety.mode", "slow", "unsupportedMode"),
    ("ttl", 59, "invalidTtl"),
    ("ttl", 60.5, "invalidTtl"),
    ("includeCost", 1, "invalidIncludeCost"),
    ("numberResults", 0, "invalidNumberResults"),
    ("numberResults", 5, "invalidNumberResults"),
    ("inputs", MISSING, "missingInputs"),
    ("inputs.video", MISSING, "missingVideo"),
    ("inputs.video", 5, "invalidVideo"),
    ("inputs.video", "", "invalidVideo"),
    ("inputs.audio", ["a.wav"], "invalidAudio"),
    ("inputs.image", "x.png", "unsupportedParameter"),
    ("positivePrompt", "a face", "unsupportedParameter"),
    ("providerSettings.sync.activeSpeakerDetection.autoDetect", "true", "invalidAutoDetect"),
    ("providerSettings.sync.occlusionDetectionEnabled", 0, "invalidOcclusionDetectionEnabled"),
    ("providerSettings.sync.segments", {"startTime": 0}, "invalidSegments"),
    ("providerSettings.sync.syncMode", "reverse", "unsupportedSyncMode"),
    ("providerSettings.sync.temperature", -0.01, "invalidTemperature"),
    ("providerSettings.sync.temperature", 1.01, "invalidTemperature"),
    ("providerSettings.sync.temperature", 0.505, "invalidTemperature"),
    ("providerSettings.sync.temperature", "0.5", "invalidTemperature"),
    ("providerSettings.sync.lipsyncMode", "x", "unsupportedParameter"),
]

SEGMENT_REFUSED: list[tuple[str, Any, str]] = [
    (f"{SEGMENT}.startTime", MISSING, "missingStartTime"),
    (f"{SEGMENT}.startTime", -0.01, "invalidStartTime"),
    (f"{SEGMENT}.startTime", 0.005, "invalidStartTime"),
    (f"{SEGMENT}.endTime", MISSING, "missingEndTime"),
    (f"{SEGMENT}.endTime", 1, "invalidEndTime"),
    (f"{SEGMENT}.endTime", 0.5, "invalidEndTime"),
    (f"{SEGMENT}.endTime", 1.015, "invalidEndTime"),
    (f"{SEGMENT}.audio", MISSING, "missingAudio"),
    (f"{SEGMENT}.audio", 7, "invalidAudio"),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED, ids=lambda v: repr(v))
def test_boundary_is_accepted(
    api: ApiClient, paid_task: PaidTask, conformance: Conformance, path: str, value: Any
) -> None:
    _assert_accepted(api, conformance, paid_task(with_parameter(example_task(), path, value)))


@pytest.mark.parametrize(("path", "value"), SEGMENT_ACCEPTED, ids=lambda v: repr(v))
def test_segment_boundary_is_accepted(
    api: ApiClient, paid_task: PaidTask, conformance: Conformance, path: str, value: Any
) -> None:
    _assert_accepted(api, conformance, paid_task(with_parameter(task_with_segment(), path, value)))


@pytest.mark.parametrize(("path", "value", "code"), REFUSED, ids=lambda v: repr(v))
def test_just_past_the_boundary_is_refused(
    api: ApiClient,
    refused_task: RefusedTask,
    conformance: Conformance,
    target: Target,
    path: str,
    value: Any,
    code: str,
) -> None:
    _assert_refused(api, conformance, target, with_parameter(refused_task(), path, value), path, code)


@pytest.mark.parametrize(("path", "value", "code"), SEGMENT_REFUSED, ids=lambda v: repr(v))
def test_segment_just_past_the_boundary_is_refused(
    api: ApiClient,
    refused_task: RefusedTask,
    conformance: Conformance,
    target: Target,
    path: str,
    value: Any,
    code: str,
) -> None:
    task = with_parameter(with_segment(refused_task()), path, value)
    _assert_refused(api, conformance, target, task, path, code)


@pytest.mark.parametrize("given", ["audioStartTime", "audioEndTime"])
def test_audio_times_are_refused_alone(
    api: ApiClient, refused_task: RefusedTask, conformance: Conformance, target: Target, given: str
) -> None:
    other = "audioEndTime" if given == "audioStartTime" else "audioStartTime"
    task = with_parameter(with_segment(refused_task()), f"{SEGMENT}.{given}", 0.5)
    code = "missing" + other[0].upper() + other[1:]
    error = _assert_refused(api, conformance, target, task, f"{SEGMENT}.{other}", code)
    if target.is_mock:
        assert "together" in error["message"]


@pytest.mark.parametrize(("start", "end"), [(0, 0.01), (0.07, 0.29), (1.24, 1.25)], ids=["step", "steps", "just-after"])
def test_audio_times_are_accepted_together(
    api: ApiClient, paid_task: PaidTask, conformance: Conformance, start: float, end: float
) -> None:
    task = with_parameter(task_with_segment(), f"{SEGMENT}.audioStartTime", start)
    _assert_accepted(api, conformance, paid_task(with_parameter(task, f"{SEGMENT}.audioEndTime", end)))


@pytest.mark.parametrize(("start", "end"), [(0, 0), (1.25, 1.25), (1.25, 0.5)], ids=["zero", "equal", "before"])
def test_an_audio_crop_that_does_not_end_after_it_starts_is_refused(
    api: ApiClient, refused_task: RefusedTask, conformance: Conformance, target: Target, start: float, end: float
) -> None:
    task = with_parameter(with_segment(refused_task()), f"{SEGMENT}.audioStartTime", start)
    task = with_parameter(task, f"{SEGMENT}.audioEndTime", end)
    _assert_refused(api, conformance, target, task, f"{SEGMENT}.audioEndTime", "invalidAudioEndTime")


def test_segment_windows_may_touch(api: ApiClient, paid_task: PaidTask, conformance: Conformance) -> None:
    task = task_with_segment()  # a window from 1 to 2
    segments = task["providerSettings"]["sync"]["segments"]
    segments.insert(0, {"startTime": 2, "endTime": 2.5, "audio": segments[0]["audio"]})
    segments.append({"startTime": 0, "endTime": 1, "audio": segments[0]["audio"]})
    _assert_accepted(api, conformance, paid_task(task))


@pytest.mark.parametrize(("start", "end"), [(1.99, 3), (0.5, 1.01), (1.2, 1.8)], ids=["after", "before", "inside"])
def test_overlapping_segment_windows_are_refused(
    api: ApiClient, refused_task: RefusedTask, conformance: Conformance, target: Target, start: float, end: float
) -> None:
    task = with_segment(refused_task())  # a window from 1 to 2
    segments = task["providerSettings"]["sync"]["segments"]
    segments.append({"startTime": start, "endTime": end, "audio": segments[0]["audio"]})
    # The window that starts inside an earlier-starting one is named.
    overlapping = 1 if start >= 1 else 0
    parameter = f"providerSettings.sync.segments[{overlapping}].startTime"
    _assert_refused(api, conformance, target, task, parameter, "invalidStartTime")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("audioStartTime", -0.01, "invalidAudioStartTime"),
        ("audioEndTime", -0.01, "invalidAudioEndTime"),
        ("audioStartTime", 0.333, "invalidAudioStartTime"),
        ("audioEndTime", 2.001, "invalidAudioEndTime"),
    ],
)
def test_audio_times_keep_their_own_range(
    api: ApiClient,
    refused_task: RefusedTask,
    conformance: Conformance,
    target: Target,
    field: str,
    value: Any,
    code: str,
) -> None:
    task = with_parameter(with_segment(refused_task()), f"{SEGMENT}.audioStartTime", 0.5)
    task = with_parameter(task, f"{SEGMENT}.audioEndTime", 1.5)
    task = with_parameter(task, f"{SEGMENT}.{field}", value)
    _assert_refused(api, conformance, target, task, f"{SEGMENT}.{field}", code)


def test_later_segments_are_named_by_their_index(
    api: ApiClient, refused_task: RefusedTask, conformance: Conformance, target: Target
) -> None:
    task = with_segment(refused_task())
    segments = task["providerSettings"]["sync"]["segments"]
    segments.append({"startTime": 3, "endTime": 2.5, "audio": task["inputs"]["audio"]})
    _assert_refused(api, conformance, target, task, "providerSettings.sync.segments[1].endTime", "invalidEndTime")


def test_the_full_example_is_accepted(
    api: ApiClient, paid_task: PaidTask, conformance: Conformance, target: Target
) -> None:
    task = example_task("full-task")
    if not target.is_local:  # its webhook and upload URLs point at this machine
        del task["webhookURL"], task["uploadEndpoint"]
    _assert_accepted(api, conformance, paid_task(task))


def test_every_problem_of_a_task_is_reported_once(api: ApiClient, refused_task: RefusedTask) -> None:
    task = with_parameter(refused_task(), "outputQuality", 10)
    task = with_parameter(task, "providerSettings.sync.temperature", -1.005)
    answer = api.submit(task)
    assert answer.status == 400
    assert sorted(error["parameter"] for error in answer.errors) == [
        "outputQuality",
        "providerSettings.sync.temperature",
    ]


def test_an_unknown_task_type_is_refused(
    api: ApiClient, refused_task: RefusedTask, conformance: Conformance, target: Target
) -> None:
    task = with_parameter(refused_task(), "taskType", "videoInferences")
    error = _assert_refused(api, conformance, target, task, "taskType", "unsupportedTaskType")
    if target.is_mock:
        assert set(error["allowedValues"]) >= {"videoInference", "getResponse", "authentication"}


def _assert_accepted(api: ApiClient, conformance: Conformance, task: dict[str, Any]) -> None:
    answer = api.submit(task)
    conformance.expect_accepted(task, answer)
    assert answer.status == 200, answer.body
    assert answer.body == {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}


def _assert_refused(
    api: ApiClient, conformance: Conformance, target: Target, task: dict[str, Any], parameter: str, code: str
) -> dict[str, Any]:
    """The target refuses the task naming `parameter`; the mock also with exactly `code`, and nothing else."""
    answer = api.submit(task)
    conformance.expect_refused(parameter, answer)
    assert answer.status == 400, answer.body
    assert not answer.data
    named = [error for error in answer.errors if error.get("parameter") == parameter]
    assert named, f"no error names {parameter}: {answer.errors}"
    error = named[0]
    if target.is_mock:
        assert [(e["code"], e["parameter"]) for e in answer.errors] == [(code, parameter)]
        assert error.get("taskUUID") == task.get("taskUUID")
        assert parameter.split(".")[-1].split("[")[0] in error["message"] or error["code"] == "unsupportedParameter"
    return error
