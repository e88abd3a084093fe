"""The access log: one line per request — method, path, the task types of a task array, status, milliseconds.

Never a body, a header or a query string: API keys travel in all three. Task types are the only part of a body
that is logged: a handler that parsed a task array names them in `TASK_TYPES` (see `body.task_types`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

ACCESS_LOG = logging.getLogger("lipsync_mock.access")
TASK_TYPES = web.RequestKey("task_types", dict[str, int])


def _as_text(counts: dict[str, int]) -> str:
    """` [videoInference,getResponse:3]`, or nothing without tasks."""
    if not counts:
        return ""
    return " [" + ",".join(name if count == 1 else f"{name}:{count}" for name, count in counts.items()) + "]"


@web.middleware
async def log_access(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.perf_counter()
    status = 0  # stays 0 when the connection is dropped before an answer (an injected fault, a client gone)
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        tasks = request.get(TASK_TYPES, {})
        milliseconds = round((time.perf_counter() - started) * 1000, 1)
        ACCESS_LOG.info(
            "%s %s%s %d %.1f ms",
            request.method,
            request.path,
            _as_text(tasks),
            status,
            milliseconds,
            extra={
                "access": {
                    "method": request.method,
                    "path": request.path,
                    "taskTypes": tasks,
                    "status": status,
                    "ms": milliseconds,
                }
            },
        )
