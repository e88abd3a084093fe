"""Faults a client must survive, injected on purpose: per request, by rule, or at random (`--chaos`).

A fault is written `kind` or `kind=value`, with `; name=value` parameters:

    latency=250                     answer 250 ms late
    status=503                      answer 500, 502 or 503 with the errors envelope, without running the tasks
    rate_limit; retry_after=2       answer 429 with Retry-After: 2
    hang=30                         hold the request 30 s, then drop the connection without an answer
    drop                            drop the connection without an answer
    fail_after_polls=2; code=timeoutProvider   the task fails on its 2nd poll with that error code
    ws_close                        close the WebSocket right after acknowledging the task
    webhook_duplicate               send every webhook of the task twice
    webhook_delay=500               send each webhook 500 ms late
    webhook_reorder                 send the task's result webhooks last-first, once all are done
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

REQUEST_KINDS = ("latency", "status", "rate_limit", "hang", "drop")
TASK_KINDS = ("fail_after_polls", "ws_close", "webhook_duplicate", "webhook_delay", "webhook_reorder")
FAILURE_CODES = ("timeoutProvider", "processingFailed", "downloadFailed", "providerTimeout", "contentPolicyViolation")
SERVER_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class Fault:
    kind: str
    value: float | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_request_fault(self) -> bool:
        return self.kind in REQUEST_KINDS

    def describe(self) -> str:
        text = self.kind if self.value is None else f"{self.kind}={self.value:g}"
        return "; ".join([text, *(f"{k}={v}" for k, v in self.params.items())])


def parse_fault(text: str) -> Fault:
    """A fault from its written form; ValueError saying what is wrong otherwise."""
    head, *rest = (part.strip() for part in text.split(";"))
    kind, _, value = head.partition("=")
    kind = kind.strip()
    if kind not in REQUEST_KINDS + TASK_KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(REQUEST_KINDS + TASK_KINDS)}")
    params = {}
    for part in filter(None, rest):
        name, _, param = part.partition("=")
        params[name.strip()] = param.strip()
    try:
        number = float(value) if value.strip() else None
    except ValueError:
        raise ValueError(f"fault {kind!r} takes a number, not {value!r}") from None
    needs_number = {"latency", "status", "hang", "fail_after_polls", "webhook_delay"}
    if kind in needs_number and (number is None or number < 0):
        raise ValueError(f"fault {kind!r} needs a non-negative number: {kind}=N")
    if kind == "status" and number not in SERVER_STATUSES:
        raise ValueError(f"status takes one of {', '.join(map(str, SERVER_STATUSES))}")
    if kind == "fail_after_polls" and params.get("code", "processingFailed") not in FAILURE_CODES:
        raise ValueError(f"fail_after_polls takes code= one of {', '.join(FAILURE_CODES)}")
    return Fault(kind, number, params)


@dataclass
class FaultRule:
    fault: Fault
    task_uuid: str | None = None
    task_type: str | None = None
    times: int | None = None  # how many requests it applies to; None: every one

    def matches(self, tasks: list[Any]) -> bool:
        return any(
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
        }


class FaultPlan:
    """The rules set through the control API, and the random faults of `--chaos`."""

    def __init__(self, chaos: float = 0.0, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.chaos = chaos
        self.rng = random.Random(seed)

    def seed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def for_tasks(self, tasks: list[Any], kinds: tuple[str, ...]) -> list[Fault]:
        """Faults of the given kinds that apply to a request holding `tasks`; used-up rules are dropped."""
        found = []
        for rule in list(self.rules):
            if rule.fault.kind in kinds and rule.matches(tasks):
                found.append(rule.fault)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
        return found

    def random_request_fault(self) -> Fault | None:
        if self.chaos <= 0 or self.rng.random() >= self.chaos:
            return None
        choice = self.rng.choice(["latency", "status", "rate_limit", "drop"])
        if choice == "latency":
            return Fault("latency", float(self.rng.randint(50, 500)))
        if choice == "status":
            return Fault("status", float(self.rng.choice(SERVER_STATUSES)))
        if choice == "rate_limit":
            return Fault("rate_limit", None, {"retry_after": "1"})
        return Fault("drop")
