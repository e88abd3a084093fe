"""`--proxy URL --record DIR`: the client's requests forwarded to the real service, its answers returned unchanged,
and every exchange recorded (`mock_server.http.recorder`) with the result files it hands out, for `--replay DIR`.
Under `--record-mode new` a REST request DIR already held at start is answered from it (as `--replay DIR` answers)
and only the others are forwarded and recorded; WebSocket connections are relayed and recorded whole.

The proxy reaches only the URL it was given (and its WebSocket endpoint), plus result-file hosts the outbound
allow-list admits (`--allow-host`): the client chooses nothing about where the proxy connects. The client's key
is passed on as the client sent it, and never logged nor written (the recorder scrubs it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import WSMsgType, web

from mock_server import exceptions
from mock_server.config import Settings
from mock_server.http import replay
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.guard import base_url, not_a_websocket_upgrade
from mock_server.http.recorder import Case, ExchangeRecorder, WebSocketConversation, client_keys, success_urls
from mock_server.http.rest import error_response, read_body
from mock_server.outbound import HostPolicy
from mock_server.recording import REQUEST_HEADERS, RESPONSE_HEADERS, media_summary
from mock_server.replay import Recordings, read_request

log = logging.getLogger(__name__)


@dataclass
class Upstream:
    """Where the proxy forwards to, what it may reach, and where it records."""

    url: str  # the task endpoint, e.g. https://api.runware.ai/v1
    websocket_url: str
    hosts: HostPolicy
    recorder: ExchangeRecorder | None
    timeout: aiohttp.ClientTimeout
    max_message_bytes: int
    recordings: Recordings | None = None  # --record-mode new: what the folder held at start, answered from it
    session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.time) -> Upstream:
        assert settings.proxy is not None
        websocket_url = settings.proxy_websocket or _as_websocket_url(settings.proxy)
        # The user named these hosts: they may be reached whatever the allow-list says.
        named = tuple(urlsplit(url).hostname or "" for url in (settings.proxy, websocket_url))
        # The recorder first: it makes the folder, which a first run under --record-mode new reads empty.
        recorder = ExchangeRecorder(settings.record, settings.proxy, clock) if settings.record else None
        recordings = None
        if settings.record and settings.record_mode == "new":
            recordings = Recordings(settings.record, speed=settings.replay_speed, clock=clock)
        return cls(
            url=settings.proxy,
            websocket_url=websocket_url,
            hosts=HostPolicy((*settings.allowed_hosts, *named)),
            recorder=recorder,
            recordings=recordings,
            # Between bytes, not in all: a large inline upload may take long to send, a poll answers at once.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.fetch_timeout, sock_read=120.0),
            max_message_bytes=settings.max_body_bytes,
        )

    @property
    def client(self) -> aiohttp.ClientSession:
        assert self.session is not None, "the proxy's session opens with the app"
        return self.session


UPSTREAM = web.AppKey("upstream", Upstream)


def _as_websocket_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme={"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)))


def add_routes(app: web.Application, settings: Settings, clock: Callable[[], float] = time.time) -> None:
    app[UPSTREAM] = Upstream.from_settings(settings, clock)
    app.cleanup_ctx.append(_client_session)
    app.router.add_post("/v1", forward_tasks)
    app.router.add_get("/v1", relay_websocket)
    recordings = app[UPSTREAM].recordings
    if recordings is not None:
        app[replay.RECORDINGS] = recordings
        replay.add_file_route(app)


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    # No cookies: the proxy must not carry anything from one client's answer into another client's request.
    upstream = app[UPSTREAM]
    upstream.session = aiohttp.ClientSession(timeout=upstream.timeout, cookie_jar=aiohttp.DummyCookieJar())
    yield
    await upstream.session.close()


async def forward_tasks(request: web.Request) -> web.StreamResponse:
    upstream = request.app[UPSTREAM]
    body = await read_body(request)
    if upstream.recordings is not None:
        has_key = bool(request.headers.get("Authorization"))
        tasks = await read_request(body, request.app[DISPATCHER].max_tasks)
        recorded = upstream.recordings.answer(body, tasks, has_key=has_key, base_url=base_url(request))
        if recorded is not None:
            return web.Response(body=recorded.body, status=recorded.status, headers=recorded.headers)
    sent_headers = {name: request.headers[name] for name in REQUEST_HEADERS if name in request.headers}
    asked_at = upstream.recorder.clock() if upstream.recorder is not None else None
    try:
        async with upstream.client.post(upstream.url, data=body, headers=sent_headers, allow_redirects=False) as answer:
            status, answer_body = answer.status, await answer.read()
            answer_headers = {name: answer.headers[name] for name in RESPONSE_HEADERS if name in answer.headers}
    except (aiohttp.ClientError, TimeoutError) as error:
        # The error's type only: its text may quote the request.
        log.warning("proxy: %s did not answer (%s)", upstream.url, type(error).__name__)
        return error_response(
            exceptions.SERVER_ERROR(f"The proxy could not reach {upstream.url}: {type(error).__name__}.", status=502)
        )
    if upstream.recorder is not None:
        keys = client_keys(request.headers.get("Authorization"), body)
        case = upstream.recorder.add_exchange(
            body, sent_headers, status, answer_headers, answer_body, keys, asked_at=asked_at
        )
        for url in success_urls(answer_body):
            await _keep_result_file(upstream, url, keys, case=case)
    return web.Response(body=answer_body, status=status, headers=answer_headers)


async def _keep_result_file(
    upstream: Upstream,
    url: str,
    keys: list[str],
    *,
    case: Case | None = None,
    conversation: WebSocketConversation | None = None,
) -> None:
    """Download a result file into the recording, once; before the client has the answer naming it, so the
    recording is complete when the client's run is."""
    assert upstream.recorder is not None
    if upstream.recorder.has_file(url):
        return
    if not upstream.hosts.allows(url):
        log.warning("proxy: result file not kept: %s", upstream.hosts.refusal(url))
        return
    try:
        async with upstream.client.get(url, allow_redirects=False) as answer:
            data, status, content_type = await answer.read(), answer.status, answer.content_type
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("proxy: result file not kept: %s (%s)", urlsplit(url).hostname, type(error).__name__)
        return
    if status != 200:
        log.warning("proxy: result file not kept: %s answered %s", urlsplit(url).hostname, status)
        return
    file = upstream.recorder.keep_file(url, content_type, data)
    if case is not None:
        # Reading the container and duration decodes the file: off the event loop.
        media = await asyncio.to_thread(media_summary, data)
        upstream.recorder.add_download(case, url, content_type, file, media=media, keys=keys)
    elif conversation is not None:
        conversation.add_download(url, content_type, file)


