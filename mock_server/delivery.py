"""Delivery of results to the client's own endpoints: webhooks (POST) and uploads (PUT), retried, journaled."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from mock_server.outbound import HostPolicy


@dataclass(frozen=True)
class DeliveryAttempt:
    kind: str  # "webhook" or "upload"
    url: str
    task_uuid: str
    attempt: int  # 1 for the first try
    status: int | None  # the HTTP status answered, None when no answer came
    error: str | None  # why no answer came
    at: float  # seconds since the epoch

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
    def __init__(
        self, policy: RetryPolicy | None = None, hosts: HostPolicy | None = None, capacity: int = 10_000
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.hosts = hosts or HostPolicy()
        self._journal: deque[DeliveryAttempt] = deque(maxlen=capacity)
        self._session: aiohttp.ClientSession | None = None

    def journal(self, task_uuid: str | None = None) -> list[DeliveryAttempt]:
        return [a for a in self._journal if task_uuid is None or a.task_uuid == task_uuid]

    def clear(self) -> None:
        self._journal.clear()

    async def post_json(self, url: str, body: dict[str, Any], task_uuid: str) -> bool:
        data = json.dumps(body).encode()
        return await self._send("webhook", "POST", url, data, "application/json", task_uuid)

    async def put_file(self, url: str, data: bytes, content_type: str, task_uuid: str) -> bool:
        return await self._send("upload", "PUT", url, data, content_type, task_uuid)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _send(self, kind: str, method: str, url: str, data: bytes, content_type: str, task_uuid: str) -> bool:
        """True once the receiver answered 2xx; False when every try failed."""
        if not self.hosts.allows(url):
            self._journal.append(DeliveryAttempt(kind, url, task_uuid, 1, None, self.hosts.refusal(url), time.time()))
            return False
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.policy.timeout))
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
            self._journal.append(DeliveryAttempt(kind, url, task_uuid, attempt, status, error, time.time()))
            if status is not None and 200 <= status < 300:
                return True
            if attempt < self.policy.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return False
