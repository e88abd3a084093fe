"""A small client for the target under test that checks every answer against the response schemas."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from mock_server.schema_registry import validator


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> list[dict[str, Any]]:
        return self.body.get("data", [])

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors", [])


class ApiClient:
    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str | None) -> None:
        self.session = session
        self.url = url
        self.api_key = api_key

    async def post(self, tasks: Any, *, api_key: str | None = None) -> Answer:
        return await self.post_raw(json.dumps(tasks), api_key=api_key)

    async def post_raw(self, body: bytes | str, *, api_key: str | None = None) -> Answer:
        """Send a body as it is; `api_key=""` sends no Authorization header."""
        key = self.api_key if api_key is None else api_key
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        async with self.session.post(self.url, data=body, headers=headers) as response:
            answer = Answer(response.status, await response.json(content_type=None))
        validator("response-body.json").validate(answer.body)
        return answer

    async def submit(self, task: dict[str, Any]) -> Answer:
        answer = await self.post([task])
        for item in answer.data:
            validator("acknowledgment.json").validate(item)
        return answer

    async def poll(self, task_uuid: str) -> Answer:
        answer = await self.post([{"taskType": "getResponse", "taskUUID": task_uuid}])
        for item in answer.data:
            validator("result-item.json").validate(item)
        return answer

    async def wait_for_results(self, task_uuid: str, count: int, budget: float = 30.0) -> list[dict[str, Any]]:
        """Poll until `count` results succeeded; the items, in the order the target lists them."""
        deadline = time.monotonic() + budget
        delay = 0.05
        while True:
            answer = await self.poll(task_uuid)
            done = [item for item in answer.data if item.get("status") == "success"]
            if len(done) >= count:
                return done
            if answer.errors or time.monotonic() > deadline:
                raise AssertionError(f"task {task_uuid} not done within {budget}s: {answer.body}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
