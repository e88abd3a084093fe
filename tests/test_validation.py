from __future__ import annotations

import tracemalloc

import pytest

from mock_server.validation import describe, envelope_errors, task_schema_names


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
