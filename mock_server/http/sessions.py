"""WebSocket sessions a client may resume by their connectionSessionUUID."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SessionRegistry:
    """Sessions a client may resume by their connectionSessionUUID, for `keep_seconds` after they close."""

    keep_seconds: float = 120.0
    _closed_at: dict[str, float] = field(default_factory=dict)

    def resume(self, session_uuid: Any) -> str:
        """The session to continue: the one named if it is known and recent, else a new one."""
        now = time.monotonic()
        self._closed_at = {s: t for s, t in self._closed_at.items() if now - t < self.keep_seconds}
        if isinstance(session_uuid, str) and self._closed_at.pop(session_uuid, None) is not None:
            return session_uuid
        return str(uuid.uuid4())

    def closed(self, session_uuid: str) -> None:
        self._closed_at[session_uuid] = time.monotonic()
