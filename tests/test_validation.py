from __future__ import annotations

import copy
import logging
import tracemalloc

import pytest

from mock_server.validation import (
    MAX_ERRORS_PER_TASK,
    NOT_TEXT,
    TOO_DEEP,
    describe,
    envelope_errors,
    read_audio_sources,
    task_schema_names,
    uses_audio_sources,
    validate_task,
    within_limits,
)

TASK_UUID = "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"
DOCS = "https://runware.ai/docs/models/sync-lipsync-2#request-"
PLATFORM_DOCS = "https://runware.ai/docs/platform/introduction"
SEGMENTS = "providerSettings.sync.segments"


def test_task_schemas_are_found_from_their_task_type():
    assert task_schema_names() == {
        "accountManagement": "account-management-task.json",
        "authentication": "authentication-task.json",
        "getResponse": "get-response-task.json",
        "getTaskDetails": "get-task-details-task.json",
        "mediaStorage": "media-storage-task.json",
        "videoInference": "video-inference-task.json",
    }


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "integer", "minimum": 20, "maximum": 99}, "an integer from 20 to 99"),
        ({"type": "integer", "minimum": 60}, "an integer of at least 60"),
        (
            {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.01},
            "a number from 0 to 1 in multiples of 0.01",
        ),
        ({"type": "number", "multipleOf": 0.01}, "a number in multiples of 0.01"),
        ({"enum": ["MP4", "WEBM"]}, 'one of "MP4", "WEBM"'),
        ({"const": "videoInference"}, 'exactly "videoInference"'),
        ({"type": "string", "format": "uuid"}, "a UUID v4 string"),
        ({"type": "string", "format": "uri"}, "an absolute http(s) URL"),
        ({"type": "string", "minLength": 1}, "a non-empty string"),
        ({"type": "boolean"}, "true or false"),
    ],
)
def test_allowed_values_are_described_from_the_schema(schema, words):
    assert describe(schema) == words


async def test_envelope_errors_name_the_task_they_belong_to():
    found = await envelope_errors([{"taskType": "videoInference"}, 5, {"taskUUID": "x"}, {"taskType": "nope"}])
    assert [(index, error.code, error.parameter) for index, error in found] == [
        (1, "invalidRequestBody", "[1]"),
        (2, "missingTaskType", "taskType"),
        (3, "unsupportedTaskType", "taskType"),
    ]
    assert found[1][1].task_uuid == "x"


