"""CPU time the client coverage adds to a task, against the fast validator's check of the same task (the anchor:
work every accepted task already costs on the hot path).

    .venv/bin/python -m benchmarks.coverage

Two tasks: the minimal payload, and one with every parameter set and 20 segments. Each of 5 rounds records (or
validates) each task 20 000 times; the median and least CPU microseconds a task are printed for
`ClientCoverage.sent` plus `answered` of its acknowledgment, and for `fast_validator(...).is_valid`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from contract_tests.payloads import example_task
from mock_server.coverage import ClientCoverage
from mock_server.schema_registry import fast_validator

ROUNDS, TIMES = 5, 20_000
AUDIO_URL = "https://example.com/a.wav"


def _full_task() -> dict[str, Any]:
    segments = [
        {"startTime": i, "endTime": i + 0.5, "audio": AUDIO_URL, "audioStartTime": 0, "audioEndTime": 1}
        for i in range(20)
    ]
    return {
        **example_task(),
        "outputFormat": "WEBM",
        "outputQuality": 99,
        "webhookURL": "https://example.com/hook",
        "includeCost": True,
        "numberResults": 4,
        "safety": {"checkContent": True, "mode": "full"},
        "inputs": {"video": "https://example.com/v.mp4", "audio": AUDIO_URL},
        "providerSettings": {
            "sync": {"syncMode": "remap", "temperature": 1, "occlusionDetectionEnabled": True, "segments": segments}
        },
    }


def _per_task(work: Callable[[], None]) -> list[float]:
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(TIMES):
            work()
        rounds.append((time.process_time() - started) / TIMES * 1e6)
    return rounds


def main() -> None:
    validator = fast_validator("video-inference-task.json")
    coverage = ClientCoverage()
    for name, task in (("minimal", example_task()), ("every parameter, 20 segments", _full_task())):
        assert validator.is_valid(task)
        acknowledgment = {"data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]}

        def record(task: dict[str, Any] = task, answer: dict[str, Any] = acknowledgment) -> None:
            coverage.sent("", task)
            coverage.answered("", answer, "REST")

        def validate(task: dict[str, Any] = task) -> None:
            validator.is_valid(task)

        recorded, validated = _per_task(record), _per_task(validate)
        print(
            f"{name}: coverage {statistics.median(recorded):.2f} µs (least {min(recorded):.2f}), "
            f"fast validator {statistics.median(validated):.2f} µs (least {min(validated):.2f}), "
            f"ratio {statistics.median(recorded) / statistics.median(validated):.2f}"
        )


if __name__ == "__main__":
    main()
