"""The whole error object of a refused task — code, message, parameter, task ids, documentation and limits —
for one case of each rule the schema states, sent through the dispatcher as a client sends it."""

from __future__ import annotations

import pytest

from contract_tests.payloads import MISSING, example_task, with_parameter
from mock_server.validation import describe
from tests.test_dispatcher import FakeClock, dispatcher, send

TASK_UUID = "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b"
DOCS = "https://runware.ai/docs/models/sync-lipsync-2#request-"
IDS = {"taskUUID": TASK_UUID}  # errors carry no taskType (--compat error-task-type=omitted, the default)
SEGMENT = "providerSettings.sync.segments"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def task(path: str, value):
    return with_parameter({**example_task(), "taskUUID": TASK_UUID}, path, value)


def segment(**fields):
    return [{"startTime": 0, "endTime": 1, "audio": "a", **fields}]


async def refusal(clock, tasks, status: int = 400) -> list[dict]:
    reply = await send(dispatcher(clock), tasks)
    assert set(reply.body) == {"errors"}, reply.body
    assert reply.status == status
    return reply.body["errors"]


def error(code: str, parameter: str, message: str, anchor: str, **limits) -> dict:
    return {
        "code": code,
        "message": message,
        "parameter": parameter,
        **IDS,
        "documentation": DOCS + anchor,
        **limits,
    }