async def test_a_task_the_validators_disagree_on_is_refused_not_accepted(monkeypatch, caplog):
    import mock_server.validation as validation

    class RefusesEverything:
        def is_valid(self, instance):
            return False

    monkeypatch.setattr(validation, "fast_validator", lambda name: RefusesEverything())
    task = {"taskType": "getResponse", "taskUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}
    (error,) = await validation.validate_task(task)
    assert (error.code, error.status) == ("internalError", 500)
    assert [index for index, _ in await validation.envelope_errors([task])] == [None]
    assert "disagree" in caplog.text


async def test_explaining_a_refused_long_string_does_not_copy_its_text_into_messages():
    text = "x" * (8 * 1024 * 1024)
    tracemalloc.start()
    try:
        errors = await envelope_errors([text])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ((index, error),) = errors
    assert (index, error.code, error.message) == (0, "invalidRequestBody", "Task [0] must be a JSON object.")
    assert peak < 1.5 * len(text)  # jsonschema's own message quoted the whole value: twice its size and more


async def test_the_validators_disagreeing_is_logged_and_named_by_the_schema(monkeypatch, caplog):
    import mock_server.validation as validation

    class RefusesEverything:
        def is_valid(self, instance):
            return False

    monkeypatch.setattr(validation, "fast_validator", lambda name: RefusesEverything())
    task = {"taskType": "getResponse", "taskUUID": TASK_UUID}
    with caplog.at_level(logging.ERROR, logger="mock_server.validation"):
        (error,) = await validation.validate_task(task)
        ((_, whole),) = await validation.envelope_errors([task])
    assert error.message == "The mock's two validators disagree on this request (get-response-task.json)."
    assert whole.message == "The mock's two validators disagree on this request (task-array.json)."
    assert [record.getMessage() for record in caplog.records] == [
        f"the validators disagree on {name}: refused by jsonschema-rs, explained by nothing"
        for name in ("get-response-task.json", "task-array.json")
    ]


NOT_TEXT_ERROR = {"code": "invalidRequestBody", "message": NOT_TEXT, "documentation": PLATFORM_DOCS}
TOO_DEEP_ERROR = {"code": "invalidRequestBody", "message": TOO_DEEP, "documentation": PLATFORM_DOCS}


def nested(depth: int, inner=1, wrap=lambda value: {"a": value}):
    for _ in range(depth):
        inner = wrap(inner)
    return inner


async def test_a_lone_surrogate_refuses_the_body_or_the_task_as_not_text():
    assert [(i, e.to_json()) for i, e in await envelope_errors([{"taskType": "\ud800"}])] == [(None, NOT_TEXT_ERROR)]
    task = {"taskType": "getResponse", "taskUUID": "\ud800"}
    assert [e.to_json() for e in await validate_task(task)] == [NOT_TEXT_ERROR]


async def test_a_body_or_a_task_nested_too_deep_for_the_explaining_validator_is_refused_as_such():
    assert [(i, e.to_json()) for i, e in await envelope_errors(nested(3000, wrap=lambda v: [v]))] == [
        (None, TOO_DEEP_ERROR)
    ]
    task = {"taskType": "videoInference", "inputs": nested(974)}
    assert [e.to_json() for e in await validate_task(task)] == [TOO_DEEP_ERROR]


def video_task(*segments) -> dict:
    return {
        "taskType": "videoInference",
        "taskUUID": TASK_UUID,
        "providerSettings": {"sync": {"segments": [*segments]}},
    }


def too_long(index: int, name: str, value, most) -> dict:
    parameter = f"{SEGMENTS}[{index}].{name}"
    return {
        "code": "invalid" + name[0].upper() + name[1:],
        "message": f"Invalid value for {parameter}: {value}. It must be at most {most} (seconds).",
        "parameter": parameter,
        "taskType": "videoInference",
        "taskUUID": TASK_UUID,
        "documentation": DOCS + parameter.lower().replace(".", "-").replace("[0]", "").replace("[1]", ""),
        "max": most,
    }


@pytest.mark.parametrize(
    ("most", "segments", "expected"),
    [
        (5, [{"startTime": 0, "endTime": 5}], []),  # at the bound: kept
        (0.5, [{"startTime": 0, "endTime": 0.4}], []),  # no audio crop: nothing past the bound
        (5, [{"startTime": 0, "endTime": 5.5}], [too_long(0, "endTime", 5.5, 5)]),
        (
            5,
            [{"startTime": 0, "endTime": 1}, {"startTime": 1, "endTime": 2, "audioStartTime": 1, "audioEndTime": 6}],
            [too_long(1, "audioEndTime", 6, 5)],
        ),
        (
            1.5,
            [{"startTime": 0, "endTime": 1}, {"startTime": 1, "endTime": 2, "audioStartTime": 1, "audioEndTime": 6}],
            [too_long(1, "endTime", 2, 1.5), too_long(1, "audioEndTime", 6, 1.5)],
        ),
    ],
)
def test_segment_windows_and_audio_crops_past_the_media_bound_are_refused(most, segments, expected):
    assert [error.to_json() for error in within_limits(video_task(*segments), most)] == expected


def test_only_a_video_task_is_held_to_the_media_bound():
    task = {**video_task({"startTime": 0, "endTime": 9}), "taskType": "getResponse"}
    assert within_limits(task, 5) == []
    assert within_limits({"taskType": "videoInference", "taskUUID": TASK_UUID}, 5) == []


@pytest.mark.parametrize(
    ("count", "listed"), [(MAX_ERRORS_PER_TASK, MAX_ERRORS_PER_TASK), (30, MAX_ERRORS_PER_TASK + 1)]
)
def test_windows_past_the_media_bound_are_listed_up_to_the_cap_then_noted(count, listed):
    segments = [{"startTime": i, "endTime": 10 + i} for i in range(count)]
    found = [error.to_json() for error in within_limits(video_task(*segments), 5)]
    assert len(found) == listed
    assert [e["parameter"] for e in found[:MAX_ERRORS_PER_TASK]] == [
        f"{SEGMENTS}[{i}].endTime" for i in range(MAX_ERRORS_PER_TASK)
    ]
    if count > MAX_ERRORS_PER_TASK:
        assert found[-1] == {
            "code": "tooManyErrors",
            "message": f"More than {MAX_ERRORS_PER_TASK} problems were found in this task; the first "
            f"{MAX_ERRORS_PER_TASK} are listed. Fix them and send it again to see the rest.",
            "taskType": "videoInference",
            "taskUUID": TASK_UUID,
            "documentation": PLATFORM_DOCS,
        }


LISTED = [{"source": "whole"}, {"id": "line", "source": "voice"}]


@pytest.mark.parametrize(
    ("task", "listed"),
    [
        ({"inputs": {"audio": LISTED}}, True),
        ({"inputs": {"audio": "voice"}}, False),
        ({"inputs": 5}, False),
        ({"inputs": {"audio": "voice"}, "providerSettings": {"sync": {"segments": [5, {"ref": "line"}]}}}, True),
        ({"providerSettings": {"sync": {"segments": [{"audio": "voice"}]}}}, False),
        ({"providerSettings": {"sync": {"segments": {"ref": "line"}}}}, False),
        ({"providerSettings": {"sync": 5}}, False),
        ({"providerSettings": 5}, False),
        ({"providerSettings": {"segments": [{"ref": "line"}]}}, False),
    ],
)
def test_the_list_form_is_told_by_a_list_of_audio_sources_or_a_segment_naming_one(task, listed):
    assert uses_audio_sources({"taskType": "videoInference", **task}) is listed


def list_task(audio=None, *segments, **fields) -> dict:
    task = {"taskType": "videoInference", "taskUUID": TASK_UUID, **fields}
    if audio is not None:
        task["inputs"] = {"video": "v", "audio": copy.deepcopy(audio)}
    if segments:
        task["providerSettings"] = {"sync": {"segments": [*segments]}}
    return task


async def test_the_list_form_is_rewritten_into_the_model_pages_form():
    task = list_task(LISTED, {"startTime": 0, "endTime": 1}, {"startTime": 1, "endTime": 2, "ref": "line"})
    assert await read_audio_sources(task) == []
    assert task["inputs"] == {"video": "v", "audio": "whole"}
    assert task["providerSettings"]["sync"]["segments"] == [
        {"startTime": 0, "endTime": 1},
        {"startTime": 1, "endTime": 2, "audio": "voice"},
    ]


@pytest.mark.parametrize(
    ("task", "inputs"),
    [
        (list_task([{"id": "line", "source": "voice"}], {"startTime": 0, "endTime": 1, "ref": "line"}), {"video": "v"}),
        (list_task(LISTED), {"video": "v", "audio": "whole"}),  # no providerSettings
        (list_task(LISTED, providerSettings={}), {"video": "v", "audio": "whole"}),  # no sync
    ],
)
async def test_a_list_form_without_a_whole_source_or_without_segments_is_read_too(task, inputs):
    assert await read_audio_sources(task) == []
    assert task["inputs"] == inputs


def bad_ref(index: int, value: str, wanted: str) -> dict:
    parameter = f"{SEGMENTS}[{index}].ref"
    return {
        "code": "invalidRef",
        "message": f'Invalid value for {parameter}: "{value}". It must be {wanted}.',
        "parameter": parameter,
        "taskType": "videoInference",
        "taskUUID": TASK_UUID,
        "documentation": DOCS + "providersettings-sync-segments-ref",
    }


SOURCES_UNUSABLE = {
    "code": "invalidAudio",
    "message": "Invalid value for inputs.audio: each id must be used once, and one source at most may have none.",
    "parameter": "inputs.audio",
    "taskType": "videoInference",
    "taskUUID": TASK_UUID,
    "documentation": DOCS + "inputs-audio",
}
NOT_A_SOURCE = "the id of an inputs.audio source"
BESIDE = "used instead of audio, not beside it"


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (list_task([*LISTED, {"id": "line", "source": "again"}]), [SOURCES_UNUSABLE]),
        (list_task([*LISTED, {"source": "again"}]), [SOURCES_UNUSABLE]),
        (
            list_task(
                LISTED,
                {"startTime": 0, "endTime": 1},
                {"startTime": 1, "endTime": 2, "ref": "nobody"},
                {"startTime": 2, "endTime": 3, "ref": "line", "audio": "a"},
            ),
            [bad_ref(1, "nobody", NOT_A_SOURCE), bad_ref(2, "line", BESIDE)],
        ),
        (list_task(None, {"startTime": 0, "endTime": 1, "ref": "line"}), [bad_ref(0, "line", NOT_A_SOURCE)]),
    ],
)
async def test_a_list_form_that_does_not_add_up_is_refused_with_the_reason(task, expected):
    before = copy.deepcopy(task)
    assert [error.to_json() for error in await read_audio_sources(task)] == expected
    assert task == before  # refused, not rewritten


async def test_a_list_form_with_more_bad_refs_than_the_cap_lists_the_first_and_a_note():
    segments = [{"startTime": i, "endTime": i + 1, "ref": "nobody"} for i in range(MAX_ERRORS_PER_TASK + 1)]
    found = [error.to_json() for error in await read_audio_sources(list_task(LISTED, *segments))]
    assert found[:-1] == [bad_ref(i, "nobody", NOT_A_SOURCE) for i in range(MAX_ERRORS_PER_TASK)]
    assert (found[-1]["code"], found[-1]["taskType"], found[-1]["taskUUID"]) == (
        "tooManyErrors",
        "videoInference",
        TASK_UUID,
    )
