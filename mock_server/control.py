"""The control API under /__mock/: reset, seeding, journals, lifecycle, processing rate, fault rules.

Tests drive the mock through it (see `control_client.py`); it is not part of Runware's API.
"""

from __future__ import annotations

import hmac
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mock_server.exceptions import RunwareError
from mock_server.faults import FaultRule, parse_fault
from mock_server.processing import LIFECYCLE_MODES, Lifecycle
from mock_server.responses import DISPATCHER

PREFIX = "/__mock"
TOKEN_HEADER = "X-Mock-Control-Token"


def control_app(token: str | None) -> web.Application:
    """The control API, to mount at PREFIX; with a token, every call must carry it in TOKEN_HEADER."""
    app = web.Application(middlewares=[_token_guard(token)] if token else [])
    app.router.add_post("/reset", reset)
    app.router.add_post("/seed", seed)
    app.router.add_get("/requests", requests)
    app.router.add_get("/deliveries", deliveries)
    app.router.add_put("/lifecycle", lifecycle)
    app.router.add_post("/tasks/{task_uuid}/complete", complete)
    app.router.add_put("/processing-rate", processing_rate)
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", clear_faults)
    return app


def _token_guard(token: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        offered = request.headers.get(TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(offered, token.encode()):
            raise RunwareError(
                "invalidControlToken", f"The control API needs {TOKEN_HEADER}.", status=401, parameter=TOKEN_HEADER
            )
        return await handler(request)

    return guard


async def reset(request: web.Request) -> web.Response:
    dispatcher = request.config_dict[DISPATCHER]
    dispatcher.store.clear()
    dispatcher.journal.clear()
    dispatcher.poll_counts.clear()
    dispatcher.faults.rules.clear()
    dispatcher.runner.reset()
    dispatcher.runner.deliverer.clear()
    return web.json_response({"reset": True})


async def seed(request: web.Request) -> web.Response:
    value = _field(await _body(request), "seed", int)
    dispatcher = request.config_dict[DISPATCHER]
    dispatcher.rng = random.Random(value)
    dispatcher.faults.seed(value)
    return web.json_response({"seed": value})


async def requests(request: web.Request) -> web.Response:
    entries = request.config_dict[DISPATCHER].journal.entries(request.query.get("taskUUID"))
    return web.json_response(
        [
            {
                "receivedAt": entry.received_at,
                "request": _as_json(entry.request),
                "status": entry.status,
                "response": json.loads(entry.response),
            }
            for entry in entries
        ]
    )


async def deliveries(request: web.Request) -> web.Response:
    attempts = request.config_dict[DISPATCHER].runner.deliverer.journal(request.query.get("taskUUID"))
    return web.json_response([attempt.to_json() for attempt in attempts])


async def lifecycle(request: web.Request) -> web.Response:
    body = await _body(request)
    mode = _field(body, "mode", str)
    if mode not in LIFECYCLE_MODES:
        raise _invalid("mode", f"mode must be one of {', '.join(LIFECYCLE_MODES)}")
    life = Lifecycle(mode, float(body.get("seconds", 0)), int(body.get("polls", 1)))
    runner = request.config_dict[DISPATCHER].runner
    task_uuid = body.get("taskUUID")
    if task_uuid is None:
        runner.lifecycle = life
    else:
        runner.task_lifecycles[str(task_uuid)] = life
    return web.json_response({"mode": life.mode, "seconds": life.seconds, "polls": life.polls, "taskUUID": task_uuid})


async def complete(request: web.Request) -> web.Response:
    task_uuid = request.match_info["task_uuid"]
    if request.config_dict[DISPATCHER].runner.complete(task_uuid) is None:
        raise RunwareError("taskNotFound", "No task with this taskUUID.", status=404, parameter="taskUUID")
    return web.json_response({"taskUUID": task_uuid, "completed": True})


async def processing_rate(request: web.Request) -> web.Response:
    rate = _field(await _body(request), "rate", float)
    if rate < 0:
        raise _invalid("rate", "rate must be at least 0")
    request.config_dict[DISPATCHER].runner.processing_rate = rate
    return web.json_response({"rate": rate})


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response([rule.to_json() for rule in request.config_dict[DISPATCHER].faults.rules])


async def add_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        fault = parse_fault(_field(body, "fault", str))
    except ValueError as error:
        raise _invalid("fault", str(error)) from None
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise _invalid("times", "times must be a whole number of at least 1")
    rule = FaultRule(fault, body.get("taskUUID"), body.get("taskType"), times)
    request.config_dict[DISPATCHER].faults.rules.append(rule)
    return web.json_response(rule.to_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.config_dict[DISPATCHER].faults.rules.clear()
    return web.json_response([])


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise _invalid(None, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _invalid(None, "the body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _invalid(name, f"{name} is required, as a {kind.__name__}")
    return value


def _invalid(parameter: str | None, message: str) -> RunwareError:
    return RunwareError("invalidControlRequest", message, parameter=parameter)


def _as_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
