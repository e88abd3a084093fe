"""The control API under /__mock/: reset, seeding, journals, lifecycle, processing rate, fault rules, balances.

Tests drive the mock through it (see `testing/control_client.py`); it is not part of Runware's API.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mock_server import exceptions
from mock_server.exceptions import RunwareError
from mock_server.faults import FaultRule, parse_fault
from mock_server.har import journal_har
from mock_server.http.app_keys import DISPATCHER
from mock_server.http.guard import (
    CONTROL_PREFIX,
    CONTROL_TOKEN_HEADER,
    base_url,
    carries_control_token,
    request_namespace,
)
from mock_server.http.rest import bearer_key
from mock_server.journal import JournalEntry
from mock_server.lifecycle import InvalidValue, Lifecycle, check_processing_rate
from mock_server.namespaces import owner_of
from mock_server.overview import OUTCOMES, request_outcome, request_view, task_views

PREFIX = CONTROL_PREFIX
TOKEN_HEADER = CONTROL_TOKEN_HEADER


def control_app(token: str | None) -> web.Application:
    """The control API, to mount at PREFIX; with a token, every call must carry it in TOKEN_HEADER."""
    app = web.Application(middlewares=[_token_guard(token)] if token else [])
    app.router.add_post("/reset", reset)
    app.router.add_post("/seed", seed)
    app.router.add_get("/requests", requests)
    app.router.add_get("/journal.har", journal_as_har)
    app.router.add_get("/coverage", coverage)
    app.router.add_get("/deliveries", deliveries)
    app.router.add_put("/lifecycle", lifecycle)
    app.router.add_get("/tasks", tasks)
    app.router.add_post("/tasks/{task_uuid}/complete", complete)
    app.router.add_get("/processing-rate", get_processing_rate)
    app.router.add_put("/processing-rate", processing_rate)
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", clear_faults)
    app.router.add_get("/accounts", accounts)
    app.router.add_get("/balance", get_balance)
    app.router.add_put("/balance", set_balance)
    return app


def _token_guard(token: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not carries_control_token(request, token):
            raise exceptions.INVALID_CONTROL_TOKEN(f"The control API needs {TOKEN_HEADER}.", parameter=TOKEN_HEADER)
        return await handler(request)

    return guard


# With X-Mock-Namespace, each call sees and changes only that namespace; without it, reads and reset cover all
# of them, and rules and lifecycles are set for the default namespace (see namespaces.py).


async def reset(request: web.Request) -> web.Response:
    request.config_dict[DISPATCHER].reset(request_namespace(request))
    return web.json_response({"reset": True})


async def seed(request: web.Request) -> web.Response:
    value = _field(await _body(request), "seed", int)
    request.config_dict[DISPATCHER].seed(value)
    return web.json_response({"seed": value})


async def requests(request: web.Request) -> web.Response:
    """Oldest first; `outcome=` keeps one kind (ok, refused, fault, failed), `limit=N` the newest N."""
    return web.json_response([request_view(entry) for entry in _journal_entries(request)])


async def journal_as_har(request: web.Request) -> web.Response:
    """The same entries as /requests, as an HTTP Archive (HAR 1.2) that browsers' devtools and other tools read."""
    har = journal_har(_journal_entries(request), base_url(request))
    headers = {"Content-Disposition": 'attachment; filename="lipsync-mock.har"'}
    return web.json_response(har, headers=headers)


async def coverage(request: web.Request) -> web.Response:
    """What the client's traffic met of the contract, and what it never did (see coverage.py)."""
    return web.json_response(request.config_dict[DISPATCHER].coverage.report(request_namespace(request)))


