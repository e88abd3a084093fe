"""What the `lipsync_mock` fixture gives a test: the mock's URLs, the control operations, sample media, and
assertions on what the mock received.

The control operations go through the control API (`MockControl`), the same calls a test outside Python
would make; the assertions read the request journal it serves.
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from mock_server.config import Settings
from mock_server.dispatcher import TaskDispatcher
from mock_server.http.control import PREFIX
from mock_server.http.dashboard import sample_media_names
from mock_server.testing.background import BackgroundServer
from mock_server.testing.control_client import MockControl


class LipsyncMock:
    """A running mock, for one test. `url` is the task endpoint a client is pointed at."""

    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        self.control = MockControl(server.base_url, token=server.settings.control_token)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def settings(self) -> Settings:
        return self.server.settings

    @property
    def dispatcher(self) -> TaskDispatcher:
        return self.server.dispatcher

    def media_url(self, name: str) -> str:
        """A URL on the mock serving a sample file shipped in the package: "speaker.mp4" (1 s of video),
        "voice.wav" (1 s of speech), "voice-2.5s.wav" or "voice-0.5s.wav" (longer and shorter than the video).
        The mock fetches it like any other input URL."""
        if name not in sample_media_names():
            raise ValueError(f"no sample media {name!r}; there are: {', '.join(sample_media_names())}")
        return f"{self.base_url}{PREFIX}/media/{name}"

    # The control API's operations.

    def reset(self) -> None:
        """Forget every task, upload, journal entry, lifecycle choice and fault rule (POST /__mock/reset)."""
        self.control.reset()

    def restore(self, timeout: float = 30.0) -> None:
        """Back to the state of a fresh server with these settings: once the work in flight is done (so none of
        it lands after), reset, and the processing rate and seed from the settings again."""
        with contextlib.suppress(TimeoutError):  # a delivery still retrying: reset anyway
            self.wait_idle(timeout)
        self.reset()
        self.set_processing_rate(self.settings.processing_rate)
        # A seed a test set must not carry over: the settings' seed again, or a fresh random one.
        self.control.seed(self.settings.seed if self.settings.seed is not None else random.randrange(2**32))

    def fault(
        self, fault: str, *, task_uuid: str | None = None, task_type: str | None = None, times: int | None = None
    ) -> dict[str, Any]:
        """Inject `fault` ("status=503", "rate_limit; retry_after=1", "fail_after_polls=2; code=timeoutProvider",
        ...) into requests holding a matching task, `times` times or always."""
        return self.control.add_fault(fault, task_uuid=task_uuid, task_type=task_type, times=times)

    def faults(self) -> list[dict[str, Any]]:
        return self.control.faults()

    def clear_faults(self) -> None:
        self.control.clear_faults()

    def set_lifecycle(self, mode: str, *, seconds: float = 0, polls: int = 1, task_uuid: str | None = None) -> None:
        """When results are ready: "rate", "immediate", "after" (seconds), "polls" (count) or "manual"."""
        self.control.set_lifecycle(mode, seconds=seconds, polls=polls, task_uuid=task_uuid)

    def complete(self, task_uuid: str) -> None:
        """Make a task's results ready now."""
        self.control.complete(task_uuid)

    def set_balance(self, amount: float | None, api_key: str | None = None) -> None:
        """The USD an account holds (None: unlimited): the account of `api_key`, or every account (PUT
        /__mock/balance). A video task is refused below $5; each is charged its cost when it renders."""
        self.control.set_balance(amount, api_key)

    def balance(self, api_key: str | None = None) -> float | None:
        """What the account of `api_key` — or the one account used — has left (GET /__mock/balance)."""
        return self.control.balance(api_key)

    def set_processing_rate(self, rate: float) -> None:
        self.control.set_processing_rate(rate)

    def coverage(self) -> dict[str, Any]:
        """What the client's traffic met of the contract since the last reset, and what it never did
        (GET /__mock/coverage): `percent`, and `sections` of `entries` (`name`, `met`). See docs/coverage.md."""
        return self.control.coverage()

    def deliveries(self, task_uuid: str | None = None) -> list[dict[str, Any]]:
        """Webhook and upload attempts (`kind`, `url`, `attempt`, `status`, `error`, `at`), oldest first."""
        return self.control.deliveries(task_uuid)

    def requests(self, task_uuid: str | None = None, refused: bool | None = None) -> list[dict[str, Any]]:
        """Requests received, oldest first (`request`, `status`, `response`, `outcome`, `receivedAt`); with
        `refused`, only those the mock refused (True) or only the others (False)."""
        entries = self.control.requests(task_uuid)
        if refused is None:
            return entries
        return [entry for entry in entries if (entry["outcome"] == "refused") == refused]

    def received(self, task_uuid: str | None = None) -> list[Any]:
        """Every task received so far, in order, or those naming `task_uuid`."""
        return self.server.received(task_uuid)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every render has finished and every webhook and upload has been sent."""
        self.server.wait_idle(timeout)

    # Assertions.

    def assert_submitted_once(self, **parameters: Any) -> dict[str, Any]:
        """Exactly one videoInference task (or `taskType=`) was submitted with these parameters — a subset of
        its fields; nested objects match on a subset too. Requests answered by an injected fault never reached
        the mock's tasks, so a client's retry after one counts once. Returns the task."""
        wanted = {"taskType": "videoInference", **parameters}
        submitted = [
            task
            for entry in self.requests()
            if entry["outcome"] != "fault" and isinstance(entry["request"], list)
            for task in entry["request"]
            if isinstance(task, dict) and task.get("taskType") == wanted["taskType"]
        ]
        matching = [task for task in submitted if _contains(task, wanted)]
        if len(matching) != 1:
            seen = "\n".join(f"  {_shown({key: task.get(key) for key in wanted})}" for task in submitted) or "  none"
            raise AssertionError(
                f"expected one {wanted['taskType']} task with {_shown(parameters)}, found {len(matching)}; "
                f"the {wanted['taskType']} tasks submitted, with those fields:\n{seen}"
            )
        return matching[0]

    def assert_nothing_refused(self) -> None:
        """No request was refused (a bad key, an invalid task, a malformed body ...). Injected faults and polls
        of failed tasks are not refusals."""
        refused = self.requests(refused=True)
        if refused:
            lines = [
                f"  HTTP {entry['status']}: "
                + "; ".join(
                    f"{error.get('code')} {error.get('parameter') or ''}: {error.get('message')}"
                    for error in entry["response"].get("errors", [])
                )
                for entry in refused
            ]
            raise AssertionError(f"the mock refused {len(refused)} request(s):\n" + "\n".join(lines))


def _contains(actual: Any, expected: Any) -> bool:
    """`expected` is `actual`, or — for objects — a subset of it, recursively; lists match item by item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return actual == expected and isinstance(actual, bool) == isinstance(expected, bool)  # True is not 1


def _shown(value: Any, limit: int = 300) -> str:
    """For a failure message: JSON, long strings (inline media) shortened."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
