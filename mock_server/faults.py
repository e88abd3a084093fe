"""Faults a client must survive, injected on purpose: per request, by rule, or at random (`--chaos`).

A fault is written `kind` or `kind=value`, with `; name=value` parameters:

    latency=250                     answer 250 ms late
    latency=200; p95=800            answer late by a lognormal time: median 200 ms, 95 in 100 under 800 ms
    status=503                      answer 500, 502 or 503 with the errors envelope, without running the tasks
    rate_limit; retry_after=2       answer 429 with Retry-After: 2
    hang=30                         hold the request 30 s, then drop the connection without an answer
    drop                            drop the connection without an answer
    fail_after_polls=2; code=timeoutProvider   the task fails on its 2nd poll with that error code
    ws_close                        close the WebSocket right after acknowledging the task
    webhook_duplicate               send every webhook of the task twice
    webhook_delay=500               send each webhook 500 ms late
    webhook_reorder                 send the task's result webhooks last-first, once all are done
    throttle=800                    send a result or media file at 800 kbit/s
    cut_after=4096                  send the first 4096 bytes of a file, then close the connection
    download_status=502; attempts=1 answer the first attempt at each file 502 (500, 502 or 503)

Each kind is one class below, registered in `FAULT_KINDS`, holding its typed parameters and the hooks it
acts through: `on_request` (before a REST request's tasks run), `on_poll` (when its task is polled),
`on_delivery` (how its task's webhooks go out), `on_download` (how a result or media file goes out),
`closes_websocket` (after the acknowledgment). The server
calls the hooks; it never asks which kind a fault is. Adding a kind touches this file only.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from mock_server import exceptions
from mock_server.exceptions import RunwareError
from mock_server.timing import Distribution

# The longest wait a fault may ask for, in seconds: long enough to trip any client timeout, short enough
# that a typo cannot hold a connection for a day.
MAX_WAIT_SECONDS = 3600.0


@dataclass(frozen=True)
class FaultAnswer:
    """What a request fault answers instead of the tasks' own answer."""

    error: RunwareError
    headers: dict[str, str] = field(default_factory=dict)


class DropConnection(Exception):
    """The connection is to be closed without an answer."""


@dataclass(frozen=True)
class DeliveryPlan:
    """How a task's webhooks go out: each `copies` times, `delay` seconds after it is due, and — with
    `last_first` — in reverse order once all are due."""

    copies: int = 1
    delay: float = 0.0
    last_first: bool = False


@dataclass(frozen=True)
class DownloadPlan:
    """How a file goes out: the first `failed_attempts` attempts at it answer `failed_status` instead; the body
    at `bytes_per_second` (None: as fast as the client reads), and cut off after `cut_after` bytes (None: whole)."""

    failed_status: int = 0
    failed_attempts: int = 0
    bytes_per_second: float | None = None
    cut_after: int | None = None


@dataclass(frozen=True)
class Fault:
    """One fault. A kind overrides the hooks it acts through; the rest do nothing."""

    kind: ClassVar[str]
    is_request_fault: ClassVar[bool] = False
    is_download_fault: ClassVar[bool] = False
    closes_websocket: ClassVar[bool] = False

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        """The fault from its written value and parameters; ValueError saying what is wrong."""
        if value is not None or params:
            raise ValueError(f"fault {cls.kind!r} takes no value or parameters")
        return cls()

    def describe(self) -> str:
        """The written form, which `parse_fault` reads back."""
        return self.kind

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        """Before a request's tasks run: an answer instead of theirs, None to go on; may raise DropConnection.
        `rng` is where a fault that draws takes its random numbers (the fault plan's)."""
        return None

    def on_poll(self, polls: int) -> RunwareError | None:
        """When the task is polled for the `polls`-th time: the error it fails with, or None."""
        return None

    def on_delivery(self, plan: DeliveryPlan) -> DeliveryPlan:
        return plan

    def on_download(self, plan: DownloadPlan) -> DownloadPlan:
        return plan


