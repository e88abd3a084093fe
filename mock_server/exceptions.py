"""The platform's error objects, as raised inside the mock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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


def documentation_url(parameter: str | None) -> str:
    """The model page anchor of a parameter, as the page names them (`#request-providersettings-sync-...`)."""
    if not parameter or parameter.startswith("["):
        return PLATFORM_DOCS_URL
    plain = "".join(part.split("[", 1)[0] + "-" for part in parameter.split("."))
    return f"{DOCS_URL}#request-{quote(plain.rstrip('-').lower(), safe='-')}"


def missing_api_key() -> RunwareError:
    return RunwareError(
        "missingApiKey",
        "No API key: send 'Authorization: Bearer <key>' or an authentication task first in the array.",
        status=401,
        parameter="apiKey",
        task_type="authentication",
    )


def invalid_api_key() -> RunwareError:
    return RunwareError(
        "invalidApiKey", "The API key is not valid.", status=401, parameter="apiKey", task_type="authentication"
    )


def invalid_request_body(message: str, parameter: str | None = None) -> RunwareError:
    return RunwareError("invalidRequestBody", message, parameter=parameter)


def request_too_large(limit: int) -> RunwareError:
    return RunwareError("requestTooLarge", f"The request body is larger than the limit of {limit} bytes.", status=413)


def too_many_tasks(count: int, limit: int) -> RunwareError:
    return RunwareError(
        "tooManyTasks",
        f"The request holds {count} tasks; at most {limit} are accepted in one request.",
        extra={"max": limit},
    )


def conflicting_task_uuid(task_type: str, task_uuid: str) -> RunwareError:
    return RunwareError(
        "conflictTaskUUID",
        "This taskUUID was already used; every task needs a new UUID v4.",
        parameter="taskUUID",
        task_type=task_type,
        task_uuid=task_uuid,
    )


def task_not_found(task_uuid: str) -> RunwareError:
    return RunwareError(
        "taskNotFound",
        "No task with this taskUUID was submitted to this server.",
        status=404,
        parameter="taskUUID",
        task_type="getResponse",
        task_uuid=task_uuid,
    )
