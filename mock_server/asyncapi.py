"""The AsyncAPI 3 document of the WebSocket on `GET /v1`, assembled from the files in `schemas/` (nothing
restated): the same components as the OpenAPI document, with messages and operations around them.

It describes the mock's side of the socket: each operation is a message the mock receives and the reply it
sends back on the same socket.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from mock_server import MODEL_ID
from mock_server.openapi import schema_components, schema_ref, task_array_schema

CHANNEL = "session"

# Each message's payload, summary and description. Payloads only combine `$ref`s to the schema files.
_MESSAGES: dict[str, tuple[dict[str, Any], str, str]] = {
    "authentication": (
        {"allOf": [schema_ref("task-array.json")], "items": schema_ref("authentication-task.json")},
        "Authenticate the session, or resume one",
        "Sent first: [{taskType: authentication, apiKey}]. With the connectionSessionUUID of a session that "
        "closed less than 120 s ago, opened with the same key, that session is resumed; otherwise a new one "
        "starts. An authentication task may also lead a task array; the session items are answered first, "
        "in a message of their own, then the other tasks.",
    ),
    "authenticated": (
        {
            "allOf": [schema_ref("response-body.json")],
            "properties": {"data": {"items": schema_ref("authentication-result.json")}},
        },
        "The session's connectionSessionUUID",
        "{data: [{taskType: authentication, connectionSessionUUID}]}: no taskUUID. Keep the UUID to resume.",
    ),
    "ping": (
        schema_ref("ping.json", "/$defs/request"),
        "Heartbeat",
        "Keeps the session from its idle timeout (--ws-idle-timeout, 120 s by default): a silent socket is "
        "closed with code 1000. Answered before authentication too.",
    ),
    "pong": (schema_ref("ping.json", "/$defs/answer"), "Answer to a ping", "{data: [{taskType: ping, pong: true}]}."),
    "taskArray": (
        task_array_schema(),
        "A task array, as POST /v1 takes it",
        "videoInference, getResponse, mediaStorage, accountManagement and getTaskDetails tasks, run as over REST "
        "with the session's key. "
        "Needs an authenticated session.",
    ),
    "taskAnswers": (
        schema_ref("response-body.json"),
        "The answer to a task array",
        "The body POST /v1 would answer with: data items of the tasks that ran, errors of those refused.",
    ),
    "errors": (
        schema_ref("response-body.json", "/$defs/errorsOnly"),
        "A refusal",
        "missingApiKey or invalidApiKey (taskType authentication) for tasks before a valid authentication; "
        "invalidRequestBody for a frame that is not a task array (binary frames included); the refusal of "
        "every task in an array. The socket stays open.",
    ),
}

# Operation → (the message the mock receives, the messages it may answer with).
_OPERATIONS: dict[str, tuple[str, list[str]]] = {
    "authenticate": ("authentication", ["authenticated", "errors"]),
    "ping": ("ping", ["pong"]),
    "runTasks": ("taskArray", ["taskAnswers", "errors"]),
}


def _message_refs(names: list[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names]


@cache
def _document() -> dict[str, Any]:
    channel_ref = {"$ref": f"#/channels/{CHANNEL}"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Runware video inference ({MODEL_ID}) over WebSocket, local mock",
            "version": "1.0.0",
            "description": "GET /v1 upgraded to a WebSocket. Every frame is JSON text: the client sends task "
            "arrays, the mock answers each with one message ({data}, {errors} or both). The REST side is the "
            "OpenAPI document at /openapi.json; both are assembled from the same JSON Schemas.",
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/v1",
                "title": "A session",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in _MESSAGES},
                "bindings": {"ws": {"method": "GET", "bindingVersion": "0.1.0"}},
            }
        },
        "operations": {
            name: {
                "action": "receive",
                "channel": channel_ref,
                "messages": _message_refs([received]),
                "reply": {"channel": channel_ref, "messages": _message_refs(answers)},
            }
            for name, (received, answers) in _OPERATIONS.items()
        },
        "components": {
            "schemas": schema_components(),
            "messages": {
                name: {"name": name, "summary": summary, "description": description, "payload": payload}
                for name, (payload, summary, description) in _MESSAGES.items()
            },
        },
    }


def asyncapi_document(base_url: str | None = None) -> dict[str, Any]:
    """The document; with the URL the client reached the mock at, it names that server (ws:// or wss://)."""
    if base_url is None:
        return _document()
    document = copy.copy(_document())
    parts = urlsplit(base_url)
    document["servers"] = {
        "mock": {"host": parts.netloc, "protocol": "wss" if parts.scheme == "https" else "ws", "title": "This mock"}
    }
    return document
