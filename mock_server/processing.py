"""Runs accepted tasks in the background: loads their media, renders off the event loop, records the outcome,
decides when each result is ready (the lifecycle), and announces it to the task's webhook and upload endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mock_server import PRICE_PER_AUDIO_SECOND
from mock_server.delivery import Deliverer
from mock_server.exceptions import RunwareError
from mock_server.faults import parse_fault
from mock_server.inputs import MediaLoader
from mock_server.media import CONTAINERS
from mock_server.models import Result, Task, TaskStore
from mock_server.render import AudioPart, Rendered, RenderRequest, render

PENDING = math.inf  # the ready time of a result not ready yet, and not due at a known time
LIFECYCLE_MODES = ("rate", "immediate", "after", "polls", "manual")


@dataclass(frozen=True)
class Lifecycle:
    """When results are ready once rendered: at the processing rate (one by one), at once, `seconds` after the
    submission, on the `polls`-th poll, or only when told (the control API)."""

    mode: str = "rate"
    seconds: float = 0.0
    polls: int = 1


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
        deliverer: Deliverer | None = None,
    ) -> None:
        self.store = store
        self.loader = loader
        self.processing_rate = processing_rate
        self.clock = clock
        self.max_media_seconds = max_media_seconds
        self.deliverer = deliverer or Deliverer()
        self.lifecycle = Lifecycle()
        self.task_lifecycles: dict[str, Lifecycle] = {}
        self._complete_when_rendered: set[str] = set()
        self._announced: set[str] = set()  # delivery keys (see _announce) scheduled by this process
        # A bounded pool renders; a semaphore bounds the jobs fetching or rendering at once, so a flood of
        # submissions waits as cheap coroutines instead of downloading every input at the same time.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render")
        self._active = asyncio.Semaphore(workers * 2)
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

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
        for job in [*self._jobs.values(), *self._deliveries]:
            job.cancel()
        await asyncio.gather(*self._jobs.values(), *self._deliveries, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.loader.close()
        await self.deliverer.close()

    def resume(self) -> None:
        """After a restart on a persistent store: render what was left unrendered, deliver what was due."""
        for task in self.store.all_tasks():
            if task.error_json is None and not self.store.has_file(task.task_uuid):
                self.start(task)
            else:
                self._announce(task)

    def reset(self) -> None:
        """Forget lifecycle rules and announcements (the control API's reset)."""
        self.lifecycle = Lifecycle()
        self.task_lifecycles.clear()
        self._complete_when_rendered.clear()
        self._announced.clear()

    def lifecycle_of(self, task_uuid: str) -> Lifecycle:
        return self.task_lifecycles.get(task_uuid, self.lifecycle)

    def complete(self, task_uuid: str) -> Task | None:
        """Make every result of a task ready now (or as soon as it is rendered); None for an unknown task."""
        task = self.store.get(task_uuid)
        if task is None or task.error_json is not None:
            return task
        if not self.store.has_file(task_uuid):
            self._complete_when_rendered.add(task_uuid)
            return task
        now = self.clock()
        ready = task.with_results([r._replace(ready_at=min(r.ready_at, now)) for r in task.results])
        self.store.replace(ready)
        self._announce(ready)
        return ready

    def after_poll(self, task: Task, polls: int) -> Task:
        """The task as this poll (the `polls`-th) leaves it: failed by an injected fault, or made ready."""
        for written in task.faults:
            fault = parse_fault(written)
            if fault.kind == "fail_after_polls" and polls >= (fault.value or 0) and task.error_json is None:
                code = fault.params.get("code", "processingFailed")
                error = RunwareError(code, f"The task failed ({code}), as the injected fault '{written}' asked.")
                failed = task.failed(_task_error(error, task))
                self.store.replace(failed)
                self._announce(failed)
                return failed
        life = self.lifecycle_of(task.task_uuid)
        if life.mode == "polls" and polls >= life.polls:
            return self.complete(task.task_uuid) or task
        return task

    async def _run(self, task: Task) -> None:
        try:
            async with self._active:
                rendered = await self._render(task.request)
        except RunwareError as error:
            self._fail(task, error)
            return
        except Exception:
            log.exception("rendering task %s failed", task.task_uuid)
            self._fail(task, RunwareError("processingFailed", "The mock failed to render this task."))
            return
        self.store.put_file(task.task_uuid, rendered.data)
        now = self.clock()
        cost = cost_of(rendered.audio_seconds) if task.request["includeCost"] else None
        ttl = task.request.get("ttl")
        results = []
        for result, ready_at in zip(task.results, self._ready_times(task, rendered.duration, now), strict=True):
            expires_at = ready_at + ttl if ttl is not None else None
            results.append(result._replace(ready_at=ready_at, expires_at=expires_at, cost=cost))
        done = task.with_results(results)
        self.store.replace(done)
        self._announce(done)

    def _ready_times(self, task: Task, duration: float, now: float) -> list[float]:
        count = len(task.result_rows)
        life = self.lifecycle_of(task.task_uuid)
        if task.task_uuid in self._complete_when_rendered or life.mode == "immediate":
            self._complete_when_rendered.discard(task.task_uuid)
            return [now] * count
        if life.mode == "after":
            return [max(now, task.created_at + life.seconds)] * count
        if life.mode in ("polls", "manual"):
            return [PENDING] * count
        return [max(now, task.created_at + self.processing_rate * duration * n) for n in range(1, count + 1)]

    def _fail(self, task: Task, error: RunwareError) -> None:
        failed = task.failed(_task_error(error, task))
        self.store.replace(failed)
        self._announce(failed)

    def _announce(self, task: Task) -> None:
        """Schedule delivery of what is newly due: each result at its ready time, or the failure now."""
        request = task.request
        if not ("webhookURL" in request or "uploadEndpoint" in request):
            return

        def fresh(key: str) -> bool:
            # Not yet scheduled by this process, nor delivered by an earlier one (a persistent store remembers).
            return key not in self._announced and not self.store.was_delivered(key)

        if task.error_json is not None:
            due = [(self.clock(), None)] if fresh(_failure_key(task)) else []
            self._announced.add(_failure_key(task))
        else:
            due = [(r.ready_at, r) for r in task.results if r.ready_at != PENDING and fresh(r.video_uuid)]
            self._announced.update(r.video_uuid for _, r in due)
        if due:
            job = asyncio.get_running_loop().create_task(self._deliver(task, due))
            self._deliveries.add(job)
            job.add_done_callback(self._deliveries.discard)

    async def _deliver(self, task: Task, due: list[tuple[float, Result | None]]) -> None:
        faults = [parse_fault(written) for written in task.faults]
        kinds = {fault.kind: fault for fault in faults}
        if "webhook_reorder" in kinds:
            due = sorted(due, key=lambda pair: pair[0])[::-1]  # last-first, ties included
            await asyncio.sleep(max(0.0, max(at for at, _ in due) - self.clock()))
        request = task.request
        for at, result in due:
            await asyncio.sleep(max(0.0, at - self.clock()))
            if "webhook_delay" in kinds:
                await asyncio.sleep((kinds["webhook_delay"].value or 0) / 1000)
            if result is None:
                payload: dict[str, Any] = {"errors": [json.loads(task.error_json or "{}")]}
            else:
                extension = CONTAINERS[task.output_format].extension
                payload = {"data": [task.result_item(result, result.ready_at, extension)]}
            if "webhookURL" in request:
                for _ in range(2 if "webhook_duplicate" in kinds else 1):
                    await self.deliverer.post_json(request["webhookURL"], payload, task.task_uuid)
            data = self.store.get_file(task.task_uuid) if "uploadEndpoint" in request and result else None
            if data is not None:
                spec = CONTAINERS[task.output_format]
                await self.deliverer.put_file(request["uploadEndpoint"], data, spec.content_type, task.task_uuid)
            self.store.mark_delivered(_failure_key(task) if result is None else result.video_uuid)

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


def _failure_key(task: Task) -> str:
    return f"{task.task_uuid}:failed"


def _task_error(error: RunwareError, task: Task) -> dict[str, Any]:
    error.task_type, error.task_uuid = "videoInference", task.task_uuid
    return {**error.to_json(), "status": "error"}
