"""Task state, behind one small interface so a persistent backend can replace the in-memory one.

A store may hold hundreds of thousands of tasks, and every object the garbage collector tracks makes
its full collections (pauses of the whole server) longer. The collector stops tracking a plain tuple of
plain values, and then a dict holding only such tuples, but never a named tuple, a dataclass or any other
object with names (a `__slots__` dataclass costs the collector more still). So whatever holds many tasks (the memory
store, the render queue) keeps each as a `TaskRow`, the task's fields as a plain tuple of the same types,
and a task's results as `ResultRow`s; `Task.row()` and `Task.from_row` convert. With 100 000 tasks kept, a
full collection takes 2 ms with rows against 34 ms with `Task`s (docs/dev/benchmarks.md). `gc.freeze()` would
hide `Task`s from the collector too, but only those alive when it is called, and every cycle of garbage then
alive would never be freed: it suits start-up (cli.py), not tasks that come and go.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, Protocol

from mock_server.faults import Fault
from mock_server.namespaces import namespace_of


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


# A Result's and a Task's fields, in order, as plain tuples (see the module's docstring).
ResultRow = tuple[str, int, float, float | None, float | None, bool | None]
TaskRow = tuple[str, str, str, float, tuple[ResultRow, ...], str | None, str, tuple[Fault, ...], str]


class Task(NamedTuple):
    """A videoInference task as accepted, and its results (or why it failed)."""

    task_uuid: str
    output_format: str
    request_json: str  # the request with every default filled in
    created_at: float
    result_rows: tuple[ResultRow, ...]  # one per result
    error_json: str | None = None  # the error object of a task that failed
    base_url: str = ""  # where the client reached this server: result URLs are made from it
    faults: tuple[Fault, ...] = ()  # faults injected into this task (see faults.py)
    owner: str = ""  # the account (see namespaces.owner_of) that submitted it; only it may poll it

    @classmethod
    def create(
        cls,
        task_uuid: str,
        output_format: str,
        request_json: str,
        created_at: float,
        results: list[Result],
        base_url: str = "",
        faults: tuple[Fault, ...] = (),
        owner: str = "",
    ) -> Task:
        rows = tuple((*r,) for r in results)
        return cls(task_uuid, output_format, request_json, created_at, rows, None, base_url, faults, owner)

    @classmethod
    def from_row(cls, row: TaskRow) -> Task:
        return cls._make(row)

    def row(self) -> TaskRow:
        return (*self,)

    @property
    def results(self) -> tuple[Result, ...]:
        return tuple(map(Result._make, self.result_rows))

    def with_results(self, results: list[Result]) -> Task:
        return self._replace(result_rows=tuple((*r,) for r in results))

    def failed(self, error: dict[str, Any]) -> Task:
        return self._replace(error_json=json.dumps(error))

    @property
    def namespace(self) -> str:
        return namespace_of(self.owner)

    @property
    def request(self) -> dict[str, Any]:
        return json.loads(self.request_json)

    def progress(self, result: Result, now: float) -> int:
        """Percent of a result's simulated processing done: 0 until its ready time is known (it is still
        rendering, or waits to be completed), then growing with the clock; 100 only once it is ready."""
        if result.is_ready(now):
            return 100
        if math.isinf(result.ready_at):
            return 0
        span = result.ready_at - self.created_at
        return min(99, max(0, math.floor(100 * (now - self.created_at) / span))) if span > 0 else 99

    def result_item(self, result: Result, now: float, extension: str) -> dict[str, Any]:
        """The item a poll (and a webhook) shows for one result."""
        item: dict[str, Any] = {"taskType": "videoInference", "taskUUID": self.task_uuid}
        if not result.is_ready(now):
            item["status"] = "processing"
            item["progress"] = self.progress(result, now)
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
    owner: str = ""  # the account (see namespaces.owner_of) that uploaded it; only it may name or delete it
    added_at: float | None = None  # when a store kept it (seconds since the epoch), as the store answers it


class TaskStore(Protocol):
    """Owns tasks, their result files and uploads, and what was delivered. Every method is quick and
    synchronous (an in-memory dict, or a local SQLite file); a store must not decide anything about a task
    beyond what `expiry` says, nor call back into the server. `get_file`, `get_media` and `expire` are also
    called from other threads (a whole file read from disk, the expiry sweep): they must be safe there."""

    def add(self, task: Task) -> bool:
        """Keep `task`; False (and nothing kept) when its taskUUID is already taken."""
        ...

    def replace(self, task: Task) -> None:
        """Keep a new state of a task still kept (its results done, or its failure); a task dropped meanwhile
        (reset, retention) stays dropped."""
        ...

    def get(self, task_uuid: str) -> Task | None: ...

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None: ...

    def put_file(self, task_uuid: str, data: bytes) -> None:
        """Keep the result file of a task (its results share it); the oldest files and uploads are dropped when
        the files kept pass the store's budget (see `StoredBytes`)."""
        ...

    def get_file(self, task_uuid: str) -> bytes | None: ...

    def add_media(self, media_uuid: str, media: Media, added_at: float) -> None:
        """Keep an upload; the oldest files and uploads are dropped as `put_file` says."""
        ...

    def get_media(self, media_uuid: str) -> Media | None: ...

    def delete_media(self, media_uuid: str) -> bool:
        """Remove an upload; False when there was none."""
        ...

    def clear(self, namespace: str | None = None) -> list[str]:
        """Forget every task, file and upload — of one namespace, or (None) all of them; the taskUUIDs dropped."""
        ...

    def all_tasks(self) -> list[Task]:
        """Every task, oldest first (read when a persistent store starts, to resume its work)."""
        ...

    def has_file(self, task_uuid: str) -> bool: ...

    def mark_delivered(self, key: str) -> None:
        """Remember that a result (or a failure) was delivered to the task's webhook and upload endpoint."""
        ...

    def was_delivered(self, key: str) -> bool: ...

    def expire(self, now: float, retention: float | None, in_use: Container[str] = frozenset()) -> list[str]:
        """Drop what `expiry` says is over, and — with a retention — uploads older than it, except the tasks and
        uploads `in_use` holds (work still refers to them; it is asked only about what would be dropped); the
        taskUUIDs dropped. May run in a thread."""
        ...

    async def durable(self) -> None:
        """Until every change made so far is on disk. The dispatcher awaits it before answering, so what it
        acknowledged survives a crash; a store may then write in groups (see sqlite.py)."""
        ...

    def close(self) -> None:
        """Release what the store holds open (a database connection); called once, at shutdown."""
        ...


