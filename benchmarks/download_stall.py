"""How long a 45 MB file download holds the event loop: the largest gap a ticker coroutine sees meanwhile.

    .venv/bin/python -m benchmarks.download_stall [--runs 3] [--data-dir]

The mock runs in this process on a loopback port, beside a coroutine that sleeps 1 ms at a time and notes the
longest it waited past that; a thread downloads a 45 MB upload from `/media/{uuid}` and reads it to the end. The
anchor, in the same run: a bare aiohttp handler answering the same bytes as one `web.Response`, as the mock
answered before files went out in chunks. Medians of `--runs` fresh servers, with each run's figure. With
`--data-dir` the mock keeps its files in a new folder each run (the SQLite store), so the file is read from disk.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import statistics
import tempfile
import uuid
from pathlib import Path

from aiohttp import web

from benchmarks.loop_stall import longest_loop_gap
from benchmarks.processes import free_port
from mock_server.app import create_app
from mock_server.config import Settings

MB = 1 << 20
DATA = b"\0" * (45 * MB)


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        received = len(response.read())
        return received
    finally:
        connection.close()


def _upload(port: int) -> str:
    media = "data:video/mp4;base64," + base64.b64encode(DATA).decode()
    task = [{"taskType": "mediaStorage", "taskUUID": str(uuid.uuid4()), "operation": "upload", "media": media}]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1", json.dumps(task), {"Authorization": "Bearer k"})
        return "/media/" + json.loads(connection.getresponse().read())["data"][0]["mediaUUID"]
    finally:
        connection.close()


async def _bare(request: web.Request) -> web.Response:
    return web.Response(body=DATA, content_type="video/mp4")


async def _stall(mock: bool, data_dir: Path | None = None) -> float:
    """The largest gap of the loop while one 45 MB download is answered (mock: the mock's, its files under
    `data_dir` if given; else the anchor)."""
    if mock:
        settings = Settings(quiet=True, max_body_bytes=100 * MB, max_media_bytes=100 * MB, data_dir=data_dir)
        app = create_app(settings)
    else:
        app = web.Application()
        app.router.add_get("/file", _bare)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    path = await asyncio.to_thread(_upload, port) if mock else "/file"
    try:
        async with longest_loop_gap() as gap:
            received = await asyncio.to_thread(_get, port, path)
            assert received == len(DATA), received
    finally:
        await runner.cleanup()
    return gap.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", action="store_true", help="the mock's files on disk (a new folder each run)")
    options = parser.parse_args()
    for name, mock in (("bare aiohttp, one web.Response (anchor)", False), ("the mock's /media/{uuid}", True)):
        stalls = []
        for _ in range(options.runs):
            if mock and options.data_dir:
                with tempfile.TemporaryDirectory() as folder:
                    stalls.append(asyncio.run(_stall(mock, Path(folder))))
            else:
                stalls.append(asyncio.run(_stall(mock)))
        shown = ", ".join(f"{stall * 1000:.1f}" for stall in stalls)
        print(f"{name:42} median {statistics.median(stalls) * 1000:6.1f} ms  ({shown})", flush=True)


if __name__ == "__main__":
    main()