FAULT_KINDS: dict[str, type[Fault]] = {}


def _kind(cls: type[Fault]) -> type[Fault]:
    FAULT_KINDS[cls.kind] = cls
    return cls


def _number(kind: str, value: float | None, low: float, high: float) -> float:
    if value is None or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"fault {kind!r} needs a number from {low:g} to {high:g}: {kind}=N")
    return value


@_kind
@dataclass(frozen=True)
class Latency(Fault):
    """Late by `milliseconds`; with `p95`, by a lognormal time of that median and 95th percentile, drawn from the
    fault plan's random numbers (reproducible from --seed)."""

    milliseconds: float
    p95: float | None = None
    kind: ClassVar[str] = "latency"
    is_request_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        milliseconds = _number(cls.kind, value, 0, MAX_WAIT_SECONDS * 1000)
        if set(params) - {"p95"}:
            raise ValueError("latency=MS takes only '; p95=MS'")
        if "p95" not in params:
            return cls(milliseconds)
        try:
            p95 = float(params["p95"])
        except ValueError:
            raise ValueError("p95 takes a number of milliseconds") from None
        if milliseconds == 0 or not math.isfinite(p95) or not milliseconds <= p95 <= MAX_WAIT_SECONDS * 1000:
            raise ValueError(
                f"latency=MEDIAN; p95=MS takes a median above 0 and a p95 from it to {MAX_WAIT_SECONDS * 1000:g}"
            )
        return cls(milliseconds, p95)

    def describe(self) -> str:
        return f"latency={self.milliseconds:g}" + (f"; p95={self.p95:g}" if self.p95 is not None else "")

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        seconds = self.milliseconds / 1000
        if self.p95 is not None:
            drawn = Distribution(seconds, self.p95 / 1000).draw(rng or random.Random())
            seconds = min(MAX_WAIT_SECONDS, drawn)
        await asyncio.sleep(seconds)
        return None


SERVER_STATUSES = (500, 502, 503)


@_kind
@dataclass(frozen=True)
class ServerStatus(Fault):
    status: int
    kind: ClassVar[str] = "status"
    is_request_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        if value not in SERVER_STATUSES:
            raise ValueError(f"status takes one of {', '.join(map(str, SERVER_STATUSES))}")
        return cls(int(value))

    def describe(self) -> str:
        return f"status={self.status}"

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        message = f"Injected fault: the server answered {self.status}."
        return FaultAnswer(exceptions.SERVER_ERROR(message, status=self.status))


@_kind
@dataclass(frozen=True)
class RateLimit(Fault):
    retry_after: float = 1.0
    kind: ClassVar[str] = "rate_limit"
    is_request_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        unknown = set(params) - {"retry_after"}
        if value is not None or unknown:
            raise ValueError("rate_limit takes only '; retry_after=S'")
        try:
            seconds = float(params.get("retry_after", "1"))
        except ValueError:
            raise ValueError("retry_after takes a number of seconds") from None
        return cls(_number("retry_after", seconds, 0, MAX_WAIT_SECONDS))

    def describe(self) -> str:
        return f"rate_limit; retry_after={self.retry_after:g}"

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        retry_after = f"{self.retry_after:g}"
        error = exceptions.RATE_LIMIT_EXCEEDED(f"Injected fault: too many requests; retry after {retry_after} s.")
        return FaultAnswer(error, {"Retry-After": retry_after})


@_kind
@dataclass(frozen=True)
class Hang(Fault):
    seconds: float
    kind: ClassVar[str] = "hang"
    is_request_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        return cls(_number(cls.kind, value, 0, MAX_WAIT_SECONDS))

    def describe(self) -> str:
        return f"hang={self.seconds:g}"

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        await asyncio.sleep(self.seconds)
        raise DropConnection


