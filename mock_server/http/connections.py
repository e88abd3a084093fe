"""How many connections the server holds, and how long a request may take to arrive.

A client that opens connections and never finishes a request would otherwise hold a file descriptor for each:
20,000 half-sent requests once ran the process out of them, so that `/health` timed out and asyncio logged
every refused accept with its traceback. So:
- a request's headers must be in within `--request-timeout` of the connection opening, or of the previous
  answer on a kept-alive connection (which also closes an idle one as late): aiohttp's keep-alive timer, which
  runs from a connection's first moment; its body within as long again from its headers (`limit_body_time`).
  Past either, the connection is closed without an answer: the client has stopped sending;
- past `--max-connections` connections at once, a new one is answered 503 `tooManyConnections` as soon as its
  request is in, and closed (`CappedSite`): a clear answer, where a full listen queue would leave the client
  hanging, and the descriptors stay with the connections being served.

`create_app` gives every server of the app the timeout (`handler_args`: the test client's too); the command
line (`run`) and the pytest plugin (`testing.BackgroundServer`) both listen with `start_site`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web
from yarl import URL

from mock_server import exceptions
from mock_server.config import Settings

log = logging.getLogger(__name__)

QUIET_WAIT = 1.0  # seconds a connection past the cap may stay silent before it is answered


def handler_args(settings: Settings) -> dict[str, Any]:
    """aiohttp's per-connection settings: `Application(handler_args=...)` wins over the runner's own, `run_app`'s
    75 s keep-alive included."""
    return {"keepalive_timeout": settings.request_timeout}


def limit_body_time(request: web.Request, seconds: float) -> None:
    """Close the connection if the body has not all arrived `seconds` from now, while the request is handled.
    (Once it is answered, aiohttp reads what is left of the body for at most 10 s, then closes.)"""
    body = request.content
    if body.is_eof():  # no body, or all of it in already: nearly every request
        return
    deadline = asyncio.get_running_loop().call_later(seconds, _end_unfinished, request, seconds)
    body.on_eof(deadline.cancel)
    handling = asyncio.current_task()
    if handling is not None:
        handling.add_done_callback(lambda _: deadline.cancel())


def _end_unfinished(request: web.Request, seconds: float) -> None:
    if request.content.is_eof() or request.transport is None:
        return
    # The handler waiting for the body is given the reason, not the lost connection the close would give it: its
    # answer goes nowhere, but the access log shows a 408 rather than an unexplained failure.
    request.content.set_exception(exceptions.REQUEST_TIMEOUT(f"The request body did not arrive within {seconds:g} s."))
    request.transport.close()


class _Refusal(asyncio.Protocol):
    """A connection past the cap: answered once its first bytes are in, or after `QUIET_WAIT` seconds without any,
    then closed. Its request is read first because closing a socket with unread bytes sends a reset, which can
    destroy the answer before the client reads it."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.transport: asyncio.Transport | None = None
        self.wait: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.wait = asyncio.get_running_loop().call_later(QUIET_WAIT, self._answer)

    def data_received(self, data: bytes) -> None:
        self._answer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.wait is not None:
            self.wait.cancel()

    def _answer(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(self.answer)
        self.transport.close()


def refusal_bytes(limit: int) -> bytes:
    """The whole HTTP answer to a connection past the cap, in the platform's errors envelope."""
    error = exceptions.TOO_MANY_CONNECTIONS(
        f"The mock holds {limit} connections, its --max-connections; try again when one has closed.", max=limit
    )
    body = json.dumps(exceptions.errors_body(error)).encode()
    head = (
        f"HTTP/1.1 {error.status} Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class CappedSite(web.BaseSite):
    """A TCP site that serves at most `max_connections` connections at once (see the module)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, max_connections: int) -> None:
        super().__init__(runner)
        self.host, self.requested_port = host, port
        self.max_connections = max_connections
        self.refusal = refusal_bytes(max_connections)
        self.accepted_this_turn = 0

    @property
    def port(self) -> int:
        """The port listened on, once started (the one asked for, 0 included, before)."""
        # BaseSite holds any asyncio.AbstractServer; start() stores create_server's asyncio.Server, which has sockets.
        if not isinstance(self._server, asyncio.Server) or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self.host, port=self.port))

    async def start(self) -> None:
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(self._connection, self.host, self.requested_port)

    def _connection(self) -> asyncio.Protocol:
        """The protocol of a connection just accepted. asyncio accepts a batch of connections in one turn of the
        loop and tells each its transport on the next, when aiohttp counts it: those of this turn are counted
        here until then."""
        server = self._runner.server
        assert server is not None  # a site is made after the runner's setup
        if len(server.connections) + self.accepted_this_turn >= self.max_connections:
            # One line a refusal, summed up past a few a second by the log handler (see logs.RepeatLimit).
            log.warning("refused a connection: %d are open, the --max-connections", self.max_connections)
            return _Refusal(self.refusal)
        if self.accepted_this_turn == 0:
            asyncio.get_running_loop().call_soon(self._next_turn)
        self.accepted_this_turn += 1
        return server()

    def _next_turn(self) -> None:
        self.accepted_this_turn = 0


async def start_site(runner: web.AppRunner, settings: Settings) -> CappedSite:
    """Listen on `settings.host` and `settings.port` with the connection cap."""
    site = CappedSite(runner, settings.host, settings.port, settings.max_connections)
    await site.start()
    return site


def run(app: web.Application, settings: Settings, announce: Callable[[str], None]) -> None:
    """Serve `app` until SIGINT or SIGTERM, as `web.run_app` does, listening with `start_site`; OSError when the
    address cannot be listened on. On a signal the mock stops listening, lets the requests in flight finish,
    and runs the app's cleanup; whatever is still running after that is cancelled."""

    async def serve() -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = await start_site(runner, settings)
            announce(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)")
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
