"""Runs accepted tasks in the background: loads their media, renders off the event loop, records the outcome."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from mock_server.exceptions import RunwareError
from mock_server.inputs import MediaLoader
from mock_server.models import Task, TaskStore
from mock_server.render import AudioPart, Rendered, RenderRequest, render

PRICE_PER_AUDIO_SECOND = Decimal("0.044")
PENDING = math.inf  # the ready time of a result whose file is not rendered yet

log = logging.getLogger(__name__)


class TaskRunner:
    def __init__(
        self,
        store: TaskStore,
        loader: MediaLoader,
        *,
        processing_rate: float,
        clock: Callable[[], float],
        max_media_seconds: float = 300.0,
        workers: int = 2,
    ) -> None:
        self.store = store
        self.loader = loader
        self.processing_rate = processing_rate
        self.clock = clock
        self.max_media_seconds = max_media_seconds
        # A bounded pool renders; a semaphore bounds the jobs fetching or rendering at once, so a flood of
        # submissions waits as cheap coroutines instead of downloading every input at the same time.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render")
        self._active = asyncio.Semaphore(workers * 2)
        self._jobs: dict[str, asyncio.Task[None]] = {}

    def start(self, task: Task) -> None:
        job = asyncio.get_running_loop().create_task(self._run(task))
        self._jobs[task.task_uuid] = job
        job.add_done_callback(lambda _: self._jobs.pop(task.task_uuid, None))

    async def wait(self, task_uuid: str) -> None:
        """Until the task's media is rendered (or it failed); at once when it is not running."""
        job = self._jobs.get(task_uuid)
        if job is not None:
            await asyncio.shield(job)

    async def drain(self) -> None:
        """Until every running task has finished rendering."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs.values()), return_exceptions=True)

    async def close(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel()
        await asyncio.gather(*list(self._jobs.values()), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.loader.close()

    async def _run(self, task: Task) -> None:
        try:
            async with self._active:
                rendered = await self._render(task.request)
        except RunwareError as error:
            self.store.replace(task.failed(_task_error(error, task)))
            return
        except Exception:
            log.exception("rendering task %s failed", task.task_uuid)
            error = RunwareError("processingFailed", "The mock failed to render this task.")
            self.store.replace(task.failed(_task_error(error, task)))
            return
        self.store.put_file(task.task_uuid, rendered.data)
        now = self.clock()
        cost = cost_of(rendered.audio_seconds)
        results = []
        for position, result in enumerate(task.results, start=1):
            ready_at = max(now, task.created_at + self.processing_rate * rendered.duration * position)
            expires_at = ready_at + task.request["ttl"] if "ttl" in task.request else None
            wants_cost = task.request["includeCost"]
            results.append(result._replace(ready_at=ready_at, expires_at=expires_at, cost=cost if wants_cost else None))
        self.store.replace(task.with_results(results))

    async def _render(self, request: dict[str, Any]) -> Rendered:
        inputs, sync = request["inputs"], request["providerSettings"]["sync"]
        video = await self.loader.load(inputs["video"], "inputs.video")
        parts = []
        if "audio" in inputs:
            parts.append(AudioPart((await self.loader.load(inputs["audio"], "inputs.audio")).data, "inputs.audio"))
        for index, segment in enumerate(sync.get("segments", [])):
            parameter = f"providerSettings.sync.segments[{index}].audio"
            crop = (segment["audioStartTime"], segment["audioEndTime"]) if "audioEndTime" in segment else None
            media = await self.loader.load(segment["audio"], parameter)
            parts.append(AudioPart(media.data, parameter, (segment["startTime"], segment["endTime"]), crop))
        if not parts:
            raise RunwareError(
                "missingAudio",
                "There is no audio to sync to: give inputs.audio or providerSettings.sync.segments.",
                parameter="inputs.audio",
            )
        job = RenderRequest(
            video.data,
            parts,
            sync["syncMode"],
            request["outputFormat"],
            request["outputQuality"],
            self.max_media_seconds,
        )
        return await asyncio.get_running_loop().run_in_executor(self._executor, render, job)


def cost_of(audio_seconds: float) -> float:
    """USD for a result: the model page's price per second of audio used."""
    return float(round(PRICE_PER_AUDIO_SECOND * Decimal(repr(audio_seconds)), 6))


def _task_error(error: RunwareError, task: Task) -> dict[str, Any]:
    error.task_type, error.task_uuid = "videoInference", task.task_uuid
    return {**error.to_json(), "status": "error"}
