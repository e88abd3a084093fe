"""HTTP request handling: the REST transport in front of the task dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from mock_server.dispatcher import TaskDispatcher
from mock_server.exceptions import RunwareError, request_too_large
from mock_server.openapi import openapi_document

DISPATCHER = web.AppKey("dispatcher", TaskDispatcher)
MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)

log = logging.getLogger(__name__)

# Codes for failures aiohttp itself raises before a handler runs (unknown path, wrong method, ...).
_HTTP_ERROR_CODES = {404: "notFound", 405: "methodNotAllowed", 413: "requestTooLarge"}


async def post_tasks(request: web.Request) -> web.Response:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _errors(request_too_large(request.app[MAX_BODY_BYTES]))
    reply = await request.app[DISPATCHER].handle(
        raw, bearer_key=_bearer_key(request), base_url=f"{request.scheme}://{request.host}"
    )
    return web.Response(text=reply.text, status=reply.status, content_type="application/json")


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
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = _HTTP_ERROR_CODES.get(error.status, "requestFailed")
        return _errors(RunwareError(code, f"{error.reason}: {request.method} {request.path}", status=error.status))
    except Exception:
        log.exception("unhandled error answering %s %s", request.method, request.path)
        return _errors(RunwareError("internalError", "The mock failed to answer this request.", status=500))


def _bearer_key(request: web.Request) -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def _errors(error: RunwareError) -> web.Response:
    return web.json_response({"errors": [error.to_json()]}, status=error.status)
