"""Throughput and latency of the mock against a bare aiohttp handler, side by side on this machine.

    .venv/bin/python -m benchmarks.load [--seconds 5] [--concurrency 32] [--rounds 3] [--media real|missing]
                                        [--data-dir DIR]

Each server runs in its own process. With `--media real` (the default) submissions name the 1 s fixture
clip and voice, served on loopback, so every submission starts a real render, and polls are measured while
a backlog of renders runs (a batch is submitted before each poll round): the path users take. With
`--media missing` submissions name an upload that does not exist, so each background job ends at once and
the figures are for the request path alone (parsing, validation, the store). The same polls are then
measured over WebSocket sessions (32 of them, each polling in turn) and over REST by the same Python client,
the anchor for that comparison.

The load comes from wrk (`apt-get install wrk`) when it is on the
PATH, otherwise from an aiohttp client in this process, which saturates well before wrk does, so its
figures understate both servers. Rounds alternate between the servers so drift on a shared machine hits
both; the figures printed are medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import aiohttp

from benchmarks.processes import free_port, mock_command, running
from contract_tests.payloads import data_uri
from contract_tests.targets import MediaServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
UUID_MARK = "00000000-0000-4000-8000-000000000000"


NO_SUCH_UPLOAD = "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f"


def video_task(task_uuid: str, video: str = NO_SUCH_UPLOAD, audio: str = NO_SUCH_UPLOAD) -> dict:
    """The task every submission sends (two results), naming `video` and `audio`."""
    return {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "sync:lipsync-2@1",
        "outputFormat": "MP4",
        "includeCost": True,
        "numberResults": 2,
        "inputs": {"video": video, "audio": audio},
        "providerSettings": {"sync": {"syncMode": "loop", "temperature": 0.57}},
    }


def submit_once(base: str) -> str:
    """Submit one task with the fixture media and wait for its results; answer the body that polls it."""
    task = video_task(str(uuid.uuid4()), data_uri("speaker.mp4"), data_uri("voice.wav"))
    poll = json.dumps([{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
    post(base, json.dumps([task]))
    # The mock runs with --processing-rate 0, so this poll waits for the render.
    assert '"success"' in post(base, poll)
    return poll


def post(base: str, body: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(f"{base}/v1", body.encode(), HEADERS), timeout=30) as reply:
        return reply.read().decode()


# --- load from wrk ---------------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
local body = [==[%(body)s]==]
local before, after = [==[%(before)s]==], [==[%(after)s]==]
local fresh = %(fresh)s
local counter = 0
request = function()
  if not fresh then return wrk.format(nil, nil, nil, body) end
  counter = counter + 1
  -- A prefix new for every run, then a counter: each taskUUID is used once.
  local u = string.format("%(run)sa000-%%012x", counter)
  return wrk.format(nil, nil, nil, before .. u .. after)
end
"""


