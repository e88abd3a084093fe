"""`--replay DIR` over REST and WebSocket: `POST /v1` and each WebSocket frame answered from the recording where it
matches, by the mock otherwise — or, under `--record-mode none`, refused with `notRecorded`; the recording's result
files served under `/recorded/`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mock_server import exceptions
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.faults import Fault
from mock_server.http import rest
from mock_server.http.app_keys import DISPATCHER, IDLE_TIMEOUT, MAX_BODY_BYTES, SESSIONS
from mock_server.http.guard import base_url, not_a_websocket_upgrade, request_namespace
from mock_server.http.sessions import SessionRegistry
from mock_server.http.websocket import Session
from mock_server.namespaces import DEFAULT
from mock_server.replay import FILES_PATH, RecordedAnswer, RecordedRequests, Recordings, read_request

RECORDINGS = web.AppKey("recordings", Recordings)
STRICT = web.AppKey("replay_strict", bool)  # --record-mode none: nothing unmatched reaches the mock
# How often a paced WebSocket frame looks at the clock while it waits: the clock may be moved (a test's, a
# suspended machine's), so a frame is sent when the clock says, not after a sleep fixed at the start.
PACE_STEP = 0.05


def add_routes(app: web.Application, settings: Settings, clock: Callable[[], float] = time.time) -> None:
    assert settings.replay is not None
    app[RECORDINGS] = Recordings(settings.replay, speed=settings.replay_speed, clock=clock)
    app[STRICT] = settings.record_mode == "none"
    app.router.add_post("/v1", answer_tasks)
    app.router.add_get("/v1", serve_websocket)
    add_file_route(app)


def add_file_route(app: web.Application) -> None:
    app.router.add_get(FILES_PATH + "/{name}", get_recorded_file)


async def answer_tasks(request: web.Request) -> web.StreamResponse:
    body = await rest.read_body(request)
    has_key = bool(request.headers.get("Authorization"))
    tasks = await read_request(body, request.app[DISPATCHER].max_tasks)
    answer = request.app[RECORDINGS].answer(body, tasks, has_key=has_key, base_url=base_url(request))
    if answer is None and not request.app[STRICT]:
        return await rest.answer_tasks(request, body)
    if answer is None:
        refused = rest.error_response(request.app[RECORDINGS].rest.mismatch(tasks, has_key=has_key))
        request.app[DISPATCHER].journal.record(body, refused.status, refused.text or "")
        return refused
    request.app[DISPATCHER].journal.record(body, answer.status, answer.body.decode(errors="replace"))
    return web.Response(body=answer.body, status=answer.status, headers=answer.headers)


async def get_recorded_file(request: web.Request) -> web.StreamResponse:
    found = request.app[RECORDINGS].files.get(request.match_info["name"])
    if found is None:
        return rest.error_response(exceptions.NOT_FOUND("The recording holds no file of this name."))
    return web.FileResponse(found.path, headers={"Content-Type": found.content_type})


class ReplaySession(Session):
    """A WebSocket session under `--replay`: a frame the recording holds is answered with its recorded server
    frames, in order and at the recorded pace; any other is the mock session's (or refused, when strict)."""

    def __init__(
        self,
        socket: web.WebSocketResponse,
        dispatcher: TaskDispatcher,
        sessions: SessionRegistry,
        base_url: str,
        faults: tuple[Fault, ...],
        namespace: str,
        *,
        recorded: RecordedRequests,
        strict: bool,
    ) -> None:
        super().__init__(socket, dispatcher, sessions, base_url, faults, namespace)
        self.recorded = recorded
        self.strict = strict
        self.sending: asyncio.Task[None] | None = None  # the paced frames still to go, in order

    async def _answer(self, raw: bytes) -> None:
        tasks = await read_request(raw, self.dispatcher.max_tasks)
        answers = self.recorded.answer(raw, tasks, has_key=False, base_url=self.base_url)
        if answers is None and self.strict:
            await self._send_error(self.recorded.mismatch(tasks, has_key=False))
        elif answers is None:
            await super()._answer(raw)
        else:
            self._authenticate_as_recorded(tasks)
            previous = self.sending
            if previous is None or previous.done():
                if not any(delay for delay, _ in answers):  # unpaced: sent before the next frame is read
                    await self._send_at_pace(answers, None)
                    return
                previous = None
            self.sending = asyncio.ensure_future(self._send_at_pace(answers, previous))

    def _authenticate_as_recorded(self, tasks: Any) -> None:
        """A replayed authentication authenticates the mock's side of the session too, so the frames the recording
        does not hold reach the mock with the client's key."""
        for task in tasks if isinstance(tasks, list) else []:
            if isinstance(task, dict) and task.get("taskType") == "authentication":
                self._authenticate(task)

    async def _send_at_pace(
        self, answers: list[tuple[float, RecordedAnswer]], previous: asyncio.Task[None] | None
    ) -> None:
        asked = self.recorded.clock()
        if previous is not None:
            await previous  # recorded order: an earlier frame's answers go first
        for delay, answer in answers:
            while (left := asked + delay - self.recorded.clock()) > 0 and not self.socket.closed:
                await asyncio.sleep(min(left, PACE_STEP))
            if self.socket.closed:
                return
            await self.socket.send_str(answer.body.decode(errors="replace"))

    async def serve(self, idle_timeout: float) -> None:
        try:
            await super().serve(idle_timeout)
        finally:
            if self.sending is not None:
                self.sending.cancel()


async def serve_websocket(request: web.Request) -> web.StreamResponse:
    socket = web.WebSocketResponse(max_msg_size=request.app[MAX_BODY_BYTES])
    if not socket.can_prepare(request).ok:
        return not_a_websocket_upgrade()
    faults = tuple(f for f in rest.header_faults(request) if not f.is_request_fault)
    await socket.prepare(request)
    session = ReplaySession(
        socket,
        request.app[DISPATCHER],
        request.app[SESSIONS],
        base_url(request),
        faults,
        request_namespace(request) or DEFAULT,
        recorded=request.app[RECORDINGS].websocket,
        strict=request.app[STRICT],
    )
    await session.serve(request.app[IDLE_TIMEOUT])
    return socket
