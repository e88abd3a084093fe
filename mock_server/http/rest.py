"""The REST transport in front of the task dispatcher, and the plain HTTP endpoints (files, health, OpenAPI,
AsyncAPI). How a file is served is `http/files.py`'s."""

from __future__ import annotations

import asyncio
import io
import logging
import time

from aiohttp import web

from mock_server import exceptions
from mock_server.asyncapi import asyncapi_document
from mock_server.body import read_task_array
from mock_server.containers import CONTAINERS
from mock_server.coverage import REST
from mock_server.exceptions import RunwareError
from mock_server.faults import DropConnection, Fault, download_plan, parse_fault
from mock_server.http.access import TASK_TYPE_COUNTS
from mock_server.http.app_keys import DISPATCHER, MAX_BODY_BYTES
from mock_server.http.files import ServedFile, drop_connection, serve_file
from mock_server.http.guard import base_url, may_inject_faults, request_namespace
from mock_server.namespaces import DEFAULT, namespace_of
from mock_server.openapi import openapi_document

FAULT_HEADER = "X-Mock-Fault"

log = logging.getLogger(__name__)

# GET /v1 is only the WebSocket upgrade, described by /asyncapi.json and not by the OpenAPI document: to a plain
# HTTP request /v1 takes POST alone, and its 405s say so, as the OpenAPI document does.
_PLAIN_HTTP_METHODS = {"/v1": "POST"}

# Codes for failures aiohttp itself raises before a handler runs (unknown path, wrong method, ...).
_HTTP_ERROR_CODES = {
    404: exceptions.NOT_FOUND,
    405: exceptions.METHOD_NOT_ALLOWED,
    413: exceptions.REQUEST_TOO_LARGE,
}


async def post_tasks(request: web.Request) -> web.StreamResponse:
    return await answer_tasks(request, await read_body(request))


async def read_body(request: web.Request) -> bytes:
    """The request body, refused past --max-body-bytes. Read into one buffer whose bytes are handed over without
    a copy: aiohttp's `read()` holds two copies while it makes its own, so a body near the cap cost twice its size."""
    limit = request.app[MAX_BODY_BYTES]
    if (request.content_length or 0) > limit:
        raise exceptions.request_too_large(limit)
    buffer = io.BytesIO()
    async for chunk in request.content.iter_any():
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise exceptions.request_too_large(limit)
    return buffer.getvalue()


async def answer_tasks(request: web.Request, raw: bytes) -> web.StreamResponse:
    """The mock's answer to a task array sent over REST."""
    started = time.perf_counter()  # the journal's time of the answer includes injected latency
    faults = header_faults(request)
    interrupted = await _apply_request_faults(request, raw, [f for f in faults if f.is_request_fault], started)
    if interrupted is not None:
        return interrupted
    reply = await request.app[DISPATCHER].handle(
        raw,
        bearer_key=bearer_key(request),
        base_url=base_url(request),
        faults=tuple(f for f in faults if not f.is_request_fault),
        refusals_carry_data=True,
        namespace=request_namespace(request) or DEFAULT,
        started=started,
    )
    request[TASK_TYPE_COUNTS] = reply.task_type_counts
    return web.Response(text=reply.text, status=reply.status, content_type="application/json")


