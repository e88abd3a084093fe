"""The access log: one line per request — method, path, the task types of a task array, status, milliseconds.

Never a body, a header or a query string: API keys travel in all three. The path is logged as it was sent,
percent-encoded, so a path cannot write a line of its own (`%0A` stays `%0A`). Task types are the only part of a
body that is logged: a handler that parsed a task array counts them in `TASK_TYPE_COUNTS`
(see `body.task_type_counts`).
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

ACCESS_LOG = logging.getLogger("lipsync_mock.access")
TASK_TYPE_COUNTS = web.RequestKey("task_type_counts", dict[str, int])


def _as_text(counts: dict[str, int]) -> str:
    """` [videoInference,getResponse:3]`, or nothing without tasks."""
    if not counts:
        return ""
    return " [" + ",".join(name if count == 1 else f"{name}:{count}" for name, count in counts.items()) + "]"


def log_request(request: web.Request, status: int, started: float) -> None:
    """The access line of an answered request (`status` 0: the connection ended before an answer)."""
    tasks = request.get(TASK_TYPE_COUNTS, {})
    milliseconds = round((time.perf_counter() - started) * 1000, 1)
    method, path = request.method, request.rel_url.raw_path
    fields = {"method": method, "path": path, "taskTypes": tasks, "status": status, "ms": milliseconds}
    # The message is passed as it is, without arguments to put in: a path's `%` stays as it was sent.
    ACCESS_LOG.info(f"{method} {path}{_as_text(tasks)} {status} {milliseconds:.1f} ms", extra={"access": fields})
