"""Every error code the mock answers, with its HTTP status, and the one place the errors envelope is built.

A code is declared once, as an `ErrorCode`; calling it makes the `RunwareError` to raise or report:

    raise UNREADABLE_MEDIA("inputs.video has no frames.", parameter="inputs.video")

`CATALOGUE` lists them all (the README's table of codes is checked against it). Validation codes are made
from the parameter's name (`invalidTemperature`, `missingInputs`, ...) by the families in `VALIDATION_FAMILIES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mock_server.paths import parse_path

DOCS_URL = "https://runware.ai/docs/models/sync-lipsync-2"
PLATFORM_DOCS_URL = "https://runware.ai/docs/platform/introduction"


@dataclass
class RunwareError(Exception):
    """One item of an `errors` array, with the HTTP status it answers with when it is alone."""

    code: str
    message: str
    status: int = 400
    parameter: str | None = None
    task_type: str | None = None
    task_uuid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            body["parameter"] = self.parameter
        if self.task_type is not None:
            body["taskType"] = self.task_type
        if self.task_uuid is not None:
            body["taskUUID"] = self.task_uuid
        body["documentation"] = documentation_url(self.parameter)
        body.update(self.extra)
        return body


@dataclass(frozen=True)
class ErrorCode:
    """A code the mock can answer, the status it answers with, and when."""

    code: str
    status: int
    meaning: str

    def __call__(
        self,
        message: str,
        *,
        parameter: str | None = None,
        task_type: str | None = None,
        task_uuid: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> RunwareError:
        return RunwareError(self.code, message, status or self.status, parameter, task_type, task_uuid, extra)


CATALOGUE: dict[str, ErrorCode] = {}


def _declare(code: str, status: int, meaning: str) -> ErrorCode:
    CATALOGUE[code] = ErrorCode(code, status, meaning)
    return CATALOGUE[code]


# The request as a whole.
MISSING_API_KEY = _declare("missingApiKey", 401, "no key in the Authorization header nor an authentication task")
INVALID_API_KEY = _declare("invalidApiKey", 401, "a key that is not configured")
INVALID_REQUEST_BODY = _declare("invalidRequestBody", 400, "not JSON, not a non-empty array, or an item not an object")
REQUEST_TOO_LARGE = _declare("requestTooLarge", 413, "a body (or WebSocket frame) over --max-body-bytes")
TOO_MANY_TASKS = _declare("tooManyTasks", 400, "a task array longer than --max-tasks-per-request")
NOT_FOUND = _declare("notFound", 404, "an unknown path, or a result or upload file that is gone")
METHOD_NOT_ALLOWED = _declare("methodNotAllowed", 405, "a method the path does not take (plain GET /v1 included)")
REQUEST_FAILED = _declare("requestFailed", 400, "any other HTTP-level refusal, with its own status")
INTERNAL_ERROR = _declare("internalError", 500, "a bug in the mock: logged with its traceback, never shown")
STORAGE_FULL = _declare("storageFull", 507, "the --data-dir has no room (disk full, quota, file-size limit)")

# One task.
CONFLICT_TASK_UUID = _declare("conflictTaskUUID", 400, "a taskUUID already used")
TASK_NOT_FOUND = _declare(
    "taskNotFound",
    404,
    "getResponse with --compat unknown-task-poll=not-found, getTaskDetails, or the control API, for a taskUUID "
    "never received",
)
MEDIA_NOT_FOUND = _declare("mediaNotFound", 404, "a mediaUUID with no upload: deleted, expired or never made")

# The account behind the key (accounts.py). Which of the two credit codes answers, and with which status, is a
# compat choice (config.COMPAT_CHOICES).
VIDEO_INFERENCE_INSUFFICIENT_CREDITS = _declare(
    "videoInferenceInsufficientCredits", 400, "a video task the account cannot pay for (402 by --compat)"
)
INSUFFICIENT_CREDITS = _declare(
    "insufficientCredits", 400, "the same, with --compat insufficient-credits-code=insufficientCredits"
)
NOT_SIMULATED = _declare(
    "notSimulated", 400, "an accountManagement usage report (getUsage*): the mock answers getDetails only"
)

# A task that failed while it ran: the poll answers 400 with the task's error (see TASK_FAILED_STATUS).
DOWNLOAD_FAILED = _declare("downloadFailed", 400, "a media URL unreachable, not 200, refused or too slow")
MEDIA_TOO_LARGE = _declare("mediaTooLarge", 400, "a media input over --max-media-bytes")
MEDIA_TOO_LONG = _declare("mediaTooLong", 400, "a media input over --max-media-seconds")
UNREADABLE_MEDIA = _declare("unreadableMedia", 400, "not media, or without the stream or samples needed")
FRAME_TOO_LARGE = _declare("frameTooLarge", 400, "inputs.video's frames over --max-frame-size")
RESULT_TOO_LARGE = _declare("resultTooLarge", 400, "a result file that grew past --max-result-bytes")
MISSING_AUDIO = _declare("missingAudio", 400, "neither inputs.audio nor segments: nothing to sync to")
PROCESSING_FAILED = _declare("processingFailed", 400, "the render failed (or the fault fail_after_polls)")
TIMEOUT_PROVIDER = _declare("timeoutProvider", 400, "only injected: fail_after_polls=N; code=timeoutProvider")
PROVIDER_TIMEOUT = _declare("providerTimeout", 400, "only injected: fail_after_polls=N; code=providerTimeout")
CONTENT_POLICY_VIOLATION = _declare(
    "contentPolicyViolation", 400, "only injected: fail_after_polls=N; code=contentPolicyViolation"
)

# Injected faults and the mock's own API.
SERVER_ERROR = _declare("serverError", 500, "injected status=500, 502 or 503 (with that status)")
RATE_LIMIT_EXCEEDED = _declare("rateLimitExceeded", 429, "injected rate_limit, with Retry-After")
INVALID_MOCK_FAULT = _declare("invalidMockFault", 400, "an X-Mock-Fault header the mock cannot read")
INVALID_MOCK_NAMESPACE = _declare("invalidMockNamespace", 400, "an X-Mock-Namespace that is not 1-64 of [A-Za-z0-9._-]")
INVALID_CONTROL_TOKEN = _declare("invalidControlToken", 401, "a control call without the --control-token")
INVALID_CONTROL_REQUEST = _declare("invalidControlRequest", 400, "a control call with a bad body, or a write not JSON")
UNKNOWN_HOST = _declare("unknownHost", 421, "a Host header that is no IP address, loopback name or configured name")
FORBIDDEN_ORIGIN = _declare("forbiddenOrigin", 403, "a control write or WebSocket from another origin (a web page)")
FORBIDDEN_SELF_REQUEST = _declare(
    "forbiddenSelfRequest", 403, "a webhook, upload or media download of a mock's sent to /v1 or the control API"
)
TOO_MANY_CONNECTIONS = _declare(
    "tooManyConnections", 503, "a connection past --max-connections: answered at once, then closed"
)
REQUEST_TIMEOUT = _declare(
    "requestTimeout", 408, "a body not in within --request-timeout: the connection is closed (the access log shows it)"
)
NOT_RECORDED = _declare(
    "notRecorded", 400, "under --record-mode none, a request or WebSocket frame the recording does not hold"
)

# Codes made from a parameter's own name when a task breaks its schema (see validation.py).
VALIDATION_FAMILIES: dict[str, str] = {
    "missing": "a required parameter is absent (missingInputs, missingEndTime, ...)",
    "unsupported": "a value outside the parameter's list (unsupportedOutputFormat, ...)",
    "invalid": "any other broken rule: type, range, step, format, order (invalidTemperature, ...)",
}
TOO_MANY_ERRORS = _declare(
    "tooManyErrors", 400, "the note ending a refusal cut short: a task with more than 20 problems, a request with 100"
)
UNSUPPORTED_PARAMETER = _declare(
    "unsupportedParameter", 400, "a parameter the model does not take; allowedValues lists those it does"
)

# A failed task answers a poll with this status, whatever its code.
TASK_FAILED_STATUS = 400


def validation_error(prefix: str, name: str, message: str, **fields: Any) -> RunwareError:
    """A schema refusal: `prefix` one of VALIDATION_FAMILIES, `name` the parameter's own name."""
    if prefix not in VALIDATION_FAMILIES:
        raise ValueError(f"no validation codes start with {prefix!r}")
    return RunwareError(prefix + name[0].upper() + name[1:], message, 400, **fields)


