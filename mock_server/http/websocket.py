"""The WebSocket transport: `GET /v1` upgraded, speaking the platform's session protocol.

The session part lives here — the `authentication` handshake (a `connectionSessionUUID`, resumable),
`ping` → `pong`, the idle timeout, bad frames. Every other task goes to the same dispatcher REST uses,
authenticated with the session's key.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

from mock_server import exceptions
from mock_server.body import read_task_array
from mock_server.coverage import WEBSOCKET, WEBSOCKET_RESUME
from mock_server.dispatcher import Reply, TaskDispatcher
from mock_server.exceptions import RunwareError
from mock_server.faults import Fault
from mock_server.http.app_keys import DISPATCHER, IDLE_TIMEOUT, MAX_BODY_BYTES, SESSIONS
from mock_server.http.guard import base_url, not_a_websocket_upgrade, request_namespace
from mock_server.http.rest import header_faults
from mock_server.http.sessions import SESSION_TASKS, SessionRegistry
from mock_server.namespaces import DEFAULT, owner_of


class Session:
    """One WebSocket connection: owns its key and connectionSessionUUID, answers the session tasks itself and
    hands every other task to the dispatcher. Where the WebSocket differs from REST is here and only here."""

    def __init__(
        self,
        socket: web.WebSocketResponse,
        dispatcher: TaskDispatcher,
        sessions: SessionRegistry,
        base_url: str,
        faults: tuple[Fault, ...] = (),
        namespace: str = DEFAULT,
    ) -> None:
        self.socket = socket
        self.dispatcher = dispatcher
        self.sessions = sessions
        self.base_url = base_url
        self.faults = faults  # asked for with X-Mock-Fault on the upgrade request: for every task of the session
        self.namespace = namespace  # named with X-Mock-Namespace on the upgrade request
        self.api_key: str | None = None
        self.session_uuid: str | None = None

    async def serve(self, idle_timeout: float) -> None:
        try:
            while not self.socket.closed:
                try:
                    message = await self.socket.receive(timeout=idle_timeout)
                except TimeoutError:
                    await self.socket.close(code=1000, message=b"idle timeout")
                    break
                if message.type == WSMsgType.TEXT:
                    await self._answer(message.data.encode())
                elif message.type == WSMsgType.BINARY:
                    await self._send_error(
                        exceptions.invalid_request_body("Binary frames are not read: send the task array as text.")
                    )
                elif message.type == WSMsgType.ERROR:
                    # aiohttp has already closed the socket with a reason (a frame over the size limit, say).
                    break
                elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                    break
        finally:
            if self.session_uuid is not None and self.api_key is not None:
                self.sessions.closed(self.session_uuid, self._owner())

    async def _answer(self, raw: bytes) -> None:
        try:
            body = await read_task_array(raw, self.dispatcher.max_tasks)
        except RunwareError as error:
            await self._send_error(error)
            return
        if not isinstance(body, list):
            # Not a task array: the dispatcher words the refusal, as it does for REST.
            await self.socket.send_str((await self._dispatch(raw)).text)
            return
        session_items: list[dict[str, Any]] = []
        for task in body:
            if isinstance(task, dict) and task.get("taskType") == "authentication":
                refusal = self._authenticate(task)
                if refusal is not None:
                    await self._send_error(refusal)
                    return
                session_items.append({"taskType": "authentication", "connectionSessionUUID": self.session_uuid})
            elif isinstance(task, dict) and task.get("taskType") == "ping":
                session_items.append({"taskType": "ping", "pong": True})
        if session_items:
            await self.socket.send_str(json.dumps({"data": session_items}))
        rest = [task for task in body if not (isinstance(task, dict) and task.get("taskType") in SESSION_TASKS)]
        if rest or not session_items:
            if self.api_key is None:
                await self._send_error(exceptions.missing_api_key())
                return
            reply = await self._dispatch(json.dumps(rest).encode())
            await self.socket.send_str(reply.text)
            if any(fault.closes_websocket for fault in reply.task_faults):
                await self.socket.close(code=1011, message=b"injected fault: ws_close")

    async def _dispatch(self, raw: bytes) -> Reply:
        return await self.dispatcher.handle(
            raw,
            bearer_key=self.api_key or "",
            base_url=self.base_url,
            faults=self.faults,
            namespace=self.namespace,
            transport=WEBSOCKET,
        )

    def _authenticate(self, task: dict[str, Any]) -> RunwareError | None:
        key = task.get("apiKey")
        if not isinstance(key, str) or not key:
            return exceptions.missing_api_key()
        if not self.dispatcher.accepts_key(key):
            return exceptions.invalid_api_key()
        self.api_key = key
        self.dispatcher.coverage.sent(self.namespace, task)
        if self.session_uuid is None:
            self.session_uuid = self.sessions.resume(task.get("connectionSessionUUID"), self._owner())
            if self.session_uuid == task.get("connectionSessionUUID"):
                self.dispatcher.coverage.transport(self.namespace, WEBSOCKET_RESUME)
        return None

    def _owner(self) -> str:
        return owner_of(self.api_key or "", self.namespace)

    async def _send_error(self, error: RunwareError) -> None:
        body = exceptions.errors_body(error)
        self.dispatcher.coverage.answered(self.namespace, body, WEBSOCKET)
        await self.socket.send_str(json.dumps(body))


async def serve_websocket(request: web.Request) -> web.StreamResponse:
    socket = web.WebSocketResponse(max_msg_size=request.app[MAX_BODY_BYTES])
    if not socket.can_prepare(request).ok:
        return not_a_websocket_upgrade()
    faults = tuple(f for f in header_faults(request) if not f.is_request_fault)
    namespace = request_namespace(request) or DEFAULT
    await socket.prepare(request)
    session = Session(socket, request.app[DISPATCHER], request.app[SESSIONS], base_url(request), faults, namespace)
    await session.serve(request.app[IDLE_TIMEOUT])
    return socket
