"""Builds the aiohttp application."""

from __future__ import annotations

import asyncio

from aiohttp import web

from mock_server import responses
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.media import CONTAINERS, placeholder_clip
from mock_server.models import InMemoryTaskStore


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[responses.errors_as_json])
    app[responses.DISPATCHER] = TaskDispatcher(
        InMemoryTaskStore(), api_keys=settings.api_keys, processing_rate=settings.processing_rate
    )
    app[responses.MAX_BODY_BYTES] = settings.max_body_bytes
    app.on_startup.append(_encode_placeholders)
    app.router.add_post("/v1", responses.post_tasks)
    app.router.add_get("/videos/{name}", responses.get_video)
    app.router.add_get("/health", responses.get_health)
    app.router.add_get("/openapi.json", responses.get_openapi)
    return app


async def _encode_placeholders(app: web.Application) -> None:
    # Encoding is CPU work: do it once, off the event loop, before the first request needs it.
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(None, placeholder_clip, name) for name in CONTAINERS))
