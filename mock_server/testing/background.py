"""The mock on a loopback port, in a thread of its own: usable from sync and async tests alike."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from mock_server.app import create_app, resume_work
from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.connections import start_site


class BackgroundServer:
    """The whole mock on a free loopback port, its event loop in a daemon thread; a context manager."""

    def __init__(self, settings: Settings | None = None) -> None:
        # Port 0: the system picks a free port, so parallel test runs do not collide.
        self.settings = dataclasses.replace(settings or Settings(), port=0)
        self._app = create_app(self.settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lipsync-mock", daemon=True)
        self._runner = web.AppRunner(self._app, access_log=None)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def url(self) -> str:
        """The task endpoint, as a client configures it (the platform's `https://api.runware.ai/v1`)."""
        return f"{self.base_url}/v1"

    @property
    def dispatcher(self) -> TaskDispatcher:
        return self._app[DISPATCHER]

    def received(self, task_uuid: str | None = None) -> list[Any]:
        """Every task received so far, in order, or those naming `task_uuid`."""
        return [
            task
            for entry in self.dispatcher.journal.entries(task_uuid)
            for task in entry.tasks()
            if task_uuid is None or (isinstance(task, dict) and task.get("taskUUID") == task_uuid)
        ]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every render has finished and every webhook and upload has been sent."""
        asyncio.run_coroutine_threadsafe(self.dispatcher.runner.idle(), self._loop).result(timeout=timeout)

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> None:
        await self._runner.setup()
        site = await start_site(self._runner, self.settings)  # the command line's limits: see http/connections.py
        self.port = site.port
        resume_work(self._runner.app)  # what a --data-dir holds unfinished, now that this server listens

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
