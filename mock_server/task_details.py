"""What getTaskDetails answers: the task array an earlier task came in and the answer that request got, kept
per account for accepted and refused tasks alike.

Kept in memory, newest first to stay: at most `max_tasks` tasks, the oldest forgotten first. The request is kept
as received with every `apiKey` value redacted and each long string (inline media) replaced by a note of its
length, so a 60 MB data URI costs a few bytes here.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, NamedTuple

from mock_server.namespaces import namespace_of

MAX_TASKS = 10_000
LONG_STRING = 4096  # characters; longer strings are kept as "[N characters]"
REDACTED = "[redacted]"
# Tasks that read another task (named by its taskUUID) are not that task's details.
READS = ("getResponse", "getTaskDetails")  # a tuple: a client may send any JSON as a taskType, {} too


class Snapshot(NamedTuple):
    """A request's tasks as received, taken before anything runs (submitting fills a task's defaults in)."""

    task_uuids: tuple[str, ...]
    request: str  # JSON text, shared by every task of the request


class _Record(NamedTuple):
    request: str
    response: str


class TaskDetails:
    """Owns the details of the tasks each account sent. It must not change them."""

    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        self.max_tasks = max_tasks
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()

    @staticmethod
    def snapshot(tasks: Any) -> Snapshot | None:
        """What to keep of a parsed request; None when it holds no task to keep (polls only, say)."""
        uuids = tuple(
            task["taskUUID"]
            for task in (tasks if isinstance(tasks, list) else ())
            if isinstance(task, dict) and isinstance(task.get("taskUUID"), str) and task.get("taskType") not in READS
        )
        return Snapshot(uuids, _request_text(tasks)) if uuids else None

    def record(self, owner: str, snapshot: Snapshot, response: dict[str, Any]) -> None:
        """Keep a request's tasks under `owner`; a taskUUID already kept keeps its first request."""
        record = _Record(snapshot.request, json.dumps(response))
        for task_uuid in snapshot.task_uuids:
            self._records.setdefault((owner, task_uuid.lower()), record)
        while len(self._records) > self.max_tasks:
            self._records.popitem(last=False)

    def find(self, owner: str, task_uuid: str) -> dict[str, Any] | None:
        """`request` (the task array) and `response` (the answer) of one of `owner`'s tasks; None when unknown."""
        record = self._records.get((owner, task_uuid.lower()))
        if record is None:
            return None
        return {"request": json.loads(record.request), "response": json.loads(record.response)}

    def clear(self, namespace: str | None = None) -> None:
        if namespace is None:
            self._records.clear()
            return
        for key in [key for key in self._records if namespace_of(key[0]) == namespace]:
            del self._records[key]


def _request_text(tasks: list[Any]) -> str:
    try:
        return json.dumps([_kept(task) for task in tasks])
    except RecursionError:  # a task nested deeper than JSON text can be written back
        return json.dumps([{"note": "the request was nested too deeply to keep"}])


def _kept(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= LONG_STRING else f"[{len(value)} characters]"
    if isinstance(value, list):
        return [_kept(item) for item in value]
    if isinstance(value, dict):
        return {name: REDACTED if name == "apiKey" else _kept(item) for name, item in value.items()}
    return value