@_kind
@dataclass(frozen=True)
class Drop(Fault):
    kind: ClassVar[str] = "drop"
    is_request_fault: ClassVar[bool] = True

    async def on_request(self, rng: random.Random | None = None) -> FaultAnswer | None:
        raise DropConnection


FAILURE_CODES = tuple(
    code.code
    for code in (
        exceptions.TIMEOUT_PROVIDER,
        exceptions.PROCESSING_FAILED,
        exceptions.DOWNLOAD_FAILED,
        exceptions.PROVIDER_TIMEOUT,
        exceptions.CONTENT_POLICY_VIOLATION,
    )
)


@_kind
@dataclass(frozen=True)
class FailAfterPolls(Fault):
    polls: int
    code: str = "processingFailed"
    kind: ClassVar[str] = "fail_after_polls"

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        polls = _number(cls.kind, value, 0, 1_000_000)
        code = params.get("code", "processingFailed")
        if set(params) - {"code"} or code not in FAILURE_CODES or polls != int(polls):
            raise ValueError(f"fail_after_polls=N takes a whole N and code= one of {', '.join(FAILURE_CODES)}")
        return cls(int(polls), code)

    def describe(self) -> str:
        return f"fail_after_polls={self.polls}; code={self.code}"

    def on_poll(self, polls: int) -> RunwareError | None:
        if polls < self.polls:
            return None
        message = f"The task failed ({self.code}), as the injected fault '{self.describe()}' asked."
        return exceptions.CATALOGUE[self.code](message)


@_kind
@dataclass(frozen=True)
class WebSocketClose(Fault):
    kind: ClassVar[str] = "ws_close"
    closes_websocket: ClassVar[bool] = True


@_kind
@dataclass(frozen=True)
class WebhookDuplicate(Fault):
    kind: ClassVar[str] = "webhook_duplicate"

    def on_delivery(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, copies=plan.copies * 2)


@_kind
@dataclass(frozen=True)
class WebhookDelay(Fault):
    milliseconds: float
    kind: ClassVar[str] = "webhook_delay"

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        return cls(_number(cls.kind, value, 0, MAX_WAIT_SECONDS * 1000))

    def describe(self) -> str:
        return f"webhook_delay={self.milliseconds:g}"

    def on_delivery(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, delay=plan.delay + self.milliseconds / 1000)


@_kind
@dataclass(frozen=True)
class WebhookReorder(Fault):
    kind: ClassVar[str] = "webhook_reorder"

    def on_delivery(self, plan: DeliveryPlan) -> DeliveryPlan:
        return replace(plan, last_first=True)


# Bounds of the download faults: from a slow mobile link to faster than loopback; any file the mock may hold. A
# throttled body still ends within MAX_WAIT_SECONDS (cut off there), as every other wait does.
MIN_KILOBITS_PER_SECOND = 1.0
MAX_KILOBITS_PER_SECOND = 10_000_000.0
MAX_FILE_BYTES = 1 << 40
MAX_FAILED_ATTEMPTS = 1000


@_kind
@dataclass(frozen=True)
class Throttle(Fault):
    kilobits_per_second: float
    kind: ClassVar[str] = "throttle"
    is_download_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        if params:
            raise ValueError(
                f"throttle=KBIT takes a rate from {MIN_KILOBITS_PER_SECOND:g} to {MAX_KILOBITS_PER_SECOND:g} kbit/s"
            )
        return cls(_number(cls.kind, value, MIN_KILOBITS_PER_SECOND, MAX_KILOBITS_PER_SECOND))

    def describe(self) -> str:
        return f"throttle={self.kilobits_per_second:g}"

    def on_download(self, plan: DownloadPlan) -> DownloadPlan:
        rate = self.kilobits_per_second * 1000 / 8
        slowest = rate if plan.bytes_per_second is None else min(rate, plan.bytes_per_second)
        return replace(plan, bytes_per_second=slowest)