RULES = {
    "range": (
        ("outputQuality", 10),
        error(
            "invalidOutputQuality",
            "outputQuality",
            "Invalid value for outputQuality: 10. It must be an integer from 20 to 99.",
            "outputquality",
            type="integer",
            min=20,
            max=99,
            default=95,
        ),
    ),
    "minimum only": (
        ("ttl", 59),
        error(
            "invalidTtl",
            "ttl",
            "Invalid value for ttl: 59. It must be an integer of at least 60.",
            "ttl",
            type="integer",
            min=60,
        ),
    ),
    "enum": (
        ("outputFormat", "GIF"),
        error(
            "unsupportedOutputFormat",
            "outputFormat",
            'Invalid value for outputFormat: "GIF". It must be one of "MP4", "WEBM", "MOV".',
            "outputformat",
            allowedValues=["MP4", "WEBM", "MOV"],
        ),
    ),
    "step": (
        ("providerSettings.sync.temperature", 0.505),
        error(
            "invalidTemperature",
            "providerSettings.sync.temperature",
            "Invalid value for providerSettings.sync.temperature: 0.505. "
            "It must be a number from 0 to 1 in multiples of 0.01.",
            "providersettings-sync-temperature",
            type="number",
            min=0,
            max=1,
            multiplier=0.01,
            default=0.5,
        ),
    ),
    "order": (
        (SEGMENT, segment(startTime=2, endTime=2)),
        error(
            "invalidEndTime",
            f"{SEGMENT}[0].endTime",
            f"Invalid value for {SEGMENT}[0].endTime: 2. It must be greater than startTime (2).",
            "providersettings-sync-segments-endtime",
            type="number",
        ),
    ),
    "order, the end before the start": (
        (SEGMENT, segment(startTime=3.5, endTime=1.25)),
        error(
            "invalidEndTime",
            f"{SEGMENT}[0].endTime",
            f"Invalid value for {SEGMENT}[0].endTime: 1.25. It must be greater than startTime (3.5).",
            "providersettings-sync-segments-endtime",
            type="number",
        ),
    ),
    "windows that overlap": (
        (SEGMENT, [*segment(endTime=2), *segment(startTime=1.5, endTime=3)]),
        error(
            "invalidStartTime",
            f"{SEGMENT}[1].startTime",
            f"Invalid value for {SEGMENT}[1].startTime: 1.5. "
            "It must be greater than or equal to the end of the window before it (2): windows must not overlap.",
            "providersettings-sync-segments-starttime",
            type="number",
        ),
    ),
    "required": (
        ("inputs", MISSING),
        error("missingInputs", "inputs", "Missing required parameter inputs.", "inputs"),
    ),
    "required inside an object": (
        ("inputs", {}),
        error("missingVideo", "inputs.video", "Missing required parameter inputs.video.", "inputs-video"),
    ),
    "required together": (
        (SEGMENT, segment(audioStartTime=1)),
        error(
            "missingAudioEndTime",
            f"{SEGMENT}[0].audioEndTime",
            f"{SEGMENT}[0].audioEndTime is required when audioStartTime is given: "
            "audioStartTime and audioEndTime must be used together.",
            "providersettings-sync-segments-audioendtime",
        ),
    ),
    "required together, the other way": (
        (SEGMENT, segment(audioEndTime=1)),
        error(
            "missingAudioStartTime",
            f"{SEGMENT}[0].audioStartTime",
            f"{SEGMENT}[0].audioStartTime is required when audioEndTime is given: "
            "audioEndTime and audioStartTime must be used together.",
            "providersettings-sync-segments-audiostarttime",
        ),
    ),
    "const": (
        ("model", "sync:lipsync-1@1"),
        error(
            "invalidModel",
            "model",
            'Invalid value for model: "sync:lipsync-1@1". It must be exactly "sync:lipsync-2@1".',
            "model",
            type="string",
            allowedValues=["sync:lipsync-2@1"],
        ),
    ),
    "type, boolean": (
        ("includeCost", "yes"),
        error(
            "invalidIncludeCost",
            "includeCost",
            'Invalid value for includeCost: "yes". It must be true or false.',
            "includecost",
            type="boolean",
            default=False,
        ),
    ),
    "type, object": (
        ("safety", 5),
        error(
            "invalidSafety",
            "safety",
            "Invalid value for safety: 5. It must be a JSON object.",
            "safety",
            type="object",
        ),
    ),
    "type, array": (
        (SEGMENT, {"startTime": 0}),
        error(
            "invalidSegments",
            SEGMENT,
            f'Invalid value for {SEGMENT}: {{"startTime": 0}}. It must be a JSON array.',
            "providersettings-sync-segments",
            type="array",
        ),
    ),
    "an item of an array that is not an object": (
        (SEGMENT, [5]),
        error(
            "invalidSegments",
            f"{SEGMENT}[0]",
            f"Invalid value for {SEGMENT}[0]: 5. It must be a JSON object.",
            "providersettings-sync-segments",
            type="object",
        ),
    ),
    "a string where a number goes": (
        (SEGMENT, segment(startTime="0")),
        error(
            "invalidStartTime",
            f"{SEGMENT}[0].startTime",
            f'Invalid value for {SEGMENT}[0].startTime: "0". It must be a number of at least 0 in multiples of 0.01.',
            "providersettings-sync-segments-starttime",
            type="number",
            min=0,
            multiplier=0.01,
        ),
    ),
    "empty inputs.audio": (
        ("inputs.audio", ""),
        error(
            "invalidAudio",
            "inputs.audio",
            'Invalid value for inputs.audio: "". It must be a non-empty string.',
            "inputs-audio",
            type="string",
        ),
    ),
    "empty segment audio": (
        (SEGMENT, segment(audio="")),
        error(
            "invalidAudio",
            f"{SEGMENT}[0].audio",
            f'Invalid value for {SEGMENT}[0].audio: "". It must be a non-empty string.',
            "providersettings-sync-segments-audio",
            type="string",
        ),
    ),
    # Both URLs pass the schema's `^https?://` pattern: only the `uri` format refuses them.
    "format, webhookURL": (
        ("webhookURL", "http://a b/hook"),
        error(
            "invalidWebhookURL",
            "webhookURL",
            'Invalid value for webhookURL: "http://a b/hook". It must be an absolute http(s) URL.',
            "webhookurl",
            type="string",
        ),
    ),
    "format, uploadEndpoint": (
        ("uploadEndpoint", "http://a b/upload"),
        error(
            "invalidUploadEndpoint",
            "uploadEndpoint",
            'Invalid value for uploadEndpoint: "http://a b/upload". It must be an absolute http(s) URL.',
            "uploadendpoint",
            type="string",
        ),
    ),
}


