"""The baseline: a bare aiohttp handler that parses the JSON task array and answers one fixed item."""

from __future__ import annotations

import argparse
import json

from aiohttp import web

ITEM = {
    "taskType": "videoInference",
    "taskUUID": "9a4e6f1c-2b3d-4e5f-8a7b-0c1d2e3f4a5b",
    "status": "success",
    "videoUUID": "3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f",
    "videoURL": "http://127.0.0.1/videos/3c8d2a7e-5f4b-4a1c-9e6d-7b8a9c0d1e2f.mp4",
    "seed": 12345,
}


async def answer(request: web.Request) -> web.Response:
    tasks = json.loads(await request.read())
    assert isinstance(tasks, list)
    return web.json_response({"data": [ITEM]})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    app = web.Application()
    app.router.add_post("/v1", answer)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, access_log=None, print=None)
