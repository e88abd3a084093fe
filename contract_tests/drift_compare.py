"""What the drift check compares: a recorded answer against the answer a target gives now, structurally, not byte
for byte. Each function takes both sides and returns the differences it finds; none sends anything.

Compared: the HTTP status and content type; the fields of each body and their JSON types; each error's `code`
and `parameter` and its fields; each item's fields and their JSON types (in a poll, per status); the status
progression of each task up to its outcome; the result files' container and duration. Not compared: values
that differ on every run (UUIDs, URLs, seeds, messages, costs) and how many polls a task took.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from contract_tests.client import RawAnswer
from contract_tests.schema_meaning import json_type

DURATION_TOLERANCE = 0.2  # seconds: encoders pad or trim a frame or an audio packet differently
ABSENT = "absent"


@dataclass(frozen=True)
class Difference:
    what: str
    recorded: str
    now: str


def differ(what: str, recorded: Any, now: Any) -> Difference:
    return Difference(what, str(recorded), str(now))


def field_types(item: Any) -> dict[str, str]:
    return {key: json_type(value) for key, value in item.items()} if isinstance(item, dict) else {}


def field_difference(then: dict[str, str], now: dict[str, str]) -> tuple[str, str] | None:
    """The fields whose presence or type differs, as (recorded, now) text; None when they agree."""
    differing = sorted(name for name in then.keys() | now.keys() if then.get(name) != now.get(name))
    if not differing:
        return None
    recorded, current = (", ".join(f"{name}: {side.get(name, ABSENT)}" for name in differing) for side in (then, now))
    return recorded, current


def parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def listed(body: Any, key: str) -> list[Any]:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, list) else []


def error_key(error: Any) -> str:
    if not isinstance(error, dict):
        return json.dumps(error)
    return f"{error.get('code', ABSENT)} @ {json.dumps(error.get('parameter', ABSENT))}"


def is_about(item: Any, task_uuid: str) -> bool:
    """Whether an answer's item (or error) is about the task `task_uuid`."""
    return isinstance(item, dict) and item.get("taskUUID") == task_uuid


def task_state(body: Any, task_uuid: str) -> str | None:
    """What one answer says of a task: its items' statuses ("processing", "processing+success", "error")."""
    statuses = {item.get("status", ABSENT) for item in listed(body, "data") if is_about(item, task_uuid)}
    statuses |= {error.get("status", "error") for error in listed(body, "errors") if is_about(error, task_uuid)}
    return "+".join(sorted(statuses)) or None


def settled(body: Any, task_uuid: str) -> int:
    """How many of a task's results are no longer processing."""
    return sum(1 for item in listed(body, "data") if is_about(item, task_uuid) and item.get("status") != "processing")


def collapsed(states: list[str]) -> list[str]:
    return [state for index, state in enumerate(states) if index == 0 or states[index - 1] != state]


def compare_answer(label: str, then: dict[str, Any], raw: RawAnswer, now: Any) -> list[Difference]:
    """The status, content type, body fields and errors of a recorded answer (`then`) against the answer now."""
    found = []
    if then["status"] != raw.status:
        found.append(differ(f"{label}: HTTP status", then["status"], raw.status))
    then_type = then["headers"].get("Content-Type", "").split(";")[0]
    now_type = {k.lower(): v for k, v in raw.headers.items()}.get("content-type", "").split(";")[0]
    if then_type != now_type:
        found.append(differ(f"{label}: content type", then_type or ABSENT, now_type or ABSENT))
    then_body = then.get("body")
    if not (isinstance(then_body, dict) and isinstance(now, dict)):
        if isinstance(then_body, dict) != isinstance(now, dict):
            kinds = ("JSON object" if body else "other" for body in (then_body, now))
            found.append(differ(f"{label}: body", *kinds))
        return found
    if changed := field_difference(field_types(then_body), field_types(now)):
        found.append(differ(f"{label}: body fields", *changed))
    then_errors = sorted(listed(then_body, "errors"), key=error_key)
    now_errors = sorted(listed(now, "errors"), key=error_key)
    then_keys, now_keys = [error_key(e) for e in then_errors], [error_key(e) for e in now_errors]
    if then_keys != now_keys:
        found.append(
            differ(f"{label}: error code @ parameter", "; ".join(then_keys) or ABSENT, "; ".join(now_keys) or ABSENT)
        )
    else:
        for key, then_error, now_error in zip(then_keys, then_errors, now_errors, strict=True):
            if changed := field_difference(field_types(then_error), field_types(now_error)):
                found.append(differ(f"{label}: fields of error {key}", *changed))
    return found