def run_prefix() -> str:
    """The first three groups of a UUID v4 and their dash, new for each run."""
    return str(uuid.uuid4())[:19]


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_round(base: str, body: str, fresh: bool, seconds: int, concurrency: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        before, _, after = body.partition(UUID_MARK)
        fields = {
            "key": KEY,
            "body": body,
            "before": before,
            "after": after,
            "fresh": str(fresh).lower(),
            "run": run_prefix(),
        }
        script.write(WRK_SCRIPT % fields)
        script.flush()
        output = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script.name, f"{base}/v1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"refused requests during the run:\n{output}")

    def figure(pattern: str) -> re.Match[str]:
        found = re.search(pattern, output, re.M)
        if found is None:
            raise RuntimeError(f"wrk printed no {pattern!r}:\n{output}")
        return found

    def latency(percent: str) -> float:
        value, unit = figure(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$").groups()
        return float(value) * UNITS[unit]

    rps = float(figure(r"Requests/sec:\s+([\d.]+)").group(1))
    return {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99")}


# --- load from an aiohttp client -------------------------------------------------------------------


async def python_round(base: str, body: str, fresh: bool, seconds: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < end:
                payload = body.replace(UUID_MARK, str(uuid.uuid4())) if fresh else body
                start = time.perf_counter()
                async with session.post(f"{base}/v1", data=payload, headers=HEADERS) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {await response.text()}")
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return figures(latencies, time.perf_counter() - started)


def figures(latencies: list[float], elapsed: float) -> dict[str, float]:
    """Throughput and latency percentiles of one round, from each request's seconds."""
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def run_round(
    base: str, kind: str, seconds: int, concurrency: int, media: tuple[str, str], poll: str
) -> dict[str, float]:
    """One round against one server; `poll` asks for a task of that server whose results are done."""
    fresh = kind == "submit"
    body = json.dumps([video_task(UUID_MARK, *media)]) if fresh else poll
    if kind == "poll" and media[0] != NO_SUCH_UPLOAD:
        start_renders(base, media, 200)  # polls answered while renders run
    if shutil.which("wrk"):
        return wrk_round(base, body, fresh, seconds, concurrency)
    return asyncio.run(python_round(base, body, fresh, seconds, concurrency))


def start_renders(base: str, media: tuple[str, str], count: int) -> None:
    """Submit `count` tasks naming real media (the bare server acknowledges and forgets them)."""
    tasks = [video_task(str(uuid.uuid4()), *media) for _ in range(count)]
    for start in range(0, count, 50):
        post(base, json.dumps(tasks[start : start + 50]))


async def websocket_polls(base: str, poll: str, seconds: int, sessions: int) -> dict[str, float]:
    """`sessions` WebSockets, each authenticated once, polling in turn for `seconds`."""
    latencies: list[float] = []
    url = base.replace("http://", "ws://") + "/v1"
    async with aiohttp.ClientSession() as client:
        end = time.perf_counter() + seconds

        async def session() -> None:
            async with client.ws_connect(url, max_msg_size=0) as socket:
                await socket.send_str(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
                await socket.receive()
                while time.perf_counter() < end:
                    start = time.perf_counter()
                    await socket.send_str(poll)
                    answer = await socket.receive()
                    if '"success"' not in answer.data:
                        raise RuntimeError(f"unexpected answer: {answer.data[:200]}")
                    latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(session() for _ in range(sessions)))
        return figures(latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of one round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", help="run the mock with its persistent store in this folder")
    parser.add_argument("--media", choices=["real", "missing"], default="real", help="what submissions name")
    parser.add_argument("--mock-flag", action="append", default=[], help="a flag passed on to the mock; repeatable")
    args = parser.parse_args()

    mock_port, bare_port = free_port(), free_port()
    mock = mock_command(mock_port, "--processing-rate", "0", "--api-key", KEY)
    if args.data_dir:
        mock += ["--data-dir", args.data_dir]
    mock += args.mock_flag
    bare = [sys.executable, "benchmarks/bare_server.py", "--port", str(bare_port)]
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with (
        MediaServer() as files,
        running(mock, mock_port) as (mock_base, _),
        running(bare, bare_port) as (bare_base, _),
    ):
        media = (f"{files.base_url}/speaker.mp4", f"{files.base_url}/voice.wav")
        if args.media == "missing":
            media = (NO_SUCH_UPLOAD, NO_SUCH_UPLOAD)
        targets = {"mock": mock_base, "bare": bare_base}
        polls = {name: submit_once(base) for name, base in targets.items()}  # before any backlog of renders
        for kind in ("poll", "submit"):
            for name, base in targets.items():
                run_round(base, kind, 1, args.concurrency, media, polls[name])  # warm-up
            for _ in range(args.rounds):
                for name, base in targets.items():
                    round_ = run_round(base, kind, args.seconds, args.concurrency, media, polls[name])
                    results.setdefault((kind, name), []).append(round_)
        poll = polls["mock"]
        for _ in range(args.rounds):
            start_renders(mock_base, media, 200)
            results.setdefault(("poll", "ws"), []).append(
                asyncio.run(websocket_polls(mock_base, poll, args.seconds, args.concurrency))
            )
            results.setdefault(("poll", "rest-py"), []).append(
                asyncio.run(python_round(mock_base, poll, False, args.seconds, args.concurrency))
            )

    client = "wrk" if shutil.which("wrk") else "aiohttp client (install wrk for sharper figures)"
    print(f"load from {client}: {args.rounds} rounds of {args.seconds:g} s, {args.concurrency} connections; medians")
    print(f"media: {args.media}; store: {'SQLite in ' + args.data_dir if args.data_dir else 'memory'}")
    print(f"{'path':8} {'server':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")

    def median_of(kind: str, name: str) -> dict[str, float]:
        runs = results[(kind, name)]
        m = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"{kind:8} {name:8} {m['rps']:9.0f} {m['p50_ms']:8.2f} {m['p99_ms']:8.2f}")
        return m

    submit_goal = 0.25 if args.data_dir else 0.35
    for kind in ("poll", "submit"):
        mock_m, bare_m = median_of(kind, "mock"), median_of(kind, "bare")
        ratio = mock_m["rps"] / bare_m["rps"]
        if kind == "poll":
            print(f"poll     mock/bare throughput {ratio:.2f}x; mock p99 {mock_m['p99_ms']:.1f} ms (goal < 5 ms)")
        else:
            print(f"submit   mock/bare throughput {ratio:.2f}x (goal >= {submit_goal}x)")
    ws, rest = median_of("poll", "ws"), median_of("poll", "rest-py")
    print(f"poll     WebSocket/REST (same Python client) {ws['rps'] / rest['rps']:.2f}x")


if __name__ == "__main__":
    main()
