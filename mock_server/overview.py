"""Read-only views of the mock's state, for the dashboard and the pytest plugin: tasks with their timeline,
and what became of each request. They read the owners' public methods only; they change nothing."""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from typing import Any

from mock_server import exceptions
from mock_server.containers import CONTAINERS
from mock_server.dispatcher import TaskDispatcher
from mock_server.journal import JournalEntry
from mock_server.store import Task

# Codes only an injected request fault answers with (status=…, rate_limit); a dropped connection is status 0.
INJECTED_CODES = frozenset({exceptions.SERVER_ERROR.code, exceptions.RATE_LIMIT_EXCEEDED.code})
OUTCOMES = ("ok", "refused", "fault", "failed")


def request_outcome(entry: JournalEntry) -> str:
    """What became of a request: "fault" (answered by an injected fault or dropped), "refused" (the mock refused
    the request or a task in it), "failed" (a poll of a task that failed), or "ok"."""
    if entry.status == 0:
        return "fault"
    body = json.loads(entry.response)
    errors = (body.get("errors") if isinstance(body, dict) else None) or []
    if any(error.get("code") in INJECTED_CODES for error in errors):
        return "fault"
    # A poll of a failed task answers the task's error with "status": "error"; the request itself was fine.
    if any(error.get("status") != "error" for error in errors):
        return "refused"
    return "failed" if errors else "ok"


def request_view(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry as the control API shows it, with its outcome."""
    return {**entry.to_json(), "outcome": request_outcome(entry)}


def task_views(
    dispatcher: TaskDispatcher, limit: int | None = None, namespace: str | None = None
) -> list[dict[str, Any]]:
    """The videoInference tasks (of one namespace, or all), newest first (at most `limit`), each with its
    results and timeline."""
    # The store lists its tasks oldest first, so the newest N are read from its end, N and no more, with no sort:
    # the page asks for 50 of what may be thousands.
    newest_first = (task for task in reversed(dispatcher.store.all_tasks()) if namespace in (None, task.namespace))
    tasks = list(itertools.islice(newest_first, limit))
    polls = _poll_times(dispatcher, {task.task_uuid for task in tasks})
    deliveries = defaultdict(list)
    for attempt in dispatcher.runner.deliveries.deliverer.journal():
        deliveries[attempt.task_uuid].append(attempt)
    now = dispatcher.clock()
    return [_task_view(dispatcher, task, polls[task.task_uuid], deliveries[task.task_uuid], now) for task in tasks]


def _poll_times(dispatcher: TaskDispatcher, task_uuids: set[str]) -> dict[str, list[float]]:
    """When each task was polled, from the request journal (read once for all tasks)."""
    found: dict[str, list[float]] = defaultdict(list)
    for entry in dispatcher.journal.entries():
        if b"getResponse" not in entry.request:  # most entries are not polls: skip parsing them
            continue
        for task in entry.tasks():
            if isinstance(task, dict) and task.get("taskType") == "getResponse" and task.get("taskUUID") in task_uuids:
                found[task["taskUUID"]].append(entry.received_at)
    return found


def _task_view(
    dispatcher: TaskDispatcher, task: Task, polls: list[float], deliveries: list[Any], now: float
) -> dict[str, Any]:
    request = task.request
    results = task.results
    ready = [result for result in results if result.is_ready(now)]
    rendered = task.error_json is None and dispatcher.store.has_file(task.task_uuid)
    extension = CONTAINERS[task.output_format].extension
    timeline: list[dict[str, Any]] = [{"at": task.created_at, "event": "submitted", "detail": ""}]
    timeline += [{"at": at, "event": "poll", "detail": f"poll {n}"} for n, at in enumerate(polls, 1)]
    timeline += [{"at": r.ready_at, "event": "ready", "detail": r.video_uuid} for r in ready]
    timeline += [
        {
            "at": attempt.at,
            "event": "delivered" if attempt.status is not None and 200 <= attempt.status < 300 else "delivery failed",
            "detail": f"{attempt.kind} try {attempt.attempt}: {attempt.status or attempt.error}",
        }
        for attempt in deliveries
    ]
    costs = [result.cost for result in ready if result.cost is not None]
    return {
        "taskUUID": task.task_uuid,
        "status": _status(task, len(ready), len(results), rendered),
        "progress": _progress(task, len(ready), now, rendered),
        "createdAt": task.created_at,
        "model": request.get("model"),
        "syncMode": request.get("providerSettings", {}).get("sync", {}).get("syncMode"),
        "numberResults": len(results),
        "outputFormat": task.output_format,
        "lifecycle": dispatcher.runner.lifecycle.lifecycle_of(task.task_uuid, task.namespace).to_json(),
        "inputs": _inputs(request),
        "cost": round(sum(costs), 6) if costs else None,
        "error": json.loads(task.error_json) if task.error_json else None,
        "results": [
            {
                "videoUUID": result.video_uuid,
                "ready": result.is_ready(now),
                "served": result.is_served(now),
                # A path, not an absolute URL: the page plays it from wherever it reached the mock.
                "videoPath": f"/videos/{result.video_uuid}.{extension}",
                "readyAt": _finite(result.ready_at),
                "expiresAt": result.expires_at,
                "seed": result.seed,
                "cost": result.cost,
                "NSFWContent": result.nsfw_content,
            }
            for result in results
        ],
        "timeline": sorted(timeline, key=lambda event: event["at"]),
    }


def _status(task: Task, ready: int, count: int, rendered: bool) -> str:
    if task.error_json is not None:
        return "error"
    if ready == count:
        return "success"
    return "processing" if rendered else "rendering"


def _progress(task: Task, ready: int, now: float, rendered: bool) -> float | None:
    """From 0 to 1: by time towards the last ready time once it is known; None while that is not known (still
    rendering, or waiting for a poll or a completion)."""
    results = task.results
    if task.error_json is not None or not rendered:
        return None
    if ready == len(results):
        return 1.0
    last = max(result.ready_at for result in results)
    if not math.isfinite(last) or last <= task.created_at:
        return None
    return min(1.0, max(0.0, (now - task.created_at) / (last - task.created_at)))


def _inputs(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Each media input: its parameter and reference, and how the page may link it."""
    found = []
    inputs = request.get("inputs", {})
    for name in ("video", "audio"):
        if name in inputs:
            found.append(_input(f"inputs.{name}", inputs[name]))
    for index, segment in enumerate(request.get("providerSettings", {}).get("sync", {}).get("segments", [])):
        found.append(_input(f"providerSettings.sync.segments[{index}].audio", segment.get("audio", "")))
    return found


def _input(parameter: str, reference: str) -> dict[str, Any]:
    """The page links http(s) URLs and uploads only; inline media is summarised, not sent back whole."""
    if reference.startswith(("http://", "https://")):
        return {"parameter": parameter, "kind": "url", "href": reference, "text": reference}
    if reference.startswith("data:"):
        head = reference.split(",", 1)[0]
        return {"parameter": parameter, "kind": "inline", "href": None, "text": f"{head}, {len(reference)} chars"}
    if len(reference) == 36 and reference.count("-") == 4:
        return {"parameter": parameter, "kind": "upload", "href": f"/media/{reference.lower()}", "text": reference}
    return {"parameter": parameter, "kind": "inline", "href": None, "text": f"base64, {len(reference)} chars"}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
