"""Delivery of results to the client's own endpoints: webhooks (POST) and uploads (PUT), retried, journaled.

`DeliveryScheduler` decides what is due and when (each result at its ready time, a failure at once, each
at most once even across restarts); `Deliverer` sends one body with retries and journals every attempt, with
why it failed in full (the journal is the operator's, behind the control API). Deliveries follow no redirects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from mock_server.containers import CONTAINERS
from mock_server.coverage import ClientCoverage
from mock_server.exceptions import envelope, without_task_types
from mock_server.faults import delivery_plan
from mock_server.lifecycle import PENDING
from mock_server.outbound import OUTBOUND_HEADERS, HostPolicy
from mock_server.store import Result, Task, TaskStore


@dataclass(frozen=True)
class DeliveryAttempt:
    kind: str  # "webhook" or "upload"
    url: str
    task_uuid: str
    attempt: int  # 1 for the first try
    status: int | None  # the HTTP status answered, None when no answer came
    error: str | None  # why no answer came
    at: float  # seconds since the epoch
    namespace: str = ""  # the task's (see namespaces.py)

    def to_json(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["taskUUID"] = fields.pop("task_uuid")
        return fields


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    first_delay: float = 0.5  # seconds before the second try; each later wait doubles
    timeout: float = 10.0  # seconds one try may take


class Deliverer:
    """Sends webhooks and uploads to the hosts the policy allows, retrying as the policy says; owns the
    delivery journal."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        hosts: HostPolicy | None = None,
        capacity: int = 10_000,
        coverage: ClientCoverage | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.hosts = hosts or HostPolicy()
        self.coverage = coverage  # where each delivery's outcome is counted, if anywhere
        self._journal: deque[DeliveryAttempt] = deque(maxlen=capacity)
        self._session: aiohttp.ClientSession | None = None

    def journal(self, task_uuid: str | None = None, namespace: str | None = None) -> list[DeliveryAttempt]:
        return [
            a
            for a in self._journal
            if (task_uuid is None or a.task_uuid == task_uuid) and (namespace is None or a.namespace == namespace)
        ]

    def clear(self, namespace: str | None = None) -> None:
        kept = [] if namespace is None else [a for a in self._journal if a.namespace != namespace]
        self._journal = deque(kept, maxlen=self._journal.maxlen)

    async def post_json(self, url: str, body: Any, task_uuid: str, namespace: str = "") -> bool:
        data = json.dumps(body).encode()
        return await self._send("webhook", "POST", url, data, "application/json", task_uuid, namespace)

    async def put_file(self, url: str, data: bytes, content_type: str, task_uuid: str, namespace: str = "") -> bool:
        return await self._send("upload", "PUT", url, data, content_type, task_uuid, namespace)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _send(
        self, kind: str, method: str, url: str, data: bytes, content_type: str, task_uuid: str, namespace: str
    ) -> bool:
        """True once the receiver answered 2xx; False when every try failed."""
        delivered, attempts = await self._attempts(kind, method, url, data, content_type, task_uuid, namespace)
        if self.coverage is not None:
            self.coverage.delivery(namespace, kind, delivered=delivered, attempts=attempts)
        return delivered

    async def _attempts(
        self, kind: str, method: str, url: str, data: bytes, content_type: str, task_uuid: str, namespace: str
    ) -> tuple[bool, int]:
        """Whether the receiver answered 2xx in the end, and after how many tries."""
        refusal = self.hosts.refusal(url)
        if refusal is not None:
            self._journal.append(DeliveryAttempt(kind, url, task_uuid, 1, None, refusal, time.time(), namespace))
            return False, 1
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout), headers=OUTBOUND_HEADERS
            )
        delay = self.policy.first_delay
        for attempt in range(1, self.policy.attempts + 1):
            status, error = None, None
            try:
                async with self._session.request(
                    method, url, data=data, headers={"Content-Type": content_type}, allow_redirects=False
                ) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as failure:
                error = str(failure) or type(failure).__name__
            self._journal.append(DeliveryAttempt(kind, url, task_uuid, attempt, status, error, time.time(), namespace))
            if status is not None and 200 <= status < 300:
                return True, attempt
            if attempt < self.policy.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return False, self.policy.attempts


