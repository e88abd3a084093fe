"""Loads the JSON Schemas in `schemas/` and compiles their validators once.

The schemas are the single source of truth for every documented constraint. Each schema gets two
validators built from the same file: `fast_validator` (jsonschema-rs, compiled to native code) answers
"valid or not" on the hot path, and `validator` (jsonschema) explains a refusal precisely, with the
failing keyword and subschema, which the error messages are made from.

One liberty is taken with `multipleOf`: jsonschema divides floats (0.07 / 0.01 = 7.000000000000001),
so both validators check steps with `is_step_multiple`, exact arithmetic on the number as written.

Three keywords are added, for rules plain JSON Schema cannot state: `x-greaterThan`, on an object, maps a
property to a sibling it must be greater than (`{"endTime": "startTime"}`); `x-disjointWindows`, on an
array of objects, names the start and end properties of windows that must not overlap
(`["startTime", "endTime"]`; windows may touch); `x-dateWindow`, on an object, names two date properties
and the most days between them (`{"start": "startDate", "end": "endDate", "maxDays": 30}`: the end is a real
date, not before the start, at most that many days after it). Both validators enforce them here, so these
rules live in the schema like every other.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, TypeGuard

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource

BASE_URI = "https://lipsync-mock.invalid/schemas/"


def is_step_multiple(value: float, step: float) -> bool:
    # repr() gives the shortest decimal that round-trips, i.e. the number as the client wrote it;
    # Decimal turns it into an exact ratio of integers, which cannot overflow or round.
    value_num, value_den = Decimal(repr(value)).as_integer_ratio()
    step_num, step_den = Decimal(repr(step)).as_integer_ratio()
    return (value_num * step_den) % (value_den * step_num) == 0


def _exact_multiple_of(validator: Any, step: float, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "number") and not is_step_multiple(instance, step):
        yield ValidationError(f"{instance!r} is not a multiple of {step!r}")


class _FastMultipleOf:
    """The `multipleOf` keyword for jsonschema-rs, with the same exact check."""

    def __init__(self, parent_schema: dict[str, Any], value: float, schema_path: list[str | int]) -> None:
        self.step = value

    def validate(self, instance: Any) -> None:
        if _is_number(instance) and not is_step_multiple(instance, self.step):
            raise ValueError(f"{instance!r} is not a multiple of {self.step!r}")


class _FastGreaterThan:
    """The `x-greaterThan` keyword for jsonschema-rs."""

    def __init__(self, parent_schema: dict[str, Any], value: dict[str, str], schema_path: list[str | int]) -> None:
        self.pairs = value

    def validate(self, instance: Any) -> None:
        for name, _, wanted in _greater_than_problems(self.pairs, instance):
            raise ValueError(f"{name} must be {wanted}")


class _FastDisjointWindows:
    """The `x-disjointWindows` keyword for jsonschema-rs."""

    def __init__(self, parent_schema: dict[str, Any], value: list[str], schema_path: list[str | int]) -> None:
        self.start, self.end = value

    def validate(self, instance: Any) -> None:
        for index, _ in _overlaps(self.start, self.end, instance):
            raise ValueError(f"window {index} overlaps another")


class _FastDateWindow:
    """The `x-dateWindow` keyword for jsonschema-rs."""

    def __init__(self, parent_schema: dict[str, Any], value: dict[str, Any], schema_path: list[str | int]) -> None:
        self.window = value

    def validate(self, instance: Any) -> None:
        for name, _, wanted in _date_window_problems(self.window, instance):
            raise ValueError(f"{name} must be {wanted}")


def _parsed_date(value: Any) -> datetime | None:
    """A date or date-time string as an aware datetime (UTC when it names no zone); None when it is no date."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _date_window_problems(window: dict[str, Any], instance: Any) -> Iterator[tuple[str, Any, str]]:
    """(property, its value, what it must be) for each way the object breaks its `x-dateWindow`."""
    if not isinstance(instance, dict):
        return
    start_name, end_name, most = window["start"], window["end"], timedelta(days=window["maxDays"])
    dates = {}
    for name in (start_name, end_name):
        if isinstance(instance.get(name), str):
            dates[name] = _parsed_date(instance[name])
            if dates[name] is None:
                yield name, instance[name], "a real calendar date (YYYY-MM-DD)"
    start, end = dates.get(start_name), dates.get(end_name)
    if start is None or end is None:
        return
    if end < start:
        yield end_name, instance[end_name], f"not before {start_name} ({instance[start_name]})"
    elif end - start > most:
        wanted = f"at most {window['maxDays']} days after {start_name} ({instance[start_name]})"
        yield end_name, instance[end_name], wanted


