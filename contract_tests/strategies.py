"""Hypothesis strategies built from the files in `schemas/`: requests to send, answers to fuzz clients with.

Nothing here restates a constraint: ranges, steps, enumerations, required and optional parameters, the
together-rule (`dependentRequired`) and the order rule (`x-greaterThan`) are all read from the schemas,
so a change to a schema changes what is generated. The generator covers exactly the keywords the schemas
use, with steps generated as exact decimals (0.07, never 0.07000000000000001).

    from contract_tests import strategies

    @given(strategies.valid_tasks())
    def test_my_client_sends_what_it_is_given(task): ...

    @given(strategies.invalid_tasks())
    def test_my_validator_agrees(case):  # case.task breaks exactly case.parameter, in the way case.kind names
        ...

    @given(strategies.result_sequences())
    def test_my_poller_handles_results_one_by_one(bodies): ...
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from contract_tests.payloads import MISSING, with_parameter
from mock_server.paths import parse_path
from mock_server.schema_registry import registry, schemas, validator
from mock_server.variation import ResponseVariation

Resolver = Any  # referencing's resolver; its class is not part of referencing's public API

TASK_SCHEMA = "video-inference-task.json"
LOOPBACK_MEDIA = ("http://127.0.0.1:9/media/speaker.mp4", "http://127.0.0.1:9/media/voice.wav")
# Callbacks (webhookURL, uploadEndpoint) go to a closed loopback port unless told otherwise: a generated
# request never makes anyone call an outside host.
LOOPBACK_CALLBACK_BASE = "http://127.0.0.1:9"

Overrides = Mapping[str, st.SearchStrategy[Any]]  # parameter path ("[]" for array items) → strategy


@dataclass(frozen=True)
class Limits:
    """Ranges for numbers whose schema leaves a side open, so generated values stay plausible."""

    number_max: float = 60.0
    integer_span: int = 100_000
    array_max: int = 3


def from_schema(
    name: str, *, overrides: Overrides | None = None, extra_fields: bool = False, limits: Limits | None = None
) -> st.SearchStrategy[Any]:
    """Values valid against a schema file (or `file.json#/$defs/x`).

    `overrides` replaces the strategy at a parameter path; `extra_fields` adds unknown properties where the
    schema allows them, as a server may add fields a client must ignore.
    """
    file_name, _, pointer = name.partition("#")
    resolved = registry().resolver().lookup(schemas()[file_name]["$id"] + ("#" + pointer if pointer else ""))
    builder = _Builder(overrides or {}, extra_fields, limits or Limits())
    return builder.build(resolved.contents, resolved.resolver, "")


class _Builder:
    def __init__(self, overrides: Overrides, extra_fields: bool, limits: Limits) -> None:
        self.overrides = overrides
        self.extra_fields = extra_fields
        self.limits = limits

    def build(self, schema: dict[str, Any], resolver: Resolver, path: str) -> st.SearchStrategy[Any]:
        if path in self.overrides:
            return self.overrides[path]
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            return self.build(resolved.contents, resolved.resolver, path)
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema:
                return st.one_of([self.build(branch, resolver, path) for branch in schema[combinator]])
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema, resolver, path)
        if kind == "array":
            items = self.build(schema.get("items", {}), resolver, path + "[]")
            drawn = st.lists(
                items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", self.limits.array_max)
            )
            windows = schema.get("x-disjointWindows")
            return drawn.map(lambda value: _apart(value, *windows)) if windows else drawn
        if kind == "string":
            return _string(schema)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return st.booleans()
        return _json_values()

    def _object(self, schema: dict[str, Any], resolver: Resolver, path: str) -> st.SearchStrategy[dict[str, Any]]:
        properties = {
            name: self.build(sub, resolver, f"{path}.{name}" if path else name)
            for name, sub in schema.get("properties", {}).items()
        }
        required = set(schema.get("required", ()))
        together = [
            (given, *needed) for given, needed in schema.get("dependentRequired", {}).items() if given < min(needed)
        ]
        grouped = {name for group in together for name in group}
        base = st.fixed_dictionaries(
            {name: s for name, s in properties.items() if name in required},
            optional={name: s for name, s in properties.items() if name not in required | grouped},
        )
        parts = [base] + [
            st.one_of(st.just({}), st.fixed_dictionaries({name: properties[name] for name in group}))
            for group in together
        ]
        if self.extra_fields and schema.get("additionalProperties", True) is not False:
            parts.append(_extra_fields(set(properties)))
        combined = st.tuples(*parts).map(lambda dicts: {k: v for d in dicts for k, v in d.items()})
        order = schema.get("x-greaterThan")
        if order:
            steps = {name: schema["properties"][name].get("multipleOf") for name in order}
            combined = combined.map(lambda value: _put_in_order(value, order, steps))
        return combined

    def _integer(self, schema: dict[str, Any]) -> st.SearchStrategy[int]:
        low, high = schema.get("minimum"), schema.get("maximum")
        low = low if low is not None else (high if high is not None else 0) - self.limits.integer_span
        high = high if high is not None else low + self.limits.integer_span
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high))

    def _number(self, schema: dict[str, Any]) -> st.SearchStrategy[float]:
        low = schema.get("minimum", -self.limits.number_max)
        high = schema.get("maximum", self.limits.number_max)
        step = schema.get("multipleOf")
        if step is None:
            edges = st.sampled_from([float(low), float(high)])
            return st.one_of(edges, st.floats(low, high, allow_nan=False, allow_infinity=False))
        exact = Decimal(repr(step))
        first, last = math.ceil(Decimal(repr(low)) / exact), math.floor(Decimal(repr(high)) / exact)
        counts = st.one_of(st.sampled_from([first, first + 1, last - 1, last]), st.integers(first, last))
        return counts.map(lambda count: float(count * exact))


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    pattern = schema.get("pattern", "")
    if schema.get("format") == "uuid":
        return st.uuids(version=4).map(str)
    if schema.get("format") == "uri":
        if pattern.startswith("^data:"):
            payload = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", max_size=40)
            return payload.map(lambda data: f"data:video/mp4;base64,{data}")
        return callback_urls()
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    return st.text(min_size=schema.get("minLength", 0), max_size=40)


def callback_urls(base: str = LOOPBACK_CALLBACK_BASE) -> st.SearchStrategy[str]:
    """http(s) URLs under `base`, with a path and query string as webhook receivers use them."""
    words = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
    return st.builds(lambda path, token: f"{base}/{path}?token={token}", words, words)


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


def _extra_fields(known: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    names = (
        st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12)
        .map(lambda n: f"x{n}")
        .filter(lambda n: n not in known)
    )
    return st.dictionaries(names, _json_values(), max_size=3)


def _put_in_order(value: dict[str, Any], order: dict[str, str], steps: dict[str, float | None]) -> dict[str, Any]:
    """Move each `larger` property above its `smaller` sibling, keeping it on its step grid."""
    for larger, smaller in order.items():
        if larger in value and smaller in value and not value[larger] > value[smaller]:
            step = Decimal(repr(steps[larger] or 1))
            low, high = Decimal(repr(value[smaller])), Decimal(repr(value[larger]))
            value[larger] = float(low + max(step, low - high))
    return value


def _apart(items: list[dict[str, Any]], start: str, end: str) -> list[dict[str, Any]]:
    """Shift windows later, keeping their lengths and the step grid, until none overlaps another."""
    latest_end: Decimal | None = None
    for item in sorted(items, key=lambda item: item[start]):
        low, high = Decimal(repr(item[start])), Decimal(repr(item[end]))
        if latest_end is not None and low < latest_end:
            low, high = latest_end, latest_end + (high - low)
            item[start], item[end] = float(low), float(high)
        latest_end = high if latest_end is None else max(latest_end, high)
    return items


# --- requests ---------------------------------------------------------------------------------------------


def media_overrides(video: st.SearchStrategy[str], audio: st.SearchStrategy[str]) -> dict[str, Any]:
    """Where a task names media, the strategies to draw it from."""
    return {"inputs.video": video, "inputs.audio": audio, "providerSettings.sync.segments[].audio": audio}


def valid_tasks(
    video: st.SearchStrategy[str] | None = None,
    audio: st.SearchStrategy[str] | None = None,
    *,
    callback_base: str = LOOPBACK_CALLBACK_BASE,
    limits: Limits | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """lipsync-2 videoInference tasks that keep every documented constraint, optional parameters included.

    Media references come from `video` and `audio` (loopback URLs by default); webhook and upload URLs
    are built under `callback_base`.
    """
    overrides: dict[str, Any] = media_overrides(
        st.just(LOOPBACK_MEDIA[0]) if video is None else video, st.just(LOOPBACK_MEDIA[1]) if audio is None else audio
    )
    overrides["webhookURL"] = overrides["uploadEndpoint"] = callback_urls(callback_base)
    return from_schema(TASK_SCHEMA, overrides=overrides, limits=limits).filter(_within_the_audio_cap)


# The provider caps audio at 300 s: no segment window or audio crop of a task it takes reaches past it. Windows laid
# end to end by x-disjointWindows may, so those few draws are left out.
PROVIDER_AUDIO_SECONDS = 300.0


def _within_the_audio_cap(task: dict[str, Any]) -> bool:
    segments = task.get("providerSettings", {}).get("sync", {}).get("segments", [])
    return all(
        segment.get(name, 0) <= PROVIDER_AUDIO_SECONDS for segment in segments for name in ("endTime", "audioEndTime")
    )


@dataclass(frozen=True)
class InvalidCase:
    """A task that breaks exactly one documented constraint."""

    task: dict[str, Any]
    parameter: str  # the path a refusal must name, e.g. providerSettings.sync.segments[0].endTime
    kind: str  # type, range, enum, format, required, step, together, order or unknown


@dataclass(frozen=True)
class Break:
    parent: str  # the object holding the parameter, "" for the task, "[]" where an array index goes
    name: str  # the parameter the refusal must name
    kind: str
    apply: Callable[[dict[str, Any]], None] = field(repr=False)  # breaks the parent object


def invalid_tasks(
    video: st.SearchStrategy[str] | None = None, audio: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[InvalidCase]:
    """Tasks that break exactly one documented constraint each, tagged with what they break.

    Every kind of break the task schema allows is drawn: a wrong type, a value just outside a range, off
    a step or outside an enumeration, a malformed UUID or URL, a required parameter left out, one of a pair
    of parameters that go together given alone, an order rule broken, an unknown parameter added.
    """
    return st.builds(_break_task, valid_tasks(video, audio), st.sampled_from(schema_breaks()), st.randoms())


def _break_task(base: dict[str, Any], breaking: Break, rng: Any) -> InvalidCase:
    task = copy.deepcopy(base)
    parent_path = breaking.parent
    if "[]" in parent_path:
        array_path, _, rest = parent_path.partition("[]")
        items = _get(task, array_path)
        if items is MISSING or not items:
            items = [_minimal_segment()]
            task = with_parameter(task, array_path, items)
        parent_path = f"{array_path}[{rng.randrange(len(items))}]{rest}"
    if parent_path and _get(task, parent_path) is MISSING:
        task = with_parameter(task, parent_path, {})
    breaking.apply(_get(task, parent_path) if parent_path else task)
    problems = list(validator(TASK_SCHEMA).iter_errors(task))
    assume(len(problems) == 1)  # the break must not have broken a second rule along the way
    parameter = f"{parent_path}.{breaking.name}" if parent_path else breaking.name
    return InvalidCase(task, parameter, breaking.kind)


def _minimal_segment() -> dict[str, Any]:
    return {"startTime": 0, "endTime": 1, "audio": LOOPBACK_MEDIA[1]}


def _get(task: dict[str, Any], path: str) -> Any:
    node: Any = task
    for part in parse_path(path):
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            node = node.get(part, MISSING)
        else:
            return MISSING
    return node


def _schema_at(path: str) -> dict[str, Any]:
    """The (resolved) schema of a parameter path of the task schema; "" is the task itself."""
    resolved = registry().resolver().lookup(schemas()[TASK_SCHEMA]["$id"])
    schema, resolver = resolved.contents, resolved.resolver
    for part in filter(None, path.split(".")):
        name, is_array = part.removesuffix("[]"), part.endswith("[]")
        schema = schema["properties"][name]
        if "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            schema, resolver = resolved.contents, resolved.resolver
        if is_array:
            schema = schema["items"]
    return schema


# A value of another type for each JSON type (including look-alikes such as "12" for 12).
WRONG_TYPES: dict[str, Any] = {
    "string": 12345,
    "integer": "12",
    "number": "0.5",
    "boolean": "true",
    "object": "not-an-object",
    "array": {"not": "an array"},
}


def _setter(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(parent: dict[str, Any]) -> None:
        parent[name] = value

    return apply


def _below(schema: dict[str, Any]) -> Any:
    return schema["minimum"] - (1 if schema.get("type") == "integer" else schema.get("multipleOf", 0.01))


def _above(schema: dict[str, Any]) -> Any:
    return schema["maximum"] + (1 if schema.get("type") == "integer" else schema.get("multipleOf", 0.01))


def _off_step(name: str, schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Half a step away from the current value, inward from a maximum, so no other rule is touched."""
    step = Decimal(repr(schema["multipleOf"]))
    low, high = schema.get("minimum", 0), schema.get("maximum")

    def apply(parent: dict[str, Any]) -> None:
        current = Decimal(repr(parent.get(name, low)))
        moved = current + step / 2
        if high is not None and moved > Decimal(repr(high)):
            moved = current - step / 2
        parent[name] = float(moved)

    return apply


