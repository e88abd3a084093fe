from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from contract_tests.payloads import example_task, with_parameter
from mock_server.openapi import component_name, openapi_document
from mock_server.schema_registry import StepExactValidator, schemas

DOC_URI = "urn:openapi"


def request_validator() -> Draft202012Validator:
    registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(openapi_document()))
    pointer = "#/paths/~1v1/post/requestBody/content/application~1json/schema"
    return StepExactValidator({"$ref": DOC_URI + pointer}, registry=registry)


def test_every_schema_file_is_a_component():
    components = openapi_document()["components"]["schemas"]
    assert sorted(components) == sorted(component_name(name) for name in schemas())


def test_components_restate_nothing_but_the_schema_files():
    # Dropping $id/$schema and relocating $ref must be the only differences from the files.
    def normalise(node):
        if isinstance(node, dict):
            return {k: normalise(v) for k, v in node.items() if k not in ("$id", "$schema", "$ref")}
        if isinstance(node, list):
            return [normalise(v) for v in node]
        return node

    components = openapi_document()["components"]["schemas"]
    for name, schema in schemas().items():
        assert normalise(components[component_name(name)]) == normalise(schema)


def test_every_reference_points_inside_the_document():
    document = openapi_document()
    text = json.dumps(document)
    assert ".json" not in text.replace("openapi.json", "").replace("asyncapi.json", "").replace("application/json", "")

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                target = document
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_the_request_body_schema_holds_the_same_constraints():
    check = request_validator()
    assert check.is_valid([example_task("full-task")])
    assert check.is_valid([{"taskType": "authentication", "apiKey": "k"}, example_task()])
    assert not check.is_valid([with_parameter(example_task(), "outputQuality", 100)])
    assert not check.is_valid([])


def test_the_websocket_is_not_an_http_operation_but_is_pointed_to():
    # A plain GET /v1 is refused with 405: declared as an operation, a property-based tester would flag it.
    document = openapi_document()
    assert set(document["paths"]["/v1"]) == {"post"}
    assert document["x-asyncapi"] == "/asyncapi.json"
    assert "/asyncapi.json" in document["info"]["description"]
