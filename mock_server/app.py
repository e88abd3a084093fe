"""Builds the aiohttp application: the owners of state, wired once, and the routes in front of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from aiohttp import web

from mock_server.accounts import Accounts
from mock_server.config import Compat, Settings
from mock_server.coverage import ClientCoverage
from mock_server.delivery import Deliverer, DeliveryScheduler, RetryPolicy
from mock_server.dispatcher import TaskDispatcher
from mock_server.faults import FaultPlan
from mock_server.http import client_script, connections, control, dashboard, front, proxy, replay, rest, websocket
from mock_server.http.app_keys import DISPATCHER, IDLE_TIMEOUT, MAX_BODY_BYTES, RETENTION, SESSIONS, SETTINGS
from mock_server.http.sessions import SessionRegistry
from mock_server.inputs import MediaLimits, MediaLoader
from mock_server.journal import RequestJournal
from mock_server.lifecycle import LifecyclePlan
from mock_server.outbound import HostPolicy
from mock_server.processing import TaskRunner
from mock_server.store import InMemoryTaskStore, SQLiteTaskStore, TaskStore
from mock_server.variation import ResponseVariation

log = logging.getLogger(__name__)


def create_dispatcher(settings: Settings, clock: Callable[[], float] = time.time) -> TaskDispatcher:
    """The dispatcher and everything it owns, configured by `settings`. The clock is wall time, so a persistent
    store's times mean the same after a restart."""
    store: TaskStore = (
        SQLiteTaskStore(settings.data_dir, settings.max_stored_bytes)
        if settings.data_dir
        else InMemoryTaskStore(settings.max_stored_bytes)
    )
    public_host = urlsplit(settings.public_url).hostname if settings.public_url else None
    hosts = HostPolicy(settings.allowed_hosts, own_names=(settings.host, public_host or ""))
    compat = Compat.from_pairs(settings.compat)
    accounts = Accounts(settings.balance)
    coverage = ClientCoverage(compat)
    deliverer = Deliverer(
        RetryPolicy(settings.delivery_attempts, settings.delivery_first_delay), hosts, coverage=coverage
    )
    runner = TaskRunner(
        store,
        MediaLoader(store.get_media, MediaLimits(settings.max_media_bytes, settings.fetch_timeout), hosts),
        lifecycle=LifecyclePlan(settings.processing_rate, settings.processing_time, settings.seed),
        deliveries=DeliveryScheduler(
            store,
            deliverer,
            clock,
            bare_webhooks=compat.webhook_body == "bare",
            errors_with_task_type=compat.error_task_type == "included",
        ),
        clock=clock,
        max_media_seconds=settings.max_media_seconds,
        workers=settings.render_workers,
        result_max_side=settings.result_max_side,
        max_frame_size=(settings.max_frame_size.longer, settings.max_frame_size.shorter),
        max_result_bytes=settings.max_result_bytes,
        accounts=accounts,
    )
    return TaskDispatcher(
        store,
        runner,
        journal=RequestJournal(enabled=settings.control),
        api_keys=settings.api_keys,
        rng=random.Random(settings.seed),
        faults=FaultPlan(settings.chaos, settings.seed),
        max_tasks=settings.max_tasks_per_request,
        compat=compat,
        poll_wait=settings.poll_wait,
        variation=None if settings.vary_responses is None else ResponseVariation(settings.vary_responses),
        accounts=accounts,
        coverage=coverage,
    )


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> web.Application:
    """The mock's application. Access lines go to `logging` (see `http/access.py`). `clock` is the time every
    owner reads (see `create_dispatcher`): tests pass one they move themselves."""
    settings = settings or Settings()
    middleware = front.front_door(log_access=not settings.quiet)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middleware],
        handler_args=connections.handler_args(settings),  # the request timeout, under any runner
    )
    app[DISPATCHER] = create_dispatcher(settings, clock)
    app[SETTINGS] = settings
    app[MAX_BODY_BYTES] = settings.max_body_bytes
    app[SESSIONS] = SessionRegistry()
    app[IDLE_TIMEOUT] = settings.ws_idle_timeout
    app[RETENTION] = settings.retention
    app.cleanup_ctx.append(_sweep_expired)
    app.on_cleanup.append(_close)
    _add_task_routes(app, settings, clock)
    app.router.add_get("/videos/{name}", rest.get_video)
    app.router.add_get("/media/{media_uuid}", rest.get_media)
    app.router.add_get("/health", rest.get_health)
    app.router.add_get("/openapi.json", rest.get_openapi)
    app.router.add_get("/asyncapi.json", rest.get_asyncapi)
    if settings.control:
        dashboard.add_routes(app)  # before the control API, whose prefix would otherwise take these paths
        client_script.add_routes(app)
        app.add_subapp(control.PREFIX, control.control_app(settings.control_token))
    return app


def _add_task_routes(app: web.Application, settings: Settings, clock: Callable[[], float]) -> None:
    """`/v1`: the mock's own, forwarded to the real service (`--proxy`), or answered from a recording (`--replay`)."""
    _check_recording_settings(settings)
    if settings.proxy:
        proxy.add_routes(app, settings, clock)
        return
    if settings.replay:
        replay.add_routes(app, settings, clock)
        return
    app.router.add_post("/v1", rest.post_tasks)
    app.router.add_get("/v1", websocket.serve_websocket)


def _check_recording_settings(settings: Settings) -> None:
    """--proxy, --record, --replay, --record-mode and --replay-speed in the combinations that mean something."""
    if settings.record_mode in ("all", "new") and not (settings.proxy and settings.record):
        raise ValueError(
            f"--record-mode {settings.record_mode} records what --proxy URL forwards into --record DIR: give both"
        )
    if settings.record_mode == "none" and (settings.proxy or settings.record or not settings.replay):
        raise ValueError(
            "--record-mode none replays only and never reaches the real service: give --replay DIR, "
            "without --proxy or --record"
        )
    if settings.record and not settings.proxy:
        raise ValueError("--record DIR records what --proxy URL forwards: give both")
    if settings.proxy and settings.replay:
        raise ValueError(
            "--proxy and --replay exclude each other: record first, replay later "
            "(or --record-mode new to do both with one folder)"
        )
    if settings.replay_speed and not (settings.replay or settings.record_mode == "new"):
        raise ValueError("--replay-speed paces a replay: give --replay DIR (or --record-mode new)")


async def _sweep_expired(app: web.Application) -> AsyncIterator[None]:
    """Drop files past their ttl, and tasks and uploads past the retention, now and then."""
    retention = app[RETENTION]
    interval = 60.0 if retention is None else min(60.0, max(0.05, retention / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await app[DISPATCHER].runner.expire(retention)
            except Exception:  # one failed sweep must not end the sweeping
                log.exception("the expiry sweep failed; the next one runs in %.0f s", interval)

    sweeper = asyncio.get_running_loop().create_task(sweep())
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper


def resume_work(app: web.Application) -> None:
    """After a restart on a persistent store: resume the work it holds unfinished. Only once the server listens:
    a resumed task may fetch its media from this very server, and a connection refused during start-up failed
    it `downloadFailed`. Whoever starts the server calls this when it listens (the command line does)."""
    app[DISPATCHER].runner.resume()


async def _close(app: web.Application) -> None:
    await app[DISPATCHER].runner.close()
    app[DISPATCHER].store.close()