def _journal_entries(request: web.Request) -> list[JournalEntry]:
    """The journal entries a query selects: `taskUUID=`, `outcome=`, `limit=`, the namespace's."""
    entries = request.config_dict[DISPATCHER].journal.entries(request.query.get("taskUUID"), request_namespace(request))
    outcome = request.query.get("outcome")
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise _invalid("outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
        entries = [entry for entry in entries if request_outcome(entry) == outcome]
    limit = _limit(request)
    return entries if limit is None else entries[-limit:]


async def tasks(request: web.Request) -> web.Response:
    """The videoInference tasks, newest first, with results and timeline (see `overview.task_views`)."""
    return web.json_response(task_views(request.config_dict[DISPATCHER], _limit(request), request_namespace(request)))


async def deliveries(request: web.Request) -> web.Response:
    deliverer = request.config_dict[DISPATCHER].runner.deliveries.deliverer
    attempts = deliverer.journal(request.query.get("taskUUID"), request_namespace(request))
    return web.json_response([attempt.to_json() for attempt in attempts])


async def lifecycle(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        life = Lifecycle.from_json(body)
    except InvalidValue as error:
        raise _invalid(error.parameter, str(error)) from None
    task_uuid = body.get("taskUUID")
    if task_uuid is not None and not isinstance(task_uuid, str):
        raise _invalid("taskUUID", "taskUUID must be a string")
    request.config_dict[DISPATCHER].runner.set_lifecycle(life, task_uuid, request_namespace(request) or "")
    return web.json_response({**life.to_json(), "taskUUID": task_uuid})


async def complete(request: web.Request) -> web.Response:
    task_uuid = request.match_info["task_uuid"]
    dispatcher, namespace = request.config_dict[DISPATCHER], request_namespace(request)
    task = dispatcher.store.get(task_uuid)
    if task is None or namespace not in (None, task.namespace) or dispatcher.runner.complete(task_uuid) is None:
        raise exceptions.task_not_found(task_uuid, task_type="complete")
    return web.json_response({"taskUUID": task_uuid, "completed": True})


async def get_processing_rate(request: web.Request) -> web.Response:
    return web.json_response({"rate": request.config_dict[DISPATCHER].runner.lifecycle.processing_rate})


async def processing_rate(request: web.Request) -> web.Response:
    try:
        rate = check_processing_rate((await _body(request)).get("rate"))
    except InvalidValue as error:
        raise _invalid(error.parameter, str(error)) from None
    request.config_dict[DISPATCHER].runner.set_processing_rate(rate)
    return web.json_response({"rate": rate})


async def list_faults(request: web.Request) -> web.Response:
    rules = request.config_dict[DISPATCHER].faults.rules(request_namespace(request))
    return web.json_response([rule.to_json() for rule in rules])


async def add_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        fault = parse_fault(_field(body, "fault", str))
    except ValueError as error:
        raise _invalid("fault", str(error)) from None
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise _invalid("times", "times must be a whole number of at least 1")
    for name in ("taskUUID", "taskType"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise _invalid(name, f"{name} must be a string")
    rule = FaultRule(fault, body.get("taskUUID"), body.get("taskType"), times, request_namespace(request) or "")
    request.config_dict[DISPATCHER].faults.add_rule(rule)
    return web.json_response(rule.to_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.config_dict[DISPATCHER].faults.clear(request_namespace(request))
    return web.json_response([])


# An account is an API key within a namespace: a balance call names its key as a task request does, with
# `Authorization: Bearer KEY`. Without one, PUT sets every account of the namespace (and those made later), and GET
# answers the namespace's one account — or, before any, the balance new accounts start with.


async def accounts(request: web.Request) -> web.Response:
    """The accounts used so far (by key digest, never the key), and the balance new ones start with."""
    accounts = request.config_dict[DISPATCHER].accounts
    namespace = request_namespace(request)
    return web.json_response(
        {"startingBalance": accounts.starting_balance_view(namespace or ""), "accounts": accounts.views(namespace)}
    )


async def get_balance(request: web.Request) -> web.Response:
    dispatcher, namespace = request.config_dict[DISPATCHER], request_namespace(request) or ""
    key = bearer_key(request)
    if key is not None:
        return web.json_response(dispatcher.accounts.account(owner_of(key, namespace)).to_json())
    used = dispatcher.accounts.views(namespace)
    if len(used) > 1:
        message = f"{len(used)} accounts were used in this namespace: name one with 'Authorization: Bearer KEY'"
        raise _invalid("Authorization", message)
    starting = dispatcher.accounts.starting_balance_view(namespace)
    return web.json_response(used[0] if used else {"account": None, "balance": starting, "spent": 0.0})


async def set_balance(request: web.Request) -> web.Response:
    body = await _body(request)
    amount = body.get("amount")
    valid = amount is None or (isinstance(amount, int | float) and not isinstance(amount, bool) and amount >= 0)
    if "amount" not in body or not valid or (amount is not None and not math.isfinite(amount)):
        raise _invalid("amount", "amount is required: USD as a number of at least 0, or null for unlimited")
    dispatcher, namespace, key = request.config_dict[DISPATCHER], request_namespace(request) or "", bearer_key(request)
    owner = None if key is None else owner_of(key, namespace)
    dispatcher.accounts.set_balance(amount, namespace, owner)
    return web.json_response({"amount": amount, "account": None if owner is None else owner.rpartition("/")[2]})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except (ValueError, RecursionError):
        raise _invalid(None, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _invalid(None, "the body must be a JSON object")
    return body


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _invalid(name, f"{name} is required, as a {kind.__name__}")
    return value


def _limit(request: web.Request) -> int | None:
    text = request.query.get("limit")
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise _invalid("limit", "limit must be a whole number of at least 1")
    return int(text)


def _invalid(parameter: str | None, message: str) -> RunwareError:
    return exceptions.INVALID_CONTROL_REQUEST(message, parameter=parameter)
