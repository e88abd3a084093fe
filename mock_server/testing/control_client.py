"""A small client for the control API (`/__mock/`), for tests that drive the mock.

from mock_server.testing import MockControl
control = MockControl("http://127.0.0.1:8080")
control.reset()
control.add_fault("status=503", task_type="getResponse", times=2)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode


class ControlError(Exception):
    """The control API refused a call; `body` is its errors envelope."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class MockControl:
    def __init__(
        self, base_url: str, timeout: float = 10.0, token: str | None = None, namespace: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token  # for a mock started with --control-token
        self.namespace = namespace  # see and change only this namespace's work (X-Mock-Namespace)

    def reset(self) -> None:
        """Forget every task, upload, journal entry, lifecycle rule and fault rule."""
        self._call("POST", "/reset")

    def seed(self, seed: int) -> None:
        """Make the UUIDs, seeds and random faults that follow reproducible."""
        self._call("POST", "/seed", {"seed": seed})

    def requests(self, task_uuid: str | None = None) -> list[dict[str, Any]]:
        """Requests received (`id`, `request`, `status`, `response`, `receivedAt`), or those naming a task."""
        return self._call("GET", "/requests" + _query(task_uuid))

    def coverage(self) -> dict[str, Any]:
        """What the client's traffic met of the contract: `percent`, and `sections`, each with its `percent` and
        `entries` (`name`, `met`) — see docs/coverage.md."""
        return self._call("GET", "/coverage")

    def deliveries(self, task_uuid: str | None = None) -> list[dict[str, Any]]:
        """Webhook and upload attempts (`kind`, `url`, `attempt`, `status`, `error`, `at`)."""
        return self._call("GET", "/deliveries" + _query(task_uuid))

    def set_lifecycle(self, mode: str, *, seconds: float = 0, polls: int = 1, task_uuid: str | None = None) -> None:
        """When results are ready: "rate", "immediate", "after" (seconds), "polls" (count) or "manual"."""
        body: dict[str, Any] = {"mode": mode, "seconds": seconds, "polls": polls}
        if task_uuid is not None:
            body["taskUUID"] = task_uuid
        self._call("PUT", "/lifecycle", body)

    def complete(self, task_uuid: str) -> None:
        """Make a task's results ready now (for the "manual" and "polls" lifecycles)."""
        self._call("POST", f"/tasks/{task_uuid}/complete")

    def set_processing_rate(self, rate: float) -> None:
        self._call("PUT", "/processing-rate", {"rate": rate})

    def add_fault(
        self, fault: str, *, task_uuid: str | None = None, task_type: str | None = None, times: int | None = None
    ) -> dict[str, Any]:
        """Inject `fault` (see mock_server/faults.py) into requests holding a matching task."""
        body = {"fault": fault, "taskUUID": task_uuid, "taskType": task_type, "times": times}
        return self._call("POST", "/faults", {k: v for k, v in body.items() if v is not None})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_balance(self, amount: float | None, api_key: str | None = None) -> None:
        """Set the USD balance (None: unlimited) of the account of `api_key`, or without one of every account
        of the namespace and of those made later."""
        self._call("PUT", "/balance", {"amount": amount}, api_key)

    def balance(self, api_key: str | None = None) -> float | None:
        """What the account of `api_key` has left (None: unlimited); without a key, the namespace's one account,
        or the balance new accounts start with when none was used yet."""
        return self._call("GET", "/balance", api_key=api_key)["balance"]

    def accounts(self) -> dict[str, Any]:
        """`startingBalance` and the `accounts` used so far (`account` digest, `balance`, `spent`)."""
        return self._call("GET", "/accounts")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, api_key: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        if self.token is not None:
            headers["X-Mock-Control-Token"] = self.token
        if self.namespace is not None:
            headers["X-Mock-Namespace"] = self.namespace
        request = urllib.request.Request(f"{self.base_url}/__mock{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise ControlError(error.code, json.load(error)) from None


def _query(task_uuid: str | None) -> str:
    return "" if task_uuid is None else "?" + urlencode({"taskUUID": task_uuid})
