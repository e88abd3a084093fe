"""Loads the JSON Schemas in `schemas/` and compiles their validators once.

The schemas are the single source of truth for every documented constraint. The one liberty taken is
`multipleOf`: jsonschema divides floats (0.07 / 0.01 = 7.000000000000001), so this validator checks
steps with exact decimal arithmetic on the number as it was written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource

BASE_URI = "https://lipsync-mock.invalid/schemas/"


def _exact_multiple_of(validator: Any, step: float, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    # repr() gives the shortest decimal that round-trips, i.e. the number as the client wrote it.
    if (Fraction(repr(instance)) / Fraction(repr(step))).denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


StepExactValidator = validators.extend(Draft202012Validator, {"multipleOf": _exact_multiple_of})


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Every schema file by file name, e.g. `video-inference-task.json`."""
    folder = resources.files("mock_server") / "schemas"
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    }


@cache
def registry() -> Registry:
    return Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas().values())


@cache
def validator(name: str) -> Draft202012Validator:
    """A compiled validator for one schema file, or for a `$defs` entry given as `file.json#/$defs/x`."""
    file_name, _, pointer = name.partition("#")
    schema: dict[str, Any] = schemas()[file_name]
    if pointer:
        schema = {"$ref": schema["$id"] + "#" + pointer}
    return StepExactValidator(schema, registry=registry())


def with_defaults(schema: dict[str, Any], instance: Any) -> Any:
    """A copy of `instance` with the schema's `default`s filled in for absent properties.

    An absent object is created when something inside it has a default, so the result spells out
    every setting the task runs with.
    """
    result = copy.deepcopy(instance)
    _fill_defaults(schema, result)
    return result


def _fill_defaults(schema: dict[str, Any], instance: Any) -> None:
    if isinstance(instance, dict):
        for name, subschema in schema.get("properties", {}).items():
            if name in instance:
                _fill_defaults(subschema, instance[name])
            elif "default" in subschema:
                instance[name] = copy.deepcopy(subschema["default"])
            elif "properties" in subschema:
                created: dict[str, Any] = {}
                _fill_defaults(subschema, created)
                if created:
                    instance[name] = created
    elif isinstance(instance, list) and "items" in schema:
        for item in instance:
            _fill_defaults(schema["items"], item)
