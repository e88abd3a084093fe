"""Durations drawn from a distribution, reproducibly from a seed: how long a result takes (`--processing-time`).

Written as:

    40                              always 40 s
    lognormal:median=40,p95=110     lognormal: half the draws under 40 s, 95 in 100 under 110 s
    from:DIR                        a lognormal fitted to the processing times a recording shows

A recording (docs/recording.md) keeps when each exchange was made (`at`); a task's processing time is read as
the time from the request that submitted it to the first poll that showed it done. That is the time until the
client saw it done, so it is longer than the service's own by up to one poll interval.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.recording import decode_body, load_recordings, moment

# The 95th percentile of the standard normal distribution.
Z95 = 1.6448536269514722
# The longest a drawn duration may be, in seconds: as long as the lifecycle lets a result wait.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class Distribution:
    """A lognormal distribution of seconds given by its median and 95th percentile; fixed when they are equal."""

    median: float
    p95: float

    def draw(self, rng: random.Random) -> float:
        if self.p95 == self.median:
            return self.median
        sigma = math.log(self.p95 / self.median) / Z95
        return min(MAX_SECONDS, self.median * math.exp(sigma * rng.gauss(0.0, 1.0)))

    def describe(self) -> str:
        if self.p95 == self.median:
            return f"{self.median:g}"
        return f"lognormal:median={self.median:g},p95={self.p95:g}"


def parse_distribution(text: str) -> Distribution:
    """A distribution from its written form; ValueError saying what is wrong."""
    text = text.strip()
    if text.startswith("from:"):
        return fit_recording(Path(text.removeprefix("from:")))
    if text.startswith("lognormal:"):
        params = _params(text.removeprefix("lognormal:"))
        if set(params) != {"median", "p95"}:
            raise ValueError("lognormal takes median=S,p95=S, e.g. lognormal:median=40,p95=110")
        median, p95 = params["median"], params["p95"]
        if not 0 < median <= MAX_SECONDS:
            raise ValueError(f"median must be above 0 and at most {MAX_SECONDS:g} seconds")
        if not median <= p95 <= MAX_SECONDS:
            raise ValueError(f"p95 must be at least the median and at most {MAX_SECONDS:g} seconds")
        return Distribution(median, p95)
    seconds = _seconds(text, "a fixed time")
    if not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"a fixed time must be from 0 to {MAX_SECONDS:g} seconds")
    return Distribution(seconds, seconds)


def _params(text: str) -> dict[str, float]:
    params = {}
    for part in text.split(","):
        name, equals, value = part.partition("=")
        if not equals or name.strip() in params:
            raise ValueError("lognormal takes median=S,p95=S, e.g. lognormal:median=40,p95=110")
        params[name.strip()] = _seconds(value, name.strip())
    return params


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{name} must be a number of seconds, lognormal:median=S,p95=S or from:DIR, not {text!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds")
    return value


def fit_recording(folder: Path) -> Distribution:
    """The lognormal fitted (by the mean and spread of the logarithms) to the processing times of the tasks
    recorded in `folder`; ValueError when it holds none with times."""
    if not folder.is_dir():
        raise ValueError(f"from:{folder}: not a folder of recordings")
    durations = [d for _, document in load_recordings(folder) for d in processing_times(document["exchanges"])]
    if not durations:
        raise ValueError(
            f"from:{folder}: no task in these recordings was submitted and then polled to success with the times kept"
        )
    logs = [math.log(max(duration, 0.001)) for duration in durations]
    mu, sigma = statistics.fmean(logs), statistics.pstdev(logs)
    median = min(MAX_SECONDS, math.exp(mu))
    return Distribution(round(median, 3), round(min(MAX_SECONDS, max(median, math.exp(mu + Z95 * sigma))), 3))


def processing_times(exchanges: list[dict[str, Any]]) -> list[float]:
    """Seconds from each videoInference task's submission to the first poll that showed a result of it done."""
    submitted: dict[str, float] = {}
    found = []
    for exchange in exchanges:
        at = moment(exchange)
        if at is None or "request" not in exchange:
            continue
        for task in _items(exchange["request"]):
            if task.get("taskType") == "videoInference" and isinstance(task.get("taskUUID"), str):
                submitted.setdefault(task["taskUUID"], at)
        for item in _items(exchange["response"], "data"):
            task_uuid = item.get("taskUUID")
            if item.get("status") == "success" and isinstance(task_uuid, str) and task_uuid in submitted:
                found.append(at - submitted.pop(task_uuid))
    return found


def _items(message: dict[str, Any], key: str | None = None) -> list[dict[str, Any]]:
    """The objects of a recorded body: the array itself, or the array under `key`."""
    try:
        body = json.loads(decode_body(message))
    except (ValueError, RecursionError):
        return []
    if key is not None:
        body = body.get(key) if isinstance(body, dict) else None
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []
