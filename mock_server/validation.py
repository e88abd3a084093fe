"""Turns schema violations into the platform's error objects.

Codes follow the platform's pattern: `missing<Name>` for an absent required parameter,
`unsupported<Name>` for a value outside an enumeration, `invalid<Name>` for anything else,
`unsupportedParameter` for a parameter the model does not take (with the accepted names in
`allowedValues`, as the real service answers). `<Name>` is the parameter's own name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from functools import cache
from typing import Any, TypedDict

from jsonschema import ValidationError

from mock_server import exceptions
from mock_server.exceptions import RunwareError, invalid_request_body, validation_error
from mock_server.paths import Path, format_path, leaf_name
from mock_server.schema_registry import fast_validator, schemas, validator

log = logging.getLogger(__name__)


@cache
def task_schema_names() -> dict[str, str]:
    """The schema file of each task type, found from the `taskType` const of the `*-task.json` files."""
    return {
        schema["properties"]["taskType"]["const"]: name
        for name, schema in schemas().items()
        if name.endswith("-task.json")
    }


# A refusal is explained by jsonschema, in pure Python and with a copy of each long string (see _LongText):
# a thread does that, so a refused 60 MB body does not hold the event loop. Accepting is the fast validator's
# job alone and stays on the loop.


async def envelope_errors(body: Any) -> list[tuple[int | None, RunwareError]]:
    """Problems with the task array itself: `(None, error)` refuses the whole body, `(i, error)` task i."""
    try:
        if fast_validator("task-array.json").is_valid(body):
            return []
    except UnicodeEncodeError:  # JSON can spell a lone surrogate ("\ud800"), which no validator can read as text
        return [(None, invalid_request_body(NOT_TEXT))]
    return await asyncio.to_thread(_explained_envelope_errors, body)


async def validate_task(task: dict[str, Any]) -> list[RunwareError]:
    """Every problem with one task whose taskType is known, at most one per parameter."""
    schema_name = task_schema_names()[task["taskType"]]
    try:
        if fast_validator(schema_name).is_valid(task):
            return []
    except UnicodeEncodeError:
        return [invalid_request_body(NOT_TEXT)]
    return await asyncio.to_thread(_explained_task_errors, task, schema_name)


NOT_TEXT = "The request body holds a lone surrogate escape (such as \\ud800): its strings must be Unicode text."
TOO_DEEP = "The request body is nested too deeply to be read as tasks."


def _explained_envelope_errors(body: Any) -> list[tuple[int | None, RunwareError]]:
    try:
        return list(_envelope_explanations(body))
    except RecursionError:  # the explaining validator walks the body by recursion
        return [(None, invalid_request_body(TOO_DEEP))]


def _envelope_explanations(body: Any) -> Iterator[tuple[int | None, RunwareError]]:
    explained = False
    for error in validator("task-array.json").iter_errors(_with_short_reprs(body)):
        explained = True
        path = list(error.absolute_path)
        if not path:
            yield None, invalid_request_body("The request body must be a non-empty JSON array of task objects.")
        elif len(path) == 1 and error.validator == "type":
            yield path[0], invalid_request_body(f"Task [{path[0]}] must be a JSON object.", f"[{path[0]}]")
        else:
            yield from ((path[0], e) for e in _convert(error, path[1:], body[path[0]]))
    if not explained:
        yield None, _disagreement("task-array.json")


# A refusal lists at most this many problems of one task, then a note that there are more: a small body of
# 300,000 bad segments once made a 321 MB answer. Validation stops there.
MAX_ERRORS_PER_TASK = 20


def _explained_task_errors(task: dict[str, Any], schema_name: str) -> list[RunwareError]:
    found: dict[str | None, RunwareError] = {}
    try:
        for error in validator(schema_name).iter_errors(_with_short_reprs(task)):
            for converted in _convert(error, list(error.absolute_path), task):
                found.setdefault(converted.parameter, converted)
            if len(found) > MAX_ERRORS_PER_TASK:
                break
    except RecursionError:  # a task nested hundreds deep in a parameter that takes no such thing
        return [invalid_request_body(TOO_DEEP)]
    return capped(list(found.values()), task) or [_disagreement(schema_name)]


def capped(errors: list[RunwareError], task: Any) -> list[RunwareError]:
    """The first MAX_ERRORS_PER_TASK of a task's errors, and a note when there were more."""
    if len(errors) <= MAX_ERRORS_PER_TASK:
        return errors
    note = exceptions.TOO_MANY_ERRORS(
        f"More than {MAX_ERRORS_PER_TASK} problems were found in this task; the first {MAX_ERRORS_PER_TASK} are "
        "listed. Fix them and send it again to see the rest.",
        **_task_ids(task),
    )
    return [*errors[:MAX_ERRORS_PER_TASK], note]