async def relay_websocket(request: web.Request) -> web.StreamResponse:
    """Frames relayed both ways as they come, text frames recorded in order; either side closing closes both."""
    upstream = request.app[UPSTREAM]
    client = web.WebSocketResponse(max_msg_size=upstream.max_message_bytes)
    if not client.can_prepare(request).ok:
        return not_a_websocket_upgrade()
    try:
        server = await upstream.client.ws_connect(
            upstream.websocket_url, max_msg_size=upstream.max_message_bytes, autoping=True
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("proxy: %s did not answer (%s)", upstream.websocket_url, type(error).__name__)
        return error_response(
            exceptions.SERVER_ERROR(f"The proxy could not reach {upstream.websocket_url}.", status=502)
        )
    await client.prepare(request)
    conversation = upstream.recorder.websocket_conversation() if upstream.recorder else None

    async def client_to_server() -> None:
        async for message in client:
            if message.type == WSMsgType.TEXT:
                if conversation is not None:
                    conversation.add_frame("client", message.data)
                await server.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await server.send_bytes(message.data)

    async def server_to_client() -> None:
        async for message in server:
            if message.type == WSMsgType.TEXT:
                if conversation is not None:
                    conversation.add_frame("server", message.data)
                    for url in success_urls(message.data):
                        await _keep_result_file(upstream, url, conversation.keys, conversation=conversation)
                await client.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await client.send_bytes(message.data)

    relays = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
    try:
        await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        await server.close()
        # The service's close code, unless it is one a peer may not send (1005 none given, 1006 connection lost).
        code = server.close_code if server.close_code not in (None, 1005, 1006) else aiohttp.WSCloseCode.OK
        await client.close(code=code)
    return client
