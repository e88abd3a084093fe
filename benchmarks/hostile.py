"""Hostile requests against a mock process: its peak memory growth and how long /health waits meanwhile.

    .venv/bin/python -m benchmarks.hostile [--case NAME ...]

Each case starts a fresh mock, reads its resident memory, sends the hostile request(s) while another
thread asks /health every 10 ms, waits for the work they cause to end, and prints the peak resident growth
(goal: under 200 MB for any single hostile request) and the /health latencies (goal: p99 under 50 ms).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

from benchmarks.processes import free_port, memory_mb, mock_command, running
from contract_tests.payloads import data_uri, example_task

HEADERS = {"Authorization": "Bearer k", "Content-Type": "application/json"}


def post(base: str, body: bytes, timeout: float = 120) -> int:
    request = urllib.request.Request(f"{base}/v1", body, HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def task_body(**fields: object) -> bytes:
    task = {**example_task(), "inputs": {"video": data_uri("speaker.mp4"), "audio": data_uri("voice.wav")}}
    return json.dumps([{**task, **fields}]).encode()


# Each case builds its request(s) first, then answers the function that sends them: the building happens before
# /health is watched, so the figures are the server's and not this process's own work.
Sender = Callable[[str], None]


def sending(body: bytes) -> Sender:
    def send(base: str) -> None:
        post(base, body)

    return send


def deep_nesting() -> Sender:
    body = b"[" * 100_000 + b"]" * 100_000

    def send(base: str) -> None:
        post(base, body)
        urllib.request.urlopen(f"{base}/__mock/requests", timeout=30).read()

    return send


def large_refused_bodies() -> Sender:
    body = b"[" + b'"' + b"x" * (60 * 1024 * 1024) + b'"]'

    def send(base: str) -> None:
        for _ in range(3):
            post(base, body)
        urllib.request.urlopen(f"{base}/__mock/requests", timeout=30).read()

    return send


def large_array() -> Sender:
    body = b"[" + b",".join([b"{}"] * (20 * 1024 * 1024)) + b"]"
    return sending(body)


def large_data_uri() -> Sender:
    media = "data:video/mp4;base64," + base64.b64encode(b"\0" * (45 * 1024 * 1024)).decode()
    upload = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": media}
    body = json.dumps([upload]).encode()
    return sending(body)


def far_segment_window() -> Sender:
    segment = {"startTime": 99_999, "endTime": 100_000, "audio": data_uri("voice.wav")}
    body = task_body(providerSettings={"sync": {"segments": [segment]}})
    return sending(body)


CASES: dict[str, tuple[Callable[[], Sender], tuple[str, ...]]] = {
    "deep-nesting": (deep_nesting, ()),
    "large-refused-bodies": (large_refused_bodies, ()),
    "large-array": (large_array, ("--max-body-bytes", str(64 * 1024 * 1024))),
    "large-data-uri": (large_data_uri, ()),
    "far-segment-window": (far_segment_window, ()),
}


def measure(name: str) -> None:
    prepare, flags = CASES[name]
    send = prepare()
    port = free_port()
    with running(mock_command(port, "--processing-rate", "0", *flags), port) as (base, process):
        time.sleep(0.5)
        before = memory_mb(process.pid, "VmRSS")
        latencies: list[float] = []
        done = threading.Event()

        def watch_health() -> None:
            while not done.is_set():
                started = time.perf_counter()
                with urllib.request.urlopen(f"{base}/health", timeout=30):
                    pass
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch_health)
        watcher.start()
        started = time.perf_counter()
        send(base)
        took = time.perf_counter() - started
        time.sleep(1.0)  # work the request left behind (a render) shows in the peak
        done.set()
        watcher.join()
        peak = memory_mb(process.pid, "VmHWM")
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:22} sent in {took:6.2f} s  peak growth {peak - before:7.1f} MB  "
        f"/health p50 {statistics.median(ordered):6.1f} ms  p99 {p99:7.1f} ms  max {ordered[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="a case to run (default: all)")
    for name in parser.parse_args().case or list(CASES):
        measure(name)


if __name__ == "__main__":
    main()
