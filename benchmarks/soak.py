"""A bounded soak run: many tasks at once, dozens of pollers, REST and WebSocket clients, chaos on.

    .venv/bin/python -m benchmarks.soak [--tasks 2000] [--pollers 32] [--chaos 0.05] [--budget 300]

Starts the mock as a process of its own (so its peak memory can be read), uploads the fixture media once,
submits every task (a quarter over WebSocket), polls until each one is done or failed, and prints
throughput, latency percentiles, the mock's peak memory, and how many tasks never reached a terminal state
(which must be 0). Clients retry what the chaos breaks, as the official SDKs do. Stops by itself after
--budget seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from benchmarks.processes import free_port, memory_mb, mock_command, running
from contract_tests.payloads import data_uri

RETRYABLE = {429, 500, 502, 503}
HEADERS = {"Authorization": "Bearer soak-key"}


@dataclass
class Report:
    requests: int = 0
    faults_seen: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    succeeded: int = 0
    failed: int = 0
    not_terminal: int = 0

    def lines(self) -> list[str]:
        lat = sorted(self.latencies) or [0.0]
        p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] * 1000  # noqa: E731
        return [
            f"tasks: {self.succeeded} succeeded, {self.failed} failed, {self.not_terminal} not terminal",
            f"requests: {self.requests} in {self.seconds:.1f} s = {self.requests / max(self.seconds, 1e-9):.0f}/s, "
            f"{self.faults_seen} answered by an injected fault and retried",
            f"latency: p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms",
        ]


async def soak(base_url: str, tasks: int, pollers: int, budget: float) -> Report:
    report = Report()
    started = time.monotonic()
    deadline = started + budget
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def post(body: list[dict]) -> dict:
            """POST with the retries an SDK makes; a dropped submission that was in fact accepted answers
            conflictTaskUUID when retried, which counts as acknowledged."""
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    async with session.post(f"{base_url}/v1", json=body, headers=HEADERS) as response:
                        answer = await response.json(content_type=None)
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    report.requests += 1
                    report.faults_seen += 1
                    await asyncio.sleep(0.05)
                    continue
                report.requests += 1
                if status in RETRYABLE:
                    report.faults_seen += 1
                    await asyncio.sleep(0.05)
                    continue
                report.latencies.append(time.perf_counter() - t0)
                return answer
            raise TimeoutError("soak budget spent")

        async def upload(name: str) -> str:
            task = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
            return (await post([{**task, "media": data_uri(name)}]))["data"][0]["mediaUUID"]

        video, audio = await upload("speaker.mp4"), await upload("voice.wav")
        outstanding: set[str] = set()

        def new_task() -> dict:
            task_uuid = str(uuid.uuid4())
            return {
                "taskType": "videoInference",
                "taskUUID": task_uuid,
                "model": "sync:lipsync-2@1",
                "inputs": {"video": video, "audio": audio},
                "numberResults": random.choice([1, 2]),
                "outputFormat": random.choice(["MP4", "WEBM", "MOV"]),
            }

        async def submit_rest(task: dict) -> None:
            answer = await post([task])
            if answer.get("data") or answer["errors"][0]["code"] == "conflictTaskUUID":
                outstanding.add(task["taskUUID"])

        async def submit_ws(batch: list[dict]) -> None:
            async with session.ws_connect(f"{base_url}/v1") as socket:
                await socket.send_json([{"taskType": "authentication", "apiKey": "soak-key"}])
                await socket.receive_json()
                for task in batch:
                    t0 = time.perf_counter()
                    await socket.send_json([task])
                    answer = await socket.receive_json()
                    report.requests += 1
                    report.latencies.append(time.perf_counter() - t0)
                    if answer.get("data"):
                        outstanding.add(task["taskUUID"])

        all_tasks = [new_task() for _ in range(tasks)]
        by_ws = all_tasks[: tasks // 4]
        ws_batches = [by_ws[i::4] for i in range(4)]
        gate = asyncio.Semaphore(64)

        async def gated(task: dict) -> None:
            async with gate:
                await submit_rest(task)

        await asyncio.gather(*(submit_ws(b) for b in ws_batches), *(gated(t) for t in all_tasks[tasks // 4 :]))
        acknowledged = set(outstanding)

        async def poller() -> None:
            while outstanding and time.monotonic() < deadline:
                task_uuid = random.choice(tuple(outstanding))
                try:
                    answer = await post([{"taskType": "getResponse", "taskUUID": task_uuid}])
                except TimeoutError:
                    return
                if answer.get("errors"):
                    if task_uuid in outstanding:
                        outstanding.discard(task_uuid)
                        report.failed += 1
                elif all(item["status"] == "success" for item in answer["data"]) and task_uuid in outstanding:
                    outstanding.discard(task_uuid)
                    report.succeeded += 1
                await asyncio.sleep(0.01)

        await asyncio.gather(*(poller() for _ in range(pollers)))
        report.not_terminal = len(outstanding)
        report.seconds = time.monotonic() - started
        assert report.succeeded + report.failed + report.not_terminal == len(acknowledged)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--pollers", type=int, default=32)
    parser.add_argument("--chaos", type=float, default=0.05)
    parser.add_argument("--budget", type=float, default=300.0)
    args = parser.parse_args()
    port = free_port()
    flags = ["--processing-rate", "0.05", "--chaos", str(args.chaos), "--seed", "1", "--api-key", "soak-key"]
    with running(mock_command(port, *flags), port) as (base, mock):
        report = asyncio.run(soak(base, args.tasks, args.pollers, args.budget))
        memory = memory_mb(mock.pid, "VmHWM")
    print(f"soak: {args.tasks} tasks, {args.pollers} pollers, chaos {args.chaos}, 1/4 over WebSocket")
    for line in report.lines():
        print(line)
    print(f"mock peak memory (VmHWM): {memory:.0f} MB")
    print(json.dumps({"not_terminal": report.not_terminal}))


if __name__ == "__main__":
    main()
