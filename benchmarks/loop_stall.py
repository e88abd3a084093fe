"""How long one hostile request body holds the event loop: the largest gap a ticker coroutine sees meanwhile.

    .venv/bin/python -m benchmarks.loop_stall [--case NAME ...] [--runs 3]

The mock runs in this process on a loopback port, beside a coroutine that sleeps 1 ms at a time and notes the
longest it waited past that. A thread sends the body (built beforehand: the socket's send frees the
interpreter) and waits for the answer; the largest gap is the request's stall. Goal: under 250 ms for every
case. The median of `--runs` fresh servers is printed, with each run's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from benchmarks.processes import free_port
from contract_tests.payloads import example_task
from mock_server.app import create_app
from mock_server.config import Settings

MB = 1 << 20
GOAL_SECONDS = 0.25


def _object_of_keys(count: int) -> bytes:
    return b"[{" + b",".join(b'"k%d":1' % index for index in range(count)) + b"}]"


def _array_of_integers(count: int) -> bytes:
    return b"[[" + b",".join([b"1"] * count) + b"]]"


def _segments(count: int, step: float) -> bytes:
    """A task with `count` segments, one every `step` seconds (each 0.01 s long)."""
    segments = [
        {"startTime": round(index * step, 2), "endTime": round(index * step + 0.01, 2), "audio": "x"}
        for index in range(count)
    ]
    task = {**example_task(), "providerSettings": {"sync": {"segments": segments}}}
    return json.dumps([task]).encode()


def _data_uri_upload(size: int) -> bytes:
    media = "data:video/mp4;base64," + "QUJD" * (size // 4)
    task = [{"taskType": "mediaStorage", "taskUUID": example_task()["taskUUID"], "operation": "upload", "media": media}]
    return json.dumps(task).encode()


CASES: dict[str, Callable[[], bytes]] = {
    "object of 4M keys (50 MB)": lambda: _object_of_keys(4_000_000),
    "array of 30M integers (60 MB)": lambda: _array_of_integers(30_000_000),
    "19k arrays nested 400 deep (14 MB)": lambda: b"[[" + b",".join([b"[" * 400 + b"]" * 400] * 19_000) + b"]]",
    "60 MB of whitespace": lambda: b" " * (60 * MB) + b"[]",
    "60 MB string of escapes": lambda: b'["' + b"\\n" * (30 * MB) + b'"]',
    "60 MB string, refused": lambda: b'["' + b"x" * (60 * MB) + b'"]',
    "60 MB data URI upload": lambda: _data_uri_upload(60 * MB),
    "object of 100k keys": lambda: _object_of_keys(100_000),
    "array of 100k integers": lambda: _array_of_integers(100_000),
    "20k segments": lambda: _segments(20_000, 0.01),
    "20k segments past 300 s, refused": lambda: _segments(20_000, 1),
}


def _post(port: int, body: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1", body, {"Authorization": "Bearer k", "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


async def _stall(body: bytes) -> tuple[float, int]:
    """The largest gap of the loop while the mock answers `body`, and the answer's status."""
    settings = Settings(processing_rate=0, quiet=True, max_body_bytes=len(body) + MB, control=False)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with longest_loop_gap() as gap:
            status = await asyncio.to_thread(_post, port, body)
    finally:
        await runner.cleanup()
    return gap.seconds, status


class LoopGap:
    """The longest the running loop was held, as a coroutine sleeping 1 ms at a time saw it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.watching = True

    async def tick(self) -> None:
        while self.watching:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.seconds = max(self.seconds, time.perf_counter() - started - 0.001)


@contextlib.asynccontextmanager
async def longest_loop_gap() -> AsyncIterator[LoopGap]:
    """Watch the loop while the body runs, and 50 ms after it (what the answer left to do on the loop); the first
    50 ms, the watch's own start, are not counted."""
    gap = LoopGap()
    ticker = asyncio.get_running_loop().create_task(gap.tick())
    await asyncio.sleep(0.05)
    gap.seconds = 0.0
    try:
        yield gap
        await asyncio.sleep(0.05)
    finally:
        gap.watching = False
        await ticker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="a case to run (default: all)")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    print(f"{'case':34} {'status':>6} {'median':>9}  runs (goal: under {GOAL_SECONDS * 1000:.0f} ms)")
    for name in options.case or CASES:
        body = CASES[name]()
        runs = [asyncio.run(_stall(body)) for _ in range(options.runs)]
        stalls = [stall for stall, _ in runs]
        shown = ", ".join(f"{stall * 1000:.0f}" for stall in stalls)
        print(f"{name:34} {runs[-1][1]:>6} {statistics.median(stalls) * 1000:>6.0f} ms  {shown}", flush=True)


if __name__ == "__main__":
    main()