def header_faults(request: web.Request) -> list[Fault]:
    """Faults asked for with `X-Mock-Fault` (comma-separated), where faults may be asked for; a malformed one is
    a 400."""
    if not may_inject_faults(request):
        return []
    text = request.headers.get(FAULT_HEADER, "")
    try:
        return [parse_fault(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise exceptions.INVALID_MOCK_FAULT(f"{FAULT_HEADER}: {error}", parameter=FAULT_HEADER) from None


async def _apply_request_faults(
    request: web.Request, raw: bytes, asked: list[Fault], started: float
) -> web.StreamResponse | None:
    """Run the request faults (asked for, set by rule, or drawn by --chaos); the first that answers replaces the
    tasks' own answer, and is journaled as theirs would be."""
    dispatcher = request.app[DISPATCHER]
    if not asked and not dispatcher.faults.may_fault_requests():
        return None
    try:
        tasks = await read_task_array(raw, dispatcher.max_tasks) if dispatcher.faults.rules() else []
    except RunwareError:  # the dispatcher words the refusal
        tasks = []
    journal = dispatcher.journal
    namespace = request_namespace(request) or DEFAULT
    for fault in [*asked, *dispatcher.faults.request_faults(tasks if isinstance(tasks, list) else [], namespace)]:
        dispatcher.coverage.faults_met(namespace, [fault])
        try:
            answer = await fault.on_request(dispatcher.faults.rng)
        except DropConnection:
            # Journaled with status 0 and no answer: the client saw the connection end.
            journal.record(raw, 0, "null", namespace, time.perf_counter() - started)
            drop_connection(request)
        if answer is not None:
            response = error_response(answer.error)
            response.headers.update(answer.headers)
            journal.record(raw, response.status, response.text or "", namespace, time.perf_counter() - started)
            dispatcher.coverage.answered(namespace, exceptions.errors_body(answer.error), REST)
            return response
    return None


async def get_video(request: web.Request) -> web.StreamResponse:
    """A result's file at its videoURL, while the result is served (ready, not past its ttl), under its
    format's extension. Past its ttl it is gone: 404, as the real service's expired URLs answer
    (docs/behaviour.md)."""
    video_uuid, _, extension = request.match_info["name"].partition(".")
    dispatcher = request.app[DISPATCHER]
    found = dispatcher.store.find_result(video_uuid)
    if found is not None:
        task, result = found
        spec = CONTAINERS[task.output_format]
        served = spec.extension == extension and result.is_served(dispatcher.clock())
        # In a thread, as every read of a whole file: with --data-dir it comes from disk, which held every other
        # request meanwhile (docs/dev/benchmarks.md).
        data = await asyncio.to_thread(dispatcher.store.get_file, task.task_uuid) if served else None
        if data is not None:  # None too when the file was dropped to stay within --max-stored-bytes
            file = ServedFile(data, spec.content_type, f'"{video_uuid}-{len(data):x}"', result.ready_at)
            owner = {"taskType": "videoInference", "taskUUID": task.task_uuid}
            carried = [fault for fault in task.faults if fault.is_download_fault]
            return await _download(request, video_uuid, file, owner, task.namespace, carried)
    return error_response(exceptions.NOT_FOUND("No such video, or its ttl has passed."))


async def get_media(request: web.Request) -> web.StreamResponse:
    media_uuid = request.match_info["media_uuid"].lower()
    media = await asyncio.to_thread(request.app[DISPATCHER].store.get_media, media_uuid)
    if media is None:
        return error_response(exceptions.NOT_FOUND("No uploaded media has this UUID."))
    file = ServedFile(media.data, media.content_type, f'"{media_uuid}-{len(media.data):x}"', media.added_at)
    return await _download(request, media_uuid, file, {"taskType": "mediaStorage"}, namespace_of(media.owner), [])


async def _download(
    request: web.Request, name: str, file: ServedFile, owner: dict[str, str], namespace: str, carried: list[Fault]
) -> web.StreamResponse:
    """The file, shaped by the download faults asked for on this request, carried by its task, set by rule or
    drawn by --chaos."""
    plan_of_faults = request.app[DISPATCHER].faults
    faults = [*(fault for fault in header_faults(request) if fault.is_download_fault), *carried]
    if plan_of_faults.may_fault_requests():
        faults += plan_of_faults.download_faults(owner, namespace)
    request.app[DISPATCHER].coverage.faults_met(namespace, faults)
    plan = download_plan(faults)
    if plan.failed_attempts and plan_of_faults.count_attempt(name) <= plan.failed_attempts:
        message = f"Injected fault: the file server answered {plan.failed_status}."
        return error_response(exceptions.SERVER_ERROR(message, status=plan.failed_status))
    return await serve_file(request, file, plan)


async def get_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": "lipsync-mock"})


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def get_asyncapi(request: web.Request) -> web.Response:
    return web.json_response(asyncapi_document(base_url(request)))


def http_error_response(request: web.Request, error: web.HTTPException) -> web.Response:
    """An HTTP-level failure (an unknown path, a wrong method, ...) in the platform's errors envelope."""
    code = _HTTP_ERROR_CODES.get(error.status, exceptions.REQUEST_FAILED)
    response = error_response(code(f"{error.reason}: {request.method} {request.path}", status=error.status))
    if "Allow" in error.headers:  # a 405 says which methods the path takes
        response.headers["Allow"] = _PLAIN_HTTP_METHODS.get(request.path, error.headers["Allow"])
    return response


def error_response(error: RunwareError) -> web.Response:
    return web.json_response(exceptions.errors_body(error), status=error.status)


def bearer_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None
