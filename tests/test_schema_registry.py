from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from mock_server.schema_registry import BASE_URI, complete, fast_validator, registry, schemas, validator

STEP = {"type": "number", "multipleOf": 0.01}


@pytest.mark.parametrize("value", [0, 1, 0.07, 0.29, 0.57, 1.1, 4.35, 123.45, 1e20, -0.01])
def test_steps_are_exact_decimal_steps(value):
    assert validator("common.json").evolve(schema=STEP).is_valid(value)


@pytest.mark.parametrize("value", [0.505, 0.001, 0.015, 1e-7, 123.456])
def test_values_between_steps_are_refused(value):
    assert not validator("common.json").evolve(schema=STEP).is_valid(value)


def test_float_division_would_refuse_valid_steps():
    # Why the step check is replaced: plain float division calls 0.07 off-step.
    assert not Draft202012Validator(STEP).is_valid(0.07)


def test_every_schema_is_valid_2020_12_and_named_after_its_file():
    for name, schema in schemas().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == BASE_URI + name


def test_every_reference_resolves():
    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for name, schema in schemas().items():
        resolver = registry().resolver(base_uri=schema["$id"])
        for ref in refs(schema):
            assert resolver.lookup(ref).contents is not None, (name, ref)


def test_completing_fills_only_what_is_absent_and_makes_integers_ints():
    task = {
        "outputQuality": 20.0,
        "ttl": 60.0,
        "safety": {"mode": "full"},
        "providerSettings": {"sync": {"segments": [{"startTime": 0}, {"audioStartTime": 1.5}]}},
    }
    complete("video-inference-task.json", task)
    assert task["outputQuality"] == 20 and task["outputFormat"] == "MP4"
    assert type(task["outputQuality"]) is int and type(task["ttl"]) is int
    assert task["safety"] == {"mode": "full", "checkContent": False}
    sync = task["providerSettings"]["sync"]
    assert [segment["audioStartTime"] for segment in sync["segments"]] == [0, 1.5]
    assert sync["activeSpeakerDetection"] == {"autoDetect": False}
    assert "inputs" not in task


def test_a_defs_entry_can_be_validated_on_its_own():
    assert validator("result-item.json#/$defs/success").is_valid(
        {
            "taskType": "videoInference",
            "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b",
            "status": "success",
            "videoUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f",
        }
    )
    assert not validator("result-item.json#/$defs/success").is_valid({"status": "processing"})


def _constraint_cases():
    from contract_tests.payloads import example_task, with_parameter
    from contract_tests.test_constraints import ACCEPTED, REFUSED, SEGMENT_ACCEPTED, SEGMENT_REFUSED, task_with_segment

    for path, value, *_ in ACCEPTED + REFUSED:
        yield with_parameter(example_task(), path, value)
    for path, value, *_ in SEGMENT_ACCEPTED + SEGMENT_REFUSED:
        yield with_parameter(task_with_segment(), path, value)
    yield example_task("full-task")


@pytest.mark.parametrize(
    ("name", "instance"),
    [("video-inference-task.json", task) for task in _constraint_cases()]
    + [
        ("task-array.json", body)
        for body in ([], {}, [1], [{}], [{"taskType": "x"}], [{"taskType": "getResponse"}], [{"taskType": 5}])
    ]
    + [("result-item.json", {"taskType": "videoInference", "taskUUID": "x", "status": "processing"})],
)
def test_the_fast_and_the_explaining_validator_agree(name, instance):
    assert fast_validator(name).is_valid(instance) == validator(name).is_valid(instance)
