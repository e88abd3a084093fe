"""Runs accepted tasks in the background: loads their media, renders off the event loop, records the outcome.

When each result is then ready is the lifecycle's to say (`lifecycle.py`); who hears of it, the delivery
scheduler's (`delivery.py`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures.process import BrokenProcessPool
from decimal import Decimal
from functools import partial

from mock_server import PRICE_PER_AUDIO_SECOND, exceptions
from mock_server.accounts import Accounts
from mock_server.delivery import DeliveryScheduler
from mock_server.exceptions import RunwareError
from mock_server.inputs import MediaLoader
from mock_server.lifecycle import Lifecycle, LifecyclePlan
from mock_server.render_pool import render_pool, replace_render_pool, run_render
from mock_server.render_request import AudioPart, Rendered, RenderRequest
from mock_server.store import Task, TaskRow, TaskStore

log = logging.getLogger(__name__)


class TaskRunner:
    """Owns the render jobs: one per accepted task, from its media to its stored outcome. It must not answer
    requests (the dispatcher does) nor send anything (the delivery scheduler does)."""

    def __init__(
        self,
        store: TaskStore,
        loader: MediaLoader,
        *,
        lifecycle: LifecyclePlan,
        deliveries: DeliveryScheduler,
        clock: Callable[[], float],
        max_media_seconds: float = 300.0,
        workers: int = 2,
        result_max_side: int | None = None,
        max_frame_size: tuple[int, int] | None = None,
        max_result_bytes: int | None = None,
        accounts: Accounts | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts if accounts is not None else Accounts()
        self.loader = loader
        self.lifecycle = lifecycle
        self.deliveries = deliveries
        self.clock = clock
        self.max_media_seconds = max_media_seconds
        self.result_max_side = result_max_side  # None: results at the input's frame size, as the service does
        self.max_frame_size = max_frame_size  # (longer, shorter) side of an input video's frames; None: any
        self.max_result_bytes = max_result_bytes  # None: results of any size
        # A bounded pool renders, and at most `workers * 2` jobs fetch or render at once. The rest wait in a
        # queue as rows of plain values: a coroutine per queued task would be a dozen more objects each for
        # the garbage collector, whose full collections then paused the server for 300 ms under a backlog,
        # and even a `Task` is one (see store/base.py).
        self._workers = workers
        self._executor = render_pool(workers)
        self._max_jobs = workers * 2
        self._queue: deque[TaskRow] = deque()
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, TaskRow] = {}  # every task queued or in a job, for what it refers to
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def start(self, task: Task) -> None:
        row = task.row()
        self._running[task.task_uuid] = row
        self._queue.append(row)
        self._start_jobs()

    def _start_jobs(self) -> None:
        while self._queue and len(self._jobs) < self._max_jobs:
            row = self._queue.popleft()
            task = Task.from_row(row)
            if self._running.get(task.task_uuid) is not row or task.task_uuid in self._jobs:
                continue  # dropped by a reset while it waited
            job = asyncio.get_running_loop().create_task(self._run(task))
            self._jobs[task.task_uuid] = job
            job.add_done_callback(partial(self._finished, task.task_uuid))  # called with the job itself

    def _finished(self, task_uuid: str, job: asyncio.Task[None]) -> None:
        if self._jobs.get(task_uuid) is job:  # not a job cancelled by a reset, whose taskUUID was used again
            del self._jobs[task_uuid]
            del self._running[task_uuid]
            self._wake(task_uuid)
        self._start_jobs()

    def _wake(self, task_uuid: str) -> None:
        for waiter in self._waiters.pop(task_uuid, []):
            if not waiter.done():
                waiter.set_result(None)

    async def when_rendered(self, task: Task, timeout: float) -> Task | None:
        """The task as stored once its render is done (or it failed), or as it is after `timeout` seconds; None
        when it was dropped meanwhile. A task not queued or running comes back at once as it is given: its stored
        state is final, and it is not read again (a read is a query with the SQLite store)."""
        task_uuid = task.task_uuid
        if task_uuid not in self._running:
            return task
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(task_uuid, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            waiters = self._waiters.get(task_uuid, [])
            if waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[task_uuid]
        return self.store.get(task_uuid)

    async def idle(self) -> None:
        """Until every render has finished and every delivery has been sent."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs.values()), return_exceptions=True)
        await self.deliveries.idle()

    async def close(self) -> None:
        self._queue.clear()
        for job in self._jobs.values():
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        await self.loader.close()
        await self.deliveries.close()

    def resume(self) -> None:
        """After a restart on a persistent store: render what was left unrendered, deliver what was due."""
        for task in self.store.all_tasks():
            if task.error_json is None and not self.store.has_file(task.task_uuid):
                self.start(task)
            else:
                self.deliveries.announce(task)

    def reset(self, namespace: str | None = None, task_uuids: list[str] | None = None) -> None:
        """Stop the work of the dropped `task_uuids` and forget lifecycle choices and deliveries — of one
        namespace, or (None) of all (the control API's reset): nothing of a reset task lands afterwards."""
        for task_uuid in list(self._running) if namespace is None else (task_uuids or []):
            job = self._jobs.pop(task_uuid, None)
            self._running.pop(task_uuid, None)
            self._wake(task_uuid)
            if job is not None:
                job.cancel()
        if namespace is None:
            self._queue.clear()
        self.lifecycle.reset(namespace, task_uuids)
        self.deliveries.reset(namespace)

    def set_lifecycle(self, lifecycle: Lifecycle, task_uuid: str | None = None, namespace: str = "") -> None:
        self.lifecycle.set_lifecycle(lifecycle, task_uuid, namespace)

    def set_processing_rate(self, rate: float) -> None:
        self.lifecycle.set_processing_rate(rate)

    def complete(self, task_uuid: str) -> Task | None:
        """Make every result of a task ready now (or as soon as it is rendered); None for an unknown task."""
        task = self.store.get(task_uuid)
        if task is None or task.error_json is not None:
            return task
        if not self.store.has_file(task_uuid):
            self.lifecycle.complete_when_rendered(task_uuid)
            return task
        now = self.clock()
        ready = task.with_results([r._replace(ready_at=min(r.ready_at, now)) for r in task.results])
        self.store.replace(ready)
        self.deliveries.announce(ready)
        return ready

    def poll(self, task: Task) -> Task:
        """Count a poll of the task; the task as it leaves it: failed by an injected fault, or made ready."""
        polls = self.lifecycle.count_poll(task.task_uuid)
        if task.error_json is None:
            for fault in task.faults:
                error = fault.on_poll(polls)
                if error is not None:
                    return self._fail(task, error)
        if self.lifecycle.completes_on_poll(task.task_uuid, task.namespace, polls):
            return self.complete(task.task_uuid) or task
        return task

    def in_use(self) -> InUse:
        """The tasks queued or rendering now, and every upload they name: what must not expire under them."""
        return InUse(dict(self._running))

    async def expire(self, retention: float | None) -> None:
        """Drop what is past its ttl or the retention — but not what queued or running work still refers to —
        and what the lifecycle keeps for the tasks dropped. The store's sweep runs in a thread: at 100,000 tasks
        it takes seconds."""
        dropped = await asyncio.to_thread(self.store.expire, self.clock(), retention, self.in_use())
        self.lifecycle.forget(dropped)

    async def _run(self, task: Task) -> None:
        """Render the task and record its outcome. Whatever fails on the way, the render or what follows it
        (storing the file, the cost, the ready times), ends the task as an error: never left processing."""
        try:
            done = self._rendered(task, await self._render(task))
        except RunwareError as error:
            self._fail(task, error)
            return
        except Exception:
            log.exception("task %s failed while it was rendered or its outcome stored", task.task_uuid)
            self._fail(task, exceptions.PROCESSING_FAILED("The mock failed to render this task."))
            return
        self.deliveries.announce(done)

    def _rendered(self, task: Task, rendered: Rendered) -> Task:
        """Store the result file, charge for it, and store the task's results with their ready times, cost and
        expiry."""
        self.store.put_file(task.task_uuid, rendered.data)
        now = self.clock()
        result_cost = cost_of(rendered.audio_seconds)
        self.accounts.charge(task.owner, task.task_uuid, result_cost * len(task.result_rows))
        cost = result_cost if task.request["includeCost"] else None
        ttl = task.request.get("ttl")
        ready_times = self.lifecycle.take_ready_times(
            task.task_uuid, task.namespace, task.created_at, rendered.duration, len(task.result_rows), now
        )
        results = []
        for result, ready_at in zip(task.results, ready_times, strict=True):
            expires_at = ready_at + ttl if ttl is not None else None
            results.append(result._replace(ready_at=ready_at, expires_at=expires_at, cost=cost))
        done = task.with_results(results)
        self.store.replace(done)
        return done

    def _fail(self, task: Task, error: RunwareError) -> Task:
        error.task_type, error.task_uuid = "videoInference", task.task_uuid
        failed = task.failed({**error.to_json(), "status": "error"})
        self.accounts.refund(task.owner, task.task_uuid)
        self.store.replace(failed)
        self.deliveries.announce(failed)
        return failed

    async def _render(self, task: Task) -> Rendered:
        request = task.request
        inputs, sync = request["inputs"], request["providerSettings"]["sync"]
        loaded: dict[str, bytes] = {}

        async def load(reference: str, parameter: str) -> bytes:
            """Each distinct reference is loaded once: segments naming one file share its bytes (and their render
            decodes it once), where a copy each took 200 segments of one 299 s upload to a 5.6 GB render."""
            if reference not in loaded:
                loaded[reference] = (await self.loader.load(reference, parameter, task.owner)).data
            return loaded[reference]

        video = await load(inputs["video"], "inputs.video")
        parts = []
        if "audio" in inputs:
            parts.append(AudioPart(await load(inputs["audio"], "inputs.audio"), "inputs.audio"))
        for index, segment in enumerate(sync.get("segments", [])):
            parameter = f"providerSettings.sync.segments[{index}].audio"
            crop = (segment["audioStartTime"], segment["audioEndTime"]) if "audioEndTime" in segment else None
            window = (segment["startTime"], segment["endTime"])
            parts.append(AudioPart(await load(segment["audio"], parameter), parameter, window, crop))
        if not parts:
            raise exceptions.MISSING_AUDIO(
                "There is no audio to sync to: give inputs.audio or providerSettings.sync.segments.",
                parameter="inputs.audio",
            )
        job = RenderRequest(
            video,
            parts,
            sync["syncMode"],
            request["outputFormat"],
            request["outputQuality"],
            self.max_media_seconds,
            self.result_max_side,
            self.max_frame_size,
            self.max_result_bytes,
        )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run_render, job)
        except BrokenProcessPool:
            # A render process died (killed, out of memory): this task fails, the next gets a new pool.
            self._executor = replace_render_pool(self._executor, self._workers)
            raise exceptions.PROCESSING_FAILED("The render process stopped; the task was not rendered.") from None


class InUse(Collection[str]):
    """The taskUUIDs of the work queued or running when it was made, and every upload that work names, as a
    collection. The names are worked out when it is first asked, in the expiry sweep's thread and only if
    something could expire: that reads every queued task's request, which took half a second on the event loop
    with 90 000 renders queued; making it copies only the list of tasks."""

    def __init__(self, running: dict[str, TaskRow]) -> None:
        self._running = running

    @functools.cached_property
    def names(self) -> frozenset[str]:
        found: set[str] = set()
        for task_uuid, row in self._running.items():
            found.add(task_uuid)
            request = Task.from_row(row).request
            inputs, segments = request["inputs"], request["providerSettings"]["sync"].get("segments", [])
            found.update(value.lower() for value in [*inputs.values(), *(s["audio"] for s in segments)])
        return frozenset(found)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def cost_of(audio_seconds: float) -> float:
    """USD for a result: the model page's price per second of audio used."""
    return float(round(PRICE_PER_AUDIO_SECOND * Decimal(repr(audio_seconds)), 6))
