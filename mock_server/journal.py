"""The request journal: each request received and the answer given, for the control API and tests."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import deque
from typing import Any, NamedTuple

# Keys in a body (an authentication task's apiKey) are never kept: the journal is shown to anyone with the
# control API, and in the dashboard. Every string of the body is read as a token, in order, so a member name is
# never mistaken for part of a value; a name JSON lets a client spell with escapes ("api\u004bey") is decoded.
# A string cut short is one token to the end: tried again at each quote inside it, it would cost the square of
# its length.
_STRING_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)(?:"(\s*:\s*)?|\\?\Z)')
_VALUE = json.JSONDecoder()
REDACTED = '"[redacted]"'


def redacted(body: bytes) -> bytes:
    """`body` with the value of every `apiKey` member replaced by `REDACTED`: whatever the value (a string, a
    number, an object), however the name is spelt, whatever the body's encoding (JSON may come as UTF-16 or
    UTF-32: such a body comes back as UTF-8), and to the end of the body where the value does not end (a body
    cut short). Bytes that are not text are kept as they came."""
    encoding = json.detect_encoding(body)
    if encoding == "utf-8" and b'"apiKey"' not in body and b"\\u" not in body:
        return body  # only an escape can spell the name another way
    utf8 = encoding == "utf-8"
    text = body.decode(encoding, errors="surrogateescape" if utf8 else "replace")
    kept: list[str] = []
    done = 0  # text[:done] is in `kept`
    for token in _STRING_TOKEN.finditer(text):
        if token.start() < done or token[2] is None or not _names_api_key(token[1]):
            continue  # a string inside a value already redacted, a value, or another member's name
        try:
            _, end = _VALUE.raw_decode(text, token.end())
        except (ValueError, RecursionError):  # cut short or malformed: nothing after the name is kept
            end = len(text)
        kept += [text[done : token.end()], REDACTED]
        done = end
    if not kept and utf8:
        return body
    kept.append(text[done:])
    return "".join(kept).encode(errors="surrogateescape")


def _names_api_key(name: str) -> bool:
    if "\\" not in name:
        return name == "apiKey"
    try:
        return json.loads(f'"{name}"') == "apiKey"
    except ValueError:
        return False


class JournalEntry(NamedTuple):
    """One request as received (the raw body, keys redacted, cut at the journal's limit) and the answer."""

    received_at: float  # seconds since the epoch, when the answer was kept (the request came `seconds` before)
    request: bytes
    status: int
    response: str
    truncated: bool = False  # the request or the answer was longer than the journal keeps
    namespace: str = ""  # the X-Mock-Namespace the request came with (see namespaces.py)
    id: int = 0  # from 1, in the order received: a row's key in the dashboard, never reused, not even after a clear
    seconds: float = 0.0  # how long the answer took to make once the body was read, injected latency included

    def to_json(self) -> dict[str, Any]:
        """As the control API shows it: the request as JSON where it was JSON, else as text."""
        try:
            request: Any = json.loads(self.request)
        except (ValueError, RecursionError):
            request = self.request.decode(errors="replace")
        try:
            response: Any = json.loads(self.response)
        except (ValueError, RecursionError):
            response = self.response
        return {
            "id": self.id,
            "receivedAt": self.received_at,
            "request": request,
            "status": self.status,
            "response": response,
            "truncated": self.truncated,
            "namespace": self.namespace,
            "seconds": self.seconds,
        }

    def tasks(self) -> list[Any]:
        """The tasks of the request; none when the body was not a JSON array."""
        try:
            body = json.loads(self.request)
        except (ValueError, RecursionError):
            return []
        return body if isinstance(body, list) else []


class RequestJournal:
    """The latest requests, oldest first. Bounded in entries and in bytes, each body cut at `max_body` bytes,
    so a flood of large or hostile requests costs a bounded memory and reads back quickly. Off (`enabled`
    False) when nothing may read it."""

    def __init__(
        self, capacity: int = 10_000, max_bytes: int = 32 * 1024 * 1024, max_body: int = 64 * 1024, enabled: bool = True
    ) -> None:
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._bytes = 0
        self._ids = itertools.count(1)

    def record(self, raw: bytes, status: int, response: str, namespace: str = "", seconds: float = 0.0) -> None:
        """Keep one exchange, now; its answer took `seconds` to make."""
        if not self.enabled:
            return
        request = redacted(raw[: self.max_body * 2])[: self.max_body]
        truncated = len(raw) > len(request) or len(response) > self.max_body
        if len(self._entries) == self._entries.maxlen:
            self._bytes -= _size(self._entries[0])
        entry = JournalEntry(
            time.time(),
            request,
            status,
            response[: self.max_body],
            truncated,
            namespace,
            next(self._ids),
            seconds,
        )
        self._entries.append(entry)
        self._bytes += _size(entry)
        while self._bytes > self.max_bytes and self._entries:
            self._bytes -= _size(self._entries.popleft())

    def clear(self, namespace: str | None = None) -> None:
        """Forget the entries of one namespace, or (None) all of them."""
        kept = [] if namespace is None else [entry for entry in self._entries if entry.namespace != namespace]
        self._entries = deque(kept, maxlen=self._entries.maxlen)
        self._bytes = sum(map(_size, kept))

    def entries(self, task_uuid: str | None = None, namespace: str | None = None) -> list[JournalEntry]:
        """All entries, or those of one namespace, or with a task naming `task_uuid`."""
        found = [entry for entry in self._entries if namespace is None or entry.namespace == namespace]
        if task_uuid is None:
            return found
        return [
            entry
            for entry in found
            if any(isinstance(t, dict) and t.get("taskUUID") == task_uuid for t in entry.tasks())
        ]


def _size(entry: JournalEntry) -> int:
    return len(entry.request) + len(entry.response)
