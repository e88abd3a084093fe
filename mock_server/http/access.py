"""The access log: one line per request — method, path, the task types of a task array, status, milliseconds.

Never a body, a header or a query string: API keys travel in all three. Task types are the only part of a body
that is logged, and only as words matched by `_TASK_TYPE`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

ACCESS_LOG = logging.getLogger("lipsync_mock.access")

# A scan of the raw body rather than a second parse: about 0.5 ms per MiB, and a JSON string (base64 media)
# cannot hold the quotes this needs, so only real `"taskType": "…"` members match.
_TASK_TYPE = re.compile(rb'"taskType"\s*:\s*"([A-Za-z]{1,64})"')


def task_types(raw: bytes) -> dict[str, int]:
    """How many tasks of each type the body holds, in the order they first appear."""
    return dict(Counter(match.decode() for match in _TASK_TYPE.findall(raw)))


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
    tasks: dict[str, int] = {}
    try:
        response = await handler(request)
        status = response.status
        if request.method == "POST" and request.path == "/v1" and status != 413:
            tasks = task_types(await request.read())  # the handler has read the body: this is its cached copy
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
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