# jsonschema words each error with the repr() of the value that failed, though the mock words its own: for a
# 60 MB data URI that repr took 100 ms and twice the string's size. The explaining validator
# sees long strings as `_LongText`: the same text, with a short repr.
LONG_TEXT = 4096


class _LongText(str):
    def __repr__(self) -> str:
        return f"{str.__repr__(self[:40])}... ({len(self)} characters)"


def _with_short_reprs(value: Any) -> Any:
    if isinstance(value, str):
        return _LongText(value) if len(value) > LONG_TEXT else value
    if isinstance(value, list):
        return [_with_short_reprs(item) for item in value]
    if isinstance(value, dict):
        return {name: _with_short_reprs(item) for name, item in value.items()}
    return value


def uses_audio_sources(task: dict[str, Any]) -> bool:
    """Whether a videoInference task is written in the list form of `audio-sources.json`."""
    inputs, settings = task.get("inputs"), task.get("providerSettings")
    sync = settings.get("sync") if isinstance(settings, dict) else None
    segments = sync.get("segments") if isinstance(sync, dict) else None
    return (isinstance(inputs, dict) and isinstance(inputs.get("audio"), list)) or (
        isinstance(segments, list) and any(isinstance(s, dict) and "ref" in s for s in segments)
    )


async def read_audio_sources(task: dict[str, Any]) -> list[RunwareError]:
    """--compat audio-inputs=list: a task in the list form (`audio-sources.json`) rewritten in place into the model
    page's form — the source without an id as `inputs.audio`, each segment's `ref` as the `audio` it names — or
    the problems that stop it. The task is then validated as any other."""
    if not fast_validator("audio-sources.json").is_valid(task):
        return await asyncio.to_thread(_explained_task_errors, task, "audio-sources.json")
    # Valid as audio-sources.json: inputs.audio and the segments, where given, are lists of objects.
    sources = task.get("inputs", {}).get("audio", [])
    named = {source["id"]: source["source"] for source in sources if "id" in source}
    whole = [source["source"] for source in sources if "id" not in source]
    problems = []
    if len(named) < len(sources) - len(whole) or len(whole) > 1:
        message = "Invalid value for inputs.audio: each id must be used once, and one source at most may have none."
        problems.append(validation_error("invalid", "audio", message, parameter="inputs.audio", **_task_ids(task)))
    segments = task.get("providerSettings", {}).get("sync", {}).get("segments", [])
    for index, segment in enumerate(segments):
        if "ref" not in segment:
            continue
        param = format_path(["providerSettings", "sync", "segments", index, "ref"])
        if "audio" in segment or segment["ref"] not in named:
            wanted = (
                "used instead of audio, not beside it" if "audio" in segment else "the id of an inputs.audio source"
            )
            message = f"Invalid value for {param}: {json.dumps(segment['ref'])}. It must be {wanted}."
            problems.append(validation_error("invalid", "ref", message, parameter=param, **_task_ids(task)))
    if problems:
        return capped(problems, task)
    for segment in segments:
        if "ref" in segment:
            segment["audio"] = named[segment.pop("ref")]
    if sources:
        if whole:
            task["inputs"]["audio"] = whole[0]
        else:
            del task["inputs"]["audio"]
    return []


def _disagreement(schema_name: str) -> RunwareError:
    """The fast validator refused what the explaining one accepts: a bug in the mock, never a silent accept."""
    log.error("the validators disagree on %s: refused by jsonschema-rs, explained by nothing", schema_name)
    return exceptions.INTERNAL_ERROR(f"The mock's two validators disagree on this request ({schema_name}).")


def within_limits(task: dict[str, Any], max_seconds: float) -> list[RunwareError]:
    """The mock's own bound on a valid task's output, checked before any work: no segment window or audio crop
    may reach past `max_seconds` (--max-media-seconds, tied to the provider's 300 s cap on audio). Without
    it, one small request could ask for hours of output."""
    if task.get("taskType") != "videoInference":
        return []
    found: list[RunwareError] = []
    for index, segment in enumerate(task.get("providerSettings", {}).get("sync", {}).get("segments", [])):
        if len(found) > MAX_ERRORS_PER_TASK:
            break
        for name in ("endTime", "audioEndTime"):
            if segment.get(name, 0) > max_seconds:
                param = format_path(["providerSettings", "sync", "segments", index, name])
                message = f"Invalid value for {param}: {segment[name]}. It must be at most {max_seconds:g} (seconds)."
                found.append(
                    validation_error(
                        "invalid", name, message, parameter=param, extra={"max": max_seconds}, **_task_ids(task)
                    )
                )
    return capped(found, task)