@pytest.mark.parametrize(("change", "expected"), RULES.values(), ids=RULES.keys())
async def test_a_broken_rule_is_reported_with_its_limits_and_the_task_ids(clock, change, expected):
    assert await refusal(clock, [task(*change)]) == [expected]


ROOT_NAMES = (
    '"taskType", "taskUUID", "model", "outputType", "outputFormat", "outputQuality", "webhookURL", '
    '"deliveryMethod", "uploadEndpoint", "safety", "ttl", "includeCost", "numberResults", "inputs", "providerSettings"'
)
SYNC_NAMES = '"activeSpeakerDetection", "occlusionDetectionEnabled", "segments", "syncMode", "temperature"'
# Each level's accepted names, as the recorded answer lists them: one string, quoted, comma-separated.
UNKNOWN = {
    "at the root": ("colour", ROOT_NAMES),
    "in inputs": ("inputs.mask", '"video", "audio"'),
    "in safety": ("safety.level", '"checkContent", "mode"'),
    "in providerSettings": ("providerSettings.runware", '"sync"'),
    "in sync": ("providerSettings.sync.seed", SYNC_NAMES),
    "in activeSpeakerDetection": ("providerSettings.sync.activeSpeakerDetection.frame", '"autoDetect"'),
}


@pytest.mark.parametrize(("parameter", "accepted"), UNKNOWN.values(), ids=UNKNOWN.keys())
async def test_an_unknown_parameter_is_named_wherever_it_is(clock, parameter, accepted):
    anchor = parameter.lower().replace(".", "-")
    expected = {
        "code": "unsupportedParameter",
        "message": f"Unsupported parameter {parameter}: the model does not take it.",
        "parameter": parameter,
        **IDS,
        "documentation": DOCS + anchor,
        "allowedValues": accepted,
    }
    assert await refusal(clock, [task(parameter, 1)]) == [expected]


async def test_an_unknown_parameter_in_a_segment_is_named_with_its_index(clock):
    errors = await refusal(clock, [task(SEGMENT, [*segment(), *segment(startTime=1, endTime=2, speaker=2)])])
    assert errors == [
        {
            "code": "unsupportedParameter",
            "message": f"Unsupported parameter {SEGMENT}[1].speaker: the model does not take it.",
            "parameter": f"{SEGMENT}[1].speaker",
            **IDS,
            "documentation": DOCS + "providersettings-sync-segments-speaker",
            "allowedValues": '"startTime", "endTime", "audio", "audioStartTime", "audioEndTime"',
        }
    ]


async def test_every_broken_parameter_of_a_task_is_reported(clock):
    broken = with_parameter(task("outputQuality", 5), "outputFormat", "GIF")
    broken = with_parameter(broken, "ttl", 1)
    errors = await refusal(clock, [broken])
    assert sorted((e["code"], e["parameter"]) for e in errors) == [
        ("invalidOutputQuality", "outputQuality"),
        ("invalidTtl", "ttl"),
        ("unsupportedOutputFormat", "outputFormat"),
    ]


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (58, '"' + "G" * 58 + '"'),  # 60 characters as JSON: shown whole
        (59, '"' + "G" * 56 + "..."),  # 61: cut to 57 and marked
        (200, '"' + "G" * 56 + "..."),
        (5000, '"' + "G" * 56 + "..."),  # past LONG_TEXT: still the value's own text
    ],
)
async def test_a_long_value_is_shown_cut_short(clock, length, shown):
    (found,) = await refusal(clock, [task("outputFormat", "G" * length)])
    assert found["message"] == f'Invalid value for outputFormat: {shown}. It must be one of "MP4", "WEBM", "MOV".'