def compare_items(label: str, then_body: Any, now: Any) -> list[Difference]:
    """How many items a body lists and the fields of each, position by position (for answers that are not polls:
    a poll's items are compared per status, `compare_items_by_status`). Bodies that are not both objects were
    reported by `compare_answer`."""
    if not (isinstance(then_body, dict) and isinstance(now, dict)):
        return []
    found = []
    then_items, now_items = listed(then_body, "data"), listed(now, "data")
    if len(then_items) != len(now_items):
        found.append(differ(f"{label}: number of items", len(then_items), len(now_items)))
    for position, (then_item, now_item) in enumerate(zip(then_items, now_items, strict=False)):
        if changed := field_difference(field_types(then_item), field_types(now_item)):
            found.append(differ(f"{label}: fields of data[{position}]", *changed))
    return found


def compare_items_by_status(label: str, then_bodies: list[Any], now_bodies: list[Any]) -> list[Difference]:
    """The fields of poll items, per status seen on both sides (how far a task got is the progression's)."""

    def by_status(bodies: list[Any]) -> dict[str, dict[str, str]]:
        fields: dict[str, dict[str, str]] = defaultdict(dict)
        for body in bodies:
            for item in listed(body, "data"):
                if isinstance(item, dict):
                    fields[str(item.get("status", ABSENT))].update(field_types(item))
        return fields

    then, now = by_status(then_bodies), by_status(now_bodies)
    return [
        differ(f"{label}: fields of {status} items", *changed)
        for status in sorted(then.keys() & now.keys())
        if (changed := field_difference(then[status], now[status]))
    ]


def compare_progressions(states_then: dict[str, list[str]], states_now: dict[str, list[str]]) -> list[Difference]:
    """Per recorded task: outcome equal, and no status on the way that the recording did not show (a faster
    target may skip `processing`; a slower one may show it where the recording did not). A recording that
    stopped polling while its task was still processing saw no outcome: the target may have got as far, or to
    success."""
    found = []
    for task, then_states in states_then.items():
        then, now = collapsed(then_states), collapsed(states_now.get(task, []))
        if not then:  # the recording saw nothing of this task (a poll of an unknown one answered no item)
            continue
        extra = set(now[:-1]) - set(then[:-1]) - {"processing"}
        reached = bool(now) and (now[-1] == then[-1] or (then[-1] == "processing" and now[-1] == "success"))
        if not reached or extra:
            found.append(differ(f"task {task[:8]}: status progression", " → ".join(then), " → ".join(now) or ABSENT))
    return found


def compare_download(
    label: str, then: dict[str, Any], status: int, content_type: str, media: dict[str, Any] | None
) -> list[Difference]:
    """A recorded download against the result file now: its status, content type and container, and its
    duration within `DURATION_TOLERANCE`; `media` is the file's `media_summary`."""
    found = []
    if status != then["status"]:
        found.append(differ(f"{label}: HTTP status", then["status"], status))
    then_media, now_media = then.get("media") or {}, media or {}
    then_container = f"{then_media.get('container')} {then_media.get('brand') or ''}".strip()
    now_container = f"{now_media.get('container')} {now_media.get('brand') or ''}".strip()
    if then_container != now_container or then["contentType"] != content_type:
        recorded, current = f"{then['contentType']}, {then_container}", f"{content_type}, {now_container}"
        found.append(differ(f"{label}: container", recorded, current))
    then_seconds, now_seconds = then_media.get("duration"), now_media.get("duration")
    if then_seconds is not None and (now_seconds is None or abs(now_seconds - then_seconds) > DURATION_TOLERANCE):
        current = ABSENT if now_seconds is None else f"{now_seconds:.2f} s"
        found.append(differ(f"{label}: duration", f"{then_seconds:.2f} s", current))
    return found