def _malformed(schema: dict[str, Any]) -> str:
    if schema.get("format") == "uuid":
        return "6ba7b810-9dad-11d1-80b4-00c04fd430c8"  # a version 1 UUID
    if schema.get("format") == "uri":
        return "ftp://127.0.0.1/not-http"
    return ""  # below minLength


def _remove(name: str) -> Callable[[dict[str, Any]], None]:
    def apply(parent: dict[str, Any]) -> None:
        parent.pop(name, None)

    return apply


def _alone(given: str, partner: str, given_value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(parent: dict[str, Any]) -> None:
        parent.setdefault(given, given_value)
        parent.pop(partner, None)

    return apply


def _not_greater(larger: str, smaller: str) -> Callable[[dict[str, Any]], None]:
    def apply(parent: dict[str, Any]) -> None:
        parent.setdefault(smaller, 0)  # a pair that goes together (dependentRequired) may be absent
        parent[larger] = parent[smaller]

    return apply


def schema_breaks() -> list[Break]:
    """Every way the task schema can be broken, found by walking it."""
    found: list[Break] = []
    _walk(_schema_at(""), "", found)
    return found


def _walk(schema: dict[str, Any], prefix: str, found: list[Break]) -> None:
    required = set(schema.get("required", ()))
    for name in schema.get("properties", {}):
        path = f"{prefix}.{name}".lstrip(".")
        sub = _schema_at(path)
        kind = sub.get("type", "")  # "" for none: no wrong type to send
        bad_values = [
            ("type", WRONG_TYPES.get(kind, MISSING)),
            (
                "enum",
                "not-" + str((sub.get("enum") or [sub.get("const")])[0]) if {"enum", "const"} & set(sub) else MISSING,
            ),
            ("range", _below(sub) if "minimum" in sub else MISSING),
            ("range", _above(sub) if "maximum" in sub else MISSING),
            ("format", _malformed(sub) if "format" in sub or sub.get("minLength") else MISSING),
        ]
        found.extend(Break(prefix, name, k, _setter(name, value)) for k, value in bad_values if value is not MISSING)
        if "multipleOf" in sub:
            found.append(Break(prefix, name, "step", _off_step(name, sub)))
        if name in required:
            found.append(Break(prefix, name, "required", _remove(name)))
        if kind == "object":
            _walk(sub, path, found)
        if kind == "array" and sub["items"].get("type") == "object":
            _walk(sub["items"], path + "[]", found)
    for given, partners in schema.get("dependentRequired", {}).items():
        given_value = schema["properties"][given].get("minimum", 0)
        found.extend(Break(prefix, partner, "together", _alone(given, partner, given_value)) for partner in partners)
    for larger, smaller in schema.get("x-greaterThan", {}).items():
        found.append(Break(prefix, larger, "order", _not_greater(larger, smaller)))
    if schema.get("additionalProperties") is False:
        found.append(Break(prefix, "unknownParameter", "unknown", _setter("unknownParameter", "surprise")))


# --- answers, for fuzzing a client ------------------------------------------------------------------------


def acknowledgments(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """`{"data": [ack]}` bodies, as a videoInference submission is answered."""
    return from_schema("acknowledgment.json", extra_fields=extra_fields).map(lambda item: {"data": [item]})


def processing_items(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    return from_schema("result-item.json#/$defs/processing", extra_fields=extra_fields)


def success_items(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Finished results, with and without each optional field (videoURL, seed, cost, NSFWContent, ...)."""
    return from_schema("result-item.json#/$defs/success", extra_fields=extra_fields)


def error_bodies(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """`{"errors": [...]}` bodies, as a refused request or a failed task is answered."""
    return from_schema("response-body.json#/$defs/errorsOnly", extra_fields=extra_fields)


def media_storage_answers(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """`{"data": [item]}` bodies, as an upload or a delete is answered (each echoes its `operation`)."""
    return from_schema("media-storage-result.json", extra_fields=extra_fields).map(lambda item: {"data": [item]})


def account_details(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """`{"data": [item]}` bodies, as accountManagement getDetails is answered: the organisation and balance."""
    return from_schema("account-details-result.json", extra_fields=extra_fields).map(lambda item: {"data": [item]})


def task_details(extra_fields: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """`{"data": [item]}` bodies, as getTaskDetails is answered: an earlier task's request and its answer."""
    return from_schema("task-details-result.json", extra_fields=extra_fields).map(lambda item: {"data": [item]})


def result_sequences(max_results: int = 4, extra_fields: bool = False) -> st.SearchStrategy[list[dict[str, Any]]]:
    """The bodies successive polls of one task return, as its results finish one by one.

    Each body holds every result: those done so far as success items, the rest as processing items, in a
    fixed order; a poll may repeat the previous state.
    """

    def sequence(
        task_uuid: str, successes: list[dict[str, Any]], repeats: list[int], processing: dict[str, Any]
    ) -> list[dict[str, Any]]:
        waiting = {**processing, "taskUUID": task_uuid}
        done = [{**item, "taskUUID": task_uuid} for item in successes]
        bodies = []
        for finished, repeat in zip(range(len(done) + 1), repeats, strict=False):
            body = {"data": done[:finished] + [waiting] * (len(done) - finished)}
            bodies.extend([body] * (1 + repeat))
        return bodies

    return st.integers(1, max_results).flatmap(
        lambda count: st.builds(
            sequence,
            st.uuids(version=4).map(str),
            st.lists(success_items(extra_fields), min_size=count, max_size=count, unique_by=lambda i: i["videoUUID"]),
            st.lists(st.integers(0, 2), min_size=count + 1, max_size=count + 1),
            processing_items(extra_fields),
        )
    )


def varied(bodies: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Answer bodies varied as `lipsync-mock --vary-responses SEED` varies its own (mock_server/variation.py):
    extra fields, progress in leaps or left out, result items in another order, a done result shown as
    processing once more. Still valid against the response schemas."""
    return st.builds(_vary, bodies, st.integers(0, 2**32 - 1))


def _vary(body: dict[str, Any], seed: int) -> dict[str, Any]:
    variation = ResponseVariation(seed)
    data = body.get("data")
    if isinstance(data, list) and data and all(isinstance(item, dict) and "status" in item for item in data):
        body = {**body, "data": variation.poll_items(data)}
    return variation.body(body)