@_kind
@dataclass(frozen=True)
class CutAfter(Fault):
    byte_count: int
    kind: ClassVar[str] = "cut_after"
    is_download_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        count = _number(cls.kind, value, 0, MAX_FILE_BYTES)
        if params or count != int(count):
            raise ValueError("cut_after=N takes a whole number of bytes and no parameters")
        return cls(int(count))

    def describe(self) -> str:
        return f"cut_after={self.byte_count}"

    def on_download(self, plan: DownloadPlan) -> DownloadPlan:
        shortest = self.byte_count if plan.cut_after is None else min(self.byte_count, plan.cut_after)
        return replace(plan, cut_after=shortest)


@_kind
@dataclass(frozen=True)
class DownloadStatus(Fault):
    status: int
    attempts: int = 1
    kind: ClassVar[str] = "download_status"
    is_download_fault: ClassVar[bool] = True

    @classmethod
    def from_written(cls, value: float | None, params: dict[str, str]) -> Fault:
        if value not in SERVER_STATUSES or set(params) - {"attempts"}:
            raise ValueError(
                f"download_status takes one of {', '.join(map(str, SERVER_STATUSES))} and only '; attempts=N'"
            )
        try:
            attempts = float(params.get("attempts", "1"))
        except ValueError:
            raise ValueError("attempts takes a whole number") from None
        if _number("attempts", attempts, 1, MAX_FAILED_ATTEMPTS) != int(attempts):
            raise ValueError(f"attempts takes a whole number from 1 to {MAX_FAILED_ATTEMPTS}")
        return cls(int(value), int(attempts))

    def describe(self) -> str:
        return f"download_status={self.status}; attempts={self.attempts}"

    def on_download(self, plan: DownloadPlan) -> DownloadPlan:
        return replace(plan, failed_status=self.status, failed_attempts=max(plan.failed_attempts, self.attempts))


def parse_fault(text: str) -> Fault:
    """A fault from its written form; ValueError saying what is wrong otherwise."""
    head, *rest = (part.strip() for part in text.split(";"))
    name, _, value = head.partition("=")
    kind = FAULT_KINDS.get(name.strip())
    if kind is None:
        raise ValueError(f"unknown fault {name.strip()!r}; known: {', '.join(FAULT_KINDS)}")
    params = {}
    for part in filter(None, rest):
        key, _, param = part.partition("=")
        params[key.strip()] = param.strip()
    try:
        number = float(value) if value.strip() else None
    except ValueError:
        raise ValueError(f"fault {kind.kind!r} takes a number, not {value!r}") from None
    return kind.from_written(number, params)


def delivery_plan(faults: tuple[Fault, ...]) -> DeliveryPlan:
    plan = DeliveryPlan()
    for fault in faults:
        plan = fault.on_delivery(plan)
    return plan


def download_plan(faults: list[Fault]) -> DownloadPlan:
    plan = DownloadPlan()
    for fault in faults:
        plan = fault.on_download(plan)
    return plan


@dataclass
class FaultRule:
    """Inject `fault` into requests holding a task that matches, `times` times (None: every time)."""

    fault: Fault
    task_uuid: str | None = None
    task_type: str | None = None
    times: int | None = None
    namespace: str = ""  # applies only to requests of this namespace (see namespaces.py)

    def matches(self, tasks: list[Any], namespace: str) -> bool:
        return namespace == self.namespace and any(
            isinstance(task, dict)
            and (self.task_uuid is None or task.get("taskUUID") == self.task_uuid)
            and (self.task_type is None or task.get("taskType") == self.task_type)
            for task in tasks
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault.describe(),
            "taskUUID": self.task_uuid,
            "taskType": self.task_type,
            "times": self.times,
            "namespace": self.namespace,
        }