def _date_window(
    validator: Any, window: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    for name, value, wanted in _date_window_problems(window, instance):
        yield ValidationError(wanted, path=[name], instance=value)


def _overlaps(start: str, end: str, instance: Any) -> Iterator[tuple[int, Any]]:
    """(index, window) for each window that starts before an earlier-starting window has ended."""
    if not isinstance(instance, list):
        return
    windows = [
        (item[start], item[end], index)
        for index, item in enumerate(instance)
        if isinstance(item, dict) and _is_number(item.get(start)) and _is_number(item.get(end))
    ]
    latest_end: float | None = None
    for low, high, index in sorted(windows):
        if latest_end is not None and low < latest_end:
            yield index, latest_end
        latest_end = high if latest_end is None else max(latest_end, high)


def _disjoint_windows(
    validator: Any, names: list[str], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    start, end = names
    for index, earlier_end in _overlaps(start, end, instance):
        yield ValidationError(
            f"greater than or equal to the end of the window before it ({earlier_end!r}): windows must not overlap",
            path=[index, start],
            instance=instance[index][start],
        )


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _greater_than_problems(pairs: dict[str, str], instance: Any) -> Iterator[tuple[str, Any, str]]:
    """(property, its value, what it must be) for each `x-greaterThan` pair the object breaks."""
    if not isinstance(instance, dict):
        return
    for larger, smaller in pairs.items():
        high, low = instance.get(larger), instance.get(smaller)
        if _is_number(high) and _is_number(low) and not high > low:
            yield larger, high, f"greater than {smaller} ({low!r})"


def _greater_than(
    validator: Any, pairs: dict[str, str], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    for name, value, wanted in _greater_than_problems(pairs, instance):
        yield ValidationError(wanted, path=[name], instance=value)


StepExactValidator = validators.extend(
    Draft202012Validator,
    {
        "multipleOf": _exact_multiple_of,
        "x-greaterThan": _greater_than,
        "x-disjointWindows": _disjoint_windows,
        "x-dateWindow": _date_window,
    },
)


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


def _format_checker() -> FormatChecker:
    """Formats are checked, `uri` and `uuid` by jsonschema-rs's rules, so both validators agree on them."""
    checker = FormatChecker(formats=())
    for name in ("uri", "uuid"):
        rule = jsonschema_rs.validator_for({"format": name}, validate_formats=True)
        checker.checks(name)(lambda value, rule=rule: not isinstance(value, str) or rule.is_valid(value))
    return checker


@cache
def validator(name: str) -> Draft202012Validator:
    """A compiled validator for one schema file, or for a `$defs` entry given as `file.json#/$defs/x`."""
    file_name, _, pointer = name.partition("#")
    schema: dict[str, Any] = schemas()[file_name]
    if pointer:
        schema = {"$ref": schema["$id"] + "#" + pointer}
    return StepExactValidator(schema, registry=registry(), format_checker=_format_checker())


@cache
def fast_validator(name: str) -> jsonschema_rs.Validator:
    """The jsonschema-rs twin of `validator(name)`: same schema, same answer, many times faster."""
    file_name, _, pointer = name.partition("#")
    fast_registry = jsonschema_rs.Registry([(schema["$id"], schema) for schema in schemas().values()])
    return jsonschema_rs.Draft202012Validator(
        {"$ref": schemas()[file_name]["$id"] + ("#" + pointer if pointer else "")},
        registry=fast_registry,
        validate_formats=True,
        keywords={
            "multipleOf": _FastMultipleOf,
            "x-greaterThan": _FastGreaterThan,
            "x-disjointWindows": _FastDisjointWindows,
            "x-dateWindow": _FastDateWindow,
        },
    )


_NO_DEFAULT = object()


@dataclass(frozen=True)
class _Rule:
    """What completing a task does to one property: fill its default, make it an int, or go inside it."""

    default: Any = _NO_DEFAULT
    is_integer: bool = False
    inner: dict[str, _Rule] | None = None  # the rules of an object, or of each item of an array
    is_array: bool = False


def complete(schema_name: str, instance: Any) -> None:
    """Complete a valid task in place: fill in the schema's `default`s where a property is absent, and turn
    the integral floats a client may send for integer parameters (JSON Schema takes 2.0 as an integer) into
    ints. An absent object is created when something inside it has a default, so the result spells out
    every setting the task runs with.
    """
    _apply(_rules_of(schema_name), instance)


@cache
def _rules_of(schema_name: str) -> dict[str, _Rule]:
    return _rules(schemas()[schema_name])


def _rules(schema: dict[str, Any]) -> dict[str, _Rule]:
    rules: dict[str, _Rule] = {}
    for name, sub in schema.get("properties", {}).items():
        if "properties" in sub and (inner := _rules(sub)):
            rules[name] = _Rule(inner=inner)
        elif "items" in sub and (inner := _rules(sub["items"])):
            rules[name] = _Rule(inner=inner, is_array=True)
        elif "default" in sub or sub.get("type") == "integer":
            rules[name] = _Rule(sub.get("default", _NO_DEFAULT), sub.get("type") == "integer")
    return rules


def _apply(rules: dict[str, _Rule], instance: Any) -> None:
    if not isinstance(instance, dict):
        return
    for name, rule in rules.items():
        if rule.inner is None:
            value = instance.get(name)
            if value is None and rule.default is not _NO_DEFAULT:
                default = rule.default  # scalars are shared as they are; containers are copied
                instance[name] = copy.deepcopy(default) if isinstance(default, dict | list) else default
            elif rule.is_integer and isinstance(value, float):
                instance[name] = int(value)
        elif rule.is_array:
            for item in instance.get(name, ()):
                _apply(rule.inner, item)
        else:
            _apply(rule.inner, instance.setdefault(name, {}))