FileKey = tuple[str, str]  # ("file", taskUUID) for a result file, ("media", mediaUUID) for an upload


class StoredBytes:
    """The sizes of the files a store keeps, result files and uploads alike, oldest first, within a budget of
    bytes in all (--max-stored-bytes; None: no budget).

    Past the budget the oldest are dropped, rather than new work refused: a server left running for days keeps
    working, and what it forgets is what no client is likely still to fetch, as results and uploads expire on the
    platform too (a task whose result file was dropped still answers its poll; the file's URL answers 404
    notFound, an upload's UUID mediaNotFound). The file just kept is never dropped, so the total may pass the
    budget by at most that file. A lock guards it: the expiry sweep changes it from a thread."""

    def __init__(self, budget: int | None) -> None:
        self.budget = budget
        self.total = 0
        self._sizes: OrderedDict[FileKey, int] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: FileKey, size: int) -> list[FileKey]:
        """Count a file kept (again: it is then the newest); the files to drop, oldest first."""
        with self._lock:
            self.total += size - self._sizes.pop(key, 0)
            self._sizes[key] = size
            dropped = []
            while self.budget is not None and self.total > self.budget and len(self._sizes) > 1:
                oldest, oldest_size = self._sizes.popitem(last=False)
                self.total -= oldest_size
                dropped.append(oldest)
            return dropped

    def remove(self, key: FileKey) -> None:
        with self._lock:
            self.total -= self._sizes.pop(key, 0)

    def clear(self) -> None:
        with self._lock:
            self._sizes.clear()
            self.total = 0


class Expiry(Enum):
    KEEP = "keep"
    DROP_FILE = "drop the result file"
    DROP_TASK = "drop the task and its file"


def expiry(task: Task, now: float, retention: float | None) -> Expiry:
    """What a sweep at `now` does with a task: forgotten once older than the retention; its file dropped once
    every result is past its ttl."""
    if retention is not None and task.created_at < now - retention:
        return Expiry.DROP_TASK
    if all(result.expires_at is not None and result.expires_at <= now for result in task.results):
        return Expiry.DROP_FILE
    return Expiry.KEEP


def retention_cutoff(now: float, retention: float | None) -> float:
    """Things made before this moment are past the retention."""
    return now - retention if retention is not None else -math.inf