def envelope(data: list[dict[str, Any]] | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The platform's answer body: `data` (items of what ran), `errors`, or both in a batch."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    if errors:
        body["errors"] = errors
    return body


def without_task_types(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Error objects as the platform was seen to send them: no `taskType`, but for an authentication error's (the
    official JS SDK tells a refused key by it)."""
    return [error if error.get("taskType") == "authentication" else _without(error, "taskType") for error in errors]


def _without(item: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != name}


def errors_body(*errors: RunwareError) -> dict[str, Any]:
    """The body of a request refused as a whole."""
    return envelope(None, [error.to_json() for error in errors])


def documentation_url(parameter: str | None) -> str:
    """The model page anchor of a parameter, as the page names them (`#request-providersettings-sync-...`)."""
    names = [part for part in parse_path(parameter or "") if isinstance(part, str)]
    if not names or (parameter or "").startswith("["):  # an item of the task array, not a parameter
        return PLATFORM_DOCS_URL
    return f"{DOCS_URL}#request-{quote('-'.join(names).lower(), safe='-')}"


def missing_api_key() -> RunwareError:
    return MISSING_API_KEY(
        "No API key: send 'Authorization: Bearer <key>' or an authentication task first in the array.",
        parameter="apiKey",
        task_type="authentication",
    )


def invalid_api_key() -> RunwareError:
    return INVALID_API_KEY("The API key is not valid.", parameter="apiKey", task_type="authentication")


def invalid_request_body(message: str, parameter: str | None = None) -> RunwareError:
    return INVALID_REQUEST_BODY(message, parameter=parameter)


def request_too_large(limit: int) -> RunwareError:
    return REQUEST_TOO_LARGE(f"The request body is larger than the limit of {limit} bytes.")


def too_many_tasks(limit: int) -> RunwareError:
    return TOO_MANY_TASKS(
        f"The request holds more than {limit} tasks; at most {limit} are accepted in one request.", max=limit
    )


def conflicting_task_uuid(task_type: str, task_uuid: str) -> RunwareError:
    return CONFLICT_TASK_UUID(
        "This taskUUID was already used; every task needs a new UUID v4.",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )


def task_not_found(task_uuid: str, task_type: str = "getResponse") -> RunwareError:
    return TASK_NOT_FOUND(
        "No task with this taskUUID was submitted to this server.",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )
