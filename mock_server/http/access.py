"""The access log: one line per request — method, path, the task types of a task array, status, milliseconds.

Never a body, a header or a query string: API keys travel in all three. The path is logged as it was sent,
percent-encoded, so a path cannot write a line of its own (`%0A` stays `%0A`). Task types are the only part of a
body that is logged: a handler that parsed a task array names them in `TASK_TYPES` (see `body.task_types`).
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from mock_server.logs import LineWriter

ACCESS_LOG = logging.getLogger("lipsync_mock.access")
TASK_TYPES = web.RequestKey("task_types", dict[str, int])


def _as_text(counts: dict[str, int]) -> str:
    """` [videoInference,getResponse:3]`, or nothing without tasks."""
    if not counts:
        return ""
    return " [" + ",".join(name if count == 1 else f"{name}:{count}" for name, count in counts.items()) + "]"


def log_request(request: web.Request, status: int, started: float, write: LineWriter | None = None) -> None:
    """The access line of an answered request (`status` 0: the connection ended before an answer).

    With `write` (the command line's own stderr, see `logs.configure_logging`) the line is written as it is.
    Otherwise it goes to `logging`'s handlers as a record (a test's caplog, an application the mock runs in),
    handed to them directly, its message already formatted: `Logger.info` would look up the caller and format
    the arguments again."""
    if write is None and not ACCESS_LOG.isEnabledFor(logging.INFO):
        return
    tasks = request.get(TASK_TYPES, {})
    milliseconds = round((time.perf_counter() - started) * 1000, 1)
    method, path = request.method, request.rel_url.raw_path
    message = f"{method} {path}{_as_text(tasks)} {status} {milliseconds:.1f} ms"
    fields = {"method": method, "path": path, "taskTypes": tasks, "status": status, "ms": milliseconds}
    if write is not None:
        write(ACCESS_LOG.name, message, fields)
        return
    record = ACCESS_LOG.makeRecord(ACCESS_LOG.name, logging.INFO, __file__, 0, message, None, None, "log_request")
    record.access = fields
    ACCESS_LOG.handle(record)
