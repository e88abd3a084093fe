"""The in-memory TaskStore: everything in dicts, gone when the process ends. Tasks are kept as `TaskRow`s,
which the garbage collector does not visit (see store/base.py); result files and uploads within a budget of
bytes (`StoredBytes`)."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace

from mock_server.namespaces import namespace_of
from mock_server.store.base import (
    Expiry,
    FileKey,
    Media,
    Result,
    StoredBytes,
    Task,
    TaskRow,
    expiry,
    retention_cutoff,
)


class InMemoryTaskStore:
    def __init__(self, max_stored_bytes: int | None = None) -> None:
        self._stored = StoredBytes(max_stored_bytes)
        self._tasks: dict[str, TaskRow] = {}
        self._task_of_video: dict[str, str] = {}
        self._files: dict[str, bytes] = {}
        self._media: dict[str, Media] = {}  # each with its added_at
        self._delivered: set[str] = set()

    def add(self, task: Task) -> bool:
        if task.task_uuid in self._tasks:
            return False
        self._tasks[task.task_uuid] = task.row()
        for result in task.results:
            self._task_of_video[result.video_uuid] = task.task_uuid
        return True

    def replace(self, task: Task) -> None:
        if task.task_uuid in self._tasks:
            self._tasks[task.task_uuid] = task.row()

    def get(self, task_uuid: str) -> Task | None:
        row = self._tasks.get(task_uuid)
        return None if row is None else Task.from_row(row)

    def find_result(self, video_uuid: str) -> tuple[Task, Result] | None:
        task = self.get(self._task_of_video.get(video_uuid, ""))
        if task is None:
            return None
        return task, next(result for result in task.results if result.video_uuid == video_uuid)

    def put_file(self, task_uuid: str, data: bytes) -> None:
        self._files[task_uuid] = data
        self._drop(self._stored.add(("file", task_uuid), len(data)))

    def _drop(self, keys: list[FileKey]) -> None:
        """Forget the files `StoredBytes` dropped (it no longer counts them)."""
        for kind, name in keys:
            (self._files if kind == "file" else self._media).pop(name, None)

    def get_file(self, task_uuid: str) -> bytes | None:
        return self._files.get(task_uuid)

    def has_file(self, task_uuid: str) -> bool:
        return task_uuid in self._files

    def add_media(self, media_uuid: str, media: Media, added_at: float) -> None:
        self._media[media_uuid] = replace(media, added_at=added_at)
        self._drop(self._stored.add(("media", media_uuid), len(media.data)))

    def get_media(self, media_uuid: str) -> Media | None:
        return self._media.get(media_uuid)

    def delete_media(self, media_uuid: str) -> bool:
        self._stored.remove(("media", media_uuid))
        return self._media.pop(media_uuid, None) is not None

    def clear(self, namespace: str | None = None) -> list[str]:
        if namespace is None:
            dropped = list(self._tasks)
            for table in (self._tasks, self._task_of_video, self._files, self._media, self._delivered):
                table.clear()
            self._stored.clear()
            return dropped
        dropped_tasks = [task for task in self._all() if task.namespace == namespace]
        for task in dropped_tasks:
            self._tasks.pop(task.task_uuid, None)
            self._drop_file(task.task_uuid)
            for result in task.results:
                self._task_of_video.pop(result.video_uuid, None)
        for media_uuid in [m for m, media in self._media.items() if namespace_of(media.owner) == namespace]:
            self.delete_media(media_uuid)
        return [task.task_uuid for task in dropped_tasks]

    def all_tasks(self) -> list[Task]:
        return sorted(self._all(), key=lambda task: task.created_at)

    def _all(self) -> list[Task]:
        return list(map(Task.from_row, self._tasks.values()))

    def mark_delivered(self, key: str) -> None:
        self._delivered.add(key)

    def was_delivered(self, key: str) -> bool:
        return key in self._delivered

    def expire(self, now: float, retention: float | None, in_use: Container[str] = frozenset()) -> list[str]:
        dropped = []
        for task in self._all():
            task_uuid = task.task_uuid
            verdict = expiry(task, now, retention)
            if verdict is Expiry.KEEP or task_uuid in in_use:
                continue
            if verdict is Expiry.DROP_TASK:
                self._tasks.pop(task_uuid, None)
                for result in task.results:
                    self._task_of_video.pop(result.video_uuid, None)
                dropped.append(task_uuid)
            self._drop_file(task_uuid)
        cutoff = retention_cutoff(now, retention)
        for media_uuid, media in list(self._media.items()):
            if media.added_at is not None and media.added_at < cutoff and media_uuid not in in_use:
                self.delete_media(media_uuid)
        return dropped

    def _drop_file(self, task_uuid: str) -> None:
        self._stored.remove(("file", task_uuid))
        self._files.pop(task_uuid, None)

    async def durable(self) -> None:
        """Nothing is kept on disk."""

    def close(self) -> None:
        """Nothing is held open."""
