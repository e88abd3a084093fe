"""WebSocket sessions a client may resume by their connectionSessionUUID."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

# The tasks a WebSocket session answers itself; every other task goes to the dispatcher.
SESSION_TASKS = ("authentication", "ping")


@dataclass
class SessionRegistry:
    """Sessions a client may resume by their connectionSessionUUID, for `keep_seconds` after they close; only
    with the key (owner) that opened them."""

    keep_seconds: float = 120.0
    _closed: dict[str, tuple[float, str]] = field(default_factory=dict)  # session → (closed at, owner)

    def resume(self, session_uuid: Any, owner: str) -> str:
        """The session to continue: the one named if it is known, recent and `owner`'s, else a new one."""
        now = time.monotonic()
        self._closed = {s: closed for s, closed in self._closed.items() if now - closed[0] < self.keep_seconds}
        closed = self._closed.get(session_uuid) if isinstance(session_uuid, str) else None
        if closed is not None and closed[1] == owner:
            del self._closed[session_uuid]
            return session_uuid
        return str(uuid.uuid4())

    def closed(self, session_uuid: str, owner: str) -> None:
        self._closed[session_uuid] = (time.monotonic(), owner)
