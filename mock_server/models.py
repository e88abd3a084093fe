"""Task state, behind one small store interface so a persistent backend can replace the in-memory one.

A store may hold hundreds of thousands of tasks, and every object the garbage collector tracks makes
its full collections (pauses of the whole server) longer. So a task is one tracked object: its results
are kept as plain tuples of plain values, which the collector stops tracking, and `Result` views are
made from them when asked for.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol


class Result(NamedTuple):
    """One of the `numberResults` videos of a task. Its status follows from the clock: see `is_ready`."""

    video_uuid: str
    seed: int
    ready_at: float
    expires_at: float | None
    cost: float | None
    nsfw_content: bool | None

    def is_ready(self, now: float) -> bool:
        return now >= self.ready_at

    def is_served(self, now: float) -> bool:
        return self.is_ready(now) and (self.expires_at is None or now < self.expires_at)


class Task(NamedTuple):
    """A videoInference task as accepted, and its results (or why it failed)."""

    task_uuid: str
    output_format: str
    request_json: str  # the request with every default filled in
    created_at: float
    result_rows: tuple[tuple[Any, ...], ...]  # one plain tuple of `Result` fields per result
    error_json: str | None = None  # the error object of a task that failed
    base_url: str = ""  # where the client reached this server: result URLs are made from it
    faults: tuple[str, ...] = ()  # faults injected into this task, as written (see faults.py)

    @classmethod
    def create(
        cls,
        task_uuid: str,
        output_format: str,
        request_json: str,
        created_at: float,
        results: list[Result],
        base_url: str = "",
        faults: tuple[str, ...] = (),
    ) -> Task:
        rows = tuple(tuple(r) for r in results)
        return cls(task_uuid, output_format, request_json, created_at, rows, None, base_url, faults)

    @property
    def results(self) -> tuple[Result, ...]:
        return tuple(map(Result._make, self.result_rows))

    def with_results(self, results: list[Result]) -> Task:
        return self._replace(result_rows=tuple(tuple(r) for r in results))

    def failed(self, error: dict[str, Any]) -> Task:
        return self._replace(error_json=json.dumps(error))

    @property
    def request(self) -> dict[str, Any]:
        return json.loads(self.request_json)

    def result_item(self, result: Result, now: float, extension: str) -> dict[str, Any]:
        """The item a poll (and a webhook) shows for one result."""
        item: dict[str, Any] = {"taskType": "videoInference", "taskUUID": self.task_uuid}
        if not result.is_ready(now):
            item["status"] = "processing"
            return item
        item["status"] = "success"
        item["videoUUID"] = result.video_uuid
        item["videoURL"] = f"{self.base_url}/videos/{result.video_uuid}.{extension}"
        item["seed"] = result.seed
        if result.cost is not None:
            item["cost"] = result.cost
        if result.nsfw_content is not None:
            item["NSFWContent"] = result.nsfw_content
        return item


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str


class TaskStore(Protocol):
    def add(self, task: Task) -> bool:
        """Keep `task`; False (and nothing kept) when its taskUUID is already taken."""
        ...

    def replace(self, task: Task) -> None:
        """Keep a new state of a task already added (its results done, or its failure)."""
        ...

    def get(self, task_uuid: str) -> Task | None: ...

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None: ...

    def put_file(self, task_uuid: str, data: bytes) -> None:
        """Keep the result file of a task (its results share it)."""
        ...

    def get_file(self, task_uuid: str) -> bytes | None: ...

    def add_media(self, media_uuid: str, media: Media, added_at: float) -> None: ...

    def get_media(self, media_uuid: str) -> Media | None: ...

    def delete_media(self, media_uuid: str) -> bool:
        """Remove an upload; False when there was none."""
        ...

    def clear(self) -> None:
        """Forget every task, file and upload."""
        ...

    def all_tasks(self) -> list[Task]:
        """Every task, oldest first (read when a persistent store starts, to resume its work)."""
        ...

    def has_file(self, task_uuid: str) -> bool: ...

    def mark_delivered(self, key: str) -> None:
        """Remember that a result (or a failure) was delivered to the task's webhook and upload endpoint."""
        ...

    def was_delivered(self, key: str) -> bool: ...

    def expire(self, now: float, retention: float | None) -> list[str]:
        """Drop the files whose results are all past their ttl, and — with a retention — the tasks and uploads
        older than it; the taskUUIDs dropped."""
        ...