class DeliveryScheduler:
    """Owns what was scheduled for delivery by this process, and the deliveries in flight."""

    def __init__(
        self,
        store: TaskStore,
        deliverer: Deliverer,
        clock: Callable[[], float],
        *,
        bare_webhooks: bool = False,
        errors_with_task_type: bool = False,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.bare_webhooks = bare_webhooks  # post a result item as it is, not wrapped in {"data": [...]}
        self.errors_with_task_type = errors_with_task_type  # --compat error-task-type, as polls answer
        self._scheduled: set[str] = set()  # delivery keys (see `delivery_key`)
        self._in_flight: dict[asyncio.Task[None], str] = {}  # each delivery job, and its task's namespace

    def announce(self, task: Task) -> None:
        """Schedule delivery of what is newly due: each ready result at its ready time, or the failure now."""
        request = task.request
        if not ("webhookURL" in request or "uploadEndpoint" in request):
            return
        if task.error_json is not None:
            due: list[tuple[float, Result | None]] = [(self.clock(), None)]
        else:
            due = [(r.ready_at, r) for r in task.results if r.ready_at != PENDING]
        due = [(at, result) for at, result in due if self._is_new(delivery_key(task, result))]
        if due:
            self._scheduled.update(delivery_key(task, result) for _, result in due)
            job = asyncio.get_running_loop().create_task(self._deliver(task, due))
            self._in_flight[job] = task.namespace
            job.add_done_callback(lambda done: self._in_flight.pop(done, None))

    async def idle(self) -> None:
        """Until every scheduled delivery has been sent (or has given up)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    def reset(self, namespace: str | None = None) -> None:
        """Stop the deliveries and forget the journal of one namespace, or (None) all of them and everything
        scheduled. (What a namespace scheduled names results that are gone with its tasks.)"""
        for job, job_namespace in list(self._in_flight.items()):
            if namespace is None or job_namespace == namespace:
                job.cancel()
        if namespace is None:
            self._scheduled.clear()
        self.deliverer.clear(namespace)

    async def close(self) -> None:
        for job in self._in_flight:
            job.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.deliverer.close()

    def _is_new(self, key: str) -> bool:
        # Not yet scheduled by this process, nor delivered by an earlier one (a persistent store remembers).
        return key not in self._scheduled and not self.store.was_delivered(key)

    async def _deliver(self, task: Task, due: list[tuple[float, Result | None]]) -> None:
        plan = delivery_plan(task.faults)
        if plan.last_first:
            due = sorted(due, key=lambda pair: pair[0])[::-1]  # last-first, ties included
            await asyncio.sleep(max(0.0, max(at for at, _ in due) - self.clock()))
        request = task.request
        spec = CONTAINERS[task.output_format]
        for at, result in due:
            await asyncio.sleep(max(0.0, at - self.clock()) + plan.delay)
            if result is None:
                errors = [json.loads(task.error_json or "{}")]
                payload = envelope(None, errors if self.errors_with_task_type else without_task_types(errors))
            elif self.bare_webhooks:
                payload = task.result_item(result, result.ready_at, spec.extension)
            else:
                payload = envelope([task.result_item(result, result.ready_at, spec.extension)], [])
            if "webhookURL" in request:
                for _ in range(plan.copies):
                    await self.deliverer.post_json(request["webhookURL"], payload, task.task_uuid, task.namespace)
            to_upload = "uploadEndpoint" in request and result
            data = await asyncio.to_thread(self.store.get_file, task.task_uuid) if to_upload else None  # see get_video
            if data is not None:
                await self.deliverer.put_file(
                    request["uploadEndpoint"], data, spec.content_type, task.task_uuid, task.namespace
                )
            self.store.mark_delivered(delivery_key(task, result))


def delivery_key(task: Task, result: Result | None) -> str:
    """What a delivery is remembered by: the result's videoUUID, or the task's failure."""
    return f"{task.task_uuid}:failed" if result is None else result.video_uuid