def _convert(error: ValidationError, path: Path, task: Any) -> Iterator[RunwareError]:
    keyword = error.validator
    instance = error.instance
    if keyword == "required":
        for name in error.validator_value:
            if name not in instance:
                yield _missing([*path, name], task, f"Missing required parameter {format_path([*path, name])}.")
    elif keyword == "dependentRequired":
        for given, needed in error.validator_value.items():
            for name in (n for n in needed if given in instance and n not in instance):
                yield _missing(
                    [*path, name],
                    task,
                    f"{format_path([*path, name])} is required when {given} is given: "
                    f"{given} and {name} must be used together.",
                )
    elif keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        for name in (n for n in instance if n not in known):
            param = format_path([*path, name])
            yield exceptions.UNSUPPORTED_PARAMETER(
                f"Unsupported parameter {param}: the model does not take it.",
                parameter=param,
                allowedValues=accepted_names(known),
                **_task_ids(task),
            )
    elif keyword == "anyOf":
        allowed = [sub.validator_value for sub in error.context if sub.validator == "const"]
        words = "one of " + ", ".join(json.dumps(value) for value in allowed)
        yield _error("unsupported", path, words, instance, task, {"allowedValues": allowed})
    elif keyword in ("x-greaterThan", "x-disjointWindows"):
        yield _error("invalid", path, error.message, instance, task, {"type": "number"})
    elif keyword == "x-dateWindow":
        yield _error("invalid", path, error.message, instance, task, {"type": "string"})
    elif keyword == "enum":
        allowed = list(error.validator_value)
        yield _error("unsupported", path, describe(error.schema), instance, task, {"allowedValues": allowed})
    else:
        yield _error("invalid", path, describe(error.schema), instance, task, _limits(error.schema))


def accepted_names(properties: dict[str, Any]) -> str:
    """The names a level accepts, as the real service lists them: one string of quoted, comma-separated names
    (seen in a recorded answer), not a JSON array."""
    return ", ".join(f'"{name}"' for name in properties)


def describe(schema: dict[str, Any]) -> str:
    """What a parameter's schema allows, in words."""
    if "const" in schema:
        return f"exactly {json.dumps(schema['const'])}"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        text = "an integer" if kind == "integer" else "a number"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            text += f" from {low} to {high}"
        elif low is not None:
            text += f" of at least {low}"
        if "multipleOf" in schema:
            text += f" in multiples of {schema['multipleOf']}"
        return text
    if kind == "string":
        return {"uuid": "a UUID v4 string", "uri": "an absolute http(s) URL"}.get(
            schema.get("format", ""), "a non-empty string" if schema.get("minLength") else "a string"
        )
    return {"boolean": "true or false", "object": "a JSON object", "array": "a JSON array"}.get(
        kind or "", "a valid value"
    )


def _limits(schema: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if "type" in schema:
        extra["type"] = schema["type"]
    if "const" in schema:
        extra["allowedValues"] = [schema["const"]]
    for keyword, field in (
        ("minimum", "min"),
        ("maximum", "max"),
        ("multipleOf", "multiplier"),
        ("default", "default"),
    ):
        if keyword in schema:
            extra[field] = schema[keyword]
    return extra


def _error(prefix: str, path: Path, allowed: str, value: Any, task: Any, extra: dict[str, Any]) -> RunwareError:
    param = format_path(path)
    shown = json.dumps(value[:60] if isinstance(value, str) else value)  # not all of a 60 MB string, to cut it
    if len(shown) > 60:
        shown = shown[:57] + "..."
    message = f"Invalid value for {param}: {shown}. It must be {allowed}."
    return validation_error(prefix, leaf_name(path), message, parameter=param, extra=extra, **_task_ids(task))


def _missing(path: Path, task: Any, message: str) -> RunwareError:
    return validation_error("missing", leaf_name(path), message, parameter=format_path(path), **_task_ids(task))


class _TaskIds(TypedDict):
    """The task's own ids, as the keyword arguments of an error code (`**_task_ids(task)`)."""

    task_type: str | None
    task_uuid: str | None


def _task_ids(task: Any) -> _TaskIds:
    def text(key: str) -> str | None:
        value = task.get(key) if isinstance(task, dict) else None
        return value if isinstance(value, str) else None

    return _TaskIds(task_type=text("taskType"), task_uuid=text("taskUUID"))
