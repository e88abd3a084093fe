"""The aiohttp application keys (`web.AppKey`, not API keys): what the HTTP handlers find on the application, the
dispatcher and the transport settings."""

from __future__ import annotations

from aiohttp import web

from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.http.sessions import SessionRegistry

DISPATCHER = web.AppKey("dispatcher", TaskDispatcher)
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)
SESSIONS = web.AppKey("sessions", SessionRegistry)
IDLE_TIMEOUT = web.AppKey("ws_idle_timeout", float)
RETENTION = web.AppKey[float | None]("retention")  # a union is no class: given as the type argument
SETTINGS = web.AppKey("settings", Settings)
