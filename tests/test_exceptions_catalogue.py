"""The catalogue of codes, the errors its entries make, and the helpers that word the common ones."""

from __future__ import annotations

import pytest

from mock_server import exceptions
from mock_server.exceptions import (
    CATALOGUE,
    DOCS_URL,
    PLATFORM_DOCS_URL,
    VALIDATION_FAMILIES,
    RunwareError,
    documentation_url,
    validation_error,
)


def test_every_code_is_catalogued_under_its_own_name_with_an_http_status():
    assert all(entry.code == code and entry.meaning for code, entry in CATALOGUE.items())
    assert {code: entry.status for code, entry in CATALOGUE.items() if entry.status != 400} == {
        "missingApiKey": 401,
        "invalidApiKey": 401,
        "requestTooLarge": 413,
        "notFound": 404,
        "methodNotAllowed": 405,
        "internalError": 500,
        "storageFull": 507,
        "taskNotFound": 404,
        "mediaNotFound": 404,
        "serverError": 500,
        "rateLimitExceeded": 429,
        "invalidControlToken": 401,
        "forbiddenOrigin": 403,
        "forbiddenSelfRequest": 403,
        "tooManyConnections": 503,
        "requestTimeout": 408,
        "unknownHost": 421,
    }


def test_a_code_makes_an_error_with_everything_it_is_given():
    error = exceptions.SERVER_ERROR(
        "down", parameter="p", task_type="videoInference", task_uuid="u", status=503, retryAfter=2
    )
    assert error == RunwareError("serverError", "down", 503, "p", "videoInference", "u", {"retryAfter": 2})
    assert exceptions.NOT_FOUND("gone") == RunwareError("notFound", "gone", 404)


def test_validation_codes_are_the_family_and_the_parameter_name():
    error = validation_error("unsupported", "outputFormat", "no", parameter="outputFormat", task_uuid="u")
    assert error == RunwareError("unsupportedOutputFormat", "no", 400, "outputFormat", None, "u")
    assert set(VALIDATION_FAMILIES) == {"missing", "unsupported", "invalid"}
    with pytest.raises(ValueError, match=r"^no validation codes start with 'wrong'$"):
        validation_error("wrong", "ttl", "no")


@pytest.mark.parametrize(
    ("parameter", "url"),
    [
        ("[1].taskType", PLATFORM_DOCS_URL),  # inside an item of the task array: not a model parameter
        ("[0]", PLATFORM_DOCS_URL),
        ("", PLATFORM_DOCS_URL),
        ("a/b c", DOCS_URL + "#request-a%2Fb%20c"),
        ("providerSettings.sync.segments[0].audio", DOCS_URL + "#request-providersettings-sync-segments-audio"),
    ],
)
def test_documentation_urls(parameter, url):
    assert documentation_url(parameter) == url


def test_the_common_errors_are_worded_once():
    assert exceptions.request_too_large(1024).to_json() == {
        "code": "requestTooLarge",
        "message": "The request body is larger than the limit of 1024 bytes.",
        "documentation": PLATFORM_DOCS_URL,
    }
    assert exceptions.request_too_large(1024).status == 413
    assert exceptions.invalid_request_body("bad", "[2]") == RunwareError("invalidRequestBody", "bad", 400, "[2]")
    assert exceptions.task_not_found("u", "control") == RunwareError(
        "taskNotFound",
        "No task with this taskUUID was submitted to this server.",
        404,
        "taskUUID",
        "control",
        "u",
    )


def test_a_poll_for_an_unknown_task_and_a_reused_task_uuid_name_the_task_type_they_came_from():
    assert exceptions.task_not_found("u") == RunwareError(
        "taskNotFound",
        "No task with this taskUUID was submitted to this server.",
        404,
        "taskUUID",
        "getResponse",
        "u",
    )
    assert exceptions.conflicting_task_uuid("videoInference", "u") == RunwareError(
        "conflictTaskUUID",
        "This taskUUID was already used; every task needs a new UUID v4.",
        400,
        "taskUUID",
        "videoInference",
        "u",
    )
