"""The request journal: each request received and the answer given, for the control API and tests."""

from __future__ import annotations

import json
from collections import deque
from typing import Any, NamedTuple


class JournalEntry(NamedTuple):
    """One request as received (the raw body) and the answer given to it."""

    received_at: float  # seconds since the epoch
    request: bytes
    status: int
    response: str

    def to_json(self) -> dict[str, Any]:
        """As the control API shows it: the request as JSON where it was JSON, else as text."""
        try:
            request: Any = json.loads(self.request)
        except (ValueError, RecursionError):
            request = self.request.decode(errors="replace")
        return {
            "receivedAt": self.received_at,
            "request": request,
            "status": self.status,
            "response": json.loads(self.response),
        }

    def tasks(self) -> list[Any]:
        """The tasks of the request; none when the body was not a JSON array."""
        try:
            body = json.loads(self.request)
        except (ValueError, RecursionError):
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
