"""The OpenAPI 3.1 document, assembled from the files in `schemas/` (nothing restated)."""

from __future__ import annotations

from functools import cache
from typing import Any

from mock_server import MODEL_ID
from mock_server.schema_registry import schemas
from mock_server.validation import task_schema_names


def component_name(file_name: str) -> str:
    """`video-inference-task.json` → `VideoInferenceTask`."""
    return "".join(word.capitalize() for word in file_name.removesuffix(".json").split("-"))


def schema_ref(file_name: str, pointer: str = "") -> dict[str, str]:
    """A `$ref` to a schema file's component, or to a place inside it (`/$defs/…`): the same in the OpenAPI and
    the AsyncAPI document, both of which keep the schema files under `components/schemas`."""
    return {"$ref": f"#/components/schemas/{component_name(file_name)}{pointer}"}


def _relocate(node: Any, file_name: str) -> Any:
    """Copy a schema, pointing each `$ref` (to another file, or inside this one) at its component."""
    if isinstance(node, list):
        return [_relocate(item, file_name) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {}
    for key, value in node.items():
        if key in ("$schema", "$id"):
            continue
        if key == "$ref":
            target, _, pointer = value.partition("#")
            value = schema_ref(target or file_name, pointer)["$ref"]
        copied[key] = _relocate(value, file_name)
    return copied


def schema_components() -> dict[str, Any]:
    """Every schema file as a component, its `$ref`s relocated."""
    return {component_name(name): _relocate(schema, name) for name, schema in schemas().items()}


def task_array_schema() -> dict[str, Any]:
    """A request: the task array's envelope, each item one of the task schemas."""
    return {
        "allOf": [schema_ref("task-array.json")],
        "items": {"oneOf": [schema_ref(name) for name in task_schema_names().values()]},
    }


@cache
def openapi_document() -> dict[str, Any]:
    errors_only = schema_ref("response-body.json", "/$defs/errorsOnly")

    def errors_response(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": errors_only}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Runware video inference ({MODEL_ID}), local mock",
            "version": "1.0.0",
            "description": "One endpoint takes a JSON array of tasks. videoInference is acknowledged at once; "
            "getResponse polls its results. GET /v1 upgrades to a WebSocket carrying the same task arrays: "
            "that protocol is described by the AsyncAPI document at /asyncapi.json.",
        },
        # Where the WebSocket on GET /v1 is described: not an HTTP operation here, since a plain GET is refused.
        "x-asyncapi": "/asyncapi.json",
        "paths": {
            "/v1": {
                "post": {
                    "operationId": "runTasks",
                    "summary": "Run a task array",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": task_array_schema()}},
                    },
                    "responses": {
                        "200": {
                            "description": "Items of the tasks that ran; a batch may also carry errors.",
                            "content": {"application/json": {"schema": schema_ref("response-body.json")}},
                        },
                        "400": errors_response("Malformed body, or every task in it refused."),
                        "401": errors_response("No API key, or a key that is not valid."),
                        "404": errors_response("getResponse for a taskUUID this server never received."),
                        "413": errors_response("The body is larger than the server accepts."),
                    },
                }
            }
        },
        "components": {
            "schemas": schema_components(),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}, {}],
    }
