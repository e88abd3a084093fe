"""Task state, behind one small store interface so a persistent backend can replace the in-memory one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Result:
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


@dataclass(frozen=True)
class Task:
    """A videoInference task as accepted: the request with every default filled in, and its results."""

    task_uuid: str
    request: dict[str, Any]
    created_at: float
    results: tuple[Result, ...]

    @property
    def output_format(self) -> str:
        return self.request["outputFormat"]


class TaskStore(Protocol):
    def add(self, task: Task) -> bool:
        """Keep `task`; False (and nothing kept) when its taskUUID is already taken."""
        ...

    def get(self, task_uuid: str) -> Task | None: ...

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None: ...


class InMemoryTaskStore:
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._results: dict[str, tuple[Task, Result]] = {}

    def add(self, task: Task) -> bool:
        if task.task_uuid in self._tasks:
            return False
        self._tasks[task.task_uuid] = task
        for result in task.results:
            self._results[result.video_uuid] = (task, result)
        return True

    def get(self, task_uuid: str) -> Task | None:
        return self._tasks.get(task_uuid)

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None:
        return self._results.get(video_uuid)
