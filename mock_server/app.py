"""Builds the aiohttp application."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator

from aiohttp import web

from mock_server import control, responses, websocket
from mock_server.config import Settings
from mock_server.delivery import Deliverer, RetryPolicy
from mock_server.dispatcher import TaskDispatcher
from mock_server.faults import FaultPlan
from mock_server.inputs import MediaLimits, MediaLoader
from mock_server.models import InMemoryTaskStore, TaskStore
from mock_server.outbound import HostPolicy
from mock_server.processing import TaskRunner
from mock_server.sqlite_store import SQLiteTaskStore


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings()
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[responses.errors_as_json])
    store: TaskStore = SQLiteTaskStore(settings.data_dir) if settings.data_dir else InMemoryTaskStore()
    hosts = HostPolicy(settings.allowed_hosts)
    loader = MediaLoader(store.get_media, MediaLimits(settings.max_media_bytes, settings.fetch_timeout), hosts)
    runner = TaskRunner(
        store,
        loader,
        processing_rate=settings.processing_rate,
        clock=time.time,  # wall time: a persistent store's times must mean the same after a restart
        max_media_seconds=settings.max_media_seconds,
        workers=settings.render_workers,
        deliverer=Deliverer(RetryPolicy(settings.delivery_attempts, settings.delivery_first_delay), hosts),
    )
    app[responses.DISPATCHER] = TaskDispatcher(
        store,
        runner,
        api_keys=settings.api_keys,
        rng=random.Random(settings.seed),
        faults=FaultPlan(settings.chaos, settings.seed),
        max_tasks=settings.max_tasks_per_request,
    )
    app[responses.MAX_BODY_BYTES] = settings.max_body_bytes
    app[websocket.SESSIONS] = websocket.SessionRegistry()
    app[websocket.IDLE_TIMEOUT] = settings.ws_idle_timeout
    app[RETENTION] = settings.retention
    app.cleanup_ctx.append(_sweep_expired)
    app.on_startup.append(_resume)
    app.on_cleanup.append(_stop_runner)
    app.router.add_post("/v1", responses.post_tasks)
    app.router.add_get("/v1", websocket.serve_websocket)
    app.router.add_get("/videos/{name}", responses.get_video)
    app.router.add_get("/media/{media_uuid}", responses.get_media)
    app.router.add_get("/health", responses.get_health)
    app.router.add_get("/openapi.json", responses.get_openapi)
    if settings.control:
        app.add_subapp(control.PREFIX, control.control_app(settings.control_token))
    return app


RETENTION = web.AppKey("retention", float | None)


async def _sweep_expired(app: web.Application) -> AsyncIterator[None]:
    """Drop files past their ttl, and tasks and uploads past the retention, now and then."""
    retention = app[RETENTION]
    interval = 60.0 if retention is None else min(60.0, max(0.05, retention / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            app[responses.DISPATCHER].expire(retention)

    sweeper = asyncio.get_running_loop().create_task(sweep())
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper


async def _resume(app: web.Application) -> None:
    app[responses.DISPATCHER].runner.resume()


async def _stop_runner(app: web.Application) -> None:
    await app[responses.DISPATCHER].runner.close()