class InMemoryTaskStore:
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._task_of_video: dict[str, str] = {}
        self._files: dict[str, bytes] = {}
        self._media: dict[str, tuple[Media, float]] = {}
        self._delivered: set[str] = set()

    def add(self, task: Task) -> bool:
        if task.task_uuid in self._tasks:
            return False
        self._tasks[task.task_uuid] = task
        for result in task.results:
            self._task_of_video[result.video_uuid] = task.task_uuid
        return True

    def replace(self, task: Task) -> None:
        self._tasks[task.task_uuid] = task

    def get(self, task_uuid: str) -> Task | None:
        return self._tasks.get(task_uuid)

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None:
        task = self._tasks.get(self._task_of_video.get(video_uuid, ""))
        if task is None:
            return None
        return task, next(result for result in task.results if result.video_uuid == video_uuid)

    def put_file(self, task_uuid: str, data: bytes) -> None:
        self._files[task_uuid] = data

    def get_file(self, task_uuid: str) -> bytes | None:
        return self._files.get(task_uuid)

    def add_media(self, media_uuid: str, media: Media, added_at: float) -> None:
        self._media[media_uuid] = (media, added_at)

    def get_media(self, media_uuid: str) -> Media | None:
        found = self._media.get(media_uuid)
        return found[0] if found else None

    def delete_media(self, media_uuid: str) -> bool:
        return self._media.pop(media_uuid, None) is not None

    def clear(self) -> None:
        for table in (self._tasks, self._task_of_video, self._files, self._media, self._delivered):
            table.clear()

    def all_tasks(self) -> list[Task]:
        return sorted(self._tasks.values(), key=lambda task: task.created_at)

    def has_file(self, task_uuid: str) -> bool:
        return task_uuid in self._files

    def mark_delivered(self, key: str) -> None:
        self._delivered.add(key)

    def was_delivered(self, key: str) -> bool:
        return key in self._delivered

    def expire(self, now: float, retention: float | None) -> list[str]:
        cutoff = now - retention if retention is not None else -math.inf
        dropped = []
        for task_uuid, task in list(self._tasks.items()):
            results = task.results
            if task.created_at < cutoff:
                del self._tasks[task_uuid]
                self._files.pop(task_uuid, None)
                for result in results:
                    self._task_of_video.pop(result.video_uuid, None)
                dropped.append(task_uuid)
            elif task_uuid in self._files and all(r.expires_at is not None and r.expires_at <= now for r in results):
                del self._files[task_uuid]
        for media_uuid, (_, added_at) in list(self._media.items()):
            if added_at < cutoff:
                del self._media[media_uuid]
        return dropped


class JournalEntry(NamedTuple):
    """One request as received (the raw body) and the answer given to it."""

    received_at: float  # seconds since the epoch
    request: bytes
    status: int
    response: str

    def tasks(self) -> list[Any]:
        """The tasks of the request; none when the body was not a JSON array."""
        try:
            body = json.loads(self.request)
        except ValueError:
            return []
        return body if isinstance(body, list) else []


class RequestJournal:
    """The latest requests, oldest first; bounded so a long run keeps a bounded memory."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

    def clear(self) -> None:
        self._entries.clear()

    def entries(self, task_uuid: str | None = None) -> list[JournalEntry]:
        """All entries, or those with a task naming `task_uuid`."""
        if task_uuid is None:
            return list(self._entries)
        return [
            entry
            for entry in self._entries
            if any(isinstance(t, dict) and t.get("taskUUID") == task_uuid for t in entry.tasks())
        ]
