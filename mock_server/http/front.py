"""The one middleware in front of every handler: the guard's checks, every failure answered in the platform's
errors envelope (no HTML pages, no tracebacks), and the access line.

One layer rather than three: aiohttp runs each middleware as a coroutine of its own, built anew around the
handler on every request, and polls were measured faster with the three jobs in one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from mock_server import exceptions
from mock_server.exceptions import RunwareError
from mock_server.http import access, guard, rest

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def front_door(log_access: bool) -> Middleware:
    """The middleware; with `log_access` False (--quiet) it writes no access lines."""

    @web.middleware
    async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 0  # stays 0 when the connection is dropped before an answer (an injected fault, a client gone)
        try:
            try:
                guard.check_request(request)
                response = await handler(request)
            except RunwareError as error:
                response = rest.error_response(error)
            except web.HTTPException as error:
                if error.status < 400:  # a redirect: aiohttp sends it
                    status = error.status
                    raise
                response = rest.http_error_response(request, error)
            except ConnectionResetError:  # the client went away before its body arrived: nobody hears the answer
                return rest.error_response(exceptions.REQUEST_FAILED("The request body stopped before its end."))
            except Exception:
                log.exception("unhandled error answering %s %s", request.method, request.path)
                response = rest.error_response(exceptions.INTERNAL_ERROR("The mock failed to answer this request."))
            status = response.status
            return response
        finally:
            if log_access:
                access.log_request(request, status, started)

    return front_door
