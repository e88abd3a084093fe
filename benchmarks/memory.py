"""Memory of the mock per 10,000 finished tasks (in-memory store).

    .venv/bin/python -m benchmarks.memory [--tasks 10000]

Starts the mock, uploads the 1 s fixture media once, submits --tasks tasks (one result each) in batches,
waits until every one succeeded, and prints the growth of the mock's resident memory, scaled to 10,000.
The result files (about 13 kB each for the fixture) are the larger share; the rest is task state and the
request journal (bounded at 10,000 entries).
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
import uuid

from benchmarks.processes import free_port, memory_mb, mock_command, running
from contract_tests.payloads import data_uri

HEADERS = {"Authorization": "Bearer k", "Content-Type": "application/json"}


def post(base: str, tasks: list[dict]) -> dict:
    request = urllib.request.Request(f"{base}/v1", json.dumps(tasks).encode(), HEADERS)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    port = free_port()
    with running(mock_command(port, "--processing-rate", "0"), port) as (base, mock):
        media = {}
        for name in ("speaker.mp4", "voice.wav"):
            upload = {"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload"}
            media[name] = post(base, [{**upload, "media": data_uri(name)}])["data"][0]["mediaUUID"]
        before = memory_mb(mock.pid, "VmRSS")
        started = time.monotonic()
        uuids = []
        for _ in range(0, args.tasks, 50):
            batch = [
                {
                    "taskType": "videoInference",
                    "taskUUID": str(uuid.uuid4()),
                    "model": "sync:lipsync-2@1",
                    "inputs": {"video": media["speaker.mp4"], "audio": media["voice.wav"]},
                }
                for _ in range(50)
            ]
            post(base, batch)
            uuids += [task["taskUUID"] for task in batch]
        for index in range(0, len(uuids), 50):  # at rate 0 a poll waits for its task's render
            polls = [{"taskType": "getResponse", "taskUUID": u} for u in uuids[index : index + 50]]
            answer = post(base, polls)
            assert all(item["status"] == "success" for item in answer["data"]), answer
        after = memory_mb(mock.pid, "VmRSS")
    growth = after - before
    print(f"{len(uuids)} tasks finished in {time.monotonic() - started:.0f} s")
    print(f"resident memory: {before:.0f} MB before, {after:.0f} MB after: +{growth:.0f} MB")
    print(f"per 10,000 finished tasks: {growth * 10_000 / len(uuids):.0f} MB")


if __name__ == "__main__":
    main()
