"""When each result of a task is ready, once its file is rendered: the lifecycle.

By default results are ready one by one at the processing rate (`rate * output seconds` apart, counted from
the submission), or, with `--processing-time`, each a time drawn from its distribution after the one before
(`timing.py`), reproducibly from `--seed`. The control API can choose another mode for all tasks or one: ready
at once, a number of seconds after the submission, on the Nth poll, or only when told to complete.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from mock_server.timing import Distribution

PENDING = math.inf  # the ready time of a result not ready yet, and not due at a known time


class InvalidValue(ValueError):
    """A value from outside (the control API) that is refused; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class LifecycleMode(StrEnum):
    RATE = "rate"  # one by one, at the processing rate
    IMMEDIATE = "immediate"  # as soon as rendered
    AFTER = "after"  # `seconds` after the submission
    POLLS = "polls"  # on the `polls`-th poll
    MANUAL = "manual"  # when completed through the control API


# Bounds on what a client may ask for: finite, and short of anything a test could mean.
MAX_SECONDS = 86_400.0
MAX_POLLS = 1_000_000


@dataclass(frozen=True)
class Lifecycle:
    mode: LifecycleMode = LifecycleMode.RATE
    seconds: float = 0.0
    polls: int = 1

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Lifecycle:
        """From the control API's body; InvalidValue naming the field that is wrong."""
        try:
            mode = LifecycleMode(body.get("mode", ""))  # "" is no mode: refused as a missing one is
        except ValueError:
            raise InvalidValue("mode", f"mode must be one of {', '.join(LifecycleMode)}") from None
        seconds, polls = body.get("seconds", 0), body.get("polls", 1)
        if not _is_number(seconds) or not 0 <= seconds <= MAX_SECONDS:
            raise InvalidValue("seconds", f"seconds must be a number from 0 to {MAX_SECONDS:g}")
        if not _is_number(polls) or polls != int(polls) or not 1 <= polls <= MAX_POLLS:
            raise InvalidValue("polls", f"polls must be a whole number from 1 to {MAX_POLLS}")
        return cls(mode, float(seconds), int(polls))

    def to_json(self) -> dict[str, Any]:
        return {"mode": str(self.mode), "seconds": self.seconds, "polls": self.polls}


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


MAX_PROCESSING_RATE = 3600.0


def check_processing_rate(rate: Any) -> float:
    """A processing rate from outside; InvalidValue when it is not a finite number from 0 to the bound."""
    if not _is_number(rate) or not 0 <= rate <= MAX_PROCESSING_RATE:
        raise InvalidValue("rate", f"rate must be a number from 0 to {MAX_PROCESSING_RATE:g}")
    return float(rate)


class LifecyclePlan:
    """Owns the lifecycle of every task: the modes chosen, the processing rate, the polls counted so far and
    the completions asked for before a task was rendered."""

    def __init__(
        self, processing_rate: float = 0.5, processing_time: Distribution | None = None, seed: int | None = None
    ) -> None:
        self.processing_rate = check_processing_rate(processing_rate)
        self.processing_time = processing_time  # None: at the processing rate
        self._rng = random.Random(seed)
        self._defaults: dict[str, Lifecycle] = {}  # by namespace
        self._per_task: dict[tuple[str, str], Lifecycle] = {}  # by (namespace, taskUUID)
        self._polls: dict[str, int] = {}
        self._complete_when_rendered: set[str] = set()

    def seed(self, seed: int) -> None:
        """Make the processing times drawn from --processing-time reproducible from here on."""
        self._rng = random.Random(seed)

    def set_lifecycle(self, lifecycle: Lifecycle, task_uuid: str | None = None, namespace: str = "") -> None:
        """For one task, or (None) for every task of the namespace without one of its own."""
        if task_uuid is None:
            self._defaults[namespace] = lifecycle
        else:
            self._per_task[namespace, task_uuid] = lifecycle

    def lifecycle_of(self, task_uuid: str, namespace: str = "") -> Lifecycle:
        return self._per_task.get((namespace, task_uuid)) or self._defaults.get(namespace, Lifecycle())

    def set_processing_rate(self, rate: float) -> None:
        self.processing_rate = check_processing_rate(rate)

    def complete_when_rendered(self, task_uuid: str) -> None:
        self._complete_when_rendered.add(task_uuid)

    def count_poll(self, task_uuid: str) -> int:
        """Record a poll of the task; how many it has had, this one included."""
        polls = self._polls[task_uuid] = self._polls.get(task_uuid, 0) + 1
        return polls

    def completes_on_poll(self, task_uuid: str, namespace: str, polls: int) -> bool:
        life = self.lifecycle_of(task_uuid, namespace)
        return life.mode is LifecycleMode.POLLS and polls >= life.polls

    def take_ready_times(
        self, task_uuid: str, namespace: str, created_at: float, duration: float, count: int, now: float
    ) -> list[float]:
        """When each of a just-rendered task's `count` results is ready; takes up a completion asked for
        before the render finished."""
        life = self.lifecycle_of(task_uuid, namespace)
        if task_uuid in self._complete_when_rendered or life.mode is LifecycleMode.IMMEDIATE:
            self._complete_when_rendered.discard(task_uuid)
            return [now] * count
        if life.mode is LifecycleMode.AFTER:
            return [max(now, created_at + life.seconds)] * count
        if life.mode in (LifecycleMode.POLLS, LifecycleMode.MANUAL):
            return [PENDING] * count
        if self.processing_time is None:
            return [max(now, created_at + self.processing_rate * duration * n) for n in range(1, count + 1)]
        ready, times = created_at, []
        for _ in range(count):
            ready += self.processing_time.draw(self._rng)
            times.append(max(now, ready))
        return times

    def forget(self, task_uuids: list[str]) -> None:
        """Drop what is kept for tasks that are gone."""
        forgotten = set(task_uuids)
        for task_uuid in forgotten:
            self._polls.pop(task_uuid, None)
            self._complete_when_rendered.discard(task_uuid)
        for key in [key for key in self._per_task if key[1] in forgotten]:
            del self._per_task[key]

    def reset(self, namespace: str | None = None, task_uuids: list[str] | None = None) -> None:
        """Back to the default lifecycle, with nothing counted — for one namespace and its `task_uuids`, or
        (None) for all. The processing rate, one for the whole mock, stays as set."""
        if namespace is None:
            self._defaults.clear()
            self._per_task.clear()
            self._polls.clear()
            self._complete_when_rendered.clear()
        else:
            self._defaults.pop(namespace, None)
            for key in [key for key in self._per_task if key[0] == namespace]:  # tasks submitted or not
                del self._per_task[key]
            self.forget(task_uuids or [])
