"""HTTP request handling: the REST transport in front of the task dispatcher."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from mock_server.dispatcher import TaskDispatcher
from mock_server.exceptions import RunwareError, request_too_large
from mock_server.faults import REQUEST_KINDS, Fault, parse_fault
from mock_server.models import JournalEntry, RequestJournal
from mock_server.openapi import openapi_document

DISPATCHER = web.AppKey("dispatcher", TaskDispatcher)
FAULT_HEADER = "X-Mock-Fault"
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)

log = logging.getLogger(__name__)

# Codes for failures aiohttp itself raises before a handler runs (unknown path, wrong method, ...).
_HTTP_ERROR_CODES = {404: "notFound", 405: "methodNotAllowed", 413: "requestTooLarge"}


async def post_tasks(request: web.Request) -> web.StreamResponse:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _errors(request_too_large(request.app[MAX_BODY_BYTES]))
    dispatcher = request.app[DISPATCHER]
    faults = header_faults(request)
    injected = await _inject_request_faults(request, raw, faults)
    if injected is not None:
        return injected
    reply = await dispatcher.handle(
        raw,
        bearer_key=_bearer_key(request),
        base_url=server_url(request),
        faults=tuple(f for f in faults if not f.is_request_fault),
    )
    return web.Response(text=reply.text, status=reply.status, content_type="application/json")


def server_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def header_faults(request: web.Request) -> list[Fault]:
    """Faults asked for with `X-Mock-Fault` (comma-separated); a malformed one is a 400."""
    text = request.headers.get(FAULT_HEADER, "")
    try:
        return [parse_fault(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise RunwareError("invalidMockFault", f"{FAULT_HEADER}: {error}", parameter=FAULT_HEADER) from None


async def _inject_request_faults(request: web.Request, raw: bytes, asked: list[Fault]) -> web.StreamResponse | None:
    """Apply request faults (asked for, set by rule, or drawn by --chaos); an answer replaces the tasks' own."""
    plan = request.app[DISPATCHER].faults
    faults = [f for f in asked if f.is_request_fault]
    if plan.rules:
        try:
            tasks = json.loads(raw)
        except ValueError:
            tasks = []
        faults += plan.for_tasks(tasks if isinstance(tasks, list) else [], REQUEST_KINDS)
    drawn = plan.random_request_fault()
    if drawn is not None:
        faults.append(drawn)
    journal = request.app[DISPATCHER].journal
    for fault in faults:
        if fault.kind == "latency":
            await asyncio.sleep((fault.value or 0) / 1000)
        elif fault.kind == "status":
            status = int(fault.value or 500)
            error = RunwareError("serverError", f"Injected fault: the server answered {status}.", status=status)
            return _journaled(journal, raw, _errors(error))
        elif fault.kind == "rate_limit":
            retry_after = fault.params.get("retry_after", "1")
            error = RunwareError(
                "rateLimitExceeded", f"Injected fault: too many requests; retry after {retry_after} s.", status=429
            )
            response = _errors(error)
            response.headers["Retry-After"] = retry_after
            return _journaled(journal, raw, response)
        elif fault.kind in ("hang", "drop"):
            if fault.kind == "hang":
                await asyncio.sleep(fault.value or 0)
            # Journaled with status 0 and no answer: the client saw the connection end.
            journal.record(JournalEntry(time.time(), raw, 0, "null"))
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing more is written: the client sees the connection end
    return None


async def get_video(request: web.Request) -> web.Response:
    video_uuid, _, extension = request.match_info["name"].partition(".")
    found = request.app[DISPATCHER].result_file(video_uuid, extension)
    if found is None:
        return _errors(RunwareError("notFound", "No such video, or its ttl has passed.", status=404))
    data, spec = found
    return web.Response(body=data, content_type=spec.content_type)


async def get_media(request: web.Request) -> web.Response:
    media = request.app[DISPATCHER].uploaded_media(request.match_info["media_uuid"].lower())
    if media is None:
        return _errors(RunwareError("notFound", "No uploaded media has this UUID.", status=404))
    return web.Response(body=media.data, content_type=media.content_type)


async def get_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "lipsync-mock"})


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


@web.middleware
async def errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure answers in the platform's errors envelope: no HTML pages, no tracebacks."""
    try:
        return await handler(request)
    except RunwareError as error:
        return _errors(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = _HTTP_ERROR_CODES.get(error.status, "requestFailed")
        response = _errors(RunwareError(code, f"{error.reason}: {request.method} {request.path}", status=error.status))
        if "Allow" in error.headers:  # a 405 says which methods the path takes
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error answering %s %s", request.method, request.path)
        return _errors(RunwareError("internalError", "The mock failed to answer this request.", status=500))


def _journaled(journal: RequestJournal, raw: bytes, response: web.Response) -> web.Response:
    journal.record(JournalEntry(time.time(), raw, response.status, response.text or ""))
    return response


def _bearer_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def _errors(error: RunwareError) -> web.Response:
    return web.json_response({"errors": [error.to_json()]}, status=error.status)