@pytest.mark.parametrize(
    ("end", "wanted"),
    [
        ("2026-12-02", "at most 30 days after startDate (2026-11-01)"),
        ("2026-10-31", "not before startDate (2026-11-01)"),
        ("2026-11-31", "a real calendar date (YYYY-MM-DD)"),
    ],
)
async def test_a_usage_report_window_that_breaks_its_rule_names_the_end_date(clock, end, wanted):
    usage = {**IDS, "taskType": "accountManagement", "operation": "getUsageActivity", "startDate": "2026-11-01"}
    assert await refusal(clock, [{**usage, "endDate": end}]) == [
        error(
            "invalidEndDate",
            "endDate",
            f'Invalid value for endDate: "{end}". It must be {wanted}.',
            "enddate",
            type="string",
        )
    ]


async def test_a_task_type_outside_the_list_names_the_types_there_are(clock):
    errors = await refusal(clock, [{"taskType": "imageInference", "taskUUID": TASK_UUID}])
    assert errors == [
        {
            "code": "unsupportedTaskType",
            "message": 'Invalid value for taskType: "imageInference". '
            'It must be one of "authentication", "videoInference", "getResponse", "mediaStorage", '
            '"accountManagement", "getTaskDetails".',
            "parameter": "taskType",
            "taskUUID": TASK_UUID,
            "documentation": DOCS + "tasktype",
            "allowedValues": [
                "authentication",
                "videoInference",
                "getResponse",
                "mediaStorage",
                "accountManagement",
                "getTaskDetails",
            ],
        }
    ]


async def test_task_ids_that_are_not_strings_are_left_out_of_the_error(clock):
    errors = await refusal(clock, [{"taskType": "getResponse", "taskUUID": 5}])
    assert errors == [
        {
            "code": "invalidTaskUUID",
            "message": "Invalid value for taskUUID: 5. It must be a UUID v4 string.",
            "parameter": "taskUUID",
            "documentation": DOCS + "taskuuid",
            "type": "string",
        }
    ]


async def test_a_task_that_is_not_an_object_is_named_by_its_index(clock):
    errors = await refusal(clock, [task("outputQuality", 10), "task"])
    assert errors[1] == {
        "code": "invalidRequestBody",
        "message": "Task [1] must be a JSON object.",
        "parameter": "[1]",
        "documentation": "https://runware.ai/docs/platform/introduction",
    }


@pytest.mark.parametrize("body", [[], {"taskType": "getResponse"}, "tasks", 5, None])
async def test_a_body_that_is_not_a_non_empty_array_is_refused_whole(clock, body):
    assert await refusal(clock, body) == [
        {
            "code": "invalidRequestBody",
            "message": "The request body must be a non-empty JSON array of task objects.",
            "documentation": "https://runware.ai/docs/platform/introduction",
        }
    ]


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string"}, "a string"),
        ({"type": "string", "format": "date"}, "a string"),
        ({"type": "object"}, "a JSON object"),
        ({"type": "array"}, "a JSON array"),
        ({"type": "null"}, "a valid value"),
        ({}, "a valid value"),
    ],
)
def test_the_remaining_kinds_are_described_too(schema, words):
    assert describe(schema) == words


async def test_a_uuid_with_a_trailing_newline_is_refused_by_its_format(clock):
    # The uuidV4 pattern ends in `$`, which Python lets match before a final newline: the format decides here.
    errors = await refusal(clock, [{"taskType": "getResponse", "taskUUID": TASK_UUID + "\n"}])
    assert errors == [
        {
            "code": "invalidTaskUUID",
            "message": f'Invalid value for taskUUID: "{TASK_UUID}\\n". It must be a UUID v4 string.',
            "parameter": "taskUUID",
            "taskUUID": TASK_UUID + "\n",
            "documentation": DOCS + "taskuuid",
            "type": "string",
        }
    ]