# What --chaos draws from, each equally often.
CHAOS_FAULTS: tuple[Callable[[random.Random], Fault], ...] = (
    lambda rng: Latency(float(rng.randint(50, 500))),
    lambda rng: ServerStatus(rng.choice(SERVER_STATUSES)),
    lambda rng: RateLimit(1.0),
    lambda rng: Drop(),
)

# What --chaos draws from for a file download, each equally often: a slow link, a cut connection, a failed try.
CHAOS_DOWNLOAD_FAULTS: tuple[Callable[[random.Random], Fault], ...] = (
    lambda rng: Throttle(float(rng.choice((800, 2000, 8000)))),
    lambda rng: CutAfter(rng.randint(0, 64 * 1024)),
    lambda rng: DownloadStatus(rng.choice(SERVER_STATUSES)),
)

# How many files the attempt counts of download_status are kept for: the oldest are forgotten past it.
MAX_COUNTED_FILES = 10_000


class FaultPlan:
    """Owns the fault rules set through the control API and the random faults of `--chaos`."""

    def __init__(self, chaos: float = 0.0, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self.chaos = chaos
        self._rng = random.Random(seed)
        self._attempts: OrderedDict[str, int] = OrderedDict()  # by file: attempts that met download_status

    def seed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    @property
    def rng(self) -> random.Random:
        """The random numbers chaos draws from, and the faults that draw (`Latency` with a p95)."""
        return self._rng

    def rules(self, namespace: str | None = None) -> list[FaultRule]:
        """The rules of one namespace, or (None) all of them."""
        return [rule for rule in self._rules if namespace is None or rule.namespace == namespace]

    def may_fault_requests(self) -> bool:
        """Whether a request could get a fault it did not ask for: a rule is set, or chaos is on."""
        return bool(self._rules) or self.chaos > 0

    def add_rule(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def clear(self, namespace: str | None = None) -> None:
        """Drop the rules of one namespace, or (None) all of them and the attempts counted at files."""
        self._rules = [rule for rule in self._rules if namespace is not None and rule.namespace != namespace]
        if namespace is None:
            self._attempts.clear()

    def request_faults(self, tasks: list[Any], namespace: str = "") -> list[Fault]:
        """Request faults for a request holding `tasks`: those set by rule, then one drawn by chaos."""
        found = self._take(tasks, namespace, request_faults=True)
        if self.chaos > 0 and self._rng.random() < self.chaos:
            found.append(self._rng.choice(CHAOS_FAULTS)(self._rng))
        return found

    def task_faults(self, task: dict[str, Any], namespace: str = "") -> list[Fault]:
        """Faults set by rule that the submitted `task` carries from now on."""
        return self._take([task], namespace, request_faults=False)

    def download_faults(self, task: dict[str, Any], namespace: str = "") -> list[Fault]:
        """Download faults for a file of `task` (a result's task, or `{"taskType": "mediaStorage"}` for an
        upload): those set by rule, then one drawn by chaos."""
        found = self._take([task], namespace, request_faults=False, download_faults=True)
        if self.chaos > 0 and self._rng.random() < self.chaos:
            found.append(self._rng.choice(CHAOS_DOWNLOAD_FAULTS)(self._rng))
        return found

    def count_attempt(self, name: str) -> int:
        """Count an attempt at the file `name` that met a download_status fault; how many it has had."""
        attempts = self._attempts[name] = self._attempts.pop(name, 0) + 1
        while len(self._attempts) > MAX_COUNTED_FILES:
            self._attempts.popitem(last=False)
        return attempts

    def _take(
        self, tasks: list[Any], namespace: str, *, request_faults: bool, download_faults: bool = False
    ) -> list[Fault]:
        """Faults of matching rules, counting each use; a rule used up is dropped."""
        found = []
        for rule in list(self._rules):
            fault = rule.fault
            wanted = fault.is_request_fault == request_faults and fault.is_download_fault == download_faults
            if wanted and rule.matches(tasks, namespace):
                found.append(rule.fault)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
        return found
