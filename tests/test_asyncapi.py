"""The AsyncAPI document of the WebSocket: valid by the AsyncAPI parser (pinned in tool-constraints/asyncapi/),
made of the same components as the OpenAPI document, and true of what the mock sends. The tests that run the
parser are the opt-in group `asyncapi` (conftest.py): `.venv/bin/pytest -m asyncapi`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import WSMsgType
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from contract_tests.payloads import example_task
from mock_server.app import create_app
from mock_server.asyncapi import asyncapi_document
from mock_server.config import Settings
from mock_server.openapi import openapi_document
from mock_server.schema_registry import StepExactValidator

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".venv-asyncapi" / "node_modules"
INSTALL = (
    "mkdir -p .venv-asyncapi && cp tool-constraints/asyncapi/package*.json .venv-asyncapi/ && "
    "npm ci --prefix .venv-asyncapi --ignore-scripts --no-audit --no-fund"
)
DOC_URI = "urn:asyncapi"
AUTH = {"taskType": "authentication", "apiKey": "key"}


def asyncapi_parser() -> str:
    """The node binary, once the pinned parser is installed; else a failure that says how to install it."""
    node = shutil.which("node")
    if node and (NODE_MODULES / "@asyncapi" / "parser").is_dir():
        return node
    pytest.fail(f"no AsyncAPI parser (needs node and npm); install it with: {INSTALL}")


def validate(document: dict) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [asyncapi_parser(), str(ROOT / ".ci" / "validate-asyncapi.js")],
        input=json.dumps(document),
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.asyncapi
def test_the_document_is_valid_asyncapi():
    done = validate(asyncapi_document("http://127.0.0.1:8080"))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.asyncapi
def test_the_validator_finds_a_broken_document():
    broken = json.loads(json.dumps(asyncapi_document()))
    broken["operations"]["ping"]["action"] = "listen"
    done = validate(broken)
    assert done.returncode == 1 and "operations/ping/action" in done.stdout


def test_the_schemas_are_the_openapi_documents_components():
    assert asyncapi_document()["components"]["schemas"] == openapi_document()["components"]["schemas"]


def test_every_reference_points_inside_the_document():
    document = asyncapi_document()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                target = document
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def payload_validator(document: dict, message: str) -> StepExactValidator:
    registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(document))
    return StepExactValidator({"$ref": f"{DOC_URI}#/components/messages/{message}/payload"}, registry=registry)


def reply_names(document: dict, operation: str) -> list[str]:
    return [ref["$ref"].rsplit("/", 1)[1] for ref in document["operations"][operation]["reply"]["messages"]]


@pytest.fixture
async def client(aiohttp_client):
    return await aiohttp_client(create_app(Settings(api_keys=("key",), processing_rate=0)))


@pytest.mark.parametrize(
    ("operation", "sent"),
    [
        ("authenticate", [AUTH]),
        ("authenticate", [{**AUTH, "apiKey": "wrong"}]),
        ("ping", [{"taskType": "ping", "ping": True}]),
        ("runTasks", [example_task()]),
        ("runTasks", [{"taskType": "getResponse", "taskUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"}]),
    ],
)
async def test_what_the_mock_sends_is_what_the_document_says(client, operation, sent):
    document = asyncapi_document()
    (received,) = [ref["$ref"].rsplit("/", 1)[1] for ref in document["operations"][operation]["messages"]]
    assert payload_validator(document, received).is_valid(sent)
    async with client.ws_connect("/v1") as socket:
        if operation == "runTasks":
            await socket.send_str(json.dumps([AUTH]))
            await socket.receive(timeout=10)
        await socket.send_str(json.dumps(sent))
        answer = json.loads((await socket.receive(timeout=10)).data)
    assert any(payload_validator(document, name).is_valid(answer) for name in reply_names(document, operation)), answer


async def test_a_binary_frame_is_answered_with_an_errors_message(client):
    async with client.ws_connect("/v1") as socket:
        await socket.send_bytes(b"[]")
        message = await socket.receive(timeout=10)
    assert message.type == WSMsgType.TEXT
    assert payload_validator(asyncapi_document(), "errors").is_valid(json.loads(message.data))


async def test_the_document_is_served_naming_the_server_reached(client):
    response = await client.get("/asyncapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["asyncapi"].startswith("3.")
    assert document["servers"]["mock"] == {
        "host": f"{client.server.host}:{client.server.port}",
        "protocol": "ws",
        "title": "This mock",
    }
    assert document["channels"]["session"]["address"] == "/v1"
