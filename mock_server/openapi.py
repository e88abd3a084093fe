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


def _ref(file_name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component_name(file_name)}"}


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
            value = _ref(target or file_name)["$ref"] + pointer
        copied[key] = _relocate(value, file_name)
    return copied


@cache
def openapi_document() -> dict[str, Any]:
    errors_only = {"$ref": _ref("response-body.json")["$ref"] + "/$defs/errorsOnly"}

    def errors_response(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": errors_only}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Runware video inference ({MODEL_ID}), local mock",
            "version": "1.0.0",
            "description": "One endpoint takes a JSON array of tasks. videoInference is acknowledged at once; "
            "getResponse polls its results.",
        },
        "paths": {
            "/v1": {
                "post": {
                    "operationId": "runTasks",
                    "summary": "Run a task array",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "allOf": [_ref("task-array.json")],
                                    "items": {"oneOf": [_ref(name) for name in task_schema_names().values()]},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Items of the tasks that ran; a batch may also carry errors.",
                            "content": {"application/json": {"schema": _ref("response-body.json")}},
                        },
                        "400": errors_response("Malformed body, or every task in it refused."),
                        "401": errors_response("No API key, or a key that is not valid."),
                        "404": errors_response("getResponse for a taskUUID this server never received."),
                        "413": errors_response("The body is larger than the server accepts."),
                    },
                },
                "get": {
                    "operationId": "openWebSocket",
                    "summary": "Upgrade to a WebSocket carrying the same task arrays",
                    "responses": {
                        "101": {"description": "Switching to the WebSocket protocol."},
                        "405": errors_response("Not a WebSocket upgrade: send task arrays with POST."),
                    },
                },
            }
        },
        "components": {
            "schemas": {component_name(name): _relocate(schema, name) for name, schema in schemas().items()},
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}, {}],
    }
