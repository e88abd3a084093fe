"""A small synchronous client for the target under test; it checks every answer against the response schemas
and keeps what it sent, so a failing case can be replayed. Every exchange passes through `send` (and result
files through `download`): with a `CaseRecording` attached, each one is recorded there."""

from __future__ import annotations

import http.client
import json
import shlex
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from mock_server.recording import CaseRecording
from mock_server.schema_registry import validator

# Errors that mean a kept-alive connection went stale before the request was read: safe to send again.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class ApiClient:
    url: str  # the task endpoint, e.g. https://api.runware.ai/v1
    api_key: str | None
    timeout: float = 60.0
    sent: list[bytes] = field(default_factory=list)
    recording: CaseRecording | None = None  # where every exchange is written down, for `--record`

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._connection = connection(parts.netloc, timeout=self.timeout)
        self._path = parts.path or "/"

    def close(self) -> None:
        self._connection.close()

    def post(self, tasks: Any, *, api_key: str | None = None) -> Answer:
        return self.post_raw(json.dumps(tasks).encode(), api_key=api_key)

    def post_raw(self, body: bytes, *, api_key: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        """Send a body as it is; `api_key=""` sends no bearer key; `headers` are added last."""
        key = self.api_key if api_key is None else api_key
        sent_headers = {"Content-Type": "application/json"}
        if key:
            sent_headers["Authorization"] = f"Bearer {key}"
        sent_headers.update(headers or {})
        self.sent.append(body)
        raw = self.send(body, sent_headers)
        text = raw.body.decode(errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            raise AssertionError(f"HTTP {raw.status}, not a JSON body: {text[:300]!r}") from None
        validator("response-body.json").validate(parsed)
        return Answer(raw.status, parsed)

    def send(self, body: bytes, headers: dict[str, str]) -> RawAnswer:
        """POST `body` with exactly `headers`, and record the exchange; no checks."""
        try:
            raw = self._exchange(body, headers)
        except STALE_CONNECTION:
            self._connection.close()
            raw = self._exchange(body, headers)
        if self.recording is not None:
            self.recording.add_exchange(body, headers, raw.status, raw.headers, raw.body)
        return raw

    def balance(self) -> Decimal | None:
        """The USD the key's account holds (accountManagement getDetails, free); None when the target does not
        say."""
        answer = self.post(
            [{"taskType": "accountManagement", "taskUUID": str(uuid.uuid4()), "operation": "getDetails"}]
        )
        amounts = [item.get("balance", {}).get("amount") for item in answer.data]
        valid = answer.status == 200 and len(amounts) == 1 and isinstance(amounts[0], int | float)
        return Decimal(repr(amounts[0])) if valid else None

    def submit(self, task: dict[str, Any]) -> Answer:
        answer = self.post([task])
        for item in answer.data:
            validator("acknowledgment.json").validate(item)
        return answer

    def poll(self, task_uuid: str) -> Answer:
        answer = self.post([{"taskType": "getResponse", "taskUUID": task_uuid}])
        for item in answer.data:
            validator("result-item.json").validate(item)
        return answer

    def wait_until_settled(self, task_uuid: str, count: int = 1, budget: float = 30.0) -> Answer:
        """Poll, backing off, until `count` results succeeded or the task failed; that last answer."""
        deadline = time.monotonic() + budget
        delay = 0.05
        while True:
            answer = self.poll(task_uuid)
            done = [item for item in answer.data if item.get("status") == "success"]
            if answer.errors or len(done) >= count:
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_uuid} not settled within {budget} s: {answer.body}")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def wait_for_results(self, task_uuid: str, count: int, budget: float = 30.0) -> list[dict[str, Any]]:
        """The success items of a task once `count` results are done, in the order the target lists them."""
        answer = self.wait_until_settled(task_uuid, count, budget)
        if answer.errors:
            raise AssertionError(f"task {task_uuid} failed: {answer.errors}")
        return [item for item in answer.data if item.get("status") == "success"]

    def download(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, bytes) of a result file, wherever it is hosted."""
        with urllib.request.urlopen(url, timeout=self.timeout) as response:
            status, content_type, data = response.status, response.headers.get_content_type(), response.read()
        if self.recording is not None:
            self.recording.add_download(url, status, content_type, data)
        return status, content_type, data

    def curl(self, body: bytes) -> str:
        """A shell line that sends `body` again (the key is read from $RUNWARE_API_KEY)."""
        return (
            f"curl -sS {shlex.quote(self.url)} -H 'Content-Type: application/json' "
            f'-H "Authorization: Bearer $RUNWARE_API_KEY" --data-raw {shlex.quote(body.decode(errors="replace"))}'
        )

    def _exchange(self, body: bytes, headers: dict[str, str]) -> RawAnswer:
        self._connection.request("POST", self._path, body=body, headers=headers)
        response = self._connection.getresponse()
        return RawAnswer(response.status, dict(response.getheaders()), response.read())
